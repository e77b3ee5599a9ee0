r"""Gathers and their transposes: ``x[idx]`` (getitem) with the scatter-add that
transposes it, ``take`` and ``take_along_axis`` with the put-along-add that transposes the
latter; and the scatter machinery the ``x.at[idx]`` updates share (NumPy's ``ufunc.at``,
rounds of plain assignments elsewhere, the batching rule)."""

from __future__ import annotations

import math

import numpy as _np  # shape arithmetic only (broadcast_shapes); never computes on arrays

from ...ad.batched_jvp import Diagonal
from ...ad.batching import batch_loop
from ...ad.sparsity import Moves, add_at_rule
from ...ad.taylor import RULES as _TAYLOR
from ...core import basic, extend
from ...core.primitive import Primitive
from ...core.trace import Tracer
from ...core.xp import module_of
from .._util import OpError, norm_axis, shape
from .index import (
    _batch_index,
    _has_bool,
    _index_module,
    _inverse_perm,
    _result_shape,
    _xp_of,
    join_index,
    split_index,
)

# ------------------------------------------------------------------ backend extension points
# Array modules that cannot index as NumPy does (Dask: one integer array at a time, in its
# own layout; no gather by several index arrays) replace these steps for their own arrays
# through adgraph.core.extend. Each is looked up only when the array module is not NumPy.
GATHER = extend.declare(
    "indexing.gather",
    "(x, arrays, skel) -> x[idx] for an index with array parts (skel and arrays as "
    "split_index gives them)",
)
SCATTER = extend.declare(
    "indexing.scatter",
    "(x, arrays, values, skel, kind) -> a new array: x with values written at idx "
    "(kind 'set': the last write wins) or combined there by the ufunc named kind ('add', "
    "'multiply', 'minimum', 'maximum'; repeated positions accumulate, as ufunc.at)",
)
ZEROS_LIKE = extend.declare(
    "indexing.zeros_like",
    "(v, dtype) -> zeros with the shape and layout (e.g. chunks) of the array v",
)
ADD_AT = extend.declare(
    "indexing.add_at", "(out, idx, upd) -> None: out[idx] += upd in place, unbuffered"
)
TAKE_ALONG_AXIS = extend.declare(
    "indexing.take_along_axis",
    "(arr, idx, axis) -> take_along_axis(arr, idx, axis) of checked, possibly traced "
    "operands (default: a getitem with broadcast index arrays; Dask binds the "
    "take_along_axis primitive instead)",
)
GATHER_ALONG = extend.declare(
    "indexing.gather_along",
    "(arr, idx, axis) -> the take_along_axis primitive's result: concrete arrays with "
    "equal shapes off axis",
)
PUT_ALONG_ADD = extend.declare(
    "indexing.put_along_add",
    "(x, idx, u, axis) -> a new array: x with u added at idx along axis (repeats accumulate)",
)


# For backends that scatter by plain assignments, which keep one write per position
# (Dask's SCATTER): repeated positions are applied in rounds that each repeat none.
def _rounds(lin, kind):
    """Selections of the updates at concrete positions ``lin`` that are applied together:
    round k holds the k-th occurrence of every position, in order (None: all of them, no
    position repeats); ``set`` keeps only the last write of each position."""
    n = lin.size
    if n == 0:
        return []
    order = _np.argsort(lin, kind="stable")
    sl = lin[order]
    new = _np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = sl[1:] != sl[:-1]
    if new.all():
        return [None]
    if kind == "set":
        last = _np.empty(n, dtype=bool)
        last[-1] = True
        last[:-1] = new[1:]
        keep = _np.zeros(n, dtype=bool)
        keep[order] = last
        return [_np.flatnonzero(keep)]
    pos = _np.arange(n)
    start = _np.maximum.accumulate(_np.where(new, pos, 0))
    rank = _np.empty(n, dtype=_np.int64)
    rank[order] = pos - start
    return [_np.flatnonzero(rank == k) for k in range(int(rank.max()) + 1)]


