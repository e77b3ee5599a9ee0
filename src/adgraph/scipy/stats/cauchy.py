"""The Cauchy distribution, as ``scipy.stats.cauchy``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import continuous, floats, masked, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG_PI = float(_np.log(_np.pi))


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-log(pi scale) - log(1 + y**2)``, ``y = (x-loc)/scale``."""
    x, loc, scale = floats(x, loc, scale, what="cauchy.logpdf", names=("x", "loc", "scale"))
    return -_LOG_PI - anp.log(scale) + _log_kernel((x - loc) / scale)


def _log_kernel(y: Any) -> Any:
    """``-log(1 + y**2)``, as ``-2 log|y| - log1p(1/y**2)`` past ``|y| = 1`` (``y**2``
    overflows past 1e154: the log-density was -inf at 1e300 instead of -1382.7)."""
    far = anp.abs(y) > 1.0
    yf = anp.abs(masked(far, y, 2.0))
    yn = masked(far, 0.0, y)
    return anp.where(far, -2.0 * anp.log(yf) - anp.log1p((1.0 / yf) ** 2), -anp.log1p(yn * yn))


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``1/2 + arctan(y)/pi``, as ``arctan(-1/y)/pi`` below ``y = -1`` (no cancellation
    against 1/2 in the lower tail: 2e-8 off at y = -1e10 before)."""
    x, loc, scale = floats(x, loc, scale, what="cauchy.cdf", names=("x", "loc", "scale"))
    return _sf(-(x - loc) / scale)


# The remaining methods, from the forms on the standard variable y = (x - loc) / scale.
def _sf(y: Any) -> Any:
    # arctan(1/y)/pi for y > 1: no cancellation against 1/2 in the upper tail
    far = y > 1
    return anp.where(
        far,
        anp.arctan(1.0 / masked(far, y, 2.0)) / _np.pi,
        0.5 - anp.arctan(masked(far, 0.0, y)) / _np.pi,
    )


def _ppf(q: Any) -> Any:
    """``tan(pi (q - 1/2))``, as ``-1/tan(pi q)`` below 1/4 and ``1/tan(pi (1 - q))``
    above 3/4 (``q - 1/2`` would round in the tails); infinite at 0 and 1."""
    lo, hi = q < 0.25, q > 0.75
    mid = ~(lo | hi)
    low = -1.0 / anp.tan(_np.pi * masked(lo, q, 0.1))
    high = 1.0 / anp.tan(_np.pi * (1.0 - masked(hi, q, 0.9)))
    return anp.where(lo, low, anp.where(hi, high, anp.tan(_np.pi * (masked(mid, q, 0.5) - 0.5))))


_m = continuous(
    "cauchy",
    logpdf=lambda y: -_LOG_PI + _log_kernel(y),
    cdf=lambda y: _sf(-y),
    sf=_sf,
    ppf=_ppf,
    isf=lambda q: -_ppf(q),
)
logcdf, sf, logsf, ppf, isf = (_m[k] for k in ("logcdf", "sf", "logsf", "ppf", "isf"))


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
