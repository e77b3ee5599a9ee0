r"""Hand-derived stresses and tangents of the built-in laws, in plain NumPy.

These are what one writes without AD: the references the AD tangents are tested against,
and the "hand-written" side of the benchmark (as :func:`~.laws.explicit_law` laws that run
through the same solver). Tangents are returned as fourth-order tensor fields
``(d, d, d, d, *grid)`` by the ``*_tangent4`` functions; the ``*_law`` constructors store them
in the solver's compact form (Voigt for small strain, ``(d*d, d*d, *grid)`` for finite
strain). Two-dimensional fields are plane strain (the in-plane block of the 3-D formulas).
"""

from __future__ import annotations

import numpy as np

from . import tensors as T
from .laws import ExplicitLaw

__all__ = [
    "linear_elastic_stress",
    "linear_elastic_tangent4",
    "power_law_stress",
    "power_law_tangent4",
    "j2_return_map",
    "j2_tangent4",
    "stvk_stress",
    "stvk_tangent4",
    "neo_hookean_stress",
    "neo_hookean_tangent4",
    "linear_elastic_law",
    "power_law_law",
    "j2_plasticity_law",
    "stvk_law",
    "neo_hookean_law",
]


def _eye(d, nd):
    return np.eye(d).reshape((d, d) + (1,) * nd)


def _outer(a, b):
    return a[:, :, None, None] * b[None, None, :, :]


def _isym(d, nd):
    i = np.eye(d)
    s = 0.5 * (
        i[:, None, :, None] * i[None, :, None, :] + i[:, None, None, :] * i[None, :, :, None]
    )
    return s.reshape((d, d, d, d) + (1,) * nd)


def _idev(d, nd):
    i = _eye(d, nd)
    return _isym(d, nd) - _outer(i, i) / 3.0


def _trace(a):
    return np.einsum("ii...->...", a)


# ------------------------------------------------------------------ linear elasticity
def linear_elastic_stress(eps, history=None, *, K, mu):
    r""":math:`\sigma = \lambda\operatorname{tr}\varepsilon\, I + 2\mu\varepsilon`."""
    lam = K - 2.0 * mu / 3.0
    d = eps.shape[0]
    return lam * _trace(eps) * _eye(d, eps.ndim - 2) + 2.0 * mu * eps


def linear_elastic_tangent4(eps, history=None, *, K, mu):
    r""":math:`\mathbb{C} = \lambda I\otimes I + 2\mu\,\mathbb{I}^{sym}`."""
    d, nd = eps.shape[0], eps.ndim - 2
    lam = np.asarray(K - 2.0 * mu / 3.0)
    i = _eye(d, nd)
    return lam * _outer(i, i) + 2.0 * np.asarray(mu) * _isym(d, nd) + 0.0 * eps[0, 0]


def _linear_elastic_voigt(eps, history=None, *, K, mu):
    d, grid = eps.shape[0], eps.shape[2:]
    nv = T.voigt_size(d)
    lam = np.broadcast_to(K - 2.0 * mu / 3.0, grid)
    mu = np.broadcast_to(mu, grid)
    c = np.zeros((nv, nv) + grid)
    c[:d, :d] = lam
    for a in range(d):
        c[a, a] += 2.0 * mu
    for a in range(d, nv):
        c[a, a] = mu
    return c


def _linear_elastic_action(eps, history, de, *, K, mu):
    lam = K - 2.0 * mu / 3.0
    out = (2.0 * mu) * de
    tr = _trace(de)
    ltr = lam * tr
    for i in range(de.shape[0]):
        out[i, i] += ltr
    return out


# ------------------------------------------------------------------ power law
def _pl_parts(eps, sigma0, eps0, n):
    d, nd = eps.shape[0], eps.ndim - 2
    tr = _trace(eps)
    dev = eps - (tr / 3.0) * _eye(d, nd)
    e2 = (2.0 / 3.0) * (np.sum(eps * eps, axis=(0, 1)) - tr * tr / 3.0)
    eq = np.sqrt(np.maximum(e2, 0.0))
    pos = eq > 0
    eqs = np.where(pos, eq, 1.0)
    seq = np.where(pos, sigma0 * (eqs / eps0) ** (1.0 / n), 0.0)
    return tr, dev, eqs, seq, pos


