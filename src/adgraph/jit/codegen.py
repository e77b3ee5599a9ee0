"""Python code generation: a graph becomes one straight-line Python function.

Each node is one line. Elementwise operations with a NumPy/CuPy ufunc are emitted as a
direct ufunc call (or a Python operator on scalars); every other primitive calls its
implementation with its parameters bound once, at compile time. So a compiled program pays
one Python call per operation, instead of the tracing machinery of eager mode.

Memory: a value is deleted after its last use. A NumPy program writes its intermediate
arrays into buffers kept from call to call (:mod:`adgraph.jit.buffers`: elementwise
operations, matrix products and Fourier transforms with ``out=``, a buffer reused once its
value is dead, so a chain of elementwise operations runs in one buffer); the arrays it
returns are always its own. Elsewhere (CuPy, small arrays) an elementwise operation writes
into the buffer of an argument that dies at that operation (``out=``) when the shapes and
dtypes agree and no view of that buffer can be alive. Guards (branches taken while tracing) are
checked right after their value is computed; a failed guard returns ``GUARD_FAILED`` and
the caller traces again.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata

import numpy as np

from ..graph.ir import Node
from . import buffers as _buffers
from .diagonal import diagonal_products
from .fusion import fuse_elementwise

__all__ = ["generate", "GUARD_FAILED", "UFUNCS", "identifier", "display_name", "function_name"]

#: Longest identifier made from a user's name (longer names keep a prefix and a hash).
MAX_IDENTIFIER = 64


def identifier(name, default: str = "f", max_len: int = MAX_IDENTIFIER) -> str:
    """An ASCII identifier (letters, digits, ``_``; not starting with a digit) made from
    ``name``, valid in Python and C source.

    Compatibility forms are folded first (full-width ``ｆ`` -> ``f``, ``²`` -> ``2``), every
    other character becomes ``_``; an empty result is ``default``. A name longer than
    ``max_len`` keeps a prefix and 8 hex digits of its SHA-256, so different long names
    stay different. Keywords are the caller's concern (a prefix such as ``jit_`` avoids them).
    """
    raw = str(name)
    s = unicodedata.normalize("NFKC", raw)
    out = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in s)
    while "__" in out:
        out = out.replace("__", "_")
    out = out.strip("_") or default
    if out[0].isdigit():
        out = f"{default}_{out}"
    if len(out) > max_len:
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        out = f"{out[: max_len - 9].rstrip('_')}_{digest}"
    return out


def function_name(fun, default: str = "f") -> str:
    """``fun.__name__`` when it is a string (callables may have none, or another type)."""
    name = getattr(fun, "__name__", default)
    return name if isinstance(name, str) else default


def display_name(name, max_len: int = 80) -> str:
    """``name`` quoted for a comment or a file name in generated code: ASCII only, no line
    breaks, no NUL, no ``*/`` (``ascii()`` escapes the rest), at most ``max_len`` characters
    of the original."""
    raw = str(name)
    if len(raw) > max_len:
        raw = raw[:max_len] + "..."
    return ascii(raw).replace("*/", "*\\/")


class _GuardFailed:
    def __repr__(self):
        return "GUARD_FAILED"


GUARD_FAILED = _GuardFailed()

# primitive -> ufunc name of the array module (same semantics as the implementation).
UFUNCS = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "divide": "true_divide",
    "negative": "negative",
    "exp": "exp",
    "exp2": "exp2",
    "expm1": "expm1",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "log1p": "log1p",
    "sqrt": "sqrt",
    "cbrt": "cbrt",
    "square": "square",
    "reciprocal": "reciprocal",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
    "arctan2": "arctan2",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "arcsinh",
    "arccosh": "arccosh",
    "arctanh": "arctanh",
    "hypot": "hypot",
    "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2",
    "maximum": "maximum",
    "minimum": "minimum",
    "fmax": "fmax",
    "fmin": "fmin",
    "abs": "absolute",
    "sign": "sign",
    "floor": "floor",
    "ceil": "ceil",
    "equal": "equal",
    "not_equal": "not_equal",
    "less": "less",
    "less_equal": "less_equal",
    "greater": "greater",
    "greater_equal": "greater_equal",
    "logical_and": "logical_and",
    "logical_or": "logical_or",
    "logical_xor": "logical_xor",
    "logical_not": "logical_not",
    "trunc": "trunc",
    "rint": "rint",
    "isfinite": "isfinite",
    "isnan": "isnan",
    "isinf": "isinf",
    "signbit": "signbit",
    "copysign": "copysign",
    "nextafter": "nextafter",
    "heaviside": "heaviside",
    "power": "power",
    "floor_divide": "floor_divide",
    "mod": "remainder",
    "fmod": "fmod",
    "deg2rad": "deg2rad",
    "rad2deg": "rad2deg",
    "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor",
    "invert": "invert",
}
# Python operators for scalar operands (much cheaper than a ufunc call on NumPy scalars).
_SCALAR_OPS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
# Binary ufuncs of the standard type resolution: an operand is cast to the result's dtype.
_CAST_OPS = frozenset({"add", "subtract", "multiply", "divide"})
# Operations whose result is a fresh array (never a view of an argument).
_FRESH = set(UFUNCS) | {
    "matmul",
    "diag_matmul",
    "fused_elementwise",
    "integer_pow",
    "where",
    "reduce_sum",
    "reduce_max",
    "reduce_min",
}


def generate(
    graph, guards=(), *, xp=np, fn_name="compiled", reuse_buffers=True, keep_buffers=False
):
    """Python source and namespace for ``graph``; returns ``(source, function)``.

    ``guards``: ``(node, taken)`` pairs; the function returns ``GUARD_FAILED`` when
    ``bool(node) != taken``. The function takes the flat input values and returns the flat
    list of outputs. A ``scan`` node whose step traces to straight-line code becomes a
    Python ``for`` loop around the step's lines (:mod:`adgraph.jit.loops`).
    ``reuse_buffers``: write into the buffers of dead arguments.

    ``keep_buffers`` (NumPy): write intermediates into buffers kept across calls
    (:mod:`adgraph.jit.buffers`). The graph's input nodes must hold example values
    (C-contiguous arrays, or no arrays): the program without kept buffers is run on them
    once, to learn how NumPy lays out each value (a new ufunc result is laid out as its
    operands are, and the layout decides the order in which later sums and products add).
    Only values it laid out in C order go into (C-order) buffers, and every other write
    stays where that program made it, so the kept-buffer program computes the same bits.
    It runs on C-contiguous inputs; inputs laid out otherwise run the program without.
    """
    can_out = reuse_buffers and hasattr(xp, "add") and xp.__name__ in ("numpy", "cupy")
    if xp is np:
        graph, guards = diagonal_products(graph, list(guards))
        graph, guards = fuse_elementwise(graph, guards)
    in_names = [f"a{k}" for k in range(len(graph.inputs))]
    em = _Emitter({"xp": xp, "GUARD_FAILED": GUARD_FAILED}, can_out)
    source, fn = _assemble(graph, guards, em, in_names, fn_name)
    if not (keep_buffers and can_out and xp is np) or em.effects:
        # (a callback could keep an array it is shown: no buffer is shown to one)
        return source, fn
    values = [n.value for n in graph.inputs]
    if not all(type(v) is not np.ndarray or v.flags.c_contiguous for v in values):
        return source, fn
    layouts = _layouts(graph, guards, xp, can_out, in_names, values)
    if layouts is None:
        return source, fn
    kem = _Emitter({"xp": xp, "GUARD_FAILED": GUARD_FAILED}, can_out, keep=True)
    kem.layouts, kem.forced = layouts, em.donors
    ksource, kfn = _assemble(graph, guards, kem, in_names, fn_name, fresh=fn)
    if not kem.specs:
        return source, fn
    return ksource, kfn


def _layouts(graph, guards, xp, can_out, in_names, values):
    """Node -> strides of its value (NumPy arrays) when the program without kept buffers
    runs on ``values``; None where it does not run to its end."""
    em = _Emitter({"xp": xp, "GUARD_FAILED": GUARD_FAILED}, can_out, record=True)
    rec: dict = {}
    em.ns["_rec"] = rec
    _, fn = _assemble(graph, guards, em, in_names, "layouts")
    from ..debug import muted

    try:
        with np.errstate(all="ignore"), muted():
            out = fn(*values)
    except Exception:  # noqa: BLE001 - the program then simply keeps no buffers
        return None
    if out is GUARD_FAILED:
        return None
    return {node: rec.get(k) for k, node in enumerate(em.recorded)}


def _assemble(graph, guards, em, in_names, fn_name, fresh=None):
    """``(source, function)`` of ``graph`` written by the emitter ``em``; ``fresh``: the
    program without kept buffers, for inputs that are not C-contiguous."""
    ns = em.ns
    body, arg = em.graph_lines(graph, in_names, "", "    ", guards)
    # A 0-d result leaves as a NumPy scalar (what eager mode returns): ``[()]`` on a 0-d
    # array gives its scalar, on a scalar the scalar itself.
    outs = ", ".join(
        f"{arg(o)}[()]" if isinstance(o, Node) and getattr(o, "shape", None) == () else arg(o)
        for o in graph.outputs
    )
    body.append(f"    return [{outs}]")
    lines = [f"def {fn_name}({', '.join(in_names)}):"]
    if em.specs:
        # A set of buffers from the program's pool (a new one when another call holds it:
        # a thread, or a recursive call), given back however the call ends.
        ns["_pool"] = _buffers.Pool()
        ns["_specs"] = tuple(em.specs)
        ns["_new_buffers"] = _buffers.new_buffers
        names = ", ".join(f"b{k}" for k in range(len(em.specs)))
        checks = [
            f"{a}.flags.c_contiguous"
            for a, n in zip(in_names, graph.inputs)
            if type(n.value) is np.ndarray and n.value.ndim
        ]
        if checks:
            # inputs laid out otherwise: the program that allocates as it goes
            ns["_fresh"] = fresh
            lines += [
                f"    if not ({' and '.join(checks)}):",
                f"        return _fresh({', '.join(in_names)})",
            ]
        lines += [
            "    try:",
            "        _bs = _pool.pop()",
            "    except IndexError:",
            "        _bs = _new_buffers(_specs, _pool)",
            f"    {names}, = _bs",
            "    try:",
        ]
        lines += ["    " + ln for ln in body]
        lines += [
            "    finally:",
            "        if _pool.keeps and not _pool:",
            "            _pool.append(_bs)",
        ]
    else:
        lines += body
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<adgraph.jit {display_name(graph.name)}>", "exec")
    exec(code, ns)  # noqa: S102 -- our own generated source, never user text
    return source, ns[fn_name]


class _Emitter:
    """Writes the lines of one graph (and of the loop bodies inside it) into one function;
    ``ns`` is the function's namespace (constants, bound implementations)."""

    def __init__(self, ns, can_out, keep=False, record=False):
        self.ns = ns
        self.can_out = can_out
        self.keep = keep  # intermediates into kept buffers (NumPy)
        self.specs: list = []  # (shape, dtype) of every kept buffer b0, b1, ...
        self.consts: dict = {}
        # node -> the argument whose buffer it was written into (the program's own graph)
        self.donors: dict = {}
        # keep: those of the program without kept buffers, and the strides of its values
        self.forced: dict = {}
        self.layouts: dict = {}
        self.record = record  # emit _rec(k, value) after each of the graph's operations
        self.recorded: list = []
        # a callback somewhere (loop steps and called programs too), or a user's function
        # run on the program's values
        self.effects = False

    def const(self, v):
        key = id(v)
        name = self.consts.get(key)
        if name is None:
            name = self.consts[key] = f"c{len(self.consts)}"
            self.ns[name] = v
        return name

    def graph_lines(self, graph, in_names, prefix, ind, guards=()):
        """``(lines, arg)``: the lines computing ``graph``'s nodes from the variables
        ``in_names`` (names prefixed with ``prefix``, indented by ``ind``), and the
        function giving the source of a node or constant."""
        order = [n for n in graph.toposort() if not n.is_input]
        effects = getattr(graph, "effects", ())
        if effects or any(_effect(n) for n in order):
            self.effects = True
        if effects:
            order = _effects_in_order(order, [g for g, _ in guards if isinstance(g, Node)], effects)
        names = dict(zip(graph.inputs, in_names))
        for k, node in enumerate(order):
            names[node] = f"{prefix}v{k}"

        def arg(x):
            if isinstance(x, Node):
                return names[x]
            v = x.value
            if type(v) in (float, int, bool) and (type(v) is not float or np.isfinite(v)):
                return repr(v)
            return self.const(v)

        # Last use of every value (position in ``order``), outputs and guards live to the end.
        last = {}
        for pos, node in enumerate(order):
            for i in node.inputs:
                if isinstance(i, Node):
                    last[i] = pos
        keep = {o for o in graph.outputs if isinstance(o, Node)} | set(graph.inputs)
        guard_at = {}
        for gnode, taken in guards:
            if isinstance(gnode, Node):
                guard_at.setdefault(gnode, []).append(taken)
        consumers_view = _consumers_with_views(order)
        slot = {}  # node -> name of its kept buffer
        # (the program's own graph only: a loop's step was traced on example values, whose
        # layouts need not be those it runs on)
        if self.keep and not effects and not prefix:
            # A value whose shape depends on the data (checked by a guard) and what is
            # computed from it may differ from the traced shapes: allocated afresh.
            varying = {g.inputs[0] for g in guard_at if g.op == "jit_shape_is"}
            kinds = {}
            for n in order:
                if varying and any(i in varying for i in n.inputs):
                    varying.add(n)
                elif n in varying or n in self.forced:
                    continue
                elif _c_order(n, self.layouts.get(n)):
                    if (k := _buffers.slot_kind(n, UFUNCS)) is not None:
                        kinds[n] = k
            if kinds:
                budget = _buffers.MAX_BYTES - _buffers.nbytes(self.specs)
                slot_of, specs = _buffers.plan(
                    order, last, keep, kinds, _FRESH, budget, self.forced
                )
                base = len(self.specs)
                self.specs += specs
                slot = {n: f"b{base + s}" for n, s in slot_of.items()}

        lines = []
        for pos, node in enumerate(order):
            target = names[node]
            ins = node.inputs
            op = node.op
            scalar = tuple(node.shape or ()) == ()
            if node in slot:
                expr = self.into(node, self.operands(node, arg), slot[node], f"{prefix}f{pos}")
            elif op == "item":
                expr = f"{arg(ins[0])}[{node.params['index']}]"
            elif op in UFUNCS and not node.params and node.prim is not None and len(ins) <= 2:
                if scalar and op in _SCALAR_OPS and all(_scalarish(i) for i in ins):
                    expr = f"({arg(ins[0])} {_SCALAR_OPS[op]} {arg(ins[1])})"
                else:
                    args = ", ".join(self.operands(node, arg))
                    out = None
                    if self.keep and not prefix:
                        # (where the program without kept buffers wrote, exactly)
                        out = self.forced.get(node)
                    elif self.can_out and not scalar:
                        out = _donor(node, ins, pos, last, keep, consumers_view)
                        if out is not None and not prefix:
                            self.donors[node] = out
                    if out is not None:
                        expr = f"xp.{UFUNCS[op]}({args}, out={names[out]})"
                    else:
                        expr = f"xp.{UFUNCS[op]}({args})"
            elif op == "integer_pow" and node.params.get("n") == 2:
                x = arg(ins[0])
                expr = f"({x} * {x})"
            elif op == "scan" and (loop := self.loop_lines(node, arg, f"{target}_", ind)):
                lines += loop[0]
                expr = loop[1]
            elif op == "switch" and (br := self.branch_lines(node, arg, f"{target}_", ind)):
                lines += br[0]
                expr = br[1]
            elif op == "while_loop" and (wl := self.while_lines(node, arg, f"{target}_", ind)):
                lines += wl[0]
                expr = wl[1]
            elif op in ("while_stack", "while_back") and (
                wl := _staged_while_lines(self, node, arg, f"{target}_", ind)
            ):
                lines += wl[0]
                expr = wl[1]
            else:
                fname = f"{prefix}f{pos}"
                self.ns[fname] = functools.partial(node.prim.impl, self.ns["xp"], **node.params)
                expr = f"{fname}({', '.join(arg(i) for i in ins)})"
                if op != "jit_call" and any(
                    callable(v) and not isinstance(v, type) for v in node.params.values()
                ):
                    # runs a Python function of the user's (a loop step with a callback)
                    self.effects = True
            lines.append(f"{ind}{target} = {expr}")
            if self.record and not prefix:
                lines.append(
                    f"{ind}_rec[{len(self.recorded)}] = getattr({target}, 'strides', None)"
                )
                self.recorded.append(node)
            for taken in guard_at.get(node, ()):
                lines.append(f"{ind}if bool({target}) is not {taken}:")
                lines.append(f"{ind}    return GUARD_FAILED")
            dead = [
                names[i]
                for i in dict.fromkeys(i for i in ins if isinstance(i, Node))
                if last.get(i) == pos and i not in keep
            ]
            if dead:
                lines.append(f"{ind}del {', '.join(dead)}")
        return lines, arg

    def while_head(self, cond, names, pre, ind):
        """The lines opening a ``while_loop``'s Python loop at indent ``ind``: ``while
        True:``, the predicate graph ``cond`` on the variables ``names``, and the exit."""
        inner = ind + "    "
        clines, carg = self.graph_lines(cond, names, f"{pre}p_", inner)
        return [
            f"{ind}while True:",
            *clines,
            f"{inner}if not {carg(cond.outputs[0])}:",
            f"{inner}    break",
        ]

    def operands(self, node, arg):
        """The sources of ``node``'s arguments. For an arithmetic ufunc (NumPy, kept
        buffers) a constant array of another dtype is cast once, here, to the dtype NumPy
        would cast it to on every call: the ufunc then runs the same loop on the same
        values (a real array times a complex one is a complex product with ``x + 0j``)."""
        ins = node.inputs
        if (
            not self.keep
            or node.op not in _CAST_OPS
            or len(ins) != 2
            or not isinstance(node.dtype, np.dtype)
            or node.params
        ):
            return [arg(i) for i in ins]
        out = []
        for i in ins:
            v = None if isinstance(i, Node) else i.value
            if (
                type(v) is np.ndarray
                and v.ndim
                and v.dtype != node.dtype
                and v.dtype.kind in "fc"
                and node.dtype.kind in "fc"
                and all(isinstance(j.dtype, np.dtype) and j.shape for j in ins)
                and np.result_type(*(j.dtype for j in ins)) == node.dtype
                and np.can_cast(v.dtype, node.dtype, "safe")
            ):
                key = (id(v), node.dtype.str)
                name = self.consts.get(key)
                if name is None:
                    name = self.consts[key] = f"c{len(self.consts)}"
                    # (the graph holds v, so its id stays its own; a broadcast value
                    # stays a broadcast)
                    if v.size and not any(v.strides):
                        one = v.reshape(-1)[:1].astype(node.dtype).reshape(())
                        self.ns[name] = np.broadcast_to(one, v.shape)
                    else:
                        self.ns[name] = v.astype(node.dtype)
                out.append(name)
            else:
                out.append(arg(i))
        return out

    def into(self, node, args, buf, fname):
        """The expression computing ``node`` from the sources ``args`` into the kept
        buffer ``buf`` (see :func:`adgraph.jit.buffers.slot_kind`)."""
        op = node.op
        if op == "integer_pow":
            return f"xp.multiply({args[0]}, {args[0]}, out={buf})"
        if op == "matmul":
            return f"xp.matmul({args[0]}, {args[1]}, out={buf})"
        if op == "diag_matmul":
            self.ns[fname] = functools.partial(node.prim.impl, self.ns["xp"], **node.params)
            return f"{fname}({args[0]}, {args[1]}, out={buf})"
        if op == "fused_elementwise":
            self.ns[fname] = functools.partial(node.prim.impl, self.ns["xp"])
            return f"{fname}({', '.join(args)}, out={buf})"
        if op == "fft":
            self.ns[fname] = functools.partial(_buffers.fft_into, **node.params)
            return f"{fname}({args[0]}, {buf})"
        ufunc = UFUNCS.get(op) or _buffers.EXTRA_UFUNCS[op]
        return f"xp.{ufunc}({', '.join(args)}, out={buf})"

    def loop_lines(self, node, arg, pre, ind):
        """``(lines, expression)`` running the ``scan`` node as a Python loop around its
        step's lines, or None when its step has no body graph (it then runs in Python
        through the implementation)."""
        from .loops import body_graph

        g = body_graph(node)
        if g is None:
            return None
        if self.ns["xp"] is np:
            from .floatloops import float_step

            funcs = float_step(g, self.ns)
            if funcs is not None:
                # the step on Python floats, the NumPy loop where Python raises instead
                fast = self.float_loop_lines(node, g, funcs, arg, pre, ind + "    ")
                slow, expr = self.numpy_loop_lines(node, g, arg, pre, ind + "    ")
                lines = [f"{ind}try:"] + fast
                lines += [f"{ind}except (ArithmeticError, ValueError):"] + slow
                return lines, expr
        return self.numpy_loop_lines(node, g, arg, pre, ind)

    def float_loop_lines(self, node, g, funcs, arg, pre, ind):
        """The lines of the ``scan`` node's loop on Python floats (see
        :mod:`adgraph.jit.floatloops`), leaving the names that :meth:`numpy_loop_lines`
        leaves (the carries as float64 scalars, the ys as float64 arrays)."""
        from .floatloops import float_lines
        from .loops import loop_inputs

        p = node.params
        nc, n = p["nc"], p["length"]
        carry, xs, consts = loop_inputs(node)
        nx = len(xs)
        t = f"{pre}t"
        names = {}
        fc = [f"{pre}fc{k}" for k in range(nc)]
        lines = [f"{ind}{c} = float({arg(a)})" for c, a in zip(fc, carry)]
        names.update(zip(g.inputs[:nc], fc))
        used = {i for m in g.nodes for i in m.inputs if isinstance(i, Node)}
        used |= {o for o in g.outputs if isinstance(o, Node)}
        reads = []
        for j, (a, inp) in enumerate(zip(xs, g.inputs[nc : nc + nx])):
            names[inp] = f"{pre}fx{j}"
            if inp in used:
                lines.append(f"{ind}{pre}fl{j} = {arg(a)}.tolist()")
                reads.append(f"{pre}fx{j} = {pre}fl{j}[{t}]")
        for k, (a, inp) in enumerate(zip(consts, g.inputs[nc + nx :])):
            names[inp] = f"{pre}fk{k}"
            lines.append(f"{ind}{pre}fk{k} = float({arg(a)})")
        ys = g.outputs[nc:]
        fy = [f"{pre}fy{j}" for j in range(len(ys))]
        lines += [f"{ind}{y} = [0.0] * {n}" for y in fy]
        # the functions as local names (a global lookup per call costs more)
        funcs = dict(funcs)
        for op, fname in list(funcs.items()):
            funcs[op] = f"{pre}{fname}"
            lines.append(f"{ind}{pre}{fname} = {fname}")
        rng = f"range({n} - 1, -1, -1)" if p["reverse"] else f"range({n})"
        lines.append(f"{ind}for {t} in {rng}:")
        inner = ind + "    "
        lines += [f"{inner}{r}" for r in reads]
        lines += float_lines(g, names, f"{pre}f", inner, funcs, lambda v: self.const(float(v)))
        outs = [names[o] for o in g.outputs]
        for y, o in zip(fy, outs[nc:]):
            lines.append(f"{inner}{y}[{t}] = {o}")
        if nc:
            lines.append(f"{inner}{', '.join(fc)}, = {', '.join(outs[:nc])},")
        lines += [f"{ind}{pre}c{k} = xp.float64({c})" for k, c in enumerate(fc)]
        lines += [f"{ind}{pre}y{j} = xp.array({y}, dtype=xp.float64)" for j, y in enumerate(fy)]
        return lines

    def numpy_loop_lines(self, node, g, arg, pre, ind):
        """``(lines, expression)``: the ``scan`` node's loop, one NumPy call per
        operation of its step graph ``g``."""
        from .loops import loop_inputs

        p = node.params
        nc, n = p["nc"], p["length"]
        carry, xs, consts = loop_inputs(node)
        t = f"{pre}t"
        carry_names = [f"{pre}c{k}" for k in range(nc)]
        x_names = [f"{pre}x{j}" for j in range(len(xs))]
        lines = [f"{ind}{c} = {arg(a)}" for c, a in zip(carry_names, carry)]
        ys = g.outputs[nc:]
        y_names = [f"{pre}y{j}" for j in range(len(ys))]
        for y, o in zip(y_names, ys):
            shape = (n,) + tuple(o.shape or ())
            lines.append(f"{ind}{y} = xp.empty({shape!r}, dtype={self.const(np.dtype(o.dtype))})")
        rng = f"range({n} - 1, -1, -1)" if p["reverse"] else f"range({n})"
        lines.append(f"{ind}for {t} in {rng}:")
        inner = ind + "    "
        used = {i for n in g.nodes for i in n.inputs if isinstance(i, Node)}
        used |= {o for o in g.outputs if isinstance(o, Node)}
        for x, a, inp in zip(x_names, xs, g.inputs[nc:]):
            if inp in used:  # (a slice the step does not read is not taken)
                lines.append(f"{inner}{x} = {arg(a)}[{t}]")
        body, barg = self.graph_lines(
            g, carry_names + x_names + [arg(a) for a in consts], pre, inner
        )
        lines += body
        outs = [barg(o) for o in g.outputs]
        # ys first: an output may be a carry's name, which the update below rebinds
        for y, o in zip(y_names, outs[nc:]):
            lines.append(f"{inner}{y}[{t}] = {o}")
        if nc:
            lines.append(f"{inner}{', '.join(carry_names)}, = {', '.join(outs[:nc])},")
        return lines, "(" + "".join(f"{v}, " for v in carry_names + y_names) + ")"

    def while_lines(self, node, arg, pre, ind):
        """``(lines, expression)`` running the ``while_loop`` node as a Python ``while``
        loop around its predicate's and step's lines, or None when they have no graphs."""
        from .loops import while_graphs

        got = while_graphs(node)
        if got is None:
            return None
        cond, body = got
        nc = node.params["nc"]
        carry = [f"{pre}c{k}" for k in range(nc)]
        consts = [arg(a) for a in node.inputs[nc:]]
        lines = [f"{ind}{c} = {arg(a)}" for c, a in zip(carry, node.inputs[:nc])]
        inner = ind + "    "
        lines += self.while_head(cond, carry + consts, pre, ind)
        blines, barg = self.graph_lines(body, carry + consts, f"{pre}b_", inner)
        lines += blines
        if nc:
            outs = [barg(o) for o in body.outputs]
            lines.append(f"{inner}{', '.join(carry)}, = {', '.join(outs)},")
        return lines, "(" + "".join(f"{c}, " for c in carry) + ")"

    def branch_lines(self, node, arg, pre, ind):
        """``(lines, expression)`` running the ``switch`` node as ``if``/``elif``/``else``
        over its branches' lines, or None when a branch has no graph."""
        from .loops import branch_graphs

        graphs = branch_graphs(node)
        if graphs is None:
            return None
        i = f"{pre}i"
        outs = [f"{pre}o{j}" for j in range(len(graphs[0].outputs))]
        ops = [arg(a) for a in node.inputs[1:]]
        lines = [f"{ind}{i} = int({arg(node.inputs[0])})"]
        n = len(graphs)
        for k, g in enumerate(graphs):
            if n == 1:
                head = "if True:"
            elif k == 0:
                head = f"if {i} <= 0:"
            elif k == n - 1:
                head = "else:"
            else:
                head = f"elif {i} == {k}:"
            lines.append(f"{ind}{head}")
            body, barg = self.graph_lines(g, ops, f"{pre}b{k}_", ind + "    ")
            lines += body
            vals = [barg(o) for o in g.outputs]
            if outs:
                lines.append(f"{ind}    {', '.join(outs)}, = {', '.join(vals)},")
            else:
                lines.append(f"{ind}    pass")
        return lines, "(" + "".join(f"{o}, " for o in outs) + ")"


