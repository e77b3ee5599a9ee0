"""autograd's ``multivariate_normal``: adgraph's ``logpdf``/``pdf``, with SciPy's
``allow_singular=True`` for a constant covariance, and ``entropy``."""

from __future__ import annotations

from typing import Any

import numpy as _np

from .... import numpy as anp
from ....core.pytree import tree_leaves
from ....core.trace import Tracer
from ....scipy.stats import multivariate_normal as _mvn

__all__ = ["logpdf", "pdf", "entropy"]

_LOG_2PI = float(_np.log(2 * _np.pi))


def _singular_logpdf(x: Any, mean: Any, cov: Any) -> Any:
    """The density on the support of a positive semi-definite ``cov`` (SciPy's
    ``allow_singular=True``): with ``cov = U diag(s) U^T`` and the ``r`` eigenvalues above
    SciPy's cutoff, ``-(r log 2pi + log pdet + sum (U_k^T (x - mean))^2 / s_k) / 2``, and
    ``-inf`` off the support (``x - mean`` outside the range of ``cov``)."""
    if any(isinstance(v, Tracer) for v in tree_leaves(cov)):
        raise NotImplementedError(
            "multivariate_normal.logpdf(allow_singular=True): the derivative with respect "
            "to a singular covariance is not provided (the density jumps where the rank "
            "changes); hold cov constant, or pass a positive-definite cov"
        )
    cov = _np.asarray(cov, dtype=_np.float64)
    x = anp.asarray(x)
    d = x.shape[-1] if x.ndim else 1
    if x.ndim == 0:
        x = anp.reshape(x, (1,))
    if cov.ndim == 0:
        cov = cov * _np.eye(d)
    elif cov.ndim == 1:
        cov = _np.diag(cov)
    if cov.shape != (d, d):
        raise ValueError(
            f"multivariate_normal.logpdf: cov has shape {cov.shape} but x's points have "
            f"dimension {d}; pass a ({d}, {d}) matrix, a length-{d} diagonal or a scalar"
        )
    s, u = _np.linalg.eigh(cov)
    # SciPy's cutoff for "zero" eigenvalues (scipy.stats._multivariate._eigvalsh_to_eps)
    eps = 1e6 * _np.finfo(_np.float64).eps * _np.max(_np.abs(s))
    if _np.min(s) < -eps:
        raise ValueError("multivariate_normal.logpdf: cov is not positive semi-definite")
    keep = s > eps
    u_in, s_in, u_out = u[:, keep], s[keep], u[:, ~keep]
    dev = x - (0.0 if mean is None else mean)
    proj = anp.matmul(dev, u_in)  # (..., r)
    maha = anp.sum(proj**2 / s_in, axis=-1)
    logpdet = float(_np.sum(_np.log(s_in)))
    out = -0.5 * (int(keep.sum()) * _LOG_2PI + logpdet + maha)
    if u_out.shape[1]:
        off = anp.max(anp.abs(anp.matmul(dev, u_out)), axis=-1)
        out = anp.where(off > _np.sqrt(eps), -_np.inf, out)
    return out


def logpdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """Log of the density at each row of ``x`` (see adgraph.scipy.stats.multivariate_normal);
    ``allow_singular=True`` takes a singular, constant ``cov`` as SciPy does."""
    if allow_singular:
        return _singular_logpdf(x, mean, cov)
    return _mvn.logpdf(x, mean, cov)


def pdf(x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
    """The density."""
    return anp.exp(logpdf(x, mean, cov, allow_singular))


def entropy(mean: Any = None, cov: Any = 1) -> Any:
    """The differential entropy ``(d (1 + log 2pi) + log det cov) / 2`` of a positive
    definite ``cov`` (``mean`` does not enter it)."""
    cov = anp.asarray(cov)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(
            f"multivariate_normal.entropy: cov must be a square matrix, got shape {cov.shape}"
        )
    sign, logdet = anp.linalg.slogdet(cov)
    if not isinstance(sign, Tracer) and float(sign) <= 0:
        raise ValueError("multivariate_normal.entropy: cov is not positive definite")
    return 0.5 * (cov.shape[0] * (1.0 + _LOG_2PI) + logdet)
