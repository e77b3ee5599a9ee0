"""Forward mode with a batch of tangents: n JVPs sharing one primal computation.

``jacfwd`` (and so ``hessian``, forward-over-reverse) needs the JVP of a function along
every direction of a basis. A :class:`BatchedJVPTrace` carries all n of them at once: each
:class:`~adgraph.ad.forward.JVPTracer` of this trace holds its primal once and a tangent
with a leading axis of length n, shape ``(n, *primal.shape)``. Each primitive computes its
primal once; its tangent is found in one of three ways, fastest first:

* primitives whose tangent rules are elementwise in the tangent (``Primitive.
  tangent_elementwise``, set by ``ad.rules.elementwise``): the rules are applied to the
  batched tangents directly, each tangent given unit axes after its batch axis so that
  broadcasting lines up the logical axes (the primals then broadcast against it from the
  right);
* primitives with their own rule for a batch of tangents (``Primitive.batched_tangent``:
  those declared with ``ad.rules.linear`` apply their batching rule to the batched tangent;
  matmul, getitem and scatter_add declare theirs beside them);
* everything else: the primitive's own tangent rule, run on the tangents wrapped as
  tracers of a batching (``vmap``) trace -- exactly what ``vmap`` of ``jvp`` computes.

Symbolic zeros (``None``) are kept as in :mod:`adgraph.ad.forward`. The invariant of this
trace: a tangent stored on a tracer always has shape ``(n, *primal.shape)`` and the
primal's dtype.
"""

from __future__ import annotations

import numpy as _np

from ..core import basic
from ..core.trace import Trace
from .batching import BatchTrace, BatchTracer
from .common import fit_to, tangent_rule
from .forward import JVPTracer, unwrap

__all__ = ["BatchedJVPTrace"]

# How a primitive's batched tangent is computed (see the module docstring); a primitive's
# own ``batched_tangent`` rule stands for itself.
_ELEMENTWISE, _GENERAL, _JVP_RULE = "elementwise", "general", "jvp_rule"

_kinds: dict = {}


class Diagonal:
    """A batched tangent that is diagonal: row k is ``e_k * v`` (``e_k`` the k-th basis
    element, shaped like ``v``). Elementwise operations keep it diagonal in O(size) work
    instead of O(size^2); it is expanded (:meth:`BatchedJVPTrace.dense`) where needed."""

    __slots__ = ("v", "expanded")

    def __init__(self, v):
        self.v = v
        self.expanded = None  # the dense form, once made (tangents are never written to)


def _classify(prim):
    """The way ``prim``'s batched tangent is computed, from its declaration."""
    if prim.batched_tangent is not None:
        kind = prim.batched_tangent
    elif prim.jvp_rule is not None:
        kind = _JVP_RULE
    elif prim.tangent_elementwise and prim.tangent:
        kind = _ELEMENTWISE
    else:
        kind = _GENERAL
    _kinds[prim] = kind
    return kind


