r"""Sparsity detection: which entries of a traced computation depend on which input entries.

A :class:`SparsityTrace` runs a function of one array ``x`` (``n = x.size`` entries) on a
:class:`SparsityTracer`, which holds the concrete value *and* its **pattern**: a boolean
``scipy.sparse`` CSR matrix with one row per entry of the value (C order) and one column
per entry of ``x``; ``P[k, j]`` is True when entry ``k`` may depend on ``x[j]``. The
pattern of the function's output is the pattern of its Jacobian.

Each primitive says how its output's pattern follows from its inputs' patterns by its
``sparsity`` rule, declared with it (``Primitive(..., sparsity=rule)``)::

    rule(pats, ans, *args, **params) -> pattern, a tuple of patterns, or NotImplemented

``pats[i]`` is the pattern of argument ``i`` (None: the argument does not depend on
``x``), ``args`` are the concrete argument values and ``ans`` the concrete output. The
rules are sparse matrix operations, so a pattern costs O(its nonzeros), not O(n) per entry:
elementwise operations take the union of their broadcast operands' rows, reductions a
product with a 0/1 "which entries are summed" matrix, data movement (reshape, transpose,
slicing, concatenation) a selection of rows. Instead of a rule, ``sparsity=MOVES`` says that
every output entry is a copy of one input entry or a zero: the trace then finds which by
running the implementation on the entries' indices (so reshape, transpose, flip, roll,
slicing, padding and concatenation need no code of their own). Shared rules for the other
families: :func:`add_at_rule` (scatters, through their gather), :func:`einsum_rule`
(contractions, cut by constant operands' zeros), :func:`fibre_rule` (transforms along
axes: FFTs), :func:`stack_rule` (functions of stacks of matrices: linear algebra) and
:func:`stacked_matmul_rule`.

Elementwise primitives whose derivative switches between their operands by value
(``where``, ``maximum``, ``minimum``, ``fmax``, ``fmin``, ``relu``) declare
``sparsity=Local(masks)``: globally the union over the operands, and in a *local* trace
(``jacobian_sparsity(f, x, local=True)``) only the operands the value at ``x`` selects.

A primitive without a rule (or whose rule returns NotImplemented) falls back to "every
output entry depends on every input entry any of its arguments depends on": never missing a
nonzero, possibly much denser than needed. :func:`fallback_primitives` lists who falls back.

The patterns are *global* for the path control flow takes at ``x``: values steer Python
``if``\ s as they would in a plain call, and a primitive's rule may use the values of its
*constant* arguments (a matrix that does not depend on ``x`` contributes its nonzeros), but
never the values of traced ones (``where``, ``maximum`` and ``abs`` keep both sides) --
unless the trace is local, see above.
Outputs that carry no derivative (comparisons, integer casts, ``stop_gradient``) are
constants: their pattern is empty, as their entries in the dense Jacobian are zero.

This trace is the reference implementation of every rule. ``jacobian_sparsity`` runs the
same rules on padded index arrays instead (:mod:`adgraph.ad.sparsity_index`: the common
rules vectorised over all entries, the others through this trace's scipy matrices), a few
microseconds of Python per operation; functions with custom derivative rules are
detected here. Hessian patterns come from :mod:`adgraph.ad.sparsity_hessian`: one forward
pass on index arrays, pairing inputs at each nonlinear operation by its second-order kind.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import numpy as _np

from ..core.primitive import Primitive, registry
from ..core.trace import Trace, Tracer, split_args, trace_scope

__all__ = [
    "MOVES",
    "Moves",
    "CALL",
    "Call",
    "Delegate",
    "JVP_RULE",
    "VJP_RULE",
    "Local",
    "WHERE",
    "MAX",
    "MIN",
    "RELU",
    "add_at_rule",
    "fibre_rule",
    "einsum_rule",
    "stack_rule",
    "stacked_matmul_rule",
    "bincount_rule",
    "SparsityTrace",
    "SparsityTracer",
    "csr_from_arrays",
    "require_scipy",
    "broadcast_rows",
    "elementwise_rule",
    "reduction_rule",
    "cumulative_rule",
    "sum_into",
    "fallback_primitives",
]


def require_scipy(what: str):
    """``scipy.sparse``, or an ImportError naming the ``scipy`` extra."""
    try:
        import scipy.sparse as sp
    except ImportError as e:  # pragma: no cover - exercised by monkeypatching in tests
        raise ImportError(
            f"{what} needs SciPy (sparse matrices); install it with "
            "`pip install adgraph[scipy]` (or `pip install scipy`)"
        ) from e
    return sp


_ASSEMBLES: dict = {}  # csr_matrix class -> its constructor's maxprint, or None: use it


def csr_from_arrays(data, indices, indptr, shape: tuple[int, int], cls=None, sorted_=True):
    """A CSR matrix (class ``cls``: ``scipy.sparse.csr_matrix`` or a subclass without its
    own ``__init__``) of arrays known to be well formed -- rows ``indptr``, columns
    ``indices`` in range, each row's columns ascending and distinct when ``sorted_`` --
    used as they are (no copies). SciPy's constructor checks and re-derives what the
    caller knows (the index type from the contents, the format): 10-15 microseconds a
    matrix. Here the attributes it would set are set directly, after checking once per
    class that they make the same matrix with this SciPy (else its constructor runs)."""
    sp = require_scipy("sparse matrices")
    cls = sp.csr_matrix if cls is None else cls
    big = max(shape[0], shape[1], indices.size) >= 2**31 - 1
    it = _np.int64 if big else _np.int32  # the index type SciPy's constructor picks
    indices = indices.astype(it, copy=False)
    indptr = indptr.astype(it, copy=False)
    if cls not in _ASSEMBLES:
        _ASSEMBLES[cls] = _assembles(sp, cls)
    maxprint = _ASSEMBLES[cls]
    if maxprint is None:
        m = cls((data, indices, indptr), shape=shape)
    else:
        m = cls.__new__(cls)
        m._shape, m.maxprint = (int(shape[0]), int(shape[1])), maxprint
        m.data, m.indices, m.indptr = data, indices, indptr
    if sorted_:
        m.has_sorted_indices = True
        m.has_canonical_format = True
    return m


def _assembles(sp, cls):
    """The ``maxprint`` of ``cls``'s constructor when setting ``_shape``, ``maxprint``,
    ``data``, ``indices``, ``indptr`` and the format flags makes the same matrix as the
    constructor does with this SciPy; None otherwise."""
    if cls.__init__ is not sp.csr_matrix.__init__:
        return None
    try:
        d = _np.array([1.0, 2.0])
        i, p = _np.array([0, 2], _np.int32), _np.array([0, 1, 2], _np.int32)
        ref = cls((d, i, p), shape=(2, 3))
        m = cls.__new__(cls)
        m._shape, m.maxprint = (2, 3), ref.maxprint
        m.data, m.indices, m.indptr = d, i, p
        for x in (ref, m):
            x.has_sorted_indices = True
            x.has_canonical_format = True
        same = (
            set(vars(m)) == set(vars(ref))
            and m.shape == ref.shape
            and m.nnz == ref.nnz
            and _np.array_equal(m @ _np.arange(3.0), ref @ _np.arange(3.0))
            and _np.array_equal(m.T.toarray(), ref.T.toarray())
        )
    except Exception:  # any surprise of another SciPy: use its constructor
        return None
    return ref.maxprint if same else None


class Moves:
    """The rule ``sparsity=MOVES``: each output entry is a copy of one entry of the data
    arguments, or a zero. ``Moves(data=(0,))`` names the data arguments when the others
    are index arrays (``getitem``); by default every positional argument is data."""

    __slots__ = ("data",)

    def __init__(self, data: tuple[int, ...] | None = None) -> None:
        self.data = data

    def __repr__(self) -> str:
        return "MOVES" if self.data is None else f"Moves(data={self.data})"

    def __call__(self, pats, ans, *args, **params):
        return NotImplemented  # the trace runs the implementation on indices


MOVES = Moves()


class Call:
    """The rule ``sparsity=CALL`` of a call primitive whose derivative is its body's
    (``checkpoint``, a ``switch`` between branches): its implementation, which calls user
    code written with adgraph's operations, is run on the tracers themselves, so the
    pattern is the body's (for a switch, the branch the concrete index takes, as a Python
    ``if`` would). ``Call(body)`` runs ``body(params)`` instead, for a primitive whose
    implementation is compiled code (``jit_call``: its graph, evaluated by binding each
    primitive). Not for functions with custom derivative rules: a rule may define a
    derivative with another pattern than the function (a straight-through estimator), so
    those fall back to dense."""

    __slots__ = ("body",)

    def __init__(self, body=None) -> None:
        self.body = body

    def __repr__(self) -> str:
        return "CALL" if self.body is None else f"Call({self.body!r})"

    def __call__(self, pats, ans, *args, **params):
        return NotImplemented  # the trace runs the body itself (SparsityTrace.process)


CALL = Call()


class _JvpRule:
    """The rule ``sparsity=JVP_RULE`` of ``custom_jvp_call``: the user's JVP rule (its
    parameter ``jvp``, ``(primals, tangents) -> (outs, tangent_outs)``) is run at the
    concrete primals with the arguments' tracers as tangents. The rule is linear in the
    tangents, so each tangent output's pattern is the custom derivative's pattern applied
    to the arguments' -- whatever pattern the function itself has (a straight-through
    rule's identity, say)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "JVP_RULE"

    def __call__(self, pats, ans, *args, **params):
        return NotImplemented  # the trace runs the rule itself (SparsityTrace.process)


