"""numpy.linalg's general eigenproblem (eig, eigvals) and its array-API names (cross,
diagonal, outer, tensordot, trace, vecdot, matmul): NumPy's values, derivatives against
finite differences, closed forms and (where installed) JAX."""

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


la = anp.linalg
rng = np.random.default_rng(7)
A = rng.standard_normal((4, 4))  # two real and a pair of complex eigenvalues
AC = A + 1j * rng.standard_normal((4, 4))
S = A + A.T  # real eigenvalues: NumPy returns real arrays


def test_every_numpy_linalg_name():
    assert [n for n in np.linalg.__all__ if not hasattr(la, n)] == []


@pytest.mark.parametrize("a", [A, AC, S, np.stack([A, S])], ids=["real", "complex", "sym", "stack"])
def test_eig_values_are_numpys(a):
    w, v = la.eig(a)
    w0, v0 = np.linalg.eig(a)
    assert w.dtype == w0.dtype and np.allclose(w, w0) and np.allclose(v, v0)
    assert np.allclose(la.eigvals(a), np.linalg.eigvals(a))


def _reconstruct(a):
    w, v = la.eig(a)
    return anp.real(v @ (anp.exp(w)[..., None] * la.inv(v)))  # expm(a), gauge-free


@pytest.mark.parametrize("a", [A, AC, S], ids=["real", "complex", "sym"])
def test_eig_derivatives(a):
    check_grads(lambda a: la.eig(a)[0], (a,), order=2)
    check_grads(lambda a: anp.abs(la.eig(a)[1]) ** 2, (a,), order=2)
    check_grads(la.eigvals, (a,), order=2)
    check_grads(_reconstruct, (a,), order=1)


def test_eig_closed_forms():
    # d exp(A) through eig equals SciPy's Frechet derivative of expm
    sla = pytest.importorskip("scipy.linalg")
    e = rng.standard_normal((4, 4))
    assert np.allclose(ad.jvp(_reconstruct, (A,), (e,))[1], sla.expm_frechet(A, e)[1])
    # sum of eigenvalues is the trace: gradient the identity, also at repeated ones
    for a in (A, 2 * np.eye(3)):
        g = ad.grad(lambda a: anp.real(anp.sum(la.eig(a)[0])))(a)
        assert np.allclose(g, np.eye(len(a)))
    # product of eigenvalues is det: gradient the cofactor matrix
    g = ad.grad(lambda a: anp.real(anp.prod(la.eigvals(a))))(A)
    assert np.allclose(g, np.linalg.det(A) * np.linalg.inv(A).T)


def test_eig_defective_matrix_refused():
    j = np.array([[1.0, 1.0], [0.0, 1.0]])  # a Jordan block: eigenvectors not a basis
    for f in (la.eigvals, lambda a: la.eig(a)[0]):
        with pytest.raises(np.linalg.LinAlgError, match="defective"):
            ad.grad(lambda a: anp.real(anp.sum(f(a) ** 2)))(j)
        with pytest.raises(np.linalg.LinAlgError, match="defective"):
            ad.jvp(f, (j,), (j,))


def test_eig_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    t = rng.standard_normal((4, 4))
    jw = jax.jvp(jnp.linalg.eigvals, (A,), (t,))[1]
    aw = ad.jvp(la.eigvals, (A,), (t,))[1]
    order = [int(np.argmin(abs(np.linalg.eigvals(A) - z))) for z in jnp.linalg.eigvals(A)]
    assert np.allclose(np.asarray(jw), aw[order])


X = rng.standard_normal((2, 5, 3))
Y = rng.standard_normal((2, 5, 3))


@pytest.mark.parametrize(
    "name, args, kw",
    [
        ("cross", (X, Y), {}),
        ("cross", (X[:, :3], Y[:, :3]), {"axis": 1}),
        ("diagonal", (X,), {"offset": 1}),
        ("trace", (X,), {"offset": -1}),
        ("vecdot", (X, Y), {}),
        ("vecdot", (X, Y), {"axis": 1}),
        ("matmul", (X, np.swapaxes(Y, -1, -2)), {}),
        ("outer", (X[0, 0], Y[0, 1]), {}),
        ("tensordot", (X[0], Y[0]), {"axes": ([0], [0])}),
        ("tensordot", (X[0], Y[0]), {"axes": 2}),
    ],
)
def test_array_api_names(name, args, kw):
    f = getattr(la, name)
    assert np.allclose(f(*args, **kw), getattr(np.linalg, name)(*args, **kw))
    check_grads(lambda *a: f(*a, **kw), args, order=2)


def test_array_api_names_refuse_what_numpy_linalg_refuses():
    with pytest.raises(ValueError, match="one-dimensional"):
        la.outer(X, Y)
    with pytest.raises(ValueError, match="3 elements"):
        la.cross(X[..., :2], Y[..., :2])
    with pytest.raises(ValueError, match="at least 2"):
        la.trace(X[0, 0])


def test_qr_raw_values_and_refusal():
    h, tau = la.qr(X[0], mode="raw")
    h0, tau0 = np.linalg.qr(X[0], mode="raw")
    assert np.allclose(h, h0) and np.allclose(tau, tau0)
    with pytest.raises(ValueError, match="raw"):
        ad.grad(lambda a: anp.sum(la.qr(a, mode="raw")[0]))(X[0])
