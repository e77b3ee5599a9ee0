"""Loops in C: a ``scan`` node becomes one C ``for`` loop around its step's statements.

The step's graph (:func:`adgraph.jit.loops.body_graph`) is lowered once, by a child
:class:`~adgraph.jit.c.lower.Lowering` whose variables are prefixed by the loop's name, on
these inputs:

* the carry: one mutable C variable per element, declared before the loop from the
  initial carry and assigned the step's new carry at the end of each iteration (through
  temporaries, so a step that permutes its carry reads the old values);
* the slice ``x_t``: read at offset ``t * size`` from the stacked array -- a constant (a
  ``static const`` table, or ``lo + t`` for ``fori_loop``'s index), a :class:`Buf` made by
  an earlier loop, or the stacked elements of a small scalarized value copied into a
  local table;
* the closed-over values: the outer variables themselves (C scoping makes them visible).

The stacked outputs ``ys`` are written into :class:`Buf` arrays (``malloc`` before the
loop, ``free`` at the end of the point, or of the enclosing loop's iteration): they are
never scalarized, so a program's size does not depend on the trip count. A later loop
reads them as its ``xs`` (the reverse sweep reads the forward loop's stacked carries);
any other use reads their elements into scalars (within the node-size limit).
"""

from __future__ import annotations

import numpy as np

from ...graph.nodes import Const
from ..loops import arange_start, body_graph
from .errors import CBackendError
from .scalars import Lit, Stmt, Sym, Var, cast_value, ctype, fmt_lit

__all__ = [
    "stack_getitem",
    "Buf",
    "LoopStmt",
    "Stack",
    "scan_rule",
    "while_stack_rule",
    "while_back_rule",
]


class Buf:
    """An array held in C memory, not scalarized: element ``idx`` is ``name[lin[idx]]``
    (``lin`` None: C order, ``name`` holds ``prod(shape)`` elements). A loop's stacked
    outputs are such arrays (their first axis the trip count), and so are the large values
    of :mod:`adgraph.jit.c.arrays` (a view -- a slice, a transpose, a broadcast -- is the
    same memory with another ``lin``)."""

    __slots__ = ("name", "shape", "dtype", "lin")

    def __init__(self, name, shape, dtype, lin=None):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.lin = lin

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def linear(self) -> np.ndarray:
        """The offset of every element in ``name`` (an integer array of the shape)."""
        if self.lin is None:
            return np.arange(self.size, dtype=np.int64).reshape(self.shape)
        return self.lin

    def var(self) -> Var:
        """The buffer's pointer as a variable (what statements reading it depend on)."""
        return Var(self.name, self.dtype)


