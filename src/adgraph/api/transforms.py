"""The transformations under their former module name: the functions live in
:mod:`adgraph.api.reverse`, :mod:`adgraph.api.forward` and :mod:`adgraph.api.vectorize`.
Import them from ``adgraph`` (or ``adgraph.api``)."""

from . import *  # noqa: F403
from . import __all__ as _every

# the names this module always had: adgraph.api's first eleven (up to stop_gradient)
__all__ = _every[: _every.index("stop_gradient") + 1]
