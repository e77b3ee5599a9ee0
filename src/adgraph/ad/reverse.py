"""Reverse mode, recording: the tape a function's run leaves for the backward sweep.

Each primitive applied to a :class:`ReverseTracer` records a node (:mod:`adgraph.ad.tape`):
the primitive, its parameters, the residuals its VJP rules need, the nodes of its traced
arguments, and the shape and dtype of its output. The tracer (which holds the value) and
the node (which holds what the backward sweep needs) are separate objects: once user code
drops an intermediate value, only residuals that a rule declared it needs stay alive
(``Primitive.needs``); an argument no rule needs is kept as a ``ShapeDtype`` stand-in.

Scalar code (float64 scalars, one operation at a time) is recorded by the short path of
:mod:`adgraph.ad.scalar` first; what it does not take comes to :meth:`ReverseTrace.general`.
The backward sweep is :mod:`adgraph.ad.sweep`.
"""

from __future__ import annotations

import threading

import numpy as _np

from ..core.primitive import _PLAIN
from ..core.trace import Trace, Tracer, new_level
from . import scalar as _scalar
from . import tape as _tape
from .tape import Node, ReverseTracer, ShapeDtype

__all__ = [
    "ReverseTrace",
    "ReverseTracer",
    "in_recorded_primal",
    "recorded_primal_scope",
    "user_rule_scope",
]

_f64 = _np.float64
_UNSET = object()  # ReverseTrace.general: the result is still to be computed

_INEXACT = frozenset("fc")
# Arrays at least this large are dropped from a node when no rule needs them.
_DROP_BYTES = 1024


# How deep this thread is in computing, at the levels below a reverse trace, the primal of
# an operation that trace records (a jit call, say): forward mode there differentiates the
# primal computation of a reverse pass, as forward-over-reverse (hessian) does.
_PRIMAL = threading.local()


def in_recorded_primal() -> bool:
    """Whether the operations now running compute, below a reverse trace, the primal of an
    operation it records and will differentiate with that operation's reverse rule. A
    ``custom_vjp`` function met there by forward mode is differentiated through its ``fwd``
    rule (its reverse rule serves the recorded operation), as in JAX's forward-over-reverse."""
    return getattr(_PRIMAL, "depth", 0) > 0


class recorded_primal_scope:
    """Marks (see :func:`in_recorded_primal`) a primal computed below a reverse trace
    outside :meth:`ReverseTrace.general` -- a checkpoint recording its function once."""

    __slots__ = ()

    def __enter__(self) -> None:
        _PRIMAL.depth = getattr(_PRIMAL, "depth", 0) + 1

    def __exit__(self, *exc) -> None:
        _PRIMAL.depth -= 1


class user_rule_scope:
    """While a user's derivative rule runs inside a recorded primal: the rule's own uses of
    forward mode are not part of that primal (a ``custom_vjp`` function they meet in
    forward mode is refused, as in JAX)."""

    __slots__ = ("depth",)

    def __enter__(self) -> None:
        self.depth = getattr(_PRIMAL, "depth", 0)
        _PRIMAL.depth = 0

    def __exit__(self, *exc) -> None:
        _PRIMAL.depth = self.depth


