r"""Bessel functions of ``adgraph.scipy.special``: of the first and second kind
(``jv jn j0 j1``, ``yv yn y0 y1``), modified of the first and second kind (``iv i0 i1``,
``kv k0 k1``) and their exponentially scaled forms (``ive i0e i1e``, ``kve k0e k1e``),
and JAX's ``bessel_jn``.

Values come from SciPy; the derivatives in ``x`` are the order recurrences, written with
adgraph's operations so they differentiate again:

.. math::
   J_v' = \tfrac12(J_{v-1} - J_{v+1}), \quad Y_v' = \tfrac12(Y_{v-1} - Y_{v+1}), \quad
   I_v' = \tfrac12(I_{v-1} + I_{v+1}), \quad K_v' = -\tfrac12(K_{v-1} + K_{v+1}),

and for the scaled forms :math:`\tilde I_v = e^{-|x|}I_v`, :math:`\tilde K_v = e^{x}K_v`
the product rule on top. The order has no derivative: an integer order (``jn``, ``yn``)
by nature, a real one (``jv``, ``iv``...) because it is not provided; asking for either
raises :class:`NoDerivativeError` naming the order.
"""

from __future__ import annotations

from .elementwise import absolute, add, divide, greater, multiply, negative, sign, subtract, where
from .joining import stack
from .special import _special
from .special_util import integral, keep_dtype, public, refuse, sp_elementwise

# fmt: off
__all__ = [
    "jv", "jn", "j0", "j1", "yv", "yn", "y0", "y1", "iv", "ive", "i0", "i0e", "i1", "i1e",
    "kv", "kve", "k0", "k0e", "k1", "k1e", "bessel_jn",
]
# fmt: on

_REAL_ORDER = "the derivative in the order is not provided"
_INT_ORDER = "it is an integer order"


def _half(a, b):
    return multiply(0.5, add(a, b))


# SciPy's ive(2, x) and kve(2, x) are nan beyond |x| ~ 5e9 where i1e and k1e are not:
# past _BIG the order-2 function comes from the recurrence (I_2 = I_0 - 2 I_1 / x,
# K_2 = K_0 + 2 K_1 / x), with no cancellation to fear there.
_BIG = 1e8


def _ive2(x, i1e_x):
    big = greater(absolute(x), _BIG)
    far = subtract(i0e(x), divide(multiply(2.0, i1e_x), where(big, x, _BIG)))
    return where(big, far, ive(2.0, where(big, 1.0, x)))


def _kve2(x, k1e_x):
    big = greater(x, _BIG)
    far = add(k0e(x), divide(multiply(2.0, k1e_x), where(big, x, _BIG)))
    return where(big, far, kve(2.0, where(big, 1.0, x)))


def _up(v):
    return add(v, 1.0)


def _down(v):
    return subtract(v, 1.0)


def _order_fn(name, rule, what, sym, formula, *, family=None, note=""):
    """The primitive and public function ``name`` of a Bessel function of an order and
    ``x``: its derivative in ``x`` is ``rule(ans, x, F_{v-1}(x), F_{v+1}(x))``, the
    neighbouring orders of its own primitive, or of ``family``'s for an integer-order
    function (``jn``, ``yn``: the real-order ``jv``, ``yv``). ``sym`` and ``formula`` (the
    derivative in LaTeX) write the docstrings."""
    integer = family is not None
    o = "n" if integer else "v"
    impl = None
    if name == "yn":  # SciPy truncates a fractional n (yn(1.5, x) is yn(1, x)): refuse it
        # (its jn is jv, right for any real order)

        def impl(xp, n, x):
            n = xp.asarray(n)
            if n.dtype.kind == "f":
                integral(xp, n, name, "the order n")
            return keep_dtype(getattr(_special(xp, name), name)(n, x), (x,))

    def dx(ans, v, x):
        f = p if family is None else family
        return rule(ans, x, f.bind(_down(v), x), f.bind(_up(v), x))

    kind = "integer" if integer else "real"
    p = sp_elementwise(
        name,
        refuse(name, "the order " + o, _INT_ORDER if integer else _REAL_ORDER),
        dx,
        doc=f"{what} of {kind} order; derivative in x :math:`{formula}`.",
        impl=impl,
    )
    pub_doc = rf"""{what} :math:`{sym}_{o}(x)` of {kind} order ``{o}``{note}.

    .. math:: \partial_x {sym}_{o}(x) = {formula}.

    No derivative in ``{o}`` (:class:`NoDerivativeError`).
    """
    return p, public(p, name, 2, pub_doc)


