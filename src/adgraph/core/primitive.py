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

from collections.abc import Callable
from typing import Any

import numpy as _np

from .trace import Tracer, find_top_trace, highest_trace
from .xp import as_plain_arrays, get_xp

__all__ = ["Primitive", "registry", "MissingRuleError", "PLAIN_TYPES"]

registry: dict[str, Primitive] = {}

# Types that are computed by NumPy and are never traced (the fast path of ``bind``).
_PLAIN = frozenset(
    [_np.ndarray, float, int, bool, complex, type(None)]
    + [t for t in set(_np.sctypeDict.values()) if issubclass(t, _np.generic)]
)
PLAIN_TYPES = _PLAIN


_SEQUENCES = frozenset((list, tuple))


def _holds_tracer(obj) -> bool:
    return isinstance(obj, Tracer) or (
        type(obj) in (list, tuple) and any(_holds_tracer(o) for o in obj)
    )


def _stacked(obj):
    if type(obj) in (list, tuple):
        from . import basic

        return basic.stack([_stacked(o) for o in obj])
    return obj


def _stack_sequences(args) -> tuple:
    """A Python list or tuple that holds traced values, given where an array belongs
    (``sum([x, 2 * y])``), is the array of its elements, as NumPy reads it: stacked
    differentiably (plain NumPy would refuse the tracers)."""
    return tuple(_stacked(a) if _holds_tracer(a) else a for a in args)


class MissingRuleError(NotImplementedError):
    """A transformation met a primitive that has no rule for it."""


