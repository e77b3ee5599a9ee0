r"""Dense layers and multi-layer perceptrons as pairs of functions: ``*_init`` makes the
parameters (a pytree), the apply function maps ``(params, x)`` to the output.

A dense layer's parameters are ``{"w": (n_in, n_out), "b": (n_out,)}`` and it computes
:math:`y = f(x W + b)` for a batch ``x`` of shape ``(..., n_in)``. An MLP's parameters are
the list of its layers' dicts; ``mlp`` also accepts a list of ``(W, b)`` pairs.
"""

from __future__ import annotations

import numpy as np

from .. import numpy as anp
from .activations import get_activation
from .initializers import generator, glorot_uniform, he_uniform, zeros

__all__ = ["dense_init", "dense", "mlp_init", "mlp"]

_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "swish"}


def dense_init(
    rng, n_in: int, n_out: int, *, w_init=glorot_uniform, b_init=zeros, dtype=np.float32, xp=None
) -> dict:
    """Parameters ``{"w", "b"}`` of a dense layer from ``n_in`` to ``n_out`` features.

    ``rng``: a ``numpy.random.Generator`` or seed; ``w_init``/``b_init``: initialisers from
    :mod:`adgraph.nn.initializers`; ``xp``: array module (or ``"cupy"``) of the parameters.
    """
    rng = generator(rng)
    return {
        "w": w_init(rng, (n_in, n_out), dtype=dtype, xp=xp),
        "b": b_init(rng, (n_out,), dtype=dtype, xp=xp),
    }


def _wb(layer):
    if isinstance(layer, dict):
        return layer["w"], layer["b"]
    w, b = layer
    return w, b


def dense(params, x, activation=None):
    r""":math:`f(x W + b)` for a batch ``x`` of shape ``(..., n_in)``; ``activation`` is a
    callable, a name (``"relu"``, ``"tanh"``, ...) or None (linear)."""
    w, b = _wb(params)
    return get_activation(activation)(anp.matmul(x, w) + b)


def mlp_init(
    rng, sizes, *, activation="relu", w_init=None, b_init=zeros, dtype=np.float32, xp=None
) -> list:
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


def mlp(params, x, activation="relu", final_activation=None):
    """Apply an MLP: ``activation`` after every hidden layer, ``final_activation`` (default:
    none, i.e. logits) after the last."""
    act = get_activation(activation)
    n = len(params)
    for i, layer in enumerate(params):
        x = dense(layer, x, act if i < n - 1 else final_activation)
    return x