# ------------------------------------------------------------------ getitem
def _getitem_impl(xp, x, *arrays, skel):
    if arrays and xp is not _np and (alt := extend.lookup(GATHER, xp)) is not None:
        return alt(x, arrays, skel)
    return x[join_index(skel, arrays)]


def _getitem_tangent(ans, primals, tangents, params):
    t = tangents[0]
    if t is None:
        return None
    return getitem_p.bind(t, *primals[1:], **params)


def _getitem_vjp(ct, ans, args, params, wanted):
    x = args[0]
    z = _zeros_like(x)
    return [scatter_add_p.bind(z, *args[1:], ct, **params)] + [None] * (len(args) - 1)


def _getitem_batch(vals, batched, size, *, skel):
    x, arrays = vals[0], vals[1:]
    if _has_bool(skel, arrays):
        return batch_loop(getitem_p, vals, batched, size, {"skel": skel})
    xshape = shape(x)[1:] if batched[0] else shape(x)
    new_skel, new_arrays, perm, _ = _batch_index(
        skel, arrays, batched[1:], size, xshape, batched[0]
    )
    out = getitem_p.bind(x, *new_arrays, skel=new_skel)
    if perm is not None:
        from ..shapes import transpose

        out = transpose(out, perm)
    return out


def _masked_by_traced_booleans(args, params) -> bool:
    """A boolean index computed by the program selects as many entries as it holds
    True values: the result's shape depends on those values."""
    return any(isinstance(a, Tracer) and _np.dtype(a.dtype) == bool for a in args[1:])


getitem_p = Primitive(
    "getitem",
    _getitem_impl,
    joint_tangent=_getitem_tangent,
    joint_vjp=_getitem_vjp,
    batch=_getitem_batch,
    sparsity=Moves(data=(0,)),  # moves entries of x; the other arguments are indices
    value_shape=_masked_by_traced_booleans,
    doc=r"""y = x[idx] (basic, advanced and boolean indexing). Linear in x; the transpose
    scatters the cotangent into zeros at idx, accumulating repeated indices. Batched by
    rewriting the index (the batch axis is indexed jointly with batched index arrays).""",
    taylor=_TAYLOR["getitem"],
)


def _basic_skel(params, nidx):
    """The index of a getitem/scatter with a batch axis in front, when the index is basic
    (slices, integers, None, Ellipsis; no index arrays): else None."""
    skel = params["skel"]
    if nidx or any(type(s) is bool for s in skel):
        return None
    return (slice(None),) + tuple(skel)


def _getitem_batched_tangent(n, ans, primals, tangents, params):
    # n tangents at once (see Primitive.batched_tangent): a basic index with the batch
    # axis kept in front.
    t = tangents[0]
    if t is None:
        return None
    if type(t) is Diagonal:
        return NotImplemented
    skel = _basic_skel(params, len(primals) - 1)
    if skel is None:
        return NotImplemented
    return getitem_p.bind(t, skel=skel)


getitem_p.batched_tangent = _getitem_batched_tangent


def getitem(x, idx):
    r"""``x[idx]`` with NumPy's basic, advanced and boolean indexing.

    Linear in ``x``: :math:`\dot y = \dot x[\mathrm{idx}]`, and the cotangent is added into
    zeros at the indexed positions, :math:`\bar x = \operatorname{scatter\_add}(0,
    \mathrm{idx}, \bar y)` -- an element selected twice receives both contributions.
    Index arrays carry no derivative; they may be traced by ``vmap`` (batched gathers).
    """
    skel, arrays = split_index(idx, x)
    return getitem_p.bind(x, *arrays, skel=skel)


