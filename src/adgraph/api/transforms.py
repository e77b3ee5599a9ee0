"""The transformations under their former module name: the functions live in
:mod:`adgraph.api.reverse`, :mod:`adgraph.api.forward` and :mod:`adgraph.api.vectorize`.
Import them from ``adgraph`` (or ``adgraph.api``)."""

from ..ops.misc import stop_gradient
from .forward import hessian, hvp, jacfwd, jvp, linearize
from .reverse import grad, jacrev, value_and_grad, vjp
from .vectorize import vmap

# the names this module always had
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
]
