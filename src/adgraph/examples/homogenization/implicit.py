r"""Derivatives of converged cell problems by the implicit function theorem.

At a converged state the fluctuation :math:`\tilde\varepsilon` of
:math:`\varepsilon = E + \tilde\varepsilon` solves
:math:`R = \mathbb{G}\,\sigma(E + \tilde\varepsilon;\ \theta) = 0`, where :math:`\theta`
collects the material parameters and the history variables. Differentiating,

.. math:: \mathbb{G}\mathbb{K}\mathbb{G}\ \dot{\tilde\varepsilon}
    = -\mathbb{G}\big(\mathbb{K} : \dot E + \partial_\theta\sigma\ \dot\theta\big),
    \qquad \mathbb{K} = \partial\sigma/\partial\varepsilon,

one linear solve with the same operator as a Newton iteration. Write
:math:`\mathcal{A}^{+} = (\mathbb{G}\mathbb{K}\mathbb{G})^{-1}\mathbb{G}` (the inverse taken
on the range of :math:`\mathbb{G}`); it is symmetric when :math:`\mathbb{K}` is (hyperelastic
laws; associative plasticity's consistent tangent), so the same CG solve serves both modes:

* forward (JVP): :math:`\dot\varepsilon = \dot E - \mathcal{A}^{+} r` with
  :math:`r = \mathbb{K}:\dot E + \partial_\theta\sigma\,\dot\theta` -- one JVP of the
  law's stress;
* reverse (VJP): with :math:`\mu = \mathcal{A}^{+}\bar\varepsilon`,
  :math:`\bar E = \sum_x(\bar\varepsilon - \mathbb{K}^T\mu)` and
  :math:`\bar\theta = -(\partial_\theta\sigma)^T\mu` -- one VJP of the law's stress.

Only the material law is differentiated by adgraph (the FFTs and CG iterations are not), so
a derivative costs one tangent solve, whatever the number of Newton iterations. The solve
:math:`\mathcal{A}^{+}` is a small linear primitive (:data:`tangent_solve_p`): its JVP and
VJP are itself, and ``vmap`` runs it once per batch element, so ``jacfwd``/``jacrev`` of the
homogenised response work. The converged field is wrapped with :func:`adgraph.custom_vjp`
(reverse mode: the primal solve runs once, the converged state is the residual) around an
:func:`adgraph.custom_jvp` (forward mode).

Limits: first derivatives only (a derivative of the rules themselves would need the solve's
dependence on the state); derivatives across load increments chain through the history
variables automatically, since each increment is one such function.
"""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from . import _xp
from .solvers import cg, solve_step

__all__ = ["TangentSystem", "tangent_solve", "tangent_solve_p", "equilibrium"]


class TangentSystem:
    r"""The operator :math:`\mathcal{A}^+ = (\mathbb{G}\mathbb{K}\mathbb{G})^{-1}\mathbb{G}` at
    a linearisation ``lin`` (plain arrays), applied by CG."""

    def __init__(self, grid, lin, finite_strain, cg_tol=1e-10, cg_maxiter=2000):
        self.grid = grid
        self.lin = lin
        self.finite = bool(finite_strain)
        self.cg_tol = cg_tol
        self.cg_maxiter = cg_maxiter
        self.histories = []

    def apply(self, v):
        """:math:`\\mathbb{G}(\\mathbb{K}:v)`."""
        return self.grid.project(self.lin.apply(v), self.finite)

    def solve(self, b):
        """:math:`x = \\mathcal{A}^+ b`: the compatible zero-mean ``x`` with
        :math:`\\mathbb{G}\\mathbb{K} x = \\mathbb{G} b` (small strain: of the symmetric
        part of ``b``, the projection onto symmetric compatible fields being
        :math:`\\mathbb{G}\\circ\\operatorname{sym}`)."""
        xp = _xp.module_of(b)
        b = _xp.asarray(b, xp, dtype=float)
        if not self.finite:  # strains are symmetric: G acts on the symmetric part
            b = 0.5 * (b + xp.swapaxes(b, 0, 1))
        rhs = self.grid.project(xp.array(b), self.finite)
        x, hist, ok = cg(self.apply, rhs, self.cg_tol, self.cg_maxiter)
        self.histories.append(np.array(hist))
        if not ok:
            import warnings

            warnings.warn(
                f"homogenization tangent solve: CG stopped at relative residual {hist[-1]:.2e}",
                RuntimeWarning,
                stacklevel=2,
            )
        return x


