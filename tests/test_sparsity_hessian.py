"""Hessian sparsity in one forward pass: patterns cover the dense Hessian at random points
for every primitive family the Jacobian tests cover, equal it for the standard families,
and take no gradient."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.api.sparse as sparse_api
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
from tests.test_sparsity_rules import A3, FAMILIES, LOCAL, LOOPS, STACKS

sp = pytest.importorskip("scipy.sparse")

rng = np.random.default_rng(11)


def _families():
    out = {name: (f, np.zeros(shape)) for name, (f, shape) in FAMILIES.items()}
    stack_x = np.concatenate([A3.ravel(), np.zeros(9)])
    out.update({f"stack_{k}": (f, stack_x) for k, f in STACKS.items()})
    out.update({f"loop_{k}": (f, np.zeros(8)) for k, f in LOOPS.items()})
    out.update({f"local_{k}": (f, np.zeros(7)) for k, f in LOCAL.items()})
    return out


ALL = _families()

# Where the global pattern is wider than the dense Hessian, and why (everywhere else the
# two are equal: no pair is invented).
WIDER = {
    # the branch or operand a value selects is not known globally
    "clip", "relu", "where_traced", "maximum_minimum", "local_relu", "local_clip", "local_fmax", "local_maximum",
    "local_minimum", "local_where", "scatter_min_max", "set_item", "sort",
    # products of distinct entries (cumprod, a repeated scatter product) have no x_i**2
    # term; the pass pairs each output's dependencies with each other, squares included
    "cumprod_axis", "scatter_mul",
    # cancellations: sum(softmax) == 1, the imaginary parts irfft(rfft) drops, a QR's
    # and an eigenvalue's second derivatives that vanish at every point
    "softmax", "rfft_irfft", "stack_qr", "stack_eigvals",
    # stack axes that broadcast: the contraction falls back to whole output rows
    "stack_matmul_broadcast",
}  # fmt: skip
SPREAD = {"sort": 1e-6}  # keep the order the detection saw


def _point(name, x0):
    if name.startswith("stack_"):
        return np.concatenate([A3.ravel(), rng.standard_normal(9)])
    return rng.standard_normal(x0.shape)


def _dense_hessian_nonzeros(g, x, spread, trials=3):
    nz = np.zeros((x.size, x.size), bool)
    for _ in range(trials):
        z = x + spread * rng.standard_normal(x.shape)
        nz |= np.asarray(ad.hessian(g)(z)).reshape(x.size, x.size) != 0
    return nz


@pytest.mark.parametrize("outer", ["sum", "sin"])
@pytest.mark.parametrize("name", sorted(ALL))
def test_hessian_pattern_covers_the_dense_hessian(name, outer):
    f, x0 = ALL[name]
    x = _point(name, x0)
    if outer == "sum":  # the family's own second derivatives

        def g(v):
            return anp.sum(f(v))

    else:  # and its first-order pattern, paired by a nonlinear function of each output

        def g(v):
            return anp.sum(anp.sin(f(v)))

    p = ad.hessian_sparsity(g, x).toarray()
    assert (p == p.T).all()
    spread = SPREAD.get(name, 0.01 if name.startswith("stack_") else 0.3)
    dense = _dense_hessian_nonzeros(g, x, spread)
    missed = dense & ~p
    assert not missed.any(), f"{name}: misses {np.argwhere(missed).tolist()}"
    if name not in WIDER:
        assert (p == dense).all(), f"{name}: invents {np.argwhere(p & ~dense).tolist()}"


def _count_gradients(monkeypatch):
    calls = []
    real = sparse_api.grad

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sparse_api, "grad", counting)
    return calls


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_detection_takes_no_gradient(monkeypatch):
    calls = _count_gradients(monkeypatch)
    n = 2000
    p = ad.hessian_sparsity(rosen, rng.standard_normal(n))
    assert not calls
    tri = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], dtype=bool)
    assert p.shape == (n, n) and (p != tri).nnz == 0
    # sparse_hessian detects the same way; its one compressed sweep is a gradient's
    hess = ad.sparse_hessian(rosen)
    x = rng.standard_normal(12)
    np.testing.assert_allclose(hess(x).toarray(), ad.hessian(rosen)(x), rtol=1e-12, atol=1e-9)
    assert hess.colors <= 5


def test_custom_rules_are_detected_through_the_gradient(monkeypatch):
    # A custom rule's second derivative is the derivative of user code: the gradient's
    # reverse sweep is detected instead, and the pattern follows the rule.
    @ad.custom_jvp
    def cube(v):
        return v**3

    cube.defjvp(lambda p, t: (cube(p[0]), 3.0 * p[0] ** 2 * t[0]))
    calls = _count_gradients(monkeypatch)
    x = rng.standard_normal(6)

    def g(v):
        return anp.sum(cube(v) * anp.roll(v, 1))

    p = ad.hessian_sparsity(g, x).toarray()
    assert calls == [1]
    assert (p == (np.asarray(ad.hessian(g)(x)) != 0)).all()


def test_products_pair_operands_without_squares():
    x = rng.standard_normal(7)
    cases = {
        "product": lambda v: anp.sum(v[:-1] * v[1:]),
        "quotient": lambda v: anp.sum(v[:-1] / v[1:]),  # linear in the numerator
        "xlogy": lambda v: anp.sum(ad.scipy.special.xlogy(v[:-1], v[1:] ** 2 + 1.0)),
        "square_of_sum": lambda v: anp.sum(v[:3]) ** 2,
        "linear": lambda v: anp.sum(3.0 * v - anp.roll(v, 2)) + anp.max(v),
    }
    for name, g in cases.items():
        p = ad.hessian_sparsity(g, x).toarray()
        dense = np.asarray(ad.hessian(g)(x)) != 0
        assert (p == dense).all(), name
    assert not ad.hessian_sparsity(cases["product"], x).toarray().diagonal().any()
    assert ad.hessian_sparsity(cases["linear"], x).nnz == 0


def test_quadratic_forms_keep_the_matrix_pattern():
    n = 60
    a = sp.random(n, n, density=0.05, random_state=3).toarray()
    a = a + a.T
    x = rng.standard_normal(n)
    for g in (
        lambda v: v @ (a @ v),
        lambda v: anp.einsum("i,ij,j->", v, a, v),
        lambda v: anp.sum((anp.reshape(v[:20], (4, 5)) @ anp.reshape(v[20:40], (5, 4))) ** 1),
    ):
        p = ad.hessian_sparsity(g, x).toarray()
        assert (p == (np.asarray(ad.hessian(g)(x)) != 0)).all()
    assert (ad.hessian_sparsity(lambda v: v @ (a @ v), x).toarray() == (a != 0)).all()


def test_moduli_of_complex_values_are_not_piecewise_linear():
    # abs of a real value has no second derivative; of a complex one it has.
    x = rng.standard_normal(8)

    def g(v):
        return anp.sum(anp.abs(afft.fft(anp.reshape(v, (2, 4)), axis=1)))

    p = ad.hessian_sparsity(g, x).toarray()
    assert (p == np.kron(np.eye(2, dtype=bool), np.ones((4, 4), bool))).all()
    assert ad.hessian_sparsity(lambda v: anp.sum(anp.abs(v)), x).nnz == 0


def test_irregular_pairs_and_wide_rows():
    n = 40
    perm = rng.permutation(n)
    pairs = rng.integers(0, n, (2, 150))  # more offsets than get a vector each
    x = rng.standard_normal(n)
    cases = {
        "permuted": lambda v: anp.sum(v[perm] * v),
        "scattered": lambda v: anp.sum(v[pairs[0]] * anp.sin(v[pairs[1]])),
        "prefix_sums": lambda v: anp.sum(anp.sin(anp.cumsum(v[:12]) * anp.cumsum(v[12:24]))),
        "dense": lambda v: anp.sum(v[:10]) ** 3 + anp.sum(anp.exp(v)),
    }
    for name, g in cases.items():
        p = ad.hessian_sparsity(g, x).toarray()
        assert (p == (np.asarray(ad.hessian(g)(x)) != 0)).all(), name


def test_long_chains_stay_exact():
    # Each step widens the rows: the union keeps each dependence once.
    def g(v):
        y = v
        for _ in range(12):
            y = y + 0.1 * anp.sin(anp.roll(y, 1))
        return anp.sum(y[:3] ** 2)

    x = rng.standard_normal(9)
    p = ad.hessian_sparsity(g, x).toarray()
    assert (p == (np.asarray(ad.hessian(g)(x)) != 0)).all()


def test_pytrees_and_local_patterns():
    def f(params):
        w, b = params
        return anp.sum(anp.tanh(w * b[0]) ** 2) + anp.sum(anp.where(w > 0, w**2, w))

    w, b = rng.standard_normal(4), rng.standard_normal(1)
    p = ad.hessian_sparsity(f, (w, b)).toarray()

    def flat(v):
        return f((v[:4], v[4:]))

    v = np.append(w, b)
    assert (p == (np.asarray(ad.hessian(flat)(v)) != 0)).all()
    g = lambda u: anp.sum(anp.where(u > 0, u**2, anp.sin(u[::-1])))  # noqa: E731
    x = rng.standard_normal(6)
    loc = ad.hessian_sparsity(g, x, local=True).toarray()
    glob = ad.hessian_sparsity(g, x).toarray()
    dense = np.asarray(ad.hessian(g)(x)) != 0
    assert not (dense & ~loc).any() and not (loc & ~glob).any()


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="scalar"):
        ad.hessian_sparsity(lambda v: v**2, np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        ad.hessian_sparsity(lambda v: anp.sum(v), np.ones(3, complex))


def test_one_dense_entry_among_sparse_ones():
    # A vector with its total appended: padding every entry to the total's width would
    # take n**2 memory; the rule falls back to scipy matrices instead.
    from adgraph.api.sparse import _detect_through_gradient, _prepare

    def f(v):
        w = anp.concatenate([v, anp.sum(v)[None]])
        return anp.sum(anp.sin(w[:-1]) * w[1:])

    x = rng.standard_normal(8)
    assert (ad.hessian_sparsity(f, x).toarray() == (np.asarray(ad.hessian(f)(x)) != 0)).all()
    x = rng.standard_normal(3000)
    p = ad.hessian_sparsity(f, x)
    assert p.nnz < 40 * x.size
    assert (
        p != _detect_through_gradient(*_prepare(f, x, "hessian_sparsity", scalar=True))
    ).nnz == 0


def test_second_order_table_names_registered_primitives():
    # A renamed primitive would silently count as nonlinear in everything (correct, but
    # wider): the table must name primitives that exist.
    from adgraph.ad.sparsity_hessian import SECOND_ORDER
    from adgraph.core.primitive import registry

    unknown = sorted(set(SECOND_ORDER) - set(registry))
    assert not unknown, f"second-order kinds for unknown primitives: {unknown}"
