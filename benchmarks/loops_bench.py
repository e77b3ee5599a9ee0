"""Reverse mode through a long ``scan``: memory and time with and without checkpoints.

A tanh RNN ``h <- tanh(W h + x_t)`` (hidden size 50) over 10^4 steps; the loss is the sum
of the final state. ``grad`` with respect to ``W`` is taken with ``checkpoints=None`` (every
step's pullback kept) and ``checkpoints=20`` (20 carries stored, the rest recomputed by
the binomial schedule). Peak memory is measured by ``tracemalloc`` (Python and NumPy
allocations) in one run, time by the best of ``--repeat`` runs without tracing.

The same RNN written as a ``while_loop`` (a step counter in the carry, so its length is
known only once it has run) is measured too: ``checkpoints=None`` records every iteration,
``checkpoints=20`` keeps 20 carries chosen online (:mod:`adgraph.lax.online`).

``--jit`` measures ``jit(grad)`` of the ``scan`` instead, both variants side by side in one
process: the first call (trace, compile and one run), the best run time of ``--repeat``
calls, the peak memory of a call, and the size of the compiled program (its nodes, and
the lines of its Python source). With ``checkpoints=None`` the program is a forward loop
that stacks the carries and a backward loop; with ``checkpoints=k`` it is one
``scan_revolve`` node running the revolve schedule around the step and its pullback,
compiled once each (:mod:`adgraph.jit.revolve_loops`). ``--compiler c`` compiles both with
the C backend (the source lines are then the C program's; the C backend scalarizes the
step, so a hidden size of 50 takes minutes to compile either way: try ``--hidden 8``).

    python benchmarks/loops_bench.py [--steps 10000] [--hidden 50] [--checkpoints 20]
                                     [--loops scan while] [--jit [--compiler c]]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax


def make_loss(xs, h0, checkpoints):
    def loss(W):
        h, _ = lax.scan(lambda h, x: (anp.tanh(W @ h + x), None), h0, xs, checkpoints=checkpoints)
        return anp.sum(h)

    return loss


def make_while_loss(xs, h0, checkpoints):
    n = xs.shape[0]

    def loss(W):
        def body(c):
            i, h = c
            return i + 1, anp.tanh(W @ h + anp.take(xs, i, axis=0))

        _, h = lax.while_loop(lambda c: c[0] < n, body, (0, h0), checkpoints=checkpoints)
        return anp.sum(h)

    return loss


def peak_bytes(f, *args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = f(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, out


def best_time(f, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def jit_rows(xs, h0, W, checkpoints, repeat, compiler="python"):
    """``jit(grad)`` of the scan RNN for ``checkpoints=None`` and ``checkpoints``, side by
    side: ``({label: [first call s, run s, peak bytes of a call, nodes, source lines]},
    [gradient of each])``."""
    rows, grads = {}, []
    for ck in (None, checkpoints):
        jf = ad.jit(ad.grad(make_loss(xs, h0, ck)), compiler=compiler)
        t0 = time.perf_counter()
        g = jf(W)
        first = time.perf_counter() - t0
        if compiler == "python":
            low = jf.lower(W)
            nodes = sum(1 for n in low.simplified.toposort() if not n.is_input)
            lines = low.source.count("\n")
        else:
            src = ad.jit.c.c_source(ad.grad(make_loss(xs, h0, ck)), W, max_node_size=4096)
            lines = src.count("\n")
            nodes = -1
        peak, g2 = peak_bytes(jf, W)
        assert np.array_equal(g, g2)
        grads.append(g)
        rows[ck] = [first, best_time(jf, W, repeat=repeat), peak, nodes, lines]
    # run times once more, alternating (the machine's load then weighs on both alike)
    if compiler == "python":  # (a C program is compiled once: no fresh copies)
        for ck in (None, checkpoints, None, checkpoints):
            jf = ad.jit(ad.grad(make_loss(xs, h0, ck)))
            jf(W)
            rows[ck][1] = min(rows[ck][1], best_time(jf, W, repeat=repeat))
    return rows, grads


def main_jit(a, xs, h0, W):
    rows, grads = jit_rows(xs, h0, W, a.checkpoints, a.repeat, a.compiler)
    eager = ad.grad(make_loss(xs, h0, None))(W)
    print(
        f"jit(grad, compiler={a.compiler!r}) tanh RNN scan: {a.steps} steps, hidden "
        f"{a.hidden}, grad w.r.t. W; "
        "largest difference to eager store-all's gradient: "
        + ", ".join(
            f"checkpoints={ck}: {np.max(np.abs(g - eager)):.1e}" for ck, g in zip(rows, grads)
        )
    )
    for g in grads:
        assert np.allclose(g, eager, rtol=1e-12, atol=1e-12), "jit gradient differs"
    # (tracemalloc sees NumPy's allocations, not the C program's malloc)
    in_c = a.compiler == "c"
    print("                     first call   run       peak        nodes  source lines")
    for ck, (first, run, peak, nodes, lines) in rows.items():
        label = f"checkpoints={ck}"
        mem = "     n/a    " if in_c else f"{peak / 2**20:8.2f} MiB"
        count = "     -" if in_c else f"{nodes:6d}"
        print(f"  {label:<18} {first:8.3f} s {run:8.3f} s {mem} {count} {lines:6d}")
    base, ck = rows[None], rows[a.checkpoints]
    ratios = {"first": ck[0] / base[0], "run": ck[1] / base[1]}
    if not in_c:
        ratios["peak"] = ck[2] / base[2]
    print(
        f"  ratios (checkpoints={a.checkpoints} / None): first call {ratios['first']:.2f}, "
        f"run {ratios['run']:.2f}" + ("" if in_c else f", peak memory {ratios['peak']:.3f}")
    )
    return ratios


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--checkpoints", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loops", nargs="+", choices=["scan", "while"], default=["scan", "while"])
    ap.add_argument("--jit", action="store_true", help="jit(grad) of the scan, both variants")
    ap.add_argument("--compiler", choices=["python", "c"], default="python", help="with --jit")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(a.hidden, a.hidden)) / np.sqrt(a.hidden)
    xs = rng.normal(size=(a.steps, a.hidden))
    h0 = np.zeros(a.hidden)
    if a.jit:
        return main_jit(a, xs, h0, W)
    ratios = {}
    for kind in a.loops:
        make = make_loss if kind == "scan" else make_while_loss
        g_all = ad.grad(make(xs, h0, None))
        g_ck = ad.grad(make(xs, h0, a.checkpoints))
        m_all, d_all = peak_bytes(g_all, W)
        m_ck, d_ck = peak_bytes(g_ck, W)
        assert np.array_equal(d_all, d_ck), "checkpointed gradient differs from store-all"
        t_all = best_time(g_all, W, repeat=a.repeat)
        t_ck = best_time(g_ck, W, repeat=a.repeat)
        print(f"tanh RNN {kind}: {a.steps} steps, hidden {a.hidden}, grad w.r.t. W (bit-identical)")
        print(f"  checkpoints=None : peak {m_all / 2**20:8.2f} MiB   time {t_all:7.3f} s")
        print(
            f"  checkpoints={a.checkpoints:<4} : peak {m_ck / 2**20:8.2f} MiB   time {t_ck:7.3f} s"
        )
        print(f"  memory ratio {m_ck / m_all:.3f}   time ratio {t_ck / t_all:.2f}")
        ratios[kind] = (m_ck / m_all, t_ck / t_all)
    return ratios


if __name__ == "__main__":
    main()
