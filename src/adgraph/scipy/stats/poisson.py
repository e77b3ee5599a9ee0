"""The Poisson distribution with mean ``mu``, as ``scipy.stats.poisson``.

The count ``k`` carries no derivative; ``mu`` does. The distribution function is the
regularized upper incomplete gamma function, ``P(K <= k) = Q(floor(k) + 1, mu)``, and
the survival function the lower one, so both tails keep their digits."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import discrete, floats, masked, outside

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "entropy"]


def _logpmf(k: Any, mu: Any) -> Any:
    inside = (k >= 0) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    return outside(inside, special.xlogy(k, mu) - special.gammaln(k + 1.0) - mu)


def _tail(k: Any, mu: Any, upper: bool) -> Any:
    inside = k >= 0
    a = anp.floor(masked(inside, k, 0.0)) + 1.0
    val = special.gammainc(a, mu) if upper else special.gammaincc(a, mu)
    return outside(inside, val, 1.0 if upper else 0.0)


_m = discrete(
    "poisson",
    ("mu",),
    valid=lambda mu: mu >= 0,
    logpmf=_logpmf,
    cdf=lambda k, mu: _tail(k, mu, False),
    sf=lambda k, mu: _tail(k, mu, True),
)
logpmf, pmf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__[:-1])


def entropy(mu: Any, loc: Any = 0) -> Any:
    """The entropy -sum_k pmf(k) log pmf(k), summed over the counts that carry mass
    (up to mu + 20 sqrt(mu) + 40); differentiable in mu."""
    (mu,) = floats(mu, what="poisson.entropy", names=("mu",))
    v = _np.asarray(mu.primal_value() if hasattr(mu, "primal_value") else mu)
    top = float(_np.nanmax(v, initial=0.0)) if v.size else 0.0
    n = int(top + 20.0 * _np.sqrt(max(top, 0.0)) + 40.0)
    k = _np.arange(n + 1, dtype=_np.float64)
    m = mu[..., None]
    lp = special.xlogy(k, m) - special.gammaln(k + 1.0) - m
    return -anp.sum(anp.exp(lp) * lp, axis=-1)
