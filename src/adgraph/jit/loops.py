"""Loops in compiled programs: the body of a ``scan`` node as a graph of its own.

A ``scan`` node of a traced program (``adgraph.lax.scan``, ``fori_loop``, ``map``, and the
two loops of their reverse mode under ``jit``) holds its step function as a parameter.
The code generators emit one loop around the step's code, so a program's size -- and its
compile time -- does not grow with the trip count. :func:`body_graph` traces the step once,
on one step's example values, into a simplified graph whose inputs are the step's flat
arguments ``(*carry, *x, *consts)`` and whose outputs are ``(*carry, *y)``.

A step that the compilers cannot hold as straight-line code -- Python branches on its
values (guards), effects (``debug.print``), values of enclosing transformations it closes
over, or anything else that fails to trace -- has no body graph: the program then runs
the loop by calling the ``scan`` implementation, the step in Python once per iteration.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..ad.tape import observe
from ..core.pytree import tree_flatten
from ..graph.ir import Const, Graph, Node
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = [
    "body_graph",
    "branch_graphs",
    "while_graphs",
    "staged_while_lines",
    "loop_inputs",
    "arange_start",
    "GraphBody",
    "share_residuals",
]


class GraphBody:
    """A step function given as a graph (the step of a loop rewritten by
    :func:`share_residuals`): calling it evaluates the graph; :func:`body_graph` returns
    the graph itself."""

    __slots__ = ("graph", "__weakref__")

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def __call__(self, *leaves):
        return tuple(self.graph.evaluate(list(leaves)))


def _example(x, stacked: bool):
    """One step's example of the scan argument ``x`` (a Node or a Const): its traced value
    (the first slice of a stacked one) when known, else zeros of its shape and dtype."""
    v = x.value
    shape = tuple(x.shape or ())
    if stacked:
        shape = shape[1:]
    if v is not None and (not stacked or np.shape(v)[:1] not in ((), (0,))):
        v = v[0] if stacked else v
        if not hasattr(v, "dtype"):
            v = np.asarray(v)[()]
        return v
    return np.zeros(shape, dtype=x.dtype)[()]


def loop_inputs(node: Node):
    """``(carry, xs, consts)``: the scan node's arguments, split."""
    p = node.params
    nc, nx = p["nc"], p["nx"]
    ins = list(node.inputs)
    return ins[:nc], ins[nc : nc + nx], ins[nc + nx :]


def body_graph(node: Node) -> Graph | None:
    """The simplified graph of the step of the ``scan`` node ``node``, or None when the
    step cannot be compiled as straight-line code (see the module documentation)."""
    body = node.params["body"]
    if isinstance(body, GraphBody):
        return body.graph
    try:
        return _BODIES[body]
    except (KeyError, TypeError):
        pass
    got = _trace_body(node)
    try:
        _BODIES[body] = got
    except TypeError:  # not weakly referable: traced again when needed
        pass
    return got


def branch_graphs(node: Node) -> list[Graph] | None:
    """The simplified graphs of the branches of the ``switch`` node ``node`` (each a
    function of the operands ``node.inputs[1:]``), or None when one cannot be compiled as
    straight-line code; branches whose outputs disagree are refused (TypeError)."""
    ops = node.inputs[1:]
    graphs = []
    for b in node.params["branches"]:
        try:
            got = _BODIES[b]
        except (KeyError, TypeError):
            # (a branch whose outputs disagree with another's raises TypeError: refused)
            got = _trace_fn(b, [_example(a, False) for a in ops], refuse=TypeError)
            try:
                _BODIES[b] = got
            except TypeError:
                pass
        if got is None:
            return None
        graphs.append(got)
    first = graphs[0].outputs
    for k, g in enumerate(graphs[1:], 1):
        bad = len(g.outputs) != len(first) or any(
            tuple(a.shape or ()) != tuple(o.shape or ()) or a.dtype != o.dtype
            for a, o in zip(first, g.outputs)
        )
        if bad:
            raise TypeError(
                f"lax.cond/switch under jit: branch {k} returns "
                f"{[(o.dtype.name, list(o.shape or ())) for o in g.outputs]} and branch 0 "
                f"{[(o.dtype.name, list(o.shape or ())) for o in first]}; every branch is "
                "compiled, so they must return the same structure, shapes and dtypes"
            )
    return graphs


