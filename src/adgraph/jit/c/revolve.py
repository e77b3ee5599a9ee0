"""The backward sweep of ``scan(..., checkpoints=k)`` in C: one loop walking the schedule.

A ``scan_revolve`` node (:data:`adgraph.lax.revolve.sweep_p`) holds the step's forward
function and its pullback; each is traced once into a graph
(:func:`adgraph.jit.revolve_loops.step_graphs`) and lowered once, by a child
:class:`~adgraph.jit.c.lower.Lowering`, as in :mod:`adgraph.jit.c.loops`. The emitted C
runs the schedule of :func:`adgraph.lax.revolve.actions` with a stack of at most ``2k + 1``
pending segments: each segment loads its slot into the working carry, advances it (the
forward step's code, once in the program), then pulls back its last step (the pullback's
code, once in the program) or stores the carry in a new slot and splits. So the program's
text does not depend on the trip count, and it holds at most ``min(k, n)`` carries (in one
``malloc``'d array per carry leaf) besides the working one.

The working carry, the cotangent of the carry and the sums of the closed-over values'
cotangents are mutable C scalars; the cotangents of the ``xs`` are written into
:class:`~adgraph.jit.c.loops.Buf` arrays (``malloc``'d, freed with the enclosing scope),
which later statements read as a loop's stacked outputs. The closed-over values'
cotangents are summed last step first, starting from the last step's own (as the Python
sweep does), so the numbers are the Python backend's up to the math library's rounding.
"""

from __future__ import annotations

import numpy as np

from ..revolve_loops import step_graphs
from .errors import CBackendError
from .loops import Buf, LoopStmt, _slices
from .scalars import Sym, Var, ctype

__all__ = ["revolve_rule"]


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _mutable(L, pre, name, a, dt, before, deps):
    """Mutable C variables initialised from the value ``a`` (Sym, Const or Buf): ``(Sym of
    them, their Vars)``."""
    if isinstance(a, Buf):
        a = L.materialize(a)
    s = L.cast(L.sym(a, dt), dt)
    e = np.empty(s.shape, dtype=object)
    vs = []
    for i, (idx, el) in enumerate(zip(np.ndindex(s.shape), s.e.flat)):
        v = Var(f"{pre}{name}_{i}", dt)
        before.append(f"{ctype(dt)} {v.name} = {L.c(el, dt)};")
        if isinstance(el, Var):
            deps.add(el.name)
        e[idx] = v
        vs.append(v)
    return Sym(e, dt), vs


def _consts(L, args, deps):
    syms = [L.materialize(a) if isinstance(a, Buf) else a for a in args]
    for a in syms:
        if isinstance(a, Sym):
            deps.update(el.name for el in a.e.flat if isinstance(el, Var))
    return syms


def _lowered(sub, graph, inputs, want, ind):
    """Lower ``graph`` in the child ``sub`` on ``inputs``: ``(C lines, elements of the
    outputs numbered ``want``, cast to their dtypes)``; the statements no wanted output
    reads are dropped."""
    outs = sub.lower(graph, inputs)
    outs = [sub.materialize(o) if isinstance(o, Buf) else o for o in outs]
    elems = []
    for k in want:
        o = graph.outputs[k]
        dt = np.dtype(o.dtype)
        elems.append([(el, dt) for el in sub.cast(outs[k], dt).e.flat])
    kept = sub.live_statements([el for es in elems for el, _ in es])
    lines = sub.write(kept, ind)
    lines += [f"{ind}free({n});" for st in kept if isinstance(st, LoopStmt) for n in st.frees]
    defined = {v.name for st in kept for v in st.outs}
    needs = {d for st in kept for d in st.deps if d not in defined}
    return lines, elems, needs


