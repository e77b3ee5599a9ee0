"""The Dirichlet distribution with concentrations ``alpha``, as ``scipy.stats.dirichlet``.

``x`` holds the components on its first axis, as SciPy's does: shape ``(K,)`` for one
point or ``(K, N)`` for ``N`` points. Points off the simplex get ``-inf`` (SciPy raises).
"""

from __future__ import annotations

from typing import Any

from ... import numpy as anp
from .. import special
from ._common import floats, masked, outside

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, alpha: Any) -> Any:
    """``sum((alpha-1) log x) + log Gamma(sum alpha) - sum(log Gamma(alpha))``."""
    x, alpha = floats(x, alpha, what="dirichlet.logpdf", names=("x", "alpha"))
    if alpha.ndim != 1:
        raise ValueError(f"dirichlet.logpdf: alpha must be 1-D, got shape {alpha.shape}")
    if x.shape[:1] != alpha.shape:
        raise ValueError(
            f"dirichlet.logpdf: x's first axis ({x.shape}) must match alpha's length "
            f"{alpha.shape[0]}; components go on the first axis, as in SciPy"
        )
    a = anp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    inside = anp.all(x >= 0, axis=0) & (anp.abs(anp.sum(x, axis=0) - 1.0) < 1e-6)
    x = masked(inside, x, 1.0 / alpha.shape[0])
    lnorm = special.gammaln(anp.sum(alpha)) - anp.sum(special.gammaln(alpha))
    return outside(inside, anp.sum(special.xlogy(a - 1.0, x), axis=0) + lnorm)


def pdf(x: Any, alpha: Any) -> Any:
    """The density."""
    return anp.exp(logpdf(x, alpha))