JVP_RULE = _JvpRule()


class _VjpRule:
    """The rule ``sparsity=VJP_RULE`` of ``custom_vjp_call``: the pattern of the user's
    reverse rule, found by a second detection over the outputs' cotangents. ``fwd`` runs at
    the concrete arguments (its residuals are constants), ``bwd`` on cotangent tracers
    whose patterns start as the identity over the outputs' entries; the input cotangents'
    patterns are then the rows of the transposed Jacobian, ``J^T``, and each output's
    pattern is ``J`` times the arguments' patterns. A rule the tracers cannot run through
    falls back to dense."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "VJP_RULE"

    def __call__(self, pats, ans, *args, **params):
        return NotImplemented  # the trace runs the rule itself (SparsityTrace.process)


VJP_RULE = _VjpRule()


class Delegate:
    """The rule ``sparsity=Delegate(prim="prim", params="params")`` of a primitive that
    stands for another primitive's application (``checkpoint_saved``): the rule of the
    primitive in parameter ``prim``, with the parameters in ``params``."""

    __slots__ = ("prim", "params")

    def __init__(self, prim: str = "prim", params: str = "params") -> None:
        self.prim, self.params = prim, params

    def __call__(self, pats, ans, *args, **params):
        return NotImplemented  # the trace applies the named primitive's rule


class Local:
    """The rule ``sparsity=Local(masks)`` of an elementwise primitive whose derivative
    goes to one operand or another by value. ``masks(ans, *args, **params)`` returns, per
    argument, a boolean array (broadcastable to ``ans``) that is False where the output
    entry does not depend on that argument at these values (None: everywhere it may).
    Masks must keep both operands at ties and NaNs: a local pattern may be wider than the
    Jacobian at ``x``, never narrower. A global trace ignores the masks (union over the
    arguments that have a derivative, as :func:`elementwise_rule`)."""

    __slots__ = ("masks", "rule")

    def __init__(self, masks, differentiable: tuple[bool, ...]) -> None:
        self.masks = masks
        self.rule = elementwise_rule(differentiable)

    def __call__(self, pats, ans, *args, **params):
        return self.rule(pats, ans, *args, **params)

    def local(self, pats, ans, *args, **params):
        sp = require_scipy("sparsity detection")
        masks = self.masks(ans, *args, **params)
        shape = _np.shape(ans)
        out = None
        for i, p in enumerate(pats):
            if p is None or not self.rule.differentiable[i]:
                continue
            q = broadcast_rows(p, _np.shape(args[i]), shape)
            m = masks[i]
            if m is not None:
                keep = _np.broadcast_to(_np.asarray(m, dtype=bool), shape).ravel()
                q = sp.diags(keep.astype(_np.int8), format="csr", dtype=bool) @ q
            out = q if out is None else out + q
        return out


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _empty(rows: int, n: int):
    sp = require_scipy("sparsity detection")
    return sp.csr_matrix((rows, n), dtype=bool)


def broadcast_rows(p, in_shape, out_shape):
    """The pattern of ``broadcast_to(a, out_shape)`` from the pattern ``p`` of ``a``."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return p
    idx = _np.broadcast_to(_np.arange(_size(in_shape)).reshape(in_shape), out_shape)
    return p[idx.ravel()]


