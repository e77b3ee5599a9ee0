"""Shared pieces of the distributions: promotion, standardising and safe support masks.

Every density here is composed of adgraph.numpy and adgraph.scipy.special operations, so
its derivatives in every argument (data, location, scale, shape parameters) come from
those operations' rules. Outside a distribution's support a log-density is ``-inf``; the
formula is evaluated there on a harmless stand-in value (the "double where"), so that the
masked branch contributes an exact zero to derivatives instead of ``0 * inf = nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ...core.trace import Tracer as _Tracer

__all__: list[str] = []

LOG_2PI = float(_np.log(2.0 * _np.pi))


def floats(*args: Any) -> list[Any]:
    """The arguments as floating arrays of one common dtype (integers become float64)."""
    out = []
    for a in args:
        a = anp.asarray(a)
        if not _np.issubdtype(a.dtype, _np.inexact):
            a = anp.asarray(a, dtype=_np.float64)
        out.append(a)
    return out


def masked(cond: Any, x: Any, stand_in: float) -> Any:
    """``x`` where ``cond`` holds, ``stand_in`` elsewhere (the inner half of a double where)."""
    return anp.where(cond, x, stand_in)


def outside(cond: Any, value: Any, fill: float = -_np.inf) -> Any:
    """``value`` where ``cond`` holds and ``fill`` elsewhere (the outer half)."""
    return anp.where(cond, value, fill)


def concrete(name: str, value: Any) -> _np.ndarray:
    """``value`` as a NumPy array, refusing a traced one (an integer count has no derivative)."""
    if isinstance(value, _Tracer):
        raise TypeError(
            f"{name} must be a concrete array here (it sets how many terms are summed), but it "
            "is being traced; pass it as a plain NumPy array or Python number, not as an "
            "argument you differentiate or vmap over"
        )
    return _np.asarray(value)
