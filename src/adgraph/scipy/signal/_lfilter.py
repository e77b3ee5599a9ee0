r"""``lfilter``: the linear recursive (IIR/FIR) filter
:math:`\sum_k a_k\, y_{n-k} = \sum_k b_k\, x_{n-k}`, differentiable in the signal and in
both coefficient vectors.

One primitive, its rules written with itself, so every order follows:

* forward: differentiating the recursion,
  :math:`dy = \mathrm{lfilter}(db, a, x) + \mathrm{lfilter}(b, a, dx) -
  \mathrm{lfilter}(da, a, y)`;
* reverse: the filter is a lower-triangular Toeplitz map :math:`T` along time, and
  :math:`T^T = J T J` with :math:`J` the time reversal, so
  :math:`\bar x = J\,\mathrm{lfilter}(b, a, J\bar y)`; with
  :math:`w = J\,\mathrm{lfilter}(1, a, J\bar y)`,
  :math:`\bar b_k = \sum_n w_n x_{n-k}` and :math:`\bar a_k = -\sum_n w_n y_{n-k}`.

These are transposes under :math:`\langle u, v\rangle = \operatorname{Re}\sum uv` (no
conjugates), adgraph's convention for complex values.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # shapes only

from ... import numpy as anp
from ...core.primitive import Primitive
from ...core.trace import Tracer
from .._util import float_array
from ._convolve import _data_axis

__all__ = ["lfilter"]


def _scipy_lfilter(b, a, x):
    try:
        import scipy.signal as ss
    except ImportError:
        raise ImportError(
            "adgraph.scipy.signal.lfilter computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return ss.lfilter(b, a, x, axis=-1)


def _impl(xp, b, a, x):
    return _scipy_lfilter(b, a, x)


def _plus(u, v):
    return v if u is None else u + v


def _tangent(ans, primals, tangents, params):
    b, a, x = primals
    db, da, dx = tangents
    out = None
    if db is not None:
        out = _plus(out, lfilter_p.bind(db, a, x))
    if dx is not None:
        out = _plus(out, lfilter_p.bind(b, a, dx))
    if da is not None:
        out = _plus(out, -lfilter_p.bind(da, a, ans))
    return out


def _lagged_sums(w, s, m):
    """[sum_n w[..., n] s[..., n - k] for k < m], summed over all leading axes too."""
    n = s.shape[-1]
    out = []
    for k in range(m):
        if k >= n:
            out.append(anp.zeros((), dtype=anp.result_type(w, s)))
            continue
        out.append(anp.sum(w[..., k:] * s[..., : n - k]))
    return anp.stack(out)


def _vjp(ct, ans, args, params, wanted):
    b, a, x = args
    flip = lambda v: anp.flip(v, axis=-1)  # noqa: E731
    bbar = abar = xbar = None
    if wanted[2]:
        xbar = flip(lfilter_p.bind(b, a, flip(ct)))
    if wanted[0] or wanted[1]:
        one = anp.ones((1,), dtype=a.dtype)
        w = flip(lfilter_p.bind(one, a, flip(ct)))
        if wanted[0]:
            bbar = _lagged_sums(w, x, b.shape[0])
        if wanted[1]:
            abar = -_lagged_sums(w, ans, a.shape[0])
    return [bbar, abar, xbar]


def _batch(vals, batched, size):
    b, a, x = vals
    if not (batched[0] or batched[1]):
        return lfilter_p.bind(b, a, x)
    outs = []
    for i in range(size):
        outs.append(lfilter_p.bind(*(v[i] if f else v for v, f in zip(vals, batched))))
    return anp.stack(outs)


lfilter_p = Primitive(
    "signal_lfilter",
    _impl,
    joint_tangent=_tangent,
    joint_vjp=_vjp,
    batch=_batch,
    doc=r"""y with sum_k a_k y[n-k] = sum_k b_k x[n-k] along the last axis;
    dy = lfilter(db, a, x) + lfilter(b, a, dx) - lfilter(da, a, y); \bar x =
    J lfilter(b, a, J \bar y), \bar b_k = sum w_n x_{n-k}, \bar a_k = -sum w_n y_{n-k},
    w = J lfilter(1, a, J \bar y).""",
)


def _vector(v, what):
    v = float_array(v)
    if len(v.shape) != 1 or v.shape[0] < 1:
        raise ValueError(
            f"scipy.signal.lfilter: {what} must be a non-empty 1-D array, got shape {v.shape}"
        )
    return v


def lfilter(b: Any, a: Any, x: Any, axis: int = -1, zi: Any = None) -> Any:
    r"""Filter ``x`` along ``axis`` with the rational transfer function ``b / a``
    (SciPy's direct form II transposed), from rest: :math:`\sum_k a_k y_{n-k} =
    \sum_k b_k x_{n-k}`. Differentiable in ``b``, ``a`` and ``x`` (see the module
    docstring). Initial conditions ``zi`` are not supported."""
    if zi is not None:
        raise ValueError(
            "scipy.signal.lfilter: initial conditions (zi) are not supported; the filter starts from rest"
        )
    b = _vector(b, "b")
    a = _vector(a, "a")
    av = a.primal_value() if isinstance(a, Tracer) else a
    if _np.any(_np.asarray(av)[..., :1] == 0):
        raise ValueError("scipy.signal.lfilter: a[0] must not be zero")
    xs = float_array(x)
    axis = _data_axis("lfilter", xs, axis)
    xs = anp.moveaxis(xs, axis, -1)
    y = lfilter_p.bind(b, a, xs)
    return anp.moveaxis(y, -1, axis)