def power_law_stress(eps, history=None, *, K, sigma0, eps0, n):
    r""":math:`\sigma = K\operatorname{tr}\varepsilon\,I + \tfrac23
    (\sigma_{eq}/\varepsilon_{eq})\operatorname{dev}\varepsilon`."""
    d, nd = eps.shape[0], eps.ndim - 2
    tr, dev, eqs, seq, pos = _pl_parts(eps, sigma0, eps0, n)
    return K * tr * _eye(d, nd) + (2.0 / 3.0) * (seq / eqs) * dev


def power_law_tangent4(eps, history=None, *, K, sigma0, eps0, n):
    r""":math:`\mathbb{C} = K I\otimes I + \tfrac23\frac{\sigma_{eq}}{\varepsilon_{eq}}
    \mathbb{I}^{dev} + \tfrac49\Big(\frac{d\sigma_{eq}}{d\varepsilon_{eq}}
    - \frac{\sigma_{eq}}{\varepsilon_{eq}}\Big)\frac{\operatorname{dev}\varepsilon \otimes
    \operatorname{dev}\varepsilon}{\varepsilon_{eq}^2}`, with
    :math:`d\sigma_{eq}/d\varepsilon_{eq} = \sigma_{eq}/(n\varepsilon_{eq})`."""
    d, nd = eps.shape[0], eps.ndim - 2
    tr, dev, eqs, seq, pos = _pl_parts(eps, sigma0, eps0, n)
    i = _eye(d, nd)
    secant = seq / eqs
    dseq = seq / (n * eqs)
    return (
        K * _outer(i, i)
        + (2.0 / 3.0) * secant * _idev(d, nd)
        + (4.0 / 9.0) * (dseq - secant) / (eqs * eqs) * _outer(dev, dev)
    )


# ------------------------------------------------------------------ J2 plasticity
def _embed(eps):
    if eps.shape[0] == 3:
        return eps
    out = np.zeros((3, 3) + eps.shape[2:])
    out[:2, :2] = eps
    return out


def _j2_trial(eps, history, K, mu, sigma_y0, H):
    nd = eps.ndim - 2
    ee = _embed(eps) - history["plastic_strain"]
    tr = _trace(ee)
    s_tr = 2.0 * mu * (ee - (tr / 3.0) * _eye(3, nd))
    q = np.sqrt(1.5 * np.sum(s_tr * s_tr, axis=(0, 1)))
    sy = sigma_y0 + H * history["alpha"]
    plastic = q > sy
    qs = np.where(plastic, q, 1.0)
    dgamma = np.where(plastic, (q - sy) / (3.0 * mu + H), 0.0)
    return tr, s_tr, qs, dgamma, plastic


def j2_return_map(eps, history, *, K, mu, sigma_y0, H):
    """The radial return of :func:`~.laws.j2_plasticity` written out in NumPy:
    ``(sigma, new_history)``."""
    d, nd = eps.shape[0], eps.ndim - 2
    tr, s_tr, qs, dgamma, plastic = _j2_trial(eps, history, K, mu, sigma_y0, H)
    sig = K * tr * _eye(3, nd) + (1.0 - 3.0 * mu * dgamma / qs) * s_tr
    new = {
        "plastic_strain": history["plastic_strain"] + (1.5 * dgamma / qs) * s_tr,
        "alpha": history["alpha"] + dgamma,
    }
    return sig[:d, :d], new


def _j2_stress(eps, history, *, K, mu, sigma_y0, H):
    return j2_return_map(eps, history, K=K, mu=mu, sigma_y0=sigma_y0, H=H)[0]


