"""``checkpoint`` (``remat``): memory for time in reverse mode.

The function becomes one call primitive (:mod:`adgraph.api.closure`) whose reverse rule
records only the call's inputs, not a tape of the function's operations: the backward
sweep runs the function again with its own tape and pulls the cotangent back through it.
Forward mode and ``vmap`` go through the function itself. Values the function closes over
and an enclosing transformation traces are lifted into arguments (closure conversion) and
differentiated like them.
"""

from __future__ import annotations

import functools

from ..core.pytree import tree_flatten, tree_unflatten
from . import closure
from .args import (
    check_callable,
)
from .hints import Fun
from .vectorize import vmap

__all__ = ["checkpoint", "remat"]


def _ckpt_jvp(primals, tangents, params):
    return closure.jvp_of_call(params["fun"], primals, tangents)


def _ckpt_reverse(trace, vals, parents, params, pidx):
    ans = closure.run_at_binding(
        trace, params["fun"], vals
    )  # no tape here: only the inputs are kept
    return trace.record(checkpoint_p, params, vals, tuple(ans), parents, pidx)


def _ckpt_vjp(ct, ans, args, params, wanted):
    # recompute, with a tape, now -- differentiating only the arguments that need it
    fun = params["fun"]
    return closure.pull_wanted(
        fun, args, wanted, ct, getattr(fun, "_what", "a checkpoint function")
    )


def _ckpt_batch(vals, batched, size, *, fun):
    fun_b = vmap(fun, in_axes=closure.batch_axes(batched))
    fun_b._what = getattr(fun, "_what", None)
    return checkpoint_p.bind(*vals, fun=fun_b)


checkpoint_p = closure.call_primitive(
    "checkpoint",
    _ckpt_jvp,
    _ckpt_vjp,
    _ckpt_reverse,
    _ckpt_batch,
    doc="A function whose intermediates are recomputed in the backward pass.",
)


def _convert_ckpt(fun, leaves, what):
    """Closure conversion of a checkpoint call (see :mod:`adgraph.api.closure`)."""
    conv = closure.Conversion(leaves)
    program, _ = conv.record(fun)
    lifted = conv.lifted(what)
    if lifted is None:
        return None
    fun2 = conv.function(program)
    fun2._what = what
    return {"fun": fun2}, lifted


def checkpoint(fun: Fun) -> Fun:
    """``fun`` with rematerialisation: reverse mode keeps only its inputs and recomputes
    its intermediates during the backward sweep (memory for time), as ``jax.checkpoint``.

    ``fun`` may close over values traced by enclosing transformations: they are
    differentiated (and batched) like its arguments."""

    check_callable(fun, "checkpoint")
    what = f"checkpoint({getattr(fun, '__name__', type(fun).__name__)})"

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        leaves, in_tree = tree_flatten((args, kwargs))
        box = closure.Box()

        def call(a, k):
            return fun(*a, **k)

        if not closure.any_tracer(leaves):  # see closure.bind_call
            out = checkpoint_p.bind(*leaves, fun=closure.flat_fun(call, in_tree, box))
            return tree_unflatten(box.tree, list(out))

        watch = closure.Watch()
        f = closure.flat_fun(call, in_tree, box, watch, what)
        out = closure.bind_call(
            checkpoint_p, leaves, {"fun": f}, watch, _convert_ckpt, (f, leaves, what)
        )
        return tree_unflatten(box.tree, list(out))

    return wrapped


remat = checkpoint
