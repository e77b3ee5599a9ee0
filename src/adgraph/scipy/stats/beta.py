"""The beta distribution with shapes ``a``, ``b``, as ``scipy.stats.beta``: density
``y**(a-1) (1-y)**(b-1) / B(a, b)`` on ``[0, 1]``.

The density is differentiable in every argument; the distribution and quantile functions
(the regularized incomplete beta function and its inverse) too, to first order in the
shapes ``a`` and ``b`` (a second derivative in them raises NoDerivativeError)."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import continuous, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpdf(y: Any, a: Any, b: Any) -> Any:
    inside = (y >= 0) & (y <= 1)
    y = masked(inside, y, 0.5)
    val = special.xlogy(a - 1.0, y) + special.xlog1py(b - 1.0, -y) - special.betaln(a, b)
    return outside(inside, val)


def _clip01(y: Any) -> Any:
    return anp.clip(y, 0.0, 1.0)


_m = continuous(
    "beta",
    ("a", "b"),
    valid=lambda a, b: (a > 0) & (b > 0),
    logpdf=_logpdf,
    cdf=lambda y, a, b: special.betainc(a, b, _clip01(y)),
    sf=lambda y, a, b: special.betainc(b, a, _clip01(1.0 - y)),
    ppf=lambda q, a, b: special.betaincinv(a, b, q),
    isf=lambda q, a, b: 1.0 - special.betaincinv(b, a, q),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
