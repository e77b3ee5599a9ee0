"""Sparse Jacobians and Hessians against dense ones, side by side in one run.

    python benchmarks/sparse_bench.py [--n 10000] [--dense-n N] [--jax-n N] [--no-jax]
    python benchmarks/sparse_bench.py --detect-only [--n N] [--rounds R] [--against REV]

Measures, at the same n for each pair:

* tridiagonal map R^n -> R^n: colours; detection + colouring + one evaluation
  (``ad.sparse_jacobian(f)(x)`` on a fresh object) against adgraph's dense ``ad.jacfwd``;
  one evaluation against JAX's jitted dense ``jax.jacfwd`` (compiled beforehand);
* chained Rosenbrock: colours; detection + colouring + one evaluation of the sparse
  Hessian against dense ``ad.hessian``;
* detection alone, in primal evaluations of the same function (for the Hessian also in
  gradient evaluations), and for the Hessian the one-pass detection beside the detection
  through the gradient's reverse sweep (what custom derivative rules still use), in
  alternating rounds. ``--detect-only`` runs just that comparison and the Jacobian
  detection (no dense sides); ``--against REV`` measures the detection, the later
  calls and the acyclic method's first call of git revision ``REV`` beside this tree's,
  in the same process and rounds (that revision's sparse modules are loaded as private
  copies, and its gathers' rules swapped in for its rounds).

The dense n = 10^4 Jacobian is 800 MB and its computation peaks near 8 GB; ``--dense-n``
measures the dense side at a smaller n instead (the sparse side is then measured at that
n too). Every time is the best of several runs after a warm-up on a small input (imports,
first-call caches), so one-off import costs are not counted on either side.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

import adgraph as ad
import adgraph.numpy as anp


def tridiag(x):
    return -2.0 * x**2 + anp.sin(x) + anp.pad(x[1:], (0, 1)) + anp.pad(x[:-1] ** 3, (1, 0))


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def ms(t):
    return f"{t * 1e3:10.2f} ms"


def _check(sparse, dense):
    err = np.max(np.abs(sparse.toarray() - np.asarray(dense)))
    scale = max(1.0, float(np.max(np.abs(np.asarray(dense)))))
    assert err <= 1e-12 * scale, f"sparse and dense differ by {err}"


def jax_tridiag_eval(n: int, repeat: int):
    """Best time of JAX's jitted dense jacfwd of the tridiagonal map at n (compiled first)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def f(x):
        return -2.0 * x**2 + jnp.sin(x) + jnp.pad(x[1:], (0, 1)) + jnp.pad(x[:-1] ** 3, (1, 0))

    x = jnp.asarray(np.random.default_rng(0).standard_normal(n))
    jac = jax.jit(jax.jacfwd(f))
    jac(x).block_until_ready()
    return best(lambda: jac(x).block_until_ready(), repeat)


def _git_source(rev: str, path: str) -> str:
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[1]
    return subprocess.check_output(["git", "-C", str(root), "show", f"{rev}:{path}"]).decode()


