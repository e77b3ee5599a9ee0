"""A compiled program: one traced graph, simplified and turned into a Python function.

``jit`` keeps one :class:`Compiled` per input signature (and branch set); the C backend's
fallback, which has no compiler to call, runs the same kind of program. Both build it with
:func:`compile_function`, so neither depends on the other.
"""

from __future__ import annotations

from ..core.xp import get_xp
from ..graph.ir import Graph, Node
from .codegen import GUARD_FAILED, generate, identifier
from .loops import share_residuals
from .reroll import reroll
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = ["BranchNotCovered", "Compiled", "compile_function", "signature"]


class BranchNotCovered(RuntimeError):
    """A compiled program was run on values for which a Python branch it baked in goes the
    other way (its guard failed where the caller could not trace again)."""


class Compiled:
    """One traced, simplified and compiled graph (for one signature and branch set).

    Invariant: every guard of a jit-compiled function called inside (a ``jit_call`` node)
    is also a guard of this program, checked before that call runs (the tracer records
    them, see :class:`adgraph.jit.tracing.JitTrace`); so are the branches of this
    program's graph wherever a transformation evaluates it (:meth:`evaluate`)."""

    def __init__(
        self, graph, guards, closures, backend="python", keep_values=False, keep_buffers=True
    ):
        self.traced = graph
        self.keep_buffers = keep_buffers
        self.closures = closures
        gnodes = [g for g, _ in guards]
        if not gnodes:
            # unrolled Python loops become loops again (before simplifying: a loop's
            # step is simplified once, not once per step)
            graph = reroll(graph)
        self.graph, new_gnodes = simplify(graph, gnodes)
        if not gnodes and not getattr(self.graph, "effects", None):
            self.graph = share_residuals(self.graph)
        self.guards = [(n, t) for n, (_, t) in zip(new_gnodes, guards)]
        self.has_guards = bool(self.guards)
        self.backend = backend
        xp = get_xp([n.value for n in graph.inputs if n.value is not None])
        self.source, fn = generate(
            self.graph,
            self.guards,
            xp=xp,
            fn_name=f"jit_{identifier(graph.name)}",
            keep_buffers=keep_buffers,
        )
        if any(n.op == "jit_call" and n.params["compiled"].has_guards for n in self.graph.nodes):
            fn = _checking(fn)
        self.fn = fn
        self.derived = {}
        self._with_guards = None  # the graph with its guard nodes as extra outputs
        self._guard_inputs = None
        # A compiled program is kept for later calls: it must not keep the values it was
        # traced with (every intermediate array of the example call) alive. Nodes keep
        # their shapes and dtypes; constants (Const) are part of the program and stay.
        # (``lower`` keeps them: its graphs are for reading, and pictures show values.)
        if not keep_values:
            _forget_values(self.traced)
            _forget_values(self.graph)

    def __call__(self, leaves):
        return self.fn(*leaves)

    def evaluate(self, *leaves):
        """The graph evaluated by binding each primitive (traceable by transformations).

        The program's branches are asserted on the values: under a staging trace (a
        derived program being compiled) they become its guards; on values they do not
        cover, :class:`BranchNotCovered` is raised."""
        if not self.has_guards:
            return tuple(self.graph.evaluate(list(leaves)))
        n = len(self.graph.outputs)
        vals = self._guarded().evaluate(list(leaves))
        self._assert(vals[n:])
        return tuple(vals[:n])

    def assert_branches(self, *leaves) -> None:
        """Assert the program's branches on ``leaves`` (a tracing call: recorded as guards
        of the trace in flight), evaluating only what the guards depend on."""
        if self.has_guards:
            n = len(self.graph.outputs)
            g = self._guarded()
            self._assert(Graph(g.inputs, g.outputs[n:], name=g.name).evaluate(list(leaves)))

    def guard_inputs(self) -> frozenset:
        """The positions of the inputs the program's branches depend on."""
        if self._guard_inputs is None:
            pos = {n: k for k, n in enumerate(self.graph.inputs)}
            seen = set()
            stack = [g for g, _ in self.guards if isinstance(g, Node)]
            while stack:
                n = stack.pop()
                if n in seen:
                    continue
                seen.add(n)
                stack.extend(i for i in n.inputs if isinstance(i, Node))
            self._guard_inputs = frozenset(pos[n] for n in seen if n in pos)
        return self._guard_inputs

    def _guarded(self):
        if self._with_guards is None:
            self._with_guards = Graph(
                self.graph.inputs,
                list(self.graph.outputs) + [g for g, _ in self.guards],
                name=self.graph.name,
            )
        return self._with_guards

    def _assert(self, values):
        for v, (_, taken) in zip(values, self.guards):
            if bool(v) is not taken:
                raise BranchNotCovered(
                    f"jit: the compiled program of {self.graph.name!r} was used with values "
                    "for which a Python branch it baked in goes the other way"
                )


def compile_function(
    fun, leaves, in_tree, *, keep_values: bool = False, keep_buffers: bool = True
) -> Compiled:
    """Trace ``fun`` on the flat ``leaves`` (structured as ``in_tree``) and compile it;
    ``keep_buffers``: its intermediates go into buffers kept across calls
    (:mod:`adgraph.jit.buffers`)."""
    graph, guards, closures = trace_for_jit(fun, leaves, in_tree)
    return Compiled(graph, guards, closures, keep_values=keep_values, keep_buffers=keep_buffers)


def signature(leaves) -> tuple:
    """What selects a compiled program: each leaf's type, shape and dtype."""
    return tuple(
        (type(x), tuple(getattr(x, "shape", ())), getattr(x, "dtype", None)) for x in leaves
    )


def _checking(fn):
    """``fn`` returning ``GUARD_FAILED`` when a jit-compiled function it calls finds a
    branch not covered (a guard of its own the ordering of ``fn`` had not checked yet)."""

    def checked(*leaves):
        try:
            return fn(*leaves)
        except BranchNotCovered:
            return GUARD_FAILED

    return checked


def _forget_values(graph):
    """Drop the trace-time values of ``graph``'s nodes (shape and dtype are kept)."""
    for n in graph.nodes:
        n.value = None
