"""Compilation: ``jit`` (trace, simplify, generate code), readable derivative source
(``make_source``) and a C backend for scalar graphs."""

from .api import JitFunction, Lowered, jit
from .cbackend import CBackendError, CCompilerWarning, CFunction, c_source, compile_c
from .tracing import ConcretizationError

__all__ = [
    "jit",
    "JitFunction",
    "Lowered",
    "ConcretizationError",
    "compile_c",
    "c_source",
    "CFunction",
    "CBackendError",
    "CCompilerWarning",
]
