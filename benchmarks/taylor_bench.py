"""High-order derivatives: Taylor mode (``ad.derivative``) against nested ``ad.grad``.

    python benchmarks/taylor_bench.py [--order 10] [--repeat 20]

The function is x -> tanh(sin(x) exp(0.1 x)) + 0.3 x composed 10 times (50 primitive
operations). ``ad.derivative(f, n)`` propagates one truncated Taylor series, O(n^2) work per
operation; ``ad.grad`` nested n times differentiates the whole recorded derivative again at
every level, so its cost grows geometrically with n. Both results are compared with the
exact derivative, computed by mpmath with 50 digits.
"""

from __future__ import annotations

import argparse
import time

import mpmath

import adgraph as ad
import adgraph.numpy as anp

X0 = 0.4


def g(x):
    return anp.tanh(anp.sin(x) * anp.exp(0.1 * x)) + 0.3 * x


def f(x):
    for _ in range(10):
        x = g(x)
    return x


def exact(order: int) -> float:
    """The order-th derivative at X0 with 50 digits (mpmath's Taylor coefficients)."""

    def fm(t):
        x = mpmath.mpf(X0) + t
        for _ in range(10):
            x = mpmath.tanh(mpmath.sin(x) * mpmath.exp(x / 10)) + 3 * x / 10
        return x

    with mpmath.workdps(50):
        return float(mpmath.taylor(fm, 0, order)[order] * mpmath.factorial(order))


def best_of(fn, repeat: int) -> tuple[float, float]:
    best, value = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    n = args.order
    ref = exact(n)
    t_jet, v_jet = best_of(lambda: ad.derivative(f, n)(X0), args.repeat)
    nested = f
    for _ in range(n):
        nested = ad.grad(nested)
    t_grad, v_grad = best_of(lambda: nested(X0), 1)
    print(f"order {n} derivative of a 50-operation function at x = {X0}")
    print(f"  exact (mpmath, 50 digits)  {ref:.17g}")
    print(f"  ad.derivative  {t_jet * 1e3:10.2f} ms   rel. error {abs(v_jet - ref) / abs(ref):.1e}")
    print(
        f"  nested ad.grad {t_grad * 1e3:10.2f} ms   rel. error {abs(v_grad - ref) / abs(ref):.1e}"
    )
    print(f"  ratio (nested grad / derivative): {t_grad / t_jet:.0f}x")


if __name__ == "__main__":
    main()
