r"""The separating hyperplane of a binary classification problem, found by reverse mode.

Data: :func:`adgraph.datasets.make_classification` -- correlated Gaussian features, a true
hyperplane :math:`(w^*, b^*)`, Gaussian noise on the logits, labels in {0, 1}. The model is
logistic regression with parameters :math:`\theta = (w, b)` and the mean binary cross-entropy
computed from the logits :math:`z_i = x_i^T w + b`,

.. math:: \ell(\theta) = \frac1n \sum_i \big[\log(1 + e^{z_i}) - y_i z_i\big]
          \;+\; \frac{\lambda}{2} |w|^2 ,

where :math:`\log(1 + e^{z})` is ``logaddexp(0, z)``, finite for any :math:`z` (the naive
:math:`-y\log\sigma(z) - (1-y)\log(1-\sigma(z))` overflows or takes ``log(0)`` for large
:math:`|z|`). :math:`\lambda` (``--l2``) is 0 by default: the unpenalised maximum-likelihood
fit. Three fits, all with derivatives from adgraph:

a. gradient descent with ``ad.grad`` and the step :math:`1/L`,
   :math:`L = \lambda_{max}(A^T A)/(4n) + \lambda` (:math:`A = [X\ 1]`; the logistic
   curvature :math:`\sigma(1-\sigma)` never exceeds 1/4), until :math:`|\nabla \ell|` is
   below ``--gtol``;
b. Newton's method with the Hessian from ``ad.hessian`` (forward-over-reverse), with a
   backtracking line search;
c. L-BFGS through ``scipy.optimize.minimize`` with ``jac`` from ``ad.value_and_grad``;

side by side with scikit-learn's ``LogisticRegression`` on the same data (unpenalised, or with
:math:`C = 1/(n\lambda)`, the same objective). Each reports its steps, wall time, final loss,
train and test accuracy and the angle between the learned and the true normal vectors; the
example checks that every fit reaches scikit-learn's loss to 1e-6 and its accuracy. With
noise on the logits the fit recovers the direction of :math:`w^*`, not its length (the
maximum-likelihood :math:`w` is shrunk by about :math:`1/\sqrt{1 + \pi\sigma^2/8}`), hence the
angle as the measure of recovery.

Without a penalty the fit has a finite optimum only when no hyperplane separates the training
classes. The example first runs Newton's method on the unpenalised loss and tests each
iterate (:func:`find_separation`): on linearly separable data (``--labels threshold --noise
0``, or few samples in many dimensions) it says so, shows the separating hyperplane found,
and runs no fit -- the optimum is at infinity -- suggesting ``--l2``. On nearly separable
data the optimum is finite but far out and ill conditioned; when gradient descent stops at
``--max-steps`` the example reports the Hessian's condition number that explains it and does
not count it as a failure. Option values it cannot run with are refused in one line (exit
status 2).

The figure (``logistic.png``) shows the test data and the hyperplanes in the plane of the
first two features when there are two, otherwise in the plane spanned by :math:`w^*` and the
fitted :math:`w` (each hyperplane is drawn exactly where it cuts that plane), and the loss
gap to scikit-learn's along the iterations.

Run it with ``adgraph examples run logistic [--features D] [--samples N] [--l2 LAMBDA]``.
SciPy (``pip install adgraph[scipy]``) and scikit-learn (``pip install adgraph[sklearn]``) are
optional: without them their rows are skipped with a message.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph.datasets import make_classification

from ._common import (
    Progress,
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    require,
    save_figure,
    write_summary,
)

DESCRIPTION = (
    "Logistic regression by gradient descent, Newton and L-BFGS with adgraph vs scikit-learn"
)

LOSS_TOL = 1e-6


def make_loss(X, y, l2: float = 0.0):
    """The mean binary cross-entropy from logits (plus ``l2/2 |w|^2``) of ``theta = (w, b)``,
    a vector of length ``d + 1``."""
    l2 = float(l2)

    def loss(theta):
        z = X @ theta[:-1] + theta[-1]
        value = anp.mean(anp.logaddexp(0.0, z) - y * z)
        if l2:
            w = theta[:-1]
            value = value + 0.5 * l2 * anp.sum(w * w)
        return value

    return loss


def accuracy(theta, X, y) -> float:
    return float(np.mean(((X @ theta[:-1] + theta[-1]) > 0) == (y > 0.5)))


def angle_deg(w, w_true) -> float:
    c = float(w @ w_true) / (float(np.linalg.norm(w)) * float(np.linalg.norm(w_true)))
    return math.degrees(math.acos(min(1.0, max(-1.0, c))))


# ------------------------------------------------------------------ the fits
def fit_gd(loss, theta0, lr: float, gtol: float, max_steps: int):
    """Gradient descent with ``ad.value_and_grad``; stops when ``|grad| <= gtol``."""
    vg = ad.value_and_grad(loss)
    theta = np.array(theta0, dtype=float)
    history = []
    t0 = time.perf_counter()
    steps = 0
    with Progress(max_steps, "gradient descent") as bar:
        while True:
            value, g = vg(theta)
            history.append(float(value))
            gnorm = float(np.linalg.norm(g))
            if gnorm <= gtol or steps >= max_steps:
                break
            theta = theta - lr * g
            steps += 1
            bar.update(info=f"|grad| {gnorm:.1e}")
    return {
        "theta": theta,
        "steps": steps,
        "seconds": time.perf_counter() - t0,
        "grad_norm": gnorm,
        "history": history,
    }


def fit_newton(loss, theta0, gtol: float = 1e-12, max_steps: int = 50):
    """Newton's method with the Hessian by ``ad.hessian`` and an Armijo backtracking search."""
    vg = ad.value_and_grad(loss)
    hess = ad.hessian(loss)
    theta = np.array(theta0, dtype=float)
    history = []
    t0 = time.perf_counter()
    steps = 0
    while True:
        value, g = vg(theta)
        value = float(value)
        history.append(value)
        gnorm = float(np.linalg.norm(g))
        if gnorm <= gtol or steps >= max_steps:
            break
        step = _newton_step(np.asarray(hess(theta)), np.asarray(g))
        t = 1.0
        while t > 1e-10:  # backtracking: accept a sufficient decrease
            if float(loss(theta - t * step)) <= value - 1e-4 * t * float(g @ step):
                break
            t *= 0.5
        theta = theta - t * step
        steps += 1
    return {
        "theta": theta,
        "steps": steps,
        "seconds": time.perf_counter() - t0,
        "grad_norm": gnorm,
        "history": history,
    }


