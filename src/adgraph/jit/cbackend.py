r"""C backend: graphs of scalars and small fixed-size arrays compiled to native code.

``compile_c(f, *example_args)`` traces ``f`` -- which may itself be a derivative program
such as ``ad.grad(psi)`` or ``ad.jacfwd(stress)`` -- into the graph IR, simplifies it, and
**scalarizes** it: every node of shape ``()`` or a small fixed shape becomes one C scalar
variable per element, so the whole program is straight-line C code over scalars. That code
is wrapped in a loop over a leading batch axis::

    void f(long n, const long* in_strides,
           const double* in0, const double* in1, ...,   /* (n, *leaf_shape), C order */
           double* out0, ...)                            /* (n, *out_shape),  C order */

compiled with the system C compiler, loaded with :mod:`ctypes` and called with NumPy
arrays: a material law's stress and tangent over a million points is one C call (split
over threads for large batches). ``in_strides[k]`` is the number of elements between
consecutive points of input ``k`` -- its per-point size, or 0 for an input shared by
every point.

Scalarization
-------------
Each node's value is held, while lowering, as an object array of its shape whose elements
are C scalar variables or literal constants. Operations that only move data (reshape,
transpose, broadcasting, basic and constant-index ``getitem``, slices, padding, diagonals,
concatenation, splitting) cost nothing: they rearrange that array. Elementwise operations
emit one C statement per element, with NumPy's type promotion (``ufunc.resolve_dtypes``)
and NumPy's semantics (``maximum`` propagates nan, ``sign``, ``logaddexp``, ``mod`` and
``floor_divide`` follow NumPy's formulas). Reductions, ``matmul`` and ``einsum`` become sums
of products; ``det``, ``slogdet``, ``inv`` and ``solve`` call small LU routines (partial
pivoting, as LAPACK) on local arrays. Elements that are constants are folded with NumPy
itself; ``x + 0``, ``x * 1`` and ``x / 1`` are dropped; equal statements are computed once
and unused ones are removed. ``0 * x`` is *kept* (it is nan for infinite ``x``) unless
``assume_finite=True``.

The C code keeps IEEE semantics: it is compiled without ``-ffast-math`` and with
``-ffp-contract=off`` (no fused multiply-adds), so results match NumPy's to rounding
(math-library functions may differ from NumPy's own in the last bit).

Compiled libraries are kept between processes in a private cache folder (see
:func:`cache_dir`): created 0700, refused when someone else owns it or may write it, each
library checked against the SHA-256 recorded when it was built before it is loaded (a
mismatch is rebuilt), and trimmed to the most recently used :data:`CACHE_MAX_LIBRARIES`
libraries and :data:`CACHE_MAX_BYTES` bytes.

Without a C compiler, :func:`compile_c` warns (:class:`CCompilerWarning`) and returns a
function with the same calling convention and results that runs ``adgraph.jit`` (of
``adgraph.vmap`` for batches) of the function instead.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import itertools
import math
import os
import platform
import re
import shlex
import shutil
import stat as _stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

from ..core.pytree import tree_flatten, tree_unflatten
from ..graph.ir import Const, Node
from .codegen import UFUNCS, display_name, function_name, identifier
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = [
    "compile_c",
    "c_source",
    "CFunction",
    "CFallbackFunction",
    "CKernel",
    "lower_to_c",
    "find_c_compiler",
    "CBackendError",
    "CCompileError",
    "CCompilerWarning",
    "CCacheWarning",
    "cache_dir",
    "CACHE_MAX_LIBRARIES",
    "CACHE_MAX_BYTES",
    "MAX_NODE_SIZE",
    "MAX_STATEMENTS",
]

#: Default limit on the number of elements of one node (a 3x3x3x3 tangent has 81).
MAX_NODE_SIZE = 256
#: Default limit on the number of C statements of one program.
MAX_STATEMENTS = 200_000


class CBackendError(ValueError):
    """The function cannot be compiled to C (unsupported primitive, shape, dtype or
    control flow)."""


class CCompileError(RuntimeError):
    """The C compiler failed on the generated source."""


class CCompilerWarning(UserWarning):
    """No C compiler was found: the Python backend runs instead."""


class CCacheWarning(UserWarning):
    """The folder of compiled libraries is not private to this user (see
    :func:`cache_dir`): a private temporary folder is used instead."""


# ============================================================================ C types
_CTYPE = {
    np.dtype(np.bool_): "_Bool",
    np.dtype(np.int8): "int8_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int64): "int64_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.uint16): "uint16_t",
    np.dtype(np.uint32): "uint32_t",
    np.dtype(np.uint64): "uint64_t",
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
}


def _ctype(dt) -> str:
    dt = np.dtype(dt)
    try:
        return _CTYPE[dt]
    except KeyError:
        kind = "complex numbers" if dt.kind == "c" else f"dtype {dt}"
        raise CBackendError(
            f"C backend: {kind} are not supported (float32, float64, integers and bool "
            "are); use adgraph.jit for this function"
        ) from None


def _suffix(dt) -> str:
    """The libm suffix of a floating dtype: ``expf`` for float32, ``exp`` for float64."""
    return "f" if np.dtype(dt) == np.float32 else ""


# ============================================================================ elements
class _Var:
    """A C scalar variable holding one element."""

    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name = name
        self.dtype = dtype

    def __repr__(self):
        return f"{self.name}:{self.dtype}"


class _Lit:
    """A constant element: a NumPy scalar (its dtype is the element's dtype)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    @property
    def dtype(self):
        return self.value.dtype

    def __repr__(self):
        return repr(self.value)


def _cast_value(v, dt):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(v).astype(dt)[()]


def _lit(value, dt) -> _Lit:
    return _Lit(_cast_value(value, dt))


def _fmt_lit(v) -> str:
    """C source for a NumPy scalar, exact (round-trip) for floats."""
    dt = v.dtype
    if dt.kind == "b":
        return "1" if bool(v) else "0"
    if dt.kind in "iu":
        iv = int(v)
        ct = _CTYPE[np.dtype(dt)]
        if dt.kind == "i" and iv == np.iinfo(dt).min:
            return f"(({ct})({iv + 1}LL - 1))"
        return f"(({ct}){iv}{'ULL' if dt.kind == 'u' else 'LL'})"
    f = float(v)
    f32 = dt == np.float32
    if math.isnan(f):
        return "((float)NAN)" if f32 else "((double)NAN)"
    if math.isinf(f):
        s = "INFINITY" if f > 0 else "(-INFINITY)"
        return f"((float){s})" if f32 else f"((double){s})"
    s = repr(f)
    if f32:
        s += "f"
    return f"({s})" if f < 0 or s.startswith("-") else s


class _Sym:
    """A node's value while lowering: an object array of elements and its dtype."""

    __slots__ = ("e", "dtype")

    def __init__(self, e, dtype):
        self.e = e
        self.dtype = np.dtype(dtype)

    @property
    def shape(self):
        return self.e.shape

    @property
    def ndim(self):
        return self.e.ndim

    @property
    def size(self):
        return self.e.size

    def __repr__(self):
        return f"_Sym({self.dtype}{list(self.shape)})"


def _objarray(x) -> np.ndarray:
    """``x`` as an object ndarray (a single element becomes a 0-d array)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            out[idx] = _Lit(x[idx])
        return out
    out = np.empty((), dtype=object)
    out[()] = x
    return out


# ============================================================================ statements
class _Stmt:
    """One statement: ``outs`` defined by ``code`` (an expression for one output, or a
    block assigning several), reading the variables named in ``deps``."""

    __slots__ = ("outs", "code", "deps", "block")

    def __init__(self, outs, code, deps, block=False):
        self.outs = outs
        self.code = code
        self.deps = deps
        self.block = block


# Templates of elementwise operations on floating loops. ``{s}`` is the libm suffix,
# ``{0}``, ``{1}`` the operands converted to the loop dtype.
_FLOAT_OPS = {
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
_INT_OPS = {
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
_BOOL_OPS = dict(
    _INT_OPS,
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
    del _BOOL_OPS[_k]


# C helpers, by name; ``real_t`` stands for the C type, ``SFX`` for the libm suffix.
_HELPER_SRC = {
    "sign": """static inline real_t adg_signSFX(real_t x) {
    return x > 0 ? (real_t)1 : (x < 0 ? (real_t)-1 : (x == 0 ? (real_t)0 : x));
}""",
    "maximum": """static inline real_t adg_maximumSFX(real_t a, real_t b) { return (a > b || a != a) ? a : b; }""",
    "minimum": """static inline real_t adg_minimumSFX(real_t a, real_t b) { return (a < b || a != a) ? a : b; }""",
    "logaddexp": """static inline real_t adg_logaddexpSFX(real_t x, real_t y) {
    if (x == y) return x + (real_t)0.693147180559945309417232121458176568;
    real_t d = x - y;
    if (d > 0) return x + log1pSFX(expSFX(-d));
    if (d <= 0) return y + log1pSFX(expSFX(d));
    return d;
}""",
    "logaddexp2": """static inline real_t adg_logaddexp2SFX(real_t x, real_t y) {
    if (x == y) return x + (real_t)1;
    real_t d = x - y;
    if (d > 0) return x + (real_t)1.442695040888963407359924681001892137 * log1pSFX(exp2SFX(-d));
    if (d <= 0) return y + (real_t)1.442695040888963407359924681001892137 * log1pSFX(exp2SFX(d));
    return d;
}""",
    "divmod": """static inline real_t adg_divmodSFX(real_t a, real_t b, real_t* mod) {
    real_t m = fmodSFX(a, b), div, fl;
    if (!b) { *mod = m; return a / b; }
    div = (a - m) / b;
    if (m) { if ((b < 0) != (m < 0)) { m += b; div -= (real_t)1; } }
    else { m = copysignSFX((real_t)0, b); }
    if (div) { fl = floorSFX(div); if (div - fl > (real_t)0.5) fl += (real_t)1; }
    else { fl = copysignSFX((real_t)0, a / b); }
    *mod = m;
    return fl;
}""",
    "floor_divide": """static inline real_t adg_floor_divideSFX(real_t a, real_t b) {
    real_t m;
    if (!b) return a / b;
    return adg_divmodSFX(a, b, &m);
}""",
    "remainder": """static inline real_t adg_remainderSFX(real_t a, real_t b) {
    real_t m;
    if (!b) return fmodSFX(a, b);
    adg_divmodSFX(a, b, &m);
    return m;
}""",
    "heaviside": """static inline real_t adg_heavisideSFX(real_t x, real_t h) {
    if (x != x) return x;
    if (x == 0) return h;
    return x < 0 ? (real_t)0 : (real_t)1;
}""",
    "polygamma_core": """/* psi^(n)(x): the recurrence psi^(n)(x) = psi^(n)(x+1) + (-1)^(n+1) n!/x^(n+1) up to
   x >= 10 + 2n, then the asymptotic series; digamma of negative x by reflection. */
static double adg_polygamma_core(int n, double x) {
    static const double B[10] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66,
        -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330};
    const double pi = 3.141592653589793238462643383279502884;
    if (x != x) return x;
    if (x <= 0 && x == floor(x)) {
        if (n > 0) return (n % 2) ? INFINITY : -INFINITY;
        return x == 0 ? (signbit(x) ? INFINITY : -INFINITY) : NAN;
    }
    if (n == 0 && x < 0) return adg_polygamma_core(0, 1 - x) - pi / tan(pi * x);
    double fact = 1, sgn = (n % 2) ? 1.0 : -1.0, shift = 0;
    for (int k = 2; k <= n; ++k) fact *= k;
    while (x < 10 + 2 * n) { shift += pow(x, -(n + 1)); x += 1; }
    double asym;
    if (n == 0) {
        double y2 = 1 / (x * x), p = y2, s = 0;
        for (int k = 1; k <= 10; ++k) { s += B[k - 1] / (2 * k) * p; p *= y2; }
        asym = log(x) - 0.5 / x - s;
    } else {
        double s = fact / n / pow(x, n) + fact / (2 * pow(x, n + 1));
        double c = fact / n; /* (2k+n-1)!/(2k)! built incrementally from (n-1)! */
        double p = pow(x, -n);
        for (int k = 1; k <= 10; ++k) {
            c *= (double)(2 * k + n - 2) * (2 * k + n - 1) / ((2 * k - 1) * (2 * k));
            p /= x * x;
            s += B[k - 1] * c * p;
        }
        asym = sgn * s;
    }
    return asym + sgn * fact * shift;
}""",
    "polygamma": """static inline real_t adg_polygammaSFX(int n, real_t x) { return (real_t)adg_polygamma_core(n, (double)x); }""",
    "lu": """/* In-place LU factorisation of the row-major n x n matrix a, with partial pivoting
   (the row of largest |a_ik| below the diagonal, the first on ties, as LAPACK); returns the
   sign of the row permutation. A zero pivot is left in place (a singular factor). */
