"""Fast paths of derivative rules give the same results as the general paths they shortcut.

Each fast path (an in-place NumPy computation on arrays a rule allocated itself, a cheaper
transform) is run beside the general formulation on the same inputs; the derivatives
through it are also checked against finite differences to second order.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops import fft as fft_mod
from adgraph.test_util import check_grads

NORMS = ["backward", "ortho", "forward"]
# (shape, axes): even and odd lengths, one and several axes in any order, batch axes.
REAL_PART_CASES = [
    ((6, 8), (0, 1)),
    ((5, 7), (0, 1)),
    ((3, 4, 5), (2, 0)),
    ((4, 1), (0, 1)),
    ((2, 3, 4), (1,)),
    ((1,), (0,)),
    ((2,), (0,)),
]


def _rand(shape, dtype=np.complex128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


# ---------------------------------------------------------------- fft_real
@pytest.mark.parametrize("shape,axes", REAL_PART_CASES, ids=str)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("kind", ["complex", "real"])
def test_fft_real_fast_equals_general(shape, axes, norm, inverse, kind, monkeypatch):
    z = _rand(shape, np.complex128 if kind == "complex" else np.float64, seed=len(shape))
    want = (np.fft.ifftn if inverse else np.fft.fftn)(z, axes=axes, norm=norm).real
    fast = fft_mod.fft_real_p.bind(z, axes=axes, norm=norm, inverse=inverse)
    assert fast.dtype == np.float64 and fast.shape == want.shape
    np.testing.assert_allclose(fast, want, rtol=1e-12, atol=1e-12)
    # The general path (any array module; taken here by hiding scipy.fft).
    monkeypatch.setattr(fft_mod, "_active", "numpy")
    monkeypatch.setattr(fft_mod, "_lib", np.fft)
    general = fft_mod.fft_real_p.bind(z, axes=axes, norm=norm, inverse=inverse)
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.complex64, np.float32])
def test_fft_real_keeps_single_precision(dtype):
    z = _rand((4, 6), dtype)
    out = fft_mod.fft_real_p.bind(z, axes=(0, 1), norm="backward", inverse=False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.fft.fft2(z.astype(np.complex128)).real, atol=1e-4)


def test_fft_real_does_not_touch_its_input():
    z = _rand((6, 8))
    keep = z.copy()
    fft_mod.fft_real_p.bind(z, axes=(0, 1), norm="backward", inverse=False)
    np.testing.assert_array_equal(z, keep)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("norm", NORMS)
def test_fft_real_derivatives(inverse, norm):
    z = _rand((3, 4), seed=3)

    def f(a):
        return fft_mod.fft_real_p.bind(a, axes=(0, 1), norm=norm, inverse=inverse)

    check_grads(f, (z,), order=2, modes=("fwd", "rev"))
    check_grads(f, (z.real.copy(),), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["fft2", "ifft2", "fftn"])
@pytest.mark.parametrize("s", [None, (5, 3)])
def test_real_input_cotangent_equals_real_part_of_complex_transform(name, s):
    # The cotangent of a real input goes through fft_real; through a complex input it is
    # the full transform. Both must agree on the real part.
    u = _rand((4, 6), np.float64, seed=4)
    K = _rand((4, 6) if s is None else s, seed=5)
    f = getattr(anp.fft, name)

    def loss(x):
        v = f(x, s=s) * K
        return anp.sum(anp.real(v * anp.conj(v)))

    g_real = ad.grad(loss)(u)
    g_cplx = ad.grad(loss)(u.astype(np.complex128))
    assert g_real.dtype == np.float64
    np.testing.assert_allclose(g_real, g_cplx.real, rtol=1e-11, atol=1e-11)


# ---------------------------------------------------------------- fit_to
@pytest.mark.parametrize(
    "value,like_dtype",
    [(1.5, np.complex128), (2.0 - 3.0j, np.float64), (0.25, np.float32), (2.0 + 1j, np.complex64)],
)
def test_fit_to_casts_a_broadcast_value_without_materialising(value, like_dtype):
    from adgraph.ad.common import fit_to

    like_dtype = np.dtype(like_dtype)
    d = np.broadcast_to(np.asarray(value), (4, 5))
    fast = fit_to(d, (4, 5), like_dtype)
    general = fit_to(np.array(d), (4, 5), like_dtype)  # a plain array: the general path
    assert fast.dtype == general.dtype == like_dtype
    assert fast.shape == (4, 5) and not any(fast.strides)
    np.testing.assert_array_equal(fast, general)


def test_gradient_through_real_of_complex_sum():
    # sum -> real -> complex argument: the broadcast cotangent is cast, not materialised.
    z = _rand((3, 4), seed=6)
    g = ad.grad(lambda a: anp.sum(anp.real(a * anp.conj(a))))(z)
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-13)  # df/dx - i df/dy


# ---------------------------------------------------------------- matmul
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_matmul_rules_fast_equal_general(dtype):
    from adgraph.ops import products

    x, y = _rand((5, 3), dtype, seed=7), _rand((3, 4), dtype, seed=8)
    ct = _rand((5, 4), dtype, seed=9)
    gx = products._matmul_vjp_x(ct, None, x, y)
    gy = products._matmul_vjp_y(ct, None, x, y)
    np.testing.assert_array_equal(gx, products._matmul_vjp_x_general(ct, x, y))
    np.testing.assert_array_equal(gy, products._matmul_vjp_y_general(ct, x, y))
    np.testing.assert_allclose(gx, ct @ y.T, rtol=1e-6)
    np.testing.assert_allclose(gy, x.T @ ct, rtol=1e-6)
    assert gx.dtype == gy.dtype == np.dtype(dtype)


def test_matmul_gradients_second_order():
    x, y = _rand((3, 2), np.float64, seed=10), _rand((2, 4), np.float64, seed=11)
    check_grads(lambda a, b: anp.tanh(a @ b), (x, y), order=2, modes=("fwd", "rev"))


# ---------------------------------------------------------------- fused backward partners
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_bwd_in_place_equals_reference(name, dtype):
    from adgraph.ops import fused

    y = getattr(fused, name)(_rand((6, 7), dtype, seed=12))
    g = _rand((6, 7), dtype, seed=13)
    keep_g, keep_y = g.copy(), y.copy()
    fast = getattr(fused, f"{name}_bwd")(g, y)
    want = g * fused.REFERENCE_DERIVATIVE[name](np, y)
    assert fast.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fast, want)  # same operations in the same order
    np.testing.assert_array_equal(g, keep_g)  # inputs untouched
    np.testing.assert_array_equal(y, keep_y)
    # a broadcast cotangent takes the general path
    gb = _rand((7,), dtype, seed=14)
    np.testing.assert_array_equal(
        getattr(fused, f"{name}_bwd")(gb, y), gb * fused.REFERENCE_DERIVATIVE[name](np, y)
    )


# ---------------------------------------------------------------- elementwise rules
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_rule_in_place_equals_general(dtype):
    from adgraph.ops import elementwise as ew

    y = np.tanh(_rand((6, 7), dtype, seed=15))
    ct = _rand((6, 7), dtype, seed=16)
    keep_ct, keep_y = ct.copy(), y.copy()
    fast = ew._tanh_vjp(ct, y, None)
    general = ew.multiply(ct, ew.subtract(1.0, ew.square(y)))  # the declared formula
    assert fast.dtype == general.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(ct, keep_ct)  # inputs untouched
    np.testing.assert_array_equal(y, keep_y)
    # a broadcast cotangent (other shape) takes the general path
    cb = _rand((7,), dtype, seed=17)
    np.testing.assert_array_equal(ew._tanh_vjp(cb, y, None), cb * (1.0 - y * y))


def test_tanh_gradients_second_order():
    x = _rand((3, 4), np.float64, seed=18)
    check_grads(lambda a: anp.tanh(a) * a, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_subtract_rule_sums_before_negating(dtype):
    from adgraph.ops import elementwise as ew

    ct = _rand((5, 4), dtype, seed=19)
    y = _rand((5, 1), dtype, seed=20)
    fast = ew._subtract_vjp_y(ct, y)
    general = anp.sum(ew.negative(ct), axis=1, keepdims=True)  # negate, then sum down
    assert fast.shape == (5, 1) and fast.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fast, general)
    # x - y with y broadcast: gradient in y, and second order through the rule
    x = _rand((5, 4), np.float64, seed=21)
    yr = _rand((5, 1), np.float64, seed=22)
    g = ad.grad(lambda b: anp.sum(anp.exp(x - b)))(yr)
    np.testing.assert_allclose(g, -np.sum(np.exp(x - yr), axis=1, keepdims=True), rtol=1e-13)
    check_grads(lambda a, b: anp.sin(a - b), (x, yr), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    "shape,like",
    [((4, 5), (5,)), ((3, 4, 5), (4, 1)), ((4, 5), (1, 5)), ((4, 5), ()), ((2, 1, 5), (1, 5))],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_to_sums_plain_arrays_like_sum_to_shape(shape, like, dtype):
    from adgraph.ad.common import fit_to
    from adgraph.ops.shapes import sum_to_shape

    d = _rand(shape, dtype, seed=23)
    fast = fit_to(d, like, np.dtype(dtype))
    general = sum_to_shape(d, like)  # through the primitives
    assert type(fast) is np.ndarray and fast.shape == like and fast.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fast, general)
    # a broadcast (zero-stride) cotangent is summed the same way
    b = np.broadcast_to(np.asarray(1.5, dtype), shape)
    np.testing.assert_array_equal(fit_to(b, like, np.dtype(dtype)), sum_to_shape(b, like))


def test_fit_to_reports_a_shape_that_does_not_sum_down():
    from adgraph.ad.common import fit_to

    with pytest.raises(ValueError):
        fit_to(np.ones((4, 5)), (3,), np.dtype(np.float64))


@pytest.mark.parametrize(
    "axis,keepdims", [((0,), False), ((1,), True), ((0, 2), False), ((), False)]
)
def test_reduce_sum_transpose_numpy_equals_traced(axis, keepdims):
    from adgraph.ops.shapes import _reduce_sum_t

    x = np.zeros((2, 3, 4))
    ct = np.arange(float(np.sum(x, axis=axis, keepdims=keepdims).size)).reshape(
        np.sum(x, axis=axis, keepdims=keepdims).shape
    )
    fast = _reduce_sum_t(ct, x, axis=axis, keepdims=keepdims)
    # the same transpose applied to a traced cotangent (jvp's tracer) takes the general path
    general = ad.jvp(lambda c: _reduce_sum_t(c, x, axis=axis, keepdims=keepdims), (ct,), (ct,))
    np.testing.assert_array_equal(fast, general[0])
    np.testing.assert_array_equal(fast, general[1])
    assert fast.shape == x.shape
