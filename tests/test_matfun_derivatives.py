"""Second and third derivatives of SciPy's matrix functions in every mode, against
30-digit mpmath references (finite differences of mpmath's matrix functions at 50
digits): at a symmetric positive definite matrix, a matrix with complex eigenvalues and
a real matrix with negative eigenvalues, where the block-matrix derivative of logm and
fractional_matrix_power once crossed the branch cut (second derivatives ~1e19 off, or
SciPy's bare "array must not contain infs or NaNs")."""

from __future__ import annotations

import numpy as onp
import pytest

import adgraph.autograd as ag
import adgraph.autograd.numpy as np
import adgraph.scipy.linalg as asla
from adgraph.ops.linalg.matfun import NoDerivativeError

mp = pytest.importorskip("mpmath")
pytest.importorskip("scipy.linalg")

X_SPD = onp.array([[2.0, 0.3, -0.4], [0.3, 1.5, 0.2], [-0.4, 0.2, 1.2]])
X_CPLX = onp.array([[0.8, -1.1, 0.3], [0.9, 0.6, -0.2], [0.1, 0.4, 1.3]])  # eigs 0.7 +- 1i, ...
X_INDEF = onp.array(
    [
        [0.49671415, 0.69238278, 1.11345368],
        [0.69238278, -0.23415337, 0.26664887],
        [1.11345368, 0.26664887, -0.46947439],
    ]
)
V = onp.array([[0.3, -0.2, 0.1], [0.5, 0.4, -0.7], [-0.6, 0.2, 0.8]])
C = onp.array([[1.0, -2.0, 0.5], [0.25, 1.5, -1.0], [2.0, 0.0, -0.5]])
POINTS = {"spd": X_SPD, "complex_eigs": X_CPLX, "negative_eigs": X_INDEF}


def _mp_tanm(m):
    return mp.inverse(mp.cosm(m)) * mp.sinm(m)


def _mp_tanhm(m):
    return mp.inverse(mp.expm(m) + mp.expm(-m)) * (mp.expm(m) - mp.expm(-m))


FUNCS = {
    "expm": (asla.expm, mp.expm),
    "logm": (asla.logm, mp.logm),
    "sqrtm": (asla.sqrtm, mp.sqrtm),
    "power_0.3": (
        lambda a: asla.fractional_matrix_power(a, 0.3),
        lambda m: mp.powm(m, mp.mpf("0.3")),
    ),
    "power_-1.7": (
        lambda a: asla.fractional_matrix_power(a, -1.7),
        lambda m: mp.powm(m, mp.mpf("-1.7")),
    ),
    "cosm": (asla.cosm, mp.cosm),
    "sinm": (asla.sinm, mp.sinm),
    "tanm": (asla.tanm, _mp_tanm),
    "coshm": (asla.coshm, lambda m: (mp.expm(m) + mp.expm(-m)) / 2),
    "sinhm": (asla.sinhm, lambda m: (mp.expm(m) - mp.expm(-m)) / 2),
    "tanhm": (asla.tanhm, _mp_tanhm),
}

_REF_CACHE: dict = {}


def _reference(fname, point, order):
    """d^order/ds^order Re sum(C * F(X + s V)) at s = 0, to ~30 digits."""
    key = (fname, point, order)
    if key not in _REF_CACHE:
        x, fm = POINTS[point], FUNCS[fname][1]
        with mp.workdps(60):

            def g(s):
                r = fm(mp.matrix(x.tolist()) + s * mp.matrix(V.tolist()))
                return mp.re(mp.fsum(C[i, j] * r[i, j] for i in range(3) for j in range(3)))

            h = mp.mpf("1e-12")
            if order == 2:
                val = (g(h) - 2 * g(0) + g(-h)) / h**2
            else:
                val = (g(2 * h) - 2 * g(h) + 2 * g(-h) - g(-2 * h)) / (2 * h**3)
        _REF_CACHE[key] = float(val)
    return _REF_CACHE[key]


MODES2 = {
    "fwd_fwd": lambda f: ag.deriv(ag.deriv(f)),
    "rev_fwd": lambda f: ag.grad(ag.deriv(f)),
    "fwd_rev": lambda f: ag.deriv(ag.grad(f)),
    "rev_rev": lambda f: ag.grad(ag.grad(f)),
}


def _along(fname, point):
    F, x = FUNCS[fname][0], POINTS[point]
    return lambda s: np.real(np.sum(C * F(x + s * V)))


@pytest.mark.parametrize("point", sorted(POINTS))
@pytest.mark.parametrize("fname", sorted(FUNCS))
@pytest.mark.parametrize("mode", sorted(MODES2))
def test_second_derivative(fname, point, mode):
    ref = _reference(fname, point, 2)
    got = MODES2[mode](_along(fname, point))(0.0)
    onp.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9 * max(1.0, abs(ref)))


MODES3 = {
    "fwd3": lambda f: ag.deriv(ag.deriv(ag.deriv(f))),
    "rev3": lambda f: ag.grad(ag.grad(ag.grad(f))),
    "rev_fwd_rev": lambda f: ag.grad(ag.deriv(ag.grad(f))),
}


