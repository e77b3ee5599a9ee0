r"""Set operations: ``unique`` and its NumPy 2 family, ``isin``, ``intersect1d``,
``setdiff1d``, ``setxor1d``, ``union1d``.

*Which* elements a set operation keeps depends on the values, so it is found by a primitive
without derivative that runs the array module's own function (NumPy's semantics, ordering
and NaN handling come with it) and returns positions; the kept *values* are then gathered
from the input by ``take``. So the values are differentiable -- each output element's
derivative is that of the input element it was taken from (the first occurrence) -- while
indices, inverses, counts and boolean masks carry none, as in JAX. Under ``jit`` the
positions are recomputed on every call; under ``vmap`` each example is computed alone
(the shapes depend on the values).
"""

from __future__ import annotations

from typing import Any

from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import shapes as _sh
from ._util import OpError, norm_axis
from ._util import shape as _shape
from .creation import asarray
from .indexing import take

__all__ = [
    "unique", "unique_all", "unique_counts", "unique_inverse", "unique_values", "isin",
    "intersect1d", "setdiff1d", "setxor1d", "union1d",
]  # fmt: skip


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _positions(name: str, impl, doc: str, multiple_results: bool = True) -> Primitive:
    # how many elements are unique, shared or different depends on the values
    return Primitive(
        name, impl, nondiff=True, multiple_results=multiple_results, value_shape=True, doc=doc
    )


# ----------------------------------------------------------------- unique
def _unique_impl(xp, a, *, axis, equal_nan, sorted_):
    kw = {"equal_nan": equal_nan}
    if not sorted_:
        kw["sorted"] = False
    _, index, inverse, counts = xp.unique(
        a, return_index=True, return_inverse=True, return_counts=True, axis=axis, **kw
    )
    return index, inverse, counts


_unique_p = _positions(
    "unique_positions",
    _unique_impl,
    "(index, inverse, counts) of numpy.unique: where each distinct value (or slice along "
    "an axis) first occurs, which one each element is, and how often each occurs. "
    "Integers: no derivative.",
)


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
    sorted: bool = True,  # noqa: A002  (NumPy's name)
) -> Any:
    r"""The sorted distinct elements of ``ar`` (flattened, or the distinct slices along
    ``axis``), optionally with the first-occurrence indices, the inverse (``ar`` rebuilt
    as ``unique[inverse]``) and the counts, as NumPy returns them.

    The values are gathered from ``ar`` at their first occurrences, so their derivative
    is those elements' derivative; indices, inverse and counts carry none."""
    ar = _arr(ar)
    if axis is not None:
        axis = norm_axis(axis, len(_shape(ar)), "unique")
    elif len(_shape(ar)) == 0:
        ar = _sh.reshape(ar, (1,))
    index, inverse, counts = _unique_p.bind(
        ar, axis=axis, equal_nan=bool(equal_nan), sorted_=bool(sorted)
    )
    values = take(_sh.ravel(ar), index) if axis is None else take(ar, index, axis=axis)
    extra = [
        v
        for v, want in ((index, return_index), (inverse, return_inverse), (counts, return_counts))
        if want
    ]
    return (values, *extra) if extra else values


def unique_values(x: Any) -> Any:
    """The distinct values of ``x`` (flattened), as NumPy 2's ``unique_values``;
    differentiable as :func:`unique`."""
    return unique(x)


def unique_counts(x: Any) -> Any:
    """``(values, counts)`` of the distinct elements of ``x`` (a named tuple, as NumPy's);
    the counts carry no derivative."""
    from numpy.lib._arraysetops_impl import UniqueCountsResult

    return UniqueCountsResult(*unique(x, return_counts=True))


def unique_inverse(x: Any) -> Any:
    """``(values, inverse_indices)``, ``inverse_indices`` of ``x``'s shape, so that
    ``values[inverse_indices]`` is ``x``; the indices carry no derivative."""
    from numpy.lib._arraysetops_impl import UniqueInverseResult

    values, inverse = unique(x, return_inverse=True)
    return UniqueInverseResult(values, _sh.reshape(inverse, _shape(x)))


def unique_all(x: Any) -> Any:
    """``(values, indices, inverse_indices, counts)`` of the distinct elements of ``x``;
    only the values are differentiable."""
    from numpy.lib._arraysetops_impl import UniqueAllResult

    values, index, inverse, counts = unique(
        x, return_index=True, return_inverse=True, return_counts=True
    )
    return UniqueAllResult(values, index, _sh.reshape(inverse, _shape(x)), counts)


# ----------------------------------------------------------------- isin
def _isin_impl(xp, element, test_elements, *, assume_unique, invert, kind):
    return xp.isin(element, test_elements, assume_unique=assume_unique, invert=invert, kind=kind)


_isin_p = _positions(
    "isin",
    _isin_impl,
    "Elementwise, whether an element of the first argument occurs in the second "
    "(booleans: no derivative).",
    multiple_results=False,
)


