"""adgraph.scipy.sparse.linalg: cg, gmres and bicgstab against direct solves and SciPy, their
implicit derivatives against closed forms (both modes, second order), vmap, pytrees,
preconditioners, bounded reverse-mode memory and bad input."""

import tracemalloc

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.scipy.sparse.linalg import bicgstab, cg, gmres

RNG = np.random.default_rng(0)
N = 30
_Q = RNG.normal(size=(N, N))
SPD = _Q @ _Q.T / N + np.eye(N)
NONSYM = SPD + 0.3 * RNG.normal(size=(N, N))
B = RNG.normal(size=N)
SOLVERS = [("cg", cg, SPD), ("gmres", gmres, NONSYM), ("bicgstab", bicgstab, NONSYM)]
IDS = [s[0] for s in SOLVERS]


@pytest.mark.parametrize("name,solve,A", SOLVERS, ids=IDS)
def test_solution_matrix_function_and_operator(name, solve, A):
    want = np.linalg.solve(A, B)
    for op in (A, lambda v: A @ v):
        x, info = solve(op, B, tol=1e-10)
        assert info == 0
        assert np.allclose(x, want, rtol=1e-8, atol=1e-9)
    sla = pytest.importorskip("scipy.sparse.linalg")
    x, info = solve(sla.aslinearoperator(A), B, tol=1e-10)
    assert info == 0 and np.allclose(x, want, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name,solve,A", SOLVERS, ids=IDS)
def test_matches_scipy_at_loose_tolerance(name, solve, A):
    sla = pytest.importorskip("scipy.sparse.linalg")
    x, info = solve(A, B, tol=1e-6)
    ref, rinfo = getattr(sla, name)(A, B, rtol=1e-6)
    assert info == 0 and rinfo == 0
    # both met the same residual bound, so they agree to about that
    assert np.linalg.norm(A @ x - B) <= 1e-6 * np.linalg.norm(B) * (1 + 1e-9)
    assert np.allclose(x, ref, atol=1e-4)


@pytest.mark.parametrize("name,solve,A", SOLVERS, ids=IDS)
def test_reverse_and_forward_closed_forms(name, solve, A):
    x = np.linalg.solve(A, B)
    lam = np.linalg.solve(A.T, 2 * x)  # d|x|^2/db = A^{-T} 2x, d/dA = -lam x^T

    def loss(A, b):
        return anp.sum(solve(A, b, tol=1e-12)[0] ** 2)

    gA, gb = ad.grad(loss, argnums=(0, 1))(A, B)
    assert np.allclose(gb, lam, rtol=1e-7, atol=1e-9)
    assert np.allclose(gA, -np.outer(lam, x), rtol=1e-7, atol=1e-9)
    dA = RNG.normal(size=(N, N))
    _, t = ad.jvp(lambda A: solve(A, B, tol=1e-12)[0], (A,), (dA,))
    assert np.allclose(t, -np.linalg.solve(A, dA @ x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,solve,A", SOLVERS, ids=IDS)
def test_second_derivative_closure_over_traced_scalar(name, solve, A):
    # f(s) = sum((A + s I)^{-1} b): f'' = 2 1^T (A + s I)^{-3} b
    def f(s):
        return anp.sum(solve(lambda v: A @ v + s * v, B, tol=1e-12)[0])

    As = A + 0.5 * np.eye(N)
    inv = np.linalg.inv(As)
    assert np.isclose(ad.grad(f)(0.5), -np.sum(inv @ inv @ B), rtol=1e-7)
    assert np.isclose(ad.grad(ad.grad(f))(0.5), 2 * np.sum(inv @ inv @ inv @ B), rtol=1e-6)


@pytest.mark.parametrize("name,solve,A", SOLVERS, ids=IDS)
def test_vmap_and_jit(name, solve, A):
    bs = np.stack([B, 2 * B, RNG.normal(size=N)])
    xs, info = ad.vmap(lambda b: solve(A, b, tol=1e-10))(bs)
    assert np.array_equal(np.asarray(info), [0, 0, 0])
    assert np.allclose(xs, np.linalg.solve(A, bs.T).T, atol=1e-8)
    g = ad.jit(ad.grad(lambda b: anp.sum(solve(A, b, tol=1e-12)[0])))(B)
    assert np.allclose(g, np.linalg.solve(A.T, np.ones(N)), atol=1e-8)


def test_pytree_right_hand_side():
    def op(v):
        return {"a": 3.0 * v["a"] + v["b"][0], "b": v["b"] * 2.0 + v["a"]}

    b = {"a": np.array(1.0), "b": np.array([2.0])}
    # 3a + b = 1, a + 2b = 2 -> a = 0, b = 1
    for solve in (cg, gmres, bicgstab):
        x, info = solve(op, b, tol=1e-12)
        assert info == 0
        assert np.isclose(x["a"], 0.0, atol=1e-10) and np.allclose(x["b"], [1.0])


def test_preconditioner_and_start():
    D = np.diag(np.linspace(1.0, 1e4, N))  # ill-conditioned: Jacobi fixes it at once
    x_plain, info_plain = cg(D, B, tol=1e-10, maxiter=5)
    assert info_plain == 5
    x, info = cg(D, B, tol=1e-10, maxiter=5, M=np.diag(1 / np.diag(D)))
    assert info == 0 and np.allclose(x, B / np.diag(D))
    x, info = cg(SPD, B, x0=np.linalg.solve(SPD, B), tol=1e-10, maxiter=1)
    assert info == 0  # started at the solution


def test_reverse_memory_does_not_grow_with_iterations():
    n = 300
    Q = RNG.normal(size=(n, n))
    M = Q @ Q.T / n + 0.05 * np.eye(n)
    b = RNG.normal(size=n)

    def loss(s, tol):
        return anp.sum(cg(lambda v: M @ v + s * v, b, tol=tol)[0] ** 2)

    def peak(tol):
        ad.grad(loss)(0.5, tol)
        tracemalloc.start()
        g = ad.grad(loss)(0.5, tol)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p, g

    p_loose, _ = peak(1e-3)
    p_tight, g = peak(1e-12)
    assert abs(p_tight - p_loose) < 0.1 * p_loose
    Ms = M + 0.5 * np.eye(n)
    x = np.linalg.solve(Ms, b)
    assert np.isclose(g, -2 * x @ np.linalg.solve(Ms, x), rtol=1e-8)


def test_bad_input():
    with pytest.raises(ValueError, match="cg: A must be a square matrix"):
        cg(np.ones((3, 2)), np.ones(3))
    with pytest.raises(TypeError, match="cg: A must be a square matrix, a function"):
        cg("A", np.ones(3))
    with pytest.raises(TypeError, match="b leaf 0 has dtype int64"):
        cg(np.eye(3), np.ones(3, dtype=int))
    with pytest.raises(ValueError, match="maxiter must be a positive int"):
        bicgstab(np.eye(3), np.ones(3), maxiter=0)
    with pytest.raises(ValueError, match="tol must be at least 0"):
        gmres(np.eye(3), np.ones(3), tol=-1.0)
    with pytest.raises(ValueError, match="solve_method='incremental' is not available"):
        gmres(np.eye(3), np.ones(3), solve_method="incremental")
    with pytest.raises(ValueError, match="x0 must have b's structure"):
        cg(np.eye(3), np.ones(3), x0=np.ones(2))
