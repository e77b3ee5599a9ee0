r"""Joining arrays: concatenate and stack (linear in every argument).

The transpose of a concatenation slices the cotangent back into pieces.
"""

from __future__ import annotations

from ..core.primitive import Primitive
from ._util import OpError, norm_axis, shape
from .shapes import expand_dims

__all__ = ["concatenate", "stack"]


def _concat_impl(xp, *xs, axis):
    return xp.concatenate(xs, axis=axis)


def _concat_tangent(ans, primals, tangents, params):
    from .creation import zeros_raw

    ts = [
        zeros_raw(shape(p), ans.dtype, p) if t is None else t
        for t, p in zip(tangents, primals)
    ]
    return concatenate_p.bind(*ts, **params)


def _concat_vjp(ct, ans, args, params, wanted):
    from .indexing import getitem

    axis = params["axis"]
    out = []
    start = 0
    for a, w in zip(args, wanted):
        n = shape(a)[axis]
        if w:
            idx = (slice(None),) * axis + (slice(start, start + n),)
            out.append(getitem(ct, idx))
        else:
            out.append(None)
        start += n
    return out


def _concat_batch(vals, batched, size, *, axis):
    from .shapes import broadcast_to

    vs = [
        v if b else broadcast_to(expand_dims(v, 0), (size,) + shape(v))
        for v, b in zip(vals, batched)
    ]
    return concatenate_p.bind(*vs, axis=axis + 1)


concatenate_p = Primitive(
    "concatenate",
    _concat_impl,
    tangent=_concat_tangent,
    vjp=_concat_vjp,
    batch=_concat_batch,
    doc="y = [x_1, ..., x_k] joined along an axis; the transpose slices the cotangent.",
)


def concatenate(arrays, axis=0, out=None, dtype=None):
    r"""Join arrays along an existing axis (``axis=None`` flattens them first).

    Linear in every argument; :math:`\bar x_k` is the slice of :math:`\bar y` that came
    from :math:`x_k`.
    """
    from .shapes import ravel

    arrays = list(arrays)
    if not arrays:
        raise OpError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    nd = len(shape(arrays[0]))
    if nd == 0:
        raise OpError("concatenate: zero-dimensional arrays cannot be concatenated")
    for a in arrays[1:]:
        if len(shape(a)) != nd:
            raise OpError(
                f"concatenate: all inputs must have the same number of dimensions, got "
                f"shapes {[shape(x) for x in arrays]}"
            )
    axis = norm_axis(axis, nd, "concatenate")
    if dtype is not None:
        from .misc import astype

        arrays = [astype(a, dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return concatenate_p.bind(*arrays, axis=axis)


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays of equal shape along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise OpError("stack: need at least one array to stack")
    s0 = shape(arrays[0])
    for a in arrays[1:]:
        if shape(a) != s0:
            raise OpError(
                f"stack: all input arrays must have the same shape, got "
                f"{[shape(x) for x in arrays]}"
            )
    axis = norm_axis(axis, len(s0) + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype)
