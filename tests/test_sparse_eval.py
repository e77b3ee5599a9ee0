"""Compressed sparse Jacobians and Hessians: under jit, pytree inputs and outputs, CuPy
results, pictures of patterns, and bad input."""

import re

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad import coloring

sp = pytest.importorskip("scipy.sparse")

rng = np.random.default_rng(3)


def tridiag(x):
    return -2.0 * x**2 + anp.sin(x) + anp.pad(x[1:], (0, 1)) + anp.pad(x[:-1] ** 3, (1, 0))


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# ---------------------------------------------------------------- jit
def test_sparse_jacobian_under_jit_equals_eager_and_dense():
    jac = ad.sparse_jacobian(tridiag)
    fast = ad.jit(jac)
    for _ in range(3):
        x = rng.standard_normal(15)
        j = fast(x)
        assert isinstance(j, sp.csr_matrix) and j.shape == (15, 15)
        np.testing.assert_allclose(j.toarray(), ad.jacfwd(tridiag)(x), rtol=1e-13, atol=1e-13)
    assert jac.colors == 3
    assert fast.lower(x) is not None  # one compiled program for the sweep


def test_sparse_jacobian_rev_and_hessian_under_jit():
    x = rng.standard_normal(10)
    jr = ad.jit(ad.sparse_jacobian(tridiag, mode="rev"))
    np.testing.assert_allclose(jr(x).toarray(), ad.jacrev(tridiag)(x), rtol=1e-13, atol=1e-13)
    hess = ad.sparse_hessian(rosen)
    hj = ad.jit(hess)
    np.testing.assert_allclose(hj(x).toarray(), ad.hessian(rosen)(x), rtol=1e-12, atol=1e-9)
    y = rng.standard_normal(10)
    np.testing.assert_allclose(hj(y).toarray(), ad.hessian(rosen)(y), rtol=1e-12, atol=1e-9)
    assert hess.colors == 3


def test_jit_inside_a_larger_function():
    jac = ad.sparse_jacobian(tridiag)

    @ad.jit
    def newton_matrix(x):
        return jac(x * 2.0)

    x = rng.standard_normal(9)
    np.testing.assert_allclose(newton_matrix(x).toarray(), ad.jacfwd(tridiag)(2.0 * x))


# ---------------------------------------------------------------- pytrees
def test_pytree_input_and_output_flatten_leaf_by_leaf_in_c_order():
    def f(d):
        a, b = d["a"], d["b"]  # a: (3,), b: (2, 2)
        return {"u": a**2, "v": anp.sin(b) * a[0]}

    d = {"b": rng.standard_normal((2, 2)), "a": rng.standard_normal(3)}
    p = ad.jacobian_sparsity(f, d).toarray()
    # inputs: a (3 entries) then b (4), dict keys sorted; outputs: u (3) then v (4)
    expect = np.zeros((7, 7), bool)
    expect[:3, :3] = np.eye(3, dtype=bool)
    expect[3:, 3:] = np.eye(4, dtype=bool)
    expect[3:, 0] = True
    assert (p == expect).all()
    j = ad.sparse_jacobian(f)(d).toarray()
    flat = np.concatenate([d["a"], d["b"].ravel()])

    def g(v):
        out = f({"a": v[:3], "b": anp.reshape(v[3:], (2, 2))})
        return anp.concatenate([out["u"], anp.reshape(out["v"], (-1,))])

    np.testing.assert_allclose(j, ad.jacfwd(g)(flat), rtol=1e-13)


def test_pytree_hessian():
    def f(params):
        w, b = params
        return anp.sum(w**3) * b + anp.sum(anp.exp(w[:-1] * w[1:]))

    params = (rng.standard_normal(5), 0.7)
    h = ad.sparse_hessian(f)(params).toarray()

    def g(v):
        return f((v[:5], v[5]))

    np.testing.assert_allclose(h, ad.hessian(g)(np.append(params[0], 0.7)), rtol=1e-12)
    with pytest.raises(ValueError, match="leaf shapes"):
        hs = ad.sparse_hessian(f)
        hs(params)
        hs((np.ones(6), 0.7))


