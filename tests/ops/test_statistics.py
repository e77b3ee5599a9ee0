"""Order statistics, nan reductions, covariance and correlation: values (and dtypes and
shapes) against NumPy, derivatives against finite differences in both modes to second
order (with jit and vmap, see conftest), and closed forms of the derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops._util import OpError

from .harness import check, rand

COVERED = {f"numpy.{n}" for n in [
    "median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile",
    "nanmax", "nanmin", "nanargmax", "nanargmin", "nanprod", "nancumsum", "nancumprod",
    "nanvar", "nanstd", "ptp", "cov", "corrcoef",
]}  # fmt: skip


def distinct(shape, seed=0):
    """Values with gaps of at least 0.1 between any two: no ties, so finite differences
    never cross an order change."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    return (rng.permutation(n) * 0.37 - n * 0.15 + rng.uniform(0, 0.05, n)).reshape(shape)


def with_nans(shape, seed=0):
    x = distinct(shape, seed)
    x.flat[1::5] = np.nan  # never a whole row or column of the shapes used
    return x


QUANTILE_CASES = [
    ((7,), None, 0.3, False),
    ((2, 5), 1, [0.1, 0.5, 0.9], False),
    ((2, 5), 0, 0.25, True),
    ((3, 4), None, [[0.2], [0.75]], False),
    ((2, 3, 4), (0, 2), 0.6, True),
    ((2, 3, 4), -1, 0.0, False),
    ((2, 3, 4), 1, 1.0, False),
]


@pytest.mark.parametrize("shape,axis,q,keepdims", QUANTILE_CASES)
@pytest.mark.parametrize(
    "method",
    ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
     "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf"],
)  # fmt: skip
def test_quantile_values(shape, axis, q, keepdims, method):
    x = distinct(shape, seed=len(shape))
    got = anp.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
    want = np.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    got = anp.percentile(x, np.multiply(q, 100), axis=axis, method=method, keepdims=keepdims)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape,axis,q,keepdims", QUANTILE_CASES[:5])
@pytest.mark.parametrize("method", ["linear", "lower", "midpoint", "hazen"])
def test_quantile_derivatives(shape, axis, q, keepdims, method):
    x = distinct(shape, seed=2)
    check(lambda a: anp.quantile(a, q, axis=axis, method=method, keepdims=keepdims), x)


def test_median_and_its_derivative():
    x = np.array([3.0, -1.0, 2.0, 7.0])  # middle two are 2 and 3
    assert anp.median(x) == 2.5
    np.testing.assert_allclose(ad.grad(anp.median)(x), [0.5, 0.0, 0.5, 0.0])
    y = np.array([3.0, -1.0, 2.0])
    np.testing.assert_allclose(ad.grad(anp.median)(y), [0.0, 0.0, 1.0])
    m = distinct((3, 4, 2), seed=5)
    for axis in [None, 0, 1, (0, 2)]:
        for keepdims in (False, True):
            np.testing.assert_allclose(
                anp.median(m, axis=axis, keepdims=keepdims),
                np.median(m, axis=axis, keepdims=keepdims),
            )
    check(lambda a: anp.median(a, axis=1), m)
    # nan in a slice: nan, as NumPy
    z = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(anp.median(z, axis=1), [np.nan, 2.0])


def test_quantile_dtypes():
    x32 = distinct((5,)).astype(np.float32)
    assert anp.median(x32).dtype == np.median(x32).dtype
    i = np.array([4, 1, 3, 2])
    for method in ("linear", "lower", "nearest", "midpoint"):
        got, want = anp.quantile(i, 0.4, method=method), np.quantile(i, 0.4, method=method)
        assert got == want and got.dtype == want.dtype
    # q's type promotes as in NumPy: a Python float is weak, a list or 0-d array is float64
    for q in (0.3, np.float32(0.3), [0.3], np.array(0.3)):
        assert anp.quantile(x32, q).dtype == np.quantile(x32, q).dtype
    for q in (30, [30.0], np.float32(30)):
        assert anp.percentile(x32, q).dtype == np.percentile(x32, q).dtype
        assert anp.nanpercentile(x32, q).dtype == np.nanpercentile(x32, q).dtype


