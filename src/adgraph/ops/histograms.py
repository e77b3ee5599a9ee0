r"""Histograms: ``histogram``, ``histogram_bin_edges``, ``histogram2d``, ``histogramdd``.

Which bin each sample falls in is decided by a primitive without derivative that runs
NumPy's own bin-edge and binning rules (so counts and edges are NumPy's to the last bit);
the derivatives then come from compositions:

* counts carry no derivative; **weighted** counts are linear in the weights (a
  ``bincount``): :math:`\partial h_k / \partial w_i = [x_i \in \text{bin } k]`;
* for a number of bins (``bins`` an integer), the edges are
  :math:`e_j = lo + (hi - lo)\, j / n` with :math:`lo, hi` the range (given, or the data's
  min and max, which pass their derivative to the extremal samples); given edges (an
  array) are returned as they are, derivative included;
* ``density`` divides by the total and the bin widths, differentiably in both.

The edges carry their derivative with NumPy's values: ``e = e_{numpy} + (f - sg(f))``,
with :math:`f` the composed formula and ``sg`` ``stop_gradient``, which adds exactly zero.
Bin-width rules given by name (``bins='auto'``...) choose the *number* of bins from the
values; their edges are NumPy's, and a traced sample is refused there (compute the edges
from data outside and pass them as ``bins``).
"""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as _np  # dtype queries only; never on values

from ..core.primitive import Primitive
from ..core.trace import Tracer
from . import elementwise as _ew
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import getitem
from .misc import astype, stop_gradient
from .searching import bincount_p

__all__ = ["histogram", "histogram_bin_edges", "histogram2d", "histogramdd"]


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


# ----------------------------------------------------------------- one dimension
def _hist1d_impl(xp, a, w, edges_in, *, bins, range_):
    """NumPy's edges, and the bin of every sample (-1: outside the edges)."""
    b = edges_in if edges_in is not None else bins
    edges = xp.histogram_bin_edges(a, b, range_, w)
    idx = xp.searchsorted(edges, a, side="right") - 1
    idx = xp.where(a == edges[-1], edges.shape[0] - 2, idx)
    idx = xp.where((a < edges[0]) | (a > edges[-1]) | (a != a), -1, idx)
    return edges, idx


_hist1d_p = Primitive(
    "histogram_bins",
    _hist1d_impl,
    nondiff=True,
    value_shape=True,  # bins="auto" and the other estimators count bins from the data
    multiple_results=True,
    doc="numpy.histogram's bin edges and each sample's bin (-1 outside; the last bin is "
    "closed). No derivative.",
)


def _is_number(b) -> bool:
    return not isinstance(b, (list, tuple, str, Tracer)) and _np.ndim(b) == 0


def _composed_edges(lo, hi, n, dt):
    """:math:`lo + (hi - lo) j / n`, with NumPy's widening of an empty range."""
    same = _ew.equal(lo, hi)
    lo2 = _ew.where(same, _ew.subtract(lo, 0.5), lo)
    hi2 = _ew.where(same, _ew.add(hi, 0.5), hi)
    frac = _np.arange(n + 1, dtype=dt) / dt.type(n)
    return _ew.add(lo2, _ew.multiply(_ew.subtract(hi2, lo2), frac))


def _with_derivative(values, formula):
    """``values`` (NumPy's numbers) carrying ``formula``'s derivative: adds exactly 0."""
    if not isinstance(formula, Tracer):
        return values
    return _ew.add(values, _ew.subtract(formula, stop_gradient(formula)))


def _float_dtype(a):
    dt = _np.dtype(_dtype(a))
    return dt if dt.kind == "f" else _np.dtype(_np.float64)


def _prepare(a, bins, range, weights, op):
    a = _sh.ravel(_arr(a))
    if _np.dtype(_dtype(a)).kind == "c":
        raise OpTypeError(f"{op}: complex samples are not supported")
    if weights is not None:
        weights = _arr(weights)
        if _shape(weights) != _shape(a) and _np.prod(_shape(weights)) != _shape(a)[0]:
            raise OpError(f"{op}: weights must have the shape of a")
        weights = _sh.ravel(weights)
    edges_in = None
    nbins = None
    if isinstance(bins, str):
        if isinstance(a, Tracer) or isinstance(weights, Tracer):
            raise OpTypeError(
                f"{op}: bins={bins!r} chooses the number of bins from the values, which are "
                "traced here; compute the edges with numpy.histogram_bin_edges on concrete "
                "data and pass them as bins"
            )
    elif _is_number(bins):
        try:
            nbins = operator.index(bins)
        except TypeError:
            raise OpTypeError(f"{op}: bins must be an integer, a string or 1-d edges") from None
        if nbins < 1:
            raise OpError(f"{op}: bins must be positive, got {nbins}")
    else:
        edges_in = _arr(bins)
        if len(_shape(edges_in)) != 1:
            raise OpError(f"{op}: bins must be 1-d edges, got shape {_shape(edges_in)}")
    if range is not None:
        if isinstance(range, Tracer) or any(isinstance(r, Tracer) for r in range):
            raise OpTypeError(f"{op}: range must be concrete numbers")
        lo, hi = (float(r) for r in range)
        if lo > hi:
            raise OpError(f"{op}: max must be larger than min in range parameter")
        range = (lo, hi)
    return a, weights, edges_in, nbins, range


