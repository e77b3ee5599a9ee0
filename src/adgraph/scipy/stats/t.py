"""Student's t distribution with ``df`` degrees of freedom, as ``scipy.stats.t``.

The density is differentiable in ``x``, ``df``, ``loc`` and ``scale``; the
distribution and quantile functions (``special.stdtr``, ``special.stdtrit``) too, to
first order in ``df`` (through the incomplete beta function's shape derivative)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import continuous

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG_PI = float(_np.log(_np.pi))


def _logpdf(y: Any, df: Any) -> Any:
    # df = inf is the normal limit (the formula would give inf - inf); the formula sees a
    # stand-in df there, so it adds no nan to derivatives
    limit = anp.isinf(df)
    d = anp.where(limit, 1.0, df)
    half = 0.5 * (d + 1.0)
    val = _log_norm(d) - half * anp.log1p(y * y / d)
    return anp.where(limit, -0.5 * y * y - 0.5 * float(_np.log(2.0 * _np.pi)), val)


def _log_norm(d: Any) -> Any:
    """``gammaln((d+1)/2) - gammaln(d/2) - log(pi d)/2``, the log of the density's
    constant. With ``x = d/2`` it is ``g(x) - log(2 pi)/2``, ``g(x) = gammaln(x + 1/2) -
    gammaln(x) - log(x)/2``, which tends to 0: past d = 100 it is the asymptotic series
    ``-1/(8x) + 1/(192x^3) - 1/(640x^5) + 17/(14336x^7)`` (next term below 1e-18), as the
    difference of two gammaln lost ~1e-16 of gammaln(d/2) (4e-10 at d = 1e6, in the value
    and in the derivative in df)."""
    big = d > 100.0
    x = 0.5 * anp.where(big, d, 200.0)
    r = 1.0 / (x * x)
    series = (-1.0 / 8.0 + r * (1.0 / 192.0 + r * (-1.0 / 640.0 + r * (17.0 / 14336.0)))) / x
    ds = anp.where(big, 1.0, d)
    direct = (
        special.gammaln(0.5 * (ds + 1.0))
        - special.gammaln(0.5 * ds)
        - 0.5 * (anp.log(ds) + _LOG_PI)
    )
    return anp.where(big, series - 0.5 * (_LOG_2 + _LOG_PI), direct)


_LOG_2 = float(_np.log(2.0))


def _ppf(q: Any, df: Any) -> Any:
    # stdtrit gives +inf at both ends; the quantiles there are -inf and +inf
    inner = (q > 0) & (q < 1)
    val = special.stdtrit(df, anp.where(inner, q, 0.5))
    return anp.where(inner, val, anp.where(q <= 0, -_np.inf, _np.inf))


_m = continuous(
    "t",
    ("df",),
    valid=lambda df: df > 0,
    logpdf=_logpdf,
    cdf=lambda y, df: special.stdtr(df, y),
    sf=lambda y, df: special.stdtr(df, -y),
    ppf=_ppf,
    isf=lambda q, df: -_ppf(q, df),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
