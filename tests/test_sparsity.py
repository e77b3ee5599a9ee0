"""Sparsity detection, colourings and compressed sparse Jacobians and Hessians."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as asp
from adgraph.ad import coloring
from adgraph.ad.sparsity import fallback_primitives

sp = pytest.importorskip("scipy.sparse")

rng = np.random.default_rng(0)
W = np.where(rng.random((5, 4)) < 0.5, rng.standard_normal((5, 4)), 0.0)


def _dense_nonzeros(f, x, trials=3):
    """The union of the dense Jacobian's nonzeros over a few random points."""
    nz = None
    for _ in range(trials):
        z = x + 0.3 * rng.standard_normal(x.shape)
        j = np.asarray(ad.jacfwd(f)(z)).reshape(np.size(f(z)), z.size) != 0
        nz = j if nz is None else nz | j
    return nz


# One function per family; x has 6 entries (or a 2x3 / 5x... shape as noted).
FAMILIES = {
    "elementwise": (lambda x: anp.sin(x) * x + anp.exp(x) / (1 + x**2), (6,)),
    "broadcast": (lambda x: x[:, None] * x[None, :3], (6,)),
    "reduction": (lambda x: anp.sum(x**2, axis=1), (2, 3)),
    "prod_max": (lambda x: anp.prod(x, axis=0) + anp.max(x, axis=0), (2, 3)),
    "var_mean": (lambda x: anp.var(x, axis=1) + anp.mean(x, axis=1), (2, 3)),
    "cumulative": (lambda x: anp.cumsum(x) + anp.cumprod(x), (6,)),
    "reshape_transpose": (lambda x: anp.transpose(anp.reshape(x, (3, 2))) ** 2, (6,)),
    "flip_roll": (lambda x: anp.flip(x) * anp.roll(x, 2), (6,)),
    "slicing": (lambda x: x[1:] * x[:-1] + x[::-1][1:], (6,)),
    "fancy_index": (lambda x: x[np.array([0, 3, 3, 5])] ** 2, (6,)),
    "scatter": (lambda x: anp.at(x * 0.5)[np.array([1, 1, 4])].add(x[:3] ** 2), (6,)),
    "concatenate": (lambda x: anp.concatenate([x[:2] ** 2, anp.sin(x[3:])]), (6,)),
    "pad_repeat": (lambda x: anp.pad(x, 2) + anp.repeat(x, 1)[0], (6,)),
    "matmul_const": (lambda x: anp.tanh(x @ W), (2, 5)),
    "matmul_vec": (lambda x: W.T @ x, (5,)),
    "matmul_both": (lambda x: x[:2, None] @ x[None, 2:4], (6,)),
    "diagonal": (lambda x: anp.diagonal(anp.reshape(x, (2, 3))) * 2.0, (6,)),
    "where_abs": (lambda x: anp.where(x > 0, x**2, anp.abs(x[::-1])), (6,)),
    "integer_cast": (lambda x: x * (x > 0).astype(float) + anp.floor(x), (6,)),
    "special": (lambda x: asp.erf(x) + asp.expit(x[::-1]), (6,)),
    "fallback_linalg": (lambda x: anp.linalg.solve(anp.reshape(x[:4], (2, 2)), x[4:]), (6,)),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pattern_never_misses_a_nonzero(name):
    f, shape = FAMILIES[name]
    x = rng.standard_normal(shape) + 2.0
    p = ad.jacobian_sparsity(f, x)
    assert sp.issparse(p) and p.dtype == bool
    assert p.shape == (np.size(f(x)), x.size)
    nz = _dense_nonzeros(f, x)
    missed = nz & ~p.toarray()
    assert not missed.any(), f"{name}: pattern misses {np.argwhere(missed)}"


def test_patterns_are_exact_where_they_can_be():
    x = rng.standard_normal(6)
    eye = np.eye(6, dtype=bool)
    assert (ad.jacobian_sparsity(lambda x: anp.sin(x) * 2, x).toarray() == eye).all()
    # Row permutation and selection.
    assert (ad.jacobian_sparsity(lambda x: x[::-1], x).toarray() == eye[::-1]).all()
    assert (ad.jacobian_sparsity(lambda x: x[1:4], x).toarray() == eye[1:4]).all()
    # A reduction: one full row.
    assert ad.jacobian_sparsity(lambda x: anp.sum(x), x).toarray().tolist() == [[True] * 6]
    # The constant matrix contributes its nonzeros: pattern of W.T.
    v = rng.standard_normal(5)
    assert (ad.jacobian_sparsity(lambda v: W.T @ v, v).toarray() == (W.T != 0)).all()
    # cumsum: lower triangular.
    assert (ad.jacobian_sparsity(anp.cumsum, x).toarray() == np.tril(np.ones((6, 6), bool))).all()
    # An integer result and stop_gradient carry no derivative: empty pattern.
    assert ad.jacobian_sparsity(lambda x: ad.stop_gradient(x) * 1.0, x).nnz == 0


def test_c_order_flattening():
    x = rng.standard_normal((2, 3))
    p = ad.jacobian_sparsity(lambda x: x.T[0], x).toarray()  # x[0, 0], x[1, 0]
    expect = np.zeros((2, 6), bool)
    expect[0, 0] = expect[1, 3] = True
    assert (p == expect).all()


def test_control_flow_follows_the_point():
    def f(x):
        return x * 2 if anp.sum(x) > 0 else anp.roll(x, 1)

    x = np.ones(4)
    assert (ad.jacobian_sparsity(f, x).toarray() == np.eye(4, dtype=bool)).all()
    assert (ad.jacobian_sparsity(f, -x).toarray() == np.roll(np.eye(4, dtype=bool), 1, 0)).all()


def test_fallback_is_dense_over_its_inputs_and_listed():
    x = rng.standard_normal(6)
    p = ad.jacobian_sparsity(FAMILIES["fallback_linalg"][0], x).toarray()
    assert p.all()  # solve depends on all six entries (one 2 x 2 system)

    # A primitive declared without a sparsity rule: dense over its inputs, nothing else.
    from adgraph.core.primitive import Primitive, registry

    roll1 = Primitive(
        "test_roll_without_rule",
        lambda xp, v: xp.roll(v, 1),
        tangent=(lambda t, ans, v: anp.roll(t, 1),),
    )
    try:
        assert "test_roll_without_rule" in fallback_primitives()
        q = ad.jacobian_sparsity(lambda v: roll1.bind(v[:3]) * 2.0, x).toarray()
        assert q[:, :3].all() and not q[:, 3:].any()
    finally:
        registry.pop("test_roll_without_rule")
    names = fallback_primitives()
    # The completeness list: every differentiable primitive without a sparsity rule.
    assert "custom_root" in names and "linear_solve" in names
    for covered in ("add", "multiply", "sin", "reshape", "reduce_sum", "matmul", "einsum",
                    "linalg_solve", "linalg_inv", "scan", "while_loop", "custom_vjp_call"):  # fmt: skip
        assert covered not in names


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tridiag(x):
    d = -2.0 * x**2 + anp.sin(x)
    d = d + anp.pad(x[1:], (0, 1)) + anp.pad(x[:-1] ** 3, (1, 0))
    return d


def test_hessian_sparsity_of_chained_rosenbrock_is_tridiagonal():
    x = rng.standard_normal(7)
    p = ad.hessian_sparsity(rosen, x).toarray()
    band = np.abs(np.subtract.outer(np.arange(7), np.arange(7))) <= 1
    assert (p == band).all()
    assert not ((ad.hessian(rosen)(x) != 0) & ~p).any()


def test_hessian_sparsity_separable_and_coupled():
    x = rng.standard_normal(5)
    assert (ad.hessian_sparsity(lambda x: anp.sum(anp.exp(x)), x).toarray() == np.eye(5)).all()
    assert ad.hessian_sparsity(lambda x: anp.sum(3.0 * x), x).nnz == 0
    assert ad.hessian_sparsity(lambda x: anp.sum(x) ** 2, x).toarray().all()


# ---------------------------------------------------------------- colourings
def _random_pattern(m, n, density, seed):
    return sp.random(m, n, density=density, random_state=seed, format="csr") != 0


@pytest.mark.parametrize("order", coloring.ORDERS)
def test_column_and_row_colourings_are_valid(order):
    for seed in range(5):
        p = _random_pattern(30, 20, 0.15, seed)
        c = coloring.column_coloring(p, order)
        assert coloring.check_column_coloring(p, c)
        r = coloring.row_coloring(p, order)
        assert coloring.check_row_coloring(p, r)
        # Greedy never uses more colours than the largest conflict degree + 1.
        conflict = (p.T @ p).toarray()
        np.fill_diagonal(conflict, False)
        assert c.max() + 1 <= conflict.sum(1).max() + 1


@pytest.mark.parametrize("order", coloring.ORDERS)
def test_star_colourings_are_valid(order):
    for seed in range(5):
        a = _random_pattern(25, 25, 0.1, seed)
        p = (a + a.T).tocsr()
        c = coloring.star_coloring(p, order)
        assert coloring.check_star_coloring(p, c)


def test_invalid_colourings_are_caught():
    p = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], bool))
    assert not coloring.check_column_coloring(p, np.array([0, 0, 1]))
    assert coloring.check_column_coloring(p, np.array([0, 1, 0]))
    # A path a-b-c-d coloured 0 1 0 1 is a bichromatic path: not a star colouring.
    path = sp.diags([1, 1], [-1, 1], shape=(4, 4), dtype=bool).tocsr()
    assert not coloring.check_star_coloring(path, np.array([0, 1, 0, 1]))
    assert coloring.check_star_coloring(path, np.array([0, 1, 0, 2]))
    with pytest.raises(ValueError, match="ordering"):
        coloring.column_coloring(p, "random")


