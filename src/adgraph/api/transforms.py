"""The transformations, with JAX's names and signatures.

``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``linearize``, ``jacfwd``, ``jacrev``,
``hessian``, ``hvp``, ``vmap``, ``checkpoint``, ``custom_jvp``, ``custom_vjp`` and
``stop_gradient``. Each opens a new level (``adgraph.core.trace``), so they nest to any
order. Arguments and results may be pytrees of arrays and Python numbers.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from .. import ops as _ops  # noqa: F401  (registers primitives)
from ..ad.batched_jvp import BatchedJVPTrace, Diagonal
from ..ad.batching import BatchTrace, BatchTracer
from ..ad.common import is_float_dtype
from ..ad.forward import JVPTrace, JVPTracer, apply_tangent_rule
from ..ad.reverse import ReverseTrace, ReverseTracer
from ..ad.sweep import backward, backward_scalar, toposort_nodes
from ..core.pytree import (
    LEAF,
    flat_tuple_def,
    is_flat_tuple,
    tree_flatten,
    tree_map,
    tree_unflatten,
)
from ..core.trace import Tracer, current_traces, trace_scope
from ..core.xp import as_leaf, exact_number_message, module_of
from ..ops import shapes
from ..ops.misc import stop_gradient

# The public names of what each kind of trace carries out, for errors about tracers that
# leaked out of one (Trace.transformation).
JVPTrace.transformation = "jvp (forward mode)"
ReverseTrace.transformation = "reverse mode (grad, vjp, jacrev)"
BatchTrace.transformation = "vmap"
BatchedJVPTrace.transformation = "jacfwd (batched forward mode)"

__all__ = [
    "grad",
    "value_and_grad",
    "jvp",
    "vjp",
    "linearize",
    "jacfwd",
    "jacrev",
    "hessian",
    "hvp",
    "vmap",
    "stop_gradient",
]


# ------------------------------------------------------------------ argument handling
def _as_array(x, what: str):
    """Leaves entering a transformation: Python numbers become NumPy scalars/arrays."""
    return as_leaf(x, what)


def _check_float(x, what: str, fn_name: str):
    dt = getattr(x, "dtype", None)
    if dt is None or not is_float_dtype(dt):
        raise TypeError(
            f"{fn_name}: {what} has dtype {dt}; derivatives are only defined for floating or "
            f"complex inputs. Pass a float (e.g. 2.0 rather than 2, or x.astype(float))."
        )


def _check_callable(fun, fn_name):
    if not callable(fun):
        raise TypeError(
            f"{fn_name}: the function to transform must be callable, got "
            f"{type(fun).__name__} {fun!r:.60}"
        )


def _is_index(a) -> bool:
    return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))


def _argnums_tuple(argnums, nargs, fn_name):
    single = _is_index(argnums)
    if single:
        nums = (argnums,)
    elif isinstance(argnums, (tuple, list)):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{fn_name}: argnums must be an int or a tuple of ints, got {argnums!r}")
    if not nums:
        raise ValueError(f"{fn_name}: argnums is empty; name at least one argument")
    for a in nums:
        if not _is_index(a):
            raise TypeError(f"{fn_name}: argnums must be ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{fn_name}: argnums {a} is out of range for a function called with "
                f"{nargs} positional argument{'' if nargs == 1 else 's'}"
            )
    out = tuple(int(a) % nargs for a in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn_name}: argnums {argnums!r} names an argument twice; list each once")
    return single, out


def _aux_pair(result, fn_name):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        if isinstance(result, (tuple, list)):
            got = f"a {type(result).__name__} of length {len(result)}"
        elif hasattr(result, "shape"):
            got = f"a single array of shape {tuple(result.shape)}"
        else:
            got = f"a {type(result).__name__}"
        raise TypeError(
            f"{fn_name}: has_aux=True needs the function to return a pair (output, aux), got {got}"
        )
    return result


# Python scalars are weakly typed (as in JAX): a Python float tangent or cotangent takes
# the dtype of its primal (1.0 for a float32 input), where an array must match it.
_WEAK = frozenset([float, complex])


def _check_tangent(p, t, fn_name, what="tangent", weak=False):
    """A tangent must match its primal's shape and dtype (``weak``: ``t`` came from a
    Python float or complex, and takes the primal's dtype). An integer primal carries no
    tangent: only a zero one is accepted (of any numeric dtype)."""
    ps, ts = tuple(getattr(p, "shape", ())), tuple(getattr(t, "shape", ()))
    if ts != ps:
        raise ValueError(f"{fn_name}: {what} of shape {ts} given for a primal of shape {ps}")
    pd, td = getattr(p, "dtype", None), getattr(t, "dtype", None)
    if td is None or td.kind not in "biufc":
        raise TypeError(f"{fn_name}: {what} must be a numeric array, got dtype {td}")
    if pd is None or pd.kind not in "fc":
        # Integer primals carry no tangent: only a zero one is meaningful.
        inner = t.primal_value() if isinstance(t, Tracer) else t
        if module_of(inner).any(inner != 0):
            raise TypeError(
                f"{fn_name}: a nonzero {what} was given for a primal of integer dtype {pd}, "
                "which cannot move; pass the primal as a float (e.g. 2.0, or x.astype(float))"
            )
        return t
    if td.kind == "c" and pd.kind != "c":
        raise TypeError(
            f"{fn_name}: complex {what} ({td}) given for a real primal ({pd}); a real input "
            "moves along real directions only -- pass a real tangent, or make the primal complex"
        )
    if td != pd:
        if not weak:
            raise TypeError(
                f"{fn_name}: primal and {what} arguments must have equal types: the primal "
                f"has dtype {pd}, so the {what} must be {pd}, got {td}; pass "
                f"{what}.astype(np.{pd.name}) (a Python float is taken as {pd})"
            )
        from ..ops.misc import astype

        t = astype(t, pd)
    return t


def _fn_name(f):
    return getattr(f, "_ad_name", None) or getattr(f, "__name__", type(f).__name__)


# ------------------------------------------------------------------ reverse mode
def _vjp_core(f, primals, has_aux, fn_name):
    """Run ``f`` on reverse tracers. Returns (out_value_tree, ct_fn, aux).

    ``ct_fn(out_ct_tree, free)`` returns the cotangent pytree matching ``primals``.
    """
    leaves, treedef = tree_flatten(primals)
    _require_leaves(leaves, "the primals", fn_name)
    leaves = [_as_array(x, fn_name) for x in leaves]
    for x in leaves:
        _check_float(x, "an input", fn_name)
    trace = ReverseTrace()
    with trace_scope(trace):
        ins = [trace.new_input(x) for x in leaves]
        result = f(*tree_unflatten(treedef, ins))
    if has_aux:
        result, aux = _aux_pair(result, fn_name)
        aux = tree_map(lambda v: _unwrap_out(v, trace), aux)
    else:
        aux = None
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
                cts.append(_check_ct(c, o.value))
        got = backward(outs, cts, free=free) if outs else {}
        in_cts = []
        for t, x in zip(ins, leaves):
            g = got.get(t.node)
            in_cts.append(_zeros_like(x) if g is None else g)
        return tree_unflatten(treedef, in_cts)

    return tree_unflatten(out_tree, out_vals), ct_fn, aux


def _check_ct(c, like):
    """The cotangent ``c`` given for an output like ``like``, checked: the output's shape
    and dtype (a Python float takes the output's dtype, as in JAX); an ``np.matrix``
    becomes a plain array and a masked array is refused, as for inputs."""
    cs = getattr(c, "shape", None)
    if cs is None:
        if not isinstance(c, (int, float, complex, np.number, np.bool_)):
            if isinstance(c, numbers.Number):
                raise TypeError(exact_number_message(c, "vjp: the cotangent"))
            raise TypeError(
                f"vjp: the cotangent must be an array or a number, got {type(c).__name__}"
            )
        cs = ()
    elif type(c) is not np.ndarray and isinstance(c, np.ndarray):
        c = as_leaf(c, "vjp: the cotangent")
    ls = getattr(like, "shape", ())
    if tuple(cs) != tuple(ls):
        raise ValueError(
            f"vjp: cotangent of shape {tuple(cs)} given for an output of shape {tuple(ls)}; "
            "it must have the output's shape"
        )
    cd = getattr(c, "dtype", None)
    if cd is None:
        cd = np.result_type(c)
    if cd.kind not in "biufc":
        raise TypeError(f"vjp: the cotangent must be numeric, got dtype {cd}")
    ld = getattr(like, "dtype", None)
    if cd.kind == "c" and ld is not None and ld.kind != "c":
        raise TypeError(
            f"vjp: complex cotangent ({cd}) given for a real output ({ld}); its imaginary "
            "part would be dropped -- pass a real cotangent"
        )
    if ld is not None and cd != ld and type(c) not in _WEAK:
        raise TypeError(
            f"vjp: the cotangent must have the output's dtype: the output is {ld}, so the "
            f"cotangent must be {ld}, got {cd}; pass ct.astype(np.{ld.name}) (a Python "
            f"float is taken as {ld})"
        )
    return c


def _unwrap_out(v, trace):
    if type(v) is ReverseTracer and v._trace is trace:
        return v.value
    return v


def _zeros_like(x):
    from ..ops.creation import zeros_like

    return zeros_like(x)


def vjp(fun, *primals, has_aux=False):
    """``(out, vjp_fn)`` (and ``aux`` if ``has_aux``): ``vjp_fn(ct)`` gives the cotangents of
    ``primals`` (a tuple, one per positional argument) for an output cotangent ``ct``.

    ``vjp_fn`` may be called many times (the tape is kept until it is garbage collected).
    """
    name = "vjp"
    _check_callable(fun, name)
    if not primals:
        raise TypeError("vjp: give at least one primal argument")
    out, ct_fn, aux = _vjp_core(fun, tuple(primals), has_aux, name)

    def vjp_fn(ct):
        return tuple(ct_fn(ct))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


_ONE64 = np.float64(1.0)
_FLOAT_LEAVES = frozenset([float, np.float64])


def _input_gradients(ins, found, treedef):
    """The cotangents the sweep ``found`` for the input tracers ``ins`` (zeros for those it
    did not reach), in the structure ``treedef`` of the differentiated arguments."""
    grads = []
    for t in ins:
        g = found.get(t.node)
        grads.append(_zeros_like(t.value) if g is None else g)
    if treedef is LEAF:
        return grads[0]
    if is_flat_tuple(treedef):
        return tuple(grads)
    return tree_unflatten(treedef, grads)


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """A function returning ``(fun(*args), grad)``; see :func:`grad`."""
    _check_callable(fun, "value_and_grad")
    fn_name = f"value_and_grad({_fn_name(fun)})"
    nums_cache: dict = {}

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        key = len(args)
        got = nums_cache.get(key)
        if got is None:
            single, nums = _argnums_tuple(argnums, len(args), fn_name)
            got = nums_cache[key] = (single, nums, nums == tuple(range(len(args))))
        single, nums, every = got
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
            _require_leaves(leaves, f"the arguments argnums={argnums!r}", fn_name)
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
                    x = _as_array(x, fn_name)
                    _check_float(x, "an input", fn_name)
                if holomorphic and x.dtype.kind != "c":
                    raise TypeError(
                        f"{fn_name}: holomorphic=True needs complex inputs, got {x.dtype}; "
                        "pass x.astype(complex)"
                    )
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
        if (
            type(result) is ReverseTracer
            and not has_aux
            and result._trace is trace
            and type(result.value) is np.float64
        ):
            # A float64 scalar result of this tape (scalar code's case): seed 1.0 and sweep.
            found = backward_scalar(result, _ONE64, free=True)
            return result.value, _input_gradients(ins, found, treedef)
        if has_aux:
            result, aux = _aux_pair(result, fn_name)
            aux = tree_map(lambda v: _unwrap_out(v, trace), aux)
        if type(result) is ReverseTracer:
            out_leaves, out_tree = [result], LEAF
        else:
            out_leaves, out_tree = tree_flatten(result)
        y = out_leaves[0] if len(out_leaves) == 1 else None
        if y is None or getattr(y, "shape", None) not in ((), None):
            if not out_leaves:
                raise TypeError(
                    f"{fn_name}: grad needs a scalar output, but the function returned "
                    f"{result!r:.60}; return the scalar to differentiate"
                )
            shapes_ = [tuple(getattr(v, "shape", ())) for v in out_leaves]
            raise TypeError(
                f"{fn_name}: grad needs a scalar output, got output shapes {shapes_}; use "
                "adgraph.jacrev for the Jacobian of a non-scalar function, or adgraph.vjp "
                "for a vector-Jacobian product"
            )
        dt = getattr(y, "dtype", None)
        if dt is None:
            if not isinstance(y, (int, float, complex)):
                raise TypeError(
                    f"{fn_name}: grad needs a numeric scalar output, got "
                    f"{type(y).__name__} {y!r:.40}"
                )
            dt = np.result_type(y)
        if dt.kind not in "fc":
            raise TypeError(
                f"{fn_name}: grad needs a floating-point output, got {dt}; an integer or "
                "boolean result has no derivative -- compute in floats (e.g. x.astype(float))"
            )
        if dt.kind == "c" and not holomorphic:
            raise TypeError(
                f"{fn_name}: grad needs a real scalar output, got {dt}; pass holomorphic=True "
                "to differentiate a holomorphic function, or take abs/real first"
            )
        if type(y) is ReverseTracer and y._trace is trace:
            inner = y.value.primal_value() if isinstance(y.value, Tracer) else y.value
            # A NumPy scalar for NumPy outputs (cheaper to propagate than a 0-d array, and
            # what scalar code's cotangents are anyway); else in the output's array module.
            if type(inner) is np.ndarray or isinstance(inner, np.generic):
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


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """The gradient of scalar-valued ``fun`` w.r.t. positional argument(s) ``argnums``.

    Reverse mode: one forward run recording a tape, one backward sweep in topological
    order. With ``argnums`` a tuple, returns a tuple of gradients; with ``has_aux``,
    ``fun`` returns ``(value, aux)`` and the result is ``(grad, aux)``.
    """
    _check_callable(fun, "grad")
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        out, gr = vg(*args, **kwargs)
        return (gr, out[1]) if has_aux else gr

    return g


# ------------------------------------------------------------------ forward mode
def _jvp_core(fun, primals, tangents, has_aux=False, fn_name="jvp"):
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if p_tree != t_tree:
        raise ValueError(
            f"{fn_name}: primals and tangents must have the same structure, got {p_tree!r} "
            f"and {t_tree!r}"
            + (
                "; a zero tangent is an array of zeros, not None"
                if t_tree.num_leaves < p_tree.num_leaves
                else ""
            )
        )
    p_leaves = [_as_array(x, fn_name) for x in p_leaves]
    t_leaves = [
        _check_tangent(p, _as_array(t, fn_name), fn_name, weak=type(t) in _WEAK)
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
        result, aux = _aux_pair(result, fn_name)
        aux = tree_map(lambda v: v.primal if _is_jvp_of(v, trace) else v, aux)
    out_leaves, out_tree = tree_flatten(result)
    outs, touts = [], []
    for v in out_leaves:
        if _is_jvp_of(v, trace):
            outs.append(v.primal)
            touts.append(v.tangent)
        else:
            outs.append(v)
            touts.append(_zeros_like(v))
    res = (tree_unflatten(out_tree, outs), tree_unflatten(out_tree, touts))
    return res + (aux,) if has_aux else res


def _is_jvp_of(v, trace):
    return type(v) is JVPTracer and v._trace is trace


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J(primals) @ tangents)`` by forward mode.

    ``primals`` and ``tangents`` are tuples (or lists) of the positional arguments and
    their tangents, with the same structure.
    """
    _check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples (or lists) of arguments, e.g. "
            f"jvp(f, (x,), (v,)); got {type(primals).__name__} and {type(tangents).__name__}"
        )
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal"
        )
    return _jvp_core(fun, tuple(primals), tuple(tangents), has_aux)


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the JVP at
    ``primals`` without re-running ``fun``: the primal computation is recorded once (every
    value kept) and each call pushes tangents through the recorded operations in
    topological order."""
    _check_callable(fun, "linearize")
    if not primals:
        raise TypeError("linearize: give at least one primal argument")
    leaves, treedef = tree_flatten(tuple(primals))
    leaves = [_as_array(x, "linearize") for x in leaves]
    trace = ReverseTrace(keep=True)
    with trace_scope(trace):
        ins = [trace.new_input(x) if is_float_dtype(x.dtype) else x for x in leaves]
        result = fun(*tree_unflatten(treedef, ins))
    out_leaves, out_tree = tree_flatten(result)
    out_vals = [_unwrap_out(v, trace) for v in out_leaves]
    roots = [v.node for v in out_leaves if type(v) is ReverseTracer and v._trace is trace]
    order = _forward_order(toposort_nodes(roots)[0])

    def f_jvp(*tangents):
        t_leaves, t_tree = tree_flatten(tuple(tangents))
        if t_tree != treedef:
            raise ValueError(
                f"linearize: the tangents {t_tree!r} must match the primals' structure "
                f"{treedef!r} (one tangent per primal, f_jvp(*tangents))"
            )
        tan = {}
        for x, t, p in zip(ins, t_leaves, leaves):
            t = _check_tangent(p, _as_array(t, "linearize"), "linearize", weak=type(t) in _WEAK)
            if type(x) is ReverseTracer:
                tan[x.node] = t
        for node in order:
            if node.prim is None:
                continue
            pidx = node.pidx
            ts = [
                None if p is None else _node_tangent(tan, p, None if pidx is None else pidx[i])
                for i, p in enumerate(node.parents)
            ]
            if all(t is None for t in ts):
                continue
            prim = node.prim
            if prim.tangent is not None:
                tan[node] = apply_tangent_rule(prim, node.ans, node.args, ts, node.params)
            else:
                tan[node] = prim.jvp_rule(node.args, ts, node.params)[1]
        out_t = []
        for v in out_leaves:
            t = None
            if type(v) is ReverseTracer and v._trace is trace:
                t = _node_tangent(tan, v.node, v.idx)
            out_t.append(_zeros_like(_unwrap_out(v, trace)) if t is None else t)
        return tree_unflatten(out_tree, out_t)

    return tree_unflatten(out_tree, out_vals), f_jvp


def _node_tangent(tan, node, idx):
    from ..ad.common import fit_to

    t = tan.get(node)
    if t is None:
        return None
    if idx is not None:
        t = t[idx]
        if t is None:
            return None
        return fit_to(t, node.shape[idx], node.dtype[idx])
    return fit_to(t, node.shape, node.dtype)


def _forward_order(nodes):
    """Topological order (inputs first) of the nodes reachable from the outputs."""
    nodeset = set(nodes)
    indeg = {n: 0 for n in nodes}
    children: dict = {n: [] for n in nodes}
    for n in nodes:
        for p in n.parents or ():
            if p is not None and p in nodeset:
                indeg[n] += 1
                children[p].append(n)
    ready = [n for n in nodes if indeg[n] == 0]
    order = []
    while ready:
        n = ready.pop()
        order.append(n)
        for c in children[n]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    return order


# ------------------------------------------------------------------ vmap
def _leaf_size(x, axis, where=""):
    s = getattr(x, "shape", ())
    if axis is None:
        return None
    if not s:
        raise ValueError(
            f"vmap: cannot map over axis {axis} of a 0-d value{where}; use in_axes=None for it"
        )
    if not -len(s) <= axis < len(s):
        raise ValueError(
            f"vmap: in_axes {axis} is out of range for a value of shape {tuple(s)}{where} "
            f"(valid: {-len(s)} to {len(s) - 1}, or None)"
        )
    return s[axis]


def _check_axis_spec(a, what):
    if a is not None and not _is_index(a):
        raise TypeError(
            f"vmap: {what} entries must be integers or None, got {a!r} of type {type(a).__name__}"
        )


def _broadcast_axes(axes, tree, what):
    """Expand an in_axes/out_axes spec (int, None or a prefix pytree) to one per leaf."""
    leaves, treedef = tree_flatten(tree)
    if axes is None or _is_index(axes):
        return [axes] * len(leaves)
    # ``axes`` is a pytree prefix of ``tree``: expand each of its leaves over the subtree.
    out = []
    stack = [(axes, tree)]
    result_pairs = []
    while stack:
        a, t = stack.pop()
        if a is None or _is_index(a):
            result_pairs.append((a, len(tree_flatten(t)[0])))
            continue
        if not isinstance(a, (list, tuple, dict)):
            _check_axis_spec(a, what)
        if isinstance(a, (list, tuple)) and isinstance(t, (list, tuple)) and len(a) == len(t):
            for ai, ti in reversed(list(zip(a, t))):
                stack.append((ai, ti))
        elif isinstance(a, dict) and isinstance(t, dict) and set(a) == set(t):
            for k in reversed(sorted(t)):
                stack.append((a[k], t[k]))
        else:
            if isinstance(t, (list, tuple)):
                stands = f"a {type(t).__name__} of length {len(t)}"
            elif isinstance(t, dict):
                stands = f"a dict with keys {sorted(t, key=repr)}"
            else:
                stands = "a single array"
            raise ValueError(
                f"vmap: {what} {axes!r} does not match the structure of the values: its entry "
                f"{a!r} stands for {stands}; give one entry per element (the same keys for "
                "a dict), or a single int/None for the whole"
            )
    for a, n in result_pairs:
        out.extend([a] * n)
    return out


def vmap(fun, in_axes=0, out_axes=0):
    """Vectorise ``fun`` over an axis of its arguments (JAX semantics).

    ``in_axes``: an int, None (not mapped), or a tuple with one entry (itself a pytree
    prefix) per positional argument. ``out_axes`` likewise for the output.
    """
    _check_callable(fun, "vmap")
    if not (in_axes is None or _is_index(in_axes) or isinstance(in_axes, (tuple, list, dict))):
        _check_axis_spec(in_axes, "in_axes")
    if not (out_axes is None or _is_index(out_axes) or isinstance(out_axes, (tuple, list, dict))):
        _check_axis_spec(out_axes, "out_axes")

    @functools.wraps(fun)
    def vf(*args, **kwargs):
        if kwargs:
            raise TypeError(
                f"vmap: keyword arguments ({', '.join(kwargs)}) are not supported; pass them "
                "positionally (with an in_axes entry each), or bind them with "
                "functools.partial before vmap"
            )
        spec = in_axes
        if isinstance(spec, list):
            spec = tuple(spec)
        if isinstance(spec, tuple) and len(spec) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(spec)} entries but the function got {len(args)} "
                "positional arguments"
            )
        leaves, treedef = tree_flatten(args)
        axes = _broadcast_axes(spec, args, "in_axes")
        leaves = [x if a is None else _as_array(x, "vmap") for x, a in zip(leaves, axes)]
        sizes = {_leaf_size(x, a) for x, a in zip(leaves, axes) if a is not None}
        if not sizes:
            raise ValueError(
                "vmap: in_axes maps no argument (every entry is None, or there are no array "
                "arguments); at least one must be mapped"
            )
        if len(sizes) > 1:
            raise ValueError(f"vmap: mapped axes have different sizes: {_size_report(args, spec)}")
        (size,) = sizes
        trace = BatchTrace(size)
        with trace_scope(trace):
            ins = []
            for x, a in zip(leaves, axes):
                if a is None:
                    ins.append(x)
                else:
                    ins.append(BatchTracer(trace, shapes.moveaxis(x, a, 0) if a else x))
            result = fun(*tree_unflatten(treedef, ins))
        out_leaves, out_tree = tree_flatten(result)
        oaxes = _broadcast_axes(out_axes, result, "out_axes")
        outs = []
        for v, a in zip(out_leaves, oaxes):
            if type(v) is BatchTracer and v._trace is trace:
                val = v.val
            else:
                v = _as_array(v, "vmap")
                val = shapes.broadcast_to(
                    shapes.expand_dims(v, 0), (size,) + tuple(getattr(v, "shape", ()))
                )
            if a is None:
                raise ValueError(
                    "vmap: out_axes=None needs an output that does not vary along the mapped "
                    "axis, but this one does; give it an integer out_axes"
                )
            nd = len(getattr(val, "shape", ()))
            if not -nd <= a < nd:
                raise ValueError(
                    f"vmap: out_axes {a} is out of range for an output of {nd - 1} dimensions "
                    f"(with the mapped axis: {nd}; valid: {-nd} to {nd - 1})"
                )
            outs.append(shapes.moveaxis(val, 0, a) if a else val)
        return tree_unflatten(out_tree, outs)

    return vf


def _size_report(args, spec):
    """Which argument maps which axis of which size (for the error of unequal sizes)."""
    parts = []
    for i, arg in enumerate(args):
        sub = spec[i] if isinstance(spec, tuple) else spec
        leaves = tree_flatten(arg)[0]
        axes = _broadcast_axes(sub, arg, "in_axes")
        for x, a in zip(leaves, axes):
            if a is not None:
                parts.append(f"argument {i} has size {getattr(x, 'shape', ())[a]} along axis {a}")
    return "; ".join(parts) + " -- every mapped axis must have the same length"


# ------------------------------------------------------------------ Jacobians
def _std_basis(leaves):
    """The identity over the flattened inputs, split per leaf: (n, *leaf.shape) each."""
    if len(leaves) == 1 and type(leaves[0]) is np.ndarray:
        x = leaves[0]
        n = x.size
        return [np.eye(n, dtype=x.dtype).reshape((n,) + x.shape)], n
    sizes = [int(np.prod(getattr(x, "shape", ()), dtype=int)) for x in leaves]
    n = sum(sizes)
    dtype = np.result_type(*[x.dtype for x in leaves])
    xp = (
        module_of(leaves[0].primal_value() if isinstance(leaves[0], Tracer) else leaves[0])
        if leaves
        else np
    )
    eye = xp.eye(n, dtype=dtype)
    out = []
    start = 0
    for x, s in zip(leaves, sizes):
        block = eye[:, start : start + s].reshape((n,) + tuple(getattr(x, "shape", ())))
        out.append(block.astype(x.dtype))
        start += s
    return out, n


def _require_leaves(leaves, what, fn_name):
    if not leaves:
        raise TypeError(
            f"{fn_name}: {what} hold no arrays (None or empty containers), so there is nothing "
            "to differentiate; pass the values to differentiate, or choose them with argnums"
        )


def _check_holomorphic_input(x, holomorphic, fn_name):
    if holomorphic and x.dtype.kind != "c":
        raise TypeError(
            f"{fn_name}: holomorphic=True needs complex inputs, got {x.dtype}; pass "
            "x.astype(complex)"
        )
    if not holomorphic and x.dtype.kind == "c" and fn_name.startswith("jacfwd"):
        raise TypeError(
            f"{fn_name}: complex input ({x.dtype}) without holomorphic=True; pass "
            "holomorphic=True for a holomorphic function (the Jacobian is f'(z)), or "
            "differentiate with respect to the real and imaginary parts separately"
        )


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian by forward mode: one forward pass carrying all n basis tangents.

    The primal is computed once; every tangent carries a leading axis of length n (a
    batched JVP). For ``f: R^n -> R^m`` the result has shape ``out.shape + in.shape``;
    pytrees of inputs/outputs give nested structures as in JAX. Complex inputs need
    ``holomorphic=True`` (the Jacobian is then :math:`f'(z)`); for a function that is not
    holomorphic, split the input into real and imaginary parts.
    """
    return _jacfwd(fun, argnums, has_aux, holomorphic)


