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

With ``--backend cupy`` the AD solver runs on the GPU (CuPy fields, cuFFT, the law through
``adgraph.jit``; the hand-written closed forms are NumPy code and are not run there). Times
are wall-clock seconds with the device synchronised, the minimum over ``--repeat`` runs after
a warm-up solve on a small grid (CUDA kernels compiled, cached on disk by CuPy); the first
run at full size (FFT plans, the law traced for the new shape) is shown too. The same AD
solve on NumPy is the reference (``--cpu-size``, ``--cpu-tangent``; a run longer than
``--cpu-timeout`` seconds is stopped and repeated at half the size, and the ratio is then
taken per CG iteration and voxel). ``--check`` compares small CuPy solves with NumPy ones.

Usage::

    python benchmarks/homogenization_bench.py                # 64^3, both workloads, both modes
    python benchmarks/homogenization_bench.py --size 32 --repeat 3
    python benchmarks/homogenization_bench.py --profile      # where the AD time goes
    python benchmarks/homogenization_bench.py --backend cupy --check
    python benchmarks/homogenization_bench.py --backend cupy --size 64 --repeat 2
    python benchmarks/homogenization_bench.py --backend cupy --profile
    python benchmarks/homogenization_bench.py --reverse-memory --size 64

``--reverse-memory``: peak memory (tracemalloc) of ``grad`` of the mean shear stress with
respect to the inclusion's shear modulus, through the whole solve, at CG tolerances 1e-6 and
1e-10. The CG iterations are never recorded (the converged state is differentiated
implicitly, and CG itself is a ``custom_linear_solve``), so the two peaks agree although
the tight tolerance takes many more iterations.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import signal
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


# ------------------------------------------------------------------ on a GPU (CuPy)
def _sync(xp):
    if xp.__name__ == "cupy":
        xp.cuda.Device().synchronize()


