"""User-defined derivatives (``custom_jvp``, ``custom_vjp``) and ``checkpoint``.

Each wraps a Python function as one *call primitive* over the flattened pytree of its
arguments, so every transformation sees it as a single operation:

* ``custom_vjp`` -- reverse mode runs the user's ``fwd`` (its residuals are kept on the
  tape) and ``bwd``. Forward mode, which JAX refuses, differentiates the original function
  instead (documented behaviour).
* ``custom_jvp`` -- forward mode runs the user's rule; reverse mode transposes it: the
  rule is linear in the tangents, so the VJP of ``t -> jvp_rule(x, t)`` at ``t = 0`` is its
  transpose.
* ``checkpoint`` -- reverse mode stores only the inputs and recomputes the function (with
  its own tape) during the backward sweep.

Under ``vmap`` each call is re-bound with ``vmap``-ed versions of the user's functions, so
custom rules keep working inside batched code, Jacobians and Hessians.
"""

from __future__ import annotations

import functools
import inspect

from ..core.primitive import Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from .transforms import _check_callable, _is_index, _zeros_like, jvp, vjp, vmap

__all__ = ["custom_jvp", "custom_vjp", "checkpoint", "remat"]


class _Box:
    """A mutable slot for the output tree structure, filled when the function first runs."""

    __slots__ = ("tree",)

    def __init__(self):
        self.tree = None


def _flat_fun(fun, in_tree, box):
    def f(*leaves):
        out = fun(*tree_unflatten(in_tree, list(leaves)))
        out_leaves, out_tree = tree_flatten(out)
        if box.tree is None:
            box.tree = out_tree
        return tuple(out_leaves)

    return f


def _call_impl(xp, *leaves, fun, **params):
    return fun(*leaves)


def _nondiff_argnums(nums, what):
    nums = (nums,) if _is_index(nums) else nums
    if not isinstance(nums, (tuple, list)) or not all(_is_index(i) for i in nums):
        raise TypeError(f"{what}: nondiff_argnums must be a tuple of ints, got {nums!r}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{what}: nondiff_argnums {nums!r} names an argument twice")
    return tuple(int(i) for i in nums)


