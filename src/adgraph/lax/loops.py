"""Loops that differentiate: ``scan``, ``fori_loop`` and ``map`` (``while_loop`` is in
:mod:`adgraph.lax.while_loops`).

``scan`` (and ``fori_loop`` and ``map``, written with it) is one call primitive, ``scan``,
whose parameter ``body`` is the step function on flattened leaves. It is one node of the
graph (``adgraph.trace``, ``jit``), and reverse mode records it as one node too: its
reverse handler runs the loop at binding and keeps either every step's pullback
(``checkpoints=None``) or only the initial carry, recomputing the carries the backward
sweep needs by the binomial schedule of :mod:`adgraph.lax.revolve` (``checkpoints=k``).
Both give bit-identical cotangents: each step is pulled back by the same operations on
the same values, and the cotangents of the loop's inputs are summed in the same order.
Under ``jit`` (staged values) the forward pass is one ``scan`` node, and the backward
sweep is one more: a forward and a backward loop for ``checkpoints=None``
(:mod:`adgraph.lax.staged`), one ``scan_revolve`` node holding the step and its pullback
for ``checkpoints=k`` (:mod:`adgraph.lax.revolve`), so the compiled program does not grow
with the trip count.
Forward mode runs the loop in Python on its tracers (exact by construction); ``vmap``
binds one ``scan`` of the vectorised step.
Values the body closes over that an enclosing transformation traces are lifted into
arguments of the primitive (closure conversion, :mod:`adgraph.api.closure`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as _np

from .. import numpy as anp
from ..ad.batching import BatchTracer
from ..ad.sparsity import Call
from ..ad.taylor import call_rule
from ..api import closure
from ..api.args import zeros_like
from ..api.reverse import vjp
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from ..core.trace import Tracer, current_traces
from ..tree_util import keystr, tree_flatten_with_path
from .revolve import reverse_loop, sweep_p, sweepable
from .staged import is_staged, staged_jvp, staged_reverse, staged_vjp

__all__ = ["scan", "fori_loop", "map"]


# ------------------------------------------------------------------ shared checks
def as_leaf(x: Any) -> Any:
    """Python numbers become NumPy scalars, so a carry leaf has a dtype from the start."""
    if type(x) in (bool, int, float, complex):
        return _np.asarray(x)[()]
    return x


def shape_dtype(x: Any) -> tuple[tuple[int, ...], _np.dtype]:
    """The logical shape and dtype of a leaf (a tracer's, an array's, a Python number's)."""
    if isinstance(x, Tracer) or hasattr(x, "dtype"):
        return tuple(x.shape), _np.dtype(x.dtype)
    if isinstance(x, (bool, int, float, complex)):
        return (), _np.result_type(x)
    # not result_type: it would read a string as a dtype's name ("yes" -> "not understood")
    a = _np.asarray(x)
    return tuple(a.shape), a.dtype


def check_carry(loop: str, fn: str, tree: PyTreeDef, sig: list, out: Any) -> list[Any]:
    """The leaves of ``out``, the carry ``fn`` returned, refused unless it has the initial
    carry's structure ``tree`` and each leaf its shape and dtype (``sig``)."""
    leaves, out_tree = tree_flatten(out)
    if out_tree != tree:
        raise TypeError(
            f"{loop}: {fn} must return a carry with the structure of the initial carry "
            f"{tree}, got {out_tree}"
        )
    for k, (leaf, (shape, dtype)) in enumerate(zip(leaves, sig)):
        s, d = shape_dtype(leaf)
        if s != shape or d != dtype:
            raise TypeError(
                f"{loop}: {fn} changed carry leaf {k}{_leaf_path(out, k)} of {tree} from "
                f"{dtype.name}{list(shape)} to {d.name}{list(s)}; a loop's carry keeps its "
                "shape and dtype -- give the initial value that shape and dtype (e.g. 0.0 "
                "rather than 0 for a float)"
            )
    return leaves


def _leaf_path(tree: Any, k: int) -> str:
    """`` (at carry['h'][0])``: where leaf ``k`` of ``tree`` sits; empty for a bare leaf."""
    path = keystr(tree_flatten_with_path(tree)[0][k][0])
    return f" (at carry{path})" if path else ""


def check_fn(loop: str, name: str, f: Any) -> None:
    """Refuse a loop's function argument ``name`` that cannot be called."""
    if not callable(f):
        raise TypeError(
            f"{loop}: {name} must be callable (a function of the carry), got "
            f"{type(f).__name__} {f!r:.60}"
        )


def check_predicate(p: Any, loop: str, fn: str) -> None:
    """Refuse a predicate that is not a boolean scalar."""
    s, d = shape_dtype(p)
    if d != _np.bool_ or s != ():
        raise TypeError(
            f"{loop}: {fn} must return a boolean scalar, got {d.name}{list(s)}; compare "
            "explicitly (x > 0, n != 0) and reduce arrays with anp.any / anp.all"
        )


def is_batched(x: Any) -> bool:
    """Whether ``x`` differs between the examples of an enclosing ``vmap``."""
    while isinstance(x, Tracer):
        if type(x) is BatchTracer:
            return True
        x = x._inner()
    return False


def any_example(p: Any) -> bool:
    """Whether a batched boolean is true for any example (of every enclosing ``vmap``)."""
    while type(p) is BatchTracer:
        p = p.val
    return bool(anp.any(p))


def check_checkpoints(checkpoints: Any, loop: str) -> int | None:
    if checkpoints is None:
        return None
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, (int, _np.integer)):
        raise TypeError(
            f"{loop}: checkpoints must be None (keep every step) or a positive int (the "
            f"number of carries stored), got {checkpoints!r}"
        )
    if checkpoints < 1:
        raise ValueError(f"{loop}: checkpoints must be at least 1, got {checkpoints}")
    return int(checkpoints)


