"""The exponential distribution, as ``scipy.stats.expon`` (``scale`` is the mean)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import floats, log1mexp, masked, outside, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _y(x: Any, loc: Any, scale: Any) -> tuple[Any, Any, Any]:
    x, loc, scale = floats(x, loc, scale, what="expon", names=("x", "loc", "scale"))
    y = (x - loc) / scale
    inside = y >= 0
    return masked(inside, y, 0.0), inside, scale


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-y - log(scale)`` for ``y = (x-loc)/scale >= 0``; ``-inf`` below."""
    y, inside, scale = _y(x, loc, scale)
    return outside(inside, -y - anp.log(scale))


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``1 - e**-y``; 0 below ``loc``."""
    y, inside, _ = _y(x, loc, scale)
    return outside(inside, -anp.expm1(-y), 0.0)


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(1 - e**-y)``; ``-inf`` at and below ``loc``."""
    y, inside, _ = _y(x, loc, scale)
    pos = inside & (y > 0)
    return outside(pos, log1mexp(masked(pos, y, 1.0)))


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``e**-y``; 1 below ``loc``."""
    y, inside, _ = _y(x, loc, scale)
    return outside(inside, anp.exp(-y), 1.0)


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-y``; 0 below ``loc``."""
    y, inside, _ = _y(x, loc, scale)
    return outside(inside, -y, 0.0)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile ``loc - scale log(1 - q)``; nan outside ``0 <= q <= 1``."""
    q, loc, scale = floats(q, loc, scale, what="expon.ppf", names=("q", "loc", "scale"))
    ok = (q >= 0) & (q <= 1)
    return outside(ok, loc - scale * anp.log1p(-masked(ok, q, 0.5)), _np.nan)


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The inverse survival function ``loc - scale log(q)``; nan outside ``0 <= q <= 1``."""
    q, loc, scale = floats(q, loc, scale, what="expon.isf", names=("q", "loc", "scale"))
    ok = (q >= 0) & (q <= 1)
    return outside(ok, loc - scale * anp.log(masked(ok, q, 0.5)), _np.nan)


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
