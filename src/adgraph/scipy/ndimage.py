r"""adgraph.scipy.ndimage: ``map_coordinates`` of order 0 (nearest) and 1 (linear), as
jax.scipy.ndimage has it, and the linear filters (correlate1d, convolve1d, correlate,
convolve, gaussian_filter1d, gaussian_filter, uniform_filter1d, uniform_filter) and the
geometric transforms of orders 0 and 1 (shift, zoom, affine_transform), with SciPy's
values and boundary modes.

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
from ._util import float_array

__all__ = [
    "map_coordinates",
    "correlate1d",
    "convolve1d",
    "correlate",
    "convolve",
    "gaussian_filter1d",
    "gaussian_filter",
    "uniform_filter1d",
    "uniform_filter",
    "affine_transform",
    "shift",
    "zoom",
]

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


def _array(v, dtype=None):
    """``v`` as an adgraph array (a traced value as it is)."""
    if isinstance(v, Tracer):
        return v
    return anp.asarray(v) if dtype is None else anp.asarray(v, dtype=dtype)


def _refuse_output(op, output):
    if output is not None:
        raise ValueError(f"scipy.ndimage.{op}: output= is not supported (arrays are immutable)")


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
    x = _array(input)
    nd = len(x.shape)
    if isinstance(coordinates, (list, tuple)) and any(isinstance(c, Tracer) for c in coordinates):
        coords = list(coordinates)
    else:
        coordinates = _array(coordinates)
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
    coords = [_array(c, _np.float64) for c in coords]
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


# ------------------------------------------------------------------ filters
# SciPy's boundary modes as np.pad modes (the extension of the input beyond its edges)
_PAD = {
    "reflect": "symmetric",
    "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


def _correlation_inputs(op, input, weights, output, mode):
    """A correlation's input (floating point) and weights, after refusing ``output=`` and
    an unknown ``mode``."""
    _refuse_output(op, output)
    if mode not in _PAD:
        raise ValueError(f"scipy.ndimage.{op}: mode must be one of {tuple(_PAD)}, got {mode!r}")
    return float_array(input), _weights(weights)


def _pad_axis(x, axis, before, after, mode, cval):
    if before == 0 and after == 0:
        return x
    widths = [(0, 0)] * len(x.shape)
    widths[axis] = (before, after)
    if _PAD[mode] == "constant":
        if isinstance(cval, Tracer) or cval != 0:
            return anp.pad(x - cval, widths) + cval
        return anp.pad(x, widths)
    if x.shape[axis] == 1 and _PAD[mode] == "reflect":
        return anp.pad(x, widths, mode="edge")
    return anp.pad(x, widths, mode=_PAD[mode])


def _correlate_nd(x, weights, axes, mode, cval, origins):
    """sum_j w[j] x_ext[i + j - center] over the weight entries, along ``axes``."""
    wshape = weights.shape
    centers = []
    for ax, size, origin in zip(axes, wshape, origins):
        c = size // 2 + origin
        if not 0 <= c < size:
            raise ValueError(f"scipy.ndimage: invalid origin {origin} for a filter of size {size}")
        centers.append(c)
        x = _pad_axis(x, ax, c, size - 1 - c, mode, cval)
    out_shape = list(x.shape)
    for ax, size in zip(axes, wshape):
        out_shape[ax] -= size - 1
    out = None
    wv = weights
    for j in itertools.product(*(range(s) for s in wshape)):
        w = wv[j]
        if not isinstance(w, Tracer) and w == 0:
            continue
        sl = [slice(None)] * len(x.shape)
        for ax, jj, n in zip(axes, j, (out_shape[a] for a in axes)):
            sl[ax] = slice(jj, jj + n)
        term = w * x[tuple(sl)]
        out = term if out is None else out + term
    if out is None:
        out = anp.zeros(tuple(out_shape), dtype=x.dtype)
    return out


def _origins(origin, n):
    if isinstance(origin, (int, _np.integer)):
        return [int(origin)] * n
    origin = [int(o) for o in origin]
    if len(origin) != n:
        raise ValueError(
            f"scipy.ndimage: origin must have one entry per axis ({n}), got {len(origin)}"
        )
    return origin


def _convolution_origins(wshape, origins):
    """The correlation origins that make a correlation with the flipped weights SciPy's
    convolution: each origin negated, and shifted by one along even-sized axes."""
    return [-int(o) - (0 if n & 1 else 1) for n, o in zip(wshape, origins)]


def _weights(w):
    return (
        w
        if isinstance(w, Tracer)
        else anp.asarray(w, dtype=_np.result_type(_np.asarray(w).dtype, _np.float64))
    )


def correlate1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Any:
    r"""One-dimensional correlation along ``axis``:
    :math:`y_i = \sum_j w_j\, x_{i + j - \lfloor L/2\rfloor - \mathrm{origin}}` with SciPy's
    boundary ``mode``; linear in ``input``, ``weights`` and ``cval``."""
    x, w = _correlation_inputs("correlate1d", input, weights, output, mode)
    if len(w.shape) != 1 or w.shape[0] < 1:
        raise ValueError("scipy.ndimage.correlate1d: weights must be a non-empty 1-D array")
    axis = int(axis) % len(x.shape)
    return _correlate_nd(x, w, [axis], mode, cval, [int(origin)])


def convolve1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Any:
    """One-dimensional convolution along ``axis`` (:func:`correlate1d` with the reversed
    weights, SciPy's origin convention)."""
    w = _weights(weights)
    if len(w.shape) != 1:
        raise ValueError("scipy.ndimage.convolve1d: weights must be 1-D")
    (origin,) = _convolution_origins(w.shape, [origin])
    return correlate1d(input, anp.flip(w), axis, output, mode, cval, origin)


def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
) -> Any:
    """N-dimensional correlation with SciPy's boundary ``mode`` (``weights`` with the
    input's number of dimensions); linear in ``input``, ``weights`` and ``cval``."""
    x, w = _correlation_inputs("correlate", input, weights, output, mode)
    if len(w.shape) != len(x.shape):
        raise ValueError(
            f"scipy.ndimage.correlate: weights must have the input's {len(x.shape)} dimensions, got {len(w.shape)}"
        )
    axes = list(range(len(x.shape)))
    return _correlate_nd(x, w, axes, mode, cval, _origins(origin, len(axes)))


