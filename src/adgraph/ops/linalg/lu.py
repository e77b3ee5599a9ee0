r"""The LU family: inverse, solve, determinant and log-determinant (what NumPy computes
from an LU factorisation), with det's cofactor matrix and its derivative, and the tensor
forms of inv and solve."""

from __future__ import annotations

from collections import namedtuple

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from ...ad.common import takes_symbolic_zeros
from ...ad.sparsity import stack_rule
from ...ad.taylor import RULES as _TAYLOR
from ...core import extend
from ...core.primitive import Primitive
from .._util import OpError, as_int, norm_axis, shape
from ..elementwise import add, imag, multiply, negative, real, subtract, where
from ..indexing import getitem
from ..products import matmul
from ..reductions import sum as _sum
from ..shapes import expand_dims, moveaxis, reshape
from ._common import (
    _as_float,
    _derivative_at_singular,
    _explained,
    _eye,
    _is_complex,
    _mT,
    _same_batch,
    _square,
    _trace,
    value_check,
)

LinAlgError = _np.linalg.LinAlgError

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


# ------------------------------------------------------------------ backend extension points
# An array module whose linalg cannot compute these on stacks of matrices (Dask's handles
# one matrix split into chunks, and has no det or slogdet) registers its own implementation
# through adgraph.core.extend; NumPy never looks them up.
def _extensible(point, contract, impl):
    """``impl(xp, *arrays)``, replaced by the implementation registered for extension
    point ``point`` on arrays of other modules, which receives the arrays alone."""
    extend.declare(point, contract)

    def run(xp, *arrays):
        if xp is not _np and (alt := extend.lookup(point, xp)) is not None:
            return alt(*arrays)
        return impl(xp, *arrays)

    run.point = point
    return run


INV = "linalg.inv"
SOLVE = "linalg.solve"
DET = "linalg.det"
SLOGDET = "linalg.slogdet"
COFACTOR = "linalg.cofactor"
COFACTOR_LIN = "linalg.cofactor_lin"


# ------------------------------------------------------------------ inv
inv_p = Primitive(
    "linalg_inv",
    _extensible(
        INV, "(a) -> the inverse of each matrix of a (..., n, n)", lambda xp, a: xp.linalg.inv(a)
    ),
    tangent=(lambda t, ans, a: negative(matmul(matmul(ans, t), ans)),),
    vjp=(lambda ct, ans, a: negative(matmul(matmul(_mT(ans), ct), _mT(ans))),),
    doc=r"""Y = A^{-1}; dY = -Y dA Y, \bar A = -Y^T \bar Y Y^T.""",
    taylor=_TAYLOR["linalg_inv"],
    sparsity=stack_rule(2, 2),
)
inv_p.batch = _same_batch(inv_p)


@_explained("inv")
def inv(a):
    r"""Inverse of a (stack of) square matrices.

    :math:`d(A^{-1}) = -A^{-1}\,dA\,A^{-1}`; reverse mode
    :math:`\bar A = -A^{-T} \bar Y A^{-T}`. Holomorphic for complex ``a``.
    """
    return inv_p.bind(_square(a, "inv"))


# ------------------------------------------------------------------ solve
def _solve_tangent(ans, primals, tangents, params):
    a, _ = primals
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        d = matmul(ta, ans)
        rhs = negative(d) if rhs is None else subtract(rhs, d)
    return solve_p.bind(a, rhs)


def _solve_vjp(ct, ans, args, params, wanted):
    a, _ = args
    ct_b = solve_p.bind(_mT(a), ct)
    ct_a = negative(matmul(ct_b, _mT(ans))) if wanted[0] else None
    return [ct_a, ct_b if wanted[1] else None]


def _align_stacks(vals, batched, cores):
    """Give batched operands unit axes after the batch axis so that their leading (stack)
    axes line up with the unbatched ones under NumPy broadcasting."""
    lead = 0
    for v, b, c in zip(vals, batched, cores, strict=True):
        lead = max(lead, len(shape(v)) - (1 if b else 0) - c)
    out = []
    for v, b, c in zip(vals, batched, cores, strict=True):
        if b:
            s = shape(v)
            pad = lead - (len(s) - 1 - c)
            if pad:
                v = reshape(v, (s[0],) + (1,) * pad + s[1:])
        out.append(v)
    return out


def _solve_batch(vals, batched, size, **params):
    return solve_p.bind(*_align_stacks(vals, batched, (2, 2)))


