r"""adgraph.scipy.ndimage: ``map_coordinates`` of order 0 (nearest) and 1 (linear), as
jax.scipy.ndimage has it, with SciPy's values and boundary modes.

The value at a coordinate is a weighted sum of gathered input entries: for order 1, along
each axis the neighbours :math:`\lfloor c\rfloor` and :math:`\lfloor c\rfloor + 1` with
weights :math:`1 - f` and :math:`f` (:math:`f` the fractional part). It is linear in
``input`` and piecewise linear in the coordinates, so both get derivatives (the
coordinates' derivative is the slope of the cell they lie in; order 0 is piecewise
constant in them: zero). The cells and boundary indices are computed with adgraph's
(non-differentiable) integer operations, so ``jit`` and ``vmap`` recompute them for
each new set of coordinates.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as _np  # dtypes and strides

from .. import numpy as anp
from ..core.trace import Tracer

__all__ = ["map_coordinates"]

_MODES = (
    "constant",
    "grid-constant",
    "nearest",
    "wrap",
    "grid-wrap",
    "mirror",
    "reflect",
    "grid-mirror",
)


def _map_index(i, n, mode):
    """Integer indices ``i`` mapped into ``[0, n)`` by the boundary mode, and a mask of
    those inside (only the ``constant`` modes leave any outside). Computed with
    adgraph's operations, so a compiled function recomputes them for new coordinates."""
    if mode in ("constant", "grid-constant"):
        inside = anp.logical_and(i >= 0, i < n)
        return anp.clip(i, 0, n - 1), inside
    if mode in ("nearest", "wrap") or n == 1:  # wrap: the coordinate is mapped already
        return anp.clip(i, 0, n - 1), None
    if mode == "grid-wrap":
        return anp.mod(i, n), None
    if mode in ("reflect", "grid-mirror"):  # d c b a | a b c d | d c b a
        j = anp.mod(i, 2 * n)
        return anp.where(j >= n, 2 * n - 1 - j, j), None
    # mirror: d c b | a b c d | c b a
    j = anp.mod(i, 2 * n - 2)
    return anp.where(j >= n, 2 * n - 2 - j, j), None


def _map_coordinate(c, n, mode):
    """SciPy maps an outside coordinate into the domain first for the periodic and
    mirrored modes (so linear interpolation stays between samples of the input)."""
    if mode == "wrap" and n > 1:
        period = n - 1
        return anp.where((c < 0) | (c > n - 1), c - period * anp.floor(c / period), c)
    if mode == "mirror" and n > 1:
        period = 2 * (n - 1)
        r = c - period * anp.floor(c / period)
        return anp.where((c < 0) | (c > n - 1), anp.where(r > n - 1, period - r, r), c)
    if mode in ("reflect", "grid-mirror"):
        period = 2 * n
        r = c - period * anp.floor((c + 0.5) / period)  # in [-0.5, 2n - 0.5)
        r = anp.where(r > n - 0.5, period - 1 - r, r)
        return anp.where((c < -0.5) | (c > n - 0.5), r, c)
    return c


def map_coordinates(
    input: Any,
    coordinates: Any,
    order: int,
    mode: str = "constant",
    cval: Any = 0.0,
    prefilter: bool = True,
) -> Any:
    r"""Values of ``input`` at ``coordinates`` (shape ``(input.ndim, ...)``) by nearest
    (``order=0``) or linear (``order=1``) interpolation, SciPy's ``mode`` at the
    boundary (``'constant'`` takes ``cval`` outside ``[0, n - 1]``, ``'grid-constant'``
    interpolates towards ``cval``; ``'nearest'``, ``'wrap'``, ``'grid-wrap'``,
    ``'mirror'``, ``'reflect'``, ``'grid-mirror'``). Differentiable in ``input``, in the
    coordinates (order 1) and in ``cval``. ``prefilter`` has no effect at these orders."""
    if order not in (0, 1):
        raise ValueError(
            f"scipy.ndimage.map_coordinates: order {order!r} is not supported; use order=0 "
            "(nearest) or order=1 (linear), as jax.scipy.ndimage"
        )
    if mode not in _MODES:
        raise ValueError(
            f"scipy.ndimage.map_coordinates: mode must be one of {_MODES}, got {mode!r}"
        )
    x = input if isinstance(input, Tracer) else anp.asarray(input)
    nd = len(x.shape)
    if isinstance(coordinates, (list, tuple)) and any(isinstance(c, Tracer) for c in coordinates):
        coords = list(coordinates)
    else:
        coordinates = coordinates if isinstance(coordinates, Tracer) else anp.asarray(coordinates)
        coords = (
            [coordinates[i] for i in range(coordinates.shape[0])] if len(coordinates.shape) else []
        )
    if len(coords) != nd:
        raise ValueError(
            f"scipy.ndimage.map_coordinates: coordinates must give one array per input "
            f"dimension ({nd}), got {len(coords)}"
        )
    if nd == 0:
        raise ValueError("scipy.ndimage.map_coordinates: input must have at least one dimension")
    coords = [c if isinstance(c, Tracer) else anp.asarray(c, dtype=_np.float64) for c in coords]
    per_axis = []  # per axis: list of (index array, weight or None, inside mask or None)
    for c, n in zip(coords, x.shape):
        c = _map_coordinate(c, n, mode)
        if order == 0:
            i = anp.astype(anp.floor(c + 0.5), _np.intp)  # halves round up, as SciPy
            idx, inside = _map_index(i, n, mode)
            if mode == "constant":  # cval outside [0, n - 1]
                inside = anp.logical_and(c >= 0, c <= n - 1)
            per_axis.append([(idx, None, inside)])
            continue
        fl = anp.floor(c)
        lo = anp.astype(fl, _np.intp)
        f = c - fl  # the fractional part, differentiable in c
        entries = []
        for shift, w in ((0, 1 - f), (1, f)):
            idx, inside = _map_index(lo + shift, n, mode)
            entries.append((idx, w, None if mode == "constant" else inside))
        if mode == "constant":  # cval outside [0, n - 1], no interpolation towards it
            entries.append((None, None, anp.logical_and(c >= 0, c <= n - 1)))
        per_axis.append(entries)
    strides = _np.cumprod((1,) + tuple(x.shape[::-1]))[:-1][::-1]
    flat_x = anp.reshape(x, (-1,))
    out = None
    for combo in itertools.product(*per_axis):
        if any(e[0] is None for e in combo):
            continue
        flat = None
        for e, st in zip(combo, strides):
            term_i = e[0] * int(st)
            flat = term_i if flat is None else flat + term_i
        term = anp.take(flat_x, flat)
        w = None
        inside = None
        for _, wt, ins in combo:
            if wt is not None:
                w = wt if w is None else w * wt
            if ins is not None:
                inside = ins if inside is None else anp.logical_and(inside, ins)
        if inside is not None:
            term = anp.where(inside, term, cval)
        if w is not None:
            term = term * w
        out = term if out is None else out + term
    valid_all = None
    for entries in per_axis:
        for e in entries:
            if e[0] is None:
                valid_all = e[2] if valid_all is None else anp.logical_and(valid_all, e[2])
    if valid_all is not None:
        out = anp.where(valid_all, out, cval)
    return out
