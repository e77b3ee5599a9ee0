r"""Seeded weight initialisers.

Each initialiser is a function ``init(rng, shape, dtype=float32, xp=None)``: ``rng`` is a
``numpy.random.Generator`` or an integer seed, ``xp`` the array module of the result
(NumPy by default; a module or ``"cupy"``/``"gpu"``). Values are drawn on the host in
float64 and then cast and moved, so one seed gives the same numbers on every device and in
every precision.

For a weight of shape ``(fan_in, fan_out)`` (more axes: the leading ones multiply both
fans, as for convolution kernels):

==================  =====================================================
``glorot_uniform``  :math:`U(-a, a)`, :math:`a = \sqrt{6/(n_{in} + n_{out})}`
``glorot_normal``   :math:`N(0, 2/(n_{in} + n_{out}))`
``he_uniform``      :math:`U(-a, a)`, :math:`a = \sqrt{6/n_{in}}` (ReLU layers)
``he_normal``       :math:`N(0, 2/n_{in})`
``lecun_normal``    :math:`N(0, 1/n_{in})`
``lecun_uniform``   :math:`U(-a, a)`, :math:`a = \sqrt{3/n_{in}}`
==================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._tree import resolve_xp

__all__ = [
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal",
    "normal",
    "uniform",
    "zeros",
    "ones",
    "constant",
    "generator",
    "fans",
]

# What an initialiser takes for ``rng``: a generator, an integer seed, or None (unseeded).
Seed = np.random.Generator | int | None
# A weight's shape: one length or several.
Shape = int | Sequence[int]
# ``init(rng, shape, dtype=float32, xp=None)`` -> an array of ``shape``.
Initializer = Callable[..., Any]


def generator(rng: Seed = None) -> np.random.Generator:
    """``rng`` as a ``numpy.random.Generator`` (an int seeds a new one; None: unseeded)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator or an integer seed, got {type(rng).__name__}"
    )


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (inputs on the second-to-last axis)."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    field = math.prod(shape[:-2])
    return shape[-2] * field, shape[-1] * field


def _finish(values, dtype, xp):
    mod = resolve_xp(xp)
    out = np.asarray(values, dtype=dtype)
    return out if mod is np else mod.asarray(out)


def _shape(shape):
    return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)


def _uniform_limit(limit_of):
    def init(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
        s = _shape(shape)
        a = limit_of(*fans(s))
        return _finish(generator(rng).uniform(-a, a, size=s), dtype, xp)

    return init


def _normal_std(std_of):
    def init(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
        s = _shape(shape)
        return _finish(generator(rng).normal(0.0, std_of(*fans(s)), size=s), dtype, xp)

    return init


def _doc(f, name, text):
    f.__name__ = f.__qualname__ = name
    f.__doc__ = text + "\n\n``init(rng, shape, dtype=float32, xp=None)``."
    return f


glorot_uniform = _doc(
    _uniform_limit(lambda fi, fo: math.sqrt(6.0 / (fi + fo))),
    "glorot_uniform",
    r"Glorot/Xavier uniform: :math:`U(-a, a)`, :math:`a = \sqrt{6/(n_{in}+n_{out})}`.",
)
glorot_normal = _doc(
    _normal_std(lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
    "glorot_normal",
    r"Glorot/Xavier normal: :math:`N(0, \sigma^2)`, :math:`\sigma^2 = 2/(n_{in}+n_{out})`.",
)
he_uniform = _doc(
    _uniform_limit(lambda fi, fo: math.sqrt(6.0 / fi)),
    "he_uniform",
    r"He/Kaiming uniform (ReLU): :math:`U(-a, a)`, :math:`a = \sqrt{6/n_{in}}`.",
)
he_normal = _doc(
    _normal_std(lambda fi, fo: math.sqrt(2.0 / fi)),
    "he_normal",
    r"He/Kaiming normal (ReLU): :math:`N(0, 2/n_{in})`.",
)
lecun_uniform = _doc(
    _uniform_limit(lambda fi, fo: math.sqrt(3.0 / fi)),
    "lecun_uniform",
    r"LeCun uniform: :math:`U(-a, a)`, :math:`a = \sqrt{3/n_{in}}`.",
)
lecun_normal = _doc(
    _normal_std(lambda fi, fo: math.sqrt(1.0 / fi)),
    "lecun_normal",
    r"LeCun normal: :math:`N(0, 1/n_{in})`.",
)
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def normal(stddev: float = 1e-2) -> Initializer:
    r"""An initialiser drawing :math:`N(0, \text{stddev}^2)`."""

    def init(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
        s = _shape(shape)
        return _finish(generator(rng).normal(0.0, stddev, size=s), dtype, xp)

    return _doc(init, "normal", rf"Normal :math:`N(0, {stddev}^2)`.")


def uniform(scale: float = 1e-2) -> Initializer:
    r"""An initialiser drawing :math:`U(-\text{scale}, \text{scale})`."""

    def init(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
        s = _shape(shape)
        return _finish(generator(rng).uniform(-scale, scale, size=s), dtype, xp)

    return _doc(init, "uniform", rf"Uniform :math:`U(-{scale}, {scale})`.")


def constant(value: float) -> Initializer:
    """An initialiser filling with ``value`` (``rng`` is ignored)."""

    def init(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
        return _finish(np.full(_shape(shape), value), dtype, xp)

    return _doc(init, "constant", f"Constant {value}.")


def zeros(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
    """Zeros (``rng`` is ignored); the usual bias initialiser."""
    return _finish(np.zeros(_shape(shape)), dtype, xp)


def ones(rng: Seed, shape: Shape, dtype: Any = np.float32, xp: Any = None) -> Any:
    """Ones (``rng`` is ignored)."""
    return _finish(np.ones(_shape(shape)), dtype, xp)
