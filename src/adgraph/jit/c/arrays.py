"""Large values in C: loops over arrays instead of one statement per element.

Scalarizing (one C variable per element, :mod:`adgraph.jit.c.lower`) suits the small values
of a material law; a Hessian of 50 variables holds 2,500 elements per value, and its
thousands of statements take seconds to compile. A node with more than
:data:`ARRAY_MIN` elements -- or one that reads such a value -- is lowered here instead,
when its primitive has an array rule: its value is a :class:`~adgraph.jit.c.loops.Buf`,
``malloc``'d C memory written by one loop nest, and freed at the end of the point.

* Elementwise operations (every ufunc of the C templates, ``integer_pow``, ``where``,
  casts) write their result in one pass over the output shape, reading each argument
  through its own index map (broadcasting included).
* Data movement -- ``reshape``, ``transpose``, ``broadcast_to``, slices, ``getitem`` with
  constant indices, ``flip``, ``diagonal``... -- costs nothing: the primitive's own
  implementation is applied to the argument's *index map* (the offset of each element in
  its memory), giving the result's index map over the same memory. A map that is affine
  in the loop indices is written as strides; any other is a ``static const`` table.
* ``scatter_add`` / ``scatter`` at constant indices, ``reduce_sum`` / ``reduce_prod``
  over axes, and ``matmul`` of vectors and matrices are loop nests too.

Anything else falls back to scalarization (within ``max_node_size``). The arithmetic is
the scalar path's, element by element, so results are equal to rounding (a sum is
accumulated left to right, where NumPy sums pairwise).
"""

from __future__ import annotations

import numpy as np

from ...graph.nodes import Const
from ...ops.indexing import join_index
from .loops import Buf, LoopStmt
from .scalars import Sym, Var, cast_value, ctype, fmt_lit

__all__ = [
    "ARRAY_MIN",
    "ARRAY_RULES",
    "FUSABLE",
    "Lazy",
    "array_rule",
    "copy_of",
    "copy_out",
    "force",
    "input_array",
]

#: Nodes with more elements than this are computed by loops over C arrays (a 3x3x3x3
#: tangent, 81 elements, stays scalarized: constant folding and CSE pay there).
ARRAY_MIN = 256


# ---------------------------------------------------------------- operands
class _Nest:
    """A loop nest over ``shape``, and the C expressions of operands at its position."""

    def __init__(self, L, shape):
        self.L = L
        self.shape = tuple(shape)
        self.pre = L.new_scope()
        self.vars = [f"{self.pre}i{d}" for d in range(len(self.shape))]
        self.before: list[str] = []
        self.deps: set[str] = set()

    def open(self, dims=None) -> list[str]:
        dims = range(len(self.shape)) if dims is None else dims
        return [
            f"for (long {self.vars[d]} = 0; {self.vars[d]} < {self.shape[d]}; ++{self.vars[d]}) {{"
            for d in dims
        ]

    def flat(self, dims=None) -> str:
        """The C-order position in ``shape`` (over ``dims``) of the loop's indices."""
        dims = list(range(len(self.shape))) if dims is None else list(dims)
        expr = "0"
        for d in dims:
            expr = f"({expr} * {self.shape[d]} + {self.vars[d]})"
        return expr

    def at(self, lin, name) -> str:
        """``name[lin[...]]`` at the loop's position, ``lin`` broadcast to the nest's
        shape: strides where the map is affine, else a constant table."""
        lin = np.broadcast_to(lin, self.shape)
        self.deps.add(name)
        aff = _affine(lin)
        if aff is not None:
            off, strides = aff
            terms = [str(off)] if off else []
            terms += [
                f"{v} * {s}" if s != 1 else v for v, s in zip(self.vars, strides, strict=True) if s
            ]
            return f"{name}[{' + '.join(terms) or '0'}]"
        tbl = f"{self.pre}m{len(self.before)}"
        vals = ", ".join(str(int(v)) for v in lin.reshape(-1))
        self.before.append(f"static const long {tbl}[{max(lin.size, 1)}] = {{{vals or '0'}}};")
        return f"{name}[{tbl}[{self.flat()}]]"

    def operand(self, a, dt) -> str:
        """The C expression of argument ``a`` (a Buf, a Lazy, a Sym or a Const) in dtype
        ``dt``. A Lazy of the nest's size is computed here, in this pass (fused)."""
        dt = np.dtype(dt)
        L = self.L
        if isinstance(a, Lazy):
            if a.size != int(np.prod(self.shape, dtype=np.int64)):
                a = force(L, a)  # broadcast: computing it here would repeat it
            else:
                ops = [self.operand(x, d) for x, d in zip(a.args, a.loop, strict=True)]
                expr = a.code_of(ops)
                return expr if a.dtype == dt else f"(({ctype(dt)}){expr})"
        if isinstance(a, Const):
            v = np.asarray(a.value)
            if v.size and v.tobytes() == np.full_like(v, v.flat[0]).tobytes():
                return fmt_lit(cast_value(v.flat[0], dt))  # uniform: one literal
            if v.ndim == 0:
                return fmt_lit(cast_value(v, dt))
            a = constant(L, v)
        if isinstance(a, Sym):
            if a.ndim == 0:
                e = a.e[()]
                if isinstance(e, Var):
                    self.deps.add(e.name)
                return L.c(e, dt)
            a = from_sym(L, a)
        expr = self.at(a.linear(), a.name)
        return expr if a.dtype == dt else f"(({ctype(dt)}){expr})"


