"""``adgraph diff``: the derivatives of an expression at a point, in forward or reverse
mode, with their evaluation traces, the graph's picture, the Hessian and the sparsity
patterns, as text, Markdown or JSON."""

from __future__ import annotations

import json
import math
import os
import sys
import unicodedata

import numpy as np

from ._common import (
    _MAX_HESSIAN_ENTRIES,
    _MAX_PASS_WORK,
    _MAX_PICTURE_NODES,
    _MAX_TANGENT_ROWS,
    _TABLE_WIDTH,
    CLIError,
    _assignments,
    _load_expression,
)


def _num(x, digits=12):
    x = float(x)
    if not math.isfinite(x):
        return str(x)  # inf, -inf, nan: printed as they are (a valid evaluation)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def _cmd_diff(args, out) -> int:
    import adgraph as ad

    from ..graph import trace, trace_hvp
    from ..graph.render import graphviz_available, save
    from ..graph.tables import adjoint_table, primal_table, tangent_table

    expr, names, vals = _load_expression(args.expression, args.at)
    f = expr.function(names)
    if args.digits < 0 or args.digits > 15:
        raise CLIError("--digits must be between 0 and 15")
    if args.sparsity is not None:
        _check_sparsity_option(args.sparsity, names)
    if args.graph:
        if "\x00" in args.graph:
            raise CLIError("--graph: the file name contains a NUL character")
        ext = os.path.splitext(args.graph)[1].lower()
        if ext not in (".dot", ".gv", ".mmd", ".svg", ".png", ".pdf"):
            raise CLIError(
                f"--graph: unknown picture format {ext or args.graph!r}; use .dot, "
                ".gv, .mmd, .svg, .png or .pdf"
            )
        folder = os.path.dirname(os.path.abspath(args.graph))
        if not os.path.isdir(folder):
            raise CLIError(
                f"--graph {args.graph}: the folder {folder} does not exist; create it first "
                "or choose another path"
            )
        if os.path.isdir(args.graph):
            raise CLIError(f"--graph {args.graph} is a folder; give a file name")
        if not os.access(folder, os.W_OK):
            raise CLIError(f"--graph {args.graph}: the folder {folder} is not writable")
        # with --hessian the picture is the second-order sweep: the forward pass, its
        # adjoint sweep and their tangents, about four nodes per operation
        drawn = expr.size * (4 if args.hessian else 1)
        if ext in (".svg", ".png", ".pdf") and drawn > _MAX_PICTURE_NODES:
            raise CLIError(
                f"--graph {args.graph}: a picture of {drawn} nodes would take "
                f"Graphviz minutes to lay out and be unreadable (at most {_MAX_PICTURE_NODES:,}); "
                "write the graph as .dot or .mmd instead"
            )
        if ext in (".svg", ".png", ".pdf") and not graphviz_available():
            from ..graph.render import INSTALL_HINT, _matplotlib_available

            if not _matplotlib_available():
                raise CLIError(
                    f"--graph {args.graph}: {INSTALL_HINT}; or install matplotlib "
                    "(pip install adgraph[plot]), which draws it without Graphviz"
                )
    n = len(names)
    if args.mode == "forward" and not args.seed and n * expr.size > _MAX_TANGENT_ROWS:
        raise CLIError(
            f"--mode forward prints one tangent trace per variable: {n} traces of up to "
            f"{expr.size} rows is more than {_MAX_TANGENT_ROWS:,} rows; trace one direction "
            "with --seed NAME=VALUE ..., or use --mode reverse"
        )
    if args.hessian and n * n > _MAX_HESSIAN_ENTRIES:
        raise CLIError(
            f"too large for --hessian: {n} variables make {n * n:,} entries (at most "
            f"{_MAX_HESSIAN_ENTRIES:,}, {math.isqrt(_MAX_HESSIAN_ENTRIES)} variables); "
            "use fewer variables, or leave out --hessian for the gradient"
        )
    passes = (n if args.mode == "forward" else 0) + (n if args.hessian else 0)
    if passes * expr.size > _MAX_PASS_WORK:
        what = " and ".join(
            w
            for w, on in (("forward mode", args.mode == "forward"), ("--hessian", args.hessian))
            if on
        )
        raise CLIError(
            f"too large for {what}: one pass per variable is {passes} passes over "
            f"{expr.size} expression nodes (at most {_MAX_PASS_WORK:,} in all); use fewer "
            "variables or a shorter expression"
            + ("" if args.hessian else ", or --mode reverse for the gradient")
        )
    seed = None
    if args.seed:
        s = _assignments(args.seed, "--seed")
        unknown = [k for k in s if k not in names]
        if unknown:
            raise CLIError(f"--seed: {unknown[0]} is not a variable of the expression")
        seed = [s.get(n, 0.0) for n in names]
    digits = args.digits

    with np.errstate(all="ignore"):
        graph = trace(f, *vals)
        value = graph.outputs[0].value
        argnums = tuple(range(len(names)))
        if args.mode == "forward":
            grads = [
                ad.jvp(f, tuple(vals), tuple(np.float64(i == k) for i in range(len(names))))[1]
                for k in range(len(names))
            ]
        else:
            grads = list(ad.grad(f, argnums=argnums)(*vals))
        grads = [float(g) for g in grads]
        tables = [primal_table(graph, digits)]
        if args.mode == "forward":
            seeds = [seed] if seed is not None else list(range(len(names)))
            for sd in seeds:
                t = tangent_table(graph, sd, digits)
                t.title = f"Forward tangent trace ({_seed_text(names, sd)})"
                tables.append(t)
        elif args.mode == "both":
            t = tangent_table(graph, seed, digits)
            t.title = f"Forward tangent trace ({_seed_text(names, seed)})"
            tables.append(t)
        if args.mode in ("reverse", "both"):
            tables.append(adjoint_table(graph, None, digits))
        hess = hvp_table = None
        if args.hessian:
            h = ad.hessian(f, argnums=argnums)(*vals)
            hess = np.array(
                [[float(h[i][j]) for j in range(len(names))] for i in range(len(names))]
            )
            v = seed if seed is not None else [float(k == 0) for k in range(len(names))]
            hg = trace_hvp(f, tuple(vals), tuple(np.float64(x) for x in v), names=names)
            hvp_table = primal_table(hg, digits)
            hvp_table.title = f"Forward-over-reverse trace of H v, v = ({_vec(v)})"
    if args.graph:
        try:
            if hvp_table is not None:
                # the second-order sweep that computed H v: each node with its value
                save(hg, args.graph, tangents=None, adjoints=None, digits=digits)
            else:
                save(
                    graph,
                    args.graph,
                    tangents=seed if seed is not None else True,
                    adjoints=True,
                    digits=digits,
                )
        except OSError as e:
            raise CLIError(f"--graph {args.graph}: cannot write it ({e.strerror or e})") from None

    fmt = args.format
    if fmt == "json":
        doc = {
            "expression": expr.source,
            "variables": names,
            "at": {n: float(v) for n, v in zip(names, vals, strict=True)},
            "value": _jfloat(value),
            "gradient": {n: _jfloat(g) for n, g in zip(names, grads, strict=True)},
            "mode": args.mode,
            "traces": [t.to_dict() for t in tables],
            "graph": _graph_json(graph),
        }
        if hess is not None:
            doc["hessian"] = [[_jfloat(x) for x in row] for row in hess]
            doc["hessian_trace"] = hvp_table.to_dict()
        if args.graph:
            doc["graph_file"] = args.graph
        if args.sparsity is not None:
            doc["sparsity"] = _sparsity_doc(f, names, vals, args.sparsity)
        out.write(json.dumps(doc, indent=2) + "\n")
        _nonfinite_note("diff", value, names, grads, hess)
        return 0

    header_at = ", ".join(f"{n} = {_num(v)}" for n, v in zip(names, vals, strict=True))
    how = {
        "reverse": "reverse mode: one forward pass, one adjoint sweep",
        "both": "reverse mode: one forward pass, one adjoint sweep",
        "forward": f"forward mode: {len(names)} tangent pass(es), one per variable",
    }[args.mode]
    sig = f"f({', '.join(names)})"
    if fmt == "text":
        lines = [
            f"{sig} = {expr.source}",
            f"at {header_at}",
            "",
            f"value     f = {_num(value)}",
            f"gradient  ({how})",
        ]
        lines += [f"  df/d{n} = {_num(g)}" for n, g in zip(names, grads, strict=True)]
        body = [_table_text(t) for t in tables]
        if hess is not None:
            body.append(_hessian_text(hess, names))
            body.append(_table_text(hvp_table))
        out.write("\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n")
    elif fmt == "markdown":
        lines = [
            f"**{sig} = {expr.source}** at {header_at}",
            "",
            f"- value: f = {_num(value)}",
            "- gradient ("
            + how
            + "): "
            + ", ".join(f"df/d{n} = {_num(g)}" for n, g in zip(names, grads, strict=True)),
        ]
        body = [t.to_markdown() for t in tables]
        if hess is not None:
            body.append(_hessian_markdown(hess, names))
            body.append(hvp_table.to_markdown())
        out.write("\n".join(lines) + "\n\n" + "\n\n".join(body) + "\n")
    else:  # latex
        grad_tex = ", ".join(_num(g) for g in grads)
        lines = [
            f"% {sig} = {expr.source} at {header_at}",
            f"f = {_num(value)}, \\quad \\nabla f = ({grad_tex})",
            "",
        ]
        body = [t.to_latex() for t in tables]
        if hess is not None:
            rows = r" \\ ".join(" & ".join(_num(x) for x in row) for row in hess)
            body.append(rf"H = \begin{{pmatrix}} {rows} \end{{pmatrix}}")
            body.append(hvp_table.to_latex())
        out.write("\n".join(lines) + "\n" + "\n\n".join(body) + "\n")
    if args.graph:
        what = "graph of the second-order sweep (H v)" if hess is not None else "graph"
        out.write(f"\n{what} written to {args.graph}\n" if fmt == "text" else "")
    if args.sparsity is not None:
        out.write("\n" + _sparsity_text(_sparsity_doc(f, names, vals, args.sparsity), names))
    _nonfinite_note("diff", value, names, grads, hess)
    return 0


