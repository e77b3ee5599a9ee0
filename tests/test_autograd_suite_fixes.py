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


# ------------------------------------------------------------------ autograd.numpy names
def test_numpy_version_submodules_and_linalg_helpers():
    assert np.__version__ == onp.__version__
    # the shim's own submodules, not adgraph.numpy's (a star import had put those first)
    assert np.linalg.__name__ == "adgraph.autograd.numpy.linalg"
    assert np.fft.__name__ == "adgraph.autograd.numpy.fft"
    a = onp.arange(12.0).reshape(2, 3, 2)
    onp.testing.assert_array_equal(np.linalg.T(a), onp.swapaxes(a, -1, -2))
    onp.testing.assert_array_equal(np.linalg._dot(np.linalg.T(a), a), onp.swapaxes(a, 1, 2) @ a)
    # the gradient of sum(pinv(x^T x)) through the helpers, against finite differences
    x = onp.array([[1.0, 0.3], [-0.2, 0.8], [0.5, -0.4]])
    check_grads(lambda m: np.linalg.pinv(np.linalg._dot(np.linalg.T(m), m)), order=1)(x)


def test_make_diagonal_builds_stacks_of_diagonal_matrices():
    D = onp.array([[1.0, -2.0, 3.0], [0.5, onp.inf, -1.0]])
    A = np.make_diagonal(D, axis1=-1, axis2=-2)
    assert A.shape == (2, 3, 3)
    want = onp.zeros((2, 3, 3))
    for i in range(2):
        want[i][onp.diag_indices(3)] = D[i]
    onp.testing.assert_array_equal(A, want)  # no nan off the diagonal next to an inf
    w = onp.arange(9.0).reshape(3, 3)
    g = ag.grad(lambda d: np.sum(w * np.make_diagonal(d, axis1=-1, axis2=-2)))(D[0])
    onp.testing.assert_array_equal(g, onp.diag(w))
    with pytest.raises(NotImplementedError, match="axis1=-1, axis2=-2"):
        np.make_diagonal(D)


def test_where_of_python_values_gives_python_values():
    assert np.where(True, 1, 2) == 1 and type(np.where(True, 1, 2)) is int
    assert type(np.where(False, 1, 2.0)) is float
    assert np.where(True, [1, 2], [3, 4]) == [1, 2]
    res = np.where(onp.array([True, False]), 1.0, 2.0)
    assert isinstance(res, onp.ndarray) and res.tolist() == [1.0, 2.0]
    assert np.where(False, x=1.0, y=onp.float32(2.0)).dtype == onp.float32
    g = ag.grad(lambda t: np.sum(np.where(onp.array([True, False]), t**2, 3 * t)))
    onp.testing.assert_array_equal(g(onp.array([2.0, 5.0])), [4.0, 3.0])


def test_real_if_close_decides_on_the_concrete_value():
    f = lambda z: np.sum(np.abs(np.real_if_close(z * z)) ** 2)  # noqa: E731
    # z*z = 3 + 4j: stays complex; |z^2|^2 = |z|^4, gradient 4|z|^2 conj(z) in autograd's
    # convention for a real output of a complex input (the conjugate of d/dz)
    z = onp.array(2.0 + 1.0j)
    onp.testing.assert_allclose(ag.grad(f)(z), 4 * abs(z) ** 2 * onp.conj(z) * 1)
    # a tiny imaginary part is dropped: the result is real and differentiates as real(.)
    w = onp.array(1.5 + 1e-17j)
    out = ag.grad(lambda t: np.real_if_close(t * 2.0).real)(w)
    onp.testing.assert_allclose(out, 2.0)
    check_grads(np.real_if_close, modes=["fwd", "rev"])(onp.array([1.0 + 0.5j, -2.0 + 1.0j]))


# ------------------------------------------------------------------ autograd.scipy.stats
def test_stats_modules_pass_scipy_methods_through():
    from adgraph.autograd.scipy import stats

    onp.random.seed(0)
    x = stats.dirichlet.rvs(onp.array([1.0, 2.0, 3.0]), size=2)
    assert x.shape == (2, 3)
    onp.testing.assert_allclose(x.sum(axis=1), 1.0)
    with pytest.raises(NotImplementedError, match="scipy.stats.dirichlet.rvs"):
        ag.grad(lambda a: np.sum(stats.dirichlet.rvs(a)))(onp.array([1.0, 2.0]))
    with pytest.raises(AttributeError):
        stats.norm.no_such_method  # noqa: B018


