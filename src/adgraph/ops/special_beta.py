r"""The regularized incomplete beta function of ``adgraph.scipy.special`` and its inverse,
differentiable in ``x`` (to any order) and in the shapes ``a``, ``b`` (first order).

The shape derivatives have no closed form. They come from the series

.. math::
   I_x(a, b) = \frac{x^a(1-x)^b}{a\,B(a, b)} \sum_{n\ge0} c_n, \qquad
   c_0 = 1,\; c_{n+1} = c_n\,\frac{(a+b+n)\,x}{a+1+n},

differentiated term by term (:math:`\partial_a c_n = c_n\sum_{j<n}(\frac{1}{a+b+j} -
\frac{1}{a+1+j})`, :math:`\partial_b c_n = c_n\sum_{j<n}\frac{1}{a+b+j}`). Its terms
decrease from the first where :math:`x \le (a+1)/(a+b+2)`; above that point the
symmetry :math:`I_x(a, b) = 1 - I_{1-x}(b, a)` is used, so the tail probability (the
small one) is always the one summed and its derivative is accurate relative to itself.
This is the primitive ``betainc_dab`` (``wrt=0`` for ``a``, ``1`` for ``b``), with a
derivative in ``x``; its own derivatives in ``a`` and ``b`` (second order in the shapes)
are refused with :class:`NoDerivativeError`.
"""

from __future__ import annotations

from .elementwise import (
    add,
    exp,
    greater,
    less,
    log,
    log1p,
    logical_and,
    multiply,
    negative,
    reciprocal,
    subtract,
    where,
)
from .special import _special as _sp_module
from .special import digamma
from .special_gamma import betaln
from .special_util import keep_dtype, public, refuse, sp_elementwise

__all__ = ["betainc", "betaincinv"]

_MAX_TERMS = 100_000


def _beta_density(a, b, x):
    r""":math:`x^{a-1}(1-x)^{b-1}/B(a,b)` inside (0, 1), 0 outside."""
    inside = logical_and(greater(x, 0.0), less(x, 1.0))
    xs = where(inside, x, 0.5)
    lv = add(
        multiply(subtract(a, 1.0), log(xs)),
        multiply(subtract(b, 1.0), log1p(negative(xs))),
    )
    return where(inside, exp(subtract(lv, betaln(a, b))), 0.0)


def _series_dab(xp, sp, a, b, x):
    """``(dI/da, dI/db)`` of ``I_x(a, b)`` by the series (``x`` below the switch point)."""
    lx, l1x = xp.log(x), xp.log1p(-x)
    pa, pab = sp.digamma(a), sp.digamma(a + b)
    pre = xp.exp(a * lx + b * l1x - xp.log(a) - sp.betaln(a, b))
    c = xp.ones_like(x)
    s, sa, sb = c.copy(), xp.zeros_like(x), xp.zeros_like(x)
    ga, gb = xp.zeros_like(x), xp.zeros_like(x)  # running sums of the log-derivatives
    for n in range(_MAX_TERMS):
        ga = ga + 1.0 / (a + b + n) - 1.0 / (a + 1.0 + n)
        gb = gb + 1.0 / (a + b + n)
        c = c * (a + b + n) * x / (a + 1.0 + n)
        s, sa, sb = s + c, sa + c * ga, sb + c * gb
        if not bool(xp.any(c > 1e-17 * s)):
            break
    i = pre * s
    da = i * (lx - 1.0 / a - pa + pab) + pre * sa
    db = i * (l1x - sp.digamma(b) + pab) + pre * sb
    return da, db


def _betainc_dab_impl(xp, a, b, x, *, wrt):
    sp = _sp_module(xp, "betainc")
    a0, b0, x0 = xp.broadcast_arrays(*(xp.asarray(v, dtype=float) for v in (a, b, x)))
    ok = (a0 > 0) & (b0 > 0) & (x0 > 0) & (x0 < 1) & xp.isfinite(a0) & xp.isfinite(b0)
    flip = x0 > (a0 + 1.0) / (a0 + b0 + 2.0)
    # on the flipped side I_x(a, b) = 1 - I_{1-x}(b, a): the roles of a and b swap
    aa = xp.where(ok, xp.where(flip, b0, a0), 1.0)
    bb = xp.where(ok, xp.where(flip, a0, b0), 1.0)
    xx = xp.where(ok, xp.where(flip, 1.0 - x0, x0), 0.5)
    da, db = _series_dab(xp, sp, aa, bb, xx)
    want = xp.where(flip, -db, da) if wrt == 0 else xp.where(flip, -da, db)
    edge = ((x0 == 0) | (x0 == 1)) & (a0 > 0) & (b0 > 0)
    out = xp.where(ok, want, xp.where(edge, 0.0, xp.nan))
    return keep_dtype(out, (a, b, x))


