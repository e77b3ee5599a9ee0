r"""Sparsity patterns as index arrays: first-order propagation at a few microseconds per
operation.

:class:`IndexSparsityTrace` runs a function once, like a
:class:`~adgraph.ad.sparsity.SparsityTrace`, carrying for every value its first-order
pattern -- which entries of ``x`` each of its entries depends on -- as a NumPy index
array, one padded slot per dependency (``-1`` fills a slot), instead of a
``scipy.sparse`` matrix. The common rules (elementwise, data movement, reductions) work
on all the entries of a value at once; any other rule runs on ``scipy.sparse`` matrices
as in :class:`~adgraph.ad.sparsity.SparsityTrace`, so both give the same patterns.
:func:`jacobian_pattern` is the Jacobian's pattern this way; the Hessian's detection
(:mod:`adgraph.ad.sparsity_hessian`) builds on the same trace.

**Runs.** The input's pattern is a read-only ``arange(n)``; a view of it with unit stride
along the entries holds consecutive ids, so a slot that is such a view is a *run*
``start + arange(entries)``, recognised in O(1) (:func:`_starts`). Slices of a 1-D ``x``
are runs, unions of runs stay views where their starts are evenly spaced
(:func:`_run_view`), and stencils on them never compare index arrays entry by entry.

A function with custom derivative rules (``custom_jvp``, ``custom_vjp``) makes the trace
raise :class:`NeedsGradient`: the scipy trace runs those rules on its patterns, and the
Hessian's detection goes through the gradient.
"""

from __future__ import annotations

import numpy as _np

from ..core.primitive import Primitive
from ..core.trace import Tracer, trace_scope
from .sparsity import (
    Call,
    Delegate,
    Local,
    Moves,
    SparsityTrace,
    SparsityTracer,
    _JvpRule,
    _size,
    _VjpRule,
    csr_from_arrays,
    reduction_rule,
    require_scipy,
)

__all__ = ["NeedsGradient", "IndexSparsityTrace", "jacobian_pattern"]

#: Rules that SparsityTrace.process handles itself (bodies run on the tracers, custom
#: derivative rules).
_SPECIAL = (Call, _JvpRule, _VjpRule)


class NeedsGradient(Exception):
    """The function has custom derivative rules: detect through its gradient (the
    Hessian) or on scipy patterns (the Jacobian)."""


# ------------------------------------------------------------------ padded patterns
# A pattern is an integer array (int32 below 2**31 entries) of shape (width, entries),
# slot-major: column k lists the entries of x that entry k depends on, each at most once,
# padded with -1 (each slot a contiguous row, so every step is a vector operation over
# all entries); or a scipy CSR matrix (entries, n) when padding would waste too much
# (rows of very different lengths).


def _rows(p) -> int:
    """The number of entries a pattern describes."""
    return p.shape[1] if isinstance(p, _np.ndarray) else p.shape[0]


def _padded_from_csr(p):
    """``p`` (boolean CSR) as a padded array, or ``p`` canonical when rows differ
    too much in length to pad."""
    p = p.tocsr()
    p.sum_duplicates()
    m = p.shape[0]
    lens = _np.diff(p.indptr)
    width = int(lens.max()) if m else 0
    if m * width > 4 * (p.indices.size + m) + 1024:
        return p
    out = _np.full((m, width), -1, p.indices.dtype)
    out[_np.arange(width) < lens[:, None]] = p.indices
    return _np.ascontiguousarray(out.T)


def _csr(r, n: int):
    """A padded pattern as boolean CSR (a CSR pattern as it is)."""
    if not isinstance(r, _np.ndarray):
        return r
    return _padded_csr(r, n, sort=False)


