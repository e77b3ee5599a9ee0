"""adgraph.scipy.special: values against SciPy, derivatives against finite differences
(orders 1 and 2, forward and reverse; higher for the gamma family), float32, closed forms
(softmax sums to 1, the gradient of logsumexp is the softmax, stability at |x| = 1000,
SciPy's conventions at x = 0)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.special as ss

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as sp
from adgraph.ops._util import OpError

from .harness import SHAPES, check, check_all_dtypes, rand

COVERED = {f"special.{n}" for n in [
    "expit", "logit", "logsumexp", "softmax", "log_softmax", "erf", "erfc", "erfinv",
    "gammaln", "digamma", "polygamma", "xlogy", "xlog1py", "entr",
]}  # fmt: skip

F64, F32 = np.float64, np.float32

# name -> domain (low, high) where the function is smooth
UNARY = {
    "expit": (-4, 4),
    "logit": (0.1, 0.9),
    "erf": (-2, 2),
    "erfc": (-2, 2),
    "erfinv": (-0.8, 0.8),
    "gammaln": (0.5, 4),
    "digamma": (0.5, 4),
    "entr": (0.2, 2),
}

UNARY_CASES = [
    pytest.param(name, shape, dt, id=f"{name}-{shape}-{np.dtype(dt).name}")
    for name in UNARY
    for shape in SHAPES
    for dt in (F64, F32)
    if not (dt is F32 and shape != (2, 3))
]


@pytest.mark.parametrize("name,shape,dt", UNARY_CASES)
def test_unary(name, shape, dt):
    x = rand(shape, dt, seed=len(name), low=UNARY[name][0], high=UNARY[name][1])
    f = getattr(sp, name)
    got, want = f(x), getattr(ss, name)(x)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dt is F32 else 1e-14, atol=1e-15)
    check_all_dtypes(f, x, dtypes=(dt,))


@pytest.mark.parametrize("name", list(UNARY) + ["xlogy", "xlog1py", "logsumexp", "softmax"])
def test_large_arrays(name):
    # Reverse mode frees residuals (1 KiB and more) that no rule declares it reads.
    lo, hi = UNARY.get(name, (0.3, 2.0))
    x = rand((200,), seed=41, low=lo, high=hi)
    f = getattr(sp, name)
    if name in ("xlogy", "xlog1py"):
        y = rand((200,), seed=42, low=0.3, high=2.0)
        check(f, x, y)
        check(lambda b: f(x, b) * b, y, order=1, modes=("rev",))
    else:
        check(f, x)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
@pytest.mark.parametrize("sx,sy", [((2, 3), (2, 3)), ((2, 3), (3,)), ((), (3,))])
@pytest.mark.parametrize("dt", [F64, F32])
def test_binary(name, sx, sy, dt):
    x = rand(sx, dt, seed=1)
    y = rand(sy, dt, seed=2, low=0.3, high=2.0)
    f = getattr(sp, name)
    got = f(x, y)
    np.testing.assert_allclose(got, getattr(ss, name)(x, y), rtol=1e-6 if dt is F32 else 1e-14)
    assert np.asarray(got).dtype == dt
    check_all_dtypes(f, x, y, dtypes=(dt,))


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma(n):
    x = rand((2, 3), seed=3, low=0.5, high=4)
    np.testing.assert_allclose(sp.polygamma(n, x), ss.polygamma(n, x), rtol=1e-13)
    check(lambda a: sp.polygamma(n, a), x, order=2)
    assert sp.polygamma(n, x.astype(F32)).dtype == np.float32


def test_gamma_family_derivatives_of_every_order():
    x = 1.7
    d = ad.grad
    assert d(sp.gammaln)(x) == pytest.approx(ss.digamma(x), rel=1e-14)
    assert d(d(sp.gammaln))(x) == pytest.approx(ss.polygamma(1, x), rel=1e-14)
    assert d(sp.digamma)(x) == pytest.approx(ss.polygamma(1, x), rel=1e-14)
    assert d(d(sp.digamma))(x) == pytest.approx(ss.polygamma(2, x), rel=1e-14)
    assert d(d(d(sp.digamma)))(x) == pytest.approx(ss.polygamma(3, x), rel=1e-14)
    check(sp.digamma, np.array([0.7, 2.5]), order=3)
    # trigamma at 1 is pi^2 / 6
    assert d(sp.digamma)(1.0) == pytest.approx(np.pi**2 / 6, rel=1e-14)
    with pytest.raises(OpError, match="non-negative integer"):
        sp.polygamma(-1, x)
    with pytest.raises(OpError, match="non-negative integer"):
        sp.polygamma(1.5, x)


def test_error_function_closed_forms():
    x = np.array([-1.2, 0.0, 0.4])
    np.testing.assert_allclose(
        ad.grad(lambda a: anp.sum(sp.erf(a)))(x), 2 / np.sqrt(np.pi) * np.exp(-(x**2))
    )
    np.testing.assert_allclose(
        ad.grad(lambda a: anp.sum(sp.erfc(a)))(x), -2 / np.sqrt(np.pi) * np.exp(-(x**2))
    )
    # erfinv is the inverse of erf: their derivatives are reciprocal
    y = np.array([-0.5, 0.0, 0.3])
    g = ad.grad(lambda a: anp.sum(sp.erfinv(a)))(y)
    np.testing.assert_allclose(
        g * (2 / np.sqrt(np.pi) * np.exp(-(ss.erfinv(y) ** 2))), 1.0, rtol=1e-14
    )
    assert ad.grad(lambda a: sp.erf(sp.erfinv(a)))(0.3) == pytest.approx(1.0, rel=1e-14)


def test_expit_logit_closed_forms_and_tails():
    x = np.array([-40.0, -3.0, 0.0, 2.0, 40.0])
    s = ss.expit(x)
    np.testing.assert_allclose(sp.expit(x), s, rtol=1e-15)
    g = ad.grad(lambda a: anp.sum(sp.expit(a)))(x)
    np.testing.assert_allclose(g, s * ss.expit(-x), rtol=1e-14)  # also in both tails
    assert g[0] > 0 and g[-1] > 0
    assert np.all(np.isfinite(sp.expit(np.array([-1000.0, 1000.0]))))
    p = np.array([1e-10, 0.3, 0.5, 0.5 + 1e-9, 0.99])
    np.testing.assert_allclose(sp.logit(p), ss.logit(p), rtol=1e-13)
    np.testing.assert_allclose(
        ad.grad(lambda a: anp.sum(sp.logit(a)))(p), 1 / (p * (1 - p)), rtol=1e-14
    )
    assert ad.grad(lambda a: sp.logit(sp.expit(a)))(0.7) == pytest.approx(1.0, rel=1e-14)


# ------------------------------------------------------------------ logsumexp and softmax
LSE_CASES = [
    ((), None),
    ((3,), None),
    ((3,), 0),
    ((2, 3), None),
    ((2, 3), 1),
    ((2, 3), 0),
    ((2, 3), (0, 1)),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), -1),
]


@pytest.mark.parametrize("shape,axis", LSE_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(shape, axis, keepdims):
    a = rand(shape, seed=4)
    f = lambda x: sp.logsumexp(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(f(a), ss.logsumexp(a, axis=axis, keepdims=keepdims), rtol=1e-14)
    check(f, a)


@pytest.mark.parametrize("shape,axis", LSE_CASES[1:])
def test_logsumexp_with_b_and_sign(shape, axis):
    a = rand(shape, seed=5)
    b = rand(shape, seed=6, low=-0.5, high=2.0)  # some weights negative
    out, sgn = sp.logsumexp(a, axis=axis, b=b, return_sign=True)
    want, wsgn = ss.logsumexp(a, axis=axis, b=b, return_sign=True)
    np.testing.assert_allclose(out, want, rtol=1e-13)
    np.testing.assert_array_equal(sgn, wsgn)
    check(lambda x, w: sp.logsumexp(x, axis=axis, b=w, return_sign=True), a, b)
    bp = np.abs(b) + 0.1
    f = lambda x, w: sp.logsumexp(x, axis=axis, b=w, keepdims=True)
    np.testing.assert_allclose(
        f(a, bp), ss.logsumexp(a, axis=axis, b=bp, keepdims=True), rtol=1e-13
    )
    check(f, a, bp)
    # b broadcast along the reduced axis
    if shape == (2, 3) and axis == 1:
        w = np.array([0.5, 1.0, 2.0])
        np.testing.assert_allclose(
            sp.logsumexp(a, axis=1, b=w), ss.logsumexp(a, axis=1, b=w), rtol=1e-14
        )
        check(lambda x, v: sp.logsumexp(x, axis=1, b=v), a, w)


def test_logsumexp_stable_and_gradient_is_softmax():
    a = np.array([1000.0, 1000.0, -1000.0])
    assert sp.logsumexp(a) == pytest.approx(1000 + np.log(2), rel=1e-15)
    np.testing.assert_allclose(ad.grad(sp.logsumexp)(a), [0.5, 0.5, 0.0], rtol=1e-13)
    x = rand((2, 3), seed=7)
    g = ad.grad(lambda v: anp.sum(sp.logsumexp(v, axis=1)))(x)
    np.testing.assert_allclose(g, ss.softmax(x, axis=1), rtol=1e-14)
    # all -inf: value -inf, gradient 0 (not nan)
    m = np.array([-np.inf, -np.inf])
    with np.errstate(divide="ignore"):
        assert sp.logsumexp(m) == -np.inf
        np.testing.assert_array_equal(ad.grad(sp.logsumexp)(m), [0.0, 0.0])
    with np.errstate(divide="ignore"):
        out, sgn = sp.logsumexp(np.array([-np.inf]), return_sign=True)
    assert out == -np.inf and sgn == 0
    # float32 stays float32 and stable
    a32 = np.float32([100.0, 100.0])
    assert sp.logsumexp(a32).dtype == np.float32
    assert ad.grad(sp.logsumexp)(a32).dtype == np.float32


def test_logsumexp_b_zero_masks_terms():
    a = np.array([1000.0, 1.0, 2.0])
    b = np.array([0.0, 1.0, 1.0])
    assert sp.logsumexp(a, b=b) == pytest.approx(ss.logsumexp(a, b=b), rel=1e-15)
    ga, gb = ad.grad(lambda x, w: sp.logsumexp(x, b=w), argnums=(0, 1))(a, b)
    s = ss.softmax(a[1:])
    np.testing.assert_allclose(ga, [0.0, *s], rtol=1e-14)
    assert np.all(np.isfinite(gb)) and gb[1:] == pytest.approx(s, rel=1e-14)
    # a zero weight on an ordinary term: the derivative in b is exactly e^(a_i - y)
    a2 = np.array([0.5, 1.0, 2.0])
    gb2 = ad.grad(lambda w: sp.logsumexp(a2, b=w))(b)
    np.testing.assert_allclose(gb2, np.exp(a2 - ss.logsumexp(a2, b=b)), rtol=1e-14)
    assert sp.logsumexp(np.array([1.0, np.inf]), b=np.array([1.0, 0.0])) == pytest.approx(1.0)
    with np.errstate(invalid="ignore"):
        assert np.isnan(sp.logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -1.0])))


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    "shape,axis", [((3,), None), ((2, 3), 1), ((2, 3), 0), ((2, 3), None), ((2, 3, 4), (0, 2))]
)
@pytest.mark.parametrize("dt", [F64, F32])
def test_softmax(fname, shape, axis, dt):
    x = rand(shape, dt, seed=8)
    f = lambda v: getattr(sp, fname)(v, axis=axis)
    got = f(x)
    assert got.dtype == dt
    np.testing.assert_allclose(
        got, getattr(ss, fname)(x, axis=axis), rtol=1e-6 if dt is F32 else 1e-14
    )
    check_all_dtypes(f, x, dtypes=(dt,))


def test_softmax_closed_forms():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 1000.0]])
    s = sp.softmax(x, axis=1)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(np.sum(s, axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(s, ss.softmax(x, axis=1), rtol=1e-14)
    np.testing.assert_allclose(sp.log_softmax(x, axis=1), ss.log_softmax(x, axis=1), rtol=1e-14)
    v = np.array([0.2, -1.0, 0.5])
    J = ad.jacfwd(sp.softmax)(v)
    sv = ss.softmax(v)
    np.testing.assert_allclose(J, np.diag(sv) - np.outer(sv, sv), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(ad.jacrev(sp.log_softmax)(v), np.eye(3) - sv[None, :], rtol=1e-13)
    # the sum of a softmax is constant: zero gradient
    np.testing.assert_allclose(ad.grad(lambda a: anp.sum(sp.softmax(a)))(v), 0.0, atol=1e-15)
    # cross-entropy gradient: softmax - onehot
    y = np.array([0.0, 1.0, 0.0])
    g = ad.grad(lambda a: -anp.sum(y * sp.log_softmax(a)))(v)
    np.testing.assert_allclose(g, sv - y, rtol=1e-13, atol=1e-16)


# ------------------------------------------------------------------ x log y family
def test_xlogy_conventions_at_zero():
    assert sp.xlogy(0.0, 0.0) == 0.0 and sp.xlog1py(0.0, -1.0) == 0.0
    assert np.isnan(sp.xlogy(0.0, np.nan)) and np.isnan(ss.xlogy(0.0, np.nan))
    x = np.array([0.0, 0.0, 2.0, 1.5])
    y = np.array([0.0, 3.0, 0.5, 0.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(sp.xlogy(x, y), ss.xlogy(x, y))
        gy = ad.grad(lambda b: anp.sum(sp.xlogy(x, b)))(y)
    assert gy[0] == 0.0 and gy[1] == 0.0  # x == 0: zero whatever y is
    assert gy[2] == pytest.approx(4.0) and gy[3] == np.inf
    gx = ad.grad(lambda a: sp.xlogy(a, 3.0))(0.0)
    assert gx == pytest.approx(np.log(3.0))
    assert ad.grad(ad.grad(lambda b: sp.xlogy(0.0, b)))(0.0) == 0.0
    gy = ad.grad(lambda b: sp.xlog1py(0.0, b))(-1.0)
    assert gy == 0.0
    assert ad.grad(lambda b: sp.xlog1py(2.0, b))(1e-10) == pytest.approx(2 / (1 + 1e-10), rel=1e-15)
    assert sp.xlog1py(2.0, 1e-20) == 2e-20
    # entropy of a distribution with a zero entry: the zero contributes nothing
    p = np.array([0.5, 0.5, 0.0])
    assert -anp.sum(sp.xlogy(p, p)) == pytest.approx(np.log(2))


def test_entr_closed_forms():
    x = np.array([-1.0, 0.0, 0.5, 2.0, np.nan])
    np.testing.assert_array_equal(sp.entr(x), ss.entr(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ad.grad(lambda a: anp.sum(sp.entr(a)))(x)
    assert np.isnan(g[0]) and g[1] == np.inf
    np.testing.assert_allclose(g[2:4], -(1 + np.log(x[2:4])), rtol=1e-15)
    assert ad.grad(ad.grad(sp.entr))(0.5) == pytest.approx(-2.0, rel=1e-15)


# ------------------------------------------------------------------ batching, errors
VMAP_CASES = {
    "expit": lambda a: sp.expit(a),
    "erf": lambda a: sp.erf(a),
    "digamma": lambda a: sp.digamma(a + 3.0),
    "logsumexp": lambda a: sp.logsumexp(a, axis=0),
    "softmax": lambda a: sp.softmax(a, axis=0),
    "logsumexp_b": lambda a: sp.logsumexp(a, b=np.array([1.0, 0.0, 2.0])),
    "xlogy": lambda a: sp.xlogy(a, a * a + 1.0),
}


@pytest.mark.parametrize("name", list(VMAP_CASES))
def test_vmap_and_jacobians(name):
    f = VMAP_CASES[name]
    xs = rand((4, 3), seed=9)
    got = ad.vmap(f)(xs)
    want = np.stack([f(x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(ad.jacfwd(f)(xs[0]), ad.jacrev(f)(xs[0]), rtol=1e-12, atol=1e-15)


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError, match=r"adgraph\[scipy\]") as info:
        sp.erf(np.array([0.5]))
    assert "erf" in str(info.value)
    # the functions computed with the array module alone do not need SciPy
    np.testing.assert_allclose(sp.expit(np.array([0.0])), [0.5])
    np.testing.assert_allclose(sp.logsumexp(np.array([0.0, 0.0])), np.log(2))


def test_cupy_arrays_use_cupyx_special(monkeypatch):
    import types

    from adgraph.ops.special import _special

    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(sys.modules, "cupyx.scipy", cupyx.scipy)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.special", cupyx.scipy.special)
    assert _special(types.ModuleType("cupy"), "erf") is cupyx.scipy.special
    assert _special(np, "erf") is ss


def test_dask_arrays_stay_dask():
    da = pytest.importorskip("dask.array")
    x = rand((2, 4), seed=44, low=0.3, high=2.0)

    def f(a):
        s = sp.erf(a) + sp.gammaln(a) + sp.digamma(a) + sp.polygamma(2, a) + sp.entr(a)
        return anp.sum(s + sp.softmax(a, axis=1) + sp.expit(a) + sp.xlogy(a, a))

    g = ad.grad(f)(da.from_array(x, chunks=(1, 4)))
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(np.asarray(g), ad.grad(f)(x), rtol=1e-13)
    assert isinstance(sp.polygamma(3, da.from_array(x)), da.Array)
