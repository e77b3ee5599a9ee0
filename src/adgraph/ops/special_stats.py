"""Integer-valued results of ``adgraph.scipy.stats``, computed by ``scipy.stats``.

The quantile functions of the discrete distributions (``poisson.ppf``, ``binom.isf``...)
take integer values: piecewise constant in every argument, so they carry no derivative
(as in JAX). They are one primitive, ``stats_call``, with no rules but batching, that calls
``scipy.stats.<dist>.<method>`` on the concrete arguments.
"""

from __future__ import annotations

from ..ad.rules import nondiff

__all__ = ["stats_call", "stats_fn"]


def _scipy_stats(dist: str, method: str):
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.stats.{dist}.{method} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return getattr(getattr(ss, dist), method)


def _impl(xp, *args, dist: str, method: str):
    return xp.asarray(_scipy_stats(dist, method)(*args), dtype=float)


stats_call_p = nondiff(
    "stats_call",
    _impl,
    doc="scipy.stats.<dist>.<method>(*args) of an integer-valued method: no derivative.",
)


def stats_call(dist: str, method: str, *args):
    """``scipy.stats.<dist>.<method>(*args)`` as a float array carrying no derivative."""
    return stats_call_p.bind(*args, dist=dist, method=method)


def _fn_impl(xp, *args, fn: str, kw: tuple, index: int | None):
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.stats.{fn} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    out = getattr(ss, fn)(*args, **dict(kw))
    if index is not None:
        out = out[index]
    return xp.asarray(out)


stats_fn_p = nondiff(
    "stats_fn",
    _fn_impl,
    elementwise_batch=False,
    doc="scipy.stats.<fn>(*args, **kw)[index] of a function with piecewise-constant "
    "results (rankdata, mode): no derivative.",
)


def stats_fn(fn: str, *args, index: int | None = None, **kw):
    """``scipy.stats.<fn>(*args, **kw)`` (its ``index``-th result), carrying no derivative."""
    return stats_fn_p.bind(*args, fn=fn, kw=tuple(sorted(kw.items())), index=index)
