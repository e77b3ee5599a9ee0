r"""The article's two teaching classes: :class:`Dual` (forward mode) and :class:`Var` (reverse).

They differentiate plain Python arithmetic one number at a time, exactly as the founding
article builds them, and are the shortest honest picture of the two modes:

* ``Dual(primal, tangent)`` carries :math:`(v, \dot v)`; every operation applies the chain
  rule forwards, :math:`\dot{f(v)} = f'(v)\,\dot v`.
* ``Var(primal)`` records, for every result, its parents and the local partial derivatives;
  ``y.backward()`` then sends adjoints :math:`\bar v = \partial y / \partial v` from ``y`` back
  to every variable it depends on.

Both mix with Python numbers on either side of ``+ - * / **`` and support the usual math
functions as methods (``x.exp()``, ``x.log()``, ``x.sin()``...) and through NumPy and
:mod:`adgraph.numpy` (``np.exp(x)``, ``anp.tanh(x)``). Comparisons compare primal values, so
Python ``if`` statements work (the derivative follows the branch taken).

Unlike the article's recursive closures, :meth:`Var.backward` orders the graph
topologically first (iteratively, by Kahn's algorithm) and visits each node once: a value
shared by many paths costs one visit, not one per path, and deep graphs do not hit Python's
recursion limit.

For arrays, higher orders and speed, use the engine (``adgraph.grad``, ``adgraph.jvp``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

__all__ = ["Dual", "Var"]


def _fn(math_f, np_f):
    """Apply a math function: the ``math`` version for Python numbers (keeps them plain
    floats), NumPy's for arrays."""

    def f(x):
        if isinstance(x, (int, float)):
            try:
                return math_f(x)
            except (ValueError, OverflowError):
                with np.errstate(all="ignore"):
                    return float(np_f(x))
        return np_f(x)

    return f


_exp = _fn(math.exp, np.exp)
_log = _fn(math.log, np.log)
_sin = _fn(math.sin, np.sin)
_cos = _fn(math.cos, np.cos)
_tan = _fn(math.tan, np.tan)
_sinh = _fn(math.sinh, np.sinh)
_cosh = _fn(math.cosh, np.cosh)
_tanh = _fn(math.tanh, np.tanh)
_sqrt = _fn(math.sqrt, np.sqrt)
_asin = _fn(math.asin, np.arcsin)
_acos = _fn(math.acos, np.arccos)
_atan = _fn(math.atan, np.arctan)
_log1p = _fn(math.log1p, np.log1p)
_expm1 = _fn(math.expm1, np.expm1)


def _check_number(x, what: str):
    """``x`` if it is a number or a numeric NumPy array; else a TypeError naming ``what``."""
    if type(x) is float or type(x) is int:  # the common case, first
        return x
    if isinstance(x, (bool, np.bool_)) or not (
        isinstance(x, (int, float, complex, np.number))
        or (isinstance(x, np.ndarray) and x.dtype.kind in "iufc")
    ):
        shown = repr(x) if len(repr(x)) <= 40 else repr(x)[:37] + "..."
        hint = " (make it an array: np.array(...))" if isinstance(x, (list, tuple)) else ""
        raise TypeError(
            f"{what} must be a number or a numeric NumPy array, got {type(x).__name__} "
            f"{shown}{hint}"
        )
    return x


def _sign(x):
    return (x > 0) - (x < 0) if isinstance(x, (int, float)) else np.sign(x)


# name -> (value f(v), derivative f'(v) given v and f(v))
_UNARY = {
    "exp": (_exp, lambda v, y: y),
    "log": (_log, lambda v, y: 1.0 / v),
    "sin": (_sin, lambda v, y: _cos(v)),
    "cos": (_cos, lambda v, y: -_sin(v)),
    "tan": (_tan, lambda v, y: 1.0 + y * y),
    "sinh": (_sinh, lambda v, y: _cosh(v)),
    "cosh": (_cosh, lambda v, y: _sinh(v)),
    "tanh": (_tanh, lambda v, y: 1.0 - y * y),
    "sqrt": (_sqrt, lambda v, y: 0.5 / y),
    "arcsin": (_asin, lambda v, y: 1.0 / _sqrt(1.0 - v * v)),
    "arccos": (_acos, lambda v, y: -1.0 / _sqrt(1.0 - v * v)),
    "arctan": (_atan, lambda v, y: 1.0 / (1.0 + v * v)),
    "log1p": (_log1p, lambda v, y: 1.0 / (1.0 + v)),
    "expm1": (_expm1, lambda v, y: y + 1.0),
    "abs": (abs, lambda v, y: _sign(v)),
    "square": (lambda v: v * v, lambda v, y: 2.0 * v),
    "negative": (lambda v: -v, lambda v, y: -1.0),
}

