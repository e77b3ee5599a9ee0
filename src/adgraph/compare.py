r"""The three ways to differentiate, side by side: automatic, numerical and symbolic.

:func:`compare` takes a function and a point and reports

* **AD** -- the gradient by reverse mode, its time, and the size of the computation graphs
  of the function and of its gradient;
* **finite differences** -- central, :math:`(f(x+h) - f(x-h))/2h`, and forward,
  :math:`(f(x+h) - f(x))/h`, over a sweep of step sizes ``h``, each with its error against
  AD. Large steps show truncation error (:math:`O(h^2)` and :math:`O(h)`), small ones
  round-off (about :math:`\epsilon/h`), so no step is exact;
* **symbolic differentiation** (SymPy, an optional extra: ``pip install adgraph[sympy]``)
  -- the function is run on symbols to build one closed-form expression, which SymPy
  differentiates: the derivative's value, error, time, and the size of the derivative
  expression against the size of AD's graph. Symbolic expressions repeat shared
  subexpressions, so their size can grow exponentially with the depth of a composition
  ("expression swell"); and a function whose Python control flow depends on its input
  cannot become one expression at all -- SymPy fails, while AD and finite differences
  follow the branch taken at the point.

SymPy computes exactly, so a small expression can cost it without bound (``exp(exp(x))``
at ``x = 1e9`` has about 4e8 decimal digits). The symbolic part therefore runs under a
deadline (``timeout``, 10 s by default) in a child process that is stopped when the time is
up, and SymPy's derivative is evaluated in float64 -- as AD and finite differences are --
where overflow is ``inf`` and an undefined value ``nan``, never an exact number too large to
hold.

:data:`EXAMPLES` holds the founding article's cases: its evaluation-trace function, its
tanh layer, a composition of depth 10, and its branching function.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings

import numpy as np

__all__ = ["compare", "Comparison", "EXAMPLES", "SYMPY_HINT", "DEFAULT_TIMEOUT"]

#: Seconds allowed by default for the symbolic part of :func:`compare`.
DEFAULT_TIMEOUT = 10.0

# Address space the symbolic child process may add to what it inherits (Linux): SymPy's
# exact numbers can grow faster than the deadline stops them.
_CHILD_MEMORY_MARGIN = 4 << 30

SYMPY_HINT = "SymPy is not installed; install the optional extra: pip install adgraph[sympy]"

DEFAULT_STEPS = tuple(10.0 ** (-k) for k in range(1, 13))


# ---------------------------------------------------------------------- examples
def _article(x1, x2):
    import adgraph.numpy as anp

    return x1 * x2 + x2 - anp.log(x1)


def _tanh_layer(w, x=1.5, b=0.1):
    import adgraph.numpy as anp

    z = w * x + b
    return (anp.exp(z) + anp.exp(-z)) / (anp.exp(z) - anp.exp(-z))


def _composition(x, depth=10):
    import adgraph.numpy as anp

    for _ in range(depth):
        x = anp.sin(x) * x + 0.5
    return x


def _branch(x):
    if x > 2:
        return x * 2 + 5
    return x / 2 + 5


_article.__name__ = "f"
_tanh_layer.__name__ = "tanh_layer"
_composition.__name__ = "composition"
_branch.__name__ = "branch"

#: name -> (function, point, description)
EXAMPLES = {
    "article": (_article, (2.0, 4.0), "y = x1*x2 + x2 - ln(x1), the article's trace example"),
    "tanh-layer": (
        _tanh_layer,
        (0.5,),
        "(e^(wx+b) + e^-(wx+b)) / (e^(wx+b) - e^-(wx+b)) in w, x=1.5, b=0.1",
    ),
    "composition": (_composition, (0.3,), "x -> sin(x)*x + 0.5 composed 10 times"),
    "branch": (_branch, (3.0,), "x*2 + 5 if x > 2 else x/2 + 5: Python control flow"),
}


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


# ---------------------------------------------------------------------- the report
def _fmt(x, digits=6):
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    return "[" + ", ".join(f"{float(v):.{digits}g}" for v in a.ravel()) + "]"


def _err(x):
    if x is None or not np.isfinite(x):
        return "nan" if x is not None else "-"
    return f"{x:.1e}"


def _dur(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


class Comparison:
    """What :func:`compare` found; ``str()`` gives a readable report, ``to_dict()`` the data
    (JSON-ready), ``to_markdown()`` Markdown tables."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self) -> dict:
        def conv(v):
            if isinstance(v, dict):
                return {k: conv(u) for k, u in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(u) for u in v]
            if isinstance(v, np.ndarray):
                return conv(v.tolist())
            if isinstance(v, (np.floating, float)):
                f = float(v)
                return f if math.isfinite(f) else str(f)
            if isinstance(v, np.integer):
                return int(v)
            return v

        return conv({k: v for k, v in self.__dict__.items() if not k.startswith("_")})

    @property
    def best_central(self):
        return min(self.fd, key=lambda r: _key(r["central_error"]))

    @property
    def best_forward(self):
        return min(self.fd, key=lambda r: _key(r["forward_error"]))

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point.items())
        ad = self.ad
        out = [
            f"Three ways to differentiate {self.function} at {at}",
            f"value f = {_fmt(self.value, 12)}",
            "",
            "Automatic differentiation (reverse mode, exact up to rounding)",
            f"  gradient  {_fmt(ad['gradient'], 12)}",
            f"  time      {_dur(ad['time_s'])}",
            f"  graph     {ad['graph_operations']} operations in f, "
            f"{ad['grad_graph_operations']} in the gradient computation",
            "",
            "Finite differences (error: largest absolute difference from AD)",
            f"  {'step h':>8}  {'central':>24}  {'error':>8}  {'forward':>24}  {'error':>8}",
        ]
        for r in self.fd:
            out.append(
                f"  {r['step']:>8.0e}  {_fmt(r['central'], 10):>24}  {_err(r['central_error']):>8}"
                f"  {_fmt(r['forward'], 10):>24}  {_err(r['forward_error']):>8}"
            )
        bc, bf = self.best_central, self.best_forward
        out.append(
            f"  best: central at h = {bc['step']:.0e} (error {_err(bc['central_error'])}), "
            f"forward at h = {bf['step']:.0e} (error {_err(bf['forward_error'])}); larger "
            "steps suffer truncation, smaller ones round-off"
        )
        out += ["", "Symbolic differentiation (SymPy)"]
        s = self.sympy
        if s["status"] == "ok":
            out += [
                f"  derivative  {s['derivative_text']}",
                f"  gradient    {_fmt(s['gradient'], 12)}   error {_err(s['error'])}",
                f"  time        {_dur(s['diff_time_s'])} to differentiate, "
                f"{_dur(s['eval_time_s'])} to evaluate",
                f"  size        {s['derivative_ops']} operations in the derivative expression "
                f"({s['function_ops']} in f's expression) against "
                f"{ad['grad_graph_operations']} in AD's gradient graph",
            ]
        elif s["status"] == "unavailable":
            out.append(f"  not run: {s['reason']}")
        elif s["status"] == "skipped":
            out.append("  not run (symbolic=False)")
        elif s["status"] == "timeout":
            out.append(f"  not finished: {s['reason']}")
            out.append(f"  {s['explanation']}")
        else:
            out.append(f"  FAILED: {s['reason']}")
            out.append(f"  {s['explanation']}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        at = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point.items())
        ad, s = self.ad, self.sympy
        out = [
            f"**{self.function}** at {at}: value {_fmt(self.value, 12)}",
            "",
            "| method | gradient | error | time | size |",
            "|---|---|---|---|---|",
            f"| AD (reverse) | {_fmt(ad['gradient'], 12)} | - | {_dur(ad['time_s'])} | "
            f"{ad['grad_graph_operations']} graph operations |",
        ]
        bc, bf = self.best_central, self.best_forward
        out.append(
            f"| central FD, h = {bc['step']:.0e} | {_fmt(bc['central'], 10)} | "
            f"{_err(bc['central_error'])} | - | - |"
        )
        out.append(
            f"| forward FD, h = {bf['step']:.0e} | {_fmt(bf['forward'], 10)} | "
            f"{_err(bf['forward_error'])} | - | - |"
        )
        if s["status"] == "ok":
            out.append(
                f"| SymPy | {_fmt(s['gradient'], 12)} | {_err(s['error'])} | "
                f"{_dur(s['diff_time_s'])} | {s['derivative_ops']} expression "
                "operations |"
            )
        else:
            out.append(f"| SymPy | {s['status']}: {s['reason']} | - | - | - |")
        out += ["", "| step h | central | error | forward | error |", "|---|---|---|---|---|"]
        for r in self.fd:
            out.append(
                f"| {r['step']:.0e} | {_fmt(r['central'], 10)} | "
                f"{_err(r['central_error'])} | {_fmt(r['forward'], 10)} | "
                f"{_err(r['forward_error'])} |"
            )
        return "\n".join(out)


def _max_error(a, b) -> float:
    """Largest absolute difference; equal values (the same infinity too) differ by 0, and
    a nan on either side makes the error nan."""
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        return float(np.max(np.where(a == b, 0.0, np.abs(a - b))))


def _key(e):
    return math.inf if e is None or not np.isfinite(e) else e


# ---------------------------------------------------------------------- compare
def _names(f, n):
    from .graph.tracing import _arg_names

    return _arg_names(f, n)


def _best_time(fn, repeat):
    best = math.inf
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def compare(
    f,
    *args,
    steps=None,
    symbolic: bool = True,
    repeat: int = 3,
    names=None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Comparison:
    """Differentiate scalar-valued ``f`` at ``args`` three ways and report the differences.

    Parameters
    ----------
    f : callable
        ``f(*args) -> scalar``, written with :mod:`adgraph.numpy` (or plain Python
        arithmetic). The gradient is taken with respect to every argument.
    *args : float or array
        The point.
    steps : sequence of float, optional
        Finite-difference steps (default ``1e-1, 1e-2, ..., 1e-12``).
    symbolic : bool
        Try SymPy (needs the optional extra ``adgraph[sympy]``; reported, not raised, when
        missing or when the function cannot be made symbolic).
    repeat : int
        Timings are the best of this many runs.
    names : sequence of str, optional
        Argument names for the report (default: ``f``'s parameter names).
    timeout : float or None
        Seconds allowed for the symbolic part -- building SymPy's expression,
        differentiating it, evaluating the derivative in float64 and measuring it (default
        :data:`DEFAULT_TIMEOUT`, 10 s). It runs in a forked child process that is killed
        when the time is up (where the platform cannot fork, in a background thread that is
        abandoned, still running, instead); the report then says ``"timeout"`` and AD and
        finite differences are reported as usual. ``None`` runs SymPy in this process with
        no limit.

    Returns
    -------
    Comparison
        ``.value``, ``.ad``, ``.fd`` (one row per step), ``.sympy`` (``status`` is ``"ok"``,
        ``"failed"``, ``"timeout"``, ``"unavailable"`` or ``"skipped"``); ``str()`` is a
        report.
    """
    from .api import grad
    from .graph.tracing import trace

    if not callable(f):
        raise TypeError(f"compare(f, *args): f must be a function, got {type(f).__name__}")
    if not args:
        raise TypeError("compare(f, *args): give the point at which to differentiate")
    if timeout is not None:
        ok = isinstance(timeout, (int, float, np.integer, np.floating)) and not isinstance(
            timeout, bool
        )
        if not ok or not (0 < float(timeout) < math.inf):
            raise ValueError(
                "compare: timeout must be a positive, finite number of seconds (or None for "
                f"no limit), got {timeout!r}"
            )
        timeout = float(timeout)
    arrays = []
    for k, a in enumerate(args):
        if np.iscomplexobj(a):
            raise ValueError(
                f"compare: argument {k} is complex; compare differentiates real functions of "
                "real points (split z into its real and imaginary parts)"
            )
        try:
            arrays.append(np.asarray(a, dtype=float))
        except (TypeError, ValueError):
            raise ValueError(
                f"compare: argument {k} must be a real number or array, got "
                f"{type(a).__name__} {str(a)[:40]!r}"
            ) from None
    shapes = [a.shape for a in arrays]
    sizes = [a.size for a in arrays]
    x0 = np.concatenate([a.ravel() for a in arrays])
    names = list(names) if names is not None else _names(f, len(args))
    fname = getattr(f, "__name__", "f")

    all_scalars = all(s == () for s in shapes)

    def unflat(v):
        if all_scalars:  # (the common case, and the finite differences' inner loop)
            return list(v)
        out, k = [], 0
        for s, n in zip(shapes, sizes, strict=True):
            part = v[k : k + n].reshape(s)
            # float64 scalars: plain Python arithmetic in f overflows to inf, as NumPy's
            out.append(part[()] if s == () else part)
            k += n
        return out

    def f_flat(v):
        return float(np.asarray(f(*unflat(v))))

    def f_step(v):
        try:
            return f_flat(v)
        except ArithmeticError:  # math.exp and friends overflow by raising: no number there
            return math.nan

    # Overflow and invalid operations are reported as the inf and nan they produce.
    with np.errstate(all="ignore"):
        py_args = unflat(x0)
        out0 = f(*py_args)
        out_shape = np.shape(out0)
        if out_shape != () or np.iscomplexobj(out0):
            what = f"an array of shape {out_shape}" if out_shape != () else "a complex number"
            raise ValueError(
                f"compare needs a scalar function: {fname} returned {what} at this point. "
                "Compare a real scalar of it instead, e.g. "
                "compare(lambda *a: anp.sum(f(*a)), ...) or one component, or use "
                "adgraph.jacfwd/jacrev for the whole Jacobian"
            )
        value = f_flat(x0)
        argnums = tuple(range(len(args)))
        g_fn = grad(f, argnums=argnums)
        g, t_ad = _best_time(lambda: g_fn(*py_args), repeat)
        g_flat = np.concatenate([np.asarray(gi, dtype=float).ravel() for gi in g])
        graph = trace(f, *py_args, names=names)
        ggraph = trace(g_fn, *py_args, names=names)
        ad = {
            "gradient": g_flat,
            "time_s": t_ad,
            "graph_operations": len(graph) - len(graph.inputs),
            "grad_graph_operations": len(ggraph) - len(ggraph.inputs),
        }

        fd = []
        n = x0.size
        for h in DEFAULT_STEPS if steps is None else steps:
            c = np.empty(n)
            fw = np.empty(n)
            for i in range(n):
                e = np.zeros(n)
                e[i] = h
                fp, fm = f_step(x0 + e), f_step(x0 - e)
                c[i] = (fp - fm) / (2 * h)
                fw[i] = (fp - value) / h
            fd.append(
                {
                    "step": float(h),
                    "central": c,
                    "central_error": _max_error(c, g_flat),
                    "forward": fw,
                    "forward_error": _max_error(fw, g_flat),
                }
            )

    sym = _sympy_part(f, arrays, names, g_flat, symbolic, timeout)
    point = {}
    for nm, a in zip(names, arrays, strict=True):
        point[nm] = float(a) if a.shape == () else a
    return Comparison(function=fname, point=point, value=value, ad=ad, fd=fd, sympy=sym)


# ---------------------------------------------------------------------- SymPy, bounded
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


def _sympy_part(f, arrays, names, g_ad, symbolic, timeout):
    if not symbolic:
        return {"status": "skipped", "reason": "symbolic=False"}
    try:
        import sympy  # noqa: F401  (imported here, once, before any child is started)
    except ImportError:
        return {"status": "unavailable", "reason": SYMPY_HINT}

    def work(stage):
        return _symbolic(f, arrays, names, g_ad, stage)

    if timeout is None:
        return work(lambda _: None)
    if "fork" in _start_methods():
        return _run_in_child(work, timeout)
    return _run_in_thread(work, timeout)


def _start_methods():
    import multiprocessing

    return multiprocessing.get_all_start_methods()


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


def _timed_out(timeout, stage) -> dict:
    return {
        "status": "timeout",
        "reason": f"timed out after {timeout:g} s while {stage}",
        "explanation": (
            "SymPy works with exact numbers and whole expressions, whose cost can grow "
            "without bound (huge exact values, expression swell); it was stopped. Allow more "
            "time with compare(..., timeout=SECONDS) (adgraph compare --sympy-timeout "
            "SECONDS). AD and finite differences are unaffected."
        ),
    }


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


def _run_in_child(work, timeout) -> dict:
    """``work(stage)`` in a forked child, killed after ``timeout`` seconds. A child that
    deadlocks (forked from a process whose other threads held locks) or crashes is reported
    the same way: the parent never waits longer than ``timeout``."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    child = ctx.Process(target=_child_main, args=(send, work), daemon=True)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a threaded process may deadlock the child;
            # the deadline below bounds that case too.
            warnings.simplefilter("ignore", DeprecationWarning)
            child.start()
    except (AssertionError, OSError):
        # a daemonic process (a multiprocessing pool's worker) may not have children, and
        # fork can fail for want of memory or processes: the thread keeps the deadline
        recv.close()
        send.close()
        return _run_in_thread(work, max(1e-3, start + timeout - time.perf_counter()))
    send.close()
    stage = "starting"
    kind = None
    try:
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                return _timed_out(timeout, stage)
            if not recv.poll(min(left, 60.0)):  # (select() refuses very long waits)
                continue
            try:
                kind, value = recv.recv()
            except (EOFError, OSError):
                child.join(1.0)
                code = child.exitcode
                how = f"exit status {code}" if code is None or code >= 0 else f"signal {-code}"
                return {
                    "status": "failed",
                    "reason": f"the SymPy process ended without an answer ({how}) while {stage}",
                    "explanation": _TOO_BIG,
                }
            if kind == "stage":
                stage = value
            else:
                return value
    finally:
        if kind == "done":
            child.join(1.0)  # a child that answered exits at once
        if child.is_alive():
            child.kill()
        child.join(5.0)
        recv.close()


def _child_main(conn, work) -> None:
    _limit_memory()
    stage = ["starting"]

    def report(text):
        stage[0] = text
        conn.send(("stage", text))

    try:
        result = work(report)
    except BaseException as e:  # noqa: BLE001  (the parent gets a report, never a hang)
        result = _failed(stage[0], e)
    try:
        conn.send(("done", result))
    except BaseException:  # noqa: BLE001  (the parent is gone or stopped us: nobody to tell)
        pass
    finally:
        conn.close()


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus a margin (Linux), so that
    SymPy's exact arithmetic fails with MemoryError instead of exhausting the machine."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = now + _CHILD_MEMORY_MARGIN
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, OSError, ValueError):
        pass


def _run_in_thread(work, timeout) -> dict:
    """Where there is no fork: ``work`` in a daemon thread, abandoned after ``timeout``
    seconds (it cannot be stopped; it ends with the process)."""
    box = {"stage": "starting"}

    def stage(text):
        box["stage"] = text

    def target():
        try:
            box["result"] = work(stage)
        except BaseException as e:  # noqa: BLE001
            box["result"] = _failed(box["stage"], e)

    thread = threading.Thread(target=target, name="adgraph-compare-sympy", daemon=True)
    thread.start()
    end = time.perf_counter() + timeout
    while thread.is_alive() and (left := end - time.perf_counter()) > 0:
        thread.join(min(left, 60.0))
    if "result" not in box:
        return _timed_out(timeout, box["stage"])
    return box["result"]


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
