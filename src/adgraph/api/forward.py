"""Forward mode: ``jvp``, ``linearize``, ``jacfwd``, ``hessian`` and ``hvp``.

``jvp`` runs the function once on :class:`adgraph.ad.forward.JVPTracer` values (primal and
tangent side by side). ``jacfwd`` carries all n basis tangents at once, as one batched
tangent with a leading axis of length n (:mod:`adgraph.ad.batched_jvp`); one real array
argument enters with the identity as a *diagonal* tangent, never materialised unless an
operation needs it. ``linearize`` records the primal run once and replays only the tangent
rules on each call (:mod:`adgraph.ad.linearize`). ``hessian`` and ``hvp`` are forward over
reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ad.batched_jvp import BatchedJVPTrace, Diagonal
from ..ad.common import is_float_dtype
from ..ad.forward import JVPTrace, JVPTracer
from ..ad.linearize import node_tangent, push_tangents, replay_order
from ..ad.reverse import ReverseTrace, ReverseTracer
from ..core.pytree import tree_flatten, tree_map, tree_unflatten
from ..core.trace import current_traces, trace_scope
from ..ops import shapes
from .args import (
    WEAK,
    ArgnumsByNargs,
    as_array,
    aux_pair,
    check_callable,
    check_float,
    check_holomorphic_input,
    check_tangent,
    flatten_alike,
    float0_tangent,
    fn_name,
    require_leaves,
    size_of,
    std_basis,
    with_args,
    zeros_like,
)
from .hints import Argnums, Fun, PyTree
from .reverse import grad, jacrev
from .vectorize import vmap

# The public names of what each kind of trace carries out, for errors about tracers that
# leaked out of one.
JVPTrace.transformation = "jvp (forward mode)"
BatchedJVPTrace.transformation = "jacfwd (batched forward mode)"

__all__ = ["jvp", "linearize", "jacfwd", "hessian", "hvp"]


def _jvp_core(fun, primals, tangents, has_aux=False, name="jvp"):
    p_leaves, t_leaves, p_tree = flatten_alike(
        primals,
        tangents,
        lambda p_tree, t_tree: ValueError(
            f"{name}: primals and tangents must have the same structure, got {p_tree!r} "
            f"and {t_tree!r}"
            + (
                "; a zero tangent is an array of zeros, not None"
                if t_tree.num_leaves < p_tree.num_leaves
                else ""
            )
        ),
    )
    p_leaves = [as_array(x, name) for x in p_leaves]
    t_leaves = [
        check_tangent(p, as_array(float0_tangent(p, t, name), name), name, weak=type(t) in WEAK)
        for p, t in zip(p_leaves, t_leaves)
    ]
    trace = JVPTrace()
    with trace_scope(trace):
        ins = []
        for p, t in zip(p_leaves, t_leaves):
            if not is_float_dtype(p.dtype):
                ins.append(p)  # integer inputs carry no tangent
            else:
                ins.append(JVPTracer(trace, p, t))
        result = fun(*tree_unflatten(p_tree, ins))
    if has_aux:
        result, aux = aux_pair(result, name)
        aux = tree_map(lambda v: v.primal if _is_jvp_of(v, trace) else v, aux)
    out_leaves, out_tree = tree_flatten(result)
    outs, touts = [], []
    for v in out_leaves:
        if _is_jvp_of(v, trace):
            outs.append(v.primal)
            touts.append(v.tangent)
        else:
            outs.append(v)
            touts.append(zeros_like(v))
    res = (tree_unflatten(out_tree, outs), tree_unflatten(out_tree, touts))
    return res + (aux,) if has_aux else res


def _is_jvp_of(v, trace):
    return type(v) is JVPTracer and v._trace is trace


def jvp(
    fun: Fun,
    primals: Sequence[PyTree],
    tangents: Sequence[PyTree],
    has_aux: bool = False,
) -> tuple[Any, ...]:
    """``(fun(*primals), J(primals) @ tangents)`` by forward mode.

    ``primals`` and ``tangents`` are tuples (or lists) of the positional arguments and
    their tangents, with the same structure.
    """
    check_callable(fun, "jvp")
    _check_pairs(primals, tangents, "jvp")
    return _jvp_core(fun, tuple(primals), tuple(tangents), has_aux)


def _check_pairs(primals, tangents, name):
    """``primals`` and ``tangents`` as ``jvp`` and ``hvp`` take them: sequences of the
    positional arguments and of their directions, one per argument."""
    if isinstance(primals, (tuple, list)) and isinstance(tangents, (tuple, list)):
        if len(primals) == len(tangents):
            return
        raise ValueError(
            f"{name}: {len(primals)} primals but {len(tangents)} tangents; give one tangent "
            "per primal"
        )
    raise TypeError(
        f"{name}: primals and tangents must be tuples (or lists) of arguments, e.g. "
        f"{name}(f, (x,), (v,)); got {type(primals).__name__} and {type(tangents).__name__}"
    )


def linearize(fun: Fun, *primals: PyTree, has_aux: bool = False) -> tuple[Any, ...]:
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the JVP at
    ``primals`` without re-running ``fun``: the primal computation is recorded once (every
    value kept) and each call pushes tangents through the recorded operations in
    topological order. With ``has_aux=True``, ``fun`` returns ``(output, aux)`` and the
    result is ``(output, f_jvp, aux)`` (``aux`` is not differentiated)."""
    check_callable(fun, "linearize")
    if not primals:
        raise TypeError("linearize: give at least one primal argument")
    leaves, treedef = tree_flatten(tuple(primals))
    leaves = [as_array(x, "linearize") for x in leaves]
    trace = ReverseTrace(keep=True)
    with trace_scope(trace):
        ins = [trace.new_input(x) if is_float_dtype(x.dtype) else x for x in leaves]
        result = fun(*tree_unflatten(treedef, ins))
    aux = None
    if has_aux:
        result, aux = aux_pair(result, "linearize")
        aux = tree_map(
            lambda v: v.value if type(v) is ReverseTracer and v._trace is trace else v, aux
        )
    out_leaves, out_tree = tree_flatten(result)
    # (node, result index) of each output on the tape, None for one that is not on it
    on_tape = [
        (v.node, v.idx) if type(v) is ReverseTracer and v._trace is trace else None
        for v in out_leaves
    ]
    out_vals = [v if at is None else v.value for v, at in zip(out_leaves, on_tape)]
    order = replay_order([at[0] for at in on_tape if at is not None])

    def f_jvp(*tangents: PyTree) -> PyTree:
        t_leaves, t_tree = tree_flatten(tuple(tangents))
        if t_tree != treedef:
            raise ValueError(
                f"linearize: the tangents {t_tree!r} must match the primals' structure "
                f"{treedef!r} (one tangent per primal, f_jvp(*tangents))"
            )
        seeds = {}
        for x, t, p in zip(ins, t_leaves, leaves):
            t = float0_tangent(p, t, "linearize")
            t = check_tangent(p, as_array(t, "linearize"), "linearize", weak=type(t) in WEAK)
            if type(x) is ReverseTracer:
                seeds[x.node] = t
        tan = push_tangents(order, seeds)
        out_t = []
        for v, at in zip(out_vals, on_tape):
            t = None if at is None else node_tangent(tan, *at)
            out_t.append(zeros_like(v) if t is None else t)
        return tree_unflatten(out_tree, out_t)

    if has_aux:
        return tree_unflatten(out_tree, out_vals), f_jvp, aux
    return tree_unflatten(out_tree, out_vals), f_jvp


