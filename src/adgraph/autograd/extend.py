"""autograd's extension API (``autograd.extend``) on adgraph's custom rules.

``@primitive`` marks a function whose derivative you supply; ``defvjp`` gives reverse-mode
rules in autograd's form ``vjpmaker(ans, *args, **kwargs) -> (g -> cotangent)``, one per
argument; ``defjvp`` gives forward-mode rules ``jvpmaker(g, ans, *args, **kwargs) ->
output tangent``. They are carried out by :func:`adgraph.custom_vjp` and
:func:`adgraph.custom_jvp`: with JVP rules only, reverse mode transposes them (they are
linear in ``g``); with VJP rules only, reverse mode uses them; with both, each mode uses
its own.

As in autograd, the primitive's body runs on plain values at the level being
differentiated, so it may use ``numpy`` itself; to differentiate its rules again (second
order), write the rules with ``adgraph.autograd.numpy``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..api import custom_jvp as _custom_jvp
from ..api import custom_vjp as _custom_vjp
from ..core.pytree import tree_leaves, tree_map
from ..core.trace import Tracer

__all__ = [
    "primitive", "defvjp", "defvjp_argnum", "defjvp", "defjvp_argnum", "def_linear",
    "notrace_primitive", "Primitive",
]  # fmt: skip


class Primitive:
    """A function with user-supplied derivative rules (made by :func:`primitive`)."""

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        # argnum -> rule; a rule for "every argument" is stored under None
        self.vjps: dict[int | None, Callable[..., Any]] = {}
        self.jvps: dict[int | None, Callable[..., Any]] = {}
        functools.update_wrapper(self, fun)

    def __repr__(self) -> str:
        return f"<adgraph.autograd primitive {getattr(self.fun, '__name__', self.fun)}>"

    def _vjp_for(self, i: int) -> Callable[..., Any] | None:
        if i in self.vjps:
            return self.vjps[i]
        if None in self.vjps:
            return functools.partial(self.vjps[None], i)
        return None

    def _jvp_for(self, i: int) -> Callable[..., Any] | None:
        if i in self.jvps:
            return self.jvps[i]
        if None in self.jvps:
            return functools.partial(self.jvps[None], i)
        return None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        traced = [
            i for i, a in enumerate(args) if any(isinstance(v, Tracer) for v in tree_leaves(a))
        ]
        if not traced:
            return self.fun(*args, **kwargs)
        missing = [i for i in traced if self._vjp_for(i) is None and self._jvp_for(i) is None]
        if missing:
            raise NotImplementedError(
                f"{self!r} is differentiated with respect to argument(s) {missing}, which "
                "have no rule: give one with defvjp(fun, ...) or defjvp(fun, ...), or pass a "
                "constant there"
            )
        fun = self.fun
        n = len(args)

        def body(*a: Any) -> Any:
            return fun(*a, **kwargs)

        if self.jvps:

            def jvp_rule(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
                ans = fun(*primals, **kwargs)
                out = None
                for i in range(n):
                    rule = self._jvp_for(i)
                    t = tangents[i]
                    if rule is None or t is None or not _has_tangent(primals[i]):
                        continue
                    term = rule(t, ans, *primals, **kwargs)
                    out = term if out is None else out + term
                if out is None:
                    out = tree_map(lambda v: v * 0.0, ans)
                return ans, out

            inner = _custom_jvp(body)
            inner.defjvp(jvp_rule)
            body = inner
        if self.vjps:
            inner_body = body

            def fwd(*a: Any) -> tuple[Any, Any]:
                ans = inner_body(*a)
                return ans, (ans, a)

            def bwd(res: tuple, g: Any) -> tuple:
                ans, a = res
                cts = []
                for i in range(n):
                    rule = self._vjp_for(i)
                    cts.append(None if rule is None else rule(ans, *a, **kwargs)(g))
                return tuple(cts)

            outer = _custom_vjp(inner_body)
            outer.defvjp(fwd, bwd)
            body = outer
        return body(*args)


def _has_tangent(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, (float, complex)) or isinstance(x, Tracer)
    return dtype.kind in "fc"


def primitive(fun: Callable[..., Any]) -> Primitive:
    """Mark ``fun`` as a primitive whose derivatives :func:`defvjp`/:func:`defjvp` give."""
    if not callable(fun):
        raise TypeError(f"primitive: expected a function, got {type(fun).__name__}")
    return Primitive(fun)


def _check_prim(name: str, fun: Any) -> Primitive:
    if not isinstance(fun, Primitive):
        raise TypeError(
            f"{name}: {getattr(fun, '__name__', fun)!r} is not a primitive; decorate it with "
            "@adgraph.autograd.extend.primitive first"
        )
    return fun


def defvjp(fun: Primitive, *vjpmakers: Callable[..., Any] | None, argnums: Any = None) -> None:
    """Give ``fun`` reverse-mode rules, one per positional argument (``None`` for none).

    Each is ``vjpmaker(ans, *args, **kwargs)`` returning ``g -> cotangent of that argument``.
    ``argnums`` names the arguments the rules are for (default ``0, 1, ...``).
    """
    _check_prim("defvjp", fun)
    nums = range(len(vjpmakers)) if argnums is None else argnums
    for i, maker in zip(nums, vjpmakers):
        if maker is not None:
            fun.vjps[i] = maker


def defvjp_argnum(fun: Primitive, vjpmaker: Callable[..., Any]) -> None:
    """One reverse-mode rule for every argument: ``vjpmaker(argnum, ans, args, kwargs)``."""
    _check_prim("defvjp_argnum", fun)
    fun.vjps[None] = lambda i, ans, *args, **kwargs: vjpmaker(i, ans, args, kwargs)


def defjvp(fun: Primitive, *jvpmakers: Callable[..., Any] | None, argnums: Any = None) -> None:
    """Give ``fun`` forward-mode rules, one per positional argument (``None`` for none).

    Each is ``jvpmaker(g, ans, *args, **kwargs)`` returning the output's tangent for the
    tangent ``g`` of that argument; it must be linear in ``g``.
    """
    _check_prim("defjvp", fun)
    nums = range(len(jvpmakers)) if argnums is None else argnums
    for i, maker in zip(nums, jvpmakers):
        if maker is not None:
            fun.jvps[i] = maker


def defjvp_argnum(fun: Primitive, jvpmaker: Callable[..., Any]) -> None:
    """One forward-mode rule for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``."""
    _check_prim("defjvp_argnum", fun)
    fun.jvps[None] = lambda i, g, ans, *args, **kwargs: jvpmaker(i, g, ans, args, kwargs)


def def_linear(fun: Primitive) -> None:
    """Declare ``fun`` linear in each argument: its JVP is ``fun`` applied to the tangent."""
    _check_prim("def_linear", fun)

    def rule(i: int, g: Any, ans: Any, args: tuple, kwargs: dict) -> Any:
        new = list(args)
        new[i] = g
        return fun.fun(*new, **kwargs)

    defjvp_argnum(fun, rule)


def notrace_primitive(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` called on the plain values of its arguments: its result carries no derivative."""

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        plain = tree_map(lambda v: v.primal_value() if isinstance(v, Tracer) else v, (args, kwargs))
        return fun(*plain[0], **plain[1])

    return call
