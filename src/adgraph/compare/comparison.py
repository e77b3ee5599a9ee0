r"""The comparison itself: AD's gradient and graphs, the finite differences over a sweep of
steps, and the symbolic part's answer, gathered into a :class:`~.report.Comparison`; and
the founding article's examples."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .deadline import _sympy_part
from .report import Comparison, _max_error

#: Seconds allowed by default for the symbolic part of :func:`compare`.
DEFAULT_TIMEOUT = 10.0


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


# ---------------------------------------------------------------------- compare
def _names(f, n):
    from ..graph.tracing import _arg_names

    return _arg_names(f, n)


def _best_time(fn, repeat):
    best = math.inf
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def compare(
    f: Callable[..., Any],
    *args: Any,
    steps: Sequence[float] | None = None,
    symbolic: bool = True,
    repeat: int = 3,
    names: Sequence[str] | None = None,
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
    from ..api import grad
    from ..graph.tracing import trace

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