# NumPy ufunc names that map onto the methods (np.exp(x), anp.exp(x) ...).
_UFUNCS = {
    "add": "__add__",
    "subtract": "__sub__",
    "multiply": "__mul__",
    "divide": "__truediv__",
    "true_divide": "__truediv__",
    "power": "__pow__",
    "negative": "__neg__",
    "positive": "__pos__",
    "absolute": "abs",
    "fabs": "abs",
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "sqrt": "sqrt",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
    "log1p": "log1p",
    "expm1": "expm1",
    "square": "square",
}
_COMPARE = {
    "less": "__lt__",
    "less_equal": "__le__",
    "greater": "__gt__",
    "greater_equal": "__ge__",
    "equal": "__eq__",
    "not_equal": "__ne__",
}


def _ufunc_dispatch(self, ufunc, method, *inputs, **kwargs):
    if method != "__call__" or kwargs.get("out") is not None:
        return NotImplemented
    name = ufunc.__name__
    cls = type(self)
    if name in _COMPARE:
        a, b = inputs
        if isinstance(a, cls):
            return getattr(a, _COMPARE[name])(b)
        return getattr(cls._lift(a), _COMPARE[name])(b)
    meth = _UFUNCS.get(name)
    if meth is None:
        return NotImplemented
    if len(inputs) == 1:
        return getattr(inputs[0], meth)()
    a, b = inputs
    if not isinstance(a, cls):
        a = cls._lift(a)
    return getattr(a, meth)(b)


def _compare(op):
    def cmp(self, other):
        o = other.primal if isinstance(other, (Dual, Var)) else other
        return op(self.primal, o)

    return cmp


def _fmt(x):
    return repr(x) if isinstance(x, float) else str(x)


# ---------------------------------------------------------------------- forward mode
_N = TypeVar("_N", bound="_Number")


class _Number:
    """What Dual and Var share: comparisons by primal value (Python control flow follows
    the value, as in the article's ``if x > 2``), unary plus and ``abs``, identity hashing
    and NumPy ufunc dispatch."""

    __slots__ = ()
    __array_priority__ = 1000

    if TYPE_CHECKING:  # the math methods, attached to Dual and Var below (see _UNARY)

        def exp(self: _N) -> _N: ...
        def log(self: _N) -> _N: ...
        def sin(self: _N) -> _N: ...
        def cos(self: _N) -> _N: ...
        def tan(self: _N) -> _N: ...
        def sinh(self: _N) -> _N: ...
        def cosh(self: _N) -> _N: ...
        def tanh(self: _N) -> _N: ...
        def sqrt(self: _N) -> _N: ...
        def arcsin(self: _N) -> _N: ...
        def arccos(self: _N) -> _N: ...
        def arctan(self: _N) -> _N: ...
        def log1p(self: _N) -> _N: ...
        def expm1(self: _N) -> _N: ...
        def abs(self: _N) -> _N: ...
        def square(self: _N) -> _N: ...
        def negative(self: _N) -> _N: ...

    def __pos__(self: _N) -> _N:
        return self

    def __abs__(self: _N) -> _N:
        return self.abs()

    __lt__ = _compare(lambda a, b: a < b)
    __le__ = _compare(lambda a, b: a <= b)
    __gt__ = _compare(lambda a, b: a > b)
    __ge__ = _compare(lambda a, b: a >= b)
    __eq__ = _compare(lambda a, b: a == b)
    __ne__ = _compare(lambda a, b: a != b)
    __hash__ = object.__hash__

    __array_ufunc__ = _ufunc_dispatch


