"""Reductions: values against NumPy and derivatives against finite differences (orders 1
and 2, forward and reverse) for every axis with and without keepdims, shapes (), (3,),
(2, 3), (2, 3, 4), float64 and float32; closed forms (products with zero factors, moments
of constants), batching, and the non-differentiable reductions."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.trace import Tracer
from adgraph.ops._util import OpError

from .harness import check, check_all_dtypes, rand

COVERED = {f"numpy.{n}" for n in [
    "sum", "mean", "prod", "var", "std", "cumsum", "cumprod", "average", "nansum", "nanmean",
    "max", "min", "amax", "amin", "all", "any", "argmax", "argmin", "count_nonzero",
]}  # fmt: skip

F64, F32 = np.float64, np.float32
RED_SHAPES = [(), (3,), (2, 3), (2, 3, 4)]


def axes_for(shape):
    nd = len(shape)
    out = [None] + list(range(nd))
    if nd:
        out.append(-1)
    if nd == 2:
        out.append((0, 1))
    if nd == 3:
        out += [(0, 2), (1, 2), (-1, 0)]
    return out


def sample(shape, dtype=F64, seed=0):
    """Values with |x| in [0.5, 1.5] and either sign: products neither vanish nor blow up,
    and ties (for max/min) have probability zero."""
    x = rand(shape, F64, seed, 0.5, 1.5)
    s = np.where(rand(shape, F64, seed + 50) > 0, 1.0, -1.0)
    return np.asarray(x * s, dtype=dtype)


REDUCTIONS = {
    "sum": dict(),
    "mean": dict(),
    "prod": dict(),
    "max": dict(),
    "min": dict(),
    "amax": dict(),
    "amin": dict(),
    "var": dict(),
    "std": dict(),
    "var_ddof1": dict(ddof=1),
    "std_ddof1": dict(ddof=1),
    "nansum": dict(),
    "nanmean": dict(),
}


def _case_ok(name, shape, axis):
    # the sample variance (ddof=1) of one element divides by zero
    n = (
        int(np.prod(shape))
        if axis is None
        else int(np.prod(np.array(shape)[list(np.atleast_1d(axis))]))
    )
    return not (name.endswith("ddof1") and n < 2) and not (name.startswith("std") and n < 2)


REDUCTION_CASES = [
    pytest.param(name, shape, axis, keepdims, id=f"{name}-{shape}-{axis}-{keepdims}")
    for name in REDUCTIONS
    for shape in RED_SHAPES
    for axis in axes_for(shape)
    for keepdims in (False, True)
    if _case_ok(name, shape, axis)
]


@pytest.mark.parametrize("name,shape,axis,keepdims", REDUCTION_CASES)
def test_reduction(name, shape, axis, keepdims):
    kw = REDUCTIONS[name]
    base = name.split("_")[0]
    x = sample(shape, seed=len(name) + len(shape))
    f = lambda a: getattr(anp, base)(a, axis=axis, keepdims=keepdims, **kw)
    got = f(x)
    want = getattr(np, base)(x, axis=axis, keepdims=keepdims, **kw)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    check(f, x, order=2)


F32_CASES = [
    (name, shape, axis) for name in REDUCTIONS for shape, axis in [((2, 3), 1), ((2, 3, 4), (0, 2))]
]


@pytest.mark.parametrize("name,shape,axis", F32_CASES)
def test_reduction_float32(name, shape, axis):
    kw = REDUCTIONS[name]
    base = name.split("_")[0]
    x = sample(shape, F32, seed=3)
    f = lambda a: getattr(anp, base)(a, axis=axis, **kw)
    np.testing.assert_allclose(f(x), getattr(np, base)(x, axis=axis, **kw), rtol=1e-6)
    assert f(x).dtype == np.float32
    check_all_dtypes(f, x, dtypes=(F32,))
    assert ad.grad(lambda a: anp.sum(f(a)))(x).dtype == np.float32


@pytest.mark.parametrize(
    "name", ["sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod"]
)
def test_large_arrays(name):
    # Reverse mode frees residuals (1 KiB and more) that no rule declares it reads.
    x = sample((20, 12), seed=40)
    f = getattr(anp, name)
    check(lambda a: f(a, axis=1), x)
    check(lambda a: f(a * a, axis=0) * 2.0, x, order=1)


# ------------------------------------------------------------------ cumsum / cumprod
CUM_CASES = [
    pytest.param(name, shape, axis, id=f"{name}-{shape}-{axis}")
    for name in ("cumsum", "cumprod")
    for shape in RED_SHAPES
    for axis in [None] + list(range(len(shape)))
]


@pytest.mark.parametrize("name,shape,axis", CUM_CASES)
def test_cumulative(name, shape, axis):
    x = sample(shape, seed=5)
    f = lambda a: getattr(anp, name)(a, axis=axis)
    np.testing.assert_allclose(f(x), getattr(np, name)(x, axis=axis), rtol=1e-14)
    check(f, x, order=2)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_float32_and_dtype(name):
    x = sample((2, 5), F32, seed=6)
    f = lambda a: getattr(anp, name)(a, axis=1)
    assert f(x).dtype == np.float32
    check_all_dtypes(f, x, dtypes=(F32,))
    np.testing.assert_array_equal(
        getattr(anp, name)(x, dtype=np.float64), getattr(np, name)(x, dtype=np.float64)
    )
    with pytest.raises(OpError, match=name):
        getattr(anp, name)(x, axis=2)


def test_cumulative_long_and_complex():
    # 13 elements: four doubling steps, the last one partial
    x = sample((13,), seed=7)
    check(anp.cumprod, x, order=2)
    check(anp.cumsum, x, order=2)
    z = rand((2, 5), np.complex128, seed=8, low=0.5, high=1.2)
    check(lambda a: anp.cumprod(a, axis=1), z)
    check(lambda a: anp.prod(a, axis=0), z)
    check(lambda a: anp.cumsum(a, axis=0), z)


def _brute_cumprod_jacobian(x):
    n = len(x)
    J = np.zeros((n, n))
    for k in range(n):
        for i in range(k + 1):
            J[k, i] = np.prod([x[j] for j in range(k + 1) if j != i])
    return J


@pytest.mark.parametrize(
    "x", [[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.5, -2.0], [1.5, 2.0, 0.0], [0.0, 0.0, 2.0, 3.0]]
)
def test_cumprod_exact_with_zeros(x):
    x = np.array(x)
    J = _brute_cumprod_jacobian(x)
    np.testing.assert_array_equal(ad.jacrev(anp.cumprod)(x), J)
    np.testing.assert_array_equal(ad.jacfwd(anp.cumprod)(x), J)
    # second derivatives of the last entry = those of the product
    H = ad.hessian(lambda a: anp.cumprod(a)[-1])(x)
    np.testing.assert_array_equal(H, ad.hessian(anp.prod)(x))
    check(anp.cumprod, x, order=2)


# ------------------------------------------------------------------ prod closed forms
def test_prod_gradient_is_prod_over_x():
    x = sample((2, 3), seed=9)
    g = ad.grad(anp.prod)(x)
    np.testing.assert_allclose(g, np.prod(x) / x, rtol=1e-14)
    g = ad.grad(lambda a: anp.sum(anp.prod(a, axis=1)))(x)
    np.testing.assert_allclose(g, np.prod(x, axis=1, keepdims=True) / x, rtol=1e-14)


def _others(x, skip):
    return np.prod([v for i, v in enumerate(x) if i not in skip])


@pytest.mark.parametrize(
    "x", [[2.0, 0.0, 3.0, 5.0], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [0.0], [4.0, -1.5, 0.0]]
)
def test_prod_exact_with_zeros(x):
    x = np.array(x)
    n = len(x)
    grad = np.array([_others(x, {i}) for i in range(n)])
    hess = np.array([[_others(x, {i, j}) if i != j else 0.0 for j in range(n)] for i in range(n)])
    np.testing.assert_array_equal(ad.grad(anp.prod)(x), grad)
    np.testing.assert_array_equal(ad.hessian(anp.prod)(x), hess)
    np.testing.assert_array_equal(ad.jacfwd(ad.grad(anp.prod))(x), hess)
    check(anp.prod, x, order=2)


def test_prod_with_zeros_along_an_axis():
    x = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]])
    g = ad.grad(lambda a: anp.sum(anp.prod(a, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    g = ad.grad(lambda a: anp.sum(anp.prod(a, axis=0)))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.0, 3.0], [1.5, 0.0, 2.0]])
    check(lambda a: anp.prod(a, axis=(0, 1), keepdims=True), x)


# ------------------------------------------------------------------ var / std closed forms
def test_var_std_closed_forms():
    x = sample((5,), seed=10)
    m = x.mean()
    np.testing.assert_allclose(ad.grad(anp.var)(x), 2 * (x - m) / 5, rtol=1e-14)
    np.testing.assert_allclose(
        ad.grad(lambda a: anp.var(a, ddof=1))(x), 2 * (x - m) / 4, rtol=1e-14
    )
    np.testing.assert_allclose(
        ad.grad(lambda a: anp.var(a, correction=1))(x), 2 * (x - m) / 4, rtol=1e-14
    )
    s = np.std(x)
    np.testing.assert_allclose(ad.grad(anp.std)(x), (x - m) / (5 * s), rtol=1e-13)
    np.testing.assert_allclose(
        ad.hessian(anp.var)(x), 2 * (np.eye(5) - 1 / 5) / 5, rtol=1e-14, atol=1e-16
    )


@pytest.mark.parametrize("f", [anp.var, anp.std], ids=["var", "std"])
def test_var_std_of_a_constant(f):
    c = np.full((2, 3), 1.7)
    assert np.all(f(c, axis=1) == 0)
    g = ad.grad(lambda a: anp.sum(f(a, axis=1)))(c)
    np.testing.assert_array_equal(g, np.zeros((2, 3)))
    H = ad.hessian(lambda a: f(a))(c[0])
    assert np.all(np.isfinite(H))
    if f is anp.var:
        np.testing.assert_allclose(H, 2 * (np.eye(3) - 1 / 3) / 3, atol=1e-15)
    else:
        np.testing.assert_array_equal(H, np.zeros((3, 3)))
    t = ad.jvp(lambda a: f(a), (c[0],), (np.array([1.0, -1.0, 0.0]),))[1]
    assert t == 0.0


def test_var_std_complex():
    z = rand((4,), np.complex128, seed=11)
    m = z.mean()
    assert anp.var(z).dtype == np.float64
    np.testing.assert_allclose(anp.var(z), np.var(z), rtol=1e-14)
    np.testing.assert_allclose(ad.grad(anp.var)(z), 2 * np.conj(z - m) / 4, rtol=1e-14)
    check(lambda a: anp.var(a), z)
    check(lambda a: anp.std(a, ddof=1), z)


def test_var_std_integer_input_and_dtype_argument():
    k = np.array([[1, 2, 4], [3, 3, 9]])
    np.testing.assert_allclose(anp.var(k, axis=1), np.var(k, axis=1))
    np.testing.assert_allclose(anp.std(k), np.std(k))
    x = sample((2, 3), F32, seed=12)
    assert anp.var(x, dtype=np.float64).dtype == np.float64
    assert anp.std(x).dtype == np.float32
    with pytest.raises(OpError, match="var"):
        anp.var(x, out=np.zeros(()))


# ------------------------------------------------------------------ average
AVERAGE_CASES = [
    ((2, 3), None, None),
    ((2, 3), 1, None),
    ((2, 3), None, "full"),
    ((2, 3), 0, "full"),
    ((2, 3), 1, "axis"),
    ((2, 3), -2, "axis"),
    ((2, 3, 4), (0, 2), "axis"),
    ((2, 3, 4), (2, 0), "axis"),
]


@pytest.mark.parametrize("shape,axis,wkind", AVERAGE_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_average(shape, axis, wkind, keepdims):
    a = sample(shape, seed=13)
    if wkind is None:
        w = None
    elif wkind == "full":
        w = rand(shape, seed=14, low=0.5, high=2.0)
    else:
        axes = (axis,) if isinstance(axis, int) else axis
        w = rand(tuple(shape[ax] for ax in axes), seed=15, low=0.5, high=2.0)
    want, wsum = np.average(a, axis=axis, weights=w, returned=True, keepdims=keepdims)
    got, gsum = anp.average(a, axis=axis, weights=w, returned=True, keepdims=keepdims)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(gsum, wsum, rtol=1e-14)
    assert np.shape(gsum) == np.shape(wsum)
    if w is None:
        check(lambda x: anp.average(x, axis=axis, keepdims=keepdims), a)
    else:
        check(lambda x, v: anp.average(x, axis=axis, weights=v, keepdims=keepdims), a, w)
        check(lambda x, v: anp.average(x, axis=axis, weights=v, returned=True), a, w, order=1)


def test_average_closed_form_and_errors():
    a = np.array([1.0, 2.0, 4.0])
    w = np.array([1.0, 1.0, 2.0])
    ga, gw = ad.grad(lambda x, v: anp.average(x, weights=v), argnums=(0, 1))(a, w)
    y = np.average(a, weights=w)
    np.testing.assert_allclose(ga, w / w.sum(), rtol=1e-15)
    np.testing.assert_allclose(gw, (a - y) / w.sum(), rtol=1e-15)
    assert anp.average(a.astype(F32), weights=w.astype(F32)).dtype == np.float32
    assert anp.average(np.array([1, 2])).dtype == np.float64
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        anp.average(a, weights=np.array([1.0, -1.0, 0.0]))
    with pytest.raises(OpError, match="axis"):
        anp.average(np.ones((2, 3)), weights=np.ones(3))
    with pytest.raises(OpError, match="expected shape"):
        anp.average(np.ones((2, 3)), axis=1, weights=np.ones(2))


# ------------------------------------------------------------------ nan-ignoring
def test_nansum_nanmean_ignore_nan():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    np.testing.assert_array_equal(anp.nansum(x, axis=1), np.nansum(x, axis=1))
    np.testing.assert_array_equal(anp.nanmean(x, axis=1), np.nanmean(x, axis=1))
    g = ad.grad(lambda a: anp.nansum(a))(x)
    np.testing.assert_array_equal(g, [[1, 0, 1], [0, 0, 1]])
    g = ad.grad(lambda a: anp.sum(anp.nanmean(a, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.5, 0, 0.5], [0, 0, 1]])
    assert anp.nanmean(x.astype(F32)).dtype == np.float32


# ------------------------------------------------------------------ extrema
def test_max_min_ties_and_errors():
    x = np.array([1.0, 3.0, 3.0, -2.0])
    np.testing.assert_array_equal(ad.grad(anp.max)(x), [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(ad.grad(anp.min)(x), [0, 0, 0, 1])
    np.testing.assert_array_equal(ad.grad(anp.max)(np.full(4, 2.0)), np.full(4, 0.25))
    with pytest.raises(OpError, match="zero-size"):
        anp.max(np.zeros((0, 2)), axis=0)
    with pytest.raises(OpError, match="out of bounds"):
        anp.sum(x, axis=1)
    with pytest.raises(OpError, match="out="):
        anp.prod(x, out=np.zeros(()))


def test_sum_mean_dtype_and_integers():
    k = np.array([[1, 2], [3, 5]])
    np.testing.assert_array_equal(anp.sum(k, axis=0), np.sum(k, axis=0))
    np.testing.assert_allclose(anp.mean(k), np.mean(k))
    x = sample((2, 3), F32, seed=16)
    assert anp.sum(x, dtype=np.float64).dtype == np.float64
    assert anp.mean(x).dtype == np.float32
    assert anp.prod(x, dtype=np.float64).dtype == np.float64


# ------------------------------------------------------------------ non-differentiable
def test_nondiff_reductions():
    x = np.array([[0.5, -1.0, 0.0], [2.0, 0.0, 2.0]])
    for name in ("all", "any", "count_nonzero"):
        for axis in (None, 0, 1, (0, 1)):
            np.testing.assert_array_equal(
                getattr(anp, name)(x, axis=axis), getattr(np, name)(x, axis=axis)
            )
        np.testing.assert_array_equal(
            getattr(anp, name)(x, axis=1, keepdims=True),
            getattr(np, name)(x, axis=1, keepdims=True),
        )
    for name in ("argmax", "argmin"):
        for axis in (None, 0, 1, -1):
            np.testing.assert_array_equal(
                getattr(anp, name)(x, axis=axis), getattr(np, name)(x, axis=axis)
            )
        np.testing.assert_array_equal(
            getattr(anp, name)(x, axis=0, keepdims=True),
            getattr(np, name)(x, axis=0, keepdims=True),
        )
    seen = []

    def f(a):
        r = [
            anp.all(a > 0, axis=1),
            anp.any(a > 1),
            anp.count_nonzero(a),
            anp.argmax(a),
            anp.argmin(a, axis=0),
        ]
        seen.extend(r)
        return anp.sum(a * a)

    np.testing.assert_array_equal(ad.grad(f)(x), 2 * x)
    assert not any(isinstance(r, Tracer) for r in seen)
    assert int(seen[3]) == 3 and list(seen[4]) == [0, 0, 0]


# ------------------------------------------------------------------ batching
VMAP_CASES = {
    "sum": lambda a: anp.sum(a, axis=1),
    "mean": lambda a: anp.mean(a, axis=0, keepdims=True),
    "prod": lambda a: anp.prod(a, axis=(0, 1)),
    "max": lambda a: anp.max(a, axis=1),
    "var": lambda a: anp.var(a, axis=0, ddof=1),
    "std": lambda a: anp.std(a, axis=1),
    "cumsum": lambda a: anp.cumsum(a, axis=1),
    "cumprod": lambda a: anp.cumprod(a, axis=0),
    "cumprod_flat": lambda a: anp.cumprod(a),
    "average": lambda a: anp.average(a, axis=1, weights=np.array([1.0, 2.0, 3.0])),
    "argmax": lambda a: anp.argmax(a, axis=1),
    "all": lambda a: anp.all(a > 0, axis=0),
}


@pytest.mark.parametrize("name", list(VMAP_CASES))
def test_vmap_and_jacobians(name):
    f = VMAP_CASES[name]
    xs = sample((3, 2, 3), seed=17)
    got = ad.vmap(f)(xs)
    want = np.stack([f(x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-14)
    if name not in ("argmax", "all"):
        jf = ad.jacfwd(f)(xs[0])
        jr = ad.jacrev(f)(xs[0])
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["prod", "cumprod", "var", "std", "cumsum", "average"])
def test_dask_arrays_stay_dask(name):
    # The rules compute with the array module of their inputs: no NumPy leaks into a pass.
    da = pytest.importorskip("dask.array")
    x = sample((2, 4), seed=43)
    f = lambda a: anp.sum(getattr(anp, name)(a, axis=1) ** 2)
    g = ad.grad(f)(da.from_array(x, chunks=(1, 4)))
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(np.asarray(g), ad.grad(f)(x), rtol=1e-13)
