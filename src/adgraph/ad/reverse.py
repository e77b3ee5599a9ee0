"""Reverse mode, recording: the tape a function's run leaves for the backward sweep.

Each primitive applied to a :class:`ReverseTracer` records a node (:mod:`adgraph.ad.tape`):
the primitive, its parameters, the residuals its VJP rules need, the nodes of its traced
arguments, and the shape and dtype of its output. The tracer (which holds the value) and
the node (which holds what the backward sweep needs) are separate objects: once user code
drops an intermediate value, only residuals that a rule declared it needs stay alive
(``Primitive.needs``); an argument no rule needs is kept as a ``ShapeDtype`` stand-in.

Scalar code (float64 scalars, one operation at a time) takes a short path: its nodes
(``ScalarNode1``/``ScalarNode2``) are recorded without the general bookkeeping, with the
local partial derivatives their rules multiply by, and the trace keeps them in a list in
recording order (``ReverseTrace.tape``). The backward sweep is :mod:`adgraph.ad.sweep`.
"""

from __future__ import annotations

import numpy as _np

from ..core.primitive import _PLAIN
from ..core.trace import Trace, Tracer, new_level
from .tape import MINUS_ONE, ONE, Node, ScalarNode, ScalarNode1, ScalarNode2, ShapeDtype

__all__ = [
    "ReverseTrace",
    "ReverseTracer",
    "scalar_operator",
    "scalar_negation",
    "HOOKS",
]

_f64 = _np.float64
# Constants the float64-scalar short path of ReverseTrace.process accepts beside tracers.
_SCALAR_CONSTANTS = frozenset([float, int, _f64])
_UNSET = object()  # ReverseTrace._general: the result is still to be computed
_NO_PARAMS: dict = {}  # shared by parameterless operations (primitives never mutate params)

_INEXACT = frozenset("fc")
# Arrays at least this large are dropped from a node when no rule needs them.
_DROP_BYTES = 1024

# Observers of the tape, for tools that show the computation (``make_source`` names
# adjoints after the values they belong to): an object with ``record(node, value)`` and
# ``adjoint(node, cotangent)``, or None. Set only while such a tool is tracing; it turns
# the scalar short path off.
HOOKS = None


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
            return tr._general(prim, (self,), _NO_PARAMS, ans)
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
            node = ScalarNode(None, None, None, value, None)
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
                        if prim.scalar_eval is not None and not self.keep:
                            return a.unary(prim)  # its short path applies (checked above)
                        ans = prim.impl(_np, v, **params)
                        if type(ans) is _f64:
                            ds = prim.partials
                            if ds is not None and not self.keep:
                                try:
                                    node = ScalarNode1(
                                        prim, params, ans, a.node, ds[0](ans, v, **params)
                                    )
                                except Exception:  # the rule runs in the sweep, and reports it
                                    node = ScalarNode(prim, params, (v,), ans, (a.node,))
                            else:
                                node = ScalarNode(prim, params, (v,), ans, (a.node,))
                            self.tape.append(node)
                            return ReverseTracer(self, ans, node)
                        return self._general(prim, args, params, ans)
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
                        node = ScalarNode(prim, params, (va, vb), ans, (pa, pb))
                    self.tape.append(node)
                    return ReverseTracer(self, ans, node)
                return self._general(prim, args, params, ans)
        return self._general(prim, args, params)

    def _general(self, prim, args, params, ans=_UNSET):
        """Record ``prim(*args)`` with the general bookkeeping; ``ans``: its result when the
        short path already computed it (plain values only)."""
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
        if ans is _UNSET:  # else computed by the short path, on these same plain values
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
                    node = ScalarNode(prim, no_params, (left, right), ans, (pl, pr))
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
                    node = ScalarNode(prim, no_params, (v,), ans, (self.node,))
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
