"""Forward-gradient descent: the estimator's mean and variance law, the optimiser on pytrees,
and the absence of a reverse tape (memory that does not grow with depth)."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.optim import forward_gradient, forward_gradient_step
from adgraph.optim.forward import forward_gradient_estimate

# A linear loss on a pytree with D = 6 + 2 = 8 entries: its gradient is the same everywhere.
A = np.array([[0.4, -0.3, 0.1], [0.9, 0.2, -0.5]])
C = np.array([0.7, -1.1])
GRAD_SQ = float(np.sum(A * A) + np.sum(C * C))
D = 8


def linear(p):
    return anp.sum(A * p["w"]) + anp.sum(C * p["b"])


def zeros():
    return {"w": np.zeros((2, 3)), "b": np.zeros(2)}


def flat(g):
    return np.concatenate([np.ravel(g["b"]), np.ravel(g["w"])])


def sample(k, n, seed):
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.array([flat(forward_gradient_estimate(linear, zeros(), k, rng)[1]) for _ in range(n)])


def test_estimate_is_unbiased():
    k, n = 2, 4000
    G = sample(k, n, seed=0)
    a = np.concatenate([C, A.ravel()])
    # Component i of one estimate has variance (a_i^2 (1 + 1/k) + |a|^2 / k): the law's diagonal.
    se = np.sqrt((a * a * (1 + 1 / k) + GRAD_SQ / k) / n)
    assert np.all(np.abs(G.mean(axis=0) - a) < 4.5 * se)


def test_variance_law_one_tangent_exact_standard_error():
    """E|g|^2 = (D + 2)|a|^2 for one tangent; with a = |a| e_1 (rotation invariance),
    |g|^2 = |a|^2 v_1^2 (v_1^2 + R), R ~ chi^2_{D-1}, so
    E|g|^4 = |a|^4 (105 + 30 (D-1) + 3 ((D-1)^2 + 2 (D-1))) and the sample mean of n draws has
    an exactly known standard error. 4.5 standard errors: a false alarm has probability below
    1e-5 (the mean of 12000 draws is close to normal), and the tolerance (about 8%) still
    tells the law's D + 2 = 10 from D + 1 = 9."""
    n = 12000
    G = sample(1, n, seed=1)
    ratio = np.sum(G * G, axis=1) / GRAD_SQ
    law = 1 + (D + 1) / 1
    m4 = 105 + 30 * (D - 1) + 3 * ((D - 1) ** 2 + 2 * (D - 1))
    se = math.sqrt((m4 - law**2) / n)
    assert abs(float(ratio.mean()) - law) < 4.5 * se
    assert 4.5 * se / law < 0.09


@pytest.mark.parametrize("k, n", [(3, 5000), (D, 2500)])
def test_variance_law_k_tangents(k, n):
    """The mean of k independent estimates: E|g|^2 = (1 + (D+1)/k)|a|^2 exactly. Tolerance:
    4.5 standard errors of the sample mean, estimated from the same draws."""
    G = sample(k, n, seed=10 + k)
    ratio = np.sum(G * G, axis=1) / GRAD_SQ
    law = 1 + (D + 1) / k
    se = float(ratio.std(ddof=1)) / math.sqrt(n)
    assert abs(float(ratio.mean()) - law) < 4.5 * se
    # and the second-moment matrix (1 + 1/k) a a^T + |a|^2 I / k, on its trace-free part:
    a = np.concatenate([C, A.ravel()])
    M = G.T @ G / n
    expected = (1 + 1 / k) * np.outer(a, a) + GRAD_SQ / k * np.eye(D)
    assert np.max(np.abs(M - expected)) < 0.15 * np.max(np.abs(expected))


