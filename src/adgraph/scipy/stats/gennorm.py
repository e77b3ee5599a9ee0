"""The generalized normal distribution with shape ``beta``, as ``scipy.stats.gennorm``:
density ``beta / (2 Gamma(1/beta)) exp(-|y|**beta)``. Its distribution function is the
regularized incomplete gamma function of ``|y|**beta``, so derivatives in ``beta``
go through that function's derivative in its shape (first order)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import continuous, masked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG2 = float(_np.log(2.0))


def _logpdf(y: Any, beta: Any) -> Any:
    return anp.log(beta) - _LOG2 - special.gammaln(1.0 / beta) - anp.abs(y) ** beta


def _half_tail(y: Any, beta: Any) -> Any:
    # P(X > |y|) = Q(1/beta, |y|**beta) / 2; at y = 0 the power is evaluated on a stand-in
    # so that no 0**(beta-1) enters a derivative.
    nz = y != 0
    a = masked(nz, anp.abs(y), 1.0)
    return 0.5 * special.gammaincc(1.0 / beta, a**beta)


def _cdf(y: Any, beta: Any) -> Any:
    # at y = 0 the value 1/2 + y f(0): its derivatives (the density at 0) are exact there
    t = _half_tail(y, beta)
    f0 = anp.exp(anp.log(beta) - _LOG2 - special.gammaln(1.0 / beta))
    return anp.where(y != 0, anp.where(y > 0, 1.0 - t, t), 0.5 + y * f0)


def _sf(y: Any, beta: Any) -> Any:
    return _cdf(-y, beta)


def _ppf(q: Any, beta: Any) -> Any:
    # |y|**beta = Q^-1(1/beta, 2 min(q, 1 - q)), with the sign of q - 1/2 (the upper
    # gamma inverse keeps the digits of a small tail probability)
    t = 2.0 * anp.minimum(q, 1.0 - q)
    nz = t < 1
    g = special.gammainccinv(1.0 / beta, masked(nz, t, 0.5))
    # at q = 1/2 the value (q - 1/2) / f(0): its derivative there is exact (1/density)
    f0 = anp.exp(anp.log(beta) - _LOG2 - special.gammaln(1.0 / beta))
    return anp.where(nz, anp.sign(q - 0.5) * g ** (1.0 / beta), (q - 0.5) / f0)


_m = continuous(
    "gennorm",
    ("beta",),
    valid=lambda beta: beta > 0,
    logpdf=_logpdf,
    cdf=_cdf,
    sf=_sf,
    ppf=_ppf,
    isf=lambda q, beta: -_ppf(q, beta),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
