r"""Graph colourings for compressed Jacobians and Hessians (NumPy and SciPy only).

Given a sparsity pattern ``P`` (m x n, boolean ``scipy.sparse``):

* :func:`column_coloring` -- colours of the n columns such that no two columns with a
  nonzero in the same row share a colour (a distance-2 colouring of the columns in the
  bipartite row/column graph). With c colours, the c products ``J @ s_k`` with seed
  ``s_k = 1[colour == k]`` (forward mode) recover every nonzero: ``J[i, j]`` is entry
  ``i`` of product ``colour[j]``.
* :func:`row_coloring` -- the same for rows (reverse mode: ``s_k^T J``).
* :func:`star_coloring` -- for a symmetric pattern (a Hessian): a distance-1 colouring in
  which every path on four vertices uses at least three colours (Gebremedhin, Manne &
  Pothen, *What color is your Jacobian?*, SIAM Review 2005, greedy algorithm 4.1). Then
  for each nonzero ``H[i, j]`` one of ``i``, ``j`` is the only vertex of its colour
  among the other's neighbours, and ``H[i, j]`` is read directly from ``H @ S``.

* :func:`acyclic_coloring` -- for a symmetric pattern: a distance-1 colouring in which
  every cycle uses at least three colours (any two colour classes induce a forest). It
  needs fewer colours than a star colouring (two for a tridiagonal Hessian instead of
  three), but the nonzeros are recovered by *substitution*: peeling each two-coloured tree
  from its leaves, a sparse unit-triangular solve (:class:`AcyclicPlan`).

Greedy colouring visits vertices in an order and gives each the smallest colour its
neighbours leave free; the order matters: ``"largest_first"`` (by degree, decreasing),
``"smallest_last"`` (repeatedly remove a vertex of least remaining degree; colour in the
reverse order of removal) or ``"natural"``. Colours are numbered from 0.

Before the greedy pass, :func:`column_coloring` tries the cyclic colouring ``j mod L``
with ``L`` the most nonzeros in a row -- a lower bound on any column colouring, so when
the cyclic one is valid (banded patterns: tridiagonal, pentadiagonal, ...) it is optimal,
and it costs one sparse product instead of a pass over the conflict graph.
:func:`star_coloring` does the same where the cyclic colouring is provably optimal
(tridiagonal Hessians: three colours), which saves its greedy pass of ~4 microseconds
of Python per vertex.
"""

from __future__ import annotations

import numpy as _np

from .sparsity import require_scipy

__all__ = [
    "ORDERS",
    "column_coloring",
    "row_coloring",
    "star_coloring",
    "check_column_coloring",
    "check_row_coloring",
    "check_star_coloring",
    "star_lookup",
    "acyclic_coloring",
    "check_acyclic_coloring",
    "AcyclicPlan",
]

ORDERS = ("largest_first", "smallest_last", "natural")

#: star_lookup counts each row's colours in a dense (n x colours) table up to this size,
#: and in a sparse matrix beyond it.
DENSE_TABLE_LIMIT = 1 << 24


def _csr(pattern, what):
    sp = require_scipy(what)
    if not sp.issparse(pattern):
        pattern = _np.asarray(pattern)
        if pattern.ndim != 2:
            raise ValueError(f"{what}: the pattern must be a 2-D matrix, got shape {pattern.shape}")
    p = sp.csr_matrix(pattern, dtype=bool)
    p.eliminate_zeros()
    return p


def _adjacency(conflict):
    """(indptr, indices) of a symmetric boolean CSR matrix without its diagonal."""
    sp = require_scipy("colouring")
    g = sp.csr_matrix(conflict, dtype=bool)
    g.setdiag(False)
    g.eliminate_zeros()
    g.sort_indices()
    return g.indptr, g.indices


