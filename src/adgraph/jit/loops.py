"""Loops in compiled programs: the body of a ``scan`` node as a graph of its own.

A ``scan`` node of a traced program (``adgraph.lax.scan``, ``fori_loop``, ``map``, and the
two loops of their reverse mode under ``jit``) holds its step function as a parameter.
The code generators emit one loop around the step's code, so a program's size -- and its
compile time -- does not grow with the trip count. :func:`body_graph` traces the step once,
on one step's example values, into a simplified graph whose inputs are the step's flat
arguments ``(*carry, *x, *consts)`` and whose outputs are ``(*carry, *y)``.

A step that the compilers cannot hold as straight-line code -- Python branches on its
values (guards), effects (``debug.print``), values of enclosing transformations it closes
over, or anything else that fails to trace -- has no body graph: the program then runs
the loop by calling the ``scan`` implementation, the step in Python once per iteration.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from ..ad.tape import observe
from ..core.pytree import tree_flatten
from ..graph.ir import Const, Graph, Node
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = [
    "body_graph",
    "branch_graphs",
    "while_graphs",
    "back_graph",
    "advance_graph",
    "staged_while_lines",
    "run_while_node",
    "loop_inputs",
    "arange_start",
    "GraphBody",
    "share_residuals",
]


class GraphBody:
    """A step function given as a graph (the step of a loop rewritten by
    :func:`share_residuals`): calling it evaluates the graph; :func:`body_graph` returns
    the graph itself."""

    __slots__ = ("graph", "__weakref__")

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def __call__(self, *leaves):
        return tuple(self.graph.evaluate(list(leaves)))


def _example(x, stacked: bool):
    """One step's example of the scan argument ``x`` (a Node or a Const): its traced value
    (the first slice of a stacked one) when known, else zeros of its shape and dtype."""
    v = x.value
    shape = tuple(x.shape or ())
    if stacked:
        shape = shape[1:]
    if v is not None and (not stacked or np.shape(v)[:1] not in ((), (0,))):
        v = v[0] if stacked else v
        if not hasattr(v, "dtype"):
            v = np.asarray(v)[()]
        return v
    return np.zeros(shape, dtype=x.dtype)[()]


def loop_inputs(node: Node):
    """``(carry, xs, consts)``: the scan node's arguments, split."""
    p = node.params
    nc, nx = p["nc"], p["nx"]
    ins = list(node.inputs)
    return ins[:nc], ins[nc : nc + nx], ins[nc + nx :]


def body_graph(node: Node) -> Graph | None:
    """The simplified graph of the step of the ``scan`` node ``node``, or None when the
    step cannot be compiled as straight-line code (see the module documentation)."""
    body = node.params["body"]
    if isinstance(body, GraphBody):
        return body.graph
    try:
        return _BODIES[body]
    except (KeyError, TypeError):
        pass
    got = _trace_body(node)
    try:
        _BODIES[body] = got
    except TypeError:  # not weakly referable: traced again when needed
        pass
    return got


def branch_graphs(node: Node) -> list[Graph] | None:
    """The simplified graphs of the branches of the ``switch`` node ``node`` (each a
    function of the operands ``node.inputs[1:]``), or None when one cannot be compiled as
    straight-line code; branches whose outputs disagree are refused (TypeError)."""
    ops = node.inputs[1:]
    graphs = []
    for b in node.params["branches"]:
        try:
            got = _BODIES[b]
        except (KeyError, TypeError):
            # (a branch whose outputs disagree with another's raises TypeError: refused)
            got = _trace_fn(b, [_example(a, False) for a in ops], refuse=TypeError)
            try:
                _BODIES[b] = got
            except TypeError:
                pass
        if got is None:
            return None
        graphs.append(got)
    first = graphs[0].outputs
    for k, g in enumerate(graphs[1:], 1):
        bad = len(g.outputs) != len(first) or any(
            tuple(a.shape or ()) != tuple(o.shape or ()) or a.dtype != o.dtype
            for a, o in zip(first, g.outputs)
        )
        if bad:
            raise TypeError(
                f"lax.cond/switch under jit: branch {k} returns "
                f"{[(o.dtype.name, list(o.shape or ())) for o in g.outputs]} and branch 0 "
                f"{[(o.dtype.name, list(o.shape or ())) for o in first]}; every branch is "
                "compiled, so they must return the same structure, shapes and dtypes"
            )
    return graphs


