r"""NumPy's polynomial functions (coefficients highest power first): ``poly``, ``roots``,
``polyadd``, ``polysub``, ``polymul``, ``polydiv``, ``polyder``, ``polyint``, ``polyfit``
and ``vander`` (``polyval`` lives in :mod:`adgraph.ops.numerical`).

Each follows NumPy's own algorithm step by step in adgraph operations, so the values are
NumPy's and the derivatives are those of the algorithm, to any order: coefficient
arithmetic is (bi)linear, ``polydiv`` is the long division, ``polyfit`` the scaled least
squares NumPy solves (through ``linalg.lstsq``), ``roots`` the eigenvalues of the
companion matrix (through ``linalg.eigvals``: :math:`\dot r = -\dot p(r) / p'(r)` for a
simple root) and ``vander`` running products (exact derivatives at zero, where powers
would give :math:`0 \cdot \infty`). Where NumPy trims leading zeros the test is on the
values (under ``jit`` a guard).
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as _np  # dtype queries only; never on values

from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import products as _pr
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, check_numeric
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray, ones, zeros
from .indexing import getitem, sort
from .misc import astype
from .searching import trim_zeros

__all__ = [
    "poly", "roots", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint",
    "polyfit", "vander", "poly1d",
]  # fmt: skip


def _arr(x, op, what="the coefficients"):
    check_numeric(x, op, what)
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _coeffs(p, name):
    p = _sh.atleast_1d(_arr(p, name))
    if len(_shape(p)) != 1:
        raise OpError(f"{name}: coefficients must be 1-d, got shape {_shape(p)}")
    return p


class _ZeroDivisor(OpError, ZeroDivisionError):
    """Division by a polynomial whose leading coefficient is zero; also a
    ``ZeroDivisionError``, as NumPy raises."""


def _order(m, name, what):
    try:
        m = operator.index(m)
    except TypeError:
        raise OpTypeError(f"{name}: {what} must be an integer, got {m!r}") from None
    if m < 0:
        raise OpError(f"{name}: {what} must be non-negative, got {m}")
    return m


def _staged(v) -> bool:
    while isinstance(v, Tracer):
        if getattr(v._trace, "stages_effects", False):
            return True
        v = v._inner()
    return False


def _guard_zeros(p, back: bool = False) -> None:
    """Under ``jit``, make the number of leading (and with ``back``, trailing) zero
    coefficients of ``p`` part of the compiled program's guards: the result's length
    depends on it, and without a guard the program would keep the length of the values it
    was traced with (a silently wrong result for others). Each ``bool`` of a staged value
    is such a guard: the program is traced again when one comes out differently."""
    if not _staged(p):
        return
    n = _shape(p)[0]
    k = 0
    while k < n and bool(_ew.equal(getitem(p, k), 0)):
        k += 1
    j = n - 1
    while back and j > k and bool(_ew.equal(getitem(p, j), 0)):
        j -= 1


def _strip_leading(p):
    """NumPy's poly1d: leading zeros removed, ``[0]`` for the zero polynomial."""
    _guard_zeros(p)
    t = trim_zeros(p, "f")
    return t if _shape(t)[0] else zeros((1,), dtype=_dtype(p))


# ----------------------------------------------------------------- arithmetic
def _padded(a1, a2):
    n1, n2 = _shape(a1)[0], _shape(a2)[0]
    if n2 > n1:
        a1 = _jn.concatenate([zeros((n2 - n1,), dtype=_dtype(a1)), a1])
    elif n1 > n2:
        a2 = _jn.concatenate([zeros((n1 - n2,), dtype=_dtype(a2)), a2])
    return a1, a2


def polyadd(a1: Any, a2: Any) -> Any:
    """The sum of two polynomials (the shorter padded with leading zeros). Linear."""
    return _ew.add(*_padded(_coeffs(a1, "polyadd"), _coeffs(a2, "polyadd")))


def polysub(a1: Any, a2: Any) -> Any:
    """The difference of two polynomials (the shorter padded with leading zeros). Linear."""
    return _ew.subtract(*_padded(_coeffs(a1, "polysub"), _coeffs(a2, "polysub")))


