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


def _sf(y: Any, a: Any, b: Any) -> Any:
    # I_{1-y}(b, a) where 1 - y is exact (y >= 1/2); below, 1 - y rounds (1e-9 relative
    # off at y = 1e-10, a = 0.1), so there 1 - I_y(a, b) where that is at least 1/2
    hi = y >= 0.5
    c = special.betainc(a, b, masked(hi, 0.25, y))
    use_c = ~hi & (c < 0.5)
    flip = special.betainc(b, a, 1.0 - masked(use_c, 0.5, y))
    return anp.where(use_c, 1.0 - c, flip)


def _isf(q: Any, a: Any, b: Any) -> Any:
    # above q = 1/2 the quantile of 1 - q (exact there): 1 - (1 - x) lost every digit of
    # a small x (0.0 for 2.5e-24 at q = 1 - 1e-12, a = b = 1/2, and an infinite gradient)
    hi = q > 0.5
    upper = special.betaincinv(a, b, 1.0 - masked(hi, q, 0.75))
    lower = 1.0 - special.betaincinv(b, a, masked(hi, 0.25, q))
    return anp.where(hi, upper, lower)


_m = continuous(
    "beta",
    ("a", "b"),
    valid=lambda a, b: (a > 0) & (b > 0),
    logpdf=_logpdf,
    cdf=lambda y, a, b: special.betainc(a, b, _clip01(y)),
    sf=lambda y, a, b: _sf(_clip01(y), a, b),
    ppf=lambda q, a, b: special.betaincinv(a, b, q),
    isf=lambda q, a, b: _isf(q, a, b),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
