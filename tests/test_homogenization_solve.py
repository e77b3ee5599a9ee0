"""FFT homogenisation solvers against exact answers.

Homogeneous materials (one Newton iteration, stress = C:E to machine precision), laminates
(the exact effective stiffness to 1e-10 on odd and even grids, 2-D and 3-D), Hill's
equal-shear-modulus theorem, the Voigt/Reuss bounds and symmetry, quadratic Newton
convergence, finite-strain homogeneous deformations, the Moulinec-Suquet scheme, and the
projection operator itself (symmetric, idempotent, exact on laminate fields at the Nyquist
frequency).
"""

from __future__ import annotations

import numpy as np
import pytest

from adgraph.examples import homogenization as hom
from adgraph.examples.homogenization import closed_form as cf
from adgraph.examples.homogenization import tensors as T

TIGHT = dict(tol=1e-12, cg_tol=1e-13)


def rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def macro(d, seed=0):
    rng = np.random.default_rng(seed)
    e = 0.01 * rng.standard_normal((d, d))
    return 0.5 * (e + e.T)


# ------------------------------------------------------------------ projection operator
@pytest.mark.parametrize("shape", [(5, 7), (6, 8), (4, 6, 5), (6, 4, 4)])
@pytest.mark.parametrize("finite", [False, True])
def test_projection_is_an_orthogonal_projection(shape, finite):
    rng = np.random.default_rng(0)
    g = hom.Grid(shape)
    d = g.d

    def field():
        x = rng.standard_normal((d, d) + shape)
        return x if finite else 0.5 * (x + np.swapaxes(x, 0, 1))

    x, y = field(), field()
    gx, gy = g.project(x, finite), g.project(y, finite)
    assert abs(np.vdot(gx, y) - np.vdot(x, gy)) < 1e-12 * np.abs(x).sum()  # symmetric
    assert np.abs(g.project(gx, finite) - gx).max() < 1e-13  # idempotent
    assert np.abs(g.mean(gx)).max() < 1e-15  # zero mean
    if not finite:
        assert np.abs(gx - np.swapaxes(gx, 0, 1)).max() < 1e-15


@pytest.mark.parametrize("n", [7, 8])
def test_projection_keeps_laminate_fields_at_the_nyquist_frequency(n):
    # sym(a(x) (x) e1) with a(x) = (-1)^x (the Nyquist mode on even grids) is compatible and
    # must be kept exactly; an in-plane component varying along x is not compatible.
    g = hom.Grid((n, 5))
    a = np.array([1.0, -0.5])[:, None] * (-1.0) ** np.arange(n)[None, :]
    a = a - a.mean(axis=1, keepdims=True)
    eps = np.zeros((2, 2, n, 5))
    eps[0, 0] = a[0][:, None]
    eps[0, 1] = eps[1, 0] = 0.5 * a[1][:, None]
    assert np.abs(g.project(eps) - eps).max() < 1e-14
    bad = np.zeros((2, 2, n, 5))
    bad[1, 1] = a[0][:, None]
    assert np.abs(g.project(bad)).max() < 1e-14


# ------------------------------------------------------------------ homogeneous materials
@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 6)])
def test_homogeneous_material_one_newton_iteration(shape):
    d = len(shape)
    E = macro(d)
    res = hom.solve(hom.linear_elastic(2.0, 0.8), E, shape)
    expect = cf.linear_elastic_stress(E, K=2.0, mu=0.8)
    assert len(res.residuals) == 1 and res.newton_iterations <= 1
    assert res.converged
    assert np.abs(res.stress - expect.reshape((d, d) + (1,) * d)).max() < 1e-15
    assert rel(res.mean_stress, expect) < 1e-15
    assert np.abs(res.strain - E.reshape((d, d) + (1,) * d)).max() == 0.0