# ------------------------------------------------------------------ scatters
def _ufunc_at(xp, name, out, idx, upd):
    """``xp.<name>.at(out, idx, upd)``: unbuffered, repeated indices accumulate.

    NumPy's ``ufunc.at`` is used as it is, and another module's for ``add`` when it has
    one (or its backend's ``indexing.add_at``, CuPy's ``cupyx.scatter_add``). Other array
    modules and ufuncs go by rounds (:func:`_apply_rounds`)."""
    uf = getattr(xp, name)
    if xp is _np or (name == "add" and hasattr(uf, "at")):
        uf.at(out, idx, upd)
        return
    if name == "add" and (alt := extend.lookup(ADD_AT, xp)) is not None:
        alt(out, idx, upd)
        return
    lin, vals = _flat_updates(xp, out, idx, upd)
    _apply_rounds(xp, uf, out.reshape(-1), lin, vals)


def _flat_updates(xp, out, idx, upd):
    """The flat positions written by ``out[idx] = upd`` and the values, one per write."""
    lin = xp.arange(out.size).reshape(out.shape)[idx]
    vals = xp.broadcast_to(xp.asarray(upd, dtype=out.dtype), lin.shape)
    return lin.reshape(-1), vals.reshape(-1)


def _apply_rounds(xp, op, flat, lin, vals):
    """``flat[lin[k]] = op(flat[lin[k]], vals[k])`` for every k, repeated positions
    included, with plain gathers and assignments: each round writes the updates that won
    their position's write (exactly one per position) and keeps the rest for the next
    round, so there are as many rounds as the most repeated position has updates."""
    board = xp.full(flat.shape, -1, dtype=lin.dtype)
    while lin.size:
        ids = xp.arange(lin.size)
        board[lin] = ids
        win = board[lin] == ids
        pos = lin[win]
        flat[pos] = op(flat[pos], vals[win])
        lose = ~win
        lin, vals = lin[lose], vals[lose]


def _scatter_impl(ufunc, basic):
    def impl(xp, x, *rest, skel):
        arrays, upd = rest[:-1], rest[-1]
        if xp is not _np and (alt := extend.lookup(SCATTER, xp)) is not None:
            return alt(x, arrays, upd, skel, ufunc)
        idx = join_index(skel, arrays)
        out = _fresh_copy(xp, x)
        if arrays:
            _ufunc_at(xp, ufunc, out, idx, upd)
            return out
        # Basic indices never repeat a position, and select a view: NumPy adds in place
        # where that computes what ``cur + u`` would (same dtype, no broadcast beyond it).
        cur = out[idx]
        if (
            ufunc == "add"
            and xp is _np
            and isinstance(cur, _np.ndarray)
            and cur.size >= _FRESH_MIN
            and _np.ndim(upd) <= cur.ndim
            and xp.result_type(cur, upd) == cur.dtype
        ):
            xp.add(cur, upd, out=cur)
        else:
            out[idx] = basic(xp, cur, upd)
        return out

    return impl


def _scatter_batch(prim):
    """Batch rule of a scatter ``prim(x, *arrays, v, skel)``."""

    def rule(vals, batched, size, *, skel):
        from ..shapes import broadcast_to, expand_dims, reshape, transpose

        x, arrays, v = vals[0], vals[1:-1], vals[-1]
        if _has_bool(skel, arrays):
            return batch_loop(prim, vals, batched, size, {"skel": skel})
        bx, barr, bv = batched[0], batched[1:-1], batched[-1]
        xshape = shape(x)[1:] if bx else shape(x)
        if not bx:
            x = broadcast_to(expand_dims(x, 0), (size,) + xshape)
        new_skel, new_arrays, perm, layout = _batch_index(skel, arrays, barr, size, xshape, True)
        res = _result_shape(layout)
        vs = shape(v)[1:] if bv else shape(v)
        if bv and len(vs) < len(res):
            v = reshape(v, (size,) + (1,) * (len(res) - len(vs)) + vs)
        if perm is not None:
            # Lay the values out as NumPy expects them for the rewritten index.
            v = transpose(broadcast_to(v, (size,) + res), _inverse_perm(perm))
        return prim.bind(x, *new_arrays, v, skel=new_skel)

    return rule