def test_multivariate_normal_entropy_and_singular_covariance():
    from adgraph.autograd.scipy.stats import multivariate_normal as mvn

    cov = onp.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    # (d (1 + log 2 pi) + log det cov) / 2 with det cov = 0.875
    assert mvn.entropy(onp.zeros(3), cov) == pytest.approx(4.190049903301757, rel=1e-14)
    onp.testing.assert_allclose(
        ag.grad(mvn.entropy, 1)(onp.zeros(3), cov), 0.5 * onp.linalg.inv(cov)
    )
    # rank 2 of 4: -(2 log 2pi + 0.2^2 + 0.6^2) / 2; off the support: -inf (SciPy's values)
    S = onp.diag([1.0, 1.0, 0.0, 0.0])
    m = onp.array([0.1, 0.2, 0.0, 0.0])
    x = onp.array([0.3, -0.4, 0.0, 0.0])
    assert mvn.logpdf(x, m, S, allow_singular=True) == pytest.approx(-2.0378770664093455)
    assert mvn.logpdf(x + [0, 0, 0.1, 0], m, S, allow_singular=True) == -onp.inf
    C = onp.ones((2, 2))
    assert mvn.logpdf(onp.array([0.5, 0.5]), onp.zeros(2), C, allow_singular=True) == (
        pytest.approx(-1.3905121234846454)
    )
    g = ag.grad(lambda t: mvn.logpdf(t, m, S, allow_singular=True))(x)
    onp.testing.assert_allclose(g, [-0.2, 0.6, 0.0, 0.0], atol=1e-15)
    with pytest.raises(NotImplementedError, match="singular covariance"):
        ag.grad(lambda c: mvn.logpdf(x, m, c, allow_singular=True))(S)
    with pytest.raises(NotImplementedError, match="allow_singular"):
        import adgraph.scipy.stats as ads

        ads.multivariate_normal.logpdf(x, m, S, allow_singular=True)


# ------------------------------------------------------------------ extension API forms
def test_deprecated_primitive_methods_still_define_rules():
    from adgraph.autograd.core import primitive

    @primitive
    def mul(x, y):
        return x * y

    with pytest.warns(UserWarning, match="deprecated"):
        mul.defgrad(lambda ans, x, y: lambda g: y * g)
    with pytest.warns(UserWarning, match="deprecated"):
        mul.defgrad(lambda ans, x, y: lambda g: x * g, argnum=1)
    gx, gy = ag.grad(lambda a, b: np.sum(mul(a, b)), (0, 1))(onp.array([2.0]), onp.array([5.0]))
    assert gx.tolist() == [5.0] and gy.tolist() == [2.0]

    @primitive
    def cube(x):
        return x**3

    with pytest.warns(UserWarning):
        cube.defvjp(lambda g, ans, vs, gvs, x: g * 3 * x**2)
    assert ag.grad(cube)(2.0) == 12.0

    @primitive
    def flat(x, y):
        return 0.0 * x * y

    with pytest.warns(UserWarning):
        flat.defvjp_is_zero([0, 1])
    assert ag.grad(flat, 1)(2.0, 3.0) == 0.0


def test_primitive_vjps_is_the_live_registry():
    from adgraph.autograd.core import primitive_vjps
    from adgraph.autograd.extend import defvjp, primitive

    @primitive
    def twice(x):
        return 2.0 * x

    defvjp(twice, lambda ans, x: lambda g: 2.0 * g)
    assert twice in primitive_vjps
    assert ag.grad(twice)(1.0) == 2.0
    rule = primitive_vjps.pop(twice)
    with pytest.raises(NotImplementedError, match="no rule"):
        ag.grad(twice)(1.0)
    primitive_vjps[twice] = rule
    assert ag.grad(twice)(3.0) == 2.0


def test_quick_grad_check_and_operator_docs():
    from adgraph.autograd.util import quick_grad_check

    with pytest.warns(UserWarning, match="check_grads"):
        quick_grad_check(lambda x, y: x**2 + y, 1.0, (2.0,))
    square = ag.extend.primitive(lambda x: x**2)
    ag.extend.defvjp(square, lambda ans, x: lambda g: 3.0 * g * x)  # wrong: 3x, not 2x
    with pytest.warns(UserWarning), pytest.raises(AssertionError, match="VJP"):
        quick_grad_check(square, 1.0)
    assert ag.grad.__doc__.lstrip().startswith("Returns a function which")

    def foo(x, y):
        return x

    assert ag.grad(foo, 1).__doc__.startswith("    grad of function foo with")


