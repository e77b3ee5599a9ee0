"""Builders for the common shapes of primitive declarations.

* :func:`elementwise` -- an n-ary elementwise function declared by its partial derivatives
  ``d_i(ans, *args, **params)``. Forward mode multiplies each input tangent by its partial,
  reverse mode each cotangent; broadcasting is undone centrally (``fit_to``), so the
  partials need not care about shapes. Batching lines up logical axes and calls the
  primitive once on the whole batch.
* :func:`linear` -- a primitive linear in its first argument, declared by its transpose:
  the tangent is the primitive applied to the tangent, the cotangent the transpose applied
  to the cotangent.
* :func:`nondiff` -- a primitive whose result carries no derivative (comparisons, argmax,
  rounding); it is never traced, but is batched.

The partials of holomorphic functions are used as they are for complex inputs; following
JAX, reverse mode multiplies by the partial itself (not its conjugate), so that for a real
function of complex ``z`` the gradient is the conjugate of ``df/dz`` in Wirtinger terms.
"""

from __future__ import annotations

from ..core.primitive import Primitive
from .batched_jvp import Diagonal
from .batching import align_elementwise
from .sparsity import elementwise_rule
from .taylor import linear_rule

__all__ = ["elementwise", "linear", "nondiff", "batch_elementwise", "batch_unary"]


def _jvp_from_partial(d):
    def rule(t, ans, *args, **params):
        return t * d(ans, *args, **params)

    return rule


def _vjp_from_partial(d):
    def rule(ct, ans, *args, **params):
        return ct * d(ans, *args, **params)

    return rule


def batch_elementwise(prim):
    def rule(vals, batched, size, **params):
        return prim.bind(*align_elementwise(vals, batched), **params)

    return rule


def batch_unary(prim):
    def rule(vals, batched, size, **params):
        return prim.bind(*vals, **params)

    return rule


def elementwise(
    name,
    impl,
    *partials,
    doc: str = "",
    tangent=None,
    vjp=None,
    needs=None,
    tangent_elementwise=None,
    scalar_partials=None,
    scalar_eval=None,
    scalar_vjp=None,
    sparsity=None,
    taylor=None,
):
    """Declare an elementwise primitive by its partial derivatives (None: not differentiable
    in that argument). ``tangent``/``vjp`` override the rules built from the partials;
    ``needs`` lists, per argument, the residuals (argument indices, "ans") its rule reads.
    ``tangent_elementwise`` (see :class:`~adgraph.core.primitive.Primitive`) is true for
    rules built from the partials (``t * d_i``); pass True with a hand-written ``tangent``
    that is elementwise in ``t`` too.

    The float64-scalar short path of reverse mode (:mod:`adgraph.ad.scalar`) reads three
    optional declarations, each giving exactly what the general rules compute, on plain
    floats: ``scalar_partials`` (the factors the reverse rules multiply the cotangent by;
    by default the declared partials, when the reverse rules are built from them),
    ``scalar_eval`` (``x -> (ans, partial)`` in one call, for unary primitives) and
    ``scalar_vjp`` (reverse rules for float64 cotangents and values).

    Sparsity detection (:mod:`adgraph.ad.sparsity`) takes, by default, the union of the
    broadcast operands' dependencies over the arguments with a tangent rule; ``sparsity``
    overrides that rule. ``taylor`` is the Taylor-mode rule (:mod:`adgraph.ad.taylor`)."""
    jvps = tuple(None if d is None else _jvp_from_partial(d) for d in partials)
    vjps = tuple(None if d is None else _vjp_from_partial(d) for d in partials)
    if scalar_partials is None and vjp is None and all(d is not None for d in partials):
        scalar_partials = partials  # the reverse rules are ct * d_i: the factors d_i
    p = Primitive(
        name,
        impl,
        tangent=jvps if tangent is None else tangent,
        vjp=vjps if vjp is None else vjp,
        needs=needs,
        tangent_elementwise=tangent is None if tangent_elementwise is None else tangent_elementwise,
        scalar_partials=None if scalar_partials is None else tuple(scalar_partials),
        scalar_eval=scalar_eval,
        scalar_vjp=scalar_vjp,
        sparsity=(
            elementwise_rule(tuple(r is not None for r in (jvps if tangent is None else tangent)))
            if sparsity is None
            else sparsity
        ),
        taylor=taylor,
        doc=doc,
    )
    p.batch = batch_unary(p) if len(partials) == 1 else batch_elementwise(p)
    return p


def linear(name, impl, transpose, *, batch=None, sparsity=None, doc: str = ""):
    """Declare a primitive linear in its first argument by its transpose
    ``transpose(ct, x, **params)`` (``x``: the primal argument, for its shape).
    ``sparsity``: its sparsity rule (often ``adgraph.ad.sparsity.MOVES``: data movement)."""
    # The transpose reads only the shape of x (and the other, constant, arguments).
    p = Primitive(
        name, impl, doc=doc, batch=batch, sparsity=sparsity, needs=(frozenset(range(1, 16)),)
    )

    def tangent(t, ans, x, *rest, **params):
        return p.bind(t, *rest, **params)

    def vjp(ct, ans, x, *rest, **params):
        return transpose(ct, x, *rest, **params)

    def batched_tangent(n, ans, primals, tangents, params):
        # n tangents at once: the batching rule applied to the batched tangent.
        t = tangents[0]
        if t is None:
            return None
        if p.batch is None or type(t) is Diagonal:
            return NotImplemented
        return p.batch([t, *primals[1:]], [True] + [False] * (len(primals) - 1), n, **params)

    p.tangent = (tangent,)
    p.vjp = (vjp,)
    p.batched_tangent = batched_tangent
    p.taylor = linear_rule(p)  # each Taylor coefficient goes through the primitive
    return p


def nondiff(name, impl, *, batch=None, elementwise_batch: bool = True, doc: str = ""):
    """Declare a primitive with no derivative; it is still batched by ``vmap``."""
    p = Primitive(name, impl, nondiff=True, doc=doc)
    if batch is not None:
        p.batch = batch
    elif elementwise_batch:
        p.batch = batch_elementwise(p)
    return p
