"""``autograd.numpy.fft``: adgraph.numpy.fft."""

from ...numpy.fft import *  # noqa: F401,F403
