"""The fast paths of Hessian sparsity detection: runs of consecutive input entries
(slices of x), their unions, the row intervals and boolean vectors the pairs are kept
in, and basic indexing on the patterns. Every pattern is compared with the nonzeros of
the dense Hessian at random points."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad import sparsity_hessian as sh
from adgraph.ad import sparsity_index as si

sp = pytest.importorskip("scipy.sparse")

rng = np.random.default_rng(5)


def _dense_nonzeros(f, n, trials=3):
    nz = np.zeros((n, n), bool)
    for _ in range(trials):
        nz |= np.asarray(ad.hessian(f)(rng.standard_normal(n))) != 0
    return nz


def _many_offsets(x):  # more offsets than are kept as intervals: the rest become keys
    return sum(anp.sum(x[:-k] * x[k:]) for k in range(1, sh._Pairs.MAX_BANDS + 8))


def _many_segments(x):  # more row segments than are assembled one by one
    return sum(anp.sum(x[a : a + 3] ** 3) for a in range(0, 60, 5)) + anp.sum(x[1:] * x[:-1])


def _grid(x):  # 2-D slices are not runs: boolean vectors, beside intervals
    u = x[:64].reshape(8, 8)
    return anp.sum(u[:, 1:] * u[:, :-1]) + anp.sum(u[1:, :] ** 2 * u[:-1, :]) + anp.sum(x[64:] ** 3)


# name: (f, n) -- f's Hessian has no cancellations, so the pattern must equal it
RUNS = {
    "rosenbrock": (lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2), 12),
    "three_term_product": (lambda x: anp.sum(x[:-2] * x[1:-1] * x[2:]), 10),
    "evenly_spaced_union": (lambda x: anp.sum(anp.sin(x[:-4] + x[2:-2] + x[4:])), 11),
    "unevenly_spaced_union": (lambda x: anp.sum(anp.exp(x[:-5] + x[1:-4] + x[5:])), 13),
    "union_then_product": (lambda x: anp.sum((x[:-2] + x[2:]) * (x[1:-1] - x[:-2])), 9),
    "quotient_of_runs": (lambda x: anp.sum(x[1:] / (2.0 + x[:-1] ** 2)), 8),
    "same_run_twice": (lambda x: anp.sum(anp.tanh(x[1:] + x[1:]) * x[1:]), 7),
    "partial_ranges": (lambda x: anp.sum(x[2:6] ** 2) + anp.sum(x[4:9] * x[3:8]), 10),
    "many_offsets": (_many_offsets, 80),
    "many_segments": (_many_segments, 64),
    "grid": (_grid, 70),
    "fancy_and_runs": (lambda x: anp.sum(x[np.array([3, 0, 5, 1])] * x[1:5]) + anp.sum(x**3), 8),
    "reversed": (lambda x: anp.sum(x[::-1][1:] * x[1:]), 9),
    "strided": (lambda x: anp.sum(x[::2] ** 2 * x[1::2]), 10),
    "basic_indices": (
        lambda x: (
            anp.sum(x.reshape(3, 4)[1, :] ** 3)
            + anp.sum(x.reshape(3, 4)[..., 2] * x[None, 4:7][0])
            + anp.sum(anp.cos(x.reshape(2, 6)[:, None, 1:4]))
            + x[-1] * x[0]
        ),
        12,
    ),
}


def _without_runs(monkeypatch, f, x):
    """The pattern with the runs' shortcuts off: every index array read entry by entry."""
    with monkeypatch.context() as m:
        m.setattr(si, "_starts", lambda p, ids: None)
        m.setattr(sh, "_starts", lambda p, ids: None)
        m.setattr(sh._Pairs, "_run", lambda self, u: False)
        return ad.hessian_sparsity(f, x)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_run_patterns_equal_the_dense_hessian(name, monkeypatch):
    f, n = RUNS[name]
    x = rng.standard_normal(n)
    p = ad.hessian_sparsity(f, x)
    slow = _without_runs(monkeypatch, f, x)
    assert (p.indptr == slow.indptr).all() and (p.indices == slow.indices).all()
    assert p.shape == (n, n) and p.has_sorted_indices
    got = p.toarray()
    want = _dense_nonzeros(f, n)
    assert not (want & ~got).any(), f"{name}: missed nonzeros {np.argwhere(want & ~got)}"
    assert (got == want).all(), f"{name}: invented pairs {np.argwhere(got & ~want)}"
    # CSR invariants: sorted unique columns per row, symmetric
    for i in range(n):
        row = p.indices[p.indptr[i] : p.indptr[i + 1]]
        assert (np.diff(row) > 0).all()
    assert (got == got.T).all()