def j2_tangent4(eps, history, *, K, mu, sigma_y0, H):
    r"""The consistent (algorithmic) tangent of the radial return:

    .. math:: \mathbb{C}^{ep} = K I\otimes I + 2\mu\Big(1 - \frac{3\mu\Delta\gamma}{q^{tr}}\Big)
        \mathbb{I}^{dev} + 6\mu^2\Big(\frac{\Delta\gamma}{q^{tr}} - \frac1{3\mu + H}\Big)
        \hat N\otimes\hat N,

    :math:`\hat N = s^{tr}/\lVert s^{tr}\rVert`, the last term only where the step is plastic
    (de Souza Neto, Peric & Owen, box 7.4)."""
    d, nd = eps.shape[0], eps.ndim - 2
    tr, s_tr, qs, dgamma, plastic = _j2_trial(eps, history, K, mu, sigma_y0, H)
    i = _eye(3, nd)
    nhat = s_tr / (np.sqrt(2.0 / 3.0) * qs)
    coef = np.where(plastic, 6.0 * mu * mu * (dgamma / qs - 1.0 / (3.0 * mu + H)), 0.0)
    c = (
        K * _outer(i, i)
        + 2.0 * mu * (1.0 - 3.0 * mu * dgamma / qs) * _idev(3, nd)
        + coef * _outer(nhat, nhat)
    )
    return c[:d, :d, :d, :d]


def _j2_voigt(eps, history, *, K, mu, sigma_y0, H):
    """The consistent tangent assembled directly in Voigt form (for the solver)."""
    d = eps.shape[0]
    grid = eps.shape[2:]
    tr, s_tr, qs, dgamma, plastic = _j2_trial(eps, history, K, mu, sigma_y0, H)
    pairs = T.voigt_pairs(d)
    nv = len(pairs)
    theta = 2.0 * mu * (1.0 - 3.0 * mu * dgamma / qs)
    coef = np.where(plastic, 6.0 * mu * mu * (dgamma / qs - 1.0 / (3.0 * mu + H)), 0.0)
    coef = coef * (1.5 / (qs * qs))  # N = s/|s| with |s|^2 = (2/3) q^2
    nv_vec = [s_tr[i, j] for i, j in pairs]
    c = np.empty((nv, nv) + grid)
    kk = K - theta / 3.0
    for a, (i, j) in enumerate(pairs):
        for b, (k, l) in enumerate(pairs):
            v = coef * nv_vec[a] * nv_vec[b]
            if i == j and k == l:
                v = v + kk
            if a == b:
                v = v + (theta if i == j else 0.5 * theta)
            c[a, b] = v
    return c


def _j2_init(d, shape):
    return {"plastic_strain": np.zeros((3, 3) + tuple(shape)), "alpha": np.zeros(tuple(shape))}


# ------------------------------------------------------------------ finite strain
def _mm(a, b):
    return np.einsum("ik...,kj...->ij...", a, b)


def _inv(F):
    d = F.shape[0]
    m = np.moveaxis(F, (0, 1), (-2, -1))
    return np.moveaxis(np.linalg.inv(m), (-2, -1), (0, 1)) if d else F


def stvk_stress(F, history=None, *, K, mu):
    r""":math:`P = F S`, :math:`S = \lambda\operatorname{tr}E\, I + 2\mu E`,
    :math:`E = (F^TF - I)/2`."""
    d, nd = F.shape[0], F.ndim - 2
    lam = K - 2.0 * mu / 3.0
    E = 0.5 * (_mm(np.swapaxes(F, 0, 1), F) - _eye(d, nd))
    S = lam * _trace(E) * _eye(d, nd) + 2.0 * mu * E
    return _mm(F, S)


def stvk_tangent4(F, history=None, *, K, mu):
    r""":math:`\partial P_{ij}/\partial F_{kl} = \delta_{ik} S_{lj} + \lambda F_{ij}F_{kl}
    + \mu (F_{il} F_{kj} + \delta_{jl} (FF^T)_{ik})`."""
    d, nd = F.shape[0], F.ndim - 2
    lam = K - 2.0 * mu / 3.0
    i = np.eye(d).reshape((d, d) + (1,) * nd)
    E = 0.5 * (_mm(np.swapaxes(F, 0, 1), F) - i)
    S = lam * _trace(E) * i + 2.0 * mu * E
    FFt = _mm(F, np.swapaxes(F, 0, 1))
    a = np.einsum("ik...,lj...->ijkl...", i * np.ones_like(F), S)
    a = a + lam * np.einsum("ij...,kl...->ijkl...", F, F)
    a = a + mu * np.einsum("il...,kj...->ijkl...", F, F)
    a = a + mu * np.einsum("jl...,ik...->ijkl...", i * np.ones_like(F), FFt)
    return a