def _newton_step(H, g):
    """``H^{-1} g``; the least-squares solution when ``H`` is singular (fewer samples than
    parameters, or a fit running off to infinity)."""
    try:
        step = np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        step = None
    if step is None or not np.all(np.isfinite(step)):
        step = np.linalg.lstsq(H, g, rcond=None)[0]
    return step


def find_separation(X, y, max_steps: int = 100):
    r"""A hyperplane that classifies every sample of ``(X, y)`` correctly, or None.

    Unpenalised logistic regression has a finite minimiser only when no hyperplane separates
    the classes: if :math:`	heta` gives every sample a positive margin
    :math:`s_i (x_i^T w + b) > 0` (:math:`s_i = \pm 1`), the loss at :math:`t	heta` falls to
    0 as :math:`t 	o \infty` and is positive for every finite :math:`	heta`. Newton's
    method on the unpenalised loss (Hessian by ``ad.hessian``) is run from 0 and each iterate
    tested: a separating iterate is the certificate (loss below :math:`\log 2 / n` forces one,
    and on separable data the loss falls towards 0); convergence of the gradient to 0 means a
    finite minimiser exists. Returns ``{"theta", "steps", "loss"}`` for a separating
    hyperplane, None when the fit converged (or, rarely, neither happened within
    ``max_steps``).
    """
    loss = make_loss(X, y)
    vg = ad.value_and_grad(loss)
    hess = ad.hessian(loss)
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    signs = 2.0 * (np.asarray(y) > 0.5) - 1.0
    theta = np.zeros(A.shape[1])
    for step_count in range(max_steps + 1):
        if step_count and np.all(signs * (A @ theta) > 0):
            return {"theta": theta, "steps": step_count, "loss": float(loss(theta))}
        value, g = vg(theta)
        value = float(value)
        if float(np.linalg.norm(g)) <= 1e-10 or step_count == max_steps:
            return None
        step = _newton_step(np.asarray(hess(theta)), np.asarray(g))
        t = 1.0
        while t > 1e-10 and float(loss(theta - t * step)) > value - 1e-4 * t * float(g @ step):
            t *= 0.5
        theta = theta - t * step
    return None


