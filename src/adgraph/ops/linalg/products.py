r"""Products of matrices: matrix_power (repeated squaring), multi_dot (the cheapest
order of a chain) and matrix_transpose; compositions of matmul and inv."""

from __future__ import annotations

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from .._util import OpError, shape
from ..products import matmul
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
            result = base if result is None else matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = matmul(base, base)


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
        return matmul(prod(i, s), prod(s + 1, j))

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
