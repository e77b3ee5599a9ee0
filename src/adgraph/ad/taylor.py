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
zero series; a tuple of lists for ``multiple_results`` primitives), or ``NotImplemented``
for arguments it does not cover (complex ones, say), which then go to the fallback. The rules below are the
standard recurrences, O(K^2) operations per primitive; they are written with array
arithmetic only, so an enclosing transformation (``grad`` of a ``jet``) differentiates
them like any other code.

A primitive without a Taylor rule is handled by :func:`fallback`: its forward-mode rule,
evaluated on series one order lower, gives the series of the output's derivative, one new
coefficient at a time. That is correct for every primitive with a forward-mode rule, and
slower (O(K^3) when the rule's own operations have Taylor rules, more when they do not).
"""

from __future__ import annotations

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
    "multilinear_rule",
    "locally_linear_rule",
    "from_tangent_rule",
    "call_rule",
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
        res = NotImplemented if prim.taylor is None else prim.taylor(primals, series, params)
        if res is NotImplemented:  # no rule, or none for these arguments (complex, say)
            res = fallback(self, prim, primals, series, params)
        ans, out = res
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


def multilinear_rule(prim):
    r"""The Taylor rule of a primitive linear in each of its arguments separately
    (``einsum`` of n operands): the n-fold Cauchy product
    :math:`z_k = \sum_{k_1 + \dots + k_n = k} B(x^{(1)}_{k_1}, \dots, x^{(n)}_{k_n})`, the
    constant operands contributing their value only. ``prim``: the primitive or its name."""

    def rule(primals, series, params):
        bind = _resolve(prim)
        ans = bind(*primals, **params)
        K = next(len(s) for s in series if s is not None)
        whole = [[p] if s is None else [p, *s] for p, s in zip(primals, series)]
        out = []
        for k in range(1, K + 1):
            terms = [bind(*[w[j] for w, j in zip(whole, ks)], **params) for ks in _splits(whole, k)]
            out.append(_sum(terms))
        return ans, out

    return rule


def _splits(whole, k):
    """The tuples (k_1, ..., k_n) summing to k with k_i < len(whole[i])."""
    if len(whole) == 1:
        return [(k,)] if k < len(whole[0]) else []
    out = []
    for j in range(min(k, len(whole[0]) - 1) + 1):
        out.extend((j,) + rest for rest in _splits(whole[1:], k - j))
    return out


def locally_linear_rule(prim):
    r"""The Taylor rule of a primitive that is linear near its primal point: linear
    (indexing, concatenation, running sums, real/imag/conj) or piecewise linear (abs,
    maximum, reduce_max, scatter_max, mod), branches chosen by the primal. Then
    :math:`f(x(t)) = f(x_0) + f'(x_0)(x(t) - x_0)` exactly for small t, so each Taylor
    coefficient goes through the forward rule at the primal point: K evaluations of the
    tangent rule, no Cauchy products. ``prim``: the primitive or its registry name."""

    def rule(primals, series, params):
        p = registry[prim] if type(prim) is str else prim
        ans = p.bind(*primals, **params)
        K = next(len(s) for s in series if s is not None)
        per_k = [
            _tangent(p, ans, primals, [None if s is None else s[k] for s in series], params)
            for k in range(K)
        ]
        if p.multiple_results:
            n = len(ans)
            outs = tuple(
                None if any(t is None or t[j] is None for t in per_k) else [t[j] for t in per_k]
                for j in range(n)
            )
            return ans, outs
        if any(t is None for t in per_k):
            return ans, None
        return ans, per_k

    return rule


def from_tangent_rule(prim):
    r"""The Taylor rule of a primitive whose forward rule does not read its output: the
    forward rule evaluated once on series one order lower gives the whole series of
    :math:`y'(t) = \partial f(x(t))\,x'(t)`, and :math:`y_k = (y')_{k-1}/k`.

    One pass at order K-1 of the forward rule's operations, O(K^2) each (where the
    :func:`fallback` needs K passes because its rule reads ``ans``). The forward rule is
    given ``ans = None``: a rule that reads it fails loudly instead of silently using the
    value at t = 0. ``prim``: the primitive or its registry name."""

    def rule(primals, series, params):
        p = registry[prim] if type(prim) is str else prim
        ans = p.bind(*primals, **params)
        K = next(len(s) for s in series if s is not None)
        multi = p.multiple_results
        if K == 1:
            t = _tangent(p, None, primals, [None if s is None else s[0] for s in series], params)
            ts = list(t) if multi else [t]
            outs = [None if tj is None else [tj] for tj in ts]
            return ans, (tuple(outs) if multi else outs[0])
        sub = TaylorTrace(K - 1)
        with trace_scope(sub):
            xs, dxs = [], []
            for x, s in zip(primals, series):
                if s is None:
                    xs.append(x)
                    dxs.append(None)
                    continue
                xs.append(TaylorTracer(sub, x, s[: K - 1]))
                # x'(t): coefficients (m + 1) c_(m+1), m = 0 .. K-1
                dxs.append(TaylorTracer(sub, s[0], [(m + 1) * s[m] for m in range(1, K)]))
            t = _tangent(p, None, xs, dxs, params)
        ts = list(t) if multi else [t]
        outs = []
        for tj in ts:
            if tj is None:
                outs.append(None)
            elif type(tj) is TaylorTracer and tj._trace is sub:
                outs.append([tj.primal] + [c * (1.0 / (m + 2)) for m, c in enumerate(tj.series)])
            else:  # y' constant in t: y is linear in t
                outs.append([tj] + [tj * 0.0] * (K - 1))
        return ans, (tuple(outs) if multi else outs[0])

    return rule


def call_rule(function_of):
    r"""The Taylor rule of a call primitive whose meaning is a Python function of its
    arguments (a loop unrolled step by step, say): ``function_of(params)`` gives that
    function, and the series go through its operations one by one, in a Taylor trace of
    the same order. For a loop this propagates the series through the body at every step:
    O(K^2) per operation of the body, where the :func:`fallback` would run the loop's
    forward rule K times."""

    def rule(primals, series, params):
        fun = function_of(params)
        K = next(len(s) for s in series if s is not None)
        sub = TaylorTrace(K)
        with trace_scope(sub):
            ins = [
                x if s is None else TaylorTracer(sub, x, list(s)) for x, s in zip(primals, series)
            ]
            outs = fun(*ins)
        ans, out = [], []
        for o in outs:
            if type(o) is TaylorTracer and o._trace is sub:
                ans.append(o.primal)
                out.append(o.series)
            else:
                ans.append(o)
                out.append(None)
        return tuple(ans), tuple(out)

    return rule


def _sum(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


# The recurrences, by primitive name (each declaration names its own:
# ``taylor=RULES["exp"]``); imported last, as they use the builders above.
from .taylor_rules import RULES  # noqa: E402
