"""Compilation: ``jit`` (trace, simplify, generate code), readable derivative source
(``make_source``) and a C backend for scalar graphs."""

from . import (
    api,
    c,
    cbackend,
    codegen,
    fusion,
    program,
    revolve_loops,
    simplify,
    source,
    tracing,
)
from .api import JitFunction, Lowered, jit
from .c import (
    CBackendError,
    CCacheWarning,
    CCompilerWarning,
    CFunction,
    c_source,
    compile_c,
)
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
    "CCacheWarning",
]

# ``adgraph.jit`` is the function (``from .jit import jit`` in the package): without these
# attributes, ``import adgraph.jit.cbackend as cb`` and ``adgraph.jit.cbackend`` (or
# ``adgraph.jit.c``) -- the module paths the documentation names -- would look the module up
# on the function and fail. The submodules stay reachable through the function.
_MODS = (api, c, cbackend, codegen, fusion, program, revolve_loops, simplify, source, tracing)
for _module in _MODS:
    setattr(jit, _module.__name__.rpartition(".")[2], _module)
del _module
