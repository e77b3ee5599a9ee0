"""Lowering: a graph becomes a C program over scalars (see :mod:`adgraph.jit.c`).

:class:`Lowering` walks the graph in topological order and calls each node's rule
(:mod:`adgraph.jit.c.rules`), holding every value as an array of C scalars; it folds
constants, drops ``x + 0``-like statements and computes equal statements once.
:func:`lower_to_c` then removes the statements no output reads and writes the C function,
with the helpers it calls (read from ``helpers.c``) in front.
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ...graph.ir import Graph
from ...graph.nodes import Const, Node
from ..codegen import display_name, identifier
from .array_loops import array_scan_rule, wants_arrays
from .array_revolve import array_revolve_rule, revolve_wants_arrays
from .arrays import ARRAY_MIN, FUSABLE, Lazy, array_rule, copy_out, force, input_array
from .errors import CBackendError
from .loops import (
    Buf,
    Stack,
    scan_rule,
    stack_getitem,
    switch_rule,
    while_back_rule,
    while_rule,
    while_stack_rule,
)
from .revolve import revolve_rule
from .rules import BOOL_OPS, FLOAT_OPS, INT_OPS, RULES
from .scalars import (
    CTYPES,
    Lit,
    Stmt,
    Sym,
    Var,
    cast_value,
    ctype,
    fmt_lit,
    is_lit,
    libm_suffix,
    lit,
    objarray,
)
from .split import SPLIT_STATEMENTS, split_program
from .symbolic import impl_rule

__all__ = ["CKernel", "Lowering", "lower_to_c", "helpers", "MAX_NODE_SIZE", "MAX_STATEMENTS"]

#: Default limit on the number of elements of one node (a 3x3x3x3 tangent has 81).
MAX_NODE_SIZE = 256
#: Default limit on the number of C statements of one program.
MAX_STATEMENTS = 200_000


# ============================================================================ C helpers
# A marker line of helpers.c: "/* @helper NAME */" or "/* @helper NAME: needs DEP, DEP */".
_MARKER = re.compile(r"^/\* @helper (\w+)(?:: needs ([\w, ]+))? \*/\n", re.MULTILINE)


@functools.cache
def helpers() -> dict[str, tuple[str, tuple[str, ...]]]:
    """The C helpers of ``helpers.c`` (package data), in the file's order: ``{name: (C
    template, names of the helpers it calls)}``."""
    text = resources.files(__package__).joinpath("helpers.c").read_text(encoding="utf-8")
    parts = _MARKER.split(text)  # preamble, then (name, needs, code) for each helper
    return {
        name: (code.strip(), tuple(d.strip() for d in needs.split(",")) if needs else ())
        for name, needs, code in zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
    }


def helper_code(name: str, dt: DTypeLike) -> str:
    """Helper ``name`` for the floating dtype ``dt`` (``real_t`` and ``SFX`` filled in)."""
    code = helpers()[name][0]
    return code.replace("real_t", CTYPES[np.dtype(dt)]).replace("SFX", libm_suffix(dt))


# ============================================================================ lowering
class Lowering:
    """Turns a graph into C statements over scalars (see the module documentation)."""

    def __init__(
        self, *, max_node_size=MAX_NODE_SIZE, max_statements=MAX_STATEMENTS, assume_finite=False
    ):
        self.stmts: list[Stmt] = []
        self.cse: dict = {}
        self.helpers: set = set()
        self.count = 0
        self.max_node_size = max_node_size
        self.max_statements = max_statements
        self.assume_finite = assume_finite
        self.where = ""  # the node being lowered, for error messages
        self.prefix = ""  # of every variable this lowering names (a loop's child: its own)
        self.scopes = 0  # loops lowered here (each names its variables after its number)
        self.uses: dict = {}  # node -> its consumers and output uses (fusion needs 1)

    # ---------------------------------------------------------------- statements
    def _new_name(self):
        self.count += 1
        return f"{self.prefix}t{self.count}"

    # ---------------------------------------------------------------- loops
    def new_scope(self) -> str:
        """The prefix of a new loop's variables."""
        self.scopes += 1
        return f"{self.prefix}l{self.scopes}_"

    def child(self, prefix: str) -> Lowering:
        """A lowering for a loop's step: its own statements, named with ``prefix``; it
        sees this one's values (the loop is emitted after them) and shares its helpers."""
        sub = Lowering(
            max_node_size=self.max_node_size,
            max_statements=self.max_statements,
            assume_finite=self.assume_finite,
        )
        sub.prefix = prefix
        sub.cse = dict(self.cse)
        sub.helpers = self.helpers
        return sub

    def add_loop(self, stmt) -> None:
        if len(self.stmts) >= self.max_statements:
            raise CBackendError(
                f"C backend: the program needs more than {self.max_statements} statements "
                f"(at {self.where})"
            )
        self.stmts.append(stmt)

    def materialize(self, buf) -> Sym:
        """The elements of a loop's stacked output, read into scalars."""
        if buf.size > self.max_node_size:
            raise CBackendError(
                f"C backend: {self.where} reads a loop's stacked output of shape {buf.shape} "
                f"element by element ({buf.size} elements, more than max_node_size="
                f"{self.max_node_size}); only another loop reads it whole"
            )
        e = np.empty(buf.shape, dtype=object)
        src = buf.var()
        lin = buf.linear()
        for idx in np.ndindex(buf.shape):
            e[idx] = self.emit(buf.dtype, f"{buf.name}[{int(lin[idx])}]", [src])
        return Sym(e, buf.dtype)

    def contiguous(self, buf):
        """``buf``, or a C-order copy of it when it is a view."""
        if buf.lin is None:
            return buf
        from .arrays import copy_of

        return copy_of(self, buf)

    def live_statements(self, elems) -> list:
        """The statements the elements ``elems`` depend on, in order (dead code removed)."""
        live = {e.name for e in elems if isinstance(e, Var)}
        kept = []
        for st in reversed(self.stmts):
            if any(v.name in live for v in st.outs):
                kept.append(st)
                live.update(st.deps)
        kept.reverse()
        return kept

    @staticmethod
    def write(stmts, ind: str) -> list[str]:
        """C lines of the statements ``stmts``, indented by ``ind``."""
        lines = []
        for st in stmts:
            if st.block == "loop":
                lines += [ind + ln for ln in st.code]
            elif st.block:
                by_type: dict = {}
                for v in st.outs:
                    by_type.setdefault(ctype(v.dtype), []).append(v.name)
                for ct, names in by_type.items():
                    lines.append(f"{ind}{ct} {', '.join(names)};")
                lines.append(f"{ind}{st.code}")
            else:
                v = st.outs[0]
                lines.append(f"{ind}const {ctype(v.dtype)} {v.name} = {st.code};")
        return lines

    def c(self, e, dt) -> str:
        """C expression for element ``e`` converted to dtype ``dt`` (NumPy's cast)."""
        dt = np.dtype(dt)
        if isinstance(e, Lit):
            return fmt_lit(cast_value(e.value, dt))
        if e.dtype == dt:
            return e.name
        return f"(({ctype(dt)}){e.name})"

    def emit(self, dt, code, deps) -> Var:
        dt = np.dtype(dt)
        key = (dt.str, code)
        got = self.cse.get(key)
        if got is not None:
            return got
        if len(self.stmts) >= self.max_statements:
            raise CBackendError(
                f"C backend: the program needs more than {self.max_statements} scalar "
                f"statements (at {self.where}); raise max_statements, or compile a smaller "
                "function (adgraph.jit handles large arrays)"
            )
        v = Var(self._new_name(), dt)
        self.stmts.append(Stmt([v], code, tuple(d.name for d in deps if isinstance(d, Var))))
        self.cse[key] = v
        return v

    def emit_block(self, dts, code, deps) -> list:
        """A statement defining several variables, written ``@0@``, ``@1@``... in
        ``code`` (a C block)."""
        key = ("block", tuple(np.dtype(d).str for d in dts), code)
        got = self.cse.get(key)
        if got is not None:
            return got
        outs = [Var(self._new_name(), np.dtype(d)) for d in dts]
        body = code
        for k, o in enumerate(outs):
            body = body.replace(f"@{k}@", o.name)
        self.stmts.append(
            Stmt(outs, body, tuple(d.name for d in deps if isinstance(d, Var)), block=True)
        )
        self.cse[key] = outs
        return outs

    def need(self, helper, dt):
        if helper.endswith("_core"):  # written in double, once
            dt = np.float64
        for d in helpers()[helper][1]:
            self.need(d, dt)
        self.helpers.add((helper, np.dtype(dt).str))

    # ---------------------------------------------------------------- elements
    def scalar(self, op, elems, loop, out_dt):
        """One element of elementwise operation ``op`` (a NumPy ufunc name or a name in
        the templates), operands converted to the loop dtypes ``loop``."""
        out_dt = np.dtype(out_dt)
        if all(isinstance(e, Lit) for e in elems):
            folded = self._fold(op, elems, loop, out_dt)
            if folded is not None:
                return folded
        same = [isinstance(e, Var) and e.dtype == out_dt for e in elems]
        if op in ("add", "subtract", "multiply", "divide") and len(elems) == 2:
            a, b = elems
            if op == "add" and is_lit(a, 0) and same[1]:
                return b
            if op in ("add", "subtract") and is_lit(b, 0) and same[0]:
                return a
            if op == "multiply" and is_lit(a, 1) and same[1]:
                return b
            if op in ("multiply", "divide") and is_lit(b, 1) and same[0]:
                return a
            if op == "multiply" and self.assume_finite and out_dt.kind == "f":
                if is_lit(a, 0) or is_lit(b, 0):
                    return lit(0, out_dt)
        args = [self.c(e, dt) for e, dt in zip(elems, loop, strict=True)]
        return self.emit(out_dt, self.template(op, args, loop, out_dt), elems)

    def template(self, op, args, loop, out_dt) -> str:
        """The C expression of elementwise ``op`` on the C expressions ``args`` (already
        of the loop dtypes ``loop``)."""
        out_dt = np.dtype(out_dt)
        kind = np.dtype(loop[0]).kind if loop else out_dt.kind
        if kind == "f":
            table = FLOAT_OPS
        elif kind == "b":
            table = BOOL_OPS
        elif kind in "iu":
            table = INT_OPS
        else:
            ctype(loop[0])
            table = {}
        tmpl = table.get(op)
        if tmpl is None or (op == "absolute" and kind == "u"):
            if op == "absolute" and kind == "u":
                tmpl = "{0}"
            else:
                raise CBackendError(
                    f"C backend: {op} on {np.dtype(loop[0]) if loop else out_dt} values is not "
                    f"supported (at {self.where})"
                )
        fmt = {"s": ""}
        if kind == "f":
            ldt = np.dtype(loop[0])
            fmt = {
                "s": libm_suffix(ldt),
                "one": fmt_lit(ldt.type(1)),
                "deg": fmt_lit(cast_value(math.pi / 180.0, ldt)),
                "rad": fmt_lit(cast_value(180.0 / math.pi, ldt)),
            }
            if "adg_" in tmpl:
                name = tmpl.split("adg_", 1)[1].split("{", 1)[0]
                self.need(name, ldt)
        return tmpl.format(*args, **fmt)

    def _fold(self, op, elems, loop, out_dt):
        uf = getattr(np, op, None)
        if not isinstance(uf, np.ufunc):
            return None
        vals = [cast_value(e.value, dt) for e, dt in zip(elems, loop, strict=True)]
        with np.errstate(all="ignore"):
            r = uf(*vals)
        return lit(r, out_dt)

    # ---------------------------------------------------------------- arrays
    def const(self, value, dtype=None) -> Sym:
        """A constant argument as a Sym of literals."""
        a = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        ctype(a.dtype)
        return Sym(objarray(a), a.dtype)

    def sym(self, x, dtype=None) -> Sym:
        """A node value or a Const as a Sym (Python scalars take ``dtype``)."""
        if isinstance(x, Sym):
            return x
        if isinstance(x, Const):
            x = x.value
        if isinstance(x, (bool, int, float)) and dtype is not None:
            return self.const(x, dtype)
        return self.const(x)

    def map(self, op, args, loop, out_dt, shape=None) -> Sym:
        """Elementwise ``op`` over broadcast Sym arguments."""
        if shape is None:
            shape = np.broadcast_shapes(*(a.shape for a in args))
        es = [np.broadcast_to(a.e, shape) for a in args]
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            out[idx] = self.scalar(op, [e[idx] for e in es], loop, out_dt)
        return Sym(out, out_dt)

    def ufunc(self, name, *args, out_dtype=None) -> Sym:
        """NumPy ufunc ``name`` on _Syms, Consts and Python scalars, NumPy's promotion."""
        uf = getattr(np, name)
        name = uf.__name__  # the canonical name: abs -> absolute, mod -> remainder
        vals = [a.value if isinstance(a, Const) else a for a in args]
        key = []
        for v in vals:
            if isinstance(v, Sym):
                key.append(v.dtype)
            elif type(v) in (int, float):
                key.append(type(v))  # weak, as NumPy 2 treats Python scalars
            else:
                key.append(np.asarray(v).dtype)
        try:
            dts = uf.resolve_dtypes(tuple(key) + (None,) * uf.nout)
        except (TypeError, ValueError) as err:
            raise CBackendError(
                f"C backend: NumPy has no {name} for {', '.join(str(k) for k in key)} "
                f"(at {self.where}): {err}"
            ) from None
        loop = dts[: uf.nin]
        out_dt = out_dtype if out_dtype is not None else dts[uf.nin]
        syms = [v if isinstance(v, Sym) else self.const(v, dt) for v, dt in zip(vals, loop)]
        return self.map(name, syms, loop, out_dt)

    def unary(self, name, x, dt) -> Sym:
        """A template operation computed in dtype ``dt`` (non-ufunc functions)."""
        return self.map(name, [self.sym(x, dt)], (np.dtype(dt),), dt)

    def cast(self, x: Sym, dt) -> Sym:
        dt = np.dtype(dt)
        if x.dtype == dt and all(e.dtype == dt for e in x.e.flat):
            return x
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            e = x.e[idx]
            if isinstance(e, Lit):
                out[idx] = lit(e.value, dt)
            elif e.dtype == dt:
                out[idx] = e
            else:
                out[idx] = self.emit(dt, self.c(e, dt), [e])
        return Sym(out, dt)

    def normalize(self, arr, dt) -> Sym:
        """An object array from a data-movement operation: fill values (Python numbers
        such as padding zeros) become literals, every element is cast to ``dt``."""
        arr = objarray(arr)
        out = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            e = arr[idx]
            if not isinstance(e, (Var, Lit)):
                e = lit(e, dt)
            out[idx] = e
        return self.cast(Sym(out, dt), dt)

    def fold(self, op, elems, dt):
        """``op`` over a sequence of elements, left to right (empty: None)."""
        acc = None
        for e in elems:
            acc = e if acc is None else self.scalar(op, [acc, e], (dt, dt), dt)
        return acc

    # ---------------------------------------------------------------- graphs
    def lower(self, graph, inputs, arrays=False) -> list:
        """The Sym of every output of ``graph`` given the _Syms of its inputs (``arrays``:
        an output computed as an array stays a Buf)."""
        env = dict(zip(graph.inputs, inputs, strict=True))
        order = graph.toposort()
        for node in order:
            for i in node.inputs:
                if isinstance(i, Node):
                    self.uses[i] = self.uses.get(i, 0) + 1
        for o in graph.outputs:
            if isinstance(o, Node):
                self.uses[o] = self.uses.get(o, 0) + 2  # never deferred
        for node in order:
            if node.is_input:
                continue
            self.where = f"{node.describe()}"
            args = [env[i] if isinstance(i, Node) else i for i in node.inputs]
            if node.op == "item":
                env[node] = args[0][node.params["index"]]
                continue
            if node.op not in FUSABLE:
                args = [force(self, a) if isinstance(a, Lazy) else a for a in args]
            if node.op == "scan":  # a loop: its stacked values stay arrays (Buf)
                res = None
                if wants_arrays(node, args, node.params["nc"], node.params["nx"]):
                    res = array_scan_rule(self, node, *args, **node.params)
                env[node] = res if res is not None else scan_rule(self, node, *args, **node.params)
                continue
            if node.op == "switch":  # lax.cond / lax.switch under jit: branch code
                # (the rule takes scalars: an array of an array-mode loop's step is read)
                args = [self.materialize(a) if isinstance(a, Buf) else a for a in args]
                env[node] = switch_rule(self, node, *args, **node.params)
                continue
            if node.op == "while_loop":
                env[node] = while_rule(self, node, *args, **node.params)
                continue
            if node.op == "scan_revolve":  # a checkpointed scan's backward sweep: one loop
                res = None
                prm = node.params
                if revolve_wants_arrays(node, prm["nc"], prm["nx"], prm["nk"], prm["ci"]):
                    res = array_revolve_rule(self, node, *args, **prm)
                env[node] = res if res is not None else revolve_rule(self, node, *args, **prm)
                continue
            if node.op in ("while_stack", "while_back"):  # while_loop's reverse mode
                loop_rule = while_stack_rule if node.op == "while_stack" else while_back_rule
                env[node] = loop_rule(self, node, *args, **node.params)
                continue
            if node.op == "getitem" and args and isinstance(args[0], Stack):
                env[node] = stack_getitem(self, node, *args, **node.params)
                continue
            self._check_size(node)
            if self._large(node, args):
                res = array_rule(self, node, args)
                if res is not None:
                    env[node] = res
                    continue
            args = [force(self, a) if isinstance(a, Lazy) else a for a in args]
            args = [self.materialize(a) if isinstance(a, Buf) else a for a in args]
            rule = RULES.get(node.op)
            if rule is None:
                rule = impl_rule
            res = rule(self, node, *args, **node.params)
            env[node] = self._fit(node, res)
        outs = []
        for o in graph.outputs:
            if isinstance(o, Node):
                v = force(self, env[o])
                outs.append(self.materialize(v) if isinstance(v, Buf) and not arrays else v)
            else:
                outs.append(self.const(o.value))
        return outs

    @staticmethod
    def _large(node, args) -> bool:
        """Whether ``node`` is computed by loops over arrays: it has more than
        :data:`~adgraph.jit.c.arrays.ARRAY_MIN` elements, or reads an array."""
        if any(isinstance(a, (Buf, Lazy)) for a in args):
            return True
        shape = node.shape
        if shape is None or node.multiple_results:
            return False
        return int(np.prod(shape, dtype=np.int64)) > ARRAY_MIN

    def _check_size(self, node):
        shapes = node.shape
        if shapes is None:
            return
        many = shapes if node.multiple_results else [shapes]
        for s in many:
            size = int(np.prod(s, dtype=np.int64)) if s else 1
            if size > self.max_node_size:
                raise CBackendError(
                    f"C backend: {node.describe()} has shape {tuple(s)} ({size} elements); "
                    f"the C backend scalarizes arrays of at most {self.max_node_size} "
                    "elements per value (max_node_size). Pass the example arguments of ONE "
                    "point (the compiled function loops over a leading batch axis), or use "
                    "adgraph.jit for large arrays"
                )
        dts = node.dtype if isinstance(node.dtype, tuple) else (node.dtype,)
        for dt in dts:
            if dt is not None and np.dtype(dt) not in CTYPES:
                kind = "complex numbers" if np.dtype(dt).kind == "c" else f"dtype {dt}"
                raise CBackendError(
                    f"C backend: {node.describe()} computes {kind}, which the C backend does "
                    "not support (float32, float64, integers and bool); use adgraph.jit for "
                    "this function"
                )

    def _fit(self, node, res):
        """Check a rule's result against what the node computed while tracing."""
        if isinstance(res, tuple):
            return tuple(
                self._fit_one(node, r, s, d)
                for r, s, d in zip(res, node.shape, node.dtype, strict=True)
            )
        return self._fit_one(node, res, node.shape, node.dtype)

    def _fit_one(self, node, r, shape, dtype):
        if not isinstance(r, Sym):
            raise CBackendError(f"C backend: the lowering of {node.describe()} failed")
        if shape is not None and tuple(r.shape) != tuple(shape):
            raise CBackendError(
                f"C backend: internal error lowering {node.describe()}: shape {r.shape}, "
                f"expected {tuple(shape)}"
            )
        if dtype is not None and np.dtype(dtype) != r.dtype:
            r = self.cast(r, dtype)
        return r


