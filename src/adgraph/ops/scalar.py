"""Short paths for Python-level scalar code (float64 scalars, one operation at a time).

Reverse mode records such code one scalar operation at a time, so the engine's own cost per
operation is the whole cost. Here:

* the arithmetic operators of reverse-mode tracers (``x * y``, ``2 - x``, ``x / y``, ``-x``)
  record float64 scalars of one tape directly (:func:`adgraph.ad.reverse.scalar_operator`),
  skipping the search for the top trace; any other operand takes the general operator;
* the arithmetic primitives get ``scalar_vjp`` rules: the cotangents of their arguments as
  plain float arithmetic, used by the backward sweep when the cotangent and the recorded
  values are float64 scalars. Each gives exactly what the general rule computes (the same
  operations on the same operands; only the dispatch through ``adgraph.numpy`` is skipped).

Everything else (arrays, other dtypes, nested transformations, tracers of other levels)
takes the general path; tests run both paths on the same inputs.
"""

from __future__ import annotations

import operator

import numpy as np

from ..ad.reverse import ReverseTracer, scalar_negation, scalar_operator
from ..ad.tape import MINUS_ONE, ONE
from ..core.trace import Tracer
from . import elementwise as _ew

__all__ = ["install"]

# dunder stem -> (primitive, the Python operator its implementation applies to a float64
# scalar and a number: the same computation, without the dispatch)
_OPERATORS = {
    "add": (_ew.add_p, operator.add),
    "sub": (_ew.subtract_p, operator.sub),
    "mul": (_ew.multiply_p, operator.mul),
    "truediv": (_ew.divide_p, operator.truediv),
}


def _scalar_rules() -> None:
    # Same operations, operands and order as the general rules in elementwise.py
    # (add: ct; subtract: ct, -ct; multiply: ct*y, x*ct; divide: ct/y, -(ct*(ans/y))).
    _ew.add_p.scalar_vjp = (lambda ct, ans, x, y: ct, lambda ct, ans, x, y: ct)
    _ew.subtract_p.scalar_vjp = (lambda ct, ans, x, y: ct, lambda ct, ans, x, y: -ct)
    _ew.multiply_p.scalar_vjp = (lambda ct, ans, x, y: ct * y, lambda ct, ans, x, y: x * ct)
    _ew.divide_p.scalar_vjp = (
        lambda ct, ans, x, y: ct / y,
        lambda ct, ans, x, y: -(ct * (ans / y)),
    )
    _ew.negative_p.scalar_vjp = (lambda ct, ans, x: -ct,)
    # Local partials of the products among them, for scalar nodes recorded through
    # adgraph.numpy (add(x, y)) rather than operators: the factors of the rules above
    # (ONE and MINUS_ONE mark "pass ct on" and "negate ct").
    _ew.add_p.partials = (lambda ans, x, y: ONE, lambda ans, x, y: ONE)
    _ew.subtract_p.partials = (lambda ans, x, y: ONE, lambda ans, x, y: MINUS_ONE)
    _ew.multiply_p.partials = (lambda ans, x, y: y, lambda ans, x, y: x)
    # The partials of the commonest functions, computed by NumPy directly for the
    # float64 scalars they are used on (the declared partials, written with adgraph's
    # operations, go through adgraph.numpy's dispatch to the same NumPy calls).
    _ew.sin_p.partials = (lambda ans, x: np.cos(x),)  # cos(x)
    _ew.cos_p.partials = (lambda ans, x: -np.sin(x),)  # negative(sin(x))
    _ew.exp_p.partials = (lambda ans, x: ans,)
    _ew.log_p.partials = (lambda ans, x: np.reciprocal(x),)  # reciprocal(x)
    _ew.tanh_p.partials = (lambda ans, x: 1.0 - np.square(ans),)  # subtract(1, square(ans))
    _ew.sqrt_p.partials = (lambda ans, x: 0.5 / ans,)  # divide(0.5, ans)
    _ew.integer_pow_p.partials = (_ipow_partial,)
    # Value and partial in one call for the commonest unary functions (impl, then the
    # declared partial, each as the NumPy call it comes down to).
    evals = {
        _ew.sin_p: lambda x: (np.sin(x), np.cos(x)),
        _ew.cos_p: lambda x: (np.cos(x), -np.sin(x)),
        _ew.tan_p: lambda x: _with(np.tan(x), lambda a: 1.0 + np.square(a)),
        _ew.arctan_p: lambda x: (np.arctan(x), np.reciprocal(1.0 + np.square(x))),
        _ew.sinh_p: lambda x: (np.sinh(x), np.cosh(x)),
        _ew.cosh_p: lambda x: (np.cosh(x), np.sinh(x)),
        _ew.tanh_p: lambda x: _with(np.tanh(x), lambda a: 1.0 - np.square(a)),
        _ew.exp_p: lambda x: _with(np.exp(x), lambda a: a),
        _ew.expm1_p: lambda x: _with(np.expm1(x), lambda a: a + 1.0),
        _ew.log_p: lambda x: (np.log(x), np.reciprocal(x)),
        _ew.log1p_p: lambda x: (np.log1p(x), np.reciprocal(x + 1.0)),
        _ew.sqrt_p: lambda x: _with(np.sqrt(x), lambda a: 0.5 / a),
    }
    for prim, f in evals.items():
        prim.scalar_eval = f


def _with(ans, partial_of_ans):
    return ans, partial_of_ans(ans)


def _ipow_partial(ans, x, *, n):
    # elementwise._ipow_partial on NumPy scalars: n x^(n-1) with integer_pow's own
    # implementation of x^(n-1)
    if n == 1:
        return 1.0
    if n == 2:
        return 2.0 * x
    m = n - 1
    return float(n) * (x * x if m == 2 else np.power(x, m))


def install() -> None:
    """Install the scalar operators on :class:`ReverseTracer` and the scalar rules (after
    the general operators are on :class:`Tracer`)."""
    for stem, (prim, compute) in _OPERATORS.items():
        for dunder, reflected in ((f"__{stem}__", False), (f"__r{stem}__", True)):
            slow = getattr(Tracer, dunder)
            setattr(ReverseTracer, dunder, scalar_operator(prim, slow, reflected, compute))
    ReverseTracer.__neg__ = scalar_negation(_ew.negative_p, Tracer.__neg__)
    _scalar_rules()