class LoopStmt(Stmt):
    """A statement that is a whole loop: ``code`` is its C text (it declares what it
    defines); ``frees``: buffers it allocates, freed at the end of the enclosing scope."""

    __slots__ = ("frees",)

    def __init__(self, outs, code, deps, frees):
        super().__init__(outs, code, deps, block="loop")
        self.frees = frees


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def scan_rule(L, node, *args, nc, nx, length, reverse, **params):
    """The ``scan`` node as one C loop (see the module documentation)."""
    g = body_graph(node)
    if g is None:
        raise CBackendError(
            f"C backend: the step of {node.describe()} cannot be compiled as straight-line "
            "code (it branches on traced values in Python, calls debug.print, or closes over "
            "values of an enclosing transformation); use adgraph.jit, or lax.cond / "
            "anp.where inside the step"
        )
    pre = L.new_scope()
    t = f"{pre}t"
    before: list[str] = []  # declarations before the loop
    deps: set[str] = set()
    frees: list[str] = []
    # ---- the carry: mutable variables
    carry_syms = []
    carry_vars = []
    for j, a in enumerate(args[:nc]):
        inp = node.inputs[j]
        dt = np.dtype(inp.dtype)
        if isinstance(a, Buf):  # an array-mode value: the carry is scalars
            a = L.materialize(a)
        s = L.cast(L.sym(a, dt), dt)
        e = np.empty(s.shape, dtype=object)
        for i, (idx, el) in enumerate(zip(np.ndindex(s.shape), s.e.flat)):
            v = Var(f"{pre}c{j}_{i}", dt)
            before.append(f"{ctype(dt)} {v.name} = {L.c(el, dt)};")
            if isinstance(el, Var):
                deps.add(el.name)
            e[idx] = v
            carry_vars.append(v)
        carry_syms.append(Sym(e, dt))
    # ---- the stacked outputs
    ys = g.outputs[nc:]
    bufs = []
    for j, o in enumerate(ys):
        dt = np.dtype(o.dtype)
        shape = (length,) + tuple(o.shape or ())
        b = Buf(f"{pre}y{j}", shape, dt)
        ct = ctype(dt)
        before.append(f"{ct}* {b.name} = ({ct}*)malloc(sizeof({ct}) * {max(b.size, 1)});")
        frees.append(b.name)
        bufs.append(b)
    # ---- the step, lowered by a child
    sub = L.child(pre)
    x_syms = _slices(
        L, sub, pre, "k", args[nc : nc + nx], node.inputs[nc : nc + nx], t, before, deps, {}
    )
    const_syms = [L.materialize(a) if isinstance(a, Buf) else a for a in args[nc + nx :]]
    for a in const_syms:
        if isinstance(a, Sym):
            deps.update(el.name for el in a.e.flat if isinstance(el, Var))
    outs = sub.lower(g, carry_syms + x_syms + const_syms)
    outs = [sub.materialize(o) if isinstance(o, Buf) else o for o in outs]
    # ---- the loop's text
    out_elems = []
    for o, inp in zip(outs, list(node.inputs[:nc]) + list(ys)):
        dt = np.dtype(inp.dtype)
        out_elems.append([(el, dt) for el in sub.cast(o, dt).e.flat])
    kept = sub.live_statements([el for es in out_elems for el, _ in es])
    body = sub.write(kept, "    ")
    body += [f"    free({name});" for st in kept if isinstance(st, LoopStmt) for name in st.frees]
    for b, es in zip(bufs, out_elems[nc:]):
        n = len(es)
        for i, (el, dt) in enumerate(es):
            body.append(f"    {b.name}[{t} * {n} + {i}] = {sub.c(el, dt)};")
    news = []
    for k, (el, dt) in enumerate(x for es in out_elems[:nc] for x in es):
        news.append(f"{pre}n{k}")
        body.append(f"    const {ctype(dt)} {pre}n{k} = {sub.c(el, dt)};")
    body += [f"    {v.name} = {nv};" for v, nv in zip(carry_vars, news)]
    head = (
        f"for (long {t} = {length - 1}; {t} >= 0; --{t}) {{"
        if reverse
        else f"for (long {t} = 0; {t} < {length}; ++{t}) {{"
    )
    defined = {v.name for st in kept for v in st.outs}
    for st in kept:
        deps.update(d for d in st.deps if d not in defined)
    deps -= {v.name for v in carry_vars}
    code = before + [head] + body + ["}"]
    L.add_loop(LoopStmt(carry_vars + [b.var() for b in bufs], code, tuple(deps), frees))
    return tuple(carry_syms) + tuple(bufs)


def _table(L, a, dt, deps):
    """The C initialisers of a stacked value's elements (a constant or a scalarized Sym)."""
    if isinstance(a, Const):
        v = np.asarray(a.value)
        return [fmt_lit(cast_value(x, dt)) for x in v.reshape(-1)]
    s = L.cast(L.sym(a, dt), dt)
    out = []
    for el in s.e.flat:
        if isinstance(el, Var):
            deps.add(el.name)
        out.append(L.c(el, dt) if isinstance(el, (Var, Lit)) else fmt_lit(cast_value(el, dt)))
    return out


def _slices(L, sub, pre, tag, args, inputs, index, before, deps, tables):
    """The elements of step ``index`` (a C expression) of the stacked values ``args``
    (their nodes ``inputs``), read by the child lowering ``sub``; a value that is not
    already in C memory becomes one local table (``tables``: those made, by value, so
    the advance and the pullback read the same one)."""
    out = []
    for j, (a, inp) in enumerate(zip(args, inputs)):
        dt = np.dtype(inp.dtype)
        shape = tuple(inp.shape or ())[1:]
        size = _size(shape)
        e = np.empty(shape, dtype=object)
        lo = arange_start(inp) if isinstance(inp, Const) else None
        if lo is not None and size == 1:
            e[()] = sub.emit(dt, f"(({ctype(dt)})({lo}L + {index}))", [])
        else:
            if isinstance(a, Buf):
                a = L.contiguous(a)
                src = a.name
                deps.add(a.name)
            elif id(a) in tables:
                src = tables[id(a)][0]
            else:
                src = f"{pre}{tag}{j}"
                tables[id(a)] = (src, a)  # (a kept: its id stays its own)
                vals = _table(L, a, dt, deps)
                before.append(
                    f"{'static ' if isinstance(a, Const) else ''}const {ctype(dt)} "
                    f"{src}[{max(len(vals), 1)}] = {{{', '.join(vals) or '0'}}};"
                )
            for i, idx in enumerate(np.ndindex(shape)):
                e[idx] = sub.emit(dt, f"{src}[{index} * {size} + {i}]", [])
        out.append(Sym(e, dt))
    return out


