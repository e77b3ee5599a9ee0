"""``autograd.scipy.integrate``: autograd's ``odeint(func, y0, t, args=())`` on
:func:`adgraph.scipy.integrate.odeint` (adaptive Dormand--Prince; reverse mode by the
adjoint method, as autograd's own is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...scipy.integrate import odeint as _odeint

__all__ = ["odeint"]

_TOLERANCES = ("rtol", "atol", "mxstep", "hmax")


def odeint(
    func: Callable[..., Any],
    y0: Any,
    t: Any,
    args: tuple = (),
    **kwargs: Any,
) -> Any:
    """``y`` at the times ``t`` for ``dy/dt = func(y, t, *args)``, ``y(t[0]) = y0``
    (``autograd.scipy.integrate.odeint``, SciPy's ``odeint`` signature): differentiable
    with respect to ``y0``, ``t`` and ``args``.

    Of SciPy's keywords ``rtol``, ``atol``, ``mxstep`` and ``hmax`` are taken (the error
    control differs from LSODA's: see :func:`adgraph.scipy.integrate.odeint`), and
    ``tfirst=True`` calls ``func(t, y, *args)``; the others (``Dfun``, ``full_output``,
    ``h0``, ...) are refused.
    """
    if not isinstance(args, tuple):
        raise TypeError(
            f"odeint: args must be a tuple of extra arguments for func, got "
            f"{type(args).__name__} (write args=(value,) for one)"
        )
    tfirst = bool(kwargs.pop("tfirst", False))
    other = sorted(k for k in kwargs if k not in _TOLERANCES)
    if other:
        raise TypeError(
            f"odeint: {', '.join(other)} {'is' if len(other) == 1 else 'are'} not supported "
            f"(adgraph's odeint is an explicit Dormand-Prince solver); it takes "
            f"{', '.join(_TOLERANCES)} and tfirst"
        )
    if tfirst:
        user = func

        def func(y, t, *a):
            return user(t, y, *a)

    return _odeint(func, y0, t, *args, **kwargs)