def _zeros_like(x):
    """Zeros of the shape and dtype of ``x`` in its array module (with its layout, e.g. a
    Dask array's chunks, when its backend gives one), for a scatter to start from."""
    v = x.primal_value() if isinstance(x, Tracer) else x
    xp = module_of(v)
    if xp is not _np and shape(v) == shape(x):
        alt = extend.lookup(ZEROS_LIKE, xp)
        if alt is not None:
            return alt(v, x.dtype)
    return _scatter_zeros(shape(x), x.dtype, x, xp)


#: Below this many entries a scatter starts from a plain zero array and copies it: the
#: broadcast zero and its checks cost a few microseconds, more than copying a small array.
_FRESH_MIN = 1 << 14


def _scatter_zeros(shape_, dtype, like, xp=None):
    """Zeros of ``shape_`` for a scatter to start from. NumPy: one zero broadcast to the
    shape (read-only, no memory), which the scatter turns into fresh zeros instead of
    copying (:func:`_fresh_copy`): the reverse rule of every gather and the tangents of
    its transposes write into such zeros, and copying a materialised zero array was most
    of their time."""
    if xp is None:
        xp = module_of(_primal(like))
    if xp is _np:
        if math.prod(shape_) < _FRESH_MIN:
            return xp.zeros(shape_, dtype=dtype)
        return xp.broadcast_to(xp.zeros((), dtype=dtype), shape_)
    from ..creation import zeros_raw

    return zeros_raw(shape_, dtype, like)


def _primal(v):
    return v.primal_value() if isinstance(v, Tracer) else v


def _fresh_copy(xp, x):
    """A writable copy of ``x`` for a scatter's result. A NumPy array that is one +0 (or
    integer 0) broadcast (what :func:`_scatter_zeros` gives) becomes ``zeros``: fresh
    memory the allocator hands out zeroed, not a copy that reads and writes every entry."""
    if (
        xp is _np
        and x.size >= _FRESH_MIN
        and x.dtype.kind in "fiub"
        and not any(x.strides)
        and (z := x[(0,) * x.ndim]) == 0
        and (x.dtype.kind != "f" or not xp.signbit(z))
    ):
        return xp.zeros(x.shape, dtype=x.dtype)
    return xp.array(x, copy=True)


def _scatter_add_tangent(ans, primals, tangents, params):
    tx, tu = tangents[0], tangents[-1]
    if tx is None and tu is None:
        return None
    idx = primals[1:-1]
    if tu is None:
        return tx
    if tx is None:
        tx = _zeros_like(primals[0])
    return scatter_add_p.bind(tx, *idx, tu, **params)


def _scatter_add_vjp(ct, ans, args, params, wanted):
    out = [ct if wanted[0] else None] + [None] * (len(args) - 2)
    out.append(getitem_p.bind(ct, *args[1:-1], **params) if wanted[-1] else None)
    return out


scatter_add_p = Primitive(
    "scatter_add",
    _scatter_impl("add", lambda xp, cur, u: cur + u),
    joint_tangent=_scatter_add_tangent,
    joint_vjp=_scatter_add_vjp,
    sparsity=add_at_rule(_getitem_impl),
    doc=r"""y = x with u added at idx (repeats accumulate). Linear in (x, u):
    :math:`\bar x = \bar y`, :math:`\bar u = \bar y[idx]`.""",
    taylor=_TAYLOR["scatter_add"],
)
scatter_add_p.batch = _scatter_batch(scatter_add_p)