def switch_rule(L, node, index, *ops, branches):
    """The ``switch`` node as ``if``/``else if``/``else`` over its branches' statements,
    each lowered by a child; the results are variables declared before the branches."""
    from ..loops import branch_graphs

    graphs = branch_graphs(node)
    if graphs is None:
        raise CBackendError(
            f"C backend: a branch of {node.describe()} (lax.cond / lax.switch) cannot be "
            "compiled as straight-line code (it branches on traced values in Python, calls "
            "debug.print, or its branches disagree in their outputs' shapes or dtypes)"
        )
    pre = L.new_scope()
    idx = L.cast(L.sym(index, np.int64), np.int64).e[()]
    deps: set[str] = set()
    if isinstance(idx, Var):
        deps.add(idx.name)
    outs_meta = [(tuple(o.shape or ()), np.dtype(o.dtype)) for o in graphs[0].outputs]
    results, out_vars = [], []
    code: list[str] = []
    for j, (shape, dt) in enumerate(outs_meta):
        e = np.empty(shape, dtype=object)
        for i, idx_e in enumerate(np.ndindex(shape)):
            v = Var(f"{pre}o{j}_{i}", dt)
            code.append(f"{ctype(dt)} {v.name};")
            e[idx_e] = v
            out_vars.append(v)
        results.append(Sym(e, dt))
    args = [a if isinstance(a, (Sym, Buf)) else L.sym(a) for a in ops]
    for a in args:
        if isinstance(a, Sym):
            deps.update(el.name for el in a.e.flat if isinstance(el, Var))
        else:
            deps.add(a.name)
    n = len(graphs)
    i = L.c(idx, np.int64)
    for k, g in enumerate(graphs):
        if n == 1:
            head = "{"
        elif k == 0:
            head = f"if ({i} <= 0) {{"
        elif k == n - 1:
            head = "else {"
        else:
            head = f"else if ({i} == {k}) {{"
        sub = L.child(f"{pre}b{k}_")
        outs = sub.lower(g, args)
        outs = [sub.materialize(o) if isinstance(o, Buf) else o for o in outs]
        elems = []
        for o, (_, dt) in zip(outs, outs_meta):
            elems += [(el, dt) for el in sub.cast(o, dt).e.flat]
        kept = sub.live_statements([el for el, _ in elems])
        body = sub.write(kept, "    ")
        body += [f"    free({nm});" for st in kept if isinstance(st, LoopStmt) for nm in st.frees]
        body += [f"    {v.name} = {sub.c(el, dt)};" for v, (el, dt) in zip(out_vars, elems)]
        defined = {v.name for st in kept for v in st.outs}
        for st in kept:
            deps.update(d for d in st.deps if d not in defined)
        code += [head] + body + ["}"]
    L.add_loop(LoopStmt(out_vars, code, tuple(deps), []))
    return tuple(results)


def while_rule(L, node, *args, cond, body, nc, **params):
    """The ``while_loop`` node as ``for (;;)`` around its predicate's statements, a
    ``break`` when it is false, and its step's statements (mutable carry variables)."""
    from ..loops import while_graphs

    got = while_graphs(node)
    if got is None:
        raise CBackendError(
            f"C backend: the predicate or step of {node.describe()} (lax.while_loop) cannot "
            "be compiled as straight-line code (Python branches on traced values, "
            "debug.print, closures over values of an enclosing transformation)"
        )
    gcond, gbody = got
    pre = L.new_scope()
    before: list[str] = []
    deps: set[str] = set()
    carry_syms, carry_vars = _carry_vars(L, node, args[:nc], pre, before, deps)
    consts = _const_syms(L, args[nc:], deps)
    code = before + ["for (;;) {"]
    defined = {v.name for v in carry_vars}
    # the predicate
    sp = L.child(f"{pre}p_")
    ((pe, _),) = _step_code(sp, gcond, carry_syms + consts, [np.bool_], code, deps, defined)
    code.append(f"    if (!({sp.c(pe, np.bool_)})) break;")
    # the step
    _step_and_assign(L, node, gbody, carry_syms, carry_vars, consts, pre, code, deps, defined)
    L.add_loop(LoopStmt(carry_vars, code, tuple(d for d in deps if d not in defined), []))
    return tuple(carry_syms)


