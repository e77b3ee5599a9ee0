"""adgraph.tree_util and adgraph.flatten_util: JAX's pytree names, checked against their
definitions and (where installed) against jax.tree_util itself."""

from __future__ import annotations

import collections
import dataclasses
import functools

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import tree_util as tu
from adgraph.flatten_util import ravel_pytree

TREE = {"b": [np.ones(2), (3.0, None)], "a": np.zeros(1)}
Point = collections.namedtuple("Point", "x y")


def test_flatten_unflatten_leaves_structure():
    leaves, td = tu.tree_flatten(TREE)
    assert [np.shape(v) for v in leaves] == [(1,), (2,), ()]
    assert tu.tree_leaves(TREE)[2] == 3.0
    assert tu.tree_structure(TREE) == td
    back = tu.tree_unflatten(td, [1, 2, 3])
    assert back == {"a": 1, "b": [2, (3, None)]}
    assert td.num_leaves == 3 and td.num_nodes == 7
    assert td.node_data() == (dict, ("a", "b"))
    assert tu.treedef_is_leaf(tu.tree_structure(1.0)) and not tu.treedef_is_leaf(td)
    assert td.flatten_up_to({"a": "A", "b": ["B0", ("B1", None)]}) == ["A", "B0", "B1"]
    with pytest.raises(ValueError, match="flatten_up_to"):
        td.flatten_up_to({"a": 1, "b": (2, 3)})


def test_paths_and_keystr():
    pairs, td = tu.tree_flatten_with_path(TREE)
    paths = [p for p, _ in pairs]
    assert paths == [
        (tu.DictKey("a"),),
        (tu.DictKey("b"), tu.SequenceKey(0)),
        (tu.DictKey("b"), tu.SequenceKey(1), tu.SequenceKey(0)),
    ]
    assert td == tu.tree_structure(TREE)
    assert [tu.keystr(p) for p in paths] == ["['a']", "['b'][0]", "['b'][1][0]"]
    assert tu.keystr(paths[2], simple=True, separator="/") == "b/1/0"
    named = tu.tree_map_with_path(lambda p, x: tu.keystr(p), {"p": Point(1.0, 2.0)})
    assert named == {"p": Point("['p'].x", "['p'].y")}
    assert tu.tree_leaves_with_path([5.0])[0] == ((tu.SequenceKey(0),), 5.0)
    doubled = tu.tree_map_with_path(lambda p, x, y: x + y, [1.0, 2.0], [10.0, 20.0])
    assert doubled == [11.0, 22.0]


def test_register_pytree_node_with_keys_and_class():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tu.register_pytree_node(
        Pair,
        lambda p: ((p.a, p.b), "meta"),
        lambda aux, ch: Pair(*ch),
        lambda p: (((tu.GetAttrKey("a"), p.a), (tu.GetAttrKey("b"), p.b)), "meta"),
    )
    pairs = tu.tree_leaves_with_path(Pair(1.0, np.ones(2)))
    assert [tu.keystr(p) for p, _ in pairs] == [".a", ".b"]
    g = ad.grad(lambda p: p.a * anp.sum(p.b))(Pair(2.0, np.ones(2)))
    assert isinstance(g, Pair) and g.a == 2.0
    np.testing.assert_array_equal(g.b, [2.0, 2.0])

    @tu.register_pytree_node_class
    class Scaled:
        def __init__(self, v, scale):
            self.v, self.scale = v, scale

        def tree_flatten(self):
            return (self.v,), self.scale

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(children[0], aux)

    out = ad.grad(lambda s: anp.sum(s.v**2) * s.scale)(Scaled(np.array([1.0, 3.0]), 4.0))
    np.testing.assert_array_equal(out.v, [8.0, 24.0])
    assert out.scale == 4.0  # static: part of the structure
    assert tu.keystr(tu.tree_leaves_with_path(Scaled(1.0, 2))[0][0]) == "[<flat index 0>]"
    with pytest.raises(TypeError, match="tree_flatten"):
        tu.register_pytree_node_class(type("NoMethods", (), {}))


