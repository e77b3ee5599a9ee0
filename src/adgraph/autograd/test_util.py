"""autograd's ``autograd.test_util`` on adgraph's :mod:`adgraph.test_util`.

``check_grads(fun, argnum=0, modes=['fwd', 'rev'], order=2)(*args)`` checks ``fun``'s
derivatives with respect to argument ``argnum`` against finite differences, in both modes
and to ``order`` (in reverse mode the VJP is checked as a function of the input and the
cotangent, as autograd does); ``combo_check`` runs it over every combination of argument
values; ``check_vjp(f, x)``, ``check_jvp(f, x)``, ``check_equivalent(x, y)`` and
``scalar_close(a, b)`` are the pieces, with autograd's signatures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as _np

from ..core.pytree import tree_flatten
from ..test_util import check_grads as _check_grads
from ..test_util import check_jvp as _check_jvp
from ..test_util import check_vjp as _check_vjp
from .differential_operators import _check_argnum, _unary

__all__ = [
    "check_grads",
    "combo_check",
    "check_vjp",
    "check_jvp",
    "check_equivalent",
    "scalar_close",
]

TOL = 1e-6
RTOL = 1e-6


def scalar_close(a: Any, b: Any) -> bool:
    """``|a - b| < 1e-6`` absolutely or relative to ``|a + b|`` (autograd's test)."""
    return bool(abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL)


def _modes(modes: Sequence[str] | str) -> tuple[str, ...]:
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {modes!r}")
    return modes


def check_grads(
    fun: Callable[..., Any],
    argnum: Any = 0,
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 2,
) -> Callable[..., None]:
    """A function of ``fun``'s arguments that checks ``fun``'s derivatives with respect to
    argument ``argnum`` (an int or a tuple of ints) against finite differences, raising an
    ``AssertionError`` naming the failing check if they disagree."""
    argnum = _check_argnum("check_grads", fun, argnum)
    modes = _modes(modes)

    def check(*args: Any, **kwargs: Any) -> None:
        unary, x = _unary("check_grads", fun, argnum, args, kwargs)
        _check_grads(unary, (x,), order=order, modes=modes)

    return check


def combo_check(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """``combo_check(fun, argnum, ...)(arg_values_0, arg_values_1, ..., kw=values)``: run
    :func:`check_grads` at every combination of the given values (one list per positional
    argument, one per keyword)."""

    def run(*arg_lists: Iterable[Any], **kwarg_lists: Iterable[Any]) -> None:
        keys = list(kwarg_lists)
        for vals in itertools.product(*arg_lists):
            for kvals in itertools.product(*(kwarg_lists[k] for k in keys)):
                check_grads(fun, *args, **kwargs)(*vals, **dict(zip(keys, kvals)))

    return run


def check_vjp(f: Callable[[Any], Any], x: Any) -> None:
    """Reverse mode of the one-argument ``f`` at ``x`` against finite differences."""
    _check_vjp(f, (x,))


def check_jvp(f: Callable[[Any], Any], x: Any) -> None:
    """Forward mode of the one-argument ``f`` at ``x`` against finite differences."""
    _check_jvp(f, (x,))


def check_equivalent(x: Any, y: Any) -> None:
    """``x`` and ``y`` have the same structure, shapes and (to 1e-6) values."""
    lx, tx = tree_flatten(x)
    ly, ty = tree_flatten(y)
    assert tx == ty, f"structure mismatch:\nx: {tx}\ny: {ty}"
    for a, b in zip(lx, ly):
        a, b = _np.asarray(a), _np.asarray(b)
        assert a.shape == b.shape, f"shape mismatch: {a.shape} vs {b.shape}"
        assert _np.allclose(a, b, rtol=RTOL, atol=TOL), f"value mismatch:\nx: {a}\ny: {b}"
