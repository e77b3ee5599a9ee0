"""adgraph.numpy.linalg: NumPy's linear algebra, differentiable (see adgraph.ops.linalg)."""

from ..ops.linalg import *  # noqa: F401,F403
from ..ops.linalg import __all__  # noqa: F401
