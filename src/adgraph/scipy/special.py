"""adgraph.scipy.special: special functions, differentiable (see adgraph.ops.special)."""

from ..ops.special import *  # noqa: F401,F403
from ..ops.special import __all__  # noqa: F401
