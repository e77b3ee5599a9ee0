"""Minimal programs from disagreements the random programs found (tests/fuzz/programs.py),
each checked against an independent reference: reverse mode, ``vmap`` of ``jvp``, a
closed form, or finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.lax as lax
import adgraph.numpy as anp


def _fd_jacobian(f, x, h=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        cols.append((f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("loop", ["fori_loop", "scan"])
def test_jacfwd_through_jit_of_a_loop_closing_over_a_traced_value(loop):
    def f(x0, x1):
        def g(a):
            b = x0 / a
            if loop == "fori_loop":
                return lax.fori_loop(0, 1, lambda i, c: c * b, b)
            return lax.scan(lambda c, _: (c * b, None), b, None, length=1)[0]

        return ad.jit(g)(x1)

    x0, x1 = 0.9, np.array([0.5, 1.3])
    want = np.diag(-2 * x0**2 / x1**3)  # f = (x0 / x1) ** 2
    np.testing.assert_allclose(ad.jacrev(f, argnums=1)(x0, x1), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(f, argnums=1)(x0, x1), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(f, argnums=(0, 1))(x0, x1)[1], want, rtol=1e-12)


def test_jacfwd_of_custom_jvp_whose_rule_runs_a_checkpoint_closure():
    def f(x0):
        def body(a):
            return ad.checkpoint(lambda c: anp.sin(a + c))(x0)

        g = ad.custom_jvp(body)
        g.defjvp(lambda p, t: ad.jvp(body, p, t))
        return g(x0 * 2.0)

    x = np.array([0.5, 1.3, -0.4])
    want = np.diag(3 * np.cos(3 * x))  # f = sin(3 x)
    np.testing.assert_allclose(_fd_jacobian(lambda z: np.sin(3 * z), x), want, rtol=1e-8)
    np.testing.assert_allclose(ad.jacrev(f)(x), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jvp(f, (x,), (np.ones(3),))[1], np.diag(want), rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(f)(x), want, rtol=1e-12)


def test_jacfwd_through_jit_of_a_loop_whose_carry_starts_from_a_closed_over_value():
    # The loop's body, run once watched before its closure was converted, lifted a tangent
    # of jacfwd's private batching level into the jit program as an extra input: the
    # program then ran batched over it and the Jacobian came out zero.
    x1 = np.array([0.5, 1.3])

    def f(x0):
        def g(a):
            b = x0 / a
            return lax.fori_loop(0, 1, lambda i, c: c * b, b)

        return ad.jit(g)(x1)

    want = 2 * 0.9 / x1**2  # f = (x0 / x1) ** 2
    np.testing.assert_allclose(ad.jvp(f, (0.9,), (1.0,))[1], want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(f)(0.9), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jacrev(f)(0.9), want, rtol=1e-12)
    np.testing.assert_allclose(
        _fd_jacobian(lambda z: f(z[0]), np.array([0.9]))[:, 0], want, rtol=1e-7
    )


@pytest.mark.parametrize("wrap", ["jit", "checkpoint"])
@pytest.mark.xfail(
    strict=True,
    reason="hessian (forward over reverse) of a custom_vjp function called inside jit or "
    "checkpoint is refused as forward mode of custom_vjp; JAX computes it, and so does "
    "adgraph without the jit/checkpoint",
)
def test_hessian_of_custom_vjp_inside_jit(wrap):
    @ad.custom_vjp
    def g(a):
        return anp.sin(a)

    g.defvjp(lambda a: (anp.sin(a), (anp.cos(a),)), lambda r, ct: (r[0] * ct,))
    x = np.array([0.5, 1.3, -0.4])
    want = np.diag(2 * np.cos(x) - x * np.sin(x))  # L = sum(x sin x)
    np.testing.assert_allclose(ad.hessian(lambda z: anp.sum(g(z) * z))(x), want, rtol=1e-12)
    w = getattr(ad, wrap)
    H = ad.hessian(lambda z: anp.sum(w(lambda u: g(u) * u)(z)))(x)
    np.testing.assert_allclose(H, want, rtol=1e-12)


@pytest.mark.parametrize("wrap", ["checkpoint", "custom_jvp"])
@pytest.mark.xfail(
    strict=True,
    reason="jit of a checkpoint or custom_jvp function that closes over a jit-traced value "
    "and calls lax.cond on a traced predicate is refused ('branches (Python if/while/bool) "
    "on a value ... traced by jit'); JAX compiles it, and lax.cond is staged under jit "
    "elsewhere",
)
def test_lax_cond_inside_a_closure_under_jit(wrap):
    def f(x0, x1):
        def body(a):
            branch = lax.cond(anp.sum(a) > 0.3, lambda u: u * 0.5, lambda u: anp.cos(u), a)
            return branch + anp.sum(x1)

        if wrap == "checkpoint":
            return ad.checkpoint(body)(x0)
        g = ad.custom_jvp(body)
        g.defjvp(lambda p, t: ad.jvp(body, p, t))
        return g(x0)

    x1 = np.array([1.0, 2.0])
    for x0 in (np.array([0.2, 0.5]), np.array([0.1, 0.1])):
        want = (x0 * 0.5 if x0.sum() > 0.3 else np.cos(x0)) + 3.0
        np.testing.assert_allclose(f(x0, x1), want, rtol=1e-14)
        np.testing.assert_allclose(ad.jit(f)(x0, x1), want, rtol=1e-14)


@pytest.mark.xfail(
    strict=True,
    reason="jit of a custom_jvp function that calls lax.cond on its argument and closes "
    "over a jit-traced value (even unused) fails with EscapedTracerError (a tracer leaked "
    "out of JitTrace); without the closure it compiles, and JAX compiles both",
)
def test_lax_cond_in_custom_jvp_closing_over_a_jit_value():
    def f(x0):
        def body(a):
            anp.transpose(x0)  # the closure: unused, yet it changes the outcome
            b = a * 2.0
            return lax.cond(anp.sum(b) > 0.3, lambda u: anp.sin(u), lambda u: u**2, b)

        g = ad.custom_jvp(body)
        g.defjvp(lambda p, t: ad.jvp(body, p, t))
        return g(x0)

    x = np.array([[0.5, 1.2], [0.7, -0.3]])
    want = np.sin(2.0 * x)  # sum(2 x) = 4.2 > 0.3
    np.testing.assert_allclose(f(x), want, rtol=1e-14)
    np.testing.assert_allclose(ad.jit(f)(x), want, rtol=1e-14)