# ---------------------------------------------------------------- CuPy
def test_cupy_inputs_give_a_cupyx_matrix():
    cp = pytest.importorskip("cupy")
    csp = pytest.importorskip("cupyx.scipy.sparse")
    x = rng.standard_normal(12)
    j = ad.sparse_jacobian(tridiag)(cp.asarray(x))
    assert isinstance(j, csp.csr_matrix)
    np.testing.assert_allclose(j.get().toarray(), ad.jacfwd(tridiag)(x), rtol=1e-12)


# ---------------------------------------------------------------- pictures
def test_pattern_draws_itself_as_svg(tmp_path):
    x = rng.standard_normal(6)
    p = ad.jacobian_sparsity(tridiag, x)
    svg = p.to_svg()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "6 x 6, 16 nonzeros" in svg
    # One rectangle per run of nonzeros in a row: 6 rows of one run each, plus the frame.
    assert len(re.findall(r"<rect ", svg)) == 6 + 1
    assert p._repr_svg_() == svg
    out = p.savefig(tmp_path / "p.svg")
    assert open(out).read() == svg


def test_large_patterns_are_binned_and_keep_every_nonzero():
    n = 2000
    p = sp.diags([1, 1, 1], [-1, 0, 1], shape=(n, n), dtype=bool).tocsr()
    from adgraph.api.spy import pattern_grid, pattern_svg

    grid = pattern_grid(p, max_cells=100)
    assert grid.shape == (100, 100)
    assert grid.diagonal().all() and grid.sum() <= 3 * 100
    assert len(pattern_svg(p)) < 60_000


