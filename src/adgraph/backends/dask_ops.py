"""Dask formulations of the operations ``dask.array`` lacks, plugged into adgraph's ops.

Dask computes most NumPy functions chunk by chunk, but not those that need a whole axis or
several index arrays at once: gathers and scatters by advanced indices, sorting, the
determinant and solve of stacked matrices. The operations in :mod:`adgraph.ops` declare
extension points for those steps (:mod:`adgraph.core.extend`); this module registers the
Dask implementations (:func:`install`). It is imported and installed the first time an
operation meets a Dask array (:mod:`adgraph.backends` registers that as the loader of
``dask.array``), so importing adgraph never imports Dask.

Everything stays lazy: the implementations only add tasks to the graph. Where a whole axis
is needed -- the axis sorted, the two matrix axes -- NumPy's own function runs on each
block, provided that axis lies in one chunk; otherwise the error says how to rechunk.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dask.array as da  # only imported when Dask arrays are in use (see above)
import numpy as _np

from ..core import extend
from ..core.xp import module_of
from ..ops import fft as _fft
from ..ops import indexing as _ix
from ..ops import linalg as _la
from ..ops._util import OpError, OpIndexError, shape

__all__ = ["install", "is_dask", "require_single_chunk", "map_stacks"]

DASK = "dask.array"

# extension point -> this module's implementation, registered by install()
_IMPLEMENTATIONS: dict[str, Callable] = {}


def _implements(point: str):
    def deco(f):
        _IMPLEMENTATIONS[point] = f
        return f

    return deco


def install() -> None:
    """Register the Dask implementations of the operations' extension points (what the
    loader that :mod:`adgraph.backends` registers for ``dask.array`` runs)."""
    for point, f in _IMPLEMENTATIONS.items():
        extend.register(point, DASK, f)


def is_dask(xp: Any) -> bool:
    """True when ``xp`` is ``dask.array``."""
    return getattr(xp, "__name__", "") == DASK


def require_single_chunk(x: Any, axes: Iterable[int], op: str, what: str) -> None:
    """Raise a clear error unless each of ``axes`` of the Dask array ``x`` is one chunk."""
    split = [ax for ax in axes if x.numblocks[ax] != 1]
    if split:
        where = ", ".join(f"{x.numblocks[ax]} chunks along axis {ax}" for ax in split)
        spec = ", ".join(f"{ax}: -1" for ax in split)
        raise OpError(
            f"{op}: needs {what} in one chunk, but the Dask array of shape "
            f"{tuple(x.shape)} has {where}; rechunk first (x.rechunk({{{spec}}})) and keep "
            "the chunks along the other axes"
        )


def map_stacks(
    fn: Callable[..., Any],
    arrays: Sequence[Any],
    core: Sequence[int],
    out_core: Sequence[int],
    dtype: Any,
    op: str,
    what: str = "each matrix (the last two axes)",
) -> Any:
    """Apply NumPy's ``fn`` to Dask arrays holding stacks, block by block over the stacks.

    ``arrays[i]`` has ``core[i]`` trailing core axes, each of which must be a single chunk;
    the leading axes of all arrays broadcast together and their chunks are unified.
    ``fn`` receives NumPy blocks holding whole core axes and returns a block of shape
    ``lead + out_core``. The result is a lazy Dask array of that shape and ``dtype``.
    """
    arrays = [da.asarray(a) for a in arrays]
    lead = tuple(
        _np.broadcast_shapes(*(a.shape[: a.ndim - c] for a, c in zip(arrays, core, strict=True)))
    )
    nl = len(lead)
    letters = iter(string.ascii_letters)
    lead_ind = "".join(next(letters) for _ in range(nl))
    args = []
    for a, c in zip(arrays, core, strict=True):
        a = da.broadcast_to(a, lead + tuple(a.shape[a.ndim - c :]))
        require_single_chunk(a, range(nl, a.ndim), op, what)
        args += [a, lead_ind + "".join(next(letters) for _ in range(c))]
    out_letters = "".join(next(letters) for _ in range(len(out_core)))
    return da.blockwise(
        fn,
        lead_ind + out_letters,
        *args,
        new_axes=dict(zip(out_letters, out_core, strict=True)),
        concatenate=True,
        align_arrays=True,
        dtype=dtype,
        meta=_np.empty((0,) * (nl + len(out_core)), dtype=dtype),
    )


# ------------------------------------------------------------------ indexing
# Dask indexes with at most one integer array, in its own (orthogonal) layout, and assigns
# ``x[idx] = v`` for basic indices and one 1-d integer array. Every index is brought to
# that form: the axes read by advanced indices are moved to the front and merged into one,
# whose positions are the raveled multi-indices; the result is then laid out as NumPy does.
class _DaskIndex:
    """``x[idx]`` and the scatters at ``idx`` for a Dask array ``x``, lazily.

    Basic indices (integers, slices, None, Ellipsis) use Dask's own getitem and setitem.
    With advanced indices, ``x`` is transposed so that the axes they read come first, those
    axes are merged into one, and a single 1-d array of raveled positions indexes it; the
    result is reshaped and transposed into NumPy's layout. Scatters assign into a copy:
    with concrete (NumPy) indices repeated positions are applied in rounds -- the k-th
    occurrence of every position in round k, in order -- so they accumulate exactly as
    NumPy's ``ufunc.at`` does (beyond a few rounds the updates of each position are
    combined first); with Dask index arrays the merged axis must be one chunk and each
    block is updated by NumPy.
    """

    def __init__(self, skel, arrays, xshape, op):
        nd = len(xshape)
        if any(isinstance(s, bool) for s in skel):
            raise OpIndexError(
                f"{op}: a scalar boolean index (x[True]) is not supported on Dask arrays; "
                "use x[None] or anp.where"
            )
        if sum(1 for s in skel if s is Ellipsis) > 1:
            raise OpIndexError(f"{op}: an index can only have a single ellipsis ('...')")
        self.op = op
        self.xshape = tuple(xshape)
        layout = _ix._index_layout(skel, [shape(a) for a in arrays], self.xshape)
        before, bcast, after, adjacent = layout
        self.out_shape = _ix._result_shape(layout)
        self.adv = any(isinstance(s, _ix._Slot) for s in skel)
        n_ell = nd - sum(1 for s in skel if s is not None and s is not Ellipsis)
        adv_axes, adv_idx, other_axes, basic = [], [], [], []
        d = 0
        for s in skel:
            if s is None:
                continue
            if s is Ellipsis:
                for _ in range(n_ell):
                    other_axes.append(d)
                    basic.append(slice(None))
                    d += 1
            elif isinstance(s, _ix._Slot) or (self.adv and _ix._is_int(s)):
                adv_axes.append(d)
                adv_idx.append(arrays[s.k] if isinstance(s, _ix._Slot) else s)
                d += 1
            else:
                other_axes.append(d)
                basic.append(s)
                d += 1
        for dd in range(d, nd):
            other_axes.append(dd)
            basic.append(slice(None))
        self.basic = tuple(basic)
        if not self.adv:
            return
        self.perm = tuple(adv_axes) + tuple(other_axes)
        self.adv_idx = adv_idx
        self.adv_sizes = tuple(self.xshape[a] for a in adv_axes)
        self.adv_axes = adv_axes
        n_adv = 1
        for n in self.adv_sizes:
            n_adv *= n
        self.t_shape = tuple(self.xshape[a] for a in self.perm)
        self.m_shape = (n_adv,) + tuple(self.xshape[a] for a in other_axes)
        self.bcast = bcast
        nb = 1
        for n in bcast:
            nb *= n
        # Canonical result: (B, *dims of the basic entries); NumPy's: reshape to
        # bcast + before + after (None gives the unit dimensions), then, when the advanced
        # entries are adjacent, move bcast behind `before`.
        self.mid_shape = bcast + before + after
        self.out_perm = None
        r, k = len(bcast), len(before)
        if adjacent and k:
            self.out_perm = (
                tuple(range(r, r + k)) + tuple(range(r)) + tuple(range(r + k, len(self.mid_shape)))
            )
        basic_dims = tuple(len(range(*s.indices(self.m_shape[1 + i]))) for i, s in enumerate(basic))
        self.canon_shape = (nb,) + basic_dims

    # --- positions along the merged axis
    def _positions(self):
        """(1-d positions along the merged axis, whether they are concrete NumPy values)."""
        concrete = not any(is_dask(module_of(a)) for a in self.adv_idx)
        if concrete:
            parts = _np.broadcast_arrays(*[_np.asarray(a) for a in self.adv_idx])
            lin = _np.zeros(self.bcast, dtype=_np.int64)
            for p, n, ax in zip(parts, self.adv_sizes, self.adv_axes, strict=True):
                if p.size and (p.min() < -n or p.max() >= n):
                    bad = p.min() if p.min() < -n else p.max()
                    raise OpIndexError(
                        f"{self.op}: index {int(bad)} is out of bounds for axis {ax} with size {n}"
                    )
                lin = lin * n + _np.where(p < 0, p + n, p)
            return lin.reshape(-1), True
        parts = da.broadcast_arrays(*[da.asarray(a) for a in self.adv_idx])
        lin = da.zeros(self.bcast, dtype=_np.int64)
        for p, n in zip(parts, self.adv_sizes, strict=True):
            lin = lin * n + da.where(p < 0, p + n, p)
        return lin.reshape(-1), False

    def _merged(self, x):
        if self.perm != tuple(range(len(self.perm))):
            x = x.transpose(self.perm)
        return x.reshape(self.m_shape) if x.shape != self.m_shape else x

    def _unmerged(self, xm):
        x = xm.reshape(self.t_shape) if xm.shape != self.t_shape else xm
        if self.perm != tuple(range(len(self.perm))):
            x = x.transpose(_ix._inverse_perm(self.perm))
        return x

    # --- x[idx]
    def gather(self, x):
        x = da.asarray(x)  # a NumPy array indexed by Dask index arrays
        if not self.adv:
            y = x[self.basic]
            return y.reshape(self.out_shape) if y.shape != self.out_shape else y
        lin, _ = self._positions()
        y = self._merged(x)[(lin,) + self.basic]
        if y.shape != self.mid_shape:
            y = y.reshape(self.mid_shape)
        return y.transpose(self.out_perm) if self.out_perm is not None else y

    # --- scatters: kind is "set" or a ufunc name
    def scatter(self, x, upd, kind):
        x = da.asarray(x)  # a NumPy array updated by Dask values
        u = da.broadcast_to(da.asarray(upd), self.out_shape)
        if not self.adv:
            out = x.copy()
            u = u.reshape(x[self.basic].shape)
            out[self.basic] = u if kind == "set" else getattr(da, kind)(out[self.basic], u)
            return out
        if self.out_perm is not None:
            u = u.transpose(_ix._inverse_perm(self.out_perm))
        if u.shape != self.canon_shape:
            u = u.reshape(self.canon_shape)
        lin, concrete = self._positions()
        xm = self._merged(x)
        if concrete:
            rounds = _ix._rounds(lin, kind)
            if len(rounds) > _MAX_ROUNDS:
                # Heavily repeated positions: combine the updates of each position first
                # (per chunk of updates, then across chunks), then apply them once.
                lin, u = _combine_repeats(lin, u, kind)
                rounds = [None]
            out = xm.copy()
            for sel in rounds:
                key = ((lin,) if sel is None else (lin[sel],)) + self.basic
                val = u if sel is None else u[sel]
                out[key] = val if kind == "set" else getattr(da, kind)(out[key], val)
            return self._unmerged(out)
        return self._unmerged(self._scatter_blocks(xm, lin, u, kind))

    def _scatter_blocks(self, xm, lin, u, kind):
        """Scatter with Dask index arrays: NumPy updates each block, which must hold the
        whole merged axis (and the index must select whole other axes)."""
        if kind == "set":  # Dask assigns at a Dask index array itself (the last write wins)
            out = xm.copy()
            out[(lin,) + self.basic] = u
            return out
        full = all(s.indices(n) == (0, n, 1) for s, n in zip(self.basic, self.m_shape[1:]))
        if xm.numblocks[0] != 1 or not full:
            raise OpIndexError(
                f"{self.op}: a scatter at indices held in Dask arrays needs the indexed axes "
                f"of the Dask array (axes {tuple(self.adv_axes)} of shape {self.xshape}) in one "
                "chunk and whole slices elsewhere; rechunk those axes "
                "(x.rechunk({axis: -1})) or compute the indices first (idx.compute())"
            )
        nd = len(self.m_shape)
        ind = "".join(chr(ord("a") + i) for i in range(nd))
        u = u.rechunk((-1,) + xm.chunks[1:])
        return da.blockwise(
            _scatter_block,
            ind,
            xm,
            ind,
            lin.rechunk(-1),
            "z",
            u,
            "z" + ind[1:],
            kind=kind,
            concatenate=True,
            dtype=xm.dtype,
            meta=_np.empty((0,) * nd, dtype=xm.dtype),
        )


# Beyond this many updates of one position, repeats are combined before assigning (the
# order of the additions then differs from NumPy's ufunc.at, so results agree to rounding).
_MAX_ROUNDS = 8

_IDENTITY = {"add": 0, "multiply": 1, "minimum": _np.inf, "maximum": -_np.inf}


def _combine_repeats(lin, u, kind):
    """(distinct positions, Dask array of their combined updates): each chunk of updates
    is reduced by NumPy's ``ufunc.at`` into a partial result per distinct position, and
    the partial results are reduced across chunks by Dask."""
    uniq, inv = _np.unique(lin, return_inverse=True)
    nu = len(uniq)
    starts = _np.cumsum((0,) + u.chunks[0])
    fill = _IDENTITY[kind]
    if u.dtype.kind in "iub" and kind in ("minimum", "maximum"):
        info = _np.iinfo(u.dtype) if u.dtype.kind != "b" else None
        fill = (info.max if kind == "minimum" else info.min) if info else kind == "minimum"

    def part(ub, block_info=None):
        lo, hi = block_info[0]["array-location"][0]
        out = _np.full((nu,) + ub.shape[1:], fill, dtype=ub.dtype)
        getattr(_np, kind).at(out, inv[lo:hi], ub)
        return out

    nb = len(starts) - 1
    parts = u.map_blocks(part, chunks=((nu,) * nb,) + u.chunks[1:], dtype=u.dtype)
    parts = parts.reshape((nb, nu) + u.shape[1:])
    reduce = {"add": "sum", "multiply": "prod", "minimum": "min", "maximum": "max"}[kind]
    return uniq, getattr(parts, reduce)(axis=0)


def _scatter_block(xb, lb, ub, *, kind):
    """One block of a Dask scatter with traced index values: NumPy's assignment or
    ``ufunc.at`` on a copy of the block."""
    out = _np.array(xb, copy=True)
    if kind == "set":
        out[lb] = ub
    else:
        getattr(_np, kind).at(out, lb, ub)
    return out


@_implements(_ix.INDEX_MODULE)
def _index_module(xp):
    return _np  # Dask indexes with concrete NumPy arrays best


@_implements(_ix.GATHER)
def _gather(x, arrays, skel):
    return _DaskIndex(skel, arrays, x.shape, "indexing").gather(x)


@_implements(_ix.SCATTER)
def _scatter(x, arrays, values, skel, kind):
    op = "x.at[...].set" if kind == "set" else f"x.at[...] ({kind})"
    return _DaskIndex(skel, arrays, x.shape, op).scatter(x, values, kind)


@_implements(_ix.ZEROS_LIKE)
def _zeros_like(v, dtype):
    return da.zeros(v.shape, dtype=dtype, chunks=v.chunks)


@_implements(_ix.TAKE_ALONG_AXIS)
def _take_along_axis(arr, idx, axis):
    # Dask has no gather by several index arrays: the take_along_axis primitive runs one
    # NumPy take_along_axis per block, once both operands have the full shape off `axis`.
    from ..ops.shapes import broadcast_to

    xs, ish = shape(arr), shape(idx)
    full = [max(a, b) for a, b in zip(xs, ish, strict=True)]
    arr = broadcast_to(arr, tuple(full[:axis]) + (xs[axis],) + tuple(full[axis + 1 :]))
    idx = broadcast_to(idx, tuple(full[:axis]) + (ish[axis],) + tuple(full[axis + 1 :]))
    return _ix.take_along_p.bind(arr, idx, axis=axis)


def _put_along_block(x, idx, u, *, axis):
    out = _np.array(x, copy=True)
    _np.add.at(out, _ix._along_index(_np, idx, axis), u)
    return out


def _along(fn, operands, axis, dtype):
    """Blockwise ``fn(*blocks, axis=axis)`` over ``operands``, pairs (array, shaped like
    the output), with ``axis`` made one chunk in each; the others may differ in length
    along ``axis``, and every operand has the same length along the other axes."""
    nd = len(shape(operands[0][0]))
    ind = "".join(chr(ord("a") + i) for i in range(nd))
    other = ind[:axis] + "z" + ind[axis + 1 :]
    args = []
    for a, like_out in operands:
        args += [da.asarray(a).rechunk({axis: -1}), ind if like_out else other]
    return da.blockwise(
        fn,
        ind,
        *args,
        axis=axis,
        concatenate=True,
        align_arrays=True,
        dtype=dtype,
        meta=_np.empty((0,) * nd, dtype=dtype),
    )


@_implements(_ix.GATHER_ALONG)
def _take_along(arr, idx, axis):
    return _along(_np.take_along_axis, [(arr, False), (idx, True)], axis, arr.dtype)


@_implements(_ix.PUT_ALONG_ADD)
def _put_along_add(x, idx, u, axis):
    return _along(_put_along_block, [(x, True), (idx, False), (u, False)], axis, x.dtype)


def _sorting(fn, x, axis, op, dtype):
    """NumPy's sort or argsort on each block of a Dask array whose sorted axis is whole."""
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    require_single_chunk(x, [axis], op, f"the axis it sorts (axis {axis})")
    return x.map_blocks(fn, axis=axis, dtype=dtype)


