"""Chains of elementwise arithmetic in one pass, for the Python code generator.

NumPy runs each ufunc as a pass over memory: ``g * (1 - y * y)`` on 2**20 float64 reads
and writes 8 MiB three times, and a chain of additions and products is bound by that
traffic, not by its arithmetic. :func:`fuse_elementwise` finds, in a graph about to be
compiled for NumPy, groups of such operations on arrays of one shape and gives each group
one generated C loop, built with the C backend's toolchain and cache
(:mod:`adgraph.jit.c`): every element is read once, computed through the whole group in
registers and written once -- about half the time of NumPy's passes (``2 * conj(v)`` on a
256x256 complex array, ``g * (1 - y * y)`` on 2**20 doubles).

What is fused: ``add``, ``subtract``, ``negative``, ``conj``, ``real`` and ``imag`` on
float32, float64, complex64 and complex128, and ``multiply``, ``square``, ``x ** 2``,
``divide`` and ``abs`` on real values (NumPy computes complex products with fused
multiply-adds on some CPUs, so they stay with NumPy); operands are values of the group's
shape, scalars and constant arrays of that shape. Transcendental functions stay with
NumPy, whose SIMD code for them is several times faster than the C library's per-element
calls. A group has at least two operations on at least :data:`FUSE_MIN` elements.

Each operation is computed as NumPy's loop computes it: in the result's dtype, with its
operands cast to it (a real operand of a complex sum becomes ``x + 0j``), the C compiler
keeping IEEE semantics (no contraction into fused multiply-adds, no reassociation). So the
values are NumPy's bit for bit; ``tests/test_jit_fusion.py`` compares every operation and
dtype, with nan, inf and signed zeros. Floating-point exceptions are NumPy's too: the loop
reports those it raised, and where ``np.seterr`` would warn, raise or call for one, the
group's NumPy operations run again and do so. At run time a group's kernel takes only
C-contiguous arrays of the traced shape and dtype; anything else runs the group's NumPy
operations instead.

Without a C compiler (or with ``ADGRAPH_JIT_FUSE=0``, or :func:`set_fusion` ``(False)``)
nothing is fused and the program runs NumPy's ufuncs, as it does for CuPy arrays. A
compiler error leaves the graph as it was.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os

import numpy as np

from ..graph.ir import Const, Graph, Node
from .diagonal import rebuilt

__all__ = ["fuse_elementwise", "set_fusion", "fusion_enabled", "FUSE_MIN"]

#: Fewest elements of a group's arrays: below it a kernel call's fixed cost (ctypes, the
#: checks) is more than the passes it saves.
FUSE_MIN = 1 << 14

_enabled = os.environ.get("ADGRAPH_JIT_FUSE", "1").strip() not in ("0", "false", "no", "off")

# dtype character -> (C type of one real part, complex?)
_CTYPES = {
    "f": ("float", False),
    "d": ("double", False),
    "F": ("float", True),
    "D": ("double", True),
}
_OPS = frozenset(
    {"add", "subtract", "multiply", "divide", "negative", "conj", "real", "imag", "square", "abs"}
)
# On complex values these stay with NumPy: its complex product is computed with fused
# multiply-adds where the CPU has them (AVX-512), so a plain formula differs in the last bits.
_REAL_ONLY = frozenset({"divide", "abs", "multiply", "square", "integer_pow"})


def set_fusion(on: bool) -> None:
    """Turn the fusion of elementwise chains in ``ad.jit``'s NumPy programs on (the default
    where a C compiler is found) or off. Programs compiled before keep what they have."""
    global _enabled
    if not isinstance(on, bool):
        raise TypeError(f"set_fusion: expected True or False, got {on!r}")
    _enabled = on


def fusion_enabled() -> bool:
    """Whether ``ad.jit`` fuses elementwise chains of NumPy programs (see :func:`set_fusion`)."""
    return _enabled


# ---------------------------------------------------------------- what can be fused
def _char(dt):
    try:
        c = np.dtype(dt).char
    except TypeError:
        return None
    return c if c in _CTYPES else None


def _scalar_operand(c: Const):
    """``(value, dtype char or None for a Python number)`` of a constant that is one value,
    else None."""
    v = c.value
    if type(v) in (float, complex):
        return v, None
    if type(v) is int and abs(v) <= 2**53:  # (exactly a double, so one rounding to float)
        return float(v), None
    if isinstance(v, np.generic) or (
        type(v) is np.ndarray and (v.ndim == 0 or (v.size and not any(v.strides)))
    ):
        # (a 0-d array, or one value broadcast: the cotangent of a sum, say)
        ch = _char(v.dtype)
        return (np.asarray(v).reshape(-1)[0], ch) if ch else None
    return None


def _operand_ok(x, shape) -> bool:
    if isinstance(x, Node):
        return tuple(x.shape or ()) == shape and _char(x.dtype) is not None
    if _scalar_operand(x) is not None:
        return True
    v = x.value
    return type(v) is np.ndarray and v.shape == shape and _char(v.dtype) is not None


def _fusible(n) -> tuple | None:
    """The shape of ``n``'s value when ``n`` is an operation this module fuses, else None."""
    if n.is_input or n.prim is None or n.op not in _OPS and n.op != "integer_pow":
        return None
    if n.op == "integer_pow":
        if n.params != {"n": 2}:
            return None
    elif n.params:
        return None
    shape = n.shape
    ch = _char(n.dtype)
    if ch is None or not isinstance(shape, tuple) or not shape or math.prod(shape) < FUSE_MIN:
        return None
    if n.op in _REAL_ONLY and ch in "FD":
        return None
    ins = n.inputs
    if len(ins) != (2 if n.op in ("add", "subtract", "multiply", "divide") else 1):
        return None
    if n.op in ("real", "imag", "abs", "conj") and not isinstance(ins[0], Node):
        return None
    if n.op in _REAL_ONLY and any(
        (_char(i.dtype) if isinstance(i, Node) else "c" if _is_complex_const(i) else "f") in "FDc"
        for i in ins
    ):
        return None
    if not all(_operand_ok(i, shape) for i in ins):
        return None
    return shape


