"""User-defined derivatives (``custom_jvp``, ``custom_vjp``) and ``checkpoint``.

Each wraps a Python function as one *call primitive* over the flattened pytree of its
arguments, so every transformation sees it as a single operation:

* ``custom_vjp`` -- reverse mode runs the user's ``fwd`` (its residuals are kept on the
  tape) and ``bwd``. Forward mode, which JAX refuses, differentiates the original function
  instead (documented behaviour).
* ``custom_jvp`` -- forward mode runs the user's rule; reverse mode transposes it: the
  rule is linear in the tangents, so the VJP of ``t -> jvp_rule(x, t)`` at ``t = 0`` is its
  transpose.
* ``checkpoint`` -- reverse mode stores only the inputs and recomputes the function (with
  its own tape) during the backward sweep.

Under ``vmap`` each call is re-bound with ``vmap``-ed versions of the user's functions, so
custom rules keep working inside batched code, Jacobians and Hessians.

Closures over traced values
---------------------------
A transformation's rule for a call primitive unwraps its own tracers from the arguments and
runs the user's functions on what is inside. A function that *closes over* a value traced by
an enclosing transformation (``checkpoint(lambda u: sin(u) * y)(x)`` under ``grad`` with
respect to ``y``) would meet that tracer still wrapped -- a leaked tracer, or a derivative
that misses the closed-over value's part. So each call is *closure-converted* when needed:

1. the first binding of the call runs *watched*: a user function whose result holds a tracer
   of a trace that none of its inputs belongs to has closed over a traced value
   (:class:`_Watch`); so has one that, run on arguments a trace unwrapped for a later run
   (reverse mode's backward sweep, jit's compiled program), touches a tracer of a trace in
   flight -- those traces refuse operations meanwhile (:func:`_run_at_binding`,
   :func:`_sealed`); a rule or ``fwd``/``bwd`` that holds a live tracer in its closure cells
   is found before binding (:func:`_holds_live_tracer`);
2. the call's functions are then recorded once, on example values, into straight-line
   programs (:class:`_Recorder`, :class:`_Program`), and every tracer they touch that is not
   one of their inputs is *lifted* into an explicit argument of the primitive -- values derived
   from closed-over tracers alone (``sin(y)``) are computed once, outside, and lifted as they
   are;
3. the primitive is bound on ``(arguments, lifted values)`` with the programs as its
   functions, so every transformation unwraps the lifted values with the arguments.

``checkpoint`` then differentiates the lifted values like its arguments. ``custom_jvp`` and
``custom_vjp`` apply the user's rule to the explicit arguments and differentiate the
lifted values *through the function itself* (the rule says nothing about them); pass a value
as an argument for the rule to govern its derivative. Python branches on values that are
batched by ``vmap`` or traced by ``jit`` cannot be recorded once for every example, and are
refused with that advice when closure conversion is needed.
"""

from __future__ import annotations

import functools
import inspect
import threading

import numpy as _np

from ..ad.batching import BatchTracer
from ..ad.forward import JVPTracer
from ..ad.reverse import ReverseTracer
from ..core.primitive import MissingRuleError, Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import EscapedTracerError, Trace, Tracer, current_traces, trace_scope
from .args import check_callable as _check_callable
from .args import is_index as _is_index
from .args import zeros_like as _zeros_like
from .forward import jvp
from .reverse import vjp
from .vectorize import vmap

__all__ = ["custom_jvp", "custom_vjp", "checkpoint", "remat"]


class _Box:
    """A mutable slot for the output tree structure, filled when the function first runs."""

    __slots__ = ("tree",)

    def __init__(self):
        self.tree = None


def _flat_fun(fun, in_tree, box, watch=None, what=None):
    """``fun`` on the flattened leaves of its arguments, returning its output's leaves; with
    a ``watch``, checked for closures over traced values while the watch is armed (and
    named ``what`` in errors)."""
    if watch is None:

        def f(*leaves):
            out_leaves, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, list(leaves))))
            if box.tree is None:
                box.tree = out_tree
            return tuple(out_leaves)

        return f

    def g(*leaves):
        args = tree_unflatten(in_tree, list(leaves))
        if watch.armed and not _any_tracer(leaves):
            out = _sealed(watch, fun, args)
        else:
            out = fun(*args)
        out_leaves, out_tree = tree_flatten(out)
        if box.tree is None:
            box.tree = out_tree
        if watch.armed:
            watch.check((leaves,), (out_leaves,))
        return tuple(out_leaves)

    g._watch = watch
    g._what = what
    return g


def _unused(*args, **kwargs):  # pragma: no cover - a call without tracers runs no rule
    raise RuntimeError("internal: a rule of a call without traced arguments was run")


def _call_impl(xp, *leaves, fun, **params):
    return fun(*leaves)


