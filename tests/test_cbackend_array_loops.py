"""Loops over array values in the C backend: code size independent of the array size.

A ``scan`` (and a checkpointed scan's backward sweep) whose values have more than
``LOOP_ARRAY_MIN`` elements is lowered with its carry, slices and closed-over values as C
arrays, so that the step is loop nests rather than one statement per element. The
references are adgraph's Python backend, eager evaluation and central finite differences.
"""

import re

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.jit.c import c_source
from adgraph.jit.c.array_loops import LOOP_ARRAY_MIN
from adgraph.jit.c.toolchain import find_c_compiler

needs_cc = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")


def code_lines(src):
    """The lines of ``src`` other than reads of a small input's elements
    (``const double a1_7 = x1[7];``: inputs of at most ARRAY_MIN elements are scalarized
    outside any loop)."""
    read = re.compile(r"^\s*const \w+ a\d+_\d+ = x\d+\[\d+\];$")
    return [ln for ln in src.splitlines() if not read.match(ln)]


def rnn_loss(checkpoints):
    def loss(W, xs):
        h0 = anp.zeros(W.shape[0])
        h, _ = lax.scan(lambda h, x: (anp.tanh(W @ h + x), None), h0, xs, checkpoints=checkpoints)
        return anp.sum(h)

    return loss


def rnn_args(hidden, steps=30, seed=0):
    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    return W, rng.standard_normal((steps, hidden))


@pytest.mark.parametrize("checkpoints", [None, 5])
def test_rnn_gradient_source_does_not_grow_with_hidden_size(checkpoints):
    f = ad.grad(rnn_loss(checkpoints))
    small = c_source(f, *rnn_args(20), max_node_size=4096)
    large = c_source(f, *rnn_args(60), max_node_size=4096)
    assert small.count("\n") == large.count("\n")
    # only the sizes in the loop bounds differ (20 -> 60, 400 -> 3600, ...)
    assert abs(len(large) - len(small)) < 200
    assert len(large) < 20_000  # scalarized, hidden 60 was hundreds of thousands


@needs_cc
@pytest.mark.parametrize("checkpoints", [None, 5])
def test_rnn_gradient_equals_python_backend(checkpoints):
    W, xs = rnn_args(24, steps=40, seed=1)
    f = ad.grad(rnn_loss(checkpoints))
    got = ad.jit(f, compiler="c")(W, xs)
    ref = ad.jit(f)(W, xs)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got, ad.grad(rnn_loss(None))(W, xs), rtol=1e-13, atol=1e-15)
    # central differences on two entries
    loss = rnn_loss(None)
    for i, j in [(0, 0), (3, 17)]:
        e = np.zeros_like(W)
        e[i, j] = 1e-6
        fd = (loss(W + e, xs) - loss(W - e, xs)) / 2e-6
        assert got[i, j] == pytest.approx(float(fd), rel=1e-6, abs=1e-9)


def _matrix_step(W, x0, xs):
    """A step with an outer product, a transpose, a reduction and stacked outputs."""

    def step(c, x):
        h, M = c
        h2 = anp.tanh(M.T @ h + W @ x)
        M2 = 0.9 * M + 0.01 * anp.outer(h2, x)
        return (h2, M2), anp.sum(M2, axis=0) * h2

    (h, M), ys = lax.scan(step, (x0, W), xs)
    return anp.sum(h) + anp.sum(M * M) + anp.sum(ys**2)


@needs_cc
def test_matrix_carry_outer_transpose_and_stacked_outputs():
    rng = np.random.default_rng(2)
    n = 7  # the 7x7 carry has 49 > LOOP_ARRAY_MIN elements
    assert n * n > LOOP_ARRAY_MIN
    W = 0.3 * rng.standard_normal((n, n))
    x0 = rng.standard_normal(n)
    xs = rng.standard_normal((12, n))
    f = ad.grad(_matrix_step, argnums=(0, 1))
    got = ad.jit(f, compiler="c")(W, x0, xs)
    ref = ad.jit(f)(W, x0, xs)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-13, atol=1e-14)
    val = ad.jit(_matrix_step, compiler="c")(W, x0, xs)
    assert val == pytest.approx(float(_matrix_step(W, x0, xs)), rel=1e-14)
    # the program's text is the same at twice the size (inputs above ARRAY_MIN elements,
    # which are not scalarized either)
    lines = []
    for m in (17, 34):
        args = (rng.standard_normal((m, m)), rng.standard_normal(m), np.ones((30, m)))
        lines.append(len(code_lines(c_source(f, *args, max_node_size=4096))))
    assert lines[0] == lines[1] < 400


