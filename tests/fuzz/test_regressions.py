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
def test_hessian_of_custom_vjp_inside_jit(wrap):
    # hessian is forward over reverse: the reverse pass runs g's fwd and bwd, and forward
    # mode differentiates them (JAX's semantics), inside jit or checkpoint as without.
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
    hv = ad.jvp(ad.grad(lambda z: anp.sum(w(lambda u: g(u) * u)(z))), (x,), (np.ones(3),))[1]
    np.testing.assert_allclose(hv, want.sum(axis=1), rtol=1e-12)


@pytest.mark.parametrize("wrap", ["none", "jit", "checkpoint"])
def test_hessian_of_custom_vjp_differentiates_its_rules_not_the_function(wrap):
    # bwd is not sin's derivative: the gradient of sum(h(z) z) is z**3 + sin z (bwd's
    # r**2 ct with ct = z, plus h(z)), so the Hessian is 3 z**2 + cos z -- the numbers
    # jax.hessian gives with and without jit/checkpoint. Forward mode of the function
    # itself (cos z) would give 2 cos z - z sin z.
    @ad.custom_vjp
    def h(a):
        return anp.sin(a)

    h.defvjp(lambda a: (anp.sin(a), (a,)), lambda r, ct: (r[0] ** 2 * ct,))
    x = np.array([0.5, 1.3, -0.4])
    jax_numbers = np.array([1.62758256, 5.33749883, 1.40106099])  # jax.hessian, float64
    np.testing.assert_allclose(3 * x**2 + np.cos(x), jax_numbers, rtol=1e-8)
    w = (lambda f: f) if wrap == "none" else getattr(ad, wrap)
    H = ad.hessian(lambda z: anp.sum(w(lambda u: h(u) * u)(z)))(x)
    np.testing.assert_allclose(H, np.diag(3 * x**2 + np.cos(x)), rtol=1e-12)


@pytest.mark.parametrize("wrap", ["none", "jit", "checkpoint"])
def test_forward_mode_inside_a_custom_vjp_rule_is_still_refused(wrap):
    # Only the reverse pass's own computation is differentiated through fwd: a custom_vjp
    # function that fwd itself calls meets forward mode alone (JAX refuses it too), and so
    # does one under an explicit jvp.
    @ad.custom_vjp
    def h(a):
        return anp.sin(a)

    h.defvjp(lambda a: (anp.sin(a), (a,)), lambda r, ct: (r[0] ** 2 * ct,))

    @ad.custom_vjp
    def k(a):
        return h(a)

    k.defvjp(lambda a: (h(a), (a,)), lambda r, ct: (anp.cos(r[0]) * ct,))
    x = np.array([0.5, 1.3, -0.4])
    w = (lambda f: f) if wrap == "none" else getattr(ad, wrap)
    with pytest.raises(NotImplementedError, match="forward-mode differentiation"):
        ad.hessian(lambda z: anp.sum(w(lambda u: k(u) * u)(z)))(x)
    with pytest.raises(NotImplementedError, match="forward-mode differentiation"):
        ad.jvp(w(lambda u: h(u) * u), (x,), (x,))


@pytest.mark.parametrize("wrap", ["checkpoint", "custom_jvp"])
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


@pytest.mark.parametrize("wrap", ["checkpoint", "custom_jvp"])
def test_lax_cond_inside_a_closure_differentiated_and_batched(wrap):
    # The closure's cond is recorded as one switch node: each replay (a later jit call,
    # each example of vmap, derivatives of either) takes its own branch.
    def f(x0, x1):
        def body(a):
            b = lax.cond(anp.sum(a) > 0.3, lambda u: u * 0.5 * x1[0], lambda u: anp.cos(u), a)
            return b + anp.sum(x1)

        if wrap == "checkpoint":
            return ad.checkpoint(body)(x0)
        g = ad.custom_jvp(body)
        g.defjvp(lambda p, t: ad.jvp(body, p, t))
        return g(x0)

    def ref(x0, x1):
        return (x0 * 0.5 * x1[0] if x0.sum() > 0.3 else np.cos(x0)) + x1.sum()

    x1 = np.array([1.5, 2.0])
    jf = ad.jit(f)
    for x0 in (np.array([0.1, 0.1]), np.array([0.2, 0.5])):  # the untaken branch first
        taken = x0.sum() > 0.3
        j0 = np.diag(np.full(2, 0.5 * x1[0]) if taken else -np.sin(x0))
        j1 = np.ones((2, 2)) + (np.stack([0.5 * x0, np.zeros(2)], -1) if taken else 0.0)
        np.testing.assert_allclose(_fd_jacobian(lambda z: ref(z, x1), x0), j0, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(jf(x0, x1), ref(x0, x1), rtol=1e-14)
        for jac in (ad.jacfwd, ad.jacrev):
            for fn in (jac(jf, (0, 1)), ad.jit(jac(f, (0, 1)))):
                a, b = fn(x0, x1)
                np.testing.assert_allclose(a, j0, rtol=1e-12, atol=1e-15)
                np.testing.assert_allclose(b, j1, rtol=1e-12, atol=1e-15)
    X = np.array([[0.1, 0.1], [0.2, 0.5], [-1.0, 0.4]])
    want = np.stack([ref(r, x1) for r in X])
    np.testing.assert_allclose(ad.vmap(f, in_axes=(0, None))(X, x1), want, rtol=1e-14)
    np.testing.assert_allclose(ad.vmap(jf, in_axes=(0, None))(X, x1), want, rtol=1e-14)


def test_jit_cond_whose_branch_untaken_at_tracing_closes_over_a_traced_value():
    # Binding a staged cond runs the branch its example picks; the other branch's closure
    # was not seen, and its tracer leaked into the program until that branch was taken.
    def f(x0, x1):
        return lax.cond(anp.sum(x0) > 0.3, lambda u: u * x1[0], lambda u: anp.cos(u), x0)

    x1 = np.array([1.5, 2.0])
    jf = ad.jit(f)
    lo, hi = np.array([0.1, 0.1]), np.array([0.2, 0.5])
    np.testing.assert_allclose(jf(lo, x1), np.cos(lo), rtol=1e-15)
    np.testing.assert_allclose(jf(hi, x1), hi * 1.5, rtol=1e-15)
    assert jf.trace_count == 1  # one program, both branches compiled
    np.testing.assert_allclose(ad.grad(lambda a: anp.sum(jf(hi, a)))(x1), [hi.sum(), 0.0])


def test_jit_cond_whose_untaken_branch_fails_on_the_examples_still_compiles():
    # Converting every branch up front runs each on the examples; a branch that fails there
    # (Cholesky of a matrix that is not positive definite) falls back to binding the taken
    # branch, as before.
    def f(A):
        return lax.cond(
            anp.linalg.det(A) > 0,
            lambda M: anp.sum(anp.linalg.cholesky(M)),
            lambda M: anp.sum(M),
            A,
        )

    pd, indefinite = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, 2.0], [2.0, 1.0]])
    jf = ad.jit(f)
    assert jf(indefinite) == 6.0
    np.testing.assert_allclose(jf(pd), np.sum(np.linalg.cholesky(pd)), rtol=1e-15)
    assert jf.trace_count == 1