def _sparsity_doc(f, names, vals, path: str) -> dict:
    """``--sparsity``: the gradient's and the Hessian's patterns (and the picture)."""
    import adgraph as ad

    def g(v):
        return f(*[v[i] for i in range(len(names))])

    x = np.array([float(v) for v in vals])
    try:
        with np.errstate(all="ignore"):
            grad_p = ad.jacobian_sparsity(g, x)
            hess_p = ad.hessian_sparsity(g, x)
    except ImportError as e:
        raise CLIError(f"--sparsity: {e}") from None
    doc = {
        "gradient": [n for n, on in zip(names, grad_p.toarray()[0], strict=True) if on],
        "hessian": hess_p.toarray().astype(int).tolist(),
        "hessian_nonzeros": int(hess_p.nnz),
    }
    if path:
        try:
            hess_p.savefig(path)
        except ImportError as e:
            raise CLIError(f"--sparsity {path}: {e}") from None
        except OSError as e:
            raise CLIError(f"--sparsity {path}: cannot write it ({e.strerror or e})") from None
        doc["file"] = path
    return doc


def _check_sparsity_option(path: str, names) -> None:
    """Refuse a bad ``--sparsity`` before any work is done."""
    if path and os.path.splitext(path)[1].lower() not in (".svg", ".png", ".pdf"):
        raise CLIError(f"--sparsity {path}: use a .svg file (or .png/.pdf with matplotlib)")
    if path and os.path.isdir(path):
        raise CLIError(f"--sparsity {path} is a folder; give a file name")
    if len(names) > 400:
        raise CLIError(f"--sparsity shows at most 400 variables, the expression has {len(names)}")


