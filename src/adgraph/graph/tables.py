r"""Evaluation-trace tables: the forward primal, forward tangent and reverse adjoint traces.

For :math:`y = x_1 x_2 + x_2 - \ln x_1` at :math:`(2, 4)` the primal trace reads

=================  ======================
Forward primal     Output
=================  ======================
v_-1 = x_1         2
v_0  = x_2         4
v_1  = v_-1 v_0    2(4) = 8
v_2  = ln(v_-1)    ln(2) = 0.693
v_3  = v_1 + v_0   8 + 4 = 12
v_4  = v_3 - v_2   12 - 0.693 = 11.307
y    = v_4         11.307
=================  ======================

Inputs are :math:`v_{1-n}, \dots, v_0`; the other nodes are numbered in topological order
(:meth:`Graph.toposort`). The tangent trace gives :math:`\dot v_i` for a seed direction,
each as a sum over the node's arguments of (local partial) x (argument's tangent); the
adjoint trace, in reverse topological order, gives :math:`\bar v_i` as a sum over the node's
consumers of (consumer's adjoint) x (local partial). Scalar rows show the numbers
substituted; array rows show the resulting array or a summary of it.

Inputs and nodes of integer or boolean dtype carry no derivative (the engine gives them no
tangent and no adjoint): their rows in the tangent and adjoint tables read
``— (int64: not differentiable)`` instead of a number, so that an input passed as ``2``
rather than ``2.0`` is not mistaken for one whose derivative is 0.

Every table renders as text (``str``), Markdown, LaTeX, HTML (``_repr_html_``, for
Jupyter) and plain data (``to_dict``, JSON-ready). This module builds the tables from a
graph; the table objects and their renderings are in :mod:`.tracetable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.primitive import MissingRuleError
from .nodes import Const, Node
from .notation import (
    MINUS_ONE,
    ONE,
    PARAM_TEMPLATES,
    PARTIALS,
    PRIMAL,
    VALUE,
    Fn,
    Num,
    Sup,
    Sym,
    fmt_number,
    fmt_value,
    input_symbol,
    shape_str,
    substitute,
)
from .sweeps import local_partials
from .tracetable import (
    Partial,
    Row,
    TraceTable,
    TraceTables,
    _no_derivative,
)

if TYPE_CHECKING:  # types only: the views never import the graph at run time
    from .ir import Graph

__all__ = [
    "TraceTable",
    "TraceTables",
    "trace_tables",
    "primal_table",
    "tangent_table",
    "adjoint_table",
    "expression",
]


# ---------------------------------------------------------------------- building blocks
class _Names:
    """Symbols of nodes and constants in one graph."""

    def __init__(self, graph, digits):
        self.graph = graph
        self.labels = graph.labels()
        self.digits = digits

    def sym(self, node, accent=None):
        return Sym("v", self.labels[node], accent)

    def atom(self, i, accent=None):
        """Symbol of an argument (Node) or the constant itself."""
        if isinstance(i, Node):
            return [self.sym(i, accent)]
        return [Num(self.const(i))]

    def const(self, c: Const):
        if c.shape == ():
            return fmt_number(c.value, self.digits)
        return "const " + shape_str(c.shape, c.dtype)

    def value_atom(self, i):
        v = i.value
        if np.shape(v) == ():
            return [Num(fmt_number(v, self.digits))]
        return [Num(shape_str(np.shape(v), np.asarray(v).dtype))]

    def num(self, v):
        return Num(fmt_value(v, self.digits))


def _params_text(params) -> str:
    out = []
    for k, v in params.items():
        if callable(v) or k.startswith("_") or k == "skel":
            continue
        r = repr(v)
        if len(r) > 24:
            r = r[:21] + "..."
        out.append(f"{k}={r}")
    return ", ".join(out)


def expression(node: Node, names: _Names, values: bool = False) -> list[Any]:
    """Tokens of ``op(args)`` for a node: symbols, or (``values=True``) numbers."""
    atoms = {
        str(k): (names.value_atom(i) if values else names.atom(i))
        for k, i in enumerate(node.inputs)
    }
    if node.op == "item":
        return [*atoms["0"], f"[{node.params['index']}]"]
    if (
        node.op == "multiply"
        and isinstance(node.inputs[1], Const)
        and isinstance(node.inputs[0], Node)
    ):
        # a constant factor is written first: 2 v_1, not v_1 2
        atoms["0"], atoms["1"] = atoms["1"], atoms["0"]
    if node.op == "getitem" and "skel" in node.params:
        return [*atoms["0"], "[", *_index_tokens(node.params["skel"], atoms), "]"]
    tpl = None
    if values:
        tpl = VALUE.get(node.op)
    if tpl is None:
        tpl = PRIMAL.get(node.op)
    pnames = PARAM_TEMPLATES.get(node.op, ())
    if tpl is not None and set(node.params) <= set(pnames):
        for k in pnames:
            atoms[k] = [Num(fmt_number(node.params[k], names.digits))]
        return substitute(tpl, atoms)
    toks: list = [Fn(node.op), "("]
    for j in range(len(node.inputs)):
        if j:
            toks.append(", ")
        toks.extend(atoms[str(j)])
    p = "" if values else _params_text(node.params)
    if p:
        toks.append((", " if node.inputs else "") + p)
    if not values and isinstance(node.params.get("skel"), tuple):
        # an index (as in x[1:, i]) whose array parts are arguments 1, 2, ...
        toks += [", at [", *_index_tokens(node.params["skel"], atoms), "]"]
    toks.append(")")
    return toks


def _index_tokens(skel, atoms) -> list:
    """``x[skel]`` with array parts (placeholders ``k``) shown by their argument symbols."""
    out: list = []
    for j, s in enumerate(skel):
        if j:
            out.append(", ")
        k = getattr(s, "k", None)
        if k is not None:
            out.extend(atoms[str(k + 1)])
        elif isinstance(s, slice):
            parts = ["" if v is None else str(v) for v in (s.start, s.stop, s.step)]
            txt = ":".join(parts[:2]) + (f":{parts[2]}" if s.step is not None else "")
            out.append(txt)
        elif s is None:
            out.append("newaxis")
        elif s is Ellipsis:
            out.append("...")
        else:
            out.append(str(s))
    return out


def _needs_brackets(toks) -> bool:
    """True when a product with ``toks`` must bracket them (a top-level operator)."""
    depth = 0
    for t in toks:
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        elif depth == 0 and t in (" + ", " - ", "/", " ", "-"):
            return True
    return False


def _scalar_args(node) -> bool:
    return all(np.shape(i.value) == () for i in node.inputs)


def _join(terms) -> list:
    """Join signed terms: a term starting with '-' is joined with ' - '."""
    out: list = []
    for t in terms:
        t = list(t)
        neg = bool(t) and (t[0] == "-" or (isinstance(t[0], Num) and t[0].negative))
        if out:
            if neg:
                if t[0] == "-":
                    t = t[1:]
                else:
                    t = [Num(t[0].s[1:]), *t[1:]]
                out.append(" - ")
            else:
                out.append(" + ")
        out.extend(t)
    return out


def _partial_tokens(consumer, k, names: _Names):
    """(kind, tokens) of d consumer / d argument k: kind is 'one', 'minus_one',
    'recip' (tokens: the denominator), 'expr' or 'generic'."""
    table = PARTIALS.get(consumer.op)
    if consumer.op == "item":
        return "one", []
    generic = "generic", [Partial(names.sym(consumer), names.atom(consumer.inputs[k])[0])]
    extra_params = set(consumer.params) - set(PARAM_TEMPLATES.get(consumer.op, ()))
    if consumer.op != "integer_pow" and (table is None or k >= len(table) or extra_params):
        return generic
    p = table[k] if table is not None else None
    if p == ONE:
        return "one", []
    if p == MINUS_ONE:
        return "minus_one", []
    subs = {str(m): names.atom(i) for m, i in enumerate(consumer.inputs)}
    subs["out"] = [names.sym(consumer)]
    const_pow = (
        consumer.op == "power"
        and k == 0
        and isinstance(consumer.inputs[1], Const)
        and consumer.inputs[1].shape == ()
    )
    if const_pow or consumer.op == "integer_pow":
        # x^c: c x^(c-1) with the exponent worked out
        c = consumer.params["n"] if consumer.op == "integer_pow" else consumer.inputs[1].value
        c1 = fmt_number(c - 1, names.digits)
        base = names.atom(consumer.inputs[0])
        toks = [Num(fmt_number(c, names.digits)), " ", *base]
        if c1 != "1":
            toks.append(Sup([Num(c1)]))
        return "expr", toks
    if p is None:  # (only integer_pow has no table, and its partial is written above)
        return generic
    toks = substitute(p, subs)
    if len(toks) >= 3 and isinstance(toks[0], Num) and toks[0].s == "1" and toks[1] == "/":
        return "recip", toks[2:]
    return "expr", toks


def _term(kind, ptoks, d, derivative_first: bool):
    """A chain-rule term: partial times the derivative symbol ``d`` (tangent: partial
    first; adjoint: adjoint first)."""
    if kind == "one":
        return [d]
    if kind == "minus_one":
        return ["-", d]
    if kind == "recip":
        den = ["(", *ptoks, ")"] if _needs_brackets(ptoks) else ptoks
        return [d, "/", *den]
    if kind == "expr" and len(ptoks) == 1 and isinstance(ptoks[0], Num):
        return [ptoks[0], " ", d]  # a constant factor goes first
    p = ["(", *ptoks, ")"] if kind == "expr" and _needs_brackets(ptoks) else ptoks
    if kind == "expr" and ptoks and ptoks[0] == "-":
        inner = ptoks[1:]
        inner = ["(", *inner, ")"] if _needs_brackets(inner) else inner
        return ["-", d, " ", *inner] if derivative_first else ["-", *inner, " ", d]
    return [d, " ", *p] if derivative_first else [*p, " ", d]


def _value_term(kind, partial, d, digits, derivative_first=False):
    """Numbers of a chain-rule term: ``d`` alone, ``-d``, or ``p(d)`` (``d(p)`` when
    ``derivative_first``, as adjoint terms are written)."""
    if kind == "one":
        return [Num(fmt_number(d, digits))]
    if kind == "minus_one":
        return [Num(fmt_number(-d, digits))]
    a, b = (d, partial) if derivative_first else (partial, d)
    return [Num(fmt_number(a, digits)), "(", Num(fmt_number(b, digits)), ")"]


def _unique(nodes) -> list:
    seen, out = set(), []
    for n in nodes:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def _sum_value(vterms, total, names) -> list:
    """``terms = total``, or just ``total`` when the terms would only repeat it."""
    res = names.num(total)
    if not vterms:
        return [res]
    joined = _join(vterms)
    if len(joined) == 1 and isinstance(joined[0], Num) and joined[0].s == res.s:
        return [res]
    return [*joined, " = ", res]


def _both_scalar(*xs) -> bool:
    return all(x is not None and np.shape(x) == () and np.isrealobj(x) for x in xs)


# ---------------------------------------------------------------------- the tables
def _output_syms(graph, accent=None):
    """Output symbols: ``y`` (``y_1, y_2...``), or ``f`` when an input is already ``y``."""
    n = len(graph.outputs)
    taken = {(node.name or "").split("[")[0] for node in graph.inputs}
    base = next(c for c in ("y", "f", "z", "out") if c not in taken)
    return [Sym(base, None if n == 1 else k + 1, accent) for k in range(n)]


def primal_table(graph: Graph, digits: int = 3) -> TraceTable:
    """The forward primal trace: every node's definition and value."""
    names = _Names(graph, digits)
    rows = []
    for node in graph.toposort():
        if node.is_input:
            rows.append(
                Row(
                    [names.sym(node)],
                    [input_symbol(node.name)],
                    [names.num(node.value)],
                    node.value,
                )
            )
            continue
        rhs = expression(node, names)
        if node.shape == () and _scalar_args(node) and not node.multiple_results:
            val = [*expression(node, names, values=True), " = ", names.num(node.value)]
        else:
            val = [names.num(node.value)]
        rows.append(Row([names.sym(node)], rhs, val, node.value))
    for ysym, o in zip(_output_syms(graph), graph.outputs, strict=False):
        v = o.value
        rows.append(Row([ysym], names.atom(o), [names.num(v)], v))
    return TraceTable("primal", "Forward primal trace", rows)


