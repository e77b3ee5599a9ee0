"""adgraph.scipy.optimize: SciPy's optimisers with exact derivatives from adgraph.

``minimize(fun, x0, args=(), method=...)`` is :func:`scipy.optimize.minimize` with the
gradient, Hessian and Hessian-vector products of ``fun`` supplied by adgraph for every
method that takes them (a sparse Hessian for ``trust-constr`` when the pattern is sparse).
It also answers ``jax.scipy.optimize.minimize``'s calls (``method="BFGS"``, ``tol``,
``options``); the result is SciPy's ``OptimizeResult``.
"""

from ._minimize import HESS_METHODS, HESSP_METHODS, JAC_METHODS, minimize

__all__ = ["minimize", "JAC_METHODS", "HESS_METHODS", "HESSP_METHODS"]