@needs_cc
def test_reverse_scan_fori_index_and_cond_in_an_array_step():
    rng = np.random.default_rng(3)
    A = 0.2 * rng.standard_normal((20, 20))

    def f(x):
        def body(i, v):
            w = A @ v + 0.01 * i
            return lax.cond(anp.sum(w) > 0.0, lambda u: anp.sin(u), lambda u: 0.5 * u, w)

        v = lax.fori_loop(0, 9, body, x)
        v, ys = lax.scan(lambda c, x: (anp.cos(c) * x, c[:3]), v, anp.ones((4, 20)), reverse=True)
        return anp.sum(v) + anp.sum(ys)

    x = rng.standard_normal(20)
    for fun in (f, ad.grad(f)):
        got = ad.jit(fun, compiler="c")(x)
        np.testing.assert_allclose(got, ad.jit(fun)(x), rtol=1e-13, atol=1e-14)


@needs_cc
def test_float32_array_loop_stays_float32():
    rng = np.random.default_rng(4)
    W = (0.3 * rng.standard_normal((20, 20))).astype(np.float32)
    xs = rng.standard_normal((10, 20)).astype(np.float32)
    f = ad.grad(rnn_loss(None))
    got = ad.jit(f, compiler="c")(W, xs)
    ref = ad.jit(f)(W, xs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6)


@needs_cc
def test_nested_array_scans():
    rng = np.random.default_rng(5)
    W = 0.3 * rng.standard_normal((18, 18))

    def f(W):
        def outer_step(h, _):
            h, _ = lax.scan(lambda g, _: (anp.tanh(W @ g), None), h, None, length=3)
            return h + 0.1, None

        h, _ = lax.scan(outer_step, anp.ones(18), None, length=4)
        return anp.sum(h * h)

    got = ad.jit(ad.grad(f), compiler="c")(W)
    np.testing.assert_allclose(got, ad.jit(ad.grad(f))(W), rtol=1e-13, atol=1e-14)


@needs_cc
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("checkpoints", [1, 3, 20])
def test_checkpointed_array_scan_gradients_wrt_carry_xs_and_closure(reverse, checkpoints):
    rng = np.random.default_rng(6)
    A = 0.3 * rng.standard_normal((20, 20))
    x, xs = rng.standard_normal(20), rng.standard_normal((13, 20))

    def f(x, xs, A):
        def step(c, t):
            h, s = c
            return (anp.tanh(A @ h + t), s + anp.sum(h)), h * t

        (h, s), ys = lax.scan(step, (x, 0.0), xs, checkpoints=checkpoints, reverse=reverse)
        return anp.sum(h**2) + s + anp.sum(ys)

    g = ad.grad(f, argnums=(0, 1, 2))
    got = ad.jit(g, compiler="c")(x, xs, A)
    for a, b, e in zip(got, ad.jit(g)(x, xs, A), g(x, xs, A), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-13)


@needs_cc
def test_a_carry_that_takes_a_value_from_outside_the_loop():
    # carry 1 takes w[0], defined before the loop, at every step, beside array carries:
    # the loop must keep that value's definition (it was dropped as dead code once)
    def f(x, w):
        def body(c, _):
            a, s, b = c
            a2 = b * 0.3 + anp.sin(a) * s
            return (a2, w[0], anp.cos(b) * 0.9 + s), None

        (a, s, b), _ = lax.scan(body, (x, w[1], anp.cos(x)), None, length=7)
        return anp.sum(a * b) + s

    x = np.linspace(0.1, 0.9, LOOP_ARRAY_MIN + 4)
    w = np.array([0.7, -0.2, 0.4])
    want = f(x, w)
    np.testing.assert_allclose(ad.jit(f, compiler="c")(x, w), want, rtol=1e-13)
    np.testing.assert_allclose(ad.jit(f)(x, w), want, rtol=1e-13)
    g = ad.jit(ad.grad(f), compiler="c")(x, w)
    np.testing.assert_allclose(g, ad.grad(f)(x, w), rtol=1e-12, atol=1e-14)