def _is_complex_const(c: Const) -> bool:
    s = _scalar_operand(c)
    if s is not None:
        v, ch = s
        return isinstance(v, complex) or (ch is not None and ch in "FD")
    return np.dtype(c.value.dtype).kind == "c"


# ---------------------------------------------------------------- grouping
def _groups(order):
    """Lists of fusible nodes (in ``order``) computed by one loop each: a node joins the
    group of one of its arguments where the shapes agree and no path leaves the group and
    comes back into it (the group stays one step of the program)."""
    group_of: dict = {}
    groups: list = []
    reach: dict = {}  # node -> indices of the groups it depends on
    for n in order:
        deps: set = set()
        for i in n.inputs:
            if isinstance(i, Node):
                deps |= reach.get(i, set())
                if i in group_of:
                    deps.add(group_of[i])
        shape = _fusible(n)
        if shape is not None:
            choice = None
            for i in n.inputs:
                g = group_of.get(i) if isinstance(i, Node) else None
                if g is None or groups[g][0] != shape:
                    continue
                # every other argument must not depend on the group (else a cycle)
                if all(
                    not isinstance(j, Node) or group_of.get(j) == g or g not in reach.get(j, ())
                    for j in n.inputs
                ):
                    choice = g
                    break
            if choice is None:
                choice = len(groups)
                groups.append((shape, []))
            groups[choice][1].append(n)
            group_of[n] = choice
        reach[n] = deps
    return [members for _, members in groups if len(members) >= 2]


# ---------------------------------------------------------------- C source
def _lit(v, ctype):
    if math.isnan(v):
        return f"(({ctype})NAN)" if not math.copysign(1.0, v) < 0 else f"(-({ctype})NAN)"
    if math.isinf(v):
        return f"(({ctype})INFINITY)" if v > 0 else f"(-({ctype})INFINITY)"
    return f"(({ctype}){float(v).hex()})"


class _Value:
    """A value inside the loop: C expressions of its real part (and imaginary part), and
    its dtype character."""

    def __init__(self, ch, re, im=None):
        self.ch, self.re, self.im = ch, re, im

    def cast(self, ch):
        """This value in the dtype ``ch`` (NumPy's cast to a ufunc loop's type)."""
        ct, cplx = _CTYPES[ch]
        re = self.re if _CTYPES[self.ch][0] == ct else f"(({ct}){self.re})"
        if not cplx:
            return _Value(ch, re)
        if self.im is None:
            return _Value(ch, re, f"(({ct})0)")
        im = self.im if _CTYPES[self.ch][0] == ct else f"(({ct}){self.im})"
        return _Value(ch, re, im)