def test_pattern_png_through_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    p = ad.hessian_sparsity(rosen, rng.standard_normal(8))
    out = p.savefig(str(tmp_path / "h.png"))
    with open(out, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    ax = p.spy()
    assert "8 x 8" in ax.get_title()


# ---------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_a_clear_error():
    x = rng.standard_normal(5)
    with pytest.raises(ValueError, match=r"pattern has shape \(5, 4\).*\(5, 5\)"):
        ad.sparse_jacobian(tridiag, sparsity=sp.eye(5, 4))(x)
    with pytest.raises(ValueError, match=r"pattern has shape \(5,\)"):
        ad.sparse_jacobian(tridiag, sparsity=np.ones(5))(x)
    with pytest.raises(TypeError, match="must return a scalar"):
        ad.sparse_hessian(tridiag)(x)
    with pytest.raises(TypeError, match="must return a scalar.*pytree"):
        ad.sparse_hessian(lambda x: (anp.sum(x), anp.sum(x)))(x)
    with pytest.raises(TypeError, match="complex"):
        ad.jacobian_sparsity(tridiag, x + 1j)
    with pytest.raises(TypeError, match="no arrays"):
        ad.jacobian_sparsity(lambda d: d, {})
    with pytest.raises(ValueError, match="order"):
        ad.sparse_hessian(rosen, order="random")
    with pytest.raises(TypeError, match="vmap"):
        ad.vmap(ad.sparse_jacobian(tridiag))(np.ones((2, 5)))


def test_colors_and_mode_are_reported():
    x = rng.standard_normal(12)
    jac = ad.sparse_jacobian(lambda x: anp.sum(x) * x[:3], mode="auto")
    j = jac(x)
    # Three dense rows: 12 column colours, 3 row colours -- auto takes reverse mode.
    assert (jac.mode, jac.colors) == ("rev", 3)
    assert coloring.check_row_coloring(jac.pattern, jac.coloring)
    np.testing.assert_allclose(j.toarray(), ad.jacfwd(lambda x: anp.sum(x) * x[:3])(x))


# ---------------------------------------------------------------- acyclic colouring
@pytest.mark.parametrize("order", coloring.ORDERS)
def test_acyclic_colourings_are_valid_and_decompress(order):
    for seed in range(4):
        a = sp.random(30, 30, density=0.1, random_state=seed) != 0
        p = (a + a.T + sp.identity(30, dtype=bool)).tocsr()
        c = coloring.acyclic_coloring(p, order)
        assert coloring.check_acyclic_coloring(p, c)
        # Never more colours than a star colouring needs (a star colouring is acyclic).
        assert c.max() <= coloring.star_coloring(p, order).max()
        h = np.random.default_rng(seed).standard_normal((30, 30))
        h = (h + h.T) * p.toarray()
        s = np.zeros((c.max() + 1, 30))
        s[c, np.arange(30)] = 1.0
        coo = p.tocoo()
        vals = coloring.AcyclicPlan(p, c)(s @ h)  # b[k, i] = (H s_k)[i]
        np.testing.assert_allclose(vals, h[coo.row, coo.col], rtol=1e-12, atol=1e-12)


def test_two_coloured_cycles_are_not_acyclic():
    cycle = sp.csr_matrix(
        np.roll(np.eye(4, dtype=bool), 1, 1) | np.roll(np.eye(4, dtype=bool), -1, 1)
    )
    assert not coloring.check_acyclic_coloring(cycle, np.array([0, 1, 0, 1]))
    assert coloring.check_acyclic_coloring(cycle, np.array([0, 1, 0, 2]))
    assert not coloring.check_acyclic_coloring(cycle, np.array([0, 0, 1, 2]))  # adjacent
    c = coloring.acyclic_coloring(cycle)
    assert c.max() + 1 == 3 and coloring.check_acyclic_coloring(cycle, c)


def _two_colour_classes_are_forests(p, c):
    """A reference check, independent of the colouring module: adjacent vertices differ,
    and a union-find over the edges of each pair of colours never closes a cycle."""
    coo = sp.triu(p + p.T, k=1).tocoo()
    if np.any(c[coo.row] == c[coo.col]):
        return False
    parents: dict = {}

    def find(key):
        while parents.get(key, key) != key:
            key = parents[key]
        return key

    for i, j in zip(coo.row.tolist(), coo.col.tolist()):
        pair = (min(c[i], c[j]), max(c[i], c[j]))
        a, b = find((pair, i)), find((pair, j))
        if a == b:
            return False
        parents[a] = b
    return True


def _forest(n, seed, keep=0.8):
    """A random forest on n vertices: each vertex after the first is joined to an earlier
    one with probability ``keep`` (else it starts a new tree)."""
    r = np.random.default_rng(seed)
    child = np.arange(1, n)
    child = child[r.random(n - 1) < keep]
    parent = (r.random(child.size) * child).astype(int)
    a = sp.coo_matrix((np.ones(child.size, bool), (child, parent)), shape=(n, n))
    return (a + a.T + sp.identity(n, dtype=bool)).tocsr()


@pytest.mark.parametrize("order", coloring.ORDERS)
def test_acyclic_colouring_of_forests_is_two_colours_and_decompresses(order):
    star = sp.csr_matrix(np.eye(7, dtype=bool) | np.eye(7, k=0, dtype=bool)[[0] * 7])
    star = (star + star.T).tocsr()  # vertex 0 joined to all others
    for p in [_forest(60, s) for s in range(4)] + [_forest(200, 9, keep=1.0), star]:
        n = p.shape[0]
        c = coloring.acyclic_coloring(p, order)
        assert c.max() + 1 == 2  # a forest with an edge: two colours, the fewest
        assert _two_colour_classes_are_forests(p, c) and coloring.check_acyclic_coloring(p, c)
        h = np.random.default_rng(n).standard_normal((n, n))
        h = (h + h.T) * p.toarray()
        s = np.zeros((2, n))
        s[c, np.arange(n)] = 1.0
        coo = p.tocoo()
        vals = coloring.AcyclicPlan(p, c)(s @ h)
        np.testing.assert_allclose(vals, h[coo.row, coo.col], rtol=1e-12, atol=1e-12)
    diag = sp.identity(5, dtype=bool, format="csr")  # no edges: one colour
    assert coloring.acyclic_coloring(diag).max() == 0
    np.testing.assert_array_equal(coloring.AcyclicPlan(diag, np.zeros(5, int))(np.ones((1, 5))), 1)


def test_acyclic_checks_agree_with_a_reference():
    # Random colourings of random graphs, valid or not: the vectorised check (the
    # plan's construction) answers as a union-find over each pair of colours does.
    answers = set()
    for seed in range(40):
        r = np.random.default_rng(seed)
        a = sp.random(12, 12, density=0.15, random_state=seed) != 0
        p = (a + a.T).tocsr()
        good = coloring.acyclic_coloring(p)
        for c in (good, r.integers(0, 3 + seed % 3, 12), np.where(r.random(12) < 0.2, 0, good)):
            want = _two_colour_classes_are_forests(p, c)
            assert coloring.check_acyclic_coloring(p, c) == want
            answers.add(want)
    assert answers == {True, False}


@pytest.mark.parametrize("w", [1, 2, 3, 5])
def test_acyclic_colouring_of_full_bands_is_cyclic_and_decompresses(w):
    # A band of half-width w with a clique of w + 1 consecutive vertices: w + 1 colours
    # (the clique needs them), each two colour classes (a subgraph of) a path -- with or
    # without holes elsewhere. Couplings at distances 1 and w alone hold no such clique
    # (for w > 2): the greedy colouring runs.
    n = 300
    band = sp.diags([np.ones(n - abs(k)) for k in range(-w, w + 1)], range(-w, w + 1))
    band = band.tocsr().astype(bool)
    holed = band.tolil()
    for i in range(0, n - w, 7):
        holed[i, i + w] = holed[i + w, i] = False
    cases = [(band, w + 1), (holed.tocsr(), w + 1)]
    if w > 2:
        sparse_band = sp.diags([np.ones(n - abs(k)) for k in (-w, -1, 1, w)], [-w, -1, 1, w])
        cases.append((sparse_band.tocsr().astype(bool), None))
    for p, colours in cases:
        p.eliminate_zeros()
        c = coloring.acyclic_coloring(p)
        assert _two_colour_classes_are_forests(p, c)
        if colours is not None:
            assert c.max() + 1 == colours
            if w > 1:  # (w = 1 with holes: a forest, coloured by depth parity)
                np.testing.assert_array_equal(c, np.arange(n) % (w + 1))
        else:
            assert not np.array_equal(c, np.arange(n) % (w + 1))
        h = np.random.default_rng(w).standard_normal((n, n))
        h = (h + h.T) * p.toarray()
        s = np.zeros((c.max() + 1, n))
        s[c, np.arange(n)] = 1.0
        coo = p.tocoo()
        vals = coloring.AcyclicPlan(p, c)(s @ h)
        np.testing.assert_allclose(vals, h[coo.row, coo.col], rtol=1e-12, atol=1e-12)


def test_results_are_assembled_as_scipy_would():
    from adgraph.ad.sparsity import csr_from_arrays

    p = sp.random(9, 7, density=0.3, random_state=2, format="csr")
    p.sort_indices()
    m = csr_from_arrays(p.data, p.indices.astype(np.int64), p.indptr, p.shape)
    ref = sp.csr_matrix((p.data, p.indices, p.indptr), shape=p.shape)
    assert type(m) is sp.csr_matrix and m.indices.dtype == ref.indices.dtype
    assert m.has_canonical_format and (m != ref).nnz == 0
    np.testing.assert_array_equal(m @ np.arange(7.0), ref @ np.arange(7.0))

    class Checked(sp.csr_matrix):  # its own __init__: made by its constructor
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.made = True

    assert csr_from_arrays(p.data, p.indices, p.indptr, p.shape, Checked).made
    x = rng.standard_normal(30)
    h = ad.sparse_hessian(rosen)(x)
    assert type(h) is sp.csr_matrix and h.has_canonical_format
    np.testing.assert_allclose(h.toarray(), ad.hessian(rosen)(x), rtol=1e-12, atol=1e-9)
    h.data[:] = 0.0  # the caller owns the result: later results are unaffected
    h.indices[:] = 0


@pytest.mark.parametrize("n", [6, 40_000])  # small arrays copy zeros, large ones take fresh
def test_reverse_of_a_slice_scatters_into_zeros_as_numpy_does(n):
    # The cotangent of x[1:] and x[::2] lands in fresh zeros; -0.0 added to +0.0 is +0.0.
    x = rng.standard_normal(n)
    ct = np.zeros(n - 1)
    ct[:5] = [-0.0, 2.0, -3.0, 0.0, 5.0]
    ct[5:] = rng.standard_normal(n - 6)
    _, pull = ad.vjp(lambda x: x[1:], x)
    (g,) = pull(ct)
    want = np.zeros(n)
    want[1:] += ct
    np.testing.assert_array_equal(g, want)
    assert not np.signbit(g[1]) and g.flags.writeable
    _, pull = ad.vjp(lambda x: x[::2], x)
    half = np.arange(1.0, n // 2 + 1)
    want = np.zeros(n)
    want[::2] = half
    np.testing.assert_array_equal(pull(half)[0], want)


def test_sparse_hessian_acyclic():
    x = rng.standard_normal(40)
    hess = ad.sparse_hessian(rosen, method="acyclic")
    np.testing.assert_allclose(hess(x).toarray(), ad.hessian(rosen)(x), rtol=1e-12, atol=1e-9)
    assert (hess.mode, hess.colors) == ("acyclic", 2)  # a path is a forest: two colours
    assert ad.sparse_hessian(rosen)(x).shape == (40, 40)
    with pytest.raises(TypeError, match="method='star' under jit"):
        ad.jit(ad.sparse_hessian(rosen, method="acyclic"))(x)
    with pytest.raises(ValueError, match="method"):
        ad.sparse_hessian(rosen, method="greedy")


# ---------------------------------------------------------------- command line
def test_cli_diff_sparsity(tmp_path, capsys):
    import json

    from adgraph.cli import main

    svg = tmp_path / "h.svg"
    rc = main(["diff", "x1*x2 + sin(x2*x3) + x4**2", "--at", "x1=2", "x2=4", "x3=1", "x4=0.5",
               "--sparsity", str(svg)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "Hessian (7 of 16 entries)" in out
    assert "  x1  .  #  .  ." in out and "  x4  .  .  .  #" in out
    assert svg.read_text().startswith("<svg")
    rc = main(["diff", "x1*x2", "--at", "x1=2", "x2=4", "--sparsity", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["sparsity"]["hessian"] == [[0, 1], [1, 0]]
    assert doc["sparsity"]["gradient"] == ["x1", "x2"]
    rc = main(["diff", "x1*x2", "--at", "x1=2", "x2=4", "--sparsity", str(tmp_path / "h.txt")])
    assert rc != 0 and "use a .svg file" in capsys.readouterr().err


def test_patterns_pickle():
    import pickle

    p = ad.jacobian_sparsity(tridiag, rng.standard_normal(7))
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is type(p) and (q != p).nnz == 0 and q.to_svg() == p.to_svg()


def test_star_lookup_dense_and_sparse_tables_agree(monkeypatch):
    a = sp.random(40, 40, density=0.08, random_state=5) != 0
    p = (a + a.T + sp.identity(40, dtype=bool)).tocsr()
    c = coloring.star_coloring(p)
    dense = coloring.star_lookup(p, c)
    monkeypatch.setattr(coloring, "DENSE_TABLE_LIMIT", 0)
    sparse_table = coloring.star_lookup(p, c)
    for u, v in zip(dense, sparse_table):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="not a star colouring"):
        coloring.star_lookup(p, np.zeros(40, dtype=np.int64))
