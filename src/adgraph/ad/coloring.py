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
    """(indptr, indices) of a symmetric boolean CSR matrix without its diagonal, each
    row's columns ascending."""
    sp = require_scipy("colouring")
    g = sp.csr_matrix(conflict, dtype=bool)
    g.sum_duplicates()  # canonical: sorted, no repeats (free when already so)
    n = g.shape[0]
    rows = _np.repeat(_np.arange(n), _np.diff(g.indptr))
    keep = (g.indices != rows) & g.data
    indptr = _np.zeros(n + 1, dtype=g.indptr.dtype)
    _np.cumsum(_np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return indptr, g.indices[keep]


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
def _dfs_forest(indptr, indices):
    """Depth-first preorder and parents of every component of the symmetric graph
    ``(indptr, indices)`` (no diagonal), in C (scipy.sparse.csgraph): a super root joined
    to every vertex is searched from, so each component is entered at its first vertex
    and then explored through its own edges alone. Returns ``(pre, parent)``: ``pre`` the
    vertices in preorder (parents before children), ``parent[v]`` the parent of ``v`` in
    the search tree, ``-1`` for the first vertex of a component. The graph is a forest
    exactly when the tree edges are all its edges: ``n - roots == nnz / 2``."""
    sp = require_scipy("colouring")
    from scipy.sparse.csgraph import depth_first_order

    n = indptr.size - 1
    ptr = _np.concatenate([indptr + _np.arange(n + 1), [indptr[-1] + 2 * n]])
    idx = _np.empty(indices.size + 2 * n, dtype=_np.int32)
    # Row v: its neighbours, then the super root n; row n: every vertex.
    mask = _np.ones(idx.size, dtype=bool)
    mask[ptr[1 : n + 1] - 1] = False
    mask[ptr[n] :] = False
    idx[mask] = indices
    idx[ptr[1 : n + 1] - 1] = n
    idx[ptr[n] :] = _np.arange(n)
    g = sp.csr_matrix(
        (_np.ones(idx.size, dtype=_np.int8), idx, ptr.astype(_np.int32)), shape=(n + 1, n + 1)
    )
    order, pred = depth_first_order(g, n, directed=True, return_predecessors=True)
    parent = pred[:n].astype(_np.int64)
    parent[parent == n] = -1
    return order[1:].astype(_np.int64), parent


def _is_forest(n, nnz, parent) -> bool:
    return int(_np.count_nonzero(parent >= 0)) * 2 == nnz


def _last_descendant(pre, parent):
    """``end[t]``: one past the last preorder position of the subtree of the vertex at
    position ``t`` (a subtree is a contiguous run of the preorder). The last descendant
    of a vertex is the last descendant of its last child (itself for a leaf): followed by
    pointer doubling, ``log2(depth)`` NumPy passes."""
    n = pre.size
    pos = _np.empty(n, dtype=_np.int64)
    pos[pre] = _np.arange(n)
    ppos = _np.where(parent[pre] >= 0, pos[parent[pre]], -1)  # parent's position
    last = _np.arange(n)
    child = ppos >= 0
    _np.maximum.at(last, ppos[child], _np.flatnonzero(child))
    while True:
        nxt = last[last]
        if _np.array_equal(nxt, last):
            return last + 1
        last = nxt


def _forest_colors(indptr, indices) -> _np.ndarray | None:
    """The two-colouring by depth parity when the graph is a forest (optimal: one colour
    without edges, else two; every cycle trivially has three colours), else None."""
    n = indptr.size - 1
    if indices.size == 0:
        return _np.zeros(n, dtype=_np.int64)
    pre, parent = _dfs_forest(indptr, indices)
    if not _is_forest(n, indices.size, parent):
        return None
    # parity[v] = parity of the depth of v: XOR along the path to the root, doubling.
    anc = _np.where(parent >= 0, parent, _np.arange(n))
    par = (parent >= 0).astype(_np.int64)  # the parity of the path from v to anc[v]
    while not _np.array_equal(anc[anc], anc):
        par, anc = par ^ par[anc], anc[anc]
    return par


def acyclic_coloring(pattern, order: str = "smallest_last") -> _np.ndarray:
    """An acyclic colouring of the symmetric ``pattern`` (n x n; the diagonal is ignored):
    adjacent vertices differ and every cycle has at least three colours.

    A forest (tridiagonal and other tree-shaped Hessians) gets the two colours of depth
    parity, found by one depth-first search in C (optimal: fewer than two colours fit
    only a pattern without edges); a pattern of bandwidth ``w`` in which some ``w + 1``
    consecutive vertices are coupled with each other (pentadiagonal, ...) the ``w + 1``
    cyclic colours (optimal, see :func:`_band_colors`). Other patterns are
    coloured greedily in ``order`` (Python, about 3-5 microseconds a vertex): each
    vertex takes the smallest colour its neighbours leave free that closes no two-coloured
    cycle, which a union-find forest per pair of colours detects (a cycle through ``v``
    would join two neighbours of one colour that are already connected)."""
    if order not in ORDERS:
        raise ValueError(f"unknown ordering {order!r}; choose one of {', '.join(ORDERS)}")
    p = _csr(pattern, "acyclic_coloring")
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"acyclic_coloring: the pattern must be square, got shape {p.shape}")
    indptr, indices = _adjacency(p + p.T)
    forest = _forest_colors(indptr, indices)
    if forest is not None:
        return forest
    band = _band_colors(indptr, indices)
    if band is not None:
        return band
    return _greedy_acyclic(indptr, indices, order)


