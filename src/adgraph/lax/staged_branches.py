"""``cond`` and ``switch`` on a staged predicate (``jit``): one ``switch`` node with branches.

Eager mode, ``grad`` and ``jvp`` know the predicate's value and run one branch. Under
``jit`` the predicate is a value of the program: a Python ``if`` on it becomes a guard
(the program is traced again when the branch changes, and the C backend, which compiles
straight-line code, cannot take it). So :func:`staged_switch` binds one primitive,
``switch``, whose parameter ``branches`` holds each branch as a function of the flat
operands; the compilers emit an ``if``/``else`` over the branches' code.

Its rules are branches of the same kind: forward mode is a ``switch`` over the branches'
forward modes, reverse mode a ``switch`` over their pullbacks (each branch run again from
its operands), ``vmap`` with a batched index runs every branch and selects each example's
result. Traced values the branches close over (closure cells, defaults, ``partial``
arguments: :func:`closed_over`) become operands, as in ``jax.lax.cond``, so each rule
treats them as it treats the operands; what the branches reach otherwise is lifted by
closure conversion (:mod:`adgraph.api.closure`, as for ``scan``).
"""

from __future__ import annotations

import contextlib
import functools
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as _np

from .. import numpy as anp
from ..ad.sparsity import CALL
from ..api import closure
from ..api.args import zeros_like
from ..api.reverse import vjp
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer

__all__ = ["switch_p", "staged_switch", "closed_over", "cells_holding"]

_CELL_DEPTH = 4  # how deep functions closed over by the branches are searched


def closed_over(funs: Sequence[Callable[..., Any]]) -> tuple[list, list]:
    """The values of live traces the functions ``funs`` close over: in their closure cells,
    defaults and ``functools.partial`` arguments, and in those of the functions reachable
    through them (``_CELL_DEPTH`` deep). Returns ``(slots, leaves)``: ``slots`` holds
    ``(set, contents, positions, get)`` for each place with a traced value (itself, or
    leaves of a list, tuple or dict there), ``set`` putting new contents in that place
    (``get``, for a closure cell, reading them; None for the others), and
    ``leaves`` those traced values in order (``positions`` index the place's flattened
    contents). :func:`cells_holding` runs the functions with other values there.

    This is how a branch's closure becomes operands, as in ``jax.lax.cond``: operations
    on a closed-over tracer go straight to its own transformation, so a conversion that
    sees only the branch's operations would lift ``sqrt(x)``, computed outside the
    branch, instead of ``x`` -- and each example's derivative would then flow back
    through the branch it does not take as well (0 * nan). Values reached otherwise
    (attributes of objects, globals) are not found; the closure conversion of
    :mod:`adgraph.api.closure` still lifts what they feed into the branch."""
    slots: list = []
    leaves: list = []
    seen: set = set()
    stack = [(f, 0) for f in funs]

    def place(setter, v, getter=None):
        if isinstance(v, Tracer):
            flat = [v]
        elif type(v) in (list, tuple, dict):
            flat = tree_flatten(v)[0]
        else:
            return
        pos = [k for k, x in enumerate(flat) if isinstance(x, Tracer) and x._trace.alive]
        if pos:
            slots.append((setter, v, pos, getter))
            leaves.extend(flat[k] for k in pos)

    def visit(v, depth):
        for x in v if type(v) in (list, tuple) else v.values() if type(v) is dict else (v,):
            if callable(x) and not isinstance(x, (Tracer, type)):
                stack.append((x, depth + 1))

    while stack:
        f, depth = stack.pop()
        if id(f) in seen or depth > _CELL_DEPTH:
            continue
        seen.add(id(f))
        if isinstance(f, functools.partial):
            p = f
            place(lambda v, p=p: _set_partial(p, v), (p.args, p.keywords))
            visit(p.func, depth - 1)
            visit(p.args, depth)
            visit(p.keywords, depth)
            continue
        f = getattr(f, "__func__", f)  # a bound method: its function
        for cell in getattr(f, "__closure__", None) or ():
            if id(cell) in seen:
                continue
            seen.add(id(cell))
            try:
                v = cell.cell_contents
            except ValueError:  # an empty cell (a name not yet assigned)
                continue
            place(
                lambda v, c=cell: setattr(c, "cell_contents", v),
                v,
                lambda c=cell: c.cell_contents,
            )
            visit(v, depth)
        if isinstance(f, types.FunctionType):
            if f.__defaults__:
                place(lambda v, g=f: setattr(g, "__defaults__", v), f.__defaults__)
                visit(f.__defaults__, depth)
            if f.__kwdefaults__:
                place(lambda v, g=f: setattr(g, "__kwdefaults__", v), f.__kwdefaults__)
                visit(f.__kwdefaults__, depth)
    return slots, leaves


