r"""Shape operations: reshape, broadcast, transpose, flip, roll, pad, tile, repeat and friends.

Every operation here is linear in its array argument, so each primitive is declared by its
transpose alone (``ad.rules.linear``): the tangent is the operation applied to the tangent,
the cotangent the transpose applied to the cotangent. The transposes pair up:

==================  ==========================================
operation           transpose
==================  ==========================================
reshape             reshape back
broadcast_to        sum over the broadcast axes
reduce_sum          broadcast back
transpose           the inverse permutation
flip, roll          flip, roll by the opposite shift
static_slice        zero padding (``zero_pad``) and back
gather_axis         ``scatter_add_axis``: repeated indices accumulate
==================  ==========================================

``gather_axis`` takes elements along one axis at a *static* integer index (a parameter, not
an argument): per-element ``repeat`` and the ``edge``/``wrap``/``reflect``/``symmetric``
modes of ``pad`` are such gathers, and their transposes add every copy's cotangent back
into the element it came from. Public functions that are compositions of these (``tile``,
``rot90``, ``meshgrid``, ``atleast_2d``, ...) inherit every rule, batching included.

Static index arithmetic (which element goes where) is done with NumPy on Python integers;
values are always computed with the array module of the inputs.
"""

from __future__ import annotations

import operator as _operator

import numpy as _np  # static index arithmetic; values only on the plain-NumPy short paths

from ..ad.rules import linear
from ..ad.sparsity import MOVES, reduction_rule, sum_into
from ..core.primitive import PLAIN_TYPES as _NUMPY_VALUES
from ._util import OpError, OpTypeError, as_int, norm_axes, norm_axis
from ._util import shape as _shape

__all__ = [
    "reshape",
    "broadcast_to",
    "broadcast_arrays",
    "transpose",
    "expand_dims",
    "squeeze",
    "sum_to_shape",
    "ravel",
    "swapaxes",
    "moveaxis",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "tile",
    "repeat",
    "pad",
    "meshgrid",
]


def _size(s) -> int:
    n = 1
    for d in s:
        n *= d
    return n


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
    sparsity=MOVES,
    doc="y = x with a new shape (C order); the transpose reshapes back.",
)