def _staged_while_lines(gen, node, arg, pre, ind):
    """The loops of a ``while_loop``'s reverse mode under jit (:mod:`adgraph.jit.loops`)."""
    from .loops import staged_while_lines

    return staged_while_lines(gen, node, arg, pre, ind)


def _effects_in_order(order, guard_nodes, effects):
    """``order`` rearranged so that every guard is checked before any effect runs (a
    branch that goes the other way traces again, and must not have printed), and the
    effects run in the order of the calls; each node still follows its arguments."""
    pos = {n: k for k, n in enumerate(order)}
    done: set = set()
    out: list = []

    def emit(roots):
        need = set()
        stack = [r for r in roots if r in pos]
        while stack:
            n = stack.pop()
            if n in need or n in done:
                continue
            need.add(n)
            stack.extend(i for i in n.inputs if isinstance(i, Node) and i in pos)
        for n in sorted(need, key=pos.__getitem__):
            out.append(n)
            done.add(n)

    emit(guard_nodes)
    for e in effects:
        emit([e])
    out.extend(n for n in order if n not in done)
    return out


def _scalarish(x):
    return tuple(x.shape or ()) == ()


def _consumers_with_views(order):
    """Nodes that some operation which may return a view (reshape, getitem...) reads."""
    viewed = set()
    for node in order:
        if node.op not in _FRESH:
            for i in node.inputs:
                if isinstance(i, Node):
                    viewed.add(i)
    return viewed


