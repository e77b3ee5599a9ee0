"""The normal distribution, as ``scipy.stats.norm``: ``loc`` is the mean, ``scale`` the
standard deviation."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import LOG_2PI, floats, masked, scale_checked

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_SQRT2 = float(_np.sqrt(2.0))
# Below this, log Phi(z) by its asymptotic series: erfc(-z/sqrt 2) underflows near z = -37,
# and its powers in higher derivatives (1/erfc**2, ...) much sooner. At z = -20 the series'
# first omitted term is 1.3e-16 relative.
_ASYMPTOTIC = -20.0


def _z(x: Any, loc: Any, scale: Any) -> Any:
    x, loc, scale = floats(x, loc, scale, what="norm", names=("x", "loc", "scale"))
    return (x - loc) / scale


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the density, ``-z**2/2 - log(scale) - log(2 pi)/2`` with ``z = (x-loc)/scale``."""
    z = _z(x, loc, scale)
    return -0.5 * z * z - anp.log(anp.asarray(scale, dtype=z.dtype)) - 0.5 * LOG_2PI


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def _log_ndtr(z: Any) -> Any:
    # Three regimes, each evaluated only on inputs where it is accurate and finite:
    # z > 0: log1p(-Phi(-z)); -20 <= z <= 0: log Phi(z) from erfc; z < -20: the series
    # log Phi(z) = -z^2/2 - log(-z) - log(2 pi)/2 + log(1 - 1/z^2 + 3/z^4 - 15/z^6 ...).
    pos = z > 0
    zp = masked(pos, z, 1.0)
    upper = anp.log1p(-0.5 * special.erfc(zp / _SQRT2))
    mid_ok = (z <= 0) & (z >= _ASYMPTOTIC)
    zm = masked(mid_ok, z, -1.0)
    middle = anp.log(0.5 * special.erfc(-zm / _SQRT2))
    low = z < _ASYMPTOTIC
    zl = masked(low, z, 2.0 * _ASYMPTOTIC)
    r = 1.0 / (zl * zl)
    c = (-1.0, 3.0, -15.0, 105.0, -945.0, 10395.0, -135135.0, 2027025.0)  # (-1)^n (2n-1)!!
    series = 0.0
    for cn in reversed(c):
        series = r * (cn + series)
    series = 1.0 + series
    lower = -0.5 * zl * zl - anp.log(-zl) - 0.5 * LOG_2PI + anp.log(series)
    return anp.where(pos, upper, anp.where(low, lower, middle))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The distribution function ``Phi(z)``."""
    return 0.5 * special.erfc(-_z(x, loc, scale) / _SQRT2)


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log Phi(z)``, accurate far into the lower tail (finite down to z = -1e150)."""
    return _log_ndtr(_z(x, loc, scale))


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The survival function ``1 - Phi(z)``, computed without cancellation."""
    return 0.5 * special.erfc(_z(x, loc, scale) / _SQRT2)


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(1 - Phi(z)) = log Phi(-z)``."""
    return _log_ndtr(-_z(x, loc, scale))


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile function, inverse of :func:`cdf` (``special.ndtri``: accurate in the
    lower tail, where ``2q - 1`` would round)."""
    q, loc, scale = floats(q, loc, scale, what="norm.ppf", names=("q", "loc", "scale"))
    return loc + scale * special.ndtri(q)


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The inverse survival function, inverse of :func:`sf`."""
    q, loc, scale = floats(q, loc, scale, what="norm.isf", names=("q", "loc", "scale"))
    return loc - scale * special.ndtri(q)


# a scale <= 0 gives nan, as in SciPy
for _name in __all__:
    globals()[_name] = scale_checked(globals()[_name])
del _name
