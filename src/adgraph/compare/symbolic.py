r"""SymPy's side: the function run on symbols to build one closed-form expression,
SymPy's derivative of it, that derivative evaluated in float64 node by node (overflow is
``inf``, as in AD), and the report of a failure with what it means."""

from __future__ import annotations

import math
import time

import numpy as np

from .report import _max_error

SYMPY_HINT = "SymPy is not installed; install the optional extra: pip install adgraph[sympy]"


# ---------------------------------------------------------------------- SymPy values
class _Sym:
    """A SymPy expression dressed as a number, so adgraph.numpy and NumPy ufuncs (and
    Python operators) build expressions. Comparisons give SymPy relations, whose truth
    value SymPy refuses to decide -- as the article shows."""

    __slots__ = ("e",)
    __array_priority__ = 1000

    def __init__(self, e):
        self.e = e

    @staticmethod
    def _x(v):
        if isinstance(v, _Sym):
            return v.e
        import sympy

        if isinstance(v, (float, np.floating)):
            return sympy.Float(float(v))
        if isinstance(v, (int, np.integer)):
            return sympy.Integer(int(v))
        if isinstance(v, np.ndarray) and v.ndim == 0:
            return _Sym._x(v[()])
        return sympy.sympify(v, strict=True)  # never parses text

    def __add__(self, o):
        return _Sym(self.e + _Sym._x(o))

    def __radd__(self, o):
        return _Sym(_Sym._x(o) + self.e)

    def __sub__(self, o):
        return _Sym(self.e - _Sym._x(o))

    def __rsub__(self, o):
        return _Sym(_Sym._x(o) - self.e)

    def __mul__(self, o):
        return _Sym(self.e * _Sym._x(o))

    def __rmul__(self, o):
        return _Sym(_Sym._x(o) * self.e)

    def __truediv__(self, o):
        return _Sym(self.e / _Sym._x(o))

    def __rtruediv__(self, o):
        return _Sym(_Sym._x(o) / self.e)

    def __pow__(self, o):
        return _Sym(self.e ** _Sym._x(o))

    def __rpow__(self, o):
        return _Sym(_Sym._x(o) ** self.e)

    def __neg__(self):
        return _Sym(-self.e)

    def __pos__(self):
        return self

    def __abs__(self):
        import sympy

        return _Sym(sympy.Abs(self.e))

    def __lt__(self, o):
        return self.e < _Sym._x(o)

    def __le__(self, o):
        return self.e <= _Sym._x(o)

    def __gt__(self, o):
        return self.e > _Sym._x(o)

    def __ge__(self, o):
        return self.e >= _Sym._x(o)

    def __bool__(self):
        return bool(self.e)

    def __float__(self):
        return float(self.e)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            return NotImplemented
        rule = _ufunc_rules().get(ufunc.__name__)
        if rule is None:
            raise TypeError(f"SymPy has no counterpart here for numpy.{ufunc.__name__}")
        return _Sym(rule(*[_Sym._x(i) for i in inputs]))


def _ufunc_rules():
    import sympy as sp

    return {
        "add": lambda a, b: a + b,
        "subtract": lambda a, b: a - b,
        "multiply": lambda a, b: a * b,
        "divide": lambda a, b: a / b,
        "true_divide": lambda a, b: a / b,
        "power": lambda a, b: a**b,
        "float_power": lambda a, b: a**b,
        "negative": lambda a: -a,
        "positive": lambda a: a,
        "square": lambda a: a**2,
        "reciprocal": lambda a: 1 / a,
        "sqrt": sp.sqrt,
        "cbrt": lambda a: sp.real_root(a, 3),
        "exp": sp.exp,
        "exp2": lambda a: 2**a,
        "expm1": lambda a: sp.exp(a) - 1,
        "log": sp.log,
        "log2": lambda a: sp.log(a, 2),
        "log10": lambda a: sp.log(a, 10),
        "log1p": lambda a: sp.log(1 + a),
        "sin": sp.sin,
        "cos": sp.cos,
        "tan": sp.tan,
        "arcsin": sp.asin,
        "arccos": sp.acos,
        "arctan": sp.atan,
        "sinh": sp.sinh,
        "cosh": sp.cosh,
        "tanh": sp.tanh,
        "arcsinh": sp.asinh,
        "arccosh": sp.acosh,
        "arctanh": sp.atanh,
        "absolute": sp.Abs,
        "fabs": sp.Abs,
        "sign": sp.sign,
        "arctan2": sp.atan2,
        "hypot": lambda a, b: sp.sqrt(a**2 + b**2),
        "maximum": sp.Max,
        "minimum": sp.Min,
        "fmax": sp.Max,
        "fmin": sp.Min,
        "logaddexp": lambda a, b: sp.log(sp.exp(a) + sp.exp(b)),
        "sinc": lambda a: sp.sin(sp.pi * a) / (sp.pi * a),
        "deg2rad": lambda a: a * sp.pi / 180,
        "rad2deg": lambda a: a * 180 / sp.pi,
        "radians": lambda a: a * sp.pi / 180,
        "degrees": lambda a: a * 180 / sp.pi,
        "greater": lambda a, b: a > b,
        "greater_equal": lambda a, b: a >= b,
        "less": lambda a, b: a < b,
        "less_equal": lambda a, b: a <= b,
    }


