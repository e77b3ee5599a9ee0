r"""The computation graph of a bivariate quadratic, its derivatives, and one Newton step.

.. math:: f(x, y) = a x^2 + b x y + c y^2 + d x + e y + g

with coefficients chosen on the command line (``--coef A B C D E G``; default
``1 -1 1 -1 -1 0.5``, a bowl with its minimum at (1, 1)). The example

1. records ``f`` at the point ``--at X Y`` (default (2, -1)) as a directed acyclic graph and
   prints its evaluation traces: the forward (primal) trace in topological order, the tangent
   trace for the direction (1, 0) and the adjoint trace of the reverse sweep;
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
   (``quadratic_contour.png``) and the computation graph (``quadratic_graph.png``).

Run it with ``adgraph examples run quadratic [--coef A B C D E G] [--at X Y]``.
"""

from __future__ import annotations

import math

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
    """From the sign of :math:`\\Delta = 4ac - b^2` and of :math:`a + c` (= half the trace)."""
    a, b, c = coef[:3]
    disc = 4 * a * c - b * b
    scale = max(abs(a), abs(b), abs(c), 1e-300) ** 2
    if abs(disc) <= 1e-12 * scale:
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


def compare(ad_res, cf) -> list:
    """Rows (quantity, adgraph, closed form, |difference|) and the largest difference."""
    rows = []

    def add(name, mine, ref):
        diff = None if mine is None or ref is None else abs(float(mine) - float(ref))
        rows.append((name, mine, ref, diff))

    add("f(x0, y0)", ad_res["f"], cf["f"])
    add("df/dx", ad_res["grad"][0], cf["grad"][0])
    add("df/dy", ad_res["grad"][1], cf["grad"][1])
    for i, j, lab in ((0, 0, "xx"), (0, 1, "xy"), (1, 0, "yx"), (1, 1, "yy")):
        add(f"H_{lab}", ad_res["hessian"][i, j], cf["hessian"][i][j])
    add("eigenvalue 1", ad_res["eigenvalues"][0], cf["eigenvalues"][0])
    add("eigenvalue 2", ad_res["eigenvalues"][1], cf["eigenvalues"][1])
    p1, ps = ad_res["newton"], cf["stationary"]
    add("Newton x1 = x*", None if p1 is None else p1[0], None if ps is None else ps[0])
    add("Newton y1 = y*", None if p1 is None else p1[1], None if ps is None else ps[1])
    add("f(x1, y1) = f*", ad_res["f_newton"], cf["f_stationary"])
    g1 = ad_res["grad_at_newton"]
    add("|grad f(x1, y1)|", None if g1 is None else float(np.linalg.norm(g1)), 0.0 if ps else None)
    return rows


# ------------------------------------------------------------------ the graph and its traces
def graph_traces(f, at):
    """The evaluation traces of ``f`` at ``at``: a list of rows, one per node in topological
    order, and the edges, from adgraph's graph module."""
    return _traces_by_recording(f, at)


class _Rec:
    """A scalar that records the operations applied to it (used to draw and tabulate the
    graph). Values and local partial derivatives come from adgraph's own ``grad``."""

    def __init__(self, tape, op, parents, value, consts=()):
        self.tape, self.op, self.parents, self.value = tape, op, parents, value
        self.consts = consts
        self.index = len(tape)
        tape.append(self)

    def _bin(self, other, op, fn, reflected=False):
        if isinstance(other, _Rec):
            a, b = (other, self) if reflected else (self, other)
            return _Rec(self.tape, op, (a, b), fn(a.value, b.value))
        k = float(other)
        if reflected:
            return _Rec(self.tape, op, (self,), fn(k, self.value), consts=((0, k),))
        return _Rec(self.tape, op, (self,), fn(self.value, k), consts=((1, k),))

    def __add__(self, o):
        return self._bin(o, "add", lambda u, v: u + v)

    def __radd__(self, o):
        return self._bin(o, "add", lambda u, v: u + v, True)

    def __mul__(self, o):
        return self._bin(o, "mul", lambda u, v: u * v)

    def __rmul__(self, o):
        return self._bin(o, "mul", lambda u, v: u * v, True)

    def __pow__(self, o):
        return self._bin(o, "pow", lambda u, v: u**v)


def _traces_by_recording(f, at):
    tape: list = []
    xs = [_Rec(tape, "input", (), float(v)) for v in at]
    out = f(*xs)
    fns = {"add": lambda u, v: u + v, "mul": lambda u, v: u * v, "pow": lambda u, v: u**v}
    # local partials d node / d parent, by adgraph's reverse mode on the one operation
    partials = {}
    for n in tape:
        if n.op == "input":
            continue
        fn = fns[n.op]
        args = [None, None]
        for p_i, k in n.consts:
            args[p_i] = k
        slots = [i for i in range(2) if args[i] is None]
        for slot, p in zip(slots, n.parents, strict=True):
            args[slot] = p.value

        def call(*vs, _fn=fn, _args=tuple(args), _slots=tuple(slots)):
            full = list(_args)
            for s, v in zip(_slots, vs, strict=True):
                full[s] = v
            return _fn(*full)

        grads = ad.grad(call, argnums=tuple(range(len(slots))))(*[args[s] for s in slots])
        partials[n] = [float(gv) for gv in grads]
    return _rows_from(tape, xs, out, partials)


