"""``autograd.numpy``: adgraph.numpy under autograd's name, with ``random``, ``linalg``
and ``fft`` as submodules (``import adgraph.autograd.numpy.random as npr`` works)."""

from ...numpy import *  # noqa: F401,F403
from . import fft, linalg, random  # noqa: F401
