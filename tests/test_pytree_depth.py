"""Pytrees nested far deeper than Python's recursion limit (1000 by default).

Flattening, unflattening, comparing, hashing and printing a tree structure walk it with
explicit stacks, so a tree 5000 levels deep works in the tree utilities and through
every transformation (JAX handles such trees too).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.pytree import (
    _SHALLOW,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

Pair = collections.namedtuple("Pair", "inner side")
A = np.array([1.0, -2.0])
B = np.array([0.5, 3.0])

# Each level wraps the tree below and adds one leaf beside it (except the list levels).
KINDS = {
    "list": lambda t, k: [t],
    "tuple": lambda t, k: (B * (k % 3), t),
    "dict": lambda t, k: {"deeper": t, "side": B},
    "namedtuple": lambda t, k: Pair(t, B + k % 2),
    "mixed": lambda t, k: [t] if k % 3 == 0 else ({"z": t} if k % 3 == 1 else (t, None)),
}


def nest(depth, kind, leaf=A):
    t = leaf
    for k in range(depth):
        t = KINDS[kind](t, k)
    return t


def loss(tree):
    """sum over all leaves of sum(leaf**2) / (1 + position), walked without recursion."""
    total = 0.0
    for i, leaf in enumerate(tree_leaves(tree)):
        total = total + anp.sum(leaf * leaf) / (1.0 + i)
    return total


def expected_grad(tree):
    leaves, td = tree_flatten(tree)
    return tree_unflatten(td, [2 * x / (1.0 + i) for i, x in enumerate(leaves)])


def assert_trees_equal(a, b):
    la, ta = tree_flatten(a)
    lb, tb = tree_flatten(b)
    assert ta == tb
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(x, y, rtol=1e-14, atol=0)


@pytest.mark.parametrize("depth", [500, 5000])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_tree_utilities_on_deep_trees(kind, depth):
    tree = nest(depth, kind)
    leaves, td = tree_flatten(tree)
    assert leaves[0] is A or any(x is A for x in leaves)
    back = tree_unflatten(td, leaves)
    assert type(back) is type(tree)
    assert tree_structure(back) == td
    assert hash(tree_structure(back)) == hash(td)
    assert tree_structure(nest(depth + 1, kind)) != td
    assert tree_structure(nest(depth, kind, leaf=(A, A))) != td
    text = repr(td)
    assert text.count("*") == td.num_leaves == len(leaves)
    doubled = tree_map(lambda x: x * 2, tree)
    assert_trees_equal(doubled, tree_unflatten(td, [x * 2 for x in leaves]))
    summed = tree_map(lambda x, y: x + y, tree, doubled)
    assert_trees_equal(summed, tree_unflatten(td, [x * 3 for x in leaves]))


# 5000 levels with a leaf on each are 5000 leaves: kept to the kinds with fewer leaves
@pytest.mark.parametrize(
    ("kind", "depth"),
    [("list", 500), ("list", 5000), ("mixed", 5000), ("dict", 500), ("namedtuple", 500)],
)
def test_transformations_on_deep_trees(kind, depth):
    tree = nest(depth, kind)
    want = expected_grad(tree)
    assert_trees_equal(ad.grad(loss)(tree), want)
    value, g = ad.value_and_grad(loss)(tree)
    assert_trees_equal(g, want)
    out, t = ad.jvp(loss, (tree,), (tree,))
    assert out == pytest.approx(value, rel=1e-14)
    # jvp along the tree itself: <grad, tree>
    dot = sum(float(np.sum(x * y)) for x, y in zip(tree_leaves(want), tree_leaves(tree)))
    assert t == pytest.approx(dot, rel=1e-12)
    out, f_vjp = ad.vjp(loss, tree)
    (g,) = f_vjp(1.0)
    assert_trees_equal(g, want)
    # vmap over the leading axis of every leaf: each row's loss
    rows = ad.vmap(loss)(tree)
    leaves = tree_leaves(tree)
    by_row = [sum(float(x[r] ** 2) / (1.0 + i) for i, x in enumerate(leaves)) for r in range(2)]
    np.testing.assert_allclose(rows, by_row, rtol=1e-12)
    # a deep tree out of a transformation, too
    assert_trees_equal(ad.vmap(lambda tr: tr)(tree), tree)


def test_deep_and_shallow_code_paths_agree():
    # structures below _SHALLOW levels are handled by recursion, deeper ones by explicit
    # stacks; across the threshold, and with subtrees hashed either way, they agree
    for depth in (_SHALLOW - 2, _SHALLOW - 1, _SHALLOW, _SHALLOW + 1, 3 * _SHALLOW):
        tree = nest(depth, "mixed")
        a = tree_structure(tree)
        b = tree_structure(nest(depth, "mixed"))
        chain = [b]  # b's nodes along its spine, hashed bottom-up: shallow ones recursively
        while chain[-1].children:
            chain.append(max(chain[-1].children, key=lambda c: c.depth))
        for td in reversed(chain):
            hash(td)
        assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
        assert a.depth == depth
        assert tree_structure(tree_unflatten(a, tree_leaves(tree))) == a
        # one level more or less is another structure
        assert a != tree_structure(nest(depth + 1, "mixed"))
        assert a != tree_structure(nest(depth - 1, "mixed"))
    # the shallow repr, by hand
    assert repr(tree_structure({"b": [1, (2, None)], "a": Pair(3, 4)})) == (
        "dict('a': Pair(*, *), 'b': list(*, tuple(*, NoneType())))"
    )
