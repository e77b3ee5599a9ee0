r"""The Taylor rules of adgraph's primitives: recurrences on truncated series.

Each rule maps the Taylor coefficients of its arguments to those of its result (see
:mod:`adgraph.ad.taylor` for the protocol). Lists below hold a *whole* series, the primal
first: ``x = [x_0, x_1, ..., x_K]``. The recurrences are the standard ones of automatic
differentiation (Griewank and Walther, *Evaluating Derivatives*, ch. 13): Cauchy products
for products, and for a function with a known derivative, :math:`y' = g(x)\,x'` solved
coefficient by coefficient,

.. math:: y_k = \frac{1}{k} \sum_{j=1}^{k} j\, x_j\, g_{k-j},

which needs ``g`` only to order k-1. Everything is written with adgraph's primitives and
Python numbers, so the same rules run on NumPy, CuPy and Dask arrays and under every other
transformation (``grad`` of a ``jet``, ``jit``, ``vmap``).
"""

from __future__ import annotations

import math
from typing import Any

from ..core.primitive import registry
from .taylor import bilinear_rule, locally_linear_rule

__all__ = ["RULES"]


# ------------------------------------------------------------------ series arithmetic
def _bind(name, *args, **params):
    return registry[name].bind(*args, **params)


def _sum(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _mul(a, b, K):
    """The Cauchy product of two whole series, to order K."""
    return [_sum([a[j] * b[k - j] for j in range(k + 1)]) for k in range(K + 1)]


def _div(a, b, K):
    r"""The series of :math:`a/b`: :math:`z_k = (a_k - \sum_{j=1}^k b_j z_{k-j}) / b_0`."""
    inv = 1.0 / b[0]
    z = [a[0] * inv]
    for k in range(1, K + 1):
        s = a[k]
        for j in range(1, k + 1):
            s = s - b[j] * z[k - j]
        z.append(s * inv)
    return z


def _ode_step(x, g, k):
    r"""The coefficient :math:`y_k` of :math:`y' = g\,x'`: :math:`\frac1k\sum_{j=1}^k j x_j
    g_{k-j}` (needs ``g`` to order k-1 only)."""
    return _sum([x[j] * g[k - j] * (j / k) for j in range(1, k + 1)])


def _integrate_quotient(ans, x, u, K):
    r"""The series of :math:`y` with :math:`y' = x'/u` and :math:`y_0 =` ``ans``
    (log: ``u = x``; log1p: ``u = 1 + x``; arctan: ``u = 1 + x^2``)."""
    dx = [x[m + 1] * (m + 1) for m in range(K)]
    v = _div(dx, u, K - 1) if K else []
    return [ans] + [v[m] * (1.0 / (m + 1)) for m in range(K)]


def _whole(x0, s, K):
    """A whole series from a primal and its rule input (None: a constant)."""
    return [x0] + (list(s) if s is not None else [x0 * 0.0] * K)


def _order(series):
    return next(len(s) for s in series if s is not None)


def _unary(fn):
    """A unary rule from ``fn(x0, x, K) -> whole output series``."""

    def rule(primals, series, params):
        x0 = primals[0]
        xs = series[0]
        K = len(xs)
        y = fn(x0, [x0, *xs], K, **params)
        return y[0], y[1:]

    return rule


# ------------------------------------------------------------------ arithmetic rules
def _add(primals, series, params):
    x, y = primals
    ans = _bind("add", x, y)
    sx, sy = series
    if sx is None:
        return ans, list(sy)
    if sy is None:
        return ans, list(sx)
    return ans, [a + b for a, b in zip(sx, sy)]


def _subtract(primals, series, params):
    x, y = primals
    ans = _bind("subtract", x, y)
    sx, sy = series
    if sx is None:
        return ans, [-b for b in sy]
    if sy is None:
        return ans, list(sx)
    return ans, [a - b for a, b in zip(sx, sy)]


def _negative(primals, series, params):
    return _bind("negative", primals[0]), [-c for c in series[0]]


def _divide(primals, series, params):
    x, y = primals
    ans = _bind("divide", x, y)
    sx, sy = series
    if sy is None:
        inv = 1.0 / y
        return ans, [c * inv for c in sx]
    K = _order(series)
    z = _div(_whole(x, sx, K), [y, *sy], K)
    return ans, z[1:]


def _where(primals, series, params):
    c, x, y = primals
    ans = _bind("where", c, x, y)
    K = _order(series)
    sx = series[1] if series[1] is not None else [0.0] * K
    sy = series[2] if series[2] is not None else [0.0] * K
    return ans, [_bind("where", c, a, b) for a, b in zip(sx, sy)]


def _square(x0, x, K):
    return _mul(x, x, K)


def _reciprocal(x0, x, K):
    return _div([1.0] + [0.0] * K, x, K)


def _integer_pow(x0, x, K, *, n):
    # Repeated squaring of the series: exact at x0 = 0, unlike the general power
    # recurrence (which divides by x0).
    m = abs(n)
    result, base = None, x
    while m:
        if m & 1:
            result = base if result is None else _mul(result, base, K)
        m >>= 1
        if m:
            base = _mul(base, base, K)
    if result is None:  # n == 0
        return [_bind("integer_pow", x0, n=0)] + [x0 * 0.0] * K
    if n < 0:
        return _div([1.0] + [0.0] * K, result, K)
    return result


def _pow_const(ans, x, r, K):
    r"""The series of :math:`y = x^r` for a constant r: :math:`x y' = r x' y` gives
    :math:`k x_0 y_k = \sum_{j=1}^k (rj - (k - j)) x_j y_{k-j}` (needs :math:`x_0 \ne 0`)."""
    inv = 1.0 / x[0]
    y = [ans]
    for k in range(1, K + 1):
        s = _sum([x[j] * y[k - j] * ((r * j - (k - j)) / k) for j in range(1, k + 1)])
        y.append(s * inv)
    return y


def _exp_series(ans, u, K):
    """The series of exp(u), whose value ``ans`` is known: y' = y u'."""
    y = [ans]
    for k in range(1, K + 1):
        y.append(_ode_step(u, y, k))
    return y


def _power(primals, series, params):
    x, y = primals
    ans = _bind("power", x, y)
    sx, sy = series
    K = _order(series)
    if sy is None:
        return ans, _pow_const(ans, [x, *sx], y, K)[1:]
    # x^y = exp(y log x)
    if sx is None:
        logx = [_bind("log", x)] + [0.0] * K
    else:
        logx = _integrate_quotient(_bind("log", x), [x, *sx], [x, *sx], K)
    w = _mul([y, *sy], logx, K)
    return ans, _exp_series(ans, w, K)[1:]


def _sqrt(x0, x, K):
    y0 = _bind("sqrt", x0)
    inv = 1.0 / (2.0 * y0)
    y = [y0]
    for k in range(1, K + 1):
        s = x[k]
        for j in range(1, k):
            s = s - y[j] * y[k - j]
        y.append(s * inv)
    return y


# ------------------------------------------------------------------ transcendental rules
def _exp(x0, x, K):
    return _exp_series(_bind("exp", x0), x, K)


def _expm1(x0, x, K):
    y0 = _bind("expm1", x0)
    e = _exp_series(y0 + 1.0, x, K)  # the series of e^x = expm1 + 1
    return [y0] + e[1:]


def _log(x0, x, K):
    return _integrate_quotient(_bind("log", x0), x, x, K)


def _log1p(x0, x, K):
    return _integrate_quotient(_bind("log1p", x0), x, [x0 + 1.0, *x[1:]], K)


def _sincos(s0, c0, x, K, sign):
    """The series of (s, c) with s' = c x', c' = sign * s x' (sin/cos: -1, sinh/cosh: +1)."""
    s, c = [s0], [c0]
    for k in range(1, K + 1):
        sk = _ode_step(x, c, k)
        ck = _ode_step(x, s, k)
        s.append(sk)
        c.append(ck if sign > 0 else -ck)
    return s, c


def _sin(x0, x, K):
    return _sincos(_bind("sin", x0), _bind("cos", x0), x, K, -1)[0]


def _cos(x0, x, K):
    return _sincos(_bind("sin", x0), _bind("cos", x0), x, K, -1)[1]


def _sinh(x0, x, K):
    return _sincos(_bind("sinh", x0), _bind("cosh", x0), x, K, 1)[0]


def _cosh(x0, x, K):
    return _sincos(_bind("sinh", x0), _bind("cosh", x0), x, K, 1)[1]


def _riccati(y0, x, K, a, b):
    r"""The series of y with :math:`y' = (a + b\,y^2)\,x'` (tan: a = b = 1; tanh: a = 1,
    b = -1) or, with ``a = None``, :math:`y' = (y - y^2)\,x'` (the logistic function)."""
    y = [y0]
    g = []  # g = a + b y^2 (or y - y^2), one coefficient per step
    for k in range(1, K + 1):
        m = k - 1
        yy = _sum([y[i] * y[m - i] for i in range(m + 1)])
        if a is None:
            g.append(y[m] - yy)
        else:
            g.append(yy * b + a if m == 0 else yy * b)
        y.append(_ode_step(x, g, k))
    return y


def _tan(x0, x, K):
    return _riccati(_bind("tan", x0), x, K, 1.0, 1.0)


def _tanh(x0, x, K):
    return _riccati(_bind("tanh", x0), x, K, 1.0, -1.0)


def _expit(x0, x, K):
    return _riccati(_bind("expit", x0), x, K, None, None)


def _arctan(x0, x, K):
    u = _mul(x, x, K)
    u[0] = u[0] + 1.0
    return _integrate_quotient(_bind("arctan", x0), x, u, K)


_2_SQRTPI = 2.0 / math.sqrt(math.pi)


def _erf(x0, x, K):
    # erf' = 2/sqrt(pi) exp(-x^2): the series of e = exp(-x^2), then y' = (2/sqrt(pi)) e x'.
    u = [-c for c in _mul(x, x, K)]
    e = _exp_series(_bind("exp", u[0]), u, K)
    g = [c * _2_SQRTPI for c in e]
    y = [_bind("erf", x0)]
    for k in range(1, K + 1):
        y.append(_ode_step(x, g, k))
    return y


def _scale(y, c):
    """A whole series times the constant ``c``, the primal included."""
    return [v * c for v in y]


def _integrate(ans, g, K):
    r"""The series of y with :math:`y_0 =` ``ans`` and :math:`y' = g` (``g`` to order K-1)."""
    return [ans] + [g[m] * (1.0 / (m + 1)) for m in range(K)]


def _sqrt_series(y0, w, K):
    r"""The series of :math:`\sqrt{w}` whose value ``y0`` is known: :math:`y^2 = w`."""
    inv = 1.0 / (2.0 * y0)
    y = [y0]
    for k in range(1, K + 1):
        s = w[k]
        for j in range(1, k):
            s = s - y[j] * y[k - j]
        y.append(s * inv)
    return y


def _deriv(x, K):
    """The series of x'(t) to order K-1: coefficients (m + 1) x_(m+1)."""
    return [x[m + 1] * (m + 1) for m in range(K)]


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _exp2(x0, x, K):
    return _exp_series(_bind("exp2", x0), _scale(x, _LN2), K)


def _log2(x0, x, K):
    y = _integrate_quotient(_bind("log2", x0), x, x, K)
    return [y[0]] + [c * (1.0 / _LN2) for c in y[1:]]


def _log10(x0, x, K):
    y = _integrate_quotient(_bind("log10", x0), x, x, K)
    return [y[0]] + [c * (1.0 / _LN10) for c in y[1:]]


def _cbrt(x0, x, K):
    return _pow_const(_bind("cbrt", x0), x, 1.0 / 3.0, K)


def _one_minus_square(x, K):
    u = [-c for c in _mul(x, x, K)]
    u[0] = u[0] + 1.0
    return u


def _arcsin(x0, x, K):
    # y' = x' / sqrt(1 - x^2)
    w = _one_minus_square(x, K)
    u = _sqrt_series(_bind("sqrt", w[0]), w, K)
    return _integrate_quotient(_bind("arcsin", x0), x, u, K)


def _arccos(x0, x, K):
    y = _arcsin(x0, x, K)
    return [_bind("arccos", x0)] + [-c for c in y[1:]]


def _arcsinh(x0, x, K):
    # y' = x' / sqrt(1 + x^2)
    w = _mul(x, x, K)
    w[0] = w[0] + 1.0
    u = _sqrt_series(_bind("sqrt", w[0]), w, K)
    return _integrate_quotient(_bind("arcsinh", x0), x, u, K)


def _arccosh(x0, x, K):
    # y' = x' / sqrt(x^2 - 1)  (x > 1)
    w = _mul(x, x, K)
    w[0] = w[0] - 1.0
    u = _sqrt_series(_bind("sqrt", w[0]), w, K)
    return _integrate_quotient(_bind("arccosh", x0), x, u, K)


def _arctanh(x0, x, K):
    return _integrate_quotient(_bind("arctanh", x0), x, _one_minus_square(x, K), K)


def _logit(x0, x, K):
    # y' = x' / (x (1 - x))
    u = [a - b for a, b in zip(x, _mul(x, x, K))]
    return _integrate_quotient(_bind("logit", x0), x, u, K)


_SQRTPI_2 = math.sqrt(math.pi) / 2.0


def _erfc(x0, x, K):
    y = _erf(x0, x, K)
    return [_bind("erfc", x0)] + [-c for c in y[1:]]


def _erfinv(x0, x, K):
    r"""y = erfinv(x): :math:`y' = \frac{\sqrt\pi}{2} e^{y^2} x'`; the series of
    :math:`e = e^{y^2}` is built alongside y, one coefficient behind."""
    y = [_bind("erfinv", x0)]
    u: list = []  # y^2
    e: list = []  # exp(y^2)
    g: list = []  # (sqrt(pi)/2) exp(y^2)
    for k in range(1, K + 1):
        m = k - 1
        u.append(_sum([y[i] * y[m - i] for i in range(m + 1)]))
        e.append(_bind("exp", u[0]) if m == 0 else _ode_step(u, e, m))
        g.append(e[m] * _SQRTPI_2)
        y.append(_ode_step(x, g, k))
    return y


def _entr(x0, x, K):
    # -x log x for x > 0: the product of -x and the series of log x
    lg = _integrate_quotient(_bind("log", x0), x, x, K)
    y = _mul([-c for c in x], lg, K)
    return [_bind("entr", x0)] + y[1:]


def _derivatives_at(derivs, x, K):
    r"""The series of f(x(t)) from :math:`f^{(m)}(x_0)`, m = 0..K (Faa di Bruno by powers
    of :math:`x(t) - x_0`): :math:`\sum_m f^{(m)}(x_0)/m!\,(x(t) - x_0)^m`. O(K^3)."""
    dx = [x[0] * 0.0] + list(x[1:])
    y = [derivs[0]] + [dx[k] * derivs[1] for k in range(1, K + 1)]
    power = dx
    for m in range(2, K + 1):
        power = _mul(power, dx, K)  # (x - x0)^m: zero below order m
        c = 1.0 / math.factorial(m)
        for k in range(m, K + 1):
            y[k] = y[k] + power[k] * (derivs[m] * c)
    return y


def _polygamma(x0, x, K, *, n):
    # psi^(n) has derivatives psi^(n+m): the series from them, any order
    derivs = [_bind("polygamma", x0, n=n + m) for m in range(K + 1)]
    return _derivatives_at(derivs, x, K)


def _gammaln(x0, x, K):
    derivs = [_bind("gammaln", x0)] + [_bind("polygamma", x0, n=m) for m in range(K)]
    return _derivatives_at(derivs, x, K)


def _binary(fn):
    """A binary rule from ``fn(x, y, K, ans) -> whole output series`` (whole input series,
    a constant argument as a series of zeros)."""

    def rule(primals, series, params):
        x0, y0 = primals
        K = _order(series)
        out = fn(_whole(x0, series[0], K), _whole(y0, series[1], K), K)
        return out[0], out[1:]

    return rule


def _arctan2(y, x, K):
    # theta' = (x y' - y x') / (x^2 + y^2)
    num = [a - b for a, b in zip(_mul(x, _deriv(y, K), K - 1), _mul(y, _deriv(x, K), K - 1))]
    den = [a + b for a, b in zip(_mul(x, x, K - 1), _mul(y, y, K - 1))]
    return _integrate(_bind("arctan2", y[0], x[0]), _div(num, den, K - 1), K)


def _hypot(x, y, K):
    w = [a + b for a, b in zip(_mul(x, x, K), _mul(y, y, K))]
    return _sqrt_series(_bind("hypot", x[0], y[0]), w, K)


def _logaddexp_series(x, y, K, ans):
    # ln(e^x + e^y) = m + ln(e^(x-m) + e^(y-m)) with m = max(x0, y0): no overflow, and the
    # coefficients k >= 1 do not depend on m
    m = _bind("maximum", x[0], y[0])
    ex = _exp_series(_bind("exp", x[0] - m), [x[0] - m, *x[1:]], K)
    ey = _exp_series(_bind("exp", y[0] - m), [y[0] - m, *y[1:]], K)
    s = [a + b for a, b in zip(ex, ey)]
    return _integrate_quotient(ans, s, s, K)


def _logaddexp(x, y, K):
    return _logaddexp_series(x, y, K, _bind("logaddexp", x[0], y[0]))


def _logaddexp2(x, y, K):
    # log2(2^x + 2^y) = logaddexp(x ln 2, y ln 2) / ln 2
    z = _logaddexp_series(_scale(x, _LN2), _scale(y, _LN2), K, 0.0)
    return [_bind("logaddexp2", x[0], y[0])] + [c * (1.0 / _LN2) for c in z[1:]]


def _xlogy(x, y, K):
    lg = _integrate_quotient(_bind("log", y[0]), y, y, K)
    return [_bind("xlogy", x[0], y[0])] + _mul(x, lg, K)[1:]


def _xlog1py(x, y, K):
    lg = _integrate_quotient(_bind("log1p", y[0]), y, [y[0] + 1.0, *y[1:]], K)
    return [_bind("xlog1py", x[0], y[0])] + _mul(x, lg, K)[1:]


def _real_only(rule):
    """``rule`` for real arguments; complex ones go to the fallback."""

    def wrapped(primals, series, params):
        if any(getattr(p, "dtype", None) is not None and p.dtype.kind == "c" for p in primals):
            return NotImplemented
        return rule(primals, series, params)

    return wrapped


def _integer_pow_rule(primals, series, params):
    x0 = primals[0]
    xs = series[0]
    K = len(xs)
    y = _integer_pow(x0, [x0, *xs], K, n=params["n"])
    return _bind("integer_pow", x0, n=params["n"]), y[1:]


# The rules the ops modules declare, by primitive name (each declaration names its own:
# ``taylor=RULES["exp"]``). Builders take the name, looked up when the rule first runs.
RULES: dict[str, Any] = {
    "add": _add,
    "multiply": bilinear_rule("multiply"),
    "subtract": _subtract,
    "negative": _negative,
    "divide": _divide,
    "where": _where,
    "power": _power,
    "integer_pow": _integer_pow_rule,
    "square": _unary(_square),
    "reciprocal": _unary(_reciprocal),
    "sqrt": _unary(_sqrt),
    "cbrt": _unary(_cbrt),
    "exp": _unary(_exp),
    "exp2": _unary(_exp2),
    "expm1": _unary(_expm1),
    "log": _unary(_log),
    "log2": _unary(_log2),
    "log10": _unary(_log10),
    "log1p": _unary(_log1p),
    "logaddexp": _binary(_logaddexp),
    "logaddexp2": _binary(_logaddexp2),
    "sin": _unary(_sin),
    "cos": _unary(_cos),
    "tan": _unary(_tan),
    "arcsin": _unary(_arcsin),
    "arccos": _unary(_arccos),
    "arctan": _unary(_arctan),
    "arctan2": _binary(_arctan2),
    "hypot": _binary(_hypot),
    "sinh": _unary(_sinh),
    "cosh": _unary(_cosh),
    "tanh": _unary(_tanh),
    "arcsinh": _unary(_arcsinh),
    "arccosh": _unary(_arccosh),
    "arctanh": _unary(_arctanh),
    "expit": _unary(_expit),
    "logit": _unary(_logit),
    "erf": _unary(_erf),
    "erfc": _unary(_erfc),
    "erfinv": _unary(_erfinv),
    "entr": _unary(_entr),
    "gammaln": _unary(_gammaln),
    "polygamma": _unary(_polygamma),
    "xlogy": _binary(_xlogy),
    "xlog1py": _binary(_xlog1py),
}
# Linear or piecewise linear near the primal point: each coefficient through the forward
# rule there (branches taken by the primal).
for _name in (
    "maximum", "minimum", "fmax", "fmin", "mod", "fmod", "copysign", "deg2rad", "rad2deg",
    "real", "imag", "conj", "convert_element_type", "cumsum", "reduce_max", "reduce_min",
    "concatenate", "split", "getitem", "take_along_axis", "put_along_axis_add", "scatter",
    "scatter_add", "scatter_max", "scatter_min", "diagonal", "diag_embed",
):  # fmt: skip
    RULES[_name] = locally_linear_rule(_name)
# |z| and arg z of complex z are not piecewise linear: those take the fallback
RULES["abs"] = _real_only(locally_linear_rule("abs"))
RULES["angle"] = _real_only(locally_linear_rule("angle"))

# products, reductions and linear algebra (imported last: they use the helpers above)
from .taylor_arrays import ARRAY_RULES  # noqa: E402

RULES.update(ARRAY_RULES)