def while_graphs(node: Node) -> tuple[Graph, Graph] | None:
    """``(cond, body)``: the graphs of the ``while_loop`` node's predicate and step, each
    a function of ``(*carry, *consts)``, or None when one is not straight-line code."""
    p = node.params
    nc = p["nc"]
    leaves = [_example(a, False) for a in node.inputs]
    got = []
    for fn in (p["cond"], p["body"]):
        try:
            g = _BODIES[fn]
        except (KeyError, TypeError):
            g = _trace_fn(fn, leaves)
            try:
                _BODIES[fn] = g
            except TypeError:
                pass
        if g is None:
            return None
        got.append(g)
    cond, body = got
    if len(cond.outputs) != 1 or len(body.outputs) != nc:
        return None
    for a, o in zip(node.inputs[:nc], body.outputs):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return cond, body


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
    lines.append(f"{ind}while True:")
    inner = ind + "    "
    clines, carg = gen.graph_lines(cond, carry + consts, f"{pre}p_", inner)
    lines += clines
    lines.append(f"{inner}if not {carg(cond.outputs[0])}:")
    lines.append(f"{inner}    break")
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
    from .floatloops import const_expr, float_expr

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
    for k, m in enumerate(x for x in g.toposort() if not x.is_input):
        args = []
        for i in m.inputs:
            if isinstance(i, Node):
                args.append(names[i])
            else:
                args.append(const_expr(i.value) or gen.const(float(i.value)))
        names[m] = f"{pre}f{k}"
        lines.append(f"{inner}{names[m]} = {float_expr(m, args, funcs)}")
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


# step function -> its graph (or None): a step is traced once, while its program is
# traced (to run the loop fast) and not again by the code generators.
_BODIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Values:
    """A scan's arguments as the inputs of :func:`body_graph`'s node argument."""

    __slots__ = ("inputs", "params")

    def __init__(self, vals, params):
        self.inputs = [Const(v) for v in vals]
        self.params = params


def run_scan(vals, params, xp):
    """The ``scan`` on concrete ``vals``, its step compiled to Python code once (a traced
    program runs each loop while it is traced: this keeps that fast); None when the step
    has no body graph (the caller then binds the primitive)."""
    from .codegen import generate

    g = body_graph(_Values(vals, params))
    if g is None:
        return None
    _, step = generate(g, xp=xp, fn_name="step")
    nc, nx, n = params["nc"], params["nx"], params["length"]
    carry = list(vals[:nc])
    xs = vals[nc : nc + nx]
    consts = list(vals[nc + nx :])
    ys = [xp.empty((n,) + tuple(o.shape), dtype=o.dtype) for o in g.outputs[nc:]]
    for t in range(n - 1, -1, -1) if params["reverse"] else range(n):
        out = step(*carry, *[x[t] for x in xs], *consts)
        for y, o in zip(ys, out[nc:]):
            y[t] = o
        carry = out[:nc]
    return (*carry, *ys)


def _trace_fn(fn, leaves, refuse=()):
    """``fn`` (of flat leaves) traced on ``leaves`` and simplified, or None when it does
    not give straight-line code (guards, closures, effects, or any failure but the
    exceptions ``refuse``, which propagate)."""
    try:
        in_tree = tree_flatten(tuple(range(len(leaves))))[1]
        # (example values only fix the program; a tape observer -- make_source's -- is
        # not shown the step's own nodes)
        with np.errstate(all="ignore"), observe(None):
            graph, guards, closures = trace_for_jit(fn, leaves, in_tree)
    except refuse:
        raise
    except Exception:  # noqa: BLE001 - any function that does not trace runs in Python
        return None
    if guards or closures or getattr(graph, "effects", None):
        return None
    for o in graph.outputs:
        if isinstance(o, Const) and not hasattr(o.value, "dtype"):
            return None
    graph, _ = simplify(graph)
    return graph


def _trace_body(node):
    p = node.params
    carry, xs, consts = loop_inputs(node)
    leaves = (
        [_example(a, False) for a in carry]
        + [_example(a, True) for a in xs]
        + [_example(a, False) for a in consts]
    )
    graph = _trace_fn(p["body"], leaves)
    if graph is None:
        return None
    n_out = len(graph.outputs)
    if n_out < p["nc"]:
        return None
    # The carry must keep its shape and dtype (the loop checked it while tracing).
    for a, o in zip(carry, graph.outputs[: p["nc"]]):
        if tuple(a.shape or ()) != tuple(o.shape or ()) or np.dtype(a.dtype) != np.dtype(o.dtype):
            return None
    return graph