def _padded_csr(r, n: int, sort: bool = True, matrix=None):
    """The padded pattern ``r`` (width, entries) as boolean CSR of class ``matrix``
    (scipy's ``csr_matrix`` by default); with ``sort``, canonical: each row's columns
    ascending. Every step runs along the entries (NumPy is slow across a short axis):
    the slots are sorted entry by entry by a sorting network of minimum/maximum pairs
    (-1, the padding, comes first), written into an entry-major table, and the padding
    is dropped."""
    sp = require_scipy("sparsity detection")
    matrix = sp.csr_matrix if matrix is None else matrix
    w, k = r.shape
    slots = list(r)
    if sort and 1 < w <= 8:  # odd-even transposition: w rounds sort w slots
        # In a copy, with one spare row: large temporaries cost page faults each time.
        slots = list(r.copy())
        spare = _np.empty(k, r.dtype)
        for rnd in range(w):
            for j in range(rnd % 2, w - 1, 2):
                a, b = slots[j], slots[j + 1]
                _np.minimum(a, b, out=spare)
                _np.maximum(a, b, out=b)
                slots[j], spare = spare, a
    elif sort and w > 8:
        slots = list(_np.sort(r, axis=0))
    table = _np.empty((k, w), r.dtype)
    count = _np.full(k, w, _np.int64)
    for j, v in enumerate(slots):
        table[:, j] = v
        count -= v < 0
    it = _index_type(max(n, w * k) + 1)
    indptr = _np.zeros(k + 1, it)
    _np.cumsum(count, out=indptr[1:])
    cols = table.ravel()
    if int(indptr[-1]) != cols.size:
        cols = cols[cols >= 0]
    canonical = sort and not any(
        ((slots[j] == slots[j + 1]) & (slots[j] >= 0)).any() for j in range(w - 1)
    )
    data = _np.ones(cols.size, bool)
    if canonical or not sort:  # canonical: sorted, and no entry lists a column twice
        return csr_from_arrays(data, cols, indptr, (k, n), matrix, sorted_=canonical)
    m = matrix((data, cols.astype(it, copy=False), indptr), shape=(k, n))
    m.sum_duplicates()
    return m


def _compact(r):
    """Drop the slots that are -1 for every entry."""
    if r.shape[0] <= 1:
        return r
    keep = (r >= 0).any(1)
    return r if keep.all() else r[keep]


def _starts(p, ids):
    """When every slot of the padded pattern ``p`` is a *run* -- slot ``s`` is
    ``starts[s] + arange(entries)`` -- the list of starts, else None. A run is recognised
    in O(1): ``ids`` is the trace's read-only ``arange(n)``, and a view of it with unit
    stride along the entries holds consecutive ids (``ids[j] == j``). Slices of ``x``
    and the unions of their patterns (:func:`_run_view`) are such views, so stencils on
    1-D arrays never compare index arrays entry by entry."""
    if p.base is not ids or p.ndim != 2:
        return None
    w, k = p.shape
    if k == 0 or (k > 1 and p.strides[1] != p.itemsize) or (w > 1 and p.strides[0] == 0):
        return None
    return p[:, 0].tolist()


def _run_view(ids, starts, k: int):
    """The pattern whose slots are the runs ``starts[s] + arange(k)`` (distinct starts,
    ascending): a read-only view of ``ids`` when the starts are evenly spaced, else a
    copy (whose slots are then checked entry by entry, as any pattern's)."""
    lo = starts[0]
    if len(starts) == 1:
        return ids[lo : lo + k][None]
    step = starts[1] - lo
    if all(b - a == step for a, b in zip(starts, starts[1:])):
        size = ids.itemsize
        return _np.ndarray(
            (len(starts), k), ids.dtype, buffer=ids, offset=lo * size, strides=(step * size, size)
        )
    return _np.stack([ids[s : s + k] for s in starts])


