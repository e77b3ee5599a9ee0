"""The statistical functions of ``scipy.stats`` that ``jax.scipy.stats`` has beside its
distributions: ``sem`` (differentiable), ``mode`` and ``rankdata`` (piecewise constant:
SciPy's values, no derivative, as in JAX)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as _np

from ... import numpy as anp
from ...core.trace import Tracer as _Tracer
from ...ops._util import norm_axis
from ...ops.special_stats import stats_fn
from ._common import floats

__all__ = ["sem", "mode", "rankdata", "ModeResult"]

_POLICIES = ("propagate", "omit", "raise")


def _policy(fn: str, nan_policy: str, a: Any) -> None:
    if nan_policy not in _POLICIES:
        raise ValueError(f"{fn}: nan_policy must be one of {_POLICIES}, got {nan_policy!r}")
    if nan_policy == "raise":
        v = a.primal_value() if isinstance(a, _Tracer) else a
        if _np.isnan(_np.asarray(v)).any():
            raise ValueError(f"{fn}: the input contains nan (nan_policy='raise')")


def sem(
    a: Any,
    axis: int | None = 0,
    ddof: int = 1,
    nan_policy: str = "propagate",
    *,
    keepdims: bool = False,
) -> Any:
    r"""Standard error of the mean, :math:`s / \sqrt{n}` with :math:`s` the standard
    deviation with ``ddof`` degrees of freedom removed, over ``axis`` (all when None).
    ``nan_policy="omit"`` leaves nan out of both :math:`s` and :math:`n`. Differentiable."""
    _policy("sem", nan_policy, a)
    (a,) = floats(a, what="sem", names=("a",))
    if axis is None:
        a, axis = anp.reshape(a, (-1,)), 0
    axis = norm_axis(axis, a.ndim, "sem")
    if nan_policy == "omit":
        ok = ~anp.isnan(a)
        x = anp.where(ok, a, 0.0)
        n = anp.sum(ok, axis=axis, keepdims=True)
        mean = anp.sum(x, axis=axis, keepdims=True) / n
        ss = anp.sum(anp.where(ok, (x - mean) ** 2, 0.0), axis=axis, keepdims=True)
        out = anp.sqrt(ss / (n - ddof)) / anp.sqrt(n)
        return out if keepdims else anp.squeeze(out, axis=axis)
    n = a.shape[axis]
    return anp.std(a, axis=axis, ddof=ddof, keepdims=keepdims) / _np.sqrt(n)


class ModeResult(NamedTuple):
    """The most common value along an axis and how often it occurs."""

    mode: Any
    count: Any


def mode(
    a: Any, axis: int | None = 0, nan_policy: str = "propagate", keepdims: bool = False
) -> ModeResult:
    """The most common value along ``axis`` (the smallest among ties) and its count, as
    ``scipy.stats.mode``. Both are constants: no derivative."""
    _policy("mode", nan_policy, a)
    kw = {"axis": axis, "nan_policy": nan_policy, "keepdims": keepdims}
    return ModeResult(stats_fn("mode", a, index=0, **kw), stats_fn("mode", a, index=1, **kw))


def rankdata(
    a: Any, method: str = "average", *, axis: int | None = None, nan_policy: str = "propagate"
) -> Any:
    """Ranks of the data, from 1, ties resolved by ``method`` (``average``, ``min``,
    ``max``, ``dense``, ``ordinal``), as ``scipy.stats.rankdata``; no derivative."""
    methods = ("average", "min", "max", "dense", "ordinal")
    if method not in methods:
        raise ValueError(f"rankdata: method must be one of {methods}, got {method!r}")
    _policy("rankdata", nan_policy, a)
    if axis is not None:
        norm_axis(axis, anp.ndim(a), "rankdata")
    return stats_fn("rankdata", a, method=method, axis=axis, nan_policy=nan_policy)
