"""The transformation engine: values, nesting, control flow, pytrees, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.primitive import MissingRuleError, Primitive
from adgraph.core.trace import EscapedTracerError


def article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


# ------------------------------------------------------------------ the article's example
def test_article_gradient_and_value():
    g = ad.grad(article, argnums=(0, 1))(2.0, 4.0)
    assert g == (3.5, 3.0)
    v, g0 = ad.value_and_grad(article)(2.0, 4.0)
    assert v == pytest.approx(8 + 4 - np.log(2.0), abs=1e-15)
    assert g0 == 3.5


def test_article_forward_mode_and_hessian():
    y, t = ad.jvp(article, (2.0, 4.0), (1.0, 0.0))
    assert t == pytest.approx(3.5)
    H = ad.hessian(article, argnums=(0, 1))(2.0, 4.0)
    assert np.allclose(np.array(H, dtype=float), [[0.25, 1.0], [1.0, 0.0]])


# ------------------------------------------------------------------ control flow
def piecewise(x):
    # the article's `if x > 2` example
    if x > 2:
        return x * 2 + 5
    return x / 2 + 5


def test_python_control_flow_follows_path():
    assert ad.grad(piecewise)(3.0) == 2.0
    assert ad.grad(piecewise)(1.0) == 0.5


def test_loops_recursion_early_return():
    def power_loop(x, n):
        out = 1.0
        i = 0
        while i < n:
            out = out * x
            i += 1
        return out

    def fact_like(x, n):
        if n == 0:
            return x
        return x * fact_like(x, n - 1)

    def early(x):
        for k in range(10):
            if k == 3:
                return x**k
        return x

    assert ad.grad(power_loop)(1.5, 4) == pytest.approx(4 * 1.5**3)
    assert ad.grad(fact_like)(2.0, 3) == pytest.approx(4 * 2.0**3)
    assert ad.grad(early)(2.0) == pytest.approx(3 * 4.0)


# ------------------------------------------------------------------ nesting
def test_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = 1
    f = lambda x: x * ad.grad(lambda y: x + y)(1.0)
    for x in (0.5, 3.0, -2.0):
        assert ad.grad(f)(x) == 1.0
    # forward-mode flavour of the same
    g = lambda x: x * ad.jvp(lambda y: x + y, (1.0,), (1.0,))[1]
    assert ad.jvp(g, (3.0,), (1.0,))[1] == 1.0


def test_inner_grad_of_closed_over_variable():
    # f(x) = d/dy (x * y^2) at y = 3  = 6x ; df/dx = 6
    f = lambda x: ad.grad(lambda y: x * y**2)(3.0)
    assert ad.grad(f)(2.0) == pytest.approx(6.0)
    assert ad.jacfwd(f)(2.0) == pytest.approx(6.0)


@pytest.mark.parametrize(
    "outer,inner",
    [
        (ad.grad, ad.grad),
        (ad.jacfwd, ad.grad),
        (ad.jacrev, ad.jacfwd),
        (ad.jacfwd, ad.jacfwd),
    ],
)
def test_nested_derivatives_of_sin_any_mix(outer, inner):
    x = 0.7
    d2 = outer(inner(anp.sin))(x)
    assert d2 == pytest.approx(-np.sin(x))
    d3 = ad.grad(outer(inner(anp.sin)))(x)
    assert d3 == pytest.approx(-np.cos(x))


def test_fourth_derivative():
    f = lambda x: anp.exp(2.0 * x)
    d = f
    for _ in range(4):
        d = ad.grad(d)
    assert d(0.3) == pytest.approx(16 * np.exp(0.6))


# ------------------------------------------------------------------ pytrees and argnums
def test_pytree_arguments_and_outputs():
    params = {"w": np.array([1.0, 2.0]), "b": 0.5, "extra": None, "layers": [np.ones(2), (3.0,)]}

    def loss(p, x):
        h = anp.sum(p["w"] * x) + p["b"]
        return h**2 + anp.sum(p["layers"][0]) * p["layers"][1][0]

    x = np.array([0.1, -0.2])
    g = ad.grad(loss)(params, x)
    h = 1 * 0.1 + 2 * -0.2 + 0.5
    assert np.allclose(g["w"], 2 * h * x)
    assert g["b"] == pytest.approx(2 * h)
    assert g["extra"] is None
    assert np.allclose(g["layers"][0], [3.0, 3.0])
    assert g["layers"][1][0] == pytest.approx(2.0)


def test_has_aux_and_argnums_errors():
    def f(x, y):
        return anp.sum(x * y), {"norm": anp.sum(x**2)}

    g, aux = ad.grad(f, argnums=1, has_aux=True)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert np.allclose(g, [1.0, 2.0])
    assert aux["norm"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        ad.grad(f, argnums=2)(1.0, 2.0)


def test_jacobians_of_pytrees():
    def f(d):
        return {"s": anp.sin(d["a"]) * d["b"], "t": anp.sum(d["a"])}

    d = {"a": np.array([0.1, 0.2, 0.3]), "b": 2.0}
    Jf = ad.jacfwd(f)(d)
    Jr = ad.jacrev(f)(d)
    assert np.allclose(Jf["s"]["a"], np.diag(2.0 * np.cos(d["a"])))
    assert np.allclose(Jf["s"]["b"], np.sin(d["a"]))
    for k1 in ("s", "t"):
        for k2 in ("a", "b"):
            assert np.allclose(Jf[k1][k2], Jr[k1][k2])
    assert Jr["t"]["a"].shape == (3,)


def test_jacobian_shapes_matrix_in_matrix_out():
    A = np.random.default_rng(0).standard_normal((2, 3))
    f = lambda X: anp.tanh(X @ A)
    X = np.random.default_rng(1).standard_normal((4, 2))
    Jf, Jr = ad.jacfwd(f)(X), ad.jacrev(f)(X)
    assert Jf.shape == (4, 3, 4, 2)
    assert np.allclose(Jf, Jr)


# ------------------------------------------------------------------ vjp / jvp / linearize / hvp
def test_vjp_callable_many_times_and_linearity():
    f = lambda x: anp.sin(x) * x
    x = np.array([0.3, 1.2])
    out, pull = ad.vjp(f, x)
    (a,) = pull(np.array([1.0, 0.0]))
    (b,) = pull(np.array([0.0, 2.0]))
    d = np.cos(x) * x + np.sin(x)
    assert np.allclose(a, [d[0], 0.0]) and np.allclose(b, [0.0, 2 * d[1]])


def test_linearize_does_not_rerun_function():
    calls = []

    def f(x):
        calls.append(1)
        return anp.exp(x) * x

    x = np.array([0.5, -1.0])
    y, f_jvp = ad.linearize(f, x)
    assert len(calls) == 1
    for v in (np.array([1.0, 0.0]), np.array([0.3, 2.0])):
        assert np.allclose(f_jvp(v), (np.exp(x) * (x + 1)) * v)
    assert len(calls) == 1


def test_hvp_matches_hessian():
    def rosen(x):
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = np.random.default_rng(2).standard_normal(6)
    v = np.random.default_rng(3).standard_normal(6)
    H = ad.hessian(rosen)(x)
    assert np.allclose(H, H.T)
    assert np.allclose(ad.hvp(rosen, (x,), (v,)), H @ v)
    assert np.allclose(H, ad.jacrev(ad.jacrev(rosen))(x))


# ------------------------------------------------------------------ deep and shared graphs
def test_deep_chain_has_no_recursion_error():
    def chain(x):
        for _ in range(50_000):
            x = x * 0.9999999 + 1e-9
        return x

    g = ad.grad(chain)(1.0)
    assert g == pytest.approx(0.9999999**50_000, rel=1e-9)


def test_diamond_dag_visits_each_node_once():
    def diamond(x):
        for _ in range(60):
            x = anp.sin(x) * 0.5 + anp.sin(x) * 0.5 if False else x * 0.5 + x * 0.5
        return x

    assert ad.grad(diamond)(1.3) == pytest.approx(1.0)
    # second order through the same shared structure
    f = lambda x: diamond(x) ** 2
    assert ad.grad(ad.grad(f))(1.3) == pytest.approx(2.0)


# ------------------------------------------------------------------ threads
def test_threads_do_not_interfere():
    barrier = threading.Barrier(2)
    results = {}

    def work(name, f, x, expected):
        barrier.wait()
        out = []
        for _ in range(200):
            out.append(ad.grad(f)(x))
        results[name] = np.allclose(out, expected)

    t1 = threading.Thread(target=work, args=("a", lambda x: x**3, 2.0, 12.0))
    t2 = threading.Thread(target=work, args=("b", lambda x: anp.sin(x) * 2, 0.5, 2 * np.cos(0.5)))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    assert results == {"a": True, "b": True}


# ------------------------------------------------------------------ dtypes
def test_float32_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    f = lambda x: anp.sum(anp.exp(x) * 2.0 + anp.sin(x) / 3.0)
    g = ad.grad(f)(x)
    assert g.dtype == np.float32
    H = ad.hessian(f)(x)
    assert H.dtype == np.float32
    _, t = ad.jvp(lambda x: anp.tanh(x) * 2.0, (x,), (np.ones(2, np.float32),))
    assert t.dtype == np.float32


def test_complex_convention_matches_jax():
    z = np.complex128(3 + 4j)
    assert ad.grad(lambda z: anp.abs(z) ** 2)(z) == pytest.approx(2 * np.conj(z))
    # Re(z^2) = x^2 - y^2: df/dx - i df/dy = 2x + 2iy = 2z
    assert ad.grad(lambda z: anp.real(z * z))(z) == pytest.approx(2 * z)
    assert ad.grad(lambda z: anp.imag(z))(z) == pytest.approx(-1j)
    # holomorphic: grad with holomorphic=True gives f'(z)
    assert ad.grad(lambda z: z**3, holomorphic=True)(z) == pytest.approx(3 * z**2)


# ------------------------------------------------------------------ errors
def test_nonscalar_grad_suggests_jacrev():
    with pytest.raises(TypeError, match="jacrev"):
        ad.grad(lambda x: x * 2)(np.ones(3))


def test_integer_input_refused_with_reason():
    with pytest.raises(TypeError, match="floating or complex"):
        ad.grad(lambda x: x * 2.0)(3)
    with pytest.raises(TypeError, match="floating or complex"):
        ad.grad(lambda x: anp.sum(x * 2.0))(np.arange(3))


def test_missing_rule_names_primitive_and_custom_vjp():
    p = Primitive("mystery_op_for_test", lambda xp, x: xp.sin(x), doc="test op")
    with pytest.raises(MissingRuleError, match="mystery_op_for_test.*custom_vjp"):
        ad.grad(lambda x: p.bind(x))(1.0)
    with pytest.raises(MissingRuleError, match="forward-mode"):
        ad.jvp(lambda x: p.bind(x), (1.0,), (1.0,))


def test_setitem_on_traced_array_names_at():
    def f(x):
        x[0] = 1.0
        return anp.sum(x)

    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        ad.grad(f)(np.ones(3))


def test_escaped_tracer_is_reported():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2.0

    ad.grad(f)(1.0)
    with pytest.raises(EscapedTracerError, match="after its transformation returned"):
        leaked[0] * 3.0


def test_plain_numpy_calls_dispatch_or_point_to_adgraph_numpy():
    # NumPy's own ufuncs and functions dispatch to adgraph's operation of the same name...
    assert ad.grad(lambda x: np.sin(x))(1.0) == pytest.approx(np.cos(1.0))
    assert ad.grad(lambda x: np.sum(np.exp(x)))(np.ones(2)) == pytest.approx(np.e * np.ones(2))
    assert ad.grad(lambda x: np.sum(np.ones(3) * x))(np.ones(3)) == pytest.approx(np.ones(3))
    # ...and what has no counterpart, or converts to a plain array, says what to use instead.
    with pytest.raises(TypeError, match="adgraph.numpy"):
        ad.grad(lambda x: np.asarray(x) * 2.0)(1.0)
    with pytest.raises(TypeError, match="adgraph.numpy"):
        ad.grad(lambda x: np.array2string(x) and x)(np.ones(2))
    # a ufunc's methods run adgraph's (np.add.reduce is adgraph.numpy.add.reduce)
    assert ad.grad(lambda x: np.add.reduce(x * x))(np.ones(2)) == pytest.approx(2 * np.ones(2))


def test_float_of_tracer_refused():
    with pytest.raises(TypeError, match="stop_gradient"):
        ad.grad(lambda x: float(x) * x)(1.0)


# ------------------------------------------------------------------ stop_gradient
def test_stop_gradient_at_every_level():
    f = lambda x: x * ad.stop_gradient(x)
    assert ad.grad(f)(3.0) == 3.0
    assert ad.grad(ad.grad(f))(3.0) == 0.0
    assert ad.jvp(f, (3.0,), (1.0,))[1] == 3.0


# ------------------------------------------------------------------ check_grads catches errors
@pytest.mark.parametrize("factor", [-1.0, 1.01, 1 + 1e-4])
def test_check_grads_catches_a_planted_wrong_rule(factor, monkeypatch):
    from adgraph.ops import elementwise as E
    from adgraph.test_util import GradCheckError, check_grads

    x = np.random.default_rng(0).standard_normal((3, 4))
    monkeypatch.setattr(E.sin_p, "vjp", (lambda ct, ans, x: ct * anp.cos(x) * factor,))
    with pytest.raises(GradCheckError):
        check_grads(anp.sin, (x,), order=1, modes=("rev",))
    monkeypatch.undo()
    monkeypatch.setattr(E.sin_p, "tangent", (lambda t, ans, x: t * anp.cos(x) * factor,))
    with pytest.raises(GradCheckError):
        check_grads(anp.sin, (x,), order=1, modes=("fwd",))


def test_million_operation_chain():
    # 10^6 primitive applications: recorded, then swept back without recursion
    def chain(x):
        for _ in range(1_000_000):
            x = x * 0.9999999
        return x

    assert ad.grad(chain)(1.0) == pytest.approx(0.9999999**1_000_000, rel=1e-9)


def test_cotangent_sums_accumulated_in_place_stay_correct():
    # x feeds many consumers (its cotangent is summed many times, in place after the
    # first sum); `add` hands the same cotangent object to both its arguments, and
    # reshapes/reversals hand out views -- none may be written through.
    x = np.arange(1.0, 7.0)

    def f(x):
        h = x + x  # one cotangent object for both arguments
        terms = [h * k for k in range(1, 5)] + [x[::-1], anp.reshape(x, (2, 3)).ravel(), h]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return anp.sum(total * x)

    g = ad.grad(f)(x)
    # f = sum(x (2x(1+2+3+4) + x[::-1] + x + 2x)) = sum(23 x^2 + x x[::-1])
    want = 46 * x + 2 * x[::-1]
    np.testing.assert_allclose(g, want)
    from adgraph.test_util import check_grads

    check_grads(f, (x,), order=2)