def _name(f: Any) -> str:
    return getattr(f, "__name__", type(f).__name__)


# ------------------------------------------------------------------ the scan primitive
def _x_at(xs, t, length, reverse):
    i = length - 1 - t if reverse else t
    return [x[i] for x in xs]


def _run(vals, body, nc, nx, length, reverse):
    """The loop itself, on any values: ``(*final carry, *stacked ys)``."""
    carry = list(vals[:nc])
    xs = vals[nc : nc + nx]
    consts = vals[nc + nx :]
    if length == 0:  # one call on zeros only to learn the outputs' shapes
        probe = body(*carry, *[anp.zeros(tuple(x.shape[1:]), x.dtype) for x in xs], *consts)
        return (
            *carry,
            *[anp.zeros((0, *shape_dtype(y)[0]), shape_dtype(y)[1]) for y in probe[nc:]],
        )
    ys = []
    for t in range(length):
        out = body(*carry, *_x_at(xs, t, length, reverse), *consts)
        carry = list(out[:nc])
        ys.append(out[nc:])
    if reverse:
        ys.reverse()
    return (*carry, *[anp.stack([y[k] for y in ys]) for k in range(len(ys[0]))])


def _scan_impl(xp, *vals, body, nc, nx, length, reverse, checkpoints):
    return tuple(_run(vals, body, nc, nx, length, reverse))


def _loop_fun(params):
    """The whole loop as a function of the primitive's arguments, carrying the body's
    closure watch (see :func:`adgraph.api.closure.run_at_binding`)."""
    body = params["body"]

    def f(*vals):
        return tuple(
            _run(vals, body, params["nc"], params["nx"], params["length"], params["reverse"])
        )

    f._watch = getattr(body, "_watch", None)  # type: ignore[attr-defined]
    f._what = getattr(body, "_what", None)  # type: ignore[attr-defined]
    return f


def _scan_jvp(primals, tangents, params):
    if params["length"] and is_staged(primals):  # jit: one loop of the step's forward mode
        return staged_jvp(scan_p, primals, tangents, params)
    return closure.jvp_of_call(_loop_fun(params), primals, tangents)


def _scan_batch(vals, batched, size, **params):
    # one scan over the batched body (so reverse mode around vmap keeps its checkpoints):
    # the carry gets a batch axis, batched xs are scanned along their axis 1
    nc, nx = params["nc"], params["nx"]
    carry = [
        v if b else anp.broadcast_to(v, (size, *shape_dtype(v)[0]))
        for v, b in zip(vals[:nc], batched[:nc])
    ]
    xs = [anp.moveaxis(v, 0, 1) if b else v for v, b in zip(vals[nc : nc + nx], batched[nc:])]
    axes = (0,) * nc + closure.batch_axes(batched[nc:])
    body = vmap(params["body"], in_axes=axes)
    out = scan_p.bind(*carry, *xs, *vals[nc + nx :], **dict(params, body=body))
    return (*out[:nc], *[anp.moveaxis(y, 1, 0) for y in out[nc:]])