def operands(node, args, nc, nx, nk, nci):
    """A ``scan_revolve`` node's inputs and their C arguments by role:
    ``(carry, xs, carry cotangents, ys cotangents)`` of the node's inputs, and
    ``(carry, xs, consts, carry cotangents, ys cotangents)`` of ``args``."""
    o = nc + nx + nk
    ins = list(node.inputs)
    return (
        (ins[:nc], ins[nc : nc + nx], ins[o : o + nci], ins[o + nci :]),
        (args[:nc], args[nc : nc + nx], args[nc + nx : o], args[o : o + nci], args[o + nci :]),
    )


def revolve_rule(L, node, *args, fwd, back, nc, nx, nk, ci, xi, ki, length, reverse, checkpoints):
    """The ``scan_revolve`` node as one C loop (see the module documentation)."""
    graphs = step_graphs(node)
    if graphs is None:
        raise CBackendError(
            f"C backend: the step of {node.describe()} (a scan with checkpoints) cannot be "
            "compiled as straight-line code (it branches on traced values in Python, calls "
            "debug.print, or closes over values of an enclosing transformation); use "
            "adgraph.jit, or lax.cond / anp.where inside the step"
        )
    gF, gB = graphs
    n, k = int(length), int(checkpoints)
    nci, nxi, nki = len(ci), len(xi), len(ki)
    (carry_in, xs_in, gc_in, gy_in), (a_carry, a_xs, a_k, a_gc, a_gy) = operands(
        node, args, nc, nx, nk, nci
    )
    pre = L.new_scope()
    before: list[str] = []
    deps: set[str] = set()
    frees: list[str] = []
    # ---- the working carry, its snapshots, the cotangents
    cur, cur_vars = [], []
    for j, (a, inp) in enumerate(zip(a_carry, carry_in)):
        s, vs = _mutable(L, pre, f"c{j}", a, np.dtype(inp.dtype), before, deps)
        cur.append(s)
        cur_vars.append(vs)
    slots = max(1, min(k, n))
    snaps = []
    for j, inp in enumerate(carry_in):
        ct = ctype(np.dtype(inp.dtype))
        size = _size(tuple(inp.shape or ()))
        before.append(f"{ct}* {pre}s{j} = ({ct}*)malloc(sizeof({ct}) * {max(slots * size, 1)});")
        snaps.append((f"{pre}s{j}", size))
    gc, gc_vars = [], []
    for q, (a, inp) in enumerate(zip(a_gc, gc_in)):
        s, vs = _mutable(L, pre, f"g{q}", a, np.dtype(inp.dtype), before, deps)
        gc.append(s)
        gc_vars.append(vs)
    n_out = len(node.shape)
    out_dt = [np.dtype(d) for d in node.dtype]
    out_shape = [tuple(s) for s in node.shape]
    acc_syms, acc_vars = [], []
    for q in range(nki):
        pos = nci + nxi + q
        dt, shape = out_dt[pos], out_shape[pos]
        e = np.empty(shape, dtype=object)
        vs = []
        for i, idx in enumerate(np.ndindex(shape)):
            v = Var(f"{pre}k{q}_{i}", dt)
            before.append(f"{ctype(dt)} {v.name} = 0;")
            e[idx] = v
            vs.append(v)
        acc_syms.append(Sym(e, dt))
        acc_vars.append(vs)
    bufs = []
    for q in range(nxi):
        pos = nci + q
        dt, shape = out_dt[pos], out_shape[pos]
        b = Buf(f"{pre}y{q}", shape, dt)
        ct = ctype(dt)
        before.append(f"{ct}* {b.name} = ({ct}*)malloc(sizeof({ct}) * {max(b.size, 1)});")
        frees.append(b.name)
        bufs.append(b)
    if n_out != nci + nxi + nki:
        raise CBackendError(f"C backend: internal error lowering {node.describe()}: outputs")
    # ---- the forward step (advance), lowered once
    fi = f"{pre}fi"
    subF = L.child(pre + "f")
    tables: dict = {}
    xF = _slices(L, subF, pre, "xf", a_xs, xs_in, fi, before, deps, tables)
    kF = _consts(L, a_k, deps)
    f_lines, f_elems, f_needs = _lowered(subF, gF, cur + xF + kF, range(nc), "        ")
    # ---- the pullback (back), lowered once
    bi = f"{pre}bi"
    subB = L.child(pre + "b")
    xB = _slices(L, subB, pre, "xb", a_xs, xs_in, bi, before, deps, tables)
    gyB = _slices(L, subB, pre, "yb", a_gy, gy_in, bi, before, deps, tables)
    kB = _consts(L, a_k, deps)
    b_lines, b_elems, b_needs = _lowered(
        subB, gB, cur + xB + kB + gc + gyB, range(nci + nxi + nki), "        "
    )
    deps |= f_needs | b_needs
    # ---- the step's lines
    ind = "    "
    flat_cur = [v for vs in cur_vars for v in vs]
    adv = list(f_lines)
    news = []
    for j, es in enumerate(f_elems):
        for i, (el, dt) in enumerate(es):
            news.append(f"{pre}n{j}_{i}")
            adv.append(f"{ind}    const {ctype(dt)} {pre}n{j}_{i} = {subF.c(el, dt)};")
    adv += [f"{ind}    {v.name} = {nv};" for v, nv in zip(flat_cur, news)]
    pull = list(b_lines)
    flat_gc = [v for vs in gc_vars for v in vs]
    gnew = []
    for q in range(nci):
        for i, (el, dt) in enumerate(b_elems[q]):
            gnew.append(f"{pre}ng{q}_{i}")
            pull.append(f"{ind}    const {ctype(dt)} {pre}ng{q}_{i} = {subB.c(el, dt)};")
    for q, b in enumerate(bufs):
        es = b_elems[nci + q]
        for i, (el, dt) in enumerate(es):
            pull.append(f"{ind}    {b.name}[{bi} * {len(es)} + {i}] = {subB.c(el, dt)};")
    for q, vs in enumerate(acc_vars):
        es = b_elems[nci + nxi + q]
        for v, (el, dt) in zip(vs, es):
            g = subB.c(el, dt)
            pull.append(f"{ind}    {v.name} = {pre}first ? {g} : {v.name} + {g};")
    pull += [f"{ind}    {v.name} = {g};" for v, g in zip(flat_gc, gnew)]

    def copy(to_slot: str, store: bool, ind: str) -> list[str]:
        lines = []
        for (name, size), vs in zip(snaps, cur_vars):
            for i, v in enumerate(vs):
                cell = f"{name}[({to_slot}) * {size} + {i}]"
                lines.append(f"{ind}{cell} = {v.name};" if store else f"{ind}{v.name} = {cell};")
        return lines

    code = list(before) + schedule(pre, n, k, reverse, copy, adv, pull)
    code += [f"free({name});" for name, _ in snaps] + [f"free({pre}T);"]
    defined = {v.name for vs in cur_vars + gc_vars + acc_vars for v in vs}
    deps -= defined
    outs = [v for vs in gc_vars + acc_vars for v in vs] + [b.var() for b in bufs]
    L.add_loop(LoopStmt(outs, code, tuple(sorted(deps)), frees))
    return (*gc, *bufs, *acc_syms)


