"""custom_root and custom_linear_solve: implicit derivatives against closed forms and
against differentiating the solution directly, in both modes, under vmap, and bounded
memory (the solver's iterations are never recorded)."""

import tracemalloc

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.test_util import check_grads


# ------------------------------------------------------------------ custom_root
def newton(f, x0, steps=30):
    x = x0
    for _ in range(steps):
        x = x - f(x) / ad.grad(f)(x)
    return x


def scalar_solve(g, y):
    return y / g(1.0)


def root_sqrt(a, steps=30):
    return lax.custom_root(
        lambda x: x**2 - a, 1.0, lambda f, x0: newton(f, x0, steps), scalar_solve
    )


def test_root_value_and_grad_closed_form():
    for a in (0.5, 4.0, 9.0):
        assert np.isclose(root_sqrt(a), np.sqrt(a))
        assert np.isclose(ad.grad(root_sqrt)(a), 1 / (2 * np.sqrt(a)))


def test_root_jvp_vjp_and_hessian():
    a = 4.0
    out, t = ad.jvp(root_sqrt, (a,), (3.0,))
    assert np.isclose(out, 2.0) and np.isclose(t, 3.0 / 4.0)
    _, pull = ad.vjp(root_sqrt, a)
    assert np.isclose(pull(2.0)[0], 2.0 / 4.0)
    assert np.isclose(ad.hessian(root_sqrt)(a), -0.25 * a**-1.5)
    assert np.isclose(ad.grad(ad.grad(root_sqrt))(a), -0.25 * a**-1.5)


def test_root_vmap_and_grad_of_vmap():
    a = np.array([1.0, 4.0, 9.0, 2.0])
    assert np.allclose(ad.vmap(root_sqrt)(a), np.sqrt(a))
    assert np.allclose(ad.vmap(ad.grad(root_sqrt))(a), 1 / (2 * np.sqrt(a)))
    g = ad.grad(lambda a: anp.sum(ad.vmap(root_sqrt)(a)))(a)
    assert np.allclose(g, 1 / (2 * np.sqrt(a)))


def test_root_equals_while_loop_gradient():
    def newton_sqrt(a):
        def body(c):
            x, _ = c
            x_new = 0.5 * (x + a / x)
            return x_new, anp.abs(x_new - x)

        return lax.while_loop(lambda c: c[1] > 1e-14, body, (a * 1.0, 1.0))[0]

    for a in (2.0, 7.0):
        assert np.isclose(ad.grad(newton_sqrt)(a), ad.grad(root_sqrt)(a))


def test_root_vector_pytree_with_parameters():
    # x* = solve of A x = sin(p) written as a root problem on a dict
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 3)) + 4 * np.eye(3)

    def f_of(p, A):
        return lambda x: {"v": A @ x["v"] + x["v"] ** 3 * 0.1 - anp.sin(p)}

    def solve(f, x0):
        return {"v": newton_vec(lambda v: f({"v": v})["v"], x0["v"])}

    def newton_vec(fv, v):
        for _ in range(40):
            v = v - anp.linalg.solve(ad.jacfwd(fv)(v), fv(v))
        return v

    def tangent_solve(g, y):
        J = ad.jacfwd(lambda v: g({"v": v})["v"])(y["v"])
        return {"v": anp.linalg.solve(J, y["v"])}

    def root(p, A):
        return lax.custom_root(f_of(p, A), {"v": np.zeros(3)}, solve, tangent_solve)["v"]

    p = np.array([0.3, -0.2, 0.5])
    x = root(p, A)
    assert np.allclose(A @ x + 0.1 * x**3, np.sin(p))
    # implicit function theorem by hand: dx/dp = (A + 0.3 diag(x^2))^{-1} diag(cos p)
    J = np.linalg.solve(A + 0.3 * np.diag(x**2), np.diag(np.cos(p)))
    assert np.allclose(ad.jacrev(root)(p, A), J)
    assert np.allclose(ad.jacfwd(root)(p, A), J)
    check_grads(lambda p, A: anp.sum(root(p, A) ** 2), (p, A), order=2, modes=("fwd", "rev"))


def test_root_check_grads():
    check_grads(root_sqrt, (3.0,), order=2, modes=("fwd", "rev"))


def test_root_initial_guess_has_no_derivative():
    def h(x0, a):
        return lax.custom_root(lambda x: x**2 - a, x0, newton, scalar_solve)

    assert ad.grad(h, (0, 1))(1.5, 4.0) == (0.0, 0.25)


