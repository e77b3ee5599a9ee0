r"""Material laws: written once per voxel with :mod:`adgraph.numpy`, vectorised over the grid.

A law maps a strain field :math:`\varepsilon` (small strain) or a deformation gradient
:math:`F` (finite strain), shaped ``(d, d, *grid)``, to the stress field (Cauchy stress, or the
first Piola-Kirchhoff stress :math:`P`). adgraph supplies the derivatives:

* **energy laws** (:func:`energy_law`): the user writes the energy density
  :math:`\psi(\varepsilon)` per voxel; the stress in every voxel is the gradient of the
  summed energy :math:`\sigma = \partial(\sum_x \psi)/\partial\varepsilon` -- one reverse pass
  over the whole grid, since voxel :math:`x`'s energy depends on voxel :math:`x`'s strain only;
* **return maps** (:func:`return_map_law`): the user writes
  :math:`(\varepsilon, h) \mapsto (\sigma, h')` with history variables :math:`h`; the
  *consistent* (algorithmic) tangent is the derivative of the return map itself, so the
  branch of an elastic/plastic split must be chosen with ``anp.where`` and the branch not
  taken must stay finite;
* the **tangent** :math:`\mathbb{K} = \partial\sigma/\partial\varepsilon` is either a
  matrix-free action :math:`\delta\varepsilon \mapsto \mathbb{K}:\delta\varepsilon` (a JVP
  of the stress, forward-over-reverse for energy laws, run in every CG iteration), or the
  stored per-voxel tangent, from all :math:`n_V` (small strain) or :math:`d^2` (finite
  strain) unit tangents pushed through the stress in *one* batched forward pass (``vmap``
  over ``jvp``), built once per Newton iteration.

Inside the solvers these programs run on plain arrays, compiled the first time they are
needed by the law's ``backend`` (:mod:`.kernels`): C code for one voxel looped over the grid
(``"c"``, the default when a C compiler is found), ``adgraph.jit`` of the whole-grid
program (``"jit"``), or operation by operation (``"eager"``). Derivatives *of* the solve
(material parameters traced) always run the law eagerly under adgraph's transformations.

Parameters (moduli, yield stresses, ...) are scalars or fields of the grid's shape; they may
be traced values, which makes the homogenised response differentiable with respect to them
(see :func:`~adgraph.examples.homogenization.solve`).

Two-dimensional problems are plane strain: the built-in laws embed the in-plane strain in
3-D with :math:`\varepsilon_{33} = 0` (:math:`F_{33} = 1`) and return the in-plane stress.
"""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from . import _xp
from . import tensors as T

__all__ = [
    "Law",
    "EnergyLaw",
    "ReturnMapLaw",
    "ExplicitLaw",
    "Linearization",
    "stored_apply",
    "energy_law",
    "return_map_law",
    "explicit_law",
    "linear_elastic",
    "power_law",
    "j2_plasticity",
    "stvk",
    "neo_hookean",
    "TANGENT_MODES",
]

TANGENT_MODES = ("stored", "action")


# ------------------------------------------------------------------ linearisation
class Linearization:
    """The stress at a state and the tangent there, on plain arrays.

    ``sigma``: the stress field; ``apply(de)``: :math:`\\mathbb{K} : \\delta\\varepsilon`;
    ``stored``: the per-voxel tangent as a matrix field (``(n_V, n_V, *grid)`` Voigt for small
    strain, ``(d*d, d*d, *grid)`` for finite strain) or None in action mode.
    """

    __slots__ = ("sigma", "apply", "stored")

    def __init__(self, sigma, apply, stored=None):
        self.sigma = sigma
        self.apply = apply
        self.stored = stored


def _matvec(xp, k, v):
    """``out[a, n] = sum_b k[a, b, n] v[b, n]``: one small matrix-vector product per voxel."""
    if xp is np:
        return np.einsum("abn,bn->an", k, v)
    # other modules (CuPy): one elementwise product and one reduction over the short axis,
    # coalesced along the voxels, rather than a batched GEMM of n tiny matrices
    return (k * v[None]).sum(axis=1)


