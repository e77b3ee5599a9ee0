"""Reverse mode, the backward sweep: cotangents from the outputs back to the inputs.

:func:`backward` is iterative. Every node carries a sequence number in recording order,
and every consumer of a node was recorded after it, so nodes are processed in reverse
recording order (a heap of the nodes that have received a cotangent): when a node comes
up, all its contributions are in. Each node is visited at most once, however many paths
share it; no recursion is involved, so chains of millions of operations are fine. Nodes
that cannot reach the outputs are never visited.

A tape of scalar nodes only is swept in reverse recording order straight from its list
(:func:`_sweep_scalar_tape`): the same order, so every sum is added in the same order as
on the general path; tests/test_scalar_path.py checks they agree bit for bit.

Cotangents are added as they arrive and dropped once their node is processed; with
``free=True`` (``grad``), a node's residuals are released right after its rules ran.
Cotangents are computed with adgraph's own operations, so an enclosing transformation
differentiates the sweep itself.
"""

from __future__ import annotations

import sys
from heapq import heapify, heappop, heappush

import numpy as _np

from ..core import basic
from ..core.primitive import _PLAIN
from . import reverse as _reverse
from .common import fit_to
from .tape import MINUS_ONE, ONE, SCALAR_NODES, ScalarNode1, ScalarNode2

__all__ = ["backward", "backward_scalar", "toposort_nodes"]

_ndarray = _np.ndarray
_f64 = _np.float64
_F64 = _np.dtype(_np.float64)


def toposort_nodes(roots) -> tuple[list, dict]:
    """Nodes reachable from ``roots`` and, for each, its number of consumer edges."""
    pending: dict = {}
    seen = set(roots)
    stack = list(roots)
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        ps = n.parents
        if ps is None:
            continue
        for pn in ps:
            if pn is None:
                continue
            pending[pn] = pending.get(pn, 0) + 1
            if pn not in seen:
                seen.add(pn)
                stack.append(pn)
    return order, pending


def _node_vjp(node, ct):
    """Cotangents of a node's arguments given the cotangent of its output(s)."""
    prim = node.prim
    rule = prim.vjp
    if rule is None:
        raise prim.missing("reverse-mode (VJP)")
    args = node.args
    parents = node.parents
    ans = node.ans
    if prim.multiple_results:
        ct = [
            basic.zeros(s, d, a) if c is None else c
            for c, s, d, a in zip(ct, node.shape, node.dtype, ans)
        ]
    if type(rule) is not tuple:
        wanted = tuple(p is not None for p in parents)
        return rule(ct, ans, args, node.params, wanted)
    params = node.params
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


def _fit_cotangent(g, shape, dtype, prim, i):
    """``fit_to`` with an error that names the rule when a cotangent cannot be fitted."""
    try:
        return fit_to(g, shape, dtype)
    except ValueError as e:
        raise ValueError(
            f"the reverse rule of primitive {prim.name!r} returned a cotangent of shape "
            f"{tuple(getattr(g, 'shape', ()))} for argument {i} of shape {tuple(shape)}"
        ) from e


def _accumulate_general(node, gs, cts, add, owned):
    """Add the cotangents ``gs`` of a node's arguments into their nodes' slots (parents
    with several outputs included). A slot replaced by a new sum is no longer the array
    ``owned`` recorded for it: the entry is dropped (the identity test in
    :func:`backward` would refuse it anyway; dropping it frees the old array now)."""
    pidx = node.pidx
    if len(gs) != len(node.parents):
        raise ValueError(
            f"the reverse rule of primitive {node.prim.name!r} returned {len(gs)} cotangents "
            f"for {len(node.parents)} arguments"
        )
    for i, p in enumerate(node.parents):
        if p is None:
            continue
        g = gs[i]
        if g is None:
            continue
        k = None if pidx is None else pidx[i]
        if k is None:
            g = _fit_cotangent(g, p.shape, p.dtype, node.prim, i)
            prev = cts.get(p)
            if prev is None:
                cts[p] = g
            else:
                cts[p] = add(prev, g)
                if owned:
                    owned.pop(p, None)
        else:
            g = _fit_cotangent(g, p.shape[k], p.dtype[k], node.prim, i)
            slot = cts.get(p)
            if slot is None:
                slot = cts[p] = [None] * len(p.shape)
            slot[k] = g if slot[k] is None else add(slot[k], g)


