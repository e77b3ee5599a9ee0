"""``while_loop``: a loop whose trip count depends on the values.

Outside ``jit`` and without ``checkpoints`` it runs in Python on whatever it is given:
under reverse mode each iteration is recorded (the trip count is what the forward pass
ran); under ``vmap`` a batched predicate runs the body until every example is done, each
example's carry frozen once its predicate is false (the body then runs on its carry and
what it closes over guarded by the predicate, as a batched ``cond``'s branches, so a
finished example gets no derivative from iterations it did not run).

With ``checkpoints=k`` (and a transformation in flight), or under ``jit``, it is one call
primitive, ``while_loop``. Its reverse handler runs the loop and records the trip count:
with ``k``, it keeps the carries of the online schedule of :mod:`adgraph.lax.online` and
its reverse rule pulls each iteration back as ``scan``'s does
(:class:`adgraph.lax.loops._Step`); without, it keeps every iteration's pullback. On
``jit``'s values its rules bind loops instead (:mod:`adgraph.lax.while_staged`): a loop
that stacks the carries and a backward loop of the count it ran, or one loop of the body's
forward mode, which the compilers emit as loops (one program for every trip count).
``vmap`` binds it again over the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import numpy as anp
from ..ad.batched_jvp import BatchedJVPTrace
from ..ad.batching import BatchTrace
from ..ad.sparsity import Call
from ..ad.taylor import call_rule
from ..api import closure
from ..api.args import zeros_like
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer, current_traces
from .branches import _guarded
from .loops import (
    _flat_tree,
    _inexact,
    _name,
    _Step,
    any_example,
    as_leaf,
    check_carry,
    check_checkpoints,
    check_fn,
    check_predicate,
    is_batched,
    shape_dtype,
)
from .online import Thinning, reverse_segments
from .staged import STAGED_WHILE_CHECKPOINTS, is_staged, staged_only
from .staged_branches import cells_holding, closed_over
from .while_staged import staged_while_jvp, staged_while_reverse, staged_while_vjp

__all__ = ["while_loop"]


def _python_loop(
    pred: Callable, step: Callable, carry: list, consts: tuple = (), closes: tuple = ()
) -> list:
    """The loop in Python on any values (lists of leaves), ``step(carry, consts)`` its
    iteration: under ``vmap`` with a batched predicate, the body runs until every example
    is done and each example's carry is frozen once its predicate is false. The body then
    runs on its carry, ``consts`` and the traced values the functions ``closes`` close
    over guarded by the predicate (:func:`_frozen_step`)."""
    p = pred(carry)
    while not is_batched(p):
        if not p:
            return carry
        carry = step(carry, consts)
        p = pred(carry)
    cells, extra = closed_over(list(closes))
    while any_example(p):  # a batched predicate: freeze each example once it is done
        # the carry guarded before the closures: the cotangents then reach a value used as
        # both in the order of the unguarded loop's tape (and of the checkpointed sweep)
        held = _guarded(tuple(carry), p)
        with cells_holding(cells, _guarded(tuple(extra), p)):
            new = step(list(held), _guarded(tuple(consts), p))
        carry = [anp.where(p, a, b) for a, b in zip(new, carry)]
        p = pred(carry)
    return carry


def _frozen_step(step: Callable, p: Any, carry: Sequence, consts: Sequence = ()) -> list:
    """One iteration under a batched predicate ``p``: ``where(p, step(carry), carry)``, the
    step run on its carry and ``consts`` guarded as a batched ``cond``'s branch is
    (``where(p, x, stop_gradient(x))``): an example that is done runs the body on values it
    may not be defined at (``sqrt(c - 1)`` once ``c < 1``), and its zero cotangent times
    that derivative (nan) must not come back to it."""
    new = step(list(_guarded(tuple(carry), p)), _guarded(tuple(consts), p))
    return [anp.where(p, a, b) for a, b in zip(new, carry)]


def while_loop(
    cond_fun: Callable[[Any], Any],
    body_fun: Callable[[Any], Any],
    init_val: Any,
    *,
    checkpoints: int | None = None,
) -> Any:
    """``val = body_fun(val)`` while ``cond_fun(val)``; return ``val`` (``jax.lax.while_loop``).

    Differentiable in both modes, reverse mode included: the forward pass records the
    iterations it ran. ``cond_fun`` must return a boolean scalar, and ``body_fun`` keep the
    carry's structure, shapes and dtypes. Under ``vmap`` with a batched predicate, the body
    runs until every example is done and each example keeps the carry of its last true
    predicate.

    Parameters
    ----------
    checkpoints
        Reverse mode only. None: every iteration is recorded (kept until the backward
        sweep). ``k``: the loop is one node that keeps at most ``k`` carries, chosen while
        it runs although its length is unknown (:mod:`adgraph.lax.online`: thinning by a
        doubling stride, then binomial reversal of each segment), and recomputes the
        others in the backward sweep. Every ``k`` gives bit-identical derivatives (each
        iteration pulled back by the same operations on the same values, cotangents
        summed in the same order); they equal ``checkpoints=None``'s to round-off, and
        bit for bit when each value the body closes over is used once per iteration.
    """
    check_fn("while_loop", "cond_fun", cond_fun)
    check_fn("while_loop", "body_fun", body_fun)
    ckpt = check_checkpoints(checkpoints, "while_loop")
    leaves, tree = tree_flatten(init_val)
    leaves = [as_leaf(x) for x in leaves]
    sig = [shape_dtype(x) for x in leaves]

    def pred(v):
        p = cond_fun(v)
        check_predicate(p, "while_loop", "cond_fun")
        return p

    def step(v):
        return check_carry("while_loop", "body_fun", tree, sig, body_fun(v))

    staged = ckpt is None and staged_only(leaves)  # jit: one while_loop node, compiled
    # under jit with grad/jvp/vmap inside, one node too: its rules bind loops on the staged
    # values (adgraph.lax.while_staged) instead of unrolling the Python loop with guards
    through_jit = ckpt is None and not staged and _staging()
    if (ckpt is None and not staged and not through_jit) or not current_traces():
        out = _python_loop(
            lambda c: pred(tree_unflatten(tree, c)),
            lambda c, _: step(tree_unflatten(tree, c)),
            leaves,
            closes=(body_fun,),
        )
        return tree_unflatten(tree, out)
    what = f"while_loop({_name(body_fun)})"
    nc = len(leaves)
    watch = closure.Watch()
    ftree = _flat_tree(nc)
    wcond = closure.flat_fun(
        lambda *c: (pred(tree_unflatten(tree, list(c))),), ftree, closure.Box(), watch, what
    )
    wbody = closure.flat_fun(
        lambda *c: tuple(step(tree_unflatten(tree, list(c)))), ftree, closure.Box(), watch, what
    )
    params = {
        "cond": wcond,
        "body": wbody,
        "nc": nc,
        # None (under jit with a transformation inside): reverse mode keeps every carry
        "checkpoints": None if through_jit else ckpt or STAGED_WHILE_CHECKPOINTS,
    }
    try:
        out = closure.bind_call(
            while_p, leaves, params, watch, _convert_while, (wcond, wbody, leaves, params, what)
        )
    except _Unstaged:
        # under jit, a body that branches in Python on what it closes over cannot be one
        # node: the Python loop runs on the tracers (each predicate a guard of the program)
        out = _python_loop(
            lambda c: pred(tree_unflatten(tree, c)),
            lambda c, _: step(tree_unflatten(tree, c)),
            leaves,
            closes=(body_fun,),
        )
    return tree_unflatten(tree, list(out))


class _Unstaged(Exception):
    """A while_loop under jit whose closure conversion is refused (see while_loop)."""


# ------------------------------------------------------------------ while_loop with checkpoints
# args: (*init carry (nc), *lifted closures); params: cond(*carry, *lifted) -> (p,),
# body(*carry, *lifted) -> carry, nc, checkpoints; reverse mode adds trips (the trip count),
# kept (the carries the online schedule kept) and frozen (a batched predicate was met).
def _while_fun(params):
    cond, body, nc = params["cond"], params["body"], params["nc"]

    def f(*vals):
        consts = tuple(vals[nc:])
        return tuple(
            _python_loop(
                lambda c: cond(*c, *consts)[0],
                lambda c, k: list(body(*c, *k)),
                list(vals[:nc]),
                consts,
            )
        )

    f._watch = getattr(body, "_watch", None)  # type: ignore[attr-defined]
    f._what = getattr(body, "_what", None)  # type: ignore[attr-defined]
    return f


def _while_impl(xp, *vals, **params):
    return _while_fun(params)(*vals)


def _staging() -> bool:
    """Whether a trace that stages its operations into a program (``jit``'s) is in flight."""
    return any(getattr(t, "stages_effects", False) for t in current_traces())


def _while_jvp(primals, tangents, params):
    if is_staged(primals) or is_staged(t for t in tangents if t is not None):
        # jit: one while_loop of the body's forward mode
        return staged_while_jvp(while_p, primals, tangents, params)
    return closure.jvp_of_call(_while_fun(params), primals, tangents)


def _while_batch(vals, batched, size, **params):
    # one loop over the whole batch, again a while_loop (so reverse mode above vmap keeps
    # its checkpoints): it runs while any example's predicate holds, and an example whose
    # predicate is false keeps its carry
    nc, cond, body = params["nc"], params["cond"], params["body"]
    carry = [
        v if b else anp.broadcast_to(v, (size, *shape_dtype(v)[0]))
        for v, b in zip(vals[:nc], batched[:nc])
    ]
    axes = (0,) * nc + closure.batch_axes(batched[nc:])
    conds = vmap(lambda *a: cond(*a)[0], in_axes=axes)

    def cond_b(*a):
        return (anp.any(conds(*a)),)

    def one(*a):  # one example's iteration, its carry frozen once its predicate is false
        return tuple(
            _frozen_step(lambda c, k: tuple(body(*c, *k)), cond(*a)[0], list(a[:nc]), tuple(a[nc:]))
        )

    steps = vmap(one, in_axes=axes)

    def body_b(*a):
        return tuple(steps(*a))

    return while_p.bind(*carry, *vals[nc:], **dict(params, cond=cond_b, body=body_b))


def _frozen_body(params):
    """One iteration as the backward sweep replays it: ``body``, or with a batched
    predicate ``where(cond, body, carry)`` (examples already done stay put)."""
    cond, body, nc = params["cond"], params["body"], params["nc"]
    if not params.get("frozen"):
        return body

    def step(*vals):
        c, consts = vals[:nc], vals[nc:]
        p = cond(*c, *consts)[0]
        return tuple(_frozen_step(lambda c, k: body(*c, *k), p, c, consts))

    return step


def _while_reverse(trace, vals, parents, params, pidx):
    if staged_only(vals):  # jit: a loop that stacks the carries (or thinning's)
        return staged_while_reverse(while_p, trace, vals, parents, params, pidx)
    if params["checkpoints"] is None and is_staged(vals) and _one_vmap(vals):
        # jit with forward mode or vmap between (hessian, jit(vmap(grad))): the same loops,
        # whose own rules bind their forward mode and vmap as loops again
        # (adgraph.lax.while_higher)
        return staged_while_reverse(while_p, trace, vals, parents, params, pidx)
    if params["checkpoints"] is None:
        return _store_all(trace, vals, parents, params, pidx)
    nc, k = params["nc"], params["checkpoints"]
    thin = Thinning(max(1, -(-k // 2)))  # ceil(k/2) kept forward; the rest for reversal
    cond, body = params["cond"], params["body"]

    def run(*v):
        carry, consts = list(v[:nc]), v[nc:]
        t, frozen = 0, False
        p = cond(*carry, *consts)[0]
        while True:
            if not frozen and is_batched(p):
                frozen = True
            if not (any_example(p) if frozen else p):
                return carry, t, frozen
            thin.offer(t, carry)
            if frozen:
                carry = _frozen_step(lambda c, k: body(*c, *k), p, carry, consts)
            else:
                carry = list(body(*carry, *consts))
            t += 1
            p = cond(*carry, *consts)[0]

    run._watch = getattr(body, "_watch", None)  # type: ignore[attr-defined]
    carry, n, frozen = closure.run_at_binding(trace, run, vals)
    params = dict(params, trips=n, kept=thin.kept, frozen=frozen)
    return trace.record(while_p, params, vals, tuple(carry), parents, pidx)


def _one_vmap(vals) -> bool:
    """Whether at most one transformation batches ``vals`` (``vmap``, or ``jacfwd``'s
    batched tangents): the loops' vmap rules map one axis; ``vmap`` of ``hessian``, say,
    maps two, and runs the Python loop."""
    traces: set = set()
    closure._traces_in(vals, traces)
    return sum(1 for t in traces if isinstance(t, (BatchTrace, BatchedJVPTrace))) <= 1


def _store_all(trace, vals, parents, params, pidx):
    """Reverse mode keeping every iteration's pullback (``checkpoints=None`` on values
    that are not staged alone, such as ``jit``'s under another transformation): the loop
    runs in Python on them (a predicate ``jit`` traces becomes a guard)."""
    nc = params["nc"]
    cond = params["cond"]
    sp = {"body": params["body"], "nc": nc, "nx": 0, "length": 0, "reverse": False}
    step = _Step(sp, vals, tuple(p is not None for p in parents))

    def run(*v):
        carry, consts = list(v[:nc]), v[nc:]
        pulls: list = []
        p = cond(*carry, *consts)[0]
        if is_batched(p):
            raise _Batched
        while p:
            out, pull = step.pullback(carry, len(pulls))
            pulls.append(pull)
            carry = list(out[:nc])
            p = cond(*carry, *consts)[0]
            if is_batched(p):
                raise _Batched
        return carry, pulls

    run._watch = getattr(params["body"], "_watch", None)  # type: ignore[attr-defined]
    try:
        carry, pulls = closure.run_at_binding(trace, run, vals)
    except _Batched:  # a batched predicate: the online schedule freezes each example
        k = STAGED_WHILE_CHECKPOINTS
        return _while_reverse(trace, vals, parents, dict(params, checkpoints=k), pidx)
    params = dict(params, trips=len(pulls), pulls=pulls, pulled=step.c_idx)
    return trace.record(while_p, params, vals, tuple(carry), parents, pidx)


class _Batched(Exception):
    """A batched predicate met by :func:`_store_all`."""


def _while_vjp(ct, ans, args, params, wanted):
    if "stacks" in params:  # recorded by staged_while_reverse
        return staged_while_vjp(ct, ans, args, params, wanted)
    if "pulls" in params:  # recorded by _store_all
        return _pulls_vjp(ct, args, params, wanted)
    nc, n = params["nc"], params["trips"]
    sp = {"body": _frozen_body(params), "nc": nc, "nx": 0, "length": n, "reverse": False}
    step = _Step(sp, args, wanted)
    nci = len(step.carry_idx)
    state: dict = {"carry": [ct[k] for k in step.carry_idx], "consts": None}

    def backstep(carry, t):
        got = step.pullback(carry, t)[1](tuple(state["carry"]))
        state["carry"] = list(got[:nci])
        gk = got[nci:]
        acc = state["consts"]
        # summed last iteration first, as the tape of the Python loop sums them
        state["consts"] = list(gk) if acc is None else [a + g for a, g in zip(acc, gk)]

    reverse_segments(n, params["checkpoints"], dict(params["kept"]), step.advance, backstep)
    out: list = [None] * len(args)
    for k, c in zip(step.carry_idx, state["carry"]):
        out[k] = c if wanted[k] else None
    for m, j in enumerate(step.c_idx):
        got = state["consts"]
        out[nc + j] = zeros_like(args[nc + j]) if got is None else got[m]
    return out


def _pulls_vjp(ct, args, params, wanted):
    nc = params["nc"]
    carry_idx = [k for k in range(nc) if _inexact(args[k])]
    carry = [ct[k] for k in carry_idx]
    consts = None
    for pull in reversed(params["pulls"]):
        got = pull(tuple(carry))
        carry, gk = list(got[: len(carry)]), got[len(carry) :]
        # summed last iteration first, as the tape of the Python loop sums them
        consts = list(gk) if consts is None else [a + g for a, g in zip(consts, gk)]
    out: list = [None] * len(args)
    for k, c in zip(carry_idx, carry):
        out[k] = c if wanted[k] else None
    for m, j in enumerate(params["pulled"]):  # the consts the pullbacks were taken for
        if wanted[nc + j]:
            out[nc + j] = zeros_like(args[nc + j]) if consts is None else consts[m]
    return out


while_p = Primitive(
    "while_loop",
    _while_impl,
    jvp_rule=_while_jvp,
    joint_vjp=_while_vjp,
    reverse=_while_reverse,
    batch=_while_batch,
    multiple_results=True,
    doc="c = body(c) while cond(c); reverse mode keeps k carries by an online schedule.",
    taylor=call_rule(_while_fun),
    sparsity=Call(_while_fun),  # the loop run on the patterns, as many steps as at x
)


def _convert_while(cond, body, init, params, what):
    """Closure conversion of a checkpointed while_loop: cond and body recorded once on the
    carry (never baked in as constants), their closures lifted into arguments."""
    conv = closure.Conversion(list(init))
    specs = [(closure._example(a)[0] if isinstance(a, Tracer) else a, False) for a in init]
    p_cond, _ = conv.record(cond, specs)
    p_body, _ = conv.record(body, specs)
    try:
        lifted = conv.lifted(what)
    except TypeError:
        if params["checkpoints"] is None:  # only under jit: the Python loop is the fallback
            raise _Unstaged from None
        raise
    if lifted is None:
        return None
    c2, b2 = conv.function(p_cond), conv.function(p_body)
    b2._what = what  # type: ignore[attr-defined]
    return dict(params, cond=c2, body=b2), lifted
