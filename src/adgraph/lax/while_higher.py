"""Forward mode and ``vmap`` of a ``while_loop``'s two reverse-mode loops under ``jit``.

``jit(hessian(f))`` is ``jacfwd`` of ``grad``: reverse mode's loops
(:mod:`adgraph.lax.while_staged`, ``while_stack`` and ``while_back``) are bound on the
tracers of forward mode, whose tangents ``vmap`` batches. On ``jit``'s values their rules
bind the same loops again instead of running them in Python:

* **forward mode**: the loop with its state extended by the tangents of its inexact
  leaves, the step's forward mode as its step (``while_stack`` also stacks the tangents
  of the carries; ``while_back`` reads them as it reads the carries);
* **vmap**: the loop of the vectorised step (``jacfwd`` maps the tangents only, and
  ``jit(vmap(grad(f)))`` the primal values too). Which leaves vary is found by running
  the step once under ``vmap`` on the batched leaves, until the carry's batched leaves
  stop changing; a result that does not vary is broadcast (``vmap``'s results all have
  the axis). When the predicate varies the forward loop runs while it holds for any
  example, each example's carry frozen once its own is false, and the backward loop
  keeps an example's state where the predicate at the stored carry is false.

So the program stays two loops whatever the trip counts. (Where two transformations
batch the values at once -- ``vmap`` of ``hessian`` -- the reverse rule runs the Python
loop instead: these rules map one axis.)
"""

from __future__ import annotations

import numpy as _np

from .. import numpy as anp
from ..ad.batching import BatchTracer
from ..api.args import zeros_like
from ..api.vectorize import vmap
from .loops import shape_dtype

__all__ = ["forward_mode_step", "stack_jvp", "back_jvp", "stack_batch", "back_batch"]


def _inexact(x) -> bool:
    return _np.dtype(x.dtype).kind in "fc"


def forward_mode_step(fn, nc, n, ci, ki):
    """``fn(*carry (nc), *consts)`` extended to ``fn2(*carry, *tangents of carry[ci],
    *consts, *tangents of consts[ki])`` returning ``(*fn's outputs, *their tangents at
    ci)`` (``ki``: positions among all ``n`` arguments)."""
    from ..api.closure import jvp_of_call

    nci, nk = len(ci), n - nc

    def fn2(*leaves):
        c, ct = leaves[:nc], leaves[nc : nc + nci]
        k, kt = leaves[nc + nci : nc + nci + nk], leaves[nc + nci + nk :]
        tan: list = [None] * n
        for pos, t in zip(list(ci) + list(ki), (*ct, *kt)):
            tan[pos] = t
        out, t_out = jvp_of_call(fn, (*c, *k), tan)
        return (*out, *[t_out[j] for j in ci])

    def first(*leaves):  # the predicate reads the primal leaves alone
        return fn(*leaves[:nc], *leaves[nc + nci : nc + nci + nk])

    for f in (fn2, first):
        f._watch = getattr(fn, "_watch", None)  # type: ignore[attr-defined]
        f._what = getattr(fn, "_what", None)  # type: ignore[attr-defined]
    return fn2, first


def stack_jvp(prim, primals, tangents, params):
    """Forward mode of ``while_stack``: the loop of the extended carry, which stacks the
    tangents of the carries too."""
    cond, body, nc = params["cond"], params["body"], params["nc"]
    n = len(primals)
    ci = [k for k in range(nc) if _inexact(primals[k])]
    ki = [k for k in range(nc, n) if _inexact(primals[k]) and tangents[k] is not None]
    ts = {k: zeros_like(primals[k]) if tangents[k] is None else tangents[k] for k in ci + ki}
    body2, _ = forward_mode_step(body, nc, n, ci, ki)
    _, cond2 = forward_mode_step(cond, nc, n, ci, ki)
    nci = len(ci)
    args = (*primals[:nc], *[ts[k] for k in ci], *primals[nc:], *[ts[k] for k in ki])
    out = prim.bind(*args, **dict(params, cond=cond2, body=body2, nc=nc + nci))
    m = nc + nci
    carry, count, stacks = out[:m], out[m], out[m + 1 :]
    t_carry = [zeros_like(c) for c in carry[:nc]]
    t_stacks = [zeros_like(s) for s in stacks[:nc]]
    for k, t, s in zip(ci, carry[nc:], stacks[nc:]):
        t_carry[k], t_stacks[k] = t, s
    primal = (*carry[:nc], count, *stacks[:nc])
    return primal, (*t_carry, zeros_like(count), *t_stacks)


