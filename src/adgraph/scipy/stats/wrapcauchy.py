"""The wrapped Cauchy distribution with shape ``c`` (0 < c < 1), as
``scipy.stats.wrapcauchy``: density ``(1 - c**2) / (2 pi (1 + c**2 - 2 c cos y))`` on
``0 <= y < 2 pi``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import continuous, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_2PI = 2.0 * _np.pi


def _logpdf(y: Any, c: Any) -> Any:
    inside = (y >= 0) & (y < _2PI)
    ys = masked(inside, y, 1.0)
    val = anp.log1p(-c * c) - anp.log(_2PI * (1.0 + c * c - 2.0 * c * anp.cos(ys)))
    return outside(inside, val)


def _cdf(y: Any, c: Any) -> Any:
    # F(y) = arctan(r tan(y/2))/pi below pi, 1 - F(2 pi - y) above, r = (1+c)/(1-c)
    r = (1.0 + c) / (1.0 - c)
    inside = (y > 0) & (y < _2PI)
    ys = masked(inside, y, 1.0)
    low = ys < _np.pi
    yl = masked(low, ys, 1.0)
    yh = masked(~low, ys, 4.0)
    lo = anp.arctan(r * anp.tan(yl / 2.0)) / _np.pi
    hi = 1.0 - anp.arctan(r * anp.tan((_2PI - yh) / 2.0)) / _np.pi
    val = anp.where(low, lo, hi)
    return anp.where(inside, val, anp.where(y <= 0, 0.0, 1.0))


def _ppf(q: Any, c: Any) -> Any:
    r = (1.0 + c) / (1.0 - c)
    low = q < 0.5
    ql = masked(low, q, 0.25)
    qh = masked(~low, q, 0.75)
    lo = 2.0 * anp.arctan(anp.tan(_np.pi * ql) / r)
    hi = _2PI - 2.0 * anp.arctan(anp.tan(_np.pi * (1.0 - qh)) / r)
    return anp.where(low, lo, hi)


_m = continuous(
    "wrapcauchy", ("c",), valid=lambda c: (c > 0) & (c < 1), logpdf=_logpdf, cdf=_cdf, ppf=_ppf
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
