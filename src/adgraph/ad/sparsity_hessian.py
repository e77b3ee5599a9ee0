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

First-order patterns are padded index arrays, propagated by
:class:`~adgraph.ad.sparsity_index.IndexSparsityTrace` (which this trace extends), so the
pass costs a few primal evaluations; pairs of runs of consecutive entries (slices of a
1-D ``x``) are kept as row intervals per offset (:class:`_Pairs`). A function with custom
derivative rules (``custom_jvp``, ``custom_vjp``, implicit solves) makes the pass raise
:class:`NeedsGradient`: their second derivatives come from differentiating user code, and
the caller detects through the gradient instead.
"""

from __future__ import annotations

import numpy as _np

from ..core.primitive import Primitive
from ..core.trace import trace_scope
from .sparsity import (
    Delegate,
    Local,
    Moves,
    _JvpRule,
    _size,
    _VjpRule,
    csr_from_arrays,
    require_scipy,
)
from .sparsity_index import (
    IndexSparsityTrace,
    NeedsGradient,
    _broadcast,
    _csr,
    _index_type,
    _Lazy,
    _starts,
)

__all__ = [
    "LINEAR",
    "GENERAL",
    "SECOND_ORDER",
    "NeedsGradient",
    "HessianSparsityTrace",
    "second_order",
    "hessian_pattern",
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
            if m == 1:  # a boundary row: plain Python is cheaper than NumPy calls
                indices[start : start + c] = [r0 + d for d in ds]
                start += c
                indptr[r1] = start
            elif c:
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


def _canonical_csr(indices, indptr, n: int, matrix=None):
    """A boolean (n, n) CSR matrix (of class ``matrix``, a ``csr_matrix`` subclass) from
    sorted, duplicate-free rows."""
    return csr_from_arrays(_np.ones(indices.size, bool), indices, indptr, (n, n), matrix)


# ------------------------------------------------------------------ the trace
class HessianSparsityTrace(IndexSparsityTrace):
    """First-order patterns (padded index arrays) of every value, and the Hessian's
    pattern collected in :attr:`pairs`."""

    __slots__ = ("pairs",)

    def __init__(self, n: int, local: bool = False, matrix=None) -> None:
        super().__init__(n, local=local)
        self.pairs = _Pairs(n, matrix, self.ids)

    def _rule(self, prim, pats, ans, vals, params):
        rule = prim.sparsity
        if type(rule) is Delegate and isinstance(params.get(rule.prim), Primitive):
            return self._rule(params[rule.prim], pats, ans, vals, params.get(rule.params, {}))
        if type(rule) in (_JvpRule, _VjpRule) or prim.name in _VIA_GRADIENT:
            raise NeedsGradient(prim.name)
        for i, p in enumerate(pats):
            if type(p) is _Lazy:
                pats[i] = p.force()
        kind = second_order(prim, params, vals)
        if kind is GENERAL or prim.multiple_results:
            out = self._first_order(prim, rule, pats, ans, vals, params)
        else:  # computed when a later operation reads it: a result's is never needed
            out = _Lazy((self, prim, rule, pats, ans, vals, params))
        if kind is not LINEAR:
            self._second_order(prim, kind, pats, ans, vals, params, out)
        return out

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


def hessian_pattern(f, v, local: bool = False, matrix=None):
    """The symmetric Hessian pattern (sorted boolean CSR, of class ``matrix`` when one
    part makes it) of the scalar function ``f`` at the flat vector ``v``, in one forward
    pass; raises :class:`NeedsGradient` when ``f`` has custom derivative rules."""
    require_scipy("hessian_sparsity")
    trace = HessianSparsityTrace(v.size, local=local, matrix=matrix)
    with trace_scope(trace):
        f(trace.input(v))
    return trace.pairs.finish()