def _resolve_shape(newshape, size, op="reshape"):
    if isinstance(newshape, int) or not hasattr(newshape, "__len__"):
        newshape = (newshape,)
    try:
        newshape = tuple(_operator.index(d) for d in newshape)
    except TypeError:
        raise OpTypeError(f"{op}: shape must be a tuple of integers, got {newshape!r}") from None
    if newshape.count(-1) > 1:
        raise OpError(f"{op}: can only specify one unknown dimension (-1), got {newshape}")
    if any(d < -1 for d in newshape):
        raise OpError(f"{op}: negative dimensions are not allowed, got {newshape}")
    if -1 in newshape:
        known = _size(d for d in newshape if d != -1)
        if known == 0 or size % known:
            raise OpError(f"{op}: cannot reshape array of size {size} into shape {newshape}")
        newshape = tuple(size // known if d == -1 else d for d in newshape)
    if _size(newshape) != size:
        raise OpError(f"{op}: cannot reshape array of size {size} into shape {newshape}")
    return newshape


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    r"""Give ``a`` a new shape without changing its data (NumPy's ``reshape``).

    Linear: :math:`\dot y = \operatorname{reshape}(\dot x)`, and the cotangent is reshaped
    back, :math:`\bar x = \operatorname{reshape}(\bar y, \operatorname{shape}(x))`.
    ``order='F'`` reads and writes in Fortran order (a reshape between two transposes).
    """
    if newshape is not None:
        if shape is not None:
            raise OpError("reshape: give the new shape once (shape= or newshape=), not both")
        shape = newshape
    if shape is None:
        raise OpError("reshape: missing the new shape")
    s = _shape(a)
    newshape = _resolve_shape(shape, _size(s))
    if order == "F":
        return transpose(reshape(transpose(a), newshape[::-1]))
    if order not in ("C", "A", "K"):
        raise OpError(f"reshape: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    if newshape == s:
        return a
    return reshape_p.bind(a, shape=newshape)


def ravel(a, order="C"):
    r"""The flattened array (C order, or Fortran order with ``order='F'``).

    Linear: :math:`\bar x` is :math:`\bar y` reshaped back to the shape of :math:`x`.
    """
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
    sparsity=MOVES,
    doc="y = x broadcast to a shape; the transpose sums over the broadcast axes.",
)


def _broadcast_shapes(shapes, op):
    """The shape NumPy broadcasting gives ``shapes``, or an error naming them."""
    n = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(n):
        d = 1
        for s in shapes:
            k = i - (n - len(s))
            if k < 0 or s[k] == 1:
                continue
            if d != 1 and s[k] != d:
                raise OpError(
                    f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be "
                    "broadcast together"
                )
            d = s[k]
        out.append(d)
    return tuple(out)


def broadcast_to(array, shape, subok=False):
    r"""Broadcast ``array`` to ``shape``.

    Linear; the cotangent sums over the broadcast axes:
    :math:`\bar x = \sum_{\text{broadcast axes}} \bar y`.
    """
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
    xs = _shape(array)
    if xs == shape:
        return array
    if len(xs) > len(shape) or any(
        a != b and a != 1 for a, b in zip(xs[::-1], shape[::-1], strict=False)
    ):
        raise OpError(f"broadcast_to: cannot broadcast an array of shape {xs} to shape {shape}")
    return broadcast_to_p.bind(array, shape=shape)


def broadcast_arrays(*args, subok=False):
    r"""Broadcast the arguments against each other (a tuple of arrays of one shape).

    Each output is :func:`broadcast_to` of its input, so each input's cotangent is its
    output's cotangent summed over the axes broadcasting added.
    """
    target = _broadcast_shapes([_shape(a) for a in args], "broadcast_arrays")
    return tuple(broadcast_to(a, target) for a in args)


def _reduce_sum_t(ct, x, *, axis, keepdims):
    xs = tuple(x.shape)
    if type(ct) in _NUMPY_VALUES:  # plain NumPy: the same reshape and broadcast, undispatched
        if not keepdims:
            kept = list(xs)
            for a in axis:
                kept[a] = 1
            ct = _np.reshape(ct, kept)
        return _np.broadcast_to(ct, xs)
    if not keepdims:
        kept = list(xs)
        for a in axis:
            kept[a] = 1
        ct = reshape(ct, tuple(kept))
    return broadcast_to(ct, xs)


def _reduce_sum_impl(xp, x, *, axis, keepdims):
    if type(x) is _np.ndarray:  # the method skips numpy.sum's dispatch layer: same sum
        return x.sum(axis=axis, keepdims=keepdims)
    return xp.sum(x, axis=axis, keepdims=keepdims)


def _reduce_sum_batch(vals, batched, size, *, axis, keepdims):
    return reduce_sum_p.bind(vals[0], axis=tuple(a + 1 for a in axis), keepdims=keepdims)


reduce_sum_p = linear(
    "reduce_sum",
    _reduce_sum_impl,
    _reduce_sum_t,
    batch=_reduce_sum_batch,
    sparsity=reduction_rule,
    doc="y = sum of x over axes; the transpose broadcasts the cotangent back.",
)


def sum_to_shape(x, shape):
    r"""Sum ``x`` down to ``shape``: the transpose of broadcasting ``shape`` up to
    ``x.shape``. Linear; its cotangent is broadcast back,
    :math:`\bar x = \operatorname{broadcast\_to}(\bar y, \operatorname{shape}(x))`."""
    xs = _shape(x)
    shape = tuple(shape)
    if xs == shape:
        return x
    lead = len(xs) - len(shape)
    if lead < 0 or any(d != 1 and d != xs[i + lead] for i, d in enumerate(shape)):
        raise OpError(f"sum_to_shape: shape {shape} does not broadcast to {xs}")
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
    sparsity=MOVES,
    doc="y = x with permuted axes; the transpose applies the inverse permutation.",
)


def transpose(a, axes=None):
    r"""Permute the axes of ``a`` (reverse them when ``axes`` is None).

    Linear; the cotangent is transposed by the inverse permutation,
    :math:`\bar x = \operatorname{transpose}(\bar y, \sigma^{-1})`.
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
    r"""Interchange two axes of ``a`` (a transpose, its own inverse:
    :math:`\bar x = \operatorname{swapaxes}(\bar y)`)."""
    nd = len(_shape(a))
    i, j = norm_axis(axis1, nd, "swapaxes"), norm_axis(axis2, nd, "swapaxes")
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def _axis_list(axis, nd, op):
    axes = [norm_axis(s, nd, op) for s in (axis if isinstance(axis, (list, tuple)) else [axis])]
    if len(set(axes)) != len(axes):
        raise OpError(f"{op}: repeated axis in {axis!r}")
    return axes


def moveaxis(a, source, destination):
    r"""Move axes of ``a`` to new positions (a transpose; the cotangent moves them back)."""
    nd = len(_shape(a))
    src = _axis_list(source, nd, "moveaxis")
    dst = _axis_list(destination, nd, "moveaxis")
    if len(src) != len(dst):
        raise OpError(
            f"moveaxis: source {source!r} and destination {destination!r} must name the same "
            "number of axes"
        )
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src, strict=False)):
        order.insert(d, s)
    return transpose(a, order)


# ---------------------------------------------------------------- expand_dims / squeeze
def expand_dims(a, axis):
    r"""Insert unit axes at positions ``axis`` (a reshape; the cotangent drops them)."""
    s = list(_shape(a))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = len(s) + len(axes)
    norm = sorted(norm_axis(x, nd, "expand_dims") for x in axes)
    if len(set(norm)) != len(norm):
        raise OpError(f"expand_dims: repeated axis in {axis!r}")
    for ax in norm:
        s.insert(ax, 1)
    return reshape(a, tuple(s))


def squeeze(a, axis=None):
    r"""Remove unit axes (all of them, or those named by ``axis``) -- a reshape, whose
    cotangent gets the unit axes back."""
    s = _shape(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = norm_axes(axis, len(s), "squeeze")
        for ax in axes:
            if s[ax] != 1:
                raise OpError(
                    f"squeeze: cannot select axis {ax} of size {s[ax]} (not 1) in shape {s}"
                )
    return reshape(a, tuple(d for i, d in enumerate(s) if i not in axes))


def _atleast(arys, n, op):
    out = []
    for a in arys:
        s = _shape(a)
        if len(s) >= n:
            out.append(a)
            continue
        if n == 1:
            new = (1,)
        elif n == 2:
            new = (1,) * (2 - len(s)) + s
        else:  # NumPy: () -> (1,1,1), (N,) -> (1,N,1), (M,N) -> (M,N,1)
            new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
        if not hasattr(a, "shape"):
            from .creation import asarray

            a = asarray(a)
        out.append(reshape(a, new))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    r"""View inputs as arrays of at least one dimension (reshapes; cotangents reshaped
    back). One input gives one array, several a tuple."""
    return _atleast(arys, 1, "atleast_1d")


def atleast_2d(*arys):
    r"""View inputs as arrays of at least two dimensions: ``(N,)`` becomes ``(1, N)``.
    Reshapes, so the cotangent is reshaped back."""
    return _atleast(arys, 2, "atleast_2d")


def atleast_3d(*arys):
    r"""View inputs as arrays of at least three dimensions: ``(N,)`` becomes ``(1, N, 1)``
    and ``(M, N)`` becomes ``(M, N, 1)``. Reshapes, so the cotangent is reshaped back."""
    return _atleast(arys, 3, "atleast_3d")


# ---------------------------------------------------------------- flip / roll
def _flip_t(ct, x, *, axis):
    return flip_p.bind(ct, axis=axis)


flip_p = linear(
    "flip",
    lambda xp, x, *, axis: xp.flip(x, axis=axis),
    _flip_t,
    batch=lambda vals, batched, size, *, axis: flip_p.bind(
        vals[0], axis=tuple(a + 1 for a in axis)
    ),
    sparsity=MOVES,
    doc="y = x reversed along axes; a permutation that is its own transpose.",
)


def flip(m, axis=None):
    r"""Reverse the order of elements along ``axis`` (all axes when None).

    A permutation that is its own inverse, so :math:`\bar x = \operatorname{flip}(\bar y)`.
    """
    axes = norm_axes(axis, len(_shape(m)), "flip")
    if not axes:
        return m
    return flip_p.bind(m, axis=axes)


def fliplr(m):
    r"""Reverse the columns (axis 1); :math:`\bar x = \operatorname{fliplr}(\bar y)`."""
    if len(_shape(m)) < 2:
        raise OpError(f"fliplr: the input must be at least 2-D, got shape {_shape(m)}")
    return flip(m, 1)


def flipud(m):
    r"""Reverse the rows (axis 0); :math:`\bar x = \operatorname{flipud}(\bar y)`."""
    if len(_shape(m)) < 1:
        raise OpError("flipud: the input must be at least 1-D, got a 0-d array")
    return flip(m, 0)


def _roll_t(ct, x, *, shift, axis):
    return roll_p.bind(ct, shift=tuple(-s for s in shift), axis=axis)


roll_p = linear(
    "roll",
    lambda xp, x, *, shift, axis: xp.roll(x, shift, axis=axis),
    _roll_t,
    batch=lambda vals, batched, size, *, shift, axis: roll_p.bind(
        vals[0], shift=shift, axis=tuple(a + 1 for a in axis)
    ),
    sparsity=MOVES,
    doc="y = x rolled cyclically along axes; the transpose rolls back by the opposite shift.",
)


def roll(a, shift, axis=None):
    r"""Roll elements cyclically along ``axis`` (over the flattened array when None).

    A permutation, so the cotangent is rolled back:
    :math:`\bar x = \operatorname{roll}(\bar y, -\text{shift})`. ``shift`` and ``axis`` may
    be tuples (broadcast against each other, as in NumPy).
    """
    s = _shape(a)
    if axis is None:
        out = roll(ravel(a), shift, 0)
        return reshape(out, s)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = tuple(shifts) * len(axes)
    if len(axes) == 1 and len(shifts) > 1:
        axes = tuple(axes) * len(shifts)
    if len(shifts) != len(axes):
        raise OpError(f"roll: shift {shift!r} and axis {axis!r} do not broadcast together")
    total = {}
    for sh, ax in zip(shifts, axes, strict=False):
        ax = norm_axis(ax, len(s), "roll")
        total[ax] = total.get(ax, 0) + as_int(sh, "roll", "shift")
    items = [(ax, sh % s[ax]) for ax, sh in sorted(total.items()) if s[ax] and sh % s[ax]]
    if not items:
        return a
    return roll_p.bind(a, shift=tuple(sh for _, sh in items), axis=tuple(ax for ax, _ in items))


def rot90(m, k=1, axes=(0, 1)):
    r"""Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis
    towards the second). A composition of flips and a transpose: the cotangent is rotated
    back, :math:`\bar x = \operatorname{rot90}(\bar y, -k)`."""
    axes = tuple(axes)
    nd = len(_shape(m))
    if len(axes) != 2:
        raise OpError(f"rot90: axes must name exactly two axes, got {axes!r}")
    if nd < 2:
        raise OpError(f"rot90: the input must be at least 2-D, got shape {_shape(m)}")
    a0, a1 = norm_axis(axes[0], nd, "rot90"), norm_axis(axes[1], nd, "rot90")
    if a0 == a1:
        raise OpError(f"rot90: axes must be different, got {axes!r}")
    k = as_int(k, "rot90", "k") % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a0, a1))
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


# ---------------------------------------------------------------- static slices and padding
def _slice_index(starts, stops):
    return tuple(slice(a, b) for a, b in zip(starts, stops, strict=False))


def _slice_t(ct, x, *, starts, stops):
    xs = tuple(x.shape)
    return zero_pad_p.bind(
        ct, widths=tuple((a, n - b) for a, b, n in zip(starts, stops, xs, strict=False))
    )


static_slice_p = linear(
    "static_slice",
    lambda xp, x, *, starts, stops: x[_slice_index(starts, stops)],
    _slice_t,
    batch=lambda vals, batched, size, *, starts, stops: static_slice_p.bind(
        vals[0], starts=(0,) + starts, stops=(size,) + stops
    ),
    sparsity=MOVES,
    doc="y = x[a_0:b_0, a_1:b_1, ...] (static bounds); the transpose pads with zeros.",
)


def _zero_pad_t(ct, x, *, widths):
    xs = tuple(x.shape)
    return static_slice_p.bind(
        ct,
        starts=tuple(lo for lo, _ in widths),
        stops=tuple(lo + n for (lo, _), n in zip(widths, xs, strict=False)),
    )


zero_pad_p = linear(
    "zero_pad",
    lambda xp, x, *, widths: xp.pad(x, widths),
    _zero_pad_t,
    batch=lambda vals, batched, size, *, widths: zero_pad_p.bind(
        vals[0], widths=((0, 0),) + widths
    ),
    sparsity=MOVES,
    doc="y = x surrounded by zeros (static widths); the transpose slices the middle out.",
)


def static_slice(x, starts, stops):
    """``x[starts[0]:stops[0], ...]`` with static bounds for every axis (linear)."""
    xs = _shape(x)
    if tuple(starts) == (0,) * len(xs) and tuple(stops) == xs:
        return x
    return static_slice_p.bind(x, starts=tuple(starts), stops=tuple(stops))


class StaticIndex:
    """An integer index along one axis that is a parameter of a primitive (never traced).

    Equality and hashing go by value, so two gathers with the same index compare equal.
    ``segments`` caches what the transpose (a scatter-add) needs to sum repeats quickly.
    """

    __slots__ = ("array", "_hash", "_segments")

    def __init__(self, index):
        a = _np.array(index, dtype=_np.intp).reshape(-1)
        a.setflags(write=False)
        self.array = a
        self._hash = None
        self._segments = None

    def __len__(self) -> int:
        return len(self.array)

    def __eq__(self, other) -> bool:
        return isinstance(other, StaticIndex) and _np.array_equal(self.array, other.array)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.array.tobytes())
        return self._hash

    def __repr__(self) -> str:
        a = self.array
        body = a.tolist() if len(a) <= 8 else f"{a[:4].tolist()[:-1]}...{a[-3:].tolist()}"
        return f"StaticIndex({body}, n={len(a)})"

    def segments(self, size):
        """(order or None, segment starts, distinct indices, covers-all) for summing the
        entries that share an index: sort (stably), then reduce each run."""
        if self._segments is None:
            a = self.array
            order = _np.argsort(a, kind="stable")
            s = a[order]
            starts = _np.flatnonzero(_np.r_[True, s[1:] != s[:-1]]) if len(s) else s[:0]
            uniq = s[starts]
            identity = _np.array_equal(order, _np.arange(len(a)))
            covers = len(uniq) == size
            self._segments = (None if identity else order, starts, uniq, covers)
        return self._segments


def _gather_t(ct, x, *, index, axis):
    return scatter_add_axis_p.bind(ct, index=index, axis=axis, size=x.shape[axis])


gather_axis_p = linear(
    "gather_axis",
    lambda xp, x, *, index, axis: xp.take(x, xp.asarray(index.array), axis=axis),
    _gather_t,
    batch=lambda vals, batched, size, *, index, axis: gather_axis_p.bind(
        vals[0], index=index, axis=axis + 1
    ),
    sparsity=MOVES,
    doc=r"""y = take(x, idx, axis) for a static integer index. Linear; the transpose
    scatter-adds, :math:`\bar x_j = \sum_{k: idx_k = j} \bar y_k` (copies accumulate).""",
)


def _scatter_axis_impl(xp, v, *, index, axis, size):
    shape = list(v.shape)
    shape[axis] = size
    if xp.__name__ == "numpy":
        order, starts, uniq, covers = index.segments(size)
        if len(index) == 0:
            return xp.zeros(shape, dtype=v.dtype)
        if order is not None:
            v = xp.take(v, order, axis=axis)
        sums = xp.add.reduceat(v, starts, axis=axis)
        if covers:
            return sums
        out = xp.zeros(shape, dtype=v.dtype)
        out[(slice(None),) * axis + (uniq,)] = sums
        return out
    # Other array modules: a product with the 0/1 matrix of the index (no scatter needed).
    idx = xp.asarray(index.array)
    onehot = (xp.arange(size)[:, None] == idx[None, :]).astype(v.dtype)
    out = xp.tensordot(v, onehot, axes=([axis], [1]))
    return xp.moveaxis(out, -1, axis)


def _scatter_t(ct, v, *, index, axis, size):
    return gather_axis_p.bind(ct, index=index, axis=axis)


def _scatter_axis_sparsity(pats, ans, v, *, index, axis, size):
    # Entry k of v along the axis is added into entry index[k] of the result.
    out = _np.arange(ans.size).reshape(ans.shape)
    return sum_into(pats[0], _np.take(out, _np.asarray(index.array), axis=axis), ans.size)


scatter_add_axis_p = linear(
    "scatter_add_axis",
    _scatter_axis_impl,
    _scatter_t,
    batch=lambda vals, batched, size_, *, index, axis, size: scatter_add_axis_p.bind(
        vals[0], index=index, axis=axis + 1, size=size
    ),
    sparsity=_scatter_axis_sparsity,
    doc=r"""y_j = sum of v_k over k with idx_k = j, along one axis (static index): the
    transpose of ``gather_axis``, whose transpose it is in turn.""",
)


def gather_axis(x, index, axis):
    """``take(x, index, axis)`` for a static integer index (linear; see ``gather_axis_p``)."""
    if not isinstance(index, StaticIndex):
        index = StaticIndex(index)
    return gather_axis_p.bind(x, index=index, axis=axis)


def _pad_widths(pad_width, nd):
    try:
        w = _np.asarray(pad_width)
        if w.dtype.kind not in "iu":
            if w.dtype.kind == "f" and _np.all(w == _np.round(w)):
                w = w.astype(_np.intp)
            else:
                raise TypeError
        w = _np.broadcast_to(w, (nd, 2))
    except (TypeError, ValueError):
        raise OpError(
            f"pad: pad_width {pad_width!r} must be an int, a (before, after) pair, or one "
            f"pair per axis ({nd} axes)"
        ) from None
    if (w < 0).any():
        raise OpError(f"pad: pad_width must not be negative, got {pad_width!r}")
    return tuple((int(a), int(b)) for a, b in w)


_PAD_MODES = (
    "constant", "edge", "wrap", "reflect", "symmetric", "linear_ramp", "maximum", "minimum",
    "mean", "median", "empty",
)  # fmt: skip
_PAD_STATS = ("maximum", "minimum", "mean", "median")


def pad(array, pad_width, mode="constant", **kwargs):
    r"""Pad an array (NumPy's ``pad``) in any of NumPy's named modes: ``constant``,
    ``edge``, ``wrap``, ``reflect``, ``symmetric`` (``reflect_type`` even or odd),
    ``linear_ramp``, ``maximum``, ``minimum``, ``mean``, ``median`` and ``empty`` (zeros).

    ``constant`` (with ``constant_values``, a scalar or per-axis (before, after) pairs) is
    zero padding plus the constant: :math:`\bar x` is the middle of :math:`\bar y`, and a
    traced ``constant_values`` receives the sum of :math:`\bar y` over the region it fills.
    The other modes copy elements of ``x`` into the border: along each axis
    :math:`y = x[\pi]` for a static index map :math:`\pi`, so the cotangent of each element
    accumulates the cotangents of all its copies, :math:`\bar x_j = \sum_{k: \pi(k)=j}
    \bar y_k`. ``reflect_type='odd'`` borders are static linear combinations
    (:math:`2 x_{edge} - x_{mirror}`); ``linear_ramp`` is linear in ``x`` and in
    ``end_values`` (which may be traced); the statistics modes differentiate as the
    reductions do (:func:`max`'s ties share the derivative, :func:`median`). A callable
    ``mode`` is not supported.
    """
    if callable(mode) or mode not in _PAD_MODES:
        raise OpError(f"pad: mode {mode!r} is not supported; use one of {_PAD_MODES}")
    s = _shape(array)
    if not hasattr(array, "shape"):
        from .creation import asarray

        array = asarray(array)
    widths = _pad_widths(pad_width, len(s))
    allowed = {"constant": {"constant_values"}, "linear_ramp": {"end_values"}}.get(
        mode,
        {"reflect_type"}
        if mode in ("reflect", "symmetric")
        else {"stat_length"}
        if mode in _PAD_STATS
        else set(),
    )
    extra = set(kwargs) - allowed
    if extra:
        raise OpError(f"pad: unsupported keyword(s) {sorted(extra)} for mode {mode!r}")
    if not any(lo or hi for lo, hi in widths):
        return array
    if mode == "constant":
        return _pad_constant(array, widths, kwargs.get("constant_values", 0))
    if mode == "empty":  # NumPy leaves the border undefined; zeros are one such choice
        return _pad_constant(array, widths, 0)
    for ax, (lo, hi) in enumerate(widths):
        if (lo or hi) and s[ax] == 0:
            raise OpError(
                f"pad: cannot extend empty axis {ax} of shape {s} with mode {mode!r}; only "
                "modes 'constant' and 'empty' pad empty axes"
            )
    if mode in _PAD_STATS or mode == "linear_ramp":
        return _pad_by_axis(array, widths, mode, kwargs)
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise OpError(f"pad: reflect_type must be 'even' or 'odd', not {reflect_type!r}")
    if reflect_type == "odd":
        return _pad_odd(array, widths, mode)
    out = array
    for ax, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        if s[ax] == 0:
            raise OpError(
                f"pad: cannot extend empty axis {ax} of shape {s} with mode {mode!r}; only "
                "mode 'constant' pads empty axes"
            )
        index = _np.pad(_np.arange(s[ax]), (lo, hi), mode=mode)
        out = gather_axis_p.bind(out, index=StaticIndex(index), axis=ax)
    return out


def _pad_pairs(values, nd, name):
    """NumPy's (before, after) per-axis pairs from a scalar, ``(v,)``, ``(b, a)``,
    ``((b, a),)`` or ``((b1, a1), ..., (bN, aN))``; the entries may be traced."""
    if isinstance(values, (list, tuple)):
        if values and all(isinstance(v, (list, tuple)) for v in values):
            pairs = [tuple(v) if len(v) == 2 else (v[0], v[0]) for v in values]
            if any(len(v) not in (1, 2) for v in values) or len(pairs) not in (1, nd):
                raise OpError(f"pad: {name} must be one (before, after) pair or one per axis")
            return pairs * nd if len(pairs) == 1 else pairs
        if len(values) == 1:
            return [(values[0], values[0])] * nd
        if len(values) == 2:
            return [(values[0], values[1])] * nd
        raise OpError(f"pad: {name} must be one (before, after) pair or one per axis")
    if _contains_tracer(values):
        if _shape(values) != ():
            raise OpError(f"pad: a traced {name} must be a scalar or nested (before, after) pairs")
        return [(values, values)] * nd
    b = _np.broadcast_to(_np.asarray(values), (nd, 2))
    return [(b[i, 0], b[i, 1]) for i in range(nd)]


def _pad_by_axis(x, widths, mode, kwargs):
    """``linear_ramp`` and the statistics modes, one axis after another as NumPy pads (the
    border of an axis sees the borders already added along the axes before it). The
    statistics are adgraph's reductions (ties in ``maximum``/``minimum`` share the
    derivative, as in :func:`max`); the ramps are :func:`linspace` from the end value to
    the edge, linear in both."""
    from . import reductions as _red
    from .creation import linspace
    from .elementwise import floor, rint
    from .joining import concatenate
    from .misc import astype

    nd = len(widths)
    integer = _dtype_of(x).kind in "biu"
    if mode == "linear_ramp":
        params = _pad_pairs(kwargs.get("end_values", 0), nd, "end_values")
    else:
        params = _pad_pairs(kwargs.get("stat_length", None), nd, "stat_length")
    out = x
    for ax, ((lo, hi), (p_lo, p_hi)) in enumerate(zip(widths, params)):
        if not (lo or hi):
            continue
        s = _shape(out)
        n = s[ax]
        parts = []
        for side, width, p in (("lo", lo, p_lo), ("hi", hi, p_hi)):
            if not width:
                parts.append(None)
                continue
            if mode == "linear_ramp":
                edge = _take_static(out, [0] if side == "lo" else [n - 1], ax)
                edge = squeeze(edge, axis=ax)
                r = linspace(p, edge, width, endpoint=False, axis=ax)
                if side == "hi":
                    r = flip(r, ax)
                if integer:  # NumPy's linspace floors for an integer dtype
                    r = astype(floor(r), _dtype_of(x))
            else:
                length = n if p is None else as_int(p, "pad", "stat_length")
                if length < 0:
                    raise OpError("pad: stat_length cannot be negative")
                if length == 0:
                    raise OpError("pad: stat_length of 0 yields no value for padding")
                length = min(length, n)
                rng = range(length) if side == "lo" else range(n - length, n)
                region = _take_static(out, list(rng), ax)
                fn = {"maximum": _red.max, "minimum": _red.min, "mean": _red.mean}.get(mode)
                if fn is None:
                    from .statistics import median

                    fn = median
                r = fn(region, axis=ax, keepdims=True)
                if integer and mode in ("mean", "median"):  # NumPy rounds, then casts
                    r = astype(rint(r), _dtype_of(x))
                r = broadcast_to(r, s[:ax] + (width,) + s[ax + 1 :])
            parts.append(r)
        pieces = [q for q in (parts[0], out, parts[1]) if q is not None]
        out = concatenate(pieces, axis=ax)
    return out


def _pad_odd(x, widths, mode):
    """``reflect``/``symmetric`` with ``reflect_type='odd'``: along each axis the border is
    a static linear combination of the axis's elements (``2 * edge - mirrored``, repeated
    for wide borders), found by padding the identity matrix with NumPy itself, so the
    derivative is exact and NumPy's rule for wide borders is kept."""
    from .misc import astype
    from .products import tensordot

    out = x
    dt = _dtype_of(x)
    for ax, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        n = _shape(out)[ax]
        m = _np.pad(_np.eye(n), ((lo, hi), (0, 0)), mode=mode, reflect_type="odd")
        if dt.kind in "fc":
            m = m.astype(dt)
        y = tensordot(m, out, axes=([1], [ax]))
        out = moveaxis(y, 0, ax)
        if dt.kind in "biu":
            out = astype(out, dt)
    return out