def back_jvp(prim, primals, tangents, params):
    """Forward mode of ``while_back``: the loop of the extended state, reading the stacked
    tangents of the carries beside the carries."""
    back, ns, nc = params["back"], params["ns"], params["nc"]
    state, count = primals[:ns], primals[ns]
    stacks, consts = primals[ns + 1 : ns + 1 + nc], primals[ns + 1 + nc :]
    nk = len(consts)
    si = [k for k in range(ns) if _inexact(state[k])]
    xi = [j for j in range(nc) if _inexact(stacks[j]) and tangents[ns + 1 + j] is not None]
    ki = [j for j in range(nk) if _inexact(consts[j]) and tangents[ns + 1 + nc + j] is not None]
    t_state = [zeros_like(state[k]) if tangents[k] is None else tangents[k] for k in si]
    nsi, nxi = len(si), len(xi)

    def back2(*leaves):
        p = 0
        s, p = leaves[p : p + ns], p + ns
        st, p = leaves[p : p + nsi], p + nsi
        c, p = leaves[p : p + nc], p + nc
        ct, p = leaves[p : p + nxi], p + nxi
        k, kt = leaves[p : p + nk], leaves[p + nk :]
        tan: list = [None] * (ns + nc + nk)
        for pos, t in zip(si, st):
            tan[pos] = t
        for pos, t in zip(xi, ct):
            tan[ns + pos] = t
        for pos, t in zip(ki, kt):
            tan[ns + nc + pos] = t
        from ..api.closure import jvp_of_call

        out, t_out = jvp_of_call(back, (*s, *c, *k), tan)
        return (*out, *[t_out[j] for j in si])

    args = (
        *state,
        *t_state,
        count,
        *stacks,
        *[tangents[ns + 1 + j] for j in xi],
        *consts,
        *[tangents[ns + 1 + nc + j] for j in ki],
    )
    new = dict(params, back=back2, ns=ns + nsi, nc=nc + nxi)
    cond = params.get("cond")
    if cond is not None:  # (its arguments: the carry and the consts, without tangents)

        def cond2(*leaves):
            return cond(*leaves[:nc], *leaves[nc + nxi : nc + nxi + nk])

        new["cond"] = cond2
    out = prim.bind(*args, **new)
    t_out = [zeros_like(s) for s in out[:ns]]
    for k, t in zip(si, out[ns:]):
        t_out[k] = t
    return tuple(out[:ns]), tuple(t_out)


def _varying(fn, vals, flags, nout):
    """Which of the ``nout`` results of ``fn(*vals)`` vary along the mapped axis when the
    arguments ``flags`` names do (their axis 0): ``fn`` run once under ``vmap``."""
    if not any(flags):
        return [False] * nout
    got: list = []
    first = flags.index(True)

    def probe(*a):
        mine = a[first]._trace  # this vmap's (an outer one's tracers may be among a)
        out = tuple(fn(*a))
        got[:] = [type(o) is BatchTracer and o._trace is mine for o in out]
        return out

    # (on example values -- a row of zeros, say -- whose results are discarded)
    with _np.errstate(all="ignore"):
        vmap(probe, in_axes=tuple(0 if f else None for f in flags))(*vals)
    return got


def _broadcast(v, size):
    return anp.broadcast_to(v, (size, *shape_dtype(v)[0]))


def _carry_axes(fn, carry, rest, flags_c, flags_rest, size):
    """The batched leaves of a loop's state: those batched on entry and those the step
    makes vary, until they stop changing; the state broadcast to match."""
    flags = list(flags_c)
    while True:
        state = [
            _broadcast(c, size) if f and not b else c for c, f, b in zip(carry, flags, flags_c)
        ]
        out = _varying(fn, [*state, *rest], [*flags, *flags_rest], len(flags))
        new = [f or o for f, o in zip(flags, out)]
        if new == flags:
            return flags, state
        flags = new


def _axes(flags):
    return tuple(0 if f else None for f in flags)