def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
) -> Any:
    """N-dimensional convolution (:func:`correlate` with the reversed weights, SciPy's
    origin convention)."""
    w = _weights(weights)
    nd = len(w.shape)
    origins = _convolution_origins(w.shape, _origins(origin, nd))
    flipped = anp.flip(w, axis=tuple(range(nd))) if nd else w
    return correlate(input, flipped, output, mode, cval, origins)


def _scipy_ndimage(op):
    try:
        import scipy.ndimage as nd
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.ndimage.{op} takes its kernel from SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return nd


def _kernel_of(filter1d, radius_hint, **kw):
    """The correlation weights of a SciPy 1-D filter, read off its response to an
    impulse (so they are SciPy's to the last bit)."""
    n = 2 * radius_hint + 1
    delta = _np.zeros(n)
    delta[radius_hint] = 1.0
    return filter1d(delta, mode="constant", **kw)[::-1]


def _axes_of(op, axes, nd):
    if axes is None:
        return list(range(nd))
    axes = [int(a) % nd for a in ([axes] if isinstance(axes, (int, _np.integer)) else axes)]
    if len(set(axes)) != len(axes):
        raise ValueError(f"scipy.ndimage.{op}: axes must be unique")
    return axes


def _per_axis(value, n, what, op):
    if _np.ndim(value) == 0:
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(
            f"scipy.ndimage.{op}: {what} must have one entry per axis ({n}), got {len(value)}"
        )
    return value


def _separable(op, input, axes, **params):
    """A separable filter's input array and, for each axis it filters, the axis and its
    value of each of ``params`` (given per axis or one for all)."""
    x = _array(input)
    axes_ = _axes_of(op, axes, len(x.shape))
    columns = [_per_axis(v, len(axes_), name, op) for name, v in params.items()]
    return x, list(zip(axes_, *columns))


def gaussian_filter1d(
    input: Any,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
) -> Any:
    """Gaussian filter (``order`` > 0: its derivatives) along ``axis``, SciPy's kernel
    and boundary modes; linear in ``input``. ``sigma`` is a constant."""
    if isinstance(sigma, Tracer):
        raise TypeError(
            "scipy.ndimage.gaussian_filter1d: sigma must be a constant number (the kernel is SciPy's)"
        )
    nd_ = _scipy_ndimage("gaussian_filter1d")
    r = int(truncate * float(sigma) + 0.5) if radius is None else int(radius)
    if r < 0:
        raise ValueError("scipy.ndimage.gaussian_filter1d: radius must be a nonnegative integer")
    w = _kernel_of(
        nd_.gaussian_filter1d, r, sigma=float(sigma), order=int(order), truncate=truncate, radius=r
    )
    return correlate1d(input, w, axis, output, mode, cval, 0)


def gaussian_filter(
    input: Any,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
) -> Any:
    """Multidimensional Gaussian filter: :func:`gaussian_filter1d` along each of ``axes``
    (``sigma``, ``order``, ``mode``, ``radius`` per axis or shared)."""
    _refuse_output("gaussian_filter", output)
    x, per_axis = _separable(
        "gaussian_filter", input, axes, mode=mode, sigma=sigma, order=order, radius=radius
    )
    for ax, m, s, o, r in per_axis:
        if float(s) > 1e-15:  # SciPy skips axes with sigma 0
            x = gaussian_filter1d(x, s, ax, o, None, m, cval, truncate, radius=r)
    return x


