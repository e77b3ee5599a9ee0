"""Traces, tracers and levels.

A *trace* is one transformation in flight (a JVP, a reverse-mode tape, a vmap). Each has a
*level*: an integer that grows with every trace created, so a trace opened inside another
always has the higher level. A *tracer* is a value seen by one trace; it wraps a value of the
levels below. A primitive applied to tracers is handled by the trace of the highest level
among its arguments, which unwraps its own tracers, binds the primitive again on the
unwrapped values (handled by lower levels in turn) and wraps the result. Tracers of other
levels are constants to it. This is what keeps nested derivatives free of perturbation
confusion.

The stack of traces in flight is kept per thread, so two threads differentiating at once
do not see each other's traces. Levels come from one process-wide counter, so they never
collide even across threads.
"""

from __future__ import annotations

import functools
import itertools
import threading
import types

__all__ = [
    "Trace",
    "Tracer",
    "EscapedTracerError",
    "new_level",
    "current_traces",
    "trace_scope",
    "find_top_trace",
    "highest_trace",
    "split_args",
    "holds_live_tracer",
    "leaked_message",
]

_level_counter = itertools.count(1)
_local = threading.local()


class EscapedTracerError(RuntimeError):
    """A tracer outlived the transformation that created it."""


def current_traces() -> list:
    """The traces in flight on this thread, outermost first."""
    try:
        return _local.stack
    except AttributeError:
        _local.stack = []
        return _local.stack


def new_level() -> int:
    return next(_level_counter)


class Trace:
    """One transformation in flight; subclasses implement :meth:`process`."""

    __slots__ = ("level", "alive", "__weakref__")
    # The public name of the transformation a kind of trace carries out (set by the API
    # layer, which gives the transformations their names), for errors about its tracers.
    transformation: str | None = None

    def __init__(self) -> None:
        self.level = new_level()
        self.alive = True

    def process(self, prim, args, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.level})"


class trace_scope:
    """Context manager that pushes ``trace`` on this thread's stack and kills it on exit."""

    __slots__ = ("trace",)

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Trace:
        current_traces().append(self.trace)
        return self.trace

    def __exit__(self, *exc) -> None:
        stack = current_traces()
        stack.pop()
        self.trace.alive = False


