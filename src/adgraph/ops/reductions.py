r"""Reductions over axes: sums, products, moments, running sums and products, extrema.

``sum`` is the linear primitive (``reduce_sum``, declared in ``shapes`` beside
``broadcast_to``, its transpose); ``mean`` is a scaled sum. ``max``/``min`` send the
derivative to the extremal elements, split evenly between ties.

``prod`` and ``cumprod`` never divide by the input: the derivative of a product with
respect to one factor is the product of the *other* factors, computed from running
products, so it is exact when factors are zero (one or several) and differentiable again.
The running-product rules are linear recurrences :math:`s_k = a_k s_{k-1} + b_k`, solved
by a log-depth scan (:func:`_scan`) of adgraph operations.
"""

from __future__ import annotations

import math

import numpy as _np  # dtype rules only (the accumulator of a sum)
from numpy import ndarray as _ndarray

from ..ad.rules import nondiff
from ..ad.sparsity import cumulative_rule, reduction_rule
from ..ad.taylor import RULES as _TAYLOR
from ..core.primitive import Primitive
from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, is_inexact, norm_axes, norm_axis, shape
from ._util import dtype as _dtype
from .elementwise import (
    add,
    conj,
    divide,
    equal,
    isnan,
    logical_not,
    multiply,
    real,
    sqrt,
    subtract,
)
from .elementwise import where as _select  # for functions with a ``where`` parameter
from .shapes import broadcast_to, reduce_sum_p, reshape, transpose

# fmt: off
__all__ = [
    "sum", "mean", "prod", "var", "std", "cumsum", "cumprod", "average", "nansum", "nanmean",
    "max", "min", "amax", "amin", "all", "any", "argmax", "argmin", "count_nonzero",
]


def _reduce(xp, x, name, axis, keepdims):
    """``xp.<name>(x, axis, keepdims)``; a NumPy array's own method skips numpy's
    function-level dispatch (the same reduction)."""
    if type(x) is _ndarray:
        return getattr(x, name)(axis=axis, keepdims=keepdims)
    return getattr(xp, name)(x, axis=axis, keepdims=keepdims)

# fmt: on


def _axes(a, axis, op):
    return norm_axes(axis, len(shape(a)), op)


def _no_out(out, op):
    if out is not None:
        raise OpError(f"{op}: out= is not supported (adgraph arrays are immutable); use the result")


def _keep_shape(xs, axes):
    s = list(xs)
    for ax in axes:
        s[ax] = 1
    return tuple(s)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    r"""Sum of elements over ``axis``: :math:`y = \sum_{i \in \text{axis}} x_i`.

    Linear; the cotangent is broadcast back over the summed axes,
    :math:`\bar x_i = \bar y`. ``where`` (a boolean mask) leaves elements out (their
    derivative is 0); ``initial`` is added to the sum.
    """
    if out is not None:
        raise OpError("sum: out= is not supported (adgraph arrays are immutable)")
    if where is not None:
        from .elementwise import where as _where

        a = _where(where, a, 0)
    if initial is not None:
        from .elementwise import add

        return _as_requested(add(sum(a, axis, dtype, None, keepdims), initial), dtype)
    axes = _axes(a, axis, "sum")
    if dtype is not None:
        from .misc import astype

        a = astype(a, dtype)
    if not axes and not keepdims:
        return _as_requested(_accumulator(a), dtype)
    return _as_requested(reduce_sum_p.bind(a, axis=axes, keepdims=bool(keepdims)), dtype)


def _as_requested(y, dtype):
    """A sum or product with an explicit small integer or bool ``dtype`` in that dtype, as
    NumPy accumulates it (wrapping modulo its range; ``or`` / ``and`` for bool): the
    reduction itself runs in the wider accumulator, and integer arithmetic modulo
    :math:`2^{64}` narrows to the same values."""
    if dtype is None:
        return y
    from .misc import astype

    dt = _np.dtype(dtype)
    return y if _dtype(y) == dt else astype(y, dt)


def _accumulator(a):
    """``a`` as a sum or product over no axis leaves it: in NumPy's accumulator dtype
    (bool and the small integers become int64 or uint64), so that ``sum(x > 0) +
    sum(y > 0)`` counts rather than or-ing two booleans, and ``sum(int8(100)) + 100``
    does not wrap."""
    from .misc import astype

    dt = _dtype(a)
    if dt.kind not in "biu":
        return a
    acc = _np.sum(_np.zeros((), dtype=dt)).dtype
    return a if acc == dt else astype(a, acc)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    r"""Arithmetic mean over ``axis``: :math:`y = \frac1n \sum_i x_i`; :math:`\bar x_i = \bar y / n`.
    ``where`` (a boolean mask) averages the selected elements only."""
    _no_out(out, "mean")
    if where is not None:
        return _masked_mean(a, axis, dtype, keepdims, where, "mean")
    axes = _axes(a, axis, "mean")
    s = shape(a)
    n = 1
    for ax in axes:
        n *= s[ax]
    total = sum(a, axes, dtype=dtype, out=out, keepdims=keepdims)
    if not _is_inexact(total):
        from .misc import astype

        total = astype(total, "float64")
    return _mean_as(divide(total, float(n)) if n else divide(total, 0.0), dtype)


