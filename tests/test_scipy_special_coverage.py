"""How much of jax.scipy.special and jax.scipy.stats adgraph.scipy provides.

The lists are jax.scipy's public names (JAX 0.10), kept here so the test needs no JAX.
Each name must be a real function or distribution here (not a stub): the value tests in
test_scipy_special.py and test_scipy_stats*.py check them against SciPy.
"""

from __future__ import annotations

import adgraph.scipy.special as special
import adgraph.scipy.stats as stats

JAX_SPECIAL = """
bernoulli bessel_jn beta betainc betaln boxcox boxcox1p comb dawsn digamma entr erf erfc
erfcx erfinv exp1 expi expit expn factorial fresnel gamma gammainc gammaincc gammaln
gammasgn hyp1f1 hyp2f1 i0 i0e i1 i1e kl_div log_ndtr log_softmax loggamma logit logsumexp
multigammaln ndtr ndtri owens_t poch polygamma rel_entr sici softmax spence sph_harm_y wofz
xlog1py xlogy zeta
""".split()

# distribution -> the methods jax.scipy.stats gives it; functions map to None
JAX_STATS = {
    "bernoulli": "cdf logpmf pmf ppf",
    "beta": "cdf logcdf logpdf logsf pdf sf",
    "betabinom": "logpmf pmf",
    "binom": "logpmf pmf",
    "cauchy": "cdf isf logcdf logpdf logsf pdf ppf sf",
    "chi2": "cdf logcdf logpdf logsf pdf sf",
    "dirichlet": "logpdf pdf",
    "expon": "cdf logcdf logpdf logsf pdf ppf sf",
    "gamma": "cdf logcdf logpdf logsf pdf sf",
    "gaussian_kde": "evaluate logpdf pdf integrate_gaussian integrate_box_1d integrate_kde resample",
    "gennorm": "cdf logpdf pdf",
    "geom": "logpmf pmf",
    "gumbel_l": "cdf logcdf logpdf logsf pdf ppf sf",
    "gumbel_r": "cdf logcdf logpdf logsf pdf ppf sf",
    "laplace": "cdf logpdf pdf",
    "logistic": "cdf isf logpdf pdf ppf sf",
    "mode": None,
    "multinomial": "logpmf pmf",
    "multivariate_normal": "logpdf pdf",
    "nbinom": "logpmf pmf",
    "norm": "cdf isf logcdf logpdf logsf pdf ppf sf",
    "pareto": "cdf logcdf logpdf logsf pdf ppf sf",
    "poisson": "cdf entropy logpmf pmf",
    "rankdata": None,
    "sem": None,
    "t": "logpdf pdf",
    "truncnorm": "cdf logcdf logpdf logsf pdf sf",
    "uniform": "cdf logpdf pdf ppf",
    "vonmises": "logpdf pdf",
    "wrapcauchy": "logpdf pdf",
}

# the brief's additions beyond jax.scipy.special
EXTRA_SPECIAL = """
psi gammaincinv gammainccinv betaincinv rgamma j0 j1 jn jv y0 y1 yn yv iv ive kv kve k0 k0e
k1 k1e erfcinv stdtr stdtrit binom
""".split()


def _fraction(names, have):
    return sum(map(have, names)) / len(names)


def test_special_coverage():
    frac = _fraction(JAX_SPECIAL + EXTRA_SPECIAL, lambda n: callable(getattr(special, n, None)))
    missing = [n for n in JAX_SPECIAL + EXTRA_SPECIAL if not hasattr(special, n)]
    assert frac >= 0.95, f"adgraph.scipy.special has {frac:.0%}; missing {missing}"
    assert frac == 1.0, f"missing {missing}"


def test_stats_coverage():
    have = lambda n: hasattr(stats, n)  # noqa: E731
    frac = _fraction(list(JAX_STATS), have)
    assert frac == 1.0, f"missing {[n for n in JAX_STATS if not have(n)]}"
    methods = [(d, m) for d, ms in JAX_STATS.items() if ms and have(d) for m in ms.split()]
    got = [(d, m) for d, m in methods if callable(getattr(getattr(stats, d), m, None))]
    assert len(got) / len(methods) >= 0.95
    assert len(got) == len(methods), f"missing {sorted(set(methods) - set(got))}"
    for name in ("mode", "rankdata", "sem"):
        assert callable(getattr(stats, name))