def _scatter_add_batched_tangent(n, ans, primals, tangents, params):
    # n tangents at once (see Primitive.batched_tangent): linear in (x, u), a basic index
    # with the batch axis kept in front.
    tx, tu = tangents[0], tangents[-1]
    if type(tx) is Diagonal or type(tu) is Diagonal:
        return NotImplemented
    if tx is None and tu is None:
        return None
    if tu is None:
        return tx
    skel = _basic_skel(params, len(primals) - 2)
    if skel is None:
        return NotImplemented
    x = primals[0]
    xs = tuple(x.shape)
    if tx is None:
        full = (n,) + xs
        small = math.prod(full) < _FRESH_MIN
        tx = basic.zeros(full, x.dtype, x) if small else _scatter_zeros(full, x.dtype, x)
    # The values fill ``x[skel]``, of rank ``res`` (integers remove an axis, None adds
    # one): give them the unit axes broadcasting would add.
    res = len(xs)
    for s in skel:
        if s is None:
            res += 1
        elif isinstance(s, int):
            res -= 1
    us = tuple(tu.shape)
    if len(us) - 1 < res:
        tu = basic.reshape(tu, (n,) + (1,) * (res + 1 - len(us)) + us[1:])
    return scatter_add_p.bind(tx, tu, skel=skel)


scatter_add_p.batched_tangent = _scatter_add_batched_tangent


# ------------------------------------------------------------------ take
def _as_index_array(indices, like):
    if isinstance(indices, Tracer) or hasattr(indices, "dtype"):
        return indices
    arr = _index_module(like).asarray(indices)
    if arr.dtype.kind == "f" and arr.size == 0:
        arr = arr.astype(_np.intp)
    return arr


def _fix_mode(indices, n, mode, op):
    if mode in (None, "raise"):
        return indices
    if mode == "wrap":
        from ..elementwise import mod

        return mod(indices, n)
    if mode == "clip":
        from ..elementwise import clip

        return clip(indices, 0, n - 1)
    raise OpError(f"{op}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")


def take(a, indices, axis=None, out=None, mode=None):
    r"""Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when
    ``axis`` is None): ``a[(slice(None),) * axis + (indices,)]``.

    Linear in ``a``; the cotangent is scattered back and repeated indices accumulate:
    :math:`\bar a = \operatorname{scatter\_add}(0, \mathrm{indices}, \bar y)`.
    ``mode='wrap'`` and ``'clip'`` map out-of-range indices as NumPy does.
    """
    from ..shapes import ravel

    if out is not None:
        raise OpError("take: out= is not supported (adgraph arrays are immutable)")
    if axis is None:
        a = ravel(a)
        axis = 0
    nd = len(shape(a))
    axis = norm_axis(axis, nd, "take")
    idx = _as_index_array(indices, a)
    if getattr(idx, "dtype", None) is not None and idx.dtype.kind not in "iu":
        raise OpError(f"take: indices must be integers, got {idx.dtype}")
    idx = _fix_mode(idx, shape(a)[axis], mode, "take")
    return getitem(a, (slice(None),) * axis + (idx,))


def take_along_axis(arr, indices, axis=-1):
    r"""Pick values from ``arr`` by matching 1-d index slices along ``axis`` (the
    companion of :func:`argsort`): ``out[..., j, ...] = arr[..., indices[..., j, ...], ...]``.

    A gather with broadcast index arrays, so linear in ``arr``:
    :math:`\bar a = \operatorname{scatter\_add}(0, \mathrm{idx}, \bar y)`.
    ``axis=None`` works on the flattened array (``indices`` must then be 1-d).
    """
    from ..shapes import ravel

    if axis is None:
        arr = ravel(arr)
        axis = 0
    xs = shape(arr)
    idx = _as_index_array(indices, arr)
    ish = shape(idx)
    if len(ish) != len(xs):
        raise OpError(
            f"take_along_axis: indices and arr must have the same number of dimensions, "
            f"got shapes {ish} and {xs}"
        )
    if getattr(idx, "dtype", None) is not None and idx.dtype.kind not in "iu":
        raise OpError(f"take_along_axis: indices must be integers, got {idx.dtype}")
    nd = len(xs)
    axis = norm_axis(axis, nd, "take_along_axis")
    for d in range(nd):
        if d != axis and ish[d] != xs[d] and 1 not in (ish[d], xs[d]):
            raise OpError(
                f"take_along_axis: indices of shape {ish} do not match arr of shape {xs} "
                f"outside axis {axis} (axis {d}: {ish[d]} against {xs[d]}); they must "
                "broadcast there (equal, or one of them 1)"
            )
    for v in (arr, idx):
        xp = _xp_of(v)
        if xp is not _np and (alt := extend.lookup(TAKE_ALONG_AXIS, xp)) is not None:
            return alt(arr, idx, axis)
    xp = _index_module(arr)
    parts = []
    for d in range(nd):
        if d == axis:
            parts.append(idx)
        else:
            s = [1] * nd
            s[d] = xs[d]
            parts.append(xp.arange(xs[d]).reshape(s))
    return getitem(arr, tuple(parts))


