"""The Poisson distribution with mean ``mu``, as ``scipy.stats.poisson``.

The count ``k`` carries no derivative; ``mu`` does. ``cdf`` sums the mass function term by
term up to the largest ``k``, so ``k`` must be concrete there.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import concrete, floats, masked, outside

__all__ = ["logpmf", "pmf", "cdf"]


def logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``k log mu - log k! - mu``; ``-inf`` where ``k - loc`` is not a non-negative integer."""
    k, mu, loc = floats(k, mu, loc)
    k = k - loc
    inside = (k >= 0) & (anp.floor(k) == k)
    k = masked(inside, k, 0.0)
    return outside(inside, special.xlogy(k, mu) - special.gammaln(k + 1.0) - mu)


def pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(k, mu, loc))


def cdf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``P(K <= k)``, the sum of the masses of ``0 .. floor(k - loc)``."""
    kk = _np.floor(concrete("poisson.cdf's k", k) - concrete("poisson.cdf's loc", loc))
    (mu,) = floats(mu)
    top = int(max(kk.max(initial=0), 0))
    j = _np.arange(top + 1, dtype=_np.float64)
    shape = _np.broadcast_shapes(kk.shape, mu.shape)
    m = anp.broadcast_to(mu, shape)[..., None]
    terms = anp.exp(special.xlogy(j, m) - special.gammaln(j + 1.0) - m)
    keep = j <= _np.broadcast_to(kk, shape)[..., None]
    return anp.sum(anp.where(keep, terms, 0.0), axis=-1)
