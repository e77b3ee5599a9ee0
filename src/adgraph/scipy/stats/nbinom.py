"""The negative binomial distribution (failures before the ``n``-th success, success
probability ``p``), as ``scipy.stats.nbinom``. The distribution function is the
regularized incomplete beta function ``I_p(n, k + 1)``, differentiable in ``p``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import discrete, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpmf(k: Any, n: Any, p: Any) -> Any:
    inside = (k >= 0) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    lchoose = special.gammaln(n + k) - special.gammaln(k + 1.0) - special.gammaln(n)
    return outside(inside, lchoose + special.xlogy(n, p) + special.xlog1py(k, -p))


def _tail(k: Any, n: Any, p: Any, upper: bool) -> Any:
    inside = k >= 0
    kf = anp.floor(masked(inside, k, 0.0))
    if upper:
        return outside(inside, special.betainc(kf + 1.0, n, 1.0 - p), 1.0)
    return outside(inside, special.betainc(n, kf + 1.0, p), 0.0)


_m = discrete(
    "nbinom",
    ("n", "p"),
    valid=lambda n, p: (n > 0) & (p > 0) & (p <= 1),
    logpmf=_logpmf,
    cdf=lambda k, n, p: _tail(k, n, p, False),
    sf=lambda k, n, p: _tail(k, n, p, True),
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
