r"""Norms, the condition number and the numerical rank: sizes of a matrix, through its
singular values where the norm needs them."""

from __future__ import annotations

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from ...ad.sparsity import reduction_rule
from ...ad.taylor import RULES as _TAYLOR
from ...core.primitive import Primitive
from ...core.trace import Tracer
from .._util import OpError, shape
from ..elementwise import abs as _abs
from ..elementwise import divide, equal, multiply, not_equal, power, real, where
from ..indexing import getitem
from ..reductions import max as _max
from ..reductions import min as _min
from ..reductions import sum as _sum
from ..shapes import moveaxis, reshape
from ._common import LinAlgError, _as_float, _conj, _dtype, _explained, _matrix, _max_or_0, _square
from .decompositions import svdvals_p
from .lu import inv


# ------------------------------------------------------------------ norms
def _norm2_impl(xp, x, *, axis, keepdims):
    sq = xp.real(x * xp.conj(x)) if x.dtype.kind == "c" else x * x
    return xp.sqrt(xp.sum(sq, axis=axis, keepdims=keepdims))


def _safe(ans):
    return where(equal(ans, 0), 1.0, ans)


def _kept(y, xs, axis, keepdims):
    if keepdims:
        return y
    s = list(xs)
    for ax in axis:
        s[ax] = 1
    return reshape(y, tuple(s))


def _scaled(x, axis):
    """``(u, |u|)`` with ``u = x / max|x|`` over ``axis`` (1 where that is 0 or not
    finite): the derivative ``conj(x) / |x| = conj(u) / |u|`` computed without forming
    ``|x|``, whose squares underflow to 0 below ~1e-154 and overflow past ~1e154 (there
    ``ans`` is 0 or inf and ``conj(x) / ans`` was x itself or 0, not a unit vector). The
    scale is a constant to every derivative: the quotient does not depend on it."""
    from ..elementwise import isfinite, logical_and
    from ..misc import stop_gradient

    m = stop_gradient(_max_or_0(_abs(x), axis, keepdims=True))
    ok = logical_and(isfinite(m), not_equal(m, 0))
    u = divide(x, where(ok, m, 1.0))
    return u, norm2_p.bind(u, axis=axis, keepdims=True)


def _plain_is_exact(ans, x) -> bool:
    """Whether ``conj(x) / ans`` is accurate: NumPy values (never a tracer, whose value a
    compiled program must not depend on) with every norm of full precision and finite
    (a norm of 0 may be an underflow of a nonzero x). Decided on ``ans``, the size of the
    output, so the common case costs what it did."""
    if isinstance(ans, Tracer) or isinstance(x, Tracer):
        return False
    if not isinstance(ans, (_np.ndarray, _np.generic, float)) or not isinstance(
        x, (_np.ndarray, _np.generic)
    ):
        return False
    a = _np.asarray(ans)
    fi = _np.finfo(a.dtype)
    lo = _np.sqrt(fi.tiny / fi.eps)  # a sum of squares above tiny / eps keeps its digits
    return bool(_np.all((a > lo) & (a < _np.inf)))


def _norm2_tangent(t, ans, x, *, axis, keepdims):
    if _plain_is_exact(ans, x):
        dot = real(multiply(_conj(x), t))
        return divide(_sum(dot, axis=axis, keepdims=keepdims), ans)
    u, nu = _scaled(x, axis)
    dot = real(multiply(_conj(u), t))
    s = _sum(dot, axis=axis, keepdims=keepdims)
    return divide(s, _safe(nu if keepdims else reshape(nu, shape(s))))


def _norm2_vjp(ct, ans, x, *, axis, keepdims):
    if _plain_is_exact(ans, x):
        g = _kept(divide(ct, ans), shape(x), axis, keepdims)
        return multiply(g, _conj(x))
    u, nu = _scaled(x, axis)
    g = _kept(ct, shape(x), axis, keepdims)
    return multiply(divide(g, _safe(nu)), _conj(u))


