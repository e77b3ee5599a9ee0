"""The Cauchy distribution, as ``scipy.stats.cauchy``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import floats

__all__ = ["logpdf", "pdf", "cdf", "ppf"]

_LOG_PI = float(_np.log(_np.pi))


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``-log(pi scale) - log(1 + y**2)``, ``y = (x-loc)/scale``."""
    x, loc, scale = floats(x, loc, scale)
    y = (x - loc) / scale
    return -_LOG_PI - anp.log(scale) - anp.log1p(y * y)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``1/2 + arctan(y)/pi``."""
    x, loc, scale = floats(x, loc, scale)
    return 0.5 + anp.arctan((x - loc) / scale) / _np.pi


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The quantile ``loc + scale tan(pi (q - 1/2))``."""
    q, loc, scale = floats(q, loc, scale)
    return loc + scale * anp.tan(_np.pi * (q - 0.5))