class Dual(_Number):
    r"""A number with a tangent: forward-mode automatic differentiation.

    ``Dual(primal, tangent)`` stands for :math:`v + \dot v\,\varepsilon` with
    :math:`\varepsilon^2 = 0`. Each operation computes its value and the tangent of the
    result by the chain rule: for :math:`w = u v`, :math:`\dot w = \dot u v + u \dot v`.
    Seed the inputs' tangents with a direction; each output's tangent is then the
    directional derivative.

    >>> a, b, c = Dual(25.0, 1.0), Dual(4.0, 0.0), Dual(-5.0, 0.0)
    >>> a * b + c * a          # d/da (ab + ca) = b + c
    primal: -25.0, tangent: -1.0
    """

    __slots__ = ("primal", "tangent")

    def __init__(self, primal: Any, tangent: Any = 0.0) -> None:
        if isinstance(primal, (Dual, Var)) or isinstance(tangent, (Dual, Var)):
            raise TypeError("Dual(primal, tangent) takes numbers (or arrays), not Dual/Var")
        _check_number(primal, "Dual: the primal")
        _check_number(tangent, "Dual: the tangent")
        self.primal = primal
        self.tangent = tangent

    @classmethod
    def _lift(cls, x):
        return x if isinstance(x, Dual) else Dual(x, 0.0)

    # arithmetic -------------------------------------------------------------
    def __add__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.primal + other.primal, self.tangent + other.tangent)
        if isinstance(other, Var):
            return NotImplemented
        return Dual(self.primal + other, self.tangent)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(self.primal - other.primal, self.tangent - other.tangent)
        if isinstance(other, Var):
            return NotImplemented
        return Dual(self.primal - other, self.tangent)

    def __rsub__(self, other: Any) -> Dual:
        return Dual(other - self.primal, -self.tangent)

    def __mul__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            return Dual(
                self.primal * other.primal,
                self.tangent * other.primal + self.primal * other.tangent,
            )
        if isinstance(other, Var):
            return NotImplemented
        return Dual(self.primal * other, self.tangent * other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            q = self.primal / other.primal
            return Dual(q, (self.tangent - q * other.tangent) / other.primal)
        if isinstance(other, Var):
            return NotImplemented
        return Dual(self.primal / other, self.tangent / other)

    def __rtruediv__(self, other: Any) -> Dual:
        q = other / self.primal
        return Dual(q, -q * self.tangent / self.primal)

    def __pow__(self, other: Any) -> Dual:
        if isinstance(other, Dual):
            y = self.primal**other.primal
            t = other.primal * self.primal ** (other.primal - 1) * self.tangent
            if _nonzero(other.tangent):
                t = t + y * _log(self.primal) * other.tangent
            return Dual(y, t)
        if isinstance(other, Var):
            return NotImplemented
        if other == 0:
            return Dual(self.primal**0, 0.0 * self.tangent)
        return Dual(self.primal**other, other * self.primal ** (other - 1) * self.tangent)

    def __rpow__(self, other: Any) -> Dual:
        y = other**self.primal
        return Dual(y, y * _log(other) * self.tangent)

    def __neg__(self) -> Dual:
        return Dual(-self.primal, -self.tangent)

    def __repr__(self) -> str:
        return f"primal: {_fmt(self.primal)}, tangent: {_fmt(self.tangent)}"


def _nonzero(t) -> bool:
    return bool(np.any(t != 0))


def _dual_unary(name):
    f, df = _UNARY[name]

    def method(self):
        y = f(self.primal)
        return Dual(y, df(self.primal, y) * self.tangent)

    method.__name__ = name
    method.__doc__ = f"``{name}`` of the value; the tangent is multiplied by its derivative."
    return method


# ---------------------------------------------------------------------- reverse mode
class Var(_Number):
    r"""A number that records how it was computed: reverse-mode automatic differentiation.

    Every operation on ``Var`` objects returns a new ``Var`` that remembers its parents and
    the local partial derivatives :math:`\partial w / \partial u`. ``y.backward()`` then
    computes, for every ``Var`` that ``y`` depends on, the adjoint
    :math:`\bar v = \partial y / \partial v`, stored in ``v.adjoint``.

    ``backward`` *adds* to the adjoints (as the article's code does), so calling it twice,
    or on two outputs sharing inputs, accumulates; :meth:`zero_grad` resets the adjoints of
    a result and everything it depends on.

    >>> a, b, c = Var(25.0), Var(4.0), Var(-5.0)
    >>> d = a * b + c * a
    >>> d.backward()
    >>> a.adjoint, b.adjoint, c.adjoint
    (-1.0, 25.0, 25.0)
    """

    __slots__ = ("primal", "adjoint", "_parents", "__weakref__")

    def __init__(self, primal: Any, adjoint: Any = 0.0) -> None:
        if isinstance(primal, (Dual, Var)):
            raise TypeError("Var(primal) takes a number (or an array), not a Dual/Var")
        _check_number(primal, "Var: the primal")
        _check_number(adjoint, "Var: the adjoint")
        self.primal = primal
        self.adjoint = adjoint
        # ((parent Var, d self / d parent), ...); empty for inputs
        self._parents = ()

    @classmethod
    def _lift(cls, x):
        return x if isinstance(x, Var) else Var(x)

    @staticmethod
    def _make(primal, parents):
        # The result of an operation on checked values: no need to check it again.
        v = Var.__new__(Var)
        v.primal = primal
        v.adjoint = 0.0
        v._parents = parents
        return v

    @property
    def parents(self) -> tuple[tuple[Var, Any], ...]:
        """The Vars this one was computed from, with the local partial derivatives."""
        return self._parents

    # arithmetic -------------------------------------------------------------
    def __add__(self, other: Any) -> Var:
        if isinstance(other, Var):
            return Var._make(self.primal + other.primal, ((self, 1.0), (other, 1.0)))
        if isinstance(other, Dual):
            return NotImplemented
        return Var._make(self.primal + other, ((self, 1.0),))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Var:
        if isinstance(other, Var):
            return Var._make(self.primal - other.primal, ((self, 1.0), (other, -1.0)))
        if isinstance(other, Dual):
            return NotImplemented
        return Var._make(self.primal - other, ((self, 1.0),))

    def __rsub__(self, other: Any) -> Var:
        return Var._make(other - self.primal, ((self, -1.0),))

    def __mul__(self, other: Any) -> Var:
        if isinstance(other, Var):
            return Var._make(
                self.primal * other.primal, ((self, other.primal), (other, self.primal))
            )
        if isinstance(other, Dual):
            return NotImplemented
        return Var._make(self.primal * other, ((self, other),))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Var:
        if isinstance(other, Var):
            q = self.primal / other.primal
            return Var._make(q, ((self, 1.0 / other.primal), (other, -q / other.primal)))
        if isinstance(other, Dual):
            return NotImplemented
        return Var._make(self.primal / other, ((self, 1.0 / other),))

    def __rtruediv__(self, other: Any) -> Var:
        q = other / self.primal
        return Var._make(q, ((self, -q / self.primal),))

    def __pow__(self, other: Any) -> Var:
        if isinstance(other, Var):
            y = self.primal**other.primal
            d_base = other.primal * self.primal ** (other.primal - 1)
            d_exp = y * _log(self.primal) if _nonzero(self.primal) else 0.0 * y
            return Var._make(y, ((self, d_base), (other, d_exp)))
        if isinstance(other, Dual):
            return NotImplemented
        if other == 0:
            return Var._make(self.primal**0, ((self, 0.0),))
        return Var._make(self.primal**other, ((self, other * self.primal ** (other - 1)),))

    def __rpow__(self, other: Any) -> Var:
        y = other**self.primal
        return Var._make(y, ((self, y * _log(other)),))

    def __neg__(self) -> Var:
        return Var._make(-self.primal, ((self, -1.0),))

    # the reverse sweep --------------------------------------------------------
    def _graph(self):
        """(order, consumers count): the Vars ``self`` depends on, in topological order
        from ``self`` (each after all Vars that use it), found without recursion."""
        pending: dict = {}
        seen = {id(self)}
        stack = [self]
        nodes = []
        while stack:
            v = stack.pop()
            nodes.append(v)
            for p, _ in v._parents:
                pending[id(p)] = pending.get(id(p), 0) + 1
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append(p)
        # Kahn's algorithm from the output: a Var is ready once every Var that uses it
        # has sent its contribution.
        order = []
        ready = [self]
        while ready:
            v = ready.pop()
            order.append(v)
            for p, _ in v._parents:
                c = pending[id(p)] - 1
                pending[id(p)] = c
                if c == 0:
                    ready.append(p)
        return order

    def backward(self, adjoint: Any = 1.0) -> None:
        r"""Add :math:`\text{adjoint} \cdot \partial\,\text{self} / \partial v` to
        ``v.adjoint`` for ``self`` and every Var it depends on.

        Visits each Var once, in reverse topological order (no recursion). Adjoints
        accumulate across calls; use :meth:`zero_grad` to start again. ``adjoint`` is a
        number, or for an array value an array that broadcasts to the value's shape.
        """
        if isinstance(adjoint, (Dual, Var)):
            raise TypeError("Var.backward: the adjoint must be a number or array, not a Dual/Var")
        _check_number(adjoint, "Var.backward: the adjoint")
        shape, ashape = np.shape(self.primal), np.shape(adjoint)
        try:
            ok = np.broadcast_shapes(ashape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"Var.backward: an adjoint of shape {ashape} does not fit a value of shape "
                f"{shape}; give a number or an array of shape {shape}"
            )
        incoming = {id(self): adjoint}
        for v in self._graph():
            g = incoming.pop(id(v), None)
            if g is None:
                continue
            v.adjoint = v.adjoint + g
            for p, d in v._parents:
                c = g * d
                k = id(p)
                incoming[k] = incoming[k] + c if k in incoming else c

    def zero_grad(self) -> None:
        """Reset to 0 the adjoint of ``self`` and of every Var it depends on."""
        for v in self._graph():
            v.adjoint = 0.0

    def __repr__(self) -> str:
        return f"primal: {_fmt(self.primal)}, adjoint: {_fmt(self.adjoint)}"


def _var_unary(name):
    f, df = _UNARY[name]

    def method(self):
        y = f(self.primal)
        return Var._make(y, ((self, df(self.primal, y)),))

    method.__name__ = name
    method.__doc__ = f"``{name}`` of the value, recording its derivative for ``backward``."
    return method


for _name in _UNARY:
    setattr(Dual, _name, _dual_unary(_name))
    setattr(Var, _name, _var_unary(_name))
del _name
