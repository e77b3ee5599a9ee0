r"""Short-time Fourier analysis: stft, istft, csd, welch, with SciPy's conventions.

The signal is extended at the boundary and padded as SciPy does, cut into overlapping
segments by one gather with a constant index array, detrended (a linear projection),
windowed (SciPy's window, a constant) and transformed by :mod:`adgraph.numpy.fft`;
``istft`` transforms back and overlap-adds with one scatter-add. All steps are
differentiable compositions, so the spectra are differentiable in the signal (a
cross-spectral density :math:`\bar X Y` is bilinear in the two signals).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as _np  # window values, index arrays and the time/frequency grids

from ... import numpy as anp
from ...core.trace import Tracer
from ._convolve import _arr, _data_axis, detrend

__all__ = ["stft", "istft", "csd", "welch"]


def _scipy_signal(op):
    try:
        import scipy.signal as ss
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.signal.{op} takes its windows from SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return ss


def _window(op, window, nperseg, input_length):
    """SciPy's ``_triage_segments``: the window values and the segment length."""
    if isinstance(window, (str, tuple)):
        if nperseg is None:
            nperseg = 256
        if input_length is not None and nperseg > input_length:
            nperseg = input_length
        win = _scipy_signal(op).get_window(window, nperseg)
    else:
        if isinstance(window, Tracer):
            raise TypeError(
                f"scipy.signal.{op}: the window must be a constant array (its values "
                "shape the segments and are not differentiated); pass a NumPy array"
            )
        win = _np.asarray(window)
        if win.ndim != 1:
            raise ValueError(f"scipy.signal.{op}: window must be 1-D")
        if input_length is not None and input_length < win.shape[-1]:
            raise ValueError(f"scipy.signal.{op}: window is longer than the input signal")
        if nperseg is None:
            nperseg = win.shape[0]
        elif nperseg != win.shape[0]:
            raise ValueError(
                f"scipy.signal.{op}: value specified for nperseg is different from length of window"
            )
    return win, nperseg


class _Options(NamedTuple):
    """The segmenting options that stft and the Welch-family functions share (SciPy's
    names and order)."""

    fs: float
    window: Any
    nperseg: int | None
    noverlap: int | None
    nfft: int | None
    detrend: Any
    return_onesided: bool
    scaling: str
    axis: int


def _step(op, nperseg, noverlap):
    """The step between segments of ``nperseg`` overlapping by ``noverlap`` (``None``: half
    a segment)."""
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    if noverlap >= nperseg:
        raise ValueError(f"scipy.signal.{op}: noverlap must be less than nperseg")
    return nperseg - noverlap


def _frame_index(nseg, nperseg, nstep):
    """(nseg, nperseg): the positions of each segment's samples in the signal."""
    return _np.arange(nseg)[:, None] * nstep + _np.arange(nperseg)[None, :]


def _extend(x, n, kind):
    """SciPy's boundary extensions by ``n`` points on each side of the last axis."""
    if n == 0:
        return x
    if kind == "zeros":
        return anp.pad(x, [(0, 0)] * (len(x.shape) - 1) + [(n, n)])
    left = anp.flip(x[..., 1 : n + 1], axis=-1)
    right = anp.flip(x[..., -n - 1 : -1], axis=-1)
    if kind == "even":
        return anp.concatenate([left, x, right], axis=-1)
    if kind == "odd":
        return anp.concatenate([2 * x[..., :1] - left, x, 2 * x[..., -1:] - right], axis=-1)
    if kind == "constant":
        ones = _np.ones(x.shape[:-1] + (n,))
        return anp.concatenate([x[..., :1] * ones, x, x[..., -1:] * ones], axis=-1)
    raise ValueError(f"unknown boundary extension {kind!r}")


def _segments(x, nperseg, nstep):
    """(..., nseg, nperseg): the overlapping segments of the last axis."""
    nseg = (x.shape[-1] - nperseg) // nstep + 1
    return x[..., _frame_index(nseg, nperseg, nstep)]


