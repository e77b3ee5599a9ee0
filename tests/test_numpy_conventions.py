"""NumPy's and autograd's conventions that working code relies on: one array given to the
stacking functions, ``grad`` of an output with one element, Python lists of traced values
where an array belongs, and NumPy's keyword names."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads

RNG = np.random.default_rng(0)


# --------------------------------------------------------- one array to the stackers
@pytest.mark.parametrize("name", ["vstack", "hstack", "column_stack", "dstack", "row_stack"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_stacking_one_array_is_stacking_its_rows(name, shape, jit_and_vmap):
    x = RNG.normal(size=shape)
    np_name = "vstack" if name == "row_stack" else name
    np.testing.assert_array_equal(getattr(anp, name)(x), getattr(np, np_name)(x))
    check_grads(lambda a: getattr(anp, name)(a), (x,), order=2)


def test_vstack_of_one_traced_array_has_the_gradient_of_its_rows():
    x = np.arange(6.0).reshape(2, 3)
    g = ad.grad(lambda a: anp.sum(anp.vstack(a) ** 2))(x)
    np.testing.assert_array_equal(g, 2 * x)
    g = ad.grad(lambda a: anp.sum(anp.hstack(a) * np.arange(6.0)))(x)
    np.testing.assert_array_equal(g, np.arange(6.0).reshape(2, 3))


def test_stacking_a_0d_array_is_refused():
    with pytest.raises(OpError, match="0-d"):
        anp.vstack(np.float64(1.0))


# --------------------------------------------------------- grad of one element
@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_grad_of_an_output_with_one_element(shape):
    x = np.array([1.0, 2.0, 3.0])

    def f(a):
        return anp.reshape(anp.sum(a**3), shape)

    np.testing.assert_allclose(ad.grad(f)(x), 3 * x**2)
    v, g = ad.value_and_grad(f)(x)
    assert v.shape == shape and v.ravel()[0] == 36.0
    np.testing.assert_allclose(g, 3 * x**2)
    np.testing.assert_allclose(ad.jit(ad.grad(f))(x), 3 * x**2)
    np.testing.assert_allclose(ad.grad(lambda a: ad.grad(f)(a)[0])(x), [6.0, 0, 0])


def test_grad_of_slice_with_one_element():
    # autograd's idiom: loss = (...)[:1]
    g = ad.grad(lambda a: a[:1] * 2.0)(np.ones(3))
    np.testing.assert_array_equal(g, [2.0, 0.0, 0.0])


def test_grad_still_refuses_more_than_one_element():
    with pytest.raises(TypeError, match=r"scalar output.*\(2,\)"):
        ad.grad(lambda a: a[:2])(np.ones(3))


# --------------------------------------------------------- lists of traced values
def _listed(a):
    return [a[0] * 2.0, a[1] + a[2], anp.sin(a[2])]


LIST_CASES = {
    "mean": (anp.mean, np.mean),
    "std": (anp.std, np.std),
    "var": (anp.var, np.var),
    "sum": (anp.sum, np.sum),
    "prod": (anp.prod, np.prod),
    "max": (anp.max, np.max),
    "norm": (anp.linalg.norm, np.linalg.norm),
    "sort0": (lambda v: anp.sort(v)[0], lambda v: np.sort(v)[0]),
    "exp_sum": (lambda v: anp.sum(anp.exp(v)), lambda v: np.sum(np.exp(v))),
    "average": (anp.average, np.average),
}


@pytest.fixture
def jit_and_vmap():
    from adgraph import test_util

    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.update({"jit", "vmap"})
    yield
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


@pytest.mark.parametrize("name", sorted(LIST_CASES))
def test_functions_of_a_list_of_traced_values(name, jit_and_vmap):
    ours, theirs = LIST_CASES[name]
    x = np.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(ours(_listed(x)), theirs(np.array(_listed(x))), rtol=1e-14)
    check_grads(lambda a: ours(_listed(a)), (x,), order=2)


def test_mean_of_list_closed_form():
    g = ad.grad(lambda a: anp.mean([a[0], 2.0 * a[1]]))(np.ones(3))
    np.testing.assert_array_equal(g, [0.5, 1.0, 0.0])
    g = ad.grad(lambda a: anp.linalg.norm([3.0 * a[0], 4.0 * a[1]]))(np.ones(2))
    np.testing.assert_allclose(g, [9.0 / 5.0, 16.0 / 5.0])


def test_nested_list_of_traced_values():
    x = np.array([1.0, 2.0])
    f = lambda a: anp.sum(anp.var([[a[0], a[1]], [a[1], 3.0]], axis=0))  # noqa: E731
    np.testing.assert_allclose(f(x), np.sum(np.var([[1.0, 2.0], [2.0, 3.0]], axis=0)))
    check_grads(f, (x,), order=2)


# --------------------------------------------------------- NumPy's keyword names
def test_clip_keywords():
    x = np.linspace(-2, 2, 7)
    for kw in [dict(a_min=-1, a_max=1), dict(min=-1, max=1), dict(max=0.5)]:
        np.testing.assert_array_equal(anp.clip(x, **kw), np.clip(x, **kw))
    np.testing.assert_array_equal(anp.clip(x, a_min=-1), np.clip(x, -1, None))
    np.testing.assert_array_equal(anp.clip(a=x, a_min=-1, a_max=1), np.clip(x, -1, 1))
    g = ad.grad(lambda a: anp.sum(anp.clip(a, a_min=-1.0, a_max=1.0)))(x)
    np.testing.assert_array_equal(g, np.abs(x) < 1)
    with pytest.raises(TypeError, match="once"):
        anp.clip(x, a_min=0, min=1)
    with pytest.raises(OpError, match="out="):
        anp.clip(x, 0, 1, np.empty(7))


def test_where_keywords():
    x = np.array([-1.0, 2.0, 3.0])
    got = anp.where(condition=x > 0, x=x, y=0.0)
    np.testing.assert_array_equal(got, np.where(x > 0, x, 0.0))
    g = ad.grad(lambda a: anp.sum(anp.where(condition=a > 0, x=a**2, y=0.0)))(x)
    np.testing.assert_array_equal(g, [0.0, 4.0, 6.0])


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True)])
def test_reduction_where_initial_and_mean_keywords(axis, keepdims):
    x = RNG.normal(size=(3, 4))
    w = RNG.random((3, 4)) > 0.3
    kw = dict(axis=axis, keepdims=keepdims, where=w)
    for name in ["mean", "var", "std", "nanmean"]:
        np.testing.assert_allclose(getattr(anp, name)(x, **kw), getattr(np, name)(x, **kw))
        check_grads(lambda a, name=name: getattr(anp, name)(a, **kw), (x,), order=2)
    for name in ["sum", "prod", "nansum"]:
        got = getattr(anp, name)(x, initial=2.0, **kw)
        np.testing.assert_allclose(got, getattr(np, name)(x, initial=2.0, **kw))
        check_grads(lambda a, name=name: getattr(anp, name)(a, initial=2.0, **kw), (x,))
    for name in ["all", "any"]:
        np.testing.assert_array_equal(
            getattr(anp, name)(x > 0, **kw), getattr(np, name)(x > 0, **kw)
        )
    m = np.mean(x, axis=axis, keepdims=True)
    for name in ["var", "std"]:
        got = getattr(anp, name)(x, axis=axis, ddof=1, mean=m)
        np.testing.assert_allclose(got, getattr(np, name)(x, axis=axis, ddof=1, mean=m))


def test_out_is_refused_by_all_and_any():
    with pytest.raises(OpError, match="out="):
        anp.all(np.ones(2, bool), 0, np.empty(()))


def test_real_imag_keywords():
    assert anp.real(val=1 + 2j) == 1.0 and anp.imag(val=1 + 2j) == 2.0


def test_asarray_copy_and_device_keywords():
    x = np.ones(3)
    assert anp.asarray(x, copy=False) is x
    assert anp.asarray(x, copy=True) is not x
    np.testing.assert_array_equal(anp.asanyarray(x, copy=True), x)
    with pytest.raises(ValueError):
        anp.asarray([1.0, 2.0], dtype=np.float32, copy=False)  # NumPy: a copy is needed
    with pytest.raises(OpError, match="device"):
        anp.asarray(x, device="gpu")
    g = ad.grad(lambda a: anp.sum(anp.asarray([a, 2.0 * a], copy=True)))(1.5)
    assert g == 3.0


def test_permute_dims_keyword():
    assert anp.permute_dims(a=np.ones((2, 3, 4)), axes=(2, 0, 1)).shape == (4, 2, 3)
