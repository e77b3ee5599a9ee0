"""Primitives: the operations every transformation understands, and their registry.

A :class:`Primitive` bundles, in one declaration,

* ``impl(xp, *args, **params)`` — the computation, given the array module ``xp`` of its
  inputs (numpy, cupy or dask.array);
* forward mode — either ``tangent(ans, primals, tangents, params)`` giving the output tangent
  from the input tangents (``None`` stands for a symbolic zero), or a whole
  ``jvp_rule(primals, tangents, params) -> (ans, t_ans)`` for primitives that must compute
  their primal output themselves (``custom_jvp``);
* reverse mode — ``vjp``: a tuple with one rule per positional argument,
  ``rule(ct, ans, *args, **params)``, the cotangent of that argument (``None`` for a zero);
* batching — ``batch(vals, batched, size, **params)`` for ``vmap``; primitives without one
  are batched by a loop over the batch (correct, slower).

Rules are written with adgraph's own operations, so applying them under an outer
transformation differentiates them again: higher orders come for free.

Binding a primitive costs one scan of its arguments when nothing is traced, then the
implementation: that is the fast path every NumPy-level call takes.
"""

from __future__ import annotations

import numpy as _np

from .trace import Tracer, find_top_trace
from .xp import as_plain_arrays, get_xp

__all__ = ["Primitive", "registry", "MissingRuleError", "PLAIN_TYPES"]

registry: dict[str, Primitive] = {}

# Types that are computed by NumPy and are never traced (the fast path of ``bind``).
_PLAIN = frozenset(
    [_np.ndarray, float, int, bool, complex, type(None)]
    + [t for t in set(_np.sctypeDict.values()) if issubclass(t, _np.generic)]
)
PLAIN_TYPES = _PLAIN


class MissingRuleError(NotImplementedError):
    """A transformation met a primitive that has no rule for it."""


class Primitive:
    __slots__ = (
        "name",
        "impl",
        "tangent",
        "jvp_rule",
        "vjp",
        "reverse",
        "batch",
        "multiple_results",
        "nondiff",
        "needs",
        "plans",
        "doc",
        "simple",
        "scalar_vjp",
        "partials",
        "scalar_eval",
        "tangent_elementwise",
        "batched_tangent",
    )

    def __init__(
        self,
        name: str,
        impl,
        *,
        tangent=None,
        jvp_rule=None,
        vjp=None,
        reverse=None,
        batch=None,
        multiple_results: bool = False,
        nondiff: bool = False,
        needs=None,
        doc: str = "",
    ) -> None:
        if name in registry:
            raise ValueError(f"primitive {name!r} is declared twice")
        self.name = name
        self.impl = impl
        self.tangent = tangent
        self.jvp_rule = jvp_rule
        self.vjp = vjp
        # ``reverse``: optional whole reverse-mode handler for primitives whose residuals are
        # not simply (args, ans) -- custom_vjp and checkpoint. Called as
        # reverse(trace, vals, parents, params, pidx) -> output tracers.
        self.reverse = reverse
        self.batch = batch
        self.multiple_results = multiple_results
        # Non-differentiable results (comparisons, argmax, floor...) are never traced.
        self.nondiff = nondiff
        # ``needs``: for each argument i, the set of residuals its VJP rule reads -- argument
        # indices and/or "ans". Reverse mode then keeps only those alive (others become
        # shape/dtype stand-ins). None: every argument and the result are kept.
        self.needs = needs
        self.plans = {}  # cache of what reverse mode keeps, per traced-argument pattern
        self.doc = doc
        # One output, differentiable, no whole-rule handler: the traces' short paths apply.
        self.simple = not (multiple_results or nondiff or reverse is not None)
        # Optional reverse rules (as ``vjp``) for float64-scalar cotangents and values only:
        # plain float arithmetic giving results identical to ``vjp``'s (see ad.sweep).
        self.scalar_vjp = None
        # For elementwise primitives declared by their partial derivatives (ad.rules):
        # ``d_i(ans, *args, **params)``, the factors their reverse rules multiply by.
        self.partials = None
        # Optional ``f(x) -> (ans, partial)`` for one float64 scalar (unary primitives
        # without parameters): the implementation and the partial in one call, exactly as
        # ``impl`` and ``partials`` compute them.
        self.scalar_eval = None
        # True when the tangent rules (a tuple) are elementwise in the tangent: they combine
        # ``t`` with the primals by elementwise operations only and never read its shape,
        # and the primitive is batched elementwise. A tangent with extra leading axes (a
        # batch of directions) then flows through them unchanged. Set by
        # ``ad.rules.elementwise`` for rules built from partials; whoever writes or replaces
        # such a primitive's tangent rules by hand says so here.
        self.tangent_elementwise = False
        # Optional ``rule(n, ans, primals, tangents, params)`` for a batch of n tangents
        # (ad.batched_jvp): tangents entries are None (a zero), arrays shaped
        # ``(n, *primal.shape)`` or ``ad.batched_jvp.Diagonal`` objects; it returns the
        # batched output tangent (None for a zero), or NotImplemented for what it does not
        # cover (diagonals are then expanded and it is asked again; after that the
        # primitive's own tangent rule runs under a batching level).
        self.batched_tangent = None
        registry[name] = self

    def bind(self, *args, **params):
        # Fast path: NumPy arrays and scalars only -- one set lookup per argument.
        for a in args:
            if type(a) not in _PLAIN:
                return self.bind_traced(args, params)
        return self.impl(_np, *args, **params)

    def bind_traced(self, args, params):
        """Bind when some argument may be a tracer or a non-NumPy array: the trace of the
        highest level among the tracers handles it; with none, the array module of the
        arguments computes it."""
        if len(args) == 1:  # one argument: its own trace, if any
            a = args[0]
            if isinstance(a, Tracer):
                t = a._trace
                if t.alive:
                    return t.process(self, args, params)
                find_top_trace(args)  # raises the escaped-tracer error
            args = as_plain_arrays(args)
            return self.impl(get_xp(args), *args, **params)
        top = None
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if top is None or t.level > top.level:
                    top = t
        if top is None:
            args = as_plain_arrays(args)
            return self.impl(get_xp(args), *args, **params)
        if not top.alive:
            find_top_trace(args)  # raises the escaped-tracer error
        return top.process(self, args, params)

    __call__ = bind

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def missing(self, what: str) -> MissingRuleError:
        return MissingRuleError(
            f"primitive {self.name!r} has no {what} rule; define the derivative yourself with "
            "adgraph.custom_vjp / adgraph.custom_jvp around the code that uses it"
        )
