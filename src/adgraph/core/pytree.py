"""Pytrees: nested containers of arrays, flattened to a list of leaves and a structure.

As in JAX: tuples, lists, dicts (keys in sorted order), namedtuples and ``None`` (a node
with no leaves) are containers; everything else is a leaf. More node types can be added
with :func:`register_pytree_node`. Flattening is iterative, so deep trees do not hit the
recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "tree_structure",
    "register_pytree_node",
    "PyTreeDef",
]

# type -> (to_children(x) -> (children, aux), from_children(aux, children) -> x)
_NODE_TYPES: dict[type, tuple[Callable, Callable]] = {}


def register_pytree_node(tp: type, flatten: Callable, unflatten: Callable) -> None:
    """Make ``tp`` a container: ``flatten(x) -> (children, aux)``, ``unflatten(aux, children)``."""
    if not isinstance(tp, type):
        raise TypeError(f"register_pytree_node: the first argument must be a class, got {tp!r}")
    for name, f in (("flatten", flatten), ("unflatten", unflatten)):
        if not callable(f):
            raise TypeError(
                f"register_pytree_node: {name} must be callable, got {type(f).__name__}"
            )
    _NODE_TYPES[tp] = (flatten, unflatten)


def _dict_flatten(d):
    try:
        keys = sorted(d)
    except TypeError as e:
        raise TypeError(
            f"dict keys of a pytree must be sortable (comparable with each other); got "
            f"{list(d)!r} -- use keys of one type, e.g. all strings"
        ) from e
    return [d[k] for k in keys], tuple(keys)


register_pytree_node(tuple, lambda t: (list(t), None), lambda aux, ch: tuple(ch))
register_pytree_node(list, lambda t: (list(t), None), lambda aux, ch: list(ch))
register_pytree_node(dict, _dict_flatten, lambda keys, ch: dict(zip(keys, ch)))
register_pytree_node(type(None), lambda t: ([], None), lambda aux, ch: None)


def node_children(x: Any) -> tuple[list[Any], Any, type] | None:
    """One level of flattening: ``(children, aux, node type)`` of a container, None for a
    leaf."""
    kind, entry = _node_of(x)
    if kind is None:
        return None
    children, aux = entry[0](x)
    return list(children), aux, kind


def _node_of(x):
    tp = type(x)
    entry = _NODE_TYPES.get(tp)
    if entry is not None:
        return tp, entry
    if isinstance(x, tuple) and hasattr(tp, "_fields"):  # namedtuple
        return tp, (lambda t: (list(t), None), lambda aux, ch, tp=tp: tp(*ch))
    return None, None


class PyTreeDef:
    """The structure of a pytree, without its leaves."""

    __slots__ = ("kind", "aux", "children", "num_leaves", "depth", "_hash")

    def __init__(
        self, kind: type | None, aux: Any, children: tuple[PyTreeDef, ...], num_leaves: int
    ) -> None:
        self.kind = kind  # None for a leaf
        self.aux = aux
        self.children = children
        self.num_leaves = num_leaves
        depth = 0  # levels of containers: 0 for a leaf
        for c in children:
            if c.depth >= depth:
                depth = c.depth + 1
        self.depth = depth if depth or kind is None else 1
        self._hash = None  # computed on first use (tree definitions key jit's caches)

    # Equality, hashing, printing and unflattening of a deep structure walk it with
    # explicit stacks, never recursion: a tree nested thousands deep is fine. Structures
    # less than _SHALLOW deep (all the usual ones) take the shorter recursive code.
    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return False
        if self.depth < _SHALLOW and other.depth < _SHALLOW:
            return (
                self.kind == other.kind
                and self.aux == other.aux
                and self.children == other.children
            )
        stack = [(self, other)]
        while stack:
            a, b = stack.pop()
            if (
                a.kind != b.kind
                or a.num_leaves != b.num_leaves
                or len(a.children) != len(b.children)
                or not (a.aux == b.aux)
            ):
                return False
            for ca, cb in zip(a.children, b.children):
                if ca is not cb:  # (leaves share one object)
                    stack.append((ca, cb))
        return True

    def __hash__(self) -> int:
        h = self._hash
        if h is not None:
            return h
        if self.depth < _SHALLOW:
            h = self._hash = hash((self.kind, repr(self.aux), self.children))
            return h
        # post-order, with the formula above: once a node's children have their hashes
        # cached, hashing its children tuple goes one level down only
        stack = [(self, False)]
        while stack:
            td, children_done = stack.pop()
            if td._hash is not None:
                continue
            if children_done:
                td._hash = hash((td.kind, repr(td.aux), td.children))
                continue
            stack.append((td, True))
            stack.extend((c, False) for c in td.children if c._hash is None)
        return self._hash

    def __repr__(self) -> str:
        if self.depth < _SHALLOW:
            if self.kind is None:
                return "*"
            if self.kind is dict:
                inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children))
                return f"dict({inner})"
            inner = ", ".join(map(repr, self.children))
            return f"{getattr(self.kind, '__name__', self.kind)}({inner})"
        parts: list = []  # the finished strings of the nodes done so far, in order
        stack = [(self, False)]
        while stack:
            td, children_done = stack.pop()
            if td.kind is None:
                parts.append("*")
                continue
            if not children_done:
                stack.append((td, True))
                stack.extend((c, False) for c in reversed(td.children))
                continue
            n = len(td.children)
            kids = parts[len(parts) - n :] if n else []
            del parts[len(parts) - n :]
            if td.kind is dict:
                inner = ", ".join(f"{k!r}: {c}" for k, c in zip(td.aux, kids))
                parts.append(f"dict({inner})")
            else:
                parts.append(f"{getattr(td.kind, '__name__', td.kind)}({', '.join(kids)})")
        return parts[0]

    def unflatten(self, leaves: Sequence[Any]) -> Any:
        """The tree of this structure holding ``leaves`` (:func:`tree_unflatten`)."""
        return tree_unflatten(self, leaves)

    @property
    def num_nodes(self) -> int:
        """The number of nodes: containers and leaves (a ``None`` node counts one)."""
        n, stack = 0, [self]
        while stack:
            td = stack.pop()
            n += 1
            stack.extend(td.children)
        return n

    def node_data(self) -> tuple[type, Any] | None:
        """``(type, aux data)`` of the root node; None for a leaf."""
        return None if self.kind is None else (self.kind, self.aux)

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """The subtrees of ``tree`` at the places of this structure's leaves: ``tree`` must
        have this structure down to them (a prefix match)."""
        out: list = []
        stack = [(self, tree)]
        while stack:
            td, x = stack.pop()
            if td.kind is None:
                out.append(x)
                continue
            kind, entry = _node_of(x)
            if kind is not td.kind:
                raise ValueError(
                    f"flatten_up_to: expected a {getattr(td.kind, '__name__', td.kind)} "
                    f"node, got {type(x).__name__} (structure {self!r})"
                )
            children, aux = entry[0](x)
            if len(children) != len(td.children) or not (aux == td.aux):
                raise ValueError(
                    f"flatten_up_to: a {type(x).__name__} node does not match the structure "
                    f"{td!r} (its children or keys differ)"
                )
            stack.extend(zip(reversed(td.children), reversed(list(children))))
        return out


# Structures at most this deep are compared, hashed, printed and built recursively (two
# frames a level at most: far from the recursion limit, whatever the caller's depth).
_SHALLOW = 100

LEAF = PyTreeDef(None, None, (), 1)


def _is_container(x) -> bool:
    tp = type(x)
    return tp in _NODE_TYPES or (isinstance(x, tuple) and hasattr(tp, "_fields"))


_FLAT_DEFS: dict = {}


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """``(leaves, treedef)`` of ``tree``; leaves in depth-first, left-to-right order."""
    if is_leaf is None:
        # Fast paths: a single leaf, and a flat tuple/list of leaves (the usual arguments).
        tp = type(tree)
        if tp not in _NODE_TYPES and not (isinstance(tree, tuple) and hasattr(tp, "_fields")):
            return [tree], LEAF
        if (tp is tuple or tp is list) and not any(map(_is_container, tree)):
            key = (tp, len(tree))
            td = _FLAT_DEFS.get(key)
            if td is None:
                td = _FLAT_DEFS[key] = PyTreeDef(tp, None, (LEAF,) * len(tree), len(tree))
            return list(tree), td
    leaves: list = []
    # Iterative post-order construction of the tree definition.
    root: list = []
    stack: list = [(tree, root, False, None)]
    while stack:
        x, out, expanded, info = stack.pop()
        if expanded:
            kind, aux, kids = info
            children = tuple(kids)
            n = 0
            for c in children:
                n += c.num_leaves
            out.append(PyTreeDef(kind, aux, children, n))
            continue
        kind, entry = (None, None) if (is_leaf is not None and is_leaf(x)) else _node_of(x)
        if kind is None:
            leaves.append(x)
            out.append(LEAF)
            continue
        children, aux = entry[0](x)
        kids: list = []
        stack.append((None, out, True, (kind, aux, kids)))
        for c in reversed(children):
            stack.append((c, kids, False, None))
    # Children were pushed reversed, so they were visited left to right, but each 'kids'
    # list received them in visiting order: correct. Leaves likewise.
    return leaves, root[0]


def flat_tuple_def(n: int) -> PyTreeDef:
    """The structure of a tuple of ``n`` leaves (one shared object per ``n``)."""
    td = _FLAT_DEFS.get((tuple, n))
    if td is None:
        td = _FLAT_DEFS[(tuple, n)] = PyTreeDef(tuple, None, (LEAF,) * n, n)
    return td


def is_flat_tuple(treedef: PyTreeDef) -> bool:
    """Whether ``treedef`` is a tuple of leaves (the structure of the usual arguments)."""
    return treedef.kind is tuple and _FLAT_DEFS.get((tuple, treedef.num_leaves)) is treedef


def tree_unflatten(treedef: PyTreeDef, leaves: Sequence[Any]) -> Any:
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(
            f"tree_unflatten: expected a tree structure (from tree_flatten), got "
            f"{type(treedef).__name__}"
        )
    if treedef.kind is None:
        if len(leaves) != 1:
            raise ValueError(
                f"tree_unflatten: the structure is a single leaf, got {len(leaves)} leaves"
            )
        return leaves[0]
    if (
        treedef.kind is tuple
        and len(treedef.children) == len(leaves)
        and all(c.kind is None for c in treedef.children)
    ):
        return tuple(leaves)
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: tree structure {treedef!r} has {treedef.num_leaves} leaves, "
            f"got {len(leaves)}"
        )
    if treedef.depth < _SHALLOW:
        return _build_shallow(treedef, iter(leaves))
    return _build(treedef, leaves)


def _build_shallow(td, it):
    """:func:`_build` by recursion, for a structure less than ``_SHALLOW`` deep."""
    if td.kind is None:
        return next(it)
    kids = [_build_shallow(c, it) for c in td.children]
    kind = td.kind
    entry = _NODE_TYPES.get(kind)
    if entry is None:  # namedtuple
        return kind(*kids)
    return entry[1](td.aux, kids)


def _build(td, leaves):
    """The tree of structure ``td`` holding ``leaves``, built bottom-up with an explicit
    stack (no recursion). A module-level function, not a closure: a nested recursive
    closure would form a reference cycle (function -> cell -> function) holding the
    leaves until the cyclic collector runs -- a derivative's arrays outliving the call
    that returned them."""
    it = iter(leaves)
    root: list = []
    # (structure, the list its result goes to, its children's results once expanded)
    stack: list = [(td, root, None)]
    while stack:
        node, out, kids = stack.pop()
        if kids is not None:  # its children are built: make the node
            kind = node.kind
            entry = _NODE_TYPES.get(kind)
            out.append(kind(*kids) if entry is None else entry[1](node.aux, kids))
            continue
        if node.kind is None:
            out.append(next(it))
            continue
        kids = []
        stack.append((node, out, kids))
        # pushed in reverse, popped left to right: leaves are taken in order
        stack.extend((c, kids, None) for c in reversed(node.children))
    return root[0]


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(
    f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """Apply ``f`` leaf-wise to ``tree`` and trees of the same structure in ``rest``."""
    if not callable(f):
        raise TypeError(f"tree_map: the function must be callable, got {type(f).__name__}")
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for k, r in enumerate(rest):
        lv, td2 = tree_flatten(r, is_leaf)
        if td2 != td:
            raise ValueError(
                f"tree_map: tree #{k + 2} has structure {td2!r}, but tree #1 has {td!r}; "
                "every tree must have the same containers and keys"
            )
        others.append(lv)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])