def _install_sym_methods():
    # NumPy's loops over object arrays call methods named after the ufunc (x.exp()).
    for name in (
        "exp",
        "log",
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "tanh",
        "sqrt",
        "arcsin",
        "arccos",
        "arctan",
        "log1p",
        "expm1",
        "square",
        "reciprocal",
    ):

        def m(self, _name=name):
            return _Sym(_ufunc_rules()[_name](self.e))

        m.__name__ = name
        setattr(_Sym, name, m)


_install_sym_methods()


# ---------------------------------------------------------------------- the derivative, or why not
_CONTROL_FLOW = (
    "SymPy needs the function as one closed-form expression; this one could not be built "
    "from symbols (Python control flow that depends on the input, such as 'if x > 2', "
    "cannot be decided for a symbol). AD and finite differences evaluate the function at "
    "the point and follow the branch taken there."
)
_TOO_BIG = (
    "SymPy computes with exact, arbitrary-precision numbers, and one it needed here is "
    "beyond what it can hold (or the expression is too deep for it). AD and finite "
    "differences compute in float64, where an overflow is inf."
)


def _failed(stage, exc) -> dict:
    first = str(exc).splitlines()[0] if str(exc) else ""
    reason = f"{type(exc).__name__}: {first}".rstrip(": ")
    if len(reason) > 300:
        reason = reason[:300] + "..."
    if stage != "building the expression":
        reason = f"while {stage}: {reason}"
    if isinstance(exc, (OverflowError, MemoryError, RecursionError)):
        explanation = _TOO_BIG
    elif stage == "building the expression" and "truth value" in reason:
        explanation = _CONTROL_FLOW
    elif stage == "building the expression":
        explanation = (
            "The function could not be run on SymPy symbols (an operation without a SymPy "
            "counterpart here, or one that needs a number). AD and finite differences "
            "evaluate it at the point."
        )
    else:
        explanation = "SymPy could not finish; AD and finite differences are unaffected."
    return {"status": "failed", "reason": reason, "explanation": explanation}


def _symbolic(f, arrays, names, g_ad, stage) -> dict:
    """SymPy's derivative of ``f`` at the point, evaluated in float64; ``stage(text)`` is
    called as each step begins (what a timeout reports)."""
    import sympy as sp

    step = "building the expression"
    stage(step)
    syms = []
    sym_args = []
    for nm, a in zip(names, arrays, strict=True):
        if a.shape == ():
            s = sp.Symbol(nm, real=True)
            syms.append(s)
            sym_args.append(_Sym(s))
        else:
            flat = [sp.Symbol(f"{nm}_{k}", real=True) for k in range(a.size)]
            syms.extend(flat)
            arr = np.empty(a.size, dtype=object)
            for k, s in enumerate(flat):
                arr[k] = _Sym(s)
            sym_args.append(arr.reshape(a.shape))
    try:
        out = f(*sym_args)
        if isinstance(out, np.ndarray) and out.shape == ():
            out = out[()]
        expr = out.e if isinstance(out, _Sym) else sp.sympify(out, strict=True)

        step = "differentiating"
        stage(step)
        t = time.perf_counter()
        derivs = [sp.diff(expr, s) for s in syms]
        t_diff = time.perf_counter() - t

        step = "evaluating the derivative"
        stage(step)
        point = np.concatenate([a.ravel() for a in arrays])
        values = {s: np.float64(v) for s, v in zip(syms, point, strict=True)}
        t = time.perf_counter()
        vals = np.array([_float_value(d, values) for d in derivs], dtype=float)
        t_eval = time.perf_counter() - t

        step = "measuring the expressions"
        stage(step)
        ops = sum(int(sp.count_ops(d)) for d in derivs)
        f_ops = int(sp.count_ops(expr))

        step = "printing the derivative"
        stage(step)
        # SymPy's printer sorts every sum and product; on a swollen expression that costs
        # seconds, so large ones are printed in their stored order.
        order = None if ops <= 500 else "none"
        text = ", ".join(sp.sstr(d, order=order) for d in derivs)
    except Exception as e:  # SymPy's own failures are the point of the comparison
        return _failed(step, e)
    if len(text) > 160:
        text = text[:150] + f"... ({len(text)} characters)"
    error = _max_error(vals, g_ad)
    return {
        "status": "ok",
        "reason": "",
        "derivative_text": text,
        "gradient": vals,
        "error": error,
        "diff_time_s": t_diff,
        "eval_time_s": t_eval,
        "derivative_ops": ops,
        "function_ops": f_ops,
    }


