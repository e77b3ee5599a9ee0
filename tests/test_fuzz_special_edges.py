"""Values and derivatives of special functions and distributions at the edges of their
domains: far tails, tiny and huge arguments, where a naive formula cancels or overflows.
References are closed forms, SciPy's values, or mpmath-computed constants."""

import math

import numpy as np
import pytest
import scipy.special as ss
import scipy.stats as sst

import adgraph as ad
import adgraph.scipy.special as s
import adgraph.scipy.stats as st


def _rel(a, b):
    return abs(float(a) - b) / abs(b)


# ---------------------------------------------------------------- spence near 0
@pytest.mark.parametrize("z", [1e-20, 1e-17, 1e-300, 1e-8, 0.3])
def test_spence_derivative_near_zero(z):
    # d/dz spence(z) = log(z)/(1 - z); z - 1 rounds to -1 below 1e-16 (log1p(-1) = -inf)
    want = math.log(z) / (1.0 - z)
    assert _rel(ad.grad(s.spence)(z), want) < 1e-14
    want2 = 1.0 / (z * (1.0 - z)) + math.log(z) / (1.0 - z) ** 2
    assert _rel(ad.grad(ad.grad(s.spence))(z), want2) < 1e-12


def test_spence_derivative_across_the_switch():
    z = np.array([0.4999, 0.5, 0.5001, 0.99999, 1.0, 2.0])
    got = ad.vmap(ad.grad(s.spence))(z)
    w = z - 1.0
    want = np.where(w == 0, -1.0, np.log(z) / np.where(w == 0, 1.0, -w))
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ---------------------------------------------------------------- erfcx for large x
# erfcx'(x) = 2x erfcx(x) - 2/sqrt(pi) ~ -1/(sqrt(pi) x^2) (1 - 3/(2x^2) + ...): the
# difference of two terms of size 1/x cancelled to nothing (0.0 at x = 1e10).
@pytest.mark.parametrize("x", [30.0, 172.0, 1e4, 1e10, 1e200])
def test_erfcx_derivatives_large_x(x):
    r = 1.0 / (2.0 * x * x)
    c = 2.0 / math.sqrt(math.pi)
    d1 = c * sum((-1) ** k * math.prod(range(1, 2 * k, 2)) * r**k for k in range(1, 12))
    g = float(ad.grad(s.erfcx)(x))
    assert (g == 0.0) if d1 == 0.0 else _rel(g, d1) < 1e-14
    # second derivative: d/dx of the series, 2/sqrt(pi) sum (-1)^(k+1) 2k (2k-1)!! r^k / x
    d2 = c * sum(
        (-1) ** (k + 1) * 2 * k * math.prod(range(1, 2 * k, 2)) * r**k / x for k in range(1, 12)
    )
    if d2 != 0.0:
        assert _rel(ad.grad(ad.grad(s.erfcx))(x), d2) < 1e-13


def test_erfcx_derivative_continuous_at_switch():
    x = np.array([11.999, 12.0, 12.0001, 5.0, -3.0])
    got = ad.vmap(ad.grad(s.erfcx))(x)
    want = 2 * x * ss.erfcx(x) - 2 / math.sqrt(math.pi)
    np.testing.assert_allclose(got, want, rtol=5e-13)


# ---------------------------------------------------------------- log_ndtr far tail
# d/dx log Phi(x) = r = phi/Phi, d2 = -r (x + r). The exponential form lost digits as x^2
# grew: inf at x = -1e10, 0.399 (not 1e20) at x = -1e20, nan at -1e200; its second
# derivative was 2e-10 off at x = -40.
def _mills(x):
    # r(x) for x <= -40 from the asymptotic series of Phi(x)/phi(x) (terms < 1e-19)
    s_ = 1.0 + sum(
        (-1) ** k * math.prod(range(1, 2 * k, 2)) * (1.0 / x) ** (2 * k) for k in range(1, 9)
    )
    return -x / s_


@pytest.mark.parametrize("x", [-40.0, -100.0, -1e4, -1e10, -1e20, -1e200])
def test_log_ndtr_derivatives_far_lower_tail(x):
    r = _mills(x)
    assert _rel(ad.grad(s.log_ndtr)(x), r) < 1e-14
    d2 = ad.grad(ad.grad(s.log_ndtr))(x)
    # -r (x + r) with x + r = -x (1/s - 1) ... from the series: -r (x + r) = 1 - ... ; for
    # |x| >= 1e10 it is -1 to rounding
    h = 1e-6 * abs(x)
    if abs(x) < 1e5:
        fd = (ss.log_ndtr(x + h) - 2 * ss.log_ndtr(x) + ss.log_ndtr(x - h)) / h**2
        assert abs(float(d2) - fd) < 1e-4
    else:
        assert abs(float(d2) + 1.0) < 1e-9