def _union(a, b, ids=None):
    """Entry-wise union of two padded patterns of the same entries (``ids``: the
    trace's id array, to recognise runs: :func:`_starts`)."""
    if a is b or b.shape[0] == 0:
        return a
    if a.shape[0] == 0:
        return b
    if ids is not None and (sa := _starts(a, ids)) is not None:
        sb = _starts(b, ids)
        if sb is not None:  # runs with different starts differ at every entry
            starts = sorted(set(sa).union(sb))
            if len(starts) == len(sa):
                return a
            if len(starts) == len(sb):
                return b
            return _run_view(ids, starts, a.shape[1])
    if a.shape[0] * b.shape[0] <= 16:
        slots = [a]
        for t in range(b.shape[0]):
            v = b[t]
            dup = v == a[0]
            for s in range(1, a.shape[0]):
                dup |= v == a[s]
            if dup.all():
                continue  # the usual case: the same dependence on both sides
            slots.append(_np.where(dup, -1, v)[None] if dup.any() else v[None])
        return slots[0] if len(slots) == 1 else _compact(_np.concatenate(slots))
    c = _np.sort(_np.concatenate([a, b]), axis=0)
    c[1:][c[1:] == c[:-1]] = -1
    return _compact(c)


def _broadcast(r, in_shape, out_shape):
    if in_shape == out_shape:
        return r
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return r
    src = _np.broadcast_to(_np.arange(_size(in_shape)).reshape(in_shape), out_shape)
    return r[:, src.ravel()]


def _shape(a) -> tuple:
    return a.shape if type(a) is _np.ndarray else _np.shape(a)


def _elementwise(diff, pats, ans, args, ids=None):
    out = None
    shape = _shape(ans)
    flags = len(diff)
    for i, p in enumerate(pats):
        if p is None or (i < flags and not tuple.__getitem__(diff, i)):
            continue
        q = _broadcast(p, _shape(args[i]), shape)
        out = q if out is None else _union(out, q, ids)
    return out


_BASIC_INDEX = frozenset({slice, int, type(None), type(Ellipsis)})  # not bool: x[True] adds an axis


def _moves(prim, data, pats, args, params):
    """A MOVES primitive on 1-based entry ids of its data arguments; id 0 is a zero
    (an empty column). The ids are integers: moving entries keeps them exact."""
    if prim.name == "getitem" and len(args) == 1 and pats[0] is not None:
        skel = params.get("skel")
        if type(skel) is tuple and _BASIC_INDEX.issuperset(map(type, skel)):
            # Basic indexing (slices, integers, None, ...): index the slots themselves,
            # one axis in front -- a view (a run stays a run) where NumPy gives one.
            p = pats[0]
            w = p.shape[0]
            r = p.reshape((w,) + _shape(args[0]))[(slice(None),) + skel]
            return r.reshape(w, _size(r.shape[1:]))
    ids, blocks, offset, owner = [], [], 0, None
    for i, (a, p) in enumerate(zip(args, pats)):
        if data is not None and i not in data:
            if p is not None:
                return NotImplemented  # a traced index argument
            ids.append(a)
            continue
        shape = _np.shape(a)
        size = _size(shape)
        owner = _np.arange(offset + 1, offset + 1 + size, dtype=_np.int64)
        ids.append(owner.reshape(shape))
        blocks.append((offset + 1, p))
        offset += size
    known = [p for _, p in blocks if p is not None]
    if not known:
        return None
    out = None
    if len(blocks) == 1 and not prim.multiple_results:
        out = prim.impl(_np, *ids, **params)
        if (
            type(out) is _np.ndarray and out.base is owner and out.size and out.flags.c_contiguous
        ):  # a C-contiguous view of the ids (basic slicing, reshape): consecutive entries
            lo = int(out.flat[0]) - 1
            return known[0][:, lo : lo + out.size]
    width = max(p.shape[0] for p in known)
    if width * offset > 4 * sum(p.size for p in known) + 1024:
        return NotImplemented  # padding all to the widest would waste: scipy's rule
    stack = _np.full((width, offset + 1), -1, known[0].dtype)
    for start, p in blocks:
        if p is not None:
            stack[: p.shape[0], start : start + p.shape[1]] = p
    if out is None:
        out = prim.impl(_np, *ids, **params)

    def pick(o):
        o = _np.asarray(o)
        if o.dtype.kind not in "iu":  # an implementation that made the ids floats
            o = o.real.astype(_np.int64)
        return _compact(_np.take(stack, o.ravel(), axis=1))

    if prim.multiple_results:
        return tuple(pick(o) for o in out)
    return pick(out)


