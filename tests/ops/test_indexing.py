"""Indexing: getitem (basic, advanced, boolean), the ``.at`` updates, take, sort, nonzero.

Values are compared with NumPy; derivatives with finite differences (orders 1 and 2, both
modes); batching rules with a Python loop over the batch, for many index patterns.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops.indexing.index import _index_layout, split_index
from tests.ops.harness import check, check_all_dtypes, rand

COVERED = {
    "numpy.getitem",
    "numpy.scatter_add",
    "numpy.nonzero",
    "numpy.at",
    "numpy.take",
    "numpy.take_along_axis",
    "numpy.sort",
    "numpy.argsort",
    "numpy.argwhere",
    "numpy.flatnonzero",
}

X = rand((4, 5, 6), seed=1)
MASK_01 = X[:, :, 0] > 0  # (4, 5)
# Well-separated values, so finite differences never cross a reordering of sort.
XS = np.random.default_rng(2).permutation(np.linspace(-2.0, 2.0, 120)).reshape(4, 5, 6)
MASK_2 = X[0, 0] > 0  # (6,)

# Index patterns for an array of shape (4, 5, 6).
PATTERNS = [
    (0,),
    (-1, 2),
    (slice(1, 3),),
    (slice(None, None, -1),),
    (slice(3, 0, -2), slice(None), slice(None, None, 2)),
    (Ellipsis, 1),
    (Ellipsis, None, slice(1, 4)),
    (None, 1, None),
    (Ellipsis,),
    ((),),
    ([0, 2],),
    ([3, 3, 0],),
    (slice(None), [1, 1, 4], 3),
    (slice(None), [0, 1], Ellipsis, [0, 1]),  # empty Ellipsis separates: dims move first
    ([0, 1], slice(None), [2, 3]),
    ([0, 1], None, [2, 3]),
    (np.array([[0], [1]]), slice(None), np.array([1, 2, 3])),
    (slice(None), np.array([[0, 1], [2, 3]]), np.array([[1], [5]])),
    (1, slice(None), [0, 5]),
    (slice(1, 3), [2, 4], [0, 5]),
    (Ellipsis, [0, -1]),
    (np.array([-1, 0]), Ellipsis, slice(None, None, -1)),
    (MASK_01,),
    (slice(None), slice(None), MASK_2),
    (MASK_01, np.arange(int(MASK_01.sum())) % 6),
    (X > 0.5,),
    (None, MASK_01, slice(2, 4)),
    (slice(None), [True, False, True, True, False]),
]


def _ids(p):
    return repr(p)[:40]


@pytest.mark.parametrize("idx", PATTERNS, ids=_ids)
def test_getitem_value_and_grads(idx):
    got = anp.getitem(X, idx)
    assert np.array_equal(got, X[idx])

    def f(x):
        return x[idx] if False else anp.getitem(x, idx)

    check(f, X, order=2)


@pytest.mark.parametrize("idx", PATTERNS[::3], ids=_ids)
def test_getitem_float32_and_complex(idx):
    check_all_dtypes(lambda x: anp.getitem(x, idx), X)
    z = rand((4, 5, 6), np.complex128, seed=2)
    check(lambda x: anp.getitem(x, idx), z, order=1)


def test_traced_getitem_syntax_and_repeats():
    # x[idx] on a traced array; repeated indices accumulate in the gradient.
    x = np.arange(5.0)
    g = ad.grad(lambda x: anp.sum(x[np.array([0, 0, 3])] ** 2))(x)
    assert np.allclose(g, [0.0, 0, 0, 6, 0])
    g = ad.grad(lambda x: anp.sum(x[x > 2.5] * 3.0))(x)
    assert np.allclose(g, [0, 0, 0, 3, 3])
    g = ad.grad(lambda x: x[[1, 1, 1]].sum())(x)
    assert np.allclose(g, [0, 3, 0, 0, 0])


@pytest.mark.parametrize("idx", PATTERNS, ids=_ids)
def test_getitem_vmap_over_x(idx):
    xb = np.stack([X, 2 * X + 1, -X])
    got = ad.vmap(lambda x: anp.getitem(x, idx))(xb)
    ref = np.stack([x[idx] for x in xb])
    assert got.shape == ref.shape
    assert np.array_equal(got, ref)


# Patterns with batched index arrays: (builder(i) -> index, batched index array of B rows).
_I2 = np.array([[0, 3], [1, 1], [3, 0]])  # three examples of a (2,) index into size >= 4
_I22 = np.array([[[0, 1], [2, 3]], [[3, 3], [0, 0]], [[1, 2], [1, 2]]])
_I0 = np.array([2, 0, 3])  # a batched scalar index
BATCHED_INDEX = [
    (lambda i: (i,), _I2),
    (lambda i: (i,), _I22),
    (lambda i: (i,), _I0),
    (lambda i: (slice(None), i), _I2),
    (lambda i: (slice(None), i), _I0),
    (lambda i: (slice(None), i, Ellipsis, [0, 1]), _I2),
    (lambda i: (slice(None), i, [0, 1]), _I2),
    (lambda i: (slice(None), [0, 4], i), _I2),
    (lambda i: (i, slice(None), [2, 3]), _I2),
    (lambda i: (i, None, [2, 3]), _I2),
    (lambda i: (1, slice(1, None, -1), i), _I2),
    (lambda i: (slice(None), 2, i), _I22),
    (lambda i: (Ellipsis, i), _I2),
    (lambda i: (None, i, slice(None, None, -2)), _I22),
    (lambda i: (slice(1, 3), i, 0), _I0),
    (lambda i: (np.array([[0], [1]]), slice(None), i), _I2),
    (lambda i: (slice(None), np.array([[0], [4]]), i), _I22),
    (lambda i: (i, i), _I2),
    (lambda i: (MASK_01, i[:1]), _I2),
]


@pytest.mark.parametrize("k", range(len(BATCHED_INDEX)))
def test_getitem_vmap_batched_index(k):
    build, ib = BATCHED_INDEX[k]
    xb = np.stack([X + j for j in range(len(ib))])
    ref = np.stack([xj[build(ij)] for xj, ij in zip(xb, ib, strict=True)])
    got = ad.vmap(lambda x, i: anp.getitem(x, build(i)))(xb, ib)
    assert got.shape == ref.shape and np.array_equal(got, ref)
    ref = np.stack([X[build(ij)] for ij in ib])
    got = ad.vmap(lambda i: anp.getitem(X, build(i)))(ib)
    assert got.shape == ref.shape and np.array_equal(got, ref)
    # jacobians go through the batching rules of getitem and of its transpose
    jr = ad.jacrev(lambda x: anp.getitem(x, build(ib[0])))(X)
    jf = ad.jacfwd(lambda x: anp.getitem(x, build(ib[0])))(X)
    assert np.array_equal(jr, jf)


def test_index_layout_matches_numpy():
    for idx in PATTERNS:
        skel, arrays = split_index(idx)
        layout = _index_layout(skel, [a.shape for a in arrays], X.shape)
        before, bcast, after, adjacent = layout
        want = before + bcast + after if adjacent else bcast + before + after
        assert want == X[idx].shape, idx


def test_vmap_traced_mask_loops():
    xb = np.stack([X, X])
    got = ad.vmap(lambda x: x[x[..., 0] > 10.0])(xb)  # empty for every example
    assert got.shape == (2, 0, 6)
    got = ad.vmap(lambda x: x[anp.abs(x) >= 0.0])(xb)  # all elements
    assert np.array_equal(got, xb.reshape(2, -1))


def test_setitem_on_traced_raises():
    def f(x):
        x[0] = 1.0
        return x

    with pytest.raises(TypeError, match=r"\.at\[idx\]\.set"):
        ad.grad(lambda x: f(x).sum())(np.ones(3))


# ------------------------------------------------------------------ .at updates
UPDATES = [
    ((1,), rand((5, 6), seed=3)),
    ((slice(None), 2), rand((4, 6), seed=4)),
    ((slice(None), [0, 3], 1), rand((4, 2), seed=5)),
    (([0, 2], slice(None), [1, 5]), rand((2, 5), seed=6)),
    ((MASK_01,), rand((int(MASK_01.sum()), 6), seed=7)),
    ((Ellipsis, slice(None, None, -2)), rand((3,), seed=8)),  # broadcast values
    ((slice(None), [1, 3]), np.float64(0.7)),
]


@pytest.mark.parametrize("method", ["set", "add", "multiply", "min", "max", "get"])
@pytest.mark.parametrize("k", range(len(UPDATES)))
def test_at_updates(method, k):
    idx, v = UPDATES[k]
    ops = {
        "set": lambda a, v: _np_set(a, idx, v),
        "add": lambda a, v: _np_ufunc_at(np.add, a, idx, v),
        "multiply": lambda a, v: _np_ufunc_at(np.multiply, a, idx, v),
        "min": lambda a, v: _np_ufunc_at(np.minimum, a, idx, v),
        "max": lambda a, v: _np_ufunc_at(np.maximum, a, idx, v),
        "get": lambda a, v: a[idx],
    }
    if method == "get":
        f = lambda x, v: anp.at(x)[idx].get()  # noqa: E731
    else:
        f = lambda x, v: getattr(anp.at(x)[idx], method)(v)  # noqa: E731
    assert np.allclose(f(X, v), ops[method](X, v))
    check(f, X, v, order=2)
    if k in (0, 3):
        check_all_dtypes(f, X, v, order=1)


def _np_set(a, idx, v):
    a = a.copy()
    a[idx] = v
    return a


def _np_ufunc_at(uf, a, idx, v):
    a = a.copy()
    skel, arrays = split_index(idx)
    from adgraph.ops.indexing.index import join_index

    uf.at(a, join_index(skel, arrays), v)
    return a


def test_at_on_traced_values_and_complex():
    idx = (slice(None), [0, 2])

    def f(x, v):
        y = anp.at(x)[idx].set(v * x[:, :2])
        return (y**2).sum() + anp.prod(anp.at(x)[1].add(anp.sum(v)))

    v = rand((4, 2), seed=9)
    x = rand((4, 3), seed=10)
    check(f, x, v, order=2)
    z = rand((4, 3), np.complex128, seed=11)
    w = rand((4, 2), np.complex128, seed=12)
    check(lambda z, w: anp.at(z)[idx].set(w), z, w, order=2)
    check(lambda z, w: anp.at(z)[idx].add(w * z[:, 1:]), z, w, order=2)
    check(lambda z, w: anp.at(z)[idx].multiply(w), z, w, order=2)
    # the .at property of traced arrays
    g = ad.grad(lambda x: (x.at[0].set(3.0) * x).sum())(np.ones(3))
    assert np.array_equal(g, [3.0, 2.0, 2.0])


def test_set_repeated_indices_last_wins():
    x = np.zeros(4)
    v = np.array([1.0, 2.0, 3.0])
    idx = np.array([1, 1, 2])
    y = anp.at(x)[idx].set(v)
    assert np.array_equal(y, [0, 2, 3, 0])  # NumPy: the last write wins
    # only the surviving write gets a derivative; x gets none where it was overwritten
    gx, gv = ad.grad(lambda x, v: (anp.at(x)[idx].set(v) * np.arange(1.0, 5.0)).sum(), (0, 1))(x, v)
    assert np.array_equal(gv, [0, 2, 3])
    assert np.array_equal(gx, [1, 0, 0, 4])
    # a broadcast scalar written twice is counted once
    g = ad.grad(lambda s: anp.at(x)[idx].set(s).sum())(1.5)
    assert g == 2.0
    check(lambda x, v: anp.at(x)[idx].set(v), x, v, order=2)


def test_add_multiply_repeated_indices():
    x = np.array([2.0, 3.0, 5.0])
    idx = np.array([0, 0, 2, 0])
    v = np.array([1.5, -2.0, 0.5, 3.0])
    assert np.allclose(anp.at(x)[idx].add(v), [4.5, 3.0, 5.5])
    y = anp.at(x)[idx].multiply(v)
    assert np.allclose(y, [2.0 * 1.5 * -2.0 * 3.0, 3.0, 2.5])
    check(lambda x, v: anp.at(x)[idx].multiply(v), x, v, order=2)
    check(lambda x, v: anp.at(x)[idx].add(v), x, v, order=2)
    # exact at zero updates: d/dv_k prod = product of the others
    v0 = np.array([0.0, -2.0, 0.5, 3.0])
    g = ad.grad(lambda v: anp.at(x)[idx].multiply(v)[0])(v0)
    assert np.allclose(g, [2.0 * -2.0 * 3.0, 0.0, 0.0, 0.0])
    v00 = np.array([0.0, 0.0, 0.5, 3.0])
    g = ad.grad(lambda v: anp.at(x)[idx].multiply(v)[0])(v00)
    assert np.allclose(g, 0.0)
    check(lambda x, v: anp.at(x)[idx].multiply(v), x, v0, order=2)


def test_min_max_ties_split_evenly():
    x = np.array([1.0, 5.0, 2.0])
    idx = np.array([0, 1, 1])
    v = np.array([1.0, 3.0, 4.0])
    y = anp.at(x)[idx].min(v)
    assert np.array_equal(y, [1.0, 3.0, 2.0])
    gx, gv = ad.grad(lambda x, v: anp.at(x)[idx].min(v).sum(), (0, 1))(x, v)
    assert np.allclose(gx, [0.5, 0.0, 1.0]) and np.allclose(gv, [0.5, 1.0, 0.0])
    gx, gv = ad.grad(lambda x, v: anp.at(x)[idx].max(v).sum(), (0, 1))(x, v)
    assert np.allclose(gx, [0.5, 1.0, 1.0]) and np.allclose(gv, [0.5, 0.0, 0.0])


def test_subtract_divide():
    x = rand((3, 4), seed=13)
    v = rand((3,), seed=14, low=1.0, high=2.0)
    idx = (slice(None), 1)
    ref = x.copy()
    ref[:, 1] -= v
    assert np.allclose(anp.at(x)[idx].subtract(v), ref)
    ref = x.copy()
    ref[:, 1] /= v
    assert np.allclose(anp.at(x)[idx].divide(v), ref)
    check(lambda x, v: anp.at(x)[idx].divide(v), x, v, order=2)
    with pytest.raises(ValueError, match="mode"):
        anp.at(x)[idx].set(v, mode="wrap")


@pytest.mark.parametrize("method", ["set", "add", "multiply", "min", "max"])
def test_at_vmap(method):
    rng = np.random.default_rng(15)
    xb = rng.standard_normal((3, 4, 5))
    vb = rng.standard_normal((3, 4, 2))
    ib = np.array([[0, 4], [1, 1], [3, 2]])

    def np_f(x, v, i):
        if method == "set":
            return _np_set(x, (slice(None), i), v)
        uf = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}
        return _np_ufunc_at(uf[method], x, (slice(None), i), v)

    def g(x, v, i):
        return getattr(anp.at(x)[:, i], method)(v)

    for axes in [(0, 0, 0), (0, None, None), (None, 0, None), (None, None, 0), (0, 0, None)]:
        args = [xb, vb, ib]
        got = ad.vmap(g, in_axes=axes)(
            *[a if ax == 0 else a[0] for a, ax in zip(args, axes, strict=True)]
        )
        ref = np.stack(
            [
                np_f(*[a[b] if ax == 0 else a[0] for a, ax in zip(args, axes, strict=True)])
                for b in range(3)
            ]
        )
        assert np.allclose(got, ref), axes
    # separated advanced indices (dims move first) with batched values
    got = ad.vmap(lambda x, v: getattr(anp.at(x)[[0, 1], :, [2, 3]], method)(v))(
        xb.reshape(3, 2, 2, 5), vb[:, :2, :2]
    )
    ref = np.stack(
        [np_f_sep(method, x, v) for x, v in zip(xb.reshape(3, 2, 2, 5), vb[:, :2, :2], strict=True)]
    )
    assert np.allclose(got, ref)
    # the jacobian of an update (vmap of its forward and reverse rules)
    x0, v0 = xb[0], vb[0]
    jf = ad.jacfwd(lambda x, v: g(x, v, ib[1]), argnums=(0, 1))(x0, v0)
    jr = ad.jacrev(lambda x, v: g(x, v, ib[1]), argnums=(0, 1))(x0, v0)
    for a, b in zip(jf, jr, strict=True):
        assert np.allclose(a, b)


def np_f_sep(method, x, v):
    idx = ([0, 1], slice(None), [2, 3])
    if method == "set":
        return _np_set(x, idx, v)
    uf = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}
    return _np_ufunc_at(uf[method], x, idx, v)


# ------------------------------------------------------------------ take / sort
@pytest.mark.parametrize(
    "indices,axis,mode",
    [
        ([0, 2, 2], None, None),
        (np.array([[1, 0], [4, 4]]), 1, None),
        (3, -1, None),
        ([7, -8, 1], 0, "wrap"),
        ([7, -8, 1], 2, "clip"),
    ],
)
def test_take(indices, axis, mode):
    ref = np.take(X, indices, axis=axis, mode=mode or "raise")
    f = lambda x: anp.take(x, indices, axis=axis, mode=mode)  # noqa: E731
    assert np.array_equal(f(X), ref)
    check_all_dtypes(f, X)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_take_along_axis_and_sort(axis):
    idx = np.argsort(XS, axis=axis)
    if axis is None:
        ref = XS.ravel()[idx]
    else:
        ref = np.take_along_axis(XS, idx, axis=axis)
    assert np.array_equal(anp.take_along_axis(XS, idx, axis=axis), ref)
    assert np.array_equal(anp.argsort(XS, axis=axis), idx)
    assert np.array_equal(anp.sort(XS, axis=axis), np.sort(XS, axis=axis))
    check_all_dtypes(lambda x: anp.sort(x, axis=axis), XS)
    check_all_dtypes(lambda x: anp.take_along_axis(x, idx, axis=axis), XS)
    # the derivative permutes: d sort(x)/dx is the sorting permutation matrix
    v = rand(XS.shape, seed=16)
    _, t = ad.jvp(lambda x: anp.sort(x, axis=axis), (XS,), (v,))
    if axis is None:
        assert np.array_equal(t, v.ravel()[idx])
    else:
        assert np.array_equal(t, np.take_along_axis(v, idx, axis=axis))


def test_take_along_axis_broadcasts():
    a = rand((3, 1, 4), seed=17)
    idx = np.array([[[0, 3]], [[1, 1]], [[2, 0]]]).repeat(5, axis=1)  # (3, 5, 2)
    assert np.array_equal(anp.take_along_axis(a, idx, axis=2), np.take_along_axis(a, idx, 2))
    check(lambda a: anp.take_along_axis(a, idx, axis=2), a)
    with pytest.raises(ValueError, match="same number of dimensions"):
        anp.take_along_axis(a, idx[0], axis=2)


def test_sort_complex_and_vmap():
    z = rand((3, 5), np.complex128, seed=18)
    assert np.array_equal(anp.sort(z), np.sort(z))
    check(lambda z: anp.sort(z, axis=0), z)
    xb = rand((4, 3, 5), seed=19)
    for axis in (0, 1, -1, None):
        got = ad.vmap(lambda x: anp.sort(x, axis=axis))(xb)
        ref = np.stack([np.sort(x, axis=axis) for x in xb])
        assert np.array_equal(got, ref)
        got = ad.vmap(lambda x: anp.argsort(x, axis=axis))(xb)
        assert np.array_equal(got, np.stack([np.argsort(x, axis=axis) for x in xb]))
    # Hessian of a function of the sorted values
    h = ad.hessian(lambda x: anp.sum(anp.sort(x) ** 3 * np.arange(5.0)))(xb[0, 0])
    p = np.argsort(xb[0, 0])
    want = np.zeros((5, 5))
    want[p, p] = 6 * xb[0, 0][p] * np.arange(5.0)
    assert np.allclose(h, want)


def test_argsort_stable_nondiff():
    a = np.array([3.0, 1.0, 3.0, 1.0])
    assert np.array_equal(anp.argsort(a, stable=True), [1, 3, 0, 2])
    g = ad.grad(lambda x: anp.sum(x * anp.argsort(x)))(a)
    assert np.array_equal(g, np.argsort(a))


def test_nonzero_argwhere_flatnonzero():
    a = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    for got, ref in zip(anp.nonzero(a), np.nonzero(a), strict=True):
        assert np.array_equal(got, ref)
    assert np.array_equal(anp.argwhere(a), np.argwhere(a))
    assert np.array_equal(anp.flatnonzero(a), np.flatnonzero(a))

    def f(x):
        i, j = anp.nonzero(x)
        return anp.sum(x[i, j] ** 2) + anp.sum(x.ravel()[anp.flatnonzero(x)])

    g = ad.grad(f)(a)
    assert np.allclose(g, 2 * a + (a != 0))
    g = ad.grad(lambda x: anp.sum(x[tuple(anp.argwhere(x).T)] ** 2))(a)
    assert np.allclose(g, 2 * a)


class _OtherXP:
    """NumPy under another name: the scatters take the path of array modules without a
    reliable ``ufunc.at`` (CuPy, for multiply/min/max and ordered assignment)."""

    __name__ = "othermodule"

    def __getattr__(self, k):
        return getattr(np, k)


@pytest.mark.parametrize("name", ["set", "add", "multiply", "min", "max"])
def test_scatter_by_rounds_matches_numpy(name):
    from adgraph.ops import indexing as ix

    prim = {
        "set": ix.scatter_p,
        "add": ix.scatter_add_p,
        "multiply": ix.scatter_mul_p,
        "min": ix.scatter_min_p,
        "max": ix.scatter_max_p,
    }[name]
    x = rand((5, 3), seed=20)
    idx = (np.array([0, 4, 0, 0, 2, 4]), slice(None))
    v = rand((6, 3), seed=21)
    skel, arrays = split_index(idx)
    got = prim.impl(_OtherXP(), x, *arrays, v, skel=skel)
    ref = prim.impl(np, x, *arrays, v, skel=skel)
    assert np.allclose(got, ref)
    got = prim.impl(_OtherXP(), x, *arrays, 0.5, skel=skel)  # a broadcast value
    assert np.allclose(got, prim.impl(np, x, *arrays, 0.5, skel=skel))


def test_along_axis_primitives():
    # The gather/scatter pair that Dask arrays are sorted and taken along with: values
    # against NumPy, derivatives to second order, and vmap against a loop.
    from adgraph.ops import indexing as ix

    a = rand((3, 5), seed=22)
    idx = np.array([[0, 4, 4], [1, 1, -1], [2, 3, 0]])
    u = rand((3, 3), seed=23)
    assert np.array_equal(ix.take_along_p.bind(a, idx, axis=1), np.take_along_axis(a, idx, 1))
    want = a.copy()
    np.add.at(want, (np.arange(3)[:, None], idx), u)
    assert np.allclose(ix.put_along_add_p.bind(a, idx, u, axis=1), want)
    check(lambda a: ix.take_along_p.bind(a, idx, axis=1) ** 2, a)
    check(lambda a, u: ix.put_along_add_p.bind(a, idx, u, axis=1) ** 2, a, u)
    ab = rand((4, 3, 5), seed=24)
    got = ad.vmap(lambda a: ix.put_along_add_p.bind(a, idx, u, axis=1))(ab)
    ref = np.stack([ix.put_along_add_p.bind(x, idx, u, axis=1) for x in ab])
    assert np.allclose(got, ref)
    i2 = np.stack([idx.T % 3, idx.T[::-1] % 3])  # a batch of index arrays
    got = ad.vmap(lambda i: ix.take_along_p.bind(a[:, :3], i, axis=0))(i2)
    assert np.array_equal(got, np.stack([np.take_along_axis(a[:, :3], i, 0) for i in i2]))


@pytest.mark.parametrize("kind", ["set", "add", "multiply", "minimum", "maximum"])
def test_scatter_rounds_reproduce_ufunc_at(kind):
    # Repeated positions split into rounds of distinct positions, applied in order, give
    # NumPy's ufunc.at (and the last write for set).
    from adgraph.ops.indexing.gather import _rounds

    lin = np.array([3, 1, 3, 3, 0, 1, 5])
    v = rand(lin.shape, seed=25)
    want = rand((6,), seed=26)
    got = want.copy()
    if kind == "set":
        want[lin] = v
    else:
        getattr(np, kind).at(want, lin, v)
    for sel in _rounds(lin, kind):
        s = slice(None) if sel is None else sel
        assert len(set(lin[s])) == len(lin[s])
        got[lin[s]] = v[s] if kind == "set" else getattr(np, kind)(got[lin[s]], v[s])
    assert np.array_equal(got, want)
    assert _rounds(np.array([2, 0, 1]), kind) == [None]
    assert _rounds(np.array([], dtype=int), kind) == []
