"""Differences, gradient, interpolation, integration, convolution, cross products and
polynomial evaluation: values against NumPy, derivatives against finite differences in
both modes to second order (with jit and vmap, see conftest), and closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops._util import OpError

from .harness import check, rand

COVERED = {f"numpy.{n}" for n in [
    "diff", "ediff1d", "gradient", "interp", "trapezoid", "convolve", "correlate", "cross",
    "polyval",
]}  # fmt: skip


@pytest.mark.parametrize(
    "shape,kw",
    [((5,), {}), ((5,), dict(n=2)), ((3, 4), dict(axis=0)), ((3, 4), dict(n=3)),
     ((2, 3, 4), dict(axis=1, prepend=0.5, append=np.ones((2, 2, 4)))), ((4,), dict(n=0))],
)  # fmt: skip
def test_diff(shape, kw):
    x = rand(shape, seed=1)
    np.testing.assert_allclose(anp.diff(x, **kw), np.diff(x, **kw), rtol=1e-14)
    check(lambda a: anp.diff(a, **kw), x)


def test_diff_special_cases():
    b = np.array([True, False, False, True])
    np.testing.assert_array_equal(anp.diff(b), np.diff(b))
    np.testing.assert_array_equal(anp.diff(np.arange(5) ** 2), np.diff(np.arange(5) ** 2))
    # the appended values are differentiated too
    g = ad.grad(lambda p: anp.sum(anp.diff(np.ones(3), prepend=p) ** 2))(2.0)
    assert g == 2.0  # d (1 - p)^2 / dp = -2 (1 - p) at p = 2
    with pytest.raises(OpError, match="at least one dimension"):
        anp.diff(np.float64(1.0))
    with pytest.raises(OpError, match="non-negative"):
        anp.diff(np.ones(3), n=-1)


def test_ediff1d():
    x = rand((2, 3), seed=2)
    for kw in [{}, dict(to_end=[9.0, 8.0]), dict(to_begin=-1.0, to_end=np.array([[7.0]]))]:
        np.testing.assert_allclose(anp.ediff1d(x, **kw), np.ediff1d(x, **kw))
        check(lambda a: anp.ediff1d(a, **kw), x)
    i = np.array([1, 4, 9])
    got = anp.ediff1d(i, to_begin=0)
    np.testing.assert_array_equal(got, np.ediff1d(i, to_begin=0))
    assert got.dtype == np.ediff1d(i).dtype


GRADIENT_CASES = [
    ((6,), (), {}),
    ((6,), (0.5,), dict(edge_order=2)),
    ((4, 5), (), {}),
    ((4, 5), (2.0, 0.3), dict(edge_order=2)),
    ((4, 5), (), dict(axis=1)),
    ((3, 4, 3), (), dict(axis=(0, 2), edge_order=2)),
]


@pytest.mark.parametrize("shape,spacing,kw", GRADIENT_CASES)
def test_gradient_uniform(shape, spacing, kw):
    f = rand(shape, seed=3)
    got, want = anp.gradient(f, *spacing, **kw), np.gradient(f, *spacing, **kw)
    assert type(got) is type(want)
    for g, w in zip(
        got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want]
    ):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-14)
    check(lambda a: anp.gradient(a, *spacing, **kw), f)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_coordinates(edge_order):
    x = np.array([0.0, 0.4, 1.1, 1.5, 2.6, 3.0])
    f = rand((2, 6), seed=4)
    want = np.gradient(f, x, axis=1, edge_order=edge_order)
    np.testing.assert_allclose(anp.gradient(f, x, axis=1, edge_order=edge_order), want, rtol=1e-13)
    check(lambda a: anp.gradient(a, x, axis=1, edge_order=edge_order), f)
    check(lambda c: anp.gradient(f, c, axis=1, edge_order=edge_order), x)
    # second-order edges are exact on quadratics: the gradient of x^2 is 2x everywhere
    np.testing.assert_allclose(anp.gradient(x**2, x, edge_order=2), 2 * x, atol=1e-12)


def test_gradient_refusals():
    with pytest.raises(OpError, match="edge_order must be 1 or 2"):
        anp.gradient(np.ones(4), edge_order=3)
    with pytest.raises(OpError, match="at least edge_order"):
        anp.gradient(np.ones(2), edge_order=2)
    with pytest.raises(OpError, match="coordinates for axis 0 have length 3"):
        anp.gradient(np.ones(4), np.arange(3.0))


XP = np.array([-1.0, 0.0, 0.5, 2.0, 3.0])
FP = np.array([2.0, -1.0, 0.5, 1.5, 0.0])


@pytest.mark.parametrize(
    "x",
    [np.float64(0.3), np.array([-2.0, -1.0, -0.4, 0.25, 1.2, 2.0, 2.7, 3.0, 4.0]),
     np.array([[0.1, 2.2], [-3.0, 2.9]])],
)  # fmt: skip
@pytest.mark.parametrize("kw", [{}, dict(left=-5.0, right=7.0)])
def test_interp(x, kw):
    np.testing.assert_allclose(anp.interp(x, XP, FP, **kw), np.interp(x, XP, FP, **kw), rtol=1e-14)


def test_interp_derivatives():
    x = np.array([-0.4, 0.25, 1.2, 2.7])  # inside segments, away from the knots
    check(lambda a: anp.interp(a, XP, FP), x)
    check(lambda f: anp.interp(x, XP, f), FP)
    check(lambda p: anp.interp(x, p, FP), XP)
    # d/dx is the slope of the segment; outside the range, 0
    slopes = np.diff(FP) / np.diff(XP)
    g = ad.grad(lambda a: anp.sum(anp.interp(a, XP, FP)))(np.array([-0.4, 1.2, 5.0]))
    np.testing.assert_allclose(g, [slopes[0], slopes[2], 0.0])


def test_interp_period_complex_and_errors():
    xp = np.array([190.0, -190.0, 350.0, -350.0])
    fp = np.array([5.0, 10.0, 3.0, 4.0])
    x = np.array([-180.0, -170.0, -185.0, 185.0, -10.0, -5.0, 0.0, 365.0])
    np.testing.assert_allclose(anp.interp(x, xp, fp, period=360), np.interp(x, xp, fp, period=360))
    fc = FP + 1j * FP[::-1]
    np.testing.assert_allclose(anp.interp(0.3, XP, fc), np.interp(0.3, XP, fc))
    assert np.isnan(anp.interp(np.nan, XP, FP))
    with pytest.raises(OpError, match="same length"):
        anp.interp(0.0, XP, FP[:3])
    with pytest.raises(OpError, match="empty"):
        anp.interp(0.0, [], [])


@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 4), 0), ((2, 3, 4), 1)])
def test_trapezoid(shape, axis):
    y = rand(shape, seed=5)
    x = np.cumsum(rand((shape[axis],), seed=6, low=0.2, high=1.0))
    np.testing.assert_allclose(anp.trapezoid(y, axis=axis), np.trapezoid(y, axis=axis))
    np.testing.assert_allclose(
        anp.trapezoid(y, dx=0.3, axis=axis), np.trapezoid(y, dx=0.3, axis=axis)
    )
    np.testing.assert_allclose(anp.trapezoid(y, x, axis=axis), np.trapezoid(y, x, axis=axis))
    check(lambda a: anp.trapezoid(a, x, axis=axis), y)
    check(lambda c: anp.trapezoid(y, c, axis=axis), x)
    # exact on a line: integral of 2t over [0, 1] is 1
    t = np.linspace(0, 1, 7)
    np.testing.assert_allclose(anp.trapezoid(2 * t, t), 1.0)


@pytest.mark.parametrize("n,m", [(5, 3), (3, 5), (4, 4), (1, 3), (6, 2), (2, 7)])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_convolve_correlate(name, n, m, mode):
    a = rand((n,), seed=n) + 1j * rand((n,), seed=n + 10)
    v = rand((m,), seed=m + 20) + 1j * rand((m,), seed=m + 30)
    np.testing.assert_allclose(
        getattr(anp, name)(a, v, mode), getattr(np, name)(a, v, mode), rtol=1e-13
    )
    a, v = a.real.copy(), v.real.copy()
    np.testing.assert_allclose(
        getattr(anp, name)(a, v, mode), getattr(np, name)(a, v, mode), rtol=1e-13
    )
    if (n, m) in [(5, 3), (2, 7)]:
        check(lambda x, y: getattr(anp, name)(x, y, mode), a, v)


def test_convolve_closed_form_and_errors():
    # the derivative of sum(a * v) in v_j is sum of a: each a_i meets each v_j once
    a = np.array([1.0, 2.0, 3.0])
    g = ad.grad(lambda v: anp.sum(anp.convolve(a, v)))(np.array([0.5, -1.0]))
    np.testing.assert_allclose(g, [6.0, 6.0])
    with pytest.raises(OpError, match="cannot be empty"):
        anp.convolve(np.ones(3), np.ones(0))
    with pytest.raises(OpError, match="mode must be"):
        anp.correlate(np.ones(3), np.ones(2), mode="circular")
    with pytest.raises(OpError, match="1-d"):
        anp.convolve(np.ones((2, 2)), np.ones(2))


@pytest.mark.parametrize(
    "sa,sb,kw",
    [((3,), (3,), {}), ((4, 3), (3,), {}), ((2,), (2,), {}), ((2, 3), (2, 2), {}),
     ((3, 2), (1, 3), dict(axisa=0, axisb=-1, axisc=0)), ((3, 4), (3, 4), dict(axis=0))],
)  # fmt: skip
def test_cross(sa, sb, kw):
    a, b = rand(sa, seed=7), rand(sb, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2 deprecates 2-vectors
        want = np.cross(a, b, **kw)
    np.testing.assert_allclose(anp.cross(a, b, **kw), want, rtol=1e-14)
    check(lambda x, y: anp.cross(x, y, **kw), a, b)


def test_cross_closed_form_and_errors():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    # d (a x b) . c / da = b x c
    c = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(ad.grad(lambda x: anp.sum(anp.cross(x, b) * c))(a), np.cross(b, c))
    with pytest.raises(OpError, match="dimension must be 2 or 3"):
        anp.cross(np.ones(4), np.ones(3))


def test_polyval():
    p = np.array([2.0, -1.0, 0.5, 3.0])
    x = rand((2, 3), seed=9)
    np.testing.assert_allclose(anp.polyval(p, x), np.polyval(p, x), rtol=1e-14)
    check(lambda c, t: anp.polyval(c, t), p, x)
    np.testing.assert_allclose(
        ad.grad(lambda t: anp.polyval(p, t))(0.7), np.polyval(np.polyder(p), 0.7)
    )
    with pytest.raises(OpError, match="1-d sequence"):
        anp.polyval(np.ones((2, 2)), 1.0)
