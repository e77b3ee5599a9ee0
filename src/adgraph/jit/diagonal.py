"""Matrix products by an expanded diagonal, for the Python code generator.

``jacfwd`` of a function of one array seeds a diagonal basis. Eager mode keeps it diagonal
(``adgraph.ad.batched_jvp.Diagonal``), and a matrix times it becomes a scaling of rows,
where the diagonal is finite -- a test on values, which tracing cannot make. A traced
program therefore holds the basis expanded, ``I * v``, and a dense product of it: O(n^3)
work for an O(n^2) result (a 100x100 Jacobian through ``A @ sin(x)``: a BLAS ``gemm``
that took most of the compiled call). :func:`diagonal_products` gives the code generator
a graph whose such products test the values when the program runs and scale rows or
columns where the test holds.
"""

from __future__ import annotations

import numpy as np

from ..graph.ir import Const, Graph, Node

__all__ = ["diagonal_products"]


class _DiagonalProduct:
    """The implementation of a ``diag_matmul`` node (see :func:`diagonal_products`): what
    the code generator calls, never bound as a primitive (the node exists only in the
    graph handed to the Python code generator)."""

    multiple_results = False

    def __init__(self, dense):
        self.dense = dense  # the matmul primitive's implementation

    def impl(self, xp, v, m, *, eye, left, m_finite, out=None):
        if xp.isfinite(v).all() and (m_finite or xp.isfinite(m).all()):
            # diag(v) @ m = v[:, None] * m; m @ diag(v) = m * v[None, :] (C order, the
            # layout of the matrix product it replaces)
            vv = v[:, None] if left else v[None, :]
            if out is not None:
                return xp.multiply(vv, m, out=out)
            return xp.multiply(vv, m, order="C")
        # A non-finite v_k (or m entry) spreads nan over the product (0 * inf): the
        # product of the dense matrix gives exactly those numbers.
        d = xp.multiply(eye, v)
        a, b = (d, m) if left else (m, d)
        if out is not None:
            return xp.matmul(a, b, out=out)
        return self.dense(xp, a, b)


def _identity_const(x, n, dtype) -> bool:
    v = x.value if isinstance(x, Const) else None
    return (
        type(v) is np.ndarray
        and v.shape == (n, n)
        and v.dtype == dtype
        and bool(np.array_equal(v, np.eye(n, dtype=dtype)))
    )


def _diagonal_of(d, n, dtype):
    """``(v, eye)`` where ``d`` is ``multiply(I, v)`` (or ``multiply(v, I)``) of an
    ``(n, n)`` identity constant ``I`` and an ``(n,)`` value ``v`` -- ``diag(v)``, as
    ``jacfwd`` expands its diagonal basis -- else None."""
    if not isinstance(d, Node) or d.op != "multiply" or d.params or len(d.inputs) != 2:
        return None
    for k in (0, 1):
        e, v = d.inputs[k], d.inputs[1 - k]
        if (
            isinstance(v, Node)
            and tuple(v.shape or ()) == (n,)
            and v.dtype == dtype
            and _identity_const(e, n, dtype)
        ):
            return v, e.value
    return None


def diagonal_products(graph: Graph, guards=()):
    """``graph`` with each matrix product by a diagonal matrix built as ``I * v`` (the
    expanded diagonal basis of ``jacfwd``) computed as a scaling of rows or columns,
    O(n^2) instead of a dense O(n^3) product; returns ``(graph, guards)``.

    For the Python code generator only (the new ``diag_matmul`` nodes are not primitives).
    A product is rewritten where ``I * v`` has no other use and everything is one real
    floating dtype. The scaling runs where ``v`` and the other factor are finite (as eager
    mode's batched tangents scale rows there) and the dense product elsewhere, so values
    are the dense product's bit for bit except for the sign of a zero entry, which keeps
    the sign of ``v_i * m_ij`` (as in eager mode) where the dense sum of signed zeros gives
    ``+0.0``."""
    if getattr(graph, "effects", None):
        return graph, guards
    order = graph.toposort()
    uses: dict = {}
    for n in order:
        for i in n.inputs:
            if isinstance(i, Node):
                uses[i] = uses.get(i, 0) + 1
    pinned = {o for o in graph.outputs if isinstance(o, Node)}
    pinned |= {g for g, _ in guards if isinstance(g, Node)}
    sub: dict = {}
    changed = False
    for n in order:
        if n.is_input:
            sub[n] = n
            continue
        ins = tuple(sub[i] if isinstance(i, Node) else i for i in n.inputs)
        new = None
        if n.op == "matmul" and len(ins) == 2 and not n.params and n.prim is not None:
            dt = n.dtype
            shapes = [tuple(i.shape or ()) for i in ins]
            if (
                isinstance(dt, np.dtype)
                and dt.kind == "f"
                and len(shapes[0]) == 2
                and len(shapes[1]) == 2
                and all(i.dtype == dt for i in ins)
            ):
                for k, left in ((0, True), (1, False)):
                    d = n.inputs[k]
                    size = shapes[k][0]
                    if shapes[k] != (size, size) or d in pinned or uses.get(d) != 1:
                        continue
                    found = _diagonal_of(d, size, dt)
                    if found is None:
                        continue
                    v, eye = found
                    m = ins[1 - k]
                    m_finite = isinstance(m, Const) and bool(np.isfinite(m.value).all())
                    if isinstance(m, Const) and not m_finite:
                        continue
                    new = Node(
                        "diag_matmul",
                        (sub[v], m),
                        {"eye": eye, "left": left, "m_finite": m_finite},
                        prim=_DiagonalProduct(n.prim.impl),  # type: ignore[arg-type]  # (called like a primitive's impl)
                        value=n.value,
                        shape=n.shape,
                        dtype=dt,
                    )
                    break
        if new is None and any(a is not b for a, b in zip(ins, n.inputs)):
            new = Node(
                n.op, ins, n.params, prim=n.prim, value=n.value, shape=n.shape, dtype=n.dtype
            )
        if new is not None:
            changed = True
            sub[n] = new
        else:
            sub[n] = n
    if not changed:
        return graph, guards
    return rebuilt(graph, sub, guards)


def rebuilt(graph: Graph, sub: dict, guards=()):
    """``(graph, guards)`` with every node replaced by ``sub[node]``: the new graph's
    outputs and guards, and the nodes the guards need kept through dead-code removal."""
    outs = [sub[o] if isinstance(o, Node) else o for o in graph.outputs]
    new_guards = [(sub[g] if isinstance(g, Node) else g, t) for g, t in guards]
    roots = outs + [g for g, _ in new_guards if isinstance(g, Node)]
    full = Graph(graph.inputs, roots, name=graph.name)
    out = Graph(graph.inputs, outs, in_tree=graph.in_tree, out_tree=graph.out_tree, name=graph.name)
    out.nodes = full.nodes
    out._order = None
    return out, new_guards