def arange_start(x) -> int | None:
    """``lo`` when the constant ``x`` is ``arange(lo, lo + n)`` of integers (the index of
    ``fori_loop``): the step's slice is then ``lo + t``, with no array to read."""
    if not isinstance(x, Const):
        return None
    v = x.value
    if not isinstance(v, np.ndarray) or v.ndim != 1 or v.dtype.kind not in "iu" or not v.size:
        return None
    lo = int(v[0])
    if np.array_equal(v, np.arange(lo, lo + v.size, dtype=v.dtype)):
        return lo
    return None


# ------------------------------------------------------------------ residuals
# Under jit, reverse mode through a scan is a forward loop that stacks the carries and a
# backward loop that runs each step again from its stored carry (adgraph.lax.staged). The
# backward step's values that depend only on that carry (and on the same xs and closed-over
# values) -- sin(c) and cos(c) of a step computing sin(c), say -- are what the forward step
# computes anyway: share_residuals moves them into the forward loop, which stores them
# stacked, and the backward loop reads them instead of computing them again.


def _rebuild(nodes, sub):
    """Copies of ``nodes`` (in topological order) with their inputs replaced through
    ``sub`` (``{old: new}``, filled in as it goes); a node whose inputs did not change is
    kept as it is."""
    for n in nodes:
        if n in sub or n.is_input:
            continue
        ins = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in n.inputs)
        if all(a is b for a, b in zip(ins, n.inputs)):
            continue
        sub[n] = _copy(n, ins)
    return sub


def _copy(n, ins, **params):
    return Node(
        n.op,
        ins,
        dict(n.params, **params),
        prim=n.prim,
        value=n.value,
        shape=n.shape,
        dtype=n.dtype,
        name=n.name,
    )


def _same_input(a, b) -> bool:
    return a is b or (isinstance(a, Const) and isinstance(b, Const) and a.value is b.value)


def _links(B, F, gF):
    """``{position of B's step input: position of F's step input}`` for the step inputs
    of the loop ``B`` that hold, at each index, what F's step input holds at that index:
    F's carries stacked by F, the same xs and the same closed-over values."""
    pF, pB = F.params, B.params
    if pF["length"] != pB["length"]:
        return {}
    ncF, nxF = pF["nc"], pF["nx"]
    ncB, nxB = pB["nc"], pB["nx"]
    cB, xsB, kB = loop_inputs(B)
    _, xsF, kF = loop_inputs(F)
    links = {}
    for m, a in enumerate(xsB):
        if isinstance(a, Node) and a.op == "item" and a.inputs[0] is F:
            idx = a.params["index"]
            out = gF.outputs[idx] if idx >= ncF else None
            if isinstance(out, Node) and out.is_input:
                links[ncB + m] = gF.inputs.index(out)
            continue
        for j, b in enumerate(xsF):
            if _same_input(a, b):
                links[ncB + m] = ncF + j
                break
    for m, a in enumerate(kB):
        for j, b in enumerate(kF):
            if _same_input(a, b):
                links[ncB + nxB + m] = ncF + nxF + j
                break
    return links


def _pair(B, gF, gB, F):
    """The rewritten steps ``(F's, B's, residual count)`` where B's step reads, as extra
    xs, the values F's step now stores; None when nothing is shared."""
    links = _links(B, F, gF)
    if not any(
        B.inputs[p].op == "item" and B.inputs[p].inputs[0] is F
        for p in links
        if isinstance(B.inputs[p], Node)
    ):
        return None
    linked = {gB.inputs[p] for p in links}
    order = [n for n in gB.toposort() if not n.is_input]
    primal = set()
    for n in order:
        deps = [i for i in n.inputs if isinstance(i, Node)]
        if n.op != "scan" and all(i in primal or i in linked for i in deps) and deps:
            primal.add(n)
    used_later = set()
    for n in order:
        if n not in primal:
            used_later.update(i for i in n.inputs if isinstance(i, Node) and i in primal)
    used_later.update(o for o in gB.outputs if isinstance(o, Node) and o in primal)
    frontier = [n for n in order if n in used_later and n.op != "item"]
    if not frontier or any(n.shape is None or n.dtype is None for n in frontier):
        return None
    # F's step computes them too, from its own inputs (CSE then merges what it shares).
    sub = {gB.inputs[p]: gF.inputs[k] for p, k in links.items()}
    _rebuild([n for n in order if n in primal], sub)
    gF2 = Graph(gF.inputs, list(gF.outputs) + [sub[n] for n in frontier], name=gF.name)
    gF2, _ = simplify(gF2)
    # B's step reads them as extra xs (after its own), the rest of its inputs unchanged.
    ncB, nxB = B.params["nc"], B.params["nx"]
    new_in = [
        Node("input", (), shape=tuple(n.shape), dtype=n.dtype, name=f"r{k}")
        for k, n in enumerate(frontier)
    ]
    subB = dict(zip(frontier, new_in))
    _rebuild([n for n in order if n not in primal], subB)
    inputs = gB.inputs[: ncB + nxB] + new_in + gB.inputs[ncB + nxB :]
    gB2 = Graph(inputs, [subB.get(o, o) for o in gB.outputs], name=gB.name)
    gB2, _ = simplify(gB2)
    return gF2, gB2, frontier


