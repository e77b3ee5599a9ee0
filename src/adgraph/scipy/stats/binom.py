"""The binomial distribution of ``n`` trials with success probability ``p``, as
``scipy.stats.binom``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf"]


def logpmf(k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
    """``log C(n, k) + k log p + (n-k) log(1-p)``; ``-inf`` off ``0, 1, .., n``."""
    k, n, p, loc = floats(k, n, p, loc)
    k = k - loc
    inside = (k >= 0) & (k <= n) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    lchoose = special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0)
    return outside(inside, lchoose + special.xlogy(k, p) + special.xlog1py(n - k, -p))


def pmf(k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(k, n, p, loc))
