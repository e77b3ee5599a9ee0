"""The engine's one topological order: every traversal of a recorded computation uses it.

Nodes are numbered as they are recorded, and a node is recorded only after the nodes of
its arguments, so the recording number (``key``) is itself a topological order. Walking
back from the outputs and always taking the reachable node with the largest number gives
consumers before the nodes they consume; each node is visited once, however many paths
share it, without recursion (chains of millions of nodes are fine), and nodes that cannot
reach the outputs are never visited. Reversed, the same walk gives inputs first.

Used by the backward sweep (:mod:`adgraph.ad.sweep`), ``linearize``'s replay, the graph
IR's ``toposort`` (:mod:`adgraph.graph`) and so by ``jit``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from heapq import heapify, heappop, heappush
from typing import Any, TypeVar

__all__ = ["consumers_first", "inputs_first"]

N = TypeVar("N", bound=Hashable)


def _parents(node: Any):
    return node.parents


def _seq(node: Any) -> int:
    return node.seq


def consumers_first(
    roots: Iterable[N],
    inputs_of: Callable[[N], Iterable[N | None] | None] = _parents,
    key: Callable[[N], int] = _seq,
) -> Iterator[N]:
    """The nodes reachable from ``roots``, each after every reachable node that consumes
    it (largest ``key`` first); ``inputs_of(node)`` lists a node's argument nodes (None
    entries and a None list are skipped). A node's inputs are read before it is yielded,
    so the caller may release them once it has it."""
    seen = set(roots)
    heap = [(-key(n), i, n) for i, n in enumerate(seen)]
    heapify(heap)
    tie = len(heap)  # equal keys (hand-built nodes) never compare the nodes themselves
    while heap:
        node = heappop(heap)[2]
        for p in inputs_of(node) or ():
            if p is not None and p not in seen:
                seen.add(p)
                tie += 1
                heappush(heap, (-key(p), tie, p))
        yield node


def inputs_first(
    roots: Iterable[N],
    inputs_of: Callable[[N], Iterable[N | None] | None] = _parents,
    key: Callable[[N], int] = _seq,
) -> list[N]:
    """The nodes reachable from ``roots`` in topological order, inputs first (smallest
    ``key`` first): :func:`consumers_first` reversed."""
    order = list(consumers_first(roots, inputs_of, key))
    order.reverse()
    return order
