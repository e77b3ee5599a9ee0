r"""First-order optimisers over pytrees: SGD with momentum, and Adam (with AdamW's decay).

Functional, like the rest of adgraph: an optimiser is a pair of functions, and its state is
a pytree you keep and pass back::

    from adgraph.optim import adam

    opt = adam(lr=1e-3)
    state = opt.init(params)                              # moments, step count
    for x, y in batches:
        grads = adgraph.grad(loss)(params, x, y)
        params, state = opt.update(grads, state, params)  # new params, new state

Nothing is updated in place. ``lr`` is a number or a schedule ``lr(step) -> float`` (``step``
counts from 0, evaluated on the host). ``params`` may be any pytree of float arrays
(NumPy, CuPy, Dask), even traced values: the update is written with adgraph operations,
so a step can itself be differentiated (learning-rate or meta-gradients). For untraced CuPy
arrays each leaf's update is one fused CUDA kernel (:mod:`adgraph.ops.fused`).

SGD (``momentum`` :math:`\mu`, weight decay :math:`\lambda`, learning rate :math:`\eta`):

.. math:: d = g + \lambda p,\quad b \leftarrow \mu b + d,\quad
          p \leftarrow p - \eta\,b \ \ (\text{Nesterov: } p - \eta\,(d + \mu b)).

Adam (Kingma and Ba), with bias correction and decoupled weight decay (Loshchilov and
Hutter's AdamW, applied only when ``weight_decay`` is nonzero), at step :math:`t \ge 1`:

.. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
          \quad p \leftarrow p - \eta\Big(\frac{m / (1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} +
          \epsilon} + \lambda p\Big).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

from ..core.pytree import tree_flatten, tree_unflatten
from ..ops import fused as _fused

__all__ = ["sgd", "adam", "Optimizer", "SGDState", "AdamState"]

# A learning rate: a number, or a schedule ``step -> rate``.
LearningRate = float | Callable[[int], Any]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params) -> (params, state)``."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple]


class SGDState(NamedTuple):
    """SGD's state: the step count and the momentum buffers (None without momentum)."""

    step: int
    momentum: Any


class AdamState(NamedTuple):
    """Adam's state: the step count and the first and second moment estimates."""

    step: int
    mu: Any
    nu: Any


def _schedule(lr, name):
    if callable(lr):
        return lr
    if not isinstance(lr, (int, float)) or isinstance(lr, bool):
        raise TypeError(f"{name}: lr must be a number or a callable step -> lr, got {lr!r}")
    value = float(lr)
    return lambda step: value


def _lr_at(sched, step):
    """The learning rate at ``step``: a Python float for numbers (weak, so float32 stays
    float32), else the schedule's own value (an array, or a traced value for hypergradients)."""
    v = sched(step)
    return float(v) if isinstance(v, numbers.Real) else v


def _check(cond, msg):
    if not cond:
        raise ValueError(msg)


def _leaves(tree, what, like_def=None, name=""):
    leaves, tdef = tree_flatten(tree)
    if like_def is not None and tdef != like_def:
        raise ValueError(
            f"{name}: the structure of {what} {tdef!r} differs from the parameters' {like_def!r}"
        )
    return leaves, tdef


def _zeros(p):
    from ..ops.creation import zeros_like

    return zeros_like(p)


