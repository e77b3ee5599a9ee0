r"""A Taylor-series ODE integrator (order 20) for the two-body problem, beside SciPy's DOP853.

The Kepler problem :math:`\ddot q = -q/|q|^3` in the plane, state :math:`y = (q, p)`,
:math:`y' = F(y) = (p, -q/|q|^3)`, started at the pericentre of an orbit of eccentricity
``e`` and semi-major axis 1: the period is :math:`2\pi`, so after ``periods`` revolutions
the exact solution is back at its start, and the error is :math:`|y(T) - y(0)|` (no
reference integration needed).

The Taylor method of order K advances by the truncated series
:math:`y(t + h) = \sum_{k=0}^{K} c_k h^k`. Its coefficients come from the ODE itself:
:math:`y^{(k+1)} = \frac{d^k}{dt^k} F(y(t))`, so one :func:`adgraph.jet` of ``F`` along
the curve known to order k gives the next derivative (K jets of growing order per step).
The whole recursion is compiled once with :func:`adgraph.jit`. The step size follows the
last two coefficients (Jorba and Zou, 2005):
:math:`h = \min_{k \in \{K-1, K\}} (\varepsilon / \|c_k\|)^{1/k}\, e^{-0.7/(K-1)}`,
with :math:`\varepsilon` the tolerance relative to :math:`\max(1, \|y\|)`.

SciPy's ``solve_ivp(method="DOP853")`` (an explicit Runge-Kutta method of order 8) is run
at a ladder of tolerances; the table shows the Taylor method beside the DOP853 run whose
error is closest to it from below (equal or better accuracy): steps, evaluations and time.

The second part is the Laplacian of a small MLP :math:`u: \mathbb{R}^d \to \mathbb{R}` by
Taylor mode, :math:`\Delta u = \sum_i \partial_{ii} u`, each term the second coefficient
of a jet along :math:`e_i` (all d at once by ``vmap``), beside the trace of its Hessian.

Run it with ``adgraph examples run taylor-ode [--order 20] [--periods 10] [--e 0.6]``;
it writes ``taylor_ode_orbit.png`` (with matplotlib) and ``summary.json``.
"""

from __future__ import annotations

import math
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from ._common import (
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    require,
    save_figure,
    stage,
    write_summary,
)

DESCRIPTION = "Taylor-series ODE integrator (order 20) on the two-body problem vs SciPy DOP853"


def kepler(y):
    """The two-body field :math:`F(q, p) = (p, -q / |q|^3)` (y = (q1, q2, p1, p2))."""
    q, p = y[:2], y[2:]
    r2 = anp.sum(q * q)
    return anp.concatenate([p, -q * r2**-1.5])


def initial_state(e: float) -> np.ndarray:
    """Pericentre of the orbit of eccentricity e, semi-major axis 1 (period 2 pi)."""
    return np.array([1.0 - e, 0.0, 0.0, math.sqrt((1.0 + e) / (1.0 - e))])


def taylor_coefficients(F, order: int):
    """``y0 -> [c_1, ..., c_K]``, the Taylor coefficients of the solution of y' = F(y)
    through y0: :math:`y^{(k+1)} = d^k F(y(t))/dt^k` from a jet of F along the curve known
    to order k, and :math:`c_k = y^{(k)}/k!`."""

    def coefficients(y0):
        derivs = [F(y0)]
        for _ in range(1, order):
            _, s = ad.jet(F, (y0,), (derivs,))
            derivs.append(s[-1])
        return [d * (1.0 / math.factorial(k)) for k, d in enumerate(derivs, 1)]

    return coefficients


def taylor_integrate(coefficients, y0, t_end: float, order: int, tol: float = 1e-14):
    """Integrate y' = F(y) from 0 to ``t_end`` by the Taylor method of order ``order``,
    ``coefficients`` being ``taylor_coefficients(F, order)`` (compiled or not).

    Returns ``(y(t_end), steps, ts, ys)`` (the accepted times and states).
    """
    y = np.asarray(y0, dtype=float)
    t, steps = 0.0, 0
    ts, ys = [0.0], [y]
    safety = math.exp(-0.7 / (order - 1))
    while t < t_end:
        c = [np.asarray(ck) for ck in coefficients(y)]
        eps = tol * max(1.0, float(np.max(np.abs(y))))
        h = min(
            (eps / max(float(np.max(np.abs(c[k - 1]))), 1e-300)) ** (1.0 / k)
            for k in (order - 1, order)
        )
        h = min(h * safety, t_end - t)
        acc = c[-1]
        for ck in reversed(c[:-1]):  # Horner: y + h (c_1 + h (c_2 + ...))
            acc = ck + h * acc
        y = y + h * acc
        t += h
        steps += 1
        ts.append(t)
        ys.append(y)
    return y, steps, np.array(ts), np.array(ys)


