"""Linear algebra: values against numpy.linalg, derivatives against finite differences
(orders 1 and 2, both modes, float64 / float32 / complex), closed forms, gauge-invariant
checks of eigenvectors and singular vectors, and vmap against a loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.numpy.linalg as la
from adgraph.ops.linalg import __all__ as LINALG_ALL
from tests.ops.harness import check, check_all_dtypes

COVERED = {f"linalg.{n}" for n in LINALG_ALL if n != "LinAlgError"}


def _rng(seed):
    return np.random.default_rng(seed)


def wellcond(shape, dtype=np.float64, seed=0):
    """Random matrices (stack) dominated by a multiple of the identity."""
    rng = _rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    n = shape[-1]
    return (a + 2.0 * n**0.5 * np.eye(n)).astype(dtype)


def spd(shape, dtype=np.float64, seed=0):
    """Random Hermitian positive-definite matrices with well-separated eigenvalues."""
    rng = _rng(seed)
    n = shape[-1]
    q = np.linalg.qr(rng.standard_normal(shape[:-2] + (n, n)))[0]
    if np.dtype(dtype).kind == "c":
        q = np.linalg.qr(rng.standard_normal(q.shape) + 1j * rng.standard_normal(q.shape))[0]
    w = np.linspace(1.0, 3.0, n) + rng.uniform(0.0, 0.1, size=shape[:-2] + (n,))
    a = (q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))
    return a.astype(dtype)


def randm(shape, dtype=np.float64, seed=0):
    rng = _rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def sym_perturbation(a, seed=1):
    d = randm(a.shape, a.dtype, seed)
    return d + np.conj(np.swapaxes(d, -1, -2))


# ------------------------------------------------------------------ inv / solve / det
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_inv(shape):
    a = wellcond(shape)
    assert np.allclose(la.inv(a), np.linalg.inv(a))
    check_all_dtypes(la.inv, a)
    check(la.inv, wellcond(shape, np.complex128))


def test_solve_shapes_and_grads():
    a = wellcond((3, 3))
    b = randm((3, 2), seed=2)
    for bb in (b, b[:, 0]):
        assert np.allclose(la.solve(a, bb), np.linalg.solve(a, bb))
        check_all_dtypes(la.solve, a, bb)
    # a stack of systems against one right-hand side, and the reverse
    a3 = wellcond((2, 3, 3), seed=3)
    b3 = randm((2, 3, 2), seed=4)
    for args in [(a3, b), (a, b3), (a3, b3), (a3, b[:, 0])]:
        assert np.allclose(la.solve(*args), np.linalg.solve(*args))
        check(la.solve, *args)
    check(la.solve, wellcond((3, 3), np.complex128), randm((3, 2), np.complex128, 5))
    with pytest.raises(ValueError, match="does not match"):
        la.solve(a, np.ones(4))


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_det_and_closed_form(shape):
    a = wellcond(shape, seed=6)
    assert np.allclose(la.det(a), np.linalg.det(a))
    check_all_dtypes(la.det, a)
    check(la.det, wellcond(shape, np.complex128, 7))
    # Jacobi: d det / dA = det(A) inv(A)^T
    g = ad.grad(lambda a: anp.sum(la.det(a)))(a)
    want = np.linalg.det(a)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
    assert np.allclose(g, want)


def _cofactors(a):
    """The cofactor matrix by signed minors (a reference independent of any inverse)."""
    n = a.shape[-1]
    c = np.zeros(a.shape, dtype=a.dtype)
    for i, j in itertools.product(range(n), repeat=2):
        m = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
        c[..., i, j] = (-1) ** (i + j) * (np.linalg.det(m) if n > 1 else 1.0)
    return c


def _det_hessian(a):
    """d^2 det / dA_ij dA_kl: signed (n-2)-minors."""
    n = a.shape[-1]
    h = np.zeros((n,) * 4)
    for i, j, k, l in itertools.product(range(n), repeat=4):
        if i != k and j != l:
            m = np.delete(np.delete(a, [i, k], axis=0), [j, l], axis=1)
            sign = (-1) ** (i + j + k + l) * (1 if (i < k) == (j < l) else -1)
            h[i, j, k, l] = sign * (np.linalg.det(m) if n > 2 else 1.0)
    return h


SINGULAR = {
    "2x2": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "rank n-1": np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]),
    "rank n-2": np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]]),
    "zero": np.zeros((3, 3)),
    "4x4 rank 3": np.array(
        [[1.0, 0.0, 2.0, 1.0], [0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 3.0, 1.0], [2.0, -1.0, 0.0, 3.0]]
    ),
    "4x4 rank 2": np.array(
        [[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 2.0], [1.0, 1.0, 2.0, 3.0], [2.0, 1.0, 3.0, 4.0]]
    ),
}


@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_derivatives_at_singular_matrices(name):
    # The gradient of det is the cofactor matrix adj(A)^T, which exists at singular
    # matrices (rank-one at rank n-1, zero below); so does the Hessian (signed minors).
    a = SINGULAR[name]
    n = a.shape[-1]
    assert np.linalg.matrix_rank(a) < n
    g = ad.grad(la.det)(a)
    assert np.allclose(g, _cofactors(a), atol=1e-12)
    if np.linalg.matrix_rank(a) == n - 1:
        assert np.linalg.matrix_rank(g) == 1
    else:
        assert np.abs(g).max() < 1e-12
    assert np.allclose(ad.hessian(la.det)(a), _det_hessian(a), atol=1e-12)
    _, t = ad.jvp(la.det, (a,), (np.ones_like(a),))
    assert np.allclose(t, np.sum(_cofactors(a)), atol=1e-12)
    check(la.det, a)  # to second order in both modes, against finite differences


def test_det_singular_stacks_float32_complex_and_higher_orders():
    # Up to 3x3 the cofactors are minors written out; larger matrices take the SVD path.
    for sing, n in ((["rank n-1", "rank n-2"], 3), (["4x4 rank 3", "4x4 rank 2"], 4)):
        a = np.stack([SINGULAR[k] for k in sing] + [wellcond((n, n), seed=5)])
        g = ad.grad(lambda a: anp.sum(la.det(a)))(a)
        assert np.allclose(g, _cofactors(a), atol=1e-12)
        assert np.allclose(ad.vmap(ad.grad(la.det))(a), g, atol=1e-12)
        g32 = ad.grad(lambda a: anp.sum(la.det(a)))(a.astype(np.float32))
        assert g32.dtype == np.float32 and np.allclose(g32, g, atol=1e-4)
        h32 = ad.hessian(la.det)(a[0].astype(np.float32))
        assert h32.dtype == np.float32 and np.allclose(h32, _det_hessian(a[0]), atol=1e-4)
    for z in (
        np.array([[1 + 1j, 2.0, 0.5j], [2 + 2j, 4.0, 1j], [0.0, 1.0, 1.0 - 1j]]),  # rank 2
        np.kron(np.array([[1.0, 1j], [2.0, 2j]]), np.array([[1.0, 2.0], [0.5, 1j]])),  # 4x4
    ):
        assert np.allclose(ad.jacfwd(la.det, holomorphic=True)(z), _cofactors(z), atol=1e-12)
        check(la.det, z)
    # Third derivatives: exact everywhere up to 3x3; beyond, through A^{-1} -- exact at
    # invertible matrices, even with repeated singular values, and a clear error at an
    # exactly singular one.
    check(la.det, SINGULAR["rank n-1"], order=3)
    check(la.det, 2.0 * np.eye(4), order=3)
    with pytest.raises(la.LinAlgError, match="third and higher derivatives of det"):
        ad.jacfwd(ad.hessian(la.det))(SINGULAR["4x4 rank 3"])


def test_slogdet_at_a_singular_matrix():
    # log|det| -> -inf: its derivative does not exist there, and the error says so
    a = SINGULAR["rank n-1"]
    s, l = la.slogdet(a)
    assert s == 0 and l == -np.inf
    with pytest.raises(
        la.LinAlgError, match=r"linalg.slogdet: the derivative of log\|det A\| does not exist"
    ):
        ad.grad(lambda a: la.slogdet(a)[1])(a)


def test_slogdet():
    a = wellcond((2, 3, 3), seed=8)
    a[0] = -a[0]  # a negative determinant
    s, l = la.slogdet(a)
    s0, l0 = np.linalg.slogdet(a)
    assert np.allclose(s, s0) and np.allclose(l, l0)
    check_all_dtypes(lambda a: la.slogdet(a).logabsdet, a)
    check(lambda a: tuple(la.slogdet(a)), a)
    z = wellcond((2, 3, 3), np.complex128, 9)
    assert np.allclose(la.slogdet(z).sign, np.linalg.slogdet(z).sign)
    check(lambda a: tuple(la.slogdet(a)), z)
    # gradient of log det of an SPD matrix is its inverse; Hessian is -A^-1 dA A^-1
    p = spd((3, 3), seed=10)
    g = ad.grad(lambda a: la.slogdet(a)[1])(p)
    assert np.allclose(g, np.linalg.inv(p))
    d = sym_perturbation(p)
    hv = ad.jvp(ad.grad(lambda a: la.slogdet(a)[1]), (p,), (d,))[1]
    pi = np.linalg.inv(p)
    assert np.allclose(hv, (-pi @ d @ pi).T)


# ------------------------------------------------------------------ cholesky
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    for dt in (np.float64, np.complex128):
        a = spd((2, 3, 3), dt, seed=11)
        assert np.allclose(la.cholesky(a, upper=upper), np.linalg.cholesky(a, upper=upper))
        check(lambda a: la.cholesky(a, upper=upper), a)
    check_all_dtypes(lambda a: la.cholesky(a, upper=upper), spd((3, 3), seed=12))


def test_cholesky_reads_one_triangle():
    a = spd((3, 3), seed=13)
    g = ad.grad(lambda a: anp.sum(la.cholesky(a) ** 2))(a)
    assert np.all(np.triu(g, 1) == 0)
    # for symmetric perturbations it agrees with the log-det identity
    # log det A = 2 sum log diag L
    d = sym_perturbation(a)
    ld = lambda a: 2.0 * anp.sum(anp.log(anp.diagonal(la.cholesky(a))))  # noqa: E731
    t = ad.jvp(ld, (a,), (d,))[1]
    assert np.allclose(t, np.trace(np.linalg.solve(a, d)))


# ------------------------------------------------------------------ eigh / eigvalsh
def _eig_fn(a):
    """A gauge-invariant function of the eigenvectors: V diag(sin w) V^H."""
    w, v = la.eigh(a)
    return anp.matmul(v * anp.sin(w)[..., None, :], anp.conj(anp.swapaxes(v, -1, -2)))


@pytest.mark.parametrize("dt", [np.float64, np.complex128])
def test_eigh(dt):
    a = spd((2, 3, 3), dt, seed=14)
    w, v = la.eigh(a)
    w0, _ = np.linalg.eigh(a)
    assert np.allclose(w, w0)
    check(lambda a: la.eigh(a)[0], a)
    check(_eig_fn, a)
    check(lambda a: anp.abs(la.eigh(a)[1]) ** 2, a)
    check(lambda a: la.eigh(a, UPLO="U")[0], a)
    check(lambda a: anp.abs(la.eigh(a, UPLO="U")[1]) ** 2, a, order=1)
    check(la.eigvalsh, a)
    check(lambda a: la.eigvalsh(a, UPLO="U"), a)


def test_eigh_float32_and_closed_forms():
    a = spd((3, 3), seed=15)
    check_all_dtypes(la.eigvalsh, a)
    check_all_dtypes(lambda a: anp.abs(la.eigh(a)[1]) ** 2, a, order=1)
    # eigenvalue derivative: dw_i = v_i^T dA v_i
    d = sym_perturbation(a)
    w, v = np.linalg.eigh(a)
    dw = ad.jvp(la.eigvalsh, (a,), (d,))[1]
    assert np.allclose(dw, np.einsum("ki,kl,li->i", v, d, v))
    dw2 = ad.jvp(lambda a: la.eigh(a)[0], (a,), (d,))[1]
    assert np.allclose(dw2, dw)
    # a symmetric derivative is read from the lower triangle only
    g = ad.grad(lambda a: la.eigvalsh(a)[-1])(a)
    assert np.all(np.triu(g, 1) == 0)
    assert np.allclose(np.tril(g, -1), np.tril(2 * np.outer(v[:, -1], v[:, -1]), -1))


def test_eigvalsh_finite_at_repeated_eigenvalues():
    a = np.diag([1.0, 1.0, 2.0])
    g = ad.grad(lambda a: anp.sum(la.eigvalsh(a)))(a)
    assert np.allclose(g, np.eye(3))  # the trace
    g = ad.grad(lambda a: anp.sum(la.svdvals(a)))(a)
    assert np.all(np.isfinite(g))


# ------------------------------------------------------------------ svd
SVD_SHAPES = [(3, 3), (4, 3), (3, 4), (2, 4, 3)]


def _usv_fns():
    def uvh(a):
        u, s, vh = la.svd(a, full_matrices=False)
        return anp.matmul(u, vh)

    def u2(a):
        return anp.abs(la.svd(a, full_matrices=False)[0]) ** 2

    def vh2(a):
        return anp.abs(la.svd(a, full_matrices=False)[2]) ** 2

    def s(a):
        return la.svd(a, full_matrices=False)[1]

    def u_f_vh(a):
        u, s, vh = la.svd(a, full_matrices=False)
        return anp.matmul(u * anp.exp(-s)[..., None, :], vh)

    return [uvh, u2, vh2, s, u_f_vh]


@pytest.mark.parametrize("shape", SVD_SHAPES)
@pytest.mark.parametrize("dt", [np.float64, np.complex128])
def test_svd(shape, dt):
    a = randm(shape, dt, seed=16)
    u, s, vh = la.svd(a, full_matrices=False)
    assert np.allclose((u * s[..., None, :]) @ vh, a)
    assert np.allclose(s, np.linalg.svd(a, compute_uv=False))
    assert np.allclose(la.svd(a, compute_uv=False), s)
    assert np.allclose(la.svdvals(a), s)
    for f in _usv_fns():
        check(f, a)
    check(la.svdvals, a)


def test_svd_float32_closed_forms_and_limits():
    a = randm((4, 3), seed=17)
    check_all_dtypes(la.svdvals, a)
    check_all_dtypes(lambda a: anp.abs(la.svd(a, full_matrices=False)[0]) ** 2, a, order=1)
    # ds_i = u_i^T dA v_i
    d = randm(a.shape, seed=18)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    ds = ad.jvp(la.svdvals, (a,), (d,))[1]
    assert np.allclose(ds, np.einsum("ki,kl,il->i", u, d, vh))
    # full_matrices=True: fine for square; for non-square S alone is differentiable, the
    # singular vectors are refused in reverse mode (with the reason), nan in forward mode
    sq = randm((3, 3), seed=19)
    check(lambda a: anp.abs(la.svd(a)[0]) ** 2, sq, order=1)
    for m in (a, a.T):
        g = ad.grad(lambda a: anp.sum(la.svd(a)[1]))(m)
        assert np.allclose(g, ad.grad(lambda a: anp.sum(la.svdvals(a)))(m))
        dus = ad.jvp(la.svd, (m,), (np.ones_like(m),))[1]
        assert np.allclose(dus[1], ad.jvp(la.svdvals, (m,), (np.ones_like(m),))[1])
    assert np.isnan(dus[2][-1]).all() and np.isfinite(dus[2][:-1]).all()
    with pytest.raises(ValueError, match="full_matrices=False"):
        ad.grad(lambda a: anp.sum(la.svd(a)[0] ** 2))(a)
    u_full = la.svd(a)[0]  # untraced: NumPy's full result
    assert u_full.shape == (4, 4)
    # repeated singular values: the singular vectors' derivative is not finite there
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ad.grad(lambda a: anp.sum(la.svd(a, full_matrices=False)[0][:, 0] ** 2))(np.eye(3))
    assert not np.all(np.isfinite(g))


# ------------------------------------------------------------------ qr
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("dt", [np.float64, np.complex128])
def test_qr(shape, dt):
    a = randm(shape, dt, seed=20)
    q, r = la.qr(a)
    q0, r0 = np.linalg.qr(a)
    assert np.allclose(q, q0) and np.allclose(r, r0)
    check(lambda a: tuple(la.qr(a)), a)
    check(lambda a: la.qr(a, mode="r"), a, order=1)
    # the wide case is composed when traced; it matches NumPy's factors
    q1, r1 = ad.jvp(lambda a: tuple(la.qr(a)), (a,), (a,))[0]
    assert np.allclose(q1, q0) and np.allclose(r1, r0)


def test_qr_float32_and_complete():
    a = randm((4, 3), seed=21)
    check_all_dtypes(lambda a: anp.concatenate(la.qr(a)), a)
    sq = randm((3, 3), seed=22)
    check(lambda a: tuple(la.qr(a, mode="complete")), sq, order=1)
    with pytest.raises(ValueError, match="mode='reduced'"):
        ad.grad(lambda a: anp.sum(la.qr(a, mode="complete")[0]))(a)
    with pytest.raises(ValueError, match="mode"):
        la.qr(a, mode="economic")
    with pytest.raises(ValueError, match="no derivative"):
        ad.grad(lambda a: anp.sum(la.qr(a, mode="raw")[1]))(a)


# ------------------------------------------------------------------ pinv / lstsq
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 4, 3)])
def test_pinv(shape):
    a = randm(shape, seed=23)
    assert np.allclose(la.pinv(a), np.linalg.pinv(a))
    check(la.pinv, a)
    check(la.pinv, randm(shape, np.complex128, 24))
    if len(shape) == 2:
        check_all_dtypes(la.pinv, a, order=1)


def test_pinv_square_is_inv():
    a = wellcond((3, 3), seed=25)
    d = randm((3, 3), seed=26)
    assert np.allclose(ad.jvp(la.pinv, (a,), (d,))[1], ad.jvp(la.inv, (a,), (d,))[1])


@pytest.mark.parametrize("bshape", [(5,), (5, 2)])
def test_lstsq_tall(bshape):
    a = randm((5, 3), seed=27)
    b = randm(bshape, seed=28)
    ref = np.linalg.lstsq(a, b, rcond=None)
    out = ad.jvp(lambda a, b: la.lstsq(a, b)[0], (a, b), (a, b))[0]
    assert np.allclose(out, ref[0])
    x, res, rank, s = la.lstsq(a, b)
    assert np.allclose(x, ref[0]) and np.allclose(res, ref[1]) and rank == ref[2]
    check(lambda a, b: la.lstsq(a, b)[0], a, b)
    check(lambda a, b: la.lstsq(a, b)[1], a, b)
    check(lambda a, b: la.lstsq(a, b)[3], a, b, order=1)

    # traced: residuals, rank and singular values as NumPy gives them
    def f(a, b):
        x, res, rank, s = la.lstsq(a, b)
        assert rank == 3 and res.shape == ref[1].shape
        return res

    assert np.allclose(ad.jvp(f, (a, b), (a, b))[0], ref[1])
    # the gradient of the residual is the normal-equations gradient: -2 A^T r
    g = ad.grad(lambda b: anp.sum(la.lstsq(a, b)[1]))(b)
    r = b - a @ ref[0]
    assert np.allclose(g, 2 * r)


def test_lstsq_wide_and_float32():
    a = randm((2, 4), seed=29)
    b = randm((2,), seed=30)

    x, res, rank, s = la.lstsq(a, b)
    assert res.shape == (0,) and rank == 2

    def f(a, b):
        return la.lstsq(a, b)[0]

    assert np.allclose(ad.jvp(f, (a, b), (a, b))[0], np.linalg.lstsq(a, b, rcond=None)[0])
    check(f, a, b)
    check_all_dtypes(lambda a, b: la.lstsq(a, b)[0], randm((5, 3), seed=31), randm((5,), seed=32))


# ------------------------------------------------------------------ matrix_power / multi_dot
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    a = wellcond((2, 3, 3), seed=33) / 3.0
    assert np.allclose(la.matrix_power(a, n), np.linalg.matrix_power(a, n))
    check(lambda a: la.matrix_power(a, n), a)
    if n in (3, -1):
        check_all_dtypes(lambda a: la.matrix_power(a, n), a[0], order=1)
        check(lambda a: la.matrix_power(a, n), wellcond((3, 3), np.complex128, 34) / 3.0)
    with pytest.raises(TypeError, match="integer"):
        la.matrix_power(a, 1.5)


def test_multi_dot():
    rng = _rng(35)
    mats = [rng.standard_normal(s) for s in [(4,), (4, 3), (3, 6), (6, 2), (2,)]]
    for sl in [slice(0, 5), slice(1, 5), slice(0, 4), slice(1, 4), slice(2, 4)]:
        ms = mats[sl]
        assert np.allclose(la.multi_dot(ms), np.linalg.multi_dot(ms))
        check(lambda *ms: la.multi_dot(list(ms)), *ms)
    check_all_dtypes(lambda *ms: la.multi_dot(ms), *mats[1:4], order=1)


# ------------------------------------------------------------------ norms
VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 0.5, -1]
MATRIX_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms(ord):
    x = randm((2, 4), seed=36) + 0.1
    for axis in (0, 1, -1):
        for keepdims in (False, True):
            f = lambda x: la.norm(x, ord=ord, axis=axis, keepdims=keepdims)  # noqa: E731
            assert np.allclose(f(x), np.linalg.norm(x, ord, axis, keepdims))
            check(f, x)
    check_all_dtypes(lambda x: la.norm(x, ord), x[0])
    z = randm((4,), np.complex128, 37)
    assert np.allclose(la.norm(z, ord), np.linalg.norm(z, ord))
    check(lambda z: la.norm(z, ord), z)


def test_vector_norm_zero_order():
    x = np.array([0.0, 1.5, -2.0, 0.0])
    assert la.norm(x, 0) == 2.0
    assert np.array_equal(ad.grad(lambda x: la.norm(x, 0))(x), np.zeros(4))


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms(ord):
    x = randm((3, 4), seed=38)
    assert np.allclose(la.norm(x, ord), np.linalg.norm(x, ord))
    check_all_dtypes(lambda x: la.norm(x, ord), x)
    x3 = randm((2, 3, 4), seed=39)
    for axis in [(1, 2), (2, 0), (-1, -2)]:
        for keepdims in (False, True):
            f = lambda x: la.norm(x, ord, axis, keepdims)  # noqa: E731
            assert np.allclose(f(x3), np.linalg.norm(x3, ord, axis, keepdims))
            check(f, x3, order=1)
    z = randm((3, 3), np.complex128, 40)
    assert np.allclose(la.norm(z, ord), np.linalg.norm(z, ord))
    check(lambda z: la.norm(z, ord), z)
    assert np.allclose(
        la.matrix_norm(x3, ord="fro" if ord is None else ord),
        np.linalg.matrix_norm(x3, ord="fro" if ord is None else ord),
    )


def test_norm_defaults_and_errors():
    x3 = randm((2, 3, 4), seed=41)
    assert np.allclose(la.norm(x3), np.linalg.norm(x3))
    assert np.allclose(la.norm(x3, keepdims=True), np.linalg.norm(x3, keepdims=True))
    check(la.norm, x3)
    with pytest.raises(ValueError, match="improper number of dimensions"):
        la.norm(x3, 2)
    with pytest.raises(ValueError, match="invalid norm order"):
        la.norm(x3[0], "nope")
    with pytest.raises(ValueError, match="invalid norm order"):
        la.norm(x3[0, 0], "fro")
    assert np.allclose(la.norm(np.arange(4)), np.linalg.norm(np.arange(4)))


def test_norm_gradient_zero_at_origin():
    for f in [
        la.norm,
        lambda x: la.norm(x, "fro"),
        lambda x: la.vector_norm(x),
        lambda x: la.matrix_norm(x),
    ]:
        g = ad.grad(f)(np.zeros((2, 3)))
        assert np.array_equal(g, np.zeros((2, 3)))
    g = ad.grad(lambda z: la.norm(z))(np.zeros(3, np.complex128))
    assert np.array_equal(g, np.zeros(3))
    # away from the origin: x / |x| (conj(z) / |z| for complex, JAX's convention)
    z = randm((3,), np.complex128, 42)
    assert np.allclose(ad.grad(la.norm)(z), np.conj(z) / np.linalg.norm(z))


@pytest.mark.parametrize("ord", [2, 1, np.inf, 3])
def test_vector_norm_api(ord):
    x = randm((2, 3, 4), seed=43)
    for axis in (None, 1, (0, 2)):
        for keepdims in (False, True):
            f = lambda x: la.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)  # noqa: E731
            assert np.allclose(
                f(x), np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
            )
            check(f, x, order=1)


# ------------------------------------------------------------------ small ones
def test_matrix_rank_cond_transpose():
    a = randm((4, 3), seed=44)
    low = a[:, :2] @ randm((2, 3), seed=45)
    assert la.matrix_rank(a) == 3 and la.matrix_rank(low) == 2
    stack = np.stack([a, low])
    assert np.array_equal(la.matrix_rank(stack), [3, 2])
    g = ad.grad(lambda a: anp.sum(a) * la.matrix_rank(a))(a)
    assert np.allclose(g, 3.0)
    sq = wellcond((3, 3), seed=46)
    for p in [None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"]:
        assert np.allclose(la.cond(sq, p), np.linalg.cond(sq, p))
        check(lambda a: la.cond(a, p), sq, order=1)
    check(la.cond, a)
    assert np.array_equal(la.matrix_transpose(stack), np.linalg.matrix_transpose(stack))
    check(la.matrix_transpose, stack)


def test_tensorinv_tensorsolve():
    a = wellcond((6, 6), seed=47).reshape(6, 2, 3)
    ainv = la.tensorinv(a, ind=1)
    assert np.allclose(ainv, np.linalg.tensorinv(a, ind=1))
    check(lambda a: la.tensorinv(a, ind=1), a)
    b = randm((6,), seed=48)
    assert np.allclose(la.tensorsolve(a, b), np.linalg.tensorsolve(a, b))
    check(la.tensorsolve, a, b)
    a2 = np.moveaxis(a, 0, 2)  # (2, 3, 6): solve over the moved axis
    assert np.allclose(la.tensorsolve(a2, b, axes=(0, 1)), np.linalg.tensorsolve(a2, b, (0, 1)))


# ------------------------------------------------------------------ vmap and Jacobians
VMAPPED = [
    ("inv", la.inv, lambda s: wellcond(s, seed=50)),
    ("det", la.det, lambda s: wellcond(s, seed=51)),
    ("slogdet", lambda a: tuple(la.slogdet(a)), lambda s: wellcond(s, seed=52)),
    ("cholesky", la.cholesky, lambda s: spd(s, seed=53)),
    ("eigvalsh", la.eigvalsh, lambda s: spd(s, seed=54)),
    ("eigh", _eig_fn, lambda s: spd(s, seed=55)),
    ("svdvals", la.svdvals, lambda s: randm(s, seed=56)),
    ("svd", lambda a: _usv_fns()[4](a), lambda s: randm(s, seed=57)),
    ("qr", lambda a: tuple(la.qr(a)), lambda s: randm(s, seed=58)),
    ("pinv", la.pinv, lambda s: randm(s, seed=59)),
    ("norm", lambda a: la.norm(a, "nuc", axis=(-2, -1)), lambda s: randm(s, seed=60)),
    ("norm2", lambda a: la.norm(a, axis=-1), lambda s: randm(s, seed=61)),
    ("matrix_power", lambda a: la.matrix_power(a, 3), lambda s: wellcond(s, seed=62)),
]


@pytest.mark.parametrize("name,f,make", VMAPPED, ids=[v[0] for v in VMAPPED])
def test_vmap_matches_loop(name, f, make):
    ab = make((3, 2, 3, 3))  # a batch of 3 stacks of two 3x3 matrices
    got = ad.vmap(f)(ab)
    ref = [f(a) for a in ab]
    if isinstance(got, tuple):
        for k, g in enumerate(got):
            assert np.allclose(g, np.stack([r[k] for r in ref]))
    else:
        assert np.allclose(got, np.stack(ref))
    # Jacobians run the rules under vmap: forward and reverse agree
    a0 = ab[0, 0]
    jf = ad.jacfwd(f)(a0)
    jr = ad.jacrev(f)(a0)
    for x, y in zip(
        jf if isinstance(jf, tuple) else (jf,), jr if isinstance(jr, tuple) else (jr,), strict=True
    ):
        assert np.allclose(x, y)


def test_vmap_solve_and_lstsq():
    a = wellcond((4, 3, 3), seed=63)
    b = randm((4, 3), seed=64)
    got = ad.vmap(la.solve)(a, b)
    assert np.allclose(got, np.stack([np.linalg.solve(x, y) for x, y in zip(a, b, strict=True)]))
    got = ad.vmap(la.solve, in_axes=(None, 0))(a[0], b)
    assert np.allclose(got, np.linalg.solve(a[0], b.T).T)
    got = ad.vmap(la.solve, in_axes=(0, None))(a, b[0])
    assert np.allclose(got, np.stack([np.linalg.solve(x, b[0]) for x in a]))
    a2 = wellcond((2, 3, 3), seed=65)  # unbatched stack against batched matrices
    bm = randm((4, 3, 2), seed=66)
    got = ad.vmap(la.solve, in_axes=(None, 0))(a2, bm)
    assert np.allclose(got, np.stack([np.linalg.solve(a2, y) for y in bm]))
    al = randm((4, 5, 3), seed=67)
    bl = randm((4, 5), seed=68)
    got = ad.vmap(lambda a, b: la.lstsq(a, b)[0])(al, bl)
    ref = np.stack([np.linalg.lstsq(x, y, rcond=None)[0] for x, y in zip(al, bl, strict=True)])
    assert np.allclose(got, ref)


def test_hessians():
    # Hessian of log det (a second derivative through solve/inv rules)
    p = spd((3, 3), seed=69)
    h = ad.hessian(lambda a: la.slogdet(a)[1])(p)
    pi = np.linalg.inv(p)
    assert np.allclose(h, -np.einsum("li,jk->ijkl", pi, pi))
    # Hessian of the largest eigenvalue against finite differences of its gradient
    a = spd((3, 3), seed=70)
    f = lambda a: la.eigvalsh(a)[-1]  # noqa: E731
    d = sym_perturbation(a, seed=71)
    hv = ad.jvp(ad.grad(f), (a,), (d,))[1]
    eps = 1e-6
    num = (ad.grad(f)(a + eps * d) - ad.grad(f)(a - eps * d)) / (2 * eps)
    assert np.allclose(hv, num, atol=1e-6)
