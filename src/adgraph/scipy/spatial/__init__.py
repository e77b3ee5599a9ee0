"""adgraph.scipy.spatial: ``transform`` (Rotation, Slerp), differentiable."""

from . import transform  # noqa: F401

__all__ = ["transform"]
