"""Tracing for compilation: record a function into a Graph, with guards on control flow.

Like :func:`adgraph.graph.trace`, but a Python ``if``/``while`` on a traced value does not
silently bake in one branch: the truth value is recorded as a *guard* (the node and the
branch taken). The compiled program checks every guard when it runs and, when one fails,
the function is traced again for the new branch. Conversions that would turn a traced value
into a Python number (``float(x)``, ``int(x)``, ``x.item()``) cannot be guarded and are
refused with an error naming the line of user code.

Effects (``adgraph.debug.print``/``callback``) are staged, not run: each becomes a node of
the graph with no result, listed in ``graph.effects`` in the order of the calls, which the
simplifier keeps and the program runs.
"""

from __future__ import annotations

import linecache
import sys

from ..core.primitive import Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import EscapedTracerError, Tracer, leaked_message, trace_scope
from ..core.userline import user_frame
from ..core.xp import get_xp
from ..debug import muted, muted_now
from ..graph.ir import Const, Graph, Node
from ..graph.tracing import GraphTrace, GraphTracer
from .codegen import function_name

__all__ = ["JitTrace", "JitTracer", "trace_for_jit", "ConcretizationError", "EFFECTS", "no_effects"]

#: Leave out effects met while tracing in a block (a derived program, such as the pullback
#: of a compiled call, whose forward pass already ran them).
no_effects = muted

#: Primitives run for their effect (they return nothing): staged in order, never removed.
EFFECTS = frozenset({"debug_callback"})


#: The guard of a result whose shape depends on the values (``Primitive.value_shape``).
shape_is_p = Primitive(
    "jit_shape_is",
    lambda xp, x, *, shape: tuple(x.shape) == shape,
    nondiff=True,
    doc="Whether x has the given shape (a compiled program's guard on a value-dependent shape).",
)


#: Loop primitives whose values are computed, while tracing, by their steps compiled once.
_LOOPS = frozenset({"scan", "while_loop", "while_stack", "while_back"})


class ConcretizationError(TypeError):
    """A traced value was needed as a concrete Python number while compiling."""


def _user_line() -> str:
    """``file:line (code)`` of the innermost frame outside adgraph (the code is left out
    where the source cannot be read, as for ``python -c`` or a notebook's ``<stdin>``)."""
    f = user_frame(sys._getframe(1))
    if f is None:
        return "<unknown line>"
    fn = f.f_code.co_filename
    code = linecache.getline(fn, f.f_lineno).strip()
    return f"{fn}:{f.f_lineno}" + (f" ({code})" if code else "")


class JitTracer(GraphTracer):
    """A graph tracer whose truth value becomes a guard (see the module documentation)."""

    __slots__ = ()

    def __bool__(self):
        if not self._trace.alive:
            return bool(self.primal_value())
        if getattr(self.value, "shape", ()) not in ((), (1,)):
            raise ConcretizationError(
                f"the truth value of a traced array of shape {self.shape} is ambiguous at "
                f"{_user_line()}; use anp.any/anp.all, or anp.where for elementwise choices"
            )
        # A value computed from a closed-over value of an enclosing transformation is that
        # transformation's tracer: its own truth value decides (vmap refuses a batched one,
        # an enclosing jit guards it in its program too).
        taken = bool(self.value)
        self._trace.guards.append((self.node, taken))
        return taken

    def _refuse(self, what):
        raise ConcretizationError(
            f"{what} of a traced value inside a jit-compiled function at {_user_line()}: the "
            "compiled program cannot turn an array computed at run time into a Python number. "
            "Mark the argument static (ad.jit(f, static_argnums=...)), keep the value as an "
            "array, or use anp.where instead of Python branching"
        )

    def __float__(self):
        self._refuse("float()")

    def __int__(self):
        self._refuse("int()")

    def __index__(self):
        self._refuse("using as an index/int")

    def __complex__(self):
        self._refuse("complex()")

    def item(self, *args):
        self._refuse(".item()")

    def tolist(self):
        self._refuse(".tolist()")


