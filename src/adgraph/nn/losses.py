r"""Losses and metrics.

:func:`softmax_cross_entropy` with integer labels and the default mean reduction is the fused
primitive of :mod:`adgraph.ops.fused` (one pass over the logits each way, a CUDA kernel on
CuPy); other label forms and reductions are compositions of adgraph operations.
"""

from __future__ import annotations

from typing import Any

from .. import numpy as anp
from ..api.hints import PyTree
from ..core.pytree import tree_leaves
from ..core.trace import Tracer
from ..core.xp import module_of
from ..ops import fused as _fused
from .activations import log_softmax, logsumexp, softplus

__all__ = [
    "softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "mse",
    "l2_penalty",
    "accuracy",
    "one_hot",
]

_REDUCTIONS = ("mean", "sum", "none")


def _raw(x: Any) -> Any:
    return x.primal_value() if isinstance(x, Tracer) else x


def _reduce(v, reduction, op):
    if reduction == "mean":
        return anp.mean(v)
    if reduction == "sum":
        return anp.sum(v)
    if reduction == "none":
        return v
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def one_hot(labels: Any, num_classes: int, dtype: Any = "float32") -> Any:
    """Integer ``labels`` (...) as one-hot rows (..., num_classes) of the labels' module."""
    labels = _raw(labels)
    xp = module_of(labels)
    return (labels[..., None] == xp.arange(num_classes)).astype(dtype)


def softmax_cross_entropy(
    logits: Any, labels: Any, *, reduction: str = "mean", label_smoothing: float = 0.0
) -> Any:
    r"""Cross-entropy of softmax(``logits``) against ``labels``, over the last axis.

    ``labels``: integer class indices of shape ``logits.shape[:-1]``, or targets (one-hot or
    probabilities) of the logits' shape. Per row,
    :math:`\ell = \log\sum_j e^{z_j} - \sum_j p_j z_j`; ``reduction`` is ``"mean"`` (default),
    ``"sum"`` or ``"none"``. ``label_smoothing`` :math:`\epsilon` mixes the targets with the
    uniform distribution, :math:`(1-\epsilon) p + \epsilon / C`.

    The gradient with respect to the logits is :math:`(\operatorname{softmax}(z) - p) / N` for
    the mean. Integer labels with the mean and no smoothing use the fused primitive.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"softmax_cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    labels = _raw(labels)
    dt = getattr(labels, "dtype", None)
    integer = dt is not None and dt.kind in "iu"
    if integer and reduction == "mean" and not label_smoothing:
        return _fused.softmax_cross_entropy(logits, labels)
    c = logits.shape[-1]
    if integer:
        if tuple(labels.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                f"softmax_cross_entropy: integer labels of shape {tuple(labels.shape)} must have "
                f"the logits' shape {tuple(logits.shape)} without its last axis"
            )
        targets = one_hot(labels, c, logits.dtype)
    else:
        if tuple(getattr(labels, "shape", ())) != tuple(logits.shape):
            raise ValueError(
                "softmax_cross_entropy: target probabilities must have the logits' shape "
                f"{tuple(logits.shape)}, got {tuple(getattr(labels, 'shape', ()))}"
            )
        targets = labels
    if label_smoothing:
        targets = (1.0 - label_smoothing) * targets + label_smoothing / c
    if integer and not label_smoothing:
        per_row = logsumexp(logits) - anp.sum(logits * targets, axis=-1)
    else:
        per_row = -anp.sum(targets * log_softmax(logits), axis=-1)
    return _reduce(per_row, reduction, "softmax_cross_entropy")


def sigmoid_cross_entropy(logits: Any, targets: Any, *, reduction: str = "mean") -> Any:
    r"""Binary cross-entropy of :math:`\sigma(z)` against targets :math:`t \in [0, 1]`,
    from the logits: :math:`\ell = \operatorname{softplus}(z) - t z` (no overflow);
    gradient :math:`\sigma(z) - t` per element."""
    return _reduce(softplus(logits) - targets * logits, reduction, "sigmoid_cross_entropy")


def mse(pred: Any, target: Any, *, reduction: str = "mean") -> Any:
    r"""Squared error :math:`(\hat y - y)^2`, averaged over all entries by default."""
    d = pred - target
    return _reduce(d * d, reduction, "mse")


def l2_penalty(params: PyTree) -> Any:
    r""":math:`\tfrac12 \sum \|p\|^2` over the floating leaves of ``params`` (weight decay as
    a loss term; ``adgraph.optim`` also offers decoupled decay)."""
    total = 0.0
    for p in tree_leaves(params):
        if getattr(p, "dtype", None) is not None and p.dtype.kind == "f":
            total = total + 0.5 * anp.sum(p * p)
    return total


def accuracy(logits: Any, labels: Any) -> float:
    """Fraction of rows whose largest logit is at the label (integer labels, or one-hot /
    probability targets, compared by their argmax). Returns a Python float, so on a GPU it
    waits for the result: call it for evaluation, not inside the training step."""
    z = _raw(logits)
    lab = _raw(labels)
    xp = module_of(z)
    pred = xp.argmax(z, axis=-1)
    if getattr(lab, "dtype", None) is not None and lab.dtype.kind == "f":
        lab = xp.argmax(lab, axis=-1)
    if pred.size == 0:
        return float("nan")
    return float(xp.mean((pred == lab).astype("float64")))
