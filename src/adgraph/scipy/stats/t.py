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
    val = (
        special.gammaln(half)
        - special.gammaln(0.5 * d)
        - 0.5 * (anp.log(d) + _LOG_PI)
        - half * anp.log1p(y * y / d)
    )
    return anp.where(limit, -0.5 * y * y - 0.5 * float(_np.log(2.0 * _np.pi)), val)


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