def isin(
    element: Any,
    test_elements: Any,
    assume_unique: bool = False,
    invert: bool = False,
    *,
    kind: Any = None,
) -> Any:
    """Elementwise, whether each element of ``element`` is in ``test_elements`` (``invert``
    negates); booleans of ``element``'s shape, no derivative."""
    if kind not in (None, "sort", "table"):
        raise OpError(f"isin: kind must be None, 'sort' or 'table', got {kind!r}")
    return _isin_p.bind(
        _arr(element), _arr(test_elements), assume_unique=bool(assume_unique),
        invert=bool(invert), kind=kind,
    )  # fmt: skip


# ----------------------------------------------------------------- two-set operations
def _intersect_impl(xp, a1, a2, *, assume_unique):
    _, i1, i2 = xp.intersect1d(a1, a2, assume_unique=assume_unique, return_indices=True)
    return i1, i2


_intersect_p = _positions(
    "intersect1d_positions",
    _intersect_impl,
    "Positions in each flattened input of the sorted common values (first occurrences); "
    "integers, no derivative.",
)


def intersect1d(
    ar1: Any, ar2: Any, assume_unique: bool = False, return_indices: bool = False
) -> Any:
    r"""The sorted values found in both ``ar1`` and ``ar2`` (flattened), with their
    first-occurrence indices in each when ``return_indices``.

    The values are taken from ``ar1``: their derivative is that of ``ar1``'s elements
    (``ar2``'s equal elements only decide membership)."""
    ar1, ar2 = _sh.ravel(_arr(ar1)), _sh.ravel(_arr(ar2))
    i1, i2 = _intersect_p.bind(ar1, ar2, assume_unique=bool(assume_unique))
    values = take(ar1, i1)
    return (values, i1, i2) if return_indices else values


def _setdiff_impl(xp, a1, a2, *, assume_unique):
    if assume_unique:
        return xp.flatnonzero(~xp.isin(a1, a2, assume_unique=True))
    u, first = xp.unique(a1, return_index=True)
    return first[~xp.isin(u, a2, assume_unique=True)]


_setdiff_p = _positions(
    "setdiff1d_positions",
    _setdiff_impl,
    "Positions in the flattened first input of the values not in the second (first "
    "occurrences, in numpy.setdiff1d's order); integers, no derivative.",
    multiple_results=False,
)


def setdiff1d(ar1: Any, ar2: Any, assume_unique: bool = False) -> Any:
    """The values of ``ar1`` (flattened) that are not in ``ar2``: sorted and distinct, or
    in ``ar1``'s order with ``assume_unique``. Differentiable in ``ar1``'s values."""
    ar1, ar2 = _sh.ravel(_arr(ar1)), _sh.ravel(_arr(ar2))
    return take(ar1, _setdiff_p.bind(ar1, ar2, assume_unique=bool(assume_unique)))


def _setxor_impl(xp, a1, a2, *, assume_unique):
    n1 = a1.shape[0]
    if assume_unique:
        f1, f2 = xp.arange(n1), xp.arange(a2.shape[0])
        v1, v2 = a1, a2
    else:
        v1, f1 = xp.unique(a1, return_index=True)
        v2, f2 = xp.unique(a2, return_index=True)
    vals = xp.concatenate([v1, v2])
    pos = xp.concatenate([f1, f2 + n1])
    order = xp.argsort(vals, kind="stable")
    vals, pos = vals[order], pos[order]
    if vals.shape[0] == 0:
        return pos
    flag = xp.concatenate([[True], vals[1:] != vals[:-1], [True]])
    return pos[flag[1:] & flag[:-1]]


_setxor_p = _positions(
    "setxor1d_positions",
    _setxor_impl,
    "Positions in the two flattened inputs, joined, of the values in exactly one of them "
    "(sorted); integers, no derivative.",
    multiple_results=False,
)


def setxor1d(ar1: Any, ar2: Any, assume_unique: bool = False) -> Any:
    """The sorted values in exactly one of ``ar1`` and ``ar2`` (flattened); each value's
    derivative is that of the element (first occurrence) it comes from."""
    ar1, ar2 = _sh.ravel(_arr(ar1)), _sh.ravel(_arr(ar2))
    from ._util import result_dtype
    from .joining import concatenate
    from .misc import astype

    dt = result_dtype(ar1, ar2)
    both = concatenate([astype(ar1, dt), astype(ar2, dt)])
    return take(both, _setxor_p.bind(ar1, ar2, assume_unique=bool(assume_unique)))


def union1d(ar1: Any, ar2: Any) -> Any:
    """The sorted distinct values in either ``ar1`` or ``ar2`` (flattened); each value's
    derivative is that of its first occurrence in ``ar1`` then ``ar2``."""
    from .joining import concatenate

    return unique(concatenate([_sh.ravel(_arr(ar1)), _sh.ravel(_arr(ar2))]))