def _mean_as(y, dtype):
    """An integer ``dtype=`` asks for the mean truncated to that type (NumPy divides in
    floating point and casts); the sum alone in that type is not the mean."""
    if dtype is None or _np.dtype(dtype).kind not in "biu":
        return y
    from .misc import astype

    return astype(y, dtype)


def _masked_mean(a, axis, dtype, keepdims, mask, op):
    """The mean of the elements where ``mask`` holds (their count divides)."""
    from .misc import astype

    _axes(a, axis, op)
    total = sum(a, axis, dtype=dtype, keepdims=keepdims, where=mask)
    if not _is_inexact(total):
        total = astype(total, "float64")
    count = sum(broadcast_to(mask, shape(a)), axis, keepdims=keepdims)
    return _mean_as(divide(total, astype(count, _dtype(total))), dtype)


def _is_inexact(x):
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _count(a, axes):
    n = 1
    s = shape(a)
    for ax in axes:
        n *= s[ax]
    return n


def _reduce_batch(prim):
    def rule(vals, batched, size, *, axis, **params):
        return prim.bind(vals[0], axis=tuple(a + 1 for a in axis), **params)

    return rule


def _axis_batch(prim):
    def rule(vals, batched, size, *, axis, **params):
        return prim.bind(vals[0], axis=axis + 1, **params)

    return rule


def _expand_back(ct, xs, axis, keepdims):
    """The cotangent of a reduction over ``axis`` broadcast back to the input shape."""
    if not keepdims:
        ct = reshape(ct, _keep_shape(xs, axis))
    return broadcast_to(ct, xs)


# ------------------------------------------------------------------ scans and shifts
def _fill(like_shape, dtype, value, like):
    from .creation import zeros_raw

    z = zeros_raw(like_shape, dtype, like)
    return z + value if value else z


def _shift(x, d, axis, value):
    """``x`` moved ``d`` places along ``axis`` (toward higher indices for d > 0, lower for
    d < 0), the vacated places filled with the constant ``value``. Linear in ``x``."""
    from .indexing import getitem
    from .joining import concatenate

    xs = shape(x)
    n = xs[axis]
    k = d if d > 0 else -d
    if k >= n:
        return _fill(xs, _dtype(x), value, x)
    pad = _fill(xs[:axis] + (k,) + xs[axis + 1 :], _dtype(x), value, x)
    lead = (slice(None),) * axis
    if d > 0:
        return concatenate([pad, getitem(x, lead + (slice(0, n - k),))], axis=axis)
    return concatenate([getitem(x, lead + (slice(k, n),)), pad], axis=axis)


def _scan(a, b, axis, reverse=False):
    r"""Solve :math:`s_k = a_k s_{k-1} + b_k` (:math:`s_{-1} = 0`) along ``axis``; with
    ``reverse``, :math:`s_k = a_k s_{k+1} + b_k` (:math:`s_n = 0`).

    Hillis-Steele doubling: after the step of width :math:`d`, entry :math:`k` holds the
    composition of the affine maps :math:`s \mapsto a_j s + b_j` of the :math:`2d` entries
    ending at :math:`k`. :math:`\lceil\log_2 n\rceil` steps of products, sums and shifts:
    no division, so zeros in ``a`` are exact, and every step is differentiable again.
    """
    n = shape(b)[axis]
    sgn = -1 if reverse else 1
    d = 1
    while d < n:
        b = add(b, multiply(a, _shift(b, sgn * d, axis, 0)))
        if 2 * d < n:
            a = multiply(a, _shift(a, sgn * d, axis, 1))
        d *= 2
    return b


# ------------------------------------------------------------------ prod
def _flip(x, axis):
    from .indexing import getitem

    return getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def _others_product(x, axis):
    r""":math:`\partial(\prod_{j} x_j)/\partial x_i = \prod_{j \ne i} x_j` over the axes
    ``axis`` (a tuple), shaped like ``x``: the product of the elements before ``i`` times
    the product of those after it, both from running products (no division)."""
    xs = shape(x)
    rest = tuple(i for i in range(len(xs)) if i not in axis)
    perm = rest + tuple(axis)
    n = _count(x, axis)
    flat = reshape(transpose(x, perm), tuple(xs[i] for i in rest) + (n,))
    last = len(rest)
    before = _shift(cumprod_p.bind(flat, axis=last), 1, last, 1)
    after = _shift(_flip(cumprod_p.bind(_flip(flat, last), axis=last), last), -1, last, 1)
    d = reshape(multiply(before, after), tuple(xs[i] for i in perm))
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return transpose(d, inv)