def fit_lbfgs(loss, theta0, gtol: float = 1e-10):
    """L-BFGS-B from SciPy, value and gradient from ``ad.value_and_grad``."""
    optimize = require("scipy.optimize", "scipy", "the L-BFGS fit")
    vg = ad.value_and_grad(loss)

    def fun(theta):
        value, g = vg(theta)
        return float(value), np.asarray(g, dtype=float)

    history = [float(loss(np.asarray(theta0, dtype=float)))]
    t0 = time.perf_counter()
    res = optimize.minimize(
        fun,
        np.asarray(theta0, dtype=float),
        jac=True,
        method="L-BFGS-B",
        callback=lambda xk: history.append(float(loss(xk))),
        options={"gtol": gtol, "ftol": 1e-15, "maxiter": 10000, "maxcor": 20},
    )
    seconds = time.perf_counter() - t0
    return {
        "theta": np.asarray(res.x),
        "steps": int(res.nit),
        "evaluations": int(res.nfev),
        "seconds": seconds,
        "grad_norm": float(np.linalg.norm(fun(res.x)[1])),
        "history": history,
    }


def fit_sklearn(X, y, l2: float):
    """scikit-learn's LogisticRegression with the same objective (lbfgs, tight tolerance)."""
    linear_model = require("sklearn.linear_model", "sklearn", "the reference fit")
    import sklearn

    n = X.shape[0]
    major, minor = (
        int(re.match(r"\d*", p).group() or 0) for p in sklearn.__version__.split(".")[:2]
    )
    kwargs = {"solver": "lbfgs", "tol": 1e-12, "max_iter": 100000}
    if l2 > 0:
        kwargs["C"] = 1.0 / (n * l2)  # C sum(loss) + |w|^2/2  ==  n C (mean loss + l2/2 |w|^2)
    elif (major, minor) >= (1, 8):
        kwargs["C"] = np.inf  # unpenalised; ``penalty=None`` is deprecated from 1.8
    else:
        kwargs["penalty"] = None
    model = linear_model.LogisticRegression(**kwargs)
    t0 = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - t0
    theta = np.concatenate([model.coef_.ravel(), model.intercept_.ravel()])
    return {"theta": theta, "steps": int(np.max(model.n_iter_)), "seconds": seconds}


