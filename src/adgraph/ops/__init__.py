"""The primitives, by family, each declared once with all its rules beside it.

Importing this package registers every primitive, fills the engine's late-bound basic
operations (``adgraph.core.basic``) and installs operators on traced values.
"""

from __future__ import annotations

from ..core import basic as _basic
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
