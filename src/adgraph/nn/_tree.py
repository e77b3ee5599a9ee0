"""Pytree helpers for parameters: moving them between devices, counting and norms.

Parameters are ordinary pytrees (dicts, lists, tuples of arrays), so every adgraph
transformation and ``adgraph.optim`` works on them directly. These helpers are the few
operations a training loop needs besides those.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from ..core.pytree import tree_leaves, tree_map
from ..core.trace import Tracer
from ..core.xp import module_of

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

_ALIASES = {
    "numpy": "numpy",
    "np": "numpy",
    "cpu": "numpy",
    "cupy": "cupy",
    "cp": "cupy",
    "gpu": "cupy",
    "cuda": "cupy",
}


def resolve_xp(xp=None):
    """The array module named by ``xp``: a module, or one of ``"numpy"``/``"cpu"`` and
    ``"cupy"``/``"gpu"``/``"cuda"``; None means NumPy. A clear ImportError names what is
    missing when CuPy is asked for but not installed."""
    if xp is None:
        return np
    if not isinstance(xp, str):
        return xp
    name = _ALIASES.get(xp.lower())
    if name is None:
        raise ValueError(
            f"unknown array module or device {xp!r}; use one of {sorted(set(_ALIASES))}"
        )
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(
            f"{xp!r} needs CuPy, which is not installed (pip install cupy-cuda12x or "
            "cupy-cuda13x, matching your CUDA driver)"
        ) from err


def to_device(tree, xp):
    """Every array leaf of ``tree`` as an array of module ``xp`` (dtype kept); leaves that
    are already there are returned as they are (no copy)."""
    mod = resolve_xp(xp)

    def move(x):
        if isinstance(x, Tracer) or not hasattr(x, "dtype"):
            return x
        if module_of(x) is mod:
            return x
        if mod is np:
            return to_numpy(x)
        return mod.asarray(to_numpy(x))

    return tree_map(move, tree)


def to_numpy(tree):
    """Every array leaf of ``tree`` as a NumPy array (CuPy arrays are copied to the host)."""

    def host(x):
        if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
            return x.get()
        if hasattr(x, "compute") and type(x).__module__.startswith("dask"):
            return np.asarray(x.compute())
        return x

    return tree_map(host, tree)


def num_params(tree) -> int:
    """Number of scalar entries in the array leaves of ``tree``."""
    return sum(math.prod(getattr(x, "shape", ())) for x in tree_leaves(tree))


def global_norm(tree):
    r"""The Euclidean norm of all leaves together, :math:`\sqrt{\sum_\ell \|x_\ell\|^2}`
    (an array of the leaves' module; differentiable)."""
    from .. import numpy as anp

    total = None
    for x in tree_leaves(tree):
        s = anp.sum(x * x)
        total = s if total is None else total + s
    return anp.sqrt(total) if total is not None else 0.0


def clip_by_global_norm(tree, max_norm: float):
    r"""``tree`` scaled by :math:`\min(1, c / \|tree\|)` so its global norm is at most ``c``."""
    from .. import numpy as anp

    norm = global_norm(tree)
    scale = anp.minimum(1.0, max_norm / anp.maximum(norm, 1e-30))
    return tree_map(lambda x: x * anp.astype(scale, x.dtype), tree)


def tree_astype(tree, dtype):
    """Every floating leaf cast to ``dtype`` (integer leaves untouched)."""
    from ..ops.misc import astype

    return tree_map(lambda x: astype(x, dtype) if x.dtype.kind in "fc" else x, tree)


def tree_zeros_like(tree):
    """Zeros with each leaf's shape, dtype and array module."""
    from ..ops.creation import zeros_like

    return tree_map(zeros_like, tree)
