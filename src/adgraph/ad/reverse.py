"""Reverse mode: a tape of nodes recorded while the function runs, then one backward sweep.

Each primitive applied to a :class:`ReverseTracer` records a :class:`Node`: the primitive,
its parameters, the argument values and the result -- what the primitive's VJP rules need.
The backward sweep (:func:`backward`) is iterative:

1. a depth-first walk from the outputs counts, for every node, how many edges lead into it
   from nodes that can reach the outputs (its consumers);
2. Kahn's algorithm then processes a node once all its consumers have sent their
   cotangents: each node is visited exactly once, however many paths share it, and no
   recursion is involved, so chains of millions of operations are fine.

Cotangents are added as they arrive and dropped once their node is processed; with
``free=True`` (``grad``), a node's saved values are released right after its rules ran.
Nodes that cannot reach the outputs are never visited. Cotangents are computed with
adgraph's own operations, so an enclosing transformation differentiates the sweep itself.
"""

from __future__ import annotations

from ..core import basic
from ..core.trace import Trace, Tracer
from .common import fit_to, zeros_like_value

__all__ = ["ReverseTrace", "ReverseTracer", "Node", "backward", "toposort_nodes"]


class Node:
    """One recorded primitive application (``prim is None`` marks an input)."""

    __slots__ = ("prim", "params", "args", "ans", "parents", "__weakref__")

    def __init__(self, prim, params, args, ans, parents):
        self.prim = prim
        self.params = params
        self.args = args
        self.ans = ans
        # parents[i]: the ReverseTracer passed as argument i, or None for a constant.
        self.parents = parents

    def __repr__(self) -> str:
        return f"Node({self.prim.name if self.prim else 'input'})"


class ReverseTracer(Tracer):
    __slots__ = ("value", "node", "idx")

    def __init__(self, trace, value, node, idx=None):
        self._trace = trace
        self.value = value
        self.node = node
        self.idx = idx  # output index for multiple-result primitives, else None

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def _inner(self):
        return self.value


class ReverseTrace(Trace):
    __slots__ = ()

    def new_input(self, value) -> ReverseTracer:
        return ReverseTracer(self, value, Node(None, None, None, value, None))

    def process(self, prim, args, params):
        vals = []
        parents = []
        traced = False
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                vals.append(a.value)
                parents.append(a)
                traced = True
            else:
                vals.append(a)
                parents.append(None)
        if prim.nondiff or not traced:
            return prim.bind(*vals, **params)
        if prim.reverse is not None:
            return prim.reverse(self, vals, parents, params)
        ans = prim.bind(*vals, **params)
        return self.record(prim, params, vals, ans, parents)

    def record(self, prim, params, vals, ans, parents):
        node = Node(prim, params, vals, ans, parents)
        if prim.multiple_results:
            return tuple(
                ReverseTracer(self, a, node, i) if _differentiable(a) else a
                for i, a in enumerate(ans)
            )
        if not _differentiable(ans):
            return ans
        return ReverseTracer(self, ans, node)


def _differentiable(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _parents_of(node):
    ps = node.parents
    return () if ps is None else ps


def toposort_nodes(roots) -> tuple[list, dict]:
    """Nodes reachable from ``roots`` and, for each, its number of consumer edges."""
    pending: dict = {}
    seen = set(roots)
    stack = list(roots)
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        for p in _parents_of(n):
            if p is None:
                continue
            pn = p.node
            pending[pn] = pending.get(pn, 0) + 1
            if pn not in seen:
                seen.add(pn)
                stack.append(pn)
    return order, pending


def _accumulate(cts: dict, tracer: ReverseTracer, g) -> None:
    node = tracer.node
    idx = tracer.idx
    if idx is None:
        prev = cts.get(node)
        cts[node] = g if prev is None else basic.add(prev, g)
    else:
        slot = cts.get(node)
        if slot is None:
            slot = cts[node] = [None] * len(node.ans)
        prev = slot[idx]
        slot[idx] = g if prev is None else basic.add(prev, g)


def _node_vjp(node, ct):
    """Cotangents of a node's arguments given the cotangent of its output(s)."""
    prim = node.prim
    rule = prim.vjp
    if rule is None:
        raise prim.missing("reverse-mode (VJP)")
    args = node.args
    parents = node.parents
    if prim.multiple_results:
        ct = [zeros_like_value(a) if c is None else c for c, a in zip(ct, node.ans)]
    if type(rule) is not tuple:
        wanted = tuple(p is not None for p in parents)
        return rule(ct, node.ans, args, node.params, wanted)
    out = []
    for i, p in enumerate(parents):
        if p is None:
            out.append(None)
            continue
        r = rule[i] if i < len(rule) else None
        if r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        out.append(r(ct, node.ans, *args, **node.params))
    return out


def backward(outputs, out_cts, *, free: bool = False) -> dict:
    """Sweep cotangents from ``outputs`` back to the inputs.

    ``outputs`` are ReverseTracers, ``out_cts`` their cotangents (None entries are zeros).
    Returns ``{input_node: cotangent}`` for every input node reached with a nonzero
    cotangent. With ``free=True`` saved values are released as the sweep goes (the tape can
    then not be swept again).
    """
    cts: dict = {}
    roots = []
    for t, ct in zip(outputs, out_cts):
        if ct is None:
            continue
        _accumulate(cts, t, fit_to(ct, t.value.shape, t.value.dtype))
        if t.node not in roots:
            roots.append(t.node)
    _, pending = toposort_nodes(roots)
    ready = [n for n in roots if pending.get(n, 0) == 0]
    results: dict = {}
    while ready:
        node = ready.pop()
        ct = cts.pop(node, None)
        if node.prim is None:
            if ct is not None:
                results[node] = ct
            continue
        parents = node.parents
        if ct is not None:
            gs = _node_vjp(node, ct)
            for p, g in zip(parents, gs):
                if p is not None and g is not None:
                    _accumulate(cts, p, fit_to(g, p.value.shape, p.value.dtype))
        for p in parents:
            if p is None:
                continue
            pn = p.node
            c = pending[pn] - 1
            pending[pn] = c
            if c == 0:
                ready.append(pn)
        if free:
            node.args = node.ans = node.parents = None
    return results


def is_reverse_tracer_of(x, trace) -> bool:
    return type(x) is ReverseTracer and x._trace is trace


def input_node(x):
    return x.node if isinstance(x, Tracer) else None