def test_tridiagonal_needs_three_colours():
    n = 50
    p = sp.diags([1, 1, 1], [-1, 0, 1], shape=(n, n), dtype=bool).tocsr()
    for order in coloring.ORDERS:
        assert coloring.column_coloring(p, order).max() + 1 == 3


# ---------------------------------------------------------------- compressed evaluation
@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_sparse_jacobian_equals_dense(mode):
    x = rng.standard_normal(12)
    jac = ad.sparse_jacobian(tridiag, mode=mode)
    j = jac(x)
    assert isinstance(j, sp.csr_matrix) and j.shape == (12, 12)
    np.testing.assert_allclose(j.toarray(), ad.jacfwd(tridiag)(x), rtol=1e-13, atol=1e-13)
    assert jac.colors == 3
    # A second call at another point reuses pattern and colouring.
    y = rng.standard_normal(12)
    np.testing.assert_allclose(jac(y).toarray(), ad.jacrev(tridiag)(y), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ["broadcast", "reduction", "matmul_const", "scatter", "slicing"])
def test_sparse_jacobian_of_families(name):
    f, shape = FAMILIES[name]
    x = rng.standard_normal(shape) + 2.0
    dense = np.asarray(ad.jacfwd(f)(x)).reshape(np.size(f(x)), x.size)
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(
            ad.sparse_jacobian(f, mode=mode)(x).toarray(), dense, rtol=1e-12, atol=1e-12
        )


