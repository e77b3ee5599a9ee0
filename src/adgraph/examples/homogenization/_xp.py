"""The array module of a cell problem: NumPy, or CuPy when the fields live on a GPU.

The solvers never pick a module themselves: the fields, frequency tables and CG vectors of
one solve are arrays of the module of its data (the material parameters, the history, the
starting field), found here once per solve. Small host values (the macroscopic strain, its
path, convergence scalars) stay NumPy; everything shaped like the grid stays on the device.
"""

from __future__ import annotations

import numpy as np

from adgraph.core.pytree import tree_leaves, tree_map
from adgraph.core.trace import Tracer
from adgraph.core.xp import get_xp, module_of

__all__ = [
    "data_module",
    "modules",
    "resolve",
    "constant",
    "to_module",
    "host",
    "asarray",
    "is_numpy",
]


def _primal(x):
    while isinstance(x, Tracer):
        x = x.primal_value()
    return x


def data_module(*trees):
    """The array module shared by the array leaves of ``trees`` (traced values count by
    their underlying arrays); NumPy when none is a foreign array. Arrays of two modules
    (e.g. NumPy and CuPy fields) are refused by name."""
    return get_xp([_primal(v) for t in trees for v in tree_leaves(t)])


def modules(*trees) -> set:
    """The array modules of the array leaves of ``trees`` (NumPy for plain values)."""
    return {module_of(_primal(v)) for t in trees for v in tree_leaves(t)}


def resolve(xp):
    """``xp`` as an array module: a module passes; a name (``"numpy"``, ``"cupy"``,
    ``"gpu"``, ...) is looked up with :func:`adgraph.backends.require`."""
    if xp is None or not isinstance(xp, str):
        return xp
    from adgraph.backends import require

    mod = require(xp)
    if mod.__name__ == "dask.array":
        raise ValueError(
            "homogenization: the FFT solvers run on NumPy or CuPy arrays, not Dask arrays "
            "(give xp='numpy' or xp='cupy')"
        )
    return mod


def is_numpy(xp) -> bool:
    return xp is np


def to_module(tree, xp):
    """``tree`` with its plain NumPy array leaves copied to ``xp`` (one host-to-device copy
    per leaf, before any iteration); scalars, traced values and arrays already of ``xp``
    are left as they are."""
    if xp is np:
        return tree

    def leaf(v):
        if type(v) is np.ndarray:
            return xp.asarray(v)
        return v

    return tree_map(leaf, tree)


def host(x):
    """A small plain array (a macroscopic tensor, a mean) as a NumPy array."""
    x = _primal(x)
    if module_of(x) is np:
        return np.asarray(x)
    get = getattr(x, "get", None)  # cupy.ndarray.get(): the device-to-host copy
    if callable(get):
        return np.asarray(get())
    return np.array(x)


_CONSTANTS: dict = {}


def constant(xp, key, make):
    """The small NumPy table ``make()`` as an array of ``xp``, copied once per module and
    ``key`` (index tables, unit tensors: no copy per Newton iteration)."""
    if xp is np:
        return make()
    k = (xp, key)
    v = _CONSTANTS.get(k)
    if v is None:
        v = _CONSTANTS[k] = xp.asarray(make())
    return v


def asarray(x, xp, dtype=None):
    """``x`` as an array of ``xp`` (NumPy: exactly ``np.asarray``)."""
    if xp is np:
        return np.asarray(x, dtype=dtype)
    return xp.asarray(x, dtype=dtype)
