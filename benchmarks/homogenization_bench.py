"""FFT homogenisation: AD stress and tangent against hand-written ones, in the same solver.

Two workloads on an ``N^3`` grid (default 64^3), a spherical inclusion (11 % by volume) in a
matrix:

* ``elastic`` -- a linear-elastic Newton-CG solve (contrast 10), one increment;
* ``j2`` -- one plastic load increment of a J2 elasto-plastic matrix with linear hardening
  around an elastic inclusion (several Newton iterations, consistent tangent).

Each runs with the law written in ``adgraph.numpy`` (stress and tangent by AD; run by the
law's default backend, C code for one voxel when a compiler is found, else ``adgraph.jit``)
and with the hand-written closed-form stress and tangent (``closed_form``), through the same
solver, for each tangent mode (``stored``: per-voxel tangent built once per Newton iteration
and applied in every CG iteration; ``action``: matrix-free tangent action in every CG
iteration). The runs alternate and the minimum over ``--repeat`` runs is kept. Printed: the CPU time of the
process (``time.process_time``, all threads: steadier than wall time on a shared machine;
the wall time of the same run in brackets), the CPU time spent in the material law (stress,
tangent, tangent actions), iteration counts, and the ratio AD / hand-written of CPU times;
also AD-stored against the fastest hand-written variant.

Usage::

    python benchmarks/homogenization_bench.py                # 64^3, both workloads, both modes
    python benchmarks/homogenization_bench.py --size 32 --repeat 3
    python benchmarks/homogenization_bench.py --profile      # where the AD time goes
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sys
import time
from collections import defaultdict

import numpy as np

from adgraph.examples import homogenization as hom
from adgraph.examples.homogenization import closed_form as cf
from adgraph.examples.homogenization.laws import Law, Linearization


class TimedLaw(Law):
    """A law that counts the seconds spent in its stress, tangent and tangent actions."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.params = inner.params
        self.finite_strain = inner.finite_strain
        self.differentiable = inner.differentiable
        self.seconds = 0.0

    @property
    def has_history(self):
        return self.inner.has_history

    def init_history(self, d, shape):
        return self.inner.init_history(d, shape)

    def _timed(self, fn, *a):
        t0 = time.process_time()
        try:
            return fn(*a)
        finally:
            self.seconds += time.process_time() - t0

    def stress(self, eps, history=None, params=None):
        return self._timed(self.inner.stress, eps, history, params)

    def plain_stress(self, eps, history=None, params=None):
        return self._timed(self.inner.plain_stress, eps, history, params)

    def update(self, eps, history=None, params=None):
        return self._timed(self.inner.update, eps, history, params)

    def linearize(self, eps, history=None, params=None, tangent="stored"):
        lin = self._timed(self.inner.linearize, eps, history, params, tangent)
        if tangent == "stored":
            return lin  # the stored tangent's application is solver work, shared by both
        apply = lin.apply
        return Linearization(lin.sigma, lambda de: self._timed(apply, de), lin.stored)


def workloads(n):
    shape = (n, n, n)
    mask = hom.inclusion(shape, 0.3)
    K = np.where(mask, 10.0, 1.0)
    mu = np.where(mask, 5.0, 0.5)
    E_el = np.array([[0.01, 0.004, 0.0], [0.004, -0.003, 0.002], [0.0, 0.002, 0.001]])
    sy = np.where(mask, 1e3, 0.004)
    E_pl = np.diag([0.01, -0.005, -0.005])
    return {
        "elastic": (shape, hom.linear_elastic(K, mu), cf.linear_elastic_law(K, mu), E_el),
        "j2": (
            shape,
            hom.j2_plasticity(K, mu, sy, 0.2),
            cf.j2_plasticity_law(K, mu, sy, 0.2),
            E_pl,
        ),
    }


def run_once(law, E, shape, tangent):
    timed = TimedLaw(law)
    t0, w0 = time.process_time(), time.perf_counter()
    res = hom.solve(timed, E, shape, tangent=tangent, tol=1e-7, cg_tol=1e-8)
    res.wall = time.perf_counter() - w0
    return time.process_time() - t0, timed.seconds, res


def bench(args):
    rows = []
    for name, (shape, ad_law, hand_law, E) in workloads(args.size).items():
        if args.workloads and name not in args.workloads:
            continue
        for tangent in args.tangent:
            best = {}
            for _ in range(args.repeat):
                for label, law in (("AD", ad_law), ("hand", hand_law)):
                    t, tl, res = run_once(law, E, shape, tangent)
                    if label not in best or t < best[label][0]:
                        best[label] = (t, tl, res)
            (ta, la, ra), (th, lh, rh) = best["AD"], best["hand"]
            diff = float(np.abs(ra.mean_stress - rh.mean_stress).max())
            rows.append(
                (
                    name,
                    tangent,
                    ta,
                    la,
                    th,
                    lh,
                    ta / th,
                    ra.newton_iterations,
                    ra.cg_iterations,
                    rh.newton_iterations,
                    rh.cg_iterations,
                    diff,
                )
            )
            print(
                f"{name:8s} {tangent:7s} AD {ta:7.2f} s [{ra.wall:6.2f}] (law {la:6.2f} s)  hand "
                f"{th:7.2f} s [{rh.wall:6.2f}] (law {lh:6.2f} s)  ratio {ta / th:5.2f}  newton "
                f"{ra.newton_iterations}/"
                f"{rh.newton_iterations}  cg {ra.cg_iterations}/{rh.cg_iterations}  "
                f"|<sigma> AD - hand| = {diff:.1e}",
                flush=True,
            )
    return rows