def stored_apply(stored, d: int, finite_strain: bool):
    """The action :math:`\\delta\\varepsilon \\mapsto \\mathbb{K}:\\delta\\varepsilon` of a
    stored tangent (a batched matrix-vector product per voxel, by the array module of
    ``stored``)."""
    xp = _xp.module_of(stored)
    nb = stored.shape[0]
    grid = stored.shape[2:]
    n = int(np.prod(grid))
    if finite_strain:
        k = stored.reshape(nb, nb, n)

        def apply(de):
            v = de.reshape(nb, n)
            return _matvec(xp, k, v).reshape((d, d) + grid)

        return apply
    pairs = T.voigt_pairs(d)
    gather = [i * d + j for i, j in pairs]
    factor = np.array([1.0 if i == j else 2.0 for i, j in pairs])
    scatter = T._full_index(d).ravel()
    if xp is not np:  # index tables and factors on the device, copied once per module
        from ._xp import constant

        gather = constant(xp, ("voigt_gather", d), lambda: np.asarray(gather, dtype=np.intp))
        factor = constant(xp, ("voigt_factor", d), lambda: factor)
        scatter = constant(xp, ("voigt_scatter", d), lambda: scatter)
    k = (stored * factor.reshape((1, nb) + (1,) * len(grid))).reshape(nb, nb, n)

    def apply(de):
        v = de.reshape(d * d, n)[gather]
        out = _matvec(xp, k, v)
        return out[scatter].reshape((d, d) + grid)

    return apply


# ------------------------------------------------------------------ laws
class Law:
    """Base class of material laws. Subclasses define :meth:`update`."""

    finite_strain = False
    differentiable = True  # built with adgraph (False for hand-written laws)

    def __init__(self, name: str, params: dict, finite_strain: bool = False, backend: str = "auto"):
        self.name = name
        self.params = dict(params)
        self.finite_strain = bool(finite_strain)
        self.backend = backend
        self._kernels = None

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.name}: {ps})"

    @property
    def has_history(self) -> bool:
        return False

    def init_history(self, d: int, shape: tuple):
        """History variables at the start of loading (None for laws without history)."""
        return None

    def merged(self, params=None) -> dict:
        """The law's parameters with ``params`` overriding them."""
        if not params:
            return self.params
        out = dict(self.params)
        out.update(params)
        return out

    def replace(self, **params) -> Law:
        """A copy of the law with some parameters replaced."""
        import copy

        new = copy.copy(self)
        new.params = self.merged(params)
        new._kernels = None
        return new

    def update(self, eps, history=None, params=None):
        """``(stress, new_history)`` at strain ``eps`` from ``history`` (adgraph code)."""
        raise NotImplementedError

    def stress(self, eps, history=None, params=None):
        """The stress field at ``eps`` (differentiable in ``eps`` and the parameters)."""
        return self.update(eps, history, params)[0]

    @property
    def kernels(self):
        """The compiled plain-array programs of this law (:class:`~.kernels.LawKernels`)."""
        if self._kernels is None or self._kernels.requested != self.backend:
            from .kernels import LawKernels

            self._kernels = LawKernels(self, self.backend)
        return self._kernels

    def plain_stress(self, eps, history=None, params=None):
        """:meth:`stress` on plain arrays, compiled by the law's backend (the solvers'
        residual evaluations)."""
        return self.kernels.stress(eps, history, self.merged(params))

    def linearize(self, eps, history=None, params=None, tangent: str = "stored"):
        """:class:`Linearization` at the plain state ``eps``.

        ``"stored"``: the stress and the per-voxel tangent from one batched forward pass (all
        unit tangents at once); ``"action"``: the stress, and a tangent action that pushes
        one tangent through the law per call. Compiled by the law's backend
        (:mod:`.kernels`: C for one voxel, ``adgraph.jit`` for the grid, or eager).
        """
        p = self.merged(params)
        d = eps.shape[0]
        if tangent == "stored":
            sigma, stored = self.kernels.stored(eps, history, p)
            return Linearization(sigma, stored_apply(stored, d, self.finite_strain), stored)
        if tangent == "action":
            sigma, apply = self.kernels.action(eps, history, p)
            return Linearization(sigma, apply)
        raise ValueError(f"tangent must be one of {TANGENT_MODES}, got {tangent!r}")

    def tangent(self, eps, history=None, params=None):
        """The per-voxel tangent :math:`\\partial\\sigma_{ij}/\\partial\\varepsilon_{kl}` as a
        fourth-order field ``(d, d, d, d, *grid)`` at the plain state ``eps`` (from the
        batched forward pass; small strain: the minor-symmetric tangent on symmetric
        tensors; finite strain: :math:`\\partial P_{ij}/\\partial F_{kl}`)."""
        stored = self.linearize(eps, history, params, "stored").stored
        d = eps.shape[0]
        if self.finite_strain:
            return stored.reshape((d, d, d, d) + tuple(eps.shape[2:]))
        return T.voigt_to_tensor4(stored)


