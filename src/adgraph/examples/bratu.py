r"""The 2-D Bratu problem by Newton's method with a sparse Jacobian.

.. math:: -\Delta u = \lambda e^{u} \ \text{on}\ (0, 1)^2, \qquad u = 0 \ \text{on the boundary}

discretised by the five-point Laplacian on an ``n x n`` grid of interior points
(:math:`h = 1/(n + 1)`):

.. math:: F(u)_{ij} = \frac{4u_{ij} - u_{i-1,j} - u_{i+1,j} - u_{i,j-1} - u_{i,j+1}}{h^2}
          - \lambda e^{u_{ij}} = 0 .

Newton's method solves :math:`J(u)\,\delta = -F(u)` each step. ``F`` is written with
``adgraph.numpy`` on the grid (zero padding for the boundary, slices for the stencil); its
Jacobian :math:`J = A - \lambda\,\mathrm{diag}(e^u)` is ``n^2 x n^2`` with five nonzeros a
row. ``adgraph.sparse_jacobian(F)`` finds that pattern from the traced computation, colours
its columns (a handful of colours, whatever ``n``) and computes ``J`` by one batched
forward sweep with one tangent per colour; ``scipy.sparse.linalg.spsolve`` solves the step.

Dense ``jacfwd`` would push ``n^2`` tangents and hold ``n^4`` numbers: at the default
``n = 300`` that is 90,000^2 * 8 bytes = 65 GB, so the example runs the dense Jacobian on a
small grid (``--dense-n``, default 30) for the side-by-side timing and the check that the
two agree, and states what the large one would need. Every Jacobian is also checked
against the closed form :math:`A - \lambda\,\mathrm{diag}(e^u)`.

Run it with ``adgraph examples run bratu [--n 300] [--lam 6] [--dense-n 30]``; it writes
``bratu_solution.png`` (the solution, with matplotlib), ``bratu_pattern.svg`` (the
Jacobian's spy plot, no dependencies) and ``summary.json``.
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

DESCRIPTION = "2-D Bratu problem by Newton's method with a sparse Jacobian and spsolve"

#: The largest lambda with a solution of the continuous problem (Frank-Kamenetskii):
#: ~6.808; the discrete problem's turning point is close to it for fine grids.
LAMBDA_CRITICAL = 6.808


def residual_fn(n: int, lam: float):
    """``F(u)`` for ``u`` of shape ``(n, n)`` (interior points), as an ``(n, n)`` array."""
    h2 = (1.0 / (n + 1)) ** 2

    def F(u):
        p = anp.pad(u, 1)  # the boundary values are zero
        lap = 4.0 * u - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]
        return lap / h2 - lam * anp.exp(u)

    return F


def closed_form_jacobian(u: np.ndarray, lam: float):
    """``A - lam diag(exp(u))`` assembled by hand (C order): the reference."""
    sp = require("scipy.sparse", "scipy", "the Bratu example")
    n = u.shape[0]
    h2 = (1.0 / (n + 1)) ** 2
    one = sp.identity(n, format="csr")
    t = sp.diags([-np.ones(n - 1), 2.0 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")
    a = (sp.kron(t, one) + sp.kron(one, t)) / h2
    return (a - sp.diags(lam * np.exp(u.ravel()))).tocsr()


def newton(n: int, lam: float, tol: float = 1e-10, max_iter: int = 20):
    """Newton's method from ``u = 0`` with the sparse Jacobian. Returns ``(u, history,
    jac)``: ``history`` rows are (step, residual max-norm, step size, Jacobian seconds,
    solve seconds)."""
    spla = require("scipy.sparse.linalg", "scipy", "the Bratu example's linear solves")
    F = residual_fn(n, lam)
    jac = ad.sparse_jacobian(F)
    u = np.zeros((n, n))
    history = []
    for k in range(max_iter + 1):
        r = np.asarray(F(u))
        norm = float(np.max(np.abs(r)))
        if not math.isfinite(norm):
            raise FloatingPointError(f"Newton diverged at step {k} (lambda = {lam} too large?)")
        if norm <= tol * max(1.0, lam):
            history.append((k, norm, 0.0, 0.0, 0.0))
            break
        t0 = time.perf_counter()
        J = jac(u)
        t1 = time.perf_counter()
        delta = spla.spsolve(J.tocsc(), -r.ravel()).reshape(n, n)
        t2 = time.perf_counter()
        history.append((k, norm, float(np.max(np.abs(delta))), t1 - t0, t2 - t1))
        u = u + delta
    else:
        raise RuntimeError(f"Newton did not converge in {max_iter} steps (lambda = {lam})")
    return u, history, jac


def compare_dense(n: int, lam: float, repeat: int = 3):
    """Sparse and dense Jacobians of ``F`` at a random ``u`` on an ``n x n`` grid: the
    largest difference and the best times (sparse: after its first call)."""
    F = residual_fn(n, lam)
    u = 0.1 * np.random.default_rng(0).standard_normal((n, n))
    jac = ad.sparse_jacobian(F)
    t0 = time.perf_counter()
    Js = jac(u)
    first = time.perf_counter() - t0
    sparse_t = min(_time(lambda: jac(u)) for _ in range(repeat))
    dense_t = min(_time(lambda: ad.jacfwd(F)(u)) for _ in range(repeat))
    Jd = np.asarray(ad.jacfwd(F)(u)).reshape(n * n, n * n)
    diff = float(np.max(np.abs(Js.toarray() - Jd)))
    return {"n": n, "unknowns": n * n, "colors": jac.colors, "max_difference": diff,
            "sparse_first_s": first, "sparse_s": sparse_t, "dense_s": dense_t}  # fmt: skip


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _check_options(parser, args) -> None:
    if args.n < 2:
        parser.error(f"--n must be at least 2, got {args.n}")
    if args.dense_n < 2 or args.dense_n > 60:
        parser.error(
            f"--dense-n must be between 2 and 60 (its Jacobian is n^4), got {args.dense_n}"
        )
    if not (math.isfinite(args.lam) and 0.0 <= args.lam < LAMBDA_CRITICAL):
        parser.error(
            f"--lam must be in [0, {LAMBDA_CRITICAL}) (beyond it the problem has no "
            f"solution), got {args.lam}"
        )
    if not (args.tol > 0 and math.isfinite(args.tol)):
        parser.error(f"--tol must be a positive number, got {args.tol}")


def main(argv=None) -> int:
    parser = make_parser("bratu", DESCRIPTION)
    parser.add_argument("--n", type=int, default=300, help="interior grid points per side")
    parser.add_argument("--lam", type=float, default=6.0, help="the parameter lambda")
    parser.add_argument("--tol", type=float, default=1e-10, help="Newton's residual tolerance")
    parser.add_argument(
        "--dense-n", type=int, default=30, help="grid of the dense jacfwd comparison"
    )
    args = parser.parse_args(argv)
    _check_options(parser, args)
    out = output_dir(args.out, "bratu")
    n, lam = args.n, args.lam
    print(f"Bratu: -laplace(u) = {lam:g} exp(u) on the unit square, u = 0 on the boundary")
    print(f"grid {n} x {n} interior points: {n * n:,} unknowns, Jacobian {n * n:,}^2")
    dense_bytes = 8.0 * (n * n) ** 2
    print(f"a dense Jacobian would hold {dense_bytes / 1e9:,.1f} GB (jacfwd: {n * n:,} tangents)")

    stage(f"Newton's method on {n} x {n}")
    u, history, jac = newton(n, lam, args.tol)
    print_table(
        history,
        ["step", "max |F(u)|", "max |step|", "jacobian s", "spsolve s"],
        title=f"\nNewton's method (sparse Jacobian: {jac.colors} colours, "
        f"{jac.pattern.nnz:,} nonzeros, mode {jac.mode})",
        formats={1: ".3e", 2: ".3e", 3: ".4f", 4: ".4f"},
    )
    ref = closed_form_jacobian(u, lam)
    err = float(abs(jac(u) - ref).max())
    print(f"max |J - (A - lam diag(e^u))| at the solution: {err:.2e}")
    print(f"max u = {u.max():.6f} (at the centre)")

    stage(f"dense jacfwd against the sparse Jacobian on {args.dense_n} x {args.dense_n}")
    cmp = compare_dense(args.dense_n, lam)
    print_table(
        [
            ["sparse_jacobian (first call: detect + colour + sweep)", cmp["sparse_first_s"]],
            ["sparse_jacobian (each later call)", cmp["sparse_s"]],
            ["dense jacfwd", cmp["dense_s"]],
        ],
        ["Jacobian", "seconds"],
        title=f"\nOn a {cmp['n']} x {cmp['n']} grid ({cmp['unknowns']:,} unknowns; "
        f"max difference {cmp['max_difference']:.1e})",
        formats={1: ".4f"},
    )
    print(f"dense / sparse: {cmp['dense_s'] / cmp['sparse_s']:.0f}x on this small grid")

    jac.pattern.savefig(out / "bratu_pattern.svg", title=f"Jacobian pattern, {n}x{n} grid")
    print(f"saved {out / 'bratu_pattern.svg'}")
    Figure = figure_or_none(args.no_plot)
    if Figure is not None:
        fig = Figure(figsize=(5, 4.3))
        ax = fig.subplots()
        xs = np.linspace(0, 1, n + 2)[1:-1]
        im = ax.contourf(xs, xs, u, levels=20, cmap="viridis")
        fig.colorbar(im, ax=ax, label="u")
        ax.set_title(f"Bratu, lambda = {lam:g}, {n} x {n}")
        ax.set_aspect("equal")
        save_figure(fig, out, "bratu_solution.png")
    write_summary(
        out,
        {
            "n": n,
            "lambda": lam,
            "unknowns": n * n,
            "dense_jacobian_bytes": dense_bytes,
            "colors": jac.colors,
            "nonzeros": int(jac.pattern.nnz),
            "newton_steps": len(history) - 1,
            "residuals": [h[1] for h in history],
            "max_u": float(u.max()),
            "jacobian_error": err,
            "dense_comparison": cmp,
        },
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
