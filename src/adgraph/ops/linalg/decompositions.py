r"""The decompositions and what is computed from them: cholesky, eigh, eigvalsh, svd,
svdvals, qr, pinv, and lstsq (through pinv)."""

from __future__ import annotations

from collections import namedtuple

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from ...ad.common import takes_symbolic_zeros
from ...ad.sparsity import stack_rule
from ...ad.taylor import RULES as _TAYLOR
from ...core.primitive import Primitive
from ...core.trace import Tracer
from ...core.xp import module_of
from .._util import OpError, shape
from ..elementwise import abs as _abs
from ..elementwise import (
    add,
    divide,
    equal,
    greater,
    imag,
    multiply,
    negative,
    power,
    real,
    subtract,
    where,
)
from ..indexing import getitem
from ..joining import concatenate
from ..products import matmul
from ..reductions import all as _all
from ..reductions import max as _max
from ..reductions import sum as _sum
from ..shapes import expand_dims, reshape
from ._common import (
    _H,
    LinAlgError,
    _as_float,
    _conj,
    _diag,
    _diag_embed,
    _dtype,
    _explained,
    _eye,
    _gap_scale,
    _is_complex,
    _jit_tracer,
    _lower,
    _matrix,
    _mT,
    _safe_reciprocal_offdiag,
    _same_batch,
    _square,
    _xp_of,
    value_check,
)
from .lu import solve_p

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
_EPS = float(_np.finfo(float).eps)

SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])
LstsqResult = namedtuple("LstsqResult", ["x", "residuals", "rank", "s"])


# ------------------------------------------------------------------ triangles read
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


def _plus(a, b):
    """a + b where None is a symbolic zero."""
    return b if a is None else a if b is None else add(a, b)


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
    sparsity=stack_rule(2, 2),
    taylor=_TAYLOR["linalg_cholesky"],
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
    n = shape(w)[-1]
    return _safe_reciprocal_offdiag(
        subtract(expand_dims(w, -2), expand_dims(w, -1)), _gap_scale(w), 64 * n * _EPS
    )


def _eigh_tangent(ans, primals, tangents, params):
    w, v = ans
    e = _tri_from(tangents[0], params["UPLO"])
    m = matmul(_H(v), matmul(e, v))
    dw = real(_diag(m))
    dv = matmul(v, multiply(_eig_gaps(w), m))
    return (dw, dv)


def _eigh_vjp(ct, ans, args, params, wanted):
    w, v = ans
    ct_w, ct_v = ct  # None: that output unused (a symbolic zero: its term is skipped)
    k = None if ct_w is None else _diag_embed(real(ct_w))
    if ct_v is not None:  # the gaps F are infinite at repeated eigenvalues
        k = _plus(k, multiply(_eig_gaps(w), matmul(_mT(v), ct_v)))
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
    sparsity=stack_rule(2, (1, 2)),
)
eigh_p.batch = _same_batch(eigh_p)
takes_symbolic_zeros(eigh_p)


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
    and :math:`F` is infinite: derivatives through ``V`` are inf/nan there, while first
    derivatives through ``w`` alone (use :func:`eigvalsh`) stay finite; second ones go
    through ``V`` and are nan. A gap within rounding (64 n eps max|w|) counts as repeated.
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
    sparsity=stack_rule(2, 1),
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
    big = _gap_scale(s)
    return _safe_reciprocal_offdiag(
        multiply(subtract(row, col), add(row, col)), multiply(big, big), 128 * shape(s)[-1] * _EPS
    )


