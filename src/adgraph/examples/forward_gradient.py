r"""Hyperplane search without backpropagation: forward-gradient descent.

Baydin, Pearlmutter, Syme, Wood and Torr (2022), "Gradients without Backpropagation". Each
step draws tangents :math:`v_j \sim N(0, I_D)`; one forward-mode pass (``ad.jvp``, the
:math:`k` tangents batched with ``vmap``) gives the loss and the directional derivatives
:math:`\nabla f \cdot v_j`, and the step uses :math:`\bar g = \frac1k \sum_j (\nabla f \cdot
v_j) v_j`, an unbiased estimate of the gradient with
:math:`E|\bar g|^2 = (1 + (D+1)/k)\,|\nabla f|^2` (derivation in
:mod:`adgraph.optim.forward`). The optimiser is
:func:`adgraph.optim.forward_gradient`; this example measures what it buys.

Four parts:

1. **The paper's test functions.** Beale and Rosenbrock, trajectories of forward-gradient
   descent (one tangent, three seeds) against gradient descent with the same step size and
   step count, over contour lines (``fg_test_functions.png``).
2. **The variance law**, estimated from many tangents on the first hyperplane problem.
3. **The hyperplane search.** Logistic regression (mean cross-entropy from logits) on
   :func:`adgraph.datasets.make_classification` data at D = d + 1 = 21 and 1001 parameters,
   by gradient descent (reverse mode), forward gradients with k = 1, 4 and D tangents, and
   central finite differences; for each, the iterations, passes over the data, and wall time
   to reach the optimum's loss + 1e-2, 1e-3, 1e-4, and the final accuracy
   (``fg_hyperplane.png``). Step sizes come from the curvature bound
   :math:`H \preceq A^T A/(4n)` (:math:`A = [X\ 1]`): gradient descent and finite differences
   use :math:`1/L`, forward gradients :math:`1/((1 + 1/k)L + \operatorname{tr}H/k)`, the
   largest step with a guaranteed expected decrease. The optimum is found beforehand to
   :math:`|\nabla f| < 10^{-9}`. A pass over the data is one product of the n-by-d feature
   matrix with one vector (n d multiply-adds): gradient descent costs 2 per step (the forward
   product and the backward one), forward gradients 1 + k (the primal and k tangents; batched,
   they run as one matrix-matrix product, which is why their wall time grows more slowly than
   their passes), finite differences 2D + 1. Each method runs until it reaches all three
   targets or its time runs out (``--budget``; gradient descent, the reference, gets four
   times as long); a target not reached is predicted (``~`` in the table) from the step
   sizes: gradient descent's steps times :math:`\text{lr}_{GD}/\text{lr}`, checked against
   the measurement wherever a method did get there. Above D = 200 (``--fd-max-dim``) finite
   differences are not run: one step is timed on 128 coordinates and scaled.
4. **Memory.** Peak memory (``tracemalloc``) of one step on the D = 1001 problem: the primal
   alone, reverse mode, forward gradients; then the same on deep tanh networks over the same
   features, where reverse mode must keep every layer's activations for its backward sweep
   and forward mode need not.

What the numbers show (one run of the defaults on a busy 2-core x86-64 machine; each run
prints its own). The variance law holds: at D = 21 the sampled :math:`E|g|^2/|\nabla f|^2` was
22.2, 6.44 and 2.01 for k = 1, 4 and 21 tangents, against 23, 6.5 and 2.05 (within two
standard errors). It decides the rest. To decrease the loss in expectation, forward-gradient
descent needs a step about :math:`(1 + 1/k) + \operatorname{tr}H/(kL)` times smaller than
gradient descent's, hence that many times more steps; this rule predicted the measured counts
at D = 21 within about 10% (gradient descent: 16 steps to the optimum + 1e-4; forward
gradients: 272, 84 and 30 steps, predicted 248, 74 and 28). At D = 21 every method gets there
in a fraction of a second -- forward gradients are a workable optimiser without
backpropagation -- but none used fewer passes over the data than gradient descent (544, 420
and 660 against 32). At D = 1001 the gap is decisive: gradient descent reached + 1e-4 in 128
steps (256 passes, 1.4 s); for one and four tangents the rule predicts about 50,000 and 12,700
steps (their 3 s took the gap only from 0.34 to 0.3), and for D tangents 179 steps of 1002
passes each, no better than central differences at 2003 passes a step. Memory: logistic
regression is a one-layer model, so reverse mode keeps only a few length-n vectors -- peaks of
0.13 MB (primal), 0.17 MB (reverse) and 0.30 MB (forward gradient, k = 1) above the 32 MB of
data: here the forward step is no smaller. On tanh networks over the same features, reverse
mode's peak grew from 4.1 MB (1 layer) to 69 MB (64 layers) while the forward-gradient step
stayed between 5.4 and 8.0 MB (2.6x the primal's): memory that does not grow with depth, not
speed, is what forward gradients offer on a CPU.

Run it with ``adgraph examples run forward-gradient [--dims 20 1000] [--budget S]``;
``--small`` runs a reduced version in a few seconds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ._common import (
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    save_figure,
    stage,
    write_summary,
)
from ._forward_gradient_runs import (  # the measurements; this module reports them
    TARGETS,
    TEST_FUNCTIONS,
    Problem,
    make_methods,
    memory_depth,
    memory_logistic,
    run_method,
    run_test_functions,
    time_fd_partial,
    variance_law,
)

DESCRIPTION = "Forward-gradient descent (Baydin et al. 2022) vs reverse mode and finite differences"


# ------------------------------------------------------------------ figures
def draw_test_functions(Figure, out, tf):
    fig = Figure(figsize=(11, 4.8))
    axes = fig.subplots(1, 2)
    for ax, (name, r) in zip(axes, tf.items(), strict=True):
        f = TEST_FUNCTIONS[name][0]
        (x0, x1), (y0, y1) = r["window"]
        XX, YY = np.meshgrid(np.linspace(x0, x1, 240), np.linspace(y0, y1, 240))
        ZZ = np.asarray(f(np.stack([XX, YY])))
        levels = np.logspace(
            math.log10(max(float(ZZ.min()), 1e-3)), math.log10(max(float(ZZ.max()), 1.0)), 30
        )
        ax.contour(XX, YY, ZZ, levels=levels, cmap="viridis", linewidths=0.6, alpha=0.7)
        colors = {"GD": "tab:blue"}
        fg_colors = iter(["tab:red", "tab:orange", "tab:pink", "tab:brown"])
        for run, path in r["paths"].items():
            c = colors.get(run) or next(fg_colors)
            ax.plot(
                path[:, 0],
                path[:, 1],
                "-",
                lw=1.4 if run == "GD" else 0.9,
                color=c,
                label=run if run == "GD" else f"FG k=1, {run[3:]}",
                alpha=0.9,
            )
        ax.plot(*r["start"], "ko", ms=5)
        ax.plot(*r["minimiser"], "*", color="gold", mec="k", ms=14)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{name}: {r['steps']} steps of size {r['lr']:g}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    return save_figure(fig, out, "fg_test_functions.png")


def draw_hyperplane(Figure, out, bench):
    """Loss gap against passes over the data and against wall time, one row per D; hollow
    markers: predicted (passes, time) for targets not reached in the time given."""
    fig = Figure(figsize=(11, 4.3 * len(bench)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(bench), 2))
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for row, (D, b) in zip(axes, bench.items(), strict=True):
        for c, (name, r) in zip(colors, b["runs"].items(), strict=False):
            gaps = np.maximum(r["gaps"], 1e-12)
            passes = np.maximum(np.arange(len(gaps)) * r["passes_per_step"], 1)
            times = np.maximum(r["times"], 1e-4)
            row[0].loglog(
                passes, gaps, label=name, lw=1.1, color=c, marker="." if len(gaps) < 3 else None
            )
            row[1].loglog(
                times, gaps, label=name, lw=1.1, color=c, marker="." if len(gaps) < 3 else None
            )
            for tol in TARGETS:
                p = r["predicted"][tol]
                if r["reached"][tol] is None and p is not None:
                    row[0].plot(max(p["passes"], 1), tol, "o", mfc="none", mec=c, ms=7)
                    row[1].plot(max(p["seconds"], 1e-4), tol, "o", mfc="none", mec=c, ms=7)
        for ax in row:
            for tol in TARGETS:
                ax.axhline(tol, color="k", lw=0.5, ls=":")
            ax.set_ylabel("loss - optimum")
            ax.legend(fontsize=7)
        row[0].set_xlabel("passes over the data (o: predicted, not reached in the time given)")
        row[1].set_xlabel("wall time, s (o: predicted)")
        row[0].set_title(
            f"logistic regression, D = {D} parameters: loss gap per pass over the data",
            fontsize=9,
        )
        row[1].set_title(
            f"logistic regression, D = {D} parameters: loss gap against wall time", fontsize=9
        )
    return save_figure(fig, out, "fg_hyperplane.png")


# ------------------------------------------------------------------ predictions
def add_predictions(b) -> None:
    """For each method and target it did not reach in its time, the steps it would need.

    The expected decrease per step is proportional to the step size (module docstring), so a
    method with step size ``lr`` needs about ``lr_GD / lr`` times gradient descent's steps;
    finite differences take gradient descent's steps (same step, gradient error O(h^2)).
    Time: the steps times the measured seconds per step. Checked against the measurements
    wherever a method did reach the target (the smaller dimension, normally).
    """
    runs = b["runs"]
    gd = runs["GD (reverse)"]
    lr_gd = b["lrs"]["GD (reverse)"]
    for name, r in runs.items():
        per_step = r["seconds"] / (r["iters"] + 1)
        pred = {}
        for tol in TARGETS:
            ref = gd["reached"][tol]
            if ref is None:
                pred[tol] = None
                continue
            steps = math.ceil(ref["iters"] * lr_gd / b["lrs"][name])
            pred[tol] = {
                "iters": steps,
                "passes": steps * r["passes_per_step"],
                "seconds": steps * per_step,
            }
        r["predicted"] = pred
        r["seconds_per_step"] = per_step


# ------------------------------------------------------------------ the summary
def plain_summary(bench, var_rows, mem_rows, depth_rows, mem_D=None) -> str:
    lines = []
    for D, b in bench.items():
        runs = b["runs"]
        gd = runs["GD (reverse)"]
        g4 = gd["reached"][1e-4]
        if g4 is None:
            lines.append(f"D = {D}: gradient descent did not reach +1e-4 in its time.")
            continue
        head = (
            f"D = {D}: gradient descent reached +1e-4 in {g4['iters']} steps "
            f"({g4['passes']} passes, {g4['seconds']:.2f} s)."
        )
        parts = []
        for name, r in runs.items():
            if name == "GD (reverse)":
                continue
            m, p = r["reached"][1e-4], r["predicted"][1e-4]
            if r.get("timed_coords"):
                parts.append(
                    f"{name}: not run (one step takes about {r['seconds']:.1f} s, timed on "
                    f"{r['timed_coords']} of the {D} coordinates); predicted {p['iters']} steps, "
                    f"{p['passes']} passes, about {_fmt_seconds(p['seconds'])}"
                )
            elif m is not None:
                parts.append(
                    f"{name}: {m['iters']} steps, {m['passes']} passes, {m['seconds']:.2f} s "
                    f"(the step-size rule predicted {p['iters']} steps)"
                )
            else:
                parts.append(
                    f"{name}: not within its {r['seconds']:.1f} s (final gap "
                    f"{r['final_gap']:.1e}); predicted {p['iters']} steps, {p['passes']} passes, "
                    f"about {_fmt_seconds(p['seconds'])}"
                )
        lines.append(head + " To the same target -- " + "; ".join(parts) + ".")
    if var_rows:
        worst = max(abs(r[1] - r[3]) / r[3] for r in var_rows)
        zmax = max(abs(r[1] - r[3]) / r[2] for r in var_rows)
        lines.append(
            f"The variance law E|g|^2 = (1 + (D+1)/k)|grad f|^2 held within {100 * worst:.1f}% "
            f"(at most {zmax:.1f} standard errors): the noise of a forward gradient grows with D "
            "and shrinks only as 1/k, which is why one or four tangents need about D/k times "
            "gradient descent's steps, and D tangents cost as many passes as finite differences."
        )
    if mem_rows:
        primal, rev = mem_rows[0][1], mem_rows[1][1]
        fg1 = next(b for name, b, _ in mem_rows if name.endswith("k=1"))
        lines.append(
            f"Memory at D = {mem_D}: primal {primal / 1e6:.2f} MB, reverse mode "
            f"{rev / 1e6:.2f} MB, forward gradient k=1 {fg1 / 1e6:.2f} MB above the "
            f"{mem_rows[0][2] / 1e6:.1f} MB of data: logistic regression has one layer, so "
            "reverse mode has only a few length-n vectors to keep, and the forward step, which "
            "carries a tangent beside each value, is no smaller."
        )
    if depth_rows:
        d0, dl = depth_rows[0], depth_rows[-1]
        lines.append(
            f"On tanh networks ({d0[0]} -> {dl[0]} layers) reverse mode's peak grew "
            f"{d0[2] / 1e6:.1f} -> {dl[2] / 1e6:.1f} MB (it keeps every layer's activations "
            f"for the backward sweep) while the forward-gradient step stayed at "
            f"{d0[3] / 1e6:.1f} -> {dl[3] / 1e6:.1f} MB, {dl[3] / max(dl[1], 1):.1f}x the "
            "primal's: memory that does not grow with depth is what forward gradients offer."
        )
    return "\n".join(lines)


def _fmt_seconds(t: float) -> str:
    if t < 120:
        return f"{t:.1f} s"
    if t < 7200:
        return f"{t / 60:.0f} min"
    return f"{t / 3600:.1f} h"


# ------------------------------------------------------------------ main
def _cell(measured, predicted):
    if measured is not None:
        return f"{measured['iters']} ({measured['passes']}, {measured['seconds']:.2f}s)"
    if predicted is not None:
        return (
            f"~{predicted['iters']} (~{predicted['passes']}, ~{_fmt_seconds(predicted['seconds'])})"
        )
    return "-"


def _check_options(parser, args) -> None:
    """Refuse option values the example cannot run with: one line, exit status 2."""
    for name, values in (("--dims", args.dims), ("--tangents", args.tangents or [])):
        bad = [v for v in values if v < 1]
        if bad:
            parser.error(f"{name} values must be at least 1, got {bad[0]}")
    bad = [v for v in args.depths if v < 1]
    if bad:
        parser.error(f"--depths values must be at least 1, got {bad[0]}")
    for name, v, low in (
        ("--samples", args.samples, 2),
        ("--max-steps", args.max_steps, 1),
        ("--variance-samples", args.variance_samples, 2),
        ("--fd-max-dim", args.fd_max_dim, 0),
        ("--seed", args.seed, 0),
    ):
        if v is not None and v < low:
            parser.error(f"{name} must be at least {low}, got {v}")
    if not abs(args.correlation) < 1:
        parser.error(f"--correlation must lie strictly between -1 and 1, got {args.correlation:g}")
    for name, v in (("--signal", args.signal), ("--budget", args.budget)):
        if v is not None and not (math.isfinite(v) and v > 0):
            parser.error(f"{name} must be a finite number > 0, got {v:g}")


def main(argv=None) -> int:
    parser = make_parser("forward-gradient", DESCRIPTION)
    parser.add_argument(
        "--dims",
        type=int,
        nargs="+",
        default=[20, 1000],
        help="feature dimensions d of the hyperplane search (D = d + 1)",
    )
    parser.add_argument(
        "--samples", type=int, default=None, help="training samples (default: max(2000, 4d))"
    )
    parser.add_argument(
        "--correlation", type=float, default=0.2, help="AR(1) correlation of the features"
    )
    parser.add_argument(
        "--signal", type=float, default=2.0, help="standard deviation of the clean score x.w*"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds per method and dimension (default: 2 for d <= 100, 3 "
        "above; gradient descent gets 4x as the reference)",
    )
    parser.add_argument("--max-steps", type=int, default=100000, help="step cap per method")
    parser.add_argument(
        "--tangents", type=int, nargs="+", default=None, help="tangent counts k (default: 1 4 D)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and tangent seed")
    parser.add_argument(
        "--fd-max-dim",
        type=int,
        default=200,
        help="above this D, finite differences are timed on 128 coordinates "
        "and their steps predicted instead of run",
    )
    parser.add_argument(
        "--variance-samples",
        type=int,
        default=2000,
        help="Monte Carlo samples for the variance law",
    )
    parser.add_argument(
        "--depths",
        type=int,
        nargs="*",
        default=[1, 4, 16, 64],
        help="depths of the tanh networks of the memory comparison",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument(
        "--small",
        action="store_true",
        help="a quick run: d = 10 and 60, 600 samples, short budgets",
    )
    args = parser.parse_args(argv)
    _check_options(parser, args)
    steps_scale = 1.0
    if args.small:
        args.dims = [10, 60]
        args.samples = args.samples or 600
        args.budget = args.budget or 1.0
        args.variance_samples = min(args.variance_samples, 2000)
        args.depths = [1, 8]
        steps_scale = 0.25
    out = output_dir(args.out, "forward-gradient")
    print(f"figures and summary.json go to {out}")
    t_start = time.perf_counter()

    # 1. test functions
    stage("1/4 test functions: forward gradient against gradient descent")
    tf = run_test_functions(steps_scale)
    rows = []
    for name, r in tf.items():
        for run, v in r["rows"].items():
            rows.append((name, run, r["steps"], r["lr"], v["final"], v["distance"]))
    print_table(
        rows,
        ("function", "method", "steps", "step size", "final f", "distance to minimiser"),
        title="\n1. The paper's test functions: gradient descent vs forward gradient (k = 1), "
        "same step size and steps",
        formats={3: "g"},
    )

    # the hyperplane problems (the variance law uses the first)
    bench, problems = {}, {}
    for d in args.dims:
        n = args.samples or max(2000, 4 * d)
        prob = Problem(
            d,
            n,
            args.seed,
            n_test=max(n // 4, 200),
            correlation=args.correlation,
            signal=args.signal,
        )
        problems[prob.D] = prob
        ks = sorted({k for k in (args.tangents or [1, 4, prob.D]) if 1 <= k <= prob.D})
        budget = args.budget or (2.0 if d <= 100 else 3.0)
        methods = make_methods(prob, ks)
        runs = {}
        for name, (step, passes, _lr) in methods.items():
            if name == "central FD" and prob.D > args.fd_max_dim:
                runs[name] = time_fd_partial(prob)
                continue
            b_m = 4 * budget if name == "GD (reverse)" else budget
            runs[name] = run_method(
                step, prob, passes, b_m, args.max_steps, args.seed, f"D={prob.D} {name}"
            )
        bench[prob.D] = {
            "n": n,
            "d": d,
            "budget": budget,
            "loss_opt": prob.loss_opt,
            "grad_norm_opt": prob.grad_norm_opt,
            "L": prob.L,
            "trH": prob.trH,
            "runs": runs,
            "lrs": {name: lr for name, (_, _, lr) in methods.items()},
        }
        add_predictions(bench[prob.D])

    # 2. variance law on the first problem
    stage("2/4 variance law")
    first = problems[min(problems)]
    var_rows = variance_law(
        first, sorted({1, 4, first.D}), args.variance_samples, seed=args.seed + 1
    )
    print_table(
        [(k, est, se, law, (est - law) / se) for k, est, se, law in var_rows],
        ("k", "E|g|^2/|grad f|^2 (sampled)", "std. error", "1 + (D+1)/k", "z-score"),
        title=f"\n2. The variance law at D = {first.D} (theta = 0), {args.variance_samples} "
        "averaged estimates per k",
        formats={1: ".4f", 2: ".4f", 3: ".4f", 4: ".2f"},
    )

    # 3. the hyperplane search
    stage("3/4 hyperplane search")
    for D, b in bench.items():
        rows = []
        for name, r in b["runs"].items():
            label = name + (f" ({r['timed_coords']} coords timed)" if r.get("timed_coords") else "")
            rows.append(
                (
                    label,
                    r["passes_per_step"],
                    b["lrs"][name],
                    *(_cell(r["reached"][t], r["predicted"][t]) for t in TARGETS),
                    r["iters"],
                    r["seconds"],
                    r["final_gap"],
                    r["train_acc"],
                    r["test_acc"],
                )
            )
        print_table(
            rows,
            (
                "method",
                "passes/step",
                "step size",
                *(f"+{t:g}: steps (passes, time)" for t in TARGETS),
                "steps run",
                "wall s",
                "final gap",
                "train acc",
                "test acc",
            ),
            title=f"\n3. Hyperplane search, D = {D} (d = {b['d']}, n = {b['n']}), optimum loss "
            f"{b['loss_opt']:.8f} (|grad| {b['grad_norm_opt']:.1e}); {b['budget']:g} s "
            "per method (~: predicted from the step size, not reached in that time)",
            formats={2: ".4g", 7: ".2f", 8: ".2e", 9: ".4f", 10: ".4f"},
        )

    # 4. memory
    stage("4/4 memory")
    mem_rows, depth_rows = [], []
    if not args.no_memory:
        big = problems[max(problems)]
        raw = memory_logistic(big, sorted({1, 4, big.D}))
        data_bytes = big.X.nbytes
        print_table(
            [(name, b / 1e6, b / raw[0][1]) for name, b in raw],
            ("one step at theta", "peak MB", "x primal"),
            title=f"\n4. Peak memory above the data (tracemalloc), D = {big.D}, n = {big.n}; "
            f"X itself is {data_bytes / 1e6:.1f} MB",
            formats={1: ".3f", 2: ".2f"},
        )
        mem_rows = [(name, b, data_bytes) for name, b in raw]
        if args.depths:
            depth_rows = memory_depth(big, args.depths)
            print_table(
                [(dp, p / 1e6, r / 1e6, f / 1e6, r / p, f / p) for dp, p, r, f in depth_rows],
                (
                    "depth",
                    "primal MB",
                    "reverse MB",
                    "FG k=1 MB",
                    "reverse / primal",
                    "FG / primal",
                ),
                title="   the same on tanh networks of width 32 over these features",
                formats={1: ".2f", 2: ".2f", 3: ".2f", 4: ".1f", 5: ".1f"},
            )

    summary_text = plain_summary(
        bench, var_rows, mem_rows, depth_rows, mem_D=max(problems) if mem_rows else None
    )
    print("\nWhat the numbers show:")
    for line in summary_text.splitlines():
        print("  " + line)

    Figure = figure_or_none(args.no_plot)
    figures = []
    if Figure is not None:
        figures.append(str(draw_test_functions(Figure, out, tf)))
        figures.append(str(draw_hyperplane(Figure, out, bench)))
    total = time.perf_counter() - t_start
    print(f"total time {total:.1f} s")

    write_summary(
        out,
        {
            "test_functions": {
                name: {k: v for k, v in r.items() if k != "paths"} for name, r in tf.items()
            },
            "variance_law": [
                {"k": k, "estimate": e, "stderr": se, "law": w, "D": first.D}
                for k, e, se, w in var_rows
            ],
            "hyperplane": {
                str(D): {
                    **{k: v for k, v in b.items() if k != "runs"},
                    "runs": {
                        name: {kk: vv for kk, vv in r.items() if kk not in ("gaps", "times")}
                        | {
                            "first_gap": float(r["gaps"][0]),
                            "gaps_nonincreasing_fraction": float(np.mean(np.diff(r["gaps"]) <= 0))
                            if len(r["gaps"]) > 1
                            else 1.0,
                        }
                        for name, r in b["runs"].items()
                    },
                }
                for D, b in bench.items()
            },
            "memory_logistic": [{"what": n_, "bytes": b} for n_, b, _ in mem_rows],
            "memory_depth": [
                {"depth": dp, "primal": p, "reverse": r, "forward_gradient": f}
                for dp, p, r, f in depth_rows
            ],
            "summary": summary_text,
            "figures": figures,
            "seconds": total,
        },
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