def load_revision(rev: str):
    """``adgraph.api.sparse`` as of the git revision ``rev`` (with that revision's
    ``ad/sparsity_index.py``, ``ad/sparsity_hessian.py`` and ``ad/coloring.py``), loaded
    beside the working tree's as private modules, to measure both in one process. The
    primitives' rules live in ``ad/sparsity.py`` and ``ops/``, which both sides share:
    this tree's (see :func:`old_gather` for the gathers' rules)."""
    import pathlib
    import subprocess
    import sys
    import types

    root = pathlib.Path(__file__).resolve().parents[1]
    same = subprocess.run(
        ["git", "-C", str(root), "diff", "--quiet", rev, "--", "src/adgraph/ad/sparsity.py"]
    )
    if same.returncode != 0:
        print(f"(src/adgraph/ad/sparsity.py differs from {rev}: both sides use this tree's)")
    mods = {}
    renames = (
        ("from .sparsity_index import", "from ._bench_si import"),
        ("from ..ad.sparsity_index import", "from ..ad._bench_si import"),
        ("from ..ad.sparsity_hessian import", "from ..ad._bench_sh import"),
        ("from ..ad import coloring", "from ..ad import _bench_coloring as coloring"),
    )
    for path, name, package in (
        ("src/adgraph/ad/sparsity_index.py", "adgraph.ad._bench_si", "adgraph.ad"),
        ("src/adgraph/ad/sparsity_hessian.py", "adgraph.ad._bench_sh", "adgraph.ad"),
        ("src/adgraph/ad/coloring.py", "adgraph.ad._bench_coloring", "adgraph.ad"),
        ("src/adgraph/api/sparse.py", "adgraph.api._bench_sparse", "adgraph.api"),
    ):
        text = _git_source(rev, path)
        for old, new in renames:
            text = text.replace(old, new)
        mod = types.ModuleType(name)
        mod.__package__ = package
        sys.modules[name] = mod
        exec(compile(text, f"{rev}:{path}", "exec"), mod.__dict__)
        mods[name] = mod
    return mods["adgraph.api._bench_sparse"]


def old_gather(rev: str):
    """A context manager that gives ``getitem``'s reverse rule and ``scatter_add``'s
    implementation and tangent rules the code of ``ops/indexing/gather.py`` at ``rev``
    while it is entered (the primitives look their rules up at each call), so the later
    calls of both revisions run in one process."""
    import ast
    import contextlib

    from adgraph.ops.indexing import gather

    tree = ast.parse(_git_source(rev, "src/adgraph/ops/indexing/gather.py"))
    names = {
        "_scatter_impl",
        "_zeros_like",
        "_getitem_vjp",
        "_scatter_add_tangent",
        "_scatter_add_batched_tangent",
    }
    ns = dict(vars(gather))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            exec(compile(ast.Module([node], []), f"{rev}:gather.py", "exec"), ns)
    swaps = [
        (gather.getitem_p, "joint_vjp", ns["_getitem_vjp"]),
        (gather.scatter_add_p, "impl", ns["_scatter_impl"]("add", lambda xp, cur, u: cur + u)),
        (gather.scatter_add_p, "joint_tangent", ns["_scatter_add_tangent"]),
        (gather.scatter_add_p, "batched_tangent", ns["_scatter_add_batched_tangent"]),
    ]

    @contextlib.contextmanager
    def entered():
        saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in swaps]
        try:
            for obj, attr, fn in swaps:
                setattr(obj, attr, fn)
            yield
        finally:
            for obj, attr, fn in saved:
                setattr(obj, attr, fn)

    return entered


def _same(p, q) -> bool:
    return (
        p.shape == q.shape
        and np.array_equal(p.indptr, q.indptr)
        and np.array_equal(p.indices, q.indices)
    )