def test_register_dataclass_inferred_and_explicit():
    @dataclasses.dataclass
    class Layer:
        w: np.ndarray
        b: np.ndarray
        act: str = dataclasses.field(default="tanh", metadata=dict(static=True))

    tu.register_dataclass(Layer)
    layer = Layer(np.ones((2, 2)), np.zeros(2), "relu")
    leaves, td = tu.tree_flatten(layer)
    assert len(leaves) == 2
    assert tu.tree_unflatten(td, leaves).act == "relu"
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(layer)] == [".w", ".b"]
    g = ad.grad(lambda L: anp.sum(anp.tanh(L.w) + L.b))(layer)
    np.testing.assert_allclose(g.w, 1.0 - np.tanh(1.0) ** 2, rtol=1e-15)
    assert g.act == "relu"

    @functools.partial(tu.register_dataclass, data_fields=["x"], meta_fields=["n"])
    @dataclasses.dataclass
    class Explicit:
        x: float
        n: int

    assert tu.tree_leaves(Explicit(1.5, 3)) == [1.5]
    with pytest.raises(ValueError, match="split the fields"):
        tu.register_dataclass(Explicit, data_fields=["x"], meta_fields=[])
    with pytest.raises(TypeError, match="not a dataclass"):
        tu.register_dataclass(type("Plain", (), {}))


def test_reduce_all_transpose_partial():
    assert tu.tree_reduce(lambda a, b: a + b, [1, (2, 3)]) == 6
    assert tu.tree_reduce(lambda a, b: a * b, [], 7) == 7
    with pytest.raises(TypeError, match="initializer"):
        tu.tree_reduce(lambda a, b: a, [])
    assert tu.tree_all([True, (1, None)]) and not tu.tree_all({"a": 0})
    outer, inner = tu.tree_structure([0, 0, 0]), tu.tree_structure((0, 0))
    assert tu.tree_transpose(outer, inner, [(1, 2), (3, 4), (5, 6)]) == ([1, 3, 5], [2, 4, 6])
    assert tu.all_leaves([1.0, np.ones(2)]) and not tu.all_leaves([1.0, (2.0,)])
    f = tu.Partial(lambda a, x: a * anp.sin(x), 2.0)
    assert tu.tree_leaves(f) == [2.0]
    ga, gx = ad.grad(lambda f, x: f(x), (0, 1))(f, 0.3)
    assert ga.args[0] == pytest.approx(np.sin(0.3)) and gx == pytest.approx(2 * np.cos(0.3))


def test_ravel_pytree_round_trip_dtypes_and_gradient():
    tree = {"w": np.ones((2, 2), np.float32), "b": np.arange(3.0), "s": 2.0}
    flat, unravel = ravel_pytree(tree)
    assert flat.shape == (8,) and flat.dtype == np.float64
    back = unravel(flat)
    assert back["w"].dtype == np.float32 and back["w"].shape == (2, 2)
    np.testing.assert_array_equal(back["b"], tree["b"])

    def loss(v):
        p = unravel(v)
        return anp.sum(p["w"] ** 2) + p["s"] * anp.sum(p["b"])

    g = ad.grad(loss)(flat)
    # order: b (3), s (1), w (4)
    np.testing.assert_allclose(g, [2.0, 2.0, 2.0, 3.0, 2.0, 2.0, 2.0, 2.0], rtol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        unravel(np.ones(7))
    empty, un = ravel_pytree({})
    assert empty.shape == (0,) and un(empty) == {}


def test_matches_jax_tree_util_where_installed():
    jtu = pytest.importorskip("jax.tree_util")
    tree = {"b": [1.0, (3.0, None)], "a": 2.0, "p": Point(4.0, 5.0)}
    assert tu.tree_leaves(tree) == jtu.tree_leaves(tree)
    ours = [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(tree)]
    theirs = [jtu.keystr(p) for p, _ in jtu.tree_leaves_with_path(tree)]
    assert ours == theirs


def test_tree_map_accepts_trees_that_have_the_first_as_a_prefix():
    got = tu.tree_map(lambda a, b: (a, b), [1, 2], [(3, 4), {"k": 5}])
    assert got == [(1, (3, 4)), (2, {"k": 5})]
    assert tu.tree_map(lambda a, b: a + b, {"x": 1, "y": 2}, {"x": 10, "y": 20}) == {
        "x": 11,
        "y": 22,
    }
    with pytest.raises(ValueError, match="prefix"):
        tu.tree_map(lambda a, b: a, [1, 2], [1])
    with pytest.raises(ValueError, match="prefix"):
        tu.tree_map(lambda a, b: a, {"x": 1}, {"y": 1})
    jtu = pytest.importorskip("jax.tree_util")
    tree, other = {"a": [1.0, 2.0], "b": 3.0}, {"a": [(1, 2), None], "b": {"c": 4}}
    assert tu.tree_map(lambda a, b: (a, b), tree, other) == jtu.tree_map(
        lambda a, b: (a, b), tree, other
    )