def _edges_1d(a, edges_np, edges_in, nbins, range):
    if edges_in is not None:
        return _with_derivative(edges_np, astype(edges_in, _dtype(edges_np)))
    if nbins is None:
        return edges_np
    dt = _np.dtype(_dtype(edges_np))
    if range is not None:
        return edges_np
    if _shape(a)[0] == 0:
        return edges_np
    lo, hi = astype(_red.min(a), dt), astype(_red.max(a), dt)
    return _with_derivative(edges_np, _composed_edges(lo, hi, nbins, dt))


def _weighted_counts(idx, n, weights):
    inside = _ew.greater_equal(idx, 0)
    idx0 = _ew.where(inside, idx, 0)
    if weights is None:
        w = None
        counts = bincount_p.bind(idx0, astype(inside, _np.float64), minlength=n)
        return astype(counts, _np.int64)
    w = _ew.where(inside, astype(weights, _np.float64), 0.0)
    return bincount_p.bind(idx0, w, minlength=n)


def histogram(
    a: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None
) -> tuple:
    r"""``(hist, bin_edges)``: the number of samples of ``a`` (flattened) in each bin, or
    the sum of their ``weights``, or with ``density`` the probability density (the counts
    over the total times the bin widths). ``bins``: a number of equal bins over ``range``
    (default the data's min and max), 1-d edges, or a NumPy rule name.

    Derivatives as the module says: weighted counts are linear in the weights, the edges
    follow the range (the data's min and max) or the given edges, and the density follows
    both; unweighted counts carry none."""
    a, weights, edges_in, nbins, range = _prepare(a, bins, range, weights, "histogram")
    edges_np, idx = _hist1d_p.bind(
        stop_gradient(a), None if weights is None else stop_gradient(weights),
        None if edges_in is None else stop_gradient(edges_in),
        bins=bins if isinstance(bins, str) else nbins, range_=range,
    )  # fmt: skip
    edges = _edges_1d(a, edges_np, edges_in, nbins, range)
    n = _shape(edges_np)[0] - 1
    hist = _weighted_counts(idx, n, weights)
    if weights is not None and _np.dtype(_dtype(weights)).kind != "f":
        hist = astype(hist, _np.result_type(_dtype(weights)))
    if density:
        widths = _ew.subtract(getitem(edges, slice(1, None)), getitem(edges, slice(None, -1)))
        hist = astype(hist, _np.float64) if _np.dtype(_dtype(hist)).kind != "f" else hist
        return _ew.divide(_ew.divide(hist, widths), _red.sum(hist)), edges
    return hist, edges


def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None, weights: Any = None) -> Any:
    """The bin edges :func:`histogram` uses (NumPy's), with the derivative of the range
    (the data's min and max) for a number of bins, or of the given edges."""
    return histogram(a, bins, range, None, weights)[1]


# ----------------------------------------------------------------- several dimensions
def _histdd_impl(xp, sample, w, *edges_in, bins, range_):
    n, d = sample.shape
    edges = []
    for i in range(d):
        if bins[i] is None:
            edges.append(edges_in[i])
            continue
        if range_[i] is not None:
            lo, hi = range_[i]
        elif n:
            lo, hi = sample[:, i].min(), sample[:, i].max()
        else:
            lo, hi = 0.0, 1.0
        if not (bool(xp.isfinite(lo)) and bool(xp.isfinite(hi))):
            how = "given" if range_[i] is not None else "autodetected"
            raise OpError(
                f"histogramdd: the {how} range [{lo}, {hi}] of dimension {i} is not finite; "
                "give a finite range= or drop the nan/inf samples"
            )
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(xp.linspace(lo, hi, bins[i] + 1))
    _, np_edges = xp.histogramdd(sample, [e for e in edges], weights=None)
    flat = xp.zeros(n, dtype=xp.intp)
    inside = xp.ones(n, dtype=bool)
    for i in range(d):
        e = np_edges[i]
        idx = xp.searchsorted(e, sample[:, i], side="right") - 1
        idx = xp.where(sample[:, i] == e[-1], e.shape[0] - 2, idx)
        inside &= (idx >= 0) & (idx <= e.shape[0] - 2)
        flat = flat * (e.shape[0] - 1) + xp.clip(idx, 0, e.shape[0] - 2)
    return (xp.where(inside, flat, -1), *np_edges)