def detect_rounds(x, rounds: int = 5, against: str | None = None) -> None:
    """Detection in primal evaluations, in alternating rounds (each the best of 7): the
    Hessian of the chained Rosenbrock function (one pass, and through the gradient's
    reverse sweep on patterns) and the Jacobian of the tridiagonal map; with ``against``
    the same calls of that git revision beside them, and later calls of the compressed
    derivatives."""
    from adgraph.api.sparse import _detect_through_gradient, _prepare

    old = load_revision(against) if against else None
    g = ad.grad(rosen)
    flat, v = _prepare(rosen, x, "hessian_sparsity", scalar=True)
    new = ad.hessian_sparsity(rosen, x)
    assert (new != _detect_through_gradient(flat, v)).nnz == 0
    print(f"chained Rosenbrock, Hessian detection at n = {x.size} ({new.nnz} nonzeros):")
    for r in range(rounds):
        primal = best(lambda: rosen(x), 7)
        gtime = best(lambda: g(x), 7)
        one = best(lambda: ad.hessian_sparsity(rosen, x), 7)
        through = best(lambda: _detect_through_gradient(flat, v), 7)
        print(
            f"  round {r}: one pass {ms(one)} = {one / primal:5.1f} primal = "
            f"{one / gtime:4.1f} gradient evaluations; through the gradient {ms(through)} = "
            f"{through / primal:6.1f} primal; RATIO {through / one:5.1f}x"
        )
    cases = [
        ("Hessian detection, chained Rosenbrock", rosen, "hessian_sparsity"),
        ("Jacobian detection, tridiagonal map", tridiag, "jacobian_sparsity"),
    ]
    if old is not None:
        gathers = old_gather(against)

        def in_old(fn):
            def run():
                with gathers():
                    return fn()

            return run

        ha, hb = old.sparse_hessian(rosen), ad.sparse_hessian(rosen)
        ja, jb = old.sparse_jacobian(tridiag), ad.sparse_jacobian(tridiag)
        aa = old.sparse_hessian(rosen, method="acyclic")
        ab = ad.sparse_hessian(rosen, method="acyclic")
        for a, b in ((ha, hb), (ja, jb)):
            ma, mb = in_old(lambda a=a: a(x))(), b(x)
            assert _same(ma, mb) and np.array_equal(ma.data, mb.data)
        ma, mb = in_old(lambda: aa(x))(), ab(x)  # substitution: equal to rounding
        scale = max(1.0, float(np.abs(mb.data).max()))
        assert _same(ma, mb) and np.abs(ma.data - mb.data).max() <= 1e-12 * scale
        assert aa.colors == ab.colors
        cases += [
            ("later sparse_hessian call, chained Rosenbrock", rosen, (ha, hb)),
            ("later sparse_jacobian call, tridiagonal map", tridiag, (ja, jb)),
            ("later sparse_hessian(method='acyclic') call, chained Rosenbrock", rosen, (aa, ab)),
            (
                "first sparse_hessian(method='acyclic') call (detection, colouring, plan, "
                "evaluation), chained Rosenbrock",
                rosen,
                (
                    lambda: old.sparse_hessian(rosen, method="acyclic")(x),
                    lambda: ad.sparse_hessian(rosen, method="acyclic")(x),
                ),
            ),
        ]
    for title, f, what in cases:
        if isinstance(what, str):
            now = lambda f=f, what=what: getattr(ad, what)(f, x)  # noqa: E731
            then = old and (lambda f=f, what=what: getattr(old, what)(f, x))
            if old is not None:
                assert _same(now(), then()), f"{title}: the two revisions' patterns differ"
        elif hasattr(what[0], "colors"):  # two compressed derivatives: their later calls
            then, now = in_old(lambda h=what[0]: h(x)), (lambda h=what[1]: h(x))
        else:
            then, now = in_old(what[0]), what[1]
        print(f"{title} at n = {x.size}" + (f", this tree against {against}:" if old else ":"))
        for r in range(rounds):
            primal = best(lambda f=f: f(x), 7)
            t_now = best(now, 7)
            line = f"  round {r}: {ms(t_now)} = {t_now / primal:5.1f} primal evaluations"
            if old is not None:
                t_then = best(then, 7)
                line += (
                    f"; {against}: {ms(t_then)} = {t_then / primal:5.1f} primal; "
                    f"RATIO {t_then / t_now:4.2f}x"
                )
            print(line)


