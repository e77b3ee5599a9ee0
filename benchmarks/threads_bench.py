"""adgraph's multi-threaded NumPy kernels against its plain path, side by side.

Usage::

    python benchmarks/threads_bench.py                  # every case, 10 s each
    python benchmarks/threads_bench.py -c logreg_grad -c matvec --seconds 20

Each case runs its callables in interleaved rounds (one call of each per round, in turn)
for about ``--seconds``, and reports each one's minimum and its ratio to the first
callable of the case. Interleaving makes the comparison fair on a busy machine: every
callable meets the same load. The threaded kernels (``adgraph.ops._parallel``) are
switched off for the "plain" entries by raising their size threshold, which is what a
small array meets.

Cases:

* ``matvec``: ``X @ w`` and ``X.T @ g`` for X of 200000 x 100 (float64): NumPy (BLAS
  gemv) against adgraph's threaded einsum blocks (the kernel of matmul's forward and
  reverse rules for a tall matrix and a vector).
* ``logreg_grad``, ``mlp_grad``, ``fft_grad``: the workloads of ``run.py``, as the NumPy
  primal, adgraph threaded and plain, PyTorch and JAX jit (where installed).
* ``activations``: adgraph.nn's sigmoid and softplus and softplus's gradient on 2**20
  float64 elements, threaded and plain.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import workloads  # noqa: E402


def interleaved(fns, seconds, min_rounds=5):
    """Minimum time of each callable over interleaved rounds, and the rounds run."""
    for f in fns.values():
        f()  # warm-up (and JAX compilation)
    best = dict.fromkeys(fns, float("inf"))
    end = time.perf_counter() + seconds
    rounds = 0
    while rounds < min_rounds or time.perf_counter() < end:
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t0)
        rounds += 1
    return best, rounds


@contextlib.contextmanager
def _plain_path():
    from adgraph.ops import _parallel

    saved = _parallel.PARALLEL_MIN_SIZE
    _parallel.PARALLEL_MIN_SIZE = 1 << 62
    try:
        yield
    finally:
        _parallel.PARALLEL_MIN_SIZE = saved


def _plain(fn):
    def run():
        with _plain_path():
            return fn()

    return run


def case_matvec():
    from adgraph.ops import _parallel

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 100))
    w = rng.standard_normal(100)
    g = rng.standard_normal(200_000)
    return {
        "numpy X @ w": lambda: X @ w,
        "threaded X @ w": lambda: _parallel.matvec(X, w),
        "numpy X.T @ g": lambda: X.T @ g,
        "threaded X.T @ g": lambda: _parallel.matvec(X.T, g),
    }


def _workload(name):
    make = workloads.WORKLOADS[name]
    fns = {"numpy primal": make("numpy")}
    ad = make("adgraph")
    fns["adgraph"] = ad
    fns["adgraph plain"] = _plain(ad)
    for fw in ("torch", "jax-jit"):
        try:
            fn = make(fw)
        except Exception:
            fn = None
        if fn is not None:
            fns[fw] = fn
    return fns


def case_activations():
    import adgraph as ad
    import adgraph.nn as nn

    x = np.random.default_rng(1).standard_normal(1 << 20) * 4
    sg = ad.grad(lambda x: nn.softplus(x).sum())
    return {
        "sigmoid": lambda: nn.sigmoid(x),
        "sigmoid plain": _plain(lambda: nn.sigmoid(x)),
        "softplus": lambda: nn.softplus(x),
        "softplus plain": _plain(lambda: nn.softplus(x)),
        "grad softplus": lambda: sg(x),
        "grad softplus plain": _plain(lambda: sg(x)),
    }


CASES = {
    "matvec": case_matvec,
    "logreg_grad": lambda: _workload("logreg_grad"),
    "mlp_grad": lambda: _workload("mlp_grad"),
    "fft_grad": lambda: _workload("fft_grad"),
    "activations": case_activations,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", "--case", action="append", choices=sorted(CASES))
    ap.add_argument("--seconds", type=float, default=10.0, help="timing per case")
    ap.add_argument("--repeat", type=int, default=1, help="measure each case this often")
    args = ap.parse_args(argv)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = ", load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = ""
    print(f"{cores} cores usable{load}; each library's default threading")
    for name in args.case or list(CASES):
        fns = CASES[name]()
        for _ in range(args.repeat):
            best, rounds = interleaved(fns, args.seconds)
            base = next(iter(best.values()))
            cells = [f"{k} {v * 1e3:.3f} ms ({v / base:.2f}x)" for k, v in best.items()]
            print(f"{name} [{rounds} rounds]: " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
