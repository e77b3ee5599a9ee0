r"""Effective (homogenised) tangents, bounds and exact reference results.

:func:`effective_stiffness` linearises the cell problem at a converged state: for each unit
macroscopic strain :math:`E_b` (Voigt, engineering shears) it solves the tangent problem
:math:`\mathbb{G}\mathbb{K}(E_b + \tilde\varepsilon_b) = 0` for the compatible fluctuation
:math:`\tilde\varepsilon_b` (one CG solve) and takes
:math:`\bar C_{ab} = \langle \mathbb{K} : (E_b + \tilde\varepsilon_b)\rangle_a`. This is the
exact derivative :math:`\partial\langle\sigma\rangle/\partial E` of the discrete problem (for
return maps: the consistent macroscopic tangent of the increment).

**Differentiating it.** By the Hill-Mandel lemma
:math:`\bar C_{ab} = \langle\varepsilon_a : \mathbb{K} : \varepsilon_b\rangle` with
:math:`\varepsilon_b = E_b + \tilde\varepsilon_b`, and each diagonal entry is the minimum of
:math:`\langle(E_b + \tilde\varepsilon):\mathbb{K}:(E_b + \tilde\varepsilon)\rangle` over
compatible fluctuations. So (envelope theorem, for a symmetric :math:`\mathbb{K}`) the
derivative with respect to anything :math:`\mathbb{K}` depends on is
:math:`\dot{\bar C}_{ab} = \langle\varepsilon_a : \dot{\mathbb{K}} : \varepsilon_b\rangle` at
*fixed* :math:`\varepsilon_a, \varepsilon_b`: no adjoint solve. :math:`\dot{\mathbb{K}}` is
the total derivative of the local tangent -- through the parameters directly and through the
converged state (differentiated implicitly by :mod:`.implicit`); adgraph computes it by
differentiating a batched JVP of the stress (third order for energy laws).

Exact results for testing: :func:`voigt_bound`, :func:`reuss_bound` (the arithmetic and
harmonic means of the local stiffness), :func:`laminate_stiffness` (the exact effective
stiffness of a laminate) and :func:`hill_bulk_modulus` (Hill's equal-shear-modulus theorem).
"""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from . import _xp
from . import tensors as T
from .grid import as_grid
from .implicit import TangentSystem
from .solvers import _plain, _plain_array, _plain_tree, solve

__all__ = [
    "effective_stiffness",
    "local_stiffness",
    "voigt_bound",
    "reuss_bound",
    "laminate_stiffness",
    "hill_bulk_modulus",
]


def _traced(*trees) -> bool:
    return any(isinstance(v, ad.Tracer) for t in trees for v in ad.tree_leaves(t))


