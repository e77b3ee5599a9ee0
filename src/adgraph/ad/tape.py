"""The tape's nodes: what reverse mode records for each operation.

A :class:`Node` holds what the backward sweep needs of one primitive application: the
primitive and its parameters, the residuals its reverse rules read, the nodes of its traced
arguments, and the shape and dtype of its output. Scalar code records the smaller
:class:`ScalarNode` kinds instead. Recording is in :mod:`adgraph.ad.reverse`, the sweep in
:mod:`adgraph.ad.sweep`.
"""

from __future__ import annotations

import itertools

import numpy as _np

__all__ = [
    "Node",
    "ScalarNode",
    "ScalarNode1",
    "ScalarNode2",
    "SCALAR_NODES",
    "ShapeDtype",
    "ONE",
    "MINUS_ONE",
]

# Sequence numbers of nodes, in recording order (one counter for all tapes: only the order
# within a tape matters).
_next_seq = itertools.count().__next__
_F64 = _np.dtype(_np.float64)

# Partials of scalar nodes that mark "pass the cotangent on" and "negate it" (the rules of
# add and subtract); ct * ONE == ct and ct * MINUS_ONE == -ct exactly.
ONE = _np.float64(1.0)
MINUS_ONE = _np.float64(-1.0)


class ShapeDtype:
    """Stand-in for an array a rule only needs the shape and dtype of."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"ShapeDtype({self.shape}, {self.dtype})"


class Node:
    """One recorded primitive application (``prim is None`` marks an input).

    ``parents[i]`` is the node of argument ``i`` when it is traced at this level, else
    None; ``pidx`` (None when no parent has several outputs) gives for each parent which
    of its outputs was used. ``shape``/``dtype`` describe the output (tuples of them for
    primitives with several results).
    """

    __slots__ = (
        "prim",
        "params",
        "args",
        "ans",
        "parents",
        "pidx",
        "shape",
        "dtype",
        "seq",
        "__weakref__",
    )

    def __init__(self, prim, params, args, ans, parents, pidx, shape, dtype):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = args
        self.ans = ans
        self.parents = parents
        self.pidx = pidx
        self.shape = shape
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"Node({self.prim.name if self.prim else 'input'}, shape={self.shape})"


class ScalarNode(Node):
    """A node recorded by the float64-scalar short path: one float64 scalar output, no
    parent with several outputs. Two layouts:

    * partials known (the primitive's reverse rules multiply the cotangent by local
      partial derivatives, ``Primitive.partials``): :class:`ScalarNode1` and
      :class:`ScalarNode2` hold the one or two traced arguments' nodes and the factor for
      each (``parents`` and ``partials`` read as tuples of them, in argument order);
      ``args`` is None. The rule the sweep applies is ``ct * d`` (``ONE``: ``ct``,
      ``MINUS_ONE``: ``-ct``).
    * otherwise (and on tapes that ``keep`` everything), this class: ``parents`` and
      ``args`` line up with the arguments as on a :class:`Node`, ``partials`` is None and
      the primitive's rules run.
    """

    __slots__ = ()
    shape = ()
    dtype = _F64
    pidx = None
    partials = None  # the layout whose rules run

    def __init__(self, prim, params, args, ans, parents):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = args
        self.ans = ans
        self.parents = parents


class ScalarNode1(ScalarNode):
    """A :class:`ScalarNode` with one traced parent and its partial, held directly (no
    tuples: unary functions and operations with a constant, most of scalar code).
    ``parents`` and ``partials`` read as one-element tuples."""

    __slots__ = ("parent", "partial")

    def __init__(self, prim, params, ans, parent, partial):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = None
        self.ans = ans
        self.parent = parent
        self.partial = partial

    @property
    def parents(self):
        return (self.parent,)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent = None if value is None else value[0]

    @property
    def partials(self):
        return (self.partial,)


class ScalarNode2(ScalarNode):
    """A :class:`ScalarNode` with two traced parents and their partials held directly."""

    __slots__ = ("parent0", "parent1", "partial0", "partial1")

    def __init__(self, prim, params, ans, parent0, parent1, partial0, partial1):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = None
        self.ans = ans
        self.parent0 = parent0
        self.parent1 = parent1
        self.partial0 = partial0
        self.partial1 = partial1

    @property
    def parents(self):
        return (self.parent0, self.parent1)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent0, self.parent1 = (None, None) if value is None else value

    @property
    def partials(self):
        return (self.partial0, self.partial1)


SCALAR_NODES = frozenset([ScalarNode, ScalarNode1, ScalarNode2])
