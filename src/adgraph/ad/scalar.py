"""Reverse mode's short path for scalar code: float64 scalars, one operation at a time.

Python-level scalar code (``x = sin(x) * x + 0.5`` in a loop) records one scalar operation
at a time, so the engine's own cost per operation is its whole cost. This module is that
path, behind two entry points the rest of reverse mode calls:

* :func:`record` -- what :meth:`ReverseTrace.process` tries first: when every traced
  argument is a float64 scalar of the tape and every other one a Python or NumPy number,
  the node is recorded here, small (:class:`ScalarNode1`, :class:`ScalarNode2`: the one
  or two parents and the local partial derivative for each, from the primitive's
  declared ``scalar_partials``/``scalar_eval``), and kept in the tape's list in recording
  order. Anything else is handed to the trace's general recording.
* :func:`sweep` -- the backward sweep of a tape of such nodes only, straight down that
  list; :func:`cotangents` gives one scalar node's argument cotangents to the general
  sweep on mixed tapes.

:func:`scalar_operator` and :func:`scalar_negation` make the arithmetic operators of
:class:`ReverseTracer` record directly, skipping the search for the top trace.

Every result is identical, bit for bit, to the general path's: the same operations on the
same operands, summed in the same (reverse recording) order; tests/test_scalar_path.py
runs both on the same inputs. Nothing here applies while a tool observes the tape
(:func:`adgraph.ad.tape.observe`).
"""

from __future__ import annotations

import numpy as _np

from . import tape as _tape
from .common import fit_for_rule
from .tape import MINUS_ONE, ONE, Node, ReverseTracer, node_init

__all__ = [
    "ScalarNode",
    "ScalarNode1",
    "ScalarNode2",
    "SCALAR_NODES",
    "record",
    "sweep",
    "cotangents",
    "sweepable",
    "scalar_operator",
    "scalar_negation",
]

_f64 = _np.float64
_F64 = _np.dtype(_np.float64)
# Constants the short path accepts beside tracers.
_SCALAR_CONSTANTS = frozenset([float, int, _f64])
_NO_PARAMS: dict = {}  # shared by parameterless operations (primitives never mutate params)


class ScalarNode(Node):
    """A node recorded by the float64-scalar short path: one float64 scalar output, no
    parent with several outputs. Two layouts:

    * partials known (the primitive's reverse rules multiply the cotangent by local
      partial derivatives, ``Primitive.scalar_partials``): :class:`ScalarNode1` and
      :class:`ScalarNode2` hold the one or two traced arguments' nodes and the factor for
      each (``parents`` and ``partials`` read as tuples of them, in argument order);
      ``args`` is None. The rule the sweep applies is ``ct * d`` (``ONE``: ``ct``,
      ``MINUS_ONE``: ``-ct``).
    * otherwise (and on tapes that ``keep`` everything), this class: ``parents`` and
      ``args`` line up with the arguments as on a :class:`Node`, ``partials`` is None and
      the primitive's rules run.
    """

    __slots__ = ()
    shape = ()
    dtype = _F64
    pidx = None
    partials = None  # the layout whose rules run

    __init__ = node_init("prim", "params", "args", "ans", "parents")


class ScalarNode1(ScalarNode):
    """A :class:`ScalarNode` with one traced parent and its partial, held directly (no
    tuples: unary functions and operations with a constant, most of scalar code).
    ``parents`` and ``partials`` read as one-element tuples."""

    __slots__ = ("parent", "partial")

    __init__ = node_init("prim", "params", "ans", "parent", "partial", args=None)

    @property
    def parents(self):
        return (self.parent,)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent = None if value is None else value[0]

    @property
    def partials(self):
        return (self.partial,)


