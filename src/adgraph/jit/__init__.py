"""Compilation: ``jit`` (trace, simplify, generate code), readable derivative source
(``make_source``) and a C backend for scalar graphs."""

from .api import JitFunction, Lowered, jit
from .tracing import ConcretizationError

__all__ = ["jit", "JitFunction", "Lowered", "ConcretizationError"]
