"""``checkpoint`` (``remat``): memory for time in reverse mode, with JAX's policies.

The function becomes one call primitive (:mod:`adgraph.api.closure`) whose reverse rule
records only the call's inputs, not a tape of the function's operations: the backward
sweep runs the function again with its own tape and pulls the cotangent back through it.
Forward mode and ``vmap`` go through the function itself. Values the function closes over
and an enclosing transformation traces are lifted into arguments (closure conversion) and
differentiated like them.

A ``policy`` (:data:`checkpoint_policies`) keeps some intermediates besides the inputs:
at binding, the function is run once as a straight-line program of primitive applications
(:class:`_Saving`), keeping the results of the applications the policy names; the backward
sweep replays that program, and each kept application enters the new tape with its kept
result (:data:`saved_p`: no recomputation, the primitive's own reverse rules) while the
others are recomputed. The numbers are the same under every policy: only what is stored
and what is recomputed changes. Under a transformation around ``grad`` (``vmap``, ``jit``,
an outer ``grad`` or ``jacfwd``) the program is recorded on the values that transformation
traces, and a kept result is one of its values (a batch, a node of the compiled program, a
value with its tangent). Under ``jit`` the backward sweep reads the inputs and kept results
through an identity call the simplifier cannot merge (``prevent_cse``) and that waits for
the call's output cotangent, so the compiled program recomputes what the forward pass
dropped when the sweep reaches it, instead of merging the two (which kept every
intermediate alive).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as _np

from ..ad.forward import JVPTracer
from ..ad.reverse import recorded_primal_scope
from ..ad.rules import linear
from ..ad.sparsity import CALL, MOVES, Delegate
from ..ad.tape import ShapeDtype
from ..ad.taylor import call_rule
from ..core.primitive import Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer, current_traces, trace_scope
from . import closure
from .args import check_callable, zeros_like
from .forward import jvp
from .hints import Fun
from .reverse import vjp
from .vectorize import vmap

__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies"]


# ------------------------------------------------------------------ names and policies
def _name_transpose(ct, x, *, name):
    return ct


def _name_batch(vals, batched, size, *, name):
    return name_p.bind(vals[0], name=name)


name_p: Primitive = linear(
    "checkpoint_name",
    lambda xp, x, *, name: x,
    _name_transpose,
    batch=_name_batch,
    sparsity=MOVES,
    doc="The identity, naming its value for checkpoint policies (save_only_these_names).",
)


def checkpoint_name(x: Any, name: str) -> Any:
    """``x`` itself, named ``name`` for the policies :func:`save_only_these_names` and
    :func:`save_any_names_but_these` of :func:`checkpoint` (``jax.ad_checkpoint.checkpoint_name``).
    ``x`` may be a pytree; every leaf gets the name."""
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a str, got {type(name).__name__}")
    leaves, tree = tree_flatten(x)
    if not current_traces():  # nothing to name for: the value itself
        return x
    return tree_unflatten(tree, [name_p.bind(v, name=name) for v in leaves])


# A policy is called as policy(prim, *args, **params) for each primitive application of a
# checkpointed function (args: the operands' values) and returns whether to keep its result.
Policy = Callable[..., bool]
_DOTS = frozenset({"matmul", "einsum"})


def nothing_saveable(prim: Primitive, *args: Any, **params: Any) -> bool:
    """Keep nothing but the inputs: everything is recomputed (the default)."""
    return False


def everything_saveable(prim: Primitive, *args: Any, **params: Any) -> bool:
    """Keep every intermediate: nothing is recomputed (as without ``checkpoint``)."""
    return True


def dots_saveable(prim: Primitive, *args: Any, **params: Any) -> bool:
    """Keep the results of matrix products and contractions (``matmul``, ``einsum``, and
    the ``dot``/``tensordot``/``inner`` written with them); recompute the rest."""
    return prim.name in _DOTS


def dots_with_no_batch_dims_saveable(prim: Primitive, *args: Any, **params: Any) -> bool:
    """Keep the results of matrix products without batch dimensions: ``matmul`` of
    operands of at most two axes, ``einsum`` with no index shared by every operand and the
    output."""
    if prim.name == "matmul":
        return all(len(getattr(a, "shape", ())) <= 2 for a in args)
    if prim.name == "einsum":
        ins, out = params["spec"].split("->")
        shared = set.intersection(*[set(s) for s in ins.split(",")]) if ins else set()
        return not (shared & set(out))
    return False


def _names(what: str, names: Sequence[str]) -> frozenset:
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what}: names must be str, got {type(n).__name__}")
    return frozenset(names)


def save_only_these_names(*names: str) -> Policy:
    """Keep only the values named with :func:`checkpoint_name` as one of ``names``."""
    keep = _names("save_only_these_names", names)

    def policy(prim, *args, **params):
        return prim is name_p and params["name"] in keep

    return policy


def save_any_names_but_these(*names: str) -> Policy:
    """Keep every value named with :func:`checkpoint_name` except those in ``names``."""
    drop = _names("save_any_names_but_these", names)

    def policy(prim, *args, **params):
        return prim is name_p and params["name"] not in drop

    return policy


def save_anything_except_these_names(*names: str) -> Policy:
    """Keep every intermediate except the values named as one of ``names``."""
    drop = _names("save_anything_except_these_names", names)

    def policy(prim, *args, **params):
        return not (prim is name_p and params["name"] in drop)

    return policy


def save_from_both_policies(a: Policy, b: Policy) -> Policy:
    """Keep what either policy keeps."""
    for what, pol in (("a", a), ("b", b)):
        if not callable(pol):
            raise TypeError(
                f"save_from_both_policies: {what} must be a policy (one of "
                f"ad.checkpoint_policies, or a function), got {type(pol).__name__} {pol!r:.40}"
            )

    def policy(prim, *args, **params):
        return a(prim, *args, **params) or b(prim, *args, **params)

    return policy


checkpoint_policies = SimpleNamespace(
    nothing_saveable=nothing_saveable,
    everything_saveable=everything_saveable,
    dots_saveable=dots_saveable,
    checkpoint_dots=dots_saveable,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=dots_with_no_batch_dims_saveable,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_anything_except_these_names=save_anything_except_these_names,
    save_from_both_policies=save_from_both_policies,
)


# ------------------------------------------------------------------ kept results
def _saved_impl(xp, *args, prim, params, value):
    return value  # the result kept at the forward pass: nothing is recomputed


def _saved_vjp(ct, ans, args, params, wanted):
    # the kept primitive's reverse rules, as the backward sweep applies them
    prim, pp = params["prim"], params["params"]
    if prim.joint_vjp is not None:
        return list(prim.joint_vjp(ct, ans, args, pp, wanted))
    if prim.vjp is None:
        raise prim.missing("reverse-mode (VJP)")
    out = []
    for i, w in enumerate(wanted):
        if not w:
            out.append(None)
            continue
        r = prim.vjp[i] if i < len(prim.vjp) else None
        if r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        out.append(r(ct, ans, *args, **pp))
    return out


def _saved_jvp(primals, tangents, params):
    # forward mode over a replayed backward sweep: through the primitive itself
    prim, pp = params["prim"], params["params"]
    ts = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]
    return jvp(lambda *a: prim.bind(*a, **pp), tuple(primals), tuple(ts))


def _saved_reverse(trace, vals, parents, params, pidx):
    # the kept result (a value of the levels below this reverse trace) is the result
    return trace.record(saved_p, params, vals, params["value"], parents, pidx)


saved_p = Primitive(
    "checkpoint_saved",
    _saved_impl,
    jvp_rule=_saved_jvp,
    joint_vjp=_saved_vjp,
    reverse=_saved_reverse,
    sparsity=Delegate(),  # the kept primitive's own rule
    doc="A primitive application whose result a checkpoint policy kept: the kept value, "
    "differentiated by the primitive's own rules.",
)
# Its reverse rule is a joint one (the kept primitive's rules, whichever form they take):
# the scalar recorder's short path knows per-argument rules only, so it must take the
# general path (a kept sin of a float64 scalar failed with "no reverse-mode rule").
saved_p.simple = False


class _NotRecordable(Exception):
    """The function cannot be recorded once for the policy (recomputed whole instead)."""


class _Saving(closure._Recorder):
    """Records the checkpointed function, run on the call's inputs, as a straight-line
    program (see closure conversion) and keeps the results of the applications ``policy``
    names, by their position.

    The inputs are the values the reverse trace of level ``below`` unwrapped: concrete, or
    tracers of the levels under it (``vmap``, ``jit``, an outer ``grad`` or ``jacfwd``). The
    program is replayed only in this call's backward sweep, while those levels are still in
    flight, so a value of theirs met here is the same value there: it enters the program as
    a constant, and a kept result may be one of their tracers. A tracer of the reverse trace
    itself (a closure) is lifted, and the recording abandoned (closure conversion first)."""

    __slots__ = ("policy", "saved", "below", "forward", "avals")

    def __init__(self, policy, below, forward):
        super().__init__(closure._Lifter())
        self.policy = policy
        self.saved = {}
        self.avals = {}  # variable -> (shape, dtype) of a single result
        self.below = below
        self.forward = forward  # forward mode differentiates the inputs

    def operand(self, a):
        if isinstance(a, Tracer) and a._trace is not self and a._trace.level < self.below:
            return a, closure._Lit(a), True
        return super().operand(a)

    def process(self, prim, args, params):
        vals, refs = [], []
        for a in args:
            v, r, _ = self.operand(a)
            vals.append(v)
            refs.append(r)
        if self.forward:  # the primal of a reverse pass, as ReverseTrace.general computes it
            with recorded_primal_scope():
                ans = prim.bind(*vals, **params)
        else:
            ans = prim.bind(*vals, **params)
        outs = ans if prim.multiple_results else (ans,)
        for o in outs:
            if isinstance(o, Tracer) and o._trace.level >= self.below:
                raise _NotRecordable  # a call inside closes over a traced value
        if all(type(r) is closure._Lit for r in refs):
            return ans  # independent of the inputs: the same in the replay
        k = len(self.eqns)
        if prim.multiple_results:
            out_vars = tuple(self.new_var() for _ in ans)
            self.eqns.append((prim, params, refs, out_vars))
            return tuple(closure._RecTracer(self, a, v, True) for a, v in zip(ans, out_vars))
        var = self.new_var()
        self.eqns.append((prim, params, refs, var))
        self.avals[var] = (tuple(ans.shape), ans.dtype)
        if prim.reverse is None and self._keep(prim, vals, params):
            self.saved[k] = ans
        return closure._RecTracer(self, ans, var, True)

    def _keep(self, prim, vals, params):
        try:
            keep = self.policy(prim, *vals, **params)
        except Exception as e:  # the user's policy failed: not a reason to fall back
            raise _PolicyFailed(
                f"checkpoint: the policy raised {type(e).__name__} ({e}) on a "
                f"'{prim.name}' application; a policy must answer for every primitive"
            ) from e
        if not isinstance(keep, (bool, _np.bool_)):
            raise _PolicyFailed(
                "checkpoint: a policy must return a bool (keep this result or not), got "
                f"{type(keep).__name__} {keep!r} for a '{prim.name}' application"
            )
        return bool(keep)


class _PolicyFailed(TypeError):
    """The policy itself failed; raised through the recording (which otherwise falls
    back to recomputing the function whole)."""


def _record_saving(fun, vals, policy, below):
    """``(program, (saved, plan, avals), ans)``: ``fun`` at ``vals`` (unwrapped by the
    reverse trace of level ``below``) as a straight-line program, the kept results, how the
    replay enters each application (:func:`_plan`) and the shapes and dtypes of their
    results, and its outputs; None when it cannot be recorded as such."""
    rec = _Saving(policy, below, _forward_traced(vals))
    try:
        with trace_scope(rec), _np.errstate(all="ignore"):
            ins = [rec.new_input(v, True) for v in vals]
            out = fun(*ins)
            refs, ans = [], []
            for o in out:
                v, r, _ = rec.operand(o)
                refs.append(r)
                ans.append(v)
    except _PolicyFailed:
        raise
    except Exception:  # not recordable (NumPy writing in place, say): recompute it whole
        return None
    if rec.lifter.values:  # it closes over traced values: converted first (see bind_call)
        return None
    program = closure._Program([t.var for t in ins], {}, rec.eqns, refs, False)
    return program, (rec.saved, _plan(program, rec.saved), rec.avals), ans


#: What the last backward sweep through a checkpoint with a policy did: primitive name ->
#: number of applications whose kept result was used (``"kept"``), that were recomputed
#: (``"recomputed"``), or whose result's value the sweep does not read (``"skipped"``:
#: entered for its derivative only, or not at all). A diagnostic, for tests and for
#: choosing a policy.
last_replay: dict[str, dict[str, int]] = {"kept": {}, "recomputed": {}, "skipped": {}}

_KEPT, _COMPUTE, _STAND_IN, _SKIP = range(4)


def _reads(prim):
    """What a primitive's reverse rules read, together (argument positions, ``"ans"``);
    None: anything."""
    if prim.needs is None:
        return None
    out: set = set()
    for n in prim.needs:
        out |= n
    return out


def _plan(program, saved):
    """How the replay enters each application, by position: its kept result (``_KEPT``),
    computed again (``_COMPUTE``), a shape-and-dtype stand-in for a result whose value
    nothing reads -- its only uses are operands of kept results whose rules do not read
    them, and its own rules do not read it: it is entered for its derivative alone
    (``_STAND_IN``) -- or not at all, when nothing uses it (``_SKIP``). One backward walk:
    a value is read by a program output, by an application computed again, or by the
    rules of a kept or stand-in one that declare it (``Primitive.needs``)."""
    need = {r for r in program.outs if type(r) is not closure._Lit}  # values read
    used = set(need)  # variables the replay binds (at least for their derivative)
    plan = [_SKIP] * len(program.eqns)
    for k in range(len(program.eqns) - 1, -1, -1):
        prim, _, refs, out = program.eqns[k]
        outs = out if type(out) is tuple else (out,)
        if out != () and not any(o in used for o in outs):
            continue  # _SKIP: nothing uses it
        read = _reads(prim)
        if k in saved:
            plan[k] = _KEPT
        elif (
            out == ()
            or prim.multiple_results
            or prim.nondiff
            or prim.reverse is not None
            or read is None
            or "ans" in read
            or any(o in need for o in outs)
        ):
            plan[k], read = _COMPUTE, None  # it reads every operand
        else:
            plan[k] = _STAND_IN
        for i, r in enumerate(refs):
            if type(r) is not closure._Lit:
                used.add(r)
                if read is None or i in read:
                    need.add(r)
    return plan


def _replay(program, saved, plan, avals):
    """The recorded program as a function: kept results entering as :data:`saved_p`, and
    results whose value nothing reads as stand-ins (see :func:`_plan`)."""

    def f(*args):
        # the reverse trace of the replay (vjp's, just opened): an application whose
        # operands it traces is entered with its derivative rules
        top = current_traces()[-1]
        env = dict(zip(program.in_vars, args))
        kept: dict[str, int] = {}
        redone: dict[str, int] = {}
        skipped: dict[str, int] = {}
        last_replay.update(kept=kept, recomputed=redone, skipped=skipped)
        for k, (prim, params, refs, out) in enumerate(program.eqns):
            how = plan[k]
            if how == _SKIP:
                skipped[prim.name] = skipped.get(prim.name, 0) + 1
                continue
            ins = [r.value if type(r) is closure._Lit else env[r] for r in refs]
            if how == _COMPUTE:
                redone[prim.name] = redone.get(prim.name, 0) + 1
                ans = prim.bind(*ins, **params)
            else:
                if how == _KEPT:
                    kept[prim.name] = kept.get(prim.name, 0) + 1
                    value = saved[k]
                else:
                    skipped[prim.name] = skipped.get(prim.name, 0) + 1
                    value = ShapeDtype(*avals[out])
                if any(isinstance(a, Tracer) and a._trace is top for a in ins):
                    ans = saved_p.bind(*ins, prim=prim, params=params, value=value)
                else:  # no derivative flows through it: the value is the result
                    ans = value
            if type(out) is tuple:
                env.update(zip(out, ans))
            else:
                env[out] = ans
        return tuple(r.value if type(r) is closure._Lit else env[r] for r in program.outs)

    return f


def _staged(vals) -> bool:
    """Whether a trace that stages operations into a program (``jit``'s) holds a value."""
    for v in vals:
        while isinstance(v, Tracer):
            if getattr(v._trace, "stages_effects", False):
                return True
            v = v._inner()
    return False


def _barrier(vals, after):
    """``vals`` through an identity call that a compiler's simplifier cannot merge with
    another (each is a new function): the recomputation that reads them is not merged
    with the forward pass's same operations on ``vals`` (``prevent_cse``). The call also
    reads ``after`` (the output cotangents), so a compiled program cannot run the
    recomputation before the backward sweep reaches it (which would keep its values alive
    as long as the forward pass's)."""
    idx = [i for i, v in enumerate(vals) if isinstance(v, Tracer)]
    if not idx:
        return vals
    n = len(idx)
    after = [a for a in after if a is not None]
    got = checkpoint_p.bind(
        *[vals[i] for i in idx],
        *after,
        fun=lambda *a: tuple(a[:n]),
        policy=None,
        prevent_cse=False,
    )
    out = list(vals)
    for i, v in zip(idx, got):
        out[i] = v
    return out


# ------------------------------------------------------------------ the call primitive
def _ckpt_jvp(primals, tangents, params):
    return closure.jvp_of_call(params["fun"], primals, tangents)


def _ckpt_reverse(trace, vals, parents, params, pidx):
    policy = params.get("policy")
    if policy is not None:
        got = _record_saving(params["fun"], vals, policy, trace.level)
        if got is not None:
            program, (saved, plan, avals), ans = got
            params = dict(params, program=program, saved=saved, plan=plan, avals=avals)
            return trace.record(checkpoint_p, params, vals, tuple(ans), parents, pidx)
    fun = params["fun"]
    if _forward_traced(vals):
        fun = _primal_under_reverse(fun)
    ans = closure.run_at_binding(trace, fun, vals)  # no tape kept: only the inputs are
    return trace.record(checkpoint_p, params, vals, tuple(ans), parents, pidx)


def _forward_traced(vals) -> bool:
    """Whether forward mode (a level below the reverse trace: ``hessian``, ``jvp`` of
    ``grad``) differentiates these values."""
    for v in vals:
        while isinstance(v, Tracer):
            if type(v) is JVPTracer:
                return True
            v = v._inner()
    return False


def _primal_under_reverse(fun):
    """``fun``'s outputs, computed under a reverse-mode recording that is then dropped.

    The forward levels below differentiate the primal of this reverse pass, as without
    ``checkpoint``: a ``custom_vjp`` function inside must meet reverse mode first, which
    runs its ``fwd`` rule at their level (JAX's forward-over-reverse), rather than meet
    forward mode alone, which refuses it."""

    def f(*vals):
        idx = [i for i, v in enumerate(vals) if _inexact(v)]
        if not idx:
            return fun(*vals)
        out, _ = vjp(closure.only(fun, vals, idx), *[vals[i] for i in idx])
        return out

    f._watch = getattr(fun, "_watch", None)
    f._what = getattr(fun, "_what", None)
    return f


def _inexact(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _ckpt_vjp(ct, ans, args, params, wanted):
    # recompute, with a tape, now -- differentiating only the arguments that need it
    fun = params["fun"]
    what = getattr(fun, "_what", "a checkpoint function")
    saved = params.get("saved")
    if params.get("prevent_cse", True) and _staged(args):
        # a compiled sweep recomputes what the forward pass dropped: from the inputs and
        # the kept results both
        n = len(args)
        got = _barrier(list(args) + list(saved.values() if saved else ()), ct)
        args = got[:n]
        if saved:
            saved = dict(zip(saved, got[n:]))
    if "program" in params:
        fun = _replay(params["program"], saved, params["plan"], params["avals"])
    return closure.pull_wanted(fun, args, wanted, ct, what)


def _ckpt_batch(vals, batched, size, *, fun, policy=None, **rest):
    fun_b = vmap(fun, in_axes=closure.batch_axes(batched))
    fun_b._what = getattr(fun, "_what", None)
    return checkpoint_p.bind(*vals, fun=fun_b, policy=policy, **rest)


checkpoint_p = closure.call_primitive(
    "checkpoint",
    _ckpt_jvp,
    _ckpt_vjp,
    _ckpt_reverse,
    _ckpt_batch,
    doc="A function whose intermediates are recomputed in the backward pass.",
)
# Taylor mode: the series go through the function itself (its value is the function's)
checkpoint_p.taylor = call_rule(lambda params: params["fun"])
checkpoint_p.sparsity = CALL  # the pattern of the body: its derivative is the body's


def _convert_ckpt(fun, leaves, what, policy, prevent_cse=True):
    """Closure conversion of a checkpoint call (see :mod:`adgraph.api.closure`)."""
    conv = closure.Conversion(leaves)
    program, _ = conv.record(fun)
    lifted = conv.lifted(what)
    if lifted is None:
        return None
    fun2 = conv.function(program)
    fun2._what = what
    return {"fun": fun2, "policy": policy, "prevent_cse": prevent_cse}, lifted


def _static_positions(static_argnums: Any) -> tuple[int, ...]:
    if isinstance(static_argnums, int):
        nums: tuple = (static_argnums,)
    elif isinstance(static_argnums, (tuple, list)):
        nums = tuple(static_argnums)
    else:
        raise TypeError(
            "checkpoint: static_argnums must be an int or a tuple of ints, got "
            f"{type(static_argnums).__name__} {static_argnums!r}"
        )
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"checkpoint: static_argnums must be ints, got {n!r}")
    return nums


def checkpoint(
    fun: Fun,
    *,
    prevent_cse: bool = True,
    policy: Policy | None = None,
    static_argnums: int | Sequence[int] = (),
) -> Fun:
    """``fun`` with rematerialisation: reverse mode keeps only its inputs (and what
    ``policy`` keeps) and recomputes the rest during the backward sweep, as
    ``jax.checkpoint``.

    ``fun`` may close over values traced by enclosing transformations: they are
    differentiated (and batched) like its arguments.

    Parameters
    ----------
    fun
        The function.
    prevent_cse
        As in JAX: under ``jit``, keep the backward sweep's recomputation apart from the
        forward pass (the default). ``False`` lets the compiler's simplifier merge the two,
        which saves the recomputation's time and none of the memory. Eager reverse mode
        never merges them.
    policy
        Which intermediates to keep, from :data:`checkpoint_policies`: ``nothing_saveable``
        (the default: recompute everything), ``everything_saveable`` (recompute nothing),
        ``dots_saveable``, ``dots_with_no_batch_dims_saveable``, ``save_only_these_names``
        / ``save_any_names_but_these`` / ``save_anything_except_these_names`` (names given
        by :func:`checkpoint_name`), ``save_from_both_policies``; or a function
        ``policy(prim, *args, **params) -> bool`` of a primitive application. The
        derivatives are the same under every policy.
    static_argnums
        Positions of arguments that are not arrays (Python values: flags, sizes,
        functions): passed to ``fun`` as they are, never traced or differentiated.
    """
    check_callable(fun, "checkpoint")
    if policy is not None and not callable(policy):
        raise TypeError(
            "checkpoint: policy must be one of ad.checkpoint_policies (or a function "
            f"(prim, *args, **params) -> bool), got {type(policy).__name__}"
        )
    if not isinstance(prevent_cse, bool):
        raise TypeError(f"checkpoint: prevent_cse must be a bool, got {prevent_cse!r}")
    static = _static_positions(static_argnums)
    if policy is nothing_saveable:
        policy = None
    what = f"checkpoint({getattr(fun, '__name__', type(fun).__name__)})"

    depth = 0  # nesting of this checkpoint in itself (a recursive function)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        nonlocal depth
        depth += 1
        try:
            return _call(*args, **kwargs)
        except RecursionError as e:
            if depth > 1:
                raise
            raise ValueError(
                f"{what}: Python's recursion limit was reached inside the checkpointed "
                "function; if it calls itself, give the recursion a base case (or write the "
                "repetition with lax.scan / lax.fori_loop)"
            ) from e
        finally:
            depth -= 1

    def _call(*args, **kwargs):
        if static:
            fixed = {}
            for n in static:
                k = n + len(args) if n < 0 else n
                if not 0 <= k < len(args):
                    raise ValueError(
                        f"{what}: static_argnums {n} is out of range for {len(args)} "
                        "positional arguments"
                    )
                if isinstance(args[k], Tracer):
                    raise TypeError(
                        f"{what}: argument {n} is static (static_argnums) but got a traced "
                        "value; pass arrays that are differentiated as ordinary arguments "
                        "(under jit, mark the argument static there too: "
                        "ad.jit(f, static_argnums=...))"
                    )
                fixed[k] = args[k]
            dyn = [a for i, a in enumerate(args) if i not in fixed]
            n_all = len(args)

            def full(*d, **kw):
                it = iter(d)
                return fun(*[fixed[i] if i in fixed else next(it) for i in range(n_all)], **kw)

            args, target = tuple(dyn), full
        else:
            target = fun
        if policy is everything_saveable:  # keep every intermediate: an ordinary call
            return target(*args, **kwargs)
        leaves, in_tree = tree_flatten((args, kwargs))
        box = closure.Box()

        def call(a, k):
            return target(*a, **k)

        if not closure.any_tracer(leaves):  # see closure.bind_call
            out = checkpoint_p.bind(
                *leaves,
                fun=closure.flat_fun(call, in_tree, box),
                policy=policy,
                prevent_cse=prevent_cse,
            )
            return tree_unflatten(box.tree, list(out))

        watch = closure.Watch()
        f = closure.flat_fun(call, in_tree, box, watch, what)
        out = closure.bind_call(
            checkpoint_p,
            leaves,
            {"fun": f, "policy": policy, "prevent_cse": prevent_cse},
            watch,
            _convert_ckpt,
            (f, leaves, what, policy, prevent_cse),
        )
        return tree_unflatten(box.tree, list(out))

    return wrapped


remat = checkpoint