def tangent_table(
    graph: Graph, seed: Any = None, digits: int = 3, tangents: dict[Node, Any] | None = None
) -> TraceTable:
    """The forward tangent trace for input direction ``seed`` (see
    :meth:`Graph.tangents`): every node's tangent by the chain rule."""
    names = _Names(graph, digits)
    tan = graph.tangents(seed) if tangents is None else tangents
    rows = []
    for node in graph.toposort():
        t = tan.get(node)
        d = names.sym(node, "dot")
        if not _differentiable(node):
            rhs: list = [input_symbol(node.name, "dot")] if node.is_input else []
            rows.append(Row([d], rhs, [_no_derivative(node.value)], None))
            continue
        if node.is_input:
            rows.append(Row([d], [input_symbol(node.name, "dot")], [names.num(t)], t))
            continue
        if t is None:
            rows.append(Row([d], [Num("0")], [Num("0")], None))
            continue
        terms, vterms = [], []
        partials = local_partials(node) if node.shape == () else None
        numeric = partials is not None
        for k, i in enumerate(node.inputs):
            if not isinstance(i, Node) or tan.get(i) is None:
                continue
            kind, ptoks = _partial_tokens(node, k, names)
            terms.append(_term(kind, ptoks, names.sym(i, "dot"), derivative_first=False))
            if (
                numeric
                and partials is not None
                and partials[k] is not None
                and _both_scalar(tan[i])
            ):
                vterms.append(_value_term(kind, partials[k], tan[i], digits))
            else:
                numeric = False
        rhs = _join(terms) if terms else [Num("0")]
        rows.append(Row([d], rhs, _sum_value(vterms if numeric else None, t, names), t))
    for ysym, o in zip(_output_syms(graph, "dot"), graph.outputs, strict=False):
        t = tan.get(o) if isinstance(o, Node) else None
        rhs = [names.sym(o, "dot")] if isinstance(o, Node) else [Num("0")]
        value = [names.num(t)] if _differentiable(o) else [_no_derivative(o.value)]
        rows.append(Row([ysym], rhs, value, t))
    return TraceTable("tangent", "Forward tangent trace", rows)