# ------------------------------------------------------------------ while_loop's reverse mode
# Under jit(grad), a while_loop is a while_stack node (the loop, appending each iteration's
# carry to growable buffers, and its trip count) and a while_back node (a loop of that count
# over the body's pullback, last iteration first, reading the stored carries).
class Stack:
    """The carries a ``while_stack`` loop stored: ``name`` points to ``count`` rows of
    ``prod(shape)`` elements (C order), ``count`` a C variable known once the loop ran.
    Only a ``while_back`` loop reads it. Row ``t`` starts at ``t * stride + offset``.
    ``major``: the node's result has the layout ``(size, rows, ...)`` of a result of vmap
    (its rows hold a batched carry leaf, ``shape[0] == size``, or ``lead`` is that size:
    a leaf that does not vary, each row read as ``lead`` copies)."""

    __slots__ = ("name", "shape", "dtype", "count", "lead", "major", "stride", "offset")

    def __init__(self, name, shape, dtype, count, lead=None, major=False, stride=None, offset=0):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.count = count
        self.lead = lead
        self.major = major
        self.stride = _size(self.shape) if stride is None else stride
        self.offset = offset

    def var(self) -> Var:
        return Var(self.name, self.dtype)

    def __array__(self, *args, **kwargs):
        # another operation than the backward loop reads the stacked carries (a slice of a
        # batch of one, as jacfwd of a scalar makes): their number is known only at run time
        raise CBackendError(
            "C backend: the carries a lax.while_loop stored for its reverse mode are read by "
            "another operation than its backward loop (as in hessian of a function of a "
            "scalar), which the C backend does not emit; use adgraph.jit (compiler='python')"
        )


def stack_getitem(L, node, stack, *arrays, skel):
    """``stack[b]`` of a stack in vmap's layout ``(size, rows, ...)``: example ``b`` of every
    row (jacfwd takes example 0 of a result that does not vary); another index refused."""
    if arrays or len(skel) != 1 or not isinstance(skel[0], (int, np.integer)) or not stack.major:
        raise CBackendError(
            f"C backend: {node.describe()} indexes the carries a lax.while_loop stored for its "
            "reverse mode, which the C backend does not emit; use adgraph.jit "
            "(compiler='python')"
        )
    b = int(skel[0])
    if stack.lead is not None:  # every example's row is the stored one
        return Stack(
            stack.name,
            stack.shape,
            stack.dtype,
            stack.count,
            None,
            False,
            stack.stride,
            stack.offset,
        )
    row = stack.shape[1:]
    return Stack(
        stack.name,
        row,
        stack.dtype,
        stack.count,
        None,
        False,
        stack.stride,
        stack.offset + b * _size(row),
    )


def _carry_vars(L, node, args, pre, before, deps):
    """Mutable C variables for a loop's carry, declared from its initial values."""
    syms, vars_ = [], []
    for j, a in enumerate(args):
        dt = np.dtype(node.inputs[j].dtype)
        if isinstance(a, Buf):  # an array-mode value: the carry is scalars
            a = L.materialize(a)
        s = L.cast(L.sym(a, dt), dt)
        e = np.empty(s.shape, dtype=object)
        for i, (idx, el) in enumerate(zip(np.ndindex(s.shape), s.e.flat)):
            v = Var(f"{pre}c{j}_{i}", dt)
            before.append(f"{ctype(dt)} {v.name} = {L.c(el, dt)};")
            if isinstance(el, Var):
                deps.add(el.name)
            e[idx] = v
            vars_.append(v)
        syms.append(Sym(e, dt))
    return syms, vars_


def _const_syms(L, args, deps):
    consts = [L.materialize(a) if isinstance(a, Buf) else a for a in args]
    consts = [a if isinstance(a, Sym) else L.sym(a) for a in consts]
    for a in consts:
        deps.update(el.name for el in a.e.flat if isinstance(el, Var))
    return consts