def effective_stiffness(
    law,
    shape=None,
    E=None,
    *,
    result=None,
    tangent: str = "stored",
    tol: float = 1e-8,
    cg_tol: float = 1e-10,
    cg_maxiter: int = 2000,
    lengths=None,
    **solve_kw,
):
    r"""The homogenised tangent of ``law`` on the grid ``shape``.

    Parameters
    ----------
    law : Law
    shape : tuple or Grid
    E : array ``(d, d)``, optional
        Macroscopic strain (or :math:`\bar F`) of the state to linearise at; default the
        unloaded state (zero strain, :math:`\bar F = I`). Ignored when ``result`` is given.
    result : SolveResult, optional
        Linearise at this converged state (e.g. after plastic loading) instead of solving.
    tangent, tol, cg_tol, cg_maxiter, lengths, **solve_kw
        Passed to :func:`solve` (``cg_tol`` also governs the tangent solves; ``xp="cupy"``
        runs on the GPU).

    Returns
    -------
    array
        Small strain: the ``(n_V, n_V)`` Voigt matrix (order 11, 22, 33, 23, 13, 12 or
        11, 22, 12; engineering shears), so that :math:`\delta\langle\sigma\rangle_V =
        \bar C\,\delta E_V`. Finite strain: the ``(d, d, d, d)`` tensor
        :math:`\partial\langle P\rangle_{ij}/\partial\bar F_{kl}`. An array of the
        solve's module (a CuPy array for a solve on the GPU).

    Differentiable (first order) with respect to material parameters: build the law from
    traced values inside ``adgraph.grad``/``jvp``/``jacfwd``/``jacrev``.
    """
    if result is None:
        grid = as_grid(shape if shape is not None else _grid_shape(law), lengths)
        d = grid.d
        if E is None:
            E = np.eye(d) if law.finite_strain else np.zeros((d, d))
        result = solve(
            law, E, grid, tangent=tangent, tol=tol, cg_tol=cg_tol, cg_maxiter=cg_maxiter, **solve_kw
        )
    grid = result.grid
    d = grid.d
    finite = law.finite_strain
    eps = result.strain
    hist = result.history_start
    xp = getattr(result, "xp", None) or _xp.module_of(_plain(eps))
    params = _xp.to_module(law.params, xp)
    eps_p = _xp.asarray(_plain(eps), xp, dtype=float)
    hist_p = _plain_tree(hist)
    params_p = {k: (_plain_array(v) if isinstance(v, ad.Tracer) else v) for k, v in params.items()}

    lin = result._last_lin if not _traced(eps, hist, params) else None
    if lin is None or result.tangent != tangent:
        lin = law.linearize(eps_p, hist_p, params_p, tangent)
    system = TangentSystem(grid, lin, finite, cg_tol, cg_maxiter)

    units = T.unit_deformations(d) if finite else T.unit_strains(d)
    nb = units.shape[0]
    cols = []
    fields = []
    for b in range(nb):
        eb = grid.uniform(units[b], xp)
        x = system.solve(-lin.apply(eb))
        eb += x
        fields.append(eb)
        cols.append(grid.mean(lin.apply(eb)))
    cols = xp.stack(cols)  # (nb, d, d): mean stress answering unit b
    if finite:
        c = xp.moveaxis(cols, 0, -1).reshape(d, d, d, d)
    else:
        c = T.stress_to_voigt(xp.moveaxis(cols, 0, -1))  # (nv, nb)
    if not _traced(eps, hist, params):
        return c

    # Differentiable part: <eps_a : dK : eps_b> at fixed eps_a, eps_b (envelope theorem).
    basis = xp.stack(fields)  # (nb, d, d, *grid), plain

    def stress_of(e):
        return law.stress(e, hist, params)

    def push(t):
        return ad.jvp(stress_of, (eps,), (t,))[1]

    dsig = ad.vmap(push)(basis)  # (nb, d, d, *grid) traced
    grid_axes = tuple(range(3, 3 + d))
    n = float(grid.size)
    q = []
    for a in range(nb):
        q.append(anp.sum(basis[a][None] * dsig, axis=(1, 2) + grid_axes) / n)
    q = anp.stack(q)  # q[a, b] = <eps_a : K : eps_b>
    if finite:
        q = anp.reshape(q, (d, d, d, d))
    return c + (q - ad.stop_gradient(q))


def _grid_shape(law):
    from .solvers import _infer_shape

    return _infer_shape(law)


def local_stiffness(law, shape, E=None, history=None):
    """The per-voxel tangent of ``law`` at the uniform state ``E`` (default unloaded), as a
    stored field: Voigt ``(n_V, n_V, *shape)`` (finite strain: ``(d*d, d*d, *shape)``)."""
    grid = as_grid(shape)
    d = grid.d
    xp = _xp.data_module(law.params, history)
    if E is None:
        E = np.eye(d) if law.finite_strain else np.zeros((d, d))
    if history is None:
        history = law.init_history(d, grid.shape)
    history = _xp.to_module(history, xp)
    params = _xp.to_module(law.params, xp)
    lin = law.linearize(grid.uniform(_xp.host(E), xp), history, params, "stored")
    return lin.stored


def voigt_bound(law, shape, E=None, history=None):
    r"""The Voigt (upper) bound :math:`\langle\mathbb{K}\rangle`: the volume average of the
    local tangents at the uniform state ``E`` (Voigt matrix)."""
    k = local_stiffness(law, shape, E, history)
    return k.reshape(k.shape[:2] + (-1,)).mean(axis=-1)


