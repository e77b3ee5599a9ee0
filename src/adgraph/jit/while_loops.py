"""The loops of a ``while_loop``'s reverse mode in compiled programs.

Under ``jit``, reverse mode of a ``while_loop`` is a ``while_stack`` node (the loop, which
also counts its iterations and stacks the carries they started from) and a ``while_back``
node (a loop of that count over the body's pullback, last iteration first); see
:mod:`adgraph.lax.while_staged`. This module gives their steps as graphs
(:func:`back_graph`, :func:`advance_graph`; the predicate's and the body's are
:func:`adgraph.jit.loops.while_graphs`), the Python code generator's lines for them
(:func:`staged_while_lines`: NumPy loops, and loops on Python numbers where every value
of a step is a float64, int64 or bool scalar, with the NumPy loop where Python raises),
and :func:`run_while_node`, which computes a loop node's values while its program is
traced with the steps compiled once.
"""

from __future__ import annotations

import functools

import numpy as np

from ..graph.ir import Const, Graph, Node
from .loops import _BODIES, _example, _trace_fn, while_graphs

__all__ = ["back_graph", "advance_graph", "staged_while_lines", "run_while_node"]


def back_graph(node: Node) -> Graph | None:
    """The graph of the step of the ``while_back`` node ``node`` (the backward sweep of a
    ``while_loop`` under ``jit``), a function of ``(*state, *c_t, *consts)``, or None when
    it is not straight-line code."""
    p = node.params
    ns, nc = p["ns"], p["nc"]
    ins = node.inputs
    leaves = (
        [_example(a, False) for a in ins[:ns]]
        + [_row_example(a, m) for a, m in zip(ins[ns + 1 : ns + 1 + nc], _major(p, nc))]
        + [_example(a, False) for a in ins[ns + 1 + nc :]]
    )
    g = _cached_graph(p["back"], leaves)
    if g is None or len(g.outputs) != ns:
        return None
    for a, o in zip(ins[:ns], g.outputs):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return g


def _major(params, nc):
    """Which stacks of a ``while_back`` node have their rows on axis 1 (under vmap)."""
    return params.get("major") or (False,) * nc


def _row_example(a, major: bool):
    """One row of a stack of carries: ``a[0]``, or ``a[:, 0]`` with the rows on axis 1."""
    if not major:
        return _example(a, True)
    v = a.value
    shape = tuple(a.shape or ())
    if v is not None and np.shape(v)[1:2] not in ((), (0,)):
        return v[:, 0]
    return np.zeros(shape[:1] + shape[2:], dtype=a.dtype)


def advance_graph(node: Node) -> Graph | None:
    """The graph of the loop's body that a ``while_back`` node with checkpoints runs to
    recompute the carries it did not keep, a function of ``(*carry, *consts)``."""
    p = node.params
    ns, nc = p["ns"], p["nc"]
    ins = node.inputs
    carry = ins[ns + 1 : ns + 1 + nc]
    leaves = [_example(a, True) for a in carry] + [_example(a, False) for a in ins[ns + 1 + nc :]]
    g = _cached_graph(p["body"], leaves)
    if g is None or len(g.outputs) != nc:
        return None
    for a, o in zip(carry, g.outputs):
        shape = tuple(a.shape or ())[1:]
        if shape != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return g


def _cached_graph(fn, leaves):
    try:
        return _BODIES[fn]
    except (KeyError, TypeError):
        pass
    g = _trace_fn(fn, leaves)
    try:
        _BODIES[fn] = g
    except TypeError:
        pass
    return g


def staged_while_lines(gen, node, arg, pre, ind):
    """``(lines, expression)``: the Python code generator's (``gen``) lines running the
    ``while_stack`` node (a ``while`` loop appending each iteration's carry to a list) or
    the ``while_back`` node (a ``for`` loop of the recorded trip count, last iteration
    first, reading the stacked carries); None when a step is not straight-line code (the
    node then runs through its implementation, the step in Python)."""
    if node.op == "while_stack":
        return _stack_lines(gen, node, arg, pre, ind)
    return _back_lines(gen, node, arg, pre, ind)


