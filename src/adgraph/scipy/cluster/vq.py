r"""adgraph.scipy.cluster.vq: ``vq`` -- the nearest code of each observation.

The code indices are integers (no derivative); the distances
:math:`\lVert o_i - c_{k(i)}\rVert` are differentiable in the observations and the code
book, the nearest code :math:`k(i)` held fixed (it is piecewise constant).
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # the finiteness check on concrete values

from ... import numpy as anp
from ...core.trace import Tracer

__all__ = ["vq"]


def _as_float(x, what):
    if not isinstance(x, Tracer):
        x = anp.asarray(x)
    if x.dtype.kind not in "f":
        if x.dtype.kind == "c":
            raise TypeError(f"scipy.cluster.vq.vq: {what} must be real")
        x = anp.asarray(x, dtype=_np.float64)
    return x


def vq(obs: Any, code_book: Any, check_finite: bool = True):
    """``(code, dist)``: for each row of ``obs`` (M, N) the index of the nearest row of
    ``code_book`` (K, N) and the Euclidean distance to it (1-D arrays are single
    features). Ties go to the lowest index, as in SciPy."""
    o = _as_float(obs, "obs")
    c = _as_float(code_book, "code_book")
    if len(o.shape) == 1:
        o = o[:, None]
        if len(c.shape) != 1:
            raise ValueError("scipy.cluster.vq.vq: obs is 1-D, so code_book must be 1-D too")
        c = c[:, None]
    if len(o.shape) != 2 or len(c.shape) != 2:
        raise ValueError(
            "scipy.cluster.vq.vq: obs and code_book must be 1-D or 2-D, got "
            f"{o.shape} and {c.shape}"
        )
    if o.shape[1] != c.shape[1]:
        raise ValueError(
            "scipy.cluster.vq.vq: observation and code_book should have the same rank, got "
            f"{o.shape[1]} and {c.shape[1]} features"
        )
    if check_finite:
        for x, what in ((o, "obs"), (c, "code_book")):
            xv = _np.asarray(x.primal_value() if isinstance(x, Tracer) else x)
            if not _np.all(_np.isfinite(xv)):
                raise ValueError(f"scipy.cluster.vq.vq: {what} must not contain infs or NaNs")
    diff = o[:, None, :] - c[None, :, :]
    d2 = anp.sum(diff * diff, axis=-1)
    code = anp.argmin(d2, axis=1)  # integers: no derivative
    near = anp.take_along_axis(d2, code[:, None], axis=1)[:, 0]
    zero = near == 0
    dist = anp.where(zero, 0.0, anp.sqrt(anp.where(zero, 1.0, near)))  # finite slope at 0
    return code, dist