static int adg_luSFX(int n, real_t* a, int* piv) {
    int sign = 1;
    for (int k = 0; k < n; ++k) {
        int p = k;
        real_t big = fabsSFX(a[k * n + k]);
        for (int i = k + 1; i < n; ++i) {
            real_t v = fabsSFX(a[i * n + k]);
            if (v > big) { big = v; p = i; }
        }
        piv[k] = p;
        if (p != k) {
            for (int j = 0; j < n; ++j) {
                real_t t = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = t;
            }
            sign = -sign;
        }
        real_t d = a[k * n + k];
        if (d != 0) {
            for (int i = k + 1; i < n; ++i) {
                real_t l = a[i * n + k] / d;
                a[i * n + k] = l;
                for (int j = k + 1; j < n; ++j) a[i * n + j] -= l * a[k * n + j];
            }
        }
    }
    return sign;
}""",
}
_HELPER_DEPS = {
    "floor_divide": ("divmod",),
    "remainder": ("divmod",),
    "polygamma": ("polygamma_core",),
}
_HELPER_ORDER = list(_HELPER_SRC)


def _helper_code(name, dt) -> str:
    return _HELPER_SRC[name].replace("real_t", _CTYPE[np.dtype(dt)]).replace("SFX", _suffix(dt))


# ============================================================================ lowering
class _Lowering:
    """Turns a graph into C statements over scalars (see the module documentation)."""

    def __init__(
        self, *, max_node_size=MAX_NODE_SIZE, max_statements=MAX_STATEMENTS, assume_finite=False
    ):
        self.stmts: list[_Stmt] = []
        self.cse: dict = {}
        self.helpers: set = set()
        self.count = 0
        self.max_node_size = max_node_size
        self.max_statements = max_statements
        self.assume_finite = assume_finite
        self.where = ""  # the node being lowered, for error messages

    # ---------------------------------------------------------------- statements
    def _new_name(self):
        self.count += 1
        return f"t{self.count}"

    def c(self, e, dt) -> str:
        """C expression for element ``e`` converted to dtype ``dt`` (NumPy's cast)."""
        dt = np.dtype(dt)
        if isinstance(e, _Lit):
            return _fmt_lit(_cast_value(e.value, dt))
        if e.dtype == dt:
            return e.name
        return f"(({_ctype(dt)}){e.name})"

    def emit(self, dt, code, deps) -> _Var:
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
        v = _Var(self._new_name(), dt)
        self.stmts.append(_Stmt([v], code, tuple(d.name for d in deps if isinstance(d, _Var))))
        self.cse[key] = v
        return v

    def emit_block(self, dts, code, deps) -> list:
        """A statement defining several variables, written ``@0@``, ``@1@``... in
        ``code`` (a C block)."""
        key = ("block", tuple(np.dtype(d).str for d in dts), code)
        got = self.cse.get(key)
        if got is not None:
            return got
        outs = [_Var(self._new_name(), np.dtype(d)) for d in dts]
        body = code
        for k, o in enumerate(outs):
            body = body.replace(f"@{k}@", o.name)
        self.stmts.append(
            _Stmt(outs, body, tuple(d.name for d in deps if isinstance(d, _Var)), block=True)
        )
        self.cse[key] = outs
        return outs

    def need(self, helper, dt):
        if helper.endswith("_core"):  # written in double, once
            dt = np.float64
        for d in _HELPER_DEPS.get(helper, ()):
            self.need(d, dt)
        self.helpers.add((helper, np.dtype(dt).str))

    # ---------------------------------------------------------------- elements
    def scalar(self, op, elems, loop, out_dt):
        """One element of elementwise operation ``op`` (a NumPy ufunc name or a name in
        the templates), operands converted to the loop dtypes ``loop``."""
        out_dt = np.dtype(out_dt)
        if all(isinstance(e, _Lit) for e in elems):
            folded = self._fold(op, elems, loop, out_dt)
            if folded is not None:
                return folded
        same = [isinstance(e, _Var) and e.dtype == out_dt for e in elems]
        if op in ("add", "subtract", "multiply", "divide") and len(elems) == 2:
            a, b = elems
            if op == "add" and _is_lit(a, 0) and same[1]:
                return b
            if op in ("add", "subtract") and _is_lit(b, 0) and same[0]:
                return a
            if op == "multiply" and _is_lit(a, 1) and same[1]:
                return b
            if op in ("multiply", "divide") and _is_lit(b, 1) and same[0]:
                return a
            if op == "multiply" and self.assume_finite and out_dt.kind == "f":
                if _is_lit(a, 0) or _is_lit(b, 0):
                    return _lit(0, out_dt)
        kind = np.dtype(loop[0]).kind if loop else out_dt.kind
        if kind == "f":
            table = _FLOAT_OPS
        elif kind == "b":
            table = _BOOL_OPS
        elif kind in "iu":
            table = _INT_OPS
        else:
            _ctype(loop[0])
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
        args = [self.c(e, dt) for e, dt in zip(elems, loop, strict=True)]
        fmt = {"s": ""}
        if kind == "f":
            ldt = np.dtype(loop[0])
            fmt = {
                "s": _suffix(ldt),
                "one": _fmt_lit(ldt.type(1)),
                "deg": _fmt_lit(_cast_value(math.pi / 180.0, ldt)),
                "rad": _fmt_lit(_cast_value(180.0 / math.pi, ldt)),
            }
            if "adg_" in tmpl:
                name = tmpl.split("adg_", 1)[1].split("{", 1)[0]
                self.need(name, ldt)
        code = tmpl.format(*args, **fmt)
        return self.emit(out_dt, code, elems)

    def _fold(self, op, elems, loop, out_dt):
        uf = getattr(np, op, None)
        if not isinstance(uf, np.ufunc):
            return None
        vals = [_cast_value(e.value, dt) for e, dt in zip(elems, loop, strict=True)]
        with np.errstate(all="ignore"):
            r = uf(*vals)
        return _lit(r, out_dt)

    # ---------------------------------------------------------------- arrays
    def const(self, value, dtype=None) -> _Sym:
        """A constant argument as a _Sym of literals."""
        a = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        _ctype(a.dtype)
        return _Sym(_objarray(a), a.dtype)

    def sym(self, x, dtype=None) -> _Sym:
        """A node value or a Const as a _Sym (Python scalars take ``dtype``)."""
        if isinstance(x, _Sym):
            return x
        if isinstance(x, Const):
            x = x.value
        if isinstance(x, (bool, int, float)) and dtype is not None:
            return self.const(x, dtype)
        return self.const(x)

    def map(self, op, args, loop, out_dt, shape=None) -> _Sym:
        """Elementwise ``op`` over broadcast _Sym arguments."""
        if shape is None:
            shape = np.broadcast_shapes(*(a.shape for a in args))
        es = [np.broadcast_to(a.e, shape) for a in args]
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            out[idx] = self.scalar(op, [e[idx] for e in es], loop, out_dt)
        return _Sym(out, out_dt)

    def ufunc(self, name, *args, out_dtype=None) -> _Sym:
        """NumPy ufunc ``name`` on _Syms, Consts and Python scalars, NumPy's promotion."""
        uf = getattr(np, name)
        name = uf.__name__  # the canonical name: abs -> absolute, mod -> remainder
        vals = [a.value if isinstance(a, Const) else a for a in args]
        key = []
        for v in vals:
            if isinstance(v, _Sym):
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
        syms = [v if isinstance(v, _Sym) else self.const(v, dt) for v, dt in zip(vals, loop)]
        return self.map(name, syms, loop, out_dt)

    def unary(self, name, x, dt) -> _Sym:
        """A template operation computed in dtype ``dt`` (non-ufunc functions)."""
        return self.map(name, [self.sym(x, dt)], (np.dtype(dt),), dt)

    def cast(self, x: _Sym, dt) -> _Sym:
        dt = np.dtype(dt)
        if x.dtype == dt and all(e.dtype == dt for e in x.e.flat):
            return x
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            e = x.e[idx]
            if isinstance(e, _Lit):
                out[idx] = _lit(e.value, dt)
            elif e.dtype == dt:
                out[idx] = e
            else:
                out[idx] = self.emit(dt, self.c(e, dt), [e])
        return _Sym(out, dt)

    def normalize(self, arr, dt) -> _Sym:
        """An object array from a data-movement operation: fill values (Python numbers
        such as padding zeros) become literals, every element is cast to ``dt``."""
        arr = _objarray(arr)
        out = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            e = arr[idx]
            if not isinstance(e, (_Var, _Lit)):
                e = _lit(e, dt)
            out[idx] = e
        return self.cast(_Sym(out, dt), dt)

    def fold(self, op, elems, dt):
        """``op`` over a sequence of elements, left to right (empty: None)."""
        acc = None
        for e in elems:
            acc = e if acc is None else self.scalar(op, [acc, e], (dt, dt), dt)
        return acc

    # ---------------------------------------------------------------- graphs
    def lower(self, graph, inputs) -> list:
        """The _Sym of every output of ``graph`` given the _Syms of its inputs."""
        env = dict(zip(graph.inputs, inputs, strict=True))
        for node in graph.toposort():
            if node.is_input:
                continue
            self.where = f"{node.describe()}"
            self._check_size(node)
            args = [env[i] if isinstance(i, Node) else i for i in node.inputs]
            if node.op == "item":
                env[node] = args[0][node.params["index"]]
                continue
            rule = _RULES.get(node.op)
            if rule is None:
                rule = _impl_rule
            res = rule(self, node, *args, **node.params)
            env[node] = self._fit(node, res)
        outs = []
        for o in graph.outputs:
            if isinstance(o, Node):
                outs.append(env[o])
            else:
                outs.append(self.const(o.value))
        return outs

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
            if dt is not None and np.dtype(dt) not in _CTYPE:
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
        if not isinstance(r, _Sym):
            raise CBackendError(f"C backend: the lowering of {node.describe()} failed")
        if shape is not None and tuple(r.shape) != tuple(shape):
            raise CBackendError(
                f"C backend: internal error lowering {node.describe()}: shape {r.shape}, "
                f"expected {tuple(shape)}"
            )
        if dtype is not None and np.dtype(dtype) != r.dtype:
            r = self.cast(r, dtype)
        return r


def _is_lit(e, v) -> bool:
    return isinstance(e, _Lit) and e.value == v and not np.isnan(e.value)


# ============================================================================ rules
_RULES: dict = {}


def _rule(*names):
    def deco(f):
        for n in names:
            _RULES[n] = f
        return f

    return deco


# primitive -> NumPy ufunc computing it: the table the Python code generator uses too.
_UFUNC_PRIMS = UFUNCS


def _make_ufunc_rule(ufname):
    def rule(L, node, *args):
        return L.ufunc(ufname, *args)

    return rule


for _p, _u in _UFUNC_PRIMS.items():
    _RULES[_p] = _make_ufunc_rule(_u)


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
        out[idx] = L.emit(dt, f"adg_polygamma{_suffix(dt)}({int(n)}, {L.c(e, dt)})", [e])
    return _Sym(out, dt)


@_rule("integer_pow")
def _r_integer_pow(L, node, x, *, n):
    dt = np.dtype(node.dtype)
    xs = L.cast(L.sym(x, dt), dt)
    out = np.empty(xs.shape, dtype=object)
    for idx in np.ndindex(xs.shape):
        e = xs.e[idx]
        if isinstance(e, _Lit):
            with np.errstate(all="ignore"):
                out[idx] = _lit(np.power(e.value, n) if n != 2 else e.value * e.value, dt)
        elif n == 1:
            out[idx] = e
        elif n == 2:
            out[idx] = L.scalar("multiply", [e, e], (dt, dt), dt)
        elif n == -1 and dt.kind == "f":
            out[idx] = L.scalar("divide", [_lit(1, dt), e], (dt, dt), dt)
        else:
            out[idx] = L.scalar("power", [e, _lit(n, dt)], (dt, dt), dt)
    return _Sym(out, dt)


@_rule("where")
def _r_where(L, node, c, x, y):
    dt = np.dtype(node.dtype)
    cs = L.cast(L.sym(c, np.bool_), np.bool_)
    xs, ys = L.cast(L.sym(x, dt), dt), L.cast(L.sym(y, dt), dt)
    shape = np.broadcast_shapes(cs.shape, xs.shape, ys.shape)
    ce, xe, ye = (np.broadcast_to(s.e, shape) for s in (cs, xs, ys))
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        ci, xi, yi = ce[idx], xe[idx], ye[idx]
        if isinstance(ci, _Lit):
            out[idx] = xi if bool(ci.value) else yi
        elif xi is yi or (isinstance(xi, _Lit) and isinstance(yi, _Lit) and _same_lit(xi, yi)):
            out[idx] = xi
        else:
            code = f"({ci.name} ? {L.c(xi, dt)} : {L.c(yi, dt)})"
            out[idx] = L.emit(dt, code, [ci, xi, yi])
    return _Sym(out, dt)


def _same_lit(a, b) -> bool:
    va, vb = a.value, b.value
    return va.dtype == vb.dtype and va.tobytes() == vb.tobytes()


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
    safe = _r_where(L, _Meta(xs.shape, dt), zero, Const(1.0e-20), xs)
    y = L.ufunc("multiply", safe, Const(_cast_value(math.pi, dt)))
    return L.ufunc("divide", L.ufunc("sin", y), y)


@_rule("round")
def _r_round(L, node, x, *, decimals):
    dt = np.dtype(node.dtype)
    xs = L.sym(x, dt)
    if dt.kind != "f":
        return xs
    if decimals >= 0:
        f = Const(_cast_value(10.0**decimals, dt))
        return L.ufunc("divide", L.ufunc("rint", L.ufunc("multiply", xs, f)), f)
    f = Const(_cast_value(10.0 ** (-decimals), dt))
    return L.ufunc("multiply", L.ufunc("rint", L.ufunc("divide", xs, f)), f)


class _Meta:
    """Shape and dtype of an intermediate, for rules called from other rules."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype


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
        if isinstance(a, _Sym):
            raise CBackendError(
                f"C backend: {node.describe()} indexes with computed index arrays; only "
                "integers, slices, None, Ellipsis and constant index arrays can be compiled "
                "to straight-line C code"
            )
        out.append(a.value)
    return out


def _r_movement(L, node, *args, **params):
    objs = [L.sym(a).e if isinstance(a, _Sym) else _objarray(np.asarray(a.value)) for a in args]
    res = node.prim.impl(np, *objs, **params)
    dts = node.dtype
    if isinstance(res, tuple):
        return tuple(L.normalize(r, d) for r, d in zip(res, dts, strict=True))
    return L.normalize(res, dts)


for _p in _MOVEMENT:
    _RULES[_p] = _r_movement


@_rule("getitem")
def _r_getitem(L, node, x, *arrays, skel):
    from ..ops.indexing import join_index

    idx = join_index(skel, _index_args(node, (x, *arrays), 1, 1 + len(arrays)))
    return L.normalize(L.sym(x).e[idx], node.dtype)


@_rule("scatter")
def _r_scatter(L, node, x, *rest, skel):
    from ..ops.indexing import join_index

    dt = np.dtype(node.dtype)
    idx = join_index(skel, _index_args(node, (x, *rest), 1, len(rest)))
    out = L.cast(L.sym(x, dt), dt).e.copy()
    v = L.cast(L.sym(rest[-1], dt), dt).e
    # A 0-d object array assigned to one position would be stored as the element itself.
    out[idx] = v[()] if v.ndim == 0 else v
    return L.normalize(out, dt)


@_rule("scatter_add", "scatter_mul", "scatter_min", "scatter_max")
def _r_scatter_acc(L, node, x, *rest, skel):
    from ..ops.indexing import join_index

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
    return _Sym(flat.reshape(xs.shape), dt)


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
def _rows(x: _Sym, axis):
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
    return _Sym(out, dt)


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
            return _lit(empty, dt)
        return L.fold(op, elems, dt)

    return _reduce(L, node, xs, axis, keepdims, combine)


def _conv(L, e, dt):
    """Element ``e`` converted to ``dt``."""
    dt = np.dtype(dt)
    if isinstance(e, _Lit):
        return _lit(e.value, dt)
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
        m = _r_where(
            L, _Meta((), dt), _Sym(_objarray(fin), np.bool_), _Sym(_objarray(m), dt), Const(0.0)
        ).e[()]
        terms = [L.scalar("exp", [L.scalar("subtract", [e, m], f, dt)], (dt,), dt) for e in elems]
        s = L.fold("add", terms, dt)
        return L.scalar("add", [L.scalar("log", [s], (dt,), dt), m], f, dt)

    return _reduce(L, node, L.sym(a), axis, keepdims, combine)


@_rule("reduce_var")
def _r_var(L, node, x, *, axis, keepdims, ddof):
    dt = np.dtype(node.dtype)
    f = (dt, dt)

    def combine(elems):
        elems = [_conv(L, e, dt) for e in elems]
        n = len(elems)
        mean = L.scalar("divide", [L.fold("add", elems, dt), _lit(n, dt)], f, dt)
        dev = [L.scalar("subtract", [e, mean], f, dt) for e in elems]
        sq = [L.scalar("multiply", [d, d], f, dt) for d in dev]
        return L.scalar("divide", [L.fold("add", sq, dt), _lit(max(n - ddof, 0), dt)], f, dt)

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
    return _Sym(np.moveaxis(out, -1, ax), dt)


# ---------------------------------------------------------------- products
def _sum_of_products(L, factor_lists, dt):
    """sum_k prod_j factors[k][j] with the loop dtype ``dt``."""
    terms = [L.fold("multiply", [_conv(L, f, dt) for f in fs], dt) for fs in factor_lists]
    if not terms:
        return _lit(0, dt)
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
    return _Sym(out, dt)


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
    return _Sym(out, dt)


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
    ct, s = _CTYPE[dt], _suffix(dt)
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
    ct = _CTYPE[dt]
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
        eye = _objarray(np.eye(n, dtype=dt))
        for b in np.ndindex(lead):
            fac, piv, _ = _lu(L, list(ae[b].reshape(-1)), n, dt)
            out[b] = _lu_solve(L, fac, piv, eye, dt)
        return _Sym(out, dt)
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
        return (_Sym(outs[0], dts[0]), _Sym(outs[1], dts[1]))
    return _Sym(outs[0], dt)


def _det_inv(L, ae, dt):
    """(det, inverse) of one n x n matrix of elements from one LU factorisation."""
    n = ae.shape[-1]
    fac, piv, sgn = _lu(L, list(ae.reshape(-1)), n, dt)
    det = L.fold("multiply", [_conv(L, sgn, dt)] + [fac[k, k] for k in range(n)], dt)
    inv = _lu_solve(L, fac, piv, _objarray(np.eye(n, dtype=dt)), dt)
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
    return _Sym(out, dt)


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
    return _Sym(out, dt)


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
    return _Sym(out, dt)


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
    syms = [a if isinstance(a, _Sym) else L.sym(a) for a in args]
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


# ---------------------------------------------------------------- NumPy-like fallback
def _impl_rule(L, node, *args, **params):
    """Any other primitive: run its implementation on symbolic arrays (an elementwise
    composition of NumPy functions, such as ``expit`` or ``xlogy``), or refuse it."""
    if node.prim is None or node.multiple_results:
        raise _unsupported(node)
    xp = _SymXP(L)
    try:
        wrapped = [_SymArray(xp, L.sym(a)) if isinstance(a, _Sym) else _weak(a) for a in args]
        res = node.prim.impl(xp, *wrapped, **params)
    except CBackendError:
        raise
    except Exception:
        raise _unsupported(node) from None
    if not isinstance(res, _SymArray):
        raise _unsupported(node)
    return res.s


def _weak(c):
    v = c.value if isinstance(c, Const) else c
    return v


def _unsupported(node):
    return CBackendError(
        f"C backend: primitive {node.op!r} ({node.describe()}) cannot be compiled to C; "
        "supported are elementwise arithmetic and math functions, comparisons and logical "
        "operations, where, casts, reductions, reshapes, transposes, broadcasting, basic and "
        "constant-index indexing, concatenation, matmul, einsum, det, slogdet, inv and solve. "
        "Use adgraph.jit for this function, or rewrite it with supported operations"
    )


class _SymXP:
    """A NumPy-like namespace over _SymArray, for implementations written with ``xp``."""

    __name__ = "adgraph.jit.cbackend.symbolic"

    def __init__(self, L):
        self._L = L

    def __getattr__(self, name):
        if isinstance(getattr(np, name, None), np.ufunc):
            L = self._L

            def f(*args, **kw):
                if kw:
                    raise CBackendError(f"C backend: {name} with keywords {sorted(kw)}")
                return _SymArray(self, L.ufunc(name, *[_unwrap(L, a) for a in args]))

            return f
        if name == "abs":
            return self.absolute
        raise AttributeError(name)

    def where(self, c, x, y):
        L = self._L
        cx, xx, yx = (_unwrap(L, v) for v in (c, x, y))
        dt = np.result_type(*[v.dtype if isinstance(v, _Sym) else v for v in (xx, yx)])
        shape = np.broadcast_shapes(
            *[np.shape(v.e) if isinstance(v, _Sym) else () for v in (cx, xx, yx)]
        )
        return _SymArray(self, _r_where(L, _Meta(shape, dt), cx, _as_c(xx), _as_c(yx)))

    def asarray(self, x, dtype=None):
        s = _unwrap(self._L, x)
        if not isinstance(s, _Sym):
            s = self._L.const(s, dtype)
        return _SymArray(self, self._L.cast(s, dtype) if dtype is not None else s)


def _as_c(v):
    return v if isinstance(v, _Sym) else Const(v)


def _unwrap(L, a):
    if isinstance(a, _SymArray):
        return a.s
    if isinstance(a, (bool, np.bool_)):
        return L.const(np.bool_(a))
    if isinstance(a, (int, float)):
        return a
    if isinstance(a, (np.ndarray, np.generic)):
        return L.const(a)
    raise CBackendError(f"C backend: cannot use a {type(a).__name__} in symbolic code")


class _SymArray:
    """A _Sym with NumPy operators (for the fallback above)."""

    __array_priority__ = 1000

    def __init__(self, xp, s):
        self.xp = xp
        self.s = s

    shape = property(lambda self: self.s.shape)
    ndim = property(lambda self: self.s.ndim)
    dtype = property(lambda self: self.s.dtype)

    def _u(self, name, *args):
        return getattr(self.xp, name)(*args)

    def __add__(self, o):
        return self._u("add", self, o)

    def __radd__(self, o):
        return self._u("add", o, self)

    def __sub__(self, o):
        return self._u("subtract", self, o)

    def __rsub__(self, o):
        return self._u("subtract", o, self)

    def __mul__(self, o):
        return self._u("multiply", self, o)

    def __rmul__(self, o):
        return self._u("multiply", o, self)

    def __truediv__(self, o):
        return self._u("divide", self, o)

    def __rtruediv__(self, o):
        return self._u("divide", o, self)

    def __pow__(self, o):
        if type(o) is int and o == 2:
            return self._u("square", self)
        return self._u("power", self, o)

    def __neg__(self):
        return self._u("negative", self)

    def __lt__(self, o):
        return self._u("less", self, o)

    def __le__(self, o):
        return self._u("less_equal", self, o)

    def __gt__(self, o):
        return self._u("greater", self, o)

    def __ge__(self, o):
        return self._u("greater_equal", self, o)

    def __eq__(self, o):
        return self._u("equal", self, o)

    def __ne__(self, o):
        return self._u("not_equal", self, o)

    def __and__(self, o):
        return self._u("bitwise_and", self, o)

    def __or__(self, o):
        return self._u("bitwise_or", self, o)

    def __invert__(self):
        return self._u("invert", self)

    __hash__ = None

    def astype(self, dtype):
        return _SymArray(self.xp, self.xp._L.cast(self.s, dtype))


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
    graph,
    *,
    name=None,
    max_node_size=MAX_NODE_SIZE,
    max_statements=MAX_STATEMENTS,
    assume_finite=False,
) -> CKernel:
    """Scalarize ``graph`` (straight-line, no guards) into a batched C function."""
    L = _Lowering(
        max_node_size=max_node_size, max_statements=max_statements, assume_finite=assume_finite
    )
    in_syms, in_shapes, in_dtypes = [], [], []
    for k, node in enumerate(graph.inputs):
        shape = tuple(node.shape or ())
        dt = np.dtype(node.dtype)
        L.where = node.describe()
        _ctype(dt)
        L._check_size(node)
        e = np.empty(shape, dtype=object)
        for j, idx in enumerate(np.ndindex(shape)):
            v = _Var(f"a{k}_{j}", dt)
            L.stmts.append(_Stmt([v], f"x{k}[{j}]", ()))
            e[idx] = v
        in_syms.append(_Sym(e, dt))
        in_shapes.append(shape)
        in_dtypes.append(dt)
    outs = L.lower(graph, in_syms)
    out_shapes = [tuple(o.shape) for o in outs]
    out_dtypes = [o.dtype for o in outs]
    for dt in out_dtypes:
        _ctype(dt)

    # Dead-code elimination: keep the statements the outputs read.
    live = set()
    for o in outs:
        for e in o.e.flat:
            if isinstance(e, _Var):
                live.add(e.name)
    kept = []
    for st in reversed(L.stmts):
        if any(v.name in live for v in st.outs):
            kept.append(st)
            live.update(st.deps)
    kept.reverse()

    fname = _c_name(name or graph.name)
    lines = [
        f"/* Generated by adgraph.jit.cbackend from the graph {display_name(graph.name)}. */",
        "#include <math.h>",
        "#include <stdint.h>",
        "",
    ]
    for hname in _HELPER_ORDER:
        for dt in ("<f4", "<f8"):
            if (hname, np.dtype(dt).str) in L.helpers:
                lines.append(_helper_code(hname, dt))
                lines.append("")
    params = ["long n", "const long* restrict in_strides"]
    params += [f"const {_ctype(dt)}* restrict in{k}" for k, dt in enumerate(in_dtypes)]
    params += [f"{_ctype(dt)}* restrict out{k}" for k, dt in enumerate(out_dtypes)]
    lines.append(f"void {fname}({', '.join(params)})")
    lines.append("{")
    for k in range(len(in_dtypes)):
        lines.append(f"    const long s{k} = in_strides[{k}];")
    lines.append("    for (long i = 0; i < n; ++i) {")
    for k, dt in enumerate(in_dtypes):
        lines.append(f"        const {_ctype(dt)}* x{k} = in{k} + i * s{k};")
    for k, (shape, dt) in enumerate(zip(out_shapes, out_dtypes, strict=True)):
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        lines.append(f"        {_ctype(dt)}* y{k} = out{k} + i * {size};")
    for st in kept:
        if st.block:
            by_type: dict = {}
            for v in st.outs:
                by_type.setdefault(_ctype(v.dtype), []).append(v.name)
            for ct, names in by_type.items():
                lines.append(f"        {ct} {', '.join(names)};")
            lines.append(f"        {st.code}")
        else:
            v = st.outs[0]
            lines.append(f"        const {_ctype(v.dtype)} {v.name} = {st.code};")
    for k, o in enumerate(outs):
        for j, e in enumerate(o.e.reshape(-1)):
            lines.append(f"        y{k}[{j}] = {L.c(e, o.dtype)};")
    lines.append("    }")
    lines.append("}")
    source = "\n".join(lines) + "\n"
    return CKernel(source, fname, in_shapes, in_dtypes, out_shapes, out_dtypes, len(kept))


# ============================================================================ compiler
_lock = threading.Lock()
_loaded: dict = {}  # library file name -> (ctypes library, path): loaded in this process


def find_c_compiler():
    """The C compiler command as a list (``$CC``, else ``cc``, ``gcc`` or ``clang`` on
    the PATH), or None when there is none."""
    env = os.environ.get("CC")
    if env:
        cmd = shlex.split(env)
        if cmd and shutil.which(cmd[0]):
            return cmd
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


# ---------------------------------------------------------------- the library cache
#: Most shared libraries kept in the cache folder (the least recently used go first).
CACHE_MAX_LIBRARIES = 256
#: Most bytes of shared libraries kept in the cache folder.
CACHE_MAX_BYTES = 256 * 2**20
# Leftovers of builds (sources of failed builds, temporary files of killed ones) older
# than this are removed when the cache is trimmed.
_STALE_SECONDS = 24 * 3600

_private_tmp = None  # this process's private fallback folder (made on first need)
_refused: set = set()  # cache folders already warned about


def _uid():
    """The current user's id, or None where there are no user ids (Windows)."""
    return os.getuid() if hasattr(os, "getuid") else None


def _configured_cache_dir():
    """``$ADGRAPH_C_CACHE``, else ``$XDG_CACHE_HOME/adgraph/c``, else
    ``~/.cache/adgraph/c``; None when none of them is an absolute path."""
    d = os.environ.get("ADGRAPH_C_CACHE")
    if d:
        d = os.path.expanduser(d)
        return os.path.abspath(d)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: relative paths are ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home folder
        return None
    return os.path.join(base, "adgraph", "c")


def _make_private(d):
    """Create ``d`` (and missing parents) with mode 0700 whatever the umask; check that it
    is a folder owned by this user that group and others cannot write. Returns None when
    it can be used, else the reason it cannot."""
    missing = []
    p = d
    while not os.path.lexists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    try:
        for p in reversed(missing):
            try:
                os.mkdir(p, 0o700)
            except FileExistsError:  # made by a concurrent process: checked below
                continue
            os.chmod(p, 0o700)  # mkdir's mode is masked by the umask
        st = os.stat(d)
    except OSError as e:
        return f"it cannot be created or read ({e.strerror or e})"
    if not _stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    uid = _uid()
    if uid is not None and st.st_uid != uid:
        return f"it is owned by user id {st.st_uid}, not by this user ({uid})"
    if os.name == "posix" and st.st_mode & 0o022:
        return f"group or others may write to it (mode {oct(st.st_mode & 0o777)})"
    return None


def _fallback_cache_dir():
    """A private temporary folder for this process (``tempfile.mkdtemp``: mode 0700, a
    name nobody can predict), removed at exit."""
    global _private_tmp
    if _private_tmp is None or not os.path.isdir(_private_tmp):
        _private_tmp = tempfile.mkdtemp(prefix="adgraph-c-")
        os.chmod(_private_tmp, 0o700)
        atexit.register(shutil.rmtree, _private_tmp, True)
    return _private_tmp


def cache_dir() -> str:
    """The folder where compiled libraries are kept between processes.

    ``$ADGRAPH_C_CACHE`` if set, else ``$XDG_CACHE_HOME/adgraph/c``, else
    ``~/.cache/adgraph/c``; created with mode 0700 whatever the umask. A shared library
    found there is loaded and run, so the folder must be private: one that is not owned
    by the current user, or that group or others may write, is refused with one
    :class:`CCacheWarning`, and a private temporary folder (removed at exit) is used
    instead for this process.
    """
    d = _configured_cache_dir()
    problem = "there is no home folder" if d is None else _make_private(d)
    if problem is None:
        return d
    if d not in _refused:
        _refused.add(d)
        warnings.warn(
            f"adgraph C backend: the cache folder {d!r} is not used because {problem}; "
            "compiled libraries go to a private temporary folder for this process. Set "
            "ADGRAPH_C_CACHE to a folder only you can write (it is created with mode 0700)",
            CCacheWarning,
            stacklevel=4,
        )
    return _fallback_cache_dir()


def _sha256(path):
    """The SHA-256 of the file at ``path`` (hex), or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _recorded_sha256(so):
    """The hash recorded when ``so`` was built (``<so>.sha256``), or None."""
    try:
        with open(so + ".sha256") as fh:
            digest = fh.read(64)
    except (OSError, UnicodeDecodeError):
        return None
    if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
        return digest
    return None


def _write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _load_verified(so):
    """The library at ``so`` if its content is what was built there (its SHA-256 equals
    the one recorded at build time) and it loads; else None (missing, never recorded,
    replaced, truncated or corrupt: the caller builds it again)."""
    want = _recorded_sha256(so)
    if want is None or _sha256(so) != want:
        return None
    try:
        lib = ctypes.CDLL(so)
    except OSError:
        return None
    try:
        os.utime(so)  # the modification time orders the cache for eviction
    except OSError:
        pass
    return lib


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# The files the cache holds (nothing else in the folder is ever touched): a library
# (``<base>.so``), its recorded hash (``<base>.so.sha256``), the source a build compiles
# (``<base>.<pid>.<thread>.c``, left behind by a failed build), and temporary files.
_CACHE_FILE = re.compile(
    r"(adg_[A-Za-z0-9_]+_[0-9a-f]{32})(\.so|\.so\.sha256|\.[0-9]+\.[0-9]+\.c)"
    r"(\.[0-9]+\.[0-9]+\.tmp)?"
)


def _evict(d, keep):
    """Trim the cache folder ``d`` to :data:`CACHE_MAX_LIBRARIES` libraries and
    :data:`CACHE_MAX_BYTES` bytes, removing the least recently used libraries (by
    modification time, which a load from the cache refreshes) and stale leftovers of
    builds. ``keep`` (the library just built) stays; files the cache did not make are
    never touched."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    libs, others = [], []
    for name in names:
        m = _CACHE_FILE.fullmatch(name)
        if m is None:
            continue
        p = os.path.join(d, name)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if m.group(2) == ".so" and m.group(3) is None:
            libs.append((p == keep, st.st_mtime, st.st_size, p))
        else:
            others.append((st.st_mtime, os.path.join(d, m.group(1) + ".so"), p))
    libs.sort(reverse=True)  # the one kept, then the most recently used first
    count = size = 0
    kept = set()
    for is_kept, _, nbytes, p in libs:
        if is_kept or (count < CACHE_MAX_LIBRARIES and size + nbytes <= CACHE_MAX_BYTES):
            count += 1
            size += nbytes
            kept.add(p)
            continue
        for q in (p + ".sha256", p):
            try:
                _remove(q)
            except OSError:
                pass
    now = time.time()
    for mtime, lib, p in others:
        if p == lib + ".sha256" and lib in kept:
            continue
        # (young ones may belong to a build in progress in another process)
        if now - mtime > _STALE_SECONDS:
            try:
                _remove(p)
            except OSError:
                pass


_BASE_FLAGS = ["-O2", "-fPIC", "-shared", "-fno-math-errno", "-ffp-contract=off", "-fwrapv"]


def _flags(fast_math, extra):
    flags = list(_BASE_FLAGS)
    if fast_math:
        flags = [f for f in flags if f != "-ffp-contract=off"] + ["-ffast-math"]
    return flags + list(extra or ())


def _library_name(kernel: CKernel, compiler, flags) -> str:
    """The file name of ``kernel``'s library: its C name and a hash of the source,
    compiler, flags and platform."""
    ident = "\0".join(
        [kernel.source, " ".join(compiler), " ".join(flags), platform.machine(), sys.platform]
    )
    key = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"{kernel.name}_{key}.so"


def _compile_library(kernel: CKernel, compiler, flags, so):
    """Compile ``kernel`` into ``so``, record the library's SHA-256 beside it, and return
    it loaded (from the file this call wrote, before any other process can see it)."""
    # Names of this build's own: a concurrent build of the same library (another process,
    # another thread) neither reads nor removes them.
    c_path = f"{so[:-3]}.{os.getpid()}.{threading.get_ident()}.c"
    with open(c_path, "w") as fh:
        fh.write(kernel.source)
    tmp = f"{so}.{os.getpid()}.{threading.get_ident()}.tmp"
    cmd = [*compiler, *flags, "-o", tmp, c_path, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        _remove(tmp)
        raise CCompileError(
            f"C backend: the C compiler failed ({' '.join(cmd)}):\n"
            f"{proc.stderr[-4000:]}\nThe generated source is in {c_path}"
        )
    digest = _sha256(tmp)
    try:
        lib = ctypes.CDLL(tmp)
    except OSError as e:
        _remove(tmp)
        _remove(c_path)
        raise CCompileError(
            f"C backend: the library just compiled cannot be loaded ({e}). If the cache "
            f"folder {os.path.dirname(so)} does not allow running programs (noexec), set "
            "ADGRAPH_C_CACHE to one that does"
        ) from None
    # The hash is recorded before the library takes its place: a reader never finds a
    # library newer than its record (it would only rebuild, never load a mismatch).
    _write_atomic(so + ".sha256", f"{digest}  {os.path.basename(so)}\n")
    os.replace(tmp, so)  # atomic: concurrent builds of one library are safe
    _remove(c_path)  # the source stays available as CFunction.source
    return lib


def _build(kernel: CKernel, compiler, flags):
    """Load ``kernel``'s shared library from the cache -- only if its content is what was
    built there -- or compile it; returns ``(ctypes function, library path)``."""
    name = _library_name(kernel, compiler, flags)
    with _lock:
        got = _loaded.get(name)
        if got is None:
            d = cache_dir()
            so = os.path.join(d, name)
            lib = _load_verified(so)
            if lib is None:
                lib = _compile_library(kernel, compiler, flags, so)
                _evict(d, keep=so)
            got = _loaded[name] = (lib, so)
    lib, so = got
    fn = getattr(lib, kernel.name)
    nio = len(kernel.in_shapes) + len(kernel.out_shapes)
    fn.argtypes = [ctypes.c_long, ctypes.c_void_p] + [ctypes.c_void_p] * nio
    fn.restype = None
    return fn, so


# ============================================================================ functions
def _prepare(x):
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    if isinstance(x, bool):
        return np.bool_(x)
    if isinstance(x, int):
        return np.int64(x)
    if isinstance(x, float):
        return np.float64(x)
    return np.asarray(x)


def _split_static(fun, args, static_argnums):
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    nargs = len(args)
    static = {}
    for i in static_argnums:
        if not -nargs <= i < nargs:
            raise ValueError(f"compile_c: static_argnums {i} is out of range for {nargs} arguments")
        static[i % nargs] = args[i % nargs]
    dyn = tuple(a for i, a in enumerate(args) if i not in static)

    def bound(*d):
        full = list(d)
        for i in sorted(static):
            full.insert(i, static[i])
        return fun(*full)

    bound.__name__ = function_name(fun)
    return bound, dyn, static


def _threads_default():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_POOL = None
_POOL_SIZE = 0
_MIN_PER_THREAD = 16384


def _pool(n):
    global _POOL, _POOL_SIZE
    from concurrent.futures import ThreadPoolExecutor

    with _lock:
        if _POOL is None or _POOL_SIZE < n:
            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="adgraph-c")
            _POOL_SIZE = n
        return _POOL


class _Signature:
    """Flattening and checking of the arguments of a compiled function."""

    def __init__(self, fun_name, in_tree, shapes, dtypes, static, nargs):
        self.fun_name = fun_name
        self.in_tree = in_tree
        self.shapes = shapes
        self.dtypes = dtypes
        self.static = static
        self.nargs = nargs

    def flatten(self, args):
        """(leaves as arrays, batch size or None for an unbatched call, batched flags)."""
        if self.static:
            if len(args) == self.nargs:
                for i, v in self.static.items():
                    if not _same_static(args[i], v):
                        raise ValueError(
                            f"{self.fun_name}: static argument {i} differs from the one it was "
                            "compiled with; compile again for the new value"
                        )
                args = tuple(a for i, a in enumerate(args) if i not in self.static)
        leaves, tree = tree_flatten(args)
        if tree != self.in_tree:
            raise TypeError(
                f"{self.fun_name}: the arguments are structured as {tree!r}; it was compiled "
                f"for {self.in_tree!r}"
            )
        arrays, batched, n = [], [], None
        for k, (x, shape, dt) in enumerate(zip(leaves, self.shapes, self.dtypes, strict=True)):
            if type(x) in (bool, int, float):
                a = np.asarray(x, dtype=dt)
            else:
                a = np.asarray(x)
                if a.dtype != dt:
                    if not np.can_cast(a.dtype, dt, "safe"):
                        raise TypeError(
                            f"{self.fun_name}: argument {k} has dtype {a.dtype}; it was "
                            f"compiled for {dt} (compile again with an example of that dtype)"
                        )
                    a = a.astype(dt)
            if a.shape == shape:
                batched.append(False)
            elif a.shape[1:] == shape and a.ndim == len(shape) + 1:
                batched.append(True)
                if n is None:
                    n = a.shape[0]
                elif a.shape[0] != n:
                    raise ValueError(
                        f"{self.fun_name}: batched arguments have different leading sizes "
                        f"{n} and {a.shape[0]}"
                    )
            else:
                raise ValueError(
                    f"{self.fun_name}: argument {k} has shape {a.shape}; expected {shape} "
                    f"(one point) or (n,) + {shape} (a batch of n points)"
                )
            # (np.ascontiguousarray would turn a 0-d array into shape (1,))
            arrays.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        return arrays, n, batched


def _same_static(a, b):
    try:
        return bool(a == b) if not hasattr(a, "shape") else a is b
    except Exception:
        return a is b


class _PointBuffers:
    """Per-thread buffers for one-point calls of a compiled kernel (``call_flat``): one
    for each input (used for scalars) and each output, and the argument addresses."""

    __slots__ = ("ins", "outs", "array_outs", "args", "n_in", "zero", "keep")

    def __init__(self, kernel):
        self.ins = [np.empty(s, dtype=d) for s, d in zip(kernel.in_shapes, kernel.in_dtypes)]
        self.outs = [np.empty(s, dtype=d) for s, d in zip(kernel.out_shapes, kernel.out_dtypes)]
        self.array_outs = [(k, o) for k, o in enumerate(self.outs) if o.ndim]
        self.n_in = len(self.ins)
        self.args = [a.__array_interface__["data"][0] for a in self.ins + self.outs]
        n = max(self.n_in, 1)
        self.zero = (ctypes.c_long * n)(*([0] * n))
        self.keep = None


class CFunction:
    """A function compiled to C by :func:`compile_c`.

    Call it with the arguments of one point (shapes of the examples: the result is one
    point's) or with a leading batch axis of size ``n`` on some or all of them (the
    others are shared by every point): the results then have a leading axis ``n``.
    ``threads`` (call keyword) splits large batches over threads (default: every core
    for batches of at least 16384 points per thread; 1 disables). ``out`` (call keyword):
    preallocated result arrays (a pytree like the result), filled in place and returned --
    repeated calls then skip allocating (and first touching) the result memory.

    Attributes: ``source`` (the C code), ``kernel`` (:class:`CKernel`), ``graph`` (the
    simplified graph IR), ``library`` (the path of the shared object).
    """

    backend = "c"

    def __init__(self, fun_name, sig, kernel, graph, fn, library, out_tree, threads):
        self.__name__ = fun_name
        self._sig = sig
        self.kernel = kernel
        self.graph = graph
        self._fn = fn
        self.library = library
        self._out_tree = out_tree
        self.threads = threads
        self._out_sizes = [int(np.prod(s, dtype=np.int64)) if s else 1 for s in kernel.out_shapes]
        self._in_sizes = [int(np.prod(s, dtype=np.int64)) if s else 1 for s in kernel.in_shapes]
        self._local = threading.local()  # per-thread buffers of call_flat

    @property
    def source(self) -> str:
        return self.kernel.source

    def call_flat(self, leaves):
        """One point, the flat leaves already of the compiled shapes and dtypes (``jit``
        checks its signature first): the flat list of results, with little Python work.

        Scalars (Python or NumPy numbers) are written into buffers kept per thread, and
        0-d results are read from such buffers (as new NumPy scalars); arrays are passed
        by address and array results are new arrays."""
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = _PointBuffers(self.kernel)
        ptrs = list(bufs.args)
        i = 0
        for x in leaves:
            if type(x) is np.ndarray:
                if not x.flags.c_contiguous:
                    x = np.ascontiguousarray(x)
                    bufs.keep = x  # alive through the call
                if x.ndim:
                    ptrs[i] = x.__array_interface__["data"][0]
                else:
                    bufs.ins[i][()] = x
            else:
                bufs.ins[i][()] = x
            i += 1
        fresh = []
        for k, o in bufs.array_outs:
            o = np.empty(o.shape, dtype=o.dtype)
            ptrs[bufs.n_in + k] = o.__array_interface__["data"][0]
            fresh.append((k, o))
        self._fn(1, bufs.zero, *ptrs)
        bufs.keep = None
        outs = [o[()] for o in bufs.outs]
        for k, o in fresh:
            outs[k] = o
        return outs

    def __call__(self, *args, threads=None, out=None):
        arrays, n, batched = self._sig.flatten(args)
        k = self.kernel
        m = 1 if n is None else n
        if out is None:
            outs = [
                np.empty((m,) + s, dtype=dt)
                for s, dt in zip(k.out_shapes, k.out_dtypes, strict=True)
            ]
        else:
            outs = self._check_out(out, n)
        strides = [sz if b else 0 for sz, b in zip(self._in_sizes, batched, strict=True)]
        threads = self.threads if threads is None else threads
        if threads is None:
            threads = _threads_default()
        threads = max(1, min(int(threads), m // _MIN_PER_THREAD))
        st = (ctypes.c_long * max(len(strides), 1))(*strides)
        if threads == 1:
            self._fn(m, st, *[a.ctypes.data for a in arrays], *[o.ctypes.data for o in outs])
        else:
            bounds = np.linspace(0, m, threads + 1).astype(np.int64)
            in_bytes = [s * a.itemsize for s, a in zip(strides, arrays, strict=True)]
            out_bytes = [sz * o.itemsize for sz, o in zip(self._out_sizes, outs, strict=True)]
            ins = [a.ctypes.data for a in arrays]
            ops = [o.ctypes.data for o in outs]

            def run(lo, hi):
                self._fn(
                    int(hi - lo),
                    st,
                    *[p + int(lo) * b for p, b in zip(ins, in_bytes, strict=True)],
                    *[p + int(lo) * b for p, b in zip(ops, out_bytes, strict=True)],
                )

            futs = [_pool(threads).submit(run, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
            for f in futs:
                f.result()
        if out is not None:
            return out
        if n is None:
            outs = [o[0] for o in outs]
        return tree_unflatten(self._out_tree, outs)

    def _check_out(self, out, n):
        """The buffers of ``out=`` (a pytree like the result), viewed as (n, *shape)."""
        leaves, tree = tree_flatten(out)
        if tree != self._out_tree:
            raise TypeError(
                f"{self.__name__}: out= must be structured like the result ({self._out_tree!r}), "
                f"got {tree!r}"
            )
        views = []
        k = self.kernel
        for j, (o, s, dt) in enumerate(zip(leaves, k.out_shapes, k.out_dtypes, strict=True)):
            want = s if n is None else (n,) + s
            if (
                not isinstance(o, np.ndarray)
                or o.shape != want
                or o.dtype != dt
                or not o.flags.c_contiguous
                or not o.flags.writeable
            ):
                raise ValueError(
                    f"{self.__name__}: out= result {j} must be a writeable C-contiguous "
                    f"{dt} array of shape {want}"
                )
            views.append(o.reshape((1,) + s) if n is None else o)
        return views

    def __repr__(self):
        return f"<CFunction {self.__name__}: {self.kernel.n_statements} C statements>"


class CFallbackFunction:
    """What :func:`compile_c` returns without a C compiler: the same calling convention
    and the same results (shapes, dtypes, NumPy scalars for one point's 0-d results), run
    by ``adgraph.jit`` of the function for one point and ``adgraph.jit`` of
    ``adgraph.vmap`` of it for a batch (Python backend)."""

    backend = "python"
    source = None
    library = None

    def __init__(self, fun_name, sig, fun, kernel, out_tree):
        self.__name__ = fun_name
        self._sig = sig
        self._fun = fun
        self.kernel = kernel
        self._out_tree = out_tree
        self._compiled = {}

    def _jitted(self, batched):
        """The jit function for one point (``batched`` None) or a batch."""
        from ..api.transforms import vmap
        from .api import jit

        key = tuple(batched) if batched is not None else None
        f = self._compiled.get(key)
        if f is None:
            tree = self._sig.in_tree
            fun = self._fun

            def flat(*leaves):
                return fun(*tree_unflatten(tree, list(leaves)))

            if key is None:
                f = jit(flat)
            else:
                f = jit(vmap(flat, in_axes=tuple(0 if b else None for b in key)))
            self._compiled[key] = f
        return f

    def _results(self, res, n):
        """The flat results as the C version gives them: the kernel's dtypes, shape
        ``(n, *shape)`` for a batch, NumPy scalars for one point's 0-d results."""
        leaves = tree_flatten(res)[0]
        k = self.kernel
        outs = []
        for o, shape, dt in zip(leaves, k.out_shapes, k.out_dtypes, strict=True):
            want = shape if n is None else (n,) + shape
            a = np.asarray(o, dtype=dt)
            if a.shape != want:  # an output that does not depend on the batched inputs
                a = np.array(np.broadcast_to(a, want))
            outs.append(a[()] if a.ndim == 0 else a)
        return outs

    def call_flat(self, leaves):
        """One point, flat leaves of the compiled shapes and dtypes (as
        :meth:`CFunction.call_flat`): the flat list of results."""
        return self._results(self._jitted(None)(*leaves), None)

    def __call__(self, *args, threads=None, out=None):
        arrays, n, batched = self._sig.flatten(args)
        res = self._jitted(batched if n is not None else None)(*arrays)
        outs = self._results(res, n)
        if out is None:
            return tree_unflatten(self._out_tree, outs)
        for dst, src in zip(tree_flatten(out)[0], outs, strict=True):
            np.copyto(dst, src)
        return out

    def __repr__(self):
        return f"<CFallbackFunction {self.__name__} (Python backend: no C compiler)>"


def _trace(fun, example_args, static_argnums, name):
    bound, dyn, static = _split_static(fun, example_args, static_argnums)
    leaves, in_tree = tree_flatten(dyn)
    leaves = [_prepare(x) for x in leaves]
    for k, x in enumerate(leaves):
        if getattr(x, "dtype", None) is not None and np.dtype(x.dtype).kind == "c":
            raise CBackendError(
                f"C backend: argument {k} is complex; complex numbers are not supported"
            )
    graph, guards, closures = trace_for_jit(bound, leaves, in_tree)
    if guards:
        raise CBackendError(
            f"C backend: {name} branches on traced values (Python if/while on an array "
            f"computed from the arguments, {len(guards)} time(s)); the C backend compiles "
            "straight-line code only. Use anp.where for elementwise choices, or adgraph.jit, "
            "which re-traces on new branches"
        )
    if closures:
        raise CBackendError(
            f"C backend: {name} closes over values traced by an enclosing transformation; "
            "compile_c must be called outside grad/jvp/vmap (compile the derivative instead: "
            "compile_c(ad.grad(f), x))"
        )
    graph, _ = simplify(graph)
    sig = _Signature(
        name,
        in_tree,
        [tuple(getattr(x, "shape", ())) for x in leaves],
        [np.dtype(x.dtype) for x in leaves],
        static,
        len(example_args),
    )
    return graph, sig, bound


def c_source(
    fun,
    *example_args,
    static_argnums=(),
    max_node_size=MAX_NODE_SIZE,
    max_statements=MAX_STATEMENTS,
    assume_finite=False,
) -> str:
    """The C source :func:`compile_c` would compile (needs no compiler)."""
    name = function_name(fun)
    graph, _, _ = _trace(fun, example_args, static_argnums, name)
    return lower_to_c(
        graph,
        name=name,
        max_node_size=max_node_size,
        max_statements=max_statements,
        assume_finite=assume_finite,
    ).source


def compile_c(
    fun,
    *example_args,
    static_argnums=(),
    threads=None,
    fast_math=False,
    assume_finite=False,
    extra_flags=(),
    max_node_size=MAX_NODE_SIZE,
    max_statements=MAX_STATEMENTS,
):
    """Compile ``fun`` -- a function of scalars and small arrays, or a derivative of one --
    to C, batched over a leading axis.

    Parameters
    ----------
    fun : callable
        Written with ``adgraph.numpy``; may be ``ad.grad(f)``, ``ad.jacfwd(f)``,
        ``ad.hessian(f)`` or any function returning several of them (a pytree).
    *example_args
        The arguments of ONE point (scalars or small arrays; pytrees allowed): they fix
        the per-point shapes and dtypes (float64, float32, integers, bool).
    static_argnums : int or tuple of int
        Arguments baked into the program (Python values such as material constants or
        flags). Call with all arguments; the static ones must equal these.
    threads : int, optional
        Threads for large batches (default: all cores, at least 16384 points each).
    fast_math : bool
        Compile with ``-ffast-math`` (faster, but no IEEE guarantees: nan/inf handling
        and rounding may change). Off by default.
    assume_finite : bool
        Fold ``0 * x`` to ``0`` while scalarizing (exact for finite ``x``; shrinks forward
        derivative programs whose basis tangents are mostly zeros). Off by default.
    extra_flags : sequence of str
        More compiler flags (e.g. ``("-march=native",)``).
    max_node_size, max_statements : int
        Limits on the elements of one value and on the size of the program.

    Returns
    -------
    CFunction, or CFallbackFunction when no C compiler is found (with one
    :class:`CCompilerWarning`). Either is called with one point's arguments, or with a
    leading batch axis on some of them (``f(eps)`` with ``eps.shape == (n, 3, 3)``).
    """
    name = function_name(fun)
    graph, sig, bound = _trace(fun, example_args, static_argnums, name)
    kernel = lower_to_c(
        graph,
        name=name,
        max_node_size=max_node_size,
        max_statements=max_statements,
        assume_finite=assume_finite,
    )
    # The compiled function keeps its graph for inspection, not the values it was traced
    # with (shapes and dtypes stay).
    for node in graph.nodes:
        node.value = None
    compiler = find_c_compiler()
    if compiler is None:
        warnings.warn(
            f"compile_c({name}): no C compiler found ($CC, cc, gcc or clang); running the "
            "Python backend (adgraph.jit of adgraph.vmap) instead. Install a C compiler for "
            "native speed",
            CCompilerWarning,
            stacklevel=2,
        )
        return CFallbackFunction(name, sig, bound, kernel, graph.out_tree)
    fn, so = _build(kernel, compiler, _flags(fast_math, extra_flags))
    return CFunction(name, sig, kernel, graph, fn, so, graph.out_tree, threads)