def _prod_tangent(t, ans, x, *, axis, keepdims):
    return reduce_sum_p.bind(multiply(t, _others_product(x, axis)), axis=axis, keepdims=keepdims)


def _prod_vjp(ct, ans, x, *, axis, keepdims):
    return multiply(_expand_back(ct, shape(x), axis, keepdims), _others_product(x, axis))


prod_p = Primitive(
    "reduce_prod",
    lambda xp, x, *, axis, keepdims: _reduce(xp, x, "prod", axis, keepdims),
    tangent=(_prod_tangent,),
    vjp=(_prod_vjp,),
    sparsity=reduction_rule,
    doc=r"""y = product of x over axes; :math:`\partial y/\partial x_i = \prod_{j\ne i} x_j`,
    from running products (exact with zero factors, differentiable again).""",
    taylor=_TAYLOR["reduce_prod"],
)
prod_p.batch = _reduce_batch(prod_p)
prod_p.needs = (frozenset([0]),)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    r"""Product of elements over ``axis``: :math:`y = \prod_{i \in \text{axis}} x_i`.

    The derivative with respect to one factor is the product of the others,

    .. math:: \frac{\partial y}{\partial x_i} = \prod_{j \ne i} x_j,

    computed as (product of the factors before :math:`i`) times (product of those after
    it) from running products -- never as :math:`y / x_i`. So it is exact when factors are
    zero: with one zero factor :math:`x_k = 0` only :math:`\partial y/\partial x_k` is
    nonzero, with two or more all first derivatives vanish, and higher derivatives
    (:math:`\partial^2 y/\partial x_i\partial x_j = \prod_{l \ne i, j} x_l`) are exact too.
    Complex input: holomorphic, the same formula. ``where`` (a boolean mask) leaves
    elements out (as factors 1); ``initial`` multiplies the product.
    """
    if out is not None:
        raise OpError("prod: out= is not supported (adgraph arrays are immutable)")
    if where is not None:
        a = _select(where, a, 1)
    if initial is not None:
        return _as_requested(multiply(prod(a, axis, dtype, None, keepdims), initial), dtype)
    axes = _axes(a, axis, "prod")
    if dtype is not None:
        from .misc import astype

        a = astype(a, dtype)
    if not axes and not keepdims:
        return _as_requested(_accumulator(a), dtype)
    return _as_requested(prod_p.bind(a, axis=axes, keepdims=bool(keepdims)), dtype)


# ------------------------------------------------------------------ cumsum / cumprod
def _cumsum_t(ct, x, *, axis):
    # The transpose of a running sum is the running sum from the other end.
    return _flip(cumsum_p.bind(_flip(ct, axis), axis=axis), axis)


cumsum_p = Primitive(
    "cumsum",
    lambda xp, x, *, axis: xp.cumsum(x, axis=axis),
    sparsity=cumulative_rule,
    doc=r"""Running sum :math:`y_k = \sum_{j\le k} x_j` along an axis. Linear; the
    transpose is the running sum from the end, :math:`\bar x_j = \sum_{k \ge j} \bar y_k`.""",
    taylor=_TAYLOR["cumsum"],
)
cumsum_p.tangent = (lambda t, ans, x, *, axis: cumsum_p.bind(t, axis=axis),)
cumsum_p.vjp = (lambda ct, ans, x, *, axis: _cumsum_t(ct, x, axis=axis),)
cumsum_p.batch = _axis_batch(cumsum_p)
cumsum_p.needs = (frozenset(),)


def _cumprod_tangent(t, ans, x, *, axis):
    # dy_k = x_k dy_{k-1} + y_{k-1} dx_k
    return _scan(x, multiply(_shift(ans, 1, axis, 1), t), axis)


def _cumprod_vjp(ct, ans, x, *, axis):
    # xbar_i = y_{i-1} s_i with s_i = ybar_i + x_{i+1} s_{i+1}
    s = _scan(_shift(x, -1, axis, 1), ct, axis, reverse=True)
    return multiply(_shift(ans, 1, axis, 1), s)


def _cumprod_taylor(primals, series, params):
    r"""Taylor rule: coefficient k of :math:`y_i = y_{i-1} x_i` is the same running
    recurrence, :math:`y_{i,k} = x_{i,0}\,y_{i-1,k} + \sum_{j<k} y_{i-1,j}\,x_{i,k-j}`
    (:math:`y_{-1} = 1`), solved by the scan: O(K^2) products, no division."""
    (x,), (sx,) = primals, series
    axis = params["axis"]
    ans = cumprod_p.bind(x, axis=axis)
    xs, ys = [x, *sx], [ans]
    for k in range(1, len(xs)):
        b = multiply(_shift(ans, 1, axis, 1), xs[k])
        for j in range(1, k):
            b = add(b, multiply(_shift(ys[j], 1, axis, 0), xs[k - j]))
        ys.append(_scan(x, b, axis))
    return ans, ys[1:]


