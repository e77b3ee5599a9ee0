"""``linearize``'s replay: tangents pushed through a recorded computation.

A tape recorded with ``ReverseTrace(keep=True)`` holds every argument and result of every
operation. The Jacobian-vector product at the recorded point is then a forward pass over
the nodes in topological order (:func:`adgraph.ad.order.inputs_first`): each node's tangent
comes from its arguments' tangents by its primitive's tangent rule, evaluated at the
recorded values, so the function itself is never run again. A node none of whose
arguments moves gets no tangent (None stands for zero), and neither do its consumers
through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .common import fit_to
from .forward import apply_tangent_rule
from .order import inputs_first

__all__ = ["replay_order", "push_tangents", "node_tangent"]


def replay_order(roots: Iterable[Any]) -> list[Any]:
    """The operation nodes (not the inputs) that the nodes ``roots`` depend on, themselves
    included, inputs first: the order :func:`push_tangents` replays them in."""
    return [n for n in inputs_first(roots) if n.prim is not None]


def push_tangents(order: list[Any], seeds: dict[Any, Any]) -> dict[Any, Any]:
    """The tangent of every node of ``order`` (from :func:`replay_order`) that moves, given
    the tangents ``seeds`` of the input nodes; returns ``seeds`` extended with them. A
    primitive with several results gets a tuple of tangents (None for a zero one)."""
    tan = dict(seeds)
    for node in order:
        pidx = node.pidx
        ts = [
            None if p is None else node_tangent(tan, p, None if pidx is None else pidx[i])
            for i, p in enumerate(node.parents)
        ]
        if all(t is None for t in ts):
            continue
        prim = node.prim  # the rule forward mode applies (JVPTrace.process)
        if prim.jvp_rule is not None:
            tan[node] = prim.jvp_rule(node.args, ts, node.params)[1]
        else:
            tan[node] = apply_tangent_rule(prim, node.ans, node.args, ts, node.params)
    return tan


def node_tangent(tan: dict[Any, Any], node: Any, idx: int | None) -> Any:
    """The tangent of ``node`` (of its result ``idx`` for a primitive with several) in
    ``tan``, fitted to the result's shape and dtype, or None where it does not move."""
    t = tan.get(node)
    if t is None:
        return None
    if idx is not None:
        t = t[idx]
        if t is None:
            return None
        return fit_to(t, node.shape[idx], node.dtype[idx])
    return fit_to(t, node.shape, node.dtype)