def _stack_lines(gen, node, arg, pre, ind):
    got = while_graphs(node)
    if got is None:
        return None
    p = node.params
    if gen.ns["xp"] is np and p.get("limit") is None and p.get("major") is None:
        fast = _stack_scalar_lines(gen, node, got, arg, pre, ind + "    ")
        if fast is not None:
            # the loop on Python numbers, the NumPy loop where Python raises instead
            slow, expr = _stack_numpy_lines(gen, node, got, arg, pre, ind + "    ")
            lines = [f"{ind}try:", *fast, f"{ind}except (ArithmeticError, ValueError):", *slow]
            return lines, expr
    return _stack_numpy_lines(gen, node, got, arg, pre, ind)


# Operations of a scalar while loop's predicate and step on Python numbers: float64 as in
# adgraph.jit.floatloops; int64 sums and differences (Python ints: a value past int64's
# range raises when converted back, and the NumPy loop runs instead); comparisons of two
# values of one kind, and the logical operations of booleans.
_COMPARE = {
    "less": "<",
    "less_equal": "<=",
    "greater": ">",
    "greater_equal": ">=",
    "equal": "==",
    "not_equal": "!=",
}
_LOGICAL = {"logical_and": "and", "logical_or": "or"}
_KINDS = {np.dtype(np.float64): "f", np.dtype(np.int64): "i", np.dtype(np.bool_): "b"}


def _scalar_kind(x):
    if tuple(x.shape or ()) != () or x.dtype is None:
        return None
    return _KINDS.get(np.dtype(x.dtype))


def _scalar_exprs(gen, graph, names, pre, funcs):
    """``[(name, expression)]`` computing ``graph``'s nodes on Python numbers (``names``:
    its inputs' names), or None when an operation has no such form."""
    from .floatloops import INFIX, UNARY, const_expr, float_expr, math_agrees

    out = []
    for k, m in enumerate(x for x in graph.toposort() if not x.is_input):
        kind = _scalar_kind(m)
        if kind is None or (m.params and not (m.op == "integer_pow" and m.params.get("n") == 2)):
            return None
        args, kinds = [], []
        for i in m.inputs:
            if isinstance(i, Node):
                ik = _scalar_kind(i)
                if ik is None:
                    return None
                args.append(names[i])
                kinds.append(ik)
                continue
            v = i.value
            if isinstance(v, (bool, np.bool_)):
                args.append(repr(bool(v)))
                kinds.append("b")
            elif isinstance(v, (int, np.integer)) and abs(int(v)) <= 2**53:
                args.append(repr(int(v)))
                kinds.append("i")
            elif isinstance(v, (float, np.floating)) or (
                isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.float64
            ):
                args.append(const_expr(v) or gen.const(float(v)))
                kinds.append("f")
            else:
                return None
        op = m.op
        if kind == "f":
            if any(q == "b" for q in kinds):
                return None
            if op in INFIX and len(args) == 2:
                expr = float_expr(m, args, funcs)
            elif op == "integer_pow" or (op in UNARY and len(args) == 1 and kinds == ["f"]):
                name = UNARY.get(op)
                if name is not None and op not in funcs:
                    if not math_agrees(op):
                        return None
                    import math

                    gen.ns[f"_fl_{op}"] = getattr(math, name)
                    funcs[op] = f"_fl_{op}"
                expr = float_expr(m, args, funcs)
            else:
                return None
        elif kind == "i":
            if op not in ("add", "subtract") or kinds != ["i", "i"]:
                return None
            expr = f"({args[0]} {'+' if op == 'add' else '-'} {args[1]})"
        elif op in _COMPARE and len(args) == 2 and kinds[0] == kinds[1] and kinds[0] != "b":
            expr = f"({args[0]} {_COMPARE[op]} {args[1]})"
        elif op in _LOGICAL and kinds == ["b", "b"]:
            expr = f"({args[0]} {_LOGICAL[op]} {args[1]})"
        elif op == "logical_not" and kinds == ["b"]:
            expr = f"(not {args[0]})"
        else:
            return None
        names[m] = f"{pre}{k}"
        out.append((names[m], expr))
    return out


