"""Reverse mode: a tape of nodes recorded while the function runs, then one backward sweep.

Each primitive applied to a :class:`ReverseTracer` records a :class:`Node`: the primitive,
its parameters, the residuals its VJP rules need, the nodes of its traced arguments, and
the shape and dtype of its output. The tracer (which holds the value) and the node (which
holds what the backward sweep needs) are separate objects: once user code drops an
intermediate value, only residuals that a rule declared it needs stay alive
(``Primitive.needs``); an argument no rule needs is kept as a :class:`ShapeDtype` stand-in.

The backward sweep (:func:`backward`) is iterative. Every node carries a sequence number
in recording order, and every consumer of a node was recorded after it, so nodes are
processed in reverse recording order (a heap of the nodes that have received a
cotangent): when a node comes up, all its contributions are in. Each node is visited at
most once, however many paths share it; no recursion is involved, so chains of millions of
operations are fine.

Scalar code (float64 scalars, one operation at a time) takes a short path: its nodes
(:class:`ScalarNode`) are recorded without the general bookkeeping, with the local partial
derivatives their rules multiply by, and a tape of such nodes only is swept in reverse
recording order straight from its list. The order, and so the order of every sum, is the
same on both paths; tests/test_scalar_path.py checks they agree bit for bit.

Cotangents are added as they arrive and dropped once their node is processed; with
``free=True`` (``grad``), a node's residuals are released right after its rules ran. Nodes
that cannot reach the outputs are never visited. Cotangents are computed with adgraph's
own operations, so an enclosing transformation differentiates the sweep itself.
"""

from __future__ import annotations

import itertools
import sys
from heapq import heapify, heappop, heappush

import numpy as _np

from ..core import basic
from ..core.primitive import _PLAIN
from ..core.trace import Trace, Tracer, new_level
from .common import fit_to

__all__ = [
    "ReverseTrace",
    "ReverseTracer",
    "Node",
    "ShapeDtype",
    "backward",
    "backward_scalar",
    "toposort_nodes",
    "scalar_operator",
    "scalar_negation",
    "ONE",
    "MINUS_ONE",
]

_ndarray = _np.ndarray
# Sequence numbers of nodes, in recording order (one counter for all tapes: only the order
# within a tape matters).
_next_seq = itertools.count().__next__
_f64 = _np.float64
_F64 = _np.dtype(_np.float64)
# Constants the float64-scalar short path of ReverseTrace.process accepts beside tracers.
_SCALAR_CONSTANTS = frozenset([float, int, _f64])
_NO_PARAMS: dict = {}  # shared by parameterless operations (primitives never mutate params)

_INEXACT = frozenset("fc")
# Arrays at least this large are dropped from a node when no rule needs them.
_DROP_BYTES = 1024

# Observers of the tape, for tools that show the computation (``make_source`` names
# adjoints after the values they belong to): an object with ``record(node, value)`` and
# ``adjoint(node, cotangent)``, or None. Set only while such a tool is tracing.
HOOKS = None


