"""adgraph.scipy.stats: SciPy's distributions, differentiable in data and parameters.

Each distribution is a module with SciPy's function names (``norm.logpdf``,
``poisson.logpmf``, ...), as ``jax.scipy.stats`` arranges them. They are composed of
adgraph.numpy and adgraph.scipy.special operations, so derivatives in every real argument
(``x``, ``loc``, ``scale``, shape parameters) come from those operations' rules; integer
counts (``k``) carry none. Log-densities are ``-inf`` outside the support.

Distributions: bernoulli, beta, binom, cauchy, chi2, dirichlet, expon, gamma, geom,
laplace, logistic, multivariate_normal, nbinom, norm, poisson, t, uniform. Functions that
need the incomplete beta or gamma functions (the cdf of t, beta, gamma, chi2, binom) are
not provided yet.
"""

from . import (  # noqa: F401
    bernoulli,
    beta,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    geom,
    laplace,
    logistic,
    multivariate_normal,
    nbinom,
    norm,
    poisson,
    t,
    uniform,
)

__all__ = [
    "bernoulli", "beta", "binom", "cauchy", "chi2", "dirichlet", "expon", "gamma", "geom",
    "laplace", "logistic", "multivariate_normal", "nbinom", "norm", "poisson", "t", "uniform",
]  # fmt: skip
