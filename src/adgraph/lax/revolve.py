r"""Binomial checkpointing (Griewank's *revolve*): reversing ``n`` steps with ``k`` stored carries.

A loop of ``n`` steps :math:`c_{t+1} = F_t(c_t)` is reversed step by step, last step first:
step ``t``'s pullback needs the carry :math:`c_t`. Keeping every carry costs ``n`` of them;
keeping ``k`` costs recomputation. With ``c`` free snapshots and each step advanced at most
``r`` times, at most

.. math:: \beta(c, r) = \binom{c + r}{c}

steps can be reversed, and :math:`\beta(c, r) = \beta(c, r - 1) + \beta(c - 1, r)` is the
schedule: from the snapshot at ``s``, advance ``\beta(c, r - 1)`` steps to ``m`` and store the
carry there; reverse ``[m, e)`` with ``c - 1`` free snapshots, drop ``m``, then reverse
``[s, m)`` with ``c`` (its steps have been advanced once already). For ``n`` steps and ``k``
carries, ``r`` is the least integer with :math:`\beta(k - 1, r) \ge n`: every step is
recomputed at most ``r`` times, and never more than ``k`` carries are alive.

The driver below is iterative (an explicit stack), so schedules of any depth run without
recursion.

Under ``jit``, the backward sweep of a ``scan(..., checkpoints=k)`` is one primitive,
``scan_revolve`` (:data:`sweep_p`): its arguments are the loop's initial carry, ``xs`` and
closed-over values and the cotangents of its results; its parameters the step's forward
function and its pullback (each traced and compiled once, as a sub-program, by
:mod:`adgraph.jit.revolve_loops`). The schedule is laid out as a table of actions
(:func:`actions`: advance the working carry, store it in a slot, load a slot, pull back
one step), which the implementation -- and the C backend's loop -- walks. So a compiled
program holds the step twice, whatever the trip count, and stores at most ``k`` carries
(plus the working one) while it runs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import numpy as anp
from ..ad.batching import BatchTracer
from ..ad.forward import JVPTracer
from ..ad.sparsity import Call
from ..ad.taylor import call_rule
from ..api import closure
from ..api.args import zeros_like
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.trace import Tracer

__all__ = [
    "reverse_loop",
    "repetitions",
    "actions",
    "ADVANCE",
    "STORE",
    "LOAD",
    "BACK",
    "sweep_p",
    "sweepable",
    "last_sweep",
]


def repetitions(n: int, free: int) -> int:
    """The least ``r`` with ``comb(free + r, free) >= n``: how often a step is recomputed at
    most when ``n`` steps are reversed with ``free`` snapshots besides the first carry.
    With no free snapshot every step is recomputed from the first carry: ``n - 1``."""
    if free <= 0:
        return max(n - 1, 0)
    return _split(n, free)[0]


def _split(n: int, free: int) -> tuple[int, int]:
    """``(r, comb(free + r - 1, free))`` for :func:`repetitions`' ``r`` (0 and 0 when
    ``n <= 1``): the binomial coefficients by exact integer steps, not one ``comb`` each."""
    r, b, prev = 0, 1, 0  # b = comb(free + r, free), prev = comb(free + r - 1, free)
    while b < n:
        r += 1
        prev, b = b, b * (free + r) // r
    return r, prev


def reverse_loop(
    n: int,
    k: int,
    carry0: Any,
    advance: Callable[[Any, int], Any],
    backstep: Callable[[Any, int], None],
    stats: dict | None = None,
) -> None:
    """Call ``backstep(c_t, t)`` for ``t = n-1, ..., 0`` in that order, where ``c_0 = carry0``
    and ``c_{t+1} = advance(c_t, t)``, storing at most ``k >= 1`` carries at once (``carry0``
    included) besides the one being advanced.

    ``stats``, when given, receives ``"advances"`` (the number of ``advance`` calls) and
    ``"peak"`` (the most carries alive at once, the working one included: at most ``k + 1``).
    """
    if k < 1:
        raise ValueError(f"reverse_loop: k must be at least 1, got {k}")
    snaps: dict[int, Any] = {0: carry0}  # invariant: len(snaps) + extras held <= k
    advances = 0
    peak = 1
    # tasks: ("rev", s, e, free) reverses [s, e) from snaps[s] with ``free`` more snapshots;
    # ("drop", m) forgets snaps[m] once the part it starts has been reversed.
    tasks: list[tuple] = [("rev", 0, n, k - 1)] if n else []
    while tasks:
        task = tasks.pop()
        if task[0] == "drop":
            del snaps[task[1]]
            continue
        _, s, e, free = task
        length = e - s
        if length == 1:
            backstep(snaps[s], s)
            continue
        if free >= length - 1:  # enough room: store the whole segment, reverse it in order
            held = [snaps[s]]
            for t in range(s, e - 1):
                held.append(advance(held[-1], t))
                advances += 1
            peak = max(peak, len(snaps) + len(held) - 1)
            for t in range(e - 1, s - 1, -1):
                backstep(held.pop(), t)
            continue
        if free == 0:  # one carry only: recompute from s for every step
            for t in range(e - 1, s - 1, -1):
                c = snaps[s]
                for j in range(s, t):
                    c = advance(c, j)
                    advances += 1
                peak = max(peak, len(snaps) + (1 if t > s else 0))
                backstep(c, t)
            continue
        left = max(1, min(_split(length, free)[1], length - 1))
        m = s + left
        c = snaps[s]
        for t in range(s, m):
            c = advance(c, t)
            advances += 1
        snaps[m] = c
        peak = max(peak, len(snaps))
        tasks.append(("rev", s, m, free))
        tasks.append(("drop", m))
        tasks.append(("rev", m, e, free - 1))
    if stats is not None:
        stats["advances"] = advances
        stats["peak"] = peak


# ------------------------------------------------------------------ the schedule as a table
#: The actions of :func:`actions`' table (its rows are ``(action, a, b)``).
ADVANCE, STORE, LOAD, BACK = 0, 1, 2, 3


def actions(n: int, k: int) -> Iterator[tuple[int, int, int]]:
    """:func:`reverse_loop`'s schedule for ``n`` steps and ``k`` carries as rows
    ``(action, a, b)``, made one at a time (O(k) memory), to be walked in order with one
    working carry ``c`` (``c_0`` at first):

    * ``(ADVANCE, t, m)``: ``c = advance(c, u)`` for ``u = t, ..., t + m - 1``;
    * ``(STORE, j, 0)``: slot ``j`` keeps ``c``; ``(LOAD, j, 0)``: ``c`` = slot ``j``;
    * ``(BACK, t, 0)``: ``backstep(c, t)``.

    The backsteps come for ``t = n - 1, ..., 0`` with the carries and the advances of
    :func:`reverse_loop`; slots ``0 .. min(k, n) - 1`` are used. Every segment ``[s, e)``
    is handled alike -- load the slot of ``s``; advance to ``m``; pull back ``m`` when it
    is the segment's last step (one step left, or no free slot: ``m = e - 1``), else store
    ``c`` in a new slot and reverse ``[m, e)``, then ``[s, m)`` -- so a loop walking this
    has one place that advances and one that pulls back (the C backend's does). Snapshots
    are made and forgotten last in, first out: a segment starts from the top slot."""
    if k < 1:
        raise ValueError(f"actions: k must be at least 1, got {k}")
    if not n:
        return
    yield (STORE, 0, 0)
    depth = 1  # slots 0 .. depth-1 hold snapshots
    # (s, e, free): reverse [s, e) from the top slot with ``free`` more slots; None: forget
    # the top slot. At most 2k + 1 tasks are pending.
    tasks: list[tuple[int, int, int] | None] = [(0, n, k - 1)]
    while tasks:
        task = tasks.pop()
        if task is None:
            depth -= 1
            continue
        s, e, free = task
        yield (LOAD, depth - 1, 0)
        if e - s == 1:
            yield (BACK, s, 0)
        elif free == 0:  # one slot: recompute from s for every step, last first
            yield (ADVANCE, s, e - 1 - s)
            yield (BACK, e - 1, 0)
            tasks.append((s, e - 1, 0))
        else:
            # the binomial split: [m, e) is then reversed with one slot fewer
            m = s + max(1, min(_split(e - s, free)[1], e - s - 1))
            yield (ADVANCE, s, m - s)
            yield (STORE, depth, 0)
            depth += 1
            tasks += [(s, m, free), None, (m, e, free - 1)]


def walk(
    table: Iterable[tuple[int, int, int]],
    carry0: Any,
    advance: Callable[[Any, int], Any],
    backstep: Callable[[Any, int], None],
) -> dict[str, int]:
    """Run the table of :func:`actions` from ``carry0``; returns ``{"advances": ...,
    "stored": the most slots filled at once}``."""
    c = carry0
    slots: dict[int, Any] = {}
    advances = 0
    for op, a, b in table:
        if op == ADVANCE:
            for u in range(a, a + b):
                c = advance(c, u)
            advances += b
        elif op == STORE:
            slots[a] = c
        elif op == LOAD:
            c = slots[a]
        else:
            backstep(c, a)
    return {"advances": advances, "stored": len(slots)}


# ------------------------------------------------------------------ the sweep as a primitive
#: What the last run of :data:`sweep_p`'s implementation did: ``"steps"`` (the trip count),
#: ``"advances"`` (forward steps recomputed), ``"stored"`` (the most carries stored at
#: once, besides the working one) and ``"compiled"`` (whether it ran compiled
#: sub-programs).
last_sweep: dict[str, Any] = {}

# ``compiler(fn, leaves, xp) -> callable | None``: ``fn`` (a function of flat leaves)
# compiled for arguments like ``leaves``, or None; registered by adgraph.jit, which sits
# above this layer (adgraph.jit.revolve_loops).
_compiler: list[Callable[..., Any] | None] = [None, None]


def compile_steps_with(
    compiler: Callable[..., Any] | None, sweeper: Callable[..., Any] | None = None
) -> None:
    """Register ``compiler(fn, leaves, xp) -> callable | None``, which :data:`sweep_p`'s
    implementation asks for a compiled form of the step's forward function and pullback
    (None runs them as they are), and ``sweeper(fwd, back, params) -> callable | None``,
    the whole sweep on Python floats for compiled steps of float64 scalars (see
    :func:`adgraph.jit.revolve_loops.float_sweep`)."""
    _compiler[0], _compiler[1] = compiler, sweeper


def _parts(vals, p):
    """``(carry0, xs, consts, ct of the carry, ct of the ys)`` of the sweep's arguments."""
    nc, nx, nk, nci = p["nc"], p["nx"], p["nk"], len(p["ci"])
    o = nc + nx + nk
    return (
        list(vals[:nc]),
        list(vals[nc : nc + nx]),
        list(vals[nc + nx : o]),
        list(vals[o : o + nci]),
        list(vals[o + nci :]),
    )


def _run_sweep(vals, p, fwd, back, stack):
    """The backward sweep on ``vals`` by the schedule of :func:`actions`: ``(*ct of the
    initial carry, *ct of the xs stacked, *summed ct of the consts)``. ``stack(acc, i, g)``
    files step ``i``'s cotangent of an xs leaf into ``acc`` (None at first) and returns it.
    (:func:`walk`, inlined: this loop runs every step of the sweep.)"""
    carry0, xs, consts, gc, gy = _parts(vals, p)
    n, rev, nc = p["length"], p["reverse"], p["nc"]
    nci, nxi = len(p["ci"]), len(p["xi"])
    gk: list[Any] | None = None
    gx: list[Any] = [None] * nxi
    c = carry0
    slots: dict[int, Any] = {}
    advances = 0
    for op, a, b in actions(n, p["checkpoints"]):
        if op == ADVANCE:
            for u in range(a, a + b):
                i = n - 1 - u if rev else u
                c = fwd(*c, *[x[i] for x in xs], *consts)[:nc]
            advances += b
        elif op == LOAD:
            c = slots[a]
        elif op == STORE:
            slots[a] = c
        else:
            i = n - 1 - a if rev else a
            got = back(*c, *[x[i] for x in xs], *consts, *gc, *[g[i] for g in gy])
            gc = got[:nci]
            for j in range(nxi):
                gx[j] = stack(gx[j], i, got[nci + j])
            # summed last step first, as the eager sweep (and a tape of the unrolled loop)
            gk = (
                list(got[nci + nxi :])
                if gk is None
                else [x + y for x, y in zip(gk, got[nci + nxi :])]
            )
    last_sweep.clear()
    last_sweep.update(advances=advances, stored=len(slots), steps=n)
    return (*gc, *gx, *(gk or ()))


def _stack_list(acc, i, g):
    acc = acc if acc is not None else {}
    acc[i] = g
    return acc


def _sweep_fun(p):
    """The sweep as a function of its arguments, on any values (tracers included): the
    forward mode, Taylor, sparsity and reverse rules run through it."""

    def f(*vals):
        out = list(_run_sweep(vals, p, p["fwd"], p["back"], _stack_list))
        nci, nxi = len(p["ci"]), len(p["xi"])
        for j in range(nci, nci + nxi):
            got = out[j]
            out[j] = anp.stack([got[i] for i in range(p["length"])])
        return tuple(out)

    return f


def _sweep_impl(xp, *vals, **p):
    fwd, back = p["fwd"], p["back"]
    comp = _compiler[0]
    compiled = False
    n = p["length"]

    def stack(buf, i, g):
        if buf is None:  # the first step filed (the last one run): the stack's layout
            g = xp.asarray(g)
            buf = xp.empty((n, *g.shape), dtype=g.dtype)
        buf[i] = g
        return buf

    if comp is not None and n and not any(isinstance(v, Tracer) for v in vals):
        carry0, xs, consts, gc, gy = _parts(vals, p)
        x0 = [x[0] for x in xs]
        f2 = comp(fwd, [*carry0, *x0, *consts], xp)
        b2 = comp(back, [*carry0, *x0, *consts, *gc, *[g[0] for g in gy]], xp)
        if f2 is not None and b2 is not None:
            fwd, back, compiled = f2, b2, True
            ff, fb = getattr(f2, "floats", None), getattr(b2, "floats", None)
            if ff is not None and fb is not None:
                # every value a float64 scalar: the sweep on Python floats, the same bits
                # (NumPy's own values where Python raises instead of giving inf or nan)
                sweeper = _compiler[1]
                whole = _cached_sweep(sweeper, f2, b2, p) if sweeper is not None else None
                fl = [xp.asarray(v).tolist() for v in vals]
                try:
                    if whole is not None:
                        *res, advances, stored = whole(*fl)
                        last_sweep.clear()
                        last_sweep.update(advances=advances, stored=stored, steps=n)
                    else:
                        res = list(_run_sweep(fl, p, ff, fb, stack))
                except (ArithmeticError, ValueError):
                    pass
                else:
                    last_sweep["compiled"] = True
                    return tuple(xp.asarray(o, dtype=xp.float64)[()] for o in res)
    out = _run_sweep(vals, p, fwd, back, stack)
    last_sweep["compiled"] = compiled
    return tuple(out)


# the generated whole sweep of a program's compiled pullback, per schedule
_SWEEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached_sweep(sweeper, fwd, back, p):
    key = tuple(
        p[q] for q in ("length", "reverse", "checkpoints", "nc", "nx", "nk", "ci", "xi", "ki")
    )
    try:
        per = _SWEEPS.setdefault(back, {})
    except TypeError:
        return sweeper(fwd, back, p)
    if key not in per:
        per[key] = sweeper(fwd, back, p)
    return per[key]


def _inexact(x) -> bool:
    from .loops import shape_dtype

    return shape_dtype(x)[1].kind in "fc"


def _sweep_jvp(primals, tangents, p):
    # forward mode of the sweep is one sweep of the step's forward mode: the working carry
    # extended by its tangent, the cotangent carry by its own, the xs, closed-over values
    # and the ys' cotangents by theirs; what the sweep sums and stacks, it sums and stacks
    # with their tangents (so jit(hessian) holds the step once, too)
    nc, nx, nk, nci = p["nc"], p["nx"], p["nk"], len(p["ci"])
    nxi, nki = len(p["xi"]), len(p["ki"])
    o = nc + nx + nk
    n_in = len(primals)
    has_t = [_inexact(x) for x in primals]
    ts = [zeros_like(x) if t is None else t for x, t in zip(primals, tangents)]
    groups = [(0, nc), (nc, nc + nx), (nc + nx, o), (o, o + nci), (o + nci, n_in)]
    with_t = [[i for i in range(a, b) if has_t[i]] for a, b in groups]
    fwd, back = p["fwd"], p["back"]

    def split(leaves, sizes):
        out, k = [], 0
        for m in sizes:
            out.append(list(leaves[k : k + m]))
            k += m
        return out

    def full_tangents(ins, tan, positions, start):
        got = [None] * len(ins)
        for i, t in zip(positions, tan):
            got[i - start] = t
        return got

    def fwd2(*leaves):
        c, dc, x, dx, k, dk = split(
            leaves, [nc, len(with_t[0]), nx, len(with_t[1]), nk, len(with_t[2])]
        )
        tan = (
            full_tangents(c, dc, with_t[0], 0)
            + full_tangents(x, dx, with_t[1], nc)
            + full_tangents(k, dk, with_t[2], nc + nx)
        )
        out, tout = closure.jvp_of_call(fwd, (*c, *x, *k), tan)
        return (*out[:nc], *[tout[i] for i in with_t[0]])

    def back2(*leaves):
        sizes = [nc, len(with_t[0]), nx, len(with_t[1]), nk, len(with_t[2])]
        sizes += [nci, len(with_t[3]), n_in - o - nci, len(with_t[4])]
        c, dc, x, dx, k, dk, g, dg, y, dy = split(leaves, sizes)
        tan = (
            full_tangents(c, dc, with_t[0], 0)
            + full_tangents(x, dx, with_t[1], nc)
            + full_tangents(k, dk, with_t[2], nc + nx)
            + full_tangents(g, dg, with_t[3], o)
            + full_tangents(y, dy, with_t[4], o + nci)
        )
        out, tout = closure.jvp_of_call(back, (*c, *x, *k, *g, *y), tan)
        a, b = nci, nci + nxi
        return (*out[:a], *tout[:a], *out[a:b], *tout[a:b], *out[b:], *tout[b:])

    def pick(lo, hi, group):
        return [*primals[lo:hi], *[ts[i] for i in group]]

    args = (
        pick(0, nc, with_t[0])
        + pick(nc, nc + nx, with_t[1])
        + pick(nc + nx, o, with_t[2])
        + pick(o, o + nci, with_t[3])
        + pick(o + nci, n_in, with_t[4])
    )
    if len(with_t[3]) != nci:  # (every cotangent carry is inexact: the sweep made it so)
        return closure.jvp_of_call(_sweep_fun(p), primals, tangents)
    q = dict(
        p,
        fwd=fwd2,
        back=back2,
        nc=nc + len(with_t[0]),
        nx=nx + len(with_t[1]),
        nk=nk + len(with_t[2]),
        ci=tuple(range(2 * nci)),
        xi=tuple(range(2 * nxi)),
        ki=tuple(range(2 * nki)),
    )
    out = sweep_p.bind(*args, **q)
    a, b = 2 * nci, 2 * nci + 2 * nxi
    gc, gx, gk = out[:a], out[a:b], out[b:]
    primal = (*gc[:nci], *gx[:nxi], *gk[:nki])
    tangent = (*gc[nci:], *gx[nxi:], *gk[nki:])
    return primal, tangent


def _sweep_vjp(ct, ans, args, params, wanted):
    return closure.pull_wanted(_sweep_fun(params), args, wanted, ct, "scan(checkpoints=...)")


def _sweep_batch(vals, batched, size, **p):
    # one sweep of the vectorised step and pullback: carries (and their cotangents) get a
    # batch axis, batched stacked values (xs, the ys' cotangents) are swept along axis 1
    from .loops import shape_dtype

    nc, nx, nk, nci = p["nc"], p["nx"], p["nk"], len(p["ci"])
    o = nc + nx + nk

    def carry(v, b):
        return v if b else anp.broadcast_to(v, (size, *shape_dtype(v)[0]))

    def stacked(v, b):
        return anp.moveaxis(v, 0, 1) if b else v

    args = (
        [carry(v, b) for v, b in zip(vals[:nc], batched[:nc])]
        + [stacked(v, b) for v, b in zip(vals[nc : nc + nx], batched[nc : nc + nx])]
        + list(vals[nc + nx : o])
        + [carry(v, b) for v, b in zip(vals[o : o + nci], batched[o : o + nci])]
        + [stacked(v, b) for v, b in zip(vals[o + nci :], batched[o + nci :])]
    )
    x_axes = closure.batch_axes(batched[nc : nc + nx])
    k_axes = closure.batch_axes(batched[nc + nx : o])
    y_axes = closure.batch_axes(batched[o + nci :])
    fwd = vmap(p["fwd"], in_axes=(0,) * nc + x_axes + k_axes)
    back = vmap(p["back"], in_axes=(0,) * nc + x_axes + k_axes + (0,) * nci + y_axes)
    out = sweep_p.bind(*args, **dict(p, fwd=fwd, back=back))
    nxi = len(p["xi"])
    gx = [anp.moveaxis(g, 1, 0) for g in out[nci : nci + nxi]]
    return (*out[:nci], *gx, *out[nci + nxi :])


sweep_p = Primitive(
    "scan_revolve",
    _sweep_impl,
    jvp_rule=_sweep_jvp,
    joint_vjp=_sweep_vjp,
    batch=_sweep_batch,
    multiple_results=True,
    doc=(
        "The backward sweep of scan(checkpoints=k) by the revolve schedule: the cotangents "
        "of the initial carry, the xs and the closed-over values."
    ),
    taylor=call_rule(_sweep_fun),
    sparsity=Call(_sweep_fun),
)


def sweepable(values) -> bool:
    """Whether the values are staged by ``jit`` with at most ``vmap`` and forward mode
    between (every tracer among them a staging trace's, possibly under batch and JVP
    tracers, and at least one): the sweep is then bound as one :data:`sweep_p` node, whose
    batching and forward-mode rules bind it again."""
    found = False
    stack = list(values)
    while stack:
        v = stack.pop()
        if not isinstance(v, Tracer):
            continue
        if getattr(v._trace, "stages_effects", False):
            found = True
        elif type(v) is BatchTracer:
            stack.append(v._inner())
        elif type(v) is JVPTracer:
            stack += [v.primal, v.tangent]
        else:
            return False
    return found
