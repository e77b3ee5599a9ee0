"""The transformations (JAX's names and signatures) and user-defined derivatives.

One module per kind: :mod:`~adgraph.api.reverse` (``vjp``, ``grad``, ``value_and_grad``,
``jacrev``), :mod:`~adgraph.api.forward` (``jvp``, ``linearize``, ``jacfwd``, ``hessian``,
``hvp``), :mod:`~adgraph.api.vectorize` (``vmap``), :mod:`~adgraph.api.custom` (``custom_jvp``,
``custom_vjp``) and :mod:`~adgraph.api.checkpointing` (``checkpoint``);
:mod:`~adgraph.api.args` holds the argument handling they share, and
:mod:`~adgraph.api.closure` the call primitives and closure conversion of the last two. Each transformation opens a new level
(``adgraph.core.trace``), so they nest to any order. Arguments and results may be pytrees
of arrays and Python numbers.
"""

from ..ops.misc import stop_gradient
from .checkpointing import checkpoint, remat
from .custom import custom_jvp, custom_vjp
from .forward import hessian, hvp, jacfwd, jvp, linearize
from .reverse import grad, jacrev, value_and_grad, vjp
from .taylor import derivative, jet, taylor
from .vectorize import vmap

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
    "custom_jvp",
    "custom_vjp",
    "checkpoint",
    "remat",
    "jet",
    "derivative",
    "taylor",
]