def elementwise_rule(differentiable: tuple[bool, ...]):
    """The rule of an elementwise primitive: an output entry depends on what the operands'
    entries it is computed from depend on (broadcasting repeats rows). Arguments whose
    ``differentiable`` entry is False (no partial) contribute nothing."""

    def rule(pats, ans, *args, **params):
        out = None
        shape = _np.shape(ans)
        for i, p in enumerate(pats):
            if p is None or (i < len(differentiable) and not differentiable[i]):
                continue
            q = broadcast_rows(p, _np.shape(args[i]), shape)
            out = q if out is None else out + q  # boolean sum: union of rows
        return out

    rule.differentiable = _Flags(differentiable)  # type: ignore[attr-defined]
    return rule


class _Flags(tuple):
    """Per-argument flags; arguments past the end count as True."""

    def __getitem__(self, i):  # type: ignore[override]
        return super().__getitem__(i) if i < len(self) else True


def sum_into(p, targets, out_size: int):
    """The pattern of an output whose entry ``t`` sums the input entries ``k`` with
    ``targets[k] == t`` (``targets``: one output index per input entry, -1: dropped)."""
    sp = require_scipy("sparsity detection")
    targets = _np.asarray(targets).ravel()
    keep = targets >= 0
    cols = _np.arange(targets.size)[keep]
    s = sp.csr_matrix(
        (_np.ones(cols.size, bool), (targets[keep], cols)), shape=(out_size, targets.size)
    )
    return s @ p


