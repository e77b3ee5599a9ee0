r"""Linear algebra: NumPy's ``numpy.linalg``, differentiable to any order.

Each decomposition is a primitive whose forward (JVP) and reverse (VJP) rules are written
with adgraph's own operations -- matmul, solve, elementwise masks -- so the rules are
differentiated again for Hessians. Every function works on stacks of matrices
``(..., M, N)`` as NumPy does, and ``vmap`` batches it by binding the primitive once more
(the batch axis becomes one more leading axis).

Conventions
-----------
* :math:`X^T` is the transpose, :math:`X^H = \bar X^T` the conjugate transpose,
  :math:`\circ` the elementwise product.
* Complex inputs follow adgraph's (JAX's) convention: reverse mode transposes the tangent
  map under the pairing :math:`\langle a, b\rangle = \operatorname{Re}\sum a b`. For the
  holomorphic functions (inv, solve, det, matrix_power, multi_dot, pinv) this means
  transposes, never conjugates, in the rules; for cholesky, eigh and svd, which involve
  :math:`A^H`, the rules are the exact transposes of their R-linear tangent maps.
* Functions that NumPy computes from one triangle (cholesky, eigh, eigvalsh) are
  differentiated as functions of that triangle: a perturbation of the other triangle has
  no effect, so its derivative is zero there. For a symmetric perturbation this agrees
  with the symmetric-matrix derivative.
* Points where the derivative does not exist give inf or nan, not an error: singular
  matrices for inv/solve (these raise ``LinAlgError`` already in the forward
  computation), repeated eigenvalues (eigh's eigenvectors) and repeated or zero singular
  values (svd's singular vectors). Eigenvalues and singular values alone (eigvalsh,
  svdvals, ``compute_uv=False``) stay finite there. ``det`` is a polynomial and is
  differentiated at singular matrices too (its gradient is the cofactor matrix, computed
  without an inverse); ``slogdet``'s log-determinant has no derivative there, and its
  rules raise ``LinAlgError`` saying so.
* On Dask arrays, det, slogdet, inv and solve of stacked matrices run NumPy's function
  on each block of the stack axes; each matrix must lie in one chunk (a single matrix
  split into chunks goes to Dask's own blocked inv and solve).
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from ..core import extend
from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, as_int, norm_axis, shape
from .elementwise import (
    abs as _abs,
)
from .elementwise import (
    add,
    conj,
    divide,
    equal,
    greater,
    imag,
    multiply,
    negative,
    not_equal,
    power,
    real,
    reciprocal,
    subtract,
    where,
)
from .indexing import getitem
from .joining import concatenate
from .products import matmul
from .reductions import max as _max
from .reductions import min as _min
from .reductions import sum as _sum
from .shapes import expand_dims, moveaxis, reshape, swapaxes

__all__ = [
    "LinAlgError",
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "eigh",
    "eigvalsh",
    "svd",
    "svdvals",
    "qr",
    "pinv",
    "lstsq",
    "matrix_power",
    "norm",
    "vector_norm",
    "matrix_norm",
    "multi_dot",
    "matrix_rank",
    "cond",
    "matrix_transpose",
    "tensorinv",
    "tensorsolve",
]

LinAlgError = _np.linalg.LinAlgError

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])
LstsqResult = namedtuple("LstsqResult", ["x", "residuals", "rank", "s"])


# ------------------------------------------------------------------ errors
_HINTS = {
    "inv": "; a singular matrix has no inverse -- linalg.pinv gives the pseudo-inverse",
    "solve": "; the system has no unique solution -- linalg.lstsq gives a least-squares one",
    "tensorinv": "; a singular matrix has no inverse -- linalg.pinv gives the pseudo-inverse",
    "tensorsolve": "; the system has no unique solution",
    "matrix_power": "; a negative power needs the inverse, which a singular matrix lacks",
    "cholesky": "; Cholesky needs a Hermitian positive-definite matrix (try linalg.eigh)",
}


def _explained(op):
    """Re-raise NumPy's terse ``LinAlgError`` ("Singular matrix") naming the operation
    and what to do; the error type stays ``LinAlgError`` (a ``ValueError``)."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except LinAlgError as e:
                msg = str(e)
                if msg.startswith("linalg."):
                    raise
                raise LinAlgError(f"linalg.{op}: {msg}{_HINTS.get(op, '')}") from None

        return wrapper

    return deco


def _derivative_at_singular(op, why=None):
    """For rules that need :math:`A^{-1}`: say that the derivative, not the function,
    fails at an exactly singular matrix (``why``: the reason, when not the default)."""

    def deco(rule):
        @functools.wraps(rule)
        def wrapper(*args, **kwargs):
            try:
                return rule(*args, **kwargs)
            except LinAlgError as e:
                if str(e).startswith("linalg."):
                    raise
                reason = why or (
                    "the derivative at an exactly singular matrix is computed with its "
                    "inverse, which does not exist"
                )
                raise LinAlgError(
                    f"linalg.{op}: {reason} ({e}); the value itself is fine"
                ) from None

        return wrapper

    return deco


