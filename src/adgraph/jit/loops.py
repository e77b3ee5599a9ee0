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

import numpy as np

from ..core.pytree import tree_flatten
from ..graph.ir import Const, Graph, Node
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = ["body_graph", "loop_inputs", "arange_start"]


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
    return _trace_body(node)


def _trace_body(node):
    p = node.params
    if p["length"] == 0:
        return None
    carry, xs, consts = loop_inputs(node)
    try:
        leaves = (
            [_example(a, False) for a in carry]
            + [_example(a, True) for a in xs]
            + [_example(a, False) for a in consts]
        )
        in_tree = tree_flatten(tuple(range(len(leaves))))[1]
        with np.errstate(all="ignore"):  # example values only fix the program
            graph, guards, closures = trace_for_jit(p["body"], leaves, in_tree)
    except Exception:  # noqa: BLE001 - any step that does not trace runs in Python
        return None
    if guards or closures or getattr(graph, "effects", None):
        return None
    graph, _ = simplify(graph)
    n_out = len(graph.outputs)
    if n_out < p["nc"]:
        return None
    # The carry must keep its shape and dtype (the loop checked it while tracing).
    for a, o in zip(carry, graph.outputs[: p["nc"]]):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    for o in graph.outputs:
        if isinstance(o, Const) and not hasattr(o.value, "dtype"):
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
