"""adgraph: automatic differentiation for Python numerical code.

Write a function with :mod:`adgraph.numpy` and differentiate it to any order, in forward
or reverse mode::

    import adgraph as ad
    import adgraph.numpy as anp

    def f(x1, x2):
        return x1 * x2 + x2 - anp.log(x1)

    ad.grad(f, argnums=(0, 1))(2.0, 4.0)   # (3.5, 3.0)

See the computation: ``ad.trace(f, 2.0, 4.0)`` is its graph (tables, pictures);
compile it: ``ad.jit(ad.grad(f))``; read the derivative: ``ad.make_source(ad.grad(f), ...)``.
"""

from . import (
    api,
    backends,  # noqa: F401  (fills the operations' extension points for Dask and CuPy, lazily)
    debug,  # noqa: F401  (ad.debug.print, ad.debug.callback)
    flatten_util,  # noqa: F401  (ravel_pytree, as jax.flatten_util)
    lax,  # noqa: F401  (loops and branches that differentiate: scan, fori_loop, while_loop, cond)
    numpy,  # noqa: F401  (the user namespace; registers the primitives)
    tree_util,  # noqa: F401  (pytrees under jax.tree_util's names)
)
from .api import *  # noqa: F403  (the transformations, listed in api.__all__)
from .api.checkpointing import checkpoint_name, checkpoint_policies  # jax.checkpoint_policies
from .api.sparse import hessian_sparsity, jacobian_sparsity, sparse_hessian, sparse_jacobian
from .api.taylor import derivative_tensor
from .classes import Dual, Var
from .compare import compare
from .core import userline as _userline
from .core.primitive import Primitive
from .core.pytree import tree_flatten, tree_leaves, tree_structure, tree_unflatten
from .core.trace import Tracer
from .graph import Graph, GraphCycleError, trace, trace_hvp
from .jit import compile_c, jit
from .jit.source import make_source
from .ops.indexing import at  # at(x)[idx].set(v): x.at[idx] for any array, traced or not
from .tree_util import register_pytree_node, tree_map  # JAX's forms (prefix trees, keys)

_userline.install()  # NumPy's warnings inside adgraph's rules are shown at the user's line

__version__ = "0.1.0"

jacobian = jacrev  # noqa: F405  (JAX's name: jax.jacobian is jacrev)

__all__ = [
    *api.__all__,  # the transformations
    "derivative_tensor",  # every partial derivative of order k, from Taylor series
    # sparse Jacobians and Hessians: patterns from the graph, colouring, compressed sweeps
    "jacobian_sparsity",
    "hessian_sparsity",
    "sparse_jacobian",
    "sparse_hessian",
    "checkpoint_policies",  # what ad.checkpoint(policy=...) keeps
    "checkpoint_name",
    # compilation
    "jit",
    "make_source",
    "compile_c",
    # computation graphs you can see, the article's classes, the three-way comparison
    "trace",
    "trace_hvp",
    "Graph",
    "GraphCycleError",
    "Dual",
    "Var",
    "compare",
    # pytrees
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "tree_structure",
    "register_pytree_node",
    "tree_util",
    "flatten_util",
    # JAX's alias, and x.at[idx] for any array
    "jacobian",
    "at",
    # extending adgraph: traced values (isinstance checks) and new primitives
    "Tracer",
    "Primitive",
]
