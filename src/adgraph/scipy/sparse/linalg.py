r"""Krylov solvers with JAX's signatures: ``cg``, ``gmres``, ``bicgstab``.

Each solves :math:`A x = b` for a linear operator ``A`` given as a matrix, a function
``v -> A v`` or an object with ``matvec`` (or ``@``), with ``b`` an array or a pytree of
arrays, and returns ``(x, info)``: ``info`` is 0 when the residual met
:math:`\lVert b - A x\rVert \le \max(\mathrm{tol}\,\lVert b\rVert, \mathrm{atol})`, else the
number of iterations run (SciPy's convention; a breakdown also leaves it positive).

The solution is differentiated *implicitly*, through
:func:`adgraph.lax.custom_linear_solve`: with respect to ``b`` and to whatever ``A`` depends
on (a traced matrix, values its function closes over), :math:`dx = A^{-1}(db - dA\,x)` in
forward mode and the transposed solve in reverse mode -- each one more solve by the same
method -- and the iterations are never recorded (memory does not grow with them). ``x0``
and the preconditioner ``M`` only steer the iterations and carry no derivative.

The iterations are written with adgraph.numpy and :func:`adgraph.lax.while_loop`, so
``vmap`` runs a batch of systems together, each frozen once it has converged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as _np

from ... import numpy as anp
from ...api import closure
from ...core.pytree import tree_flatten, tree_unflatten
from ...core.trace import Tracer
from ...lax import custom_linear_solve, while_loop
from ...lax.loops import as_leaf, shape_dtype

__all__ = ["cg", "gmres", "bicgstab"]


# ------------------------------------------------------------------ operators and vectors
def _operator(what: str, A: Any, name: str = "A") -> Callable[[Any], Any]:
    """``v -> A v`` for a function, an object with ``matvec``, or a matrix (``@``)."""
    if callable(A) and not isinstance(A, (_np.ndarray, Tracer)):
        return A
    if hasattr(A, "matvec") and callable(A.matvec):
        return A.matvec
    if isinstance(A, (_np.ndarray, Tracer)) or hasattr(A, "__matmul__"):
        s = shape_dtype(A)[0] if hasattr(A, "shape") else None
        if s is not None and (len(s) != 2 or s[0] != s[1]):
            raise ValueError(f"{what}: {name} must be a square matrix, got shape {list(s)}")
        return lambda v: A @ v
    raise TypeError(
        f"{what}: {name} must be a square matrix, a function v -> {name} v, or an object "
        f"with matvec; got {type(A).__name__}"
    )


class _Flat:
    """Vectors of the solvers: a pytree's leaves raveled into one 1-D array."""

    def __init__(self, tree, sig):
        self.tree, self.sig = tree, sig
        self.sizes = [math.prod(s) for s, _ in sig]

    def ravel(self, leaves):
        parts = [anp.reshape(v, (-1,)) for v in leaves]
        return parts[0] if len(parts) == 1 else anp.concatenate(parts)

    def unravel(self, v):
        out, o = [], 0
        for (s, _), n in zip(self.sig, self.sizes):
            out.append(anp.reshape(v[o : o + n], s))
            o += n
        return tree_unflatten(self.tree, out)

    def op(self, f):
        """``f`` (pytree to pytree) on flat vectors."""

        def g(v):
            leaves, tree = tree_flatten(f(self.unravel(v)))
            if tree != self.tree:
                raise TypeError(f"the operator returned structure {tree}, where b has {self.tree}")
            return self.ravel(leaves)

        return g


def _dot(a, b):
    return anp.real(anp.vdot(a, b))


def _norm(a):
    return anp.sqrt(_dot(a, a))


def _concrete(x: Any) -> Any:
    """A starting point or preconditioner's value: concrete under differentiation (its
    derivative is not wanted), None where it differs between runs or examples (jit, vmap)."""
    if not isinstance(x, Tracer):
        return x
    v, fixed = closure._example(x)
    return v if fixed else None