def _dtype_of(x):
    return _np.dtype(x.dtype)


def _take_static(x, index, ax):
    return gather_axis_p.bind(x, index=StaticIndex(_np.asarray(index, dtype=_np.intp)), axis=ax)


def _pad_constant(x, widths, values):
    from ..core.trace import Tracer

    if _contains_tracer(values):
        return _pad_traced_constant(x, widths, values)
    out = zero_pad_p.bind(x, widths=widths)
    vals = _np.asarray(values)
    if not vals.any():
        return out
    from ..core.xp import module_of
    from .elementwise import add

    base = x.primal_value() if isinstance(x, Tracer) else x
    xp = module_of(base)
    zeros = xp.zeros(_shape(x), dtype=x.dtype)
    const = xp.pad(zeros, widths, constant_values=values)
    return add(out, const)


def _contains_tracer(obj):
    from ..core.trace import Tracer

    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tracer):
            return True
        if isinstance(o, (list, tuple)):
            stack.extend(o)
    return False


def _pad_traced_constant(x, widths, values):
    """Constant padding with differentiable fill values: one concatenation per axis, in
    NumPy's order (a corner takes the value of the last axis that pads it)."""
    from .creation import asarray
    from .joining import concatenate
    from .misc import astype

    nd = len(widths)
    v = asarray(values)
    if v.dtype != x.dtype:
        v = astype(v, x.dtype)
    try:
        v = broadcast_to(v, (nd, 2))
    except OpError:
        raise OpError(
            f"pad: constant_values of shape {_shape(v)} must be a scalar or one (before, "
            f"after) pair per axis ({nd} axes)"
        ) from None
    out = x
    for ax, (lo, hi) in enumerate(widths):
        parts = []
        s = list(_shape(out))
        for k, w in ((0, lo), (1, hi)):
            if w:
                s[ax] = w
                parts.append((k, broadcast_to(v[ax, k], tuple(s))))
        if not parts:
            continue
        pieces = [p for k, p in parts if k == 0] + [out] + [p for k, p in parts if k == 1]
        out = concatenate(pieces, axis=ax)
    return out