def _order(indptr, indices, order: str) -> _np.ndarray:
    n = indptr.size - 1
    deg = _np.diff(indptr)
    if order == "natural":
        return _np.arange(n)
    if order == "largest_first":
        return _np.argsort(-deg, kind="stable")
    if order == "smallest_last":
        # Bucket queue by current degree; remove a least-degree vertex each step.
        deg = deg.tolist()
        buckets: list[set[int]] = [set() for _ in range(max(deg, default=0) + 1)]
        for v in range(n):
            buckets[deg[v]].add(v)
        removed = [False] * n
        indices = indices.tolist()
        indptr = indptr.tolist()
        out = []
        low = 0
        for _ in range(n):
            low = max(low - 1, 0)
            while not buckets[low]:
                low += 1
            v = buckets[low].pop()
            removed[v] = True
            out.append(v)
            for w in indices[indptr[v] : indptr[v + 1]]:
                if not removed[w]:
                    buckets[deg[w]].discard(w)
                    deg[w] -= 1
                    buckets[deg[w]].add(w)
        return _np.array(out[::-1], dtype=_np.int64)
    raise ValueError(f"unknown ordering {order!r}; choose one of {', '.join(ORDERS)}")


def _greedy(indptr, indices, order) -> _np.ndarray:
    # Plain Python lists: per-vertex NumPy calls would cost more than the work itself.
    ptr, idx = indptr.tolist(), indices.tolist()
    colors = [-1] * (len(ptr) - 1)
    for v in order.tolist():
        used = {colors[w] for w in idx[ptr[v] : ptr[v + 1]]}
        c = 0
        while c in used:
            c += 1
        colors[v] = c
    return _np.array(colors, dtype=_np.int64)


def _cyclic(p) -> _np.ndarray | None:
    """``j mod L`` (``L``: the widest row) when it is a valid column colouring: optimal."""
    width = int(_np.diff(p.indptr).max(initial=0))
    if width == 0:
        return _np.zeros(p.shape[1], dtype=_np.int64)
    colors = _np.arange(p.shape[1], dtype=_np.int64) % width
    return colors if _counts(p, colors, width).max() <= 1 else None


def column_coloring(pattern, order: str = "largest_first") -> _np.ndarray:
    """Colours of the columns of ``pattern`` (m x n): columns sharing a nonzero row get
    different colours. Returns an int array of n colours, numbered from 0. The cyclic
    colouring is taken when it is valid (see the module notes: then no colouring has
    fewer colours); else the greedy one in ``order``."""
    if order not in ORDERS:
        raise ValueError(f"unknown ordering {order!r}; choose one of {', '.join(ORDERS)}")
    p = _csr(pattern, "column_coloring")
    cyclic = _cyclic(p)
    if cyclic is not None:
        return cyclic
    conflict = (p.T @ p).tocsr()  # columns j, k conflict when they share a row
    indptr, indices = _adjacency(conflict)
    return _greedy(indptr, indices, _order(indptr, indices, order))


def row_coloring(pattern, order: str = "largest_first") -> _np.ndarray:
    """Colours of the rows of ``pattern``: rows sharing a nonzero column differ."""
    return column_coloring(_csr(pattern, "row_coloring").T, order)


def _cyclic_star(p) -> _np.ndarray | None:
    """``j mod L`` (``L``: the widest row of the symmetric pattern with its diagonal)
    when it is valid and no star colouring has fewer colours, else None. A colouring in
    which every row's columns differ (distance 2) is a star colouring; it is optimal when
    ``L <= 2``, and when ``L == 3`` and some edge joins two vertices of degree 2 or more
    (then the graph holds a path on four vertices or a triangle, each needing three
    colours): tridiagonal patterns, in one sparse product instead of the greedy pass."""
    sp = require_scipy("colouring")
    n = p.shape[0]
    g = (p + p.T + sp.identity(n, dtype=bool, format="csr")).tocsr()
    width = int(_np.diff(g.indptr).max(initial=0))
    if width == 0 or width > 3:
        return None
    colors = _np.arange(n, dtype=_np.int64) % width
    if _counts(g, colors, width).max() > 1:
        return None
    if width == 3:
        deg = _np.diff(g.indptr) - 1  # neighbours, the diagonal left out
        rows = _np.repeat(_np.arange(n), _np.diff(g.indptr))
        edge = rows != g.indices
        if not _np.any((deg[rows] >= 2) & (deg[g.indices] >= 2) & edge):
            return None
    return colors


