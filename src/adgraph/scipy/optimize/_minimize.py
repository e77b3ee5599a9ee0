r"""``minimize``: SciPy's ``minimize`` with derivatives from adgraph.

For ``fun(x, *args) -> scalar`` written with ``adgraph.numpy``:

* the gradient comes with the value from one reverse sweep (``value_and_grad``; SciPy's
  ``jac=True`` protocol), for every method that uses a gradient;
* Hessian-vector products (forward over reverse, ``hvp``) for the methods that take
  ``hessp`` (Newton-CG, trust-ncg, trust-krylov, trust-constr), so no Hessian is formed;
* the Hessian for the methods that need the matrix (dogleg, trust-exact: dense), and for
  trust-constr when ``sparse`` asks for it or, by default, when the Hessian's detected
  pattern is sparse (at most 10% nonzeros, n >= 100): :func:`adgraph.sparse_hessian`, one
  compressed sweep per call with a few colours.

``x0`` may have any shape: SciPy works on ``x0.ravel()`` (C order) and ``fun`` sees ``x``
in ``x0``'s shape; the result's ``x`` has that shape too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...api.forward import hvp
from ...api.reverse import value_and_grad
from ...api.sparse import hessian_sparsity, sparse_hessian

__all__ = ["minimize", "JAC_METHODS", "HESS_METHODS", "HESSP_METHODS"]

#: Methods of ``scipy.optimize.minimize`` that use the gradient.
JAC_METHODS = frozenset(
    {"cg", "bfgs", "newton-cg", "l-bfgs-b", "tnc", "slsqp", "dogleg", "trust-ncg",
     "trust-krylov", "trust-exact", "trust-constr"}
)  # fmt: skip
#: Methods that use the Hessian matrix.
HESS_METHODS = frozenset({"dogleg", "trust-exact", "trust-constr"})
#: Methods that take Hessian-vector products instead of the matrix.
HESSP_METHODS = frozenset({"newton-cg", "trust-ncg", "trust-krylov"})
_NO_DERIVATIVES = frozenset({"nelder-mead", "powell", "cobyla", "cobyqa"})

# SciPy's methods, each with the function that implements it: its keyword parameters
# (less the problem's own: fun, x0, jac, bounds, ...) are the method's options.
_SOLVERS = {
    "nelder-mead": "_minimize_neldermead", "powell": "_minimize_powell",
    "cg": "_minimize_cg", "bfgs": "_minimize_bfgs", "newton-cg": "_minimize_newtoncg",
    "l-bfgs-b": "_minimize_lbfgsb", "tnc": "_minimize_tnc", "cobyla": "_minimize_cobyla",
    "cobyqa": "_minimize_cobyqa", "slsqp": "_minimize_slsqp",
    "trust-constr": "_minimize_trustregion_constr", "dogleg": "_minimize_dogleg",
    "trust-ncg": "_minimize_trust_ncg", "trust-krylov": "_minimize_trust_krylov",
    "trust-exact": "_minimize_trustregion_exact",
}  # fmt: skip
_NOT_OPTIONS = frozenset(
    {"fun", "func", "x0", "args", "jac", "grad", "hess", "hessp", "bounds", "constraints",
     "callback", "unknown_options", "trust_region_options", "subproblem"}
)  # fmt: skip
# Options that count something (iterations, evaluations, stored pairs): integers >= 0.
_COUNTS = frozenset({"maxiter", "maxfun", "maxfev", "maxls", "maxcor", "maxCGit",
                     "subproblem_maxiter"})  # fmt: skip
# Tolerances: real numbers >= 0.
_TOLERANCES = frozenset({"gtol", "ftol", "xtol", "xatol", "fatol", "xrtol", "catol",
                         "barrier_tol", "accuracy", "feasibility_tol"})  # fmt: skip


def _require_scipy():
    try:
        import scipy.optimize as so
    except ImportError as e:  # pragma: no cover - exercised by monkeypatching in tests
        raise ImportError(
            "adgraph.scipy.optimize.minimize needs SciPy; install it with "
            "`pip install adgraph[scipy]` (or `pip install scipy`)"
        ) from e
    return so


def _default_method(bounds, constraints) -> str:
    # SciPy's own choice, so that leaving method out means what it means there.
    if constraints:
        return "slsqp"
    if bounds is not None:
        return "l-bfgs-b"
    return "bfgs"


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    args: Sequence[Any] = (),
    method: str | None = None,
    jac: Any = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable | None = None,
    options: dict | None = None,
    *,
    sparse: bool | None = None,
):
    """Minimise ``fun(x, *args)`` by :func:`scipy.optimize.minimize`, with exact
    derivatives from adgraph.

    Parameters
    ----------
    fun
        The objective, written with ``adgraph.numpy``; returns a scalar.
    x0
        The starting point, an array of any shape (``fun`` sees ``x`` in that shape).
    args
        Extra arguments of ``fun`` (not differentiated).
    method
        Any of SciPy's methods (case-insensitive); by default SciPy's choice (BFGS,
        L-BFGS-B with bounds, SLSQP with constraints).
    jac, hess, hessp
        Leave them out (None) for adgraph's; pass your own to override, as in SciPy. For
        methods that use no derivatives (Nelder-Mead, Powell, COBYLA, COBYQA) none is
        supplied.
    bounds, constraints, tol, callback, options
        As in SciPy.
    sparse
        For ``trust-constr``: True gives it the Hessian as a ``scipy.sparse`` matrix from
        :func:`adgraph.sparse_hessian`; False as Hessian-vector products; None (default)
        decides by the Hessian's pattern at ``x0`` (sparse when at most 10% of the
        entries can be nonzero and n >= 100). Other methods refuse ``sparse=True``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        SciPy's result; ``x`` has ``x0``'s shape.
    """
    so = _require_scipy()
    if not callable(fun):
        raise TypeError(f"minimize: fun must be callable, got {type(fun).__name__}")
    x0 = np.asarray(x0)
    if x0.dtype.kind not in "fiub":
        raise TypeError(f"minimize: x0 must be real numbers, got dtype {x0.dtype}")
    if x0.size == 0:
        raise ValueError("minimize: x0 is empty")
    x0 = x0.astype(np.float64)
    shape = x0.shape
    if not isinstance(args, tuple):
        args = (args,)
    m = _check_method(method, bounds, constraints)
    options = _check_options(m, options)
    if sparse and m != "trust-constr":
        raise ValueError(
            f"minimize: sparse=True is for method='trust-constr' (which takes a sparse "
            f"Hessian), not {m!r}"
        )

    def f(v, *a):
        return fun(v.reshape(shape), *a)

    probe = np.asarray(f(x0, *args))
    if probe.shape != () or probe.dtype.kind not in "fiub":
        raise TypeError(
            f"minimize: fun must return a real scalar, got shape {probe.shape} and dtype "
            f"{probe.dtype}; for least squares sum the squares (or use a vector method)"
        )

    fg = value_and_grad(f)

    def fun_and_jac(v, *a):
        val, g = fg(v, *a)
        return float(val), np.asarray(g, dtype=np.float64)

    kw: dict[str, Any] = {}
    call_fun: Callable = f
    if m in JAC_METHODS:
        if jac is None:
            call_fun, kw["jac"] = fun_and_jac, True
        else:
            kw["jac"] = jac
        if hess is not None:
            kw["hess"] = hess
        if hessp is not None:
            kw["hessp"] = hessp
        if hess is None and hessp is None:
            kw.update(_second_order(m, f, x0, args, sparse))
    elif m not in _NO_DERIVATIVES:
        # A method SciPy knows and this list does not: pass SciPy what was given.
        for name, v in (("jac", jac), ("hess", hess), ("hessp", hessp)):
            if v is not None:
                kw[name] = v
    elif jac is not None or hess is not None or hessp is not None:
        raise ValueError(f"minimize: method {m!r} uses no derivatives; leave out jac/hess/hessp")
    res = so.minimize(
        call_fun,
        x0.ravel(),
        args=args,
        method=m,
        bounds=bounds,
        constraints=constraints,
        tol=tol,
        callback=callback,
        options=options,
        **kw,
    )
    res.x = np.asarray(res.x).reshape(shape)
    return res


def _check_method(method, bounds, constraints):
    """The method's lower-case name (a callable custom method passes as it is); an
    unknown name is refused with the list of SciPy's methods."""
    if method is None:
        return _default_method(bounds, constraints)
    if callable(method):
        return method
    if not isinstance(method, str):
        raise TypeError(
            f"minimize: method must be a string (one of {', '.join(_SOLVERS)}) or a "
            f"callable custom method, got {type(method).__name__} {method!r:.60}"
        )
    m = method.lower()
    if m not in _SOLVERS:
        raise ValueError(
            f"minimize: unknown method {method!r}; the methods are {', '.join(_SOLVERS)} "
            "(case-insensitive), or a callable custom method"
        )
    return m