def uniform_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
) -> Any:
    """Moving average of ``size`` points along ``axis`` (SciPy's window placement for
    even sizes and ``origin``); linear in ``input``."""
    size = int(size)
    if size < 1:
        raise ValueError("scipy.ndimage.uniform_filter1d: incorrect filter size")
    return correlate1d(input, _np.full(size, 1.0 / size), axis, output, mode, cval, origin)


def uniform_filter(
    input: Any,
    size: Any = 3,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Multidimensional moving average: :func:`uniform_filter1d` along each of ``axes``."""
    _refuse_output("uniform_filter", output)
    x, per_axis = _separable("uniform_filter", input, axes, mode=mode, size=size, origin=origin)
    for ax, m, s, o in per_axis:
        if int(s) > 1:
            x = uniform_filter1d(x, s, ax, None, m, cval, o)
    return x


# ------------------------------------------------------------------ geometric transforms
def _coords_grid(shape):
    return _np.indices(shape, dtype=_np.float64)


def affine_transform(
    input: Any,
    matrix: Any,
    offset: Any = 0.0,
    output_shape: Any = None,
    output: Any = None,
    order: int = 1,
    mode: str = "constant",
    cval: Any = 0.0,
    prefilter: bool = True,
) -> Any:
    """Values of ``input`` at ``matrix @ o + offset`` for each output index ``o``
    (``matrix`` a (d, d) matrix, a (d,) diagonal, or a (d+1, d+1) homogeneous one);
    :func:`map_coordinates` of order 0 or 1, so differentiable in the input, the matrix,
    the offset (order 1) and ``cval``."""
    _refuse_output("affine_transform", output)
    x = _array(input)
    d = len(x.shape)
    m = _array(matrix, _np.float64)
    out_shape = tuple(x.shape) if output_shape is None else tuple(int(s) for s in output_shape)
    if len(out_shape) != d:
        raise ValueError("scipy.ndimage.affine_transform: output_shape must have the input's rank")
    grid = _coords_grid(out_shape).reshape(d, -1)
    if len(m.shape) == 2 and m.shape == (d + 1, d + 1):
        offset = m[:d, d]
        m = m[:d, :d]
    if len(m.shape) == 1:
        if m.shape[0] != d:
            raise ValueError(
                f"scipy.ndimage.affine_transform: a diagonal matrix must have {d} entries"
            )
        coords = m[:, None] * grid
    elif m.shape == (d, d):
        coords = m @ grid
    else:
        raise ValueError(
            f"scipy.ndimage.affine_transform: matrix of shape {m.shape} does not fit an input of rank {d}"
        )
    off = _array(offset, _np.float64)
    if len(off.shape) == 0:
        coords = coords + off
    else:
        coords = coords + off[:, None]
    out = map_coordinates(x, coords, order=order, mode=mode, cval=cval, prefilter=prefilter)
    return anp.reshape(out, out_shape)


def shift(
    input: Any,
    shift: Any,
    output: Any = None,
    order: int = 1,
    mode: str = "constant",
    cval: Any = 0.0,
    prefilter: bool = True,
) -> Any:
    """``input`` shifted by ``shift`` (per axis or one number): ``out[o] = input[o -
    shift]`` by :func:`map_coordinates` of order 0 or 1; differentiable in the input and
    the shift (order 1)."""
    x = _array(input)
    d = len(x.shape)
    s = _array(shift, _np.float64)
    if len(s.shape) == 0:
        s = s * _np.ones(d)
    return affine_transform(x, _np.ones(d), -s, None, output, order, mode, cval, prefilter)


def zoom(
    input: Any,
    zoom: Any,
    output: Any = None,
    order: int = 1,
    mode: str = "constant",
    cval: Any = 0.0,
    prefilter: bool = True,
    *,
    grid_mode: bool = False,
) -> Any:
    """``input`` resampled to ``round(shape * zoom)`` points per axis, SciPy's
    coordinate mapping (``grid_mode``: pixel edges aligned, else the corner samples), by
    :func:`map_coordinates` of order 0 or 1; differentiable in the input."""
    x = _array(input)
    d = len(x.shape)
    z = [float(v) for v in (_np.broadcast_to(_np.asarray(zoom, dtype=float), (d,)))]
    out_shape = tuple(int(round(n * f)) for n, f in zip(x.shape, z))
    if grid_mode:
        scale = [n / o if o > 0 else 1.0 for n, o in zip(x.shape, out_shape)]
        offset = [0.5 * s - 0.5 for s in scale]
    else:
        scale = [(n - 1) / (o - 1) if o > 1 else 1.0 for n, o in zip(x.shape, out_shape)]
        offset = [0.0] * d
    return affine_transform(
        x, _np.asarray(scale), _np.asarray(offset), out_shape, output, order, mode, cval, prefilter
    )
