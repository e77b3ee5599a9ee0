"""Shared pieces of the distributions: promotion, standardising and safe support masks.

Every density here is composed of adgraph.numpy and adgraph.scipy.special operations, so
its derivatives in every argument (data, location, scale, shape parameters) come from
those operations' rules. Outside a distribution's support a log-density is ``-inf``; the
formula is evaluated there on a harmless stand-in value (the "double where"), so that the
masked branch contributes an exact zero to derivatives instead of ``0 * inf = nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ...core.trace import Tracer as _Tracer
from ...ops._util import check_numeric

__all__: list[str] = []

LOG_2PI = float(_np.log(2.0 * _np.pi))


def floats(*args: Any, what: str = "scipy.stats", names: tuple = ()) -> list[Any]:
    """The arguments as floating arrays of one common dtype (integers become float64).
    None, strings, other non-numbers and complex values are refused, naming ``what`` (the
    function) and the argument (from ``names``, else its position)."""
    out = []
    for i, a in enumerate(args):
        arg = names[i] if i < len(names) else f"argument {i}"
        check_numeric(a, what, arg)
        a = anp.asarray(a)
        if _np.issubdtype(a.dtype, _np.complexfloating):
            raise TypeError(
                f"{what}: {arg} must be real, got dtype {a.dtype}; take the real part or abs first"
            )
        if not _np.issubdtype(a.dtype, _np.inexact):
            a = anp.asarray(a, dtype=_np.float64)
        out.append(a)
    return out


def masked(cond: Any, x: Any, stand_in: float) -> Any:
    """``x`` where ``cond`` holds, ``stand_in`` elsewhere (the inner half of a double where)."""
    return anp.where(cond, x, stand_in)


def outside(cond: Any, value: Any, fill: float = -_np.inf) -> Any:
    """``value`` where ``cond`` holds and ``fill`` elsewhere (the outer half)."""
    return anp.where(cond, value, fill)


def concrete(name: str, value: Any) -> _np.ndarray:
    """``value`` as a NumPy array, refusing a traced one (an integer count has no derivative)."""
    if isinstance(value, _Tracer):
        raise TypeError(
            f"{name} must be a concrete array here (it sets how many terms are summed), but it "
            "is being traced; pass it as a plain NumPy array or Python number, not as an "
            "argument you differentiate or vmap over"
        )
    return _np.asarray(value)


# ---------------------------------------------------------------------------- factories
# A distribution is written once on its standard variable y = (x - loc) / scale (continuous)
# or k - loc (discrete) and its shape parameters; the factories below add loc and scale,
# SciPy's argument order and keywords, and the methods that follow from the others
# (pdf = exp(logpdf), logcdf = log(cdf), sf = 1 - cdf, isf(q) = ppf(1 - q), ...). A
# distribution that has a more accurate form for one of them passes it.


def _bind(dist: str, method: str, names: tuple, defaults: dict, args: tuple, kw: dict) -> list:
    """SciPy's calling convention: ``names`` positionally or by keyword, ``defaults`` for
    the ones that have one; a clear TypeError for anything else."""
    if len(args) > len(names):
        raise TypeError(
            f"{dist}.{method} takes at most {len(names)} arguments after x "
            f"({', '.join(names)}), got {len(args)}"
        )
    vals = list(args)
    for name in names[len(args) :]:
        if name in kw:
            vals.append(kw.pop(name))
        elif name in defaults:
            vals.append(defaults[name])
        else:
            raise TypeError(f"{dist}.{method}: missing the shape parameter {name!r}")
    if kw:
        raise TypeError(f"{dist}.{method}: unexpected keyword argument(s) {sorted(kw)}")
    return vals


def _doc(dist: str, method: str, sig: str, what: str) -> str:
    return (
        f"``scipy.stats.{dist}.{method}({sig})``: {what}\n\n"
        "Differentiable in x and in the real parameters through the operations it is "
        "composed of."
    )


_WHAT = {
    "logpdf": "log of the probability density",
    "pdf": "the probability density",
    "logpmf": "log of the probability mass",
    "pmf": "the probability mass",
    "cdf": "the distribution function P(X <= x)",
    "logcdf": "log of the distribution function",
    "sf": "the survival function P(X > x) = 1 - cdf",
    "logsf": "log of the survival function",
    "ppf": "the quantile function, inverse of cdf",
    "isf": "the inverse survival function, inverse of sf",
}


def continuous(
    dist: str,
    shapes: tuple = (),
    *,
    logpdf: Any,
    cdf: Any = None,
    sf: Any = None,
    logcdf: Any = None,
    logsf: Any = None,
    ppf: Any = None,
    isf: Any = None,
    valid: Any = None,
) -> dict:
    """The methods of a continuous distribution from its standard-variable functions
    ``f(y, *shapes)`` (``ppf``/``isf``: ``f(q, *shapes)`` giving the standard quantile).
    Where ``scale <= 0`` or ``valid(*shapes)`` is false every method gives nan, as
    SciPy's (the scale is replaced by 1 there, so it adds no nan to other derivatives)."""
    names = (*shapes, "loc", "scale")
    defaults = {"loc": 0, "scale": 1}
    sig = ", ".join(["x", *shapes, "loc=0", "scale=1"])

    def std(method, x, args, kw):
        x, *rest = floats(
            x,
            *_bind(dist, method, names, defaults, args, kw),
            what=f"{dist}.{method}",
            names=("x", *names),
        )
        *sh, loc, scale = rest
        return x, sh, loc, scale

    out: dict = {}

    def add(method, body):
        def f(x: Any, *args: Any, **kw: Any) -> Any:
            x, sh, loc, scale = std(method, x, args, kw)
            ok = scale > 0
            if valid is not None:
                ok = ok & valid(*sh)
            return outside(ok, body(x, sh, loc, masked(scale > 0, scale, 1.0)), _np.nan)

        f.__name__ = f.__qualname__ = method
        qsig = sig.replace("x", "q", 1) if method in ("ppf", "isf") else sig
        f.__doc__ = _doc(dist, method, qsig, _WHAT[method])
        out[method] = f

    add("logpdf", lambda x, sh, loc, s: logpdf((x - loc) / s, *sh) - anp.log(s))
    add("pdf", lambda x, sh, loc, s: anp.exp(logpdf((x - loc) / s, *sh)) / s)
    if cdf is not None:
        sf_ = sf or (lambda y, *sh: 1.0 - cdf(y, *sh))
        lcdf = logcdf or (lambda y, *sh: log_prob(cdf(y, *sh), sf_(y, *sh)))
        lsf = logsf or (lambda y, *sh: log_prob(sf_(y, *sh), cdf(y, *sh)))
        add("cdf", lambda x, sh, loc, s: cdf((x - loc) / s, *sh))
        add("logcdf", lambda x, sh, loc, s: lcdf((x - loc) / s, *sh))
        add("sf", lambda x, sh, loc, s: sf_((x - loc) / s, *sh))
        add("logsf", lambda x, sh, loc, s: lsf((x - loc) / s, *sh))
    if ppf is not None:
        isf_ = isf or (lambda q, *sh: ppf(1.0 - q, *sh))
        add("ppf", lambda q, sh, loc, s: loc + s * _quantile(ppf, q, sh))
        add("isf", lambda q, sh, loc, s: loc + s * _quantile(isf_, q, sh))
    return out