def polymul(a1: Any, a2: Any) -> Any:
    """The product of two polynomials (the convolution of their coefficients, leading
    zeros removed first as NumPy does). Bilinear."""
    from .numerical import convolve

    a1, a2 = _coeffs(a1, "polymul"), _coeffs(a2, "polymul")
    a1, a2 = _strip_leading(a1), _strip_leading(a2)
    return convolve(a1, a2)


def polydiv(u: Any, v: Any) -> tuple:
    r"""``(q, r)`` with :math:`u = q v + r`, by NumPy's long division (leading remainder
    terms within :math:`10^{-8}` of zero dropped). Differentiable in both, through the
    division steps :math:`d = r_k / v_0`, :math:`r_{k:k+n+1} \mathrel{-}= d\,v`."""
    u = _ew.add(_coeffs(u, "polydiv"), 0.0)
    v = _ew.add(_coeffs(v, "polydiv"), 0.0)
    if _shape(v)[0] == 0:
        raise OpError("polydiv: the divisor has no coefficients; give at least one")
    w_dt = _np.result_type(_dtype(u), _dtype(v))
    m, n = _shape(u)[0] - 1, _shape(v)[0] - 1
    v0 = getitem(v, 0)
    try:  # under jit a guard; under grad the value at hand
        zero = bool(_ew.equal(v0, 0))
    except TypeError:  # batched by vmap: each example has its own; not checked
        zero = False
    if zero:
        raise _ZeroDivisor(
            "polydiv: the divisor's leading coefficient is zero; drop its leading zeros "
            "(np.trim_zeros(v, 'f')), or divide by a nonzero polynomial"
        )
    scale = _ew.divide(1.0, v0)
    r = [getitem(astype(u, w_dt), i) for i in range(m + 1)]
    vs = [getitem(v, j) for j in range(n + 1)]
    q = []
    for k in range(m - n + 1):
        d = _ew.multiply(scale, r[k])
        q.append(d)
        for j in range(n + 1):
            r[k + j] = _ew.subtract(r[k + j], _ew.multiply(d, vs[j]))
    qa = _jn.stack(q) if q else zeros((1,), dtype=w_dt)
    ra = _jn.stack(r)
    while _shape(ra)[0] > 1 and bool(_ew.less_equal(_ew.absolute(getitem(ra, 0)), 1e-8)):
        ra = getitem(ra, slice(1, None))
    return astype(qa, w_dt), ra


def polyder(p: Any, m: int = 1) -> Any:
    r"""The ``m``-th derivative of the polynomial: each step multiplies the coefficients
    by their powers and drops the constant. Linear in ``p``."""
    m = _order(m, "polyder", "the order of the derivative")
    p = _coeffs(p, "polyder")
    # each step drops a coefficient: past the degree the result stays empty
    for _ in range(min(m, _shape(p)[0])):
        n = _shape(p)[0] - 1
        p = _ew.multiply(getitem(p, slice(None, -1)), _np.arange(n, 0, -1))
    return p


def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    r"""The ``m``-th antiderivative of the polynomial, with integration constants ``k``
    (a scalar for all, or one per integration; default 0). Linear in ``p`` and ``k``."""
    m = _order(m, "polyint", "the order of the integral")
    if k is None:
        k = zeros((m,), dtype=_np.float64)
    k = _sh.atleast_1d(_arr(k, "polyint", "k"))
    if _shape(k)[0] == 1 and m > 1:
        k = _ew.multiply(getitem(k, 0), ones((m,), dtype=_np.float64))
    if _shape(k)[0] < m:
        raise OpError("polyint: k must be a scalar or a rank-1 array of length 1 or >m")
    p = _coeffs(p, "polyint")
    for i in range(m):
        p = _jn.concatenate(
            [_ew.true_divide(p, _np.arange(_shape(p)[0], 0, -1)), _sh.reshape(getitem(k, i), (1,))]
        )
    return p


