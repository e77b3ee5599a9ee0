"""``autograd.numpy.numpy_boxes``: ``ArrayBox``, autograd's traced array, is adgraph's
:class:`~adgraph.core.trace.Tracer` here (for ``isinstance`` checks)."""

from ...core.trace import Tracer

ArrayBox = Tracer
Box = Tracer

__all__ = ["ArrayBox", "Box"]
