"""Batching (``vmap``): run a function written for one example on a whole batch at once.

A :class:`BatchTracer` holds a value whose *leading* axis is the batch axis; its logical
``shape`` leaves that axis out. Primitives are batched by their ``batch`` rule, which sees
the raw values (batch axis first for batched ones) and returns the batched result; a
primitive without a rule is batched by a loop over the batch, stacking the results
(correct, not fast). ``jacfwd`` and ``jacrev`` are ``vmap`` of ``jvp`` / ``vjp``, so every
batching rule also makes Jacobians vectorised.
"""

from __future__ import annotations

from ..core import basic
from ..core.trace import Trace, Tracer

__all__ = ["BatchTrace", "BatchTracer", "RaggedBatchError", "batch_loop", "align_elementwise"]


class RaggedBatchError(ValueError):
    """The examples of a batch give results of different shapes (a data-dependent length
    such as ``unique``'s): they cannot be stacked into one batched array. ``vmap`` adds
    the name of the function it maps (``function`` is set once it has)."""

    def __init__(self, message: str, primitive: str, shapes: list) -> None:
        super().__init__(message)
        self.primitive = primitive
        self.shapes = shapes
        self.function: str | None = None


class BatchTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, trace, val):
        self._trace = trace
        self.val = val

    @property
    def shape(self):
        return tuple(self.val.shape[1:])

    @property
    def dtype(self):
        return self.val.dtype

    def _inner(self):
        return self.val

    def __bool__(self):
        raise TypeError(
            "the truth value of a batched (vmapped) value depends on the example; Python "
            "control flow on it cannot be vectorised -- use adgraph.numpy.where instead"
        )


class BatchTrace(Trace):
    __slots__ = ("size",)

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def process(self, prim, args, params):
        vals = []
        batched = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                batched.append(True)
            else:
                vals.append(a)
                batched.append(False)
        if prim.batch is not None:
            out = prim.batch(vals, batched, self.size, **params)
        else:
            out = batch_loop(prim, vals, batched, self.size, params)
        if prim.multiple_results:
            return tuple(BatchTracer(self, o) for o in out)
        return BatchTracer(self, out)


def batch_loop(prim, vals, batched, size, params):
    """Batch any primitive by applying it to each example and stacking the results."""
    outs = []
    for b in range(size):
        args_b = [basic.getitem(v, b) if f else v for v, f in zip(vals, batched)]
        outs.append(prim.bind(*args_b, **params))
    if prim.multiple_results:
        return tuple(_stack_examples(prim, [o[k] for o in outs]) for k in range(len(outs[0])))
    return _stack_examples(prim, outs)


def _stack_examples(prim, outs):
    """The per-example results stacked along a new leading axis; results of different
    shapes are refused by a :class:`RaggedBatchError` naming the primitive and two shapes."""
    first = tuple(getattr(outs[0], "shape", ())) if outs else ()
    for b, o in enumerate(outs[1:], 1):
        shape = tuple(getattr(o, "shape", ()))
        if shape != first:
            raise RaggedBatchError(
                f"{prim.name} gives per-example results of different shapes under vmap "
                f"(example 0: {first}, example {b}: {shape}), which cannot be stacked into "
                "one array: all examples must give results of the same shape. Its result's "
                "length depends on the data: map it with a Python loop over the examples instead",
                prim.name,
                [first, shape],
            )
    return basic.stack(outs)


def align_elementwise(vals, batched):
    """Reshape batched operands so broadcasting lines up their logical axes.

    A batched value of logical rank r among operands of output rank R gets R - r unit axes
    inserted right after its batch axis; unbatched values broadcast as usual from the right.
    """
    rank = 0
    for v, f in zip(vals, batched):
        nd = len(getattr(v, "shape", ())) - (1 if f else 0)
        if nd > rank:
            rank = nd
    out = []
    for v, f in zip(vals, batched):
        if f:
            s = tuple(v.shape)
            pad = rank - (len(s) - 1)
            if pad:
                v = basic.reshape(v, (s[0],) + (1,) * pad + s[1:])
        out.append(v)
    return out