@pytest.mark.parametrize(
    "shape,axis", [((9,), None), ((3, 6), 1), ((3, 6), 0), ((2, 3, 5), (0, 2))]
)
def test_nan_quantiles(shape, axis):
    x = with_nans(shape, seed=1)
    for q in (0.3, [0.0, 0.5, 1.0]):
        np.testing.assert_allclose(
            anp.nanquantile(x, q, axis=axis), np.nanquantile(x, q, axis=axis), rtol=1e-13
        )
        np.testing.assert_allclose(
            anp.nanpercentile(x, np.multiply(q, 100), axis=axis, keepdims=True),
            np.nanpercentile(x, np.multiply(q, 100), axis=axis, keepdims=True),
            rtol=1e-13,
        )
    np.testing.assert_allclose(anp.nanmedian(x, axis=axis), np.nanmedian(x, axis=axis))
    check(lambda a: anp.nanquantile(a, 0.3, axis=axis), x)
    check(lambda a: anp.nanmedian(a, axis=axis), x)


def test_nanmedian_gradient_skips_nan_and_all_nan_slice():
    x = np.array([[np.nan, 1.0, 5.0, 3.0], [np.nan] * 4])
    with pytest.warns(RuntimeWarning):
        want = np.nanmedian(x, axis=1)
    np.testing.assert_array_equal(anp.nanmedian(x, axis=1), want)
    g = ad.grad(lambda a: anp.nanmedian(a, axis=1)[0])(x)
    np.testing.assert_array_equal(g, [[0, 0, 0, 1], [0, 0, 0, 0]])


def test_quantile_refusals():
    x = distinct((4,))
    with pytest.raises(OpError, match=r"range \[0, 1\]"):
        anp.quantile(x, 1.5)
    with pytest.raises(OpError, match=r"range \[0, 100\]"):
        anp.percentile(x, -3)
    with pytest.raises(OpError, match="method 'foo' is not supported"):
        anp.quantile(x, 0.5, method="foo")
    with pytest.raises(TypeError, match="q is traced"):
        ad.grad(lambda q: anp.quantile(x, q))(0.5)
    with pytest.raises(OpError, match="out= is not supported"):
        anp.median(x, out=np.empty(()))


NAN_REDUCTIONS = ["nanmax", "nanmin", "nanprod", "nanvar", "nanstd", "nancumsum", "nancumprod"]


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nan_reductions(name, axis):
    x = with_nans((3, 4), seed=3) / 3.0
    f = lambda a: getattr(anp, name)(a, axis=axis)  # noqa: E731
    np.testing.assert_allclose(f(x), getattr(np, name)(x, axis=axis), rtol=1e-13)
    check(f, x)
    g = ad.grad(lambda a: anp.sum(f(a)))(x)
    assert np.all(g[np.isnan(x)] == 0)