def _scalar_cotangents(node, ct) -> list:
    """The cotangents for a scalar node's ``parents`` (see :class:`ScalarNode`): its
    partials times ``ct`` (``ONE`` passes ``ct`` on, ``MINUS_ONE`` negates it: what the
    rules of add and subtract do), else its rules (``scalar_vjp`` for a float64 ``ct``).
    ``ct`` may be anything a rule accepts (an outer transformation's tracer too): the same
    operations as the rules', on the same operands."""
    ds = node.partials
    if ds is not None:
        return [ct if d is ONE else -ct if d is MINUS_ONE else ct * d for d in ds]
    prim = node.prim
    rule = prim.scalar_vjp if type(ct) is _f64 and prim.scalar_vjp else prim.vjp
    if type(rule) is not tuple:
        return _node_vjp(node, ct)
    parents = node.parents
    if len(rule) < len(parents):
        raise prim.missing(f"reverse-mode (VJP) for argument {len(rule)}")
    args, ans, params = node.args, node.ans, node.params
    gs = []
    for i, p in enumerate(parents):
        r = rule[i]
        if p is None:
            gs.append(None)
        elif r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        else:
            gs.append(r(ct, ans, *args, **params))
    return gs


def _sweep_scalar_tape(tape, cts, free):
    """The backward sweep of a tape of scalar nodes only, in reverse recording order (the
    order the general sweep follows too, so sums are added in the same order); ``cts``
    holds the outputs' cotangents on entry and the inputs' on return. With ``free`` the
    tape is emptied afterwards (its nodes' residuals are a few scalars each)."""
    pop = cts.pop
    get = cts.get
    add = basic.add
    for node in reversed(tape):
        ct = pop(node, None)
        if ct is None:
            continue
        # The two short node layouts, written out: this loop is the whole backward cost
        # of scalar code. ct * d is float64 (d: a NumPy or Python real scalar), and
        # ct * 1.0 == ct, ct * -1.0 == -ct exactly, as the general rules of add and
        # subtract give.
        if type(node) is ScalarNode1 and type(ct) is _f64:
            g = ct * node.partial
            if type(g) is not _f64:
                g = _fit_cotangent(g, (), _F64, node.prim, 0)
            p = node.parent
            prev = get(p)
            if prev is None:
                cts[p] = g
            elif type(prev) is _f64:
                cts[p] = prev + g
            else:
                cts[p] = add(prev, g)
            continue
        if type(node) is ScalarNode2 and type(ct) is _f64:
            for p, d in ((node.parent0, node.partial0), (node.parent1, node.partial1)):
                g = ct * d
                if type(g) is not _f64:
                    g = _fit_cotangent(g, (), _F64, node.prim, 0)
                prev = get(p)
                if prev is None:
                    cts[p] = g
                elif type(prev) is _f64:
                    cts[p] = prev + g
                else:
                    cts[p] = add(prev, g)
            continue
        gs = _scalar_cotangents(node, ct)
        i = -1
        for p in node.parents:
            i += 1
            if p is None:
                continue
            g = gs[i]
            if g is None:
                continue
            if type(g) is not _f64:
                g = _fit_cotangent(g, (), _F64, node.prim, i)
            prev = get(p)
            if prev is None:
                cts[p] = g
            elif type(prev) is _f64 and type(g) is _f64:
                cts[p] = prev + g
            else:
                cts[p] = add(prev, g)
    if free:
        tape.clear()
    return cts


def _pure_scalar_tape(outputs, roots) -> bool:
    """Whether the outputs are on one tape that holds scalar nodes only."""
    tr = outputs[0]._trace
    if type(tr) is not _reverse.ReverseTrace or tr.mixed:
        return False
    for t in outputs:
        if t._trace is not tr:
            return False
    for n in roots:
        if type(n) not in SCALAR_NODES and n.prim is not None:
            return False
    return True


def backward_scalar(y, ct, *, free: bool = False) -> dict:
    """:func:`backward` for one float64 scalar output ``y`` of this thread's tape and a
    float64 scalar cotangent ``ct`` (what ``grad`` of scalar code sweeps)."""
    tr = y._trace
    if _reverse.HOOKS is None and not tr.mixed and type(y.node) in SCALAR_NODES:
        cts = _sweep_scalar_tape(tr.tape, {y.node: ct}, free)
        return cts  # what is left: the inputs' cotangents
    return backward([y], [ct], free=free)


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


