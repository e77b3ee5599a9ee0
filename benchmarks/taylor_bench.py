"""Taylor mode (``ad.jet``, ``ad.derivative``) measured side by side in one run.

    python benchmarks/taylor_bench.py [--order 10] [--repeat 20] [--quick]

1. The 10th derivative of x -> tanh(sin(x) exp(0.1 x)) + 0.3 x composed 10 times (50
   primitive operations): ``ad.derivative(f, 10)`` (one truncated Taylor series, O(n^2)
   work per operation) against ``ad.grad`` nested ten times (which differentiates the
   whole recorded derivative again at every level: cost geometric in n), both against the
   exact derivative from SymPy's truncated power series with 200-bit coefficients. Nested
   grad is also timed at orders 4..7 to show its growth; ``--quick`` skips the order-10
   nesting (about half a minute) and extrapolates from that growth instead, saying so.
2. ``ad.jet`` against JAX's ``jax.experimental.jet`` (when JAX is installed) at orders 1-6
   on functions whose primitives JAX's jet has rules for.
3. The second-order coefficient against vᵀHv from ``ad.hessian``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as asp

X0 = 0.4


def g(x):
    return anp.tanh(anp.sin(x) * anp.exp(0.1 * x)) + 0.3 * x


def f(x):
    for _ in range(10):
        x = g(x)
    return x


def exact(order: int) -> float:
    """The order-th derivative at X0 (the double nearest 0.4, exactly) from SymPy's ring
    series: the truncated Taylor series of each operation, coefficients to 200 bits."""
    import sympy as sp
    from sympy.polys.domains import RealField
    from sympy.polys.ring_series import rs_exp, rs_mul, rs_sin, rs_tanh
    from sympy.polys.rings import ring

    R, t = ring("t", RealField(prec=200))
    n = order + 1
    x = R(sp.Rational(X0)) + t
    for _ in range(10):
        x = rs_tanh(rs_mul(rs_sin(x, t, n), rs_exp(x / 10, t, n), t, n), t, n) + x * 3 / 10
    return float(x.coeff(t**order) * sp.factorial(order))


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def nested_grad(fun, n):
    for _ in range(n):
        fun = ad.grad(fun)
    return fun


def high_order(n: int, repeat: int, quick: bool) -> None:
    ref = exact(n)
    print(f"1. derivative of order {n} of a 50-operation function at x = {X0}")
    print(f"   exact (SymPy ring series, 200 bits)   {ref:.17g}")
    t_jet, v_jet = best_of(lambda: ad.derivative(f, n)(X0), repeat)
    print(
        f"   ad.derivative          {t_jet * 1e3:10.2f} ms   rel. error "
        f"{abs(v_jet - ref) / abs(ref):.1e}"
    )
    times = {}
    for k in range(4, 8):
        tk, vk = best_of(lambda k=k: nested_grad(f, k)(X0), 1)
        rk = exact(k)
        times[k] = tk
        print(
            f"   nested ad.grad x{k:<2}     {tk * 1e3:10.2f} ms   rel. error "
            f"{abs(vk - rk) / abs(rk):.1e}   (derivative(f, {k}): "
            f"{best_of(lambda k=k: ad.derivative(f, k)(X0), repeat)[0] * 1e3:.2f} ms)"
        )
    growth = (times[7] / times[4]) ** (1 / 3)
    print(f"   nested grad grows x{growth:.2f} per order (orders 4..7)")
    if quick:
        t_grad = times[7] * growth ** (n - 7)
        print(
            f"   nested ad.grad x{n}: not run (--quick); extrapolated from that growth: "
            f"{t_grad:.1f} s"
        )
        what = "extrapolated"
    else:
        t_grad, v_grad = best_of(lambda: nested_grad(f, n)(X0), 1)
        print(
            f"   nested ad.grad x{n:<2}    {t_grad * 1e3:10.2f} ms   rel. error "
            f"{abs(v_grad - ref) / abs(ref):.1e}"
        )
        what = "measured"
    print(f"   ratio nested grad / derivative at order {n} ({what}): {t_grad / t_jet:.0f}x")


# Functions whose primitives JAX's jet has rules for, with the same code for both.
def _cases(np_):
    W = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [0.7, 0.2, 0.3]])
    return {
        "sin*exp+log": lambda x: np_.sin(x) * np_.exp(x) + np_.log(x + 2.0),
        "tanh(W@x)**3": lambda x: np_.tanh(W @ x) ** 3,
        "logistic/sqrt": lambda x: 1.0 / (1.0 + np_.exp(-x)) / np_.sqrt(x * x + 1.0),
        "sum(x**2)/sum(cos)": lambda x: np_.sum(x**2) / (1.0 + np_.sum(np_.cos(x))),
        "cumsum(expm1)": lambda x: np_.cumsum(np_.expm1(x) * np_.log1p(x * x)),
        "x**2.5 (pow)": lambda x: (x + 2.0) ** 2.5 - np_.sinh(x),
    }


def versus_jax() -> None:
    print("2. ad.jet against jax.experimental.jet (float64), orders 1 to 6")
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax.experimental import jet as jjet
    except ImportError:
        print("   JAX is not installed: skipped")
        return
    x = np.array([0.3, -0.7, 1.1])
    rng = np.random.default_rng(0)
    terms = [rng.standard_normal(3) * 0.5 for _ in range(6)]
    ours, theirs = _cases(anp), _cases(jnp)
    for name in ours:
        worst = 0.0
        for K in range(1, 7):
            y, s = ad.jet(ours[name], (x,), (terms[:K],))
            yj, sj = jjet.jet(
                theirs[name], (jnp.asarray(x),), ([jnp.asarray(t) for t in terms[:K]],)
            )
            for a, b in zip([y, *s], [yj, *sj]):
                b = np.asarray(b)
                worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)))
        print(f"   {name:22s} largest relative difference over orders 1-6: {worst:.1e}")


def second_order() -> None:
    print("3. second-order coefficient against vᵀHv from ad.hessian")

    def h(x):
        return anp.sum(anp.tanh(x) * anp.roll(x, 1) ** 2) + asp.logsumexp(x) * anp.prod(anp.cos(x))

    x = np.array([0.3, -0.8, 1.1, 0.5])
    v = np.array([0.7, 0.2, -1.0, 0.4])
    _, (d1, d2) = ad.jet(h, (x,), ((v, np.zeros(4)),))
    vhv = v @ ad.hessian(h)(x) @ v
    print(
        f"   jet: {d2:.17g}   vᵀHv: {vhv:.17g}   relative difference {abs(d2 - vhv) / abs(vhv):.1e}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="do not run the order-n nesting")
    args = ap.parse_args()
    high_order(args.order, args.repeat, args.quick)
    versus_jax()
    second_order()


if __name__ == "__main__":
    main()
