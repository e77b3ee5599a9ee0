"""adgraph.scipy.cluster: ``vq.vq`` (vector quantisation)."""

from . import vq  # noqa: F401

__all__ = ["vq"]
