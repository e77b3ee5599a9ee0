"""``numpy.emath`` (``adgraph.numpy.emath``): NumPy's mathematical functions with automatic domain (``sqrt``,
``log``, ``log2``, ``logn``, ``log10``, ``power``, ``arccos``, ``arcsin``, ``arctanh``).

As in NumPy, a real input outside the real domain (negative under a root or logarithm,
beyond 1 in magnitude for ``arccos``/``arcsin``/``arctanh``) gives a complex result; the
choice depends on the values, so for a traced input it is made on its current values
(under ``jit`` the choice is a guard, traced again when it changes). The computation is
then adgraph's own, differentiable: holomorphic on the complex branch.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # dtype queries only

from . import elementwise as _ew
from . import reductions as _red
from ._util import check_numeric
from ._util import dtype as _dtype
from .creation import asarray
from .misc import astype

__all__ = ["sqrt", "log", "log2", "logn", "log10", "power", "arccos", "arcsin", "arctanh"]


def _arr(x):
    return x if hasattr(x, "shape") else asarray(x)


def _complex_if(x, outside, op="emath"):
    """``x`` as complex when it is real and ``outside(x)`` holds somewhere."""
    check_numeric(x, op, "x")
    x = _arr(x)
    dt = _np.dtype(_dtype(x))
    if dt.kind == "c":
        return x
    if dt.kind != "f":
        x, dt = astype(x, _np.float64), _np.dtype(_np.float64)
    if bool(_red.any(outside(x))):
        return astype(x, _np.result_type(dt, _np.complex64))
    return x


def _negative(x):
    return _ew.less(x, 0)


def _beyond_one(x):
    return _ew.greater(_ew.absolute(x), 1)


def sqrt(x: Any) -> Any:
    """Square root, complex for negative real input."""
    return _ew.sqrt(_complex_if(x, _negative, "emath.sqrt"))


def log(x: Any) -> Any:
    """Natural logarithm, complex for negative real input."""
    return _ew.log(_complex_if(x, _negative, "emath.log"))


def log2(x: Any) -> Any:
    """Base-2 logarithm, complex for negative real input."""
    return _ew.log2(_complex_if(x, _negative, "emath.log2"))


def log10(x: Any) -> Any:
    """Base-10 logarithm, complex for negative real input."""
    return _ew.log10(_complex_if(x, _negative, "emath.log10"))


def logn(n: Any, x: Any) -> Any:
    """Logarithm of ``x`` to base ``n``, complex where either is negative."""
    return _ew.divide(log(x), log(n))


def power(x: Any, p: Any) -> Any:
    """``x ** p``, complex for negative real ``x``."""
    return _ew.power(_complex_if(x, _negative, "emath.power"), p)


def arccos(x: Any) -> Any:
    """Inverse cosine, complex for real ``|x| > 1``."""
    return _ew.arccos(_complex_if(x, _beyond_one, "emath.arccos"))


def arcsin(x: Any) -> Any:
    """Inverse sine, complex for real ``|x| > 1``."""
    return _ew.arcsin(_complex_if(x, _beyond_one, "emath.arcsin"))


def arctanh(x: Any) -> Any:
    """Inverse hyperbolic tangent, complex for real ``|x| > 1``."""
    return _ew.arctanh(_complex_if(x, _beyond_one, "emath.arctanh"))
