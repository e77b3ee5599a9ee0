"""adgraph.scipy.signal: SciPy's convolutions (convolve, correlate, fftconvolve, oaconvolve,
convolve2d, correlate2d), lfilter, detrend, hilbert, and spectral analysis (stft, istft, csd, welch,
periodogram, spectrogram, coherence), with SciPy's conventions and values, differentiable
in their array inputs; correlation_lags and get_window give SciPy's constants.

The windows of the spectral functions come from SciPy (``pip install 'adgraph[scipy]'``).
"""

from ._convolve import (
    convolve,
    convolve2d,
    correlate,
    correlate2d,
    correlation_lags,
    detrend,
    fftconvolve,
    oaconvolve,
)
from ._lfilter import lfilter
from ._spectral import (
    coherence,
    csd,
    get_window,
    hilbert,
    istft,
    periodogram,
    spectrogram,
    stft,
    welch,
)

__all__ = [
    "convolve",
    "correlate",
    "fftconvolve",
    "convolve2d",
    "correlate2d",
    "detrend",
    "stft",
    "istft",
    "csd",
    "welch",
    "periodogram",
    "spectrogram",
    "coherence",
    "hilbert",
    "oaconvolve",
    "correlation_lags",
    "get_window",
    "lfilter",
]
