"""odeint's derivatives on a Lotka--Volterra loss, against JAX's odeint (x64).

The loss is the sum of squares of the populations at 11 times over [0, 5]; its gradient
with respect to the four parameters ``(a, b, c, d)`` of

    x' = a x - b x y,    y' = -c y + d x y

is computed by the adjoint method (``ad.grad``), by forward sensitivities (``ad.jacfwd``)
and by ``jax.grad`` of ``jax.experimental.ode.odeint`` (when JAX is installed), at the
same tolerances, and each is compared with the converged gradient (forward sensitivities
at rtol = atol = 1e-13, which the adjoint matches to 3e-11). Also: peak memory (tracemalloc) of the adjoint gradient at two
tolerances, which take very different numbers of steps.

    python benchmarks/odeint_bench.py [--tol 1e-10]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph.scipy.integrate import odeint

Y0 = np.array([10.0, 5.0])
T = np.linspace(0.0, 5.0, 11)
P = (1.5, 1.0, 3.0, 1.0)


def lv(y, t, a, b, c, d):
    return anp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def loss_at(tol):
    return lambda p: anp.sum(odeint(lv, Y0, T, *p, rtol=tol, atol=tol) ** 2)


def jax_grad(tol):
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.experimental.ode import odeint as jodeint

    def jlv(y, t, a, b, c, d):
        return jnp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

    def jloss(p):
        return jnp.sum(jodeint(jlv, jnp.asarray(Y0), jnp.asarray(T), *p, rtol=tol, atol=tol) ** 2)

    return np.array(jax.grad(jloss)(P))


def timed(f, *a):
    t0 = time.perf_counter()
    out = f(*a)
    return out, time.perf_counter() - t0


def peak(f, *a):
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    f(*a)
    p = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return p


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tol", type=float, default=1e-10)
    a = ap.parse_args(argv)
    ref = np.array(ad.jacfwd(loss_at(1e-13))(P))
    print(f"converged (jacfwd at rtol = atol = 1e-13) {ref}")
    for tol in sorted({a.tol, 1.4e-8}):
        loss = loss_at(tol)
        g_adj, t_adj = timed(lambda p: np.array(ad.grad(loss)(p)), P)
        g_fwd, t_fwd = timed(lambda p: np.array(ad.jacfwd(loss)(p)), P)
        print(f"rtol = atol = {tol:g}")
        print(f"  adjoint (grad)          {g_adj}   {t_adj:.2f} s")
        print(f"  forward sens. (jacfwd)  {g_fwd}   {t_fwd:.2f} s")
        print(f"  adjoint vs forward: max relative difference {rel(g_adj, g_fwd):.2e}")
        print(f"  off the converged: adjoint {rel(g_adj, ref):.2e}   forward {rel(g_fwd, ref):.2e}")
        gj = jax_grad(tol)
        if gj is not None:
            print(f"  JAX odeint (x64)        {gj}   off the converged {rel(gj, ref):.2e}")
            print(f"  adjoint vs JAX {rel(g_adj, gj):.2e}   forward vs JAX {rel(g_fwd, gj):.2e}")
    # the adjoint keeps the outputs at the requested times only, not the steps
    m_loose = peak(ad.grad(loss_at(1e-6)), P)
    m_tight = peak(ad.grad(loss_at(1e-12)), P)
    print(
        f"peak memory of grad: rtol 1e-6 {m_loose / 1024:.1f} KiB, rtol 1e-12 {m_tight / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
