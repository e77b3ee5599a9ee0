r"""The Taylor rules of products, reductions and linear algebra (see
:mod:`adgraph.ad.taylor_rules` for the conventions: whole series, primal first).

Products are Cauchy products of the bilinear map; reductions combine the elementwise
recurrences with sums; the linear-algebra rules solve, order by order, the identity that
defines the result (:math:`AY = I`, :math:`AX = B`, :math:`LL^T = A`) with the primal's
factorisation, and ``det`` is :math:`\exp` of the integral of :math:`\operatorname{tr}
(A^{-1}A')`.
"""

from __future__ import annotations

from typing import Any

from ..core.primitive import registry
from .taylor import _tangent, bilinear_rule, from_tangent_rule, multilinear_rule
from .taylor_rules import (
    _bind,
    _deriv,
    _exp_series,
    _integrate_quotient,
    _mul,
    _order,
    _real_only,
    _sqrt_series,
    _sum,
)

__all__ = ["ARRAY_RULES"]


# ------------------------------------------------------------------ reductions
def _sum_over(c, params):
    return _bind("reduce_sum", c, axis=params["axis"], keepdims=params["keepdims"])


def _logsumexp(primals, series, params):
    # y = log sum exp(a): with M = y kept as a broadcastable constant, e = exp(a - M) sums
    # to 1 at t = 0, and y = M + log(sum e)
    (a0,), (sa,) = primals, series
    K = len(sa)
    ans = _bind("logsumexp", a0, **params)
    M = _bind("logsumexp", a0, axis=params["axis"], keepdims=True)
    M = _bind("where", _bind("isfinite", M), M, 0.0)
    e = _exp_series(_bind("exp", a0 - M), [a0 - M, *sa], K)
    s = [_sum_over(c, params) for c in e]
    return ans, _integrate_quotient(ans, s, s, K)[1:]


def _norm2(primals, series, params):
    # y = sqrt(sum x^2) (real x): the sum of the Cauchy squares, then a square root
    (x0,), (sx,) = primals, series
    K = len(sx)
    ans = _bind("linalg_norm2", x0, **params)
    w = [_sum_over(c, params) for c in _mul([x0, *sx], [x0, *sx], K)]
    return ans, _sqrt_series(ans, w, K)[1:]


# ------------------------------------------------------------------ linear algebra
def _matmul(a, b):
    return _bind("matmul", a, b)


def _inverse_series(A, Y0, K):
    r""":math:`Y = A^{-1}` from :math:`AY = I`: :math:`Y_k = -Y_0 \sum_{j=1}^k A_j Y_{k-j}`."""
    Y = [Y0]
    for k in range(1, K + 1):
        Y.append(-_matmul(Y0, _sum([_matmul(A[j], Y[k - j]) for j in range(1, k + 1)])))
    return Y


def _inv(primals, series, params):
    (a0,), (sa,) = primals, series
    ans = _bind("linalg_inv", a0)
    return ans, _inverse_series([a0, *sa], ans, len(sa))[1:]


def _solve(primals, series, params):
    r""":math:`AX = B`: :math:`X_k = A_0^{-1}(B_k - \sum_{j=1}^k A_j X_{k-j})`."""
    a0, b0 = primals
    sa, sb = series
    K = _order(series)
    ans = _bind("linalg_solve", a0, b0)
    X = [ans]
    for k in range(1, K + 1):
        terms = [] if sb is None else [sb[k - 1]]
        if sa is not None:
            terms += [-_matmul(sa[j - 1], X[k - j]) for j in range(1, k + 1)]
        X.append(_bind("linalg_solve", a0, _sum(terms)))
    return ans, X[1:]


def _trace_of_product(a, b):
    """tr(a b) for stacks of matrices: the sum of a * b^T."""
    nd = len(a.shape)
    bt = _bind("transpose", b, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))
    return _bind("reduce_sum", a * bt, axis=(nd - 2, nd - 1), keepdims=False)


def _log_det_series(a, K):
    r"""The series (from order 1) of :math:`w = \log\det A` (the log of the absolute value
    for real A): :math:`w' = \operatorname{tr}(A^{-1} A')`."""
    Y = _inverse_series(a, _bind("linalg_inv", a[0]), K - 1)
    dA = _deriv(a, K)
    g = [_sum([_trace_of_product(Y[j], dA[m - j]) for j in range(m + 1)]) for m in range(K)]
    return [g[m] * (1.0 / (m + 1)) for m in range(K)]


_det_small = from_tangent_rule("linalg_det")


def _det(primals, series, params):
    # Up to 3x3 the forward rule is polynomial (the signed minors): one pass of it is exact
    # at singular matrices too. Larger: det = exp(log det) with the inverse's series.
    (a0,), (sa,) = primals, series
    if a0.shape[-1] <= 3:
        return _det_small(primals, series, params)
    K = len(sa)
    ans = _bind("linalg_det", a0)
    w = _log_det_series([a0, *sa], K)
    return ans, _exp_series(ans, [ans * 0.0, *w], K)[1:]


def _slogdet(primals, series, params):
    # real A: the sign is locally constant, log|det A| has the series of log det A
    (a0,), (sa,) = primals, series
    ans = _bind("linalg_slogdet", a0)
    return ans, (None, _log_det_series([a0, *sa], len(sa)))


def _mT(x):
    nd = len(x.shape)
    return _bind("transpose", x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _cholesky(primals, series, params):
    r"""L with :math:`L L^T = A` (real): coefficient k solves
    :math:`L_0 L_k^T + L_k L_0^T = A_k - \sum_{j=1}^{k-1} L_j L_{k-j}^T`, which is the
    forward rule at the primal applied to that right-hand side (symmetric, as the rule
    expects): :math:`L_k = L_0 \Phi(L_0^{-1} R_k L_0^{-T})`."""
    (a0,), (sa,) = primals, series
    prim = registry["linalg_cholesky"]
    L0 = prim.bind(a0)
    L = [L0]
    for k in range(1, len(sa) + 1):
        r = sa[k - 1]
        for j in range(1, k):
            r = r - _matmul(L[j], _mT(L[k - j]))
        L.append(_tangent(prim, L0, [a0], [r], {}))
    return L0, L[1:]


ARRAY_RULES: dict[str, Any] = {
    "matmul": bilinear_rule("matmul"),
    "einsum": multilinear_rule("einsum"),
    "logsumexp": _logsumexp,
    "linalg_norm2": _real_only(_norm2),
    "linalg_inv": _inv,
    "linalg_solve": _solve,
    "linalg_det": _det,
    "linalg_slogdet": _real_only(_slogdet),
    "linalg_cholesky": _real_only(_cholesky),
    # the forward rule, once, on series one order lower (it reads no output)
    "reduce_prod": from_tangent_rule("reduce_prod"),
    "reduce_var": from_tangent_rule("reduce_var"),
}