def _nondiff_argnums(nums, what):
    nums = (nums,) if _is_index(nums) else nums
    if not isinstance(nums, (tuple, list)) or not all(_is_index(i) for i in nums):
        raise TypeError(f"{what}: nondiff_argnums must be a tuple of ints, got {nums!r}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{what}: nondiff_argnums {nums!r} names an argument twice")
    return tuple(int(i) for i in nums)


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


def _check_cotangent(c, a, what, where):
    """A user rule's derivative for one leaf: numeric, and of the leaf's shape (a 0-d
    value stands for a constant)."""
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


def _axes(batched):
    return tuple(0 if b else None for b in batched)


def _unbatch_cts(cts, batched):
    """Cotangents of unbatched arguments are summed over the batch axis."""
    from ..ops.reductions import sum as _sum

    return [c if b or c is None else _sum(c, 0) for c, b in zip(cts, batched)]


def _is_float(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _only(fun, args, idx):
    """``fun`` as a function of the arguments at ``idx`` alone, the others held at ``args``."""

    def part(*chosen):
        full = list(args)
        for i, v in zip(idx, chosen):
            full[i] = v
        return fun(*full)

    return part


def _escaped(what, e):
    """The error for a user function that, run again after its call returned (in the
    backward sweep), met a tracer of a finished transformation: a closed-over traced value
    that the call could not see (used only in a comparison, say, or only by a rule)."""
    return EscapedTracerError(
        f"{what} uses a value traced by an enclosing transformation that is not one of its "
        "arguments (a closure), in a way that could not be seen when it was called; pass the "
        f"value to the function as an explicit argument. ({e})"
    )


# ------------------------------------------------------------------ closure detection
class _ClosureFound(Exception):
    """Raised by a watched user function that closed over a traced value; caught by the call
    that armed the watch, which then binds the closure-converted form."""

    def __init__(self, watch):
        super().__init__("internal: a closure over a traced value (caught by its call)")
        self.watch = watch


def _traces_in(values, into):
    """Add the trace of every tracer layer in ``values`` (primals and tangents) to ``into``."""
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, Tracer):
            into.add(v._trace)
            if type(v) is JVPTracer:
                stack.append(v.primal)
                stack.append(v.tangent)
            else:
                stack.append(v._inner())
    return into


class _Watch:
    """Armed while a call binds its primitive the first time (when every rule that runs the
    user's functions at binding runs them). Invariant: a result of a user function can hold
    only tracers of the traces its inputs belong to -- unless the function closed over a
    traced value."""

    __slots__ = ("armed",)

    def __init__(self):
        self.armed = True

    def check(self, inputs, outputs):
        """``inputs`` and ``outputs``: sequences of sequences of leaves."""
        for seq in outputs:
            for v in seq:
                if isinstance(v, Tracer):
                    break
            else:
                continue
            break
        else:
            return  # the common case: nothing traced came out
        got = set()
        for seq in outputs:
            _traces_in(seq, got)
        have = set()
        for seq in inputs:
            _traces_in(seq, have)
        if not got <= have:
            raise _ClosureFound(self)


def _holds_live_tracer(*funs, depth=2) -> bool:
    """Whether a function (or one it closes over, ``depth`` deep) holds a tracer of a live
    trace in its closure cells or defaults: rules and ``bwd`` run in the backward sweep,
    too late to be watched."""
    seen = set()
    stack = [(f, depth) for f in funs if f is not None]
    while stack:
        f, d = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        vals = []
        if isinstance(f, functools.partial):
            vals += [f.func, *f.args, *f.keywords.values()]
        for c in getattr(f, "__closure__", None) or ():
            try:
                vals.append(c.cell_contents)
            except ValueError:  # an empty cell
                continue
        vals += list(getattr(f, "__defaults__", None) or ())
        for v in vals:
            if isinstance(v, (tuple, list)):
                items = v
            elif isinstance(v, dict):
                items = v.values()
            else:
                items = (v,)
            for x in items:
                if isinstance(x, Tracer) and x._trace.alive:
                    return True
                if d and (inspect.isfunction(x) or isinstance(x, functools.partial)):
                    stack.append((x, d - 1))
    return False


def _run_at_binding(trace, fn, vals):
    """``fn(*vals)`` in a reverse-mode handler, at binding. While a watched call runs, the
    handler's own trace refuses operations: every argument's tracer of it was unwrapped, so
    a use of one is a closure -- even one whose result does not reach the output (a
    comparison), which the backward sweep, run after the trace has finished, could not
    evaluate again."""
    watch = getattr(fn, "_watch", None)
    if watch is None or not watch.armed:
        return fn(*vals)
    trace.alive = False
    try:
        return fn(*vals)
    except EscapedTracerError:
        raise _ClosureFound(watch) from None
    finally:
        trace.alive = True


