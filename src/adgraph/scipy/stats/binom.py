"""The binomial distribution of ``n`` trials with success probability ``p``, as
``scipy.stats.binom``. The distribution function is the regularized incomplete beta
function, ``P(K <= k) = I_{1-p}(n - k, k + 1)``, differentiable in ``p``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import discrete, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpmf(k: Any, n: Any, p: Any) -> Any:
    inside = (k >= 0) & (k <= n) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    lchoose = special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0)
    return outside(inside, lchoose + special.xlogy(k, p) + special.xlog1py(n - k, -p))


def _tail(k: Any, n: Any, p: Any, upper: bool) -> Any:
    inside = (k >= 0) & (k < n)
    kf = anp.floor(masked(inside, k, 0.0))
    ns = masked(inside, n, 1.0)
    if upper:
        val = special.betainc(kf + 1.0, ns - kf, p)
        return outside(inside, val, anp.where(k < 0, 1.0, 0.0))
    val = special.betainc(ns - kf, kf + 1.0, 1.0 - p)
    return outside(inside, val, anp.where(k < 0, 0.0, 1.0))


_m = discrete(
    "binom",
    ("n", "p"),
    valid=lambda n, p: (n >= 0) & (anp.floor(n) == n) & (p >= 0) & (p <= 1),
    logpmf=_logpmf,
    cdf=lambda k, n, p: _tail(k, n, p, False),
    sf=lambda k, n, p: _tail(k, n, p, True),
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