cumprod_p = Primitive(
    "cumprod",
    lambda xp, x, *, axis: xp.cumprod(x, axis=axis),
    tangent=(_cumprod_tangent,),
    vjp=(_cumprod_vjp,),
    sparsity=cumulative_rule,
    doc=r"""Running product :math:`y_k = \prod_{j\le k} x_j` along an axis. Tangent:
    :math:`\dot y_k = x_k \dot y_{k-1} + y_{k-1}\dot x_k`; cotangent:
    :math:`\bar x_i = y_{i-1} s_i`, :math:`s_i = \bar y_i + x_{i+1} s_{i+1}`; both
    recurrences solved by a log-depth scan without division (exact at zeros).""",
    taylor=_cumprod_taylor,
)
cumprod_p.batch = _axis_batch(cumprod_p)
cumprod_p.needs = (frozenset([0, "ans"]),)


def _cum(prim, a, axis, dtype, out, op):
    if out is not None:
        raise OpError(f"{op}: out= is not supported (adgraph arrays are immutable)")
    if dtype is not None:
        from .misc import astype

        a = astype(a, dtype)
    if axis is None:
        from .shapes import ravel

        a = ravel(a)
        axis = 0
    else:
        axis = norm_axis(axis, len(shape(a)), op)
    return _as_requested(prim.bind(a, axis=axis), dtype)


def cumsum(a, axis=None, dtype=None, out=None):
    r"""Running sum along ``axis`` (of the flattened array when ``axis`` is None):
    :math:`y_k = \sum_{j \le k} x_j`.

    Linear: :math:`\dot y_k = \sum_{j\le k}\dot x_j`, and the cotangent is the running sum
    taken from the other end, :math:`\bar x_j = \sum_{k \ge j} \bar y_k`.
    """
    return _cum(cumsum_p, a, axis, dtype, out, "cumsum")


def cumprod(a, axis=None, dtype=None, out=None):
    r"""Running product along ``axis`` (of the flattened array when ``axis`` is None):
    :math:`y_k = \prod_{j \le k} x_j`.

    .. math:: \frac{\partial y_k}{\partial x_i} = \prod_{j \le k,\ j \ne i} x_j
       \quad (i \le k),

    so :math:`\dot y_k = x_k \dot y_{k-1} + y_{k-1}\dot x_k` and
    :math:`\bar x_i = y_{i-1} s_i` with :math:`s_i = \bar y_i + x_{i+1} s_{i+1}`. Both
    linear recurrences are solved by a scan of :math:`\lceil\log_2 n\rceil` steps of
    products and sums: no division by :math:`x`, so the derivatives are exact when
    elements are zero, and differentiable again.
    """
    return _cum(cumprod_p, a, axis, dtype, out, "cumprod")


# ------------------------------------------------------------------ var / std / average
def _var_scale(x, axis, ddof):
    k = _count(x, axis) - ddof
    return 2.0 / k if k > 0 else math.inf


def _centered_conj(x, axis):
    return conj(subtract(x, mean(x, axis, keepdims=True)))


def _var_tangent(t, ans, x, *, axis, keepdims, ddof):
    w = real(multiply(_centered_conj(x, axis), t))
    return multiply(reduce_sum_p.bind(w, axis=axis, keepdims=keepdims), _var_scale(x, axis, ddof))


def _var_vjp(ct, ans, x, *, axis, keepdims, ddof):
    ct = _expand_back(ct, shape(x), axis, keepdims)
    return multiply(ct, multiply(_centered_conj(x, axis), _var_scale(x, axis, ddof)))


var_p = Primitive(
    "reduce_var",
    lambda xp, x, *, axis, keepdims, ddof: xp.var(x, axis=axis, ddof=ddof, keepdims=keepdims),
    tangent=(_var_tangent,),
    vjp=(_var_vjp,),
    sparsity=reduction_rule,
    doc=r"""y = variance of x over axes, :math:`\sum_i |x_i - \bar x|^2/(n - \text{ddof})`;
    :math:`\dot y = \frac{2}{n-\text{ddof}}\sum_i \operatorname{Re}(\overline{(x_i-\bar x)}
    \dot x_i)`, :math:`\bar x_i = \frac{2}{n-\text{ddof}}\,\bar y\,\overline{(x_i - \bar x)}`.""",
    taylor=_TAYLOR["reduce_var"],
)
var_p.batch = _reduce_batch(var_p)
var_p.needs = (frozenset([0]),)