def _along_index(xp, idx, axis):
    """The full index tuple that ``take_along_axis`` reads with ``idx`` along ``axis``."""
    nd = idx.ndim
    parts = []
    for d in range(nd):
        if d == axis:
            parts.append(idx)
        else:
            s = [1] * nd
            s[d] = idx.shape[d]
            parts.append(xp.arange(idx.shape[d]).reshape(s))
    return tuple(parts)


def _take_along_impl(xp, arr, idx, *, axis):
    if xp is not _np and (alt := extend.lookup(GATHER_ALONG, xp)) is not None:
        return alt(arr, idx, axis)
    return xp.take_along_axis(arr, idx, axis=axis)


def _put_along_impl(xp, x, idx, u, *, axis):
    if xp is not _np and (alt := extend.lookup(PUT_ALONG_ADD, xp)) is not None:
        return alt(x, idx, u, axis)
    out = _fresh_copy(xp, x)
    _ufunc_at(xp, "add", out, _along_index(xp, idx, axis), u)
    return out


def _along_batch(prim):
    """vmap rule of ``prim(*arrays, axis)``: every operand gets the batch axis."""

    def rule(vals, batched, size, *, axis):
        from ..shapes import broadcast_to, expand_dims

        vals = [
            v if b else broadcast_to(expand_dims(v, 0), (size,) + shape(v))
            for v, b in zip(vals, batched, strict=True)
        ]
        return prim.bind(*vals, axis=axis + 1)

    return rule


def _take_along_tangent(ans, primals, tangents, params):
    t = tangents[0]
    return None if t is None else take_along_p.bind(t, primals[1], **params)


def _take_along_vjp(ct, ans, args, params, wanted):
    arr, idx = args
    return [put_along_add_p.bind(_zeros_like(arr), idx, ct, **params), None]


take_along_p = Primitive(
    "take_along_axis",
    _take_along_impl,
    joint_tangent=_take_along_tangent,
    joint_vjp=_take_along_vjp,
    sparsity=Moves(data=(0,)),
    doc=r"""y = take_along_axis(a, idx, axis), idx with the shape of a outside axis (the
    form Dask arrays are gathered in, block by block). Linear in a; the transpose adds
    the cotangent back at idx along axis (repeats accumulate).""",
    taylor=_TAYLOR["take_along_axis"],
)
take_along_p.batch = _along_batch(take_along_p)


def _put_along_tangent(ans, primals, tangents, params):
    tx, tu = tangents[0], tangents[2]
    if tu is None:
        return tx
    if tx is None:
        tx = _zeros_like(primals[0])
    return put_along_add_p.bind(tx, primals[1], tu, **params)


def _put_along_vjp(ct, ans, args, params, wanted):
    u = take_along_p.bind(ct, args[1], **params) if wanted[2] else None
    return [ct if wanted[0] else None, None, u]


put_along_add_p = Primitive(
    "put_along_axis_add",
    _put_along_impl,
    joint_tangent=_put_along_tangent,
    joint_vjp=_put_along_vjp,
    sparsity=add_at_rule(_take_along_impl),
    doc=r"""y = x with u added at idx along axis (the transpose of take_along_axis;
    repeats accumulate). Linear in (x, u): \bar x = \bar y,
    \bar u = take_along_axis(\bar y, idx, axis).""",
    taylor=_TAYLOR["put_along_axis_add"],
)
put_along_add_p.batch = _along_batch(put_along_add_p)
