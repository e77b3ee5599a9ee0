"""A jitted function under vmap or jacrev when the batch is empty (a vmapped axis of
length 0, or a Jacobian with no output rows): the result is the empty array of the shape
and dtype that the eager transformation of the unjitted function gives."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

W = np.arange(6.0).reshape(3, 2) - 2.5


def elementwise(x):
    return anp.sin(x) * 2.0 + x


def total(x):
    return anp.sum(x * x, axis=-1)


def matmul(x):
    return x @ W


FUNS = [elementwise, total, matmul]


def _same(got, want, shape):
    got = np.asarray(got)
    want = np.asarray(want)
    assert want.shape == shape
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("f", FUNS, ids=lambda f: f.__name__)
def test_vmap_of_jit_over_an_empty_batch(f):
    x = np.zeros((0, 3))
    expected_shape = {"elementwise": (0, 3), "total": (0,), "matmul": (0, 2)}[f.__name__]
    _same(ad.vmap(ad.jit(f))(x), ad.vmap(f)(x), expected_shape)


@pytest.mark.parametrize("f", FUNS, ids=lambda f: f.__name__)
def test_vmap_of_jit_empty_batch_float32(f):
    x = np.zeros((0, 3), np.float32)
    want = ad.vmap(f)(x)
    got = ad.vmap(ad.jit(f))(x)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    assert np.shape(got) == np.shape(want)


def test_jacrev_of_jit_with_no_output_rows():
    # x of shape (2, 0): the elementwise output has no entries, so the Jacobian has none.
    x = np.zeros((2, 0))
    _same(ad.jacrev(ad.jit(elementwise))(x), ad.jacrev(elementwise)(x), (2, 0, 2, 0))


@pytest.mark.parametrize("f", FUNS, ids=lambda f: f.__name__)
def test_jacrev_of_jit_on_an_empty_input(f):
    x = np.zeros((0, 3))
    expected_shape = {"elementwise": (0, 3, 0, 3), "total": (0, 0, 3), "matmul": (0, 2, 0, 3)}
    _same(ad.jacrev(ad.jit(f))(x), ad.jacrev(f)(x), expected_shape[f.__name__])


def test_jacrev_of_jit_sum_with_an_empty_axis_has_zero_values():
    # total(x) = sum over the empty last axis = [0, 0]; its Jacobian is (2, 2, 0), no entries,
    # and the function value itself is exactly zero.
    x = np.zeros((2, 0))
    np.testing.assert_array_equal(ad.jit(total)(x), np.zeros(2))
    _same(ad.jacrev(ad.jit(total))(x), ad.jacrev(total)(x), (2, 2, 0))
    _same(
        ad.jacrev(ad.jit(matmul))(np.zeros((2, 3))),
        ad.jacrev(matmul)(np.zeros((2, 3))),
        (2, 2, 2, 3),
    )


def test_nonempty_batch_after_an_empty_one_is_right():
    # The program traced for an empty batch is reused for a full one: its values must be
    # those of the eager function, so the example used to trace must not leak into them.
    jf = ad.jit(matmul)
    ad.vmap(jf)(np.zeros((0, 3)))
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(ad.vmap(jf)(x), x @ W)
    jt = ad.jit(total)
    ad.vmap(jt)(np.zeros((0, 3)))
    np.testing.assert_allclose(ad.vmap(jt)(x), (x * x).sum(axis=1))
    np.testing.assert_allclose(ad.jacrev(jt)(x[0]), 2 * x[0])


def test_jacfwd_of_jit_on_an_empty_input_is_refused_by_name():
    # no direction to push and the primal under jit comes from the empty tangent batch:
    # a clear refusal, never a bare IndexError; eager jacfwd gives the empty Jacobian
    f = lambda x: anp.sin(x) * 2.0  # noqa: E731
    assert ad.jacfwd(f)(np.zeros((0, 3))).shape == (0, 3, 0, 3)
    with pytest.raises(ValueError, match="no entries"):
        ad.jacfwd(ad.jit(f))(np.zeros((0, 3)))
    np.testing.assert_allclose(
        ad.jacfwd(ad.jit(f))(np.ones(2)), np.diag(2.0 * np.cos(np.ones(2))), rtol=1e-15
    )
