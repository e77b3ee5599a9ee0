"""Taylor mode: jet, derivative and taylor against exact series, nested AD and closed forms.

The reference for each rule is independent of adgraph: SymPy gives the derivatives
f^(m)(x0) exactly (evaluated with 30 digits), and the series of f(x(t)) for an input curve
x(t) is composed from them with plain polynomial arithmetic (Faa di Bruno by truncated
powers of x(t) - x0).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as asp
from adgraph.ad.taylor import RULES, TaylorTrace, fallback
from adgraph.core.primitive import registry

K = 8
X = sp.Symbol("x")


def _poly_mul(a, b, n):
    out = [0.0] * (n + 1)
    for i, ai in enumerate(a[: n + 1]):
        for j, bj in enumerate(b[: n + 1 - i]):
            out[i + j] += ai * bj
    return out


def exact_jet(expr, x0, terms):
    """Derivative coefficients of t -> f(x(t)), x(t) = x0 + sum terms[k-1] t^k / k!."""
    n = len(terms)
    derivs = [float(sp.diff(expr, X, m).subs(X, sp.Float(x0, 30)).evalf(30)) for m in range(n + 1)]
    dx = [0.0] + [terms[k - 1] / math.factorial(k) for k in range(1, n + 1)]  # x(t) - x0
    out = [0.0] * (n + 1)
    power = [1.0] + [0.0] * n
    for m in range(n + 1):
        coef = derivs[m] / math.factorial(m)
        out = [o + coef * p for o, p in zip(out, power)]
        power = _poly_mul(power, dx, n)
    return out[0], [out[k] * math.factorial(k) for k in range(1, n + 1)]


# (name, adgraph function, SymPy expression, point)
UNARY = [
    ("exp", anp.exp, sp.exp(X), 0.3),
    ("expm1", anp.expm1, sp.exp(X) - 1, -0.4),
    ("log", anp.log, sp.log(X), 1.7),
    ("log1p", anp.log1p, sp.log(1 + X), 0.6),
    ("sqrt", anp.sqrt, sp.sqrt(X), 2.3),
    ("square", anp.square, X**2, -1.3),
    ("reciprocal", anp.reciprocal, 1 / X, 0.8),
    ("sin", anp.sin, sp.sin(X), 0.9),
    ("cos", anp.cos, sp.cos(X), -0.7),
    ("tan", anp.tan, sp.tan(X), 0.5),
    ("sinh", anp.sinh, sp.sinh(X), 0.4),
    ("cosh", anp.cosh, sp.cosh(X), -0.6),
    ("tanh", anp.tanh, sp.tanh(X), 0.35),
    ("arctan", anp.arctan, sp.atan(X), 0.75),
    ("expit", asp.expit, 1 / (1 + sp.exp(-X)), -0.9),
    ("erf", asp.erf, sp.erf(X), 0.45),
    ("negative", anp.negative, -X, 0.2),
    ("integer_pow", lambda x: x**5, X**5, -1.1),
    ("integer_pow", lambda x: x**-3, X**-3, 1.4),
    ("power", lambda x: anp.power(x, 2.5), X**2.5, 1.6),
]
# A curve with every coefficient nonzero, so every term of each recurrence is exercised.
TERMS = [0.7, -0.4, 0.25, 0.3, -0.2, 0.15, 0.1, -0.05]


@pytest.mark.parametrize("name,f,expr,x0", UNARY, ids=[u[0] for u in UNARY])
def test_unary_rule_equals_exact_series(name, f, expr, x0):
    assert registry[name].taylor is not None, f"{name} should have a Taylor rule"
    y, ys = ad.jet(f, (x0,), (TERMS,))
    ey, eys = exact_jet(expr, x0, TERMS)
    assert np.isclose(y, ey, rtol=1e-13)
    np.testing.assert_allclose(ys, eys, rtol=1e-10, atol=1e-12)


BINARY = [
    ("add", anp.add, lambda a, b: a + b),
    ("subtract", anp.subtract, lambda a, b: a - b),
    ("multiply", anp.multiply, lambda a, b: a * b),
    ("divide", anp.divide, lambda a, b: a / b),
    ("power", anp.power, lambda a, b: a**b),
]


def _mp_derivs(h, n):
    """Derivatives 0..n at t = 0 of the mpmath function ``h``, with 40 digits."""
    with mpmath.workdps(40):
        return [float(c * math.factorial(k)) for k, c in enumerate(mpmath.taylor(h, 0, n))]


def _curve(x0, terms):
    return lambda t: x0 + sum(c * t**k / math.factorial(k) for k, c in enumerate(terms, 1))


@pytest.mark.parametrize("name,f,g", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rule_equals_exact_series(name, f, g):
    # Both arguments move along one parameter: x(t), y(t) given by their series.
    xs, ys_ = [0.5, -0.3, 0.2, 0.1, -0.1, 0.05], [-0.4, 0.6, -0.2, 0.3, 0.1, -0.2]
    x0, y0 = 1.3, 0.7
    n = len(xs)
    xt, yt = _curve(mpmath.mpf(x0), xs), _curve(mpmath.mpf(y0), ys_)
    exact = _mp_derivs(lambda t: g(xt(t), yt(t)), n)
    out, series = ad.jet(f, (x0, y0), (xs, ys_))
    assert np.isclose(out, exact[0], rtol=1e-13)
    np.testing.assert_allclose(series, exact[1:], rtol=1e-10, atol=1e-12)
    # one argument constant (its series is zero): the rule's constant-operand branch
    for i in range(2):
        zs = [[0.0] * n, [0.0] * n]
        zs[i] = [xs, ys_][i]
        if i == 0:
            ex = _mp_derivs(lambda t: g(xt(t), mpmath.mpf(y0)), n)
        else:
            ex = _mp_derivs(lambda t: g(mpmath.mpf(x0), yt(t)), n)
        _, s_ = ad.jet(f, (x0, y0), tuple(zs))
        np.testing.assert_allclose(s_, ex[1:], rtol=1e-10, atol=1e-12)


def test_where_and_arrays_with_broadcasting():
    x = np.array([0.3, -0.5, 1.2])
    v = np.array([1.0, 2.0, -1.0])
    c = np.array([[2.0], [3.0]])  # a constant that broadcasts the result to (2, 3)

    def f(x):
        return anp.where(x > 0, anp.sin(x), x**2) * c + 1.0

    y, (d1, d2, d3) = ad.jet(f, (x,), ((v, 0 * v, 0 * v),))
    assert y.shape == d1.shape == d3.shape == (2, 3)
    # closed form: along x + t v, sin'' = -sin, (x^2)'' = 2
    pos = x > 0
    e1 = np.where(pos, np.cos(x) * v, 2 * x * v) * c
    e2 = np.where(pos, -np.sin(x) * v**2, 2 * v**2) * c
    e3 = np.where(pos, -np.cos(x) * v**3, 0.0) * c
    np.testing.assert_allclose(d1, e1, rtol=1e-13)
    np.testing.assert_allclose(d2, e2, rtol=1e-13)
    np.testing.assert_allclose(d3, e3, rtol=1e-13, atol=1e-15)


def test_linear_ops_pass_series_through():
    x = np.arange(6.0).reshape(2, 3) / 7 + 0.1
    v = np.cos(np.arange(6.0)).reshape(2, 3)

    def f(x):
        return anp.sum(anp.exp(x.T.reshape(6)[1:4]) * 2.0)

    y, series = ad.jet(f, (x,), ((v, v, v, v),))
    # along x + t v: sum_i 2 exp(x_i + t v_i); its k-th derivative is sum_i 2 v_i^k exp(x_i)
    sel = x.T.reshape(6)[1:4]
    w = v.T.reshape(6)[1:4]
    # second-order terms of the input curve (x2 = x3 = x4 = v) add to the chain rule:
    # check against the exact series of each scalar exp instead
    exact = [0.0] * 4
    for xi, wi in zip(sel, w):
        _, s = exact_jet(sp.exp(X), float(xi), [wi] * 4)
        exact = [e + 2 * si for e, si in zip(exact, s)]
    assert np.isclose(y, 2 * np.exp(sel).sum())
    np.testing.assert_allclose(series, exact, rtol=1e-12)
    for name in ("reshape", "transpose", "reduce_sum", "broadcast_to", "static_slice"):
        assert registry[name].taylor is not None


def test_derivative_of_a_composition_matches_nested_grad_and_sympy():
    def g(x):
        return anp.tanh(anp.sin(x) * anp.exp(0.1 * x)) + 0.3 * x

    def f(x):
        for _ in range(3):
            x = g(x)
        return x

    x0 = 0.4
    d = ad.grad
    assert np.isclose(ad.derivative(f, 1)(x0), d(f)(x0), rtol=1e-13)
    assert np.isclose(ad.derivative(f, 3)(x0), d(d(d(f)))(x0), rtol=1e-11)

    def gm(x):
        return mpmath.tanh(mpmath.sin(x) * mpmath.exp(x / 10)) + 3 * x / 10

    def fm(t):
        x = mpmath.mpf("0.4") + t
        for _ in range(3):
            x = gm(x)
        return x

    exact = _mp_derivs(fm, 6)[6]
    assert np.isclose(ad.derivative(f, 6)(x0), exact, rtol=1e-10)
    assert ad.derivative(f, 0)(x0) == f(x0)


def test_jet_of_composition_is_composition_of_jets():
    def f(x):
        return anp.sin(x) * anp.exp(x)

    def g(y):
        return anp.log1p(y * y) + anp.sqrt(y + 3.0)

    x0 = np.array([0.2, 0.9])
    terms = [np.array([1.0, -0.5]), np.array([0.3, 0.2]), np.array([-0.1, 0.4]), 0.1 * x0]
    y0, ys = ad.jet(f, (x0,), (terms,))
    z0, zs = ad.jet(g, (y0,), (ys,))
    w0, ws = ad.jet(lambda x: g(f(x)), (x0,), (terms,))
    np.testing.assert_allclose(z0, w0, rtol=1e-14)
    np.testing.assert_allclose(zs, ws, rtol=1e-12)


def test_second_coefficient_is_vHv_and_taylor_coefficients():
    def f(x):
        return anp.sum(anp.tanh(x) * anp.roll(x, 1) ** 2) + anp.prod(anp.cos(x))

    x = np.array([0.3, -0.8, 1.1, 0.5])
    v = np.array([0.7, 0.2, -1.0, 0.4])
    H = ad.hessian(f)(x)
    _, (d1, d2) = ad.jet(f, (x,), ((v, np.zeros(4)),))
    assert np.isclose(d1, ad.grad(f)(x) @ v, rtol=1e-13)
    assert np.isclose(d2, v @ H @ v, rtol=1e-12)
    c = ad.taylor(f, x, v, 3)
    assert len(c) == 4 and np.isclose(c[0], f(x))
    assert np.isclose(c[2], v @ H @ v / 2, rtol=1e-12)
    third = ad.jvp(lambda x: ad.hvp(f, (x,), (v,)) @ v, (x,), (v,))[1]
    assert np.isclose(c[3], third / 6, rtol=1e-11)


def test_fallback_equals_rule():
    # Every rule is checked against the generic fallback that uses the forward rule only.
    x0, terms = np.float64(0.55), [0.9, -0.3, 0.2, 0.4, -0.1]
    x0s = {"arccosh": np.float64(1.55), "gammaln": np.float64(1.55)}
    names = ("exp", "log", "sin", "tanh", "expit", "erf", "sqrt", "arctan", "tan", "arcsin")
    names += ("arccosh", "arctanh", "cbrt", "exp2", "log10", "erfinv", "gammaln", "logit")
    for name in names:
        prim = registry[name]
        tr = TaylorTrace(len(terms))
        cs = [t / math.factorial(k) for k, t in enumerate(terms, 1)]
        x = x0s.get(name, x0)
        a1, s1 = RULES[name]([x], [cs], {})
        a2, s2 = fallback(tr, prim, [x], [cs], {})
        assert np.isclose(a1, a2)
        np.testing.assert_allclose(s1, s2, rtol=1e-11, err_msg=name)
    # and on a binary primitive with a broadcast constant, and a reduction without a rule
    cs = [np.array([0.5, -1.0]), np.array([0.2, 0.1])]
    y = np.array([[1.5, 2.0], [0.5, 3.0]])
    tr = TaylorTrace(2)
    _, s1 = RULES["power"]([np.array([1.2, 0.7]), 1.5], [cs, None], {})
    _, s2 = fallback(tr, registry["power"], [np.array([1.2, 0.7]), 1.5], [cs, None], {})
    np.testing.assert_allclose(s1, s2, rtol=1e-12)
    _, s1 = RULES["divide"]([np.array([1.2, 0.7]), y], [cs, None], {})
    _, s2 = fallback(tr, registry["divide"], [np.array([1.2, 0.7]), y], [cs, None], {})
    np.testing.assert_allclose(np.broadcast_to(s1[1], (2, 2)), s2[1], rtol=1e-12)


def test_the_fallback_alone_gives_exact_series():
    # The generic fallback, called directly on primitives that have rules (arcsinh, prod,
    # matmul, cumprod), equals SymPy's series: it is the path of every primitive in
    # FALLBACK below.
    x0, terms = 0.3, [1.0, 0.5, -0.2, 0.1, 0.3]
    cs = [t / math.factorial(k) for k, t in enumerate(terms, 1)]
    _, s = fallback(TaylorTrace(5), registry["arcsinh"], [np.float64(x0)], [cs], {})
    _, e = exact_jet(sp.asinh(X), x0, terms)
    np.testing.assert_allclose([c * math.factorial(k) for k, c in enumerate(s, 1)], e, rtol=1e-10)
    x = np.array([0.5, 1.5, -0.7])
    v = np.array([0.3, -0.2, 0.9])
    T = sp.Symbol("t")
    pe = sp.prod([float(a) + float(b) * T for a, b in zip(x, v)])
    exact = [float(sp.diff(pe, T, k).subs(T, 0)) / math.factorial(k) for k in (1, 2, 3)]
    params = {"axis": (0,), "keepdims": False}
    _, p = fallback(TaylorTrace(3), registry["reduce_prod"], [x], [[v, 0 * v, 0 * v]], params)
    np.testing.assert_allclose(p, exact, rtol=1e-12)
    # the rules agree with it
    _, p2 = RULES["reduce_prod"]([x], [[v, 0 * v, 0 * v]], params)
    np.testing.assert_allclose(p2, exact, rtol=1e-12)
    A = np.array([[1.0, 2.0], [0.5, -1.0]])
    B = [np.array([[0.3, 0.1], [0.2, -0.4]]), np.eye(2)]
    _, m1 = fallback(TaylorTrace(2), registry["matmul"], [A, A], [B, B], {})
    _, m2 = RULES["matmul"]([A, A], [B, B], {})
    # (A + B1 t + B2 t^2)^2: t coefficient A B1 + B1 A, t^2: A B2 + B1^2 + B2 A
    np.testing.assert_allclose(m1[0], A @ B[0] + B[0] @ A, rtol=1e-14)
    np.testing.assert_allclose(m1[1], A @ B[1] + B[0] @ B[0] + B[1] @ A, rtol=1e-14)
    np.testing.assert_allclose(m2, m1, rtol=1e-14)


# Differentiable primitives that have no Taylor rule of their own and go through the
# generic fallback (correct, slower: see adgraph.ad.taylor.fallback), each group with the
# reason. A primitive leaves this list when it gets a rule; a new primitive joins one or
# the other.
FALLBACK = {
    # identities that check their argument before a derivative is taken (det's third
    # derivative, sqrtm's derivative): their forward rules pass the tangent through
    "linalg_det_third_derivative_check", "linalg_sqrtm_derivative_check",
    # the fused neural-network kernels (registered when adgraph.nn loads them) and the
    # homogenisation example's tangent solve: their forward rules are elementwise formulas
    # whose own operations have rules, so the fallback is cheap there
    "fused_gelu", "fused_gelu_bwd", "fused_gelu_tanh", "fused_gelu_tanh_bwd", "fused_relu",
    "fused_relu_bwd", "fused_sigmoid", "fused_sigmoid_bwd", "fused_softmax_cross_entropy",
    "fused_softmax_cross_entropy_bwd", "fused_softplus", "fused_softplus_bwd", "fused_tanh",
    "fused_tanh_bwd", "homogenization_tangent_solve",
    # sinc: the quotient recurrence divides by pi x, zero at the removable singularity that
    # the forward rule handles by its own series
    "sinc",
    # scatter_mul: repeated indices multiply several updates into one entry, not one
    # Cauchy product of two series
    "scatter_mul",
    # det's derivative primitives from the SVD (exact at singular matrices) and the
    # factorisations: each order solves a Sylvester-type equation through the forward rule
    "linalg_cofactor", "linalg_cofactor_lin", "linalg_eigh",
    "linalg_eigvalsh", "linalg_svd", "linalg_svdvals", "linalg_qr", "linalg_pinv",
    "linalg_eig", "linalg_eigvals", "linalg_lu", "linalg_schur", "linalg_hessenberg",
    "linalg_expm", "linalg_logm", "linalg_sqrtm", "linalg_solve_sylvester",
    "linalg_fractional_matrix_power",
    # eig's check of its eigenvector matrix (the identity on V, checked on every call) and
    # polar's factors at a singular matrix (their derivatives refused): the forward rule is
    # the identity, or refuses
    "linalg_eig_basis_check", "linalg_polar_singular", "linalg_qr_full_rank",
    # call primitives and loops (declared in api, jit and lax): the fallback pushes the
    # series through their forward rules (a custom_jvp's own rule, the loop body's tangent)
    "custom_jvp_call", "custom_vjp_call", "custom_root",
    "linear_solve", "odeint", "checkpoint_saved",
    # switch (a staged cond): its index may be traced by jit, so a rule must bind a switch
    # of Taylor-transformed branches; the fallback does that through the forward rule
    "switch",
    # newer primitives whose declarations give no rule yet (linear in their float
    # argument: the fallback costs one forward rule per order there)
    "ldexp", "bincount", "signal_lfilter",
    # scipy.special's further functions (Bessel, incomplete gamma and beta, zeta, ...):
    # their forward rules are written with other special functions
    "polygamma_diff", "jv", "yv", "jn", "yn", "j0", "j1", "y0", "y1", "iv", "ive", "i0", "i1", "i0e", "i1e",
    "kv", "kve", "k0", "k1", "k0e", "k1e", "gamma", "gammasgn", "loggamma", "rgamma",
    "betaln", "beta", "poch", "gammainc", "gammaincc", "gammaincinv", "gammainccinv",
    "betainc", "betaincinv", "zeta", "riemann_zeta", "ndtr", "ndtri", "log_ndtr", "erfcx",
    "erfcinv", "dawsn", "wofz", "expi", "exp1", "expn", "spence", "owens_t", "hyp1f1",
    "hyp2f1", "boxcox", "boxcox1p", "kl_div", "rel_entr", "binom", "gammainc_da", "betainc_dab",
    "vonmises_cdf", "vonmises_cdf_dkappa", "vonmises_ppf",
    "fresnel_s", "fresnel_c", "si", "ci", "sph_harm_y", "numpy_i0", "stdtr", "stdtrit",
}  # fmt: skip


def _declared_by_adgraph(p):
    return getattr(p.impl, "__module__", "").startswith("adgraph")


def test_every_differentiable_primitive_has_a_rule_or_is_listed():
    prims = {n: p for n, p in registry.items() if not p.nondiff and _declared_by_adgraph(p)}
    missing = sorted(n for n, p in prims.items() if p.taylor is None and n not in FALLBACK)
    assert not missing, (
        f"primitives with neither a Taylor rule nor an entry in FALLBACK: {missing}; give "
        "them taylor= in their declaration (adgraph.ad.taylor has the recurrences and "
        "builders), or list them here to use the generic fallback"
    )
    stale = sorted(n for n in FALLBACK if n in prims and prims[n].taylor is not None)
    assert not stale, f"FALLBACK lists primitives that now have a Taylor rule: {stale}"


def test_nested_jets_and_grad_of_jet():
    # d/dx of the 3rd derivative (by jet) = the 4th derivative; nested derivative()s
    f = lambda x: anp.exp(anp.sin(x))  # noqa: E731
    x0 = 0.3
    d3 = ad.derivative(f, 3)
    d4 = ad.derivative(f, 4)(x0)
    assert np.isclose(ad.grad(d3)(x0), d4, rtol=1e-12)
    assert np.isclose(ad.derivative(d3, 1)(x0), d4, rtol=1e-12)
    assert np.isclose(ad.derivative(ad.derivative(f, 2), 2)(x0), d4, rtol=1e-12)
    # jet of grad
    assert np.isclose(ad.derivative(ad.grad(f), 3)(x0), d4, rtol=1e-12)


def test_pytrees_and_float32():
    def f(p):
        return {"s": anp.sin(p["a"]) * p["b"], "t": [p["a"] + 1.0]}

    p = {"a": np.float32(0.5), "b": np.array([1.0, 2.0], np.float32)}
    t1 = {"a": 1.0, "b": np.ones(2, np.float32)}
    t2 = {"a": 0.0, "b": np.zeros(2, np.float32)}
    out, series = ad.jet(f, (p,), ((t1, t2),))
    s1, s2 = series["s"]
    assert s1.dtype == np.float32 and s1.shape == (2,)
    # d/dt sin(a+t)(b+t) = cos(a)b + sin(a); d2 = -sin(a)b + 2cos(a)
    a, b = 0.5, np.array([1.0, 2.0])
    np.testing.assert_allclose(s1, np.cos(a) * b + np.sin(a), rtol=1e-6)
    np.testing.assert_allclose(s2, -np.sin(a) * b + 2 * np.cos(a), rtol=1e-6)
    assert series["t"][0] == [1.0, 0.0] or np.allclose(series["t"][0], [1.0, 0.0])


def test_matmul_series():
    A = np.array([[1.0, 2.0], [0.5, -1.0]])
    x = np.array([0.3, 0.4])
    v = np.array([1.0, -1.0])
    _, (d1, d2, d3) = ad.jet(lambda x: anp.exp(A @ x), (x,), ((v, 0 * v, 0 * v),))
    u = A @ v
    e = np.exp(A @ x)
    np.testing.assert_allclose(d1, e * u, rtol=1e-13)
    np.testing.assert_allclose(d2, e * u**2, rtol=1e-13)
    np.testing.assert_allclose(d3, e * u**3, rtol=1e-13)


def test_order_zero_and_constant_output():
    y, s = ad.jet(anp.sin, (0.5,), ((),))
    assert np.isclose(y, np.sin(0.5)) and s == []
    y, s = ad.jet(lambda x: np.float64(2.0), (0.5,), ((1.0, 0.0),))
    assert y == 2.0 and [float(c) for c in s] == [0.0, 0.0]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "args,err,match",
    [
        (((0.5,), (1.0,)), TypeError, "series\\[0\\] must be a tuple or list"),
        (((0.5,), ((1.0,), (2.0,))), ValueError, "1 primals but 2 series"),
        (((0.5, 1.0), ((1.0, 2.0), (1.0,))), ValueError, "same number of series terms"),
        (((np.ones(3),), ((np.ones(2),),)), ValueError, "series term 1 of shape \\(2,\\)"),
        (((2,), ((1.0,),)), TypeError, "floating or complex"),
        ((0.5, (1.0,)), TypeError, "tuples \\(or lists\\)"),
        (((0.5,), ((1j,),)), TypeError, "complex series term 1"),
        (((0.5,), (("a",),)), TypeError, "arrays, numbers"),
        ((({"a": 1.0},), ((1.0,),)), ValueError, "structure"),
    ],
)
def test_bad_input_is_refused_clearly(args, err, match):
    with pytest.raises(err, match=match):
        ad.jet(anp.sin, *args)


def test_derivative_and_taylor_refuse_bad_input():
    with pytest.raises(ValueError, match="non-negative integer"):
        ad.derivative(anp.sin, -1)
    with pytest.raises(ValueError, match="non-negative integer"):
        ad.derivative(anp.sin, 1.5)
    with pytest.raises(ValueError, match="must be a scalar.*adgraph.taylor"):
        ad.derivative(anp.sin, 2)(np.ones(3))
    with pytest.raises(TypeError, match="floating or complex"):
        ad.derivative(anp.sin, 2)(1)
    with pytest.raises(TypeError, match="callable"):
        ad.derivative(3.0, 2)
    with pytest.raises(ValueError, match="non-negative integer"):
        ad.taylor(anp.sin, 0.5, 1.0, -2)


def test_primitive_without_forward_rule_is_named():
    from adgraph.core.primitive import MissingRuleError, Primitive

    p = registry.get("_test_taylor_no_rule") or Primitive(
        "_test_taylor_no_rule", lambda xp, x: xp.sin(x), doc="a test primitive"
    )
    with pytest.raises(MissingRuleError, match="_test_taylor_no_rule.*Taylor"):
        ad.jet(p.bind, (0.5,), ((1.0,),))


def test_jit_and_vmap_equal_eager():
    def f(x):
        return anp.tanh(anp.sin(x) * anp.exp(0.1 * x)) + 0.3 * x

    d4 = ad.derivative(f, 4)
    xs = np.array([0.1, 0.3, -0.5])
    eager = np.array([d4(x) for x in xs])
    np.testing.assert_allclose(ad.jit(d4)(0.3), eager[1], rtol=1e-14)
    np.testing.assert_allclose(ad.vmap(d4)(xs), eager, rtol=1e-13)
    # and a jet of a jit-compiled function
    _, s = ad.jet(ad.jit(f), (0.3,), ((1.0, 0.0, 0.0, 0.0),))
    np.testing.assert_allclose(s[3], eager[1], rtol=1e-12)


def test_jet_of_jit_and_checkpoint_at_high_order():
    # jit_call and checkpoint carry the series through their function: a jet of a
    # jit-compiled function at order 10 went through the fallback (the compiled forward
    # rule nested once per order) and did not finish in minutes.
    def f(x):
        for _ in range(3):
            x = anp.tanh(anp.sin(x) * anp.exp(0.1 * x)) + 0.3 * x
        return x

    terms = (1.0,) + (0.0,) * 9
    _, eager = ad.jet(f, (0.4,), (terms,))
    _, compiled = ad.jet(ad.jit(f), (0.4,), (terms,))
    _, ckpt = ad.jet(ad.checkpoint(f), (0.4,), (terms,))
    np.testing.assert_allclose(compiled, eager, rtol=1e-13)
    np.testing.assert_allclose(ckpt, eager, rtol=1e-13)

    # a jit-compiled function closing over the jet's own value
    def outer(c):
        return ad.jit(lambda x: anp.sin(x * c))(0.7)

    # d^5/dc^5 sin(0.7 c) = 0.7^5 cos(0.7 c)
    assert np.isclose(ad.derivative(outer, 5)(1.3), 0.7**5 * np.cos(0.91), rtol=1e-13)