def _where_masks(ans, c, x, y):
    c = _np.asarray(c).astype(bool)
    return None, c, ~c


def _max_masks(ans, x, y):  # ties and NaNs keep both operands
    return ~(_np.asarray(x) < y), ~(_np.asarray(y) < x)


def _min_masks(ans, x, y):
    return ~(_np.asarray(x) > y), ~(_np.asarray(y) > x)


def _relu_masks(ans, x):
    return (~(_np.asarray(x) < 0),)


#: ``where(c, x, y)``: locally, entries where ``c`` holds depend on ``x`` alone.
WHERE = Local(_where_masks, (False, True, True))
#: ``maximum``/``fmax``: locally, the larger operand (both at ties and NaNs).
MAX = Local(_max_masks, (True, True))
#: ``minimum``/``fmin``: locally, the smaller operand (both at ties and NaNs).
MIN = Local(_min_masks, (True, True))
#: ``relu(x) = max(x, 0)``: locally, no dependence where ``x < 0``.
RELU = Local(_relu_masks, (True,))


def add_at_rule(gather):
    """The rule of ``y = x`` with ``u`` added at positions (``x.at[idx].add(u)``), with
    arguments ``(x, *index_args, u)``: ``y`` depends on ``x`` entry by entry, and entry
    ``t`` of ``y`` on the entries of ``u`` that land on ``t``. ``gather(xp, ids,
    *index_args, **params)`` reads an array like ``x`` at the positions ``u`` is added at
    (the primitive's gather counterpart); ``u`` is broadcast to what it returns."""

    def rule(pats, ans, x, *rest, **params):
        sp = require_scipy("sparsity detection")
        index_args, u = rest[:-1], rest[-1]
        px, pu = pats[0], pats[-1]
        if any(p is not None for p in pats[1:-1]):
            return NotImplemented  # a traced index array
        out = px
        if pu is not None:
            ids = _np.arange(_np.size(ans)).reshape(_np.shape(ans))
            targets = _np.asarray(gather(_np, ids, *index_args, **params))
            src = _np.broadcast_to(_np.arange(_np.size(u)).reshape(_np.shape(u)), targets.shape)
            s = sp.csr_matrix(
                (_np.ones(targets.size, bool), (targets.ravel(), src.ravel())),
                shape=(_np.size(ans), _np.size(u)),
            )
            term = s @ pu
            out = term if out is None else out + term
        return out

    return rule


def fibre_rule(pats, ans, x, *, axes, **params):
    """The rule of a transform along ``axes`` (FFTs): an output entry depends on every
    input entry with the same coordinates outside ``axes`` (its fibre). The axes may
    change length; the others keep theirs."""
    sp = require_scipy("sparsity detection")
    xs, ys = _np.shape(x), _np.shape(ans)
    axes = {a % len(xs) for a in axes}
    fib = tuple(1 if i in axes else d for i, d in enumerate(xs))
    nf = _size(fib)

    def member(shape):  # entries x fibres, one 1 per entry
        f = _np.broadcast_to(_np.arange(nf).reshape(fib), shape).ravel()
        return sp.csr_matrix((_np.ones(f.size, bool), (_np.arange(f.size), f)), shape=(f.size, nf))

    return member(ys) @ (member(xs).T @ pats[0])


