"""The primitives, by family, each declared once with all its rules beside it.

Importing this package registers every primitive, fills the engine's late-bound basic
operations (``adgraph.core.basic``) and installs operators on traced values.
"""

from __future__ import annotations

from ..core import basic as _basic
from ..core.primitive import registry as _registry
from . import (
    creation,
    elementwise,
    fft,
    indexing,
    joining,
    linalg,
    misc,
    products,
    reductions,
    shapes,
    special,
)
from . import methods as _methods


def _stack(xs, axis=0):
    return joining.stack(xs, axis=axis)


_basic.add = elementwise.add
_basic.mul = elementwise.multiply
_basic.neg = elementwise.negative
_basic.sum_to_shape = shapes.sum_to_shape
_basic.broadcast_to = shapes.broadcast_to
_basic.astype = misc.astype
_basic.real = elementwise.real
_basic.getitem = indexing.getitem
_basic.reshape = shapes.reshape
_basic.stack = _stack
_basic.zeros = creation.zeros_raw

_methods.install()

# Residuals each reverse rule reads (see Primitive.needs): per argument, the argument
# indices and/or "ans" its VJP uses. Reverse mode keeps only these alive, so large
# intermediates nobody needs are freed during the forward pass.
_N = frozenset
_NEEDS = {
    "add": (_N(), _N()),
    "subtract": (_N(), _N()),
    "negative": (_N(),),
    "multiply": (_N([1]), _N([0])),
    "divide": (_N([1]), _N([1, "ans"])),
    "exp": (_N(["ans"]),),
    "expm1": (_N(["ans"]),),
    "exp2": (_N(["ans"]),),
    "log": (_N([0]),),
    "log1p": (_N([0]),),
    "log2": (_N([0]),),
    "log10": (_N([0]),),
    "sqrt": (_N(["ans"]),),
    "tanh": (_N(["ans"]),),
    "sin": (_N([0]),),
    "cos": (_N([0]),),
    "square": (_N([0]),),
    "reciprocal": (_N(["ans"]),),
    "matmul": (_N([1]), _N([0])),
    "convert_element_type": (_N(),),
}
for _name, _needs in _NEEDS.items():
    _p = _registry.get(_name)
    if _p is not None and _p.needs is None:
        _p.needs = _needs

__all__ = [
    "creation",
    "elementwise",
    "fft",
    "indexing",
    "joining",
    "linalg",
    "misc",
    "products",
    "reductions",
    "shapes",
    "special",
]
