"""The measurements of the forward-gradient example (:mod:`.forward_gradient`, whose
docstring explains them): descent on two test functions, the hyperplane (logistic
regression) by each method, the variance law of the estimate, and peak memory against
dimension and depth. :mod:`.forward_gradient` runs them, predicts what a time budget cut
short, and draws and summarises the results.
"""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph.datasets import make_classification
from adgraph.optim.forward import forward_gradient_step

from ._common import Progress

#: The loss gaps above the optimum at which each method's steps, passes and time are read.
TARGETS = (1e-2, 1e-3, 1e-4)


# ------------------------------------------------------------------ 1. test functions
def beale(p):
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


TEST_FUNCTIONS = {
    # name: (function, start, minimiser, step size, steps, plot window)
    "Beale": (beale, (-1.0, -1.2), (3.0, 0.5), 3e-3, 2000, ((-1.8, 4.2), (-2.0, 1.6))),
    "Rosenbrock": (rosenbrock, (-1.2, 1.0), (1.0, 1.0), 1e-3, 3000, ((-2.0, 2.0), (-1.0, 3.0))),
}


def run_test_functions(steps_scale: float = 1.0, seeds=(0, 1, 2)):
    """GD and FG (k = 1) paths on Beale and Rosenbrock with the same step size and count."""
    results = {}
    with np.errstate(all="ignore"):  # a diverging path is reported, not warned about
        for name, spec in TEST_FUNCTIONS.items():
            results[name] = _test_function(spec, steps_scale, seeds)
    return results


def _test_function(spec, steps_scale, seeds):
    f, start, xmin, lr, steps, window = spec
    steps = max(int(steps * steps_scale), 10)
    vg = ad.value_and_grad(f)
    p = np.array(start)
    path = [p]
    for _ in range(steps):
        _, g = vg(p)
        p = p - lr * g
        path.append(p)
    runs = {"GD": np.array(path)}
    for s in seeds:
        rng = np.random.Generator(np.random.PCG64(s))
        p = np.array(start)
        path = [p]
        for _ in range(steps):
            p, _ = forward_gradient_step(f, p, lr, 1, rng)
            path.append(p)
        runs[f"FG seed {s}"] = np.array(path)
    rows = {}
    for run, path in runs.items():
        end = path[-1]
        finite = bool(np.all(np.isfinite(path)))
        rows[run] = {
            "final": float(f(end)) if finite else math.inf,
            "distance": float(np.linalg.norm(end - np.array(xmin))) if finite else math.inf,
        }
    return {
        "lr": lr,
        "steps": steps,
        "start": start,
        "minimiser": xmin,
        "window": window,
        "paths": runs,
        "rows": rows,
    }


# ------------------------------------------------------------------ 2./3. the hyperplane
class Problem:
    """Logistic regression on make_classification data, with its curvature constants and
    the optimum (found to |grad| < 1e-9)."""

    def __init__(
        self, d: int, n: int, seed: int, n_test: int, correlation: float = 0.2, signal: float = 2.0
    ):
        X_all, y_all, self.w_true, self.b_true = make_classification(
            n + n_test, d, noise=1.0, seed=seed, correlation=correlation, signal=signal
        )
        self.X, self.y = X_all[:n], y_all[:n]
        self.Xt, self.yt = X_all[n:], y_all[n:]
        self.d, self.n, self.D = d, n, d + 1
        X, y = self.X, self.y

        def loss(theta):
            z = X @ theta[:-1] + theta[-1]
            return anp.mean(anp.logaddexp(0.0, z) - y * z)

        self.loss = loss
        self.value_and_grad = ad.value_and_grad(loss)
        A = np.hstack([X, np.ones((n, 1))])
        # The logistic Hessian is A^T diag(p(1-p)) A / n <= A^T A / (4n) =: H0 everywhere.
        self.L = float(np.linalg.eigvalsh(A.T @ A)[-1]) / (4 * n)
        self.trH = float(np.sum(A * A)) / (4 * n)
        self.theta0 = np.zeros(self.D)
        self.theta_opt, self.loss_opt, self.grad_norm_opt = self._optimum()

    def _optimum(self):
        try:
            from scipy.optimize import minimize
        except ImportError:
            minimize = None
        theta = self.theta0.copy()
        if minimize is not None:

            def fun(t):
                v, g = self.value_and_grad(t)
                return float(v), np.asarray(g)

            theta = minimize(
                fun,
                theta,
                jac=True,
                method="L-BFGS-B",
                options={"gtol": 1e-11, "ftol": 1e-16, "maxiter": 20000, "maxcor": 30},
            ).x
        # Newton-CG polish (Hessian-vector products by forward-over-reverse): needs no SciPy.
        for _ in range(30):
            v, g = self.value_and_grad(theta)
            if float(np.linalg.norm(g)) < 1e-10:
                break
            theta = theta - _cg(lambda u, t=theta: ad.hvp(self.loss, (t,), (u,)), g)
        v, g = self.value_and_grad(theta)
        return theta, float(v), float(np.linalg.norm(g))

    def lr_gd(self) -> float:
        return 1.0 / self.L

    def lr_fg(self, k: int) -> float:
        return 1.0 / ((1.0 + 1.0 / k) * self.L + self.trH / k)

    def accuracy(self, theta, test: bool) -> float:
        X, y = (self.Xt, self.yt) if test else (self.X, self.y)
        return float(np.mean(((X @ theta[:-1] + theta[-1]) > 0) == (y > 0.5)))


