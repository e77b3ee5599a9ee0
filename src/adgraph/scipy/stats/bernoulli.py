"""The Bernoulli distribution with success probability ``p``, as ``scipy.stats.bernoulli``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf", "cdf"]


def logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """``log p`` at 1, ``log(1-p)`` at 0, ``-inf`` elsewhere."""
    k, p, loc = floats(k, p, loc)
    k = k - loc
    inside = (k == 0) | (k == 1)
    k = masked(inside, k, 0.0)
    return outside(inside, special.xlogy(k, p) + special.xlog1py(1.0 - k, -p))


def pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(k, p, loc))


def cdf(k: Any, p: Any, loc: Any = 0) -> Any:
    """0 below 0, ``1 - p`` on ``[0, 1)``, 1 from 1 on."""
    k, p, loc = floats(k, p, loc)
    k = k - loc
    return anp.where(k < 0, 0.0, anp.where(k < 1, 1.0 - p, 1.0))
