"""The engine workloads of the benchmark, written once per framework.

Each workload is a function ``make(framework) -> callable | None`` returning a zero-argument
callable that computes the workload's derivative (or, for ``"numpy"``, the primal), or None
when the framework is not installed or does not apply. Inputs are built once, outside the
timed callable; results are forced to be computed (JAX: ``block_until_ready``).
"""

from __future__ import annotations

import importlib
import os

import numpy as np

#: Threads a workload's own multi-threaded calls may use (scipy.fft in the primal of
#: fft_grad): None for every core (the libraries' default elsewhere), or the count of
#: ``run.py --threads``.
THREADS: int | None = None


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


FRAMEWORKS = [
    "numpy",
    "adgraph",
    "adgraph-jit",
    "adgraph-c",
    "autograd",
    "jax-jit",
    "jax-eager",
    "torch",
]
# adgraph compiled: "adgraph-jit" is ad.jit (Python code generation), "adgraph-c" is
# ad.jit(..., compiler="c") for the workloads of scalars and small arrays.
COMPILED_C = {"article_scalar", "chain_2000", "rosen_hessian"}


def _try(name):
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def _jax():
    jax = _try("jax")
    if jax is None:
        return None, None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def _block(x):
    return x.block_until_ready() if hasattr(x, "block_until_ready") else x


def _jax_fn(fw, f):
    """jit or eager version of a JAX derivative function."""
    jax, _ = _jax()
    if fw == "jax-jit":
        return jax.jit(f)
    return f


# ------------------------------------------------------------------ article_scalar
def article_scalar(fw):
    x1, x2 = 2.0, 4.0
    if fw == "numpy":
        return lambda: x1 * x2 + x2 - np.log(x1)
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        g = _WRAP(ad.grad(lambda a, b: a * b + b - anp.log(a), argnums=(0, 1)))
        return lambda: g(x1, x2)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        # autograd differentiates one argument; pass both as a tuple
        gr = ag.grad(lambda ab: ab[0] * ab[1] + ab[1] - agnp.log(ab[0]))
        return lambda: gr((x1, x2))
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        g = _jax_fn(fw, jax.grad(lambda a, b: a * b + b - jnp.log(a), argnums=(0, 1)))
        return lambda: [_block(v) for v in g(x1, x2)]
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None

        def run():
            a = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
            b = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
            y = a * b + b - torch.log(a)
            return torch.autograd.grad(y, (a, b))

        return run
    return None


# ------------------------------------------------------------------ chain_2000
N_CHAIN = 2000


def chain_2000(fw):
    x0 = 0.3
    if fw == "numpy":

        def run():
            x = x0
            for _ in range(N_CHAIN):
                x = np.sin(x) * x + 0.5
            return x

        return run
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        def f(x):
            for _ in range(N_CHAIN):
                x = anp.sin(x) * x + 0.5
            return x

        g = _WRAP(ad.grad(f))
        return lambda: g(x0)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        def f(x):
            for _ in range(N_CHAIN):
                x = agnp.sin(x) * x + 0.5
            return x

        g = ag.grad(f)
        return lambda: g(x0)
    if fw == "jax-jit":
        jax, jnp = _jax()
        if jax is None:
            return None

        def f(x):
            for _ in range(N_CHAIN):
                x = jnp.sin(x) * x + 0.5
            return x

        g = jax.jit(jax.grad(f))
        return lambda: _block(g(x0))
    if fw == "jax-eager":
        return None  # minutes per call: op-by-op dispatch of 6000 ops and their transposes
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None

        def run():
            x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            y = x
            for _ in range(N_CHAIN):
                y = torch.sin(y) * y + 0.5
            return torch.autograd.grad(y, x)

        return run
    return None


# ------------------------------------------------------------------ logreg_grad
def _logreg_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_000, 100))
    y = np.sign(rng.standard_normal(200_000))
    w = rng.standard_normal(100) * 0.1
    return X, y, w