def _dab_dx(ans, a, b, x, *, wrt):
    # d/dx dI/da = d/da density = density (log x - psi(a) + psi(a+b)); likewise for b
    inside = logical_and(greater(x, 0.0), less(x, 1.0))
    xs = where(inside, x, 0.5)
    pab = digamma(add(a, b))
    if wrt == 0:
        g = add(subtract(log(xs), digamma(a)), pab)
    else:
        g = add(subtract(log1p(negative(xs)), digamma(b)), pab)
    return where(inside, multiply(_beta_density(a, b, xs), g), 0.0)


_SECOND = "the second derivative in the shapes is not provided"

betainc_dab_p = sp_elementwise(
    "betainc_dab",
    refuse("betainc", "a to second order", _SECOND),
    refuse("betainc", "b to second order", _SECOND),
    _dab_dx,
    impl=_betainc_dab_impl,
    doc=r""":math:`\partial I_x(a,b)/\partial a` (``wrt=0``) or :math:`\partial/\partial b`
    (``wrt=1``) by the term-by-term derivative of the series; derivative in ``x`` the
    shape derivative of the density, none in the shapes.""",
)


betainc_p = sp_elementwise(
    "betainc",
    lambda ans, a, b, x: betainc_dab_p.bind(a, b, x, wrt=0),
    lambda ans, a, b, x: betainc_dab_p.bind(a, b, x, wrt=1),
    lambda ans, a, b, x: _beta_density(a, b, x),
    doc=r"""Regularized incomplete beta :math:`I_x(a, b)`; partials in ``a``, ``b`` by a
    series, in ``x`` :math:`x^{a-1}(1-x)^{b-1}/B(a,b)`.""",
)
betainc = public(
    betainc_p,
    "betainc",
    3,
    r"""Regularized incomplete beta function
    :math:`I_x(a, b) = \frac{1}{B(a,b)}\int_0^x t^{a-1}(1-t)^{b-1}\,dt`.

    .. math:: \partial_x I_x(a, b) = \frac{x^{a-1}(1-x)^{b-1}}{B(a, b)}

    (derivatives of every order in ``x``). The derivatives in ``a`` and ``b`` come from
    the term-by-term derivative of the power series of :math:`I`, on the side of
    :math:`x = (a+1)/(a+b+2)` where it converges from its first term (the tail that is
    small is the one summed): first order, and the mixed second order with ``x``; a second
    derivative in the shapes raises :class:`NoDerivativeError`.
    """,
)


def _inv_shape(wrt):
    def partial(ans, a, b, y):
        return negative(
            multiply(betainc_dab_p.bind(a, b, ans, wrt=wrt), reciprocal(_beta_density(a, b, ans)))
        )

    return partial


betaincinv_p = sp_elementwise(
    "betaincinv",
    _inv_shape(0),
    _inv_shape(1),
    lambda ans, a, b, y: reciprocal(_beta_density(a, b, ans)),
    doc=r"""Inverse of :math:`I_x(a, b)` in ``x``; partials :math:`-\partial_a I/\partial_x
    I`, :math:`-\partial_b I/\partial_x I` and :math:`1/\partial_x I` at the result.""",
)
betaincinv = public(
    betaincinv_p,
    "betaincinv",
    3,
    r"""Inverse of the regularized incomplete beta function in ``x``: :math:`I_x(a,b) = y`.

    .. math:: \partial_y x = \frac{B(a, b)}{x^{a-1}(1-x)^{b-1}}, \qquad
       \partial_a x = -\frac{\partial_a I_x(a, b)}{\partial_x I_x(a, b)}

    (and likewise in ``b``; first order in the shapes, see :func:`betainc`).
    """,
)
