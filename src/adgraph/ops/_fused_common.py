"""What the fused primitives (:mod:`.fused`, :mod:`._fused_xent`) share: the table of fused
operations a backend may run as one kernel (:data:`KERNELS`), the extension point
``fused.kernel`` that runs them, and the refusal of complex inputs."""

from __future__ import annotations

from ..core import extend
from ._util import OpError

# ------------------------------------------------------------------ backend kernels
# The fused operations a backend may run as one kernel of its own: name -> arguments and
# result, in the terms of the reference implementations in .fused and ._fused_xent (which
# define them).
# Array arguments of the activations, partners and optimiser steps come cast to one
# floating dtype (scalars stay Python or NumPy scalars); labels are integer arrays.
KERNELS: dict[str, str] = {
    "tanh": "(x) -> tanh(x)",
    "sigmoid": "(x) -> 1 / (1 + exp(-x)), overflow-free",
    "relu": "(x) -> max(x, 0)",
    "softplus": "(x) -> max(x, 0) + log1p(exp(-|x|))",
    "gelu": "(x) -> x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2",
    "gelu_tanh": "(x) -> x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2",
    "tanh_bwd": "(g, y) -> g (1 - y^2)",
    "sigmoid_bwd": "(g, y) -> g y (1 - y)",
    "relu_bwd": "(g, y) -> g where y > 0, else 0",
    "softplus_bwd": "(g, x) -> g sigmoid(x)",
    "gelu_bwd": "(g, x) -> g (Phi(x) + x phi(x))",
    "gelu_tanh_bwd": "(g, x) -> g gelu_tanh'(x)",
    "softmax_xent": "(z, labels) -> mean over rows r of logsumexp(z_r) - z_{r, labels_r}, "
    "a 0-d array; a row whose label is outside [0, C) gives NaN",
    "softmax_xent_bwd": "(ct, z, labels) -> ct (softmax(z) - onehot(labels)) / N, the "
    "shape of z (ct a scalar or 0-d array); NaN rows for labels outside [0, C)",
    "sgd_update": "(p, g, lr, wd) -> p - lr (g + wd p)",
    "sgd_momentum_update": "(p, g, buf, lr, mu, wd, nesterov) -> (p_new, buf_new): "
    "d = g + wd p, buf_new = mu buf + d, p_new = p - lr (d + mu buf_new if nesterov "
    "(0 or 1) else buf_new)",
    "adam_update": "(p, g, m, v, lr, b1, b2, eps, c1, c2, wd) -> (p_new, m_new, v_new): "
    "m_new = b1 m + (1 - b1) g, v_new = b2 v + (1 - b2) g^2, "
    "p_new = p - lr (c1 m_new / (sqrt(c2 v_new) + eps) + wd p)",
}

KERNEL = extend.declare(
    "fused.kernel",
    "(xp, name, *args) -> the fused operation name (a key of adgraph.ops.fused.KERNELS) "
    "computed on args by one kernel of the backend, or None where it has none for these "
    "arguments (the reference implementation then runs)",
)


def _kernel(xp, name, *args):
    """Fused operation ``name`` run by the backend of ``xp`` (never NumPy's: callers test
    ``xp is not _np`` first), or None."""
    run = extend.lookup(KERNEL, xp)
    return None if run is None else run(xp, name, *args)


def _check_float_arg(x, op):
    dt = getattr(x, "dtype", None)
    if dt is not None and dt.kind == "c":
        raise OpError(f"{op}: complex input is not supported; use the real part or adgraph.numpy")
    return x
