r"""Order statistics (median, quantiles, percentiles), the nan-ignoring reductions,
covariance and correlation, and the peak-to-peak range.

Each function is a composition of the public functions of the other ops modules, so it
inherits their derivative rules in both modes, to any order, through ``jit`` and ``vmap``.

Order statistics sort the data (``sort`` is a permutation: its derivative moves with the
values) and read one element, or interpolate between two neighbours: with
:math:`g` the virtual index into the sorted values :math:`s` and
:math:`\gamma = g - \lfloor g \rfloor`,
:math:`y = (1 - \gamma)\, s_{\lfloor g \rfloor} + \gamma\, s_{\lfloor g \rfloor + 1}`, so
:math:`\partial y / \partial x_i` is :math:`1 - \gamma` for the element sorted to
:math:`\lfloor g \rfloor`, :math:`\gamma` for its successor and 0 elsewhere. Ties are
broken by position, as in ``sort``. Indices, counts and ``nanarg*`` carry no derivative.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # the quantile grid and dtype queries only; never on values

from ..core.trace import Tracer
from . import elementwise as _ew
from . import products as _pr
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, check_numeric, norm_axes
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import sort, take_along_axis
from .misc import astype

__all__ = [
    "median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile",
    "nanmax", "nanmin", "nanargmax", "nanargmin", "nanprod", "nancumsum", "nancumprod",
    "nanvar", "nanstd", "ptp", "cov", "corrcoef",
]  # fmt: skip


def _arr(x, op, what="a"):
    check_numeric(x, op, what)
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _no_out(out, op):
    if out is not None:
        raise OpError(f"{op}: out= is not supported (adgraph arrays are immutable); use the result")


# (alpha, beta) of the continuous methods (Hyndman and Fan): g = n q + alpha + q (1 -
# alpha - beta) - 1.
_CONTINUOUS = {
    "linear": (1.0, 1.0),
    "weibull": (0.0, 0.0),
    "hazen": (0.5, 0.5),
    "median_unbiased": (1 / 3, 1 / 3),
    "normal_unbiased": (3 / 8, 3 / 8),
    "interpolated_inverted_cdf": (0.0, 1.0),
}
_DISCRETE = ("lower", "higher", "nearest", "midpoint")
_METHODS = tuple(_CONTINUOUS) + _DISCRETE


def _index_and_gamma(n, q, method):
    """The lower index into the sorted slice and the interpolation weight toward the next.
    ``n`` is the slice length (a number, or an array of counts for the nan variants)."""
    if method in _CONTINUOUS:
        alpha, beta = _CONTINUOUS[method]
        g = _ew.subtract(_ew.add(_ew.multiply(n, q), alpha + q * (1 - alpha - beta)), 1.0)
        g = _ew.clip(g, 0.0, _ew.subtract(n, 1.0))
        lo = _ew.floor(g)
        return lo, _ew.subtract(g, lo)
    g = _ew.multiply(_ew.subtract(n, 1.0), q)
    if method == "lower":
        return _ew.floor(g), None
    if method == "higher":
        return _ew.ceil(g), None
    if method == "nearest":
        return _ew.around(g), None  # half to even, as NumPy
    lo = _ew.floor(g)  # midpoint
    return lo, _ew.where(_ew.equal(g, lo), 0.0, 0.5)


def _quantile(
    a, q, axis, keepdims, method, op, ignore_nan, weights=None, interpolation=None, q_like=None
):
    if weights is not None:
        raise OpError(f"{op}: weights= is not supported; give unweighted data")
    if interpolation is not None:
        method = interpolation
    if method not in _METHODS:
        raise OpError(
            f"{op}: method {method!r} is not supported; use one of {', '.join(_METHODS)} "
            "(inverted_cdf, averaged_inverted_cdf and closest_observation are not provided)"
        )
    if isinstance(q, Tracer):
        raise OpTypeError(
            f"{op}: q is traced; the quantile levels choose which elements are read, so "
            "they must be concrete (differentiate with respect to the data instead)"
        )
    # NumPy's result dtype: the data's float type promoted with q's (a Python float is weak)
    q_like = q if q_like is None else q_like
    q_like = q_like if isinstance(q_like, (float, int)) else _np.asarray(q_like)
    q = _np.asarray(q, dtype=_np.float64)
    if q.size and (q.min() < 0 or q.max() > 1 or _np.isnan(q).any()):
        raise OpError(f"{op}: quantiles must be in the range [0, 1]")
    a = _arr(a, op)
    dt = _np.dtype(_dtype(a))
    if dt.kind == "c":
        raise OpTypeError(f"{op}: complex data has no order; take the real part or abs first")
    if dt.kind not in "f":
        a = astype(a, _np.float64)
    s = _shape(a)
    axes = norm_axes(axis, len(s), op)
    keep = tuple(i for i in range(len(s)) if i not in axes)
    n_red = int(_np.prod([s[i] for i in axes], dtype=_np.int64))
    if n_red == 0:
        raise OpError(f"{op}: cannot take a quantile over an empty slice")
    batch = tuple(s[i] for i in keep)
    x = _sh.reshape(_sh.transpose(a, keep + axes), batch + (n_red,))
    xs = sort(x, axis=-1)  # nan sorts last
    nan_in = _ew.isnan(x)
    if ignore_nan:
        n = _red.sum(_ew.logical_not(nan_in), axis=-1, keepdims=True)
        n = astype(n, _np.float64)
        safe_n = _ew.maximum(n, 1.0)
    else:
        safe_n = float(n_red)
    qf = q.reshape(-1)
    lo, gamma = _index_and_gamma(safe_n, qf, method)
    k = len(qf)
    full = batch + (k,)
    lo_i = astype(_sh.broadcast_to(lo, full), _np.intp)
    below = take_along_axis(xs, lo_i, axis=-1)
    if gamma is None:
        y = below
    else:
        hi_i = _ew.minimum(_ew.add(lo_i, 1), astype(_ew.subtract(safe_n, 1.0), _np.intp))
        above = take_along_axis(xs, _sh.broadcast_to(hi_i, full), axis=-1)
        gamma = astype(_sh.broadcast_to(gamma, full), _dtype(xs))
        diff = _ew.subtract(above, below)
        # NumPy's lerp: from the nearer end, so that gamma = 0 or 1 returns the element exactly
        y = _ew.where(
            _ew.greater_equal(gamma, 0.5),
            _ew.subtract(above, _ew.multiply(diff, _ew.subtract(1.0, gamma))),
            _ew.add(below, _ew.multiply(diff, gamma)),
        )
        # the lerp is nan (inf - inf, inf * 0) where a neighbour is infinite, but the
        # weighted mean (1 - gamma) below + gamma above has an answer there: the end
        # itself at gamma 0 or 1, the infinite neighbour between (nan for -inf with inf)
        lost = _ew.logical_and(
            _ew.isnan(y), _ew.logical_not(_ew.logical_or(_ew.isnan(below), _ew.isnan(above)))
        )
        mean = _ew.where(
            _ew.equal(gamma, 0.0),
            below,
            _ew.where(_ew.equal(gamma, 1.0), above, _ew.add(below, above)),
        )
        y = _ew.where(lost, mean, y)
    if ignore_nan:
        y = _ew.where(_ew.equal(_sh.broadcast_to(n, full), 0.0), _np.nan, y)
    else:
        has_nan = _red.any(nan_in, axis=-1, keepdims=True)
        y = _ew.where(has_nan, _np.nan, y)
    # the quantile axis first, then the kept axes (or the reduced ones kept as 1)
    y = _sh.moveaxis(y, -1, 0)
    if keepdims:
        out_shape = tuple(1 if i in axes else s[i] for i in range(len(s)))
    else:
        out_shape = batch
    y = _sh.reshape(y, q.shape + out_shape)
    out_dt = _np.result_type(_dtype(a), q_like)
    if dt.kind in "iu" and method in ("lower", "higher", "nearest"):
        out_dt = dt  # an element of the data, in its own dtype
    if out_dt != _np.dtype(_dtype(y)):
        y = astype(y, out_dt)
    return y


def quantile(
    a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    method: str = "linear", keepdims: bool = False, *, weights: Any = None,
    interpolation: Any = None,
) -> Any:  # fmt: skip
    r"""The ``q``-th quantiles (``q`` in [0, 1], scalar or array; its axes come first in
    the result) of ``a`` over ``axis``, with NumPy's ``method`` (``'linear'`` by default,
    ``'lower'``, ``'higher'``, ``'nearest'``, ``'midpoint'``, ``'weibull'``, ``'hazen'``,
    ``'median_unbiased'``, ``'normal_unbiased'``, ``'interpolated_inverted_cdf'``). A slice
    holding nan gives nan.

    The derivative follows the selected or interpolated elements: :math:`1 - \gamma` to
    the element sorted at the lower index, :math:`\gamma` to the next (see the module
    docstring). ``q`` must be concrete."""
    _no_out(out, "quantile")
    return _quantile(a, q, axis, keepdims, method, "quantile", False, weights, interpolation)


def _fraction(q: Any, name: str) -> Any:
    """Percentiles ``q`` (in [0, 100]) as the fractions :func:`quantile` takes."""
    if isinstance(q, Tracer):
        return q
    qa = _np.asarray(q, dtype=_np.float64)
    if qa.size and (qa.min() < 0 or qa.max() > 100):
        raise OpError(f"{name}: percentiles must be in the range [0, 100]")
    return qa / 100.0


def percentile(
    a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    method: str = "linear", keepdims: bool = False, *, weights: Any = None,
    interpolation: Any = None,
) -> Any:  # fmt: skip
    r"""The ``q``-th percentiles (``q`` in [0, 100]): :func:`quantile` at ``q / 100``, with
    its methods and derivative (it follows the selected or interpolated elements)."""
    _no_out(out, "percentile")
    qq = _fraction(q, "percentile")
    return _quantile(
        a, qq, axis, keepdims, method, "percentile", False, weights, interpolation, q_like=q
    )


def median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    keepdims: bool = False,
) -> Any:  # fmt: skip
    r"""The median over ``axis``: the middle element of the sorted values, or the mean of
    the two middle ones. Its derivative is 1 for the middle element (1/2 for each of the
    two middle ones) and 0 elsewhere. A slice holding nan gives nan."""
    _no_out(out, "median")
    return _quantile(a, 0.5, axis, keepdims, "linear", "median", False)


def nanquantile(
    a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    method: str = "linear", keepdims: bool = False, *, weights: Any = None,
    interpolation: Any = None,
) -> Any:  # fmt: skip
    r""":func:`quantile` of the elements that are not nan (each slice its own count); an
    all-nan slice gives nan. nan elements get zero derivative."""
    _no_out(out, "nanquantile")
    return _quantile(a, q, axis, keepdims, method, "nanquantile", True, weights, interpolation)


def nanpercentile(
    a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    method: str = "linear", keepdims: bool = False, *, weights: Any = None,
    interpolation: Any = None,
) -> Any:  # fmt: skip
    r""":func:`percentile` of the elements that are not nan; nan elements get zero
    derivative."""
    _no_out(out, "nanpercentile")
    qq = _fraction(q, "nanpercentile")
    return _quantile(
        a, qq, axis, keepdims, method, "nanpercentile", True, weights, interpolation, q_like=q
    )


def nanmedian(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
    keepdims: bool = False,
) -> Any:  # fmt: skip
    r""":func:`median` of the elements that are not nan; an all-nan slice gives nan. The
    derivative goes to the middle element(s) among those."""
    _no_out(out, "nanmedian")
    return _quantile(a, 0.5, axis, keepdims, "linear", "nanmedian", True)


# ----------------------------------------------------------------- nan reductions
def _is_float(x) -> bool:
    return _np.dtype(_dtype(x)).kind in "fc"


def _nan_extremum(a, axis, keepdims, op, fill, reduce):
    a = _arr(a, op)
    if not _is_float(a):
        return reduce(a, axis=axis, keepdims=keepdims)
    nan_in = _ew.isnan(a)
    y = reduce(_ew.where(nan_in, fill, a), axis=axis, keepdims=keepdims)
    return _ew.where(_red.all(nan_in, axis=axis, keepdims=keepdims), _np.nan, y)


def nanmax(
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
    where: Any = None,
) -> Any:  # fmt: skip
    r"""The maximum over ``axis`` ignoring nan (nan for an all-nan slice). The derivative
    goes to the maximal element (shared equally among ties), as :func:`max`'s."""
    _no_out(out, "nanmax")
    if initial is not None or where is not None:
        raise OpError("nanmax: initial= and where= are not supported")
    return _nan_extremum(a, axis, keepdims, "nanmax", -_np.inf, _red.max)


