"""Print and inspect values inside transformed functions: ``ad.debug.print``, ``ad.debug.callback``.

Python's own ``print`` inside a transformed function shows tracers, and inside ``jit`` it
runs once, while tracing. These two run with the *values*:

* in eager mode and under ``grad``, ``jvp``, ``vjp``, ``hessian``..., at once, with the
  primal values (never the tangents or the cotangents, and they are not differentiated:
  derivatives flow past them unchanged);
* under ``vmap``, once per example, with that example's values (the arguments of all the
  examples are never shown together);
* inside ``jit``, every time the compiled program runs, never while it is traced: one
  effectful operation of the program, kept by its simplifier although nothing uses its
  result, and run in the order the calls were made -- after the program has checked
  every Python branch it baked in, so that a branch that goes the other way (and traces
  again) does not print twice.

Both return ``None``. Under ``vmap`` of a program compiled by ``jit``, the callback runs
per example too; under ``grad`` of a compiled program, once, with the forward pass.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .core import basic
from .core.primitive import Primitive
from .core.pytree import tree_flatten, tree_unflatten
from .core.trace import Tracer, current_traces

__all__ = ["print", "callback"]

_local = threading.local()


def muted_now() -> bool:
    """Whether callbacks are being left out here (see :func:`muted`)."""
    return getattr(_local, "muted", False)


@contextmanager
def muted() -> Iterator[None]:
    """Leave out the callbacks met in this block: neither run nor staged. For computations
    that repeat work whose callbacks already ran or will run: the values a compiled
    program is traced with, a pullback replaying a forward pass."""
    before = muted_now()
    _local.muted = True
    try:
        yield
    finally:
        _local.muted = before


def _is_value(x) -> bool:
    """A leaf passed to the callback through the primitive (an array, a number, a traced
    value); other leaves (strings, None, objects) are static: passed as they are."""
    if isinstance(x, (Tracer, bool, int, float, complex)):
        return True
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _impl(xp, *vals, callback, tree, statics):
    if muted_now():
        return ()
    leaves = list(statics)
    it = iter(vals)
    for k, s in enumerate(statics):
        if s is _VALUE:
            leaves[k] = next(it)
    args, kwargs = tree_unflatten(tree, leaves)
    callback(*args, **kwargs)
    return ()


def _batch(vals, batched, size, **params):
    # Once per example, in order: what the callback sees is one example's values.
    for b in range(size):
        debug_callback_p.bind(
            *[basic.getitem(v, b) if f else v for v, f in zip(vals, batched)], **params
        )
    return ()


class _Value:
    """Marks, among the static leaves, where a value goes."""

    def __repr__(self):
        return "<value>"


_VALUE = _Value()

debug_callback_p = Primitive(
    "debug_callback",
    _impl,
    batch=_batch,
    multiple_results=True,
    nondiff=True,
    doc="Calls a Python function with the concrete values of its arguments; returns "
    "nothing, carries no derivative, and a compiled program keeps it and runs it in order.",
)


def callback(
    callback: Callable[..., Any], *args: Any, ordered: bool = False, **kwargs: Any
) -> None:
    """Call ``callback(*args, **kwargs)`` with the concrete values of ``args``, whatever
    transformation is in flight (see the module documentation).

    Parameters
    ----------
    callback : callable
        Called with the arguments' values (NumPy arrays and scalars, in the same pytree
        structure); its return value is ignored.
    *args, **kwargs
        Pytrees of arrays (traced or not); leaves that are not arrays or numbers
        (strings, None) are passed as they are.
    ordered : bool
        Accepted for JAX's signature; adgraph always runs the callbacks of one program
        in the order they were made.

    Returns
    -------
    None
    """
    if not callable(callback):
        raise TypeError(
            f"debug.callback: the first argument must be a function to call, got "
            f"{type(callback).__name__}"
        )
    if not isinstance(ordered, bool):
        raise TypeError(f"debug.callback: ordered must be True or False, got {ordered!r}")
    leaves, tree = tree_flatten((args, kwargs))
    vals = [x for x in leaves if _is_value(x)]
    statics = tuple(_VALUE if _is_value(x) else x for x in leaves)
    params = {"callback": callback, "tree": tree, "statics": statics}
    if not any(isinstance(v, Tracer) for v in vals):
        # No traced argument: a program being compiled around this call still has to run
        # it each time, not now (the innermost trace that stages effects records it).
        for t in reversed(current_traces()):
            if getattr(t, "stages_effects", False) and t.alive:
                t.process(debug_callback_p, tuple(vals), params)
                return None
    debug_callback_p.bind(*vals, **params)
    return None


def print(fmt: str, *args: Any, ordered: bool = False, **kwargs: Any) -> None:  # noqa: A001
    """Print ``fmt.format(*args, **kwargs)`` with the concrete values of ``args``, whatever
    transformation is in flight: eagerly, with the primal values under differentiation,
    once per example under ``vmap``, and each time a ``jit``-compiled program runs (see
    the module documentation).

    Parameters
    ----------
    fmt : str
        A :meth:`str.format` string (``"x = {}"``, ``"{x:.3f}"``).
    *args, **kwargs
        The values to format: pytrees of arrays, traced or not.
    ordered : bool
        Accepted for JAX's signature (prints are always in program order).

    Examples
    --------
    >>> import adgraph as ad
    >>> import adgraph.numpy as anp
    >>> def f(x):
    ...     ad.debug.print("x = {}", x)
    ...     return anp.sin(x)
    >>> _ = ad.grad(f)(0.5)
    x = 0.5
    """
    if not isinstance(fmt, str):
        raise TypeError(
            f"debug.print: the format must be a string such as 'x = {{}}', got {type(fmt).__name__}"
        )

    callback(_Printer(fmt), *args, ordered=ordered, **kwargs)


class _Printer:
    """``print(fmt.format(...))``, shown as ``print('fmt')`` in a program's IR."""

    __slots__ = ("fmt",)

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt

    def __call__(self, *args, **kwargs) -> None:
        builtins.print(self.fmt.format(*args, **kwargs))

    def __repr__(self) -> str:
        return f"print({self.fmt!r})"
