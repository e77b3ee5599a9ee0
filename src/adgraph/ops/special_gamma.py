r"""The gamma and beta families of ``adgraph.scipy.special``: gamma, gammasgn, loggamma,
rgamma, beta, betaln, poch, the regularized incomplete gamma and beta functions and their
inverses, and the Hurwitz zeta function.

Values come from SciPy; derivatives are the closed forms, written with adgraph's own
operations (so they differentiate again):

.. math::
   \partial_x P(a, x) = \frac{x^{a-1}e^{-x}}{\Gamma(a)}, \qquad
   \partial_q \zeta(s, q) = -s\,\zeta(s+1, q).

The derivative of :math:`P(a, x)` in the shape :math:`a` has no closed form; it is the
series :math:`\sum_k t_k(\log x - \psi(a+k+1))`, :math:`t_k = x^{a+k}e^{-x}/\Gamma(a+k+1)`
(the terms of :math:`P = \sum_k t_k`), summed over the terms that matter (those within
:math:`12\sqrt{x}+40` of the largest) -- or, in the upper tail, minus the derivative of
:math:`Q = 1 - P` from its Laplace-type integral -- a primitive of its own (``gammainc_da``) with a
derivative in ``x``; its derivative in ``a`` (the second derivative of :math:`P` in
:math:`a`) is refused. The zeta function's derivative in ``s`` is refused with
:class:`NoDerivativeError`; the incomplete beta function is in ``special_beta``.
"""

from __future__ import annotations

import numpy as _np  # the fixed quadrature nodes, computed once

from .elementwise import (
    add,
    exp,
    floor,
    greater,
    less_equal,
    log,
    logical_and,
    logical_not,
    multiply,
    negative,
    not_equal,
    reciprocal,
    rint,
    square,
    subtract,
    where,
)
from .special import _special as _sp_module
from .special import digamma, gammaln, polygamma_diff
from .special_util import keep_dtype, public, refuse, sp_elementwise

# fmt: off
__all__ = [
    "gamma", "gammasgn", "loggamma", "rgamma", "beta", "betaln", "poch", "gammainc",
    "gammaincc", "gammaincinv", "gammainccinv", "zeta",
]
# fmt: on


def _psi(x):
    return digamma(x)


# ------------------------------------------------------------------ gamma
gamma_p = sp_elementwise(
    "gamma",
    lambda ans, x: multiply(ans, _psi(x)),
    doc=r"""Gamma function; derivative :math:`\Gamma(x)\psi(x)`.""",
)
gamma = public(
    gamma_p,
    "gamma",
    1,
    r"""Gamma function :math:`\Gamma(x)` (SciPy's ``gamma``; poles give inf or nan).

    .. math:: \Gamma'(x) = \Gamma(x)\,\psi(x).
    """,
)

gammasgn_p = sp_elementwise(
    "gammasgn",
    lambda ans, x: multiply(0.0, x),
    doc="Sign of the gamma function; derivative 0 (it is piecewise constant).",
)
gammasgn = public(
    gammasgn_p,
    "gammasgn",
    1,
    r"""Sign of :math:`\Gamma(x)` (1 or -1; nan at the poles). Its derivative is 0 wherever
    it is defined, as in JAX.""",
)

loggamma_p = sp_elementwise(
    "loggamma",
    lambda ans, x: _psi(x),
    doc=r"""Principal branch of :math:`\log\Gamma(x)` (real x: nan for x < 0, as SciPy's);
    derivative :math:`\psi(x)`.""",
)
loggamma = public(
    loggamma_p,
    "loggamma",
    1,
    r""":math:`\log\Gamma(x)`, SciPy's ``loggamma`` (for real ``x``: nan where
    :math:`\Gamma(x) < 0`; see :func:`gammaln` for :math:`\log|\Gamma(x)|`).

    .. math:: \frac{d}{dx}\log\Gamma(x) = \psi(x).
    """,
)

