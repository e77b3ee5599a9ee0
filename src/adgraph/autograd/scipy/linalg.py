"""``autograd.scipy.linalg``: adgraph.scipy.linalg; SciPy's other names pass through as
autograd passes them (functions on plain values, refusing derivatives)."""

from ...scipy import linalg as _linalg
from ...scipy.linalg import *  # noqa: F401,F403
from .._passthrough import passthrough_getattr

__getattr__ = passthrough_getattr(
    __name__, _linalg, "scipy.linalg", "; install it with the scipy extra"
)
