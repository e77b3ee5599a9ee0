"""The logistic-regression gradient over a chunked data set, on a Dask cluster and on NumPy.

The loss is written once with ``adgraph.numpy``::

    loss(w, b) = mean(logaddexp(0, -y * (X @ w + b)))

With ``X`` and ``y`` Dask arrays chunked by rows, ``adgraph.value_and_grad`` builds the
forward and the reverse pass as one lazy Dask graph (nothing is computed while
differentiating); a ``dask.distributed`` cluster then runs it chunk by chunk, each chunk's
partial ``X_k^T r_k`` summed by Dask's tree reduction. The same gradient is computed on NumPy
from the materialised data and the two are compared.

The data are generated lazily by Dask (a known hyperplane, Gaussian features, labels with
logistic noise), so ``--rows 10000000`` never holds ``X`` in one piece unless NumPy is asked
to compare (``--skip-numpy`` leaves that out).

Run with ``python -m adgraph.examples.dask_logreg`` (``--help`` lists the options).
"""

from __future__ import annotations

import numpy as np

from ._common import (
    Stopwatch,
    figure_or_none,
    make_parser,
    output_dir,
    print_table,
    require,
    save_figure,
    write_summary,
)

DESCRIPTION = (
    "logistic-regression gradient on a chunked Dask array run by a LocalCluster "
    "(dashboard address printed), checked against NumPy"
)

BIG_ROWS = 10_000_000


def loss(w, b, X, y):
    """Mean logistic loss of the hyperplane (w, b) on labels y in {-1, +1}."""
    import adgraph.numpy as anp

    z = X @ w + b
    return anp.mean(anp.logaddexp(0.0, -y * z))


def make_data(rows: int, features: int, chunk_rows: int, seed: int):
    """Lazy Dask arrays ``X`` (rows x features, chunked by rows), ``y`` in {-1, +1}, and the
    true hyperplane: labels follow ``sign(X @ w_true + b_true + logistic noise)``."""
    da = require("dask.array", "dask", "the Dask data set")
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(features) / np.sqrt(features) * 3.0
    b_true = 0.5
    drng = da.random.default_rng(seed + 1)
    X = drng.standard_normal((rows, features), chunks=(chunk_rows, features))
    u = drng.uniform(1e-12, 1.0, size=(rows,), chunks=(chunk_rows,))
    noise = da.log(u) - da.log1p(-u)  # logistic noise, lazily
    y = da.where(X @ w_true + b_true + noise > 0, 1.0, -1.0)
    return X, y, w_true, b_true