def test_sparse_jacobian_with_a_given_pattern():
    x = rng.standard_normal(8)
    pattern = ad.jacobian_sparsity(tridiag, x)
    jac = ad.sparse_jacobian(tridiag, sparsity=pattern.toarray())
    np.testing.assert_allclose(jac(x).toarray(), ad.jacfwd(tridiag)(x), rtol=1e-13)
    with pytest.raises(ValueError, match=r"shape \(8, 9\).*\(8, 8\)"):
        ad.sparse_jacobian(tridiag, sparsity=np.ones((8, 9)))(x)
    with pytest.raises(ValueError, match="made for"):
        jac(np.ones(9))
    with pytest.raises(ValueError, match="mode"):
        ad.sparse_jacobian(tridiag, mode="sideways")


def test_sparse_hessian_of_rosenbrock():
    x = rng.standard_normal(20)
    hess = ad.sparse_hessian(rosen)
    h = hess(x)
    assert isinstance(h, sp.csr_matrix)
    np.testing.assert_allclose(h.toarray(), ad.hessian(rosen)(x), rtol=1e-12, atol=1e-10)
    assert hess.colors <= 5
    assert coloring.check_star_coloring(hess.pattern, hess.coloring)
    y = rng.standard_normal(20)
    np.testing.assert_allclose(hess(y).toarray(), ad.hessian(rosen)(y), rtol=1e-12, atol=1e-10)


def test_sparse_hessian_of_a_two_dimensional_input_with_coupling():
    def f(x):
        return anp.sum(x[:, 0] * x[:, 1] ** 2) + anp.sum(anp.exp(x)) + anp.sum(x[0]) ** 2

    x = rng.standard_normal((4, 2))
    h = ad.sparse_hessian(f)(x)
    np.testing.assert_allclose(h.toarray(), ad.hessian(f)(x).reshape(8, 8), rtol=1e-12)


def test_sparse_hessian_refuses_bad_input():
    with pytest.raises(TypeError, match="scalar"):
        ad.sparse_hessian(lambda x: x**2)(np.ones(3))
    with pytest.raises(TypeError, match="scalar"):
        ad.hessian_sparsity(lambda x: x**2, np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        ad.sparse_hessian(rosen, sparsity=np.ones((3, 2)))(np.ones(3))
    with pytest.raises(TypeError, match="callable"):
        ad.sparse_hessian(3)


def test_detection_inside_another_transformation_is_refused():
    with pytest.raises(TypeError, match="eagerly or under jit"):
        ad.grad(lambda x: anp.sum(ad.sparse_jacobian(anp.sin)(x).toarray()))(np.ones(3))


def test_missing_scipy_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match=r"adgraph\[scipy\]"):
        ad.jacobian_sparsity(anp.sin, np.ones(3))