# ------------------------------------------------------------------ helpers
def _xp_of(x):
    if isinstance(x, Tracer):
        x = x.primal_value()
    return module_of(x)


def _dtype(x):
    d = getattr(x, "dtype", None)
    return d if d is not None else _np.result_type(x)


def _is_complex(x) -> bool:
    return _dtype(x).kind == "c"


def _mT(x):
    return swapaxes(x, -1, -2)


def _H(x):
    return conj(_mT(x)) if _is_complex(x) else _mT(x)


def _conj(x):
    return conj(x) if _is_complex(x) else x


def _eye(n, like):
    return _xp_of(like).eye(n, dtype=bool)


def _lower(n, like):
    """Boolean mask of the strictly lower triangle."""
    return _xp_of(like).tri(n, n, -1, dtype=bool)


def _diag(x):
    """The diagonals of a stack of square matrices, shape (..., n)."""
    n = shape(x)[-1]
    ar = _xp_of(x).arange(n)
    return getitem(x, (Ellipsis, ar, ar))


def _diag_embed(v):
    """Diagonal matrices from a stack of vectors (..., n) -> (..., n, n)."""
    n = shape(v)[-1]
    return where(_eye(n, v), expand_dims(v, -2), 0.0)


def _trace(x):
    return _sum(_diag(x), axis=-1)


def _safe_reciprocal_offdiag(d):
    """1/d off the diagonal, 0 on it (the diagonal of d is never divided by)."""
    n = shape(d)[-1]
    eye = _eye(n, d)
    return where(eye, 0.0, reciprocal(where(eye, 1.0, d)))


def _as_float(a, op):
    """Integer and boolean inputs are computed in float64, as NumPy does."""
    if not isinstance(a, Tracer) and not hasattr(a, "dtype"):
        a = _xp_of(a).asarray(a)
    if _dtype(a).kind not in "fc":
        from .misc import astype

        a = astype(a, _np.float64)
    return a


def _square(a, op):
    a = _as_float(a, op)
    s = shape(a)
    if len(s) < 2:
        raise OpError(
            f"linalg.{op}: {len(s)}-dimensional array given; the array must be at least "
            "two-dimensional"
        )
    if s[-1] != s[-2]:
        raise OpError(f"linalg.{op}: last 2 dimensions of the array must be square, got {s}")
    return a


def _matrix(a, op):
    a = _as_float(a, op)
    if len(shape(a)) < 2:
        raise OpError(
            f"linalg.{op}: {len(shape(a))}-dimensional array given; the array must be at "
            "least two-dimensional"
        )
    return a


def _same_batch(prim):
    """vmap rule of a one-argument stacked primitive: the batch is one more leading axis."""

    def rule(vals, batched, size, **params):
        return prim.bind(vals[0], **params)

    return rule


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


def _tri_from(t, uplo):
    r"""The Hermitian matrix NumPy reads from one triangle of ``t``: the strict triangle
    ``uplo``, its conjugate mirrored, and the real part of the diagonal."""
    n = shape(t)[-1]
    low = _lower(n, t)
    up = _mT(low)
    keep, mirror = (low, up) if uplo == "L" else (up, low)
    return where(keep, t, where(mirror, _H(t), real(t)))


def _tri_from_T(g, uplo):
    """Transpose of :func:`_tri_from` under the Re-sum pairing."""
    n = shape(g)[-1]
    low = _lower(n, g)
    keep = low if uplo == "L" else _mT(low)
    return where(keep, add(g, _H(g)), where(_eye(n, g), real(g), 0.0))


# ------------------------------------------------------------------ inv
inv_p = Primitive(
    "linalg_inv",
    _extensible(
        INV, "(a) -> the inverse of each matrix of a (..., n, n)", lambda xp, a: xp.linalg.inv(a)
    ),
    tangent=(lambda t, ans, a: negative(matmul(matmul(ans, t), ans)),),
    vjp=(lambda ct, ans, a: negative(matmul(matmul(_mT(ans), ct), _mT(ans))),),
    doc=r"""Y = A^{-1}; dY = -Y dA Y, \bar A = -Y^T \bar Y Y^T.""",
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
)


def _lin_parts(a, e):
    b = inv_p.bind(a)
    return b, cofactor_p.bind(a), _trace(matmul(b, e))


