"""Optimisers over pytrees of parameters.

* :func:`forward_gradient` -- descent with forward gradients (Baydin et al. 2022): no
  backward pass, only JVPs along random directions.
* :func:`sgd`, :func:`adam` -- first-order optimisers (SGD with momentum, Adam).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the functions; at run time they load on first use
    from .first_order import adam as adam
    from .first_order import sgd as sgd
    from .forward import forward_gradient as forward_gradient
    from .forward import forward_gradient_estimate as forward_gradient_estimate
    from .forward import forward_gradient_step as forward_gradient_step

_WHERE = {
    "forward_gradient": "forward",
    "forward_gradient_step": "forward",
    "forward_gradient_estimate": "forward",
    "sgd": "first_order",
    "adam": "first_order",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'adgraph.optim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"adgraph.optim.{mod}"), name)