def logreg_grad(fw, data=None):
    X, y, w = data if data is not None else _logreg_data()
    if fw == "numpy":
        return lambda: np.mean(np.log1p(np.exp(-y * (X @ w))))
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        g = _WRAP(ad.grad(lambda w: anp.mean(anp.log1p(anp.exp(-y * (X @ w))))))
        return lambda: g(w)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        g = ag.grad(lambda w: agnp.mean(agnp.log1p(agnp.exp(-y * agnp.dot(X, w)))))
        return lambda: g(w)
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        Xj, yj, wj = jnp.asarray(X), jnp.asarray(y), jnp.asarray(w)
        g = _jax_fn(fw, jax.grad(lambda w: jnp.mean(jnp.log1p(jnp.exp(-yj * (Xj @ w))))))
        return lambda: _block(g(wj))
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def run():
            wt = torch.tensor(w, requires_grad=True)
            loss = torch.mean(torch.log1p(torch.exp(-yt * (Xt @ wt))))
            return torch.autograd.grad(loss, wt)

        return run
    return None


# ------------------------------------------------------------------ fft_grad
def _fft_data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((256, 256)), rng.standard_normal((256, 256))


def fft_grad(fw):
    u, K = _fft_data()
    if fw == "numpy":
        sfft = _try("scipy.fft")
        if sfft is not None:
            w = THREADS or _cores()

            def run():
                v = sfft.ifft2(sfft.fft2(u, workers=w) * K, workers=w)
                return np.sum(np.real(v * np.conj(v)))

            return run

        def run_np():
            v = np.fft.ifft2(np.fft.fft2(u) * K)
            return np.sum(np.real(v * np.conj(v)))

        return run_np
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        def f(u):
            v = anp.fft.ifft2(anp.fft.fft2(u) * K)
            return anp.sum(anp.real(v * anp.conj(v)))

        g = _WRAP(ad.grad(f))
        return lambda: g(u)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        def f(u):
            v = agnp.fft.ifft2(agnp.fft.fft2(u) * K)
            return agnp.sum(agnp.real(v * agnp.conj(v)))

        g = ag.grad(f)
        return lambda: g(u)
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        Kj, uj = jnp.asarray(K), jnp.asarray(u)

        def f(u):
            v = jnp.fft.ifft2(jnp.fft.fft2(u) * Kj)
            return jnp.sum(jnp.real(v * jnp.conj(v)))

        g = _jax_fn(fw, jax.grad(f))
        return lambda: _block(g(uj))
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None
        Kt = torch.from_numpy(K)

        def run():
            ut = torch.tensor(u, requires_grad=True)
            v = torch.fft.ifft2(torch.fft.fft2(ut) * Kt)
            loss = torch.sum(torch.real(v * torch.conj(v)))
            return torch.autograd.grad(loss, ut)

        return run
    return None


# ------------------------------------------------------------------ rosen_hessian
def rosen_hessian(fw):
    x = np.random.default_rng(2).standard_normal(50)
    if fw == "numpy":
        return lambda: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        h = _WRAP(
            ad.hessian(lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
        )
        return lambda: h(x)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        h = ag.hessian(lambda x: agnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
        return lambda: h(x)
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        xj = jnp.asarray(x)
        h = _jax_fn(
            fw,
            jax.hessian(lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)),
        )
        return lambda: _block(h(xj))
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None
        from torch.func import hessian

        h = hessian(lambda x: torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))
        xt = torch.from_numpy(x)
        return lambda: h(xt)
    return None


