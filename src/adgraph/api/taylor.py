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

import functools
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np  # the interpolation weights and index tables only (host-side integers)

from ..ad.taylor import TaylorTrace, TaylorTracer
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer, trace_scope
from ..core.xp import as_leaf, module_of
from ..ops.indexing import take
from ..ops.products import tensordot
from ..ops.shapes import moveaxis, reshape
from .args import as_array, check_callable, check_float, check_tangent, fn_name, zeros_like
from .hints import Fun, PyTree
from .vectorize import vmap

TaylorTrace.transformation = "jet (Taylor mode)"

__all__ = ["jet", "derivative", "taylor", "derivative_tensor"]

# Python numbers given as series terms take their primal's dtype (``0`` or ``1.0`` for a
# float32 input); arrays must match it.
_WEAK = (int, float, complex)

# The highest order of a series (jet, derivative, taylor). The engine holds Taylor
# coefficients x_k / k!, and 170! is the largest factorial a float64 holds; each primitive
# costs O(K^2) operations at order K besides. A larger order is a mistake (10**9 would
# allocate until the process dies), so it is refused at once.
MAX_ORDER = 170

# The highest order of derivative_tensor: its index table has one axis per order, and a
# NumPy array has at most 32 axes (64 in NumPy 2); its n^k entries bound it further.
MAX_TENSOR_ORDER = 32

# The most entries derivative_tensor's interpolation tables (directions x multi-indices,
# and the n^k index table) may hold: 5e7 float64 entries are 400 MB.
_MAX_TENSOR_TABLE = 50_000_000


def _check_order(order: Any, name: str, lowest: int, highest: int = MAX_ORDER) -> int:
    """``order`` as an int, refused unless it is an integer (not a bool) in
    ``[lowest, highest]``."""
    kind = "a non-negative" if lowest == 0 else "a positive"
    if not isinstance(order, numbers.Integral) or isinstance(order, bool) or int(order) < lowest:
        raise ValueError(f"{name}: order must be {kind} integer, got {order!r}")
    if int(order) > highest:
        raise ValueError(
            f"{name}: order {order} is above the highest supported order {highest}; a "
            f"series of order K costs O(K^2) operations per primitive, and derivatives of "
            f"such orders carry no correct digits in floating point"
        )
    return int(order)