# the derivative rules from the neighbouring orders lo = F_{v-1}(x), hi = F_{v+1}(x)
def _half_difference(ans, x, lo, hi):  # J and Y
    return multiply(0.5, subtract(lo, hi))


def _half_sum(ans, x, lo, hi):  # I
    return _half(lo, hi)


def _minus_half_sum(ans, x, lo, hi):  # K
    return negative(_half(lo, hi))


def _scaled_i(ans, x, lo, hi):  # e^{-|x|} I
    return subtract(_half(lo, hi), multiply(sign(x), ans))


def _scaled_k(ans, x, lo, hi):  # e^{x} K
    return subtract(ans, _half(lo, hi))


# ------------------------------------------------------------------ first and second kind
jv_p, jv = _order_fn(
    "jv",
    _half_difference,
    "Bessel function of the first kind",
    "J",
    r"\tfrac12\bigl(J_{v-1}(x) - J_{v+1}(x)\bigr)",
)
yv_p, yv = _order_fn(
    "yv",
    _half_difference,
    "Bessel function of the second kind",
    "Y",
    r"\tfrac12\bigl(Y_{v-1}(x) - Y_{v+1}(x)\bigr)",
)
jn_p, jn = _order_fn(
    "jn",
    _half_difference,
    "Bessel function of the first kind",
    "J",
    r"\tfrac12\bigl(J_{n-1}(x) - J_{n+1}(x)\bigr)",
    family=jv_p,
)
yn_p, yn = _order_fn(
    "yn",
    _half_difference,
    "Bessel function of the second kind",
    "Y",
    r"\tfrac12\bigl(Y_{n-1}(x) - Y_{n+1}(x)\bigr)",
    family=yv_p,
)


def _unary(name, dx, doc):
    p = sp_elementwise(name, dx, doc=doc)
    return p, public(p, name, 1, doc)


j0_p, j0 = _unary(
    "j0",
    lambda ans, x: negative(j1(x)),
    r"""Bessel function of the first kind of order 0; :math:`J_0' = -J_1`.""",
)
j1_p, j1 = _unary(
    "j1",
    lambda ans, x: multiply(0.5, subtract(j0(x), jv(2.0, x))),
    r"""Bessel function of the first kind of order 1; :math:`J_1' = (J_0 - J_2)/2`.""",
)
y0_p, y0 = _unary(
    "y0",
    lambda ans, x: negative(y1(x)),
    r"""Bessel function of the second kind of order 0; :math:`Y_0' = -Y_1`.""",
)
y1_p, y1 = _unary(
    "y1",
    lambda ans, x: multiply(0.5, subtract(y0(x), yv(2.0, x))),
    r"""Bessel function of the second kind of order 1; :math:`Y_1' = (Y_0 - Y_2)/2`.""",
)


# ------------------------------------------------------------------ modified, first kind
iv_p, iv = _order_fn(
    "iv",
    _half_sum,
    "Modified Bessel function of the first kind",
    "I",
    r"\tfrac12\bigl(I_{v-1}(x) + I_{v+1}(x)\bigr)",
)
ive_p, ive = _order_fn(
    "ive",
    _scaled_i,
    "Exponentially scaled modified Bessel function of the first kind",
    r"\tilde I",
    r"\tfrac12(\tilde I_{v-1} + \tilde I_{v+1}) - \operatorname{sign}(x)\,\tilde I_v",
    note=r", :math:`e^{-|x|} I_v(x)` (finite where :math:`I_v` overflows)",
)

