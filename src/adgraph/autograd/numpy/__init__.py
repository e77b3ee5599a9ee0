"""``autograd.numpy``: adgraph.numpy under autograd's name, with ``random``, ``linalg``
and ``fft`` as submodules (``import adgraph.autograd.numpy.random as npr`` works).

Like autograd's, the namespace holds all of NumPy's public names. Those adgraph.numpy
provides are its differentiable functions; any other NumPy name is NumPy's own: types,
constants and classes as they are, and functions run on plain values, refusing (with the
function's name) to be differentiated -- as autograd's primitives without a rule do.
autograd's own additions and conventions (``make_diagonal``, ``where`` of Python values,
``real_if_close``) are in :mod:`._autograd_names`.
"""

import importlib as _importlib

import numpy as _onp

from ... import numpy as _anp
from ...numpy import *  # noqa: F401,F403
from .._passthrough import passthrough_getattr
from ..extend import notrace_primitive, primitive  # noqa: F401
from . import numpy_boxes  # noqa: F401
from ._autograd_names import make_diagonal, real_if_close, where  # noqa: F401

__version__ = _onp.__version__  # NumPy's, as autograd.numpy reports it

# the shim's own submodules, not adgraph.numpy's that the star import brought in (a plain
# ``from . import linalg`` keeps an attribute that already exists)
fft = _importlib.import_module(f"{__name__}.fft")
linalg = _importlib.import_module(f"{__name__}.linalg")
random = _importlib.import_module(f"{__name__}.random")

__getattr__ = passthrough_getattr(__name__, _anp, "numpy")