def _norm2_batch(vals, batched, size, *, axis, keepdims):
    return norm2_p.bind(vals[0], axis=tuple(a + 1 for a in axis), keepdims=keepdims)


norm2_p = Primitive(
    "linalg_norm2",
    _norm2_impl,
    tangent=(_norm2_tangent,),
    vjp=(_norm2_vjp,),
    batch=_norm2_batch,
    sparsity=reduction_rule,  # every entry over the axes
    doc=r"""y = sqrt(sum |x|^2) over axes; dy = Re(sum conj(x) dx) / y,
    \bar x = \bar y conj(x) / y, both 0 at y = 0 (conj(x) / y from x scaled by max|x|,
    right where the squares underflow or overflow).""",
    taylor=_TAYLOR["linalg_norm2"],
)


def _vector_norm(x, ord, axes, keepdims):
    if ord is None or ord == 2:
        return norm2_p.bind(x, axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise OpError(f"linalg.norm: invalid norm order {ord!r} for vectors")
    ax = axes if len(axes) != 1 else axes[0]
    if ord == _np.inf:
        return _max_or_0(_abs(x), ax, keepdims=keepdims)
    if ord == -_np.inf:
        return _min(_abs(x), axis=ax, keepdims=keepdims)
    if ord == 0:
        from ..misc import astype

        nz = astype(not_equal(x, 0), _np.finfo(_dtype(x)).dtype)
        return _sum(nz, axis=ax, keepdims=keepdims)
    if ord == 1:
        return _sum(_abs(x), axis=ax, keepdims=keepdims)
    p = float(ord)
    return power(_sum(power(_abs(x), p), axis=ax, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x, ord, r, c, keepdims):
    if ord is None or ord == "fro" or ord == "f":
        return norm2_p.bind(x, axis=tuple(sorted((r, c))), keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        s = svdvals_p.bind(moveaxis(x, (r, c), (-2, -1)))
        if ord == "nuc":
            y = _sum(s, axis=-1)
        elif ord == 2:
            y = _max_or_0(s, -1)  # 0 for an empty matrix, as NumPy
        else:
            y = _min(s, axis=-1)
    elif ord in (1, -1, _np.inf, -_np.inf):
        red = _max if ord in (1, _np.inf) else _min
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        col_sums = _sum(_abs(x), axis=inner)
        outer = outer - 1 if outer > inner else outer
        y = _max_or_0(col_sums, outer) if red is _max else red(col_sums, axis=outer)
    else:
        raise OpError(f"linalg.norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        s = list(shape(x))
        s[r] = s[c] = 1
        y = reshape(y, tuple(s))
    return y


def _norm_axes(axis, nd, op):
    from .._util import norm_axis

    if isinstance(axis, (int, _np.integer)):
        return (norm_axis(axis, nd, op),)
    axes = tuple(norm_axis(a, nd, op) for a in axis)
    if len(set(axes)) != len(axes):
        raise OpError(f"linalg.{op}: duplicate axes given: {axis!r}")
    return axes


def norm(x, ord=None, axis=None, keepdims=False):
    r"""Vector or matrix norm, as ``numpy.linalg.norm``.

    Vectors (``axis`` an int, or 1-D ``x``): ``ord`` None/2 (Euclidean), 1, inf, -inf, 0
    (count of nonzeros, no derivative) or any real :math:`p`,
    :math:`(\sum|x|^p)^{1/p}`. Matrices (``axis`` a pair, or 2-D ``x``): ``'fro'``,
    ``'nuc'`` (sum of singular values), 2 / -2 (largest / smallest singular value),
    1 / -1 (max / min column sum of :math:`|x|`), inf / -inf (max / min row sum).

    Derivatives: the Euclidean / Frobenius norm has
    :math:`\partial\|x\|/\partial x = \bar x/\|x\|` (the conjugate for complex ``x``,
    following adgraph's convention), and **0 at the origin** instead of nan; the
    others compose ``abs``, ``sum``, ``max``/``min`` (ties share the derivative evenly)
    and :func:`svdvals` (:math:`\partial s_i = \operatorname{Re}(u_i^H dA\, v_i)`).
    """
    x = _as_float(x, "norm")
    nd = len(shape(x))
    if axis is None:
        if ord is None:
            return norm2_p.bind(x, axis=tuple(range(nd)), keepdims=bool(keepdims))
        if nd == 1:
            axes = (0,)
        elif nd == 2:
            axes = (0, 1)
        else:
            raise OpError("linalg.norm: improper number of dimensions to norm")
    else:
        axes = _norm_axes(axis, nd, "norm")
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, bool(keepdims))
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise OpError("linalg.norm: duplicate axes given")
        return _matrix_norm(x, ord, axes[0], axes[1], bool(keepdims))
    raise OpError("linalg.norm: improper number of dimensions to norm")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    r"""Vector norm over ``axis`` (all axes when None, as one flattened vector); ``ord``
    as for vectors in :func:`norm`. The 2-norm has gradient :math:`\bar x/\|x\|`, and 0
    at the origin."""
    x = _as_float(x, "vector_norm")
    nd = len(shape(x))
    axes = tuple(range(nd)) if axis is None else _norm_axes(axis, nd, "vector_norm")
    axes = tuple(sorted(axes))
    if ord is None or ord == 2:
        return norm2_p.bind(x, axis=axes, keepdims=bool(keepdims))
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, bool(keepdims))
    # several axes: move them to the end and flatten them into one
    rest = tuple(d for d in range(nd) if d not in axes)
    moved = moveaxis(x, axes, tuple(range(nd - len(axes), nd)))
    flat = reshape(moved, tuple(shape(x)[d] for d in rest) + (-1,))
    y = _vector_norm(flat, ord, (len(rest),), False)
    if keepdims:
        s = [1 if d in axes else shape(x)[d] for d in range(nd)]
        y = reshape(y, tuple(s))
    return y


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    r"""Matrix norm over the last two axes; ``ord`` as for matrices in :func:`norm`
    (``'fro'`` has gradient :math:`\bar x/\|x\|_F`, and 0 at the origin)."""
    x = _matrix(x, "matrix_norm")
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@_explained("cond")
def cond(x, p=None):
    r"""Condition number of a matrix: :math:`s_{max}/s_{min}` for ``p`` None or 2
    (:math:`s_{min}/s_{max}` for -2), otherwise
    :math:`\|A\|_p \|A^{-1}\|_p`. A composition of :func:`svdvals`, :func:`norm` and
    :func:`inv`, differentiated through them."""
    x = _matrix(x, "cond")
    if 0 in shape(x)[-2:]:
        raise LinAlgError("linalg.cond: cond is not defined on empty arrays")
    if p is None or p == 2 or p == -2:
        s = svdvals_p.bind(x)
        first = getitem(s, (Ellipsis, 0))
        last = getitem(s, (Ellipsis, -1))
        return divide(last, first) if p == -2 else divide(first, last)
    x = _square(x, "cond")
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


# ------------------------------------------------------------------ matrix_rank
def _rank_batch(vals, batched, size, **params):
    return matrix_rank_p.bind(vals[0], **params)


def _rank_impl(xp, a, *, tol, hermitian, rtol):
    # only the arguments given, so that array modules with fewer options (CuPy) work
    kw = {k: v for k, v in (("tol", tol), ("rtol", rtol)) if v is not None}
    if hermitian:
        kw["hermitian"] = True
    return xp.linalg.matrix_rank(a, **kw)


matrix_rank_p = Primitive(
    "linalg_matrix_rank",
    _rank_impl,
    nondiff=True,
    batch=_rank_batch,
    doc="Numerical rank (an integer: no derivative).",
)


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Number of singular values above ``tol`` (default: ``S.max() * max(M, N) * eps``);
    an integer, so it has no derivative."""
    if isinstance(tol, Tracer) or isinstance(rtol, Tracer):
        raise OpError("linalg.matrix_rank: tol and rtol must be concrete numbers")
    return matrix_rank_p.bind(A, tol=tol, hermitian=bool(hermitian), rtol=rtol)
