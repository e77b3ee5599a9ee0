"""autograd's ``autograd.test_util`` on adgraph's :mod:`adgraph.test_util`.

``check_grads(fun, argnum=0, modes=['fwd', 'rev'], order=2)(*args)`` checks ``fun``'s
derivatives with respect to argument ``argnum`` against finite differences, in both modes
and to ``order`` (in reverse mode the VJP is checked as a function of the input and the
cotangent, as autograd does), and requires the two modes to agree to autograd's
tolerance, 1e-6 (adgraph.test_util's own default, 1e-9, would also fail derivatives that
iterative solvers compute, as ``odeint``'s adjoint, correct to their tolerance); ``combo_check`` runs it over every combination of argument
values; ``check_vjp(f, x)``, ``check_jvp(f, x)``, ``check_equivalent(x, y)`` and
``scalar_close(a, b)`` are the pieces, with autograd's signatures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as _np

from ..api import jvp as _jvp
from ..api import vjp as _vjp
from ..core.pytree import tree_flatten
from ..test_util import GradCheckError
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


def _check(f: Callable[[Any], Any], name: str, x: Any, modes: tuple[str, ...], order: int) -> None:
    """autograd's recursion: each mode at first order, then the same checks of the JVP
    ``(x, v) -> J(x) v`` and of the VJP ``(x, u) -> J(x)^T u`` as functions of both."""
    if "fwd" in modes:
        try:
            v = _check_jvp(f, (x,))[0]
        except GradCheckError as e:
            raise GradCheckError(
                f"Derivative (JVP) check of {name} failed with arg {x!r}:\n{e}"
            ) from None
        if order > 1:
            _check(
                lambda xv: _jvp(f, (xv[0],), (xv[1],))[1], f"jvp_{name}", (x, v), modes, order - 1
            )
    if "rev" in modes:
        try:
            u = _check_vjp(f, (x,), modes_rtol=RTOL)
        except GradCheckError as e:
            raise GradCheckError(
                f"Derivative (VJP) check of {name} failed with arg {x!r}:\n{e}"
            ) from None
        if order > 1:
            _check(lambda xu: _vjp(f, xu[0])[1](xu[1])[0], f"vjp_{name}", (x, u), modes, order - 1)


def check_grads(
    fun: Callable[..., Any],
    argnum: Any = 0,
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 2,
) -> Callable[..., None]:
    """A function of ``fun``'s arguments that checks ``fun``'s derivatives with respect to
    argument ``argnum`` (an int or a tuple of ints) against finite differences, raising an
    ``AssertionError`` naming the failing check as autograd does ("Derivative (VJP) check
    of vjp_foo failed ...": the VJP of ``foo``, checked as a function of its input and
    cotangent, failed)."""
    argnum = _check_argnum("check_grads", fun, argnum)
    modes = _modes(modes)
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"check_grads: order must be an integer >= 1, got {order!r}")
    name = getattr(fun, "__name__", "[unknown name]")

    def check(*args: Any, **kwargs: Any) -> None:
        unary, x = _unary("check_grads", fun, argnum, args, kwargs)
        _check(unary, name, x, modes, order)

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