def _band_colors(indptr, indices) -> _np.ndarray | None:
    """``j mod (w + 1)`` (``w``: the bandwidth, the largest ``|i - j|`` of an edge) when
    some ``w + 1`` consecutive vertices are all adjacent to each other, else None.

    Acyclic: in the full band of half-width ``w`` the vertices of two colours ``a < b``
    alternate along the line, each joined only to the nearest vertex of the other colour
    on either side (at distances ``b - a`` and ``w + 1 - (b - a)``, both at most ``w``;
    any other is more than ``w`` away), a path; a pattern of bandwidth ``w`` is a
    subgraph of that band, so its two colour classes induce a subgraph of a path.
    Optimal: the ``w + 1`` consecutive vertices are a clique, which needs ``w + 1``
    colours. (Pentadiagonal Hessians, and banded ones with some couplings missing.)"""
    n = indptr.size - 1
    rows = _np.repeat(_np.arange(n), _np.diff(indptr))
    w = int(_np.abs(indices - rows).max(initial=0))
    if w == 0 or w >= n or n * (w + 1) > _BAND_WORK:
        return None
    # reach[a]: a is adjacent to a + 1, ..., reach[a] (its upper neighbours, ascending,
    # are consecutive up to the first gap: a flag per entry counts them).
    up = indices > rows
    first_up = _np.searchsorted(_np.flatnonzero(up), indptr[:-1])  # rank of row's first
    rank = _np.cumsum(up) - 1  # rank of each upper entry among all upper entries
    k = rank - first_up[rows] + 1  # position within its row's upper part, from 1
    run = up & (indices - rows == k)
    reach = _np.arange(n) + _np.bincount(rows[run], minlength=n)
    # Vertices i..i+w are a clique when every a among them reaches i + w.
    window = _np.lib.stride_tricks.sliding_window_view(reach, w + 1).min(axis=1)
    if not _np.any(window >= _np.arange(n - w) + w):
        return None
    return _np.arange(n, dtype=_np.int64) % (w + 1)


#: _band_colors looks for a clique in windows of w + 1 vertices up to this many steps.
_BAND_WORK = 1 << 25


def _find(parent: dict, v: int) -> int:
    root = v
    while parent.get(root, root) != root:
        root = parent[root]
    while v != root:  # path compression
        parent[v], v = root, parent.get(v, v)
    return root


