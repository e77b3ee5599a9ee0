r"""The computation graph of a bivariate quadratic, its derivatives, and one Newton step.

.. math:: f(x, y) = a x^2 + b x y + c y^2 + d x + e y + g

with coefficients chosen on the command line (``--coef A B C D E G``; default
``1 -1 1 -1 -1 0.5``, a bowl with its minimum at (1, 1)). The example

1. records ``f`` at the point ``--at X Y`` (default (2, -1)) as a directed acyclic graph
   (``adgraph.trace``) and prints its evaluation traces: the forward (primal) trace in
   topological order, the tangent trace for the direction (1, 0) and the adjoint trace of the
   reverse sweep (inputs ``x1 = x``, ``x2 = y``; the tables call the output ``y``);
2. computes the gradient by reverse mode (``ad.grad``) and the Hessian by forward-over-reverse
   (``ad.hessian`` = ``jacfwd(jacrev(f))``);
3. takes one Newton step :math:`p_1 = p_0 - H^{-1} \nabla f(p_0)` -- exact for a quadratic, so
   :math:`p_1` is the stationary point and :math:`\nabla f(p_1) = 0`;
4. classifies the stationary point from the Hessian's eigenvalues: minimum (both > 0),
   maximum (both < 0), saddle (opposite signs) or degenerate (one is zero: no isolated
   stationary point, and no Newton step);
5. checks every number against the closed form: :math:`\nabla f = (2ax + by + d,\ bx + 2cy
   + e)`, :math:`H = \begin{pmatrix} 2a & b \\ b & 2c\end{pmatrix}`, eigenvalues
   :math:`(a + c) \pm \sqrt{(a - c)^2 + b^2}`, stationary point
   :math:`\big((be - 2cd)/\Delta,\ (bd - 2ae)/\Delta\big)` with :math:`\Delta = 4ac - b^2`,
   and :math:`f^* = g + (d x^* + e y^*)/2`;
6. draws the contour lines with the gradient field, the Newton step and the stationary point
   (``quadratic_contour.png``) and the computation graph (``quadratic_graph.png``; also as
   Graphviz DOT text, ``quadratic_graph.dot``, and as ``quadratic_graph.svg`` when Graphviz's
   ``dot`` program is installed).

Run it with ``adgraph examples run quadratic [--coef A B C D E G] [--at X Y]``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import adgraph as ad

from ._common import (
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    save_figure,
    write_summary,
)

DESCRIPTION = "DAG of a bivariate quadratic: traces, gradient and Hessian by AD, one Newton step"

DEFAULT_COEF = (1.0, -1.0, 1.0, -1.0, -1.0, 0.5)
DEFAULT_AT = (2.0, -1.0)
NAMES = ("a", "b", "c", "d", "e", "g")


def poly_str(coef, unicode: bool = False) -> str:
    """``"x^2 - x y + y^2 - x - y + 0.5"`` for the coefficients (zero terms left out)."""
    sq = "²" if unicode else "^2"
    terms = [f"x{sq}", "x y" if not unicode else "xy", f"y{sq}", "x", "y", ""]
    out = ""
    for k, t in zip(coef, terms, strict=True):
        if k == 0:
            continue
        mag = abs(k)
        body = t if (mag == 1 and t) else (f"{mag:g} {t}".strip() if not unicode else f"{mag:g}{t}")
        if not out:
            out = ("-" if k < 0 else "") + body
        else:
            out += (" - " if k < 0 else " + ") + body
    return out or "0"


def make_quadratic(a, b, c, d, e, g):
    """``f(x, y) = a x^2 + b x y + c y^2 + d x + e y + g`` (coefficients as Python floats)."""
    a, b, c, d, e, g = (float(v) for v in (a, b, c, d, e, g))

    def f(x, y):
        return a * x**2 + b * x * y + c * y**2 + d * x + e * y + g

    return f


# ------------------------------------------------------------------ closed forms
def closed_form(coef, at):
    """Every quantity the example computes, from the formulas (no differentiation)."""
    a, b, c, d, e, g = coef
    x, y = at
    disc = 4 * a * c - b * b
    half_gap = math.hypot(a - c, b)
    out = {
        "f": a * x * x + b * x * y + c * y * y + d * x + e * y + g,
        "grad": [2 * a * x + b * y + d, b * x + 2 * c * y + e],
        "hessian": [[2 * a, b], [b, 2 * c]],
        "eigenvalues": [a + c - half_gap, a + c + half_gap],
        "det": disc,
        "kind": classify_closed_form(coef),
    }
    if disc != 0:
        xs, ys = (b * e - 2 * c * d) / disc, (b * d - 2 * a * e) / disc
        out["stationary"] = [xs, ys]
        out["f_stationary"] = g + (d * xs + e * ys) / 2
    else:
        out["stationary"] = None
        out["f_stationary"] = None
    return out


def classify_closed_form(coef) -> str:
    r"""From the sign of :math:`\Delta = 4ac - b^2` and of :math:`a + c` (= half the trace).

    Degenerate when the smaller eigenvalue, :math:`\Delta / \lambda_{big}` (the product of
    the two is :math:`\Delta`), is within 1e-12 of the larger one in magnitude: the rule
    :func:`classify` applies to the eigenvalues of adgraph's Hessian."""
    a, b, c = coef[:3]
    disc = 4 * a * c - b * b
    big = abs(a + c) + math.hypot(a - c, b)
    if big == 0 or abs(disc) <= 1e-12 * big * big:
        return "degenerate"
    if disc < 0:
        return "saddle"
    return "minimum" if a + c > 0 else "maximum"


