r"""The general (non-Hermitian) eigenproblem: eig and eigvals.

NumPy's values: ``w`` and ``V`` (unit-norm columns) are real when every eigenvalue of the
input is real, complex otherwise. With :math:`M = V^{-1} dA\, V` and
:math:`F_{ij} = 1/(w_j - w_i)` (0 on the diagonal):

* :math:`dw = \operatorname{diag} M`;
* :math:`dV = V (F \circ M) - V \operatorname{diag}(\operatorname{Re}\operatorname{diag}
  (V^H V (F\circ M)))`, the second term keeping each column at unit norm (the phase of a
  column is arbitrary; this rule leaves it unchanged to first order in the real sense).

Reverse mode is the transpose under :math:`\langle a, b\rangle = \operatorname{Re}\sum ab`:
:math:`\bar A = V^{-T}(\operatorname{diag}\bar w + F \circ K) V^T` with
:math:`K = V^T \bar V - V^T V^{\ast} \operatorname{diag}(\operatorname{Re}
\operatorname{diag}(V^T \bar V))` (:math:`V^{\ast}` the elementwise conjugate, :math:`\bar V`
the cotangent), its real part for a real input.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as _np  # the conditioning check of a concrete eigenvector matrix; eps

from ...ad.common import takes_symbolic_zeros
from ...ad.sparsity import stack_rule
from ...core.primitive import Primitive
from .._util import shape
from ..elementwise import add, multiply, real, subtract
from ..products import matmul
from ..reductions import sum as _sum
from ..shapes import expand_dims
from ._common import (
    LinAlgError,
    _conj,
    _derivative_at_singular,
    _diag,
    _diag_embed,
    _explained,
    _gap_scale,
    _guard_dtype,
    _is_complex,
    _mT,
    _safe_reciprocal_offdiag,
    _same_batch,
    _square,
    value_check,
)
from .lu import inv_p, solve_p

EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])

_WHY = (
    "the derivative is computed with the inverse of the eigenvector matrix, which is "
    "singular here (a defective matrix: no basis of eigenvectors)"
)


def _basis_check_impl(xp, v, *, op):
    """``v`` unchanged, once it passed the check: a (numerically) defective matrix is
    refused, its eigenvector matrix being singular to working precision, where the rules'
    :math:`V^{-1}` would give wrong numbers, not large ones (the eigenvalues are not
    differentiable there). A primitive, so that a compiled program checks each matrix it
    runs on (a check made while tracing passed a defective matrix given later)."""
    if xp is not _np or v.size == 0:  # CuPy/Dask: the check would synchronise; inv's
        return v  # own check applies. 0x0: nothing to check (NumPy's cond refuses it)
    with _np.errstate(all="ignore"):
        c = _np.linalg.cond(v)
    eps = _np.finfo(v.dtype).eps
    if not _np.all(c * eps < 1e-6):
        raise LinAlgError(f"linalg.{op}: {_WHY} (condition number of V: {_np.max(c):.3g})")
    return v


# V itself, after the check
_basis_check_p = value_check(
    "linalg_eig_basis_check",
    _basis_check_impl,
    "V, after checking that the eigenvector matrix is not singular to working precision.",
)


def _checked_basis(v, op):
    return _basis_check_p.bind(v, op=op)


def _eig_impl(xp, a):
    w, v = xp.linalg.eig(a)
    return (w, v)


def _gaps(w):
    """F[i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it; a gap within 1e3 n eps
    max|w| (a non-normal matrix's rounding of a repeated eigenvalue) counts as zero."""
    n = shape(w)[-1]
    return _safe_reciprocal_offdiag(
        subtract(expand_dims(w, -2), expand_dims(w, -1)),
        _gap_scale(w),
        1e3 * n * _np.finfo(float).eps,
    )


def _as_dtype_of(x, like):
    """``x`` made real where the output ``like`` is real (a real input with real
    eigenvalues: its tangents are real, any imaginary part is rounding)."""
    return x if _is_complex(like) or not _is_complex(x) else real(x)


@_derivative_at_singular("eig", _WHY)
def _eig_tangent(ans, primals, tangents, params):
    w, v = ans
    (da,) = tangents
    v = _checked_basis(v, "eig")
    m = solve_p.bind(v, matmul(da, v))  # V^{-1} dA V
    dw = _diag(m)
    g = multiply(_gaps(w), m)
    vg = matmul(v, g)
    norm = real(_sum(multiply(_conj(v), vg), axis=-2))  # Re diag(V^H V G)
    dv = subtract(vg, multiply(v, expand_dims(norm, -2)))
    return (_as_dtype_of(dw, w), _as_dtype_of(dv, v))


@_derivative_at_singular("eig", _WHY)
def _eig_vjp(ct, ans, args, params, wanted):
    (a,) = args
    w, v = ans
    v = _checked_basis(v, "eig")
    ct_w, ct_v = ct  # None: that output unused (a symbolic zero: its term is skipped)
    k = None if ct_w is None else _diag_embed(ct_w)
    if ct_v is not None:  # the gaps are infinite at repeated eigenvalues
        c = matmul(_mT(v), ct_v)
        r = real(_diag(c))
        kv = subtract(c, multiply(matmul(_mT(v), _conj(v)), expand_dims(r, -2)))
        kv = multiply(_gaps(w), kv)
        k = kv if k is None else add(k, kv)
    vinv_t = _mT(inv_p.bind(v))
    abar = matmul(vinv_t, matmul(k, _mT(v)))
    return [abar if _is_complex(a) else real(abar)]


eig_p = Primitive(
    "linalg_eig",
    _eig_impl,
    joint_tangent=_eig_tangent,
    joint_vjp=_eig_vjp,
    multiple_results=True,
    doc=r"""(w, V) with A V = V diag(w), unit-norm columns; M = V^{-1} dA V: dw = diag M,
    dV = V (F o M) - V diag(Re diag(V^H V (F o M))), F_ij = 1/(w_j - w_i).""",
    sparsity=stack_rule(2, (1, 2)),
)
eig_p.batch = _same_batch(eig_p)
takes_symbolic_zeros(eig_p)


@_explained("eig")
def eig(a):
    r"""Eigenvalues and right eigenvectors of a square matrix: ``(w, V)`` with
    :math:`A V = V \operatorname{diag}(w)`, each column of ``V`` of unit norm.

    The values are NumPy's: real arrays when all eigenvalues are real, complex otherwise.
    With :math:`M = V^{-1} dA\, V`: :math:`dw = \operatorname{diag} M` and
    :math:`dV = V(F\circ M) - V\operatorname{diag}(\operatorname{Re}\operatorname{diag}
    (V^H V (F\circ M)))`, :math:`F_{ij} = 1/(w_j - w_i)` off the diagonal. Reverse mode
    is its transpose (its real part for a real input).

    Caveats: an eigenvector's phase is arbitrary; only functions invariant under it
    (``V diag(f(w)) V^{-1}``, ``|V|**2``) have meaningful derivatives through ``V``. At
    repeated eigenvalues (a gap within 1e3 n eps max|w| counts as one) the derivatives
    through ``V`` are inf/nan; first derivatives through ``w`` alone stay finite while
    ``V`` is invertible (second ones go through ``V``). A defective matrix (``V`` singular to
    working precision, condition number above :math:`10^{-6}/\epsilon`) has no
    derivative: the rules raise ``LinAlgError`` saying so.
    """
    a = _square(a, "eig")
    w, v = _guard_dtype(eig_p.bind(a))
    return EigResult(w, v)


def _eigvals_tangent(t, ans, a):
    _, v = _guard_dtype(eig_p.bind(a))
    v = _checked_basis(v, "eigvals")
    return _as_dtype_of(_diag(solve_p.bind(v, matmul(t, v))), ans)


def _eigvals_vjp(ct, ans, a):
    _, v = _guard_dtype(eig_p.bind(a))
    v = _checked_basis(v, "eigvals")
    abar = matmul(_mT(inv_p.bind(v)), matmul(_diag_embed(ct), _mT(v)))
    return abar if _is_complex(a) else real(abar)


eigvals_p = Primitive(
    "linalg_eigvals",
    lambda xp, a: xp.linalg.eigvals(a),
    tangent=(_derivative_at_singular("eigvals", _WHY)(_eigvals_tangent),),
    vjp=(_derivative_at_singular("eigvals", _WHY)(_eigvals_vjp),),
    doc=r"""w = eigenvalues of A; dw = diag(V^{-1} dA V), \bar A = V^{-T} diag(\bar w) V^T.""",
    sparsity=stack_rule(2, 1),
)
eigvals_p.batch = _same_batch(eigvals_p)


@_explained("eigvals")
def eigvals(a):
    r"""Eigenvalues of a square matrix (NumPy's values: real when all are real).

    :math:`dw = \operatorname{diag}(V^{-1} dA\, V)`; reverse mode
    :math:`\bar A = V^{-T}\operatorname{diag}(\bar w)V^T` (real part for a real input).
    Finite at repeated eigenvalues while the matrix is diagonalisable.
    """
    return _guard_dtype(eigvals_p.bind(_square(a, "eigvals")))
