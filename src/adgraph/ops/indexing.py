r"""Indexing: ``x[idx]``, the functional updates ``x.at[idx]``, take, sort and friends.

An index is split into a static skeleton (slices, integers, None, Ellipsis, with
placeholders) and its array parts, which travel as positional arguments so that they can
themselves be batched by ``vmap``. A concrete boolean mask is turned into the integer
arrays of its nonzero positions when the index is split, as NumPy itself does, so every
rule below only ever sees integer index arrays (a *traced* mask -- one that varies along a
``vmap`` batch -- is batched by a loop).

``getitem`` is linear in ``x``; its transpose is the scatter-add, which adds the cotangent
into zeros at the indexed positions (repeated indices accumulate, as they must). The
functional updates are scatters:

=========================  ==================================  ===========================
``x.at[idx]...``           result                              repeated indices
=========================  ==================================  ===========================
``.set(v)``                ``x`` with ``v`` written at idx     the last write wins (NumPy)
``.add(v)``                ``v`` added at idx                  accumulate
``.multiply(v)``           ``x`` multiplied by ``v`` at idx    accumulate (product)
``.min(v)`` / ``.max(v)``  ``minimum(x[idx], v)`` written      accumulate (min / max)
=========================  ==================================  ===========================

Where NumPy puts the dimensions of an advanced index matters to the batching rules: when
the advanced indices (integer arrays, and integers among them) are *adjacent* in the index
tuple, their broadcast dimensions replace them in place; when a slice, None or Ellipsis
separates them, NumPy moves the broadcast dimensions to the front. :func:`_index_layout`
reproduces that rule, and the batching rules transpose the result accordingly.
"""

from __future__ import annotations

import numpy as _np  # shape arithmetic only (broadcast_shapes); never computes on arrays

from ..ad.batched_jvp import Diagonal
from ..ad.batching import batch_loop
from ..core import basic, extend
from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, OpIndexError, norm_axis, shape

__all__ = [
    "getitem",
    "scatter_add",
    "nonzero",
    "at",
    "take",
    "take_along_axis",
    "sort",
    "argsort",
    "argwhere",
    "flatnonzero",
]


class _Slot:
    """Placeholder for the k-th array part of an index."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __repr__(self):
        return f"<index array {self.k}>"

    def __eq__(self, other):
        return isinstance(other, _Slot) and other.k == self.k

    def __hash__(self):
        return hash(("slot", self.k))


def _xp_of(x):
    """The array module of ``x`` (of its innermost value when traced)."""
    if isinstance(x, Tracer):
        x = x.primal_value()
    return module_of(x)


def split_index(idx, like=None):
    """(static skeleton tuple, list of array parts) for an indexing expression.

    Lists become arrays; concrete boolean masks become the integer arrays of their nonzero
    positions (one per mask dimension, as NumPy reads them); 0-d integer arrays become
    Python integers. With ``like`` (the array indexed), NumPy index arrays are moved to its
    array module (a CuPy array indexed by a NumPy mask or list); for a Dask array they stay
    NumPy arrays, which Dask indexes with best.
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    xp = _np if like is None else _index_module(like)
    skel = []
    arrays = []
    for pos, i in enumerate(idx):
        if isinstance(i, (list, tuple)):
            i = _np.asarray(i) if not any(isinstance(e, Tracer) for e in i) else _stack_index(i)
            if i.dtype.kind == "f" and i.size == 0:
                i = i.astype(_np.intp)
        if isinstance(i, Tracer) or (hasattr(i, "dtype") and hasattr(i, "ndim")):
            kind = i.dtype.kind
            if kind not in "iub":
                raise OpIndexError(
                    f"indexing: arrays used as indices must be integer or bool, got {i.dtype}; "
                    "convert them with .astype(int)"
                )
            if not isinstance(i, Tracer):
                if i.ndim == 0 and kind in "iu":
                    skel.append(int(i))
                    continue
                if xp is not _np and isinstance(i, _np.ndarray):
                    i = xp.asarray(i)
                if kind == "b" and i.ndim > 0:
                    if like is not None:
                        _check_mask(idx, pos, tuple(i.shape), shape(like))
                    for part in module_of(i).nonzero(i):
                        skel.append(_Slot(len(arrays)))
                        arrays.append(part)
                    continue
            skel.append(_Slot(len(arrays)))
            arrays.append(i)
        elif isinstance(i, float):
            raise OpIndexError(
                f"indexing: float index {i!r}; indices must be integers, slices or arrays"
            )
        else:
            skel.append(i)
    return tuple(skel), arrays