def _quantile(f: Any, q: Any, sh: list) -> Any:
    """``f(q, *sh)`` for q in [0, 1], nan elsewhere (evaluated on 0.5 there)."""
    ok = (q >= 0) & (q <= 1)
    return outside(ok, f(masked(ok, q, 0.5), *sh), _np.nan)


def discrete(
    dist: str,
    shapes: tuple = (),
    *,
    logpmf: Any,
    cdf: Any = None,
    sf: Any = None,
    logcdf: Any = None,
    logsf: Any = None,
    quantiles: bool = True,
    valid: Any = None,
) -> dict:
    """The methods of a discrete distribution from its functions of ``k - loc`` and the
    shape parameters. ``ppf``/``isf`` (integer values, no derivative) are SciPy's. Where
    ``valid(*shapes)`` is false every method gives nan, as SciPy's."""
    from ...ops.special_stats import stats_call

    names = (*shapes, "loc")
    defaults = {"loc": 0}
    sig = ", ".join(["k", *shapes, "loc=0"])
    out: dict = {}

    def add(method, body, floats_=True):
        def f(k: Any, *args: Any, **kw: Any) -> Any:
            vals = _bind(dist, method, names, defaults, args, kw)
            if not floats_:
                return body(k, *vals)
            k, *rest = floats(k, *vals, what=f"{dist}.{method}", names=("k", *names))
            *sh, loc = rest
            if valid is None:
                return body(k - loc, *sh)
            return outside(valid(*sh), body(k - loc, *sh), _np.nan)

        f.__name__ = f.__qualname__ = method
        qsig = sig.replace("k", "q", 1) if method in ("ppf", "isf") else sig
        f.__doc__ = _doc(dist, method, qsig, _WHAT[method])
        out[method] = f

    add("logpmf", logpmf)
    add("pmf", lambda k, *sh: anp.exp(logpmf(k, *sh)))
    if cdf is not None:
        sf_ = sf or (lambda k, *sh: 1.0 - cdf(k, *sh))
        add("cdf", cdf)
        # log1p(-sf) where cdf > 1/2: log(cdf) rounds a cdf of 1 - 1e-53 to 0
        add("logcdf", logcdf or (lambda k, *sh: log_prob(cdf(k, *sh), sf_(k, *sh))))
        add("sf", sf_)
        add("logsf", logsf or (lambda k, *sh: log_prob(sf_(k, *sh), cdf(k, *sh))))
    if quantiles:
        for m in ("ppf", "isf"):
            add(m, lambda q, *vals, m=m: stats_call(dist, m, q, *vals), floats_=False)
    return out