def neo_hookean_stress(F, history=None, *, K, mu):
    r""":math:`P = \mu(F - F^{-T}) + \lambda\ln J\, F^{-T}`."""
    lam = K - 2.0 * mu / 3.0
    Fi = _inv(F)
    FiT = np.swapaxes(Fi, 0, 1)
    lnJ = np.log(np.linalg.det(np.moveaxis(F, (0, 1), (-2, -1))))
    return mu * (F - FiT) + lam * lnJ * FiT


def neo_hookean_tangent4(F, history=None, *, K, mu):
    r""":math:`\partial P_{ij}/\partial F_{kl} = \mu\delta_{ik}\delta_{jl}
    + (\mu - \lambda\ln J) F^{-1}_{jk} F^{-1}_{li} + \lambda F^{-1}_{ji} F^{-1}_{lk}`."""
    d, nd = F.shape[0], F.ndim - 2
    lam = K - 2.0 * mu / 3.0
    Fi = _inv(F)
    lnJ = np.log(np.linalg.det(np.moveaxis(F, (0, 1), (-2, -1))))
    i = np.eye(d).reshape((d, d) + (1,) * nd) * np.ones_like(F)
    a = mu * np.einsum("ik...,jl...->ijkl...", i, i)
    a = a + (mu - lam * lnJ) * np.einsum("jk...,li...->ijkl...", Fi, Fi)
    a = a + lam * np.einsum("ji...,lk...->ijkl...", Fi, Fi)
    return a


def _finite_stored(tangent4):
    def stored(F, history=None, **p):
        a = tangent4(F, history, **p)
        d = F.shape[0]
        return a.reshape((d * d, d * d) + F.shape[2:])

    return stored


def _voigt_of(tangent4):
    def stored(eps, history=None, **p):
        return T.tensor4_to_voigt(tangent4(eps, history, **p))

    return stored


# ------------------------------------------------------------------ as laws
def linear_elastic_law(K, mu) -> ExplicitLaw:
    """:func:`~.laws.linear_elastic` with hand-written stress, tangent and action."""
    return ExplicitLaw(
        linear_elastic_stress,
        _linear_elastic_voigt,
        {"K": K, "mu": mu},
        action=_linear_elastic_action,
        name="linear_elastic (hand-written)",
    )


def power_law_law(K, sigma0, eps0, n) -> ExplicitLaw:
    """:func:`~.laws.power_law` with hand-written stress and tangent."""
    return ExplicitLaw(
        power_law_stress,
        _voigt_of(power_law_tangent4),
        {"K": K, "sigma0": sigma0, "eps0": eps0, "n": n},
        name="power_law (hand-written)",
    )


def j2_plasticity_law(K, mu, sigma_y0, H) -> ExplicitLaw:
    """:func:`~.laws.j2_plasticity` with the hand-written return map and consistent
    tangent."""
    return ExplicitLaw(
        _j2_stress,
        _j2_voigt,
        {"K": K, "mu": mu, "sigma_y0": sigma_y0, "H": H},
        update=lambda eps, h, **p: j2_return_map(eps, h, **p),
        init_history=_j2_init,
        name="j2_plasticity (hand-written)",
    )


def stvk_law(K, mu) -> ExplicitLaw:
    """:func:`~.laws.stvk` with hand-written stress and tangent."""
    return ExplicitLaw(
        stvk_stress,
        _finite_stored(stvk_tangent4),
        {"K": K, "mu": mu},
        finite_strain=True,
        name="stvk (hand-written)",
    )


def neo_hookean_law(K, mu) -> ExplicitLaw:
    """:func:`~.laws.neo_hookean` with hand-written stress and tangent."""
    return ExplicitLaw(
        neo_hookean_stress,
        _finite_stored(neo_hookean_tangent4),
        {"K": K, "mu": mu},
        finite_strain=True,
        name="neo_hookean (hand-written)",
    )
