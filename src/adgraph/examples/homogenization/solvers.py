r"""FFT solvers for periodic cell problems: Newton-CG and the Moulinec-Suquet fixed point.

The unknown is the strain field :math:`\varepsilon = E + \tilde\varepsilon` (or the
deformation gradient :math:`F = \bar F + \tilde F`) with :math:`\tilde\varepsilon` compatible
and of zero mean; equilibrium is :math:`\mathbb{G}(\sigma(\varepsilon)) = 0`, with the
projection :math:`\mathbb{G}` of :mod:`.grid`.

* **Newton-CG** (GooseFFT's scheme, Zeman, de Geus et al.): each Newton iteration solves
  :math:`\mathbb{G}(\mathbb{K} : \delta\varepsilon) = -\mathbb{G}(\sigma)` for a compatible
  :math:`\delta\varepsilon` by conjugate gradients, the tangent :math:`\mathbb{K}` entering
  only through its action (from adgraph: the stored per-voxel tangent of one batched
  forward pass, or the matrix-free JVP of the stress). Quadratic convergence follows from the
  tangent being the exact derivative of the stress -- for return maps, the consistent tangent.
* **Moulinec-Suquet basic scheme** with a scalar reference medium :math:`c_0`, for which the
  Green operator is :math:`\Gamma^0 = \mathbb{G}/c_0`:
  :math:`\varepsilon \leftarrow \varepsilon - \mathbb{G}(\sigma(\varepsilon))/c_0`. With
  :math:`c_0` the mid-point of the extreme eigenvalues of the local tangents it converges
  linearly at the rate :math:`(\kappa - 1)/(\kappa + 1)` of the stiffness contrast
  :math:`\kappa`. Needs the stress only.

The residual recorded is the relative equilibrium residual
:math:`\lVert\mathbb{G}(\sigma)\rVert / \lVert\sigma\rVert` (whole-field 2-norms), evaluated
at every iterate; the CG history is :math:`\lVert r_k\rVert/\lVert b\rVert` per iteration.

Loading goes in increments (``steps``): the macroscopic strain is ramped linearly and every
increment starts from the previous converged field plus the uniform increment; history
variables are updated once per increment, at convergence.

The fields are plain arrays inside the iterations; :func:`solve` becomes differentiable with
respect to material parameters, the macroscopic strain and the history through the implicit
function theorem at each converged state (:mod:`.implicit`).

**Array module.** A solve runs on the arrays of its data: NumPy, or CuPy when the material
parameters (or the history, or ``initial``'s fields) are CuPy arrays, or when ``xp="cupy"``
is asked for (NumPy parameters and history are then copied to the device once). Every
field, FFT, projection, CG vector and reduction is then computed on the device; the only
values brought to the host inside the iterations are the scalars of the convergence tests
(CG's dot products, the residual norms).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

import adgraph as ad
from adgraph.backends import BackendMixError

from . import _xp
from . import tensors as T
from .grid import Grid, as_grid
from .laws import TANGENT_MODES, Law

__all__ = ["solve", "SolveResult", "SolverOptions", "StepInfo", "cg", "METHODS"]

METHODS = ("newton", "fixed_point")
_METHOD_ALIASES = {
    "newton": "newton",
    "newton-cg": "newton",
    "fixed_point": "fixed_point",
    "fixed-point": "fixed_point",
    "moulinec-suquet": "fixed_point",
    "basic": "fixed_point",
}


class SolverOptions:
    """Tolerances and choices of one solve (see :func:`solve` for their meaning)."""

    __slots__ = (
        "method",
        "tangent",
        "tol",
        "cg_tol",
        "maxiter",
        "cg_maxiter",
        "reference",
        "verbose",
        "line_search",
    )

    def __init__(
        self,
        method="newton",
        tangent="stored",
        tol=1e-8,
        cg_tol=1e-10,
        maxiter=None,
        cg_maxiter=2000,
        reference=None,
        verbose=False,
        line_search=8,
    ):
        m = _METHOD_ALIASES.get(str(method).lower())
        if m is None:
            raise ValueError(f"solve: method must be one of {METHODS}, got {method!r}")
        if tangent not in TANGENT_MODES:
            raise ValueError(f"solve: tangent must be one of {TANGENT_MODES}, got {tangent!r}")
        self.method = m
        self.tangent = tangent
        self.tol = float(tol)
        self.cg_tol = float(cg_tol)
        self.maxiter = int(maxiter if maxiter is not None else (30 if m == "newton" else 2000))
        self.cg_maxiter = int(cg_maxiter)
        self.reference = reference
        self.verbose = bool(verbose)
        self.line_search = int(line_search)


class StepInfo:
    """What one load increment's iterations did."""

    __slots__ = (
        "residuals",
        "cg_residuals",
        "steps",
        "converged",
        "lin",
        "sigma",
        "seconds",
        "reference",
    )

    def __init__(self):
        self.sigma = None
        self.steps = []
        self.residuals = []
        self.cg_residuals = []
        self.converged = False
        self.lin = None
        self.seconds = 0.0
        self.reference = None


