"""Differentiating homogenised responses through the converged FFT solve.

The effective stiffness and the mean stress as functions of one phase's material parameter,
by ``grad``, ``jvp``/``jacfwd`` and ``jacrev`` (implicit differentiation at the converged
state), against central finite differences; derivatives chaining through the history of
several J2 load increments; the derivative of the mean stress with respect to the
macroscopic strain, which is the consistent effective tangent.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
from adgraph.examples import homogenization as hom
from adgraph.examples.homogenization import tensors as T
from adgraph.examples.homogenization.implicit import TangentSystem, tangent_solve
from adgraph.test_util import check_grads

SHAPE = (9, 8)
MASK = hom.inclusion(SHAPE, 0.3)
TIGHT = dict(tol=1e-12, cg_tol=1e-13)


def fd(f, x, h):
    return (np.asarray(f(x + h)) - np.asarray(f(x - h))) / (2 * h)


def close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    return np.abs(a - b).max() <= rtol * np.abs(b).max()


def elastic_stiffness(mu_inc):
    law = hom.linear_elastic(hom.phase_field(MASK, 6.0, 1.0), hom.phase_field(MASK, mu_inc, 0.5))
    return hom.effective_stiffness(law, SHAPE, **TIGHT)


def test_effective_stiffness_derivative_all_modes():
    x = 2.5
    ref = fd(elastic_stiffness, x, 1e-5)
    assert np.abs(ref).max() > 1e-3  # the inclusion's shear modulus matters
    assert close(ad.jacfwd(elastic_stiffness)(x), ref, 1e-7)
    assert close(ad.jacrev(elastic_stiffness)(x), ref, 1e-7)
    assert close(ad.jvp(elastic_stiffness, (x,), (1.0,))[1], ref, 1e-7)
    g = ad.grad(lambda m: elastic_stiffness(m)[-1, -1])(x)
    assert g == pytest.approx(ref[-1, -1], rel=1e-7)


def test_effective_stiffness_derivative_nonlinear_state():
    # Linearised at a loaded state of a nonlinear (power-law) matrix: the derivative goes
    # through the converged state (implicit) and the tangent's own dependence (third order).
    E = np.array([[0.01, 0.002], [0.002, -0.004]])

    def c(s0):
        law = hom.power_law(
            hom.phase_field(MASK, 8.0, 1.0), hom.phase_field(MASK, 0.4, s0), 0.01, 2.0
        )
        return hom.effective_stiffness(law, SHAPE, E, **TIGHT)

    x = 0.05
    ref = fd(c, x, 1e-6)
    assert close(ad.jacfwd(c)(x), ref, 1e-6)
    assert close(ad.jacrev(c)(x), ref, 1e-6)


def test_mean_stress_derivative_wrt_parameters_and_strain():
    E = np.array([[0.01, 0.003], [0.003, 0.0]])

    def ms(mu_inc):
        law = hom.linear_elastic(
            hom.phase_field(MASK, 6.0, 1.0), hom.phase_field(MASK, mu_inc, 0.5)
        )
        return hom.solve(law, E, SHAPE, **TIGHT).mean_stress

    ref = fd(ms, 2.5, 1e-5)
    assert close(ad.jacfwd(ms)(2.5), ref, 1e-7)
    assert close(ad.jacrev(ms)(2.5), ref, 1e-7)
    # d<sigma>/dE is the effective stiffness
    law = hom.linear_elastic(hom.phase_field(MASK, 6.0, 1.0), hom.phase_field(MASK, 2.5, 0.5))
    J = ad.jacfwd(lambda e: hom.solve(law, e, SHAPE, **TIGHT).mean_stress)(E)
    C = hom.effective_stiffness(law, SHAPE, **TIGHT)
    assert close(T.tensor4_to_voigt(J), C, 1e-10)


def j2_law(H=0.05, sy=0.005):
    return hom.j2_plasticity(
        hom.phase_field(MASK, 5.0, 1.0),
        hom.phase_field(MASK, 3.0, 0.5),
        hom.phase_field(MASK, 1.0, sy),
        H,
    )


def test_j2_derivative_through_load_history():
    E = np.array([[0.02, 0.0], [0.0, -0.01]])

    def ms(H):
        return hom.solve(j2_law(H), E, SHAPE, steps=3, **TIGHT).mean_stress

    ref = fd(ms, 0.05, 1e-6)
    assert np.abs(ref).max() > 1e-3
    assert close(ad.jacfwd(ms)(0.05), ref, 1e-6)
    assert close(ad.jacrev(ms)(0.05), ref, 1e-6)

    def ms_sy(sy):  # the matrix's yield stress, a field parameter built from a traced scalar
        return hom.solve(j2_law(sy=sy), E, SHAPE, steps=2, **TIGHT).mean_stress

    assert close(ad.jacrev(ms_sy)(0.005), fd(ms_sy, 0.005, 1e-7), 1e-6)


def test_j2_consistent_effective_tangent():
    # The effective tangent of a plastic increment equals d<sigma>/dE of that increment,
    # both by finite differences and by differentiating the solve.
    law = j2_law()
    E = np.array([[0.02, 0.0], [0.0, -0.01]])
    r4 = hom.solve(law, 0.8 * E, SHAPE, steps=4, **TIGHT)
    r5 = hom.solve(law, E, SHAPE, initial=r4, **TIGHT)
    assert np.mean(r5.history["alpha"] > r5.history_start["alpha"]) > 0.3  # plastic step
    C = hom.effective_stiffness(law, result=r5, cg_tol=1e-13)
    assert close(C, C.T, 1e-12)  # associative plasticity: symmetric consistent tangent
    cols = []
    for eb in T.unit_strains(2):
        sp = hom.solve(law, E + 1e-7 * eb, SHAPE, initial=r4, tol=1e-13, cg_tol=1e-14)
        sm = hom.solve(law, E - 1e-7 * eb, SHAPE, initial=r4, tol=1e-13, cg_tol=1e-14)
        cols.append(T.stress_to_voigt((sp.mean_stress - sm.mean_stress) / 2e-7))
    assert close(C, np.stack(cols, 1), 1e-7)
    J = ad.jacfwd(lambda e: hom.solve(law, e, SHAPE, initial=r4, **TIGHT).mean_stress)(E)
    assert close(T.tensor4_to_voigt(J), C, 1e-10)


def test_finite_strain_derivative():
    shape = (6, 5, 5)
    mask = hom.inclusion(shape, 0.3)
    F = np.eye(3)
    F[0, 0], F[0, 1] = 1.15, 0.05

    def mp(mu_inc):
        law = hom.neo_hookean(hom.phase_field(mask, 5.0, 1.0), hom.phase_field(mask, mu_inc, 0.5))
        return hom.solve(law, F, shape, **TIGHT).mean_stress

    ref = fd(mp, 2.0, 1e-6)
    assert close(ad.jacrev(mp)(2.0), ref, 1e-7)
    assert close(ad.jacfwd(mp)(2.0), ref, 1e-7)


def test_tangent_solve_primitive_rules():
    # The linear primitive x = A^+ b: JVP and VJP against finite differences and the
    # transpose identity (it is symmetric).
    law = hom.linear_elastic(hom.phase_field(MASK, 6.0, 1.0), hom.phase_field(MASK, 2.5, 0.5))
    lin = law.linearize(np.zeros((2, 2) + SHAPE))
    system = TangentSystem(hom.Grid(SHAPE), lin, False, cg_tol=1e-14)
    b = np.random.default_rng(0).standard_normal((2, 2) + SHAPE)
    check_grads(lambda v: tangent_solve(v, system), (b,), order=1, modes=("fwd", "rev"))
    x = tangent_solve(b, system)
    g = hom.Grid(SHAPE)
    kb = 0.5 * (b + np.swapaxes(b, 0, 1))
    assert close(g.project(lin.apply(x)), g.project(kb), 1e-11)  # G K x = G sym(b)
    assert np.abs(g.mean(x)).max() < 1e-15


def test_second_derivatives_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="first derivatives"):
        ad.jacfwd(ad.grad(lambda m: elastic_stiffness(m)[0, 0]))(2.5)


def test_hand_written_laws_refuse_tracing():
    from adgraph.examples.homogenization import closed_form as cf

    def f(mu):
        law = cf.linear_elastic_law(1.0, mu)
        return hom.solve(law, np.eye(2) * 0.01, SHAPE).mean_stress[0, 0]

    with pytest.raises(TypeError, match="hand-written"):
        ad.grad(f)(0.5)