rgamma_p = sp_elementwise(
    "rgamma",
    lambda ans, x: negative(multiply(ans, _psi(x))),
    doc=r""":math:`1/\Gamma(x)`; derivative :math:`-\psi(x)/\Gamma(x)`.""",
)
rgamma = public(
    rgamma_p,
    "rgamma",
    1,
    r"""Reciprocal gamma function :math:`1/\Gamma(x)` (0 at the poles of :math:`\Gamma`).

    .. math:: \frac{d}{dx}\frac{1}{\Gamma(x)} = -\frac{\psi(x)}{\Gamma(x)}

    (the derivative at a pole is taken from this form: nan there).
    """,
)


# ------------------------------------------------------------------ beta
def psi_diff(x, h):
    r""":math:`\psi(x + h) - \psi(x)`, with its digits where :math:`|h| \ll x`
    (:func:`adgraph.ops.special.polygamma_diff`)."""
    return polygamma_diff(0, x, h)


def _dpsi_ab(a, b):
    return negative(psi_diff(a, b)), negative(psi_diff(b, a))


betaln_p = sp_elementwise(
    "betaln",
    lambda ans, a, b: _dpsi_ab(a, b)[0],
    lambda ans, a, b: _dpsi_ab(a, b)[1],
    doc=r""":math:`\log|B(a, b)|`; partials :math:`\psi(a) - \psi(a+b)` and
    :math:`\psi(b) - \psi(a+b)`.""",
)
betaln = public(
    betaln_p,
    "betaln",
    2,
    r"""Log of the absolute value of the beta function,
    :math:`\log|B(a,b)| = \log|\Gamma(a)\Gamma(b)/\Gamma(a+b)|`.

    .. math:: \partial_a = \psi(a) - \psi(a+b), \qquad \partial_b = \psi(b) - \psi(a+b).
    """,
)

beta_p = sp_elementwise(
    "beta",
    lambda ans, a, b: multiply(ans, _dpsi_ab(a, b)[0]),
    lambda ans, a, b: multiply(ans, _dpsi_ab(a, b)[1]),
    doc=r"""Beta function; partials :math:`B(a,b)(\psi(a) - \psi(a+b))` and
    :math:`B(a,b)(\psi(b) - \psi(a+b))`.""",
)
beta = public(
    beta_p,
    "beta",
    2,
    r"""Beta function :math:`B(a, b) = \Gamma(a)\Gamma(b)/\Gamma(a+b)`.

    .. math:: \partial_a B = B\,(\psi(a) - \psi(a+b)), \qquad
       \partial_b B = B\,(\psi(b) - \psi(a+b)).
    """,
)


def _is_pole(u):
    r"""Where ``u`` is a pole of :math:`\Gamma`: a non-positive integer."""
    return logical_and(less_equal(u, 0.0), logical_not(not_equal(u, rint(u))))


def rgamma_at_pole(u):
    r"""``(r0, r1)``: :math:`1/\Gamma` and its derivative at a pole ``u = -m`` of
    :math:`\Gamma` (only there), as expressions whose own derivatives are right too.

    :math:`1/\Gamma(-m + e) = s\,(e - \psi(m+1)\,e^2) + O(e^3)` with
    :math:`s = (-1)^m m!`, so with :math:`e = u + m` (0 in value, derivative 1):
    ``r0 = s (e - psi(m+1) e^2)`` (value 0, derivative s) and
    ``r1 = s (1 - 2 psi(m+1) e)`` (value s, derivative :math:`-2 s\psi(m+1)`, the second
    derivative of :math:`1/\Gamma` there).
    """
    r = rint(u)  # -m; rint has a zero derivative
    m = negative(r)
    e = subtract(u, r)
    half = multiply(m, 0.5)
    s = multiply(where(not_equal(floor(half), half), -1.0, 1.0), gamma(add(m, 1.0)))
    p = _psi(add(m, 1.0))
    r0 = multiply(s, subtract(e, multiply(p, square(e))))
    r1 = multiply(s, subtract(1.0, multiply(2.0, multiply(p, e))))
    return r0, r1


