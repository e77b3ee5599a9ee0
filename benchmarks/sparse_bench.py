"""Sparse Jacobians and Hessians against dense ones.

    python benchmarks/sparse_bench.py [--n 10000] [--dense-n 2000]

Tridiagonal map R^n -> R^n and the chained Rosenbrock function: the sparse path at n
(detection + colouring + one evaluation; evaluation alone) beside dense ``ad.jacfwd`` /
``ad.hessian`` at ``dense-n`` (a dense n = 10^4 Jacobian is 800 MB). The dense time at n is
extrapolated as O(n^2) from dense-n (n tangents, each O(n)); the printed ratios say which
numbers they compare.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp


def tridiag(x):
    return -2.0 * x**2 + anp.sin(x) + anp.pad(x[1:], (0, 1)) + anp.pad(x[:-1] ** 3, (1, 0))


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(n: int, dense_n: int) -> None:
    x = np.random.default_rng(0).standard_normal(n)
    xd = x[:dense_n]
    scale = (n / dense_n) ** 2
    for title, make_sparse, dense, f in (
        ("tridiagonal map, Jacobian", ad.sparse_jacobian, ad.jacfwd, tridiag),
        ("chained Rosenbrock, Hessian", ad.sparse_hessian, ad.hessian, rosen),
    ):
        first = best(lambda: make_sparse(f)(x), repeat=1)
        op = make_sparse(f)
        op(x)
        again = best(lambda: op(x))
        d = best(lambda: dense(f)(xd), repeat=2)
        d_at_n = d * scale
        print(f"{title}: {op.colors} colours")
        print(f"  sparse n={n}: detection+colouring+evaluation {first * 1e3:9.1f} ms")
        print(f"  sparse n={n}: evaluation alone               {again * 1e3:9.1f} ms")
        print(f"  dense  n={dense_n}: {d * 1e3:9.1f} ms (extrapolated to n={n}: {d_at_n:.1f} s)")
        sd = best(lambda: make_sparse(f)(xd), repeat=1)
        print(f"  ratio at n={dense_n}, dense / sparse first call: {d / sd:8.1f}x")
        print(f"  ratio at n={n}, dense (extrapolated) / sparse first call: {d_at_n / first:8.1f}x")
        print(f"  ratio at n={n}, dense (extrapolated) / sparse evaluation: {d_at_n / again:8.1f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--dense-n", type=int, default=2_000)
    a = ap.parse_args()
    run(a.n, a.dense_n)