def reuss_bound(law, shape, E=None, history=None):
    r"""The Reuss (lower) bound :math:`\langle\mathbb{K}^{-1}\rangle^{-1}` at the uniform
    state ``E`` (Voigt matrix; the inverse of a Voigt stiffness is the Voigt compliance)."""
    k = local_stiffness(law, shape, E, history)
    xp = _xp.module_of(k)
    mats = xp.moveaxis(k.reshape(k.shape[:2] + (-1,)), -1, 0)
    return xp.linalg.inv(xp.linalg.inv(mats).mean(axis=0))


def laminate_stiffness(stiffnesses, fractions, axis: int = 0, d: int = 3):
    r"""The exact effective stiffness of a laminate of layers normal to ``axis``.

    With the Voigt components split into those that carry the traction on the layer planes,
    :math:`N = \{\sigma_{aa}, \sigma_{ab}\}` (index ``axis`` = :math:`a`), and the in-plane
    rest :math:`T`: the in-plane strains and the tractions are uniform, so

    .. math:: \bar C_{NN} = \langle C_{NN}^{-1}\rangle^{-1}, \quad
        \bar C_{NT} = \bar C_{NN}\langle C_{NN}^{-1} C_{NT}\rangle, \quad
        \bar C_{TT} = \langle C_{TT} - C_{TN}C_{NN}^{-1}C_{NT}\rangle
        + \langle C_{TN}C_{NN}^{-1}\rangle \bar C_{NN} \langle C_{NN}^{-1}C_{NT}\rangle,

    the "mixed rule": Reuss averages for the normal and transverse-shear response, Voigt
    averages for the in-plane response.

    ``stiffnesses``: Voigt matrices of the phases; ``fractions``: their volume fractions.
    """
    pairs = T.voigt_pairs(d)
    nidx = [a for a, (i, j) in enumerate(pairs) if axis in (i, j)]
    tidx = [a for a in range(len(pairs)) if a not in nidx]
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    cs = [np.asarray(c, dtype=float) for c in stiffnesses]
    inn = sum(fi * np.linalg.inv(c[np.ix_(nidx, nidx)]) for fi, c in zip(f, cs))
    cnn = np.linalg.inv(inn)
    a_nt = sum(
        fi * np.linalg.solve(c[np.ix_(nidx, nidx)], c[np.ix_(nidx, tidx)]) for fi, c in zip(f, cs)
    )
    a_tn = sum(
        fi * c[np.ix_(tidx, nidx)] @ np.linalg.inv(c[np.ix_(nidx, nidx)]) for fi, c in zip(f, cs)
    )
    schur = sum(
        fi
        * (
            c[np.ix_(tidx, tidx)]
            - c[np.ix_(tidx, nidx)] @ np.linalg.solve(c[np.ix_(nidx, nidx)], c[np.ix_(nidx, tidx)])
        )
        for fi, c in zip(f, cs)
    )
    out = np.zeros((len(pairs), len(pairs)))
    out[np.ix_(nidx, nidx)] = cnn
    out[np.ix_(nidx, tidx)] = cnn @ a_nt
    out[np.ix_(tidx, nidx)] = a_tn @ cnn
    out[np.ix_(tidx, tidx)] = schur + a_tn @ cnn @ a_nt
    return out


def hill_bulk_modulus(bulk_moduli, mu, fractions, d: int = 3):
    r"""Hill's theorem: phases with one shear modulus :math:`\mu` have, for *any* geometry,
    the effective bulk modulus given by
    :math:`1/(\bar K + \tfrac43\mu) = \langle 1/(K + \tfrac43\mu)\rangle` (3-D) or, in plane
    strain, :math:`1/(\bar k + \mu) = \langle 1/(k + \mu)\rangle` for the plane-strain bulk
    modulus :math:`k = K + \mu/3`. Returns :math:`\bar K` (3-D) or :math:`\bar k` (2-D)."""
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()
    K = np.asarray(bulk_moduli, dtype=float)
    if d == 3:
        return 1.0 / np.sum(f / (K + 4.0 * mu / 3.0)) - 4.0 * mu / 3.0
    k = K + mu / 3.0
    return 1.0 / np.sum(f / (k + mu)) - mu
