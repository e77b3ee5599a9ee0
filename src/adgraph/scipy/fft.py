r"""adgraph.scipy.fft: SciPy's discrete cosine transforms ``dct``, ``idct``, ``dctn`` and
``idctn`` (types 1 to 4, ``norm`` ``'backward'``/``'ortho'``/``'forward'``), differentiable.

A DCT along one axis is a linear map :math:`y = C x` with a constant real matrix. Here
:math:`C` is SciPy's own transform of the identity (so the values are SciPy's, to
rounding), cached per (kind, type, length, norm), and applied with a tensor contraction:
the derivative of ``dct`` is ``dct`` itself, its transpose :math:`C^T` -- every order,
both modes, complex inputs too. The cost is :math:`O(N^2)` per transformed line, meant
for the moderate lengths of differentiable models rather than for long signals.

``n`` (and ``s`` for the n-D transforms) truncates or zero-pads the axis first, as SciPy
does. The other FFTs live in :mod:`adgraph.numpy.fft`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as _np  # the constant transform matrices

from .. import numpy as anp
from ..core.trace import Tracer
from ._util import float_array

__all__ = ["dct", "idct", "dctn", "idctn"]

_NORMS = (None, "backward", "ortho", "forward")


def _scipy_fft(op):
    try:
        import scipy.fft as sf
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.fft.{op} computes its matrices with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return sf


@functools.lru_cache(maxsize=64)
def _matrix(kind: str, type: int, n: int, norm: str | None, orthogonalize: bool | None):
    sf = _scipy_fft(kind)
    f = sf.dct if kind == "dct" else sf.idct
    m = f(_np.eye(n), type=type, axis=0, norm=norm, orthogonalize=orthogonalize)
    m.flags.writeable = False
    return m


def _check(op, type, norm, axis_len=None):
    if type not in (1, 2, 3, 4):
        raise ValueError(f"scipy.fft.{op}: type must be 1, 2, 3 or 4, got {type!r}")
    if norm not in _NORMS:
        raise ValueError(
            f"scipy.fft.{op}: norm must be 'backward', 'ortho' or 'forward', got {norm!r}"
        )


def _resize(x, n, axis):
    """Truncate or zero-pad ``x`` along ``axis`` to length ``n``."""
    size = x.shape[axis]
    if n == size:
        return x
    if n < size:
        idx = [slice(None)] * len(x.shape)
        idx[axis] = slice(0, n)
        return x[tuple(idx)]
    pad = [(0, 0)] * len(x.shape)
    pad[axis] = (0, n - size)
    return anp.pad(x, pad)


def _apply(kind, op, x, type, n, axis, norm, orthogonalize):
    _check(op, type, norm)
    x = float_array(x)
    nd = len(x.shape)
    if nd == 0:
        raise ValueError(f"scipy.fft.{op}: x must have at least one dimension")
    if not -nd <= axis < nd:
        raise ValueError(
            f"scipy.fft.{op}: axis {axis} is out of bounds for an array of dimension {nd}"
        )
    axis %= nd
    if n is not None:
        n = int(n)
        if n < 1:
            raise ValueError(f"scipy.fft.{op}: invalid number of data points ({n}) specified")
        x = _resize(x, n, axis)
    length = x.shape[axis]
    if type == 1 and length < 2:
        raise ValueError(f"scipy.fft.{op}: type 1 needs at least 2 points, got {length}")
    m = _matrix(kind, type, length, None if norm == "backward" else norm, orthogonalize)
    real_dt = _np.float32 if x.dtype in (_np.float32, _np.complex64) else _np.float64
    m = m.astype(real_dt, copy=False)
    y = anp.tensordot(x, m, axes=([axis], [1]))  # the transformed axis comes last
    return anp.moveaxis(y, -1, axis)


def _one_axis(kind: str, doc: str) -> Any:
    """The public transform ``kind`` (``dct`` or ``idct``) along one axis, with SciPy's
    signature."""

    def transform(
        x: Any,
        type: int = 2,
        n: int | None = None,
        axis: int = -1,
        norm: str | None = None,
        overwrite_x: bool = False,
        workers: int | None = None,
        orthogonalize: bool | None = None,
    ) -> Any:
        return _apply(kind, kind, x, type, n, axis, norm, orthogonalize)

    transform.__name__ = transform.__qualname__ = kind
    transform.__doc__ = doc
    return transform


dct = _one_axis(
    "dct",
    r"""Discrete cosine transform of ``x`` along ``axis`` (SciPy's definitions; type 2:
    :math:`y_k = 2\sum_n x_n \cos\frac{\pi k(2n+1)}{2N}`). Linear: its derivative is the
    transform itself.""",
)
idct = _one_axis(
    "idct", """Inverse discrete cosine transform (``idct(dct(x, t), t) == x`` for each norm)."""
)


def _axes_shape(op, x, s, axes):
    nd = len(x.shape)
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(nd - len(s), nd))
    elif isinstance(axes, (int, _np.integer)):
        axes = [int(axes)]
    axes = [int(a) % nd if -nd <= int(a) < nd else None for a in axes]
    if None in axes:
        raise ValueError(f"scipy.fft.{op}: an axis is out of bounds for an array of dimension {nd}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"scipy.fft.{op}: axes must be unique")
    if s is None:
        s = [None] * len(axes)
    elif isinstance(s, (int, _np.integer)):
        s = [int(s)]
    if len(s) != len(axes):
        raise ValueError(f"scipy.fft.{op}: s and axes must have the same length")
    return list(s), axes


def _apply_n(kind, op, x, type, s, axes, norm, orthogonalize):
    if not isinstance(x, Tracer):
        x = anp.asarray(x)
    s, axes = _axes_shape(op, x, s, axes)
    for n, ax in zip(s, axes):
        x = _apply(kind, op, x, type, n, ax, norm, orthogonalize)
    return x


def dctn(
    x: Any,
    type: int = 2,
    s: Sequence[int] | int | None = None,
    axes: Sequence[int] | int | None = None,
    norm: str | None = None,
    overwrite_x: bool = False,
    workers: int | None = None,
    *,
    orthogonalize: bool | None = None,
) -> Any:
    """Multidimensional DCT: :func:`dct` along each of ``axes`` (default: all, or the
    last ``len(s)``), each resized to ``s``."""
    return _apply_n("dct", "dctn", x, type, s, axes, norm, orthogonalize)


def idctn(
    x: Any,
    type: int = 2,
    s: Sequence[int] | int | None = None,
    axes: Sequence[int] | int | None = None,
    norm: str | None = None,
    overwrite_x: bool = False,
    workers: int | None = None,
    orthogonalize: bool | None = None,
) -> Any:
    """Multidimensional inverse DCT: :func:`idct` along each of ``axes``."""
    return _apply_n("idct", "idctn", x, type, s, axes, norm, orthogonalize)