def jacfwd(fun: Fun, argnums: Argnums = 0, has_aux: bool = False, holomorphic: bool = False) -> Fun:
    """The Jacobian by forward mode: one forward pass carrying all n basis tangents.

    The primal is computed once; every tangent carries a leading axis of length n (a
    batched JVP). For ``f: R^n -> R^m`` the result has shape ``out.shape + in.shape``;
    pytrees of inputs/outputs give nested structures as in JAX. Complex inputs need
    ``holomorphic=True`` (the Jacobian is then :math:`f'(z)`); for a function that is not
    holomorphic, split the input into real and imaginary parts.
    """
    return _jacfwd(fun, argnums, has_aux, holomorphic)


def _jacfwd(fun, argnums=0, has_aux=False, holomorphic=False, batched_tangents=True, name=None):
    """:func:`jacfwd`; ``batched_tangents=False`` takes the general path, ``vmap`` of
    ``jvp`` (the same numbers, more slowly: kept as the reference the fast path is
    tested against)."""
    check_callable(fun, "jacfwd")
    name = name or f"jacfwd({fn_name(fun)})"  # hessian passes its own name
    resolved = ArgnumsByNargs(argnums, name)

    def jac(*args, **kwargs):
        single, nums, _ = resolved[len(args)]
        if batched_tangents and single and not has_aux:
            x = args[nums[0]]
            if type(x) is np.ndarray and x.dtype.kind == "f" and not holomorphic:
                # The common case: one real array input, one batched pass with diagonal
                # tangents, no pytrees (what the general code below does for it).
                return _jacfwd_array(fun, args, kwargs, nums[0], x, name)
        dyn = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_flatten(dyn)
        require_leaves(d_leaves, f"the arguments argnums={argnums!r}", name)
        d_leaves = [as_array(x, name) for x in d_leaves]
        for x in d_leaves:
            check_float(x, "an input", name)
            check_holomorphic_input(x, holomorphic, name)
        if batched_tangents and len(d_leaves) == 1 and type(d_leaves[0]) is np.ndarray:
            basis, n = None, d_leaves[0].size  # diagonal tangents: no basis needed
        else:
            basis, n = std_basis(d_leaves)
        f_dyn = with_args(fun, args, kwargs, nums)
        if batched_tangents:
            jac_t, aux = _push_basis(f_dyn, d_leaves, d_tree, basis, n, has_aux, name)
        else:
            primals = tree_unflatten(d_tree, d_leaves)

            def push(*t_leaves):
                tangents = tree_unflatten(d_tree, list(t_leaves))
                return _jvp_core(f_dyn, primals, tangents, has_aux, name)

            batched = vmap(push)(*basis)
            if has_aux:
                _, jac_t, aux = batched
                aux = tree_map(lambda a: a[0], aux)
            else:
                _, jac_t = batched
        # jac_t leaves: (n, *out_shape) -> out_shape + in_shape, split per input leaf.
        jac_tree = _reshape_jac_fwd(jac_t, d_leaves, d_tree, single)
        return (jac_tree, aux) if has_aux else jac_tree

    jac._ad_name = name  # for error messages
    jac.__name__ = f"jacfwd_{getattr(fun, '__name__', 'f')}"  # what make_source calls it
    return jac


