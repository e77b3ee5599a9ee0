"""The geometric distribution (trials up to the first success, probability ``p``), as
``scipy.stats.geom``: mass ``(1-p)**(k-1) p`` on ``k = 1, 2, ..``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import discrete, log1mexp, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpmf(k: Any, p: Any) -> Any:
    inside = (k >= 1) & (anp.floor(k) == k)
    k = masked(inside, k, 1.0)
    return outside(inside, special.xlog1py(k - 1.0, -p) + anp.log(p))


def _logsf(k: Any, p: Any) -> Any:
    # P(K > k) = (1 - p)**floor(k) from k = 1 on
    inside = k >= 1
    kf = anp.floor(masked(inside, k, 1.0))
    return outside(inside, special.xlog1py(kf, -p), 0.0)


def _logcdf(k: Any, p: Any) -> Any:
    inside = k >= 1
    t = -_logsf(masked(inside, k, 1.0), p)
    return outside(inside, log1mexp(masked(inside & (t > 0), t, 1.0)))


_m = discrete(
    "geom",
    ("p",),
    valid=lambda p: (p > 0) & (p <= 1),
    logpmf=_logpmf,
    cdf=lambda k, p: anp.exp(_logcdf(k, p)),
    sf=lambda k, p: anp.exp(_logsf(k, p)),
    logcdf=_logcdf,
    logsf=_logsf,
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
