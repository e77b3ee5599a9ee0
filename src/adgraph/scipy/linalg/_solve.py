r"""SciPy's solvers and factorisations with SciPy's signatures: solve (``assume_a``),
solve_triangular, cholesky, cho_factor/cho_solve, lu/lu_factor/lu_solve, solve_banded,
solveh_banded, solve_sylvester, solve_continuous_lyapunov, inv, det, lstsq, pinv, norm.

Each is a composition of differentiable primitives (NumPy's ``solve``, ``cholesky``, the
``lu`` and ``solve_sylvester`` primitives of :mod:`adgraph.ops.linalg.matfun`) with
constant masks and index arrays, so forward and reverse mode and every higher order come
from their rules. A function SciPy computes from one triangle (``assume_a='sym'``,
``'her'``, ``'pos'``, triangular and banded solves) reads that triangle only here too: the
other triangle gets a zero derivative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as _np  # index arithmetic on shapes and concrete pivots only

from ... import numpy as anp
from ...core.trace import Tracer
from ...ops.linalg import cholesky as _np_cholesky
from ...ops.linalg import solve as _np_solve
from ...ops.linalg.matfun import lu_p, lu_pivots_p, pivots_to_perm_p, sylvester_p
from .._util import float_array

__all__ = [
    "solve",
    "solve_triangular",
    "cholesky",
    "cho_factor",
    "cho_solve",
    "lu",
    "lu_factor",
    "lu_solve",
    "solve_banded",
    "solveh_banded",
    "solve_sylvester",
    "solve_continuous_lyapunov",
    "solve_discrete_lyapunov",
    "inv",
    "det",
    "lstsq",
    "pinv",
    "norm",
]


def _arr(x, op):
    """A float array (or tracer) from ``x``; integers are computed in float64."""
    return float_array(x)


def _square2(a, op):
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"scipy.linalg.{op}: expected a square matrix, got shape {a.shape}")
    return a


def _H(x):
    return anp.conj(anp.swapaxes(x, -1, -2)) if x.dtype.kind == "c" else anp.swapaxes(x, -1, -2)


def _mT(x):
    return anp.swapaxes(x, -1, -2)


def _from_triangle(a, lower, hermitian):
    """The symmetric (Hermitian) matrix SciPy reads from one triangle of ``a``."""
    n = a.shape[-1]
    low = _np.tri(n, n, -1, dtype=bool)
    keep = low if lower else low.T
    mirror = keep.T
    other = _H(a) if hermitian else _mT(a)
    diag = anp.real(a) if hermitian and a.dtype.kind == "c" else a
    return anp.where(keep, a, anp.where(mirror, other, diag))


def _triangle(a, lower, unit_diagonal=False):
    n = a.shape[-1]
    t = anp.tril(a) if lower else anp.triu(a)
    if unit_diagonal:
        t = anp.where(_np.eye(n, dtype=bool), anp.ones((), dtype=a.dtype), t)
    return t


def _solve_mat(a, b, op):
    """X = A^{-1} B for a square A and B of shape (n,) or (n, k)."""
    return _np_solve(a, b)


_ASSUME = {
    None: "gen",
    "gen": "gen",
    "general": "gen",
    "sym": "sym",
    "symmetric": "sym",
    "her": "her",
    "hermitian": "her",
    "pos": "pos",
    "positive definite": "pos",
    "diagonal": "diagonal",
    "tridiagonal": "tridiagonal",
    "upper triangular": "upper",
    "lower triangular": "lower",
    "banded": "gen",
}


def solve(
    a: Any,
    b: Any,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    assume_a: str | None = None,
    transposed: bool = False,
) -> Any:
    r"""Solve :math:`A x = b` (``transposed=True``: :math:`A^T x = b`).

    ``assume_a`` as in SciPy: ``'gen'`` (default), ``'sym'``, ``'her'`` and ``'pos'`` read
    one triangle of ``a`` (``lower``) -- the other gets a zero derivative --,
    ``'diagonal'``, ``'tridiagonal'``, ``'upper triangular'``, ``'lower triangular'`` read
    those entries. :math:`dx = A^{-1}(db - dA\, x)`; reverse mode :math:`\bar b = A^{-T}
    \bar x`, :math:`\bar A = -\bar b x^T` (restricted to the entries read).
    """
    if assume_a not in _ASSUME:
        raise ValueError(
            f"scipy.linalg.solve: assume_a must be one of {sorted(k for k in _ASSUME if k)}, "
            f"got {assume_a!r}"
        )
    kind = _ASSUME[assume_a]
    a = _square2(_arr(a, "solve"), "solve")
    b = _arr(b, "solve")
    n = a.shape[-1]
    if b.shape[:1] != (n,) and (len(b.shape) < 2 or b.shape[-2] != n):
        raise ValueError(
            f"scipy.linalg.solve: b of shape {b.shape} does not match a of shape {a.shape}"
        )
    if kind in ("sym", "pos"):
        a = _from_triangle(a, lower, hermitian=False if kind == "sym" else True)
    elif kind == "her":
        a = _from_triangle(a, lower, hermitian=True)
    elif kind == "diagonal":
        a = anp.where(_np.eye(n, dtype=bool), a, 0)
    elif kind == "tridiagonal":
        i = _np.arange(n)
        a = anp.where(abs(i[:, None] - i[None, :]) <= 1, a, 0)
    elif kind in ("upper", "lower"):
        a = _triangle(a, kind == "lower")
    if transposed:
        a = _mT(a)
    if kind == "pos" and not transposed:
        c = _np_cholesky(a)
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, lower=True, trans=2)
    return _solve_mat(a, b, "solve")


def solve_triangular(
    a: Any,
    b: Any,
    trans: int | str = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    r"""Solve :math:`T x = b` for the triangle ``T`` of ``a`` (``lower``; ``trans`` 0/'N':
    :math:`T`, 1/'T': :math:`T^T`, 2/'C': :math:`T^H`; ``unit_diagonal``: ones on the
    diagonal, the diagonal of ``a`` not read). Only the triangle read gets a derivative."""
    tr = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}.get(trans)
    if tr is None:
        raise ValueError(
            f"scipy.linalg.solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}"
        )
    a = _square2(_arr(a, "solve_triangular"), "solve_triangular")
    b = _arr(b, "solve_triangular")
    t = _triangle(a, lower, unit_diagonal)
    if tr == 1:
        t = _mT(t)
    elif tr == 2:
        t = _H(t)
    return _solve_mat(t, b, "solve_triangular")


def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    r"""Cholesky factor: upper :math:`U` with :math:`A = U^H U` (SciPy's default), or
    lower :math:`L` with :math:`A = LL^H` (``lower=True``); see
    :func:`adgraph.numpy.linalg.cholesky` for the rules."""
    return _np_cholesky(_arr(a, "cholesky"), upper=not lower)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``(c, lower)`` for :func:`cho_solve`: ``c`` holds the Cholesky factor in its
    ``lower`` (else upper) triangle. SciPy leaves arbitrary numbers in the other
    triangle; here it is zero."""
    return cholesky(a, lower=lower), bool(lower)


def cho_solve(c_and_lower, b: Any, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    r"""Solve :math:`A x = b` from :func:`cho_factor`'s ``(c, lower)`` (:math:`A = LL^H`
    or :math:`U^H U`): two triangular solves, differentiable in ``c`` and ``b``."""
    try:
        c, lower = c_and_lower
    except (TypeError, ValueError):
        raise TypeError(
            "scipy.linalg.cho_solve: give (c, lower) as cho_factor returns it"
        ) from None
    c = _square2(_arr(c, "cho_solve"), "cho_solve")
    if lower:
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, lower=True, trans=2)
    y = solve_triangular(c, b, lower=False, trans=2)
    return solve_triangular(c, y, lower=False)


def lu(
    a: Any,
    permute_l: bool = False,
    overwrite_a: bool = False,
    check_finite: bool = True,
    p_indices: bool = False,
):
    r"""LU decomposition with partial pivoting: ``(P, L, U)`` with :math:`A = PLU`
    (``permute_l``: ``(PL, U)``; ``p_indices``: ``P`` as row indices, ``A = L[p] @ U``).

    :math:`X = L^{-1}P^T dA\,U^{-1}`, :math:`dL = L\,\mathrm{tril}_{-1}(X)`,
    :math:`dU = \mathrm{triu}(X)\,U`; the permutation has no derivative. Derivatives are
    for square matrices (a rectangular one is refused with that reason)."""
    a = _arr(a, "lu")
    if len(a.shape) < 2:
        raise ValueError(f"scipy.linalg.lu: expected a matrix, got shape {a.shape}")
    p, l_, u = lu_p.bind(a)
    if permute_l:
        return anp.matmul(p, l_), u
    if p_indices:  # A = P L U = (L[p]) U: p[i] is the column of the 1 in row i of P
        return anp.argmax(p, axis=-1), l_, u
    return p, l_, u


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True):
    """``(lu, piv)`` as LAPACK's getrf: ``lu`` holds ``U`` and the strict lower triangle
    of ``L``, ``piv`` the row interchanges (integers, no derivative)."""
    a = _square2(_arr(a, "lu_factor"), "lu_factor")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.lu_factor: expected a 2-D matrix, got shape {a.shape}")
    piv = lu_pivots_p.bind(a)
    _, l_, u = lu_p.bind(a)
    return anp.tril(l_, -1) + u, piv