def _std_impl(xp, x, *, axis, keepdims, ddof):
    s = xp.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
    if not isinstance(s, (_np.ndarray, _np.generic)) or s.dtype.kind != "f":
        return s
    fi = _np.finfo(s.dtype)
    # Below sqrt(tiny / eps) the sum of squares has lost digits (or underflowed to 0, so a
    # nonzero std read 0); inf may be an overflow of squares of finite deviations. Decided
    # on the output, so full-precision values cost one comparison per result.
    bad = (s <= _np.sqrt(fi.tiny / fi.eps)) | (s == _np.inf)
    if not bad.any():
        return s
    with _np.errstate(all="ignore"):
        xa = _np.asarray(x)
        m = _np.max(_np.abs(xa), axis=axis, keepdims=True)
        m = _np.where(_np.isfinite(m) & (m > 0), m, 1.0).astype(s.dtype)
        r = m * _np.std(xa / m, axis=axis, ddof=ddof, keepdims=True)
        if not keepdims:
            r = r.reshape(_np.shape(s))
    return _np.where(bad, r, s).astype(s.dtype, copy=False)[()]


def _std_factor(ans, x, axis, ddof):
    """``1 / ((n - ddof) s)``, 0 where s is 0 (the zero-variance convention)."""
    zero = equal(ans, 0)
    k = _count(x, axis) - ddof
    return _select(zero, 0.0, divide(1.0 / k if k > 0 else math.inf, _select(zero, 1.0, ans)))


def _std_tangent(t, ans, x, *, axis, keepdims, ddof):
    w = real(multiply(_centered_conj(x, axis), t))
    return multiply(
        reduce_sum_p.bind(w, axis=axis, keepdims=keepdims), _std_factor(ans, x, axis, ddof)
    )


def _std_vjp(ct, ans, x, *, axis, keepdims, ddof):
    g = _expand_back(multiply(ct, _std_factor(ans, x, axis, ddof)), shape(x), axis, keepdims)
    return multiply(g, _centered_conj(x, axis))


def _std_taylor(primals, series, params):
    r"""From the variance's series :math:`v_k`: :math:`s^2 = v` gives
    :math:`s_k = (v_k - \sum_{0<j<k} s_j s_{k-j}) / (2 s_0)`, all 0 where :math:`s_0 = 0`."""
    ans = std_p.bind(*primals, **params)
    _, vs = _TAYLOR["reduce_var"](primals, series, params)
    if vs is None:
        return ans, None
    zero = equal(ans, 0)
    inv = _select(zero, 0.0, divide(0.5, _select(zero, 1.0, ans)))
    out = []
    for k in range(1, len(vs) + 1):
        c = vs[k - 1]
        for j in range(1, k):
            c = subtract(c, multiply(out[j - 1], out[k - j - 1]))
        out.append(multiply(c, inv))
    return ans, out


std_p = Primitive(
    "reduce_std",
    _std_impl,
    tangent=(_std_tangent,),
    vjp=(_std_vjp,),
    sparsity=reduction_rule,
    taylor=_std_taylor,
    doc=r"""s = standard deviation of x over axes, :math:`\sqrt{\sum_i |x_i - \bar x|^2/(n -
    \text{ddof})}`, computed from x scaled by its largest entry where the squares underflow
    or overflow; :math:`\bar x_i = \bar s\,\overline{(x_i - \bar x)}/((n - \text{ddof})\,s)`,
    0 where s = 0.""",
)
std_p.batch = _reduce_batch(std_p)
std_p.needs = (frozenset([0, "ans"]),)


def var(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=False,
    *,
    where=None,
    mean=None,
    correction=None,
):
    r"""Variance over ``axis``: :math:`y = \frac{1}{n - \text{ddof}} \sum_i |x_i - m|^2`,
    :math:`m` the mean (``correction`` is an alias of ``ddof``, as in NumPy).

    Since :math:`\sum_i (x_i - m) = 0`, the mean's own variation drops out:

    .. math:: \frac{\partial y}{\partial x_i} = \frac{2 (x_i - m)}{n - \text{ddof}}.

    For complex input the variance is real and, following adgraph's convention for real
    functions of complex arguments, the gradient is
    :math:`2\,\overline{(x_i - m)}/(n - \text{ddof})`. The variance of a constant is 0 and so
    is its gradient. ``where`` (a boolean mask) takes the selected elements only;
    ``mean`` gives :math:`m` already computed (with ``keepdims=True``), as in NumPy.
    """
    if out is not None:
        raise OpError("var: out= is not supported (adgraph arrays are immutable)")
    if correction is not None:
        ddof = correction
    if where is not None or mean is not None:
        return _var_composed(a, axis, dtype, ddof, keepdims, where, mean)
    axes = _axes(a, axis, "var")
    if dtype is not None:
        from .misc import astype

        a = astype(a, dtype)
    return var_p.bind(a, axis=axes, keepdims=bool(keepdims), ddof=ddof)