def _affine(lin):
    """``(offset, strides)`` when ``lin[i] == offset + sum(i_d * strides[d])``, else None."""
    if lin.size == 0:
        return 0, [0] * lin.ndim
    off = int(lin.flat[0])
    strides = []
    ref = np.full(lin.shape, off, dtype=np.int64)
    for d, n in enumerate(lin.shape):
        s = 0
        if n > 1:
            idx = [0] * lin.ndim
            idx[d] = 1
            s = int(lin[tuple(idx)]) - off
        strides.append(s)
        if s:
            ref = ref + np.arange(n).reshape([n if k == d else 1 for k in range(lin.ndim)]) * s
    return (off, strides) if np.array_equal(ref, lin) else None


def _alloc(L, shape, dt, lines):
    """A new C-order array: its Buf, the malloc line appended to ``lines``."""
    name = f"{L.new_scope()}a"
    ct = ctype(dt)
    size = max(int(np.prod(shape, dtype=np.int64)), 1)
    lines.append(f"{ct}* restrict {name} = ({ct}*)malloc(sizeof({ct}) * {size});")
    return Buf(name, shape, dt)


def _stmt(L, nest, buf, lines):
    """Add the statement defining ``buf`` (allocated in ``lines``) to ``L``."""
    deps = tuple(nest.deps) if nest is not None else ()
    code = (nest.before if nest is not None else []) + lines
    L.add_loop(LoopStmt([buf.var()], code, deps, [buf.name]))
    return buf


def constant(L, v) -> Buf:
    """A constant array as a ``static const`` table."""
    v = np.asarray(v)
    ct = ctype(v.dtype)
    key = ("array-const", v.dtype.str, v.shape, v.tobytes())
    got = L.cse.get(key)
    if got is not None:
        return got
    name = f"{L.new_scope()}k"
    vals = ", ".join(fmt_lit(x) for x in v.reshape(-1))
    L.add_loop(
        LoopStmt(
            [Var(name, v.dtype)],
            [f"static const {ct} {name}[{max(v.size, 1)}] = {{{vals or '0'}}};"],
            (),
            [],
        )
    )
    buf = Buf(name, v.shape, v.dtype)
    L.cse[key] = buf
    return buf


