"""Pytree helpers for parameters: moving them between devices, counting and norms.

Parameters are ordinary pytrees (dicts, lists, tuples of arrays), so every adgraph
transformation and ``adgraph.optim`` works on them directly. These helpers are the few
operations a training loop needs besides those.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..api.hints import PyTree
from ..core.pytree import tree_leaves, tree_map

__all__ = [
    "resolve_xp",
    "to_device",
    "to_numpy",
    "num_params",
    "global_norm",
    "clip_by_global_norm",
    "tree_astype",
    "tree_zeros_like",
]


def resolve_xp(xp: Any = None) -> Any:
    """The array module named by ``xp``: a module as it is, None for NumPy, or a backend
    name (``"numpy"``/``"cpu"``, ``"cupy"``/``"gpu"``, ``"dask"``) through
    :func:`adgraph.backends.require`, which says what to install when it is missing."""
    if xp is None:
        return np
    if not isinstance(xp, str):
        return xp
    from ..backends import require

    return require(xp)


def _backend_name(xp: Any) -> str:
    if isinstance(xp, str):
        return xp
    name = getattr(xp, "__name__", str(xp))
    return {"dask.array": "dask"}.get(name, name)


def to_device(tree: PyTree, xp: Any) -> PyTree:
    """Every array leaf of ``tree`` moved to array module or backend ``xp`` (``"cupy"``,
    ``"numpy"``, a module...); see :func:`adgraph.backends.to_device`."""
    from ..backends import to_device as _to_device

    return _to_device(tree, _backend_name(xp))


def to_numpy(tree: PyTree) -> PyTree:
    """Every array leaf of ``tree`` as a NumPy array (CuPy arrays are copied to the host);
    see :func:`adgraph.backends.asnumpy`."""
    from ..backends import asnumpy

    return asnumpy(tree)


def num_params(tree: PyTree) -> int:
    """Number of scalar entries in the array leaves of ``tree``."""
    return sum(math.prod(getattr(x, "shape", ())) for x in tree_leaves(tree))


def global_norm(tree: PyTree) -> Any:
    r"""The Euclidean norm of all leaves together, :math:`\sqrt{\sum_\ell \|x_\ell\|^2}`
    (an array of the leaves' module; differentiable)."""
    from .. import numpy as anp

    total = None
    for x in tree_leaves(tree):
        s = anp.sum(x * x)
        total = s if total is None else total + s
    return anp.sqrt(total) if total is not None else 0.0


def clip_by_global_norm(tree: PyTree, max_norm: float) -> PyTree:
    r"""``tree`` scaled by :math:`\min(1, c / \|tree\|)` so its global norm is at most ``c``."""
    from .. import numpy as anp

    norm = global_norm(tree)
    scale = anp.minimum(1.0, max_norm / anp.maximum(norm, 1e-30))
    return tree_map(lambda x: x * anp.astype(scale, x.dtype), tree)


def tree_astype(tree: PyTree, dtype: Any) -> PyTree:
    """Every floating leaf cast to ``dtype`` (integer leaves untouched)."""
    from ..ops.misc import astype

    return tree_map(lambda x: astype(x, dtype) if x.dtype.kind in "fc" else x, tree)


def tree_zeros_like(tree: PyTree) -> PyTree:
    """Zeros with each leaf's shape, dtype and array module."""
    from ..ops.creation import zeros_like

    return tree_map(zeros_like, tree)