class JitTrace(GraphTrace):
    """Records every primitive applied to its tracers as a graph node; truth values of
    traced values become guards, and values of enclosing transformations the function
    closes over become extra inputs."""

    __slots__ = ("guards", "lifted", "effects")
    tracer_type = JitTracer
    stages_effects = True  # adgraph.debug's calls without traced arguments come here

    def __init__(self):
        super().__init__()
        self.guards = []
        self.effects = []  # effect nodes, in the order of the calls
        # {id(tracer): (tracer, JitTracer)} for the closed-over values
        self.lifted = {}

    def process(self, prim, args, params):
        if prim.name in EFFECTS:
            return self._effect(prim, args, params)
        if prim.name == "jit_call":
            # A jit-compiled function called inside runs in this program, on its values: its
            # branches become guards here, recorded (so checked) before the call.
            params["compiled"].assert_branches(*args)
            if getattr(params["compiled"].graph, "effects", None) and not muted_now():
                return self._effectful_call(prim, args, params)
        # The values recorded are computed now, while tracing: callbacks met on the way
        # (a compiled function called inside, a loop's body) run when the program does.
        if prim.name in _LOOPS and not muted_now():
            # (not muted: a step that calls debug.print must be seen to have effects, and
            # then runs as the primitive does)
            got = self._scan(prim, args, params)
            if got is not None:
                return got
        with muted():
            out = super().process(prim, args, params)
        vs = prim.value_shape
        if vs is not False and (vs is True or vs(args, params)):
            self._guard_shapes(out)
        return out

    def _guard_shapes(self, out):
        """A result whose shape depends on the values: the program checks that shape each
        time it runs (a guard), so what the function computed from it while being traced
        (``len(x[x > 0])``, a mean's divisor) is only reused where it holds."""
        for t in out if isinstance(out, tuple) else (out,):
            if type(t) is JitTracer and t._trace is self:
                shape = tuple(t.value.shape)
                node = Node(
                    "jit_shape_is", (t.node,), {"shape": shape}, prim=shape_is_p, value=True
                )
                self.guards.append((node, True))

    def _scan(self, prim, args, params):
        """A loop recorded as one node, its values computed by the step compiled once
        (not by running the step through the tracing machinery at every iteration); None
        when the step does not compile (the loop then runs as the primitive does)."""
        from .loops import run_scan
        from .while_loops import run_while_node

        vals, ins = self._inputs(args)
        if any(isinstance(v, Tracer) for v in vals):
            return None
        xp = get_xp([v for v in vals if hasattr(v, "shape")])
        if prim.name == "scan":
            ans = run_scan(vals, params, xp)
        else:
            ans = run_while_node(prim.name, vals, params, xp)
        if ans is None:
            return None
        node = Node(prim.name, ins, params, prim=prim, value=ans)
        return tuple(
            JitTracer(self, a, Node("item", (node,), {"index": k}, value=a))
            for k, a in enumerate(ans)
        )

    def _inputs(self, args):
        vals, ins = [], []
        for a in args:
            a = self.argument(a)
            if type(a) is JitTracer and a._trace is self:
                vals.append(a.value)
                ins.append(a.node)
            else:
                vals.append(a)
                ins.append(Const(a))
        return vals, ins

    def _effect(self, prim, args, params):
        """Stage an effect: a node with no result, run by the program (not now)."""
        if muted_now():
            return ()
        _, ins = self._inputs(args)
        node = Node(prim.name, ins, params, prim=prim, value=(), shape=(), dtype=None)
        self.effects.append(node)
        return ()

    def _effectful_call(self, prim, args, params):
        """A compiled function with effects called inside: a call node that is also an
        effect (kept, never merged, run in order) even where its results are unused."""
        vals, ins = self._inputs(args)
        with muted():
            ans = prim.bind(*vals, **params)
        node = Node(prim.name, ins, params, prim=prim, value=ans)
        self.effects.append(node)
        return tuple(
            JitTracer(self, a, Node("item", (node,), {"index": k}, value=a))
            for k, a in enumerate(ans)
        )

    def argument(self, a):
        if isinstance(a, Tracer) and not (type(a) is JitTracer and a._trace is self):
            got = self.lifted.get(id(a))
            if got is None:
                node = Node(
                    "input",
                    (),
                    shape=tuple(a.shape),
                    dtype=a.dtype,
                    name=f"closure{len(self.lifted)}",
                )
                got = self.lifted[id(a)] = (a, JitTracer(self, a, node))
            return got[1]
        return a


def trace_for_jit(fun, leaves, in_tree, names=None):
    """Run ``fun`` on tracers for ``leaves``; returns ``(graph, guards, closures)``.

    ``guards`` is a list of ``(node, taken)`` pairs, in the order they were met;
    ``closures`` the values of enclosing transformations that ``fun`` closed over -- used
    by its operations, or returned (computed by the enclosing transformations alone) --
    which became extra graph inputs after the explicit ones.
    """
    t = JitTrace()
    names = names or [f"x{k}" for k in range(len(leaves))]
    with trace_scope(t):
        ins = [t.new_input(x, nm) for x, nm in zip(leaves, names)]
        result = fun(*tree_unflatten(in_tree, ins))
    out_leaves, out_tree = tree_flatten(result)
    outputs = []
    for o in out_leaves:
        if type(o) is JitTracer and o._trace is t:
            outputs.append(o.node)
        elif isinstance(o, Tracer):
            # Computed from closed-over values of enclosing transformations alone (``sin(y)``
            # run by y's own trace): lifted into an input like any closure, and returned.
            if not o._trace.alive:
                raise EscapedTracerError(
                    leaked_message(o._trace, "returned by a jit-compiled function")
                )
            outputs.append(t.argument(o).node)
        else:
            outputs.append(Const(o))
    name = function_name(fun)
    # Only the closures the program uses become inputs: a call that ran its user function
    # watched and then closure-converted it (a loop's body under an enclosing forward mode,
    # say) may have lifted values of that aborted run -- tracers of a transformation's
    # private level among them -- that nothing computed here depends on.
    used = _used_nodes(outputs, t.effects, [g for g, _ in t.guards])
    lifted = [(a, jt) for a, jt in t.lifted.values() if jt.node.id in used]
    closures = [a for a, _ in lifted]
    inputs = [i.node for i in ins] + [jt.node for _, jt in lifted]
    graph = Graph(inputs, outputs, in_tree=None, out_tree=out_tree, name=name)
    graph.in_tree = in_tree if not closures else None
    with_effects(graph, t.effects)
    return graph, list(t.guards), closures


def _used_nodes(*roots) -> set:
    """The ids of the nodes that the nodes in the sequences ``roots`` depend on."""
    seen: set = set()
    stack = [n for seq in roots for n in seq if isinstance(n, Node)]
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        seen.add(n.id)
        stack.extend(i for i in n.inputs if isinstance(i, Node) and i.id not in seen)
    return seen


def with_effects(graph: Graph, effects) -> Graph:
    """Attach the effect nodes ``effects`` to ``graph`` (``graph.effects``), as roots of
    its nodes beside the outputs, so that nothing removes them."""
    graph.effects = list(effects)
    if graph.effects:
        full = Graph(graph.inputs, list(graph.outputs) + graph.effects, name=graph.name)
        graph.nodes = full.nodes
        graph._order = None
    return graph