def _greedy_acyclic(indptr, indices, order: str) -> _np.ndarray:
    ptr, idx = indptr.tolist(), indices.tolist()
    colors = [-1] * (indptr.size - 1)
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
    ``B = H @ S`` (``S``: the one-hot seeds of an acyclic colouring), made once, in
    NumPy and scipy.sparse.csgraph passes over the edges.

    Diagonal entries are read directly, ``H[i, i] = B[i, colour i]``. The off-diagonal
    entries come from the two-coloured trees: a vertex ``i`` of colour ``a`` together
    with the other colour ``b`` of an edge at it is a node of the forest of colours
    ``(a, b)``, and every edge of the pattern joins two such nodes. Rooted by a
    depth-first search, ``B[i, b]`` sums the entries of the tree edges at node ``(i, b)``
    -- its parent's and its children's -- so, peeling from the leaves, the entry of the
    edge from a node ``u`` to its parent is the alternating sum ``sign(u) *
    sum(sign(d) * B[d])`` over the nodes ``d`` of ``u``'s subtree, ``sign`` alternating
    along the edges (the colour of the node's vertex picks it). A subtree is a run of the
    preorder, so each call is one cumulative sum and two gathers. ``plan(B)`` returns
    the nonzeros in the pattern's CSR order. Raises ValueError when the colours are not
    an acyclic colouring."""

    def __init__(self, pattern, colors) -> None:
        p = _csr(pattern, "AcyclicPlan")
        n = p.shape[0]
        if p.shape[1] != n:
            raise ValueError(f"AcyclicPlan: the pattern must be square, got shape {p.shape}")
        colors = _check_shape(colors, n, "AcyclicPlan")
        c = int(colors.max(initial=0)) + 1
        coo = p.tocoo()
        row, col = coo.row.astype(_np.int64), coo.col.astype(_np.int64)
        diag = row == col
        self._where_diag = _np.flatnonzero(diag)
        self._diag = colors[row[diag]] * n + row[diag]  # flat positions in B
        off = _np.flatnonzero(~diag)
        self._where_off = off
        self.nnz = p.nnz
        indptr, indices = _adjacency(p + p.T)
        u = _np.repeat(_np.arange(n, dtype=_np.int64), _np.diff(indptr))
        v = indices.astype(_np.int64)
        if _np.any(colors[u] == colors[v]):
            raise ValueError("the colours are not a distance-1 colouring of the pattern")
        # Half-edge e = (u -> v) sits at node (u, colour v); its reverse at (v, colour u).
        half = u * n + v  # sorted: CSR order with sorted indices
        rev = _np.searchsorted(half, v * n + u)
        keys, node = _node_ids(u * c + colors[v], n * c)
        m = keys.size
        order_, parent = (
            _dfs_forest(*_node_graph(node, node[rev], m))
            if v.size
            else (_np.arange(m), -_np.ones(m, _np.int64))
        )
        if not _is_forest(m, v.size, parent):
            raise ValueError("the colours are not an acyclic colouring of the pattern")
        pos = _np.empty(m, dtype=_np.int64)
        pos[order_] = _np.arange(m)
        end = _last_descendant(order_, parent)
        vert, other = keys // c, keys % c
        sign = _np.where(colors[vert] < other, 1.0, -1.0)
        self._take = (other * n + vert)[order_]  # B[other colour, vertex], in preorder
        self._sign_pre = sign[order_]
        # Each off-diagonal entry of the pattern: the edge's child node's subtree. (A
        # symmetric canonical pattern lists its off-diagonal entries as the half-edges.)
        ro, co = row[off], col[off]
        if ro.size == u.size and _np.array_equal(ro, u) and _np.array_equal(co, v):
            e = _np.arange(u.size)
        else:
            e = _np.searchsorted(half, ro * n + co)
        a, b = node[e], node[rev[e]]
        child = _np.where(parent[a] == b, a, b)
        self._start = pos[child]
        self._end = end[pos[child]]
        self._sign = sign[child]

    def __call__(self, b):
        """The nonzeros (CSR order) from ``b[k, i] = (H s_k)[i]``, shape (colours, n)."""
        b = _np.asarray(b)
        flat = b.reshape(-1)
        out = _np.empty(self.nnz, dtype=_np.result_type(b.dtype, _np.float64))
        out[self._where_diag] = flat[self._diag]
        if self._start.size:
            run = _np.empty(self._take.size + 1, dtype=out.dtype)
            run[0] = 0.0
            _np.cumsum(flat[self._take] * self._sign_pre, out=run[1:])
            out[self._where_off] = self._sign * (run[self._end] - run[self._start])
        return out


def _node_ids(keys, size):
    """``(unique keys ascending, the index of each key among them)``: by a table of
    ``size`` flags when that is small (no sort), else ``np.unique``."""
    if size > 8 * keys.size + 1024:
        return _np.unique(keys, return_inverse=True)
    present = _np.zeros(size, dtype=bool)
    present[keys] = True
    ids = _np.cumsum(present) - 1
    return _np.flatnonzero(present), ids[keys]


def _node_graph(a, b, m):
    """(indptr, indices) of the symmetric graph on ``m`` nodes with the edges
    ``a[k] -- b[k]`` (both directions listed)."""
    sp = require_scipy("colouring")
    g = sp.csr_matrix((_np.ones(a.size, dtype=_np.int8), (a, b)), shape=(m, m))
    g.sort_indices()
    return g.indptr, g.indices


def check_acyclic_coloring(pattern, colors) -> bool:
    """Whether ``colors`` is an acyclic colouring of the symmetric ``pattern``: adjacent
    vertices differ and every two colour classes induce a forest."""
    try:
        AcyclicPlan(pattern, colors)
    except ValueError:
        return False
    return True
