"""adgraph.scipy.optimize.minimize: SciPy's minimize with adgraph's derivatives, checked
against SciPy's own Rosenbrock derivatives and solutions."""

import numpy as np
import pytest

import adgraph.numpy as anp

so = pytest.importorskip("scipy.optimize")
sparse = pytest.importorskip("scipy.sparse")

from adgraph.scipy.optimize import HESS_METHODS, HESSP_METHODS, JAC_METHODS, minimize  # noqa: E402


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2, 0.9])
SCIPY_MINIMIZE = so.minimize  # the reference runs, never spied on


@pytest.fixture
def captured(monkeypatch):
    """The keywords minimize hands to scipy.optimize.minimize (the call still runs)."""
    seen = {}
    real = so.minimize

    def spy(fun, x0, **kw):
        seen.update(kw, fun=fun, x0=x0)
        return real(fun, x0, **kw)

    monkeypatch.setattr(so, "minimize", spy)
    return seen


@pytest.mark.parametrize(
    "method",
    ["BFGS", "CG", "L-BFGS-B", "TNC", "SLSQP", "Newton-CG", "trust-ncg", "trust-krylov",
     "trust-exact", "dogleg", "trust-constr"],
)  # fmt: skip
def test_every_gradient_method_reaches_the_minimum(method, captured):
    limit = {"maxfun": 5000} if method == "TNC" else {"maxiter": 3000}
    x0 = 1.0 + 0.1 * (X0 - 1.0) if method == "dogleg" else X0  # dogleg needs H > 0
    res = minimize(rosen, x0, method=method, options=limit)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(6), atol=2e-3)
    m = method.lower()
    # SciPy with its own exact derivatives takes the same path.
    ref_kw = {"jac": so.rosen_der}
    if m in HESSP_METHODS or m == "trust-constr":
        ref_kw["hessp"] = so.rosen_hess_prod
    elif m in HESS_METHODS:
        ref_kw["hess"] = so.rosen_hess
    ref = SCIPY_MINIMIZE(so.rosen, x0, method=method, options=limit, **ref_kw)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-9)
    assert captured["jac"] is True  # value and gradient from one reverse sweep
    f, g = captured["fun"](X0)
    assert f == pytest.approx(so.rosen(X0), rel=1e-14)
    np.testing.assert_allclose(g, so.rosen_der(X0), rtol=1e-13)
    p = np.linspace(-1.0, 1.0, 6)
    if m in HESSP_METHODS:
        np.testing.assert_allclose(captured["hessp"](X0, p), so.rosen_hess_prod(X0, p), rtol=1e-12)
    elif m in ("dogleg", "trust-exact"):
        np.testing.assert_allclose(captured["hess"](X0), so.rosen_hess(X0), rtol=1e-12)
    elif m == "trust-constr":  # n = 6 < 100: Hessian-vector products by default
        np.testing.assert_allclose(captured["hessp"](X0, p), so.rosen_hess_prod(X0, p), rtol=1e-12)
    else:
        assert "hess" not in captured and "hessp" not in captured
    assert m in JAC_METHODS


def test_same_iterates_as_scipy_with_its_own_derivatives():
    mine = minimize(rosen, X0, method="BFGS")
    ref = SCIPY_MINIMIZE(so.rosen, X0, method="BFGS", jac=so.rosen_der)
    assert mine.nit == ref.nit
    np.testing.assert_allclose(mine.x, ref.x, rtol=1e-10)


def test_trust_constr_gets_a_sparse_hessian():
    n = 200
    x0 = np.full(n, -0.3)
    for sparse_flag in (None, True):  # n >= 100 and 3n nonzeros: sparse by default
        seen = {}
        real = so.minimize

        def spy(fun, x, **kw):
            seen.update(kw)
            return real(fun, x, **kw)

        so.minimize, saved = spy, so.minimize
        try:
            res = minimize(rosen, x0, method="trust-constr", sparse=sparse_flag,
                           options={"maxiter": 2000})  # fmt: skip
        finally:
            so.minimize = saved
        h = seen["hess"](x0)
        assert sparse.issparse(h) and h.nnz == 3 * n - 2
        np.testing.assert_allclose(h.toarray(), so.rosen_hess(x0), rtol=1e-12)
        np.testing.assert_allclose(res.x, np.ones(n), atol=1e-4)
    assert "trust-constr" in HESS_METHODS


def test_shapes_args_and_user_derivatives(captured):
    def f(x, a, b):  # x of shape (2, 2)
        return anp.sum((x - a) ** 2) * b

    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    res = minimize(f, np.zeros((2, 2)), args=(a, 2.0), method="L-BFGS-B")
    assert res.x.shape == (2, 2)
    np.testing.assert_allclose(res.x, a, atol=1e-6)
    calls = []

    def my_jac(v, a, b):
        calls.append(1)
        return 2.0 * b * (v - a.ravel())

    minimize(f, np.zeros((2, 2)), args=(a, 2.0), method="BFGS", jac=my_jac)
    assert captured["jac"] is my_jac and calls
    captured.clear()
    res = minimize(rosen, X0[:2], method="Nelder-Mead", options={"maxiter": 2000})
    assert "jac" not in captured and res.success
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)


def test_jax_style_call():
    res = minimize(rosen, X0, (), method="BFGS", tol=1e-10, options={"maxiter": 500})
    assert res.success and res.fun < 1e-12


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="real scalar"):
        minimize(lambda x: x**2, X0)
    with pytest.raises(ValueError, match="trust-constr"):
        minimize(rosen, X0, method="BFGS", sparse=True)
    with pytest.raises(ValueError, match="no derivatives"):
        minimize(rosen, X0, method="Powell", jac=so.rosen_der)
    with pytest.raises(TypeError, match="real numbers"):
        minimize(rosen, X0 + 1j)
    with pytest.raises(TypeError, match="callable"):
        minimize(3, X0)
    with pytest.raises(ValueError, match="empty"):
        minimize(rosen, [])
