"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``.

Each wraps a Python function as one *call primitive* over the flattened pytree of its
arguments (:mod:`adgraph.api.closure`), so every transformation sees it as a single
operation:

* ``custom_vjp`` -- reverse mode runs the user's ``fwd`` (its residuals are kept on the
  tape) and ``bwd``. Forward mode is refused, as in JAX and autograd, unless the function
  itself calls a ``custom_jvp`` function whose rule then gives the tangents (the way to give
  one function both rules): differentiating the function instead would silently ignore the
  reverse rule the user wrote.
* ``custom_jvp`` -- forward mode runs the user's rule; reverse mode transposes it: the
  rule is linear in the tangents, so the VJP of ``t -> jvp_rule(x, t)`` at ``t = 0`` is its
  transpose.

Under ``vmap`` each call is re-bound with ``vmap``-ed versions of the user's functions, so
custom rules keep working inside batched code, Jacobians and Hessians. A function that
closes over a value traced by an enclosing transformation is closure-converted (see
:mod:`adgraph.api.closure`): the rule covers its arguments, and the closed-over values are
differentiated through the function itself.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

from ..ad.reverse import in_recorded_primal, recorded_primal_scope, user_rule_scope
from ..ad.sparsity import JVP_RULE, VJP_RULE
from ..core.primitive import MissingRuleError, Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import EscapedTracerError
from .args import (
    check_callable,
    flatten_alike,
    is_index,
    zeros_like,
)
from .closure import (
    CONST,
    Box,
    Conversion,
    Watch,
    any_tracer,
    batch_axes,
    bind_call,
    call_primitive,
    closes_over_anything,
    escaped,
    flat_fun,
    holds_live_tracer,
    in_own_rule,
    jvp_of_call,
    only,
    pull_wanted,
    recording_rules_of,
    run_at_binding,
    through_closures,
    unused_rule,
    varying_zeros,
)
from .forward import jvp
from .hints import Argnums, Fun
from .reverse import vjp
from .vectorize import vmap

__all__ = ["custom_jvp", "custom_vjp"]


# ------------------------------------------------------------------ arguments of a call
def _nondiff_argnums(nums, what):
    nums = (nums,) if is_index(nums) else nums
    if not isinstance(nums, (tuple, list)) or not all(is_index(i) for i in nums):
        raise TypeError(f"{what}: nondiff_argnums must be a tuple of ints, got {nums!r}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{what}: nondiff_argnums {nums!r} names an argument twice")
    return tuple(int(i) for i in nums)


def _nondiff_argnames(fun, names, what):
    """``{name: position}`` for ``nondiff_argnames``: positional parameters of ``fun``
    (the rules see non-differentiable arguments by position, as nondiff_argnums)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    if not names:
        return {}
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"{what}: nondiff_argnames must be strings, got {names!r}")
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(
            f"{what}: nondiff_argnames needs the function's signature, which inspect cannot "
            "read; use nondiff_argnums"
        ) from None
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    out = {}
    for n in names:
        if n not in positional:
            raise ValueError(
                f"{what}: nondiff_argnames names {n!r}, which is not a positional parameter "
                f"of the function (its positional parameters: {positional})"
            )
        out[n] = positional.index(n)
    return out


def _positional(fun, args, kwargs, what):
    """Keyword arguments bound to their positions (the rules see positional arguments)."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: {e}") from None
    if bound.kwargs:
        raise TypeError(
            f"{what}: keyword-only arguments ({', '.join(bound.kwargs)}) are not supported; "
            "make them positional, or bind them with functools.partial"
        )
    return bound.args


def _static_indices(nd, nargs, what):
    out = []
    for i in nd:
        if not -nargs <= i < nargs:
            raise ValueError(
                f"{what}: nondiff_argnums {i} is out of range for a call with {nargs} "
                "positional arguments"
            )
        out.append(i % nargs)
    return out


