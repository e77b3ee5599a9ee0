"""A compiled program: one traced graph, simplified and turned into a Python function.

``jit`` keeps one :class:`Compiled` per input signature (and branch set); the C backend's
fallback, which has no compiler to call, runs the same kind of program. Both build it with
:func:`compile_function`, so neither depends on the other.
"""

from __future__ import annotations

from ..core.xp import get_xp
from .codegen import generate, identifier
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = ["Compiled", "compile_function", "signature"]


class Compiled:
    """One traced, simplified and compiled graph (for one signature and branch set)."""

    def __init__(self, graph, guards, closures, backend="python", keep_values=False):
        self.traced = graph
        self.closures = closures
        gnodes = [g for g, _ in guards]
        self.graph, new_gnodes = simplify(graph, gnodes)
        self.guards = [(n, t) for n, (_, t) in zip(new_gnodes, guards)]
        self.backend = backend
        xp = get_xp([n.value for n in graph.inputs if n.value is not None])
        self.source, self.fn = generate(
            self.graph, self.guards, xp=xp, fn_name=f"jit_{identifier(graph.name)}"
        )
        self.derived = {}
        # A compiled program is kept for later calls: it must not keep the values it was
        # traced with (every intermediate array of the example call) alive. Nodes keep
        # their shapes and dtypes; constants (Const) are part of the program and stay.
        # (``lower`` keeps them: its graphs are for reading, and pictures show values.)
        if not keep_values:
            _forget_values(self.traced)
            _forget_values(self.graph)

    @property
    def has_guards(self) -> bool:
        return bool(self.guards)

    def __call__(self, leaves):
        return self.fn(*leaves)

    def evaluate(self, *leaves):
        """The graph evaluated by binding each primitive (traceable by transformations)."""
        return tuple(self.graph.evaluate(list(leaves)))


def compile_function(fun, leaves, in_tree, *, keep_values: bool = False) -> Compiled:
    """Trace ``fun`` on the flat ``leaves`` (structured as ``in_tree``) and compile it."""
    graph, guards, closures = trace_for_jit(fun, leaves, in_tree)
    return Compiled(graph, guards, closures, keep_values=keep_values)


def signature(leaves) -> tuple:
    """What selects a compiled program: each leaf's type, shape and dtype."""
    return tuple(
        (type(x), tuple(getattr(x, "shape", ())), getattr(x, "dtype", None)) for x in leaves
    )


def _forget_values(graph):
    """Drop the trace-time values of ``graph``'s nodes (shape and dtype are kept)."""
    for n in graph.nodes:
        n.value = None
