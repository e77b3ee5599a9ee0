r"""Joining and splitting arrays: concatenate, stack and their variants, split.

Both primitives are linear, and each is the other's transpose: the cotangent of a
concatenation is the split of the cotangent into the pieces' extents, and the cotangents of
the pieces of a split are concatenated back (pieces that overlap or leave gaps -- possible
with ``array_split`` at unsorted indices -- are padded with zeros and summed instead).
``stack``, ``hstack``, ``vstack``, ``dstack`` and ``column_stack`` are reshapes followed by
one concatenation.
"""

from __future__ import annotations

from ..ad.sparsity import MOVES
from ..ad.taylor import RULES as _TAYLOR
from ..core.primitive import Primitive
from ._util import OpError, as_int, norm_axis, shape
from .shapes import atleast_1d, atleast_2d, atleast_3d, expand_dims, reshape

__all__ = [
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
]


# ---------------------------------------------------------------- concatenate
def _concat_impl(xp, *xs, axis):
    return xp.concatenate(xs, axis=axis)


def _concat_tangent(ans, primals, tangents, params):
    from .creation import zeros_raw

    ts = [
        zeros_raw(shape(p), ans.dtype, p) if t is None else t
        for t, p in zip(tangents, primals, strict=False)
    ]
    return concatenate_p.bind(*ts, **params)


def _concat_vjp(ct, ans, args, params, wanted):
    axis = params["axis"]
    bounds = []
    start = 0
    for a in args:
        n = shape(a)[axis]
        bounds.append((start, start + n))
        start += n
    pieces = split_p.bind(ct, bounds=tuple(bounds), axis=axis)
    return [p if w else None for p, w in zip(pieces, wanted, strict=False)]


def _concat_batch(vals, batched, size, *, axis):
    from .shapes import broadcast_to

    vs = [
        v if b else broadcast_to(expand_dims(v, 0), (size,) + shape(v))
        for v, b in zip(vals, batched, strict=False)
    ]
    return concatenate_p.bind(*vs, axis=axis + 1)


concatenate_p = Primitive(
    "concatenate",
    _concat_impl,
    joint_tangent=_concat_tangent,
    joint_vjp=_concat_vjp,
    batch=_concat_batch,
    needs=(frozenset(),),  # the transpose reads the pieces' shapes only
    sparsity=MOVES,
    doc="y = [x_1, ..., x_k] joined along an axis; the transpose splits the cotangent.",
    taylor=_TAYLOR["concatenate"],
)