def _stack_scalar_lines(gen, node, got, arg, pre, ind):
    """The ``while_stack`` loop on Python numbers when every value of the predicate and
    the step is a float64, int64 or bool scalar (see :data:`_COMPARE`), leaving the names
    :func:`_stack_numpy_lines` leaves; None otherwise."""
    cond, body = got
    nc = node.params["nc"]
    ins = node.inputs
    if any(_scalar_kind(a) is None for a in ins) or not nc:
        return None
    conv = {"f": "float", "i": "int", "b": "bool"}
    fc = [f"{pre}fc{k}" for k in range(nc)]
    fk = [f"{pre}fk{j}" for j in range(len(ins) - nc)]
    funcs: dict = {}
    cn = dict(zip(cond.inputs, fc + fk))
    bn = dict(zip(body.inputs, fc + fk))
    c_exprs = _scalar_exprs(gen, cond, cn, f"{pre}fp", funcs)
    b_exprs = _scalar_exprs(gen, body, bn, f"{pre}fb", funcs)
    if c_exprs is None or b_exprs is None:
        return None
    if any(not isinstance(o, Node) for o in (*cond.outputs, *body.outputs)):
        return None
    lines = [f"{ind}{v} = {conv[_scalar_kind(a)]}({arg(a)})" for v, a in zip(fc + fk, ins)]
    rows = [f"{pre}fr{k}" for k in range(nc)]
    lines += [f"{ind}{r} = []" for r in rows]
    for op, fname in list(funcs.items()):  # (local names: a global lookup costs more)
        lines.append(f"{ind}{pre}{fname} = {fname}")
        funcs[op] = f"{pre}{fname}"
    lines.append(f"{ind}while True:")
    inner = ind + "    "
    fix = {f"_fl_{op}(": f"{pre}_fl_{op}(" for op in funcs}

    def local(e):
        for a, b in fix.items():
            e = e.replace(a, b)
        return e

    lines += [f"{inner}{v} = {local(e)}" for v, e in c_exprs]
    lines.append(f"{inner}if not {cn[cond.outputs[0]]}:")
    lines.append(f"{inner}    break")
    lines += [f"{inner}{r}.append({c})" for r, c in zip(rows, fc)]
    lines += [f"{inner}{v} = {local(e)}" for v, e in b_exprs]
    lines.append(f"{inner}{', '.join(fc)}, = {', '.join(bn[o] for o in body.outputs)},")
    to = {"f": "xp.float64", "i": "xp.int64", "b": "xp.bool_"}
    for k, (c, a) in enumerate(zip(fc, ins[:nc])):
        lines.append(f"{ind}{pre}c{k} = {to[_scalar_kind(a)]}({c})")
        dt = gen.const(np.dtype(a.dtype))
        lines.append(f"{ind}{pre}s{k} = xp.array({rows[k]}, dtype={dt})")
    lines.append(f"{ind}{pre}n = xp.int64(len({rows[0]}))")
    lines.append(f"{ind}del {', '.join(rows)}")
    return lines


