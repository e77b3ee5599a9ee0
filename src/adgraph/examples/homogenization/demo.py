r"""FFT homogenisation of a particle composite, with every stress and tangent from adgraph.

Point 8 of the founding article: "FFT: material stress and tangent operator". A periodic cell
holds stiff spherical particles (circular in ``--dim 2``, plane strain) in a matrix; the
example

1. writes the laws once per voxel with ``adgraph.numpy`` and checks that the AD stress and
   tangent equal the hand-derived closed forms (linear elasticity; the consistent tangent of
   J2 plasticity at a state with elastic and plastic voxels; Neo-Hookean);
2. homogenises the elastic composite: the effective stiffness by Newton-CG with one tangent
   solve per unit macroscopic strain, between the Voigt and Reuss bounds;
3. differentiates the effective stiffness with respect to the particles' shear modulus
   through the converged solve (implicit differentiation) and compares with finite
   differences;
4. loads the composite with a J2 elasto-plastic matrix in increments (history variables
   carried from one increment to the next) and shows the quadratic convergence of Newton's
   method with the consistent tangent; the same with the Moulinec-Suquet scheme for
   comparison of iteration counts;
5. stretches a Neo-Hookean version of the composite (finite strain);
6. times the elastic solve with the AD law against the same solver with hand-written stress
   and tangent.

Figures: the stress field on the mid-plane (``stress_slices.png``), the residual histories
(``convergence.png``) and the macroscopic stress-strain curve (``stress_strain.png``); the
numbers go to ``summary.json``. Run it with ``adgraph examples run fft-homogenization``
(``--dim 2``, ``--size N``, ``--steps K``, ``--no-plot``).
"""

from __future__ import annotations

import time

import numpy as np

import adgraph as ad

from .._common import (
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    save_figure,
    stage,
    write_summary,
)
from . import closed_form as cf
from . import tensors as T
from .effective import effective_stiffness, reuss_bound, voigt_bound
from .laws import j2_plasticity, linear_elastic, neo_hookean
from .microstructure import phase_field, random_inclusions, volume_fraction
from .solvers import solve

DESCRIPTION = "FFT homogenisation: stresses and consistent tangents by AD, Newton-CG, d C/d mu"

# matrix and particles: bulk modulus, shear modulus, yield stress (particles stay elastic)
MATRIX = dict(K=1.0, mu=0.5, sigma_y0=0.004, H=0.2)
PARTICLE = dict(K=10.0, mu=5.0, sigma_y0=1e3)


def _rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def _fields(mask, mu_particle=None):
    mu_p = PARTICLE["mu"] if mu_particle is None else mu_particle
    return dict(
        K=phase_field(mask, PARTICLE["K"], MATRIX["K"]),
        mu=phase_field(mask, mu_p, MATRIX["mu"]),
    )


