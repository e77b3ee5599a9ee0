"""The gamma distribution with shape ``a``, as ``scipy.stats.gamma``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the density ``y**(a-1) e**-y / Gamma(a) / scale``; ``-inf`` for ``y < 0``."""
    x, a, loc, scale = floats(x, a, loc, scale)
    y = (x - loc) / scale
    inside = y >= 0
    y = masked(inside, y, 1.0)
    val = special.xlogy(a - 1.0, y) - y - special.gammaln(a) - anp.log(scale)
    return outside(inside, val)


def pdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, a, loc, scale))