def while_graphs(node: Node) -> tuple[Graph, Graph] | None:
    """``(cond, body)``: the graphs of the ``while_loop`` node's predicate and step, each
    a function of ``(*carry, *consts)``, or None when one is not straight-line code."""
    p = node.params
    nc = p["nc"]
    leaves = [_example(a, False) for a in node.inputs]
    got = []
    for fn in (p["cond"], p["body"]):
        try:
            g = _BODIES[fn]
        except (KeyError, TypeError):
            g = _trace_fn(fn, leaves)
            try:
                _BODIES[fn] = g
            except TypeError:
                pass
        if g is None:
            return None
        got.append(g)
    cond, body = got
    if len(cond.outputs) != 1 or len(body.outputs) != nc:
        return None
    for a, o in zip(node.inputs[:nc], body.outputs):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return cond, body


def staged_while_lines(gen, node, arg, pre, ind):
    """The Python code generator's lines for a ``while_stack`` or ``while_back`` node
    (:mod:`adgraph.jit.while_loops`)."""
    from .while_loops import staged_while_lines as lines

    return lines(gen, node, arg, pre, ind)


# step function -> its graph (or None): a step is traced once, while its program is
# traced (to run the loop fast) and not again by the code generators.
_BODIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Values:
    """A scan's arguments as the inputs of :func:`body_graph`'s node argument."""

    __slots__ = ("inputs", "params")

    def __init__(self, vals, params):
        self.inputs = [Const(v) for v in vals]
        self.params = params


def run_scan(vals, params, xp):
    """The ``scan`` on concrete ``vals``, its step compiled to Python code once (a traced
    program runs each loop while it is traced: this keeps that fast); None when the step
    has no body graph (the caller then binds the primitive)."""
    from .codegen import generate

    g = body_graph(_Values(vals, params))
    if g is None:
        return None
    _, step = generate(g, xp=xp, fn_name="step")
    nc, nx, n = params["nc"], params["nx"], params["length"]
    carry = list(vals[:nc])
    xs = vals[nc : nc + nx]
    consts = list(vals[nc + nx :])
    ys = [xp.empty((n,) + tuple(o.shape), dtype=o.dtype) for o in g.outputs[nc:]]
    for t in range(n - 1, -1, -1) if params["reverse"] else range(n):
        out = step(*carry, *[x[t] for x in xs], *consts)
        for y, o in zip(ys, out[nc:]):
            y[t] = o
        carry = out[:nc]
    return (*carry, *ys)


def _trace_fn(fn, leaves, refuse=()):
    """``fn`` (of flat leaves) traced on ``leaves`` and simplified, or None when it does
    not give straight-line code (guards, closures, effects, or any failure but the
    exceptions ``refuse``, which propagate)."""
    try:
        in_tree = tree_flatten(tuple(range(len(leaves))))[1]
        # (example values only fix the program; a tape observer -- make_source's -- is
        # not shown the step's own nodes)
        with np.errstate(all="ignore"), observe(None):
            graph, guards, closures = trace_for_jit(fn, leaves, in_tree)
    except refuse:
        raise
    except Exception:  # noqa: BLE001 - any function that does not trace runs in Python
        return None
    if guards or closures or getattr(graph, "effects", None):
        return None
    for o in graph.outputs:
        if isinstance(o, Const) and not hasattr(o.value, "dtype"):
            return None
    graph, _ = simplify(graph)
    return graph


def _trace_body(node):
    p = node.params
    carry, xs, consts = loop_inputs(node)
    leaves = (
        [_example(a, False) for a in carry]
        + [_example(a, True) for a in xs]
        + [_example(a, False) for a in consts]
    )
    graph = _trace_fn(p["body"], leaves)
    if graph is None:
        return None
    n_out = len(graph.outputs)
    if n_out < p["nc"]:
        return None
    # The carry must keep its shape and dtype (the loop checked it while tracing).
    for a, o in zip(carry, graph.outputs[: p["nc"]]):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return graph