class ScalarNode2(ScalarNode):
    """A :class:`ScalarNode` with two traced parents and their partials held directly."""

    __slots__ = ("parent0", "parent1", "partial0", "partial1")

    __init__ = node_init(
        "prim", "params", "ans", "parent0", "parent1", "partial0", "partial1", args=None
    )

    @property
    def parents(self):
        return (self.parent0, self.parent1)

    @parents.setter
    def parents(self, value):  # only ever released (None) by the sweep
        self.parent0, self.parent1 = (None, None) if value is None else value

    @property
    def partials(self):
        return (self.partial0, self.partial1)


SCALAR_NODES = frozenset([ScalarNode, ScalarNode1, ScalarNode2])


SCALAR_NODES = frozenset([ScalarNode, ScalarNode1, ScalarNode2])


# ------------------------------------------------------------------ recording
def record(trace, prim, args, params):
    """Record ``prim(*args)`` on ``trace`` by the short path when its operands are float64
    scalars of this tape and plain numbers; otherwise (and for results that are not float64
    scalars, primitives that are not ``simple``, or an observed tape) hand it to the trace's
    general recording, ``trace.general``. This is :meth:`ReverseTrace.process`."""
    if not prim.simple or _tape.HOOKS is not None:
        return trace.general(prim, args, params)
    if len(args) == 1:
        a = args[0]
        if type(a) is ReverseTracer and a._trace is trace and a.idx is None:
            v = a.value
            if type(v) is _f64:
                se = prim.scalar_eval
                if se is None or trace.keep:
                    return _by_partials(trace, prim, args, params, (v,), (a.node,))
                ans, d = se(v)  # value and partial in one call: the commonest case
                if type(ans) is _f64:
                    node = ScalarNode1(prim, _NO_PARAMS, ans, a.node, d)
                    trace.tape.append(node)
                    return ReverseTracer(trace, ans, node)
                return trace.general(prim, args, params, ans)
    elif len(args) == 2:
        a, b = args
        if (type(a) is ReverseTracer and type(a.value) is not _f64) or (
            type(b) is ReverseTracer and type(b.value) is not _f64
        ):
            return trace.general(prim, args, params)  # arrays: no scalar path to try
        operands = _operands(trace, args)
        if operands is not None:
            return _by_partials(trace, prim, args, params, *operands)
    return trace.general(prim, args, params)


def _operands(trace, args):
    """``(values, parent nodes)`` when every argument is a float64 scalar of ``trace`` or a
    plain number (parent None), else None."""
    vals, parents = [], []
    for a in args:
        if type(a) is ReverseTracer:
            v = a.value
            if a._trace is not trace or type(v) is not _f64 or a.idx is not None:
                return None
            vals.append(v)
            parents.append(a.node)
        elif type(a) in _SCALAR_CONSTANTS:
            vals.append(a)
            parents.append(None)
        else:
            return None
    return tuple(vals), tuple(parents)


def _by_partials(trace, prim, args, params, vals, parents):
    """Record a scalar node with the declared ``scalar_partials`` of ``prim`` (the layout
    whose rules run when it has none, or on tapes that keep everything)."""
    ans = prim.impl(_np, *vals, **params)
    if type(ans) is not _f64:
        return trace.general(prim, args, params, ans)
    node = None
    ds = prim.scalar_partials
    if ds is not None and not trace.keep:
        try:
            live = [i for i, p in enumerate(parents) if p is not None]
            if len(live) == 1:
                i = live[0]
                node = ScalarNode1(prim, params, ans, parents[i], ds[i](ans, *vals, **params))
            else:
                d0, d1 = (d(ans, *vals, **params) for d in ds)
                node = ScalarNode2(prim, params, ans, parents[0], parents[1], d0, d1)
        except Exception:  # the rule runs in the sweep, and reports it
            node = None
    if node is None:
        node = ScalarNode(prim, params, vals, ans, parents)
    trace.tape.append(node)
    return ReverseTracer(trace, ans, node)


# The operators whose reverse rules are products, by code for scalar_operator: the
# factors are 1 and 1 (add), 1 and -1 (subtract), y and x (multiply); ct * 1.0 is ct and
# ct * -1.0 is -ct exactly, what add's and subtract's rules give (their declared
# ``scalar_partials``).
_PRODUCT_OPERATORS = {"add": 0, "subtract": 1, "multiply": 2}