def _jacfwd_array(fun, args, kwargs, i, x, name):
    """jacfwd of ``fun`` in its argument ``i``, a real NumPy array ``x``: the input
    carries the identity as a diagonal tangent; an array result's Jacobian is its tangent
    with the batch axis moved last."""
    n = x.size
    trace = BatchedJVPTrace(n)
    full = list(args)
    full[i] = trace.diagonal_input(x)
    stack = current_traces()
    stack.append(trace)  # as trace_scope does, inline
    try:
        result = fun(*full, **kwargs)
    finally:
        stack.pop()
        trace.close()
    if type(result) is JVPTracer and result._trace is trace:
        t = result.tangent
        return _split_last(trace.dense(t) if type(t) is Diagonal else t, [x])[0]
    d_tree = tree_flatten((x,))[1]
    jac_t, _ = _collect_tangents(result, trace, n, False, name)
    return _reshape_jac_fwd(jac_t, [x], d_tree, True)


def _push_basis(f_dyn, d_leaves, d_tree, basis, n, has_aux, name):
    """Run ``f_dyn`` once on batched-tangent tracers seeded with the basis (None: one
    array input, seeded with diagonal tangents). Returns the output tangents (leaves
    shaped ``(n, *out.shape)``) and the aux value (or None)."""
    trace = BatchedJVPTrace(n)
    try:
        with trace_scope(trace):
            if basis is None:
                ins = [trace.diagonal_input(d_leaves[0])]
            else:
                ins = [JVPTracer(trace, p, t) for p, t in zip(d_leaves, basis)]
            result = f_dyn(*tree_unflatten(d_tree, ins))
    finally:
        trace.close()
    return _collect_tangents(result, trace, n, has_aux, name)