def _rows_from(tape, xs, out, partials):
    names = {}
    for i, x in enumerate(xs):
        names[x] = f"v{i - len(xs) + 1}"  # v-1, v0 for two inputs (the article's numbering)
    k = 1
    for n in tape:
        if n not in names:
            names[n] = f"v{k}"
            k += 1
    tangents, adjoints = {}, {n: 0.0 for n in tape}
    for i, x in enumerate(xs):
        tangents[x] = 1.0 if i == 0 else 0.0
    for n in tape:
        if n.op != "input":
            tangents[n] = sum(d * tangents[p] for d, p in zip(partials[n], n.parents, strict=True))
    adjoints[out] = 1.0
    for n in reversed(tape):
        if n.op != "input":
            for d, p in zip(partials[n], n.parents, strict=True):
                adjoints[p] += d * adjoints[n]
    rows = []
    for n in tape:
        rows.append(
            {
                "name": names[n],
                "op": n.op,
                "expr": _expr(n, names, xs),
                "value": n.value,
                "tangent": tangents[n],
                "adjoint": adjoints[n],
                "parents": [names[p] for p in n.parents],
                "output": n is out,
            }
        )
    return rows


_SYMBOL = {"add": "+", "mul": "*", "pow": "**"}


def _expr(n, names, xs):
    if n.op == "input":
        return "x" if n is xs[0] else "y"
    parts = [None, None]
    for slot, k in n.consts:
        parts[slot] = f"{k:g}"
    it = iter(n.parents)
    for i in range(2):
        if parts[i] is None:
            parts[i] = names[next(it)]
    return f" {_SYMBOL[n.op]} ".join(parts)


def print_traces(rows) -> None:
    ins = [r for r in rows if r["op"] == "input"]
    print_table(
        [(r["name"], r["expr"], r["value"]) for r in rows],
        ("node", "definition", "value"),
        title="\nForward (primal) trace, in topological order",
    )
    print_table(
        [(r["name"], r["expr"], r["tangent"]) for r in rows],
        ("node", "definition", "tangent (d/dx)"),
        title="\nForward tangent trace for the direction (dx, dy) = (1, 0)",
    )
    print_table(
        [(r["name"] + ("  (output)" if r["output"] else ""), r["adjoint"]) for r in reversed(rows)],
        ("node", "adjoint d f / d node"),
        title="\nReverse (adjoint) trace, in reverse topological order",
    )
    print(f"Inputs {ins[0]['name']} = x and {ins[1]['name']} = y: their adjoints are the gradient.")


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
    a, b, c, d, e, g = coef
    ax.set_title(
        f"f = {a:g}x² + {b:g}xy + {c:g}y² + {d:g}x + {e:g}y + {g:g}\n"
        "contours, gradient field (arrows), one Newton step",
        fontsize=9,
    )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper left")
    return save_figure(fig, out, "quadratic_contour.png")


def draw_graph(Figure, rows, out):
    """The DAG, layered by longest path from the inputs, inputs at the left."""
    level = {}
    for r in rows:
        level[r["name"]] = 1 + max((level[p] for p in r["parents"]), default=-1)
    by_level: dict = {}
    for r in rows:
        by_level.setdefault(level[r["name"]], []).append(r)
    pos = {}
    for lv, items in by_level.items():
        for i, r in enumerate(items):
            pos[r["name"]] = (lv, (len(items) - 1) / 2 - i)
    nl = max(by_level) + 1
    height = max(len(v) for v in by_level.values())
    fig = Figure(figsize=(1.6 + 1.5 * nl, 1.2 + 0.8 * height))
    ax = fig.subplots()
    for r in rows:
        for p in r["parents"]:
            ax.annotate(
                "",
                xy=pos[r["name"]],
                xytext=pos[p],
                arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkA": 16, "shrinkB": 16},
            )
    for r in rows:
        color = "#cde" if r["op"] == "input" else ("#fdb" if r["output"] else "#eee")
        label = f"{r['name']}\n{r['expr']}\n= {r['value']:.4g}"
        ax.text(
            *pos[r["name"]],
            label,
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round", "fc": color, "ec": "0.3"},
        )
    ax.set_xlim(-0.6, nl - 0.4)
    ax.set_ylim(-height / 2 - 0.2, height / 2 + 0.2)
    ax.axis("off")
    ax.set_title("computation graph of f (topological levels left to right)", fontsize=9)
    return save_figure(fig, out, "quadratic_graph.png")


# ------------------------------------------------------------------ main
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
    coef = tuple(args.coef)
    at = (float(args.at[0]), float(args.at[1]))
    grid = 21 if args.small else max(args.grid, 5)
    out = output_dir(args.out, "quadratic")

    a, b, c, d, e, g = coef
    print(f"f(x, y) = {a:g} x^2 + {b:g} x y + {c:g} y^2 + {d:g} x + {e:g} y + {g:g}")
    print(f"at (x0, y0) = ({at[0]:g}, {at[1]:g}); figures and summary.json go to {out}")

    f = make_quadratic(*coef)
    rows = graph_traces(f, at)
    print_traces(rows)

    res = analyse(coef, at)
    cf = closed_form(coef, at)
    table = compare(res, cf)
    scale = max(1.0, max(abs(v) for v in coef), max(abs(v) for v in at)) ** 2
    worst = max((r[3] for r in table if r[3] is not None), default=0.0)
    trace_grad = [r["adjoint"] for r in rows if r["op"] == "input"]
    trace_err = float(np.max(np.abs(np.array(trace_grad) - np.array(cf["grad"]))))
    ok = worst <= 1e-9 * scale and trace_err <= 1e-9 * scale and res["kind"] == cf["kind"]

    print()
    print_table(
        table + [("classification", res["kind"], cf["kind"], None)],
        ("quantity", "adgraph", "closed form", "|difference|"),
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
    figures = []
    if Figure is not None:
        figures.append(str(draw_contour(Figure, coef, at, res, out, grid)))
        figures.append(str(draw_graph(Figure, rows, out)))

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