def _svd_tangent(ans, primals, tangents, params):
    (a,), (da,) = primals, tangents
    u, s, vh = ans
    m, n = shape(a)[-2:]
    k = min(m, n)
    if params["full_matrices"] and m != n:
        # The extra columns of U (rows of Vh) are arbitrary: their tangent does not exist
        # (nan), while S's and the first k singular vectors' do.
        u_k = getitem(u, (Ellipsis, slice(None), slice(0, k)))
        vh_k = getitem(vh, (Ellipsis, slice(0, k), slice(None)))
        du, ds, dvh = _svd_tangent((u_k, s, vh_k), primals, tangents, {"full_matrices": False})
        xp, dt = _xp_of(a), _dtype(u)
        if m > k:
            pad = xp.full(shape(du)[:-1] + (m - k,), _np.nan, dtype=dt)
            du = concatenate([du, pad], axis=-1)
        else:
            pad = xp.full(shape(dvh)[:-2] + (n - k, n), _np.nan, dtype=dt)
            dvh = concatenate([dvh, pad], axis=-2)
        return (du, ds, dvh)
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
    u, s, vh = ans
    ct_u, ct_s, ct_vh = ct  # None: that output unused (its terms are skipped)
    m, n = shape(a)[-2:]
    k = min(m, n)
    if ct_u is None and ct_vh is None:  # S alone: defined for full_matrices=True too
        u = getitem(u, (Ellipsis, slice(None), slice(0, k)))
        vh = getitem(vh, (Ellipsis, slice(0, k), slice(None)))
        return [matmul(multiply(_conj(u), expand_dims(real(ct_s), -2)), _conj(vh))]
    _svd_check(a, params["full_matrices"])
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    vt = _conj(vh)  # V^T
    pbar = None if ct_s is None else _diag_embed(real(ct_s))
    if ct_u is not None or ct_vh is not None:  # F is infinite at repeated values
        f = _svd_gaps(s)
    if ct_u is not None:
        uu = matmul(_mT(u), ct_u)
        x = multiply(uu, f)
        pbar = _plus(pbar, multiply(add(x, _H(x)), row))
        if _is_complex(a):
            pbar = add(pbar, _diag_embed(divide(multiply(imag(_diag(uu)), 1j), s)))
    if ct_vh is not None:
        y = multiply(matmul(vt, _H(ct_vh)), f)  # (V^T ct_V) o F with ct_V = ct_Vh^H
        pbar = _plus(pbar, multiply(col, add(y, _H(y))))
    abar = matmul(_conj(u), matmul(pbar, vt))
    if m > k and ct_u is not None:
        proj = subtract(ct_u, matmul(_conj(u), uu))
        abar = add(abar, matmul(divide(proj, row), vt))
    if n > k and ct_vh is not None:
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
    sparsity=stack_rule(2, (2, 1, 2)),
)
svd_p.batch = _same_batch(svd_p)
takes_symbolic_zeros(svd_p)


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
    sparsity=stack_rule(2, 1),
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
    and ``Vh`` are inf/nan (a gap within rounding counts as repeated); so are they at zero
    singular values of a non-square matrix.
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


def _full_rank_impl(xp, r):
    """``r`` unchanged, once it passed the check: a triangular factor with a diagonal
    entry below ``n eps`` times its largest (the matrix is rank-deficient to working
    precision) is refused, where the rules' :math:`R^{-1}` would give numbers of order
    :math:`1/\varepsilon` instead of a derivative (Q is not unique there). A primitive, so
    that a compiled program checks each matrix it runs on."""
    if xp is not _np or r.size == 0:  # CuPy/Dask: the check would synchronise
        return r
    d = _np.abs(_np.diagonal(r, axis1=-2, axis2=-1))
    n = d.shape[-1]
    top = d.max(axis=-1)
    eps = _np.finfo(r.dtype).eps
    if _np.any(d.min(axis=-1) <= n * eps * top):
        raise LinAlgError(
            "linalg.qr: the matrix is rank-deficient to working precision (a diagonal entry "
            "of R is below n eps times the largest), where Q and R are not differentiable "
            "(Q's columns past the rank are not determined by A); the derivative exists for "
            "matrices of full column rank"
        )
    return r


