"""``autograd.builtins``: ``isinstance`` and ``type`` see through traced values (a traced
array is an ``ndarray``, a traced number a ``float``), as autograd's do; ``tuple``, ``list``
and ``dict`` are Python's own, since adgraph traces through Python's containers."""

from __future__ import annotations

import builtins as _b
from typing import Any

from ..core.trace import Tracer

__all__ = ["tuple", "list", "dict", "isinstance", "type"]

tuple = _b.tuple  # noqa: A001
list = _b.list  # noqa: A001
dict = _b.dict  # noqa: A001


def _plain(x: Any) -> Any:
    return x.primal_value() if _b.isinstance(x, Tracer) else x


def isinstance(obj: Any, classinfo: Any) -> bool:  # noqa: A001
    """Python's ``isinstance`` of the value under any tracing."""
    return _b.isinstance(_plain(obj), classinfo)


def type(obj: Any, *rest: Any) -> Any:  # noqa: A001
    """``type(obj)``: the type of the value under any tracing (three arguments make a
    class, as Python's ``type``)."""
    if rest:
        return _b.type(obj, *rest)
    return _b.type(_plain(obj))
