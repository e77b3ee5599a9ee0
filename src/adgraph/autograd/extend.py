"""autograd's extension API (``autograd.extend``) on adgraph's custom rules.

``@primitive`` marks a function whose derivatives you supply. ``defvjp`` gives reverse-mode
rules in autograd's form ``vjpmaker(ans, *args, **kwargs) -> (g -> cotangent)``, one per
positional argument; ``defjvp`` gives forward-mode rules ``jvpmaker(g, ans, *args,
**kwargs) -> output tangent`` (or the string ``"same"`` for an argument the function is
linear in). ``None`` in either list is an argument whose derivative is zero. The
``*_argnum`` and ``*_argnums`` forms take one maker for every argument, as in autograd.

A call with traced arguments becomes an :func:`adgraph.custom_vjp` (reverse rules) around
an :func:`adgraph.custom_jvp` (forward rules); the arguments that are not traced are held
fixed. Each mode uses its own rules; forward mode without ``defjvp`` rules is refused, as in
autograd, and reverse mode without ``defvjp`` rules transposes the forward rules (they are
linear in ``g``; autograd would refuse). The body runs on plain values, so it may use
``numpy`` itself; write the rules with ``adgraph.autograd.numpy`` to differentiate them
again (second order).
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as _np

from ..api import custom_jvp as _custom_jvp
from ..api import custom_vjp as _custom_vjp
from ..core.pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from ..core.trace import Tracer

__all__ = [
    "primitive", "primitive_vjps", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum",
    "defjvp_argnums", "def_linear", "notrace_primitive", "Primitive", "Box", "vspace",
    "VSpace",
]  # fmt: skip

Maker = Callable[..., Any]

# The marker for "this argument's derivative is zero" (autograd's ``None`` maker).
_ZERO = object()

# Each primitive's reverse-mode rule, as autograd keeps it: ``primitive_vjps[fun]`` is
# ``(argnums, ans, args, kwargs) -> (g -> cotangents of those arguments)``. It is the
# registry the primitives read at each call, so removing an entry removes the rule.
primitive_vjps: dict[Any, Maker] = {}

_DEPRECATED = (
    "{}.{} is autograd's deprecated form; use adgraph.autograd.extend.defvjp(fun, ...) "
    "(see docs/autograd.md)"
)


def _name(fun: Any) -> str:
    return getattr(fun, "__name__", repr(fun))


def _traced(value: Any) -> bool:
    return any(isinstance(v, Tracer) for v in tree_leaves(value))


def _is_zero(t: Any) -> bool:
    """Whether a tangent is known to be zero (a traced one is not known to be)."""
    leaves = tree_leaves(t)
    if any(isinstance(v, Tracer) for v in leaves):
        return False
    return all(not _np.any(_np.asarray(v)) for v in leaves)


def _zeros_like(x: Any) -> Any:
    return tree_map(lambda v: _np.zeros(_np.shape(v), _np.result_type(v, _np.float64)), x)


class Primitive:
    """A function with user-supplied derivative rules (made by :func:`primitive`).

    Called on plain values it is the function itself; called with traced arguments it
    applies its rules (see the module docstring).
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        # argnum -> (g, ans, args, kwargs) -> tangent of the output, or _ZERO
        self.jvp_of: Callable[[int], Maker | object | None] | None = None
        # the rules given through the deprecated methods, by argnum
        self._old_rules: dict[str, dict[int, Any]] = {"defgrad": {}, "defvjp": {}}
        self._old_zero: set[int] = set()
        functools.update_wrapper(self, fun)

    @property
    def vjp_argnums(self) -> Maker | None:
        """(argnums, ans, args, kwargs) -> (g -> cotangents of those arguments, in order)."""
        return primitive_vjps.get(self)

    @vjp_argnums.setter
    def vjp_argnums(self, rule: Maker | None) -> None:
        if rule is None:
            primitive_vjps.pop(self, None)
        else:
            primitive_vjps[self] = rule

    # autograd's deprecated per-primitive methods (autograd.core.primitive has them)
    def defgrad(self, gradmaker: Maker, argnum: int = 0) -> None:
        """Deprecated: ``defvjp(fun, gradmaker, argnums=[argnum])``, accumulating."""
        warnings.warn(_DEPRECATED.format(_name(self.fun), "defgrad"), stacklevel=2)
        rules = self._old_rules["defgrad"]
        rules[argnum] = gradmaker
        nums = sorted(rules)
        defvjp(self, *(rules[i] for i in nums), argnums=nums)

    def defvjp(self, vjpfun: Maker, argnum: int = 0) -> None:  # type: ignore[override]
        """Deprecated: a rule ``vjpfun(g, ans, vs, gvs, *args, **kwargs)`` (``vs`` and
        ``gvs`` the vector spaces of the argument and of ``g``), accumulating."""
        warnings.warn(_DEPRECATED.format(_name(self.fun), "defvjp"), stacklevel=2)

        def maker(ans: Any, *args: Any, **kwargs: Any) -> Maker:
            return lambda g: vjpfun(g, ans, vspace(args[argnum]), vspace(g), *args, **kwargs)

        rules = self._old_rules["defvjp"]
        rules[argnum] = maker
        nums = sorted(rules)
        defvjp(self, *(rules[i] for i in nums), argnums=nums)

    def defvjp_is_zero(self, argnums: Iterable[int] = (0,)) -> None:
        """Deprecated: the derivative with respect to ``argnums`` is zero."""
        warnings.warn(_DEPRECATED.format(_name(self.fun), "defvjp_is_zero"), stacklevel=2)
        self._old_zero |= set(argnums)
        nums = sorted(self._old_zero)
        defvjp(self, *([None] * len(nums)), argnums=nums)

    def __repr__(self) -> str:
        return f"<adgraph.autograd primitive {_name(self.fun)}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # a primitive defined in a class body is a method, as the plain function would be
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        dyn = [i for i, a in enumerate(args) if _traced(a)]
        if not dyn:
            return self.fun(*args, **kwargs)
        if self.vjp_argnums is None and self.jvp_of is None:
            raise NotImplementedError(
                f"{self!r} is called with traced argument(s) {dyn} (differentiated, or "
                "compiled by jit/const_graph) and has no rule: give it one with "
                "adgraph.autograd.extend.defvjp(fun, ...) or defjvp(fun, ...), or pass "
                "constants there"
            )
        return self._rules_call(args, kwargs, dyn)(*(args[i] for i in dyn))

    def _rules_call(self, args: tuple, kwargs: dict, dyn: list[int]) -> Callable[..., Any]:
        """The call as a function of its traced arguments ``dyn`` alone, with the rules."""
        fun, name = self.fun, _name(self.fun)
        # the held arguments, with the traced ones taken out: the rules must not close over
        # a traced value (that would make them closures of the call, see api.closure)
        held = [None if i in dyn else a for i, a in enumerate(args)]

        def full(vals: Iterable[Any]) -> list[Any]:
            new = list(held)
            for i, v in zip(dyn, vals):
                new[i] = v
            return new

        def body(*vals: Any) -> Any:
            return fun(*full(vals), **kwargs)

        body.__name__ = body.__qualname__ = name
        call: Callable[..., Any] = body
        if self.jvp_of is not None:
            jvp_of = self.jvp_of

            def jvp_rule(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
                a = full(primals)
                ans = self(*a, **kwargs)
                out = None
                for i, g in zip(dyn, tangents):
                    maker = jvp_of(i)
                    if maker is _ZERO or (maker is None and _is_zero(g)):
                        continue
                    if maker is None:
                        raise NotImplementedError(
                            f"JVP of {name} with respect to argument {i} is not defined: "
                            "give it with adgraph.autograd.extend.defjvp (or use reverse mode)"
                        )
                    term = maker(g, ans, a, kwargs)  # type: ignore[operator]
                    out = term if out is None else out + term
                return ans, (_zeros_like(ans) if out is None else out)

            cj = _custom_jvp(body)
            cj.defjvp(jvp_rule)
            call = cj
        if self.vjp_argnums is not None:
            vjp_argnums = self.vjp_argnums
            inner = call

            def fwd(*vals: Any) -> tuple[Any, Any]:
                a = full(vals)
                # the primitive again: an enclosing transformation applies its rules too
                ans = self(*a, **kwargs)
                return ans, (ans, a)

            def bwd(res: tuple, g: Any) -> tuple:
                ans, a = res
                # outputs that got no cotangent (None) get zeros, as autograd passes them
                g_leaves, g_tree = tree_flatten(g, is_leaf=lambda v: v is None)
                if any(v is None for v in g_leaves):
                    a_leaves = tree_leaves(ans)
                    g = tree_unflatten(
                        g_tree,
                        [_zeros_like(o) if v is None else v for v, o in zip(g_leaves, a_leaves)],
                    )
                cts = tuple(vjp_argnums(tuple(dyn), ans, tuple(a), kwargs)(g))
                return tuple(None if c is _ZERO else c for c in cts)

            cv = _custom_vjp(inner)
            cv.defvjp(fwd, bwd)
            call = cv
        return call


def _check_prim(name: str, fun: Any) -> Primitive:
    if not isinstance(fun, Primitive):
        raise TypeError(
            f"{name}: {_name(fun)!r} is not a primitive; decorate it with "
            "@adgraph.autograd.extend.primitive first"
        )
    return fun


def primitive(fun: Callable[..., Any]) -> Primitive:
    """Mark ``fun`` as a primitive whose derivatives :func:`defvjp`/:func:`defjvp` give."""
    if not callable(fun):
        raise TypeError(f"primitive: expected a function, got {type(fun).__name__}")
    return Primitive(fun)


# ------------------------------------------------------------------ reverse mode
def defvjp_argnums(fun: Primitive, vjpmaker: Maker) -> None:
    """One reverse-mode rule for the differentiated arguments together:
    ``vjpmaker(argnums, ans, args, kwargs)`` returns ``g -> cotangents`` (one per argnum)."""
    _check_prim("defvjp_argnums", fun)
    if not callable(vjpmaker):
        raise TypeError(f"defvjp_argnums: the rule must be callable, got {vjpmaker!r}")
    fun.vjp_argnums = vjpmaker


def defvjp_argnum(fun: Primitive, vjpmaker: Maker) -> None:
    """One reverse-mode rule for every argument: ``vjpmaker(argnum, ans, args, kwargs)``
    returns ``g -> cotangent of that argument``."""
    _check_prim("defvjp_argnum", fun)

    def by_argnums(argnums: tuple, ans: Any, args: tuple, kwargs: dict) -> Maker:
        vjps = [vjpmaker(i, ans, args, kwargs) for i in argnums]
        return lambda g: tuple(v(g) for v in vjps)

    fun.vjp_argnums = by_argnums


def defvjp(fun: Primitive, *vjpmakers: Maker | None, argnums: Iterable[int] | None = None) -> None:
    """Reverse-mode rules, one per positional argument (``argnums`` names which; default
    ``0, 1, ...``). Each is ``vjpmaker(ans, *args, **kwargs)`` returning ``g -> cotangent``;
    ``None`` is an argument whose derivative is zero."""
    _check_prim("defvjp", fun)
    nums = itertools.count() if argnums is None else argnums
    rules: dict[int, Maker | None] = {}
    for i, maker in zip(nums, vjpmakers):
        if maker is not None and not callable(maker):
            raise TypeError(f"defvjp: the rule for argument {i} of {_name(fun)} is {maker!r}")
        rules[i] = maker

    def by_argnums(argnums: tuple, ans: Any, args: tuple, kwargs: dict) -> Maker:
        missing = [i for i in argnums if i not in rules]
        if missing:
            raise NotImplementedError(
                f"VJP of {_name(fun)} with respect to argument(s) {missing} is not defined: "
                "give it with adgraph.autograd.extend.defvjp (None for a zero derivative)"
            )
        vjps = [None if rules[i] is None else rules[i](ans, *args, **kwargs) for i in argnums]
        return lambda g: tuple(_ZERO if v is None else v(g) for v in vjps)

    fun.vjp_argnums = by_argnums


# ------------------------------------------------------------------ forward mode
def _store_jvps(fun: Primitive, of: Callable[[int], Maker | object | None]) -> None:
    fun.jvp_of = of


def defjvp_argnums(fun: Primitive, jvpmaker: Maker) -> None:
    """One forward-mode rule for all arguments together: ``jvpmaker(argnums, gs, ans, args,
    kwargs)`` returns the output's tangent. The rule is applied to one argument at a time
    (its tangent alone), and the results are summed: the rule must be linear in ``gs``."""
    _check_prim("defjvp_argnums", fun)
    _store_jvps(fun, lambda i: lambda g, ans, a, k: jvpmaker((i,), (g,), ans, tuple(a), k))


def defjvp_argnum(fun: Primitive, jvpmaker: Maker) -> None:
    """One forward-mode rule for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``."""
    _check_prim("defjvp_argnum", fun)
    _store_jvps(fun, lambda i: lambda g, ans, a, k: jvpmaker(i, g, ans, tuple(a), k))


def defjvp(
    fun: Primitive, *jvpmakers: Maker | str | None, argnums: Iterable[int] | None = None
) -> None:
    """Forward-mode rules, one per positional argument (``argnums`` names which). Each is
    ``jvpmaker(g, ans, *args, **kwargs)`` returning the output's tangent for the tangent
    ``g`` of that argument (linear in ``g``); ``"same"`` means the function is linear in
    that argument (its tangent is the function applied to ``g``); ``None`` a zero."""
    _check_prim("defjvp", fun)
    nums = itertools.count() if argnums is None else argnums
    rules: dict[int, Maker | object] = {}
    for i, maker in zip(nums, jvpmakers):
        if maker is None:
            rules[i] = _ZERO
        elif isinstance(maker, str) and maker == "same":
            rules[i] = _linear_in(fun, i)
        elif callable(maker):
            rules[i] = functools.partial(_per_arg_jvp, maker)
        else:
            raise TypeError(
                f"defjvp: the rule for argument {i} of {_name(fun)} is {maker!r}; give a "
                "function, 'same' or None"
            )
    _store_jvps(fun, rules.get)


def _per_arg_jvp(maker: Maker, g: Any, ans: Any, a: list, k: dict) -> Any:
    return maker(g, ans, *a, **k)


def _linear_in(fun: Primitive, i: int) -> Maker:
    # the body itself on the tangent: reverse mode differentiates this rule to transpose
    # it, which through the primitive would transpose the rule again without end
    def rule(g: Any, ans: Any, a: list, k: dict) -> Any:
        new = list(a)
        new[i] = g
        return fun.fun(*new, **k)

    return rule


def def_linear(fun: Primitive) -> None:
    """Declare ``fun`` linear in each argument: its JVP is ``fun`` applied to the tangent
    (reverse mode transposes that)."""
    _check_prim("def_linear", fun)
    _store_jvps(fun, lambda i: _linear_in(fun, i))


# ------------------------------------------------------------------ no derivative
def _plain(v: Any) -> Any:
    return v.primal_value() if isinstance(v, Tracer) else v


def notrace_primitive(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` called on the plain values of its arguments: its result carries no derivative."""

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        a, k = tree_map(_plain, (args, kwargs))
        return fun(*a, **k)

    return call


# autograd's Box is its traced value; adgraph's is the Tracer (for isinstance checks)
Box = Tracer


# ------------------------------------------------------------------ vector spaces
class VSpace:
    """The vector space of a value (autograd's ``vspace(x)``): arrays, numbers and their
    tuples, lists and dicts (adgraph pytrees). Its methods build values of the same
    structure: ``zeros``, ``ones``, ``randn``, ``standard_basis``, ``add``, ``scalar_mul``,
    ``inner_prod``, ``covector`` (complex conjugate)."""

    def __init__(self, value: Any) -> None:
        leaves, self._tree = tree_flatten(value)
        self._specs = []
        for v in leaves:
            p = _plain(v)
            dtype = _np.result_type(p)
            if dtype.kind not in "fc":
                raise TypeError(
                    f"vspace: a leaf of dtype {dtype} has no vector space; derivatives are "
                    "taken with respect to floating or complex values"
                )
            self._specs.append((_np.shape(p), dtype))

    # structure
    @property
    def shape(self) -> tuple[int, ...]:
        if len(self._specs) != 1:
            raise TypeError("vspace: a container's vector space has no single shape")
        return self._specs[0][0]

    @property
    def dtype(self) -> _np.dtype:
        if len(self._specs) != 1:
            raise TypeError("vspace: a container's vector space has no single dtype")
        return self._specs[0][1]

    @property
    def size(self) -> int:
        """The real dimension: a complex entry counts twice (its basis has 1 and 1j)."""
        return sum(int(_np.prod(s)) * (2 if d.kind == "c" else 1) for s, d in self._specs)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def iscomplex(self) -> bool:
        return any(d.kind == "c" for _, d in self._specs)

    def _build(self, make: Callable[[tuple, _np.dtype], Any]) -> Any:
        return tree_unflatten(self._tree, [make(s, d) for s, d in self._specs])

    def zeros(self) -> Any:
        return self._build(lambda s, d: _np.zeros(s, d))

    def ones(self) -> Any:
        """All ones; ``1 + 1j`` in a complex leaf (the sum of its standard basis)."""
        return self._build(lambda s, d: _np.full(s, 1 + 1j if d.kind == "c" else 1, d))

    def randn(self) -> Any:
        def one(s: tuple, d: _np.dtype) -> Any:
            r = _np.random.randn(*s)
            if d.kind == "c":
                r = r + 1j * _np.random.randn(*s)
            return _np.asarray(r, d)

        return self._build(one)

    def standard_basis(self) -> Iterable[Any]:
        """The unit vectors (and ``1j`` times each, for complex leaves), leaf by leaf."""
        for k, (s, d) in enumerate(self._specs):
            units = (1.0, 1j) if d.kind == "c" else (1.0,)
            for idx in _np.ndindex(*s):
                for unit in units:
                    leaves = [_np.zeros(s2, d2) for s2, d2 in self._specs]
                    leaves[k][idx] = unit
                    yield tree_unflatten(self._tree, leaves)

    # arithmetic on values of this space
    def add(self, x: Any, y: Any) -> Any:
        return tree_map(lambda a, b: a + b, x, y)

    def mut_add(self, x: Any, y: Any) -> Any:
        return self.add(self.zeros() if x is None else x, y)

    def scalar_mul(self, x: Any, a: Any) -> Any:
        return tree_map(lambda v: v * a, x)

    def inner_prod(self, x: Any, y: Any) -> Any:
        from .. import numpy as anp

        total = 0.0
        for a, b in zip(tree_leaves(x), tree_leaves(y)):
            total = total + anp.real(anp.sum(anp.conj(a) * b))
        return total

    def covector(self, x: Any) -> Any:
        from .. import numpy as anp

        return tree_map(anp.conj, x) if self.iscomplex else x

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, VSpace) and self._tree == other._tree and self._specs == other._specs
        )

    def __hash__(self) -> int:
        return hash((repr(self._tree), tuple((s, str(d)) for s, d in self._specs)))

    def __repr__(self) -> str:
        specs = ", ".join(f"{d}{list(s)}" for s, d in self._specs)
        return f"VSpace({specs})"


def vspace(value: Any) -> VSpace:
    """The :class:`VSpace` of ``value`` (an array, a number, or a pytree of them)."""
    return VSpace(value)
