r"""Taylor mode: propagating truncated Taylor series through a function (``adgraph.jet``).

A :class:`TaylorTracer` carries a primal :math:`x_0` and the next ``K`` coefficients of a
curve through it,

.. math:: x(t) = x_0 + c_1 t + c_2 t^2 + \dots + c_K t^K + O(t^{K+1}),

and every primitive maps the curves of its arguments to the curve of its result, truncated
at the same order. Inside the engine the coefficients are *Taylor* coefficients
:math:`c_k = x^{(k)}(0)/k!` (the recurrences below are simplest in them); ``adgraph.jet``
takes and returns *derivative* coefficients :math:`x^{(k)}(0)`, as JAX's ``jet`` does, and
converts at the boundary.

A primitive's Taylor rule, ``taylor(primals, series, params) -> (ans, series_out)``,
receives per argument ``None`` (the argument is a constant: every coefficient is zero) or
the list ``[c_1, ..., c_K]``, and returns its output and the output's list (or None for a
zero series; a tuple of lists for ``multiple_results`` primitives). The rules below are the
standard recurrences, O(K^2) operations per primitive; they are written with array
arithmetic only, so an enclosing transformation (``grad`` of a ``jet``) differentiates
them like any other code.

A primitive without a Taylor rule is handled by :func:`fallback`: its forward-mode rule,
evaluated on series one order lower, gives the series of the output's derivative, one new
coefficient at a time. That is correct for every primitive with a forward-mode rule, and
slower (O(K^3) when the rule's own operations have Taylor rules, more when they do not).
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any

from ..core.primitive import registry
from ..core.trace import Trace, Tracer, split_args, trace_scope
from .common import fit_for_rule
from .forward import apply_tangent_rule

__all__ = [
    "TaylorTrace",
    "TaylorTracer",
    "fallback",
    "linear_rule",
    "bilinear_rule",
    "RULES",
]


class TaylorTracer(Tracer):
    """A primal and its Taylor coefficients ``series = [c_1, ..., c_K]`` (each shaped like
    the primal) under one :class:`TaylorTrace`."""

    __slots__ = ("primal", "series")

    def __init__(self, trace: TaylorTrace, primal: Any, series: list) -> None:
        self._trace = trace
        self.primal = primal
        self.series = series

    shape = property(attrgetter("primal.shape"))
    dtype = property(attrgetter("primal.dtype"))

    def _inner(self):
        return self.primal


class TaylorTrace(Trace):
    """Propagation of series truncated at ``order`` (the number of coefficients after the
    primal)."""

    __slots__ = ("order",)

    def __init__(self, order: int) -> None:
        super().__init__()
        self.order = order

    def process(self, prim, args, params):
        primals, series, any_t = split_args(self, args, TaylorTracer, "series")
        if prim.nondiff or not any_t:
            return prim.bind(*primals, **params)
        if prim.taylor is not None:
            ans, out = prim.taylor(primals, series, params)
        else:
            ans, out = fallback(self, prim, primals, series, params)
        if prim.multiple_results:
            if out is None:
                return ans
            return tuple(self.wrap(prim, a, s) for a, s in zip(ans, out))
        return self.wrap(prim, ans, out)

    def wrap(self, prim, ans, out):
        """``ans`` traced with coefficients ``out`` fitted to its shape and dtype (a rule
        may give a coefficient that broadcasts to it: a constant operand's shape)."""
        if out is None or ans.dtype.kind not in "fc":
            return ans
        if len(out) != self.order:
            raise ValueError(
                f"the Taylor rule of primitive {prim.name!r} gave {len(out)} coefficients for "
                f"a series of order {self.order}"
            )
        shape, dtype = ans.shape, ans.dtype
        out = [
            fit_for_rule(c, shape, dtype, lambda k=k: _rule_what(prim, k))
            for k, c in enumerate(out, 1)
        ]
        return TaylorTracer(self, ans, out)


def _rule_what(prim, k):
    return f"coefficient {k} the Taylor rule of primitive {prim.name!r} gave"


# ------------------------------------------------------------------ the generic fallback
def fallback(trace: TaylorTrace, prim, primals: list, series: list, params: dict):
    r"""The series of ``prim``'s output from its forward-mode rule alone.

    For :math:`y(t) = f(x(t))`, :math:`y'(t) = \partial f(x(t))\,x'(t)` is what the
    tangent rule computes from ``ans`` :math:`= y`, the primals :math:`x` and the tangents
    :math:`x'`. Knowing :math:`y` to order :math:`k-1`, the rule evaluated on series of order
    :math:`k-1` (in a Taylor trace of that order) gives :math:`y'` to order :math:`k-1`,
    whose last coefficient is :math:`k c_k`. So ``K`` evaluations of the tangent rule, at
    orders 0 to K-1, give the output's series; the tangent rule's own operations are
    handled by their Taylor rules (or by this fallback again, one order lower).
    """
    if prim.jvp_rule is None and prim.joint_tangent is None and prim.tangent is None:
        raise prim.missing("Taylor-mode (jet) or forward-mode (JVP)")
    K = trace.order
    ans = prim.bind(*primals, **params)
    multi = prim.multiple_results
    outs = list(ans) if multi else [ans]
    coeffs: list[list] = [[] for _ in outs]  # output j's c_1 .. c_(k-1) so far
    for k in range(1, K + 1):
        if k == 1:  # order 0: the plain tangent rule at the primal point
            tangents = [None if s is None else s[0] for s in series]
            t = _tangent(prim, ans, primals, tangents, params)
            ts = list(t) if multi else [t]
            for j, tj in enumerate(ts):
                coeffs[j].append(None if tj is None else tj)
            continue
        sub = TaylorTrace(k - 1)
        with trace_scope(sub):
            xs: list[Any] = []
            dxs: list[Any] = []
            for p, s in zip(primals, series):
                if s is None:
                    xs.append(p)
                    dxs.append(None)
                    continue
                xs.append(TaylorTracer(sub, p, s[: k - 1]))
                # x'(t): coefficients (m + 1) c_(m+1), m = 0 .. k-1
                dxs.append(TaylorTracer(sub, s[0], [(m + 1) * s[m] for m in range(1, k)]))
            ys = [
                TaylorTracer(sub, a, [_zero_if_none(c, a) for c in cs])
                for a, cs in zip(outs, coeffs)
            ]
            t = _tangent(prim, tuple(ys) if multi else ys[0], xs, dxs, params)
        ts = list(t) if multi else [t]
        for j, tj in enumerate(ts):
            c = None
            if type(tj) is TaylorTracer and tj._trace is sub:
                c = tj.series[k - 2] * (1.0 / k)
            coeffs[j].append(c)
    series_out: list[Any] = []
    for a, cs in zip(outs, coeffs):
        if a.dtype.kind not in "fc" or all(c is None for c in cs):
            series_out.append(None)
        else:
            series_out.append([_zero_if_none(c, a) for c in cs])
    return ans, (tuple(series_out) if multi else series_out[0])


def _tangent(prim, ans, primals, tangents, params):
    if prim.jvp_rule is not None:
        return prim.jvp_rule(primals, tangents, params)[1]
    return apply_tangent_rule(prim, ans, primals, tangents, params)


def _zero_if_none(c, like):
    return like * 0.0 if c is None else c


# ------------------------------------------------------------------ rule builders
def linear_rule(prim):
    """The Taylor rule of a primitive linear in its first argument (the others constant,
    as its forward rule treats them): each coefficient goes through the primitive.
    ``prim``: the primitive or its registry name (looked up when the rule first runs)."""

    def rule(primals, series, params):
        bind = _resolve(prim)
        x, *rest = primals
        ans = bind(x, *rest, **params)
        if series[0] is None:
            return ans, None
        return ans, [bind(c, *rest, **params) for c in series[0]]

    return rule


def bilinear_rule(prim):
    r"""The Taylor rule of a primitive bilinear in its first two arguments (``matmul``,
    ``multiply``): the Cauchy product :math:`z_k = \sum_{j=0}^k B(x_j, y_{k-j})`.
    ``prim``: the primitive or its registry name."""

    def rule(primals, series, params):
        bind = _resolve(prim)
        x, y, *rest = primals
        ans = bind(x, y, *rest, **params)
        sx, sy = series[0], series[1]
        if sx is None:
            return ans, [bind(x, c, *rest, **params) for c in sy]
        if sy is None:
            return ans, [bind(c, y, *rest, **params) for c in sx]
        X, Y = [x, *sx], [y, *sy]
        out = []
        for k in range(1, len(sx) + 1):
            out.append(_sum([bind(X[j], Y[k - j], *rest, **params) for j in range(k + 1)]))
        return ans, out

    return rule


def _resolve(prim):
    return registry[prim].bind if type(prim) is str else prim.bind


# ------------------------------------------------------------------ series arithmetic
# Lists below hold a whole series, c_0 (the primal) first.
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


def _integer_pow_rule(primals, series, params):
    x0 = primals[0]
    xs = series[0]
    K = len(xs)
    y = _integer_pow(x0, [x0, *xs], K, n=params["n"])
    return _bind("integer_pow", x0, n=params["n"]), y[1:]


# The rules the ops modules declare, by primitive name (each declaration names its own:
# ``taylor=RULES["exp"]``).
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
    "exp": _unary(_exp),
    "expm1": _unary(_expm1),
    "log": _unary(_log),
    "log1p": _unary(_log1p),
    "sin": _unary(_sin),
    "cos": _unary(_cos),
    "tan": _unary(_tan),
    "sinh": _unary(_sinh),
    "cosh": _unary(_cosh),
    "tanh": _unary(_tanh),
    "arctan": _unary(_arctan),
    "expit": _unary(_expit),
    "erf": _unary(_erf),
}