@pytest.mark.parametrize(
    "x, d2",
    [
        # -r (x + r) from mpmath at 60 digits
        (-30.0, -0.9988962284881099),
        (-38.5, -0.9993280656436341),
        (-40.0, -0.9993773316214086),
        (-5.0, -0.9673035653828878),
    ],
)
def test_log_ndtr_second_derivative_tail(x, d2):
    assert _rel(ad.grad(ad.grad(s.log_ndtr))(x), d2) < 1e-14


def test_log_ndtr_derivative_matches_ratio_moderate():
    x = np.array([-37.0, -20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0])
    got = ad.vmap(ad.grad(s.log_ndtr))(x)
    # phi/Phi: sqrt(2/pi)/erfcx(-x/sqrt 2) below 0, with Phi from erfc above
    with np.errstate(over="ignore"):
        low = math.sqrt(2 / math.pi) / ss.erfcx(-x / math.sqrt(2))
    high = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) / (0.5 * ss.erfc(-x / math.sqrt(2)))
    want = np.where(x < 0, low, high)
    np.testing.assert_allclose(got, want, rtol=1e-13)


# ---------------------------------------------------------------- distributions
@pytest.mark.parametrize(
    "x, df, want",
    # mpmath (40 digits) of the closed form; the difference gammaln((d+1)/2) - gammaln(d/2)
    # lost 4e-10 at d = 1e6
    [
        (0.5, 1e4, -1.043974470574425),
        (0.5, 1e6, -1.0439388925796598),
        (3.0, 1e8, -5.4189383782046825),
        (-5.0, 100.5, -12.195438631290676),
    ],
)
def test_t_logpdf_large_df(x, df, want):
    assert abs(float(st.t.logpdf(x, df)) - want) < 5e-16 * abs(want) + 1e-15


def test_t_logpdf_df_derivative_large_df():
    # d/d(df) at x = 0.5; mpmath (40 digits) of the closed form
    cases = {100.5: 3.555398454361876e-05, 1e4: 3.5937239464680834e-09, 1e6: 3.593749739582147e-13}
    for df, want in cases.items():
        assert _rel(ad.grad(st.t.logpdf, argnums=1)(0.5, df), want) < 1e-10


def test_expon_quantiles_outside_unit_interval_are_nan():
    for q in (-0.1, 1.1):
        assert np.isnan(float(st.expon.ppf(q))) and np.isnan(float(st.expon.isf(q)))
    assert float(st.expon.ppf(0.3)) == pytest.approx(sst.expon.ppf(0.3), rel=1e-15)


def test_cauchy_far_tails():
    assert _rel(st.cauchy.logpdf(1e300), sst.cauchy.logpdf(1e300)) < 1e-15
    assert _rel(st.cauchy.logpdf(-1e200, 1.0, 2.0), sst.cauchy.logpdf(-1e200, 1.0, 2.0)) < 1e-15
    # d/dx of -log(1 + x^2) = -2x/(1 + x^2) = -2/x to rounding
    assert _rel(ad.grad(st.cauchy.logpdf)(1e300), -2e-300) < 1e-14
    # cdf = arctan(-1/x)/pi in the lower tail: 1/(pi |x|) (1 - 1/(3x^2))
    assert _rel(st.cauchy.cdf(-1e10), 1 / (math.pi * 1e10)) < 1e-14
    assert _rel(ad.grad(st.cauchy.cdf)(-1e10), 1 / (math.pi * (1 + 1e20))) < 1e-14


@pytest.mark.parametrize(
    "q, a, b", [(0.999999999999, 0.5, 0.5), (0.99, 0.1, 50.0), (0.999, 0.1, 50.0)]
)
def test_beta_isf_small_quantiles(q, a, b):
    want = sst.beta.isf(q, a, b)
    assert 0 < want < 1e-20
    assert _rel(st.beta.isf(q, a, b), want) < 1e-12
    # d/dq isf = -1/pdf(isf): finite (it was -inf, and nan in a, b)
    g = ad.grad(st.beta.isf, argnums=(0, 1, 2))(q, a, b)
    assert _rel(g[0], -1.0 / sst.beta.pdf(want, a, b)) < 1e-10
    assert np.all(np.isfinite(np.array(g, dtype=float)))


def test_beta_sf_near_zero():
    # 1 - y rounds at y = 1e-10; SciPy's sf is betaincc(a, b, y)
    for y, a, b in [(1e-10, 0.1, 50.0), (1e-5, 2.0, 3.0), (0.3, 1.0, 100.0), (0.7, 3.0, 2.0)]:
        assert _rel(st.beta.sf(y, a, b), sst.beta.sf(y, a, b)) < 1e-13
    # d/dy sf = -pdf
    assert _rel(ad.grad(st.beta.sf)(1e-5, 2.0, 3.0), -sst.beta.pdf(1e-5, 2.0, 3.0)) < 1e-13


