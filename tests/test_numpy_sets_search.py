"""Set operations, searching, counting, partial sorting and histograms: values equal
NumPy's on random inputs; the values they return are differentiable (checked against
finite differences in both modes to second order, and through jit; through vmap where the
shapes do not depend on the values), indices and counts carry no derivative."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads

COVERED = {f"numpy.{n}" for n in [
    "unique", "unique_all", "unique_counts", "unique_inverse", "unique_values", "isin",
    "intersect1d", "setdiff1d", "setxor1d", "union1d",
    "searchsorted", "digitize", "bincount", "lexsort", "argpartition", "partition",
    "sort_complex", "trim_zeros",
    "histogram", "histogram_bin_edges", "histogram2d", "histogramdd",
]}  # fmt: skip


@pytest.fixture
def jit_checks():
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.add("jit")
    yield test_util.EXTRA_CHECKS
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


def rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------- sets
DUPS = np.array([3.0, 1.0, 2.0, 3.0, 1.0, 5.5, -0.5])


@pytest.mark.parametrize(
    "x", [DUPS, DUPS.reshape(1, 7), np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])]
)
@pytest.mark.parametrize("flags", [(0, 0, 0), (1, 1, 1), (0, 1, 0)])
def test_unique_values_and_indices(x, flags):
    got = anp.unique(x, *map(bool, flags))
    want = np.unique(x, *map(bool, flags))
    for g, w in zip(
        got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want]
    ):
        np.testing.assert_array_equal(g, w)


def test_unique_axis_and_family():
    m = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    np.testing.assert_array_equal(anp.unique(m, axis=0), np.unique(m, axis=0))
    for name in ["unique_all", "unique_counts", "unique_inverse"]:
        got, want = getattr(anp, name)(DUPS), getattr(np, name)(DUPS)
        assert type(got).__name__ == type(want).__name__
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(anp.unique_values(DUPS), np.unique_values(DUPS))


def test_unique_gradient_goes_to_first_occurrence():
    g = ad.grad(lambda a: anp.sum(anp.unique(a) ** 2))(DUPS)
    # values -0.5, 1, 2, 3, 5.5 first occur at positions 6, 1, 2, 0, 5
    np.testing.assert_array_equal(g, [6.0, 2.0, 4.0, 0.0, 0.0, 11.0, -1.0])


def test_unique_under_jit_recomputes():
    f = ad.jit(anp.unique)
    np.testing.assert_array_equal(f(DUPS), np.unique(DUPS))
    np.testing.assert_array_equal(f(np.ones(7)), [1.0])


X6 = np.array([3.0, 1.0, 2.0, 4.5, 0.25, 5.5])


def _partner(a):
    # a second set that moves with a, so membership does not change under perturbation
    return anp.concatenate([a[np.array([1, 5])], np.array([7.0, -3.0])])


@pytest.mark.parametrize("name", ["intersect1d", "setdiff1d", "setxor1d", "union1d"])
def test_two_set_operations(name, jit_checks):
    got = getattr(anp, name)(X6, _partner(X6))
    np.testing.assert_array_equal(got, getattr(np, name)(X6, np.asarray(_partner(X6))))
    check_grads(lambda a: getattr(anp, name)(a, _partner(a)) ** 2, (X6,), order=2)


@pytest.mark.parametrize("assume_unique", [False, True])
def test_two_set_operations_assume_unique(assume_unique):
    a, b = np.array([5.0, 1.0, 3.0]), np.array([3.0, 4.0])
    for name in ["intersect1d", "setdiff1d", "setxor1d"]:
        got = getattr(anp, name)(a, b, assume_unique=assume_unique)
        np.testing.assert_array_equal(got, getattr(np, name)(a, b, assume_unique=assume_unique))
    got = anp.intersect1d(a, b, return_indices=True)
    for g, w in zip(got, np.intersect1d(a, b, return_indices=True)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kw", [{}, dict(invert=True), dict(assume_unique=True)])
def test_isin(kw):
    x = rng(1).integers(0, 6, (3, 4))
    np.testing.assert_array_equal(anp.isin(x, [1, 3, 4], **kw), np.isin(x, [1, 3, 4], **kw))
    got = ad.vmap(lambda r: anp.isin(r, np.array([1, 3])))(x)
    np.testing.assert_array_equal(got, np.isin(x, [1, 3]))
    with pytest.raises(OpError, match="kind"):
        anp.isin(x, [1], kind="hash")


# ----------------------------------------------------------------- searching and counting
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_and_digitize(side):
    r = rng(2)
    a = np.sort(r.normal(size=9))
    v = np.concatenate([r.normal(size=5), a[:2]]).reshape(7)
    np.testing.assert_array_equal(anp.searchsorted(a, v, side), np.searchsorted(a, v, side))
    perm = r.permutation(9)
    np.testing.assert_array_equal(
        anp.searchsorted(a[perm], v, side, sorter=np.argsort(a[perm])),
        np.searchsorted(a[perm], v, side, sorter=np.argsort(a[perm])),
    )
    right = side == "right"
    np.testing.assert_array_equal(anp.digitize(v, a, right), np.digitize(v, a, right))
    np.testing.assert_array_equal(anp.digitize(v, a[::-1], right), np.digitize(v, a[::-1], right))
    got = ad.vmap(lambda q: anp.searchsorted(a, q, side))(v.reshape(7, 1))
    np.testing.assert_array_equal(got, np.searchsorted(a, v.reshape(7, 1), side))
    with pytest.raises(OpError, match="side"):
        anp.searchsorted(a, v, "middle")


def test_lexsort():
    r = rng(3)
    keys = [r.integers(0, 3, 8), r.integers(0, 3, 8), r.normal(size=8)]
    np.testing.assert_array_equal(anp.lexsort(keys), np.lexsort(keys))
    k2 = r.integers(0, 2, (2, 3, 4))
    np.testing.assert_array_equal(anp.lexsort(k2, axis=0), np.lexsort(k2, axis=0))


@pytest.mark.parametrize("minlength", [0, 9])
def test_bincount(minlength, jit_checks):
    x = np.array([0, 2, 2, 5, 1, 2])
    w = rng(4).normal(size=6)
    np.testing.assert_array_equal(
        anp.bincount(x, minlength=minlength), np.bincount(x, minlength=minlength)
    )
    np.testing.assert_allclose(
        anp.bincount(x, w, minlength), np.bincount(x, w, minlength), rtol=1e-15
    )
    jit_checks.add("vmap")
    check_grads(lambda ww: anp.bincount(x, ww, minlength=minlength), (w,), order=2)
    # closed form: the gradient of sum(c * bincount(x, w)) is c[x]
    c = np.arange(1.0, 10.0)[: max(6, minlength)]
    g = ad.grad(lambda ww: anp.sum(c * anp.bincount(x, ww, minlength=len(c))))(w)
    np.testing.assert_array_equal(g, c[x])


def test_bincount_refuses():
    with pytest.raises(TypeError, match="integers"):
        anp.bincount(np.array([0.5]))
    with pytest.raises(OpError, match="non-negative"):
        anp.bincount(np.array([-1, 2]))
    with pytest.raises(OpError, match="weights"):
        anp.bincount(np.array([1, 2]), np.ones(3))


@pytest.mark.parametrize("kth", [2, (0, 3), -1])
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_partition_and_argpartition(kth, axis, jit_checks):
    m = rng(5).normal(size=(4, 5))
    np.testing.assert_array_equal(anp.partition(m, kth, axis=axis), np.partition(m, kth, axis=axis))
    np.testing.assert_array_equal(
        anp.argpartition(m, kth, axis=axis), np.argpartition(m, kth, axis=axis)
    )
    jit_checks.add("vmap")
    check_grads(lambda q: anp.partition(q, kth, axis=axis), (m,), order=2)


def test_partition_with_ties_is_a_permutation_gather():
    a = np.array([2.0, 1.0, 2.0, 0.0, 2.0])
    np.testing.assert_array_equal(anp.partition(a, 2), np.partition(a, 2))
    g = ad.grad(lambda q: anp.sum(anp.partition(q, 2) * np.arange(5.0)))(a)
    np.testing.assert_array_equal(np.sort(g), np.arange(5.0))


def test_sort_complex(jit_checks):
    r = rng(6)
    c = r.normal(size=6) + 1j * r.normal(size=6)
    c[3] = c[1].real + 2j
    np.testing.assert_array_equal(anp.sort_complex(c), np.sort_complex(c))
    for dt in [np.int16, np.float32, np.float64]:
        assert (
            anp.sort_complex(np.array([3, 1], dt)).dtype
            == np.sort_complex(np.array([3, 1], dt)).dtype
        )
    c = r.normal(size=6) + 1j * r.normal(size=6)  # no ties: finite differences stay in order
    check_grads(anp.sort_complex, (c,), order=2)


@pytest.mark.parametrize("trim", ["fb", "f", "b"])
def test_trim_zeros(trim, jit_checks):
    z = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(anp.trim_zeros(z, trim), np.trim_zeros(z, trim))
    np.testing.assert_array_equal(
        anp.trim_zeros(np.zeros(3), trim), np.trim_zeros(np.zeros(3), trim)
    )
    m = np.zeros((4, 5))
    m[1, 2], m[2, 3] = 1.0, 2.0
    for axis in [None, 0, 1]:
        np.testing.assert_array_equal(anp.trim_zeros(m, trim, axis), np.trim_zeros(m, trim, axis))
    check_grads(lambda q: anp.trim_zeros(q * z, trim), (np.linspace(1, 2, 7),), order=2)
    with pytest.raises(OpError, match="trim"):
        anp.trim_zeros(z, "x")


# ----------------------------------------------------------------- histograms
SAMPLE = rng(7).normal(size=60)
WEIGHTS = rng(8).random(60)

HIST_CASES = [
    {}, dict(bins=7), dict(bins=5, range=(-1, 1)), dict(bins=np.array([-2, -0.5, 0, 1, 3.0])),
    dict(bins="auto"), dict(weights=WEIGHTS), dict(density=True),
    dict(weights=WEIGHTS, density=True, bins=4),
]  # fmt: skip


@pytest.mark.parametrize("kw", HIST_CASES, ids=range(len(HIST_CASES)))
def test_histogram_equals_numpy(kw):
    h, e = anp.histogram(SAMPLE, **kw)
    h2, e2 = np.histogram(SAMPLE, **kw)
    np.testing.assert_array_equal(e, e2)
    np.testing.assert_allclose(h, h2, rtol=1e-14, atol=0)
    assert h.dtype == h2.dtype
    np.testing.assert_array_equal(
        anp.histogram_bin_edges(SAMPLE, kw.get("bins", 10), kw.get("range")),
        np.histogram_bin_edges(SAMPLE, kw.get("bins", 10), kw.get("range")),
    )


def test_histogram_derivatives(jit_checks):
    jit_checks.add("vmap")  # weights and given edges: the shapes do not depend on values
    check_grads(
        lambda w: anp.histogram(SAMPLE, bins=6, weights=w, density=True)[0], (WEIGHTS,), order=2
    )
    check_grads(lambda a: anp.histogram(a, bins=6)[1], (SAMPLE,), order=2)
    check_grads(
        lambda b: anp.histogram(SAMPLE, bins=b, density=True)[0], (np.array([-3.0, -1, 0.5, 3]),)
    )
    # closed form: the edges are min + (max - min) j / n
    a = np.array([0.0, 1.0, 3.0, 2.0])
    g = ad.grad(lambda q: anp.sum(anp.histogram_bin_edges(q, bins=4)))(a)
    np.testing.assert_array_equal(g, [2.5, 0.0, 2.5, 0.0])


def test_histogram_refuses_rule_names_on_traced_data():
    with pytest.raises(TypeError, match="auto"):
        ad.grad(lambda a: anp.sum(anp.histogram(a, bins="auto")[1]))(SAMPLE)
    with pytest.raises(OpError, match="range"):
        anp.histogram(SAMPLE, range=(1, 0))


H2_CASES = [
    {}, dict(bins=4), dict(bins=(3, 5)), dict(weights=WEIGHTS[:40]), dict(density=True, bins=3),
    dict(range=[(-1, 1), (-2, 2)], bins=3), dict(bins=[np.array([-3, 0, 3.0]), 4]),
]  # fmt: skip


@pytest.mark.parametrize("kw", H2_CASES, ids=range(len(H2_CASES)))
def test_histogram2d_equals_numpy(kw):
    x, y = rng(9).normal(size=(2, 40))
    for g, w in zip(anp.histogram2d(x, y, **kw), np.histogram2d(x, y, **kw)):
        np.testing.assert_allclose(g, w, rtol=1e-13)


def test_histogramdd_and_derivatives(jit_checks):
    s = rng(10).normal(size=(30, 3))
    h, e = anp.histogramdd(s, bins=(2, 3, 4))
    h2, e2 = np.histogramdd(s, bins=(2, 3, 4))
    np.testing.assert_array_equal(h, h2)
    for g, w in zip(e, e2):
        np.testing.assert_array_equal(g, w)
    x, y = s[:, 0], s[:, 1]
    w = WEIGHTS[:30]
    check_grads(
        lambda ww: anp.histogram2d(x, y, bins=3, weights=ww, density=True)[0], (w,), order=2
    )
    check_grads(lambda xx: anp.histogram2d(xx, y, bins=3)[1], (x,), order=2)


def test_histogram2d_refuses_coordinates_of_different_lengths():
    with pytest.raises(OpError, match="different lengths"):
        anp.histogram2d(np.ones(3), np.ones(4))
