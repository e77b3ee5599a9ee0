"""Elementwise operations and operators: values against NumPy, derivatives against finite
differences (orders 1 and 2, forward and reverse) over shapes, broadcasting pairs, float64,
float32 and complex, closed forms at special points, and non-differentiable results."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.trace import Tracer

from .harness import BROADCAST_PAIRS, SHAPES, check, check_all_dtypes, rand

COVERED = {f"numpy.{n}" for n in [
    # differentiable
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "positive", "power",
    "float_power", "mod", "remainder", "fmod", "abs", "absolute", "fabs", "square",
    "reciprocal", "sign", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
    "cbrt", "logaddexp", "logaddexp2", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "hypot", "sinc",
    "deg2rad", "rad2deg", "degrees", "radians", "maximum", "minimum", "fmax", "fmin", "clip",
    "where", "real", "imag", "conj", "conjugate", "angle", "copysign",
    # non-differentiable
    "floor_divide", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "isfinite", "isnan", "isinf",
    "isneginf", "isposinf", "floor", "ceil", "trunc", "rint", "round", "around", "fix",
    "signbit", "iscomplexobj", "isrealobj", "bitwise_and", "bitwise_or", "bitwise_xor",
    "invert", "left_shift", "right_shift", "isclose", "allclose", "array_equal", "heaviside",
    "nextafter", "spacing", "gcd", "lcm",
]}  # fmt: skip

F64, F32, C128 = np.float64, np.float32, np.complex128
COMPLEX_DOMAIN = (0.3, 0.9)  # both parts: clear of every branch cut and pole below


def sample(domain, shape, dtype, seed=0):
    """Inputs in ``domain``: (low, high), or "nonzero" (|x| in [0.3, 2], either sign)."""
    if np.dtype(dtype).kind == "c":
        return rand(shape, dtype, seed, *COMPLEX_DOMAIN)
    if domain == "nonzero":
        x = rand(shape, F64, seed, 0.3, 2.0)
        s = np.where(rand(shape, F64, seed + 100) > 0, 1.0, -1.0)
        return np.asarray(x * s, dtype=dtype)
    return rand(shape, dtype, seed, *domain)


# ------------------------------------------------------------------ unary table
# name -> (real domain, holomorphic: also tested with complex input)
UNARY = {
    "negative": ((-2, 2), True),
    "positive": ((-2, 2), True),
    "abs": ("nonzero", True),
    "absolute": ("nonzero", True),
    "fabs": ("nonzero", False),
    "square": ((-2, 2), True),
    "reciprocal": ("nonzero", True),
    "exp": ((-2, 2), True),
    "exp2": ((-2, 2), True),
    "expm1": ((-2, 2), True),
    "log": ((0.5, 2), True),
    "log2": ((0.5, 2), True),
    "log10": ((0.5, 2), True),
    "log1p": ((-0.5, 2), True),
    "sqrt": ((0.5, 2), True),
    "cbrt": ("nonzero", False),
    "sin": ((-2, 2), True),
    "cos": ((-2, 2), True),
    "tan": ((-1, 1), True),
    "arcsin": ((-0.8, 0.8), True),
    "arccos": ((-0.8, 0.8), True),
    "arctan": ((-2, 2), True),
    "sinh": ((-2, 2), True),
    "cosh": ((-2, 2), True),
    "tanh": ((-2, 2), True),
    "arcsinh": ((-2, 2), True),
    "arccosh": ((1.3, 3), True),
    "arctanh": ((-0.8, 0.8), True),
    "sinc": ((-2, 2), True),
    "deg2rad": ((-2, 2), False),
    "rad2deg": ((-2, 2), False),
    "degrees": ((-2, 2), False),
    "radians": ((-2, 2), False),
    "real": ((-2, 2), True),
    "imag": ((-2, 2), True),
    "conj": ((-2, 2), True),
    "conjugate": ((-2, 2), True),
    "angle": ("nonzero", True),
    "sign": ("nonzero", True),  # real: piecewise constant; complex: z/|z|
}

UNARY_CASES = [
    pytest.param(name, shape, dt, id=f"{name}-{shape}-{np.dtype(dt).name}")
    for name, (_, cplx) in UNARY.items()
    for dt in ((F64, F32, C128) if cplx else (F64, F32))
    for shape in SHAPES
    # float32 on one shape is enough: the rules do not depend on the shape.
    if not (dt is F32 and shape != (2, 3))
]


@pytest.mark.parametrize("name,shape,dt", UNARY_CASES)
def test_unary(name, shape, dt):
    domain, _ = UNARY[name]
    x = sample(domain, shape, dt, seed=len(name))
    f = getattr(anp, name)
    got = f(x)
    want = getattr(np, name)(x)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dt is F32 else 1e-13, atol=1e-12)
    check_all_dtypes(f, x, dtypes=(dt,))


# ------------------------------------------------------------------ binary table
# name -> (domain of x, domain of y, holomorphic in both: also tested complex)
BINARY = {
    "add": ((-2, 2), (-2, 2), True),
    "subtract": ((-2, 2), (-2, 2), True),
    "multiply": ((-2, 2), (-2, 2), True),
    "divide": ((-2, 2), "nonzero", True),
    "true_divide": ((-2, 2), "nonzero", True),
    "power": ((0.5, 2), (-2, 2), True),
    "mod": ((2.2, 2.8), (0.95, 1.05), False),  # x/y stays inside (2, 3): no jump
    "remainder": ((2.2, 2.8), (0.95, 1.05), False),
    "fmod": ((-2.8, -2.2), (0.95, 1.05), False),
    "arctan2": ((-2, 2), (0.5, 2), False),
    "hypot": ((-2, 2), "nonzero", False),
    "logaddexp": ((-2, 2), (-2, 2), False),
    "logaddexp2": ((-2, 2), (-2, 2), False),
    "maximum": ((-2, 2), (-2, 2), False),
    "minimum": ((-2, 2), (-2, 2), False),
    "fmax": ((-2, 2), (-2, 2), False),
    "fmin": ((-2, 2), (-2, 2), False),
    "copysign": ("nonzero", "nonzero", False),
}

SHAPE_PAIRS = [(s, s) for s in SHAPES] + BROADCAST_PAIRS

BINARY_CASES = [
    pytest.param(name, sx, sy, dt, id=f"{name}-{sx}-{sy}-{np.dtype(dt).name}")
    for name, (_, _, cplx) in BINARY.items()
    for dt in ((F64, F32, C128) if cplx else (F64, F32))
    for sx, sy in SHAPE_PAIRS
    if not (dt is not F64 and (sx, sy) not in (((2, 3), (2, 3)), ((2, 3), (3,))))
]


@pytest.mark.parametrize("name,sx,sy,dt", BINARY_CASES)
def test_binary(name, sx, sy, dt):
    dx, dy, _ = BINARY[name]
    x = sample(dx, sx, dt, seed=1)
    y = sample(dy, sy, dt, seed=2)
    f = getattr(anp, name)
    got = f(x, y)
    want = getattr(np, name)(x, y)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dt is F32 else 1e-13, atol=1e-12)
    check_all_dtypes(f, x, y, dtypes=(dt,))


# Reverse mode frees the residuals (arguments, result) a rule does not declare it reads,
# for arrays of 1 KiB and more: run every rule at that size, to any order, both ways.
BIG = (200,)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_large_arrays(name):
    domain, cplx = UNARY[name]
    check(getattr(anp, name), sample(domain, BIG, F64, seed=30))
    if cplx:
        check(getattr(anp, name), sample(domain, BIG, C128, seed=31), order=1)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_large_arrays(name):
    dx, dy, _ = BINARY[name]
    f = getattr(anp, name)
    x, y = sample(dx, BIG, F64, seed=32), sample(dy, BIG, F64, seed=33)
    check(f, x, y)
    check(lambda a: f(a, y), x, order=1, modes=("rev",))
    check(lambda b: f(x, b), y, order=1, modes=("rev",))


def test_where_large_arrays():
    c = rand(BIG, seed=34) > 0
    x, y = sample((-2, 2), BIG, F64, seed=35), sample((-2, 2), BIG, F64, seed=36)
    check(lambda a, b: anp.where(c, a, b), x, y)
    check(lambda a: anp.where(c, a, y) * a, x)


def test_float_power_computes_in_float64_but_keeps_derivative_dtypes():
    x = sample((0.5, 2), (2, 3), F32, seed=3)
    y = sample((-2, 2), (3,), F32, seed=4)
    out = anp.float_power(x, y)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, np.float_power(x, y), rtol=1e-13)
    check(anp.float_power, x.astype(F64), y.astype(F64))
    g = ad.grad(lambda a: anp.sum(anp.float_power(a, 2.0)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)
    z = sample(None, (3,), np.complex64, seed=5)
    assert anp.float_power(z, 2.0).dtype == np.complex128


def test_power_with_integer_exponent_and_negative_base():
    x = sample((-2, 2), (2, 3), F64, seed=6)
    check(lambda a: anp.power(a, 3), x)
    check(lambda a: a**2, x)
    g = ad.grad(lambda a: anp.sum(a**3))(x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-14)


def test_power_integer_exponents_keep_numpy_promotion():
    k = np.array([1, 2, 3])
    for x, n in [(k, 2.0), (k, 3), (np.array([True, False]), 2), (k, -1.0), (np.float32([1.5]), 2)]:
        got, want = anp.power(x, n), np.power(x, n)
        assert got.dtype == want.dtype, (x.dtype, n)
        np.testing.assert_array_equal(got, want)
    x = sample("nonzero", (2, 3), F64, seed=20)
    for n in (-3, -1, 1, 2, 5, 4.0):
        check(lambda a: a**n, x, order=3)
        np.testing.assert_allclose(
            ad.grad(lambda a: anp.sum(a**n))(x), n * x ** (n - 1), rtol=1e-14
        )
    z = sample(None, (3,), C128, seed=21)
    check(lambda a: a**3 - a**-2, z)


@pytest.mark.parametrize("dt", [F64, F32])
def test_clip(dt):
    x = sample((-2, 2), (2, 3), dt, seed=7)
    x = x[np.abs(np.abs(x) - 1.0) > 0.1].reshape(-1)  # keep clear of the bounds
    np.testing.assert_array_equal(anp.clip(x, -1.0, 1.0), np.clip(x, -1.0, 1.0))
    check_all_dtypes(lambda a: anp.clip(a, -1.0, 1.0), x, dtypes=(dt,))
    check_all_dtypes(lambda a: anp.clip(a, None, 1.0), x, dtypes=(dt,))
    check_all_dtypes(lambda a: anp.clip(a, min=-1.0), x, dtypes=(dt,))
    # the bounds are differentiable too
    lo = np.full(x.shape, -1.0, dt)
    hi = np.full(x.shape, 1.0, dt)
    check_all_dtypes(anp.clip, x, lo, hi, dtypes=(dt,))
    g = ad.grad(lambda a: anp.sum(anp.clip(a, -1.0, 1.0)))(x)
    np.testing.assert_array_equal(g, (np.abs(x) < 1).astype(dt))


@pytest.mark.parametrize(
    "sc,sx,sy", [((2, 3), (2, 3), (2, 3)), ((3,), (2, 3), ()), ((2, 1), (3,), (2, 3))]
)
@pytest.mark.parametrize("dt", [F64, F32, C128])
def test_where(sc, sx, sy, dt):
    c = rand(sc, seed=8) > 0
    x = sample((-2, 2), sx, dt, seed=9)
    y = sample((-2, 2), sy, dt, seed=10)
    np.testing.assert_array_equal(anp.where(c, x, y), np.where(c, x, y))
    check_all_dtypes(lambda a, b: anp.where(c, a, b), x, y, dtypes=(dt,))


def test_where_float_condition_carries_no_derivative():
    x = np.array([0.0, 2.0, -1.0])
    a = np.array([1.0, 2.0, 3.0])
    g = ad.grad(lambda c, v: anp.sum(anp.where(c, v, 0.0) + c), argnums=(0, 1))(x, a)
    np.testing.assert_array_equal(g[0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(g[1], [0.0, 1.0, 1.0])


def test_where_one_argument_and_errors():
    c = np.array([0.0, 1.0, 2.0])
    (idx,) = anp.where(c)
    np.testing.assert_array_equal(idx, [1, 2])
    with pytest.raises(TypeError, match="where"):
        anp.where(c, c)


# ------------------------------------------------------------------ operators on traced arrays
OPERATORS = {
    "x + y": (lambda x, y: x + y, (-2, 2), (-2, 2)),
    "x - y": (lambda x, y: x - y, (-2, 2), (-2, 2)),
    "x * y": (lambda x, y: x * y, (-2, 2), (-2, 2)),
    "x / y": (lambda x, y: x / y, (-2, 2), "nonzero"),
    "x % y": (lambda x, y: x % y, (2.2, 2.8), (0.95, 1.05)),
    "x ** y": (lambda x, y: x**y, (0.5, 2), (-2, 2)),
    "-x + y": (lambda x, y: -x + y, (-2, 2), (-2, 2)),
    "+x * y": (lambda x, y: +x * y, (-2, 2), (-2, 2)),
    "abs(x) * y": (lambda x, y: abs(x) * y, "nonzero", (-2, 2)),
    "2 - x / 3 + 1 / y": (lambda x, y: 2.0 - x / 3.0 + 1.0 / y, (-2, 2), "nonzero"),
    "2 ** x * y ** 2": (lambda x, y: 2.0**x * y**2, (-2, 2), (-2, 2)),
    "5 % y + x * 2": (lambda x, y: 5.0 % y + x * 2, (-2, 2), (1.1, 1.2)),
    "np array * x": (lambda x, y: np.array([1.0, 2.0, 3.0], x.dtype) * x + y, (-2, 2), (-2, 2)),
}


@pytest.mark.parametrize("expr", list(OPERATORS))
@pytest.mark.parametrize("dt", [F64, F32])
def test_operators(expr, dt):
    f, dx, dy = OPERATORS[expr]
    x = sample(dx, (2, 3), dt, seed=11)
    y = sample(dy, (3,), dt, seed=12)
    check_all_dtypes(f, x, y, dtypes=(dt,))


def test_operators_complex():
    z = sample(None, (3,), C128, seed=13)
    w = sample(None, (3,), C128, seed=14)
    check(lambda a, b: a * b + a / b - b**2 - (-a), z, w)
    check(lambda a: abs(a) * 1.0, z)


def test_comparison_and_floor_division_operators_are_untraced():
    x = np.array([0.5, 1.5, -2.5])
    y = np.array([1.0, 1.0, -2.5])
    seen = []

    def f(a):
        outs = [a < y, a <= y, a > y, a >= y, a == y, a != y, a // 1.0, (a > 0) & (a < 1)]
        outs += [(a > 0) | (a < -1), ~(a > 0), (a > 0) ^ (a > 1)]
        seen.extend(outs)
        return anp.sum(a * (a // 1.0))

    g = ad.grad(f)(x)
    assert not any(isinstance(o, Tracer) for o in seen)
    np.testing.assert_array_equal(g, np.floor(x))  # d/da [a * floor(a)] = floor(a)
    want = [x < y, x <= y, x > y, x >= y, x == y, x != y, x // 1.0]
    for got, w in zip(seen, want, strict=False):
        np.testing.assert_array_equal(got, w)
    np.testing.assert_array_equal(seen[7], (x > 0) & (x < 1))
    np.testing.assert_array_equal(seen[9], ~(x > 0))


# ------------------------------------------------------------------ closed forms
def test_abs_at_zero_and_sign():
    assert ad.grad(anp.abs)(0.0) == 0.0
    assert ad.grad(anp.abs)(-0.0) == 0.0
    assert ad.grad(ad.grad(anp.abs))(0.0) == 0.0
    assert ad.grad(anp.abs)(-3.0) == -1.0
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(ad.grad(lambda a: anp.sum(anp.abs(a)))(x), [-1, 0, 1])
    assert ad.grad(lambda z: anp.abs(z))(0j) == 0
    assert ad.grad(lambda a: anp.sum(anp.sign(a) * a))(np.float64(-2.0)) == -1.0


def test_maximum_minimum_ties_split_evenly():
    for f in (anp.maximum, anp.minimum, anp.fmax, anp.fmin):
        assert ad.grad(f, argnums=(0, 1))(1.0, 1.0) == (0.5, 0.5)
        assert ad.grad(lambda x: f(x, x))(2.0) == 1.0
    assert ad.grad(anp.maximum, argnums=(0, 1))(2.0, 1.0) == (1.0, 0.0)
    assert ad.grad(anp.minimum, argnums=(0, 1))(2.0, 1.0) == (0.0, 1.0)
    # fmax/fmin ignore nan: the derivative goes to the number
    assert ad.grad(anp.fmax, argnums=(0, 1))(np.nan, 1.0) == (0.0, 1.0)
    assert ad.grad(anp.fmin, argnums=(0, 1))(1.0, np.nan) == (1.0, 0.0)
    assert ad.grad(lambda x: anp.clip(x, 0.0, 1.0))(1.0) == 0.5


def test_where_nan_caveat_and_safe_pattern():
    def unsafe(x):
        return anp.where(x > 0, anp.sqrt(x), 0.0)

    def safe(x):
        pos = x > 0
        return anp.where(pos, anp.sqrt(anp.where(pos, x, 1.0)), 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(ad.grad(unsafe)(0.0))  # 0 * inf from the unselected branch
    assert ad.grad(safe)(0.0) == 0.0
    assert ad.grad(ad.grad(safe))(0.0) == 0.0
    assert ad.grad(safe)(4.0) == 0.25
    assert ad.jvp(safe, (0.0,), (1.0,))[1] == 0.0


def test_power_at_zero():
    d = ad.grad
    assert d(lambda x: x**2)(0.0) == 0.0
    assert d(d(lambda x: x**2))(0.0) == 2.0
    assert d(lambda x: x**1)(0.0) == 1.0
    assert d(d(lambda x: x**1.0))(0.0) == 0.0
    assert d(lambda x: x**0)(0.0) == 0.0
    assert d(d(lambda x: x**0.0))(0.0) == 0.0
    assert d(lambda x: x**3)(0.0) == 0.0
    assert d(d(d(lambda x: x**3)))(0.0) == 6.0
    with np.errstate(divide="ignore"):
        assert d(lambda x: x**0.5)(0.0) == np.inf
    # in the exponent: d/dy 0**y = 0 for y > 0 (not nan), and 2**y log 2 elsewhere
    assert d(lambda y: anp.power(0.0, y))(2.0) == 0.0
    assert d(d(lambda y: anp.power(0.0, y)))(2.0) == 0.0
    assert d(lambda y: 2.0**y)(3.0) == pytest.approx(8 * math.log(2), rel=1e-15)
    # both arguments at once, in both modes
    fwd = ad.jvp(anp.power, (0.0, 2.0), (1.0, 1.0))[1]
    assert fwd == 0.0
    assert ad.grad(anp.power, argnums=(0, 1))(0.0, 2.0) == (0.0, 0.0)


def test_complex_conventions():
    z = np.complex128(1.5 - 0.5j)
    g = ad.grad(lambda a: anp.real(a * anp.conj(a)))(z)
    assert g == pytest.approx(2 * np.conj(z), abs=1e-15)
    g = ad.grad(lambda a: anp.abs(a) ** 2)(z)
    assert g == pytest.approx(2 * np.conj(z), abs=1e-14)
    assert ad.grad(anp.abs)(z) == pytest.approx(np.conj(z) / abs(z), abs=1e-15)
    assert ad.grad(anp.imag)(z) == -1j
    assert ad.grad(anp.real)(z) == 1.0
    assert ad.grad(anp.angle)(z) == pytest.approx(-1j / z, abs=1e-15)
    # holomorphic f: grad(Re f)(z) = d(Re f)/dx - i d(Re f)/dy = f'(z) (Cauchy-Riemann)
    assert ad.grad(lambda a: anp.real(anp.exp(a)))(z) == pytest.approx(np.exp(z), rel=1e-15)
    assert ad.grad(lambda a: anp.real(anp.sinc(a)))(z) == pytest.approx(
        (np.cos(np.pi * z) - np.sinc(z)) / z, rel=1e-12
    )
    # real and imag of real input: derivative 1 and 0
    assert ad.grad(anp.real)(2.0) == 1.0
    assert ad.grad(anp.imag)(2.0) == 0.0
    assert ad.grad(lambda x: anp.angle(x))(-2.0) == 0.0
    assert ad.grad(lambda a: anp.angle(a, deg=True))(z) == pytest.approx(-180j / (np.pi * z))
    np.testing.assert_allclose(anp.angle(z, deg=True), np.angle(z, deg=True))


def test_sign_complex_matches_numpy_and_is_safe_at_zero():
    z = np.array([1 + 1j, -2j, 0j])
    np.testing.assert_allclose(anp.sign(z), np.sign(z))
    f = lambda a: anp.real(anp.sum(anp.sign(a) * np.array([1.0, 2.0, 3.0])))
    g = ad.grad(f)(z)
    assert np.all(np.isfinite(g)) and g[2] == 0


def test_sinc_at_and_near_zero():
    d = ad.grad
    assert d(anp.sinc)(0.0) == 0.0
    assert d(d(anp.sinc))(0.0) == pytest.approx(-(np.pi**2) / 3, rel=1e-14)
    assert d(d(d(anp.sinc)))(0.0) == pytest.approx(0.0, abs=1e-12)
    for x in (1e-9, 1e-5, 1e-3, 0.05):
        t = np.pi * x
        series = np.pi * (-t / 3 + t**3 / 30 - t**5 / 840 + t**7 / 45360)
        assert d(anp.sinc)(x) == pytest.approx(series, rel=1e-13)
    for x in (0.2, 0.5, 1.7):  # the closed form
        assert d(anp.sinc)(x) == pytest.approx((np.cos(np.pi * x) - np.sinc(x)) / x, rel=1e-13)
    check(anp.sinc, np.array([-0.09, -0.01, 0.0, 0.02, 0.0955, 0.0956, 0.3]), order=3)


def test_log1p_expm1_keep_precision():
    x = 1e-12
    assert anp.log1p(1e-20) == 1e-20
    assert anp.expm1(1e-20) == 1e-20
    assert ad.grad(anp.log1p)(x) == 1.0 / (1.0 + x)
    assert ad.grad(anp.expm1)(x) == pytest.approx(np.exp(x), rel=1e-16)
    assert ad.grad(ad.grad(anp.log1p))(x) == pytest.approx(-1.0 / (1.0 + x) ** 2, rel=1e-15)
    # the derivative of expm1 near 0 in float32 keeps float32 and its value
    g = ad.grad(lambda a: anp.sum(anp.expm1(a)))(np.float32([1e-7, -1e-7]))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.exp([1e-7, -1e-7]), rtol=1e-7)


def test_logaddexp_stable_and_at_minus_infinity():
    g = ad.grad(anp.logaddexp, argnums=(0, 1))(1000.0, 1000.0)
    assert g == pytest.approx((0.5, 0.5), rel=1e-13)
    g = ad.grad(anp.logaddexp, argnums=(0, 1))(-1000.0, 0.0)
    assert g == (0.0, 1.0)
    g = ad.grad(anp.logaddexp, argnums=(0, 1))(-np.inf, -np.inf)
    assert g == (0.0, 0.0)
    g = ad.grad(anp.logaddexp2, argnums=(0, 1))(3.0, 3.0)
    assert g == (0.5, 0.5)


def test_hypot_arctan2_closed_forms():
    assert ad.grad(anp.hypot, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert ad.grad(anp.hypot, argnums=(0, 1))(3.0, 4.0) == (0.6, 0.8)
    gy, gx = ad.grad(anp.arctan2, argnums=(0, 1))(1.0, 2.0)
    assert (gy, gx) == pytest.approx((2 / 5, -1 / 5), rel=1e-15)


def test_mod_derivative_in_divisor():
    gx, gy = ad.grad(anp.mod, argnums=(0, 1))(7.5, 2.0)
    assert (gx, gy) == (1.0, -3.0)
    gx, gy = ad.grad(anp.fmod, argnums=(0, 1))(-7.5, 2.0)
    assert (gx, gy) == (1.0, 3.0)


def test_copysign_differentiable_in_x_only():
    gx, gy = ad.grad(anp.copysign, argnums=(0, 1))(-2.0, 3.0)
    assert (gx, gy) == (-1.0, 0.0)
    assert ad.grad(anp.copysign)(2.0, -3.0) == -1.0
    x = np.array([1.5, -2.0])
    y = np.array([-1.0, -1.0])
    check(anp.copysign, x, y)


def test_float32_stays_float32_through_second_order():
    x = np.float32([0.3, 0.7, 1.1])

    def f(a):
        return anp.sum(anp.exp(a) * anp.sin(a) / (1.0 + a**2) + anp.sqrt(a) - anp.arctan2(a, 2.0))

    assert f(x).dtype == np.float32
    assert ad.grad(f)(x).dtype == np.float32
    assert ad.hessian(f)(x).dtype == np.float32
    assert ad.jvp(f, (x,), (np.ones(3, np.float32),))[1].dtype == np.float32


# ------------------------------------------------------------------ batching
VMAP_CASES = {
    "sin": lambda x, y: anp.sin(x),
    "power": lambda x, y: anp.power(x * x + 1.0, y),
    "maximum": lambda x, y: anp.maximum(x, y[0]),
    "where": lambda x, y: anp.where(x > 0, x, y),
    "sinc": lambda x, y: anp.sinc(x),
    "floor": lambda x, y: anp.floor(x) + y,
    "clip": lambda x, y: anp.clip(x, -0.5, y),
}


@pytest.mark.parametrize("name", list(VMAP_CASES))
def test_vmap_and_jacobians(name):
    f = VMAP_CASES[name]
    xs = rand((4, 3), seed=15)
    ys = rand((4, 3), seed=16)
    got = ad.vmap(f)(xs, ys)
    want = np.stack([f(a, b) for a, b in zip(xs, ys, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-14)
    # jacfwd is vmap over tangents, jacrev vmap over cotangents
    jf = ad.jacfwd(f)(xs[0], ys[0])
    jr = ad.jacrev(f)(xs[0], ys[0])
    np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ non-differentiable
X = np.array([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5, np.inf, -np.inf, np.nan])
Y = np.array([1.0, -0.5, 0.0, 2.0, 1.5, -1.0, np.inf, 1.0, 1.0])

NONDIFF_FLOAT = {
    "floor_divide": 2, "equal": 2, "not_equal": 2, "less": 2, "less_equal": 2,
    "greater": 2, "greater_equal": 2, "logical_and": 2, "logical_or": 2, "logical_xor": 2,
    "logical_not": 1, "isfinite": 1, "isnan": 1, "isinf": 1, "isneginf": 1, "isposinf": 1,
    "floor": 1, "ceil": 1, "trunc": 1, "rint": 1, "round": 1, "around": 1, "fix": 1,
    "signbit": 1, "heaviside": 2, "nextafter": 2, "spacing": 1, "sign": 1, "isclose": 2,
}  # fmt: skip


@pytest.mark.parametrize("name", list(NONDIFF_FLOAT))
def test_nondiff_values_and_untraced(name):
    n = NONDIFF_FLOAT[name]
    f = getattr(anp, name)
    args = (X, Y)[:n]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(f(*args), getattr(np, name)(*args))
    # Under grad the result is a plain array: d/dx sum(x * f(x)) = f(x), nothing more.
    x = np.array([-1.7, -0.2, 0.3, 1.2, 2.6])
    y = np.array([0.5, -0.2, 1.0, 1.2, -3.0])
    seen = []

    def g(a):
        r = f(a, y) if n == 2 else f(a)
        seen.append(r)
        return anp.sum(a * anp.astype(r, np.float64))

    got = ad.grad(g)(x)
    assert not isinstance(seen[0], Tracer)
    want = (getattr(np, name)(x, y) if n == 2 else getattr(np, name)(x)).astype(np.float64)
    np.testing.assert_array_equal(got, want)
    tangent = ad.jvp(lambda a: anp.astype(f(a, y) if n == 2 else f(a), np.float64), (x,), (x,))[1]
    assert not np.any(tangent)


def test_round_decimals():
    x = np.array([1.2345, -2.5551, 0.125])
    np.testing.assert_array_equal(anp.round(x, 2), np.round(x, 2))
    np.testing.assert_array_equal(anp.around(x, 1), np.around(x, 1))
    assert ad.grad(lambda a: anp.sum(anp.round(a, 1) * a))(x).tolist() == np.round(x, 1).tolist()


@pytest.mark.parametrize(
    "name", ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "gcd", "lcm"]
)
def test_integer_binary(name):
    a = np.array([12, 7, 255, 0, 9])
    b = np.array([8, 3, 2, 5, 6])
    np.testing.assert_array_equal(getattr(anp, name)(a, b), getattr(np, name)(a, b))


def test_integer_unary_and_predicates():
    a = np.array([12, 7, 0], dtype=np.int32)
    np.testing.assert_array_equal(anp.invert(a), np.invert(a))
    np.testing.assert_array_equal(anp.invert(a > 5), ~(a > 5))
    assert anp.iscomplexobj(np.array([1j])) and not anp.iscomplexobj(np.array([1.0]))
    assert anp.isrealobj(np.array([1.0])) and not anp.isrealobj(np.array([1j]))
    assert anp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    assert not anp.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert anp.allclose(np.array([np.nan]), np.array([np.nan]), equal_nan=True)
    assert anp.array_equal(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert not anp.array_equal(np.array([1.0, 2.0]), np.array([1.0]))
    assert anp.array_equal(np.array([np.nan]), np.array([np.nan]), equal_nan=True)
    assert not anp.array_equal(np.array([np.nan]), np.array([np.nan]))

    def f(a):
        assert anp.iscomplexobj(a) is False and anp.isrealobj(a) is True
        assert anp.allclose(a, a) is True and anp.array_equal(a, a) is True
        return anp.sum(a * a)

    assert ad.grad(f)(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