def _index_width(i):
    """How many axes of the indexed array an index entry reads (None for Ellipsis)."""
    if i is None or isinstance(i, bool):
        return 0
    if i is Ellipsis:
        return None
    if isinstance(i, (list, tuple)) and not any(isinstance(e, Tracer) for e in i):
        i = _np.asarray(i)
    dt = getattr(i, "dtype", None)
    if dt is not None and dt.kind == "b":
        return len(shape(i))
    return 1


def _check_mask(idx, pos, mshape, xshape):
    """A boolean mask must have the shape of the axes it selects (NumPy's IndexError),
    since turning it into positions would otherwise read a wrong-sized mask silently."""
    widths = [_index_width(i) for i in idx]
    fixed = sum(w for w in widths if w is not None)
    n_ell = max(len(xshape) - fixed, 0)
    start = sum(n_ell if w is None else w for w in widths[:pos])
    target = tuple(xshape[start : start + len(mshape)])
    if target != mshape:
        raise OpIndexError(
            f"indexing: a boolean mask of shape {mshape} does not match the axes it selects "
            f"(axes {start}..{start + len(mshape) - 1} of an array of shape {tuple(xshape)}, "
            f"sizes {target}); give the mask the shape of those axes"
        )


def _stack_index(items):
    from .joining import stack

    return stack(items)


def join_index(skel, arrays):
    return tuple(arrays[s.k] if isinstance(s, _Slot) else s for s in skel)


# ------------------------------------------------------------------ index layout
def _is_int(s):
    return isinstance(s, int) and not isinstance(s, bool)


def _has_bool(skel, arrays):
    """True if the index has parts the layout rules below do not model (0-d or traced
    boolean masks); those are batched by a loop."""
    if any(isinstance(s, bool) for s in skel):
        return True
    return any(getattr(a, "dtype", None) is not None and a.dtype.kind == "b" for a in arrays)


def _index_layout(skel, arr_shapes, xshape):
    """Where NumPy puts the dimensions of ``x[idx]``.

    Returns ``(before, bcast, after, adjacent)``: the dimensions produced by the basic
    entries before the advanced block, the broadcast shape of the advanced indices, the
    basic dimensions after it, and whether the advanced entries are adjacent (then the
    result is ``before + bcast + after``; otherwise NumPy gives ``bcast + before + after``).
    """
    has_adv = any(isinstance(s, _Slot) for s in skel)
    consumed = sum(1 for s in skel if s is not None and s is not Ellipsis)
    n_ell = len(xshape) - consumed
    if n_ell < 0:
        raise OpError(
            f"indexing: too many indices for an array of {len(xshape)} dimensions "
            f"({consumed} were given)"
        )
    before, after, adv_pos = [], [], []
    dim = 0
    has_ellipsis = False
    for pos, s in enumerate(skel):
        if isinstance(s, _Slot) or (has_adv and _is_int(s)):
            adv_pos.append(pos)
            dim += 1
            continue
        target = after if adv_pos else before
        if s is None:
            target.append(1)
        elif s is Ellipsis:
            has_ellipsis = True
            target.extend(xshape[dim : dim + n_ell])
            dim += n_ell
        elif isinstance(s, slice):
            target.append(len(range(*s.indices(xshape[dim]))))
            dim += 1
        else:  # an integer in a basic index removes its dimension
            dim += 1
    if not has_ellipsis:
        (after if adv_pos else before).extend(xshape[dim:])
    adjacent = not adv_pos or adv_pos == list(range(adv_pos[0], adv_pos[-1] + 1))
    bcast = tuple(_np.broadcast_shapes(*arr_shapes)) if arr_shapes else ()
    return tuple(before), bcast, tuple(after), adjacent


