"""The tape: what reverse mode records for each operation, and the tracers that hold it.

A :class:`Node` holds what the backward sweep needs of one primitive application: the
primitive and its parameters, the residuals its reverse rules read, the nodes of its traced
arguments, and the shape and dtype of its output. A :class:`ReverseTracer` holds a value
and its node: once user code drops the value, only the residuals a rule needs stay alive.

Recording is in :mod:`adgraph.ad.reverse`, the backward sweep in :mod:`adgraph.ad.sweep`;
scalar code records the smaller nodes of :mod:`adgraph.ad.scalar` instead.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from operator import attrgetter

import numpy as _np

from ..core.trace import Tracer

__all__ = ["Node", "ShapeDtype", "ReverseTracer", "ONE", "MINUS_ONE", "observe", "node_init"]

# Sequence numbers of nodes, in recording order (one counter for all tapes: only the order
# within a tape matters).
_next_seq = itertools.count().__next__

# Observer of the tape, for tools that show the computation (``make_source`` names adjoints
# after the values they belong to): an object with ``record(node, value)`` and
# ``adjoint(node, cotangent)``, or None. Set only while such a tool is tracing (see
# :func:`observe`); it turns the scalar short path off.
HOOKS = None


@contextmanager
def observe(observer):
    """Within the block, every node recorded and every cotangent swept on this process's
    tapes is reported to ``observer`` (``record(node, value)``, ``adjoint(node, ct)``)."""
    global HOOKS
    prev, HOOKS = HOOKS, observer
    try:
        yield observer
    finally:
        HOOKS = prev


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


def node_init(*fields: str, **constants):
    """An ``__init__`` for a node layout: it numbers the node (``seq``, in recording order)
    and stores each of ``fields`` from its arguments, in order, and each of ``constants``.
    Generated, so that each layout -- one is made per recorded operation -- costs exactly
    its own assignments and no call to a shared one."""
    lines = [f"def __init__(self, {', '.join(fields)}):", "    self.seq = _next_seq()"]
    lines += [f"    self.{f} = {f}" for f in fields]
    lines += [f"    self.{k} = {k}_" for k in constants]
    namespace = {"_next_seq": _next_seq, **{f"{k}_": v for k, v in constants.items()}}
    exec("\n".join(lines), namespace)  # the text above: field names from this package only
    return namespace["__init__"]


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
    __init__ = node_init("prim", "params", "args", "ans", "parents", "pidx", "shape", "dtype")

    def __repr__(self) -> str:
        return f"Node({self.prim.name if self.prim else 'input'}, shape={self.shape})"


class ReverseTracer(Tracer):
    """A value on a reverse-mode tape: ``value``, its ``node``, and for one output of a
    primitive with several, its index ``idx`` (else None)."""

    __slots__ = ("value", "node", "idx")
    shape = property(attrgetter("value.shape"))
    dtype = property(attrgetter("value.dtype"))

    def __init__(self, trace, value, node, idx=None):
        self._trace = trace
        self.value = value
        self.node = node
        self.idx = idx

    def _inner(self):
        return self.value
