"""NumPy 2's array-API names, building and splitting arrays, selection and value fixes:
values against NumPy, derivatives against finite differences in both modes to second
order (with jit and vmap, see conftest), and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops._util import OpError

from .harness import check, rand

COVERED = {f"numpy.{n}" for n in [
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "pow", "concat",
    "permute_dims", "matrix_transpose", "vecdot", "matvec", "vecmat", "unstack",
    "cumulative_sum", "cumulative_prod", "bitwise_left_shift", "bitwise_right_shift",
    "bitwise_invert", "bitwise_not", "row_stack",
    "append", "insert", "delete", "r_", "c_", "ix_", "block", "vsplit", "hsplit", "dsplit",
    "rollaxis", "select", "piecewise", "choose", "compress", "extract",
    "nan_to_num", "real_if_close", "iscomplex", "isreal",
]}  # fmt: skip

# NumPy's own row_stack, the reference, warns that it is deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`row_stack` alias:DeprecationWarning")


@pytest.mark.parametrize(
    "name,args",
    [("acos", [0.3]), ("asin", [-0.4]), ("atan", [1.3]), ("acosh", [1.7]), ("asinh", [-0.8]),
     ("atanh", [0.6]), ("atan2", [0.5, -1.2]), ("pow", [1.3, 2.5])],
)  # fmt: skip
def test_array_api_elementwise(name, args):
    xs = [np.full((3,), a) + rand((3,), seed=i, low=0.0, high=0.1) for i, a in enumerate(args)]
    f = getattr(anp, name)
    np.testing.assert_allclose(f(*xs), getattr(np, name)(*xs), rtol=1e-14)
    check(f, *xs)


def test_array_api_integer_names():
    a, b = np.array([1, 6, 12]), np.array([2, 1, 3])
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        np.testing.assert_array_equal(getattr(anp, name)(a, b), getattr(np, name)(a, b))
    for name in ("bitwise_invert", "bitwise_not"):
        np.testing.assert_array_equal(getattr(anp, name)(a), getattr(np, name)(a))


def test_array_api_shapes_and_products():
    x = rand((2, 3, 4), seed=1)
    np.testing.assert_array_equal(anp.permute_dims(x, (2, 0, 1)), np.permute_dims(x, (2, 0, 1)))
    np.testing.assert_array_equal(anp.matrix_transpose(x), np.matrix_transpose(x))
    np.testing.assert_array_equal(anp.concat([x, x], axis=1), np.concat([x, x], axis=1))
    for got, want in zip(anp.unstack(x, axis=1), np.unstack(x, axis=1)):
        np.testing.assert_array_equal(got, want)
    check(lambda a: anp.permute_dims(a, (1, 2, 0)), x)
    check(anp.matrix_transpose, x)
    check(lambda a: anp.unstack(a, axis=-1), x)
    y = rand((3, 4), seed=2)
    np.testing.assert_allclose(anp.vecdot(x, y), np.vecdot(x, y), rtol=1e-14)
    np.testing.assert_allclose(anp.vecdot(x, x[::-1], axis=1), np.vecdot(x, x[::-1], axis=1))
    c = y + 1j * rand((3, 4), seed=3)
    np.testing.assert_allclose(anp.vecdot(c, y), np.vecdot(c, y), rtol=1e-14)
    v = rand((4,), seed=4)
    np.testing.assert_allclose(anp.matvec(x, v), np.matvec(x, v), rtol=1e-14)
    w = rand((2, 3), seed=5)
    np.testing.assert_allclose(anp.vecmat(w, x), np.vecmat(w, x), rtol=1e-14)
    check(anp.vecdot, x, y)
    check(anp.matvec, x, v)
    check(anp.vecmat, w, x)
    with pytest.raises(OpError, match="at least 2 dimensions"):
        anp.matrix_transpose(np.ones(3))
    with pytest.raises(OpError, match="different lengths"):
        anp.vecdot(np.ones(3), np.ones(4))


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("shape,axis", [((4,), None), ((2, 3), 1), ((2, 3), 0)])
@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative(name, shape, axis, include_initial):
    x = rand(shape, seed=6)
    f = lambda a: getattr(anp, name)(a, axis=axis, include_initial=include_initial)  # noqa: E731
    want = getattr(np, name)(x, axis=axis, include_initial=include_initial)
    np.testing.assert_allclose(f(x), want, rtol=1e-14)
    check(f, x)


def test_cumulative_needs_axis():
    with pytest.raises(OpError, match="axis is required"):
        anp.cumulative_sum(np.ones((2, 2)))


@pytest.mark.parametrize(
    "call",
    [lambda m, a: m.append(a, [1.0, 2.0]),
     lambda m, a: m.append(a, np.ones((1, 4)), axis=0),
     lambda m, a: m.insert(a, 1, 5.0),
     lambda m, a: m.insert(a, [0, 2, 2], [7.0, 8.0, 9.0], axis=1),
     lambda m, a: m.insert(a, 1, np.array([1.0, 2.0, 3.0]), axis=0)
     if a.shape[1] == 3 else m.insert(a, 1, 0.5, axis=0),
     lambda m, a: m.insert(a, slice(0, 2), -1.0, axis=1),
     lambda m, a: m.delete(a, 1),
     lambda m, a: m.delete(a, [0, 2], axis=1),
     lambda m, a: m.delete(a, slice(None, None, 2), axis=0),
     lambda m, a: m.compress([True, False, True], a, axis=0),
     lambda m, a: m.compress([0, 1], a),
     lambda m, a: m.extract(np.arange(12).reshape(3, 4) % 3 == 0, a),
     lambda m, a: m.rollaxis(a, 1),
     lambda m, a: m.rollaxis(a[None], 2, 1),
     lambda m, a: m.block([[a, a], [a, a]]),
     lambda m, a: m.block([a[0], a[1]]),
     lambda m, a: m.block([[a[:, :2]], [a[:, 2:].T.reshape(3, 2)]]),
     lambda m, a: m.row_stack([a, a]),
     lambda m, a: m.vsplit(a, 3),
     lambda m, a: m.hsplit(a, [1, 3]),
     lambda m, a: m.dsplit(a.reshape(3, 2, 2), 2)],
)  # fmt: skip
def test_building_and_splitting(call):
    x = rand((3, 4), seed=7)
    got, want = call(anp, x), call(np, x)
    if isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    else:
        assert np.shape(got) == want.shape and np.asarray(got).dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    check(lambda a: call(anp, a), x)


def test_insert_values_and_broadcast_accumulate():
    # a broadcast value inserted three times receives the sum of three cotangents
    x = rand((3, 2), seed=8)
    g = ad.grad(lambda v: anp.sum(anp.insert(x, 1, v, axis=1)))(0.5)
    assert g == 3.0
    check(lambda a, v: anp.insert(a, [1], v, axis=0), x, np.array([[0.1, 0.2]]))
    # integer arrays take the values cast, as NumPy
    np.testing.assert_array_equal(anp.insert(np.arange(3), 1, 2.7), np.insert(np.arange(3), 1, 2.7))
    with pytest.raises(IndexError, match="insert"):
        anp.insert(np.ones(3), 9, 1.0)
    with pytest.raises(TypeError, match="indices are traced"):
        ad.grad(lambda i: anp.sum(anp.delete(np.ones(3), i)))(1.0)
    with pytest.raises(OpError, match="only works on arrays of 2 or more"):
        anp.vsplit(np.ones(4), 2)


def test_r_and_c():
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    for expr in [
        lambda m: m.r_[a, b],
        lambda m: m.r_[a, 0.5, 1:4],
        lambda m: m.r_[-1:1:5j, a],
        lambda m: m.r_["0,2", a, b],
        lambda m: m.r_["-1", np.ones((2, 2)), np.zeros((2, 1))],
        lambda m: m.r_["0,2,0", a, b],
        lambda m: m.c_[a, b],
        lambda m: m.c_[np.ones((2, 2)), a],
        lambda m: m.c_[a, 1:3],
    ]:
        got, want = expr(anp), expr(np)
        assert np.shape(got) == want.shape
        np.testing.assert_allclose(got, want)
    check(lambda x, y: anp.r_[x, 0.5, y], a, b)
    check(lambda x, y: anp.c_[x, y], a, b)
    with pytest.raises(TypeError, match="indexed, not called"):
        anp.r_(a)


def test_ix():
    got, want = (
        anp.ix_([0, 2], np.array([True, False, True, True])),
        np.ix_([0, 2], [True, False, True, True]),
    )
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    x = rand((3, 4), seed=9)
    check(lambda a: a[anp.ix_([0, 2], [1, 3])], x)


def test_select_piecewise_choose():
    x = np.linspace(-2, 2, 7) + 0.05
    conds = [x < -1, x < 1]
    np.testing.assert_allclose(
        anp.select(conds, [x**2, -x], default=3.0), np.select(conds, [x**2, -x], default=3.0)
    )
    check(lambda a: anp.select([a < -1, a < 1], [a**2, -a], default=a), x)
    funcs = [lambda t: t**2, lambda t: -t, 0.5]
    np.testing.assert_allclose(anp.piecewise(x, conds, funcs), np.piecewise(x, conds, funcs))
    np.testing.assert_allclose(
        anp.piecewise(x, [x > 0], [np.sin]), np.piecewise(x, [x > 0], [np.sin])
    )
    check(lambda a: anp.piecewise(a, [a < -1, a < 1], [lambda t: t**2, lambda t: -t, anp.sin]), x)
    i = np.array([[0, 2, 1], [1, 0, 2]])
    ch = [rand((2, 3), seed=k) for k in range(3)]
    np.testing.assert_array_equal(anp.choose(i, ch), np.choose(i, ch))
    np.testing.assert_array_equal(
        anp.choose(i + 2, ch, mode="wrap"), np.choose(i + 2, ch, mode="wrap")
    )
    np.testing.assert_array_equal(
        anp.choose(i + 1, ch, mode="clip"), np.choose(i + 1, ch, mode="clip")
    )
    check(lambda a, b: anp.choose(i, [a, b, 1.0]), ch[0], ch[1])
    g = ad.grad(lambda c: anp.sum(anp.choose(i, [c, ch[1], ch[2]])))(ch[0])
    np.testing.assert_array_equal(g, i == 0)
    with pytest.raises(OpError, match="out of range"):
        anp.choose(i + 3, ch)
    with pytest.raises(OpError, match="one choice per condition"):
        anp.select(conds, [x])
    with pytest.raises(OpError, match="need 2 or 3 functions"):
        anp.piecewise(x, conds, [np.sin])


def test_nan_to_num_and_complex_queries():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    np.testing.assert_array_equal(anp.nan_to_num(x), np.nan_to_num(x))
    kw = dict(nan=9.0, posinf=5.0, neginf=-5.0)
    np.testing.assert_array_equal(anp.nan_to_num(x, **kw), np.nan_to_num(x, **kw))
    c = np.array([complex(np.nan, 1), complex(2, np.inf)])
    np.testing.assert_array_equal(anp.nan_to_num(c), np.nan_to_num(c))
    np.testing.assert_array_equal(ad.grad(lambda a: anp.sum(anp.nan_to_num(a)))(x), [1, 0, 0, 0, 1])
    check(anp.nan_to_num, rand((3,), seed=10))
    z = np.array([1 + 1e-16j, 2 - 1e-17j])
    np.testing.assert_array_equal(anp.real_if_close(z), np.real_if_close(z))
    assert anp.real_if_close(z).dtype == np.float64
    assert anp.real_if_close(np.array([1 + 1j])).dtype == np.complex128
    with pytest.raises(TypeError, match="real_if_close: the result's dtype"):
        ad.grad(lambda a: anp.real_if_close(a * 1j).imag)(1.0)
    w = np.array([1 + 0j, 2 + 1j, 3.0])
    np.testing.assert_array_equal(anp.iscomplex(w), np.iscomplex(w))
    np.testing.assert_array_equal(anp.isreal(w), np.isreal(w))
    np.testing.assert_array_equal(anp.isreal(np.ones(2)), np.isreal(np.ones(2)))
    np.testing.assert_array_equal(anp.iscomplex(np.ones(2)), np.iscomplex(np.ones(2)))
