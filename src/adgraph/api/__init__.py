"""The transformations (JAX's names and signatures) and user-defined derivatives."""

from .custom import checkpoint, custom_jvp, custom_vjp, remat
from .transforms import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
    vmap,
)

__all__ = [
    "grad",
    "value_and_grad",
    "jvp",
    "vjp",
    "linearize",
    "jacfwd",
    "jacrev",
    "hessian",
    "hvp",
    "vmap",
    "stop_gradient",
    "checkpoint",
    "remat",
    "custom_jvp",
    "custom_vjp",
]
