"""The Laplace (double exponential) distribution, as ``scipy.stats.laplace``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import continuous, floats, masked, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG2 = float(_np.log(2.0))


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-|x - loc|/scale - log(2 scale)``."""
    x, loc, scale = floats(x, loc, scale, what="laplace.logpdf", names=("x", "loc", "scale"))
    return -anp.abs(x - loc) / scale - anp.log(scale) - _LOG2


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``e**y / 2`` below ``loc``, ``1 - e**-y / 2`` above, ``y = (x-loc)/scale``."""
    x, loc, scale = floats(x, loc, scale, what="laplace.cdf", names=("x", "loc", "scale"))
    y = (x - loc) / scale
    neg = y < 0
    # each branch sees only the values it is evaluated on: no overflowing exp
    return anp.where(
        neg, 0.5 * anp.exp(anp.where(neg, y, 0.0)), 1.0 - 0.5 * anp.exp(-anp.where(neg, 0.0, y))
    )


# The remaining methods, from the forms on the standard variable y = (x - loc) / scale.
def _logcdf(y: Any) -> Any:
    neg = y < 0
    return anp.where(
        neg, masked(neg, y, -1.0) - _LOG2, anp.log1p(-0.5 * anp.exp(-masked(neg, 1.0, y)))
    )


def _ppf(q: Any) -> Any:
    low = q < 0.5
    return anp.where(
        low, anp.log(2.0 * masked(low, q, 0.25)), -anp.log(2.0 - 2.0 * masked(low, 0.75, q))
    )


_m = continuous(
    "laplace",
    logpdf=lambda y: -anp.abs(y) - _LOG2,
    cdf=lambda y: anp.exp(_logcdf(y)),
    logcdf=_logcdf,
    sf=lambda y: anp.exp(_logcdf(-y)),
    logsf=lambda y: _logcdf(-y),
    ppf=_ppf,
    isf=lambda q: -_ppf(q),
)
logcdf, sf, logsf, ppf, isf = (_m[k] for k in ("logcdf", "sf", "logsf", "ppf", "isf"))


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
