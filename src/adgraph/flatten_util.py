"""``ravel_pytree``: a pytree of arrays as one flat vector, and the function back (JAX's
``jax.flatten_util.ravel_pytree``).

Both directions are adgraph operations, so a function of the flat vector that calls the
``unravel`` function differentiates (the usual way to hand a model's parameters to an
optimiser, or to SciPy, that wants one vector).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from . import numpy as anp
from .core.pytree import tree_flatten, tree_unflatten
from .core.trace import Tracer

__all__ = ["ravel_pytree"]


def _dtype(x: Any) -> _np.dtype:
    return x.dtype if isinstance(x, Tracer) else _np.result_type(x)


def ravel_pytree(pytree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """``(flat, unravel)``: the leaves of ``pytree`` raveled and concatenated in
    :func:`adgraph.tree_util.tree_flatten` order (dict keys sorted) into a 1-D array of
    their common dtype, and ``unravel(flat)`` giving the pytree back, each leaf with its
    own shape and dtype.

    Python numbers become 0-d arrays. ``unravel`` refuses a vector of another length.
    """
    leaves, treedef = tree_flatten(pytree)
    shapes = [_np.shape(x) for x in leaves]
    dtypes = [_dtype(x) for x in leaves]
    sizes = [int(_np.prod(s)) for s in shapes]
    total = sum(sizes)
    common = _np.result_type(*dtypes) if dtypes else _np.dtype(_np.float64)
    if leaves:
        flat = anp.concatenate([anp.ravel(anp.asarray(x, dtype=common)) for x in leaves])
    else:
        flat = _np.zeros(0, common)

    def unravel(vector: Any) -> Any:
        if _np.shape(vector) != (total,):
            raise ValueError(
                f"unravel: expected a vector of shape ({total},) (the flat length of the "
                f"pytree), got shape {_np.shape(vector)}"
            )
        out, start = [], 0
        for shape, size, dtype in zip(shapes, sizes, dtypes):
            piece = anp.reshape(vector[start : start + size], shape)
            if _dtype(piece) != dtype:
                piece = anp.asarray(piece, dtype=dtype)
            out.append(piece)
            start += size
        return tree_unflatten(treedef, out)

    return flat, unravel