def _check_output(v: Any, name: str) -> None:
    """Refuse an output leaf that is not an array or number (a str, an object)."""
    if isinstance(v, Tracer):
        return
    try:
        as_leaf(v, name)
    except TypeError:
        raise TypeError(
            f"{name}: the function must return arrays, numbers or pytrees of them; got "
            f"{type(v).__name__} {v!r:.60}"
        ) from None


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
    if order > MAX_ORDER:
        _check_order(order, name, 0)
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
        try:
            result = fun(*tree_unflatten(treedef, ins))
        except RecursionError:
            # A function that takes its own derivative (derivative(f) inside f) nests
            # series without end: refuse it by name instead of a bare RecursionError.
            raise ValueError(
                f"{name}: the function recursed without end (maximum recursion depth "
                "exceeded); a function that calls derivative, jet or taylor of itself has "
                "no finite derivative series. Differentiate a separate, non-recursive function"
            ) from None
    out_leaves, out_tree = tree_flatten(result)
    outs, touts = [], []
    for v in out_leaves:
        _check_output(v, name)
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
        0 <= n <= ``MAX_ORDER`` (170, as 170! is the largest float64 factorial; 0 gives ``f`` itself).
    """
    check_callable(f, "derivative")
    n = _check_order(order, "derivative", 0)

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
    K = _check_order(order, "taylor", 0)
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


def derivative_tensor(f: Callable[[Any], Any], order: int) -> Callable[[Any], Any]:
    r"""The function :math:`x \mapsto D^k f(x)`, the tensor of every partial derivative of
    order k, from univariate Taylor series (Griewank, Utke and Walther, *Math. Comp.* 69,
    2000).

    For n inputs, the k-th Taylor coefficients :math:`c_k(j)` of :math:`t \mapsto
    f(x + t\,j)` along the :math:`\binom{n+k-1}{k}` directions :math:`j` with non-negative
    integer entries summing to k (one vectorised :func:`jet` of order k) determine every
    partial derivative of order k by a fixed linear combination,

    .. math:: \partial^i f(x) = \sum_{|j| = k} \gamma_{ij}\, c_k(j), \qquad
       \gamma_{ij} = \sum_{0 < l \le i} (-1)^{|i-l|} \binom{i}{l}
       \binom{k\,l/|l|}{j} \Big(\frac{|l|}{k}\Big)^k

    (multi-index binomials, the upper one generalised to real entries). Each distinct
    partial derivative is computed once; the symmetric tensor is filled from them.

    Parameters
    ----------
    f
        A function of one floating array (or scalar) returning one array (or scalar).
    order
        1 <= k <= ``MAX_TENSOR_ORDER`` (32): 1 gives the Jacobian, 2 the Hessian, 3 and 4
        the tensors beyond. The tables cost C(n+k-1, k) x C(n+k, k) entries; sizes past
        5e7 entries are refused.

    Returns
    -------
    A function of x giving an array of shape ``f(x).shape + x.shape * k``, the layout of
    ``jacfwd`` and ``hessian``: entry ``[o, a_1, ..., a_k]`` is
    :math:`\partial^k f_o / \partial x_{a_1} \cdots \partial x_{a_k}`.

    Examples
    --------
    >>> import numpy as np, adgraph as ad, adgraph.numpy as anp
    >>> T = ad.derivative_tensor(lambda x: x[0] ** 2 * x[1], 3)(np.array([1.0, 2.0]))
    >>> float(T[0, 0, 1]), float(T[1, 1, 1])
    (2.0, 0.0)
    """
    check_callable(f, "derivative_tensor")
    k = _check_order(order, "derivative_tensor", 1, MAX_TENSOR_ORDER)
    name = f"derivative_tensor({fn_name(f)}, order={k})"

    def tensor(x):
        x = as_array(x, name)
        check_float(x, "x", name)
        shape = tuple(getattr(x, "shape", ()))
        n = math.prod(shape)
        if n == 0:
            raise ValueError(f"{name}: x has no elements (shape {shape})")
        table = math.comb(n + k - 1, k) * math.comb(n + k, k)
        if table > _MAX_TENSOR_TABLE or n**k > _MAX_TENSOR_TABLE:
            raise ValueError(
                f"{name}: order {k} in {n} variables needs tables of "
                f"{max(table, n**k):.3g} entries (more than {_MAX_TENSOR_TABLE:.0e}); take "
                "the derivatives you need with taylor or jet along chosen directions"
            )
        dirs_host, weights, pos = _interpolation(n, k)
        xp = module_of(x)
        dirs = xp.asarray(dirs_host.astype(x.dtype).reshape((len(dirs_host),) + shape))
        zero = x * 0.0
        fact = 1.0 / math.factorial(k)

        def coefficient(v):
            terms = (v,) + (zero,) * (k - 1)
            _, outs, touts = _jet_flat(f, (x,), (terms,), name)
            if len(outs) != 1:
                raise TypeError(
                    f"{name}: f must return one array, got a structure of {len(outs)} "
                    "leaves; apply derivative_tensor to each output"
                )
            return touts[0][k - 1] * fact

        c = vmap(coefficient)(dirs)  # (directions, *out_shape)
        out_shape = tuple(c.shape[1:])
        partials = tensordot(xp.asarray(weights.astype(c.dtype)), c, axes=1)
        full = take(partials, xp.asarray(pos.reshape(-1)), axis=0)
        full = reshape(full, (n,) * k + out_shape)
        nd = len(out_shape)
        full = moveaxis(full, tuple(range(k)), tuple(range(nd, nd + k)))
        return reshape(full, out_shape + shape * k)

    tensor.__name__ = name
    tensor._ad_name = name  # type: ignore[attr-defined]
    return tensor


@functools.lru_cache(maxsize=32)
def _interpolation(n: int, k: int) -> tuple:
    """``(directions, weights, positions)`` for n variables and order k: the multi-indices
    j with |j| = k (rows, ints), the matrix gamma (partial i from the coefficients along
    every j), and for each index tuple (a_1..a_k) in range(n)^k the row of its multi-index."""
    J = np.array(list(_multi_indices(n, k)), dtype=np.int64)
    row = {tuple(j): r for r, j in enumerate(J)}
    m = len(J)
    # gamma = A B: A[i, l] = (-1)^|i-l| C(i, l) (|l|/k)^k over 0 < l <= i, and
    # B[l, j] = C(k l/|l|, j) with the generalised binomial C(a, b) = a(a-1)..(a-b+1)/b!.
    ls = [l for s in range(1, k + 1) for l in _multi_indices(n, s)]  # 0 < |l| <= k
    lrow = {l: r for r, l in enumerate(ls)}
    A = np.zeros((m, len(ls)))
    for r, i in enumerate(J):
        for l in itertools.product(*(range(a + 1) for a in i)):
            s = sum(l)
            if s == 0:
                continue
            sign = -1.0 if (k - s) % 2 else 1.0
            A[r, lrow[l]] = sign * math.prod(math.comb(a, b) for a, b in zip(i, l)) * (s / k) ** k
    B = np.ones((len(ls), m))
    for r, l in enumerate(ls):
        s = sum(l)
        for col in range(n):
            a = k * l[col] / s
            for b in range(1, k + 1):
                sel = J[:, col] == b
                if sel.any():
                    B[r, sel] *= math.prod(a - q for q in range(b)) / math.factorial(b)
    weights = A @ B
    pos = np.empty((n,) * k, dtype=np.int64)
    for idx in itertools.product(range(n), repeat=k):
        counts = [0] * n
        for a in idx:
            counts[a] += 1
        pos[idx] = row[tuple(counts)]
    return J, weights, pos


def _multi_indices(n: int, k: int):
    """The tuples of n non-negative integers summing to k."""
    if n == 1:
        yield (k,)
        return
    for a in range(k, -1, -1):
        for rest in _multi_indices(n - 1, k - a):
            yield (a, *rest)