def backward(outputs, out_cts, *, free: bool = False) -> dict:
    """Sweep cotangents from ``outputs`` back to the inputs.

    ``outputs`` are ReverseTracers, ``out_cts`` their cotangents (None entries are zeros).
    Returns ``{input_node: cotangent}`` for every input node reached with a nonzero
    cotangent. With ``free=True`` residuals are released as the sweep goes (the tape can
    then not be swept again).

    Nodes are processed in reverse recording order (a heap on their sequence numbers):
    every consumer of a node was recorded after it, so when a node comes up, all its
    cotangent contributions are in, and they were summed in a fixed order. Only nodes that
    receive a cotangent are visited; no recursion, so chains of millions of operations
    are fine.
    """
    cts: dict = {}
    roots = []
    for t, ct in zip(outputs, out_cts):
        if ct is None:
            continue
        node = t.node
        if type(ct) is not _f64 or type(t.value) is not _f64:
            ct = fit_to(ct, t.value.shape, t.value.dtype)
        if t.idx is None:
            prev = cts.get(node)
            cts[node] = ct if prev is None else basic.add(prev, ct)
        else:
            slot = cts.get(node)
            if slot is None:
                slot = cts[node] = [None] * len(node.shape)
            slot[t.idx] = ct if slot[t.idx] is None else basic.add(slot[t.idx], ct)
        if node not in roots:
            roots.append(node)
    hooks = _reverse.HOOKS
    if roots and hooks is None and _pure_scalar_tape(outputs, roots):
        _sweep_scalar_tape(outputs[0]._trace.tape, cts, free)
        return {n: ct for n, ct in cts.items() if n.prim is None}
    ready = [(-n.seq, n) for n in roots]
    heapify(ready)
    results: dict = {}
    add = basic.add
    # node -> the array in its cotangent slot that this sweep allocated and alone holds:
    # only that array is added to in place (a rule may return an array it also gave
    # another argument, a view, a residual or the caller's cotangent). Ownership is by
    # object: an entry counts only while ``owned[p] is cts[p]``, so a slot replaced
    # anywhere (or an array freed and its id reused by another) is never taken for ours.
    owned: dict = {}
    while ready:
        node = heappop(ready)[1]
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
        prim = node.prim
        rule = prim.vjp
        if type(node) in SCALAR_NODES:
            gs = _scalar_cotangents(node, ct)
            i = -1
            for p in parents:
                i += 1
                if p is None:
                    continue
                g = gs[i]
                if g is None:
                    continue
                if type(g) is not _f64:
                    g = _fit_cotangent(g, (), _F64, prim, i)
                prev = cts.get(p)
                if prev is None:
                    cts[p] = g
                    heappush(ready, (-p.seq, p))
                elif type(prev) is _f64 and type(g) is _f64:
                    cts[p] = prev + g
                else:
                    cts[p] = add(prev, g)
                    if owned:  # (a 0-d slot is never owned; kept exact all the same)
                        owned.pop(p, None)
        elif type(rule) is tuple and node.pidx is None and not prim.multiple_results:
            # The common case, in one loop: each parent's cotangent, accumulated.
            args, ans, params = node.args, node.ans, node.params
            nrule = len(rule)
            i = -1
            for p in parents:
                i += 1
                if p is None:
                    continue
                r = rule[i] if i < nrule else None
                if r is None:
                    raise prim.missing(f"reverse-mode (VJP) for argument {i}")
                g = r(ct, ans, *args, **params)
                if g is None:
                    continue
                if getattr(g, "shape", None) != p.shape or getattr(g, "dtype", None) != p.dtype:
                    g = _fit_cotangent(g, p.shape, p.dtype, prim, i)
                prev = cts.get(p)
                if prev is None:
                    cts[p] = g
                    heappush(ready, (-p.seq, p))
                    if type(g) is _ndarray and g.ndim and _sole_owner(g):
                        owned[p] = g  # a new array only the sweep holds
                elif type(g) in _PLAIN and owned.get(p) is prev:
                    _np.add(prev, g, out=prev)  # our own sum so far: add in place
                else:
                    total = add(prev, g)
                    if type(total) is _ndarray and total.ndim:
                        owned[p] = total  # NumPy's new array: ours alone
                    elif owned:
                        owned.pop(p, None)
                    cts[p] = total
        else:
            fresh = [p for p in parents if p is not None and p not in cts]
            _accumulate_general(node, _node_vjp(node, ct), cts, add, owned)
            for p in fresh:
                if p in cts:
                    heappush(ready, (-p.seq, p))
        if free:
            node.args = node.ans = node.parents = None
    return results
