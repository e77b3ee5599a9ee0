"""The engine workloads of BENCHMARKS.md that make sense on a GPU, with adgraph on CuPy
beside PyTorch and JAX on the same GPU.

* ``logreg_grad`` -- grad of ``mean(log1p(exp(-y * (X @ w))))``, X 200000x100, float64;
* ``fft_grad``    -- grad of ``sum(real(v * conj(v)))``, ``v = ifft2(fft2(u) * K)``, 256x256;
* ``mlp_grad``    -- grad of the softmax cross-entropy of a 784-256-256-10 tanh MLP, batch
  256, float32, parameters as a list of (W, b): adgraph as user code with ``adgraph.numpy``
  and with ``adgraph.nn`` (fused kernels).

Each row is the time of one gradient evaluation (back to back, device synchronised at the
end of each repeat) and its ratio to the primal -- the function itself evaluated with CuPy.
The scalar workloads (article_scalar, chain_2000, rosen_hessian) are launch-bound and stay
on the CPU. Matmuls run at full FP32 (no TF32) everywhere.

Without a GPU (or with ``--smoke``) the same workloads run tiny on the CPU (NumPy).

    python benchmarks/gpu_engine_bench.py [--smoke] [--only adgraph,torch,jax] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu_mlp_bench import gpu_cupy, optional, print_table, set_precision, time_steps  # noqa: E402

try:
    import adgraph  # noqa: F401
except ImportError:  # pragma: no cover
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))


def data(name, big, seed=0):
    r = np.random.default_rng(seed)
    if name == "logreg_grad":
        n, d = (200_000, 100) if big else (2_000, 10)
        X = r.normal(size=(n, d))
        w = r.normal(size=d) * 0.1
        y = np.sign(X @ r.normal(size=d) + 0.1 * r.normal(size=n))
        return (w,), (X, y)
    if name == "fft_grad":
        s = 256 if big else 32
        u = r.normal(size=(s, s))
        K = r.normal(size=(s, s)) + 1j * r.normal(size=(s, s))
        return (u,), (K,)
    sizes, batch = ([784, 256, 256, 10], 256) if big else ([64, 32, 32, 10], 32)
    from adgraph import nn

    p = nn.mlp_init(seed, sizes, activation="tanh", dtype=np.float32)
    params = [(l["w"], l["b"]) for l in p]
    x = r.normal(size=(batch, sizes[0])).astype(np.float32)
    y = r.integers(0, sizes[-1], size=batch)
    return (params,), (x, y)


# ------------------------------------------------------------------ adgraph and primal
def adgraph_fns(name, xp):
    """``(primal, [(label, grad_fn)])`` written once with adgraph.numpy (and nn)."""
    import adgraph as ad
    import adgraph.numpy as anp
    from adgraph import nn

    if name == "logreg_grad":

        def primal(w, X, y):
            return xp.mean(xp.log1p(xp.exp(-y * (X @ w))))

        f = lambda w, X, y: anp.mean(anp.log1p(anp.exp(-y * (X @ w))))
        return primal, [("adgraph", ad.grad(f))]
    if name == "fft_grad":

        def primal(u, K):
            v = xp.fft.ifft2(xp.fft.fft2(u) * K)
            return xp.sum(xp.real(v * xp.conj(v)))

        def f(u, K):
            v = anp.fft.ifft2(anp.fft.fft2(u) * K)
            return anp.sum(anp.real(v * anp.conj(v)))

        return primal, [("adgraph", ad.grad(f))]

    def primal(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = xp.tanh(h)
        m = h.max(axis=1, keepdims=True)
        lse = xp.log(xp.exp(h - m).sum(axis=1)) + m[:, 0]
        return xp.mean(lse - h[xp.arange(h.shape[0]), y])

    c = 10

    def f_anp(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = anp.matmul(h, w) + b
            if i < len(params) - 1:
                h = anp.tanh(h)
        m = anp.max(ad.stop_gradient(h), axis=-1, keepdims=True)
        lse = anp.log(anp.sum(anp.exp(h - m), axis=-1)) + m[:, 0]
        onehot = (y[:, None] == xp.arange(c)).astype(h.dtype)
        return anp.mean(lse - anp.sum(h * onehot, axis=-1))

    f_nn = lambda params, x, y: nn.softmax_cross_entropy(nn.mlp(params, x, "tanh"), y)
    return primal, [("adgraph (anp)", ad.grad(f_anp)), ("adgraph (nn, fused)", ad.grad(f_nn))]


# ------------------------------------------------------------------ anchors
def torch_fn(torch, dev, name, diff, const):
    t = lambda a: torch.tensor(a, device=dev)
    if name == "logreg_grad":
        w = t(diff[0]).requires_grad_()
        X, y = t(const[0]), t(const[1])

        def g():
            (gw,) = torch.autograd.grad(torch.mean(torch.log1p(torch.exp(-y * (X @ w)))), (w,))
            return gw

        return g
    if name == "fft_grad":
        u = t(diff[0]).requires_grad_()
        K = t(const[0])

        def g():
            v = torch.fft.ifft2(torch.fft.fft2(u) * K)
            (gu,) = torch.autograd.grad(torch.sum(torch.real(v * torch.conj(v))), (u,))
            return gu

        return g
    ps = [t(a).requires_grad_() for wb in diff[0] for a in wb]
    x, y = t(const[0]), t(const[1])

    def g():
        h = x
        for i in range(0, len(ps), 2):
            h = h @ ps[i] + ps[i + 1]
            if i < len(ps) - 2:
                h = torch.tanh(h)
        return torch.autograd.grad(torch.nn.functional.cross_entropy(h, y), ps)

    return g


def jax_fn(jax, name, diff, const):
    import jax.numpy as jnp

    dev = jax.devices()[0]
    put = lambda a: jax.device_put(a, dev)
    if name == "logreg_grad":
        f = lambda w, X, y: jnp.mean(jnp.log1p(jnp.exp(-y * (X @ w))))
    elif name == "fft_grad":

        def f(u, K):
            v = jnp.fft.ifft2(jnp.fft.fft2(u) * K)
            return jnp.sum(jnp.real(v * jnp.conj(v)))
    else:

        def f(params, x, y):
            h = x
            for i, (w, b) in enumerate(params):
                h = h @ w + b
                if i < len(params) - 1:
                    h = jnp.tanh(h)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], axis=1))

    g = jax.jit(jax.grad(f))
    args = jax.tree_util.tree_map(put, (*diff, *const))
    return lambda: g(*args)


# ------------------------------------------------------------------ driver
def _flat(tree):
    """All leaves of a gradient (any framework) as one float64 NumPy vector."""
    out = []
    stack = [tree]
    while stack:
        t = stack.pop(0)
        if isinstance(t, (list, tuple)):
            stack = list(t) + stack
            continue
        if hasattr(t, "detach"):
            t = t.detach().cpu().numpy()
        elif hasattr(t, "get") and type(t).__module__.startswith("cupy"):
            t = t.get()
        out.append(np.asarray(t, dtype=np.float64).ravel())
    return np.concatenate(out)


def run(args):
    cp, why = (None, "--smoke") if args.smoke else gpu_cupy()
    on_gpu = cp is not None
    xp = cp if on_gpu else np
    if not on_gpu:
        print(f"no GPU run ({why}): CPU smoke test with tiny sizes")
        args.steps, args.repeats, args.warmup = min(args.steps, 3), min(args.repeats, 2), 1
    torch, why_t = optional("torch") if "torch" in args.only else (None, "not asked for")
    jax, why_j = optional("jax") if "jax" in args.only else (None, "not asked for")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)  # logreg and fft are float64 workloads
    tdev = "cuda" if (torch is not None and on_gpu and torch.cuda.is_available()) else "cpu"
    set_precision("fp32", cp, torch if tdev == "cuda" else None, jax)
    sync_cp = (lambda: cp.cuda.get_current_stream().synchronize()) if on_gpu else (lambda: None)
    sync_t = (lambda: torch.cuda.synchronize()) if tdev == "cuda" else (lambda: None)
    results = []
    for name in args.workloads.split(","):
        diff, const = data(name, on_gpu)
        dev_diff = tuple(
            [(xp.asarray(w), xp.asarray(b)) for w, b in d] if isinstance(d, list) else xp.asarray(d)
            for d in diff
        )
        dev_const = tuple(xp.asarray(c) for c in const)
        primal, grads = adgraph_fns(name, xp)
        rows = []

        def timed(label, fn, sync, check=True):
            try:
                med, best = time_steps(
                    fn, sync, warmup=args.warmup, steps=args.steps, repeats=args.repeats
                )
                row = dict(workload=name, impl=label, ms=med * 1e3, ms_min=best * 1e3, diff=None)
                if check:  # the gradient against the first adgraph one
                    got = _flat(fn())
                    ref.setdefault("grad", got)
                    scale = max(float(np.abs(ref["grad"]).max()), 1e-30)
                    row["diff"] = float(np.abs(got - ref["grad"]).max()) / scale
                rows.append(row)
            except Exception as e:
                traceback.print_exc()
                rows.append(
                    dict(
                        workload=name,
                        impl=label,
                        ms=None,
                        ms_min=None,
                        error=f"{type(e).__name__}: {e}",
                    )
                )

        ref = {}
        timed(
            f"primal ({xp.__name__})", lambda: primal(*dev_diff, *dev_const), sync_cp, check=False
        )
        if "adgraph" in args.only:
            for label, g in grads:
                timed(label, lambda g=g: g(*dev_diff, *dev_const), sync_cp)
        if torch is not None:
            try:
                timed(f"PyTorch ({tdev})", torch_fn(torch, tdev, name, diff, const), sync_t)
            except Exception as e:
                rows.append(dict(workload=name, impl="PyTorch", ms=None, ms_min=None, error=str(e)))
        if jax is not None:
            try:
                fn = jax_fn(jax, name, diff, const)
                timed(
                    f"JAX jit ({jax.default_backend()})",
                    fn,
                    lambda fn=fn: jax.block_until_ready(fn()),
                )
            except Exception as e:
                rows.append(dict(workload=name, impl="JAX jit", ms=None, ms_min=None, error=str(e)))
        base = rows[0]["ms"]
        for r in rows:
            r["ratio"] = r["ms"] / base if r["ms"] and base else None
        print_table(
            [(r["impl"], r["ms"], r["ms_min"], r["ratio"], r.get("diff")) for r in rows],
            ["implementation", "ms", "min ms", "x primal", "grad rel. diff"],
            title=f"\n{name}" + ("" if on_gpu else " (tiny, CPU)"),
        )
        for r in rows:
            if r.get("error"):
                print(f"  {r['impl']} failed: {r['error']}")
        results.extend(rows)
    if torch is None and "torch" in args.only:
        print(f"PyTorch skipped: {why_t}")
    if jax is None and "jax" in args.only:
        print(f"JAX skipped: {why_j}")
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="logreg_grad,fft_grad,mlp_grad")
    p.add_argument("--only", default="adgraph,torch,jax")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    args.only = set(args.only.split(","))
    results = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"saved {args.json}")
    return 1 if any(r.get("error") and r["impl"].startswith("adgraph") for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
