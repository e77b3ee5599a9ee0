"""``flatten``: a pytree of arrays as one 1-D array, and the function that undoes it.

Both directions are made of differentiable operations, so a function of the flat vector
that calls ``unflatten`` can be differentiated (the usual way to hand a network's
parameters to an optimiser that wants one vector).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from ... import numpy as anp
from ...core.pytree import tree_flatten, tree_unflatten

__all__ = ["flatten", "flatten_func"]


def flatten(value: Any) -> tuple[Any, Callable[[Any], Any]]:
    """``(vector, unflatten)``: the leaves of ``value`` raveled and concatenated (in
    adgraph's pytree order: dict keys sorted), and the inverse mapping a vector back.

    Python-number leaves come back as 0-d arrays.
    """
    leaves, treedef = tree_flatten(value)
    shapes = [_np.shape(leaf) for leaf in leaves]
    sizes = [int(_np.prod(s)) for s in shapes]
    if leaves:
        vector = anp.concatenate([anp.ravel(anp.asarray(leaf)) for leaf in leaves])
    else:
        vector = _np.zeros(0)
    total = sum(sizes)

    def unflatten(vector: Any) -> Any:
        n = _np.shape(vector)
        if n != (total,):
            raise ValueError(
                f"unflatten: expected a vector of shape ({total},), got shape {n}; pass the "
                "vector made by flatten (or one of the same length)"
            )
        out, start = [], 0
        for shape, size in zip(shapes, sizes):
            out.append(anp.reshape(vector[start : start + size], shape))
            start += size
        return tree_unflatten(treedef, out)

    return vector, unflatten


def flatten_func(
    func: Callable[..., Any], example: Any
) -> tuple[Callable[..., Any], Callable[[Any], Any], Any]:
    """``(flat_func, unflatten, flat_example)``: ``flat_func(vector, *args)`` is
    ``func(unflatten(vector), *args)`` with its result flattened too (as in autograd: a
    function of pytrees made a function of vectors, e.g. a gradient for an optimiser)."""
    flat_example, unflatten = flatten(example)

    def flat_func(vector: Any, *args: Any) -> Any:
        return flatten(func(unflatten(vector), *args))[0]

    return flat_func, unflatten, flat_example