def _short(v):
    if hasattr(v, "shape") and getattr(v, "shape", ()) != ():
        return f"<field {tuple(v.shape)}>"
    try:
        return f"{float(v):g}"
    except TypeError:
        return "<traced>"


class EnergyLaw(Law):
    r"""A hyperelastic law from its energy density ``psi(eps, **params)`` (per voxel, returns
    a ``grid``-shaped field or anything whose sum is the total energy).

    Small strain: :math:`\sigma = \operatorname{sym}\,\partial\psi/\partial\varepsilon` (the
    gradient on symmetric tensors; ``symmetrize=False`` skips the symmetrisation when ``psi``
    is already a symmetric function of :math:`\varepsilon`). Finite strain:
    :math:`P = \partial\psi/\partial F`.
    """

    def __init__(
        self, psi, params, finite_strain=False, symmetrize=True, name=None, backend="auto"
    ):
        super().__init__(name or getattr(psi, "__name__", "energy"), params, finite_strain, backend)
        self.psi = psi
        self.symmetrize = bool(symmetrize) and not finite_strain

    def energy(self, eps, params=None):
        """The energy density field :math:`\\psi(\\varepsilon)`."""
        return self.psi(eps, **self.merged(params))

    def stress(self, eps, history=None, params=None):
        p = self.merged(params)
        psi = self.psi
        g = ad.grad(lambda e: anp.sum(psi(e, **p)))(eps)
        return T.sym(g) if self.symmetrize else g

    def update(self, eps, history=None, params=None):
        return self.stress(eps, history, params), history


class ReturnMapLaw(Law):
    """An inelastic law from its return map ``fn(eps, history, **params) -> (sigma,
    new_history)`` and ``init_history(d, shape)``; the consistent tangent is the derivative
    of ``fn`` with respect to ``eps`` at fixed ``history``."""

    def __init__(self, fn, init_history, params, finite_strain=False, name=None, backend="auto"):
        super().__init__(
            name or getattr(fn, "__name__", "return_map"), params, finite_strain, backend
        )
        self.fn = fn
        self._init_history = init_history

    @property
    def has_history(self) -> bool:
        return True

    def init_history(self, d, shape):
        return self._init_history(d, tuple(shape))

    def update(self, eps, history=None, params=None):
        return self.fn(eps, history, **self.merged(params))


