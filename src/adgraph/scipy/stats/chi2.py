"""The chi-squared distribution with ``df`` degrees of freedom, as ``scipy.stats.chi2``:
the gamma distribution with shape ``df/2`` and scale 2."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import continuous, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG2 = 0.6931471805599453


def _logpdf(y: Any, df: Any) -> Any:
    inside = y >= 0
    h = 0.5 * masked(inside, y, 1.0)
    a = 0.5 * df
    return outside(inside, special.xlogy(a - 1.0, h) - h - special.gammaln(a) - _LOG2)


def _pos(y: Any) -> Any:
    return 0.5 * anp.maximum(y, 0.0)


_m = continuous(
    "chi2",
    ("df",),
    valid=lambda df: df > 0,
    logpdf=_logpdf,
    cdf=lambda y, df: special.gammainc(0.5 * df, _pos(y)),
    sf=lambda y, df: special.gammaincc(0.5 * df, _pos(y)),
    ppf=lambda q, df: 2.0 * special.gammaincinv(0.5 * df, q),
    isf=lambda q, df: 2.0 * special.gammainccinv(0.5 * df, q),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
