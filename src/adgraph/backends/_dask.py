"""Former home of the Dask helpers, now :mod:`adgraph.backends.dask_ops` (kept so that old
imports keep working; importing it imports Dask)."""

from __future__ import annotations

from .dask_ops import is_dask, map_stacks, require_single_chunk

__all__ = ["is_dask", "require_single_chunk", "map_stacks"]