def arange_start(x) -> int | None:
    """``lo`` when the constant ``x`` is ``arange(lo, lo + n)`` of integers (the index of
    ``fori_loop``): the step's slice is then ``lo + t``, with no array to read."""
    if not isinstance(x, Const):
        return None
    v = x.value
    if not isinstance(v, np.ndarray) or v.ndim != 1 or v.dtype.kind not in "iu" or not v.size:
        return None
    lo = int(v[0])
    if np.array_equal(v, np.arange(lo, lo + v.size, dtype=v.dtype)):
        return lo
    return None


# ------------------------------------------------------------------ residuals
# Under jit, reverse mode through a scan is a forward loop that stacks the carries and a
# backward loop that runs each step again from its stored carry (adgraph.lax.staged). The
# backward step's values that depend only on that carry (and on the same xs and closed-over
# values) -- sin(c) and cos(c) of a step computing sin(c), say -- are what the forward step
# computes anyway: share_residuals moves them into the forward loop, which stores them
# stacked, and the backward loop reads them instead of computing them again.


def _rebuild(nodes, sub):
    """Copies of ``nodes`` (in topological order) with their inputs replaced through
    ``sub`` (``{old: new}``, filled in as it goes); a node whose inputs did not change is
    kept as it is."""
    for n in nodes:
        if n in sub or n.is_input:
            continue
        ins = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in n.inputs)
        if all(a is b for a, b in zip(ins, n.inputs)):
            continue
        sub[n] = _copy(n, ins)
    return sub


def _copy(n, ins, **params):
    return Node(
        n.op,
        ins,
        dict(n.params, **params),
        prim=n.prim,
        value=n.value,
        shape=n.shape,
        dtype=n.dtype,
        name=n.name,
    )


def _same_input(a, b) -> bool:
    return a is b or (isinstance(a, Const) and isinstance(b, Const) and a.value is b.value)


def _links(B, F, gF):
    """``{position of B's step input: position of F's step input}`` for the step inputs
    of the loop ``B`` that hold, at each index, what F's step input holds at that index:
    F's carries stacked by F, the same xs and the same closed-over values."""
    pF, pB = F.params, B.params
    if pF["length"] != pB["length"]:
        return {}
    ncF, nxF = pF["nc"], pF["nx"]
    ncB, nxB = pB["nc"], pB["nx"]
    cB, xsB, kB = loop_inputs(B)
    _, xsF, kF = loop_inputs(F)
    links = {}
    for m, a in enumerate(xsB):
        if isinstance(a, Node) and a.op == "item" and a.inputs[0] is F:
            idx = a.params["index"]
            out = gF.outputs[idx] if idx >= ncF else None
            if isinstance(out, Node) and out.is_input:
                links[ncB + m] = gF.inputs.index(out)
            continue
        for j, b in enumerate(xsF):
            if _same_input(a, b):
                links[ncB + m] = ncF + j
                break
    for m, a in enumerate(kB):
        for j, b in enumerate(kF):
            if _same_input(a, b):
                links[ncB + nxB + m] = ncF + nxF + j
                break
    return links


def _pair(B, gF, gB, F):
    """The rewritten steps ``(F's, B's, residual count)`` where B's step reads, as extra
    xs, the values F's step now stores; None when nothing is shared."""
    links = _links(B, F, gF)
    if not any(
        B.inputs[p].op == "item" and B.inputs[p].inputs[0] is F
        for p in links
        if isinstance(B.inputs[p], Node)
    ):
        return None
    linked = {gB.inputs[p] for p in links}
    order = [n for n in gB.toposort() if not n.is_input]
    primal = set()
    for n in order:
        deps = [i for i in n.inputs if isinstance(i, Node)]
        if n.op != "scan" and all(i in primal or i in linked for i in deps) and deps:
            primal.add(n)
    used_later = set()
    for n in order:
        if n not in primal:
            used_later.update(i for i in n.inputs if isinstance(i, Node) and i in primal)
    used_later.update(o for o in gB.outputs if isinstance(o, Node) and o in primal)
    frontier = [n for n in order if n in used_later and n.op != "item"]
    if not frontier or any(n.shape is None or n.dtype is None for n in frontier):
        return None
    # F's step computes them too, from its own inputs (CSE then merges what it shares).
    sub = {gB.inputs[p]: gF.inputs[k] for p, k in links.items()}
    _rebuild([n for n in order if n in primal], sub)
    gF2 = Graph(gF.inputs, list(gF.outputs) + [sub[n] for n in frontier], name=gF.name)
    gF2, _ = simplify(gF2)
    # B's step reads them as extra xs (after its own), the rest of its inputs unchanged.
    ncB, nxB = B.params["nc"], B.params["nx"]
    new_in = [
        Node("input", (), shape=tuple(n.shape), dtype=n.dtype, name=f"r{k}")
        for k, n in enumerate(frontier)
    ]
    subB = dict(zip(frontier, new_in))
    _rebuild([n for n in order if n not in primal], subB)
    inputs = gB.inputs[: ncB + nxB] + new_in + gB.inputs[ncB + nxB :]
    gB2 = Graph(inputs, [subB.get(o, o) for o in gB.outputs], name=gB.name)
    gB2, _ = simplify(gB2)
    return gF2, gB2, frontier


