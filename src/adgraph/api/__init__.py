"""The transformations (JAX's names and signatures) and user-defined derivatives."""

from . import custom, transforms
from .custom import *  # noqa: F403
from .transforms import *  # noqa: F403

__all__ = [*transforms.__all__, *custom.__all__]
