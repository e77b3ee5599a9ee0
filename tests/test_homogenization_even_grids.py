"""Finite strain on even grids: the Nyquist frequencies of the compatible-F projection.

On an even grid a frequency with a Nyquist component and another non-zero component (a
mixed Nyquist frequency) has no single wave direction. Projecting onto the span of its
sign-flipped wave vectors admits fields of local rotations that the material does not
resist, and Newton stalled on such grids (30 iterations on 8^3 for a Neo-Hookean
inclusion in shear). The finite-strain projection now removes those frequencies; this file
checks the operator (every Fourier coefficient of a compatible F is a rank-one a (x) n,
rotation fields at mixed Nyquist frequencies are removed, laminate fields at the pure
Nyquist frequency kept), quadratic Newton convergence on even 2-D and 3-D grids for
Neo-Hookean and StVK laws, homogeneous deformations reproduced exactly, and finite-strain
laminates equal on even and odd grids and to their semi-analytic solution.
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


def _full_spectrum(g, a):
    """The full (complex) FFT of a tensor field over the grid axes: ``(d, d, *shape)``."""
    return np.fft.fftn(a, axes=g.axes)


# ------------------------------------------------------------------ the operator
@pytest.mark.parametrize("shape", [(8, 8), (8, 6), (7, 6), (8, 7, 6), (6, 4, 4), (4, 4, 4)])
def test_compatible_F_is_rank_one_at_every_frequency(shape):
    # A compatible deformation-gradient fluctuation is a (x) n at each frequency, with a real
    # direction n: the Hermitian matrix A^H A = |a|^2 n n^T is real and of rank one. The
    # span-of-all-signs projector broke this at the mixed Nyquist frequencies (rank 2-3).
    g = hom.Grid(shape)
    d = g.d
    x = np.random.default_rng(1).standard_normal((d, d) + shape)
    ah = _full_spectrum(g, g.project(x, True))
    mats = np.moveaxis(ah.reshape(d, d, -1), 2, 0)  # (n, d, d)
    gram = np.einsum("nki,nkj->nij", mats.conj(), mats)
    scale = np.abs(gram).max()
    assert np.abs(gram.imag).max() < 1e-12 * scale
    ev = np.linalg.eigvalsh(gram.real)  # ascending
    assert np.abs(ev[:, :-1]).max() < 1e-12 * scale
    # no rotation in the range: |sym A|^2 >= |A|^2 / 2 at every frequency (equality when a
    # is normal to n), so the tangent of a stable material is positive on it
    sym = 0.5 * (mats + np.swapaxes(mats, 1, 2))
    assert np.all(
        (np.abs(sym) ** 2).sum(axis=(1, 2)) >= 0.5 * (np.abs(mats) ** 2).sum(axis=(1, 2)) - 1e-9
    )


@pytest.mark.parametrize("shape", [(8, 6), (8, 5), (6, 4, 6)])
def test_rotation_fields_at_mixed_nyquist_frequencies_are_removed(shape):
    g = hom.Grid(shape)
    d = g.d
    x = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    w = np.zeros((d, d))
    w[0, 1], w[1, 0] = 1.0, -1.0
    # (-1)^x1 cos(2 pi x2 / N2): Nyquist along axis 0, a first harmonic along axis 1
    mixed = (-1.0) ** x[0] * np.cos(2 * np.pi * x[1] / shape[1])
    rot = w.reshape((d, d) + (1,) * d) * mixed
    assert np.abs(g.project(rot, True)).max() < 1e-14
    # a full tensor at that frequency: nothing of it is compatible
    a = np.random.default_rng(2).standard_normal((d, d))
    assert np.abs(g.project(a.reshape((d, d) + (1,) * d) * mixed, True)).max() < 1e-14
    # the all-Nyquist frequency, too (its wave vectors (+-1, +-1, ...) N/2 are not parallel)
    if all(n % 2 == 0 for n in shape):
        alt = np.prod([(-1.0) ** xi for xi in x], axis=0)
        assert np.abs(g.project(a.reshape((d, d) + (1,) * d) * alt, True)).max() < 1e-14
    # a first harmonic along axis 1 alone is still projected onto a (x) e2
    ordinary = np.cos(2 * np.pi * x[1] / shape[1])
    got = g.project(a.reshape((d, d) + (1,) * d) * ordinary, True)
    keep = np.zeros((d, d))
    keep[:, 1] = a[:, 1]
    assert np.abs(got - keep.reshape((d, d) + (1,) * d) * ordinary).max() < 1e-14


@pytest.mark.parametrize("n", [7, 8])
def test_finite_strain_keeps_laminate_fields_at_the_nyquist_frequency(n):
    # a(x) (x) e1 with a(x) = (-1)^x varies along x only: compatible on odd and even grids
    # alike, and kept exactly; b (x) e2 varying along x is not compatible
    g = hom.Grid((n, 5, 4))
    s = (-1.0) ** np.arange(n)
    s = (s - s.mean())[:, None, None] * np.ones((n, 5, 4))
    a = np.array([1.0, -0.5, 0.25])
    lam = np.zeros((3, 3, n, 5, 4))
    lam[:, 0] = a[:, None, None, None] * s
    assert np.abs(g.project(lam, True) - lam).max() < 1e-14
    bad = np.zeros((3, 3, n, 5, 4))
    bad[:, 1] = a[:, None, None, None] * s
    assert np.abs(g.project(bad, True)).max() < 1e-14


def test_small_strain_projection_is_unchanged_at_the_nyquist_frequencies():
    # small strain keeps the projector onto the span of the sign-flipped wave vectors: at a
    # mixed Nyquist frequency of a 2-D grid that span is the plane, so every symmetric
    # tensor is compatible there (its range is symmetric: no rotation to remove)
    shape = (8, 6)
    g = hom.Grid(shape)
    x = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    mixed = (-1.0) ** x[0] * np.cos(2 * np.pi * x[1] / shape[1])
    e = np.array([[1.0, 0.3], [0.3, -0.7]]).reshape(2, 2, 1, 1) * mixed
    assert np.abs(g.project(e) - e).max() < 1e-14


# ------------------------------------------------------------------ Newton on even grids
def _inclusion_law(name, shape):
    mask = hom.inclusion(shape, 0.3)
    return getattr(hom, name)(np.where(mask, 5.0, 1.0), np.where(mask, 2.0, 0.5))


@pytest.mark.parametrize("name", ["neo_hookean", "stvk"])
@pytest.mark.parametrize("shape", [(8, 8, 8), (8, 7, 6), (8, 8), (10, 6)])
def test_finite_strain_newton_converges_quadratically_on_even_grids(shape, name):
    # A simple shear of 0.3 in one increment: Newton used to stall at 30 iterations on
    # these grids (residual 1e-2 to 1e-3); now as on odd grids, 4 iterations to 1e-15.
    d = len(shape)
    F = np.eye(d)
    F[0, 1] = 0.3
    res = hom.solve(_inclusion_law(name, shape), F, shape, finite_strain=True, **TIGHT)
    r = res.residuals
    assert res.converged and r[-1] < 1e-12
    assert len(r) - 1 <= 6
    tail = [x for x in r if x > 1e-13]
    for a, b in zip(tail[-3:-1], tail[-2:]):
        assert b < 50.0 * a * a  # quadratic
    # the same solve on the next odd grid takes as many iterations, give or take one
    odd = tuple(n + 1 if n % 2 == 0 else n for n in shape)
    ro = hom.solve(_inclusion_law(name, odd), F, odd, finite_strain=True, **TIGHT)
    assert abs(len(r) - len(ro.residuals)) <= 1
    # and a stress of the same size: the microstructures differ by their voxels only
    assert rel(res.mean_stress, ro.mean_stress) < 0.05
    # the balance of angular momentum holds voxel by voxel: P F^T is symmetric
    tau = np.einsum("ik...,jk...->ij...", res.P, res.F)
    assert np.abs(tau - np.swapaxes(tau, 0, 1)).max() < 1e-12


def test_finite_strain_fixed_point_on_an_even_3d_grid():
    shape = (8, 8, 8)
    law = _inclusion_law("neo_hookean", shape)
    F = np.eye(3)
    F[0, 0], F[0, 1] = 1.1, 0.1
    a = hom.solve(law, F, shape, finite_strain=True, **TIGHT)
    b = hom.solve(law, F, shape, finite_strain=True, method="fixed_point", tol=1e-9)
    assert a.converged and b.converged
    assert rel(b.mean_stress, a.mean_stress) < 1e-7


@pytest.mark.parametrize("shape", [(8, 8), (6, 8), (8, 8, 8), (4, 6, 8)])
@pytest.mark.parametrize("name", ["stvk", "neo_hookean"])
def test_homogeneous_deformation_reproduces_P_on_even_grids(shape, name):
    d = len(shape)
    F = np.eye(d) + 0.2 * np.random.default_rng(5).standard_normal((d, d))
    res = hom.solve(getattr(hom, name)(2.0, 0.8), F, shape, finite_strain=True)
    P = getattr(cf, f"{name}_stress")(F.reshape((d, d) + (1,) * d), K=2.0, mu=0.8)
    assert len(res.residuals) == 1 and res.converged
    assert np.abs(res.P - P).max() <= 1e-15 * np.abs(P).max()
    assert np.abs(res.F - F.reshape((d, d) + (1,) * d)).max() == 0.0


# ------------------------------------------------------------------ laminates
PHASES = ((1.0, 0.4), (12.0, 5.0))  # (K, mu): phase 0 (False), phase 1 (True)


def laminate_reference(name, F, fraction, axis):
    """The exact finite-strain laminate: F is uniform in each phase, F1 = F + (1 - f) c n
    and F0 = F - f c n (mean F), and the tractions P n agree: solved for c by Newton with
    the closed-form stresses and tangents. Returns ``(mean P, F0, F1)``."""
    d = F.shape[0]
    stress, tangent = getattr(cf, f"{name}_stress"), getattr(cf, f"{name}_tangent4")
    p0 = dict(K=PHASES[0][0], mu=PHASES[0][1])
    p1 = dict(K=PHASES[1][0], mu=PHASES[1][1])
    f = fraction
    c = np.zeros(d)
    for _ in range(50):
        F1 = F.copy()
        F1[:, axis] += (1 - f) * c
        F0 = F.copy()
        F0[:, axis] -= f * c
        r = stress(F1, **p1)[:, axis] - stress(F0, **p0)[:, axis]
        if np.abs(r).max() < 1e-15:
            break
        a1, a0 = tangent(F1, **p1), tangent(F0, **p0)
        jac = (1 - f) * a1[:, axis, :, axis] + f * a0[:, axis, :, axis]
        c -= np.linalg.solve(jac, r)
    return f * stress(F1, **p1) + (1 - f) * stress(F0, **p0), F0, F1


def laminate_solve(name, shape, F, axis, fraction=0.4):
    mask = hom.laminate(shape, fraction, axis)
    law = getattr(hom, name)(
        np.where(mask, PHASES[1][0], PHASES[0][0]), np.where(mask, PHASES[1][1], PHASES[0][1])
    )
    return hom.solve(law, F, shape, finite_strain=True, **TIGHT), mask


@pytest.mark.parametrize("name", ["neo_hookean", "stvk"])
@pytest.mark.parametrize(
    "even,odd,axis",
    [((10, 4, 4), (5, 3, 3), 0), ((4, 6, 10), (3, 5, 5), 2), ((10, 6), (5, 7), 0)],
)
def test_finite_strain_laminate_agrees_on_even_and_odd_grids(name, even, odd, axis):
    # Layers of 40 % (4 of 10 and 2 of 5 voxels). The exact solution is uniform in each
    # phase; it varies along the lamination axis only, at frequencies (k, 0, 0) which keep
    # their exact projection, including the pure Nyquist one. So it lies in the discrete
    # compatible space on both grids, and the FFT solutions carry no discretisation error:
    # they agree with each other and with the semi-analytic solution to the solver
    # tolerance (relative equilibrium residual 1e-12, so 1e-10 on the mean stress).
    d = len(even)
    F = np.eye(d) + 0.15 * np.random.default_rng(7).standard_normal((d, d))
    exact, F0, F1 = laminate_reference(name, F, 0.4, axis)
    for shape in (even, odd):
        res, mask = laminate_solve(name, shape, F, axis)
        assert res.converged and len(res.residuals) - 1 <= 8
        assert hom.volume_fraction(mask) == pytest.approx(0.4, abs=1e-15)
        assert rel(res.mean_stress, exact) < 1e-10
        # the fields are the piecewise-uniform laminate fields
        want = np.where(mask, F1.reshape((d, d) + (1,) * d), F0.reshape((d, d) + (1,) * d))
        assert np.abs(res.F - want).max() < 1e-10
    a, _ = laminate_solve(name, even, F, axis)
    b, _ = laminate_solve(name, odd, F, axis)
    assert rel(a.mean_stress, b.mean_stress) < 1e-10


def test_finite_strain_tangent_at_identity_against_small_strain():
    # Odd grids: the effective tangent of StVK at F = I is the small-strain stiffness (to
    # the solver tolerance). Even grids: the finite-strain projection leaves the mixed
    # Nyquist frequencies out while small strain keeps them, so the two differ there by a
    # discretisation-sized amount (0.7 % at 8 x 8 for this inclusion of contrast 10, 0.2 %
    # at 16 x 16, 0.03 % at 64 x 64) -- and not at all for a laminate (see above).
    for shape, tol in (((9, 9), 1e-10), ((8, 8), 1e-2), ((16, 16), 4e-3)):
        mask = hom.inclusion(shape, 0.3)
        K, mu = np.where(mask, 10.0, 1.0), np.where(mask, 5.0, 0.5)
        C = hom.effective_stiffness(hom.linear_elastic(K, mu), shape, **TIGHT)
        A = T.tensor4_to_voigt(hom.effective_stiffness(hom.stvk(K, mu), shape, **TIGHT))
        assert rel(A, C) < tol
        if tol > 1e-10:  # removing compatible fields stiffens: A - C is positive
            s = T.mandel_scaling(2)
            ev = np.linalg.eigvalsh(s[:, None] * 0.5 * ((A - C) + (A - C).T) * s[None, :])
            assert ev.min() > -1e-10