def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    r"""The Vandermonde matrix of the 1-d ``x``: columns :math:`x^{N-1}, \dots, x, 1` (or
    increasing). Built by running products as NumPy does, so the derivative is exact
    also at :math:`x = 0`."""
    x = _arr(x, "vander", "x")
    if len(_shape(x)) != 1:
        raise OpError(f"vander: x must be a one-dimensional array, got shape {_shape(x)}")
    n = _shape(x)[0]
    N = n if N is None else _order(N, "vander", "N")
    dt = _np.result_type(_dtype(x), _np.int_)
    cols = [ones((n, 1), dtype=dt)] if N > 0 else []
    if N > 1:
        rep = _sh.broadcast_to(_sh.reshape(astype(x, dt), (n, 1)), (n, N - 1))
        cols.append(_red.cumprod(rep, axis=1))
    if not cols:
        return zeros((n, 0), dtype=dt)
    v = _jn.concatenate(cols, axis=1) if len(cols) > 1 else cols[0]
    return v if increasing else _sh.flip(v, 1)


# ----------------------------------------------------------------- roots and fits
def poly(seq_of_zeros: Any) -> Any:
    r"""The coefficients of the monic polynomial with the given roots (a 1-d sequence, or
    the eigenvalues of a square matrix): :math:`\prod_i (x - z_i)`, multiplied out one
    factor at a time; real when the roots come in conjugate pairs, as in NumPy."""
    z = _sh.atleast_1d(_arr(seq_of_zeros, "poly", "seq_of_zeros"))
    sh = _shape(z)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        from .linalg import eigvals

        z = eigvals(z)
    elif len(sh) == 1:
        z = astype(z, _np.dtype(_np.mintypecode(_np.dtype(_dtype(z)).char)))
    else:
        raise OpError("poly: input must be 1d or non-empty square 2d array")
    if _shape(z)[0] == 0:
        return 1.0
    dt = _dtype(z)
    a = ones((1,), dtype=dt)
    for i in range(_shape(z)[0]):
        t = _ew.multiply(a, _ew.negative(getitem(z, i)))
        # convolution with [1, -z]: a_k - z a_{k-1}, the leading 1 kept as it is (not
        # 1 + 0 * -z, which is nan for an infinite or nan root, where NumPy gives 1)
        a = _jn.concatenate(
            [
                getitem(a, slice(None, 1)),
                _ew.add(getitem(a, slice(1, None)), getitem(t, slice(None, -1))),
                getitem(t, slice(-1, None)),
            ]
        )
    if _np.dtype(dt).kind == "c":
        r = astype(z, _np.complex128)
        if bool(_red.all(_ew.equal(sort(r), sort(_ew.conj(r))))):
            a = _ew.real(a)
    return a


def roots(p: Any) -> Any:
    r"""The roots of the polynomial with coefficients ``p``: the eigenvalues of its
    companion matrix (leading zeros dropped, trailing ones giving zero roots), as NumPy
    computes them. Differentiable through ``linalg.eigvals``: for a simple root,
    :math:`\dot r = -\dot p(r) / p'(r)`."""
    p = _sh.atleast_1d(_arr(p, "roots"))
    if len(_shape(p)) != 1:
        raise OpError(f"roots: input must be a rank-1 array, got shape {_shape(p)}")
    _guard_zeros(p, back=True)
    lead = trim_zeros(p, "f")
    if _shape(lead)[0] == 0:
        return _np.array([])
    core = trim_zeros(lead, "b")
    trailing = _shape(lead)[0] - _shape(core)[0]
    if _np.dtype(_dtype(core)).kind not in "fc":
        core = astype(core, _np.float64)
    N = _shape(core)[0]
    dt = _dtype(core)
    if N > 1:
        from .linalg import eigvals

        first = _ew.negative(_ew.divide(getitem(core, slice(1, None)), getitem(core, 0)))
        rest = _np.eye(N - 2, N - 1, dtype=dt)
        comp = _jn.concatenate([_sh.reshape(first, (1, N - 1)), rest], axis=0)
        r = eigvals(comp)
    else:
        r = _np.array([], dtype=dt)
    if trailing:
        return _jn.concatenate([r, zeros((trailing,), dtype=_dtype(r))])
    return r


