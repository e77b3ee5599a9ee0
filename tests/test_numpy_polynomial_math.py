"""Polynomials, NumPy's extra mathematical functions and the windows: values equal NumPy's
on random inputs, derivatives against finite differences in both modes to second order
(through jit, and vmap where the shapes do not depend on the values) and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads

COVERED = {f"numpy.{n}" for n in [
    "poly", "roots", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint",
    "polyfit", "vander", "poly1d",
    "i0", "frexp", "ldexp", "modf", "divmod", "bitwise_count", "unwrap",
    "bartlett", "blackman", "hamming", "hanning", "kaiser",
]}  # fmt: skip


@pytest.fixture
def extra():
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.add("jit")
    yield test_util.EXTRA_CHECKS
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


def rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------- polynomial arithmetic
@pytest.mark.parametrize("name", ["polyadd", "polysub", "polymul"])
@pytest.mark.parametrize("n1,n2", [(4, 2), (2, 4), (3, 3), (1, 5)])
def test_poly_arithmetic(name, n1, n2, extra):
    a, b = rng(n1).normal(size=n1), rng(n2 + 10).normal(size=n2)
    np.testing.assert_array_equal(getattr(anp, name)(a, b), getattr(np, name)(a, b))
    extra.add("vmap")
    check_grads(lambda u, v: getattr(anp, name)(u, v), (a, b), order=2)


def test_polymul_strips_leading_zeros_as_numpy():
    np.testing.assert_array_equal(
        anp.polymul([0, 1.0, 2], [0, 3.0]), np.polymul([0, 1.0, 2], [0, 3.0])
    )
    np.testing.assert_array_equal(anp.polymul([0.0, 0], [1.0]), np.polymul([0.0, 0], [1.0]))


@pytest.mark.parametrize("nu,nv", [(5, 2), (4, 3), (2, 3), (3, 1)])
def test_polydiv(nu, nv, extra):
    u, v = rng(nu).normal(size=nu), rng(nv + 20).normal(size=nv)
    for g, w in zip(anp.polydiv(u, v), np.polydiv(u, v)):
        np.testing.assert_array_equal(g, w)
    check_grads(lambda a, b: anp.polydiv(a, b), (u, v), order=2)
    # an exact division leaves a zero remainder, trimmed as NumPy does
    q, r = anp.polydiv(np.polymul(u, v), v)
    q2, r2 = np.polydiv(np.polymul(u, v), v)
    np.testing.assert_allclose(q, q2, rtol=1e-12)
    assert r.shape == r2.shape


@pytest.mark.parametrize("m", [0, 1, 2, 5])
def test_polyder_polyint(m, extra):
    p = rng(3).normal(size=5)
    np.testing.assert_array_equal(anp.polyder(p, m), np.polyder(p, m))
    for k in [None, 2.0, np.arange(1.0, m + 1)]:
        if k is not None and np.ndim(k) == 1 and len(k) == 0:
            continue
        np.testing.assert_array_equal(anp.polyint(p, m, k=k), np.polyint(p, m, k=k))
    extra.add("vmap")
    check_grads(lambda q: anp.polyder(q, m), (p,), order=2)
    check_grads(lambda q, k: anp.polyint(q, 2, k=k), (p, np.array([1.0, -2.0])), order=2)
    with pytest.raises(OpError, match="non-negative"):
        anp.polyder(p, -1)


@pytest.mark.parametrize("N", [None, 0, 1, 3, 6])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander(N, increasing, extra):
    x = rng(4).normal(size=5)
    np.testing.assert_array_equal(anp.vander(x, N, increasing), np.vander(x, N, increasing))
    np.testing.assert_array_equal(anp.vander(np.arange(4), N), np.vander(np.arange(4), N))
    extra.add("vmap")
    check_grads(lambda q: anp.vander(q, N, increasing), (np.array([0.0, 1.5, -2.0]),), order=2)
    # exact at zero: d/dx x^k = k x^(k-1), 1 for k = 1 at x = 0
    j = ad.jacfwd(lambda q: anp.vander(q, 3, True))(np.array([0.0]))
    np.testing.assert_array_equal(j[0, :, 0], [0.0, 1.0, 0.0])


# ----------------------------------------------------------------- roots, poly, fits
def test_poly_values(extra):
    z = rng(5).normal(size=4)
    np.testing.assert_array_equal(anp.poly(z), np.poly(z))
    zc = np.array([1 + 2j, 1 - 2j, 3.0])
    got = anp.poly(zc)
    np.testing.assert_array_equal(got, np.poly(zc))
    assert got.dtype == np.poly(zc).dtype
    m = rng(6).normal(size=(3, 3))
    np.testing.assert_allclose(anp.poly(m), np.poly(m), rtol=1e-12)
    assert anp.poly([]) == np.poly([])
    extra.add("vmap")
    check_grads(anp.poly, (z,), order=2)


def test_roots_values_and_closed_form(extra):
    for p in [np.array([0, 1.0, -6, 11, -6, 0]), np.array([1.0, 0, 1]), np.array([2.0]),
              np.array([0.0, 0.0]), np.array([1, 2])]:  # fmt: skip
        np.testing.assert_array_equal(anp.roots(p), np.roots(p))
    p = np.array([1.0, -6, 11, -6])
    extra.add("vmap")
    check_grads(anp.roots, (p,), order=2)
    # dr/dp_k = -r^(n-k) / p'(r) for a simple root r
    r = np.asarray(anp.roots(p))
    want = np.array(
        [[-(ri ** (3 - k)) / np.polyval(np.polyder(p), ri) for k in range(4)] for ri in r]
    )
    np.testing.assert_allclose(ad.jacfwd(anp.roots)(p), want, rtol=1e-10)
    np.testing.assert_allclose(ad.jacrev(anp.roots)(p), want, rtol=1e-10)


@pytest.mark.parametrize("deg", [1, 2, 4])
def test_polyfit(deg, extra):
    x = np.linspace(-1, 1, 9)
    y = np.sin(3 * x) + 0.1 * rng(7).normal(size=9)
    w = rng(8).random(9) + 0.5
    for kw in [{}, dict(w=w)]:
        np.testing.assert_allclose(
            anp.polyfit(x, y, deg, **kw), np.polyfit(x, y, deg, **kw), rtol=1e-11
        )
    for got, want in zip(anp.polyfit(x, y, deg, full=True), np.polyfit(x, y, deg, full=True)):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    for cov in [True, "unscaled"]:
        for got, want in zip(anp.polyfit(x, y, deg, cov=cov), np.polyfit(x, y, deg, cov=cov)):
            np.testing.assert_allclose(got, want, rtol=1e-9)
    Y = np.stack([y, y**2], 1)
    np.testing.assert_allclose(anp.polyfit(x, Y, deg), np.polyfit(x, Y, deg), rtol=1e-11)
    extra.add("vmap")
    check_grads(lambda a, b: anp.polyfit(a, b, deg), (x, y), order=2)
    check_grads(lambda ww: anp.polyfit(x, y, deg, w=ww, cov=True), (w,), order=1)
    # an exact fit recovers the coefficients
    c = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(anp.polyfit(x, np.polyval(c, x), 2), c, rtol=1e-12)


# ----------------------------------------------------------------- mathematical functions
SHAPES = [(), (3,), (2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_ldexp_frexp(shape, extra):
    x = rng(9).normal(size=shape) * 10
    e = rng(10).integers(-3, 4, shape)
    np.testing.assert_array_equal(anp.ldexp(x, e), np.ldexp(x, e))
    for g, w in zip(anp.frexp(x), np.frexp(x)):
        np.testing.assert_array_equal(g, w)
        assert np.asarray(g).dtype == w.dtype
    extra.add("vmap")
    check_grads(lambda a: anp.ldexp(a, e), (x,), order=2)
    check_grads(lambda a: anp.frexp(a)[0], (x,), order=2)
    # closed form: d m / d x = 2^-e
    np.testing.assert_array_equal(ad.grad(lambda a: anp.frexp(a)[0])(np.float64(12.0)), 1 / 16)
    with pytest.raises(TypeError, match="integers"):
        anp.ldexp(x, 1.5)


@pytest.mark.parametrize("shape", SHAPES)
def test_modf_divmod(shape, extra):
    x = rng(11).normal(size=shape) * 5
    for g, w in zip(anp.modf(x), np.modf(x)):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(anp.divmod(x, 1.5), np.divmod(x, 1.5)):
        np.testing.assert_array_equal(g, w)
    extra.add("vmap")
    check_grads(anp.modf, (x,), order=2)
    check_grads(lambda a, b: anp.divmod(a, b)[1], (x, np.full(shape, 1.7)), order=2)
    special = np.array([-3.7, -3.0, 0.0, 2.5, np.inf, -np.inf, np.nan, 1e300])
    with np.errstate(invalid="raise"):
        f, w = anp.modf(special)
    f2, w2 = np.modf(special)
    np.testing.assert_array_equal(f, f2)
    np.testing.assert_array_equal(np.signbit(f), np.signbit(f2))
    np.testing.assert_array_equal(w, w2)


def test_bitwise_count():
    x = np.array([0, 7, -8, 255, 2**40])
    np.testing.assert_array_equal(anp.bitwise_count(x), np.bitwise_count(x))
    got = ad.vmap(anp.bitwise_count)(x.reshape(5, 1))
    np.testing.assert_array_equal(got, np.bitwise_count(x.reshape(5, 1)))
    with pytest.raises(TypeError, match="integers"):
        anp.bitwise_count(np.ones(2))


@pytest.mark.parametrize("shape", SHAPES)
def test_i0(shape, extra):
    pytest.importorskip("scipy")
    x = rng(12).normal(size=shape) * 3
    np.testing.assert_array_equal(anp.i0(x), np.i0(x))
    extra.add("vmap")
    check_grads(anp.i0, (x,), order=2)
    from scipy.special import i1

    np.testing.assert_allclose(ad.grad(anp.i0)(1.3), i1(1.3), rtol=1e-13)


@pytest.mark.parametrize("kw", [{}, dict(axis=0), dict(discont=4.0), dict(period=5.0)])
def test_unwrap(kw, extra):
    ph = np.cumsum(rng(13).normal(size=(3, 10)) * 2, axis=1)
    np.testing.assert_array_equal(anp.unwrap(ph, **kw), np.unwrap(ph, **kw))
    np.testing.assert_array_equal(
        anp.unwrap(np.array([0, 5, 10, 3]), period=4), np.unwrap(np.array([0, 5, 10, 3]), period=4)
    )
    extra.add("vmap")
    check_grads(lambda a: anp.unwrap(a, **kw), (ph,), order=2)
    # the corrections are constant: the Jacobian is the identity
    np.testing.assert_array_equal(ad.jacfwd(anp.unwrap)(ph[0]), np.eye(10))


# ----------------------------------------------------------------- windows
@pytest.mark.parametrize("M", [0, 1, 2, 7, 8])
def test_windows(M):
    for name in ["bartlett", "blackman", "hamming", "hanning"]:
        np.testing.assert_array_equal(getattr(anp, name)(M), getattr(np, name)(M))
    np.testing.assert_array_equal(anp.kaiser(M, 3.0), np.kaiser(M, 3.0))
    with pytest.raises(TypeError, match="integer"):
        anp.hamming(2.5)


def test_kaiser_beta_derivative(extra):
    pytest.importorskip("scipy")
    np.testing.assert_allclose(
        ad.jit(lambda b: anp.kaiser(9, b))(np.float64(3.0)), np.kaiser(9, 3.0), rtol=1e-15
    )
    extra.add("vmap")
    check_grads(lambda b: anp.kaiser(9, b), (np.float64(2.5),), order=2)


def test_poly1d_matches_numpy_and_differentiates(extra):
    c = np.array([1.0, -3.0, 2.0])
    p, q = anp.poly1d(c), np.poly1d(c)
    d = anp.poly1d([1.0, 1.0])
    for got, want in [
        (p(2.5), q(2.5)), (p.roots, q.roots), ((p * p).coeffs, (q * q).coeffs),
        ((p + 1).coeffs, (q + 1).coeffs), ((2 - p).coeffs, (2 - q).coeffs),
        ((p**3).coeffs, (q**3).coeffs), (p.deriv().coeffs, q.deriv().coeffs),
        (p.integ(k=1).coeffs, q.integ(k=1).coeffs), ((p / 2).coeffs, (q / 2).coeffs),
        (p(d).coeffs, q(np.poly1d([1.0, 1.0])).coeffs), ((-p).coeffs, (-q).coeffs),
        (anp.poly1d([1, 2], r=True).coeffs, np.poly1d([1, 2], r=True).coeffs),
        (anp.poly1d([0, 0, 1.0]).coeffs, np.poly1d([0, 0, 1.0]).coeffs),
    ]:  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=1e-14)
    for g, w in zip(p / anp.poly1d([1.0, -1.0]), q / np.poly1d([1.0, -1.0])):
        np.testing.assert_allclose(g.coeffs, w.coeffs)
    assert p.order == q.order == len(p) and p[0] == q[0] and p[5] == q[5] == 0
    assert p == anp.poly1d(c) and p != d
    np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
    # derivatives in the coefficients: p(2) = c0 * 4 + c1 * 2 + c2
    np.testing.assert_array_equal(ad.grad(lambda cc: anp.poly1d(cc)(2.0))(c), [4.0, 2.0, 1.0])
    extra.add("vmap")
    check_grads(lambda cc, x: anp.poly1d(cc)(x), (c, np.array([0.5, 1.5])), order=2)
    check_grads(lambda cc: (anp.poly1d(cc) * anp.poly1d(cc)).deriv().coeffs, (c,), order=2)
    with pytest.raises(ValueError, match="non-negative"):
        p**-1
