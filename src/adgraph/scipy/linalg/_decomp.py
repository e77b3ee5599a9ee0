r"""SciPy's decompositions and matrix functions with SciPy's signatures: expm,
expm_frechet, logm, sqrtm, cosm, sinm, tanm, coshm, sinhm, tanhm, polar, qr, svd, svdvals,
eigh, eigvalsh, eig, eigvals, eigh_tridiagonal, schur and hessenberg.

The matrix functions' derivatives come from the block-matrix identity of
:mod:`adgraph.ops.linalg.matfun`; the decompositions reuse NumPy's (``adgraph.numpy.linalg``)
rules. ``schur`` and ``hessenberg`` compute SciPy's values and have no derivative: a
transformation that meets them raises, naming the primitive.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # dtypes and funm's real-result check

from ... import numpy as anp
from ...core.primitive import Primitive
from ...core.trace import Tracer
from ...ops.linalg import LinAlgError
from ...ops.linalg._common import _guard_dtype, _jit_tracer
from ...ops.linalg.matfun import (
    _refuse,
    expm_p,
    fractional_matrix_power_p,
    frechet,
    hessenberg_p,
    logm_p,
    schur_p,
    sqrtm_p,
)
from ._solve import _H, _arr, _square2, solve_triangular

__all__ = [
    "expm",
    "expm_frechet",
    "logm",
    "sqrtm",
    "fractional_matrix_power",
    "cosm",
    "sinm",
    "tanm",
    "coshm",
    "sinhm",
    "tanhm",
    "funm",
    "polar",
    "qr",
    "qr_multiply",
    "rsf2csf",
    "svd",
    "svdvals",
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
    "eigh_tridiagonal",
    "eigvalsh_tridiagonal",
    "schur",
    "hessenberg",
]


def expm(A: Any) -> Any:
    r"""The matrix exponential :math:`e^A` (SciPy's Padé approximation; stacks too).

    Forward mode: :math:`L_{\exp}(A, dA)`, the top-right block of
    :math:`\exp\begin{bmatrix}A & dA\\ 0 & A\end{bmatrix}`; reverse mode
    :math:`\bar A = L_{\exp}(A^T, \bar E)`."""
    return expm_p.bind(_square2(_arr(A, "expm"), "expm"))


def expm_frechet(
    A: Any, E: Any, method: str | None = None, compute_expm: bool = True, check_finite: bool = True
):
    r"""``(expm(A), L)`` with :math:`L = L_{\exp}(A, E)` the Fréchet derivative of
    :math:`e^A` in direction :math:`E` (``compute_expm=False``: ``L`` alone), from the
    block-matrix identity; differentiable in ``A`` and ``E``."""
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(
            f"scipy.linalg.expm_frechet: method must be 'SPS' or 'blockEnlarge', got {method!r}"
        )
    a = _square2(_arr(A, "expm_frechet"), "expm_frechet")
    e = _arr(E, "expm_frechet")
    if e.shape != a.shape:
        raise ValueError(
            f"scipy.linalg.expm_frechet: E of shape {e.shape} must have A's shape {a.shape}"
        )
    lf = frechet(expm_p, a, e)
    if not compute_expm:
        return lf
    return expm_p.bind(a), lf


def logm(A: Any, disp: bool = True) -> Any:
    r"""The principal matrix logarithm (SciPy's inverse scaling and squaring), complex
    where ``A`` has eigenvalues on the negative real axis. ``disp=False`` returns
    ``(logm, errest)`` as SciPy. Derivative: the block-matrix identity, on the branch
    analytic around ``A``'s eigenvalues (a real ``A``'s negative eigenvalues stay on the
    axis, so its derivatives exist there). Refused (``NoDerivativeError``) at a singular
    matrix, a complex one with an eigenvalue on the negative real axis, a real one with a
    repeated negative eigenvalue, and where an eigenvalue is too close to the cut for the
    block matrix's rounding."""
    a = _square2(_arr(A, "logm"), "logm")
    out = _guard_dtype(logm_p.bind(a))
    if disp:
        return out
    # SciPy's error estimate ||expm(logm A) - A||_1 / ||A||_1, computed in the graph
    err = anp.linalg.norm(expm_p.bind(out) - a, 1) / anp.linalg.norm(a, 1)
    return out, err


def sqrtm(A: Any, disp: bool = True, blocksize: int = 64) -> Any:
    r"""The principal matrix square root :math:`S`, :math:`S^2 = A`. Its derivative
    solves :math:`S\,dS + dS\,S = dA` (a Sylvester equation); it is refused
    (``NoDerivativeError``) at a singular matrix, a complex one with an eigenvalue on the
    negative real axis and a real one with a repeated negative eigenvalue, where the
    principal root is not differentiable."""
    a = _square2(_arr(A, "sqrtm"), "sqrtm")
    out = _guard_dtype(sqrtm_p.bind(a))
    if disp:
        return out
    # SciPy's error estimate ||S S - A||_F^2 / ||A||_F, computed in the graph
    err = anp.linalg.norm(out @ out - a, "fro") ** 2 / anp.linalg.norm(a, "fro")
    return out, err


def fractional_matrix_power(A: Any, t: float) -> Any:
    r"""The principal power :math:`A^t` for a real constant ``t`` (SciPy's Schur-Padé
    method; an integer ``t`` gives the matrix power). Differentiable in ``A`` through the
    block-matrix identity, on the same terms as :func:`logm`'s derivative (refused at a
    singular matrix, on the branch cut of a complex one, at a real one's repeated negative
    eigenvalue)."""
    if isinstance(t, Tracer):
        raise TypeError(
            "scipy.linalg.fractional_matrix_power: t must be a constant number; for a "
            "derivative in the power use expm(t * logm(A))"
        )
    a = _square2(_arr(A, "fractional_matrix_power"), "fractional_matrix_power")
    return _guard_dtype(fractional_matrix_power_p.bind(a, power=float(t)))


def _real_if_real(x, a):
    return anp.real(x) if a.dtype.kind != "c" else x


def cosm(A: Any) -> Any:
    r""":math:`\cos A = (e^{iA} + e^{-iA})/2` (real for real ``A``)."""
    a = _arr(A, "cosm")
    return _real_if_real(0.5 * (expm(1j * a) + expm(-1j * a)), a)


def sinm(A: Any) -> Any:
    r""":math:`\sin A = (e^{iA} - e^{-iA})/2i` (real for real ``A``)."""
    a = _arr(A, "sinm")
    return _real_if_real(-0.5j * (expm(1j * a) - expm(-1j * a)), a)


def tanm(A: Any) -> Any:
    r""":math:`\tan A = (\cos A)^{-1} \sin A`."""
    return anp.linalg.solve(cosm(A), sinm(A))


def coshm(A: Any) -> Any:
    r""":math:`\cosh A = (e^A + e^{-A})/2`."""
    a = _arr(A, "coshm")
    return 0.5 * (expm(a) + expm(-a))


def sinhm(A: Any) -> Any:
    r""":math:`\sinh A = (e^A - e^{-A})/2`."""
    a = _arr(A, "sinhm")
    return 0.5 * (expm(a) - expm(-a))


def tanhm(A: Any) -> Any:
    r""":math:`\tanh A = (\cosh A)^{-1}\sinh A`."""
    return anp.linalg.solve(coshm(A), sinhm(A))


def funm(A: Any, func: Any, disp: bool = True) -> Any:
    r"""The matrix function :math:`F(A) = V\,\mathrm{diag}(f(w))\,V^{-1}` of a
    diagonalisable matrix, ``func`` applied to the (complex) eigenvalues ``w`` as
    SciPy applies it to the diagonal of the Schur form; real for a real ``A`` when the
    imaginary part is negligible, as SciPy returns it.

    Differentiable in ``A`` through :func:`eig` (the Daleckii--Krein formula
    :math:`V (F^{[1]} \circ V^{-1} dA\, V) V^{-1}` with the divided differences of
    ``f``), and in whatever ``func`` closes over; ``func`` must then be written with
    adgraph's operations. Where eigenvalues repeat, the derivative is nan (the
    eigenvectors' rule divides by their gaps), and a defective matrix is refused; use
    :func:`expm`, :func:`logm`, :func:`sqrtm` for those functions, which have no such
    limit. ``disp=False`` is not supported (SciPy's error estimate belongs to the
    Schur--Parlett recurrence)."""
    if not disp:
        raise ValueError(
            "scipy.linalg.funm: disp=False is not supported (SciPy's error estimate belongs to its Schur-Parlett recurrence)"
        )
    a = _square2(_arr(A, "funm"), "funm")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.funm: A must be 2-D, got shape {a.shape}")
    w, v = anp.linalg.eig(a)
    w = _complex(w)
    fw = func(w)
    if not isinstance(fw, Tracer):
        fw = anp.asarray(fw)
    if fw.shape != w.shape:
        raise ValueError(
            f"scipy.linalg.funm: func must map the eigenvalues (shape {w.shape}) elementwise, got shape {fw.shape}"
        )
    f = v @ (fw[:, None] * anp.linalg.inv(v))
    if a.dtype.kind != "c" and f.dtype.kind == "c":
        # decided on the values (of every example under vmap); under adgraph.jit with
        # its operations, so that the truth value is a guard of the compiled program
        # (deciding on the values met while tracing dropped the imaginary part of a
        # complex result computed later)
        eps = _np.finfo(f.dtype).eps
        jt = _jit_tracer(f)
        fv = jt if jt is not None else _np.asarray(f.primal_value() if isinstance(f, Tracer) else f)
        m = anp if jt is not None else _np
        size = m.maximum(m.max(m.abs(fv)), 1.0) if fv.size else 1.0
        if bool(m.all(m.abs(m.imag(fv)) <= 1000 * eps * size)):
            f = anp.real(f)
    return f


def polar(a: Any, side: str = "right"):
    r"""Polar decomposition ``(u, p)``: :math:`A = UP` (``side='right'``) or :math:`A = PU`
    (``'left'``), ``u`` with orthonormal columns (rows), ``p`` Hermitian positive
    semidefinite.

    The values come from the SVD (:math:`U = WV^H`, :math:`P = V\Sigma V^H`), accurate
    at every condition number. The derivatives of a square matrix are those of
    :math:`P = (A^H A)^{1/2}` (``sqrtm``), :math:`U = A P^{-1}`: they exist wherever ``A``
    is invertible, repeated singular values included (a singular one gets the SVD's
    rules). A rectangular one is differentiated through the SVD, whose derivative is nan
    at repeated singular values."""
    if side not in ("right", "left"):
        raise ValueError(f"scipy.linalg.polar: side must be 'right' or 'left', got {side!r}")
    a = _arr(a, "polar")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.polar: a must be 2-D, got shape {a.shape}")
    m, n = a.shape
    if m == n and isinstance(a, Tracer):
        # The values from the SVD below (A P^{-1} with P = (A^H A)^{1/2} loses
        # eps cond(A)^2: U was 0.15 off, and far from unitary, at cond(A) = 1e8); the
        # derivatives from that formula, which exist at repeated singular values too
        # (the SVD's do not): the value of x - stop_gradient(x) is exactly 0.
        try:
            du, dp = _polar_square(a, side)
        except LinAlgError:  # singular: the values, whose derivatives are refused
            u0, p0 = _polar_svd(anp.stop_gradient(a), side)
            return _polar_singular_p.bind(u0, a), _polar_singular_p.bind(p0, a)
        if du is not None:
            u0, p0 = _polar_svd(anp.stop_gradient(a), side)
            return u0 + (du - anp.stop_gradient(du)), p0 + (dp - anp.stop_gradient(dp))
    return _polar_svd(a, side)


def _polar_singular_impl(xp, x, a):
    return x


_POLAR_SINGULAR = (
    "at a singular square matrix the unitary factor is not unique (it jumps as the "
    "zero singular value changes sign) and P = (A^H A)^{1/2} is not differentiable"
)

# x itself (a polar factor of the singular matrix a), whose derivative in a is refused
_polar_singular_p = Primitive(
    "linalg_polar_singular",
    _polar_singular_impl,
    tangent=(None, _refuse("polar", _POLAR_SINGULAR)),
    vjp=(None, _refuse("polar", _POLAR_SINGULAR)),
    # x comes from a: batched with it
    batch=lambda vals, batched, size: _polar_singular_p.bind(vals[0], vals[1]),
    doc="A polar factor of a singular matrix: its value, and a refusal of its derivative.",
)


def _polar_svd(a, side):
    """(U, P) from the SVD A = W S V^H: U = W V^H, P = V S V^H (or W S W^H)."""
    w, s, vh = anp.linalg.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        p = (_H(vh) * s) @ vh
    else:
        p = (w * s) @ _H(w)
    return u, p


def _polar_square(a, side):
    """(U, P) of a square matrix as U = A P^{-1}, P = (A^H A)^{1/2} (or the left
    form): differentiable wherever A is invertible, repeated singular values included."""
    if side == "right":
        p = _real_if_real(sqrtm(_H(a) @ a), a)
        return _H(anp.linalg.solve(p, _H(a))), p  # p is Hermitian: A P^{-1} = (P^{-1} A^H)^H
    p = _real_if_real(sqrtm(a @ _H(a)), a)
    return anp.linalg.solve(p, a), p


_QR_MODES = {"full": "complete", "economic": "reduced", "r": "r"}


def qr(
    a: Any,
    overwrite_a: bool = False,
    lwork: int | None = None,
    mode: str = "full",
    pivoting: bool = False,
    check_finite: bool = True,
):
    """QR decomposition with SciPy's modes: ``'full'`` (default; ``Q`` square),
    ``'economic'``, ``'r'`` (a 1-tuple ``(R,)`` as SciPy returns it). Rules: see
    :func:`adgraph.numpy.linalg.qr`. ``pivoting`` and ``mode='raw'`` are not supported."""
    if pivoting:
        raise ValueError(
            "scipy.linalg.qr: pivoting=True is not supported (its permutation has no derivative); use pivoting=False"
        )
    if mode not in _QR_MODES:
        raise ValueError(
            f"scipy.linalg.qr: mode must be 'full', 'economic' or 'r' ('raw' is not supported), got {mode!r}"
        )
    a = _arr(a, "qr")
    if mode == "r":
        m, n = a.shape[-2:]
        r = anp.linalg.qr(a, mode="r")
        if m > n:  # SciPy's 'r' is the full (m, n) R
            r = anp.concatenate([r, anp.zeros(a.shape[:-2] + (m - n, n), dtype=r.dtype)], axis=-2)
        return (r,)
    q, r = anp.linalg.qr(a, mode=_QR_MODES[mode])
    return q, r


def qr_multiply(
    a: Any,
    c: Any,
    mode: str = "right",
    pivoting: bool = False,
    conjugate: bool = False,
    overwrite_a: bool = False,
    overwrite_c: bool = False,
):
    """``(Q @ c, R)`` (``mode='left'``) or ``(c @ Q, R)`` (``'right'``) with the
    economic QR decomposition of ``a`` (``conjugate``: with the conjugate of ``Q``); a
    composition of :func:`qr` and matmul, differentiable in ``a`` and ``c``."""
    if mode not in ("left", "right"):
        raise ValueError(f"scipy.linalg.qr_multiply: mode must be 'left' or 'right', got {mode!r}")
    if pivoting:
        raise ValueError("scipy.linalg.qr_multiply: pivoting=True is not supported")
    a = _arr(a, "qr_multiply")
    c = _arr(c, "qr_multiply")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.qr_multiply: a must be 2-D, got shape {a.shape}")
    q, r = anp.linalg.qr(a, mode="reduced")
    if conjugate and q.dtype.kind == "c":
        q = anp.conj(q)
    m, k = q.shape
    want = k if mode == "left" else m
    lead = c.shape[0] if mode == "left" else c.shape[-1]
    if len(c.shape) not in (1, 2) or lead != want:
        raise ValueError(
            f"scipy.linalg.qr_multiply: c of shape {c.shape} does not fit Q of shape {q.shape} "
            f"with mode={mode!r}"
        )
    return (q @ c if mode == "left" else c @ q), r


def rsf2csf(T: Any, Z: Any, check_finite: bool = True):
    """SciPy's conversion of a real Schur form ``(T, Z)`` to the complex one (values
    only: the Schur form has no derivative, so traced inputs are refused)."""
    if isinstance(T, Tracer) or isinstance(Z, Tracer):
        raise ValueError(
            "scipy.linalg.rsf2csf has no derivative (the Schur form it converts has none); "
            "call it on plain arrays"
        )
    return tuple(__import__("scipy.linalg", fromlist=["rsf2csf"]).rsf2csf(T, Z))


def svd(
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    overwrite_a: bool = False,
    check_finite: bool = True,
    lapack_driver: str = "gesdd",
):
    """Singular value decomposition (:func:`adgraph.numpy.linalg.svd`)."""
    out = anp.linalg.svd(_arr(a, "svd"), full_matrices=full_matrices, compute_uv=compute_uv)
    return out if not compute_uv else tuple(out)


def svdvals(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """Singular values, descending (finite derivative also at repeated values)."""
    return anp.linalg.svdvals(_arr(a, "svdvals"))


def _generalised(a, b, lower):
    """C = L^{-1} A L^{-H} and L (B = L L^H) for the problem A v = w B v."""
    l_ = anp.linalg.cholesky(b if lower else _H(b))
    c = solve_triangular(l_, _H(solve_triangular(l_, a, lower=True)), lower=True)
    return c, l_


def eigh(
    a: Any,
    b: Any = None,
    *,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    type: int = 1,
    check_finite: bool = True,
    subset_by_index: Any = None,
    subset_by_value: Any = None,
    driver: str | None = None,
):
    r"""Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, or of the
    generalised problem :math:`Av = wBv` (``b`` Hermitian positive definite, ``type=1``;
    eigenvectors normalised :math:`V^H B V = I`, as SciPy; their signs may differ from
    SciPy's). Reads the ``lower`` (else upper) triangle. ``subset_by_index`` takes
    ``[lo, hi]`` (inclusive); ``subset_by_value`` is not supported. Rules: see
    :func:`adgraph.numpy.linalg.eigh` (the eigenvalues alone stay finite at repeated
    ones)."""
    if type != 1:
        raise ValueError(
            f"scipy.linalg.eigh: only type=1 (A v = w B v) is supported, got type={type}"
        )
    if subset_by_value is not None:
        raise ValueError("scipy.linalg.eigh: subset_by_value is not supported; use subset_by_index")
    a = _square2(_arr(a, "eigh"), "eigh")
    uplo = "L" if lower else "U"
    if b is None:
        w, v = anp.linalg.eigh(a, UPLO=uplo)
    else:
        b = _square2(_arr(b, "eigh"), "eigh")
        from ._solve import _from_triangle

        a_full = _from_triangle(a, lower, hermitian=True)
        b_full = _from_triangle(b, lower, hermitian=True)
        c, l_ = _generalised(a_full, b_full, True)
        w, y = anp.linalg.eigh(c)
        v = solve_triangular(l_, y, lower=True, trans=2)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        w = w[..., lo : hi + 1]
        v = v[..., lo : hi + 1]
    return w if eigvals_only else (w, v)


def eigvalsh(
    a: Any,
    b: Any = None,
    *,
    lower: bool = True,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    type: int = 1,
    check_finite: bool = True,
    subset_by_index: Any = None,
    subset_by_value: Any = None,
    driver: str | None = None,
) -> Any:
    """Eigenvalues of a Hermitian matrix (or pencil), ascending; see :func:`eigh`."""
    if b is None and subset_by_index is None:
        if type != 1 or subset_by_value is not None:
            return eigh(
                a, b, lower=lower, eigvals_only=True, type=type, subset_by_value=subset_by_value
            )
        return anp.linalg.eigvalsh(
            _square2(_arr(a, "eigvalsh"), "eigvalsh"), UPLO="L" if lower else "U"
        )
    return eigh(
        a,
        b,
        lower=lower,
        eigvals_only=True,
        type=type,
        subset_by_index=subset_by_index,
        subset_by_value=subset_by_value,
    )


def _complex(w):
    return w if w.dtype.kind == "c" else w.astype(_np.result_type(w.dtype, _np.complex64))


def eig(
    a: Any,
    b: Any = None,
    left: bool = False,
    right: bool = True,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
):
    """Eigenvalues (complex, as SciPy returns them) and right eigenvectors of a square
    matrix (:func:`adgraph.numpy.linalg.eig` for the rules). The generalised problem
    (``b``), left eigenvectors and homogeneous eigenvalues are not supported."""
    if b is not None or left or homogeneous_eigvals:
        raise ValueError("scipy.linalg.eig: b, left=True and homogeneous_eigvals are not supported")
    w, v = anp.linalg.eig(_arr(a, "eig"))
    w = _complex(w)
    return (w, v) if right else w


def eigvals(
    a: Any,
    b: Any = None,
    overwrite_a: bool = False,
    check_finite: bool = True,
    homogeneous_eigvals: bool = False,
) -> Any:
    """Eigenvalues of a square matrix, complex (see :func:`eig`)."""
    if b is not None or homogeneous_eigvals:
        raise ValueError("scipy.linalg.eigvals: b and homogeneous_eigvals are not supported")
    return _complex(anp.linalg.eigvals(_arr(a, "eigvals")))


def eigvalsh_tridiagonal(
    d: Any,
    e: Any,
    select: str = "a",
    select_range: Any = None,
    check_finite: bool = True,
    tol: float = 0.0,
    lapack_driver: str = "auto",
) -> Any:
    """Eigenvalues of a real symmetric tridiagonal matrix (see :func:`eigh_tridiagonal`)."""
    return eigh_tridiagonal(d, e, eigvals_only=True, select=select, select_range=select_range)


def eigh_tridiagonal(
    d: Any,
    e: Any,
    eigvals_only: bool = False,
    select: str = "a",
    select_range: Any = None,
    check_finite: bool = True,
    tol: float = 0.0,
    lapack_driver: str = "auto",
):
    r"""Eigenvalues (and eigenvectors) of the real symmetric tridiagonal matrix with
    diagonal ``d`` and off-diagonal ``e``: :func:`eigh` of that matrix, so differentiable
    in ``d`` and ``e``. ``select='i'`` takes ``select_range = (lo, hi)``; ``'v'`` is not
    supported."""
    if select not in ("a", "i"):
        raise ValueError(
            "scipy.linalg.eigh_tridiagonal: select must be 'a' or 'i' ('v' is not supported)"
        )
    d = _arr(d, "eigh_tridiagonal")
    e = _arr(e, "eigh_tridiagonal")
    n = d.shape[0]
    if len(d.shape) != 1 or e.shape != (n - 1,):
        raise ValueError(
            f"scipy.linalg.eigh_tridiagonal: d must be 1-D (n,) and e (n - 1,), got {d.shape} and {e.shape}"
        )
    t = anp.diag(d) + anp.diag(e, -1) + anp.diag(e, 1)
    sub = select_range if select == "i" else None
    return eigh(t, eigvals_only=eigvals_only, subset_by_index=sub)


def schur(
    a: Any,
    output: str = "real",
    lwork: int | None = None,
    overwrite_a: bool = False,
    sort: Any = None,
    check_finite: bool = True,
):
    """Schur decomposition ``(T, Z)``, :math:`A = ZTZ^H` (SciPy's values). No derivative:
    a transformation that meets it raises (``sort`` is not supported)."""
    if output not in ("real", "complex", "r", "c"):
        raise ValueError(f"scipy.linalg.schur: output must be 'real' or 'complex', got {output!r}")
    if sort is not None:
        raise ValueError("scipy.linalg.schur: sort is not supported")
    a = _square2(_arr(a, "schur"), "schur")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.schur: a must be 2-D, got shape {a.shape}")
    return tuple(schur_p.bind(a, output="real" if output in ("real", "r") else "complex"))


def hessenberg(a: Any, calc_q: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """Hessenberg form ``H`` (``calc_q``: ``(H, Q)``, :math:`A = QHQ^H`), SciPy's values.
    No derivative: a transformation that meets it raises."""
    a = _square2(_arr(a, "hessenberg"), "hessenberg")
    if len(a.shape) != 2:
        raise ValueError(f"scipy.linalg.hessenberg: a must be 2-D, got shape {a.shape}")
    h, q = hessenberg_p.bind(a)
    return (h, q) if calc_q else h
