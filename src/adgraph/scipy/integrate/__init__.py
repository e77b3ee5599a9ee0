"""adgraph.scipy.integrate: ``odeint`` (adaptive Dormand--Prince, differentiated by forward
sensitivities and the adjoint method) and the quadrature of samples (``trapezoid``,
``cumulative_trapezoid``, ``simpson``), all differentiable."""

from ._odeint import odeint
from ._quadrature import cumulative_trapezoid, simpson, trapezoid

__all__ = ["odeint", "trapezoid", "cumulative_trapezoid", "simpson"]