def from_sym(L, s: Sym) -> Buf:
    """A scalarized value written into a local array."""
    name = f"{L.new_scope()}s"
    ct = ctype(s.dtype)
    deps = [e.name for e in s.e.flat if isinstance(e, Var)]
    vals = ", ".join(L.c(e, s.dtype) for e in s.e.flat)
    L.add_loop(
        LoopStmt(
            [Var(name, s.dtype)],
            [f"{ct} {name}[{max(s.size, 1)}] = {{{vals or '0'}}};"],
            tuple(deps),
            [],
        )
    )
    return Buf(name, s.shape, s.dtype)


def input_array(name, shape, dt) -> Buf:
    """A large input of the kernel, read where it lies (``x{k}``)."""
    return Buf(name, shape, dt)


def copy_of(L, a: Buf) -> Buf:
    """A C-order copy of the view ``a``."""
    lines: list[str] = []
    out = _alloc(L, a.shape, a.dtype, lines)
    nest = _Nest(L, a.shape)
    src = nest.at(a.linear(), a.name)
    lines += nest.open() + [f"    {out.name}[{nest.flat()}] = {src};"] + ["}"] * len(a.shape)
    return _stmt(L, nest, out, lines)


def copy_out(L, a: Buf, dst: str, ind: str) -> list[str]:
    """C lines copying the array ``a`` into the output pointer ``dst`` (C order)."""
    nest = _Nest(L, a.shape)
    src = nest.at(a.linear(), a.name)
    lines = nest.before + nest.open() + [f"    {dst}[{nest.flat()}] = {src};"]
    return [ind + ln for ln in lines + ["}"] * len(a.shape)]


# ---------------------------------------------------------------- rules
ARRAY_RULES: dict = {}


def _rule(*names):
    def deco(f):
        for n in names:
            ARRAY_RULES[n] = f
        return f

    return deco


class Lazy:
    """An elementwise result not written yet: ``code_of`` of its operands' expressions.
    Its only consumer, when elementwise over the same shape, computes it in its own pass
    (a chain of elementwise operations is one loop, without temporaries); any other
    consumer writes it first (:func:`force`)."""

    __slots__ = ("shape", "dtype", "args", "loop", "code_of", "depth")

    def __init__(self, shape, dtype, args, loop, code_of):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.args = args
        self.loop = loop
        self.code_of = code_of
        # the longest chain of Lazy operands below (the expression's nesting)
        self.depth = 1 + max((a.depth for a in args if isinstance(a, Lazy)), default=0)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))


def force(L, a):
    """``a`` written into memory when it is a Lazy (else ``a``)."""
    if not isinstance(a, Lazy):
        return a
    return _write(L, a.shape, a.dtype, a.args, a.loop, a.code_of)


#: The array rules that are elementwise: their operands may be Lazy (fused).
FUSABLE: set = set()


def _map(L, node, args, loop, code_of):
    """An elementwise result: ``code_of(operand expressions)`` over the node's shape --
    deferred (a Lazy) when the node has one consumer, else written now."""
    shape = tuple(node.shape)
    dt = np.dtype(node.dtype)
    if L.uses.get(node, 0) == 1:
        lazy = Lazy(shape, dt, args, loop, code_of)
        if lazy.depth <= MAX_FUSED:
            return lazy
    return _write(L, shape, dt, args, loop, code_of)


#: The longest chain of elementwise operations fused into one expression: a longer one
#: (an unrolled loop of hundreds of steps) is written out every so many operations, so
#: that neither the generator's recursion nor the C expression grows without bound.
MAX_FUSED = 48


def _write(L, shape, dt, args, loop, code_of):
    lines: list[str] = []
    out = _alloc(L, shape, dt, lines)
    nest = _Nest(L, shape)
    ops = [nest.operand(a, d) for a, d in zip(args, loop, strict=True)]
    lines += nest.open() + [f"    {out.name}[{nest.flat()}] = {code_of(ops)};"]
    lines += ["}"] * len(shape)
    return _stmt(L, nest, out, lines)


