"""An unused output of a multi-output linear-algebra primitive contributes a symbolic zero
to reverse mode: no 0 * inf where eigh's and svd's gap coefficients are infinite."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad.common import SYMBOLIC_ZEROS
from adgraph.core.primitive import registry
from adgraph.test_util import check_grads


def test_eigh_eigenvalues_only_at_repeated_eigenvalues():
    g = ad.grad(lambda a: anp.sum(anp.linalg.eigh(a)[0]))(2 * np.eye(2))
    assert np.array_equal(g, np.eye(2))  # d tr(A) = I (JAX's value)
    # weighted: d(w . c)/dA = V diag(c) V^T on the lower triangle; at 2I any V works,
    # and for sum(w ** 2) = ||A||_F^2 the gradient is 2A on the triangle read
    a = np.diag([3.0, 3.0, 1.0])
    g = ad.grad(lambda a: anp.sum(anp.linalg.eigh(a)[0] ** 2))(a)
    assert np.allclose(g, 2 * a)


def test_eigh_eigenvalues_only_matches_eigvalsh():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 4))
    a = x + x.T
    c = rng.standard_normal(4)
    g1 = ad.grad(lambda a: anp.sum(c * anp.linalg.eigh(a)[0]))(a)
    g2 = ad.grad(lambda a: anp.sum(c * anp.linalg.eigvalsh(a)))(a)
    assert np.allclose(g1, g2)


@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (2, 3)])
def test_svd_singular_values_only_at_repeated_values(shape):
    a = 2 * np.eye(*shape)
    for full in (True, False):
        g = ad.grad(lambda a: anp.sum(anp.linalg.svd(a, full_matrices=full)[1]))(a)
        assert np.array_equal(g, np.eye(*shape))  # d sum(s) = U V^T = I here


def test_svd_vectors_still_infinite_where_undefined():
    with np.errstate(all="ignore"):
        g = ad.grad(lambda a: anp.sum(anp.linalg.svd(a)[0][:, 0] ** 3))(2 * np.eye(2))
    assert not np.all(np.isfinite(g))


def test_qr_and_slogdet_one_output():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    # one output only, against finite differences
    check_grads(lambda a: anp.sum(anp.linalg.qr(a)[1]), (a,), order=2)
    check_grads(lambda a: anp.sum(anp.linalg.qr(a)[0]), (a,), order=2)
    g = ad.grad(lambda a: anp.linalg.slogdet(a)[1])(a)
    assert np.allclose(g, np.linalg.inv(a).T)
    assert np.array_equal(ad.grad(lambda a: anp.linalg.slogdet(a)[0])(a), np.zeros((3, 3)))


def test_declared_primitives():
    names = {p.name for p in SYMBOLIC_ZEROS}
    assert {"linalg_eigh", "linalg_svd", "linalg_qr", "linalg_slogdet"} <= names
    assert all(registry[n].multiple_results for n in names)


def test_every_transformation_gives_the_identity():
    def f(a):
        return anp.sum(anp.linalg.eigh(a)[0])

    def g(a):
        return anp.sum(anp.linalg.svd(a)[1])

    a = 2 * np.eye(2)
    for h in (f, g):
        for d in (ad.jacfwd(h), ad.jacrev(h), ad.jit(ad.grad(h)), ad.grad(h)):
            assert np.array_equal(d(a), np.eye(2))
        assert np.array_equal(
            ad.vmap(ad.grad(h))(np.stack([a, np.eye(2)])), np.stack([np.eye(2)] * 2)
        )
        _, lin = ad.linearize(h, a)
        assert lin(np.diag([1.0, 2.0])) == 3.0