class ShapeDtype:
    """Stand-in for an array a rule only needs the shape and dtype of."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"ShapeDtype({self.shape}, {self.dtype})"


class Node:
    """One recorded primitive application (``prim is None`` marks an input).

    ``parents[i]`` is the node of argument ``i`` when it is traced at this level, else
    None; ``pidx`` (None when no parent has several outputs) gives for each parent which
    of its outputs was used. ``shape``/``dtype`` describe the output (tuples of them for
    primitives with several results).
    """

    __slots__ = (
        "prim",
        "params",
        "args",
        "ans",
        "parents",
        "pidx",
        "shape",
        "dtype",
        "seq",
        "__weakref__",
    )

    def __init__(self, prim, params, args, ans, parents, pidx, shape, dtype):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = args
        self.ans = ans
        self.parents = parents
        self.pidx = pidx
        self.shape = shape
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"Node({self.prim.name if self.prim else 'input'}, shape={self.shape})"


class ScalarNode(Node):
    """A node recorded by the float64-scalar short path: one float64 scalar output, no
    parent with several outputs. Two layouts:

    * partials known (the primitive's reverse rules multiply the cotangent by local
      partial derivatives, ``Primitive.partials``): :class:`ScalarNode1` and
      :class:`ScalarNode2` hold the one or two traced arguments' nodes and the factor for
      each (``parents`` and ``partials`` read as tuples of them, in argument order);
      ``args`` is None. The rule the sweep applies is ``ct * d`` (``ONE``: ``ct``,
      ``MINUS_ONE``: ``-ct``).
    * otherwise (and on tapes that ``keep`` everything), this class: ``parents`` and
      ``args`` line up with the arguments as on a :class:`Node`, ``partials`` is None and
      the primitive's rules run.
    """

    __slots__ = ("partials",)
    shape = ()
    dtype = _F64
    pidx = None

    def __init__(self, prim, params, args, ans, parents, partials):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = args
        self.ans = ans
        self.parents = parents
        self.partials = partials


class ScalarNode1(ScalarNode):
    """A :class:`ScalarNode` with one traced parent and its partial, held directly (no
    tuples: unary functions and operations with a constant, most of scalar code).
    ``parents`` and ``partials`` read as one-element tuples."""

    __slots__ = ("parent", "partial")

    def __init__(self, prim, params, ans, parent, partial):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = None
        self.ans = ans
        self.parent = parent
        self.partial = partial

    @property
    def parents(self):
        return (self.parent,)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent = None if value is None else value[0]

    @property
    def partials(self):
        return (self.partial,)

    @partials.setter
    def partials(self, value):
        self.partial = None if value is None else value[0]


class ScalarNode2(ScalarNode):
    """A :class:`ScalarNode` with two traced parents and their partials held directly."""

    __slots__ = ("parent0", "parent1", "partial0", "partial1")

    def __init__(self, prim, params, ans, parent0, parent1, partial0, partial1):
        self.seq = _next_seq()
        self.prim = prim
        self.params = params
        self.args = None
        self.ans = ans
        self.parent0 = parent0
        self.parent1 = parent1
        self.partial0 = partial0
        self.partial1 = partial1

    @property
    def parents(self):
        return (self.parent0, self.parent1)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent0, self.parent1 = (None, None) if value is None else value

    @property
    def partials(self):
        return (self.partial0, self.partial1)

    @partials.setter
    def partials(self, value):
        self.partial0, self.partial1 = (None, None) if value is None else value


_SCALAR_NODES = frozenset([ScalarNode, ScalarNode1, ScalarNode2])


class ReverseTracer(Tracer):
    __slots__ = ("value", "node", "idx")

    def __init__(self, trace, value, node, idx=None):
        self._trace = trace
        self.value = value
        self.node = node
        self.idx = idx  # output index for multiple-result primitives, else None

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def _inner(self):
        return self.value

    def unary(self, prim):
        """``prim`` applied to this tracer alone: recorded directly when it is a float64
        scalar and ``prim`` computes value and partial in one call (``scalar_eval``), else
        bound as usual. The hot path of ``adgraph.numpy``'s functions on scalar code."""
        se = prim.scalar_eval
        v = self.value
        tr = self._trace
        if (
            se is not None
            and type(v) is _f64
            and self.idx is None
            and tr.alive
            and HOOKS is None
            and not tr.keep
        ):
            ans, d = se(v)
            if type(ans) is _f64:
                node = ScalarNode1(prim, _NO_PARAMS, ans, self.node, d)
                tr.tape.append(node)
                return ReverseTracer(tr, ans, node)
            return tr._general(prim, (self,), _NO_PARAMS)
        return prim.bind_traced((self,), _NO_PARAMS)


