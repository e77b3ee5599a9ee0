"""make_classification: the documented model, its determinism, and its argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adgraph.datasets import _apply_factor, feature_covariance, make_classification


def test_shapes_types_and_labels():
    X, y, w, b = make_classification(n_samples=1000, n_features=20, noise=1.0, seed=0)
    assert X.shape == (1000, 20) and y.shape == (1000,) and w.shape == (20,)
    assert X.dtype == y.dtype == w.dtype == np.float64
    assert isinstance(b, float)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert X.flags["C_CONTIGUOUS"]


def test_same_seed_same_data_other_seed_other_data():
    a = make_classification(300, 7, noise=0.5, seed=3)
    b = make_classification(300, 7, noise=0.5, seed=3)
    c = make_classification(300, 7, noise=0.5, seed=4)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


def test_golden_values():
    # Pinned draws of PCG64(7) through the documented recipe: a change here changes every
    # data set users generated with a seed.
    X, y, w, b = make_classification(50, 4, noise=1.0, seed=7)
    np.testing.assert_allclose(
        X[0],
        [0.00123015335748257, 0.25933630142831304, -0.10774219616850797, -0.825146254851148],
        rtol=1e-13,
    )
    np.testing.assert_allclose(X[-1, -1], 1.4181002892899333, rtol=1e-13)
    np.testing.assert_allclose(
        w,
        [-2.2025604767662976, 1.5225475376172424, 0.8727108403573473, 1.543566217064293],
        rtol=1e-13,
    )
    assert b == pytest.approx(0.11858186164388135, rel=1e-13)
    np.testing.assert_array_equal(y[:16], [1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0])
    X, y, w, b = make_classification(
        50,
        4,
        noise=0.5,
        seed=7,
        covariance="equicorrelated",
        correlation=0.3,
        labels="threshold",
    )
    np.testing.assert_allclose(
        X[3],
        [0.10541424899789856, -0.8559856688135621, -0.20036006641436568, 0.45562852042662977],
        rtol=1e-13,
    )
    np.testing.assert_array_equal(y[:16], [1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0])


@pytest.mark.parametrize("cov", ["ar1", "equicorrelated"])
@pytest.mark.parametrize("rho", [0.6, -0.1])
def test_closed_form_factor_is_the_cholesky_factor(cov, rho):
    d = 9
    z = np.random.default_rng(1).standard_normal((5, d))
    L = np.linalg.cholesky(feature_covariance(d, cov, rho))
    np.testing.assert_allclose(_apply_factor(z, cov, rho), z @ L.T, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cov", ["ar1", "equicorrelated", "identity"])
def test_feature_covariance_matches_the_sample(cov):
    n, rho = 100_000, 0.4
    X, *_ = make_classification(n, 5, seed=2, covariance=cov, correlation=rho)
    S = feature_covariance(5, cov, rho)
    # Unit variances, so each sample covariance has standard error <= sqrt((1 + rho^2)/n)
    # ~ 0.0034: 0.02 is more than 5 standard errors.
    np.testing.assert_allclose(np.cov(X.T), S, atol=0.02)
    if cov == "ar1":
        assert S[0, 3] == pytest.approx(rho**3)


def test_explicit_covariance_matrix():
    S = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]])
    X, y, w, b = make_classification(80_000, 3, seed=5, covariance=S, signal=2.0)
    np.testing.assert_allclose(np.cov(X.T), S, atol=0.03)
    assert float(w @ S @ w) == pytest.approx(4.0, rel=1e-12)


@pytest.mark.parametrize("cov", ["ar1", "equicorrelated"])
def test_signal_sets_the_score_standard_deviation(cov):
    X, y, w, b = make_classification(10, 30, seed=1, covariance=cov, correlation=0.3, signal=2.5)
    S = feature_covariance(30, cov, 0.3)
    assert float(w @ S @ w) == pytest.approx(2.5**2, rel=1e-12)


def test_threshold_labels_without_noise_are_the_true_halfspace():
    X, y, w, b = make_classification(500, 6, noise=0.0, seed=3, labels="threshold", bias=0.7)
    assert b == 0.7
    np.testing.assert_array_equal(y, (X @ w + b > 0).astype(float))


def test_logistic_labels_follow_the_sigmoid():
    n = 40_000
    X, y, w, b = make_classification(n, 3, noise=0.0, seed=11)
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    # Mean of n Bernoulli(p_i): standard error sqrt(sum p(1-p))/n; 5 of them.
    tol = 5 * math.sqrt(float(np.sum(p * (1 - p)))) / n
    assert abs(float(y.mean()) - float(p.mean())) < tol
    # Noise on the logits flips labels near the hyperplane: agreement with the true
    # half-space falls as the noise grows.
    agree = [
        float(np.mean(make_classification(n, 3, noise=s, seed=11)[1] == (X @ w + b > 0)))
        for s in (0.0, 2.0)
    ]
    assert agree[0] > agree[1] + 0.02


def test_float32():
    X, y, w, b = make_classification(20, 3, seed=0, dtype=np.float32)
    X64, y64, w64, _ = make_classification(20, 3, seed=0)
    assert X.dtype == y.dtype == w.dtype == np.float32
    np.testing.assert_array_equal(X, X64.astype(np.float32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"n_features": 2.5}, "n_features must be a positive integer"),
        ({"noise": -1.0}, "noise must be a finite number >= 0"),
        ({"signal": 0.0}, "signal must be a finite number > 0"),
        ({"labels": "probit"}, "labels must be one of"),
        ({"covariance": "toeplitz"}, "covariance must be one of"),
        ({"correlation": 1.0}, r"AR\(1\) correlation must satisfy \|rho\| < 1"),
        ({"covariance": "equicorrelated", "correlation": -0.5}, "must lie in"),
        ({"covariance": np.eye(2)}, r"must have shape \(3, 3\)"),
        ({"covariance": -np.eye(3)}, "positive definite"),
        ({"covariance": np.triu(np.ones((3, 3)))}, "symmetric"),
        ({"dtype": np.int32}, "float dtype"),
        ({"seed": -1}, r"seed must be a non-negative integer \(or None"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"seed": "0"}, "seed must be a non-negative integer"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = {"n_samples": 10, "n_features": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_classification(**args)


def test_seed_none_and_numpy_integers():
    X, y, _, _ = make_classification(n_samples=5, n_features=3, seed=None)
    assert X.shape == (5, 3) and np.all(np.isfinite(X))
    a = make_classification(n_samples=5, n_features=3, seed=np.int64(7))[0]
    b = make_classification(n_samples=5, n_features=3, seed=7)[0]
    np.testing.assert_array_equal(a, b)
