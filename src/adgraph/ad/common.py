"""Helpers shared by the transformations: fitting derivatives to their primal's type."""

from __future__ import annotations

import numpy as _np

from ..core import basic

__all__ = ["fit_to", "fit_for_rule", "is_float_dtype", "takes_symbolic_zeros", "SYMBOLIC_ZEROS"]

_INEXACT_KINDS = frozenset("fc")

# Multi-output primitives whose reverse rules take None as the cotangent of an output the
# function did not use (a symbolic zero). The sweep hands every other multi-output rule a
# materialised zero array there; a rule whose coefficients can be infinite (eigh's and
# svd's eigenvalue gaps) must skip the term instead, as 0 * inf is nan.
SYMBOLIC_ZEROS: set = set()


def takes_symbolic_zeros(prim):
    """Declare that ``prim``'s reverse rule takes None for an unused output's cotangent
    (and skips that output's terms); returns ``prim``."""
    SYMBOLIC_ZEROS.add(prim)
    return prim


def is_float_dtype(dtype) -> bool:
    """True for floating and complex dtypes, the ones that carry derivatives."""
    return _np.dtype(dtype).kind in _INEXACT_KINDS


def _sum_down(d, shape, like_shape):
    """``sum_to_shape`` for a plain NumPy array (the bias of ``x @ W + b``): the same sum
    over the same axes (so the same numbers), without dispatching two primitives. A shape
    that does not broadcast to ``like_shape`` goes to ``sum_to_shape``, which reports it."""
    lead = len(shape) - len(like_shape)
    if lead < 0:
        return basic.sum_to_shape(d, like_shape)
    axes = list(range(lead))
    for i, a in enumerate(like_shape):
        b = shape[i + lead]
        if a == b:
            continue
        if a != 1:
            return basic.sum_to_shape(d, like_shape)
        axes.append(i + lead)
    d = _np.sum(d, axis=tuple(axes), keepdims=True)
    return d.reshape(like_shape) if d.shape != like_shape else d


def fit_to(d, like_shape, like_dtype):
    """Make derivative ``d`` have the shape and dtype of its primal.

    Broadcasting in the forward computation means a tangent may come out smaller than its
    primal (broadcast it up) and a cotangent larger than its argument (sum it down). A
    cotangent for a real primal that came out complex keeps its real part (the transpose of
    the inclusion R -> C); one that came out wider is cast back, so float32 stays float32.
    """
    shape = getattr(d, "shape", ())
    if shape != like_shape:
        if len(shape) > len(like_shape) or any(
            b != a and b != 1 for a, b in zip(like_shape[::-1], shape[::-1])
        ):
            if type(d) is _np.ndarray:
                d = _sum_down(d, shape, like_shape)
            else:
                d = basic.sum_to_shape(d, like_shape)
            shape = getattr(d, "shape", ())
        if shape != like_shape:
            d = basic.broadcast_to(d, like_shape)
    dt = getattr(d, "dtype", None)
    if dt is None or dt != like_dtype:
        if type(d) is _np.ndarray and d.ndim and d.size > 1 and not any(d.strides):
            # One value broadcast (the cotangent of a sum, say): cast that value and
            # broadcast it again, rather than materialise the whole array in the new dtype.
            v = d[(0,) * d.ndim]
            if dt.kind == "c" and like_dtype.kind != "c":
                v = v.real
            return _np.broadcast_to(_np.asarray(v, dtype=like_dtype), d.shape)
        if dt is not None and dt.kind == "c" and like_dtype.kind != "c":
            d = basic.real(d)
        d = basic.astype(d, like_dtype)
    return d


def fit_for_rule(d, shape, dtype, what):
    """:func:`fit_to`, with an error naming what produced ``d`` when it cannot be fitted
    (``what()``: e.g. "the cotangent the reverse rule of primitive 'sin' gave argument 0";
    called only then)."""
    if getattr(d, "shape", None) == shape and getattr(d, "dtype", None) == dtype:
        return d
    try:
        return fit_to(d, shape, dtype)
    except ValueError as e:
        raise ValueError(
            f"{what()} has shape {tuple(getattr(d, 'shape', ()))}, which does not fit the "
            f"value's shape {tuple(shape)}"
        ) from e


def tangent_rule(prim, rule, i):
    """The forward rule of argument ``i`` of ``prim``, whose tangent is not zero.

    A ``None`` entry (or none at all) means the primitive has no forward rule for that
    argument: a traced float argument there is refused, as reverse mode refuses it, never
    silently given a zero derivative.
    """
    r = rule[i] if i < len(rule) else None
    if r is None:
        raise prim.missing(f"forward-mode (JVP) for argument {i}")
    return r
