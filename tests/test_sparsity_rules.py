"""Sparsity rules declared with the primitives: every family's pattern covers the dense
Jacobian at random points, local patterns cover the Jacobian at their point, and the
completeness list names every primitive that falls back to "dense over its inputs"."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.lax as lax
import adgraph.nn as nn
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
import adgraph.numpy.linalg as alinalg
import adgraph.scipy.special as asp
from adgraph.ad.sparsity import fallback_primitives
from adgraph.core.primitive import registry

sp = pytest.importorskip("scipy.sparse")

rng = np.random.default_rng(7)

# Primitives that have no sparsity rule today: their outputs depend on everything their
# inputs depend on (correct, possibly dense). A new primitive without a rule must be added
# here -- or, better, given a rule (``Primitive(..., sparsity=...)``).
KNOWN_FALLBACKS = {
    # implicit solves: their derivatives come from user-given solvers of linear systems
    "custom_root", "linear_solve", "odeint",
    # a fused loss and its backward primitive
    "fused_softmax_cross_entropy", "fused_softmax_cross_entropy_bwd",
    # identities that check a matrix before det's or sqrtm's derivatives (dense over a
    # matrix whose function is dense anyway)
    "linalg_det_third_derivative_check", "linalg_sqrtm_derivative_check",
    # an IIR filter: every output depends on all earlier inputs along the axis and on
    # every coefficient, so the dense fallback over the filtered fibres is near exact
    "signal_lfilter",
    # the homogenisation example's tangent solve (registered when the example loads): the
    # fallback is dense over its inputs, correct and wider than its per-voxel blocks
    "homogenization_tangent_solve",
}  # fmt: skip
# Linear algebra added later falls back until it declares stack_rule.
KNOWN_FAMILIES = ("linalg_",)


def _declared_by_adgraph(name):
    # primitives the tests declare for themselves (registered when those tests ran) are not
    # adgraph's operations
    return getattr(registry[name].impl, "__module__", "").startswith("adgraph")


def test_completeness_every_primitive_without_a_rule_is_listed():
    missing = sorted(
        n
        for n in fallback_primitives()
        if n not in KNOWN_FALLBACKS and not n.startswith(KNOWN_FAMILIES) and _declared_by_adgraph(n)
    )
    assert not missing, (
        f"primitives without a sparsity rule: {missing}; declare one "
        "(Primitive(..., sparsity=...), see adgraph.ad.sparsity) or list them in "
        "KNOWN_FALLBACKS"
    )
    # The rules moved into the declarations are there.
    for name in ("getitem", "convert_element_type", "einsum", "logsumexp", "scatter",
                 "checkpoint", "checkpoint_name", "checkpoint_saved", "linalg_solve", "switch",
                 "jit_call", "bincount", "linalg_norm2", "scan", "while_loop",
                 "custom_jvp_call", "custom_vjp_call",
                 "scatter_mul", "scatter_min", "scatter_max", "scatter_add", "take_along_axis",
                 "put_along_axis_add", "fft", "rfft", "irfft", "fft_real", "fftshift",
                 "fft_resize", "where", "maximum", "minimum", "fused_relu"):  # fmt: skip
        assert name not in fallback_primitives(), name


def _dense_nonzeros(f, x, trials=3, spread=0.3):
    nz = None
    for _ in range(trials):
        z = x + spread * rng.standard_normal(x.shape)
        j = np.asarray(ad.jacfwd(f)(z)).reshape(-1, z.size) != 0
        nz = j if nz is None else nz | j
    return nz


A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
IDX = np.array([[2, 0, 1], [1, 1, 0]])

FAMILIES = {
    "fft_axis1": (lambda x: anp.abs(afft.fft(anp.reshape(x, (2, 4)), axis=1)), (8,)),
    "rfft_irfft": (lambda x: afft.irfft(afft.rfft(anp.reshape(x, (2, 4)), axis=1), n=4), (8,)),
    "fft2": (lambda x: anp.real(afft.fft2(anp.reshape(x, (2, 2, 2)), axes=(1, 2))), (8,)),
    "fftshift": (lambda x: afft.fftshift(x) * x, (6,)),
    "take_along": (lambda x: anp.take_along_axis(anp.reshape(x, (2, 3)), IDX, 1) ** 2, (6,)),
    "sort": (lambda x: anp.sort(x) * anp.arange(6.0), (6,)),
    "astype32": (lambda x: (x**2).astype(np.float32), (6,)),
    "scatter_add_2d": (
        lambda x: anp.at(anp.zeros((2, 3)))[np.array([0, 1, 0]), np.array([2, 2, 2])].add(
            x[:3] * x[3:]
        ),
        (6,),
    ),
    "set_item": (lambda x: anp.at(x)[np.array([1, 4])].set(x[:2] ** 2), (6,)),
    "scatter_mul": (lambda x: anp.at(x)[np.array([1, 4, 1])].multiply(x[:3] ** 2), (6,)),
    "scatter_min_max": (
        lambda x: anp.at(x)[np.array([0, 2])].min(x[3:5]) + anp.at(x)[np.array([5, 5])].max(x[:2]),
        (6,),
    ),
    "clip": (lambda x: anp.clip(x, -0.5, 0.5) * x[::-1], (6,)),
    "maximum_minimum": (lambda x: anp.maximum(x, x[::-1]) + anp.minimum(x, 0.1), (6,)),
    "relu": (lambda x: nn.relu(x) * anp.roll(x, 1), (6,)),
    "where_traced": (lambda x: anp.where(x > 0, x, x[::-1] ** 2), (6,)),
    "logsumexp": (lambda x: asp.logsumexp(anp.reshape(x, (2, 3)), axis=1), (6,)),
    "einsum": (lambda x: anp.einsum("ij,j->i", anp.reshape(x, (2, 3)), x[:3]), (6,)),
    "linalg_inv": (lambda x: alinalg.inv(A + anp.diag(x[:3])).ravel(), (6,)),
    "matmul_matrix": (lambda x: anp.reshape(x, (2, 3)) @ A, (6,)),
    "cumprod_axis": (lambda x: anp.cumprod(anp.reshape(x, (2, 3)), axis=1), (6,)),
    "fori_loop": (
        lambda x: lax.fori_loop(0, 3, lambda i, v: v * anp.roll(v, 1), x),
        (5,),
    ),
    "scan": (
        lambda x: lax.scan(lambda c, v: (c + v, c * v), 0.0, x)[1],
        (5,),
    ),
    "custom_jvp": (lambda x: ad.nn.softplus(x) if hasattr(ad, "nn") else x, (5,)),
    "softmax": (lambda x: nn.softmax(anp.reshape(x, (2, 3)), axis=-1), (6,)),
    "bincount": (lambda x: anp.bincount(np.array([0, 2, 2, 1, 0, 3]), weights=x * x), (6,)),
    "matrix_norms": (
        lambda x: alinalg.norm(anp.reshape(x, (3, 2)), axis=1) * alinalg.norm(x[:4], ord=2),
        (6,),
    ),
}


# Index arrays computed from values (sort's argsort) are constants of the detection, as a
# Python ``if`` is: the pattern holds while they stay the same, so those families are
# checked at points near x that keep the order.
SAME_PATH = {"sort": 1e-6}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pattern_covers_the_dense_jacobian(name):
    f, shape = FAMILIES[name]
    x = rng.standard_normal(shape)
    p = ad.jacobian_sparsity(f, x)
    assert p.shape == (np.size(f(x)), x.size)
    nz = _dense_nonzeros(f, x, spread=SAME_PATH.get(name, 0.3))
    missed = nz & ~p.toarray()
    assert not missed.any(), f"{name}: the pattern misses {np.argwhere(missed).tolist()}"


def test_fft_pattern_is_block_diagonal_by_rows():
    # A transform along axis 1 of a (2, 4) array mixes each row, never the two rows.
    x = rng.standard_normal(8)
    p = ad.jacobian_sparsity(lambda x: anp.abs(afft.fft(anp.reshape(x, (2, 4)), axis=1)), x)
    block = np.kron(np.eye(2, dtype=bool), np.ones((4, 4), bool))
    assert (p.toarray() == block).all()


def test_scatter_add_pattern_is_exact():
    x = rng.standard_normal(6)
    f = FAMILIES["scatter_add_2d"][0]
    p = ad.jacobian_sparsity(f, x).toarray()
    expect = np.zeros((6, 6), bool)
    expect[2, [0, 2, 3, 5]] = True  # (0, 2) receives x0 x3 and x2 x5
    expect[5, [1, 4]] = True  # (1, 2) receives x1 x4
    assert (p == expect).all()


# ---------------------------------------------------------------- local patterns
LOCAL = {
    "where": lambda x: anp.where(x > 0, x**2, anp.sin(x[::-1])),
    "maximum": lambda x: anp.maximum(x, x[::-1]),
    "minimum": lambda x: anp.minimum(x, 2.0 * x[::-1]),
    "fmax": lambda x: anp.fmax(x, 0.0) * 3.0,
    "relu": lambda x: nn.relu(x) + x[0],
    "clip": lambda x: anp.clip(x, -0.2, 0.2),
}


@pytest.mark.parametrize("name", sorted(LOCAL))
def test_local_pattern_covers_the_jacobian_at_its_point(name):
    f = LOCAL[name]
    for _ in range(4):
        x = rng.standard_normal(7)
        glob = ad.jacobian_sparsity(f, x).toarray()
        loc = ad.jacobian_sparsity(f, x, local=True).toarray()
        jac = np.asarray(ad.jacfwd(f)(x)) != 0
        assert not (jac & ~loc).any(), f"{name}: local pattern misses {np.argwhere(jac & ~loc)}"
        assert not (loc & ~glob).any()  # local never adds to global


def test_local_pattern_is_narrower():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    f = LOCAL["maximum"]  # max(x, x[::-1]) at x: picks x1, x1, x3, x3 ... by value
    glob = ad.jacobian_sparsity(f, x).toarray()
    loc = ad.jacobian_sparsity(f, x, local=True).toarray()
    assert glob.sum() == 8
    expect = np.zeros((4, 4), bool)
    expect[0, 3] = expect[1, 1] = expect[2, 1] = expect[3, 3] = True
    assert (loc == expect).all()
    # relu: entries below zero depend on nothing locally.
    r = ad.jacobian_sparsity(nn.relu, x, local=True).toarray()
    assert (r == np.diag(x > 0)).all()
    # where with a constant condition: one branch per entry.
    w = ad.jacobian_sparsity(LOCAL["where"], x, local=True).toarray()
    assert (
        w == np.where((x > 0)[:, None], np.eye(4, dtype=bool), np.eye(4, dtype=bool)[::-1])
    ).all()


def test_local_pattern_keeps_both_operands_at_ties():
    x = np.array([1.0, 1.0])
    loc = ad.jacobian_sparsity(lambda x: anp.maximum(x, x[::-1]), x, local=True).toarray()
    assert loc.all()


def test_local_sparse_jacobian_uses_fewer_colours():
    def f(x):  # relu of a tridiagonal map: rows below zero drop out locally
        return nn.relu(x + anp.pad(x[1:], (0, 1)) + anp.pad(x[:-1], (1, 0)))

    x = np.where(np.arange(30) % 2 == 0, 1.0, -5.0)
    jg = ad.sparse_jacobian(f)
    jl = ad.sparse_jacobian(f, local=True)
    np.testing.assert_allclose(jl(x).toarray(), ad.jacfwd(f)(x), atol=1e-14)
    np.testing.assert_allclose(jg(x).toarray(), ad.jacfwd(f)(x), atol=1e-14)
    assert jl.pattern.nnz < jg.pattern.nnz
    assert jl.colors <= jg.colors


def test_einsum_pattern_is_exact_and_uses_constant_zeros():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    f = lambda x: anp.einsum("ij,jk->ik", w, anp.reshape(x, (3, 2)))  # noqa: E731
    x = rng.standard_normal(6)
    p = ad.jacobian_sparsity(f, x).toarray()
    assert (p == (np.asarray(ad.jacfwd(f)(x)).reshape(4, 6) != 0)).all()
    # Both operands traced, a repeated index (a trace) and a scalar output.
    g = lambda x: anp.einsum("ii,i->", anp.reshape(x[:4], (2, 2)), x[4:])  # noqa: E731
    assert (ad.jacobian_sparsity(g, x).toarray() == [[1, 0, 0, 1, 1, 1]]).all()


def test_per_voxel_tangent_of_a_material_law_is_block_diagonal():
    # The FFT homogenisation example's stress: its derivative couples the d*d strain
    # components of one voxel only -- block diagonal in voxel-major order, d*d colours.
    from adgraph.examples.homogenization import laws

    law = laws.power_law(K=2.0, sigma0=1.0, eps0=0.01, n=3.0)
    d, grid = 2, (4, 3)
    eps = 0.01 * rng.standard_normal((d, d) + grid)
    eps = 0.5 * (eps + eps.transpose(1, 0, 2, 3))
    p = ad.jacobian_sparsity(law.stress, eps)
    nv = int(np.prod(grid))
    voxel_major = np.arange(d * d * nv).reshape(d * d, nv).T.ravel()
    blocks = np.kron(np.eye(nv, dtype=bool), np.ones((d * d, d * d), bool))
    assert (p[voxel_major][:, voxel_major].toarray() == blocks).all()
    jac = ad.sparse_jacobian(law.stress)
    j = jac(eps)
    assert jac.colors == d * d
    dense = np.asarray(ad.jacfwd(law.stress)(eps)).reshape(d * d * nv, d * d * nv)
    np.testing.assert_allclose(j.toarray(), dense, rtol=1e-12, atol=1e-12)


def test_hessian_patterns_through_transposed_gathers():
    # The reverse sweep of take_along_axis and of fancy indexing runs put_along_axis_add
    # and scatter_add: their rules make the Hessian's pattern.
    def f(x):
        m = anp.reshape(x, (2, 3))
        return anp.sum(anp.take_along_axis(m, IDX, 1) ** 3) + anp.sum(
            x[np.array([0, 0, 5])] ** 2 * x[1]
        )

    x = rng.standard_normal(6)
    p = ad.hessian_sparsity(f, x).toarray()
    dense = np.zeros((6, 6), bool)
    for _ in range(3):
        dense |= np.asarray(ad.hessian(f)(x + 0.3 * rng.standard_normal(6))) != 0
    assert not (dense & ~p).any()
    assert (p == dense).all()  # exact here: no dependence is invented


# ---------------------------------------------------------------- stacks of matrices
A3 = rng.standard_normal((3, 3, 3)) * 0.3 + 2.0 * np.eye(3)


def _stack(x):
    return anp.reshape(x[:27], (3, 3, 3))


def _spd(x):
    a = _stack(x)
    return a @ anp.swapaxes(a, -1, -2)


STACKS = {
    "inv": lambda x: anp.linalg.inv(_stack(x)),
    "solve": lambda x: anp.linalg.solve(_stack(x), anp.reshape(x[27:], (3, 3, 1))),
    "solve_vector_b": lambda x: anp.linalg.solve(_stack(x)[0], x[27:30]),
    "det_slogdet": lambda x: anp.linalg.det(_stack(x)) + anp.linalg.slogdet(_stack(x))[1],
    "eigh": lambda x: anp.linalg.eigh(_spd(x))[0],
    "cholesky": lambda x: anp.linalg.cholesky(_spd(x)),
    "svd": lambda x: anp.linalg.svd(_stack(x))[1],
    "qr": lambda x: anp.linalg.qr(_stack(x))[1],
    "pinv": lambda x: anp.linalg.pinv(_stack(x)),
    "eigvals": lambda x: anp.real(anp.linalg.eigvals(_stack(x))),
    "matmul_broadcast": lambda x: _stack(x) @ anp.reshape(x[27:36], (1, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_stacked_linear_algebra_is_block_structured(name):
    f = STACKS[name]
    x = np.concatenate([A3.ravel(), rng.standard_normal(9)])
    p = ad.jacobian_sparsity(f, x).toarray()
    dense = _dense_nonzeros(lambda v: anp.reshape(f(v), (-1,)), x, spread=0.01)
    assert not (dense & ~p).any(), f"{name}: misses {np.argwhere(dense & ~p).tolist()}"
    if name != "matmul_broadcast":  # stack axes of equal length: one block per matrix
        out = int(np.size(f(x)))
        blocks = p[:, :27].reshape(3, out // 3, 3, 9)
        for i in range(3):
            for j in range(3):
                assert blocks[i, :, j].any() == (i == j) or name == "solve_vector_b"


def test_scipy_matrix_functions_of_stacks():
    import adgraph.scipy.linalg as asl

    x = A3.ravel()
    p = ad.jacobian_sparsity(lambda v: asl.expm(_stack(v)), x).toarray()
    assert (p == np.kron(np.eye(3, dtype=bool), np.ones((9, 9), bool))).all()


def test_checkpointed_functions_have_their_body_pattern():
    x = rng.standard_normal(5)
    g = ad.checkpoint(lambda v: anp.sin(v) * v[::-1])
    p = ad.jacobian_sparsity(g, x).toarray()
    expect = np.eye(5, dtype=bool) | np.eye(5, dtype=bool)[::-1]
    assert (p == expect).all()  # not the dense fallback
    h = ad.hessian_sparsity(lambda v: anp.sum(g(v)), x).toarray()
    assert (h == expect).all()
    named = ad.checkpoint(
        lambda v: anp.sin(ad.checkpoint_name(v * 2.0, "a")) * v,
        policy=ad.checkpoint_policies.save_only_these_names("a"),
    )
    hn = ad.hessian_sparsity(lambda v: anp.sum(named(v)), x).toarray()
    assert (hn == np.eye(5, dtype=bool)).all()
    assert (hn == (np.asarray(ad.hessian(lambda v: anp.sum(named(v)))(x)) != 0)).all()


def test_custom_jvp_patterns_follow_the_rule():
    # A custom rule may give a derivative the function does not have (straight-through):
    # the pattern follows the rule, run with the arguments' patterns as tangents.
    @ad.custom_jvp
    def straight_through(v):
        return anp.round(v)

    straight_through.defjvp(lambda primals, tangents: (straight_through(*primals), tangents[0]))
    x = rng.standard_normal(4)
    p = ad.jacobian_sparsity(straight_through, x).toarray()
    assert (p == np.eye(4, dtype=bool)).all()
    assert (np.asarray(ad.jacfwd(straight_through)(x)) == np.eye(4)).all()

    @ad.custom_jvp
    def mul(a, b):
        return a * b

    mul.defjvp(lambda p, t: (mul(*p), t[0] * p[1] + p[0] * t[1]))

    def g(v):  # one constant argument, one traced pair
        return mul(v[:2], np.array([1.0, 2.0])) + mul(v[2:], v[:2])

    for f in (g, lambda v: mul(anp.roll(v, 1), v) * 2.0):
        assert (ad.jacobian_sparsity(f, x).toarray() == _dense_nonzeros(f, x)).all()
        h = ad.hessian_sparsity(lambda v: anp.sum(f(v)), x).toarray()
        assert (h == (np.asarray(ad.hessian(lambda v: anp.sum(f(v)))(x)) != 0)).all()
    np.testing.assert_allclose(ad.sparse_jacobian(g)(x).toarray(), ad.jacfwd(g)(x))


def test_branches_have_the_pattern_of_the_branch_taken():
    branches = [lambda u: anp.sin(u), lambda u: u * u[::-1], lambda u: anp.cumsum(u)]
    x = rng.standard_normal(5)
    for i, expect in enumerate(
        [np.eye(5, dtype=bool), np.eye(5, dtype=bool) | np.eye(5, dtype=bool)[::-1],
         np.tril(np.ones((5, 5), bool))]
    ):  # fmt: skip
        p = ad.jacobian_sparsity(lambda v, i=i: lax.switch(i, branches, v), x).toarray()
        assert (p == expect).all()

    def g(v):  # the predicate is decided at the point, as a Python if would be
        return lax.cond(anp.sum(v) > 0, lambda u: u * 2.0, lambda u: anp.roll(u, 1), v)

    y = np.abs(x)
    assert (ad.jacobian_sparsity(g, y).toarray() == np.eye(5, dtype=bool)).all()
    assert (ad.jacobian_sparsity(g, -y).toarray() == np.roll(np.eye(5, dtype=bool), 1, 0)).all()


def test_jitted_functions_inside_have_their_graph_pattern():
    inner = ad.jit(lambda u: anp.sin(u) * anp.roll(u, 1))

    def f(v):
        return inner(v) + v**2

    x = rng.standard_normal(6)
    f(x)  # compiled before detection too
    p = ad.jacobian_sparsity(f, x).toarray()
    assert (p == (np.eye(6, dtype=bool) | np.roll(np.eye(6, dtype=bool), 1, 0))).all()
    assert (p == _dense_nonzeros(f, x)).all()
    h = ad.hessian_sparsity(lambda v: anp.sum(f(v)), x).toarray()
    assert (h == (np.asarray(ad.hessian(lambda v: anp.sum(f(v)))(x)) != 0)).all()


LOOPS = {
    "fori_loop": lambda v: lax.fori_loop(0, 2, lambda i, u: u * anp.roll(u, 1), v),
    "scan": lambda v: lax.scan(lambda c, u: (c + u, c * u), 0.0, v)[1],
    "while_loop": lambda v: lax.while_loop(
        lambda c: c[1] < 3, lambda c: (c[0] + anp.roll(c[0], 1) ** 2, c[1] + 1), (v, 0)
    )[0],
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_loops_run_on_the_patterns(name):
    f = LOOPS[name]
    x = rng.standard_normal(8)
    p = ad.jacobian_sparsity(f, x).toarray()
    dense = _dense_nonzeros(f, x)
    assert not (dense & ~p).any() and not p.all()  # covers the Jacobian, not the fallback
    assert p.sum() <= dense.sum() + 8  # at most a few structural extras
    h = ad.hessian_sparsity(lambda v: anp.sum(f(v)), x).toarray()
    dh = np.asarray(ad.hessian(lambda v: anp.sum(f(v)))(x)) != 0
    assert not (dh & ~h).any() and not h.all()


def test_custom_vjp_patterns_follow_the_reverse_rule():
    @ad.custom_vjp
    def straight_through(v):
        return anp.round(v)

    straight_through.defvjp(lambda v: (straight_through(v), None), lambda r, ct: (ct,))
    x = rng.standard_normal(5)
    assert (ad.jacobian_sparsity(straight_through, x).toarray() == np.eye(5, dtype=bool)).all()

    @ad.custom_vjp
    def mul(a, b):
        return a * b

    mul.defvjp(lambda a, b: (mul(a, b), (a, b)), lambda r, ct: (ct * r[1], ct * r[0]))

    @ad.custom_vjp
    def shift(v):
        return anp.roll(v, 1) * 2.0

    shift.defvjp(lambda v: (shift(v), None), lambda r, ct: (2.0 * anp.roll(ct, -1),))

    def dense_rev(f, x):
        return np.asarray(ad.jacrev(f)(x)).reshape(-1, x.size) != 0

    for f in (
        lambda v: mul(v[:2], np.array([1.0, 2.0])) + mul(v[2:4], v[:2]),
        lambda v: shift(v) * v,
    ):
        assert (ad.jacobian_sparsity(f, x).toarray() == dense_rev(f, x)).all()
        h = ad.hessian_sparsity(lambda v: anp.sum(f(v)), x).toarray()
        assert (h == (np.asarray(ad.hessian(lambda v: anp.sum(f(v)))(x)) != 0)).all()
        np.testing.assert_allclose(
            ad.sparse_jacobian(f, mode="rev")(x).toarray(), ad.jacrev(f)(x), rtol=1e-14
        )
