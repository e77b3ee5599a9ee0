"""The primitives, by family, each declared once with all its rules beside it.

Importing this package registers every primitive, hands the engine its basic operations
(``adgraph.core.basic.provide``) and installs operators on traced values.
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


_basic.provide(
    add=elementwise.add,
    mul=elementwise.multiply,
    sum_to_shape=shapes.sum_to_shape,
    broadcast_to=shapes.broadcast_to,
    astype=misc.astype,
    real=elementwise.real,
    getitem=indexing.getitem,
    reshape=shapes.reshape,
    stack=_stack,
    zeros=creation.zeros_raw,
)

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
