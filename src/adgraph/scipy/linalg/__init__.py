"""adgraph.scipy.linalg: SciPy's linear algebra with SciPy's signatures, differentiable where
the mathematics is.

* solvers and factorisations (:mod:`._solve`): solve (``assume_a``), solve_triangular,
  cholesky, cho_factor/cho_solve, lu/lu_factor/lu_solve, solve_banded, solveh_banded,
  solve_sylvester, solve_continuous_lyapunov, solve_discrete_lyapunov, inv, det, lstsq,
  pinv, norm;
* decompositions and matrix functions (:mod:`._decomp`): expm, expm_frechet, logm, sqrtm,
  fractional_matrix_power, cosm, sinm, tanm, coshm, sinhm, tanhm, funm, polar, qr,
  qr_multiply, svd, svdvals, eigh (also generalised), eigvalsh, eig, eigvals,
  eigh_tridiagonal, eigvalsh_tridiagonal; schur, hessenberg and rsf2csf (values only:
  their derivative is refused with the reason);
* special matrices (:mod:`._matrices`): block_diag, toeplitz, circulant, hankel,
  companion, leslie, fiedler, fiedler_companion, convolution_matrix, khatri_rao
  (differentiable in their entries) and the constant hilbert, invhilbert, pascal,
  invpascal, dft, helmert, hadamard.

Everything that calls SciPy itself needs it installed (``pip install 'adgraph[scipy]'``).
funm goes through the eigendecomposition (diagonalisable matrices); qr_multiply is a
composition of qr; rsf2csf gives values only. Not provided: the generalised
non-Hermitian and banded eigensolvers.
"""

from ...ops.linalg import LinAlgError
from ._decomp import *  # noqa: F403
from ._decomp import __all__ as _decomp_all
from ._matrices import *  # noqa: F403
from ._matrices import __all__ as _matrices_all
from ._solve import *  # noqa: F403
from ._solve import __all__ as _solve_all

__all__ = ["LinAlgError", *_solve_all, *_decomp_all, *_matrices_all]