class ReverseTrace(Trace):
    """A reverse-mode tape. ``keep=True`` keeps every argument and result on the nodes
    (for inspecting the graph), instead of only the residuals the rules need."""

    __slots__ = ("keep", "tape", "mixed")

    def __init__(self, keep: bool = False):
        self.level = new_level()  # Trace.__init__, inline: one trace per grad call
        self.alive = True
        self.keep = keep
        # The scalar nodes in the order they were recorded, and whether any other node
        # was: a tape of scalar nodes only is swept in reverse recording order
        # (:func:`_sweep_scalar_tape`), without counting consumers.
        self.tape = []
        self.mixed = False

    def new_input(self, value) -> ReverseTracer:
        if type(value) is _f64:  # shape () and dtype float64 are the class's
            node = ScalarNode(None, None, None, value, None, None)
        else:
            node = Node(None, None, None, value, None, None, value.shape, value.dtype)
        if HOOKS is not None:
            HOOKS.record(node, value)
        return ReverseTracer(self, value, node)

    def process(self, prim, args, params):
        if prim.simple and HOOKS is None:
            # Short path for float64 scalars (Python-level scalar code): every traced
            # argument is a float64 scalar of this tape, every other one a Python or NumPy
            # float/int. See ScalarNode for what is recorded.
            n = len(args)
            if n == 1:
                a = args[0]
                if type(a) is ReverseTracer:
                    v = a.value
                    if a._trace is self and type(v) is _f64 and a.idx is None:
                        se = prim.scalar_eval
                        if se is not None and not self.keep:
                            ans, d = se(v)
                            if type(ans) is _f64:
                                node = ScalarNode1(prim, params, ans, a.node, d)
                                self.tape.append(node)
                                return ReverseTracer(self, ans, node)
                            return self._general(prim, args, params)
                        ans = prim.impl(_np, v, **params)
                        if type(ans) is _f64:
                            ds = prim.partials
                            if ds is not None and not self.keep:
                                try:
                                    node = ScalarNode1(
                                        prim, params, ans, a.node, ds[0](ans, v, **params)
                                    )
                                except Exception:  # the rule runs in the sweep, and reports it
                                    node = ScalarNode(prim, params, (v,), ans, (a.node,), None)
                            else:
                                node = ScalarNode(prim, params, (v,), ans, (a.node,), None)
                            self.tape.append(node)
                            return ReverseTracer(self, ans, node)
            elif n == 2:
                a, b = args
                if type(a) is ReverseTracer:
                    va = a.value
                    if a._trace is not self or type(va) is not _f64 or a.idx is not None:
                        return self._general(prim, args, params)
                    pa = a.node
                elif type(a) in _SCALAR_CONSTANTS:
                    va, pa = a, None
                else:
                    return self._general(prim, args, params)
                if type(b) is ReverseTracer:
                    vb = b.value
                    if b._trace is not self or type(vb) is not _f64 or b.idx is not None:
                        return self._general(prim, args, params)
                    pb = b.node
                elif type(b) in _SCALAR_CONSTANTS:
                    vb, pb = b, None
                else:
                    return self._general(prim, args, params)
                ans = prim.impl(_np, va, vb, **params)
                if type(ans) is _f64:
                    node = None
                    ds = prim.partials
                    if ds is not None and not self.keep:
                        try:
                            if pb is None:
                                node = ScalarNode1(
                                    prim, params, ans, pa, ds[0](ans, va, vb, **params)
                                )
                            elif pa is None:
                                node = ScalarNode1(
                                    prim, params, ans, pb, ds[1](ans, va, vb, **params)
                                )
                            else:
                                node = ScalarNode2(
                                    prim, params, ans, pa, pb,
                                    ds[0](ans, va, vb, **params), ds[1](ans, va, vb, **params),
                                )  # fmt: skip
                        except Exception:  # the rule runs in the sweep, and reports it
                            node = None
                    if node is None:
                        node = ScalarNode(prim, params, (va, vb), ans, (pa, pb), None)
                    self.tape.append(node)
                    return ReverseTracer(self, ans, node)
        return self._general(prim, args, params)

    def _general(self, prim, args, params):
        self.mixed = True
        vals = []
        parents = []
        mask = 0  # bit i set when argument i is traced at this level
        multi = False  # some argument is one output of a multiple-result primitive
        plain = True  # no tracer of a lower level among the values
        below = None  # the trace of highest level among those lower tracers
        bit = 1
        for a in args:
            if type(a) is ReverseTracer and a._trace is self:
                v = a.value
                parents.append(a.node)
                mask |= bit
                if a.idx is not None:
                    multi = True
            else:
                v = a
                parents.append(None)
            if type(v) not in _PLAIN:
                plain = False
                if isinstance(v, Tracer):
                    t = v._trace
                    if below is None or t.level > below.level:
                        below = t
            vals.append(v)
            bit <<= 1
        if prim.nondiff or not mask:
            return prim.bind(*vals, **params)
        pidx = (
            [getattr(a, "idx", None) if p is not None else None for a, p in zip(args, parents)]
            if multi
            else None
        )
        if prim.reverse is not None:
            return prim.reverse(self, vals, parents, params, pidx)
        if plain:
            ans = prim.impl(_np, *vals, **params)
        elif below is not None and below.alive:
            ans = below.process(prim, tuple(vals), params)  # what bind would pick
        else:
            ans = prim.bind(*vals, **params)
        if prim.multiple_results:
            return self.record(prim, params, vals, ans, parents, pidx)
        dt = getattr(ans, "dtype", None)
        if dt is None or dt.kind not in _INEXACT:
            return ans
        saved = ans
        if prim.needs is not None and not self.keep:
            keep_ans, drop = _plan(prim, mask)
            if not keep_ans:
                saved = None
            for i in drop:
                if i >= len(vals):
                    break
                v = vals[i]
                if type(v) is not float and getattr(v, "nbytes", 0) >= _DROP_BYTES:
                    vals[i] = ShapeDtype(v.shape, v.dtype)
        node = Node(prim, params, vals, saved, parents, pidx, ans.shape, dt)
        if HOOKS is not None:
            HOOKS.record(node, ans)
        return ReverseTracer(self, ans, node)

    def record(self, prim, params, vals, ans, parents, pidx=None):
        """Put a node on the tape for ``ans = prim(*vals)`` and return its tracer(s);
        for primitives with their own reverse handler (custom rules, checkpoint)."""
        self.mixed = True
        if prim.multiple_results:
            shape = tuple(getattr(a, "shape", ()) for a in ans)
            dtype = tuple(getattr(a, "dtype", None) for a in ans)
            node = Node(prim, params, vals, ans, parents, pidx, shape, dtype)
            if HOOKS is not None:
                HOOKS.record(node, ans)
            return tuple(
                ReverseTracer(self, a, node, i) if _differentiable(a) else a
                for i, a in enumerate(ans)
            )
        if not _differentiable(ans):
            return ans
        node = Node(prim, params, vals, ans, parents, pidx, ans.shape, ans.dtype)
        if HOOKS is not None:
            HOOKS.record(node, ans)
        return ReverseTracer(self, ans, node)