# ---------------------------------------------------------------- tile / repeat
def tile(A, reps):
    r"""Repeat ``A`` ``reps`` times along each axis (NumPy's ``tile``).

    A broadcast between two reshapes, so the cotangent of each element is the sum of the
    cotangents of its copies: :math:`\bar x = \sum_{\text{tiles}} \bar y_{\text{tile}}`.
    """
    reps = (
        (as_int(reps, "tile", "reps"),)
        if isinstance(reps, int) or _np.ndim(reps) == 0
        else tuple(as_int(r, "tile", "reps") for r in reps)
    )
    if any(r < 0 for r in reps):
        raise OpError(f"tile: reps must not be negative, got {reps}")
    if not hasattr(A, "shape"):
        from .creation import asarray

        A = asarray(A)
    s = _shape(A)
    d = max(len(s), len(reps))
    s = (1,) * (d - len(s)) + s
    reps = (1,) * (d - len(reps)) + reps
    if all(r == 1 for r in reps):
        return reshape(A, s)
    inter = []
    full = []
    for r, n in zip(reps, s, strict=False):
        inter += [1, n]
        full += [r, n]
    out = broadcast_to(reshape(A, tuple(inter)), tuple(full))
    return reshape(out, tuple(r * n for r, n in zip(reps, s, strict=False)))


