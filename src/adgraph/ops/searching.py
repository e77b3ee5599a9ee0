r"""Searching, counting and partial sorting: ``searchsorted``, ``digitize``, ``bincount``,
``lexsort``, ``argpartition``, ``partition``, ``sort_complex``, ``trim_zeros``.

Positions and counts are integers and carry no derivative; they are computed by
primitives that run the array module's own function, so ``jit`` recomputes them on every
call and NumPy's semantics come with them. Functions that return *values*
(``partition``, ``sort_complex``, ``trim_zeros``) gather them from the input at those
positions, so each output element has the derivative of the input element it is. The
weighted ``bincount`` is linear in the weights: its transpose gathers the cotangent at the
bins, :math:`\bar w_i = \bar y_{x_i}`.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # dtype queries only; never on values

from ..ad.rules import nondiff
from ..ad.sparsity import bincount_rule
from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import shapes as _sh
from ._util import OpError, OpTypeError, as_int, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import sort, take, take_along_axis
from .misc import astype

__all__ = [
    "searchsorted", "digitize", "bincount", "lexsort", "argpartition", "partition",
    "sort_complex", "trim_zeros",
]  # fmt: skip


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _no_out(out, op):
    if out is not None:
        raise OpError(f"{op}: out= is not supported (adgraph arrays are immutable)")


# ----------------------------------------------------------------- searching
_searchsorted_p = nondiff(
    "searchsorted",
    lambda xp, a, v, sorter, *, side: xp.searchsorted(a, v, side=side, sorter=sorter),
    elementwise_batch=False,
    doc="Insertion positions of v in the sorted 1-d a (integers: no derivative).",
)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """Indices where the elements of ``v`` would be inserted into the sorted 1-d ``a``
    (``sorter``: the permutation that sorts ``a``) to keep it sorted; no derivative."""
    if side not in ("left", "right"):
        raise OpError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a = _arr(a)
    if len(_shape(a)) != 1:
        raise OpError(f"searchsorted: a must be 1-d, got shape {_shape(a)}")
    return _searchsorted_p.bind(a, _arr(v), sorter, side=side)


_digitize_p = nondiff(
    "digitize",
    lambda xp, x, bins, *, right: xp.digitize(x, bins, right=right),
    elementwise_batch=False,
    doc="Index of the bin of each element of x (integers: no derivative).",
)


def digitize(x: Any, bins: Any, right: bool = False) -> Any:
    """The index of the bin each element of ``x`` falls in, for monotonic 1-d ``bins``
    (``right``: bins closed on the right); no derivative."""
    bins = _arr(bins)
    if len(_shape(bins)) != 1:
        raise OpError(f"digitize: bins must be 1-d, got shape {_shape(bins)}")
    return _digitize_p.bind(_arr(x), bins, right=bool(right))


_lexsort_p = nondiff(
    "lexsort",
    lambda xp, keys, *, axis: xp.lexsort(keys, axis=axis),
    elementwise_batch=False,
    doc="Indirect stable sort by several keys, the last the primary (no derivative).",
)


def lexsort(keys: Any, axis: int = -1) -> Any:
    """Indices that sort by the keys (a sequence of equal-shape arrays, or the rows of a
    2-d array), the *last* key primary; stable. No derivative."""
    if isinstance(keys, (list, tuple)):
        if not keys:
            raise OpError("lexsort: need at least one key")
        from .joining import stack

        keys = stack([_arr(k) for k in keys])
    keys = _arr(keys)
    if len(_shape(keys)) < 1:
        raise OpError("lexsort: keys must be a sequence of arrays or an array of rows")
    norm_axis(axis, max(len(_shape(keys)) - 1, 1), "lexsort")
    return _lexsort_p.bind(keys, axis=axis)


# ----------------------------------------------------------------- counting
def _bincount_impl(xp, x, w, *, minlength):
    return xp.bincount(x, weights=w, minlength=minlength)


def _bincount_tangent(t, ans, x, w, *, minlength):
    return bincount_p.bind(x, t, minlength=max(minlength, _shape(ans)[0]))


def _bincount_vjp(ct, ans, x, w, *, minlength):
    return take(ct, x)


bincount_p = Primitive(
    "bincount",
    _bincount_impl,
    tangent=(None, _bincount_tangent),
    vjp=(None, _bincount_vjp),
    sparsity=bincount_rule,
    needs=(frozenset([0]),) * 2,
    doc=r"""y_k = \sum_{i: x_i = k} w_i (w = 1 without weights). Linear in the weights;
    the transpose gathers the cotangent at the bins, :math:`\bar w_i = \bar y_{x_i}`. The
    integer bins x carry no derivative.""",
)


def bincount(x: Any, /, weights: Any = None, minlength: int = 0) -> Any:
    r"""The number of occurrences of each value in the non-negative integer 1-d ``x``
    (with ``weights``: the sum of their weights), at least ``minlength`` long.

    Linear in ``weights``: :math:`\partial y_k / \partial w_i = [x_i = k]`."""
    x = _arr(x)
    if _np.dtype(_dtype(x)).kind not in "iub":
        raise OpTypeError(f"bincount: x must hold integers, got {_dtype(x)}")
    if len(_shape(x)) != 1:
        raise OpError(f"bincount: x must be 1-d, got shape {_shape(x)}")
    minlength = as_int(minlength, "bincount", "minlength")
    if minlength < 0:
        raise OpError(f"bincount: minlength must be non-negative, got {minlength}")
    if not isinstance(x, Tracer):
        xv = _np.asarray(x)
        if xv.size and xv.min() < 0:
            raise OpError("bincount: x must be non-negative")
    if weights is not None:
        weights = _arr(weights)
        if _shape(weights) != _shape(x):
            raise OpError(
                f"bincount: weights of shape {_shape(weights)} do not match x of shape {_shape(x)}"
            )
        if _np.dtype(_dtype(weights)).kind == "c":
            raise OpTypeError("bincount: complex weights are not supported (as in NumPy)")
        weights = astype(weights, _np.float64)
    return bincount_p.bind(x, weights, minlength=minlength)


# ----------------------------------------------------------------- partial sorting
def _kth(kth, op):
    if isinstance(kth, Tracer):
        raise OpTypeError(f"{op}: kth must be concrete integers, not a traced value")
    k = _np.asarray(kth)
    if k.dtype.kind not in "iu":
        raise OpTypeError(f"{op}: kth must be integers, got {k.dtype}")
    return int(k) if k.ndim == 0 else tuple(int(v) for v in k.ravel())


_argpartition_p = nondiff(
    "argpartition",
    lambda xp, a, *, kth, axis: xp.argpartition(a, kth, axis=axis),
    elementwise_batch=False,
    doc="Indices that partition a around its kth elements (integers: no derivative).",
)


def argpartition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """Indices that partition ``a`` along ``axis`` (flattened when None): the ``kth``
    element in its sorted place, smaller ones before, larger after. No derivative."""
    if order is not None:
        raise OpError("argpartition: order= (structured arrays) is not supported")
    if kind != "introselect":
        raise OpError(f"argpartition: kind must be 'introselect', got {kind!r}")
    a = _arr(a)
    if axis is None:
        a, axis = _sh.ravel(a), 0
    ax = norm_axis(axis, len(_shape(a)), "argpartition")
    return _argpartition_p.bind(a, kth=_kth(kth, "argpartition"), axis=ax)


def _partition_perm(xp, a, *, kth, axis):
    # NumPy's own partition decides the order; the permutation that produces it pairs the
    # k-th smallest of the result with the k-th smallest of a (stable on both sides), so
    # a[perm] == partition(a) exactly, ties and NaNs included.
    out = xp.partition(a, kth, axis=axis)
    ia = xp.argsort(a, axis=axis, kind="stable")
    io = xp.argsort(out, axis=axis, kind="stable")
    perm = xp.empty_like(ia)
    xp.put_along_axis(perm, io, ia, axis=axis)
    return perm


_partition_perm_p = nondiff(
    "partition_permutation",
    _partition_perm,
    elementwise_batch=False,
    doc="The permutation p with a[p] == numpy.partition(a, kth) (integers: no derivative).",
)


def partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    r"""``a`` partitioned along ``axis`` (flattened when None): the ``kth`` element in its
    sorted place, smaller ones before it, larger after, as NumPy orders them.

    A gather: each output element has the derivative of the input element it is (ties
    broken by position, as for :func:`sort`)."""
    if order is not None:
        raise OpError("partition: order= (structured arrays) is not supported")
    if kind != "introselect":
        raise OpError(f"partition: kind must be 'introselect', got {kind!r}")
    a = _arr(a)
    if axis is None:
        a, axis = _sh.ravel(a), 0
    ax = norm_axis(axis, len(_shape(a)), "partition")
    perm = _partition_perm_p.bind(a, kth=_kth(kth, "partition"), axis=ax)
    return take_along_axis(a, perm, axis=ax)


def sort_complex(a: Any) -> Any:
    """``a`` sorted by real part, then imaginary part, as complex numbers (real input is
    converted as NumPy converts it). A gather, differentiable as :func:`sort`."""
    a = _arr(a)
    dt = _np.dtype(_dtype(a))
    if dt.kind != "c":
        cdt = {"b": _np.complex64, "h": _np.complex64, "B": _np.complex64,
               "H": _np.complex64, "g": _np.clongdouble}.get(dt.char, _np.complex128)  # fmt: skip
        a = astype(a, cdt)
    return sort(a, axis=-1)


def _trim_impl(xp, a, *, axes, front, back):
    nz = a != 0
    out = []
    for ax in axes:
        other = tuple(i for i in range(a.ndim) if i != ax)
        hit = xp.flatnonzero(nz.any(axis=other) if other else nz)
        n = a.shape[ax]
        if hit.size == 0:
            start, stop = 0, 0
        else:
            start = int(hit[0]) if front else 0
            stop = int(hit[-1]) + 1 if back else n
        out.append(xp.arange(start, stop))
    return tuple(out)


_trim_p = Primitive(
    "trim_zeros_positions",
    _trim_impl,
    nondiff=True,
    value_shape=True,
    multiple_results=True,
    doc="Per trimmed axis, the positions kept by numpy.trim_zeros (integers: no derivative).",
)


def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """``filt`` without its leading (``'f'`` in ``trim``) and trailing (``'b'``) zeros
    along ``axis`` (all axes when None: the smallest box holding every nonzero). A
    gather: the kept elements keep their derivative."""
    if not isinstance(trim, str) or set(trim.lower()) - set("fb"):
        raise OpError(f"trim_zeros: trim must be a combination of 'f' and 'b', got {trim!r}")
    filt = _arr(filt)
    nd = len(_shape(filt))
    if nd == 0:
        raise OpError("trim_zeros: filt must have at least one dimension")
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(norm_axis(a, nd, "trim_zeros") for a in axis)
    else:
        axes = (norm_axis(axis, nd, "trim_zeros"),)
    t = trim.lower()
    keep = _trim_p.bind(filt, axes=axes, front="f" in t, back="b" in t)
    for ax, idx in zip(axes, keep):
        filt = take(filt, idx, axis=ax)
    return filt