def test_const_graph_traces_once_and_replays():
    from adgraph.autograd.misc import const_graph

    calls = []

    def foo(x, y):
        calls.append(None)
        return ag.grad(lambda t: np.sin(t) + 2 * t)(x * y)

    replay = const_graph(foo)
    assert replay(1.0, 0.5) == pytest.approx(onp.cos(0.5) + 2, rel=1e-15)
    assert replay(2.0, 0.25) == pytest.approx(onp.cos(0.5) + 2, rel=1e-15)
    assert replay(1.0, 2.0) == pytest.approx(onp.cos(2.0) + 2, rel=1e-15)
    assert len(calls) == 1  # traced on the first call, replayed after

    bound = const_graph(lambda x, y, z: x + 2 * y + 3 * z, 1.0, z=3.0)
    assert bound(2.0) == 14.0 and bound(-1.0) == 8.0


def test_grad_with_respect_to_empty_containers_is_the_empty_structure():
    f = lambda c, k: 1.0  # noqa: E731
    assert ag.grad(f)([], 0) == []
    assert ag.grad(f)((), 0) == ()
    assert ag.grad(f)([()], 0) == [()]
    onp.testing.assert_array_equal(ag.grad(lambda c: 1.0)(onp.zeros(2)), onp.zeros(2))


# ------------------------------------------------------------------ fixed_point
def _sqrt_by(fixed_point, tol, newton=True):
    def step(a):
        if newton:
            return lambda x: 0.5 * (x + a / x)
        return lambda x: x - 0.05 * (x**2 - a)  # gradient descent on (x^2 - a)^2 / 4

    return lambda a: fixed_point(step, a, 10.0, lambda x, y: np.abs(x - y), tol)


@pytest.mark.parametrize("newton", [True, False])
def test_fixed_point_second_derivative_uses_the_implicit_rule_twice(newton):
    from adgraph.autograd.misc.fixed_points import fixed_point

    sqrt = _sqrt_by(fixed_point, 1e-14, newton)
    # d/da sqrt(a) = a^(-1/2) / 2, d2/da2 = -a^(-3/2) / 4
    assert ag.grad(sqrt)(2.0) == pytest.approx(0.5 / onp.sqrt(2.0), rel=1e-11)
    assert ag.grad(ag.grad(sqrt))(2.0) == pytest.approx(-0.25 * 2.0**-1.5, rel=1e-10)
    assert ag.deriv(ag.deriv(sqrt))(2.0) == pytest.approx(-0.25 * 2.0**-1.5, rel=1e-10)


def test_fixed_point_derivatives_at_a_loose_tolerance_follow_autograds_iterations():
    from adgraph.autograd.misc.fixed_points import fixed_point

    ours = ag.grad(ag.grad(_sqrt_by(fixed_point, 1e-4, newton=False)))(2.0)
    # the adjoint's own fixed point, iterated from zero to the same tolerance, then
    # differentiated by the implicit rule: -0.08809989985285249 (autograd's number too);
    # unrolling the adjoint iterations instead gave -0.08817511519441668
    assert ours == pytest.approx(-0.08809989985285249, rel=1e-13)
    autograd = pytest.importorskip("autograd")
    from autograd.misc.fixed_points import fixed_point as theirs_fp

    theirs = autograd.grad(autograd.grad(_sqrt_by(theirs_fp, 1e-4, newton=False)))(2.0)
    assert ours == pytest.approx(theirs, rel=1e-13)


# ------------------------------------------------------------------ check_grads' tolerance
def test_check_grads_modes_agree_to_autograds_tolerance():
    from adgraph.autograd.scipy.integrate import odeint

    def func(y, t, a1, a2):
        return -np.sqrt(t) - y + a1 - np.mean((y + a2) ** 2)

    t = onp.linspace(0.1, 0.2, 4)
    a = (onp.array([1.52, -0.23, -0.23]), onp.array([1.58, 0.77, -0.47]))
    # odeint's adjoint agrees with its forward sensitivities to the solver's tolerance
    # (~5e-9 here), which autograd's tolerance (1e-6) accepts and 1e-9 did not
    check_grads(lambda y0: odeint(func, y0, t, a))(onp.array([0.5, -0.14, 0.65]))

    # a reverse rule 1e-4 off is still caught: finite differences alone let it through,
    # the agreement of the two modes does not
    @ag.extend.primitive
    def twice(x):
        return 2.0 * x

    ag.extend.defvjp(twice, lambda ans, x: lambda g: 2.0002 * g)
    ag.extend.defjvp(twice, lambda g, ans, x: 2.0 * g)
    with pytest.raises(AssertionError, match="VJP against JVP"):
        check_grads(twice, modes=["rev"], order=1)(onp.array([0.3, -1.2]))