# ------------------------------------------------------------------ the iterations
def _unconverged(res, thresh):
    """Not yet converged: written as ``not res <= thresh`` so that a nan or inf residual
    (nan or inf in A or b) counts as unconverged instead of as converged."""
    return anp.logical_not((res <= thresh) & anp.isfinite(res))


def _info(res, thresh, k):
    """SciPy's ``info``: 0 when converged, else the iterations run (at least 1, so that a
    nan from the start is reported as a failure too)."""
    return anp.where(_unconverged(res, thresh), anp.maximum(k, 1), 0)


def _krylov(b, tol, atol, maxiter, init, step, alive):
    r"""Run ``step`` on the carry ``(x, r, ..., k)`` (``r`` the residual of ``x``, ``k`` the
    iterations run) while the residual is above :math:`\max(tol \lVert b\rVert, atol)`,
    fewer than ``maxiter`` iterations ran and ``alive(carry)`` (no breakdown); return ``x``
    and SciPy's ``info``."""
    thresh = anp.maximum(tol * _norm(b), atol) ** 2

    def go(c):
        return _unconverged(_dot(c[1], c[1]), thresh) & (c[-1] < maxiter) & alive(c)

    out = while_loop(go, step, init)
    x, r, k = out[0], out[1], out[-1]
    return x, _info(_dot(r, r), thresh, k)


def _cg_iter(A, b, x0, M, tol, atol, maxiter):
    r = b - A(x0)
    z = M(r)
    init = (x0, r, z, _dot(r, z), _np.int64(0))

    def step(c):
        x, r, p, rz, k = c
        ap = A(p)
        alpha = rz / _dot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        z = M(r)
        rz_new = _dot(r, z)
        return x, r, z + (rz_new / rz) * p, rz_new, k + 1

    # rz = 0: the preconditioned residual vanished (a breakdown unless r did)
    return _krylov(b, tol, atol, maxiter, init, step, lambda c: c[3] != 0.0)


def _bicgstab_iter(A, b, x0, M, tol, atol, maxiter):
    r = b - A(x0)
    zero = anp.zeros_like(r)
    one = anp.ones_like(_dot(r, r))
    init = (x0, r, r, zero, zero, one, one, one, _np.int64(0))

    def step(c):
        x, r, rhat, p, v, rho, alpha, omega, k = c
        rho_new = _dot(rhat, r)
        beta = (rho_new / rho) * (alpha / omega)
        p = r + beta * (p - omega * v)
        phat = M(p)
        v = A(phat)
        rv = _dot(rhat, v)
        alpha = anp.where(rv != 0.0, rho_new / anp.where(rv != 0.0, rv, 1.0), 0.0)
        s = r - alpha * v
        shat = M(s)
        t = A(shat)
        tt = _dot(t, t)
        # s = 0 means x + alpha phat solves the system: omega = 0 then ends the loop
        omega = anp.where(tt > 0.0, _dot(t, s) / anp.where(tt > 0.0, tt, 1.0), 0.0)
        x = x + alpha * phat + omega * shat
        r = s - omega * t
        return x, r, rhat, p, v, rho_new, alpha, omega, k + 1

    def alive(c):  # rho = 0 or omega = 0: a breakdown (or s = 0, solved)
        return (c[5] != 0.0) & (c[7] != 0.0)

    return _krylov(b, tol, atol, maxiter, init, step, alive)