def classify(eigenvalues, tol: float = 1e-12) -> str:
    """Minimum, maximum, saddle or degenerate from the two Hessian eigenvalues.

    An eigenvalue within ``tol`` times the largest magnitude counts as zero (degenerate).
    """
    lo, hi = sorted(float(v) for v in eigenvalues)
    scale = max(abs(lo), abs(hi))
    if scale == 0 or min(abs(lo), abs(hi)) <= tol * scale:
        return "degenerate"
    if lo > 0:
        return "minimum"
    if hi < 0:
        return "maximum"
    return "saddle"


# ------------------------------------------------------------------ derivatives by AD
def analyse(coef, at):
    """Value, gradient, Hessian, Newton step and classification by adgraph."""
    f = make_quadratic(*coef)
    x0, y0 = float(at[0]), float(at[1])
    value = float(f(x0, y0))
    gx, gy = ad.grad(f, argnums=(0, 1))(x0, y0)
    grad = np.array([float(gx), float(gy)])
    H_tree = ad.hessian(f, argnums=(0, 1))(x0, y0)  # forward-over-reverse
    H = np.array([[float(H_tree[i][j]) for j in range(2)] for i in range(2)])
    eig, vecs = np.linalg.eigh(H)
    kind = classify(eig)
    res = {
        "f": value,
        "grad": grad,
        "hessian": H,
        "eigenvalues": eig,
        "eigenvectors": vecs,
        "kind": kind,
        "newton": None,
        "grad_at_newton": None,
        "f_newton": None,
    }
    if kind != "degenerate":
        step = np.linalg.solve(H, grad)
        p1 = np.array([x0, y0]) - step
        g1 = ad.grad(f, argnums=(0, 1))(float(p1[0]), float(p1[1]))
        res["newton"] = p1
        res["grad_at_newton"] = np.array([float(v) for v in g1])
        res["f_newton"] = float(f(float(p1[0]), float(p1[1])))
    return res


EPS = float(np.finfo(float).eps)


def tolerances(coef, at, cf) -> dict:
    r"""Round-off bounds for the differences :func:`compare` reports, by quantity.

    Each bound is a small multiple of machine epsilon times the magnitude of the terms that
    make the quantity up -- ``|a| x^2 + |b x y| + ...`` for ``f`` -- so that coefficients and
    points of very different sizes are judged fairly. The Newton point carries the
    Hessian's condition number :math:`\kappa = |\lambda|_{max}/|\lambda|_{min}` (both
    the solve and the closed form's :math:`4ac - b^2` lose that many digits); ``f`` at the
    Newton point differs from :math:`f^*` by :math:`\frac12 \delta^T H \delta` for a
    Newton-point error :math:`\delta`, and the gradient there by :math:`H \delta`.
    """
    a, b, c, d, e, g = (abs(float(v)) for v in coef)

    def f_terms(x, y):
        return a * x * x + b * x * y + c * y * y + d * x + e * y + g

    def g_terms(x, y):
        return max(2 * a * x + b * y + d, b * x + 2 * c * y + e)

    x, y = abs(at[0]), abs(at[1])
    h = 2 * a + 2 * b + 2 * c
    tol = {
        "f": 16 * EPS * f_terms(x, y),
        "grad": 16 * EPS * g_terms(x, y),
        "hessian": 16 * EPS * h,
        "eigenvalues": 16 * EPS * h,
    }
    lam = sorted(abs(float(v)) for v in cf["eigenvalues"])
    if cf["stationary"] is not None and lam[0] > 0:
        kappa = lam[1] / lam[0]
        xs, ys = abs(cf["stationary"][0]), abs(cf["stationary"][1])
        size = max(x, y) + max(xs, ys) + g_terms(x, y) / lam[0]
        tp = 64 * EPS * kappa * size
        tol["newton"] = tp
        tol["f_newton"] = lam[1] * tp * tp + (d + e) * tp + 16 * EPS * f_terms(xs + tp, ys + tp)
        tol["grad_at_newton"] = 2 * lam[1] * tp + 16 * EPS * g_terms(xs + tp, ys + tp)
    return tol


