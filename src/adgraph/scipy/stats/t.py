"""Student's t distribution, as ``scipy.stats.t`` (``df`` degrees of freedom)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import floats

__all__ = ["logpdf", "pdf"]

_LOG_PI = float(_np.log(_np.pi))


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the density; differentiable in ``x``, ``df``, ``loc`` and ``scale``."""
    x, df, loc, scale = floats(x, df, loc, scale)
    z = (x - loc) / scale
    half = 0.5 * (df + 1.0)
    return (
        special.gammaln(half)
        - special.gammaln(0.5 * df)
        - 0.5 * (anp.log(df) + _LOG_PI)
        - anp.log(scale)
        - half * anp.log1p(z * z / df)
    )


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, df, loc, scale))