_DET_THIRD = (
    "third and higher derivatives of det at an exactly singular matrix are computed with "
    "its inverse, which does not exist (value, gradient and Hessian are exact there)"
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
    differentiated, needs A^{-1}: third derivatives of det at a singular matrix raise.""",
)


_det_impl = _extensible(
    DET, "(a) -> the determinant of each matrix of a", lambda xp, a: xp.linalg.det(a)
)


def _cofactor(a):
    """The cofactor matrix adj(A)^T of a stack. Up to 3x3 the signed minors written out
    with adgraph's operations (polynomials: every derivative exact everywhere, and
    compiled by adgraph.jit's C backend); larger matrices from the SVD (cofactor_p)."""
    n = shape(a)[-1]
    if n == 1:
        from .creation import ones_like

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
    raise ``LinAlgError`` at an exactly singular matrix. Holomorphic for complex ``a``.
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
    ct_sign, ct_log = ct
    g = real(ct_log)
    if _is_complex(a):
        g = add(g, multiply(imag(multiply(ct_sign, ans[0])), 1j))
    return [multiply(expand_dims(g, (-1, -2)), _mT(inv_p.bind(a)))]


slogdet_p = Primitive(
    "linalg_slogdet",
    _slogdet_impl,
    joint_tangent=_slogdet_tangent,
    joint_vjp=_slogdet_vjp,
    multiple_results=True,
    doc=r"""(s, l) with det A = s e^l; with tau = tr(A^{-1} dA): dl = Re tau,
    ds = i s Im tau (0 for real A); \bar A = (\bar l + i Im(\bar s s)) A^{-T}.""",
)
slogdet_p.batch = _same_batch(slogdet_p)


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


# ------------------------------------------------------------------ cholesky
def _phi(x):
    """Strict lower triangle plus half the diagonal."""
    n = shape(x)[-1]
    return where(_lower(n, x), x, where(_eye(n, x), multiply(x, 0.5), 0.0))


def _right_solve_H(y, l):
    """y L^{-H}, as (L^{-1} y^H)^H."""
    return _H(solve_p.bind(l, _H(y)))


def _cholesky_tangent(t, ans, a):
    e = _tri_from(t, "L")
    x = _right_solve_H(solve_p.bind(ans, e), ans)
    return matmul(ans, _phi(x))


def _cholesky_vjp(ct, ans, a):
    xbar = _phi(matmul(_mT(ans), ct))
    w = solve_p.bind(_mT(ans), xbar)
    ebar = _mT(solve_p.bind(_H(ans), _mT(w)))
    return _tri_from_T(ebar, "L")


cholesky_p = Primitive(
    "linalg_cholesky",
    lambda xp, a: xp.linalg.cholesky(a),
    tangent=(_cholesky_tangent,),
    vjp=(_cholesky_vjp,),
    doc=r"""L = chol(A) (lower; A read from its lower triangle);
    dL = L Phi(L^{-1} dA L^{-H}), Phi = strict lower part + half the diagonal.""",
)
cholesky_p.batch = _same_batch(cholesky_p)


@_explained("cholesky")
def cholesky(a, /, *, upper=False):
    r"""Cholesky factor of a Hermitian positive-definite matrix: :math:`A = L L^H` with
    :math:`L` lower triangular (``upper=True``: :math:`A = U^H U`, :math:`U = L^H`).

    Forward mode: :math:`dL = L\,\Phi(L^{-1}\,dA\,L^{-H})`, where :math:`\Phi` keeps the
    strictly lower triangle and half the diagonal. Reverse mode is its transpose:
    :math:`\bar E = L^{-T}\Phi(L^T \bar L)\bar L^{-1}`, folded onto the triangle read.
    As in NumPy only the lower (``upper=True``: upper) triangle of ``a`` is read, so the
    other triangle gets a zero derivative; the diagonal's imaginary part is ignored.
    """
    a = _square(a, "cholesky")
    if upper:
        return _H(cholesky_p.bind(_H(a)))
    return cholesky_p.bind(a)


# ------------------------------------------------------------------ eigh / eigvalsh
def _eigh_impl(xp, a, *, UPLO):
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return (w, v)


def _eig_gaps(w):
    """F[i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    return _safe_reciprocal_offdiag(subtract(expand_dims(w, -2), expand_dims(w, -1)))


def _eigh_tangent(ans, primals, tangents, params):
    w, v = ans
    e = _tri_from(tangents[0], params["UPLO"])
    m = matmul(_H(v), matmul(e, v))
    dw = real(_diag(m))
    dv = matmul(v, multiply(_eig_gaps(w), m))
    return (dw, dv)


def _eigh_vjp(ct, ans, args, params, wanted):
    w, v = ans
    ct_w, ct_v = ct
    k = add(_diag_embed(real(ct_w)), multiply(_eig_gaps(w), matmul(_mT(v), ct_v)))
    ebar = matmul(_conj(v), matmul(k, _mT(v)))
    return [_tri_from_T(ebar, params["UPLO"])]


eigh_p = Primitive(
    "linalg_eigh",
    _eigh_impl,
    joint_tangent=_eigh_tangent,
    joint_vjp=_eigh_vjp,
    multiple_results=True,
    doc=r"""(w, V) with A = V diag(w) V^H; M = V^H dA V: dw = Re diag M,
    dV = V (F o M), F_ij = 1/(w_j - w_i) (0 on the diagonal).""",
)
eigh_p.batch = _same_batch(eigh_p)


def _uplo(UPLO, op):
    u = str(UPLO).upper()
    if u not in ("L", "U"):
        raise OpError(f"linalg.{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return u


@_explained("eigh")
def eigh(a, UPLO="L"):
    r"""Eigenvalues (ascending) and orthonormal eigenvectors of a Hermitian matrix:
    ``(w, V)`` with :math:`A = V \operatorname{diag}(w) V^H`.

    With :math:`M = V^H dA\, V`: :math:`dw = \operatorname{Re}\operatorname{diag} M` (the
    first-order perturbation :math:`v_i^H dA\, v_i`) and :math:`dV = V (F \circ M)`,
    :math:`F_{ij} = 1/(w_j - w_i)` off the diagonal and 0 on it. Reverse mode:
    :math:`\bar A = \bar V \,(\operatorname{diag}\bar w + F \circ V^T \bar V) V^T`
    folded onto the triangle read (``UPLO``; the other triangle gets zero).

    Caveats: eigenvectors are defined up to a sign (a phase for complex input), and this
    derivative picks :math:`\operatorname{Im}\operatorname{diag}(V^H dV) = 0`; only
    functions of ``V`` invariant under that choice (``V diag(f(w)) V^H``, ``|V|**2``)
    have meaningful derivatives. At repeated eigenvalues the eigenvectors are not unique
    and :math:`F` is infinite: derivatives through ``V`` are inf/nan there, while those
    through ``w`` alone (use :func:`eigvalsh`) stay finite.
    """
    a = _square(a, "eigh")
    w, v = eigh_p.bind(a, UPLO=_uplo(UPLO, "eigh"))
    return EighResult(w, v)


def _eigvalsh_tangent(t, ans, a, *, UPLO):
    _, v = eigh_p.bind(a, UPLO=UPLO)
    e = _tri_from(t, UPLO)
    return real(_sum(multiply(_conj(v), matmul(e, v)), axis=-2))


def _eigvalsh_vjp(ct, ans, a, *, UPLO):
    _, v = eigh_p.bind(a, UPLO=UPLO)
    ebar = matmul(multiply(_conj(v), expand_dims(real(ct), -2)), _mT(v))
    return _tri_from_T(ebar, UPLO)


eigvalsh_p = Primitive(
    "linalg_eigvalsh",
    lambda xp, a, *, UPLO: xp.linalg.eigvalsh(a, UPLO=UPLO),
    tangent=(_eigvalsh_tangent,),
    vjp=(_eigvalsh_vjp,),
    doc=r"""w = eigenvalues of Hermitian A; dw_i = Re v_i^H dA v_i,
    \bar A = conj(V) diag(\bar w) V^T (on the triangle read).""",
)
eigvalsh_p.batch = _same_batch(eigvalsh_p)


@_explained("eigvalsh")
def eigvalsh(a, UPLO="L"):
    r"""Eigenvalues (ascending) of a Hermitian matrix.

    :math:`dw_i = \operatorname{Re}(v_i^H\, dA\, v_i)`; reverse mode
    :math:`\bar A = \bar V \operatorname{diag}(\bar w) V^T` (folded onto the triangle
    read). Finite also at repeated eigenvalues (where ``w`` is still continuous; the
    derivative there is one of the one-sided ones).
    """
    a = _square(a, "eigvalsh")
    return eigvalsh_p.bind(a, UPLO=_uplo(UPLO, "eigvalsh"))


# ------------------------------------------------------------------ svd
def _svd_impl(xp, a, *, full_matrices):
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return (u, s, vh)


def _svd_check(a, full_matrices):
    m, n = shape(a)[-2:]
    if full_matrices and m != n:
        raise OpError(
            "linalg.svd: the derivative of full_matrices=True for a non-square matrix is not "
            "defined (the extra singular vectors are arbitrary); use full_matrices=False"
        )


def _svd_gaps(s):
    """F[i, j] = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it."""
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    return _safe_reciprocal_offdiag(multiply(subtract(row, col), add(row, col)))


def _svd_tangent(ans, primals, tangents, params):
    (a,), (da,) = primals, tangents
    _svd_check(a, params["full_matrices"])
    u, s, vh = ans
    m, n = shape(a)[-2:]
    k = min(m, n)
    v = _H(vh)
    dp = matmul(_H(u), matmul(da, v))
    ds = real(_diag(dp))
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    dph = _H(dp)
    ju = multiply(f, add(multiply(dp, row), multiply(col, dph)))
    if _is_complex(a):
        ju = add(ju, _diag_embed(divide(multiply(imag(_diag(dp)), 1j), s)))
    du = matmul(u, ju)
    if m > k:
        dav = matmul(da, v)
        du = add(du, divide(subtract(dav, matmul(u, matmul(_H(u), dav))), row))
    dv = matmul(v, multiply(f, add(multiply(col, dp), multiply(dph, row))))
    if n > k:
        dahu = matmul(_H(da), u)
        dv = add(dv, divide(subtract(dahu, matmul(v, matmul(vh, dahu))), row))
    return (du, ds, _H(dv))


def _svd_vjp(ct, ans, args, params, wanted):
    (a,) = args
    _svd_check(a, params["full_matrices"])
    u, s, vh = ans
    ct_u, ct_s, ct_vh = ct
    m, n = shape(a)[-2:]
    k = min(m, n)
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    vt = _conj(vh)  # V^T
    uu = matmul(_mT(u), ct_u)
    x = multiply(uu, f)
    pbar = add(_diag_embed(real(ct_s)), multiply(add(x, _H(x)), row))
    if _is_complex(a):
        pbar = add(pbar, _diag_embed(divide(multiply(imag(_diag(uu)), 1j), s)))
    y = multiply(matmul(vt, _H(ct_vh)), f)  # (V^T ct_V) o F with ct_V = ct_Vh^H
    pbar = add(pbar, multiply(col, add(y, _H(y))))
    abar = matmul(_conj(u), matmul(pbar, vt))
    if m > k:
        proj = subtract(ct_u, matmul(_conj(u), uu))
        abar = add(abar, matmul(divide(proj, row), vt))
    if n > k:
        proj = subtract(ct_vh, matmul(matmul(ct_vh, _mT(vh)), vt))
        abar = add(abar, matmul(_conj(u), divide(proj, col)))
    return [abar]


svd_p = Primitive(
    "linalg_svd",
    _svd_impl,
    joint_tangent=_svd_tangent,
    joint_vjp=_svd_vjp,
    multiple_results=True,
    doc=r"""(U, S, Vh) with A = U diag(S) Vh; dP = U^H dA V: dS = Re diag dP,
    dU = U(F o (dP S + S dP^H) + i Im diag(dP) S^{-1}) + (I - UU^H) dA V S^{-1},
    dV = V(F o (S dP + dP^H S)) + (I - VV^H) dA^H U S^{-1}, F_ij = 1/(s_j^2 - s_i^2).""",
)
svd_p.batch = _same_batch(svd_p)


def _svdvals_tangent(t, ans, a):
    u, _, vh = svd_p.bind(a, full_matrices=False)
    return real(_sum(multiply(_conj(u), matmul(t, _H(vh))), axis=-2))


def _svdvals_vjp(ct, ans, a):
    u, _, vh = svd_p.bind(a, full_matrices=False)
    return matmul(multiply(_conj(u), expand_dims(real(ct), -2)), _conj(vh))


svdvals_p = Primitive(
    "linalg_svdvals",
    lambda xp, a: xp.linalg.svd(a, compute_uv=False),
    tangent=(_svdvals_tangent,),
    vjp=(_svdvals_vjp,),
    doc=r"""S = singular values of A; dS_i = Re u_i^H dA v_i, \bar A = conj(U) diag(\bar S) V^T.""",
)
svdvals_p.batch = _same_batch(svdvals_p)


@_explained("svd")
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    r"""Singular value decomposition ``(U, S, Vh)``: :math:`A = U \operatorname{diag}(S)
    V^H` with ``Vh`` :math:`= V^H` and ``S`` descending.

    With :math:`dP = U^H dA\, V` and :math:`F_{ij} = 1/(s_j^2 - s_i^2)` (0 on the
    diagonal):

    * :math:`dS = \operatorname{Re}\operatorname{diag}(dP)`;
    * :math:`dU = U\,(F\circ(dP\,S + S\,dP^H) + i\operatorname{Im}\operatorname{diag}(dP)
      S^{-1}) + (I - UU^H)\,dA\,V S^{-1}`;
    * :math:`dV = V\,(F\circ(S\,dP + dP^H S)) + (I - VV^H)\,dA^H U S^{-1}`.

    Reverse mode is the exact transpose of this map. Singular vectors are defined up to a
    common sign (phase) per pair :math:`(u_i, v_i)`; the rule puts the phase change in
    :math:`U`, so only gauge-invariant functions (``U @ Vh``, ``|U|**2``, ``A`` itself)
    have meaningful derivatives through them. **Repeated singular values**: the singular
    vectors are not unique there and :math:`F` is infinite, so derivatives through ``U``
    and ``Vh`` are inf/nan; so are they at zero singular values of a non-square matrix.
    ``S`` alone (``compute_uv=False``, :func:`svdvals`) stays finite: its derivative is
    :math:`\bar A = \bar U \operatorname{diag}(\bar S) V^T`.

    ``full_matrices=True`` is NumPy's default; its extra columns of a non-square ``U`` or
    rows of ``Vh`` are arbitrary, so differentiating it raises -- use
    ``full_matrices=False`` (the same for square matrices). ``hermitian=True`` computes
    the general SVD (the same result for Hermitian input).
    """
    a = _matrix(a, "svd")
    if not compute_uv:
        return svdvals_p.bind(a)
    u, s, vh = svd_p.bind(a, full_matrices=bool(full_matrices))
    return SVDResult(u, s, vh)


@_explained("svdvals")
def svdvals(x, /):
    r"""Singular values (descending) of a (stack of) matrices.

    :math:`dS_i = \operatorname{Re}(u_i^H\, dA\, v_i)`; reverse mode
    :math:`\bar A = \bar U \operatorname{diag}(\bar S) V^T`. Finite at repeated singular
    values.
    """
    return svdvals_p.bind(_matrix(x, "svdvals"))


# ------------------------------------------------------------------ qr
def _qr_impl(xp, a, *, mode):
    q, r = xp.linalg.qr(a, mode=mode)
    return (q, r)


def _qr_check(a, mode):
    m, n = shape(a)[-2:]
    if mode == "complete" and m != n:
        raise OpError(
            "linalg.qr: the derivative of mode='complete' for a non-square matrix is not "
            "defined (the extra columns of Q are arbitrary); use mode='reduced'"
        )


def _qr_omega(c):
    """The skew-Hermitian part of C = Q^H dA R^{-1} that belongs to Q^H dQ."""
    n = shape(c)[-1]
    low = _lower(n, c)
    diag = multiply(imag(c), 1j) if _is_complex(c) else 0.0
    return where(low, c, where(_mT(low), negative(_H(c)), diag))


def _qr_omega_T(g):
    n = shape(g)[-1]
    diag = multiply(imag(g), 1j) if _is_complex(g) else 0.0
    return where(_lower(n, g), subtract(g, _H(g)), where(_eye(n, g), diag, 0.0))


def _right_solve(y, r):
    """y R^{-1}, as (R^{-T} y^T)^T."""
    return _mT(solve_p.bind(_mT(r), _mT(y)))


def _qr_tangent(ans, primals, tangents, params):
    (a,), (da,) = primals, tangents
    _qr_check(a, params["mode"])
    q, r = ans
    g = _right_solve(da, r)
    c = matmul(_H(q), g)
    om = _qr_omega(c)
    dq = add(matmul(q, subtract(om, c)), g)
    dr = matmul(subtract(c, om), r)
    return (dq, dr)


def _qr_vjp(ct, ans, args, params, wanted):
    (a,) = args
    _qr_check(a, params["mode"])
    q, r = ans
    ct_q, ct_r = ct
    qq = matmul(_mT(q), ct_q)
    rr = matmul(ct_r, _mT(r))
    cbar = add(subtract(rr, qq), _qr_omega_T(subtract(qq, rr)))
    gbar = add(ct_q, matmul(_conj(q), cbar))
    return [_mT(solve_p.bind(r, _mT(gbar)))]


qr_p = Primitive(
    "linalg_qr",
    _qr_impl,
    joint_tangent=_qr_tangent,
    joint_vjp=_qr_vjp,
    multiple_results=True,
    doc=r"""(Q, R) with A = QR (M >= N); C = Q^H dA R^{-1}, Omega = its skew-Hermitian
    lower part: dQ = Q(Omega - C) + dA R^{-1}, dR = (C - Omega) R.""",
)
qr_p.batch = _same_batch(qr_p)


@_explained("qr")
def qr(a, mode="reduced"):
    r"""QR decomposition :math:`A = QR`, ``Q`` with orthonormal columns and ``R`` upper
    triangular (``mode`` ``'reduced'``, ``'complete'`` or ``'r'``).

    For :math:`M \ge N`, with :math:`C = Q^H dA\, R^{-1}` and :math:`\Omega` the
    skew-Hermitian matrix with the strictly lower triangle of :math:`C` (and
    :math:`i\operatorname{Im}\operatorname{diag} C`, as the diagonal of ``R`` is real):
    :math:`dQ = Q(\Omega - C) + dA\, R^{-1}`, :math:`dR = (C - \Omega) R`. Reverse mode is
    the exact transpose. A wide matrix (:math:`M < N`) is split as :math:`[X \mid Y]`:
    :math:`Q, R_X = \operatorname{qr}(X)`, :math:`R = [R_X \mid Q^H Y]`. The derivative
    needs a full-rank leading block (:math:`R` invertible). ``mode='complete'`` of a
    non-square matrix cannot be differentiated (its extra columns are arbitrary).
    """
    a = _matrix(a, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise OpError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = shape(a)[-2:]
    if m < n and isinstance(a, Tracer):
        q, r1 = qr_p.bind(getitem(a, (Ellipsis, slice(None), slice(0, m))), mode="reduced")
        r2 = matmul(_H(q), getitem(a, (Ellipsis, slice(None), slice(m, None))))
        r = concatenate([r1, r2], axis=-1)
    else:
        q, r = qr_p.bind(a, mode="reduced" if mode == "r" else mode)
    if mode == "r":
        return r
    return QRResult(q, r)


# ------------------------------------------------------------------ pinv
def _pinv_impl(xp, a, *, rcond):
    if rcond is None:
        return xp.linalg.pinv(a)
    return xp.linalg.pinv(a, rcond=rcond)


def _pinv_tangent(t, ans, a, *, rcond):
    x = ans
    th = _H(t)
    xh = _H(x)
    term1 = negative(matmul(matmul(x, t), x))
    term2 = matmul(x, matmul(xh, subtract(th, matmul(matmul(th, a), x))))
    term3 = matmul(subtract(th, matmul(x, matmul(a, th))), matmul(xh, x))
    return add(add(term1, term2), term3)


def _pinv_vjp(ct, ans, a, *, rcond):
    x = ans
    cth = _H(ct)
    xc, ac = _conj(x), _conj(a)
    term1 = negative(matmul(matmul(_mT(x), ct), _mT(x)))
    term2 = matmul(subtract(cth, matmul(ac, matmul(xc, cth))), matmul(xc, _mT(x)))
    term3 = matmul(matmul(_mT(x), xc), subtract(cth, matmul(matmul(cth, xc), ac)))
    return add(add(term1, term2), term3)


pinv_p = Primitive(
    "linalg_pinv",
    _pinv_impl,
    tangent=(_pinv_tangent,),
    vjp=(_pinv_vjp,),
    doc=r"""X = A^+; dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X
    (constant rank).""",
)
pinv_p.batch = _same_batch(pinv_p)


@_explained("pinv")
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    r"""Moore-Penrose pseudo-inverse :math:`A^+` (singular values below
    ``rcond * max(S)`` are treated as zero).

    Golub and Pereyra's formula, valid where the rank is locally constant:
    :math:`dA^+ = -A^+ dA\, A^+ + A^+ A^{+H} dA^H (I - A A^+) + (I - A^+ A)\, dA^H
    A^{+H} A^+`; reverse mode is its transpose. ``hermitian=True`` computes the general
    pseudo-inverse (the same for Hermitian input).
    """
    if rtol is not None:
        if rcond is not None:
            raise OpError("linalg.pinv: give rcond or rtol, not both")
        rcond = rtol
    a = _matrix(a, "pinv")
    return pinv_p.bind(a, rcond=None if rcond is None else _cutoff(rcond, "pinv"))


def _cutoff(rcond, op):
    """``rcond`` as a Python float (a constant: the rank is not differentiated)."""
    if isinstance(rcond, Tracer):
        raise OpError(f"linalg.{op}: rcond must be a concrete number, not a traced value")
    try:
        return float(rcond)
    except (TypeError, ValueError):
        raise OpError(f"linalg.{op}: rcond must be a real number, got {rcond!r}") from None


# ------------------------------------------------------------------ lstsq
@_explained("lstsq")
def lstsq(a, b, rcond=None):
    r"""Least-squares solution of :math:`A x \approx b`: ``(x, residuals, rank, s)`` as in
    NumPy (``a`` of shape ``(M, N)``, ``b`` of shape ``(M,)`` or ``(M, K)``).

    ``x = pinv(a, rcond) @ b``, differentiated through :func:`pinv`
    (:math:`dx = dA^+\, b + A^+ db`, constant rank); ``residuals`` is
    :math:`\sum |b - Ax|^2` per column when the rank is :math:`N < M` (else empty), ``s``
    the singular values (see :func:`svdvals`), ``rank`` an integer (no derivative).
    Singular values below ``rcond * max(s)`` count as zero; the default ``rcond`` is
    machine epsilon times :math:`\max(M, N)`.
    """
    a = _as_float(a, "lstsq")
    b = _as_float(b, "lstsq")
    sa, sb = shape(a), shape(b)
    if len(sa) != 2:
        raise OpError(f"linalg.lstsq: a must be two-dimensional, got shape {sa}")
    if len(sb) not in (1, 2) or sb[0] != sa[0]:
        raise OpError(f"linalg.lstsq: b of shape {sb} does not match a of shape {sa}")
    m, n = sa
    if not (isinstance(a, Tracer) or isinstance(b, Tracer)):
        xp = module_of(a)
        return LstsqResult(*xp.linalg.lstsq(a, b, rcond=rcond))
    dt = _np.result_type(_dtype(a), _dtype(b))
    if rcond is None:
        rcond = _np.finfo(dt).eps * max(m, n)
    rcond = _cutoff(rcond, "lstsq")
    x = matmul(pinv_p.bind(a, rcond=rcond), b)
    s = svdvals_p.bind(a)
    if min(m, n) == 0:
        rank = 0
    else:
        rank = _sum(greater(s, multiply(_max(s), rcond)))
        if not isinstance(rank, Tracer):
            rank = int(rank)
    rank_val = rank.primal_value() if isinstance(rank, Tracer) else rank
    if m > n and bool(module_of(rank_val).all(module_of(rank_val).asarray(rank_val) == n)):
        r = subtract(b, matmul(a, x))
        res = _sum(power(_abs(r), 2), axis=0)
        if len(sb) == 1:
            res = reshape(res, (1,))
    else:
        res = _xp_of(a).zeros((0,), dtype=_np.finfo(dt).dtype)
    return LstsqResult(x, res, rank, s)


# ------------------------------------------------------------------ matrix_power / multi_dot
@_explained("matrix_power")
def matrix_power(a, n):
    r""":math:`A^n` for an integer ``n`` by repeated squaring (``n < 0``: powers of
    :math:`A^{-1}`; ``n = 0``: the identity, a constant).

    A composition of :func:`matmul` and :func:`inv`, so
    :math:`d(A^n) = \sum_{k=0}^{n-1} A^k\, dA\, A^{n-1-k}`.
    """
    if not isinstance(n, (int, _np.integer)) or isinstance(n, bool):
        raise TypeError("linalg.matrix_power: exponent must be an integer")
    a = _square(a, "matrix_power")
    n = int(n)
    if n == 0:
        m = shape(a)[-1]
        eye = _xp_of(a).eye(m, dtype=_dtype(a))
        return _xp_of(a).broadcast_to(eye, shape(a)).copy()
    if n < 0:
        a = inv(a)
        n = -n
    result = None
    base = a
    while True:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = matmul(base, base)


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain (dims[i] x dims[i+1] matrices)."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            best = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, s
            cost[i][j] = best
    return split


def multi_dot(arrays, *, out=None):
    r"""The product of a chain of matrices, evaluated in the cheapest order (the first
    array may be a 1-D row vector, the last a 1-D column vector).

    A composition of :func:`matmul`: the derivative of
    :math:`A_1 \cdots A_k` in :math:`A_i` is
    :math:`A_1\cdots A_{i-1}\, dA_i\, A_{i+1}\cdots A_k`.
    """
    if out is not None:
        raise OpError("linalg.multi_dot: out= is not supported (adgraph arrays are immutable)")
    arrays = [_as_float(x, "multi_dot") for x in arrays]
    if len(arrays) < 2:
        raise OpError("linalg.multi_dot: expecting at least two arrays")
    first, last = arrays[0], arrays[-1]
    squeeze_first = len(shape(first)) == 1
    squeeze_last = len(shape(last)) == 1
    if squeeze_first:
        arrays[0] = reshape(first, (1, shape(first)[0]))
    if squeeze_last:
        arrays[-1] = reshape(last, (shape(last)[0], 1))
    for x in arrays:
        if len(shape(x)) != 2:
            raise OpError(
                f"linalg.multi_dot: arrays must be 2-dimensional (1-D at the ends), got shape "
                f"{shape(x)}"
            )
    dims = [shape(arrays[0])[0]] + [shape(x)[1] for x in arrays]
    split = _chain_order(dims)

    def prod(i, j):
        if i == j:
            return arrays[i]
        s = split[i][j]
        return matmul(prod(i, s), prod(s + 1, j))

    res = prod(0, len(arrays) - 1)
    rs = shape(res)
    if squeeze_first and squeeze_last:
        return reshape(res, ())
    if squeeze_first:
        return reshape(res, rs[1:])
    if squeeze_last:
        return reshape(res, rs[:1])
    return res


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


def _norm2_tangent(t, ans, x, *, axis, keepdims):
    dot = real(multiply(_conj(x), t))
    return divide(_sum(dot, axis=axis, keepdims=keepdims), _safe(ans))


def _norm2_vjp(ct, ans, x, *, axis, keepdims):
    g = _kept(divide(ct, _safe(ans)), shape(x), axis, keepdims)
    return multiply(g, _conj(x))


def _norm2_batch(vals, batched, size, *, axis, keepdims):
    return norm2_p.bind(vals[0], axis=tuple(a + 1 for a in axis), keepdims=keepdims)


norm2_p = Primitive(
    "linalg_norm2",
    _norm2_impl,
    tangent=(_norm2_tangent,),
    vjp=(_norm2_vjp,),
    batch=_norm2_batch,
    doc=r"""y = sqrt(sum |x|^2) over axes; dy = Re(sum conj(x) dx) / y,
    \bar x = \bar y conj(x) / y, both 0 at y = 0.""",
)


def _vector_norm(x, ord, axes, keepdims):
    if ord is None or ord == 2:
        return norm2_p.bind(x, axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise OpError(f"linalg.norm: invalid norm order {ord!r} for vectors")
    ax = axes if len(axes) != 1 else axes[0]
    if ord == _np.inf:
        return _max(_abs(x), axis=ax, keepdims=keepdims)
    if ord == -_np.inf:
        return _min(_abs(x), axis=ax, keepdims=keepdims)
    if ord == 0:
        from .misc import astype

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
            y = _max(s, axis=-1)
        else:
            y = _min(s, axis=-1)
    elif ord in (1, -1, _np.inf, -_np.inf):
        red = _max if ord in (1, _np.inf) else _min
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        col_sums = _sum(_abs(x), axis=inner)
        y = red(col_sums, axis=outer - 1 if outer > inner else outer)
    else:
        raise OpError(f"linalg.norm: invalid norm order {ord!r} for matrices")
    if keepdims:
        s = list(shape(x))
        s[r] = s[c] = 1
        y = reshape(y, tuple(s))
    return y


def _norm_axes(axis, nd, op):
    from ._util import norm_axis

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
    if p is None or p == 2 or p == -2:
        s = svdvals_p.bind(x)
        first = getitem(s, (Ellipsis, 0))
        last = getitem(s, (Ellipsis, -1))
        return divide(last, first) if p == -2 else divide(first, last)
    x = _square(x, "cond")
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


# ------------------------------------------------------------------ small helpers
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


def matrix_transpose(x, /):
    """Transpose of the last two axes (a linear map: its transpose is itself)."""
    if len(shape(x)) < 2:
        raise OpError("linalg.matrix_transpose: input must have at least 2 dimensions")
    return _mT(x)


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
