"""adgraph.scipy.sparse: the Krylov solvers of ``linalg`` (``cg``, ``gmres``, ``bicgstab``),
differentiated implicitly."""

from . import linalg  # noqa: F401
