"""Array-module selection: which of numpy, cupy or dask.array computes a primitive.

Every primitive implementation receives the array module ``xp`` of its inputs, so the
same rules run on NumPy, CuPy and Dask arrays. The module is chosen from the *types* of
the arguments, through a cache keyed by type, so the common case (NumPy arrays and Python
scalars) costs one dictionary lookup per argument.

Invariant: Python scalars and NumPy scalars are neutral (they mix with any backend);
arrays of two different backends in one operation are an error that names both.
"""

from __future__ import annotations

import importlib
import sys

import numpy as _np

from .trace import Tracer, current_traces

__all__ = [
    "get_xp",
    "module_of",
    "register_array_type",
    "BackendMixError",
    "DEFAULT",
    "as_leaf",
    "as_plain_arrays",
]

# The array module of Python numbers and NumPy values.
DEFAULT = _np


class BackendMixError(TypeError):
    """Arrays of two different array modules met in one operation."""


# type -> array module, or None for neutral values (Python / NumPy scalars, lists).
_MODULE_OF: dict[type, object] = {
    _np.ndarray: _np,
    float: None,
    int: None,
    bool: None,
    complex: None,
    type(None): None,
    list: None,
    tuple: None,
}

# top-level package name of a type's module -> (import name of the array module,
# attribute path to the array type); consulted on a cache miss only.
_KNOWN_PACKAGES = {
    "cupy": "cupy",
    "dask": "dask.array",
}


def register_array_type(tp: type, module) -> None:
    """Declare that arrays of type ``tp`` are computed with array module ``module``."""
    _MODULE_OF[tp] = module


def _resolve(tp: type):
    """Slow path for a type not yet seen: classify it and remember the answer."""
    if issubclass(tp, _np.generic):
        mod = None
    elif issubclass(tp, _np.ndarray):
        mod = _np
    else:
        top = (tp.__module__ or "").split(".")[0]
        name = _KNOWN_PACKAGES.get(top)
        if name is not None and (
            (top == "cupy" and tp.__name__ == "ndarray")
            or (top == "dask" and tp.__name__ == "Array")
        ):
            mod = importlib.import_module(name)
        else:
            # Unknown objects (e.g. tracers of no level, Python objects) are neutral: NumPy
            # will either handle them or raise its own error naming the type.
            mod = None
    _MODULE_OF[tp] = mod
    return mod


def module_of(x):
    """The array module of one value (numpy for neutral values)."""
    tp = type(x)
    mod = _MODULE_OF[tp] if tp in _MODULE_OF else _resolve(tp)
    return _np if mod is None else mod


def get_xp(args):
    """The array module shared by ``args``; NumPy when none of them is a foreign array."""
    found = None
    for a in args:
        tp = type(a)
        mod = _MODULE_OF[tp] if tp in _MODULE_OF else _resolve(tp)
        if mod is None or mod is found:
            continue
        found = mod if found is None else _combine(found, mod)
    return _np if found is None else found


def _combine(a, b):
    # Dask arrays take NumPy arrays as operands (the NumPy array becomes one chunk);
    # every other pair of distinct modules is refused.
    names = {a.__name__, b.__name__}
    if names == {"numpy", "dask.array"}:
        return a if a.__name__ == "dask.array" else b
    raise BackendMixError(
        f"arrays of {a.__name__} and {b.__name__} met in one operation; move them to one "
        f"backend first (e.g. cupy.asarray(x) or cupy.asnumpy(x)). Python scalars mix freely."
    )


_matrix = _np.matrix
_ndarray = _np.ndarray


def _is_masked(a) -> bool:
    # numpy.ma is imported on first use (NumPy 2 loads it lazily): a masked array can only
    # exist once it has been, so adgraph's import does not pay for it
    ma = sys.modules.get("numpy.ma")
    return ma is not None and isinstance(a, ma.MaskedArray)