def _split_call(wrapper, args, kwargs, what):
    """``(nondiff indices, {index: static value}, differentiable args, full)`` for a call
    of a custom-rule function; ``full(dargs)`` puts the static values back in place."""
    args = _positional(wrapper.fun, args, kwargs, what)
    nd = _static_indices(wrapper.nondiff_argnums, len(args), what)
    static = {i: args[i] for i in nd}
    dyn = tuple(a for i, a in enumerate(args) if i not in static)
    n = len(args)

    def full(dargs):
        it = iter(dargs)
        return tuple(static[i] if i in static else next(it) for i in range(n))

    return nd, static, dyn, full


def _check_derivative(c, a, what, where):
    """A user rule's derivative (tangent or cotangent) for one leaf: numeric, and of the
    leaf's shape (a 0-d value stands for a constant)."""
    cs = getattr(c, "shape", None)
    if cs is None:
        if not isinstance(c, (int, float, complex)):
            raise TypeError(
                f"{what} for {where} must be an array or a number, got {type(c).__name__}"
            )
        return
    dt = getattr(c, "dtype", None)
    if dt is not None and dt.kind not in "biufc":
        raise TypeError(f"{what} for {where} must be numeric, got dtype {dt}")
    want = tuple(getattr(a, "shape", ()))
    if tuple(cs) != want and tuple(cs) != ():
        raise ValueError(
            f"{what} for {where} has shape {tuple(cs)}, but {where} has shape {want}; "
            "return one of that shape"
        )


