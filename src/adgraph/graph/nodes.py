"""The values of a graph: a :class:`Node` per primitive application, a :class:`Const` per
constant argument.

Every :class:`Node` records

* ``op`` -- the primitive's name (``"input"`` for an input, ``"item"`` for one result of a
  primitive with several results);
* ``prim`` -- the :class:`~adgraph.core.primitive.Primitive` itself (None for inputs and items);
* ``inputs`` -- a tuple of :class:`Node` and :class:`Const`, one per positional argument of
  the primitive, in order;
* ``params`` -- the primitive's keyword parameters (static: axes, shapes, dtypes...);
* ``shape``, ``dtype`` and ``value`` -- what the node computed when it was recorded.

A value used twice is one node with two consumers: the graph is a DAG, not a tree. A node
knows its arguments, never its consumers; :class:`~adgraph.graph.ir.Graph` holds the whole
and orders it. The views of a graph (sweeps, tables, pictures) read nodes through this module
only, so they stand below the Graph whose methods offer them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..core.primitive import Primitive

__all__ = ["Node", "Const"]

_ids = itertools.count()


def _shape_dtype(value):
    if value is None:
        return None, None
    if isinstance(value, tuple):
        return tuple(_shape_dtype(v)[0] for v in value), tuple(_shape_dtype(v)[1] for v in value)
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        a = np.asarray(value)
        shape, dtype = a.shape, a.dtype
    return tuple(shape), np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype


class Const:
    """A constant argument of a node: a Python number or an array that no input reaches."""

    __slots__ = ("value", "shape", "dtype")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.shape, self.dtype = _shape_dtype(value)

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def __repr__(self) -> str:
        if self.shape == ():
            return f"Const({self.value!r})"
        return f"Const({self.dtype}{list(self.shape)})"


class Node:
    """One value of a computation: an input, or the result of one primitive application.

    Parameters
    ----------
    op : str
        The primitive's name, ``"input"`` or ``"item"``.
    inputs : sequence of Node or Const
        The primitive's positional arguments. Values that are neither are wrapped in
        :class:`Const`.
    params : dict, optional
        The primitive's keyword parameters.
    prim : Primitive, optional
        Looked up by ``op`` in the primitive registry when not given.
    value : optional
        The value computed when the node was recorded; gives ``shape`` and ``dtype``.
    name : str, optional
        A display name (inputs: the argument's name, e.g. ``"x1"``).
    """

    __slots__ = (
        "id",
        "op",
        "prim",
        "inputs",
        "params",
        "value",
        "shape",
        "dtype",
        "name",
        "__weakref__",
    )

    def __init__(
        self,
        op: str,
        inputs: Iterable[Any] = (),
        params: Mapping[str, Any] | None = None,
        *,
        prim: Primitive | None = None,
        value: Any = None,
        name: str | None = None,
        shape: tuple[Any, ...] | None = None,
        dtype: Any = None,
    ) -> None:
        self.id = next(_ids)
        self.op = op
        if prim is None and op not in ("input", "item"):
            from ..core.primitive import registry

            prim = registry.get(op)
        self.prim = prim
        self.inputs = tuple(i if isinstance(i, (Node, Const)) else Const(i) for i in inputs)
        self.params = dict(params) if params else {}
        self.value = value
        s, d = _shape_dtype(value)
        self.shape = shape if shape is not None else s
        self.dtype = dtype if dtype is not None else d
        self.name = name

    @property
    def is_input(self) -> bool:
        return self.op == "input"

    @property
    def multiple_results(self) -> bool:
        return self.prim is not None and self.prim.multiple_results

    @property
    def node_inputs(self) -> list[Node]:
        """The inputs that are nodes (constants left out), in argument order."""
        return [i for i in self.inputs if isinstance(i, Node)]

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def describe(self) -> str:
        """A short, stable description such as ``node 7 (multiply)`` or ``input x1``."""
        if self.is_input:
            return f"input {self.name}" if self.name else f"input node {self.id}"
        if self.name:
            return f"node {self.name!r} ({self.op})"
        return f"node {self.id} ({self.op})"

    def __repr__(self) -> str:
        ins = ", ".join(f"%{i.id}" if isinstance(i, Node) else repr(i) for i in self.inputs)
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        nm = f" {self.name}" if self.name else ""
        return f"<Node %{self.id}{nm} = {self.op}({ins}{extra}) {self.shape} {self.dtype}>"
