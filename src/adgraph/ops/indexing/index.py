r"""Index expressions: how ``x[idx]`` is split into a static skeleton and its array parts,
where NumPy puts the dimensions of the result, and how an index is rewritten for a batched
``x`` (the batching rules of the gathers and scatters)."""

from __future__ import annotations

import numpy as _np  # shape arithmetic only (broadcast_shapes); never computes on arrays

from ...core import extend
from ...core.trace import Tracer
from ...core.xp import module_of
from .._util import OpError, OpIndexError, shape


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
    from ..joining import stack

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
    from ..shapes import reshape

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
# own layout; no gather by several index arrays) replace steps for their own arrays
# through adgraph.core.extend. Each is looked up only when the array module is not NumPy;
# this module's says where index arrays are made, the others are declared beside the
# gathers, scatters and sorts that consult them.
INDEX_MODULE = extend.declare(
    "indexing.index_module",
    "(xp) -> the array module that index arrays for arrays of xp are made in (default: xp)",
)


def _index_module(like):
    """Where index arrays for ``like`` live: its own array module, unless its backend says
    otherwise (Dask indexes with concrete NumPy arrays best)."""
    xp = _xp_of(like)
    if xp is not _np and (alt := extend.lookup(INDEX_MODULE, xp)) is not None:
        return alt(xp)
    return xp
