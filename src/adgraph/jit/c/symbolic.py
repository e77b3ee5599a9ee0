"""Primitives without a C rule: their implementation run on symbolic arrays.

A primitive whose implementation is an elementwise composition of NumPy functions (such as
``expit`` or ``xlogy``) is lowered by calling that implementation with a NumPy-like
namespace (:class:`SymXP`) over symbolic arrays (:class:`SymArray`): each ufunc it calls
emits C statements. Anything else it does is refused with :class:`CBackendError`.
"""

from __future__ import annotations

import numpy as np

from ...graph.nodes import Const
from .errors import CBackendError
from .rules import where_rule
from .scalars import Meta, Sym

__all__ = ["impl_rule", "SymXP", "SymArray"]


# ---------------------------------------------------------------- NumPy-like fallback
def impl_rule(L, node, *args, **params):
    """Any other primitive: run its implementation on symbolic arrays (an elementwise
    composition of NumPy functions, such as ``expit`` or ``xlogy``), or refuse it."""
    if node.prim is None or node.multiple_results:
        raise _unsupported(node)
    xp = SymXP(L)
    try:
        wrapped = [SymArray(xp, L.sym(a)) if isinstance(a, Sym) else _weak(a) for a in args]
        res = node.prim.impl(xp, *wrapped, **params)
    except CBackendError:
        raise
    except Exception:
        raise _unsupported(node) from None
    if not isinstance(res, SymArray):
        raise _unsupported(node)
    return res.s


def _weak(c):
    v = c.value if isinstance(c, Const) else c
    return v


def _unsupported(node):
    return CBackendError(
        f"C backend: primitive {node.op!r} ({node.describe()}) cannot be compiled to C; "
        "supported are elementwise arithmetic and math functions, comparisons and logical "
        "operations, where, casts, reductions, reshapes, transposes, broadcasting, basic and "
        "constant-index indexing, concatenation, matmul, einsum, det, slogdet, inv and solve. "
        "Use adgraph.jit for this function, or rewrite it with supported operations"
    )


class SymXP:
    """A NumPy-like namespace over SymArray, for implementations written with ``xp``."""

    __name__ = "adgraph.jit.c.symbolic"

    def __init__(self, L):
        self._L = L

    def __getattr__(self, name):
        if isinstance(getattr(np, name, None), np.ufunc):
            L = self._L

            def f(*args, **kw):
                if kw:
                    raise CBackendError(f"C backend: {name} with keywords {sorted(kw)}")
                return SymArray(self, L.ufunc(name, *[_unwrap(L, a) for a in args]))

            return f
        if name == "abs":
            return self.absolute
        raise AttributeError(name)

    def where(self, c, x, y):
        L = self._L
        cx, xx, yx = (_unwrap(L, v) for v in (c, x, y))
        dt = np.result_type(*[v.dtype if isinstance(v, Sym) else v for v in (xx, yx)])
        shape = np.broadcast_shapes(
            *[np.shape(v.e) if isinstance(v, Sym) else () for v in (cx, xx, yx)]
        )
        return SymArray(self, where_rule(L, Meta(shape, dt), cx, _as_c(xx), _as_c(yx)))

    def asarray(self, x, dtype=None):
        s = _unwrap(self._L, x)
        if not isinstance(s, Sym):
            s = self._L.const(s, dtype)
        return SymArray(self, self._L.cast(s, dtype) if dtype is not None else s)


def _as_c(v):
    return v if isinstance(v, Sym) else Const(v)


def _unwrap(L, a):
    if isinstance(a, SymArray):
        return a.s
    if isinstance(a, (bool, np.bool_)):
        return L.const(np.bool_(a))
    if isinstance(a, (int, float)):
        return a
    if isinstance(a, (np.ndarray, np.generic)):
        return L.const(a)
    raise CBackendError(f"C backend: cannot use a {type(a).__name__} in symbolic code")


class SymArray:
    """A Sym with NumPy operators (for the fallback above)."""

    __array_priority__ = 1000

    def __init__(self, xp, s):
        self.xp = xp
        self.s = s

    shape = property(lambda self: self.s.shape)
    ndim = property(lambda self: self.s.ndim)
    dtype = property(lambda self: self.s.dtype)

    def _u(self, name, *args):
        return getattr(self.xp, name)(*args)

    def __add__(self, o):
        return self._u("add", self, o)

    def __radd__(self, o):
        return self._u("add", o, self)

    def __sub__(self, o):
        return self._u("subtract", self, o)

    def __rsub__(self, o):
        return self._u("subtract", o, self)

    def __mul__(self, o):
        return self._u("multiply", self, o)

    def __rmul__(self, o):
        return self._u("multiply", o, self)

    def __truediv__(self, o):
        return self._u("divide", self, o)

    def __rtruediv__(self, o):
        return self._u("divide", o, self)

    def __pow__(self, o):
        if type(o) is int and o == 2:
            return self._u("square", self)
        return self._u("power", self, o)

    def __neg__(self):
        return self._u("negative", self)

    def __lt__(self, o):
        return self._u("less", self, o)

    def __le__(self, o):
        return self._u("less_equal", self, o)

    def __gt__(self, o):
        return self._u("greater", self, o)

    def __ge__(self, o):
        return self._u("greater_equal", self, o)

    def __eq__(self, o):
        return self._u("equal", self, o)

    def __ne__(self, o):
        return self._u("not_equal", self, o)

    def __and__(self, o):
        return self._u("bitwise_and", self, o)

    def __or__(self, o):
        return self._u("bitwise_or", self, o)

    def __invert__(self):
        return self._u("invert", self)

    __hash__ = None  # type: ignore[assignment]  # == builds a symbolic array

    def astype(self, dtype):
        return SymArray(self.xp, self.xp._L.cast(self.s, dtype))
