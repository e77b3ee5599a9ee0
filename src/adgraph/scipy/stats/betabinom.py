"""The beta-binomial distribution of ``n`` trials with beta(a, b) success probability, as
``scipy.stats.betabinom``: mass ``C(n, k) B(k + a, n - k + b) / B(a, b)`` on
``0, 1, .., n``.

Differentiable in ``a`` and ``b``; ``k`` and ``n`` are counts. ``cdf`` and ``sf`` sum the
masses term by term up to the largest ``n``, so ``n`` must be concrete there."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import concrete, discrete, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def _logpmf(k: Any, n: Any, a: Any, b: Any) -> Any:
    inside = (k >= 0) & (k <= n) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    lchoose = special.gammaln(n + 1.0) - special.gammaln(k + 1.0) - special.gammaln(n - k + 1.0)
    return outside(inside, lchoose + special.betaln(k + a, n - k + b) - special.betaln(a, b))


def _sum(k: Any, n: Any, a: Any, b: Any, upper: bool) -> Any:
    # the masses of j <= k (upper: j > k), summed term by term; 1 - the other sum would
    # lose the small tail
    kk = anp.floor(k)
    nn = concrete("betabinom.cdf's n", n)
    top = int(max(_np.max(nn, initial=0), 0))
    j = _np.arange(top + 1, dtype=_np.float64)
    shape = _np.broadcast_shapes(anp.shape(kk), nn.shape, anp.shape(a), anp.shape(b))
    nb = _np.broadcast_to(nn, shape)[..., None]
    terms = anp.exp(_logpmf(j, nb, _last(a, shape), _last(b, shape)))
    kb = anp.broadcast_to(kk, shape)[..., None]
    keep = (j > kb) if upper else (j <= kb)
    return anp.minimum(anp.sum(anp.where(keep, terms, 0.0), axis=-1), 1.0)


def _last(v: Any, shape: tuple) -> Any:
    return anp.broadcast_to(v, shape)[..., None]


_m = discrete(
    "betabinom",
    ("n", "a", "b"),
    valid=lambda n, a, b: (n >= 0) & (anp.floor(n) == n) & (a > 0) & (b > 0),
    logpmf=_logpmf,
    cdf=lambda k, n, a, b: _sum(k, n, a, b, False),
    sf=lambda k, n, a, b: _sum(k, n, a, b, True),
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
