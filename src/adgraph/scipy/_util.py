"""Helpers shared by the subpackages of :mod:`adgraph.scipy`."""

from __future__ import annotations

from typing import Any

import numpy as _np  # the float64 dtype

from .. import numpy as anp
from ..core.trace import Tracer


def float_array(x: Any) -> Any:
    """``x`` as an array (a tracer stays as it is) of a floating or complex dtype: integer
    and boolean inputs are computed in float64, as SciPy does."""
    if not isinstance(x, Tracer):
        x = anp.asarray(x)
    if x.dtype.kind not in "fc":
        x = anp.asarray(x, dtype=_np.float64)
    return x
