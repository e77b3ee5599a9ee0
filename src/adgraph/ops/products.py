r"""Products: matmul, einsum and the products built on them; diagonals and triangles.

Bilinear operations differentiate by the product rule: each argument's rule is the same
product with that argument replaced. For :math:`Z = XY`,

.. math::
    \dot Z = \dot X Y + X \dot Y, \qquad \bar X = \bar Z Y^T, \qquad \bar Y = X^T \bar Z,

with the transpose, not the conjugate transpose, for complex arrays: reverse mode transposes
under the pairing :math:`\langle a, b\rangle = \operatorname{Re}\sum ab` used throughout
adgraph. Only operations that conjugate by definition (``vdot``) conjugate.

``einsum``, the general multilinear primitive, is declared in :mod:`.einsum` (its
cotangent rules and subscript parsing) and re-exported here.

``dot``, ``inner`` and ``tensordot`` are transposes and reshapes around ``matmul``;
``vdot``, ``outer``, ``kron``, ``trace`` and ``triu``/``tril`` are compositions as well, so
they inherit every rule. ``diagonal`` and its transpose ``diag_embed`` are primitives.
"""

from __future__ import annotations

import numpy as _np  # dtype objects, static index arithmetic and NumPy's identity

from ..ad.batched_jvp import Diagonal
from ..ad.sparsity import MOVES, require_scipy, stacked_matmul_rule
from ..ad.taylor import RULES as _TAYLOR
from ..core import basic, extend
from ..core.primitive import Primitive
from . import _parallel
from ._product_util import _as_array, _xp_of
from ._util import OpError, as_int, norm_axis, shape
from .einsum import einsum, einsum_p  # noqa: F401  (adgraph.numpy takes einsum from here)
from .shapes import (
    reduce_sum_p,
    reshape,
    sum_to_shape,
    swapaxes,
    transpose,
    transpose_p,
)

__all__ = [
    "matmul",
    "dot",
    "vdot",
    "inner",
    "outer",
    "tensordot",
    "einsum",
    "kron",
    "trace",
    "diag",
    "diagflat",
    "diagonal",
    "triu",
    "tril",
]


# ================================================================ matmul
def _promote(x, y):
    """Shapes of x and y as matmul sees them (1-D operands get a unit axis)."""
    xs, ys = shape(x), shape(y)
    x2 = xs if len(xs) >= 2 else (1,) + xs
    y2 = ys if len(ys) >= 2 else ys + (1,)
    return x2, y2


def _plain_matrices(ct, a, b):
    """Cotangent and the operand a rule reads both plain 2-D NumPy arrays, the other
    operand (perhaps only its shape) 2-D too: no promotion, batch or broadcast to undo."""
    return (
        type(ct) is _np.ndarray
        and type(a) is _np.ndarray
        and ct.ndim == 2
        and a.ndim == 2
        and len(shape(b)) == 2
    )


def _matmul_vjp_x(ct, ans, x, y):
    if _plain_matrices(ct, y, x):
        return matmul_p.bind(ct, y.T)  # Y^T as a transposed view: BLAS reads it in place
    return _matmul_vjp_x_general(ct, x, y)


def _matmul_vjp_x_general(ct, x, y):
    xs, ys = shape(x), shape(y)
    x2, y2 = _promote(x, y)
    batch = _broadcast_batch(x2[:-2], y2[:-2])
    ct2 = reshape(ct, batch + (x2[-2], y2[-1]))
    yy = reshape(y, y2) if y2 != ys else y
    g = matmul_p.bind(ct2, swapaxes(yy, -1, -2))
    g = sum_to_shape(g, x2)
    return reshape(g, xs) if x2 != xs else g


def _matmul_vjp_y(ct, ans, x, y):
    if _plain_matrices(ct, x, y):
        return matmul_p.bind(x.T, ct)
    return _matmul_vjp_y_general(ct, x, y)


def _matmul_vjp_y_general(ct, x, y):
    xs, ys = shape(x), shape(y)
    x2, y2 = _promote(x, y)
    batch = _broadcast_batch(x2[:-2], y2[:-2])
    ct2 = reshape(ct, batch + (x2[-2], y2[-1]))
    xx = reshape(x, x2) if x2 != xs else x
    g = matmul_p.bind(swapaxes(xx, -1, -2), ct2)
    g = sum_to_shape(g, y2)
    return reshape(g, ys) if y2 != ys else g


