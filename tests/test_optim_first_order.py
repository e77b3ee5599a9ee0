"""SGD (momentum, Nesterov, weight decay) and Adam/AdamW over pytrees, against hand-written
recurrences; float32 kept; schedules; structure errors; differentiating through a step."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import nn
from adgraph.optim import adam, sgd
from adgraph.optim.first_order import AdamState, SGDState


def _tree(seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    return {"w": r.normal(size=(3, 2)).astype(dtype), "b": [r.normal(size=2).astype(dtype)]}


def _grads(k, dtype=np.float64):
    return _tree(100 + k, dtype)


def test_sgd_plain_matches_formula():
    p = _tree()
    opt = sgd(0.1, weight_decay=0.01)
    st = opt.init(p)
    assert st == SGDState(0, None)
    q, st = opt.update(_grads(0), st, p)
    np.testing.assert_allclose(q["w"], p["w"] - 0.1 * (_grads(0)["w"] + 0.01 * p["w"]))
    assert st.step == 1


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_recurrence(nesterov):
    p = _tree()
    opt = sgd(0.05, momentum=0.9, nesterov=nesterov)
    st = opt.init(p)
    w, b = p["w"].copy(), np.zeros_like(p["w"])
    for k in range(4):
        g = _grads(k)
        p, st = opt.update(g, st, p)
        b = 0.9 * b + g["w"]
        w = w - 0.05 * (g["w"] + 0.9 * b if nesterov else b)
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)
    np.testing.assert_allclose(st.momentum["w"], b, rtol=1e-12)
    assert st.step == 4


def test_adam_recurrence_and_weight_decay():
    p = _tree()
    opt = adam(1e-2, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.1)
    st = opt.init(p)
    assert isinstance(st, AdamState) and st.step == 0
    w, m, v = p["w"].copy(), np.zeros_like(p["w"]), np.zeros_like(p["w"])
    for k in range(5):
        g = _grads(k)
        p, st = opt.update(g, st, p)
        t = k + 1
        m = 0.8 * m + 0.2 * g["w"]
        v = 0.99 * v + 0.01 * g["w"] ** 2
        mh, vh = m / (1 - 0.8**t), v / (1 - 0.99**t)
        w = w - 1e-2 * (mh / (np.sqrt(vh) + 1e-6) + 0.1 * w)
    np.testing.assert_allclose(p["w"], w, rtol=1e-12)
    np.testing.assert_allclose(st.mu["w"], m, rtol=1e-12)


def test_adam_first_step_is_sign_sized():
    p = _tree()
    g = _grads(0)
    q, _ = adam(0.1, eps=0.0).update(g, adam(0.1).init(p), p)
    np.testing.assert_allclose(q["w"] - p["w"], -0.1 * np.sign(g["w"]), rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: sgd(0.1, 0.9), lambda: adam(1e-3)])
def test_float32_stays_float32(make):
    p = _tree(dtype=np.float32)
    opt = make()
    st = opt.init(p)
    for k in range(2):
        p, st = opt.update(_grads(k, np.float32), st, p)
    for leaf in ad.tree_leaves((p, st)):
        if hasattr(leaf, "dtype"):
            assert leaf.dtype == np.float32


def test_schedule_is_called_with_the_step():
    seen = []

    def lr(step):
        seen.append(step)
        return np.float64(0.1) / (1 + step)

    p = {"x": np.ones(2, np.float32)}
    opt = sgd(lr)
    st = opt.init(p)
    for _ in range(3):
        p, st = opt.update({"x": np.ones(2, np.float32)}, st, p)
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(p["x"], 1 - 0.1 * (1 + 1 / 2 + 1 / 3), rtol=1e-6)
    assert p["x"].dtype == np.float32  # a NumPy float64 learning rate does not promote


def test_errors():
    with pytest.raises(ValueError, match="momentum"):
        sgd(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match="b2"):
        adam(b2=1.0)
    with pytest.raises(TypeError, match="lr"):
        adam(lr="fast")
    p = _tree()
    opt = adam()
    with pytest.raises(ValueError, match="structure"):
        opt.update({"w": p["w"]}, opt.init(p), p)


def test_trains_a_small_classifier():
    r = np.random.default_rng(0)
    x = r.normal(size=(200, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 1.0]) > 0).astype(np.int64)
    params = nn.mlp_init(0, [4, 16, 2], activation="tanh")
    loss = lambda p: nn.softmax_cross_entropy(nn.mlp(p, x, "tanh"), y)
    for opt in (adam(2e-2), sgd(0.5, momentum=0.9)):
        p, st = params, opt.init(params)
        for _ in range(150):
            p, st = opt.update(ad.grad(loss)(p), st, p)
        assert nn.accuracy(nn.mlp(p, x, "tanh"), y) > 0.95


def test_differentiating_through_an_update_step():
    # d/d lr of the loss after one SGD step equals -<g(p1), g(p0)> (a hypergradient)
    x = np.array([1.0, -2.0, 0.5])
    loss = lambda p: anp.sum(anp.sin(p["x"]) * x)
    p0 = {"x": np.array([0.3, 0.1, -0.2])}

    def after(lr):
        opt = sgd(lambda step: lr)
        p1, _ = opt.update(ad.grad(loss)(p0), opt.init(p0), p0)
        return loss(p1)

    lr = 0.1
    g0 = ad.grad(loss)(p0)["x"]
    g1 = ad.grad(loss)({"x": p0["x"] - lr * g0})["x"]
    np.testing.assert_allclose(ad.grad(after)(lr), -np.dot(g1, g0), rtol=1e-10)
