"""The von Mises distribution with concentration ``kappa``, as ``scipy.stats.vonmises``:
density ``exp(kappa cos y) / (2 pi I0(kappa))``, periodic in ``y = (x - loc)/scale``
as SciPy evaluates it. Written with the scaled Bessel function (``log I0(kappa) =
log i0e(kappa) + kappa``), so large concentrations do not overflow.

The distribution function is the integrated Fourier series of the density,
``1/2 + y/(2 pi) + (1/pi) sum_n I_n(kappa)/I_0(kappa) sin(n y)/n`` on ``[-pi, pi]``,
plus one per turn outside it as SciPy counts; differentiable in ``x`` (any order) and in
``kappa`` (first order). The quantile is SciPy's, with the inverse-function derivatives."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ...ops.special_stats import vonmises_cdf_p, vonmises_ppf_p
from .. import special
from ._common import continuous

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG_2PI = float(_np.log(2.0 * _np.pi))


def _logpdf(y: Any, kappa: Any) -> Any:
    return kappa * (anp.cos(y) - 1.0) - _LOG_2PI - anp.log(special.i0e(kappa))


def _cdf(y: Any, kappa: Any) -> Any:
    turns = anp.round(y / (2.0 * _np.pi))
    # the series is accurate to ~1e-16 absolute: clipped so that no tail is negative
    f = anp.clip(vonmises_cdf_p.bind(kappa, y - 2.0 * _np.pi * turns), 0.0, 1.0)
    return turns + f


_m = continuous(
    "vonmises",
    ("kappa",),
    valid=lambda kappa: kappa > 0,
    logpdf=_logpdf,
    cdf=_cdf,
    ppf=lambda q, kappa: vonmises_ppf_p.bind(kappa, q),
)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = (_m[k] for k in __all__)
