"""The C backend's errors and warnings (one module, so every stage raises the same kinds)."""

from __future__ import annotations

__all__ = ["CBackendError", "CCompileError", "CCompilerWarning", "CCacheWarning"]


class CBackendError(ValueError):
    """The function cannot be compiled to C (unsupported primitive, shape, dtype or
    control flow)."""


class CCompileError(RuntimeError):
    """The C compiler failed on the generated source."""


class CCompilerWarning(UserWarning):
    """No C compiler was found: the Python backend runs instead."""


class CCacheWarning(UserWarning):
    """The folder of compiled libraries is not private to this user (see
    :func:`~adgraph.jit.c.cache.cache_dir`): a private temporary folder is used instead."""