def _operator_node(prim, code, keep, ans, left, right, pl, pr):
    """The node of ``left op right`` (parent nodes ``pl``, ``pr``; None for a number)."""
    if code < 0 or keep:
        return ScalarNode(prim, _NO_PARAMS, (left, right), ans, (pl, pr))
    if code == 2:
        dl, dr = right, left
    else:
        dl, dr = ONE, ONE if code == 0 else MINUS_ONE
    if pr is None:
        return ScalarNode1(prim, _NO_PARAMS, ans, pl, dl)
    if pl is None:
        return ScalarNode1(prim, _NO_PARAMS, ans, pr, dr)
    return ScalarNode2(prim, _NO_PARAMS, ans, pl, pr, dl, dr)


def scalar_operator(prim, slow, reflected=False, compute=None):
    """An operator method for :class:`ReverseTracer` (``__mul__``, ``__radd__``...): float64
    scalars of one tape, or such a scalar and a Python/NumPy number, are recorded directly
    as a scalar node; anything else goes to ``slow``, the operator every tracer has.
    ``compute(a, b)``, when given, replaces ``prim.impl`` for these operands (e.g.
    ``operator.mul``: it must give exactly what the implementation gives)."""
    if compute is None:
        impl = prim.impl

        def compute(a, b):
            return impl(_np, a, b)

    code = _PRODUCT_OPERATORS.get(prim.name, -1)
    # the factor for this tracer when the other operand is a constant (a product's is the
    # constant itself: code 2)
    d_self = MINUS_ONE if code == 1 and reflected else ONE

    def op(self, other):
        v = self.value
        tr = self._trace
        if type(v) is _f64 and self.idx is None and tr.alive and _tape.HOOKS is None:
            to = type(other)
            if to in _SCALAR_CONSTANTS and code >= 0 and not tr.keep:
                # the commonest case first: a tracer and a number (x + 0.5, 2 * x)
                ans = compute(other, v) if reflected else compute(v, other)
                if type(ans) is _f64:
                    d = other if code == 2 else d_self
                    node = ScalarNode1(prim, _NO_PARAMS, ans, self.node, d)
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
                node = _operator_node(prim, code, tr.keep, ans, left, right, pl, pr)
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
        tr = self._trace
        if type(v) is _f64 and self.idx is None and tr.alive and _tape.HOOKS is None:
            ans = impl(_np, v)
            if type(ans) is _f64:
                if tr.keep:
                    node = ScalarNode(prim, no_params, (v,), ans, (self.node,))
                else:
                    node = ScalarNode1(prim, no_params, ans, self.node, MINUS_ONE)
                tr.tape.append(node)
                return ReverseTracer(tr, ans, node)
        return slow(self)

    return op


# ------------------------------------------------------------------ sweeping
def _fit(g, node):
    """A rule's cotangent as a float64 scalar, with an error naming the rule."""
    return fit_for_rule(g, (), _F64, lambda: f"the cotangent the reverse rule of {node!r} gave")


