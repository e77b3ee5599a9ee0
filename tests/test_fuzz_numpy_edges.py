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


# --------------------------------------------------------------- reductions: dtype=
XI = np.array([[1, 0, 3, 2], [2, 0, 0, -1], [5, 4, -1, -2]]) * 40


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod", "nansum", "nanprod"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "bool"])
@pytest.mark.parametrize("axis", [0, None])
def test_small_integer_dtype_accumulates_in_that_dtype(name, dtype, axis):
    # NumPy accumulates in the dtype asked for (wrapping; or/and for bool), where a wider
    # accumulator gave e.g. sum(..., dtype=uint8) = 336 in uint64 instead of 80
    want = getattr(np, name)(XI, axis=axis, dtype=dtype)
    got = getattr(anp, name)(XI, axis=axis, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["sum", "prod"])
def test_initial_keeps_the_dtype_asked_for(name):
    want = getattr(np, name)(XI > 0, dtype=bool, initial=3)
    got = getattr(anp, name)(XI > 0, dtype=bool, initial=3)
    assert got.dtype == want.dtype and got == want


@pytest.mark.parametrize("name", ["mean", "nanmean"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_mean_with_an_integer_dtype_is_truncated(name, dtype):
    # np.mean(..., dtype=int32) divides in floating point and casts: [2, 1, 0, 0]
    x = XI // 40
    want = getattr(np, name)(x, axis=0, dtype=dtype)
    got = getattr(anp, name)(x, axis=0, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    w = x != 0
    np.testing.assert_array_equal(
        anp.mean(x, axis=0, dtype=dtype, where=w), np.mean(x, axis=0, dtype=dtype, where=w)
    )


def test_float_dtype_keeps_derivatives():
    x = np.arange(1.0, 5.0)
    np.testing.assert_allclose(ad.grad(lambda x: anp.sum(x, dtype="float64"))(x), np.ones(4))
    np.testing.assert_allclose(
        ad.grad(lambda x: anp.prod(x, dtype="float64", initial=2.0))(x), 2 * 24 / x
    )
    np.testing.assert_allclose(
        ad.grad(lambda x: anp.sum(anp.cumsum(x, dtype="float64")))(x), [4, 3, 2, 1]
    )


# --------------------------------------------------------------------------- pad modes
X2 = np.array([[1.0, 0.0, 3.0, 2.0], [2.0, 0.0, 0.0, -1.0], [0.5, 4.0, -1.0, 2.5]])
PAD_CASES = [
    ("linear_ramp", {}),
    ("linear_ramp", dict(end_values=((1.5, 2.0), (3.0, 4.0)))),
    ("maximum", {}),
    ("minimum", dict(stat_length=2)),
    ("mean", dict(stat_length=(1, 3))),
    ("median", dict(stat_length=((2, 1), (3, 9)))),
    ("reflect", dict(reflect_type="odd")),
    ("symmetric", dict(reflect_type="odd")),
]


@pytest.mark.parametrize("mode,kw", PAD_CASES)
@pytest.mark.parametrize("widths", [((1, 0), (3, 2)), ((0, 0), (6, 7)), ((5, 2), (0, 9))])
def test_pad_modes_match_numpy(mode, kw, widths):
    for x in (X2, (X2 * 3).astype(int)):
        want = np.pad(x, widths, mode=mode, **kw)
        got = anp.pad(x, widths, mode=mode, **kw)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-14)
    # derivatives where no statistic has a tie (finite differences are valid there)
    xr = np.random.default_rng(3).standard_normal((3, 4))
    f = lambda x: anp.sum(anp.sin(anp.pad(x, widths, mode=mode, **kw)))  # noqa: E731
    g = ad.grad(f)(xr)
    np.testing.assert_allclose(g, central_diff(lambda x: float(f(x)), xr), atol=1e-6)
    np.testing.assert_allclose(ad.jacfwd(f)(xr), g, atol=1e-12)


def test_pad_ramp_in_traced_end_values():
    x = np.array([3.0, 1.0, 3.5, 2.0])

    def f(x):
        return anp.sum(anp.pad(x[:3], (2, 3), mode="linear_ramp", end_values=(x[3], 2 * x[3])) ** 2)

    np.testing.assert_allclose(ad.grad(f)(x), central_diff(lambda x: float(f(x)), x), rtol=1e-7)


def test_pad_mean_of_ties_and_empty_mode():
    # the mean's derivative is 1/length for each element of the stat region
    g = ad.grad(lambda x: anp.sum(anp.pad(x, (2, 0), mode="mean", stat_length=3)))(np.ones(5))
    np.testing.assert_allclose(g, [1 + 2 / 3, 1 + 2 / 3, 1 + 2 / 3, 1, 1])
    # maximum with a tie shares the border's derivative between the tied elements
    g = ad.grad(lambda x: anp.sum(anp.pad(x, (0, 2), mode="maximum")))(np.array([3.0, 1.0, 3.0]))
    np.testing.assert_allclose(g, [2.0, 1.0, 2.0])
    assert anp.pad(X2, 2, mode="empty").shape == (7, 8)
    with pytest.raises(Exception, match="stat_length"):
        anp.pad(X2, 1, mode="mean", stat_length=0)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize(
    "a, kw",
    [
        (np.array([1, 2]), {"initial": 5.5}),  # initial cast to the array's dtype: 5
        (np.zeros((0, 3)), {"axis": 0, "initial": -1.0}),  # over no elements: initial
        (np.zeros((2, 0)), {"axis": 1, "initial": 2, "keepdims": True}),
        (np.zeros(0), {"initial": 0.0}),
        (np.array([1.0, 2.0], np.float32), {"initial": 5.5}),
        (np.array([3, 1, 2]), {"initial": 0, "where": np.array([False, True, True])}),
    ],
)
def test_max_min_initial_as_numpy(op, a, kw):
    want = getattr(np, op)(a, **kw)
    got = getattr(anp, op)(a, **kw)
    assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


def test_max_initial_derivatives():
    # over no elements the result is initial, which does not depend on x
    assert ad.grad(lambda x: anp.max(x, initial=0.0))(np.zeros(0)).shape == (0,)
    np.testing.assert_array_equal(
        ad.grad(lambda x: anp.max(x, initial=0.5))(np.array([0.1, 0.7, 0.2])), [0.0, 1.0, 0.0]
    )
    np.testing.assert_array_equal(
        ad.grad(lambda x: anp.max(x, initial=0.5))(np.array([0.1, 0.3, 0.2])), [0.0, 0.0, 0.0]
    )
    np.testing.assert_array_equal(
        ad.vmap(lambda x: anp.max(x, initial=0.5))(np.zeros((3, 0))), [0.5, 0.5, 0.5]
    )
