"""adgraph.scipy.linalg: SciPy's values on random inputs, derivatives against finite
differences (check_grads: forward, reverse, second order) and closed forms."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.test_util import check_grads


@pytest.fixture(autouse=True)
def _compiled_and_batched_checks():
    """Every check_grads here also compares jit with eager and vmap with a loop."""
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.update({"jit", "vmap"})
    yield
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


sl = pytest.importorskip("scipy.linalg")
al = pytest.importorskip("adgraph.scipy.linalg")

rng = np.random.default_rng(3)
A = rng.standard_normal((4, 4))
S = A @ A.T + 4 * np.eye(4)  # symmetric positive definite
B = rng.standard_normal((4, 2))
E = rng.standard_normal((4, 4))
Q = rng.standard_normal((4, 3))
B3 = rng.standard_normal((3, 3))
C4 = rng.standard_normal(4)
R3 = rng.standard_normal(3)
AB = rng.standard_normal((4, 4))  # band storage, (l, u) = (1, 2)
I4 = 3 * np.eye(4)


def close(ours, ref):
    if isinstance(ref, tuple):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref):
            close(o, r)
    else:
        assert np.allclose(np.asarray(ours), np.asarray(ref), atol=1e-10)


# name, adgraph call, SciPy call, differentiable arguments (None: values only)
CASES = [
    ("expm", lambda m: al.expm(m), lambda m: sl.expm(m), (A * 0.5,)),
    ("logm", lambda m: al.logm(m), lambda m: sl.logm(m), (S,)),
    ("sqrtm", lambda m: al.sqrtm(m), lambda m: sl.sqrtm(m), (S,)),
    (
        "fractional_matrix_power",
        lambda m: al.fractional_matrix_power(m, 0.3),
        lambda m: sl.fractional_matrix_power(m, 0.3),
        (S,),
    ),
    (
        "fractional_matrix_power_neg",
        lambda m: al.fractional_matrix_power(m, -1.7),
        lambda m: sl.fractional_matrix_power(m, -1.7),
        (S,),
    ),
    (
        "solve_discrete_lyapunov",
        al.solve_discrete_lyapunov,
        sl.solve_discrete_lyapunov,
        (0.3 * A, E),
    ),
    ("eigvalsh_tridiagonal", al.eigvalsh_tridiagonal, sl.eigvalsh_tridiagonal, (C4, R3)),
    ("cosm", lambda m: al.cosm(m), lambda m: sl.cosm(m), (A * 0.5,)),
    ("sinm", lambda m: al.sinm(m), lambda m: sl.sinm(m), (A * 0.5,)),
    ("tanm", lambda m: al.tanm(m), lambda m: sl.tanm(m), (A * 0.2,)),
    ("coshm", lambda m: al.coshm(m), lambda m: sl.coshm(m), (A * 0.5,)),
    ("sinhm", lambda m: al.sinhm(m), lambda m: sl.sinhm(m), (A * 0.5,)),
    ("tanhm", lambda m: al.tanhm(m), lambda m: sl.tanhm(m), (A * 0.5,)),
    (
        "expm_frechet",
        lambda a, e: al.expm_frechet(a, e),
        lambda a, e: sl.expm_frechet(a, e),
        (A * 0.5, E),
    ),
    ("solve", al.solve, sl.solve, (A, B)),
    (
        "solve_T",
        lambda a, b: al.solve(a, b, transposed=True),
        lambda a, b: sl.solve(a, b, transposed=True),
        (A, B),
    ),
    *[
        (
            f"solve_{k}_{lo}",
            (lambda k, lo: lambda a, b: al.solve(a, b, assume_a=k, lower=lo))(k, lo),
            (lambda k, lo: lambda a, b: sl.solve(a, b, assume_a=k, lower=lo))(k, lo),
            (S if k == "pos" else A + 4 * np.eye(4), B),
        )
        for k in (
            "sym",
            "her",
            "pos",
            "diagonal",
            "tridiagonal",
            "upper triangular",
            "lower triangular",
        )
        for lo in (False, True)
    ],
    *[
        (
            f"solve_triangular_{t}_{lo}_{u}",
            (
                lambda t, lo, u: (
                    lambda a, b: al.solve_triangular(a, b, trans=t, lower=lo, unit_diagonal=u)
                )
            )(t, lo, u),
            (
                lambda t, lo, u: (
                    lambda a, b: sl.solve_triangular(a, b, trans=t, lower=lo, unit_diagonal=u)
                )
            )(t, lo, u),
            (A + 4 * np.eye(4), B),
        )
        for t in (0, 1, 2)
        for lo in (False, True)
        for u in (False, True)
    ],
    ("cholesky", al.cholesky, sl.cholesky, (S,)),
    (
        "cholesky_lower",
        lambda s: al.cholesky(s, lower=True),
        lambda s: sl.cholesky(s, lower=True),
        (S,),
    ),
    (
        "cho_solve_U",
        lambda s, b: al.cho_solve(al.cho_factor(s), b),
        lambda s, b: sl.cho_solve(sl.cho_factor(s), b),
        (S, B),
    ),
    (
        "cho_solve_L",
        lambda s, b: al.cho_solve(al.cho_factor(s, lower=True), b),
        lambda s, b: sl.cho_solve(sl.cho_factor(s, lower=True), b),
        (S, B),
    ),
    ("lu", lambda a: al.lu(a), lambda a: sl.lu(a), (A,)),
    ("lu_permute_l", lambda a: al.lu(a, permute_l=True), lambda a: sl.lu(a, permute_l=True), (A,)),
    ("lu_factor", lambda a: al.lu_factor(a)[0], lambda a: sl.lu_factor(a)[0], (A,)),
    *[
        (
            f"lu_solve_{t}",
            (lambda t: lambda a, b: al.lu_solve(al.lu_factor(a), b, trans=t))(t),
            (lambda t: lambda a, b: sl.lu_solve(sl.lu_factor(a), b, trans=t))(t),
            (A, B),
        )
        for t in (0, 1, 2)
    ],
    (
        "solve_banded",
        lambda ab, b: al.solve_banded((1, 2), ab, b),
        lambda ab, b: sl.solve_banded((1, 2), ab, b),
        (AB + np.array([[0], [0], [5], [0]]), B),
    ),
    ("solve_sylvester", al.solve_sylvester, sl.solve_sylvester, (A, B3, Q)),
    (
        "solve_continuous_lyapunov",
        al.solve_continuous_lyapunov,
        sl.solve_continuous_lyapunov,
        (A - 3 * np.eye(4), E),
    ),
    ("polar", lambda a: al.polar(a), lambda a: sl.polar(a), (A,)),
    ("polar_left", lambda a: al.polar(a, "left"), lambda a: sl.polar(a, "left"), (A,)),
    ("polar_rect", lambda a: al.polar(a), lambda a: sl.polar(a), (Q,)),
    ("qr_full", lambda a: al.qr(a), lambda a: sl.qr(a), (A,)),
    ("qr_economic", lambda a: al.qr(a, mode="economic"), lambda a: sl.qr(a, mode="economic"), (Q,)),
    ("qr_r", lambda a: al.qr(a, mode="r"), lambda a: sl.qr(a, mode="r"), (Q,)),
    ("svdvals", al.svdvals, sl.svdvals, (Q,)),
    (
        "eigh_vals",
        lambda s: al.eigh(s, eigvals_only=True),
        lambda s: sl.eigh(s, eigvals_only=True),
        (S,),
    ),
    (
        "eigh_subset",
        lambda s: al.eigvalsh(s, subset_by_index=[1, 2]),
        lambda s: sl.eigvalsh(s, subset_by_index=[1, 2]),
        (S,),
    ),
    ("eigvals", al.eigvals, sl.eigvals, (A,)),
    (
        "eigh_tridiagonal",
        lambda d, e: al.eigh_tridiagonal(d, e, eigvals_only=True),
        lambda d, e: sl.eigh_tridiagonal(d, e, eigvals_only=True),
        (C4, R3),
    ),
    ("toeplitz", al.toeplitz, sl.toeplitz, (C4, R3)),
    ("toeplitz1", al.toeplitz, sl.toeplitz, (C4,)),
    ("hankel", al.hankel, sl.hankel, (C4, R3)),
    ("circulant", al.circulant, sl.circulant, (C4,)),
    ("companion", al.companion, sl.companion, (C4,)),
    ("leslie", al.leslie, sl.leslie, (C4, R3)),
    ("fiedler_companion", al.fiedler_companion, sl.fiedler_companion, (np.r_[C4, 1.0, 2.0],)),
    *[
        (
            f"convolution_matrix_{m}_{n}",
            (lambda m, n: lambda a: al.convolution_matrix(a, n, m))(m, n),
            (lambda m, n: lambda a: sl.convolution_matrix(a, n, m))(m, n),
            (C4,),
        )
        for m in ("full", "same", "valid")
        for n in (2, 4, 6)
    ],
    (
        "block_diag",
        lambda a, c, q: al.block_diag(a, c, q),
        lambda a, c, q: sl.block_diag(a, c, q),
        (A, C4, Q),
    ),
    ("khatri_rao", al.khatri_rao, sl.khatri_rao, (A, Q.T @ E)),
]


# checked to first order (their second derivatives are the same rules again, and finite
# differences of the nested block-matrix functions are too noisy to be a fair reference)
SLOW = ("logm", "sqrtm", "fractional", "polar", "tanm", "tanhm", "expm_frechet", "lu_solve")


@pytest.mark.parametrize("name, ours, ref, args", CASES, ids=[c[0] for c in CASES])
def test_values_and_derivatives(name, ours, ref, args):
    close(ours(*args), ref(*args))
    order = 1 if name.startswith(SLOW) else 2
    check_grads(ours, args, order=order)


def test_values_only_functions():
    close(al.schur(A), sl.schur(A))
    close(al.schur(A, output="complex"), sl.schur(A, output="complex"))
    close(al.hessenberg(A, calc_q=True), sl.hessenberg(A, calc_q=True))
    for n in ("hilbert", "invhilbert", "pascal", "invpascal", "dft", "helmert", "hadamard"):
        close(getattr(al, n)(4), getattr(sl, n)(4))
    with pytest.raises(ValueError, match="schur has no derivative"):
        ad.grad(lambda a: anp.sum(al.schur(a)[0]))(A)
    with pytest.raises(ValueError, match="hessenberg has no derivative"):
        ad.jvp(lambda a: al.hessenberg(a), (A,), (E,))


def test_generalised_eigenvectors_and_values_against_scipy():
    x = rng.standard_normal((4, 4))
    b = np.eye(4) + 0.1 * x @ x.T
    w, v = al.eigh(S, b)
    w0, v0 = sl.eigh(S, b)
    assert np.allclose(w, w0) and np.allclose(np.abs(v), np.abs(v0))
    assert np.allclose(v.T @ b @ v, np.eye(4))
    check_grads(lambda a, b: anp.abs(al.eigh(a, b)[1]) ** 2, (S, b), order=1)
    check_grads(lambda a, b: al.eigh(a, b, eigvals_only=True), (S, b), order=2)


def test_closed_forms():
    # expm's derivative is SciPy's expm_frechet; reverse mode its transpose
    assert np.allclose(ad.jvp(al.expm, (A,), (E,))[1], sl.expm_frechet(A, E)[1])
    g = rng.standard_normal((4, 4))
    assert np.allclose(ad.vjp(al.expm, A)[1](g), sl.expm_frechet(A.T, g)[1])
    # sqrtm: S dS + dS S = dA
    s = sl.sqrtm(S)
    ds = ad.jvp(al.sqrtm, (S,), (E,))[1]
    assert np.allclose(s @ ds + ds @ s, E)
    # logm is expm's inverse: d logm(expm(X)) = dX
    x = 0.3 * (A + A.T)
    assert np.allclose(ad.jvp(lambda x: al.logm(al.expm(x)), (x,), (E,))[1], E)
    # polar at an orthogonal matrix (all singular values equal): finite, d p = sym(q^T dA)
    q = np.linalg.qr(A)[0]
    du, dp = ad.jvp(al.polar, (q,), (E,))[1]
    assert np.all(np.isfinite(du)) and np.allclose(dp, 0.5 * (q.T @ E + E.T @ q))
    # solve_triangular reads one triangle: the other gets a zero gradient
    g = ad.grad(lambda a: anp.sum(al.solve_triangular(a, B, lower=True)))(A + 4 * np.eye(4))
    assert np.all(np.triu(g, 1) == 0) and np.all(g[np.tril_indices(4)] != 0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="assume_a"):
        al.solve(A, B, assume_a="nonsense")
    with pytest.raises(ValueError, match="square"):
        al.expm(Q)
    with pytest.raises(ValueError, match="trans"):
        al.solve_triangular(A, B, trans=5)
    with pytest.raises(ValueError, match="ab of shape"):
        al.solve_banded((1, 1), AB, B)
    with pytest.raises(ValueError, match="pivoting"):
        al.qr(A, pivoting=True)
    with pytest.raises(ValueError, match="square"):
        ad.grad(lambda a: anp.sum(al.lu(a)[1]))(Q)


def test_pivots_are_recomputed_by_jit_and_vmap():
    a2 = rng.standard_normal((4, 4))
    for t in (0, 1, 2):
        f = lambda a: al.lu_solve(al.lu_factor(a), B, trans=t)  # noqa: E731
        jf = ad.jit(f)
        for a in (A, a2):
            close(jf(a), sl.lu_solve(sl.lu_factor(a), B, trans=t))
        close(ad.vmap(f)(np.stack([A, a2]))[1], sl.lu_solve(sl.lu_factor(a2), B, trans=t))
    assert np.array_equal(al.lu_factor(a2)[1], sl.lu_factor(a2)[1])
    assert np.array_equal(al.lu(a2, p_indices=True)[0], sl.lu(a2, p_indices=True)[0])


def test_error_estimates():
    for ours, ref in ((al.logm, sl.logm), (al.sqrtm, sl.sqrtm)):
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                o, r = ours(S, disp=False), ref(S, disp=False)
        close(o[0], r[0])
        assert np.isclose(o[1], r[1], rtol=1e-6, atol=1e-30)


def test_funm():
    a = 0.5 * A
    for f in (np.exp, np.cos, lambda x: x**2 + 1):
        close(al.funm(a, f), sl.funm(a, f))
    close(al.funm(S, np.sqrt), sl.funm(S, np.sqrt))
    check_grads(lambda a: al.funm(a, anp.exp), (a,), order=1)
    # funm(., exp) is expm: its derivative is the Frechet derivative
    assert np.allclose(
        ad.jvp(lambda a: al.funm(a, anp.exp), (a,), (E,))[1], sl.expm_frechet(a, E)[1]
    )
    with pytest.raises(ValueError, match="disp=False"):
        al.funm(a, np.exp, disp=False)
    with pytest.raises(ValueError, match="elementwise"):
        al.funm(a, np.sum)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_qr_multiply_and_rsf2csf(shape):
    a = rng.standard_normal(shape)
    m, k = shape[0], min(shape)
    for mode, c in (
        ("left", rng.standard_normal((k, 2))),
        ("right", rng.standard_normal((2, m))),
        ("left", rng.standard_normal(k)),
    ):
        close(al.qr_multiply(a, c, mode=mode), sl.qr_multiply(a, c, mode=mode))
        check_grads(lambda a, c: al.qr_multiply(a, c, mode=mode), (a, c), order=1)
    t, z = sl.schur(A)
    close(al.rsf2csf(t, z), sl.rsf2csf(t, z))
    with pytest.raises(ValueError, match="no derivative"):
        ad.grad(lambda t: anp.sum(anp.real(al.rsf2csf(t, z)[0])))(t)
    with pytest.raises(ValueError, match="does not fit"):
        al.qr_multiply(a, np.ones((7, 2)), mode="left")


AC = 0.5 * (rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4)))
HC = AC @ AC.conj().T + np.eye(4)  # Hermitian positive definite
BC = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))
COMPLEX_CASES = [
    ("expm", al.expm, sl.expm, (AC,)),
    ("logm", al.logm, sl.logm, (HC,)),
    ("sqrtm", al.sqrtm, sl.sqrtm, (HC,)),
    (
        "fractional_matrix_power",
        lambda a: al.fractional_matrix_power(a, 0.4),
        lambda a: sl.fractional_matrix_power(a, 0.4),
        (HC,),
    ),
    (
        "solve_triangular_C",
        lambda a, b: al.solve_triangular(a + I4, b, trans=2),
        lambda a, b: sl.solve_triangular(a + I4, b, trans=2),
        (AC, BC),
    ),
    (
        "cho_solve",
        lambda h, b: al.cho_solve(al.cho_factor(h), b),
        lambda h, b: sl.cho_solve(sl.cho_factor(h), b),
        (HC, BC),
    ),
    (
        "solve_her",
        lambda h, b: al.solve(h, b, assume_a="her"),
        lambda h, b: sl.solve(h, b, assume_a="her"),
        (HC, BC),
    ),
    (
        "solve_pos",
        lambda h, b: al.solve(h, b, assume_a="pos"),
        lambda h, b: sl.solve(h, b, assume_a="pos"),
        (HC, BC),
    ),
    (
        "lu_solve_C",
        lambda a, b: al.lu_solve(al.lu_factor(a), b, trans=2),
        lambda a, b: sl.lu_solve(sl.lu_factor(a), b, trans=2),
        (AC, BC),
    ),
    ("lu", al.lu, sl.lu, (AC,)),
    ("solve_sylvester", al.solve_sylvester, sl.solve_sylvester, (AC, HC, BC @ BC.conj().T)),
    ("polar", al.polar, sl.polar, (AC,)),
    (
        "eigh_generalised",
        lambda a, b: al.eigh(a, b, eigvals_only=True),
        lambda a, b: sl.eigh(a, b, eigvals_only=True),
        (HC, HC + np.eye(4)),
    ),
    ("funm", lambda a: al.funm(a, anp.exp), lambda a: sl.funm(a, np.exp), (AC,)),
    ("toeplitz", al.toeplitz, sl.toeplitz, (BC[:, 0],)),
]


@pytest.mark.parametrize("name, ours, ref, args", COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_values_and_derivatives(name, ours, ref, args):
    close(ours(*args), ref(*args))
    check_grads(ours, args, order=1)