def _gmres_iter(A, b, x0, M, tol, atol, maxiter, restart):
    """Restarted GMRES, right-preconditioned (``A M y = r``, ``x += M y``): each cycle builds
    an orthonormal Krylov basis of ``restart`` vectors (Gram--Schmidt applied twice) and
    minimises the residual over it by least squares; cycles run until the true residual
    is small enough."""
    thresh = anp.maximum(tol * _norm(b), atol)

    def cycle(c):
        x, _, k = c
        r = b - A(x)
        beta = _norm(r)
        safe = anp.where(beta > 0.0, beta, 1.0)
        V = [r / safe]
        H = []
        for _j in range(restart):
            w = A(M(V[-1]))
            Vs = anp.stack(V)
            h = anp.conj(Vs) @ w
            w = w - h @ Vs
            h2 = anp.conj(Vs) @ w  # the second pass restores orthogonality lost to round-off
            w = w - h2 @ Vs
            h = h + h2
            hn = _norm(w)
            # an invariant subspace (hn = 0) ends the basis: later vectors are zero
            V.append(w / anp.where(hn > 0.0, hn, 1.0) * anp.where(hn > 0.0, 1.0, 0.0))
            H.append(anp.concatenate([h, anp.reshape(hn, (1,)), anp.zeros(restart - _j - 1)]))
        Hm = anp.stack(H, axis=1)  # (restart + 1, restart)
        rhs = anp.concatenate([anp.reshape(beta, (1,)), anp.zeros(restart)])
        # nan or inf in A or b: the least-squares solve would fail (SVD does not converge);
        # solve a zero system instead and let the step be nan, so the residual is nan and
        # the solver reports no convergence
        fin = anp.all(anp.isfinite(Hm)) & anp.isfinite(beta)
        y = anp.linalg.lstsq(anp.where(fin, Hm, 0.0), anp.where(fin, rhs, 0.0))[0]
        dx = anp.where(fin, M(y @ anp.stack(V[:restart])), anp.nan)
        return x + dx, _norm(b - A(x + dx)), k + 1

    def go(c):
        _, res, k = c
        return _unconverged(res, thresh) & (k < maxiter)

    x, res, k = while_loop(go, cycle, (x0, _norm(b - A(x0)), _np.int64(0)))
    return x, _info(res, thresh, k)


# ------------------------------------------------------------------ the front end
def _check_number(what, name, v, lo=0.0):
    if isinstance(v, bool) or not isinstance(v, (int, float, _np.integer, _np.floating)):
        raise TypeError(f"{what}: {name} must be a number, got {v!r}")
    if not v >= lo:
        raise ValueError(f"{what}: {name} must be at least {lo}, got {v!r}")
    return float(v)


def _isolve(what, iterate, A, b, x0, tol, atol, maxiter, M, rtol, symmetric, **kw):
    if rtol is not None:
        tol = rtol  # SciPy's newer name
    tol = _check_number(what, "tol", tol)
    atol = _check_number(what, "atol", atol)
    matvec = _operator(what, A)
    precond = (lambda v: v) if M is None else _operator(what, M, "M")
    leaves, tree = tree_flatten(b)
    leaves = [as_leaf(v) for v in leaves]
    if not leaves:
        raise ValueError(f"{what}: b has no arrays in it")
    for k, v in enumerate(leaves):
        if shape_dtype(v)[1].kind not in "fc":
            raise TypeError(
                f"{what}: b leaf {k} has dtype {shape_dtype(v)[1].name}; give floating-point values"
            )
    sig = [shape_dtype(v) for v in leaves]
    flat = _Flat(tree, sig)
    size = sum(flat.sizes)
    if hasattr(A, "shape") and not callable(A) and len(A.shape) == 2 and A.shape[0] != size:
        raise ValueError(
            f"{what}: A has shape {list(A.shape)} but b has {size} elements; A must be "
            f"{size} x {size} (one row per element of b)"
        )
    if maxiter is None:
        maxiter = max(10 * size, 1)
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, _np.integer)) or maxiter < 1:
        raise ValueError(f"{what}: maxiter must be a positive int, got {maxiter!r}")
    if x0 is not None:
        x0_leaves, x0_tree = tree_flatten(x0)
        if x0_tree != tree or [shape_dtype(v)[0] for v in x0_leaves] != [s for s, _ in sig]:
            raise ValueError(f"{what}: x0 must have b's structure and shapes")
        x0_leaves = [_concrete(v) for v in x0_leaves]
        x0_vec = None if any(v is None for v in x0_leaves) else flat.ravel(x0_leaves)
    else:
        x0_vec = None
    if M is not None and isinstance(M, Tracer):
        m = _concrete(M)
        precond = (lambda v: v) if m is None else _operator(what, m, "M")

    def solve(op, rhs):
        bv = flat.ravel(tree_flatten(rhs)[0])
        start = anp.zeros_like(bv) if x0_vec is None else x0_vec
        x, info = iterate(flat.op(op), bv, start, flat.op(precond), tol, atol, maxiter, **kw)
        return flat.unravel(x), info

    x, info = custom_linear_solve(
        matvec,
        b,
        solve,
        transpose_solve=None if symmetric else solve,
        symmetric=symmetric,
        has_aux=True,
    )
    return x, info