def main(argv=None) -> int:
    parser = make_parser("fft-homogenization", DESCRIPTION)
    parser.add_argument("--dim", type=int, choices=(2, 3), default=3, help="2-D or 3-D cell")
    parser.add_argument(
        "--size", type=int, default=None, help="voxels per axis (default 20 in 3-D, 64 in 2-D)"
    )
    parser.add_argument("--steps", type=int, default=5, help="load increments of the J2 run")
    parser.add_argument(
        "--strain",
        type=float,
        default=0.01,
        help="final macroscopic strain E11 of the J2 run (uniaxial strain)",
    )
    parser.add_argument("--particles", type=int, default=6, help="number of particles")
    parser.add_argument("--seed", type=int, default=3, help="particle positions")
    args = parser.parse_args(argv)
    d = args.dim
    n = args.size or (20 if d == 3 else 64)
    shape = (n,) * d
    out = output_dir(args.out, "fft-homogenization")
    summary = {"dim": d, "shape": list(shape)}
    t_start = time.perf_counter()

    mask = random_inclusions(
        shape, count=args.particles, radius=0.18 if d == 3 else 0.14, seed=args.seed
    )
    f = volume_fraction(mask)
    print(
        f"{d}-D cell of {'x'.join(map(str, shape))} voxels, particle volume fraction "
        f"{f:.3f}; figures and summary.json go to {out}"
    )
    summary["volume_fraction"] = f

    # 1. AD stress and tangents against the closed forms ----------------------------------
    stage("1/6 stress and tangents against the closed forms")
    rng = np.random.default_rng(0)
    small = (5,) * d
    e = 0.004 * rng.standard_normal((d, d) + small)
    e = 0.5 * (e + np.swapaxes(e, 0, 1))
    mixed_sy = np.where(rng.random(small) < 0.5, 0.002, 0.1)
    j2p = dict(K=1.0, mu=0.5, sigma_y0=mixed_sy, H=MATRIX["H"])
    hist = cf._j2_init(d, small)
    F = np.eye(d).reshape((d, d) + (1,) * d) + 0.1 * rng.standard_normal((d, d) + small)
    checks = []
    lin = linear_elastic(2.0, 0.7).linearize(e)
    checks.append(
        (
            "linear elastic",
            _rel(lin.sigma, cf.linear_elastic_stress(e, K=2.0, mu=0.7)),
            _rel(lin.stored, T.tensor4_to_voigt(cf.linear_elastic_tangent4(e, K=2.0, mu=0.7))),
        )
    )
    lin = j2_plasticity(**j2p).linearize(e, hist)
    plastic = float(np.mean(cf.j2_return_map(e, hist, **j2p)[1]["alpha"] > 0))
    checks.append(
        (
            f"J2 (consistent; {plastic:.0%} plastic)",
            _rel(lin.sigma, cf.j2_return_map(e, hist, **j2p)[0]),
            _rel(lin.stored, T.tensor4_to_voigt(cf.j2_tangent4(e, hist, **j2p))),
        )
    )
    lin = neo_hookean(2.0, 0.7).linearize(F)
    checks.append(
        (
            "Neo-Hookean (P, dP/dF)",
            _rel(lin.sigma, cf.neo_hookean_stress(F, K=2.0, mu=0.7)),
            _rel(
                lin.stored,
                cf.neo_hookean_tangent4(F, K=2.0, mu=0.7).reshape((d * d, d * d) + small),
            ),
        )
    )
    print()
    print_table(
        checks,
        ["law", "stress: rel. diff", "tangent: rel. diff"],
        title="AD against hand-derived stress and tangent (random states)",
    )
    summary["ad_vs_closed_form"] = {c[0]: [c[1], c[2]] for c in checks}

    # 2. elastic homogenisation: effective stiffness and bounds ------------------------------
    stage("2/6 elastic homogenisation")
    law = linear_elastic(**_fields(mask))
    t0 = time.perf_counter()
    C = effective_stiffness(law, shape)
    t_c = time.perf_counter() - t0
    Cv, Cr = voigt_bound(law, shape), reuss_bound(law, shape)
    shear = d  # first shear component in Voigt order
    rows = [
        ("Reuss bound", Cr[0, 0], Cr[0, 1], Cr[shear, shear]),
        ("FFT (Newton-CG)", C[0, 0], C[0, 1], C[shear, shear]),
        ("Voigt bound", Cv[0, 0], Cv[0, 1], Cv[shear, shear]),
    ]
    print()
    sh = "C44" if d == 3 else "C33"
    print_table(
        rows,
        ["", "C11", "C12", sh],
        title=f"effective stiffness (Voigt, engineering shears), {t_c:.2f} s",
    )
    summary["effective_stiffness"] = C
    summary["voigt_bound"], summary["reuss_bound"] = Cv, Cr

    # 3. derivative with respect to the particles' shear modulus -----------------------------
    stage("3/6 derivative with respect to the shear modulus")

    def c11(mu_p):
        return effective_stiffness(
            linear_elastic(**_fields(mask, mu_p)), shape, tol=1e-10, cg_tol=1e-12
        )[0, 0]

    t0 = time.perf_counter()
    g = float(ad.grad(c11)(PARTICLE["mu"]))
    t_g = time.perf_counter() - t0
    h = 1e-4
    g_fd = float((c11(PARTICLE["mu"] + h) - c11(PARTICLE["mu"] - h)) / (2 * h))
    print()
    print_table(
        [("adgraph.grad (implicit)", g, t_g), ("central difference", g_fd, None)],
        ["d C11 / d mu_particle", "value", "seconds"],
        title="sensitivity of the effective stiffness through the converged solve",
    )
    summary["dC11_dmu"] = {"ad": g, "fd": g_fd}

    # 4. J2 plasticity in increments, Newton-CG and Moulinec-Suquet ------------------------
    stage("4/6 J2 plasticity (the longest stage)")
    E = np.zeros((d, d))
    E[0, 0] = args.strain
    j2 = j2_plasticity(
        sigma_y0=phase_field(mask, PARTICLE["sigma_y0"], MATRIX["sigma_y0"]),
        H=MATRIX["H"],
        **_fields(mask),
    )
    t0 = time.perf_counter()
    res = solve(j2, E, shape, steps=args.steps, tol=1e-10, cg_tol=1e-9)
    t_j2 = time.perf_counter() - t0
    t0 = time.perf_counter()
    ms = solve(j2, E, shape, steps=args.steps, method="fixed_point", tol=1e-5)
    t_ms = time.perf_counter() - t0
    rows = []
    for k, (r, rm) in enumerate(zip(res.step_residuals, ms.step_residuals)):
        rows.append(
            (
                k + 1,
                res.mean_strain_path[k, 0, 0],
                res.mean_stress_path[k, 0, 0],
                len(r) - 1,
                " ".join(f"{x:.0e}" for x in r),
                len(rm) - 1,
            )
        )
    print()
    print_table(
        rows,
        ["inc", "E11", "<sigma11>", "Newton", "residuals", "fixed point"],
        title=f"J2 matrix, {args.steps} increments: Newton-CG {t_j2:.1f} s "
        f"({res.cg_iterations} CG iterations), Moulinec-Suquet {t_ms:.1f} s",
    )
    plastic = float(np.mean(np.asarray(res.history["alpha"]) > 0))
    print(
        f"plastic voxels at the end: {plastic:.1%}; |<sigma> Newton - <sigma> fixed point| = "
        f"{np.abs(res.mean_stress - ms.mean_stress).max():.1e}"
    )
    summary["j2"] = {
        "mean_stress_path": res.mean_stress_path,
        "newton_residuals": res.step_residuals,
        "fixed_point_iterations": [len(r) - 1 for r in ms.step_residuals],
        "plastic_fraction": plastic,
        "seconds_newton": t_j2,
        "seconds_fixed_point": t_ms,
    }

    # 5. finite strain ------------------------------------------------------------------
    stage("5/6 finite strain")
    Fm = np.eye(d)
    Fm[0, 0] = 1.2
    t0 = time.perf_counter()
    fs = solve(neo_hookean(**_fields(mask)), Fm, shape, finite_strain=True, steps=2, tol=1e-10)
    t_fs = time.perf_counter() - t0
    print()
    print(
        f"Neo-Hookean composite, F11 = 1.2 in 2 increments: <P11> = {fs.mean_stress[0, 0]:.5f}"
        f", Newton iterations {[len(r) - 1 for r in fs.step_residuals]}, {t_fs:.2f} s"
    )
    summary["neo_hookean_mean_P"] = fs.mean_stress

    # 6. AD against hand-written stress and tangent ----------------------------------------
    stage("6/6 AD against hand-written laws")
    hand = cf.linear_elastic_law(**_fields(mask))
    Em = np.zeros((d, d))
    Em[0, 0], Em[0, 1], Em[1, 0] = 0.01, 0.004, 0.004
    times = {}
    for label, lw in (("AD", law), ("hand-written", hand)):
        solve(lw, Em, shape)  # warm-up (compiles the AD law)
        t0 = time.perf_counter()
        r = solve(lw, Em, shape)
        times[label] = (time.perf_counter() - t0, r.cg_iterations, r.mean_stress[0, 0])
    print()
    print_table(
        [(k, v[0], v[1], v[2]) for k, v in times.items()],
        ["elastic solve", "seconds", "CG its", "<sigma11>"],
        title="same Newton-CG solver, law from AD or hand-written",
    )
    ratio = times["AD"][0] / times["hand-written"][0]
    print(f"AD / hand-written: {ratio:.2f}x")
    summary["timing_ad_over_hand"] = ratio

    # figures -----------------------------------------------------------------------------
    stage("figures")
    Figure = figure_or_none(args.no_plot)
    if Figure is not None:
        from .plotting import plot_convergence, plot_stress_slices, plot_stress_strain

        save_figure(
            plot_stress_slices(Figure, res, mask, "J2 composite, last increment"),
            out,
            "stress_slices.png",
        )
        save_figure(plot_convergence(Figure, res, ms), out, "convergence.png")
        save_figure(
            plot_stress_strain(Figure, {"Newton-CG": res, "Moulinec-Suquet": ms}),
            out,
            "stress_strain.png",
        )
    total = time.perf_counter() - t_start
    summary["seconds"] = total
    write_summary(out, summary)
    print(f"done in {total:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
