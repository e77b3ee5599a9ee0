"""The transformations under their former module name: the functions live in
:mod:`adgraph.api.reverse`, :mod:`adgraph.api.forward` and :mod:`adgraph.api.vectorize`.
Import them from ``adgraph`` (or ``adgraph.api``)."""

from . import *  # noqa: F403
from . import __all__ as _every
from . import checkpointing, custom

# every transformation but the user-defined derivatives (custom_jvp/vjp, checkpoint)
__all__ = [n for n in _every if n not in custom.__all__ + checkpointing.__all__]
