"""The chi-squared distribution with ``df`` degrees of freedom, as ``scipy.stats.chi2``
(a gamma distribution of shape ``df/2`` and scale 2)."""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from . import gamma
from ._common import floats

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log of the density; ``-inf`` below ``loc``."""
    x, df, loc, scale = floats(x, df, loc, scale)
    return gamma.logpdf(x, 0.5 * df, loc, 2.0 * scale)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """The density."""
    return anp.exp(logpdf(x, df, loc, scale))