def test_nan_reduction_closed_forms_and_options():
    x = np.array([1.0, np.nan, 3.0, 2.0])
    np.testing.assert_allclose(ad.grad(anp.nanmax)(x), [0, 0, 1, 0])
    np.testing.assert_allclose(ad.grad(anp.nanprod)(x), [6, 0, 2, 3])
    # d nanvar/dx_i = 2 (x_i - mean) / (k - ddof), mean 2, k 3
    np.testing.assert_allclose(ad.grad(lambda a: anp.nanvar(a, ddof=1))(x), [-1, 0, 1, 0])
    np.testing.assert_allclose(anp.nanstd(x, ddof=1), np.nanstd(x, ddof=1))
    np.testing.assert_allclose(anp.nanvar(x, keepdims=True), np.nanvar(x, keepdims=True))
    assert anp.nanargmax(x) == 2 and anp.nanargmin(x) == 0
    m = with_nans((3, 4), seed=4)
    np.testing.assert_array_equal(anp.nanargmax(m, axis=1), np.nanargmax(m, axis=1))
    np.testing.assert_array_equal(anp.nanargmin(m, axis=0), np.nanargmin(m, axis=0))
    with pytest.raises(OpError, match="all-NaN slice"):
        anp.nanargmax(np.array([np.nan, np.nan]))
    np.testing.assert_array_equal(anp.nanmax(np.array([[np.nan, np.nan], [1, 2]]), axis=1),
                                  [np.nan, 2.0])  # fmt: skip
    i = np.array([[3, 1], [2, 5]])
    np.testing.assert_array_equal(anp.nanmax(i, axis=0), [3, 5])
    np.testing.assert_array_equal(anp.nancumsum(i), np.nancumsum(i))


def test_ptp():
    x = distinct((3, 4), seed=6)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(anp.ptp(x, axis=axis), np.ptp(x, axis=axis))
        check(lambda a: anp.ptp(a, axis=axis, keepdims=True), x)
    g = ad.grad(anp.ptp)(np.array([1.0, 5.0, -2.0]))
    np.testing.assert_array_equal(g, [0, 1, -1])


COV_CASES = [
    dict(),
    dict(rowvar=False),
    dict(bias=True),
    dict(ddof=0),
    dict(fweights=np.array([1, 2, 1, 3, 1])),
    dict(aweights=np.array([0.5, 1.0, 2.0, 1.5, 0.7])),
    dict(fweights=np.array([1, 2, 1, 3, 1]), aweights=np.array([0.5, 1.0, 2.0, 1.5, 0.7])),
]


@pytest.mark.parametrize("kw", COV_CASES, ids=lambda k: ",".join(k) or "plain")
def test_cov(kw):
    x = rand((3, 5), seed=7)
    if kw.get("rowvar") is False:
        x = x.T.copy()
    np.testing.assert_allclose(anp.cov(x, **kw), np.cov(x, **kw), rtol=1e-13)
    check(lambda a: anp.cov(a, **kw), x)


def test_cov_with_y_vector_and_traced_weights():
    x, y = rand((5,), seed=8), rand((2, 5), seed=9)
    np.testing.assert_allclose(anp.cov(x, y), np.cov(x, y), rtol=1e-13)
    assert np.shape(anp.cov(x)) == ()
    np.testing.assert_allclose(anp.cov(x), np.cov(x))
    # the variance of x is 1/(n-1) sum (x - mean)^2: gradient 2 (x - mean)/(n-1)
    np.testing.assert_allclose(ad.grad(anp.cov)(x), 2 * (x - x.mean()) / 4)
    w = rand((5,), seed=10, low=0.5, high=2.0)
    check(lambda w: anp.cov(y, aweights=w), w)
    c = rand((2, 4), seed=11) + 1j * rand((2, 4), seed=12)
    np.testing.assert_allclose(anp.cov(c), np.cov(c), rtol=1e-13)


def test_corrcoef():
    x = rand((3, 6), seed=13)
    np.testing.assert_allclose(anp.corrcoef(x), np.corrcoef(x), rtol=1e-13)
    np.testing.assert_allclose(anp.corrcoef(x[0], x[1]), np.corrcoef(x[0], x[1]), rtol=1e-13)
    np.testing.assert_allclose(anp.corrcoef(x.T, rowvar=False), np.corrcoef(x.T, rowvar=False))
    check(lambda a: anp.corrcoef(a)[0, 1:], x)
    # correlation is invariant under affine maps of a variable: zero derivative along them
    g = ad.grad(lambda a: anp.corrcoef(a)[0, 1])(x)
    np.testing.assert_allclose(np.sum(g[0]), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.sum(g[0] * x[0]), 0.0, atol=1e-12)