def stack_rule(in_core, out_core):
    """The rule of a function of *stacks* of matrices (linear algebra): argument ``k``'s
    last ``in_core[k]`` axes are its core (2 for a matrix), the axes before them its stack
    axes, which broadcast to each output's stack axes (all but its last ``out_core``,
    an int for every output or one per output). Each output entry depends on every entry
    of the matrices of its stack position, and of no other position: a stack of small
    solves is block diagonal, not dense. Shapes that do not fit fall back."""
    in_core = (in_core,) if isinstance(in_core, int) else tuple(in_core)

    def member(shape, core):
        """entries x stack positions (C order: stack axes lead, core axes trail)."""
        sp = require_scipy("sparsity detection")
        size, per = _size(shape), _size(shape[len(shape) - core :])
        ids = _np.arange(size) // max(per, 1)
        nb = _size(shape[: len(shape) - core])
        return sp.csr_matrix((_np.ones(size, bool), (_np.arange(size), ids)), shape=(size, nb))

    def rule(pats, ans, *args, **params):
        sp = require_scipy("sparsity detection")
        outs = tuple(ans) if isinstance(ans, (tuple, list)) else (ans,)
        cores = (out_core,) * len(outs) if isinstance(out_core, int) else tuple(out_core)
        if len(cores) != len(outs) or len(in_core) < len(args):
            return NotImplemented
        oshape = [_np.shape(o) for o in outs]
        if any(len(s) < c for s, c in zip(oshape, cores)):
            return NotImplemented
        stack = tuple(oshape[0][: len(oshape[0]) - cores[0]])
        if any(tuple(s[: len(s) - c]) != stack for s, c in zip(oshape, cores)):
            return NotImplemented
        nb = _size(stack)
        total = None
        for a, p, core in zip(args, pats, in_core):
            if p is None:
                continue
            ashape = _np.shape(a)
            if len(ashape) < core:
                return NotImplemented
            astack = tuple(ashape[: len(ashape) - core])
            try:
                if tuple(_np.broadcast_shapes(astack, stack)) != stack:
                    return NotImplemented
            except ValueError:
                return NotImplemented
            # position b of the result's stack reads position pos[b] of this argument's
            pos = _np.broadcast_to(_np.arange(_size(astack)).reshape(astack), stack).ravel()
            pick = sp.csr_matrix(
                (_np.ones(nb, bool), (_np.arange(nb), pos)), shape=(nb, _size(astack))
            )
            term = pick @ (member(ashape, core).T @ p)
            total = term if total is None else total + term
        if total is None:
            return None
        res = tuple(member(s, c) @ total for s, c in zip(oshape, cores))
        return res if isinstance(ans, (tuple, list)) else res[0]

    return rule


def stacked_matmul_rule(pats, ans, x, y):
    """``matmul`` of stacks of matrices as the einsum ``...il,...lj->...ij`` (vectors: no
    ``i`` or ``j``), through :func:`einsum_rule`; stack axes that broadcast a length-1
    axis against a longer one fall back."""
    xs, ys = _np.shape(x), _np.shape(y)
    bx = xs[:-2] if len(xs) > 2 else ()
    by = ys[:-2] if len(ys) > 2 else ()
    if bx and by and bx != by:
        return NotImplemented
    batch = "ABCDEFGHIJKLMNOPQRSTUVWX"[: max(len(bx), len(by))]
    if len(batch) < max(len(bx), len(by)):
        return NotImplemented
    sx = (batch[len(batch) - len(bx) :] if bx else "") + ("l" if len(xs) == 1 else "il")
    sy = (batch[len(batch) - len(by) :] if by else "") + ("l" if len(ys) == 1 else "lj")
    so = batch + ("i" if len(xs) > 1 else "") + ("j" if len(ys) > 1 else "")
    return einsum_rule(pats, ans, x, y, spec=f"{sx},{sy}->{so}")


#: The most index combinations :func:`einsum_rule` enumerates before falling back.
EINSUM_LIMIT = 1 << 22