def share_residuals(graph: Graph) -> Graph:
    """``graph`` with each backward loop reading, from the forward loop whose carries it
    reads, the values of its step that depend on those carries alone (see above)."""
    scans = [n for n in graph.toposort() if n.op == "scan"]
    if len(scans) < 2:
        return graph
    sub: dict = {}
    done = False
    for B in scans:
        Bn = sub.get(B, B)
        producers: set[Node] = {
            i.inputs[0]
            for i in Bn.inputs
            if isinstance(i, Node)
            and i.op == "item"
            and isinstance(i.inputs[0], Node)
            and i.inputs[0].op == "scan"
        }
        if len(producers) != 1:
            continue
        (F,) = producers
        gF, gB = body_graph(F), body_graph(Bn)
        if gF is None or gB is None:
            continue
        got = _pair(Bn, gF, gB, F)
        if got is None:
            continue
        gF2, gB2, frontier = got
        n = F.params["length"]
        F2 = Node(
            "scan",
            F.inputs,
            dict(F.params, body=GraphBody(gF2)),
            prim=F.prim,
            shape=tuple(F.shape) + tuple((n,) + tuple(f.shape) for f in frontier),
            dtype=tuple(F.dtype) + tuple(f.dtype for f in frontier),
        )
        # F's outputs: the items of the old node now read the new one
        for node in graph.toposort():
            if node.op == "item" and node.inputs[0] is F:
                sub[node] = _copy(node, (F2,))
        res = [
            Node("item", (F2,), {"index": len(F.shape) + k}, shape=sh, dtype=dt)
            for k, (sh, dt) in enumerate(zip(F2.shape[len(F.shape) :], F2.dtype[len(F.shape) :]))
        ]
        ncB, nxB = Bn.params["nc"], Bn.params["nx"]
        ins = [sub.get(i, i) if isinstance(i, Node) else i for i in Bn.inputs]
        ins = ins[: ncB + nxB] + res + ins[ncB + nxB :]
        B2 = Node(
            "scan",
            ins,
            dict(Bn.params, body=GraphBody(gB2), nx=nxB + len(res)),
            prim=Bn.prim,
            shape=Bn.shape,
            dtype=Bn.dtype,
        )
        sub[F] = F2
        sub[B] = B2
        done = True
    if not done:
        return graph
    # The new loops were built with their arguments as they stood: one computed from an
    # old loop's outputs (sin of F's last carry, read by B) is rebuilt below, in order,
    # and the new loops then read the rebuilt value (else the old loop stays alive).
    fresh = {id(m) for k, m in sub.items() if k.op == "scan"}
    for n in graph.toposort():
        m = sub.get(n)
        if m is not None:
            if id(m) in fresh:
                m.inputs = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in m.inputs)
            continue
        if n.is_input:
            continue
        new_ins = tuple(sub.get(i, i) if isinstance(i, Node) else i for i in n.inputs)
        if not all(a is b for a, b in zip(new_ins, n.inputs)):
            sub[n] = _copy(n, new_ins)
    out = Graph(
        graph.inputs,
        [sub.get(o, o) if isinstance(o, Node) else o for o in graph.outputs],
        in_tree=graph.in_tree,
        out_tree=graph.out_tree,
        name=graph.name,
    )
    out.effects = [sub.get(e, e) for e in getattr(graph, "effects", ())]
    return out
