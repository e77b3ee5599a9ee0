"""Reverse mode, the backward sweep: cotangents from the outputs back to the inputs.

:func:`backward` walks the recorded nodes in the engine's one topological order
(:func:`adgraph.ad.order.consumers_first`: reverse recording order), so when a node comes
up, all its cotangent contributions are in, summed in a fixed order. Each node is visited
once, however many paths share it; no recursion, so chains of millions of operations are
fine; nodes that cannot reach the outputs are never visited. Each node's rules give its
arguments' cotangents (:func:`node_cotangents`), and :func:`_accumulate` adds each into
its argument's slot -- the one place where cotangents are summed.

A tape of float64-scalar nodes only is swept by :func:`adgraph.ad.scalar.sweep`, in the
same order, so every sum is the same; tests/test_scalar_path.py checks they agree bit for
bit. Cotangents are dropped once their node is processed; with ``free=True`` (``grad``),
a node's residuals are released right after its rules ran. Cotangents are computed with
adgraph's own operations, so an enclosing transformation differentiates the sweep itself.
"""

from __future__ import annotations

import sys

import numpy as _np

from ..core import basic
from ..core.primitive import _PLAIN
from . import scalar as _scalar
from . import tape as _tape
from .common import SYMBOLIC_ZEROS, fit_for_rule
from .order import consumers_first

__all__ = ["backward", "backward_scalar", "node_cotangents"]

_ndarray = _np.ndarray
_f64 = _np.float64


def node_cotangents(node, ct) -> list:
    """The cotangents of a node's arguments (None: zero, or not traced) given the
    cotangent ``ct`` of its output(s), from the primitive's reverse rules. An output
    without a cotangent reaches the rule as a zero array, or as None where the primitive
    takes symbolic zeros (:func:`adgraph.ad.common.takes_symbolic_zeros`)."""
    if type(node) in _scalar.SCALAR_NODES:
        return _scalar.cotangents(node, ct)
    prim = node.prim
    args, ans, params, parents = node.args, node.ans, node.params, node.parents
    if prim.multiple_results and prim not in SYMBOLIC_ZEROS:
        ct = [
            basic.zeros(s, d, a) if c is None else c
            for c, s, d, a in zip(ct, node.shape, node.dtype, ans)
        ]
    if prim.joint_vjp is not None:
        gs = list(prim.joint_vjp(ct, ans, args, params, tuple(p is not None for p in parents)))
        if len(gs) != len(parents):
            raise ValueError(
                f"the reverse rule of primitive {prim.name!r} returned {len(gs)} cotangents "
                f"for {len(parents)} arguments"
            )
        return gs
    rule = prim.vjp
    if rule is None:
        raise prim.missing("reverse-mode (VJP)")
    out = []
    for i, p in enumerate(parents):
        if p is None:
            out.append(None)
            continue
        r = rule[i] if i < len(rule) else None
        if r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        out.append(r(ct, ans, *args, **params))
    return out


def _probe_refs(a) -> int:
    return sys.getrefcount(a)


def _calibrate_sole_refs():
    """The reference count :func:`_sole_owner` sees for an array held only by a dict entry
    and the caller's variable, measured here in the same shape of code (so it follows the
    interpreter's own counting); None where counts do not behave (another Python
    implementation): then nothing is ever added in place into a rule's array."""
    if not hasattr(sys, "getrefcount"):
        return None
    held = {}
    a = _np.empty(2)
    held[0] = a
    sole = _probe_refs(a)
    also = [a]
    if _probe_refs(a) != sole + 1 or not also:
        return None
    return sole


_SOLE_REFS = _calibrate_sole_refs()


def _sole_owner(a) -> bool:
    """Whether NumPy array ``a``, just stored as a cotangent, is held by nothing but the
    sweep (its dict entry and the caller's variable): a new array a rule made, not a view,
    not a residual, not a cotangent it passed on. The sweep may then add later
    contributions into it in place."""
    return (
        _SOLE_REFS is not None
        and a.base is None
        and sys.getrefcount(a) <= _SOLE_REFS
        and a.flags.writeable
    )


