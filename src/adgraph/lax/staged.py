"""Reverse mode of a ``scan`` whose values are staged (traced by ``jit``): two loops.

Unrolling the forward pass and the adjoint sweep of a loop into a compiled program makes
the program -- and its compile time -- grow with the trip count. When the values a ``scan``
runs on are tracers of a staging trace, its reverse rule instead binds

* a forward ``scan`` whose step also returns the carry it started from, so the carries
  of every step come out stacked (``carries[i]``: the carry before the step that reads
  ``xs[i]``), and
* in the backward sweep, one ``scan`` in the opposite direction over those carries, the
  ``xs`` and the output cotangents, whose step pulls the cotangent of the carry back
  through one step of the body (the step is run again from its stored carry: its
  residuals are recomputed, not stored) and sums the closed-over values' cotangents.

Each is one node of the staged graph, and the compilers emit a loop for it. The
cotangents are those of the unrolled loop, summed in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..api.args import zeros_like
from ..api.reverse import vjp
from ..core.trace import Tracer

__all__ = [
    "is_staged",
    "staged_only",
    "staged_reverse",
    "staged_vjp",
    "staged_jvp",
    "STAGED_WHILE_CHECKPOINTS",
]


def is_staged(vals) -> bool:
    """Whether a value is a tracer of a trace that stages its operations into a program
    (``jit``'s), directly or below other tracers."""
    for v in vals:
        while isinstance(v, Tracer):
            if getattr(v._trace, "stages_effects", False):
                return True
            v = v._inner()
    return False


def staged_only(vals) -> bool:
    """Whether the values are staged by ``jit`` with no other transformation between (a
    tracer of a staging trace among them, and no tracer of any other)."""
    found = False
    for v in vals:
        if isinstance(v, Tracer):
            if not getattr(v._trace, "stages_effects", False):
                return False
            found = True
    return found


#: The carries a ``while_loop`` staged by ``jit`` keeps when a transformation of the
#: compiled program later differentiates it in reverse mode (its online schedule).
STAGED_WHILE_CHECKPOINTS = 64


def _inexact(x) -> bool:
    return _np.dtype(x.dtype).kind in "fc"


def staged_reverse(scan_p, trace, vals, parents, params, pidx):
    """The reverse handler of ``scan_p`` on staged values: one forward loop that also
    stacks the carries; the tape node keeps them for :func:`staged_vjp`."""
    nc = params["nc"]
    body = params["body"]

    def with_carries(*leaves):
        out = body(*leaves)
        return (*out, *leaves[:nc])

    with_carries._watch = getattr(body, "_watch", None)  # type: ignore[attr-defined]
    with_carries._what = getattr(body, "_what", None)  # type: ignore[attr-defined]
    out = scan_p.bind(*vals, **dict(params, body=with_carries))
    n_out = len(out) - nc
    ans, carries = tuple(out[:n_out]), tuple(out[n_out:])
    return trace.record(scan_p, dict(params, carries=carries), vals, ans, parents, pidx)


def staged_vjp(scan_p, ct, ans, args, params, wanted):
    """The backward sweep of a staged ``scan``: one ``scan`` in the opposite direction
    (see the module documentation)."""
    body = params["body"]
    nc, nx, length = params["nc"], params["nx"], params["length"]
    carries = params["carries"]
    consts = list(args[nc + nx :])
    xs = list(args[nc : nc + nx])
    ci = [k for k in range(nc) if _inexact(args[k])]
    xi = [j for j in range(nx) if wanted[nc + j] and _inexact(xs[j])]
    ki = [j for j in range(len(consts)) if wanted[nc + nx + j] and _inexact(consts[j])]
    ny = len(ans) - nc
    yi = [j for j in range(ny) if _inexact(ans[nc + j])]
    ct_c = [zeros_like(args[k]) if ct[k] is None else ct[k] for k in ci]
    ct_k = [zeros_like(consts[j]) for j in ki]
    ct_y = [zeros_like(ans[nc + j]) if ct[nc + j] is None else ct[nc + j] for j in yi]
    nci, nki = len(ci), len(ki)

    def back(*leaves):
        # carry: (ct of the carry's inexact leaves, summed cotangents of the consts);
        # x: (the carry the step started from, the xs, the cotangents of the ys)
        gc, gk = leaves[:nci], leaves[nci : nci + nki]
        p = nci + nki
        c, x = list(leaves[p : p + nc]), list(leaves[p + nc : p + nc + nx])
        gy = leaves[p + nc + nx : p + nc + nx + len(yi)]
        kk = list(leaves[p + nc + nx + len(yi) :])

        def step(*d):
            c2, x2, k2 = list(c), list(x), list(kk)
            for k, v in zip(ci, d):
                c2[k] = v
            for j, v in zip(xi, d[nci:]):
                x2[j] = v
            for j, v in zip(ki, d[nci + len(xi) :]):
                k2[j] = v
            out = body(*c2, *x2, *k2)
            return tuple(out[k] for k in ci) + tuple(out[nc + j] for j in yi)

        d = [c[k] for k in ci] + [x[j] for j in xi] + [kk[j] for j in ki]
        _, pull = vjp(step, *d)
        got = pull((*gc, *gy))
        new_gc = got[:nci]
        gx = got[nci : nci + len(xi)]
        new_gk = [a + g for a, g in zip(gk, got[nci + len(xi) :])]
        return (*new_gc, *new_gk, *gx)

    bparams = dict(
        nc=nci + nki,
        nx=nc + nx + len(yi),
        length=length,
        reverse=not params["reverse"],
        checkpoints=None,
    )
    out = scan_p.bind(*ct_c, *ct_k, *carries, *xs, *ct_y, *consts, body=back, **bparams)
    res: list[Any] = [None] * len(args)
    for k, g in zip(ci, out[:nci]):
        res[k] = g if wanted[k] else None
    for j, g in zip(ki, out[nci : nci + nki]):
        res[nc + nx + j] = g
    for j, g in zip(xi, out[nci + nki :]):
        res[nc + j] = g
    return res


def staged_jvp(scan_p, primals, tangents, params):
    """Forward mode of a ``scan`` on staged values: one ``scan`` whose step is the step's
    forward mode (the carry extended by its tangents, the ys by theirs), instead of the
    loop run in Python on tangent tracers."""
    from ..api.closure import jvp_of_call

    body = params["body"]
    nc, nx = params["nc"], params["nx"]
    n = len(primals)
    nk = n - nc - nx
    inexact = [_inexact(p) for p in primals]
    ci = [k for k in range(nc) if inexact[k]]
    xi = [nc + j for j in range(nx) if inexact[nc + j]]
    ki = [nc + nx + j for j in range(nk) if inexact[nc + nx + j]]
    ts = {k: zeros_like(primals[k]) if tangents[k] is None else tangents[k] for k in ci + xi + ki}

    def step(*leaves):
        # (*carry, *carry tangents, *x, *x tangents, *consts, *const tangents)
        p = 0
        c, p = leaves[p : p + nc], p + nc
        ct, p = leaves[p : p + len(ci)], p + len(ci)
        x, p = leaves[p : p + nx], p + nx
        xt, p = leaves[p : p + len(xi)], p + len(xi)
        k, p = leaves[p : p + nk], p + nk
        kt = leaves[p:]
        tan: list = [None] * n
        for pos, t in zip(ci + xi + ki, (*ct, *xt, *kt)):
            tan[pos] = t
        out, t_out = jvp_of_call(body, (*c, *x, *k), tan)
        return (*out[:nc], *[t_out[j] for j in ci], *out[nc:], *t_out[nc:])

    args = (
        *primals[:nc],
        *[ts[k] for k in ci],
        *primals[nc : nc + nx],
        *[ts[k] for k in xi],
        *primals[nc + nx :],
        *[ts[k] for k in ki],
    )
    bparams = dict(params, body=step, nc=nc + len(ci), nx=nx + len(xi))
    bparams.pop("carries", None)
    out = scan_p.bind(*args, **bparams)
    ny = (len(out) - nc - len(ci)) // 2
    carry, carry_t = out[:nc], out[nc : nc + len(ci)]
    ys, ys_t = out[nc + len(ci) : nc + len(ci) + ny], out[nc + len(ci) + ny :]
    t_carry: list = [zeros_like(c) for c in carry]
    for k, t in zip(ci, carry_t):
        t_carry[k] = t
    return (*carry, *ys), (*t_carry, *ys_t)
