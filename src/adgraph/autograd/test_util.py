"""autograd's ``check_grads(fun, modes=['fwd', 'rev'], order=2)(*args)`` on adgraph's
:func:`adgraph.test_util.check_grads` (finite differences, both modes, to ``order``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..test_util import check_grads as _check_grads
from .differential_operators import _check_argnum, _unary

__all__ = ["check_grads"]


def check_grads(
    fun: Callable[..., Any],
    argnum: int = 0,
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 2,
) -> Callable[..., None]:
    """A function of ``fun``'s arguments that checks ``fun``'s derivatives with respect to
    argument ``argnum`` against finite differences, raising if they disagree."""
    _check_argnum("check_grads", fun, argnum)

    def check(*args: Any, **kwargs: Any) -> None:
        unary, x = _unary("check_grads", fun, argnum, args, kwargs)
        _check_grads(unary, (x,), order=order, modes=tuple(modes))

    return check