def compare(ad_res, cf, tol=None) -> list:
    """Rows (quantity, adgraph, closed form, |difference|, round-off bound): the bound from
    ``tol`` (:func:`tolerances`), None where none is given."""
    rows = []
    tol = tol or {}
    keys = iter(
        ["f", "grad", "grad"]
        + ["hessian"] * 4
        + ["eigenvalues"] * 2
        + ["newton", "newton", "f_newton", "grad_at_newton"]
    )

    def add(name, mine, ref):
        diff = None if mine is None or ref is None else abs(float(mine) - float(ref))
        rows.append((name, mine, ref, diff, tol.get(next(keys))))

    add("f(x0, y0)", ad_res["f"], cf["f"])
    add("df/dx", ad_res["grad"][0], cf["grad"][0])
    add("df/dy", ad_res["grad"][1], cf["grad"][1])
    for i, j, lab in ((0, 0, "xx"), (0, 1, "xy"), (1, 0, "yx"), (1, 1, "yy")):
        add(f"H_{lab}", ad_res["hessian"][i, j], cf["hessian"][i][j])
    add("eigenvalue 1", ad_res["eigenvalues"][0], cf["eigenvalues"][0])
    add("eigenvalue 2", ad_res["eigenvalues"][1], cf["eigenvalues"][1])
    p1, ps = ad_res["newton"], cf["stationary"]
    add("Newton point x = x*", None if p1 is None else p1[0], None if ps is None else ps[0])
    add("Newton point y = y*", None if p1 is None else p1[1], None if ps is None else ps[1])
    add("f(Newton point) = f*", ad_res["f_newton"], cf["f_stationary"])
    g1 = ad_res["grad_at_newton"]
    add(
        "|grad f(Newton point)|",
        None if g1 is None else float(np.linalg.norm(g1)),
        0.0 if ps else None,
    )
    return rows


# ------------------------------------------------------------------ the graph and its traces
_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}


def record_graph(f, at):
    """The computation graph of ``f`` at ``at`` (``adgraph.trace``), and one row per node in
    topological order: name, definition, value, tangent along (1, 0), adjoint of f."""
    from adgraph.graph import Node

    # The tables call the output y (the article's convention), so the inputs are x1, x2.
    graph = ad.trace(f, float(at[0]), float(at[1]), names=("x1", "x2"))
    labels = {n: f"v{k}" for n, k in graph.labels().items()}
    tangents = graph.tangents(seed=(1.0, 0.0))
    adjoints = graph.adjoints()
    outputs = {o for o in graph.outputs if isinstance(o, Node)}

    def arg(i):
        if isinstance(i, Node):
            return labels[i]
        return f"{float(i.value):g}" if i.shape == () else str(i)

    rows = []
    for node in graph.toposort():
        args = [arg(i) for i in node.inputs]
        if node.is_input:
            expr = node.name or labels[node]
        elif node.op in _INFIX and len(args) == 2:
            expr = f" {_INFIX[node.op]} ".join(args)
        elif node.op == "integer_pow":
            expr = f"{args[0]} ** {node.params['n']}"
        else:
            expr = f"{node.op}({', '.join(args)})"
        t, a = tangents.get(node), adjoints.get(node)
        rows.append(
            {
                "name": labels[node],
                "op": "input" if node.is_input else node.op,
                "expr": expr,
                "value": float(node.value),
                "tangent": None if t is None else float(t),
                "adjoint": 0.0 if a is None else float(a),
                "parents": [labels[i] for i in node.inputs if isinstance(i, Node)],
                "output": node in outputs,
            }
        )
    return graph, rows