class Tracer:
    """A value seen by one trace. Operators and array methods are installed by ``adgraph.ops``.

    Subclasses define ``_trace`` and ``_inner()`` (the value they wrap), whose shape and
    dtype are the tracer's unless a subclass says otherwise (a batch's, say).
    """

    __slots__ = ("_trace",)
    _trace: Trace  # the slot's type, for type checkers (an annotation adds no class attribute)
    # Make NumPy defer to our reflected operators (``ndarray * tracer`` -> ``tracer.__rmul__``)
    # instead of turning the tracer into an object array.
    __array_ufunc__ = None
    __array_priority__ = 1000

    @property
    def shape(self) -> tuple:
        return self._inner().shape

    @property
    def dtype(self):
        return self._inner().dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d traced array")
        return shape[0]

    def __iter__(self):
        shape = self.shape
        if not shape:
            raise TypeError("iteration over a 0-d traced array")
        for i in range(shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        # Python control flow follows the value: the derivative follows the path taken.
        return bool(self.primal_value())

    def __float__(self):
        if not self._trace.alive:
            raise EscapedTracerError(leaked_message(self._trace, "converted to a number"))
        raise TypeError(
            "float() of a traced value would silently drop its derivative; keep the value as an "
            "array, or call float(adgraph.stop_gradient(x)) if the derivative is not wanted"
        )

    __int__ = __complex__ = __float__

    def __index__(self):
        raise TypeError(
            "a traced value cannot be a Python integer index (of a list, a tuple or a plain "
            "NumPy array): use anp.take(a, i, axis=...) or anp.at(a)[..., i].get()"
        )

    def __array__(self, *args, **kwargs):
        if not self._trace.alive:
            raise EscapedTracerError(
                leaked_message(self._trace, "passed to plain NumPy (np.asarray)")
            )
        raise TypeError(
            "a traced value was passed to plain NumPy (np.* or np.asarray); inside a "
            "differentiated function use adgraph.numpy (import adgraph.numpy as anp) instead "
            "(a plain NumPy array indexed by a traced value: anp.take(a, i, axis=...))"
        )

    def __setitem__(self, idx, value):
        raise TypeError(
            "in-place assignment x[idx] = v is not supported on a traced array; use the "
            "functional form x = x.at[idx].set(v) (also .add, .multiply, .min, .max)"
        )

    def __hash__(self) -> int:
        return id(self)

    def primal_value(self):
        """The concrete value under every level of tracing."""
        v = self
        while isinstance(v, Tracer):
            v = v._inner()
        return v

    def _inner(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        """What a user needs to see of a traced value: its (per-example) shape and dtype,
        the transformation tracing it, and its value when it is one value."""
        shape = tuple(self.shape)
        kind = type(self._trace).transformation or type(self._trace).__name__
        head = f"Traced<{self.dtype}[{','.join(map(str, shape))}]> (traced by {kind})"
        v = self.primal_value()
        vshape = tuple(getattr(v, "shape", ()))
        if vshape != shape:
            n = vshape[0] if len(vshape) > len(shape) else "?"
            return f"{head}, one of a batch of {n} values"
        text = repr(v.item()) if vshape == () and hasattr(v, "item") else repr(v)
        if "\n" in text or len(text) > 200:
            return f"{head} with value\n{text}"
        return f"{head} with value {text}"


def leaked_message(trace: Trace, action: str) -> str:
    """The error for a tracer of the finished ``trace`` that was ``action`` ("used",
    "passed to plain NumPy"...): it leaked out of its transformation."""
    name = type(trace).transformation
    what = f"{name}, {trace!r}" if name else repr(trace)
    return (
        f"a traced value was {action} after its transformation returned: the tracer leaked "
        f"out of {what} (it was stored outside the transformed function, e.g. in a global, "
        "a list or an attribute) and stands for no value any more. Return values computed "
        "inside grad/jvp/vjp/vmap from the transformed function instead; to take out a "
        "value that is not differentiated, return it as auxiliary data (has_aux=True)"
    )


def split_args(trace: Trace, args, tracer_type: type, attr: str):
    """``(values, extras, any traced)`` of ``args`` for ``trace``: each argument's value
    (a tracer of ``trace`` of type ``tracer_type`` unwrapped, anything else as it is) and,
    for those tracers, their attribute ``attr`` (None for the other arguments)."""
    vals, extras, traced = [], [], False
    for a in args:
        if type(a) is tracer_type and a._trace is trace:
            vals.append(a._inner())
            extras.append(getattr(a, attr))
            traced = True
        else:
            vals.append(a)
            extras.append(None)
    return vals, extras, traced


def highest_trace(args):
    """The trace of highest level among the tracers in ``args`` (None when none is
    traced), alive or not."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
    return top


def find_top_trace(args):
    """The trace of highest level among the tracers in ``args`` (None when none is traced);
    raises :class:`EscapedTracerError` when it is no longer alive."""
    top = highest_trace(args)
    if top is not None and not top.alive:
        raise EscapedTracerError(leaked_message(top, "used"))
    return top


_FUNCTIONS = (types.FunctionType, types.MethodType, functools.partial)


def holds_live_tracer(*funs, depth: int = 2, unwrap=None) -> bool:
    """Whether one of ``funs`` -- or a function among its closure cells, defaults or
    ``functools.partial`` arguments, ``depth`` functions deep -- holds a tracer of a live
    trace there (directly, or in a tuple, list or dict): then it closes over a value of a
    transformation in flight. ``unwrap(f)``, when given, names the function a wrapper
    ``f`` stands for (None for anything else), to be looked into as well."""
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
        elif unwrap is not None and (inner := unwrap(f)) is not None:
            vals.append(inner)
        f = getattr(f, "__func__", f)  # a bound method: its function
        for c in getattr(f, "__closure__", None) or ():
            try:
                vals.append(c.cell_contents)
            except ValueError:  # an empty cell
                continue
        vals += getattr(f, "__defaults__", None) or ()
        for v in vals:
            items = (
                v if isinstance(v, (tuple, list)) else v.values() if isinstance(v, dict) else (v,)
            )
            for x in items:
                if isinstance(x, Tracer):
                    if x._trace.alive:
                        return True
                elif d and (
                    isinstance(x, _FUNCTIONS) or (unwrap is not None and unwrap(x) is not None)
                ):
                    stack.append((x, d - 1))
    return False
