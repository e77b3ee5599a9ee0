"""The engine's one topological order (adgraph.ad.order)."""

from __future__ import annotations

import random

import pytest

from adgraph.ad.order import CycleError, consumers_first, inputs_first


class N:
    def __init__(self, seq, *parents):
        self.seq = seq
        self.parents = list(parents)

    def __repr__(self):
        return f"N{self.seq}"


def _random_dag(n, rng):
    nodes = []
    for k in range(n):
        ps = rng.sample(nodes, min(len(nodes), rng.randint(0, 3)))
        nodes.append(N(k, *ps, None))  # None entries are skipped
    return nodes


@pytest.mark.parametrize("seed", range(20))
def test_recorded_dags_come_in_reverse_recording_order(seed):
    rng = random.Random(seed)
    nodes = _random_dag(60, rng)
    roots = rng.sample(nodes, 3)
    order = list(consumers_first(roots))
    # exactly the nodes reachable from the roots ...
    reach, stack = set(roots), list(roots)
    while stack:
        for p in stack.pop().parents:
            if p is not None and p not in reach:
                reach.add(p)
                stack.append(p)
    assert set(order) == reach and len(order) == len(reach)
    # ... by decreasing sequence number, which is what the backward sweep needs
    assert [n.seq for n in order] == sorted((n.seq for n in reach), reverse=True)
    assert inputs_first(roots) == order[::-1]


def test_keys_only_break_ties_hand_numbered_nodes_still_come_in_dependency_order():
    a = N(5)
    b = N(1, a)  # numbered before its input: the order must still put b first
    c = N(3, b, a)
    order = list(consumers_first([c]))
    pos = {n: i for i, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            assert pos[n] < pos[p]


def test_a_cycle_is_named():
    a = N(0)
    b = N(1, a)
    c = N(2, b)
    a.parents = [c]  # a <- c <- b <- a
    x = N(3, a)
    with pytest.raises(CycleError) as e:
        list(consumers_first([x]))
    assert set(e.value.cycle) == {a, b, c}
    cyc = e.value.cycle
    for k, n in enumerate(cyc):  # each an input of the one before it
        assert cyc[(k + 1) % len(cyc)] in n.parents


def test_a_long_chain_needs_no_recursion():
    node = N(0)
    for k in range(1, 200_000):
        node = N(k, node)
    order = list(consumers_first([node]))
    assert len(order) == 200_000 and order[0] is node and order[-1].seq == 0