def adjoint_table(
    graph: Graph, ct: Any = None, digits: int = 3, adjoints: dict[Node, Any] | None = None
) -> TraceTable:
    """The reverse adjoint trace for output cotangent ``ct`` (see
    :meth:`Graph.adjoints`), in reverse topological order, then the inputs' adjoints."""
    names = _Names(graph, digits)
    adj = graph.adjoints(ct) if adjoints is None else adjoints
    consumers = graph.consumers()
    out_index: dict[Node, list[int]] = {}
    for k, o in enumerate(graph.outputs):
        if isinstance(o, Node):
            out_index.setdefault(o, []).append(k)
    ybars = _output_syms(graph, "bar")
    ct_vals = _seed_values(graph, ct)
    partial_cache: dict = {}

    def partials_of(c):
        if c not in partial_cache:
            partial_cache[c] = local_partials(c) if c.shape == () else None
        return partial_cache[c]

    rows = []
    rev = list(reversed(graph.toposort()))
    position = {n: k for k, n in enumerate(rev)}
    for node in rev:
        a = adj.get(node)
        if a is None and not node.is_input:
            continue
        if not _differentiable(node):
            rows.append(Row([names.sym(node, "bar")], [], [_no_derivative(node.value)], None))
            continue
        terms, vterms = [], []
        numeric = _both_scalar(a)
        for k in out_index.get(node, ()):
            terms.append([ybars[k]])
            if numeric and _both_scalar(ct_vals[k]):
                vterms.append([Num(fmt_number(ct_vals[k], digits))])
            else:
                numeric = False
        # consumers in the order the reverse sweep reaches them
        for c in sorted(_unique(consumers[node]), key=position.__getitem__):
            ca = adj.get(c)
            if ca is None:
                continue
            for k, i in enumerate(c.inputs):
                if i is not node:
                    continue
                if c.op == "item":
                    terms.append([names.sym(c, "bar")])
                    numeric = False
                    continue
                kind, ptoks = _partial_tokens(c, k, names)
                terms.append(_term(kind, ptoks, names.sym(c, "bar"), derivative_first=True))
                ps = partials_of(c) if numeric else None
                if ps is not None and ps[k] is not None and _both_scalar(ca):
                    const_first = len(ptoks) == 1 and isinstance(ptoks[0], Num)
                    vterms.append(
                        _value_term(kind, ps[k], ca, digits, derivative_first=not const_first)
                    )
                else:
                    numeric = False
        if not terms:
            rows.append(Row([names.sym(node, "bar")], [Num("0")], [Num("0")], a))
            continue
        rows.append(
            Row(
                [names.sym(node, "bar")],
                _join(terms),
                _sum_value(vterms if numeric else None, a, names),
                a,
            )
        )
    for node in graph.inputs:
        a = adj.get(node)
        value = [names.num(a)] if _differentiable(node) else [_no_derivative(node.value)]
        rows.append(Row([input_symbol(node.name, "bar")], [names.sym(node, "bar")], value, a))
    return TraceTable("adjoint", "Reverse adjoint trace", rows)


def _differentiable(node) -> bool:
    """False for a node whose value has an integer or boolean dtype: it carries no tangent
    and no adjoint (constants count as differentiable: their derivative is 0)."""
    from .sweeps import is_diff

    if not isinstance(node, Node) or node.multiple_results:
        return True
    return is_diff(node.value)


def _seed_values(graph, ct):
    from .sweeps import _out_cts

    return _out_cts(graph, ct)


def trace_tables(
    graph: Graph,
    seed: Any = None,
    ct: Any = None,
    digits: int = 3,
    tangent: bool = True,
    adjoint: bool = True,
) -> TraceTables:
    """The primal table, and (unless switched off) the tangent and adjoint tables."""
    p = primal_table(graph, digits)
    notes = []
    t = None
    if tangent:
        try:
            t = tangent_table(graph, seed, digits)
        except MissingRuleError as e:
            # forward mode does not exist for this graph (a custom_vjp function, a primitive
            # with reverse rules only): the other tables still do
            notes.append(f"Forward tangent trace: not available. {str(e).split('. ')[0]}.")
    a = adjoint_table(graph, ct, digits) if adjoint else None
    return TraceTables(p, t, a, notes)