def nanmin(
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, initial: Any = None,
    where: Any = None,
) -> Any:  # fmt: skip
    r"""The minimum over ``axis`` ignoring nan (nan for an all-nan slice). The derivative
    goes to the minimal element (shared equally among ties), as :func:`min`'s."""
    _no_out(out, "nanmin")
    if initial is not None or where is not None:
        raise OpError("nanmin: initial= and where= are not supported")
    return _nan_extremum(a, axis, keepdims, "nanmin", _np.inf, _red.min)


def _nanarg(a, axis, out, keepdims, op, fill, f):
    _no_out(out, op)
    a = _arr(a, op)
    if not _is_float(a):
        return f(a, axis=axis, keepdims=keepdims)
    nan_in = _ew.isnan(a)
    if not isinstance(a, Tracer):
        if bool(_np.any(_np.all(_np.asarray(nan_in), axis=axis))):
            raise OpError(f"{op}: all-NaN slice encountered")
        return f(_ew.where(nan_in, fill, a), axis=axis, keepdims=keepdims)
    # traced: the values may be unknown (jit), so an all-nan slice cannot be refused; it
    # gives -1, as in JAX, rather than the index 0 of a nan
    idx = f(_ew.where(nan_in, fill, a), axis=axis, keepdims=keepdims)
    return _ew.where(_red.all(nan_in, axis=axis, keepdims=keepdims), -1, idx)


def nanargmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """The index of the maximum over ``axis`` ignoring nan (an all-nan slice is an error;
    on traced values, whose nan may be unknown, it gives -1 as in JAX). Integer: no
    derivative."""
    return _nanarg(a, axis, out, keepdims, "nanargmax", -_np.inf, _red.argmax)


def nanargmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """The index of the minimum over ``axis`` ignoring nan (an all-nan slice is an error;
    on traced values, whose nan may be unknown, it gives -1 as in JAX). Integer: no
    derivative."""
    return _nanarg(a, axis, out, keepdims, "nanargmin", _np.inf, _red.argmin)


def _nan_fill(a, value, op):
    a = _arr(a, op)
    return _ew.where(_ew.isnan(a), value, a) if _is_float(a) else a


def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
    initial: Any = None, where: Any = None,
) -> Any:  # fmt: skip
    r"""The product over ``axis`` with nan treated as 1: :func:`prod`'s derivative for the
    other elements, 0 for the nan ones."""
    _no_out(out, "nanprod")
    if initial is not None or where is not None:
        raise OpError("nanprod: initial= and where= are not supported")
    return _red.prod(_nan_fill(a, 1.0, "nanprod"), axis=axis, dtype=dtype, keepdims=keepdims)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    r"""Running sum along ``axis`` with nan treated as 0 (flattened when ``axis`` is
    None); linear, nan elements get zero derivative."""
    _no_out(out, "nancumsum")
    return _red.cumsum(_nan_fill(a, 0.0, "nancumsum"), axis=axis, dtype=dtype)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    r"""Running product along ``axis`` with nan treated as 1 (flattened when ``axis`` is
    None); :func:`cumprod`'s derivative, 0 for nan elements."""
    _no_out(out, "nancumprod")
    return _red.cumprod(_nan_fill(a, 1.0, "nancumprod"), axis=axis, dtype=dtype)


