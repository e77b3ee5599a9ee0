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

from .trace import Tracer, find_top_trace
from .xp import get_xp

__all__ = ["Primitive", "registry", "MissingRuleError"]

registry: dict[str, Primitive] = {}


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
        "doc",
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
        # reverse(trace, vals, parents, params) -> output tracers.
        self.reverse = reverse
        self.batch = batch
        self.multiple_results = multiple_results
        # Non-differentiable results (comparisons, argmax, floor...) are never traced.
        self.nondiff = nondiff
        self.doc = doc
        registry[name] = self

    def bind(self, *args, **params):
        for a in args:
            if isinstance(a, Tracer):
                return find_top_trace(args).process(self, args, params)
        return self.impl(get_xp(args), *args, **params)

    __call__ = bind

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def missing(self, what: str) -> MissingRuleError:
        return MissingRuleError(
            f"primitive {self.name!r} has no {what} rule; define the derivative yourself with "
            "adgraph.custom_vjp / adgraph.custom_jvp around the code that uses it"
        )