class ExplicitLaw(Law):
    """A law with hand-written stress and tangent (plain NumPy, no AD): the reference the
    AD laws are checked and timed against.

    ``stress(eps, history, **p) -> sigma``; ``tangent(eps, history, **p)`` -> the stored
    tangent (Voigt ``(n_V, n_V, *grid)`` for small strain, ``(d*d, d*d, *grid)`` for finite
    strain); optional ``action(eps, history, de, **p) -> dsigma``; optional
    ``update(eps, history, **p) -> (sigma, new_history)`` and ``init_history(d, shape)`` for
    history-dependent laws.
    """

    differentiable = False

    def __init__(
        self,
        stress,
        tangent,
        params,
        action=None,
        update=None,
        init_history=None,
        finite_strain=False,
        name=None,
    ):
        super().__init__(name or getattr(stress, "__name__", "explicit"), params, finite_strain)
        self._stress = stress
        self._tangent = tangent
        self._action = action
        self._update = update
        self._init_history = init_history

    @property
    def has_history(self) -> bool:
        return self._init_history is not None

    def init_history(self, d, shape):
        return None if self._init_history is None else self._init_history(d, tuple(shape))

    def stress(self, eps, history=None, params=None):
        return self._stress(_plain(eps, self.name), history, **self.merged(params))

    def plain_stress(self, eps, history=None, params=None):
        return self._stress(eps, history, **self.merged(params))

    def update(self, eps, history=None, params=None):
        p = self.merged(params)
        eps = _plain(eps, self.name)
        if self._update is not None:
            return self._update(eps, history, **p)
        return self._stress(eps, history, **p), history

    def linearize(self, eps, history=None, params=None, tangent="stored"):
        p = self.merged(params)
        d = eps.shape[0]
        sigma = self._stress(eps, history, **p)
        if tangent == "action" and self._action is not None:
            act = self._action
            return Linearization(sigma, lambda de: act(eps, history, de, **p))
        if tangent not in TANGENT_MODES:
            raise ValueError(f"tangent must be one of {TANGENT_MODES}, got {tangent!r}")
        stored = self._tangent(eps, history, **p)
        return Linearization(sigma, stored_apply(stored, d, self.finite_strain), stored)


def _plain(x, name):
    if isinstance(x, ad.Tracer):
        raise TypeError(
            f"law {name!r} is hand-written (explicit_law) and cannot be differentiated; write "
            "it as an energy_law or return_map_law with adgraph.numpy to differentiate it"
        )
    return x


# ------------------------------------------------------------------ public constructors
def energy_law(
    psi,
    finite_strain: bool = False,
    symmetrize: bool = True,
    name=None,
    backend: str = "auto",
    **params,
):
    r"""A hyperelastic law from the energy density ``psi(eps, **params)``.

    ``psi`` is written with :mod:`adgraph.numpy` for fields shaped ``(d, d, *grid)`` and
    returns the energy density per voxel; the stress is its gradient, the tangent its
    Hessian (forward-over-reverse). With ``finite_strain=True`` the argument is the
    deformation gradient :math:`F` and the stress the first Piola-Kirchhoff stress.
    ``psi`` should not assume the grid has axes: the ``"c"`` backend traces it for a single
    voxel (fields shaped ``(d, d)``); ``backend`` is ``"auto"``, ``"c"``, ``"jit"`` or
    ``"eager"`` (see :mod:`.kernels`; settable later as ``law.backend``).

    Example::

        def psi(eps, lam, mu):
            tr = eps[0, 0] + eps[1, 1] + eps[2, 2]
            return 0.5 * lam * tr**2 + mu * anp.sum(eps * eps, axis=(0, 1))

        law = hom.energy_law(psi, lam=1.0, mu=0.5)
    """
    return EnergyLaw(psi, params, finite_strain, symmetrize, name, backend)


def return_map_law(
    fn, init_history, finite_strain: bool = False, name=None, backend: str = "auto", **params
):
    """An inelastic law from a return map ``fn(eps, history, **params) -> (sigma,
    new_history)`` written with :mod:`adgraph.numpy`; ``init_history(d, shape)`` gives the
    initial history (a pytree of arrays). The consistent tangent is the derivative of
    ``fn``: choose branches with ``anp.where`` and keep the branch not taken finite. As for
    :func:`energy_law`, ``fn`` should also work for a single voxel (no grid axes), and
    ``backend`` chooses how the solvers run it."""
    return ReturnMapLaw(fn, init_history, params, finite_strain, name, backend)


