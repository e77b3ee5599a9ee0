"""The left-skewed Gumbel distribution, as ``scipy.stats.gumbel_l``: survival function
``exp(-exp(y))`` of ``y = (x - loc)/scale`` (the mirror image of gumbel_r)."""

from __future__ import annotations

from ... import numpy as anp
from ._common import continuous, log1mexp

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_m = continuous(
    "gumbel_l",
    logpdf=lambda y: y - anp.exp(y),
    cdf=lambda y: -anp.expm1(-anp.exp(y)),
    logcdf=lambda y: log1mexp(anp.exp(y)),
    sf=lambda y: anp.exp(-anp.exp(y)),
    logsf=lambda y: -anp.exp(y),
    ppf=lambda q: anp.log(-anp.log1p(-q)),
    isf=lambda q: anp.log(-anp.log(q)),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