def test_large_band_matches_a_small_one():
    # the interval assembly at n = 5000 gives the same band as the dense check at n = 12
    f = RUNS["rosenbrock"][0]
    p = ad.hessian_sparsity(f, np.zeros(5000))
    i = np.arange(5000)
    want = sp.diags([np.ones(4999), np.ones(5000), np.ones(4999)], [-1, 0, 1], format="csr")
    assert p.nnz == want.nnz == 5000 + 2 * 4999
    assert (p.indices == want.indices).all() and (p.indptr == want.indptr).all()
    assert p.indices.dtype == np.int32 and (p[i, i] != 0).all()


def _entry_sets(p):
    return [set(c for c in p[:, k].tolist() if c >= 0) for k in range(p.shape[1])]


@pytest.mark.parametrize("starts", [(0,), (0, 3), (1, 2, 3), (0, 2, 7), (5, 1)])
def test_union_of_runs_is_the_union_of_entry_sets(starts):
    n, k = 20, 9
    ids = np.arange(n, dtype=np.int32)
    ids.flags.writeable = False
    runs = [ids[s : s + k][None] for s in starts]
    other = np.stack([rng.permutation(n)[:k].astype(np.int32), np.full(k, -1, np.int32)])
    for a, b in [(runs[0], r) for r in runs] + [(runs[-1], other), (other, runs[0])]:
        u = si._union(a, b, ids)
        want = [x | y for x, y in zip(_entry_sets(a), _entry_sets(b))]
        assert _entry_sets(u) == want
        # each entry lists each dependency once
        assert all(len([c for c in u[:, j] if c >= 0]) == len(want[j]) for j in range(k))
    evenly = sorted(set(starts))
    view = si._run_view(ids, evenly, k)
    assert [list(r) for r in view] == [list(range(s, s + k)) for s in evenly]
    if len(evenly) < 3 or evenly[2] - evenly[1] == evenly[1] - evenly[0]:
        assert view.base is ids and si._starts(view, ids) == evenly
        with pytest.raises(ValueError):
            view[0, 0] = 1  # the trace's ids are never written through a pattern
    else:
        assert view.base is not ids and si._starts(view, ids) is None  # a copy


def _collected(f, n):
    from adgraph.core.trace import trace_scope

    trace = sh.HessianSparsityTrace(n)
    with trace_scope(trace):
        f(trace.input(np.zeros(n)))
    return trace.pairs


@pytest.mark.parametrize(
    "name, spans, bands, keys",
    [
        ("rosenbrock", True, False, False),
        ("unevenly_spaced_union", True, False, False),
        ("many_offsets", True, False, True),
        ("many_segments", True, False, False),
        ("grid", True, True, False),
        ("fancy_and_runs", True, False, True),
    ],
)
def test_each_way_of_keeping_pairs_is_exercised(name, spans, bands, keys):
    # the parametrised pattern test above covers these paths: check that it does
    pairs = _collected(*RUNS[name])
    assert bool(pairs.spans) == spans and bool(pairs.bands) == bands
    assert bool(pairs.keys) == keys
    if name == "many_segments":
        cuts = {c for s in pairs.spans.values() for iv in s for c in iv}
        assert len(cuts) > sh._Pairs.MAX_SEGMENTS  # assembled through boolean vectors


def test_runs_are_recognised_without_reading_entries():
    ids = np.arange(10, dtype=np.int32)
    ids.flags.writeable = False
    assert si._starts(ids[None, 2:7], ids) == [2]
    assert si._starts(ids[None, ::2], ids) is None  # stride 2: not consecutive
    assert si._starts(ids[None, ::-1], ids) is None
    assert si._starts(ids[None, 2:7].copy(), ids) is None  # not a view: entries unknown
    assert si._starts(np.broadcast_to(ids[None, :3], (2, 3)), ids) is None  # repeated slot


