r"""Hessian sparsity in one forward pass: first-order patterns and second-order pairs.

:class:`HessianSparsityTrace` runs a scalar function once, like a
:class:`~adgraph.ad.sparsity.SparsityTrace`, carrying for every value its first-order
pattern (which entries of ``x`` each of its entries depends on), and collects the
Hessian's pattern as it goes, at each operation that is not linear:

* an operation whose output is nonlinear in its inputs in general adds, for every output
  entry, all pairs of the entries of ``x`` it depends on (its pattern row with itself);
* a product ``u * v`` adds only the cross pairs, row ``k`` of ``u``'s pattern against row
  ``k`` of ``v``'s (both orders): ``x[i] * x[j]`` has no ``x[i]**2`` term;
* a linear operation (sums, data movement, ``where``, FFTs) adds nothing, and neither do
  piecewise linear ones (``maximum``, ``abs``, ``relu``), whose second derivative is zero
  wherever it exists.

The Hessian of the result is a sum, over the operations, of the operation's second
derivatives contracted with first derivatives, so the union of these pairs covers every
nonzero; it is symmetrised at the end. No gradient is taken. What each primitive adds is
its *second-order kind* (:func:`second_order`): the table :data:`SECOND_ORDER` keyed by
primitive name, and otherwise "nonlinear in all its inputs", which is always correct.

Patterns are held as NumPy index arrays, one padded row per entry (``-1`` fills a row),
and the common rules -- elementwise, data movement, reductions -- work on all the
entries of a value at once, so the pass costs a few primal evaluations. Other rules run
on ``scipy.sparse`` matrices as in the Jacobian detection. A function with custom
derivative rules (``custom_jvp``, ``custom_vjp``, implicit solves) makes the pass raise
:class:`NeedsGradient`: their second derivatives come from differentiating user code, and
the caller detects through the gradient instead.
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
    reduction_rule,
    require_scipy,
)

__all__ = [
    "LINEAR",
    "GENERAL",
    "SECOND_ORDER",
    "NeedsGradient",
    "HessianSparsityTrace",
    "second_order",
    "hessian_pattern",
    "jacobian_pattern",
]

#: No second derivative in any argument (linear, or piecewise linear).
LINEAR = "linear"
#: Second derivatives in every pair of arguments (the default: always correct).
GENERAL = "general"

_CROSS = ((0, 1),)  # u * v: the cross term alone
_CROSS_AND_SECOND = ((0, 1), (1, 1))  # u / v, u log v: no second derivative in u alone

#: Second-order kinds by primitive name: LINEAR, or for an elementwise primitive the
#: pairs of arguments ``(i, j)`` whose mixed second derivative may be nonzero. A name
#: not listed is GENERAL, except data movement (``sparsity=MOVES``), which is LINEAR.
SECOND_ORDER: dict[str, object] = {
    **{
        name: LINEAR
        for name in (
            # linear
            "add", "subtract", "negative", "conj", "real", "imag", "deg2rad", "rad2deg",
            "convert_element_type", "reduce_sum", "cumsum", "where", "ldexp",
            "fft", "rfft", "irfft", "fft_real", "fftshift", "fft_resize",
            "scatter", "scatter_add", "put_along_axis_add", "scatter_add_axis", "bincount",
            "checkpoint_name",
            # piecewise linear: the second derivative is zero wherever it exists
            "abs", "maximum", "minimum", "fmax", "fmin", "fused_relu", "reduce_max",
            "reduce_min", "scatter_min", "scatter_max", "copysign", "mod", "fmod",
        )
    },
    "multiply": _CROSS,
    "divide": _CROSS_AND_SECOND,
    "xlogy": _CROSS_AND_SECOND,
    "xlog1py": _CROSS_AND_SECOND,
    "linalg_solve": ((0, 0), (0, 1)),  # A^-1 b: linear in b
}  # fmt: skip

#: Linear in each of their arguments (contractions): only products of two of them.
_MULTILINEAR = frozenset({"matmul", "einsum"})
#: Piecewise linear for real arguments only.
_REAL_ONLY = frozenset({"abs"})

#: Primitives whose derivatives are user code: the one-pass detection hands over.
_VIA_GRADIENT = frozenset({"custom_root", "linear_solve", "odeint"})
#: Rules that SparsityTrace.process handles itself (bodies run on the tracers, custom
#: derivative rules).
_SPECIAL = (Call, _JvpRule, _VjpRule)


class NeedsGradient(Exception):
    """The function has custom derivative rules: detect through its gradient."""


def second_order(prim, params, args) -> object:
    """The second-order kind of ``prim`` applied to ``args`` (their values) with
    ``params``: LINEAR, GENERAL or the pairs of arguments ``(i, j)`` whose mixed second
    derivative may be nonzero."""
    kind = SECOND_ORDER.get(prim.name)
    if kind is LINEAR and prim.name in _REAL_ONLY and _np.iscomplexobj(args[0]):
        return GENERAL  # |z| of a complex z is not piecewise linear
    if kind is not None:
        return kind
    if prim.name in _MULTILINEAR:  # each operand once: products of distinct operands
        k = len(args)
        return tuple((i, j) for i in range(k) for j in range(i + 1, k))
    if type(prim.sparsity) is Moves:
        return LINEAR
    if prim.name == "integer_pow" and params.get("n") in (0, 1):
        return LINEAR
    return GENERAL


# ------------------------------------------------------------------ padded patterns
# A pattern is an integer array (int32 below 2**31 entries) of shape (width, entries), slot-major: column k lists the
# entries of x that entry k depends on, each at most once, padded with -1 (each slot a
# contiguous row, so every step is a vector operation over all entries); or a scipy CSR
# matrix (entries, n) when padding would waste too much (rows of very different lengths).


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
        for rnd in range(w):
            for j in range(rnd % 2, w - 1, 2):
                a, b = slots[j], slots[j + 1]
                slots[j], slots[j + 1] = _np.minimum(a, b), _np.maximum(a, b)
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
    m = matrix((_np.ones(cols.size, bool), cols.astype(it, copy=False), indptr), shape=(k, n))
    if canonical:  # sorted, and no entry lists a column twice
        m.has_sorted_indices = True
        m.has_canonical_format = True
    elif sort:
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


def _contraction_spec(prim, vals, params):
    """The einsum subscripts of a contraction (``einsum``, ``matmul``), or None."""
    if prim.name == "einsum":
        spec = params.get("spec")
        return spec if isinstance(spec, str) and "->" in spec and "." not in spec else None
    xs, ys = _np.shape(vals[0]), _np.shape(vals[1])
    bx, by = xs[:-2], ys[:-2]
    if not xs or not ys or (bx and by and bx != by):
        return None
    batch = "ABCDEFGHIJKLMNOPQRSTUVWX"[: max(len(bx), len(by))]
    sx = batch[len(batch) - len(bx) :] + ("l" if len(xs) == 1 else "il")
    sy = batch[len(batch) - len(by) :] + ("l" if len(ys) == 1 else "lj")
    return f"{sx},{sy}->"


def _contraction_entries(spec, ops, traced):
    """For each combination of a contraction's index letters that the constant
    operands' zeros do not cut, the flat entry of each operand it multiplies: a list
    (one per operand, None for constants) of index arrays, or None past
    ``EINSUM_LIMIT`` combinations."""
    from .sparsity import EINSUM_LIMIT

    ins = spec.split("->")[0].split(",")
    dims: dict[str, int] = {}
    for sub, op in zip(ins, ops):
        for c, d in zip(sub, _np.shape(op)):
            dims[c] = d
    letters = sorted(dims)
    if _size(dims[c] for c in letters) > EINSUM_LIMIT or len(letters) > 32:
        return None
    axes = {
        c: _np.arange(dims[c]).reshape([-1 if j == i else 1 for j in range(len(letters))])
        for i, c in enumerate(letters)
    }
    full = tuple(dims[c] for c in letters)
    keep = _np.ones(full, bool)
    for sub, op, t in zip(ins, ops, traced):
        if not t:  # a constant: its zeros cut the combinations they multiply
            nz = _np.asarray(op) != 0
            keep = keep & (nz[tuple(axes[c] for c in sub)] if sub else nz)
    out = []
    for sub, op, t in zip(ins, ops, traced):
        if not t:
            out.append(None)
        elif not sub:
            out.append(_np.zeros(int(keep.sum()), _np.int64))
        else:
            idx = _np.ravel_multi_index(tuple(axes[c] for c in sub), _np.shape(op))
            out.append(_np.broadcast_to(idx, full)[keep])
    return out


# ------------------------------------------------------------------ second-order pairs
class _Pairs:
    """The Hessian's pattern being collected. Pairs ``(i, j)`` whose offset ``d = j - i``
    is one constant along a run of rows (the stencils of most programs) are kept per
    offset: as row intervals while they come from runs of consecutive ids
    (:func:`_starts`: O(1) each, no index array is read), else as a boolean vector over
    the rows; both become CSR without sorting. Other pairs are kept as ``i * n + j``
    keys, sorted once at the end; contributions made by scipy products are summed as
    matrices. Both orders of every pair are added, so the result is symmetric."""

    __slots__ = ("n", "ids", "offsets", "spans", "bands", "keys", "sp", "matrix")

    #: At most this many offsets are kept as intervals or vectors (n booleans each).
    MAX_BANDS = 64
    #: Past this many row segments the intervals are written into boolean vectors.
    MAX_SEGMENTS = 16

    def __init__(self, n: int, matrix=None, ids=None) -> None:
        self.n = n
        self.ids = ids  # the trace's read-only arange(n): views of it are runs
        self.matrix = matrix  # the csr_matrix class of the result (None: scipy's own)
        self.offsets: set[int] = set()  # those of spans and bands
        self.spans: dict[int, list] = {}  # d -> row intervals [lo, hi) pairing i, i + d
        self.bands: dict[int, _np.ndarray] = {}  # d -> rows i pairing i, i + d
        self.keys: list = []
        self.sp = None  # an (n, n) sum of the contributions made by scipy

    def _run(self, u) -> bool:
        """Whether the 1-D slot ``u`` (not empty) is a run of consecutive ids."""
        ids = self.ids
        return ids is not None and u.base is ids and (u.size == 1 or u.strides[0] == u.itemsize)

    def _span(self, d: int, lo: int, hi: int) -> None:
        """Rows ``lo .. hi - 1`` pair with column ``row + d``."""
        if d in self.offsets or len(self.offsets) < self.MAX_BANDS:
            self.offsets.add(d)
            spans = self.spans.get(d)
            if spans is None:
                self.spans[d] = [(lo, hi)]
            elif spans[-1] != (lo, hi):
                spans.append((lo, hi))
        else:
            r = _np.arange(lo, hi, dtype=_np.int64)
            self.keys.append(r * self.n + (r + d))

    def _add(self, u, v, both: bool) -> None:
        """Pairs ``(u[k], v[k])`` (and ``(v[k], u[k])`` when ``both``), all valid."""
        k = u.size
        if k == 0:
            return
        if self._run(u) and (v is u or self._run(v)):
            lo = int(u[0])
            d = int(v[0]) - lo
            self._span(d, lo, lo + k)
            if both and d:
                self._span(-d, lo + d, lo + d + k)
            return
        if u is v:
            self._mark(0, u)
            return
        d = int(v[0]) - int(u[0])
        if int(v[-1]) - int(u[-1]) == d and (
            d in self.offsets or len(self.offsets) < self.MAX_BANDS
        ):
            if (v - u == d).all():
                self._mark(d, u)
                if both and d:
                    self._mark(-d, v)
                return
        u, v = u.astype(_np.int64), v.astype(_np.int64)  # keys reach n**2
        self.keys.append(u * self.n + v)
        if both:
            self.keys.append(v * self.n + u)

    def _band(self, d: int):
        band = self.bands.get(d)
        if band is None:
            self.offsets.add(d)
            band = self.bands[d] = _np.zeros(self.n, bool)
        return band

    def _mark(self, d: int, rows) -> None:
        lo, k = int(rows[0]), rows.size
        if int(rows[-1]) - lo == k - 1 and (k < 3 or (rows[1:] > rows[:-1]).all()):
            self._span(d, lo, lo + k)  # a run of consecutive entries (most stencils)
        else:
            self._band(d)[rows.astype(_np.intp, copy=False)] = True  # NumPy indexes fastest by intp

    def outer(self, p):
        """Each row's entries with each other (both orders)."""
        if isinstance(p, _np.ndarray):
            self.cross(p, p, both=False)
        else:
            self._add_matrix(p.T @ p)

    def cross(self, a, b, both: bool = True):
        """Entry ``k``'s dependencies in ``a`` with its dependencies in ``b``, for every
        ``k`` (and ``b`` with ``a`` when ``both``)."""
        if isinstance(a, _np.ndarray) and isinstance(b, _np.ndarray):
            same = b is a
            if self.ids is not None and (sa := _starts(a, self.ids)) is not None:
                sb = sa if same else _starts(b, self.ids)
                if sb is not None:  # runs: slot s against slot t is one offset
                    k = a.shape[1]
                    for s, lo in enumerate(sa):
                        for t, lo2 in enumerate(sb):
                            if same and t < s:
                                continue  # the mirrored pair is added with (s, t)
                            d = lo2 - lo
                            self._span(d, lo, lo + k)
                            if d and (both or same):
                                self._span(-d, lo2, lo2 + k)
                    return
            if a.shape[0] * b.shape[0] <= 64:
                # full[s]: slot s holds an entry for every k (no -1 padding)
                fa = [r.size == 0 or self._run(r) or int(r.min()) >= 0 for r in a]
                fb = fa if same else [r.size == 0 or self._run(r) or int(r.min()) >= 0 for r in b]
                for s, u in enumerate(a):
                    for t, v in enumerate(b):
                        if same and t < s:
                            continue  # the mirrored pair is added with (s, t)
                        if fa[s] and fb[t]:
                            uu, vv = u, (u if same and s == t else v)
                        else:
                            ok = (u >= 0) & (v >= 0)
                            uu = u[ok]
                            vv = uu if same and s == t else v[ok]
                        self._add(uu, vv, both or (same and s != t))
                return
        m = _csr(a, self.n).T @ _csr(b, self.n)
        self._add_matrix(m)
        if both:
            self._add_matrix(m.T)

    def _add_matrix(self, m):
        m = m.tocsr().astype(bool)
        self.sp = m if self.sp is None else (self.sp + m).tocsr()

    def _bands_csr(self):
        """The spans and bands as CSR: row ``i`` holds column ``i + d`` for each offset
        ``d`` that marks it, in the order of the offsets (so each row comes out sorted)."""
        n = self.n
        cuts, merged = {0, n}, {}
        for d, spans in self.spans.items():
            if len(spans) > 1:  # merge overlapping and touching intervals
                spans.sort()
                out = [spans[0]]
                for lo, hi in spans[1:]:
                    if lo <= out[-1][1]:
                        if hi > out[-1][1]:
                            out[-1] = (out[-1][0], hi)
                    else:
                        out.append((lo, hi))
                spans = out
            merged[d] = spans
            for lo, hi in spans:
                cuts.add(lo)
                cuts.add(hi)
        if self.bands or len(cuts) - 1 > self.MAX_SEGMENTS:
            for d, spans in merged.items():
                band = self._band(d)
                for lo, hi in spans:
                    band[lo:hi] = True
            return self._vectors_csr()
        # Between consecutive cuts the same offsets mark every row: a segment's columns
        # are a few vector sums, its row pointers one arange.
        cuts = sorted(cuts)
        at = {c: s for s, c in enumerate(cuts)}
        on: list[list[int]] = [[] for _ in cuts]  # the offsets of each segment, ascending
        for d in sorted(merged):
            for lo, hi in merged[d]:
                for seg in range(at[lo], at[hi]):
                    on[seg].append(d)
        nnz = sum(len(on[s]) * (cuts[s + 1] - cuts[s]) for s in range(len(cuts) - 1))
        it = _index_type(max(n, nnz) + 1)
        indices = _np.empty(nnz, it)
        indptr = _np.empty(n + 1, it)
        indptr[0] = start = 0
        for seg in range(len(cuts) - 1):
            r0, r1, ds = cuts[seg], cuts[seg + 1], on[seg]
            c, m = len(ds), r1 - r0
            if c:
                block = indices[start : start + c * m].reshape(m, c)
                rows = _np.arange(r0, r1, dtype=it)
                for j, d in enumerate(ds):  # along the long axis: NumPy is slow across
                    _np.add(rows, d, out=block[:, j])
                indptr[r0 + 1 : r1 + 1] = _np.arange(start + c, start + c * m + 1, c, dtype=it)
                start += c * m
            else:
                indptr[r0 + 1 : r1 + 1] = start
        return _canonical_csr(indices, indptr, n, self.matrix)

    def _vectors_csr(self):
        n = self.n
        offs = sorted(self.bands)
        it = _index_type(n * len(offs))
        # Row i holds column i + d for each offset d whose vector marks i: an (n, offsets)
        # table of columns, read row by row where marked, in the order of the offsets,
        # so each row's columns come out sorted. (Filled column by column: NumPy reduces
        # and copies along the short axis slowly.)
        mark = _np.empty((n, len(offs)), bool)
        cols = _np.empty((n, len(offs)), it)
        rows = _np.arange(n, dtype=it)
        count = _np.zeros(n, it)
        for b, d in enumerate(offs):
            mark[:, b] = self.bands[d]
            _np.add(rows, d, out=cols[:, b])
            count += self.bands[d]
        indptr = _np.zeros(n + 1, it)
        _np.cumsum(count, out=indptr[1:])
        return _canonical_csr(cols[mark], indptr, n, self.matrix)

    def _keys_csr(self):
        n = self.n
        k = _np.sort(_np.concatenate(self.keys), kind="stable")
        k = k[_np.concatenate(([True], k[1:] != k[:-1]))]
        rows = k // n
        indptr = _np.zeros(n + 1, _np.int64)
        _np.cumsum(_np.bincount(rows, minlength=n), out=indptr[1:])
        return _canonical_csr(k - rows * n, indptr, n, self.matrix)

    def finish(self):
        """The symmetric pattern collected, sorted boolean CSR."""
        parts = []
        if self.spans or self.bands:
            parts.append(self._bands_csr())
        if self.keys:
            parts.append(self._keys_csr())
        if self.sp is not None:
            s = self.sp.tocsr()
            parts.append((s + s.T).tocsr())
        if not parts:
            sp = require_scipy("sparsity detection")
            return sp.csr_matrix((self.n, self.n), dtype=bool)
        m = parts[0]
        for q in parts[1:]:
            m = (m + q).tocsr()
        if len(parts) > 1:
            m.sum_duplicates()
            m.sort_indices()
        return m


