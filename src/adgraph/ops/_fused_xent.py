r"""The fused softmax cross-entropy (see :mod:`.fused`, which re-exports it): the mean over
rows of :math:`\operatorname{logsumexp}(z_r) - z_{r, \ell_r}` for integer labels, and its
cotangent :math:`\bar L\,(\operatorname{softmax}(z) - \operatorname{onehot}(\ell)) / N`
computed by the primitive ``softmax_cross_entropy_bwd`` in one pass over the logits.
"""

from __future__ import annotations

import numpy as _np  # NumPy's identity, NaN, and 0-d NumPy cotangents

from ..core.primitive import Primitive
from ._fused_common import _check_float_arg, _kernel
from ._util import OpError, shape
from .elementwise import divide, exp, multiply, subtract
from .misc import stop_gradient
from .reductions import max as _max
from .reductions import sum as _sum

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_bwd"]


def _labels_ok(labels):
    dt = getattr(labels, "dtype", None)
    return dt is not None and dt.kind in "iu"


def _rows(z):
    s = tuple(z.shape)
    n = 1
    for d in s[:-1]:
        n *= d
    return n, s[-1]


def _ref_log_softmax_parts(xp, z):
    m = xp.max(z, axis=-1, keepdims=True)
    sh = z - m
    lse = xp.log(xp.sum(xp.exp(sh), axis=-1, keepdims=True))
    return sh, lse


def _ref_onehot(xp, labels, c, dtype):
    return (labels[..., None] == xp.arange(c)).astype(dtype)


def _xent_impl(xp, z, labels):
    if xp is not _np and (out := _kernel(xp, "softmax_xent", z, labels)) is not None:
        return out
    n, c = _rows(z)
    sh, lse = _ref_log_softmax_parts(xp, z)
    picked = xp.sum(xp.where(_ref_onehot(xp, labels, c, bool), sh, 0.0), axis=-1)
    valid = (labels >= 0) & (labels < c)
    rows = xp.where(valid, lse[..., 0] - picked, _np.nan).astype(z.dtype)
    return xp.mean(rows)


def _xent_bwd_impl(xp, ct, z, labels):
    if xp is not _np and (out := _kernel(xp, "softmax_xent_bwd", ct, z, labels)) is not None:
        return out
    n, c = _rows(z)
    dt = z.dtype
    sh, lse = _ref_log_softmax_parts(xp, z)
    p = xp.exp(sh - lse) - _ref_onehot(xp, labels, c, dt)
    valid = ((labels >= 0) & (labels < c))[..., None]
    p = xp.where(valid, p, _np.nan).astype(dt)
    scale = ct / max(n, 1) if hasattr(ct, "dtype") else dt.type(ct / max(n, 1))
    return (p * scale).astype(dt, copy=False)


def _softmax(z):
    """softmax over the last axis with adgraph operations (for second derivatives)."""
    e = exp(subtract(z, stop_gradient(_max(z, axis=-1, keepdims=True))))
    return divide(e, _sum(e, axis=-1, keepdims=True))


def _xent_bwd_z(ct, t, z):
    # d/dz [ct (s - onehot) / N] t = ct / N * s (t - sum(s t))   (per row; symmetric)
    n, _ = _rows(z)
    s = _softmax(z)
    st = multiply(s, subtract(t, _sum(multiply(s, t), axis=-1, keepdims=True)))
    return multiply(multiply(ct, 1.0 / max(n, 1)), st)


def _ct_scalar(ct):
    # The loss cotangent may arrive as a 0-d NumPy array while the logits live on another
    # backend; a NumPy scalar mixes with any array module.
    if type(ct) is _np.ndarray and ct.ndim == 0:
        return ct[()]
    return ct


softmax_xent_bwd_p = Primitive(
    "fused_softmax_cross_entropy_bwd",
    lambda xp, ct, z, labels: _xent_bwd_impl(xp, ct, z, labels),
    tangent=(
        lambda t, ans, ct, z, labels: softmax_xent_bwd_p.bind(t, z, labels),
        lambda t, ans, ct, z, labels: _xent_bwd_z(ct, t, z),
        None,
    ),
    vjp=(
        lambda c2, ans, ct, z, labels: _sum(multiply(softmax_xent_bwd_p.bind(1.0, z, labels), c2)),
        lambda c2, ans, ct, z, labels: _xent_bwd_z(ct, c2, z),
        None,
    ),
    needs=({1, 2}, {0, 1}, set()),
    doc=r"""G = ct (softmax(z) - onehot(labels)) / N over the rows of z (..., C); linear in ct;
    d G/d z t = ct/N s (t - <s, t>) per row.""",
)

softmax_xent_p = Primitive(
    "fused_softmax_cross_entropy",
    _xent_impl,
    tangent=(
        lambda t, ans, z, labels: _sum(multiply(softmax_xent_bwd_p.bind(1.0, z, labels), t)),
        None,
    ),
    vjp=(
        lambda ct, ans, z, labels: softmax_xent_bwd_p.bind(_ct_scalar(ct), z, labels),
        None,
    ),
    needs=({0, 1}, set()),
    doc=r"""L = mean_r (logsumexp(z_r) - z_{r, labels_r}) for logits z (..., C) and integer
    labels (...); dL/dz = (softmax(z) - onehot(labels)) / N (fused_softmax_cross_entropy_bwd).""",
)


def _check_xent(logits, labels, op):
    zs = shape(logits)
    ls = shape(labels)
    if len(zs) < 1:
        raise OpError(f"{op}: logits must have a class axis (last axis), got a scalar")
    if zs[:-1] != ls:
        raise OpError(
            f"{op}: labels of shape {ls} do not match logits of shape {zs}; labels must have "
            f"the logits' shape without its last (class) axis, i.e. {zs[:-1]}"
        )
    if not _labels_ok(labels):
        raise OpError(
            f"{op}: labels must be integer class indices, got dtype "
            f"{getattr(labels, 'dtype', type(labels).__name__)}; for one-hot or probability "
            "targets use adgraph.nn.softmax_cross_entropy, which accepts them"
        )
    if type(labels) is _np.ndarray and labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= zs[-1]:
            raise OpError(
                f"{op}: labels must lie in [0, {zs[-1]}) for {zs[-1]} classes; got values in "
                f"[{lo}, {hi}]"
            )


def softmax_cross_entropy(logits, labels):
    r"""Mean softmax cross-entropy of ``logits`` (..., C) against integer ``labels`` (...):

    .. math:: L = \frac1N \sum_r \Big(\log\sum_j e^{z_{rj}} - z_{r\ell_r}\Big),
              \qquad \frac{\partial L}{\partial z} = \frac{\operatorname{softmax}(z) -
              \operatorname{onehot}(\ell)}{N}.

    One fused pass over the logits each way (a CUDA kernel for CuPy arrays). Labels outside
    ``[0, C)`` are an error for NumPy arrays and give NaN on the GPU (no host round trip).
    """
    _check_xent(logits, labels, "softmax_cross_entropy")
    return softmax_xent_p.bind(_check_float_arg(logits, "softmax_cross_entropy"), labels)


def softmax_cross_entropy_bwd(ct, logits, labels):
    r""":math:`\bar L (\operatorname{softmax}(z) - \operatorname{onehot}(\ell)) / N`: the
    cotangent of :func:`softmax_cross_entropy` for the cotangent ``ct`` of the loss."""
    _check_xent(logits, labels, "softmax_cross_entropy_bwd")
    return softmax_xent_bwd_p.bind(_ct_scalar(ct), logits, labels)
