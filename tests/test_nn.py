"""adgraph.nn: activations, initialisers, layers, losses and pytree helpers."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import nn
from adgraph.nn import initializers as init
from adgraph.test_util import check_grads

RNG = np.random.default_rng(0)


def _x(shape, dtype=np.float64, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(dtype)


# ------------------------------------------------------------------ activations
@pytest.mark.parametrize(
    "name,ref",
    [
        ("relu", lambda x: np.maximum(x, 0)),
        ("tanh", np.tanh),
        ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
        ("softplus", lambda x: np.log1p(np.exp(x))),
        ("silu", lambda x: x / (1 + np.exp(-x))),
        ("leaky_relu", lambda x: np.where(x >= 0, x, 0.01 * x)),
        ("elu", lambda x: np.where(x > 0, x, np.expm1(x))),
        ("identity", lambda x: x),
        (
            "gelu_tanh",
            lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        ),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_values_and_dtype(name, ref, dtype):
    x = _x((4, 5), dtype, scale=2.0)
    f = nn.get_activation(name)
    y = f(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(
        y, ref(x.astype(np.float64)), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6
    )


@pytest.mark.parametrize(
    "name", ["tanh", "sigmoid", "softplus", "gelu", "silu", "elu", "leaky_relu"]
)
def test_activation_derivatives(name):
    x = _x((2, 3), scale=1.5, seed=2)
    x = np.where(np.abs(x) < 0.05, 0.3, x)  # away from kinks
    check_grads(nn.get_activation(name), (x,), order=2)


def test_elu_has_no_overflow_in_gradient():
    x = np.array([-3.0, 800.0])
    g = ad.grad(lambda x: anp.sum(nn.elu(x)))(x)
    np.testing.assert_allclose(g, [np.exp(-3.0), 1.0])


def test_complex_tanh_and_sigmoid_fall_back_to_plain_ops():
    z = np.array([0.3 + 0.2j, -1.0 + 0.5j])
    np.testing.assert_allclose(nn.tanh(z), np.tanh(z))
    np.testing.assert_allclose(nn.sigmoid(z), 1 / (1 + np.exp(-z)))


def test_softmax_family():
    x = _x((3, 4), scale=3.0)
    s = nn.softmax(x)
    np.testing.assert_allclose(s.sum(-1), 1.0)
    np.testing.assert_allclose(nn.log_softmax(x), np.log(s), atol=1e-12)
    np.testing.assert_allclose(nn.logsumexp(x), np.log(np.exp(x).sum(-1)))
    np.testing.assert_allclose(nn.logsumexp(x, axis=0, keepdims=True).shape, (1, 4))
    big = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(nn.logsumexp(big), 1000.0 + np.log(2.0))
    with np.errstate(divide="ignore"):
        assert nn.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    np.testing.assert_allclose(ad.grad(lambda x: nn.logsumexp(x))(x[0]), s[0], rtol=1e-12)
    check_grads(lambda x: nn.log_softmax(x, axis=0), (x,), order=2)


def test_get_activation_errors():
    assert nn.get_activation(None)(3.0) == 3.0
    with pytest.raises(ValueError, match="unknown activation"):
        nn.get_activation("nope")


# ------------------------------------------------------------------ initialisers
@pytest.mark.parametrize(
    "f,var",
    [
        (init.glorot_uniform, lambda fi, fo: 2.0 / (fi + fo)),
        (init.glorot_normal, lambda fi, fo: 2.0 / (fi + fo)),
        (init.he_uniform, lambda fi, fo: 2.0 / fi),
        (init.he_normal, lambda fi, fo: 2.0 / fi),
        (init.lecun_uniform, lambda fi, fo: 1.0 / fi),
        (init.lecun_normal, lambda fi, fo: 1.0 / fi),
    ],
)
def test_initialiser_variance_and_seed(f, var):
    w = f(0, (400, 300))
    assert w.dtype == np.float32 and w.shape == (400, 300)
    np.testing.assert_allclose(w.var(), var(400, 300), rtol=0.03)
    assert abs(w.mean()) < 0.01
    np.testing.assert_array_equal(w, f(0, (400, 300)))  # same seed, same values
    np.testing.assert_array_equal(
        w.astype(np.float64),
        f(0, (400, 300), dtype=np.float64).astype(np.float32).astype(np.float64),
    )
    assert not np.array_equal(w, f(1, (400, 300)))
    g = np.random.default_rng(5)
    assert f(g, (3, 2)).shape == (3, 2)


def test_initialiser_fans_and_simple_ones():
    assert init.fans((3, 4)) == (3, 4)
    assert init.fans((5, 5, 3, 8)) == (75, 200)
    assert init.fans(()) == (1, 1)
    np.testing.assert_array_equal(init.zeros(0, 3), np.zeros(3, np.float32))
    np.testing.assert_array_equal(init.ones(None, (2,), np.float64), np.ones(2))
    np.testing.assert_array_equal(init.constant(0.5)(0, (2,)), [0.5, 0.5])
    assert abs(init.normal(0.1)(0, (10000,)).std() - 0.1) < 0.005
    assert np.abs(init.uniform(0.2)(0, (1000,))).max() <= 0.2
    with pytest.raises(TypeError, match="Generator"):
        init.glorot_uniform("seed", (2, 2))


# ------------------------------------------------------------------ layers
def test_dense_and_mlp_shapes_and_forms():
    p = nn.mlp_init(0, [3, 5, 2], activation="tanh")
    assert [tuple(l["w"].shape) for l in p] == [(3, 5), (5, 2)]
    assert all(l["b"].dtype == np.float32 for l in p)
    x = _x((4, 3), np.float32)
    y = nn.mlp(p, x, "tanh")
    assert y.shape == (4, 2) and y.dtype == np.float32
    manual = np.tanh(x @ p[0]["w"] + p[0]["b"]) @ p[1]["w"] + p[1]["b"]
    np.testing.assert_allclose(y, manual, rtol=1e-6)
    pairs = [(l["w"], l["b"]) for l in p]
    np.testing.assert_allclose(nn.mlp(pairs, x, "tanh"), y)
    np.testing.assert_allclose(
        nn.dense(p[0], x, "relu"), np.maximum(x @ p[0]["w"] + p[0]["b"], 0), rtol=1e-6
    )
    assert nn.num_params(p) == 3 * 5 + 5 + 5 * 2 + 2
    with pytest.raises(ValueError, match="sizes"):
        nn.mlp_init(0, [3])


def test_mlp_init_picks_initialiser_by_activation():
    relu = nn.mlp_init(0, [500, 400], activation="relu")[0]["w"]
    tanh = nn.mlp_init(0, [500, 400], activation="tanh")[0]["w"]
    np.testing.assert_allclose(relu.var(), 2 / 500, rtol=0.05)
    np.testing.assert_allclose(tanh.var(), 2 / 900, rtol=0.05)


def test_mlp_gradient_against_finite_differences():
    p = nn.mlp_init(1, [3, 4, 2], activation="tanh", dtype=np.float64)
    x = _x((5, 3), seed=3)
    y = np.array([0, 1, 1, 0, 1])
    check_grads(lambda p: nn.softmax_cross_entropy(nn.mlp(p, x, "tanh"), y), (p,), order=2)


def test_float32_end_to_end():
    p = nn.mlp_init(0, [6, 8, 8, 3], activation="gelu")
    x = _x((10, 6), np.float32)
    y = np.arange(10) % 3
    loss, g = ad.value_and_grad(
        lambda p: nn.softmax_cross_entropy(nn.mlp(p, x, "gelu"), y) + 1e-3 * nn.l2_penalty(p)
    )(p)
    assert loss.dtype == np.float32
    assert all(leaf.dtype == np.float32 for leaf in ad.tree_leaves(g))


# ------------------------------------------------------------------ losses
def test_softmax_cross_entropy_forms_agree():
    z = _x((6, 4), scale=2.0)
    y = np.array([0, 3, 1, 2, 2, 0])
    ref = np.mean(np.log(np.exp(z).sum(-1)) - z[np.arange(6), y])
    np.testing.assert_allclose(nn.softmax_cross_entropy(z, y), ref, rtol=1e-12)
    np.testing.assert_allclose(
        nn.softmax_cross_entropy(z, nn.one_hot(y, 4, "float64")), ref, rtol=1e-12
    )
    np.testing.assert_allclose(nn.softmax_cross_entropy(z, y, reduction="sum"), 6 * ref, rtol=1e-12)
    rows = nn.softmax_cross_entropy(z, y, reduction="none")
    assert rows.shape == (6,)
    np.testing.assert_allclose(rows.mean(), ref, rtol=1e-12)
    eps = 0.1
    smooth = nn.softmax_cross_entropy(z, y, label_smoothing=eps)
    p = (1 - eps) * np.eye(4)[y] + eps / 4
    np.testing.assert_allclose(smooth, np.mean(-(p * nn.log_softmax(z)).sum(-1)), rtol=1e-12)
    g_int = ad.grad(lambda z: nn.softmax_cross_entropy(z, y))(z)
    g_hot = ad.grad(lambda z: nn.softmax_cross_entropy(z, np.eye(4)[y]))(z)
    np.testing.assert_allclose(g_int, g_hot, atol=1e-14)
    check_grads(lambda z: nn.softmax_cross_entropy(z, y, reduction="none"), (z,), order=2)


def test_softmax_cross_entropy_errors():
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="reduction"):
        nn.softmax_cross_entropy(z, np.zeros(3, int), reduction="max")
    with pytest.raises(ValueError, match="shape"):
        nn.softmax_cross_entropy(z, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        nn.softmax_cross_entropy(z, np.zeros(4, int), reduction="sum")


def test_other_losses_and_accuracy():
    z = _x((8,), scale=3.0)
    t = (np.arange(8) % 2).astype(np.float64)
    ref = np.mean(np.log1p(np.exp(z)) - t * z)
    np.testing.assert_allclose(nn.sigmoid_cross_entropy(z, t), ref, rtol=1e-12)
    g = ad.grad(lambda z: nn.sigmoid_cross_entropy(z, t, reduction="sum"))(z)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-z)) - t, rtol=1e-12)
    np.testing.assert_allclose(nn.mse(z, t), np.mean((z - t) ** 2))
    params = {"a": np.ones(3), "b": [np.full(2, 2.0)], "n": np.arange(2)}
    np.testing.assert_allclose(nn.l2_penalty(params), 0.5 * (3 + 8))
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert nn.accuracy(logits, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert nn.accuracy(logits, np.eye(2)[[0, 1, 1]]) == pytest.approx(2 / 3)
    assert isinstance(nn.accuracy(logits, np.array([0, 1, 0])), float)


# ------------------------------------------------------------------ pytrees
def test_tree_helpers():
    tree = {"w": np.array([3.0, 4.0], np.float32), "b": [np.array(0.0, np.float32)]}
    np.testing.assert_allclose(nn.global_norm(tree), 5.0)
    clipped = nn.clip_by_global_norm(tree, 1.0)
    np.testing.assert_allclose(nn.global_norm(clipped), 1.0, rtol=1e-6)
    assert clipped["w"].dtype == np.float32
    same = nn.clip_by_global_norm(tree, 10.0)
    np.testing.assert_allclose(same["w"], tree["w"])
    assert nn.tree_astype(tree, np.float64)["w"].dtype == np.float64
    z = nn.tree_zeros_like(tree)
    assert z["w"].dtype == np.float32 and not z["w"].any()
    assert nn.to_device(tree, "cpu")["w"] is tree["w"]
    assert nn.to_numpy(tree)["w"] is tree["w"]
    assert nn.resolve_xp(None) is np and nn.resolve_xp("numpy") is np and nn.resolve_xp(np) is np
    with pytest.raises(ValueError, match="unknown backend"):
        nn.resolve_xp("tpu")
