r"""Activation functions, and softmax / log-softmax / logsumexp.

``tanh``, ``sigmoid``, ``relu``, ``softplus`` and ``gelu`` use the fused primitives of
:mod:`adgraph.ops.fused` for real inputs: one kernel forward and one backward (CUDA
kernels for CuPy arrays), with derivatives of every order. The others are short
compositions of :mod:`adgraph.numpy` operations. All keep the input's float precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import numpy as anp
from ..ops import fused as _fused
from ..ops.misc import stop_gradient

__all__ = [
    "relu",
    "leaky_relu",
    "elu",
    "tanh",
    "sigmoid",
    "softplus",
    "gelu",
    "silu",
    "swish",
    "identity",
    "softmax",
    "log_softmax",
    "logsumexp",
    "get_activation",
    "ACTIVATIONS",
]


def _is_complex(x: Any) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind == "c"


def relu(x: Any) -> Any:
    r"""Rectified linear unit :math:`\max(x, 0)`; derivative :math:`[x > 0]`."""
    return _fused.relu(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    r""":math:`x` for :math:`x \ge 0`, :math:`\alpha x` below; derivative 1 or :math:`\alpha`."""
    return anp.where(anp.greater_equal(x, 0), x, negative_slope * x)


def elu(x: Any, alpha: float = 1.0) -> Any:
    r""":math:`x` for :math:`x > 0`, :math:`\alpha(e^x - 1)` below (the exponential sees only
    :math:`\min(x, 0)`, so large inputs give no overflow in either derivative)."""
    return anp.where(anp.greater(x, 0), x, alpha * anp.expm1(anp.minimum(x, 0.0)))


def tanh(x: Any) -> Any:
    r"""Hyperbolic tangent; derivative :math:`1 - \tanh^2 x` (fused for real inputs)."""
    if _is_complex(x):
        return anp.tanh(x)
    return _fused.tanh(x)


def sigmoid(x: Any) -> Any:
    r"""Logistic function :math:`1/(1 + e^{-x})` without overflow; derivative
    :math:`\sigma(1 - \sigma)` (fused for real inputs)."""
    if _is_complex(x):
        return 1.0 / (1.0 + anp.exp(-x))
    return _fused.sigmoid(x)


def softplus(x: Any) -> Any:
    r""":math:`\log(1 + e^x)` without overflow; derivative :math:`\sigma(x)` (fused)."""
    return _fused.softplus(x)


def gelu(x: Any, approximate: bool = False) -> Any:
    r"""Gaussian error linear unit :math:`x\,\Phi(x)` (``approximate=True``: the tanh form);
    fused, derivative :math:`\Phi(x) + x\varphi(x)`."""
    return _fused.gelu(x, approximate=approximate)


def silu(x: Any) -> Any:
    r"""Sigmoid-weighted linear unit (swish) :math:`x\,\sigma(x)`."""
    return x * sigmoid(x)


swish = silu


def identity(x: Any) -> Any:
    """The identity (a linear output layer)."""
    return x


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Any:
    r""":math:`\log \sum_i e^{x_i}` over ``axis``, shifted by the (constant) maximum so it
    never overflows; its gradient is :math:`\operatorname{softmax}(x)`."""
    m = anp.max(stop_gradient(x), axis=axis, keepdims=True)
    m = anp.where(anp.isfinite(m), m, 0.0)
    s = anp.log(anp.sum(anp.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else anp.squeeze(s, axis=axis)


def log_softmax(x: Any, axis: int | tuple[int, ...] | None = -1) -> Any:
    r""":math:`x_i - \log\sum_j e^{x_j}` over ``axis``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Any, axis: int | tuple[int, ...] | None = -1) -> Any:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` over ``axis``."""
    return anp.exp(log_softmax(x, axis=axis))


ACTIVATIONS: dict[str, Callable[..., Any]] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate=True),
    "silu": silu,
    "swish": silu,
    "identity": identity,
    "linear": identity,
}


def get_activation(act: str | Callable[..., Any] | None) -> Callable[..., Any]:
    """The activation function for ``act``: a callable (returned as it is), None (the
    identity) or a name from :data:`ACTIVATIONS`."""
    if act is None:
        return identity
    if callable(act):
        return act
    try:
        return ACTIVATIONS[act]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {act!r}; use a callable or one of {sorted(ACTIVATIONS)}"
        ) from None
