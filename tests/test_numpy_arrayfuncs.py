"""Functional writers, appliers, index helpers, conversions, emath, random and the
re-exported NumPy objects: values equal NumPy's, derivatives checked against finite
differences in both modes to second order (through jit, and vmap where it applies)."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads

COVERED = {f"numpy.{n}" for n in [
    "fill_diagonal", "put", "put_along_axis", "place", "putmask", "copyto", "resize",
    "apply_along_axis", "apply_over_axes", "fromfunction", "vectorize", "indices",
    "diag_indices", "diag_indices_from", "tril_indices", "tril_indices_from", "triu_indices",
    "triu_indices_from", "mask_indices", "ravel_multi_index", "unravel_index", "ndenumerate",
    "array_equiv", "asarray_chkfinite", "asfortranarray", "require", "isfortran",
    "may_share_memory", "shares_memory", "einsum_path", "broadcast", "packbits", "unpackbits",
]}  # fmt: skip


@pytest.fixture
def extra():
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.add("jit")
    yield test_util.EXTRA_CHECKS
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


R = np.random.default_rng(0)
A = R.normal(size=(3, 4))


# ----------------------------------------------------------------- writers
@pytest.mark.parametrize(
    "shape,wrap",
    [((3, 3), False), ((5, 3), False), ((5, 3), True), ((3, 5), False), ((2, 2, 2), False)],
)
def test_fill_diagonal(shape, wrap, extra):
    a = R.normal(size=shape)
    want = a.copy()
    np.fill_diagonal(want, [7.0, 8.0], wrap=wrap)
    np.testing.assert_array_equal(anp.fill_diagonal(a, [7.0, 8.0], wrap, inplace=False), want)
    extra.add("vmap")
    check_grads(
        lambda x, v: anp.fill_diagonal(x, v, wrap, inplace=False),
        (a, np.array([1.0, 2.0])),
        order=2,
    )


def test_writers_in_place_on_numpy_and_refused_on_traced():
    a = np.eye(3)
    assert anp.fill_diagonal(a, 5.0) is None
    np.testing.assert_array_equal(np.diag(a), [5.0, 5.0, 5.0])
    for call in [
        lambda q: anp.fill_diagonal(q, 3.0),
        lambda q: anp.put(q, [0], 1.0),
        lambda q: anp.place(q, q > 0, [1.0]),
        lambda q: anp.putmask(q, q > 0, 1.0),
        lambda q: anp.put_along_axis(q, np.zeros((3, 1), int), 1.0, 1),
        lambda q: anp.copyto(q, 1.0),
    ]:
        with pytest.raises(TypeError, match="immutable"):
            ad.grad(lambda q: anp.sum(call(q)))(np.eye(3))
    d = np.zeros(3)
    anp.copyto(d, np.array([1.0, 2.0, 3.0]), where=np.array([True, False, True]))
    np.testing.assert_array_equal(d, [1.0, 0.0, 3.0])


@pytest.mark.parametrize(
    "ind,v,mode",
    [
        ([1, -1, 5, 1], [9.0, 8.0], "raise"),
        ([1, 20], [9.0], "clip"),
        ([13, -2], [9.0, 8.0], "wrap"),
    ],
)
def test_put(ind, v, mode, extra):
    want = A.copy()
    np.put(want, ind, v, mode=mode)
    np.testing.assert_array_equal(anp.put(A, ind, v, mode=mode, inplace=False), want)
    check_grads(
        lambda x, w: anp.put(x, ind, w, mode=mode, inplace=False), (A, np.array(v)), order=2
    )
    with pytest.raises(IndexError):
        anp.put(A, [12], 1.0, inplace=False)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_put_along_axis(axis, extra):
    idx = np.argmax(A, axis=axis, keepdims=axis is not None)
    if axis is None:
        idx = np.array([int(idx)])
    want = A.copy()
    np.put_along_axis(want, idx, 99.0, axis)
    np.testing.assert_array_equal(anp.put_along_axis(A, idx, 99.0, axis, inplace=False), want)
    extra.add("vmap")
    check_grads(
        lambda x, v: anp.put_along_axis(x, idx, v, axis, inplace=False),
        (A, np.ones(idx.shape)),
        order=2,
    )


def test_place_putmask(extra):
    m = A > 0
    want = A.copy()
    np.place(want, m, [1.0, 2.0])
    np.testing.assert_array_equal(anp.place(A, m, [1.0, 2.0], inplace=False), want)
    want = A.copy()
    np.putmask(want, m, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(anp.putmask(A, m, [1.0, 2.0, 3.0], inplace=False), want)
    extra.add("vmap")
    check_grads(lambda x, v: anp.place(x, m, v, inplace=False), (A, np.ones(2)), order=2)
    check_grads(lambda x, v: anp.putmask(x, m, v, inplace=False), (A, np.ones(3)), order=2)


@pytest.mark.parametrize("new_shape", [(2, 7), 5, (0,), (4,), (3, 4, 2)])
def test_resize(new_shape, extra):
    np.testing.assert_array_equal(anp.resize(A, new_shape), np.resize(A, new_shape))
    extra.add("vmap")
    check_grads(lambda x: anp.resize(x, new_shape), (A,), order=2)


# ----------------------------------------------------------------- appliers
def test_apply_along_axis(extra):
    x3 = R.normal(size=(2, 3, 4))
    for axis in [0, 1, 2]:
        got = anp.apply_along_axis(lambda r: anp.outer(r, r), axis, x3)
        np.testing.assert_allclose(got, np.apply_along_axis(lambda r: np.outer(r, r), axis, x3))
        got = anp.apply_along_axis(anp.sum, axis, x3)
        np.testing.assert_allclose(got, np.apply_along_axis(np.sum, axis, x3))
    extra.add("vmap")
    check_grads(lambda q: anp.apply_along_axis(lambda r: anp.cumsum(r**2), 0, q), (A,), order=2)


def test_apply_over_axes_and_fromfunction(extra):
    x3 = R.normal(size=(2, 3, 4))
    np.testing.assert_allclose(
        anp.apply_over_axes(anp.sum, x3, [0, 2]), np.apply_over_axes(np.sum, x3, [0, 2])
    )
    extra.add("vmap")
    check_grads(lambda q: anp.apply_over_axes(anp.mean, q, (0, 1)), (x3,), order=2)
    f = lambda i, j: i + 2 * j  # noqa: E731
    np.testing.assert_array_equal(anp.fromfunction(f, (2, 3)), np.fromfunction(f, (2, 3)))
    g = ad.grad(lambda s: anp.sum(anp.fromfunction(lambda i, j: s * i * j, (3, 3))))(2.0)
    assert g == 9.0  # sum of i * j over 0..2 squared


def test_vectorize(extra):
    def f(x, y):
        return x * y if x > 0 else y

    want = np.vectorize(f)(A, 2.0)
    np.testing.assert_array_equal(anp.vectorize(f)(A, 2.0), want)
    check_grads(lambda q: anp.vectorize(f)(q, 3.0), (A,), order=2)
    two = anp.vectorize(lambda x: (x, x**2), otypes=[float, float])(np.arange(3))
    np.testing.assert_array_equal(two[1], [0.0, 1.0, 4.0])
    ex = anp.vectorize(lambda x, p: anp.polyval(p, x), excluded={1})
    np.testing.assert_allclose(ex(np.arange(3.0), np.array([1.0, 0.0])), [0.0, 1.0, 2.0])
    with pytest.raises(OpError, match="signature"):
        anp.vectorize(f, signature="(),()")


def test_vectorize_with_signature(extra):
    x, m = R.normal(size=(5, 3)), R.normal(size=(2, 3, 3))
    dot = anp.vectorize(lambda a, b: anp.dot(a, b), signature="(n),(n)->()")
    np.testing.assert_allclose(dot(x, x[0]), np.vectorize(np.dot, signature="(n),(n)->()")(x, x[0]))
    two = "(n,n),(n)->(n),()"
    got = anp.vectorize(lambda a, v: (a @ v, anp.sum(v)), signature=two)(m, x[:2, None, :])
    want = np.vectorize(lambda a, v: (a @ v, np.sum(v)), signature=two)(m, x[:2, None, :])
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w)
    extra.add("vmap")
    check_grads(lambda a: dot(a, x[0]), (x,), order=2)
    with pytest.raises(OpError, match="core dimension 'n'"):
        dot(x, np.ones(4))
    with pytest.raises(OpError, match="2 inputs"):
        dot(x)


# ----------------------------------------------------------------- index helpers
def test_index_helpers():
    np.testing.assert_array_equal(anp.indices((2, 3)), np.indices((2, 3)))
    for got, want in [
        (anp.diag_indices(3, 3), np.diag_indices(3, 3)),
        (anp.diag_indices_from(np.ones((4, 4))), np.diag_indices_from(np.ones((4, 4)))),
        (anp.tril_indices(4, -1, 5), np.tril_indices(4, -1, 5)),
        (anp.triu_indices(3, 1), np.triu_indices(3, 1)),
        (anp.tril_indices_from(A, 1), np.tril_indices_from(A, 1)),
        (anp.triu_indices_from(A), np.triu_indices_from(A)),
        (anp.mask_indices(3, anp.triu, 1), np.mask_indices(3, np.triu, 1)),
        (
            anp.ravel_multi_index(([1, 2], [0, 3]), (3, 4)),
            np.ravel_multi_index(([1, 2], [0, 3]), (3, 4)),
        ),
        (
            anp.ravel_multi_index(([1, 5], [0, 3]), (3, 4), mode="wrap"),
            np.ravel_multi_index(([1, 5], [0, 3]), (3, 4), mode="wrap"),
        ),
        (anp.unravel_index([5, 7], (3, 4), order="F"), np.unravel_index([5, 7], (3, 4), order="F")),
    ]:
        for g, w in zip(
            got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want]
        ):
            np.testing.assert_array_equal(g, w)
    assert list(anp.ndenumerate(np.arange(4).reshape(2, 2))) == list(
        np.ndenumerate(np.arange(4).reshape(2, 2))
    )
    got = ad.vmap(lambda i: anp.unravel_index(i, (3, 4))[1])(np.array([5, 7]))
    np.testing.assert_array_equal(got, [1, 3])
    with pytest.raises(OpError, match="2-d"):
        anp.tril_indices_from(np.ones(3))


def test_broadcast_object():
    b = anp.broadcast(np.ones((2, 1)), np.arange(3))
    nb = np.broadcast(np.ones((2, 1)), np.arange(3))
    assert (b.shape, b.size, b.nd, b.ndim, b.numiter) == (
        nb.shape,
        nb.size,
        nb.nd,
        nb.ndim,
        nb.numiter,
    )
    assert [tuple(map(float, t)) for t in b] == [tuple(map(float, t)) for t in nb]


# ----------------------------------------------------------------- checks and conversions
def test_checks_and_conversions():
    assert anp.array_equiv([1, 2], [[1, 2], [1, 2]]) and not anp.array_equiv([1, 2], [1, 3])
    assert not anp.array_equiv([1, 2], [1, 2, 3])
    np.testing.assert_array_equal(anp.asarray_chkfinite([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(ValueError, match="infs or NaNs"):
        anp.asarray_chkfinite([1.0, np.inf])
    with pytest.raises(ValueError, match="infs or NaNs"), np.errstate(divide="ignore"):
        ad.grad(lambda q: anp.sum(anp.asarray_chkfinite(q / 0.0)))(np.ones(2))
    assert anp.asfortranarray(A).flags.f_contiguous
    assert anp.require(A, requirements="F").flags.f_contiguous
    assert anp.isfortran(np.asfortranarray(A)) and not anp.isfortran(A)
    assert anp.may_share_memory(A, A[1:]) and anp.shares_memory(A, A[1:])
    g = ad.grad(lambda q: anp.sum(q) * anp.may_share_memory(q, A))(A)
    np.testing.assert_array_equal(g, 0.0)
    path = anp.einsum_path("ij,jk,kl->il", A, A.T, A)
    assert path == np.einsum_path("ij,jk,kl->il", A, A.T, A)
    ad.grad(lambda q: anp.sum(q) + len(anp.einsum_path("ij,jk->ik", q, q.T)[0]))(A)
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.uint8)
    for axis in [None, 0, 1]:
        np.testing.assert_array_equal(anp.packbits(x, axis=axis), np.packbits(x, axis=axis))
        np.testing.assert_array_equal(
            anp.packbits(x, axis, "little"), np.packbits(x, axis, "little")
        )
    p = np.packbits(x)
    np.testing.assert_array_equal(anp.unpackbits(p, count=5), np.unpackbits(p, count=5))


# ----------------------------------------------------------------- emath, random, NumPy's objects
@pytest.mark.parametrize("name", ["sqrt", "log", "log2", "log10", "arccos", "arcsin", "arctanh"])
def test_emath(name):
    for x in [np.array([-4.0, 0.5, 2.0]), np.array([0.1, 0.5, 0.9])]:
        with np.errstate(divide="ignore"):
            got, want = getattr(anp.emath, name)(x), getattr(np.emath, name)(x)
        np.testing.assert_allclose(got, want, rtol=1e-14)
        assert got.dtype == want.dtype
    x = np.array([-4.0, 0.3, 0.6])
    check_grads(lambda q: anp.real(getattr(anp.emath, name)(q)), (x,), order=2)
    np.testing.assert_allclose(anp.emath.logn(2, x), np.emath.logn(2, x))
    np.testing.assert_allclose(anp.emath.power(x, 0.5), np.emath.power(x, 0.5))


def test_random_is_numpys():
    assert anp.random.default_rng is np.random.default_rng
    np.testing.assert_array_equal(
        anp.random.RandomState(3).normal(size=3), np.random.RandomState(3).normal(size=3)
    )
    # reparameterised: the sample is a constant, the derivative flows through loc and scale
    eps = anp.random.default_rng(0).standard_normal(4)
    g = ad.grad(lambda s: anp.sum(1.0 + s * eps))(2.0)
    np.testing.assert_allclose(g, eps.sum())
    with pytest.raises(TypeError, match="traced"):
        ad.grad(lambda m: anp.random.normal(m))(1.0)


def test_numpy_objects_and_error_state():
    for name in [
        "float64",
        "int_",
        "intc",
        "errstate",
        "finfo",
        "iinfo",
        "s_",
        "index_exp",
        "mgrid",
        "ogrid",
        "newaxis",
        "pi",
        "e",
        "inf",
        "nan",
        "dtypes",
        "ndindex",
        "broadcast_shapes",
    ]:
        assert getattr(anp, name) is getattr(np, name), name
    assert anp.__version__ == np.__version__
    with anp.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            anp.log(np.zeros(1))
    old = anp.seterr(all="ignore")
    try:
        assert anp.geterr()["divide"] == "ignore"
    finally:
        anp.seterr(**old)
    np.testing.assert_array_equal(anp.r_[anp.s_[0:3]], np.arange(3))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        ad.grad(lambda q: anp.sum(q[anp.ix_([0, 1], [2])]))(x), [[0, 0, 1], [0, 0, 1]]
    )


def test_numpy_calls_on_traced_values_reach_the_new_functions():
    # np.f(tracer) dispatches to adgraph.numpy.f (NumPy's __array_function__ protocol)
    g = ad.grad(lambda x: np.sum(np.unique(x) ** 2))(np.array([3.0, 1.0, 3.0]))
    np.testing.assert_array_equal(g, [6.0, 2.0, 0.0])
    g = ad.grad(lambda w: np.sum(np.histogram(np.arange(5.0), bins=2, weights=w)[0] * [1.0, 2.0]))(
        np.ones(5)
    )
    np.testing.assert_array_equal(g, [1.0, 1.0, 2.0, 2.0, 2.0])
    g = ad.grad(lambda x: np.sum(np.frexp(x)[0]))(np.array([3.0, 12.0]))
    np.testing.assert_array_equal(g, [0.25, 1 / 16])
    # numpy.emath keeps its complex branch on traced values
    g = ad.grad(lambda x: np.sum(np.imag(np.emath.sqrt(x))))(np.array([-4.0, 1.0]))
    np.testing.assert_allclose(g, [-0.25, 0.0])