def test_discrete_logcdf_keeps_the_upper_tail():
    # log(cdf) rounds a cdf of 1 - 8e-53 to 0; log1p(-sf) keeps it
    assert _rel(st.nbinom.logcdf(50, 0.5, 0.9), sst.nbinom.logcdf(50, 0.5, 0.9)) < 1e-12
    assert _rel(st.nbinom.logcdf(5, 0.5, 0.9), sst.nbinom.logcdf(5, 0.5, 0.9)) < 1e-13
    # poisson: log P(K <= 50) = log1p(-P(K > 50)) = -P(K > 50) to rounding
    assert _rel(st.poisson.logcdf(50, 3.0), -sst.poisson.sf(50, 3.0)) < 1e-13
    assert _rel(st.poisson.logsf(3, 100.0), -sst.poisson.cdf(3, 100.0)) < 1e-13


# ---------------------------------------------------------------- logsumexp with b
@pytest.mark.parametrize("rs", [False, True])
@pytest.mark.parametrize("a, b", [([-np.inf, -np.inf], [1.0, 1.0]), ([1.0, 2.0], [0.0, 0.0])])
def test_logsumexp_with_b_all_terms_zero_gradient(a, b, rs):
    # every term is 0: the value is -inf (a constant), the gradient 0 as without b
    a, b = np.array(a), np.array(b)

    def f(x):
        out = s.logsumexp(x, b=b, return_sign=rs)
        return out[0] if rs else out

    assert float(f(a)) == -np.inf == ss.logsumexp(a, b=b)
    np.testing.assert_array_equal(ad.grad(f)(a), [0.0, 0.0])


def test_logsumexp_with_b_gradient_unchanged_elsewhere():
    a, b = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    y = ss.logsumexp(a, b=b)
    assert _rel(s.logsumexp(a, b=b), y) < 1e-14
    np.testing.assert_allclose(
        ad.grad(lambda x: s.logsumexp(x, b=b))(a), b * np.exp(a - y), rtol=1e-14
    )


# d/da betaln = psi(a) - psi(a+b), d/db = psi(b) - psi(a+b), to 40 digits (mpmath)
_BETALN_PARTIALS = [
    (1e5, 1e-10, -1.0000050000166662e-15, -10000000012.090136),
    (1e-8, 10.0, -100000002.82896824, -1.0516633562643656e-09),
    (-2.5, 1e-9, -9.539246644935023e-09, -1000000001.6803722),
    (2.0, 3.0, -1.0833333333333333, -0.5833333333333334),
]


@pytest.mark.parametrize("a, b, da, db", _BETALN_PARTIALS)
def test_betaln_partials_keep_their_digits_when_one_argument_is_small(a, b, da, db):
    # psi(a + b) - psi(a) for b << a cancelled: 0 instead of -1e-15 at (1e5, 1e-10),
    # 7e-7 relative off at (1e-8, 10)
    from adgraph.scipy import special as sps

    ga = ad.grad(lambda a: sps.betaln(a, b))(a)
    gb = ad.grad(lambda b: sps.betaln(a, b))(b)
    assert abs(ga - da) <= 1e-14 * abs(da)
    assert abs(gb - db) <= 1e-14 * abs(db)


def test_poch_partial_in_z_keeps_its_digits():
    # d/dz (z)_m = (z)_m (psi(z + m) - psi(z)); at z = 1e6, m = 1e-9: psi'(1e6) 1e-9 ~ 1e-15
    from adgraph.scipy import special as sps

    z, m = 1e6, 1e-9
    g = ad.grad(lambda z: sps.poch(z, m))(z)
    ref = sps.poch(z, m) * m * (1 / z + 1 / (2 * z**2))  # psi'(z) ~ 1/z + 1/(2z^2)
    assert abs(g - ref) <= 1e-12 * abs(ref)


@pytest.mark.parametrize("name", ["rel_entr", "kl_div"])
def test_divergences_at_x_zero_have_the_one_sided_derivative(name):
    # x log(x / y) at x = 0 < y: (h log(h / y)) / h -> -inf; it gave 1.0 (rel_entr) and 0.0
    # (kl_div), neither a derivative nor a subgradient there
    f = getattr(s, name)
    assert ad.grad(lambda x: f(x, 2.0))(0.0) == -np.inf
    assert ad.grad(lambda x: f(x, 2.0))(1e-300) < -600  # the limit, approached
    h = 1e-7
    for x in (0.5, 3.0):
        fd = (f(x + h, 2.0) - f(x - h, 2.0)) / (2 * h)
        assert abs(ad.grad(lambda x: f(x, 2.0))(x) - fd) < 1e-7
