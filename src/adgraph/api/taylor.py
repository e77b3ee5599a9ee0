r"""Taylor mode: ``jet``, ``derivative`` and ``taylor`` (derivatives of any order).

``jet`` pushes a truncated Taylor series through a function in one pass
(:mod:`adgraph.ad.taylor`): order K costs O(K^2) operations per primitive, where nesting
first-order derivatives K times costs time exponential in K. Its conventions are JAX's
``jax.experimental.jet.jet``: the input curve is

.. math:: x(t) = x_0 + \sum_{k=1}^K x_k \frac{t^k}{k!},

``series`` holds the *derivative* coefficients :math:`x_k = x^{(k)}(0)`, and so does the
result: the derivatives at 0 of :math:`t \mapsto f(x(t))`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from ..ad.taylor import TaylorTrace, TaylorTracer
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import trace_scope
from .args import as_array, check_callable, check_float, check_tangent, fn_name, zeros_like
from .hints import Fun, PyTree

TaylorTrace.transformation = "jet (Taylor mode)"

__all__ = ["jet", "derivative", "taylor"]

# Python numbers given as series terms take their primal's dtype (``0`` or ``1.0`` for a
# float32 input); arrays must match it.
_WEAK = (int, float, complex)


def jet(fun: Fun, primals: Sequence[PyTree], series: Sequence[Sequence[PyTree]]) -> tuple:
    r"""``(fun(*primals), series_out)``: the Taylor series of ``fun`` along a curve.

    Parameters
    ----------
    fun
        The function, of ``len(primals)`` positional arguments.
    primals
        A tuple or list of the arguments (arrays, numbers or pytrees of them, floating or
        complex), the curve's value at :math:`t = 0`.
    series
        A tuple or list with one entry per argument: the sequence ``(x_1, ..., x_K)`` of
        its derivative coefficients :math:`x_k = x^{(k)}(0)`, each shaped like the argument
        (a pytree argument takes terms of its structure). Every argument has the same
        number K of terms, the order.

    Returns
    -------
    primal_out, series_out
        ``fun(*primals)``, and the derivatives :math:`y^{(k)}(0)`, k = 1..K, of
        :math:`y(t) = f(x(t))`: the output's structure with each array replaced by the list
        of its K terms (JAX's convention).

    Examples
    --------
    >>> import adgraph as ad
    >>> y, (d1, d2, d3) = ad.jet(lambda x: x**3, (2.0,), ((1.0, 0.0, 0.0),))
    >>> float(y), float(d1), float(d2), float(d3)
    (8.0, 12.0, 12.0, 6.0)
    """
    check_callable(fun, "jet")
    out_tree, outs, touts = _jet_flat(fun, primals, series, "jet")
    return tree_unflatten(out_tree, outs), tree_unflatten(out_tree, touts)


def _jet_flat(fun, primals, series, name):
    """``(output structure, output leaves, their lists of derivative terms)``."""
    if not isinstance(primals, (tuple, list)) or not isinstance(series, (tuple, list)):
        raise TypeError(
            f"{name}: primals and series must be tuples (or lists) with one entry per "
            f"argument, got {type(primals).__name__} and {type(series).__name__}; for one "
            "argument write jet(f, (x,), ((x1, x2, ...),))"
        )
    if len(primals) != len(series):
        raise ValueError(
            f"{name}: {len(primals)} primals but {len(series)} series; give one sequence of "
            "terms per argument"
        )
    for i, s in enumerate(series):
        if not isinstance(s, (tuple, list)):
            raise TypeError(
                f"{name}: series[{i}] must be a tuple or list of terms (x_1, ..., x_K), got "
                f"{type(s).__name__}; one term is written (x1,)"
            )
    orders = {len(s) for s in series}
    if len(orders) > 1:
        counts = ", ".join(str(len(s)) for s in series)
        raise ValueError(
            f"{name}: every argument needs the same number of series terms (the order), got "
            f"{counts}; pad with zeros"
        )
    order = orders.pop() if orders else 0
    leaves, treedef = tree_flatten(tuple(primals))
    leaves = [as_array(x, name) for x in leaves]
    terms = [_leaves_of_terms(primals[i], s, i, name) for i, s in enumerate(series)]
    terms_by_leaf = [t for per_arg in terms for t in per_arg]  # leaf-major: [leaf][k]
    for j, x in enumerate(leaves):
        check_float(x, f"primal leaf {j}", name)
    fact = [math.factorial(k) for k in range(order + 1)]
    trace = TaylorTrace(order)
    with trace_scope(trace):
        ins = []
        for x, ts in zip(leaves, terms_by_leaf):
            cs = [
                check_tangent(x, t, name, f"series term {k}", weak=w) * (1.0 / fact[k])
                for k, (t, w) in enumerate(ts, 1)
            ]
            ins.append(TaylorTracer(trace, x, cs) if order else x)
        result = fun(*tree_unflatten(treedef, ins))
    out_leaves, out_tree = tree_flatten(result)
    outs, touts = [], []
    for v in out_leaves:
        if type(v) is TaylorTracer and v._trace is trace:
            outs.append(v.primal)
            touts.append([c * float(fact[k]) for k, c in enumerate(v.series, 1)])
        else:
            if isinstance(v, TaylorTracer):  # pragma: no cover - a nested jet's own value
                v = v.primal
            outs.append(v)
            touts.append([zeros_like(v) for _ in range(order)])
    return out_tree, outs, touts


def _leaves_of_terms(primal, terms, i, name):
    """Per leaf of argument ``i``, the list of ``(term leaf, weak)`` over k."""
    p_leaves, p_tree = tree_flatten(primal)
    per_leaf: list[list] = [[] for _ in p_leaves]
    for k, t in enumerate(terms, 1):
        t_leaves, t_tree = tree_flatten(t)
        if t_tree != p_tree:
            raise ValueError(
                f"{name}: series term {k} of argument {i} has structure {t_tree!r}, but the "
                f"argument has {p_tree!r}; each term is shaped like its argument"
            )
        for j, tl in enumerate(t_leaves):
            weak = isinstance(tl, _WEAK) and not isinstance(tl, bool)
            if isinstance(tl, numbers.Number) and not weak:
                raise TypeError(f"{name}: series term {k} of argument {i} is {tl!r}, not a number")
            per_leaf[j].append((as_array(tl, name), weak))
    return per_leaf


def derivative(f: Callable[[Any], Any], order: int = 1) -> Callable[[Any], Any]:
    r"""The function :math:`x \mapsto f^{(n)}(x)` for ``f`` of one scalar variable.

    Computed by one :func:`jet` of order n along :math:`x(t) = x + t`: O(n^2) operations
    per primitive, instead of the exponential cost of nesting ``grad`` n times. ``f`` may
    return an array or a pytree (each output is differentiated).

    Parameters
    ----------
    f
        A function of one floating scalar.
    order
        n >= 0 (0 gives ``f`` itself).
    """
    check_callable(f, "derivative")
    if not isinstance(order, numbers.Integral) or isinstance(order, bool) or order < 0:
        raise ValueError(f"derivative: order must be a non-negative integer, got {order!r}")
    n = int(order)

    def df(x):
        x = as_array(x, f"derivative({fn_name(f)})")
        if getattr(x, "shape", ()) != ():
            raise ValueError(
                f"derivative({fn_name(f)}): x must be a scalar, got shape {tuple(x.shape)}; "
                "for a function of an array use adgraph.taylor(f, x, v, order) (along a "
                "direction v) or adgraph.jet"
            )
        check_float(x, "x", f"derivative({fn_name(f)})")
        if n == 0:
            return f(x)
        terms = (1.0,) + (0.0,) * (n - 1)
        out_tree, _, touts = _jet_flat(f, (x,), (terms,), f"derivative({fn_name(f)})")
        return tree_unflatten(out_tree, [ts[n - 1] for ts in touts])

    df.__name__ = f"derivative({fn_name(f)}, order={n})"
    df._ad_name = df.__name__  # type: ignore[attr-defined]
    return df


def taylor(f: Callable[[Any], Any], x: PyTree, v: PyTree, order: int) -> list:
    r"""The Taylor coefficients :math:`[c_0, \dots, c_K]` of :math:`t \mapsto f(x + t v)`.

    :math:`c_k = \frac{1}{k!}\frac{d^k}{dt^k} f(x + tv)\big|_{t=0}`, so
    :math:`f(x + tv) = \sum_k c_k t^k + O(t^{K+1})`: :math:`c_0 = f(x)`, :math:`c_1 = J v`,
    :math:`c_2 = \tfrac12 v^T H v` for a scalar ``f``. Note these are Taylor coefficients
    (divided by k!), where :func:`jet` gives derivatives. ``x`` and ``v`` are arrays or
    pytrees of one structure; each :math:`c_k` has the structure of ``f``'s output.
    """
    check_callable(f, "taylor")
    if not isinstance(order, numbers.Integral) or isinstance(order, bool) or order < 0:
        raise ValueError(f"taylor: order must be a non-negative integer, got {order!r}")
    K = int(order)
    terms = (v,) + tuple(_leafwise_zero(v) for _ in range(K - 1)) if K else ()
    out_tree, outs, touts = _jet_flat(f, (x,), (terms,), "taylor")
    coeffs = [tree_unflatten(out_tree, outs)]
    for k in range(1, K + 1):
        inv = 1.0 / math.factorial(k)
        coeffs.append(tree_unflatten(out_tree, [ts[k - 1] * inv for ts in touts]))
    return coeffs


def _leafwise_zero(v):
    leaves, tree = tree_flatten(v)
    return tree_unflatten(tree, [0.0 * as_array(a, "taylor") for a in leaves])
