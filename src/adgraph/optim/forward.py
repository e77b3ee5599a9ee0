r"""Descent with forward gradients: no backward pass, only JVPs along random directions.

Baydin, Pearlmutter, Syme, Wood and Torr (2022), "Gradients without Backpropagation". For a
scalar loss :math:`f` of parameters :math:`\theta \in \mathbb{R}^D` (any pytree of float
arrays; :math:`D` counts all their entries), draw a direction :math:`v \sim N(0, I_D)`; one
forward-mode pass gives :math:`f(\theta)` and the directional derivative
:math:`\nabla f \cdot v`, and

.. math:: g = (\nabla f \cdot v)\, v

is an unbiased estimate of :math:`\nabla f`, because :math:`E[v v^T] = I`. With ``tangents=k``
the step averages :math:`k` independent estimates,
:math:`\bar g = \frac1k \sum_{j} (\nabla f \cdot v_j) v_j`, all pushed through ``f`` in one
vectorised JVP (``vmap`` over ``jvp``: the primal is computed once, the tangents ride along
as a batch). No tape is recorded, so memory stays at about the primal's plus the ``k``
tangents; reverse mode instead keeps every intermediate value until its backward sweep.

**The variance law.** Write :math:`a = \nabla f(\theta)`. For one Gaussian direction,
Isserlis' theorem gives :math:`E[g g^T] = E[(a\cdot v)^2 v v^T] = |a|^2 I + 2 a a^T`. The
mean of :math:`k` independent estimates therefore has second moment

.. math:: E[\bar g \bar g^T] = \Big(1 + \frac1k\Big) a a^T + \frac{|a|^2}{k} I, \qquad
          E|\bar g|^2 = \Big(1 + \frac{D+1}{k}\Big) |a|^2,

exactly (not only for large :math:`D`): the estimate's excess energy
:math:`E|\bar g - a|^2 = \frac{D+1}{k}|a|^2` grows with the dimension and falls as
:math:`1/k`. For a curvature bound :math:`H` (a matrix with
:math:`f(\theta+s) \le f(\theta) + a\cdot s + \frac12 s^T H s`),
:math:`E[\bar g^T H \bar g] = (1 + \frac1k)\, a^T H a + \frac{\operatorname{tr} H}{k}|a|^2`,
so the step :math:`\text{lr} = 1 / \big((1+\frac1k) L + \operatorname{tr}(H)/k\big)`
(:math:`L` the largest eigenvalue of :math:`H`) decreases :math:`f` in expectation by at least
:math:`\frac{\text{lr}}{2} |a|^2`. Since :math:`\operatorname{tr} H \le D L`, the rate
:math:`\text{lr}_{GD} \cdot k / (k + D + 1)` is always safe, where
:math:`\text{lr}_{GD} = 1/L` is gradient descent's: forward-gradient descent needs up to
:math:`1 + (D+1)/k` times as many steps as gradient descent, each step costing one forward
pass with :math:`k` tangents instead of a forward and a backward pass.

The calls::

    from adgraph.optim import forward_gradient, forward_gradient_step
    params, losses = forward_gradient(loss, params0, lr=1e-2, steps=500, tangents=4, seed=0)
    params, value = forward_gradient_step(loss, params, lr=1e-2, tangents=4, rng=rng)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..api import jvp, vmap
from ..api.hints import PyTree
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.xp import module_of

__all__ = ["forward_gradient", "forward_gradient_step", "forward_gradient_estimate"]

# The random directions' source: a generator, a seed, or None (a fresh, unseeded one).
Seed = np.random.Generator | int | None


def forward_gradient_estimate(
    loss: Callable[..., Any], params: PyTree, tangents: int = 1, rng: Seed = None
) -> tuple[Any, PyTree]:
    r"""``(loss(params), g)``: the loss and a forward-gradient estimate of its gradient.

    ``g`` has the structure of ``params`` and is the mean of ``tangents`` independent
    estimates :math:`(\nabla f \cdot v_j) v_j`, :math:`v_j \sim N(0, I)` (see the module
    docstring for the variance law). ``rng`` is a ``numpy.random.Generator`` or a seed (None:
    a fresh, unseeded generator). Integer leaves of ``params`` carry no derivative: their
    entries of ``g`` are zeros. Only forward mode is used: no tape, no backward pass.
    """
    k = _check_tangents(tangents)
    rng = _generator(rng)
    leaves, treedef = tree_flatten(params)
    leaves = [_as_leaf(x) for x in leaves]
    float_idx = [i for i, x in enumerate(leaves) if x.dtype.kind == "f"]
    for x in leaves:
        if x.dtype.kind == "c":
            raise TypeError(
                "forward_gradient: complex parameters are not supported; split them into "
                "real and imaginary parts (two real arrays) in the pytree"
            )
    if not float_idx:
        raise TypeError(
            "forward_gradient: params has no floating-point leaf to differentiate; pass "
            "float arrays (e.g. np.zeros(3) rather than np.zeros(3, int))"
        )
    primals = tuple(leaves[i] for i in float_idx)
    # One block of k directions per float leaf, drawn in leaf order: (k, *leaf.shape).
    V = tuple(_draw(rng, (k,) + tuple(x.shape), x) for x in primals)

    def f_float(*fl):
        full = list(leaves)
        for i, v in zip(float_idx, fl, strict=True):
            full[i] = v
        return loss(tree_unflatten(treedef, full))

    if k == 1:
        value, d = jvp(f_float, primals, tuple(v[0] for v in V))
        value, d = _scalar(value), _reshape(d, (1,))
    else:
        value, d = vmap(lambda *vs: jvp(f_float, primals, vs))(*V)
        value, d = _scalar(value, batched=True), _reshape(d, (k,))
    g_leaves = [_zeros_like(x) for x in leaves]
    for i, v in zip(float_idx, V, strict=True):
        # mean_j d_j v_j, contracting the tangent axis.
        dd = _reshape(d, (k,) + (1,) * (v.ndim - 1))
        g_leaves[i] = (dd * v).sum(axis=0) / k
    return value, tree_unflatten(treedef, g_leaves)


def forward_gradient_step(
    loss: Callable[..., Any], params: PyTree, lr: float = 1e-2, tangents: int = 1, rng: Seed = None
) -> tuple[PyTree, Any]:
    r"""One step of forward-gradient descent: ``(params - lr * g, loss(params))``.

    ``g`` is :func:`forward_gradient_estimate`'s estimate with ``tangents`` directions drawn
    from ``rng`` (a ``numpy.random.Generator`` or a seed). The returned loss is the value
    before the update, computed by the same forward pass. Integer leaves are left unchanged.
    """
    value, g = forward_gradient_estimate(loss, params, tangents, rng)
    leaves, treedef = tree_flatten(params)
    g_leaves, _ = tree_flatten(g)
    lr = float(lr)
    new = [
        x - lr * gx if getattr(_as_leaf(x), "dtype", np.dtype(int)).kind == "f" else x
        for x, gx in zip(leaves, g_leaves, strict=True)
    ]
    return tree_unflatten(treedef, new), value


def forward_gradient(
    loss: Callable[..., Any],
    params0: PyTree,
    lr: float | Callable[[int], float] = 1e-2,
    steps: int = 500,
    tangents: int = 4,
    seed: Seed = 0,
    *,
    callback: Callable[[int, PyTree, Any], Any] | None = None,
) -> tuple[PyTree, np.ndarray]:
    r"""Minimise ``loss`` by forward-gradient descent; return ``(params, losses)``.

    Parameters
    ----------
    loss : callable
        ``loss(params)`` returns a scalar; written with :mod:`adgraph.numpy`.
    params0 : pytree
        Initial parameters: arrays (and Python floats) in tuples, lists, dicts, ...
    lr : float or callable
        Learning rate, or a schedule ``lr(step) -> float``. A safe choice is gradient
        descent's rate times ``k / (k + D + 1)`` (module docstring).
    steps : int
        Number of updates.
    tangents : int
        Number ``k`` of random directions per step, pushed through ``loss`` together; the
        estimate's excess variance falls as ``(D + 1) / k``.
    seed : int or numpy.random.Generator
        Seed of the directions (a PCG64 generator): the same seed gives the same run.
    callback : callable, optional
        ``callback(step, params, loss_value)`` after each step's forward pass, before the
        update (e.g. to record a trajectory or draw a progress bar); returning True stops
        early.

    Returns
    -------
    params : pytree
        The parameters after the last update.
    losses : numpy.ndarray
        ``losses[t]`` is the loss at step ``t`` before its update (float64, one per step).
    """
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"forward_gradient: steps must be >= 0, got {steps}")
    rng = _generator(seed)
    params = params0
    losses = np.empty(steps)
    for t in range(steps):
        rate = lr(t) if callable(lr) else lr
        new, value = forward_gradient_step(loss, params, rate, tangents, rng)
        losses[t] = float(_host(value))
        if callback is not None and callback(t, params, value):
            return params, losses[: t + 1]
        params = new
    return params, losses


# ------------------------------------------------------------------ helpers
def _check_tangents(k) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"forward_gradient: tangents must be a positive integer, got {k!r}")
    return int(k)


def _generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    return np.random.Generator(np.random.PCG64(rng))


def _as_leaf(x):
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    return np.asarray(x, dtype=np.float64 if isinstance(x, numbers.Real) else None)


def _draw(rng, shape, like):
    dt = like.dtype
    host = rng.standard_normal(shape, dtype=np.float32 if dt == np.float32 else np.float64)
    if host.dtype != dt:
        host = host.astype(dt)
    xp = module_of(like)
    return host if xp is np else xp.asarray(host)


def _zeros_like(x):
    return module_of(x).zeros_like(x)


def _reshape(d, shape):
    return d.reshape(shape)


def _scalar(value, batched=False):
    shape = tuple(getattr(value, "shape", ()))
    if batched:
        # vmap broadcasts the (unbatched) primal over the tangent axis.
        shape, value = shape[1:], value[0]
    if shape != ():
        raise TypeError(
            f"forward_gradient: the loss must return a scalar, got shape {shape}; reduce it "
            "(e.g. with adgraph.numpy.mean) first"
        )
    return value


def _host(v):
    get = getattr(v, "get", None)  # CuPy
    if callable(get) and not isinstance(v, np.ndarray):
        return get()
    compute = getattr(v, "compute", None)  # Dask
    return compute() if callable(compute) else v