def _dtype_of(a):
    if isinstance(a, Const):
        v = a.value
        return type(v) if type(v) in (int, float) else np.asarray(v).dtype
    return a.dtype


def _ufunc_rule(ufname):
    def rule(L, node, *args):
        uf = getattr(np, ufname)
        try:
            dts = uf.resolve_dtypes(tuple(_dtype_of(a) for a in args) + (None,) * uf.nout)
        except (TypeError, ValueError):
            return None
        loop = dts[: uf.nin]
        out_dt = np.dtype(node.dtype)
        name = uf.__name__
        return _map(L, node, args, loop, lambda ops: L.template(name, ops, loop, out_dt))

    return rule


def _install_ufuncs():
    from ..codegen import UFUNCS

    for prim, uf in UFUNCS.items():
        ARRAY_RULES[prim] = _ufunc_rule(uf)
        FUSABLE.add(prim)
    FUSABLE.update(("integer_pow", "where", "convert_element_type"))


_install_ufuncs()


@_rule("integer_pow")
def _integer_pow(L, node, x, *, n):
    dt = np.dtype(node.dtype)
    if n == 2:
        return _map(L, node, [x], [dt], lambda o: f"({o[0]} * {o[0]})")
    if dt.kind != "f":
        return None
    one = fmt_lit(dt.type(1))
    if n == -1:
        return _map(L, node, [x], [dt], lambda o: f"({one} / {o[0]})")
    return _map(
        L, node, [x], [dt], lambda o: L.template("power", [o[0], fmt_lit(dt.type(n))], (dt, dt), dt)
    )


@_rule("where")
def _where(L, node, c, x, y):
    dt = np.dtype(node.dtype)
    return _map(
        L, node, [c, x, y], [np.dtype(bool), dt, dt], lambda o: f"({o[0]} ? {o[1]} : {o[2]})"
    )


@_rule("convert_element_type")
def _convert(L, node, x, *, dtype):
    return _map(L, node, [x], [np.dtype(node.dtype)], lambda o: o[0])


def _as_buf(L, a):
    a = force(L, a)
    if isinstance(a, Buf):
        return a
    if isinstance(a, Sym):
        return from_sym(L, a)
    return constant(L, np.asarray(a.value))


_VIEWS = {
    "reshape",
    "broadcast_to",
    "transpose",
    "static_slice",
    "flip",
    "diagonal",
    "fftshift",
    "stop_gradient",
    "real",
    "conj",
}


def _view(L, node, x, *rest, **params):
    """Data movement: the primitive applied to the argument's index map."""
    if node.op == "getitem":
        if any(not isinstance(r, Const) for r in rest):
            return None
        arrays = [np.asarray(r.value) for r in rest]
    elif rest:
        return None
    else:
        arrays = []
    b = _as_buf(L, x)
    lin = b.linear()
    if node.op in ("stop_gradient", "real", "conj"):
        res = lin
    elif node.op == "getitem":
        res = np.asarray(lin[join_index(params["skel"], arrays)])
    else:
        res = np.asarray(node.prim.impl(np, lin, **params))
    if res.dtype.kind not in "iu" or tuple(res.shape) != tuple(node.shape):
        return None
    if np.dtype(node.dtype) != b.dtype:
        return None
    return Buf(b.name, res.shape, b.dtype, lin=res)


for _p in _VIEWS | {"getitem"}:
    ARRAY_RULES[_p] = _view


