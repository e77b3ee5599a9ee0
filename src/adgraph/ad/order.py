"""The engine's one topological order: every traversal of a computation uses it.

:func:`consumers_first` walks back from some root nodes and yields every node reachable
from them once, after every reachable node that consumes it (Kahn's algorithm on the
reversed edges, iterative, so chains of millions of nodes are fine). Among the nodes that
are ready it takes the one with the largest ``key``. Nodes are numbered as they are
recorded, after the nodes of their arguments, so on a recorded tape this is exactly the
reverse recording order -- the order in which the backward sweep must add a node's
cotangent contributions, and the one the scalar short path follows down its list.
:func:`inputs_first` is the same order reversed. A cycle (possible only in graphs built or
edited by hand) raises :class:`CycleError`, naming the nodes on it.

Used by the backward sweep (:mod:`adgraph.ad.sweep`), ``linearize``'s replay, and the graph
IR's ``toposort`` (:mod:`adgraph.graph`), which ``jit`` compiles in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from heapq import heapify, heappop, heappush
from typing import Any, TypeVar

__all__ = ["CycleError", "consumers_first", "inputs_first"]

N = TypeVar("N", bound=Hashable)
Inputs = Callable[[Any], "Iterable[Any] | None"]


class CycleError(ValueError):
    """The nodes do not form a DAG; ``cycle`` lists the nodes of one cycle, each an input
    of the one before it."""

    def __init__(self, cycle: list) -> None:
        super().__init__(f"the nodes form a cycle of {len(cycle)}")
        self.cycle = cycle


def _parents(node: Any):
    return node.parents


def _seq(node: Any) -> int:
    return node.seq


def consumers_first(
    roots: Iterable[N],
    inputs_of: Inputs = _parents,
    key: Callable[[N], Any] = _seq,
    recorded: bool = False,
) -> Iterator[N]:
    """The nodes reachable from ``roots``, each after every reachable node that consumes
    it, the largest ``key`` first among those ready. ``inputs_of(node)`` lists a node's
    argument nodes (None entries and a None list are skipped); it is read once per node,
    before the node is yielded, so the caller may release a node's inputs once it has it.

    ``recorded=True`` promises that every node's key is larger than its inputs' (a tape,
    numbered as recorded): the largest unvisited key is then always ready, so the walk
    needs no count of consumers -- the same order, found lazily."""
    if recorded:
        return _by_key(roots, inputs_of, key)
    return _kahn(roots, inputs_of, key)


def _by_key(roots, inputs_of, key):
    seen = set(roots)
    heap = [(-key(n), n) for n in seen]
    heapify(heap)
    while heap:
        node = heappop(heap)[1]
        for p in inputs_of(node) or ():
            if p is not None and p not in seen:
                seen.add(p)
                heappush(heap, (-key(p), p))
        yield node


def _kahn(roots, inputs_of, key):
    roots = list(dict.fromkeys(roots))
    inputs: dict = {}
    pending: dict = {}  # node -> consumer edges not yet processed
    stack = list(roots)
    for n in roots:
        inputs[n] = None
    while stack:
        n = stack.pop()
        ins = [p for p in (inputs_of(n) or ()) if p is not None]
        inputs[n] = ins
        for p in ins:
            pending[p] = pending.get(p, 0) + 1
            if p not in inputs:
                inputs[p] = None
                stack.append(p)
    heap: list = []
    tie = 0  # equal keys never compare the nodes themselves
    for n in roots:
        if n not in pending:
            heappush(heap, (_neg(key(n)), tie, n))
            tie += 1
    done = 0
    while heap:
        node = heappop(heap)[2]
        for p in inputs[node]:
            left = pending[p] - 1
            pending[p] = left
            if left == 0:
                tie += 1
                heappush(heap, (_neg(key(p)), tie, p))
        done += 1
        yield node
    if done != len(inputs):
        raise CycleError(_find_cycle(inputs, pending, key))


def _neg(k):
    return tuple(-v for v in k) if type(k) is tuple else -k


def _find_cycle(inputs: dict, pending: dict, key) -> list:
    """One cycle among the nodes left with consumers pending (iterative depth-first, from
    the one with the smallest key: the same cycle every time)."""
    stuck = {n for n, c in pending.items() if c > 0}
    state: dict = {}  # 1: on the current path, 2: finished
    for start in sorted(stuck, key=key):
        if start in state:
            continue
        path = [start]
        its = [iter(inputs[start] or ())]
        state[start] = 1
        while path:
            for p in its[-1]:
                if p not in stuck:
                    continue
                if state.get(p) == 1:
                    return path[path.index(p) :]
                if p not in state:
                    state[p] = 1
                    path.append(p)
                    its.append(iter(inputs[p] or ()))
                    break
            else:
                state[path.pop()] = 2
                its.pop()
    return sorted(stuck, key=key)  # not reached: a stuck node always lies on or after a cycle


def inputs_first(
    roots: Iterable[N], inputs_of: Inputs = _parents, key: Callable[[N], Any] = _seq
) -> list[N]:
    """The nodes reachable from ``roots`` in topological order, inputs first (the smallest
    ``key`` first among those ready, scanning back): :func:`consumers_first` reversed."""
    order = list(consumers_first(roots, inputs_of, key))
    order.reverse()
    return order