def _step_code(sub, graph, inputs, dtypes, code, deps, defined):
    """Lower ``graph`` on ``inputs`` in the child ``sub``; append its statements to
    ``code`` (indented once) and return its outputs' elements ``[(element, dtype)]``."""
    outs = sub.lower(graph, inputs)
    outs = [sub.materialize(o) if isinstance(o, Buf) else o for o in outs]
    elems = []
    for o, dt in zip(outs, dtypes):
        elems += [(el, dt) for el in sub.cast(o, dt).e.flat]
    kept = sub.live_statements([el for el, _ in elems])
    code += sub.write(kept, "    ")
    code += [f"    free({nm});" for st in kept if isinstance(st, LoopStmt) for nm in st.frees]
    defined |= {v.name for st in kept for v in st.outs}
    for st in kept:
        deps.update(st.deps)
    return elems


def while_stack_rule(L, node, *args, cond, body, nc, **params):
    """The ``while_stack`` node: ``for (;;)`` as :func:`while_rule`, each iteration first
    appending its carry to one growable buffer per leaf (``realloc`` doubling it)."""
    from ..loops import while_graphs

    got = while_graphs(node)
    if got is None:
        raise CBackendError(
            f"C backend: the predicate or step of {node.describe()} (the forward pass of a "
            "lax.while_loop under grad) cannot be compiled as straight-line code (Python "
            "branches on traced values, debug.print); use adgraph.jit (compiler='python')"
        )
    # under vmap (major): a batched leaf's row already has the mapped axis first; another
    # leaf's rows are read broadcast (Stack.lead)
    size, batched = params.get("major") or (None, (True,) * nc)
    limit = params.get("limit")  # checkpoints: thinning's carries, at most limit of them
    gcond, gbody = got
    pre = L.new_scope()
    before: list[str] = []
    deps: set[str] = set()
    carry_syms, carry_vars = _carry_vars(L, node, args[:nc], pre, before, deps)
    consts = _const_syms(L, args[nc:], deps)
    i64 = np.dtype(np.int64)
    count = Var(f"{pre}n", i64)
    cap = f"{pre}cap"
    rows = f"{pre}rows" if limit is not None else count.name
    before += [f"{ctype(i64)} {count.name} = 0;", f"{ctype(i64)} {cap} = 16;"]
    if limit is not None:
        before += [f"{ctype(i64)} {rows} = 0;", f"{ctype(i64)} {pre}st = 1;"]
    stacks = []
    for j, s in enumerate(carry_syms):
        lead = None if batched[j] else size
        st = Stack(f"{pre}s{j}", s.shape, s.dtype, count, lead, major=size is not None)
        ct = ctype(s.dtype)
        room = 16 if limit is None else limit
        before.append(
            f"{ct}* {st.name} = ({ct}*)malloc(sizeof({ct}) * {room} * {max(s.e.size, 1)});"
        )
        stacks.append(st)
    code = before + ["for (;;) {"]
    defined = {v.name for v in carry_vars}
    sp = L.child(f"{pre}p_")
    ((pe, _),) = _step_code(
        sp, gcond, carry_syms + consts, [np.dtype(np.bool_)], code, deps, defined
    )
    code.append(f"    if (!({sp.c(pe, np.bool_)})) break;")
    if limit is None:
        # the carry this iteration starts from, appended (the buffers doubled when full)
        code.append(f"    if ({count.name} == {cap}) {{")
        code.append(f"        {cap} *= 2;")
        for st, s in zip(stacks, carry_syms):
            ct = ctype(st.dtype)
            size = max(s.e.size, 1)
            code.append(
                f"        {st.name} = ({ct}*)realloc({st.name}, sizeof({ct}) * {cap} * {size});"
            )
        code.append("    }")
        code += _store_row(stacks, carry_syms, count.name, "    ")
    else:
        # thinning by doubling (adgraph.lax.online.Thinning): the carries of the steps at
        # multiples of the stride, which doubles (keeping every other row) when full
        t, st_ = count.name, f"{pre}st"
        code.append(f"    if ({t} % {st_} == 0) {{")
        code.append(f"        if ({rows} == {limit}) {{")
        code.append(f"            {st_} *= 2;")
        code.append(f"            for (long {pre}q = 0; 2 * {pre}q < {rows}; ++{pre}q) {{")
        for stk, s in zip(stacks, carry_syms):
            n = s.e.size
            code.append(
                f"                for (long {pre}i = 0; {pre}i < {n}; ++{pre}i) "
                f"{stk.name}[{pre}q * {n} + {pre}i] = {stk.name}[2 * {pre}q * {n} + {pre}i];"
            )
        code.append("            }")
        code.append(f"            {rows} = ({rows} + 1) / 2;")
        code.append("        }")
        code.append(f"        if ({t} % {st_} == 0) {{")
        code += _store_row(stacks, carry_syms, rows, "            ")
        code.append(f"            ++{rows};")
        code.append("        }")
        code.append("    }")
    code.append(f"    ++{count.name};")
    _step_and_assign(L, node, gbody, carry_syms, carry_vars, consts, pre, code, deps, defined)
    outs = carry_vars + [count] + [st.var() for st in stacks]
    frees = [st.name for st in stacks]
    L.add_loop(LoopStmt(outs, code, tuple(d for d in deps if d not in defined), frees))
    ce = np.empty((), dtype=object)
    ce[()] = count
    return (*carry_syms, Sym(ce, i64), *stacks)


