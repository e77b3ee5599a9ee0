"""adgraph.scipy.signal: SciPy's convolutions (convolve, correlate, fftconvolve, convolve2d,
correlate2d), detrend, and short-time spectral analysis (stft, istft, csd, welch), with
SciPy's conventions and values, differentiable in their array inputs.

The windows of the spectral functions come from SciPy (``pip install 'adgraph[scipy]'``).
"""

from ._convolve import convolve, convolve2d, correlate, correlate2d, detrend, fftconvolve
from ._spectral import csd, istft, stft, welch

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
]
