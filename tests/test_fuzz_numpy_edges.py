"""Edge cases of the NumPy reductions, statistics and numerical functions: ties, repeated
points, ends of ranges. Values against NumPy, derivatives against closed forms or central
differences."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp


def central_diff(f, x, h=1e-6):
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# ------------------------------------------------------------------------------ interp
def test_interp_at_last_point_keeps_the_last_segments_slope():
    # y = interp(x) with x at xp[-1]: the slope of the last segment (from the left), not 0
    xp = np.array([0.0, 1.0, 2.0, 3.0])
    fp = np.array([0.0, 1.0, 5.0, 4.0])
    f = lambda x: anp.interp(x, xp, fp)  # noqa: E731
    assert float(f(3.0)) == 4.0
    assert float(ad.grad(f)(3.0)) == pytest.approx(-1.0)
    assert float(ad.jacfwd(f)(3.0)) == pytest.approx(-1.0)
    # the derivative in xp[-1]: y = f2 + (f3 - f2) (x - x2) / (x3 - x2) -> -(f3 - f2) (x - x2) / (x3 - x2)^2
    gxp = ad.grad(lambda p: anp.interp(3.0, p, fp))(xp)
    np.testing.assert_allclose(gxp, [0.0, 0.0, 0.0, 1.0], atol=1e-12)
    gfp = ad.grad(lambda q: anp.interp(3.0, xp, q))(fp)
    np.testing.assert_allclose(gfp, [0.0, 0.0, 0.0, 1.0], atol=1e-12)


def test_interp_repeated_sample_points_give_finite_derivatives():
    xp = np.array([1.0, 1.0, 2.0])
    fp = np.array([0.0, 3.0, 5.0])
    f = lambda x: anp.interp(x, xp, fp)  # noqa: E731
    for x, slope in [(0.0, 0.0), (1.5, 2.0), (3.0, 0.0)]:
        assert float(f(x)) == np.interp(x, xp, fp)
        assert float(ad.grad(f)(x)) == slope
    xp2 = np.array([0.0, 1.0, 2.0, 2.0])
    fp2 = np.array([0.0, 3.0, 5.0, 7.0])
    xs = np.array([0.0, 0.5, 2.0, 3.0])
    np.testing.assert_array_equal(anp.interp(xs, xp2, fp2), np.interp(xs, xp2, fp2))
    gfp = ad.grad(lambda q: anp.sum(anp.interp(xs, xp2, q)))(fp2)
    np.testing.assert_allclose(gfp, [1.5, 0.5, 0.0, 2.0])
    gxp = ad.grad(lambda p: anp.sum(anp.interp(xs, p, fp2)))(xp2)
    assert np.all(np.isfinite(gxp))
    np.testing.assert_allclose(gxp[:2], [-3.0 - 1.5, -1.5])