def _cg(matvec, b, tol=1e-12, maxiter=500):
    """Conjugate gradients for ``A x = b`` with ``A`` symmetric positive definite."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    for _ in range(maxiter):
        if math.sqrt(rr) <= tol:
            break
        Ap = np.asarray(matvec(p))
        alpha = rr / float(p @ Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fd_gradient(loss, theta, h: float = 1e-6, chunk: int = 256):
    """Central finite differences, ``2D`` evaluations of ``loss`` (batched with ``vmap``)."""
    D = theta.shape[0]
    g = np.empty(D)
    batched = ad.vmap(loss)
    for s in range(0, D, chunk):
        idx = np.arange(s, min(s + chunk, D))
        E = np.zeros((len(idx), D))
        E[np.arange(len(idx)), idx] = h
        P = np.concatenate([theta + E, theta - E])
        vals = np.asarray(batched(P))
        g[idx] = (vals[: len(idx)] - vals[len(idx) :]) / (2 * h)
    return g


def make_methods(prob: Problem, ks):
    """name -> (step(theta, rng) -> (value, new_theta), passes per step, step size)."""
    methods = {}
    lr = prob.lr_gd()

    def gd(theta, rng):
        v, g = prob.value_and_grad(theta)
        return float(v), theta - lr * g

    methods["GD (reverse)"] = (gd, 2, lr)
    for k in ks:
        lr_k = prob.lr_fg(k)

        def fg(theta, rng, k=k, lr_k=lr_k):
            new, v = forward_gradient_step(prob.loss, theta, lr_k, k, rng)
            return float(v), new

        label = f"FG k={k}" + (" (=D)" if k == prob.D else "")
        methods[label] = (fg, 1 + k, lr_k)

    def fd(theta, rng):
        v = float(prob.loss(theta))
        return v, theta - lr * fd_gradient(prob.loss, theta)

    methods["central FD"] = (fd, 2 * prob.D + 1, lr)
    return methods


def run_method(
    step, prob: Problem, passes_per_step: int, budget: float, max_steps: int, seed: int, desc: str
):
    """Iterate ``step`` until every target is reached, or the time budget or step cap runs
    out. Records the iteration, passes and seconds at which each target was first met."""
    rng = np.random.Generator(np.random.PCG64(seed))
    theta = prob.theta0.copy()
    reached = {tol: None for tol in TARGETS}
    gaps, times = [], []
    t0 = time.perf_counter()
    it = 0
    with Progress(max_steps, desc) as bar:
        while True:
            value, new = step(theta, rng)
            now = time.perf_counter() - t0
            gap = value - prob.loss_opt
            gaps.append(gap)
            times.append(now)
            for tol in TARGETS:
                if reached[tol] is None and gap <= tol:
                    reached[tol] = {"iters": it, "passes": it * passes_per_step, "seconds": now}
            if all(r is not None for r in reached.values()) or now > budget or it >= max_steps:
                break
            if not np.all(np.isfinite(new)):
                break
            theta = new
            it += 1
            bar.update(info=f"gap {gap:.1e}")
    return {
        "reached": reached,
        "iters": it,
        "seconds": time.perf_counter() - t0,
        "final_gap": gaps[-1],
        "train_acc": prob.accuracy(theta, False),
        "test_acc": prob.accuracy(theta, True),
        "gaps": np.array(gaps),
        "times": np.array(times),
        "passes_per_step": passes_per_step,
    }


def time_fd_partial(prob: Problem, coords: int = 128):
    """Finite differences at large D: time the 2 * ``coords`` evaluations of one chunk of the
    gradient and scale to all D coordinates (a full step would take minutes and teach
    nothing more). Returns a record shaped like :func:`run_method`'s, with no steps run."""
    theta = prob.theta0
    coords = min(coords, prob.D)
    t0 = time.perf_counter()
    value = float(prob.loss(theta))
    t_primal = time.perf_counter() - t0
    E = np.zeros((coords, prob.D))
    E[np.arange(coords), np.arange(coords)] = 1e-6
    batched = ad.vmap(prob.loss)
    t0 = time.perf_counter()
    batched(np.concatenate([theta + E, theta - E]))
    t_chunk = time.perf_counter() - t0
    per_step = t_primal + t_chunk * prob.D / coords
    gap = value - prob.loss_opt
    return {
        "reached": {tol: None for tol in TARGETS},
        "iters": 0,
        "seconds": per_step,
        "final_gap": gap,
        "train_acc": prob.accuracy(theta, False),
        "test_acc": prob.accuracy(theta, True),
        "gaps": np.array([gap]),
        "times": np.array([0.0]),
        "passes_per_step": 2 * prob.D + 1,
        "timed_coords": coords,
    }


