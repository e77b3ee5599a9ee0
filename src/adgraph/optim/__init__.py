"""Optimisers over pytrees of parameters.

* :func:`forward_gradient` -- descent with forward gradients (Baydin et al. 2022): no
  backward pass, only JVPs along random directions.
* :func:`sgd`, :func:`adam` -- first-order optimisers (SGD with momentum, Adam).
"""

from __future__ import annotations

import importlib

_WHERE = {
    "forward_gradient": "forward",
    "forward_gradient_step": "forward",
    "forward_gradient_estimate": "forward",
    "sgd": "first_order",
    "adam": "first_order",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'adgraph.optim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"adgraph.optim.{mod}"), name)