def std(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=False,
    *,
    where=None,
    mean=None,
    correction=None,
):
    r"""Standard deviation over ``axis``, :math:`s = \sqrt{\operatorname{var}(x)}` (see
    :func:`var` for ``ddof``).

    .. math:: \frac{\partial s}{\partial x_i} = \frac{x_i - m}{(n - \text{ddof})\, s}.

    **At zero variance** (all elements equal) :math:`s` is a norm of :math:`x - m` at its
    origin: it has directional derivatives (:math:`s(c + \epsilon v) = |\epsilon|\,s(v)`)
    but no gradient, and the formula above is 0/0. adgraph returns the gradient **0**
    there (the minimum-norm subgradient, the same choice as for ``abs`` at 0 and
    ``linalg.norm`` at the origin), and 0 for all higher derivatives, instead of nan.

    Where the squared deviations underflow (below ~1e-154) or overflow (above ~1e154) the
    value is computed from :math:`x` scaled by its largest entry, so :math:`s` and its
    derivative stay right (NumPy's ``std`` reads 0 or inf there); full-precision results
    take NumPy's path unchanged. With ``where`` or ``mean`` it is ``sqrt(var(...))``.
    """
    _no_out(out, "std")
    if correction is not None:
        ddof = correction
    if where is None and mean is None:
        axes = _axes(a, axis, "std")
        if dtype is not None:
            from .misc import astype

            a = astype(a, dtype)
        return std_p.bind(a, axis=axes, keepdims=bool(keepdims), ddof=ddof)
    v = var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean)
    if not isinstance(v, Tracer):
        return sqrt(v)
    zero = equal(v, 0)
    return _select(zero, 0.0, sqrt(_select(zero, 1.0, v)))


def _var_composed(a, axis, dtype, ddof, keepdims, mask, m):
    r""":func:`var` with a mask or a given mean, by differentiable operations:
    :math:`\sum_{i \in \text{mask}} |x_i - m|^2 / (k - \text{ddof})`."""
    from .misc import astype

    axes = _axes(a, axis, "var")
    if dtype is not None:
        a = astype(a, dtype)
    if m is None:
        if mask is None:
            m = globals()["mean"](a, axes, keepdims=True)
        else:
            m = _masked_mean(a, axes, None, True, mask, "var")
    d = subtract(a, m)
    sq = real(multiply(conj(d), d)) if _dtype(d).kind == "c" else multiply(d, d)
    total = sum(sq, axes, keepdims=keepdims, where=mask)
    if mask is None:
        count = float(_count(a, axes))
    else:
        count = astype(sum(broadcast_to(mask, shape(a)), axes, keepdims=keepdims), _dtype(total))
    return divide(total, subtract(count, ddof))


def _weights_for(a, w, axis, op):
    """Weights reshaped to broadcast against ``a`` (NumPy's rules for ``average``)."""
    sa, sw = shape(a), shape(w)
    if sw == sa:
        return w
    if axis is None:
        raise OpError(f"{op}: axis must be given when the shapes of a {sa} and weights {sw} differ")
    user = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    user = tuple(norm_axis(ax, len(sa), op) for ax in user)
    want = tuple(sa[ax] for ax in user)
    if sw != want:
        raise OpError(
            f"{op}: weights of shape {sw} do not match a of shape {sa} along axis {axis} "
            f"(expected shape {want})"
        )
    order = sorted(range(len(user)), key=lambda i: user[i])
    w = transpose(w, order)
    full = [1] * len(sa)
    for ax in user:
        full[ax] = sa[ax]
    return reshape(w, tuple(full))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    r"""Weighted average over ``axis``: :math:`y = \sum_i w_i x_i / \sum_i w_i` (the mean
    when ``weights`` is None). With ``returned=True`` also returns :math:`\sum_i w_i`
    (broadcast to the shape of the average).

    Differentiable in both arguments:

    .. math:: \frac{\partial y}{\partial x_i} = \frac{w_i}{\sum_j w_j}, \qquad
       \frac{\partial y}{\partial w_i} = \frac{x_i - y}{\sum_j w_j}.

    ``weights`` either has the shape of ``a`` or, with ``axis`` given, the shape of ``a``
    along ``axis``. Weights summing to zero raise ZeroDivisionError, as in NumPy.
    """
    axes = _axes(a, axis, "average")
    if weights is None:
        avg = mean(a, axes, keepdims=keepdims)
        scl = float(_count(a, axes))
        if returned:
            return avg, _fill(shape(avg), _dtype(avg), scl, avg)
        return avg
    w = _weights_for(a, weights, axis, "average")
    if not (is_inexact(_dtype(a)) or is_inexact(_dtype(w))):
        from .misc import astype

        a = astype(a, "float64")
    scl = sum(broadcast_to(w, _broadcast_shape(shape(a), shape(w))), axes, keepdims=keepdims)
    zero = any(equal(scl, 0))
    if not isinstance(zero, Tracer) and bool(zero):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = divide(sum(multiply(a, w), axes, keepdims=keepdims), scl)
    if returned:
        return avg, broadcast_to(scl, shape(avg))
    return avg


