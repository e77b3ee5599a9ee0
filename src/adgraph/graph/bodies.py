"""The bodies of call nodes, as graphs of their own.

A structured loop (``scan``, and ``fori_loop``/``map`` written with it; ``while_loop``) or a
called function (``checkpoint``, ``custom_jvp``, ``custom_vjp``) is one node of the graph:
its body is a function kept in the node's parameters, not nodes of the graph. The pictures
draw such a node as one box, and the HTML view (:mod:`adgraph.graph.html`) lets the reader
open it: :func:`bodies` traces each body once, at the values it first ran on (a loop's
first step: its initial carry and first slice of ``xs``; a called function: its
arguments), into a :class:`~adgraph.graph.ir.Graph` drawn like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .nodes import Node

__all__ = ["bodies", "CALL_OPS"]


def _values(node: Node) -> list[Any]:
    return [i.value for i in node.inputs]


def _scan(node: Node) -> list[tuple[str, Callable, list]]:
    p = node.params
    vals = _values(node)
    nc, nx = p["nc"], p["nx"]
    first = -1 if p.get("reverse") else 0
    xs = [np.asarray(x)[first] for x in vals[nc : nc + nx]]
    args = [*vals[:nc], *xs, *vals[nc + nx :]]
    which = "last" if p.get("reverse") else "first"
    return [(f"one step (the {which} of {p['length']}), at its values", p["body"], args)]


def _while(node: Node) -> list[tuple[str, Callable, list]]:
    p = node.params
    vals = _values(node)
    return [
        ("the condition, at the initial carry", p["cond"], vals),
        ("one step, from the initial carry", p["body"], vals),
    ]


def _call(node: Node) -> list[tuple[str, Callable, list]]:
    return [("the function called, at its arguments", node.params["fun"], _values(node))]


#: The call primitives whose bodies can be opened, and how to call each body.
CALL_OPS: dict[str, Callable[[Node], list[tuple[str, Callable, list]]]] = {
    "scan": _scan,
    "while_loop": _while,
    "checkpoint": _call,
    "custom_jvp_call": _call,
    "custom_vjp_call": _call,
}


def bodies(node: Node) -> list[tuple[str, Any]]:
    """``(title, Graph)`` for each body of a call node; ``[]`` for any other node, and for
    a body that cannot be traced again at those values (the picture then shows the node as
    one box, as before)."""
    from .tracing import trace

    how = CALL_OPS.get(node.op)
    if how is None:
        return []
    out = []
    try:
        calls = how(node)
    except (KeyError, IndexError, TypeError, ValueError):
        return []
    for title, fun, args in calls:
        if not callable(fun) or any(a is None for a in args):
            continue
        try:
            g = trace(fun, *args, names=[f"a{k}" for k in range(len(args))])
        except Exception:  # noqa: BLE001  (a picture never fails because of a body)
            continue
        g.name = f"{node.op}: {title}"
        out.append((title, g))
    return out