# ------------------------------------------------------------------ conjugate gradients
def _dot(a, b) -> float:
    # einsum, not BLAS: a multithreaded BLAS dot stalls badly next to the FFT's threads on a
    # busy machine (measured: 3 ms instead of 0.05 ms per call at 32^3).
    if type(a) is np.ndarray:
        return float(np.einsum("i,i->", a.ravel(), b.ravel()))
    # other array modules (CuPy: cuBLAS on the device; only the scalar comes back)
    return float(_xp.module_of(a).vdot(a.ravel(), b.ravel()))


def cg(apply, b, tol=1e-10, maxiter=2000):
    """Conjugate gradients for ``apply(x) = b`` (``apply`` symmetric positive definite on
    the subspace ``b`` lies in), from ``x = 0``.

    Returns ``(x, history, converged)``, ``history[k]`` the relative residual
    :math:`\\lVert r_k\\rVert/\\lVert b\\rVert`. A tolerance below what round-off allows
    for the operator's conditioning is met by stagnation, then loss of orthogonality: once
    the residual is small (below :math:`\\sqrt{tol}`), the best iterate is kept, and the
    iteration stops -- returning it -- when the residual has not improved by 10 % for many
    iterations or has grown a thousandfold.

    ``x`` is differentiable with respect to ``b`` and to the values ``apply`` closes over,
    implicitly (:func:`adgraph.lax.custom_linear_solve`, ``A`` symmetric): the iterations
    are never recorded, so reverse mode's memory does not grow with their number, and a
    derivative costs one more CG solve. ``history`` and ``converged`` are the primal
    solve's.
    """
    first: dict = {}

    def solve(matvec, rhs):
        x, hist, ok = _cg_iterations(matvec, rhs, tol, maxiter)
        first.setdefault("hist", hist)  # tangent and adjoint solves come later
        first.setdefault("ok", ok)
        return x

    x = ad.lax.custom_linear_solve(apply, b, solve, symmetric=True)
    return x, first["hist"], first["ok"]