def variance_law(prob: Problem, ks, samples: int, seed: int = 123, chunk: int = 500):
    """E|g_k|^2 / |grad f|^2 estimated at theta = 0 from ``samples`` averaged estimates per
    k, against 1 + (D + 1)/k. Returns rows (k, estimate, standard error, law)."""
    theta = prob.theta0
    _, a = prob.value_and_grad(theta)
    a = np.asarray(a)
    a2 = float(a @ a)
    rng = np.random.Generator(np.random.PCG64(seed))
    push = ad.vmap(lambda v: ad.jvp(prob.loss, (theta,), (v,))[1])
    rows = []
    for k in ks:
        norms = []
        need = samples * k
        while need > 0:
            m = min(need, chunk * k)
            V = rng.standard_normal((m, prob.D))
            dvals = np.asarray(push(V))  # the directional derivatives, by forward mode
            G = (dvals[:, None] * V).reshape(m // k, k, prob.D).mean(axis=1)
            norms.append(np.sum(G * G, axis=1))
            need -= m
        r = np.concatenate(norms) / a2
        rows.append(
            (k, float(r.mean()), float(r.std(ddof=1) / math.sqrt(len(r))), 1.0 + (prob.D + 1) / k)
        )
    return rows


# ------------------------------------------------------------------ 4. memory
def peak_bytes(fn, warm: bool = True) -> int:
    """Peak bytes allocated while ``fn()`` runs (tracemalloc; NumPy reports its buffers)."""
    if warm:
        fn()  # warm caches so that one-time allocations do not count
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


def memory_logistic(prob: Problem, ks):
    theta = prob.theta0 + 0.01
    rows = [("primal f(theta)", peak_bytes(lambda: prob.loss(theta)))]
    rows.append(("reverse mode (value_and_grad)", peak_bytes(lambda: prob.value_and_grad(theta))))
    for k in ks:
        rows.append(
            (
                f"forward gradient, k={k}",
                peak_bytes(
                    lambda k=k: forward_gradient_step(prob.loss, theta, 1e-3, k, 0), warm=k < 64
                ),
            )
        )
    return rows


def deep_model(X, y, depth: int, width: int, seed: int = 0):
    """A tanh network on the features: ``depth`` hidden layers of ``width`` units."""
    rng = np.random.Generator(np.random.PCG64(seed))
    d = X.shape[1]
    params = [rng.standard_normal((d, width)) / math.sqrt(d)]
    params += [rng.standard_normal((width, width)) / math.sqrt(width) for _ in range(depth - 1)]
    params.append(rng.standard_normal(width) / math.sqrt(width))

    def loss(p):
        a = anp.tanh(X @ p[0])
        for W in p[1:-1]:
            a = anp.tanh(a @ W)
        z = a @ p[-1]
        return anp.mean(anp.logaddexp(0.0, z) - y * z)

    return loss, params


def memory_depth(prob: Problem, depths, width: int = 32):
    rows = []
    for depth in depths:
        loss, p = deep_model(prob.X, prob.y, depth, width)
        vg = ad.value_and_grad(loss)
        primal = peak_bytes(lambda loss=loss, p=p: loss(p))
        rev = peak_bytes(lambda vg=vg, p=p: vg(p))
        fg = peak_bytes(lambda loss=loss, p=p: forward_gradient_step(loss, p, 1e-3, 1, 0))
        rows.append((depth, primal, rev, fg))
    return rows