def log_prob(p: Any, q: Any) -> Any:
    """``log p`` for a probability ``p = 1 - q``: ``log1p(-q)`` where ``p > 1/2`` (so that
    ``log(1 - 1e-12)`` keeps its digits instead of rounding through ``1 - q``), ``log p``
    elsewhere; each branch is evaluated on a harmless stand-in where it is not used."""
    near_one = p > 0.5
    return anp.where(
        near_one, anp.log1p(-anp.where(near_one, q, 0.0)), anp.log(anp.where(near_one, 1.0, p))
    )


def log1mexp(t: Any) -> Any:
    """``log(1 - exp(-t))`` for ``t >= 0``, accurate at both ends (``expm1`` below log 2,
    ``log1p`` above); each form sees only the inputs where it is used (0 at ``t = inf``)."""
    small = t < _LN2
    ts = masked(small, t, _LN2 / 2)
    tb = masked(small, 2.0 * _LN2, t)
    return anp.where(small, anp.log(-anp.expm1(-ts)), anp.log1p(-anp.exp(-tb)))


_LN2 = float(_np.log(2.0))


def scale_checked(f: Any) -> Any:
    """``f(x, loc=0, scale=1)`` giving nan where ``scale <= 0``, as SciPy's (the scale is
    replaced by 1 there, so it adds no nan to the other elements' derivatives)."""
    import functools

    @functools.wraps(f)
    def g(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
        what = f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}"
        (s,) = floats(scale, what=what, names=("scale",))
        ok = s > 0
        return outside(ok, f(x, loc, masked(ok, s, 1.0)), _np.nan)

    return g
