"""Results whose shape depends on the data: a compiled program never reuses what was
computed from the shape seen while tracing (a count, a mean's divisor) for other data."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.primitive import registry

A = np.array([1.0, -1.0, 2.0, 2.0, 0.0, 3.0])
B = np.array([1.0, 1.0, 4.0, -2.0, 5.0, 0.5])
# (a count from bins="auto" is refused on traced values: numpy.histogram_bin_edges on
# concrete data gives the edges)  # the same shape, other counts everywhere

CASES = {
    "mask-mean": lambda x: anp.mean(x[x > 0]),
    "mask-len": lambda x: anp.sum(x) * len(x[x > 0.75]),
    "unique-mean": lambda x: anp.mean(anp.unique(x)),
    "unique-counts": lambda x: anp.sum(anp.unique(x, return_counts=True)[1] * 1.0),
    "unique-size": lambda x: anp.sum(x) * anp.unique(x).size,
    "setdiff-len": lambda x: anp.sum(x) * len(anp.setdiff1d(x, np.array([1.0, 2.0]))),
    "intersect": lambda x: anp.mean(anp.intersect1d(x, np.array([1.0, 2.0, 5.0, 6.0]))),
    "union": lambda x: anp.mean(anp.union1d(x, np.array([1.0, 7.0]))),
    "setxor": lambda x: anp.mean(anp.setxor1d(x, np.array([1.0, 7.0]))),
    "nonzero": lambda x: anp.mean(x[anp.nonzero(x > 1.0)]),
    "argwhere": lambda x: anp.sum(x) * anp.argwhere(x > 1.0).shape[0],
    "flatnonzero": lambda x: anp.mean(anp.take(x, anp.flatnonzero(x < 1.5))),
    "trim_zeros": lambda x: anp.mean(anp.trim_zeros(anp.where(x > 1.5, x, 0.0))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_results_follow_the_data(name):
    f = CASES[name]
    j = ad.jit(f)
    for x in (A, B, A, B[::-1]):  # alternate: a cached program must not be reused wrongly
        np.testing.assert_allclose(j(x), f(x), rtol=1e-14, err_msg=name)


def test_gradients_too():
    f = lambda x: anp.sum(x[x > 0] ** 2) / len(x[x > 0])  # noqa: E731
    g = ad.jit(ad.grad(f))
    for x in (A, B, A):
        np.testing.assert_allclose(g(x), ad.grad(f)(x), rtol=1e-14)


def test_a_constant_mask_adds_no_guard():
    mask = A > 0
    j = ad.jit(lambda x: anp.sum(x[mask]))
    assert j(A) == pytest.approx(A[mask].sum())
    assert j(B) == pytest.approx(B[mask].sum())
    # one program, without guards: the mask is a constant of it
    ((program,),) = j._cache.values()
    assert not program.guards


def test_a_traced_mask_adds_one_shape_guard():
    j = ad.jit(lambda x: anp.sum(x[x > 0]))
    j(A)
    ((program,),) = j._cache.values()
    assert [g.op for g, _ in program.guards] == ["jit_shape_is"]


def test_the_declared_primitives():
    declared = {n for n, p in registry.items() if p.value_shape is not False}
    assert {
        "getitem",
        "nonzero",
        "argwhere",
        "flatnonzero",
        "unique_positions",
        "setdiff1d_positions",
        "intersect1d_positions",
        "setxor1d_positions",
        "trim_zeros_positions",
        "histogram_bins",
        "histogramdd_bins",
    } <= declared
