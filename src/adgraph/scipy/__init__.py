"""adgraph.scipy: differentiable counterparts of parts of SciPy (``special``, ``stats``)."""

from . import (  # noqa: F401  # noqa: F401  (dct family; convolutions and spectral analysis)  # noqa: F401  (vq, grids, images, rotations)
    cluster,
    fft,
    integrate,  # noqa: F401  (odeint, trapezoid, cumulative_trapezoid, simpson)
    interpolate,
    linalg,  # noqa: F401  (SciPy's linear algebra, matrix functions, special matrices)
    ndimage,
    optimize,  # noqa: F401  (minimize with adgraph's gradients and sparse Hessians)
    signal,
    sparse,  # noqa: F401  (sparse.linalg: cg, gmres, bicgstab)
    spatial,
    special,
    stats,
)
