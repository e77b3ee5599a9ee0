"""Call primitives over user functions, and their closure conversion.

``custom_jvp``, ``custom_vjp`` and ``checkpoint`` (:mod:`adgraph.api.custom`,
:mod:`adgraph.api.checkpointing`) each wrap a Python function as one *call primitive* over the
flattened pytree of its arguments, whose rules run the user's functions. This module holds
what they share: the flattened form of a function (:func:`flat_fun`), the helpers their
rules are written with, and the closure conversion below.

Closures over traced values
---------------------------
A transformation's rule for a call primitive unwraps its own tracers from the arguments and
runs the user's functions on what is inside. A function that *closes over* a value traced by
an enclosing transformation (``checkpoint(lambda u: sin(u) * y)(x)`` under ``grad`` with
respect to ``y``) would meet that tracer still wrapped -- a leaked tracer, or a derivative
that misses the closed-over value's part. So each call is *closure-converted* when needed:

1. the first binding of the call runs *watched*: a user function whose result holds a tracer
   of a trace that none of its inputs belongs to has closed over a traced value
   (:class:`Watch`); so has one that, run on arguments a trace unwrapped for a later run
   (reverse mode's backward sweep, jit's compiled program), touches a tracer of a trace in
   flight -- those traces refuse operations meanwhile (:func:`run_at_binding`,
   :func:`_sealed`); a rule or ``fwd``/``bwd`` that holds a live tracer in its closure cells
   is found before binding (:func:`holds_live_tracer`);
2. the call's functions are then recorded once, on example values, into straight-line
   programs (:class:`_Recorder`, :class:`_Program`), and every tracer they touch that is not
   one of their inputs is *lifted* into an explicit argument of the primitive -- values derived
   from closed-over tracers alone (``sin(y)``) are computed once, outside, and lifted as they
   are;
3. the primitive is bound on ``(arguments, lifted values)`` with the programs as its
   functions (:func:`bind_call`), so every transformation unwraps the lifted values with the
   arguments.

``checkpoint`` then differentiates the lifted values like its arguments. ``custom_jvp`` and
``custom_vjp`` apply the user's rule to the explicit arguments and differentiate the
lifted values *through the function itself* (the rule says nothing about them); pass a value
as an argument for the rule to govern its derivative. Python branches on values that are
batched by ``vmap`` or traced by ``jit`` cannot be recorded once for every example, and are
refused with that advice when closure conversion is needed; ``lax.cond`` and ``lax.switch``
on such a value (:func:`varies`) are recorded as one ``switch`` operation instead, whose
replays each take their own branch.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import numpy as _np

from ..ad.batching import BatchTracer
from ..ad.forward import JVPTracer
from ..ad.reverse import ReverseTracer
from ..core.primitive import Primitive
from ..core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from ..core.trace import EscapedTracerError, Trace, Tracer, current_traces, trace_scope
from ..core.trace import holds_live_tracer as _holds_live_tracer
from .args import with_args, zeros_like
from .forward import jvp
from .hints import Fun
from .reverse import vjp


class Box:
    """A mutable slot for the output tree structure, filled when the function first runs."""

    __slots__ = ("tree",)

    def __init__(self) -> None:
        # the output's PyTreeDef once the function has run (read only after that)
        self.tree: Any = None


def flat_fun(
    fun: Fun, in_tree: PyTreeDef, box: Box, watch: Watch | None = None, what: str | None = None
) -> Fun:
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
        if watch.armed and not any_tracer(leaves):
            out = _sealed(watch, fun, args)
        else:
            out = fun(*args)
        out_leaves, out_tree = tree_flatten(out)
        if box.tree is None:
            box.tree = out_tree
        if watch.armed:
            watch.check((leaves,), (out_leaves,))
        return tuple(out_leaves)

    # a function's attributes are not typed: mypy is told they are set on purpose
    g._watch = watch  # type: ignore[attr-defined]
    g._what = what  # type: ignore[attr-defined]
    return g


def unused_rule(
    *args: Any, **kwargs: Any
) -> NoReturn:  # pragma: no cover - a call without tracers runs no rule
    raise RuntimeError("internal: a rule of a call without traced arguments was run")


def _call_impl(xp, *leaves, fun, **params):
    return fun(*leaves)


def call_primitive(
    name: str, jvp_rule: Fun, vjp: Fun, reverse: Fun, batch: Fun, *, doc: str
) -> Primitive:
    """A call primitive: its parameter ``fun`` (a function of its flattened arguments,
    returning a tuple of leaves) is its implementation; the rules are given."""
    return Primitive(
        name,
        _call_impl,
        jvp_rule=jvp_rule,
        joint_vjp=vjp,
        reverse=reverse,
        batch=batch,
        multiple_results=True,
        doc=doc,
    )


def batch_axes(batched: Sequence[bool]) -> tuple[int | None, ...]:
    """``in_axes`` for ``vmap`` from a batching rule's ``batched`` flags."""
    return tuple(0 if b else None for b in batched)