def _nan_moment_args(name, a, dtype, out, ddof, where, mean, correction):
    """``nanvar``/``nanstd``'s checks of their NumPy keywords, and ``a`` as a floating
    array of ``dtype``; returns ``(a, ddof)`` (``correction`` is ``ddof``'s other name)."""
    _no_out(out, name)
    if where is not None or mean is not None:
        raise OpError(f"{name}: where= and mean= are not supported")
    if correction is not None:
        if ddof != 0:
            raise OpError(f"{name}: give ddof or correction, not both")
        ddof = correction
    a = _arr(a, name)
    if not _is_float(a):
        a = astype(a, _np.float64)
    if dtype is not None:
        a = astype(a, dtype)
    return a, ddof


def nanvar(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
    keepdims: bool = False, *, where: Any = None, mean: Any = None, correction: Any = None,
) -> Any:  # fmt: skip
    r"""The variance over ``axis`` of the elements that are not nan,
    :math:`\frac{1}{k - \text{ddof}} \sum (x_i - \bar x)^2` (``|.|^2`` for complex), with
    :math:`k` each slice's count. :math:`\partial y/\partial x_i =
    \frac{2 (x_i - \bar x)}{k - \text{ddof}}` for the counted elements, 0 for nan."""
    a, ddof = _nan_moment_args("nanvar", a, dtype, out, ddof, where, mean, correction)
    nan_in = _ew.isnan(a)
    m = _red.nanmean(a, axis=axis, keepdims=True)
    d = _ew.where(nan_in, 0.0, _ew.subtract(a, m))
    sq = (
        _ew.real(_ew.multiply(d, _ew.conj(d)))
        if _np.dtype(_dtype(a)).kind == "c"
        else _ew.square(d)
    )
    k = _red.sum(_ew.logical_not(nan_in), axis=axis, keepdims=keepdims)
    total = _red.sum(sq, axis=axis, keepdims=keepdims)
    den = _ew.subtract(astype(k, _dtype(total)), ddof)
    return _ew.divide(total, _ew.where(_ew.greater(den, 0), den, _np.nan))


