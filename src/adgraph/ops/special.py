r"""Special functions (``adgraph.scipy.special``): logistic, log-sum-exp and softmax, error
functions, log-gamma and polygamma, and the ``x log y`` family.

The logistic, softmax and ``x log y`` families are computed with the array module alone
(numerically stable forms). The error and gamma families call SciPy's implementations for
NumPy and Dask arrays (Dask maps SciPy's ufuncs over its blocks), imported on first use
(install the ``scipy`` extra: ``pip install 'adgraph[scipy]'``); another array module's
backend names its own module of special functions through the extension point
``special.module`` (CuPy's: ``cupyx.scipy.special``).

Every derivative is written with adgraph's own operations, so it can be differentiated
again: the derivative of ``digamma`` is ``polygamma(1, x)``, itself a primitive whose
derivative is ``polygamma(2, x)``, and so on to any order.

Outside a function's real domain (``logit`` outside [0, 1], ``erfinv`` outside [-1, 1],
the poles of ``gammaln``, ``digamma`` and ``polygamma``) the values are SciPy's: nan, or
:math:`\pm\infty` at poles and end points, with NumPy's RuntimeWarning rather than an
error, so one bad element does not stop an array computation. The maths has no answer
there, and the derivatives are not meaningful either. Arguments that are wrong whatever
the data (an axis out of range, a negative polygamma order) raise ``OpError``.
"""

from __future__ import annotations

import math

import numpy as _np  # shape arithmetic (broadcast_shapes), and NumPy's identity

from ..ad.rules import elementwise
from ..ad.sparsity import reduction_rule
from ..ad.taylor import RULES as _TAYLOR
from ..core import extend
from ..core.primitive import Primitive
from ._util import OpError, norm_axes, shape
from .elementwise import (
    abs,
    add,
    divide,
    equal,
    exp,
    greater,
    isfinite,
    isneginf,
    log,
    log1p,
    logical_and,
    minimum,
    multiply,
    negative,
    reciprocal,
    sign,
    square,
    subtract,
    where,
)
from .reductions import _expand_back, _keep_shape, _reduce_batch
from .shapes import reduce_sum_p, reshape

# fmt: off
__all__ = [
    "expit", "logit", "logsumexp", "softmax", "log_softmax", "erf", "erfc", "erfinv",
    "gammaln", "digamma", "polygamma", "xlogy", "xlog1py", "entr",
]
# fmt: on

_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_SQRTPI_2 = math.sqrt(math.pi) / 2.0
_B0_MARGIN = 40.0  # exp(40) ~ 2e17: finite even in float32


# An array module whose arrays SciPy's ufuncs cannot compute (a GPU's) names its own
# module of special functions through this point (adgraph.core.extend).
MODULE = extend.declare(
    "special.module",
    "(xp) -> the module of SciPy-like special functions for arrays of xp: erf, erfc, "
    "erfinv, gammaln, digamma and zeta(n, x), as scipy.special spells them "
    "(default: scipy.special)",
)


def _special(xp, op):
    """The special-function module for array module ``xp``: its backend's (extension point
    ``special.module``), else SciPy's -- whose ufuncs also compute Dask arrays lazily."""
    if xp is not _np and (alt := extend.lookup(MODULE, xp)) is not None:
        return alt(xp)
    try:
        import scipy.special as sp
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.special.{op} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return sp


def _keep_float(out, x):
    """Cast ``out`` back to the floating dtype of ``x`` (SciPy widens some float32 results)."""
    dt = getattr(x, "dtype", None)
    if dt is not None and dt.kind in "fc" and getattr(out, "dtype", dt) != dt:
        return out.astype(dt)
    return out


# ``needs``: the residuals each argument's reverse rule reads (Primitive.needs); reverse
# mode frees the rest during the forward pass.
_X, _Y, _ANS = frozenset([0]), frozenset([1]), frozenset(["ans"])


def _public(prim, name, doc):
    def f(x, /):
        return prim.bind(x)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    f.primitive = prim
    return f


# ------------------------------------------------------------------ logistic
def _expit_impl(xp, x):
    # exp(-|x|) never overflows; each branch is the accurate form on its side of 0.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