def as_plain_arrays(args) -> tuple:
    """``args`` with every ``np.matrix`` viewed as a plain ndarray (no copy); a masked
    array is refused while a transformation is in flight.

    ``np.matrix`` redefines ``*`` and ``**`` as matrix products and keeps results 2-D, so
    an implementation written for arrays (``x * y``) would compute something else than
    NumPy's own ufunc (``np.multiply(M, M)`` is elementwise). A masked array inside a
    transformation (a closed-over constant, say) would make values and derivatives
    masked, which derivatives cannot follow. This runs where untraced, non-plain
    arguments reach an implementation; the transformations convert their inputs the same
    way (:func:`as_leaf`). Outside transformations masked arrays keep NumPy's meaning.
    """
    for a in args:
        if isinstance(a, _ndarray) and type(a) is not _ndarray:
            return tuple(_plain_array(a) for a in args)
    return args


def _plain_array(a):
    if _is_masked(a):
        if current_traces():
            raise TypeError(
                "a masked array (numpy.ma.MaskedArray) was used inside a transformation; "
                "derivatives do not follow masks. Use a.filled(value) to fill the masked "
                "entries, or np.asarray(a) to use the underlying data as is"
            )
        return a
    if isinstance(a, _matrix):
        return _np.asarray(a)
    return a


def _array_subclass_leaf(x, what: str):
    """An ndarray subclass entering a transformation: ``np.matrix`` as the plain array it
    holds (its products would be matrix products); a masked array refused (derivatives
    would ignore the mask, and a masked result would pass masked-out values off as
    gradients). Other subclasses (an array type registered for another array module,
    say) pass unchanged."""
    if _is_masked(x):
        raise TypeError(
            f"{what}: got a masked array (numpy.ma.MaskedArray); derivatives do not follow "
            "masks. Pass x.filled(value) to fill the masked entries, or np.asarray(x) to use "
            "the underlying data as is"
        )
    if isinstance(x, _matrix):
        return _np.asarray(x)
    return x


_NUMERIC_KINDS = frozenset("biufc")


def as_leaf(x, what: str):
    """A leaf entering a transformation or a compiled function, as an array value.

    Python numbers become NumPy scalars (``2.0`` -> ``float64``), nested lists become
    arrays; arrays and traced values pass. ``np.matrix`` becomes a plain array (it
    computes elementwise, as NumPy's ufuncs do); masked arrays are refused. Anything without a numeric dtype (strings,
    objects, None) is refused with an error naming ``what`` received it.
    """
    if isinstance(x, Tracer):
        return x
    if type(x) is not _ndarray and isinstance(x, _ndarray):
        x = _array_subclass_leaf(x, what)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        if getattr(x.dtype, "kind", "b") not in _NUMERIC_KINDS:
            raise TypeError(
                f"{what}: arguments must be numeric arrays, numbers or pytrees of them; got "
                f"an array of dtype {x.dtype}"
            )
        return x
    if isinstance(x, bool):
        return _np.bool_(x)
    if isinstance(x, int):
        return _np.int64(x)
    if isinstance(x, float):
        return _np.float64(x)
    if isinstance(x, complex):
        return _np.complex128(x)
    if isinstance(x, (list, tuple)):
        return as_leaf(_np.asarray(x), what)
    import numbers

    if isinstance(x, numbers.Number):
        a = _np.asarray(x)
        if a.dtype.kind in _NUMERIC_KINDS:  # a number type NumPy knows
            return a[()]
        raise TypeError(exact_number_message(x, what))
    raise TypeError(
        f"{what}: arguments must be arrays, numbers or pytrees of them; got {type(x).__name__}"
    )


def exact_number_message(x, what: str) -> str:
    """The error for a number NumPy has no numeric type for (``Fraction``, ``Decimal``):
    adgraph computes in floating point, and converting is the caller's choice."""
    tp = type(x)
    name = tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return (
        f"{what}: got a {name} ({x!s:.40}), a number NumPy has no numeric type for; adgraph "
        "differentiates floating-point values -- convert it first, e.g. float(x) or "
        "np.float64(x)"
    )
