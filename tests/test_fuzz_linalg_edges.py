"""Edge cases of the linear algebra: empty (0x0) matrices, singular equations that must
be refused rather than answered with rounding, checked against closed forms, NumPy's and
SciPy's own values and central differences."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

L = anp.linalg
E0 = np.zeros((0, 0))
E2 = np.zeros((2, 0, 0))


def _sum_grad(f, x):
    return np.asarray(ad.grad(lambda a: anp.sum(anp.real(f(a))))(x))


# ------------------------------------------------------------------ empty matrices
@pytest.mark.parametrize("x", [E0, E2], ids=["0x0", "2x0x0"])
def test_det_of_empty_matrix_is_one_with_an_empty_gradient(x):
    np.testing.assert_array_equal(L.det(x), np.linalg.det(x))
    g = _sum_grad(L.det, x)
    assert g.shape == x.shape


@pytest.mark.parametrize("x", [E0, E2], ids=["0x0", "2x0x0"])
@pytest.mark.parametrize(
    "f",
    [
        lambda a: L.eigh(a)[1],
        lambda a: L.svd(a)[0],
        lambda a: L.eig(a)[1],
        lambda a: L.eigvals(a),
        lambda a: L.norm(a, axis=(-2, -1)),
    ],
    ids=["eigh", "svd", "eig", "eigvals", "norm"],
)
def test_derivatives_of_empty_matrices_are_empty(f, x):
    g = _sum_grad(f, x)
    assert g.shape == x.shape


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, 1, np.inf])
@pytest.mark.parametrize("shp", [(0, 0), (3, 0), (0, 3), (2, 0, 0)])
def test_norm_of_empty_matrix_is_zero_as_numpy(ord, shp):
    x = np.zeros(shp)
    want = np.linalg.norm(x, ord, axis=(-2, -1))
    np.testing.assert_array_equal(L.norm(x, ord, axis=(-2, -1)), want)
    assert _sum_grad(lambda a: L.norm(a, ord, axis=(-2, -1)), x).shape == shp


def test_vector_inf_norm_of_empty_vector_is_zero():
    assert float(L.norm(np.zeros(0), np.inf)) == np.linalg.norm(np.zeros(0), np.inf) == 0.0


def test_cond_of_empty_matrix_refused_as_numpy():
    with pytest.raises(np.linalg.LinAlgError, match="empty"):
        L.cond(E0)


def test_scipy_matrix_functions_of_empty_matrix():
    asl = pytest.importorskip("adgraph.scipy.linalg")
    for f in (asl.sqrtm, lambda a: asl.polar(a)[0], asl.expm):
        assert f(E0).shape == (0, 0)
        assert _sum_grad(f, E0).shape == (0, 0)


# ------------------------------------------------------------------ singular Sylvester
def test_solve_sylvester_refuses_a_singular_equation():
    pytest.importorskip("scipy")
    import adgraph.scipy.linalg as asl

    # eigenvalue 1 of A and -1 of B: AX + XB = Q has no (unique) solution; LAPACK's
    # perturbed answer was ~1.5e15 in X[0, 0]
    a, b, q = np.diag([1.0, 2.0]), np.diag([-1.0, 3.0]), np.ones((2, 2))
    with pytest.raises(np.linalg.LinAlgError, match="no unique solution"):
        asl.solve_sylvester(a, b, q)
    with pytest.raises(np.linalg.LinAlgError, match="no unique solution"):
        asl.solve_continuous_lyapunov(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.eye(2))


def test_solve_sylvester_near_singular_keeps_the_exact_value_and_derivative():
    pytest.importorskip("scipy")
    import adgraph.scipy.linalg as asl

    d = 1e-6
    a, b, q = np.diag([1.0, 2.0]), np.diag([-1.0 + d, 3.0]), np.ones((2, 2))
    # diagonal A, B: X_ij = Q_ij / (a_i + b_j)
    want = 1.0 / (np.diag(a)[:, None] + np.diag(b)[None, :])
    np.testing.assert_allclose(asl.solve_sylvester(a, b, q), want, rtol=1e-9)
    # d X_00 / d b_00 = -1 / (a_0 + b_0)^2
    g = ad.grad(lambda b_: asl.solve_sylvester(a, b_, q)[0, 0])(b)
    np.testing.assert_allclose(g[0, 0], -1.0 / d**2, rtol=1e-6)


def test_solve_sylvester_matches_scipy_on_stacks_and_complex():
    sl = pytest.importorskip("scipy.linalg")
    import adgraph.scipy.linalg as asl

    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    b = rng.standard_normal((2, 2))
    q = rng.standard_normal((3, 2))
    np.testing.assert_allclose(asl.solve_sylvester(a, b, q), sl.solve_sylvester(a, b, q))
    a32 = a.real.astype(np.float32)
    out = asl.solve_sylvester(a32, b.astype(np.float32), q.astype(np.float32))
    assert out.dtype == np.float32


# ------------------------------------------------------------------ jit: values that decide
A_REAL_EIG = np.array([[2.0, 1.0], [0.0, 3.0]])
A_COMPLEX_EIG = np.array([[0.5, 1.0], [-1.0, 0.0]])
A_NEG_EIG = np.array([[-4.0, 1.0], [0.0, 9.0]])


def test_jit_grad_eigvals_when_eigenvalues_turn_complex():
    # sum(Re w^3) = tr(A^3): its gradient is 3 (A^2)^T, real for a real A
    f = ad.jit(ad.grad(lambda a: anp.real(anp.sum(L.eigvals(a) ** 3))))
    for a in (A_REAL_EIG, A_COMPLEX_EIG, A_REAL_EIG):
        g = np.asarray(f(a))
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, 3 * (a @ a).T, atol=1e-12)


def test_jit_funm_keeps_the_imaginary_part_of_a_later_complex_result():
    sl = pytest.importorskip("scipy.linalg")
    import adgraph.scipy.linalg as asl

    f = ad.jit(lambda a: asl.funm(a, anp.sqrt))
    np.testing.assert_allclose(f(A_REAL_EIG), sl.funm(A_REAL_EIG, np.sqrt))
    got = f(A_NEG_EIG)
    assert np.iscomplexobj(got)
    np.testing.assert_allclose(got, sl.funm(A_NEG_EIG, np.sqrt), atol=1e-12)
    np.testing.assert_allclose(got @ got, A_NEG_EIG, atol=1e-12)


def test_jit_grad_logm_real_part_when_the_log_turns_complex():
    sl = pytest.importorskip("scipy.linalg")
    import adgraph.scipy.linalg as asl

    f = ad.jit(ad.grad(lambda a: anp.sum(anp.real(asl.logm(a)))))
    f(A_REAL_EIG)
    g = np.asarray(f(A_NEG_EIG))
    assert g.dtype == np.float64
    h = 1e-6
    fd = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            e = np.zeros((2, 2))
            e[i, j] = h
            fp = np.sum(sl.logm(A_NEG_EIG + e).real)
            fm = np.sum(sl.logm(A_NEG_EIG - e).real)
            fd[i, j] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-6)


def test_jit_eig_derivative_refuses_a_defective_matrix_given_after_tracing():
    f = ad.jit(ad.grad(lambda a: anp.real(anp.sum(L.eigvals(a) ** 2))))
    np.testing.assert_allclose(f(A_REAL_EIG), 2 * A_REAL_EIG.T)
    with pytest.raises(np.linalg.LinAlgError, match="defective"):
        f(np.array([[1.0, 1.0], [0.0, 1.0]]))


def test_jit_lstsq_residuals_follow_the_rank():
    f = ad.jit(lambda a: L.lstsq(a, np.array([1.0, 2.0, 4.0]))[1])
    full = np.ones((3, 2)) + np.eye(3, 2)
    low = np.ones((3, 2))
    for a in (full, low, full):
        want = np.linalg.lstsq(a, np.array([1.0, 2.0, 4.0]))[1]
        got = np.asarray(f(a))
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want)


# ------------------------------------------------------------------ polar, ill-conditioned
def _q(seed, n=3):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


@pytest.mark.parametrize("smin", [1e-5, 1e-8, 1e-11, 0.0])
def test_polar_of_ill_conditioned_square_matrix_is_exact(smin):
    pytest.importorskip("scipy")
    import adgraph.scipy.linalg as asl

    q1, q2 = _q(0), _q(1)
    s = np.array([1.0, 0.5, smin])
    a = q1 @ np.diag(s) @ q2.T
    # A = Q1 S Q2^T: U = Q1 Q2^T, P = Q2 S Q2^T (right), Q1 S Q1^T (left). U through
    # (A^T A)^{1/2} was 0.15 off at smin = 1e-8 and 2e5 off at 1e-11
    right = lambda x: asl.polar(x)  # noqa: E731
    left = lambda x: asl.polar(x, "left")  # noqa: E731
    for f, g in ((right, left), (ad.jit(right), ad.jit(left))):
        u, p = f(a)
        np.testing.assert_allclose(p, q2 @ np.diag(s) @ q2.T, atol=1e-12)
        np.testing.assert_allclose(u @ p, a, atol=1e-12)
        np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
        if smin:  # unique; at smin = 0 the last singular pair's sign is free
            np.testing.assert_allclose(u, q1 @ q2.T, atol=1e-12)
        u, p = g(a)
        np.testing.assert_allclose(p, q1 @ np.diag(s) @ q1.T, atol=1e-12)
        np.testing.assert_allclose(p @ u, a, atol=1e-12)
        np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
        if smin:
            np.testing.assert_allclose(u, q1 @ q2.T, atol=1e-12)


def test_polar_derivative_at_repeated_singular_values_and_refused_at_singular():
    sl = pytest.importorskip("scipy.linalg")
    import adgraph.scipy.linalg as asl
    from adgraph.ops.linalg.matfun import NoDerivativeError

    w = np.arange(9.0).reshape(3, 3)
    a = _q(2)  # orthogonal: every singular value 1
    g = np.asarray(ad.grad(lambda x: anp.sum(asl.polar(x)[0] * w))(a))
    h = 1e-6
    fd = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = h
            fd[i, j] = (np.sum(sl.polar(a + e)[0] * w) - np.sum(sl.polar(a - e)[0] * w)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)
    with pytest.raises(NoDerivativeError, match="singular"):
        ad.grad(lambda x: anp.sum(asl.polar(x)[0]))(np.diag([3.0, 1.0, 0.0]))


# ------------------------------------------------------------------ discrete Lyapunov
@pytest.mark.parametrize("lam", [-0.9, -1 + 1e-7, -1 + 1e-10])
def test_solve_discrete_lyapunov_near_eigenvalue_minus_one(lam):
    pytest.importorskip("scipy")
    import adgraph.scipy.linalg as asl

    # diagonal A: X_ij = Q_ij / (1 - a_i a_j); the bilinear transform lost eps / |1 + lam|
    a = np.diag([lam, 0.5])
    q = np.array([[1.0, 0.3], [0.3, 1.0]])
    want = q / (1 - np.outer(np.diag(a), np.diag(a)))
    np.testing.assert_allclose(asl.solve_discrete_lyapunov(a, q), want, rtol=1e-13)
    # d X_11 / d a_11 = 2 a_11 Q_11 / (1 - a_11^2)^2 at a diagonal A
    g = ad.grad(lambda x: asl.solve_discrete_lyapunov(x, q)[1, 1])(a)
    np.testing.assert_allclose(g[1, 1], 2 * 0.5 / (1 - 0.25) ** 2, rtol=1e-12)


# ------------------------------------------------------------------ LU at rank n-1
def test_lu_derivative_at_a_singular_matrix_with_a_zero_last_pivot():
    sl = pytest.importorskip("scipy.linalg")
    import adgraph.scipy.linalg as asl

    # rank 2, no pivoting, U[2, 2] exactly 0: L and U are smooth functions of A there
    a = np.array([[4.0, 1.0, 2.0], [2.0, 3.0, 1.0], [0.0, 0.0, 0.0]])
    a[2] = 0.25 * a[0] + 0.5 * a[1]
    assert sl.lu(a)[2][2, 2] == 0.0
    w = np.arange(1.0, 10.0).reshape(3, 3)

    def f_np(x):
        _, l_, u = sl.lu(x)
        return np.sum(l_ * w) + np.sum(u * w.T)

    g = np.asarray(
        ad.grad(lambda x: (lambda p, l_, u: anp.sum(l_ * w) + anp.sum(u * w.T))(*asl.lu(x)))(a)
    )
    h = 1e-6
    fd = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = h
            fd[i, j] = (f_np(a + e) - f_np(a - e)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)
    # forward mode agrees
    jf = np.asarray(ad.jacfwd(lambda x: asl.lu(x)[2])(a))
    jr = np.asarray(ad.jacrev(lambda x: asl.lu(x)[2])(a))
    np.testing.assert_allclose(jf, jr, atol=1e-12)


def test_qr_derivative_at_a_rank_deficient_matrix_is_refused():
    # Q's columns past the rank are not determined by A: the rules' R^{-1} gave numbers of
    # order 1e15 (grad of sum(Q) at a 4x3 matrix of rank 2); now refused, also when a
    # compiled gradient meets such a matrix after tracing a full-rank one.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 3))
    f = lambda m: anp.sum(anp.linalg.qr(m)[0])  # noqa: E731
    for t in (ad.grad, ad.jacfwd):
        with pytest.raises(np.linalg.LinAlgError, match="rank-deficient"):
            t(f)(a)
    full = rng.standard_normal((4, 3))
    g = ad.jit(ad.grad(f))
    h = 1e-6
    e = np.zeros_like(full)
    e[1, 2] = h
    fd = (np.sum(np.linalg.qr(full + e)[0]) - np.sum(np.linalg.qr(full - e)[0])) / (2 * h)
    assert abs(g(full)[1, 2] - fd) < 1e-7
    with pytest.raises(np.linalg.LinAlgError, match="rank-deficient"):
        g(a)
