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

The C backend has no lowering for ``scan_revolve``: :func:`adgraph.jit.compile_c` (and so
``jit(..., compiler="c")``) of a program holding one warns (:class:`CCompilerWarning`) and
returns the Python backend's program with the C calling convention
(:class:`~adgraph.jit.c.runtime.CFallbackFunction`), as it does without a C compiler.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import debug
from ..lax import revolve
from .codegen import generate
from .loops import _trace_fn

__all__ = ["compile_step", "has_sweep", "c_fallback", "PythonKernel"]

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
    per_fn[key] = got
    return got


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


def has_sweep(graph) -> bool:
    """Whether ``graph`` holds a ``scan_revolve`` node (which the C backend cannot lower)."""
    return any(n.op == revolve.sweep_p.name for n in graph.toposort())


def c_fallback() -> str:
    """Why a program with a checkpointed sweep is compiled by the Python backend."""
    return (
        "the backward sweep of scan(..., checkpoints=k) has no C lowering; this program "
        "runs on adgraph.jit's Python backend instead (the step and its pullback compiled "
        "once each, the revolve schedule run around them); pass checkpoints=None for C"
    )


class PythonKernel:
    """What the C runtime's fallback reads of a kernel -- the graph's input and output
    shapes and dtypes -- for a program the Python backend runs (no C source)."""

    source = None
    split = False
    n_statements = 0

    def __init__(self, graph, name: str) -> None:
        self.name = name
        self.in_shapes = [tuple(i.shape or ()) for i in graph.inputs]
        self.in_dtypes = [np.dtype(i.dtype) for i in graph.inputs]
        self.out_shapes = [tuple(o.shape or ()) for o in graph.outputs]
        self.out_dtypes = [np.dtype(o.dtype) for o in graph.outputs]


revolve.compile_steps_with(compile_step)
