"""adgraph.scipy.special: SciPy's special functions, differentiable.

Everything ``jax.scipy.special`` offers, and more of SciPy's: the logistic and softmax
families, error functions and their inverses (``erf erfc erfcx erfinv erfcinv dawsn
wofz``), the normal distribution's (``ndtr ndtri log_ndtr``), the gamma and beta families
with the regularized incomplete functions and their inverses (``gamma gammaln loggamma
gammasgn rgamma digamma psi polygamma beta betaln poch gammainc gammaincc gammaincinv
gammainccinv betainc betaincinv multigammaln``), ``zeta``, Bessel functions (``jv jn j0
j1 yv yn y0 y1 iv ive i0 i0e i1 i1e kv kve k0 k0e k1 k1e bessel_jn``), exponential and
trigonometric integrals (``expi exp1 expn sici fresnel spence owens_t``), hypergeometric
functions (``hyp1f1 hyp2f1``), ``boxcox boxcox1p``, the entropy terms (``entr rel_entr
kl_div xlogy xlog1py``), combinatorics (``binom comb factorial bernoulli``) and
``sph_harm_y``.

Values are SciPy's (``pip install 'adgraph[scipy]'``; the array module's own special
functions for CuPy arrays); every derivative is its closed form, written with adgraph's
operations so it differentiates again. A derivative that is not available (an integer
order, a hypergeometric parameter) raises :class:`NoDerivativeError` naming the argument.
"""

from ..ops.special import *  # noqa: F401,F403
from ..ops.special import __all__ as _base
from ..ops.special import digamma as psi
from ..ops.special_bessel import *  # noqa: F401,F403
from ..ops.special_bessel import __all__ as _bessel
from ..ops.special_beta import *  # noqa: F401,F403
from ..ops.special_beta import __all__ as _beta
from ..ops.special_gamma import *  # noqa: F401,F403
from ..ops.special_gamma import __all__ as _gamma
from ..ops.special_misc import *  # noqa: F401,F403
from ..ops.special_misc import __all__ as _misc
from ..ops.special_util import NoDerivativeError

__all__ = [*_base, *_gamma, *_beta, *_bessel, *_misc, "psi", "NoDerivativeError"]
del _base, _gamma, _beta, _bessel, _misc
