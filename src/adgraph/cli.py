"""The ``adgraph`` command: differentiate an expression and show how, compare the three ways
to differentiate, and run the worked examples.

::

    adgraph diff "x1*x2 + x2 - log(x1)" --at x1=2 x2=4
    adgraph diff "x1*x2 + x2 - log(x1)" --at x1=2 x2=4 --hessian --graph trace.svg
    adgraph compare "tanh(w*1.5 + 0.1)" --at w=0.5
    adgraph examples
    adgraph examples run quadratic

Expressions are parsed by :mod:`adgraph.expr` (never evaluated as Python). Every refusal --
a malformed or disallowed expression, missing, extra or non-numeric ``--at`` values, an
unknown option, an unwritable ``--graph`` file, an example's bad option -- is one line on
stderr and exit status 2. Options are never abbreviated. Values are decimal literals
(``2``, ``-0.5``, ``1e-3``, ``1_000``), read by the expression's own rule; hexadecimal,
complex and non-finite values are refused with the reason.

A value or derivative that is ``inf`` or ``nan`` (a point outside the expression's domain,
a singularity, an overflow) is a valid floating-point evaluation: ``diff`` and ``compare``
print it as it is, in every format, with a one-line note on stderr, and exit with status 0.

Every command answers within seconds. ``compare`` gives SymPy ``--sympy-timeout`` seconds
(default 5) in a child process and evaluates its derivative in float64, so an exact
computation that would never end (``exp(exp(x))`` at ``x = 1e9``) is reported as timed out
or as ``inf``, never waited for. Work that grows with the number of variables times the
size of the expression -- compare's finite differences, forward mode's one tangent trace
per variable, the Hessian's one pass per variable -- is checked before it starts, and
beyond a limit refused with the reason (status 2).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import unicodedata
import warnings

import numpy as np

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2

#: Seconds ``adgraph compare`` gives SymPy by default.
SYMPY_TIMEOUT = 5.0

# Work limits, checked before any is done, so that every command answers within seconds:
# evaluations of one node of the expression for compare's finite differences (a few
# microseconds each); variables x nodes for the passes that forward mode and the
# Hessian make, one per variable (a few microseconds each); rows of forward mode's tangent
# traces, one trace per variable (a fraction of a millisecond each).
_MAX_FD_EVALUATIONS = 1_500_000
_MAX_PASS_WORK = 500_000
_MAX_TANGENT_ROWS = 20_000
# Entries of the Hessian, variables squared (tens of microseconds each: ad.hessian of n
# scalar arguments assembles n x n scalars).
_MAX_HESSIAN_ENTRIES = 40_000
# Nodes in a picture that Graphviz lays out (.svg, .png, .pdf); .dot and .mmd are text.
_MAX_PICTURE_NODES = 1_000
# Columns to which text trace tables pad their rows; a longer row overhangs.
_TABLE_WIDTH = 200


class CLIError(Exception):
    """A refusal: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with every error reported on one line and no abbreviated options (``--a``
    is not read as ``--at``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(
        prog="adgraph",
        description="Automatic differentiation with the computation graph in view.",
        epilog="Run 'adgraph COMMAND --help' for the options of each command.",
    )
    p.add_argument("--version", action="version", version=f"adgraph {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    expr_help = (
        "the expression: numbers, variables, + - * / ** (and unary -), parentheses, the "
        "constants pi and e, and the functions exp, log (ln), sqrt, sin, cos, tan, tanh, "
        "arcsin, ... ('-' reads it from standard input)"
    )
    d = sub.add_parser(
        "diff",
        help="value, gradient (and Hessian) of an expression, with its evaluation traces",
        description="Differentiate an expression at a point and print its value, gradient "
        "and evaluation-trace tables (forward primal, forward tangent, reverse adjoint).",
    )
    _expression_and_point(d, expr_help, "(their order numbers the inputs)")
    d.add_argument(
        "--mode",
        choices=("forward", "reverse", "both"),
        default="both",
        help="forward: gradient by tangents (one trace per input); reverse: by one "
        "adjoint sweep; both (default): reverse gradient, all three tables",
    )
    d.add_argument(
        "--seed",
        nargs="+",
        action="extend",
        metavar="NAME=VALUE",
        help="tangent direction for the forward tangent trace (default: 1 for the "
        "first variable, 0 for the others)",
    )
    d.add_argument(
        "--hessian",
        action="store_true",
        help="also the Hessian (forward-over-reverse) and the trace of H times the seed",
    )
    d.add_argument(
        "--graph",
        metavar="FILE",
        help="write the computation graph: .dot/.gv, .mmd (Mermaid), or .svg/.png/.pdf "
        "(these need Graphviz's dot program)",
    )
    _format_option(d, ("text", "markdown", "latex", "json"))
    d.add_argument(
        "--digits", type=int, default=3, help="decimals shown in the trace tables (default 3)"
    )
    d.add_argument(
        "--sparsity",
        nargs="?",
        const="",
        metavar="FILE",
        help="also the sparsity patterns of the gradient and the Hessian, detected from the "
        "graph (which variables interact); FILE (.svg, or .png with matplotlib) gets the "
        "Hessian's spy plot",
    )

    c = sub.add_parser(
        "compare",
        help="automatic vs finite-difference vs symbolic (SymPy) derivatives",
        description="Differentiate an expression three ways: AD, finite differences over a "
        "sweep of steps, and SymPy (optional extra: pip install adgraph[sympy]).",
    )
    _expression_and_point(c, expr_help)
    _format_option(c, ("text", "markdown", "json"))
    c.add_argument("--no-sympy", action="store_true", help="skip the symbolic derivative")
    c.add_argument(
        "--sympy-timeout",
        type=_seconds,
        default=SYMPY_TIMEOUT,
        metavar="SECONDS",
        help="stop SymPy after this many seconds and report it as timed out (default "
        f"{SYMPY_TIMEOUT:g}); AD and finite differences are reported either way",
    )

    e = sub.add_parser(
        "examples",
        help="list or run the worked examples",
        description="List the worked examples, or run one.",
    )
    esub = e.add_subparsers(dest="action", metavar="ACTION")
    esub.add_parser(
        "list", help="list the examples (the default)", description="List the worked examples."
    )
    r = esub.add_parser(
        "run",
        help="run an example: adgraph examples run NAME [OPTIONS...]",
        description="Run a worked example; options after NAME go to the example "
        "(try: adgraph examples run NAME --help).",
    )
    r.add_argument("name", help="the example's name (see 'adgraph examples')")
    r.add_argument("args", nargs=argparse.REMAINDER, help="options passed to the example")
    return p


def _expression_and_point(parser, expr_help, at_note=""):
    """The positional expression and the required ``--at NAME=VALUE ...`` point."""
    parser.add_argument("expression", help=expr_help)
    parser.add_argument(
        "--at",
        nargs="+",
        action="extend",
        required=True,
        metavar="NAME=VALUE",
        help=f"the point: one NAME=VALUE per variable {at_note}".rstrip(),
    )


def _format_option(parser, choices):
    parser.add_argument(
        "--format", choices=choices, default="text", help="output format (default text)"
    )


_OPTIONS = {
    "-h",
    "--help",
    "--at",
    "--mode",
    "--seed",
    "--hessian",
    "--graph",
    "--format",
    "--digits",
    "--sparsity",
    "--no-sympy",
    "--sympy-timeout",
}


def _seconds(text: str) -> float:
    """``--sympy-timeout``: a positive decimal number of seconds."""
    from .expr import ExprError, parse_number

    try:
        v = parse_number(text)
    except ExprError as e:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} {e}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a positive number of seconds")
    return v


