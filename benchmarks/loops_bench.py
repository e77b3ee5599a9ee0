"""Reverse mode through a long ``scan``: memory and time with and without checkpoints.

A tanh RNN ``h <- tanh(W h + x_t)`` (hidden size 50) over 10^4 steps; the loss is the sum
of the final state. ``grad`` with respect to ``W`` is taken with ``checkpoints=None`` (every
step's pullback kept) and ``checkpoints=20`` (20 carries stored, the rest recomputed by
the binomial schedule). Peak memory is measured by ``tracemalloc`` (Python and NumPy
allocations) in one run, time by the best of ``--repeat`` runs without tracing.

The same RNN written as a ``while_loop`` (a step counter in the carry, so its length is
known only once it has run) is measured too: ``checkpoints=None`` records every iteration,
``checkpoints=20`` keeps 20 carries chosen online (:mod:`adgraph.lax.online`).

    python benchmarks/loops_bench.py [--steps 10000] [--hidden 50] [--checkpoints 20]
                                     [--loops scan while]
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--checkpoints", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loops", nargs="+", choices=["scan", "while"], default=["scan", "while"])
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(a.hidden, a.hidden)) / np.sqrt(a.hidden)
    xs = rng.normal(size=(a.steps, a.hidden))
    h0 = np.zeros(a.hidden)
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
