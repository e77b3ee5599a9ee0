"""The Pareto distribution with shape ``b``, as ``scipy.stats.pareto``: density
``b / y**(b+1)`` for ``y = (x - loc)/scale >= 1``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import continuous, log1mexp, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpdf(y: Any, b: Any) -> Any:
    inside = y >= 1
    ys = masked(inside, y, 1.0)
    return outside(inside, anp.log(b) - (b + 1.0) * anp.log(ys))


def _logsf(y: Any, b: Any) -> Any:
    inside = y >= 1
    return outside(inside, -b * anp.log(masked(inside, y, 1.0)), 0.0)


def _cdf(y: Any, b: Any) -> Any:
    return -anp.expm1(_logsf(y, b))


_m = continuous(
    "pareto",
    ("b",),
    valid=lambda b: b > 0,
    logpdf=_logpdf,
    cdf=_cdf,
    sf=lambda y, b: anp.exp(_logsf(y, b)),
    logsf=_logsf,
    logcdf=lambda y, b: log1mexp(-_logsf(y, b)),
    ppf=lambda q, b: anp.exp(-anp.log1p(-q) / b),
    isf=lambda q, b: anp.exp(-anp.log(q) / b),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
del _np
