"""Regression tests for what running autograd's own test suite and example programs
through adgraph.autograd found: each case is the minimal program that was wrong or
refused, with its own reference values (closed forms, finite differences of SciPy)."""

from __future__ import annotations

import numpy as onp
import pytest

import adgraph.autograd as ag
import adgraph.autograd.numpy as np
from adgraph.autograd.test_util import check_grads

sla = pytest.importorskip("scipy.linalg")


# ------------------------------------------------------------------ sqrtm, second order
# A symmetric matrix with eigenvalues -1.23, -0.50, 1.53: its principal square root is
# complex, and the derivatives of the derivative used to come out ~1e15 wrong.
X_INDEF = onp.array(
    [
        [0.49671415, 0.69238278, 1.11345368],
        [0.69238278, -0.23415337, 0.26664887],
        [1.11345368, 0.26664887, -0.46947439],
    ]
)
V_DIR = onp.array([[0.3, -0.2, 0.1], [0.5, 0.4, -0.7], [-0.6, 0.2, 0.8]])
C_WEIGHT = onp.array([[1.0, -2.0, 0.5], [0.25, 1.5, -1.0], [2.0, 0.0, -0.5]])


def _sqrtm_along(s):
    from adgraph.autograd.scipy.linalg import sqrtm

    return np.real(np.sum(C_WEIGHT * sqrtm(X_INDEF + s * V_DIR)))


def _second_difference(h=1e-3):
    f = lambda s: onp.real(onp.sum(C_WEIGHT * sla.sqrtm(X_INDEF + s * V_DIR)))  # noqa: E731
    return (f(h) - 2 * f(0.0) + f(-h)) / h**2


@pytest.mark.parametrize(
    "second",
    [
        lambda f: ag.deriv(ag.deriv(f)),  # forward over forward
        lambda f: ag.grad(ag.deriv(f)),  # reverse over forward
        lambda f: ag.grad(ag.grad(f)),  # reverse over reverse
    ],
)
def test_sqrtm_second_derivative_at_a_matrix_with_negative_eigenvalues(second):
    assert onp.min(onp.linalg.eigvalsh(X_INDEF)) < -1.0
    ref = _second_difference()
    got = second(_sqrtm_along)(0.0)
    # the central second difference is accurate to ~h^2 = 1e-6 relative here
    onp.testing.assert_allclose(got, ref, rtol=1e-5)


def test_sqrtm_of_a_symmetrised_argument_passes_check_grads_to_order_two():
    from adgraph.autograd.scipy.linalg import sqrtm

    check_grads(lambda a: sqrtm(0.5 * (a + a.T)), modes=["fwd", "rev"], order=2)(X_INDEF)