def cg(
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    tol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    rtol: float | None = None,
) -> tuple[Any, Any]:
    """Conjugate gradients for a symmetric positive definite ``A``
    (``jax.scipy.sparse.linalg.cg``); returns ``(x, info)``.

    Parameters
    ----------
    A
        A matrix, a function ``v -> A v`` (``b``'s structure in and out) or an object with
        ``matvec``.
    b
        The right-hand side: an array or a pytree of floating-point arrays.
    x0
        The starting point (zeros by default); no derivative flows through it (a value
        traced by ``jit`` or ``vmap`` is replaced by zeros).
    tol, atol
        Stop when :math:`\\lVert r\\rVert \\le \\max(tol \\lVert b\\rVert, atol)`;
        ``rtol`` is SciPy's name for ``tol``.
    maxiter
        The most iterations (default ``10 * b.size``).
    M
        A preconditioner approximating :math:`A^{-1}` (symmetric positive definite), as ``A``.

    Returns
    -------
    ``(x, info)``: ``info`` 0 on convergence, else the iterations run. ``x`` is
    differentiable with respect to ``b`` and to what ``A`` depends on (one more CG solve).
    """
    return _isolve("cg", _cg_iter, A, b, x0, tol, atol, maxiter, M, rtol, True)


def bicgstab(
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    tol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    rtol: float | None = None,
) -> tuple[Any, Any]:
    """BiCGSTAB (van der Vorst) for a general square ``A``
    (``jax.scipy.sparse.linalg.bicgstab``); returns ``(x, info)``. The parameters are
    :func:`cg`'s; reverse mode solves the transposed system by BiCGSTAB too."""
    return _isolve("bicgstab", _bicgstab_iter, A, b, x0, tol, atol, maxiter, M, rtol, False)


def gmres(
    A: Any,
    b: Any,
    x0: Any = None,
    *,
    tol: float = 1e-5,
    atol: float = 0.0,
    restart: int = 20,
    maxiter: int | None = None,
    M: Any = None,
    solve_method: str = "batched",
    rtol: float | None = None,
) -> tuple[Any, Any]:
    """Restarted GMRES for a general square ``A`` (``jax.scipy.sparse.linalg.gmres``);
    returns ``(x, info)``.

    Each cycle builds a Krylov basis of ``restart`` vectors and minimises the residual over
    it by least squares (JAX's ``solve_method="batched"``, the only method here; the
    incremental Givens variant is not provided); ``maxiter`` counts cycles (default
    ``10 * b.size``). The other parameters are :func:`cg`'s; ``M`` preconditions on the
    right, so ``tol`` bounds the true residual.
    """
    if solve_method != "batched":
        raise ValueError(
            f"gmres: solve_method={solve_method!r} is not available; 'batched' is the "
            "method adgraph provides"
        )
    if isinstance(restart, bool) or not isinstance(restart, (int, _np.integer)) or restart < 1:
        raise ValueError(f"gmres: restart must be a positive int, got {restart!r}")
    size = sum(math.prod(shape_dtype(v)[0]) for v in tree_flatten(b)[0])
    return _isolve(
        "gmres",
        _gmres_iter,
        A,
        b,
        x0,
        tol,
        atol,
        maxiter,
        M,
        rtol,
        False,
        restart=int(min(restart, max(size, 1))),
    )