class BatchedJVPTrace(Trace):
    """A JVP level whose tangents carry a leading batch axis of length ``size``."""

    __slots__ = ("size", "batch_trace", "eye")

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        # The level that runs general tangent rules on batched tangents (as vmap would).
        # Its tracers never leave :meth:`process`; it is not on the thread's stack.
        self.batch_trace = BatchTrace(size)
        self.eye = None  # {dtype: basis (n, *shape)} once diagonal tangents are in use

    def diagonal_input(self, primal):
        """A tracer for ``primal`` seeded with the identity basis, kept as a diagonal
        tangent (the only input of this trace, of ``size`` elements)."""
        self.eye = {None: primal}  # the basis is made when first needed
        return JVPTracer(self, primal, Diagonal(_np.ones(primal.shape, primal.dtype)))

    def close(self) -> None:
        self.alive = False
        self.batch_trace.alive = False

    def process(self, prim, args, params):
        primals, tangents, any_t, plain = unwrap(self, args)
        if prim.nondiff or not any_t:
            return prim.bind(*primals, **params)
        kind = _kinds.get(prim)
        if kind is None:
            kind = _classify(prim)
        diag = self.eye is not None and Diagonal in map(type, tangents)
        if kind is _JVP_RULE:
            if diag:
                tangents = [self.dense(t) if type(t) is Diagonal else t for t in tangents]
            return self._jvp_rule(prim, primals, tangents, params)
        ans = prim.impl(_np, *primals, **params) if plain else prim.bind(*primals, **params)
        if not diag and kind is _ELEMENTWISE and type(ans) is _np.ndarray:
            # The common case: dense tangents through elementwise rules, wrapped directly.
            t = self._elementwise(prim, ans, primals, tangents, params)
            shape = (self.size,) + ans.shape
            if type(t) is _np.ndarray and t.dtype == ans.dtype and t.shape == shape:
                if ans.dtype.kind in "fc":
                    return JVPTracer(self, ans, t)
            return self.wrap(ans, t)
        return self._other_cases(prim, kind, diag, ans, primals, tangents, params)

    def _other_cases(self, prim, kind, diag, ans, primals, tangents, params):
        """The batched tangent of ``ans`` where the common case does not apply: diagonal
        tangents, declared batched rules, and the primitive's own rule under batching."""
        if diag:
            if kind is _ELEMENTWISE:
                t = self._diagonal(prim, ans, primals, tangents, params)
            elif kind is not _GENERAL:
                t = kind(self.size, ans, primals, tangents, params)
            else:
                t = NotImplemented
            if t is not NotImplemented:
                return self.wrap(ans, t)
            tangents = [self.dense(t) if type(t) is Diagonal else t for t in tangents]
        if kind is _ELEMENTWISE:
            rule = prim.tangent
            if len(primals) == 1:
                # One operand: its tangent is already shaped (n, *ans.shape).
                r = tangent_rule(prim, rule, 0) if tangents[0] is not None else None
                t = r(tangents[0], ans, *primals, **params) if r is not None else None
                if t is not None and t.ndim <= ans.ndim:
                    t = self._spread(t, tuple(ans.shape))
            else:
                t = self._elementwise(prim, ans, primals, tangents, params)
        elif (
            kind is not _GENERAL
            and (t := kind(self.size, ans, primals, tangents, params)) is not NotImplemented
        ):
            pass
        else:
            t = self._general(prim, ans, primals, tangents, params)
            if prim.multiple_results:
                if t is None:
                    return ans
                return tuple(self.wrap(a, self._unbatch(ti)) for a, ti in zip(ans, t))
            t = self._unbatch(t)
        return self.wrap(ans, t)

    # ---------------------------------------------------------------- the three ways
    def _elementwise(self, prim, ans, primals, tangents, params):
        # Each argument's term, its batched tangent lined up with the answer's axes (unit
        # axes after the batch axis: the logical axes line up from the right).
        rank = len(ans.shape)
        out = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            r = tangent_rule(prim, prim.tangent, i)
            s = t.shape
            if len(s) <= rank:
                t = basic.reshape(t, (s[0],) + (1,) * (rank + 1 - len(s)) + tuple(s[1:]))
            c = r(t, ans, *primals, **params)
            if c is not None:
                out = c if out is None else basic.add(out, c)
        if out is not None and len(getattr(out, "shape", ())) <= rank:
            out = self._spread(out, tuple(ans.shape))  # the same for every direction
        return out

    def _general(self, prim, ans, primals, tangents, params):
        """The primitive's own tangent rule on tangents wrapped for the batching level."""
        from .forward import apply_tangent_rule

        bt = self.batch_trace
        wrapped = [None if t is None else BatchTracer(bt, t) for t in tangents]
        return apply_tangent_rule(prim, ans, primals, wrapped, params)

    def _jvp_rule(self, prim, primals, tangents, params):
        bt = self.batch_trace
        wrapped = [None if t is None else BatchTracer(bt, t) for t in tangents]
        ans, t = prim.jvp_rule(primals, wrapped, params)
        if prim.multiple_results:
            ans = tuple(self._primal(a) for a in ans)
            if t is None:
                return ans
            return tuple(self.wrap(a, self._unbatch(ti)) for a, ti in zip(ans, t))
        return self.wrap(self._primal(ans), self._unbatch(t))

    def _primal(self, a):
        # A primal computed from unbatched primals is the same in every row of the batch.
        if type(a) is BatchTracer and a._trace is self.batch_trace:
            if self.size == 0:
                raise ValueError(
                    "jacfwd/hessian: the input has no entries, so there is no direction to "
                    "push, and a primitive under jit computed its value from the empty batch "
                    "of tangents; differentiate outside jit (jacfwd(f), not jacfwd(jit(f))) "
                    "or give an input with at least one entry"
                )
            return basic.getitem(a.val, 0)
        return a

    def _unbatch(self, t):
        """A tangent from the batching level as a value with the batch axis first; an
        unbatched one (the same for every direction) is marked by wrapping it in a
        tuple, for :meth:`wrap` to broadcast."""
        if t is None:
            return None
        if type(t) is BatchTracer and t._trace is self.batch_trace:
            return t.val
        return (t,)

    # ---------------------------------------------------------------- diagonal tangents
    def _diagonal(self, prim, ans, primals, tangents, params):
        """The batched tangent of an elementwise primitive when some tangents are diagonal:
        diagonal again where the result keeps the input's shape; NotImplemented where the
        diagonals must be expanded."""
        if len(primals) == 1:
            # Elementwise and linear in t: (e_k v) -> e_k r(v), still diagonal.
            r = tangent_rule(prim, prim.tangent, 0)
            c = r(tangents[0].v, ans, *primals, **params)
            return None if c is None else Diagonal(c)
        for t, p in zip(tangents, primals):
            if type(t) is Diagonal:
                if tuple(ans.shape) != tuple(p.shape):
                    return NotImplemented  # broadcast to a larger shape: expand
                break
        rule = prim.tangent
        d = None
        rest = []
        for i, ti in enumerate(tangents):
            if type(ti) is Diagonal:
                rest.append(None)
                r = tangent_rule(prim, rule, i)
                # Elementwise and linear in t: (e_k v) -> e_k r(v), still diagonal.
                c = r(ti.v, ans, *primals, **params)
                if c is not None:
                    d = c if d is None else basic.add(d, c)
            else:
                rest.append(ti)
        dense = self._elementwise(prim, ans, primals, rest, params)
        if d is None:
            return dense
        dtype = ans.dtype
        if dtype.kind not in "fc":
            return None
        d = fit_to(d, tuple(ans.shape), dtype)
        if dense is None:
            return Diagonal(d)
        return self._plus_diagonal(dense, d, tuple(ans.shape), dtype)

    def dense(self, d):
        """A diagonal tangent expanded to ``(n, *shape)``: the basis times ``d.v``."""
        if d.expanded is not None:
            return d.expanded
        d.expanded = out = self._expand(d.v)
        return out

    def _expand(self, v):
        dtype = v.dtype
        eye = self.eye.get(dtype)
        if eye is None:
            shape = self.eye[None].shape
            eye = _np.eye(self.size, dtype=dtype).reshape((self.size,) + shape)
            self.eye[dtype] = eye
        if type(v) is _np.ndarray:
            return _np.multiply(eye, v)
        return basic.mul(eye, v)

    def _plus_diagonal(self, t, v, shape, dtype):
        """Dense tangent ``t`` plus the diagonal tangent of values ``v``."""
        n = self.size
        t = self._fit(t, shape, dtype)
        if type(t) is _np.ndarray and type(v) is _np.ndarray and _np.isfinite(v).all():
            # A C-ordered copy (t may be another tracer's tangent), so the flat view of
            # its diagonal writes into it.
            out = _np.array(t, order="C", copy=True)
            diagonal = out.reshape(-1)[:: n + 1]
            diagonal += v.reshape(-1)
            return out
        return basic.add(t, self.dense(Diagonal(v)))

    # ---------------------------------------------------------------- results
    def wrap(self, ans, t):
        if t is None:
            return ans
        dtype = getattr(ans, "dtype", None)
        if dtype is None or dtype.kind not in "fc":
            return ans
        shape = ans.shape
        if type(t) is _np.ndarray and t.dtype == dtype and t.shape == (self.size, *shape):
            return JVPTracer(self, ans, t)
        shape = tuple(shape)
        if type(t) is Diagonal:
            v = t.v
            if tuple(v.shape) != shape or v.dtype != dtype:
                t = Diagonal(fit_to(v, shape, dtype))
            return JVPTracer(self, ans, t)
        if type(t) is tuple:
            t = self._spread(fit_to(t[0], shape, dtype), shape)
        elif t.shape != (self.size,) + shape or t.dtype != dtype:
            t = self._fit(t, shape, dtype)
        return JVPTracer(self, ans, t)

    def _spread(self, t, shape):
        """An unbatched tangent (the same for every direction) given the batch axis."""
        s = tuple(getattr(t, "shape", ()))
        if len(s) < len(shape):
            s = (1,) * (len(shape) - len(s)) + s
        return basic.broadcast_to(basic.reshape(t, (1,) + s), (self.size,) + s)

    def _fit(self, t, shape, dtype):
        """Fit a batched tangent ``(n, *s)`` to ``(n, *shape)`` and ``dtype``."""
        n = self.size
        ts = tuple(t.shape)
        rank, trank = len(shape), len(ts) - 1
        if trank < 0 or ts[0] != n:
            raise ValueError(
                f"a forward rule produced a batched tangent of shape {ts} for a result of "
                f"shape {shape} and {n} directions"
            )
        if trank < rank:
            t = basic.reshape(t, (n,) + (1,) * (rank - trank) + ts[1:])
            ts = tuple(t.shape)
            trank = rank
        full = (n,) + (1,) * (trank - rank) + shape
        try:
            if any(a != b and a != 1 for a, b in zip(ts, full)):
                t = basic.sum_to_shape(t, full)  # a tangent larger than its primal
            if trank > rank:
                t = basic.reshape(t, (n,) + shape)
            if tuple(t.shape) != (n,) + shape:
                t = basic.broadcast_to(t, (n,) + shape)
        except ValueError as e:
            raise ValueError(
                f"a forward rule produced a tangent of shape {ts[1:]} for a result of shape {shape}"
            ) from e
        dt = t.dtype
        if dt != dtype:
            if dt.kind == "c" and dtype.kind != "c":
                t = basic.real(t)
            t = basic.astype(t, dtype)
        return t