def _sealed(watch, fn, args):
    """``fn(*args)`` on concrete arguments, at binding: a trace in flight unwrapped them (a
    staging trace, jit's or a graph's, or reverse mode's), so every tracer ``fn`` touches is a
    closure -- even one whose result is unused, which a later run of ``fn`` (by the compiled
    program, or the backward sweep) would meet after its trace finished. The traces in
    flight refuse operations meanwhile."""
    live = [t for t in current_traces() if t.alive]
    for t in live:
        t.alive = False
    try:
        return fn(*args)
    except EscapedTracerError:
        raise _ClosureFound(watch) from None
    finally:
        for t in live:
            t.alive = True


def _any_tracer(leaves) -> bool:
    for x in leaves:
        if isinstance(x, Tracer):
            return True
    return False


def _bind_call(prim, leaves, params, watch, convert, convert_args, closures_seen=False):
    """Bind ``prim`` on ``leaves`` (some of them traced) with ``params``, whose functions
    check for closures while ``watch`` is armed (the first binding); when one turns out to
    close over a traced value (or ``closures_seen`` says a rule does), bind
    ``convert(*convert_args)``'s ``(params, lifted values)`` instead, the lifted values as
    extra arguments. (A call without traced arguments binds directly: no rule unwraps
    anything, so the functions run as written and closed-over tracers meet their own
    transformations.)"""
    if closures_seen:
        watch.armed = False
    else:
        try:
            return prim.bind(*leaves, **params)
        except _ClosureFound as e:
            if e.watch is not watch:
                raise
        finally:
            watch.armed = False  # from here on the functions run unchecked
    got = convert(*convert_args)
    if got is None:  # nothing to lift after all: the functions run as written
        return prim.bind(*leaves, **params)
    new_params, lifted = got
    return prim.bind(*leaves, *lifted, **new_params)


def _closes_over_anything(f) -> bool:
    """Whether ``f`` has closure cells or defaults (where :func:`_holds_live_tracer` looks),
    decided once per rule."""
    return bool(
        getattr(f, "__closure__", None)
        or getattr(f, "__defaults__", None)
        or isinstance(f, functools.partial)
    )


# ------------------------------------------------------------------ closure conversion
_local = threading.local()


def _converting() -> set:
    """ids of the custom-rule functions whose rules this thread is recording: a call of
    one of them inside its own rule runs the function inline (no recursion)."""
    try:
        return _local.converting
    except AttributeError:
        _local.converting = set()
        return _local.converting


def _example(x):
    """``(value, fixed)``: a concrete value with ``x``'s logical shape (the first example of
    batched axes), and whether every replay of the call sees that same value (values under
    jvp and reverse mode; not batched or staged ones)."""
    batch = 0
    fixed = True
    v = x
    while isinstance(v, Tracer):
        t = type(v)
        if t is _RecTracer:
            fixed = fixed and v.fixed
            v = v.value
            break
        if t is BatchTracer:
            batch += 1
            fixed = False
        elif t is not JVPTracer and t is not ReverseTracer:
            fixed = False  # jit, graph tracing: the value differs in later runs
        v = v._inner()
    if batch:
        v = v[(0,) * batch]
    return v, fixed


