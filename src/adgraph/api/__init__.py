"""The transformations (JAX's names and signatures) and user-defined derivatives.

One module per kind: :mod:`~adgraph.api.reverse` (``vjp``, ``grad``, ``value_and_grad``,
``jacrev``), :mod:`~adgraph.api.forward` (``jvp``, ``linearize``, ``jacfwd``, ``hessian``,
``hvp``), :mod:`~adgraph.api.vectorize` (``vmap``) and :mod:`~adgraph.api.custom`
(``custom_jvp``, ``custom_vjp``, ``checkpoint``); :mod:`~adgraph.api.args` holds the
argument handling they share. Each transformation opens a new level
(``adgraph.core.trace``), so they nest to any order. Arguments and results may be pytrees
of arrays and Python numbers.
"""

from ..ops.misc import stop_gradient
from .custom import checkpoint, custom_jvp, custom_vjp, remat
from .forward import hessian, hvp, jacfwd, jvp, linearize
from .reverse import grad, jacrev, value_and_grad, vjp
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
]