def _apply(op, ch, args):
    """``(re, im)`` expressions of ``op`` computed in dtype ``ch`` from ``args`` (values)."""
    cplx = _CTYPES[ch][1]
    if op in ("real", "imag"):
        x = args[0]
        if op == "real":
            return x.cast(x.ch).re, None  # (x's own precision: the result's)
        return (x.im if x.im is not None else f"(({_CTYPES[ch][0]})0)"), None
    xs = [a.cast(ch) for a in args]
    if op == "conj":
        x = xs[0]
        return (x.re, f"(-{x.im})") if cplx else (x.re, None)
    if op == "negative":
        x = xs[0]
        return (f"(-{x.re})", f"(-{x.im})") if cplx else (f"(-{x.re})", None)
    if op == "abs":
        return f"fabs{'f' if ch == 'f' else ''}({xs[0].re})", None
    if op in ("square", "integer_pow"):
        xs = [xs[0], xs[0]]
        op = "multiply"
    a, b = xs
    if op in ("add", "subtract"):
        s = "+" if op == "add" else "-"
        if cplx:
            return f"({a.re} {s} {b.re})", f"({a.im} {s} {b.im})"
        return f"({a.re} {s} {b.re})", None
    if op == "multiply":
        if cplx:
            return (
                f"({a.re} * {b.re} - {a.im} * {b.im})",
                f"({a.re} * {b.im} + {a.im} * {b.re})",
            )
        return f"({a.re} * {b.re})", None
    return f"({a.re} / {b.re})", None  # divide (real)


_FLAG_NAMES = ((1, "divide"), (2, "over"), (4, "under"), (8, "invalid"))


class _Kernel:
    """One group's C function, and how to call it."""

    def __init__(self, members, inputs, outputs, consts, shape):
        self.name = "k"
        self.members = members  # the group's nodes, in order
        self.inputs = inputs  # external Node arguments, in order
        self.outputs = outputs  # members used outside the group, in order
        self.const_srcs = consts  # constant arrays the graph holds (identities)
        self.const_arrays = [np.ascontiguousarray(c) for c in consts]  # what C reads
        self.shape = shape
        self.in_dtypes = [np.dtype(i.dtype) for i in inputs]
        self.out_dtypes = [np.dtype(o.dtype) for o in outputs]
        self.size = math.prod(shape)
        self.fn = None
        self.const_ptrs: list = []

    def source(self) -> str:
        vals: dict = {}
        params = ["long n"]
        loads: list[str] = []
        for k, x in enumerate(self.inputs):
            ch = _char(x.dtype)
            params.append(f"const {_CTYPES[ch][0]} *in{k}")
            vals[x] = _declare(loads, f"x{k}", _element(f"in{k}", ch))
        for k, c in enumerate(self.const_arrays):
            params.append(f"const {_CTYPES[_char(c.dtype)][0]} *c{k}")
        for k, o in enumerate(self.outputs):
            params.append(f"{_CTYPES[_char(o.dtype)][0]} *out{k}")
        const_index = {id(c): k for k, c in enumerate(self.const_srcs)}
        body = list(loads)
        for m, n in enumerate(self.members):
            ch = _char(n.dtype)
            args = [
                vals[i]
                if isinstance(i, Node)
                else _const_value(i, ch, const_index, self.const_arrays)
                for i in n.inputs
            ]
            vals[n] = _declare(body, f"t{m}", _Value(ch, *_apply(n.op, ch, args)))
        # Every read of element i comes before any write of it, so an output may share its
        # memory with an input.
        for k, o in enumerate(self.outputs):
            v = vals[o]
            if _CTYPES[_char(o.dtype)][1]:
                body.append(f"out{k}[2 * i] = {v.re}; out{k}[2 * i + 1] = {v.im};")
            else:
                body.append(f"out{k}[i] = {v.re};")
        inner = "\n        ".join(body)
        # The floating-point exceptions the loop raised, as NumPy's ufuncs report them
        # (1 divide, 2 overflow, 4 underflow, 8 invalid): the caller then reruns the
        # operations in NumPy, which warns or raises as np.seterr says.
        return (
            f"int {self.name}({', '.join(params)})\n{{\n"
            "    feclearexcept(FE_ALL_EXCEPT);\n"
            f"    for (long i = 0; i < n; i++) {{\n        {inner}\n    }}\n"
            "    return (fetestexcept(FE_DIVBYZERO) ? 1 : 0) | (fetestexcept(FE_OVERFLOW) ? 2 : 0)"
            " | (fetestexcept(FE_UNDERFLOW) ? 4 : 0) | (fetestexcept(FE_INVALID) ? 8 : 0);\n"
            "}\n"
        )

    def bind(self, lib):
        fn = getattr(lib, self.name)
        nptr = len(self.inputs) + len(self.const_arrays) + len(self.outputs)
        fn.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * nptr
        fn.restype = ctypes.c_int
        self.fn = fn
        self.const_ptrs = [c.ctypes.data for c in self.const_arrays]