def _numpy_kepler(t, y):
    q, p = y[:2], y[2:]
    return np.concatenate([p, -q * np.dot(q, q) ** -1.5])


TAYLOR_TOLS = (1e-8, 1e-10, 1e-12, 1e-14)
DOP853_RTOLS = (1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 3e-14)


def compare(order: int, periods: int, e: float, tols=TAYLOR_TOLS) -> dict:
    """Both integrators at a ladder of tolerances; each Taylor run is paired with the
    DOP853 run of the largest error not above its own (equal or better accuracy)."""
    integrate = require("scipy.integrate", "scipy", "the Taylor ODE example")
    y0 = initial_state(e)
    t_end = 2 * math.pi * periods
    coefficients = ad.jit(taylor_coefficients(kepler, order))
    coefficients(y0)  # compiled once here: the same program serves every step
    taylor = []
    for tol in tols:
        t0 = time.perf_counter()
        y_end, steps, ts, ys = taylor_integrate(coefficients, y0, t_end, order, tol)
        dt = time.perf_counter() - t0
        err = float(np.max(np.abs(y_end - y0)))
        taylor.append({"tol": tol, "error": err, "steps": steps, "s": dt, "ts": ts, "ys": ys})
    dop = []
    for rtol in DOP853_RTOLS:
        t0 = time.perf_counter()
        sol = integrate.solve_ivp(
            _numpy_kepler, (0.0, t_end), y0, method="DOP853", rtol=rtol, atol=rtol
        )
        dt = time.perf_counter() - t0
        err = float(np.max(np.abs(sol.y[:, -1] - y0)))
        dop.append(
            {
                "rtol": rtol,
                "error": err,
                "steps": int(sol.t.size - 1),
                "nfev": int(sol.nfev),
                "s": dt,
            }
        )
    pairs = []
    for run in taylor:
        ok = [d for d in dop if d["error"] <= run["error"]]
        pairs.append(max(ok, key=lambda d: d["error"]) if ok else None)
    return {
        "order": order,
        "periods": periods,
        "e": e,
        "taylor": taylor,
        "dop853": dop,
        "pairs": pairs,
    }


# ------------------------------------------------------------------ Laplacian of an MLP
def mlp(params, x):
    """A tanh MLP R^d -> R."""
    h = x
    for W, b in params[:-1]:
        h = anp.tanh(W @ h + b)
    W, b = params[-1]
    return (W @ h + b)[0]


def init_mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((m, n)) / math.sqrt(n), 0.1 * rng.standard_normal(m))
        for n, m in zip(sizes[:-1], sizes[1:])
    ]


def laplacian_by_jet(u, x):
    r""":math:`\Delta u(x) = \sum_i \partial_{ii} u`: the second derivative along each
    basis vector, by one vectorised jet of order 2."""
    d = x.shape[0]

    def second(e):
        return ad.jet(u, (x,), ((e, anp.zeros_like(e)),))[1][1]

    return anp.sum(ad.vmap(second)(np.eye(d)))


def laplacian_compare(d: int = 16, width: int = 64, repeat: int = 5) -> dict:
    params = init_mlp([d, width, width, 1])
    x = np.linspace(-1.0, 1.0, d)

    def u(x):
        return mlp(params, x)

    lap_jet = ad.jit(lambda x: laplacian_by_jet(u, x))
    lap_hess = ad.jit(lambda x: anp.trace(ad.hessian(u)(x)))
    a, b = float(lap_jet(x)), float(lap_hess(x))

    def best(fn):
        out = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(x)
            out = min(out, time.perf_counter() - t0)
        return out

    return {
        "d": d,
        "width": width,
        "jet": a,
        "hessian_trace": b,
        "relative_difference": abs(a - b) / abs(b),
        "jet_s": best(lap_jet),
        "hessian_s": best(lap_hess),
    }