@pytest.mark.parametrize("point", sorted(POINTS))
@pytest.mark.parametrize("fname", ["expm", "logm", "sqrtm", "power_0.3", "cosm"])
@pytest.mark.parametrize("mode", sorted(MODES3))
def test_third_derivative(fname, point, mode):
    ref = _reference(fname, point, 3)
    got = MODES3[mode](_along(fname, point))(0.0)
    onp.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8 * max(1.0, abs(ref)))


def test_old_wrong_second_derivative_is_gone():
    # reverse over forward once gave ~4e19 here (true value -0.21583806643033...)
    got = ag.grad(ag.deriv(_along("power_0.3", "negative_eigs")))(0.0)
    assert abs(got - (-0.21583806643033004)) < 1e-10
    # and logm raised SciPy's bare "array must not contain infs or NaNs"
    got = ag.grad(ag.grad(_along("logm", "negative_eigs")))(0.0)
    assert abs(got - (-1.7706574185847619)) < 1e-10


def test_refuses_complex_matrix_on_the_branch_cut():
    a = onp.diag([-2.0, 1.0, 3.0]).astype(complex) + 0.1j * onp.triu(onp.ones((3, 3)), 1)
    f = lambda s: np.real(np.sum(C * asla.logm(a + s * V)))  # noqa: E731
    with pytest.raises(NoDerivativeError, match="logm.*complex matrix.*negative real axis"):
        ag.grad(f)(0.0)


def test_refuses_real_matrix_with_repeated_negative_eigenvalue():
    q, _ = onp.linalg.qr(onp.arange(9.0).reshape(3, 3) + onp.eye(3))
    a = q @ onp.diag([-1.5, -1.5, 2.0]) @ q.T
    f = lambda s: np.real(np.sum(C * asla.fractional_matrix_power(a + s * V, 0.5)))  # noqa: E731
    with pytest.raises(NoDerivativeError, match="fractional_matrix_power.*repeated negative"):
        ag.deriv(f)(0.0)


def test_refuses_singular_matrix():
    a = onp.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    f = lambda s: np.real(np.sum(C * asla.logm(a + s * V)))  # noqa: E731
    with pytest.raises(NoDerivativeError, match="logm.*from 0"):
        ag.deriv(f)(0.0)


def test_sqrtm_refuses_repeated_negative_eigenvalue_and_singular():
    q, _ = onp.linalg.qr(onp.arange(9.0).reshape(3, 3) + onp.eye(3))
    a = q @ onp.diag([-1.5, -1.5, 2.0]) @ q.T
    f = lambda s: np.real(np.sum(C * asla.sqrtm(a + s * V)))  # noqa: E731
    with pytest.raises(NoDerivativeError, match="sqrtm.*repeated negative"):
        ag.grad(f)(0.0)
    a = onp.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    f = lambda s: np.real(np.sum(C * asla.sqrtm(a + s * V)))  # noqa: E731
    with pytest.raises(NoDerivativeError, match="sqrtm.*singular"):
        ag.deriv(f)(0.0)


def test_stacks_and_vmap_of_branch_derivatives():
    xs = onp.stack([X_SPD, X_INDEF])
    g = ag.grad(lambda s: np.real(np.sum(C * asla.logm(xs + s * V))))
    want = ag.grad(_along("logm", "spd"))(0.0) + ag.grad(_along("logm", "negative_eigs"))(0.0)
    onp.testing.assert_allclose(g(0.0), want, rtol=1e-10)


def _near_cut(theta):
    """A real matrix with the complex pair -1 +- i theta just across the negative axis."""
    q, _ = onp.linalg.qr(onp.arange(9.0).reshape(3, 3) + onp.eye(3))
    return q @ onp.array([[-1.0, theta, 0.0], [-theta, -1.0, 0.0], [0.0, 0.0, 2.0]]) @ q.T


def test_complex_pair_near_the_cut_is_right_or_refused():
    # the pair's divided differences straddle the cut (~pi / theta): the true second
    # derivative is ~ -6.28e12 here (finite differences of the forward first derivative);
    # reverse over reverse once gave -1.5e13 silently, and is now refused
    x = _near_cut(1e-7)
    f = lambda s: np.real(np.sum(C * asla.logm(x + s * V)))  # noqa: E731
    d1, h = ag.deriv(f), 1e-10
    fd = (d1(h) - d1(-h)) / (2 * h)
    onp.testing.assert_allclose(ag.deriv(ag.deriv(f))(0.0), fd, rtol=1e-4)
    assert abs(fd / -6.28e12 - 1) < 1e-3
    with pytest.raises(NoDerivativeError, match="logm.*from the branch cut"):
        ag.grad(ag.grad(f))(0.0)
    # further from the cut every mode is right
    x = _near_cut(1e-3)
    f = lambda s: np.real(np.sum(C * asla.logm(x + s * V)))  # noqa: E731
    ref = ag.deriv(ag.deriv(f))(0.0)
    d1, h = ag.deriv(f), 1e-7
    onp.testing.assert_allclose(ref, (d1(h) - d1(-h)) / (2 * h), rtol=1e-5)
    for mode in ("rev_fwd", "fwd_rev", "rev_rev"):
        onp.testing.assert_allclose(MODES2[mode](f)(0.0), ref, rtol=1e-7)