expit_p = elementwise(
    "expit",
    _expit_impl,
    lambda ans, x: multiply(ans, expit(negative(x))),
    doc=r"""Logistic sigmoid :math:`\sigma(x) = 1/(1+e^{-x})`; derivative
    :math:`\sigma(x)\sigma(-x)`.""",
    needs=(_X | _ANS,),
    taylor=_TAYLOR["expit"],
)
expit = _public(
    expit_p,
    "expit",
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`, computed without overflow.

    .. math:: \sigma'(x) = \sigma(x)\,(1 - \sigma(x)) = \sigma(x)\,\sigma(-x),

    evaluated in the second form, which keeps full relative precision in both tails.
    """,
)


def _logit_impl(xp, p):
    # log(p/(1-p)) loses digits near p = 1/2, where the ratio is close to 1; there
    # log1p((2p - 1)/(1 - p)) is exact to rounding (2p - 1 and 1 - p are exact).
    q = 1 - p
    mid = xp.log1p((2 * p - 1) / q)
    return xp.where(p < 0.25, xp.log(p / q), mid)


logit_p = elementwise(
    "logit",
    _logit_impl,
    lambda ans, p: reciprocal(multiply(p, subtract(1.0, p))),
    doc=r"""Log-odds :math:`\log(p/(1-p))`; derivative :math:`1/(p(1-p))`.""",
    needs=(_X,),
    taylor=_TAYLOR["logit"],
)
logit = _public(
    logit_p,
    "logit",
    r"""Log-odds :math:`\operatorname{logit}(p) = \log\frac{p}{1-p}`, the inverse of
    :func:`expit` (:math:`-\infty` at 0, :math:`+\infty` at 1, nan outside [0, 1]).

    .. math:: \operatorname{logit}'(p) = \frac{1}{p(1-p)}.
    """,
)


# ------------------------------------------------------------------ log-sum-exp family
def _lse_impl(xp, a, *, axis, keepdims):
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    out = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def _lse_weights(ans, a, axis, keepdims):
    r"""The softmax :math:`e^{a_i - y}`, shaped like ``a``: the gradient of log-sum-exp.
    Where the result is :math:`-\infty` (every term is 0) the weights are 0, not nan."""
    full = ans if keepdims else reshape(ans, _keep_shape(shape(a), axis))
    full = where(isneginf(full), 0.0, full)
    return exp(subtract(a, full))


def _lse_tangent(t, ans, a, *, axis, keepdims):
    w = _lse_weights(ans, a, axis, keepdims)
    return reduce_sum_p.bind(multiply(t, w), axis=axis, keepdims=keepdims)


def _lse_vjp(ct, ans, a, *, axis, keepdims):
    return multiply(
        _expand_back(ct, shape(a), axis, keepdims), _lse_weights(ans, a, axis, keepdims)
    )


logsumexp_p = Primitive(
    "logsumexp",
    _lse_impl,
    tangent=(_lse_tangent,),
    vjp=(_lse_vjp,),
    sparsity=reduction_rule,
    doc=r"""y = log of the sum of exp(a) over axes, computed after shifting by the maximum;
    :math:`\partial y/\partial a_i = e^{a_i - y}` (the softmax).""",
    taylor=_TAYLOR["logsumexp"],
)
logsumexp_p.batch = _reduce_batch(logsumexp_p)
logsumexp_p.needs = (frozenset([0, "ans"]),)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    r"""Stable :math:`y = \log \sum_i b_i e^{a_i}` over ``axis`` (all axes when None).

    Computed as :math:`m + \log\sum_i b_i e^{a_i - m}` with :math:`m` the largest
    :math:`a_i` (among those with :math:`b_i \ne 0`), so no term overflows: inputs of 1000
    or -1000 are fine. The gradient is the softmax,

    .. math:: \frac{\partial y}{\partial a_i} = \frac{b_i e^{a_i}}{\sum_j b_j e^{a_j}}
       = b_i e^{a_i - y}, \qquad \frac{\partial y}{\partial b_i} = e^{a_i - y},

    (0 where every term is 0; for a term with :math:`b_i = 0`,
    :math:`\partial y/\partial a_i = 0` and :math:`\partial y/\partial b_i` is exact unless
    :math:`a_i` exceeds every :math:`a_j` with :math:`b_j \ne 0` by more than 40, where it
    is taken at that bound). With
    ``return_sign=True`` returns :math:`(\log|s|, \operatorname{sign} s)` for
    :math:`s = \sum_i b_i e^{a_i}`, which may then be negative; without it a negative sum
    gives nan, as in SciPy. The shift :math:`m` carries no derivative: the result does not
    depend on it.
    """
    axes = norm_axes(axis, len(shape(a)) if b is None else _bshape(a, b), "logsumexp")
    if b is None and not return_sign:
        return logsumexp_p.bind(a, axis=axes, keepdims=bool(keepdims))
    from .misc import stop_gradient
    from .reductions import max as _max

    if b is None:
        m = stop_gradient(_max(a, axes, keepdims=True))
        m = where(isfinite(m), m, 0.0)
        e = exp(subtract(a, m))
    else:
        # The shift is the largest a_i among the terms with b_i != 0 (as in SciPy), so a
        # large a_i with b_i = 0 cannot swamp the others. Such a term is 0, but its exp
        # still gives the derivative in b_i: clamped to m + 40, so it never overflows.
        b0 = equal(b, 0)
        m = stop_gradient(_max(where(b0, -math.inf, a), axes, keepdims=True))
        m = where(isfinite(m), m, 0.0)
        a = where(b0, minimum(a, add(m, _B0_MARGIN)), a)
        e = multiply(b, exp(subtract(a, m)))
    s = reduce_sum_p.bind(e, axis=axes, keepdims=True)
    # where every term is 0 the result is -inf, a constant: log sees 1 there, so its
    # derivative (1/0 times the terms' zero derivatives) adds no nan
    empty = equal(s, 0)
    s1 = where(empty, 1.0, s)
    if return_sign:
        sgn = sign(s)
        out = where(empty, -math.inf, add(log(abs(s1)), m))
    else:
        out = where(empty, -math.inf, add(log(s1), m))
    if not keepdims:
        kept = tuple(d for i, d in enumerate(shape(out)) if i not in axes)
        out = reshape(out, kept)
        if return_sign:
            sgn = reshape(sgn, kept)
    return (out, sgn) if return_sign else out


def _bshape(a, b):
    sa, sb = shape(a), shape(b)
    try:
        return len(_np.broadcast_shapes(sa, sb))
    except ValueError:
        raise OpError(
            f"logsumexp: a of shape {sa} and b of shape {sb} cannot be broadcast together"
        ) from None


def _shifted(x, axis, op):
    """``x`` minus its maximum over ``axis`` (a constant: the results do not depend on it)."""
    from .misc import stop_gradient
    from .reductions import max as _max

    axes = norm_axes(axis, len(shape(x)), op)
    m = stop_gradient(_max(x, axes, keepdims=True))
    return subtract(x, where(isfinite(m), m, 0.0)), axes


def softmax(x, axis=None):
    r"""Softmax :math:`s_i = e^{x_i} / \sum_j e^{x_j}` over ``axis`` (all axes when None),
    computed as :math:`e^{x_i - m} / \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`:
    stable for any input, and the result sums to 1 to rounding.

    .. math:: \frac{\partial s_i}{\partial x_j} = s_i(\delta_{ij} - s_j),

    obtained from the rules of ``exp``, ``sum`` and ``divide`` (the shift :math:`m`
    carries no derivative: the result does not depend on it).
    """
    z, axes = _shifted(x, axis, "softmax")
    e = exp(z)
    return divide(e, reduce_sum_p.bind(e, axis=axes, keepdims=True))


def log_softmax(x, axis=None):
    r"""Log of the softmax, :math:`x_i - \operatorname{logsumexp}(x)` over ``axis`` (all
    axes when None), computed as :math:`(x_i - m) - \log\sum_j e^{x_j - m}`,
    :math:`m = \max_j x_j`: stable for any input.

    .. math:: \frac{\partial (\log s)_i}{\partial x_j} = \delta_{ij} - s_j.
    """
    z, axes = _shifted(x, axis, "log_softmax")
    return subtract(z, logsumexp_p.bind(z, axis=axes, keepdims=True))


# ------------------------------------------------------------------ error functions
def _sp_unary(name, spname, partial, prim_doc, doc, needs=None, taylor=None):
    def impl(xp, x):
        return _keep_float(getattr(_special(xp, name), spname)(x), x)

    p = elementwise(name, impl, partial, doc=prim_doc, needs=needs, taylor=taylor)
    return p, _public(p, name, doc)


erf_p, erf = _sp_unary(
    "erf",
    "erf",
    lambda ans, x: multiply(_2_SQRTPI, exp(negative(square(x)))),
    r"""Error function; derivative :math:`\frac{2}{\sqrt\pi} e^{-x^2}`.""",
    r"""Error function :math:`\operatorname{erf} x = \frac{2}{\sqrt\pi}\int_0^x e^{-t^2}dt`.

    .. math:: \operatorname{erf}'(x) = \frac{2}{\sqrt\pi} e^{-x^2}.
    """,
    needs=(_X,),
    taylor=_TAYLOR["erf"],
)
erfc_p, erfc = _sp_unary(
    "erfc",
    "erfc",
    lambda ans, x: multiply(-_2_SQRTPI, exp(negative(square(x)))),
    r"""Complementary error function; derivative :math:`-\frac{2}{\sqrt\pi} e^{-x^2}`.""",
    r"""Complementary error function :math:`\operatorname{erfc} x = 1 - \operatorname{erf} x`
    (accurate where erf is close to 1).

    .. math:: \operatorname{erfc}'(x) = -\frac{2}{\sqrt\pi} e^{-x^2}.
    """,
    needs=(_X,),
    taylor=_TAYLOR["erfc"],
)
erfinv_p, erfinv = _sp_unary(
    "erfinv",
    "erfinv",
    lambda ans, x: multiply(_SQRTPI_2, exp(square(ans))),
    r"""Inverse error function; derivative :math:`\frac{\sqrt\pi}{2} e^{y^2}`, y the result.""",
    r"""Inverse of the error function on (-1, 1): :math:`y = \operatorname{erf}^{-1}(x)`.

    .. math:: \frac{dy}{dx} = \frac{1}{\operatorname{erf}'(y)} = \frac{\sqrt\pi}{2} e^{y^2}

    (infinite at :math:`\pm 1`).
    """,
    needs=(_ANS,),
    taylor=_TAYLOR["erfinv"],
)


# ------------------------------------------------------------------ gamma family
def _polygamma_impl(xp, x, *, n):
    sp = _special(xp, "polygamma" if n else "digamma")
    if n == 0:
        return _keep_float(sp.digamma(x), x)
    # psi^(n)(x) = (-1)^(n+1) n! zeta(n+1, x): SciPy's own definition, through the Hurwitz
    # zeta ufunc, so it stays lazy on Dask arrays and in float32.
    # n! overflows float64 past n = 170 (and the exact integer would take minutes to form)
    c = (float(math.factorial(n)) if n <= 170 else math.inf) * (1.0 if n % 2 else -1.0)
    return _keep_float(c * sp.zeta(n + 1, x), x)


polygamma_p = elementwise(
    "polygamma",
    _polygamma_impl,
    lambda ans, x, *, n: polygamma_p.bind(x, n=n + 1),
    doc=r""":math:`\psi^{(n)}(x)`, the n-th derivative of the digamma function (n = 0:
    digamma); derivative :math:`\psi^{(n+1)}(x)`.""",
    needs=(_X,),
    taylor=_TAYLOR["polygamma"],
)

#: Below this ratio of |h| to the distance from x to the nearest pole of psi, a polygamma
#: difference is summed as its Taylor series (:data:`_DIFF_TERMS` terms: the first left
#: out is below 1e-14 of the sum for n <= 3); above it the subtraction loses at most two
#: digits.
_DIFF_SERIES = 0.02
_DIFF_TERMS = 10


def _polygamma_diff_impl(xp, x, h, *, n):
    out = _polygamma_impl(xp, x + h, n=n) - _polygamma_impl(xp, x, n=n)
    if xp is not _np:  # (the masked series below is NumPy's)
        return out
    xb, hb = _np.broadcast_arrays(_np.asarray(x), _np.asarray(h))
    with _np.errstate(invalid="ignore"):
        reach = _np.where(xb > 0, xb, _np.abs(xb - _np.rint(xb)))
        near = (reach > 0) & (_np.abs(hb) < _DIFF_SERIES * reach)
    if not near.any():
        return out
    xs, hs = xb[near], hb[near]
    series = _np.zeros_like(xs, dtype=_np.result_type(xs, hs, 1.0))
    term = _np.ones_like(series)
    for k in range(1, _DIFF_TERMS + 1):
        term = term * hs / k
        series += _polygamma_impl(xp, xs, n=n + k) * term
    res = _np.array(out, dtype=_np.result_type(out), copy=True)
    res[near] = series
    return res[()] if res.ndim == 0 else res


polygamma_diff_p = elementwise(
    "polygamma_diff",
    _polygamma_diff_impl,
    lambda ans, x, h, *, n: polygamma_diff_p.bind(x, h, n=n + 1),
    lambda ans, x, h, *, n: polygamma_p.bind(x + h, n=n + 1),
    doc=r""":math:`\psi^{(n)}(x + h) - \psi^{(n)}(x)`, with its digits where :math:`|h|` is
    small beside the distance from :math:`x` to the nearest pole (there the two values
    agree in most of their digits, and the Taylor series
    :math:`\sum_k \psi^{(n+k)}(x) h^k / k!` is summed instead, for those entries only);
    partials :math:`\psi^{(n+1)}(x+h) - \psi^{(n+1)}(x)` (the same difference one order
    up) and :math:`\psi^{(n+1)}(x+h)`.""",
    needs=(_X | _Y,),
)


def polygamma_diff(n, x, h):
    r""":math:`\psi^{(n)}(x + h) - \psi^{(n)}(x)` without the cancellation of the
    subtraction where :math:`|h|` is small (``polygamma_diff(0, 1e5, 1e-10)`` is
    :math:`10^{-15}`, which ``digamma(1e5 + 1e-10) - digamma(1e5)`` gives as 0)."""
    return polygamma_diff_p.bind(x, h, n=int(n))


gammaln_p, gammaln = _sp_unary(
    "gammaln",
    "gammaln",
    lambda ans, x: polygamma_p.bind(x, n=0),
    r"""Log of the absolute value of the gamma function; derivative :math:`\psi(x)`.""",
    r"""Logarithm of the absolute value of the gamma function, :math:`\ln|\Gamma(x)|`.

    .. math:: \frac{d}{dx}\ln|\Gamma(x)| = \psi(x) \quad\text{(digamma)},

    and every higher derivative is a polygamma function, :math:`\psi^{(n)}(x)`.
    """,
    needs=(_X,),
    taylor=_TAYLOR["gammaln"],
)


def digamma(x, /):
    r"""Digamma function :math:`\psi(x) = \frac{d}{dx}\ln\Gamma(x)`.

    .. math:: \psi'(x) = \psi^{(1)}(x) \quad\text{(trigamma, } \textstyle\sum_{k\ge0}
       (x+k)^{-2}\text{)},

    computed by :func:`polygamma`, so derivatives of every order are available.
    """
    return polygamma_p.bind(x, n=0)


def polygamma(n, x):
    r"""Polygamma function :math:`\psi^{(n)}(x) = \frac{d^{n+1}}{dx^{n+1}}\ln\Gamma(x)`
    for a non-negative integer ``n`` (``n = 0`` is :func:`digamma`).

    .. math:: \frac{d}{dx}\psi^{(n)}(x) = \psi^{(n+1)}(x).

    ``n`` must be a concrete integer (it is not differentiable).
    """
    try:
        k = int(n)
    except TypeError:
        raise OpError(f"polygamma: n must be a non-negative integer, got {n!r}") from None
    if k != n or k < 0:
        raise OpError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return polygamma_p.bind(x, n=k)


# ------------------------------------------------------------------ x log y family
def _xlogy_impl(xp, x, y):
    # 0 where x == 0 (unless y is nan), whatever y is: the convention 0 log 0 = 0.
    zero = (x == 0) & ~xp.isnan(y)
    return xp.where(zero, 0, x * xp.log(xp.where(zero, 1, y)))


def _x_over(x, y):
    """``x / y``, 0 at ``x == y == 0``, safe for the next order too.

    Only that point is replaced: at ``x == 0`` with ``y != 0`` the quotient is ``x / y``
    itself, so its derivative in ``x`` stays ``1 / y`` (the mixed second derivative of
    ``x log y``); selecting a constant 0 wherever ``x == 0`` made it 0 there.
    """
    both = logical_and(equal(x, 0), equal(y, 0))
    return divide(x, where(both, 1.0, y))


xlogy_p = elementwise(
    "xlogy",
    _xlogy_impl,
    lambda ans, x, y: log(y),
    lambda ans, x, y: _x_over(x, y),
    doc=r""":math:`x \log y`, 0 at :math:`x = 0`; :math:`\partial/\partial x = \log y`,
    :math:`\partial/\partial y = x/y` (0 at :math:`x = 0`).""",
    needs=(_Y, _X | _Y),
    taylor=_TAYLOR["xlogy"],
)


def xlogy(x, y):
    r""":math:`x \log y`, defined as 0 where :math:`x = 0` (also at :math:`y = 0`), as in
    SciPy.

    .. math:: \frac{\partial}{\partial x} = \log y, \qquad
       \frac{\partial}{\partial y} = \frac{x}{y},

    the latter taken as 0 where :math:`x = 0`, consistent with the value being 0 there for
    every :math:`y`. (:math:`\partial/\partial x` at :math:`y = 0` is :math:`-\infty`, as
    the function jumps from 0 to :math:`-\infty` there.)
    """
    return xlogy_p.bind(x, y)


def _xlog1py_impl(xp, x, y):
    zero = (x == 0) & ~xp.isnan(y)
    return xp.where(zero, 0, x * xp.log1p(xp.where(zero, 0, y)))


xlog1py_p = elementwise(
    "xlog1py",
    _xlog1py_impl,
    lambda ans, x, y: log1p(y),
    lambda ans, x, y: _x_over(x, add(y, 1.0)),
    doc=r""":math:`x \log(1 + y)`, 0 at :math:`x = 0`; :math:`\partial/\partial x =
    \log(1+y)`, :math:`\partial/\partial y = x/(1+y)` (0 at :math:`x = 0`).""",
    needs=(_Y, _X | _Y),
    taylor=_TAYLOR["xlog1py"],
)


def xlog1py(x, y):
    r""":math:`x \log(1 + y)`, defined as 0 where :math:`x = 0` (also at :math:`y = -1`),
    accurate for small :math:`y`.

    .. math:: \frac{\partial}{\partial x} = \log(1+y), \qquad
       \frac{\partial}{\partial y} = \frac{x}{1+y}

    (the latter 0 where :math:`x = 0`).
    """
    return xlog1py_p.bind(x, y)


def _entr_impl(xp, x):
    pos = x > 0
    v = -x * xp.log(xp.where(pos, x, 1))
    # x == 0 gives 0, x < 0 gives -inf, nan stays nan.
    return xp.where(pos, v, xp.where(x == 0, 0, xp.where(x < 0, -math.inf, x)))


def _entr_d(ans, x):
    pos = greater(x, 0)
    d = negative(add(log(where(pos, x, 1.0)), 1.0))
    return where(pos, d, where(equal(x, 0), math.inf, math.nan))


entr_p = elementwise(
    "entr",
    _entr_impl,
    _entr_d,
    doc=r"""Elementwise entropy term :math:`-x \log x` (0 at 0, :math:`-\infty` for x < 0);
    derivative :math:`-(1 + \log x)`.""",
    needs=(_X,),
    taylor=_TAYLOR["entr"],
)
entr = _public(
    entr_p,
    "entr",
    r"""Elementwise entropy term: :math:`-x\log x` for :math:`x > 0`, 0 at :math:`x = 0`,
    :math:`-\infty` for :math:`x < 0` (SciPy's definition).

    .. math:: \frac{d}{dx}(-x \log x) = -(1 + \log x) \quad (x > 0),

    :math:`+\infty` at 0 (the one-sided derivative) and nan for :math:`x < 0`, where the
    function is not finite; the second derivative is :math:`-1/x`.
    """,
)
