"""adgraph.numpy.fft: NumPy's discrete Fourier transforms, differentiable (see adgraph.ops.fft)."""

from ..ops.fft import *  # noqa: F401,F403
from ..ops.fft import __all__  # noqa: F401