def _poch_partials(ans, z, m):
    r"""Both partials of :math:`(z)_m`. Where it is 0 because ``z`` is a pole of
    :math:`\Gamma` (and ``z + m`` is not), :math:`(z)_m = \Gamma(z+m)/\Gamma(z)` with
    :math:`1/\Gamma` at its zero, :func:`rgamma_at_pole`: the closed forms
    :math:`(z)_m(\psi(z+m) - \psi(z))` would be 0 times inf there. Each branch sees
    safe operands where it is not selected, so no nan reaches a derivative through it."""
    at = logical_and(_is_pole(z), logical_not(_is_pole(add(z, m))))
    # away from such zeros: the closed forms
    zs, ms, a = where(at, 0.5, z), where(at, 1.0, m), where(at, 0.0, ans)
    psi_zm = _psi(add(zs, ms))
    dz = multiply(a, psi_diff(zs, ms))
    dm = multiply(a, psi_zm)
    # at them: Gamma(z + m) (r0 psi(z + m) + r1) and Gamma(z + m) r0 psi(z + m)
    zp, mp = where(at, z, -1.0), where(at, m, 3.0)
    r0, r1 = rgamma_at_pole(zp)
    g, psi_p = gamma(add(zp, mp)), _psi(add(zp, mp))
    dz_p = multiply(g, add(multiply(r0, psi_p), r1))
    dm_p = multiply(g, multiply(r0, psi_p))
    return where(at, dz_p, dz), where(at, dm_p, dm)


poch_p = sp_elementwise(
    "poch",
    lambda ans, z, m: _poch_partials(ans, z, m)[0],
    lambda ans, z, m: _poch_partials(ans, z, m)[1],
    doc=r"""Pochhammer symbol :math:`(z)_m = \Gamma(z+m)/\Gamma(z)`; partials
    :math:`(z)_m(\psi(z+m) - \psi(z))` and :math:`(z)_m\psi(z+m)`, and their limits
    where :math:`(z)_m = 0` at a pole ``z`` of :math:`\Gamma`.""",
)
poch = public(
    poch_p,
    "poch",
    2,
    r"""Pochhammer symbol (rising factorial) :math:`(z)_m = \Gamma(z+m)/\Gamma(z)`.

    .. math:: \partial_z (z)_m = (z)_m(\psi(z+m) - \psi(z)), \qquad
       \partial_m (z)_m = (z)_m\,\psi(z+m),

    and where :math:`(z)_m = 0` because ``z`` is a pole of :math:`\Gamma` (``poch(-2, 5)``)
    their limits :math:`\Gamma(z+m)\,(1/\Gamma)'(z)` and 0, with second derivatives.
    """,
)


# ------------------------------------------------------------------ incomplete gamma
def _gamma_density(a, x):
    r""":math:`x^{a-1}e^{-x}/\Gamma(a)`, the derivative of :math:`P(a, x)` in ``x``; 0 at
    ``x <= 0`` (where the function is constant), evaluated on a stand-in value there."""
    pos = greater(x, 0.0)
    xs = where(pos, x, 1.0)
    val = exp(subtract(subtract(multiply(subtract(a, 1.0), log(xs)), xs), gammaln(a)))
    return where(pos, val, 0.0)


def _gammainc_da_impl(xp, a, x):
    # Where Q = 1 - P is not small, the series of P: P(a, x) = sum_k t_k with
    # t_k = x^(a+k) e^-x / Gamma(a+k+1), and d t_k/da = t_k (log x - psi(a+k+1)). The
    # terms peak near k = x - a with width ~sqrt(x): the sum starts 12 sqrt(x) + 40 below
    # the peak (what it leaves out is below e^-70 of the total) and runs as far past it.
    # Where Q < 0.1 that sum would cancel to an absolute 1e-16 and lose the small
    # derivative, so there it is -dQ/da by Gauss-Laguerre quadrature (_dq_da_upper).
    sp = _sp_module(xp, "gammainc")
    a0, x0 = xp.broadcast_arrays(xp.asarray(a, dtype=float), xp.asarray(x, dtype=float))
    ok = (a0 > 0) & (x0 > 0) & xp.isfinite(a0) & xp.isfinite(x0)
    q = sp.gammaincc(xp.where(ok, a0, 1.0), xp.where(ok, x0, 1.0))
    upper = ok & (q < 0.1) & (x0 > 1.0)
    series = ok & ~upper
    aa = xp.where(series, a0, 1.0)
    xx = xp.where(series, x0, 1.0)
    width = 12.0 * xp.sqrt(xx) + 40.0
    k0 = xp.floor(xp.maximum(xx - aa - width, 0.0))
    lx = xp.log(xx)
    t = xp.exp((aa + k0) * lx - xx - sp.gammaln(aa + k0 + 1.0))
    psi = sp.digamma(aa + k0 + 1.0)
    s = t * (lx - psi)
    n = int(xp.max(2.0 * width)) if s.size else 0
    for j in range(1, n + 1):
        ak = aa + k0 + j
        t = t * xx / ak
        psi = psi + 1.0 / ak
        s = s + t * (lx - psi)
    up = -_dq_da_upper(xp, sp, xp.where(upper, a0, 1.0), xp.where(upper, x0, 2.0), q)
    out = xp.where(upper, up, s)
    out = xp.where(ok, out, xp.where((x0 == 0) & (a0 > 0), 0.0, xp.nan))
    return keep_dtype(out, (a, x))


