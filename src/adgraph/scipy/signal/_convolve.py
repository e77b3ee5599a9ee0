r"""Convolution and correlation: convolve, correlate, fftconvolve, convolve2d,
correlate2d, and detrend.

``method='direct'`` sums shifted slices of the zero-padded first input, one per entry of
the second (exact, :math:`O(NK)`); ``method='fft'`` (and :func:`fftconvolve`) multiplies
the FFTs (:mod:`adgraph.numpy.fft`); ``'auto'`` takes the direct sum for kernels of at
most 64 entries. Both are compositions of differentiable operations -- linear in each
input -- so forward and reverse mode follow (in both inputs). The output modes are
SciPy's: ``'full'``, ``'same'`` (centred, the size of ``in1``), ``'valid'``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as _np  # shapes and constant design matrices

from ... import numpy as anp
from ...core.trace import Tracer
from .._util import float_array

__all__ = ["convolve", "correlate", "fftconvolve", "convolve2d", "correlate2d", "detrend"]

_DIRECT_MAX = 64


_arr = float_array  # the signals, windows and coefficients are computed in floats


def _data_axis(op, x, axis, name="x"):
    """``axis`` of ``x`` as an index from 0, refusing a 0-d ``x`` (no axis to work along)."""
    nd = len(x.shape)
    if nd == 0:
        raise ValueError(f"scipy.signal.{op}: {name} must have at least one dimension")
    return int(axis) % nd


def _check_mode(op, mode):
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"scipy.signal.{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def _full_direct(a, k):
    """Full N-D convolution by shift-and-add: out[n] = sum_j k[j] a[n - j]."""
    kshape = k.shape
    pad = [(s - 1, s - 1) for s in kshape]
    p = anp.pad(a, pad)
    out_shape = tuple(sa + sk - 1 for sa, sk in zip(a.shape, kshape))
    out = None
    for j in itertools.product(*(range(s) for s in kshape)):
        sl = tuple(slice(sk - 1 - jj, sk - 1 - jj + so) for jj, sk, so in zip(j, kshape, out_shape))
        term = k[j] * p[sl]
        out = term if out is None else out + term
    return out


def _full_fft(a, k, axes=None):
    nd = len(a.shape)
    axes = list(range(nd)) if axes is None else axes
    s = [a.shape[ax] + k.shape[ax] - 1 for ax in axes]
    if a.dtype.kind == "c" or k.dtype.kind == "c":
        out = anp.fft.ifftn(anp.fft.fftn(a, s, axes) * anp.fft.fftn(k, s, axes), s, axes)
    else:
        out = anp.fft.irfftn(anp.fft.rfftn(a, s, axes) * anp.fft.rfftn(k, s, axes), s, axes)
    return out


def _centered(x, shape, axes=None):
    axes = range(len(shape)) if axes is None else axes
    sl = [slice(None)] * len(x.shape)
    for ax in axes:
        start = (x.shape[ax] - shape[ax]) // 2
        sl[ax] = slice(start, start + shape[ax])
    return x[tuple(sl)]


def _swap_needed(op, s1, s2, axes=None):
    axes = range(len(s1)) if axes is None else axes
    ok1 = all(s1[i] >= s2[i] for i in axes)
    ok2 = all(s2[i] >= s1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(
            f"scipy.signal.{op}: for 'valid' mode, one input must be at least as large as the "
            "other in every dimension"
        )
    return not ok1


def _select(full, s1, s2, mode, axes=None):
    if mode == "full":
        return full
    if mode == "same":
        return _centered(full, s1, axes)
    axes_ = range(len(s1)) if axes is None else axes
    shape = list(full.shape)
    for ax in axes_:
        shape[ax] = max(s1[ax], s2[ax]) - min(s1[ax], s2[ax]) + 1
    return _centered(full, shape, axes_)


def _prepare(op, in1, in2):
    a, k = _arr(in1), _arr(in2)
    if len(a.shape) != len(k.shape):
        raise ValueError(
            f"scipy.signal.{op}: in1 and in2 should have the same dimensionality, got {a.shape} and {k.shape}"
        )
    if 0 in a.shape or 0 in k.shape:
        raise ValueError(f"scipy.signal.{op}: inputs must not be empty")
    return a, k


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    r"""N-dimensional convolution :math:`(a * k)[n] = \sum_j a[n - j]\,k[j]`; linear in
    each input, differentiable in both."""
    _check_mode("convolve", mode)
    if method not in ("auto", "direct", "fft"):
        raise ValueError(
            f"scipy.signal.convolve: method must be 'auto', 'direct' or 'fft', got {method!r}"
        )
    a, k = _prepare("convolve", in1, in2)
    if len(a.shape) == 0:
        return a * k
    if mode == "valid" and _swap_needed("convolve", a.shape, k.shape):
        a, k = k, a
    s1, s2 = a.shape, k.shape
    small = min(_np.prod(s1), _np.prod(s2)) <= _DIRECT_MAX
    if method == "fft" or (method == "auto" and not small):
        full = _full_fft(a, k)
    else:
        if _np.prod(s2) > _np.prod(s1):
            a, k = k, a
        full = _full_direct(a, k)
    return _select(full, s1, s2, mode)


def _reverse_conj(k):
    k = anp.flip(k, axis=tuple(range(len(k.shape)))) if len(k.shape) else k
    return anp.conj(k) if k.dtype.kind == "c" else k


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    r"""N-dimensional cross-correlation :math:`z[n] = \sum_j a[n + j]\,\bar k[j]`
    (SciPy's alignment: ``convolve(in1, conj(reverse(in2)))``)."""
    _check_mode("correlate", mode)
    a, k = _prepare("correlate", in1, in2)
    if mode == "valid" and _swap_needed("correlate", a.shape, k.shape):
        out = convolve(k, _reverse_conj(a), mode, method)
        return _reverse_conj(out)
    return convolve(a, _reverse_conj(k), mode, method)


def fftconvolve(
    in1: Any, in2: Any, mode: str = "full", axes: int | Sequence[int] | None = None
) -> Any:
    """Convolution by FFT along ``axes`` (default all; the other axes broadcast as SciPy
    does)."""
    _check_mode("fftconvolve", mode)
    a, k = _prepare("fftconvolve", in1, in2)
    if len(a.shape) == 0:
        return a * k
    nd = len(a.shape)
    if axes is None:
        axes_ = list(range(nd))
    else:
        axes_ = [int(ax) % nd for ax in ([axes] if isinstance(axes, (int, _np.integer)) else axes)]
    for i in range(nd):
        if i not in axes_ and a.shape[i] != k.shape[i] and 1 not in (a.shape[i], k.shape[i]):
            raise ValueError(
                f"scipy.signal.fftconvolve: incompatible shapes for in1 and in2: {a.shape} and {k.shape}"
            )
    if mode == "valid" and _swap_needed("fftconvolve", a.shape, k.shape, axes_):
        a, k = k, a
    s1, s2 = a.shape, k.shape
    full = _full_fft(a, k, axes_)
    return _select(full, s1, s2, mode, axes_)


_BOUNDARY = {
    "fill": "constant",
    "pad": "constant",
    "wrap": "wrap",
    "circular": "wrap",
    "symm": "symmetric",
    "symmetric": "symmetric",
}


def _conv2d(op, a, k, mode, boundary, fillvalue):
    _check_mode(op, mode)
    if boundary not in _BOUNDARY:
        raise ValueError(
            f"scipy.signal.{op}: boundary must be 'fill', 'wrap' or 'symm', got {boundary!r}"
        )
    if len(a.shape) != 2 or len(k.shape) != 2:
        raise ValueError(
            f"scipy.signal.{op}: in1 and in2 should be 2-D arrays, got {a.shape} and {k.shape}"
        )
    if mode == "valid" and _swap_needed(op, a.shape, k.shape):
        a, k = k, a
    s1, s2 = a.shape, k.shape
    if _BOUNDARY[boundary] == "constant":
        if isinstance(fillvalue, Tracer) or fillvalue != 0:
            pw = [(s - 1, s - 1) for s in s2]
            a_ext = anp.pad(a - fillvalue, pw) + fillvalue
            full = _select(_full_direct(a_ext, k), a_ext.shape, s2, "valid")
        else:
            full = _full_direct(a, k) if _np.prod(s2) <= _np.prod(s1) else _full_direct(k, a)
    else:
        pw = [(s - 1, s - 1) for s in s2]
        a_ext = anp.pad(a, pw, mode=_BOUNDARY[boundary])
        full = _select(_full_direct(a_ext, k), a_ext.shape, s2, "valid")
    return _select(full, s1, s2, mode)


def convolve2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """2-D convolution with SciPy's boundary handling: ``'fill'`` (pad with ``fillvalue``,
    differentiable in it too), ``'wrap'`` (circular), ``'symm'`` (mirrored)."""
    a, k = _arr(in1), _arr(in2)
    return _conv2d("convolve2d", a, k, mode, boundary, fillvalue)


def correlate2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """2-D cross-correlation: ``convolve2d(in1, conj(in2[::-1, ::-1]))``."""
    a, k = _arr(in1), _arr(in2)
    if (
        mode == "valid"
        and len(a.shape) == 2
        and len(k.shape) == 2
        and _swap_needed("correlate2d", a.shape, k.shape)
    ):
        out = _conv2d("correlate2d", k, _reverse_conj(a), mode, boundary, fillvalue)
        return _reverse_conj(out)
    kr = _reverse_conj(k) if len(k.shape) == 2 else k
    if mode != "same":
        return _conv2d("correlate2d", a, kr, mode, boundary, fillvalue)
    # SciPy centres a correlation's 'same' output at offset K // 2 (a convolution's at
    # (K - 1) // 2): the two differ for an even kernel size
    full = _conv2d("correlate2d", a, kr, "full", boundary, fillvalue)
    k0, k1 = k.shape
    return full[k0 // 2 : k0 // 2 + a.shape[0], k1 // 2 : k1 // 2 + a.shape[1]]


def _linear_projector(n, bp):
    """The constant matrix removing a least-squares line from each piece between
    breakpoints: the residual projector I - A A^+, block by block."""
    edges = sorted({0, *(int(b) for b in bp), n})
    p = _np.zeros((n, n))
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = hi - lo
        if m <= 0:
            continue
        a = _np.ones((m, 2))
        a[:, 0] = _np.arange(1, m + 1) / m
        p[lo:hi, lo:hi] = _np.eye(m) - a @ _np.linalg.pinv(a)
    return p


def detrend(
    data: Any, axis: int = -1, type: str = "linear", bp: Any = 0, overwrite_data: bool = False
) -> Any:
    r"""Remove the mean (``type='constant'``) or the least-squares line
    (``'linear'``, piecewise between the breakpoints ``bp``) along ``axis``. A linear
    projection: its derivative is itself."""
    if type not in ("linear", "l", "constant", "c"):
        raise ValueError(f"scipy.signal.detrend: type must be 'linear' or 'constant', got {type!r}")
    x = _arr(data)
    axis = _data_axis("detrend", x, axis, "data")
    if type in ("constant", "c"):
        return x - anp.mean(x, axis=axis, keepdims=True)
    n = x.shape[axis]
    bp_ = _np.atleast_1d(_np.asarray(bp))
    if _np.any(bp_ > n) or _np.any(bp_ < 0):
        raise ValueError(f"scipy.signal.detrend: breakpoints must lie in [0, {n}], got {bp!r}")
    p = _linear_projector(n, bp_.tolist())
    real_dt = _np.float32 if x.dtype in (_np.float32, _np.complex64) else _np.float64
    y = anp.tensordot(x, p.astype(real_dt), axes=([axis], [1]))
    return anp.moveaxis(y, -1, axis)


def oaconvolve(
    in1: Any, in2: Any, mode: str = "full", axes: int | Sequence[int] | None = None
) -> Any:
    """Convolution as SciPy's overlap-add computes it; the same values as
    :func:`fftconvolve`, which computes it here."""
    return fftconvolve(in1, in2, mode=mode, axes=axes)


def correlation_lags(in1_len: int, in2_len: int, mode: str = "full") -> Any:
    """The lag of each output index of a 1-D cross-correlation (integers, SciPy's)."""
    _check_mode("correlation_lags", mode)
    import scipy.signal as ss

    return ss.correlation_lags(in1_len, in2_len, mode=mode)
