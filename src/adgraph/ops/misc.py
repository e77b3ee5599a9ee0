r"""Dtype conversion, copies and ``stop_gradient``."""

from __future__ import annotations

from typing import Any

from ..ad.rules import batch_unary, nondiff
from ..ad.sparsity import elementwise_rule
from ..ad.taylor import RULES as _TAYLOR
from ..core.primitive import Primitive
from ._util import dtype as _dtype_of
from ._util import is_inexact

__all__ = ["astype", "copy", "stop_gradient"]


def _cast(xp, x, dtype):
    x = xp.asarray(x)
    if x.dtype.kind == "c" and dtype.kind != "c":
        x = xp.real(x)  # the documented meaning of a complex-to-real cast, without a warning
    return x.astype(dtype)


def _astype_tangent(t, ans, x, *, dtype):
    if not is_inexact(dtype):
        return None
    if getattr(t, "dtype", None) is not None and t.dtype.kind == "c" and dtype.kind != "c":
        from .elementwise import real

        t = real(t)
    return convert_p.bind(t, dtype=dtype)


def _astype_vjp(ct, ans, x, *, dtype):
    # fit_to casts back to the argument's dtype (and takes the real part if needed).
    return ct


convert_p = Primitive(
    "convert_element_type",
    lambda xp, x, *, dtype: _cast(xp, x, dtype),
    tangent=(_astype_tangent,),
    vjp=(_astype_vjp,),
    sparsity=elementwise_rule((True,)),
    doc=r"""Cast to another dtype. The tangent is cast likewise (zero for integer targets);
    the cotangent is cast back to the argument's dtype (real part for real arguments).""",
    taylor=_TAYLOR["convert_element_type"],
)
convert_p.batch = batch_unary(convert_p)
convert_p.tangent_elementwise = True  # the tangent is the cast of t


def astype(x, dtype, /, *, copy=True):
    """``x`` cast to ``dtype``; derivatives are cast along (none for integer/bool targets)."""
    import numpy as _np  # dtype objects only

    dtype = _np.dtype(dtype)
    if _dtype_of(x) == dtype and not hasattr(x, "_trace"):
        return x.copy() if copy and hasattr(x, "copy") else x
    if _dtype_of(x) == dtype:
        return x
    return convert_p.bind(x, dtype=dtype)


def copy(a, order="K"):
    """A copy of ``a`` (for a traced array, the same value: adgraph arrays are immutable)."""
    if order not in ("C", "F", "A", "K"):
        from ._util import OpError

        raise OpError(f"copy: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    if hasattr(a, "_trace"):
        return a
    from ..core.xp import module_of

    return module_of(a).array(a, copy=True)


_stop_p = nondiff(
    "stop_gradient",
    lambda xp, x: x,
    doc="The identity, with no derivative at any level: d stop_gradient(x)/dx = 0.",
)


def stop_gradient(x: Any) -> Any:
    r"""The value of ``x``, treated as a constant by every derivative at every level:
    :math:`\partial\,\operatorname{stop\_gradient}(x)/\partial x = 0`. Works on pytrees."""
    from ..core.pytree import tree_map

    return tree_map(_stop_leaf, x)


def _stop_leaf(v):
    if not hasattr(v, "dtype") and not isinstance(v, (int, float, complex)):
        raise TypeError(
            f"stop_gradient: leaves must be arrays or numbers, got {type(v).__name__} {v!r:.40}"
        )
    return _stop_p.bind(v)