def _broadcast_batch(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for p, q in zip(a, b, strict=False):
        if p != q and p != 1 and q != 1:
            raise OpError(f"matmul: batch dimensions {a} and {b} do not broadcast")
        out.append(q if p == 1 else p)
    return tuple(out)


def _matmul_batch(vals, batched, size, **params):
    x, y = vals
    bx, by = batched
    xs = shape(x)[1:] if bx else shape(x)
    ys = shape(y)[1:] if by else shape(y)
    # One operand batched, the other a single matrix: fold the batch into the rows or
    # columns of one matrix product (one BLAS call, not a stack of matrix-vector ones).
    if bx and not by and len(ys) == 2 and len(xs) <= 2:
        m = xs[0] if len(xs) == 2 else 1
        out = matmul_p.bind(reshape(x, (size * m, xs[-1])), y)
        return reshape(out, (size,) + ((m,) if len(xs) == 2 else ()) + (ys[1],))
    if by and not bx and len(xs) == 2 and len(ys) <= 2:
        from .shapes import moveaxis

        if len(ys) == 1:  # X @ y_b for every b: Y X^T with Y (size, k)
            return matmul_p.bind(y, moveaxis(x, 0, 1))
        cols = reshape(moveaxis(y, 0, 1), (ys[0], size * ys[1]))  # (k, size*n)
        out = matmul_p.bind(x, cols)  # (m, size*n)
        return moveaxis(reshape(out, (xs[0], size, ys[1])), 1, 0)
    # Give the batch axis a place matmul broadcasts over: operands of rank >= 2 with the
    # batch axis in front of the (padded) stack axes; 1-D operands are promoted.
    rank = max(len(xs), len(ys), 2)
    if bx:
        x2 = xs if len(xs) >= 2 else (1,) + xs
        x = reshape(x, (size,) + (1,) * (rank - len(x2)) + x2)
    elif len(xs) == 1:
        x = reshape(x, (1,) + xs)
    if by:
        y2 = ys if len(ys) >= 2 else ys + (1,)
        y = reshape(y, (size,) + (1,) * (rank - len(y2)) + y2)
    elif len(ys) == 1:
        y = reshape(y, ys + (1,))
    out = matmul_p.bind(x, y)
    # Remove the unit axes that stood for 1-D operands.
    os = list(shape(out))
    if len(ys) == 1:
        os.pop(-1)
    if len(xs) == 1:
        os.pop(-1 if len(ys) == 1 else -2)
    return reshape(out, tuple(os))


def _matmul_sparsity(pats, ans, x, y):
    """Z = X @ Y for vectors and matrices: Z[i, j] depends on X[i, l] where Y[l, j] may be
    nonzero (a traced Y, or a constant Y's nonzeros), and on Y[l, j] likewise. Stacks of
    matrices go through the einsum rule."""
    xs, ys = shape(x), shape(y)
    if len(xs) > 2 or len(ys) > 2:
        return stacked_matmul_rule(pats, ans, x, y)
    sp = require_scipy("sparsity detection")
    x2 = _np.reshape(x, (1, -1) if len(xs) == 1 else xs)
    y2 = _np.reshape(y, (-1, 1) if len(ys) == 1 else ys)
    m, q = x2.shape[0], y2.shape[1]
    px, py = pats
    out = None
    if px is not None:  # row (i, j) of Z takes rows (i, l) of X with Y[l, j] != 0
        ymask = _np.ones(y2.shape, bool) if py is not None else y2 != 0
        out = sp.kron(sp.identity(m, dtype=bool), sp.csr_matrix(ymask.T), format="csr") @ px
    if py is not None:  # row (i, j) of Z takes rows (l, j) of Y with X[i, l] != 0
        xmask = _np.ones(x2.shape, bool) if px is not None else x2 != 0
        term = sp.kron(sp.csr_matrix(xmask), sp.identity(q, dtype=bool), format="csr") @ py
        out = term if out is None else out + term
    return out


def _matmul_impl(xp, x, y):
    # A large NumPy matrix times a vector (the forward and reverse products of X @ w):
    # threads over the matrix's rows, faster than BLAS's gemv there; None elsewhere.
    big = _parallel.PARALLEL_MIN_SIZE
    if xp is _np and (getattr(x, "size", 0) >= big or getattr(y, "size", 0) >= big):
        out = _parallel.matmul(x, y)
        if out is not None:
            return out
    return xp.matmul(x, y)


matmul_p = Primitive(
    "matmul",
    _matmul_impl,
    tangent=(
        lambda t, ans, x, y: matmul_p.bind(t, y),
        lambda t, ans, x, y: matmul_p.bind(x, t),
    ),
    vjp=(_matmul_vjp_x, _matmul_vjp_y),
    batch=_matmul_batch,
    # X's cotangent reads Y (and only the shape of X), Y's reads X.
    needs=(frozenset({1}), frozenset({0})),
    sparsity=_matmul_sparsity,
    doc="Z = X @ Y (NumPy matmul broadcasting); bilinear.",
    taylor=_TAYLOR["matmul"],
)


def _matmul_batched_tangent(n, ans, primals, tangents, params):
    """The tangents of n directions at once (see ``Primitive.batched_tangent``): the batch
    axis of a tangent is a stack axis of the product (or the rows of a 1-d operand); a
    diagonal tangent of a vector times a matrix becomes a scaled transpose."""
    x, y = primals
    tx, ty = tangents
    xr, yr = len(x.shape), len(y.shape)
    if type(tx) is Diagonal or type(ty) is Diagonal:
        v = (tx if type(tx) is Diagonal else ty).v
        if type(v) is not _np.ndarray or not _np.isfinite(v).all():
            # Expanded, an infinite v_k spreads nan (0 * inf) over the product as the
            # dense basis does; keep those numbers identical.
            return NotImplemented
        if tx is None and xr == 2 and yr == 1:
            # A @ (e_k v_k) = v_k A[:, k]
            return basic.mul(basic.reshape(ty.v, (n, 1)), transpose_p.bind(x, axes=(1, 0)))
        if ty is None and xr == 1 and yr == 2:
            # (e_k v_k) @ B = v_k B[k, :]
            return basic.mul(basic.reshape(tx.v, (n, 1)), y)
        return NotImplemented
    out = None
    if tx is not None:
        # (n, *xs) @ y: the batch axis is a stack axis (or the rows of a 1-d x).
        if yr > 2 and xr < yr:
            return NotImplemented
        out = matmul_p.bind(tx, y)
    if ty is not None:
        if yr == 1:
            if xr > 2:
                return NotImplemented
            # x @ t_k for every k is t @ x^T (rows of the batch).
            xt = x if xr == 1 else transpose_p.bind(x, axes=(1, 0))
            c = matmul_p.bind(ty, xt)
        else:
            if xr > yr:
                return NotImplemented
            c = matmul_p.bind(x, ty)
        out = c if out is None else basic.add(out, c)
    return out


matmul_p.batched_tangent = _matmul_batched_tangent


def matmul(x1, x2, /):
    r"""Matrix product with NumPy's rules (1-D operands are vectors, leading axes broadcast).

    Bilinear: :math:`\dot Z = \dot X Y + X \dot Y`; :math:`\bar X = \bar Z Y^T`,
    :math:`\bar Y = X^T \bar Z`, summed over broadcast axes (no conjugation for complex).
    """
    x1, x2 = _as_array(x1), _as_array(x2)
    sx, sy = shape(x1), shape(x2)
    if not sx or not sy:
        raise OpError(f"matmul: operands must not be scalars, got shapes {sx} and {sy}")
    kx = sx[-1]
    ky = sy[-2] if len(sy) >= 2 else sy[0]
    if kx != ky:
        raise OpError(f"matmul: inner dimensions differ, shapes {sx} and {sy} ({kx} != {ky})")
    p1, p2 = _promote(x1, x2)
    try:
        _broadcast_batch(p1[:-2], p2[:-2])
    except OpError:
        raise OpError(
            f"matmul: the stacks of matrices of shapes {sx} and {sy} do not broadcast "
            f"({p1[:-2]} against {p2[:-2]})"
        ) from None
    return matmul_p.bind(x1, x2)


# ================================================================ tensordot and friends
def _norm_tensordot_axes(axes, na, nb):
    if isinstance(axes, int) or (hasattr(axes, "ndim") and getattr(axes, "ndim", 1) == 0):
        n = int(axes)
        if n < 0 or n > na or n > nb:
            raise OpError(
                f"tensordot: cannot contract {n} axes of arrays with {na} and {nb} dimensions"
            )
        return list(range(na - n, na)), list(range(n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise OpError(
            f"tensordot: axes must be an integer or a pair of axis sequences, got {axes!r}"
        ) from None
    ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise OpError(f"tensordot: axes {axes!r} name different numbers of axes")
    ax_a = [norm_axis(a, na, "tensordot") for a in ax_a]
    ax_b = [norm_axis(b, nb, "tensordot") for b in ax_b]
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise OpError(f"tensordot: repeated axis in {axes!r}")
    return ax_a, ax_b


def tensordot(a, b, axes=2):
    r"""Sum of products over the given axes (NumPy's ``tensordot``).

    ``axes`` is an integer ``N`` (the last ``N`` axes of ``a`` with the first ``N`` of
    ``b``) or a pair of axis sequences. Computed as a matrix product between a transpose
    and reshape of each operand, so it is bilinear with
    :math:`\bar a = \operatorname{tensordot}(\bar c, b)` over ``b``'s free axes (moved back
    into place), and likewise for :math:`\bar b`. No conjugation for complex inputs.
    """
    a, b = _as_array(a), _as_array(b)
    sa, sb = shape(a), shape(b)
    ax_a, ax_b = _norm_tensordot_axes(axes, len(sa), len(sb))
    for i, j in zip(ax_a, ax_b, strict=False):
        if sa[i] != sb[j]:
            raise OpError(
                f"tensordot: shape mismatch, axis {i} of shape {sa} has length {sa[i]} but "
                f"axis {j} of shape {sb} has length {sb[j]}"
            )
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [j for j in range(len(sb)) if j not in ax_b]
    k = 1
    for i in ax_a:
        k *= sa[i]
    m = 1
    for i in free_a:
        m *= sa[i]
    n = 1
    for j in free_b:
        n *= sb[j]
    a2 = reshape(transpose(a, free_a + ax_a), (m, k))
    b2 = reshape(transpose(b, ax_b + free_b), (k, n))
    out = matmul_p.bind(a2, b2)
    return reshape(out, tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b))


def dot(a, b, out=None):
    r"""NumPy's ``dot``: the product of scalars, the inner product of vectors, matrix
    products, and for N-D arrays a sum over the last axis of ``a`` and the second-to-last
    of ``b``.

    Bilinear: :math:`\dot c = \dot a \cdot b + a \cdot \dot b`; the cotangents are the
    matching products of :math:`\bar c` with the other operand (transposed, not
    conjugated).
    """
    from .elementwise import multiply

    if out is not None:
        raise OpError("dot: out= is not supported (adgraph arrays are immutable)")
    a, b = _as_array(a), _as_array(b)
    sa, sb = shape(a), shape(b)
    if not sa or not sb:
        return multiply(a, b)
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != kb:
        raise OpError(f"dot: shapes {sa} and {sb} not aligned: {sa[-1]} (last axis of a) != {kb}")
    if len(sb) <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([len(sa) - 1], [len(sb) - 2]))


def vdot(a, b, /):
    r"""Dot product of the flattened arrays, conjugating the first:
    :math:`c = \sum_i \overline{a_i} b_i`.

    :math:`\dot c = \sum \overline{\dot a} b + \bar a \dot b`; in reverse mode
    :math:`\bar a = \overline{\bar c\, b}` (the conjugation of ``a`` transposes to a
    conjugation) and :math:`\bar b = \bar c\, \overline{a}`.
    """
    from .elementwise import conj
    from .shapes import ravel

    a, b = _as_array(a), _as_array(b)
    fa, fb = ravel(a), ravel(b)
    if shape(fa) != shape(fb):
        raise OpError(f"vdot: arrays of shapes {shape(a)} and {shape(b)} have different sizes")
    return matmul_p.bind(conj(fa), fb)


def inner(a, b, /):
    r"""Inner product over the last axes: :math:`c_{IJ} = \sum_k a_{Ik} b_{Jk}` (for
    scalars, the product).

    Bilinear: :math:`\bar a_{Ik} = \sum_J \bar c_{IJ} b_{Jk}` and
    :math:`\bar b_{Jk} = \sum_I \bar c_{IJ} a_{Ik}`; no conjugation.
    """
    from .elementwise import multiply

    a, b = _as_array(a), _as_array(b)
    sa, sb = shape(a), shape(b)
    if not sa or not sb:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        raise OpError(f"inner: last dimensions differ, shapes {sa} and {sb}")
    return tensordot(a, b, axes=([len(sa) - 1], [len(sb) - 1]))


def outer(a, b, out=None):
    r"""Outer product of the flattened arrays: :math:`C_{ij} = a_i b_j`.

    :math:`\bar a_i = \sum_j \bar C_{ij} b_j`, :math:`\bar b_j = \sum_i \bar C_{ij} a_i`.
    """
    from .elementwise import multiply
    from .shapes import ravel

    if out is not None:
        raise OpError("outer: out= is not supported (adgraph arrays are immutable)")
    a, b = ravel(_as_array(a)), ravel(_as_array(b))
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def kron(a, b):
    r"""Kronecker product: blocks :math:`a_{i}\, b` laid out along every axis.

    :math:`K_{(i, k)} = a_i b_k` with the index pairs flattened; computed as a broadcast
    product between reshapes, so :math:`\bar a_i = \sum_k \bar K_{(i,k)} b_k` and
    :math:`\bar b_k = \sum_i \bar K_{(i,k)} a_i`.
    """
    from .elementwise import multiply

    a, b = _as_array(a), _as_array(b)
    sa, sb = shape(a), shape(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + sa
    sb = (1,) * (nd - len(sb)) + sb
    ia, ib = [], []
    for p, q in zip(sa, sb, strict=False):
        ia += [p, 1]
        ib += [1, q]
    prod = multiply(reshape(a, tuple(ia)), reshape(b, tuple(ib)))
    return reshape(prod, tuple(p * q for p, q in zip(sa, sb, strict=False)))


# ================================================================ diagonals
def _diag_positions(n1, n2, offset):
    """Rows and columns of the ``offset`` diagonal of an (n1, n2) matrix (static ints)."""
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    rows = _np.arange(length) + max(-offset, 0)
    cols = _np.arange(length) + max(offset, 0)
    return rows, cols


def _diagonal_t(ct, x, *, offset, axis1, axis2):
    return diag_embed_p.bind(ct, offset=offset, axis1=axis1, axis2=axis2, shape=tuple(x.shape))


def _diagonal_batch(vals, batched, size, *, offset, axis1, axis2):
    return diagonal_p.bind(vals[0], offset=offset, axis1=axis1 + 1, axis2=axis2 + 1)


diagonal_p = Primitive(
    "diagonal",
    lambda xp, x, *, offset, axis1, axis2: xp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2),
    sparsity=MOVES,
    doc=r"""y = the offset diagonal of x in the plane (axis1, axis2), as a last axis.
    Linear; the transpose (diag_embed) places the cotangent on that diagonal of zeros.""",
    batch=_diagonal_batch,
    needs=(frozenset(),),  # the transpose reads x's shape only
    taylor=_TAYLOR["diagonal"],
)
diagonal_p.tangent = (lambda t, ans, x, **p: diagonal_p.bind(t, **p),)
diagonal_p.vjp = (lambda ct, ans, x, **p: _diagonal_t(ct, x, **p),)


# Whether arrays of a module can be written through their views (NumPy's can; a backend
# says so for its own module through this point, adgraph.core.extend). Diagonals of such
# arrays are written in place; others are built by products with 0/1 matrices.
WRITABLE_VIEWS = extend.declare(
    "products.writable_views",
    "(xp) -> True when arrays of xp are mutable and item assignment to a view (such as "
    "xp.moveaxis(out, ...)) writes into the array it views (default: False)",
)


def _writable_views(xp) -> bool:
    if xp is _np:
        return True
    alt = extend.lookup(WRITABLE_VIEWS, xp)
    return alt is not None and bool(alt(xp))


def _diag_embed_impl(xp, v, *, offset, axis1, axis2, shape):
    rows, cols = _diag_positions(shape[axis1], shape[axis2], offset)
    if _writable_views(xp):
        out = xp.zeros(shape, dtype=v.dtype)
        view = xp.moveaxis(out, (axis1, axis2), (-2, -1))  # a view: writes land in out
        view[..., xp.asarray(rows), xp.asarray(cols)] = v
        return out
    # Array modules without item assignment: a product with two 0/1 matrices.
    e1 = (xp.arange(shape[axis1])[:, None] == xp.asarray(rows)[None, :]).astype(v.dtype)
    e2 = (xp.arange(shape[axis2])[:, None] == xp.asarray(cols)[None, :]).astype(v.dtype)
    m = xp.einsum("...d,id,jd->...ij", v, e1, e2)
    return xp.moveaxis(m, (-2, -1), (axis1, axis2))


def _diag_embed_batch(vals, batched, size, *, offset, axis1, axis2, shape):
    return diag_embed_p.bind(
        vals[0], offset=offset, axis1=axis1 + 1, axis2=axis2 + 1, shape=(size,) + shape
    )


diag_embed_p = Primitive(
    "diag_embed",
    _diag_embed_impl,
    sparsity=MOVES,
    doc=r"""y = zeros of a shape with v on the offset diagonal of the plane (axis1, axis2)
    (v's last axis runs along the diagonal). Linear; the transpose takes that diagonal.""",
    batch=_diag_embed_batch,
    needs=(frozenset(),),
    taylor=_TAYLOR["diag_embed"],
)
diag_embed_p.tangent = (lambda t, ans, v, **p: diag_embed_p.bind(t, **p),)
diag_embed_p.vjp = (
    lambda ct, ans, v, *, offset, axis1, axis2, shape: diagonal_p.bind(
        ct, offset=offset, axis1=axis1, axis2=axis2
    ),
)


def diagonal(a, offset=0, axis1=0, axis2=1):
    r"""The ``offset`` diagonal of ``a`` in the plane of ``axis1`` and ``axis2``
    (:math:`y_{\ldots d} = a_{\ldots, d, d + \text{offset}}`), as a new last axis.

    Linear; the cotangent is embedded on that diagonal of a zero array,
    :math:`\bar a_{\ldots ij} = [j - i = \text{offset}]\,\bar y_{\ldots, \min(i, j)}`.
    """
    a = _as_array(a)
    s = shape(a)
    if len(s) < 2:
        raise OpError(f"diagonal: the array must be at least 2-D, got shape {s}")
    ax1, ax2 = norm_axis(axis1, len(s), "diagonal"), norm_axis(axis2, len(s), "diagonal")
    if ax1 == ax2:
        raise OpError(f"diagonal: axis1 and axis2 must differ, both are {ax1}")
    return diagonal_p.bind(a, offset=as_int(offset, "diagonal", "offset"), axis1=ax1, axis2=ax2)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    r"""Sum along the ``offset`` diagonal: :math:`t = \sum_d a_{d, d + \text{offset}}`
    (over the plane of ``axis1`` and ``axis2``; the other axes remain).

    Linear: :math:`\bar a_{ij} = [j - i = \text{offset}]\,\bar t`.
    """
    if out is not None:
        raise OpError("trace: out= is not supported (adgraph arrays are immutable)")
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        from .misc import astype

        d = astype(d, dtype)
    return reduce_sum_p.bind(d, axis=(len(shape(d)) - 1,), keepdims=False)


def diag(v, k=0):
    r"""Extract the ``k``-th diagonal of a 2-D array, or build a 2-D array with a 1-D
    array on its ``k``-th diagonal.

    Linear both ways, and the two directions are each other's transposes: the cotangent
    of an extraction is embedded on the diagonal of zeros, that of a construction is the
    diagonal of the cotangent.
    """
    v = _as_array(v)
    s = shape(v)
    k = as_int(k, "diag", "k")
    if len(s) == 1:
        n = s[0] + abs(k)
        return diag_embed_p.bind(v, offset=k, axis1=0, axis2=1, shape=(n, n))
    if len(s) == 2:
        return diagonal_p.bind(v, offset=k, axis1=0, axis2=1)
    raise OpError(f"diag: the input must be 1-D or 2-D, got shape {s}")


def diagflat(v, k=0):
    r"""A 2-D array with the flattened input on its ``k``-th diagonal.

    Linear; the cotangent is that diagonal of :math:`\bar y`, reshaped to ``v``'s shape.
    """
    from .shapes import ravel

    return diag(ravel(_as_array(v)), k)


def _triangle(m, k, upper, op):
    from .elementwise import where

    m = _as_array(m)
    s = shape(m)
    if not s:
        raise OpError(f"{op}: the input must be at least 1-D, got a 0-d array")
    rows, cols = (s[-2], s[-1]) if len(s) >= 2 else (s[-1], s[-1])
    xp = _xp_of(m)
    k = as_int(k, op, "k")
    keep = xp.tri(rows, cols, k=k - 1 if upper else k, dtype=bool)
    if upper:
        keep = ~keep
    zero = xp.zeros((), dtype=m.dtype)
    return where(keep, m, zero)


def triu(m, k=0):
    r"""Upper triangle of the last two axes: entries below the ``k``-th diagonal are
    zeroed (a 1-D input is broadcast to a square first, as in NumPy).

    Linear, a mask: :math:`\bar m_{ij} = [j - i \ge k]\,\bar y_{ij}`.
    """
    return _triangle(m, k, True, "triu")


def tril(m, k=0):
    r"""Lower triangle of the last two axes: entries above the ``k``-th diagonal are
    zeroed (a 1-D input is broadcast to a square first, as in NumPy).

    Linear, a mask: :math:`\bar m_{ij} = [j - i \le k]\,\bar y_{ij}`.
    """
    return _triangle(m, k, False, "tril")