def star_coloring(pattern, order: str = "smallest_last") -> _np.ndarray:
    """A star colouring of the symmetric ``pattern`` (n x n; the diagonal is ignored):
    adjacent vertices differ, and every path on four vertices has at least three colours.
    The cyclic colouring when it is provably optimal (see :func:`_cyclic_star`), else
    greedy algorithm 4.1 of Gebremedhin, Manne & Pothen (2005) in ``order``."""
    if order not in ORDERS:
        raise ValueError(f"unknown ordering {order!r}; choose one of {', '.join(ORDERS)}")
    p = _csr(pattern, "star_coloring")
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"star_coloring: the pattern must be square, got shape {p.shape}")
    cyclic = _cyclic_star(p)
    if cyclic is not None:
        return cyclic
    indptr, indices = _adjacency(p + p.T)
    ptr, idx = indptr.tolist(), indices.tolist()
    nbrs = [idx[ptr[v] : ptr[v + 1]] for v in range(p.shape[0])]
    colors = [-1] * p.shape[0]  # Python lists: see _greedy
    for v in _order(indptr, indices, order).tolist():
        forbidden = set()
        for w in nbrs[v]:
            cw = colors[w]
            if cw >= 0:
                forbidden.add(cw)
            for x in nbrs[w]:
                cx = colors[x]
                if x == v or cx < 0:
                    continue
                if cw < 0:
                    forbidden.add(cx)  # v-w-x with w uncoloured: keep x's colour off v
                else:
                    # x-w is two-coloured already when some other neighbour y of x has
                    # w's colour: then v must not take x's colour (path v-w-x-y).
                    for y in nbrs[x]:
                        if y != w and colors[y] == cw:
                            forbidden.add(cx)
                            break
        c = 0
        while c in forbidden:
            c += 1
        colors[v] = c
    return _np.array(colors, dtype=_np.int64)


def _counts(p, colors, c):
    """count[i, k]: how many nonzeros of row i lie in columns of colour k (sparse)."""
    sp = require_scipy("colouring")
    onehot = sp.csr_matrix(
        (_np.ones(colors.size, _np.int64), (_np.arange(colors.size), colors)),
        shape=(colors.size, c),
    )
    return (sp.csr_matrix(p, dtype=_np.int64) @ onehot).tocsr()


def _check_shape(colors, n, what):
    colors = _np.asarray(colors)
    if colors.shape != (n,) or colors.dtype.kind not in "iu" or (n and colors.min() < 0):
        raise ValueError(f"{what}: expected {n} non-negative integer colours")
    return colors


def check_column_coloring(pattern, colors) -> bool:
    """Whether no row of ``pattern`` has two nonzeros in columns of one colour."""
    p = _csr(pattern, "check_column_coloring")
    colors = _check_shape(colors, p.shape[1], "check_column_coloring")
    if p.nnz == 0:
        return True
    return bool(_counts(p, colors, int(colors.max()) + 1).max() <= 1)


def check_row_coloring(pattern, colors) -> bool:
    """Whether no column of ``pattern`` has two nonzeros in rows of one colour."""
    return check_column_coloring(_csr(pattern, "check_row_coloring").T, colors)


def _lookup(m, rows, cols):
    """Entries ``m[rows[k], cols[k]]`` of a sparse matrix (0 where not stored)."""
    c = m.tocoo()
    width = m.shape[1]
    keys = c.row.astype(_np.int64) * width + c.col
    order = _np.argsort(keys)
    keys, data = keys[order], c.data[order]
    want = _np.asarray(rows, _np.int64) * width + _np.asarray(cols, _np.int64)
    pos = _np.minimum(_np.searchsorted(keys, want), max(keys.size - 1, 0))
    if keys.size == 0:
        return _np.zeros(want.size, data.dtype)
    return _np.where(keys[pos] == want, data[pos], 0)


