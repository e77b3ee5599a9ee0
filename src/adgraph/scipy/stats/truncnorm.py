"""The truncated normal distribution, as ``scipy.stats.truncnorm``: the standard normal
restricted to ``[a, b]`` (``a``, ``b`` in standard units), shifted by ``loc`` and scaled
by ``scale``.

Every probability is computed in log space from ``log Phi`` (``special.log_ndtr``): the
mass ``Z = Phi(b) - Phi(a)`` as ``log Phi(b) + log(1 - Phi(a)/Phi(b))``, or on the mirror
image when ``a > 0``, so that truncations far in a tail keep their digits."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import LOG_2PI, continuous, log1mexp, masked, outside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logdiff(u: Any, lo: Any) -> Any:
    """``log(Phi(u) - Phi(lo))`` for ``u > lo``, on the side of 0 where it is accurate."""
    right = lo > 0
    # right of 0: Phi(u) - Phi(lo) = Phi(-lo) - Phi(-u)
    lr, ur = masked(right, lo, 1.0), masked(right, u, 2.0)
    a1, a2 = special.log_ndtr(-lr), special.log_ndtr(-ur)
    r = a1 + log1mexp(a1 - a2)
    ll, ul = masked(right, -1.0, lo), masked(right, 0.0, u)
    b1, b2 = special.log_ndtr(ul), special.log_ndtr(ll)
    left = b1 + log1mexp(b1 - b2)
    return anp.where(right, r, left)


def _logz(a: Any, b: Any) -> Any:
    return _logdiff(b, a)


def _logpdf(y: Any, a: Any, b: Any) -> Any:
    inside = (y >= a) & (y <= b)
    ys = masked(inside, y, 0.0)
    return outside(inside, -0.5 * ys * ys - 0.5 * LOG_2PI - _logz(a, b))


def _direct(y: Any, a: Any, b: Any) -> tuple[Any, Any, Any]:
    """``(inside, log cdf, log sf)`` each from its own difference of Phi: accurate while
    it is not close to 0 (the other is then small, and gives it through log1p)."""
    inside = (y > a) & (y < b)
    ys = masked(inside, y, 0.5 * (a + b))
    lz = _logz(a, b)
    return inside, _logdiff(ys, a) - lz, _logdiff(b, ys) - lz


def _complement(lp: Any, lq: Any) -> Any:
    """``log p`` from ``log p`` itself, or from ``log(1 - p) = lq`` where that is below
    log(1/2) (``log p = log1mexp(-lq)`` is then accurate where p is near 1)."""
    small = lq < -_LN2
    t = masked(small, -lq, 1.0)
    return anp.where(small, log1mexp(t), lp)


_LN2 = float(_np.log(2.0))


def _logcdf(y: Any, a: Any, b: Any) -> Any:
    inside, lc, ls = _direct(y, a, b)
    return anp.where(inside, _complement(lc, ls), anp.where(y <= a, -_np.inf, 0.0))


def _logsf(y: Any, a: Any, b: Any) -> Any:
    inside, lc, ls = _direct(y, a, b)
    return anp.where(inside, _complement(ls, lc), anp.where(y >= b, -_np.inf, 0.0))


def _ppf(q: Any, a: Any, b: Any) -> Any:
    # Phi(x) = Phi(a) + q Z left of 0; Phi(-x) = Phi(-b) + (1 - q) Z right of it
    z = anp.exp(_logz(a, b))
    right = a > 0
    left_x = special.ndtri(special.ndtr(a) + q * z)
    right_x = -special.ndtri(special.ndtr(-b) + (1.0 - q) * z)
    return anp.clip(anp.where(right, right_x, left_x), a, b)


_m = continuous(
    "truncnorm",
    ("a", "b"),
    valid=lambda a, b: a < b,
    logpdf=_logpdf,
    cdf=lambda y, a, b: anp.exp(_logcdf(y, a, b)),
    sf=lambda y, a, b: anp.exp(_logsf(y, a, b)),
    logcdf=_logcdf,
    logsf=_logsf,
    ppf=_ppf,
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