def _stack_numpy_lines(gen, node, got, arg, pre, ind):
    cond, body = got
    nc = node.params["nc"]
    carry = [f"{pre}c{k}" for k in range(nc)]
    rows = [f"{pre}r{k}" for k in range(nc)]
    consts = [arg(a) for a in node.inputs[nc:]]
    lines = [f"{ind}{c} = {arg(a)}" for c, a in zip(carry, node.inputs[:nc])]
    lines += [f"{ind}{r} = []" for r in rows]
    limit = node.params.get("limit")
    t, stride = f"{pre}t", f"{pre}st"
    lines += [f"{ind}{t} = 0", f"{ind}{stride} = 1"]
    inner = ind + "    "
    lines += gen.while_head(cond, carry + consts, pre, ind)
    # (a carry is never written in place: the step's inputs and outputs are not donors)
    if limit is None:
        lines += [f"{inner}{r}.append({c})" for r, c in zip(rows, carry)]
    elif nc:  # thinning by doubling: the carries of steps 0, s, 2s.., at most limit
        lines.append(f"{inner}if {t} % {stride} == 0:")
        lines.append(f"{inner}    if len({rows[0]}) == {limit}:")
        lines.append(f"{inner}        {stride} *= 2")
        lines += [f"{inner}        {r} = {r}[::2]" for r in rows]
        lines.append(f"{inner}    if {t} % {stride} == 0:")
        lines += [f"{inner}        {r}.append({c})" for r, c in zip(rows, carry)]
    lines.append(f"{inner}{t} += 1")
    blines, barg = gen.graph_lines(body, carry + consts, f"{pre}b_", inner)
    lines += blines
    if nc:
        outs = [barg(o) for o in body.outputs]
        lines.append(f"{inner}{', '.join(carry)}, = {', '.join(outs)},")
    lines.append(f"{ind}{pre}n = xp.int64({t})")
    stacks = []
    for k, (r, a) in enumerate(zip(rows, node.inputs[:nc])):
        shape = tuple(a.shape or ())
        dt = gen.const(np.dtype(a.dtype))
        st = f"{pre}s{k}"
        stacks.append(st)
        lines.append(
            f"{ind}{st} = xp.array({r}, dtype={dt}) if {r} else xp.zeros({(0, *shape)!r}, "
            f"dtype={dt})"
            if not shape
            else f"{ind}{st} = xp.stack({r}) if {r} else xp.zeros({(0, *shape)!r}, dtype={dt})"
        )
    if nc:
        lines.append(f"{ind}del {', '.join(rows)}")
    major = node.params.get("major")
    if major is not None:  # under vmap: the mapped axis first (adgraph.lax.while_staged)
        size, flags = major
        for st, f in zip(stacks, flags):
            lines.append(
                f"{ind}{st} = xp.moveaxis({st}, 1, 0)"
                if f
                else f"{ind}{st} = xp.broadcast_to({st}, ({size},) + {st}.shape)"
            )
    out = carry + [f"{pre}n"] + stacks
    return lines, "(" + "".join(f"{v}, " for v in out) + ")"


def _back_lines(gen, node, arg, pre, ind):
    g = back_graph(node)
    if g is None:
        return None
    p = node.params
    if p.get("checkpoints") is not None:
        # the schedule depends on the trip count: run_back drives the compiled steps
        from ..lax.while_staged import run_back
        from .codegen import generate

        adv = advance_graph(node)
        if adv is None:
            return None
        xp = gen.ns["xp"]
        back = generate(g, xp=xp, fn_name="back")[1]
        body = generate(adv, xp=xp, fn_name="advance")[1]
        run = f"{pre}run"
        gen.ns[run] = functools.partial(
            run_back, back, p["ns"], p["nc"], body=body, checkpoints=p["checkpoints"]
        )
        return [], f"{run}([{', '.join(arg(a) for a in node.inputs)}])"
    if gen.ns["xp"] is np:
        from .floatloops import float_step

        funcs = float_step(g, gen.ns)
        if funcs is not None:
            # the step on Python floats, the NumPy loop where Python raises instead
            fast = _back_float_lines(gen, node, g, funcs, arg, pre, ind + "    ")
            slow, expr = _back_numpy_lines(gen, node, g, arg, pre, ind + "    ")
            lines = [f"{ind}try:", *fast, f"{ind}except (ArithmeticError, ValueError):", *slow]
            return lines, expr
    return _back_numpy_lines(gen, node, g, arg, pre, ind)