def _jacfwd(fun, argnums=0, has_aux=False, holomorphic=False, batched_tangents=True):
    """:func:`jacfwd`; ``batched_tangents=False`` takes the general path, ``vmap`` of
    ``jvp`` (the same numbers, more slowly: kept as the reference the fast path is
    tested against)."""
    _check_callable(fun, "jacfwd")
    fn_name = f"jacfwd({_fn_name(fun)})"
    nums_cache: dict = {}

    def jac(*args, **kwargs):
        got = nums_cache.get(len(args))
        if got is None:
            got = nums_cache[len(args)] = _argnums_tuple(argnums, len(args), fn_name)
        single, nums = got
        if batched_tangents and single and not has_aux:
            x = args[nums[0]]
            if type(x) is np.ndarray and x.dtype.kind == "f" and not holomorphic:
                # The common case: one real array input, one batched pass with diagonal
                # tangents, no pytrees (what the general code below does for it).
                return _jacfwd_array(fun, args, kwargs, nums[0], x, fn_name)
        dyn = tuple(args[i] for i in nums)
        d_leaves, d_tree = tree_flatten(dyn)
        _require_leaves(d_leaves, f"the arguments argnums={argnums!r}", fn_name)
        d_leaves = [_as_array(x, fn_name) for x in d_leaves]
        for x in d_leaves:
            _check_float(x, "an input", fn_name)
            _check_holomorphic_input(x, holomorphic, fn_name)
        if batched_tangents and len(d_leaves) == 1 and type(d_leaves[0]) is np.ndarray:
            basis, n = None, d_leaves[0].size  # diagonal tangents: no basis needed
        else:
            basis, n = _std_basis(d_leaves)

        def f_dyn(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return fun(*full, **kwargs)

        if batched_tangents:
            jac_t, aux = _push_basis(f_dyn, d_leaves, d_tree, basis, n, has_aux, fn_name)
        else:
            primals = tree_unflatten(d_tree, d_leaves)

            def push(*t_leaves):
                tangents = tree_unflatten(d_tree, list(t_leaves))
                return _jvp_core(f_dyn, primals, tangents, has_aux, fn_name)

            batched = vmap(push)(*basis)
            if has_aux:
                _, jac_t, aux = batched
                aux = tree_map(lambda a: a[0], aux)
            else:
                _, jac_t = batched
        # jac_t leaves: (n, *out_shape) -> out_shape + in_shape, split per input leaf.
        jac_tree = _reshape_jac_fwd(jac_t, d_leaves, d_tree, single)
        return (jac_tree, aux) if has_aux else jac_tree

    jac._ad_name = fn_name  # for error messages
    return jac


def _jacfwd_array(fun, args, kwargs, i, x, fn_name):
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
    jac_t, _ = _collect_tangents(result, trace, n, False, fn_name)
    return _reshape_jac_fwd(jac_t, [x], d_tree, True)


def _push_basis(f_dyn, d_leaves, d_tree, basis, n, has_aux, fn_name):
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
    return _collect_tangents(result, trace, n, has_aux, fn_name)


def _collect_tangents(result, trace, n, has_aux, fn_name):
    """The output tangents of a batched-tangent run (and its aux value, or None)."""
    aux = None
    if has_aux:
        result, aux = _aux_pair(result, fn_name)
        aux = tree_map(lambda v: _out_value(v.primal if _is_jvp_of(v, trace) else v), aux)
    out_leaves, out_tree = tree_flatten(result)
    touts = []
    for v in out_leaves:
        if _is_jvp_of(v, trace):
            t = v.tangent
            touts.append(trace.dense(t) if type(t) is Diagonal else t)
        else:
            # No dependence on the inputs: zeros, in the output's dtype (as jvp gives).
            v = _as_array(v, fn_name)
            s = tuple(getattr(v, "shape", ()))
            z = _zeros_like(v)
            touts.append(shapes.broadcast_to(shapes.expand_dims(z, 0), (n,) + s))
    return tree_unflatten(out_tree, touts), aux


def _out_value(v):
    """A value leaving a transformation as the vmap path returns it (an array, a NumPy
    scalar for 0-d)."""
    v = _as_array(v, "vmap")
    if type(v) is np.ndarray and v.ndim == 0:
        return v[()]
    return v


def _split_last(v, d_leaves):
    """Split the flattened-input axis (axis 0 of v) into per-input-leaf blocks, moved last."""
    if len(d_leaves) == 1 and type(v) is np.ndarray:
        # One input: no split; NumPy's own transpose and reshape (what the ops compute).
        s = tuple(getattr(d_leaves[0], "shape", ()))
        nd = v.ndim
        block = v.transpose(tuple(range(1, nd)) + (0,))
        if len(s) != 1:
            block = block.reshape(block.shape[:-1] + s)
        return [block]
    outs = []
    start = 0
    for x in d_leaves:
        s = tuple(getattr(x, "shape", ()))
        k = int(np.prod(s, dtype=int))
        block = v[start : start + k]
        block = shapes.moveaxis(block, 0, -1)
        block = shapes.reshape(block, tuple(block.shape[:-1]) + s)
        outs.append(block)
        start += k
    return outs


def _reshape_jac_fwd(jac_t, d_leaves, d_tree, single):
    def per_out(v):
        blocks = _split_last(v, d_leaves)
        tree = tree_unflatten(d_tree, blocks)
        return tree[0] if single else tree

    return tree_map(per_out, jac_t)


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian by reverse mode: one forward run, then all m basis cotangents pushed
    back through the tape in one vectorised (vmapped) sweep. Complex outputs need
    ``holomorphic=True`` (and complex inputs); otherwise the imaginary part of the output
    would have no row in the Jacobian."""
    _check_callable(fun, "jacrev")
    fn_name = f"jacrev({_fn_name(fun)})"
    nums_cache: dict = {}

    def jac(*args, **kwargs):
        got = nums_cache.get(len(args))
        if got is None:
            got = nums_cache[len(args)] = _argnums_tuple(argnums, len(args), fn_name)
        single, nums = got
        if holomorphic:
            for x in tree_flatten(tuple(args[i] for i in nums))[0]:
                _check_holomorphic_input(_as_array(x, fn_name), True, fn_name)

        def f_dyn(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return fun(*full, **kwargs)

        out, ct_fn, aux = _vjp_core(f_dyn, tuple(args[i] for i in nums), has_aux, fn_name)
        o_leaves, o_tree = tree_flatten(out)
        o_leaves = [_as_array(v, fn_name) for v in o_leaves]
        for v in o_leaves:
            if v.dtype.kind not in "fc":
                raise TypeError(
                    f"{fn_name}: outputs must be floating or complex, got {v.dtype}; an "
                    "integer or boolean result has no derivative"
                )
            if (v.dtype.kind == "c") != bool(holomorphic):
                raise TypeError(
                    f"{fn_name}: complex output ({v.dtype}) without holomorphic=True; pass "
                    "holomorphic=True for a holomorphic function, or take real/imag parts"
                    if not holomorphic
                    else f"{fn_name}: holomorphic=True needs complex outputs, got {v.dtype}"
                )
        if len(o_leaves) == 1 and _size_of(o_leaves[0]) == 1:
            # One output element (a scalar function): a single reverse sweep seeded with
            # 1, and the gradient is the Jacobian (with the output's unit axes in front).
            o = o_leaves[0]
            inner = o.primal_value() if isinstance(o, Tracer) else o
            seed = module_of(inner).ones(o.shape, dtype=o.dtype)
            grads = ct_fn(tree_unflatten(o_tree, [seed]), free=True)
            s = tuple(o.shape)
            if s:
                grads = tree_map(lambda g: shapes.reshape(g, s + tuple(g.shape)), grads)
            res = tree_unflatten(o_tree, [grads[0] if single else grads])
            return (res, aux) if has_aux else res
        basis, m = _std_basis(o_leaves)
        if m == 1:
            # One output element (a scalar function): a single reverse sweep, no batching.
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
            k = int(np.prod(s, dtype=int))
            blocks = []
            for g in in_leaves:
                b = g[start : start + k]
                blocks.append(shapes.reshape(b, s + tuple(b.shape[1:])))
            t = tree_unflatten(in_tree, blocks)
            per_out.append(t[0] if single else t)
            start += k
        res = tree_unflatten(o_tree, per_out)
        return (res, aux) if has_aux else res

    jac._ad_name = fn_name  # for error messages
    return jac


def _size_of(x) -> int:
    n = 1
    for d in getattr(x, "shape", ()):
        n *= d
    return n


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian: forward-over-reverse, ``jacfwd(jacrev(fun))`` -- one reverse pass whose
    sweep is pushed forward with all n basis tangents at once."""
    return _hessian(fun, argnums, has_aux, holomorphic)


def _hessian(fun, argnums=0, has_aux=False, holomorphic=False, batched_tangents=True):
    """:func:`hessian`; ``batched_tangents`` as for :func:`_jacfwd`."""
    _check_callable(fun, "hessian")
    return _jacfwd(
        jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic, batched_tangents
    )


def hvp(fun, primals, tangents):
    """Hessian-vector product :math:`H(x) v` by forward-over-reverse (a JVP of the
    gradient), without forming the Hessian. ``primals`` and ``tangents`` are tuples of the
    positional arguments and their directions; the result is shaped like the gradient
    (an array for one argument, a tuple for several)."""
    _check_callable(fun, "hvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "hvp: primals and tangents must be tuples (or lists) of arguments, e.g. "
            "hvp(f, (x,), (v,))"
        )
    if not primals:
        raise TypeError("hvp: give at least one primal argument")
    if len(primals) != len(tangents):
        raise ValueError(
            f"hvp: {len(primals)} primals but {len(tangents)} tangents; give one direction "
            "per primal"
        )
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]