def _kind(kind):
    return {} if kind is None else {"kind": kind}


@_implements(_ix.ARGSORT)
def _argsort(x, axis, kind):
    fn = functools.partial(_np.argsort, **_kind(kind))
    return _sorting(fn, x, axis, "argsort", _np.dtype(_np.intp))


@_implements(_ix.SORT)
def _sort(x, axis, kind):
    return _sorting(functools.partial(_np.sort, **_kind(kind)), x, axis, "sort", x.dtype)


# ------------------------------------------------------------------ linear algebra
# Dask's own linalg handles one matrix split into chunks (inv, solve) but no stacks and no
# det or slogdet: stacks run NumPy's function block by block over the stack axes, each
# matrix in one chunk.
def _stacks(fn, arrays, core, out_core, dtype, op):
    return map_stacks(fn, arrays, core, out_core, _np.dtype(dtype), f"linalg.{op}")


def _blocked(op, *arrays):
    """True where Dask's own blocked ``linalg.<op>`` applies: one matrix (no stack axes)
    split into several chunks."""
    return (
        hasattr(da.linalg, op)
        and all(getattr(a, "ndim", 0) == 2 for a in arrays)
        and any(getattr(a, "npartitions", 1) > 1 for a in arrays)
    )


@_implements(_la.INV)
def _inv(a):
    if _blocked("inv", a):
        return da.linalg.inv(a)
    return _stacks(_np.linalg.inv, [a], (2,), a.shape[-2:], a.dtype, "inv")