class Primitive:
    """One operation every transformation understands, declared once with all its rules.

    Parameters (keyword-only after ``impl``; every rule is optional)
    ----------
    name, impl
        The registry name, and ``impl(xp, *args, **params)``: the computation on the array
        module ``xp`` of the arguments.
    tangent / joint_tangent / jvp_rule
        Forward mode, one of three kinds: ``tangent`` a tuple with one rule per argument,
        ``r(t, ans, *args, **params)`` -> that argument's contribution to the output tangent
        (None entries: not differentiable in it); ``joint_tangent`` one rule for all,
        ``r(ans, primals, tangents, params)`` (tangents: None for a zero); ``jvp_rule`` one
        rule that also computes the output, ``r(primals, tangents, params) -> (ans, t)``.
    vjp / joint_vjp / reverse
        Reverse mode, one of three kinds: ``vjp`` a tuple with one rule per argument,
        ``r(ct, ans, *args, **params)`` -> that argument's cotangent (None: zero);
        ``joint_vjp`` one rule for all, ``r(ct, ans, args, params, wanted)`` -> one
        cotangent per argument (``wanted[i]``: whether argument i is traced); ``reverse`` a
        whole reverse-mode handler for primitives whose residuals are not (args, ans)
        (custom_vjp, checkpoint): ``reverse(trace, vals, parents, params, pidx)``.
    needs
        Per argument, the residuals its reverse rule reads (argument indices and/or
        ``"ans"``): reverse mode keeps only those alive. None keeps everything.
    batch
        ``batch(vals, batched, size, **params)`` for ``vmap``; without one, a loop.
    tangent_elementwise, batched_tangent
        For pushing a batch of tangents through one pass (``jacfwd``, ``hessian``):
        ``tangent_elementwise`` says the per-argument ``tangent`` rules combine ``t`` with
        the primals elementwise only (a tangent with extra leading axes flows through);
        ``batched_tangent(n, ans, primals, tangents, params)`` is a rule for n tangents at
        once (entries None, ``(n, *shape)`` arrays or ``ad.batched_jvp.Diagonal``), or
        returns NotImplemented for what it does not cover.
    scalar_partials, scalar_eval, scalar_vjp
        The float64-scalar short path of reverse mode (:mod:`adgraph.ad.scalar`), each
        giving exactly what the general rules give: the factors ``d_i(ans, *args)`` the
        reverse rules multiply the cotangent by; ``x -> (ans, partial)`` in one call (unary
        primitives without parameters); reverse rules for float64 cotangents and values.
    taylor
        Taylor mode (``adgraph.jet``): ``taylor(primals, series, params) -> (ans, series_out)``
        propagating truncated Taylor series (see :mod:`adgraph.ad.taylor`); without one,
        jet falls back to nested forward mode (correct, slower).
    sparsity
        Sparsity detection (``adgraph.jacobian_sparsity``): how the output's entries depend
        on the inputs' entries (see :mod:`adgraph.ad.sparsity`); without one, every output
        entry depends on every input entry (never missing a nonzero).
    value_shape
        True (or ``value_shape(args, params) -> bool``) when the shape of a result depends
        on the values of the arguments, not only on their shapes (``nonzero``, ``unique``,
        a boolean mask): a compiled program (``adgraph.jit``) checks that shape each time it
        runs and traces the function again when it differs, so nothing computed from the
        traced shape (a count, a mean's divisor) is reused for other data.
    multiple_results, nondiff
        The implementation returns a tuple; the result carries no derivative (comparisons,
        rounding: never traced).
    doc
        The maths, for the docs.
    """

    __slots__ = (
        "name",
        "impl",
        "tangent",
        "joint_tangent",
        "jvp_rule",
        "vjp",
        "joint_vjp",
        "reverse",
        "needs",
        "batch",
        "tangent_elementwise",
        "batched_tangent",
        "scalar_partials",
        "scalar_eval",
        "scalar_vjp",
        "taylor",
        "sparsity",
        "value_shape",
        "multiple_results",
        "nondiff",
        "doc",
        "plans",
        "simple",
    )

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        *,
        tangent: tuple | None = None,
        joint_tangent: Callable[..., Any] | None = None,
        jvp_rule: Callable[..., Any] | None = None,
        vjp: tuple | None = None,
        joint_vjp: Callable[..., Any] | None = None,
        reverse: Callable[..., Any] | None = None,
        needs: tuple | None = None,
        batch: Callable[..., Any] | None = None,
        tangent_elementwise: bool = False,
        batched_tangent: Callable[..., Any] | None = None,
        scalar_partials: tuple | None = None,
        scalar_eval: Callable[..., Any] | None = None,
        scalar_vjp: tuple | None = None,
        taylor: Callable[..., Any] | None = None,
        sparsity: Callable[..., Any] | None = None,
        value_shape: bool | Callable[..., bool] = False,
        multiple_results: bool = False,
        nondiff: bool = False,
        doc: str = "",
    ) -> None:
        if name in registry:
            raise ValueError(f"primitive {name!r} is declared twice")
        if tangent is not None and type(tangent) is not tuple:
            raise TypeError(
                f"primitive {name!r}: tangent= takes a tuple of per-argument rules; give one "
                "rule for all arguments as joint_tangent="
            )
        if vjp is not None and type(vjp) is not tuple:
            raise TypeError(
                f"primitive {name!r}: vjp= takes a tuple of per-argument rules; give one rule "
                "for all arguments as joint_vjp="
            )
        self.name = name
        self.impl = impl
        self.tangent = tangent
        self.joint_tangent = joint_tangent
        self.jvp_rule = jvp_rule
        self.vjp = vjp
        self.joint_vjp = joint_vjp
        self.reverse = reverse
        self.needs = needs
        self.batch = batch
        self.tangent_elementwise = tangent_elementwise
        self.batched_tangent = batched_tangent
        self.scalar_partials = scalar_partials
        self.scalar_eval = scalar_eval
        self.scalar_vjp = scalar_vjp
        self.taylor = taylor
        self.sparsity = sparsity
        self.value_shape = value_shape
        self.multiple_results = multiple_results
        self.nondiff = nondiff
        self.doc = doc
        self.plans: dict = {}  # what reverse mode keeps, per traced-argument pattern
        # One output, differentiable, no whole-rule handler: the traces' short paths apply.
        self.simple = not (multiple_results or nondiff or reverse is not None)
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
        for a in args:
            if type(a) in _SEQUENCES:  # sum([x, 2 * y]): NumPy's reading of a list
                args = _stack_sequences(args)
                break
        if len(args) == 1:  # one argument: its own trace, if any
            a = args[0]
            if isinstance(a, Tracer):
                t = a._trace
                if t.alive:
                    return t.process(self, args, params)
                find_top_trace(args)  # raises the escaped-tracer error
            args = as_plain_arrays(args)
            return self.impl(get_xp(args), *args, **params)
        top = highest_trace(args)
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
        # what: "reverse-mode (VJP)" or "reverse-mode (VJP) for argument 1", ...
        kind, _, which = what.partition(" for ")
        where = f" for {which}" if which else ""
        return MissingRuleError(
            f"primitive {self.name!r} has no {kind} rule{where}; define the derivative yourself with "
            "adgraph.custom_vjp / adgraph.custom_jvp around the code that uses it"
        )
