"""adgraph.scipy: differentiable counterparts of parts of SciPy (``special``, ``stats``)."""

from . import special, stats  # noqa: F401
from . import integrate  # noqa: F401  (odeint, trapezoid, cumulative_trapezoid, simpson)
from . import linalg  # noqa: F401  (SciPy's linear algebra, matrix functions, special matrices)
from . import sparse  # noqa: F401  (sparse.linalg: cg, gmres, bicgstab)
from . import optimize  # noqa: F401  (minimize with adgraph's gradients and sparse Hessians)
from . import fft, signal  # noqa: F401  (dct family; convolutions and spectral analysis)
from . import cluster, interpolate, ndimage, spatial  # noqa: F401  (vq, grids, images, rotations)