def _tsolve_impl(xp, b, *, system):
    return system.solve(b)


def _tsolve_linear(t, ans, b, *, system):
    return tangent_solve_p.bind(t, system=system)


tangent_solve_p = ad.Primitive(
    "homogenization_tangent_solve",
    _tsolve_impl,
    tangent=(_tsolve_linear,),
    vjp=(_tsolve_linear,),
    doc=r"""x = A^+ b = (G K G)^{-1} G b at a converged cell-problem state (CG with the FFT
    projection G and the frozen material tangent K). Linear and symmetric in b, so its JVP
    and VJP are the solve itself; vmap solves each batch element in turn.""",
)


def tangent_solve(b, system: TangentSystem):
    r""":math:`\mathcal{A}^+ b` (differentiable in ``b``, any adgraph transformation)."""
    return tangent_solve_p.bind(b, system=system)


def _require_plain(tree, what="solve"):
    for v in ad.tree_leaves(tree):
        if isinstance(v, ad.Tracer):
            raise NotImplementedError(
                f"homogenization {what}: only first derivatives through the FFT solve are "
                "supported (a second derivative, or vmap over material parameters, reached "
                "the converged-state rule). Take one derivative of the homogenised quantity, "
                "or finite differences of a first derivative."
            )


def _is_float_leaf(v) -> bool:
    if isinstance(v, (bool, int)):
        return False
    if isinstance(v, float):
        return True
    dt = getattr(v, "dtype", None)
    return dt is not None and np.dtype(dt).kind in "fc"


def equilibrium(law, grid, E, history, params, guess, opts):
    r"""The converged strain field (or :math:`F`) of one load increment as a differentiable
    function of the macroscopic ``E``, the law's float parameters and the ``history``.

    ``guess`` is the plain starting field. Returns ``(eps, StepInfo)`` (the info of the primal
    iterations; ``eps`` is traced when any input is).
    """
    dyn = {k: v for k, v in params.items() if _is_float_leaf(v)}
    static = {k: v for k, v in params.items() if k not in dyn}
    theta = {"params": dyn, "history": history}
    finite = law.finite_strain
    nd = grid.d
    axes = tuple(range(2, 2 + nd))
    state = {}

    def merged(th):
        p = dict(static)
        p.update(th["params"])
        return p

    def stress_of(e, th):
        return law.stress(e, th["history"], merged(th))

    def plain(th, Em):
        _require_plain((th, Em))
        if "eps" not in state:
            eps, info = solve_step(law, grid, guess, th["history"], merged(th), opts)
            state["eps"] = eps
            state["info"] = info
        return state["eps"]

    def system_at(eps, th):
        lin = state["info"].lin if "info" in state else None
        if lin is None:
            lin = law.linearize(eps, th["history"], merged(th), opts.tangent)
        return TangentSystem(grid, lin, finite, opts.cg_tol, opts.cg_maxiter)

    def macro_field(Et):
        Et = anp.reshape(Et, (grid.d, grid.d) + (1,) * nd)
        return anp.broadcast_to(Et, (grid.d, grid.d) + grid.shape)

    inner = ad.custom_jvp(plain)

    @inner.defjvp
    def _jvp(primals, tangents):
        th, Em = primals
        th_t, E_t = tangents
        eps = plain(th, Em)
        e_t = macro_field(E_t)
        _, r = ad.jvp(stress_of, (eps, th), (e_t, th_t))
        return eps, e_t - tangent_solve(r, system_at(eps, th))

    def outer_fun(th, Em):
        return inner(th, Em)

    outer = ad.custom_vjp(outer_fun)

    def fwd(th, Em):
        eps = plain(th, Em)
        return eps, (eps, th)

    def bwd(res, ct):
        eps, th = res
        mu = tangent_solve(ct, system_at(eps, th))
        _, pull = ad.vjp(stress_of, eps, th)
        e_bar, th_bar = pull(mu)
        E_bar = anp.sum(ct - e_bar, axis=axes)
        return ad.tree_map(lambda v: -v, th_bar), E_bar

    outer.defvjp(fwd, bwd)
    eps = outer(theta, E)
    if "info" not in state:  # pragma: no cover - the primal always runs
        plain(ad.tree_map(lambda v: v, theta), E)
    return eps, state["info"]
