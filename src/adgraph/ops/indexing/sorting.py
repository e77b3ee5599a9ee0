r"""Sorting and searching: sort (differentiable, a gather by the sorting permutation),
argsort, and the positions of nonzero elements (nonzero, argwhere, flatnonzero)."""

from __future__ import annotations

import numpy as _np  # shape arithmetic only (broadcast_shapes); never computes on arrays

from ...core import extend
from ...core.primitive import Primitive
from ...core.trace import Tracer
from .._util import OpError, norm_axis, shape
from .gather import take_along_axis
from .index import _xp_of

# ------------------------------------------------------------------ backend extension points
# Array modules that cannot sort as NumPy does (Dask: an axis split into chunks) replace
# these steps for their own arrays through adgraph.core.extend; NumPy never looks them up.
ARGSORT = extend.declare(
    "indexing.argsort", "(x, axis, kind) -> argsort along axis (None: of the flattened x)"
)
SORT = extend.declare("indexing.sort", "(x, axis, kind) -> x sorted along axis (None: flattened)")


# ------------------------------------------------------------------ sort / argsort
def _argsort_batch(vals, batched, size, *, axis, kind):
    from ..shapes import reshape

    x = vals[0]
    if axis is None:
        return argsort_p.bind(reshape(x, (size, -1)), axis=1, kind=kind)
    return argsort_p.bind(x, axis=axis + 1, kind=kind)


def _argsort_impl(xp, x, *, axis, kind):
    if xp is not _np and (alt := extend.lookup(ARGSORT, xp)) is not None:
        return alt(x, axis, kind)
    return xp.argsort(x, axis=axis, **({} if kind is None else {"kind": kind}))


argsort_p = Primitive(
    "argsort",
    _argsort_impl,
    nondiff=True,
    batch=_argsort_batch,
    doc="Indices that sort x along an axis (integers: no derivative).",
)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``a`` along ``axis`` (flattened when None); no derivative.

    ``stable=True`` (or ``kind='stable'``) keeps equal elements in their order.
    """
    if order is not None:
        raise OpError("argsort: order= (structured arrays) is not supported")
    kind = _sort_kind(kind, stable, "argsort")
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argsort")
    return argsort_p.bind(a, axis=ax, kind=kind)


def _sort_kind(kind, stable, op):
    # NumPy reads only the first letter: 'quicksort', 'mergesort', 'heapsort', 'stable'.
    if kind is not None and not (
        isinstance(kind, str) and kind[:1].lower() in ("q", "m", "h", "s")
    ):
        raise OpError(
            f"{op}: kind must be one of 'quicksort', 'mergesort', 'heapsort', 'stable' or "
            f"None, got {kind!r}"
        )
    return "stable" if stable else kind


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    r"""``a`` sorted along ``axis`` (flattened when None).

    The derivative permutes like the values: with :math:`p` the sorting permutation
    (a stable argsort), :math:`y = a[p]`, :math:`\dot y = \dot a[p]` and
    :math:`\bar a[p] = \bar y`. Equal elements keep their order, so ties are broken by
    position.
    """
    if order is not None:
        raise OpError("sort: order= (structured arrays) is not supported")
    kind = _sort_kind(kind, stable, "sort")
    if isinstance(a, (list, tuple)):
        from ..creation import asarray  # a list of traced values is stacked

        a = asarray(a)
    if not isinstance(a, Tracer):
        xp = _xp_of(a)
        a = xp.asarray(a)
        if axis is not None:
            axis = norm_axis(axis, a.ndim, "sort")
        if xp is not _np and (alt := extend.lookup(SORT, xp)) is not None:
            return alt(a, axis, kind)
        return xp.sort(a, axis=axis, kind=kind)
    if axis is None:
        from ..shapes import ravel

        a = ravel(a)
        axis = 0
    try:
        perm = argsort(a, axis=axis, kind="stable")
    except OpError as e:
        if not str(e).startswith("argsort:"):
            raise
        raise type(e)("sort:" + str(e)[len("argsort:") :]) from None
    return take_along_axis(a, perm, axis=axis)


# ------------------------------------------------------------------ nonzero and friends
def _nonzero_impl(xp, x):
    return tuple(xp.nonzero(x))


_nonzero_p = Primitive(
    "nonzero",
    _nonzero_impl,
    nondiff=True,
    value_shape=True,
    multiple_results=True,
    doc="Indices of the nonzero elements, one integer array per axis (no derivative).",
)


def nonzero(a):
    """Indices of the nonzero elements, one integer array per axis (no derivative).

    Under ``vmap`` the count may differ between examples; the batch is then looped and
    must have equal counts to stack.
    """
    return _nonzero_p.bind(a)


_argwhere_p = Primitive(
    "argwhere",
    lambda xp, x: xp.argwhere(x),
    nondiff=True,
    value_shape=True,
    doc="Indices of the nonzero elements as rows (no derivative).",
)
_flatnonzero_p = Primitive(
    "flatnonzero",
    lambda xp, x: xp.flatnonzero(x),
    nondiff=True,
    value_shape=True,
    doc="Indices of the nonzero elements of the flattened array (no derivative).",
)


def argwhere(a):
    """Indices of the nonzero elements, one row per element: shape ``(N, a.ndim)``
    (integers: no derivative)."""
    return _argwhere_p.bind(a)


def flatnonzero(a):
    """Indices of the nonzero elements of ``ravel(a)`` (integers: no derivative)."""
    return _flatnonzero_p.bind(a)