class _Lit:
    """A constant operand of a recorded program."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Lifter:
    """The traced values one conversion lifted into arguments, in order, shared by the
    programs it records (each program reads the ones it uses)."""

    __slots__ = ("index", "values", "examples")

    def __init__(self):
        self.index = {}  # id -> position; ``values`` keeps the objects (and so their ids) alive
        self.values = []
        self.examples = []

    def lift(self, a):
        k = self.index.get(id(a))
        if k is None:
            k = self.index[id(a)] = len(self.values)
            self.values.append(a)
            self.examples.append(_example(a))
        return k


class _RecTracer(Tracer):
    """A value of a function being recorded: a concrete example and its program variable."""

    __slots__ = ("value", "var", "fixed")

    def __init__(self, trace, value, var, fixed):
        self._trace = trace
        self.value = value
        self.var = var
        self.fixed = fixed

    @property
    def shape(self):
        return tuple(getattr(self.value, "shape", ()))

    @property
    def dtype(self):
        dt = getattr(self.value, "dtype", None)
        return dt if dt is not None else _np.result_type(self.value)

    def _inner(self):
        return self.value

    def __bool__(self):
        if not self.fixed:
            self._trace.branched = True  # refused by the conversion (see _usable)
        return bool(self.value)


class _Recorder(Trace):
    """Records every primitive applied to its tracers, computing on the examples; a tracer of
    another trace met among the operands is lifted (see :class:`_Lifter`)."""

    __slots__ = ("eqns", "nvar", "lifter", "cvars", "branched")
    transformation = "closure conversion"

    def __init__(self, lifter):
        super().__init__()
        self.eqns = []
        self.nvar = 0
        self.lifter = lifter
        self.cvars = {}  # lifted value's position -> variable
        self.branched = False

    def new_var(self):
        self.nvar += 1
        return self.nvar - 1

    def new_input(self, value, fixed):
        return _RecTracer(self, value, self.new_var(), fixed)

    def operand(self, a):
        """``(example value, variable or _Lit, fixed)`` for an operand."""
        if type(a) is _RecTracer and a._trace is self:
            return a.value, a.var, a.fixed
        if isinstance(a, Tracer):
            k = self.lifter.lift(a)
            var = self.cvars.get(k)
            if var is None:
                var = self.cvars[k] = self.new_var()
            v, fixed = self.lifter.examples[k]
            return v, var, fixed
        return a, _Lit(a), True

    def process(self, prim, args, params):
        vals, refs = [], []
        fixed = True
        for a in args:
            v, r, f = self.operand(a)
            vals.append(v)
            refs.append(r)
            fixed = fixed and f
        ans = prim.bind(*vals, **params)
        outs = ans if prim.multiple_results else (ans,)
        for o in outs:
            if isinstance(o, Tracer):
                raise TypeError(
                    f"closure conversion: primitive {prim.name!r} gave a traced value for "
                    "concrete operands (a function it calls closes over a traced value it "
                    "does not convert); pass that value as an explicit argument"
                )
        if prim.nondiff and fixed:
            return ans  # the same in every replay of this call: a constant
        if prim.multiple_results:
            out_vars = tuple(self.new_var() for _ in ans)
            self.eqns.append((prim, params, refs, out_vars))
            return tuple(_RecTracer(self, a, v, fixed) for a, v in zip(ans, out_vars))
        var = self.new_var()
        self.eqns.append((prim, params, refs, var))
        return _RecTracer(self, ans, var, fixed)


class _Program:
    """A function recorded as straight-line primitive applications, called as
    ``program(args, lifted)``: the recorded function's arguments (constant ones were baked
    in and are ignored) and the conversion's lifted values."""

    __slots__ = ("in_vars", "cvars", "eqns", "outs", "branched", "__weakref__")

    def __init__(self, in_vars, cvars, eqns, outs, branched):
        self.in_vars = in_vars
        self.cvars = cvars
        self.eqns = eqns
        self.outs = outs
        self.branched = branched

    def __call__(self, args, lifted):
        env = {}
        for var, a in zip(self.in_vars, args):
            if var is not None:
                env[var] = a
        for k, var in self.cvars.items():
            env[var] = lifted[k]
        for prim, params, refs, out in self.eqns:
            ans = prim.bind(*[r.value if type(r) is _Lit else env[r] for r in refs], **params)
            if type(out) is tuple:
                env.update(zip(out, ans))
            else:
                env[out] = ans
        return tuple(r.value if type(r) is _Lit else env[r] for r in self.outs)


_CONST = object()


def _spec(a):
    """How an argument enters a recording: ``(example, fixed)`` for a traced value, or
    ``(a, _CONST)`` for a constant (baked into the program: every rule passes it unchanged,
    or as a tracer with a zero derivative)."""
    return _example(a) if isinstance(a, Tracer) else (a, _CONST)


def _record(fn, specs, lifter):
    """Record ``fn`` (returning a flat tuple of leaves) on arguments given by ``specs``.
    Returns the program and ``(example, fixed, traced)`` for each output."""
    rec = _Recorder(lifter)
    in_vars = []
    with trace_scope(rec), _np.errstate(all="ignore"):  # examples only fix the program
        ins = []
        for v, fixed in specs:
            if fixed is _CONST:
                ins.append(v)
                in_vars.append(None)
            else:
                t = rec.new_input(v, fixed)
                ins.append(t)
                in_vars.append(t.var)
        out = fn(*ins)
    refs, info = [], []
    for o in out:
        v, r, f = rec.operand(o)
        refs.append(r)
        info.append((v, f, type(r) is not _Lit))
    return _Program(in_vars, dict(rec.cvars), rec.eqns, refs, rec.branched), info


def _usable(lifter, programs, what):
    """Whether a conversion's programs replace the user's functions. They do unless one
    baked in a branch on a value that later replays do not share: then the functions run
    as written when nothing was lifted, and the call is refused otherwise."""
    if not any(p.branched for p in programs):
        return True
    if lifter.values:
        raise TypeError(
            f"{what} closes over values traced by an enclosing transformation and branches "
            "(Python if/while/bool) on a value that is batched by vmap or traced by jit: such "
            "a branch cannot be recorded once for every value. Use adgraph.numpy.where instead "
            "of the branch, or pass the closed-over values to the function as arguments"
        )
    return False


def _varying_zeros(info):
    """Specs for cotangent/tangent arguments shaped like ``info``'s examples: they differ
    in every replay."""
    return [(_zeros_like(v), False) for v, _, _ in info]


def _through_closures(what, e):
    return TypeError(
        f"{what} closes over a value traced by an enclosing transformation; its derivative "
        "with respect to that value comes from differentiating the function itself, which "
        f"failed: {e}. Pass the value to the function as an explicit argument and give its "
        "derivative in the rule"
    )


