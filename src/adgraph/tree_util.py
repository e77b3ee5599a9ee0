"""Pytrees under JAX's names (``jax.tree_util``): flatten, map and rebuild nested
containers of arrays, and register your own container types.

A pytree is a tuple, list, dict (keys in sorted order), namedtuple, ``None`` (a node with
no leaves) or a registered type, holding further pytrees; anything else is a leaf::

    from adgraph import tree_util

    params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
    tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    leaves, treedef = tree_util.tree_flatten(params)
    tree_util.tree_flatten_with_path(params)   # ([((DictKey('b'),), b), ...], treedef)

Paths name each leaf's place with :class:`SequenceKey` (tuples, lists), :class:`DictKey`
(dicts), :class:`GetAttrKey` (namedtuples, dataclasses) and :class:`FlattenedIndexKey`
(registered types that give no keys); :func:`keystr` prints one. Every transformation of
adgraph takes and returns pytrees of this module's kind.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from .core.pytree import (
    PyTreeDef,
    node_children,
    tree_flatten,
    tree_leaves,
    tree_structure,
    tree_unflatten,
)
from .core.pytree import register_pytree_node as _register_node

__all__ = [
    "PyTreeDef", "register_pytree_node", "register_pytree_with_keys",
    "register_pytree_node_class", "register_dataclass", "tree_flatten", "tree_unflatten",
    "tree_leaves", "tree_structure", "tree_map", "tree_map_with_path",
    "tree_flatten_with_path", "tree_leaves_with_path", "tree_reduce", "tree_all",
    "tree_transpose", "treedef_is_leaf", "all_leaves", "keystr", "SequenceKey", "DictKey",
    "GetAttrKey", "FlattenedIndexKey", "Partial",
]  # fmt: skip

T = TypeVar("T")
Leaf = Callable[[Any], bool]


# ------------------------------------------------------------------ keys
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The place of a child of a tuple or list: ``[idx]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The place of a dict's value: ``[key]``."""

    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The place of an attribute (namedtuple field, dataclass field): ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The place of a child of a registered type that gives no keys: its position."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def _key_value(k: Any) -> Any:
    for attr in ("idx", "key", "name"):
        if hasattr(k, attr):
            return getattr(k, attr)
    return k


def keystr(keys: Sequence[Any], *, simple: bool = False, separator: str = "") -> str:
    """A path as text: ``"['a'][0].w"``; with ``simple=True`` the bare key values joined
    by ``separator`` (``"a/0/w"`` with ``separator="/"``)."""
    if simple:
        return separator.join(str(_key_value(k)) for k in keys)
    return separator.join(str(k) for k in keys)


# type -> x -> the keys of x's children, in flattening order
_KEYS: dict[type, Callable[[Any], list[Any]]] = {
    tuple: lambda t: [SequenceKey(i) for i in range(len(t))],
    list: lambda t: [SequenceKey(i) for i in range(len(t))],
    dict: lambda d: [DictKey(k) for k in sorted(d)],
    type(None): lambda _: [],
}


def _child_keys(x: Any, kind: type, n: int) -> list[Any]:
    fn = _KEYS.get(kind)
    if fn is not None:
        return fn(x)
    if isinstance(x, tuple) and hasattr(kind, "_fields"):  # namedtuple
        return [GetAttrKey(f) for f in kind._fields]
    return [FlattenedIndexKey(i) for i in range(n)]


# ------------------------------------------------------------------ registration
def _check_type(what: str, nodetype: Any) -> None:
    if not isinstance(nodetype, type):
        raise TypeError(f"{what}: the first argument must be a class, got {nodetype!r}")


def _listing(flatten: Callable[[Any], Any], what: str) -> Callable[[Any], tuple[list, Any]]:
    """``flatten`` with its children made a list (a user's may return any iterable)."""

    def flat(x: Any) -> tuple[list, Any]:
        got = flatten(x)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise TypeError(
                f"{what}: the flatten function must return (children, aux_data), got "
                f"{type(got).__name__}"
            )
        return list(got[0]), got[1]

    return flat