def _check_options(parser, args):
    if not 2 <= args.order <= 40:
        parser.error(f"--order must be between 2 and 40, got {args.order}")
    if args.periods < 1:
        parser.error(f"--periods must be at least 1, got {args.periods}")
    if not 0.0 <= args.e < 0.95:
        parser.error(f"--e must be in [0, 0.95), got {args.e}")
    if not 1e-16 <= args.tol < 1e-3:
        parser.error(f"--tol must be in [1e-16, 1e-3), got {args.tol}")


def main(argv=None) -> int:
    parser = make_parser("taylor-ode", DESCRIPTION)
    parser.add_argument("--order", type=int, default=20, help="order of the Taylor method")
    parser.add_argument("--periods", type=int, default=10, help="revolutions to integrate")
    parser.add_argument("--e", type=float, default=0.6, help="eccentricity of the orbit")
    parser.add_argument("--tol", type=float, default=1e-14, help="the Taylor method's tolerance")
    parser.add_argument("--dim", type=int, default=16, help="input dimension of the MLP")
    args = parser.parse_args(argv)
    _check_options(parser, args)
    out = output_dir(args.out, "taylor-ode")
    stage(f"Taylor method of order {args.order} and DOP853 over {args.periods} periods")
    tols = tuple(sorted({*TAYLOR_TOLS, args.tol}, reverse=True))
    r = compare(args.order, args.periods, args.e, tols)
    print(
        f"Two-body problem, eccentricity {args.e}, {args.periods} periods (t = "
        f"{2 * math.pi * args.periods:.2f}); error = max |y(T) - y(0)| (the orbit is periodic)"
    )
    rows = []
    for run, d in zip(r["taylor"], r["pairs"]):
        row = [f"{run['tol']:g}", run["error"], run["steps"], run["s"]]
        if d is None:
            row += ["(none reaches it)", "-", "-", "-", "-"]
        else:
            row += [f"{d['rtol']:g}", d["error"], d["steps"], d["nfev"], d["s"]]
        rows.append(row)
    print_table(
        rows,
        ["Taylor tol", "error", "steps", "s", "DOP853 rtol", "error", "steps", "f evals", "s"],
        title=f"\nTaylor order {args.order} beside DOP853 at equal or better accuracy",
        formats={1: ".1e", 3: ".3f", 5: ".1e", 8: ".3f"},
    )
    best = min(r["dop853"], key=lambda d: d["error"])
    print(
        f"DOP853's best accuracy (rtol = atol = {best['rtol']:g}, SciPy's floor): "
        f"{best['error']:.1e} in {best['steps']} steps; the Taylor method reaches "
        f"{r['taylor'][-1]['error']:.1e} in {r['taylor'][-1]['steps']} steps"
    )
    tay = r["taylor"][-1]

    stage(f"Laplacian of an MLP R^{args.dim} -> R: jet against the trace of the Hessian")
    lap = laplacian_compare(args.dim)
    print_table(
        [
            ["sum of second coefficients of jets along e_i", lap["jet"], lap["jet_s"] * 1e3],
            ["trace of ad.hessian", lap["hessian_trace"], lap["hessian_s"] * 1e3],
        ],
        ["Laplacian", "value", "ms (jit)"],
        title=f"\nLaplacian of a tanh MLP {args.dim} -> 64 -> 64 -> 1 "
        f"(relative difference {lap['relative_difference']:.1e})",
        formats={1: ".15g", 2: ".3f"},
    )
    Figure = figure_or_none(args.no_plot)
    if Figure is not None:
        fig = Figure(figsize=(5, 5))
        ax = fig.subplots()
        ax.plot(tay["ys"][:, 0], tay["ys"][:, 1], ".-", ms=3, lw=0.5)
        ax.set_title(f"Taylor order {args.order}: {tay['steps']} steps")
        ax.set_aspect("equal")
        save_figure(fig, out, "taylor_ode_orbit.png")
    write_summary(
        out,
        {
            "taylor": [{k: v for k, v in t.items() if k not in ("ts", "ys")} for t in r["taylor"]],
            "dop853": r["dop853"],
            "pairs": r["pairs"],
            "laplacian": lap,
            "order": args.order,
            "periods": args.periods,
            "e": args.e,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
