r"""The ufunc methods of adgraph's binary elementwise functions: ``f.outer``, ``f.reduce``,
``f.accumulate`` and ``f.at``, as NumPy's ufuncs have them (``anp.add.outer(a, b)``,
``anp.maximum.accumulate(x)``, ``anp.logaddexp.reduce(x)``).

They are attributes set on the functions themselves (nothing is added to a call of ``f``),
built from adgraph operations, so they are differentiable wherever ``f`` is:

* ``outer(A, B)`` is ``f`` of ``A`` with ``B.ndim`` unit axes appended, and ``B``;
* ``reduce`` and ``accumulate`` are ``sum``/``prod``/``max``/``min``/``all``/``any`` and
  ``cumsum``/``cumprod`` for the functions that have them, and otherwise a left fold of
  ``f`` along the axis (one operation per element of the axis, NumPy's order);
* ``at(a, indices, b, inplace=False)`` is the functional ``.at[indices]`` update for
  ``add``, ``subtract``, ``multiply``, ``divide``, ``maximum``, ``minimum``; with the
  default ``inplace=True`` it is NumPy's in-place ufunc ``at`` on a plain NumPy array.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # NumPy's own ufunc.at on plain arrays; dtype queries

from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import at as _at
from .indexing import getitem
from .misc import astype

__all__: list[str] = []  # installs methods; exports nothing

_NOVALUE = _np._NoValue

_NAMES = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power",
    "float_power", "mod", "remainder", "fmod", "maximum", "minimum", "fmax", "fmin",
    "arctan2", "hypot", "copysign", "nextafter", "logaddexp", "logaddexp2", "heaviside",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
    "right_shift", "gcd", "lcm",
]  # fmt: skip

_REDUCE = {
    "add": _red.sum, "multiply": _red.prod, "maximum": _red.max, "minimum": _red.min,
    "logical_and": _red.all, "logical_or": _red.any,
}  # fmt: skip
_ACCUMULATE = {"add": _red.cumsum, "multiply": _red.cumprod}
_AT = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "maximum": "max", "minimum": "min",
}  # fmt: skip


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _outer(f, name):
    def outer(A: Any, B: Any, /) -> Any:
        A, B = _arr(A), _arr(B)
        return f(_sh.reshape(A, _shape(A) + (1,) * len(_shape(B))), B)

    outer.__doc__ = f"``{name}(A[..., None, ...], B)``: {name} of every pair of elements."
    return outer


def _out_dtype(name, dt):
    """The dtype NumPy's ``name.accumulate`` gives for input of dtype ``dt`` (its
    accumulator starts as the first element cast to it)."""
    with _np.errstate(all="ignore"):
        return getattr(_np, name).accumulate(_np.ones(2, dt)).dtype


def _fold(f, a, axis, name, initial):
    """``f`` folded left along ``axis`` (moved first): one operation per element."""
    a = _sh.moveaxis(a, axis, 0)
    n = _shape(a)[0]
    if initial is _NOVALUE:
        if n == 0:
            raise OpError(
                f"{name}.reduce: zero-size array to reduction operation {name} which has "
                "no identity"
            )
        acc = astype(getitem(a, 0), _out_dtype(name, _dtype(a)))
    elif n == 0:
        return _sh.broadcast_to(_arr(initial), _shape(a)[1:])
    else:
        acc = f(initial, getitem(a, 0))
    for i in range(1, n):
        acc = f(acc, getitem(a, i))
    return acc


def _reduce(f, name):
    def reduce(
        array: Any, axis: Any = 0, dtype: Any = None, out: Any = None, keepdims: bool = False,
        initial: Any = _NOVALUE, where: Any = True,
    ) -> Any:  # fmt: skip
        if out is not None:
            raise OpError(f"{name}.reduce: out= is not supported (adgraph arrays are immutable)")
        a = _arr(array)
        if dtype is not None:
            a = astype(a, dtype)
        special = _REDUCE.get(name)
        if special is not None:
            kw: dict = {"keepdims": keepdims}
            if where is not True:
                kw["where"] = where
            if initial is not _NOVALUE and name in ("add", "multiply", "maximum", "minimum"):
                kw["initial"] = initial
            elif initial is not _NOVALUE:
                raise OpError(f"{name}.reduce: initial= is not supported")
            return special(a, axis=axis, **kw)
        if where is not True:
            raise OpError(f"{name}.reduce: where= is supported for add, multiply, maximum, minimum")
        nd = len(_shape(a))
        if axis is None or isinstance(axis, (tuple, list)):
            # NumPy decides which ufuncs may reduce several axes at once (reorderable ones)
            try:
                getattr(_np, name).reduce(_np.zeros((1,) * nd, _dtype(a)), axis=axis)
            except ValueError as e:
                raise OpError(f"{name}.reduce: {e}") from None
        axes = tuple(range(nd)) if axis is None else axis
        axes = sorted(
            {
                norm_axis(ax, nd, f"{name}.reduce")
                for ax in (axes if isinstance(axes, (tuple, list)) else (axes,))
            },
            reverse=True,
        )
        out_ = a
        for k, ax in enumerate(axes):
            out_ = _fold(f, out_, ax, name, initial if k == 0 else _NOVALUE)
        if keepdims:
            for ax in sorted(axes):
                out_ = _sh.expand_dims(out_, ax)
        return out_

    reduce.__doc__ = (
        f"``{name}`` applied along ``axis`` until one value is left (NumPy's "
        f"``{name}.reduce``); differentiable as {name}."
    )
    return reduce


def _accumulate(f, name):
    def accumulate(array: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        if out is not None:
            raise OpError(
                f"{name}.accumulate: out= is not supported (adgraph arrays are immutable)"
            )
        a = _arr(array)
        if len(_shape(a)) == 0:
            raise OpTypeError(f"{name}.accumulate: cannot accumulate on a scalar")
        ax = norm_axis(axis, len(_shape(a)), f"{name}.accumulate")
        if dtype is not None:
            a = astype(a, dtype)
        special = _ACCUMULATE.get(name)
        if special is not None:
            return special(a, axis=ax)
        m = _sh.moveaxis(a, ax, 0)
        n = _shape(m)[0]
        if n == 0:
            return a
        dt = _out_dtype(name, _dtype(m))
        acc = [astype(getitem(m, 0), dt)]
        for i in range(1, n):
            acc.append(astype(f(acc[-1], getitem(m, i)), dt))
        return _sh.moveaxis(_jn.stack(acc), 0, ax)

    accumulate.__doc__ = (
        f"The running ``{name}`` along ``axis`` (NumPy's ``{name}.accumulate``): "
        f"``y[0] = x[0]``, ``y[i] = {name}(y[i-1], x[i])``; differentiable as {name}."
    )
    return accumulate


def _at_method(name):
    method = _AT.get(name)

    def at(a: Any, indices: Any, b: Any = None, /, *, inplace: bool = True) -> Any:
        if inplace:
            if isinstance(a, Tracer) or isinstance(b, Tracer):
                raise OpTypeError(
                    f"{name}.at: adgraph arrays are immutable and this one is traced; call "
                    f"{name}.at(a, indices, b, inplace=False), which returns the new array"
                )
            return getattr(_np, name).at(a, indices, b)
        if method is None:
            raise OpError(
                f"{name}.at: the functional form exists for add, subtract, multiply, divide, "
                "maximum and minimum"
            )
        if b is None:
            raise OpError(f"{name}.at: give the values b")
        if isinstance(indices, list):
            indices = _np.asarray(indices)
        return getattr(_at(_arr(a))[indices], method)(b)

    at.__doc__ = (
        f"``a`` with ``{name}(a[indices], b)`` written at ``indices``, repeated indices "
        f"applied once each (``inplace=False``: the new array, differentiable; otherwise "
        f"NumPy's in-place ``{name}.at`` on a plain NumPy array)."
    )
    return at


def install() -> None:
    """Set the ufunc methods on the binary functions (once; idempotent)."""
    for name in _NAMES:
        f = getattr(_ew, name, None)
        if f is None or hasattr(f, "outer"):
            continue
        f.outer = _outer(f, name)
        f.reduce = _reduce(f, name)
        f.accumulate = _accumulate(f, name)
        f.at = _at_method(name)


install()
