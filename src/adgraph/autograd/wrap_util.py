"""``autograd.wrap_util``: ``unary_to_nary`` (how autograd builds its operators, for code
that defines its own) and ``wraps``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["unary_to_nary", "wraps"]


def wraps(
    fun: Callable[..., Any], namestr: str = "{fun}", docstr: str = "{doc}", **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Name and document a wrapper after ``fun`` with format strings (``{fun}``, ``{doc}``
    and the keyword arguments)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        try:
            name = getattr(fun, "__name__", "[unknown name]")
            f.__name__ = namestr.format(fun=name, **kwargs)
            f.__doc__ = docstr.format(fun=name, doc=getattr(fun, "__doc__", "") or "", **kwargs)
        except (AttributeError, TypeError, KeyError):
            pass
        return f

    return decorate


def unary_to_nary(unary_operator: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``op(f, x, *extra)`` (``f`` a function of one value) into ``op(fun, argnum=0,
    *extra)`` returning a function of ``fun``'s own arguments, as autograd's operators are
    made: argument ``argnum`` (an int, or a tuple of ints for a tuple value) is ``x``."""

    @functools.wraps(unary_operator)
    def nary_operator(fun: Callable[..., Any], argnum: Any = 0, *op_args: Any, **op_kwargs: Any):
        if isinstance(argnum, list):
            argnum = tuple(argnum)
        if not (isinstance(argnum, (int, tuple)) and not isinstance(argnum, bool)):
            raise TypeError(f"argnum must be an int or a tuple of ints, got {argnum!r}")

        @wraps(
            fun,
            "{op}_of_{fun}_wrt_argnum_{argnum}",
            "{op} of function {fun} with respect to argument number {argnum}.",
            op=getattr(unary_operator, "__name__", "op"),
            argnum=argnum,
        )
        def nary_f(*args: Any, **kwargs: Any) -> Any:
            def unary_f(x: Any) -> Any:
                new = list(args)
                if isinstance(argnum, int):
                    new[argnum] = x
                else:
                    for i, v in zip(argnum, x):
                        new[i] = v
                return fun(*new, **kwargs)

            x = args[argnum] if isinstance(argnum, int) else tuple(args[i] for i in argnum)
            return unary_operator(unary_f, x, *op_args, **op_kwargs)

        return nary_f

    return nary_operator