def einsum_rule(pats, ans, *ops, spec):
    """The rule of ``einsum`` with explicit subscripts: output entry ``o`` depends on
    entry ``e`` of a traced operand when some combination of the index letters maps to
    both and every *constant* operand's entry at that combination is nonzero. The
    combinations are enumerated (falls back past :data:`EINSUM_LIMIT` of them)."""
    sp = require_scipy("sparsity detection")
    lhs, out = spec.split("->")
    ins = lhs.split(",")
    dims: dict[str, int] = {}
    for sub, op in zip(ins, ops):
        for c, d in zip(sub, _np.shape(op)):
            dims[c] = d
    letters = sorted(dims)
    total = _size(dims[c] for c in letters)
    if total > EINSUM_LIMIT or len(letters) > 32:
        return NotImplemented
    axes = {
        c: _np.arange(dims[c]).reshape([-1 if j == i else 1 for j in range(len(letters))])
        for i, c in enumerate(letters)
    }
    full = tuple(dims[c] for c in letters)

    def flat(sub, shape):
        if not sub:
            return _np.zeros(full, _np.int64)
        idx = _np.ravel_multi_index(tuple(axes[c] for c in sub), shape)
        return _np.broadcast_to(idx, full)

    keep = _np.ones(full, bool)
    for sub, op, p in zip(ins, ops, pats):
        if p is None:  # a constant: its zeros cut the combinations they multiply
            nz = _np.asarray(op) != 0
            keep = keep & (nz[tuple(axes[c] for c in sub)] if sub else nz)
    o = flat(out, _np.shape(ans))[keep]
    result = None
    for sub, op, p in zip(ins, ops, pats):
        if p is None:
            continue
        e = flat(sub, _np.shape(op))[keep]
        r = sp.csr_matrix(
            (_np.ones(o.size, bool), (o, e)), shape=(_size(_np.shape(ans)), _size(_np.shape(op)))
        )
        term = r @ p
        result = term if result is None else result + term
    return result


def bincount_rule(pats, ans, x, w, **params):
    """``bincount(x, w)``: bin ``k`` sums the weights ``w[i]`` with ``x[i] == k`` (the
    integer ``x`` carries no derivative; a traced one would mean a non-integer)."""
    if pats[0] is not None:
        return NotImplemented
    if pats[1] is None:
        return None
    return sum_into(pats[1], _np.asarray(x), _size(_np.shape(ans)))


def _reduction(p, x, axis, keepdims):
    xs = _np.shape(x)
    kept = tuple(1 if i in axis else d for i, d in enumerate(xs))
    targets = _np.broadcast_to(_np.arange(_size(kept)).reshape(kept), xs)
    return sum_into(p, targets, _size(kept))


def reduction_rule(pats, ans, x, *, axis, keepdims, **params):
    """The rule of a reduction over ``axis`` (sum, product, max, min, variance): an output
    entry depends on every entry it reduces."""
    return _reduction(pats[0], x, tuple(axis), keepdims)


def cumulative_rule(pats, ans, x, *, axis):
    """The rule of a running reduction along ``axis`` (cumsum, cumprod): output ``k``
    along the axis depends on inputs ``0..k``."""
    sp = require_scipy("sparsity detection")
    xs = _np.shape(x)
    length = xs[axis]
    idx = _np.moveaxis(_np.arange(_size(xs)).reshape(xs), axis, -1).reshape(-1, length)
    j, k = _np.tril_indices(length)  # pairs k <= j
    rows = idx[:, j].ravel()
    cols = idx[:, k].ravel()
    s = sp.csr_matrix((_np.ones(rows.size, bool), (rows, cols)), shape=(_size(xs), _size(xs)))
    return s @ pats[0]