def _reduce(p, x, axis):
    """Sum-like reduction over ``axis``: the union of the reduced entries' columns."""
    xs = _np.shape(x)
    axis = sorted({a % len(xs) for a in axis}) if xs else []
    keep = [i for i in range(len(xs)) if i not in axis]
    w = p.shape[0]
    r = p.reshape(w, *xs)
    r = _np.transpose(r, [0] + [a + 1 for a in axis] + [k + 1 for k in keep])
    r = r.reshape(-1, _size(xs[k] for k in keep))
    if r.shape[0] <= 1:
        return r
    r = _np.sort(r, axis=0)
    r[1:][r[1:] == r[:-1]] = -1
    return _compact(r)


def _index_type(size: int):
    """The index type of patterns and results: int32 while it holds ``size`` (scipy's
    own choice, and half the memory traffic)."""
    return _np.int32 if size < 2**31 - 1 else _np.int64


# ------------------------------------------------------------------ the trace
class _Lazy:
    """A first-order pattern computed when first read (a linear operation's: the
    function's result is usually one, and its pattern is not needed). Its inputs are
    computed already, so forcing it never recurses."""

    __slots__ = ("args", "value")

    def __init__(self, args) -> None:
        self.args = args  # (trace, prim, rule, pats, ans, vals, params)
        self.value = None

    def force(self):
        if self.args is not None:
            trace, prim, rule, pats, ans, vals, params = self.args
            self.args = None
            v = trace._first_order(prim, rule, pats, ans, vals, params)
            if v is not None and _rows(v) != _size(_shape(ans)):
                raise ValueError(
                    f"sparsity rule returned a pattern of {_rows(v)} rows for an output "
                    f"of {_size(_shape(ans))} entries"
                )
            self.value = v
        return self.value


_OTHER_TRACER = (
    "sparsity detection met a value traced by another transformation "
    "(jacobian_sparsity inside grad/jvp/vmap/jit, or a function closing "
    "over such a value); detect the pattern outside other transformations"
)