# ---------------------------------------------------------------- later calls
def test_index_arrays_are_converted_once_per_module_and_name():
    # the seeds and the gather positions are cached apart: one cache slot per module
    # used to hand the seeds back where the gather positions were asked for (CuPy)
    from adgraph.api.sparse import SparseJacobian

    class FakeModule:
        __name__ = "fake"
        calls = 0

        @classmethod
        def asarray(cls, a):
            cls.calls += 1
            return ("converted", a)

    jac = SparseJacobian(RUNS["rosenbrock"][0], "auto", None, "natural", False)
    seed, take = np.zeros((2, 3)), np.arange(4)
    (s,) = jac._indices(FakeModule, "seed", (seed,))
    (t,) = jac._indices(FakeModule, "take", (take,))
    assert s[1] is seed and t[1] is take
    assert jac._indices(FakeModule, "take", (None,))[0] is t and FakeModule.calls == 2
    assert jac._indices(np, "take", (take,))[0] is take


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_later_calls_gather_the_compressed_products(mode):
    def f(x):  # a pattern with rows of different lengths and an empty row
        return anp.concatenate([x[1:] * x[:-1], anp.sin(x[:3]).sum()[None], 0.0 * x[:1] ** 0])

    x = rng.standard_normal(9)
    jac = ad.sparse_jacobian(f, mode=mode)
    for z in (x, x + 1.0):
        J = jac(z)
        np.testing.assert_allclose(J.toarray(), ad.jacfwd(f)(z), rtol=1e-13, atol=1e-15)
    hess = ad.sparse_hessian(RUNS["unevenly_spaced_union"][0])
    for z in (rng.standard_normal(13), rng.standard_normal(13)):
        want = ad.hessian(RUNS["unevenly_spaced_union"][0])(z)
        np.testing.assert_allclose(hess(z).toarray(), want, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- Jacobian patterns
def _jacobian_families():
    from tests import test_sparsity as ts
    from tests import test_sparsity_rules as tr

    out = {f"a_{k}": (f, shape) for k, (f, shape) in ts.FAMILIES.items()}
    out.update({f"b_{k}": (f, shape) for k, (f, shape) in tr.FAMILIES.items()})
    stack_x = np.concatenate([tr.A3.ravel(), np.zeros(9)]).shape
    out.update({f"stack_{k}": (f, stack_x) for k, f in tr.STACKS.items()})
    out.update({f"loop_{k}": (f, (8,)) for k, f in tr.LOOPS.items()})
    out.update({f"local_{k}": (f, (7,)) for k, f in tr.LOCAL.items()})
    out.update({f"runs_{k}": (f, (n,)) for k, (f, n) in RUNS.items()})
    return out


JAC = _jacobian_families()


def _point(name, shape):
    if name.startswith("stack_"):
        from tests.test_sparsity_rules import A3

        return np.concatenate([A3.ravel(), rng.standard_normal(9)])
    return rng.standard_normal(shape)


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("name", sorted(JAC))
def test_index_array_jacobian_equals_the_scipy_trace(name, local):
    # jacobian_sparsity propagates padded index arrays; the scipy trace is the reference
    # implementation of every rule: the two give the same pattern, entry for entry
    from adgraph.ad.sparsity import SparsityTrace, output_pattern
    from adgraph.api.sparse import _prepare
    from adgraph.core.trace import trace_scope

    f, shape = JAC[name]
    x = _point(name, shape)
    g, v = _prepare(f, x, "test")
    trace = SparsityTrace(v.size, local=local)
    with trace_scope(trace):
        want = output_pattern(trace, g(trace.input(v)))
    try:
        got = si.jacobian_pattern(g, v, local)
    except si.NeedsGradient:  # custom rules: the API runs the scipy trace itself
        got = ad.jacobian_sparsity(f, x, local=local)
    assert got.shape == want.shape
    assert got.has_sorted_indices
    assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
    assert (ad.jacobian_sparsity(f, x, local=local) != want).nnz == 0


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 9, 12])
def test_padded_patterns_become_canonical_csr(width):
    n, k = 30, 40
    r = np.full((width, k), -1, np.int32)
    for e in range(k):  # each entry: a random set of up to `width` columns, shuffled
        cols = rng.choice(n, size=rng.integers(0, width + 1), replace=False)
        r[rng.permutation(width)[: cols.size], e] = cols
    m = si._padded_csr(r, n)
    want = np.zeros((k, n), bool)
    for e in range(k):
        want[e, r[:, e][r[:, e] >= 0]] = True
    assert m.shape == (k, n) and (m.toarray() == want).all() and m.nnz == want.sum()
    assert m.has_canonical_format
    m.has_canonical_format = False
    m.sum_duplicates()  # recomputed by scipy: the same arrays
    assert (m.toarray() == want).all() and m.nnz == want.sum()
    assert (si._csr(r, n).toarray() == want).all()


def test_a_column_listed_twice_is_merged():
    r = np.array([[0, 1, -1], [0, 2, 2]], np.int32)  # entry 0 lists column 0 twice
    m = si._padded_csr(r, 3)
    assert m.nnz == 4 and (m.toarray() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]).all()
    assert (np.diff(m.indptr) == [1, 2, 1]).all()


# ---------------------------------------------------------------- colouring
def _band(n, b):
    i = np.arange(n)
    return sp.csr_matrix(np.abs(np.subtract.outer(i, i)) <= b)


