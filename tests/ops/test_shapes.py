"""Shape, joining and splitting operations: values against NumPy, derivatives against finite
differences (orders 1 and 2, both modes, float64/float32/complex), vmap against a loop,
jacfwd against jacrev, and the errors they raise."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.pytree import tree_leaves
from adgraph.ops._util import OpError

from .harness import check, rand

COVERED = {
    "numpy.reshape",
    "numpy.ravel",
    "numpy.broadcast_to",
    "numpy.broadcast_arrays",
    "numpy.transpose",
    "numpy.swapaxes",
    "numpy.moveaxis",
    "numpy.expand_dims",
    "numpy.squeeze",
    "numpy.sum_to_shape",
    "numpy.atleast_1d",
    "numpy.atleast_2d",
    "numpy.atleast_3d",
    "numpy.flip",
    "numpy.fliplr",
    "numpy.flipud",
    "numpy.roll",
    "numpy.rot90",
    "numpy.tile",
    "numpy.repeat",
    "numpy.pad",
    "numpy.meshgrid",
    "numpy.concatenate",
    "numpy.stack",
    "numpy.hstack",
    "numpy.vstack",
    "numpy.dstack",
    "numpy.column_stack",
    "numpy.split",
    "numpy.array_split",
}

ALL_DTYPES = (np.float64, np.float32, np.complex128)


def _sum_to_shape_np(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and x.shape[i] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)


def _case(name, f, g, *shapes):
    return pytest.param(f, g, list(shapes), id=name)


def _same(name, fname, shapes, *a, **k):
    """A case calling ``anp.fname`` and ``np.fname`` with the same extra arguments."""
    return _case(
        name,
        lambda *x: getattr(anp, fname)(*x, *a, **k),
        lambda *x: getattr(np, fname)(*x, *a, **k),
        *shapes,
    )


def _seq(name, fname, shapes, **k):
    """A case for functions taking a sequence of arrays (concatenate, stack, ...)."""
    return _case(
        name,
        lambda *x: getattr(anp, fname)(list(x), **k),
        lambda *x: getattr(np, fname)(list(x), **k),
        *shapes,
    )


CASES = [
    # reshape family
    _same("reshape", "reshape", [(2, 3)], (3, 2)),
    _same("reshape-neg", "reshape", [(2, 3)], (-1,)),
    _same("reshape-scalar", "reshape", [()], (1, 1)),
    _same("reshape-F", "reshape", [(2, 3)], (3, 2), order="F"),
    _case("reshape-method", lambda x: x.reshape(3, 2), lambda x: x.reshape(3, 2), (2, 3)),
    _case("flatten-method", lambda x: x.flatten(), lambda x: x.flatten(), (2, 3)),
    _same("ravel", "ravel", [(2, 3)]),
    _same("ravel-F", "ravel", [(2, 3)], order="F"),
    _same("broadcast_to", "broadcast_to", [(3,)], (2, 3)),
    _same("broadcast_to-scalar", "broadcast_to", [()], (2, 2)),
    _same("broadcast_to-mid", "broadcast_to", [(3, 1)], (2, 3, 4)),
    _case(
        "broadcast_arrays",
        lambda x, y: anp.broadcast_arrays(x, y),
        lambda x, y: np.broadcast_arrays(x, y),
        (3,),
        (2, 1),
    ),
    _case(
        "sum_to_shape",
        lambda x: anp.sum_to_shape(x, (3,)),
        lambda x: _sum_to_shape_np(x, (3,)),
        (2, 3),
    ),
    _case(
        "sum_to_shape-keep",
        lambda x: anp.sum_to_shape(x, (3, 1)),
        lambda x: _sum_to_shape_np(x, (3, 1)),
        (2, 3, 4),
    ),
    _same("transpose", "transpose", [(2, 3)]),
    _same("transpose-axes", "transpose", [(2, 3, 4)], (1, 0, 2)),
    _same("transpose-neg", "transpose", [(2, 3, 4)], (-1, 0, 1)),
    _case("T", lambda x: x.T, lambda x: x.T, (2, 3)),
    _same("swapaxes", "swapaxes", [(2, 3, 4)], 0, -1),
    _same("moveaxis", "moveaxis", [(2, 3, 4)], 0, -1),
    _same("moveaxis-lists", "moveaxis", [(2, 3, 4)], [0, 1], [2, 0]),
    _same("expand_dims", "expand_dims", [(2, 3)], 1),
    _same("expand_dims-neg", "expand_dims", [(2, 3)], -1),
    _same("expand_dims-tuple", "expand_dims", [(2, 3)], (0, 2)),
    _same("squeeze", "squeeze", [(1, 3, 1)]),
    _same("squeeze-axis", "squeeze", [(1, 3, 1)], -1),
    _same("squeeze-tuple", "squeeze", [(1, 3, 1)], (0, 2)),
    _same("atleast_1d", "atleast_1d", [()]),
    _same("atleast_1d-keep", "atleast_1d", [(2, 3)]),
    _case(
        "atleast_1d-many",
        lambda x, y: anp.atleast_1d(x, y),
        lambda x, y: np.atleast_1d(x, y),
        (),
        (2,),
    ),
    _same("atleast_2d-0", "atleast_2d", [()]),
    _same("atleast_2d-1", "atleast_2d", [(3,)]),
    _same("atleast_3d-0", "atleast_3d", [()]),
    _same("atleast_3d-1", "atleast_3d", [(3,)]),
    _same("atleast_3d-2", "atleast_3d", [(2, 3)]),
    _same("atleast_3d-3", "atleast_3d", [(2, 3, 2)]),
    # flips, rolls, rotations
    _same("flip", "flip", [(2, 3)]),
    _same("flip-axis", "flip", [(2, 3)], 0),
    _same("flip-neg", "flip", [(2, 3, 2)], -1),
    _same("flip-tuple", "flip", [(2, 3, 2)], (0, 2)),
    _same("fliplr", "fliplr", [(2, 3)]),
    _same("flipud", "flipud", [(3,)]),
    _same("roll-flat", "roll", [(2, 3)], 2),
    _same("roll-axis", "roll", [(2, 3)], -1, 1),
    _same("roll-big", "roll", [(2, 3)], 7, 1),
    _same("roll-tuple", "roll", [(2, 3)], (1, 2), (0, 1)),
    _same("roll-same-axis", "roll", [(2, 3)], (1, 1), (1, 1)),
    _same("roll-bcast", "roll", [(2, 3)], 1, (0, 1)),
    _same("rot90", "rot90", [(2, 3)]),
    _same("rot90-2", "rot90", [(2, 3)], 2),
    _same("rot90-3", "rot90", [(2, 3)], 3),
    _same("rot90-neg", "rot90", [(2, 3)], -1),
    _same("rot90-axes", "rot90", [(2, 3, 2)], 1, (2, 0)),
    # tile, repeat
    _same("tile", "tile", [(3,)], 2),
    _same("tile-2d", "tile", [(2, 3)], (2, 1)),
    _same("tile-up", "tile", [(3,)], (2, 1, 2)),
    _same("tile-scalar", "tile", [()], 3),
    _same("repeat", "repeat", [(2, 3)], 2),
    _same("repeat-axis", "repeat", [(2, 3)], 3, 1),
    _same("repeat-each", "repeat", [(3, 2)], [1, 0, 2], 0),
    _same("repeat-each-neg", "repeat", [(2, 3)], [2, 1, 3], -1),
    _same("repeat-one-list", "repeat", [(2, 3)], [2], 0),
    _case("repeat-method", lambda x: x.repeat(2, 0), lambda x: x.repeat(2, 0), (2, 3)),
    # pad
    _same("pad-constant", "pad", [(2, 3)], 1),
    _same("pad-constant-pairs", "pad", [(2, 3)], ((1, 2), (0, 3))),
    _same("pad-constant-value", "pad", [(2, 3)], 1, constant_values=2.5),
    _same(
        "pad-constant-per-axis",
        "pad",
        [(2, 3)],
        ((1, 1), (2, 1)),
        constant_values=((1.0, 2.0), (3.0, 4.0)),
    ),
    _same("pad-edge", "pad", [(2, 3)], ((1, 2), (3, 1)), mode="edge"),
    _same("pad-wrap", "pad", [(2, 3)], ((1, 3), (4, 2)), mode="wrap"),
    _same("pad-reflect", "pad", [(2, 3)], ((2, 3), (5, 4)), mode="reflect"),
    _same("pad-symmetric", "pad", [(2, 3)], ((2, 3), (4, 1)), mode="symmetric"),
    _same("pad-1d-reflect", "pad", [(4,)], (3, 2), mode="reflect"),
    _same("pad-one-axis", "pad", [(2, 3)], ((0, 0), (2, 2)), mode="wrap"),
    # meshgrid
    _case(
        "meshgrid-xy",
        lambda x, y: anp.meshgrid(x, y),
        lambda x, y: np.meshgrid(x, y),
        (3,),
        (2,),
    ),
    _case(
        "meshgrid-ij",
        lambda x, y, z: anp.meshgrid(x, y, z, indexing="ij"),
        lambda x, y, z: np.meshgrid(x, y, z, indexing="ij"),
        (3,),
        (2,),
        (2,),
    ),
    _case(
        "meshgrid-sparse",
        lambda x, y: anp.meshgrid(x, y, sparse=True),
        lambda x, y: np.meshgrid(x, y, sparse=True),
        (3,),
        (2,),
    ),
    _case(
        "meshgrid-xy3",
        lambda x, y, z: anp.meshgrid(x, y, z),
        lambda x, y, z: np.meshgrid(x, y, z),
        (3,),
        (2,),
        (2,),
    ),
    # joining
    _seq("concatenate", "concatenate", [(2, 3), (1, 3)]),
    _seq("concatenate-axis", "concatenate", [(2, 3), (2, 1), (2, 2)], axis=-1),
    _seq("concatenate-none", "concatenate", [(2, 3), (4,)], axis=None),
    _seq("stack", "stack", [(2, 3), (2, 3)]),
    _seq("stack-axis", "stack", [(2, 3), (2, 3), (2, 3)], axis=-1),
    _seq("stack-scalars", "stack", [(), ()]),
    _seq("hstack-1d", "hstack", [(2,), (3,)]),
    _seq("hstack-2d", "hstack", [(2, 3), (2, 1)]),
    _seq("vstack-1d", "vstack", [(3,), (3,)]),
    _seq("vstack-2d", "vstack", [(2, 3), (3,)]),
    _seq("dstack", "dstack", [(2, 3), (2, 3)]),
    _seq("dstack-1d", "dstack", [(3,), (3,)]),
    _seq("column_stack", "column_stack", [(3,), (3, 2)]),
    # splitting
    _same("split", "split", [(6, 2)], 3),
    _same("split-indices", "split", [(6, 2)], [1, 4]),
    _same("split-axis", "split", [(2, 6)], [2], axis=1),
    _same("array_split", "array_split", [(7, 2)], 3),
    _same("array_split-more", "array_split", [(3,)], 5),
    _same("array_split-unsorted", "array_split", [(5, 2)], [3, 1]),
    _same("array_split-negative", "array_split", [(5,)], [-2, 10]),
]


def _assert_tree_close(got, want, tol=1e-12):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_tree_close(g, w, tol)
        return
    got = np.asarray(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _inputs(shapes, dtype):
    return [rand(s, dtype, seed=i + 1) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("f,g,shapes", CASES)
def test_values_and_derivatives(f, g, shapes):
    _assert_tree_close(f(*_inputs(shapes, np.complex128)), g(*_inputs(shapes, np.complex128)))
    f32 = f(*_inputs(shapes, np.float32))
    assert all(np.asarray(o).dtype == np.float32 for o in tree_leaves(f32))
    # Several of these return lists of arrays of different shapes, so check dtype by dtype.
    for dt in ALL_DTYPES:
        check(f, *_inputs(shapes, dt))


@pytest.mark.parametrize("f,g,shapes", CASES)
def test_vmap_matches_loop(f, g, shapes):
    n = 3
    args = [rand((n,) + s, seed=i + 7) for i, s in enumerate(shapes)]
    got = ad.vmap(f)(*args)
    per = [f(*[a[k] for a in args]) for k in range(n)]
    if isinstance(per[0], (list, tuple)):
        want = [np.stack([np.asarray(p[j]) for p in per]) for j in range(len(per[0]))]
    else:
        want = np.stack([np.asarray(p) for p in per])
    _assert_tree_close(got, want)


def test_vmap_unbatched_operand_and_other_axis():
    x = rand((2, 3))
    ys = rand((4, 2, 3), seed=2)
    got = ad.vmap(lambda y: anp.concatenate([x, y], axis=1), in_axes=0)(ys)
    np.testing.assert_allclose(got, np.stack([np.concatenate([x, y], 1) for y in ys]))
    zs = rand((2, 4, 3), seed=3)
    got = ad.vmap(lambda z: anp.pad(anp.roll(z, 1), 1, mode="reflect"), in_axes=1)(zs)
    want = np.stack([np.pad(np.roll(zs[:, k], 1), 1, mode="reflect") for k in range(4)])
    np.testing.assert_allclose(got, want)


# ------------------------------------------------------------------ differentiable parameters
def test_pad_traced_constant_values():
    x = rand((2, 3))

    def f(x, c):
        return anp.pad(x, ((1, 2), (1, 0)), constant_values=c)

    c = np.float64(0.7)
    np.testing.assert_allclose(f(x, c), np.pad(x, ((1, 2), (1, 0)), constant_values=0.7))
    check(f, x, c)
    # d/dc sum(pad(x, c)) is the number of padded cells
    n_pad = 5 * 4 - 6
    np.testing.assert_allclose(ad.grad(lambda c: anp.sum(f(x, c)))(c), n_pad)
    cs = rand((2, 2), seed=4)
    want = np.pad(x, ((1, 2), (1, 0)), constant_values=cs)
    np.testing.assert_allclose(f(x, cs), want)
    check(f, x, cs)


def test_pad_copies_accumulate_in_reverse_mode():
    x = rand((3,))
    # Each element's gradient counts its copies: reflect of width 2 on [a b c] is
    # [c b | a b c | b a]: a appears twice, b three times, c twice.
    g = ad.grad(lambda x: anp.sum(anp.pad(x, 2, mode="reflect")))(x)
    np.testing.assert_allclose(g, [2.0, 3.0, 2.0])
    g = ad.grad(lambda x: anp.sum(anp.pad(x, (4, 0), mode="edge")))(x)
    np.testing.assert_allclose(g, [5.0, 1.0, 1.0])
    g = ad.grad(lambda x: anp.sum(anp.repeat(x, [3, 0, 1])))(x)
    np.testing.assert_allclose(g, [3.0, 0.0, 1.0])
    g = ad.grad(lambda x: anp.sum(anp.tile(x, 4) * np.arange(12.0)))(x)
    np.testing.assert_allclose(g, np.arange(12.0).reshape(4, 3).sum(0))


def test_split_unused_pieces_and_third_order():
    x = rand((6,))
    g = ad.grad(lambda x: anp.sum(anp.split(x, 3)[1] ** 2))(x)
    np.testing.assert_allclose(g, np.r_[0, 0, 2 * x[2:4], 0, 0])
    check(lambda x: anp.array_split(x, [4, 2])[1] ** 3, x, order=3)
    check(lambda x: anp.rot90(anp.pad(x.reshape(2, 3), 1, mode="wrap")) ** 3, x, order=3)


def test_meshgrid_gradients_are_sums():
    x, y = rand((3,)), rand((2,), seed=2)
    gx, gy = ad.grad(lambda x, y: anp.sum(anp.meshgrid(x, y)[0] * 2.0), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.full(3, 4.0))
    np.testing.assert_allclose(gy, np.zeros(2))


JAC = [
    ("pad-roll", lambda x: anp.roll(anp.pad(x, 1, mode="symmetric"), 2, axis=0)),
    ("split-concat", lambda x: anp.concatenate(anp.array_split(anp.ravel(x), 3)[::-1])),
    ("tile-rot", lambda x: anp.rot90(anp.tile(x, (1, 2))) * x[0, 0]),
    ("repeat-flip", lambda x: anp.flip(anp.repeat(x, [2, 1], axis=0), 1) ** 2),
    ("hstack-vstack", lambda x: anp.vstack([anp.hstack([x, x * x]), anp.column_stack([x, x])])),
]


@pytest.mark.parametrize("name,f", JAC, ids=[j[0] for j in JAC])
def test_jacfwd_matches_jacrev(name, f):
    x = rand((2, 2))
    jf = np.asarray(ad.jacfwd(f)(x))
    jr = np.asarray(ad.jacrev(f)(x))
    np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)
    e = np.zeros_like(x)
    e[0, 1] = 1e-6
    fd = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / 2e-6
    np.testing.assert_allclose(jf[..., 0, 1], fd, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ argument handling
def test_numpy_compatible_arguments():
    x = rand((2, 3))
    np.testing.assert_allclose(anp.reshape(x, shape=(3, 2)), x.reshape(3, 2))
    np.testing.assert_allclose(anp.reshape(x, newshape=6), x.reshape(6))
    assert anp.squeeze(x) is x
    assert anp.transpose(x, (0, 1)) is x
    assert anp.flip(x, ()) is x
    assert anp.roll(x, 3, axis=1) is x
    assert isinstance(anp.atleast_2d(x, x), tuple)
    assert isinstance(anp.split(x, 1), list)
    np.testing.assert_allclose(anp.tile([1.0, 2.0], 2), np.tile([1.0, 2.0], 2))
    np.testing.assert_allclose(anp.repeat(3.0, 2), np.repeat(3.0, 2))
    np.testing.assert_allclose(anp.pad([1.0, 2.0], 1), np.pad([1.0, 2.0], 1))
    np.testing.assert_allclose(anp.stack([[1.0], [2.0]]), np.stack([[1.0], [2.0]]))
    assert anp.concatenate([x, x], dtype=np.float32).dtype == np.float32
    np.testing.assert_allclose(anp.tile(x, (2, 0)), np.tile(x, (2, 0)))


ERRORS = [
    (lambda: anp.reshape(np.ones(6), (4, 2)), ["reshape", "6", "(4, 2)"]),
    (lambda: anp.reshape(np.ones(6), (-1, -1)), ["reshape", "one unknown"]),
    (lambda: anp.broadcast_to(np.ones(3), (2, 4)), ["broadcast_to", "(3,)", "(2, 4)"]),
    (lambda: anp.broadcast_arrays(np.ones(3), np.ones(4)), ["broadcast_arrays", "(3,)", "(4,)"]),
    (lambda: anp.transpose(np.ones((2, 3)), (0, 0)), ["transpose", "permutation"]),
    (lambda: anp.swapaxes(np.ones((2, 3)), 0, 2), ["swapaxes", "out of bounds"]),
    (lambda: anp.moveaxis(np.ones((2, 3)), [0, 1], [0]), ["moveaxis"]),
    (lambda: anp.moveaxis(np.ones((2, 3)), [0, 0], [0, 1]), ["moveaxis", "repeated"]),
    (lambda: anp.expand_dims(np.ones(3), (0, 0)), ["expand_dims", "repeated"]),
    (lambda: anp.squeeze(np.ones((2, 1)), 0), ["squeeze", "size 2"]),
    (lambda: anp.sum_to_shape(np.ones((2, 3)), (2,)), ["sum_to_shape", "(2,)", "(2, 3)"]),
    (lambda: anp.fliplr(np.ones(3)), ["fliplr", "(3,)"]),
    (lambda: anp.roll(np.ones((2, 3)), (1, 2, 3), (0, 1)), ["roll"]),
    (lambda: anp.rot90(np.ones((2, 3)), 1, (0, 0)), ["rot90", "different"]),
    (lambda: anp.rot90(np.ones(3)), ["rot90", "2-D"]),
    (lambda: anp.tile(np.ones(3), -1), ["tile", "negative"]),
    (lambda: anp.repeat(np.ones(3), [1, 2]), ["repeat", "(2,)", "length 3"]),
    (lambda: anp.repeat(np.ones(3), -1), ["repeat", "non-negative"]),
    (lambda: anp.pad(np.ones(3), 1, mode="bogus"), ["pad", "bogus"]),
    (lambda: anp.pad(np.ones(3), -1), ["pad", "negative"]),
    (lambda: anp.pad(np.ones((2, 3)), ((1, 2, 3),)), ["pad", "pad_width"]),
    (lambda: anp.pad(np.ones(0), 1, mode="edge"), ["pad", "empty axis"]),
    (lambda: anp.pad(np.ones(2), 1, mode="edge", constant_values=1), ["pad", "constant_values"]),
    (lambda: anp.meshgrid(np.ones(2), indexing="xz"), ["meshgrid", "indexing"]),
    (lambda: anp.concatenate([np.ones((2, 3)), np.ones((3, 2))]), ["concatenate", "(2, 3)"]),
    (lambda: anp.concatenate([np.ones((2, 3)), np.ones(3)]), ["concatenate", "dimensions"]),
    (lambda: anp.concatenate([]), ["concatenate", "at least one"]),
    (lambda: anp.concatenate([np.float64(1.0), np.float64(2.0)]), ["concatenate", "zero-dim"]),
    (lambda: anp.stack([np.ones(2), np.ones(3)]), ["stack", "(2,)", "(3,)"]),
    (lambda: anp.hstack(np.float64(1.0)), ["hstack", "sequence"]),
    (lambda: anp.vstack([]), ["vstack", "at least one"]),
    (lambda: anp.split(np.ones(5), 2), ["split", "5", "2 equal"]),
    (lambda: anp.array_split(np.ones(5), 0), ["array_split", "larger than 0"]),
]


@pytest.mark.parametrize("call,words", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_operation_and_shapes(call, words):
    with pytest.raises(OpError) as exc:
        call()
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_large_operands_keep_only_what_the_rules_read():
    # Over the engine's residual-dropping size, transposes must need shapes only.
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((20, 20)), rng.standard_normal((20, 20))
    g = ad.grad(lambda w: anp.sum(anp.sin(anp.concatenate([w, x], axis=1))))(w)
    np.testing.assert_allclose(g, np.cos(w))
    g = ad.grad(lambda w: anp.sum(anp.sin(anp.pad(w, 3, mode="reflect"))))(w)
    want = np.zeros_like(w)
    idx = np.pad(np.arange(20), 3, mode="reflect")
    np.add.at(want, np.ix_(idx, idx), np.cos(np.pad(w, 3, mode="reflect")))
    np.testing.assert_allclose(g, want)
    check(lambda a: anp.split(anp.roll(a, 3, 0), 4, axis=1)[2] * a[:, :5], x)