def _back_float_lines(gen, node, g, funcs, arg, pre, ind):
    """The ``while_back`` loop on Python floats (:mod:`adgraph.jit.floatloops`: a step of
    float64 scalars), leaving the names :func:`_back_numpy_lines` leaves."""
    from .floatloops import float_lines

    p = node.params
    ns, nc = p["ns"], p["nc"]
    ins = node.inputs
    t = f"{pre}t"
    names = {}
    fs = [f"{pre}fg{k}" for k in range(ns)]
    lines = [f"{ind}{v} = float({arg(a)})" for v, a in zip(fs, ins[:ns])]
    names.update(zip(g.inputs[:ns], fs))
    used = {i for m in g.nodes for i in m.inputs if isinstance(i, Node)}
    used |= {o for o in g.outputs if isinstance(o, Node)}
    reads = []
    for j, (a, inp) in enumerate(zip(ins[ns + 1 : ns + 1 + nc], g.inputs[ns : ns + nc])):
        names[inp] = f"{pre}fx{j}"
        if inp in used:
            lines.append(f"{ind}{pre}fl{j} = {arg(a)}.tolist()")
            reads.append(f"{pre}fx{j} = {pre}fl{j}[{t}]")
    for k, (a, inp) in enumerate(zip(ins[ns + 1 + nc :], g.inputs[ns + nc :])):
        names[inp] = f"{pre}fk{k}"
        if inp in used:
            lines.append(f"{ind}{pre}fk{k} = float({arg(a)})")
    funcs = dict(funcs)
    for op, fname in list(funcs.items()):  # (local names: a global lookup costs more)
        funcs[op] = f"{pre}{fname}"
        lines.append(f"{ind}{pre}{fname} = {fname}")
    lines.append(f"{ind}for {t} in range(int({arg(ins[ns])}) - 1, -1, -1):")
    inner = ind + "    "
    lines += [f"{inner}{r}" for r in reads]
    lines += float_lines(g, names, f"{pre}f", inner, funcs, lambda v: gen.const(float(v)))
    if ns:
        outs = [names[o] for o in g.outputs]
        lines.append(f"{inner}{', '.join(fs)}, = {', '.join(outs)},")
    lines += [f"{ind}{pre}g{k} = xp.float64({v})" for k, v in enumerate(fs)]
    return lines


def _back_numpy_lines(gen, node, g, arg, pre, ind):
    p = node.params
    ns, nc = p["ns"], p["nc"]
    ins = node.inputs
    state = [f"{pre}g{k}" for k in range(ns)]
    cs = [f"{pre}x{k}" for k in range(nc)]
    consts = [arg(a) for a in ins[ns + 1 + nc :]]
    t = f"{pre}t"
    lines = [f"{ind}{v} = {arg(a)}" for v, a in zip(state, ins[:ns])]
    lines.append(f"{ind}for {t} in range(int({arg(ins[ns])}) - 1, -1, -1):")
    inner = ind + "    "
    used = {i for m in g.nodes for i in m.inputs if isinstance(i, Node)}
    used |= {o for o in g.outputs if isinstance(o, Node)}
    for x, a, inp, m in zip(cs, ins[ns + 1 : ns + 1 + nc], g.inputs[ns : ns + nc], _major(p, nc)):
        if inp in used:  # (a stacked carry the step does not read is not indexed)
            lines.append(f"{inner}{x} = {arg(a)}[{':, ' if m else ''}{t}]")
    blines, barg = gen.graph_lines(g, state + cs + consts, pre, inner)
    lines += blines
    if ns:
        outs = [barg(o) for o in g.outputs]
        lines.append(f"{inner}{', '.join(state)}, = {', '.join(outs)},")
    return lines, "(" + "".join(f"{v}, " for v in state) + ")"


class _Inputs:
    """A primitive's concrete arguments as the inputs of a loop node (for the graphs)."""

    __slots__ = ("inputs", "params")

    def __init__(self, vals, params):
        self.inputs = [Const(v) for v in vals]
        self.params = params


def run_while_node(name, vals, params, xp):
    """The ``while_loop``, ``while_stack`` or ``while_back`` primitive named ``name`` on
    concrete ``vals``, its steps compiled to Python code once (a traced program computes
    each loop's values while it is traced: this keeps that fast); None when a step has no
    graph (the caller then binds the primitive)."""
    from ..lax.while_staged import run_back, run_stack
    from .codegen import generate

    node = _Inputs(vals, params)
    if name == "while_back":
        g = back_graph(node)
        if g is None:
            return None
        step = generate(g, xp=xp, fn_name="back")[1]
        k, body = params.get("checkpoints"), None
        if k is not None:
            adv = advance_graph(node)
            if adv is None:
                return None
            body = generate(adv, xp=xp, fn_name="advance")[1]
        return run_back(step, params["ns"], params["nc"], vals, body, k, params.get("major"))
    got = while_graphs(node)
    if got is None:
        return None
    cond, body = (generate(g, xp=xp, fn_name=nm)[1] for g, nm in zip(got, ("cond", "body")))
    keep = name == "while_stack"
    out = run_stack(
        cond,
        body,
        params["nc"],
        vals,
        xp,
        keep=keep,
        limit=params.get("limit"),
        major=params.get("major"),
    )
    return out if keep else out[: params["nc"]]