def _known_options(m) -> frozenset | None:
    """The option names SciPy's method ``m`` reads (None when they cannot be read from
    this SciPy, or for a custom method: then SciPy checks them itself)."""
    import inspect

    name = _SOLVERS.get(m) if isinstance(m, str) else None
    if name is None:
        return None
    try:
        import scipy.optimize._minimize as sm

        params = set(inspect.signature(getattr(sm, name)).parameters)
        if "trust_region_options" in params:  # the trust-region methods' shared options
            import scipy.optimize._trustregion as tr

            params |= set(inspect.signature(tr._minimize_trust_region).parameters)
    except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover
        return None
    return frozenset(params - _NOT_OPTIONS)


def _check_options(m, options):
    """``options`` checked: a dict, every name one the method reads, counts non-negative
    integers and tolerances non-negative numbers (SciPy would run with maxiter=-1 and
    only warn about a misspelt name)."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise TypeError(
            f"minimize: options must be a dict of option names to values, got "
            f"{type(options).__name__}"
        )
    known = _known_options(m)
    if known is not None:
        unknown = sorted(str(k) for k in options if k not in known)
        if unknown:
            raise TypeError(
                f"minimize: method {m!r} has no option {', '.join(map(repr, unknown))}; its "
                f"options are {', '.join(sorted(known))}"
            )
    for k, v in options.items():
        if k in _COUNTS and v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(
                    f"minimize: option {k} must be a non-negative integer, got {v!r:.60}"
                )
        if k in _TOLERANCES and v is not None:
            ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            if not ok or not v >= 0:
                raise ValueError(f"minimize: option {k} must be a number >= 0, got {v!r:.60}")
    return options


def _hvp_fn(f):
    def hessp(v, p, *a):
        g = lambda u: f(u, *a)  # noqa: E731
        return np.asarray(hvp(g, (v,), (np.asarray(p, dtype=np.float64),)), dtype=np.float64)

    return hessp


def _hess_fn(f):
    from ...api.forward import hessian

    def hess(v, *a):
        return np.asarray(hessian(lambda u: f(u, *a))(v), dtype=np.float64)

    return hess


def _second_order(m: str, f, x0, args, sparse) -> dict:
    """The ``hess``/``hessp`` keyword for method ``m`` (none for first-order methods)."""
    if m in HESSP_METHODS:
        return {"hessp": _hvp_fn(f)}
    if m in ("dogleg", "trust-exact"):
        return {"hess": _hess_fn(f)}
    if m != "trust-constr":
        return {}
    if sparse is None:
        n = x0.size
        sparse = n >= 100 and hessian_sparsity(lambda u: f(u, *args), x0).nnz <= 0.1 * n * n
    if not sparse:
        return {"hessp": _hvp_fn(f)}
    ops: dict = {}  # one compressed Hessian per extra-argument tuple (its closure)

    def hess(v, *a):
        key = id(a[0]) if len(a) == 1 else tuple(map(id, a))
        h = ops.get(key)
        if h is None:
            h = ops[key] = sparse_hessian(lambda u: f(u, *a))
        return h(v)

    return {"hess": hess}