ONE = _np.float64(1.0)
MINUS_ONE = _np.float64(-1.0)

# The operators whose reverse rules are products, by code for scalar_operator: the
# factors are 1 and 1 (add), 1 and -1 (subtract), y and x (multiply); ct * 1.0 is ct and
# ct * -1.0 is -ct exactly, what add's and subtract's rules give.
_PRODUCT_OPERATORS = {"add": 0, "subtract": 1, "multiply": 2}


def scalar_operator(prim, slow, reflected=False, compute=None):
    """An operator method for :class:`ReverseTracer` (``__mul__``, ``__radd__``...): float64
    scalars of one tape, or such a scalar and a Python/NumPy number, are recorded directly
    as a :class:`ScalarNode`; anything else goes to ``slow``, the operator every tracer
    has. ``compute(a, b)``, when given, replaces ``prim.impl`` for these operands (e.g.
    ``operator.mul``: it must give exactly what the implementation gives)."""
    if compute is None:
        impl = prim.impl

        def compute(a, b):
            return impl(_np, a, b)

    no_params: dict = {}
    code = _PRODUCT_OPERATORS.get(prim.name, -1)
    # the factor for this tracer when the other operand is a constant (a product's is the
    # constant itself: code 2)
    d_self = MINUS_ONE if code == 1 and reflected else ONE

    def op(self, other):
        v = self.value
        tr = self._trace
        if type(v) is _f64 and self.idx is None and tr.alive and HOOKS is None:
            to = type(other)
            if to in _SCALAR_CONSTANTS and code >= 0 and not tr.keep:
                # the commonest case first: a tracer and a number (x + 0.5, 2 * x)
                ans = compute(other, v) if reflected else compute(v, other)
                if type(ans) is _f64:
                    d = other if code == 2 else d_self
                    node = ScalarNode1(prim, no_params, ans, self.node, d)
                    tr.tape.append(node)
                    return ReverseTracer(tr, ans, node)
                return slow(self, other)
            if to is ReverseTracer:
                w = other.value
                if other._trace is not tr or type(w) is not _f64 or other.idx is not None:
                    return slow(self, other)
                pw = other.node
            elif to in _SCALAR_CONSTANTS:
                w, pw = other, None
            else:
                return slow(self, other)
            if reflected:  # other op self
                left, right, pl, pr = w, v, pw, self.node
            else:
                left, right, pl, pr = v, w, self.node, pw
            ans = compute(left, right)
            if type(ans) is _f64:
                if code < 0 or tr.keep:
                    node = ScalarNode(prim, no_params, (left, right), ans, (pl, pr), None)
                else:
                    if code == 2:
                        dl, dr = right, left
                    elif code == 0:
                        dl = dr = ONE
                    else:
                        dl, dr = ONE, MINUS_ONE
                    if pr is None:
                        node = ScalarNode1(prim, no_params, ans, pl, dl)
                    elif pl is None:
                        node = ScalarNode1(prim, no_params, ans, pr, dr)
                    else:
                        node = ScalarNode2(prim, no_params, ans, pl, pr, dl, dr)
                tr.tape.append(node)
                return ReverseTracer(tr, ans, node)
        return slow(self, other)

    op.__name__ = getattr(slow, "__name__", prim.name)
    return op