_LAGUERRE = _np.polynomial.laguerre.laggauss(64)


def _dq_da_upper(xp, sp, a, x, q):
    # Q(a, x) Gamma(a) = e^-x x^(a-1) int_0^inf e^-s (1 + s/x)^(a-1) ds, so
    # dQ/da = Q (log x - psi(a)) + e^-x x^(a-1)/Gamma(a) * J,
    # J = int_0^inf e^-s (1 + s/x)^(a-1) log(1 + s/x) ds: both terms positive (x > a
    # here), no cancellation. The integrand decays like e^(-c s), c = 1 - (a-1)/x; the
    # rule is applied after scaling s by c, where what is left varies slowly.
    nodes, weights = (xp.asarray(v) for v in _LAGUERRE)
    a_, x_ = a[..., None], x[..., None]
    c = xp.maximum(1.0 - (a_ - 1.0) / x_, 1e-3)
    s = nodes / c
    l1 = xp.log1p(s / x_)
    g = xp.exp((a_ - 1.0) * l1 - (1.0 - c) * s) * l1
    j = xp.sum(weights * g, axis=-1) / c[..., 0]
    dens = xp.exp((a - 1.0) * xp.log(x) - x - sp.gammaln(a))
    return q * (xp.log(x) - sp.digamma(a)) + dens * j


def _gammainc_da_dx(ans, a, x):
    # d/dx dP/da = d/da dP/dx = dP/dx (log x - psi(a))
    pos = greater(x, 0.0)
    xs = where(pos, x, 1.0)
    return where(pos, multiply(_gamma_density(a, xs), subtract(log(xs), _psi(a))), 0.0)


gammainc_da_p = sp_elementwise(
    "gammainc_da",
    refuse("gammainc", "a to second order", "the second derivative in the shape is not provided"),
    _gammainc_da_dx,
    impl=_gammainc_da_impl,
    doc=r""":math:`\partial P(a, x)/\partial a` by its series; derivative in ``x``
    :math:`\partial_x P\,(\log x - \psi(a))`, none in ``a``.""",
)


gammainc_p = sp_elementwise(
    "gammainc",
    lambda ans, a, x: gammainc_da_p.bind(a, x),
    lambda ans, a, x: _gamma_density(a, x),
    doc=r"""Regularized lower incomplete gamma :math:`P(a, x)`; partials
    :math:`\partial_a P` (series) and :math:`x^{a-1}e^{-x}/\Gamma(a)`.""",
)
gammainc = public(
    gammainc_p,
    "gammainc",
    2,
    r"""Regularized lower incomplete gamma function
    :math:`P(a, x) = \frac{1}{\Gamma(a)}\int_0^x t^{a-1}e^{-t}\,dt` (:math:`a > 0`).

    .. math:: \partial_x P = \frac{x^{a-1}e^{-x}}{\Gamma(a)}, \qquad
       \partial_a P = \sum_{k\ge0} \frac{x^{a+k}e^{-x}}{\Gamma(a+k+1)}
       \bigl(\log x - \psi(a+k+1)\bigr).

    Derivatives of any order in ``x``; in ``a`` the first (by the series where
    :math:`Q = 1 - P \ge 0.1`, else as :math:`-\partial_a Q` by 64-point Gauss-Laguerre
    quadrature, accurate relative to itself in the upper tail) and the mixed one; the
    second derivative in ``a`` is refused with :class:`NoDerivativeError`.
    """,
)