def star_lookup(pattern, colors):
    """For each nonzero ``(i, j)`` of the symmetric ``pattern`` (CSR order, diagonal
    included), where to read it in the compressed ``B = H @ S``: ``(row, colour)`` arrays.
    Raises ValueError when ``colors`` is not a star colouring of the pattern."""
    sp = require_scipy("colouring")
    p = _csr(pattern, "star_lookup")
    n = p.shape[0]
    colors = _check_shape(colors, n, "star_lookup")
    sym = (p + p.T + sp.identity(n, dtype=bool, format="csr")).tocsr()
    c = int(colors.max(initial=0)) + 1
    coo = p.tocoo()
    i, j = coo.row, coo.col
    # H[i, j] = B[i, colour j] when j is the only vertex of its colour in row i
    # (row i includes i itself, so the diagonal is read at B[i, colour i]).
    if n * c <= DENSE_TABLE_LIMIT:  # count[i, k] as a dense table: plain fancy indexing
        rows = _np.repeat(_np.arange(n), _np.diff(sym.indptr))
        count = _np.bincount(rows * c + colors[sym.indices], minlength=n * c).reshape(n, c)
        direct = count[i, colors[j]] == 1
        mirror = count[j, colors[i]] == 1
    else:
        table = _counts(sym, colors, c)
        direct = _lookup(table, i, colors[j]) == 1
        mirror = _lookup(table, j, colors[i]) == 1
    if not _np.all(direct | mirror):
        raise ValueError("the colours are not a star colouring of the pattern")
    rows = _np.where(direct, i, j)
    cols = _np.where(direct, colors[j], colors[i])
    return rows, cols


def check_star_coloring(pattern, colors) -> bool:
    """Whether ``colors`` is a star colouring of the symmetric ``pattern``: adjacent
    vertices differ and every nonzero can be read directly from ``H @ S``."""
    p = _csr(pattern, "check_star_coloring")
    colors = _check_shape(colors, p.shape[0], "check_star_coloring")
    coo = (p + p.T).tocoo()
    off = coo.row != coo.col
    if _np.any(colors[coo.row[off]] == colors[coo.col[off]]):
        return False
    try:
        star_lookup(p, colors)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- acyclic colouring
def _find(parent: dict, v: int) -> int:
    root = v
    while parent.get(root, root) != root:
        root = parent[root]
    while v != root:  # path compression
        parent[v], v = root, parent.get(v, v)
    return root


def acyclic_coloring(pattern, order: str = "smallest_last") -> _np.ndarray:
    """An acyclic colouring of the symmetric ``pattern`` (n x n; the diagonal is ignored):
    adjacent vertices differ and every cycle has at least three colours. Greedy: each
    vertex takes the smallest colour its neighbours leave free that closes no two-coloured
    cycle, which a union-find forest per pair of colours detects (a cycle through ``v``
    would join two neighbours of one colour that are already connected)."""
    p = _csr(pattern, "acyclic_coloring")
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"acyclic_coloring: the pattern must be square, got shape {p.shape}")
    indptr, indices = _adjacency(p + p.T)
    ptr, idx = indptr.tolist(), indices.tolist()
    colors = [-1] * p.shape[0]
    forests: dict[tuple[int, int], dict[int, int]] = {}  # colour pair -> union-find parents
    for v in _order(indptr, indices, order).tolist():
        by_colour: dict[int, list[int]] = {}
        for w in idx[ptr[v] : ptr[v + 1]]:
            cw = colors[w]
            if cw >= 0:
                by_colour.setdefault(cw, []).append(w)
        c = 0
        while True:
            if c not in by_colour and all(
                len(ws) < 2
                or (key := (min(c, b), max(c, b))) not in forests
                or len({_find(forests[key], w) for w in ws}) == len(ws)
                for b, ws in by_colour.items()
            ):
                break
            c += 1
        colors[v] = c
        for b, ws in by_colour.items():
            parent = forests.setdefault((min(c, b), max(c, b)), {})
            for w in ws:
                rv, rw = _find(parent, v), _find(parent, w)
                if rv != rw:
                    parent[rv] = rw
    return _np.array(colors, dtype=_np.int64)