def lu_solve(
    lu_and_piv, b: Any, trans: int = 0, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve :math:`A x = b` (``trans`` 1: :math:`A^T`, 2: :math:`A^H`) from
    :func:`lu_factor`'s ``(lu, piv)``; differentiable in ``lu`` and ``b``."""
    try:
        lu_, piv = lu_and_piv
    except (TypeError, ValueError):
        raise TypeError("scipy.linalg.lu_solve: give (lu, piv) as lu_factor returns it") from None
    lu_ = _square2(_arr(lu_, "lu_solve"), "lu_solve")
    b = _arr(b, "lu_solve")
    if isinstance(piv, Tracer):
        piv = anp.astype(piv, _np.intp)
    else:
        piv = _np.asarray(piv, dtype=_np.intp)
    if piv.shape != (lu_.shape[-1],):
        raise ValueError(
            f"scipy.linalg.lu_solve: piv must have shape ({lu_.shape[-1]},), got {piv.shape}"
        )
    perm = pivots_to_perm_p.bind(piv)
    if trans in (0, "N"):
        y = solve_triangular(lu_, anp.take(b, perm, axis=0), lower=True, unit_diagonal=True)
        return solve_triangular(lu_, y, lower=False)
    if trans not in (1, 2, "T", "C"):
        raise ValueError(f"scipy.linalg.lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    t = 1 if trans in (1, "T") else 2
    y = solve_triangular(lu_, b, lower=False, trans=t)
    y = solve_triangular(lu_, y, lower=True, unit_diagonal=True, trans=t)
    return anp.take(y, anp.argsort(perm), axis=0)


def _banded_dense(ab, lu_, n, op):
    """The dense (n, n) matrix of LAPACK's band storage ``ab``: A[i, j] = ab[u + i - j, j]."""
    l_, u = lu_
    rows = l_ + u + 1
    if ab.shape[0] != rows or ab.shape[-1] != n:
        raise ValueError(
            f"scipy.linalg.{op}: ab of shape {ab.shape} does not match (l, u) = {lu_} and n = {n} "
            f"(expected ({rows}, {n}))"
        )
    i = _np.arange(n)[:, None]
    j = _np.arange(n)[None, :]
    k = u + i - j
    inside = (k >= 0) & (k < rows)
    g = ab[_np.clip(k, 0, rows - 1), _np.broadcast_to(j, (n, n))]
    return anp.where(inside, g, 0)


def solve_banded(
    l_and_u,
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve :math:`A x = b` for ``A`` in LAPACK band storage (``ab[u + i - j, j] =
    A[i, j]``, ``(l, u)`` the numbers of sub- and super-diagonals); differentiable in the
    band entries read and ``b``."""
    l_, u = (int(v) for v in l_and_u)
    ab = _arr(ab, "solve_banded")
    b = _arr(b, "solve_banded")
    return _solve_mat(_banded_dense(ab, (l_, u), b.shape[0], "solve_banded"), b, "solve_banded")


def solveh_banded(
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    lower: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve :math:`A x = b` for a Hermitian positive-definite band matrix in SciPy's
    symmetric band storage (upper form ``ab[u + i - j, j] = A[i, j]``, ``i <= j``; lower
    form ``ab[i - j, j] = A[i, j]``, ``i >= j``)."""
    ab = _arr(ab, "solveh_banded")
    b = _arr(b, "solveh_banded")
    k = ab.shape[0] - 1
    n = b.shape[0]
    if lower:
        full = _banded_dense(ab, (k, 0), n, "solveh_banded")
    else:
        full = _banded_dense(ab, (0, k), n, "solveh_banded")
    return solve(full, b, lower=lower, assume_a="pos")


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    r"""``X`` with :math:`AX + XB = Q` (Bartels--Stewart, SciPy's). Differentiable in all
    three: :math:`A\,dX + dX\,B = dQ - dA\,X - X\,dB`."""
    a, b, q = (_arr(x, "solve_sylvester") for x in (a, b, q))
    if len(a.shape) != 2 or len(b.shape) != 2 or q.shape != (a.shape[0], b.shape[0]):
        raise ValueError(
            f"scipy.linalg.solve_sylvester: shapes {a.shape}, {b.shape}, {q.shape} do not "
            "fit AX + XB = Q (A (m, m), B (n, n), Q (m, n))"
        )
    return sylvester_p.bind(a, b, q)


def solve_continuous_lyapunov(a: Any, q: Any) -> Any:
    r"""``X`` with :math:`AX + XA^H = Q` (:func:`solve_sylvester` with :math:`B = A^H`)."""
    a = _arr(a, "solve_continuous_lyapunov")
    return solve_sylvester(a, _H(a), q)


def solve_discrete_lyapunov(a: Any, q: Any, method: str | None = None) -> Any:
    r"""``X`` with :math:`A X A^H - X + Q = 0`, by SciPy's methods: ``'direct'`` (the
    Kronecker form, default below 10x10) or ``'bilinear'`` (a transformation to the
    continuous equation): compositions of solves (and :func:`solve_sylvester`),
    differentiable in both."""
    if method not in (None, "direct", "bilinear"):
        raise ValueError(
            f"scipy.linalg.solve_discrete_lyapunov: method must be 'direct' or 'bilinear', got {method!r}"
        )
    a = _square2(_arr(a, "solve_discrete_lyapunov"), "solve_discrete_lyapunov")
    q = _arr(q, "solve_discrete_lyapunov")
    if len(a.shape) != 2 or q.shape != a.shape:
        raise ValueError(
            f"scipy.linalg.solve_discrete_lyapunov: a and q must be square matrices of one "
            f"shape, got {a.shape} and {q.shape}"
        )
    n = a.shape[0]
    if method == "direct" or (method is None and n < 10):
        # SciPy's choice: the Kronecker form (I - A (x) conj(A)) vec X = vec Q for small
        # matrices, accurate where the bilinear transform loses eps / |1 + lambda| near an
        # eigenvalue -1 of A (4e-10 relative at lambda = -1 + 1e-7)
        lhs = _np.eye(n * n) - anp.kron(a, anp.conj(a) if a.dtype.kind == "c" else a)
        return anp.reshape(anp.linalg.solve(lhs, anp.reshape(q, (n * n,))), (n, n))
    eye = _np.eye(n)
    ah = _H(a)
    ahi_inv = anp.linalg.inv(ah + eye)
    b = (ah - eye) @ ahi_inv
    c = 2 * (anp.linalg.solve(a + eye, q) @ ahi_inv)
    return solve_continuous_lyapunov(_H(b), -c)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse of a square matrix (:func:`adgraph.numpy.linalg.inv`)."""
    return anp.linalg.inv(a)


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant (:func:`adgraph.numpy.linalg.det`, differentiable also where singular)."""
    return anp.linalg.det(a)


def lstsq(
    a: Any,
    b: Any,
    cond: float | None = None,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    lapack_driver: str | None = None,
):
    """``(x, residues, rank, s)``: least squares as :func:`adgraph.numpy.linalg.lstsq`
    (``cond``: singular values below ``cond * max(s)`` count as zero)."""
    return tuple(anp.linalg.lstsq(a, b, rcond=cond))


def pinv(
    a: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    return_rank: bool = False,
    check_finite: bool = True,
):
    """The pseudo-inverse (:func:`adgraph.numpy.linalg.pinv`); ``atol`` is not supported
    beside ``rtol`` (give the relative cutoff)."""
    if atol not in (None, 0, 0.0):
        raise ValueError(
            "scipy.linalg.pinv: atol is not supported; give rtol (relative to the largest singular value)"
        )
    p = anp.linalg.pinv(a, rtol=rtol)
    if return_rank:
        return p, anp.linalg.matrix_rank(a, rtol=rtol)
    return p


def norm(
    a: Any,
    ord: Any = None,
    axis: int | Sequence[int] | None = None,
    keepdims: bool = False,
    check_finite: bool = True,
) -> Any:
    """Matrix or vector norm (:func:`adgraph.numpy.linalg.norm`)."""
    return anp.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)