def scalar_negation(prim, slow):
    """Like :func:`scalar_operator`, for ``__neg__`` (``prim``: negative; partial -1)."""
    impl = prim.impl
    no_params: dict = {}

    def op(self):
        v = self.value
        if type(v) is _f64 and self.idx is None and self._trace.alive and HOOKS is None:
            ans = impl(_np, v)
            if type(ans) is _f64:
                if self._trace.keep:
                    node = ScalarNode(prim, no_params, (v,), ans, (self.node,), None)
                else:
                    node = ScalarNode1(prim, no_params, ans, self.node, MINUS_ONE)
                self._trace.tape.append(node)
                return ReverseTracer(self._trace, ans, node)
        return slow(self)

    return op


def _plan(prim, mask):
    """(keep the result?, argument indices to drop) for the traced-argument pattern
    ``mask``, from the primitive's declared ``needs``; cached on the primitive."""
    plans = prim.plans
    plan = plans.get(mask)
    if plan is None:
        keep = set()
        for i, n in enumerate(prim.needs):
            if mask >> i & 1:
                keep |= n
        drop = tuple(i for i in range(mask.bit_length() + 8) if i not in keep)
        plan = plans[mask] = ("ans" in keep, drop)
    return plan


def _differentiable(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in _INEXACT


def toposort_nodes(roots) -> tuple[list, dict]:
    """Nodes reachable from ``roots`` and, for each, its number of consumer edges."""
    pending: dict = {}
    seen = set(roots)
    stack = list(roots)
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        ps = n.parents
        if ps is None:
            continue
        for pn in ps:
            if pn is None:
                continue
            pending[pn] = pending.get(pn, 0) + 1
            if pn not in seen:
                seen.add(pn)
                stack.append(pn)
    return order, pending


def _node_vjp(node, ct):
    """Cotangents of a node's arguments given the cotangent of its output(s)."""
    prim = node.prim
    rule = prim.vjp
    if rule is None:
        raise prim.missing("reverse-mode (VJP)")
    args = node.args
    parents = node.parents
    ans = node.ans
    if prim.multiple_results:
        ct = [
            basic.zeros(s, d, a) if c is None else c
            for c, s, d, a in zip(ct, node.shape, node.dtype, ans)
        ]
    if type(rule) is not tuple:
        wanted = tuple(p is not None for p in parents)
        return rule(ct, ans, args, node.params, wanted)
    params = node.params
    out = []
    for i, p in enumerate(parents):
        if p is None:
            out.append(None)
            continue
        r = rule[i] if i < len(rule) else None
        if r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        out.append(r(ct, ans, *args, **params))
    return out


def _fit_cotangent(g, shape, dtype, prim, i):
    """``fit_to`` with an error that names the rule when a cotangent cannot be fitted."""
    try:
        return fit_to(g, shape, dtype)
    except ValueError as e:
        raise ValueError(
            f"the reverse rule of primitive {prim.name!r} returned a cotangent of shape "
            f"{tuple(getattr(g, 'shape', ()))} for argument {i} of shape {tuple(shape)}"
        ) from e


def _accumulate_general(node, gs, cts, add):
    """Add the cotangents ``gs`` of a node's arguments into their nodes' slots (parents
    with several outputs included)."""
    pidx = node.pidx
    if len(gs) != len(node.parents):
        raise ValueError(
            f"the reverse rule of primitive {node.prim.name!r} returned {len(gs)} cotangents "
            f"for {len(node.parents)} arguments"
        )
    for i, p in enumerate(node.parents):
        if p is None:
            continue
        g = gs[i]
        if g is None:
            continue
        k = None if pidx is None else pidx[i]
        if k is None:
            g = _fit_cotangent(g, p.shape, p.dtype, node.prim, i)
            prev = cts.get(p)
            cts[p] = g if prev is None else add(prev, g)
        else:
            g = _fit_cotangent(g, p.shape[k], p.dtype[k], node.prim, i)
            slot = cts.get(p)
            if slot is None:
                slot = cts[p] = [None] * len(p.shape)
            slot[k] = g if slot[k] is None else add(slot[k], g)


def _scalar_cotangents(node, ct) -> list:
    """The cotangents for a scalar node's ``parents`` (see :class:`ScalarNode`): its
    partials times ``ct`` (``ONE`` passes ``ct`` on, ``MINUS_ONE`` negates it: what the
    rules of add and subtract do), else its rules (``scalar_vjp`` for a float64 ``ct``).
    ``ct`` may be anything a rule accepts (an outer transformation's tracer too): the same
    operations as the rules', on the same operands."""
    ds = node.partials
    if ds is not None:
        return [ct if d is ONE else -ct if d is MINUS_ONE else ct * d for d in ds]
    prim = node.prim
    rule = prim.scalar_vjp if type(ct) is _f64 and prim.scalar_vjp else prim.vjp
    if type(rule) is not tuple:
        return _node_vjp(node, ct)
    parents = node.parents
    if len(rule) < len(parents):
        raise prim.missing(f"reverse-mode (VJP) for argument {len(rule)}")
    args, ans, params = node.args, node.ans, node.params
    gs = []
    for i, p in enumerate(parents):
        r = rule[i]
        if p is None:
            gs.append(None)
        elif r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        else:
            gs.append(r(ct, ans, *args, **params))
    return gs


def _sweep_scalar_tape(tape, cts, free):
    """The backward sweep of a tape of scalar nodes only, in reverse recording order (the
    order the general sweep follows too, so sums are added in the same order); ``cts``
    holds the outputs' cotangents on entry and the inputs' on return. With ``free`` the
    tape is emptied afterwards (its nodes' residuals are a few scalars each)."""
    pop = cts.pop
    get = cts.get
    add = basic.add
    for node in reversed(tape):
        ct = pop(node, None)
        if ct is None:
            continue
        # The two short node layouts, written out: this loop is the whole backward cost
        # of scalar code. ct * d is float64 (d: a NumPy or Python real scalar), and
        # ct * 1.0 == ct, ct * -1.0 == -ct exactly, as the general rules of add and
        # subtract give.
        if type(node) is ScalarNode1 and type(ct) is _f64:
            g = ct * node.partial
            if type(g) is not _f64:
                g = _fit_cotangent(g, (), _F64, node.prim, 0)
            p = node.parent
            prev = get(p)
            if prev is None:
                cts[p] = g
            elif type(prev) is _f64:
                cts[p] = prev + g
            else:
                cts[p] = add(prev, g)
            continue
        if type(node) is ScalarNode2 and type(ct) is _f64:
            for p, d in ((node.parent0, node.partial0), (node.parent1, node.partial1)):
                g = ct * d
                if type(g) is not _f64:
                    g = _fit_cotangent(g, (), _F64, node.prim, 0)
                prev = get(p)
                if prev is None:
                    cts[p] = g
                elif type(prev) is _f64:
                    cts[p] = prev + g
                else:
                    cts[p] = add(prev, g)
            continue
        gs = _scalar_cotangents(node, ct)
        i = -1
        for p in node.parents:
            i += 1
            if p is None:
                continue
            g = gs[i]
            if g is None:
                continue
            if type(g) is not _f64:
                g = _fit_cotangent(g, (), _F64, node.prim, i)
            prev = get(p)
            if prev is None:
                cts[p] = g
            elif type(prev) is _f64 and type(g) is _f64:
                cts[p] = prev + g
            else:
                cts[p] = add(prev, g)
    if free:
        tape.clear()
    return cts


def _pure_scalar_tape(outputs, roots) -> bool:
    """Whether the outputs are on one tape that holds scalar nodes only."""
    tr = outputs[0]._trace
    if type(tr) is not ReverseTrace or tr.mixed:
        return False
    for t in outputs:
        if t._trace is not tr:
            return False
    for n in roots:
        if type(n) not in _SCALAR_NODES and n.prim is not None:
            return False
    return True


def backward_scalar(y, ct, *, free: bool = False) -> dict:
    """:func:`backward` for one float64 scalar output ``y`` of this thread's tape and a
    float64 scalar cotangent ``ct`` (what ``grad`` of scalar code sweeps)."""
    tr = y._trace
    if HOOKS is None and not tr.mixed and type(y.node) in _SCALAR_NODES:
        cts = _sweep_scalar_tape(tr.tape, {y.node: ct}, free)
        return cts  # what is left: the inputs' cotangents
    return backward([y], [ct], free=free)


def _probe_refs(a) -> int:
    return sys.getrefcount(a)


def _calibrate_sole_refs():
    """The reference count :func:`_sole_owner` sees for an array held only by a dict entry
    and the caller's variable, measured here in the same shape of code (so it follows the
    interpreter's own counting); None where counts do not behave (another Python
    implementation): then nothing is ever added in place into a rule's array."""
    if not hasattr(sys, "getrefcount"):
        return None
    held = {}
    a = _np.empty(2)
    held[0] = a
    sole = _probe_refs(a)
    also = [a]
    if _probe_refs(a) != sole + 1 or not also:
        return None
    return sole


_SOLE_REFS = _calibrate_sole_refs()


def _sole_owner(a) -> bool:
    """Whether NumPy array ``a``, just stored as a cotangent, is held by nothing but the
    sweep (its dict entry and the caller's variable): a new array a rule made, not a view,
    not a residual, not a cotangent it passed on. The sweep may then add later
    contributions into it in place."""
    return (
        _SOLE_REFS is not None
        and a.base is None
        and sys.getrefcount(a) <= _SOLE_REFS
        and a.flags.writeable
    )


def backward(outputs, out_cts, *, free: bool = False) -> dict:
    """Sweep cotangents from ``outputs`` back to the inputs.

    ``outputs`` are ReverseTracers, ``out_cts`` their cotangents (None entries are zeros).
    Returns ``{input_node: cotangent}`` for every input node reached with a nonzero
    cotangent. With ``free=True`` residuals are released as the sweep goes (the tape can
    then not be swept again).

    Nodes are processed in reverse recording order (a heap on their sequence numbers):
    every consumer of a node was recorded after it, so when a node comes up, all its
    cotangent contributions are in, and they were summed in a fixed order. Only nodes that
    receive a cotangent are visited; no recursion, so chains of millions of operations
    are fine.
    """
    cts: dict = {}
    roots = []
    for t, ct in zip(outputs, out_cts):
        if ct is None:
            continue
        node = t.node
        if type(ct) is not _f64 or type(t.value) is not _f64:
            ct = fit_to(ct, t.value.shape, t.value.dtype)
        if t.idx is None:
            prev = cts.get(node)
            cts[node] = ct if prev is None else basic.add(prev, ct)
        else:
            slot = cts.get(node)
            if slot is None:
                slot = cts[node] = [None] * len(node.shape)
            slot[t.idx] = ct if slot[t.idx] is None else basic.add(slot[t.idx], ct)
        if node not in roots:
            roots.append(node)
    if roots and HOOKS is None and _pure_scalar_tape(outputs, roots):
        _sweep_scalar_tape(outputs[0]._trace.tape, cts, free)
        return {n: ct for n, ct in cts.items() if n.prim is None}
    ready = [(-n.seq, n) for n in roots]
    heapify(ready)
    results: dict = {}
    add = basic.add
    # ids of the cotangent sums this sweep allocated itself: only those are added to in
    # place (a rule may return an array it also gave another argument, or a view).
    owned: set = set()
    while ready:
        node = heappop(ready)[1]
        ct = cts.pop(node, None)
        if ct is None:
            continue
        if owned:
            owned.discard(id(ct))
        if HOOKS is not None:
            HOOKS.adjoint(node, ct)
        parents = node.parents
        if parents is None:  # an input
            results[node] = ct
            continue
        prim = node.prim
        rule = prim.vjp
        if type(node) in _SCALAR_NODES:
            gs = _scalar_cotangents(node, ct)
            i = -1
            for p in parents:
                i += 1
                if p is None:
                    continue
                g = gs[i]
                if g is None:
                    continue
                if type(g) is not _f64:
                    g = _fit_cotangent(g, (), _F64, prim, i)
                prev = cts.get(p)
                if prev is None:
                    cts[p] = g
                    heappush(ready, (-p.seq, p))
                elif type(prev) is _f64 and type(g) is _f64:
                    cts[p] = prev + g
                else:
                    cts[p] = add(prev, g)
        elif type(rule) is tuple and node.pidx is None and not prim.multiple_results:
            # The common case, in one loop: each parent's cotangent, accumulated.
            args, ans, params = node.args, node.ans, node.params
            nrule = len(rule)
            i = -1
            for p in parents:
                i += 1
                if p is None:
                    continue
                r = rule[i] if i < nrule else None
                if r is None:
                    raise prim.missing(f"reverse-mode (VJP) for argument {i}")
                g = r(ct, ans, *args, **params)
                if g is None:
                    continue
                if getattr(g, "shape", None) != p.shape or getattr(g, "dtype", None) != p.dtype:
                    g = _fit_cotangent(g, p.shape, p.dtype, prim, i)
                prev = cts.get(p)
                if prev is None:
                    cts[p] = g
                    heappush(ready, (-p.seq, p))
                    if type(g) is _ndarray and g.ndim and _sole_owner(g):
                        owned.add(id(g))  # a new array only the sweep holds
                elif id(prev) in owned and type(prev) is _ndarray and type(g) in _PLAIN:
                    _np.add(prev, g, out=prev)  # our own sum so far: add in place
                else:
                    total = add(prev, g)
                    owned.discard(id(prev))
                    if type(total) is _ndarray and total.ndim:
                        owned.add(id(total))
                    cts[p] = total
        else:
            fresh = [p for p in parents if p is not None and p not in cts]
            _accumulate_general(node, _node_vjp(node, ct), cts, add)
            for p in fresh:
                if p in cts:
                    heappush(ready, (-p.seq, p))
        if free:
            node.args = node.ans = node.parents = None
            if type(node) in _SCALAR_NODES:
                node.partials = None
    return results
