"""CuPy specifics plugged into adgraph's ops (see :mod:`adgraph.core.extend`).

CuPy runs adgraph's operations as NumPy does; what it adds or spells its own way is
registered here:

* ``indexing.add_at``: an unbuffered scatter-add (``out[idx] += upd`` with repeated indices
  accumulating), which CuPy spells ``cupyx.scatter_add`` where its ``add`` ufunc has no
  ``at``;
* ``special.module``: the special functions (erf, gammaln, digamma, zeta, ...) of CuPy
  arrays, ``cupyx.scipy.special``;
* ``products.writable_views``: CuPy arrays are mutable and their views share memory, so
  diagonals are written in place;
* ``fused.kernel``: the fused activations, cross-entropy and optimiser steps as single CUDA
  kernels (:mod:`.cupy_fused`).

Imported the first time an operation looks up an extension point for a CuPy array, and
installed (:func:`install`; the loader is registered by :mod:`adgraph.backends`), so
importing adgraph never imports CuPy; nor does this module, until a CuPy function runs.
"""

from __future__ import annotations

import importlib

from ..core import extend
from ..ops import fused as _fused
from ..ops import indexing as _ix
from ..ops import products as _products
from ..ops import special as _special
from . import cupy_fused

CUPY = "cupy"


def _add_at(out, idx, upd) -> None:  # pragma: no cover - needs a GPU
    import cupyx

    cupyx.scatter_add(out, idx, upd)


def _special_module(xp):
    return importlib.import_module("cupyx.scipy.special")


def _writable_views(xp) -> bool:
    return True


def install() -> None:
    """Register the CuPy implementations of the operations' extension points (what the
    loader that :mod:`adgraph.backends` registers for ``cupy`` runs)."""
    extend.register(_ix.ADD_AT, CUPY, _add_at)
    extend.register(_special.MODULE, CUPY, _special_module)
    extend.register(_products.WRITABLE_VIEWS, CUPY, _writable_views)
    extend.register(_fused.KERNEL, CUPY, cupy_fused.run)
