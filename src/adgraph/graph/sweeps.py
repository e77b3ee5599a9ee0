"""Tangents and adjoints of every node of a graph, and the local partial derivatives.

Each node's derivative is computed by the engine itself: a forward (``jvp``) or reverse
(``vjp``) transformation of that one primitive application. So whatever rules a primitive
declares -- per-argument rules, whole-node rules, custom_jvp/custom_vjp, checkpoint -- the
graph's sweeps agree with ``adgraph.jvp``/``adgraph.grad`` by construction.

The forward sweep visits the nodes in topological order, the reverse sweep in reverse
topological order; each adjoint is complete (all consumers have contributed) when its node
is visited. These sweeps are for showing the computation; ``graph(*args)`` under
``adgraph.grad`` is the way to differentiate a graph fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .nodes import Node

if TYPE_CHECKING:  # types only: the views never import the graph at run time
    from ..core.primitive import Primitive
    from .ir import Graph

__all__ = ["tangent_sweep", "adjoint_sweep", "local_partials", "node_values", "is_diff"]


def is_diff(value: Any) -> bool:
    """True for values that carry derivatives (floating or complex dtype)."""
    dt = getattr(value, "dtype", None)
    if dt is None:
        dt = np.asarray(value).dtype
    return dt.kind in "fc"


def _engine_value(v):
    """A recorded scalar as the engine takes a primal: a 0-d NumPy array of the same value
    and dtype (Python ``complex``/``float`` and NumPy scalars alike). Arithmetic between a
    Python scalar and a NumPy *scalar* can give a plain Python number, which has no dtype
    (``1j * np.float64(2)`` is ``complex``); with a 0-d array NumPy always answers with a
    NumPy value."""
    if isinstance(v, (bool, int, float, complex, np.generic)):
        return np.asarray(v)
    return v


def _scalar(v):
    """A 0-d array back to a NumPy scalar (tables and callers see the recorded kinds)."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v[()]
    if isinstance(v, tuple):
        return tuple(_scalar(x) for x in v)
    return v


def _input_values(node) -> list:
    """The values of a node's arguments: node arguments as engine values, constants as
    recorded (Python scalars stay weakly typed, so float32 stays float32)."""
    return [_engine_value(i.value) if isinstance(i, Node) else i.value for i in node.inputs]


def node_values(graph: Graph) -> dict[Node, Any]:
    """``{node: value}`` as recorded (inputs and constants included)."""
    return {n: n.value for n in graph.nodes}


def _node_function(node, vals):
    """(fn, positions): ``fn(*xs)`` binds the node's primitive with its differentiable
    node-arguments (at ``positions``) replaced by ``xs``."""
    pos = [
        k
        for k, (i, v) in enumerate(zip(node.inputs, vals, strict=False))
        if isinstance(i, Node) and is_diff(v)
    ]
    prim, params = node.prim, node.params

    def fn(*xs):
        full = list(vals)
        for k, x in zip(pos, xs, strict=False):
            full[k] = x
        return prim.bind(*full, **params)

    return fn, pos


def _prim(node: Node) -> Primitive:
    """The primitive of an operation node (inputs and items have none)."""
    if node.prim is None:
        raise ValueError(
            f"{node.describe()}: no primitive named {node.op!r} is registered, so the graph "
            "cannot be differentiated"
        )
    return node.prim


def _zeros(v):
    return np.zeros(np.shape(v), dtype=getattr(v, "dtype", np.asarray(v).dtype))


def _seed_list(graph, seed) -> list:
    ins = graph.inputs
    if seed is None:
        seed = 0
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        k = int(seed)
        if not -len(ins) <= k < len(ins):
            raise ValueError(f"seed {k} is out of range for a graph with {len(ins)} inputs")
        k %= len(ins)
        return [np.ones_like(n.value) if j == k else _zeros(n.value) for j, n in enumerate(ins)]
    if isinstance(seed, dict):
        names = {n.name: n for n in ins}
        unknown = [k for k in seed if k not in names]
        if unknown:
            raise ValueError(
                f"seed names {unknown} are not inputs of the graph; its inputs are "
                f"{[n.name for n in ins]}"
            )
        return [
            np.asarray(seed[n.name], dtype=n.dtype) if n.name in seed else _zeros(n.value)
            for n in ins
        ]
    seq = list(seed)
    if len(seq) != len(ins):
        raise ValueError(f"seed has {len(seq)} entries; the graph has {len(ins)} inputs")
    out = []
    for n, t in zip(ins, seq, strict=False):
        t = np.asarray(t, dtype=n.dtype)
        if t.shape != tuple(n.shape):
            t = np.broadcast_to(t, n.shape).copy()
        out.append(t)
    return out


