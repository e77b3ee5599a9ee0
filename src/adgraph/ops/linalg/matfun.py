r"""Matrix functions and the factorisations SciPy adds to NumPy's: expm, logm, sqrtm,
solve_sylvester, lu, schur and hessenberg.

The matrix functions :math:`F(A)` (``expm``, ``logm``, ``sqrtm``,
``fractional_matrix_power``) are primary matrix
functions, and their Fréchet derivative :math:`L_F(A, E)` is the top-right block of
:math:`F` at a block matrix (Mathias 1996; Higham, *Functions of Matrices*, 3.2):

.. math::

    F\left(\begin{bmatrix} A & E \\ 0 & A \end{bmatrix}\right)
    = \begin{bmatrix} F(A) & L_F(A, E) \\ 0 & F(A) \end{bmatrix}.

So the forward rule is the same primitive at twice the size, and every higher derivative
follows. Reverse mode is the transpose under :math:`\langle a, b\rangle =
\operatorname{Re}\sum ab`; as :math:`F(A^T) = F(A)^T` it is :math:`\bar A =
L_F(A^T, \bar F)` (its real part for a real input).

``lu`` (square matrices) has the rules :math:`X = L^{-1} P^T dA\, U^{-1}`,
:math:`dL = L\,\mathrm{tril}_{-1}(X)`, :math:`dU = \mathrm{triu}(X)\, U`;
``solve_sylvester`` (:math:`AX + XB = Q`) :math:`A\,dX + dX\,B = dQ - dA\,X - X\,dB`.
``schur`` and ``hessenberg`` are given without derivatives: their rules raise
:class:`NoDerivativeError` saying why.

These compute with SciPy (``pip install 'adgraph[scipy]'``), imported when first used.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as _np  # dtypes and loops over stack axes of NumPy arrays only

from ...ad.common import takes_symbolic_zeros
from ...ad.rules import nondiff
from ...ad.sparsity import stack_rule
from ...core.primitive import Primitive
from .._util import shape
from ..elementwise import add, negative, real, subtract, where
from ..indexing import getitem
from ..joining import concatenate
from ..products import matmul
from ._common import (
    LinAlgError,
    _derivative_at_singular,
    _dtype,
    _guard_dtype,
    _is_complex,
    _lower,
    _mT,
    _same_batch,
    _xp_of,
)
from .lu import solve_p


def scipy_linalg(op):
    """``scipy.linalg``, or an ImportError naming the function and the extra to install."""
    try:
        import scipy.linalg as sla
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.linalg.{op} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return sla


def _stack_size(a):
    """The number of matrices in the stack ``a`` (..., m, n); -1 in a reshape is
    ambiguous when the matrices are empty."""
    return int(_np.prod(a.shape[:-2], dtype=_np.int64))


def _per_matrix(xp, f, a):
    """``f`` applied to each matrix of the stack ``a`` (..., n, n), results stacked."""
    if a.ndim == 2:
        return f(a)
    flat = a.reshape((_stack_size(a),) + a.shape[-2:])
    outs = [f(m) for m in flat]
    out = _np.stack(outs) if xp is _np else xp.stack(outs)
    return out.reshape(a.shape[:-2] + out.shape[-2:])


# ------------------------------------------------------------------ primary matrix functions
def _block(a, e):
    """[[A, E], [0, A]] for stacks of square matrices."""
    dt = _np.result_type(_dtype(a), _dtype(e))
    z = _xp_of(a).zeros(shape(a), dtype=dt)  # a constant block
    top = concatenate([a, e], axis=-1)
    bottom = concatenate([z, a], axis=-1)
    return concatenate([top, bottom], axis=-2)


def _frechet(prim, a, e, **params):
    """L_F(A, E): the top-right block of F([[A, E], [0, A]]).

    ``n0`` (the size of the matrix first differentiated) and ``real`` (whether it is a
    real matrix) ride along as parameters to every nested block, so that the branch of
    ``logm`` / ``fractional_matrix_power`` is chosen from that matrix's eigenvalues (every
    nested block is block triangular with copies of it, or of its transpose, on the
    diagonal, and its top-left n0 x n0 block is one of them)."""
    n = shape(a)[-1]
    params = dict(params)
    if "n0" not in params:
        params["n0"] = n
        params["real"] = not _is_complex(a)
    big = _guard_dtype(prim.bind(_block(a, e), **params))
    return getitem(big, (Ellipsis, slice(0, n), slice(n, None)))


_BRANCHED = {"logm": "logarithm", "fractional_matrix_power": "power", "sqrtm": "square root"}


def _cut_angle(w, real):
    """The angle c in [-pi, 0) of a branch-cut ray {t e^{ic}, t >= 0} that leaves every
    eigenvalue w on the principal sheet (principal argument > c), centred in the gap
    below the negative real axis; -pi (the principal cut itself) where no rotation helps.
    A real matrix's negative eigenvalues (argument exactly pi) stay on the axis under
    real perturbations, so the principal value there is the limit from above."""
    th = _np.angle(w)
    if real:
        th = _np.where((w.imag == 0) & (w.real < 0), _np.pi, th)
    lo, hi = float(th.max()) - 2 * _np.pi, float(th.min())
    return min(max(0.5 * (lo + hi), -_np.pi), 0.0)


def _ray_distance(z, c):
    """Distances of the points z from the ray {t e^{ic}, t >= 0}."""
    r = z * _np.exp(-1j * c)
    return _np.where(r.real > 0, _np.abs(r.imag), _np.abs(r))


def _branch_refusal(name, why, fix):
    what = _BRANCHED[name]
    return NoDerivativeError(
        f"adgraph.scipy.linalg.{name}: no reliable derivative of the principal matrix "
        f"{what} here: {why}. {fix}"
    )


def _check_branch(name, top, real):
    """Refuses (NoDerivativeError) a matrix at which the principal branch of ``name`` is
    not differentiable: a complex one with an eigenvalue on the negative real axis, a real
    one with a repeated negative eigenvalue. Returns its eigenvalues and which of them lie
    on the negative real axis."""
    if real:
        top = top.real
    w = _np.linalg.eigvals(top).astype(complex)
    eps = _np.finfo(float).eps
    on_axis = (_np.abs(w.imag) <= 8 * eps * _np.abs(w)) & (w.real < 0)
    if not real and on_axis.any():
        lam = complex(w[on_axis][0])
        raise _branch_refusal(
            name,
            f"a complex matrix with the eigenvalue {lam:.6g} on the negative real axis, "
            "where the principal branch is discontinuous",
            "Move the matrix off the branch cut (e.g. differentiate F(-A) or use a "
            "real matrix, whose negative eigenvalues stay real)",
        )
    if real and on_axis.sum() > 1:
        neg = _np.sort(w.real[on_axis])
        close = _np.diff(neg) <= 1e-8 * _np.abs(neg[1:])
        if close.any():
            raise _branch_refusal(
                name,
                f"a real matrix with the repeated negative eigenvalue {neg[1:][close][0]:.6g}, "
                "which real perturbations split into a complex pair on both sides of the "
                "branch cut (the principal branch jumps)",
                "No derivative exists at this matrix",
            )
    return w, on_axis


def _on_branch(name, f, m, args, n0, real):
    """F(M) on the branch of the principal function that is analytic around the
    eigenvalues of the differentiated matrix A (M's top-left n0 x n0 block): the
    principal F of e^{-i psi} M, rotated back, with the cut turned away from the negative
    real axis where a real A has eigenvalues on it. SciPy's principal F of M itself puts
    the Jordan pairs of a block matrix's repeated eigenvalues on both sides of the cut
    there (second derivatives came out ~1e19 wrong).

    Refuses (NoDerivativeError) where the derivative does not exist or where the rounding
    of M's eigenvalues could carry one across the cut."""
    top = _np.asarray(m[:n0, :n0])
    w, on_axis = _check_branch(name, top, real)
    norm = float(_np.abs(top).max(initial=0.0))
    eps = _np.finfo(float).eps
    c = _cut_angle(w, real)
    margin = _ray_distance(w, c)
    if real:  # the negative eigenvalues' distance to the rotated cut
        margin = _np.where(on_axis, _np.abs(w) * _np.sin(c + _np.pi), margin)
    d = float(margin.min(initial=_np.inf))
    b, (scale, _) = scipy_linalg(name).matrix_balance(m, permute=False, separate=True)
    # a block matrix: how far rounding moves the eigenvalues SciPy's F will see. Measured:
    # the derivative's relative error grows like (moved / d)^2 or faster (0.2 at
    # moved / d = 0.15 in reverse-over-reverse), so only 1e-3 passes
    moved = 0.0
    if m.shape[-1] > n0:
        mu = _np.linalg.eigvals(b).astype(complex)
        moved = float(_np.abs(mu[:, None] - w[None, :]).min(axis=1).max())
    if not d > max(1e3 * moved, 64 * eps * max(norm, 1e-300)):
        raise _branch_refusal(
            name,
            f"an eigenvalue lies {d:.3g} from the branch cut or from 0, while the "
            f"block-matrix derivative's rounding moves eigenvalues by {moved:.3g}",
            "Move the matrix away from singular and from the negative real axis "
            "(conditioning there is extreme), or differentiate to a lower order",
        )
    psi = c + _np.pi  # the principal F of e^{-i psi} M has its cut at angle c
    # F(M) = D F(B) D^{-1}, B = D^{-1} M D balanced by a diagonal D of powers of two
    # (exact): SciPy's algorithms do not balance, and a block matrix whose off-diagonal
    # blocks (tangents, cotangents) dwarf its diagonal ones lost the derivative's accuracy
    return (scale[:, None] * _rotated(name, f, b, args, psi)) / scale[None, :]


def _rotated(name, f, m, args, psi):
    """The principal F of e^{-i psi} M, rotated back (F(M) itself for psi = 0)."""
    if psi == 0.0:
        return f(m, *args)
    out = f(_np.exp(-1j * psi) * _np.asarray(m, dtype=complex), *args)
    if name == "logm":
        return out + 1j * psi * _np.eye(m.shape[-1])
    return out * _np.exp(1j * psi * args[0])


def _matfun(name, scipy_name, doc):
    def impl(xp, a, **params):  # power: fractional_matrix_power's; n0, real: _frechet's
        f = getattr(scipy_linalg(name), scipy_name)
        args = (params["power"],) if "power" in params else ()
        n0 = params.get("n0")
        if (
            n0 is None
            or name == "sqrtm"
            or name not in _BRANCHED
            or (args and float(args[0]).is_integer())
        ):
            return _per_matrix(xp, lambda m: f(m, *args), a)
        real = params["real"]
        return _per_matrix(xp, lambda m: _on_branch(name, f, m, args, n0, real), a)

    def tangent(t, ans, a, **params):
        if name == "sqrtm":
            return sylvester_p.bind(ans, ans, _sqrtm_guard(t, a))
        return _frechet(prim, a, t, **params)

    def vjp(ct, ans, a, **params):
        if name == "sqrtm":
            g = sylvester_p.bind(_mT(ans), _mT(ans), _sqrtm_guard(ct, a))
        else:
            g = _frechet(prim, _mT(a), ct, **params)
        return g if _is_complex(a) else real(g)

    prim = Primitive(f"linalg_{name}", impl, tangent=(tangent,), vjp=(vjp,), doc=doc)
    prim.sparsity = stack_rule(2, 2)  # a matrix function of each matrix of a stack
    prim.batch = _same_batch(prim)
    return prim


expm_p = _matfun(
    "expm", "expm", "E = exp(A); dE = L_exp(A, dA), the top-right block of exp([[A, dA], [0, A]])."
)
logm_p = _matfun(
    "logm", "logm", "L = log(A) (principal); dL = top-right block of log([[A, dA], [0, A]])."
)
# sqrtm's derivatives solve S dS + dS S = dA directly: the block form's sqrtm of
# [[A, E], [0, A]] puts a real negative eigenvalue of A in a Jordan block whose computed
# eigenvalues straddle the branch cut (square roots +-ia, sum ~0), so its second
# derivatives (blocks of blocks) came out ~1e15 wrong; the principal roots' sums
# lambda_i + lambda_j never vanish, so the Sylvester form stays well conditioned.
sqrtm_p = _matfun(
    "sqrtm", "sqrtm", "S = A^(1/2) (principal); dS solves S dS + dS S = dA (a Sylvester solve)."
)


def _sqrtm_guard_impl(xp, t, a, *, real):
    """``t`` unchanged, once ``a`` passed the checks of sqrtm's derivative: no complex
    matrix on the branch cut, no repeated negative eigenvalue of a real one, and no
    (numerically) zero eigenvalue, where S dS + dS S = dA is singular."""
    for m in _np.asarray(a).reshape((_stack_size(a),) + a.shape[-2:]):
        w, _ = _check_branch("sqrtm", m, real)
        norm = float(_np.abs(m).max(initial=0.0))
        if w.size and not _np.abs(w).min() > 64 * _np.finfo(float).eps * norm:
            raise _branch_refusal(
                "sqrtm",
                "a singular matrix, where the square root's derivative (S dS + dS S = dA) "
                "does not exist",
                "Shift the matrix away from singular",
            )
    return t


def _sqrtm_guard(t, a):
    return _sqrtm_guard_p.bind(t, a, real=not _is_complex(a))


# identity in t (its derivatives pass through the check again), constant in a
_sqrtm_guard_p = Primitive(
    "linalg_sqrtm_derivative_check",
    _sqrtm_guard_impl,
    joint_tangent=lambda ans, primals, tangents, params: (
        None if tangents[0] is None else _sqrtm_guard_p.bind(tangents[0], primals[1], **params)
    ),
    joint_vjp=lambda ct, ans, args, params, wanted: [
        _sqrtm_guard_p.bind(ct, args[1], **params) if wanted[0] else None,
        None,
    ],
    doc="t, after checking that sqrtm has a derivative at the matrix a (else refuses).",
)


fractional_matrix_power_p = _matfun(
    "fractional_matrix_power",
    "fractional_matrix_power",
    "A^t (principal, t a constant real); d(A^t) = top-right block of [[A, dA], [0, A]]^t.",
)


def frechet(prim, a, e, **params):
    """The Fréchet derivative :math:`L_F(A, E)` of the matrix function primitive ``prim``."""
    return _frechet(prim, a, e, **params)


# ------------------------------------------------------------------ solve_sylvester
def _sylvester_one(a, b, q):
    """X with AX + XB = Q by Bartels--Stewart (SciPy's Schur forms and LAPACK's trsyl, as
    scipy.linalg.solve_sylvester computes it), refusing a singular equation: where A and
    -B share an eigenvalue (to working precision) trsyl perturbs it and returns
    numbers of size 1/eps that solve no equation (SciPy passes them on)."""
    sla = scipy_linalg("solve_sylvester")
    if a.size == 0 or b.size == 0:
        return sla.solve_sylvester(a, b, q)
    from scipy.linalg.lapack import get_lapack_funcs

    r, u = sla.schur(a, output="real")
    t, v = sla.schur(b.conj().T, output="real")
    f = u.conj().T @ q @ v
    (trsyl,) = get_lapack_funcs(("trsyl",), (r, t, f))
    y, scale, info = trsyl(r, t, f, tranb="C")
    if info < 0:
        raise LinAlgError(
            f"adgraph.scipy.linalg.solve_sylvester: illegal value in argument {-info} of trsyl"
        )
    if info == 1:
        raise LinAlgError(
            "adgraph.scipy.linalg.solve_sylvester: AX + XB = Q has no unique solution: A and -B have a common "
            "eigenvalue (to working precision), so the equation is singular. Shift A or B "
            "so that no eigenvalue of A is the negative of one of B"
        )
    return u @ (scale * y) @ v.conj().T


def _sylvester_impl(xp, a, b, q):
    if a.ndim == 2 and b.ndim == 2 and q.ndim == 2:
        return _sylvester_one(a, b, q)
    lead = _np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    a = _np.broadcast_to(a, lead + a.shape[-2:])
    b = _np.broadcast_to(b, lead + b.shape[-2:])
    q = _np.broadcast_to(q, lead + q.shape[-2:])
    out = [
        _sylvester_one(x, y, z)
        for x, y, z in zip(*(m.reshape((_stack_size(m),) + m.shape[-2:]) for m in (a, b, q)))
    ]
    return _np.stack(out).reshape(lead + q.shape[-2:])


def _sylvester_tangent(ans, primals, tangents, params):
    a, b, q = primals
    da, db, dq = tangents
    rhs = dq
    if da is not None:
        rhs = _minus(rhs, matmul(da, ans))
    if db is not None:
        rhs = _minus(rhs, matmul(ans, db))
    return sylvester_p.bind(a, b, rhs)


def _minus(x, y):
    return negative(y) if x is None else subtract(x, y)


def _sylvester_vjp(ct, ans, args, params, wanted):
    a, b, q = args
    qbar = sylvester_p.bind(_mT(a), _mT(b), ct)  # transpose of Q -> X
    abar = negative(matmul(qbar, _mT(ans))) if wanted[0] else None
    bbar = negative(matmul(_mT(ans), qbar)) if wanted[1] else None
    return [abar, bbar, qbar if wanted[2] else None]


sylvester_p = Primitive(
    "linalg_solve_sylvester",
    _sylvester_impl,
    joint_tangent=_sylvester_tangent,
    joint_vjp=_sylvester_vjp,
    doc=r"""X with AX + XB = Q; A dX + dX B = dQ - dA X - X dB; \bar Q solves
    A^T \bar Q + \bar Q B^T = \bar X, \bar A = -\bar Q X^T, \bar B = -X^T \bar Q.""",
    sparsity=stack_rule((2, 2, 2), 2),
)


# ------------------------------------------------------------------ lu
LUResult = namedtuple("LUResult", ["P", "L", "U"])


def _lu_impl(xp, a):
    sla = scipy_linalg("lu")
    if a.ndim == 2:
        return tuple(sla.lu(a))
    flat = a.reshape((_stack_size(a),) + a.shape[-2:])
    parts = [sla.lu(m) for m in flat]
    return tuple(
        _np.stack([p[i] for p in parts]).reshape(a.shape[:-2] + parts[0][i].shape[-2:])
        for i in range(3)
    )


def _tril_strict(x):
    return where(_lower(shape(x)[-1], x), x, 0.0)


def _triu(x):
    return where(_lower(shape(x)[-1], x), 0.0, x)


def _right_solve(y, m):
    """y M^{-1}, as (M^{-T} y^T)^T."""
    return _mT(solve_p.bind(_mT(m), _mT(y)))


def _lu_check(a):
    m, n = shape(a)[-2:]
    if m != n:
        raise ValueError(
            "scipy.linalg.lu: the derivative is implemented for square matrices only, got "
            f"shape {shape(a)}"
        )


_LU_SINGULAR = (
    "the derivative of an LU factorisation needs the first n-1 pivots (diagonal entries "
    "of U) nonzero, and one of them is zero here"
)


def _u_tilde(u):
    """U with its last diagonal entry set to 1: columns j of X U^{-1} depend on U's
    leading j x j block only, so the strictly lower part of X U^{-1} is the same, and it
    exists where the last pivot is 0 (a matrix of rank n-1, whose LU factors are still
    smooth functions of it)."""
    n = shape(u)[-1]
    last = _xp_of(u).zeros((n, n), dtype=bool)
    last[n - 1, n - 1] = True
    return where(last, 1.0, u)


@_derivative_at_singular("lu", _LU_SINGULAR)
def _lu_tangent(ans, primals, tangents, params):
    # A = P L U: X = L^{-1} P^T dA = Phi U + dU with Phi = L^{-1} dL strictly lower and dU
    # upper; Phi = tril_{-1}(X U~^{-1}), dU = triu(X - Phi U), never dividing by U_nn
    (a,), (da,) = primals, tangents
    _lu_check(a)
    p, l, u = ans
    x = solve_p.bind(l, matmul(_mT(p), da))
    phi = _tril_strict(_right_solve(x, _u_tilde(u)))
    return (None, matmul(l, phi), _triu(subtract(x, matmul(phi, u))))


@_derivative_at_singular("lu", _LU_SINGULAR)
def _lu_vjp(ct, ans, args, params, wanted):
    (a,) = args
    _lu_check(a)
    p, l, u = ans
    _, ct_l, ct_u = ct
    if ct_l is None and ct_u is None:
        return [None]
    phibar = None if ct_l is None else matmul(_mT(l), ct_l)
    xbar = None
    if ct_u is not None:
        xbar = _triu(ct_u)
        t = negative(matmul(xbar, _mT(u)))
        phibar = t if phibar is None else add(phibar, t)
    ybar = _right_solve(_tril_strict(phibar), _mT(_u_tilde(u)))
    xbar = ybar if xbar is None else add(xbar, ybar)
    return [matmul(p, solve_p.bind(_mT(l), xbar))]


lu_p = Primitive(
    "linalg_lu",
    _lu_impl,
    joint_tangent=_lu_tangent,
    joint_vjp=_lu_vjp,
    multiple_results=True,
    doc=r"""(P, L, U) with A = P L U; X = L^{-1} P^T dA U^{-1}: dL = L tril_{-1}(X),
    dU = triu(X) U; \bar A = P L^{-T}(tril_{-1}(L^T \bar L) + triu(\bar U U^T)) U^{-T}.""",
    sparsity=stack_rule(2, 2),
)
lu_p.batch = _same_batch(lu_p)
takes_symbolic_zeros(lu_p)


# ------------------------------------------------------------------ LAPACK's pivots
def _pivots_impl(xp, a):
    sla = scipy_linalg("lu_factor")
    return _per_vector(xp, lambda m: sla.lu_factor(m)[1], a)


def _per_vector(xp, f, a):
    """``f`` of each matrix of the stack ``a`` (..., n, n), 1-D results stacked."""
    if a.ndim == 2:
        return f(a)
    flat = a.reshape((_stack_size(a),) + a.shape[-2:])
    out = _np.stack([f(m) for m in flat])
    return out.reshape(a.shape[:-2] + out.shape[-1:])


def _perm_impl(xp, piv):
    """The row order ``perm`` with ``A[perm] = L U`` from LAPACK's interchanges."""

    def one(p):
        perm = _np.arange(p.shape[-1])
        for i, j in enumerate(p):
            perm[i], perm[j] = perm[j], perm[i]
        return perm

    piv = _np.asarray(piv)
    if piv.ndim == 1:
        return one(piv)
    flat = piv.reshape((-1, piv.shape[-1]))
    return _np.stack([one(p) for p in flat]).reshape(piv.shape)


# Integer results with no derivative, but operations of the computation: a compiled or
# batched function recomputes the pivots of each new matrix.
lu_pivots_p = nondiff(
    "linalg_lu_pivots",
    _pivots_impl,
    elementwise_batch=False,
    doc="LAPACK getrf's row interchanges of A (integers, no derivative).",
)
pivots_to_perm_p = nondiff(
    "linalg_pivots_to_perm",
    _perm_impl,
    elementwise_batch=False,
    doc="The permutation perm with A[perm] = L U from LAPACK's interchanges (integers).",
)
lu_pivots_p.batch = _same_batch(lu_pivots_p)  # the batch axis is one more stack axis
pivots_to_perm_p.batch = _same_batch(pivots_to_perm_p)


# ------------------------------------------------------------------ schur / hessenberg
class NoDerivativeError(ValueError):
    """A transformation met a decomposition whose outputs have no derivative."""


def _refuse(op, why):
    def rule(*args, **kwargs):
        raise NoDerivativeError(
            f"scipy.linalg.{op} has no derivative: {why}. Differentiate a function of "
            "eigenvalues (eigvals, eigh) or of the matrix itself instead, or wrap the "
            "computation in adgraph.custom_vjp with a rule of your own"
        )

    return rule


def _schur_impl(xp, a, *, output):
    return tuple(scipy_linalg("schur").schur(a, output=output))


_SCHUR_WHY = "the Schur vectors are not unique (any unitary change within an invariant subspace, and the order of the eigenvalues, give another) and the real form jumps where eigenvalues become complex"
schur_p = Primitive(
    "linalg_schur",
    _schur_impl,
    joint_tangent=_refuse("schur", _SCHUR_WHY),
    joint_vjp=_refuse("schur", _SCHUR_WHY),
    multiple_results=True,
    doc="(T, Z) with A = Z T Z^H; its rules refuse (not a differentiable function of A).",
    sparsity=stack_rule(2, 2),
)


def _hessenberg_impl(xp, a):
    return tuple(scipy_linalg("hessenberg").hessenberg(a, calc_q=True))


_HESS_WHY = "LAPACK's Householder reduction is not a smooth function where a reflector's pivot vanishes, and adgraph has no rule for it"
hessenberg_p = Primitive(
    "linalg_hessenberg",
    _hessenberg_impl,
    joint_tangent=_refuse("hessenberg", _HESS_WHY),
    joint_vjp=_refuse("hessenberg", _HESS_WHY),
    multiple_results=True,
    doc="(H, Q) with A = Q H Q^H; its rules refuse.",
    sparsity=stack_rule(2, 2),
)
