"""What the ``adgraph`` commands share: the refusal (:class:`CLIError`), the work limits
that keep every command within seconds, and the reading of an expression and its point."""

from __future__ import annotations

import sys

import numpy as np

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


def _assignments(items, what) -> dict:
    """``{name: value}`` from ``NAME=VALUE`` items; values are decimal literals, read as the
    expression's numbers are (:func:`adgraph.expr.parse_number`)."""
    from ..expr import ExprError, parse_number

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
    from ..expr import CONSTANTS, MAX_LENGTH, parse

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