def _step_and_assign(L, node, gbody, carry_syms, carry_vars, consts, pre, code, deps, defined):
    """Append a while_loop step's statements, then the new carry assigned to the carry
    variables (through constants, so no assignment reads a variable already updated), and
    close the loop's brace."""
    sb = L.child(f"{pre}b_")
    dts = [np.dtype(a.dtype) for a in node.inputs[: len(carry_syms)]]
    elems = _step_code(sb, gbody, carry_syms + consts, dts, code, deps, defined)
    news = []
    for k, (el, dt) in enumerate(elems):
        news.append(f"{pre}n{k}")
        code.append(f"    const {ctype(dt)} {pre}n{k} = {sb.c(el, dt)};")
    code += [f"    {v.name} = {nv};" for v, nv in zip(carry_vars, news)]
    code.append("}")


def _store_row(stacks, carry_syms, row, ind):
    lines = []
    for st, s in zip(stacks, carry_syms):
        n = s.e.size
        for i, v in enumerate(s.e.flat):
            lines.append(f"{ind}{st.name}[{row} * {n} + {i}] = {v.name};")
    return lines


def while_back_rule(L, node, *args, back, ns, nc, **params):
    """The ``while_back`` node: ``for (t = n - 1; t >= 0; --t)`` around the backward
    step's statements, reading row ``t`` of the carries the forward loop stored."""
    from ..while_loops import back_graph

    g = back_graph(node)
    stacks = args[ns + 1 : ns + 1 + nc]
    if g is None or not all(isinstance(s, Stack) for s in stacks):
        raise CBackendError(
            f"C backend: the backward step of {node.describe()} (reverse mode of a "
            "lax.while_loop) cannot be compiled as straight-line code; use adgraph.jit "
            "(compiler='python')"
        )
    if params.get("checkpoints") is not None:
        return _back_checkpointed(L, node, g, args, ns, nc, params["checkpoints"])
    pre = L.new_scope()
    t = f"{pre}t"
    before: list[str] = []
    deps: set[str] = set()
    state_syms, state_vars = _carry_vars(L, node, args[:ns], pre, before, deps)
    n = L.cast(L.sym(args[ns], np.int64), np.int64).e[()]
    if isinstance(n, Var):
        deps.add(n.name)
    sub = L.child(pre)
    x_syms = []
    major = params.get("major") or (False,) * nc
    for st, m in zip(stacks, major):
        deps.add(st.name)
        e = np.empty(st.shape, dtype=object)
        for i, idx in enumerate(np.ndindex(st.shape)):
            at = f"{t} * {st.stride} + {st.offset + i}"
            e[idx] = sub.emit(st.dtype, f"{st.name}[{at}]", [])
        if m and st.lead is not None:  # a row read as lead copies (see Stack)
            e = np.broadcast_to(e, (st.lead, *st.shape))
        x_syms.append(Sym(e, st.dtype))
    consts = _const_syms(L, args[ns + 1 + nc :], deps)
    code = before + [f"for (long {t} = (long)({L.c(n, np.int64)}) - 1; {t} >= 0; --{t}) {{"]
    defined = {v.name for v in state_vars}
    dts = [np.dtype(a.dtype) for a in node.inputs[:ns]]
    elems = _step_code(sub, g, state_syms + x_syms + consts, dts, code, deps, defined)
    news = []
    for k, (el, dt) in enumerate(elems):
        news.append(f"{pre}n{k}")
        code.append(f"    const {ctype(dt)} {pre}n{k} = {sub.c(el, dt)};")
    code += [f"    {v.name} = {nv};" for v, nv in zip(state_vars, news)]
    code.append("}")
    L.add_loop(LoopStmt(state_vars, code, tuple(d for d in deps if d not in defined), []))
    return tuple(state_syms)


