r"""Array creation. Constants are plain arrays (no derivative); ``array``/``asarray`` of
traced values stack them, so ``anp.array([x1, x2])`` stays differentiable."""

from __future__ import annotations

import numpy as _dt  # dtype objects only

from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, OpTypeError, as_int, shape

__all__ = [
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "arange",
    "linspace",
    "logspace",
    "geomspace",
    "eye",
    "identity",
    "array",
    "asarray",
    "asanyarray",
    "ascontiguousarray",
    "tri",
]


def _xp(like):
    if isinstance(like, Tracer):
        like = like.primal_value()
    return module_of(like) if like is not None else _dt


_ORDERS = ("C", "F", "A", "K", None)


def _check_order(order, op):
    """Memory order is accepted for NumPy compatibility (it never changes values); an
    unknown one is refused rather than ignored."""
    if order not in _ORDERS:
        raise OpError(f"{op}: order must be 'C', 'F', 'A' or 'K', got {order!r}")


def zeros_raw(shape_, dtype, like=None):
    """Concrete zeros in the array module of ``like`` (a tracer's innermost value counts)."""
    if isinstance(like, Tracer):
        like = like.primal_value()
    return _xp(like).zeros(shape_, dtype=dtype)


def _creation_error(op, e, shape_, dtype):
    """NumPy's error for a bad shape or dtype, naming the operation and the arguments."""
    cls = OpTypeError if isinstance(e, TypeError) else OpError
    if "broadcast" in str(e):
        return cls(f"{op}: the fill value does not fit shape {shape_!r}: {e}")
    if "convert" in str(e):
        return cls(f"{op}: the fill value cannot be converted to {dtype}: {e}")
    return cls(
        f"{op}: cannot make an array of shape {shape_!r} and dtype {dtype!r}: {e}; the shape "
        "must be a non-negative integer or a tuple of them, the dtype a NumPy dtype"
    )


