"""Loops of Python floats: a step whose values are all float64 scalars runs on ``float``.

The Python code generator runs a loop's step with one NumPy call per operation, and a
NumPy call on a 0-d value costs about a microsecond. When every value of the step is a
float64 scalar and every operation is one of the arithmetic operators or a function of
:mod:`math`, the step runs on Python floats instead: ``+ - * /`` are IEEE operations in
both, and a :mod:`math` function is used only where it agrees with NumPy's ufunc bit for
bit on a calibration sample of this machine's libraries (:func:`math_agrees`); where it
does not, the step calls the ufunc and converts its result (exact, only slower).

The two differ where NumPy returns ``inf``/``nan`` and Python raises: a division by zero
(ZeroDivisionError), ``math.exp`` of a large value (OverflowError), ``math.log`` of zero
or ``math.sin`` of ``inf`` (ValueError). The generated code runs the float loop inside
``try``; on any of these it runs the NumPy loop from the start instead (a loop only reads
its inputs, so nothing has to be undone), which gives NumPy's values and warnings.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ..graph.ir import Const, Node

__all__ = ["float_step", "math_agrees", "INFIX", "UNARY"]

#: Operations written as Python operators (IEEE arithmetic, the same bits as NumPy's).
INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}

#: Unary operations and their :mod:`math` counterparts (None: written inline).
UNARY = {
    "negative": None,
    "square": None,
    "abs": "fabs",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "exp": "exp",
    "exp2": "exp2",
    "expm1": "expm1",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "log1p": "log1p",
    "sqrt": "sqrt",
}


def _sample() -> np.ndarray:
    rng = np.random.default_rng(20261206)
    parts = [
        rng.uniform(-10.0, 10.0, 1500),
        rng.uniform(-1.0, 1.0, 500),
        rng.uniform(-750.0, 750.0, 300),
        rng.choice([-1.0, 1.0], 400) * 10.0 ** rng.uniform(-300.0, 300.0, 400),
        np.array([0.0, -0.0, 0.5, 1.0, -1.0, 2.0, np.pi, 1e-310, 709.7, -745.0]),
    ]
    return np.concatenate(parts)


@cache
def math_agrees(op: str) -> bool:
    """Whether ``math``'s counterpart of the ufunc ``op`` gives NumPy's bits on every
    value of a calibration sample (values where ``math`` raises are left out: the
    generated code falls back to NumPy there)."""
    name = UNARY.get(op)
    if name is None or not hasattr(math, name):
        return False
    mf = getattr(math, name)
    from .codegen import UFUNCS

    uf = getattr(np, UFUNCS[op])
    with np.errstate(all="ignore"):
        for x in _sample():
            try:
                m = mf(float(x))
            except (ArithmeticError, ValueError):
                continue
            u = uf(np.float64(x))
            if np.isnan(m) and np.isnan(u):
                continue
            if np.float64(m).view(np.int64) != np.float64(u).view(np.int64):
                return False
    return True


def _ufunc_float(uf):
    def call(x):
        return float(uf(x))

    return call


def float_step(g, ns: dict) -> dict | None:
    """``{node: expression maker}`` preconditions for the step graph ``g``: None unless
    every input, node and output is a float64 scalar and every operation has a float
    form; binds the functions it needs into the namespace ``ns``."""
    f64 = np.dtype(np.float64)
    readers: dict = {}
    for n in g.nodes:
        for i in n.inputs:
            if isinstance(i, Node):
                readers.setdefault(i, []).append(n)
    for n in g.inputs:
        if tuple(n.shape or ()) != ():
            return None
        if np.dtype(n.dtype) == f64 or (n not in readers and n not in g.outputs):
            continue
        # an integer (fori_loop's index) read only by float64 arithmetic, which converts
        # it to float64 as Python does (both round to nearest)
        if np.dtype(n.dtype).kind not in "iu" or n in g.outputs:
            return None
        if not all(m.op in INFIX and np.dtype(m.dtype) == f64 for m in readers[n]):
            return None
    for o in g.outputs:
        if not isinstance(o, Node):
            return None
    funcs = {}
    for n in g.toposort():
        if n.is_input:
            continue
        if tuple(n.shape or ()) != () or n.dtype is None or np.dtype(n.dtype) != f64:
            return None
        if n.params and not (n.op == "integer_pow" and n.params.get("n") == 2):
            return None
        for i in n.inputs:
            if isinstance(i, Const) and not _float_const(i.value):
                return None
            if isinstance(i, Node) and np.dtype(i.dtype) != f64 and not i.is_input:
                return None
        if n.op in INFIX and len(n.inputs) == 2:
            continue
        if n.op == "integer_pow" or (n.op in UNARY and len(n.inputs) == 1):
            name = UNARY.get(n.op)
            if name is not None:
                key = f"_fl_{n.op}"
                if key not in ns:
                    if math_agrees(n.op):
                        ns[key] = getattr(math, name)
                    else:
                        from .codegen import UFUNCS

                        ns[key] = _ufunc_float(getattr(np, UFUNCS[n.op]))
                funcs[n.op] = key
            continue
        return None
    return funcs


def _float_const(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, float):
        return True
    if isinstance(v, int):
        return abs(v) <= 2**53
    return (
        isinstance(v, (np.floating, np.ndarray))
        and np.dtype(v.dtype) == np.float64
        and (np.ndim(v) == 0)
    )


def float_expr(n, args: list[str], funcs: dict) -> str:
    """The Python float expression of node ``n`` on the argument expressions ``args``."""
    op = n.op
    if op in INFIX:
        return f"({args[0]} {INFIX[op]} {args[1]})"
    if op == "negative":
        return f"(-{args[0]})"
    if op in ("square", "integer_pow"):
        return f"({args[0]} * {args[0]})"
    return f"{funcs[op]}({args[0]})"


def const_expr(v) -> str | None:
    """A float constant's source (None: not a finite float the source can hold)."""
    f = float(v) if not isinstance(v, float) else v
    if math.isfinite(f):
        return repr(f)
    return None


def float_lines(graph, names: dict, prefix: str, ind: str, funcs: dict, const=None):
    """The lines computing ``graph`` on Python floats, one assignment per node, indented
    by ``ind``: its inputs named by ``names``, which gets each node's name
    (``prefix`` and its position) too. A constant without a float source goes through
    ``const(value)`` (a name the generated code holds it by); without ``const`` the
    result is then None."""
    lines = []
    for k, m in enumerate(x for x in graph.toposort() if not x.is_input):
        args = []
        for i in m.inputs:
            if isinstance(i, Node):
                args.append(names[i])
                continue
            e = const_expr(i.value)
            if e is None:
                if const is None:
                    return None
                e = const(i.value)
            args.append(e)
        names[m] = f"{prefix}{k}"
        lines.append(f"{ind}{prefix}{k} = {float_expr(m, args, funcs)}")
    return lines
