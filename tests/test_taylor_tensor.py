"""derivative_tensor: every partial derivative of order k from univariate Taylor series,
against nested jacfwd / hessian and closed forms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.api.taylor import _interpolation, _multi_indices


def f_scalar(x):
    return anp.sum(anp.sin(x) * anp.exp(x[::-1])) + x[0] ** 2 * x[1] ** 3 * x[2]


def f_vector(x):
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])
    return anp.tanh(W @ x) * anp.log1p(x[0] ** 2)


def nested(f, k):
    g = f
    for _ in range(k):
        g = ad.jacfwd(g)
    return g


X = np.array([0.3, -0.5, 0.8])


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("f", [f_scalar, f_vector], ids=["scalar", "vector"])
def test_equals_nested_jacfwd(f, k):
    T = ad.derivative_tensor(f, k)(X)
    R = nested(f, k)(X)
    assert T.shape == R.shape == np.shape(f(X)) + (3,) * k
    np.testing.assert_allclose(T, R, rtol=1e-12, atol=1e-12 * np.max(np.abs(R)))


def test_order_two_is_the_hessian_and_symmetric():
    H = ad.derivative_tensor(f_scalar, 2)(X)
    np.testing.assert_allclose(H, ad.hessian(f_scalar)(X), rtol=1e-13, atol=1e-14)
    T4 = ad.derivative_tensor(f_scalar, 4)(X)
    for perm in [(1, 0, 2, 3), (3, 2, 1, 0), (0, 2, 3, 1)]:
        np.testing.assert_array_equal(T4, np.transpose(T4, perm))


def test_closed_form_polynomial_and_matrix_input():
    # f(x) = x0^2 x1 x2^3 on a (3,) input: third derivatives in closed form
    def f(x):
        return x[0] ** 2 * x[1] * x[2] ** 3

    x = np.array([1.5, -2.0, 0.5])
    T = ad.derivative_tensor(f, 3)(x)
    a, b, c = x
    assert np.isclose(T[0, 0, 1], 2 * c**3)
    assert np.isclose(T[0, 1, 2], 2 * a * 3 * c**2)
    assert np.isclose(T[2, 2, 2], a**2 * b * 6)
    assert np.isclose(T[1, 1, 1], 0.0)
    # a (2, 2) matrix input: the layout of jacfwd, out_shape + x.shape * k
    A = np.array([[1.0, 0.2], [0.3, 1.5]])
    g = lambda A: anp.linalg.det(A) * anp.exp(A)  # noqa: E731
    T = ad.derivative_tensor(g, 3)(A)
    assert T.shape == (2, 2) + (2, 2) * 3
    np.testing.assert_allclose(T, nested(g, 3)(A), rtol=1e-12, atol=1e-13)


def test_interpolation_weights_invert_the_directions():
    # c_k(j) = sum_{|m|=k} d^m f / m! * j^m for a direction j: the weights must map these
    # coefficients back to every d^i f, i.e. W V = I with V[j, m] = j^m / m! (exact check in
    # rationals, against the floating weights)
    for n, k in [(2, 3), (3, 4), (4, 2)]:
        J, W, _ = _interpolation(n, k)
        idx = list(_multi_indices(n, k))
        V = np.array(
            [
                [
                    float(
                        math.prod(Fraction(a) ** b for a, b in zip(j, m))
                        / math.prod(math.factorial(b) for b in m)
                    )
                    for m in idx
                ]
                for j in idx
            ]
        )
        np.testing.assert_allclose(W @ V, np.eye(len(idx)), atol=1e-12)
        assert len(J) == math.comb(n + k - 1, k)


def test_under_jit_and_vmap_and_grad():
    d3 = ad.derivative_tensor(f_scalar, 3)
    eager = d3(X)
    np.testing.assert_allclose(ad.jit(d3)(X), eager, rtol=1e-13, atol=1e-14)
    xs = np.stack([X, -X, 0.5 * X])
    np.testing.assert_allclose(
        ad.vmap(d3)(xs), np.stack([d3(x) for x in xs]), rtol=1e-13, atol=1e-14
    )
    # the gradient of a third-derivative entry is a fourth derivative
    g = ad.grad(lambda x: ad.derivative_tensor(f_scalar, 3)(x)[0, 1, 2])(X)
    np.testing.assert_allclose(
        g, ad.derivative_tensor(f_scalar, 4)(X)[0, 1, 2], rtol=1e-12, atol=1e-14
    )


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="positive integer"):
        ad.derivative_tensor(f_scalar, 0)
    with pytest.raises(ValueError, match="positive integer"):
        ad.derivative_tensor(f_scalar, 2.0)
    with pytest.raises(TypeError, match="callable"):
        ad.derivative_tensor("f", 2)
    with pytest.raises(TypeError, match="floating or complex"):
        ad.derivative_tensor(f_scalar, 2)(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="one array"):
        ad.derivative_tensor(lambda x: (x, x), 2)(X)
    with pytest.raises(ValueError, match="no elements"):
        ad.derivative_tensor(f_scalar, 2)(np.zeros(0))