def _set_partial(p: functools.partial, v: tuple) -> None:
    """Give the partial ``p`` the arguments ``v = (args, keywords)`` in place."""
    p.__setstate__((p.func, tuple(v[0]), dict(v[1]), p.__dict__ or None))


@contextlib.contextmanager
def cells_holding(slots: list, values: Sequence[Any]) -> Iterator[None]:
    """While the block runs, the places :func:`closed_over` found hold ``values`` in place
    of their traced leaves (a container is replaced by a new one); restored after, in
    reverse order (so nested uses of the same places unwind correctly), except a cell the
    block assigned itself (``nonlocal``), which keeps what it was given. Not thread-safe:
    another thread calling the same functions meanwhile sees the values too."""
    it = iter(values)
    swapped = []
    try:
        for setter, old, pos, getter in slots:
            if isinstance(old, Tracer):
                new = next(it)
            else:
                flat, tree = tree_flatten(old)
                for k in pos:
                    flat[k] = next(it)
                new = tree_unflatten(tree, flat)
            setter(new)
            swapped.append((setter, old, new, getter))
        yield
    finally:
        for setter, old, new, getter in reversed(swapped):
            if getter is None or getter() is new:  # a branch's nonlocal write is kept
                setter(old)


def _inexact(x) -> bool:
    return _np.dtype(x.dtype).kind in "fc"


def _pick(index, n: int) -> int:
    return min(max(int(index), 0), n - 1)


def _switch_impl(xp, index, *ops, branches):
    return tuple(branches[_pick(index, len(branches))](*ops))


def _switch_jvp(primals, tangents, params):
    branches = params["branches"]
    index, ops = primals[0], primals[1:]
    n = len(ops)
    ts = [zeros_like(p) if t is None else t for p, t in zip(ops, tangents[1:])]

    def forward(b):
        def f(*v):
            out, t_out = closure.jvp_of_call(b, v[:n], list(v[n:]))
            return (*out, *t_out)

        return f

    out = switch_p.bind(index, *ops, *ts, branches=tuple(forward(b) for b in branches))
    m = len(out) // 2
    return tuple(out[:m]), tuple(out[m:])


def _switch_vjp(ct, ans, args, params, wanted):
    branches = params["branches"]
    index, ops = args[0], list(args[1:])
    n = len(ops)
    idx = [k for k in range(n) if wanted[k + 1] and _inexact(ops[k])]
    oi = [j for j, a in enumerate(ans) if _inexact(a)]
    if not idx or not oi:
        return [None] * len(args)
    cts = [zeros_like(ans[j]) if ct[j] is None else ct[j] for j in oi]

    def pullback(b):
        def f(*v):
            xs, g = list(v[:n]), v[n:]

            def part(*d):
                full = list(xs)
                for k, x in zip(idx, d):
                    full[k] = x
                out = b(*full)
                return tuple(out[j] for j in oi)

            return tuple(vjp(part, *[xs[k] for k in idx])[1](tuple(g)))

        return f

    got = switch_p.bind(index, *ops, *cts, branches=tuple(pullback(b) for b in branches))
    res: list = [None] * len(args)
    for k, g in zip(idx, got):
        res[k + 1] = g
    return res


def _switch_batch(vals, batched, size, *, branches):
    index, ops = vals[0], vals[1:]
    axes = closure.batch_axes(batched[1:])
    if not batched[0]:
        vb = tuple(vmap(b, in_axes=axes) for b in branches)
        return switch_p.bind(index, *ops, branches=vb)
    # a batched index: every branch runs, each example takes its own
    idx = anp.clip(index, 0, len(branches) - 1)
    outs = []
    for b, fn in enumerate(branches):
        gops, gaxes = _guard_batched(ops, axes, idx == b, size)
        outs.append(vmap(fn, in_axes=gaxes)(*gops))
    res = []
    for k in range(len(outs[0])):
        acc = outs[-1][k]
        for b in range(len(branches) - 2, -1, -1):
            sel = anp.reshape(idx == b, (size,) + (1,) * (anp.ndim(acc) - 1))
            acc = anp.where(sel, outs[b][k], acc)
        res.append(acc)
    return tuple(res)


