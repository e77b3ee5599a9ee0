"""The backward sweep of ``scan(..., checkpoints=k)`` over array values.

:func:`adgraph.jit.c.revolve.revolve_rule` keeps the working carry, its cotangent and the
closed-over values' cotangent sums as C scalars, one per element. When the loop's values
are larger than :data:`~adgraph.jit.c.array_loops.LOOP_ARRAY_MIN` elements,
:func:`array_revolve_rule` keeps each of them in ``malloc``'d arrays instead, as
:mod:`adgraph.jit.c.array_loops` does for a plain ``scan``: the advance and the pullback
read the carry, the slices of ``xs`` (pointers into the stacked arrays) and the
closed-over arrays in place, so their operations are loop nests whose text does not grow
with the array size; the carry and its cotangent are written into a second array and the
pointers swapped; the snapshots are copied by one loop each. The schedule's text is
:func:`adgraph.jit.c.revolve.schedule`, the same as the scalar one's, and so is the
order of every sum.
"""

from __future__ import annotations

import numpy as np

from ..loops import arange_start
from ..revolve_loops import step_graphs
from .array_loops import LOOP_ARRAY_MIN, _closed, _fill, _store
from .arrays import force
from .loops import Buf, LoopStmt
from .revolve import operands, schedule
from .scalars import Sym, ctype

__all__ = ["array_revolve_rule", "revolve_wants_arrays"]


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def revolve_wants_arrays(node, nc, nx, nk, ci) -> bool:
    """Whether the ``scan_revolve`` node is lowered over arrays: one of its carries,
    closed-over values or steps' slices has more than ``LOOP_ARRAY_MIN`` elements."""
    ins = list(node.inputs)
    o = nc + nx + nk
    stacked = ins[nc : nc + nx] + ins[o + len(ci) :]
    whole = ins[:nc] + ins[nc + nx : o + len(ci)]
    sizes = [_size(tuple(i.shape or ())[1:]) for i in stacked]
    sizes += [_size(tuple(i.shape or ())) for i in whole]
    return max(sizes, default=0) > LOOP_ARRAY_MIN


def _arrays(pre, name, shape, dt, lines, count=1):
    """``malloc`` ``count`` arrays of ``shape`` named ``{pre}{name}`` (and ``...2``...)."""
    ct = ctype(dt)
    names = [f"{pre}{name}" + ("" if i == 0 else str(i + 1)) for i in range(count)]
    for nm in names:
        lines.append(f"{ct}* {nm} = ({ct}*)malloc(sizeof({ct}) * {max(_size(shape), 1)});")
    return names


def _stacked(L, pre, tag, args, inputs, n, before, deps, frees, tables):
    """For each stacked value: ``(C-order source array, per-step size)`` or ``(None, lo)``
    for a ``fori_loop`` index; ``tables`` shares copies between the two steps."""
    out = []
    for j, (a, inp) in enumerate(zip(args, inputs, strict=True)):
        dt = np.dtype(inp.dtype)
        shape = tuple(inp.shape or ())[1:]
        size = _size(shape)
        lo = arange_start(inp)
        if lo is not None and size == 1:
            out.append((None, lo, shape, dt))
            continue
        a = force(L, a)
        if isinstance(a, Buf) and a.lin is None and a.dtype == dt:
            deps.add(a.name)
            out.append((a.name, size, shape, dt))
        elif id(a) in tables:
            out.append((tables[id(a)][0], size, shape, dt))
        else:
            (src,) = _arrays(pre, f"{tag}{j}", (n,) + shape, dt, before)
            frees.append(src)
            _fill(L, src, a, (n,) + shape, dt, before, deps)
            tables[id(a)] = (src, a)  # (a kept: its id stays its own)
            out.append((src, size, shape, dt))
    return out