def _broadcast_shape(s1, s2):
    n = len(s1) if len(s1) > len(s2) else len(s2)
    s1 = (1,) * (n - len(s1)) + tuple(s1)
    s2 = (1,) * (n - len(s2)) + tuple(s2)
    return tuple(b if a == 1 else a for a, b in zip(s1, s2, strict=True))


# ------------------------------------------------------------------ nan-ignoring
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    r"""Sum over ``axis`` treating nan as zero: :math:`y = \sum_{x_i \ne \text{nan}} x_i`.

    :math:`\partial y/\partial x_i` is 1 for the elements counted and 0 for the nan ones.
    """
    _no_out(out, "nansum")
    _axes(a, axis, "nansum")
    # an integer or boolean array holds no nan, and keeps its integer sum (NumPy's)
    return sum(
        _select(isnan(a), 0.0, a) if _dtype(a).kind in "fc" else a,
        axis,
        dtype=dtype,
        out=out,
        keepdims=keepdims,
        initial=initial,
        where=where,
    )


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    r"""Mean over ``axis`` of the elements that are not nan: :math:`y = \frac1k
    \sum_{x_i \ne \text{nan}} x_i` with :math:`k` their count;
    :math:`\partial y/\partial x_i = 1/k` for those elements, 0 for the nan ones. A slice
    of nan only gives nan (with NumPy's warning for 0/0)."""
    from .misc import astype

    _no_out(out, "nanmean")
    _axes(a, axis, "nanmean")
    total = nansum(a, axis, dtype=dtype, out=out, keepdims=keepdims, where=where)
    if not _is_inexact(total):
        total = astype(total, "float64")
    count = sum(logical_not(isnan(a)), axis, keepdims=keepdims, where=where)
    return _mean_as(divide(total, astype(count, _dtype(total))), dtype)


# ------------------------------------------------------------------ max / min
def _extremum_mask(ans, x, axis, keepdims):
    """Indicator of the elements equal to the extremum, divided by their count."""
    xs = shape(x)
    full = ans if keepdims else reshape(ans, _keep_shape(xs, axis))
    mask = equal(x, broadcast_to(full, xs))
    from .misc import astype

    mask = astype(mask, x.dtype)
    count = reduce_sum_p.bind(mask, axis=axis, keepdims=True)
    return divide(mask, count)


def _extremum_tangent(t, ans, x, *, axis, keepdims):
    w = _extremum_mask(ans, x, axis, keepdims)
    return reduce_sum_p.bind(multiply(t, w), axis=axis, keepdims=keepdims)


def _extremum_vjp(ct, ans, x, *, axis, keepdims):
    xs = shape(x)
    w = _extremum_mask(ans, x, axis, keepdims)
    if not keepdims:
        ct = reshape(ct, _keep_shape(xs, axis))
    return multiply(broadcast_to(ct, xs), w)


reduce_max_p = Primitive(
    "reduce_max",
    lambda xp, x, *, axis, keepdims: _reduce(xp, x, "max", axis, keepdims),
    tangent=(_extremum_tangent,),
    vjp=(_extremum_vjp,),
    sparsity=reduction_rule,
    doc="y = max of x over axes; derivative shared evenly among the maximal elements.",
    taylor=_TAYLOR["reduce_max"],
)
reduce_max_p.batch = _reduce_batch(reduce_max_p)
reduce_max_p.needs = (frozenset([0, "ans"]),)
reduce_min_p = Primitive(
    "reduce_min",
    lambda xp, x, *, axis, keepdims: _reduce(xp, x, "min", axis, keepdims),
    tangent=(_extremum_tangent,),
    vjp=(_extremum_vjp,),
    sparsity=reduction_rule,
    doc="y = min of x over axes; derivative shared evenly among the minimal elements.",
    taylor=_TAYLOR["reduce_min"],
)
reduce_min_p.batch = _reduce_batch(reduce_min_p)
reduce_min_p.needs = (frozenset([0, "ans"]),)


def _extremum(prim, a, axis, keepdims, op):
    axes = _axes(a, axis, op)
    s = shape(a)
    for ax in axes:
        if s[ax] == 0:
            raise OpError(f"{op}: zero-size array to reduction operation has no identity")
    if not axes:
        return a
    return prim.bind(a, axis=axes, keepdims=bool(keepdims))


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    r"""Maximum over ``axis``. The derivative goes to the maximal elements; ties share it
    evenly, so the derivative of ``max`` of a constant array is :math:`1/n` per element.
    ``initial`` is a lower bound (``maximum(max(a), initial)``); ``where`` leaves elements
    out (NumPy requires ``initial`` with it)."""
    _no_out(out, "max")
    return _bounded(reduce_max_p, a, axis, keepdims, initial, where, "max")


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    r"""Minimum over ``axis``. The derivative goes to the minimal elements; ties share it
    evenly. ``initial`` is an upper bound; ``where`` leaves elements out (with
    ``initial``)."""
    _no_out(out, "min")
    return _bounded(reduce_min_p, a, axis, keepdims, initial, where, "min")