def _result_shape(layout):
    before, bcast, after, adjacent = layout
    return before + bcast + after if adjacent else bcast + before + after


def _shift_slots(skel, by):
    return tuple(_Slot(s.k + by) if isinstance(s, _Slot) else s for s in skel)


def _batch_index(skel, arrays, batched, size, xshape, x_batched):
    """Rewrite an index for a batched ``x`` (batch axis first).

    Returns ``(skel, arrays, perm, layout)``: indexing the batched ``x`` with the new index
    gives the batched result after transposing by ``perm`` (None when already batch-first);
    ``layout`` is the logical (unbatched) layout of the original index.
    """
    from .shapes import reshape

    arr_shapes = [shape(a)[1:] if b else shape(a) for a, b in zip(arrays, batched, strict=True)]
    layout = _index_layout(skel, arr_shapes, xshape)
    before, bcast, after, adjacent = layout
    r = len(bcast)
    nb = len(before)
    nd = 1 + nb + r + len(after)
    has_adv = any(isinstance(s, _Slot) for s in skel)
    if not any(batched):
        # Only x is batched: a leading full slice keeps the batch axis in place, except
        # when NumPy moves the (separated) advanced dimensions in front of it.
        perm = None
        if has_adv and not adjacent:
            perm = (r,) + tuple(range(r)) + tuple(range(r + 1, nd))
        return (slice(None),) + skel, list(arrays), perm, layout
    new_arrays = []
    for a, b, s in zip(arrays, batched, arr_shapes, strict=True):
        if b and len(s) < r:
            a = reshape(a, (size,) + (1,) * (r - len(s)) + s)
        new_arrays.append(a)
    if x_batched:
        # Index the batch axis jointly with the batched index arrays: the broadcast
        # dimensions (batch first) then lead the result.
        ar = _xp_of(arrays[0]).arange(size).reshape((size,) + (1,) * r)
        new_skel = (_Slot(0),) + _shift_slots(skel, 1)
        new_arrays = [ar] + new_arrays
        perm = None
        if adjacent and nb:
            perm = (0,) + tuple(range(r + 1, r + 1 + nb)) + tuple(range(1, r + 1))
            perm += tuple(range(r + 1 + nb, nd))
        return new_skel, new_arrays, perm, layout
    perm = None
    if adjacent and nb:
        perm = (nb,) + tuple(range(nb)) + tuple(range(nb + 1, nd))
    return skel, new_arrays, perm, layout


