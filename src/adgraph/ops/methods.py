"""Operators and array methods of traced values, mapped to adgraph's operations.

Installed on :class:`adgraph.core.trace.Tracer` when ``adgraph.ops`` is imported, so a traced
array behaves like an ``ndarray`` inside a differentiated function: ``x @ W + b``,
``x.T``, ``x.sum(axis=0)``, ``x[1:, None]``, ``x.at[i].set(v)``. NumPy's own functions and
ufuncs called on a traced value (``np.sum(x)``, ``np.sin(x)``, ``scipy.special.expit(x)``)
run adgraph's function of the same name.

Every name is resolved in the ops modules themselves: the user namespaces
``adgraph.numpy`` (with ``linalg`` and ``fft``) and ``adgraph.scipy.special`` re-export
exactly these modules' public names, so the tables below are those namespaces.
"""

from __future__ import annotations

import numpy as _np  # memory-free stand-ins for shape and dtype queries; never computes

from ..core.trace import Tracer
from . import (
    arrayfuncs,
    construct,
    creation,
    elementwise,
    emath,
    fft,
    histograms,
    indexing,
    joining,
    linalg,
    mathfuncs,
    misc,
    numerical,
    polynomial,
    products,
    reductions,
    searching,
    setops,
    shapes,
    special,
    special_bessel,
    special_beta,
    special_gamma,
    special_misc,
    statistics,
    windows,
)
from ._util import shape as _shape

_NO_PARAMS: dict = {}  # shared by every operator call (primitives never mutate params)


def _names(*modules) -> dict:
    """name -> function over the public names of ``modules``; a later module's name wins,
    as with the star imports of adgraph.numpy."""
    table = {}
    for m in modules:
        table.update((name, getattr(m, name)) for name in m.__all__)
    return table


# adgraph.numpy's functions (in the order of its star imports), its submodules', and
# adgraph.scipy.special's.
_NUMPY = _names(
    creation,
    elementwise,
    indexing,
    joining,
    misc,
    products,
    reductions,
    shapes,
    construct,
    numerical,
    statistics,
    arrayfuncs,
    histograms,
    mathfuncs,
    polynomial,
    searching,
    setops,
    windows,
)
_SUBMODULES = {"linalg": _names(linalg), "fft": _names(fft)}
_EMATH = _names(emath)  # numpy.emath's functions live in numpy.lib.scimath
# in the order of adgraph.scipy.special's star imports, and its one alias
_SPECIAL = _names(special, special_gamma, special_beta, special_bessel, special_misc)
_SPECIAL["psi"] = special.digamma

# NumPy functions that read only the shape or dtype of their arguments: they run on
# stand-ins of the traced values that take no memory (no derivative is lost).
_QUERIES = frozenset(("shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type"))


def _binop(name, reflected=False):
    # Operators bind the primitive directly when the public function is a thin wrapper
    # around one (the per-operation hot path); otherwise they call the function.
    from . import elementwise, products

    f = getattr(elementwise, name, None) or getattr(products, name, None)
    prim = getattr(f, "primitive", None)
    if prim is not None:
        from .elementwise import _broadcast_error

        bind = prim.bind_traced  # self is a tracer: skip the untraced fast-path check
        if reflected:

            def rop(self, other):
                try:
                    return bind((other, self), _NO_PARAMS)
                except ValueError as e:
                    _broadcast_error(name, (other, self), e)
                    raise

            return rop

        def op_(self, other):
            try:
                return bind((self, other), _NO_PARAMS)
            except ValueError as e:
                _broadcast_error(name, (self, other), e)
                raise

        return op_

    g = _NUMPY[name]

    def op(self, other):
        return g(other, self) if reflected else g(self, other)

    return op


def _method(name):
    f = _NUMPY[name]

    def m(self, *args, **kwargs):
        return f(self, *args, **kwargs)

    m.__name__ = name
    return m


_BINARY = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "divide",
    "floordiv": "floor_divide",
    "mod": "mod",
    "pow": "power",
    "matmul": "matmul",
    "and": "logical_and",
    "or": "logical_or",
    "xor": "logical_xor",
}

_COMPARE = {
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "eq": "equal",
    "ne": "not_equal",
}

_METHODS = [
    "all",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "clip",
    "conj",
    "conjugate",
    "cumprod",
    "cumsum",
    "diagonal",
    "dot",
    "max",
    "mean",
    "min",
    "nonzero",
    "prod",
    "ravel",
    "repeat",
    "round",
    "squeeze",
    "std",
    "sum",
    "swapaxes",
    "take",
    "trace",
    "var",
]