def _accumulate(cts, owned, p, k, gs, i, node) -> None:
    """Add cotangent ``gs[i]`` (for argument ``i`` of ``node``; the list lets go of it) into
    the slot of its argument node ``p`` (output ``k`` of it when ``p`` has several, else
    ``k`` is None).

    ``owned`` maps a node to the array in its slot that this sweep allocated and alone
    holds: only that array is added to in place (a rule may return an array it also gave
    another argument, a view, a residual or the caller's cotangent). Ownership is by
    object -- an entry counts only while ``owned[p] is cts[p]`` -- so a slot replaced
    anywhere, or an array freed and its id reused, is never taken for ours.
    """
    g = gs[i]
    gs[i] = None  # held here alone (and by the slot below): see _sole_owner
    shape, dtype = (p.shape, p.dtype) if k is None else (p.shape[k], p.dtype[k])
    if getattr(g, "shape", None) != shape or getattr(g, "dtype", None) != dtype:
        g = fit_for_rule(g, shape, dtype, lambda: _gave(node, i))
    if k is not None:  # one output of several: its own entry of the slot
        slot = cts.get(p)
        if slot is None:
            slot = cts[p] = [None] * len(p.shape)
        slot[k] = g if slot[k] is None else basic.add(slot[k], g)
        return
    prev = cts.get(p)
    if prev is None:
        cts[p] = g
        if type(g) is _ndarray and g.ndim and _sole_owner(g):
            owned[p] = g  # a new array only the sweep holds
    elif type(g) in _PLAIN and owned.get(p) is prev:
        _np.add(prev, g, out=prev)  # our own sum so far: add in place
    elif type(prev) is _f64 and type(g) is _f64:
        cts[p] = prev + g
    else:
        total = cts[p] = basic.add(prev, g)
        if type(total) is _ndarray and total.ndim:
            owned[p] = total  # NumPy's new array: ours alone
        else:
            owned.pop(p, None)


def _gave(node, i) -> str:
    if node.prim is None:
        return "the cotangent given for an output"
    return f"the cotangent the reverse rule of primitive {node.prim.name!r} gave argument {i}"


def _seed(outputs, out_cts) -> dict:
    """The outputs' cotangents, fitted to their values, in their nodes' slots."""
    cts: dict = {}
    owned: dict = {}
    for t, ct in zip(outputs, out_cts):
        if ct is not None:
            _accumulate(cts, owned, t.node, t.idx, [ct], 0, t.node)
    return cts


def backward(outputs, out_cts, *, free: bool = False) -> dict:
    """Sweep cotangents from ``outputs`` back to the inputs.

    ``outputs`` are ReverseTracers, ``out_cts`` their cotangents (None entries are zeros).
    Returns ``{input_node: cotangent}`` for every input node reached with a nonzero
    cotangent. With ``free=True`` residuals are released as the sweep goes (the tape can
    then not be swept again).
    """
    cts = _seed(outputs, out_cts)
    roots = list(cts)
    if roots and _scalar.sweepable(outputs, roots):
        _scalar.sweep(outputs[0]._trace.tape, cts, basic.add, free)
        return {n: ct for n, ct in cts.items() if n.prim is None}
    hooks = _tape.HOOKS
    results: dict = {}
    owned: dict = {}
    for node in consumers_first(roots, recorded=True):
        ct = cts.pop(node, None)
        if ct is None:
            continue
        if owned:
            owned.pop(node, None)
        if hooks is not None:
            hooks.adjoint(node, ct)
        parents = node.parents
        if parents is None:  # an input
            results[node] = ct
            continue
        pidx = node.pidx
        gs = node_cotangents(node, ct)
        for i, p in enumerate(parents):
            if p is not None and gs[i] is not None:
                _accumulate(cts, owned, p, None if pidx is None else pidx[i], gs, i, node)
        if free:
            node.args = node.ans = node.parents = None
    return results


def backward_scalar(y, ct, *, free: bool = False) -> dict:
    """:func:`backward` for one float64 scalar output ``y`` of this thread's tape and a
    float64 scalar cotangent ``ct`` (what ``grad`` of scalar code sweeps)."""
    tr = y._trace
    if _tape.HOOKS is None and not tr.mixed and type(y.node) in _scalar.SCALAR_NODES:
        return _scalar.sweep(tr.tape, {y.node: ct}, basic.add, free)
    return backward([y], [ct], free=free)
