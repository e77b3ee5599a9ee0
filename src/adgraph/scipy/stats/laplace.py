"""The Laplace (double exponential) distribution, as ``scipy.stats.laplace``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import floats

__all__ = ["logpdf", "pdf", "cdf"]

_LOG2 = float(_np.log(2.0))


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-|x - loc|/scale - log(2 scale)``."""
    x, loc, scale = floats(x, loc, scale)
    return -anp.abs(x - loc) / scale - anp.log(scale) - _LOG2


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``e**y / 2`` below ``loc``, ``1 - e**-y / 2`` above, ``y = (x-loc)/scale``."""
    x, loc, scale = floats(x, loc, scale)
    y = (x - loc) / scale
    neg = y < 0
    # each branch sees only the values it is evaluated on: no overflowing exp
    return anp.where(
        neg, 0.5 * anp.exp(anp.where(neg, y, 0.0)), 1.0 - 0.5 * anp.exp(-anp.where(neg, 0.0, y))
    )
