"""Time one MLP training step (forward, backward, SGD update) on a GPU, side by side.

Workload: MLP 784-1024-1024-10 (tanh; ``--act relu``), softmax cross-entropy, batch 4096,
float32, plain SGD. Implementations, all in one process on the same GPU, all starting from
the same weights and data:

* ``adgraph (CuPy, nn)``   -- ``adgraph.nn`` + ``adgraph.optim.sgd`` on CuPy arrays (fused
  activation / cross-entropy / update kernels);
* ``adgraph (CuPy, anp)``  -- the same model written with plain ``adgraph.numpy`` ops;
* ``hand-written CuPy``    -- explicit forward and backward with CuPy, in-place updates;
* ``PyTorch eager``        -- ``loss.backward()`` and an in-place SGD step;
* ``JAX jit``              -- ``jax.jit`` of value_and_grad and the update.

Precision: ``fp32`` is full IEEE float32 matmuls (``torch.backends.cuda.matmul.allow_tf32 =
False``, JAX ``jax_default_matmul_precision = "highest"``, CuPy's default compute type,
which is FP32 unless ``CUPY_TF32=1``); ``tf32`` allows TensorFloat-32 tensor-core matmuls in
all of them (CuPy through ``cupy._core._routines_linalg.set_compute_type``). ``--precision
both`` (default) runs both. Each row also reports the loss after the timed steps, which
must agree across implementations (same weights, same data, same steps).

Without a GPU (or with ``--smoke``) the script runs a tiny CPU version (NumPy, and PyTorch /
JAX on the CPU when installed) so that it can be smoke-tested anywhere.

    python benchmarks/gpu_mlp_bench.py                 # GPU, both precisions
    python benchmarks/gpu_mlp_bench.py --smoke         # tiny, CPU
    python benchmarks/gpu_mlp_bench.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # leave GPU memory to the others

import numpy as np

try:  # running from a checkout without installing
    import adgraph  # noqa: F401
except ImportError:  # pragma: no cover
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))


# ------------------------------------------------------------------ environment
def gpu_cupy():
    """The cupy module when CuPy imports and sees a device, else None (and why)."""
    try:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA device"
        cp.zeros(1).sum()  # a first kernel: fails early on a broken install
        return cp, ""
    except Exception as e:  # ImportError, CUDA errors
        return None, f"{type(e).__name__}: {e}"


def device_name(cp) -> str:
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.runtime.getDevice())
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def optional(modname):
    try:
        return __import__(modname), ""
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"


def set_precision(prec, cp=None, torch=None, jax=None):
    """Full FP32 or TF32 matmuls in every framework present."""
    tf32 = prec == "tf32"
    if cp is not None:
        from cupy._core import _routines_linalg as rl

        rl.set_compute_type(
            np.dtype(np.float32), rl.COMPUTE_TYPE_TF32 if tf32 else rl.COMPUTE_TYPE_DEFAULT
        )
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
    if jax is not None:
        jax.config.update("jax_default_matmul_precision", "tensorfloat32" if tf32 else "highest")


def cupy_compute_type(cp) -> str:
    from cupy._core import _routines_linalg as rl

    return rl.compute_type_to_str(rl.get_compute_type(np.dtype(np.float32)))


# ------------------------------------------------------------------ timing
def time_steps(step, sync, *, warmup, steps, repeats):
    """Median and min over ``repeats`` of the mean time of ``steps`` back-to-back steps
    (seconds), after ``warmup`` steps; ``sync()`` waits for the device."""
    for _ in range(warmup):
        step()
    sync()
    per = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        per.append((time.perf_counter() - t0) / steps)
    return statistics.median(per), min(per)


def print_table(rows, headers, title=None):
    cells = [[h for h in headers]] + [
        [f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v)) for v in r]
        for r in rows
    ]
    widths = [max(len(r[j]) for r in cells) for j in range(len(headers))]
    if title:
        print(title)
    for i, r in enumerate(cells):
        print("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


# ------------------------------------------------------------------ the workload
def make_problem(sizes, batch, seed=0):
    """Weights (list of (W, b), float32, Glorot uniform) and data, on the host."""
    from adgraph import nn

    params = nn.mlp_init(seed, sizes, activation="tanh", dtype=np.float32)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch).astype(np.int64)
    return [(l["w"], l["b"]) for l in params], x, y


def impl_adgraph(xp, params, x, y, lr, act, fused=True):
    import adgraph as ad
    import adgraph.numpy as anp
    from adgraph import nn
    from adgraph.optim import sgd

    p = [{"w": xp.asarray(w), "b": xp.asarray(b)} for w, b in params]
    xd, yd = xp.asarray(x), xp.asarray(y)
    if fused:
        loss = lambda p: nn.softmax_cross_entropy(nn.mlp(p, xd, act), yd)
    else:
        a = {"tanh": anp.tanh, "relu": lambda h: anp.maximum(h, 0.0)}[act]
        c = params[-1][0].shape[1]
        onehot = (yd[:, None] == xp.arange(c)).astype(np.float32)

        def loss(p):
            h = xd
            for i, l in enumerate(p):
                h = anp.matmul(h, l["w"]) + l["b"]
                if i < len(p) - 1:
                    h = a(h)
            m = anp.max(ad.stop_gradient(h), axis=-1, keepdims=True)
            lse = anp.log(anp.sum(anp.exp(h - m), axis=-1)) + m[:, 0]
            return anp.mean(lse - anp.sum(h * onehot, axis=-1))

    vg = ad.value_and_grad(loss)
    opt = sgd(lr)
    state = [opt.init(p)]
    box = {"p": p, "loss": None}

    def step():
        l, g = vg(box["p"])
        box["p"], state[0] = opt.update(g, state[0], box["p"])
        box["loss"] = l

    return step, lambda: float(box["loss"])


def impl_handwritten(xp, params, x, y, lr, act):
    ws = [xp.asarray(w).copy() for w, _ in params]
    bs = [xp.asarray(b).copy() for _, b in params]
    xd, yd = xp.asarray(x), xp.asarray(y)
    n = x.shape[0]
    rows = xp.arange(n)
    box = {"loss": None}

    def step():
        hs = [xd]
        h = xd
        for i in range(len(ws)):
            h = h @ ws[i] + bs[i]
            if i < len(ws) - 1:
                h = xp.tanh(h) if act == "tanh" else xp.maximum(h, 0)
                hs.append(h)
        m = h.max(axis=1, keepdims=True)
        e = xp.exp(h - m)
        se = e.sum(axis=1, keepdims=True)
        box["loss"] = (xp.log(se[:, 0]) + m[:, 0] - h[rows, yd]).mean()
        d = e / se
        d[rows, yd] -= 1
        d *= 1.0 / n
        for i in range(len(ws) - 1, -1, -1):
            gw = hs[i].T @ d
            gb = d.sum(axis=0)
            if i:
                d = d @ ws[i].T
                d *= (1 - hs[i] * hs[i]) if act == "tanh" else (hs[i] > 0)
            ws[i] -= lr * gw
            bs[i] -= lr * gb

    return step, lambda: float(box["loss"])


def impl_torch(torch, device, params, x, y, lr, act):
    ps = []
    for w, b in params:
        ps.append(torch.tensor(w, device=device, requires_grad=True))
        ps.append(torch.tensor(b, device=device, requires_grad=True))
    xd = torch.tensor(x, device=device)
    yd = torch.tensor(y, device=device)
    f = torch.tanh if act == "tanh" else torch.relu
    box = {"loss": None}

    def step():
        h = xd
        for i in range(0, len(ps), 2):
            h = h @ ps[i] + ps[i + 1]
            if i < len(ps) - 2:
                h = f(h)
        loss = torch.nn.functional.cross_entropy(h, yd)
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p.add_(p.grad, alpha=-lr)
                p.grad = None
        box["loss"] = loss.detach()

    return step, lambda: float(box["loss"])


def impl_jax(jax, params, x, y, lr, act):
    import jax.numpy as jnp

    dev = jax.devices()[0]
    ps = [(jax.device_put(w, dev), jax.device_put(b, dev)) for w, b in params]
    xd, yd = jax.device_put(x, dev), jax.device_put(y.astype(np.int32), dev)
    f = jnp.tanh if act == "tanh" else jax.nn.relu

    def loss(ps):
        h = xd
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = f(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, yd[:, None], axis=1))

    @jax.jit
    def update(ps):
        l, g = jax.value_and_grad(loss)(ps)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, ps, g), l

    box = {"p": ps, "loss": None}

    def step():
        box["p"], box["loss"] = update(box["p"])

    def sync():
        jax.block_until_ready(box["p"])

    return step, lambda: float(box["loss"]), sync


# ------------------------------------------------------------------ runs
def run(args) -> list[dict]:
    cp, why = (None, "--smoke") if args.smoke else gpu_cupy()
    on_gpu = cp is not None
    if on_gpu:
        sizes, batch = [784, 1024, 1024, 10], args.batch or 4096
        print(f"GPU: {device_name(cp)}; CuPy {cp.__version__}")
    else:
        sizes, batch = [64, 32, 32, 10], args.batch or 64
        print(f"no GPU run ({why}): CPU smoke test with MLP {sizes}, batch {batch}")
        args.steps, args.repeats, args.warmup = min(args.steps, 3), min(args.repeats, 2), 1
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    torch, why_t = optional("torch") if "torch" in args.only else (None, "not asked for")
    jax, why_j = optional("jax") if "jax" in args.only else (None, "not asked for")
    tdev = None
    if torch is not None:
        tdev = "cuda" if on_gpu and torch.cuda.is_available() else "cpu"
        if on_gpu and tdev == "cpu":
            print("PyTorch sees no CUDA device: its row runs on the CPU")
    if jax is not None:
        print(f"JAX {jax.__version__} backend: {jax.default_backend()}")
    params, x, y = make_problem(sizes, batch)
    lr = 0.01
    precisions = ["fp32", "tf32"] if args.precision == "both" else [args.precision]
    if not on_gpu:
        precisions = ["fp32"]
    xp = cp if on_gpu else np
    cp_sync = (lambda: cp.cuda.get_current_stream().synchronize()) if on_gpu else (lambda: None)
    t_sync = (lambda: torch.cuda.synchronize()) if tdev == "cuda" else (lambda: None)
    results = []
    for prec in precisions:
        set_precision(prec, cp, torch if tdev == "cuda" else None, jax)
        if on_gpu:
            print(f"[{prec}] CuPy float32 compute type: {cupy_compute_type(cp)}")
        label = "CuPy" if on_gpu else "NumPy"
        impls = []
        if "adgraph" in args.only:
            impls.append(
                (
                    f"adgraph ({label}, nn)",
                    lambda: impl_adgraph(xp, params, x, y, lr, args.act) + (cp_sync,),
                )
            )
            impls.append(
                (
                    f"adgraph ({label}, anp)",
                    lambda: impl_adgraph(xp, params, x, y, lr, args.act, fused=False) + (cp_sync,),
                )
            )
        if "cupy" in args.only:
            impls.append(
                (
                    f"hand-written {label}",
                    lambda: impl_handwritten(xp, params, x, y, lr, args.act) + (cp_sync,),
                )
            )
        if torch is not None:
            impls.append(
                (
                    f"PyTorch eager ({tdev})",
                    lambda: impl_torch(torch, tdev, params, x, y, lr, args.act) + (t_sync,),
                )
            )
        if jax is not None:
            impls.append(
                (
                    f"JAX jit ({jax.default_backend()})",
                    lambda: impl_jax(jax, params, x, y, lr, args.act),
                )
            )
        for name, make in impls:
            try:
                step, final_loss, sync = make()
                med, best = time_steps(
                    step, sync, warmup=args.warmup, steps=args.steps, repeats=args.repeats
                )
                results.append(
                    dict(
                        impl=name,
                        precision=prec,
                        ms=med * 1e3,
                        ms_min=best * 1e3,
                        loss=final_loss(),
                    )
                )
            except Exception as e:
                traceback.print_exc()
                results.append(
                    dict(
                        impl=name,
                        precision=prec,
                        ms=None,
                        ms_min=None,
                        loss=None,
                        error=f"{type(e).__name__}: {e}",
                    )
                )
        if torch is None and "torch" in args.only:
            print(f"PyTorch skipped: {why_t}")
        if jax is None and "jax" in args.only:
            print(f"JAX skipped: {why_j}")
    # ratios against the hand-written floor and PyTorch, per precision
    for prec in precisions:
        rows = [r for r in results if r["precision"] == prec]
        floor = next(
            (r["ms"] for r in rows if r["impl"].startswith("hand-written") and r["ms"]), None
        )
        torch_ms = next(
            (r["ms"] for r in rows if r["impl"].startswith("PyTorch") and r["ms"]), None
        )
        for r in rows:
            r["vs_handwritten"] = r["ms"] / floor if r["ms"] and floor else None
            r["vs_torch"] = r["ms"] / torch_ms if r["ms"] and torch_ms else None
        print_table(
            [
                (r["impl"], r["ms"], r["ms_min"], r["vs_handwritten"], r["vs_torch"], r["loss"])
                for r in rows
            ],
            ["implementation", "ms/step", "min ms", "x hand-written", "x PyTorch", "loss after"],
            title=f"\nMLP {'-'.join(map(str, sizes))} ({args.act}), batch {batch}, float32, "
            f"SGD, precision {prec}: time per training step "
            f"({args.repeats} x {args.steps} steps after {args.warmup} warm-up)",
        )
        for r in rows:
            if r.get("error"):
                print(f"  {r['impl']} failed: {r['error']}")
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", choices=("fp32", "tf32", "both"), default="both")
    p.add_argument("--act", choices=("tanh", "relu"), default="tanh")
    p.add_argument("--steps", type=int, default=20, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--sizes", default=None, help="layer widths, e.g. 784,1024,1024,10")
    p.add_argument("--only", default="adgraph,cupy,torch,jax", help="comma list of implementations")
    p.add_argument("--smoke", action="store_true", help="tiny CPU run, even with a GPU")
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    args.only = set(args.only.split(","))
    results = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"saved {args.json}")
    failed = [r for r in results if r.get("error") and r["impl"].startswith("adgraph")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
