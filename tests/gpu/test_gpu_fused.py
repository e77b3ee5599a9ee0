"""The CUDA kernels of adgraph.ops.fused (adgraph.backends.cupy_fused) against their NumPy
references, on a GPU."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.backends import cupy_fused as CF
from adgraph.ops import fused as F

from ._device import require_cupy

cp = require_cupy()

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}
FWD = {
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "relu": F.relu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate=True),
}
BWD = {
    "tanh": F.tanh_bwd,
    "sigmoid": F.sigmoid_bwd,
    "relu": F.relu_bwd,
    "softplus": F.softplus_bwd,
    "gelu": F.gelu_bwd,
    "gelu_tanh": lambda g, x: F.gelu_bwd(g, x, approximate=True),
}


def _host(shape, dtype, seed=0, scale=3.0):
    x = np.random.default_rng(seed).normal(size=shape) * scale
    x.flat[:6] = [-1000.0, -40.0, -1e-3, 0.0, 40.0, 1000.0][: x.size]
    return x.astype(dtype)


def _tol(dtype, loose=1.0):
    t = TOL[dtype]
    return dict(rtol=t["rtol"] * loose, atol=t["atol"] * loose)


@pytest.mark.parametrize("name", sorted(FWD))
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_kernels_match_numpy(name, dtype):
    x = _host((257, 33), dtype)
    y = FWD[name](cp.asarray(x))
    assert isinstance(y, cp.ndarray) and y.dtype == dtype
    assert name in CF.cuda_kernels_used()
    loose = 8.0 if name in ("gelu", "gelu_tanh", "softplus") else 2.0
    np.testing.assert_allclose(cp.asnumpy(y), FWD[name](x), **_tol(dtype, loose))


@pytest.mark.parametrize("name", sorted(BWD))
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_kernels_match_numpy(name, dtype):
    z = _host((129, 65), dtype, seed=1)
    if name in ("tanh", "sigmoid"):
        z = np.tanh(z) if name == "tanh" else 1 / (1 + np.exp(-z.astype(np.float64))).astype(dtype)
        z = z.astype(dtype)
    g = _host((129, 65), dtype, seed=2, scale=1.0)
    loose = 16.0
    # Derivatives such as 1 - tanh^2 cancel where |z| is near 1: they are accurate to a few
    # units of rounding *absolutely*, scaled by the cotangent, not relatively. The kernel
    # (with fused multiply-adds) and NumPy may differ by that much.
    tol = _tol(dtype, loose)
    tol["atol"] = max(tol["atol"], 64 * np.finfo(dtype).eps * float(np.max(np.abs(g))))
    out = BWD[name](cp.asarray(g), cp.asarray(z))
    assert out.dtype == dtype and f"{name}_bwd" in CF.cuda_kernels_used()
    np.testing.assert_allclose(cp.asnumpy(out), BWD[name](g, z), **tol)
    # scalar and broadcast cotangents
    np.testing.assert_allclose(cp.asnumpy(BWD[name](1.0, cp.asarray(z))), BWD[name](1.0, z), **tol)
    row = g[0]
    np.testing.assert_allclose(
        cp.asnumpy(BWD[name](cp.asarray(row), cp.asarray(z))), BWD[name](row, z), **tol
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_input(dtype):
    x = _host((64, 48), dtype)
    xt = cp.asarray(x).T
    np.testing.assert_allclose(cp.asnumpy(F.gelu(xt)), F.gelu(x.T), **_tol(dtype, 8.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ldtype", [np.int32, np.int64])
@pytest.mark.parametrize("n,c", [(1, 10), (4096, 10), (300, 1000)])
def test_xent_kernels_match_numpy(dtype, ldtype, n, c):
    rng = np.random.default_rng(n + c)
    z = (rng.normal(size=(n, c)) * 4).astype(dtype)
    lab = rng.integers(0, c, size=n).astype(ldtype)
    zd, ld = cp.asarray(z), cp.asarray(lab)
    loss, grad = ad.value_and_grad(lambda z: F.softmax_cross_entropy(z, ld))(zd)
    want_l, want_g = ad.value_and_grad(lambda z: F.softmax_cross_entropy(z, lab))(z)
    assert isinstance(loss, cp.ndarray) and loss.dtype == dtype and grad.dtype == dtype
    assert {"softmax_xent_fwd", "softmax_xent_bwd"} <= CF.cuda_kernels_used()
    loose = 50.0 if dtype == np.float32 else 100.0
    np.testing.assert_allclose(float(loss), float(want_l), **_tol(dtype, loose))
    np.testing.assert_allclose(
        cp.asnumpy(grad),
        want_g,
        rtol=_tol(dtype, loose)["rtol"],
        atol=1e-6 / n if dtype == np.float32 else 1e-14 / n,
    )


def test_xent_scaled_loss_reads_the_device_cotangent():
    z = np.random.default_rng(0).normal(size=(32, 5)).astype(np.float32)
    lab = np.arange(32) % 5
    f = lambda z, lab: 3.0 * F.softmax_cross_entropy(z, lab) + F.softmax_cross_entropy(z, lab) ** 2
    g = ad.grad(f)(cp.asarray(z), cp.asarray(lab))
    np.testing.assert_allclose(cp.asnumpy(g), ad.grad(f)(z, lab), rtol=1e-5, atol=1e-7)


def test_xent_invalid_labels_give_nan_on_gpu():
    z = cp.zeros((3, 4), cp.float32)
    lab = cp.asarray(np.array([0, 4, -1]))
    rows_loss = F.softmax_cross_entropy(z, lab)
    assert bool(cp.isnan(rows_loss))
    g = F.softmax_cross_entropy_bwd(1.0, z, lab)
    g = cp.asnumpy(g)
    assert np.all(np.isfinite(g[0])) and np.all(np.isnan(g[1:]))


def test_xent_non_contiguous_logits_and_leading_axes():
    z = np.random.default_rng(1).normal(size=(7, 6, 5))
    lab = np.random.default_rng(2).integers(0, 5, size=(6, 7))
    zt = np.transpose(z, (1, 0, 2))
    got = F.softmax_cross_entropy(cp.asarray(z).transpose(1, 0, 2), cp.asarray(lab))
    np.testing.assert_allclose(float(got), float(F.softmax_cross_entropy(zt, lab)), rtol=1e-13)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "gelu", "gelu_tanh"])
def test_second_order_on_gpu(name):
    x = _host((5, 4), np.float64, seed=3, scale=1.0)
    v = _host((5, 4), np.float64, seed=4, scale=1.0)
    f = lambda x: anp.sum(FWD[name](x) ** 2)
    h_gpu = ad.hvp(f, (cp.asarray(x),), (cp.asarray(v),))
    h_cpu = ad.hvp(f, (x,), (v,))
    np.testing.assert_allclose(cp.asnumpy(h_gpu), np.asarray(h_cpu), rtol=1e-11, atol=1e-13)


def test_xent_hessian_vector_product_on_gpu():
    z = np.random.default_rng(0).normal(size=(8, 4))
    v = np.random.default_rng(1).normal(size=(8, 4))
    lab = np.arange(8) % 4
    f_gpu = lambda z: F.softmax_cross_entropy(z, cp.asarray(lab))
    f_cpu = lambda z: F.softmax_cross_entropy(z, lab)
    h_gpu = ad.hvp(f_gpu, (cp.asarray(z),), (cp.asarray(v),))
    np.testing.assert_allclose(
        cp.asnumpy(h_gpu), np.asarray(ad.hvp(f_cpu, (z,), (v,))), rtol=1e-11, atol=1e-14
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_kernels_match_numpy(dtype):
    r = np.random.default_rng(0)
    p, g, b = (r.normal(size=(100, 7)).astype(dtype) for _ in range(3))
    d = [cp.asarray(a) for a in (p, g, b)]
    for nes in (False, True):
        got = F.sgd_update(*d, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=nes)
        want = F.sgd_update(p, g, b, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=nes)
        for a, w in zip(got, want, strict=True):
            assert a.dtype == dtype
            np.testing.assert_allclose(cp.asnumpy(a), w, **_tol(dtype, 4.0))
    got, _ = F.sgd_update(d[0], d[1], None, lr=0.1)
    np.testing.assert_allclose(cp.asnumpy(got), p - 0.1 * g, **_tol(dtype, 4.0))
    kw = dict(lr=1e-2, b1=0.9, b2=0.999, eps=1e-8, c1=10.0, c2=1000.0, weight_decay=0.01)
    got = F.adam_update(d[0], d[1], d[2], d[2] * d[2], **kw)
    want = F.adam_update(p, g, b, b * b, **kw)
    for a, w in zip(got, want, strict=True):
        np.testing.assert_allclose(cp.asnumpy(a), w, **_tol(dtype, 16.0))
    assert {"sgd_update", "sgd_momentum_update", "adam_update"} <= CF.cuda_kernels_used()