def nanstd(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
    keepdims: bool = False, *, where: Any = None, mean: Any = None, correction: Any = None,
) -> Any:  # fmt: skip
    r"""The square root of :func:`nanvar`: :math:`\partial y/\partial x_i =
    \frac{x_i - \bar x}{(k - \text{ddof})\, y}` for the counted elements, 0 for nan, and
    0 for all where the counted elements are equal (as for :func:`std`).

    Computed as :func:`std` of ``x`` with its nan entries replaced by the mean of the others
    (they add nothing to the squares), times :math:`\sqrt{n / (k - \text{ddof})}`: ``std``
    keeps the value and derivative right where the squared deviations underflow or
    overflow, where ``sqrt(nanvar)`` read 0 or inf and gave nan or 0 derivatives."""
    a, ddof = _nan_moment_args("nanstd", a, dtype, out, ddof, where, mean, correction)
    nan_in = _ew.isnan(a)
    # one count and one sum serve the mean (keepdims) and the divisor
    k = astype(_red.sum(_ew.logical_not(nan_in), axis=axis, keepdims=True), _dtype(a).char.lower())
    m = _ew.divide(_red.sum(_ew.where(nan_in, 0.0, a), axis=axis, keepdims=True), k)
    s = _red.std(_ew.where(nan_in, m, a), axis=axis, keepdims=keepdims)
    axes = norm_axes(axis, len(_shape(a)), "nanstd")
    n = 1
    for ax in axes:
        n *= _shape(a)[ax]
    den = _ew.subtract(k if keepdims else _sh.reshape(k, _shape(s)), ddof)
    ok = _ew.greater(den, 0)
    scale = _ew.sqrt(_ew.divide(float(n), _ew.where(ok, den, 1.0)))
    return _ew.where(ok, _ew.multiply(s, scale), _np.nan)


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    r"""Peak to peak: ``max - min`` over ``axis``; the derivative is +1 at the maximum and
    -1 at the minimum (shared among ties)."""
    _no_out(out, "ptp")
    a = _arr(a, "ptp")
    return _ew.subtract(
        _red.max(a, axis=axis, keepdims=keepdims), _red.min(a, axis=axis, keepdims=keepdims)
    )