def run(n: int, dense_n: int | None, jax_n: int | None) -> None:
    rng = np.random.default_rng(0)
    small = rng.standard_normal(50)
    for make, dense, f in (
        (ad.sparse_jacobian, ad.jacfwd, tridiag),
        (ad.sparse_hessian, ad.hessian, rosen),
    ):  # warm-up: imports and first-call caches on both sides
        make(f)(small)
        dense(f)(small)
    dn = dense_n or n
    x = rng.standard_normal(dn)
    print(f"n = {dn} (sparse and dense at the same n)")

    # Tridiagonal Jacobian.
    first = best(lambda: ad.sparse_jacobian(tridiag)(x), 5)
    jac = ad.sparse_jacobian(tridiag)
    J = jac(x)
    again = best(lambda: jac(x), 7)
    primal = best(lambda: tridiag(x), 7)
    detect = best(lambda: ad.jacobian_sparsity(tridiag, x), 5)
    d = best(lambda: ad.jacfwd(tridiag)(x), 2)
    Jd = ad.jacfwd(tridiag)(x)
    _check(J, Jd)
    del Jd
    gc.collect()
    print(f"tridiagonal map, Jacobian: {jac.colors} colours ({jac.mode})")
    print(f"  sparse detection + colouring + evaluation {ms(first)}")
    print(f"  sparse evaluation alone                   {ms(again)}")
    print(f"  dense ad.jacfwd                           {ms(d)}")
    print(f"  RATIO dense jacfwd / sparse first call:   {d / first:8.1f}x")
    print(f"  detection alone {ms(detect)} = {detect / primal:.1f} primal evaluations")

    # JAX at its own n (the largest it holds here), the sparse evaluation at the same n.
    if jax_n:
        xj = rng.standard_normal(jax_n)
        jac_j = ad.sparse_jacobian(tridiag)
        jac_j(xj)
        ev = best(lambda: jac_j(xj), 7)
        try:
            tj = jax_tridiag_eval(jax_n, 3)
        except ImportError:
            print("  (JAX not installed: no comparison)")
        else:
            print(f"  n = {jax_n}: JAX jit(jacfwd) {ms(tj)}, sparse evaluation {ms(ev)}")
            print(f"  RATIO JAX jitted dense jacfwd / sparse evaluation: {tj / ev:8.1f}x")

    # Chained Rosenbrock Hessian.
    first = best(lambda: ad.sparse_hessian(rosen)(x), 5)
    hess = ad.sparse_hessian(rosen)
    H = hess(x)
    again = best(lambda: hess(x), 7)
    primal = best(lambda: rosen(x), 7)
    detect_rounds(x, rounds=3)
    detect = best(lambda: ad.hessian_sparsity(rosen, x), 5)
    Hd = ad.hessian(rosen)(x)
    d = best(lambda: ad.hessian(rosen)(x), 1)
    _check(H, Hd)
    del Hd
    gc.collect()
    print(f"chained Rosenbrock, Hessian: {hess.colors} colours (star)")
    print(f"  sparse detection + colouring + evaluation {ms(first)}")
    print(f"  sparse evaluation alone                   {ms(again)}")
    print(f"  dense ad.hessian                          {ms(d)}")
    print(f"  RATIO dense hessian / sparse first call:  {d / first:8.1f}x")
    first_a = best(lambda: ad.sparse_hessian(rosen, method="acyclic")(x), 3)
    acyc = ad.sparse_hessian(rosen, method="acyclic")
    _check(acyc(x), H.toarray())
    again_a = best(lambda: acyc(x), 7)
    print(
        f"  acyclic colouring: {acyc.colors} colours, first call {ms(first_a)}, "
        f"evaluation {ms(again_a)} (substitution)"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--dense-n", type=int, default=None, help="measure both sides at this n")
    ap.add_argument("--jax-n", type=int, default=10_000)
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--detect-only", action="store_true", help="detection alone")
    ap.add_argument(
        "--against", metavar="REV", default=None, help="with --detect-only: also a git revision"
    )
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    if a.detect_only:
        rosen(np.ones(3))
        ad.hessian_sparsity(rosen, np.ones(50))  # warm-up
        ad.jacobian_sparsity(tridiag, np.ones(50))
        detect_rounds(np.random.default_rng(0).standard_normal(a.n), a.rounds, a.against)
    else:
        run(a.n, a.dense_n, None if a.no_jax else a.jax_n)
