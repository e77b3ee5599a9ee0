r"""Differences, derivatives of samples, interpolation, integration, convolution, cross
products and polynomial evaluation.

Each function is a composition of the public functions of the other ops modules (slices,
gathers, ``where``, products and reductions), so it inherits their derivative rules in
both modes, to any order, through ``jit`` and ``vmap``. Most are linear or bilinear in
their array arguments; the docstrings give the derivative where it is not plain.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # index arithmetic and dtype queries only; never on values

from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import products as _pr
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, as_int, check_numeric, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import getitem, take
from .misc import astype

__all__ = [
    "diff", "ediff1d", "gradient", "interp", "trapezoid", "convolve", "correlate", "cross",
    "polyval",
]  # fmt: skip

_NOVALUE = object()


def _arr(x, op=None, what="a"):
    if op is not None:
        check_numeric(x, op, what)
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _slice(a, axis, start, stop):
    """``a[..., start:stop, ...]`` on ``axis`` (a basic slice: linear)."""
    idx = [slice(None)] * len(_shape(a))
    idx[axis] = slice(start, stop)
    return getitem(a, tuple(idx))


def _is_float(x) -> bool:
    return _np.dtype(_dtype(x)).kind in "fc"


def _to_float(x):
    return x if _is_float(x) else astype(x, _np.float64)


def diff(
    a: Any, n: int = 1, axis: int = -1, prepend: Any = _NOVALUE, append: Any = _NOVALUE
) -> Any:
    r"""The ``n``-th forward difference along ``axis``: :math:`y_i = x_{i+1} - x_i`,
    applied ``n`` times, after joining ``prepend`` and ``append`` (broadcast to one slice
    when scalars). Linear in ``a`` (and in the joined values). Booleans give ``!=``, as in
    NumPy."""
    n = as_int(n, "diff", "n")
    if n < 0:
        raise OpError(f"diff: order must be non-negative, got n={n}")
    if n == 0:
        return a
    a = _arr(a)
    s = _shape(a)
    if not s:
        raise OpError("diff requires an input of at least one dimension")
    ax = norm_axis(axis, len(s), "diff")
    parts = []
    for v in (prepend, append):
        if v is _NOVALUE:
            parts.append(None)
            continue
        v = _arr(v)
        if not _shape(v):
            es = list(s)
            es[ax] = 1
            v = _sh.broadcast_to(v, tuple(es))
        parts.append(v)
    if parts[0] is not None or parts[1] is not None:
        seq = [p for p in (parts[0], a, parts[1]) if p is not None]
        a = _jn.concatenate(seq, axis=ax)
    boolean = _np.dtype(_dtype(a)).kind == "b"
    # each difference shortens the axis by one: past its length the result stays empty
    # (so diff(x, n=10**9) need not loop a billion times)
    for _ in range(min(n, _shape(a)[ax])):
        m = _shape(a)[ax]
        hi, lo = _slice(a, ax, 1, m), _slice(a, ax, 0, max(m - 1, 0))
        a = _ew.not_equal(hi, lo) if boolean else _ew.subtract(hi, lo)
    return a


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    r"""Differences of consecutive elements of the flattened array, with ``to_begin`` and
    ``to_end`` (flattened) joined at the ends; in the input's dtype. Linear."""
    ary = _sh.ravel(_arr(ary))
    dt = _dtype(ary)
    d = _ew.subtract(_slice(ary, 0, 1, None), _slice(ary, 0, 0, -1))
    seq = []
    for v, name in ((to_begin, "to_begin"), (None, ""), (to_end, "to_end")):
        if name == "":
            seq.append(astype(d, dt))
            continue
        if v is None:
            continue
        v = _arr(v)
        if not _np.can_cast(_dtype(v), dt, casting="same_kind"):
            raise OpTypeError(
                f"ediff1d: dtype of {name} ({_dtype(v)}) must be compatible with {dt}"
            )
        seq.append(astype(_sh.ravel(v), dt))
    return _jn.concatenate(seq, axis=0) if len(seq) > 1 else seq[0]