@pytest.mark.parametrize("shape", [(4, 4), (3, 4, 5)])
def test_homogeneous_nonlinear_laws_in_increments(shape):
    d = len(shape)
    E = macro(d, 1) + 0.004 * np.eye(d)
    pl = dict(K=1.5, sigma0=0.01, eps0=0.01, n=4.0)
    res = hom.solve(hom.power_law(**pl), E, shape, steps=3)
    assert (
        rel(
            res.mean_stress,
            cf.power_law_stress(E.reshape((d, d) + (1,) * d), **pl)[..., 0].reshape(d, d)
            if d == 2
            else cf.power_law_stress(E.reshape((d, d) + (1,) * d), **pl)[..., 0, 0, 0],
        )
        < 1e-14
    )
    # J2: the same sequence of return maps as the closed form, voxel by voxel
    j2 = dict(K=1.5, mu=0.6, sigma_y0=0.004, H=0.1)
    res = hom.solve(hom.j2_plasticity(**j2), E, shape, steps=4)
    h = cf._j2_init(d, shape)
    for k in range(1, 5):
        ek = np.broadcast_to((E * k / 4).reshape((d, d) + (1,) * d), (d, d) + shape)
        sig, h = cf.j2_return_map(ek, h, **j2)
        assert rel(res.mean_stress_path[k - 1], sig.reshape(d, d, -1)[..., 0]) < 1e-13
    assert np.all(res.history["alpha"] > 0)  # it did yield
    assert rel(res.history["alpha"], h["alpha"]) < 1e-13


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 3)])
@pytest.mark.parametrize("name", ["stvk", "neo_hookean"])
def test_finite_strain_homogeneous_deformation_reproduces_P(shape, name):
    d = len(shape)
    F = np.eye(d) + 0.2 * np.random.default_rng(2).standard_normal((d, d))
    res = hom.solve(getattr(hom, name)(2.0, 0.8), F, shape, finite_strain=True)
    P = getattr(cf, f"{name}_stress")(F.reshape((d, d) + (1,) * d), K=2.0, mu=0.8)
    assert len(res.residuals) == 1 and res.converged
    assert np.abs(res.P - P).max() <= 1e-15 * np.abs(P).max()
    assert np.abs(res.F - F.reshape((d, d) + (1,) * d)).max() == 0.0


# ------------------------------------------------------------------ laminates
PHASES = ((1.0, 0.4), (12.0, 5.0))


def laminate_law(shape, axis):
    mask = hom.laminate(shape, 0.4, axis)
    K = np.where(mask, PHASES[1][0], PHASES[0][0])
    mu = np.where(mask, PHASES[1][1], PHASES[0][1])
    f = hom.volume_fraction(mask)
    return hom.linear_elastic(K, mu), [1 - f, f]


@pytest.mark.parametrize(
    "shape,axis",
    [((9, 7), 0), ((8, 6), 0), ((6, 10), 1), ((7, 5, 5), 0), ((6, 4, 4), 0), ((4, 5, 8), 2)],
)
def test_laminate_exact_effective_stiffness(shape, axis):
    d = len(shape)
    law, fractions = laminate_law(shape, axis)
    C = hom.effective_stiffness(law, shape, **TIGHT)
    exact = hom.laminate_stiffness(
        [hom.isotropic_stiffness(K, mu, d) for K, mu in PHASES], fractions, axis=axis, d=d
    )
    assert np.abs(C - exact).max() < 1e-10 * np.abs(exact).max()
    # and the mixed rule really is between Reuss (normal) and Voigt (in-plane)
    pairs = T.voigt_pairs(d)
    a = pairs.index((axis, axis))
    cs = [hom.isotropic_stiffness(K, mu, d) for K, mu in PHASES]
    voigt = sum(f * c for f, c in zip(fractions, cs))
    assert C[a, a] < voigt[a, a]


def test_laminate_solve_stress_fields_piecewise_constant():
    shape = (8, 6)
    law, _ = laminate_law(shape, 0)
    res = hom.solve(law, macro(2, 3), shape, **TIGHT)
    s = res.stress
    # tractions on the layer planes are uniform: sigma_11 and sigma_12 constant everywhere
    assert np.ptp(s[0, 0]) < 1e-12 and np.ptp(s[0, 1]) < 1e-12
    # in-plane strain eps_22 is uniform
    assert np.ptp(res.strain[1, 1]) < 1e-12


# ------------------------------------------------------------------ Hill, bounds, symmetry
@pytest.mark.parametrize("shape", [(15, 13), (7, 7, 9)])
def test_hill_equal_shear_modulus(shape):
    d = len(shape)
    mask = hom.random_inclusions(shape, count=3, radius=0.25, seed=1)
    f = hom.volume_fraction(mask)
    mu = 0.7
    K = np.where(mask, 15.0, 1.2)
    C = hom.effective_stiffness(hom.linear_elastic(K, mu), shape, **TIGHT)
    kbar = hom.hill_bulk_modulus([1.2, 15.0], mu, [1 - f, f], d)
    hydro = np.zeros(C.shape[0])
    hydro[:d] = 1.0
    # under a hydrostatic macro strain the mean stress is hydrostatic with the exact modulus
    expect = (3.0 * kbar if d == 3 else 2.0 * kbar) * hydro
    assert np.abs(C @ hydro - expect).max() < 1e-10 * np.abs(expect).max()


