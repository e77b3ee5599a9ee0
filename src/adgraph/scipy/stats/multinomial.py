"""The multinomial distribution of ``n`` trials over categories with probabilities ``p``
(last axis), as ``scipy.stats.multinomial``: mass
``n! prod_i p_i**x_i / x_i!`` where the counts ``x`` (last axis) sum to ``n``.

Differentiable in ``p``; ``x`` and ``n`` are counts."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf"]


def logpmf(x: Any, n: Any, p: Any) -> Any:
    """Log of the probability mass of the counts ``x`` (last axis); ``-inf`` where they are
    not non-negative integers summing to ``n``."""
    x, n, p = floats(x, n, p, what="multinomial.logpmf", names=("x", "n", "p"))
    if p.ndim == 0 or x.ndim == 0:
        raise ValueError(
            "multinomial.logpmf: x and p need a last axis of categories, got shapes "
            f"{tuple(x.shape)} and {tuple(p.shape)}"
        )
    # SciPy's reading of p: the last probability is 1 - the sum of the others (p need not
    # sum to 1); a probability outside [0, 1] gives nan
    p = anp.concatenate([p[..., :-1], 1.0 - anp.sum(p[..., :-1], axis=-1, keepdims=True)], -1)
    p_ok = anp.all((p >= 0) & (p <= 1), axis=-1)
    valid = anp.all((x >= 0) & (anp.floor(x) == x), axis=-1) & (anp.sum(x, axis=-1) == n)
    xs = masked(valid[..., None], x, 0.0)
    val = (
        special.gammaln(n + 1.0)
        - anp.sum(special.gammaln(xs + 1.0), axis=-1)
        + anp.sum(special.xlogy(xs, p), axis=-1)
    )
    return outside(p_ok, outside(valid, val), _np.nan)


def pmf(x: Any, n: Any, p: Any) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(x, n, p))
