"""Helpers shared by the product primitives (:mod:`.products`, :mod:`.einsum`)."""

from __future__ import annotations

import numpy as _np  # dtype objects

from ..core.trace import Tracer


def _xp_of(x):
    """The array module of ``x``'s underlying value (for constants built in rules)."""
    from ..core.xp import module_of

    return module_of(x.primal_value() if isinstance(x, Tracer) else x)


def _real_dtype(dt):
    dt = _np.dtype(dt)
    if dt.kind == "c":
        return _np.finfo(dt).dtype
    return dt if dt.kind == "f" else _np.dtype(_np.float64)


def _as_array(a):
    if hasattr(a, "shape"):
        return a
    from .creation import asarray

    return asarray(a)