def _inverse_perm(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


# ------------------------------------------------------------------ backend extension points
# Array modules that cannot index as NumPy does (Dask: one integer array at a time, in its
# own layout; no gather by several index arrays) replace these steps for their own arrays
# through adgraph.core.extend. Each is looked up only when the array module is not NumPy.
INDEX_MODULE = extend.declare(
    "indexing.index_module",
    "(xp) -> the array module that index arrays for arrays of xp are made in (default: xp)",
)
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
ARGSORT = extend.declare(
    "indexing.argsort", "(x, axis, kind) -> argsort along axis (None: of the flattened x)"
)
SORT = extend.declare("indexing.sort", "(x, axis, kind) -> x sorted along axis (None: flattened)")
ADD_AT = extend.declare(
    "indexing.add_at", "(out, idx, upd) -> None: out[idx] += upd in place, unbuffered"
)


def _index_module(like):
    """Where index arrays for ``like`` live: its own array module, unless its backend says
    otherwise (Dask indexes with concrete NumPy arrays best)."""
    xp = _xp_of(like)
    if xp is not _np and (alt := extend.lookup(INDEX_MODULE, xp)) is not None:
        return alt(xp)
    return xp


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
        from .shapes import transpose

        out = transpose(out, perm)
    return out


getitem_p = Primitive(
    "getitem",
    _getitem_impl,
    joint_tangent=_getitem_tangent,
    joint_vjp=_getitem_vjp,
    batch=_getitem_batch,
    doc=r"""y = x[idx] (basic, advanced and boolean indexing). Linear in x; the transpose
    scatters the cotangent into zeros at idx, accumulating repeated indices. Batched by
    rewriting the index (the batch axis is indexed jointly with batched index arrays).""",
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
        out = xp.array(x, copy=True)
        if arrays:
            _ufunc_at(xp, ufunc, out, idx, upd)
        else:  # basic indices never repeat a position
            out[idx] = basic(xp, out[idx], upd)
        return out

    return impl


def _scatter_batch(prim):
    """Batch rule of a scatter ``prim(x, *arrays, v, skel)``."""

    def rule(vals, batched, size, *, skel):
        from .shapes import broadcast_to, expand_dims, reshape, transpose

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
    Dask array's chunks, when its backend gives one)."""
    from .creation import zeros_raw

    v = x.primal_value() if isinstance(x, Tracer) else x
    xp = module_of(v)
    if xp is not _np and shape(v) == shape(x):
        alt = extend.lookup(ZEROS_LIKE, xp)
        if alt is not None:
            return alt(v, x.dtype)
    return zeros_raw(shape(x), x.dtype, x)


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
    doc=r"""y = x with u added at idx (repeats accumulate). Linear in (x, u):
    :math:`\bar x = \bar y`, :math:`\bar u = \bar y[idx]`.""",
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
        tx = basic.zeros((n,) + xs, x.dtype, x)
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


def scatter_add(x, idx, values):
    r"""``x`` with ``values`` added at ``idx`` (a new array; repeated indices accumulate).

    The same as ``x.at[idx].add(values)``. Linear in both: :math:`\bar x = \bar y`,
    :math:`\bar v = \bar y[\mathrm{idx}]` (summed down to the shape of ``values`` where
    they were broadcast).
    """
    return _IndexUpdateRef(x, idx)._bind(scatter_add_p, values, None, "scatter_add")


# --- set
def _set_impl(xp, x, *rest, skel):
    arrays, v = rest[:-1], rest[-1]
    if xp is not _np and (alt := extend.lookup(SCATTER, xp)) is not None:
        return alt(x, arrays, v, skel, "set")
    out = xp.array(x, copy=True)
    idx = join_index(skel, arrays)
    if not arrays or xp is _np:
        out[idx] = v  # NumPy: the last write to a repeated position wins
        return out
    # Elsewhere the order of colliding writes is unspecified: pick the last one
    # explicitly (the largest update number per position), as NumPy does.
    lin, vals = _flat_updates(xp, out, idx, v)
    ids = xp.arange(lin.size)
    last = xp.full(out.size, -1, dtype=ids.dtype)
    _apply_rounds(xp, xp.maximum, last, lin, ids)
    win = last[lin] == ids
    out.reshape(-1)[lin[win]] = vals[win]
    return out


def _winners(args, params, like_shape):
    """Boolean mask over the (broadcast) update: True for the updates whose write survives
    when indices repeat (computed by writing each update's position and reading back)."""
    from .elementwise import equal

    x, arrays = args[0], args[1:-1]
    xp = _xp_of(x)
    n = 1
    for d in like_shape:
        n *= d
    ids = xp.arange(n).reshape(like_shape)
    board = xp.full(shape(x), -1, dtype=ids.dtype)
    board = scatter_p.bind(board, *arrays, ids, **params)
    return equal(getitem_p.bind(board, *arrays, **params), ids)


def _set_tangent(ans, primals, tangents, params):
    tx, tv = tangents[0], tangents[-1]
    if tx is None and tv is None:
        return None
    arrays = primals[1:-1]
    if tx is None:
        tx = _zeros_like(primals[0])
    return scatter_p.bind(tx, *arrays, 0.0 if tv is None else tv, **params)


def _set_vjp(ct, ans, args, params, wanted):
    arrays = args[1:-1]
    out = [scatter_p.bind(ct, *arrays, 0.0, **params) if wanted[0] else None]
    out += [None] * len(arrays)
    if wanted[-1]:
        g = getitem_p.bind(ct, *arrays, **params)
        if arrays:
            from .elementwise import where

            g = where(_winners(args, params, shape(g)), g, 0.0)
        out.append(g)
    else:
        out.append(None)
    return out


scatter_p = Primitive(
    "scatter",
    _set_impl,
    joint_tangent=_set_tangent,
    joint_vjp=_set_vjp,
    doc=r"""y = x with v written at idx. Linear in (x, v): :math:`\bar x = \bar y` with
    zeros at idx, :math:`\bar v = \bar y[idx]` restricted to the writes that survive
    (with repeated indices the last write wins, as in NumPy).""",
)

scatter_p.batch = _scatter_batch(scatter_p)


# --- multiply
def _mul_factor(args, params, res_shape):
    r"""For each (broadcast) update :math:`v_k`, the product of the *other* updates that
    land on the same position: :math:`\partial(\prod_j v_j)/\partial v_k`. Exact also at
    zeros: where :math:`v_k = 0` it is the product of the nonzero others if :math:`v_k` is
    the only zero at its position, else 0."""
    from .elementwise import divide, equal, where
    from .misc import astype
    from .shapes import broadcast_to

    x, arrays, v = args[0], args[1:-1], args[-1]
    if not arrays:
        return 1.0
    from .creation import zeros_raw

    vb = broadcast_to(v, res_shape)
    ones = _xp_of(x).ones(shape(x), dtype=vb.dtype)
    zero = equal(vb, 0)
    safe = where(zero, 1.0, vb)
    prod_all = getitem_p.bind(scatter_mul_p.bind(ones, *arrays, vb, **params), *arrays, **params)
    nzeros = scatter_add_p.bind(
        zeros_raw(shape(x), _np.int64, x), *arrays, astype(zero, _np.int64), **params
    )
    nzeros = getitem_p.bind(nzeros, *arrays, **params)
    prod_nz = getitem_p.bind(scatter_mul_p.bind(ones, *arrays, safe, **params), *arrays, **params)
    return where(zero, where(equal(nzeros, 1), prod_nz, 0.0), divide(prod_all, safe))


def _mul_tangent(ans, primals, tangents, params):
    from .elementwise import multiply

    tx, tv = tangents[0], tangents[-1]
    x, arrays, v = primals[0], primals[1:-1], primals[-1]
    out = None
    if tx is not None:
        out = scatter_mul_p.bind(tx, *arrays, v, **params)
    if tv is not None:
        res = shape(getitem_p.bind(x, *arrays, **params))
        contrib = multiply(tv, _mul_factor(primals, params, res))
        added = scatter_add_p.bind(_zeros_like(ans), *arrays, contrib, **params)
        term = multiply(x, added)
        out = term if out is None else out + term
    return out


def _mul_vjp(ct, ans, args, params, wanted):
    from .elementwise import multiply

    x, arrays, v = args[0], args[1:-1], args[-1]
    out = [scatter_mul_p.bind(ct, *arrays, v, **params) if wanted[0] else None]
    out += [None] * len(arrays)
    if wanted[-1]:
        g = getitem_p.bind(multiply(ct, x), *arrays, **params)
        out.append(multiply(g, _mul_factor(args, params, shape(g))))
    else:
        out.append(None)
    return out


scatter_mul_p = Primitive(
    "scatter_mul",
    _scatter_impl("multiply", lambda xp, cur, u: cur * u),
    joint_tangent=_mul_tangent,
    joint_vjp=_mul_vjp,
    doc=r"""y = x multiplied by v at idx (repeats multiply). Linear in x,
    :math:`\bar x = \bar y \prod v`; :math:`\bar v_k = (\bar y x)[idx_k] \prod_{j \ne k}
    v_j` over the updates j landing on the same position (exact at zeros).""",
)
scatter_mul_p.batch = _scatter_batch(scatter_mul_p)


# --- min / max
def _extremum_parts(ans, args, params):
    """(mask over x, mask over the updates, count of tied winners per position)."""
    from .elementwise import add, equal, where
    from .misc import astype

    x, arrays, v = args[0], args[1:-1], args[-1]
    mx = equal(x, ans)
    mv = equal(v, getitem_p.bind(ans, *arrays, **params))
    dt = ans.dtype
    count = add(
        astype(mx, dt),
        scatter_add_p.bind(_zeros_like(ans), *arrays, astype(mv, dt), **params),
    )
    count = where(equal(count, 0), 1.0, count)
    return mx, mv, count


def _extremum_tangent(ans, primals, tangents, params):
    from .elementwise import add, divide, where

    tx, tv = tangents[0], tangents[-1]
    if tx is None and tv is None:
        return None
    arrays = primals[1:-1]
    mx, mv, count = _extremum_parts(ans, primals, params)
    num = None
    if tx is not None:
        num = where(mx, tx, 0.0)
    if tv is not None:
        sv = scatter_add_p.bind(_zeros_like(ans), *arrays, where(mv, tv, 0.0), **params)
        num = sv if num is None else add(num, sv)
    return divide(num, count)


def _extremum_vjp(ct, ans, args, params, wanted):
    from .elementwise import divide, where

    arrays = args[1:-1]
    mx, mv, count = _extremum_parts(ans, args, params)
    share = divide(ct, count)
    out = [where(mx, share, 0.0) if wanted[0] else None] + [None] * len(arrays)
    out.append(where(mv, getitem_p.bind(share, *arrays, **params), 0.0) if wanted[-1] else None)
    return out


scatter_min_p = Primitive(
    "scatter_min",
    _scatter_impl("minimum", lambda xp, cur, u: xp.minimum(cur, u)),
    joint_tangent=_extremum_tangent,
    joint_vjp=_extremum_vjp,
    doc=r"""y = x with minimum(x[idx], v) written at idx (repeats accumulate). The
    derivative at each position goes to the elements (of x and of v) equal to the result,
    split evenly between ties.""",
)
scatter_min_p.batch = _scatter_batch(scatter_min_p)
scatter_max_p = Primitive(
    "scatter_max",
    _scatter_impl("maximum", lambda xp, cur, u: xp.maximum(cur, u)),
    joint_tangent=_extremum_tangent,
    joint_vjp=_extremum_vjp,
    doc=r"""y = x with maximum(x[idx], v) written at idx (repeats accumulate). The
    derivative at each position goes to the elements (of x and of v) equal to the result,
    split evenly between ties.""",
)
scatter_max_p.batch = _scatter_batch(scatter_max_p)


class _IndexUpdateRef:
    r"""``x.at[idx]``: functional updates returning a new array, as in JAX.

    Every method returns a new array and leaves ``x`` alone. Index arrays carry no
    derivative; ``x`` and the values do:

    * ``set(v)``: :math:`\bar x = \bar y` with zeros at idx, :math:`\bar v = \bar y[idx]`.
      With a repeated index the last write wins, as in NumPy (also on CuPy, whose own
      assignment leaves the order of colliding writes unspecified), and only the
      surviving write receives a derivative.
    * ``add(v)``: repeated indices accumulate; :math:`\bar x = \bar y`,
      :math:`\bar v = \bar y[idx]`.
    * ``multiply(v)``: repeated indices multiply;
      :math:`\bar x = \bar y \prod_k v_k`, :math:`\bar v_k = (\bar y x)[idx_k]
      \prod_{j\ne k} v_j`.
    * ``min(v)`` / ``max(v)``: repeated indices accumulate; the derivative goes to the
      elements equal to the result, split evenly between ties (as for ``max``).
    * ``get()``: ``x[idx]``.

    Values broadcast to the shape of ``x[idx]``; their derivatives are summed back.
    """

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x = x
        self.idx = idx

    def _bind(self, prim, values, mode, op=".at[...]"):
        if mode not in (None, "promise_in_bounds", "raise"):
            raise OpError(
                f".at[...]: mode={mode!r} is not supported; out-of-bound indices raise "
                "IndexError as in NumPy (mode=None)"
            )
        skel, arrays = split_index(self.idx, self.x)
        try:
            return prim.bind(self.x, *arrays, values, skel=skel)
        except ValueError as e:
            if type(e) is not ValueError or "broadcast" not in str(e):
                raise
            raise OpError(
                f"{op}: values of shape {shape(values)} do not broadcast to the shape of "
                f"x[idx], {shape(getitem(self.x, self.idx))} (x has shape {shape(self.x)})"
            ) from None

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x[idx]`` (see :func:`getitem`)."""
        return getitem(self.x, self.idx)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        r"""``x`` with ``values`` written at ``idx`` (the last write wins for repeats)."""
        return self._bind(scatter_p, values, mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return self._bind(scatter_add_p, values, mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``values`` subtracted at ``idx`` (repeated indices accumulate)."""
        from .elementwise import negative

        return self._bind(scatter_add_p, negative(values), mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` multiplied by ``values`` at ``idx`` (repeated indices multiply)."""
        return self._bind(scatter_mul_p, values, mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` divided by ``values`` at ``idx`` (``multiply(1 / values)``)."""
        from .elementwise import reciprocal

        return self._bind(scatter_mul_p, reciprocal(values), mode)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``minimum(x[idx], values)`` at ``idx`` (repeats accumulate)."""
        return self._bind(scatter_min_p, values, mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``maximum(x[idx], values)`` at ``idx`` (repeats accumulate)."""
        return self._bind(scatter_max_p, values, mode)

    def __repr__(self):
        return f"_IndexUpdateRef({self.idx!r})"

    def __getattr__(self, name):
        raise AttributeError(
            f"x.at[idx] has no method {name!r}; use one of .set, .add, .subtract, .multiply, "
            ".divide, .min, .max or .get"
        )


class _IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.x, idx)

    def __getattr__(self, name):
        raise AttributeError(
            f"x.at has no attribute {name!r}; index it first: x.at[idx].set(v) (also .add, "
            ".subtract, .multiply, .divide, .min, .max, .get)"
        )


def at(x):
    r"""``at(x)[idx].set(v)`` -- the functional form of ``x[idx] = v``, as ``x.at`` of a
    traced array (also ``.add``, ``.subtract``, ``.multiply``, ``.divide``, ``.min``,
    ``.max``, ``.get``). Each returns a new array.

    Derivatives: for ``set``, :math:`\bar x` is :math:`\bar y` with zeros at idx and
    :math:`\bar v = \bar y[\mathrm{idx}]` (only the surviving write of a repeated index);
    ``add`` is linear; ``multiply`` scales by the product of the other factors; ``min`` and
    ``max`` send the derivative to the winning elements, split evenly between ties.
    """
    return _IndexUpdateHelper(x)


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
        from .elementwise import mod

        return mod(indices, n)
    if mode == "clip":
        from .elementwise import clip

        return clip(indices, 0, n - 1)
    raise OpError(f"{op}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")


def take(a, indices, axis=None, out=None, mode=None):
    r"""Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when
    ``axis`` is None): ``a[(slice(None),) * axis + (indices,)]``.

    Linear in ``a``; the cotangent is scattered back and repeated indices accumulate:
    :math:`\bar a = \operatorname{scatter\_add}(0, \mathrm{indices}, \bar y)`.
    ``mode='wrap'`` and ``'clip'`` map out-of-range indices as NumPy does.
    """
    from .shapes import ravel

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
    from .shapes import ravel

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
    out = xp.array(x, copy=True)
    _ufunc_at(xp, "add", out, _along_index(xp, idx, axis), u)
    return out


def _along_batch(prim):
    """vmap rule of ``prim(*arrays, axis)``: every operand gets the batch axis."""

    def rule(vals, batched, size, *, axis):
        from .shapes import broadcast_to, expand_dims

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
    doc=r"""y = take_along_axis(a, idx, axis), idx with the shape of a outside axis (the
    form Dask arrays are gathered in, block by block). Linear in a; the transpose adds
    the cotangent back at idx along axis (repeats accumulate).""",
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
    doc=r"""y = x with u added at idx along axis (the transpose of take_along_axis;
    repeats accumulate). Linear in (x, u): \bar x = \bar y,
    \bar u = take_along_axis(\bar y, idx, axis).""",
)
put_along_add_p.batch = _along_batch(put_along_add_p)


# ------------------------------------------------------------------ sort / argsort
def _argsort_batch(vals, batched, size, *, axis, kind):
    from .shapes import reshape

    x = vals[0]
    if axis is None:
        return argsort_p.bind(reshape(x, (size, -1)), axis=1, kind=kind)
    return argsort_p.bind(x, axis=axis + 1, kind=kind)


def _argsort_impl(xp, x, *, axis, kind):
    if xp is not _np and (alt := extend.lookup(ARGSORT, xp)) is not None:
        return alt(x, axis, kind)
    return xp.argsort(x, axis=axis, **({} if kind is None else {"kind": kind}))


argsort_p = Primitive(
    "argsort",
    _argsort_impl,
    nondiff=True,
    batch=_argsort_batch,
    doc="Indices that sort x along an axis (integers: no derivative).",
)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``a`` along ``axis`` (flattened when None); no derivative.

    ``stable=True`` (or ``kind='stable'``) keeps equal elements in their order.
    """
    if order is not None:
        raise OpError("argsort: order= (structured arrays) is not supported")
    kind = _sort_kind(kind, stable, "argsort")
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argsort")
    return argsort_p.bind(a, axis=ax, kind=kind)


def _sort_kind(kind, stable, op):
    # NumPy reads only the first letter: 'quicksort', 'mergesort', 'heapsort', 'stable'.
    if kind is not None and not (
        isinstance(kind, str) and kind[:1].lower() in ("q", "m", "h", "s")
    ):
        raise OpError(
            f"{op}: kind must be one of 'quicksort', 'mergesort', 'heapsort', 'stable' or "
            f"None, got {kind!r}"
        )
    return "stable" if stable else kind


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    r"""``a`` sorted along ``axis`` (flattened when None).

    The derivative permutes like the values: with :math:`p` the sorting permutation
    (a stable argsort), :math:`y = a[p]`, :math:`\dot y = \dot a[p]` and
    :math:`\bar a[p] = \bar y`. Equal elements keep their order, so ties are broken by
    position.
    """
    if order is not None:
        raise OpError("sort: order= (structured arrays) is not supported")
    kind = _sort_kind(kind, stable, "sort")
    if not isinstance(a, Tracer):
        xp = _xp_of(a)
        a = xp.asarray(a)
        if axis is not None:
            axis = norm_axis(axis, a.ndim, "sort")
        if xp is not _np and (alt := extend.lookup(SORT, xp)) is not None:
            return alt(a, axis, kind)
        return xp.sort(a, axis=axis, kind=kind)
    if axis is None:
        from .shapes import ravel

        a = ravel(a)
        axis = 0
    try:
        perm = argsort(a, axis=axis, kind="stable")
    except OpError as e:
        if not str(e).startswith("argsort:"):
            raise
        raise type(e)("sort:" + str(e)[len("argsort:") :]) from None
    return take_along_axis(a, perm, axis=axis)


# ------------------------------------------------------------------ nonzero and friends
def _nonzero_impl(xp, x):
    return tuple(xp.nonzero(x))


_nonzero_p = Primitive(
    "nonzero",
    _nonzero_impl,
    nondiff=True,
    multiple_results=True,
    doc="Indices of the nonzero elements, one integer array per axis (no derivative).",
)


def nonzero(a):
    """Indices of the nonzero elements, one integer array per axis (no derivative).

    Under ``vmap`` the count may differ between examples; the batch is then looped and
    must have equal counts to stack.
    """
    return _nonzero_p.bind(a)


_argwhere_p = Primitive(
    "argwhere",
    lambda xp, x: xp.argwhere(x),
    nondiff=True,
    doc="Indices of the nonzero elements as rows (no derivative).",
)
_flatnonzero_p = Primitive(
    "flatnonzero",
    lambda xp, x: xp.flatnonzero(x),
    nondiff=True,
    doc="Indices of the nonzero elements of the flattened array (no derivative).",
)


def argwhere(a):
    """Indices of the nonzero elements, one row per element: shape ``(N, a.ndim)``
    (integers: no derivative)."""
    return _argwhere_p.bind(a)


def flatnonzero(a):
    """Indices of the nonzero elements of ``ravel(a)`` (integers: no derivative)."""
    return _flatnonzero_p.bind(a)
