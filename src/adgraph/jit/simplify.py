"""Graph simplification before code generation.

One pass in topological order rebuilds the graph with:

* **constant folding** -- a node whose arguments are all constants becomes the constant it
  computed when it was traced;
* **algebraic identities** -- ``x + 0``, ``x - 0``, ``x * 1``, ``x / 1`` (0 and 1 also
  arrays of that one value, as a cotangent of ones is), ``-(-x)``,
  ``x ** 1``, a reshape/broadcast/transpose/cast that changes nothing, a transpose of a
  transpose, a reshape of a reshape (only where shape and dtype are unchanged, so the
  result is the same array value);
* **common subexpressions** -- the same operation with the same parameters on the same
  arguments is computed once;
* **dead code** -- only what the outputs, the guards and the effects depend on is kept.

Effects (``graph.effects``: ``adgraph.debug.print`` and ``callback``) are never folded,
merged or removed, and keep their order.

``x * 0`` is *not* folded to 0: it is nan for infinite ``x``.
"""

from __future__ import annotations

import numpy as np

from ..graph.ir import Const, Graph, Node
from .tracing import with_effects

__all__ = ["simplify"]


def _const_key(c: Const):
    v = c.value
    if isinstance(v, (bool, int, float, complex)):
        return ("py", type(v), v)
    if isinstance(v, np.generic):
        return ("np", v.dtype.str, v.item())
    return ("id", id(v))


def _hashable(v):
    """``v`` with slices (unhashable before Python 3.12) and lists made hashable."""
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__,) + tuple(_hashable(x) for x in v)
    return v


