"""Voxel images of two-phase microstructures, and turning them into parameter fields.

Each generator returns a boolean array of the grid's shape, True in the second phase
(inclusion, fibre, layer); :func:`phase_field` maps it to a parameter field. Building the
field with ``adgraph.numpy.where`` keeps it differentiable in the phase values.
"""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from . import _xp

__all__ = ["laminate", "inclusion", "random_inclusions", "phase_field", "volume_fraction"]


def _coords(shape):
    """Voxel-centre coordinates in [0, 1) along each axis, ``(d, *shape)``."""
    axes = [(np.arange(n) + 0.5) / n for n in shape]
    return np.stack(np.meshgrid(*axes, indexing="ij"))


def laminate(shape, fraction: float = 0.5, axis: int = 0) -> np.ndarray:
    """Two-phase layers normal to ``axis``: the first ``round(fraction * n)`` voxel layers
    along ``axis`` are phase 1 (True)."""
    shape = tuple(shape)
    n = shape[axis]
    k = int(round(fraction * n))
    idx = np.arange(n) < k
    sl = [None] * len(shape)
    sl[axis] = slice(None)
    return np.broadcast_to(idx[tuple(sl)], shape).copy()


def inclusion(shape, radius: float = 0.25, center=None) -> np.ndarray:
    """A circular (2-D) or spherical (3-D) inclusion of ``radius`` (fraction of the cell),
    centred in the cell by default, in the periodic cell (distances wrap around)."""
    shape = tuple(shape)
    x = _coords(shape)
    c = np.full(len(shape), 0.5) if center is None else np.asarray(center, dtype=float)
    dx = x - c.reshape((-1,) + (1,) * len(shape))
    dx -= np.round(dx)
    return np.sum(dx * dx, axis=0) <= radius * radius


def random_inclusions(shape, count: int = 8, radius: float = 0.12, seed: int = 0) -> np.ndarray:
    """``count`` possibly overlapping periodic inclusions of ``radius`` at seeded random
    centres."""
    rng = np.random.default_rng(seed)
    out = np.zeros(tuple(shape), dtype=bool)
    for _ in range(count):
        out |= inclusion(shape, radius, rng.random(len(shape)))
    return out


def phase_field(mask, inside, outside):
    """``inside`` where ``mask`` is True, ``outside`` elsewhere (adgraph's ``where``, so
    traced phase values give a traced field; an array of ``mask``'s module, so a CuPy mask
    gives a CuPy field)."""
    return (
        anp.where(mask, inside, outside)
        if _traced(inside, outside)
        else _xp.module_of(mask).where(
            mask,
            float(inside) if np.ndim(inside) == 0 else inside,
            float(outside) if np.ndim(outside) == 0 else outside,
        )
    )


def _traced(*xs) -> bool:
    return any(isinstance(x, ad.Tracer) for x in xs)


def volume_fraction(mask) -> float:
    """The fraction of True voxels."""
    return float(_xp.module_of(mask).mean(mask))