def only(fun: Fun, args: Sequence[Any], idx: Sequence[int]) -> Fun:
    """``fun`` as a function of the arguments at ``idx`` alone, the others held at ``args``."""
    return with_args(fun, args, {}, idx)


def escaped(what: str, e: Exception) -> EscapedTracerError:
    """The error for a user function that, run again after its call returned (in the
    backward sweep), met a tracer of a finished transformation: a closed-over traced value
    that the call could not see (used only in a comparison, say, or only by a rule)."""
    return EscapedTracerError(
        f"{what} uses a value traced by an enclosing transformation that is not one of its "
        "arguments (a closure), in a way that could not be seen when it was called; pass the "
        f"value to the function as an explicit argument. ({e})"
    )


def jvp_of_call(fun: Fun, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``jvp(fun, primals, tangents)`` with None tangents (zeros, as rules receive them)
    made arrays of zeros: forward mode through the function itself."""
    ts = [zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    return jvp(fun, tuple(primals), tuple(ts))


def pull_wanted(
    fun: Fun, args: Sequence[Any], wanted: Sequence[bool], ct: Sequence[Any], what: str
) -> list[Any]:
    """The cotangents of ``args`` by reverse mode through ``fun`` at ``args`` for the output
    cotangent ``ct``, for the arguments ``wanted`` names (None for the others, which are
    not differentiated). ``what`` names ``fun`` when it meets a tracer of a finished
    transformation (see :func:`escaped`)."""
    idx = [i for i, w in enumerate(wanted) if w]
    try:
        _, pull = vjp(only(fun, args, idx), *[args[i] for i in idx])
        got = pull(tuple(ct))
    except EscapedTracerError as e:
        raise escaped(what, e) from e
    out = [None] * len(args)
    for i, g in zip(idx, got):
        out[i] = g
    return out


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


class Watch:
    """Armed while a call binds its primitive the first time (when every rule that runs the
    user's functions at binding runs them). Invariant: a result of a user function can hold
    only tracers of the traces its inputs belong to -- unless the function closed over a
    traced value."""

    __slots__ = ("armed",)

    def __init__(self) -> None:
        self.armed = True

    def check(self, inputs: Sequence[Sequence[Any]], outputs: Sequence[Sequence[Any]]) -> None:
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
        got: set[Trace] = set()
        for seq in outputs:
            _traces_in(seq, got)
        have: set[Trace] = set()
        for seq in inputs:
            _traces_in(seq, have)
        if not got <= have:
            raise _ClosureFound(self)


def holds_live_tracer(*funs: Fun | None, depth: int = 2) -> bool:
    """Whether a function (or one it closes over, ``depth`` deep) holds a tracer of a live
    trace in its closure cells or defaults: rules and ``bwd`` run in the backward sweep,
    too late to be watched."""
    return _holds_live_tracer(*funs, depth=depth)


def run_at_binding(trace: Trace, fn: Fun, vals: Sequence[Any]) -> Any:
    """``fn(*vals)`` in a reverse-mode handler, at binding. While a watched call runs, the
    handler's own trace refuses operations: every argument's tracer of it was unwrapped, so
    a use of one is a closure -- even one whose result does not reach the output (a
    comparison), which the backward sweep, run after the trace has finished, could not
    evaluate again."""
    watch = getattr(fn, "_watch", None)
    if watch is None or not watch.armed:
        return fn(*vals)
    return _refusing((trace,), watch, fn, vals)


def _sealed(watch, fn, args):
    """``fn(*args)`` on concrete arguments, at binding: a trace in flight unwrapped them (a
    staging trace, jit's or a graph's, or reverse mode's), so every tracer ``fn`` touches is a
    closure -- even one whose result is unused, which a later run of ``fn`` (by the compiled
    program, or the backward sweep) would meet after its trace finished. The traces in
    flight refuse operations meanwhile."""
    return _refusing([t for t in current_traces() if t.alive], watch, fn, args)


def _refusing(traces, watch, fn, args):
    """``fn(*args)`` while ``traces`` refuse operations: meeting a tracer of one of them
    means ``fn`` closed over it (the watched call then converts its closures)."""
    for t in traces:
        t.alive = False
    try:
        return fn(*args)
    except EscapedTracerError:
        raise _ClosureFound(watch) from None
    finally:
        for t in traces:
            t.alive = True


def varies(x: Any) -> bool:
    """Whether ``x`` is a value of a function being recorded by closure conversion that
    differs between the recording's replays (it depends on a value batched by ``vmap`` or
    staged by ``jit``): a Python branch on it cannot be recorded once, while a staged
    choice (``lax.cond``'s ``switch`` node) can."""
    return type(x) is _RecTracer and not x.fixed


def any_tracer(leaves: Sequence[Any]) -> bool:
    for x in leaves:
        if isinstance(x, Tracer):
            return True
    return False


def bind_call(
    prim: Primitive,
    leaves: Sequence[Any],
    params: dict[str, Any],
    watch: Watch,
    convert: Fun,
    convert_args: tuple[Any, ...],
    closures_seen: bool = False,
) -> Any:
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


def closes_over_anything(f: Fun) -> bool:
    """Whether ``f`` has closure cells or defaults (where :func:`holds_live_tracer` looks),
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


def in_own_rule(wrapper: object) -> bool:
    conv = getattr(_local, "converting", None)
    return conv is not None and id(wrapper) in conv


@contextlib.contextmanager
def recording_rules_of(wrapper: object) -> Iterator[None]:
    """While the functions of a call of the custom-rule function ``wrapper`` are recorded:
    a call of ``wrapper`` inside them runs its function inline (:func:`in_own_rule`)."""
    conv = _converting()
    conv.add(id(wrapper))
    try:
        yield
    finally:
        conv.discard(id(wrapper))


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
            # a recording's value: concrete, or (a checkpoint policy's recording, see
            # api.checkpointing) a value of the levels below, unwrapped in turn
            fixed = fixed and v.fixed
            v = v.value
            continue
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

    def prune(self) -> None:
        """Remove the operations no output depends on, and the lifted values only they
        used. An operation with no results (``debug.callback``) is kept: it runs for its
        effect."""
        live = {r for r in self.outs if type(r) is not _Lit}
        eqns = []
        for eqn in reversed(self.eqns):
            out = eqn[3]
            if out == () or any(v in live for v in (out if type(out) is tuple else (out,))):
                eqns.append(eqn)
                live.update(r for r in eqn[2] if type(r) is not _Lit)
        if len(eqns) != len(self.eqns):
            self.eqns = eqns[::-1]
            self.cvars = {k: var for k, var in self.cvars.items() if var in live}

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


CONST = object()


def _spec(a):
    """How an argument enters a recording: ``(example, fixed)`` for a traced value, or
    ``(a, CONST)`` for a constant (baked into the program: every rule passes it unchanged,
    or as a tracer with a zero derivative)."""
    return _example(a) if isinstance(a, Tracer) else (a, CONST)


def _record(fn, specs, lifter):
    """Record ``fn`` (returning a flat tuple of leaves) on arguments given by ``specs``.
    Returns the program and ``(example, fixed, traced)`` for each output."""
    rec = _Recorder(lifter)
    in_vars = []
    with trace_scope(rec), _np.errstate(all="ignore"):  # examples only fix the program
        ins = []
        for v, fixed in specs:
            if fixed is CONST:
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


class Conversion:
    """One closure conversion of a call on ``leaves``: the call's functions recorded on the
    arguments' examples into programs that share one :class:`_Lifter`."""

    __slots__ = ("lifter", "specs", "n", "programs")

    def __init__(self, leaves: Sequence[Any]) -> None:
        self.lifter = _Lifter()
        self.specs = [_spec(a) for a in leaves]
        self.n = len(leaves)
        self.programs: list[_Program] = []

    def record(self, fn: Fun, specs: list[tuple[Any, Any]] | None = None) -> tuple[_Program, list]:
        """``(program, output info)`` of ``fn`` recorded on the call's arguments (or on
        ``specs``), as :func:`_record` gives them."""
        program, info = _record(fn, self.specs if specs is None else specs, self.lifter)
        self.programs.append(program)
        return program, info

    def lifted(self, what: str) -> list[Any] | None:
        """The values lifted into arguments, or None where the user's functions are to run
        as written (see :func:`_usable`)."""
        if not _usable(self.lifter, self.programs, what):
            return None
        return self._compact()

    def _compact(self) -> list[Any]:
        """The lifted values the programs use, renumbered in them (in place, before any
        runs). A recording may have met, and lifted, values it then dropped: a call inside
        that ran its function watched, found a closure and was converted in turn leaves the
        operations of that aborted run behind -- tangents of a transformation's private
        batching level among their operands, say -- which no output depends on. Those
        operations are removed, and with them the values only they used."""
        used: set[int] = set()
        for p in self.programs:
            p.prune()
            used.update(p.cvars)
        keep = [k for k in range(len(self.lifter.values)) if k in used]
        if len(keep) == len(self.lifter.values):
            return list(self.lifter.values)
        new = {k: i for i, k in enumerate(keep)}
        for p in self.programs:
            p.cvars = {new[k]: var for k, var in p.cvars.items()}
        return [self.lifter.values[k] for k in keep]

    def function(self, program: _Program) -> Fun:
        """``program`` as the function of the converted call primitive, bound on the ``n``
        arguments followed by the lifted values."""
        n = self.n

        def f(*vals):
            return program(vals[:n], vals[n:])

        return f


def varying_zeros(info: Sequence[tuple[Any, bool, bool]]) -> list[tuple[Any, bool]]:
    """Specs for cotangent/tangent arguments shaped like ``info``'s examples: they differ
    in every replay."""
    return [(zeros_like(v), False) for v, _, _ in info]


def through_closures(what: str, e: Exception) -> TypeError:
    return TypeError(
        f"{what} closes over a value traced by an enclosing transformation; its derivative "
        "with respect to that value comes from differentiating the function itself, which "
        f"failed: {e}. Pass the value to the function as an explicit argument and give its "
        "derivative in the rule"
    )
