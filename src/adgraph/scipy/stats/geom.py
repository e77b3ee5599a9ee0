"""The geometric distribution (trials up to the first success), as ``scipy.stats.geom``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf"]


def logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """``(k-1) log(1-p) + log p`` for ``k = 1, 2, ..``; ``-inf`` elsewhere."""
    k, p, loc = floats(k, p, loc)
    k = k - loc
    inside = (k >= 1) & (anp.floor(k) == k)
    k = masked(inside, k, 1.0)
    return outside(inside, special.xlog1py(k - 1.0, -p) + anp.log(p))


def pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(k, p, loc))