def _inexact(x) -> bool:
    return shape_dtype(x)[1].kind in "fc"


class _Step:
    """One step of the loop as a function of its differentiable leaves: the carry's inexact
    leaves, and the inexact xs and closed-over values the outer tape traces (``diff``)."""

    def __init__(self, params, vals, diff_in):
        self.body = params["body"]
        self.nc, self.nx = params["nc"], params["nx"]
        self.length, self.reverse = params["length"], params["reverse"]
        self.xs = vals[self.nc : self.nc + self.nx]
        self.consts = list(vals[self.nc + self.nx :])
        self.carry_idx = [k for k in range(self.nc) if _inexact(vals[k])]
        self.x_idx = [j for j in range(self.nx) if diff_in[self.nc + j]]
        self.c_idx = [j for j in range(len(self.consts)) if diff_in[self.nc + self.nx + j]]

    def advance(self, carry, t):
        out = self.body(*carry, *_x_at(self.xs, t, self.length, self.reverse), *self.consts)
        return list(out[: self.nc])

    def pullback(self, carry, t):
        """``(outputs, pull)``: the step's full output and the pullback of its inexact
        outputs to the differentiable leaves, at carry ``carry`` and step ``t``."""
        x = _x_at(self.xs, t, self.length, self.reverse)
        ci, xi, ki = self.carry_idx, self.x_idx, self.c_idx
        full: list = []

        def g(*d):
            c, xx, kk = list(carry), list(x), list(self.consts)
            for k, v in zip(ci, d):
                c[k] = v
            for j, v in zip(xi, d[len(ci) :]):
                xx[j] = v
            for j, v in zip(ki, d[len(ci) + len(xi) :]):
                kk[j] = v
            out = self.body(*c, *xx, *kk)
            full[:] = out
            return tuple(o for k, o in enumerate(out) if self._out_inexact(k, out))

        d = [carry[k] for k in ci] + [x[j] for j in xi] + [self.consts[j] for j in ki]
        outs, pull = vjp(g, *d)
        it = iter(outs)
        merged = [next(it) if self._out_inexact(k, full) else o for k, o in enumerate(full)]
        return merged, pull

    def _out_inexact(self, k, out):
        return k in self.carry_idx if k < self.nc else _inexact(out[k])


def _scan_reverse(trace, vals, parents, params, pidx):
    if params["checkpoints"] is None and params["length"] and is_staged(vals):
        return staged_reverse(scan_p, trace, vals, parents, params, pidx)  # jit: two loops
    diff_in = tuple(p is not None for p in parents)
    if params["checkpoints"] is None:
        step = _Step(params, vals, diff_in)

        def store_all(*v):
            # every step's pullback is kept: the backward sweep recomputes nothing
            carry, ys, pulls = list(v[: step.nc]), [], []
            for t in range(step.length):
                out, pull = step.pullback(carry, t)
                carry = out[: step.nc]
                ys.append(out[step.nc :])
                pulls.append(pull)
            if step.length == 0:
                return _run(v, params["body"], step.nc, step.nx, 0, False), pulls
            if step.reverse:
                ys.reverse()
            return (*carry, *[anp.stack([y[k] for y in ys]) for k in range(len(ys[0]))]), pulls

        store_all._watch = getattr(params["body"], "_watch", None)  # type: ignore[attr-defined]
        ans, pulls = closure.run_at_binding(trace, store_all, vals)
        params = dict(params, pulls=pulls)
    elif params["length"] and is_staged(vals):
        # jit: the forward pass is one loop (the scan itself); only inputs are kept
        def forward(*v):
            return scan_p.bind(*v, **params)

        forward._watch = getattr(params["body"], "_watch", None)  # type: ignore[attr-defined]
        ans = closure.run_at_binding(trace, forward, vals)
    else:
        ans = closure.run_at_binding(trace, _loop_fun(params), vals)  # only inputs are kept
    return trace.record(scan_p, params, vals, tuple(ans), parents, pidx)


