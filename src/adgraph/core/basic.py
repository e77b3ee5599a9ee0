"""The few array operations the engine itself needs, provided by the operations layer.

The transformation engine (``adgraph.ad``) sits below the operations (``adgraph.ops``) in
the layering, yet it must add cotangents, sum a broadcast cotangent back to an argument's
shape, and cast tangents to their primal's dtype -- differentiably, so that outer levels
trace them. This is the one place the layering is inverted, on purpose: ``adgraph.ops``
hands these operations in with :func:`provide` when it is imported (importing ``adgraph``
always does), and until then using one raises an error saying so. The names and what each
must compute:

* ``add(x, y)``, ``mul(x, y)`` -- elementwise, broadcasting;
* ``sum_to_shape(x, shape)`` -- the reverse of broadcasting; ``broadcast_to(x, shape)``;
* ``astype(x, dtype)``, ``real(x)``;
* ``getitem(x, idx)``, ``reshape(x, shape)``, ``stack(list_of_arrays, axis=0)``;
* ``zeros(shape, dtype, like)`` -- raw zeros in the array module of ``like``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["provide", "REQUIRED"]

REQUIRED = (
    "add",
    "mul",
    "sum_to_shape",
    "broadcast_to",
    "astype",
    "real",
    "getitem",
    "reshape",
    "stack",
    "zeros",
)


def provide(**operations: Callable[..., Any]) -> None:
    """Install the engine's operations (called once, by ``adgraph.ops``); every name of
    :data:`REQUIRED` must be given, and nothing else."""
    missing = set(REQUIRED) - set(operations)
    extra = set(operations) - set(REQUIRED)
    if missing or extra:
        raise TypeError(
            f"adgraph.core.basic.provide: missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    globals().update(operations)


def __getattr__(name: str):
    if name in REQUIRED:
        raise RuntimeError(
            f"adgraph.core.basic.{name} is provided by adgraph.ops, which is not imported yet: "
            "import adgraph (or adgraph.numpy) first"
        )
    raise AttributeError(f"module 'adgraph.core.basic' has no attribute {name!r}")
