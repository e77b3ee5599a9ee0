"""The graph IR: a computation as a directed acyclic graph of primitive applications.

A :class:`Graph` has input nodes, operation nodes and outputs; its values are the
:class:`~adgraph.graph.nodes.Node` and :class:`~adgraph.graph.nodes.Const` of
:mod:`adgraph.graph.nodes` (re-exported here). A value used twice is one node with two
consumers: the graph is a DAG, not a tree.

:meth:`Graph.toposort` orders the nodes by Kahn's algorithm, in rounds: round ``k`` holds the
nodes whose longest path from an input has ``k`` edges (their *level*), in recording order.
That is the order of the classic evaluation trace (inputs, then everything computable from
them, then everything computable from those...). A graph built by hand with a cycle raises
:class:`GraphCycleError` naming a node on the cycle.

Calling a graph, ``graph(*args)``, evaluates it on new inputs by binding each primitive in
topological order -- so a graph is itself differentiable with ``grad``/``jvp``/``vmap``. It
replays the operations recorded, including the branches Python control flow took while
tracing; a different branch needs a new trace.

The sweeps, tables and pictures that a graph offers as methods (``tangents``, ``tables``,
``to_dot``...) are functions of a graph in :mod:`~adgraph.graph.sweeps`,
:mod:`~adgraph.graph.tables` and :mod:`~adgraph.graph.render`. They read nodes through
:mod:`~adgraph.graph.nodes` and never import this module; the methods import them when first
called, so that importing adgraph does not load the drawing and table code.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ad.order import CycleError, inputs_first
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer
from .nodes import Const, Node

if TYPE_CHECKING:
    from ..core.pytree import PyTreeDef
    from .tables import TraceTables

__all__ = ["Node", "Const", "Graph", "GraphCycleError"]


class GraphCycleError(ValueError):
    """A graph that should be acyclic has a cycle."""


def _node_inputs(n) -> list:
    return [i for i in n.inputs if isinstance(i, Node)]


def _collect(inputs, outputs) -> list:
    """Every node that an output depends on, plus the inputs, by increasing id.

    Iterative, and safe on cyclic graphs (each node is visited once)."""
    seen = {}
    stack = [o for o in outputs if isinstance(o, Node)] + list(inputs)
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        seen[n.id] = n
        for i in n.inputs:
            if isinstance(i, Node) and i.id not in seen:
                stack.append(i)
    return [seen[k] for k in sorted(seen)]


class Graph:
    """A computation graph: inputs, nodes and outputs (see the module documentation).

    Parameters
    ----------
    inputs : sequence of Node
        The input nodes (``op == "input"``), in argument order.
    outputs : sequence of Node or Const
        The results, in order.
    in_tree, out_tree : PyTreeDef, optional
        The argument and result structures (default: a flat tuple of inputs, and a single
        output or a tuple of them).
    name : str
        The function's name, for display.
    """

    def __init__(
        self,
        inputs: Iterable[Node],
        outputs: Iterable[Any],
        *,
        in_tree: PyTreeDef | None = None,
        out_tree: PyTreeDef | None = None,
        name: str = "f",
    ) -> None:
        self.inputs = list(inputs)
        self.outputs = [o if isinstance(o, (Node, Const)) else Const(o) for o in outputs]
        for n in self.inputs:
            if not isinstance(n, Node):
                raise TypeError(f"Graph inputs must be Node objects, got {type(n).__name__}")
        if in_tree is None:
            in_tree = tree_flatten(tuple(range(len(self.inputs))))[1]
        if out_tree is None:
            shape = 0 if len(self.outputs) == 1 else tuple(range(len(self.outputs)))
            out_tree = tree_flatten(shape)[1]
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.name = name
        self.nodes = _collect(self.inputs, self.outputs)
        # Nodes kept for their effects alone (debug callbacks under jit), not outputs.
        self.effects: list = []
        self._order: list[Node] | None = None
        self._levels: dict[Node, int] | None = None

    # ------------------------------------------------------------------ structure
    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.toposort())

    def consumers(self) -> dict[Node, list[Node]]:
        """``{node: [consumer nodes]}``; a node appears once per argument it fills."""
        out: dict[Node, list[Node]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                if isinstance(i, Node):
                    out[i].append(n)
        return out

    def edges(self) -> list[tuple[Node, Node, int]]:
        """``(source, target, argument position)`` for every node-to-node edge."""
        return [
            (i, n, k) for n in self.nodes for k, i in enumerate(n.inputs) if isinstance(i, Node)
        ]

    def toposort(self) -> list[Node]:
        """The nodes in topological order, by Kahn's algorithm in rounds (levels).

        Round 0 holds the inputs (in argument order) and any other node without node
        inputs; round ``k`` the nodes all of whose inputs are in earlier rounds, in
        recording order. Raises :class:`GraphCycleError` when the graph has a cycle.
        """
        if self._order is None:
            self._order, self._levels = self._kahn()
        return list(self._order)

    def levels(self) -> dict[Node, int]:
        """``{node: level}``: the number of edges on the longest path from an input."""
        if self._levels is None:
            self._order, self._levels = self._kahn()
        return dict(self._levels)

    def _kahn(self):
        """The rounds of Kahn's algorithm, from the engine's one topological order: a
        node's round is the longest path to it from a node without node inputs, and each
        round lists its nodes inputs first, then by recording order."""
        rank = {n: (0, k) for k, n in enumerate(self.inputs)}

        def key(n):
            return rank.get(n, (1, n.id))

        try:
            order = inputs_first(self.nodes, _node_inputs, key)
        except CycleError as e:
            raise GraphCycleError(self._cycle_message(e.cycle)) from None
        levels: dict = {}
        for n in order:
            levels[n] = 1 + max((levels[i] for i in _node_inputs(n)), default=-1)
        order.sort(key=lambda n: (levels[n], key(n)))
        return order, levels

    def _cycle_message(self, cycle) -> str:
        n = cycle[0]
        path = " <- ".join(c.describe() for c in [*cycle, n])
        return (
            f"the graph has a cycle through {n.describe()} ({path}); a computation graph "
            "must be acyclic: no value may depend on itself"
        )

    def op_counts(self) -> Counter[str]:
        """How many nodes of each operation (inputs counted as ``"input"``)."""
        return Counter(n.op for n in self.nodes)

    def labels(self) -> dict[Node, int]:
        """The evaluation-trace names: ``{node: "v_-1"}``, as in the classic tables.

        With ``n`` inputs, they are ``v_{1-n}, ..., v_0`` in argument order; the other
        nodes are ``v_1, v_2, ...`` in topological order.
        """
        out = {}
        n_in = len(self.inputs)
        for k, node in enumerate(self.inputs):
            out[node] = k + 1 - n_in
        k = 0
        for node in self.toposort():
            if node not in out:
                k += 1
                out[node] = k
        return out

    # ------------------------------------------------------------------ evaluation
    def __call__(self, *args: Any) -> Any:
        """Evaluate the graph on new arguments (same structure, shapes and dtypes)."""
        leaves, tree = tree_flatten(args)
        if tree != self.in_tree:
            raise TypeError(
                f"graph {self.name!r} was traced with arguments structured as "
                f"{self.in_tree!r}; got {tree!r}"
            )
        outs = self.evaluate(leaves)
        return tree_unflatten(self.out_tree, outs)

    def evaluate(self, leaves: Sequence[Any], env: dict[Node, Any] | None = None) -> list[Any]:
        """Evaluate on a flat list of input values; returns the flat list of outputs.

        ``env``, if given, is a dict filled with every node's value.
        """
        if len(leaves) != len(self.inputs):
            raise TypeError(
                f"graph {self.name!r} takes {len(self.inputs)} inputs, got {len(leaves)}"
            )
        env = {} if env is None else env
        for node, x in zip(self.inputs, leaves, strict=False):
            env[node] = _check_input(node, x)
        for node in self.toposort():
            if node.is_input:
                if node not in env:
                    raise ValueError(f"{node.describe()} is not among the graph's inputs")
                continue
            vals = [env[i] if isinstance(i, Node) else i.value for i in node.inputs]
            if node.op == "item":
                env[node] = vals[0][node.params["index"]]
                continue
            if node.prim is None:
                raise ValueError(
                    f"{node.describe()}: no primitive named {node.op!r} is registered, so the "
                    "graph cannot be evaluated"
                )
            env[node] = node.prim.bind(*vals, **node.params)
        return [env[o] if isinstance(o, Node) else o.value for o in self.outputs]

    # ------------------------------------------------------------------ derivatives
    def tangents(self, seed: Any = None) -> dict[Node, Any]:
        """Forward sweep: ``{node: tangent}`` for the input direction ``seed``.

        ``seed``: None (a unit tangent on the first input, zeros elsewhere), an int ``k``
        (unit tangent on input ``k``), a dict ``{input name: tangent}``, or a sequence with
        one tangent per input. Non-differentiable nodes map to None.
        """
        from .sweeps import tangent_sweep

        return tangent_sweep(self, seed)

    def adjoints(self, ct: Any = None) -> dict[Node, Any]:
        """Reverse sweep: ``{node: adjoint}`` for output cotangent ``ct``.

        ``ct``: None (ones for every output: the gradient of their sum) or one cotangent
        per output. Nodes the outputs do not depend on differentiably map to None.
        """
        from .sweeps import adjoint_sweep

        return adjoint_sweep(self, ct)

    # ------------------------------------------------------------------ display
    def tables(self, seed: Any = None, ct: Any = None, digits: int = 3) -> TraceTables:
        """The evaluation trace: primal, forward tangent and reverse adjoint tables.

        Inputs and nodes of integer or boolean dtype carry no derivative: their tangent and
        adjoint rows read ``— (int64: not differentiable)`` rather than a misleading 0.
        Pass floats (``2.0``, not ``2``) to differentiate with respect to an input."""
        from .tables import trace_tables

        return trace_tables(self, seed=seed, ct=ct, digits=digits)

    def to_dot(self, **options: Any) -> str:
        """Graphviz DOT text; see :func:`adgraph.graph.render.to_dot` for options."""
        from .render import to_dot

        return to_dot(self, **options)

    def to_mermaid(self, **options: Any) -> str:
        """A Mermaid flowchart; see :func:`adgraph.graph.render.to_mermaid`."""
        from .render import to_mermaid

        return to_mermaid(self, **options)

    def to_svg(self, **options: Any) -> str:
        """SVG text drawn by Graphviz's ``dot`` program (raises if it is not installed)."""
        from .render import to_svg

        return to_svg(self, **options)

    def to_png(self, **options: Any) -> bytes:
        """PNG bytes drawn by Graphviz's ``dot`` program (raises if it is not installed)."""
        from .render import to_png

        return to_png(self, **options)

    def to_html(self, **options: Any) -> str:
        """A self-contained interactive HTML view (pan, zoom, hover for values and
        derivatives); see :func:`adgraph.graph.html.to_html`."""
        from .html import to_html

        return to_html(self, **options)

    def save(self, path: str | os.PathLike[str], **options: Any) -> str:
        """Write the picture; the format follows the extension (.dot/.gv, .mmd, .svg,
        .png, .pdf, .html). Returns the path."""
        from .render import save

        return save(self, path, **options)

    def _repr_svg_(self) -> str | None:
        from .render import graphviz_available, to_svg

        if not graphviz_available():
            return None
        return to_svg(self)

    def _repr_html_(self) -> str:
        # Jupyter shows one representation: the picture (when Graphviz is there) above the
        # trace tables; a large graph gets the interactive view instead.
        from .render import graphviz_available, to_svg

        if len(self.nodes) > 300:  # too big for a static picture and tables: the viewer
            from .html import to_html

            return to_html(self, full_page=False)
        parts = []
        if graphviz_available():
            try:
                parts.append(f"<div>{to_svg(self)}</div>")
            except RuntimeError:
                pass
        parts.append(self.tables()._repr_html_())
        return "".join(parts)

    def __repr__(self) -> str:
        counts = self.op_counts()
        ops = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "input")
        return (
            f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes) - len(self.inputs)}"
            f" operations ({ops}), {len(self.outputs)} outputs>"
        )


def _check_input(node, x):
    if isinstance(x, Tracer):
        shape = tuple(x.shape)
    elif hasattr(x, "shape") and hasattr(x, "dtype"):
        shape = tuple(x.shape)
    else:
        dt = node.dtype if node.dtype is not None else None
        x = np.asarray(x, dtype=dt)
        if x.ndim == 0:
            x = x[()]
        shape = x.shape
    if node.shape is not None and shape != tuple(node.shape):
        raise ValueError(
            f"{node.describe()} was traced with shape {tuple(node.shape)}; got shape {shape}. "
            "Trace the function again for new shapes."
        )
    return x