def _protect_expression(argv):
    """An expression starting with '-' (``-x**2``) is not an option: hide its sign from
    argparse with a leading space (the parser ignores spaces)."""
    argv = list(argv)
    if len(argv) >= 2 and argv[0] in ("diff", "compare"):
        a = argv[1]
        if a.startswith("-") and a != "-" and a.split("=")[0] not in _OPTIONS:
            argv[1] = " " + a
    return argv


def _assignments(items, what) -> dict:
    """``{name: value}`` from ``NAME=VALUE`` items; values are decimal literals, read as the
    expression's numbers are (:func:`adgraph.expr.parse_number`)."""
    from .expr import ExprError, parse_number

    out = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f"{what}: expected NAME=VALUE, got {item[:40]!r}")
        name, _, text = item.partition("=")
        name = name.strip()
        if not name or not (
            name[0].isalpha() and name.isascii() and name.replace("_", "a").isalnum()
        ):
            raise CLIError(f"{what}: {name[:40]!r} is not a variable name")
        if name in out:
            raise CLIError(f"{what}: {name} is given twice")
        try:
            out[name] = parse_number(text)
        except ExprError as e:
            raise CLIError(f"{what}: {name}={text[:40]!r} {e}") from None
    return out


def _read_stdin(limit: int) -> str:
    """At most ``limit`` bytes of standard input as text; bytes that are not UTF-8 become
    lone surrogates (as in ``sys.argv``), which the parser names and refuses."""
    stream = sys.stdin
    if stream is None:
        raise CLIError("'-' reads the expression from standard input, but there is none")
    buffer = getattr(stream, "buffer", None)
    try:
        data = buffer.read(limit) if buffer is not None else stream.read(limit)
    except (OSError, ValueError) as e:
        raise CLIError(f"cannot read standard input ({e})") from None
    if isinstance(data, bytes):
        data = data.decode("utf-8", "surrogateescape")
    return data