i0_p, i0 = _unary(
    "i0",
    lambda ans, x: i1(x),
    r"""Modified Bessel function of the first kind of order 0; :math:`I_0' = I_1`.""",
)
i1_p, i1 = _unary(
    "i1",
    lambda ans, x: _half(i0(x), iv(2.0, x)),
    r"""Modified Bessel function of the first kind of order 1; :math:`I_1' = (I_0 + I_2)/2`.""",
)
i0e_p, i0e = _unary(
    "i0e",
    lambda ans, x: subtract(i1e(x), multiply(sign(x), ans)),
    r"""Exponentially scaled :math:`e^{-|x|}I_0(x)`; derivative
    :math:`\tilde I_1 - \operatorname{sign}(x)\tilde I_0`.""",
)
i1e_p, i1e = _unary(
    "i1e",
    lambda ans, x: subtract(_half(i0e(x), _ive2(x, ans)), multiply(sign(x), ans)),
    r"""Exponentially scaled :math:`e^{-|x|}I_1(x)`; derivative
    :math:`(\tilde I_0 + \tilde I_2)/2 - \operatorname{sign}(x)\tilde I_1`.""",
)


# ------------------------------------------------------------------ modified, second kind
kv_p, kv = _order_fn(
    "kv",
    _minus_half_sum,
    "Modified Bessel function of the second kind",
    "K",
    r"-\tfrac12\bigl(K_{v-1}(x) + K_{v+1}(x)\bigr)",
)
kve_p, kve = _order_fn(
    "kve",
    _scaled_k,
    "Exponentially scaled modified Bessel function of the second kind",
    r"\tilde K",
    r"\tilde K_v - \tfrac12(\tilde K_{v-1} + \tilde K_{v+1})",
    note=r", :math:`e^{x} K_v(x)`",
)
k0_p, k0 = _unary(
    "k0",
    lambda ans, x: negative(k1(x)),
    r"""Modified Bessel function of the second kind of order 0; :math:`K_0' = -K_1`.""",
)
k1_p, k1 = _unary(
    "k1",
    lambda ans, x: negative(_half(k0(x), kv(2.0, x))),
    r"""Modified Bessel function of the second kind of order 1;
    :math:`K_1' = -(K_0 + K_2)/2`.""",
)
k0e_p, k0e = _unary(
    "k0e",
    lambda ans, x: subtract(ans, k1e(x)),
    r"""Exponentially scaled :math:`e^{x}K_0(x)`; derivative :math:`\tilde K_0 - \tilde K_1`.""",
)
k1e_p, k1e = _unary(
    "k1e",
    lambda ans, x: subtract(ans, _half(k0e(x), _kve2(x, ans))),
    r"""Exponentially scaled :math:`e^{x}K_1(x)`; derivative
    :math:`\tilde K_1 - (\tilde K_0 + \tilde K_2)/2`.""",
)


def bessel_jn(z, *, v: int, n_iter: int = 50):
    r"""The Bessel functions of the first kind :math:`J_0(z), \dots, J_v(z)`, stacked on a
    new first axis (shape ``(v + 1,) + z.shape``), as ``jax.scipy.special.bessel_jn``.

    Each is :func:`jn`, differentiable in ``z``. ``n_iter`` (the length of JAX's
    recurrence) is accepted for compatibility and not needed: the values are SciPy's.
    """
    try:
        nv = int(v)
    except TypeError:
        raise TypeError(f"bessel_jn: v must be a non-negative integer, got {v!r}") from None
    if nv != v or nv < 0:
        raise ValueError(f"bessel_jn: v must be a non-negative integer, got {v!r}")
    del n_iter
    return stack([jn(float(k), z) for k in range(nv + 1)], axis=0)
