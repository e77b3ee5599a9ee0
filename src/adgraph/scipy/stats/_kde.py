"""Gaussian kernel density estimation, as ``scipy.stats.gaussian_kde``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import LOG_2PI, floats

__all__ = ["gaussian_kde"]


class gaussian_kde:
    r"""A Gaussian kernel density estimate of ``dataset`` (shape ``(d, n)``: ``n`` points
    in ``d`` dimensions; a 1-d array is ``n`` scalars), as ``scipy.stats.gaussian_kde``.

    The kernel covariance is the (weighted) data covariance times ``factor**2``: Scott's
    rule :math:`n_\text{eff}^{-1/(d+4)}` (``bw_method=None`` or ``"scott"``), Silverman's
    :math:`(n_\text{eff}(d+2)/4)^{-1/(d+4)}`, a number, or ``bw_method(kde)``. The density

    .. math:: \hat f(x) = \sum_i w_i\,\mathcal N(x;\, x_i,\, \Sigma)

    is evaluated in log space (``logsumexp`` over the data points), differentiable in the
    evaluation points, the dataset and the weights.
    """

    def __init__(self, dataset: Any, bw_method: Any = None, weights: Any = None) -> None:
        (data,) = floats(dataset, what="gaussian_kde", names=("dataset",))
        if data.ndim > 2:
            raise ValueError(f"gaussian_kde: dataset must be 1-d or 2-d (d, n), got {data.ndim}-d")
        self.dataset = anp.reshape(data, (1, -1)) if data.ndim < 2 else data
        self.d, self.n = self.dataset.shape
        if self.n < 2:
            raise ValueError("gaussian_kde: dataset must have more than one point")
        if weights is not None:
            (w,) = floats(weights, what="gaussian_kde", names=("weights",))
            if w.ndim != 1 or w.shape[0] != self.n:
                raise ValueError(
                    f"gaussian_kde: weights must be a 1-d array of length n = {self.n}, "
                    f"got shape {w.shape}"
                )
            self._weights = w / anp.sum(w)
        else:
            self._weights = anp.ones(self.n) / self.n
        self.neff = 1.0 / anp.sum(self._weights**2)
        self.set_bandwidth(bw_method)

    @property
    def weights(self) -> Any:
        """The normalised weights of the data points."""
        return self._weights

    def scotts_factor(self) -> Any:
        """Scott's rule: ``neff ** (-1 / (d + 4))``."""
        return self.neff ** (-1.0 / (self.d + 4))

    def silverman_factor(self) -> Any:
        """Silverman's rule: ``(neff (d + 2) / 4) ** (-1 / (d + 4))``."""
        return (self.neff * (self.d + 2.0) / 4.0) ** (-1.0 / (self.d + 4))

    covariance_factor = scotts_factor

    def set_bandwidth(self, bw_method: str | float | Callable | None = None) -> None:
        """Choose the bandwidth rule (``"scott"``, ``"silverman"``, a number or a callable
        of the estimator) and recompute the kernel covariance."""
        if bw_method is None or bw_method == "scott":
            self.covariance_factor = self.scotts_factor
        elif bw_method == "silverman":
            self.covariance_factor = self.silverman_factor
        elif _np.isscalar(bw_method) and not isinstance(bw_method, str):
            value = bw_method
            self.covariance_factor = lambda: value
        elif callable(bw_method):
            rule = bw_method
            self.covariance_factor = lambda: rule(self)
        else:
            raise ValueError(
                f"gaussian_kde: bw_method must be 'scott', 'silverman', a scalar or a "
                f"callable, got {bw_method!r}"
            )
        self._compute_covariance()

    def _compute_covariance(self) -> None:
        self.factor = self.covariance_factor()
        w = self._weights
        mean = anp.sum(self.dataset * w, axis=1, keepdims=True)
        xc = self.dataset - mean
        data_cov = anp.matmul(xc * w, anp.transpose(xc)) / (1.0 - anp.sum(w**2))
        self._data_covariance = data_cov
        self.covariance = data_cov * self.factor**2
        self._chol = anp.linalg.cholesky(self.covariance)
        self.log_det = 2.0 * anp.sum(anp.log(anp.diagonal(self._chol)))

    @property
    def inv_cov(self) -> Any:
        """The inverse of the kernel covariance."""
        return anp.linalg.inv(self.covariance)

    def _points(self, points: Any) -> Any:
        (pts,) = floats(points, what="gaussian_kde", names=("points",))
        if pts.ndim == 0:
            pts = anp.reshape(pts, (1, 1))
        elif pts.ndim == 1:
            pts = anp.reshape(pts, (1, -1)) if self.d == 1 else anp.reshape(pts, (-1, 1))
        if pts.shape[0] != self.d:
            if pts.shape[1] == self.d and pts.shape[0] == 1:
                pts = anp.transpose(pts)
            else:
                raise ValueError(
                    f"gaussian_kde: points have dimension {pts.shape[0]}, the data {self.d}"
                )
        return pts

    def _log_kernel_sum(self, pts: Any, chol: Any, log_det: Any, data: Any, logw: Any) -> Any:
        # log sum_i w_i N(x_j; x_i, S) for each column x_j of pts, S = chol chol^T
        diff = pts[:, None, :] - data[:, :, None]  # (d, n, m)
        z = anp.linalg.solve(chol, anp.reshape(diff, (self.d, -1)))
        maha = anp.reshape(anp.sum(z * z, axis=0), diff.shape[1:])
        logk = -0.5 * (maha + log_det + self.d * LOG_2PI) + logw[:, None]
        return special.logsumexp(logk, axis=0)

    def logpdf(self, x: Any) -> Any:
        """Log of the estimated density at the points ``x`` (shape ``(d, m)``)."""
        return self._log_kernel_sum(
            self._points(x), self._chol, self.log_det, self.dataset, anp.log(self._weights)
        )

    def evaluate(self, points: Any) -> Any:
        """The estimated density at ``points`` (shape ``(d, m)``; a 1-d array for d = 1)."""
        return anp.exp(self.logpdf(points))

    __call__ = pdf = evaluate

    def integrate_gaussian(self, mean: Any, cov: Any) -> Any:
        """The integral of the estimate times the normal density ``N(mean, cov)``."""
        (mean, cov) = floats(mean, cov, what="gaussian_kde", names=("mean", "cov"))
        mean = anp.reshape(mean, (self.d, 1))
        s = self.covariance + anp.reshape(cov, (self.d, self.d))
        chol = anp.linalg.cholesky(s)
        log_det = 2.0 * anp.sum(anp.log(anp.diagonal(chol)))
        out = self._log_kernel_sum(mean, chol, log_det, self.dataset, anp.log(self._weights))
        return anp.exp(out[0])

    def integrate_box_1d(self, low: Any, high: Any) -> Any:
        """The estimate's mass between ``low`` and ``high`` (one dimension only)."""
        if self.d != 1:
            raise ValueError("gaussian_kde.integrate_box_1d: the data must be 1-dimensional")
        sd = anp.sqrt(self.covariance[0, 0])
        x = self.dataset[0]
        lo = special.ndtr((low - x) / sd)
        hi = special.ndtr((high - x) / sd)
        return anp.sum(self._weights * (hi - lo))

    def integrate_kde(self, other: gaussian_kde) -> Any:
        """The integral of the product of this estimate and ``other``."""
        if other.d != self.d:
            raise ValueError("gaussian_kde.integrate_kde: the estimates differ in dimension")
        s = self.covariance + other.covariance
        chol = anp.linalg.cholesky(s)
        log_det = 2.0 * anp.sum(anp.log(anp.diagonal(chol)))
        per = self._log_kernel_sum(
            other.dataset, chol, log_det, self.dataset, anp.log(self._weights)
        )
        return anp.sum(other.weights * anp.exp(per))

    def resample(self, size: int | None = None, seed: Any = None) -> _np.ndarray:
        """``size`` new points drawn from the estimate (shape ``(d, size)``), as NumPy
        samples: constants, with no derivative."""
        rng = _np.random.default_rng(seed)
        n = self.n if size is None else int(size)
        data = _np.asarray(_value(self.dataset))
        cov = _np.asarray(_value(self.covariance))
        w = _np.asarray(_value(self._weights))
        noise = rng.multivariate_normal(_np.zeros(self.d), cov, size=n).T
        idx = rng.choice(self.n, size=n, p=w)
        return data[:, idx] + noise


def _value(x: Any) -> Any:
    return x.primal_value() if hasattr(x, "primal_value") else x