def _donor(node, ins, pos, last, keep, viewed):
    """An argument of ``node`` whose buffer can take the result, or None."""
    for i in ins:
        if not isinstance(i, Node) or i.is_input or i in keep or i in viewed:
            continue
        if i.op not in _FRESH or last.get(i) != pos:
            continue
        if tuple(i.shape or ()) == tuple(node.shape or ()) and i.dtype == node.dtype:
            if (sum(1 for j in ins if j is i) == 1 or node.op in UFUNCS) and _same_layout(i, node):
                return i
    return None


def _effect(node) -> bool:
    """Whether ``node`` runs a callback (itself, or a compiled program it calls)."""
    if node.op == "debug_callback":
        return True
    comp = node.params.get("compiled") if node.op == "jit_call" else None
    return bool(getattr(getattr(comp, "graph", None), "effects", None))


def _c_order(node, strides) -> bool:
    """Whether ``strides`` (recorded) are those of a C-contiguous array of ``node``."""
    if strides is None or not isinstance(node.dtype, np.dtype):
        return False
    shape = tuple(node.shape or ())
    want = []
    step = node.dtype.itemsize
    for n in reversed(shape):
        want.append(step)
        step *= n
    # (a length-1 axis may have any stride)
    return all(n == 1 or s == w for n, s, w in zip(shape, strides, reversed(want)))


def _same_layout(a, b) -> bool:
    """Whether the values of ``a`` and ``b`` had the same memory layout when traced (True
    where a value is not known). A NumPy ufunc lays its new result out as its operands are
    laid out; written into an argument's buffer it would take that buffer's layout, and a
    reduction or product of it would then add in another order than eager mode does."""
    va, vb = a.value, b.value
    if type(va) is not np.ndarray or type(vb) is not np.ndarray:
        return True
    return va.strides == vb.strides
