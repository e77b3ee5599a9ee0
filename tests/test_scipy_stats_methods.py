"""Every method of every adgraph.scipy.stats distribution against SciPy's own, at many
points (inside, on the edges of and outside each support, far in the tails) and with
broadcast parameters; derivatives in the data and the real parameters against finite
differences; the stats functions and gaussian_kde; and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
from adgraph.scipy import special, stats
from adgraph.test_util import check_grads

ss = pytest.importorskip("scipy.stats")

XS = np.array([-40.0, -3.0, -0.3, 0.0, 0.2, 0.7, 1.0, 1.9, 3.0, 6.5, 50.0])
QS = np.array([0.0, 1e-12, 0.05, 0.3, 0.5, 0.77, 0.99, 1.0])
KS = np.array([-1.0, 0.0, 1.0, 2.0, 2.5, 4.0, 7.0, 9.0, 30.0])
CONT = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")
DISC = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")

# (distribution, parameters after x); loc and scale given in some of them
CONTINUOUS = [
    ("norm", (0.3, 1.7)),
    ("t", (3.5,)),
    ("t", (1.2, 0.3, 2.0)),
    ("beta", (2.5, 1.5)),
    ("beta", (0.7, 3.0, -0.1, 1.5)),
    ("gamma", (2.2,)),
    ("gamma", (0.8, 0.1, 1.5)),
    ("chi2", (3.0,)),
    ("chi2", (4.5, 0.05, 2.0)),
    ("expon", (-1.0, 2.0)),
    ("cauchy", (0.2, 0.8)),
    ("laplace", (0.2, 0.8)),
    ("logistic", (0.2, 0.8)),
    ("uniform", (-1.0, 2.5)),
    ("pareto", (1.7, -0.5, 1.3)),
    ("gumbel_r", (0.2, 1.5)),
    ("gumbel_l", (0.2, 1.5)),
    ("gennorm", (1.3, 0.1, 1.2)),
    ("gennorm", (0.7,)),
    ("truncnorm", (-1.0, 2.0, 0.3, 1.5)),
    ("truncnorm", (1.5, 4.0)),
    ("truncnorm", (-30.0, -25.0, 0.0, 1.0)),
    ("wrapcauchy", (0.4,)),
    ("vonmises", (2.5, 0.3, 1.0)),
    ("vonmises", (0.05, 0.0, 2.0)),
    ("vonmises", (30.0,)),
]
DISCRETE = [
    ("poisson", (3.2,)),
    ("poisson", (2.0, 1)),
    ("binom", (7, 0.35)),
    ("nbinom", (3.5, 0.4)),
    ("geom", (0.25,)),
    ("bernoulli", (0.3,)),
    ("betabinom", (7, 2.3, 1.4)),
]


def _cases(table, methods):
    out = []
    for dist, params in table:
        mod = getattr(stats, dist)
        for m in methods:
            if m in mod.__all__:
                out.append((dist, m, params))
    return out


def _points(dist, params, method, discrete):
    if method in ("ppf", "isf"):
        return QS
    if discrete:
        return KS
    if dist == "truncnorm" and params[0] < -20:
        return XS - 27.0
    return XS


@pytest.mark.parametrize(
    "dist,method,params",
    _cases(CONTINUOUS, CONT) + _cases(DISCRETE, DISC),
    ids=lambda v: v if isinstance(v, str) else "",
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_methods_match_scipy(dist, method, params):
    discrete = any(dist == d for d, _ in DISCRETE)
    x = _points(dist, params, method, discrete)
    ours = np.asarray(getattr(getattr(stats, dist), method)(x, *params))
    ref = getattr(getattr(ss, dist), method)(x, *params)
    if dist == "vonmises" and method in ("logcdf", "logsf", "sf"):
        # both are accurate to ~1e-15 absolute only in the far tails (SciPy's own value
        # there is off by more than ours: see test_vonmises_cdf_against_quadrature;
        # and SciPy's series for kappa < 50 stops at ~1e-13 absolute)
        np.testing.assert_allclose(np.exp(ours), np.exp(ref), rtol=1e-9, atol=1e-13)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-14)
    # the same under jit, and under vmap over the points
    f = getattr(getattr(stats, dist), method)
    np.testing.assert_allclose(ad.jit(lambda t: f(t, *params))(x), ours, rtol=1e-14)
    np.testing.assert_allclose(ad.vmap(lambda t: f(t, *params))(x), ours, rtol=1e-14)


def test_every_method_scipy_names():
    # a continuous distribution has all eight of SciPy's methods, a discrete one its eight
    for dist, _ in CONTINUOUS:
        assert set(CONT) <= set(getattr(stats, dist).__all__), dist
    for dist, _ in DISCRETE:
        assert set(DISC) <= set(getattr(stats, dist).__all__), dist


def test_keywords_and_broadcasting():
    x = np.linspace(-1.0, 4.0, 6)[:, None]
    scale = np.array([0.5, 1.0, 2.0])
    ours = stats.gamma.cdf(x, 2.0, loc=-1.0, scale=scale)
    assert ours.shape == (6, 3)
    np.testing.assert_allclose(ours, ss.gamma.cdf(x, 2.0, loc=-1.0, scale=scale), rtol=1e-12)
    ours = stats.t.sf(x, df=np.array([1.0, 4.0, 30.0]), scale=2.0)
    np.testing.assert_allclose(ours, ss.t.sf(x, df=np.array([1.0, 4.0, 30.0]), scale=2.0))
    k = np.arange(6.0)[:, None]
    ours = stats.binom.cdf(k, np.array([3, 5, 9]), 0.4)
    np.testing.assert_allclose(ours, ss.binom.cdf(k, np.array([3, 5, 9]), 0.4), rtol=1e-12)
    with pytest.raises(TypeError, match="missing the shape parameter 'a'"):
        stats.gamma.cdf(1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        stats.norm.cdf(1.0, locc=2.0)
    with pytest.raises(TypeError, match="at most"):
        stats.pareto.pdf(1.0, 1.0, 2.0, 3.0, 4.0)


X5 = np.array([-2.0, -0.4, 0.3, 1.1, 2.6])
P5 = np.array([0.3, 0.8, 1.4, 2.2, 4.0])
Q5 = np.array([0.03, 0.2, 0.5, 0.8, 0.97])
K5 = np.array([0.0, 1.0, 2.0, 3.0, 6.0])

# (function of the differentiable arguments, their values, order checked)
GRADS = [
    (lambda x, a, s: stats.gamma.cdf(x, a, 0.0, s), (P5, 2.2, 1.5), 1),
    (lambda x, s: stats.gamma.logsf(x, 2.2, 0.0, s), (P5, 1.5), 2),
    (lambda q, a: stats.gamma.ppf(q, a), (Q5, 2.2), 1),
    (lambda x, df: stats.chi2.sf(x, df), (P5, 3.0), 1),
    (lambda q, s: stats.chi2.isf(q, 3.0, 0.0, s), (Q5, 1.3), 2),
    (lambda x, s: stats.beta.cdf(x, 2.5, 1.5, 0.0, s), (Q5, 1.2), 2),
    (lambda q: stats.beta.ppf(q, 2.5, 1.5), (Q5,), 2),
    (lambda x, s: stats.t.cdf(x, 3.5, 0.2, s), (X5, 1.3), 2),
    (lambda q, s: stats.t.ppf(q, 3.5, 0.2, s), (Q5, 1.3), 2),
    (lambda x, b, s: stats.pareto.logpdf(x, b, 0.0, s), (P5 + 1.5, 1.7, 1.2), 2),
    (lambda x, b: stats.pareto.logsf(x, b), (P5 + 1.5, 1.7), 2),
    (lambda x, s: stats.gumbel_r.logsf(x, 0.2, s), (X5, 1.5), 2),
    (lambda x, s: stats.gumbel_l.logcdf(x, 0.2, s), (X5, 1.5), 2),
    (lambda q, s: stats.gumbel_r.ppf(q, 0.2, s), (Q5, 1.5), 2),
    (lambda x, b, s: stats.gennorm.logpdf(x, b, 0.1, s), (X5, 1.3, 1.2), 2),
    (lambda x, b: stats.gennorm.cdf(x, b), (X5, 1.3), 1),
    (lambda x: stats.gennorm.cdf(x, 1.3), (np.array([0.0, -0.5, 0.5]),), 1),
    (lambda q, b: stats.gennorm.ppf(q, b), (Q5, 1.3), 1),
    (lambda x, a, b: stats.truncnorm.logpdf(x, a, b), (X5 / 3, -1.0, 2.0), 2),
    (lambda x, a, b: stats.truncnorm.logcdf(x, a, b), (X5 / 3, -1.0, 2.0), 2),
    (lambda x, a, b: stats.truncnorm.logsf(x, a, b), (X5 / 3 + 2.5, 2.0, 5.0), 2),
    (lambda q, a, b: stats.truncnorm.ppf(q, a, b), (Q5, -1.0, 2.0), 2),
    (lambda x, c: stats.wrapcauchy.logpdf(x, c), (P5, 0.4), 2),
    (lambda x, c: stats.wrapcauchy.cdf(x, c), (P5, 0.4), 2),
    (lambda x, k, s: stats.vonmises.logpdf(x, k, 0.3, s), (X5, 2.5, 1.2), 2),
    (lambda x, k, s: stats.vonmises.cdf(x, k, 0.3, s), (X5, 2.5, 1.2), 1),
    (lambda x: stats.vonmises.logsf(x, 2.5), (X5,), 2),
    (lambda q, k: stats.vonmises.ppf(q, k), (Q5, 2.5), 1),
    (lambda x, s: stats.laplace.logsf(x, 0.2, s), (X5, 0.8), 2),
    # (the second derivative of laplace.ppf jumps at q = 1/2: checked away from it)
    (lambda q, s: stats.laplace.ppf(q, 0.2, s), (Q5 + 0.02, 0.8), 2),
    (lambda x, s: stats.logistic.logcdf(x, 0.2, s), (X5, 0.8), 2),
    (lambda x, s: stats.cauchy.sf(x, 0.2, s), (X5, 0.8), 2),
    (lambda q, s: stats.expon.isf(q, 0.2, s), (Q5, 0.8), 2),
    (lambda mu: stats.poisson.cdf(K5, mu), (2.7,), 2),
    (lambda mu: stats.poisson.logsf(K5, mu), (2.7,), 2),
    (lambda mu: stats.poisson.entropy(mu), (np.array([0.5, 3.0, 12.0]),), 2),
    (lambda p: stats.binom.cdf(K5, 7, p), (0.35,), 2),
    (lambda p: stats.binom.sf(K5, 7, p), (0.35,), 2),
    (lambda p: stats.nbinom.cdf(K5, 3.5, p), (0.4,), 2),
    (lambda p: stats.geom.logcdf(K5 + 1.0, p), (0.25,), 2),
    (lambda p: stats.bernoulli.sf(np.array([-1.0, 0.0, 0.5]), p), (0.3,), 2),
    (lambda a, b: stats.betabinom.logpmf(K5, 7, a, b), (2.3, 1.4), 2),
    (lambda a, b: stats.betabinom.cdf(K5, 7, a, b), (2.3, 1.4), 2),
    (lambda p: stats.multinomial.logpmf(np.array([1.0, 2.0, 3.0]), 6, p), (Q5[1:4],), 2),
]


@pytest.mark.parametrize("f,args,order", GRADS, ids=[str(i) for i in range(len(GRADS))])
def test_derivatives_match_finite_differences(f, args, order):
    check_grads(f, args, order=order, modes=("fwd", "rev"))


def test_derivative_closed_forms():
    # d/dx cdf = pdf; d/dq ppf = 1/pdf(ppf); d/dscale of a location-scale cdf = -y pdf/scale
    for dist, params in [("gamma", (2.2,)), ("t", (3.5,)), ("beta", (2.5, 1.5)), ("chi2", (3.0,))]:
        x = 0.6
        g = ad.grad(lambda t: getattr(stats, dist).cdf(t, *params))(x)
        assert np.isclose(g, getattr(ss, dist).pdf(x, *params), rtol=1e-12), dist
        q = 0.3
        g = ad.grad(lambda t: getattr(stats, dist).ppf(t, *params))(q)
        ref = 1.0 / getattr(ss, dist).pdf(getattr(ss, dist).ppf(q, *params), *params)
        assert np.isclose(g, ref, rtol=1e-10), dist
    g = ad.grad(lambda s: stats.gumbel_r.cdf(1.0, 0.2, s))(1.5)
    y = (1.0 - 0.2) / 1.5
    assert np.isclose(g, -y * ss.gumbel_r.pdf(1.0, 0.2, 1.5), rtol=1e-12)
    # d/dmu P(K <= k) = -pmf(k)
    g = ad.grad(lambda m: stats.poisson.cdf(4.0, m))(2.7)
    assert np.isclose(g, -ss.poisson.pmf(4, 2.7), rtol=1e-12)


def test_shape_derivatives():
    # first order in the shapes of the beta, t, gamma families (through the incomplete
    # beta and gamma functions' shape derivatives), against central differences of SciPy
    h = 1e-6
    for f, ref, x0 in [
        (lambda a: stats.beta.cdf(0.3, a, 2.0), lambda a: ss.beta.cdf(0.3, a, 2.0), 1.5),
        (lambda b: stats.beta.sf(0.3, 1.5, b), lambda b: ss.beta.sf(0.3, 1.5, b), 2.0),
        (lambda df: stats.t.cdf(0.3, df), lambda df: ss.t.cdf(0.3, df), 3.0),
        (lambda df: stats.t.ppf(0.8, df), lambda df: ss.t.ppf(0.8, df), 3.0),
        (lambda n: stats.nbinom.cdf(3.0, n, 0.4), lambda n: ss.nbinom.cdf(3, n, 0.4), 2.5),
        (lambda a: stats.gamma.cdf(2.0, a), lambda a: ss.gamma.cdf(2.0, a), 1.5),
        (lambda a: stats.beta.ppf(0.3, a, 2.0), lambda a: ss.beta.ppf(0.3, a, 2.0), 1.5),
    ]:
        fd = (ref(x0 + h) - ref(x0 - h)) / (2 * h)
        assert np.isclose(ad.grad(f)(x0), fd, rtol=2e-5), f  # SciPy's ppf: ~1e-12
    # the second derivative in a shape is refused, naming the parameter
    with pytest.raises(special.NoDerivativeError, match="a to second order"):
        ad.grad(ad.grad(lambda a: stats.beta.cdf(0.3, a, 2.0)))(1.5)


def test_discrete_quantiles_are_constants():
    q = np.array([0.1, 0.5, 0.9])
    np.testing.assert_array_equal(stats.poisson.ppf(q, 3.0), ss.poisson.ppf(q, 3.0))
    assert ad.grad(lambda m: stats.poisson.ppf(0.5, m))(3.0) == 0.0
    v = ad.vmap(lambda m: stats.binom.isf(q, 9, m))(np.array([0.2, 0.7]))
    np.testing.assert_array_equal(v, [ss.binom.isf(q, 9, 0.2), ss.binom.isf(q, 9, 0.7)])


def test_vonmises_cdf_against_quadrature():
    # mpmath quadrature of the density (40 digits); SciPy's own normal approximation for
    # kappa > 50 is off by 1e-4 relative at the first two points, the series is not
    x = np.array([-0.3, -0.1, -2.5, -1.0])
    kappa = np.array([300.0, 3000.0, 10.0, 49.0])
    ref = [
        1.1425853277841621e-07,
        2.1910785280095827e-08,
        3.909345151361648e-09,
        1.0984989427047725e-11,
    ]
    np.testing.assert_allclose(stats.vonmises.cdf(x, kappa), ref, rtol=2e-5)
    np.testing.assert_allclose(stats.vonmises.cdf(x[:3], kappa[:3]), ref[:3], rtol=1e-7)
    # one more per turn outside [-pi, pi], as SciPy counts
    assert np.isclose(stats.vonmises.cdf(0.4 + 4 * np.pi, 2.0), 2.0 + ss.vonmises.cdf(0.4, 2.0))


def test_multinomial_matches_scipy():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 6.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 4.0, 3.0]])
    p = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(stats.multinomial.logpmf(x, 6, p), ss.multinomial.logpmf(x, 6, p))
    np.testing.assert_allclose(stats.multinomial.pmf(x[:2], 6, p), ss.multinomial.pmf(x[:2], 6, p))


def test_stats_functions():
    a = np.array([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 1.0, np.nan], [0.0, 5.0, 5.0, 5.0]])
    np.testing.assert_allclose(stats.sem(a[:, :3], axis=1), ss.sem(a[:, :3], axis=1))
    np.testing.assert_allclose(stats.sem(a[:, :3], axis=None), ss.sem(a[:, :3], axis=None))
    np.testing.assert_allclose(
        stats.sem(a, axis=1, nan_policy="omit"), ss.sem(a, axis=1, nan_policy="omit")
    )
    np.testing.assert_allclose(stats.sem(a[:, :3], ddof=0), ss.sem(a[:, :3], ddof=0))
    check_grads(lambda x: stats.sem(x, axis=1), (a[:, :3] + np.arange(9.0).reshape(3, 3),))
    m = stats.mode(a[:, :3], axis=1)
    r = ss.mode(a[:, :3], axis=1)
    np.testing.assert_array_equal(m.mode, r.mode)
    np.testing.assert_array_equal(m.count, r.count)
    for method in ("average", "min", "max", "dense", "ordinal"):
        np.testing.assert_array_equal(stats.rankdata(a[0], method), ss.rankdata(a[0], method))
    np.testing.assert_array_equal(stats.rankdata(a[:, :3], axis=1), ss.rankdata(a[:, :3], axis=1))
    assert ad.grad(lambda x: stats.rankdata(x).sum() * x[0])(np.array([3.0, 1.0])) .tolist() == [3.0, 0.0]  # fmt: skip
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        stats.sem(a, nan_policy="raise")
    with pytest.raises(ValueError, match="method must be"):
        stats.rankdata(a[0], "mean")


def test_gaussian_kde_matches_scipy():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 30))
    pts = rng.standard_normal((2, 5))
    w = rng.uniform(0.5, 2.0, 30)
    for bw in (None, "silverman", 0.4, lambda k: 0.3):
        ours, ref = stats.gaussian_kde(data, bw, w), ss.gaussian_kde(data, bw, w)
        np.testing.assert_allclose(ours(pts), ref(pts), rtol=1e-12)
        np.testing.assert_allclose(ours.logpdf(pts), ref.logpdf(pts), rtol=1e-12)
        np.testing.assert_allclose(ours.covariance, ref.covariance, rtol=1e-12)
    m, c = np.array([0.1, 0.2]), 0.5 * np.eye(2)
    ours, ref = stats.gaussian_kde(data), ss.gaussian_kde(data)
    assert np.isclose(ours.integrate_gaussian(m, c), ref.integrate_gaussian(m, c), rtol=1e-12)
    d1 = rng.standard_normal(40)
    k1, r1 = stats.gaussian_kde(d1), ss.gaussian_kde(d1)
    np.testing.assert_allclose(k1(np.array([0.1, 0.5])), r1([0.1, 0.5]), rtol=1e-12)
    assert np.isclose(k1.integrate_box_1d(-0.5, 1.0), r1.integrate_box_1d(-0.5, 1.0))
    k2, r2 = stats.gaussian_kde(d1[:20] + 1.0), ss.gaussian_kde(d1[:20] + 1.0)
    assert np.isclose(k1.integrate_kde(k2), r1.integrate_kde(r2), rtol=1e-12)
    assert k1.resample(7, seed=1).shape == (1, 7)
    check_grads(lambda p, d: stats.gaussian_kde(d).logpdf(p), (pts, data), order=1)
    with pytest.raises(ValueError, match="bw_method"):
        stats.gaussian_kde(d1, bw_method="wide")
    with pytest.raises(ValueError, match="weights"):
        stats.gaussian_kde(d1, weights=np.ones(3))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "dist,method,args",
    [
        ("norm", "cdf", (0.5, 0.0, -1.0)),
        ("expon", "sf", (0.5, 0.0, 0.0)),
        ("cauchy", "ppf", (0.5, 0.0, -1.0)),
        ("pareto", "cdf", (2.0, -1.0)),
        ("gamma", "logpdf", (1.0, -1.0)),
        ("t", "cdf", (1.0, -2.0)),
        ("beta", "sf", (0.3, -1.0, 2.0)),
        ("truncnorm", "pdf", (0.0, 1.0, -1.0)),
        ("gumbel_r", "sf", (0.0, 0.0, -2.0)),
        ("wrapcauchy", "cdf", (1.0, 1.5)),
        ("binom", "pmf", (1.0, 2.5, 0.3)),
        ("poisson", "cdf", (1.0, -1.0)),
        ("geom", "pmf", (1.0, 1.5)),
    ],
)
def test_invalid_parameters_give_nan_as_scipy(dist, method, args):
    assert np.isnan(getattr(getattr(ss, dist), method)(*args))
    assert np.isnan(getattr(getattr(stats, dist), method)(*args))


def test_invalid_elements_do_not_spoil_the_others_derivatives():
    scale = np.array([1.5, -1.0, 2.0])
    g = ad.grad(lambda s: np.sum(stats.gumbel_r.cdf(0.5, 0.0, s)[np.array([0, 2])]))(scale)
    assert np.isfinite(g[[0, 2]]).all() and g[1] == 0.0
