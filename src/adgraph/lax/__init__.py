"""Structured control flow with JAX's names: loops and branches that differentiate.

``scan``, ``fori_loop`` and ``map`` are one call primitive each time they run (one node of
the graph); reverse mode keeps every step or, with ``checkpoints=k``, only ``k`` carries
(binomial checkpointing, :mod:`adgraph.lax.revolve`). ``while_loop``, ``cond`` and
``switch`` run in Python on the values they are given, so every transformation sees
their body's operations; ``while_loop(..., checkpoints=k)`` is one node in reverse mode
that keeps ``k`` carries chosen while it runs (:mod:`adgraph.lax.online`). ``custom_root`` and ``custom_linear_solve`` differentiate a
solver's result implicitly, without recording its iterations. See ``docs/loops.md``.
"""

from ..ops.misc import stop_gradient
from .branches import cond, switch
from .implicit import custom_linear_solve, custom_root
from .loops import fori_loop, map, scan
from .while_loops import while_loop

__all__ = [
    "fori_loop",
    "scan",
    "while_loop",
    "cond",
    "switch",
    "map",
    "custom_root",
    "custom_linear_solve",
    "stop_gradient",
]
