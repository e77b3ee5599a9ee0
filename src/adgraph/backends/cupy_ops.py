"""CuPy specifics plugged into adgraph's ops (see :mod:`adgraph.core.extend`).

CuPy runs adgraph's operations as NumPy does, with one exception registered here: an
unbuffered scatter-add (``out[idx] += upd`` with repeated indices accumulating), which
CuPy spells ``cupyx.scatter_add`` where its ``add`` ufunc has no ``at``. Imported the
first time an operation looks up an extension point for a CuPy array, and installed
(:func:`install`; the loader is registered by :mod:`adgraph.backends`), so importing
adgraph never imports CuPy.
"""

from __future__ import annotations

from ..core import extend
from ..ops import indexing as _ix

CUPY = "cupy"


def _add_at(out, idx, upd) -> None:  # pragma: no cover - needs a GPU
    import cupyx

    cupyx.scatter_add(out, idx, upd)


def install() -> None:
    """Register the CuPy implementations of the operations' extension points (what the
    loader that :mod:`adgraph.backends` registers for ``cupy`` runs)."""
    extend.register(_ix.ADD_AT, CUPY, _add_at)
