"""Shape operations: reshape, broadcast_to, transpose and friends.

All are linear, so each is declared by its transpose alone: the tangent is the operation
applied to the tangent, the cotangent the transpose applied to the cotangent.
"""

from __future__ import annotations

from ..ad.rules import linear
from ._util import OpError, norm_axes, norm_axis, shape

__all__ = [
    "reshape",
    "broadcast_to",
    "transpose",
    "expand_dims",
    "squeeze",
    "sum_to_shape",
    "ravel",
    "swapaxes",
    "moveaxis",
]


# ---------------------------------------------------------------- reshape
def _reshape_t(ct, x, *, shape):
    return reshape_p.bind(ct, shape=tuple(x.shape))


def _reshape_batch(vals, batched, size, *, shape):
    return reshape_p.bind(vals[0], shape=(size,) + shape)


reshape_p = linear(
    "reshape",
    lambda xp, x, *, shape: xp.reshape(x, shape),
    _reshape_t,
    batch=_reshape_batch,
    doc="y = x with a new shape; the transpose reshapes back.",
)


def _resolve_shape(newshape, size, op="reshape"):
    if isinstance(newshape, int) or not hasattr(newshape, "__len__"):
        newshape = (newshape,)
    newshape = tuple(int(d) for d in newshape)
    if newshape.count(-1) > 1:
        raise OpError(f"{op}: can only specify one unknown dimension (-1), got {newshape}")
    if -1 in newshape:
        known = 1
        for d in newshape:
            if d != -1:
                known *= d
        if known == 0 or size % known:
            raise OpError(f"{op}: cannot reshape array of size {size} into shape {newshape}")
        newshape = tuple(size // known if d == -1 else d for d in newshape)
    n = 1
    for d in newshape:
        n *= d
    if n != size:
        raise OpError(f"{op}: cannot reshape array of size {size} into shape {newshape}")
    return newshape


def reshape(a, newshape=None, order="C", *, shape=None):
    r"""Give ``a`` a new shape without changing its data.

    Linear: :math:`\dot y = \operatorname{reshape}(\dot x)`, and the cotangent is reshaped
    back, :math:`\bar x = \operatorname{reshape}(\bar y, \operatorname{shape}(x))`.
    Only C order is supported.
    """
    if shape is not None:
        newshape = shape
    if order != "C":
        raise OpError("reshape: only order='C' is supported")
    s = _shape(a)
    size = 1
    for d in s:
        size *= d
    newshape = _resolve_shape(newshape, size)
    if newshape == s:
        return a
    return reshape_p.bind(a, shape=newshape)


_shape = shape  # the public functions below take a parameter named ``shape``


def ravel(a, order="C"):
    r"""The flattened array (C order): :math:`\bar x` is :math:`\bar y` reshaped back."""
    return reshape(a, (-1,), order)


# ---------------------------------------------------------------- broadcast_to / sum_to_shape
def _broadcast_t(ct, x, *, shape):
    return sum_to_shape(ct, tuple(getattr(x, "shape", ())))


def _broadcast_batch(vals, batched, size, *, shape):
    (x,) = vals
    xs = tuple(x.shape[1:])
    pad = len(shape) - len(xs)
    x = reshape_p.bind(x, shape=(size,) + (1,) * pad + xs) if pad else x
    return broadcast_to_p.bind(x, shape=(size,) + shape)


broadcast_to_p = linear(
    "broadcast_to",
    lambda xp, x, *, shape: xp.broadcast_to(x, shape),
    _broadcast_t,
    batch=_broadcast_batch,
    doc="y = x broadcast to a shape; the transpose sums over the broadcast axes.",
)


def broadcast_to(array, shape):
    r"""Broadcast ``array`` to ``shape``.

    Linear; the cotangent sums over the broadcast axes:
    :math:`\bar x = \sum_{\text{broadcast axes}} \bar y`.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if _shape(array) == shape:
        return array
    return broadcast_to_p.bind(array, shape=shape)


def _reduce_sum_t(ct, x, *, axis, keepdims):
    xs = tuple(x.shape)
    if not keepdims:
        kept = list(xs)
        for a in axis:
            kept[a] = 1
        ct = reshape(ct, tuple(kept))
    return broadcast_to(ct, xs)


def _reduce_sum_batch(vals, batched, size, *, axis, keepdims):
    return reduce_sum_p.bind(vals[0], axis=tuple(a + 1 for a in axis), keepdims=keepdims)


reduce_sum_p = linear(
    "reduce_sum",
    lambda xp, x, *, axis, keepdims: xp.sum(x, axis=axis, keepdims=keepdims),
    _reduce_sum_t,
    batch=_reduce_sum_batch,
    doc="y = sum of x over axes; the transpose broadcasts the cotangent back.",
)


def sum_to_shape(x, shape):
    """Sum ``x`` down to ``shape``: the reverse of broadcasting ``shape`` up to ``x.shape``."""
    xs = _shape(x)
    if xs == shape:
        return x
    lead = len(xs) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and xs[i + lead] != 1
    )
    if axes:
        x = reduce_sum_p.bind(x, axis=axes, keepdims=True)
    if _shape(x) != shape:
        x = reshape(x, shape)
    return x


# ---------------------------------------------------------------- transpose
def _inverse_perm(axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


def _transpose_t(ct, x, *, axes):
    return transpose_p.bind(ct, axes=_inverse_perm(axes))


def _transpose_batch(vals, batched, size, *, axes):
    return transpose_p.bind(vals[0], axes=(0,) + tuple(a + 1 for a in axes))


transpose_p = linear(
    "transpose",
    lambda xp, x, *, axes: xp.transpose(x, axes),
    _transpose_t,
    batch=_transpose_batch,
    doc="y = x with permuted axes; the transpose applies the inverse permutation.",
)


def transpose(a, axes=None):
    r"""Permute the axes of ``a`` (reverse them when ``axes`` is None).

    Linear; the cotangent is transposed by the inverse permutation.
    """
    nd = len(_shape(a))
    if axes is None:
        axes = tuple(range(nd))[::-1]
    else:
        axes = tuple(norm_axis(ax, nd, "transpose") for ax in axes)
        if sorted(axes) != list(range(nd)):
            raise OpError(f"transpose: axes {axes} are not a permutation of {nd} axes")
    if axes == tuple(range(nd)):
        return a
    return transpose_p.bind(a, axes=axes)


def swapaxes(a, axis1, axis2):
    """Interchange two axes of ``a`` (a transpose)."""
    nd = len(_shape(a))
    i, j = norm_axis(axis1, nd, "swapaxes"), norm_axis(axis2, nd, "swapaxes")
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """Move axes of ``a`` to new positions (a transpose)."""
    nd = len(_shape(a))
    src = [norm_axis(s, nd, "moveaxis") for s in (source if isinstance(source, (list, tuple)) else [source])]
    dst = [
        norm_axis(d, nd, "moveaxis")
        for d in (destination if isinstance(destination, (list, tuple)) else [destination])
    ]
    if len(src) != len(dst):
        raise OpError("moveaxis: source and destination must have the same number of axes")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


# ---------------------------------------------------------------- expand_dims / squeeze
def expand_dims(a, axis):
    """Insert unit axes at positions ``axis`` (a reshape)."""
    s = list(_shape(a))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = len(s) + len(axes)
    for ax in sorted(norm_axis(x, nd, "expand_dims") for x in axes):
        s.insert(ax, 1)
    return reshape(a, tuple(s))


def squeeze(a, axis=None):
    """Remove unit axes (all of them, or those named by ``axis``) -- a reshape."""
    s = _shape(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = norm_axes(axis, len(s), "squeeze")
        for ax in axes:
            if s[ax] != 1:
                raise OpError(f"squeeze: cannot select axis {ax} of size {s[ax]} (not 1)")
    return reshape(a, tuple(d for i, d in enumerate(s) if i not in axes))