def _moves(prim, data, pats, args, params, n):
    """Apply a MOVES primitive to the entries' indices (1-based, 0 for a zero) of its data
    arguments, stacked in one pattern; the other arguments (index arrays) are passed as
    they are."""
    starts, ends, indices, ids, offset, base = [], [], [], [], 0, 0
    for i, (a, p) in enumerate(zip(args, pats)):
        if data is not None and i not in data:
            if p is not None:
                return NotImplemented  # a traced index argument: not a pure move
            ids.append(a)
            continue
        shape = _np.shape(a)
        size = _size(shape)
        ids.append((_np.arange(size, dtype=_np.float64) + (offset + 1)).reshape(shape))
        if p is None:
            z = _np.zeros(size, _np.int64)
            starts.append(z)
            ends.append(z)
        else:
            p = p.tocsr()
            ptr = p.indptr.astype(_np.int64) + base
            starts.append(ptr[:-1])
            ends.append(ptr[1:])
            indices.append(p.indices)
            base += p.indices.size
        offset += size
    # Row 0 of the stack is empty: index 0 (a zero in the output) selects it.
    z = _np.zeros(1, _np.int64)
    start = _np.concatenate([z] + starts)
    length = _np.concatenate([z] + ends) - start
    cols = _np.concatenate(indices) if indices else _np.zeros(0, _np.int32)
    out = prim.impl(_np, *ids, **params)

    def pick(o):
        return _take_rows(start, length, cols, _np.asarray(o).real.astype(_np.int64).ravel(), n)

    if prim.multiple_results:
        return tuple(pick(o) for o in out)
    return pick(out)


def _take_rows(start, length, cols, rows, n: int):
    """The CSR matrix whose row ``k`` is row ``rows[k]`` of a stack given by each row's
    ``start`` and ``length`` in ``cols`` (plain NumPy: no per-call SciPy indexing)."""
    sp = require_scipy("sparsity detection")
    lens = length[rows]
    indptr = _np.zeros(rows.size + 1, _np.int64)
    _np.cumsum(lens, out=indptr[1:])
    total = int(indptr[-1])
    # Entry t of the result lies at start[rows[k]] + (t - indptr[k]) for its row k.
    pos = _np.arange(total, dtype=_np.int64) + _np.repeat(start[rows] - indptr[:-1], lens)
    return sp.csr_matrix((_np.ones(total, bool), cols[pos], indptr), shape=(rows.size, n))


def _dense(pats, rows: int, n: int):
    """The fallback: every output entry depends on every column any argument depends on."""
    sp = require_scipy("sparsity detection")
    cols = None
    for p in pats:
        if p is not None:
            c = _np.unique(p.indices)
            cols = c if cols is None else _np.union1d(cols, c)
    if cols is None:
        return None
    indptr = _np.arange(rows + 1, dtype=_np.int64) * cols.size
    return sp.csr_matrix(
        (_np.ones(rows * cols.size, bool), _np.tile(cols, rows), indptr), shape=(rows, n)
    )


class SparsityTracer(Tracer):
    """A value and its pattern (boolean CSR, ``value.size`` rows, ``n`` columns)."""

    __slots__ = ("value", "pattern")
    shape = property(attrgetter("value.shape"))
    dtype = property(attrgetter("value.dtype"))

    def __init__(self, trace: SparsityTrace, value, pattern) -> None:
        self._trace = trace
        self.value = value
        self.pattern = pattern

    def _inner(self):
        return self.value


