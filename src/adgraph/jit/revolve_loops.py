"""Compiled sub-programs for the backward sweep of ``scan(..., checkpoints=k)``.

Under ``jit``, reverse mode through a checkpointed ``scan`` is one ``scan_revolve`` node
(:data:`adgraph.lax.revolve.sweep_p`) whose parameters are two functions of flat leaves:
the step's forward function ``(*carry, *x, *consts) -> (*carry, *ys)`` and its pullback
``(*carry, *x, *consts, *ct carry, *ct ys) -> (*ct carry, *ct x, *ct consts)``. The node's
implementation runs the revolve schedule (:func:`adgraph.lax.revolve.reverse_loop`)
around them; this module gives it each function traced once into a graph, simplified
and generated as Python code (:func:`adgraph.jit.codegen.generate`), so the program --
one node, two sub-programs -- and its compile time do not grow with the trip count, and
the sweep runs at the speed of compiled steps.

A function that does not trace to straight-line code (a Python branch on its values, an
effect, a value of an enclosing transformation) gets no sub-program: the sweep then calls
it as it is, step by step.

The C backend lowers the node as one loop around the two graphs of :func:`step_graphs`
(:mod:`adgraph.jit.c.revolve`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import debug
from ..graph.ir import Node
from ..lax import revolve
from .codegen import generate
from .floatloops import const_expr, float_expr, float_step
from .loops import _example, _trace_fn

__all__ = ["compile_step", "step_graphs"]

# fn -> {(array module, argument signature): compiled function or None}
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _signature(leaves) -> tuple:
    return tuple((tuple(np.shape(x)), np.dtype(getattr(x, "dtype", type(x)))) for x in leaves)


def compile_step(fn: Callable[..., Any], leaves: list, xp: Any) -> Callable[..., Any] | None:
    """``fn`` (of flat leaves) traced on ``leaves``, simplified and generated as Python
    code for the array module ``xp``, once per signature; None when it does not trace to
    straight-line code."""
    key = (getattr(xp, "__name__", id(xp)), _signature(leaves))
    try:
        per_fn = _STEPS.setdefault(fn, {})
    except TypeError:  # not weakly referable: compiled each time
        per_fn = {}
    if key in per_fn:
        return per_fn[key]
    with _heard():
        graph = _trace_fn(fn, leaves)
    got = None
    if graph is not None and len(graph.outputs):
        _, got = generate(graph, xp=xp, fn_name="step")
        # a step of float64 scalars also runs on Python floats (see floats_version)
        got.floats = floats_version(graph) if xp is np else None  # type: ignore[attr-defined]
    per_fn[key] = got
    return got


def floats_version(graph) -> Callable[..., tuple] | None:
    """``graph`` as a function of Python floats (and integers read by float arithmetic)
    returning a tuple of floats, when every value is a float64 scalar and every operation
    has a float form that agrees with NumPy's (:mod:`adgraph.jit.floatloops`); else None.
    Like that module's loops, it raises where NumPy would give inf or nan (the caller
    then runs the NumPy version)."""
    ns: dict = {}
    funcs = float_step(graph, ns)
    if funcs is None:
        return None
    names = {inp: f"a{k}" for k, inp in enumerate(graph.inputs)}
    lines = [f"def step({', '.join(names.values())}):"]
    for k, m in enumerate(x for x in graph.toposort() if not x.is_input):
        args = []
        for i in m.inputs:
            if isinstance(i, Node):
                args.append(names[i])
            else:
                e = const_expr(i.value)
                if e is None:
                    return None
                args.append(e)
        names[m] = f"v{k}"
        lines.append(f"    v{k} = {float_expr(m, args, funcs)}")
    lines.append(f"    return ({''.join(names[o] + ', ' for o in graph.outputs)})")
    code = compile("\n".join(lines) + "\n", "<adgraph.jit float step>", "exec")
    exec(code, ns)  # noqa: S102 -- our own generated source, never user text
    return ns["step"]


@contextmanager
def _heard() -> Iterator[None]:
    """Callbacks are staged while a step is traced, even where the caller mutes them (a
    program's values computed while it is traced): a step with effects must be seen to
    have them, and then runs as written, its callbacks at every step."""
    before = debug.muted_now()
    debug._local.muted = False
    try:
        yield
    finally:
        debug._local.muted = before


def step_graphs(node) -> tuple[Any, Any] | None:
    """``(forward, pullback)``: the simplified graphs of the ``scan_revolve`` node's two
    functions, traced on one step's example values of its inputs (what the C backend
    lowers), or None when one does not trace to straight-line code."""
    p = node.params
    nc, nx, nk, nci = p["nc"], p["nx"], p["nk"], len(p["ci"])
    o = nc + nx + nk
    ins = list(node.inputs)
    carry = [_example(a, False) for a in ins[:nc]]
    x = [_example(a, True) for a in ins[nc : nc + nx]]
    consts = [_example(a, False) for a in ins[nc + nx : o]]
    gc = [_example(a, False) for a in ins[o : o + nci]]
    gy = [_example(a, True) for a in ins[o + nci :]]
    got = []
    for fn, leaves in ((p["fwd"], carry + x + consts), (p["back"], carry + x + consts + gc + gy)):
        key = ("graph", _signature(leaves))
        try:
            per_fn = _STEPS.setdefault(fn, {})
        except TypeError:
            per_fn = {}
        if key not in per_fn:
            with _heard():
                per_fn[key] = _trace_fn(fn, leaves)
        if per_fn[key] is None:
            return None
        got.append(per_fn[key])
    fwd, back = got
    if len(fwd.outputs) < nc or len(back.outputs) != len(node.shape):
        return None
    for a, out in zip(ins[:nc], fwd.outputs[:nc]):
        if tuple(a.shape or ()) != tuple(out.shape or ()) or np.dtype(a.dtype) != np.dtype(
            out.dtype
        ):
            return None
    return fwd, back


revolve.compile_steps_with(compile_step)