def _solve_impl(xp, a, b):
    if a.shape[:-2] != b.shape[:-2] and xp is not _np:
        # CuPy does not broadcast the stack axes of a against those of b
        lead = tuple(_np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        a = xp.broadcast_to(a, lead + a.shape[-2:])
        b = xp.broadcast_to(b, lead + b.shape[-2:])
    return xp.linalg.solve(a, b)


solve_p = Primitive(
    "linalg_solve",
    _extensible(
        SOLVE,
        "(a, b) -> X with a X = b for the stacks a (..., n, n) and b (..., n, k), whose "
        "stack axes broadcast",
        _solve_impl,
    ),
    joint_tangent=_solve_tangent,
    joint_vjp=_solve_vjp,
    batch=_solve_batch,
    doc=r"""X = A^{-1} B (B a stack of matrices); dX = A^{-1}(dB - dA X),
    \bar B = A^{-T} \bar X, \bar A = -\bar B X^T.""",
    taylor=_TAYLOR["linalg_solve"],
    sparsity=stack_rule((2, 2), 2),
)


@_explained("solve")
def solve(a, b):
    r"""Solve :math:`A X = B` for ``X`` (``b`` a vector ``(M,)`` or a stack of matrices
    ``(..., M, K)``; leading axes broadcast, as in NumPy 2).

    :math:`dX = A^{-1}(dB - dA\,X)`; reverse mode :math:`\bar B = A^{-T}\bar X` (one more
    solve) and :math:`\bar A = -\bar B X^T`. Holomorphic for complex inputs.
    """
    a = _square(a, "solve")
    b = _as_float(b, "solve")
    sb = shape(b)
    n = shape(a)[-1]
    if len(sb) == 1:
        if sb[0] != n:
            raise OpError(f"linalg.solve: b of shape {sb} does not match a of shape {shape(a)}")
        return reshape(solve_p.bind(a, reshape(b, (n, 1))), shape(a)[:-2] + (n,))
    if len(sb) < 2 or sb[-2] != n:
        raise OpError(f"linalg.solve: b of shape {sb} does not match a of shape {shape(a)}")
    return solve_p.bind(a, b)


# ------------------------------------------------------------------ det / slogdet
# The derivative of det A is the cofactor matrix C = adj(A)^T, which exists everywhere
# (det is a polynomial) although det(A) A^{-T} does not at a singular A. Up to 3x3 it is
# written out as signed minors (_cofactor); larger matrices compute it from the SVD
# A = U S V^H: adj(A) = adj(V^H) adj(S) adj(U) with adj(U) = det(U) U^H for a
# unitary U, so C = det(U) det(V^H) conj(U) diag(pi) conj(V^H), pi_i = prod_{j != i} s_j.
# That is exact at every rank: one zero singular value leaves one pi_i nonzero, two make
# C = 0. The same frame gives C's derivative: with E' = U^H E V^H,
# d adj(S)[E'] = diag(P @ diag(E')) - E' o P, P_ij = prod_{k != i, j} s_k (0 on the
# diagonal), so Hessians of det are exact at singular matrices too.
def _prod_others(xp, s):
    """``pi_i = prod_{j != i} s_j`` along the last axis, without dividing."""
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(
        xp.cumprod(xp.flip(xp.concatenate([s[..., 1:], ones], axis=-1), axis=-1), axis=-1),
        axis=-1,
    )
    return before * after


def _svd_frame(xp, a):
    """(conj(U), s, conj(V^H), det(U) det(V^H)) of ``a = U diag(s) V^H``."""
    u, s, vh = xp.linalg.svd(a)
    c = xp.linalg.det(u) * xp.linalg.det(vh)
    if u.dtype.kind == "c":
        u, vh = xp.conj(u), xp.conj(vh)
    return u, s, vh, c[..., None, None]


def _cofactor_np(xp, a):
    u, s, vh, c = _svd_frame(xp, a)
    return c * ((u * _prod_others(xp, s)[..., None, :]) @ vh)


def _cofactor_lin_np(xp, a, e):
    u, s, vh, c = _svd_frame(xp, a)
    n = s.shape[-1]
    eye = xp.eye(n, dtype=bool)
    p2 = _prod_others(xp, xp.where(eye, 1, s[..., None, :]).astype(s.dtype))
    p2 = xp.where(eye, 0, p2)
    ep = xp.swapaxes(u, -1, -2) @ e @ xp.swapaxes(vh, -1, -2)  # U^H E V (u, vh conjugated)
    d = xp.diagonal(ep, axis1=-2, axis2=-1)
    dt = (p2 @ d[..., None])[..., 0]
    core = xp.where(eye, dt[..., None, :], 0) - xp.swapaxes(ep, -1, -2) * p2
    return c * (u @ core @ vh)


cofactor_p = Primitive(
    "linalg_cofactor",
    _extensible(COFACTOR, "(a) -> the cofactor matrix of each matrix of a", _cofactor_np),
    tangent=(lambda t, ans, a: cofactor_lin_p.bind(a, t),),
    # d^2 det is a symmetric bilinear form, so E -> dC[E] is its own transpose
    vjp=(lambda ct, ans, a: cofactor_lin_p.bind(a, ct),),
    batch=lambda vals, batched, size: cofactor_p.bind(vals[0]),
    doc=r"""C = adj(A)^T, the cofactor matrix (the gradient of det), computed from the SVD
    and exact at singular matrices; dC[E] = cofactor_lin(A, E), which is self-adjoint.""",
    sparsity=stack_rule(2, 2),
)


# The third-derivative formula multiplies A^{-1} (~1/s_min) by C (~s_min): its rounding
# grows like eps cond(A)^2 (measured: 4.5e-4 relative at cond 1.4e7, 1e-7 at 1.4e5), and
# at a numerically singular matrix that LAPACK still inverts (rank n-2 in floating
# point) it gave ~1e16 for a third derivative of ~25. Refused past cond(A) = 1e4.
_DET_THIRD_RCOND = 1e-4


def _det_third_check_impl(xp, a):
    s = xp.linalg.svd(a, compute_uv=False)
    if xp.any(s[..., -1] <= _DET_THIRD_RCOND * s[..., 0]):
        raise LinAlgError(
            f"linalg.det: {_DET_THIRD} (here the smallest singular value is at most "
            f"{_DET_THIRD_RCOND:g} times the largest, too close to singular for it)"
        )
    return a


# A itself, once det's third-derivative formula is accurate at it
_det_third_check_p = value_check(
    "linalg_det_third_derivative_check",
    _det_third_check_impl,
    "A, after checking that it is far enough from singular for det's third derivative.",
)


def _lin_parts(a, e):
    b = inv_p.bind(_det_third_check_p.bind(a))
    return b, cofactor_p.bind(a), _trace(matmul(b, e))


_DET_THIRD = (
    "third and higher derivatives of det (4x4 and larger) at a singular matrix are "
    "computed with its inverse, which does not exist (value, gradient and Hessian are "
    "exact there)"
)


@_derivative_at_singular("det", _DET_THIRD)
def _cofactor_lin_da(t, ans, a, e):
    # dC[E] = tr(BE) C - C E^T B^T with B = A^{-1}, differentiated in A along t
    b, c, tr_be = _lin_parts(a, e)
    dc = cofactor_lin_p.bind(a, t)
    bt = _mT(b)
    out = multiply(expand_dims(negative(_trace(matmul(matmul(b, t), matmul(b, e)))), (-1, -2)), c)
    out = add(out, multiply(expand_dims(tr_be, (-1, -2)), dc))
    out = subtract(out, matmul(dc, matmul(_mT(e), bt)))
    return add(out, matmul(matmul(c, _mT(e)), matmul(bt, matmul(_mT(t), bt))))


@_derivative_at_singular("det", _DET_THIRD)
def _cofactor_lin_ct_a(ct, ans, a, e):
    b, c, tr_be = _lin_parts(a, e)
    bt = _mT(b)
    cg = _sum(multiply(c, ct), axis=(-2, -1))
    out = multiply(expand_dims(negative(cg), (-1, -2)), _mT(matmul(b, matmul(e, b))))
    out = add(out, multiply(expand_dims(tr_be, (-1, -2)), cofactor_lin_p.bind(a, ct)))
    out = subtract(out, cofactor_lin_p.bind(a, matmul(ct, matmul(b, e))))
    return add(out, matmul(matmul(bt, _mT(ct)), matmul(c, matmul(_mT(e), bt))))


def _cofactor_lin_batch(vals, batched, size):
    return cofactor_lin_p.bind(*_align_stacks(vals, batched, (2, 2)))


cofactor_lin_p = Primitive(
    "linalg_cofactor_lin",
    _extensible(
        COFACTOR_LIN,
        "(a, e) -> the derivative of the cofactor matrix of each matrix of a along e",
        _cofactor_lin_np,
    ),
    tangent=(_cofactor_lin_da, lambda t, ans, a, e: cofactor_lin_p.bind(a, t)),
    vjp=(_cofactor_lin_ct_a, lambda ct, ans, a, e: cofactor_lin_p.bind(a, ct)),
    batch=_cofactor_lin_batch,
    doc=r"""dC = d adj(A)[E]^T, the derivative of the cofactor matrix along E (the Hessian
    of det applied to E), from the SVD frame of A: exact at singular matrices. Linear and
    self-adjoint in E. Its derivative in A, dC[E] = tr(A^{-1}E) C - C E^T A^{-T}
    differentiated, needs A^{-1}: third derivatives of det past cond(A) = 1e4 raise.""",
    sparsity=stack_rule((2, 2), 2),
)


_det_impl = _extensible(
    DET, "(a) -> the determinant of each matrix of a", lambda xp, a: xp.linalg.det(a)
)


def _cofactor(a):
    """The cofactor matrix adj(A)^T of a stack. Up to 3x3 the signed minors written out
    with adgraph's operations (polynomials: every derivative exact everywhere, and
    compiled by adgraph.jit's C backend); larger matrices from the SVD (cofactor_p)."""
    n = shape(a)[-1]
    if n == 0:  # det of a 0x0 matrix is the constant 1: an empty gradient
        return a
    if n == 1:
        from ..creation import ones_like

        return ones_like(a)
    if n > 3:
        return cofactor_p.bind(a)

    def picked(rows, cols):
        return getitem(a, (Ellipsis, _np.array(rows)[:, None], _np.array(cols)[None, :]))

    if n == 2:  # [[a11, -a10], [-a01, a00]]
        swapped = picked((1, 0), (1, 0))
        return where(_eye(2, a), swapped, negative(swapped))
    # C_ij = A[i+1, j+1] A[i+2, j+2] - A[i+1, j+2] A[i+2, j+1], indices modulo 3
    p1, p2 = (1, 2, 0), (2, 0, 1)
    return subtract(
        multiply(picked(p1, p1), picked(p2, p2)), multiply(picked(p1, p2), picked(p2, p1))
    )


det_p = Primitive(
    "linalg_det",
    _det_impl,
    tangent=(lambda t, ans, a: _sum(multiply(_cofactor(a), t), axis=(-2, -1)),),
    vjp=(lambda ct, ans, a: multiply(expand_dims(ct, (-1, -2)), _cofactor(a)),),
    doc=r"""d = det A; dd = sum(C o dA), \bar A = \bar d C with C = adj(A)^T the cofactor
    matrix (= d A^{-T} where A is invertible), finite at singular matrices: the signed
    minors written out up to 3x3, from the SVD (linalg_cofactor) beyond.""",
    taylor=_TAYLOR["linalg_det"],
    sparsity=stack_rule(2, 0),
)
det_p.batch = _same_batch(det_p)


@_explained("det")
def det(a):
    r"""Determinant of a (stack of) square matrices.

    Jacobi's formula: :math:`d\det A = \operatorname{tr}(\operatorname{adj}(A)\,dA)`, so the
    gradient is the cofactor matrix :math:`C = \operatorname{adj}(A)^T` (which is
    :math:`\det(A) A^{-T}` when :math:`A` is invertible). It exists at singular matrices
    too -- rank :math:`n-1` gives a rank-one :math:`C`, lower ranks :math:`C = 0` -- and is
    computed without an inverse: up to 3x3 as the signed 2x2 minors written out (every
    derivative is then exact everywhere), for larger matrices from the SVD
    :math:`A = U S V^H` as :math:`\det(U)\det(V^H)\,\bar U \operatorname{diag}(\pi)
    \bar V^H` with :math:`\pi_i = \prod_{j\ne i} s_j`; there gradient and Hessian are
    exact at singular matrices, while third and higher derivatives use :math:`A^{-1}` and
    raise ``LinAlgError`` where the condition number exceeds 1e4 (their rounding grows
    like eps cond(A)^2). Holomorphic for complex ``a``.
    """
    return det_p.bind(_square(a, "det"))


_SLOGDET_SINGULAR = (
    "the derivative of log|det A| does not exist at an exactly singular matrix (it tends "
    "to -inf there, with an unbounded gradient A^{-T}); linalg.det is differentiable there"
)


def _slogdet_xp(xp, a):
    r = xp.linalg.slogdet(a)
    return (r[0], r[1])


_slogdet_impl = _extensible(
    SLOGDET, "(a) -> (sign, log|det|) of each matrix of a, a pair of arrays", _slogdet_xp
)


@_derivative_at_singular("slogdet", _SLOGDET_SINGULAR)
def _slogdet_tangent(ans, primals, tangents, params):
    (a,), (t,) = primals, tangents
    tau = _trace(solve_p.bind(a, t))
    sign = ans[0]
    if _is_complex(a):
        return (multiply(sign, multiply(imag(tau), 1j)), real(tau))
    return (None, tau)


@_derivative_at_singular("slogdet", _SLOGDET_SINGULAR)
def _slogdet_vjp(ct, ans, args, params, wanted):
    (a,) = args
    ct_sign, ct_log = ct  # None: that output unused
    g = None if ct_log is None else real(ct_log)
    if _is_complex(a) and ct_sign is not None:
        gs = multiply(imag(multiply(ct_sign, ans[0])), 1j)
        g = gs if g is None else add(g, gs)
    if g is None:  # only the sign of a real matrix used: piecewise constant
        return [None]
    return [multiply(expand_dims(g, (-1, -2)), _mT(inv_p.bind(a)))]


slogdet_p = Primitive(
    "linalg_slogdet",
    _slogdet_impl,
    joint_tangent=_slogdet_tangent,
    joint_vjp=_slogdet_vjp,
    multiple_results=True,
    doc=r"""(s, l) with det A = s e^l; with tau = tr(A^{-1} dA): dl = Re tau,
    ds = i s Im tau (0 for real A); \bar A = (\bar l + i Im(\bar s s)) A^{-T}.""",
    taylor=_TAYLOR["linalg_slogdet"],
    sparsity=stack_rule(2, 0),
)
slogdet_p.batch = _same_batch(slogdet_p)
takes_symbolic_zeros(slogdet_p)


@_explained("slogdet")
def slogdet(a):
    r"""Sign and natural log of the absolute determinant: ``(sign, logabsdet)`` with
    :math:`\det A = \mathrm{sign}\, e^{\mathrm{logabsdet}}`.

    With :math:`\tau = \operatorname{tr}(A^{-1} dA)`: :math:`d\,\mathrm{logabsdet} =
    \operatorname{Re}\tau`, and :math:`d\,\mathrm{sign} = i\,\mathrm{sign}
    \operatorname{Im}\tau` for complex ``a`` (zero for real ``a``, where the sign is
    piecewise constant). Reverse mode: :math:`\bar A = (\overline{l} + i
    \operatorname{Im}(\bar s\, s)) A^{-T}`. For symmetric positive definite :math:`A` the
    gradient of the log-determinant is :math:`A^{-1}`. At a singular matrix the
    log-determinant is :math:`-\infty` and has no derivative: its rules raise
    ``LinAlgError`` (``det`` itself is differentiable there).
    """
    s, l = slogdet_p.bind(_square(a, "slogdet"))
    return SlogdetResult(s, l)


# ------------------------------------------------------------------ tensorinv / tensorsolve
def _prod(s):
    n = 1
    for d in s:
        n *= d
    return n


@_explained("tensorinv")
def tensorinv(a, ind=2):
    r"""The 'inverse' of an N-d array for :func:`tensorsolve`: ``inv`` of ``a`` reshaped
    to a square matrix (first ``ind`` axes against the rest), reshaped back. Its
    derivative is that of :func:`inv`, :math:`-Y\,dA\,Y`."""
    ind = as_int(ind, "linalg.tensorinv", "ind")
    if ind <= 0:
        raise OpError(f"linalg.tensorinv: ind must be a positive integer, got {ind}")
    sa = shape(a)
    rows, cols = sa[:ind], sa[ind:]
    if _prod(rows) != _prod(cols):
        raise OpError(f"linalg.tensorinv: a of shape {sa} is not 'square' for ind={ind}")
    m = reshape(_as_float(a, "tensorinv"), (_prod(rows), _prod(cols)))
    return reshape(inv(m), cols + rows)


@_explained("tensorsolve")
def tensorsolve(a, b, axes=None):
    r"""Solve the tensor equation ``tensordot(a, x, x.ndim) = b`` for ``x``: a reshaped
    :func:`solve`, with its derivative :math:`dx = A^{-1}(db - dA\,x)`."""
    a = _as_float(a, "tensorsolve")
    b = _as_float(b, "tensorsolve")
    nd = len(shape(a))
    if axes is not None:
        src = [norm_axis(ax, nd, "linalg.tensorsolve") for ax in axes]
        a = moveaxis(a, src, [nd - len(src) + i for i in range(len(src))])
    sa, sb = shape(a), shape(b)
    xshape = sa[len(sb) :]
    if _prod(sb) != _prod(xshape) or sa[: len(sb)] != sb:
        raise OpError(f"linalg.tensorsolve: a of shape {sa} does not match b of shape {sb}")
    m = reshape(a, (_prod(sb), _prod(xshape)))
    return reshape(solve(m, reshape(b, (_prod(sb),))), xshape)
