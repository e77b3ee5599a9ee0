"""The array module of a cell problem: NumPy, or CuPy when the fields live on a GPU.

The solvers never pick a module themselves: the fields, frequency tables and CG vectors of
one solve are arrays of the module of its data (the material parameters, the history, the
starting field), found here once per solve. Small host values (the macroscopic strain, its
path, convergence scalars) stay NumPy; everything shaped like the grid stays on the device.
"""

from __future__ import annotations

import numpy as np

import adgraph as ad
from adgraph.backends import array_module

__all__ = [
    "primal",
    "module_of",
    "data_module",
    "modules",
    "resolve",
    "constant",
    "to_module",
    "host",
    "asarray",
    "is_numpy",
]


def primal(x):
    """The plain array under a traced value (``x`` itself when it is not traced)."""
    return x.primal_value() if isinstance(x, ad.Tracer) else x


def module_of(x):
    """The array module that computes the plain value ``x``; NumPy for scalars and for
    traced values, which NumPy's functions hand on to adgraph.numpy."""
    return np if isinstance(x, ad.Tracer) else array_module(x)


def data_module(*trees):
    """The array module shared by the array leaves of ``trees`` (traced values count by
    their underlying arrays); NumPy when none is a foreign array. Arrays of two modules
    (e.g. NumPy and CuPy fields) are refused by name."""
    return array_module(*(v for t in trees for v in ad.tree_leaves(t)))


def modules(*trees) -> set:
    """The array modules of the array leaves of ``trees`` (NumPy for plain values)."""
    return {array_module(v) for t in trees for v in ad.tree_leaves(t)}


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

    return ad.tree_map(leaf, tree)


def host(x):
    """A small plain array (a macroscopic tensor, a mean) as a NumPy array."""
    x = primal(x)
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
