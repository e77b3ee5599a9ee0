"""Per-primitive C rules: how each primitive's node becomes C statements over scalars.

Two tables, read whole:

* the elementwise templates (:data:`FLOAT_OPS`, :data:`INT_OPS`, :data:`BOOL_OPS`): the C
  expression of each NumPy ufunc (and a few functions that are not ufuncs) on one element,
  by the kind of its loop dtype;
* :data:`RULES`: primitive name -> rule. A rule ``rule(L, node, *args, **params)`` gets the
  :class:`~adgraph.jit.c.lower.Lowering` ``L``, the node, its arguments (a
  :class:`~adgraph.jit.c.scalars.Sym` per node argument, a
  :class:`~adgraph.graph.nodes.Const` per constant) and the primitive's parameters, and
  returns the node's value as a ``Sym`` (a tuple of them for several results), emitting its
  statements through ``L``.

A primitive without a rule here runs its implementation on symbolic arrays
(:mod:`adgraph.jit.c.symbolic`), or is refused.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ...core.pytree import tree_flatten
from ...graph.nodes import Const, Node
from ...ops.indexing import join_index
from ..codegen import UFUNCS
from ..simplify import simplify
from ..tracing import trace_for_jit
from .errors import CBackendError
from .scalars import CTYPES, Lit, Meta, Sym, cast_value, libm_suffix, lit, objarray, same_lit

__all__ = ["FLOAT_OPS", "INT_OPS", "BOOL_OPS", "RULES", "where_rule"]


FLOAT_OPS = {
    "add": "({0} + {1})",
    "subtract": "({0} - {1})",
    "multiply": "({0} * {1})",
    "divide": "({0} / {1})",
    "negative": "(-{0})",
    "positive": "{0}",
    "absolute": "fabs{s}({0})",
    "fabs": "fabs{s}({0})",
    "square": "({0} * {0})",
    "reciprocal": "({one} / {0})",
    "sign": "adg_sign{s}({0})",
    "exp": "exp{s}({0})",
    "exp2": "exp2{s}({0})",
    "expm1": "expm1{s}({0})",
    "log": "log{s}({0})",
    "log2": "log2{s}({0})",
    "log10": "log10{s}({0})",
    "log1p": "log1p{s}({0})",
    "sqrt": "sqrt{s}({0})",
    "cbrt": "cbrt{s}({0})",
    "sin": "sin{s}({0})",
    "cos": "cos{s}({0})",
    "tan": "tan{s}({0})",
    "arcsin": "asin{s}({0})",
    "arccos": "acos{s}({0})",
    "arctan": "atan{s}({0})",
    "sinh": "sinh{s}({0})",
    "cosh": "cosh{s}({0})",
    "tanh": "tanh{s}({0})",
    "arcsinh": "asinh{s}({0})",
    "arccosh": "acosh{s}({0})",
    "arctanh": "atanh{s}({0})",
    "floor": "floor{s}({0})",
    "ceil": "ceil{s}({0})",
    "trunc": "trunc{s}({0})",
    "rint": "rint{s}({0})",
    "deg2rad": "({0} * {deg})",
    "rad2deg": "({0} * {rad})",
    "power": "pow{s}({0}, {1})",
    "arctan2": "atan2{s}({0}, {1})",
    "hypot": "hypot{s}({0}, {1})",
    "logaddexp": "adg_logaddexp{s}({0}, {1})",
    "logaddexp2": "adg_logaddexp2{s}({0}, {1})",
    "maximum": "adg_maximum{s}({0}, {1})",
    "minimum": "adg_minimum{s}({0}, {1})",
    "fmax": "fmax{s}({0}, {1})",
    "fmin": "fmin{s}({0}, {1})",
    "copysign": "copysign{s}({0}, {1})",
    "nextafter": "nextafter{s}({0}, {1})",
    "fmod": "fmod{s}({0}, {1})",
    "floor_divide": "adg_floor_divide{s}({0}, {1})",
    "remainder": "adg_remainder{s}({0}, {1})",
    "heaviside": "adg_heaviside{s}({0}, {1})",
    "equal": "({0} == {1})",
    "not_equal": "({0} != {1})",
    "less": "({0} < {1})",
    "less_equal": "({0} <= {1})",
    "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})",
    "logical_and": "(({0} != 0) && ({1} != 0))",
    "logical_or": "(({0} != 0) || ({1} != 0))",
    "logical_xor": "(({0} != 0) != ({1} != 0))",
    "logical_not": "({0} == 0)",
    "isfinite": "(isfinite({0}) != 0)",
    "isnan": "(isnan({0}) != 0)",
    "isinf": "(isinf({0}) != 0)",
    "signbit": "(signbit({0}) != 0)",
    # scipy.special and NumPy functions that are not NumPy ufuncs
    "erf": "erf{s}({0})",
    "erfc": "erfc{s}({0})",
    "gammaln": "lgamma{s}({0})",
    "isneginf": "(isinf({0}) && {0} < 0)",
    "isposinf": "(isinf({0}) && {0} > 0)",
}

# Templates on integer loops (signed and unsigned; bool loops below).
INT_OPS = {
    "add": "({0} + {1})",
    "subtract": "({0} - {1})",
    "multiply": "({0} * {1})",
    "negative": "(-{0})",
    "positive": "{0}",
    "absolute": "({0} < 0 ? -{0} : {0})",
    "square": "({0} * {0})",
    "sign": "(({0} > 0) - ({0} < 0))",
    "maximum": "({0} >= {1} ? {0} : {1})",
    "minimum": "({0} <= {1} ? {0} : {1})",
    "fmax": "({0} >= {1} ? {0} : {1})",
    "fmin": "({0} <= {1} ? {0} : {1})",
    "equal": "({0} == {1})",
    "not_equal": "({0} != {1})",
    "less": "({0} < {1})",
    "less_equal": "({0} <= {1})",
    "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})",
    "logical_and": "(({0} != 0) && ({1} != 0))",
    "logical_or": "(({0} != 0) || ({1} != 0))",
    "logical_xor": "(({0} != 0) != ({1} != 0))",
    "logical_not": "({0} == 0)",
    "bitwise_and": "({0} & {1})",
    "bitwise_or": "({0} | {1})",
    "bitwise_xor": "({0} ^ {1})",
    "invert": "(~{0})",
    "isfinite": "1",
    "isnan": "0",
    "isinf": "0",
    "floor": "{0}",
    "ceil": "{0}",
    "trunc": "{0}",
    "rint": "{0}",
}
BOOL_OPS = dict(
    INT_OPS,
    add="({0} || {1})",
    multiply="({0} && {1})",
    absolute="{0}",
    maximum="({0} || {1})",
    minimum="({0} && {1})",
    fmax="({0} || {1})",
    fmin="({0} && {1})",
    invert="(!{0})",
    sign="{0}",
)
for _k in ("negative", "subtract"):
    del BOOL_OPS[_k]


# ============================================================================ rules
RULES: dict = {}


def _rule(*names):
    def deco(f):
        for n in names:
            RULES[n] = f
        return f

    return deco


# primitive -> NumPy ufunc computing it: the table the Python code generator uses too.
_UFUNC_PRIMS = UFUNCS


def _make_ufunc_rule(ufname):
    def rule(L, node, *args):
        return L.ufunc(ufname, *args)

    return rule


for _p, _u in _UFUNC_PRIMS.items():
    RULES[_p] = _make_ufunc_rule(_u)


@_rule("erf", "erfc", "gammaln", "isneginf", "isposinf")
def _r_float_fn(L, node, x):
    xs = L.sym(x, node.dtype)
    if node.op in ("isneginf", "isposinf"):
        if xs.dtype.kind != "f":
            return L.const(np.zeros(xs.shape, dtype=bool))
        return L.map(node.op, [xs], (xs.dtype,), np.bool_)
    return L.unary(node.op, xs, node.dtype)


@_rule("polygamma")
def _r_polygamma(L, node, x, *, n):
    dt = _float_dt(node, node.dtype)
    xs = L.cast(L.sym(x, dt), dt)
    L.need("polygamma", dt)
    out = np.empty(xs.shape, dtype=object)
    for idx in np.ndindex(xs.shape):
        e = xs.e[idx]
        out[idx] = L.emit(dt, f"adg_polygamma{libm_suffix(dt)}({int(n)}, {L.c(e, dt)})", [e])
    return Sym(out, dt)


@_rule("integer_pow")
def _r_integer_pow(L, node, x, *, n):
    dt = np.dtype(node.dtype)
    xs = L.cast(L.sym(x, dt), dt)
    out = np.empty(xs.shape, dtype=object)
    for idx in np.ndindex(xs.shape):
        e = xs.e[idx]
        if isinstance(e, Lit):
            with np.errstate(all="ignore"):
                out[idx] = lit(np.power(e.value, n) if n != 2 else e.value * e.value, dt)
        elif n == 1:
            out[idx] = e
        elif n == 2:
            out[idx] = L.scalar("multiply", [e, e], (dt, dt), dt)
        elif n == -1 and dt.kind == "f":
            out[idx] = L.scalar("divide", [lit(1, dt), e], (dt, dt), dt)
        else:
            out[idx] = L.scalar("power", [e, lit(n, dt)], (dt, dt), dt)
    return Sym(out, dt)


@_rule("where")
def where_rule(L, node, c, x, y):
    dt = np.dtype(node.dtype)
    cs = L.cast(L.sym(c, np.bool_), np.bool_)
    xs, ys = L.cast(L.sym(x, dt), dt), L.cast(L.sym(y, dt), dt)
    shape = np.broadcast_shapes(cs.shape, xs.shape, ys.shape)
    ce, xe, ye = (np.broadcast_to(s.e, shape) for s in (cs, xs, ys))
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        ci, xi, yi = ce[idx], xe[idx], ye[idx]
        if isinstance(ci, Lit):
            out[idx] = xi if bool(ci.value) else yi
        elif xi is yi or (isinstance(xi, Lit) and isinstance(yi, Lit) and same_lit(xi, yi)):
            out[idx] = xi
        else:
            code = f"({ci.name} ? {L.c(xi, dt)} : {L.c(yi, dt)})"
            out[idx] = L.emit(dt, code, [ci, xi, yi])
    return Sym(out, dt)


@_rule("convert_element_type")
def _r_convert(L, node, x, *, dtype):
    return L.cast(L.sym(x), dtype)


@_rule("stop_gradient", "real", "conj")
def _r_identity(L, node, x):
    return L.sym(x)


@_rule("imag")
def _r_imag(L, node, x):
    return L.const(np.zeros(node.shape, dtype=node.dtype))


@_rule("angle")
def _r_angle(L, node, x):
    dt = np.dtype(node.dtype)
    return L.map("arctan2", [L.const(0.0, dt), L.cast(L.sym(x, dt), dt)], (dt, dt), dt)


@_rule("sinc")
def _r_sinc(L, node, x):
    # NumPy: y = pi * where(x == 0, 1e-20, x); sin(y) / y
    dt = np.dtype(node.dtype)
    xs = L.cast(L.sym(x, dt), dt)
    zero = L.ufunc("equal", xs, 0)
    safe = where_rule(L, Meta(xs.shape, dt), zero, Const(1.0e-20), xs)
    y = L.ufunc("multiply", safe, Const(cast_value(math.pi, dt)))
    return L.ufunc("divide", L.ufunc("sin", y), y)


@_rule("round")
def _r_round(L, node, x, *, decimals):
    dt = np.dtype(node.dtype)
    xs = L.sym(x, dt)
    if dt.kind != "f":
        return xs
    if decimals >= 0:
        f = Const(cast_value(10.0**decimals, dt))
        return L.ufunc("divide", L.ufunc("rint", L.ufunc("multiply", xs, f)), f)
    f = Const(cast_value(10.0 ** (-decimals), dt))
    return L.ufunc("multiply", L.ufunc("rint", L.ufunc("divide", xs, f)), f)


# ---------------------------------------------------------------- data movement
_MOVEMENT = {
    "reshape",
    "broadcast_to",
    "transpose",
    "static_slice",
    "zero_pad",
    "flip",
    "roll",
    "diagonal",
    "diag_embed",
    "concatenate",
    "split",
    "gather_axis",
    "fftshift",
}


def _index_args(node, args, lo, hi):
    """The constant index arrays ``args[lo:hi]`` of an indexing node (traced ones are
    refused: the element read must be known when compiling)."""
    out = []
    for a in args[lo:hi]:
        if isinstance(a, Sym):
            raise CBackendError(
                f"C backend: {node.describe()} indexes with computed index arrays; only "
                "integers, slices, None, Ellipsis and constant index arrays can be compiled "
                "to straight-line C code"
            )
        out.append(a.value)
    return out


def _r_movement(L, node, *args, **params):
    objs = [L.sym(a).e if isinstance(a, Sym) else objarray(np.asarray(a.value)) for a in args]
    res = node.prim.impl(np, *objs, **params)
    dts = node.dtype
    if isinstance(res, tuple):
        return tuple(L.normalize(r, d) for r, d in zip(res, dts, strict=True))
    return L.normalize(res, dts)


for _p in _MOVEMENT:
    RULES[_p] = _r_movement


@_rule("getitem")
def _r_getitem(L, node, x, *arrays, skel):
    idx = join_index(skel, _index_args(node, (x, *arrays), 1, 1 + len(arrays)))
    return L.normalize(L.sym(x).e[idx], node.dtype)


@_rule("scatter")
def _r_scatter(L, node, x, *rest, skel):
    dt = np.dtype(node.dtype)
    idx = join_index(skel, _index_args(node, (x, *rest), 1, len(rest)))
    out = L.cast(L.sym(x, dt), dt).e.copy()
    v = L.cast(L.sym(rest[-1], dt), dt).e
    # A 0-d object array assigned to one position would be stored as the element itself.
    out[idx] = v[()] if v.ndim == 0 else v
    return L.normalize(out, dt)


@_rule("scatter_add", "scatter_mul", "scatter_min", "scatter_max")
def _r_scatter_acc(L, node, x, *rest, skel):
    op = {
        "scatter_add": "add",
        "scatter_mul": "multiply",
        "scatter_min": "minimum",
        "scatter_max": "maximum",
    }[node.op]
    dt = np.dtype(node.dtype)
    xs = L.cast(L.sym(x, dt), dt)
    idx = join_index(skel, _index_args(node, (x, *rest), 1, len(rest)))
    lin = np.arange(xs.size).reshape(xs.shape)[idx]
    upd = np.broadcast_to(L.cast(L.sym(rest[-1], dt), dt).e, np.shape(lin))
    flat = xs.e.reshape(-1).copy()
    # Sequential in index order, as NumPy's ufunc.at (repeated positions accumulate).
    for p, u in zip(np.ravel(lin), upd.reshape(-1), strict=True):
        flat[p] = L.scalar(op, [flat[p], u], (dt, dt), dt)
    return Sym(flat.reshape(xs.shape), dt)


@_rule("scatter_add_axis")
def _r_scatter_add_axis(L, node, v, *, index, axis, size):
    dt = np.dtype(node.dtype)
    vs = L.cast(L.sym(v, dt), dt)
    idx = np.asarray(index.array)
    shape = list(vs.shape)
    shape[axis] = size
    ve = np.moveaxis(vs.e, axis, 0)
    out = np.empty([size] + shape[:axis] + shape[axis + 1 :], dtype=object)
    out[...] = None
    for k, j in enumerate(idx.tolist()):
        for rest in np.ndindex(out.shape[1:]):
            cur = out[(j,) + rest]
            u = ve[(k,) + rest]
            out[(j,) + rest] = u if cur is None else L.scalar("add", [cur, u], (dt, dt), dt)
    out = np.moveaxis(out, 0, axis)
    return L.normalize(np.where(np.equal(out, None), 0, out), dt)


# ---------------------------------------------------------------- reductions
def _rows(x: Sym, axis):
    """``x`` with the reduced axes last, flattened: (kept shape, rows of elements)."""
    axis = tuple(range(x.ndim)) if axis is None else tuple(a % max(x.ndim, 1) for a in axis)
    kept = [d for d in range(x.ndim) if d not in axis]
    e = np.transpose(x.e, kept + list(axis))
    kshape = tuple(x.shape[d] for d in kept)
    rows = e.reshape(kshape + (-1,))
    return kshape, rows, axis


def _reduce(L, node, x, axis, keepdims, combine):
    dt = np.dtype(node.dtype)
    xs = L.sym(x)
    kshape, rows, axis = _rows(xs, axis)
    out = np.empty(kshape, dtype=object)
    for idx in np.ndindex(kshape):
        out[idx] = combine(list(rows[idx]))
    if keepdims:
        out = out.reshape(tuple(1 if d in axis else n for d, n in enumerate(xs.shape)))
    return Sym(out, dt)


@_rule("reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_all", "reduce_any")
def _r_reduce(L, node, x, *, axis, keepdims):
    dt = np.dtype(node.dtype)
    op, empty = {
        "reduce_sum": ("add", 0),
        "reduce_prod": ("multiply", 1),
        "reduce_max": ("maximum", None),
        "reduce_min": ("minimum", None),
        "reduce_all": ("logical_and", True),
        "reduce_any": ("logical_or", False),
    }[node.op]
    xs = L.sym(x)

    def combine(elems):
        elems = [_conv(L, e, dt) for e in elems]
        if not elems:
            if empty is None:
                raise CBackendError(f"C backend: {node.describe()} reduces an empty axis")
            return lit(empty, dt)
        return L.fold(op, elems, dt)

    return _reduce(L, node, xs, axis, keepdims, combine)


def _conv(L, e, dt):
    """Element ``e`` converted to ``dt``."""
    dt = np.dtype(dt)
    if isinstance(e, Lit):
        return lit(e.value, dt)
    if e.dtype == dt:
        return e
    return L.emit(dt, L.c(e, dt), [e])


@_rule("logsumexp")
def _r_logsumexp(L, node, a, *, axis, keepdims):
    dt = np.dtype(node.dtype)
    f = (dt, dt)

    def combine(elems):
        elems = [_conv(L, e, dt) for e in elems]
        m = L.fold("maximum", elems, dt)
        fin = L.scalar("isfinite", [m], (dt,), np.bool_)
        m = where_rule(
            L, Meta((), dt), Sym(objarray(fin), np.bool_), Sym(objarray(m), dt), Const(0.0)
        ).e[()]
        terms = [L.scalar("exp", [L.scalar("subtract", [e, m], f, dt)], (dt,), dt) for e in elems]
        s = L.fold("add", terms, dt)
        return L.scalar("add", [L.scalar("log", [s], (dt,), dt), m], f, dt)

    return _reduce(L, node, L.sym(a), axis, keepdims, combine)


@_rule("reduce_var", "reduce_std")
def _r_var(L, node, x, *, axis, keepdims, ddof):
    dt = np.dtype(node.dtype)
    f = (dt, dt)
    root = node.op == "reduce_std"  # the square root of the variance

    def combine(elems):
        elems = [_conv(L, e, dt) for e in elems]
        n = len(elems)
        mean = L.scalar("divide", [L.fold("add", elems, dt), lit(n, dt)], f, dt)
        dev = [L.scalar("subtract", [e, mean], f, dt) for e in elems]
        sq = [L.scalar("multiply", [d, d], f, dt) for d in dev]
        v = L.scalar("divide", [L.fold("add", sq, dt), lit(max(n - ddof, 0), dt)], f, dt)
        return L.scalar("sqrt", [v], (dt,), dt) if root else v

    return _reduce(L, node, L.sym(x), axis, keepdims, combine)


@_rule("linalg_norm2")
def _r_norm2(L, node, x, *, axis, keepdims):
    dt = _float_dt(node, node.dtype)
    f = (dt, dt)

    def combine(elems):
        elems = [_conv(L, e, dt) for e in elems]
        s = L.fold("add", [L.scalar("multiply", [e, e], f, dt) for e in elems], dt)
        return L.scalar("sqrt", [s], (dt,), dt)

    return _reduce(L, node, L.sym(x), axis, keepdims, combine)


@_rule("cumsum", "cumprod")
def _r_cum(L, node, x, *, axis):
    dt = np.dtype(node.dtype)
    op = "add" if node.op == "cumsum" else "multiply"
    xs = L.cast(L.sym(x), dt)
    if axis is None:
        e = xs.e.reshape(-1)
        ax = 0
    else:
        e, ax = xs.e, axis % xs.ndim
    e = np.moveaxis(e, ax, -1)
    out = np.empty(e.shape, dtype=object)
    for idx in np.ndindex(e.shape[:-1]):
        acc = None
        for k in range(e.shape[-1]):
            acc = e[idx + (k,)] if acc is None else L.scalar(op, [acc, e[idx + (k,)]], (dt, dt), dt)
            out[idx + (k,)] = acc
    return Sym(np.moveaxis(out, -1, ax), dt)


# ---------------------------------------------------------------- products
def _sum_of_products(L, factor_lists, dt):
    """sum_k prod_j factors[k][j] with the loop dtype ``dt``."""
    terms = [L.fold("multiply", [_conv(L, f, dt) for f in fs], dt) for fs in factor_lists]
    if not terms:
        return lit(0, dt)
    return L.fold("add", terms, dt)


@_rule("matmul")
def _r_matmul(L, node, x, y):
    dt = np.dtype(node.dtype)
    xs, ys = L.sym(x), L.sym(y)
    xe, ye = xs.e, ys.e
    vx, vy = xe.ndim == 1, ye.ndim == 1
    if vx:
        xe = xe[None, :]
    if vy:
        ye = ye[:, None]
    lead = np.broadcast_shapes(xe.shape[:-2], ye.shape[:-2])
    m, k = xe.shape[-2:]
    p = ye.shape[-1]
    xe = np.broadcast_to(xe, lead + (m, k))
    ye = np.broadcast_to(ye, lead + (k, p))
    out = np.empty(lead + (m, p), dtype=object)
    for b in np.ndindex(lead):
        for i in range(m):
            for j in range(p):
                out[b + (i, j)] = _sum_of_products(
                    L, [(xe[b + (i, q)], ye[b + (q, j)]) for q in range(k)], dt
                )
    if vy:
        out = out[..., 0]
    if vx:
        out = out[..., 0, :] if not vy else out[..., 0]
    return Sym(out, dt)


@_rule("einsum")
def _r_einsum(L, node, *ops, spec):
    dt = np.dtype(node.dtype)
    if "..." in spec or "->" not in spec:
        raise CBackendError(f"C backend: einsum spec {spec!r} must be explicit (no ellipsis)")
    lhs, out_s = spec.replace(" ", "").split("->")
    ins = lhs.split(",")
    es = [L.sym(o).e for o in ops]
    dims = {}
    for sub, e in zip(ins, es, strict=True):
        for ch, n in zip(sub, e.shape, strict=True):
            if dims.get(ch, n) != n and n != 1 and dims[ch] != 1:
                raise CBackendError(f"C backend: einsum {spec!r}: sizes of {ch!r} differ")
            dims[ch] = max(dims.get(ch, 1), n)
    summed = [ch for ch in dims if ch not in out_s]
    oshape = tuple(dims[ch] for ch in out_s)
    n_terms = int(np.prod([dims[c] for c in summed], dtype=np.int64)) * max(
        int(np.prod(oshape, dtype=np.int64)), 1
    )
    if n_terms > L.max_statements:
        raise CBackendError(
            f"C backend: einsum {spec!r} needs {n_terms} products; too many to scalarize"
        )
    out = np.empty(oshape, dtype=object)
    for oidx in np.ndindex(oshape):
        env = dict(zip(out_s, oidx, strict=True))
        facs = []
        for sidx in itertools.product(*(range(dims[c]) for c in summed)):
            env.update(zip(summed, sidx, strict=True))
            facs.append(
                [
                    e[tuple(env[ch] if e.shape[i] != 1 else 0 for i, ch in enumerate(sub))]
                    for sub, e in zip(ins, es, strict=True)
                ]
            )
        out[oidx] = _sum_of_products(L, facs, dt)
    return Sym(out, dt)


# ---------------------------------------------------------------- linear algebra
def _float_dt(node, dt):
    dt = np.dtype(dt)
    if dt.kind != "f":
        raise CBackendError(f"C backend: {node.describe()} needs float32 or float64, got {dt}")
    return dt


def _matrix_init(L, elems, dt):
    return "{" + ", ".join(L.c(e, dt) for e in elems) + "}"


def _fill(vs, shape):
    out = np.empty(len(vs), dtype=object)
    for k, v in enumerate(vs):
        out[k] = v
    return out.reshape(shape)


def _lu(L, elems, n, dt):
    """The LU factors of the n x n matrix ``elems`` (row-major): one block per distinct
    matrix (a common subexpression), so det, inv and solves of one matrix factor it once.
    Returns (factors as an n x n array of variables, pivot rows, permutation sign)."""
    ct, s = CTYPES[dt], libm_suffix(dt)
    L.need("lu", dt)
    nn = n * n
    assign = [f"@{k}@ = m_[{k}];" for k in range(nn)]
    assign += [f"@{nn + k}@ = p_[{k}];" for k in range(n)]
    assign.append(f"@{nn + n}@ = s_;")
    outs = L.emit_block(
        [dt] * nn + [np.int32] * (n + 1),
        f"{{ {ct} m_[{nn}] = {_matrix_init(L, elems, dt)}; int p_[{n}]; "
        f"int s_ = adg_lu{s}({n}, m_, p_); {' '.join(assign)} }}",
        elems,
    )
    return _fill(outs[:nn], (n, n)), outs[nn : nn + n], outs[nn + n]


def _lu_solve(L, fac, piv, rhs, dt):
    """``A^{-1} B`` from the factors of ``A`` and the n x m elements of ``B``: the row
    interchanges, then forward and back substitution unrolled (LAPACK getrs's order)."""
    n, m = rhs.shape
    ct = CTYPES[dt]
    rel = list(rhs.reshape(-1))
    code = [f"{{ {ct} r_[{n * m}] = {_matrix_init(L, rel, dt)};"]
    for k in range(n - 1):
        p = piv[k].name
        code.append(
            f"for (int c_ = 0; c_ < {m}; ++c_) {{ {ct} t_ = r_[{k * m} + c_]; "
            f"r_[{k * m} + c_] = r_[{p} * {m} + c_]; r_[{p} * {m} + c_] = t_; }}"
        )
    for c in range(m):
        for i in range(1, n):
            for k in range(i):
                code.append(f"r_[{i * m + c}] -= {fac[i, k].name} * r_[{k * m + c}];")
        for i in range(n - 1, -1, -1):
            for k in range(n - 1, i, -1):
                code.append(f"r_[{i * m + c}] -= {fac[i, k].name} * r_[{k * m + c}];")
            code.append(f"r_[{i * m + c}] /= {fac[i, i].name};")
    code += [f"@{j}@ = r_[{j}];" for j in range(n * m)]
    code.append("}")
    deps = list(fac.reshape(-1)) + list(piv) + rel
    return _fill(L.emit_block([dt] * (n * m), " ".join(code), deps), (n, m))


@_rule("linalg_det", "linalg_slogdet", "linalg_inv")
def _r_lu_family(L, node, a):
    dts = node.dtype if isinstance(node.dtype, tuple) else (node.dtype,)
    dt = _float_dt(node, dts[0])
    ae = L.cast(L.sym(a), dt).e
    n = ae.shape[-1]
    lead = ae.shape[:-2]
    if node.op == "linalg_inv":
        out = np.empty(lead + (n, n), dtype=object)
        eye = objarray(np.eye(n, dtype=dt))
        for b in np.ndindex(lead):
            fac, piv, _ = _lu(L, list(ae[b].reshape(-1)), n, dt)
            out[b] = _lu_solve(L, fac, piv, eye, dt)
        return Sym(out, dt)
    outs = [np.empty(lead, dtype=object) for _ in dts]
    for b in np.ndindex(lead):
        fac, _, sgn = _lu(L, list(ae[b].reshape(-1)), n, dt)
        diag = [fac[k, k] for k in range(n)]
        if node.op == "linalg_det":
            # the permutation's sign times the product of U's diagonal
            outs[0][b] = L.fold("multiply", [_conv(L, sgn, dt)] + diag, dt)
        else:
            signs = [L.scalar("sign", [u], (dt,), dt) for u in diag]
            logs = [
                L.scalar("log", [L.scalar("absolute", [u], (dt,), dt)], (dt,), dt) for u in diag
            ]
            outs[0][b] = L.fold("multiply", [_conv(L, sgn, dt)] + signs, dt)
            outs[1][b] = _conv(L, L.fold("add", logs, dt), dts[1])
    if node.op == "linalg_slogdet":
        return (Sym(outs[0], dts[0]), Sym(outs[1], dts[1]))
    return Sym(outs[0], dt)


def _det_inv(L, ae, dt):
    """(det, inverse) of one n x n matrix of elements from one LU factorisation."""
    n = ae.shape[-1]
    fac, piv, sgn = _lu(L, list(ae.reshape(-1)), n, dt)
    det = L.fold("multiply", [_conv(L, sgn, dt)] + [fac[k, k] for k in range(n)], dt)
    inv = _lu_solve(L, fac, piv, objarray(np.eye(n, dtype=dt)), dt)
    return det, inv


@_rule("linalg_cofactor")
def _r_cofactor(L, node, a):
    # C = det(A) A^{-T} (at a singular matrix this gives inf/nan, as det's inverse does)
    dt = _float_dt(node, node.dtype)
    ae = L.cast(L.sym(a), dt).e
    n = ae.shape[-1]
    out = np.empty(ae.shape, dtype=object)
    for b in np.ndindex(ae.shape[:-2]):
        det, inv = _det_inv(L, ae[b], dt)
        for i in range(n):
            for j in range(n):
                out[b + (i, j)] = L.scalar("multiply", [det, inv[j, i]], (dt, dt), dt)
    return Sym(out, dt)


@_rule("linalg_cofactor_lin")
def _r_cofactor_lin(L, node, a, e):
    # dC[E] = tr(A^{-1} E) C - C E^T A^{-T}, with C = det(A) A^{-T}
    dt = _float_dt(node, node.dtype)
    ae = L.cast(L.sym(a), dt).e
    ee = L.cast(L.sym(e), dt).e
    n = ae.shape[-1]
    lead = np.broadcast_shapes(ae.shape[:-2], ee.shape[:-2])
    ae = np.broadcast_to(ae, lead + (n, n))
    ee = np.broadcast_to(ee, lead + (n, n))
    out = np.empty(lead + (n, n), dtype=object)

    def mul(x, y):
        return L.scalar("multiply", [x, y], (dt, dt), dt)

    for b in np.ndindex(lead):
        det, inv = _det_inv(L, ae[b], dt)
        c = [[mul(det, inv[j, i]) for j in range(n)] for i in range(n)]
        eb = ee[b]
        tr = L.fold("add", [mul(inv[i, k], eb[k, i]) for i in range(n) for k in range(n)], dt)
        for i in range(n):
            for j in range(n):
                cet = L.fold(
                    "add",
                    [mul(mul(c[i][k], eb[m, k]), inv[j, m]) for k in range(n) for m in range(n)],
                    dt,
                )
                out[b + (i, j)] = L.scalar("subtract", [mul(tr, c[i][j]), cet], (dt, dt), dt)
    return Sym(out, dt)


@_rule("linalg_solve")
def _r_solve(L, node, a, b):
    dt = _float_dt(node, node.dtype)
    ae, be = L.cast(L.sym(a), dt).e, L.cast(L.sym(b), dt).e
    n = ae.shape[-1]
    lead = np.broadcast_shapes(ae.shape[:-2], be.shape[:-2])
    ae = np.broadcast_to(ae, lead + ae.shape[-2:])
    be = np.broadcast_to(be, lead + be.shape[-2:])
    out = np.empty(lead + be.shape[-2:], dtype=object)
    for k in np.ndindex(lead):
        fac, piv, _ = _lu(L, list(ae[k].reshape(-1)), n, dt)
        out[k] = _lu_solve(L, fac, piv, be[k], dt)
    return Sym(out, dt)


# ---------------------------------------------------------------- calls (inlined)
def _example_value(a):
    """A value to trace a called function with: the constant, the value recorded while
    tracing, or (a compiled program keeps no values) ones of the node's shape and dtype --
    the function is straight-line (guards are refused), so any value of the right shape
    gives the same graph."""
    v = a.value
    if v is None and isinstance(a, Node):
        return np.ones(tuple(a.shape or ()), dtype=a.dtype)
    return np.asarray(v) if not hasattr(v, "shape") else v


@_rule("custom_jvp_call", "custom_vjp_call", "checkpoint")
def _r_call(L, node, *args, fun, **params):
    vals = [_example_value(a) for a in node.inputs]
    leaves, in_tree = tree_flatten(tuple(vals))
    with np.errstate(all="ignore"):  # example values only fix the graph
        graph, guards, closures = trace_for_jit(fun, leaves, in_tree)
    if guards or closures:
        raise CBackendError(
            f"C backend: the function called by {node.describe()} branches on traced values "
            "or closes over traced values; it cannot be inlined"
        )
    graph, _ = simplify(graph)
    where = L.where
    syms = [a if isinstance(a, Sym) else L.sym(a) for a in args]
    outs = L.lower(graph, syms)
    L.where = where
    return tuple(outs)


@_rule("jit_call")
def _r_jit_call(L, node, *args, compiled):
    """A jit-compiled function called inside: its simplified graph is inlined."""
    if compiled.has_guards:
        raise CBackendError(
            f"C backend: the jit function called by {node.describe()} branches on traced "
            "values; the C backend compiles straight-line code only (use anp.where)"
        )
    where = L.where
    outs = L.lower(compiled.graph, [L.sym(a) for a in args])
    L.where = where
    return tuple(outs)