def save_graph_text(graph, out):
    """The picture as Graphviz DOT text (always) and SVG (when Graphviz's ``dot`` exists)."""
    from adgraph.graph import render

    paths = [render.save(graph, out / "quadratic_graph.dot", tangents=(1.0, 0.0), adjoints=True)]
    if render.graphviz_available():
        paths.append(
            render.save(graph, out / "quadratic_graph.svg", tangents=(1.0, 0.0), adjoints=True)
        )
    for p in paths:
        print(f"saved {p}")
    return paths


# ------------------------------------------------------------------ figures
def draw_contour(Figure, coef, at, res, out, grid: int):
    f = make_quadratic(*coef)
    center = np.array(at, dtype=float)
    if res["newton"] is not None:
        center = (center + res["newton"]) / 2
        span = max(2.0, 1.4 * float(np.linalg.norm(np.array(at) - res["newton"])))
    else:
        span = 3.0
    xs = np.linspace(center[0] - span, center[0] + span, grid)
    ys = np.linspace(center[1] - span, center[1] + span, grid)
    XX, YY = np.meshgrid(xs, ys)
    ZZ = np.asarray(f(XX, YY))
    # The gradient field on a coarser grid: one vmapped reverse pass over all the points.
    q = max(grid // 3, 5)
    qx, qy = np.meshgrid(np.linspace(xs[0], xs[-1], q), np.linspace(ys[0], ys[-1], q))
    gx, gy = ad.vmap(ad.grad(f, argnums=(0, 1)))(qx.ravel(), qy.ravel())
    fig = Figure(figsize=(6.4, 5.6))
    ax = fig.subplots()
    cs = ax.contour(XX, YY, ZZ, levels=20, cmap="viridis", linewidths=0.8)
    ax.clabel(cs, fontsize=6, fmt="%.2g")
    ax.quiver(qx, qy, np.asarray(gx), np.asarray(gy), color="0.45", angles="xy", width=0.003)
    ax.plot(*at, "o", color="tab:blue", label=f"start ({at[0]:g}, {at[1]:g})")
    if res["newton"] is not None:
        p1 = res["newton"]
        ax.annotate(
            "", xy=p1, xytext=at, arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.6}
        )
        ax.plot(*p1, "*", color="tab:red", ms=14, label=f"{res['kind']} ({p1[0]:.4g}, {p1[1]:.4g})")
        for lam, vec in zip(res["eigenvalues"], res["eigenvectors"].T, strict=True):
            seg = np.stack([p1 - 0.5 * span * vec, p1 + 0.5 * span * vec])
            ax.plot(seg[:, 0], seg[:, 1], "--", lw=0.8, color="tab:red", alpha=0.6)
            ax.text(*(p1 + 0.52 * span * vec), f"λ={lam:.3g}", fontsize=7, color="tab:red")
    ax.set_title(
        f"f(x, y) = {poly_str(coef, unicode=True)}\n"
        "contours, gradient field (arrows), one Newton step",
        fontsize=9,
    )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper left")
    return save_figure(fig, out, "quadratic_contour.png")


def draw_graph(graph, out):
    """The DAG drawn with matplotlib: the boxes and notation of the evaluation traces
    (``v₁ = v₋₁ v₀``, value, tangent along (1, 0), adjoint), in layers from the inputs at
    the left, no edge through a box (:mod:`adgraph.graph.mpl`)."""
    from adgraph.graph import mpl

    path = Path(out) / "quadratic_graph.png"
    path.write_bytes(mpl.render_graph(graph, "png", tangents=(1.0, 0.0), adjoints=True))
    print(f"saved {path}")
    return path


# ------------------------------------------------------------------ main
MAX_MAGNITUDE = 1e75
"""Largest coefficient or coordinate accepted: the terms of ``f`` (``a x^2``: at most
1e225), its gradient and the squares the checks take (at most 1e300) stay inside float64's
range."""


def _check_options(parser, args) -> None:
    """Refuse values the example cannot compute with: one line, exit status 2."""
    for opt, values, names in (("--coef", args.coef, NAMES), ("--at", args.at, ("x", "y"))):
        for name, v in zip(names, values, strict=True):
            if not math.isfinite(v):
                parser.error(f"{opt}: {name} = {v} is not a finite number")
            if abs(v) > MAX_MAGNITUDE:
                parser.error(
                    f"{opt}: {name} = {v:g} is too large: values must lie within "
                    f"+-{MAX_MAGNITUDE:g}, or f's terms (such as a x^2) and their squares "
                    "overflow float64"
                )
    if not 5 <= args.grid <= 2001:
        parser.error(f"--grid must be between 5 and 2001 points per axis, got {args.grid}")