@_implements(_la.SOLVE)
def _solve(a, b):
    if _blocked("solve", a, b):
        return da.linalg.solve(a, b)
    dt = _np.result_type(a.dtype, b.dtype)
    return _stacks(_np.linalg.solve, [a, b], (2, 2), b.shape[-2:], dt, "solve")


@_implements(_la.DET)
def _det(a):
    return _stacks(_np.linalg.det, [a], (2,), (), a.dtype, "det")


def _slogdet_block(a):
    sign, logabs = _np.linalg.slogdet(a)
    return _np.stack([sign, logabs.astype(sign.dtype)], axis=-1)


@_implements(_la.SLOGDET)
def _slogdet(a):
    both = _stacks(_slogdet_block, [a], (2,), (2,), a.dtype, "slogdet")
    return (both[..., 0], both[..., 1].real.astype(_np.finfo(a.dtype).dtype))


@_implements(_la.COFACTOR)
def _cofactor(a):
    fn = functools.partial(_la._cofactor_np, _np)
    return _stacks(fn, [a], (2,), a.shape[-2:], a.dtype, "det")


@_implements(_la.COFACTOR_LIN)
def _cofactor_lin(a, e):
    fn = functools.partial(_la._cofactor_lin_np, _np)
    dt = _np.result_type(a.dtype, e.dtype)
    return _stacks(fn, [a, e], (2, 2), a.shape[-2:], dt, "det")


# ------------------------------------------------------------------ fft
@_implements(_fft.PREPARE)
def _fft_prepare(x, axes):
    # Dask transforms only along single-chunk axes: rechunk those (a no-op otherwise).
    x = da.asarray(x)
    if any(len(x.chunks[a]) > 1 for a in axes):
        x = x.rechunk({a: -1 for a in axes})
    return x
