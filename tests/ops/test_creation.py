"""Array creation, dtype conversion, copies and stop_gradient."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

from .harness import check, check_all_dtypes, rand

COVERED = {
    f"numpy.{n}"
    for n in [
        "zeros",
        "ones",
        "full",
        "empty",
        "zeros_like",
        "ones_like",
        "full_like",
        "empty_like",
        "arange",
        "linspace",
        "logspace",
        "geomspace",
        "eye",
        "identity",
        "array",
        "asarray",
        "asanyarray",
        "ascontiguousarray",
        "tri",
        "astype",
        "copy",
        "stop_gradient",
    ]
}


@pytest.mark.parametrize(
    "name,args",
    [
        ("zeros", ((2, 3),)),
        ("ones", ((4,),)),
        ("empty", ((2, 2),)),
        ("eye", (3,)),
        ("identity", (4,)),
        ("tri", (3, 4, 1)),
        ("arange", (1, 7, 2)),
        ("linspace", (0.0, 1.0, 5)),
        ("logspace", (0.0, 2.0, 3)),
        ("geomspace", (1.0, 8.0, 4)),
    ],
)
def test_constants_match_numpy(name, args):
    got = getattr(anp, name)(*args)
    want = np.zeros(args[0]) if name == "empty" else getattr(np, name)(*args)
    np.testing.assert_allclose(got, want)
    assert got.dtype == want.dtype


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_constructors_take_shape_and_dtype(name):
    x = rand((2, 3), np.float32)
    out = getattr(anp, name)(x)
    assert out.shape == (2, 3) and out.dtype == np.float32
    # on a traced value: a constant with the primal's shape (derivative zero)
    g = ad.grad(lambda x: anp.sum(getattr(anp, name)(x) * 0.0 + x))(rand((3,)))
    np.testing.assert_allclose(g, np.ones(3))


def test_full_and_full_like_differentiable_in_fill_value():
    f = lambda v: anp.sum(anp.full((2, 3), v) * anp.arange(6.0).reshape(2, 3))
    assert ad.grad(f)(2.0) == pytest.approx(15.0)
    g = lambda v: anp.sum(anp.full_like(np.ones(4), v) ** 2)
    assert ad.grad(g)(1.5) == pytest.approx(4 * 2 * 1.5)
    assert anp.full((2,), 7, dtype=np.int64).dtype == np.int64


def test_array_of_traced_values_is_differentiable():
    def f(x1, x2):
        v = anp.array([[x1, x2], [x2 * x1, 1.0]])
        return anp.sum(v @ v)

    check(f, 0.7, -1.3)
    g = ad.grad(lambda a, b: anp.sum(anp.asarray([a, 2.0 * b])), argnums=(0, 1))(1.0, 1.0)
    assert g == (1.0, 2.0)
    assert anp.asanyarray([1, 2]).dtype == np.asarray([1, 2]).dtype
    assert anp.ascontiguousarray(np.ones((2, 2)).T).shape == (2, 2)
    assert anp.array([1.0, 2.0], ndmin=2).shape == (1, 2)


def test_linspace_family_differentiable_in_end_points():
    # y_k = s + (e - s) k/(n-1): dy/ds = 1 - k/(n-1), dy/de = k/(n-1)
    f = lambda s, e: anp.linspace(s, e, 5)
    J = ad.jacfwd(f, argnums=(0, 1))(0.5, 2.0)
    k = np.arange(5) / 4
    np.testing.assert_allclose(J[0], 1 - k)
    np.testing.assert_allclose(J[1], k)
    check(f, 0.5, 2.0)
    check(lambda s, e: anp.logspace(s, e, 4), 0.1, 1.0)
    check(lambda s, e: anp.geomspace(s, e, 4), 0.5, 3.0)
    y, step = anp.linspace(0.0, 1.0, 5, retstep=True)
    assert step == 0.25
    with pytest.raises(ValueError, match="concrete"):
        ad.grad(lambda n: anp.sum(anp.arange(n)))(3.0)


@pytest.mark.parametrize(
    "src,dst",
    [
        (np.float64, np.float32),
        (np.float32, np.float64),
        (np.float64, np.complex128),
        (np.complex128, np.float64),
    ],
)
def test_astype_carries_derivatives_across_dtypes(src, dst):
    x = rand((3,), src)
    out = anp.astype(x, dst)
    assert out.dtype == dst
    f = lambda x: anp.sum(anp.real(anp.astype(x, dst) * 2.0))
    g = ad.grad(f)(x)
    assert g.dtype == np.dtype(src)
    # d/dx of 2 Re(x) : 2 for real x; for complex x cast to real (real part taken) also 2
    np.testing.assert_allclose(np.real(g), 2.0 * np.ones(3), rtol=1e-6)


def test_astype_to_integer_has_zero_derivative_and_methods_work():
    x = rand((4,), low=0.5, high=3.0)
    g = ad.grad(lambda x: anp.sum(anp.astype(x, np.int64) * x))(x)
    np.testing.assert_allclose(g, np.floor(x))
    check_all_dtypes(lambda x: x.astype(x.dtype) * 3.0, x)


def test_copy_is_the_value_and_differentiable():
    x = rand((3,))
    c = anp.copy(x)
    assert c is not x and np.array_equal(c, x)
    assert ad.grad(lambda x: anp.sum(anp.copy(x) ** 2))(x) == pytest.approx(2 * x)


def test_stop_gradient_blocks_every_level_and_trees():
    x = rand((3,))
    f = lambda x: anp.sum(x * anp.stop_gradient(x))
    np.testing.assert_allclose(ad.grad(f)(x), x)
    # the gradient is stop_gradient(x): constant, so the Hessian vanishes
    np.testing.assert_allclose(ad.hessian(f)(x), np.zeros((3, 3)))
    tree = anp.stop_gradient({"a": np.ones(2), "b": (3.0,)})
    assert tree["b"][0] == 3.0