class AcyclicPlan:
    """How to read a symmetric matrix ``H`` with the pattern ``pattern`` out of
    ``B = H @ S`` (``S``: the one-hot seeds of an acyclic colouring), made once.

    Diagonal entries are read directly, ``H[i, i] = B[i, colour i]``. Each off-diagonal
    pair is found by peeling its two-coloured tree from the leaves: for a leaf ``i`` whose
    last edge goes to ``j``, ``H[i, j] = B[i, colour j]`` minus the entries of the edges
    already peeled at ``i`` towards that colour. In peeling order this is a unit lower
    triangular system ``L h = b``, solved by ``scipy.sparse.linalg.spsolve_triangular``.
    ``plan(B)`` returns the nonzeros in the pattern's CSR order. Raises ValueError when the
    colours are not an acyclic colouring."""

    def __init__(self, pattern, colors) -> None:
        sp = require_scipy("colouring")
        p = _csr(pattern, "AcyclicPlan")
        n = p.shape[0]
        colors = _check_shape(colors, n, "AcyclicPlan")
        sym = (p + p.T).tocsr()
        sym.sort_indices()
        indptr, indices = _adjacency(sym)
        ptr, idx = indptr.tolist(), indices.tolist()
        col = colors.tolist()
        for v in range(n):
            if any(col[w] == col[v] for w in idx[ptr[v] : ptr[v + 1]]):
                raise ValueError("the colours are not a distance-1 colouring of the pattern")
        # Edges of each two-coloured forest, as adjacency sets.
        forest_adj: dict[tuple[int, int], dict[int, set[int]]] = {}
        for v in range(n):
            for w in idx[ptr[v] : ptr[v + 1]]:
                if v < w:
                    key = (min(col[v], col[w]), max(col[v], col[w]))
                    adj = forest_adj.setdefault(key, {})
                    adj.setdefault(v, set()).add(w)
                    adj.setdefault(w, set()).add(v)
        order: dict[tuple[int, int], int] = {}  # edge (i, j) -> its equation's number
        rhs_row: list[int] = []
        rhs_col: list[int] = []
        l_rows: list[int] = []
        l_cols: list[int] = []
        for adj in forest_adj.values():
            peeled_at: dict[int, list[int]] = {}  # vertex -> equations of its peeled edges
            leaves = [v for v, nb in adj.items() if len(nb) == 1]
            remaining = sum(len(nb) for nb in adj.values()) // 2
            while leaves:
                i = leaves.pop()
                if len(adj[i]) != 1:
                    continue
                (j,) = adj[i]
                k = len(rhs_row)  # H[i, j] = B[i, col j] - sum of i's peeled edges
                rhs_row.append(i)
                rhs_col.append(col[j])
                for e in peeled_at.get(i, ()):
                    l_rows.append(k)
                    l_cols.append(e)
                order[(i, j)] = order[(j, i)] = k
                peeled_at.setdefault(j, []).append(k)
                adj[i].discard(j)
                adj[j].discard(i)
                remaining -= 1
                if len(adj[j]) == 1:
                    leaves.append(j)
            if remaining:
                raise ValueError("the colours are not an acyclic colouring of the pattern")
        m = len(rhs_row)
        self._l = sp.csr_matrix(
            (_np.ones(len(l_rows)), (l_rows, l_cols)), shape=(m, m)
        ) + sp.identity(m, format="csr")
        self._rhs = (_np.array(rhs_col, _np.int64), _np.array(rhs_row, _np.int64))
        coo = p.tocoo()
        diag = coo.row == coo.col
        self._diag = (colors[coo.row[diag]], coo.row[diag])
        self._where_diag = _np.flatnonzero(diag)
        off = _np.flatnonzero(~diag)
        self._where_off = off
        self._eq = _np.array(
            [order[(int(a), int(b))] for a, b in zip(coo.row[off], coo.col[off])], _np.int64
        )
        self.nnz = p.nnz

    def __call__(self, b):
        """The nonzeros (CSR order) from ``b[k, i] = (H s_k)[i]``, shape (colours, n)."""
        from scipy.sparse.linalg import spsolve_triangular

        out = _np.empty(self.nnz, dtype=_np.result_type(b.dtype, _np.float64))
        out[self._where_diag] = b[self._diag]
        if self._eq.size:
            h = spsolve_triangular(self._l, b[self._rhs], lower=True, unit_diagonal=True)
            out[self._where_off] = h[self._eq]
        return out


def check_acyclic_coloring(pattern, colors) -> bool:
    """Whether ``colors`` is an acyclic colouring of the symmetric ``pattern``: adjacent
    vertices differ and every two colour classes induce a forest."""
    try:
        AcyclicPlan(pattern, colors)
    except ValueError:
        return False
    return True
