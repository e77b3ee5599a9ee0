"""``autograd.misc``: ``flatten``, ``flatten_func`` and the ``optimizers`` and
``fixed_points`` modules."""

from . import fixed_points, optimizers  # noqa: F401
from .flatten import flatten, flatten_func  # noqa: F401

__all__ = ["flatten", "flatten_func", "optimizers", "fixed_points"]
