"""Compositions of transformations checked against closed forms and finite differences:
vmap/jacfwd/jacrev/grad/jit nested in every order, loops and branches under them,
custom rules under vmap and higher-order derivatives, and nested derivatives that close
over an outer variable (perturbation confusion)."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.api.args import FLOAT0

X = np.arange(12.0).reshape(4, 3) / 7 - 0.5
x3 = X[1]


def fd_grad(f, x, h=1e-6):
    """Central differences of a scalar function of an array."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_lax_exports_stop_gradient():
    g = ad.grad(lambda x: x * lax.stop_gradient(x) ** 2)(3.0)
    assert g == 9.0
    gv = ad.vmap(ad.grad(lambda x: anp.sum(x * lax.stop_gradient(x))))(X)
    np.testing.assert_allclose(gv, X)


@pytest.mark.parametrize("unroll", [1, 2, 5, True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_accepts_unroll_and_ignores_it(unroll, reverse):
    def f(x):
        c, ys = lax.scan(
            lambda c, xx: (anp.sin(c) * xx + c, c * xx), x, X, reverse=reverse, unroll=unroll
        )
        return anp.sum(c) + anp.sum(ys**2)

    def f_np(x):
        c, ys = x, []
        for xx in X[::-1] if reverse else X:
            ys.append(c * xx)
            c = np.sin(c) * xx + c
        return np.sum(c) + np.sum(np.array(ys) ** 2)

    assert np.isclose(f(x3), f_np(x3), rtol=1e-14)
    np.testing.assert_allclose(ad.grad(f)(x3), fd_grad(f_np, x3), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("unroll", [0, -1, 1.5, "2"])
def test_scan_refuses_a_bad_unroll(unroll):
    with pytest.raises(TypeError, match="unroll"):
        lax.scan(lambda c, x: (c, x), 0.0, X, unroll=unroll)


def test_jvp_and_linearize_take_float0_tangents_for_integer_primals():
    f = lambda x, n: x * n  # noqa: E731
    z = np.zeros((), dtype=FLOAT0)
    y, t = ad.jvp(f, (x3, 3), (x3 + 1, z))
    np.testing.assert_allclose(y, 3 * x3)
    np.testing.assert_allclose(t, 3 * (x3 + 1))
    _, f_jvp = ad.linearize(f, x3, 3)
    np.testing.assert_allclose(f_jvp(x3 + 1, z), 3 * (x3 + 1))
    with pytest.raises(TypeError, match="float0"):
        ad.jvp(lambda x: x, (x3,), (np.zeros(3, dtype=FLOAT0),))
    with pytest.raises(ValueError, match="shape"):
        ad.jvp(f, (x3, 3), (x3, np.zeros(2, dtype=FLOAT0)))


def _softplus_with_scaled_rule():
    """softplus whose rule gives 1.5 times its true derivative: every order of
    differentiation must follow the rule, never the function's own operations."""

    @ad.custom_jvp
    def f(x):
        return anp.log1p(anp.exp(x))

    @f.defjvp
    def f_jvp(p, t):
        (x,), (tx,) = p, t
        return f(x), 1.5 * tx / (1 + anp.exp(-x))

    return f


def test_custom_jvp_second_derivative_through_reverse_mode_follows_the_rule():
    # d2/dx2 f(x)^2 = 2 f'(x)^2 + 2 f(x) f''(x) with f' = 1.5 s and f'' = 1.5 s (1 - s):
    # grad of grad (and jvp of grad) took the primal f(x) through log1p(exp(x)), giving
    # 2 * 1.5 s * s + ... instead (0.7618 rather than 0.9756 at x = -0.5)
    f = _softplus_with_scaled_rule()
    x = -0.5
    s = 1 / (1 + np.exp(-x))
    fx = np.log1p(np.exp(x))
    want = 2 * (1.5 * s) ** 2 + 2 * fx * 1.5 * s * (1 - s)
    g = lambda x: f(x) ** 2  # noqa: E731
    assert np.isclose(ad.grad(ad.grad(g))(x), want, rtol=1e-13)
    assert np.isclose(ad.jvp(ad.grad(g), (x,), (1.0,))[1], want, rtol=1e-13)
    assert np.isclose(ad.grad(lambda x: ad.jvp(g, (x,), (1.0,))[1])(x), want, rtol=1e-13)
    assert np.isclose(ad.jit(ad.grad(ad.grad(g)))(x), want, rtol=1e-13)
    xs = X[0]
    s, fx = 1 / (1 + np.exp(-xs)), np.log1p(np.exp(xs))
    H = np.diag(2 * (1.5 * s) ** 2 + 2 * fx * 1.5 * s * (1 - s))
    h = ad.hessian(lambda x: anp.sum(f(x) ** 2))
    np.testing.assert_allclose(h(xs), H, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ad.jit(ad.vmap(h))(X[:2])[0], H, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ad.jacrev(ad.grad(lambda x: anp.sum(f(x) ** 2)))(xs), H, rtol=1e-13)


def _sqrt_loop_reference(x, w):
    """(d/dx, d/dw) of c -> sqrt(c - w) while c > 2, starting from x."""
    gx, gw = 1.0, 0.0
    while x > 2.0:
        d = 0.5 / np.sqrt(x - w)
        gx, gw, x = gx * d, gw * d - d, np.sqrt(x - w)
    return gx, gw


@pytest.mark.filterwarnings("ignore:invalid value")
@pytest.mark.parametrize("checkpoints", [None, 2])
def test_while_loop_batched_predicate_reverse_mode_has_no_nan(checkpoints):
    # Under vmap with a batched predicate the body also runs for the examples already done,
    # where sqrt(c - w) is nan (c < w): their zero cotangent times that derivative came
    # back as nan (vmap of grad, grad of vmap, jit of it) although each example's loop
    # stopped before any invalid value
    xs = np.array([0.5, 5.0, 30.0, 1.5])
    want = np.array([_sqrt_loop_reference(x, 1.0) for x in xs])

    def f(x, w):
        return lax.while_loop(
            lambda c: c > 2.0, lambda c: anp.sqrt(c - w), x, checkpoints=checkpoints
        )

    got = ad.vmap(ad.grad(f, (0, 1)), (0, None))(xs, 1.0)
    np.testing.assert_allclose(np.stack(got, 1), want, rtol=1e-13)
    batched = lambda x, w: anp.sum(ad.vmap(f, (0, None))(x, w))  # noqa: E731
    gx, gw = ad.grad(batched, (0, 1))(xs, 1.0)
    np.testing.assert_allclose(gx, want[:, 0], rtol=1e-13)
    np.testing.assert_allclose(gw, want[:, 1].sum(), rtol=1e-13)
    gx, gw = ad.jit(ad.grad(batched, (0, 1)))(xs, 1.0)
    np.testing.assert_allclose(gx, want[:, 0], rtol=1e-13)
    np.testing.assert_allclose(gw, want[:, 1].sum(), rtol=1e-13)
    H = ad.jacrev(ad.grad(lambda x: batched(x, 1.0)))(xs)
    assert np.all(np.isfinite(H))


@pytest.mark.filterwarnings("ignore:invalid value")
def test_fori_loop_batched_bounds_reverse_mode_has_no_nan():
    n = np.array([0, 1, 2, 1])
    x = np.array([0.5, 5.0, 17.0, 1.5])

    def f(w):
        body = lambda i, c: anp.sqrt(c - w)  # noqa: E731
        return anp.sum(ad.vmap(lambda n, x: lax.fori_loop(0, n, body, x))(n, x))

    # d/dw of sqrt(x - w) once, or of sqrt(sqrt(x - w) - w) twice (x = 17: sqrt(16) = 4)
    want = -0.5 / 2 + (0.5 / np.sqrt(3) * -0.5 / 4 - 0.5 / np.sqrt(3)) - 0.5 / np.sqrt(0.5)
    assert np.isclose(ad.grad(f)(1.0), want, rtol=1e-13)
    gx = ad.grad(
        lambda x: anp.sum(
            ad.vmap(lambda n, x: lax.fori_loop(0, n, lambda i, c: anp.sqrt(c - 1.0), x))(n, x)
        )
    )(x)
    np.testing.assert_allclose(
        gx, [1.0, 0.25, 0.5 / 4 * 0.5 / np.sqrt(3), 0.5 / np.sqrt(0.5)], rtol=1e-13
    )


def test_custom_jvp_primal_output_under_nested_derivatives_is_the_rules():
    # A rule whose primal output is computed by other operations than the function's own
    # (here sin(x) * 1, not a call of f): an outer derivative of that output
    # differentiates what the rule computes, as forward mode does.
    @ad.custom_jvp
    def f(x):
        return anp.sin(x)

    @f.defjvp
    def f_jvp(p, t):
        (x,), (tx,) = p, t
        return anp.sin(x) * 1.0, 3.0 * anp.cos(x) * tx

    # d/dx [f(x) * f'(x)] = cos(x) * 3 cos(x) + sin(x) * (-3 sin(x))
    x = 0.4
    want = 3 * np.cos(x) ** 2 - 3 * np.sin(x) ** 2
    g = lambda x: 0.5 * f(x) ** 2  # noqa: E731
    assert np.isclose(ad.jvp(lambda x: ad.jvp(g, (x,), (1.0,))[1], (x,), (1.0,))[1], want)
    assert np.isclose(ad.grad(ad.grad(g))(x), want, rtol=1e-13)
    assert np.isclose(ad.jvp(ad.grad(g), (x,), (1.0,))[1], want, rtol=1e-13)
    assert np.isclose(ad.jit(ad.hessian(g))(x), want, rtol=1e-13)
