"""``autograd.tracer``'s public names: ``getval`` (the plain value under every level of
tracing), ``isbox``, ``Box`` (adgraph's :class:`~adgraph.core.trace.Tracer`), ``primitive``
and ``notrace_primitive``."""

from __future__ import annotations

from typing import Any

from ..core.trace import Tracer
from .extend import notrace_primitive, primitive

__all__ = ["getval", "isbox", "Box", "primitive", "notrace_primitive"]

Box = Tracer


def getval(x: Any) -> Any:
    """The concrete value of ``x`` under every level of tracing (``x`` itself if plain)."""
    return x.primal_value() if isinstance(x, Tracer) else x


def isbox(x: Any) -> bool:
    """Whether ``x`` is a traced value."""
    return isinstance(x, Tracer)
