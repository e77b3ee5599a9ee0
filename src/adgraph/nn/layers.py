r"""Dense layers and multi-layer perceptrons as pairs of functions: ``*_init`` makes the
parameters (a pytree), the apply function maps ``(params, x)`` to the output.

A dense layer's parameters are ``{"w": (n_in, n_out), "b": (n_out,)}`` and it computes
:math:`y = f(x W + b)` for a batch ``x`` of shape ``(..., n_in)``. An MLP's parameters are
the list of its layers' dicts; ``mlp`` also accepts a list of ``(W, b)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import numpy as anp
from .activations import get_activation
from .initializers import Initializer, Seed, generator, glorot_uniform, he_uniform, zeros

# An activation: a callable, a name from nn.ACTIVATIONS, or None (the identity).
Activation = str | Callable[..., Any] | None

__all__ = ["dense_init", "dense", "mlp_init", "mlp"]

_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "swish"}


def dense_init(
    rng: Seed,
    n_in: int,
    n_out: int,
    *,
    w_init: Initializer = glorot_uniform,
    b_init: Initializer = zeros,
    dtype: Any = np.float32,
    xp: Any = None,
) -> dict[str, Any]:
    """Parameters ``{"w", "b"}`` of a dense layer from ``n_in`` to ``n_out`` features.

    ``rng``: a ``numpy.random.Generator`` or seed; ``w_init``/``b_init``: initialisers from
    :mod:`adgraph.nn.initializers`; ``xp``: array module (or ``"cupy"``) of the parameters.
    """
    rng = generator(rng)
    return {
        "w": w_init(rng, (n_in, n_out), dtype=dtype, xp=xp),
        "b": b_init(rng, (n_out,), dtype=dtype, xp=xp),
    }


def _wb(layer: Any) -> tuple[Any, Any]:
    if isinstance(layer, dict):
        return layer["w"], layer["b"]
    w, b = layer
    return w, b


def dense(params: Any, x: Any, activation: Activation = None) -> Any:
    r""":math:`f(x W + b)` for a batch ``x`` of shape ``(..., n_in)``; ``activation`` is a
    callable, a name (``"relu"``, ``"tanh"``, ...) or None (linear)."""
    w, b = _wb(params)
    return get_activation(activation)(anp.matmul(x, w) + b)


def mlp_init(
    rng: Seed,
    sizes: Sequence[int],
    *,
    activation: Activation = "relu",
    w_init: Initializer | None = None,
    b_init: Initializer = zeros,
    dtype: Any = np.float32,
    xp: Any = None,
) -> list[dict[str, Any]]:
    """Parameters of an MLP with layer widths ``sizes`` (``[n_in, hidden..., n_out]``): a list
    of ``{"w", "b"}`` dicts. The default weight initialiser follows ``activation``: He
    uniform for ReLU-like units, Glorot uniform otherwise."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp_init: sizes needs at least input and output widths, got {sizes}")
    if w_init is None:
        name = activation if isinstance(activation, str) else ""
        w_init = he_uniform if name in _RELU_LIKE else glorot_uniform
    rng = generator(rng)
    return [
        dense_init(rng, a, b, w_init=w_init, b_init=b_init, dtype=dtype, xp=xp)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def mlp(
    params: Sequence[Any],
    x: Any,
    activation: Activation = "relu",
    final_activation: Activation = None,
) -> Any:
    """Apply an MLP: ``activation`` after every hidden layer, ``final_activation`` (default:
    none, i.e. logits) after the last."""
    act = get_activation(activation)
    n = len(params)
    for i, layer in enumerate(params):
        x = dense(layer, x, act if i < n - 1 else final_activation)
    return x