def main(argv=None) -> int:
    parser = make_parser("quadratic", DESCRIPTION)
    parser.add_argument(
        "--coef",
        nargs=6,
        type=float,
        metavar=("A", "B", "C", "D", "E", "G"),
        default=list(DEFAULT_COEF),
        help="coefficients of a x^2 + b x y + c y^2 + d x + e y + g",
    )
    parser.add_argument(
        "--at",
        nargs=2,
        type=float,
        metavar=("X", "Y"),
        default=list(DEFAULT_AT),
        help="the point of the traces and the Newton step's start",
    )
    parser.add_argument("--grid", type=int, default=61, help="contour grid points per axis")
    parser.add_argument("--small", action="store_true", help="a coarse grid (for quick tests)")
    args = parser.parse_args(argv)
    _check_options(parser, args)
    coef = tuple(args.coef)
    at = (float(args.at[0]), float(args.at[1]))
    grid = 21 if args.small else args.grid
    out = output_dir(args.out, "quadratic")

    print(f"f(x, y) = {poly_str(coef)}")
    print(f"at (x0, y0) = ({at[0]:g}, {at[1]:g}); figures and summary.json go to {out}")

    f = make_quadratic(*coef)
    graph, rows = record_graph(f, at)
    print()
    print(graph.tables(seed=(1.0, 0.0), digits=6))
    print(
        "(inputs x1 = x, x2 = y; output y = f. Tangent trace: the direction (dx, dy) = (1, 0), "
        "so its output is df/dx; adjoint trace: the reverse sweep from f, whose input adjoints "
        "are the gradient)"
    )

    res = analyse(coef, at)
    cf = closed_form(coef, at)
    tol = tolerances(coef, at, cf)
    # A difference passes within 1e-9 of the squared scale of the data, or within its
    # round-off bound (which matters for data of very different sizes).
    scale = max(1.0, max(abs(v) for v in coef), max(abs(v) for v in at)) ** 2

    def allowed(bound):
        return max(1e-9 * scale, bound or 0.0)

    def within(diff, bound):
        return diff is None or diff <= allowed(bound)

    table = [
        (name, mine, ref, diff, None if diff is None else allowed(bound))
        for name, mine, ref, diff, bound in compare(res, cf, tol)
    ]

    worst = max((r[3] for r in table if r[3] is not None), default=0.0)
    trace_grad = [r["adjoint"] for r in rows if r["op"] == "input"]
    trace_dfdx = next(r["tangent"] for r in rows if r["output"])
    trace_err = max(
        float(np.max(np.abs(np.array(trace_grad) - np.array(cf["grad"])))),
        abs(trace_dfdx - cf["grad"][0]),
        abs(next(r["value"] for r in rows if r["output"]) - cf["f"]),
    )
    ok = (
        all(within(r[3], r[4]) for r in table)
        and within(trace_err, max(tol["f"], tol["grad"]))
        and res["kind"] == cf["kind"]
    )

    print()
    print_table(
        table + [("classification", res["kind"], cf["kind"], None, None)],
        ("quantity", "adgraph", "closed form", "|difference|", "allowed"),
        title="Derivatives by adgraph (grad: reverse mode; Hessian: forward-over-reverse) "
        "against the closed form",
        digits=12,
    )
    if res["kind"] == "degenerate":
        print(
            "The Hessian is singular (4ac - b^2 = 0): there is no isolated stationary point, "
            "so no Newton step is taken."
        )
    else:
        print(
            f"One Newton step from ({at[0]:g}, {at[1]:g}) lands on the stationary point "
            f"({res['newton'][0]:.12g}, {res['newton'][1]:.12g}), a {res['kind']}: the "
            f"Hessian's eigenvalues are {res['eigenvalues'][0]:.6g} and "
            f"{res['eigenvalues'][1]:.6g}."
        )
    print(
        f"largest difference from the closed form: {max(worst, trace_err):.3g} "
        f"({'agrees' if ok else 'DISAGREES'})"
    )

    Figure = figure_or_none(args.no_plot)
    figures = [str(p) for p in save_graph_text(graph, out)]
    if Figure is not None:
        figures.append(str(draw_contour(Figure, coef, at, res, out, grid)))
        figures.append(str(draw_graph(graph, out)))

    write_summary(
        out,
        {
            "coef": dict(zip(NAMES, coef, strict=True)),
            "at": at,
            "adgraph": {k: v for k, v in res.items() if k != "eigenvectors"},
            "closed_form": cf,
            "trace": rows,
            "max_abs_difference": max(worst, trace_err),
            "ok": ok,
            "figures": figures,
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