def sgd(
    lr: LearningRate = 1e-2,
    momentum: float = 0.0,
    *,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> Optimizer:
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    Parameters
    ----------
    lr : float or callable ``step -> float``.
    momentum : :math:`\mu \in [0, 1)`; 0 keeps no buffers.
    nesterov : use Nesterov's look-ahead form (needs ``momentum > 0``).
    weight_decay : :math:`\lambda`, added to the gradient as :math:`\lambda p` (L2).
    """
    sched = _schedule(lr, "sgd")
    _check(0.0 <= momentum < 1.0, f"sgd: momentum must lie in [0, 1), got {momentum}")
    _check(not nesterov or momentum > 0, "sgd: nesterov=True needs momentum > 0")
    _check(weight_decay >= 0.0, f"sgd: weight_decay must be >= 0, got {weight_decay}")

    def init(params):
        if not momentum:
            return SGDState(0, None)
        leaves, tdef = tree_flatten(params)
        return SGDState(0, tree_unflatten(tdef, [_zeros(p) for p in leaves]))

    def update(grads, state, params):
        p_leaves, tdef = _leaves(params, "params")
        g_leaves, _ = _leaves(grads, "grads", tdef, "sgd.update")
        eta = _lr_at(sched, state.step)
        if momentum:
            b_leaves, _ = _leaves(state.momentum, "the momentum state", tdef, "sgd.update")
        else:
            b_leaves = [None] * len(p_leaves)
        new_p, new_b = [], []
        for p, g, b in zip(p_leaves, g_leaves, b_leaves, strict=True):
            if momentum:
                pn, bn = _fused.sgd_update(
                    p,
                    g,
                    b,
                    lr=eta,
                    momentum=momentum,
                    weight_decay=weight_decay,
                    nesterov=nesterov,
                )
            else:
                pn, bn = _fused.sgd_update(p, g, None, lr=eta, weight_decay=weight_decay)
            new_p.append(pn)
            new_b.append(bn)
        mom = tree_unflatten(tdef, new_b) if momentum else None
        return tree_unflatten(tdef, new_p), SGDState(state.step + 1, mom)

    return Optimizer(init, update)


def adam(
    lr: LearningRate = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    weight_decay: float = 0.0,
) -> Optimizer:
    r"""Adam with bias correction; ``weight_decay`` > 0 gives AdamW's decoupled decay.

    Parameters
    ----------
    lr : float or callable ``step -> float``.
    b1, b2 : decay rates of the first and second moment estimates, in [0, 1).
    eps : added to :math:`\sqrt{\hat v}` in the denominator.
    weight_decay : :math:`\lambda` (decoupled: :math:`p \leftarrow p - \eta\lambda p`).
    """
    sched = _schedule(lr, "adam")
    _check(0.0 <= b1 < 1.0, f"adam: b1 must lie in [0, 1), got {b1}")
    _check(0.0 <= b2 < 1.0, f"adam: b2 must lie in [0, 1), got {b2}")
    _check(eps >= 0.0, f"adam: eps must be >= 0, got {eps}")
    _check(weight_decay >= 0.0, f"adam: weight_decay must be >= 0, got {weight_decay}")

    def init(params):
        leaves, tdef = tree_flatten(params)
        return AdamState(
            0,
            tree_unflatten(tdef, [_zeros(p) for p in leaves]),
            tree_unflatten(tdef, [_zeros(p) for p in leaves]),
        )

    def update(grads, state, params):
        p_leaves, tdef = _leaves(params, "params")
        g_leaves, _ = _leaves(grads, "grads", tdef, "adam.update")
        m_leaves, _ = _leaves(state.mu, "the first-moment state", tdef, "adam.update")
        v_leaves, _ = _leaves(state.nu, "the second-moment state", tdef, "adam.update")
        t = state.step + 1
        eta = _lr_at(sched, state.step)
        c1 = 1.0 / (1.0 - b1**t)
        c2 = 1.0 / (1.0 - b2**t)
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(p_leaves, g_leaves, m_leaves, v_leaves, strict=True):
            pn, mn, vn = _fused.adam_update(
                p,
                g,
                m,
                v,
                lr=eta,
                b1=b1,
                b2=b2,
                eps=eps,
                c1=c1,
                c2=c2,
                weight_decay=weight_decay,
            )
            new_p.append(pn)
            new_m.append(mn)
            new_v.append(vn)
        return tree_unflatten(tdef, new_p), AdamState(
            t, tree_unflatten(tdef, new_m), tree_unflatten(tdef, new_v)
        )

    return Optimizer(init, update)