class ReverseTrace(Trace):
    """A reverse-mode tape. ``keep=True`` keeps every argument and result on the nodes
    (for inspecting the graph), instead of only the residuals the rules need."""

    __slots__ = ("keep", "tape", "mixed")

    def __init__(self, keep: bool = False):
        self.level = new_level()  # Trace.__init__, inline: one trace per grad call
        self.alive = True
        self.keep = keep
        # The scalar nodes in the order they were recorded, and whether any other node
        # was: a tape of scalar nodes only is swept straight down this list
        # (:func:`adgraph.ad.scalar.sweep`), without ordering the nodes.
        self.tape = []
        self.mixed = False

    def new_input(self, value) -> ReverseTracer:
        if type(value) is _f64:  # shape () and dtype float64 are the class's
            node = _scalar.ScalarNode(None, None, None, value, None)
        else:
            node = Node(None, None, None, value, None, None, value.shape, value.dtype)
        if _tape.HOOKS is not None:
            _tape.HOOKS.record(node, value)
        return ReverseTracer(self, value, node)

    # Every operation tries the short path of scalar code first; it hands the rest to
    # :meth:`general`.
    process = _scalar.record

    def general(self, prim, args, params, ans=_UNSET):
        """Record ``prim(*args)`` with the general bookkeeping; ``ans``: its result when the
        short path already computed it (plain values only)."""
        self.mixed = True
        vals, parents, mask, multi, plain, below = self._unwrap(args)
        if prim.nondiff or not mask:
            return prim.bind(*vals, **params)
        pidx = (
            [getattr(a, "idx", None) if p is not None else None for a, p in zip(args, parents)]
            if multi
            else None
        )
        if prim.reverse is not None:
            return prim.reverse(self, vals, parents, params, pidx)
        if ans is _UNSET:  # else computed by the short path, on these same plain values
            if plain:
                ans = prim.impl(_np, *vals, **params)
            elif below is not None and below.alive:
                # what bind would pick; the lower levels differentiate this primal of a
                # recorded operation (see in_recorded_primal)
                _PRIMAL.depth = getattr(_PRIMAL, "depth", 0) + 1
                try:
                    ans = below.process(prim, tuple(vals), params)
                finally:
                    _PRIMAL.depth -= 1
            else:
                ans = prim.bind(*vals, **params)
        if prim.multiple_results:
            return self.record(prim, params, vals, ans, parents, pidx)
        dt = getattr(ans, "dtype", None)
        if dt is None or dt.kind not in _INEXACT:
            return ans
        saved = ans
        if prim.needs is not None and not self.keep:
            saved = _residuals(prim, mask, vals, ans)
        node = Node(prim, params, vals, saved, parents, pidx, ans.shape, dt)
        if _tape.HOOKS is not None:
            _tape.HOOKS.record(node, ans)
        return ReverseTracer(self, ans, node)

    def _unwrap(self, args):
        """The arguments' values; their nodes (None: not traced at this level); a bit mask
        of the traced ones; whether any is one output of several; whether all values are
        plain NumPy ones; and the trace of highest level among lower-level tracers."""
        vals = []
        parents = []
        mask = 0
        multi = False
        plain = True
        below = None
        bit = 1
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                v = a.value
                parents.append(a.node)
                mask |= bit
                if a.idx is not None:
                    multi = True
            else:
                v = a
                parents.append(None)
            if type(v) not in _PLAIN:
                plain = False
                if isinstance(v, Tracer):
                    t = v._trace
                    if below is None or t.level > below.level:
                        below = t
            vals.append(v)
            bit <<= 1
        return vals, parents, mask, multi, plain, below

    def record(self, prim, params, vals, ans, parents, pidx=None):
        """Put a node on the tape for ``ans = prim(*vals)`` and return its tracer(s);
        for primitives with their own reverse handler (custom rules, checkpoint)."""
        self.mixed = True
        if prim.multiple_results:
            shape = tuple(getattr(a, "shape", ()) for a in ans)
            dtype = tuple(getattr(a, "dtype", None) for a in ans)
            node = Node(prim, params, vals, ans, parents, pidx, shape, dtype)
            if _tape.HOOKS is not None:
                _tape.HOOKS.record(node, ans)
            return tuple(
                ReverseTracer(self, a, node, i) if _differentiable(a) else a
                for i, a in enumerate(ans)
            )
        if not _differentiable(ans):
            return ans
        node = Node(prim, params, vals, ans, parents, pidx, ans.shape, ans.dtype)
        if _tape.HOOKS is not None:
            _tape.HOOKS.record(node, ans)
        return ReverseTracer(self, ans, node)


def _residuals(prim, mask, vals, ans):
    """Drop from ``vals`` (in place) the arrays no reverse rule reads, keeping their shape
    and dtype; return ``ans`` when a rule reads it, else None."""
    keep_ans, drop = _plan(prim, mask)
    for i in drop:
        if i >= len(vals):
            break
        v = vals[i]
        if type(v) is not float and getattr(v, "nbytes", 0) >= _DROP_BYTES:
            vals[i] = ShapeDtype(v.shape, v.dtype)
    return ans if keep_ans else None


def _plan(prim, mask):
    """(keep the result?, argument indices to drop) for the traced-argument pattern
    ``mask``, from the primitive's declared ``needs``; cached on the primitive."""
    plans = prim.plans
    plan = plans.get(mask)
    if plan is None:
        keep = set()
        for i, n in enumerate(prim.needs):
            if mask >> i & 1:
                keep |= n
        drop = tuple(i for i in range(mask.bit_length() + 8) if i not in keep)
        plan = plans[mask] = ("ans" in keep, drop)
    return plan


def _differentiable(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in _INEXACT
