"""The von Mises distribution with concentration ``kappa``, as ``scipy.stats.vonmises``:
density ``exp(kappa cos y) / (2 pi I0(kappa))``, periodic in ``y = (x - loc)/scale``
as SciPy evaluates it. Written with the scaled Bessel function (``log I0(kappa) =
log i0e(kappa) + kappa``), so large concentrations do not overflow.

Only ``logpdf`` and ``pdf`` are provided: the distribution function has no closed form
among adgraph's special functions (SciPy sums a series of its own for it)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from .. import special
from ._common import continuous

__all__ = ["logpdf", "pdf"]

_LOG_2PI = float(_np.log(2.0 * _np.pi))


def _logpdf(y: Any, kappa: Any) -> Any:
    return kappa * (anp.cos(y) - 1.0) - _LOG_2PI - anp.log(special.i0e(kappa))


_m = continuous("vonmises", ("kappa",), valid=lambda kappa: kappa > 0, logpdf=_logpdf)
logpdf, pdf = (_m[k] for k in __all__)