def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    r"""Join arrays along an existing axis (``axis=None`` flattens them first).

    Linear in every argument; :math:`\bar x_k` is the slice of :math:`\bar y` that came
    from :math:`x_k`.
    """
    from .shapes import ravel

    if out is not None:
        raise OpError("concatenate: out= is not supported (adgraph arrays are immutable)")
    arrays = [a if hasattr(a, "shape") else _asarray(a) for a in arrays]
    if not arrays:
        raise OpError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    shapes = [shape(a) for a in arrays]
    nd = len(shapes[0])
    if nd == 0:
        raise OpError("concatenate: zero-dimensional arrays cannot be concatenated")
    if any(len(s) != nd for s in shapes):
        raise OpError(
            f"concatenate: all inputs must have the same number of dimensions, got shapes {shapes}"
        )
    axis = norm_axis(axis, nd, "concatenate")
    for s in shapes[1:]:
        if any(p != q for i, (p, q) in enumerate(zip(s, shapes[0], strict=False)) if i != axis):
            raise OpError(
                f"concatenate: shapes {shapes} differ outside the concatenation axis {axis}"
            )
    if dtype is not None:
        from .misc import astype

        arrays = [astype(a, dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return concatenate_p.bind(*arrays, axis=axis)


def _asarray(a):
    from .creation import asarray

    return asarray(a)


def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    r"""Join arrays of equal shape along a new axis.

    Linear in every argument; :math:`\bar x_k` is the ``k``-th slice of :math:`\bar y`
    along the new axis.
    """
    if out is not None:
        raise OpError("stack: out= is not supported (adgraph arrays are immutable)")
    arrays = [a if hasattr(a, "shape") else _asarray(a) for a in arrays]
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


def _as_list(tup, op):
    if hasattr(tup, "shape") and not isinstance(tup, (list, tuple)):
        # One array is the sequence of its slices along the first axis, as in NumPy.
        s = shape(tup)
        if not s:
            raise OpError(f"{op}: a 0-d array is not a sequence of arrays; pass a list")
        from .indexing import getitem

        return [getitem(tup, i) for i in range(s[0])] or _empty(op)
    arrays = list(tup)
    if not arrays:
        raise OpError(f"{op}: need at least one array")
    return arrays


def _empty(op):
    raise OpError(f"{op}: need at least one array")


def _listify(x):
    return list(x) if isinstance(x, tuple) else [x]


def hstack(tup, *, dtype=None, casting="same_kind"):
    r"""Stack arrays horizontally: along axis 0 for 1-D inputs, axis 1 otherwise.

    Linear; each input's cotangent is its slice of :math:`\bar y`.
    """
    arrays = _listify(atleast_1d(*_as_list(tup, "hstack")))
    axis = 0 if len(shape(arrays[0])) == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    r"""Stack arrays vertically (along axis 0) after making them at least 2-D.

    Linear; each input's cotangent is its slice of :math:`\bar y`, reshaped back.
    """
    arrays = _listify(atleast_2d(*_as_list(tup, "vstack")))
    return concatenate(arrays, axis=0, dtype=dtype)


def dstack(tup):
    r"""Stack arrays depth-wise (along axis 2) after making them at least 3-D.

    Linear; each input's cotangent is its slice of :math:`\bar y`, reshaped back.
    """
    arrays = _listify(atleast_3d(*_as_list(tup, "dstack")))
    return concatenate(arrays, axis=2)


def column_stack(tup):
    r"""Stack 1-D arrays as columns of a 2-D array (2-D inputs are joined as they are).

    Linear; each input's cotangent is its columns of :math:`\bar y`.
    """
    arrays = []
    for a in _as_list(tup, "column_stack"):
        if not hasattr(a, "shape"):
            a = _asarray(a)
        s = shape(a)
        arrays.append(reshape(a, (-1, 1)) if len(s) < 2 else a)
    return concatenate(arrays, axis=1)


# ---------------------------------------------------------------- split
def _split_impl(xp, x, *, bounds, axis):
    pre = (slice(None),) * axis
    return tuple(x[pre + (slice(a, b),)] for a, b in bounds)


def _split_tangent(t, ans, x, *, bounds, axis):
    return split_p.bind(t, bounds=bounds, axis=axis)


def _is_partition(bounds, n):
    pos = 0
    for a, b in bounds:
        if a != pos:
            return False
        pos = b
    return pos == n


def _split_vjp(cts, ans, x, *, bounds, axis):
    xs = shape(x)
    n = xs[axis]
    cts = list(cts)
    if _is_partition(bounds, n):
        if len(cts) == 1:
            return cts[0]
        return concatenate_p.bind(*cts, axis=axis)
    from .elementwise import add
    from .shapes import zero_pad_p

    total = None
    for (a, b), c in zip(bounds, cts, strict=False):
        if b <= a:
            continue
        widths = tuple((a, n - b) if i == axis else (0, 0) for i in range(len(xs)))
        g = zero_pad_p.bind(c, widths=widths)
        total = g if total is None else add(total, g)
    return total


split_p = Primitive(
    "split",
    _split_impl,
    tangent=(_split_tangent,),
    vjp=(_split_vjp,),
    batch=lambda vals, batched, size, *, bounds, axis: split_p.bind(
        vals[0], bounds=bounds, axis=axis + 1
    ),
    multiple_results=True,
    sparsity=MOVES,
    doc=r"""(y_1, ..., y_k) = consecutive pieces of x along an axis (static bounds).
    Linear; the transpose concatenates the cotangents of the pieces.""",
    taylor=_TAYLOR["split"],
)


def _split(ary, indices_or_sections, axis, equal, op):
    from ..core.trace import Tracer

    if not hasattr(ary, "shape"):
        ary = _asarray(ary)
    s = shape(ary)
    ax = norm_axis(axis, len(s), op)
    n = s[ax]
    if isinstance(indices_or_sections, Tracer):
        raise OpError(f"{op}: indices_or_sections must be concrete, not a traced value")
    if isinstance(indices_or_sections, (int, float)) or (
        hasattr(indices_or_sections, "ndim") and indices_or_sections.ndim == 0
    ):
        k = as_int(indices_or_sections, op, "the number of sections")
        if k <= 0:
            raise OpError(f"{op}: number of sections must be larger than 0, got {k}")
        if equal and n % k:
            raise OpError(
                f"{op}: array of length {n} along axis {ax} does not divide into {k} equal "
                "sections; use array_split for unequal ones"
            )
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = []
        pos = 0
        for m in sizes:
            bounds.append((pos, pos + m))
            pos += m
    else:
        points = [0] + [as_int(i, op, "each split index") for i in indices_or_sections] + [n]
        bounds = []
        for a, b in zip(points[:-1], points[1:], strict=False):
            start, stop, _ = slice(a, b).indices(n)
            bounds.append((start, max(start, stop)))
    if len(bounds) == 1 and bounds[0] == (0, n):
        return [ary]
    return list(split_p.bind(ary, bounds=tuple(bounds), axis=ax))


def split(ary, indices_or_sections, axis=0):
    r"""Split an array into equal sections (an integer) or at indices (a sequence).

    Returns a list of arrays. Linear; the cotangent of ``ary`` is the concatenation of the
    pieces' cotangents (zeros for pieces not used).
    """
    return _split(ary, indices_or_sections, axis, True, "split")


def array_split(ary, indices_or_sections, axis=0):
    r"""Split an array into sections of nearly equal length (the first ``n % k`` one
    longer) or at indices; unlike :func:`split`, sections need not divide the axis.

    Linear; the cotangent of ``ary`` gathers the pieces' cotangents back into place,
    summing where pieces overlap.
    """
    return _split(ary, indices_or_sections, axis, False, "array_split")