def polyfit(
    x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None,
    cov: Any = False,
) -> Any:  # fmt: skip
    r"""Least-squares polynomial fit of degree ``deg`` to the points (x, y) (``y`` may
    hold several data sets as columns), NumPy's algorithm: the Vandermonde matrix
    (weighted by ``w``), its columns scaled to unit norm, ``lstsq``, the scaling undone.
    ``full`` adds ``(residuals, rank, singular_values, rcond)``; ``cov`` the covariance
    of the coefficients (scaled by the residuals, or ``'unscaled'``).

    Differentiable in ``x``, ``y`` and ``w`` through ``linalg.lstsq`` (constant rank)."""
    from .linalg import inv, lstsq

    order = _order(deg, "polyfit", "deg") + 1
    x = _ew.add(_arr(x, "polyfit", "x"), 0.0)
    y = _ew.add(_arr(y, "polyfit", "y"), 0.0)
    if len(_shape(x)) != 1:
        raise OpTypeError("polyfit: expected 1D vector for x")
    if _shape(x)[0] == 0:
        raise OpTypeError("polyfit: expected non-empty vector for x")
    if len(_shape(y)) not in (1, 2):
        raise OpTypeError("polyfit: expected 1D or 2D array for y")
    if _shape(x)[0] != _shape(y)[0]:
        raise OpTypeError("polyfit: expected x and y to have same length")
    nx = _shape(x)[0]
    if rcond is None:
        rcond = nx * _np.finfo(_np.dtype(_dtype(x))).eps
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = _ew.add(_arr(w, "polyfit", "w"), 0.0)
        if len(_shape(w)) != 1:
            raise OpTypeError("polyfit: expected a 1-d array for weights")
        if _shape(w)[0] != nx:
            raise OpTypeError("polyfit: expected w and y to have the same length")
        lhs = _ew.multiply(lhs, _sh.reshape(w, (nx, 1)))
        rhs = _ew.multiply(rhs, _sh.reshape(w, (nx, 1)) if len(_shape(rhs)) == 2 else w)
    scale = _ew.sqrt(_red.sum(_ew.multiply(lhs, lhs), axis=0))
    lhs = _ew.divide(lhs, scale)
    c, resids, rank, s = lstsq(lhs, rhs, rcond)
    c = _sh.transpose(_ew.divide(_sh.transpose(c), scale))
    if not full and not isinstance(rank, Tracer) and int(rank) != order:
        warnings.warn("Polyfit may be poorly conditioned", _np.exceptions.RankWarning, stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if cov:
        vbase = inv(_pr.matmul(_sh.transpose(lhs), lhs))
        vbase = _ew.divide(vbase, _pr.outer(scale, scale))
        if cov == "unscaled":
            fac = 1.0
        else:
            if nx <= order:
                raise OpError(
                    "polyfit: the number of data points must exceed order to scale the "
                    "covariance matrix"
                )
            fac = _ew.divide(resids, float(nx - order))
        if len(_shape(y)) == 1:
            return c, _ew.multiply(vbase, fac)
        return c, _ew.multiply(_sh.expand_dims(vbase, -1), fac)
    return c


class poly1d:  # noqa: N801  (NumPy's name)
    r"""A polynomial of one variable, as NumPy's ``poly1d``: from its coefficients
    (highest power first; leading zeros dropped) or, with ``r=True``, from its roots.

    The coefficients may be traced: calling it (``p(x)``), arithmetic with numbers and
    other polynomials (``+ - * / **``), ``deriv``, ``integ`` and ``roots`` are the
    module's differentiable functions."""

    __hash__ = None  # type: ignore[assignment]  (mutable-looking and compared by value)

    def __init__(self, c_or_r: Any, r: bool = False, variable: Any = None) -> None:
        if isinstance(c_or_r, poly1d):
            self._variable = c_or_r._variable
            self._coeffs = c_or_r._coeffs
            if variable is not None:
                self._variable = variable
            return
        if r:
            c_or_r = poly(c_or_r)
        c = _sh.atleast_1d(_arr(c_or_r, "poly1d"))
        if len(_shape(c)) > 1:
            raise OpError("poly1d: polynomial must be 1d only")
        self._coeffs = _strip_leading(c)
        self._variable = "x" if variable is None else variable

    # --- NumPy's attributes
    @property
    def coeffs(self) -> Any:
        """The coefficients, highest power first."""
        return self._coeffs

    c = coef = coefficients = coeffs

    @property
    def variable(self) -> str:
        """The name of the variable (for printing)."""
        return self._variable

    @property
    def order(self) -> int:
        """The degree of the polynomial."""
        return _shape(self._coeffs)[0] - 1

    o = order

    @property
    def roots(self) -> Any:
        """The roots (see :func:`roots`)."""
        return roots(self._coeffs)

    r = roots

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if isinstance(self._coeffs, Tracer):
            raise TypeError(
                "poly1d: its coefficients are traced; use p.coeffs with adgraph.numpy "
                "instead of converting it with plain NumPy"
            )
        return _np.asarray(self._coeffs, dtype=dtype)

    def __len__(self) -> int:
        return self.order

    def __repr__(self) -> str:
        return f"poly1d({self._coeffs!r})"

    def __call__(self, val: Any) -> Any:
        if isinstance(val, poly1d):
            return _compose(self, val)
        from .numerical import polyval

        return polyval(self._coeffs, val)

    # --- arithmetic
    def __neg__(self) -> poly1d:
        return poly1d(_ew.negative(self._coeffs))

    def __pos__(self) -> poly1d:
        return self

    def __add__(self, other: Any) -> poly1d:
        return poly1d(polyadd(self._coeffs, poly1d(other)._coeffs))

    __radd__ = __add__

    def __sub__(self, other: Any) -> poly1d:
        return poly1d(polysub(self._coeffs, poly1d(other)._coeffs))

    def __rsub__(self, other: Any) -> poly1d:
        return poly1d(polysub(poly1d(other)._coeffs, self._coeffs))

    def __mul__(self, other: Any) -> poly1d:
        if _is_scalar(other):
            return poly1d(_ew.multiply(self._coeffs, other))
        return poly1d(polymul(self._coeffs, poly1d(other)._coeffs))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        if _is_scalar(other):
            return poly1d(_ew.divide(self._coeffs, other))
        q, rem = polydiv(self._coeffs, poly1d(other)._coeffs)
        return poly1d(q), poly1d(rem)

    def __rtruediv__(self, other: Any) -> Any:
        q, rem = polydiv(poly1d(other)._coeffs, self._coeffs)
        return poly1d(q), poly1d(rem)

    def __pow__(self, val: Any) -> poly1d:
        if not isinstance(val, (int, _np.integer)) or isinstance(val, bool) or val < 0:
            raise ValueError("Power to non-negative integers only.")
        res = poly1d(_np.array([1.0]))
        for _ in range(int(val)):
            res = res * self
        return res

    def __eq__(self, other: Any) -> bool:  # type: ignore[override]
        if not isinstance(other, poly1d):
            return NotImplemented
        if _shape(self._coeffs) != _shape(other._coeffs):
            return False
        return bool(_red.all(_ew.equal(self._coeffs, other._coeffs)))

    def __ne__(self, other: Any) -> bool:  # type: ignore[override]
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __getitem__(self, val: int) -> Any:
        """The coefficient of :math:`x^{val}` (0 beyond the degree)."""
        ind = self.order - val
        if val > self.order or val < 0:
            return _np.zeros((), dtype=_dtype(self._coeffs))[()]
        return getitem(self._coeffs, ind)

    def __iter__(self) -> Any:
        return iter([getitem(self._coeffs, i) for i in range(_shape(self._coeffs)[0])])

    def deriv(self, m: int = 1) -> poly1d:
        """The ``m``-th derivative (see :func:`polyder`)."""
        return poly1d(polyder(self._coeffs, m))

    def integ(self, m: int = 1, k: Any = 0) -> poly1d:
        """The ``m``-th antiderivative with constants ``k`` (see :func:`polyint`)."""
        return poly1d(polyint(self._coeffs, m, k))


def _is_scalar(x) -> bool:
    return not isinstance(x, poly1d) and len(_shape(x)) == 0


def _compose(p: poly1d, q: poly1d) -> poly1d:
    """``p(q(x))`` by Horner's rule on polynomials."""
    res = poly1d(_np.zeros(1))
    for i in range(_shape(p.coeffs)[0]):
        res = res * q + poly1d(_sh.reshape(getitem(p.coeffs, i), (1,)))
    return res