def _positional(fun, args, kwargs, what):
    """Keyword arguments bound to their positions (the rules see positional arguments)."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: {e}") from None
    if bound.kwargs:
        raise TypeError(
            f"{what}: keyword-only arguments ({', '.join(bound.kwargs)}) are not supported; "
            "make them positional, or bind them with functools.partial"
        )
    return bound.args


def _static_indices(nd, nargs, what):
    out = []
    for i in nd:
        if not -nargs <= i < nargs:
            raise ValueError(
                f"{what}: nondiff_argnums {i} is out of range for a call with {nargs} "
                "positional arguments"
            )
        out.append(i % nargs)
    return out


def _check_cotangent(c, a, what, where):
    """A user rule's derivative for one leaf: numeric, and of the leaf's shape (a 0-d
    value stands for a constant)."""
    cs = getattr(c, "shape", None)
    if cs is None:
        if not isinstance(c, (int, float, complex)):
            raise TypeError(
                f"{what} for {where} must be an array or a number, got {type(c).__name__}"
            )
        return
    dt = getattr(c, "dtype", None)
    if dt is not None and dt.kind not in "biufc":
        raise TypeError(f"{what} for {where} must be numeric, got dtype {dt}")
    want = tuple(getattr(a, "shape", ()))
    if tuple(cs) != want and tuple(cs) != ():
        raise ValueError(
            f"{what} for {where} has shape {tuple(cs)}, but {where} has shape {want}; "
            "return one of that shape"
        )


def _axes(batched):
    return tuple(0 if b else None for b in batched)


def _unbatch_cts(cts, batched):
    """Cotangents of unbatched arguments are summed over the batch axis."""
    from ..ops.reductions import sum as _sum

    return [c if b or c is None else _sum(c, 0) for c, b in zip(cts, batched)]


# ------------------------------------------------------------------ custom_vjp
def _cvjp_jvp(primals, tangents, params):
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    out, t_out = jvp(params["fun"], tuple(primals), tuple(ts))
    return out, t_out


def _cvjp_reverse(trace, vals, parents, params, pidx):
    out, res = params["fwd"](*vals)
    node_params = dict(params, res=res)
    return trace.record(custom_vjp_p, node_params, vals, tuple(out), parents, pidx)


def _cvjp_vjp(ct, ans, args, params, wanted):
    return list(params["bwd"](params["res"], tuple(ct)))


def _cvjp_batch(vals, batched, size, *, fun, fwd, bwd):
    ax = _axes(batched)
    fun_b = vmap(fun, in_axes=ax)
    fwd_b = vmap(fwd, in_axes=ax)

    def bwd_b(res, ct):
        return tuple(_unbatch_cts(list(vmap(bwd)(res, ct)), batched))

    return custom_vjp_p.bind(*vals, fun=fun_b, fwd=fwd_b, bwd=bwd_b)


custom_vjp_p = Primitive(
    "custom_vjp_call",
    _call_impl,
    jvp_rule=_cvjp_jvp,
    vjp=_cvjp_vjp,
    reverse=_cvjp_reverse,
    batch=_cvjp_batch,
    multiple_results=True,
    doc="A function with a user-defined VJP (see adgraph.custom_vjp).",
)


def _split_call(wrapper, args, kwargs, what):
    """``(nondiff indices, {index: static value}, differentiable args, full)`` for a call
    of a custom-rule function; ``full(dargs)`` puts the static values back in place."""
    args = _positional(wrapper.fun, args, kwargs, what)
    nd = _static_indices(wrapper.nondiff_argnums, len(args), what)
    static = {i: args[i] for i in nd}
    dyn = tuple(a for i, a in enumerate(args) if i not in static)
    n = len(args)

    def full(dargs):
        it = iter(dargs)
        return tuple(static[i] if i in static else next(it) for i in range(n))

    return nd, static, dyn, full


class custom_vjp:
    """A function with a user-defined reverse-mode rule, as ``jax.custom_vjp``::

        @custom_vjp
        def f(x, y): ...
        def f_fwd(x, y): return f(x, y), residuals
        def f_bwd(residuals, ct): return (ct_x, ct_y)   # one per positional argument
        f.defvjp(f_fwd, f_bwd)

    ``bwd`` returns a tuple with one cotangent pytree per positional argument (``None`` for
    a zero). Under forward mode the original function is differentiated.
    """

    def __init__(self, fun, nondiff_argnums=()):
        _check_callable(fun, "custom_vjp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = None
        self.bwd = None
        self.nondiff_argnums = _nondiff_argnums(nondiff_argnums, "custom_vjp")

    def defvjp(self, fwd, bwd):
        _check_callable(fwd, f"custom_vjp {self.__name__!r}: defvjp's fwd")
        _check_callable(bwd, f"custom_vjp {self.__name__!r}: defvjp's bwd")
        self.fwd = fwd
        self.bwd = bwd
        return self

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise TypeError(
                f"custom_vjp function {self.__name__!r} has no rule; call .defvjp(fwd, bwd)"
            )
        what = f"custom_vjp {self.__name__!r}"
        nd, static, dyn, full = _split_call(self, args, kwargs, what)
        dyn_pos = [i for i in range(len(static) + len(dyn)) if i not in static]

        leaves, in_tree = tree_flatten(dyn)
        box = _Box()
        fun = _flat_fun(lambda *d: self.fun(*full(d)), in_tree, box)
        fbox = _Box()

        def fwd(*ls):
            got = self.fwd(*full(tree_unflatten(in_tree, list(ls))))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                raise TypeError(
                    f"{what}: fwd must return a pair (output, residuals), got "
                    f"{type(got).__name__}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
                )
            out, res = got
            out_leaves, out_tree = tree_flatten(out)
            if fbox.tree is None:
                fbox.tree = out_tree
            return tuple(out_leaves), res

        def bwd(res, ct_leaves):
            tree = fbox.tree if fbox.tree is not None else box.tree
            cts = self.bwd(
                *(tuple(static[i] for i in nd) + (res,)), tree_unflatten(tree, list(ct_leaves))
            )
            if not isinstance(cts, (tuple, list)):
                raise TypeError(
                    f"custom_vjp {self.__name__!r}: bwd must return a tuple with one cotangent "
                    f"per differentiable argument, got {type(cts).__name__}"
                )
            if len(cts) != len(dyn):
                raise TypeError(
                    f"custom_vjp {self.__name__!r}: bwd returned {len(cts)} cotangents for "
                    f"{len(dyn)} differentiable arguments"
                )
            flat = []
            for c, a, pos in zip(cts, dyn, dyn_pos):
                a_leaves, a_tree = tree_flatten(a)
                if c is None:
                    flat.extend([None] * len(a_leaves))
                    continue
                c_leaves, c_tree = tree_flatten(c)
                if c_tree != a_tree:
                    raise TypeError(
                        f"custom_vjp {self.__name__!r}: the cotangent for argument {pos} has "
                        f"structure {c_tree!r}, the argument {a_tree!r}"
                    )
                for cl, al in zip(c_leaves, a_leaves):
                    if cl is not None:
                        _check_cotangent(cl, al, f"{what}: bwd's cotangent", f"argument {pos}")
                flat.extend(c_leaves)
            return flat

        out = custom_vjp_p.bind(*leaves, fun=fun, fwd=fwd, bwd=bwd)
        tree = box.tree if box.tree is not None else fbox.tree
        return tree_unflatten(tree, list(out))


# ------------------------------------------------------------------ custom_jvp
def _cjvp_jvp(primals, tangents, params):
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    out, t_out = params["jvp"](tuple(primals), tuple(ts))
    return tuple(out), tuple(t_out)


def _cjvp_reverse(trace, vals, parents, params, pidx):
    ans = params["fun"](*vals)
    return trace.record(custom_jvp_p, params, vals, tuple(ans), parents, pidx)


def _cjvp_vjp(ct, ans, args, params, wanted):
    rule = params["jvp"]
    zeros = tuple(_zeros_like(a) for a in args)
    _, pull = vjp(lambda *ts: tuple(rule(tuple(args), ts)[1]), *zeros)
    return list(pull(tuple(ct)))


def _cjvp_batch(vals, batched, size, *, fun, jvp):
    ax = _axes(batched)
    return custom_jvp_p.bind(*vals, fun=vmap(fun, in_axes=ax), jvp=vmap(jvp, in_axes=(ax, ax)))


custom_jvp_p = Primitive(
    "custom_jvp_call",
    _call_impl,
    jvp_rule=_cjvp_jvp,
    vjp=_cjvp_vjp,
    reverse=_cjvp_reverse,
    batch=_cjvp_batch,
    multiple_results=True,
    doc="A function with a user-defined JVP (see adgraph.custom_jvp).",
)


class custom_jvp:
    """A function with a user-defined forward-mode rule, as ``jax.custom_jvp``::

        @custom_jvp
        def f(x): ...
        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return f(x), rule(x) * t

    The rule must be linear in the tangents; reverse mode uses its transpose.
    """

    def __init__(self, fun, nondiff_argnums=()):
        _check_callable(fun, "custom_jvp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp = None
        self.nondiff_argnums = _nondiff_argnums(nondiff_argnums, "custom_jvp")

    def defjvp(self, jvp_rule):
        _check_callable(jvp_rule, f"custom_jvp {self.__name__!r}: defjvp's rule")
        self.jvp = jvp_rule
        return jvp_rule

    def defjvps(self, *per_arg):
        """One rule per positional argument, ``rule(t, ans, *primals) -> tangent``."""
        for r in per_arg:
            if r is not None:
                _check_callable(r, f"custom_jvp {self.__name__!r}: defjvps' rules")

        def rule(primals, tangents):
            if len(per_arg) != len(primals):
                raise TypeError(
                    f"custom_jvp {self.__name__!r}: defjvps got {len(per_arg)} rules for "
                    f"{len(primals)} differentiable arguments; give one per argument "
                    "(None for an argument without a derivative)"
                )
            ans = self.fun(*primals)
            out = None
            for r, t in zip(per_arg, tangents):
                if r is None:
                    continue
                c = r(t, ans, *primals)
                out = c if out is None else out + c
            return ans, (out if out is not None else _zeros_like(ans))

        self.jvp = rule
        return self

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise TypeError(
                f"custom_jvp function {self.__name__!r} has no rule; decorate one with .defjvp"
            )
        what = f"custom_jvp {self.__name__!r}"
        nd, static, dyn, full = _split_call(self, args, kwargs, what)

        leaves, in_tree = tree_flatten(dyn)
        box = _Box()
        fun = _flat_fun(lambda *d: self.fun(*full(d)), in_tree, box)
        user = self.jvp

        def rule(primal_leaves, tangent_leaves):
            ps = tree_unflatten(in_tree, list(primal_leaves))
            ts = tree_unflatten(in_tree, list(tangent_leaves))
            if nd:
                got = user(*(static[i] for i in nd), tuple(ps), tuple(ts))
            else:
                got = user(tuple(ps), tuple(ts))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                raise TypeError(
                    f"{what}: the JVP rule must return a pair (primal_out, tangent_out), got "
                    f"{type(got).__name__}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
                )
            out, t_out = got
            o_leaves, o_tree = tree_flatten(out)
            t_leaves, t_tree = tree_flatten(t_out)
            if o_tree != t_tree:
                raise TypeError(
                    f"custom_jvp {self.__name__!r}: the rule's primal and tangent outputs have "
                    f"different structures {o_tree!r} and {t_tree!r}"
                )
            for k, (o, t) in enumerate(zip(o_leaves, t_leaves)):
                _check_cotangent(t, o, f"{what}: the rule's tangent", f"output {k}")
            if box.tree is None:
                box.tree = o_tree
            return tuple(o_leaves), tuple(t_leaves)

        out = custom_jvp_p.bind(*leaves, fun=fun, jvp=rule)
        return tree_unflatten(box.tree, list(out))


# ------------------------------------------------------------------ checkpoint
def _ckpt_jvp(primals, tangents, params):
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    return jvp(params["fun"], tuple(primals), tuple(ts))


def _ckpt_reverse(trace, vals, parents, params, pidx):
    ans = params["fun"](*vals)  # no tape at this level: only the inputs are kept
    return trace.record(checkpoint_p, params, vals, tuple(ans), parents, pidx)


def _ckpt_vjp(ct, ans, args, params, wanted):
    _, pull = vjp(params["fun"], *args)  # recompute, with a tape, now
    return list(pull(tuple(ct)))


def _ckpt_batch(vals, batched, size, *, fun):
    return checkpoint_p.bind(*vals, fun=vmap(fun, in_axes=_axes(batched)))


checkpoint_p = Primitive(
    "checkpoint",
    _call_impl,
    jvp_rule=_ckpt_jvp,
    vjp=_ckpt_vjp,
    reverse=_ckpt_reverse,
    batch=_ckpt_batch,
    multiple_results=True,
    doc="A function whose intermediates are recomputed in the backward pass.",
)


def checkpoint(fun):
    """``fun`` with rematerialisation: reverse mode keeps only its inputs and recomputes
    its intermediates during the backward sweep (memory for time), as ``jax.checkpoint``."""

    _check_callable(fun, "checkpoint")

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        leaves, in_tree = tree_flatten((args, kwargs))
        box = _Box()
        out = checkpoint_p.bind(*leaves, fun=_flat_fun(lambda a, k: fun(*a, **k), in_tree, box))
        return tree_unflatten(box.tree, list(out))

    return wrapped


remat = checkpoint