def _device_name(xp):
    if xp.__name__ != "cupy":
        return xp.__name__
    rt = xp.cuda.runtime
    props = rt.getDeviceProperties(rt.getDevice())
    name = props["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return f"{name} (CuPy {xp.__version__}, CUDA runtime {rt.runtimeGetVersion()})"


def _ad_law(name, n, xp):
    """The AD law of a workload with its fields in ``xp``, and ``(shape, E)``."""
    shape, law, _, E = workloads(n)[name]
    if xp is not np:
        law = law.replace(**{k: xp.asarray(v) if isinstance(v, np.ndarray) else v
                             for k, v in law.params.items()})  # fmt: skip
    return law, shape, E


class _Timeout(Exception):
    pass


def _alarm(seconds):
    """Raise _Timeout after ``seconds`` in the main thread (0: no limit)."""

    def handler(signum, frame):
        raise _Timeout

    if not hasattr(signal, "SIGALRM"):
        return
    if seconds:
        signal.signal(signal.SIGALRM, handler)
    signal.alarm(int(seconds))  # 0 cancels


def timed_solve(law, E, shape, tangent, xp):
    """One solve; ``(wall seconds, CPU seconds, result)`` with the device synchronised."""
    _sync(xp)
    t0, c0 = time.perf_counter(), time.process_time()
    res = hom.solve(law, E, shape, tangent=tangent, tol=1e-7, cg_tol=1e-8, xp=xp)
    _sync(xp)
    return time.perf_counter() - t0, time.process_time() - c0, res


def _warm(law, E, shape, tangent, xp):
    """Compile the law's programs for this grid (C, jit or CUDA kernels) before timing."""
    grid = hom.Grid(shape)
    eps = grid.uniform(E, xp)
    hist = law.init_history(3, shape)
    if hist is not None and xp is not np:
        hist = {k: xp.asarray(v) for k, v in hist.items()}
    law.plain_stress(eps, hist)
    law.linearize(eps, hist, None, tangent).apply(eps)
    _sync(xp)


def _to_host(x):
    get = getattr(x, "get", None)
    return np.asarray(get() if callable(get) else x)


def bench_device(args, xp):
    """The AD solver on ``xp`` (CuPy) against the same AD solver on NumPy."""
    rows = []
    names = args.workloads or ["elastic", "j2"]
    for name in names:  # warm-up: CUDA kernels compiled and cached, memory pool filled
        law, shape, E = _ad_law(name, args.warmup_size, xp)
        for tangent in args.tangent:
            timed_solve(law, E, shape, tangent, xp)
    for name in names:
        law, shape, E = _ad_law(name, args.size, xp)
        for tangent in args.tangent:
            runs = [timed_solve(law, E, shape, tangent, xp) for _ in range(max(args.repeat, 1))]
            first = runs[0][0]
            wall, _, res = min(runs, key=lambda r: r[0])
            row = {
                "workload": name,
                "tangent": tangent,
                "device": "gpu",
                "size": args.size,
                "seconds": wall,
                "first": first,
                "newton": res.newton_iterations,
                "cg": res.cg_iterations,
                "mean_stress": _to_host(res.mean_stress).tolist(),
            }
            rows.append(row)
            print(
                f"GPU {name:8s} {tangent:7s} {args.size}^3: {wall:7.3f} s (first run "
                f"{first:.3f} s)  newton {res.newton_iterations}  cg {res.cg_iterations}  "
                f"{1e3 * wall / max(res.cg_iterations, 1):.2f} ms per CG iteration",
                flush=True,
            )
    if args.cpu_size == 0:
        return rows
    for name in names:
        for tangent in args.cpu_tangent or args.tangent:
            n = args.cpu_size
            note = ""
            while True:
                law, shape, E = _ad_law(name, n, np)
                _warm(law, E, shape, tangent, np)  # C compilation is not timed
                try:
                    _alarm(args.cpu_timeout)
                    wall, cpu, res = timed_solve(law, E, shape, tangent, np)
                except _Timeout:
                    note = f"{n}^3 ran over {args.cpu_timeout:.0f} s"
                    print(f"CPU {name:8s} {tangent:7s} {note}; again at {n // 2}^3", flush=True)
                    n //= 2
                    continue
                finally:
                    _alarm(0)
                break
            rows.append(
                {
                    "workload": name,
                    "tangent": tangent,
                    "device": "cpu",
                    "size": n,
                    "seconds": wall,
                    "cpu_seconds": cpu,
                    "newton": res.newton_iterations,
                    "cg": res.cg_iterations,
                    "law_backend": law.kernels.backend,
                    "note": note,
                    "mean_stress": np.asarray(res.mean_stress).tolist(),
                }
            )
            print(
                f"CPU {name:8s} {tangent:7s} {n}^3: {wall:7.3f} s wall ({cpu:.2f} s CPU, law "
                f"on {law.kernels.backend!r})  newton {res.newton_iterations}  cg "
                f"{res.cg_iterations}  {1e3 * wall / max(res.cg_iterations, 1):.2f} ms per CG "
                "iteration",
                flush=True,
            )
    return rows


def print_device_table(rows, device):
    gpu = {(r["workload"], r["tangent"]): r for r in rows if r["device"] == "gpu"}
    cpu = {(r["workload"], r["tangent"]): r for r in rows if r["device"] == "cpu"}
    print()
    print(f"## FFT homogenisation, AD stress and tangent, GPU ({device}) against NumPy")
    print()
    print(
        "| workload | tangent | GPU grid | GPU time (first run) | Newton / CG (GPU) | CPU grid |"
        " CPU time (wall) | Newton / CG (CPU) | GPU / CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for key, g in gpu.items():
        c = cpu.get(key)
        cells = [
            key[0],
            key[1],
            f"{g['size']}^3",
            f"{g['seconds']:.3f} s ({g['first']:.2f} s)",
            f"{g['newton']} / {g['cg']}",
        ]
        if c is None:
            cells += ["-", "-", "-", "-"]
        else:
            if c["size"] == g["size"]:
                ratio = f"{g['seconds'] / c['seconds']:.3f}"
                diff = np.abs(np.subtract(g["mean_stress"], c["mean_stress"])).max()
                scale = np.abs(c["mean_stress"]).max()
                g["mean_stress_rel_diff"] = float(diff / scale)
            else:  # per CG iteration and voxel
                per_g = g["seconds"] / max(g["cg"], 1) / g["size"] ** 3
                per_c = c["seconds"] / max(c["cg"], 1) / c["size"] ** 3
                ratio = f"{per_g / per_c:.3f} per CG iteration and voxel"
            cells += [
                f"{c['size']}^3" + (f" ({c['note']})" if c["note"] else ""),
                f"{c['seconds']:.2f} s",
                f"{c['newton']} / {c['cg']}",
                ratio,
            ]
        print("| " + " | ".join(cells) + " |")
    for g in gpu.values():
        if "mean_stress_rel_diff" in g:
            print(
                f"\n{g['workload']} ({g['tangent']}): max |<sigma>_GPU - <sigma>_CPU| / "
                f"max |<sigma>| = {g['mean_stress_rel_diff']:.1e}",
                end="",
            )
    print()


def check_device(xp):
    """Small solves on ``xp`` against NumPy: the largest relative difference of the stress
    fields (and the effective stiffness); ``True`` when all are below 1e-6."""
    worst = 0.0
    cases = []
    # even sizes exercise the Nyquist tables, in small and finite strain
    for shape, finite in (((12, 10), True), ((8, 7, 6), True), ((7, 7, 5), True)):
        d = len(shape)
        mask = hom.inclusion(shape, 0.3)
        K, mu = np.where(mask, 10.0, 1.0), np.where(mask, 5.0, 0.5)
        sy = np.where(mask, 1e3, 0.004)
        E = 0.01 * np.diag([1.0, -0.5, -0.5][:d])
        E[0, 1] = E[1, 0] = 0.003
        cases += [
            (f"{d}-D linear elastic, stored", hom.linear_elastic(K, mu), E, shape, {}),
            (
                f"{d}-D linear elastic, action",
                hom.linear_elastic(K, mu),
                E,
                shape,
                {"tangent": "action"},
            ),
            (f"{d}-D J2, 2 increments", hom.j2_plasticity(K, mu, sy, 0.2), E, shape, {"steps": 2}),
        ]
        if finite:
            cases.append(
                (
                    f"{d}-D Neo-Hookean",
                    hom.neo_hookean(K, mu),
                    np.eye(d) + E,
                    shape,
                    {"finite_strain": True},
                )
            )
    for label, law, E, shape, kw in cases:
        t0 = time.perf_counter()
        dev = hom.solve(law, E, shape, xp=xp, **kw)
        _sync(xp)
        t_dev = time.perf_counter() - t0
        ref = hom.solve(law, E, shape, **kw)
        got = _to_host(dev.stress)
        rel = float(np.abs(got - ref.stress).max() / np.abs(ref.stress).max())
        worst = max(worst, rel)
        print(
            f"{label:28s} {str(shape):12s} max rel diff of the stress field {rel:.1e}  "
            f"(newton {dev.newton_iterations}/{ref.newton_iterations}, cg "
            f"{dev.cg_iterations}/{ref.cg_iterations}, {type(dev.stress).__module__}, "
            f"{t_dev:.2f} s on the device)",
            flush=True,
        )
    mask = hom.inclusion((8, 7, 6), 0.3)
    law = hom.linear_elastic(np.where(mask, 10.0, 1.0), np.where(mask, 5.0, 0.5))
    C_dev = _to_host(hom.effective_stiffness(law, (8, 7, 6), xp=xp))
    C = hom.effective_stiffness(law, (8, 7, 6))
    rel = float(np.abs(C_dev - C).max() / np.abs(C).max())
    worst = max(worst, rel)
    print(f"{'3-D effective stiffness':28s} {'(8, 7, 6)':12s} max rel diff {rel:.1e}")
    print(f"largest relative difference GPU - NumPy: {worst:.1e}", flush=True)
    return worst < 1e-6


def profile_device(size, xp, reps=10):
    """Per call on the device at ``size``^3 (milliseconds, device synchronised): the law's
    programs (adgraph.jit), the projection (two FFTs), the stored-tangent product and a
    CG dot product."""
    from adgraph.examples.homogenization.laws import _matvec
    from adgraph.examples.homogenization.solvers import _dot

    def per_call(fn):
        fn()
        _sync(xp)
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        _sync(xp)
        return 1e3 * (time.perf_counter() - t0) / reps

    for name in ("elastic", "j2"):
        law, shape, E = _ad_law(name, size, xp)
        grid = hom.Grid(shape)
        eps = grid.uniform(E, xp)
        hist = law.init_history(3, shape)
        hist = None if hist is None else {k: xp.asarray(v) for k, v in hist.items()}
        de = xp.asarray(np.random.default_rng(0).standard_normal(eps.shape))
        de = 0.5 * (de + de.swapaxes(0, 1))
        lin_s = law.linearize(eps, hist, None, "stored")
        lin_a = law.linearize(eps, hist, None, "action")
        k = xp.ascontiguousarray(lin_s.stored.reshape(6, 6, -1))
        v = xp.ascontiguousarray(de.reshape(9, -1)[:6])
        print(f"\n[{name}] {size}^3 voxels on {xp.__name__}, ms per call (mean of {reps})")
        for label, fn in (
            ("stress", lambda: law.plain_stress(eps, hist)),
            ("stress + stored tangent", lambda: law.linearize(eps, hist, None, "stored")),
            ("tangent action (jit JVP)", lambda: lin_a.apply(de)),
            ("stored tangent applied", lambda: lin_s.apply(de)),
            ("  product (k * v).sum(axis=1)", lambda: _matvec(xp, k, v)),
            ("  product einsum", lambda: xp.einsum("abn,bn->an", k, v)),
            ("projection (2 FFTs)", lambda: grid.project(de)),
            ("CG dot product (+ sync)", lambda: _dot(de, de)),
        ):
            print(f"  {label:32s} {per_call(fn):9.3f}", flush=True)


def reverse_memory(size, tols=(1e-6, 1e-10)):
    """Peak memory and time of reverse mode through a linear-elastic solve, per CG tolerance."""
    import tracemalloc

    import adgraph as ad

    shape = (size,) * 3
    mask = hom.inclusion(shape, 0.11)
    E = np.zeros((3, 3))
    E[0, 1] = E[1, 0] = 0.01
    rows = []
    for tol in tols:
        its = {}

        def shear(mu, tol=tol, its=its):
            law = hom.linear_elastic(
                hom.phase_field(mask, 10.0, 1.0), hom.phase_field(mask, mu, 0.5)
            )
            r = hom.solve(law, E, shape, cg_tol=tol, tol=1e-5)
            its["cg"] = r.cg_iterations
            return r.mean_stress[0, 1]

        t0 = time.perf_counter()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        g = ad.grad(shear)(5.0)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        rows.append((tol, its["cg"], peak, time.perf_counter() - t0, float(g)))
    print(f"reverse mode through the {size}^3 solve (grad of mean shear stress w.r.t. mu):")
    for tol, n_cg, peak, sec, g in rows:
        print(
            f"  cg_tol {tol:7.0e}: {n_cg:4d} CG iterations, peak {peak / 2**20:8.1f} MiB, "
            f"{sec:6.2f} s, gradient {g:.10e}"
        )
    print(f"  peak ratio {rows[-1][2] / rows[0][2]:.3f}")
    return rows


def main_device(args):
    from adgraph.backends import require

    xp = require(args.backend)
    print(f"device: {_device_name(xp)}")
    if args.check:
        return 0 if check_device(xp) else 1
    if args.profile:
        profile_device(args.size, xp)
        return 0
    rows = bench_device(args, xp)
    print_device_table(rows, _device_name(xp))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": _device_name(xp), "rows": rows}, f, indent=1)
    return 0


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
    p.add_argument(
        "--backend",
        default="numpy",
        choices=["numpy", "cupy"],
        help="cupy: the AD solver on the GPU against the AD solver on NumPy",
    )
    p.add_argument("--check", action="store_true", help="cupy: small solves against NumPy")
    p.add_argument(
        "--cpu-size", type=int, default=None, help="cupy: NumPy reference grid (0: none)"
    )
    p.add_argument(
        "--cpu-tangent",
        nargs="+",
        default=None,
        choices=["stored", "action"],
        help="cupy: tangent modes of the NumPy reference (default: --tangent)",
    )
    p.add_argument(
        "--cpu-timeout",
        type=float,
        default=0,
        help="cupy: seconds a NumPy reference may run before it is redone at half the size",
    )
    p.add_argument("--warmup-size", type=int, default=8, help="cupy: grid of the warm-up")
    p.add_argument("--json", default=None, help="cupy: write the rows to this JSON file")
    p.add_argument(
        "--reverse-memory",
        action="store_true",
        help="peak memory of grad through the solve at CG tolerances 1e-6 and 1e-10",
    )
    args = p.parse_args(argv)
    if args.cpu_size is None:
        args.cpu_size = args.size
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"load average {load:.2f}, grid {args.size}^3"
    )
    if args.reverse_memory:
        reverse_memory(args.size)
        return 0
    if args.backend != "numpy":
        return main_device(args)
    if args.profile:
        profile(args.size)
        return 0
    rows = bench(args)
    print_table(rows, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
