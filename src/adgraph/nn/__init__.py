"""Small, functional neural networks: parameters are pytrees, layers are functions.

::

    import adgraph as ad
    from adgraph import nn
    from adgraph.optim import adam

    params = nn.mlp_init(0, [64, 128, 10], activation="relu")        # list of {"w", "b"}
    def loss(params, x, y):
        return nn.softmax_cross_entropy(nn.mlp(params, x, "relu"), y)

    opt = adam(1e-3)
    state = opt.init(params)
    grads = ad.grad(loss)(params, x, y)
    params, state = opt.update(grads, state, params)

The same code runs on CuPy arrays (``nn.mlp_init(..., xp="cupy")`` or ``nn.to_device``):
the activations and the cross-entropy are fused primitives with CUDA kernels
(:mod:`adgraph.ops.fused`), so a training step launches few kernels and never copies to the
host. See ``docs/nn.md``.
"""

from __future__ import annotations

from . import activations as _activations
from . import initializers
from ._tree import (
    clip_by_global_norm,
    global_norm,
    num_params,
    resolve_xp,
    to_device,
    to_numpy,
    tree_astype,
    tree_zeros_like,
)
from .activations import *  # noqa: F403  (the activations, listed in their module's __all__)
from .layers import dense, dense_init, mlp, mlp_init
from .losses import (
    accuracy,
    l2_penalty,
    mse,
    one_hot,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)

__all__ = [
    *_activations.__all__,
    # layers
    "dense_init",
    "dense",
    "mlp_init",
    "mlp",
    "initializers",
    # losses and metrics
    "softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "mse",
    "l2_penalty",
    "accuracy",
    "one_hot",
    # pytrees and devices
    "resolve_xp",
    "to_device",
    "to_numpy",
    "num_params",
    "global_norm",
    "clip_by_global_norm",
    "tree_astype",
    "tree_zeros_like",
]