# ------------------------------------------------------------------ custom_vjp
def _cvjp_jvp(primals, tangents, params):
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    out, t_out = jvp(params["fun"], tuple(primals), tuple(ts))
    return out, t_out


def _cvjp_reverse(trace, vals, parents, params, pidx):
    out, res = _run_at_binding(trace, params["fwd"], vals)
    node_params = dict(params, res=res)
    return trace.record(custom_vjp_p, node_params, vals, tuple(out), parents, pidx)


def _cvjp_vjp(ct, ans, args, params, wanted):
    bwd = params["bwd"]
    try:
        return list(bwd(params["res"], tuple(ct), wanted))
    except EscapedTracerError as e:
        raise _escaped(getattr(bwd, "_what", "the bwd rule of a custom_vjp function"), e) from e


def _cvjp_batch(vals, batched, size, *, fun, fwd, bwd):
    ax = _axes(batched)
    fun_b = vmap(fun, in_axes=ax)
    fwd_b = vmap(fwd, in_axes=ax)

    def bwd_b(res, ct, wanted=None):
        return tuple(_unbatch_cts(list(vmap(bwd)(res, ct)), batched))

    bwd_b._what = getattr(bwd, "_what", None)
    return custom_vjp_p.bind(*vals, fun=fun_b, fwd=fwd_b, bwd=bwd_b)


custom_vjp_p = Primitive(
    "custom_vjp_call",
    _call_impl,
    jvp_rule=_cvjp_jvp,
    vjp=_cvjp_vjp,
    reverse=_cvjp_reverse,
    batch=_cvjp_batch,
    multiple_results=True,
    doc="A function with a user-defined VJP (see adgraph.custom_vjp).",
)


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


def _in_own_rule(wrapper) -> bool:
    conv = getattr(_local, "converting", None)
    return bool(conv) and id(wrapper) in conv


def _convert_vjp(wrapper, params, leaves, what):
    """Closure conversion of a custom_vjp call (see the module documentation): ``fun``,
    ``fwd`` and ``bwd`` recorded; the lifted values' cotangents come from ``fun``."""
    fun, fwd, bwd = params["fun"], params["fwd"], params["bwd"]
    n = len(leaves)
    lifter = _Lifter()
    conv = _converting()
    conv.add(id(wrapper))
    try:
        specs = [_spec(a) for a in leaves]
        P, _ = _record(fun, specs, lifter)
        layout = []

        def fwd_flat(*ls):
            out, res = fwd(*ls)
            r_leaves, r_tree = tree_flatten(res)
            layout[:] = [r_tree, len(out)]
            return tuple(out) + tuple(r_leaves)

        F, finfo = _record(fwd_flat, specs, lifter)
        r_tree, nout = layout
        rinfo, oinfo = finfo[nout:], finfo[:nout]
        nres = len(rinfo)
        bspecs = [(v, f) if traced else (v, _CONST) for v, f, traced in rinfo]
        bspecs += _varying_zeros(oinfo)

        def bwd_flat(*a):
            return tuple(bwd(tree_unflatten(r_tree, list(a[:nres])), a[nres:]))

        B, _ = _record(bwd_flat, bspecs, lifter)
    finally:
        conv.discard(id(wrapper))
    if not _usable(lifter, (P, F, B), what):
        return None
    lifted = list(lifter.values)
    nc = len(lifted)
    float_c = [k for k in range(nc) if _is_float(lifted[k])]

    def fun2(*vals):
        return P(vals[:n], vals[n:])

    def fwd2(*vals):
        x, c = tuple(vals[:n]), tuple(vals[n:])
        got = F(x, c)
        return got[:nout], (got[nout:], x, c)

    def bwd2(res, ct, wanted=None):
        r, x, c = res
        ct = tuple(ct)
        cts = list(B(tuple(r) + ct, c))
        out_c = [None] * nc
        want = [k for k in float_c if wanted is None or wanted[n + k]]
        if want:
            try:
                part = _only(fun2, tuple(x) + tuple(c), [n + k for k in want])
                _, pull = vjp(part, *[c[k] for k in want])
                got = pull(ct)
            except MissingRuleError as e:
                raise _through_closures(what, e) from e
            for k, g in zip(want, got):
                out_c[k] = g
        return cts + out_c

    bwd2._what = getattr(bwd, "_what", None)
    return {"fun": fun2, "fwd": fwd2, "bwd": bwd2}, lifted


