"""Forward mode: Jacobian-vector products by propagating tangents alongside primals.

A :class:`JVPTracer` carries a primal and its tangent. The tangent may itself be batched by
an enclosing ``vmap`` level -- that is how ``jacfwd`` pushes all n basis tangents through the
function in one vectorised pass. A missing tangent (``None``) is a symbolic zero: constants
never allocate a zero array, and an output whose tangent is zero is returned untraced.
"""

from __future__ import annotations

import numpy as _np

from ..core import basic
from ..core.primitive import _PLAIN
from ..core.trace import Trace, Tracer
from .common import fit_to

__all__ = ["JVPTrace", "JVPTracer", "apply_tangent_rule"]


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def shape(self):
        return self.primal.shape

    @property
    def dtype(self):
        return self.primal.dtype

    def _inner(self):
        return self.primal


def apply_tangent_rule(prim, ans, primals, tangents, params):
    """The output tangent of ``prim`` from its input tangents (None entries are zeros)."""
    if prim.joint_tangent is not None:
        return prim.joint_tangent(ans, primals, tangents, params)
    rule = prim.tangent
    if rule is None:
        raise prim.missing("forward-mode (JVP)")
    out = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        r = rule[i] if i < len(rule) else None
        if r is None:
            continue
        c = r(t, ans, *primals, **params)
        if c is not None:
            out = c if out is None else basic.add(out, c)
    return out


class JVPTrace(Trace):
    __slots__ = ()

    def process(self, prim, args, params):
        primals = []
        tangents = []
        any_t = False
        plain = True  # no tracer of a lower level among the primals
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                p = a.primal
                tangents.append(a.tangent)
                any_t = True
            else:
                p = a
                tangents.append(None)
            if plain and type(p) not in _PLAIN:
                plain = False
            primals.append(p)
        if prim.nondiff or not any_t:
            return prim.bind(*primals, **params)
        if prim.jvp_rule is not None:
            ans, t = prim.jvp_rule(primals, tangents, params)
        else:
            ans = prim.impl(_np, *primals, **params) if plain else prim.bind(*primals, **params)
            t = apply_tangent_rule(prim, ans, primals, tangents, params)
        if prim.multiple_results:
            if t is None:
                return ans
            return tuple(self.wrap(a, ti) for a, ti in zip(ans, t))
        return self.wrap(ans, t)

    def wrap(self, ans, t):
        if t is None:
            return ans
        dtype = ans.dtype
        if dtype.kind not in "fc":
            return ans
        shape = ans.shape
        if getattr(t, "shape", None) != shape or getattr(t, "dtype", None) != dtype:
            try:
                t = fit_to(t, shape, dtype)
            except ValueError as e:
                raise ValueError(
                    f"a forward rule produced a tangent of shape {tuple(getattr(t, 'shape', ()))}"
                    f" for a result of shape {tuple(shape)}"
                ) from e
        return JVPTracer(self, ans, t)
