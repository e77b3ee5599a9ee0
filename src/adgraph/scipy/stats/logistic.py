"""The logistic distribution, as ``scipy.stats.logistic``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import continuous, floats, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _y(x: Any, loc: Any, scale: Any) -> tuple[Any, Any]:
    x, loc, scale = floats(x, loc, scale, what="logistic", names=("x", "loc", "scale"))
    return (x - loc) / scale, scale


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-|y| - 2 log(1 + e**-|y|) - log(scale)`` (symmetric, so no overflow either side)."""
    y, scale = _y(x, loc, scale)
    a = anp.abs(y)
    return -a - 2.0 * anp.log1p(anp.exp(-a)) - anp.log(scale)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The logistic sigmoid of ``y``."""
    y, _ = _y(x, loc, scale)
    return special.expit(y)


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``expit(-y)``."""
    y, _ = _y(x, loc, scale)
    return special.expit(-y)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile ``loc + scale logit(q)``."""
    q, loc, scale = floats(q, loc, scale, what="logistic.ppf", names=("q", "loc", "scale"))
    return loc + scale * special.logit(q)


# The remaining methods, from the forms on the standard variable y = (x - loc) / scale.
_m = continuous(
    "logistic",
    logpdf=lambda y: -anp.abs(y) - 2.0 * anp.log1p(anp.exp(-anp.abs(y))),
    cdf=special.expit,
    logcdf=lambda y: -anp.logaddexp(0.0, -y),
    sf=lambda y: special.expit(-y),
    logsf=lambda y: -anp.logaddexp(0.0, y),
    ppf=special.logit,
    isf=lambda q: -special.logit(q),
)
logcdf, logsf, isf = (_m[k] for k in ("logcdf", "logsf", "isf"))


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
