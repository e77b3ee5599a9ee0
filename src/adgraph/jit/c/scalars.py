"""The values a C program is built from: C types, elements and statements.

While a graph is lowered, each node's value is a :class:`Sym`: an object array of its shape
whose elements are C scalar variables (:class:`Var`) or constants (:class:`Lit`, a NumPy
scalar); the program is a list of :class:`Stmt`, each defining one or a few variables.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import CBackendError

__all__ = [
    "CTYPES",
    "ctype",
    "libm_suffix",
    "Var",
    "Lit",
    "Sym",
    "Stmt",
    "Meta",
    "cast_value",
    "lit",
    "fmt_lit",
    "objarray",
    "is_lit",
    "same_lit",
]


# ============================================================================ C types
CTYPES = {
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


def ctype(dt) -> str:
    dt = np.dtype(dt)
    try:
        return CTYPES[dt]
    except KeyError:
        kind = "complex numbers" if dt.kind == "c" else f"dtype {dt}"
        raise CBackendError(
            f"C backend: {kind} are not supported (float32, float64, integers and bool "
            "are); use adgraph.jit for this function"
        ) from None


def libm_suffix(dt) -> str:
    """The libm suffix of a floating dtype: ``expf`` for float32, ``exp`` for float64."""
    return "f" if np.dtype(dt) == np.float32 else ""


# ============================================================================ elements
class Var:
    """A C scalar variable holding one element."""

    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name = name
        self.dtype = dtype

    def __repr__(self):
        return f"{self.name}:{self.dtype}"


class Lit:
    """A constant element: a NumPy scalar (its dtype is the element's dtype)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    @property
    def dtype(self):
        return self.value.dtype

    def __repr__(self):
        return repr(self.value)


def cast_value(v, dt):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(v).astype(dt)[()]


def lit(value, dt) -> Lit:
    return Lit(cast_value(value, dt))


def fmt_lit(v) -> str:
    """C source for a NumPy scalar, exact (round-trip) for floats."""
    dt = v.dtype
    if dt.kind == "b":
        return "1" if bool(v) else "0"
    if dt.kind in "iu":
        iv = int(v)
        ct = CTYPES[np.dtype(dt)]
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


class Sym:
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
        return f"Sym({self.dtype}{list(self.shape)})"


def objarray(x) -> np.ndarray:
    """``x`` as an object ndarray (a single element becomes a 0-d array)."""
    if isinstance(x, np.ndarray) and x.dtype == object:
        return x
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            out[idx] = Lit(x[idx])
        return out
    out = np.empty((), dtype=object)
    out[()] = x
    return out


# ============================================================================ statements
class Stmt:
    """One statement: ``outs`` defined by ``code`` (an expression for one output, or a
    block assigning several), reading the variables named in ``deps``."""

    __slots__ = ("outs", "code", "deps", "block")

    def __init__(self, outs, code, deps, block=False):
        self.outs = outs
        self.code = code
        self.deps = deps
        self.block = block


# Templates of elementwise operations on floating loops. ``{s}`` is the libm suffix,


def is_lit(e, v) -> bool:
    return isinstance(e, Lit) and e.value == v and not np.isnan(e.value)


def same_lit(a, b) -> bool:
    va, vb = a.value, b.value
    return va.dtype == vb.dtype and va.tobytes() == vb.tobytes()


class Meta:
    """Shape and dtype of an intermediate, for rules called from other rules."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype
