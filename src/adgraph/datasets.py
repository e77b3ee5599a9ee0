r"""Seeded synthetic data sets for the examples and tests.

:func:`make_classification` draws a binary classification problem whose true separating
hyperplane is known, so that a fitted model can be compared with the truth (the angle between
the learned and the true normal vectors, the loss at the true parameters).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["make_classification", "feature_covariance"]

_COVARIANCES = ("ar1", "equicorrelated", "identity")
_LABELS = ("logistic", "threshold")


def make_classification(
    n_samples: int = 1000,
    n_features: int = 20,
    noise: float = 1.0,
    seed: int = 0,
    *,
    correlation: float = 0.5,
    covariance="ar1",
    labels: str = "logistic",
    signal: float = 3.0,
    bias: float | None = None,
    dtype=np.float64,
):
    r"""A seeded binary classification problem with a known separating hyperplane.

    Returns ``X, y, w_true, b_true``: features ``X`` of shape ``(n_samples, n_features)``,
    labels ``y`` in {0, 1} (float, shape ``(n_samples,)``), the true normal vector ``w_true``
    (shape ``(n_features,)``) and the true bias ``b_true`` (a float).

    **The model.** With :math:`d` = ``n_features`` and :math:`\sigma` = ``noise``:

    1. Features :math:`x_i \sim N(0, \Sigma)`, drawn as :math:`x_i = L z_i` with
       :math:`z_i \sim N(0, I_d)` and :math:`L` the (lower) Cholesky factor of
       :math:`\Sigma`, which has unit diagonal (every feature has variance 1) and
       correlation :math:`\rho` = ``correlation``:

       * ``covariance="ar1"`` (default): :math:`\Sigma_{jk} = \rho^{|j-k|}`, the first-order
         autoregressive (Toeplitz) correlation of neighbouring features;
         :math:`|\rho| < 1`. Its eigenvalues lie in
         :math:`[(1-|\rho|)/(1+|\rho|), (1+|\rho|)/(1-|\rho|)]` whatever :math:`d`, so the
         problem stays well conditioned in high dimension. :math:`L` is known in closed form:
         :math:`x_{i1} = z_{i1}`, :math:`x_{ij} = \rho x_{i,j-1} + \sqrt{1-\rho^2}\, z_{ij}`.
       * ``"equicorrelated"``: :math:`\Sigma = (1-\rho) I + \rho \mathbf{1}\mathbf{1}^T`, every
         pair correlated by :math:`\rho`, :math:`-1/(d-1) < \rho < 1`; eigenvalues
         :math:`1 + (d-1)\rho` (once) and :math:`1-\rho`, so it is ill conditioned for large
         :math:`d\rho`. :math:`L` has one value :math:`a_k` below the diagonal of each
         column :math:`k`: :math:`l_k = \sqrt{1 - s_k}`, :math:`a_k = (\rho - s_k)/l_k`,
         :math:`s_k = \sum_{m<k} a_m^2` (the Cholesky recursion specialised to this matrix,
         in scalars), so :math:`x_{ij} = \sum_{k<j} a_k z_{ik} + l_j z_{ij}`.
       * ``"identity"``: :math:`\Sigma = I` (``correlation`` ignored).
       * a ``(d, d)`` symmetric positive definite array: used as :math:`\Sigma` (any
         variances), factored by ``numpy.linalg.cholesky``.

    2. The true normal vector: :math:`u \sim N(0, I_d)`, scaled so that the clean score
       :math:`x^T w^*` has standard deviation ``signal``:
       :math:`w^* = \text{signal}\cdot u / \sqrt{u^T \Sigma u}`. The bias :math:`b^*` is
       ``bias`` if given, else drawn uniformly in :math:`[-\text{signal}/4,\ \text{signal}/4]`
       (so the classes are roughly, not exactly, balanced).

    3. The latent score :math:`s_i = x_i^T w^* + b^* + \sigma \varepsilon_i`,
       :math:`\varepsilon_i \sim N(0, 1)`: Gaussian noise of standard deviation ``noise`` on
       the logits.

    4. The labels, by one of two recipes:

       * ``labels="logistic"`` (default): :math:`y_i \sim \text{Bernoulli}(\text{sigmoid}(s_i))`,
         drawn as :math:`y_i = 1[u_i < \text{sigmoid}(s_i)]` with :math:`u_i \sim U(0, 1)`.
         With ``noise=0`` this is exactly the logistic-regression model with parameters
         :math:`(w^*, b^*)`; with noise, the maximum-likelihood fit estimates
         :math:`(w^*, b^*)` shrunk by about :math:`1/\sqrt{1 + \pi\sigma^2/8}` (the probit
         approximation), in the same direction.
       * ``labels="threshold"``: :math:`y_i = 1[x_i^T w^* + b^* + \sigma\varepsilon_i > 0]`,
         the noisy-hyperplane recipe (a probit model): labels flip near the hyperplane, more
         so for larger ``noise``. ``noise=0`` gives linearly separable data, for which the
         unpenalised logistic loss has no minimiser.

       In both recipes the Bayes-optimal decision boundary is the true hyperplane
       :math:`x^T w^* + b^* = 0`.

    **Determinism.** All draws come from ``numpy.random.Generator(PCG64(seed))`` in a fixed
    order (``standard_normal`` for :math:`z` (n, d), then :math:`u` (d,), then
    :math:`\varepsilon` (n,); then ``random`` for the bias and the Bernoulli uniforms), whose
    streams NumPy keeps stable across platforms. The closed-form factors are applied with
    elementwise operations only (no BLAS, no LAPACK), so ``X`` is bit-identical on every
    platform for the built-in covariances. The scale of :math:`w^*` (a quadratic form), the
    scores (a matrix-vector product) and the sigmoid (``exp``) go through BLAS and the C
    library, which may differ in the last bit between builds -- so ``w_true`` may differ by an
    ulp, and a label only for a score (or uniform draw) within about 1e-15 of its threshold. (``multivariate_normal``, whose SVD-based path can
    change with the LAPACK build, is deliberately not used.)

    Parameters
    ----------
    n_samples, n_features : int
        Number of rows and columns of ``X``.
    noise : float
        Standard deviation :math:`\sigma \ge 0` of the Gaussian noise on the logits.
    seed : int or None
        Seed of the PCG64 generator, a non-negative integer; the same seed gives the same
        data. None draws fresh entropy from the operating system (data that cannot be
        repeated).
    correlation : float
        :math:`\rho` of the built-in covariances (default 0.5).
    covariance : {"ar1", "equicorrelated", "identity"} or array of shape (d, d)
        The feature covariance :math:`\Sigma` (see above).
    labels : {"logistic", "threshold"}
        The label recipe (see above).
    signal : float
        Standard deviation of the clean score :math:`x^T w^*` (default 3: a clearly but not
        perfectly separable problem).
    bias : float, optional
        The true bias :math:`b^*`; drawn when not given.
    dtype : float dtype
        Dtype of ``X``, ``y`` and ``w_true`` (default float64; float32 is rounded from the
        float64 draws, so it is as deterministic).

    Examples
    --------
    >>> X, y, w_true, b_true = make_classification(n_samples=1000, n_features=20, noise=1.0,
    ...                                            seed=0)
    >>> X.shape, y.shape, w_true.shape
    ((1000, 20), (1000,), (20,))
    """
    n, d = _positive_int(n_samples, "n_samples"), _positive_int(n_features, "n_features")
    noise = float(noise)
    if not (noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"make_classification: noise must be a finite number >= 0, got {noise}")
    signal = float(signal)
    if not (signal > 0 and math.isfinite(signal)):
        raise ValueError(f"make_classification: signal must be a finite number > 0, got {signal}")
    if labels not in _LABELS:
        raise ValueError(f"make_classification: labels must be one of {_LABELS}, got {labels!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"make_classification: dtype must be a float dtype, got {dtype}")

    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise ValueError(
            f"make_classification: seed must be a non-negative integer (or None for fresh, "
            f"unrepeatable data), got {seed!r}"
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    z = rng.standard_normal((n, d))
    u = rng.standard_normal(d)
    eps = rng.standard_normal(n)
    b_draw = rng.random()
    coins = rng.random(n)

    X = _apply_factor(z, covariance, float(correlation))
    # w* = signal u / sqrt(u^T Sigma u), so that Var(x^T w*) = w*^T Sigma w* = signal^2.
    S = feature_covariance(d, covariance, correlation)
    w_true = signal * u / math.sqrt(float(u @ (S @ u)))
    b_true = float(bias) if bias is not None else signal * (b_draw - 0.5) / 2.0
    score = X @ w_true + b_true + noise * eps
    if labels == "logistic":
        # sigmoid(s) written to stay finite for any s: exp of a non-positive number only.
        e = np.exp(-np.abs(score))
        p = np.where(score >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        y = (coins < p).astype(dtype)
    else:
        y = (score > 0).astype(dtype)
    return X.astype(dtype, copy=False), y, w_true.astype(dtype), b_true


def feature_covariance(n_features: int, covariance="ar1", correlation: float = 0.5):
    r"""The matrix :math:`\Sigma` that :func:`make_classification` draws features from.

    Same ``covariance`` and ``correlation`` arguments; returns a ``(d, d)`` float64 array.
    """
    d = _positive_int(n_features, "n_features")
    if isinstance(covariance, str):
        rho = float(correlation)
        _check_rho(covariance, rho, d)
        if covariance == "identity":
            return np.eye(d)
        if covariance == "ar1":
            idx = np.arange(d)
            return rho ** np.abs(idx[:, None] - idx[None, :]).astype(float)
        return (1.0 - rho) * np.eye(d) + rho
    return _as_covariance(covariance, d)


# ------------------------------------------------------------------ factors
def _apply_factor(z, covariance, rho):
    """Rows of ``z`` (standard normal) mapped to rows of ``X = z L^T`` with ``L L^T = Sigma``."""
    d = z.shape[1]
    if not isinstance(covariance, str):
        L = np.linalg.cholesky(_as_covariance(covariance, d))
        return z @ L.T
    _check_rho(covariance, rho, d)
    if covariance == "identity" or rho == 0.0:
        return z.copy()
    # Work on features as contiguous rows (zt[j] is feature j of every sample): the same
    # elementwise operations, in the same order, as on columns, only faster.
    zt = np.ascontiguousarray(z.T)
    Xt = np.empty_like(zt)
    if covariance == "ar1":
        # x_1 = z_1, x_j = rho x_{j-1} + sqrt(1 - rho^2) z_j: Var x_j = 1, Cov(x_j, x_k) = rho^|j-k|.
        c = math.sqrt(1.0 - rho * rho)
        Xt[0] = zt[0]
        for j in range(1, d):
            Xt[j] = rho * Xt[j - 1] + c * zt[j]
        return np.ascontiguousarray(Xt.T)
    # Equicorrelated: row j of the Cholesky factor is (a_1, ..., a_{j-1}, l_j, 0, ...), with
    # a_k = (rho - sum_{m<k} a_m^2)/l_k and l_j = sqrt(1 - sum_{m<j} a_m^2) -- every entry
    # below the diagonal of column k is the same number a_k.
    diag, below = _equicorrelated_factor(d, rho)
    acc = np.zeros(z.shape[0])
    for j in range(d):
        Xt[j] = acc + diag[j] * zt[j]
        acc = acc + below[j] * zt[j]
    return np.ascontiguousarray(Xt.T)


def _equicorrelated_factor(d: int, rho: float):
    """Diagonal ``l_j`` and the constant sub-diagonal entry ``a_j`` of each column of the
    Cholesky factor of ``(1 - rho) I + rho 11^T``, by the Cholesky recursion (scalars only)."""
    diag = np.empty(d)
    below = np.empty(d)
    s = 0.0  # sum of a_m^2 over the columns already done
    for j in range(d):
        lj = math.sqrt(1.0 - s)
        diag[j] = lj
        below[j] = (rho - s) / lj
        s += below[j] * below[j]
    return diag, below


def _check_rho(covariance: str, rho: float, d: int) -> None:
    if covariance not in _COVARIANCES:
        raise ValueError(
            f"make_classification: covariance must be one of {_COVARIANCES} or a (d, d) "
            f"array, got {covariance!r}"
        )
    if covariance == "ar1" and not abs(rho) < 1:
        raise ValueError(
            f"make_classification: AR(1) correlation must satisfy |rho| < 1, got {rho}"
        )
    if covariance == "equicorrelated" and not (-1.0 / max(d - 1, 1) < rho < 1):
        raise ValueError(
            f"make_classification: equicorrelated correlation must lie in (-1/(d-1), 1) = "
            f"({-1.0 / max(d - 1, 1):.4g}, 1) for d={d}, got {rho}"
        )


def _as_covariance(cov, d: int):
    S = np.asarray(cov, dtype=np.float64)
    if S.shape != (d, d):
        raise ValueError(
            f"make_classification: a covariance matrix must have shape ({d}, {d}) for "
            f"n_features={d}, got {S.shape}"
        )
    if not np.allclose(S, S.T):
        raise ValueError("make_classification: the covariance matrix must be symmetric")
    try:
        np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        raise ValueError(
            "make_classification: the covariance matrix must be positive definite "
            "(its Cholesky factorisation failed)"
        ) from None
    return S


def _positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"make_classification: {name} must be a positive integer, got {v!r}")
    return int(v)