def _sparsity_text(doc: dict, names) -> str:
    w = max(len(n) for n in names)
    lines = [
        "sparsity (detected from the graph; # may be nonzero, . is zero everywhere)",
        "  gradient depends on: " + (" ".join(doc["gradient"]) or "nothing"),
        f"  Hessian ({doc['hessian_nonzeros']} of {len(names) ** 2} entries):",
        "  " + " " * w + " " + " ".join(n.rjust(w) for n in names),
    ]
    for n, row in zip(names, doc["hessian"], strict=True):
        lines.append("  " + n.rjust(w) + " " + " ".join(("#" if v else ".").rjust(w) for v in row))
    if "file" in doc:
        lines.append(f"  Hessian spy plot written to {doc['file']}")
    return "\n".join(lines) + "\n"


def _table_text(table) -> str:
    """``table.to_text()``, except that no column is padded wider than
    :data:`_TABLE_WIDTH`: a longer row (the adjoint of a variable used thousands of times)
    overhangs instead of widening every other row, so the text grows with the number of
    operations, not with its square."""
    body = table.lines()
    w1 = min(_TABLE_WIDTH, max([_width(table.title)] + [_width(a) for a, _ in body]))
    w2 = min(_TABLE_WIDTH, max([_width(table.header)] + [_width(b) for _, b in body]))
    sep = f"+-{'-' * w1}-+-{'-' * w2}-+"
    out = [sep, f"| {_pad(table.title, w1)} | {_pad(table.header, w2)} |", sep]
    out += [f"| {_pad(a, w1)} | {_pad(b, w2)} |" for a, b in body]
    out.append(sep)
    return "\n".join(out)