def register_pytree_node(
    nodetype: type[T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], T],
    flatten_with_keys_func: Callable[[T], tuple[Iterable[tuple[Any, Any]], Any]] | None = None,
) -> None:
    """Make ``nodetype`` a pytree node: ``flatten_func(x) -> (children, aux_data)`` and
    ``unflatten_func(aux_data, children) -> x``; ``aux_data`` must be hashable and
    comparable (it is part of the structure). ``flatten_with_keys_func(x) -> (((key,
    child), ...), aux_data)`` names the children in paths."""
    _check_type("register_pytree_node", nodetype)
    for name, f in (("flatten_func", flatten_func), ("unflatten_func", unflatten_func)):
        if not callable(f):
            raise TypeError(f"register_pytree_node: {name} must be callable, got {f!r}")
    _register_node(nodetype, _listing(flatten_func, "register_pytree_node"), unflatten_func)
    if flatten_with_keys_func is not None:
        _KEYS[nodetype] = lambda x: [k for k, _ in flatten_with_keys_func(x)[0]]
    else:
        _KEYS.pop(nodetype, None)


def register_pytree_with_keys(
    nodetype: type[T],
    flatten_with_keys: Callable[[T], tuple[Iterable[tuple[Any, Any]], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Any]] | None = None,
) -> None:
    """:func:`register_pytree_node` from a flatten function that names the children:
    ``flatten_with_keys(x) -> (((key, child), ...), aux_data)``."""
    _check_type("register_pytree_with_keys", nodetype)
    if flatten_func is None:

        def flatten_func(x: Any) -> tuple[list, Any]:
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux

    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls: type[T]) -> type[T]:
    """Class decorator: the class's ``tree_flatten(self) -> (children, aux_data)`` method
    and ``tree_unflatten(cls, aux_data, children)`` classmethod make it a pytree node."""
    _check_type("register_pytree_node_class", cls)
    for name in ("tree_flatten", "tree_unflatten"):
        if not callable(getattr(cls, name, None)):
            raise TypeError(
                f"register_pytree_node_class: {cls.__name__} has no {name} method; define "
                "tree_flatten(self) -> (children, aux_data) and a classmethod "
                "tree_unflatten(cls, aux_data, children)"
            )
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(
    nodetype: type[T],
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
    drop_fields: Sequence[str] = (),
) -> type[T]:
    """Make a dataclass a pytree node whose children are its ``data_fields`` and whose
    ``meta_fields`` are static (part of the structure, so hashable). Without the lists,
    a field whose metadata has ``static=True`` (``dataclasses.field(metadata=dict(
    static=True))``) is a meta field and the others are data. Usable as a decorator."""
    _check_type("register_dataclass", nodetype)
    if data_fields is None and meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                f"register_dataclass: {nodetype.__name__} is not a dataclass; decorate it "
                "with @dataclasses.dataclass or give data_fields and meta_fields"
            )
        fields = [f for f in dataclasses.fields(nodetype) if f.name not in drop_fields]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
    elif data_fields is None or meta_fields is None:
        raise TypeError("register_dataclass: give both data_fields and meta_fields, or neither")
    data, meta = tuple(data_fields), tuple(meta_fields)
    if dataclasses.is_dataclass(nodetype):
        names = {f.name for f in dataclasses.fields(nodetype)} - set(drop_fields)
        if set(data) | set(meta) != names or set(data) & set(meta):
            raise ValueError(
                f"register_dataclass: data_fields {list(data)} and meta_fields {list(meta)} "
                f"must split the fields of {nodetype.__name__}, {sorted(names)}, between them"
            )
        init = {f.name for f in dataclasses.fields(nodetype) if f.init}
    else:
        init = set(data) | set(meta)

    def flatten(x: Any) -> tuple[list, tuple]:
        return [getattr(x, n) for n in data], tuple(getattr(x, n) for n in meta)

    def unflatten(aux: tuple, children: Iterable[Any]) -> Any:
        values = dict(zip(data, children))
        values.update(zip(meta, aux))
        obj = nodetype(**{k: v for k, v in values.items() if k in init})
        for k, v in values.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj

    register_pytree_with_keys(
        nodetype, lambda x: ([(GetAttrKey(n), getattr(x, n)) for n in data], flatten(x)[1]),
        unflatten, flatten,
    )  # fmt: skip
    return nodetype