def _collect_tangents(result, trace, n, has_aux, name):
    """The output tangents of a batched-tangent run (and its aux value, or None)."""
    aux = None
    if has_aux:
        result, aux = aux_pair(result, name)
        aux = tree_map(lambda v: _aux_value(v.primal if _is_jvp_of(v, trace) else v, name), aux)
    out_leaves, out_tree = tree_flatten(result)
    touts = []
    for v in out_leaves:
        if _is_jvp_of(v, trace):
            t = v.tangent
            touts.append(trace.dense(t) if type(t) is Diagonal else t)
        else:
            # No dependence on the inputs: zeros, in the output's dtype (as jvp gives).
            v = as_array(v, name)
            s = tuple(getattr(v, "shape", ()))
            z = zeros_like(v)
            touts.append(shapes.broadcast_to(shapes.expand_dims(z, 0), (n,) + s))
    return tree_unflatten(out_tree, touts), aux


def _out_value(v):
    """A value leaving a transformation as the vmap path returns it (an array, a NumPy
    scalar for 0-d)."""
    v = as_array(v, "vmap")
    if type(v) is np.ndarray and v.ndim == 0:
        return v[()]
    return v


def _aux_value(v, name):
    """An auxiliary output (``has_aux=True``) leaving ``name``, or an error naming it."""
    try:
        return _out_value(v)
    except TypeError:
        raise TypeError(
            f"{name}: the auxiliary output (has_aux=True) must hold arrays, numbers or "
            f"pytrees of them; got {type(v).__name__}. Return other Python objects from a "
            "separate, untransformed call"
        ) from None


def _split_last(v, d_leaves):
    """Split the flattened-input axis (axis 0 of v) into per-input-leaf blocks, moved last."""
    if len(d_leaves) == 1 and type(v) is np.ndarray:
        # One input: no split; NumPy's own transpose and reshape (what the ops compute).
        s = tuple(getattr(d_leaves[0], "shape", ()))
        nd = v.ndim
        block = v.transpose(tuple(range(1, nd)) + (0,))
        if len(s) != 1:
            block = block.reshape(block.shape[:-1] + s)
        return [_out_value(block)]
    outs = []
    start = 0
    for x in d_leaves:
        s = tuple(getattr(x, "shape", ()))
        k = size_of(x)
        block = v[start : start + k]
        block = shapes.moveaxis(block, 0, -1)
        block = shapes.reshape(block, tuple(block.shape[:-1]) + s)
        outs.append(_out_value(block) if type(block) is np.ndarray else block)
        start += k
    return outs


def _reshape_jac_fwd(jac_t, d_leaves, d_tree, single):
    def per_out(v):
        blocks = _split_last(v, d_leaves)
        tree = tree_unflatten(d_tree, blocks)
        return tree[0] if single else tree

    return tree_map(per_out, jac_t)


def hessian(
    fun: Fun, argnums: Argnums = 0, has_aux: bool = False, holomorphic: bool = False
) -> Fun:
    """The Hessian: forward-over-reverse, ``jacfwd(jacrev(fun))`` -- one reverse pass whose
    sweep is pushed forward with all n basis tangents at once."""
    return _hessian(fun, argnums, has_aux, holomorphic)


def _hessian(fun, argnums=0, has_aux=False, holomorphic=False, batched_tangents=True):
    """:func:`hessian`; ``batched_tangents`` as for :func:`_jacfwd`."""
    check_callable(fun, "hessian")
    h = _jacfwd(
        jacrev(fun, argnums, has_aux, holomorphic),
        argnums,
        has_aux,
        holomorphic,
        batched_tangents,
        name=f"hessian({fn_name(fun)})",
    )
    h.__name__ = f"hessian_{getattr(fun, '__name__', 'f')}"  # what make_source calls it
    h._ad_name = f"hessian({fn_name(fun)})"  # type: ignore[attr-defined]
    return h


def hvp(fun: Fun, primals: Sequence[PyTree], tangents: Sequence[PyTree]) -> PyTree:
    """Hessian-vector product :math:`H(x) v` by forward-over-reverse (a JVP of the
    gradient), without forming the Hessian. ``primals`` and ``tangents`` are tuples of the
    positional arguments and their directions; the result is shaped like the gradient
    (an array for one argument, a tuple for several)."""
    check_callable(fun, "hvp")
    _check_pairs(primals, tangents, "hvp")
    if not primals:
        raise TypeError("hvp: give at least one primal argument")
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]