def _check_pair(got, what, rule, pair):
    """A user rule's result, which must be a pair (``pair`` names its two parts)."""
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise TypeError(
            f"{what}: {rule} must return a pair ({pair}), got {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        )
    return got


def _is_float(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _float_lifted(lifted):
    """Positions of the lifted values that carry derivatives."""
    return [k for k in range(len(lifted)) if _is_float(lifted[k])]


# ------------------------------------------------------------------ what both share
class _CustomRule:
    """A function with a user-defined rule (:class:`custom_jvp`, :class:`custom_vjp`): the
    wrapped function, its ``nondiff_argnums``, and a call's way to its primitive."""

    kind: str = ""  # the public name, in errors
    # the attributes that hold the user's rules, which are also the primitive's
    # parameters that run them
    _rule_names: tuple[str, ...] = ()
    _how: str = ""  # how to give the rules, in the error for a call without them
    _prim: Primitive
    __name__: str  # the wrapped function's (functools.update_wrapper)

    def __init__(self, fun: Fun, nondiff_argnums: Argnums = (), nondiff_argnames: Any = ()) -> None:
        check_callable(fun, self.kind)
        functools.update_wrapper(self, fun)
        self.fun = fun
        for r in self._rule_names:
            setattr(self, r, None)
        # whether a call must look into the rules' closures for traced values (__call__)
        self._rules_close = False
        nums = _nondiff_argnums(nondiff_argnums, self.kind)
        named = _nondiff_argnames(fun, nondiff_argnames, self.kind)
        self.nondiff_argnames = tuple(named)
        # with names, the static arguments reach the rules in positional order
        self.nondiff_argnums = tuple(sorted({*nums, *named.values()})) if named else nums

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, self._rule_names[0]) is None:
            raise TypeError(f"{self.kind} function {self.__name__!r} has no rule; {self._how}")
        what = f"{self.kind} {self.__name__!r}"
        nd, static, dyn, full = _split_call(self, args, kwargs, what)
        leaves, in_tree = tree_flatten(dyn)
        box = Box()

        def user_fun(*d):
            return self.fun(*full(d))

        if not any_tracer(leaves):  # no rule runs (see bind_call)
            unused = dict.fromkeys(self._rule_names, unused_rule)
            out = self._prim.bind(*leaves, fun=flat_fun(user_fun, in_tree, box), **unused)
            return tree_unflatten(box.tree, list(out))
        if in_own_rule(self):  # called by its own rules while they are recorded
            return self.fun(*args, **kwargs)
        watch = Watch()
        params, out_tree = self._rules(what, nd, static, dyn, full, in_tree, box, watch)
        params["fun"] = flat_fun(user_fun, in_tree, box, watch, what)
        closures_seen = self._rules_close and holds_live_tracer(
            *[getattr(self, r) for r in self._rule_names]
        )
        out = bind_call(
            self._prim,
            leaves,
            params,
            watch,
            self._convert,
            (params, leaves, what),
            closures_seen,
        )
        return tree_unflatten(out_tree(), list(out))

    def _rules(self, what, nd, static, dyn, full, in_tree, box, watch):
        """``(params, out_tree)``: the primitive's rule parameters over flattened leaves,
        built on the user's rules (checking what they return), and a function giving the
        output's structure once a rule or the function has run."""
        raise NotImplementedError

    def _record_rules(self, params, conv, what):
        """The rules of ``params`` recorded into ``conv`` (a :class:`Conversion`); returns
        ``finish(fun, lifted)``, the rule parameters of the converted call."""
        raise NotImplementedError

    def _convert(self, params, leaves, what):
        """Closure conversion of a call (see :mod:`adgraph.api.closure`): the function and
        the rules recorded; ``(params, lifted values)``, or None where nothing is lifted."""
        conv = Conversion(leaves)
        with recording_rules_of(self):
            program, _ = conv.record(params["fun"])
            finish = self._record_rules(params, conv, what)
        lifted = conv.lifted(what)
        if lifted is None:
            return None
        return finish(conv.function(program), lifted), lifted


# ------------------------------------------------------------------ custom_vjp
class CustomVJPForwardError(MissingRuleError):
    """Forward mode met a ``custom_vjp`` function, which has a reverse rule only."""


# How many custom_jvp rules forward mode has run, per thread: a custom_vjp function is
# differentiated forward only when doing so runs at least one (see _cvjp_jvp).
_jvp_rules_run = threading.local()


def _rules_run() -> int:
    return getattr(_jvp_rules_run, "n", 0)


def _cvjp_jvp(primals, tangents, params):
    if in_recorded_primal():
        # Forward mode over the primal of an operation a reverse trace records (jit or
        # checkpoint under hessian): that trace pulls back through this call's bwd rule,
        # so the forward levels differentiate what the reverse pass computes -- its fwd
        # rule, as JAX's forward-over-reverse does. Forward mode inside fwd is fwd's own.
        fwd = params["fwd"]

        def primal_out(*a):
            with user_rule_scope():
                return tuple(fwd(*a)[0])

        return jvp_of_call(primal_out, primals, tangents)
    before = _rules_run()
    out = jvp_of_call(params["fun"], primals, tangents)
    # the rule covers the call's arguments; values lifted from closures (after them) are
    # differentiated through the function itself in every mode
    nargs = getattr(params["fwd"], "_nargs", len(primals))
    # a call of the function inside its own fwd rule computes that rule's primal output:
    # forward mode over the rule (forward-over-reverse, e.g. hessian) differentiates it
    in_own_fwd = getattr(params["fwd"], "_owner", None) in getattr(_jvp_rules_run, "fwd", ())
    if _rules_run() == before and not in_own_fwd and any(t is not None for t in tangents[:nargs]):
        what = getattr(params["bwd"], "_what", None) or "the bwd rule of a custom_vjp function"
        what = what.removeprefix("the bwd rule of ")
        raise CustomVJPForwardError(
            f"forward-mode differentiation (jvp, jacfwd, linearize) of {what}: it has a "
            "reverse-mode rule only, and differentiating the function itself would ignore "
            "that rule. Use reverse mode (grad, vjp, jacrev), or give it a forward rule: "
            "define it with adgraph.custom_jvp (or call a custom_jvp function inside it, "
            "whose rule forward mode then uses; for an adgraph.autograd primitive, defjvp)"
        )
    return out


def _cvjp_reverse(trace, vals, parents, params, pidx):
    out, res = run_at_binding(trace, params["fwd"], vals)
    node_params = dict(params, res=res)
    return trace.record(custom_vjp_p, node_params, vals, tuple(out), parents, pidx)


def _cvjp_vjp(ct, ans, args, params, wanted):
    bwd = params["bwd"]
    try:
        return list(bwd(params["res"], tuple(ct), wanted))
    except EscapedTracerError as e:
        raise escaped(getattr(bwd, "_what", "the bwd rule of a custom_vjp function"), e) from e


def _unbatch_cts(cts, batched):
    """Cotangents of unbatched arguments are summed over the batch axis."""
    from ..ops.reductions import sum as _sum

    return [c if b or c is None else _sum(c, 0) for c, b in zip(cts, batched)]


def _cvjp_batch(vals, batched, size, *, fun, fwd, bwd):
    ax = batch_axes(batched)
    fun_b = vmap(fun, in_axes=ax)
    fwd_b = vmap(fwd, in_axes=ax)

    def bwd_b(res, ct, wanted=None):
        return tuple(_unbatch_cts(list(vmap(bwd)(res, ct)), batched))

    bwd_b._what = getattr(bwd, "_what", None)
    for attr in ("_nargs", "_owner"):
        if hasattr(fwd, attr):
            setattr(fwd_b, attr, getattr(fwd, attr))
    return custom_vjp_p.bind(*vals, fun=fun_b, fwd=fwd_b, bwd=bwd_b)


custom_vjp_p = call_primitive(
    "custom_vjp_call",
    _cvjp_jvp,
    _cvjp_vjp,
    _cvjp_reverse,
    _cvjp_batch,
    doc="A function with a user-defined VJP (see adgraph.custom_vjp).",
)
custom_vjp_p.sparsity = VJP_RULE  # the pattern of the user's reverse rule, transposed


class custom_vjp(_CustomRule):
    """A function with a user-defined reverse-mode rule, as ``jax.custom_vjp``::

        @custom_vjp
        def f(x, y): ...
        def f_fwd(x, y): return f(x, y), residuals
        def f_bwd(residuals, ct): return (ct_x, ct_y)   # one per positional argument
        f.defvjp(f_fwd, f_bwd)

    ``bwd`` returns a tuple with one cotangent pytree per positional argument (``None`` for
    a zero). Forward mode (``jvp``, ``jacfwd``, ``linearize``) is refused, as in JAX, with
    one exception: a function that calls a :class:`custom_jvp` function inside gets its
    tangents from that rule (the way to give one function both rules). Forward mode over
    reverse mode (``hessian``, ``jvp`` of ``grad``) differentiates what the reverse pass
    computes -- ``fwd`` and ``bwd`` -- as JAX does, also when the call is inside ``jit`` or
    ``checkpoint``.

    Values that ``f`` closes over and that an enclosing transformation traces are
    differentiated through ``f`` itself (the rule covers the arguments only); pass them as
    arguments for ``bwd`` to give their cotangents.
    """

    kind = "custom_vjp"
    _rule_names = ("fwd", "bwd")
    _how = "call .defvjp(fwd, bwd)"
    _prim = custom_vjp_p

    def defvjp(self, fwd: Fun, bwd: Fun) -> custom_vjp:
        check_callable(fwd, f"custom_vjp {self.__name__!r}: defvjp's fwd")
        check_callable(bwd, f"custom_vjp {self.__name__!r}: defvjp's bwd")
        self.fwd = fwd
        self.bwd = bwd
        self._rules_close = closes_over_anything(fwd) or closes_over_anything(bwd)
        return self

    def _rules(self, what, nd, static, dyn, full, in_tree, box, watch):
        """The primitive's ``fwd`` and ``bwd`` over flattened leaves, checking what the
        user's return, and the output structure (once known)."""
        dyn_pos = [i for i in range(len(static) + len(dyn)) if i not in static]
        fbox = Box()

        def fwd(*ls):
            running = getattr(_jvp_rules_run, "fwd", ())
            _jvp_rules_run.fwd = (*running, self)
            try:
                got = self.fwd(*full(tree_unflatten(in_tree, list(ls))))
            finally:
                _jvp_rules_run.fwd = running
            out, res = _check_pair(got, what, "fwd", "output, residuals")
            out_leaves, out_tree = tree_flatten(out)
            if fbox.tree is None:
                fbox.tree = out_tree
            if watch.armed:
                watch.check((ls,), (out_leaves, tree_flatten(res)[0]))
            return tuple(out_leaves), res

        fwd._watch = watch
        fwd._owner = self

        def bwd(res, ct_leaves, wanted=None):
            tree = fbox.tree if fbox.tree is not None else box.tree
            cts = self.bwd(
                *(tuple(static[i] for i in nd) + (res,)), tree_unflatten(tree, list(ct_leaves))
            )
            if not isinstance(cts, (tuple, list)):
                raise TypeError(
                    f"{what}: bwd must return a tuple with one cotangent per differentiable "
                    f"argument, got {type(cts).__name__}"
                )
            if len(cts) != len(dyn):
                raise TypeError(
                    f"{what}: bwd returned {len(cts)} cotangents for {len(dyn)} "
                    "differentiable arguments"
                )
            flat = []
            for c, a, pos in zip(cts, dyn, dyn_pos):
                a_leaves, a_tree = tree_flatten(a)
                if c is None:
                    flat.extend([None] * len(a_leaves))
                    continue
                c_leaves, c_tree = tree_flatten(c)
                if c_tree != a_tree:
                    raise TypeError(
                        f"{what}: the cotangent for argument {pos} has structure {c_tree!r}, "
                        f"the argument {a_tree!r}"
                    )
                for cl, al in zip(c_leaves, a_leaves):
                    if cl is not None:
                        _check_derivative(cl, al, f"{what}: bwd's cotangent", f"argument {pos}")
                flat.extend(c_leaves)
            return flat

        bwd._what = f"the bwd rule of {what}"
        return {"fwd": fwd, "bwd": bwd}, lambda: box.tree if box.tree is not None else fbox.tree

    def _record_rules(self, params, conv, what):
        """``fwd`` and ``bwd`` recorded for closure conversion (:meth:`_convert`); the
        lifted values' cotangents come from the function."""
        fwd, bwd = params["fwd"], params["bwd"]
        n = conv.n
        layout = []

        def fwd_flat(*ls):
            out, res = fwd(*ls)
            r_leaves, r_tree = tree_flatten(res)
            layout[:] = [r_tree, len(out)]
            return tuple(out) + tuple(r_leaves)

        F, finfo = conv.record(fwd_flat)
        r_tree, nout = layout
        rinfo, oinfo = finfo[nout:], finfo[:nout]
        nres = len(rinfo)
        bspecs = [(v, f) if traced else (v, CONST) for v, f, traced in rinfo]
        bspecs += varying_zeros(oinfo)

        def bwd_flat(*a):
            return tuple(bwd(tree_unflatten(r_tree, list(a[:nres])), a[nres:]))

        B, _ = conv.record(bwd_flat, bspecs)

        def finish(fun2, lifted):
            float_c = _float_lifted(lifted)

            def fwd2(*vals):
                x, c = tuple(vals[:n]), tuple(vals[n:])
                got = F(x, c)
                return got[:nout], (got[nout:], x, c)

            def bwd2(res, ct, wanted=None):
                r, x, c = res
                ct = tuple(ct)
                cts = list(B(tuple(r) + ct, c))
                out_c = [None] * len(lifted)
                want = [k for k in float_c if wanted is None or wanted[n + k]]
                if want:
                    try:
                        part = only(fun2, tuple(x) + tuple(c), [n + k for k in want])
                        _, pull = vjp(part, *[c[k] for k in want])
                        got = pull(ct)
                    except MissingRuleError as e:
                        raise through_closures(what, e) from e
                    for k, g in zip(want, got):
                        out_c[k] = g
                return cts + out_c

            bwd2._what = getattr(bwd, "_what", None)
            fwd2._nargs = n  # the arguments; the lifted closures follow them
            fwd2._owner = getattr(fwd, "_owner", None)
            return {"fun": fun2, "fwd": fwd2, "bwd": bwd2}

        return finish


# ------------------------------------------------------------------ custom_jvp
def _cjvp_jvp(primals, tangents, params):
    rule = params["jvp"]
    _jvp_rules_run.n = _rules_run() + 1
    if not getattr(rule, "_zeros_ok", False):
        tangents = [zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    with user_rule_scope():
        out, t_out = rule(tuple(primals), tuple(tangents))
    return tuple(out), tuple(t_out)


def _cjvp_reverse(trace, vals, parents, params, pidx):
    fun = params["fun"]
    if any_tracer(vals):
        # Lower levels trace the arguments: the primal output is the rule's, computed on
        # them (at zero tangents), so that their derivatives of it follow what the rule
        # computes -- f(x) again for a rule that returns f(x), whose own rule then applies
        # -- as in forward mode and in JAX. Running fun itself would hand them fun's
        # operations, and grad of grad (or jvp of grad) would mix the rule with fun's true
        # derivative.
        def call(*v):
            with recorded_primal_scope():
                return _rule_primal(params["jvp"], v)

        call._watch = getattr(fun, "_watch", None)
        ans = run_at_binding(trace, call, vals)
    else:
        ans = run_at_binding(trace, fun, vals)
    return trace.record(custom_jvp_p, params, vals, tuple(ans), parents, pidx)


def _rule_primal(rule, primals):
    """The primal output of a custom_jvp rule at ``primals``, its tangents zero."""
    if getattr(rule, "_zeros_ok", False):
        tangents = [None] * len(primals)
    else:
        tangents = [zeros_like(p) for p in primals]
    with user_rule_scope():
        out, _ = rule(tuple(primals), tuple(tangents))
    return tuple(out)


def _cjvp_vjp(ct, ans, args, params, wanted):
    rule = params["jvp"]
    # The rule is linear in the tangents: its transpose is its VJP at zero tangents (those
    # of arguments that get no cotangent stay zero; None where the rule accepts it).
    zeros_ok = getattr(rule, "_zeros_ok", False)
    held = [None if zeros_ok and not w else zeros_like(a) for a, w in zip(args, wanted)]
    return pull_wanted(
        lambda *ts: tuple(rule(tuple(args), ts)[1]),
        held,
        wanted,
        ct,
        getattr(rule, "_what", "the JVP rule of a custom_jvp function"),
    )


def _cjvp_batch(vals, batched, size, *, fun, jvp):
    ax = batch_axes(batched)
    rule_b = vmap(jvp, in_axes=(ax, ax))
    rule_b._what = getattr(jvp, "_what", None)
    return custom_jvp_p.bind(*vals, fun=vmap(fun, in_axes=ax), jvp=rule_b)


custom_jvp_p = call_primitive(
    "custom_jvp_call",
    _cjvp_jvp,
    _cjvp_vjp,
    _cjvp_reverse,
    _cjvp_batch,
    doc="A function with a user-defined JVP (see adgraph.custom_jvp).",
)
custom_jvp_p.sparsity = JVP_RULE  # the pattern of the user's rule, not of the function


class custom_jvp(_CustomRule):
    """A function with a user-defined forward-mode rule, as ``jax.custom_jvp``::

        @custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return f(x), rule(x) * t

    The rule must be linear in the tangents; reverse mode uses its transpose.

    Values that ``f`` closes over and that an enclosing transformation traces are
    differentiated through ``f`` itself (the rule covers the arguments only); pass them as
    arguments for the rule to give their derivatives.
    """

    kind = "custom_jvp"
    _rule_names = ("jvp",)
    _how = "decorate one with .defjvp"
    _prim = custom_jvp_p

    def defjvp(self, jvp_rule: Fun) -> Fun:
        check_callable(jvp_rule, f"custom_jvp {self.__name__!r}: defjvp's rule")
        self.jvp = jvp_rule
        self._rules_close = closes_over_anything(jvp_rule)
        return jvp_rule

    def defjvps(self, *per_arg: Fun | None) -> custom_jvp:
        """One rule per positional argument, ``rule(t, ans, *primals) -> tangent``."""
        for r in per_arg:
            if r is not None:
                check_callable(r, f"custom_jvp {self.__name__!r}: defjvps' rules")

        def rule(primals, tangents):
            if len(per_arg) != len(primals):
                raise TypeError(
                    f"custom_jvp {self.__name__!r}: defjvps got {len(per_arg)} rules for "
                    f"{len(primals)} differentiable arguments; give one per argument "
                    "(None for an argument without a derivative)"
                )
            ans = self.fun(*primals)
            out = None
            for r, t in zip(per_arg, tangents):
                if r is None:
                    continue
                c = r(t, ans, *primals)
                out = c if out is None else out + c
            return ans, (out if out is not None else zeros_like(ans))

        self.jvp = rule
        self._rules_close = True  # the per-argument rules are in its closure
        return self

    def _rules(self, what, nd, static, dyn, full, in_tree, box, watch):
        """The primitive's JVP rule over flattened leaves, checking what the user's returns,
        and the output structure (once known)."""
        user = self.jvp

        def rule(primal_leaves, tangent_leaves):
            ps = tree_unflatten(in_tree, list(primal_leaves))
            ts = tree_unflatten(in_tree, list(tangent_leaves))
            if nd:
                got = user(*(static[i] for i in nd), tuple(ps), tuple(ts))
            else:
                got = user(tuple(ps), tuple(ts))
            out, t_out = _check_pair(got, what, "the JVP rule", "primal_out, tangent_out")
            o_leaves, t_leaves, o_tree = flatten_alike(
                out,
                t_out,
                lambda o_tree, t_tree: TypeError(
                    f"{what}: the rule's primal and tangent outputs have different "
                    f"structures {o_tree!r} and {t_tree!r}"
                ),
            )
            for k, (o, t) in enumerate(zip(o_leaves, t_leaves)):
                _check_derivative(t, o, f"{what}: the rule's tangent", f"output {k}")
            if box.tree is None:
                box.tree = o_tree
            if watch.armed:
                watch.check((primal_leaves, tangent_leaves), (o_leaves, t_leaves))
            return tuple(o_leaves), tuple(t_leaves)

        rule._what = f"the JVP rule of {what}"
        return {"jvp": rule}, lambda: box.tree

    def _record_rules(self, params, conv, what):
        """The rule recorded for closure conversion (:meth:`_convert`); the lifted values'
        tangents come from differentiating the function."""
        rule = params["jvp"]
        n = conv.n
        nout = []

        def rule_flat(*a):
            o, t = rule(a[:n], a[n:])
            nout[:] = [len(o)]
            return tuple(o) + tuple(t)

        R, _ = conv.record(rule_flat, conv.specs + [(zeros_like(v), False) for v, _ in conv.specs])

        def finish(fun2, lifted):
            float_c = _float_lifted(lifted)
            m = nout[0]

            def rule2(primals, tangents):
                x, c = tuple(primals[:n]), tuple(primals[n:])
                tx = tuple(zeros_like(p) if t is None else t for t, p in zip(tangents[:n], x))
                got = R(x + tx, c)
                out, t = got[:m], list(got[m:])
                tc = tangents[n:]
                moving = [k for k in float_c if tc[k] is not None]
                if moving:
                    try:
                        part = only(fun2, x + c, [n + k for k in moving])
                        _, t_c = jvp(
                            part, tuple(c[k] for k in moving), tuple(tc[k] for k in moving)
                        )
                    except MissingRuleError as e:
                        raise through_closures(what, e) from e
                    t = [a + b for a, b in zip(t, t_c)]
                return out, tuple(t)

            rule2._what = getattr(rule, "_what", None)
            rule2._zeros_ok = True  # takes None for a zero tangent
            return {"fun": fun2, "jvp": rule2}

        return finish
