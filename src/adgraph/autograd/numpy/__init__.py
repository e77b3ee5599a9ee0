"""``autograd.numpy``: adgraph.numpy under autograd's name, with ``random``, ``linalg``
and ``fft`` as submodules (``import adgraph.autograd.numpy.random as npr`` works).

Like autograd's, the namespace holds all of NumPy's public names. Those adgraph.numpy
provides are its differentiable functions; any other NumPy name is NumPy's own: types,
constants and classes as they are, and functions run on plain values, refusing (with the
function's name) to be differentiated -- as autograd's primitives without a rule do.
"""

from ... import numpy as _anp
from ...numpy import *  # noqa: F401,F403
from .._passthrough import passthrough_getattr
from ..extend import notrace_primitive, primitive  # noqa: F401
from . import fft, linalg, random  # noqa: F401

__getattr__ = passthrough_getattr(__name__, _anp, "numpy")
