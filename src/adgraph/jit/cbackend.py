"""The C backend under its first module path: ``import adgraph.jit.cbackend`` and
``from adgraph.jit.cbackend import compile_c`` give the public names of :mod:`adgraph.jit.c`,
where the backend lives (see there).

The cache's limits :data:`CACHE_MAX_LIBRARIES` and :data:`CACHE_MAX_BYTES` are read and set
through this module as on :mod:`adgraph.jit.c.cache`, which owns them:
``cbackend.CACHE_MAX_LIBRARIES = 64`` changes the limit the cache applies.
"""

from __future__ import annotations

import sys
import types

from .c import *  # noqa: F403  (the C backend's public names, the same objects)
from .c import __all__ as _c_names
from .c import cache as _cache

# Settings that the cache module owns: a copy bound here would go stale when either is set.
_CACHE_SETTINGS = ("CACHE_MAX_LIBRARIES", "CACHE_MAX_BYTES")

# the C backend's public names, and the cache settings served below
__all__ = [*_c_names, *_CACHE_SETTINGS]


def __getattr__(name: str):
    if name in _CACHE_SETTINGS:
        return getattr(_cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What deleting a setting set here restores (monkeypatch's undo may delete what it set).
_DEFAULTS = {name: getattr(_cache, name) for name in _CACHE_SETTINGS}


class _Module(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        if name in _CACHE_SETTINGS:
            setattr(_cache, name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in _CACHE_SETTINGS:
            setattr(_cache, name, _DEFAULTS[name])
        else:
            super().__delattr__(name)


sys.modules[__name__].__class__ = _Module