def main(argv=None) -> int:
    parser = make_parser("dask-logreg", DESCRIPTION)
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of samples")
    parser.add_argument(
        "--big", action="store_true", help=f"use {BIG_ROWS:,} rows (overrides --rows)"
    )
    parser.add_argument("--features", type=int, default=16, help="number of features")
    parser.add_argument("--chunk-rows", type=int, default=250_000, help="rows per Dask chunk")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument(
        "--processes", action="store_true", help="workers in separate processes (default: threads)"
    )
    parser.add_argument(
        "--address", default=None, help="use the running scheduler at this address instead"
    )
    parser.add_argument("--skip-numpy", action="store_true", help="do not compare with NumPy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = BIG_ROWS if args.big else args.rows
    for name, v in (
        ("--rows", rows),
        ("--features", args.features),
        ("--chunk-rows", args.chunk_rows),
        ("--workers", args.workers),
        ("--threads", args.threads),
    ):
        if v < 1:
            parser.error(f"{name} must be at least 1, got {v}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    out = output_dir(args.out, "dask-logreg")

    dask = require("dask", "dask", "the Dask backend")
    distributed = require("distributed", "dask", "the LocalCluster")
    import adgraph as ad
    from adgraph.backends import dashboard_link, local_cluster

    X, y, w_true, b_true = make_data(rows, args.features, args.chunk_rows, args.seed)
    w0 = np.zeros(args.features)
    b0 = np.zeros(())
    vg = ad.value_and_grad(loss, argnums=(0, 1))

    cluster = None
    if args.address:
        client = distributed.Client(args.address, set_as_default=False)
    else:
        cluster = local_cluster(args.workers, args.threads, args.processes)
        client = distributed.Client(cluster, set_as_default=False)
    try:
        # the link works while the cluster lives: until the gradient is computed
        print(f"Dask dashboard (open while the computation runs): {dashboard_link(client)}")
        with Stopwatch() as t_build:
            value, (gw, gb) = vg(w0, b0, X, y)  # lazy: builds the graph only
        n_tasks = _graph_size(value, gw, gb)
        with Stopwatch() as t_dask:
            value_d, gw_d, gb_d = client.compute([value, gw, gb], sync=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    rows_out = [
        [
            "dask (cluster)",
            rows,
            len(X.chunks[0]),
            n_tasks,
            t_build.seconds,
            t_dask.seconds,
            float(value_d),
        ]
    ]
    summary = {
        "rows": rows,
        "features": args.features,
        "chunks": len(X.chunks[0]),
        "graph_tasks": n_tasks,
        "dask_loss": float(value_d),
        "dask_grad_w": np.asarray(gw_d),
        "dask_grad_b": float(gb_d),
        "seconds_build": t_build.seconds,
        "seconds_dask": t_dask.seconds,
    }
    if not args.skip_numpy:
        with Stopwatch() as t_mat:
            Xn, yn = dask.compute(X, y, scheduler="threads")
        with Stopwatch() as t_np:
            value_n, (gw_n, gb_n) = vg(w0, b0, Xn, yn)
        diff = max(float(np.max(np.abs(gw_n - gw_d))), abs(float(gb_n - gb_d)))
        rows_out.append(["numpy", rows, 1, None, None, t_np.seconds, float(value_n)])
        summary.update(
            numpy_loss=float(value_n),
            numpy_grad_w=gw_n,
            numpy_grad_b=float(gb_n),
            max_abs_diff=diff,
            seconds_numpy=t_np.seconds,
            seconds_materialise=t_mat.seconds,
        )
    print_table(
        rows_out,
        ["backend", "rows", "chunks", "tasks", "build s", "run s", "loss"],
        title=f"value and gradient of the logistic loss at w = 0 ({args.features} features)",
    )
    print("(the cluster's run time includes generating the data chunk by chunk; NumPy's does not)")
    if "max_abs_diff" in summary:
        print(f"max |grad_dask - grad_numpy| = {summary['max_abs_diff']:.3g}")
    cos = float(np.dot(-np.asarray(gw_d), w_true) / (np.linalg.norm(gw_d) * np.linalg.norm(w_true)))
    print(f"cosine(-grad, true hyperplane) = {cos:.3f} (the first descent step points at it)")
    summary["cosine_to_truth"] = cos
    Figure = figure_or_none(args.no_plot)
    if Figure is not None:
        summary["figure"] = str(draw(Figure, out, summary, w_true))
    write_summary(out, summary)
    print(f"saved {out / 'summary.json'}")
    return 0


def draw(Figure, out, summary, w_true):
    """Per feature: the gradient from the cluster beside NumPy's (the same numbers), and the
    descent direction -grad beside the true hyperplane's normal (the direction it finds)."""
    g = np.asarray(summary["dask_grad_w"])
    k = np.arange(len(g))
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.bar(k, g, color="tab:blue", label="Dask cluster")
    if "numpy_grad_w" in summary:
        ax1.plot(k, np.asarray(summary["numpy_grad_w"]), "kx", label="NumPy")
    ax1.set_xlabel("feature")
    ax1.set_ylabel("d loss / d w")
    ax1.set_title(f"gradient at w = 0, {summary['rows']:,} rows in {summary['chunks']} chunks")
    ax1.legend(fontsize=8)
    d = -g / np.linalg.norm(g)
    t = w_true / np.linalg.norm(w_true)
    ax2.bar(k - 0.2, d, width=0.4, color="tab:orange", label="-grad (normalised)")
    ax2.bar(k + 0.2, t, width=0.4, color="tab:green", label="true w (normalised)")
    ax2.set_xlabel("feature")
    ax2.set_title(f"first descent direction: cosine to the truth {summary['cosine_to_truth']:.3f}")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.title.set_fontsize(9)
    return save_figure(fig, out, "dask_logreg.png")


def _graph_size(*collections) -> int:
    """Number of distinct tasks in the graphs of Dask collections."""
    keys = set()
    for c in collections:
        keys.update(dict(c.__dask_graph__()).keys())
    return len(keys)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