gammaincc_p = sp_elementwise(
    "gammaincc",
    lambda ans, a, x: negative(gammainc_da_p.bind(a, x)),
    lambda ans, a, x: negative(_gamma_density(a, x)),
    doc=r"""Regularized upper incomplete gamma :math:`Q(a, x) = 1 - P(a, x)`; partials
    the negatives of :func:`gammainc`'s.""",
)
gammaincc = public(
    gammaincc_p,
    "gammaincc",
    2,
    r"""Regularized upper incomplete gamma function :math:`Q(a, x) = 1 - P(a, x)`,
    accurate where :math:`P` is close to 1.

    .. math:: \partial_x Q = -\frac{x^{a-1}e^{-x}}{\Gamma(a)}, \qquad
       \partial_a Q = -\partial_a P

    (see :func:`gammainc` for what is provided in ``a``).
    """,
)


def _inv_density(a, ans):
    return reciprocal(_gamma_density(a, ans))


gammaincinv_p = sp_elementwise(
    "gammaincinv",
    lambda ans, a, y: negative(multiply(gammainc_da_p.bind(a, ans), _inv_density(a, ans))),
    lambda ans, a, y: _inv_density(a, ans),
    doc=r"""Inverse of :math:`P(a, \cdot)`: :math:`x` with :math:`P(a, x) = y`; partials
    :math:`-\partial_a P / \partial_x P` and :math:`1/\partial_x P` at :math:`x`.""",
)
gammaincinv = public(
    gammaincinv_p,
    "gammaincinv",
    2,
    r"""Inverse of the regularized lower incomplete gamma function in ``x``:
    :math:`x = P^{-1}(a, y)`, so that :math:`P(a, x) = y`.

    .. math:: \partial_y x = \frac{\Gamma(a)}{x^{a-1}e^{-x}}, \qquad
       \partial_a x = -\frac{\partial_a P(a, x)}{\partial_x P(a, x)}.
    """,
)

gammainccinv_p = sp_elementwise(
    "gammainccinv",
    lambda ans, a, y: negative(multiply(gammainc_da_p.bind(a, ans), _inv_density(a, ans))),
    lambda ans, a, y: negative(_inv_density(a, ans)),
    doc=r"""Inverse of :math:`Q(a, \cdot)`; partials :math:`-\partial_a P/\partial_x P`
    and :math:`-1/\partial_x P` at the result.""",
)
gammainccinv = public(
    gammainccinv_p,
    "gammainccinv",
    2,
    r"""Inverse of the regularized upper incomplete gamma function in ``x``:
    :math:`Q(a, x) = y`.

    .. math:: \partial_y x = -\frac{\Gamma(a)}{x^{a-1}e^{-x}}, \qquad
       \partial_a x = -\frac{\partial_a P(a, x)}{\partial_x P(a, x)}.
    """,
)


# ------------------------------------------------------------------ zeta
def _zeta_dq(ans, s, q):
    return negative(multiply(s, zeta_p.bind(add(s, 1.0), q)))


zeta_p = sp_elementwise(
    "zeta",
    refuse("zeta", "x (the exponent s)", "the derivative in the exponent is not provided"),
    _zeta_dq,
    doc=r"""Hurwitz zeta :math:`\zeta(s, q) = \sum_k (k+q)^{-s}`; derivative in ``q``
    :math:`-s\,\zeta(s+1, q)`, none in ``s``.""",
)

# Riemann's zeta on the whole real line (SciPy's analytic continuation below 1).
riemann_zeta_p = sp_elementwise(
    "riemann_zeta",
    refuse("zeta", "x (the exponent s)", "the derivative in the exponent is not provided"),
    spname="zeta",
    doc="Riemann zeta function; no derivative provided.",
)


def zeta(x, q=None):
    r"""Hurwitz zeta function :math:`\zeta(x, q) = \sum_{k\ge0}(k+q)^{-x}`; the Riemann
    zeta function :math:`\zeta(x)` when ``q`` is None (as SciPy's ``zeta``).

    .. math:: \partial_q \zeta(x, q) = -x\,\zeta(x+1, q).

    The derivative in the exponent ``x`` is not provided (:class:`NoDerivativeError`).
    """
    if q is None:
        return riemann_zeta_p.bind(x)
    return zeta_p.bind(x, q)
