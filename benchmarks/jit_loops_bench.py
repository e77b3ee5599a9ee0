"""Compiled loops: ``jit(grad(f))`` of a 2,000-step ``fori_loop``, adgraph's two code
generators against JAX jit, in one process.

The loop is chain_2000 of ``benchmarks/run.py`` written with ``lax.fori_loop``:
``x = sin(x) * x + 0.5``, 2,000 steps, float64. Under ``jit`` both code generators emit one
loop for the forward pass and one for the adjoint sweep, so the first call (trace and
compile) does not grow with the trip count. Printed: the first call's time (trace and
compile; the C library is built in a fresh cache folder, so no earlier run helps), the best
run time of ``--repeat`` batches, their ratios to JAX jit, and the gradient of each.

    python benchmarks/jit_loops_bench.py [--steps 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def chain(lax, anp, n):
    def f(x):
        return lax.fori_loop(0, n, lambda i, x: anp.sin(x) * x + 0.5, x)

    return f


def best_interleaved(fns, rounds, inner):
    """The best time per call of each function, measured in alternating batches (the
    machine's load then weighs on every row alike)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            for _ in range(inner[k]):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / inner[k])
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--x0", type=float, default=0.3)
    a = ap.parse_args(argv)
    os.environ["ADGRAPH_C_CACHE"] = tempfile.mkdtemp(prefix="adgraph-bench-")
    import adgraph as ad
    import adgraph.numpy as anp
    from adgraph import lax

    rows, fns, inner = [], [], []
    for compiler, reps in (("python", 10), ("c", 200)):
        g = ad.jit(ad.grad(chain(lax, anp, a.steps)), compiler=compiler)
        t = time.perf_counter()
        val = g(a.x0)
        rows.append([f"adgraph jit, compiler={compiler!r}", time.perf_counter() - t, None, val])
        fns.append(lambda g=g: g(a.x0))
        inner.append(reps)
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jg = jax.jit(jax.grad(chain(jax.lax, jnp, a.steps)))
        t = time.perf_counter()
        val = jg(a.x0).block_until_ready()
        rows.append(["JAX jit", time.perf_counter() - t, None, float(val)])
        fns.append(lambda: jg(a.x0).block_until_ready())
        inner.append(200)
    except ImportError:
        pass
    for row, tm in zip(rows, best_interleaved(fns, a.repeat, inner)):
        row[2] = tm
    tj = rows[-1][2] if rows[-1][0] == "JAX jit" else None
    eager = ad.grad(chain(lax, anp, a.steps))(a.x0)
    print(f"jit(grad) of a {a.steps}-step fori_loop (x = sin(x) * x + 0.5), x0 = {a.x0}")
    print(f"{'':32s} {'first call':>11s} {'run':>11s} {'run / JAX':>10s}  gradient")
    for name, first, run, val in rows:
        ratio = f"{run / tj:9.2f}x" if tj else "        -"
        print(f"{name:32s} {first:9.3f} s {run * 1e6:8.1f} us {ratio}  {float(val):.17g}")
    print(f"{'adgraph eager grad':32s} {'':11s} {'':11s} {'':10s}  {float(eager):.17g}")
    return rows


if __name__ == "__main__":
    main()
