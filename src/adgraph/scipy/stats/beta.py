"""The beta distribution on ``[loc, loc + scale]``, as ``scipy.stats.beta``."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the density; ``-inf`` outside ``[loc, loc + scale]``."""
    x, a, b, loc, scale = floats(x, a, b, loc, scale)
    y = (x - loc) / scale
    inside = (y >= 0) & (y <= 1)
    y = masked(inside, y, 0.5)
    lbeta = special.gammaln(a) + special.gammaln(b) - special.gammaln(a + b)
    val = special.xlogy(a - 1.0, y) + special.xlog1py(b - 1.0, -y) - lbeta - anp.log(scale)
    return outside(inside, val)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, a, b, loc, scale))
