"""``vmap``: a function mapped over an axis of its arguments, by batching rules.

Each mapped argument enters as a :class:`adgraph.ad.batching.BatchTracer` with its mapped
axis moved to the front; every primitive's batching rule keeps that axis in front, and the
outputs' axes are moved to ``out_axes``. ``in_axes`` and ``out_axes`` are an int, None
(not mapped) or a pytree prefix of the arguments (of the output) with one of those at
each of its leaves.
"""

from __future__ import annotations

import functools
from typing import Any

from ..ad.batching import BatchTrace, BatchTracer, RaggedBatchError
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import trace_scope
from ..ops import shapes
from .args import (
    as_array,
    check_callable,
    fn_name,
    is_index,
)
from .hints import Fun, PyTree

# The public name of what a batching trace carries out, for errors about its tracers.
BatchTrace.transformation = "vmap"

__all__ = ["vmap"]


def _leaf_size(x, axis, where=""):
    s = getattr(x, "shape", ())
    if axis is None:
        return None
    if not s:
        raise ValueError(
            f"vmap: cannot map over axis {axis} of a 0-d value{where}; use in_axes=None for it"
        )
    if not -len(s) <= axis < len(s):
        raise ValueError(
            f"vmap: in_axes {axis} is out of range for a value of shape {tuple(s)}{where} "
            f"(valid: {-len(s)} to {len(s) - 1}, or None)"
        )
    return s[axis]


def _check_axis_spec(a, what):
    if a is not None and not is_index(a):
        raise TypeError(
            f"vmap: {what} entries must be integers or None, got {a!r} of type {type(a).__name__}"
        )


def _broadcast_axes(axes, tree, what):
    """Expand an in_axes/out_axes spec (int, None or a prefix pytree) to one per leaf."""
    leaves, treedef = tree_flatten(tree)
    if axes is None or is_index(axes):
        return [axes] * len(leaves)
    # ``axes`` is a pytree prefix of ``tree``: expand each of its leaves over the subtree.
    out = []
    stack = [(axes, tree)]
    result_pairs = []
    while stack:
        a, t = stack.pop()
        if a is None or is_index(a):
            result_pairs.append((a, len(tree_flatten(t)[0])))
            continue
        if not isinstance(a, (list, tuple, dict)):
            _check_axis_spec(a, what)
        if isinstance(a, (list, tuple)) and isinstance(t, (list, tuple)) and len(a) == len(t):
            for ai, ti in reversed(list(zip(a, t))):
                stack.append((ai, ti))
        elif isinstance(a, dict) and isinstance(t, dict) and set(a) == set(t):
            for k in reversed(sorted(t)):
                stack.append((a[k], t[k]))
        else:
            if isinstance(t, (list, tuple)):
                stands = f"a {type(t).__name__} of length {len(t)}"
            elif isinstance(t, dict):
                stands = f"a dict with keys {sorted(t, key=repr)}"
            else:
                stands = "a single array"
            raise ValueError(
                f"vmap: {what} {axes!r} does not match the structure of the values: its entry "
                f"{a!r} stands for {stands}; give one entry per element (the same keys for "
                "a dict), or a single int/None for the whole"
            )
    for a, n in result_pairs:
        out.extend([a] * n)
    return out