def _params_key(params):
    try:
        key = tuple(sorted((k, _hashable(v)) for k, v in params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _is_scalar_const(x, value) -> bool:
    """``x`` is a constant whose every entry equals ``value``: a scalar, or an array of one
    value (the broadcast cotangent of a sum, cast to another dtype, is such an array)."""
    if not isinstance(x, Const):
        return False
    v = x.value
    try:
        if x.shape == ():
            return bool(v == value)
        if not isinstance(v, np.ndarray) or v.size == 0:
            return False
        if not any(v.strides):  # one value, broadcast
            return bool(v.flat[0] == value)
        return bool(v.size <= _UNIFORM_MAX and (v == value).all())
    except Exception:
        return False


#: Largest array constant the identities look through entry by entry (a broadcast one,
#: of any size, is checked by its one value).
_UNIFORM_MAX = 1 << 22


def _same_meta(a, node) -> bool:
    """``a`` (Node or Const) has the shape and dtype of ``node``'s result."""
    return tuple(a.shape or ()) == tuple(node.shape or ()) and a.dtype == node.dtype


def _identity(node, ins):
    """``("use", x)`` to replace ``node`` by an existing value ``x``, ``("node", new)`` to
    replace it by a simpler new node, or None."""
    op = node.op
    if op in ("add",):
        for k in (0, 1):
            if _is_scalar_const(ins[1 - k], 0) and _same_meta(ins[k], node):
                return ("use", ins[k])
    elif op == "subtract":
        if _is_scalar_const(ins[1], 0) and _same_meta(ins[0], node):
            return ("use", ins[0])
    elif op == "multiply":
        for k in (0, 1):
            if _is_scalar_const(ins[1 - k], 1) and _same_meta(ins[k], node):
                return ("use", ins[k])
    elif op == "divide":
        if _is_scalar_const(ins[1], 1) and _same_meta(ins[0], node):
            return ("use", ins[0])
    elif op == "negative":
        x = ins[0]
        if isinstance(x, Node) and x.op == "negative" and _same_meta(x.inputs[0], node):
            return ("use", x.inputs[0])
    elif op == "integer_pow":
        if node.params.get("n") == 1 and _same_meta(ins[0], node):
            return ("use", ins[0])
    elif op in ("reshape", "broadcast_to", "convert_element_type"):
        x = ins[0]
        if _same_meta(x, node):
            return ("use", x)
        if op == "reshape" and isinstance(x, Node) and x.op == "reshape":
            inner = x.inputs[0]
            if _same_meta(inner, node):
                return ("use", inner)
            return (
                "node",
                Node("reshape", (inner,), node.params, prim=node.prim, value=node.value),
            )
    elif op == "transpose":
        x = ins[0]
        axes = tuple(node.params["axes"])
        if axes == tuple(range(len(axes))) and _same_meta(x, node):
            return ("use", x)
        if isinstance(x, Node) and x.op == "transpose":
            inner_axes = tuple(x.params["axes"])
            composed = tuple(inner_axes[a] for a in axes)
            inner = x.inputs[0]
            if composed == tuple(range(len(composed))) and _same_meta(inner, node):
                return ("use", inner)
            return (
                "node",
                Node("transpose", (inner,), {"axes": composed}, prim=node.prim, value=node.value),
            )
    elif op == "reduce_sum":
        if not node.params.get("axis") and _same_meta(ins[0], node):
            return ("use", ins[0])
    return None


def simplify(graph: Graph, guard_nodes=(), *, mapping=None):
    """A simplified copy of ``graph``; returns ``(graph, new_guard_nodes)``.

    Input nodes are kept as they are (same objects, same order). ``mapping``, if a dict,
    receives ``{old node: new node or Const}``.
    """
    sub: dict = {}
    cse: dict = {}

    def res(i):
        return sub[i] if isinstance(i, Node) else i

    effects = list(getattr(graph, "effects", ()))
    is_effect = set(effects)
    walk = Graph(
        graph.inputs,
        list(graph.outputs) + [g for g in guard_nodes if isinstance(g, Node)] + effects,
        name=graph.name,
    )
    for n in walk.toposort():
        if n.is_input:
            sub[n] = n
            continue
        ins = tuple(res(i) for i in n.inputs)
        if n in is_effect:
            # Run for its effect each time: never folded (even on constants) nor merged.
            sub[n] = Node(
                n.op, ins, n.params, prim=n.prim, value=n.value, shape=n.shape, dtype=n.dtype
            )
            continue
        if n.op == "item":
            parent = ins[0]
            if isinstance(parent, Const):
                sub[n] = Const(n.value)
                continue
            key: tuple | None = ("item", id(parent), n.params["index"])
            got = cse.get(key)
            if got is None:
                got = cse[key] = Node(
                    "item", (parent,), n.params, value=n.value, shape=n.shape, dtype=n.dtype
                )
            sub[n] = got
            continue
        if all(isinstance(i, Const) for i in ins):
            # Folded: the value it computed while tracing is the value it always has.
            sub[n] = Const(n.value)
            continue
        rep = _identity(n, ins)
        cand = n
        if rep is not None:
            kind, x = rep
            if kind == "use":
                sub[n] = x
                continue
            cand, ins = x, x.inputs  # a simpler node: deduplicate it like any other
        pkey = _params_key(cand.params)
        key = None
        if pkey is not None:
            key = (
                cand.op,
                tuple(("n", id(i)) if isinstance(i, Node) else _const_key(i) for i in ins),
                pkey,
            )
            got = cse.get(key)
            if got is not None:
                sub[n] = got
                continue
        new = Node(
            cand.op, ins, cand.params, prim=cand.prim, value=n.value, shape=n.shape, dtype=n.dtype
        )
        if key is not None:
            cse[key] = new
        sub[n] = new
    if mapping is not None:
        mapping.update(sub)
    outs = [res(o) for o in graph.outputs]
    guards = [res(g) for g in guard_nodes]
    new_effects = [sub[e] for e in effects]  # in the order of the calls
    roots = outs + [g for g in guards if isinstance(g, Node)] + new_effects
    full = Graph(graph.inputs, roots, in_tree=None, out_tree=None, name=graph.name)
    out = Graph(graph.inputs, outs, in_tree=graph.in_tree, out_tree=graph.out_tree, name=graph.name)
    with_effects(out, new_effects)
    out.nodes = full.nodes  # keep the guards' and effects' dependencies through dead-code removal
    out._order = None
    return out, guards