class custom_vjp:
    """A function with a user-defined reverse-mode rule, as ``jax.custom_vjp``::

        @custom_vjp
        def f(x, y): ...
        def f_fwd(x, y): return f(x, y), residuals
        def f_bwd(residuals, ct): return (ct_x, ct_y)   # one per positional argument
        f.defvjp(f_fwd, f_bwd)

    ``bwd`` returns a tuple with one cotangent pytree per positional argument (``None`` for
    a zero). Under forward mode the original function is differentiated.

    Values that ``f`` closes over and that an enclosing transformation traces are
    differentiated through ``f`` itself (the rule covers the arguments only); pass them as
    arguments for ``bwd`` to give their cotangents.
    """

    def __init__(self, fun, nondiff_argnums=()):
        _check_callable(fun, "custom_vjp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = None
        self.bwd = None
        self._rules_close = False
        self.nondiff_argnums = _nondiff_argnums(nondiff_argnums, "custom_vjp")

    def defvjp(self, fwd, bwd):
        _check_callable(fwd, f"custom_vjp {self.__name__!r}: defvjp's fwd")
        _check_callable(bwd, f"custom_vjp {self.__name__!r}: defvjp's bwd")
        self.fwd = fwd
        self.bwd = bwd
        # whether a call must look into their closures for traced values (see __call__)
        self._rules_close = _closes_over_anything(fwd) or _closes_over_anything(bwd)
        return self

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise TypeError(
                f"custom_vjp function {self.__name__!r} has no rule; call .defvjp(fwd, bwd)"
            )
        what = f"custom_vjp {self.__name__!r}"
        nd, static, dyn, full = _split_call(self, args, kwargs, what)
        leaves, in_tree = tree_flatten(dyn)
        box = _Box()

        def user_fun(*d):
            return self.fun(*full(d))

        if not _any_tracer(leaves):  # no rule runs (see _bind_call)
            out = custom_vjp_p.bind(
                *leaves, fun=_flat_fun(user_fun, in_tree, box), fwd=_unused, bwd=_unused
            )
            return tree_unflatten(box.tree, list(out))
        if _in_own_rule(self):  # called by its own fwd/bwd while they are recorded
            return self.fun(*args, **kwargs)
        dyn_pos = [i for i in range(len(static) + len(dyn)) if i not in static]
        fbox = _Box()
        watch = _Watch()

        def fwd(*ls):
            got = self.fwd(*full(tree_unflatten(in_tree, list(ls))))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                raise TypeError(
                    f"{what}: fwd must return a pair (output, residuals), got "
                    f"{type(got).__name__}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
                )
            out, res = got
            out_leaves, out_tree = tree_flatten(out)
            if fbox.tree is None:
                fbox.tree = out_tree
            if watch.armed:
                watch.check((ls,), (out_leaves, tree_flatten(res)[0]))
            return tuple(out_leaves), res

        fwd._watch = watch

        def bwd(res, ct_leaves, wanted=None):
            tree = fbox.tree if fbox.tree is not None else box.tree
            cts = self.bwd(
                *(tuple(static[i] for i in nd) + (res,)), tree_unflatten(tree, list(ct_leaves))
            )
            if not isinstance(cts, (tuple, list)):
                raise TypeError(
                    f"custom_vjp {self.__name__!r}: bwd must return a tuple with one cotangent "
                    f"per differentiable argument, got {type(cts).__name__}"
                )
            if len(cts) != len(dyn):
                raise TypeError(
                    f"custom_vjp {self.__name__!r}: bwd returned {len(cts)} cotangents for "
                    f"{len(dyn)} differentiable arguments"
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
                        f"custom_vjp {self.__name__!r}: the cotangent for argument {pos} has "
                        f"structure {c_tree!r}, the argument {a_tree!r}"
                    )
                for cl, al in zip(c_leaves, a_leaves):
                    if cl is not None:
                        _check_cotangent(cl, al, f"{what}: bwd's cotangent", f"argument {pos}")
                flat.extend(c_leaves)
            return flat

        bwd._what = f"the bwd rule of {what}"

        params = {"fun": _flat_fun(user_fun, in_tree, box, watch, what), "fwd": fwd, "bwd": bwd}
        out = _bind_call(
            custom_vjp_p,
            leaves,
            params,
            watch,
            _convert_vjp,
            (self, params, leaves, what),
            self._rules_close and _holds_live_tracer(self.fwd, self.bwd),
        )
        tree = box.tree if box.tree is not None else fbox.tree
        return tree_unflatten(tree, list(out))


# ------------------------------------------------------------------ custom_jvp
def _cjvp_jvp(primals, tangents, params):
    rule = params["jvp"]
    if not getattr(rule, "_zeros_ok", False):
        tangents = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    out, t_out = rule(tuple(primals), tuple(tangents))
    return tuple(out), tuple(t_out)


def _cjvp_reverse(trace, vals, parents, params, pidx):
    ans = _run_at_binding(trace, params["fun"], vals)
    return trace.record(custom_jvp_p, params, vals, tuple(ans), parents, pidx)


def _cjvp_vjp(ct, ans, args, params, wanted):
    rule = params["jvp"]
    # The rule is linear in the tangents: its transpose is its VJP at zero tangents (those
    # of arguments that get no cotangent stay zero; None where the rule accepts it).
    zeros_ok = getattr(rule, "_zeros_ok", False)
    idx = [i for i, w in enumerate(wanted) if w]
    held = [None if zeros_ok and not w else _zeros_like(a) for a, w in zip(args, wanted)]
    try:
        part = _only(lambda *ts: tuple(rule(tuple(args), ts)[1]), held, idx)
        _, pull = vjp(part, *[held[i] for i in idx])
        got = pull(tuple(ct))
    except EscapedTracerError as e:
        raise _escaped(getattr(rule, "_what", "the JVP rule of a custom_jvp function"), e) from e
    out = [None] * len(args)
    for i, g in zip(idx, got):
        out[i] = g
    return out


def _cjvp_batch(vals, batched, size, *, fun, jvp):
    ax = _axes(batched)
    rule_b = vmap(jvp, in_axes=(ax, ax))
    rule_b._what = getattr(jvp, "_what", None)
    return custom_jvp_p.bind(*vals, fun=vmap(fun, in_axes=ax), jvp=rule_b)


custom_jvp_p = Primitive(
    "custom_jvp_call",
    _call_impl,
    jvp_rule=_cjvp_jvp,
    vjp=_cjvp_vjp,
    reverse=_cjvp_reverse,
    batch=_cjvp_batch,
    multiple_results=True,
    doc="A function with a user-defined JVP (see adgraph.custom_jvp).",
)


def _convert_jvp(wrapper, params, leaves, what):
    """Closure conversion of a custom_jvp call (see the module documentation): ``fun`` and
    the rule recorded; the lifted values' tangents come from differentiating ``fun``."""
    fun, rule = params["fun"], params["jvp"]
    n = len(leaves)
    lifter = _Lifter()
    conv = _converting()
    conv.add(id(wrapper))
    try:
        specs = [_spec(a) for a in leaves]
        P, _ = _record(fun, specs, lifter)
        nout = []

        def rule_flat(*a):
            o, t = rule(a[:n], a[n:])
            nout[:] = [len(o)]
            return tuple(o) + tuple(t)

        R, _ = _record(rule_flat, specs + [(_zeros_like(v), False) for v, _ in specs], lifter)
    finally:
        conv.discard(id(wrapper))
    if not _usable(lifter, (P, R), what):
        return None
    lifted = list(lifter.values)
    float_c = [k for k in range(len(lifted)) if _is_float(lifted[k])]
    m = nout[0]

    def fun2(*vals):
        return P(vals[:n], vals[n:])

    def rule2(primals, tangents):
        x, c = tuple(primals[:n]), tuple(primals[n:])
        tx = tuple(_zeros_like(p) if t is None else t for t, p in zip(tangents[:n], x))
        got = R(x + tx, c)
        out, t = got[:m], list(got[m:])
        tc = tangents[n:]
        moving = [k for k in float_c if tc[k] is not None]
        if moving:
            try:
                part = _only(fun2, x + c, [n + k for k in moving])
                _, t_c = jvp(part, tuple(c[k] for k in moving), tuple(tc[k] for k in moving))
            except MissingRuleError as e:
                raise _through_closures(what, e) from e
            t = [a + b for a, b in zip(t, t_c)]
        return out, tuple(t)

    rule2._what = getattr(rule, "_what", None)
    rule2._zeros_ok = True  # takes None for a zero tangent
    return {"fun": fun2, "jvp": rule2}, lifted


class custom_jvp:
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

    def __init__(self, fun, nondiff_argnums=()):
        _check_callable(fun, "custom_jvp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp = None
        self._rule_closes = False
        self.nondiff_argnums = _nondiff_argnums(nondiff_argnums, "custom_jvp")

    def defjvp(self, jvp_rule):
        _check_callable(jvp_rule, f"custom_jvp {self.__name__!r}: defjvp's rule")
        self.jvp = jvp_rule
        # whether a call must look into its closure for traced values (see __call__)
        self._rule_closes = _closes_over_anything(jvp_rule)
        return jvp_rule

    def defjvps(self, *per_arg):
        """One rule per positional argument, ``rule(t, ans, *primals) -> tangent``."""
        for r in per_arg:
            if r is not None:
                _check_callable(r, f"custom_jvp {self.__name__!r}: defjvps' rules")

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
            return ans, (out if out is not None else _zeros_like(ans))

        self.jvp = rule
        self._rule_closes = True  # the per-argument rules are in its closure
        return self

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise TypeError(
                f"custom_jvp function {self.__name__!r} has no rule; decorate one with .defjvp"
            )
        what = f"custom_jvp {self.__name__!r}"
        nd, static, dyn, full = _split_call(self, args, kwargs, what)
        leaves, in_tree = tree_flatten(dyn)
        box = _Box()

        def user_fun(*d):
            return self.fun(*full(d))

        if not _any_tracer(leaves):  # no rule runs (see _bind_call)
            out = custom_jvp_p.bind(*leaves, fun=_flat_fun(user_fun, in_tree, box), jvp=_unused)
            return tree_unflatten(box.tree, list(out))
        if _in_own_rule(self):  # called by its own rule while it is recorded
            return self.fun(*args, **kwargs)
        user = self.jvp
        watch = _Watch()

        def rule(primal_leaves, tangent_leaves):
            ps = tree_unflatten(in_tree, list(primal_leaves))
            ts = tree_unflatten(in_tree, list(tangent_leaves))
            if nd:
                got = user(*(static[i] for i in nd), tuple(ps), tuple(ts))
            else:
                got = user(tuple(ps), tuple(ts))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                raise TypeError(
                    f"{what}: the JVP rule must return a pair (primal_out, tangent_out), "
                    f"got {type(got).__name__}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
                )
            out, t_out = got
            o_leaves, o_tree = tree_flatten(out)
            t_leaves, t_tree = tree_flatten(t_out)
            if o_tree != t_tree:
                raise TypeError(
                    f"custom_jvp {self.__name__!r}: the rule's primal and tangent outputs "
                    f"have different structures {o_tree!r} and {t_tree!r}"
                )
            for k, (o, t) in enumerate(zip(o_leaves, t_leaves)):
                _check_cotangent(t, o, f"{what}: the rule's tangent", f"output {k}")
            if box.tree is None:
                box.tree = o_tree
            if watch.armed:
                watch.check((primal_leaves, tangent_leaves), (o_leaves, t_leaves))
            return tuple(o_leaves), tuple(t_leaves)

        rule._what = f"the JVP rule of {what}"

        params = {"fun": _flat_fun(user_fun, in_tree, box, watch, what), "jvp": rule}
        out = _bind_call(
            custom_jvp_p,
            leaves,
            params,
            watch,
            _convert_jvp,
            (self, params, leaves, what),
            self._rule_closes and _holds_live_tracer(user),
        )
        return tree_unflatten(box.tree, list(out))


# ------------------------------------------------------------------ checkpoint
def _ckpt_jvp(primals, tangents, params):
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    return jvp(params["fun"], tuple(primals), tuple(ts))


def _ckpt_reverse(trace, vals, parents, params, pidx):
    ans = _run_at_binding(trace, params["fun"], vals)  # no tape here: only the inputs are kept
    return trace.record(checkpoint_p, params, vals, tuple(ans), parents, pidx)


def _ckpt_vjp(ct, ans, args, params, wanted):
    fun = params["fun"]
    idx = [i for i, w in enumerate(wanted) if w]
    try:
        # recompute, with a tape, now -- differentiating only the arguments that need it
        _, pull = vjp(_only(fun, args, idx), *[args[i] for i in idx])
        got = pull(tuple(ct))
    except EscapedTracerError as e:
        raise _escaped(getattr(fun, "_what", "a checkpoint function"), e) from e
    out = [None] * len(args)
    for i, g in zip(idx, got):
        out[i] = g
    return out


def _ckpt_batch(vals, batched, size, *, fun):
    fun_b = vmap(fun, in_axes=_axes(batched))
    fun_b._what = getattr(fun, "_what", None)
    return checkpoint_p.bind(*vals, fun=fun_b)


checkpoint_p = Primitive(
    "checkpoint",
    _call_impl,
    jvp_rule=_ckpt_jvp,
    vjp=_ckpt_vjp,
    reverse=_ckpt_reverse,
    batch=_ckpt_batch,
    multiple_results=True,
    doc="A function whose intermediates are recomputed in the backward pass.",
)


def _convert_ckpt(fun, leaves, what):
    """Closure conversion of a checkpoint call (see the module documentation)."""
    lifter = _Lifter()
    P, _ = _record(fun, [_spec(a) for a in leaves], lifter)
    if not _usable(lifter, (P,), what):
        return None
    n = len(leaves)

    def fun2(*vals):
        return P(vals[:n], vals[n:])

    fun2._what = what
    return {"fun": fun2}, list(lifter.values)


def checkpoint(fun):
    """``fun`` with rematerialisation: reverse mode keeps only its inputs and recomputes
    its intermediates during the backward sweep (memory for time), as ``jax.checkpoint``.

    ``fun`` may close over values traced by enclosing transformations: they are
    differentiated (and batched) like its arguments."""

    _check_callable(fun, "checkpoint")
    what = f"checkpoint({getattr(fun, '__name__', type(fun).__name__)})"

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        leaves, in_tree = tree_flatten((args, kwargs))
        box = _Box()

        def call(a, k):
            return fun(*a, **k)

        if not _any_tracer(leaves):  # see _bind_call
            out = checkpoint_p.bind(*leaves, fun=_flat_fun(call, in_tree, box))
            return tree_unflatten(box.tree, list(out))

        watch = _Watch()
        f = _flat_fun(call, in_tree, box, watch, what)
        out = _bind_call(checkpoint_p, leaves, {"fun": f}, watch, _convert_ckpt, (f, leaves, what))
        return tree_unflatten(box.tree, list(out))

    return wrapped


remat = checkpoint