def _load_expression(text, at_items):
    from .expr import CONSTANTS, MAX_LENGTH, parse

    if text == "-":
        text = _read_stdin(2 * MAX_LENGTH + 1)
    expr = parse(text)
    at = _assignments(at_items, "--at")
    for name in at:
        if name in CONSTANTS:
            raise CLIError(
                f"--at: {name} is the constant {CONSTANTS[name]:.6g}; rename the variable"
            )
    if not expr.variables:
        raise CLIError("the expression has no variables to differentiate")
    missing = [v for v in expr.variables if v not in at]
    if missing:
        raise CLIError(f"--at: no value for {missing[0]} (give --at {missing[0]}=VALUE)")
    extra = [v for v in at if v not in expr.variables]
    if extra:
        raise CLIError(f"--at: {extra[0]} does not appear in the expression")
    names = list(at)
    return expr, names, [np.float64(at[n]) for n in names]


# ---------------------------------------------------------------------- diff
def _num(x, digits=12):
    x = float(x)
    if not math.isfinite(x):
        return str(x)  # inf, -inf, nan: printed as they are (a valid evaluation)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}g}"


def _cmd_diff(args, out) -> int:
    import adgraph as ad

    from .graph import trace, trace_hvp
    from .graph.render import graphviz_available, save
    from .graph.tables import adjoint_table, primal_table, tangent_table

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
            from .graph.render import INSTALL_HINT, _matplotlib_available

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
    from .graph.ir import Node
    from .graph.tables import _jsonable

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


# ---------------------------------------------------------------------- compare
def _cmd_compare(args, out) -> int:
    from .compare import DEFAULT_STEPS, compare

    expr, names, vals = _load_expression(args.expression, args.at)
    evaluations = len(DEFAULT_STEPS) * 2 * len(names) * expr.size
    if evaluations > _MAX_FD_EVALUATIONS:
        raise CLIError(
            f"too large for finite differences: {len(DEFAULT_STEPS)} steps x 2 evaluations x "
            f"{len(names)} variables x {expr.size} expression nodes is {evaluations:,} node "
            f"evaluations (at most {_MAX_FD_EVALUATIONS:,}); compare fewer variables, or use "
            "adgraph diff for the gradient alone"
        )
    f = expr.function(names)
    # Floating-point warnings become inf/nan in the report (and the note below); library
    # warnings would add lines to stderr. The SymPy child inherits these settings.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = compare(
            f,
            *[float(v) for v in vals],
            symbolic=not args.no_sympy,
            names=names,
            timeout=args.sympy_timeout,
        )
    rep.function = f"f({', '.join(names)}) = {expr.source}"
    if args.format == "json":
        out.write(json.dumps(rep.to_dict(), indent=2) + "\n")
    elif args.format == "markdown":
        out.write(rep.to_markdown() + "\n")
    else:
        out.write(str(rep) + "\n")
    _nonfinite_note("compare", rep.value, names, list(rep.ad["gradient"]))
    return 0