def stack_batch(prim, vals, batched, size, params):
    """``vmap`` of ``while_stack`` as one loop of the vectorised step. When the predicate
    varies along the mapped axis the loop runs while it holds for any example, and an
    example's carry stays as it is once its own is false (stored again at each further
    iteration, which :func:`back_batch` pulls back as the identity)."""
    cond, body, nc = params["cond"], params["body"], params["nc"]
    consts, bk = list(vals[nc:]), list(batched[nc:])
    bc, carry = _carry_axes(
        lambda *a: body(*a)[:nc], list(vals[:nc]), consts, batched[:nc], bk, size
    )
    frozen = _varying(lambda *a: cond(*a)[:1], [*carry, *consts], [*bc, *bk], 1)[0]
    if frozen:
        carry = [c if b else _broadcast(c, size) for c, b in zip(carry, bc)]
        bc = [True] * nc
    axes, oax = _axes([*bc, *bk]), _axes(bc)

    def cond_u(*a):
        if frozen:
            return (anp.any(vmap(lambda *x: cond(*x)[0], in_axes=axes)(*a)),)
        return (vmap(lambda *x: cond(*x)[0], in_axes=axes, out_axes=None)(*a),)

    def body_b(*a):
        new = vmap(lambda *x: tuple(body(*x)), in_axes=axes, out_axes=oax)(*a)
        if not frozen:
            return tuple(new)
        return _where_holds(cond, axes, a, new, a[:nc])

    for f, g in ((cond_u, cond), (body_b, body)):
        f._watch = getattr(g, "_watch", None)  # type: ignore[attr-defined]
    # (the stacks come out with the mapped axis first, their rows second: the node itself
    # arranges them, as their number of rows is known only when the program runs)
    major = (size, tuple(bc))
    out = prim.bind(*carry, *consts, **dict(params, cond=cond_u, body=body_b, major=major))
    res = [c if b else _broadcast(c, size) for c, b in zip(out[:nc], bc)]
    res.append(_broadcast(out[nc], size))
    return (*res, *out[nc + 1 :])


def _where_holds(cond, axes, args, new, old):
    """``new`` for the examples whose predicate holds at ``args``, ``old`` for the others."""
    p = vmap(lambda *x: cond(*x)[0], in_axes=axes)(*args)
    return tuple(
        anp.where(anp.reshape(p, (-1,) + (1,) * (len(shape_dtype(o)[0]) - 1)), n, o)
        for n, o in zip(new, old)
    )


def back_batch(prim, vals, batched, size, params):
    """``vmap`` of ``while_back`` as one loop of the vectorised step. Where the predicate
    varies along the mapped axis, an example whose predicate is false at a stored carry
    (its loop had ended: the carry was frozen) keeps its state: the identity."""
    back, ns, nc = params["back"], params["ns"], params["nc"]
    count = vals[ns]
    if batched[ns]:
        # (batched only by stack_batch's broadcast -- the iterations of the loop over the
        # whole batch -- or the Python loop's, which refuses a predicate that varies: the
        # same count for every example)
        count = anp.max(count)
    bx, bk = list(batched[ns + 1 : ns + 1 + nc]), list(batched[ns + 1 + nc :])
    stacks = vals[ns + 1 : ns + 1 + nc]  # a batched one: (size, rows, ...), read s[:, t]
    rows = []  # one row of each stack, for finding which leaves vary
    for s, b in zip(stacks, bx):
        shape, dt = shape_dtype(s)
        rows.append(anp.zeros(shape[:1] + shape[2:] if b else shape[1:], dt))
    consts = list(vals[ns + 1 + nc :])
    bs, state = _carry_axes(back, list(vals[:ns]), [*rows, *consts], batched[:ns], [*bx, *bk], size)
    axes, oax = _axes([*bs, *bx, *bk]), _axes(bs)

    cond = params.get("cond")
    frozen = (
        cond is not None and _varying(lambda *a: cond(*a)[:1], [*rows, *consts], [*bx, *bk], 1)[0]
    )
    if frozen:
        state = [c if b else _broadcast(c, size) for c, b in zip(state, bs)]
        bs = [True] * ns
        axes, oax = _axes([*bs, *bx, *bk]), _axes(bs)

    def back_b(*a):
        new = vmap(lambda *x: tuple(back(*x)), in_axes=axes, out_axes=oax)(*a)
        if not frozen:
            return tuple(new)
        c_axes = axes[ns:]
        return _where_holds(cond, c_axes, a[ns:], new, a[:ns])

    major = tuple(bx)
    out = prim.bind(*state, count, *stacks, *consts, **dict(params, back=back_b, major=major))
    return tuple(o if b else _broadcast(o, size) for o, b in zip(out, bs))
