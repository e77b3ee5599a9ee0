"""adgraph.nn, adgraph.optim and the mlp example on CuPy arrays: same numbers as NumPy,
float32 kept, results left on the device."""

from __future__ import annotations

import json

import numpy as np
import pytest

import adgraph as ad
from adgraph import nn
from adgraph.optim import adam, sgd

from ._device import require_cupy

cp = require_cupy()


def _data(n=64, d=20, c=5, dtype=np.float32, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, d)).astype(dtype), r.integers(0, c, size=n)


@pytest.mark.parametrize("act", ["relu", "tanh", "gelu", "sigmoid", "softplus"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_gradients_equal_numpy(act, dtype):
    x, y = _data(dtype=dtype)
    p_cpu = nn.mlp_init(0, [20, 32, 32, 5], activation=act, dtype=dtype)
    p_gpu = nn.mlp_init(0, [20, 32, 32, 5], activation=act, dtype=dtype, xp="cupy")
    loss = lambda p, x, y: nn.softmax_cross_entropy(nn.mlp(p, x, act), y)
    l_cpu, g_cpu = ad.value_and_grad(loss)(p_cpu, x, y)
    l_gpu, g_gpu = ad.value_and_grad(loss)(p_gpu, cp.asarray(x), cp.asarray(y))
    assert isinstance(l_gpu, cp.ndarray) and l_gpu.dtype == dtype
    tol = dict(rtol=2e-4, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(float(l_gpu), float(l_cpu), **tol)
    for a, b in zip(ad.tree_leaves(g_gpu), ad.tree_leaves(g_cpu), strict=True):
        assert isinstance(a, cp.ndarray) and a.dtype == dtype
        np.testing.assert_allclose(cp.asnumpy(a), b, **tol)


@pytest.mark.parametrize("make", [lambda: adam(1e-2, weight_decay=1e-3), lambda: sgd(0.1, 0.9)])
def test_training_steps_equal_numpy(make):
    x, y = _data()
    p_cpu = nn.mlp_init(1, [20, 16, 5], activation="tanh")
    p_gpu = nn.to_device(p_cpu, "cupy")
    loss = lambda p, x, y: nn.softmax_cross_entropy(nn.mlp(p, x, "tanh"), y)
    xd, yd = cp.asarray(x), cp.asarray(y)
    for p, xx, yy in ((p_cpu, x, y), (p_gpu, xd, yd)):
        opt = make()
        st = opt.init(p)
        for _ in range(5):
            p, st = opt.update(ad.grad(loss)(p, xx, yy), st, p)
        if xx is x:
            ref = p
        else:
            for a, b in zip(ad.tree_leaves(p), ad.tree_leaves(ref), strict=True):
                assert isinstance(a, cp.ndarray) and a.dtype == np.float32
                np.testing.assert_allclose(cp.asnumpy(a), b, rtol=1e-4, atol=1e-5)


def test_loss_plus_penalty_gradient_on_gpu():
    """Needs the initial cotangent of grad to live on the output's device (engine dispatch)."""
    x, y = _data()
    p = nn.mlp_init(0, [20, 8, 5], activation="relu", xp="cupy")
    loss = lambda p: (
        nn.softmax_cross_entropy(nn.mlp(p, cp.asarray(x), "relu"), cp.asarray(y))
        + 1e-3 * nn.l2_penalty(p)
    )
    g = ad.grad(loss)(p)
    assert all(isinstance(a, cp.ndarray) for a in ad.tree_leaves(g))


def test_accuracy_and_other_losses_on_gpu():
    x, y = _data()
    z = cp.asarray(x[:, :5])
    assert nn.accuracy(z, cp.asarray(y)) == pytest.approx(nn.accuracy(x[:, :5], y))
    for f in (nn.log_softmax, nn.softmax):
        np.testing.assert_allclose(cp.asnumpy(f(z)), f(x[:, :5]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        float(nn.softmax_cross_entropy(z, cp.asarray(y), reduction="sum")),
        float(nn.softmax_cross_entropy(x[:, :5], y, reduction="sum")),
        rtol=1e-5,
    )


def test_mlp_example_on_gpu(tmp_path):
    pytest.importorskip("sklearn")
    from adgraph.examples import load

    assert load("mlp").main(["--device", "gpu", "--no-plot", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["array_module"] == "cupy" and s["test_accuracy"] >= 0.97