def _run_step(step_code, elems, sub, targets, tmp, ind):
    """A step's C lines at indent ``ind``, then its results ``elems`` assigned to the
    variables ``targets`` through temporaries named ``tmp0, tmp1, ...`` (every result is
    read before any target is written)."""
    out = [ind + ln[4:] if ln.startswith("    ") else ind + ln for ln in step_code]
    for q, (el, dt) in enumerate(elems):
        out.append(f"{ind}const {ctype(dt)} {tmp}{q} = {sub.c(el, dt)};")
    out += [f"{ind}{v.name} = {tmp}{q};" for v, q in zip(targets, range(len(elems)))]
    return out


def _back_checkpointed(L, node, g, args, ns, nc, k):
    """The ``while_back`` node with ``checkpoints=k``: the segments between the carries
    thinning kept, last first, each reversed by the binomial schedule with the ``k - j``
    snapshots left (:func:`adgraph.lax.online.reverse_segments`), walked at run time with a
    stack of pending segments (as :mod:`adgraph.jit.c.revolve` walks a scan's): the body's
    code advances the working carry, the backward step's code pulls the state back."""
    from ...lax.while_staged import half
    from ..while_loops import advance_graph

    adv = advance_graph(node)
    if adv is None:
        raise CBackendError(
            f"C backend: the step of {node.describe()} (lax.while_loop with checkpoints) "
            "cannot be compiled as straight-line code; use adgraph.jit (compiler='python')"
        )
    stacks = args[ns + 1 : ns + 1 + nc]
    pre = L.new_scope()
    before: list[str] = []
    deps: set[str] = set()
    state_syms, state_vars = _carry_vars(L, node, args[:ns], pre, before, deps)
    n = L.cast(L.sym(args[ns], np.int64), np.int64).e[()]
    if isinstance(n, Var):
        deps.add(n.name)
    consts = _const_syms(L, args[ns + 1 + nc :], deps)
    cur, cur_vars, snaps = [], [], []
    for j, st in enumerate(stacks):
        deps.add(st.name)
        ct = ctype(st.dtype)
        e = np.empty(st.shape, dtype=object)
        for i, idx in enumerate(np.ndindex(st.shape)):
            v = Var(f"{pre}w{j}_{i}", st.dtype)
            before.append(f"{ct} {v.name} = 0;")
            e[idx] = v
            cur_vars.append(v)
        cur.append(Sym(e, st.dtype))
        before.append(f"{ct}* {pre}p{j} = ({ct}*)malloc(sizeof({ct}) * {k} * {max(e.size, 1)});")
        snaps.append((f"{pre}p{j}", st, e.size))
    defined = {v.name for v in state_vars + cur_vars}
    # the body (advance) and the backward step, each lowered once
    ind = "            "
    sub_f = L.child(pre + "f")
    f_code: list[str] = []
    f_el = _step_code(sub_f, adv, cur + consts, [s.dtype for s in stacks], f_code, deps, defined)
    sub_b = L.child(pre + "b")
    b_code: list[str] = []
    dts = [np.dtype(a.dtype) for a in node.inputs[:ns]]
    b_el = _step_code(sub_b, g, state_syms + cur + consts, dts, b_code, deps, defined)
    T, nt, depth = f"{pre}T", f"{pre}nt", f"{pre}d"
    S, j_, s0, ln, K = f"{pre}S", f"{pre}j", f"{pre}s0", f"{pre}len", f"{pre}K"
    nn = L.c(n, np.int64)
    code = list(before)
    code.append(f"long* {T} = (long*)malloc(sizeof(long) * {3 * (2 * k + 2)});")
    code.append(f"long {S} = 1;")
    code.append(f"while (({nn} + {S} - 1) / {S} > {half(k)}) {S} *= 2;")
    code.append(f"for (long {j_} = ({nn} + {S} - 1) / {S} - 1; {j_} >= 0; --{j_}) {{")
    code.append(f"    const long {s0} = {j_} * {S};")
    code.append(f"    const long {ln} = {nn} - {s0} < {S} ? {nn} - {s0} : {S};")
    code.append(f"    const long {K} = {k} - {j_};")

    def push(a, b, c, i4):
        return [
            f"{i4}{T}[3 * {nt}] = {a}; {T}[3 * {nt} + 1] = {b}; {T}[3 * {nt} + 2] = {c}; ++{nt};"
        ]

    # the kept carry of segment j into slot 0
    for name, st, size in snaps:
        for i in range(size):
            code.append(f"    {name}[{i}] = {st.name}[{j_} * {st.stride} + {st.offset + i}];")
    code.append(f"    long {nt} = 0, {depth} = 1;")
    code += push("0", ln, f"{K} - 1", "    ")
    code.append(f"    while ({nt} > 0) {{")
    i8 = "        "
    code.append(f"{i8}--{nt};")
    code.append(
        f"{i8}const long {pre}ts = {T}[3 * {nt}], {pre}te = {T}[3 * {nt} + 1], "
        f"{pre}tf = {T}[3 * {nt} + 2];"
    )
    ts, te, tf = f"{pre}ts", f"{pre}te", f"{pre}tf"
    code.append(f"{i8}if ({te} < 0) {{ --{depth}; continue; }}")  # forget the top slot
    for (name, _, size), vs in zip(snaps, _split(cur_vars, [sz for _, _, sz in snaps])):
        for i, v in enumerate(vs):
            code.append(f"{i8}{v.name} = {name}[({depth} - 1) * {size} + {i}];")
    m, bt = f"{pre}m", f"{pre}bt"
    code.append(f"{i8}long {m}, {bt} = -1;")
    code.append(f"{i8}if ({te} - {ts} == 1) {{ {m} = {ts}; {bt} = {ts}; }}")
    code.append(f"{i8}else if ({tf} == 0) {{")
    code.append(f"{i8}    {m} = {te} - 1; {bt} = {te} - 1;")
    code += push(ts, f"{te} - 1", "0", i8 + "    ")
    code.append(f"{i8}}} else {{")
    # the binomial split of adgraph.lax.revolve (exact integers)
    code.append(f"{i8}    long {pre}r = 0, {pre}b = 1, {pre}q = 1;")
    code.append(f"{i8}    while ({pre}b < {te} - {ts}) {{")
    code.append(
        f"{i8}        ++{pre}r; {pre}q = {pre}b; {pre}b = {pre}b * ({tf} + {pre}r) / {pre}r;"
    )
    code.append(f"{i8}    }}")
    code.append(f"{i8}    long {pre}l = {pre}q < {te} - {ts} - 1 ? {pre}q : {te} - {ts} - 1;")
    code.append(f"{i8}    {m} = {ts} + ({pre}l > 1 ? {pre}l : 1);")
    code.append(f"{i8}}}")
    code.append(f"{i8}for (long {pre}u = {ts}; {pre}u < {m}; ++{pre}u) {{")
    code += _run_step(f_code, f_el, sub_f, cur_vars, f"{pre}nf", ind)
    code.append(f"{i8}}}")
    code.append(f"{i8}if ({bt} >= 0) {{")
    code += _run_step(b_code, b_el, sub_b, state_vars, f"{pre}ng", ind)
    code.append(f"{i8}}} else {{")
    for (name, _, size), vs in zip(snaps, _split(cur_vars, [sz for _, _, sz in snaps])):
        for i, v in enumerate(vs):
            code.append(f"{ind}{name}[{depth} * {size} + {i}] = {v.name};")
    code.append(f"{ind}++{depth};")
    code += push(ts, m, tf, ind)
    code += push("0", "-1", "0", ind)
    code += push(m, te, f"{tf} - 1", ind)
    code.append(f"{i8}}}")
    code.append("    }")
    code.append("}")
    code += [f"free({name});" for name, _, _ in snaps] + [f"free({T});"]
    L.add_loop(LoopStmt(state_vars, code, tuple(d for d in deps if d not in defined), []))
    return tuple(state_syms)


def _split(seq, sizes):
    out, p = [], 0
    for z in sizes:
        out.append(seq[p : p + z])
        p += z
    return out