def _staged_sweep(ct, ans, args, params, wanted):
    """The backward sweep of a checkpointed scan staged by ``jit``: one ``scan_revolve``
    node (:mod:`adgraph.lax.revolve`) holding the step and its pullback, which runs the
    revolve schedule -- not the schedule's recomputations traced one by one."""
    body = params["body"]
    nc, nx = params["nc"], params["nx"]
    nk = len(args) - nc - nx
    ny = len(ans) - nc
    ci = [k for k in range(nc) if _inexact(args[k])]
    xi = [j for j in range(nx) if wanted[nc + j] and _inexact(args[nc + j])]
    ki = [j for j in range(nk) if wanted[nc + nx + j] and _inexact(args[nc + nx + j])]
    yi = [j for j in range(ny) if _inexact(ans[nc + j])]
    nci, nxi = len(ci), len(xi)

    def back(*leaves):
        # (*carry, *x, *consts, *ct of the carry's inexact leaves, *ct of the inexact ys)
        # -> (*ct of the carry before the step, *ct of the x, *ct of the consts)
        c, x = leaves[:nc], leaves[nc : nc + nx]
        kk = leaves[nc + nx : nc + nx + nk]
        gc = leaves[nc + nx + nk : nc + nx + nk + nci]
        gy = leaves[nc + nx + nk + nci :]

        def step(*d):
            c2, x2, k2 = list(c), list(x), list(kk)
            for k, v in zip(ci, d):
                c2[k] = v
            for j, v in zip(xi, d[nci:]):
                x2[j] = v
            for j, v in zip(ki, d[nci + nxi :]):
                k2[j] = v
            out = body(*c2, *x2, *k2)
            return tuple(out[k] for k in ci) + tuple(out[nc + j] for j in yi)

        d = [c[k] for k in ci] + [x[j] for j in xi] + [kk[j] for j in ki]
        _, pull = vjp(step, *d)
        return tuple(pull((*gc, *gy)))

    back._what = getattr(body, "_what", None)  # type: ignore[attr-defined]
    gc = [zeros_like(args[k]) if ct[k] is None else ct[k] for k in ci]
    gy = [zeros_like(ans[nc + j]) if ct[nc + j] is None else ct[nc + j] for j in yi]
    sp = dict(
        fwd=body,
        back=back,
        nc=nc,
        nx=nx,
        nk=nk,
        ci=tuple(ci),
        xi=tuple(xi),
        ki=tuple(ki),
        length=params["length"],
        reverse=params["reverse"],
        checkpoints=params["checkpoints"],
    )
    out = sweep_p.bind(*args, *gc, *gy, **sp)
    res: list[Any] = [None] * len(args)
    for k, g in zip(ci, out[:nci]):
        res[k] = g if wanted[k] else None
    for j, g in zip(xi, out[nci : nci + nxi]):
        res[nc + j] = g
    for j, g in zip(ki, out[nci + nxi :]):
        res[nc + nx + j] = g
    return res


def _scan_vjp(ct, ans, args, params, wanted):
    if "carries" in params:  # recorded by staged_reverse
        return staged_vjp(scan_p, ct, ans, args, params, wanted)
    if params["length"] and sweepable([*args, *ct]):
        return _staged_sweep(ct, ans, args, params, wanted)  # jit: one node, the schedule
    step = _Step(params, args, wanted)
    nc, length = step.nc, step.length
    ys_inexact = [_inexact(a) for a in ans[nc:]]
    state: dict = {"carry": [ct[k] for k in step.carry_idx], "consts": None, "xs": {}}
    nci, nxi = len(step.carry_idx), len(step.x_idx)

    def apply(pull, t):
        i = length - 1 - t if step.reverse else t
        ct_y = [c[i] for c, ok in zip(ct[nc:], ys_inexact) if ok]
        got = pull((*state["carry"], *ct_y))
        state["carry"] = list(got[:nci])
        state["xs"][i] = got[nci : nci + nxi]
        gk = got[nci + nxi :]
        acc = state["consts"]
        # summed last step first, as a tape of the unrolled loop sums them
        state["consts"] = list(gk) if acc is None else [a + g for a, g in zip(acc, gk)]

    if "pulls" in params:
        pulls = params["pulls"]
        for t in range(length - 1, -1, -1):
            apply(pulls[t], t)
    else:

        def backstep(carry, t):
            apply(step.pullback(carry, t)[1], t)

        reverse_loop(length, params["checkpoints"], list(args[:nc]), step.advance, backstep)
    out: list = [None] * len(args)
    for k, c in zip(step.carry_idx, state["carry"]):
        out[k] = c if wanted[k] else None
    for n, j in enumerate(step.x_idx):
        xs = args[nc + j]
        if length == 0:
            out[nc + j] = zeros_like(xs)
        else:
            out[nc + j] = anp.stack([state["xs"][i][n] for i in range(length)])
    nx = step.nx
    for n, j in enumerate(step.c_idx):
        got = state["consts"]
        out[nc + nx + j] = zeros_like(args[nc + nx + j]) if got is None else got[n]
    return out


