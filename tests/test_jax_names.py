"""JAX's keywords and names that JAX programs use first: allow_int, vmap's axis_size,
linearize's has_aux, nondiff_argnames, ad.jacobian, and .at on any array."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.api.args import FLOAT0
from adgraph.ops._util import OpError

x3 = np.array([0.3, -1.2, 0.7])


def test_allow_int_gives_float0_for_integer_inputs():
    f = lambda x, n: anp.sum(x**n)  # noqa: E731
    gx, gn = ad.grad(f, (0, 1), allow_int=True)(x3, 3)
    np.testing.assert_allclose(gx, 3 * x3**2, rtol=1e-15)
    assert gn.dtype == FLOAT0 and gn.shape == ()
    idx = np.array([0, 2])
    gx, gi = ad.grad(lambda x, i: anp.sum(x[i] ** 2), (0, 1), allow_int=True)(x3, idx)
    np.testing.assert_allclose(gx, [2 * x3[0], 0.0, 2 * x3[2]])
    assert gi.dtype == FLOAT0 and gi.shape == (2,)
    v, g = ad.value_and_grad(lambda n, x: n * x, (0, 1), allow_int=True)(True, 2.0)
    assert v == 2.0 and g[0].dtype == FLOAT0 and g[1] == 1.0
    J = ad.jacrev(lambda x, n: x * n, (0, 1), allow_int=True)(x3, np.array([2, 3, 4]))
    np.testing.assert_array_equal(J[0], np.diag([2.0, 3.0, 4.0]))
    assert J[1].dtype == FLOAT0 and J[1].shape == (3, 3)
    # without it integers are refused, as before
    with pytest.raises(TypeError, match="int64"):
        ad.grad(f, 1)(x3, 3)
    with pytest.raises(ValueError, match="cannot be combined"):
        ad.grad(f, allow_int=True, holomorphic=True)


def test_allow_int_matches_jax_where_installed():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    g = jax.grad(lambda x, n: (x**n).sum(), (0, 1), allow_int=True)(x3, 3)
    ours = ad.grad(lambda x, n: anp.sum(x**n), (0, 1), allow_int=True)(x3, 3)
    np.testing.assert_allclose(ours[0], np.asarray(g[0]), rtol=1e-14)
    assert np.asarray(g[1]).dtype == ours[1].dtype


def test_vmap_axis_size_axis_name_and_spmd():
    out = ad.vmap(lambda: anp.ones(2), axis_size=3)()
    np.testing.assert_array_equal(out, np.ones((3, 2)))
    out = ad.vmap(lambda a, b: a * b, in_axes=(None, None), axis_size=2)(2.0, np.ones(3))
    np.testing.assert_array_equal(out, 2.0 * np.ones((2, 3)))
    np.testing.assert_array_equal(ad.vmap(lambda x: 2 * x, axis_name="i")(x3), 2 * x3)
    np.testing.assert_array_equal(ad.vmap(lambda x: 2 * x, axis_size=3)(x3), 2 * x3)
    with pytest.raises(ValueError, match="axis_size=4 but the mapped axes have size 3"):
        ad.vmap(lambda x: x, axis_size=4)(x3)
    with pytest.raises(NotImplementedError, match="spmd_axis_name"):
        ad.vmap(lambda x: x, spmd_axis_name="devices")
    with pytest.raises(TypeError, match="axis_size"):
        ad.vmap(lambda x: x, axis_size=1.5)
    with pytest.raises(ValueError, match="give axis_size"):
        ad.vmap(lambda a: a, in_axes=None)(1.0)


def test_linearize_has_aux():
    def f(x):
        return anp.sin(x) * 2.0, {"cos": anp.cos(x), "n": 3}

    out, f_jvp, aux = ad.linearize(f, x3, has_aux=True)
    np.testing.assert_allclose(out, 2 * np.sin(x3), rtol=1e-15)
    np.testing.assert_allclose(f_jvp(np.ones(3)), 2 * np.cos(x3), rtol=1e-15)
    np.testing.assert_allclose(aux["cos"], np.cos(x3), rtol=1e-15)
    assert type(aux["cos"]) is np.ndarray and aux["n"] == 3
    with pytest.raises(TypeError):
        ad.linearize(lambda x: anp.sin(x), x3, has_aux=True)


def test_nondiff_argnames_for_both_kinds():
    @functools.partial(ad.custom_vjp, nondiff_argnames=("lo", "hi"))
    def clip_gradient(x, lo, hi):
        return x

    clip_gradient.defvjp(lambda x, lo, hi: (x, None), lambda lo, hi, res, g: (anp.clip(g, lo, hi),))
    assert ad.grad(lambda x: 5.0 * clip_gradient(x, -1.0, hi=1.0))(2.0) == 1.0
    assert clip_gradient.nondiff_argnums == (1, 2)

    @functools.partial(ad.custom_jvp, nondiff_argnames=("n",))
    def power(x, n):
        return x**n

    @power.defjvp
    def _(n, primals, tangents):
        return power(primals[0], n), n * primals[0] ** (n - 1) * tangents[0]

    assert ad.grad(power)(2.0, 3) == 12.0
    assert ad.jvp(lambda x: power(x, n=3), (2.0,), (1.0,)) == (8.0, 12.0)
    with pytest.raises(ValueError, match="not a positional parameter"):
        ad.custom_vjp(lambda x: x, nondiff_argnames=("y",))
    with pytest.raises(TypeError, match="strings"):
        ad.custom_jvp(lambda x: x, nondiff_argnames=(0,))


def test_jacobian_is_jacrev():
    assert ad.jacobian is ad.jacrev
    np.testing.assert_allclose(ad.jacobian(anp.sin)(x3), np.diag(np.cos(x3)), rtol=1e-15)


# ------------------------------------------------------------------ .at[] on any array
def test_at_on_a_plain_array_and_on_traced_ones():
    x = np.arange(1.0, 6.0)
    y = ad.at(x)[1].set(10.0)
    np.testing.assert_array_equal(y, [1.0, 10.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(x, np.arange(1.0, 6.0))  # the input is left alone
    assert anp.at is ad.at
    g = ad.grad(lambda x: anp.sum(x.at[0].set(x[1] ** 2)))(x)
    np.testing.assert_array_equal(g, [0.0, 5.0, 1.0, 1.0, 1.0])


def test_at_power_with_repeated_indices_multiplies_exponents():
    x = np.array([3.0, 2.0, 5.0])
    idx = np.array([0, 2, 0])
    y = ad.at(x)[idx].power(np.array([2.0, 3.0, 0.5]))
    np.testing.assert_allclose(y, [3.0 ** (2.0 * 0.5), 2.0, 125.0], rtol=1e-15)
    g = ad.grad(lambda x: anp.sum(x.at[idx].power(2.0)))(x)
    np.testing.assert_allclose(g, [4 * 3.0**3, 1.0, 2 * 5.0], rtol=1e-14)
    gv = ad.grad(lambda v: anp.sum(ad.at(x)[1:].power(v)))(2.0)
    assert gv == pytest.approx(4.0 * np.log(2.0) + 25.0 * np.log(5.0), rel=1e-14)
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    want = jax.numpy.asarray(x).at[1:].power(2.0)
    np.testing.assert_allclose(ad.at(x)[1:].power(2.0), np.asarray(want), rtol=1e-15)


def test_at_apply_is_ufunc_at_and_refuses_repeats():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    y = ad.at(x)[np.array([0, 3])].apply(anp.sin)
    want = x.copy()
    np.sin.at(want, [0, 3])
    np.testing.assert_allclose(y, want, rtol=1e-15)
    g = ad.grad(lambda x: anp.sum(x.at[1:3].apply(anp.exp)))(x)
    np.testing.assert_allclose(g, [1.0, np.exp(0.2), np.exp(0.3), 1.0], rtol=1e-15)
    with pytest.raises(OpError, match="repeats"):
        ad.at(x)[np.array([1, 1])].apply(anp.sin)
    with pytest.raises(OpError, match="callable"):
        ad.at(x)[0].apply(2.0)


def test_at_get_and_update_modes():
    x = np.arange(1.0, 6.0)
    idx = np.array([0, 7, -1, -9])
    np.testing.assert_array_equal(ad.at(x)[idx].get(mode="fill"), [1.0, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(
        ad.at(x)[idx].get(mode="fill", fill_value=-1.0), [1.0, -1.0, 5.0, -1.0]
    )
    np.testing.assert_array_equal(ad.at(x)[idx].get(mode="clip"), [1.0, 5.0, 5.0, 1.0])
    np.testing.assert_array_equal(ad.at(x)[idx].add(10.0, mode="drop"), [11, 2, 3, 4, 15])
    np.testing.assert_array_equal(ad.at(x)[np.array([0, 7])].set(0.0, mode="clip"), [0, 2, 3, 4, 0])
    X = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(
        ad.at(X)[..., np.array([1, 9])].get(mode="fill", fill_value=0.0),
        [[1.0, 0.0], [5.0, 0.0], [9.0, 0.0]],
    )
    # derivatives: out-of-bound reads of a fill carry none; dropped updates none either
    g = ad.grad(lambda x: anp.sum(x.at[idx].get(mode="fill", fill_value=0.0)))(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 0.0, 1.0])
    _, t = ad.jvp(lambda v: ad.at(x)[np.array([1, 9])].add(v, mode="drop"), (2.0,), (1.0,))
    np.testing.assert_array_equal(t, [0.0, 1.0, 0.0, 0.0, 0.0])
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jx = jax.numpy.asarray(x)
    for mode in ("clip", "fill"):
        np.testing.assert_array_equal(
            ad.at(x)[idx].get(mode=mode), np.asarray(jx.at[idx].get(mode=mode))
        )
    np.testing.assert_array_equal(
        ad.at(x)[idx].add(10.0, mode="drop"), np.asarray(jx.at[idx].add(10.0, mode="drop"))
    )
    with pytest.raises(OpError, match="mode='wrap' is not supported"):
        ad.at(x)[0].get(mode="wrap")
    with pytest.raises(OpError, match="fill_value"):
        ad.at(x)[0].get(fill_value=0.0)


def test_vmap_out_axes_none_returns_an_unbatched_output_once():
    out, const = ad.vmap(lambda x, w: (x * w, w * 2.0), in_axes=(0, None), out_axes=(0, None))(
        x3, 2.0
    )
    np.testing.assert_array_equal(out, 2.0 * x3)
    assert np.shape(const) == () and const == 4.0
    with pytest.raises(ValueError, match="out_axes=None"):
        ad.vmap(lambda x: x * 2.0, out_axes=None)(x3)
