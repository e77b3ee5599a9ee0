"""adgraph.scipy.special: SciPy's special functions, differentiable to any order.

expit, logit, logsumexp, softmax, log_softmax, erf, erfc, erfinv, gammaln, digamma,
polygamma, xlogy, xlog1py and entr, declared with their rules in ``adgraph.ops.special``.
The error and gamma families need SciPy (``pip install 'adgraph[scipy]'``) for NumPy and
Dask arrays, and use ``cupyx.scipy.special`` for CuPy arrays.
"""

from ..ops.special import *  # noqa: F401,F403
from ..ops.special import __all__  # noqa: F401