# ------------------------------------------------------------------ figure
def draw(Figure, out, X, y, w_true, b_true, fits, ref_loss):
    fig = Figure(figsize=(11, 4.8))
    ax, ax2 = fig.subplots(1, 2)
    d = X.shape[1]
    if d == 2:
        U = np.eye(2)
        labels = ("x1", "x2")
    else:
        # Orthonormal basis of span(w*, w_fit): each hyperplane cuts this plane in a line.
        w_fit = next(iter(fits.values()))["theta"][:-1]
        U, _ = np.linalg.qr(np.stack([w_true, w_fit], axis=1))
        U = U * np.sign([float(U[:, 0] @ w_true), float(U[:, 1] @ w_fit) or 1.0])
        labels = ("along w*", "orthogonal, towards the fitted w")
    P = X @ U
    ax.scatter(P[y < 0.5, 0], P[y < 0.5, 1], s=6, c="tab:blue", alpha=0.45, label="y = 0")
    ax.scatter(P[y > 0.5, 0], P[y > 0.5, 1], s=6, c="tab:orange", alpha=0.45, label="y = 1")
    lo, hi = np.percentile(P, [0.5, 99.5], axis=0)
    pad = 0.1 * (hi - lo)
    xlim = (lo[0] - pad[0], hi[0] + pad[0])
    ylim = (lo[1] - pad[1], hi[1] + pad[1])

    def line(w, b, **kw):
        # Points s1 u1 + s2 u2 with (w . u1) s1 + (w . u2) s2 + b = 0.
        c1, c2 = float(w @ U[:, 0]), float(w @ U[:, 1])
        if abs(c2) >= abs(c1):
            s1 = np.array(xlim)
            s2 = -(b + c1 * s1) / c2
        else:
            s2 = np.array(ylim)
            s1 = -(b + c2 * s2) / c1
        ax.plot(s1, s2, **kw)

    line(w_true, b_true, color="k", lw=2.2, label="true hyperplane")
    styles = {
        "gradient descent": {"color": "tab:green", "ls": "-", "lw": 1.4},
        "Newton": {"color": "tab:red", "ls": "--", "lw": 1.4},
        "L-BFGS (SciPy)": {"color": "tab:purple", "ls": ":", "lw": 2.0},
        "scikit-learn": {"color": "tab:gray", "ls": "-.", "lw": 1.2},
    }
    for name, r in fits.items():
        line(r["theta"][:-1], r["theta"][-1], label=name, **styles.get(name, {}))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("test data and hyperplanes (fitted ones coincide)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    for name, r in fits.items():
        h = r.get("history")
        if h:
            gap = np.maximum(np.array(h) - ref_loss, 1e-17)
            ax2.semilogy(np.arange(len(gap)), gap, label=name, color=styles[name]["color"])
    ax2.axhline(LOSS_TOL, color="k", lw=0.8, ls=":", label="1e-6")
    ax2.set_xscale("symlog", linthresh=10)
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("loss - best loss")
    ax2.set_title("convergence", fontsize=9)
    ax2.legend(fontsize=7)
    return save_figure(fig, out, "logistic.png")


# ------------------------------------------------------------------ main
def _check_options(parser, args) -> None:
    """Refuse option values the example cannot run with: one line, exit status 2."""

    def finite(name, v, low=None, strict=False):
        if not math.isfinite(v) or (low is not None and (v <= low if strict else v < low)):
            bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
            parser.error(f"{name} must be a finite number{bound}, got {v:g}")

    if args.samples < 2:
        parser.error(f"--samples must be at least 2, got {args.samples}")
    if args.test_samples < 1:
        parser.error(f"--test-samples must be at least 1, got {args.test_samples}")
    if args.features < 1:
        parser.error(f"--features must be at least 1, got {args.features}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    if args.max_steps < 1:
        parser.error(f"--max-steps must be at least 1, got {args.max_steps}")
    finite("--noise", args.noise, 0.0)
    finite("--l2", args.l2, 0.0)
    finite("--gtol", args.gtol, 0.0, strict=True)
    if not abs(args.correlation) < 1:
        parser.error(f"--correlation must lie strictly between -1 and 1, got {args.correlation:g}")


def _report_separable(out, args, X, y, Xt, yt, w_true, b_true, sep) -> int:
    """The data are linearly separable: say so, with the separating hyperplane found, instead
    of running fits that cannot converge."""
    n = X.shape[0]
    theta = sep["theta"]
    ones = int(np.sum(y > 0.5))
    if ones in (0, n):
        why = (
            f"every training label is {int(ones == n)}, so any hyperplane with all samples "
            "on one side separates them"
        )
    else:
        why = (
            f"Newton's method found a hyperplane after {sep['steps']} step(s) that classifies "
            f"all {n} training samples correctly"
        )
    print()
    print(
        f"The training data are linearly separable: {why}. The unpenalised logistic loss "
        "then has no minimiser -- it falls towards 0 as |w| grows without bound (its optimum "
        "is at infinity) -- so gradient descent, Newton and L-BFGS cannot converge and no fit "
        "is run. Pass --l2 LAMBDA (e.g. --l2 0.01) for a penalised fit with a finite optimum, "
        "or make the classes overlap (more --samples, more --noise, --labels logistic)."
    )
    print(
        f"separating hyperplane: train accuracy {accuracy(theta, X, y):.4f}, test accuracy "
        f"{accuracy(theta, Xt, yt):.4f}, angle to w* {angle_deg(theta[:-1], w_true):.2f} deg"
        if np.any(theta[:-1])
        else "separating hyperplane: the bias alone"
    )
    write_summary(
        out,
        {
            "n_train": n,
            "n_test": Xt.shape[0],
            "d": X.shape[1],
            "noise": args.noise,
            "seed": args.seed,
            "l2": args.l2,
            "separable": True,
            "separation": {
                "theta": theta,
                "newton_steps": sep["steps"],
                "loss": sep["loss"],
                "train_acc": accuracy(theta, X, y),
                "test_acc": accuracy(theta, Xt, yt),
            },
            "w_true": w_true,
            "b_true": b_true,
            "fits": {},
            "ok": True,
            "figures": [],
        },
    )
    return 0


def main(argv=None) -> int:
    parser = make_parser("logistic", DESCRIPTION)
    parser.add_argument("--samples", type=int, default=2000, help="training samples")
    parser.add_argument("--test-samples", type=int, default=1000, help="test samples")
    parser.add_argument("--features", type=int, default=2, help="number of features d")
    parser.add_argument("--noise", type=float, default=1.0, help="noise sd on the logits")
    parser.add_argument("--correlation", type=float, default=0.5, help="AR(1) correlation")
    parser.add_argument(
        "--labels", choices=("logistic", "threshold"), default="logistic", help="label recipe"
    )
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    parser.add_argument("--l2", type=float, default=0.0, help="L2 penalty lambda on w")
    parser.add_argument(
        "--gtol", type=float, default=1e-8, help="gradient descent stops at |grad| <= gtol"
    )
    parser.add_argument("--max-steps", type=int, default=50000, help="gradient descent's cap")
    parser.add_argument("--small", action="store_true", help="400 training, 200 test samples")
    args = parser.parse_args(argv)
    if args.small:
        args.samples, args.test_samples = 400, 200
    _check_options(parser, args)
    out = output_dir(args.out, "logistic")

    n, m, d = args.samples, args.test_samples, args.features
    X_all, y_all, w_true, b_true = make_classification(
        n + m,
        d,
        noise=args.noise,
        seed=args.seed,
        correlation=args.correlation,
        labels=args.labels,
    )
    X, y, Xt, yt = X_all[:n], y_all[:n], X_all[n:], y_all[n:]
    print(
        f"make_classification: {n} training + {m} test samples, d = {d}, noise = {args.noise}, "
        f"AR(1) correlation {args.correlation}, labels '{args.labels}', seed {args.seed}"
    )
    print(
        f"true normal w* = {np.array2string(w_true[:6], precision=4)}"
        f"{' ...' if d > 6 else ''}, b* = {b_true:.4f}; class 1 share {y.mean():.3f}"
    )
    print(f"figures and summary.json go to {out}")

    loss = make_loss(X, y, args.l2)
    if not args.l2:
        sep = find_separation(X, y)
        if sep is not None:
            return _report_separable(out, args, X, y, Xt, yt, w_true, b_true, sep)
    theta0 = np.zeros(d + 1)
    A = np.hstack([X, np.ones((n, 1))])
    L = float(np.linalg.eigvalsh(A.T @ A / (4 * n))[-1]) + args.l2
    lr = 1.0 / L

    fits = {}
    fits["gradient descent"] = fit_gd(loss, theta0, lr, args.gtol, args.max_steps)
    fits["Newton"] = fit_newton(loss, theta0)
    try:
        fits["L-BFGS (SciPy)"] = fit_lbfgs(loss, theta0)
    except ImportError as err:
        print(f"skipping L-BFGS: {err}")
    try:
        fits["scikit-learn"] = fit_sklearn(X, y, args.l2)
    except ImportError as err:
        print(f"skipping the scikit-learn reference: {err}")

    for r in fits.values():
        r["loss"] = float(loss(r["theta"]))
        r["train_acc"] = accuracy(r["theta"], X, y)
        r["test_acc"] = accuracy(r["theta"], Xt, yt)
        r["angle"] = angle_deg(r["theta"][:-1], w_true)
    ref_name = "scikit-learn" if "scikit-learn" in fits else "Newton"
    ref = fits[ref_name]
    true_theta = np.concatenate([w_true, [b_true]])

    rows = []
    for name, r in fits.items():
        rows.append(
            (
                name,
                r["steps"],
                r["seconds"],
                r["loss"],
                r["loss"] - ref["loss"],
                r["train_acc"],
                r["test_acc"],
                r["angle"],
            )
        )
    rows.append(
        (
            "true (w*, b*)",
            None,
            None,
            float(loss(true_theta)),
            float(loss(true_theta)) - ref["loss"],
            accuracy(true_theta, X, y),
            accuracy(true_theta, Xt, yt),
            0.0,
        )
    )
    print()
    print_table(
        rows,
        (
            "method",
            "steps",
            "wall s",
            "final loss",
            f"- {ref_name}",
            "train acc",
            "test acc",
            "angle to w* (deg)",
        ),
        title=f"Logistic regression, {'unpenalised' if not args.l2 else f'L2 lambda={args.l2:g}'}"
        f" (gradient descent step 1/L = {lr:.4g})",
        digits=8,
        formats={2: ".4f", 5: ".4f", 6: ".4f", 7: ".4f"},
    )

    checks = {}
    for name, r in fits.items():
        if name == ref_name:
            continue
        checks[name] = {
            "loss_within_1e-6": bool(r["loss"] <= ref["loss"] + LOSS_TOL),
            "same_train_accuracy": bool(r["train_acc"] == ref["train_acc"]),
            "same_test_accuracy": bool(r["test_acc"] == ref["test_acc"]),
        }
    gd = fits["gradient descent"]
    # Gradient descent stopped by --max-steps rather than --gtol: on nearly separable data
    # the optimum lies far out, where the loss is flat and the Hessian ill conditioned, and
    # steps of size 1/L need about kappa ln(1/tol) of them. That is slow, not wrong (the
    # other fits use the same adgraph gradient), so it is reported and not counted.
    gd_capped = gd["grad_norm"] > args.gtol
    if gd_capped and "gradient descent" in checks:
        checks["gradient descent"]["reached_gtol"] = False
    counted = {k: c for k, c in checks.items() if not (gd_capped and k == "gradient descent")}
    ok = all(all(c.values()) for c in counted.values())
    label = "Every fit" if not gd_capped else "Every fit but gradient descent"
    print(
        f"\n{label} reaches {ref_name}'s loss to {LOSS_TOL:g} and its accuracy: "
        f"{'yes' if ok else 'NO -- ' + repr(counted)}"
    )
    kappa = None
    if gd_capped:
        h_eig = np.linalg.eigvalsh(np.asarray(ad.hessian(loss)(ref["theta"])))
        kappa = L / h_eig[0] if h_eig[0] > 0 else math.inf
        why = (
            " -- the classes nearly separate and the optimum lies far out, where the loss is flat"
            if kappa > 1e4
            else ""
        )
        print(
            f"Gradient descent stopped at its cap of {args.max_steps} steps with |grad| = "
            f"{gd['grad_norm']:.1e} > --gtol {args.gtol:g}, {gd['loss'] - ref['loss']:.2e} above "
            f"{ref_name}'s loss: at the optimum the Hessian's condition number (against L) is "
            f"about {kappa:.2g}, so steps of size 1/L need of the order of kappa ln(1/gtol) "
            f"steps{why}. Not counted as a failure; raise --max-steps"
            f"{', or pass --l2 LAMBDA for a better conditioned problem' if why else ''}. "
            f"Newton needed {fits['Newton']['steps']} steps."
        )
    else:
        print(
            f"Gradient descent needed {gd['steps']} steps of size 1/L to bring |grad| to "
            f"{gd['grad_norm']:.1e}; Newton needed {fits['Newton']['steps']} steps (each "
            f"solving a {d + 1}x{d + 1} system with the Hessian from forward-over-reverse)."
        )

    Figure = figure_or_none(args.no_plot)
    figures = []
    if Figure is not None:
        figures.append(str(draw(Figure, out, Xt, yt, w_true, b_true, fits, ref["loss"])))

    write_summary(
        out,
        {
            "n_train": n,
            "n_test": m,
            "d": d,
            "noise": args.noise,
            "seed": args.seed,
            "l2": args.l2,
            "lr": lr,
            "reference": ref_name,
            "separable": False,
            "w_true": w_true,
            "b_true": b_true,
            "loss_true": float(loss(true_theta)),
            "fits": {
                k: {kk: vv for kk, vv in v.items() if kk != "history"} for k, v in fits.items()
            },
            "checks": checks,
            "gd_stopped_at_max_steps": gd_capped,
            "gd_condition_number": kappa,
            "ok": ok,
            "figures": figures,
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