def explicit_law(
    stress,
    tangent,
    action=None,
    update=None,
    init_history=None,
    finite_strain=False,
    name=None,
    **params,
):
    """A law with hand-written (NumPy) stress and tangent; see :class:`ExplicitLaw`."""
    return ExplicitLaw(stress, tangent, params, action, update, init_history, finite_strain, name)


# ------------------------------------------------------------------ built-in laws
def _linear_elastic_psi(eps, K, mu):
    tr = T.trace(eps)
    lam = K - 2.0 * mu / 3.0
    return 0.5 * lam * tr * tr + mu * T.ddot(eps, eps)


def linear_elastic(K, mu) -> EnergyLaw:
    r"""Isotropic linear elasticity, :math:`\psi = \tfrac12 \lambda (\operatorname{tr}
    \varepsilon)^2 + \mu\, \varepsilon:\varepsilon` with :math:`\lambda = K - 2\mu/3`
    (bulk modulus ``K``, shear modulus ``mu``: scalars or fields of the grid's shape)."""
    return EnergyLaw(
        _linear_elastic_psi, {"K": K, "mu": mu}, symmetrize=False, name="linear_elastic"
    )


def _power_law_psi(eps, K, sigma0, eps0, n):
    tr = T.trace(eps)
    e2 = (2.0 / 3.0) * T.dev_norm2(eps)  # equivalent strain squared
    pos = e2 > 0.0
    e2s = anp.where(pos, e2, 1.0)  # keeps the branch not taken finite
    expo = (n + 1.0) / (2.0 * n)
    w = sigma0 * eps0 * n / (n + 1.0) * (e2s / (eps0 * eps0)) ** expo
    return 0.5 * K * tr * tr + anp.where(pos, w, 0.0)


def power_law(K, sigma0, eps0, n) -> EnergyLaw:
    r"""Power-law nonlinear elasticity (deformation theory of plasticity):

    .. math:: \psi = \tfrac12 K (\operatorname{tr}\varepsilon)^2
        + \frac{n}{n+1}\,\sigma_0\varepsilon_0
          \Big(\frac{\varepsilon_{eq}}{\varepsilon_0}\Big)^{(n+1)/n},
        \qquad \varepsilon_{eq} = \sqrt{\tfrac23\,\operatorname{dev}\varepsilon :
        \operatorname{dev}\varepsilon},

    so that :math:`\sigma_{eq} = \sigma_0 (\varepsilon_{eq}/\varepsilon_0)^{1/n}` (``n = 1``:
    linear with :math:`3\mu = \sigma_0/\varepsilon_0`; large ``n``: nearly perfectly
    plastic). At :math:`\varepsilon_{eq} = 0` the deviatoric stress and tangent are taken as
    zero (for ``n > 1`` the true tangent is infinite there)."""
    return EnergyLaw(
        _power_law_psi,
        {"K": K, "sigma0": sigma0, "eps0": eps0, "n": n},
        symmetrize=False,
        name="power_law",
    )


def _j2_init(d, shape):
    return {"plastic_strain": np.zeros((3, 3) + tuple(shape)), "alpha": np.zeros(tuple(shape))}


