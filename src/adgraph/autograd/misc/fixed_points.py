r"""``fixed_point(f, a, x0, distance, tol)``: the fixed point ``x* = f(a)(x*)``, found by
iteration from ``x0`` until ``distance(x, x_prev) <= tol``, differentiable in ``a``.

The derivative does not go through the iterations. At the fixed point,
:math:`x^* = F(a, x^*)` with :math:`F(a, x) = f(a)(x)`, so (implicit function theorem)
:math:`dx^* = (I - \partial_x F)^{-1} \partial_a F\, da`. Reverse mode solves the adjoint
equation :math:`w = \bar x + \partial_x F^T w` as a fixed point of its own (it converges where the
forward iteration does: both contract with :math:`\partial_x F`), by ``fixed_point``
itself, so that a second derivative uses the implicit rule again; then it returns
:math:`\bar a = \partial_a F^T w`; forward mode iterates :math:`t = \partial_x F\, t +
\partial_a F\, da` likewise. Both run on adgraph's own ``vjp``/``jvp``, so the result can be
differentiated again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...api import jvp as _jvp
from ...api import vjp as _vjp
from ...core.pytree import tree_map
from ..extend import defjvp, defvjp, primitive

__all__ = ["fixed_point"]

Distance = Callable[[Any, Any], Any]


def _iterate(step: Callable[[Any], Any], x0: Any, distance: Distance, tol: float) -> Any:
    x, x_prev = step(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = step(x), x
    return x


@primitive
def fixed_point(
    f: Callable[[Any], Callable[[Any], Any]], a: Any, x0: Any, distance: Distance, tol: float
) -> Any:
    """Iterate ``x <- f(a)(x)`` from ``x0`` until ``distance(x, x_prev) <= tol``.

    Differentiable with respect to ``a`` in both modes (see the module docstring); ``x0``
    gets no derivative (the fixed point does not depend on it).
    """
    if not callable(f) or not callable(distance):
        raise TypeError(
            "fixed_point(f, a, x0, distance, tol): f(a) must return the map to iterate and "
            "distance(x, x_prev) a number; got "
            f"f={type(f).__name__}, distance={type(distance).__name__}"
        )
    return _iterate(f(a), x0, distance, tol)


def _adjoint_map(params: tuple) -> Callable[[Any], Any]:
    """For ``params = (f, a, x*, x̄)``: the map ``w -> x̄ + ∂_x F(a, x*)^T w`` whose fixed
    point is the adjoint ``w``."""
    f, a, x_star, x_bar = params
    _, pull_x = _vjp(f(a), x_star)
    return lambda w: tree_map(lambda p, q: p + q, x_bar, pull_x(w)[0])


def _fixed_point_vjp(
    ans: Any, f: Callable, a: Any, x0: Any, distance: Distance, tol: float
) -> Callable[[Any], Any]:
    _, pull_a = _vjp(lambda a_: f(a_)(ans), a)

    def vjp(g: Any) -> Any:
        # the adjoint is itself a fixed point, found by this primitive: differentiating
        # the VJP again uses the implicit rule again (not the truncated iterations)
        w = fixed_point(
            lambda params: _adjoint_map((f, *params)),
            (a, ans, g),
            tree_map(lambda v: v * 0.0, g),
            distance,
            tol,
        )
        return pull_a(w)[0]

    return vjp


def _fixed_point_jvp(
    g: Any, ans: Any, f: Callable, a: Any, x0: Any, distance: Distance, tol: float
) -> Any:
    da = _jvp(lambda a_: f(a_)(ans), (a,), (g,))[1]
    step = f(a)
    return _iterate(
        lambda t: tree_map(lambda p, q: p + q, da, _jvp(step, (ans,), (t,))[1]),
        tree_map(lambda v: v * 0.0, da),
        distance,
        tol,
    )


defvjp(fixed_point, None, _fixed_point_vjp, None)
defjvp(fixed_point, None, _fixed_point_jvp, None)