scan_p = Primitive(
    "scan",
    _scan_impl,
    jvp_rule=_scan_jvp,
    joint_vjp=_scan_vjp,
    reverse=_scan_reverse,
    batch=_scan_batch,
    multiple_results=True,
    doc="A loop c, y_t = f(c, x_t) over the leading axis of xs; ys stacked along axis 0.",
    taylor=call_rule(_loop_fun),
    sparsity=Call(_loop_fun),  # the loop run on the patterns, step by step
)


def _example_slice(a):
    """A concrete example of one slice ``a[0]`` of an xs leaf (zeros for an empty one)."""
    v = closure._example(a)[0] if isinstance(a, Tracer) else a
    return v[0] if v.shape[0] else _np.zeros(v.shape[1:], v.dtype)


def _convert_scan(body, init, xs, params, what):
    """Closure conversion of the step function: recorded once, with the carry and the
    slice of xs as inputs that differ in every step (never baked in as constants)."""
    conv = closure.Conversion(list(init) + list(xs))
    specs = [(closure._example(a)[0] if isinstance(a, Tracer) else a, False) for a in init]
    specs += [(_example_slice(a), False) for a in xs]
    program, _ = conv.record(body, specs)
    lifted = conv.lifted(what)
    if lifted is None:
        return None
    fun2 = conv.function(program)
    fun2._what = what  # type: ignore[attr-defined]
    return dict(params, body=fun2), lifted


# ------------------------------------------------------------------ the public loops
def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    *,
    checkpoints: int | None = None,
) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return the final
    carry and the ``y``'s stacked along a new axis 0 (``jax.lax.scan``'s semantics).

    Parameters
    ----------
    f
        ``f(carry, x) -> (carry, y)``; the carry keeps its pytree structure, shapes and
        dtypes; ``y`` may be any pytree of arrays (or None).
    init
        The initial carry (a pytree).
    xs
        A pytree of arrays sharing their leading axis, or None with ``length`` given.
    length
        The number of steps; required when ``xs`` is None, else checked against it.
    reverse
        Run from the last slice to the first (``ys`` stay in the order of ``xs``).
    unroll
        Accepted for ``jax.lax.scan``'s signature (a positive int or a bool); the steps
        run one at a time whatever it is, and the values and derivatives do not depend on it.
    checkpoints
        Reverse mode only: None keeps every step (no recomputation); ``k`` stores at most
        ``k`` carries and recomputes the others by a binomial (revolve) schedule, each step
        at most ``r`` times where ``comb(k - 1 + r, r) >= length``. The derivatives are
        bit-identical either way.
    """
    check_fn("scan", "f", f)
    if not isinstance(reverse, (bool, _np.bool_)):
        raise TypeError(f"scan: reverse must be a bool, got {type(reverse).__name__} {reverse!r}")
    _check_unroll(unroll)
    what = f"scan({_name(f)})"
    ckpt = check_checkpoints(checkpoints, "scan")
    init_leaves, carry_tree = tree_flatten(init)
    init_leaves = [as_leaf(x) for x in init_leaves]
    xs_leaves, xs_tree = tree_flatten(xs)
    n = _scan_length(xs_leaves, length)
    sig = [shape_dtype(x) for x in init_leaves]
    nc, nx = len(init_leaves), len(xs_leaves)
    box = closure.Box()

    def body(*leaves):
        c = tree_unflatten(carry_tree, list(leaves[:nc]))
        x = tree_unflatten(xs_tree, list(leaves[nc:]))
        out = f(c, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{what}: f must return a pair (carry, y), got {type(out).__name__}")
        new = check_carry("scan", "f", carry_tree, sig, out[0])
        y_leaves, y_tree = tree_flatten(out[1])
        if box.tree is None:
            box.tree = y_tree
        elif y_tree != box.tree:
            raise TypeError(f"{what}: f's output y changed structure from {box.tree} to {y_tree}")
        return (*new, *[as_leaf(y) for y in y_leaves])

    params = {"nc": nc, "nx": nx, "length": n, "reverse": bool(reverse), "checkpoints": ckpt}
    leaves = (*init_leaves, *xs_leaves)
    if not current_traces():  # nothing in flight: plain NumPy
        out = scan_p.bind(*leaves, body=body, **params)
    else:
        watch = closure.Watch()
        wbody = closure.flat_fun(
            lambda *a: body(*a), _flat_tree(len(leaves)), closure.Box(), watch, what
        )
        p = dict(params, body=wbody)
        out = closure.bind_call(
            scan_p, leaves, p, watch, _convert_scan, (wbody, init_leaves, xs_leaves, p, what)
        )
    carry = tree_unflatten(carry_tree, list(out[:nc]))
    return carry, tree_unflatten(box.tree, list(out[nc:]))


def _check_unroll(unroll):
    if isinstance(unroll, (bool, _np.bool_)):
        return
    if not isinstance(unroll, (int, _np.integer)) or unroll < 1:
        raise TypeError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")


def _flat_tree(n):
    """The PyTreeDef of a tuple of ``n`` leaves (the body's arguments, already flat)."""
    return tree_flatten(tuple(range(n)))[1]


def _scan_length(xs_leaves, length):
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, _np.integer)):
            raise TypeError(f"scan: length must be an int, got {length!r}")
        if length < 0:
            raise ValueError(f"scan: length must be non-negative (a trip count), got {length}")
    lens = set()
    for k, x in enumerate(xs_leaves):
        s, d = shape_dtype(x)
        if d.kind not in "biufc":  # a generator, a string, an object: not a stack of values
            raise TypeError(
                f"scan: xs leaf {k} is a {type(x).__name__} (dtype {d}); xs must be arrays "
                "(or a pytree of arrays) sharing a leading axis -- convert with anp.asarray"
            )
        if not s:
            raise ValueError(
                f"scan: xs leaf {k} is a scalar; every leaf of xs needs a leading axis"
            )
        lens.add(s[0])
    if len(lens) > 1:
        raise ValueError(f"scan: the leaves of xs have different leading sizes {sorted(lens)}")
    if lens:
        (n,) = lens
        if length is not None and length != n:
            raise ValueError(f"scan: length={length} but xs has leading size {n}")
        return int(n)
    if length is None:
        raise ValueError("scan: give length when xs is None (or has no leaves)")
    return int(length)