# ------------------------------------------------------------------ mapping
def _leaves_of_rest(treedef: PyTreeDef, rest: Sequence[Any], is_leaf: Leaf | None, what: str):
    """Each of ``rest`` cut at the places of ``treedef``'s leaves: a tree of the same
    structure gives its leaves, one with more below those places gives its subtrees (the
    first tree is a prefix of it, as JAX allows)."""
    out = []
    for k, r in enumerate(rest):
        leaves, td = tree_flatten(r, is_leaf)
        if td == treedef:
            out.append(leaves)
            continue
        try:
            out.append(treedef.flatten_up_to(r))
        except ValueError:
            raise ValueError(
                f"{what}: tree #{k + 2} has structure {td!r}, which does not have tree #1's "
                f"structure {treedef!r} (or that structure as a prefix)"
            ) from None
    return out


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Leaf | None = None) -> Any:
    """``f`` applied leaf by leaf: ``f(x, *xs)`` for each leaf ``x`` of ``tree`` and the
    corresponding parts ``xs`` of the trees in ``rest``, which have ``tree``'s structure
    or have it as a prefix (then ``xs`` are their subtrees at ``tree``'s leaves)."""
    if not callable(f):
        raise TypeError(f"tree_map: the function must be callable, got {f!r}")
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = _leaves_of_rest(treedef, rest, is_leaf, "tree_map")
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


# ------------------------------------------------------------------ paths
def tree_flatten_with_path(
    tree: Any, is_leaf: Leaf | None = None
) -> tuple[list[tuple[tuple[Any, ...], Any]], PyTreeDef]:
    """``([(path, leaf), ...], treedef)``: each leaf with the keys that lead to it, in
    :func:`tree_flatten`'s order."""
    out: list[tuple[tuple[Any, ...], Any]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), tree)]
    while stack:
        path, x = stack.pop()
        node = None if (is_leaf is not None and is_leaf(x)) else node_children(x)
        if node is None:
            out.append((path, x))
            continue
        children, _, kind = node
        keys = _child_keys(x, kind, len(children))
        stack.extend(((*path, k), c) for k, c in zip(reversed(keys), reversed(children)))
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(
    tree: Any, is_leaf: Leaf | None = None
) -> list[tuple[tuple[Any, ...], Any]]:
    """``[(path, leaf), ...]`` (see :func:`tree_flatten_with_path`)."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(
    f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Leaf | None = None
) -> Any:
    """:func:`tree_map` whose function also gets each leaf's path: ``f(path, x, *xs)``
    (``rest`` as for :func:`tree_map`)."""
    if not callable(f):
        raise TypeError(f"tree_map_with_path: the function must be callable, got {f!r}")
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = _leaves_of_rest(treedef, rest, is_leaf, "tree_map_with_path")
    return tree_unflatten(
        treedef, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)] if others
        else [f(p, x) for p, x in pairs],
    )  # fmt: skip


# ------------------------------------------------------------------ reductions and the rest
_MISSING = object()


def tree_reduce(
    function: Callable[[Any, Any], Any],
    tree: Any,
    initializer: Any = _MISSING,
    is_leaf: Leaf | None = None,
) -> Any:
    """``functools.reduce(function, leaves[, initializer])`` over the tree's leaves."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        if not leaves:
            raise TypeError("tree_reduce: the tree has no leaves; give an initializer")
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Leaf | None = None) -> bool:
    """Whether every leaf is true (``all(tree_leaves(tree))``)."""
    return all(tree_leaves(tree, is_leaf))


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether the structure is a single leaf."""
    return treedef.kind is None


def all_leaves(iterable: Iterable[Any], is_leaf: Leaf | None = None) -> bool:
    """Whether every element is a leaf (not a container)."""
    return all((is_leaf is not None and is_leaf(x)) or node_children(x) is None for x in iterable)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree: Any) -> Any:
    """A tree of structure ``outer(inner)`` turned into one of structure ``inner(outer)``
    (a list of pairs into a pair of lists, say)."""
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree)[0])
    subtrees = outer_treedef.flatten_up_to(pytree)
    inner_leaves = [inner_treedef.flatten_up_to(s) for s in subtrees]
    n_inner = inner_treedef.num_leaves
    per_inner = [[leaves[i] for leaves in inner_leaves] for i in range(n_inner)]
    return tree_unflatten(inner_treedef, [tree_unflatten(outer_treedef, p) for p in per_inner])


class Partial(functools.partial):
    """``functools.partial`` that is a pytree: its bound arguments are children (traced
    and differentiated like any argument), the function is static. A ``Partial`` can be
    passed to and returned from transformed functions."""

    def __new__(cls, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Partial:
        if isinstance(func, functools.partial):
            # flatten nested partials so the function (static) is never a partial
            args = func.args + args
            kwargs = {**func.keywords, **kwargs}
            func = func.func
        return super().__new__(cls, func, *args, **kwargs)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, ch: Partial(func, *ch[0], **ch[1]),
)