def schedule(pre, n, k, reverse, copy, adv, pull) -> list[str]:
    """The C text walking the revolve schedule of ``n`` steps with ``k`` slots (see the
    module documentation): ``copy(slot, store, ind)`` gives the lines storing the working
    carry into a slot (or loading it from one), ``adv`` the lines of the forward step at
    index ``{pre}fi``, ``pull`` those of the pullback of step ``{pre}bi`` (indented by 8)."""
    T, nt, depth = f"{pre}T", f"{pre}nt", f"{pre}d"
    u, fi, t, bi = f"{pre}u", f"{pre}fi", f"{pre}t", f"{pre}bi"
    code = [f"long* {T} = (long*)malloc(sizeof(long) * {3 * (2 * k + 2)});"]
    code.append(f"long {nt} = 0, {depth} = 1;")

    def push(s: str, e: str, free: str, ind: str) -> list[str]:
        return [
            f"{ind}{T}[3 * {nt}] = {s}; {T}[3 * {nt} + 1] = {e}; {T}[3 * {nt} + 2] = {free};"
            f" ++{nt};"
        ]

    code += copy("0", True, "")
    if n:
        code += push("0", str(n), str(k - 1), "")
    code.append(f"int {pre}first = 1;")
    code.append(f"while ({nt} > 0) {{")
    ind = "    "
    code.append(f"{ind}--{nt};")
    code.append(
        f"{ind}const long {pre}ts = {T}[3 * {nt}], {pre}te = {T}[3 * {nt} + 1], "
        f"{pre}tf = {T}[3 * {nt} + 2];"
    )
    ts, te, tf = f"{pre}ts", f"{pre}te", f"{pre}tf"
    # a segment of length -1 marks "forget the top slot"
    code.append(f"{ind}if ({te} < 0) {{ --{depth}; continue; }}")
    code += copy(f"{depth} - 1", False, ind)  # load the segment's slot
    m, bt = f"{pre}m", f"{pre}bt"
    code.append(f"{ind}long {m}, {bt} = -1;")
    code.append(f"{ind}if ({te} - {ts} == 1) {{ {m} = {ts}; {bt} = {ts}; }}")
    code.append(f"{ind}else if ({tf} == 0) {{")
    code.append(f"{ind}    {m} = {te} - 1; {bt} = {te} - 1;")
    code += push(ts, f"{te} - 1", "0", ind + "    ")
    code.append(f"{ind}}} else {{")
    # the binomial split: r the least with comb(free + r, free) >= length; m - s =
    # comb(free + r - 1, free), within [1, length - 1] (exact integers: each partial
    # product is a binomial coefficient, and the loop stops at the segment's length)
    code.append(f"{ind}    long {pre}r = 0, {pre}b = 1, {pre}p = 1;")
    code.append(f"{ind}    while ({pre}b < {te} - {ts}) {{")
    code.append(
        f"{ind}        ++{pre}r; {pre}p = {pre}b; {pre}b = {pre}b * ({tf} + {pre}r) / {pre}r;"
    )
    code.append(f"{ind}    }}")
    code.append(f"{ind}    long {pre}l = {pre}p < {te} - {ts} - 1 ? {pre}p : {te} - {ts} - 1;")
    code.append(f"{ind}    {m} = {ts} + ({pre}l > 1 ? {pre}l : 1);")
    code.append(f"{ind}}}")
    # advance from s to m: the forward step's code
    code.append(f"{ind}for (long {u} = {ts}; {u} < {m}; ++{u}) {{")
    code.append(f"{ind}    const long {fi} = {f'{n - 1} - {u}' if reverse else u};")
    code.append(f"{ind}    (void){fi};")
    code += adv
    code.append(f"{ind}}}")
    # pull back the segment's last step, or store the carry and split
    code.append(f"{ind}if ({bt} >= 0) {{")
    code.append(f"{ind}    const long {t} = {bt};")
    code.append(f"{ind}    const long {bi} = {f'{n - 1} - {t}' if reverse else t};")
    code.append(f"{ind}    (void){bi};")
    code += pull
    code.append(f"{ind}    {pre}first = 0;")
    code.append(f"{ind}}} else {{")
    code += copy(depth, True, ind + "    ")
    code.append(f"{ind}    ++{depth};")
    code += push(ts, m, tf, ind + "    ")
    code += push("0", "-1", "0", ind + "    ")
    code += push(m, te, f"{tf} - 1", ind + "    ")
    code.append(f"{ind}}}")
    code.append("}")
    return code
