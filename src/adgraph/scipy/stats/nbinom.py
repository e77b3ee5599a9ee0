"""The negative binomial distribution (failures before the ``n``-th success), as
``scipy.stats.nbinom``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf"]


def logpmf(k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
    """``log C(n+k-1, k) + n log p + k log(1-p)``; ``-inf`` off ``0, 1, ..``."""
    k, n, p, loc = floats(k, n, p, loc)
    k = k - loc
    inside = (k >= 0) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    lchoose = special.gammaln(n + k) - special.gammaln(k + 1.0) - special.gammaln(n)
    return outside(inside, lchoose + special.xlogy(n, p) + special.xlog1py(k, -p))


def pmf(k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(k, n, p, loc))
