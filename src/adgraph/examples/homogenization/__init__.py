r"""FFT-based computational homogenisation with stresses and consistent tangents from adgraph.

Point 8 of the founding article ("FFT: material stress and tangent operator"). A periodic
microstructure is a voxel image of phases; its effective response is found by solving
equilibrium on the grid with FFTs (Moulinec-Suquet; Newton-Krylov with a Fourier projection
operator, as in GooseFFT). The material law is written once, per voxel, with
:mod:`adgraph.numpy` and vectorised over the grid; adgraph gives its stress (the gradient of
the summed energy, one reverse pass), its tangent (a JVP of the stress, or the stored
per-voxel tangent from one batched forward pass) and, for return maps, the consistent
tangent by differentiating the return map. The homogenised response is differentiable with
respect to material parameters through the converged solve (implicit differentiation).

::

    from adgraph.examples import homogenization as hom

    law = hom.linear_elastic(K, mu)     # K, mu: scalars or fields of the grid's shape
    res = hom.solve(law, E, shape)      # E: (d, d) macro strain, shape: 2-D or 3-D grid
    res.strain, res.stress              # fields shaped (d, d, *shape)
    res.mean_stress                     # (d, d) volume average
    res.residuals                       # Newton residual history
    C = hom.effective_stiffness(law, shape)   # Voigt 11,22,33,23,13,12; C[-1,-1] == mu

    law = hom.stvk(K, mu)               # also hom.neo_hookean(K, mu)
    res = hom.solve(law, F, shape, finite_strain=True)   # res.stress is P
    law = hom.power_law(K, sigma0, eps0, n)
    law = hom.j2_plasticity(K, mu, sigma_y0, H)          # history carried by solve
    law = hom.energy_law(psi, **params)                  # any energy psi(eps, **params)
    law = hom.return_map_law(fn, init_history, **params) # any return map

On a GPU the same code runs on CuPy arrays: give the parameters as CuPy fields, or
``solve(..., xp="cupy")``; the fields, FFTs (cuFFT), projections and CG iterations then stay
on the device, and the law runs through ``adgraph.jit``.

Modules: :mod:`.laws` (laws and their AD linearisation), :mod:`.grid` (FFT and the
projection operators), :mod:`.solvers` (Newton-CG, Moulinec-Suquet), :mod:`.implicit`
(derivatives of converged states), :mod:`.effective` (effective tangents, bounds, exact
laminate and Hill results), :mod:`.closed_form` (hand-derived stresses and tangents),
:mod:`.microstructure`, :mod:`.tensors`, :mod:`.plotting`; ``demo`` is
``adgraph examples run fft-homogenization``.
"""

from __future__ import annotations

from . import closed_form, tensors
from .effective import (
    effective_stiffness,
    hill_bulk_modulus,
    laminate_stiffness,
    local_stiffness,
    reuss_bound,
    voigt_bound,
)
from .grid import Grid
from .implicit import tangent_solve
from .laws import (
    EnergyLaw,
    ExplicitLaw,
    Law,
    ReturnMapLaw,
    energy_law,
    explicit_law,
    j2_plasticity,
    linear_elastic,
    neo_hookean,
    power_law,
    return_map_law,
    stvk,
)
from .microstructure import inclusion, laminate, phase_field, random_inclusions, volume_fraction
from .solvers import SolveResult, solve
from .tensors import (
    isotropic_stiffness,
    strain_to_voigt,
    stress_to_voigt,
    tensor4_to_voigt,
    voigt_to_strain,
    voigt_to_stress,
    voigt_to_tensor4,
)

__all__ = [
    # laws
    "linear_elastic",
    "power_law",
    "j2_plasticity",
    "stvk",
    "neo_hookean",
    "energy_law",
    "return_map_law",
    "explicit_law",
    "Law",
    "EnergyLaw",
    "ReturnMapLaw",
    "ExplicitLaw",
    # solving
    "solve",
    "SolveResult",
    "Grid",
    "effective_stiffness",
    "tangent_solve",
    # bounds and exact results
    "voigt_bound",
    "reuss_bound",
    "local_stiffness",
    "laminate_stiffness",
    "hill_bulk_modulus",
    # microstructures
    "laminate",
    "inclusion",
    "random_inclusions",
    "phase_field",
    "volume_fraction",
    # Voigt notation
    "isotropic_stiffness",
    "strain_to_voigt",
    "stress_to_voigt",
    "voigt_to_strain",
    "voigt_to_stress",
    "tensor4_to_voigt",
    "voigt_to_tensor4",
    # submodules
    "closed_form",
    "tensors",
]
