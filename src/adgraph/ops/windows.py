r"""NumPy's window functions: ``bartlett``, ``blackman``, ``hamming``, ``hanning``,
``kaiser``.

A window of ``M`` points is a constant (``M`` is a length, not differentiable), computed
by NumPy. ``kaiser``'s shape parameter ``beta`` is differentiable: with
:math:`r_n = \sqrt{1 - ((n - \alpha)/\alpha)^2}`, :math:`\alpha = (M-1)/2`,

.. math:: w_n = \frac{I_0(\beta r_n)}{I_0(\beta)}, \qquad
   \frac{\partial w_n}{\partial \beta} = \frac{r_n I_1(\beta r_n) - w_n I_1(\beta)}{I_0(\beta)},

composed from ``i0`` (whose derivative :math:`I_1` needs SciPy).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np  # the constant windows are NumPy's own

from ..core.trace import Tracer
from . import elementwise as _ew
from ._util import OpTypeError, check_numeric
from ._util import dtype as _dtype
from .mathfuncs import i0

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _length(M, name):
    if isinstance(M, Tracer):
        raise OpTypeError(f"{name}: M (the number of points) must be a concrete integer")
    try:
        return operator.index(M)
    except TypeError:
        if isinstance(M, (float, _np.floating)) and float(M).is_integer():
            return int(M)  # NumPy accepts integral floats
        raise OpTypeError(f"{name}: M must be an integer, got {M!r}") from None


def bartlett(M: int) -> Any:
    """The Bartlett (triangular) window of ``M`` points (a constant)."""
    return _np.bartlett(_length(M, "bartlett"))


def blackman(M: int) -> Any:
    """The Blackman window of ``M`` points (a constant)."""
    return _np.blackman(_length(M, "blackman"))


def hamming(M: int) -> Any:
    """The Hamming window of ``M`` points (a constant)."""
    return _np.hamming(_length(M, "hamming"))


def hanning(M: int) -> Any:
    """The Hann window of ``M`` points (a constant)."""
    return _np.hanning(_length(M, "hanning"))


def kaiser(M: int, beta: Any) -> Any:
    r"""The Kaiser window of ``M`` points and shape ``beta``: NumPy's values, and
    differentiable in ``beta`` (see the module)."""
    m = _length(M, "kaiser")
    check_numeric(beta, "kaiser", "beta")
    if _np.dtype(_dtype(beta)).kind == "c":
        raise OpTypeError(f"kaiser: beta (the shape parameter) must be real, got {beta!r}")
    if not isinstance(beta, Tracer):
        return _np.kaiser(m, beta)
    if m == 0:
        return _np.array([])
    if m == 1:
        return _np.ones(1)
    n = _np.arange(0, m)
    alpha = (m - 1) / 2.0
    r = _np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)
    beta = _ew.multiply(beta, 1.0)
    return _ew.divide(i0(_ew.multiply(beta, r)), i0(beta))