@pytest.mark.parametrize("order", ["largest_first", "smallest_last", "natural"])
def test_star_colouring_takes_the_cyclic_colouring_where_it_is_optimal(order):
    from adgraph.ad import coloring

    for n in (4, 5, 6, 100, 1001):  # tridiagonal: a path needs three colours
        c = coloring.star_coloring(_band(n, 1), order)
        assert c.max() + 1 == 3 and (c == np.arange(n) % 3).all()
        assert coloring.check_star_coloring(_band(n, 1), c)
    path3 = _band(3, 1)  # a - b - c: two colours suffice, the cyclic three do not
    c = coloring.star_coloring(path3, order)
    assert c.max() + 1 == 2 and coloring.check_star_coloring(path3, c)
    pairs = sp.csr_matrix(np.kron(np.eye(3), np.ones((2, 2))))  # a matching: two colours
    c = coloring.star_coloring(pairs, order)
    assert c.max() + 1 == 2 and coloring.check_star_coloring(pairs, c)
    triangles = sp.csr_matrix(np.kron(np.eye(2), np.ones((3, 3))))  # needs three
    c = coloring.star_coloring(triangles, order)
    assert c.max() + 1 == 3 and coloring.check_star_coloring(triangles, c)
    star = np.eye(6, dtype=bool)
    star[0, :] = star[:, 0] = True  # a hub: rows of six, so never cyclic; two colours
    c = coloring.star_coloring(sp.csr_matrix(star), order)
    assert c.max() + 1 == 2 and coloring.check_star_coloring(sp.csr_matrix(star), c)
    penta = _band(50, 2)  # wider rows than three: the greedy pass, still valid
    c = coloring.star_coloring(penta, order)
    assert coloring.check_star_coloring(penta, c)
    with pytest.raises(ValueError, match="unknown ordering"):
        coloring.star_coloring(_band(6, 1), "random")


# ---------------------------------------------------------------- random programs
def _random_program(seed):
    """A random composition of slices, elementwise operations, products, pads and
    reductions of a 1-D x (n = 12): runs and their unions in many combinations."""
    r = np.random.default_rng(seed)
    n = 12
    k = 8  # every intermediate has 8 entries

    leaves = [(int(r.integers(0, n - k + 1)), int(r.choice([1, 1, 1, -1]))) for _ in range(2)]
    plan = [(int(r.integers(0, 6)), int(r.integers(0, 1000))) for _ in range(r.integers(2, 6))]

    def leaf(x, lo, step):
        return x[lo : lo + k] if step == 1 else x[lo : lo + k][::-1]

    def f(x):  # the same program at every call
        vals = [leaf(x, *a) for a in leaves]
        for op, s in plan:
            a, b = vals[s % len(vals)], vals[(s // 7) % len(vals)]
            if op == 0:
                vals.append(a + 2.0 * b)
            elif op == 1:
                vals.append(a * b)
            elif op == 2:
                vals.append(anp.sin(a) - b)
            elif op == 3:
                vals.append(a / (3.0 + b**2))
            elif op == 4:
                vals.append(anp.pad(a[1:], (0, 1)) * b)
            else:
                vals.append(anp.concatenate([a[4:], b[:4]]) ** 2)
        return anp.sum(vals[-1] * vals[-2]) + anp.sum(anp.exp(vals[-1][:3]))

    return f, n


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_cover_the_dense_hessian_and_the_scipy_jacobian(seed, monkeypatch):
    from adgraph.ad.sparsity import SparsityTrace, output_pattern
    from adgraph.api.sparse import _prepare
    from adgraph.core.trace import trace_scope

    f, n = _random_program(seed)
    x = rng.standard_normal(n)
    p = ad.hessian_sparsity(f, x)
    want = _dense_nonzeros(f, n)
    assert not (want & ~p.toarray()).any(), f"missed {np.argwhere(want & ~p.toarray())}"
    # the runs' shortcuts give exactly what reading the index arrays gives
    slow = _without_runs(monkeypatch, f, x)
    assert (p.indptr == slow.indptr).all() and (p.indices == slow.indices).all()

    def vector(x):  # the same operations, every intermediate an output
        return anp.concatenate([anp.ravel(f(x)), x[1:] * x[:-1], anp.cumsum(x[2:])])

    h, w = _prepare(vector, x, "test")
    trace = SparsityTrace(w.size)
    with trace_scope(trace):
        ref = output_pattern(trace, h(trace.input(w)))
    got = si.jacobian_pattern(h, w)
    assert (got.indptr == ref.indptr).all() and (got.indices == ref.indices).all()
