"""``autograd.core``'s public operations: the unary ``make_vjp(fun, x)`` and
``make_jvp(fun, x)`` that autograd's operators are built on, and the extension names
(``primitive``, ``defvjp``, ... ``vspace``, and ``primitive_vjps``, the registry of
reverse-mode rules) that ``autograd.core`` also exports. Its tracing
machinery (nodes, ``trace``, ``backward_pass``) is autograd's own and has no counterpart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..api import jvp as _jvp
from ..api import vjp as _vjp
from .extend import (  # noqa: F401
    Box,
    VSpace,
    def_linear,
    defjvp,
    defjvp_argnum,
    defjvp_argnums,
    defvjp,
    defvjp_argnum,
    defvjp_argnums,
    primitive,
    primitive_vjps,
    vspace,
)
from .tracer import getval, isbox  # noqa: F401

__all__ = [
    "make_vjp", "make_jvp", "primitive", "defvjp", "defvjp_argnum", "defvjp_argnums",
    "defjvp", "defjvp_argnum", "defjvp_argnums", "def_linear", "vspace", "VSpace", "Box",
    "getval", "isbox", "primitive_vjps",
]  # fmt: skip


def make_vjp(fun: Callable[[Any], Any], x: Any) -> tuple[Callable[[Any], Any], Any]:
    """``(vjp, ans)`` for the one-argument ``fun`` at ``x``: ``vjp(g)`` is the cotangent
    of ``x`` for the output cotangent ``g``."""
    ans, pullback = _vjp(fun, x)
    return (lambda g: pullback(g)[0]), ans


def make_jvp(fun: Callable[[Any], Any], x: Any) -> Callable[[Any], tuple[Any, Any]]:
    """``jvp`` for the one-argument ``fun`` at ``x``: ``jvp(g)`` is ``(ans, J g)``."""
    return lambda g: _jvp(fun, (x,), (g,))