# ------------------------------------------------------------------ mlp_grad
def _mlp_data():
    rng = np.random.default_rng(3)
    sizes = [784, 256, 256, 10]
    params = [
        (
            (rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
            np.zeros(n, np.float32),
        )
        for m, n in zip(sizes[:-1], sizes[1:])
    ]
    X = rng.standard_normal((256, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 256)
    Y = np.eye(10, dtype=np.float32)[labels]
    return params, X, Y


def mlp_grad(fw):
    params, X, Y = _mlp_data()

    def loss_with(xp, logsumexp_fn):
        def loss(params):
            h = X
            for W, b in params[:-1]:
                h = xp.tanh(h @ W + b)
            W, b = params[-1]
            logits = h @ W + b
            return -xp.mean(xp.sum(Y * (logits - logsumexp_fn(logits)), axis=1))

        return loss

    if fw == "numpy":

        def lse(z):
            m = np.max(z, axis=1, keepdims=True)
            return m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))

        f = loss_with(np, lse)
        return lambda: f(params)
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        def lse(z):
            m = anp.stop_gradient(anp.max(z, axis=1, keepdims=True))
            return m + anp.log(anp.sum(anp.exp(z - m), axis=1, keepdims=True))

        g = _WRAP(ad.grad(loss_with(anp, lse)))
        return lambda: g(params)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        def lse(z):
            m = np.max(ag.tracer.getval(z), axis=1, keepdims=True)
            return m + agnp.log(agnp.sum(agnp.exp(z - m), axis=1, keepdims=True))

        g = ag.grad(loss_with(agnp, lse))
        return lambda: g(params)
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        pj = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
        Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

        def loss(params):
            h = Xj
            for W, b in params[:-1]:
                h = jnp.tanh(h @ W + b)
            W, b = params[-1]
            logits = h @ W + b
            return -jnp.mean(jnp.sum(Yj * jax.nn.log_softmax(logits), axis=1))

        g = _jax_fn(fw, jax.grad(loss))
        return lambda: jax.tree_util.tree_map(_block, g(pj))
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

        def run():
            ps = [
                (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
                for W, b in params
            ]
            h = Xt
            for W, b in ps[:-1]:
                h = torch.tanh(h @ W + b)
            W, b = ps[-1]
            logits = h @ W + b
            loss = -torch.mean(torch.sum(Yt * torch.log_softmax(logits, dim=1), dim=1))
            return torch.autograd.grad(loss, [p for wb in ps for p in wb])

        return run
    return None


# ------------------------------------------------------------------ jacfwd_100
def jacfwd_100(fw):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((100, 100)) / 10
    x = rng.standard_normal(100)
    if fw == "numpy":
        return lambda: np.tanh(A @ np.sin(x) * x) + np.exp(-(x**2))
    if fw == "adgraph":
        import adgraph as ad
        import adgraph.numpy as anp

        j = _WRAP(ad.jacfwd(lambda x: anp.tanh(A @ anp.sin(x) * x) + anp.exp(-(x**2))))
        return lambda: j(x)
    if fw == "autograd":
        ag = _try("autograd")
        if ag is None:
            return None
        import autograd.numpy as agnp

        j = ag.jacobian(lambda x: agnp.tanh(agnp.dot(A, agnp.sin(x)) * x) + agnp.exp(-(x**2)))
        return lambda: j(x)
    if fw.startswith("jax"):
        jax, jnp = _jax()
        if jax is None:
            return None
        Aj, xj = jnp.asarray(A), jnp.asarray(x)
        j = _jax_fn(fw, jax.jacfwd(lambda x: jnp.tanh(Aj @ jnp.sin(x) * x) + jnp.exp(-(x**2))))
        return lambda: _block(j(xj))
    if fw == "torch":
        torch = _try("torch")
        if torch is None:
            return None
        from torch.func import jacfwd

        At, xt = torch.from_numpy(A), torch.from_numpy(x)
        j = jacfwd(lambda x: torch.tanh(At @ torch.sin(x) * x) + torch.exp(-(x**2)))
        return lambda: j(xt)
    return None


def _with_compiled(name, make):
    """The workload, plus its compiled adgraph variants: the same adgraph derivative
    function wrapped in ``ad.jit`` (Python code generation, or the C backend)."""

    def build(fw, *args, **kwargs):
        if fw not in ("adgraph-jit", "adgraph-c"):
            return make(fw, *args, **kwargs)
        if fw == "adgraph-c" and name not in COMPILED_C:
            return None
        import adgraph as ad

        compiler = "c" if fw == "adgraph-c" else "python"
        global _WRAP
        _WRAP = lambda f: ad.jit(f, compiler=compiler)  # noqa: E731
        try:
            return make("adgraph", *args, **kwargs)
        finally:
            _WRAP = _identity

    return build


def _identity(f):
    return f


# How the adgraph branch wraps its derivative function (set by the compiled variants).
_WRAP = _identity


WORKLOADS = {
    name: _with_compiled(name, make)
    for name, make in {
        "article_scalar": article_scalar,
        "chain_2000": chain_2000,
        "logreg_grad": logreg_grad,
        "fft_grad": fft_grad,
        "rosen_hessian": rosen_hessian,
        "mlp_grad": mlp_grad,
        "jacfwd_100": jacfwd_100,
    }.items()
}