# R itself, after the check
_full_rank_p = value_check(
    "linalg_qr_full_rank",
    _full_rank_impl,
    "R, after checking that the matrix has full column rank to working precision.",
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
    r = _full_rank_p.bind(r)
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
    r = _full_rank_p.bind(r)
    ct_q, ct_r = ct  # None: that output unused
    d = None  # R-bar R^T - Q^T Q-bar
    if ct_r is not None:
        d = matmul(ct_r, _mT(r))
    if ct_q is not None:
        d = _plus(d, negative(matmul(_mT(q), ct_q)))
    cbar = subtract(d, _qr_omega_T(d))
    gbar = _plus(ct_q, matmul(_conj(q), cbar))
    return [_mT(solve_p.bind(r, _mT(gbar)))]


qr_p = Primitive(
    "linalg_qr",
    _qr_impl,
    joint_tangent=_qr_tangent,
    joint_vjp=_qr_vjp,
    multiple_results=True,
    doc=r"""(Q, R) with A = QR (M >= N); C = Q^H dA R^{-1}, Omega = its skew-Hermitian
    lower part: dQ = Q(Omega - C) + dA R^{-1}, dR = (C - Omega) R.""",
    sparsity=stack_rule(2, 2),
)
qr_p.batch = _same_batch(qr_p)
takes_symbolic_zeros(qr_p)


@_explained("qr")
def qr(a, mode="reduced"):
    r"""QR decomposition :math:`A = QR`, ``Q`` with orthonormal columns and ``R`` upper
    triangular (``mode`` ``'reduced'``, ``'complete'`` or ``'r'``; ``'raw'`` gives
    NumPy's Householder form for plain arrays and refuses traced ones).

    For :math:`M \ge N`, with :math:`C = Q^H dA\, R^{-1}` and :math:`\Omega` the
    skew-Hermitian matrix with the strictly lower triangle of :math:`C` (and
    :math:`i\operatorname{Im}\operatorname{diag} C`, as the diagonal of ``R`` is real):
    :math:`dQ = Q(\Omega - C) + dA\, R^{-1}`, :math:`dR = (C - \Omega) R`. Reverse mode is
    the exact transpose. A wide matrix (:math:`M < N`) is split as :math:`[X \mid Y]`:
    :math:`Q, R_X = \operatorname{qr}(X)`, :math:`R = [R_X \mid Q^H Y]`. The derivative
    needs a full-rank leading block (:math:`R` invertible): at a matrix that is
    rank-deficient to working precision it is refused with ``LinAlgError`` (also each call
    of a compiled derivative), as :math:`Q` is not determined there. ``mode='complete'`` of a
    non-square matrix cannot be differentiated (its extra columns are arbitrary).
    """
    a = _matrix(a, "qr")
    if mode == "raw":  # LAPACK's Householder form: NumPy's values, no derivative
        if isinstance(a, Tracer):
            raise OpError(
                "linalg.qr: mode='raw' (Householder reflectors and their scalars) has no "
                "derivative; use mode='reduced' or 'complete'"
            )
        return _xp_of(a).linalg.qr(a, mode="raw")
    if mode not in ("reduced", "complete", "r"):
        raise OpError(f"linalg.qr: mode must be 'reduced', 'complete', 'r' or 'raw', got {mode!r}")
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


def _projectors(a, x):
    """I - A X and I - X A, each squared (the same projectors, as A X A = A): where one
    vanishes (A of full rank) its rounding, ~eps cond(A), drops to ~(eps cond(A))^2. The
    unsquared ones, multiplied by X X^H ~ cond(A)^2, left second derivatives
    ~eps cond(A)^2 off: 4% at cond(A) = 1e6."""
    m, n = shape(a)[-2:]
    p = subtract(_eye_like(a, m), matmul(a, x))
    q = subtract(_eye_like(a, n), matmul(x, a))
    return matmul(p, p), matmul(q, q)


def _eye_like(a, k):
    dt = _np.result_type(_dtype(a), _np.float64)
    return _xp_of(a).eye(k, dtype=dt)


def _pinv_tangent(t, ans, a, *, rcond):
    x = ans
    th = _H(t)
    xh = _H(x)
    p, q = _projectors(a, x)
    term1 = negative(matmul(matmul(x, t), x))
    term2 = matmul(x, matmul(xh, matmul(th, p)))
    term3 = matmul(matmul(q, th), matmul(xh, x))
    return add(add(term1, term2), term3)


def _pinv_vjp(ct, ans, a, *, rcond):
    x = ans
    cth = _H(ct)
    xc = _conj(x)
    p, q = _projectors(a, x)
    term1 = negative(matmul(matmul(_mT(x), ct), _mT(x)))
    term2 = matmul(matmul(_conj(p), cth), matmul(xc, _mT(x)))
    term3 = matmul(matmul(_mT(x), xc), matmul(cth, _conj(q)))
    return add(add(term1, term2), term3)


pinv_p = Primitive(
    "linalg_pinv",
    _pinv_impl,
    tangent=(_pinv_tangent,),
    vjp=(_pinv_vjp,),
    doc=r"""X = A^+; dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X
    (constant rank).""",
    sparsity=stack_rule(2, 2),
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
    # residuals exist at full column rank only (their shape depends on it): under
    # adgraph.jit the rank is compared with its operations, so that the compiled program
    # checks it each run (a comparison made while tracing gave residuals of a rank-
    # deficient matrix given later, which has none)
    jt = _jit_tracer(rank)
    if jt is not None:
        full = bool(_all(equal(jt, n)))
    else:
        rank_val = rank.primal_value() if isinstance(rank, Tracer) else rank
        full = bool(module_of(rank_val).all(module_of(rank_val).asarray(rank_val) == n))
    if m > n and full:
        r = subtract(b, matmul(a, x))
        res = _sum(power(_abs(r), 2), axis=0)
        if len(sb) == 1:
            res = reshape(res, (1,))
    else:
        res = _xp_of(a).zeros((0,), dtype=_np.finfo(dt).dtype)
    return LstsqResult(x, res, rank, s)