def share_residuals(graph: Graph) -> Graph:
    """``graph`` with each backward loop reading, from the forward loop whose carries it
    reads, the values of its step that depend on those carries alone (see above)."""
    scans = [n for n in graph.toposort() if n.op == "scan"]
    if len(scans) < 2:
        return graph
    sub: dict = {}
    done = False
    for B in scans:
        Bn = sub.get(B, B)
        producers: set[Node] = {
            i.inputs[0]
            for i in Bn.inputs
            if isinstance(i, Node)
            and i.op == "item"
            and isinstance(i.inputs[0], Node)
            and i.inputs[0].op == "scan"
        }
        if len(producers) != 1:
            continue
        (F,) = producers
        gF, gB = body_graph(F), body_graph(Bn)
        if gF is None or gB is None:
            continue
        got = _pair(Bn, gF, gB, F)
        if got is None:
            continue
        gF2, gB2, frontier = got
        n = F.params["length"]
        F2 = Node(
            "scan",
            F.inputs,
            dict(F.params, body=GraphBody(gF2)),
            prim=F.prim,
            shape=tuple(F.shape) + tuple((n,) + tuple(f.shape) for f in frontier),
            dtype=tuple(F.dtype) + tuple(f.dtype for f in frontier),
        )
        # F's outputs: the items of the old node now read the new one
        for node in graph.toposort():
            if node.op == "item" and node.inputs[0] is F:
                sub[node] = _copy(node, (F2,))
        res = [
            Node("item", (F2,), {"index": len(F.shape) + k}, shape=sh, dtype=dt)
            for k, (sh, dt) in enumerate(zip(F2.shape[len(F.shape) :], F2.dtype[len(F.shape) :]))
        ]
        ncB, nxB = Bn.params["nc"], Bn.params["nx"]
        ins = [sub.get(i, i) if isinstance(i, Node) else i for i in Bn.inputs]
        ins = ins[: ncB + nxB] + res + ins[ncB + nxB :]
        B2 = Node(
            "scan",
            ins,
            dict(Bn.params, body=GraphBody(gB2), nx=nxB + len(res)),
            prim=Bn.prim,
            shape=Bn.shape,
            dtype=Bn.dtype,
        )
        sub[F] = F2
        sub[B] = B2
        done = True
    if not done:
        return graph
    # The new loops were built with their arguments as they stood: one computed from an
    # old loop's outputs (sin of F's last carry, read by B) is rebuilt below, in order,
    # and the new loops then read the rebuilt value (else the old loop stays alive).
    fresh = {id(m) for k, m in sub.items() if k.op == "scan"}
    for n in graph.toposort():
        m = sub.get(n)
        if m is not None:
            if id(m) in fresh:
                m.inputs = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in m.inputs)
            continue
        if n.is_input:
            continue
        new_ins = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in n.inputs)
        if not all(a is b for a, b in zip(new_ins, n.inputs)):
            sub[n] = _copy(n, new_ins)
    out = Graph(
        graph.inputs,
        [sub.get(o, o) if isinstance(o, Node) else o for o in graph.outputs],
        in_tree=graph.in_tree,
        out_tree=graph.out_tree,
        name=graph.name,
    )
    out.effects = [sub.get(e, e) for e in getattr(graph, "effects", ())]
    return out