@pytest.mark.parametrize("shape", [(12, 10), (6, 5, 7)])
def test_bounds_and_symmetry(shape):
    mask = hom.random_inclusions(shape, count=4, radius=0.2, seed=2)
    K = np.where(mask, 20.0, 1.0)
    mu = np.where(mask, 0.3, 2.0)  # stiff in bulk, soft in shear: not ordered
    law = hom.linear_elastic(K, mu)
    C = hom.effective_stiffness(law, shape, tol=1e-10, cg_tol=1e-12)
    assert np.abs(C - C.T).max() < 1e-9 * np.abs(C).max()
    Cv, Cr = hom.voigt_bound(law, shape), hom.reuss_bound(law, shape)
    s = T.mandel_scaling(len(shape))
    for m in (Cv - C, C - Cr):
        ev = np.linalg.eigvalsh(s[:, None] * 0.5 * (m + m.T) * s[None, :])
        assert ev.min() > -1e-9 * np.abs(C).max()
    assert np.linalg.eigvalsh(s[:, None] * (Cv - Cr) * s[None, :]).min() > 0


# ------------------------------------------------------------------ Newton's convergence
def convergence_order(residuals, floor=1e-13):
    """Estimated orders log(r[k+1]/r[k]) / log(r[k]/r[k-1]) over the tail above ``floor``."""
    r = [x for x in residuals if x > floor]
    return [np.log(r[k + 1] / r[k]) / np.log(r[k] / r[k - 1]) for k in range(1, len(r) - 1)]


@pytest.mark.parametrize(
    "make",
    [
        lambda m: hom.power_law(np.where(m, 10.0, 1.0), np.where(m, 0.5, 0.05), 0.01, 3.0),
        lambda m: hom.j2_plasticity(
            np.where(m, 5.0, 1.0), np.where(m, 3.0, 0.5), np.where(m, 1.0, 0.005), 0.05
        ),
    ],
    ids=["power_law", "j2"],
)
def test_newton_converges_quadratically(make):
    shape = (15, 15)
    law = make(hom.inclusion(shape, 0.3))
    E = np.array([[0.02, 0.004], [0.004, -0.01]])
    res = hom.solve(law, E, shape, tol=1e-14, cg_tol=1e-15, cg_maxiter=5000)
    r = res.residuals
    assert r[-1] < 1e-13
    tail = [x for x in r if x > 1e-13]
    # quadratic: r[k+1] <= C r[k]^2 over the last iterates, with a moderate C
    for a, b in zip(tail[-4:-1], tail[-3:]):
        assert b < 50.0 * a * a
    assert max(convergence_order(r)[-2:]) > 1.7
    assert len(r) <= 16


def test_tangent_modes_and_hand_written_law_agree():
    shape = (9, 8)
    mask = hom.inclusion(shape, 0.3)
    p = dict(
        K=np.where(mask, 5.0, 1.0),
        mu=np.where(mask, 3.0, 0.5),
        sigma_y0=np.where(mask, 1.0, 0.004),
        H=0.1,
    )
    E = np.array([[0.01, 0.0], [0.0, -0.006]])
    a = hom.solve(hom.j2_plasticity(**p), E, shape, steps=2, **TIGHT)
    b = hom.solve(hom.j2_plasticity(**p), E, shape, steps=2, tangent="action", **TIGHT)
    c = hom.solve(cf.j2_plasticity_law(**p), E, shape, steps=2, **TIGHT)
    assert rel(a.mean_stress, c.mean_stress) < 1e-11
    assert rel(b.mean_stress, c.mean_stress) < 1e-11
    assert a.newton_iterations == c.newton_iterations
    assert len(a.step_residuals) == 2 and a.mean_stress_path.shape == (2, 2, 2)


