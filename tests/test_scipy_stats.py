"""adgraph.scipy.stats against SciPy's values, and its derivatives against finite differences.

Values are compared with ``scipy.stats`` at points inside and outside each support;
derivatives go through ``check_grads`` (both modes, second order) in the data and in
every real parameter, and a few against closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.scipy import stats
from adgraph.test_util import check_grads

ss = pytest.importorskip("scipy.stats")

X = np.array([-2.5, -0.3, 0.0, 0.7, 1.9])
U = np.array([0.05, 0.2, 0.5, 0.77, 0.99])
POS = np.array([0.1, 0.6, 1.0, 2.3, 7.0])
K = np.array([0.0, 1.0, 2.0, 5.0, 11.0])

# (distribution, method, arguments); SciPy's function of the same names is the reference.
VALUES = [
    *[("norm", m, (X, 0.3, 1.7)) for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")],
    ("norm", "ppf", (U, 0.3, 1.7)),
    ("norm", "isf", (U, 0.3, 1.7)),
    ("norm", "logcdf", (np.array([-45.0, -31.0, -20.5, -19.5, -10.0, 5.0, 40.0]),)),
    ("norm", "logsf", (np.array([-40.0, -5.0, 10.0, 29.0, 31.0, 200.0]),)),
    ("t", "logpdf", (X, 3.5, 0.2, 1.3)),
    ("t", "pdf", (X, 1.0)),
    ("beta", "logpdf", (np.array([-0.1, 0.0, 0.2, 0.5, 0.9, 1.0, 1.3]), 2.5, 1.5)),
    ("beta", "pdf", (U, 0.7, 3.0, -0.1, 1.5)),
    ("gamma", "logpdf", (np.array([-1.0, 0.0, 0.4, 3.0]), 2.2, 0.0, 1.5)),
    ("gamma", "pdf", (POS, 0.8)),
    ("chi2", "logpdf", (POS, 3.0)),
    ("chi2", "pdf", (POS, 4.5, 0.05, 2.0)),
    ("poisson", "logpmf", (np.array([-1.0, 0.0, 1.0, 2.5, 4.0, 30.0]), 3.2)),
    ("poisson", "pmf", (K, 2.0, 1)),
    ("poisson", "cdf", (np.array([-1.0, 0.0, 1.0, 2.5, 4.0, 30.0]), 3.2)),
    ("bernoulli", "logpmf", (np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), 0.3)),
    ("bernoulli", "pmf", (np.array([0.0, 1.0]), 0.8)),
    ("bernoulli", "cdf", (np.array([-1.0, 0.0, 0.5, 1.0, 2.0]), 0.3)),
    ("binom", "logpmf", (np.array([-1.0, 0.0, 3.0, 7.0, 8.0, 2.5]), 7, 0.35)),
    ("geom", "logpmf", (np.array([0.0, 1.0, 2.0, 9.0]), 0.25)),
    ("nbinom", "logpmf", (K, 3.5, 0.4)),
    ("expon", "logpdf", (X, -1.0, 2.0)),
    *[("expon", m, (X, -1.0, 2.0)) for m in ("pdf", "cdf", "logcdf", "sf", "logsf")],
    ("expon", "ppf", (U, 0.5, 2.0)),
    ("laplace", "logpdf", (X, 0.2, 0.8)),
    ("laplace", "cdf", (X, 0.2, 0.8)),
    ("cauchy", "logpdf", (X, 0.2, 0.8)),
    ("cauchy", "cdf", (X, 0.2, 0.8)),
    ("cauchy", "ppf", (U, 0.2, 0.8)),
    ("logistic", "logpdf", (np.array([-800.0, -2.0, 0.0, 3.0, 800.0]), 0.2, 0.8)),
    *[("logistic", m, (X, 0.2, 0.8)) for m in ("pdf", "cdf", "sf")],
    ("logistic", "ppf", (U, 0.2, 0.8)),
    ("uniform", "logpdf", (X, -1.0, 2.5)),
    ("uniform", "pdf", (X, -1.0, 2.5)),
    ("uniform", "cdf", (X, -1.0, 2.5)),
    ("uniform", "ppf", (U, -1.0, 2.5)),
]


@pytest.mark.parametrize(
    "dist,method,args", VALUES, ids=[f"{d}.{m}-{i}" for i, (d, m, _) in enumerate(VALUES)]
)
def test_values_match_scipy(dist, method, args):
    ours = np.asarray(getattr(getattr(stats, dist), method)(*args))
    ref = getattr(getattr(ss, dist), method)(*args)
    np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-300)


def test_multivariate_normal_matches_scipy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + 0.5 * np.eye(3)
    mean = rng.standard_normal(3)
    xs = rng.standard_normal((4, 3))
    mvn = stats.multivariate_normal
    np.testing.assert_allclose(
        mvn.logpdf(xs, mean, cov), ss.multivariate_normal.logpdf(xs, mean, cov), rtol=1e-12
    )
    np.testing.assert_allclose(
        mvn.pdf(xs[0], mean, cov), ss.multivariate_normal.pdf(xs[0], mean, cov), rtol=1e-12
    )
    assert np.shape(mvn.logpdf(xs[0], mean, cov)) == ()
    xs2 = rng.standard_normal((2, 5, 3))
    assert mvn.logpdf(xs2, mean, cov).shape == (2, 5)
    diag = np.array([0.5, 2.0, 1.5])
    np.testing.assert_allclose(
        mvn.logpdf(xs, mean, diag), ss.multivariate_normal.logpdf(xs, mean, diag), rtol=1e-12
    )
    np.testing.assert_allclose(
        mvn.logpdf(xs, None, 2.0), ss.multivariate_normal.logpdf(xs, np.zeros(3), 2.0), rtol=1e-12
    )


def test_dirichlet_matches_scipy():
    alpha = np.array([0.7, 2.0, 3.5])
    x = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(
        stats.dirichlet.logpdf(x, alpha), ss.dirichlet.logpdf(x, alpha), rtol=1e-12
    )
    xs = np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]])
    np.testing.assert_allclose(
        stats.dirichlet.pdf(xs, alpha), ss.dirichlet.pdf(xs, alpha), rtol=1e-12
    )
    off = np.array([0.5, 0.5, 0.5])
    assert stats.dirichlet.logpdf(off, alpha) == -np.inf


# Derivatives in every real argument (k of the discrete laws stays a constant).
GRADS = [
    (lambda x, m, s: stats.norm.logpdf(x, m, s), (X, 0.3, 1.7)),
    (lambda x, m, s: stats.norm.cdf(x, m, s), (X, 0.3, 1.7)),
    (lambda x: stats.norm.logcdf(x), (np.array([-40.0, -21.0, -19.0, -3.0, 0.5, 4.0]),)),
    (lambda q: stats.norm.ppf(q, 0.3, 1.7), (U[1:-1],)),
    (lambda x, df, s: stats.t.logpdf(x, df, 0.1, s), (X, 3.5, 1.3)),
    (lambda x, a, b: stats.beta.logpdf(x, a, b), (U, 2.5, 1.5)),
    (lambda x, a, s: stats.gamma.logpdf(x, a, 0.0, s), (POS, 2.2, 1.5)),
    (lambda x, df: stats.chi2.logpdf(x, df), (POS, 3.0)),
    (lambda mu: stats.poisson.logpmf(K, mu), (3.2,)),
    (lambda mu: stats.poisson.cdf(K, mu), (np.array([0.5, 2.0, 3.0, 4.0, 9.0]),)),
    (lambda p: stats.bernoulli.logpmf(np.array([0.0, 1.0, 1.0]), p), (0.3,)),
    (lambda p: stats.binom.logpmf(np.array([0.0, 3.0, 7.0]), 7, p), (0.35,)),
    (lambda n, p: stats.nbinom.logpmf(K, n, p), (3.5, 0.4)),
    (lambda p: stats.geom.logpmf(np.array([1.0, 2.0, 9.0]), p), (0.25,)),
    (lambda x, s: stats.expon.logcdf(x, -3.0, s), (X, 2.0)),
    (lambda x, s: stats.laplace.cdf(x, 0.2, s), (np.array([-2.5, -0.3, 0.7, 1.9]), 0.8)),
    (lambda x, s: stats.cauchy.logpdf(x, 0.2, s), (X, 0.8)),
    (lambda x, s: stats.logistic.logpdf(x, 0.2, s), (X, 0.8)),
    # x stays on the simplex (a finite-difference step in x leaves it): alpha only here
    (lambda a: stats.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), a), (np.array([0.7, 2.0, 3.5]),)),
]


@pytest.mark.parametrize("f,args", GRADS, ids=[str(i) for i in range(len(GRADS))])
def test_derivatives_match_finite_differences(f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_multivariate_normal_derivatives():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + np.eye(3)
    mean = rng.standard_normal(3)
    xs = rng.standard_normal((4, 3))
    check_grads(lambda x, m, c: stats.multivariate_normal.logpdf(x, m, c), (xs, mean, cov), order=2)
    # closed form: d/dmean sum logpdf = cov^-1 sum(x - mean)
    g = ad.grad(lambda m: anp.sum(stats.multivariate_normal.logpdf(xs, m, cov)))(mean)
    np.testing.assert_allclose(g, np.linalg.solve(cov, (xs - mean).sum(0)), rtol=1e-10)


def test_closed_forms():
    # d/dx log N(x; m, s) = -(x - m)/s^2 and d/ds = ((x-m)^2/s^2 - 1)/s
    g = ad.grad(lambda x, s: stats.norm.logpdf(x, 0.3, s), argnums=(0, 1))(0.9, 1.7)
    np.testing.assert_allclose(g, [-0.6 / 1.7**2, (0.36 / 1.7**2 - 1) / 1.7], rtol=1e-13)
    # d/dx Phi(x) = phi(x), d/dmu log Poisson(k; mu) = k/mu - 1
    np.testing.assert_allclose(ad.grad(stats.norm.cdf)(0.4), ss.norm.pdf(0.4), rtol=1e-13)
    np.testing.assert_allclose(ad.grad(lambda m: stats.poisson.logpmf(4, m))(2.5), 4 / 2.5 - 1)
    # deep lower tail: d/dz log Phi(z) -> -z for z -> -inf (Mills ratio)
    d = ad.grad(stats.norm.logcdf)(-35.0)
    np.testing.assert_allclose(d, ss.norm.pdf(-35.0) / ss.norm.cdf(-35.0), rtol=1e-12)
    # d/dx log Dir(x; a) = (a - 1)/x on the simplex
    x, a = np.array([0.2, 0.3, 0.5]), np.array([0.7, 2.0, 3.5])
    np.testing.assert_allclose(ad.grad(stats.dirichlet.logpdf)(x, a), (a - 1) / x, rtol=1e-13)


def test_outside_support_has_zero_derivative_not_nan():
    f = lambda a: anp.sum(stats.gamma.logpdf(np.array([-1.0, 2.0]), a))  # noqa: E731
    assert np.isfinite(ad.grad(f)(2.0))
    g = ad.grad(lambda p: anp.sum(stats.bernoulli.logpmf(np.array([0.0, 3.0]), p)))(0.3)
    np.testing.assert_allclose(g, -1 / 0.7)


def test_refusals():
    # the distribution function of a count is piecewise constant in it: derivative 0
    assert ad.grad(lambda k: stats.poisson.cdf(k, 2.0))(3.5) == 0.0
    with pytest.raises(TypeError, match="concrete"):
        ad.grad(lambda n: stats.betabinom.cdf(3.0, n, 2.0, 3.0))(5.0)
    with pytest.raises(ValueError, match="first axis"):
        stats.dirichlet.logpdf(np.ones((2,)) / 2, np.ones(3))
    with pytest.raises(ValueError, match="cov has shape"):
        stats.multivariate_normal.logpdf(np.zeros(3), np.zeros(3), np.eye(2))
    with pytest.raises(NotImplementedError, match="allow_singular"):
        stats.multivariate_normal.logpdf(np.zeros(2), None, np.eye(2), allow_singular=True)


def test_jit_and_vmap_agree_with_eager():
    f = lambda x, s: stats.norm.logcdf(x, 0.1, s)  # noqa: E731
    xs = np.array([-35.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.jit(f)(xs, 1.3), f(xs, 1.3), rtol=1e-14)
    v = ad.vmap(lambda x: stats.t.logpdf(x, 4.0))(X)
    np.testing.assert_allclose(v, ss.t.logpdf(X, 4.0), rtol=1e-12)