def _slices(sub, pre, tag, stacked, index, head, inner):
    """The step ``index``'s slices of the stacked values as inputs of ``sub``."""
    ins = []
    for j, (src, size, shape, dt) in enumerate(stacked):
        if src is None:
            e = np.empty((), dtype=object)
            e[()] = sub.emit(dt, f"(({ctype(dt)})({size}L + {index}))", [])
            ins.append(Sym(e, dt))
            continue
        ptr = f"{pre}{tag}{j}"
        head.append(f"        const {ctype(dt)}* {ptr} = {src} + {index} * {size};")
        inner.add(ptr)
        ins.append(Buf(ptr, shape, dt))
    return ins


def array_revolve_rule(
    L, node, *args, fwd, back, nc, nx, nk, ci, xi, ki, length, reverse, checkpoints
):
    """The ``scan_revolve`` node as one C loop over arrays, or None (the scalar rule then
    lowers it, or says why it cannot)."""
    graphs = step_graphs(node)
    if graphs is None:
        return None
    gF, gB = graphs
    n, k = int(length), int(checkpoints)
    nci, nxi, nki = len(ci), len(xi), len(ki)
    (carry_in, xs_in, gc_in, gy_in), (a_carry, a_xs, a_k, a_gc, a_gy) = operands(
        node, args, nc, nx, nk, nci
    )
    out_dt = [np.dtype(d) for d in node.dtype]
    out_shape = [tuple(s) for s in node.shape]
    if len(out_dt) != nci + nxi + nki:
        return None
    pre = L.new_scope()
    before: list[str] = []
    deps: set[str] = set()
    frees: list[str] = []  # freed with the enclosing scope (the results among them)
    local: list[str] = []  # freed after the loop
    inner: set[str] = set()
    # ---- the working carry (current, next), its snapshots
    cur, nxt, carry_bufs, snaps = [], [], [], []
    slots = max(1, min(k, n))
    for j, (a, inp) in enumerate(zip(a_carry, carry_in, strict=True)):
        dt, shape = np.dtype(inp.dtype), tuple(inp.shape or ())
        c, cn = _arrays(pre, f"c{j}", shape, dt, before, 2)
        _fill(L, c, a, shape, dt, before, deps)
        (s,) = _arrays(pre, f"s{j}", (slots,) + shape, dt, before)
        cur.append(c)
        nxt.append(cn)
        carry_bufs.append(Buf(c, shape, dt))
        snaps.append((s, _size(shape)))
        local += [c, cn, s]
    # ---- the carry's cotangent (current, next)
    gcur, gnxt, gc_bufs = [], [], []
    for q, (a, inp) in enumerate(zip(a_gc, gc_in, strict=True)):
        dt, shape = np.dtype(inp.dtype), tuple(inp.shape or ())
        g, gn = _arrays(pre, f"g{q}", shape, dt, before, 2)
        _fill(L, g, a, shape, dt, before, deps)
        gcur.append(g)
        gnxt.append(gn)
        gc_bufs.append(Buf(g, shape, dt))
        frees += [g, gn]
    # ---- the cotangents of the xs (stacked) and the sums of the closed-over values'
    bufs = []
    for q in range(nxi):
        pos = nci + q
        (y,) = _arrays(pre, f"y{q}", out_shape[pos], out_dt[pos], before)
        frees.append(y)
        bufs.append(Buf(y, out_shape[pos], out_dt[pos]))
    acc, acc_tmp, acc_bufs = [], [], []
    for q in range(nki):
        pos = nci + nxi + q
        a, at = _arrays(pre, f"k{q}", out_shape[pos], out_dt[pos], before, 2)
        before.append(
            f"for (long {pre}z = 0; {pre}z < {max(_size(out_shape[pos]), 1)}; ++{pre}z) {a}[{pre}z] = 0;"
        )
        frees.append(a)
        local.append(at)
        acc.append(a)
        acc_tmp.append(at)
        acc_bufs.append(Buf(a, out_shape[pos], out_dt[pos]))
    # ---- the stacked inputs
    tables: dict = {}
    st_x = _stacked(L, pre, "X", a_xs, xs_in, n, before, deps, local, tables)
    st_gy = _stacked(L, pre, "Y", a_gy, gy_in, n, before, deps, local, tables)
    consts = [_closed(L, a) for a in a_k]
    fi, bi = f"{pre}fi", f"{pre}bi"
    # ---- the forward step (advance), lowered once
    subF = L.child(pre + "f")
    adv: list[str] = []
    xF = _slices(subF, pre, "xf", st_x, fi, adv, inner)
    outs = [force(subF, x) for x in subF.lower(gF, carry_bufs + xF + consts, arrays=True)]
    tail: list[str] = []
    elems: list = []
    for j, inp in enumerate(carry_in):
        _store(subF, outs[j], nxt[j], np.dtype(inp.dtype), tail, elems)
    keptF = subF.live_statements(elems)
    adv += subF.write(keptF, "        ") + ["    " + ln for ln in tail]
    adv += [f"        free({nm});" for st in keptF if isinstance(st, LoopStmt) for nm in st.frees]
    adv += [
        f"        {{ void* {pre}sw = {c}; {c} = {cn}; {cn} = {pre}sw; }}" for c, cn in zip(cur, nxt)
    ]
    # ---- the pullback (back), lowered once
    subB = L.child(pre + "b")
    pull: list[str] = []
    xB = _slices(subB, pre, "xb", st_x, bi, pull, inner)
    gyB = _slices(subB, pre, "yb", st_gy, bi, pull, inner)
    outs = subB.lower(gB, carry_bufs + xB + consts + gc_bufs + gyB, arrays=True)
    outs = [force(subB, x) for x in outs]
    tail, elemsB = [], []
    for q in range(nci):
        _store(subB, outs[q], gnxt[q], np.dtype(gc_in[q].dtype), tail, elemsB)
    for q, b in enumerate(bufs):
        size = _size(b.shape[1:])
        _store(subB, outs[nci + q], f"({b.name} + {bi} * {size})", b.dtype, tail, elemsB)
    for q in range(nki):
        _store(subB, outs[nci + nxi + q], acc_tmp[q], acc_bufs[q].dtype, tail, elemsB)
    keptB = subB.live_statements(elemsB)
    pull += subB.write(keptB, "        ") + ["    " + ln for ln in tail]
    for q, (a, at) in enumerate(zip(acc, acc_tmp)):
        z = f"{pre}z{q}"
        size = max(acc_bufs[q].size, 1)
        pull.append(
            f"        for (long {z} = 0; {z} < {size}; ++{z}) "
            f"{a}[{z}] = {pre}first ? {at}[{z}] : {a}[{z}] + {at}[{z}];"
        )
    pull += [f"        free({nm});" for st in keptB if isinstance(st, LoopStmt) for nm in st.frees]
    pull += [
        f"        {{ void* {pre}sw = {g}; {g} = {gn}; {gn} = {pre}sw; }}"
        for g, gn in zip(gcur, gnxt)
    ]

    def copy(to_slot: str, store: bool, ind: str) -> list[str]:
        lines = []
        for (s, size), c in zip(snaps, cur):
            z = f"{pre}q"
            cell = f"{s}[({to_slot}) * {size} + {z}]"
            body = f"{cell} = {c}[{z}];" if store else f"{c}[{z}] = {cell};"
            lines.append(f"{ind}for (long {z} = 0; {z} < {size}; ++{z}) {body}")
        return lines

    code = before + schedule(pre, n, k, reverse, copy, adv, pull)
    code += [f"free({nm});" for nm in local] + [f"free({pre}T);"]
    defined = {v.name for st in keptF + keptB for v in st.outs} | inner
    for st in keptF + keptB:
        deps.update(d for d in st.deps if d not in defined)
    deps -= set(cur) | set(nxt) | set(gcur) | set(gnxt) | set(acc) | set(acc_tmp)
    outs_vars = [b.var() for b in gc_bufs + acc_bufs + bufs]
    L.add_loop(LoopStmt(outs_vars, code, tuple(sorted(deps)), frees))
    return (*gc_bufs, *bufs, *acc_bufs)