def _index_type(size: int):
    """The index type of patterns and results: int32 while it holds ``size`` (scipy's
    own choice, and half the memory traffic)."""
    return _np.int32 if size < 2**31 - 1 else _np.int64


def _canonical_csr(indices, indptr, n: int, matrix=None):
    """A boolean (n, n) CSR matrix (of class ``matrix``, a ``csr_matrix`` subclass) from
    sorted, duplicate-free rows."""
    sp = require_scipy("sparsity detection")
    matrix = sp.csr_matrix if matrix is None else matrix
    if n < 2**31 - 1 and indices.size < 2**31 - 1:  # scipy's own index type: no copies
        indices = indices.astype(_np.int32, copy=False)
        indptr = indptr.astype(_np.int32, copy=False)
    m = matrix((_np.ones(indices.size, bool), indices, indptr), shape=(n, n))
    m.has_sorted_indices = True
    m.has_canonical_format = True
    return m


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


class HessianSparsityTrace(SparsityTrace):
    """First-order patterns (padded index arrays) of every value, and the Hessian's
    pattern collected in :attr:`pairs` (with ``second=False`` the first-order patterns
    alone: the Jacobian's, see :func:`jacobian_pattern`)."""

    __slots__ = ("pairs", "ids", "second")

    def __init__(self, n: int, local: bool = False, matrix=None, second: bool = True) -> None:
        super().__init__(n, local=local)
        self.second = second
        # The input's entry ids, read-only: every view of it with unit stride along the
        # entries is a set of runs of consecutive ids (_starts), and no rule writes
        # into a pattern it did not make.
        self.ids = _np.arange(n, dtype=_index_type(n))
        self.ids.flags.writeable = False
        self.pairs = _Pairs(n, matrix, self.ids)

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
        t = type(out)
        if (t is _Lazy or (t is _np.ndarray and out.shape[1] == ans.size)) and (
            type(ans) is _np.ndarray and ans.dtype.kind in "fc"
        ):
            return SparsityTracer(self, ans, out)  # what _wrap checks, inline
        return self._wrap(ans, out)

    def _rule(self, prim, pats, ans, vals, params):
        rule = prim.sparsity
        if type(rule) is Delegate and isinstance(params.get(rule.prim), Primitive):
            return self._rule(params[rule.prim], pats, ans, vals, params.get(rule.params, {}))
        if type(rule) in (_JvpRule, _VjpRule) or (self.second and prim.name in _VIA_GRADIENT):
            raise NeedsGradient(prim.name)
        for i, p in enumerate(pats):
            if type(p) is _Lazy:
                pats[i] = p.force()
        if not self.second:
            return self._first_order(prim, rule, pats, ans, vals, params)
        kind = second_order(prim, params, vals)
        if kind is GENERAL or prim.multiple_results:
            out = self._first_order(prim, rule, pats, ans, vals, params)
        else:  # computed when a later operation reads it: a result's is never needed
            out = _Lazy((self, prim, rule, pats, ans, vals, params))
        if kind is not LINEAR:
            self._second_order(prim, kind, pats, ans, vals, params, out)
        return out

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

    def _second_order(self, prim, kind, pats, ans, vals, params, out):
        if kind is LINEAR or out is None:
            return
        if kind is GENERAL or prim.multiple_results:
            for o, a in zip(out, ans) if prim.multiple_results else ((out, ans),):
                if type(o) is _Lazy:
                    o = o.force()
                if o is not None and getattr(a, "dtype", _np.dtype(float)).kind in "fc":
                    self.pairs.outer(o)
            return
        if prim.name in _MULTILINEAR and self._contraction(prim, pats, vals, params):
            return
        part: dict[int, object] = {}  # the output's pattern through argument i alone

        def through(i):
            if i not in part:
                part[i] = self._through(prim, pats, ans, vals, params, i)
            return part[i]

        for i, j in kind:  # type: ignore[union-attr]
            if i >= len(pats) or j >= len(pats) or pats[i] is None or pats[j] is None:
                continue
            a = through(i)
            if a is None:
                continue
            if i == j:
                self.pairs.outer(a)
            else:
                b = through(j)
                if b is not None:
                    self.pairs.cross(a, b)

    def _contraction(self, prim, pats, vals, params) -> bool:
        """A contraction's pairs: operand entries multiplied in one term (False: too
        many terms to list; the caller pairs whole output rows instead)."""
        spec = _contraction_spec(prim, vals, params)
        if spec is None or not all(p is None or isinstance(p, _np.ndarray) for p in pats):
            return False
        entries = _contraction_entries(spec, vals, [p is not None for p in pats])
        if entries is None:
            return False
        for i in range(len(pats)):
            for j in range(i + 1, len(pats)):
                if entries[i] is not None and entries[j] is not None:
                    self.pairs.cross(pats[i][:, entries[i]], pats[j][:, entries[j]])
        return True

    def _through(self, prim, pats, ans, vals, params, i):
        """The output's first-order pattern when argument ``i`` alone is traced."""
        rule = prim.sparsity
        elementwise = getattr(rule, "differentiable", None) is not None or type(rule) is Local
        if elementwise:  # the argument's rows, broadcast to the output
            p, shape = pats[i], _np.shape(ans)
            if isinstance(p, _np.ndarray):
                return _broadcast(p, _np.shape(vals[i]), shape)
            from .sparsity import broadcast_rows

            return broadcast_rows(p, _np.shape(vals[i]), shape)
        alone = [p if k == i else None for k, p in enumerate(pats)]
        return self._first_order(prim, rule, alone, ans, vals, params)

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
    of ``f`` at the flat vector ``v``,
    propagated on padded index arrays -- the same sets as
    :class:`~adgraph.ad.sparsity.SparsityTrace` gives on scipy matrices, with a few
    microseconds of work per operation instead of scipy's tens. Raises
    :class:`NeedsGradient` when ``f`` has custom derivative rules, whose patterns the
    scipy trace finds by running the rules."""
    require_scipy("jacobian_sparsity")
    trace = HessianSparsityTrace(v.size, local=local, second=False)
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


def hessian_pattern(f, v, local: bool = False, matrix=None):
    """The symmetric Hessian pattern (sorted boolean CSR, of class ``matrix`` when one
    part makes it) of the scalar function ``f`` at the flat vector ``v``, in one forward
    pass; raises :class:`NeedsGradient` when ``f`` has custom derivative rules."""
    require_scipy("hessian_sparsity")
    trace = HessianSparsityTrace(v.size, local=local, matrix=matrix)
    with trace_scope(trace):
        f(trace.input(v))
    return trace.pairs.finish()
