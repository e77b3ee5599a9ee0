"""Compiled loops: ``jit(grad(f))`` of a 2,000-step ``fori_loop``, adgraph's two code
generators against JAX jit, in one process.

The loop is chain_2000 of ``benchmarks/run.py`` written with ``lax.fori_loop``:
``x = sin(x) * x + 0.5``, 2,000 steps, float64. Under ``jit`` both code generators emit one
loop for the forward pass and one for the adjoint sweep, so the first call (trace and
compile) does not grow with the trip count. Printed: the first call's time (trace and
compile; the C library is built in a fresh cache folder, so no earlier run helps), the best
run time of ``--repeat`` batches, their ratios to JAX jit, and the gradient of each.

    python benchmarks/jit_loops_bench.py [--steps 2000] [--repeat 7]
    python benchmarks/jit_loops_bench.py --python-loop [--no-reroll]
    python benchmarks/jit_loops_bench.py --checkpoints 20 [--steps 10000]

``--checkpoints k`` adds, for each code generator, the loop with ``checkpoints=k``: its
reverse mode is one ``scan_revolve`` node (the revolve schedule walked by one loop around
the step's advance and its pullback, :mod:`adgraph.jit.revolve_loops`), whose first call
and run time are printed beside the store-all loops'.

``--python-loop`` writes the chain as a plain Python ``for`` loop (chain_2000 of
``benchmarks/workloads.py``): traced, it is unrolled into 16,000 nodes, which ``jit``
re-rolls into the same two loops (:mod:`adgraph.jit.reroll`); JAX jit compiles it
unrolled. ``--no-reroll`` adds the C backend with re-rolling off (the unrolled program,
which takes seconds to compile) as a baseline.

``--while-loop`` writes the chain as a ``lax.while_loop`` whose trip count is an argument
(``while i < n``): ``jit(grad)`` compiles a forward loop that stacks the carries and a
backward loop of the count it ran, one program for every ``n`` (the row counts the traces
after calls with ``n`` and ``n // 2``). Eager ``grad`` is timed too; JAX cannot
reverse-differentiate ``while_loop``, so its row is ``fori_loop`` of the same (static)
count.

    python benchmarks/jit_loops_bench.py --while-loop [--steps 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def chain(lax, anp, n, checkpoints=None):
    if checkpoints is None:  # (JAX's fori_loop has no checkpoints keyword)

        def f(x):
            return lax.fori_loop(0, n, lambda i, x: anp.sin(x) * x + 0.5, x)

    else:

        def f(x):
            step = lambda i, x: anp.sin(x) * x + 0.5  # noqa: E731
            return lax.fori_loop(0, n, step, x, checkpoints=checkpoints)

    return f


def chain_python(anp, n):
    def f(x):
        for _ in range(n):
            x = anp.sin(x) * x + 0.5
        return x

    return f


def while_main(a):
    import numpy as np

    import adgraph as ad
    import adgraph.numpy as anp
    from adgraph import lax

    def f(x, n):
        def body(c):
            y, i = c
            return anp.sin(y) * y + 0.5, i + 1

        return lax.while_loop(lambda c: c[1] < n, body, (x, np.int64(0)))[0]

    n = np.int64(a.steps)
    rows, fns, inner = [], [], []
    for compiler, reps in (("python", 10), ("c", 200)):
        g = ad.jit(ad.grad(f), compiler=compiler)
        t = time.perf_counter()
        val = g(a.x0, n)
        first = time.perf_counter() - t
        g(a.x0, n // 2)  # another trip count: the same program
        rows.append([f"adgraph jit, compiler={compiler!r}", first, None, val, g.trace_count])
        fns.append(lambda g=g: g(a.x0, n))
        inner.append(reps)
    eg = ad.grad(f)
    rows.append(["adgraph eager grad", None, None, eg(a.x0, n), "-"])
    fns.append(lambda: eg(a.x0, n))
    inner.append(1)
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jg = jax.jit(jax.grad(chain(jax.lax, jnp, a.steps)))
        t = time.perf_counter()
        val = jg(a.x0).block_until_ready()
        rows.append(["JAX jit (fori_loop, static n)", time.perf_counter() - t, None, float(val), 1])
        fns.append(lambda: jg(a.x0).block_until_ready())
        inner.append(200)
    except ImportError:
        pass
    for row, tm in zip(rows, best_interleaved(fns, a.repeat, inner)):
        row[2] = tm
    tj = rows[-1][2] if rows[-1][0].startswith("JAX") else None
    te = rows[2][2]
    print(f"jit(grad) of a while_loop of n = {a.steps} steps (x = sin(x) * x + 0.5), x0 = {a.x0}")
    print(
        f"{'':32s} {'first call':>11s} {'run':>11s} {'run/eager':>10s} {'run/JAX':>8s} "
        f"{'traces':>6s}  gradient"
    )
    for name, first, run, val, traces in rows:
        fc = f"{first:9.3f} s" if first is not None else " " * 11
        rj = f"{run / tj:7.2f}x" if tj else "       -"
        print(
            f"{name:32s} {fc} {run * 1e6:8.1f} us {run / te:9.3f}x {rj} {traces!s:>6s}  "
            f"{float(val):.17g}"
        )
    return rows


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
    ap.add_argument("--python-loop", action="store_true", help="a plain Python loop")
    ap.add_argument("--no-reroll", action="store_true", help="add C with re-rolling off")
    ap.add_argument("--while-loop", action="store_true", help="a while_loop, n an argument")
    ap.add_argument("--checkpoints", type=int, default=None, help="add the loops with checkpoints")
    a = ap.parse_args(argv)
    os.environ["ADGRAPH_C_CACHE"] = tempfile.mkdtemp(prefix="adgraph-bench-")
    if a.while_loop:
        return while_main(a)
    import adgraph as ad
    import adgraph.numpy as anp
    from adgraph import lax

    if a.python_loop:
        chain_of = lambda lx, xp, n: chain_python(xp, n)  # noqa: E731
    else:
        chain_of = chain
    rows, fns, inner = [], [], []
    runs = [("python", 10, True, None), ("c", 200, True, None)]
    if a.no_reroll:
        runs.append(("c", 200, False, None))
    if a.checkpoints and not a.python_loop:
        runs += [("python", 10, True, a.checkpoints), ("c", 50, True, a.checkpoints)]
    for compiler, reps, rolled, ck in runs:
        import importlib

        rr = importlib.import_module("adgraph.jit.reroll")
        keep = rr.MIN_NODES
        if not rolled:
            rr.MIN_NODES = 10**12
        try:
            f = chain(lax, anp, a.steps, ck) if ck else chain_of(lax, anp, a.steps)
            g = ad.jit(ad.grad(f), compiler=compiler)
            t = time.perf_counter()
            val = g(a.x0)
        finally:
            rr.MIN_NODES = keep
        name = f"adgraph jit, compiler={compiler!r}" + ("" if rolled else ", unrolled")
        name += f", checkpoints={ck}" if ck else ""
        rows.append([name, time.perf_counter() - t, None, val])
        fns.append(lambda g=g: g(a.x0))
        inner.append(reps)
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        jg = jax.jit(jax.grad(chain_of(jax.lax, jnp, a.steps)))
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
    eager = ad.grad(chain_of(lax, anp, a.steps))(a.x0)
    kind = "Python for loop" if a.python_loop else "fori_loop"
    print(f"jit(grad) of a {a.steps}-step {kind} (x = sin(x) * x + 0.5), x0 = {a.x0}")
    print(f"{'':48s} {'first call':>11s} {'run':>11s} {'run / JAX':>10s}  gradient")
    for name, first, run, val in rows:
        ratio = f"{run / tj:9.2f}x" if tj else "        -"
        print(f"{name:48s} {first:9.3f} s {run * 1e6:8.1f} us {ratio}  {float(val):.17g}")
    print(f"{'adgraph eager grad':48s} {'':11s} {'':11s} {'':10s}  {float(eager):.17g}")
    return rows


if __name__ == "__main__":
    main()
