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
import os
import sys
import warnings

import numpy as np

from ._common import _MAX_FD_EVALUATIONS, CLIError, _load_expression
from .diff import _cmd_diff, _nonfinite_note

# The text tables' width and helpers, read here by the tests (re-exported).
from ._common import _TABLE_WIDTH as _TABLE_WIDTH  # isort: skip
from .diff import _table_text as _table_text, _width as _width  # isort: skip

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2

#: Seconds ``adgraph compare`` gives SymPy by default.
SYMPY_TIMEOUT = 5.0


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
    from .. import __version__

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
    from ..expr import ExprError, parse_number

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


# ---------------------------------------------------------------------- compare
def _cmd_compare(args, out) -> int:
    from ..compare import DEFAULT_STEPS, compare

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
    from ..examples import EXAMPLES

    if args.action in (None, "list"):
        width = max(len(n) for n in EXAMPLES)
        out.write("Worked examples (run one with: adgraph examples run NAME):\n")
        for name in EXAMPLES:
            out.write(f"  {name.ljust(width)}  {_describe(name)}\n")
        return 0
    return _run_example(args.name, args.args)


def _describe(name) -> str:
    import importlib.util

    from ..examples import EXAMPLES, load

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
    from ..examples import EXAMPLES, load

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
    from ..expr import ExprError

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
