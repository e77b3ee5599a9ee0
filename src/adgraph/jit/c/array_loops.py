"""A ``scan`` over array values: one C loop whose step reads and writes arrays.

:func:`adgraph.jit.c.loops.scan_rule` scalarizes a step: one C variable per element of the
carry, one statement per element of every operation. A step over a hidden state of 50 and
a 50x50 matrix (an RNN) is then ~10^4 statements, and its reverse-mode step more; the C
compiler's time grows with that. When a loop's values are larger than
:data:`LOOP_ARRAY_MIN` elements, :func:`array_scan_rule` lowers it instead with every
loop value an :class:`~adgraph.jit.c.loops.Buf`:

* each carry leaf is two ``malloc``'d arrays, the current one (read by the step) and the
  next (written at the end of the step); the two pointers are swapped after each step, so
  a carry that the step reads after writing part of it cannot be clobbered;
* the step's slice of each ``xs`` leaf is a pointer into the stacked array
  (``xs + t * size``), read in place;
* closed-over arrays are read where they lie;
* each stacked output is written at ``ys + t * size``.

The step's operations then read arrays, so the child lowering computes them with the loop
nests of :mod:`adgraph.jit.c.arrays` (elementwise passes, ``matmul``, reductions, views
as index maps), whose text does not grow with the array size. A step operation without
an array rule is still scalarized (correct, only larger). The arithmetic is the scalar
path's, element by element in the same order, so the results are the same to rounding.
"""

from __future__ import annotations

import numpy as np

from ..loops import arange_start, body_graph
from .arrays import _Nest, copy_out, force, from_sym
from .loops import Buf, LoopStmt
from .scalars import Sym, Var, ctype

__all__ = ["LOOP_ARRAY_MIN", "array_scan_rule", "wants_arrays"]

#: A loop whose carry, step slice of ``xs``, closed-over value or stacked output has more
#: elements than this runs over arrays (3x3 and 4x4 steps stay scalarized: constant
#: folding and common subexpressions pay there).
LOOP_ARRAY_MIN = 16


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def wants_arrays(node, args, nc, nx) -> bool:
    """Whether the ``scan`` node is lowered over arrays (see :data:`LOOP_ARRAY_MIN`)."""
    g_outs = node.shape if node.multiple_results else [node.shape]
    sizes = [_size(tuple(i.shape or ())) for i in node.inputs[:nc]]
    sizes += [_size(tuple(i.shape or ())[1:]) for i in node.inputs[nc : nc + nx]]
    sizes += [_size(tuple(i.shape or ())) for i in node.inputs[nc + nx :]]
    sizes += [_size(tuple(s or ())[1:]) for s in list(g_outs)[nc:]]
    return max(sizes, default=0) > LOOP_ARRAY_MIN


def _closed(L, a):
    """A closed-over value as the step reads it: a scalarized one larger than
    :data:`LOOP_ARRAY_MIN` is written into a local array once, before the loop (the step's
    operations on it are then loop nests, not one statement per element)."""
    if isinstance(a, Sym) and a.size > LOOP_ARRAY_MIN:
        return from_sym(L, a)
    return a


def _fill(L, dst, a, shape, dt, lines, deps):
    """C lines writing the value ``a`` (Buf, Sym, Const) into the C-order array ``dst``."""
    nest = _Nest(L, shape)
    src = nest.operand(a, dt)
    lines += nest.before + nest.open() + [f"    {dst}[{nest.flat()}] = {src};"]
    lines += ["}"] * len(shape)
    deps.update(nest.deps)


def _store(sub, o, dst, dt, lines, elems):
    """Append the C lines writing the step's output ``o`` into the C-order array ``dst``
    to ``lines``, and what they read to ``elems`` (for dead-code elimination)."""
    o = force(sub, o)
    if isinstance(o, Buf) and o.dtype == dt:
        lines += copy_out(sub, o, dst, "    ")
        elems.append(o.var())
        return
    if isinstance(o, Buf):
        o = sub.materialize(o)
    s = sub.cast(o, dt)
    lines += [f"    {dst}[{i}] = {sub.c(el, dt)};" for i, el in enumerate(s.e.flat)]
    elems += list(s.e.flat)