# ----------------------------------------------------------------- covariance
def cov(
    m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
    fweights: Any = None, aweights: Any = None, *, dtype: Any = None,
) -> Any:  # fmt: skip
    r"""The covariance matrix of the variables in the rows of ``m`` (columns when
    ``rowvar`` is False), with ``y`` as more variables, normalised by
    :math:`N - 1` (``N`` with ``bias``, :math:`N - \text{ddof}` with ``ddof``), and
    NumPy's frequency and analytic weights:
    :math:`C = \frac{(X - \bar X) W (X - \bar X)^H}{\sum w - \text{ddof}\,\ldots}`.
    A 0-d result for one variable. A polynomial of the data (and of the weights), so
    differentiable in all of them."""
    if ddof is not None and ddof != int(ddof):
        raise OpTypeError("cov: ddof must be an integer")
    m = _arr(m, "cov", "m")
    if len(_shape(m)) > 2:
        raise OpError(f"cov: m has more than 2 dimensions ({len(_shape(m))})")
    if dtype is None:
        dtype = _np.result_type(_dtype(m), _np.float64)
        if y is not None:
            dtype = _np.result_type(dtype, _dtype(y))
    X = _sh.atleast_2d(astype(m, dtype))
    if not rowvar and _shape(X)[0] != 1:
        X = _sh.transpose(X)
    if _shape(X)[0] == 0:
        return _np.array([]).reshape(0, 0)
    if y is not None:
        y = _arr(y, "cov", "y")
        if len(_shape(y)) > 2:
            raise OpError(f"cov: y has more than 2 dimensions ({len(_shape(y))})")
        Y = _sh.atleast_2d(astype(y, dtype))
        if not rowvar and _shape(Y)[0] != 1:
            Y = _sh.transpose(Y)
        if _shape(Y)[1] != _shape(X)[1]:
            raise OpError(
                f"cov: m has {_shape(X)[1]} observations but y has {_shape(Y)[1]}; give y the "
                "same number of observations (columns, or rows with rowvar=False)"
            )
        from .joining import concatenate

        X = concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _shape(X)[1]
    w = None
    if fweights is not None:
        if isinstance(fweights, Tracer):
            raise OpTypeError("cov: fweights are integer counts and cannot be traced")
        fw = _np.asarray(fweights)
        if not _np.all(fw == _np.around(fw)):
            raise OpTypeError("cov: fweights must be integer")
        if fw.ndim > 1 or fw.shape[0] != nobs:
            raise OpError("cov: fweights must be 1-d with one weight per observation")
        if _np.any(fw < 0):
            raise OpError("cov: fweights cannot be negative")
        w = fw.astype(_np.float64)
    if aweights is not None:
        aw = _arr(aweights, "cov", "aweights")
        if len(_shape(aw)) != 1 or _shape(aw)[0] != nobs:
            raise OpError("cov: aweights must be 1-d with one weight per observation")
        if not isinstance(aw, Tracer) and _np.any(_np.asarray(aw) < 0):
            raise OpError("cov: aweights cannot be negative")
        w = aw if w is None else _ew.multiply(w, aw)
    if w is None:
        avg = _red.mean(X, axis=1, keepdims=True)
        wsum = float(nobs)
        fact = float(nobs - ddof)
    else:
        wsum = _red.sum(w)
        avg = _ew.divide(_red.sum(_ew.multiply(X, w), axis=1, keepdims=True), wsum)
        if ddof == 0:
            fact = wsum
        elif aweights is None:
            fact = _ew.subtract(wsum, ddof)
        else:
            fact = _ew.subtract(
                wsum, _ew.divide(_ew.multiply(ddof, _red.sum(_ew.multiply(w, aw))), wsum)
            )
    if not isinstance(fact, Tracer) and _np.all(_np.asarray(fact) <= 0):
        import warnings

        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    Xc = _ew.subtract(X, avg)
    Xw = Xc if w is None else _ew.multiply(Xc, w)
    c = _pr.matmul(Xw, _ew.conj(_sh.transpose(Xc)))
    c = _ew.divide(c, fact)
    return _sh.squeeze(c) if _shape(c) == (1, 1) else c


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    r"""Pearson correlation coefficients: the covariance matrix scaled by its diagonal,
    :math:`R_{ij} = C_{ij} / \sqrt{C_{ii} C_{jj}}`, with the real parts clipped to
    [-1, 1] as in NumPy (the diagonal, always 1, then has derivative 0, which is exact)."""
    c = cov(x, y, rowvar, dtype=dtype)
    if not _shape(c):
        return _ew.divide(c, c)
    d = _pr.diagonal(c)
    sd = _ew.sqrt(_ew.real(d))
    c = _ew.divide(_ew.divide(c, _sh.expand_dims(sd, 1)), _sh.expand_dims(sd, 0))
    if _np.dtype(_dtype(c)).kind == "c":
        re = _ew.clip(_ew.real(c), -1, 1)
        im = _ew.clip(_ew.imag(c), -1, 1)
        return _ew.add(astype(re, _dtype(c)), _ew.multiply(astype(im, _dtype(c)), 1j))
    return _ew.clip(c, -1, 1)
