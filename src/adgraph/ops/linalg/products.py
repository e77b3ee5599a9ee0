r"""Products of matrices: matrix_power (repeated squaring), multi_dot (the cheapest
order of a chain) and matrix_transpose, compositions of matmul and inv; and the array-API
names numpy.linalg shares with the main namespace (matmul, outer, cross, diagonal, trace,
tensordot, vecdot), acting on the last axes."""

from __future__ import annotations

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from .. import construct as _construct
from .. import numerical as _numerical
from .. import products as _pr
from .._util import OpError, shape
from ..products import matmul as _matmul
from ..shapes import reshape
from ._common import _as_float, _dtype, _explained, _mT, _square, _xp_of
from .lu import inv


# ------------------------------------------------------------------ matrix_power / multi_dot
@_explained("matrix_power")
def matrix_power(a, n):
    r""":math:`A^n` for an integer ``n`` by repeated squaring (``n < 0``: powers of
    :math:`A^{-1}`; ``n = 0``: the identity, a constant).

    A composition of :func:`matmul` and :func:`inv`, so
    :math:`d(A^n) = \sum_{k=0}^{n-1} A^k\, dA\, A^{n-1-k}`.
    """
    if not isinstance(n, (int, _np.integer)) or isinstance(n, bool):
        raise TypeError("linalg.matrix_power: exponent must be an integer")
    a = _square(a, "matrix_power")
    n = int(n)
    if n == 0:
        m = shape(a)[-1]
        eye = _xp_of(a).eye(m, dtype=_dtype(a))
        return _xp_of(a).broadcast_to(eye, shape(a)).copy()
    if n < 0:
        a = inv(a)
        n = -n
    result = None
    base = a
    while True:
        if n & 1:
            result = base if result is None else _matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = _matmul(base, base)


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain (dims[i] x dims[i+1] matrices)."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            best = None
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, s
            cost[i][j] = best
    return split


def multi_dot(arrays, *, out=None):
    r"""The product of a chain of matrices, evaluated in the cheapest order (the first
    array may be a 1-D row vector, the last a 1-D column vector).

    A composition of :func:`matmul`: the derivative of
    :math:`A_1 \cdots A_k` in :math:`A_i` is
    :math:`A_1\cdots A_{i-1}\, dA_i\, A_{i+1}\cdots A_k`.
    """
    if out is not None:
        raise OpError("linalg.multi_dot: out= is not supported (adgraph arrays are immutable)")
    arrays = [_as_float(x, "multi_dot") for x in arrays]
    if len(arrays) < 2:
        raise OpError("linalg.multi_dot: expecting at least two arrays")
    first, last = arrays[0], arrays[-1]
    squeeze_first = len(shape(first)) == 1
    squeeze_last = len(shape(last)) == 1
    if squeeze_first:
        arrays[0] = reshape(first, (1, shape(first)[0]))
    if squeeze_last:
        arrays[-1] = reshape(last, (shape(last)[0], 1))
    for x in arrays:
        if len(shape(x)) != 2:
            raise OpError(
                f"linalg.multi_dot: arrays must be 2-dimensional (1-D at the ends), got shape "
                f"{shape(x)}"
            )
    dims = [shape(arrays[0])[0]] + [shape(x)[1] for x in arrays]
    split = _chain_order(dims)

    def prod(i, j):
        if i == j:
            return arrays[i]
        s = split[i][j]
        return _matmul(prod(i, s), prod(s + 1, j))

    res = prod(0, len(arrays) - 1)
    rs = shape(res)
    if squeeze_first and squeeze_last:
        return reshape(res, ())
    if squeeze_first:
        return reshape(res, rs[1:])
    if squeeze_last:
        return reshape(res, rs[:1])
    return res


# ------------------------------------------------------------------ matrix_transpose
def matrix_transpose(x, /):
    """Transpose of the last two axes (a linear map: its transpose is itself)."""
    if len(shape(x)) < 2:
        raise OpError("linalg.matrix_transpose: input must have at least 2 dimensions")
    return _mT(x)


# ------------------------------------------------------------------ the array-API names
# numpy.linalg's versions of main-namespace functions: they act on the last axes (stacks of
# vectors or matrices) and take their options by keyword. Each is a composition of
# differentiable main-namespace operations.
def _ndim_at_least(x, n, op, what):
    if len(shape(x)) < n:
        raise OpError(f"linalg.{op}: {what} must have at least {n} dimension(s), got {shape(x)}")


def matmul(x1, x2, /):
    """The matrix product (``x1 @ x2``), as :func:`adgraph.numpy.matmul`."""
    return _matmul(x1, x2)


def outer(x1, x2, /):
    """The outer product of two 1-D vectors: ``out[i, j] = x1[i] * x2[j]``."""
    for x, nm in ((x1, "x1"), (x2, "x2")):
        if len(shape(x)) != 1:
            raise OpError(
                f"linalg.outer: {nm} must be one-dimensional, got shape {shape(x)} "
                "(adgraph.numpy.outer flattens its inputs)"
            )
    return _pr.outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-element vectors along ``axis`` (broadcast over the rest)."""
    for x, nm in ((x1, "x1"), (x2, "x2")):
        s = shape(x)
        if not s or s[axis] != 3:
            raise OpError(
                f"linalg.cross: {nm} must have 3 elements along axis {axis}, got shape {s} "
                "(adgraph.numpy.cross also takes 2-element vectors)"
            )
    return _numerical.cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonals of the matrices in the last two axes, shape ``(..., k)``."""
    _ndim_at_least(x, 2, "diagonal", "x")
    return _pr.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of the matrices in the last two axes."""
    _ndim_at_least(x, 2, "trace", "x")
    return _pr.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def tensordot(x1, x2, /, *, axes=2):
    """:func:`adgraph.numpy.tensordot` with ``axes`` by keyword."""
    return _pr.tensordot(x1, x2, axes=axes)


def vecdot(x1, x2, /, *, axis=-1):
    r"""The dot product :math:`\sum_i \bar x_{1,i} x_{2,i}` along ``axis`` (conjugating
    ``x1``), broadcast over the other axes."""
    return _construct.vecdot(x1, x2, axis=axis)