def print_table(rows, size):
    print()
    print(
        f"## FFT homogenisation, {size}^3 voxels (CPU seconds, min of runs; law = time in the "
        "material law)"
    )
    print()
    print(
        "| workload | tangent | AD total | AD law | hand total | hand law | AD / hand |"
        " Newton | CG its |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]} | {r[2]:.2f} s | {r[3]:.2f} s | {r[4]:.2f} s | {r[5]:.2f} s |"
            f" {r[6]:.2f}x | {r[7]} | {r[8]} |"
        )
    by = defaultdict(dict)
    for r in rows:
        by[r[0]][r[1]] = r
    for name, modes in by.items():
        if "stored" in modes and "action" in modes:
            best_hand = min(modes["stored"][4], modes["action"][4])
            print(
                f"\n{name}: AD (stored tangent) / fastest hand-written solver = "
                f"{modes['stored'][2] / best_hand:.2f}x"
            )


# ------------------------------------------------------------------ profiling
class PrimitiveTimer:
    """Seconds per primitive implementation (patched in for the duration of a ``with``)."""

    def __init__(self):
        from adgraph.core.primitive import registry

        self.registry = registry
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)
        self.saved = {}

    def __enter__(self):
        for name, prim in self.registry.items():
            self.saved[name] = prim.impl

            def timed(xp, *a, _impl=prim.impl, _name=name, **k):
                t0 = time.perf_counter()
                try:
                    return _impl(xp, *a, **k)
                finally:
                    self.seconds[_name] += time.perf_counter() - t0
                    self.calls[_name] += 1

            prim.impl = timed
        return self

    def __exit__(self, *exc):
        for name, impl in self.saved.items():
            self.registry[name].impl = impl

    def report(self, total, title):
        print(
            f"\n{title}: {total * 1e3:.1f} ms wall; time inside primitive implementations "
            f"(NumPy work) {sum(self.seconds.values()) * 1e3:.1f} ms"
        )
        items = sorted(self.seconds.items(), key=lambda kv: -kv[1])[:12]
        for name, s in items:
            print(f"  {name:24s} {self.calls[name]:5d} calls  {s * 1e3:8.1f} ms")


def best_of(fn, reps=3):
    """Minimum CPU time of ``fn()`` over ``reps`` runs, after one warm-up (and compile)."""
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def profile(size):
    """Per workload: the law's pieces timed for the hand-written law and the AD law on each
    backend (C for one voxel, jit of the grid program, eager); the eager stored-tangent pass
    broken down by primitive; cProfile of it."""
    import copy

    shape = (size,) * 3
    for name, (_, law, hand, E) in workloads(size).items():
        variants = {"hand": hand}
        for backend in ("c", "jit", "eager"):
            v = copy.copy(law)
            v.backend, v._kernels = backend, None
            variants[f"AD {backend}"] = v
        eps = np.broadcast_to(E.reshape(3, 3, 1, 1, 1), (3, 3) + shape).copy()
        de = np.random.default_rng(0).standard_normal(eps.shape)
        de = 0.5 * (de + np.swapaxes(de, 0, 1))
        hist = law.init_history(3, shape)
        print(f"\n[{name}] {size}^3 voxels, CPU ms (min of 3)")
        print(f"  {'':34s} " + " ".join(f"{k:>9s}" for k in variants))
        acts = {k: lw.linearize(eps, hist, None, "action") for k, lw in variants.items()}
        for label, fn in (
            ("stress", lambda lw: lw.plain_stress(eps, hist)),
            ("stress + stored tangent", lambda lw: lw.linearize(eps, hist, None, "stored")),
            ("tangent action (per CG iteration)", None),
        ):
            row = []
            for key, lw in variants.items():
                if fn is None:
                    row.append(best_of(lambda a=acts[key]: a.apply(de)))
                else:
                    row.append(best_of(lambda lw=lw: fn(lw)))
            print(f"  {label:34s} " + " ".join(f"{t * 1e3:9.1f}" for t in row))
        eager = variants["AD eager"]
        eager.linearize(eps, hist, None, "stored")
        with PrimitiveTimer() as pt:
            t0 = time.perf_counter()
            eager.linearize(eps, hist, None, "stored")
            total = time.perf_counter() - t0
        pt.report(total, f"[{name}] eager AD stress + stored tangent, by primitive")
        pr = cProfile.Profile()
        pr.enable()
        eager.linearize(eps, hist, None, "stored")
        pr.disable()
        out = io.StringIO()
        pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(10)
        print(f"\n[{name}] cProfile of the eager stored-tangent pass (top by own time):")
        print("\n".join(out.getvalue().splitlines()[6:20]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=64, help="voxels per axis (grid size^3)")
    p.add_argument("--repeat", type=int, default=1, help="runs per variant (minimum kept)")
    p.add_argument(
        "--tangent", nargs="+", default=["stored", "action"], choices=["stored", "action"]
    )
    p.add_argument("--workloads", nargs="+", choices=["elastic", "j2"], default=None)
    p.add_argument(
        "--profile",
        action="store_true",
        help="break the AD law evaluation down by primitive instead of timing solves",
    )
    args = p.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load average {load:.2f}, grid {args.size}^3"
    )
    if args.profile:
        profile(args.size)
        return 0
    rows = bench(args)
    print_table(rows, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
