"""The status of every public NumPy name in ``adgraph.numpy`` (main namespace, ``linalg``,
``fft``), read from the code: what is provided, whether it is differentiable, and why a
name is left out.

``python -m adgraph.numpy._status`` prints the table; ``--write`` writes
``docs/numpy_status.md`` (a test checks that file is up to date, and the coverage).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np

import adgraph.numpy as anp

# Out of scope by the project's definition: no numbers to differentiate and nothing an
# array program computes with.
OUT_OF_SCOPE = {
    "file I/O": [
        "fromfile", "fromregex", "genfromtxt", "load", "loadtxt", "memmap", "save", "savetxt",
        "savez", "savez_compressed",
    ],
    "printing": [
        "array2string", "array_repr", "array_str", "base_repr", "binary_repr",
        "format_float_positional", "format_float_scientific", "get_printoptions",
        "set_printoptions", "printoptions", "info",
    ],
    "datetime": [
        "busday_count", "busday_offset", "busdaycalendar", "datetime64", "datetime_as_string",
        "datetime_data", "is_busday", "isnat", "timedelta64",
    ],
    "build, configuration and test helpers": [
        "get_include", "show_config", "show_runtime", "test", "getbufsize", "setbufsize",
        "testing", "typing", "f2py", "ctypeslib", "lib", "core", "version",
    ],
}  # fmt: skip

# In scope but not provided, each with the reason.
NOT_PROVIDED = {
    "matrix": "np.matrix is deprecated by NumPy; a matrix is a 2-d array here (use @)",
    "asmatrix": "np.matrix is deprecated by NumPy; use asarray and @",
    "bmat": "np.matrix is deprecated by NumPy; use block",
    "polynomial": "the numpy.polynomial package (Polynomial, Chebyshev, ... classes) is not "
    "wrapped; the main namespace's polynomial functions are",
    "ma": "masked arrays: derivatives do not follow masks, and adgraph refuses them inside "
    "transformations (use where)",
    "nditer": "an iterator over NumPy's memory; use ndindex/ndenumerate or vectorised code",
    "nested_iters": "an iterator over NumPy's memory; use ndindex or vectorised code",
    "flatiter": "an iterator over NumPy's memory; use ravel",
    "frompyfunc": "returns object arrays of Python results; use vectorize",
}

# Provided functions whose results are integers, booleans or indices: no derivative.
NO_DERIVATIVE = set(
    """
    equal not_equal less less_equal greater greater_equal isclose allclose array_equal
    array_equiv isfinite isinf isnan isneginf isposinf isreal iscomplex isrealobj
    iscomplexobj isscalar signbit logical_and logical_or logical_not logical_xor all any
    bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_invert invert left_shift
    right_shift bitwise_left_shift bitwise_right_shift bitwise_count gcd lcm argmax argmin
    argsort argwhere nonzero flatnonzero count_nonzero nanargmax nanargmin searchsorted
    digitize lexsort argpartition isin indices diag_indices diag_indices_from tril_indices
    tril_indices_from triu_indices triu_indices_from mask_indices ravel_multi_index
    unravel_index packbits unpackbits shape ndim size iterable isfortran may_share_memory
    shares_memory einsum_path result_type promote_types can_cast issubdtype min_scalar_type
    mintypecode common_type typename isdtype broadcast_shapes matrix_rank
    """.split()
)

# Provided functions that build arrays from shapes alone: constants.
CONSTANTS = set(
    """
    zeros ones empty eye identity tri zeros_like ones_like empty_like arange bartlett blackman
    hamming hanning
    """.split()
)

NAMESPACES = [
    ("numpy", np, anp),
    ("numpy.linalg", np.linalg, anp.linalg),
    ("numpy.fft", np.fft, anp.fft),
]

DIFF = "differentiable (forward and reverse)"
NODIFF = "no derivative by nature (integer, boolean or index results)"
CONST = "constant (built from shapes and sizes)"
OWN = "NumPy's own object (dtype, constant or helper: no numbers to differentiate)"
MODULE = "submodule"
UNREVIEWED = "not reviewed yet (a name this NumPy version has and adgraph does not know)"


def _out_of_scope(name: str) -> str | None:
    for reason, names in OUT_OF_SCOPE.items():
        if name in names:
            return reason
    return None


def status_rows() -> list[tuple[str, str, str, str]]:
    """``(namespace, name, kind, note)`` for every public NumPy name; ``kind`` is
    ``provided``, ``missing`` or ``out of scope``."""
    rows = []
    for ns_name, ns, ans in NAMESPACES:
        for name in sorted(n for n in dir(ns) if not n.startswith("_")):
            reason = _out_of_scope(name)
            if reason is not None:
                rows.append((ns_name, name, "out of scope", reason))
                continue
            obj = getattr(ans, name, None)
            if obj is None and not hasattr(ans, name):
                note = NOT_PROVIDED.get(name, UNREVIEWED)
                rows.append((ns_name, name, "missing", note))
                continue
            if isinstance(obj, types.ModuleType):
                note = MODULE
            elif obj is getattr(ns, name):
                note = OWN
            elif name in NO_DERIVATIVE:
                note = NODIFF
            elif name in CONSTANTS:
                note = CONST
            elif isinstance(obj, type) and issubclass(obj, BaseException):
                note = OWN
            else:
                note = DIFF
            rows.append((ns_name, name, "provided", note))
    return rows


def coverage(rows, ns_name: str = "numpy", functions_only: bool = False) -> tuple[int, int]:
    """``(provided, in scope)`` for a namespace (``functions_only``: callables that are not
    types or NumPy's own objects, i.e. what computes on arrays)."""
    provided = total = 0
    for ns, name, kind, note in rows:
        if ns != ns_name or kind == "out of scope":
            continue
        if functions_only and (note in (OWN, MODULE) or kind == "missing" and name in _NOT_FUNCS):
            continue
        total += 1
        provided += kind == "provided"
    return provided, total


_NOT_FUNCS = {"matrix", "polynomial", "ma", "nditer", "nested_iters", "flatiter"}


def render() -> str:
    rows = status_rows()
    out = [
        "# adgraph.numpy: the status of every NumPy name",
        "",
        "Generated from the code by `python -m adgraph.numpy._status --write` (NumPy "
        f"{np.__version__}); `tests/test_numpy_status.py` checks it is up to date. Every",
        "public name of `numpy`, `numpy.linalg` and `numpy.fft` is listed with its status in",
        "`adgraph.numpy`. *Differentiable* functions have forward and reverse rules (checked",
        "against finite differences to second order, through `jit` and `vmap`, by the test",
        "tables); *no derivative by nature* are functions whose results are integers,",
        "booleans or indices (as in JAX); *NumPy's own* names are re-exported unchanged.",
        "",
        "| namespace | in scope | provided | coverage |",
        "|---|---:|---:|---:|",
    ]
    for ns_name, _, _ in NAMESPACES:
        p, t = coverage(rows, ns_name)
        out.append(f"| `{ns_name}` | {t} | {p} | {100 * p / t:.1f}% |")
    p, t = coverage(rows, "numpy", functions_only=True)
    out.append(f"| `numpy`, functions only | {t} | {p} | {100 * p / t:.1f}% |")
    out += [
        "",
        "Out of scope (not counted): file I/O, printing, datetime, and build, configuration",
        "and test helpers.",
        "",
        "The binary elementwise functions also have NumPy's ufunc methods `outer`, `reduce`,",
        "`accumulate` and `at` (functional with `inplace=False`), differentiable as the",
        "function is. NumPy's own calls on traced values (`np.unique(x)`, `np.emath.sqrt(x)`)",
        "reach these functions through NumPy's `__array_function__` protocol. Not done: the",
        "ufunc keywords `out=`, `where=`, `dtype=`, `casting=` of the elementwise functions.",
        "",
    ]
    for ns_name, _, _ in NAMESPACES:
        out += [f"## `{ns_name}`", "", "| name | status |", "|---|---|"]
        for ns, name, kind, note in rows:
            if ns != ns_name:
                continue
            if kind == "missing":
                note = f"**not provided**: {note}"
            elif kind == "out of scope":
                note = f"out of scope ({note})"
            out.append(f"| `{name}` | {note} |")
        out.append("")
    return "\n".join(out)


DOC = Path(__file__).resolve().parents[3] / "docs" / "numpy_status.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--write" in argv:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
