"""The uniform distribution on ``[loc, loc + scale]``, as ``scipy.stats.uniform``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from ._common import continuous, floats, outside, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-log(scale)`` on ``[loc, loc + scale]``, ``-inf`` elsewhere."""
    x, loc, scale = floats(x, loc, scale, what="uniform.logpdf", names=("x", "loc", "scale"))
    y = (x - loc) / scale
    return outside((y >= 0) & (y <= 1), -anp.log(scale) + 0.0 * y)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``(x - loc)/scale`` clipped to ``[0, 1]``."""
    x, loc, scale = floats(x, loc, scale, what="uniform.cdf", names=("x", "loc", "scale"))
    return anp.clip((x - loc) / scale, 0.0, 1.0)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile ``loc + q scale``."""
    q, loc, scale = floats(q, loc, scale, what="uniform.ppf", names=("q", "loc", "scale"))
    return loc + q * scale


# The remaining methods, from the forms on the standard variable y = (x - loc) / scale.
_m = continuous(
    "uniform",
    logpdf=lambda y: outside((y >= 0) & (y <= 1), 0.0 * y),
    cdf=lambda y: anp.clip(y, 0.0, 1.0),
    sf=lambda y: anp.clip(1.0 - y, 0.0, 1.0),
    ppf=lambda q: q,
    isf=lambda q: 1.0 - q,
)
logcdf, sf, logsf, isf = (_m[k] for k in ("logcdf", "sf", "logsf", "isf"))


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