def vmap(
    fun: Fun,
    in_axes: PyTree = 0,
    out_axes: PyTree = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
) -> Fun:
    """Vectorise ``fun`` over an axis of its arguments (JAX semantics).

    ``in_axes``: an int, None (not mapped), or a tuple with one entry (itself a pytree
    prefix) per positional argument. ``out_axes`` likewise for the output.
    ``axis_size`` is the batch size: needed when no argument is mapped (the outputs are
    then stacked copies), checked against the mapped axes otherwise. ``axis_name`` is
    accepted for JAX code that names the axis; adgraph has no collectives (``psum`` and
    friends) that would read it. ``spmd_axis_name`` (sharding over devices) is refused.
    """
    check_callable(fun, "vmap")
    if spmd_axis_name is not None:
        raise NotImplementedError(
            "vmap: spmd_axis_name shards the mapped axis over devices, which adgraph does "
            "not do (it runs on one device); drop the argument"
        )
    if axis_size is not None and not (is_index(axis_size) and axis_size >= 0):
        raise TypeError(f"vmap: axis_size must be a non-negative int, got {axis_size!r}")
    if not (in_axes is None or is_index(in_axes) or isinstance(in_axes, (tuple, list, dict))):
        _check_axis_spec(in_axes, "in_axes")
    if not (out_axes is None or is_index(out_axes) or isinstance(out_axes, (tuple, list, dict))):
        _check_axis_spec(out_axes, "out_axes")

    @functools.wraps(fun)
    def vf(*args, **kwargs):
        if kwargs:
            raise TypeError(
                f"vmap: keyword arguments ({', '.join(kwargs)}) are not supported; pass them "
                "positionally (with an in_axes entry each), or bind them with "
                "functools.partial before vmap"
            )
        spec = in_axes
        if isinstance(spec, list):
            spec = tuple(spec)
        if isinstance(spec, tuple) and len(spec) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(spec)} entries but the function got {len(args)} "
                "positional arguments"
            )
        leaves, treedef = tree_flatten(args)
        axes = _broadcast_axes(spec, args, "in_axes")
        leaves = [x if a is None else as_array(x, "vmap") for x, a in zip(leaves, axes)]
        sizes = {_leaf_size(x, a) for x, a in zip(leaves, axes) if a is not None}
        if not sizes and axis_size is None:
            raise ValueError(
                "vmap: in_axes maps no argument (every entry is None, or there are no array "
                "arguments); map at least one, or give axis_size"
            )
        if len(sizes) > 1:
            raise ValueError(f"vmap: mapped axes have different sizes: {_size_report(args, spec)}")
        if axis_size is not None and sizes and sizes != {axis_size}:
            raise ValueError(
                f"vmap: axis_size={axis_size} but the mapped axes have size {sizes.pop()}: "
                f"{_size_report(args, spec)}"
            )
        (size,) = sizes or {axis_size}
        trace = BatchTrace(size)
        with trace_scope(trace):
            ins = []
            for x, a in zip(leaves, axes):
                if a is None:
                    ins.append(x)
                else:
                    ins.append(BatchTracer(trace, shapes.moveaxis(x, a, 0) if a else x))
            try:
                result = fun(*tree_unflatten(treedef, ins))
            except RaggedBatchError as e:
                if e.function is not None:  # named by an inner vmap already
                    raise
                named = RaggedBatchError(f"vmap({fn_name(fun)}): {e}", e.primitive, e.shapes)
                named.function = fn_name(fun)
                raise named from None
        out_leaves, out_tree = tree_flatten(result)
        oaxes = _broadcast_axes(out_axes, result, "out_axes")
        outs = []
        for v, a in zip(out_leaves, oaxes):
            if a is None and not (type(v) is BatchTracer and v._trace is trace):
                outs.append(as_array(v, "vmap"))  # the same for every element: returned once
                continue
            if type(v) is BatchTracer and v._trace is trace:
                val = v.val
            else:
                v = as_array(v, "vmap")
                val = shapes.broadcast_to(
                    shapes.expand_dims(v, 0), (size,) + tuple(getattr(v, "shape", ()))
                )
            if a is None:
                raise ValueError(
                    "vmap: out_axes=None needs an output that does not vary along the mapped "
                    "axis, but this one does; give it an integer out_axes"
                )
            nd = len(getattr(val, "shape", ()))
            if not -nd <= a < nd:
                raise ValueError(
                    f"vmap: out_axes {a} is out of range for an output of {nd - 1} dimensions "
                    f"(with the mapped axis: {nd}; valid: {-nd} to {nd - 1})"
                )
            outs.append(shapes.moveaxis(val, 0, a) if a else val)
        return tree_unflatten(out_tree, outs)

    return vf


def _size_report(args, spec):
    """Which argument maps which axis of which size (for the error of unequal sizes)."""
    parts = []
    for i, arg in enumerate(args):
        sub = spec[i] if isinstance(spec, tuple) else spec
        leaves = tree_flatten(arg)[0]
        axes = _broadcast_axes(sub, arg, "in_axes")
        for x, a in zip(leaves, axes):
            if a is not None:
                parts.append(f"argument {i} has size {getattr(x, 'shape', ())[a]} along axis {a}")
    return "; ".join(parts) + " -- every mapped axis must have the same length"
