r"""NumPy's mathematical functions beyond the elementwise families: ``i0``, ``frexp``,
``ldexp``, ``modf``, ``divmod``, ``bitwise_count``, ``unwrap``.

``ldexp`` and ``i0`` are primitives with their derivatives beside them; the rest are
compositions: ``frexp``'s mantissa is :math:`x\,2^{-e}` (derivative :math:`2^{-e}`, the
exponent an integer without derivative), ``modf``'s fractional part is
:math:`x - \operatorname{trunc} x` (derivative 1; the integral part has none), ``divmod``
is ``(floor_divide, mod)``, and ``unwrap`` adds piecewise-constant multiples of the period,
so its derivative is the identity.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as _np  # dtype queries only; never on values

from ..ad.rules import elementwise, nondiff
from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import reductions as _red
from ._util import OpError, OpTypeError, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import getitem
from .misc import astype

__all__ = [
    "i0", "frexp", "ldexp", "modf", "divmod", "bitwise_count", "packbits", "unpackbits",
    "unwrap",
]  # fmt: skip


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _float(x):
    dt = _np.dtype(_dtype(x))
    return x if dt.kind in "fc" else astype(x, _np.float64)


# ----------------------------------------------------------------- ldexp / frexp
ldexp_p = elementwise(
    "ldexp",
    lambda xp, x1, x2: xp.ldexp(x1, x2),
    lambda ans, x1, x2: ldexp_p.bind(_np.float64(1.0), x2),
    None,
    doc=r"""y = x_1 2^{x_2} (x_2 integer); :math:`\partial y/\partial x_1 = 2^{x_2}`, no
    derivative in the integer exponent.""",
)


def ldexp(x1: Any, x2: Any, /) -> Any:
    r""":math:`x_1 \cdot 2^{x_2}` elementwise, ``x2`` integers. Linear in ``x1``
    (derivative :math:`2^{x_2}`); the exponents carry no derivative."""
    x1, x2 = _arr(x1), _arr(x2)
    if _np.dtype(_dtype(x2)).kind not in "iub":
        raise OpTypeError(f"ldexp: the exponents x2 must be integers, got {_dtype(x2)}")
    if _np.dtype(_dtype(x1)).kind == "c":
        raise OpTypeError("ldexp: x1 must be real (NumPy has no complex ldexp)")
    return ldexp_p.bind(_float(x1), x2)


_frexp_exp_p = nondiff(
    "frexp_exponent",
    lambda xp, x: xp.frexp(x)[1],
    doc="The binary exponent e of x = m 2^e, 0.5 <= |m| < 1 (integers: no derivative).",
)


def frexp(x: Any, /) -> tuple:
    r"""``(mantissa, exponent)`` with :math:`x = m\,2^e`, :math:`0.5 \le |m| < 1` (0 for
    0). The mantissa :math:`x\,2^{-e}` has derivative :math:`2^{-e}`; the exponent none."""
    x = _arr(x)
    if _np.dtype(_dtype(x)).kind == "c":
        raise OpTypeError("frexp: x must be real (NumPy has no complex frexp)")
    x = _float(x)
    e = _frexp_exp_p.bind(x)
    return ldexp_p.bind(x, _ew.negative(e)), e


# ----------------------------------------------------------------- modf / divmod
def modf(x: Any, /) -> tuple:
    r"""``(fractional, integral)`` parts of ``x``, both with ``x``'s sign:
    :math:`x - \operatorname{trunc} x` (exact in floating point; 0 for infinities) and
    :math:`\operatorname{trunc} x`. Derivatives 1 and 0."""
    x = _arr(x)
    if _np.dtype(_dtype(x)).kind == "c":
        raise OpTypeError("modf: x must be real (NumPy has no complex modf)")
    x = _float(x)
    safe = _ew.where(_ew.isinf(x), 0.0, x)  # inf - inf would be nan (and warn)
    frac = _ew.copysign(_ew.subtract(safe, _ew.trunc(safe)), x)
    return frac, _ew.trunc(x)


def divmod(x1: Any, x2: Any, /) -> tuple:  # noqa: A001  (NumPy's name)
    r"""``(floor_divide(x1, x2), mod(x1, x2))`` elementwise, Python's ``divmod``. The
    quotient is piecewise constant (no derivative); the remainder has ``mod``'s
    derivative: 1 in ``x1`` and :math:`-\lfloor x_1/x_2 \rfloor` in ``x2``."""
    return _ew.floor_divide(x1, x2), _ew.mod(x1, x2)


_bitwise_count_p = nondiff(
    "bitwise_count",
    lambda xp, x: xp.bitwise_count(x),
    doc="The number of 1 bits in |x| of integers (integers: no derivative).",
)


def bitwise_count(x: Any, /) -> Any:
    """The number of 1 bits in the absolute value of each integer of ``x`` (uint8
    results, no derivative)."""
    x = _arr(x)
    if _np.dtype(_dtype(x)).kind not in "iub":
        raise OpTypeError(f"bitwise_count: x must hold integers, got {_dtype(x)}")
    return _bitwise_count_p.bind(x)


_packbits_p = nondiff(
    "packbits",
    lambda xp, a, *, axis, bitorder: xp.packbits(a, axis=axis, bitorder=bitorder),
    elementwise_batch=False,
    doc="Booleans or integers packed into the bits of uint8 (integers: no derivative).",
)
_unpackbits_p = nondiff(
    "unpackbits",
    lambda xp, a, *, axis, count, bitorder: xp.unpackbits(
        a, axis=axis, count=count, bitorder=bitorder
    ),
    elementwise_batch=False,
    doc="The bits of uint8 values as 0/1 uint8 (integers: no derivative).",
)


def _bitorder(bitorder, name):
    if bitorder not in ("big", "little"):
        raise OpError(f"{name}: bitorder must be 'big' or 'little', got {bitorder!r}")
    return bitorder


def packbits(a: Any, /, axis: Any = None, bitorder: str = "big") -> Any:
    """The elements of the integer or boolean ``a`` (nonzero: 1) packed into the bits of
    uint8 along ``axis`` (flattened when None), padded with zeros. No derivative."""
    a = _arr(a)
    if _np.dtype(_dtype(a)).kind not in "iub":
        raise OpTypeError(f"packbits: a must hold integers or booleans, got {_dtype(a)}")
    if axis is not None:
        axis = norm_axis(axis, len(_shape(a)), "packbits")
    return _packbits_p.bind(a, axis=axis, bitorder=_bitorder(bitorder, "packbits"))


def unpackbits(a: Any, /, axis: Any = None, count: Any = None, bitorder: str = "big") -> Any:
    """The bits of the uint8 ``a`` along ``axis`` (flattened when None) as 0/1 uint8,
    ``count`` of them if given. No derivative."""
    a = _arr(a)
    if _np.dtype(_dtype(a)) != _np.uint8:
        raise OpTypeError(f"unpackbits: a must be of dtype uint8, got {_dtype(a)}")
    if axis is not None:
        axis = norm_axis(axis, len(_shape(a)), "unpackbits")
    return _unpackbits_p.bind(a, axis=axis, count=count, bitorder=_bitorder(bitorder, "unpackbits"))


# ----------------------------------------------------------------- i0
def _i1(ans, x):
    from .special_bessel import i1

    return i1(x)


i0_p = elementwise(
    "numpy_i0",
    lambda xp, x: xp.i0(x),
    _i1,
    doc=r"""NumPy's modified Bessel function of the first kind of order 0, :math:`I_0(x)`;
    :math:`I_0' = I_1` (evaluated by adgraph.scipy.special.i1, which needs SciPy).""",
)


def i0(x: Any) -> Any:
    r"""The modified Bessel function of the first kind of order 0, :math:`I_0(x)`, with
    NumPy's values; derivative :math:`I_1(x)` (computed by ``adgraph.scipy.special.i1``,
    which needs SciPy: the ``scipy`` extra). Real input only, as in NumPy."""
    x = _arr(x)
    if _np.dtype(_dtype(x)).kind == "c":
        raise OpTypeError("i0: complex values are not supported (as in NumPy)")
    return i0_p.bind(_float(x))


# ----------------------------------------------------------------- unwrap
def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: Any = 2 * _np.pi) -> Any:
    r"""``p`` with jumps larger than ``discont`` (default ``period/2``) along ``axis``
    replaced by their complement modulo ``period``, NumPy's algorithm. The corrections
    are piecewise-constant multiples of the period, so the derivative is the identity."""
    p = _arr(p)
    nd = len(_shape(p))
    if nd == 0:
        raise OpError("unwrap: p must have at least one dimension")
    ax = norm_axis(axis, nd, "unwrap")
    from .numerical import diff

    dd = diff(p, axis=ax)
    if discont is None:
        discont = period / 2
    dt = _np.result_type(_dtype(dd), _np.asarray(period).dtype)
    if _np.issubdtype(dt, _np.integer):
        high, rem = builtins.divmod(period, 2)
        ambiguous = rem == 0
    else:
        high, ambiguous = period / 2, True
    low = -high
    ddmod = _ew.add(_ew.mod(_ew.subtract(dd, low), period), low)
    if ambiguous:
        ddmod = _ew.where(
            _ew.logical_and(_ew.equal(ddmod, low), _ew.greater(dd, 0)), _np.asarray(high, dt),
            astype(ddmod, dt),
        )  # fmt: skip
    correct = _ew.subtract(ddmod, dd)
    correct = _ew.where(_ew.less(_ew.absolute(dd), discont), _np.asarray(0, dt), correct)
    first = [slice(None)] * nd
    first[ax] = slice(0, 1)
    rest = [slice(None)] * nd
    rest[ax] = slice(1, None)
    head = astype(getitem(p, tuple(first)), dt)
    tail = _ew.add(getitem(p, tuple(rest)), _red.cumsum(correct, axis=ax))
    return _jn.concatenate([head, astype(tail, dt)], axis=ax)
