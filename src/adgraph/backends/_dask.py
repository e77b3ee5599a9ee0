"""Dask formulations of array operations that ``dask.array`` lacks.

Dask computes many NumPy functions chunk by chunk, but not those that need a whole axis at
once (sorting, determinants, solves of stacked matrices). These run NumPy's own function
on each block of the leading (stack) axes, provided every *core* axis -- the axis sorted,
the two matrix axes -- lies in a single chunk; otherwise the error says how to rechunk.
Everything stays lazy: the helpers only add tasks to the graph.
"""

from __future__ import annotations

import string

import numpy as _np

from ..ops._util import OpError

__all__ = ["is_dask", "require_single_chunk", "map_stacks"]


def is_dask(xp) -> bool:
    """True when ``xp`` is ``dask.array``."""
    return getattr(xp, "__name__", "") == "dask.array"


def require_single_chunk(x, axes, op: str, what: str) -> None:
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
    fn, arrays, core, out_core, dtype, op: str, what: str = "each matrix (the last two axes)"
):
    """Apply NumPy's ``fn`` to Dask arrays holding stacks, block by block over the stacks.

    ``arrays[i]`` has ``core[i]`` trailing core axes, each of which must be a single chunk;
    the leading axes of all arrays broadcast together and their chunks are unified.
    ``fn`` receives NumPy blocks holding whole core axes and returns a block of shape
    ``lead + out_core``. The result is a lazy Dask array of that shape and ``dtype``.
    """
    import dask.array as da

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