def zeros(shape, dtype=float, order="C", *, like=None):
    """An array of zeros (a constant)."""
    _check_order(order, "zeros")
    try:
        return _xp(like).zeros(shape, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise _creation_error("zeros", e, shape, dtype) from None


def ones(shape, dtype=float, order="C", *, like=None):
    """An array of ones (a constant)."""
    _check_order(order, "ones")
    try:
        return _xp(like).ones(shape, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise _creation_error("ones", e, shape, dtype) from None


def empty(shape, dtype=float, order="C", *, like=None):
    """An array of zeros: adgraph never hands out uninitialised memory."""
    _check_order(order, "empty")
    return zeros(shape, dtype, like=like)


def full(shape, fill_value, dtype=None, order="C", *, like=None):
    """An array filled with ``fill_value``; a traced fill value stays differentiable."""
    _check_order(order, "full")
    if isinstance(fill_value, Tracer):
        from .misc import astype
        from .shapes import broadcast_to

        v = fill_value if dtype is None else astype(fill_value, dtype)
        return broadcast_to(v, (shape,) if isinstance(shape, int) else tuple(shape))
    try:
        return _xp(like).full(shape, fill_value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise _creation_error("full", e, shape, dtype) from None


def _like_args(a, dtype, shape_):
    dt = dtype if dtype is not None else getattr(a, "dtype", None) or _dt.result_type(a)
    s = shape(a) if shape_ is None else shape_
    base = a.primal_value() if isinstance(a, Tracer) else a
    return _xp(base), dt, s


def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    """Zeros with the shape and dtype of ``a`` (a constant, also for traced ``a``)."""
    _check_order(order, "zeros_like")
    xp, dt, s = _like_args(a, dtype, shape)
    try:
        return xp.zeros(s, dtype=dt)
    except (TypeError, ValueError) as e:
        raise _creation_error("zeros_like", e, s, dt) from None


def ones_like(a, dtype=None, order="K", subok=True, shape=None):
    """Ones with the shape and dtype of ``a`` (a constant)."""
    _check_order(order, "ones_like")
    xp, dt, s = _like_args(a, dtype, shape)
    try:
        return xp.ones(s, dtype=dt)
    except (TypeError, ValueError) as e:
        raise _creation_error("ones_like", e, s, dt) from None


def empty_like(a, dtype=None, order="K", subok=True, shape=None):
    """Zeros with the shape and dtype of ``a``."""
    return zeros_like(a, dtype, shape=shape)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    """``fill_value`` with the shape and dtype of ``a``."""
    _check_order(order, "full_like")
    xp, dt, s = _like_args(a, dtype, shape)
    if isinstance(fill_value, Tracer):
        return full(s, fill_value, dt)
    try:
        return xp.full(s, fill_value, dtype=dt)
    except (TypeError, ValueError) as e:
        raise _creation_error("full_like", e, s, dt) from None


def arange(start, stop=None, step=None, dtype=None, *, like=None):
    """Evenly spaced values in ``[start, stop)`` (a constant)."""
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise OpError("arange: bounds must be concrete numbers, not traced values")
    if step is not None and not hasattr(step, "shape") and step == 0:
        raise OpError("arange: step must not be zero")
    if stop is None:
        return _xp(like).arange(start, dtype=dtype)
    return _xp(like).arange(start, stop, 1 if step is None else step, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    r"""``num`` evenly spaced values from ``start`` to ``stop``; differentiable in the end
    points: :math:`y_k = s + (e - s) k / (n - 1)`."""
    num = as_int(num, "linspace", "num")
    if num < 0:
        raise OpError(f"linspace: num must be non-negative, got {num}")
    if not (isinstance(start, Tracer) or isinstance(stop, Tracer)):
        return _xp(start if hasattr(start, "shape") else stop).linspace(
            start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis
        )
    from .elementwise import add, multiply, subtract
    from .shapes import expand_dims

    div = (num - 1) if endpoint else num
    like = start if isinstance(start, Tracer) else stop
    inner = like.primal_value()
    # fractions in the end points' array module and precision (float32 stays float32)
    fdt = _dt.result_type(getattr(start, "dtype", _dt.float64), getattr(stop, "dtype", _dt.float64))
    if fdt.kind not in "fc":
        fdt = _dt.dtype(_dt.float64)
    frac = _xp(inner).arange(num, dtype=fdt) / (div if div > 0 else 1)
    s = expand_dims(start, axis) if shape(start) else start
    e = expand_dims(stop, axis) if shape(stop) else stop
    nd = max(len(shape(start)), len(shape(stop))) + 1
    fshape = [1] * nd
    fshape[axis % nd] = num
    frac = frac.reshape(fshape)
    step = subtract(e, s)
    y = add(s, multiply(step, frac))
    if dtype is not None:
        from .misc import astype

        y = astype(y, dtype)
    if retstep:
        from .elementwise import divide

        return y, divide(step, float(div if div > 0 else 1))
    return y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop)``."""
    from .elementwise import power

    return power(base, linspace(start, stop, num, endpoint, dtype=dtype, axis=axis))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale between ``start`` and ``stop``."""
    from .elementwise import exp, log

    return exp(linspace(log(start), log(stop), num, endpoint, dtype=dtype, axis=axis))


def eye(N, M=None, k=0, dtype=float, order="C", *, like=None):
    """A 2-D array with ones on the k-th diagonal (a constant)."""
    _check_order(order, "eye")
    N = as_int(N, "eye", "N")
    M = None if M is None else as_int(M, "eye", "M")
    if N < 0 or (M is not None and M < 0):
        raise OpError(f"eye: N and M must be non-negative, got N={N}, M={M}")
    return _xp(like).eye(N, M, as_int(k, "eye", "k"), dtype=dtype)


def identity(n, dtype=float, *, like=None):
    """The n x n identity matrix (a constant)."""
    n = as_int(n, "identity", "n")
    if n < 0:
        raise OpError(f"identity: n must be non-negative, got {n}")
    return _xp(like).identity(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=float, *, like=None):
    """Ones at and below the k-th diagonal (a constant)."""
    return _xp(like).tri(N, M, k, dtype=dtype)


def _contains_tracer(obj) -> bool:
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tracer):
            return True
        if isinstance(o, (list, tuple)):
            stack.extend(o)
    return False


def _build(obj):
    if isinstance(obj, (list, tuple)):
        from .joining import stack

        return stack([_build(o) for o in obj])
    return obj


def array(object, dtype=None, copy=True, ndmin=0, *, like=None):
    """An array from nested sequences; traced elements are stacked, so they stay
    differentiable."""
    if isinstance(object, Tracer) or _contains_tracer(object):
        out = _build(object)
        if dtype is not None:
            from .misc import astype

            out = astype(out, dtype)
        while len(shape(out)) < ndmin:
            from .shapes import expand_dims

            out = expand_dims(out, 0)
        return out
    return _xp(like if like is not None else object).array(
        object, dtype=dtype, copy=copy, ndmin=ndmin
    )


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``a`` as an array (no copy when it already is one, unless ``copy=True``; NumPy's
    ``copy=False`` refuses to copy); traced values pass through."""
    _check_order(order, "asarray")
    if device not in (None, "cpu"):
        raise OpError(
            f"asarray: device={device!r} is not supported; arrays live where their data is"
        )
    if isinstance(a, Tracer) or _contains_tracer(a):
        return array(a, dtype=dtype)
    if copy is not None:
        return _xp(like if like is not None else a).asarray(a, dtype=dtype, copy=copy)
    return _xp(like if like is not None else a).asarray(a, dtype=dtype)


asanyarray = asarray
ascontiguousarray = asarray