def _const_value(c: Const, ch, const_index, arrays) -> _Value:
    """The loop's value of the constant ``c``, an argument of an operation in dtype ``ch``.
    A Python number takes the operation's type, as NumPy's weak scalars do."""
    s = _scalar_operand(c)
    if s is not None:
        v, vch = s
        if vch is None:
            if isinstance(v, complex):
                if not _CTYPES[ch][1]:
                    raise ValueError("a complex Python number in a real operation")
                vch = ch
            else:
                vch = {"f": "f", "d": "d", "F": "f", "D": "d"}[ch]
        ct = _CTYPES[vch][0]
        if _CTYPES[vch][1]:
            v = complex(v)
            return _Value(vch, _lit(v.real, ct), _lit(v.imag, ct))
        return _Value(vch, _lit(float(v), ct))
    k = const_index[id(c.value)]
    return _element(f"c{k}", _char(arrays[k].dtype))


def _element(pointer, ch) -> _Value:
    """Element ``i`` of the array at ``pointer`` (its real and imaginary parts adjacent)."""
    if _CTYPES[ch][1]:
        return _Value(ch, f"{pointer}[2 * i]", f"{pointer}[2 * i + 1]")
    return _Value(ch, f"{pointer}[i]")


def _declare(lines, name, v: _Value) -> _Value:
    """Append the declaration of a local ``name`` holding ``v``; the local as a value."""
    ct = _CTYPES[v.ch][0]
    if v.im is not None:
        lines.append(f"{ct} {name}r = {v.re}, {name}i = {v.im};")
        return _Value(v.ch, f"{name}r", f"{name}i")
    lines.append(f"{ct} {name} = {v.re};")
    return _Value(v.ch, name)


class _FusedImpl:
    """The implementation of a ``fused_elementwise`` node: what the code generator calls,
    never bound as a primitive (the node exists only in the graph handed to the Python
    code generator)."""

    nondiff = True

    def __init__(self, kernel: _Kernel):
        self.kernel = kernel
        self.multiple_results = len(kernel.outputs) > 1

    def reference(self, xp, args):
        """The group's operations one by one through the primitives' implementations (what
        the program runs without fusion)."""
        k = self.kernel
        env = dict(zip(k.inputs, args))
        for n in k.members:
            vals = [env[i] if isinstance(i, Node) else i.value for i in n.inputs]
            env[n] = n.prim.impl(xp, *vals, **n.params)
        res = [env[o] for o in k.outputs]
        return tuple(res) if self.multiple_results else res[0]

    def impl(self, xp, *args, out=None):
        k = self.kernel
        if xp is np and all(
            type(a) is np.ndarray and a.shape == k.shape and a.dtype == dt and a.flags.c_contiguous
            for a, dt in zip(args, k.in_dtypes)
        ):
            outs = [np.empty(k.shape, dtype=dt) for dt in k.out_dtypes] if out is None else [out]
            flags = k.fn(
                k.size,
                *[a.ctypes.data for a in args],
                *k.const_ptrs,
                *[o.ctypes.data for o in outs],
            )
            if not flags or not _reported(flags):
                return tuple(outs) if self.multiple_results else outs[0]
            # (out never shares memory with an argument: the arguments are intact)
        res = self.reference(xp, args)
        if out is not None:
            out[...] = res
            return out
        return res


def _reported(flags) -> bool:
    """Whether NumPy would warn, raise or call back for the floating-point exceptions
    ``flags`` (the kernel's bits) under the current ``np.seterr``."""
    err: dict = dict(np.geterr())
    return any(flags & bit and err[name] != "ignore" for bit, name in _FLAG_NAMES)


class _Library:
    """The C source of one graph's kernels, as the C backend's cache builds it."""

    def __init__(self, kernels):
        head = "#include <math.h>\n#include <fenv.h>\n\n"
        body = "\n".join(k.source() for k in kernels)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        self.name = f"adg_fused_{digest}"
        for j, k in enumerate(kernels):
            k.name = f"{self.name}_{j}"
        self.source = head + "\n".join(k.source() for k in kernels)