# ---------------------------------------------------------------------- examples
def _cmd_examples(args, out) -> int:
    from .examples import EXAMPLES

    if args.action in (None, "list"):
        width = max(len(n) for n in EXAMPLES)
        out.write("Worked examples (run one with: adgraph examples run NAME):\n")
        for name in EXAMPLES:
            out.write(f"  {name.ljust(width)}  {_describe(name)}\n")
        return 0
    return _run_example(args.name, args.args)


def _describe(name) -> str:
    import importlib.util

    from .examples import EXAMPLES, load

    path = EXAMPLES[name]
    if path not in sys.modules:
        try:
            found = importlib.util.find_spec(path) is not None
        except (ModuleNotFoundError, ValueError):
            found = False
        if not found:
            return "(not available in this installation yet)"
    try:
        return getattr(load(name), "DESCRIPTION", "")
    except Exception as e:  # an example that fails to import is still listed
        first = str(e).splitlines()[0] if str(e) else ""
        return f"(cannot be loaded: {type(e).__name__}: {first})"


def _run_example(name, argv) -> int:
    from .examples import EXAMPLES, load

    if name not in EXAMPLES:
        raise CLIError(f"unknown example {name!r}; known examples: {', '.join(EXAMPLES)}")
    path = EXAMPLES[name]
    try:
        module = load(name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (path == missing or path.startswith(missing + ".")):
            raise CLIError(
                f"example {name!r} is not available in this installation yet (module {path} "
                "not found)"
            ) from None
        raise CLIError(
            f"example {name!r} needs a package that is not installed: {e}; try "
            "pip install 'adgraph[plot,sklearn,scipy]'"
        ) from None
    main_fn = getattr(module, "main", None)
    if main_fn is None:
        raise CLIError(f"example {name!r} ({path}) has no main(argv) function")
    try:
        rc = main_fn(list(argv))
    except SystemExit as e:  # the example's own --help, or its one-line refusal (status 2)
        code = e.code
        if code is None or isinstance(code, int):
            return int(code or 0)
        raise CLIError(str(code)) from None
    except ImportError as e:  # an optional extra the run needs (the message says which)
        text = str(e).splitlines()[0] if str(e) else f"module {e.name} is not installed"
        raise CLIError(f"example {name!r}: {text}") from None
    return int(rc or 0)


# ---------------------------------------------------------------------- main
def main(argv=None, out=None) -> int:
    """Run the ``adgraph`` command with ``argv`` (default: ``sys.argv[1:]``); returns the
    exit status."""
    from .expr import ExprError

    out = sys.stdout if out is None else out
    _safe_encoding(out)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(_protect_expression(argv))
    except SystemExit as e:  # --help, --version, and usage errors (already printed)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    if args.command is None:
        parser.print_help(out)
        return 0
    try:
        if args.command == "diff":
            return _cmd_diff(args, out)
        if args.command == "compare":
            return _cmd_compare(args, out)
        return _cmd_examples(args, out)
    except (CLIError, ExprError) as e:
        _fail(f"adgraph {args.command}: error: {e}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _fail("adgraph: interrupted")
        return 130
    except Exception as e:
        if os.environ.get("ADGRAPH_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        _fail(
            f"adgraph {args.command}: error: {type(e).__name__}: {msg} "
            "(set ADGRAPH_DEBUG=1 to see the traceback)"
        )
        return 1


def _fail(message: str) -> None:
    sys.stderr.write(" ".join(message.split()) + "\n")


def _safe_encoding(stream) -> None:
    # Trace tables use a few non-ASCII symbols (dots and bars over v, subscripts); on a
    # terminal that cannot show them, replace rather than fail.
    enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if enc and enc != "utf8" and hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(errors="replace")
        except (ValueError, OSError):
            pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
