"""autograd's first-order optimisers: ``sgd``, ``rmsprop``, ``adam``.

Each takes ``grad(x, i)`` (the gradient at iterate ``x`` on step ``i``) and a starting
point ``x`` -- any pytree of arrays -- and returns the final iterate in the same
structure. ``callback(x, i, g)``, when given, is called on every step before the update.
The arithmetic runs on one flat vector (see :func:`flatten`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as _np

from .flatten import flatten

__all__ = ["sgd", "rmsprop", "adam"]

Grad = Callable[[Any, int], Any]
Callback = Callable[[Any, int, Any], Any]


def _on_flat(step: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``step`` (written for a flat vector) on any pytree iterate."""

    @functools.wraps(step)
    def run(
        grad: Grad, x0: Any, callback: Callback | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if not callable(grad):
            raise TypeError(
                f"{step.__name__}: the first argument must be the gradient function "
                f"grad(x, i), got {type(grad).__name__}"
            )
        flat0, unflatten = flatten(x0)

        def flat_grad(x: Any, i: int) -> Any:
            g, _ = flatten(grad(unflatten(x), i))
            return _np.asarray(g, dtype=float)

        flat_callback = None
        if callback is not None:

            def flat_callback(x: Any, i: int, g: Any) -> Any:
                return callback(unflatten(x), i, unflatten(g))

        out = step(flat_grad, _np.asarray(flat0, dtype=float), flat_callback, *args, **kwargs)
        return unflatten(out)

    return run


@_on_flat
def sgd(
    grad: Grad,
    x: Any,
    callback: Callback | None = None,
    num_iters: int = 200,
    step_size: float = 0.1,
    mass: float = 0.9,
) -> Any:
    """Gradient descent with momentum: ``v <- mass v - (1 - mass) g``, ``x <- x + step v``."""
    velocity = _np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_on_flat
def rmsprop(
    grad: Grad,
    x: Any,
    callback: Callback | None = None,
    num_iters: int = 100,
    step_size: float = 0.1,
    gamma: float = 0.9,
    eps: float = 1e-8,
) -> Any:
    """Steps scaled by a running root-mean-square of the gradient (started at ones)."""
    avg_sq_grad = _np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (_np.sqrt(avg_sq_grad) + eps)
    return x


@_on_flat
def adam(
    grad: Grad,
    x: Any,
    callback: Callback | None = None,
    num_iters: int = 100,
    step_size: float = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> Any:
    """Adam (Kingma and Ba, 2014): bias-corrected first and second moment estimates."""
    m = _np.zeros(len(x))
    v = _np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g**2) + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (_np.sqrt(vhat) + eps)
    return x
