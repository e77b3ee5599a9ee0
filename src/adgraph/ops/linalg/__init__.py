r"""Linear algebra: NumPy's ``numpy.linalg``, differentiable to any order.

Each decomposition is a primitive whose forward (JVP) and reverse (VJP) rules are written
with adgraph's own operations -- matmul, solve, elementwise masks -- so the rules are
differentiated again for Hessians. Every function works on stacks of matrices
``(..., M, N)`` as NumPy does, and ``vmap`` batches it by binding the primitive once more
(the batch axis becomes one more leading axis).

Conventions
-----------
* :math:`X^T` is the transpose, :math:`X^H = \bar X^T` the conjugate transpose,
  :math:`\circ` the elementwise product.
* Complex inputs follow adgraph's (JAX's) convention: reverse mode transposes the tangent
  map under the pairing :math:`\langle a, b\rangle = \operatorname{Re}\sum a b`. For the
  holomorphic functions (inv, solve, det, matrix_power, multi_dot, pinv) this means
  transposes, never conjugates, in the rules; for cholesky, eigh and svd, which involve
  :math:`A^H`, the rules are the exact transposes of their R-linear tangent maps.
* Functions that NumPy computes from one triangle (cholesky, eigh, eigvalsh) are
  differentiated as functions of that triangle: a perturbation of the other triangle has
  no effect, so its derivative is zero there. For a symmetric perturbation this agrees
  with the symmetric-matrix derivative.
* Points where the derivative does not exist give inf or nan, not an error: singular
  matrices for inv/solve (these raise ``LinAlgError`` already in the forward
  computation), repeated eigenvalues (eigh's eigenvectors) and repeated or zero singular
  values (svd's singular vectors). Eigenvalues and singular values alone (eigvalsh,
  svdvals, ``compute_uv=False``, or eigh's and svd's eigenvalues with the vectors unused:
  reverse mode gives an unused output a symbolic zero) stay finite there. ``det`` is a polynomial and is
  differentiated at singular matrices too (its gradient is the cofactor matrix, computed
  without an inverse); ``slogdet``'s log-determinant has no derivative there, and its
  rules raise ``LinAlgError`` saying so.
* On Dask arrays, det, slogdet, inv and solve of stacked matrices run NumPy's function
  on each block of the stack axes; each matrix must lie in one chunk (a single matrix
  split into chunks goes to Dask's own blocked inv and solve).

The functions live by family: :mod:`.lu` (inv, solve, det, slogdet, tensorinv,
tensorsolve), :mod:`.decompositions` (cholesky, eigh, eigvalsh, svd, svdvals, qr, pinv,
lstsq), :mod:`.eig` (eig, eigvals), :mod:`.products` (matrix_power, multi_dot,
matrix_transpose, and the array-API names matmul, outer, cross, diagonal, trace, tensordot,
vecdot) and :mod:`.norms`
(norm, vector_norm, matrix_norm, cond, matrix_rank); :mod:`._common` holds what they
share. Besides ``__all__``, the package gives the backends the extension points of the LU
family (``INV``, ``SOLVE``, ``DET``, ``SLOGDET``, ``COFACTOR``, ``COFACTOR_LIN``) and the
cofactor points' reference implementations, which the Dask backend runs on each block of
a stack.
"""

from __future__ import annotations

from ._common import LinAlgError
from .decompositions import cholesky, eigh, eigvalsh, lstsq, pinv, qr, svd, svdvals
from .eig import eig, eigvals
from .lu import COFACTOR as COFACTOR
from .lu import COFACTOR_LIN as COFACTOR_LIN
from .lu import DET as DET
from .lu import INV as INV
from .lu import SLOGDET as SLOGDET
from .lu import SOLVE as SOLVE
from .lu import _cofactor_lin_np as _cofactor_lin_np
from .lu import _cofactor_np as _cofactor_np
from .lu import det, inv, slogdet, solve, tensorinv, tensorsolve
from .norms import cond, matrix_norm, matrix_rank, norm, vector_norm
from .products import (
    cross,
    diagonal,
    matmul,
    matrix_power,
    matrix_transpose,
    multi_dot,
    outer,
    tensordot,
    trace,
    vecdot,
)

__all__ = [
    "LinAlgError",
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "eigh",
    "eigvalsh",
    "svd",
    "svdvals",
    "qr",
    "pinv",
    "lstsq",
    "matrix_power",
    "norm",
    "vector_norm",
    "matrix_norm",
    "multi_dot",
    "matrix_rank",
    "cond",
    "matrix_transpose",
    "tensorinv",
    "tensorsolve",
    "eig",
    "eigvals",
    "cross",
    "diagonal",
    "matmul",
    "outer",
    "tensordot",
    "trace",
    "vecdot",
]
