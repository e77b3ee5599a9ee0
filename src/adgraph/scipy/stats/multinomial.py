"""The multinomial distribution of ``n`` trials over categories with probabilities ``p``
(last axis), as ``scipy.stats.multinomial``: mass
``n! prod_i p_i**x_i / x_i!`` where the counts ``x`` (last axis) sum to ``n``.

Differentiable in ``p``; ``x`` and ``n`` are counts."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpmf", "pmf"]


def logpmf(x: Any, n: Any, p: Any) -> Any:
    """Log of the probability mass of the counts ``x`` (last axis); ``-inf`` where they are
    not non-negative integers summing to ``n``."""
    x, n, p = floats(x, n, p)
    valid = anp.all((x >= 0) & (anp.floor(x) == x), axis=-1) & (anp.sum(x, axis=-1) == n)
    xs = masked(valid[..., None], x, 0.0)
    val = (
        special.gammaln(n + 1.0)
        - anp.sum(special.gammaln(xs + 1.0), axis=-1)
        + anp.sum(special.xlogy(xs, p), axis=-1)
    )
    return outside(valid, val)


def pmf(x: Any, n: Any, p: Any) -> Any:
    """The probability mass."""
    return anp.exp(logpmf(x, n, p))