def test_root_has_aux():
    def solve(f, x0):
        return newton(f, x0, 25), {"iterations": 25}

    def h(a):
        x, aux = lax.custom_root(lambda x: x**2 - a, 1.0, solve, scalar_solve, has_aux=True)
        assert aux["iterations"] == 25
        return x

    assert np.isclose(ad.grad(h)(4.0), 0.25)


def test_root_errors():
    with pytest.raises(ValueError, match=r"custom_root: f returned shape \[2\]"):
        lax.custom_root(lambda x: anp.stack([x, x]), 1.0, newton, scalar_solve)
    with pytest.raises(ValueError, match=r"custom_root: tangent_solve returned shape \[2\]"):
        ad.grad(
            lambda a: lax.custom_root(
                lambda x: x**2 - a, 1.0, newton, lambda g, y: anp.stack([y, y])
            )
        )(4.0)
    with pytest.raises(TypeError, match="custom_root: initial_guess leaf 0 has dtype int"):
        lax.custom_root(lambda x: x**2 - 4.0, 1, newton, scalar_solve)
    with pytest.raises(TypeError, match="solver uses a value traced"):
        # the solver reaches a traced value other than through f
        ad.grad(
            lambda a: lax.custom_root(
                lambda x: x**2 - a, 1.0, lambda f, x0: x0 * 0 + anp.sqrt(a), scalar_solve
            )
        )(4.0)


# ------------------------------------------------------------------ custom_linear_solve
rng = np.random.default_rng(0)
A_NS = rng.normal(size=(3, 3)) + 3 * np.eye(3)
A_SYM = A_NS @ A_NS.T
B = rng.normal(size=3)


def dense_solve(mv, r):
    return anp.linalg.solve(ad.jacfwd(mv)(r), r)


def cg(mv, r, iters=3):
    """Conjugate gradients (exact for 3x3 SPD in 3 steps, up to rounding)."""
    x = anp.zeros_like(r)
    res = r - mv(x)
    p = res
    for _ in range(iters):
        rr = anp.sum(res * res)
        Ap = mv(p)
        alpha = rr / anp.sum(p * Ap)
        x = x + alpha * p
        res = res - alpha * Ap
        p = res + anp.sum(res * res) / rr * p
    return x


def lin(A, b, symmetric):
    if symmetric:
        x = lax.custom_linear_solve(lambda x: A @ x, b, cg, symmetric=True)
    else:
        x = lax.custom_linear_solve(lambda x: A @ x, b, dense_solve, transpose_solve=dense_solve)
    return anp.sum(anp.sin(x))


def lin_ref(A, b):
    return anp.sum(anp.sin(anp.linalg.solve(A, b)))


@pytest.mark.parametrize("symmetric", [False, True])
def test_linear_solve_against_linalg_solve(symmetric):
    A = A_SYM if symmetric else A_NS
    assert np.isclose(lin(A, B, symmetric), lin_ref(A, B))
    gA, gb = ad.grad(lin, (0, 1))(A, B, symmetric)
    rA, rb = ad.grad(lin_ref, (0, 1))(A, B)
    assert np.allclose(gA, rA) and np.allclose(gb, rb)
    dA = rng.normal(size=(3, 3))
    t = ad.jvp(lambda A: lin(A, B, symmetric), (A,), (dA,))[1]
    assert np.isclose(t, ad.jvp(lambda A: lin_ref(A, B), (A,), (dA,))[1])
    assert np.allclose(
        ad.hessian(lambda b: lin(A, b, symmetric))(B), ad.hessian(lambda b: lin_ref(A, b))(B)
    )
    bs = np.stack([B, 2 * B, -B])
    assert np.allclose(ad.vmap(lambda b: lin(A, b, symmetric))(bs), [lin_ref(A, b) for b in bs])
    As = np.stack([A, 2 * A])
    assert np.allclose(ad.vmap(lambda A: lin(A, B, symmetric))(As), [lin_ref(a, B) for a in As])
    if symmetric:  # finite differences must keep the matrix symmetric
        check_grads(lambda L, b: lin(L @ L.T, b, True), (A_NS, B), order=2, modes=("fwd", "rev"))
    else:
        check_grads(lambda A, b: lin(A, b, False), (A, B), order=2, modes=("fwd", "rev"))


def test_linear_solve_has_aux_and_pytree():
    def solve(mv, r):
        return {"u": dense_solve(lambda u: mv({"u": u})["u"], r["u"])}, "done"

    def h(b):
        x, aux = lax.custom_linear_solve(
            lambda x: {"u": A_SYM @ x["u"]}, {"u": b}, solve, symmetric=True, has_aux=True
        )
        assert aux == "done"
        return anp.sum(x["u"] ** 2)

    x = np.linalg.solve(A_SYM, B)
    assert np.isclose(h(B), x @ x)
    assert np.allclose(ad.grad(h)(B), 2 * np.linalg.solve(A_SYM.T, x))


