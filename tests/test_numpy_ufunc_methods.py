"""The ufunc methods of adgraph's binary functions (outer, reduce, accumulate, at): values
equal NumPy's, derivatives checked in both modes to second order through jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.ops._util import OpError
from adgraph.ops.ufuncs import _NAMES
from adgraph.test_util import check_grads

R = np.random.default_rng(0)
A = R.normal(size=(3, 4))
B = R.normal(size=5)
INTS = R.integers(1, 9, (3, 4))
INTEGER_ONLY = {
    "gcd",
    "lcm",
    "left_shift",
    "right_shift",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
}


@pytest.fixture
def jit_and_vmap():
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.update({"jit", "vmap"})
    yield
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


@pytest.mark.parametrize("name", _NAMES)
def test_values_equal_numpy(name):
    f, g = getattr(anp, name), getattr(np, name)
    x = INTS if name in INTEGER_ONLY else A
    y = INTS[0] if name in INTEGER_ONLY else B
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(f.outer(x, y), g.outer(x, y), rtol=1e-14)
        try:
            g.accumulate(x, axis=0)
        except TypeError:  # NumPy has no such loop (comparisons of floats): neither do we
            with pytest.raises(TypeError):
                f.accumulate(x, axis=0)
            with pytest.raises(TypeError):
                f.reduce(x, axis=0)
            return
        for axis in [0, 1, -1]:
            # NumPy documents reduce as the left fold that accumulate's last entry is (its
            # reduce of power and arctan2 along a contiguous axis departs from it)
            want = np.take(g.accumulate(x, axis=axis), -1, axis=axis)
            np.testing.assert_allclose(f.reduce(x, axis=axis), want, rtol=1e-14)
            np.testing.assert_allclose(
                f.accumulate(x, axis=axis), g.accumulate(x, axis=axis), rtol=1e-14
            )
            kd = f.reduce(x, axis=axis, keepdims=True)
            assert np.shape(kd) == g.reduce(x, axis=axis, keepdims=True).shape
        for axis in [None, (0, 1)]:
            try:
                want = g.reduce(x, axis=axis)
            except ValueError:
                with pytest.raises(ValueError, match="reorderable"):
                    f.reduce(x, axis=axis)
                continue
            np.testing.assert_allclose(f.reduce(x, axis=axis), want, rtol=1e-13)


@pytest.mark.parametrize(
    "name", ["add", "multiply", "maximum", "subtract", "logaddexp", "hypot", "power"]
)
def test_derivatives(name, jit_and_vmap):
    f = getattr(anp, name)
    x = np.abs(A) + 0.5
    check_grads(lambda a, b: f.outer(a, b), (x, np.abs(B) + 0.5), order=2)
    check_grads(lambda a: f.reduce(a, axis=1), (x,), order=2)
    check_grads(lambda a: f.accumulate(a, axis=0), (x,), order=2)


def test_reduce_initial_where_and_closed_form():
    np.testing.assert_allclose(
        anp.add.reduce(A, axis=1, initial=2.0), np.add.reduce(A, axis=1, initial=2.0)
    )
    np.testing.assert_allclose(
        anp.logaddexp.reduce(A, axis=1, initial=2.0), np.logaddexp.reduce(A, axis=1, initial=2.0)
    )
    np.testing.assert_allclose(
        anp.add.reduce(A, where=A > 0, axis=0), np.add.reduce(A, where=A > 0, axis=0)
    )
    np.testing.assert_array_equal(
        anp.logaddexp.reduce(np.ones((0, 2)), axis=0, initial=1.0), [1.0, 1.0]
    )
    with pytest.raises(OpError, match="no identity"):
        anp.logaddexp.reduce(np.ones((0, 2)), axis=0)
    # d logsumexp / dx = softmax
    x = A[0]
    np.testing.assert_allclose(
        ad.grad(anp.logaddexp.reduce)(x), np.exp(x) / np.exp(x).sum(), rtol=1e-13
    )


def test_at(jit_and_vmap):
    x = np.zeros(4)
    assert anp.add.at(x, [0, 0, 2], 1.0) is None
    np.testing.assert_array_equal(x, [2.0, 0.0, 1.0, 0.0])
    idx = np.array([0, 0, 2])
    for name in ["add", "subtract", "multiply", "maximum", "minimum"]:
        want = B.copy()
        getattr(np, name).at(want, idx, np.array([1.5, -2.0, 3.0]))
        got = getattr(anp, name).at(B, idx, np.array([1.5, -2.0, 3.0]), inplace=False)
        np.testing.assert_allclose(got, want, rtol=1e-15)
    check_grads(lambda q, v: anp.add.at(q, idx, v, inplace=False), (B, np.ones(3)), order=2)
    with pytest.raises(TypeError, match="inplace=False"):
        ad.grad(lambda q: anp.sum(anp.add.at(q, idx, 1.0)))(B)
    with pytest.raises(OpError, match="functional form"):
        anp.hypot.at(B, idx, 1.0, inplace=False)


def test_numpy_ufunc_methods_on_traced_values():
    # np.add.outer(tracer, y) and friends reach adgraph's methods (__array_ufunc__)
    g = ad.grad(lambda x: np.sum(np.multiply.outer(x, B)))(A[0])
    np.testing.assert_allclose(g, np.full(4, B.sum()))
    g = ad.grad(lambda x: np.logaddexp.reduce(x))(A[0])
    np.testing.assert_allclose(g, np.exp(A[0]) / np.exp(A[0]).sum(), rtol=1e-13)
    g = ad.grad(lambda x: np.sum(np.maximum.accumulate(x)))(np.array([1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(g, [1.0, 2.0, 0.0])
