r"""A material law's stress and tangent over many points: the C backend against JAX jit and
adgraph's eager vectorised NumPy, in one run.

Two laws, float64, strain of each point a 3x3 matrix:

* ``power_law`` -- small-strain power-law hyperelasticity (deformation plasticity):
  :math:`\psi(\varepsilon) = \tfrac{K}{2}\operatorname{tr}(\varepsilon)^2 +
  \tfrac{\sigma_0 \varepsilon_0}{m+1}(\varepsilon_{eq}/\varepsilon_0)^{m+1}`,
  :math:`\varepsilon_{eq} = \sqrt{\tfrac23 \operatorname{dev}\varepsilon :
  \operatorname{dev}\varepsilon}`;
* ``neo_hookean`` -- compressible neo-Hookean energy of the deformation gradient ``F``:
  :math:`\tfrac{\mu}{2}(\operatorname{tr}F^TF - 3) - \mu \ln J + \tfrac{\lambda}{2}
  (\ln J)^2`, :math:`J = \det F`.

Stress = gradient of the energy (3x3), tangent = its Hessian (3x3x3x3), both per point.

* ``adgraph C`` -- ``compile_c(lambda e: (ad.grad(psi)(e), ad.hessian(psi)(e)), e0)``
  called once on the whole ``(n, 3, 3)`` batch, single-threaded and with every core, and
  single-threaded into reused result buffers (``out=``: no allocation or first-touch page
  faults of the ~720 bytes of results per point);
* ``JAX jit`` -- ``jax.jit(jax.vmap(lambda e: (jax.grad(psi)(e), jax.hessian(psi)(e))))``
  (``jax_enable_x64``), if JAX is installed;
* ``adgraph.jit(vmap)`` -- the Python backend (what ``compile_c`` falls back to without a
  C compiler);
* ``adgraph eager`` -- the law written vectorised over the batch with ``adgraph.numpy``:
  stress is ``ad.grad`` of the summed energy, the tangent nine forward-mode derivatives of
  that stress (``ad.linearize`` once, then one push-forward per basis direction).

Printed: the minimum over ``--repeat`` runs (``--repeat-slow`` for the slow rows), the
ratios to the single-threaded C backend and to JAX, and the largest difference from the C
backend's results. Compile times (first calls) are printed separately.

``--compile-times`` prints instead the first call (trace and compile, fresh cache) of
``jit(..., compiler="c")`` for the C programs of ``benchmarks/run.py`` and the two laws,
beside JAX jit's first call.

Usage::

    python benchmarks/cbackend_bench.py               # 10^6 points
    python benchmarks/cbackend_bench.py --compile-times
    python benchmarks/cbackend_bench.py --points 100000 --repeat 5 --no-eager
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.cbackend import compile_c

K, S0, E0, M = 10.0, 1.0, 0.01, 0.25  # power law: bulk modulus, stress/strain scales, 1/n
MU, LAM = 1.0, 2.0  # neo-Hookean

I3 = np.eye(3)


# ------------------------------------------------------------------ the laws, per point
def power_law(e, xp=anp):
    tr = xp.trace(e)
    dev = e - (tr / 3.0) * I3
    eq = xp.sqrt(2.0 / 3.0 * xp.sum(dev * dev) + 1e-30)
    return 0.5 * K * tr**2 + S0 * E0 / (M + 1.0) * (eq / E0) ** (M + 1.0)


def neo_hookean(F, xp=anp):
    C = F.T @ F
    lnJ = xp.log(xp.linalg.det(F))
    return 0.5 * MU * (xp.trace(C) - 3.0) - MU * lnJ + 0.5 * LAM * lnJ**2


# ------------------------------------------------------------------ vectorised over (n, 3, 3)
def power_law_batch(E):
    tr = anp.trace(E, axis1=-2, axis2=-1)
    dev = E - (tr / 3.0)[:, None, None] * I3
    eq = anp.sqrt(2.0 / 3.0 * anp.sum(dev * dev, axis=(-2, -1)) + 1e-30)
    return 0.5 * K * tr**2 + S0 * E0 / (M + 1.0) * (eq / E0) ** (M + 1.0)


def neo_hookean_batch(F):
    C = anp.swapaxes(F, -1, -2) @ F
    lnJ = anp.log(anp.linalg.det(F))
    return 0.5 * MU * (anp.trace(C, axis1=-2, axis2=-1) - 3.0) - MU * lnJ + 0.5 * LAM * lnJ**2


LAWS = {
    "power_law": (power_law, power_law_batch, 0.0),
    "neo_hookean": (neo_hookean, neo_hookean_batch, 1.0),
}


def eager_stress_tangent(psi_batch, E):
    def stress(E):
        return ad.grad(lambda E: anp.sum(psi_batch(E)))(E)

    s, push = ad.linearize(stress, E)
    n = E.shape[0]
    tangent = np.empty((n, 3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            d = np.zeros((n, 3, 3))
            d[:, i, j] = 1.0
            tangent[:, :, :, i, j] = push(d)
    return s, tangent


def best(fn, repeat):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


# ------------------------------------------------------------------ compile times
def _rosen(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _chain_python(xp):
    def f(x):
        for _ in range(2000):
            x = xp.sin(x) * x + 0.5
        return x

    return f


def _chain_fori(lax, xp):
    return lambda x: lax.fori_loop(0, 2000, lambda i, x: xp.sin(x) * x + 0.5, x)


def compile_times(include_unrolled=True):
    """First call (trace, lower, build the library; a fresh cache folder for each) of
    ``jit(..., compiler="c")`` on the C programs of ``benchmarks/run.py`` and of this
    benchmark, beside JAX jit's first call of the same derivative."""
    import tempfile

    from adgraph import lax

    rows = []
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = jnp = None
    x50 = np.random.default_rng(2).standard_normal(50)
    e0 = 0.02 * np.random.default_rng(0).standard_normal((3, 3))
    cases = [
        (
            "article_scalar",
            lambda m: m.grad(
                lambda a, b: a * b + b - (anp if m is ad else jnp).log(a), argnums=(0, 1)
            ),
            (2.0, 4.0),
        ),
        ("rosen_hessian", lambda m: m.hessian(_rosen(anp if m is ad else jnp)), (x50,)),
        (
            "chain_2000 (fori_loop)",
            lambda m: m.grad(_chain_fori(lax if m is ad else jax.lax, anp if m is ad else jnp)),
            (0.3,),
        ),
    ]
    for law, (psi, _, base) in LAWS.items():
        cases.append(
            (
                f"{law} stress+tangent",
                lambda m, psi=psi: (
                    (lambda e: (ad.grad(psi)(e), ad.hessian(psi)(e)))
                    if m is ad
                    else (
                        lambda e: (
                            jax.grad(lambda e: psi(e, xp=jnp))(e),
                            jax.hessian(lambda e: psi(e, xp=jnp))(e),
                        )
                    )
                ),
                (base * I3 + e0,),
            )
        )
    if include_unrolled:
        cases.append(
            (
                "chain_2000 (Python loop, re-rolled)",
                lambda m: m.grad(_chain_python(anp if m is ad else jnp)),
                (0.3,),
            )
        )
    for name, make, args in cases:
        os.environ["ADGRAPH_C_CACHE"] = tempfile.mkdtemp(prefix="adgraph-compile-")
        t = time.perf_counter()
        ad.jit(make(ad), compiler="c")(*args)
        t_c = time.perf_counter() - t
        t_j = None
        # (JAX compiles the Python loop unrolled: tens of seconds, left out)
        if jax is not None and "Python loop" not in name:
            jf = jax.jit(make(jax))
            t = time.perf_counter()
            jax.block_until_ready(jf(*args))
            t_j = time.perf_counter() - t
        rows.append((name, t_c, t_j))
    print("\n## first call (trace + compile), fresh C cache")
    print(f"{'program':40s} {'adgraph C':>10s} {'JAX jit':>9s}")
    for name, t_c, t_j in rows:
        tj = f"{t_j:8.2f}s" if t_j is not None else "        -"
        print(f"{name:40s} {t_c:9.2f}s {tj}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=7, help="runs of the compiled rows")
    p.add_argument("--repeat-slow", type=int, default=2, help="runs of the eager/Python rows")
    p.add_argument("--laws", default="power_law,neo_hookean")
    p.add_argument("--no-eager", action="store_true", help="skip the (slow) eager rows")
    p.add_argument("--no-python-jit", action="store_true", help="skip adgraph.jit(vmap)")
    p.add_argument(
        "--compile-times",
        action="store_true",
        help="only the first-call (compile) times of the C programs of run.py and this file",
    )
    p.add_argument(
        "--no-unrolled", action="store_true", help="with --compile-times: skip the unrolled chain"
    )
    args = p.parse_args(argv)
    if args.compile_times:
        return compile_times(include_unrolled=not args.no_unrolled)
    n = args.points
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"# {platform.machine()}, {cores} cores, Python {sys.version.split()[0]}, "
        f"NumPy {np.__version__}; {n} points, float64, min of {args.repeat} runs "
        f"({args.repeat_slow} for the eager and Python-backend rows)"
    )
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        print(f"# JAX {jax.__version__} on {jax.devices()[0].platform}")
    except ImportError:
        jax = None
        print("# JAX not installed: its rows are skipped")

    rng = np.random.default_rng(0)
    for law in args.laws.split(","):
        psi, psi_batch, base = LAWS[law]
        E = base * I3 + 0.02 * rng.standard_normal((n, 3, 3))
        e0 = E[0].copy()
        rows = []

        t = time.perf_counter()
        cf = compile_c(lambda e, psi=psi: (ad.grad(psi)(e), ad.hessian(psi)(e)), e0)
        t_compile = time.perf_counter() - t
        t1, ref = best(lambda: cf(E, threads=1), args.repeat)
        rows.append(("adgraph C, 1 thread", t1, ref))
        if cores > 1:
            tc, out = best(lambda: cf(E), args.repeat)
            rows.append((f"adgraph C, {cores} threads", tc, out))
        bufs = tuple(np.empty_like(o) for o in ref)
        tb, out = best(lambda: cf(E, threads=1, out=bufs), args.repeat)
        rows.append(("adgraph C, 1 thread, out= reused", tb, out))
        compile_note = f"C: trace + compile {t_compile:.2f} s ({cf.kernel.n_statements} statements)"

        if jax is not None:

            def psi_j(e, psi=psi):
                return psi(e, xp=jnp)

            jf = jax.jit(jax.vmap(lambda e: (jax.grad(psi_j)(e), jax.hessian(psi_j)(e))))
            Ej = jnp.asarray(E)
            t = time.perf_counter()
            jax.block_until_ready(jf(Ej))
            compile_note += f"; JAX: first call {time.perf_counter() - t:.2f} s"
            tj, out = best(lambda: jax.block_until_ready(jf(Ej)), args.repeat)
            rows.append(("JAX jit(vmap)", tj, tuple(np.asarray(o) for o in out)))

        if not args.no_python_jit:
            pj = ad.jit(ad.vmap(lambda e, psi=psi: (ad.grad(psi)(e), ad.hessian(psi)(e))))
            t = time.perf_counter()
            pj(E)
            compile_note += f"; adgraph.jit: first call {time.perf_counter() - t:.2f} s"
            tp, out = best(lambda: pj(E), args.repeat_slow)
            rows.append(("adgraph.jit(vmap) (Python backend)", tp, out))

        if not args.no_eager:
            te, out = best(lambda: eager_stress_tangent(psi_batch, E), args.repeat_slow)
            rows.append(("adgraph eager (vectorised NumPy)", te, out))

        print(f"\n## {law}: stress (3x3) and tangent (3x3x3x3) per point  [{compile_note}]")
        t_jax = next((tm for name, tm, _ in rows if name.startswith("JAX")), None)
        print(
            f"{'backend':36s} {'time':>10s} {'us/point':>9s} {'vs C 1 thread':>14s} "
            f"{'vs JAX':>8s} {'max |diff|':>11s}"
        )
        for name, tm, out in rows:
            diff = max(float(np.max(np.abs(np.asarray(o) - r))) for o, r in zip(out, ref))
            vs_jax = f"{tm / t_jax:7.2f}x" if t_jax else "       -"
            print(
                f"{name:36s} {tm * 1e3:8.1f} ms {tm / n * 1e6:9.3f} {tm / t1:13.2f}x "
                f"{vs_jax} {diff:11.2e}"
            )


if __name__ == "__main__":
    main()