# ---------------------------------------------------------------------- float evaluation
def _float_value(expr, values) -> float:
    """``expr`` (a SymPy expression) at ``values`` (Symbol -> float64), computed in float64
    node by node without recursion: overflow gives inf and an undefined operation nan, as
    in AD -- SymPy's exact evaluation could need more digits than fit in memory."""
    memo = {}  # id(node) -> its value; the nodes stay alive in expr
    stack = [(expr, False)]
    with np.errstate(all="ignore"):
        while stack:
            node, ready = stack.pop()
            if id(node) in memo:
                continue
            if node.args and not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if id(a) not in memo)
                continue
            memo[id(node)] = _float_node(node, [memo[id(a)] for a in node.args], values)
    v = memo[id(expr)]
    return float(v) if not isinstance(v, tuple) else math.nan


def _float_node(node, args, values):
    import sympy as sp

    if node.is_Symbol:
        return values[node]
    if node.is_Number or isinstance(node, sp.NumberSymbol):
        try:
            return np.float64(float(node))
        except (TypeError, ValueError):  # zoo (complex infinity), and the like
            return np.float64(math.nan)
    if isinstance(node, sp.Add):
        total = np.float64(0.0)
        for a in args:
            total = total + a
        return total
    if isinstance(node, sp.Mul):
        prod = np.float64(1.0)
        for a in args:
            prod = prod * a
        return prod
    if isinstance(node, sp.Pow):
        return np.power(np.float64(args[0]), np.float64(args[1]))
    fn = _float_functions().get(node.func)
    if fn is not None:
        return fn(*args)
    if node is sp.true or node is sp.false:
        return bool(node)
    if isinstance(node, sp.core.relational.Relational):
        return bool(_RELATIONS[node.rel_op](args[0], args[1]))
    if isinstance(node, sp.And):
        return all(args)
    if isinstance(node, sp.Or):
        return any(args)
    if isinstance(node, sp.Not):
        return not args[0]
    if isinstance(node, sp.functions.elementary.piecewise.ExprCondPair):
        return (args[0], args[1])
    if isinstance(node, sp.Piecewise):
        return next((v for v, c in args if c), np.float64(math.nan))
    return _float_fallback(node, args)


_RELATIONS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _float_fallback(node, args):
    """A function without a float64 counterpart here: SymPy's own numerical value at the
    float arguments (real, else nan)."""
    import sympy as sp

    try:
        v = complex(node.func(*[sp.Float(float(a)) for a in args]).evalf(17))
    except (TypeError, ValueError, ArithmeticError):
        return np.float64(math.nan)
    if abs(v.imag) > 1e-12 * max(1.0, abs(v.real)):
        return np.float64(math.nan)
    return np.float64(v.real)


def _heaviside(x, h0=0.5):
    return np.heaviside(x, h0)


def _dirac(x, *_):
    # zero away from 0; at 0 not a number
    return np.float64(0.0) if x != 0 else np.float64(math.nan)


def _float_functions():
    import sympy as sp

    global _FLOAT_FUNCTIONS
    if _FLOAT_FUNCTIONS is None:
        _FLOAT_FUNCTIONS = {
            sp.exp: np.exp,
            sp.log: np.log,
            sp.sin: np.sin,
            sp.cos: np.cos,
            sp.tan: np.tan,
            sp.cot: lambda a: 1 / np.tan(a),
            sp.sec: lambda a: 1 / np.cos(a),
            sp.csc: lambda a: 1 / np.sin(a),
            sp.asin: np.arcsin,
            sp.acos: np.arccos,
            sp.atan: np.arctan,
            sp.sinh: np.sinh,
            sp.cosh: np.cosh,
            sp.tanh: np.tanh,
            sp.coth: lambda a: 1 / np.tanh(a),
            sp.sech: lambda a: 1 / np.cosh(a),
            sp.csch: lambda a: 1 / np.sinh(a),
            sp.asinh: np.arcsinh,
            sp.acosh: np.arccosh,
            sp.atanh: np.arctanh,
            sp.atan2: np.arctan2,
            sp.Abs: np.abs,
            sp.sign: np.sign,
            sp.Heaviside: _heaviside,
            sp.DiracDelta: _dirac,
            sp.Max: lambda *a: np.max(a),
            sp.Min: lambda *a: np.min(a),
            sp.floor: np.floor,
            sp.ceiling: np.ceil,
        }
    return _FLOAT_FUNCTIONS


_FLOAT_FUNCTIONS = None