# ============================================================================ C source
class CKernel:
    """The generated C program for one graph: ``source``, the function ``name``, and the
    per-point shapes and dtypes of its inputs and outputs."""

    def __init__(self, source, name, in_shapes, in_dtypes, out_shapes, out_dtypes, n_statements):
        self.source = source
        self.name = name
        self.in_shapes = in_shapes
        self.in_dtypes = in_dtypes
        self.out_shapes = out_shapes
        self.out_dtypes = out_dtypes
        self.n_statements = n_statements
        # split into several C functions (see SPLIT_STATEMENTS): built with -O1
        self.split = False

    def __repr__(self):
        return (
            f"<CKernel {self.name}: {len(self.in_shapes)} inputs, {len(self.out_shapes)} "
            f"outputs, {self.n_statements} statements>"
        )


def _c_name(name) -> str:
    """The C function's name: ``adg_`` and an ASCII identifier made from ``name`` (at most
    64 characters, so that it also fits in a file name)."""
    return "adg_" + identifier(name or "f")


def lower_to_c(
    graph: Graph,
    *,
    name: str | None = None,
    max_node_size: int = MAX_NODE_SIZE,
    max_statements: int = MAX_STATEMENTS,
    assume_finite: bool = False,
) -> CKernel:
    """Scalarize ``graph`` (straight-line, no guards) into a batched C function."""
    L = Lowering(
        max_node_size=max_node_size, max_statements=max_statements, assume_finite=assume_finite
    )
    in_syms: list[Any] = []  # a Buf (arrays) or a Sym of scalars per input
    in_shapes, in_dtypes = [], []
    for k, node in enumerate(graph.inputs):
        shape = tuple(node.shape or ())
        dt = np.dtype(node.dtype)
        L.where = node.describe()
        ctype(dt)
        L._check_size(node)
        if int(np.prod(shape, dtype=np.int64)) > ARRAY_MIN:
            in_syms.append(input_array(f"x{k}", shape, dt))
        else:
            e = np.empty(shape, dtype=object)
            for j, idx in enumerate(np.ndindex(shape)):
                v = Var(f"a{k}_{j}", dt)
                L.stmts.append(Stmt([v], f"x{k}[{j}]", ()))
                e[idx] = v
            in_syms.append(Sym(e, dt))
        in_shapes.append(shape)
        in_dtypes.append(dt)
    outs = L.lower(graph, in_syms, arrays=True)
    out_shapes = [tuple(o.shape) for o in outs]
    out_dtypes = [o.dtype for o in outs]
    for dt in out_dtypes:
        ctype(dt)

    # Dead-code elimination: keep the statements the outputs read.
    kept = L.live_statements(
        [
            o.var() if isinstance(o, Buf) else e
            for o in outs
            for e in (o.e.flat if isinstance(o, Sym) else [o])
        ]
    )

    fname = _c_name(name or graph.name)
    lines = [
        f"/* Generated by adgraph.jit.cbackend from the graph {display_name(graph.name)}. */",
        "#include <math.h>",
        "#include <stdint.h>",
        "#include <stdlib.h>",
        "",
    ]
    for hname in helpers():
        for dt in ("<f4", "<f8"):
            if (hname, np.dtype(dt).str) in L.helpers:
                lines.append(helper_code(hname, dt))
                lines.append("")
    params = ["long n", "const long* restrict in_strides"]
    params += [f"const {ctype(dt)}* restrict in{k}" for k, dt in enumerate(in_dtypes)]
    params += [f"{ctype(dt)}* restrict out{k}" for k, dt in enumerate(out_dtypes)]
    out_lines = []
    for k, o in enumerate(outs):
        if isinstance(o, Buf):
            out_lines += copy_out(L, o, f"y{k}", "        ")
            continue
        for j, e in enumerate(o.e.reshape(-1)):
            out_lines.append(f"        y{k}[{j}] = {L.c(e, o.dtype)};")
    split = len(kept) > SPLIT_STATEMENTS and not any(st.block == "loop" for st in kept)
    if split:
        ptrs = [f"const {ctype(dt)}* restrict x{k}" for k, dt in enumerate(in_dtypes)]
        ptrs += [f"{ctype(dt)}* restrict y{k}" for k, dt in enumerate(out_dtypes)]
        parts, calls, types = split_program(
            kept, outs, out_lines, fname, ptrs, L.write, SPLIT_STATEMENTS
        )
        lines += parts
    lines.append(f"void {fname}({', '.join(params)})")
    lines.append("{")
    for k in range(len(in_dtypes)):
        lines.append(f"    const long s{k} = in_strides[{k}];")
    if split:
        lines += [f"    {ct}* S_{ct} = ({ct}*)malloc(sizeof({ct}) * {m});" for ct, m in types]
    lines.append("    for (long i = 0; i < n; ++i) {")
    for k, dt in enumerate(in_dtypes):
        lines.append(f"        const {ctype(dt)}* x{k} = in{k} + i * s{k};")
    for k, (shape, dt) in enumerate(zip(out_shapes, out_dtypes, strict=True)):
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        lines.append(f"        {ctype(dt)}* y{k} = out{k} + i * {size};")
    if split:
        lines += calls
    else:
        lines += L.write(kept, "        ") + out_lines
    for st in kept:
        if st.block == "loop":
            lines += [f"        free({name});" for name in st.frees]
    lines.append("    }")
    if split:
        lines += [f"    free(S_{ct});" for ct, _ in types]
    lines.append("}")
    source = "\n".join(lines) + "\n"
    kernel = CKernel(source, fname, in_shapes, in_dtypes, out_shapes, out_dtypes, len(kept))
    kernel.split = split
    return kernel
