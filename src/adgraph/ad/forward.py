"""Forward mode: Jacobian-vector products by propagating tangents alongside primals.

A :class:`JVPTracer` carries a primal and its tangent. The tangent may itself be batched by
an enclosing ``vmap`` level -- that is how ``jacfwd`` pushes all n basis tangents through the
function in one vectorised pass. A missing tangent (``None``) is a symbolic zero: constants
never allocate a zero array, and an output whose tangent is zero is returned untraced.
"""

from __future__ import annotations

from operator import attrgetter

import numpy as _np

from ..core import basic
from ..core.primitive import _PLAIN
from ..core.trace import Trace, Tracer
from .common import fit_for_rule, tangent_rule

__all__ = ["JVPTrace", "JVPTracer", "apply_tangent_rule", "sum_of_terms", "unwrap"]


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")
    shape = property(attrgetter("primal.shape"))
    dtype = property(attrgetter("primal.dtype"))

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    def _inner(self):
        return self.primal


def apply_tangent_rule(prim, ans, primals, tangents, params):
    """The output tangent of ``prim`` from its input tangents (None entries are zeros)."""
    if prim.joint_tangent is not None:
        return prim.joint_tangent(ans, primals, tangents, params)
    if prim.tangent is None:
        raise prim.missing("forward-mode (JVP)")
    return sum_of_terms(prim.tangent, ans, primals, tangents, params, prim)


def sum_of_terms(rule, ans, primals, tangents, params, prim=None):
    """The output tangent from per-argument rules ``rule``: each argument's term
    ``rule[i](t_i, ans, *primals, **params)``, summed (a rule giving None: no term). A
    traced argument without a rule is refused (:func:`tangent_rule`) when ``prim`` is
    given; without it (a caller's own table of rules) it contributes no term."""
    out = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        if prim is not None:
            r = tangent_rule(prim, rule, i)
        else:
            r = rule[i] if i < len(rule) else None
            if r is None:
                continue
        c = r(t, ans, *primals, **params)
        if c is not None:
            out = c if out is None else basic.add(out, c)
    return out


def _forward_rule() -> str:
    return "the tangent a forward rule produced"


def unwrap(trace, args):
    """``(primals, tangents, any traced, all plain)`` of ``args`` for the forward-mode
    ``trace``: tangents are None for arguments it does not trace; plain means no tracer of
    a lower level among the primals."""
    primals = []
    tangents = []
    any_t = False
    plain = True
    for a in args:
        if type(a) is JVPTracer and a._trace is trace:
            p = a.primal
            tangents.append(a.tangent)
            any_t = True
        else:
            p = a
            tangents.append(None)
        if plain and type(p) not in _PLAIN:
            plain = False
        primals.append(p)
    return primals, tangents, any_t, plain


class JVPTrace(Trace):
    __slots__ = ()

    def process(self, prim, args, params):
        primals, tangents, any_t, plain = unwrap(self, args)
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
        t = fit_for_rule(t, ans.shape, dtype, _forward_rule)
        return JVPTracer(self, ans, t)