def cotangents(node, ct) -> list:
    """The cotangents for a scalar node's ``parents``: its partials times ``ct`` (``ONE``
    passes ``ct`` on, ``MINUS_ONE`` negates it: what the rules of add and subtract do),
    else its rules (``scalar_vjp`` for a float64 ``ct``). ``ct`` may be anything a rule
    accepts (an outer transformation's tracer too): the same operations as the rules', on
    the same operands."""
    ds = node.partials
    if ds is not None:
        return [ct if d is ONE else -ct if d is MINUS_ONE else ct * d for d in ds]
    prim = node.prim
    args, ans, params = node.args, node.ans, node.params
    # The rule selection of the general sweep (adgraph.ad.sweep.node_cotangents): a
    # whole-rule joint_vjp comes first; a whole reverse handler never reaches a scalar
    # node (such a primitive is not ``simple``, so it is recorded by the general path).
    if prim.joint_vjp is not None:
        gs = list(prim.joint_vjp(ct, ans, args, params, tuple(p is not None for p in node.parents)))
        if len(gs) != len(node.parents):
            raise ValueError(
                f"the reverse rule of primitive {prim.name!r} returned {len(gs)} cotangents "
                f"for {len(node.parents)} arguments"
            )
        return gs
    rule = prim.scalar_vjp if type(ct) is _f64 and prim.scalar_vjp else prim.vjp
    if rule is None:
        raise prim.missing("reverse-mode (VJP)")
    gs = []
    for i, p in enumerate(node.parents):
        r = rule[i] if i < len(rule) else None
        if p is None:
            gs.append(None)
        elif r is None:
            raise prim.missing(f"reverse-mode (VJP) for argument {i}")
        else:
            gs.append(r(ct, ans, *args, **params))
    return gs


def sweepable(outputs, roots) -> bool:
    """Whether the outputs are on one tape that holds scalar nodes only (then
    :func:`sweep` is the whole backward sweep)."""
    tr = outputs[0]._trace
    if tr.mixed or _tape.HOOKS is not None:
        return False
    for t in outputs:
        if t._trace is not tr:
            return False
    for n in roots:
        if type(n) not in SCALAR_NODES and n.prim is not None:
            return False
    return True


# The backward sweep of scalar code is this loop and nothing else, so it is specialised:
# the step that adds a cotangent ``g`` into its argument's slot is written once, here, and
# placed in each branch of the loop (one per node layout) when the module is imported.
# Measured: calling it as a function, or sharing it through one loop over (parent,
# cotangent) pairs, costs 25-30% of the whole sweep.
_ADD_INTO_SLOT = """
if type(g) is not _f64:
    g = _fit(g, node)
prev = get(p)
if prev is None:
    cts[p] = g
elif type(prev) is _f64 and type(g) is _f64:
    cts[p] = prev + g
else:
    cts[p] = add(prev, g)
"""

_SWEEP = """
def sweep(tape, cts, add, free):
    pop = cts.pop
    get = cts.get
    for node in reversed(tape):
        ct = pop(node, None)
        if ct is None:
            continue
        if type(ct) is _f64 and type(node) is ScalarNode1:
            p, g = node.parent, ct * node.partial
            {add_into_slot:12}
        elif type(ct) is _f64 and type(node) is ScalarNode2:
            p, g = node.parent0, ct * node.partial0
            {add_into_slot:12}
            p, g = node.parent1, ct * node.partial1
            {add_into_slot:12}
        else:
            for p, g in zip(node.parents, cotangents(node, ct)):
                if p is not None and g is not None:
                    {add_into_slot:20}
    if free:
        tape.clear()
    return cts
"""


def _specialise(template: str, **steps: str) -> str:
    """``template`` with each ``{name:indent}`` replaced by the step ``name``, indented."""
    import re

    def put(m):
        body = steps[m.group(1)].strip("\n").splitlines()
        pad = " " * int(m.group(2))
        return ("\n" + pad).join(body)

    return re.sub(r"\{(\w+):(\d+)\}", put, template)


def _build_sweep():
    namespace = dict(globals())
    code = compile(_specialise(_SWEEP, add_into_slot=_ADD_INTO_SLOT), __file__, "exec")
    exec(code, namespace)  # the template above, and nothing from outside this module
    return namespace["sweep"]


sweep = _build_sweep()
sweep.__doc__ = """The backward sweep of a tape of scalar nodes only, in reverse recording order (the
order the general sweep follows too, so sums are added in the same order); ``cts`` holds the
outputs' cotangents on entry and the inputs' on return; ``add`` adds two cotangents that are
not both float64 scalars. With ``free`` the tape is emptied afterwards (its nodes' residuals
are a few scalars each). ``ct * 1.0 == ct`` and ``ct * -1.0 == -ct`` exactly, as the general
rules of add and subtract give."""
