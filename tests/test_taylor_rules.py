"""The Taylor rules of the primitives, one by one, against references independent of adgraph.

Elementwise rules: the exact series of t -> f(x(t)) from SymPy (derivatives evaluated with
30 digits), up to order 8. Arrays (products, reductions, linear algebra, indexing): the
series of the same function written with mpmath at 40 digits (mpmath.taylor). Rules with no
Taylor rule of their own (the generic fallback by the forward rule): the same references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import adgraph as ad
import adgraph.lax as lax
import adgraph.numpy as anp
import adgraph.scipy.special as asp
from adgraph.core.primitive import registry

sp = pytest.importorskip("sympy")
mpmath = pytest.importorskip("mpmath")

K = 8
X, T = sp.symbols("x t")
# A curve with every coefficient nonzero, so every term of each recurrence is exercised.
TERMS = [0.7, -0.4, 0.25, 0.3, -0.2, 0.15, 0.1, -0.05]


def _poly_mul(a, b, n):
    out = [0.0] * (n + 1)
    for i, ai in enumerate(a[: n + 1]):
        for j, bj in enumerate(b[: n + 1 - i]):
            out[i + j] += ai * bj
    return out


def exact_jet(expr, x0, terms):
    """Derivative coefficients of t -> f(x(t)), x(t) = x0 + sum terms[k-1] t^k / k!, from
    SymPy's derivatives of f at x0 composed with the curve (Faa di Bruno by truncated
    powers of x(t) - x0)."""
    n = len(terms)
    d = [float(sp.diff(expr, X, m).subs(X, sp.Float(x0, 30)).evalf(30)) for m in range(n + 1)]
    dx = [0.0] + [terms[k - 1] / math.factorial(k) for k in range(1, n + 1)]
    out = [0.0] * (n + 1)
    power = [1.0] + [0.0] * n
    for m in range(n + 1):
        out = [o + d[m] / math.factorial(m) * p for o, p in zip(out, power)]
        power = _poly_mul(power, dx, n)
    return out[0], [out[k] * math.factorial(k) for k in range(1, n + 1)]


# (primitive, adgraph function, SymPy expression, point)
UNARY = [
    ("exp2", anp.exp2, 2**X, 0.3),
    ("log2", anp.log2, sp.log(X, 2), 1.7),
    ("log10", anp.log10, sp.log(X, 10), 2.2),
    ("cbrt", anp.cbrt, sp.root(X, 3), 1.9),
    ("arcsin", anp.arcsin, sp.asin(X), 0.3),
    ("arccos", anp.arccos, sp.acos(X), -0.45),
    ("arcsinh", anp.arcsinh, sp.asinh(X), 0.6),
    ("arccosh", anp.arccosh, sp.acosh(X), 1.8),
    ("arctanh", anp.arctanh, sp.atanh(X), -0.35),
    ("logit", asp.logit, sp.log(X / (1 - X)), 0.3),
    ("erfc", asp.erfc, sp.erfc(X), 0.4),
    ("erfinv", asp.erfinv, sp.erfinv(X), 0.35),
    ("entr", asp.entr, -X * sp.log(X), 0.8),
    ("gammaln", asp.gammaln, sp.loggamma(X), 2.6),
    ("polygamma", asp.digamma, sp.polygamma(0, X), 1.3),
    ("polygamma", lambda x: asp.polygamma(2, x), sp.polygamma(2, X), 1.7),
    ("abs", anp.abs, -X, -0.8),  # the branch at the primal: |x| = -x near -0.8
    ("deg2rad", anp.deg2rad, X * sp.pi / 180, 30.0),
    ("rad2deg", anp.rad2deg, X * 180 / sp.pi, 0.5),
    ("logaddexp", lambda x: anp.logaddexp(x, 0.4), sp.log(sp.exp(X) + sp.exp(0.4)), -0.2),
    ("logaddexp2", lambda x: anp.logaddexp2(0.4, x), sp.log(2**X + 2**0.4, 2), 0.9),
]


@pytest.mark.parametrize("name,f,expr,x0", UNARY, ids=[f"{u[0]}-{i}" for i, u in enumerate(UNARY)])
def test_elementwise_rule_equals_exact_series(name, f, expr, x0):
    assert registry[name].taylor is not None, f"{name} should have a Taylor rule"
    y, ys = ad.jet(f, (x0,), (TERMS,))
    ey, eys = exact_jet(expr, x0, TERMS)
    assert np.isclose(y, ey, rtol=1e-13)
    np.testing.assert_allclose(ys, eys, rtol=1e-10, atol=1e-11)


def _exact_jet2(g, x0, y0, xs, ys):
    """Derivatives at 0 of t -> g(x(t), y(t)) (two curves), by SymPy in t."""
    xt = sp.Float(x0, 30) + sum(
        sp.Rational(c).limit_denominator(10**6) * T**k / sp.factorial(k)
        for k, c in enumerate(xs, 1)
    )
    yt = sp.Float(y0, 30) + sum(
        sp.Rational(c).limit_denominator(10**6) * T**k / sp.factorial(k)
        for k, c in enumerate(ys, 1)
    )
    e = g(xt, yt)
    out = []
    for _ in range(len(xs)):
        e = sp.diff(e, T)
        out.append(float(e.subs(T, 0).evalf(30)))
    return out


XS = [0.5, -0.3, 0.2, 0.1, -0.1, 0.05, 0.2, -0.15]
YS = [-0.4, 0.6, -0.2, 0.3, 0.1, -0.2, 0.05, 0.1]
# (primitive, adgraph function, SymPy function of the two curves, x0, y0); the piecewise
# ones are written as the branch the primal point selects.
BINARY = [
    ("add", anp.add, lambda x, y: x + y, 0.7, -1.2),
    ("subtract", anp.subtract, lambda x, y: x - y, 0.7, -1.2),
    ("multiply", anp.multiply, lambda x, y: x * y, 0.7, -1.2),
    ("divide", anp.divide, lambda x, y: x / y, 0.7, -1.2),
    ("power", anp.power, lambda x, y: x**y, 1.3, 0.7),
    ("arctan2", anp.arctan2, lambda y, x: sp.atan2(y, x), 0.7, -1.2),
    ("hypot", anp.hypot, lambda x, y: sp.sqrt(x**2 + y**2), 0.7, -1.2),
    ("logaddexp", anp.logaddexp, lambda x, y: sp.log(sp.exp(x) + sp.exp(y)), 0.3, -0.4),
    ("logaddexp2", anp.logaddexp2, lambda x, y: sp.log(2**x + 2**y, 2), 0.3, 0.8),
    ("xlogy", asp.xlogy, lambda x, y: x * sp.log(y), 0.6, 1.4),
    ("xlog1py", asp.xlog1py, lambda x, y: x * sp.log(1 + y), 0.6, 0.4),
    ("maximum", anp.maximum, lambda x, y: y, 0.3, 0.5),
    ("minimum", anp.minimum, lambda x, y: x, 0.3, 0.5),
    ("fmax", anp.fmax, lambda x, y: x, 0.9, 0.5),
    ("fmin", anp.fmin, lambda x, y: y, 0.9, 0.5),
    ("mod", anp.mod, lambda x, y: x - 2 * y, 1.7, 0.8),  # floor(1.7/0.8) = 2
    ("fmod", anp.fmod, lambda x, y: x - 2 * y, -1.7, -0.8),  # trunc(-1.7/-0.8) = 2
    ("copysign", anp.copysign, lambda x, y: -x, 0.6, -0.3),
]


@pytest.mark.parametrize("name,f,g,x0,y0", BINARY, ids=[b[0] for b in BINARY])
def test_binary_rule_equals_exact_series(name, f, g, x0, y0):
    assert registry[name].taylor is not None
    xs = [float(sp.Rational(c).limit_denominator(10**6)) for c in XS]
    ys = [float(sp.Rational(c).limit_denominator(10**6)) for c in YS]
    exact = _exact_jet2(g, x0, y0, xs, ys)
    out, series = ad.jet(f, (x0, y0), (xs, ys))
    np.testing.assert_allclose(series, exact, rtol=1e-10, atol=1e-11)
    # one argument constant (a series of zeros): the rule's constant-operand branch
    zero = [0.0] * len(xs)
    exact_x = _exact_jet2(g, x0, y0, xs, zero)
    _, s_x = ad.jet(lambda x: f(x, np.float64(y0)), (x0,), (xs,))
    np.testing.assert_allclose(s_x, exact_x, rtol=1e-10, atol=1e-11)


# ------------------------------------------------------------------ arrays, by mpmath
def _mp_series(fm, n, size):
    """Derivatives 1..n at t = 0 of each of the ``size`` outputs of ``fm(t)`` (a flat list
    of mpmath numbers), with 40 digits."""
    out = np.zeros((n, size))
    with mpmath.workdps(40):
        for i in range(size):
            c = mpmath.taylor(lambda t: fm(t)[i], 0, n)
            out[:, i] = [float(c[k] * math.factorial(k)) for k in range(1, n + 1)]
    return out


def _curve(x0, terms):
    """mpmath matrix-valued curve t -> x0 + sum terms[k-1] t^k/k! (as a nested list)."""
    x0 = np.asarray(x0)

    def at(t):
        v = [mpmath.mpf(float(a)) for a in x0.ravel()]
        for k, c in enumerate(terms, 1):
            f = t**k / math.factorial(k)
            v = [a + mpmath.mpf(float(b)) * f for a, b in zip(v, np.asarray(c).ravel())]
        return np.array(v, dtype=object).reshape(x0.shape)

    return at


def _check_array_jet(f, fm, args, n=5, seed=0, rtol=1e-10):
    rng = np.random.default_rng(seed)
    series = tuple(tuple(0.5 * rng.standard_normal(np.shape(a)) for _ in range(n)) for a in args)
    curves = [_curve(a, s) for a, s in zip(args, series)]
    y, ys = ad.jet(f, args, series)
    size = np.size(y)
    exact = _mp_series(lambda t: list(np.ravel(fm(*[c(t) for c in curves]))), n, size)
    got = np.array([np.ravel(c) for c in ys])
    np.testing.assert_allclose(got, exact, rtol=rtol, atol=rtol * np.max(np.abs(exact)))


def _mpmat(a):
    return mpmath.matrix(a.tolist())


def _np_of(m):
    return np.array(m.tolist(), dtype=object)


RNG = np.random.default_rng(3)
A4 = np.eye(4) * 2.0 + 0.3 * RNG.standard_normal((4, 4))
A3 = np.eye(3) * 1.5 + 0.3 * RNG.standard_normal((3, 3))
M = np.array([[0.3, -1.2, 0.5, 0.7], [0.9, 0.1, -0.4, 2.0]])
MZ = np.array([[0.3, 0.0, 0.5, 0.7], [0.9, 0.1, -0.4, 2.0]])  # a zero factor


def _mp_exp(a):
    return np.vectorize(mpmath.exp, otypes=[object])(a)


ARRAY_CASES = {
    "matmul": (lambda a, b: anp.exp(a @ b), lambda a, b: _mp_exp(a.dot(b)), (M, M.T)),
    "einsum": (
        lambda a, b, c: anp.einsum("ij,jk,k->i", a, b, c),
        lambda a, b, c: a.dot(b).dot(c),
        (M, A4, np.array([0.2, -0.1, 0.4, 0.3])),
    ),
    "linalg_inv": (anp.linalg.inv, lambda a: _np_of(_mpmat(a) ** -1), (A4,)),
    "linalg_solve": (
        anp.linalg.solve,
        lambda a, b: _np_of(mpmath.lu_solve(_mpmat(a), _mpmat(b))),
        (A4, np.array([0.5, -1.0, 0.2, 0.3])),
    ),
    "linalg_det": (anp.linalg.det, lambda a: [mpmath.det(_mpmat(a))], (A4,)),
    "linalg_det-3x3": (anp.linalg.det, lambda a: [mpmath.det(_mpmat(a))], (A3,)),
    "linalg_slogdet": (
        lambda a: anp.linalg.slogdet(a)[1],
        lambda a: [mpmath.log(abs(mpmath.det(_mpmat(a))))],
        (A4,),
    ),
    "reduce_prod": (
        lambda m: anp.prod(m, axis=1),
        lambda m: [math.prod(r, start=mpmath.mpf(1)) for r in m],
        (MZ,),
    ),
    "cumprod": (
        lambda m: anp.cumprod(m, axis=1),
        lambda m: [math.prod(r[: j + 1], start=mpmath.mpf(1)) for r in m for j in range(4)],
        (MZ,),
    ),
    "reduce_var": (
        lambda m: anp.var(m, axis=1, ddof=1),
        lambda m: [sum((v - sum(r) / 4) ** 2 for v in r) / 3 for r in m],
        (M,),
    ),
    "logsumexp": (
        lambda m: asp.logsumexp(m, axis=1),
        lambda m: [mpmath.log(sum(mpmath.exp(v) for v in r)) for r in m],
        (M,),
    ),
    "linalg_norm2": (
        lambda m: anp.linalg.norm(m, axis=1),
        lambda m: [mpmath.sqrt(sum(v * v for v in r)) for r in m],
        (M,),
    ),
    "reduce_max": (
        lambda m: anp.max(m, axis=1)[:, None] * anp.min(m, axis=0)[None, :],
        lambda m: [max(m[i]) * min(m[:, j]) for i in range(2) for j in range(4)],
        (M,),
    ),
    "take_along_axis": (  # sort: by the permutation at the primal
        lambda m: anp.sort(m, axis=1) ** 2,
        lambda m: [v**2 for r in m for v in sorted(r)],
        (M,),
    ),
    "getitem": (lambda m: m[1, ::-2] * m[0, 1:3], lambda m: m[1, ::-2] * m[0, 1:3], (M,)),
    "scatter_add": (
        lambda m, u: anp.sin(m.at[np.array([0, 0, 1]), 1].add(u)),
        lambda m, u: np.vectorize(mpmath.sin, otypes=[object])(
            m + np.array([[0, u[0] + u[1], 0, 0], [0, u[2], 0, 0]], dtype=object)
        ),
        (M, np.array([0.5, 0.1, 0.2])),
    ),
    "scatter_max": (  # piecewise linear: the larger of x[idx] and the update at t = 0
        lambda m, u: anp.exp(m.at[0, np.array([1, 2])].max(u)),
        lambda m, u: _mp_exp(
            np.array([[m[0, 0], max(m[0, 1], u[0]), max(m[0, 2], u[1]), m[0, 3]], list(m[1])])
        ),
        (M, np.array([-0.5, 0.9])),
    ),
    "concatenate": (
        lambda a, b: anp.prod(anp.concatenate([a, b], axis=0), axis=0),
        lambda a, b: [a[0, j] * a[1, j] * b[0, j] * b[1, j] for j in range(4)],
        (M, MZ),
    ),
    "cumsum": (
        lambda m: anp.exp(anp.cumsum(m, axis=1)),
        lambda m: _mp_exp(np.cumsum(m, axis=1)),
        (M,),
    ),
    "fft": (  # linear: each coefficient through the transform
        lambda x: anp.real(anp.fft.fft(anp.sin(x)) ** 2),
        lambda x: [
            mpmath.re(
                sum(mpmath.sin(x[j]) * mpmath.expj(-2 * mpmath.pi * k * j / 4) for j in range(4))
                ** 2
            )
            for k in range(4)
        ],
        (np.array([0.3, -0.2, 0.9, 0.4]),),
    ),
    "diagonal": (
        lambda a: anp.exp(anp.diagonal(a)),
        lambda a: [mpmath.exp(a[i, i]) for i in range(4)],
        (A4,),
    ),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_array_rule_equals_mpmath_series(case):
    name = case.split("-")[0]
    assert registry[name].taylor is not None, f"{name} should have a Taylor rule"
    f, fm, args = ARRAY_CASES[case]
    _check_array_jet(f, fm, args)


def test_matrix_series_at_singular_and_zero_points():
    # det of a singular 3x3 (the polynomial path is exact there) and prod/cumprod through
    # exact zeros (no division): closed forms along a line
    s = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])  # rank 2
    v = np.eye(3)
    _, d = ad.jet(anp.linalg.det, (s,), ((v, 0 * v, 0 * v),))
    # det(S + tI) = det S + t m2(S) + t^2 tr(S) + t^3, m2 the sum of principal 2x2 minors
    minors2 = sum(np.linalg.det(s[np.ix_(ij, ij)]) for ij in ([0, 1], [0, 2], [1, 2]))
    np.testing.assert_allclose(d, [minors2, 2 * np.trace(s), 6.0], rtol=1e-12, atol=1e-12)
    x = np.array([0.0, 2.0, 0.0])
    _, p = ad.jet(anp.prod, (x,), ((np.ones(3), np.zeros(3), np.zeros(3)),))
    # (t)(2 + t)(t) = 2t^2 + t^3
    np.testing.assert_allclose(p, [0.0, 4.0, 6.0], atol=1e-15)


def test_complex_abs_and_slogdet_take_the_fallback():
    z0 = np.array([0.6 + 0.8j, -1.0 + 0.5j])
    v = np.array([0.3 - 0.2j, 0.1 + 0.4j])
    _, s = ad.jet(anp.abs, (z0,), ((v, 0 * v, 0 * v),))
    # |z0 + t v| = sqrt(q(t)), q = |v|^2 t^2 + 2 Re(conj(z0) v) t + |z0|^2
    a, b, c = abs(v) ** 2, 2 * (np.conj(z0) * v).real, abs(z0) ** 2
    d1 = b / (2 * np.sqrt(c))
    d2 = (2 * a) / (2 * np.sqrt(c)) - b**2 / (4 * c**1.5)
    np.testing.assert_allclose(s[0], d1, rtol=1e-12)
    np.testing.assert_allclose(s[1], d2, rtol=1e-12)


# ------------------------------------------------------------------ the generic fallback
def test_fallback_exists_and_is_exact():
    # sinc and QR have no Taylor rule: the fallback builds their series from the forward
    # rule alone
    for name in ("sinc", "linalg_qr"):
        assert registry[name].taylor is None
    _, s = ad.jet(anp.sinc, (0.3,), (TERMS[:6],))
    _, e = exact_jet(sp.sin(sp.pi * X) / (sp.pi * X), 0.3, TERMS[:6])
    np.testing.assert_allclose(s, e, rtol=1e-10)
    _check_array_jet(
        lambda a: anp.linalg.qr(a)[1],
        lambda a: _np_of(mpmath.qr(_mpmat(a))[1]),
        (A3,),
        n=4,
        rtol=1e-9,
    )


def test_cholesky_series():
    assert registry["linalg_cholesky"].taylor is not None
    spd = A3 @ A3.T + np.eye(3)
    _check_array_jet(
        lambda a: anp.linalg.cholesky(a + a.T),
        lambda a: _np_of(mpmath.cholesky(_mpmat(a + a.T))),
        (spd / 2,),
        n=4,
        rtol=1e-9,
    )


def test_loops_propagate_series_through_the_body():
    # x <- x + 0.1 sin(x), five times, by lax.fori_loop (the scan primitive, whose rule
    # runs the body on series at every step)
    assert registry["scan"].taylor is not None

    def loop(x):
        return lax.fori_loop(0, 5, lambda i, x: x + 0.1 * anp.sin(x), x)

    def loop_mp(x):
        for _ in range(5):
            x = x + mpmath.mpf("0.1") * mpmath.sin(x)
        return [x]

    _check_array_jet(loop, lambda x: loop_mp(x.item()), (np.float64(0.4),), n=6)

    # a scan with xs and a closed-over value traced by the jet itself
    def scan_fn(c):
        def body(h, x):
            h = anp.tanh(h * c + x)
            return h, h * h

        h, ys = lax.scan(body, 0.2, np.array([0.1, -0.3, 0.5]))
        return h + anp.sum(ys)

    def scan_mp(c):
        h, tot = mpmath.mpf("0.2"), 0
        for x in ("0.1", "-0.3", "0.5"):
            h = mpmath.tanh(h * c + mpmath.mpf(x))
            tot += h * h
        return [h + tot]

    _check_array_jet(scan_fn, lambda c: scan_mp(c.item()), (np.float64(0.8),), n=6)

    # a while_loop whose trip count depends on the primal value
    assert registry["while_loop"].taylor is not None

    def grow(x):
        return lax.while_loop(lambda y: y < 3.0, lambda y: y * 1.5 + anp.sin(y), x)

    def grow_mp(x):
        while x < 3:
            x = x * mpmath.mpf("1.5") + mpmath.sin(x)
        return [x]

    _check_array_jet(grow, lambda x: grow_mp(x.item()), (np.float64(0.4),), n=5)


# ------------------------------------------------------------------ transformations
def test_jit_and_vmap_of_jets_equal_eager_and_loops():
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])

    def f(x):
        h = anp.tanh(W @ x)
        s = anp.sort(x)
        return asp.logsumexp(h) * anp.prod(anp.cumprod(s)) + anp.linalg.norm(x)

    def jet3(x, v):
        return ad.jet(f, (x,), ((v, 0.5 * v, -v),))[1][2]

    x = np.array([0.3, -0.7, 1.1])
    v = np.array([0.2, 0.5, -0.4])
    eager = jet3(x, v)
    np.testing.assert_allclose(ad.jit(jet3)(x, v), eager, rtol=1e-13)
    xs = np.stack([x, 0.5 * x, x[::-1]])
    loop = np.array([jet3(xi, v) for xi in xs])
    np.testing.assert_allclose(ad.vmap(jet3, in_axes=(0, None))(xs, v), loop, rtol=1e-13)
    # and against nested forward derivatives of the composition along x + t v (with the
    # curve's second and third terms set to zero)
    third = ad.jet(f, (x,), ((v, 0 * v, 0 * v),))[1][2]
    g = lambda t: f(x + t * v)  # noqa: E731
    nested = ad.derivative(g, 3)(0.0)
    np.testing.assert_allclose(third, nested, rtol=1e-12)
    d3 = ad.grad(ad.grad(ad.grad(g)))(0.0)
    np.testing.assert_allclose(third, d3, rtol=1e-10)


def test_cupy_arrays():
    cp = pytest.importorskip("cupy", reason="CuPy is not installed (pip install adgraph[gpu])")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as e:  # no driver
        pytest.skip(f"CuPy cannot reach a CUDA device: {e}")
    x_np = np.array([0.3, -0.2, 0.5, 0.1])

    def f(A, x):
        return asp.logsumexp(anp.linalg.solve(A, anp.sin(x)) * anp.cumprod(x)) + anp.max(x)

    def third(A, x, v):
        return ad.jet(lambda x: f(A, x), (x,), ((v, 0 * v, 0 * v),))[1][2]

    on_gpu = third(cp.asarray(A4), cp.asarray(x_np), cp.ones(4))
    assert isinstance(on_gpu, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(on_gpu), third(A4, x_np, np.ones(4)), rtol=1e-10)
    x = cp.asarray(x_np)
    T = ad.derivative_tensor(lambda x: anp.sum(anp.exp(x) * x[::-1]), 3)(x)
    T_np = ad.derivative_tensor(lambda x: anp.sum(anp.exp(x) * x[::-1]), 3)(cp.asnumpy(x))
    np.testing.assert_allclose(cp.asnumpy(T), T_np, rtol=1e-12)


def test_complex_parts_and_holomorphic_rules():
    # real, imag, conj (linear) and holomorphic rules on a complex curve, against SymPy
    tr = sp.Symbol("t", real=True)
    z0 = 0.4 + 0.3j
    cs = [0.5 - 0.2j, 0.1 + 0.3j, -0.2 + 0.1j, 0.05 - 0.1j]
    zt = sp.nsimplify(z0) + sum(
        sp.nsimplify(c) * tr**k / sp.factorial(k) for k, c in enumerate(cs, 1)
    )
    e = sp.re(zt * sp.exp(zt)) + sp.im(sp.sin(zt)) * sp.re(sp.conjugate(zt) ** 2)
    exact = []
    for _ in cs:
        e = sp.diff(e, tr)
        exact.append(float(sp.N(e.subs(tr, 0), 30)))

    def f(z):
        return anp.real(z * anp.exp(z)) + anp.imag(anp.sin(z)) * anp.real(anp.conj(z) ** 2)

    _, s = ad.jet(f, (np.complex128(z0),), (tuple(np.complex128(c) for c in cs),))
    np.testing.assert_allclose(np.real(s), exact, rtol=1e-12)


def test_jet_equals_jax_jet_when_installed():
    # an extra cross-check (the references above are SymPy and mpmath): JAX's jet on
    # functions its rules cover, orders 1 to 6
    jax = pytest.importorskip("jax")
    was = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        _against_jax(jax)
    finally:
        jax.config.update("jax_enable_x64", was)


def _against_jax(jax):
    jnp = pytest.importorskip("jax.numpy")
    jjet = pytest.importorskip("jax.experimental.jet")
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [0.7, 0.2, 0.3]])

    def make(m):
        return lambda x: m.tanh(W @ x) ** 3 + m.sin(x) * m.exp(x) / m.sqrt(x * x + 1.0)

    x = np.array([0.3, -0.7, 1.1])
    rng = np.random.default_rng(0)
    terms = [0.5 * rng.standard_normal(3) for _ in range(6)]
    for K in range(1, 7):
        y, s = ad.jet(make(anp), (x,), (terms[:K],))
        yj, sj = jjet.jet(make(jnp), (jnp.asarray(x),), ([jnp.asarray(t) for t in terms[:K]],))
        np.testing.assert_allclose(y, np.asarray(yj), rtol=1e-13)
        np.testing.assert_allclose(s, np.asarray(sj), rtol=1e-12, atol=1e-12)


def test_many_rules_under_jit_and_vmap():
    # one function through most of the new rules: jit of its jet equals the eager jet,
    # vmap equals a loop, and the third coefficient equals nested grad along the line
    def f(x):
        Mx = A4 + anp.outer(x, x) * 0.1
        a = anp.linalg.det(Mx) + anp.linalg.slogdet(Mx)[1] + anp.sum(anp.linalg.inv(Mx))
        a = a + anp.sum(anp.linalg.solve(Mx, x))
        b = anp.sum(anp.linalg.cholesky(Mx @ Mx.T)) + asp.logsumexp(x)
        b = b + anp.sum(anp.sort(x) * anp.cumprod(x))
        c = anp.maximum(x, 0.1) * anp.abs(x) + anp.mod(x, 0.7) + anp.logaddexp(x, -x)
        c = anp.sum(c + anp.arctan2(x, 1.5) + anp.hypot(x, 0.3))
        d = anp.sum(x.at[np.array([0, 2])].max(anp.array([0.2, 0.3])))
        d = d + asp.gammaln(x[0] + 3.0) + asp.erfinv(x[1] * 0.5)
        e = lax.fori_loop(0, 3, lambda i, y: y + 0.1 * anp.sin(y), x[3])
        return a + b + c + d + e

    x = np.array([0.3, -0.45, 0.8, 0.15])
    v = np.array([0.2, 0.5, -0.4, 0.3])

    def series(x, v):
        return ad.jet(f, (x,), ((v, 0.5 * v, -v, 0.2 * v),))[1]

    eager = series(x, v)
    np.testing.assert_allclose(ad.jit(series)(x, v), eager, rtol=1e-13)
    xs = np.stack([x, 0.9 * x, x + 0.05])
    batched = ad.vmap(series, in_axes=(0, None))(xs, v)
    loop = np.array([series(xi, v) for xi in xs])
    np.testing.assert_allclose(np.stack(batched, axis=1), loop, rtol=1e-13)
    third = ad.jet(f, (x,), ((v, 0 * v, 0 * v),))[1][2]
    nested = ad.grad(ad.grad(ad.grad(lambda t: f(x + t * v))))(0.0)
    np.testing.assert_allclose(third, nested, rtol=1e-11)
