"""adgraph.scipy: differentiable counterparts of parts of SciPy (``special``, ``stats``)."""

from . import special, stats  # noqa: F401