_histdd_p = Primitive(
    "histogramdd_bins",
    _histdd_impl,
    nondiff=True,
    value_shape=True,
    multiple_results=True,
    doc="numpy.histogramdd's edges and each sample's flat bin (-1 outside). No derivative.",
)


def histogramdd(
    sample: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None
) -> tuple:
    r"""``(hist, edges)``: the D-dimensional histogram of ``sample`` (an (N, D) array or a
    sequence of D arrays of N coordinates), ``bins`` a number (for every dimension), a
    sequence of numbers, or a sequence of edge arrays; ``range`` per dimension.

    Derivatives as in :func:`histogram`: weighted counts linear in the weights, edges
    following each dimension's range (min and max) or the given edges, density both."""
    if isinstance(sample, (list, tuple)) and all(len(_shape(s)) == 0 for s in sample):
        sample = _arr(sample)  # N numbers are N samples in one dimension, as in NumPy
    if isinstance(sample, (list, tuple)):
        from .joining import stack

        cols = [_sh.ravel(_arr(s)) for s in sample]
        lengths = [_shape(c)[0] for c in cols]
        if len(set(lengths)) > 1:
            raise OpError(f"histogramdd: the coordinate arrays have different lengths {lengths}")
        sample = stack(cols, axis=-1)
    sample = _arr(sample)
    if len(_shape(sample)) == 1:
        sample = _sh.reshape(sample, (-1, 1))
    if len(_shape(sample)) != 2:
        raise OpError(f"histogramdd: sample must be (N, D), got shape {_shape(sample)}")
    n, d = _shape(sample)
    if _is_number(bins):
        bins = [bins] * d
    bins = list(bins)
    if len(bins) != d:
        raise OpError(f"histogramdd: {len(bins)} bins given for {d} dimensions")
    ranges = [None] * d if range is None else list(range)
    if len(ranges) != d:
        raise OpError(f"histogramdd: {len(ranges)} ranges given for {d} dimensions")
    nb, given = [], []
    for i, b in enumerate(bins):
        if _is_number(b):
            k = operator.index(b)
            if k < 1:
                raise OpError(f"histogramdd: bins[{i}] must be positive, got {k}")
            nb.append(k)
            given.append(None)
        else:
            nb.append(None)
            given.append(_arr(b))
        if ranges[i] is not None:
            ranges[i] = tuple(float(r) for r in ranges[i])
    if weights is not None:
        weights = _sh.ravel(_arr(weights))
    out = _histdd_p.bind(
        stop_gradient(sample), None,
        *[None if g is None else stop_gradient(g) for g in given],
        bins=tuple(nb), range_=tuple(ranges),
    )  # fmt: skip
    flat, edges_np = out[0], list(out[1:])
    edges = []
    for i in builtins.range(d):
        e = edges_np[i]
        if given[i] is not None:
            edges.append(_with_derivative(e, astype(given[i], _dtype(e))))
        elif ranges[i] is None and n:
            col = getitem(sample, (slice(None), i))
            dt = _np.dtype(_dtype(e))
            lo, hi = astype(_red.min(col), dt), astype(_red.max(col), dt)
            edges.append(_with_derivative(e, _composed_edges(lo, hi, nb[i], dt)))
        else:
            edges.append(e)
    shape = tuple(_shape(e)[0] - 1 for e in edges_np)
    total = int(_np.prod(shape))
    hist = _weighted_counts(flat, total, weights)
    hist = _sh.reshape(astype(hist, _np.float64), shape)
    if density:
        s = _red.sum(hist)
        for i, e in enumerate(edges):
            w = _ew.subtract(getitem(e, slice(1, None)), getitem(e, slice(None, -1)))
            es = [1] * d
            es[i] = shape[i]
            hist = _ew.divide(hist, _sh.reshape(w, tuple(es)))
        hist = _ew.divide(hist, s)
    return hist, edges


def histogram2d(
    x: Any, y: Any, bins: Any = 10, range: Any = None, density: Any = None, weights: Any = None
) -> tuple:
    """``(H, xedges, yedges)``: the 2-d histogram of the points (x, y); ``bins`` a number,
    a pair of numbers, edges, or a pair of edge arrays. Derivatives as
    :func:`histogramdd`."""
    if not (_is_number(bins)):
        if isinstance(bins, (list, tuple)) and len(bins) == 2:
            pass
        elif len(_shape(bins)) == 1:
            bins = [bins, bins]
    hist, edges = histogramdd([x, y], bins, range, density, weights)
    return hist, edges[0], edges[1]
