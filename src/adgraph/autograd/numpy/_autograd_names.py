"""The functions ``autograd.numpy`` has that NumPy has not, or has with autograd's own
conventions: ``make_diagonal``; ``where`` returning Python values for Python inputs; and
``real_if_close``, which decides on the concrete value as autograd does."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ...core.pytree import tree_leaves
from ...core.trace import Tracer

__all__ = ["make_diagonal", "where", "real_if_close"]


def make_diagonal(D: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The stack of diagonal matrices with ``D``'s last axis on their diagonals: the result
    has shape ``D.shape + (n,)`` and ``result[..., i, i] = D[..., i]`` (zeros elsewhere).

    As in autograd, only ``offset=0, axis1=-1, axis2=-2`` is supported (the inverse of
    ``diagonal(A, axis1=-1, axis2=-2)``); other placements are refused.
    """
    if not (offset == 0 and axis1 == -1 and axis2 == -2):
        raise NotImplementedError(
            "make_diagonal supports offset=0, axis1=-1, axis2=-2 only (as autograd's does), "
            f"got offset={offset}, axis1={axis1}, axis2={axis2}; move the axes with "
            "moveaxis afterwards"
        )
    D = anp.asarray(D)
    if D.ndim == 0:
        raise ValueError("make_diagonal: D must have at least one axis (the diagonal)")
    n = D.shape[-1]
    dtype = _np.result_type(D.dtype, _np.float64)
    # where, not D * eye: an infinite entry of D must not put nan off the diagonal
    return anp.where(_np.eye(n, dtype=bool), anp.asarray(D, dtype=dtype)[..., None], 0.0)


def _has_array(x: Any) -> bool:
    return any(
        isinstance(v, (Tracer, _np.ndarray, _np.generic))
        for v in tree_leaves(x, is_leaf=lambda v: isinstance(v, (_np.ndarray, Tracer)))
    )


def where(condition: Any, *args: Any, **kwargs: Any) -> Any:
    """NumPy's ``where(condition, x, y)`` (``x``/``y`` also by keyword); with Python values
    alone (no arrays, no traced values) the result is a Python value or list, as autograd
    returns it. ``where(condition)`` gives the indices where it holds."""
    if not args and not kwargs:
        return anp.where(condition)
    if len(args) + len(kwargs) != 2 or set(kwargs) - {"x", "y"}:
        raise TypeError("where: give both x and y (positionally or as x=, y=), or neither")
    x = args[0] if args else kwargs["x"]
    y = args[1] if len(args) > 1 else kwargs["y"]
    res = anp.where(condition, x, y)
    if not (_has_array(condition) or _has_array(x) or _has_array(y)):
        return _np.asarray(res).tolist()
    return res


def _concrete(a: Any) -> Any:
    """``a``'s value, or None where it has none (an abstract value under ``jit``)."""
    try:
        v = a.primal_value() if isinstance(a, Tracer) else a
        return _np.asarray(v)
    except Exception:  # noqa: BLE001 -- any abstract value: no concrete decision
        return None


def real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part of a complex ``a`` when every imaginary part is within ``tol`` machine
    epsilons of 0 (``tol`` > 1) or within ``tol`` (``tol`` <= 1); otherwise ``a``.

    The choice is made on ``a``'s concrete value, as autograd makes it (its derivative is
    the real part of the tangent, or the tangent); under ``jit`` there is no concrete value
    and adgraph.numpy's refusal applies.
    """
    if not isinstance(a, Tracer):
        return anp.real_if_close(a, tol)
    value = _concrete(a)
    if value is None or value.dtype.kind != "c":
        return anp.real_if_close(a, tol)
    eps_tol = _np.finfo(value.dtype).eps * tol if tol > 1 else tol
    return anp.real(a) if bool(_np.all(_np.abs(value.imag) < eps_tol)) else a
