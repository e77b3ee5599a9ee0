"""Homogenisation material laws: AD stresses and tangents against hand-derived closed forms.

Every built-in law, in 2-D (plane strain) and 3-D, at random states: the AD stress and the
AD tangent (stored, from one batched forward pass; and the matrix-free action) agree with the
closed-form stress and tangent to 1e-12 relative. For J2 plasticity the reference is the
consistent elasto-plastic tangent, at states with both elastic and plastic voxels.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph.numpy as anp
from adgraph.examples import homogenization as hom
from adgraph.examples.homogenization import closed_form as cf
from adgraph.examples.homogenization import tensors as T

RTOL = 1e-12
SHAPES = {2: (5, 6), 3: (4, 3, 5)}


def rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def sym_field(rng, d, shape, scale=0.01):
    e = scale * rng.standard_normal((d, d) + shape)
    return 0.5 * (e + np.swapaxes(e, 0, 1))


def check_law(law, eps, history, stress_ref, tangent4_ref, finite=False):
    """AD stress, stored tangent and tangent action against the closed forms."""
    d = eps.shape[0]
    shape = eps.shape[2:]
    lin = law.linearize(eps, history, None, "stored")
    assert rel(lin.sigma, stress_ref) < RTOL
    if finite:
        stored_ref = tangent4_ref.reshape((d * d, d * d) + shape)
    else:
        stored_ref = T.tensor4_to_voigt(tangent4_ref)
    assert rel(lin.stored, stored_ref) < RTOL
    rng = np.random.default_rng(7)
    de = rng.standard_normal(eps.shape)
    if not finite:
        de = 0.5 * (de + np.swapaxes(de, 0, 1))
    expect = np.einsum("ijkl...,kl...->ij...", tangent4_ref, de)
    act = law.linearize(eps, history, None, "action")
    assert rel(act.sigma, stress_ref) < RTOL
    assert rel(act.apply(de), expect) < RTOL
    assert rel(lin.apply(de), expect) < RTOL
    # the differentiable stress agrees with the compiled one
    assert rel(law.stress(eps, history), stress_ref) < RTOL


@pytest.mark.parametrize("d", [2, 3])
def test_linear_elastic(d):
    rng = np.random.default_rng(0)
    shape = SHAPES[d]
    K = 1.0 + rng.random(shape)
    mu = 0.3 + rng.random(shape)
    eps = sym_field(rng, d, shape)
    p = dict(K=K, mu=mu)
    check_law(
        hom.linear_elastic(K, mu),
        eps,
        None,
        cf.linear_elastic_stress(eps, **p),
        cf.linear_elastic_tangent4(eps, **p),
    )


@pytest.mark.parametrize("d", [2, 3])
def test_isotropic_voigt_convention(d):
    # Voigt order with engineering shears: an isotropic material has C[-1, -1] == mu.
    law = hom.linear_elastic(2.0, 0.7)
    c = (
        hom.local_stiffness(law, SHAPES[d])[..., 0, 0]
        if d == 2
        else hom.local_stiffness(law, SHAPES[d])[..., 0, 0, 0]
    )
    assert np.allclose(c, hom.isotropic_stiffness(2.0, 0.7, d), rtol=1e-14, atol=0)
    assert c[-1, -1] == pytest.approx(0.7, rel=1e-14)
    pairs = T.voigt_pairs(d)
    assert pairs[-1] == (0, 1)
    if d == 3:
        assert pairs == ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@pytest.mark.parametrize("d", [2, 3])
def test_power_law(d):
    rng = np.random.default_rng(1)
    shape = SHAPES[d]
    p = dict(K=1.0 + rng.random(shape), sigma0=0.02, eps0=0.01, n=3.5)
    eps = sym_field(rng, d, shape)
    check_law(
        hom.power_law(**p),
        eps,
        None,
        cf.power_law_stress(eps, **p),
        cf.power_law_tangent4(eps, **p),
    )


def test_power_law_n1_is_linear():
    # n = 1: linear elasticity with 3 mu = sigma0 / eps0
    rng = np.random.default_rng(2)
    eps = sym_field(rng, 3, SHAPES[3])
    a = hom.power_law(K=2.0, sigma0=0.03, eps0=0.01, n=1.0).plain_stress(eps)
    b = cf.linear_elastic_stress(eps, K=2.0, mu=1.0)
    assert rel(a, b) < RTOL


def yield_field(rng, shape):
    """Yield stresses low in about half the voxels (plastic there) and high elsewhere."""
    return np.where(rng.random(shape) < 0.5, 0.002, 0.1)


def j2_state(rng, d, shape, p):
    """A strain field and a history with both elastic and plastic voxels."""
    eps = sym_field(rng, d, shape, 0.004)
    ep = sym_field(rng, 3, shape, 0.002)
    ep -= (np.trace(ep) / 3.0) * np.eye(3).reshape((3, 3) + (1,) * d)
    h = {"plastic_strain": ep, "alpha": 0.01 * rng.random(shape)}
    _, new = cf.j2_return_map(eps, h, **p)
    plastic = new["alpha"] > h["alpha"]
    assert plastic.any() and (~plastic).any(), "test state needs both branches"
    return eps, h


@pytest.mark.parametrize("d", [2, 3])
def test_j2_consistent_tangent(d):
    rng = np.random.default_rng(3)
    shape = SHAPES[d]
    p = dict(
        K=1.0 + rng.random(shape),
        mu=0.5 + rng.random(shape),
        sigma_y0=yield_field(rng, shape),
        H=0.2,
    )
    eps, h = j2_state(rng, d, shape, p)
    law = hom.j2_plasticity(**p)
    sig, new = cf.j2_return_map(eps, h, **p)
    check_law(law, eps, h, sig, cf.j2_tangent4(eps, h, **p))
    # the history update of the AD return map matches too
    s2, n2 = law.update(eps, h)
    assert rel(n2["plastic_strain"], new["plastic_strain"]) < RTOL
    assert rel(n2["alpha"], new["alpha"]) < RTOL
    # the hand-written Voigt assembly used by the benchmark is the same tangent
    assert rel(cf._j2_voigt(eps, h, **p), T.tensor4_to_voigt(cf.j2_tangent4(eps, h, **p))) < RTOL


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("name", ["stvk", "neo_hookean"])
def test_finite_strain_laws(d, name):
    rng = np.random.default_rng(4)
    shape = SHAPES[d]
    K, mu = 1.0 + rng.random(shape), 0.4 + rng.random(shape)
    F = np.eye(d).reshape((d, d) + (1,) * d) + 0.15 * rng.standard_normal((d, d) + shape)
    law = getattr(hom, name)(K, mu)
    assert law.finite_strain
    stress = getattr(cf, f"{name}_stress")(F, K=K, mu=mu)
    tangent = getattr(cf, f"{name}_tangent4")(F, K=K, mu=mu)
    check_law(law, F, None, stress, tangent, finite=True)


def test_finite_strain_laws_linearise_to_isotropic_elasticity():
    shape = SHAPES[3]
    for law in (hom.stvk(2.0, 0.8), hom.neo_hookean(2.0, 0.8)):
        a = hom.local_stiffness(law, shape)[..., 0, 0, 0].reshape(3, 3, 3, 3)
        c = T.voigt_to_tensor4(hom.isotropic_stiffness(2.0, 0.8, 3))
        assert np.abs(T.tensor4_to_voigt(a) - hom.isotropic_stiffness(2.0, 0.8, 3)).max() < 1e-14
        # minor symmetries at F = I, so it acts on strains as C does
        assert np.abs(0.5 * (a + np.swapaxes(a, 2, 3)) - c).max() < 1e-14


def test_user_energy_law_is_symmetrised():
    # An energy written with eps[0, 1] only (not eps[1, 0]) is still differentiated on
    # symmetric tensors: sigma = sym(d psi / d eps) is the right stress.
    def psi(eps, lam, mu):
        tr = eps[0, 0] + eps[1, 1] + eps[2, 2]
        off = eps[0, 1] ** 2 + eps[0, 2] ** 2 + eps[1, 2] ** 2
        diag = eps[0, 0] ** 2 + eps[1, 1] ** 2 + eps[2, 2] ** 2
        return 0.5 * lam * tr**2 + mu * (diag + 2.0 * off)

    rng = np.random.default_rng(5)
    eps = sym_field(rng, 3, SHAPES[3])
    law = hom.energy_law(psi, lam=1.2, mu=0.7)
    ref = cf.linear_elastic_stress(eps, K=1.2 + 2 * 0.7 / 3, mu=0.7)
    lin = law.linearize(eps)
    assert rel(lin.sigma, ref) < RTOL
    assert (
        rel(
            lin.stored,
            hom.isotropic_stiffness(1.2 + 2 * 0.7 / 3, 0.7, 3)[..., None, None, None]
            + 0 * lin.stored,
        )
        < RTOL
    )


def test_user_return_map_law():
    # A user return map: linear elasticity with a "history" scaling (no plasticity), to
    # check that history and parameters flow through return_map_law.
    def rm(eps, history, mu):
        tr = anp.trace(eps)
        sig = 2.0 * mu * history["scale"] * eps + tr * np.eye(eps.shape[0]).reshape(
            (eps.shape[0],) * 2 + (1,) * (len(eps.shape) - 2)
        )
        return sig, {"scale": history["scale"] * 1.0}

    def init(d, shape):
        return {"scale": np.full(shape, 2.0)}

    law = hom.return_map_law(rm, init, mu=0.5)
    shape = SHAPES[2]
    eps = sym_field(np.random.default_rng(6), 2, shape)
    h = law.init_history(2, shape)
    lin = law.linearize(eps, h)
    assert rel(lin.sigma, cf.linear_elastic_stress(eps, K=1.0 + 2.0 / 3.0, mu=1.0)) < RTOL
    res = hom.solve(law, np.diag([0.01, -0.01]), shape)
    assert res.converged
    assert np.allclose(res.mean_stress, [[0.02, 0], [0, -0.02]], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("d", [2, 3])
def test_backends_agree(d):
    # C for one voxel, jit of the grid program, eager: the same numbers (scalar and field
    # parameters mixed; 2-D too)
    rng = np.random.default_rng(8)
    shape = SHAPES[d]
    p = dict(K=1.0 + rng.random(shape), mu=0.7, sigma_y0=yield_field(rng, shape), H=0.2)
    eps, h = j2_state(rng, d, shape, p)
    de = sym_field(rng, d, shape)
    ref = cf.j2_tangent4(eps, h, **p)
    expect = np.einsum("ijkl...,kl...->ij...", ref, de)
    for backend in ("c", "jit", "eager"):
        law = hom.return_map_law(hom.laws._j2_return_map, hom.laws._j2_init, backend=backend, **p)
        lin = law.linearize(eps, h)
        assert rel(lin.stored, T.tensor4_to_voigt(ref)) < RTOL
        assert rel(law.plain_stress(eps, h), cf.j2_return_map(eps, h, **p)[0]) < RTOL
        assert rel(law.linearize(eps, h, None, "action").apply(de), expect) < RTOL
    with pytest.raises(ValueError, match="backend"):
        hom.energy_law(lambda e: e[0, 0], backend="fortran").plain_stress(eps)


def test_voigt_round_trips():
    rng = np.random.default_rng(9)
    for d in (2, 3):
        e = sym_field(rng, d, (3,), 1.0)
        v = T.strain_to_voigt(e)
        assert np.allclose(T.voigt_to_strain(v), e, rtol=0, atol=1e-15)
        assert np.allclose(v[-1], 2 * e[0, 1])  # engineering shear
        assert np.allclose(T.voigt_to_stress(T.stress_to_voigt(e)), e, atol=1e-15)
        c = rng.standard_normal((len(v), len(v)))
        assert np.allclose(T.tensor4_to_voigt(T.voigt_to_tensor4(c)), c, atol=1e-15)
        # sigma_V = C_V eps_V  <=>  sigma = C4 : eps
        c4 = T.voigt_to_tensor4(c)
        s4 = np.einsum("ijkl...,kl...->ij...", c4, e)
        assert np.allclose(T.stress_to_voigt(s4), np.einsum("ab,b...->a...", c, v), atol=1e-14)


def test_law_assuming_grid_axes_falls_back_from_c():
    # The C backend traces one voxel (no grid axes). A law that hard-codes two grid axes
    # gives other numbers there; that is detected on a corner of the grid and the law runs
    # on the whole-grid program instead, with one warning -- never with wrong numbers.
    def psi(eps, mu):
        i = np.eye(2).reshape(2, 2, 1, 1)  # assumes a 2-D grid
        return mu * anp.sum((eps - 0.0 * i) ** 2, axis=(0, 1))

    law = hom.energy_law(psi, mu=1.0, backend="c")
    with pytest.warns(RuntimeWarning, match="assume grid axes"):
        res = hom.solve(law, np.eye(2) * 0.01, (4, 4))
    assert np.allclose(res.mean_stress, 0.02 * np.eye(2), rtol=1e-14)
    assert law.kernels.backend == "jit"