def install() -> None:
    for short, name in _BINARY.items():
        setattr(Tracer, f"__{short}__", _binop(name))
        setattr(Tracer, f"__r{short}__", _binop(name, reflected=True))
    for short, name in _COMPARE.items():
        setattr(Tracer, f"__{short}__", _binop(name))
    Tracer.__hash__ = lambda self: id(self)
    Tracer.__neg__ = lambda self: elementwise.negative(self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: elementwise.abs(self)
    Tracer.__invert__ = lambda self: elementwise.logical_not(self)
    Tracer.__getitem__ = lambda self, idx: indexing.getitem(self, idx)
    Tracer.__divmod__ = lambda self, other: (self // other, self % other)
    Tracer.__round__ = lambda self, ndigits=None: _NUMPY["round"](self, ndigits or 0)
    for name in _METHODS:
        setattr(Tracer, name, _method(name))
    Tracer.astype = lambda self, dtype, copy=True: misc.astype(self, dtype)
    Tracer.copy = lambda self: self
    Tracer.flatten = lambda self, order="C": shapes.ravel(self, order)
    Tracer.reshape = _reshape_method
    Tracer.transpose = _transpose_method
    Tracer.T = property(lambda self: shapes.transpose(self))
    Tracer.mT = property(lambda self: shapes.swapaxes(self, -1, -2))
    Tracer.real = property(lambda self: elementwise.real(self))
    Tracer.imag = property(lambda self: elementwise.imag(self))
    Tracer.at = property(lambda self: indexing.at(self))
    Tracer.item = _item
    Tracer.tolist = _tolist
    Tracer.__array_ufunc__ = _array_ufunc
    Tracer.__array_function__ = _array_function
    from . import scalar

    scalar.install()


# NumPy ufunc names that adgraph.numpy spells differently.
_UFUNC_ALIASES = {"absolute": "abs", "true_divide": "divide", "conjugate": "conj"}


_NO_COUNTERPART = (
    "; inside a differentiated function use adgraph.numpy (import adgraph.numpy as anp) "
    "or adgraph.scipy.special, or give the operation your own derivative with "
    "adgraph.custom_vjp / adgraph.custom_jvp"
)


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """``np.sin(tracer)``, ``ndarray * tracer`` or ``scipy.special.expit(tracer)``: run
    adgraph's operation of that name."""
    name = _UFUNC_ALIASES.get(ufunc.__name__, ufunc.__name__)
    f = _NUMPY.get(name) or _SPECIAL.get(name)
    if method != "__call__" and getattr(f, method, None) is not None:
        return getattr(f, method)(*inputs, **kwargs)  # outer, reduce, accumulate, at
    if method != "__call__" or f is None or kwargs:
        what = ufunc.__name__ + ("" if method == "__call__" else "." + method)
        detail = " with keyword arguments" if kwargs and f is not None else ""
        raise TypeError(
            f"the ufunc {what} (NumPy's or SciPy's) was called on a traced value{detail} and "
            f"has no adgraph counterpart{_NO_COUNTERPART}"
        )
    return f(*inputs)


def _array_function(self, func, types, args, kwargs):
    """``np.sum(tracer)`` and other NumPy functions: adgraph's function of that name."""
    mod = getattr(func, "__module__", "") or "numpy"
    parts = mod.split(".")
    sub = parts[1] if len(parts) > 1 and parts[0] == "numpy" else ""
    ns = _EMATH if mod == "numpy.lib.scimath" else _SUBMODULES.get(sub, _NUMPY)
    f = ns.get(func.__name__)
    if f is None and not sub and func.__name__ in _QUERIES:
        return func(*_stand_ins(args), **dict(zip(kwargs, _stand_ins(kwargs.values()))))
    if f is None:
        public = f"numpy.{sub}." if sub in ("linalg", "fft") else "numpy."
        raise TypeError(
            f"{public}{func.__name__} was called on a traced value and has no adgraph "
            f"counterpart{_NO_COUNTERPART}"
        )
    return f(*args, **kwargs)


def _stand_ins(values):
    """Traced values replaced by arrays of their shape and dtype that take no memory (one
    element, broadcast)."""
    return [
        _np.broadcast_to(_np.empty((), v.dtype), _shape(v)) if isinstance(v, Tracer) else v
        for v in values
    ]


def _reshape_method(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return shapes.reshape(self, shape, order=order)


def _transpose_method(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = axes[0]
    return shapes.transpose(self, axes or None)


def _item(self, *args):
    raise TypeError(
        ".item() of a traced value would drop its derivative; use indexing (x[()] or x[i]) "
        "to keep it, or adgraph.stop_gradient(x) first if it is not wanted"
    )


def _tolist(self):
    raise TypeError(".tolist() of a traced value would drop its derivative")