def array_scan_rule(L, node, *args, nc, nx, length, reverse, **params):
    """The ``scan`` node as one C loop over array values, or None when its step cannot be
    traced as straight-line code (:func:`adgraph.jit.c.loops.scan_rule` then says why)."""
    g = body_graph(node)
    if g is None:
        return None
    pre = L.new_scope()
    t = f"{pre}t"
    before: list[str] = []
    deps: set[str] = set()
    frees: list[str] = []
    inner: set[str] = set()  # names defined by the loop's own code
    # ---- the carry: current and next arrays, swapped after each step
    carry_in, carry_cur, carry_nxt = [], [], []
    for j, a in enumerate(args[:nc]):
        inp = node.inputs[j]
        dt, shape = np.dtype(inp.dtype), tuple(inp.shape or ())
        ct, n = ctype(dt), max(_size(shape), 1)
        cur, nxt = f"{pre}c{j}", f"{pre}n{j}"
        before.append(f"{ct}* {cur} = ({ct}*)malloc(sizeof({ct}) * {n});")
        before.append(f"{ct}* {nxt} = ({ct}*)malloc(sizeof({ct}) * {n});")
        _fill(L, cur, a, shape, dt, before, deps)
        frees += [cur, nxt]
        carry_in.append(Buf(cur, shape, dt))
        carry_cur.append(cur)
        carry_nxt.append(nxt)
    # ---- the stacked outputs
    ys = g.outputs[nc:]
    bufs = []
    for j, o in enumerate(ys):
        dt = np.dtype(o.dtype)
        b = Buf(f"{pre}y{j}", (length,) + tuple(o.shape or ()), dt)
        ct = ctype(dt)
        before.append(f"{ct}* {b.name} = ({ct}*)malloc(sizeof({ct}) * {max(b.size, 1)});")
        frees.append(b.name)
        bufs.append(b)
    # ---- the step's slices of xs: pointers into the stacked arrays
    sub = L.child(pre)
    x_in, head_lines = [], []
    for j, a in enumerate(args[nc : nc + nx]):
        inp = node.inputs[nc + j]
        dt = np.dtype(inp.dtype)
        shape = tuple(inp.shape or ())[1:]
        size = _size(shape)
        lo = arange_start(inp)
        if lo is not None and size == 1:
            e = np.empty((), dtype=object)
            e[()] = sub.emit(dt, f"(({ctype(dt)})({lo}L + {t}))", [])
            x_in.append(Sym(e, dt))
            continue
        a = force(L, a)
        if isinstance(a, Buf) and a.lin is None and a.dtype == dt:
            src = a.name
            deps.add(a.name)
        else:  # a view, a constant or scalars: one C-order copy before the loop
            src = f"{pre}k{j}"
            ct = ctype(dt)
            full = (length,) + shape
            before.append(f"{ct}* {src} = ({ct}*)malloc(sizeof({ct}) * {max(_size(full), 1)});")
            frees.append(src)
            _fill(L, src, a, full, dt, before, deps)
        ptr = f"{pre}x{j}"
        head_lines.append(f"    const {ctype(dt)}* {ptr} = {src} + {t} * {size};")
        inner.add(ptr)
        x_in.append(Buf(ptr, shape, dt))
    consts = [_closed(L, a) for a in args[nc + nx :]]
    outs = sub.lower(g, carry_in + x_in + consts, arrays=True)
    outs = [force(sub, o) for o in outs]
    tail: list[str] = []
    elems: list = []
    for j, (o, inp) in enumerate(zip(outs[:nc], node.inputs[:nc], strict=True)):
        _store(sub, o, carry_nxt[j], np.dtype(inp.dtype), tail, elems)
    for b, o in zip(bufs, outs[nc:], strict=True):
        _store(sub, o, f"({b.name} + {t} * {_size(b.shape[1:])})", b.dtype, tail, elems)
    kept = sub.live_statements(elems)
    body = head_lines + sub.write(kept, "    ") + tail
    body += [f"    free({name});" for st in kept if isinstance(st, LoopStmt) for name in st.frees]
    for cur, nxt in zip(carry_cur, carry_nxt, strict=True):
        body.append(f"    {{ void* {pre}sw = {cur}; {cur} = {nxt}; {nxt} = {pre}sw; }}")
    head = (
        f"for (long {t} = {length - 1}; {t} >= 0; --{t}) {{"
        if reverse
        else f"for (long {t} = 0; {t} < {length}; ++{t}) {{"
    )
    defined = {v.name for st in kept for v in st.outs} | inner
    for st in kept:
        deps.update(d for d in st.deps if d not in defined)
    # what the stores read directly: a step output that is a value from outside the loop
    # (a closed-over value passed on as a carry) is defined by a statement before it
    deps.update(e.name for e in elems if isinstance(e, Var) and e.name not in defined)
    deps -= set(carry_cur) | set(carry_nxt)
    code = before + [head] + body + ["}"]
    outs_vars = [c.var() for c in carry_in] + [b.var() for b in bufs]
    L.add_loop(LoopStmt(outs_vars, code, tuple(deps), frees))
    return tuple(carry_in) + tuple(bufs)
