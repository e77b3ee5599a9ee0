"""The multivariate normal distribution, as ``scipy.stats.multivariate_normal``.

``x`` has the dimension on its last axis (shape ``(d,)`` or ``(..., d)``); ``cov`` is a
``(d, d)`` symmetric positive-definite matrix, a vector (its diagonal) or a scalar (times
the identity), as SciPy takes it. The covariance is factored by Cholesky; a singular one
is refused (SciPy's ``allow_singular=True`` is not offered).
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ._common import LOG_2PI, floats

__all__ = ["logpdf", "pdf"]


def logpdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """Log of the density at each row of ``x``: ``-(d log 2pi + log det cov + m)/2``.

    ``m`` is the squared Mahalanobis distance of ``x - mean``. The result has ``x``'s shape
    less its last axis (a scalar for a single point).
    """
    if allow_singular:
        raise NotImplementedError(
            "multivariate_normal.logpdf(allow_singular=True) is not supported: a singular "
            "covariance has no density; pass a positive-definite cov"
        )
    (x,) = floats(x, what="multivariate_normal.logpdf", names=("x",))
    if x.ndim == 0:
        x = anp.reshape(x, (1,))
    d = x.shape[-1]
    (mean,) = floats(
        0.0 if mean is None else mean, what="multivariate_normal.logpdf", names=("mean",)
    )
    (cov,) = floats(cov, what="multivariate_normal.logpdf", names=("cov",))
    if cov.ndim == 0:
        cov = cov * anp.eye(d)
    elif cov.ndim == 1:
        cov = anp.diag(cov)
    if cov.shape != (d, d):
        raise ValueError(
            f"multivariate_normal.logpdf: cov has shape {cov.shape} but x's points have "
            f"dimension {d}; pass a ({d}, {d}) matrix, a length-{d} diagonal or a scalar"
        )
    L = anp.linalg.cholesky(cov)
    dev = x - mean
    lead = dev.shape[:-1]
    cols = anp.transpose(anp.reshape(dev, (-1, d)))  # (d, n)
    y = anp.linalg.solve(L, cols)
    maha = anp.reshape(anp.sum(y * y, axis=0), lead)
    logdet = 2.0 * anp.sum(anp.log(anp.diagonal(L)))
    return -0.5 * (d * LOG_2PI + logdet + maha)


def pdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """The density."""
    return anp.exp(logpdf(x, mean, cov, allow_singular))


del _np
