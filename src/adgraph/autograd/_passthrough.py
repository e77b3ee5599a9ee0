"""The names of a library module that adgraph does not provide, passed through as autograd
passes them: types, constants and classes as they are, and functions run on plain values,
refusing (with their name) to be differentiated -- as autograd's primitives without a
gradient do. Used by the ``__getattr__`` of ``adgraph.autograd.numpy`` and
``adgraph.autograd.scipy.linalg``."""

from __future__ import annotations

import functools
import importlib
import types
from collections.abc import Callable
from typing import Any

from ..core.pytree import tree_leaves
from ..core.trace import Tracer

__all__ = ["passthrough_getattr"]


def _without_derivative(qualname: str, fun: Any) -> Any:
    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(v, Tracer) for v in tree_leaves((args, kwargs))):
            raise NotImplementedError(
                f"{qualname} has no derivative in adgraph (adgraph does not provide it): "
                "call it on constants, or give it rules with "
                "adgraph.autograd.extend.primitive and defvjp/defjvp"
            )
        return fun(*args, **kwargs)

    return call


def _is_function(obj: Any) -> bool:
    if isinstance(obj, type):
        return False
    return isinstance(
        obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    ) or type(obj).__name__ in ("ufunc", "_ArrayFunctionDispatcher", "function")


def _library_object(library: str) -> Any:
    """The module ``library``, or an attribute path inside one (``scipy.stats.dirichlet``
    is an object of the module ``scipy.stats``)."""
    try:
        return importlib.import_module(library)
    except ImportError:
        parent, _, attr = library.rpartition(".")
        if not parent:
            raise
        obj = _library_object(parent)
        if not hasattr(obj, attr):
            raise
        return getattr(obj, attr)


def passthrough_getattr(
    shim: str, ours: Any, library: str, extra: str = ""
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the shim module named ``shim``: a name of ``ours``
    (adgraph's module, looked up at call time: it may have gained names since), else the
    name of the library module ``library`` (imported on first use; it may also name an
    object inside a module, as ``scipy.stats.dirichlet``), passed through."""
    cache: dict[str, Any] = {}

    def __getattr__(name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"module {shim!r} has no attribute {name!r}")
        if hasattr(ours, name):
            return getattr(ours, name)
        if name not in cache:
            try:
                lib = _library_object(library)
            except ImportError:
                raise AttributeError(
                    f"module {shim!r} has no attribute {name!r} ({library} is not installed{extra})"
                ) from None
            if not hasattr(lib, name):
                raise AttributeError(f"module {shim!r} has no attribute {name!r}")
            obj = getattr(lib, name)
            cache[name] = (
                _without_derivative(f"{library}.{name}", obj) if _is_function(obj) else obj
            )
        return cache[name]

    return __getattr__
