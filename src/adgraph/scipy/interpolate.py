r"""adgraph.scipy.interpolate: ``RegularGridInterpolator`` (``'linear'`` and
``'nearest'``, as jax.scipy.interpolate has it) with SciPy's values, bounds handling
and extrapolation.

Multilinear interpolation is a weighted sum of the :math:`2^d` corners of the grid cell
holding each point, with weights products of :math:`t_k = (x_k - g_k[i])/(g_k[i+1] -
g_k[i])`: linear in ``values``, piecewise linear in the query points (their derivative is
the slope of the cell) and differentiable in the grid coordinates too. The cell of each
point is found on the concrete values (a search: no derivative).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as _np  # cell search on concrete coordinates

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
        self._descending = []
        for k, p in enumerate(points):
            p = _as_float(p)
            pv = _concrete(p)
            if pv.ndim != 1:
                raise ValueError(
                    f"RegularGridInterpolator: the points in dimension {k} must be 1-dimensional"
                )
            if pv.shape[0] != values.shape[k]:
                raise ValueError(
                    f"RegularGridInterpolator: there are {pv.shape[0]} points and {values.shape[k]} values in dimension {k}"
                )
            d = _np.diff(pv)
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
        xv = _concrete(xs)
        outside = _np.zeros(xv.shape[0], dtype=bool)
        cells = []
        for k, g in enumerate(self.grid):
            gv = _concrete(g)
            x = xv[:, k]
            out_k = (x < gv[0]) | (x > gv[-1])
            outside |= out_k | _np.isnan(x)
            i = _np.searchsorted(gv, x, side="right") - 1
            i = _np.clip(i, 0, max(gv.shape[0] - 2, 0))
            cells.append(i)
        if self.bounds_error and _np.any(outside):
            k = int(_np.argmax(outside))
            raise ValueError(
                f"RegularGridInterpolator: one of the requested xi is out of bounds (point {k}: {xv[k].tolist()}); pass bounds_error=False to fill or extrapolate"
            )
        if method == "nearest":
            idx = []
            for k, g in enumerate(self.grid):
                gv = _concrete(g)
                i = cells[k]
                if gv.shape[0] == 1:
                    idx.append(_np.zeros_like(i))
                    continue
                t = (xv[:, k] - gv[i]) / (gv[i + 1] - gv[i])
                idx.append(_np.where(t <= 0.5, i, i + 1))
            out = self.values[tuple(idx)]
        else:
            weights = []
            for k, g in enumerate(self.grid):
                i = cells[k]
                n = _concrete(g).shape[0]
                if n == 1:
                    weights.append([(i, None)])
                    continue
                lo, hi = g[i], g[i + 1]
                t = (xs[:, k] - lo) / (hi - lo)
                weights.append([(i, 1 - t), (i + 1, t)])
            out = None
            trail = len(self.values.shape) - d
            for combo in itertools.product(*weights):
                term = self.values[tuple(c[0] for c in combo)]
                w = None
                for _, wt in combo:
                    if wt is not None:
                        w = wt if w is None else w * wt
                if w is not None:
                    term = term * anp.reshape(w, w.shape + (1,) * trail)
                out = term if out is None else out + term
        if self.fill_value is not None and _np.any(outside):
            trail = len(self.values.shape) - d
            mask = outside.reshape(outside.shape + (1,) * trail)
            out = anp.where(mask, self.fill_value, out)
        return anp.reshape(out, lead + tuple(self.values.shape[d:]))