def _width(s: str) -> int:
    return sum(1 for ch in s if not unicodedata.combining(ch))


def _pad(s: str, w: int) -> str:
    return s + " " * max(0, w - _width(s))


def _nonfinite_note(command, value, names, grads, hess=None) -> None:
    """One line on stderr when the value or a derivative is inf or nan. Such results are
    printed as they are (a valid floating-point evaluation, exit status 0): the point lies
    outside the expression's domain, on a singularity, or beyond float64's range."""
    bad = [] if math.isfinite(float(value)) else [f"f = {_num(value)}"]
    bad += [
        f"df/d{n} = {_num(g)}"
        for n, g in zip(names, grads, strict=True)
        if not math.isfinite(float(g))
    ]
    if hess is not None and not np.all(np.isfinite(hess)):
        bad.append("the Hessian")
    if bad:
        sys.stderr.write(
            f"adgraph {command}: note: not finite at this point: {', '.join(bad)} (the point "
            "is outside the expression's domain, on a singularity, or the numbers overflow "
            "float64)\n"
        )


def _seed_text(names, seed):
    if seed is None:
        seed = 0
    if isinstance(seed, int):
        seed = [float(k == seed) for k in range(len(names))]
    return ", ".join(f"d{n} = {_num(s)}" for n, s in zip(names, seed, strict=True))


def _vec(v):
    return ", ".join(_num(x) for x in v)


def _jfloat(x):
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _hessian_text(h, names):
    w = max([len(n) for n in names] + [len(_num(x)) for x in h.ravel()]) + 2
    lines = ["Hessian (forward-over-reverse)", " " * w + "".join(n.rjust(w) for n in names)]
    for n, row in zip(names, h, strict=True):
        lines.append(n.rjust(w) + "".join(_num(x).rjust(w) for x in row))
    return "\n".join(lines)


def _hessian_markdown(h, names):
    lines = ["| Hessian | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for n, row in zip(names, h, strict=True):
        lines.append(f"| **{n}** | " + " | ".join(_num(x) for x in row) + " |")
    return "\n".join(lines)


def _graph_json(graph):
    labels = graph.labels()
    from ..graph.ir import Node
    from ..graph.tracetable import _jsonable

    nodes = []
    for n in graph.toposort():
        ins = []
        for i in n.inputs:
            ins.append(f"v{labels[i]}" if isinstance(i, Node) else {"const": _jsonable(i.value)})
        nodes.append(
            {
                "name": f"v{labels[n]}",
                "op": n.op,
                "inputs": ins,
                "params": {k: repr(v) for k, v in n.params.items() if not callable(v)},
                "shape": list(n.shape) if n.shape is not None else None,
                "dtype": str(n.dtype),
                "value": _jsonable(n.value),
                "level": graph.levels()[n],
            }
        )
    outs = [
        f"v{labels[o]}" if isinstance(o, Node) else {"const": _jsonable(o.value)}
        for o in graph.outputs
    ]
    return {"nodes": nodes, "outputs": outs}
