"""``autograd.numpy``: adgraph.numpy under autograd's name, with ``random``, ``linalg``
and ``fft`` as submodules (``import adgraph.autograd.numpy.random as npr`` works).

Like autograd's, the namespace holds all of NumPy's public names. Those adgraph.numpy
provides are its differentiable functions; any other NumPy name is NumPy's own: types,
constants and classes as they are, and functions run on plain values, refusing (with the
function's name) to be differentiated -- as autograd's primitives without a rule do.
"""

from __future__ import annotations

import functools as _functools
import types as _types
from typing import Any as _Any

import numpy as _onp

from ... import numpy as _anp
from ...core.pytree import tree_leaves as _tree_leaves
from ...core.trace import Tracer as _Tracer
from ...numpy import *  # noqa: F401,F403
from ..extend import notrace_primitive, primitive  # noqa: F401
from . import fft, linalg, random  # noqa: F401

_wrapped: dict[str, _Any] = {}


def _numpy_only(name: str, fun: _Any) -> _Any:
    """NumPy's ``fun`` on plain values; a clear error when asked for a derivative."""

    @_functools.wraps(fun)
    def call(*args: _Any, **kwargs: _Any) -> _Any:
        if any(isinstance(v, _Tracer) for v in _tree_leaves((args, kwargs))):
            raise NotImplementedError(
                f"numpy.{name} has no derivative in adgraph (adgraph.numpy does not provide "
                "it): call it on constants, or give it rules with "
                "adgraph.autograd.extend.primitive and defvjp/defjvp"
            )
        return fun(*args, **kwargs)

    return call


def __getattr__(name: str) -> _Any:
    if name.startswith("_") or not hasattr(_onp, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if hasattr(_anp, name):  # provided since this module was imported
        return getattr(_anp, name)
    if name not in _wrapped:
        obj = getattr(_onp, name)
        is_fun = isinstance(
            obj, (_types.FunctionType, _types.BuiltinFunctionType, _onp.ufunc)
        ) or type(obj).__name__ in ("_ArrayFunctionDispatcher", "function")
        _wrapped[name] = _numpy_only(name, obj) if is_fun else obj
    return _wrapped[name]