# ------------------------------------------------------------------ Moulinec-Suquet
@pytest.mark.parametrize("shape", [(12, 11), (6, 7, 5)])
def test_fixed_point_scheme_agrees_with_newton(shape):
    d = len(shape)
    mask = hom.inclusion(shape, 0.3)
    law = hom.linear_elastic(np.where(mask, 8.0, 1.0), np.where(mask, 4.0, 0.6))
    E = macro(d, 4)
    a = hom.solve(law, E, shape, **TIGHT)
    b = hom.solve(law, E, shape, method="fixed_point", tol=1e-11)
    assert b.converged and len(b.residuals) > 5
    assert rel(b.mean_stress, a.mean_stress) < 1e-9
    # c0 is the mid-point of the extreme local stiffness eigenvalues: 2 mu of the matrix and
    # the inclusion's 3K (3-D) or 2(K + mu/3) (plane strain)
    hi = 3 * 8.0 if d == 3 else 2 * (8.0 + 4.0 / 3.0)
    assert b.reference == pytest.approx(0.5 * (2 * 0.6 + hi), rel=1e-12)
    # linear convergence at about the rate (kappa - 1) / (kappa + 1)
    r = np.array(b.residuals)
    rate = (r[-1] / r[5]) ** (1.0 / (len(r) - 6))
    kappa = hi / 1.2
    assert rate < (kappa - 1) / (kappa + 1) + 0.02


def test_fixed_point_finite_strain():
    shape = (6, 5, 5)
    mask = hom.inclusion(shape, 0.3)
    law = hom.neo_hookean(np.where(mask, 5.0, 1.0), np.where(mask, 2.0, 0.5))
    F = np.eye(3)
    F[0, 0] = 1.1
    F[0, 1] = 0.05
    a = hom.solve(law, F, shape, finite_strain=True, **TIGHT)
    b = hom.solve(law, F, shape, finite_strain=True, method="fixed_point", tol=1e-9)
    assert b.converged
    assert rel(b.mean_stress, a.mean_stress) < 1e-7


# ------------------------------------------------------------------ finite strain
def test_finite_strain_effective_tangent_at_identity_is_the_laminate_stiffness():
    shape = (7, 4, 4)
    mask = hom.laminate(shape, 0.4, 0)
    f = hom.volume_fraction(mask)
    K = np.where(mask, PHASES[1][0], PHASES[0][0])
    mu = np.where(mask, PHASES[1][1], PHASES[0][1])
    A = hom.effective_stiffness(hom.stvk(K, mu), shape, **TIGHT)
    assert A.shape == (3, 3, 3, 3)
    exact = hom.laminate_stiffness(
        [hom.isotropic_stiffness(k, m, 3) for k, m in PHASES], [1 - f, f], axis=0
    )
    assert np.abs(T.tensor4_to_voigt(A) - exact).max() < 1e-10 * np.abs(exact).max()


def test_finite_strain_newton_quadratic_in_increments():
    shape = (8, 7)
    mask = hom.inclusion(shape, 0.3)
    law = hom.neo_hookean(np.where(mask, 5.0, 1.0), np.where(mask, 2.0, 0.5))
    F = np.array([[1.3, 0.1], [0.0, 0.9]])
    res = hom.solve(law, F, shape, steps=3, **TIGHT)
    for r in res.step_residuals:
        assert r[-1] < 1e-12 and len(r) <= 7
    tail = [x for x in res.residuals if x > 1e-13]
    assert tail[-1] < 50 * tail[-2] ** 2
    # mean F is the prescribed one, P is not symmetric in general but P F^T is
    assert np.allclose(res.mean_strain, F, atol=1e-15)
    sigma = np.einsum("ik...,jk...->ij...", res.P, res.F)
    assert np.abs(sigma - np.swapaxes(sigma, 0, 1)).max() < 1e-12


# ------------------------------------------------------------------ errors
def test_clear_errors():
    law = hom.linear_elastic(1.0, 0.5)
    with pytest.raises(ValueError, match="shaped"):
        hom.solve(law, np.zeros((3, 3)), (4, 4))
    with pytest.raises(ValueError, match="finite_strain"):
        hom.solve(law, np.eye(2), (4, 4), finite_strain=True)
    with pytest.raises(ValueError, match="broadcast"):
        hom.solve(hom.linear_elastic(np.ones((3, 3)), 0.5), np.zeros((2, 2)), (4, 4))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        hom.solve(law, np.zeros((1, 1)), (4,))
    with pytest.raises(ValueError, match="method"):
        hom.solve(law, np.zeros((2, 2)), (4, 4), method="magic")
    with pytest.raises(ValueError, match="tangent"):
        hom.solve(law, np.zeros((2, 2)), (4, 4), tangent="magic")
    with pytest.raises(ValueError, match="shape"):
        hom.solve(law, np.zeros((2, 2)))
    # the shape is inferred from field parameters
    res = hom.solve(hom.linear_elastic(np.ones((4, 5)), 0.5), np.eye(2) * 0.01)
    assert res.shape == (4, 5)
