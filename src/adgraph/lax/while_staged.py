"""``while_loop`` under ``jit`` with ``grad``/``jvp`` inside: loops, not unrolled iterations.

When a ``while_loop``'s values are staged by ``jit`` (tracers of its trace, no other
transformation between), its derivative rules bind loops instead of running the Python
loop on tracers (which would unroll the iterations and turn every predicate into a guard):

* **reverse mode** binds ``while_stack``: the loop itself, whose results are also the trip
  count ``n`` and, for each carry leaf, the stack of the carries ``c_0 .. c_{n-1}`` each
  iteration started from (a growable stack: its length is known only once the loop ends).
  The backward sweep binds ``while_back``: a loop of ``n`` iterations, ``t = n-1 .. 0``,
  whose state is the cotangent of the carry's inexact leaves and the summed cotangents of
  the closed-over values, and whose step pulls the state back through one iteration of
  the body from the stored ``c_t`` (the body is run again from it: its residuals are
  recomputed, not stored). The closed-over values' cotangents are summed last iteration
  first, as the tape of the Python loop sums them.
* **forward mode** binds one ``while_loop`` whose carry is extended by the tangents of its
  inexact leaves and whose step is the body's forward mode.

With ``checkpoints=k`` the forward loop keeps only the carries of thinning by doubling
(:mod:`adgraph.lax.online`, ``ceil(k/2)`` at most) and the backward loop reverses the
segments between them by the binomial schedule, laid out when the program runs (it
depends on the trip count). Under ``jit(hessian)`` forward mode and ``vmap`` meet the two
loops, whose rules bind them again (:mod:`adgraph.lax.while_higher`).

Each is one node of ``jit``'s program, which both code generators emit as a loop
(:mod:`adgraph.jit.loops`, :mod:`adgraph.jit.c.loops`); the program does not depend on the
trip count, so one compilation serves every trip count.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from .. import numpy as anp
from ..ad.sparsity import Call
from ..ad.taylor import call_rule
from ..api import closure
from ..api.args import zeros_like
from ..api.reverse import vjp
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..debug import muted
from .loops import any_example, is_batched, shape_dtype
from .online import reverse_segments
from .staged import is_staged
from .while_higher import back_batch, back_jvp, stack_batch, stack_jvp

__all__ = [
    "while_stack_p",
    "while_back_p",
    "staged_while_reverse",
    "staged_while_vjp",
    "staged_while_jvp",
]


def _inexact(x) -> bool:
    return _np.dtype(x.dtype).kind in "fc"


def _shape(x) -> tuple:
    return tuple(getattr(x, "shape", ()))


def _as_array(x, xp):
    return x if hasattr(x, "dtype") else xp.asarray(x)


# ------------------------------------------------------------------ while_stack
# args: (*init carry (nc), *consts); params: cond(*carry, *consts) -> (p,),
# body(*carry, *consts) -> carry, nc. Results: (*final carry, n, *stacks), stack j of shape
# (n, *carry_j.shape): the carries the n iterations started from.
def stride_of(n: int, limit: int) -> int:
    """The stride of the carries that thinning by doubling (:class:`adgraph.lax.online.
    Thinning`) keeps of ``n`` iterations with room for ``limit``: the least power of two
    ``s`` with ``ceil(n / s) <= limit``; the carries kept are those of steps ``0, s, 2s..``."""
    s = 1
    while -(-n // s) > limit:
        s *= 2
    return s


def run_stack(cond, body, nc, vals, xp=_np, keep=True, limit=None, major=None):
    """The ``while_stack`` loop on concrete values (any step functions); ``keep`` False:
    the loop alone (the carries are not stacked); ``limit``: only the carries that
    thinning by doubling keeps, at most ``limit`` of them; ``major``: see
    :func:`batch_major`."""
    carry = [_as_array(v, xp) for v in vals[:nc]]
    consts = vals[nc:]
    rows: list[list] = [[] for _ in range(nc)]
    t, stride = 0, 1
    while bool(cond(*carry, *consts)[0]):
        if keep and t % stride == 0:
            if limit is not None and nc and len(rows[0]) == limit:
                stride *= 2  # (the kept steps are multiples of the stride: every other one)
                rows = [r[::2] for r in rows]
            if t % stride == 0:
                for r, c in zip(rows, carry):
                    r.append(c)
        carry = [_as_array(v, xp) for v in body(*carry, *consts)]
        t += 1
    if not keep:
        return tuple(carry)
    stacks = [
        xp.stack(r) if r else xp.zeros((0, *_shape(c)), dtype=c.dtype) for r, c in zip(rows, carry)
    ]
    return (*carry, xp.int64(t), *batch_major(stacks, major, xp))


def batch_major(stacks, major, xp):
    """The stacks of a ``while_stack`` under ``vmap`` (``major = (size, batched)``), in the
    layout ``vmap`` gives its results, the mapped axis first: ``(size, rows, ...)``, a
    stack of a batched carry leaf transposed, of another broadcast. (Done in the node, when
    the program runs: the number of rows is known only then.)"""
    if major is None:
        return stacks
    size, flags = major
    return [
        xp.moveaxis(st, 1, 0) if f else xp.broadcast_to(st, (size, *st.shape))
        for st, f in zip(stacks, flags)
    ]


def _stack_impl(xp, *vals, cond, body, nc, limit=None, major=None):
    return run_stack(cond, body, nc, vals, xp, limit=limit, major=major)


# A compiled program that is transformed again (grad(jit(grad(f))), vmap(jit(grad(f)))) runs
# these two loops in Python on the transformation's tracers: the iterations are unrolled
# and, under jit, each predicate becomes a guard (as for a while_loop without these nodes).
def _stack_fun(params):
    cond, body, nc = params["cond"], params["body"], params["nc"]
    limit = params.get("limit")

    def f(*vals):
        carry, consts = list(vals[:nc]), vals[nc:]
        rows: list[list] = [[] for _ in range(nc)]
        t, stride = 0, 1
        while _holds(cond(*carry, *consts)[0]):
            if t % stride == 0:
                if limit is not None and nc and len(rows[0]) == limit:
                    stride *= 2
                    rows = [r[::2] for r in rows]
                if t % stride == 0:
                    for r, c in zip(rows, carry):
                        r.append(c)
            carry = list(body(*carry, *consts))
            t += 1
        stacks = [
            anp.stack(r) if r else anp.zeros((0, *shape_dtype(c)[0]), shape_dtype(c)[1])
            for r, c in zip(rows, carry)
        ]
        # (the trip count is fixed by the guards above: the shapes may be)
        return (*carry, _np.int64(t), *batch_major(stacks, params.get("major"), anp))

    return f


def _holds(p) -> bool:
    if is_batched(p):
        raise ValueError(
            "while_loop: the reverse mode of this loop was compiled by jit for one trip "
            "count per call, and vmap of that program gives the examples different trip "
            "counts; apply vmap inside jit (jit(vmap(grad(f)))) or outside grad"
        )
    return bool(p)


def _loops_again(params, *groups) -> bool:
    """Whether a rule binds the loop again: values of jit's among ``groups``, and no
    checkpoints (whose schedule only the Python loop follows on other tracers)."""
    for key in ("limit", "checkpoints", "major"):  # (major: already batched once)
        if params.get(key) is not None:
            return False
    return any(is_staged(list(g)) for g in groups)


def _all(p) -> bool:
    """Whether a boolean holds for every example (a guard under jit)."""
    return not any_example(anp.logical_not(p)) if is_batched(p) else bool(p)


def _back_fun(params):
    back, ns, nc = params["back"], params["ns"], params["nc"]
    k = params.get("checkpoints")

    def f(*vals):
        n = vals[ns]
        if k is None and nc:
            major = params.get("major") or (False,)
            m = int(shape_dtype(vals[ns + 1])[0][1 if major[0] else 0])
        else:
            m = int(closure._example(n)[0])
        # (under jit the count is checked, a guard: the program is traced again for another)
        if isinstance(n, Tracer) and not _all(anp.equal(n, m)):
            raise ValueError(f"while_back: {m} stored carries for a trip count of {n}")
        vals = (*vals[:ns], m, *vals[ns + 1 :])
        return run_back(back, ns, nc, vals, params.get("body"), k, params.get("major"))

    return f


def _rules(fun_of, name, staged_jvp, staged_batch):
    # on jit's values (without checkpoints) forward mode and vmap bind the loop again
    # (adgraph.lax.while_higher); otherwise the loop runs in Python on the tracers
    def prim():
        return while_stack_p if name == "while_stack" else while_back_p

    def jvp_rule(primals, tangents, params):
        if _loops_again(params, primals, (t for t in tangents if t is not None)):
            return staged_jvp(prim(), primals, tangents, params)
        return closure.jvp_of_call(fun_of(params), primals, tangents)

    def vjp_rule(ct, ans, args, params, wanted):
        ct = [zeros_like(a) if c is None else c for c, a in zip(ct, ans)]
        return closure.pull_wanted(fun_of(params), args, wanted, ct, name)

    def batch_rule(vals, batched, size, **params):
        if _loops_again(params, vals):
            got = staged_batch(prim(), vals, batched, size, params)
            if got is not None:
                return got
        return tuple(vmap(fun_of(params), in_axes=closure.batch_axes(batched))(*vals))

    return {
        "jvp_rule": jvp_rule,
        "joint_vjp": vjp_rule,
        "batch": batch_rule,
        "taylor": call_rule(fun_of),
        "sparsity": Call(fun_of),  # the loop run on the patterns, as many steps as at x
    }


while_stack_p = Primitive(
    "while_stack",
    _stack_impl,
    **_rules(_stack_fun, "while_stack", stack_jvp, stack_batch),
    multiple_results=True,
    doc="A while_loop that also returns its trip count and the stacked carries of each "
    "iteration (reverse mode under jit).",
)


# ------------------------------------------------------------------ while_back
# args: (*state (ns), n, *stacks (nc), *consts); params: back(*state, *c_t, *consts) ->
# state, ns, nc. For t = n-1 .. 0: state = back(*state, *[s[t] for s in stacks], *consts).
def run_back(back, ns, nc, vals, body=None, checkpoints=None, major=None):
    """The ``while_back`` loop on values (any step functions; the trip count concrete).
    With ``checkpoints=k`` the stacks hold the carries thinning kept (``ceil(k/2)`` at
    most) and the iterations are reversed segment by segment from them, recomputing the
    others by ``body`` (:func:`adgraph.lax.online.reverse_segments`): the same pullbacks
    of the same carries, in the same order. ``major``: which stacks have the rows on axis
    1 (under ``vmap``, see :func:`batch_major`)."""
    state = list(vals[:ns])
    n = int(vals[ns])
    stacks = vals[ns + 1 : ns + 1 + nc]
    consts = vals[ns + 1 + nc :]
    if checkpoints is None:
        major = major or (False,) * nc
        for t in range(n - 1, -1, -1):
            row = [s[:, t] if m else s[t] for s, m in zip(stacks, major)]
            state = list(back(*state, *row, *consts))
        return tuple(state)
    stride = stride_of(n, half(checkpoints))
    rows = int(shape_dtype(stacks[0])[0][0]) if nc else 0
    kept = {i * stride: [s[i] for s in stacks] for i in range(rows)}

    def advance(c, t):
        with muted():  # (recomputed: its effects ran in the forward loop)
            return list(body(*c, *consts))

    def backstep(c, t):
        state[:] = back(*state, *c, *consts)

    reverse_segments(n, checkpoints, kept, advance, backstep)
    return tuple(state)


def half(k: int) -> int:
    """The carries the forward pass keeps of ``k``: the other half serves the reversal."""
    return max(1, -(-k // 2))


def _back_impl(xp, *vals, back, ns, nc, body=None, checkpoints=None, major=None, cond=None):
    return run_back(back, ns, nc, vals, body, checkpoints, major)


while_back_p = Primitive(
    "while_back",
    _back_impl,
    **_rules(_back_fun, "while_back", back_jvp, back_batch),
    multiple_results=True,
    doc="The backward sweep of a while_loop under jit: a loop of the recorded trip count "
    "over the body's pullback at the stacked carries.",
)


# ------------------------------------------------------------------ the rules
def staged_while_reverse(while_p, trace, vals, parents, params, pidx):
    """The reverse handler of ``while_p`` on staged values: one ``while_stack``; the tape
    node keeps the trip count and the stacks for :func:`staged_while_vjp`."""
    nc, k = params["nc"], params["checkpoints"]
    limit = None if k is None else half(k)  # with checkpoints: thinning's carries only
    out = while_stack_p.bind(*vals, cond=params["cond"], body=params["body"], nc=nc, limit=limit)
    carry, n, stacks = tuple(out[:nc]), out[nc], tuple(out[nc + 1 :])
    params = dict(params, trips=n, stacks=stacks)
    return trace.record(while_p, params, vals, carry, parents, pidx)


def staged_while_vjp(ct, ans, args, params, wanted):
    """The backward sweep of a staged ``while_loop``: one ``while_back``."""
    body, nc = params["body"], params["nc"]
    consts = list(args[nc:])
    ci = [k for k in range(nc) if _inexact(args[k])]
    ki = [j for j in range(len(consts)) if wanted[nc + j] and _inexact(consts[j])]
    nci, nki = len(ci), len(ki)
    ct_c = [zeros_like(args[k]) if ct[k] is None else ct[k] for k in ci]
    ct_k = [zeros_like(consts[j]) for j in ki]

    def back(*leaves):
        # state: (cotangents of the carry's inexact leaves, summed cotangents of the
        # consts); then the carry c_t this iteration started from, then the consts
        gc, gk = leaves[:nci], leaves[nci : nci + nki]
        c = list(leaves[nci + nki : nci + nki + nc])
        kk = list(leaves[nci + nki + nc :])

        def step(*d):
            c2, k2 = list(c), list(kk)
            for k, v in zip(ci, d):
                c2[k] = v
            for j, v in zip(ki, d[nci:]):
                k2[j] = v
            out = body(*c2, *k2)
            return tuple(out[k] for k in ci)

        # (the forward loop ran the body's effects -- debug.print -- already)
        with muted():
            _, pull = vjp(step, *[c[k] for k in ci], *[kk[j] for j in ki])
            got = pull(tuple(gc))
        # summed last iteration first, as the tape of the Python loop sums them
        return (*got[:nci], *[a + g for a, g in zip(gk, got[nci:])])

    # (cond: for vmap, which keeps the state of an example whose loop had ended)
    bparams = {"back": back, "ns": nci + nki, "nc": nc, "cond": params["cond"]}
    if params["checkpoints"] is not None:  # the stacks are thinning's: recompute the rest
        bparams.update(body=body, checkpoints=params["checkpoints"])
    out = while_back_p.bind(*ct_c, *ct_k, params["trips"], *params["stacks"], *consts, **bparams)
    res: list[Any] = [None] * len(args)
    for k, g in zip(ci, out[:nci]):
        res[k] = g if wanted[k] else None
    for j, g in zip(ki, out[nci:]):
        res[nc + j] = g
    for j in range(len(consts)):
        if wanted[nc + j] and res[nc + j] is None:
            res[nc + j] = zeros_like(consts[j])
    return res


def staged_while_jvp(while_p, primals, tangents, params):
    """Forward mode of a staged ``while_loop``: one ``while_loop`` whose carry is extended
    by the tangents of its inexact leaves, whose step is the body's forward mode."""
    from ..api.closure import jvp_of_call

    cond, body, nc = params["cond"], params["body"], params["nc"]
    n = len(primals)
    nk = n - nc
    ci = [k for k in range(nc) if _inexact(primals[k])]
    ki = [nc + j for j in range(nk) if _inexact(primals[nc + j]) and tangents[nc + j] is not None]
    ts = {k: zeros_like(primals[k]) if tangents[k] is None else tangents[k] for k in ci + ki}
    nci = len(ci)

    def split(leaves):
        c, ct = leaves[:nc], leaves[nc : nc + nci]
        k, kt = leaves[nc + nci : nc + nci + nk], leaves[nc + nci + nk :]
        return c, ct, k, kt

    def cond2(*leaves):
        c, _, k, _ = split(leaves)
        return cond(*c, *k)

    def body2(*leaves):
        c, ct, k, kt = split(leaves)
        tan: list = [None] * n
        for pos, t in zip(ci + ki, (*ct, *kt)):
            tan[pos] = t
        out, t_out = jvp_of_call(body, (*c, *k), tan)
        return (*out, *[t_out[j] for j in ci])

    for f, g in ((cond2, cond), (body2, body)):
        f._watch = getattr(g, "_watch", None)  # type: ignore[attr-defined]
        f._what = getattr(g, "_what", None)  # type: ignore[attr-defined]
    args = (*primals[:nc], *[ts[k] for k in ci], *primals[nc:], *[ts[k] for k in ki])
    out = while_p.bind(*args, **dict(params, cond=cond2, body=body2, nc=nc + nci))
    carry, carry_t = out[:nc], out[nc:]
    t_carry: list = [zeros_like(c) for c in carry]
    for k, t in zip(ci, carry_t):
        t_carry[k] = t
    return tuple(carry), tuple(t_carry)