def _spectral(op, x, y, opts, mode="psd", boundary=None, padded=False):
    """SciPy's ``_spectral_helper``: frequencies, segment times and the per-segment
    spectra (..., freq, time) of ``x`` (and ``y``: the cross spectra) under ``opts``."""
    fs, window, nperseg, noverlap, nfft, detrend_, return_onesided, scaling, axis = opts
    same = y is None
    x = _arr(x)
    y = x if same else _arr(y)
    nd = len(x.shape)
    if nd == 0:
        raise ValueError(f"scipy.signal.{op}: x must have at least one dimension")
    axis = int(axis)
    x = anp.moveaxis(x, axis, -1)
    if not same:
        y = anp.moveaxis(y, axis, -1)
        if x.shape[-1] != y.shape[-1]:
            n = max(x.shape[-1], y.shape[-1])
            x = anp.pad(x, [(0, 0)] * (len(x.shape) - 1) + [(0, n - x.shape[-1])])
            y = anp.pad(y, [(0, 0)] * (len(y.shape) - 1) + [(0, n - y.shape[-1])])
    if nperseg is not None:
        nperseg = int(nperseg)
        if nperseg < 1:
            raise ValueError(f"scipy.signal.{op}: nperseg must be a positive integer")
    win, nperseg = _window(op, window, nperseg, x.shape[-1])
    nfft = nperseg if nfft is None else int(nfft)
    if nfft < nperseg:
        raise ValueError(f"scipy.signal.{op}: nfft must be greater than or equal to nperseg")
    nstep = _step(op, nperseg, noverlap)
    if boundary is not None:
        if boundary not in ("even", "odd", "constant", "zeros"):
            raise ValueError(
                f"scipy.signal.{op}: unknown boundary option {boundary!r}; use 'even', 'odd', 'constant', 'zeros' or None"
            )
        x = _extend(x, nperseg // 2, boundary)
        if not same:
            y = _extend(y, nperseg // 2, boundary)
    if padded:
        nadd = (-(x.shape[-1] - nperseg) % nstep) % nperseg
        pw = [(0, 0)] * (len(x.shape) - 1) + [(0, nadd)]
        x = anp.pad(x, pw)
        if not same:
            y = anp.pad(y, pw)
    if scaling == "density":
        scale = 1.0 / (fs * (win * win).sum())
    elif scaling == "spectrum":
        scale = 1.0 / win.sum() ** 2
    else:
        raise ValueError(f"scipy.signal.{op}: unknown scaling {scaling!r}")
    if mode == "stft":
        scale = _np.sqrt(scale)
    complex_in = x.dtype.kind == "c" or (not same and y.dtype.kind == "c")
    sides = "onesided" if return_onesided and not complex_in else "twosided"
    freqs = _np.fft.rfftfreq(nfft, 1 / fs) if sides == "onesided" else _np.fft.fftfreq(nfft, 1 / fs)

    def fft_of(s):
        seg = _segments(s, nperseg, nstep)
        if callable(detrend_):
            seg = detrend_(seg)
        elif detrend_:
            seg = detrend(seg, axis=-1, type=detrend_)
        real_dt = _np.float32 if s.dtype in (_np.float32, _np.complex64) else _np.float64
        seg = seg * win.astype(real_dt)
        if sides == "twosided":
            return anp.fft.fft(seg, n=nfft)
        return anp.fft.rfft(anp.real(seg) if seg.dtype.kind == "c" else seg, n=nfft)

    res = fft_of(x)
    if not same:
        res = anp.conj(res) * fft_of(y)
    elif mode == "psd":
        res = anp.real(anp.conj(res) * res)
    res = res * scale
    if sides == "onesided" and mode == "psd":
        k = res.shape[-1]
        w = _np.full(k, 2.0)
        w[0] = 1.0
        if nfft % 2 == 0:
            w[-1] = 1.0
        res = res * w
    time = _np.arange(nperseg / 2, x.shape[-1] - nperseg / 2 + 1, nstep) / float(fs)
    if boundary is not None:
        time = time - (nperseg / 2) / fs
    # (..., nseg, nfreq) -> the frequency axis where the data axis was, segments last
    res = anp.moveaxis(res, -1, axis - 1 if axis < 0 else axis)
    return freqs, time, res


def _welch(op, x, y, average, opts):
    """Welch's estimate (``csd``, ``welch``): the per-segment spectra of :func:`_spectral`
    (mode ``'psd'``) averaged over the segments."""
    if average != "mean":
        raise ValueError(f"scipy.signal.{op}: only average='mean' is supported, got {average!r}")
    f, _, p = _spectral(op, x, y, opts)
    # the segments are the last axis
    return f, anp.mean(p, axis=-1) if p.shape[-1] > 1 else anp.squeeze(p, axis=-1)


def stft(
    x: Any,
    fs: float = 1.0,
    window: Any = "hann",
    nperseg: int = 256,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend: Any = False,
    return_onesided: bool = True,
    boundary: str | None = "zeros",
    padded: bool = True,
    axis: int = -1,
    scaling: str = "spectrum",
):
    """Short-time Fourier transform ``(f, t, Zxx)`` as SciPy computes it (``scaling``
    ``'spectrum'`` or ``'psd'``); differentiable in ``x``."""
    if scaling not in ("spectrum", "psd"):
        raise ValueError(f"scipy.signal.stft: scaling must be 'spectrum' or 'psd', got {scaling!r}")
    kind = "density" if scaling == "psd" else "spectrum"
    opts = _Options(fs, window, nperseg, noverlap, nfft, detrend, return_onesided, kind, axis)
    return _spectral("stft", x, None, opts, "stft", boundary, padded)


def istft(
    Zxx: Any,
    fs: float = 1.0,
    window: Any = "hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    input_onesided: bool = True,
    boundary: bool = True,
    time_axis: int = -1,
    freq_axis: int = -2,
    scaling: str = "spectrum",
):
    """Inverse STFT ``(t, x)`` by windowed overlap-add, as SciPy; differentiable in
    ``Zxx``. ``t`` has the length of the time axis of ``x`` (SciPy's own ``t`` takes the
    length of the first axis instead, which differs for stacked signals)."""
    if scaling not in ("spectrum", "psd"):
        raise ValueError(
            f"scipy.signal.istft: scaling must be 'spectrum' or 'psd', got {scaling!r}"
        )
    z = Zxx if isinstance(Zxx, Tracer) else anp.asarray(Zxx)
    nd = len(z.shape)
    if nd < 2:
        raise ValueError("scipy.signal.istft: Zxx must have at least two dimensions")
    time_axis, freq_axis = int(time_axis) % nd, int(freq_axis) % nd
    if time_axis == freq_axis:
        raise ValueError("scipy.signal.istft: time_axis and freq_axis must differ")
    z = anp.moveaxis(z, (freq_axis, time_axis), (-2, -1))
    nseg = z.shape[-1]
    n_default = 2 * (z.shape[-2] - 1) if input_onesided else z.shape[-2]
    nperseg = n_default if nperseg is None else int(nperseg)
    if nperseg < 1:
        raise ValueError("scipy.signal.istft: nperseg must be a positive integer")
    if nfft is None:  # an odd nperseg one more than the default: no FFT padding
        nfft = nperseg if (input_onesided and nperseg == n_default + 1) else n_default
    elif nfft < nperseg:
        raise ValueError("scipy.signal.istft: nfft must be greater than or equal to nperseg")
    nstep = _step("istft", nperseg, noverlap)
    xsubs = (
        anp.fft.irfft(z, n=nfft, axis=-2) if input_onesided else anp.fft.ifft(z, n=nfft, axis=-2)
    )
    xsubs = xsubs[..., :nperseg, :]
    win, _ = _window("istft", window, nperseg, None)
    if scaling == "spectrum":
        xsubs = xsubs * win.sum()
    else:
        xsubs = xsubs * _np.sqrt(fs * (win**2).sum())
    outlen = nperseg + (nseg - 1) * nstep
    frames = anp.moveaxis(xsubs, -1, -2) * win  # (..., nseg, nperseg)
    idx = _frame_index(nseg, nperseg, nstep).ravel()
    flat = anp.reshape(frames, frames.shape[:-2] + (nseg * nperseg,))
    x = anp.scatter_add(
        anp.zeros(frames.shape[:-2] + (outlen,), dtype=frames.dtype), (Ellipsis, idx), flat
    )
    norm = _np.zeros(outlen)
    _np.add.at(norm, idx, _np.tile(win**2, nseg))
    if boundary:
        x = x[..., nperseg // 2 : -(nperseg // 2)]
        norm = norm[nperseg // 2 : -(nperseg // 2)]
    if _np.sum(norm > 1e-10) != len(norm):
        warnings.warn("NOLA condition failed, STFT may not be invertible", stacklevel=2)
    x = x / _np.where(norm > 1e-10, norm, 1.0)
    if input_onesided:
        x = anp.real(x) if x.dtype.kind == "c" else x
    if len(x.shape) > 1 and time_axis != nd - 1:
        x = anp.moveaxis(x, -1, time_axis - 1 if freq_axis < time_axis else time_axis)
    t = _np.arange(x.shape[-1] if time_axis == nd - 1 else x.shape[time_axis]) / float(fs)
    return t, x


def csd(
    x: Any,
    y: Any,
    fs: float = 1.0,
    window: Any = "hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend: Any = "constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    average: str = "mean",
):
    """Cross power spectral density ``(f, Pxy)`` by Welch's method (segment average
    ``'mean'``; ``'median'`` is not differentiable and is not supported)."""
    opts = _Options(fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling, axis)
    return _welch("csd", x, y, average, opts)


def welch(
    x: Any,
    fs: float = 1.0,
    window: Any = "hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend: Any = "constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    average: str = "mean",
):
    """Power spectral density ``(f, Pxx)`` by Welch's method (real); differentiable in
    ``x``."""
    opts = _Options(fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling, axis)
    f, pxx = _welch("welch", x, None, average, opts)
    return f, anp.real(pxx) if pxx.dtype.kind == "c" else pxx


def periodogram(
    x: Any,
    fs: float = 1.0,
    window: Any = "boxcar",
    nfft: int | None = None,
    detrend: Any = "constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
):
    """Power spectral density ``(f, Pxx)`` of the whole signal as one segment (SciPy's
    periodogram: Welch's method without overlap); differentiable in ``x``."""
    x = _arr(x)
    n = x.shape[axis]
    if window is None:
        window = "boxcar"
    if nfft is None or nfft == n:
        nperseg = n
    elif nfft > n:
        nperseg = n
    else:  # a shorter nfft truncates the signal
        x = anp.moveaxis(anp.moveaxis(x, axis, -1)[..., :nfft], -1, axis)
        nperseg, nfft = nfft, None
    if hasattr(window, "size") and not isinstance(window, Tracer) and window.size != nperseg:
        raise ValueError(
            f"scipy.signal.periodogram: the size of the window must be the same size of the input on the specified axis ({nperseg})"
        )
    return welch(
        x,
        fs=fs,
        window=window,
        nperseg=nperseg,
        noverlap=0,
        nfft=nfft,
        detrend=detrend,
        return_onesided=return_onesided,
        scaling=scaling,
        axis=axis,
    )


def spectrogram(
    x: Any,
    fs: float = 1.0,
    window: Any = ("tukey", 0.25),
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend: Any = "constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    mode: str = "psd",
):
    """Spectrogram ``(f, t, Sxx)`` with SciPy's modes ``'psd'``, ``'complex'``,
    ``'magnitude'`` and ``'angle'``/``'phase'`` (``'phase'`` unwrapped along frequency, as
    SciPy does);
    differentiable in ``x`` (``'angle'`` and ``'phase'`` away from zero coefficients)."""
    modes = ("psd", "complex", "magnitude", "angle", "phase")
    if mode not in modes:
        raise ValueError(
            f"scipy.signal.spectrogram: unknown value for mode {mode!r}, must be one of {modes}"
        )
    x = _arr(x)
    _, nperseg = _window(
        "spectrogram", window, None if nperseg is None else int(nperseg), x.shape[axis]
    )
    if noverlap is None:
        noverlap = nperseg // 8
    opts = _Options(fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling, axis)
    f, t, sxx = _spectral("spectrogram", x, None, opts, "psd" if mode == "psd" else "stft")
    if mode == "magnitude":
        sxx = anp.abs(sxx)
    elif mode in ("angle", "phase"):
        sxx = anp.angle(sxx)
        if mode == "phase":  # as SciPy: along the frequency axis (where the data axis was)
            sxx = anp.unwrap(sxx, axis=axis - 1 if axis < 0 else axis)
    return f, t, sxx


def coherence(
    x: Any,
    y: Any,
    fs: float = 1.0,
    window: Any = "hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend: Any = "constant",
    axis: int = -1,
):
    r"""Magnitude-squared coherence ``(f, Cxy)``, :math:`|P_{xy}|^2 / (P_{xx} P_{yy})`
    from Welch estimates; differentiable in both signals."""
    opts = (fs, window, nperseg, noverlap, nfft, detrend)  # welch's and csd's, after the signals
    f, pxx = welch(x, *opts, axis=axis)
    _, pyy = welch(y, *opts, axis=axis)
    _, pxy = csd(x, y, *opts, axis=axis)
    return f, anp.abs(pxy) ** 2 / pxx / pyy


def hilbert(x: Any, N: int | None = None, axis: int = -1) -> Any:
    """The analytic signal ``x + i H(x)`` by FFT (SciPy's ``hilbert``); linear in the real
    signal ``x``."""
    x = _arr(x)
    if x.dtype.kind == "c":
        raise ValueError("scipy.signal.hilbert: x must be real")
    nd = len(x.shape)
    axis = _data_axis("hilbert", x, axis)
    n = x.shape[axis] if N is None else int(N)
    if n <= 0:
        raise ValueError("scipy.signal.hilbert: N must be positive")
    xf = anp.fft.fft(x, n, axis=axis)
    h = _np.zeros(n)
    if n % 2 == 0:
        h[0] = h[n // 2] = 1
        h[1 : n // 2] = 2
    else:
        h[0] = 1
        h[1 : (n + 1) // 2] = 2
    shape = [1] * nd
    shape[axis] = n
    return anp.fft.ifft(xf * h.reshape(shape), axis=axis)


def get_window(window: Any, Nx: int, fftbins: bool = True) -> Any:
    """SciPy's window values (constants: no derivative)."""
    return _scipy_signal("get_window").get_window(window, Nx, fftbins=fftbins)