def _bounded(prim, a, axis, keepdims, initial, where, op):
    from .elementwise import maximum, minimum
    from .elementwise import where as _where
    from .misc import astype

    if where is not None and initial is None:
        raise OpError(f"{op}: where= needs initial= (the value of a reduction over no elements)")
    if initial is not None:
        # NumPy casts initial to the array's dtype: max of integers with initial=5.5 is 5
        dt = _dtype(a)
        if isinstance(initial, Tracer):
            initial = astype(initial, dt) if _dtype(initial) != dt else initial
        else:
            try:
                init = _np.asarray(initial)
                if init.ndim:
                    raise OpError(f"{op}: initial= must be a scalar, got shape {init.shape}")
                initial = init.astype(dt)[()]
            except (TypeError, ValueError) as e:
                raise OpError(f"{op}: initial= must be a number, got {initial!r}") from e
    if where is not None:
        a = _where(where, a, initial)
    s = shape(a)
    axes = _axes(a, axis, op) if initial is not None and 0 in s else ()
    if 0 in [s[ax] for ax in axes]:  # (only with initial; any is this module's)
        # a reduction over no elements is initial (NumPy); nothing to differentiate in a
        out_shape = tuple(
            1 if k in axes else n for k, n in enumerate(s) if keepdims or k not in axes
        )
        if isinstance(initial, Tracer):
            return broadcast_to(initial, out_shape)
        v = a.primal_value() if isinstance(a, Tracer) else a
        return module_of(v).full(out_shape, initial, dtype=initial.dtype)[()]
    out = _extremum(prim, a, axis, keepdims, op)
    if initial is not None:
        out = (maximum if op == "max" else minimum)(out, initial)
    return out


amax = max
amin = min

# ------------------------------------------------------------------ non-differentiable
_all_p = nondiff(
    "reduce_all",
    lambda xp, x, *, axis, keepdims: xp.all(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
    doc="Logical and over axes (a boolean result, no derivative).",
)
_all_p.batch = _reduce_batch(_all_p)
_any_p = nondiff(
    "reduce_any",
    lambda xp, x, *, axis, keepdims: xp.any(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
    doc="Logical or over axes (a boolean result, no derivative).",
)
_any_p.batch = _reduce_batch(_any_p)


def all(a, axis=None, out=None, keepdims=False, *, where=None):
    """True where every element along ``axis`` is true (no derivative); ``where`` leaves
    elements out."""
    _no_out(out, "all")
    if where is not None:
        a = logical_not(_select(where, logical_not(a), False))
    return _all_p.bind(a, axis=_axes(a, axis, "all"), keepdims=bool(keepdims))


def any(a, axis=None, out=None, keepdims=False, *, where=None):
    """True where some element along ``axis`` is true (no derivative); ``where`` leaves
    elements out."""
    _no_out(out, "any")
    if where is not None:
        a = _select(where, a, False)
    return _any_p.bind(a, axis=_axes(a, axis, "any"), keepdims=bool(keepdims))


def _arg_batch(prim):
    def rule(vals, batched, size, *, axis, keepdims):
        x = vals[0]
        if axis is None:
            x = reshape(x, (size, -1))
            return prim.bind(x, axis=1, keepdims=False)
        return prim.bind(x, axis=axis + 1, keepdims=keepdims)

    return rule


_argmax_p = nondiff(
    "argmax",
    lambda xp, x, *, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
    doc="Index of the maximum along an axis (an integer result, no derivative).",
)
_argmax_p.batch = _arg_batch(_argmax_p)
_argmin_p = nondiff(
    "argmin",
    lambda xp, x, *, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
    doc="Index of the minimum along an axis (an integer result, no derivative).",
)
_argmin_p.batch = _arg_batch(_argmin_p)


def argmax(a, axis=None, out=None, *, keepdims=False):
    """Index of the maximum (over the flattened array when ``axis`` is None)."""
    _no_out(out, "argmax")
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argmax")
    return _argmax_p.bind(a, axis=ax, keepdims=bool(keepdims))


def argmin(a, axis=None, out=None, *, keepdims=False):
    """Index of the minimum (over the flattened array when ``axis`` is None)."""
    _no_out(out, "argmin")
    ax = None if axis is None else norm_axis(axis, len(shape(a)), "argmin")
    return _argmin_p.bind(a, axis=ax, keepdims=bool(keepdims))


_count_nonzero_p = nondiff(
    "count_nonzero",
    lambda xp, x, *, axis, keepdims: xp.count_nonzero(x, axis=axis, keepdims=keepdims),
    elementwise_batch=False,
    doc="Number of nonzero elements over axes (an integer result, no derivative).",
)
_count_nonzero_p.batch = _reduce_batch(_count_nonzero_p)


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of nonzero elements along ``axis`` (no derivative)."""
    return _count_nonzero_p.bind(a, axis=_axes(a, axis, "count_nonzero"), keepdims=keepdims)