def _kernels(order, groups, pinned):
    users: dict = {}
    for n in order:
        for i in n.inputs:
            if isinstance(i, Node):
                users.setdefault(i, []).append(n)
    kernels = []
    for members in groups:
        mset = set(members)
        inputs: list = []
        consts: list = []
        for n in members:
            for i in n.inputs:
                if isinstance(i, Node):
                    if i not in mset and i not in inputs:
                        inputs.append(i)
                elif _scalar_operand(i) is None and all(c is not i.value for c in consts):
                    consts.append(i.value)
        outputs = [
            n for n in members if n in pinned or any(u not in mset for u in users.get(n, ()))
        ]
        if outputs:
            kernels.append(_Kernel(members, inputs, outputs, consts, tuple(members[0].shape)))
    return kernels


def _rewrite(graph, guards, order, kernels):
    """The graph with each kernel's group replaced by one node (and ``item`` nodes for a
    kernel of several results), or None if that would not be a graph without cycles."""
    unit_of: dict = {}
    for j, k in enumerate(kernels):
        for n in k.members:
            unit_of[n] = ("k", j)

    def unit(n):
        return unit_of.get(n, n)

    units = []
    deps: dict = {}
    seen: set = set()
    for n in order:
        u = unit(n)
        if u in seen:
            continue
        seen.add(u)
        units.append(u)
        srcs = kernels[u[1]].inputs if isinstance(u, tuple) else n.inputs
        deps[u] = {unit(i) for i in srcs if isinstance(i, Node)} - {u}
    # Kahn's order of the units (the groups' nodes condensed into one each)
    waiting = {u: len(d) for u, d in deps.items()}
    after: dict = {}
    for u, d in deps.items():
        for v in d:
            after.setdefault(v, []).append(u)
    ready = [u for u in units if waiting[u] == 0]
    sorted_units = []
    while ready:
        u = ready.pop()
        sorted_units.append(u)
        for v in after.get(u, ()):
            waiting[v] -= 1
            if waiting[v] == 0:
                ready.append(v)
    if len(sorted_units) != len(units):
        return None
    sub: dict = {}
    for u in sorted_units:
        if isinstance(u, tuple):
            k = kernels[u[1]]
            impl = _FusedImpl(k)
            multi = impl.multiple_results
            f = Node(
                "fused_elementwise",
                tuple(sub[i] for i in k.inputs),
                {},
                prim=impl,  # type: ignore[arg-type]  # (called like a primitive's impl)
                value=tuple(o.value for o in k.outputs) if multi else k.outputs[0].value,
                shape=None if multi else k.outputs[0].shape,
                dtype=None if multi else k.outputs[0].dtype,
            )
            if multi:
                for idx, o in enumerate(k.outputs):
                    sub[o] = Node(
                        "item", (f,), {"index": idx}, value=o.value, shape=o.shape, dtype=o.dtype
                    )
            else:
                sub[k.outputs[0]] = f
            continue
        n = u
        if n.is_input:
            sub[n] = n
            continue
        ins = tuple(sub[i] if isinstance(i, Node) else i for i in n.inputs)
        if all(a is b for a, b in zip(ins, n.inputs)):
            sub[n] = n
        else:
            sub[n] = Node(
                n.op, ins, n.params, prim=n.prim, value=n.value, shape=n.shape, dtype=n.dtype
            )
    return rebuilt(graph, sub, guards)


def fuse_elementwise(graph: Graph, guards=()):
    """``graph`` with each group of elementwise arithmetic on arrays of one shape computed
    by one generated C loop; returns ``(graph, guards)``. For the Python code generator
    and NumPy only (the new ``fused_elementwise`` nodes are not primitives). The graph is
    returned unchanged when fusion is off, no C compiler is found, nothing qualifies, or the
    build fails."""
    if not _enabled or getattr(graph, "effects", None):
        return graph, guards
    order = graph.toposort()
    pinned = {o for o in graph.outputs if isinstance(o, Node)}
    pinned |= {g for g, _ in guards if isinstance(g, Node)}
    groups = _groups(order)
    if not groups:
        return graph, guards
    from .c.toolchain import compiler_flags, find_c_compiler, loop_flags

    compiler = find_c_compiler()
    if compiler is None:
        return graph, guards
    kernels = _kernels(order, groups, pinned)
    if not kernels:
        return graph, guards
    try:
        from .c.cache import load_library

        lib_src = _Library(kernels)
        flags = compiler_flags(False, None) + loop_flags(compiler)
        lib, _ = load_library(lib_src, compiler, flags)  # type: ignore[arg-type]
        for k in kernels:
            k.bind(lib)
    except Exception:  # noqa: BLE001 - an optional accelerator: the program runs without it
        return graph, guards
    done = _rewrite(graph, guards, order, kernels)
    return (graph, guards) if done is None else done