@_rule("scatter_add", "scatter")
def _scatter(L, node, x, *rest, skel):
    if any(not isinstance(r, Const) for r in rest[:-1]):
        return None
    dt = np.dtype(node.dtype)
    shape = tuple(node.shape)
    lines: list[str] = []
    out = _alloc(L, shape, dt, lines)
    target = np.arange(out.size, dtype=np.int64).reshape(shape)
    target = np.asarray(target[join_index(skel, [np.asarray(r.value) for r in rest[:-1]])])
    copy = _Nest(L, shape)
    src = copy.operand(x, dt)
    lines += copy.open() + [f"    {out.name}[{copy.flat()}] = {src};"] + ["}"] * len(shape)
    upd = _Nest(L, target.shape)
    u = upd.operand(rest[-1], dt)
    dst = upd.at(target, out.name)
    op = "+=" if node.op == "scatter_add" else "="
    lines += upd.open() + [f"    {dst} {op} {u};"] + ["}"] * target.ndim
    copy.before += upd.before
    copy.deps |= upd.deps
    copy.deps.discard(out.name)
    return _stmt(L, copy, out, lines)


@_rule("reduce_sum", "reduce_prod")
def _reduce(L, node, x, *, axis, keepdims):
    dt = np.dtype(node.dtype)
    b = _as_buf(L, x)
    nd = len(b.shape)
    axes = tuple(range(nd)) if axis is None else tuple(a % max(nd, 1) for a in axis)
    kept = [d for d in range(nd) if d not in axes]
    lin = np.transpose(b.linear(), kept + list(axes))
    kshape = tuple(b.shape[d] for d in kept)
    rshape = tuple(b.shape[d] for d in axes)
    lines: list[str] = []
    out = _alloc(L, tuple(node.shape), dt, lines)
    nest = _Nest(L, kshape + rshape)
    src = nest.at(lin, b.name)
    if b.dtype != dt:
        src = f"(({ctype(dt)}){src})"
    op = "+" if node.op == "reduce_sum" else "*"
    acc = f"{nest.pre}acc"
    init = fmt_lit(cast_value(0 if op == "+" else 1, dt))
    nk = len(kshape)
    lines += nest.open(range(nk)) + [f"    {ctype(dt)} {acc} = {init};"]
    lines += nest.open(range(nk, nk + len(rshape))) + [f"    {acc} = {acc} {op} {src};"]
    lines += ["}"] * len(rshape)
    lines += [f"    {out.name}[{nest.flat(range(nk))}] = {acc};"] + ["}"] * nk
    return _stmt(L, nest, out, lines)


@_rule("matmul")
def _matmul(L, node, x, y):
    dt = np.dtype(node.dtype)
    bx, by = _as_buf(L, x), _as_buf(L, y)
    if bx.dtype != dt or by.dtype != dt or len(bx.shape) > 2 or len(by.shape) > 2:
        return None
    lx = bx.linear()
    ly = by.linear()
    if lx.ndim == 1:
        lx = lx[None, :]
    if ly.ndim == 1:
        ly = ly[:, None]
    m, k = lx.shape
    p = ly.shape[1]
    lines: list[str] = []
    out = _alloc(L, tuple(node.shape), dt, lines)
    nest = _Nest(L, (m, p, k))
    a = nest.at(lx[:, None, :], bx.name)
    b = nest.at(ly.T[None, :, :], by.name)
    acc = f"{nest.pre}acc"
    lines += nest.open([0, 1]) + [f"    {ctype(dt)} {acc} = {fmt_lit(cast_value(0, dt))};"]
    lines += nest.open([2]) + [f"    {acc} = {acc} + {a} * {b};", "}"]
    lines += [f"    {out.name}[{nest.flat([0, 1])}] = {acc};", "}", "}"]
    return _stmt(L, nest, out, lines)


def array_rule(L, node, args):
    """The node lowered by loops over arrays, or None (then it is scalarized)."""
    rule = ARRAY_RULES.get(node.op)
    if rule is None or node.multiple_results or node.shape is None:
        return None
    if np.dtype(node.dtype) not in (
        np.dtype(t) for t in ("f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?")
    ):
        return None
    return rule(L, node, *args, **node.params)
