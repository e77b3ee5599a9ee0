"""adgraph.scipy.stats: SciPy's distributions, differentiable in data and parameters.

Each distribution is a module with SciPy's function names, as ``jax.scipy.stats``
arranges them: ``logpdf pdf cdf logcdf sf logsf ppf isf`` for the continuous ones,
``logpmf pmf cdf logcdf sf logsf ppf isf`` for the discrete ones, with SciPy's argument
order and its ``loc``/``scale`` keywords. They are composed of adgraph.numpy and
adgraph.scipy.special operations, so derivatives in every real argument (``x``, ``loc``,
``scale``, shape parameters) come from those operations' rules. Through the incomplete
gamma and beta functions the shape derivatives are of first order (a second derivative
in a shape raises :class:`~adgraph.scipy.special.NoDerivativeError` naming it). Counts (``k``, ``n``) carry
no derivative, and the discrete quantiles (integers) are SciPy's, as constants.

Continuous: beta, cauchy, chi2, expon, gamma, gennorm, gumbel_l, gumbel_r, laplace,
logistic, norm, pareto, t, truncnorm, uniform, vonmises, wrapcauchy;
multivariate: dirichlet, multivariate_normal (logpdf, pdf), multinomial (logpmf, pmf);
discrete: bernoulli, betabinom, binom, geom, nbinom, poisson (and its entropy); the
estimator gaussian_kde; and the functions mode, rankdata and sem.
"""

from . import (  # noqa: F401
    bernoulli,
    beta,
    betabinom,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multinomial,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)
from ._functions import ModeResult, mode, rankdata, sem
from ._kde import gaussian_kde

__all__ = [
    "bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon",
    "gamma", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace", "logistic", "multinomial",
    "multivariate_normal", "nbinom", "norm", "pareto", "poisson", "t", "truncnorm", "uniform",
    "vonmises", "wrapcauchy", "gaussian_kde", "mode", "rankdata", "sem", "ModeResult",
]  # fmt: skip
