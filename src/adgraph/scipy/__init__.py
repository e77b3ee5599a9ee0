"""adgraph.scipy: differentiable counterparts of parts of SciPy (``special``)."""

from . import special  # noqa: F401