class SparsityTrace(Trace):
    """Pattern propagation for a function of one array of ``n`` entries. ``fallbacks``
    collects the names of the primitives that used the dense fallback."""

    __slots__ = ("n", "fallbacks", "local")

    def __init__(self, n: int, local: bool = False) -> None:
        super().__init__()
        self.n = n
        self.local = local  # use Local rules' masks (value-dependent patterns)
        self.fallbacks: set[str] = set()

    def input(self, x) -> SparsityTracer:
        """The tracer of the input: entry ``j`` depends on ``x[j]`` alone."""
        sp = require_scipy("sparsity detection")
        return SparsityTracer(self, x, sp.identity(self.n, dtype=bool, format="csr"))

    def process(self, prim: Primitive, args, params):
        rule = prim.sparsity
        if type(rule) is Call:
            # The body on the tracers: each of its operations propagates its own rule.
            if rule.body is None:
                out = prim.impl(_np, *args, **params)
            else:
                out = rule.body(params)(*args)
            return tuple(out) if prim.multiple_results else out
        vals, pats, traced = split_args(self, args, SparsityTracer, "pattern")
        for a in vals:
            if isinstance(a, Tracer):
                raise TypeError(
                    "sparsity detection met a value traced by another transformation "
                    "(jacobian_sparsity inside grad/jvp/vmap/jit, or a function closing "
                    "over such a value); detect the pattern outside other transformations"
                )
        if type(rule) is _JvpRule and traced and callable(params.get("jvp")):
            return self._custom_jvp(args, vals, params["jvp"])
        if type(rule) is _VjpRule and traced and callable(params.get("bwd")):
            out = self._custom_vjp(args, vals, pats, params)
            if out is not None:
                return out
            self.fallbacks.add(prim.name)  # the rule did not run on tracers: dense below
        ans = prim.bind(*vals, **params)
        if prim.nondiff or not traced:
            return ans
        out = self._rule(prim, pats, ans, vals, params)
        if prim.multiple_results:
            return tuple(self._wrap(a, p) for a, p in zip(ans, out))
        return self._wrap(ans, out)

    def _custom_jvp(self, args, vals, jvp):
        tangents = [
            a if type(a) is SparsityTracer and a._trace is self else _np.zeros_like(v)
            for a, v in zip(args, vals)
        ]
        out, t_out = jvp(tuple(vals), tuple(tangents))
        res = []
        for o, t in zip(out, t_out):
            o = o.primal_value() if isinstance(o, Tracer) else o
            p = t.pattern if type(t) is SparsityTracer and t._trace is self else None
            res.append(self._wrap(o, p))
        return tuple(res)

    def _custom_vjp(self, args, vals, pats, params):
        """Output tracers from the transposed detection (see :class:`_VjpRule`), or None
        when the rules cannot run on tracers."""
        out, res = params["fwd"](*vals)
        out = [o.primal_value() if isinstance(o, Tracer) else o for o in out]
        sizes = [_size(_np.shape(o)) for o in out]
        m = sum(sizes)
        inner = SparsityTrace(m)
        wanted = [p is not None for p in pats]
        try:
            with trace_scope(inner):
                flat = inner.input(_np.zeros(m))
                cts, off = [], 0
                for o, k in zip(out, sizes):
                    cts.append(flat[off : off + k].reshape(_np.shape(o)))
                    off += k
                cin = list(params["bwd"](res, tuple(cts), wanted))
        except (TypeError, ValueError):
            return None
        total = None
        for c, p in zip(cin, pats):
            if p is None or not (type(c) is SparsityTracer and c._trace is inner):
                continue  # no cotangent flows: no dependence
            jt = c.pattern
            if jt.shape != (p.shape[0], m):
                return None
            term = jt.T.tocsr() @ p
            total = term if total is None else total + term
        res_out, off = [], 0
        for o, k in zip(out, sizes):
            res_out.append(self._wrap(o, None if total is None else total[off : off + k]))
            off += k
        return tuple(res_out)

    def _rule(self, prim, pats, ans, vals, params):
        rule = prim.sparsity
        if type(rule) is Delegate and isinstance(params.get(rule.prim), Primitive):
            return self._rule(params[rule.prim], pats, ans, vals, params.get(rule.params, {}))
        out = NotImplemented
        if type(rule) is Moves:
            out = _moves(prim, rule.data, pats, vals, params, self.n)
        elif self.local and type(rule) is Local:
            out = rule.local(pats, ans, *vals, **params)
        elif rule is not None:
            out = rule(pats, ans, *vals, **params)
        if out is NotImplemented:
            self.fallbacks.add(prim.name)
            if prim.multiple_results:
                return tuple(_dense(pats, _size(_np.shape(a)), self.n) for a in ans)
            return _dense(pats, _size(_np.shape(ans)), self.n)
        return out

    def _wrap(self, ans, p):
        dt = getattr(ans, "dtype", None)
        if p is None or dt is None or dt.kind not in "fc":
            return ans  # no dependence, or no derivative (an integer or boolean result)
        if p.shape != (_size(_np.shape(ans)), self.n):
            raise ValueError(  # a rule's bug: never let a wrong pattern pass silently
                f"sparsity rule returned a pattern of shape {p.shape} for an output of "
                f"{_size(_np.shape(ans))} entries and {self.n} inputs"
            )
        return SparsityTracer(self, ans, p)


def output_pattern(trace: SparsityTrace, result) -> Any:
    """The pattern of ``result`` (an array or a tracer of ``trace``), sorted CSR."""
    if type(result) is SparsityTracer and result._trace is trace:
        p = result.pattern.tocsr()
    else:
        p = _empty(_size(_np.shape(result)), trace.n)
    p.sum_duplicates()
    p.sort_indices()
    p.eliminate_zeros()
    return p


def fallback_primitives() -> list[str]:
    """The registered differentiable primitives without a sparsity rule: detection treats
    each of their outputs as depending on everything their inputs depend on."""
    return sorted(n for n, p in registry.items() if p.sparsity is None and not p.nondiff)
