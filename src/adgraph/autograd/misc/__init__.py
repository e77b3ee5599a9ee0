"""``autograd.misc``: ``flatten``, ``flatten_func``, ``const_graph`` and the
``optimizers``, ``fixed_points`` and ``tracers`` modules."""

from . import fixed_points, optimizers, tracers  # noqa: F401
from .flatten import flatten, flatten_func  # noqa: F401
from .tracers import const_graph  # noqa: F401

__all__ = ["flatten", "flatten_func", "const_graph", "optimizers", "fixed_points", "tracers"]
