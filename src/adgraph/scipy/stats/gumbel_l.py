"""The left-skewed Gumbel distribution, as ``scipy.stats.gumbel_l``: survival function
``exp(-exp(y))`` of ``y = (x - loc)/scale`` (the mirror image of gumbel_r)."""

from __future__ import annotations

from ... import numpy as anp
from ._common import continuous, log1mexp

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

# Past y = 40, exp(-exp(y)) is 0 in float64: the cdf and sf are evaluated at y = 40 there,
# so that their derivative is that exact 0 instead of exp(y) * exp(-exp(y)) = inf * 0.
_FLAT = 40.0


def _flat(y):
    return anp.where(y > _FLAT, _FLAT, y)


_m = continuous(
    "gumbel_l",
    logpdf=lambda y: y - anp.exp(y),
    cdf=lambda y: -anp.expm1(-anp.exp(_flat(y))),
    logcdf=lambda y: log1mexp(anp.exp(_flat(y))),
    sf=lambda y: anp.exp(-anp.exp(_flat(y))),
    logsf=lambda y: -anp.exp(y),
    ppf=lambda q: anp.log(-anp.log1p(-q)),
    isf=lambda q: anp.log(-anp.log(q)),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
