"""Products: values against NumPy, derivatives against finite differences (orders 1 and 2,
forward and reverse, float64/float32/complex), vmap against a loop, jacfwd against jacrev."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops._util import OpError

from .harness import check, check_all_dtypes, rand

COVERED = {
    "numpy.matmul",
    "numpy.dot",
    "numpy.vdot",
    "numpy.inner",
    "numpy.outer",
    "numpy.tensordot",
    "numpy.einsum",
    "numpy.kron",
    "numpy.trace",
    "numpy.diag",
    "numpy.diagflat",
    "numpy.diagonal",
    "numpy.triu",
    "numpy.tril",
}

ALL_DTYPES = (np.float64, np.float32, np.complex128)


def _args(shapes, dtype=np.float64):
    return [rand(s, dtype, seed=i + 1) for i, s in enumerate(shapes)]


def _assert_values(f, g, args, rtol=1e-12):
    got = f(*args)
    want = g(*args)
    if isinstance(want, (list, tuple)):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(a), b, rtol=rtol, atol=1e-12)
    else:
        got = np.asarray(got)
        assert got.shape == np.shape(want), (got.shape, np.shape(want))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


# ------------------------------------------------------------------ binary products
BINARY = [
    # (name, adgraph function, numpy function, operand shapes)
    ("matmul", anp.matmul, np.matmul, [(3,), (3,)]),
    ("matmul", anp.matmul, np.matmul, [(2, 3), (3,)]),
    ("matmul", anp.matmul, np.matmul, [(3,), (3, 4)]),
    ("matmul", anp.matmul, np.matmul, [(2, 3), (3, 4)]),
    ("matmul", anp.matmul, np.matmul, [(2, 2, 3), (3, 2)]),
    ("matmul", anp.matmul, np.matmul, [(2, 1, 2, 3), (3, 3, 2)]),
    ("dot", anp.dot, np.dot, [(), (2, 3)]),
    ("dot", anp.dot, np.dot, [(3,), (3,)]),
    ("dot", anp.dot, np.dot, [(2, 3), (3,)]),
    ("dot", anp.dot, np.dot, [(2, 3), (3, 2)]),
    ("dot", anp.dot, np.dot, [(3,), (2, 3, 2)]),
    ("dot", anp.dot, np.dot, [(2, 2, 3), (2, 3, 2)]),
    ("vdot", anp.vdot, np.vdot, [(3,), (3,)]),
    ("vdot", anp.vdot, np.vdot, [(2, 3), (3, 2)]),
    ("inner", anp.inner, np.inner, [(3,), (3,)]),
    ("inner", anp.inner, np.inner, [(), (2, 3)]),
    ("inner", anp.inner, np.inner, [(2, 3), (4, 3)]),
    ("inner", anp.inner, np.inner, [(2, 2, 3), (3,)]),
    ("outer", anp.outer, np.outer, [(3,), (4,)]),
    ("outer", anp.outer, np.outer, [(2, 2), (3,)]),
    ("kron", anp.kron, np.kron, [(2,), (3,)]),
    ("kron", anp.kron, np.kron, [(2, 2), (2, 3)]),
    ("kron", anp.kron, np.kron, [(2,), (2, 3)]),
    ("kron", anp.kron, np.kron, [(), (2,)]),
    ("tensordot", anp.tensordot, np.tensordot, [(2, 3, 4), (3, 4, 2)]),
]

TENSORDOT = [
    ([(2, 3), (3, 4)], 1),
    ([(2, 3), (2, 3)], 2),
    ([(2, 3), (4, 2)], 0),
    ([(2, 3, 4), (4, 3, 2)], ([1, 2], [1, 0])),
    ([(2, 3, 4), (4, 2)], ([0, 2], [1, 0])),
    ([(3, 4), (4, 3)], (1, 0)),
    ([(2, 3, 4), (3,)], ([-2], [0])),
]


@pytest.mark.parametrize("name,f,g,shapes", BINARY, ids=[f"{c[0]}-{c[3]}" for c in BINARY])
def test_binary_products(name, f, g, shapes):
    _assert_values(f, g, _args(shapes, np.complex128))
    for dt in ALL_DTYPES:
        args = _args(shapes, dt)
        out = f(*args)
        assert np.asarray(out).dtype == np.dtype(dt)
        check(f, *args, order=2)


@pytest.mark.parametrize("shapes,axes", TENSORDOT, ids=[str(c) for c in TENSORDOT])
def test_tensordot_axes(shapes, axes):
    def f(a, b):
        return anp.tensordot(a, b, axes)

    _assert_values(f, lambda a, b: np.tensordot(a, b, axes), _args(shapes))
    check_all_dtypes(f, *_args(shapes), dtypes=ALL_DTYPES)


def test_operator_matmul_and_dot_method():
    x, y = _args([(2, 3), (3, 4)])
    check(lambda a, b: a @ b, x, y)
    check(lambda a, b: a.dot(b), x, y)
    g = ad.grad(lambda a: anp.sum(a @ y))(x)
    np.testing.assert_allclose(g, np.ones((2, 4)) @ y.T)


def test_vdot_conjugates_first_argument():
    a, b = _args([(3,), (3,)], np.complex128)
    assert np.allclose(anp.vdot(a, b), np.sum(np.conj(a) * b))
    # Gradients of real functions of z = x + iy are df/dx - i df/dy (JAX's convention).
    # Re(vdot(a, b)) = ax bx + ay by: in a that gives bx - i by = conj(b) ...
    ga = ad.grad(lambda a: anp.real(anp.vdot(a, b)))(a)
    np.testing.assert_allclose(ga, np.conj(b))
    # ... and in b, ax - i ay = conj(a).
    gb = ad.grad(lambda b: anp.real(anp.vdot(a, b)))(b)
    np.testing.assert_allclose(gb, np.conj(a))
    # matmul does not conjugate: Re(a @ b) = ax bx - ay by gives bx + i by = b.
    gm = ad.grad(lambda a: anp.real(anp.matmul(a, b)))(a)
    np.testing.assert_allclose(gm, b)


# ------------------------------------------------------------------ einsum
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("ijk->kji", [(2, 3, 2)]),
    ("ii->", [(3, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("abc,cd,de->abe", [(2, 2, 3), (3, 2), (2, 2)]),
    ("...i,...i->...", [(2, 3), (2, 3)]),
    ("i...->...", [(2, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ij,ij->ij", [(2, 1), (2, 3)]),
    ("ijj,jk->ik", [(2, 3, 3), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    (",ij->ij", [(), (2, 3)]),
    ("Ab,bC", [(2, 3), (3, 2)]),
    ("ik,jk->", [(2, 3), (2, 3)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_patterns(spec, shapes):
    def f(*ops):
        return anp.einsum(spec, *ops)

    _assert_values(f, lambda *ops: np.einsum(spec, *ops), _args(shapes, np.complex128))
    check_all_dtypes(f, *_args(shapes), dtypes=ALL_DTYPES)


def test_einsum_interleaved_and_dtype():
    a, b = _args([(2, 3), (3, 4)])
    got = anp.einsum(a, [0, 1], b, [1, 2], [0, 2])
    np.testing.assert_allclose(got, a @ b)
    got = anp.einsum(a, [Ellipsis, 1], b, [1, 2])
    np.testing.assert_allclose(got, np.einsum(a, [Ellipsis, 1], b, [1, 2]))
    check(lambda x, y: anp.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    out = anp.einsum("ij,jk", a.astype(np.float32), b.astype(np.float32))
    assert out.dtype == np.float32


def test_einsum_third_order_and_nested():
    a, b = _args([(3, 3), (3,)])
    check(lambda x: anp.einsum("ij,j,i->", x, b, b) * anp.einsum("ii", x), a, order=3)
    check(lambda x: anp.einsum("ii->i", anp.einsum("ij,jk->ik", x, x)), a, order=3)


# ------------------------------------------------------------------ diagonals and triangles
UNARY = [
    ("trace", lambda a: anp.trace(a), lambda a: np.trace(a), (3, 3)),
    ("trace-offset", lambda a: anp.trace(a, 1), lambda a: np.trace(a, 1), (3, 4)),
    ("trace-neg", lambda a: anp.trace(a, -1), lambda a: np.trace(a, -1), (3, 4)),
    (
        "trace-axes",
        lambda a: anp.trace(a, 0, 2, 0),
        lambda a: np.trace(a, 0, 2, 0),
        (3, 2, 3),
    ),
    ("trace-empty", lambda a: anp.trace(a, 5), lambda a: np.trace(a, 5), (2, 3)),
    ("diagonal", lambda a: anp.diagonal(a), lambda a: np.diagonal(a), (3, 4)),
    ("diagonal-k", lambda a: anp.diagonal(a, -1), lambda a: np.diagonal(a, -1), (3, 4)),
    (
        "diagonal-axes",
        lambda a: anp.diagonal(a, 1, -1, 0),
        lambda a: np.diagonal(a, 1, -1, 0),
        (3, 2, 4),
    ),
    ("diagonal-method", lambda a: a.diagonal(1), lambda a: a.diagonal(1), (3, 3)),
    ("trace-method", lambda a: a.trace(), lambda a: a.trace(), (3, 3)),
    ("diag-1d", lambda a: anp.diag(a), lambda a: np.diag(a), (3,)),
    ("diag-1d-k", lambda a: anp.diag(a, 2), lambda a: np.diag(a, 2), (3,)),
    ("diag-1d-negk", lambda a: anp.diag(a, -1), lambda a: np.diag(a, -1), (3,)),
    ("diag-2d", lambda a: anp.diag(a), lambda a: np.diag(a), (3, 4)),
    ("diag-2d-k", lambda a: anp.diag(a, -2), lambda a: np.diag(a, -2), (3, 4)),
    ("diagflat", lambda a: anp.diagflat(a, 1), lambda a: np.diagflat(a, 1), (2, 2)),
    ("triu", lambda a: anp.triu(a), lambda a: np.triu(a), (3, 4)),
    ("triu-k", lambda a: anp.triu(a, 1), lambda a: np.triu(a, 1), (3, 3)),
    ("triu-negk", lambda a: anp.triu(a, -1), lambda a: np.triu(a, -1), (2, 3, 3)),
    ("triu-1d", lambda a: anp.triu(a), lambda a: np.triu(a), (3,)),
    ("tril", lambda a: anp.tril(a), lambda a: np.tril(a), (3, 4)),
    ("tril-k", lambda a: anp.tril(a, 2), lambda a: np.tril(a, 2), (4, 3)),
    ("tril-batch", lambda a: anp.tril(a, -1), lambda a: np.tril(a, -1), (2, 3, 3)),
]


@pytest.mark.parametrize("name,f,g,shp", UNARY, ids=[u[0] for u in UNARY])
def test_unary_products(name, f, g, shp):
    _assert_values(f, g, [rand(shp, np.complex128)])
    check_all_dtypes(f, rand(shp), dtypes=ALL_DTYPES)


def test_diag_round_trip_closed_form():
    v = rand((3,))
    # grad of sum(diag(v) * W) = diagonal of W; grad of sum(diag(M)) = identity
    w = rand((3, 3), seed=5)
    np.testing.assert_allclose(ad.grad(lambda v: anp.sum(anp.diag(v) * w))(v), np.diag(w))
    m = rand((3, 3))
    np.testing.assert_allclose(ad.grad(lambda m: anp.sum(anp.diag(m)))(m), np.eye(3))
    np.testing.assert_allclose(ad.grad(lambda m: anp.einsum("ii", m))(m), np.eye(3))
    np.testing.assert_allclose(
        ad.grad(lambda m: anp.sum(anp.triu(m, 1)))(m), np.triu(np.ones((3, 3)), 1)
    )


def test_triu_keeps_int_and_float32_dtype():
    assert anp.triu(np.ones((3, 3), np.int64)).dtype == np.int64
    assert anp.tril(np.ones((3, 3), np.float32)).dtype == np.float32


# ------------------------------------------------------------------ vmap and Jacobians
VMAP = [
    ("matmul", anp.matmul, [(2, 3), (3, 2)]),
    ("matmul-vec", anp.matmul, [(3,), (3, 2)]),
    ("dot", anp.dot, [(2, 3), (3,)]),
    ("dot-nd", anp.dot, [(3,), (2, 3, 2)]),
    ("vdot", anp.vdot, [(2, 3), (2, 3)]),
    ("inner", anp.inner, [(2, 3), (3,)]),
    ("outer", anp.outer, [(2,), (3,)]),
    ("kron", anp.kron, [(2, 2), (2,)]),
    ("tensordot", lambda a, b: anp.tensordot(a, b, ([0], [1])), [(2, 3), (4, 2)]),
    ("einsum-mm", lambda a, b: anp.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    ("einsum-diag", lambda a, b: anp.einsum("ii,i->i", a, b), [(3, 3), (3,)]),
    ("einsum-ell", lambda a, b: anp.einsum("...i,i...->...", a, b), [(2, 3), (3, 2)]),
    ("trace", lambda a, b: anp.trace(a, 1) * b, [(3, 3), ()]),
    ("diagonal", lambda a, b: anp.diagonal(a, -1) + b, [(3, 3), (2,)]),
    ("diag-embed", lambda a, b: anp.diag(a, 1) * b, [(3,), ()]),
    ("triu", lambda a, b: anp.triu(a) + b, [(3, 3), ()]),
    ("tril", lambda a, b: anp.tril(a, -1) * b, [(2, 3), (3,)]),
]


@pytest.mark.parametrize("name,f,shapes", VMAP, ids=[v[0] for v in VMAP])
@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0), (1, 0)])
def test_vmap_matches_loop(name, f, shapes, in_axes):
    n = 4
    args = []
    for i, (s, ax) in enumerate(zip(shapes, in_axes, strict=True)):
        if ax is None:
            args.append(rand(s, seed=i + 3))
        else:
            ax = min(ax, len(s))
            args.append(np.moveaxis(rand((n,) + s, seed=i + 3), 0, ax))
    axes = tuple(
        None if ax is None else min(ax, len(s)) for ax, s in zip(in_axes, shapes, strict=True)
    )
    got = ad.vmap(f, in_axes=axes)(*args)
    want = np.stack(
        [
            np.asarray(
                f(
                    *[
                        a if ax is None else np.take(a, k, axis=ax)
                        for a, ax in zip(args, axes, strict=True)
                    ]
                )
            )
            for k in range(n)
        ]
    )
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


JAC = [
    ("einsum", lambda x: anp.einsum("ij,jk,ki->i", x, x, x)),
    ("trace-diag", lambda x: anp.diag(x) * anp.trace(x @ x)),
    ("kron", lambda x: anp.kron(x, anp.triu(x))),
    ("tensordot", lambda x: anp.tensordot(x, anp.tril(x), ([0], [1]))),
    ("inner-outer", lambda x: anp.inner(anp.outer(x[0], x[1]), x)),
]


@pytest.mark.parametrize("name,f", JAC, ids=[j[0] for j in JAC])
def test_jacfwd_matches_jacrev(name, f):
    x = rand((3, 3))
    jf = np.asarray(ad.jacfwd(f)(x))
    jr = np.asarray(ad.jacrev(f)(x))
    np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)
    eps = 1e-6
    e = np.zeros_like(x)
    e[1, 2] = eps
    fd = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    np.testing.assert_allclose(jf[..., 1, 2], fd, rtol=1e-6, atol=1e-6)


def test_hessian_of_quadratic_form():
    a = rand((3, 3))
    h = ad.hessian(lambda x: anp.einsum("i,ij,j->", x, a, x))(rand((3,)))
    np.testing.assert_allclose(h, a + a.T, rtol=1e-12)


# ------------------------------------------------------------------ errors
ERRORS = [
    (lambda: anp.matmul(np.ones((2, 3)), np.ones((4, 2))), ["matmul", "(2, 3)", "(4, 2)"]),
    (
        lambda: anp.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 2))),
        ["matmul", "broadcast", "(2, 2, 3)", "(3, 3, 2)"],
    ),
    (lambda: anp.matmul(1.0, np.ones(2)), ["matmul", "scalar"]),
    (lambda: anp.dot(np.ones((2, 3)), np.ones((2, 3))), ["dot", "(2, 3)"]),
    (lambda: anp.vdot(np.ones(3), np.ones(4)), ["vdot", "(3,)", "(4,)"]),
    (lambda: anp.inner(np.ones(3), np.ones(4)), ["inner", "(3,)", "(4,)"]),
    (lambda: anp.tensordot(np.ones((2, 3)), np.ones((2, 3)), 1), ["tensordot", "(2, 3)"]),
    (lambda: anp.tensordot(np.ones(2), np.ones(2), ([0], [0, 1])), ["tensordot"]),
    (lambda: anp.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2))), ["einsum", "'j'"]),
    (lambda: anp.einsum("ij->k", np.ones((2, 3))), ["einsum", "'k'"]),
    (lambda: anp.einsum("ij", np.ones(3)), ["einsum", "(3,)"]),
    (lambda: anp.einsum("i,i", np.ones(3)), ["einsum", "2 operands"]),
    (lambda: anp.einsum("...i->i", np.ones((2, 3))), ["einsum", "..."]),
    (lambda: anp.einsum("i-j", np.ones((2, 3))), ["einsum", "invalid"]),
    (lambda: anp.diagonal(np.ones(3)), ["diagonal", "(3,)"]),
    (lambda: anp.diagonal(np.ones((3, 3)), 0, 1, 1), ["diagonal", "differ"]),
    (lambda: anp.diag(np.ones((2, 2, 2))), ["diag", "(2, 2, 2)"]),
    (lambda: anp.triu(np.float64(1.0)), ["triu"]),
]


@pytest.mark.parametrize("call,words", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_operation_and_shapes(call, words):
    with pytest.raises(OpError) as exc:
        call()
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_large_operands_keep_only_what_the_rules_read():
    # Arrays over the engine's residual-dropping size: each rule must read only the
    # residuals its primitive declares (a stand-in has no values).
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((20, 20)), rng.standard_normal((20, 20))
    g = ad.grad(lambda w: anp.sum(anp.sin(x @ w)))(w)
    np.testing.assert_allclose(g, x.T @ np.cos(x @ w))
    g = ad.grad(lambda x: anp.sum(anp.sin(x @ w)))(x)
    np.testing.assert_allclose(g, np.cos(x @ w) @ w.T)
    g = ad.grad(lambda w: anp.sum(anp.sin(anp.diagonal(w, 1))))(w)
    np.testing.assert_allclose(g, np.diag(np.cos(np.diagonal(w, 1)), 1))
    g = ad.grad(lambda v: anp.sum(anp.sin(anp.diag(v) @ x)))(w[0])
    np.testing.assert_allclose(g, np.sum(np.cos(np.diag(w[0]) @ x) * x, axis=1))
    check(lambda a, b: anp.einsum("ij,jk->ik", a, b) @ b, x, w, order=2)
