r"""adgraph.scipy.interpolate: ``RegularGridInterpolator`` (``'linear'`` and
``'nearest'``, as jax.scipy.interpolate has it) with SciPy's values, bounds handling
and extrapolation.

Multilinear interpolation is a weighted sum of the :math:`2^d` corners of the grid cell
holding each point, with weights products of :math:`t_k = (x_k - g_k[i])/(g_k[i+1] -
g_k[i])`: linear in ``values``, piecewise linear in the query points (their derivative is
the slope of the cell) and differentiable in the grid coordinates too. The cell of each
point is found by ``searchsorted`` (no derivative), an operation of the computation: a
compiled (``jit``) or batched (``vmap``) interpolation finds the cells of each new
point. The bounds error reads the concrete points, when the interpolation runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as _np  # grid checks, strides and the bounds error message

from .. import numpy as anp
from ..core.trace import Tracer

__all__ = ["RegularGridInterpolator"]


def _concrete(x):
    return _np.asarray(x.primal_value() if isinstance(x, Tracer) else x)


def _as_float(x):
    if isinstance(x, Tracer):
        return x
    x = anp.asarray(x)
    return x if x.dtype.kind in "fc" else anp.asarray(x, dtype=_np.float64)


class RegularGridInterpolator:
    """Interpolation on a rectilinear grid in any number of dimensions.

    Parameters
    ----------
    points : tuple of 1-D arrays, the strictly ascending (or descending) grid
        coordinates of each dimension.
    values : array of shape ``(len(points[0]), ..., len(points[d-1]), ...)``; trailing
        axes are carried along (vector-valued data).
    method : ``'linear'`` or ``'nearest'``.
    bounds_error : raise ValueError for a point outside the grid (default True).
    fill_value : the value outside the grid when ``bounds_error=False``; None
        extrapolates linearly from the edge cells.
    """

    def __init__(
        self,
        points: Sequence[Any],
        values: Any,
        method: str = "linear",
        bounds_error: bool = True,
        fill_value: Any = _np.nan,
    ) -> None:
        if method not in ("linear", "nearest"):
            raise ValueError(
                f"RegularGridInterpolator: method {method!r} is not supported; use 'linear' or "
                "'nearest' (as jax.scipy.interpolate)"
            )
        self.method = method
        self.bounds_error = bool(bounds_error)
        values = _as_float(values)
        if len(points) > len(values.shape):
            raise ValueError(
                f"RegularGridInterpolator: there are {len(points)} point arrays, but values has {len(values.shape)} dimensions"
            )
        grid = []
        for k, p in enumerate(points):
            p = _as_float(p)
            pv = _concrete(p)  # (a batch of them under vmap: checked along the last axis)
            if len(p.shape) != 1:
                raise ValueError(
                    f"RegularGridInterpolator: the points in dimension {k} must be 1-dimensional"
                )
            if p.shape[0] != values.shape[k]:
                raise ValueError(
                    f"RegularGridInterpolator: there are {p.shape[0]} points and {values.shape[k]} values in dimension {k}"
                )
            d = _np.diff(pv, axis=-1)
            if _np.all(d > 0):
                desc = False
            elif _np.all(d < 0):
                desc = True
            else:
                raise ValueError(
                    f"RegularGridInterpolator: the points in dimension {k} must be strictly ascending or descending"
                )
            if desc:  # SciPy flips descending grids (and the values with them)
                p = anp.flip(p)
                values = anp.flip(values, axis=k)
            grid.append(p)
        if fill_value is not None:
            fv = _concrete(fill_value)
            if values.dtype.kind != "c" and _np.iscomplexobj(fv):
                raise ValueError("RegularGridInterpolator: fill_value must be real for real values")
        self.fill_value = fill_value
        self.grid = tuple(grid)
        self.values = values

    def __call__(self, xi: Any, method: str | None = None) -> Any:
        """Interpolated values at ``xi`` (shape ``(..., d)``, or a tuple of ``d``
        broadcastable coordinate arrays)."""
        method = self.method if method is None else method
        if method not in ("linear", "nearest"):
            raise ValueError(
                f"RegularGridInterpolator: method {method!r} is not supported; use 'linear' or 'nearest'"
            )
        d = len(self.grid)
        if isinstance(xi, tuple):
            xi = anp.stack(anp.broadcast_arrays(*[_as_float(x) for x in xi]), axis=-1)
        xi = _as_float(xi)
        if len(xi.shape) == 0 or xi.shape[-1] != d:
            if d == 1 and len(xi.shape) <= 1:
                xi = xi[..., None]
            else:
                raise ValueError(
                    f"RegularGridInterpolator: the requested sample points xi have dimension {xi.shape[-1] if xi.shape else 0}, but this interpolator has dimension {d}"
                )
        lead = xi.shape[:-1]
        xs = anp.reshape(xi, (-1, d))
        # the cells and the outside mask are computed with adgraph's operations (no
        # derivative), so a compiled function recomputes them for new points
        outside = None
        cells = []
        for k, g in enumerate(self.grid):
            x = xs[:, k]
            out_k = anp.logical_or(anp.logical_or(x < g[0], x > g[-1]), anp.isnan(x))
            outside = out_k if outside is None else anp.logical_or(outside, out_k)
            i = anp.searchsorted(g, x, side="right") - 1
            cells.append(anp.clip(i, 0, max(g.shape[0] - 2, 0)))
        if self.bounds_error:
            ov = _concrete(outside)
            if _np.any(ov):
                k = int(_np.argmax(ov))
                raise ValueError(
                    f"RegularGridInterpolator: one of the requested xi is out of bounds (point "
                    f"{k}: {_concrete(xs)[k].tolist()}); pass bounds_error=False to fill or "
                    "extrapolate"
                )
        shape = [g.shape[0] for g in self.grid]
        flat_v = anp.reshape(self.values, (int(_np.prod(shape)), -1))
        strides = _np.cumprod([1] + shape[::-1])[:-1][::-1]

        def gather(idx):
            flat = None
            for i, st in zip(idx, strides):
                flat = i * int(st) if flat is None else flat + i * int(st)
            return anp.take(flat_v, flat, axis=0)  # (m, prod(trailing))

        if method == "nearest":
            idx = []
            for k, g in enumerate(self.grid):
                i = cells[k]
                if g.shape[0] == 1:
                    idx.append(i)
                    continue
                lo, hi = anp.take(g, i), anp.take(g, i + 1)
                t = (xs[:, k] - lo) / (hi - lo)
                idx.append(anp.where(t <= 0.5, i, i + 1))
            out = gather(idx)
        else:
            weights = []
            for k, g in enumerate(self.grid):
                i = cells[k]
                if g.shape[0] == 1:
                    weights.append([(i, None)])
                    continue
                lo, hi = anp.take(g, i), anp.take(g, i + 1)
                t = (xs[:, k] - lo) / (hi - lo)
                weights.append([(i, 1 - t), (i + 1, t)])
            out = None
            for combo in itertools.product(*weights):
                term = gather([c[0] for c in combo])
                w = None
                for _, wt in combo:
                    if wt is not None:
                        w = wt if w is None else w * wt
                if w is not None:
                    term = term * w[:, None]
                out = term if out is None else out + term
        if self.fill_value is not None and outside is not None:
            out = anp.where(outside[:, None], self.fill_value, out)
        out = anp.reshape(out, (out.shape[0],) + tuple(self.values.shape[d:]))
        return anp.reshape(out, lead + tuple(self.values.shape[d:]))