def fori_loop(
    lower: int,
    upper: int,
    body_fun: Callable[[Any, Any], Any],
    init_val: Any,
    *,
    checkpoints: int | None = None,
) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; return ``val``.

    With integer bounds this is a :func:`scan` (so reverse mode records one node, and
    ``checkpoints`` bounds its memory); with traced bounds a :func:`while_loop`. A trip
    count ``upper - lower`` below zero is refused (NumPy's ``range`` would silently run
    nothing; it is almost always a mistake).
    """
    check_fn("fori_loop", "body_fun", body_fun)
    ckpt = check_checkpoints(checkpoints, "fori_loop")
    for name, b in (("lower", lower), ("upper", upper)):
        s, d = shape_dtype(b)
        if d.kind not in "iu" or s != ():
            raise TypeError(f"fori_loop: {name} must be an integer scalar, got {d.name}{list(s)}")
    if isinstance(lower, Tracer) or isinstance(upper, Tracer):
        from .while_loops import while_loop  # it builds on this module's checks

        i, val = while_loop(
            lambda c: c[0] < upper,
            lambda c: (c[0] + 1, body_fun(c[0], c[1])),
            (lower, init_val),
            checkpoints=ckpt,  # the trip count is known only once the loop runs: online
        )
        return val
    lo, hi = int(lower), int(upper)
    if hi < lo:
        raise ValueError(
            f"fori_loop: negative trip count (upper={hi} < lower={lo}); swap the bounds or "
            "guard the call"
        )

    def step(val, i):
        return body_fun(i, val), None

    step.__name__ = _name(body_fun)
    val, _ = scan(step, init_val, _np.arange(lo, hi), checkpoints=ckpt)
    return val


def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001 - JAX's name
    """``f`` applied to each slice of ``xs`` along its leading axis, the results stacked
    (``jax.lax.map``): a :func:`scan` without a carry."""
    check_fn("map", "f", f)

    def step(c, x):
        return c, f(x)

    step.__name__ = _name(f)
    return scan(step, (), xs)[1]