def _guard_batched(ops, axes, taken, size):
    """The operands a branch runs on for every example of a batch (each with its batch
    axis in front, or None): an example that does not take the branch must get no
    derivative from it (its rule may be nan there, and zero times nan is nan), so each
    inexact traced operand becomes ``where(taken, x, stop_gradient(x))`` -- the same values,
    a derivative only where the branch is taken; an unbatched one is broadcast over the
    batch for it."""
    gops, gaxes = list(ops), list(axes)
    for k, (x, ax) in enumerate(zip(ops, axes)):
        if not (isinstance(x, Tracer) and _inexact(x)):
            continue
        nd = anp.ndim(x) - (0 if ax is None else 1)
        sel = anp.reshape(taken, (size,) + (1,) * nd)
        gops[k] = anp.where(sel, x, anp.stop_gradient(x))
        gaxes[k] = 0
    return gops, tuple(gaxes)


switch_p = Primitive(
    "switch",
    _switch_impl,
    jvp_rule=_switch_jvp,
    joint_vjp=_switch_vjp,
    batch=_switch_batch,
    multiple_results=True,
    sparsity=CALL,  # the branch the concrete index takes, on the patterns
    doc="branches[clip(index, 0, n - 1)](*operands): a choice between functions, staged.",
)


def _show(sig) -> str:
    return "[" + ", ".join(f"{d.name}{list(s)}" for s, d in sig) + "]"


_UNRECORDED = object()  # _convert(..., tolerant=True): a branch failed on the examples


def _convert(branches, ops, params, what, tolerant=False):
    """Closure conversion of the branches (see :mod:`adgraph.api.closure`)."""
    conv = closure.Conversion(list(ops))
    specs = [(closure._example(a)[0] if isinstance(a, Tracer) else a, False) for a in ops]
    try:
        programs = [conv.record(b, specs)[0] for b in branches]
    except Exception:
        if not tolerant:
            raise
        return _UNRECORDED
    lifted = conv.lifted(what)
    if lifted is None:
        return None
    return dict(params, branches=tuple(conv.function(p) for p in programs)), lifted


def staged_switch(
    loop: str, index: Any, branches: Sequence[Callable[..., Any]], operands: tuple
) -> Any:
    """``branches[index](*operands)`` as one ``switch`` node (``index`` staged, not batched)."""
    leaves, in_tree = tree_flatten(operands)
    leaves = [_np.asarray(x)[()] if type(x) in (bool, int, float) else x for x in leaves]
    nops = len(leaves)
    # the traced values the branches close over become operands (see closed_over)
    cells, extra = closed_over(branches)
    leaves = leaves + extra
    box = closure.Box()
    watch = closure.Watch()
    what = f"{loop}(...)"

    sig: list = []  # (shape, dtype) of each output leaf of the first branch run

    def flat(b):
        def f(*ls):
            with cells_holding(cells, ls[nops:]):
                out = b(*tree_unflatten(in_tree, list(ls[:nops])))
            out_leaves, out_tree = tree_flatten(out)
            out_leaves = [
                _np.asarray(o)[()] if type(o) in (bool, int, float) else o for o in out_leaves
            ]
            got = [(tuple(o.shape), _np.dtype(o.dtype)) for o in out_leaves]
            if box.tree is None:
                box.tree = out_tree
                sig[:] = got
            elif out_tree != box.tree or got != sig:
                raise TypeError(
                    f"{loop}: the branches return different structures, shapes or dtypes "
                    f"({box.tree} {_show(sig)} and {out_tree} {_show(got)}); under jit every "
                    "branch is compiled and they must agree"
                )
            return tuple(out_leaves)

        return closure.flat_fun(
            f, tree_flatten(tuple(range(len(leaves))))[1], closure.Box(), watch, what
        )

    fns = tuple(flat(b) for b in branches)
    params = {"branches": fns}
    # Every branch is converted up front: binding runs only the branch the example index
    # picks, so a closure of another branch would go unseen and leak its tracer into the
    # program (met when that branch is taken). A branch that fails on the examples (a
    # value-dependent error of a branch not taken) leaves the watched binding to find the
    # taken branch's closures.
    watch.armed = False
    got = _convert(fns, leaves, params, what, tolerant=True)
    if got is _UNRECORDED:
        watch.armed = True
        out = closure.bind_call(
            switch_p, (index, *leaves), params, watch, _convert, (fns, leaves, params, what)
        )
    elif got is None:
        out = switch_p.bind(index, *leaves, **params)
    else:
        new_params, lifted = got
        out = switch_p.bind(index, *leaves, *lifted, **new_params)
    return tree_unflatten(box.tree, list(out))
