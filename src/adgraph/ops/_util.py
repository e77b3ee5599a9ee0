"""Small helpers shared by the operation families (shapes, axes, dtypes).

Backend-agnostic: nothing here computes on arrays; the array module arrives with the
inputs. NumPy is used for dtype and shape arithmetic only.
"""

from __future__ import annotations

import operator

import numpy as _dtypes  # dtype objects and promotion only; never used to compute on arrays

from ..core.trace import Tracer
from ..core.xp import module_of

__all__ = [
    "shape",
    "ndim",
    "dtype",
    "norm_axis",
    "norm_axes",
    "asarray_like",
    "is_traced",
    "result_dtype",
    "is_inexact",
    "default_float",
    "OpError",
    "OpTypeError",
    "OpIndexError",
    "as_int",
    "check_numeric",
]


class OpError(ValueError):
    """An operation was called with arguments it cannot accept."""


class OpTypeError(OpError, TypeError):
    """An argument of the wrong type (a float where an integer is needed, say); also a
    ``TypeError``, as NumPy raises for the same mistake."""


class OpIndexError(OpError, IndexError):
    """An index that does not fit the array; also an ``IndexError``, as in NumPy."""


def as_int(v, op: str, what: str) -> int:
    """``v`` as a Python integer; floats, strings and traced values are refused (NumPy would
    refuse them too, or silently truncate)."""
    try:
        return operator.index(v)
    except TypeError:
        raise OpTypeError(
            f"{op}: {what} must be an integer, got {v!r} of type {type(v).__name__}"
        ) from None


def check_numeric(x, op: str, what: str = "a"):
    """Refuse ``x`` unless it holds numbers (bool, integer, float or complex): a string,
    None, a dict or another object would otherwise become an object or string array and
    give nan, a string or an error from deep inside. Returns ``x``."""
    if isinstance(x, Tracer):
        return x
    try:
        # None and strings first: result_type would read "f8" or "float" as a dtype name
        kind = "O" if x is None or isinstance(x, (str, bytes)) else _dtypes.dtype(dtype(x)).kind
    except (TypeError, ValueError):
        try:  # an object with __array__ (np.poly1d, say)
            kind = _dtypes.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
    if kind not in "biufc":
        shown = f"{type(x).__name__} {x!r:.40}" if not hasattr(x, "dtype") else f"dtype {x.dtype}"
        raise OpTypeError(f"{op}: {what} must hold numbers, got {shown}")
    return x


def shape(x) -> tuple:
    s = getattr(x, "shape", None)
    if s is not None:
        return tuple(s)
    if isinstance(x, (list, tuple)):
        try:
            return _dtypes.shape(x)
        except TypeError:
            if not _holds_tracer(x):
                raise
            # NumPy refuses the tracers: read the nesting instead
            return (len(x),) + shape(x[0]) if len(x) else (0,)
    return ()


def _holds_tracer(x) -> bool:
    return isinstance(x, Tracer) or (
        isinstance(x, (list, tuple)) and any(_holds_tracer(v) for v in x)
    )


def ndim(x) -> int:
    return len(shape(x))


def dtype(x):
    d = getattr(x, "dtype", None)
    if d is not None:
        return d
    if not isinstance(x, (list, tuple)):
        return _dtypes.result_type(x)
    try:
        return _dtypes.asarray(x).dtype
    except TypeError:
        if not _holds_tracer(x):
            raise
        # NumPy refuses the tracers: promote the elements' dtypes instead
        return _dtypes.result_type(*[dtype(v) for v in x])


def is_inexact(dt) -> bool:
    return _dtypes.dtype(dt).kind in "fc"


def result_dtype(*xs):
    return _dtypes.result_type(*[dtype(x) if isinstance(x, Tracer) else x for x in xs])


def default_float():
    return _dtypes.float64


def norm_axis(axis: int, nd: int, op: str = "") -> int:
    """A non-negative axis index, with an error that names the operation."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise OpTypeError(
            f"{op}: axis must be an integer, got {axis!r} of type {type(axis).__name__}"
        ) from None
    if not -nd <= a < nd:
        raise OpIndexError(
            f"{op}: axis {axis} is out of bounds for an array of {nd} dimensions"
            + (f" (valid axes: {-nd} to {nd - 1})" if nd else " (a 0-d array has no axes)")
        )
    return a % nd if nd else 0


def norm_axes(axis, nd: int, op: str = "") -> tuple:
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, (tuple, list)):
        axes = tuple(sorted(norm_axis(a, nd, op) for a in axis))
        if len(set(axes)) != len(axes):
            raise OpError(f"{op}: repeated axis in {axis!r}; name each axis once")
        return axes
    return (norm_axis(axis, nd, op),)


def is_traced(x) -> bool:
    return isinstance(x, Tracer)


def asarray_like(x, like=None):
    """``x`` as an array of the array module of ``like`` (NumPy by default); tracers pass."""
    if isinstance(x, Tracer) or hasattr(x, "shape"):
        return x
    xp = module_of(like) if like is not None else _dtypes
    return xp.asarray(x)