class IndexSparsityTrace(SparsityTrace):
    """First-order patterns (padded index arrays) of every value."""

    __slots__ = ("ids",)

    def __init__(self, n: int, local: bool = False) -> None:
        super().__init__(n, local=local)
        # The input's entry ids, read-only: every view of it with unit stride along the
        # entries is a set of runs of consecutive ids (_starts), and no rule writes
        # into a pattern it did not make.
        self.ids = _np.arange(n, dtype=_index_type(n))
        self.ids.flags.writeable = False

    def input(self, x) -> SparsityTracer:
        return SparsityTracer(self, x, self.ids[None, :])

    def _custom_jvp(self, args, vals, jvp):
        raise NeedsGradient("custom_jvp_call")

    def _custom_vjp(self, args, vals, pats, params):
        raise NeedsGradient("custom_vjp_call")

    def process(self, prim: Primitive, args, params):
        rule = prim.sparsity
        if type(rule) in _SPECIAL:  # bodies and custom rules: the general path
            return super().process(prim, args, params)
        # SparsityTrace.process for ordinary primitives, with the per-operation Python
        # work cut to what it needs (this runs once per traced operation).
        vals, pats, traced = [], [], False
        for a in args:
            if type(a) is SparsityTracer and a._trace is self:
                vals.append(a.value)
                pats.append(a.pattern)
                traced = True
            elif isinstance(a, Tracer):
                raise TypeError(_OTHER_TRACER)
            else:
                vals.append(a)
                pats.append(None)
        ans = prim.bind(*vals, **params)
        if prim.nondiff or not traced:
            return ans
        out = self._rule(prim, pats, ans, vals, params)
        if prim.multiple_results:
            return tuple(self._wrap(a, p) for a, p in zip(ans, out))
        if type(ans) is _np.ndarray and ans.dtype.kind in "fc":
            t = type(out)
            if t is _Lazy or (t is _np.ndarray and out.shape[1] == ans.size):
                return SparsityTracer(self, ans, out)  # what _wrap checks, inline
        return self._wrap(ans, out)

    def _rule(self, prim, pats, ans, vals, params):
        rule = prim.sparsity
        if type(rule) is Delegate and isinstance(params.get(rule.prim), Primitive):
            return self._rule(params[rule.prim], pats, ans, vals, params.get(rule.params, {}))
        if type(rule) in (_JvpRule, _VjpRule):
            raise NeedsGradient(prim.name)
        for i, p in enumerate(pats):
            if type(p) is _Lazy:
                pats[i] = p.force()
        return self._first_order(prim, rule, pats, ans, vals, params)

    def _first_order(self, prim, rule, pats, ans, vals, params):
        padded = True
        for p in pats:
            if p is not None and type(p) is not _np.ndarray:
                padded = False
        if padded:
            out = NotImplemented
            if type(rule) is Moves:
                out = _moves(prim, rule.data, pats, vals, params)
            elif type(rule) is Local and not self.local:
                out = _elementwise(rule.rule.differentiable, pats, ans, vals, self.ids)
            elif getattr(rule, "differentiable", None) is not None:
                out = _elementwise(rule.differentiable, pats, ans, vals, self.ids)
            elif rule is reduction_rule and prim.name in ("reduce_sum", "reduce_prod"):
                out = _reduce(pats[0], vals[0], tuple(params["axis"]))
            if out is not NotImplemented:
                return out
        # Any other rule: on scipy matrices, as in the Jacobian detection.
        out = super()._rule(prim, [None if p is None else _csr(p, self.n) for p in pats],
                            ans, vals, params)  # fmt: skip
        if isinstance(out, tuple):
            return tuple(None if o is None else _padded_from_csr(o) for o in out)
        return None if out is None else _padded_from_csr(out)

    def _wrap(self, ans, p):
        dt = getattr(ans, "dtype", None)
        if p is None or dt is None or dt.kind not in "fc":
            return ans
        if type(p) is not _Lazy and _rows(p) != _size(_shape(ans)):
            raise ValueError(  # a rule's bug: never let a wrong pattern pass silently
                f"sparsity rule returned a pattern of {_rows(p)} rows for an output of "
                f"{_size(_np.shape(ans))} entries"
            )
        return SparsityTracer(self, ans, p)


def jacobian_pattern(f, v, local: bool = False, matrix=None):
    """The Jacobian pattern (canonical boolean CSR, of class ``matrix`` when made here)
    of ``f`` at the flat vector ``v``, propagated on padded index arrays: the same sets
    as :class:`~adgraph.ad.sparsity.SparsityTrace` gives on scipy matrices, with a few
    microseconds of work per operation instead of scipy's tens. Raises
    :class:`NeedsGradient` when ``f`` has custom derivative rules, whose patterns the
    scipy trace finds by running the rules."""
    require_scipy("jacobian_sparsity")
    trace = IndexSparsityTrace(v.size, local=local)
    with trace_scope(trace):
        out = f(trace.input(v))
    if type(out) is SparsityTracer and out._trace is trace:
        p = out.pattern
        p = p.force() if type(p) is _Lazy else p
        if isinstance(p, _np.ndarray):
            return _padded_csr(p, v.size, matrix=matrix)
        p = p.tocsr()
        p.sum_duplicates()
        return p
    sp = require_scipy("jacobian_sparsity")
    return sp.csr_matrix((_size(_shape(out)), v.size), dtype=bool)