def repeat(a, repeats, axis=None):
    r"""Repeat each element of ``a`` (NumPy's ``repeat``; over the flattened array when
    ``axis`` is None). ``repeats`` is an integer or one integer per element.

    Linear: :math:`y = x[\pi]` along the axis for the static index
    :math:`\pi = (0, \ldots, 0, 1, \ldots)`, so the cotangent sums each element's copies,
    :math:`\bar x_j = \sum_{k: \pi(k) = j} \bar y_k`.
    """
    from ..core.trace import Tracer

    if isinstance(repeats, Tracer):
        raise OpError("repeat: repeats must be concrete integers, not a traced value")
    if not hasattr(a, "shape"):
        from .creation import asarray

        a = asarray(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    s = _shape(a)
    ax = norm_axis(axis, len(s), "repeat")
    r = _np.asarray(repeats)
    if r.dtype.kind not in "iu" or (r < 0).any():
        raise OpError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    n = s[ax]
    if r.ndim == 0 or r.size == 1:
        k = int(r.reshape(-1)[0])
        if k == 1:
            return a
        out = broadcast_to(expand_dims(a, ax + 1), s[: ax + 1] + (k,) + s[ax + 1 :])
        return reshape(out, s[:ax] + (n * k,) + s[ax + 1 :])
    if r.ndim != 1 or r.size != n:
        raise OpError(
            f"repeat: repeats of shape {r.shape} do not match axis {ax} of length {n} "
            f"(array shape {s})"
        )
    index = _np.repeat(_np.arange(n), r)
    return gather_axis_p.bind(a, index=StaticIndex(index), axis=ax)


# ---------------------------------------------------------------- meshgrid
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    r"""Coordinate matrices from coordinate vectors (NumPy's ``meshgrid``).

    Output ``k`` is input ``k`` reshaped along its own axis and broadcast over the others,
    so :math:`\bar x_k` is the cotangent of output ``k`` summed over the other axes.
    ``indexing='xy'`` (default) swaps the first two axes, as in NumPy.
    """
    if indexing not in ("xy", "ij"):
        raise OpError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    n = len(xi)
    vecs = [ravel(x) if hasattr(x, "shape") else ravel(_asarray(x)) for x in xi]
    lens = [_shape(v)[0] for v in vecs]
    pos = list(range(n))
    if indexing == "xy" and n >= 2:
        pos[0], pos[1] = 1, 0
    full = [0] * n
    for k in range(n):
        full[pos[k]] = lens[k]
    out = []
    for k, v in enumerate(vecs):
        s = [1] * n
        s[pos[k]] = lens[k]
        v = reshape(v, tuple(s))
        out.append(v if sparse else broadcast_to(v, tuple(full)))
    return tuple(out)


def _asarray(x):
    from .creation import asarray

    return asarray(x)
