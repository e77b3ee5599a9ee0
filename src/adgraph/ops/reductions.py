r"""Reductions over axes: sum, mean, max, min and the non-differentiable ones.

``sum`` is the linear primitive (``reduce_sum``, declared in ``shapes`` beside
``broadcast_to``, its transpose); ``mean`` is a scaled sum. ``max``/``min`` send the
derivative to the extremal elements, split evenly between ties.
"""

from __future__ import annotations

from ..ad.rules import nondiff
from ..core.primitive import Primitive
from ._util import OpError, norm_axes, norm_axis, shape
from .elementwise import divide, equal, multiply
from .shapes import broadcast_to, reduce_sum_p, reshape

__all__ = [
    "sum", "mean", "max", "min", "amax", "amin", "all", "any", "argmax", "argmin",
    "count_nonzero",
]


def _axes(a, axis, op):
    return norm_axes(axis, len(shape(a)), op)


def _keep_shape(xs, axes):
    s = list(xs)
    for ax in axes:
        s[ax] = 1
    return tuple(s)


def sum(a, axis=None, dtype=None, out=None, keepdims=False):
    r"""Sum of elements over ``axis``: :math:`y = \sum_{i \in \text{axis}} x_i`.

    Linear; the cotangent is broadcast back over the summed axes,
    :math:`\bar x_i = \bar y`.
    """
    if out is not None:
        raise OpError("sum: out= is not supported (adgraph arrays are immutable)")
    axes = _axes(a, axis, "sum")
    if dtype is not None:
        from .misc import astype

        a = astype(a, dtype)
    if not axes and not keepdims:
        return a
    return reduce_sum_p.bind(a, axis=axes, keepdims=bool(keepdims))


def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    r"""Arithmetic mean over ``axis``: :math:`y = \frac1n \sum_i x_i`; :math:`\bar x_i = \bar y / n`."""
    axes = _axes(a, axis, "mean")
    s = shape(a)
    n = 1
    for ax in axes:
        n *= s[ax]
    total = sum(a, axes, dtype=dtype, out=out, keepdims=keepdims)
    if not _is_inexact(total):
        from .misc import astype

        total = astype(total, "float64")
    return divide(total, float(n)) if n else divide(total, 0.0)


def _is_inexact(x):
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


# ------------------------------------------------------------------ max / min
def _extremum_mask(ans, x, axis, keepdims):
    """Indicator of the elements equal to the extremum, divided by their count."""
    xs = shape(x)
    full = ans if keepdims else reshape(ans, _keep_shape(xs, axis))
    mask = equal(x, broadcast_to(full, xs))
    from .misc import astype

    mask = astype(mask, x.dtype)
    count = reduce_sum_p.bind(mask, axis=axis, keepdims=True)
    return divide(mask, count)


def _extremum_tangent(t, ans, x, *, axis, keepdims):
    w = _extremum_mask(ans, x, axis, keepdims)
    return reduce_sum_p.bind(multiply(t, w), axis=axis, keepdims=keepdims)


def _extremum_vjp(ct, ans, x, *, axis, keepdims):
    xs = shape(x)
    w = _extremum_mask(ans, x, axis, keepdims)
    if not keepdims:
        ct = reshape(ct, _keep_shape(xs, axis))
    return multiply(broadcast_to(ct, xs), w)


def _reduce_batch(prim):
    def rule(vals, batched, size, *, axis, keepdims):
        return prim.bind(vals[0], axis=tuple(a + 1 for a in axis), keepdims=keepdims)

    return rule


reduce_max_p = Primitive(
    "reduce_max",
    lambda xp, x, *, axis, keepdims: xp.max(x, axis=axis, keepdims=keepdims),
    tangent=(_extremum_tangent,),
    vjp=(_extremum_vjp,),
    doc="y = max of x over axes; derivative shared evenly among the maximal elements.",
)
reduce_max_p.batch = _reduce_batch(reduce_max_p)
reduce_min_p = Primitive(
    "reduce_min",
    lambda xp, x, *, axis, keepdims: xp.min(x, axis=axis, keepdims=keepdims),
    tangent=(_extremum_tangent,),
    vjp=(_extremum_vjp,),
    doc="y = min of x over axes; derivative shared evenly among the minimal elements.",
)
reduce_min_p.batch = _reduce_batch(reduce_min_p)


def _extremum(prim, a, axis, keepdims, op):
    axes = _axes(a, axis, op)
    s = shape(a)
    for ax in axes:
        if s[ax] == 0:
            raise OpError(f"{op}: zero-size array to reduction operation has no identity")
    if not axes:
        return a
    return prim.bind(a, axis=axes, keepdims=bool(keepdims))


def max(a, axis=None, out=None, keepdims=False):
    r"""Maximum over ``axis``. The derivative goes to the maximal elements; ties share it
    evenly, so the derivative of ``max`` of a constant array is :math:`1/n` per element."""
    return _extremum(reduce_max_p, a, axis, keepdims, "max")


def min(a, axis=None, out=None, keepdims=False):
    r"""Minimum over ``axis``. The derivative goes to the minimal elements; ties share it
    evenly."""
    return _extremum(reduce_min_p, a, axis, keepdims, "min")


amax = max
amin = min

# ------------------------------------------------------------------ non-differentiable
_all_p = nondiff(
    "reduce_all",
    lambda xp, x, *, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
)
_all_p.batch = _reduce_batch(_all_p)
_any_p = nondiff(
    "reduce_any",
    lambda xp, x, *, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
)
_any_p.batch = _reduce_batch(_any_p)


def all(a, axis=None, keepdims=False):
    """True where every element along ``axis`` is true (no derivative)."""
    return _all_p.bind(a, axis=_axes(a, axis, "all"), keepdims=bool(keepdims))


def any(a, axis=None, keepdims=False):
    """True where some element along ``axis`` is true (no derivative)."""
    return _any_p.bind(a, axis=_axes(a, axis, "any"), keepdims=bool(keepdims))


def _arg_batch(prim):
    def rule(vals, batched, size, *, axis, keepdims):
        x = vals[0]
        if axis is None:
            x = reshape(x, (size, -1))
            return prim.bind(x, axis=1, keepdims=False)
        return prim.bind(x, axis=axis + 1, keepdims=keepdims)

    return rule


_argmax_p = nondiff(
    "argmax",
    lambda xp, x, *, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
)
_argmax_p.batch = _arg_batch(_argmax_p)
_argmin_p = nondiff(
    "argmin",
    lambda xp, x, *, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
)
_argmin_p.batch = _arg_batch(_argmin_p)


def argmax(a, axis=None, out=None, *, keepdims=False):
    """Index of the maximum (over the flattened array when ``axis`` is None)."""
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argmax")
    return _argmax_p.bind(a, axis=ax, keepdims=bool(keepdims))


def argmin(a, axis=None, out=None, *, keepdims=False):
    """Index of the minimum (over the flattened array when ``axis`` is None)."""
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argmin")
    return _argmin_p.bind(a, axis=ax, keepdims=bool(keepdims))


_count_nonzero_p = nondiff(
    "count_nonzero",
    lambda xp, x, *, axis, keepdims: xp.count_nonzero(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
)
_count_nonzero_p.batch = _reduce_batch(_count_nonzero_p)


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of nonzero elements along ``axis`` (no derivative)."""
    return _count_nonzero_p.bind(a, axis=_axes(a, axis, "count_nonzero"), keepdims=keepdims)