def _gradient_axis(f, ax, h, edge_order):
    """Second-order accurate differences inside, ``edge_order``-accurate at the ends.
    ``h`` is a Python/NumPy scalar (uniform spacing) or a 1-d array of coordinates."""
    m = _shape(f)[ax]
    if m < edge_order + 1:
        raise OpError(
            "gradient: the shape of the array must be at least edge_order + 1 along each "
            f"axis, got {m} along axis {ax} with edge_order={edge_order}"
        )

    def sl(i, j):
        return _slice(f, ax, i, j)

    def bshape(v):
        # a 1-d array of spacings along ax, shaped to broadcast against f's slices
        es = [1] * len(_shape(f))
        es[ax] = _shape(v)[0]
        return _sh.reshape(v, tuple(es))

    uniform = not (isinstance(h, Tracer) or _np.ndim(h) == 1)
    if uniform:
        inner = _ew.divide(_ew.subtract(sl(2, None), sl(0, -2)), 2.0 * h) if m > 2 else None
        if edge_order == 1:
            first = _ew.divide(_ew.subtract(sl(1, 2), sl(0, 1)), h)
            last = _ew.divide(_ew.subtract(sl(m - 1, m), sl(m - 2, m - 1)), h)
        else:
            first = _ew.divide(
                _ew.add(_ew.add(_ew.multiply(-1.5, sl(0, 1)), _ew.multiply(2.0, sl(1, 2))),
                        _ew.multiply(-0.5, sl(2, 3))), h)  # fmt: skip
            last = _ew.divide(
                _ew.add(_ew.add(_ew.multiply(0.5, sl(m - 3, m - 2)),
                                _ew.multiply(-2.0, sl(m - 2, m - 1))),
                        _ew.multiply(1.5, sl(m - 1, m))), h)  # fmt: skip
    else:
        x = _to_float(_arr(h))
        dx = diff(x)
        if m > 2:
            dx1, dx2 = bshape(_slice(dx, 0, 0, -1)), bshape(_slice(dx, 0, 1, None))
            den = _ew.multiply(_ew.multiply(dx1, dx2), _ew.add(dx1, dx2))
            a = _ew.negative(_ew.divide(_ew.multiply(dx2, dx2), den))
            b = _ew.divide(_ew.multiply(_ew.subtract(dx2, dx1), _ew.add(dx1, dx2)), den)
            c = _ew.divide(_ew.multiply(dx1, dx1), den)
            inner = _ew.add(_ew.add(_ew.multiply(a, sl(0, -2)), _ew.multiply(b, sl(1, -1))),
                            _ew.multiply(c, sl(2, None)))  # fmt: skip
        else:
            inner = None
        if edge_order == 1:
            first = _ew.divide(_ew.subtract(sl(1, 2), sl(0, 1)), getitem(dx, slice(0, 1)))
            last = _ew.divide(
                _ew.subtract(sl(m - 1, m), sl(m - 2, m - 1)), getitem(dx, slice(-1, None))
            )
        else:
            d1, d2 = getitem(dx, 0), getitem(dx, 1)
            a = _ew.negative(
                _ew.divide(_ew.add(_ew.multiply(2.0, d1), d2), _ew.multiply(d1, _ew.add(d1, d2)))
            )
            b = _ew.divide(_ew.add(d1, d2), _ew.multiply(d1, d2))
            c = _ew.negative(_ew.divide(d1, _ew.multiply(d2, _ew.add(d1, d2))))
            first = _ew.add(
                _ew.add(_ew.multiply(a, sl(0, 1)), _ew.multiply(b, sl(1, 2))),
                _ew.multiply(c, sl(2, 3)),
            )
            e1, e2 = getitem(dx, -2), getitem(dx, -1)
            a = _ew.divide(e2, _ew.multiply(e1, _ew.add(e1, e2)))
            b = _ew.negative(_ew.divide(_ew.add(e2, e1), _ew.multiply(e1, e2)))
            c = _ew.divide(_ew.add(_ew.multiply(2.0, e2), e1), _ew.multiply(e2, _ew.add(e1, e2)))
            last = _ew.add(_ew.add(_ew.multiply(a, sl(m - 3, m - 2)), _ew.multiply(b, sl(m - 2, m - 1))),
                           _ew.multiply(c, sl(m - 1, m)))  # fmt: skip
    seq = [first] + ([inner] if inner is not None else []) + [last]
    return _jn.concatenate(seq, axis=ax)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    r"""The gradient of sampled values ``f``: central differences inside, one-sided
    differences of order ``edge_order`` (1 or 2) at the ends, along each of ``axis`` (all
    by default). ``varargs`` give the spacing: nothing (1), one scalar for all axes, or
    one scalar or 1-d coordinate array per axis (non-uniform spacing). One array for one
    axis, else a tuple, as in NumPy.

    Linear in ``f``; with coordinate arrays the weights are rational functions of the
    coordinates, differentiated like any other expression."""
    f = _arr(f)
    nd = len(_shape(f))
    if nd == 0:
        raise OpError("gradient: the array must have at least one dimension")
    if axis is None:
        axes = list(range(nd))
    elif isinstance(axis, (tuple, list)):
        axes = [norm_axis(a, nd, "gradient") for a in axis]
    else:
        axes = [norm_axis(axis, nd, "gradient")]
    if len(set(axes)) != len(axes):
        raise OpError(f"gradient: repeated axis in {axis!r}")
    edge_order = as_int(edge_order, "gradient", "edge_order")
    if edge_order not in (1, 2):
        raise OpError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    for k, h in enumerate(varargs):
        check_numeric(h, "gradient", f"spacing {k}")
    if len(varargs) == 0:
        hs = [1.0] * len(axes)
    elif len(varargs) == 1 and _np.ndim(varargs[0]) == 0 and not isinstance(varargs[0], Tracer):
        hs = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        hs = list(varargs)
    else:
        raise OpTypeError(
            f"gradient: give no spacing, one scalar, or one spacing per axis ({len(axes)}); "
            f"got {len(varargs)}"
        )
    for h, ax in zip(hs, axes):
        nh = len(_shape(h)) if isinstance(h, Tracer) else _np.ndim(h)
        if nh == 1 and _shape(h)[0] != _shape(f)[ax]:
            raise OpError(
                f"gradient: the coordinates for axis {ax} have length {_shape(h)[0]}, "
                f"the array {_shape(f)[ax]}"
            )
        if nh > 1:
            raise OpError("gradient: spacing must be a scalar or a 1-d array of coordinates")
    f = _to_float(f)
    out = tuple(_gradient_axis(f, ax, h, edge_order) for ax, h in zip(axes, hs))
    return out[0] if len(out) == 1 else out


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    r"""Piecewise-linear interpolation of the points ``(xp, fp)`` (``xp`` increasing) at
    ``x``; ``left``/``right`` (default ``fp[0]``/``fp[-1]``) outside; ``period`` makes the
    coordinates periodic.

    Inside segment :math:`[x_k, x_{k+1}]`, :math:`y = f_k + (f_{k+1} - f_k)
    \frac{x - x_k}{x_{k+1} - x_k}`: the derivative in ``x`` is the segment's slope, and
    ``xp`` and ``fp`` get the derivatives of that expression (the segment is chosen by
    comparisons, which carry none). At a sample point the segment to its right counts,
    except at ``xp[-1]``, where the last segment does (as from the left); repeated sample
    points (a segment of zero width) give finite derivatives."""
    x, xp, fp = _arr(x, "interp", "x"), _arr(xp, "interp", "xp"), _arr(fp, "interp", "fp")
    if len(_shape(xp)) != 1 or len(_shape(fp)) != 1:
        raise OpError("interp: xp and fp must be 1-d sequences")
    n = _shape(xp)[0]
    if _shape(fp)[0] != n:
        raise OpError(f"interp: fp and xp are not of the same length ({_shape(fp)[0]} and {n})")
    if n == 0:
        raise OpError("interp: array of sample points is empty")
    x, xp = _to_float(x), _to_float(xp)
    if not _is_float(fp):
        fp = astype(fp, _np.float64)
    if period is not None:
        if period == 0:
            raise OpError("interp: period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = _ew.mod(x, period)
        xp = _ew.mod(xp, period)
        order = _sortperm(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = _jn.concatenate([_ew.subtract(getitem(xp, slice(-1, None)), period), xp,
                              _ew.add(getitem(xp, slice(0, 1)), period)])  # fmt: skip
        fp = _jn.concatenate([getitem(fp, slice(-1, None)), fp, getitem(fp, slice(0, 1))])
        n += 2
    if n == 1:
        y = _sh.broadcast_to(getitem(fp, 0), _shape(x))
        lo_val, hi_val = getitem(fp, 0), getitem(fp, 0)
    else:
        # the number of sample points <= x, kept within the segments 1 .. n-1
        k = _red.sum(_ew.greater_equal(_sh.expand_dims(x, -1), xp), axis=-1)
        k = _ew.clip(k, 1, n - 1)
        x0, x1 = take(xp, _ew.subtract(k, 1)), take(xp, k)
        f0, f1 = take(fp, _ew.subtract(k, 1)), take(fp, k)
        # a segment of zero width (repeated sample points) divides by 1 instead: its
        # value is never used, and a 0/0 there would make every derivative nan
        width = _ew.subtract(x1, x0)
        flat = _ew.equal(width, 0)
        width = _ew.where(flat, 1.0, width)
        df = _ew.subtract(f1, f0)
        y = _ew.add(f0, _ew.multiply(df, _ew.divide(_ew.subtract(x, x0), width)))
        # at the last point exactly, the same segment written from its right end: exactly
        # fp[-1] (the formula above could round), with the segment's derivatives (its
        # slope in x, as one-sided from the left, where the points end)
        y_end = _ew.subtract(f1, _ew.multiply(df, _ew.divide(_ew.subtract(x1, x), width)))
        y_end = _ew.where(flat, f1, y_end)
        y = _ew.where(_ew.equal(x, getitem(xp, -1)), y_end, y)
        lo_val, hi_val = getitem(fp, 0), getitem(fp, -1)
    if period is None:
        lo_val = lo_val if left is None else left
        hi_val = hi_val if right is None else right
        y = _ew.where(_ew.less(x, getitem(xp, 0)), lo_val, y)
        y = _ew.where(_ew.greater(x, getitem(xp, -1)), hi_val, y)
    return astype(y, _np.result_type(_dtype(y), _np.float64 if not _is_float(fp) else _dtype(fp)))


def _sortperm(v):
    from .indexing import argsort

    return argsort(v)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    r"""The integral of samples ``y`` along ``axis`` by the trapezoidal rule,
    :math:`\sum_i \frac{(x_{i+1} - x_i)(y_i + y_{i+1})}{2}` (spacing ``dx`` when ``x`` is
    None). Linear in ``y``; bilinear in the spacings and ``y``."""
    y = _arr(y)
    s = _shape(y)
    if not s:
        raise OpError("trapezoid: y must have at least one dimension")
    ax = norm_axis(axis, len(s), "trapezoid")
    m = s[ax]
    if x is None:
        d = check_numeric(dx, "trapezoid", "dx")
    else:
        x = _arr(x, "trapezoid", "x")
        if len(_shape(x)) == 1:
            if _shape(x)[0] != m:
                raise OpError(f"trapezoid: x has length {_shape(x)[0]}, y {m} along axis {axis}")
            d = diff(x)
            es = [1] * len(s)
            es[ax] = max(m - 1, 0)
            d = _sh.reshape(d, tuple(es))
        else:
            d = diff(x, axis=ax)
    mid = _ew.add(_slice(y, ax, 1, None), _slice(y, ax, 0, max(m - 1, 0)))
    return _red.sum(_ew.divide(_ew.multiply(d, mid), 2.0), axis=ax)


_MODES = ("full", "same", "valid")


def _conv_full(a, v):
    r"""Full discrete convolution of 1-d ``a`` (length n) and ``v`` (length m):
    :math:`c_k = \sum_j a_{k-j} v_j` as windows of the zero-padded ``a`` times reversed
    ``v`` (a gather and a matrix-vector product: bilinear)."""
    n, m = _shape(a)[0], _shape(v)[0]
    dt = _np.result_type(_dtype(a), _dtype(v))
    a, v = astype(a, dt), astype(v, dt)
    ap = _sh.pad(a, (m - 1, m - 1))
    windows = _np.arange(n + m - 1)[:, None] + _np.arange(m)[None, :]
    return _pr.matmul(take(ap, windows), _sh.flip(v, 0))


def _mode_slice(full, n, m, mode, flipped=False):
    if mode == "full":
        return full
    big, small = max(n, m), min(n, m)
    if mode == "same":
        # centred; NumPy's correlate of a shorter first argument rounds the other way
        start = (small - 1) - (small - 1) // 2 if flipped else (small - 1) // 2
        return getitem(full, slice(start, start + big))
    return getitem(full, slice(small - 1, big))


def _check_1d(a, v, name, mode):
    if mode not in _MODES:
        raise OpError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    a, v = _arr(a), _arr(v)
    if len(_shape(a)) > 1 or len(_shape(v)) > 1:
        raise OpError(f"{name}: both arguments must be 1-d (or scalars)")
    a, v = _sh.atleast_1d(a), _sh.atleast_1d(v)
    if _shape(a)[0] == 0:
        raise OpError(f"{name}: the first argument cannot be empty")
    if _shape(v)[0] == 0:
        raise OpError(f"{name}: the second argument cannot be empty")
    return a, v


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    r"""Discrete linear convolution of two 1-d sequences, :math:`c_k = \sum_j a_{k-j} v_j`,
    of length ``n + m - 1`` (``'full'``), ``max(n, m)`` centred (``'same'``) or
    ``max(n, m) - min(n, m) + 1`` (``'valid'``). Bilinear: :math:`\dot c = \dot a * v +
    a * \dot v`."""
    a, v = _check_1d(a, v, "convolve", mode)
    n, m = _shape(a)[0], _shape(v)[0]
    full = _conv_full(a, v) if n >= m else _conv_full(v, a)
    return _mode_slice(full, n, m, mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    r"""Cross-correlation of two 1-d sequences, :math:`c_k = \sum_n a_{n+k}
    \overline{v_n}` (NumPy's definition and output lengths; ``'valid'`` by default).
    Bilinear (conjugate-linear in ``v``)."""
    a, v = _check_1d(a, v, "correlate", mode)
    n, m = _shape(a)[0], _shape(v)[0]
    w = _sh.flip(_ew.conj(v), 0)
    if n >= m:
        return _mode_slice(_conv_full(a, w), n, m, mode)
    return _mode_slice(_conv_full(w, a), n, m, mode, flipped=True)


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    r"""Cross product of 3-vectors (or 2-vectors, giving the z component) along the given
    axes, broadcasting the rest: :math:`c = a \times b`. Bilinear:
    :math:`\dot c = \dot a \times b + a \times \dot b`."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _arr(a), _arr(b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise OpError("cross: both arguments must have at least one dimension")
    a = _sh.moveaxis(a, norm_axis(axisa, len(sa), "cross"), -1)
    b = _sh.moveaxis(b, norm_axis(axisb, len(sb), "cross"), -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise OpError(
            "cross: incompatible dimensions for cross product (dimension must be 2 or 3), "
            f"got {na} and {nb}"
        )
    dt = _np.result_type(_dtype(a), _dtype(b))
    a, b = astype(a, dt), astype(b, dt)
    a0, a1 = getitem(a, (..., 0)), getitem(a, (..., 1))
    b0, b1 = getitem(b, (..., 0)), getitem(b, (..., 1))
    z = _ew.subtract(_ew.multiply(a0, b1), _ew.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    a2 = getitem(a, (..., 2)) if na == 3 else None
    b2 = getitem(b, (..., 2)) if nb == 3 else None
    if a2 is None:
        x, y = _ew.multiply(a1, b2), _ew.negative(_ew.multiply(a0, b2))
    elif b2 is None:
        x, y = _ew.negative(_ew.multiply(a2, b1)), _ew.multiply(a2, b0)
    else:
        x = _ew.subtract(_ew.multiply(a1, b2), _ew.multiply(a2, b1))
        y = _ew.subtract(_ew.multiply(a2, b0), _ew.multiply(a0, b2))
    bs = _np.broadcast_shapes(_shape(x), _shape(y), _shape(z))
    c = _jn.stack([_sh.broadcast_to(t, bs) for t in (x, y, z)], axis=-1)
    return _sh.moveaxis(c, -1, norm_axis(axisc, len(_shape(c)), "cross"))


def polyval(p: Any, x: Any) -> Any:
    r"""The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's
    rule: :math:`y = \sum_k p_k x^{N-1-k}`. Derivative in ``x``: the derivative
    polynomial; linear in ``p``."""
    p, x = _arr(p, "polyval", "p"), _arr(x, "polyval", "x")
    if len(_shape(p)) != 1:
        raise OpError(f"polyval: p must be a 1-d sequence of coefficients, got shape {_shape(p)}")
    y = _ew.multiply(x, 0)
    for k in range(_shape(p)[0]):
        y = _ew.add(_ew.multiply(y, x), getitem(p, k))
    return y