def test_linear_solve_errors():
    with pytest.raises(ValueError, match="reverse mode needs transpose_solve"):
        ad.grad(lambda b: anp.sum(lax.custom_linear_solve(lambda x: A_NS @ x, b, dense_solve)))(B)
    # forward mode needs no transpose_solve
    t = ad.jvp(lambda b: lax.custom_linear_solve(lambda x: A_NS @ x, b, dense_solve), (B,), (B,))[1]
    assert np.allclose(t, np.linalg.solve(A_NS, B))
    with pytest.raises(ValueError, match=r"custom_linear_solve: matvec returned shape \[2\]"):
        lax.custom_linear_solve(lambda x: x[:2], B, dense_solve)
    with pytest.raises(ValueError, match=r"custom_linear_solve: solve returned shape \[2\]"):
        lax.custom_linear_solve(lambda x: A_NS @ x, B, lambda mv, r: r[:2])


# ------------------------------------------------------------------ memory
def test_reverse_memory_does_not_grow_with_solver_iterations():
    n = 200
    M = np.eye(n) * 4 + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)

    def richardson(iters):
        # converges for the eigenvalues of M + s I, which lie in (2 + s, 6 + s)
        def solve(mv, r):
            x = anp.zeros_like(r)
            for _ in range(iters):
                x = x + (r - mv(x)) / 6.5
            return x

        return solve

    def loss(s, iters):
        x = lax.custom_linear_solve(
            lambda x: M @ x + s * x, np.ones(n), richardson(iters), symmetric=True
        )
        return anp.sum(x**2)

    def peak(iters):
        ad.grad(loss)(0.5, iters)  # warm caches
        tracemalloc.start()
        g = ad.grad(loss)(0.5, iters)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p, g

    p10, _ = peak(10)
    p1000, g = peak(1000)
    assert abs(p1000 - p10) < 0.1 * p10
    # and the gradient is right: x = (M + s I)^{-1} 1, d/ds |x|^2 = -2 x^T (M + s I)^{-1} x
    Ms = M + 0.5 * np.eye(n)
    x = np.linalg.solve(Ms, np.ones(n))
    assert np.isclose(g, -2 * x @ np.linalg.solve(Ms, x))


def test_under_jit():
    assert np.isclose(ad.jit(root_sqrt)(4.0), 2.0)
    assert np.isclose(ad.jit(ad.grad(root_sqrt))(9.0), 1 / 6)
    g = ad.jit(ad.grad(lambda b: lin(A_NS, b, False)))(B)
    assert np.allclose(g, ad.grad(lambda b: lin_ref(A_NS, b))(B))


def test_homogenization_cg_differentiates_implicitly():
    # the FFT solver's CG is a custom_linear_solve: derivatives through it are exact, and
    # reverse mode's memory does not grow with its iterations (tolerance 1e-4 vs 1e-12)
    from adgraph.examples.homogenization.solvers import cg

    rng = np.random.default_rng(3)
    n = 150
    Q = rng.normal(size=(n, n))
    M = Q @ Q.T / n + 0.1 * np.eye(n)
    b = rng.normal(size=n)

    def loss(s, tol):
        x, hist, ok = cg(lambda v: M @ v + s * v, b * s, tol, 5000)
        return anp.sum(x**2), len(hist)

    def peak(tol):
        ad.grad(lambda s: loss(s, tol)[0])(0.5)  # warm caches
        tracemalloc.start()
        g = ad.grad(lambda s: loss(s, tol)[0])(0.5)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p, g

    _, it_loose = loss(0.5, 1e-4)
    _, it_tight = loss(0.5, 1e-12)
    assert it_tight > 2 * it_loose
    p_loose, _ = peak(1e-4)
    p_tight, g = peak(1e-12)
    assert abs(p_tight - p_loose) < 0.1 * p_loose
    # x = s (M + s I)^{-1} b: dx/ds = (M + s I)^{-1} (b - x), d|x|^2/ds = 2 x . dx/ds
    Ms = M + 0.5 * np.eye(n)
    x = 0.5 * np.linalg.solve(Ms, b)
    assert np.isclose(g, 2 * x @ np.linalg.solve(Ms, b - x), rtol=1e-8)
    t = ad.jvp(lambda s: loss(s, 1e-12)[0], (0.5,), (1.0,))[1]
    assert np.isclose(t, g, rtol=1e-8)
