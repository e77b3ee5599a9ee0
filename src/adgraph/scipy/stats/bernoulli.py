"""The Bernoulli distribution with success probability ``p``, as
``scipy.stats.bernoulli``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import discrete, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpmf(k: Any, p: Any) -> Any:
    inside = (k == 0) | (k == 1)
    k = masked(inside, k, 0.0)
    return outside(inside, special.xlogy(k, p) + special.xlog1py(1.0 - k, -p))


_m = discrete(
    "bernoulli",
    ("p",),
    valid=lambda p: (p >= 0) & (p <= 1),
    logpmf=_logpmf,
    cdf=lambda k, p: anp.where(k < 0, 0.0, anp.where(k < 1, 1.0 - p, 1.0)),
    sf=lambda k, p: anp.where(k < 0, 1.0, anp.where(k < 1, p, 0.0)),
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