def test_descent_on_a_pytree_and_losses_before_each_update():
    target = {"w": np.arange(6.0).reshape(2, 3) / 6, "b": np.array([1.0, -2.0])}

    def loss(p):
        return 0.5 * anp.sum((p["w"] - target["w"]) ** 2) + 0.5 * anp.sum(
            (p["b"] - target["b"]) ** 2
        )

    p0 = {"w": np.zeros((2, 3)), "b": np.zeros(2), "count": np.arange(3)}
    params, losses = forward_gradient(loss, p0, lr=0.1, steps=400, tangents=4, seed=0)
    assert losses.shape == (400,) and losses.dtype == np.float64
    assert losses[0] == pytest.approx(float(loss(p0)))
    assert losses[-1] < 1e-6 * losses[0]
    np.testing.assert_allclose(params["w"], target["w"], atol=1e-3)
    np.testing.assert_array_equal(params["count"], np.arange(3))  # integers are not trained
    # Same seed, same run; another seed, another run.
    again, losses2 = forward_gradient(loss, p0, lr=0.1, steps=400, tangents=4, seed=0)
    np.testing.assert_array_equal(losses, losses2)
    _, losses3 = forward_gradient(loss, p0, lr=0.1, steps=400, tangents=4, seed=1)
    assert not np.array_equal(losses, losses3)


def test_step_matches_manual_estimate_and_keeps_float32():
    def loss(p):
        return anp.sum(p[0] ** 2) + 3.0 * p[1]

    p = (np.ones(3, np.float32), np.float32(2.0))
    new, value = forward_gradient_step(loss, p, lr=0.5, tangents=2, rng=7)
    _, g = forward_gradient_estimate(loss, p, 2, 7)
    assert float(value) == pytest.approx(9.0)
    assert new[0].dtype == np.float32 and new[1].dtype == np.float32
    np.testing.assert_allclose(new[0], p[0] - 0.5 * g[0], rtol=1e-6)


def test_schedule_and_callback_early_stop():
    seen = []

    def cb(step, params, value):
        seen.append((step, float(value)))
        return step == 4

    rates = []

    def lr(t):
        rates.append(t)
        return 0.1 / (1 + t)

    params, losses = forward_gradient(
        lambda x: anp.sum(x * x), np.ones(3), lr=lr, steps=50, tangents=1, seed=0, callback=cb
    )
    assert len(losses) == 5 and [s for s, _ in seen] == [0, 1, 2, 3, 4]
    assert rates == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in seen], losses)


def test_package_attribute_is_the_function_after_the_module_is_imported():
    import adgraph.optim as optim
    import adgraph.optim.forward  # noqa: F401

    params, losses = optim.forward_gradient(
        lambda x: anp.sum(x * x), np.ones(2), lr=0.1, steps=3, tangents=1
    )
    assert losses.shape == (3,)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (
            lambda: forward_gradient_step(lambda x: anp.sum(x), np.ones(2), tangents=0),
            ValueError,
            "tangents must be a positive integer",
        ),
        (
            lambda: forward_gradient_step(lambda x: x * 2.0, np.ones(2)),
            TypeError,
            "must return a scalar",
        ),
        (
            lambda: forward_gradient_step(lambda x: anp.sum(x), np.arange(3)),
            TypeError,
            "no floating-point leaf",
        ),
        (
            lambda: forward_gradient_step(lambda x: anp.sum(anp.real(x)), np.ones(2) + 0j),
            TypeError,
            "complex parameters",
        ),
        (
            lambda: forward_gradient(lambda x: anp.sum(x), np.ones(2), steps=-1),
            ValueError,
            "steps must be >= 0",
        ),
    ],
)
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


def _peak(fn):
    fn()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_no_reverse_tape_memory_stays_flat_with_depth():
    """Reverse mode keeps every layer's activations until its backward sweep; a forward
    gradient step holds only the current layer (and its tangent): its peak memory must not
    grow with the depth, while reverse mode's does."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 8))

    def model(depth):
        Ws = [rng.standard_normal((8, 8)) / math.sqrt(8) for _ in range(depth)]

        def loss(Ws):
            a = X
            for W in Ws:
                a = anp.tanh(a @ W)
            return anp.mean(a * a)

        return loss, Ws

    peaks = {}
    for depth in (2, 24):
        loss, Ws = model(depth)
        peaks[depth] = (
            _peak(lambda loss=loss, Ws=Ws: ad.value_and_grad(loss)(Ws)),
            _peak(lambda loss=loss, Ws=Ws: forward_gradient_step(loss, Ws, 1e-3, 1, 0)),
        )
    layer = X.nbytes  # one activation
    rev_growth = peaks[24][0] - peaks[2][0]
    fg_growth = peaks[24][1] - peaks[2][1]
    assert rev_growth > 10 * layer  # 22 more layers kept: at least one activation each
    assert fg_growth < 2 * layer
