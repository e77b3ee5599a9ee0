"""Quadrature of sampled values: ``trapezoid``, ``cumulative_trapezoid``, ``simpson``.

Written with adgraph.numpy's operations, so each is differentiable with respect to both
the samples ``y`` and the abscissae ``x`` by every transformation. SciPy's signatures and
numbers (``simpson`` with an even number of samples integrates the last interval with the
parabola through the last three samples, as SciPy 1.11 and later do).
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ... import numpy as anp
from ...lax.loops import shape_dtype

__all__ = ["trapezoid", "cumulative_trapezoid", "simpson"]


def _prepare(what: str, y: Any, x: Any, dx: Any, axis: int):
    """``y`` with the integration axis last, and the spacings along it (an array
    broadcasting against ``y``, or the scalar ``dx``)."""
    s, _ = shape_dtype(y)
    if not s:
        raise ValueError(f"{what}: y must have at least one axis, got a scalar")
    if not isinstance(axis, (int, _np.integer)) or not -len(s) <= axis < len(s):
        raise ValueError(f"{what}: axis {axis!r} is out of range for y of shape {list(s)}")
    y = anp.moveaxis(y, axis, -1)
    n = s[axis]
    if x is None:
        ds, dd = shape_dtype(dx)
        if isinstance(dx, bool) or ds != () or dd.kind not in "iuf":
            raise TypeError(
                f"{what}: dx must be a real scalar (the spacing of the samples), got "
                f"{type(dx).__name__} {dx!r:.40}"
            )
        return y, n, dx
    xs, _ = shape_dtype(x)
    if len(xs) == 1:
        if xs[0] != n:
            raise ValueError(
                f"{what}: x has {xs[0]} samples but y has {n} along axis {axis}; give one "
                "abscissa per sample"
            )
        return y, n, anp.diff(x)
    if tuple(xs) != tuple(s):
        raise ValueError(
            f"{what}: x must be 1-D with y's length along axis, or shaped like y "
            f"{list(s)}; got {list(xs)}"
        )
    return y, n, anp.diff(anp.moveaxis(x, axis, -1), axis=-1)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """The trapezoidal rule along ``axis`` (``scipy.integrate.trapezoid``): samples ``y``
    at abscissae ``x`` (1-D, or shaped like ``y``), or spaced ``dx`` apart."""
    y, n, d = _prepare("trapezoid", y, x, dx, axis)
    if n < 2:
        return anp.sum(y, axis=-1) * 0.0
    return anp.sum(d * (y[..., 1:] + y[..., :-1]), axis=-1) * 0.5


def cumulative_trapezoid(
    y: Any, x: Any = None, dx: float = 1.0, axis: int = -1, initial: Any = None
) -> Any:
    """The running trapezoidal integral along ``axis``
    (``scipy.integrate.cumulative_trapezoid``): one value fewer than ``y`` has along
    ``axis``, or as many with ``initial=0`` (the only value SciPy accepts) placed first."""
    if initial is not None and not (_np.ndim(initial) == 0 and initial == 0):
        raise ValueError(
            "cumulative_trapezoid: initial must be None or 0 (SciPy's rule); add a "
            "constant to the result instead"
        )
    ax = axis
    y, n, d = _prepare("cumulative_trapezoid", y, x, dx, axis)
    parts = anp.cumsum(d * (y[..., 1:] + y[..., :-1]) * 0.5, axis=-1)
    if initial is not None:
        parts = anp.concatenate([anp.zeros_like(y[..., :1]), parts], axis=-1)
    return anp.moveaxis(parts, -1, ax)


def simpson(y: Any, x: Any = None, *, dx: float = 1.0, axis: int = -1) -> Any:
    """Simpson's rule along ``axis`` (``scipy.integrate.simpson``), for uneven spacing too:
    the parabola through each pair of intervals; with an even number of samples the last
    interval is integrated with the parabola through the last three samples."""
    y, n, d = _prepare("simpson", y, x, dx, axis)
    if n == 0:
        raise ValueError(f"simpson: y has no samples along axis {axis}; give at least one")
    if n == 1:
        return anp.sum(y, axis=-1) * 0.0
    if n == 2:
        return _trap_two(y, d)
    if _np.ndim(d) == 0 and not hasattr(d, "shape"):
        d = anp.full((n - 1,), d, dtype=float)
    odd = n % 2 == 0  # an odd number of intervals: the last one on its own
    m = n - 1 if odd else n
    h0, h1 = d[..., 0 : m - 1 : 2], d[..., 1 : m - 1 : 2]
    y0, y1, y2 = y[..., 0 : m - 2 : 2], y[..., 1 : m - 1 : 2], y[..., 2:m:2]
    hs = h0 + h1
    # a zero-width interval (dx=0, or repeated abscissae) gives a quotient 0, as in SciPy,
    # instead of 0/0 = nan
    total = anp.sum(
        hs
        / 6.0
        * (y0 * (2.0 - _sdiv(h1, h0)) + y1 * _sdiv(hs * hs, h0 * h1) + y2 * (2.0 - _sdiv(h0, h1))),
        axis=-1,
    )
    if odd:
        a, b = d[..., -2], d[..., -1]
        alpha = _sdiv(2 * b * b + 3 * a * b, 6 * (a + b))
        beta = _sdiv(b * b + 3 * a * b, 6 * a)
        eta = _sdiv(b * b * b, 6 * a * (a + b))
        total = total + alpha * y[..., -1] + beta * y[..., -2] - eta * y[..., -3]
    return total


def _sdiv(num, den):
    """``num / den``, 0 where ``den`` is 0 (the inner where keeps the unused branch's
    derivative finite)."""
    nz = den != 0
    return anp.where(nz, num / anp.where(nz, den, 1.0), 0.0)


def _trap_two(y, d):
    d0 = d if _np.ndim(d) == 0 and not hasattr(d, "shape") else d[..., 0]
    return (y[..., 0] + y[..., 1]) * d0 * 0.5
