"""The gamma distribution with shape ``a``, as ``scipy.stats.gamma``: density
``y**(a-1) e**-y / Gamma(a)`` for ``y = (x - loc)/scale >= 0``.

Differentiable in every argument: the distribution and quantile functions are the
regularized incomplete gamma functions and their inverses, whose derivative in the shape
``a`` is provided to first order."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import continuous, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpdf(y: Any, a: Any) -> Any:
    inside = y >= 0
    y = masked(inside, y, 1.0)
    return outside(inside, special.xlogy(a - 1.0, y) - y - special.gammaln(a))


def _pos(y: Any) -> Any:
    return anp.maximum(y, 0.0)


_m = continuous(
    "gamma",
    ("a",),
    valid=lambda a: a > 0,
    logpdf=_logpdf,
    cdf=lambda y, a: special.gammainc(a, _pos(y)),
    sf=lambda y, a: special.gammaincc(a, _pos(y)),
    ppf=lambda q, a: special.gammaincinv(a, q),
    isf=lambda q, a: special.gammainccinv(a, q),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
