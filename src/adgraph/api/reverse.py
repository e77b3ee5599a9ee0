"""Reverse mode: ``vjp``, ``grad``, ``value_and_grad`` and ``jacrev``.

All four record the function's run on a tape (:class:`adgraph.ad.reverse.ReverseTrace`)
with :func:`_record` and sweep it backward (:func:`adgraph.ad.sweep.backward`): ``vjp``
with the cotangent it is given, ``grad`` with a seed of 1 for its scalar output, ``jacrev``
with the rows of the identity, all at once under ``vmap``.

``grad`` of scalar code is the hot path (each call records a short tape and sweeps it), so
:func:`_record` skips the pytree walk for float arguments and pushes its trace inline, and
a float64 scalar result is swept by :func:`adgraph.ad.sweep.backward_scalar`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..ad.reverse import ReverseTrace, ReverseTracer
from ..ad.sweep import backward, backward_scalar
from ..core.pytree import (
    LEAF,
    flat_tuple_def,
    is_flat_tuple,
    tree_flatten,
    tree_map,
    tree_unflatten,
)
from ..core.trace import Tracer, current_traces
from ..core.xp import module_of
from ..ops import joining, shapes
from .args import (
    FLOAT0,
    ArgnumsByNargs,
    as_array,
    aux_pair,
    check_callable,
    check_cotangent,
    check_float,
    check_holomorphic_input,
    float0_zeros,
    fn_name,
    require_leaves,
    size_of,
    std_basis,
    zeros_like,
)
from .hints import Argnums, Fun, PyTree
from .vectorize import vmap

# The public name of what a reverse trace carries out, for errors about its tracers.
ReverseTrace.transformation = "reverse mode (grad, vjp, jacrev)"

__all__ = ["vjp", "grad", "value_and_grad", "jacrev"]

_ONE64 = np.float64(1.0)
_FLOAT_LEAVES = frozenset([float, np.float64])


def _record(fun, args, kwargs, which, name, holomorphic, argnums, allow_int=False):
    """Run ``fun(*args, **kwargs)`` with the arguments that ``which`` names replaced by
    reverse tracers of a new tape. ``which`` is ``(single, nums, every)``, as
    :func:`~adgraph.api.args.argnums_tuple` gives it: the positions ``nums``, whether the
    one position's argument stands alone rather than in a tuple, and whether they are
    every argument in order. ``name`` and ``argnums`` (None: all the arguments, ``vjp``'s
    primals) name the transformation in errors.

    Returns ``(trace, ins, treedef, result)``: the finished tape, the input tracers (one
    per leaf of the differentiated arguments, in ``treedef``'s order) and the result as
    ``fun`` returned it. With ``allow_int``, integer and boolean leaves are passed through
    untraced (their place in ``ins`` holds the value itself; their derivative is float0).
    """
    single, nums, every = which
    # Float arguments (scalar code) skip the pytree walk.
    if single:
        dyn = args[nums[0]]
        if type(dyn) in _FLOAT_LEAVES:
            leaves, treedef = (dyn,), LEAF
        else:
            leaves, treedef = tree_flatten(dyn)
    else:
        dyn = args if every else tuple([args[i] for i in nums])
        for x in dyn:
            if type(x) not in _FLOAT_LEAVES:
                leaves, treedef = tree_flatten(dyn)
                break
        else:
            leaves, treedef = dyn, flat_tuple_def(len(dyn))
    if not leaves:
        what = "the primals" if argnums is None else f"the arguments argnums={argnums!r}"
        require_leaves(leaves, what, name)
    trace = ReverseTrace()
    stack = current_traces()
    stack.append(trace)  # as trace_scope does, inline: this is every call's cost
    try:
        ins = []
        for x in leaves:
            tx = type(x)
            if tx is float:
                x = np.float64(x)
            elif tx is not np.float64:
                x = as_array(x, name)
                if allow_int and getattr(x, "dtype", None) is not None and x.dtype.kind in "biu":
                    ins.append(x)  # held constant: no derivative (float0)
                    continue
                check_float(x, "an input", name)
            if holomorphic:
                check_holomorphic_input(x, True, name)
            ins.append(trace.new_input(x))
        full = list(args)
        if treedef is LEAF:
            full[nums[0]] = ins[0]
        elif not single and is_flat_tuple(treedef):
            for i, a in zip(nums, ins):
                full[i] = a
        else:
            d = tree_unflatten(treedef, ins)
            if single:
                full[nums[0]] = d
            else:
                for i, a in zip(nums, d):
                    full[i] = a
        result = fun(*full, **kwargs)
    finally:
        stack.pop()
        trace.alive = False
    return trace, ins, treedef, result


def _input_gradients(ins, found, treedef):
    """The cotangents the sweep ``found`` for the input tracers ``ins`` (zeros for those it
    did not reach), in the structure ``treedef`` of the differentiated arguments."""
    grads = []
    for t in ins:
        if type(t) is not ReverseTracer:  # an integer input under allow_int
            grads.append(float0_zeros(t))
            continue
        g = found.get(t.node)
        grads.append(zeros_like(t.value) if g is None else g)
    if treedef is LEAF:
        return grads[0]
    if is_flat_tuple(treedef):
        return tuple(grads)
    return tree_unflatten(treedef, grads)


def _unwrap_out(v, trace):
    if type(v) is ReverseTracer and v._trace is trace:
        return v.value
    return v


def _split_aux(result, trace, has_aux, name):
    """``(output, aux)`` of a recorded run; aux leaves leave the tape as plain values."""
    if not has_aux:
        return result, None
    result, aux = aux_pair(result, name)
    return result, tree_map(lambda v: _unwrap_out(v, trace), aux)


def _vjp_core(fun, args, kwargs, which, has_aux, name, holomorphic, argnums, allow_int=False):
    """Record ``fun`` as :func:`_record` does. Returns ``(out, ct_fn, aux)``:
    ``ct_fn(out_ct, free=False)`` sweeps the tape backward from the output cotangent
    pytree ``out_ct`` and returns the cotangents of the differentiated arguments (one
    argument's pytree when ``single``, else a tuple); ``free`` lets the sweep release the
    tape as it goes (one sweep only)."""
    trace, ins, treedef, result = _record(
        fun, args, kwargs, which, name, holomorphic, argnums, allow_int
    )
    result, aux = _split_aux(result, trace, has_aux, name)
    out_leaves, out_tree = tree_flatten(result)
    out_vals = [_unwrap_out(v, trace) for v in out_leaves]

    def ct_fn(out_ct, free=False):
        ct_leaves, ct_tree = tree_flatten(out_ct)
        if ct_tree != out_tree:
            raise ValueError(
                f"vjp: the cotangent's structure {ct_tree!r} differs from the output's {out_tree!r}"
            )
        outs, cts = [], []
        for o, c in zip(out_leaves, ct_leaves):
            if type(o) is ReverseTracer and o._trace is trace:
                outs.append(o)
                cts.append(check_cotangent(c, o.value))
        return _input_gradients(ins, backward(outs, cts, free=free) if outs else {}, treedef)

    return tree_unflatten(out_tree, out_vals), ct_fn, aux


def vjp(fun: Fun, *primals: PyTree, has_aux: bool = False) -> tuple[Any, ...]:
    """``(out, vjp_fn)`` (and ``aux`` if ``has_aux``): ``vjp_fn(ct)`` gives the cotangents of
    ``primals`` (a tuple, one per positional argument) for an output cotangent ``ct``.

    ``vjp_fn`` may be called many times (the tape is kept until it is garbage collected).
    """
    check_callable(fun, "vjp")
    if not primals:
        raise TypeError("vjp: give at least one primal argument")
    which = (False, tuple(range(len(primals))), True)
    out, ct_fn, aux = _vjp_core(fun, primals, {}, which, has_aux, "vjp", False, None)

    def vjp_fn(ct: PyTree) -> tuple[Any, ...]:
        return tuple(ct_fn(ct))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _check_scalar_output(y, out_leaves, result, name, holomorphic):
    """The dtype of ``grad``'s output ``y`` (None: the function returned several leaves),
    after checking that it is one real (or, ``holomorphic``, complex) scalar."""
    # One element in any shape ((), (1,), (1, 1) ...) is a scalar, as in NumPy and autograd.
    if y is None or any(d != 1 for d in getattr(y, "shape", ())):
        if not out_leaves:
            raise TypeError(
                f"{name}: grad needs a scalar output, but the function returned "
                f"{result!r:.60}; return the scalar to differentiate"
            )
        shapes_ = [tuple(getattr(v, "shape", ())) for v in out_leaves]
        raise TypeError(
            f"{name}: grad needs a scalar output, got output shapes {shapes_}; use "
            "adgraph.jacrev for the Jacobian of a non-scalar function, or adgraph.vjp "
            "for a vector-Jacobian product"
        )
    dt = getattr(y, "dtype", None)
    if dt is None:
        if not isinstance(y, (int, float, complex)):
            raise TypeError(
                f"{name}: grad needs a numeric scalar output, got {type(y).__name__} {y!r:.40}"
            )
        dt = np.result_type(y)
    if dt.kind not in "fc":
        raise TypeError(
            f"{name}: grad needs a floating-point output, got {dt}; an integer or "
            "boolean result has no derivative -- compute in floats (e.g. x.astype(float))"
        )
    if dt.kind == "c" and not holomorphic:
        raise TypeError(
            f"{name}: grad needs a real scalar output, got {dt}; pass holomorphic=True "
            "to differentiate a holomorphic function, or take abs/real first"
        )
    return dt


def value_and_grad(
    fun: Fun,
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Fun:
    """A function returning ``(fun(*args), grad)``; see :func:`grad`."""
    return _value_and_grad(fun, argnums, has_aux, holomorphic, "value_and_grad", allow_int)


def _check_allow_int(allow_int, holomorphic, name):
    if not isinstance(allow_int, bool):
        raise TypeError(f"{name}: allow_int must be True or False, got {allow_int!r}")
    if allow_int and holomorphic:
        raise ValueError(f"{name}: allow_int=True and holomorphic=True cannot be combined")


def _value_and_grad(fun, argnums, has_aux, holomorphic, called, allow_int=False):
    """:func:`value_and_grad`, its errors naming ``called``: the transformation the user
    called (``grad`` is built on it)."""
    check_callable(fun, called)
    name = f"{called}({fn_name(fun)})"
    _check_allow_int(allow_int, holomorphic, name)
    resolved = ArgnumsByNargs(argnums, name)

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        trace, ins, treedef, result = _record(
            fun, args, kwargs, resolved[len(args)], name, holomorphic, argnums, allow_int
        )
        if (
            type(result) is ReverseTracer
            and not has_aux
            and result._trace is trace
            and type(result.value) is np.float64
        ):
            # A float64 scalar result of this tape (scalar code's case): seed 1.0 and sweep.
            found = backward_scalar(result, _ONE64, free=True)
            return result.value, _input_gradients(ins, found, treedef)
        result, aux = _split_aux(result, trace, has_aux, name)
        if type(result) is ReverseTracer:
            out_leaves, out_tree = [result], LEAF
        else:
            out_leaves, out_tree = tree_flatten(result)
        y = out_leaves[0] if len(out_leaves) == 1 else None
        dt = _check_scalar_output(y, out_leaves, result, name, holomorphic)
        if type(y) is ReverseTracer and y._trace is trace:
            inner = y.value.primal_value() if isinstance(y.value, Tracer) else y.value
            # A NumPy scalar for NumPy outputs (cheaper to propagate than a 0-d array, and
            # what scalar code's cotangents are anyway); else in the output's array module.
            if y.shape:  # one element, kept in its shape
                seed = module_of(inner).ones(y.shape, dtype=dt)
            elif type(inner) is np.ndarray or isinstance(inner, np.generic):
                seed = dt.type(1)
            else:
                seed = module_of(inner).ones((), dtype=dt)
            found = backward([y], [seed], free=True)
            value = y.value
        else:
            found = {}
            value = y
        g_out = _input_gradients(ins, found, treedef)
        if out_tree is not LEAF:
            value = tree_unflatten(out_tree, [value])
        return ((value, aux), g_out) if has_aux else (value, g_out)

    return vg


def grad(
    fun: Fun,
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Fun:
    """The gradient of scalar-valued ``fun`` w.r.t. positional argument(s) ``argnums``.

    Reverse mode: one forward run recording a tape, one backward sweep in topological
    order. With ``argnums`` a tuple, returns a tuple of gradients; with ``has_aux``,
    ``fun`` returns ``(value, aux)`` and the result is ``(grad, aux)``. With
    ``allow_int=True``, integer and boolean arguments are accepted and held constant; their
    gradient is an array of JAX's ``float0`` dtype (no values), of their shape.
    """
    vg = _value_and_grad(fun, argnums, has_aux, holomorphic, "grad", allow_int)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        out, gr = vg(*args, **kwargs)
        return (gr, out[1]) if has_aux else gr

    return g


def jacrev(
    fun: Fun,
    argnums: Argnums = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Fun:
    """The Jacobian by reverse mode: one forward run, then all m basis cotangents pushed
    back through the tape in one vectorised (vmapped) sweep. Complex outputs need
    ``holomorphic=True`` (and complex inputs); otherwise the imaginary part of the output
    would have no row in the Jacobian. ``allow_int=True`` accepts integer and boolean
    arguments (held constant; their Jacobian block is ``float0``, as in JAX)."""
    check_callable(fun, "jacrev")
    name = f"jacrev({fn_name(fun)})"
    _check_allow_int(allow_int, holomorphic, name)
    resolved = ArgnumsByNargs(argnums, name)

    def jac(*args, **kwargs):
        out, ct_fn, aux = _vjp_core(
            fun, args, kwargs, resolved[len(args)], has_aux, name, holomorphic, argnums,
            allow_int,
        )  # fmt: skip
        o_leaves, o_tree = tree_flatten(out)
        o_leaves = [as_array(v, name) for v in o_leaves]
        for v in o_leaves:
            _check_jacrev_output(v, holomorphic, name)
        if allow_int:
            return _jacrev_with_ints(ct_fn, o_leaves, o_tree, aux, has_aux)
        if len(o_leaves) == 1 and size_of(o_leaves[0]) == 1:
            # One output element (a scalar function): a single reverse sweep seeded with
            # 1, and the gradient is the Jacobian (with the output's unit axes in front).
            o = o_leaves[0]
            inner = o.primal_value() if isinstance(o, Tracer) else o
            seed = module_of(inner).ones(o.shape, dtype=o.dtype)
            grads = ct_fn(tree_unflatten(o_tree, [seed]), free=True)
            s = tuple(o.shape)
            if s:
                grads = tree_map(lambda g: shapes.reshape(g, s + tuple(g.shape)), grads)
            res = tree_unflatten(o_tree, [grads])
            return (res, aux) if has_aux else res
        basis, m = std_basis(o_leaves)
        if m == 1:
            # One output element among empty ones: a single reverse sweep, no batching.
            cts = tree_map(
                lambda g: shapes.expand_dims(g, 0),
                ct_fn(tree_unflatten(o_tree, [b[0] for b in basis]), free=True),
            )
        else:
            cts = vmap(lambda *bs: ct_fn(tree_unflatten(o_tree, list(bs))))(*basis)
        # cts: pytree over inputs of (m, *in_shape); reorganise to out-major structure.
        in_leaves, in_tree = tree_flatten(cts)
        per_out = []
        start = 0
        for o in o_leaves:
            s = tuple(getattr(o, "shape", ()))
            k = size_of(o)
            blocks = []
            for g in in_leaves:
                b = g[start : start + k]
                blocks.append(shapes.reshape(b, s + tuple(b.shape[1:])))
            per_out.append(tree_unflatten(in_tree, blocks))
            start += k
        res = tree_unflatten(o_tree, per_out)
        return (res, aux) if has_aux else res

    jac._ad_name = name  # type: ignore[attr-defined]  # for error messages
    jac.__name__ = f"jacrev_{getattr(fun, '__name__', 'f')}"  # what make_source calls it
    return jac


def _jacrev_with_ints(ct_fn, o_leaves, o_tree, aux, has_aux):
    """jacrev's result under ``allow_int``: the integer inputs' blocks are float0 arrays of
    shape ``out.shape + in.shape``; the others as jacrev computes them (one sweep per
    output element: integer inputs are rare enough not to need the batched sweep)."""
    basis, m = std_basis(o_leaves)
    rows = [ct_fn(tree_unflatten(o_tree, [b[k] for b in basis])) for k in range(m)]
    in_tree = tree_flatten(rows[0])[1] if rows else None
    columns = list(zip(*[tree_flatten(r)[0] for r in rows])) if rows else []
    per_out, start = [], 0
    for o in o_leaves:
        s = tuple(getattr(o, "shape", ()))
        k = size_of(o)
        blocks = []
        for col in columns:
            g0 = col[0]
            if getattr(g0, "dtype", None) == FLOAT0:
                blocks.append(np.zeros(s + tuple(np.shape(g0)), dtype=FLOAT0))
            else:
                stacked = joining.stack(list(col[start : start + k]))
                blocks.append(shapes.reshape(stacked, s + tuple(np.shape(g0))))
        per_out.append(tree_unflatten(in_tree, blocks))
        start += k
    res = tree_unflatten(o_tree, per_out)
    return (res, aux) if has_aux else res


def _check_jacrev_output(v, holomorphic, name):
    if v.dtype.kind not in "fc":
        raise TypeError(
            f"{name}: outputs must be floating or complex, got {v.dtype}; an "
            "integer or boolean result has no derivative"
        )
    if (v.dtype.kind == "c") != bool(holomorphic):
        raise TypeError(
            f"{name}: complex output ({v.dtype}) without holomorphic=True; pass "
            "holomorphic=True for a holomorphic function, or take real/imag parts"
            if not holomorphic
            else f"{name}: holomorphic=True needs complex outputs, got {v.dtype}"
        )