def _cg_iterations(apply, b, tol, maxiter):
    """The iterations of :func:`cg` on concrete arrays."""
    x = _xp.module_of(b).zeros_like(b)
    r = b.copy()
    rr = _dot(r, r)
    bn = math.sqrt(rr)
    hist = [1.0]
    if bn == 0.0:
        return x, hist, True
    p = r.copy()
    guard = max(math.sqrt(tol), 1e-6)
    best, k_best, x_best = 1.0, 0, None
    for k in range(1, maxiter + 1):
        ap = apply(p)
        pap = _dot(p, ap)
        if not pap > 0.0:
            if hist[-1] > 1e-8:  # not just round-off at the end of a converged solve
                warnings.warn(
                    "homogenization CG: the tangent operator is not positive definite (p.Kp "
                    f"= {pap:.3g}); the material law may be softening or its tangent wrong",
                    RuntimeWarning,
                    stacklevel=3,
                )
            break
        alpha = rr / pap
        x += alpha * p
        r -= alpha * ap
        rr_new = _dot(r, r)
        res = math.sqrt(rr_new) / bn
        hist.append(res)
        if res <= tol:
            return x, hist, True
        if res < 0.9 * best:
            best, k_best = res, k
            if res < guard:
                x_best = x.copy()
        elif x_best is not None and (res > 1e3 * best or k - k_best > max(100, k // 5)):
            break  # stagnated at round-off, or diverging after it
        p *= rr_new / rr
        p += r
        rr = rr_new
    if x_best is not None and best < hist[-1]:
        return x_best, hist, False
    return x, hist, False


def _rel(num, den):
    return 0.0 if num == 0.0 else num / den if den > 0.0 else math.inf


def _norm(a) -> float:
    return math.sqrt(_dot(a, a))


# ------------------------------------------------------------------ one load increment
def newton_step(law, grid: Grid, eps, history, params, opts: SolverOptions) -> tuple:
    """Newton-CG from the plain field ``eps`` (whose mean is the macroscopic strain).

    Returns ``(eps, StepInfo)``. The tangent is built only when a solve follows (the first
    iterate of an increment is linearised at once, later ones only after their residual
    was found too large). A backtracking line search on :math:`\\lVert\\mathbb{G}
    \\sigma\\rVert` (halving the step until it decreases, ``opts.line_search`` times at
    most) keeps strongly nonlinear laws (power laws with large exponents) from cycling;
    near the solution the full Newton step is always taken, so convergence stays quadratic.
    ``info.lin`` is the linearisation at the returned state when one was built there.
    """
    finite = law.finite_strain
    info = StepInfo()
    t0 = time.perf_counter()
    lin = law.linearize(eps, history, params, opts.tangent)
    sigma = lin.sigma
    r = grid.project(sigma, finite)
    rn = _norm(r)
    res = _rel(rn, _norm(sigma))
    for it in range(opts.maxiter + 1):
        info.residuals.append(res)
        if opts.verbose:
            print(f"  newton {it:2d}: residual {res:.3e}")
        if res <= opts.tol:
            info.converged = True
            break
        if it == opts.maxiter or not math.isfinite(res):
            break
        if lin is None:
            lin = law.linearize(eps, history, params, opts.tangent)
        r *= -1.0
        dx, hist, _ = cg(
            lambda v: grid.project(lin.apply(v), finite), r, opts.cg_tol, opts.cg_maxiter
        )
        info.cg_residuals.append(np.array(hist))
        if opts.verbose:
            print(f"           CG {len(hist) - 1} iterations")
        alpha = 1.0
        for k in range(opts.line_search + 1):
            trial = eps + alpha * dx if alpha != 1.0 else eps + dx
            s_t = law.plain_stress(trial, history, params)
            r_t = grid.project(s_t, finite)
            rn_t = _norm(r_t)
            if rn_t <= (1.0 - 1e-4 * alpha) * rn or k == opts.line_search:
                break
            alpha *= 0.5
        info.steps.append(alpha)
        eps, sigma, r, rn = trial, s_t, r_t, rn_t
        res = _rel(rn, _norm(sigma))
        lin = None
    info.lin = lin
    info.sigma = sigma
    info.seconds = time.perf_counter() - t0
    return eps, info


def reference_medium(law, eps, history, params) -> float:
    r"""The scalar reference stiffness :math:`c_0 = (\lambda_{min} + \lambda_{max})/2` of the
    Moulinec-Suquet scheme, from the eigenvalues of the local tangents at ``eps`` (Mandel form
    on symmetric tensors for small strain; eigenvalues below :math:`10^{-8}\lambda_{max}`, the
    rotations of finite strain, are left out)."""
    lin = law.linearize(eps, history, params, "stored")
    k = lin.stored
    xp = _xp.module_of(k)
    d = eps.shape[0]
    nb = k.shape[0]
    mats = xp.moveaxis(k.reshape(nb, nb, -1), 2, 0)
    if not law.finite_strain:
        s = _xp.asarray(T.mandel_scaling(d), xp)
        mats = s[None, :, None] * mats * s[None, None, :]
    mats = 0.5 * (mats + xp.swapaxes(mats, 1, 2))
    ev = xp.linalg.eigvalsh(mats)
    hi = float(ev.max())
    pos = ev[ev > 1e-8 * hi]
    lo = float(pos.min()) if pos.size else hi
    return 0.5 * (lo + hi)


def fixed_point_step(law, grid: Grid, eps, history, params, opts: SolverOptions) -> tuple:
    """The Moulinec-Suquet basic scheme from the plain field ``eps``; returns
    ``(eps, StepInfo)``."""
    finite = law.finite_strain
    info = StepInfo()
    t0 = time.perf_counter()
    c0 = opts.reference
    if c0 is None:
        c0 = reference_medium(law, eps, history, params)
    info.reference = c0
    for it in range(opts.maxiter + 1):
        sigma = law.plain_stress(eps, history, params)
        info.sigma = sigma
        r = grid.project(sigma, finite)
        res = _rel(_norm(r), _norm(sigma))
        info.residuals.append(res)
        if opts.verbose and it % 20 == 0:
            print(f"  fixed point {it:4d}: residual {res:.3e}")
        if res <= opts.tol:
            info.converged = True
            break
        if it == opts.maxiter or not math.isfinite(res):
            break
        eps = eps - r / c0
    info.seconds = time.perf_counter() - t0
    return eps, info


def solve_step(law, grid, eps, history, params, opts):
    """One load increment by ``opts.method``; ``(eps, StepInfo)``."""
    if opts.method == "newton":
        return newton_step(law, grid, eps, history, params, opts)
    return fixed_point_step(law, grid, eps, history, params, opts)


# ------------------------------------------------------------------ results
class SolveResult:
    """The converged fields of :func:`solve` and how the iterations went.

    Attributes
    ----------
    strain, stress : arrays ``(d, d, *shape)``
        The final strain (the deformation gradient :math:`F` for finite strain) and stress
        (the first Piola-Kirchhoff stress :math:`P`); traced values when :func:`solve` is
        differentiated. ``F`` and ``P`` are aliases.
    mean_strain, mean_stress : arrays ``(d, d)``
        Their volume averages.
    residuals : list of float
        Relative equilibrium residual at each iterate of the last increment (Newton: one per
        Newton iteration).
    cg_residuals : list of arrays
        The CG residual history of each Newton iteration of the last increment.
    step_residuals, step_cg_residuals : lists
        The same for every increment.
    mean_strain_path, mean_stress_path : arrays ``(steps, d, d)``
        The macroscopic response after each increment (plain values).
    history, history_start : pytrees or None
        History variables after the last increment and at its start (the consistent
        effective tangent of the increment needs the latter).
    newton_iterations, cg_iterations : int
        Totals over all increments (Newton: tangent solves; fixed point: iterations).
    converged : bool
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @property
    def F(self):
        """The deformation gradient field (finite strain)."""
        return self.strain

    @property
    def P(self):
        """The first Piola-Kirchhoff stress field (finite strain)."""
        return self.stress

    @property
    def d(self) -> int:
        return self.grid.d

    @property
    def shape(self) -> tuple:
        return self.grid.shape

    def von_mises(self):
        r"""The von Mises equivalent stress field :math:`\sqrt{3/2\, s:s}` of the final
        stress (small strain: in-plane components only for 2-D)."""
        s = _plain(self.stress)
        xp = _xp.module_of(s)
        if self.finite_strain:
            s = 0.5 * (s + xp.swapaxes(s, 0, 1))
        d = s.shape[0]
        tr = xp.einsum("ii...->...", s)
        dev = s - (tr / 3.0) * xp.eye(d).reshape((d, d) + (1,) * d)
        return xp.sqrt(1.5 * xp.sum(dev * dev, axis=(0, 1)))

    def __repr__(self) -> str:
        return (
            f"SolveResult({self.law.name}, shape={self.grid.shape}, method={self.method}, "
            f"steps={len(self.step_residuals)}, newton/iterations={self.newton_iterations}, "
            f"cg={self.cg_iterations}, converged={self.converged})"
        )


# ------------------------------------------------------------------ the driver
_plain = _xp.primal


def _plain_tree(t):
    return ad.tree_map(lambda v: _plain_array(v) if isinstance(v, ad.Tracer) else v, t)


def _plain_array(v):
    """The plain array under a traced value (NumPy values as ``np.asarray`` gives them)."""
    v = _plain(v)
    return np.asarray(v) if _xp.module_of(v) is np else v


def _is_traced(tree) -> bool:
    return any(isinstance(v, ad.Tracer) for v in ad.tree_leaves(tree))


def _infer_shape(law):
    for v in law.params.values():
        s = getattr(v, "shape", ())
        if len(s) in (2, 3):
            return tuple(s)
    raise ValueError(
        "solve: give the grid shape (e.g. shape=(32, 32)); it cannot be inferred because no "
        "material parameter is a field"
    )


def _check_params(law, grid):
    for k, v in law.params.items():
        s = tuple(getattr(v, "shape", ()))
        try:
            np.broadcast_shapes(s, grid.shape)
        except ValueError:
            raise ValueError(
                f"solve: parameter {k!r} of law {law.name!r} has shape {s}, which does not "
                f"broadcast to the grid shape {grid.shape}; give a scalar or a field of the "
                "grid's shape"
            ) from None


def _macro_path(E, steps, d, finite, start):
    """The macroscopic targets of the increments, ``(n, d, d)`` entries (maybe traced)."""
    shp = tuple(getattr(E, "shape", np.shape(E)))
    if shp == (d, d):
        if steps < 1:
            raise ValueError(f"solve: steps must be >= 1, got {steps}")
        return [start + (E - start) * (k / steps) for k in range(1, steps + 1)]
    if len(shp) == 3 and shp[1:] == (d, d):
        return [E[k] for k in range(shp[0])]
    what = "F" if finite else "E"
    raise ValueError(
        f"solve: the macroscopic {what} must be shaped ({d}, {d}) for a {d}-D grid (or "
        f"(steps, {d}, {d}) for a load path), got {shp}"
    )


def solve(
    law: Law,
    E,
    shape=None,
    *,
    finite_strain=None,
    steps: int = 1,
    method: str = "newton",
    tangent: str = "stored",
    tol: float = 1e-8,
    cg_tol: float = 1e-10,
    maxiter=None,
    cg_maxiter: int = 2000,
    history=None,
    initial: SolveResult | None = None,
    lengths=None,
    reference=None,
    verbose: bool = False,
    xp=None,
) -> SolveResult:
    r"""Solve the periodic cell problem for the macroscopic strain ``E`` (or deformation
    gradient ``F`` with ``finite_strain=True``).

    Parameters
    ----------
    law : Law
        The material law (:func:`linear_elastic`, :func:`j2_plasticity`, :func:`energy_law`,
        ...); its parameters are scalars or fields of the grid's shape.
    E : array ``(d, d)`` or ``(n, d, d)``
        Macroscopic strain (or :math:`\bar F`), reached in ``steps`` equal increments; or an
        explicit load path of ``n`` increments.
    shape : tuple or Grid
        The grid (2-D plane strain or 3-D); inferred from field parameters when omitted.
    finite_strain : bool
        Must agree with the law (default: the law's).
    method : ``"newton"`` (Newton-CG) or ``"fixed_point"`` (Moulinec-Suquet).
    tangent : ``"stored"`` (per-voxel tangent from one batched forward pass per Newton
        iteration, applied in every CG iteration) or ``"action"`` (matrix-free JVP of the
        stress in every CG iteration).
    tol, cg_tol : relative equilibrium tolerance; relative CG residual tolerance.
    maxiter, cg_maxiter : iteration limits (default Newton 30, fixed point 2000).
    history : pytree, optional
        History variables to start from (default ``law.init_history``).
    initial : SolveResult, optional
        Continue from a previous result (its strain field, macroscopic strain and history).
    lengths : cell lengths (default: cubic voxels).
    reference : float, optional
        Reference stiffness :math:`c_0` of the fixed-point scheme (default: estimated).
    xp : array module or name, optional
        Where the fields live: ``"numpy"`` or ``"cupy"`` (or the module). Default: the
        module of the law's parameters, the history and ``initial`` (CuPy when any of them
        is a CuPy array, else NumPy). With ``xp="cupy"``, NumPy parameters and history are
        copied to the GPU once. On CuPy the law runs through ``adgraph.jit`` (or eagerly,
        ``law.backend="eager"``), never the CPU-only C backend; ``E`` may stay a NumPy
        array (it is small), and the fields, ``mean_strain`` and ``mean_stress`` of the
        result are CuPy arrays (the load paths stay NumPy).

    Returns
    -------
    SolveResult

    Differentiation: material parameters (and ``E``, ``history``) may be traced values
    (inside ``adgraph.grad``, ``jvp``, ``jacfwd``, ``jacrev``): the converged fields are then
    differentiated by the implicit function theorem (one extra tangent solve per derivative
    direction), and the stress by AD of the law. First derivatives only.
    """
    if not isinstance(law, Law):
        raise TypeError(f"solve: law must be a homogenization Law, got {type(law).__name__}")
    grid = as_grid(shape if shape is not None else _infer_shape(law), lengths)
    d = grid.d
    if finite_strain is None:
        finite_strain = law.finite_strain
    if bool(finite_strain) != law.finite_strain:
        kind = "finite-strain" if law.finite_strain else "small-strain"
        raise ValueError(
            f"solve: law {law.name!r} is a {kind} law but finite_strain={finite_strain} was "
            "given; use a matching law (stvk/neo_hookean/energy_law(..., finite_strain=True) "
            "for finite strain)"
        )
    _check_params(law, grid)
    opts = SolverOptions(method, tangent, tol, cg_tol, maxiter, cg_maxiter, reference, verbose)
    finite = law.finite_strain
    eye = np.eye(d)
    xp = _solve_module(law, history, initial, xp)
    params = _xp.to_module(law.params, xp)

    if initial is not None:
        start_macro = _xp.host(initial.mean_strain)
        eps = _xp.asarray(_plain(initial.strain), xp, dtype=float)
        hist = _xp.to_module(initial.history, xp)
    else:
        start_macro = eye if finite else np.zeros((d, d))
        eps = grid.uniform(start_macro, xp)
        hist = history if history is not None else law.init_history(d, grid.shape)
        hist = _xp.to_module(hist, xp)
    if not (hasattr(E, "shape") or isinstance(E, (list, tuple))):
        raise TypeError(f"solve: E must be a (d, d) array, got {type(E).__name__}")
    if not hasattr(E, "shape"):
        E = np.asarray(E, dtype=float)
    elif not isinstance(E, ad.Tracer) and _xp.module_of(E) is not np:
        E = _xp.host(E)  # the macroscopic strain is small: it lives on the host
    if not finite:  # a strain is symmetric; derivatives w.r.t. E then come out symmetric too
        E = _sym(E)
    path = _macro_path(E, steps, d, finite, start_macro)

    from .implicit import equilibrium

    step_infos = []
    stress_path, strain_path = [], []
    prev_macro = start_macro
    hist_start = hist
    sigma = None
    t0 = time.perf_counter()
    for Ek in path:
        traced = _is_traced(params) or _is_traced(hist) or isinstance(Ek, ad.Tracer)
        Ek_plain = np.asarray(_xp.host(Ek), dtype=float)
        guess = _xp.asarray(_plain(eps), xp, dtype=float) + grid.uniform(Ek_plain - prev_macro, xp)
        if traced:
            eps, info = equilibrium(law, grid, Ek, hist, params, guess, opts)
            sigma, new_hist = law.update(eps, hist, params)
        else:
            hist = _plain_tree(hist)
            eps, info = solve_step(law, grid, guess, hist, params, opts)
            if law.has_history or info.sigma is None:
                sigma, new_hist = law.update(eps, hist, params)
                sigma = _xp.asarray(sigma, xp)
            else:
                sigma, new_hist = info.sigma, hist
        step_infos.append(info)
        if not info.converged:
            warnings.warn(
                f"homogenization solve ({opts.method}) did not converge in {opts.maxiter} "
                f"iterations: residual {info.residuals[-1]:.3e} > tol {opts.tol:.1e}",
                RuntimeWarning,
                stacklevel=2,
            )
        hist_start, hist = hist, new_hist
        prev_macro = Ek_plain
        stress_path.append(_xp.host(grid.mean(_plain_array(sigma))))
        strain_path.append(Ek_plain)
    seconds = time.perf_counter() - t0

    mean_stress = _mean(sigma, grid)
    mean_strain = _mean(eps, grid)
    last = step_infos[-1]
    return SolveResult(
        strain=eps,
        stress=sigma,
        mean_strain=mean_strain,
        mean_stress=mean_stress,
        residuals=list(last.residuals),
        cg_residuals=list(last.cg_residuals),
        step_residuals=[list(s.residuals) for s in step_infos],
        step_cg_residuals=[list(s.cg_residuals) for s in step_infos],
        mean_strain_path=np.array(strain_path),
        mean_stress_path=np.array(stress_path),
        history=hist,
        history_start=hist_start,
        newton_iterations=sum(
            len(s.cg_residuals) if opts.method == "newton" else len(s.residuals) - 1
            for s in step_infos
        ),
        cg_iterations=sum(len(h) - 1 for s in step_infos for h in s.cg_residuals),
        converged=all(s.converged for s in step_infos),
        grid=grid,
        law=law,
        method=opts.method,
        tangent=opts.tangent,
        finite_strain=finite,
        options=opts,
        seconds=seconds,
        reference=last.reference,
        xp=xp,
        _last_lin=last.lin,
    )


def _solve_module(law, history, initial, xp):
    """The array module of a solve: ``xp`` when given (NumPy data is copied to it), else
    the module of the law's parameters, the history and ``initial``'s fields."""
    given = _xp.resolve(xp)
    data = (law.params, history)
    if initial is not None:
        data += (initial.strain, initial.history)
    if given is None:
        try:
            return _xp.data_module(*data)
        except BackendMixError as err:
            raise BackendMixError(
                f"solve: {err}. The law's parameters, the history and the initial fields "
                "must be arrays of one module; pass xp='cupy' to copy the NumPy ones to the "
                "GPU once"
            ) from None
    for mod in _xp.modules(*data):
        if mod is not np and mod is not given:
            raise ValueError(
                f"solve: xp={given.__name__!r} was asked for, but the law's parameters, the "
                f"history or the initial fields are {mod.__name__} arrays; move them first "
                "(e.g. adgraph.backends.asnumpy(...)) or leave xp out"
            )
    return given


def _sym(E):
    if isinstance(E, ad.Tracer):
        import adgraph.numpy as anp

        return 0.5 * (E + anp.swapaxes(E, -1, -2))
    E = np.asarray(E, dtype=float)
    return 0.5 * (E + np.swapaxes(E, -1, -2))


def _mean(field, grid):
    if isinstance(field, ad.Tracer):
        import adgraph.numpy as anp

        return anp.mean(field, axis=tuple(range(2, 2 + grid.d)))
    return grid.mean(field)
