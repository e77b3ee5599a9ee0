"""adgraph.numpy.emath: NumPy's functions with automatic domain, complex outside the real
one (see :mod:`adgraph.ops.emath`)."""

from ..ops.emath import *  # noqa: F401,F403
from ..ops.emath import __all__  # noqa: F401