def tangent_sweep(graph: Graph, seed: Any = None) -> dict[Node, Any]:
    """``{node: tangent}`` (None where no derivative flows) for input direction ``seed``."""
    from ..api import jvp

    tan: dict = {}
    for node, t in zip(graph.inputs, _seed_list(graph, seed), strict=False):
        tan[node] = t if is_diff(node.value) else None
    for node in graph.toposort():
        if node.is_input:
            continue
        if node.op == "item":
            (parent,) = node.inputs
            t = tan.get(parent)
            tan[node] = None if t is None else t[node.params["index"]]
            continue
        vals = _input_values(node)
        fn, pos = _node_function(node, vals)
        ts = [tan.get(node.inputs[k]) for k in pos]
        if _prim(node).nondiff or not pos or all(t is None for t in ts):
            tan[node] = None
            continue
        ts = [_zeros(vals[k]) if t is None else t for k, t in zip(pos, ts, strict=False)]
        _, t_out = jvp(fn, [vals[k] for k in pos], ts)
        t_out = _scalar(t_out)
        if node.multiple_results:
            t_out = tuple(
                t if is_diff(v) else None for t, v in zip(t_out, node.value, strict=False)
            )
        elif not is_diff(node.value):
            t_out = None
        tan[node] = t_out
    return tan


def _out_cts(graph, ct):
    outs = graph.outputs
    if ct is None:
        return [
            np.ones_like(o.value) if isinstance(o, Node) and is_diff(o.value) else None
            for o in outs
        ]
    if len(outs) == 1 and not isinstance(ct, (list, tuple)):
        ct = [ct]
    ct = list(ct)
    if len(ct) != len(outs):
        raise ValueError(f"{len(ct)} output cotangents given for {len(outs)} outputs")
    return [
        None if c is None else np.asarray(c, dtype=o.dtype) for c, o in zip(ct, outs, strict=False)
    ]


def adjoint_sweep(graph: Graph, ct: Any = None) -> dict[Node, Any]:
    """``{node: adjoint}`` (None where none flows) for output cotangents ``ct``."""
    from ..api import vjp

    adj: dict = {}

    def add(node, g):
        prev = adj.get(node)
        adj[node] = g if prev is None else prev + g

    for o, c in zip(graph.outputs, _out_cts(graph, ct), strict=False):
        if isinstance(o, Node) and c is not None:
            add(o, c)
    order = graph.toposort()
    # Multiple-result nodes collect their items' adjoints into one list.
    for node in reversed(order):
        if node.is_input:
            continue
        g = adj.get(node)
        if node.op == "item":
            if g is not None:
                (parent,) = node.inputs
                slot = adj.get(parent)
                if slot is None:
                    slot = adj[parent] = [None] * len(parent.value)
                k = node.params["index"]
                slot[k] = g if slot[k] is None else slot[k] + g
            continue
        if g is None or _prim(node).nondiff:
            continue
        vals = _input_values(node)
        fn, pos = _node_function(node, vals)
        if not pos:
            continue
        if node.multiple_results:
            g = tuple(_zeros(v) if c is None else c for c, v in zip(g, node.value, strict=False))
            adj[node] = g
        _, pull = vjp(fn, *[vals[k] for k in pos])
        for k, c in zip(pos, pull(g), strict=False):
            add(node.inputs[k], _scalar(c))
    return {n: adj.get(n) for n in graph.nodes}


def local_partials(node: Node) -> list[Any] | None:
    """The local partial derivatives ``d node / d argument`` of a scalar node, one per
    argument (None for constants and non-differentiable arguments); None when the node
    or a differentiable argument is not a real scalar."""
    from ..api import jvp

    if node.prim is None or node.multiple_results or node.prim.nondiff:
        return None
    if node.shape != () or node.dtype is None or node.dtype.kind != "f":
        return None
    vals = _input_values(node)
    fn, pos = _node_function(node, vals)
    out = [None] * len(vals)
    for k in pos:
        if np.shape(vals[k]) != () or np.asarray(vals[k]).dtype.kind != "f":
            return None
    for _j, k in enumerate(pos):
        ts = [np.ones_like(vals[m]) if m == k else _zeros(vals[m]) for m in pos]
        _, t = jvp(fn, [vals[m] for m in pos], ts)
        out[k] = _scalar(t)
    return out
