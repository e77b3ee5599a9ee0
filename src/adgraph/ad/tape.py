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

import numpy as _np

from ..core.trace import Tracer

__all__ = ["Node", "ShapeDtype", "ReverseTracer", "ONE", "MINUS_ONE", "observe"]

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


class ReverseTracer(Tracer):
    """A value on a reverse-mode tape: ``value``, its ``node``, and for one output of a
    primitive with several, its index ``idx`` (else None)."""

    __slots__ = ("value", "node", "idx")

    def __init__(self, trace, value, node, idx=None):
        self._trace = trace
        self.value = value
        self.node = node
        self.idx = idx

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def _inner(self):
        return self.value
