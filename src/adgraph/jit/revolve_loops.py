"""Compiled sub-programs for the backward sweep of ``scan(..., checkpoints=k)``.

Under ``jit``, reverse mode through a checkpointed ``scan`` is one ``scan_revolve`` node
(:data:`adgraph.lax.revolve.sweep_p`) whose parameters are two functions of flat leaves:
the step's forward function ``(*carry, *x, *consts) -> (*carry, *ys)`` and its pullback
``(*carry, *x, *consts, *ct carry, *ct ys) -> (*ct carry, *ct x, *ct consts)``. The node's
implementation walks the revolve schedule (:func:`adgraph.lax.revolve.actions`) around
them; this module gives it each function traced once into a graph, simplified and
generated as Python code (:func:`adgraph.jit.codegen.generate`), so the program -- one
node, two sub-programs -- and its compile time do not grow with the trip count, and the
sweep runs at the speed of compiled steps. When every value of the step is a float64
scalar, the whole sweep is one generated function on Python floats (:func:`float_sweep`).
The pictures open the node's two functions (:data:`adgraph.graph.bodies.CALL_OPS`).

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
from ..graph.bodies import CALL_OPS
from ..lax import revolve
from .codegen import generate
from .floatloops import float_lines, float_step
from .loops import _example, _trace_fn

__all__ = ["compile_step", "step_graphs", "float_sweep", "floats_version"]

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
        got.graph = graph  # type: ignore[attr-defined]
    per_fn[key] = got
    return got


def _float_lines(graph, names: dict, prefix: str, ind: str, funcs: dict):
    """The lines computing ``graph`` on Python floats (its inputs named by ``names``,
    which gets its nodes' names too), or None when a constant has no float source."""
    return float_lines(graph, names, prefix, ind, funcs)


def float_sweep(fwd, back, p: dict) -> Callable[..., tuple] | None:
    """The whole sweep of a step of float64 scalars as one generated Python function:
    the schedule's rows walked by one loop with the forward step's and the pullback's code
    inline (once each), as :mod:`adgraph.jit.floatloops` runs a loop's step -- the same
    operations as :func:`adgraph.lax.revolve._run_sweep` on the compiled steps, without a
    call per step, and the schedule of :func:`adgraph.lax.revolve.actions` driven inline
    (a stack of at most ``2k + 1`` segments, as the C backend's loop). ``sweep(*leaves)``
    takes the arguments as Python floats and lists (the xs and the ys' cotangents) and
    returns ``(*ct carry, *ct xs as lists, *ct consts, advances, slots filled)``; it
    raises where NumPy gives inf or nan. None when a step has no float form."""
    gF, gB = getattr(fwd, "graph", None), getattr(back, "graph", None)
    if gF is None or gB is None or fwd.floats is None or back.floats is None:
        return None
    ns: dict = {}
    fF, fB = float_step(gF, ns), float_step(gB, ns)
    if fF is None or fB is None:
        return None
    funcs = {**fF, **fB}
    nc, nx, nk = p["nc"], p["nx"], p["nk"]
    nci, nxi, nki = len(p["ci"]), len(p["xi"]), len(p["ki"])
    ngy = len(gB.inputs) - nc - nx - nk - nci
    n, rev = p["length"], p["reverse"]
    c = [f"c{j}" for j in range(nc)]
    X = [f"X{j}" for j in range(nx)]
    x = [f"x{j}" for j in range(nx)]
    k = [f"k{j}" for j in range(nk)]
    g = [f"g{j}" for j in range(nci)]
    Y = [f"Y{j}" for j in range(ngy)]
    y = [f"y{j}" for j in range(ngy)]
    K = [f"K{j}" for j in range(nki)]
    GX = [f"GX{j}" for j in range(nxi)]
    idx = "{} - 1 - {}".format(n, "{}") if rev else "{}"
    names = dict(zip(gF.inputs, c + x + k))
    f_lines = _float_lines(gF, names, "f", "            ", funcs)
    f_out = [names[o] for o in gF.outputs[:nc]]
    names = dict(zip(gB.inputs, c + x + k + g + y))
    b_lines = _float_lines(gB, names, "b", "        ", funcs)
    if f_lines is None or b_lines is None:
        return None
    b_out = [names[o] for o in gB.outputs]
    tup = "".join(f"{v}, " for v in c)
    kk = int(p["checkpoints"])
    src = [f"def sweep({', '.join(c + X + k + g + Y)}):"]
    src += [f"    {v} = [0.0] * {n}" for v in GX]
    src += [f"    {v} = 0.0" for v in K]
    src += ["    first = True", f"    slots = [None] * {max(1, min(kk, n))}"]
    src += [f"    slots[0] = ({tup})", "    d = top = 1", "    adv = 0"]
    # the schedule of adgraph.lax.revolve.actions, driven here (as the C loop does)
    src += [f"    T = [(0, {n}, {kk - 1})]", "    while T:", "        task = T.pop()"]
    src += ["        if task is None:", "            d -= 1", "            continue"]
    src += ["        s, e, fr = task", f"        {tup}= slots[d - 1]"]
    src += ["        if e - s == 1:", "            m = bt = s", "        elif fr == 0:"]
    src += ["            m = bt = e - 1", "            T.append((s, e - 1, 0))", "        else:"]
    src += ["            r, bb, pv = 0, 1, 0", "            while bb < e - s:"]
    src += ["                r += 1", "                pv, bb = bb, bb * (fr + r) // r"]
    src += ["            m = s + max(1, min(pv, e - s - 1))", "            bt = -1"]
    src += ["        adv += m - s", "        for u in range(s, m):"]
    src += [f"            i = {idx.format('u')}"]
    src += [f"            {xv} = {Xv}[i]" for xv, Xv in zip(x, X)]
    src += f_lines
    src += [f"            {tup}= {''.join(v + ', ' for v in f_out)}"]
    src += ["        if bt < 0:", f"            slots[d] = ({tup})", "            d += 1"]
    src += ["            top = max(top, d)", "            T += [(s, m, fr), None, (m, e, fr - 1)]"]
    src += ["            continue", f"        i = {idx.format('bt')}"]
    src += [f"        {xv} = {Xv}[i]" for xv, Xv in zip(x, X)]
    src += [f"        {yv} = {Yv}[i]" for yv, Yv in zip(y, Y)]
    src += b_lines
    for j, v in enumerate(GX):
        src.append(f"        {v}[i] = {b_out[nci + j]}")
    for j, v in enumerate(K):
        e = b_out[nci + nxi + j]
        # summed last step first: the last step's own at first, as _run_sweep does
        src.append(f"        {v} = {e} if first else {v} + {e}")
    if nci:
        lhs = "".join(v + ", " for v in g)
        src.append(f"        {lhs}= {''.join(e + ', ' for e in b_out[:nci])}")
    src.append("        first = False")
    src.append(f"    return ({''.join(v + ', ' for v in g + GX + K)}adv, top)")
    code = compile("\n".join(src) + "\n", "<adgraph.jit float sweep>", "exec")
    exec(code, ns)  # noqa: S102 -- our own generated source, never user text
    return ns["sweep"]


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
    params = ", ".join(names.values())
    body = float_lines(graph, names, "v", "    ", funcs)
    if body is None:
        return None
    lines = [f"def step({params}):", *body]
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


def _sweep_bodies(node) -> list[tuple[str, Callable, list]]:
    """The bodies the pictures open for a ``scan_revolve`` node (see
    :mod:`adgraph.graph.bodies`): the step and its pullback, at the initial carry, the
    first step's slices and the final carry's cotangent."""
    p = node.params
    vals = [i.value for i in node.inputs]
    carry, xs, consts, gc, gy = revolve._parts(vals, p)
    first = -1 if p["reverse"] else 0
    x = [np.asarray(a)[first] for a in xs]
    y = [np.asarray(a)[first] for a in gy]
    which = "last" if p["reverse"] else "first"
    return [
        (f"one step (the {which} of {p['length']}), at its values", p["fwd"], carry + x + consts),
        (
            "the pullback of one step, at the initial carry and the final carry's cotangent",
            p["back"],
            carry + x + consts + gc + y,
        ),
    ]


CALL_OPS[revolve.sweep_p.name] = _sweep_bodies
revolve.compile_steps_with(compile_step, float_sweep)
