"""Recording a Python function into a :class:`~adgraph.graph.ir.Graph`.

:func:`trace` runs the function once on *graph tracers*. Every primitive applied to one is
recorded as a node -- differentiable or not (comparisons, rounding and integer results are
kept, so that the graph can be evaluated again) -- with its parameters and the value it
computed. A tracer used twice is the same node used twice.

The recording trace has a level like every transformation, so a traced function may itself
call ``grad``, ``jvp``, ``hessian``...: the inner transformations' operations -- the forward
pass, the adjoint sweep, the tangents of the adjoint sweep -- reach the recording level as
ordinary primitive applications and appear in the graph. That is how a second-order
computation becomes visible (:func:`trace_hvp`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Trace, Tracer, trace_scope
from ..core.xp import as_leaf
from .ir import Const, Graph, Node

__all__ = ["trace", "trace_hvp", "GraphTrace", "GraphTracer"]


class GraphTracer(Tracer):
    __slots__ = ("value", "node")

    def __init__(self, trace: Trace, value: Any, node: Node) -> None:
        self._trace = trace
        self.value = value
        self.node = node

    @property
    def shape(self) -> tuple:
        return tuple(getattr(self.value, "shape", ()))

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    def _inner(self) -> Any:
        return self.value


class GraphTrace(Trace):
    """The recording trace: every primitive applied to its tracers becomes a node.

    Subclasses may set ``tracer_type`` and override :meth:`argument` (what to do with an
    argument that is not one of this trace's tracers)."""

    __slots__ = ()
    tracer_type = GraphTracer

    def new_input(self, value: Any, name: str | None) -> GraphTracer:
        return self.tracer_type(self, value, Node("input", (), value=value, name=name))

    def argument(self, a: Any) -> Any:
        return a

    def process(self, prim, args, params):
        T = self.tracer_type
        vals = []
        ins = []
        for a in args:
            a = self.argument(a)
            if type(a) is T and a._trace is self:
                vals.append(a.value)
                ins.append(a.node)
            else:
                vals.append(a)
                ins.append(Const(a))
        ans = prim.bind(*vals, **params)
        node = Node(prim.name, ins, params, prim=prim, value=ans)
        if prim.multiple_results:
            return tuple(
                T(self, a, Node("item", (node,), {"index": k}, value=a)) for k, a in enumerate(ans)
            )
        return T(self, ans, node)


def _as_value(x, fn_name):
    return as_leaf(x, f"trace({fn_name})")


def _arg_names(f, nargs):
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            break
    names = names[:nargs]
    if len(names) < nargs:
        if nargs == 1 and not names:
            return ["x"]
        names += [f"x{k + 1}" for k in range(len(names), nargs)]
    return names


def _leaf_names(args, names, key=repr):
    """A name per leaf (in ``tree_flatten``'s order): the argument's name, with a path for
    leaves inside containers, ``p[0]``, ``p['w']`` (dict keys written by ``key``)."""
    out = []
    for a, nm in zip(args, names, strict=False):
        stack = [(a, nm)]
        while stack:
            x, path = stack.pop()
            if isinstance(x, dict):
                for k in sorted(x, reverse=True):
                    stack.append((x[k], f"{path}[{key(k)}]"))
            elif isinstance(x, (list, tuple)):
                for k in range(len(x) - 1, -1, -1):
                    stack.append((x[k], f"{path}[{k}]"))
            elif x is None:
                continue
            else:
                out.append(path)
    return out


def trace(f: Callable[..., Any], *args: Any, names: Sequence[str] | None = None) -> Graph:
    """Run ``f(*args)`` once and record its computation graph.

    Parameters
    ----------
    f : callable
        A function written with :mod:`adgraph.numpy` (and, if wanted, adgraph's
        transformations: ``grad``, ``jvp``...). Non-array arguments should be bound first,
        e.g. with ``functools.partial`` or a lambda.
    *args
        Arrays, numbers or pytrees of them; every leaf becomes an input node.
    names : sequence of str, optional
        Names of the positional arguments (default: the parameter names of ``f``).

    Returns
    -------
    Graph
        Inputs, nodes (each primitive application, with params, shape, dtype and value)
        and outputs. ``graph.tables()`` shows the evaluation trace, ``graph.to_dot()`` the
        picture, ``graph(*new_args)`` evaluates it again.

    Examples
    --------
    >>> import adgraph as ad, adgraph.numpy as anp
    >>> g = ad.trace(lambda x1, x2: x1 * x2 + x2 - anp.log(x1), 2.0, 4.0)
    >>> [n.op for n in g.toposort()]
    ['input', 'input', 'multiply', 'log', 'add', 'subtract']
    """
    if not callable(f):
        raise TypeError(f"trace: the function to trace must be callable, got {type(f).__name__}")
    fn_name = getattr(f, "__name__", type(f).__name__)
    arg_names = list(names) if names is not None else _arg_names(f, len(args))
    if len(arg_names) != len(args):
        raise ValueError(f"trace({fn_name}): {len(arg_names)} names for {len(args)} arguments")
    leaves, in_tree = tree_flatten(tuple(args))
    leaves = [_as_value(x, fn_name) for x in leaves]
    leaf_names = _leaf_names(args, arg_names)
    t = GraphTrace()
    with trace_scope(t):
        ins = [t.new_input(x, nm) for x, nm in zip(leaves, leaf_names, strict=False)]
        result = f(*tree_unflatten(in_tree, ins))
    out_leaves, out_tree = tree_flatten(result)
    outputs: list[Node | Const] = []
    for o in out_leaves:
        if type(o) is GraphTracer and o._trace is t:
            outputs.append(o.node)
        else:
            outputs.append(Const(o))
    return Graph([i.node for i in ins], outputs, in_tree=in_tree, out_tree=out_tree, name=fn_name)


def trace_hvp(
    f: Callable[..., Any],
    primals: Sequence[Any],
    tangents: Sequence[Any],
    names: Sequence[str] | None = None,
) -> Graph:
    """The graph of a forward-over-reverse Hessian-vector product ``H(x) v``.

    Records ``x -> jvp(grad(f), x, v)[1]``: the forward pass of ``f``, its adjoint sweep,
    and the tangents of that sweep, all as nodes of one graph. ``primals`` and ``tangents``
    are tuples of the positional arguments of ``f`` and their directions; the graph's
    inputs are the primals.
    """
    from ..api import grad, jvp

    primals = tuple(primals)
    tangents = tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"trace_hvp: {len(primals)} primals but {len(tangents)} tangents")
    argnums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    g = grad(f, argnums=argnums)

    def hvp(*xs):
        return jvp(g, xs, tangents)[1]

    hvp.__name__ = f"hvp_{getattr(f, '__name__', 'f')}"
    if names is None:
        names = _arg_names(f, len(primals))
    return trace(hvp, *primals, names=names)