def _j2_return_map(eps, history, K, mu, sigma_y0, H):
    d = eps.shape[0]
    grid_nd = len(eps.shape) - 2
    i3 = T.identity(3, grid_nd, like=eps)
    ep = history["plastic_strain"]
    alpha = history["alpha"]
    ee = T.embed3(eps) - ep  # elastic strain (3-D)
    tr = T.trace(ee)
    s_tr = 2.0 * mu * (ee - (tr / 3.0) * i3)  # trial deviatoric stress
    ss = T.ddot(s_tr, s_tr)
    sy = sigma_y0 + H * alpha
    plastic = 1.5 * ss > sy * sy  # f_trial > 0, without a square root at ss = 0
    q = anp.sqrt(1.5 * anp.where(plastic, ss, 1.0))  # von Mises trial stress (safe)
    dgamma = anp.where(plastic, (q - sy) / (3.0 * mu + H), 0.0)
    factor = 1.0 - 3.0 * mu * dgamma / q
    sig3 = (K * tr) * i3 + factor * s_tr
    new_ep = ep + (1.5 * dgamma / q) * s_tr
    new_hist = {"plastic_strain": new_ep, "alpha": alpha + dgamma}
    sig = sig3 if d == 3 else sig3[:2, :2]
    return sig, new_hist


def j2_plasticity(K, mu, sigma_y0, H) -> ReturnMapLaw:
    r"""J2 (von Mises) elasto-plasticity with linear isotropic hardening, by the radial
    return map: with the trial deviator :math:`s^{tr} = 2\mu\,\operatorname{dev}
    (\varepsilon - \varepsilon^p_n)` and :math:`q^{tr} = \sqrt{3/2\, s^{tr}:s^{tr}}`,

    .. math:: \Delta\gamma = \frac{\langle q^{tr} - \sigma_{y0} - H\alpha_n\rangle}{3\mu + H},
        \quad \sigma = K \operatorname{tr}\varepsilon^e\, I
        + \Big(1 - \frac{3\mu\Delta\gamma}{q^{tr}}\Big) s^{tr},

    :math:`\varepsilon^p = \varepsilon^p_n + \tfrac32 \Delta\gamma\, s^{tr}/q^{tr}`,
    :math:`\alpha = \alpha_n + \Delta\gamma`. History: ``{"plastic_strain": (3, 3, *grid),
    "alpha": grid}`` (3-D also in plane strain). The consistent tangent is the derivative of
    this map (AD through the ``where``)."""
    return ReturnMapLaw(
        _j2_return_map,
        _j2_init,
        {"K": K, "mu": mu, "sigma_y0": sigma_y0, "H": H},
        name="j2_plasticity",
    )


def _stvk_psi(F, K, mu):
    d = F.shape[0]
    i = T.identity(d, len(F.shape) - 2, like=F)
    E = 0.5 * (T.dot(T.transpose(F), F) - i)
    trE = T.trace(E)
    lam = K - 2.0 * mu / 3.0
    return 0.5 * lam * trE * trE + mu * T.ddot(E, E)


def stvk(K, mu) -> EnergyLaw:
    r"""St Venant-Kirchhoff hyperelasticity, :math:`\psi = \tfrac12\lambda(\operatorname{tr}
    E)^2 + \mu E:E` with the Green-Lagrange strain :math:`E = (F^TF - I)/2` (finite strain;
    the stress is :math:`P = F S`)."""
    return EnergyLaw(_stvk_psi, {"K": K, "mu": mu}, finite_strain=True, name="stvk")


def _neo_hookean_psi(F, K, mu):
    J = T.det(F)
    lnJ = anp.log(J)
    lam = K - 2.0 * mu / 3.0
    return 0.5 * mu * (T.ddot(F, F) - F.shape[0]) - mu * lnJ + 0.5 * lam * lnJ * lnJ


def neo_hookean(K, mu) -> EnergyLaw:
    r"""Compressible Neo-Hookean hyperelasticity,
    :math:`\psi = \tfrac{\mu}2(F:F - 3) - \mu\ln J + \tfrac\lambda2 (\ln J)^2` with
    :math:`J = \det F`, :math:`\lambda = K - 2\mu/3`; it linearises to isotropic elasticity
    with moduli ``K``, ``mu``. :math:`P = \mu(F - F^{-T}) + \lambda \ln J\, F^{-T}`."""
    return EnergyLaw(_neo_hookean_psi, {"K": K, "mu": mu}, finite_strain=True, name="neo_hookean")
