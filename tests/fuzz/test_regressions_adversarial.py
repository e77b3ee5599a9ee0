"""Minimal programs from disagreements the adversarial programs found
(tests/fuzz/adversarial.py), each checked against a closed form.

A test marked ``xfail(strict=True)`` is a bug whose fix belongs to a module this suite does
not own; its reason names the module and the cause, and it starts failing (so must be
unmarked) the day the fix lands.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import adgraph as ad
import adgraph.lax as lax
import adgraph.numpy as anp


def _sqrt_or_identity(x):
    # sqrt(x) for x > 0, x otherwise: the derivative is 1 / (2 sqrt(x)), or 1
    return lax.cond(x > 0, lambda a: anp.sqrt(a), lambda a: a, x)


BATCHED_BRANCH = (
    "lax/branches.py: with a predicate batched by vmap every branch runs for every example; "
    "the operands each branch gets are where(taken, x, stop_gradient(x)), so no derivative "
    "comes back from a branch an example does not take, but a value the branch closes over "
    "is not guarded, and reverse mode sends 0 * (not finite) = nan back through it"
)


def test_vmap_of_grad_of_cond_ignores_the_branch_not_taken():
    x = np.array([4.0, -1.0])
    want = np.array([0.25, 1.0])
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(ad.vmap(ad.grad(_sqrt_or_identity))(x), want, rtol=1e-15)
        # second order, and the staged switch of jit under vmap (its batching rule)
        np.testing.assert_allclose(
            ad.vmap(ad.hessian(_sqrt_or_identity))(x), [-1 / 32, 0.0], rtol=1e-15
        )
        for g in (
            ad.vmap(ad.grad(ad.jit(_sqrt_or_identity))),
            ad.vmap(ad.jit(ad.grad(_sqrt_or_identity))),
            ad.jit(ad.vmap(ad.grad(_sqrt_or_identity))),
            ad.grad(lambda z: anp.sum(ad.vmap(ad.jit(_sqrt_or_identity))(z))),
        ):
            np.testing.assert_allclose(g(x), want, rtol=1e-15)


def test_grad_of_vmap_of_switch_ignores_the_branches_not_taken():
    def f(x):
        k = (x < 0).astype(np.int32) + (x < -2).astype(np.int32)
        return lax.switch(k, [lambda a: anp.sqrt(a), lambda a: a**2, lambda a: 3.0 * a], x)

    x = np.array([4.0, -1.0, -3.0])
    want = np.array([0.25, -2.0, 3.0])
    with np.errstate(invalid="ignore"):
        got = ad.grad(lambda z: anp.sum(ad.vmap(f)(z)))(x)
    np.testing.assert_allclose(got, want, rtol=1e-15)


def _sqrt_or_triple_closed(x):
    # the branches close over x: sqrt(x) for x > 0, 3x otherwise
    return lax.cond(x > 0, lambda: anp.sqrt(x), lambda: 3.0 * x)


def test_vmap_of_grad_of_cond_whose_branches_close_over_the_input():
    f = _sqrt_or_triple_closed
    x = np.array([4.0, -1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(ad.vmap(ad.grad(f))(x), [0.25, 3.0], rtol=1e-15)


def test_closed_over_values_are_guarded_under_every_order_of_transformations():
    f = _sqrt_or_triple_closed
    x = np.array([4.0, -1.0, 9.0, -2.0])
    want = np.array([0.25, 3.0, 1 / 6, 3.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in (
            ad.grad(lambda z: anp.sum(ad.vmap(f)(z))),
            ad.jit(ad.vmap(ad.grad(f))),
            ad.vmap(ad.jit(ad.grad(f))),
            ad.vmap(ad.grad(ad.jit(f))),
            ad.grad(lambda z: anp.sum(ad.vmap(ad.jit(f))(z))),
        ):
            np.testing.assert_allclose(g(x), want, rtol=1e-15)
        # second order: sqrt'' = -x^(-3/2) / 4, (3x)'' = 0
        for h in (ad.vmap(ad.hessian(f)), ad.vmap(ad.hessian(ad.jit(f)))):
            np.testing.assert_allclose(h(x), [-1 / 32, 0.0, -1 / 108, 0.0], rtol=1e-14)
        # values are unchanged
        np.testing.assert_allclose(ad.vmap(f)(x), [2.0, -3.0, 3.0, -6.0], rtol=1e-15)


def test_switch_whose_branches_close_over_several_values_and_nested_functions():
    def f(x, y):
        def log_y():  # a nested function the branch reaches through its closure
            return anp.log(y)

        k = (x < 0).astype(np.int32) + (x < -2).astype(np.int32)
        return lax.switch(
            k,
            [lambda: anp.sqrt(x) * log_y(), lambda: x**2 + y, lambda: anp.log(-x) * y],
        )

    x = np.array([4.0, -1.0, -3.0])
    y = np.array([2.0, -5.0, 0.0])  # log(y) is nan or -inf where branch 0 is not taken
    # d/dx, d/dy in closed form
    gx = [np.log(2.0) / 4, -2.0, 0.0 / -3.0]
    gy = [2.0 / 2.0, 1.0, np.log(3.0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in (ad.vmap(ad.grad(f, argnums=(0, 1))), ad.vmap(ad.jit(ad.grad(f, argnums=(0, 1))))):
            got = g(x, y)
            np.testing.assert_allclose(got[0], gx, rtol=1e-15, atol=1e-300)
            np.testing.assert_allclose(got[1], gy, rtol=1e-15)


def test_closure_over_a_container_and_a_branch_inside_a_branch():
    def f(x):
        pair = (x, 2.0 * x)

        def inner():  # a batched cond inside a branch, closing over the outer input
            return lax.cond(x > 1, lambda: anp.sqrt(x - 1), lambda: pair[1])

        return lax.cond(x > 0, inner, lambda: anp.log(-pair[0]))

    # x > 1: 1 / (2 sqrt(x - 1)); 0 < x <= 1: 2; x <= 0: 1 / x
    x = np.array([5.0, 0.5, -2.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        for g in (ad.vmap(ad.grad(f)), ad.grad(lambda z: anp.sum(ad.vmap(f)(z)))):
            np.testing.assert_allclose(g(x), [0.25, 2.0, -0.5], rtol=1e-15)


def test_forward_mode_of_a_batched_cond_is_already_right():
    # forward mode selects the tangents after the branches, so nan never reaches them;
    # this guards the half that works while the reverse half is open
    x = np.array([4.0, -1.0])
    with np.errstate(invalid="ignore"):
        y, t = ad.jvp(ad.vmap(_sqrt_or_identity), (x,), (np.ones(2),))
    np.testing.assert_allclose(y, [2.0, -1.0], rtol=1e-15)
    np.testing.assert_allclose(t, [0.25, 1.0], rtol=1e-15)
    # and the staged switch (jit) runs each branch's own rule
    with np.errstate(invalid="ignore"):
        g = ad.vmap(ad.grad(ad.jit(_sqrt_or_identity)))(x)
    np.testing.assert_allclose(g, [0.25, 1.0], rtol=1e-15)


def test_vmap_of_jit_over_an_empty_batch():
    # jit traced with example 0 of the batch and raised IndexError; jax.vmap(jax.jit(f))
    # returns the empty batch
    got = ad.vmap(ad.jit(lambda z: z * 2.0))(np.zeros((0, 3)))
    assert got.shape == (0, 3)


def test_jacrev_of_jit_with_an_empty_input():
    J = ad.jacrev(ad.jit(lambda z: anp.sin(z) * 2.0))(np.zeros((2, 0)))
    assert J.shape == (2, 0, 2, 0)


def test_hessian_of_a_complex_input_needs_holomorphic():
    # jacfwd refuses a complex input without holomorphic=True, as JAX does; hessian, whose
    # outer pass is jacfwd, answered [[2+0j]] for |z|^2 -- one column of the 2x2 real
    # Hessian (2 I), passed off as a complex derivative. It refuses now, as jax.hessian does.
    z = np.array([1.0 + 2.0j])
    with pytest.raises(TypeError, match="complex input .* without holomorphic=True"):
        ad.hessian(lambda w: anp.abs(w[0]) ** 2)(z)
    # holomorphic: the second derivative of z^3 is 6 z
    h = ad.hessian(lambda w: anp.sum(w**3), holomorphic=True)(z)
    np.testing.assert_allclose(h, [[6.0 * z[0]]], rtol=1e-15)
    # reverse mode of the same real function keeps taking a complex input (the conjugate
    # gradient, JAX's convention): d|z|^2 = 2 conj(z)
    np.testing.assert_allclose(ad.grad(lambda w: anp.abs(w) ** 2)(z[0]), 2.0 - 4.0j)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_mixed_second_derivative_of_xlogy_at_x_zero(name):
    # f(x, y) = x log y (x log(1 + y)): the Hessian at x = 0 is [[0, 1/y], [1/y, 0]]
    # (1/(1+y)); the y-partial x/y was replaced by a constant 0 wherever x == 0, so its
    # x-derivative -- one of the two mixed entries -- came out 0: an asymmetric Hessian
    import adgraph.scipy.special as asp

    fn = getattr(asp, name)
    y = 2.0 if name == "xlogy" else 1.0
    m = 1.0 / 2.0
    H = ad.hessian(lambda v: fn(v[0], v[1]))(np.array([0.0, y]))
    np.testing.assert_allclose(H, [[0.0, m], [m, 0.0]], rtol=1e-15, atol=0)
    # along a path through x = 0: g(t) = t log(2 + 3t), g''(0) = 2 * 3 / 2 = 3
    g = ad.grad(ad.grad(lambda t: asp.xlogy(t, 2.0 + 3.0 * t)))(0.0)
    np.testing.assert_allclose(g, 3.0, rtol=1e-15)
    # the first derivatives keep their convention at x = y = 0: d/dy = 0
    with np.errstate(divide="ignore"):
        gx, gy = ad.grad(lambda a, b: fn(a, b), argnums=(0, 1))(
            0.0, 0.0 if name == "xlogy" else -1.0
        )
    assert gx == -np.inf and gy == 0.0


def test_mixed_second_derivative_of_power_at_exponent_zero():
    # f(x, y) = x ** y at y = 0: d2f/dx dy = x**(y-1) (1 + y log x) = 1/x, d2f/dy2 = log(x)^2.
    # The x-partial y x**(y-1) was replaced by a constant 0 wherever y == 0, so its
    # y-derivative (one mixed entry) came out 0 while the other was 1/x
    H = ad.hessian(lambda v: v[0] ** v[1])(np.array([2.0, 0.0]))
    np.testing.assert_allclose(H, [[0.0, 0.5], [0.5, np.log(2.0) ** 2]], rtol=1e-15)
    # the same through scalars (the float64 scalar path) and forward-over-forward
    assert ad.grad(lambda y: ad.grad(lambda x: x**y)(2.0))(0.0) == 0.5
    J = ad.jacfwd(ad.jacfwd(lambda v: anp.power(v[0], v[1])))(np.array([4.0, 0.0]))
    np.testing.assert_allclose(J, [[0.0, 0.25], [0.25, np.log(4.0) ** 2]], rtol=1e-15)
    # the first derivative keeps its convention at x = y = 0: 0
    assert ad.grad(lambda x: x**0.0)(0.0) == 0.0


def test_hessian_of_at_multiply_with_two_zeros_at_one_position():
    # y = x.at[[0, 0, 0, 0]].multiply(v) multiplies x[0] by v0 v1 v2 v3: at v = (0, 0, 2, 3)
    # d2y0/dv0 dv1 = v2 v3 = 6. The factor "product of the other updates" was a constant 0
    # wherever two zeros shared a position, so the Hessian came out 0 (JAX refuses this
    # gradient: scatter_mul with repeated indices); the closed form is that of prod
    def f(v):
        return anp.at(np.ones(2))[np.array([0, 0, 0, 0])].multiply(v)[0]

    for v in (
        [0.0, 0.0, 2.0, 3.0],
        [0.0, 0.0, 0.0, 3.0],
        [0.0, 1.5, 2.0, 3.0],
        [1.0, 2.0, 3.0, 4.0],
    ):
        v = np.array(v)
        want = np.array(
            [[0.0 if i == j else np.prod(np.delete(v, [i, j])) for j in range(4)] for i in range(4)]
        )
        np.testing.assert_allclose(ad.hessian(f)(v), want, rtol=1e-15)
        np.testing.assert_allclose(ad.jacrev(ad.jacrev(f))(v), want, rtol=1e-15)
        # third derivatives with three zeros: d3y0/dv0 dv1 dv2 = v3
        np.testing.assert_allclose(
            ad.jacfwd(ad.hessian(f))(v), ad.jacfwd(ad.hessian(anp.prod))(v), rtol=1e-15
        )


@pytest.mark.parametrize("scale", [1e-200, 1e-155, 1e200])
def test_gradient_of_norm_where_its_squares_underflow_or_overflow(scale):
    # d|x|/dx = x / |x|, a unit vector at every scale. Below ~1e-154 the squares underflow
    # and NumPy's norm (which adgraph's value follows) is 0; above ~1e154 it is inf; the
    # rules divided by that value and gave x itself (1e-200) or 0. They scale x by its
    # largest entry now. (JAX gives inf and nan there.)
    x = np.array([3.0, -4.0]) * scale
    want = np.array([0.6, -0.8])
    with np.errstate(over="ignore", under="ignore"):
        np.testing.assert_allclose(ad.grad(anp.linalg.norm)(x), want, rtol=1e-14)
        t = ad.jvp(anp.linalg.norm, (x,), (np.array([1.0, 1.0]),))[1]
        np.testing.assert_allclose(t, -0.2, rtol=1e-14)
        np.testing.assert_allclose(ad.jit(ad.grad(anp.linalg.norm))(x), want, rtol=1e-14)
        # the Hessian (I - u u^T) / |x|, scaled back by |x|
        H = ad.hessian(anp.linalg.norm)(x) * (5.0 * scale)
        np.testing.assert_allclose(H, np.eye(2) - np.outer(want, want), rtol=1e-13)
        # along an axis, each row its own scale
        X = np.array([[3.0, 4.0], [1e-100, 0.0]]) * scale
        G = ad.grad(lambda a: anp.sum(anp.linalg.norm(a, axis=1)))(X)
        np.testing.assert_allclose(G, [[0.6, 0.8], [1.0, 0.0]], rtol=1e-14)
    # a zero vector keeps its convention: 0
    assert np.all(ad.grad(anp.linalg.norm)(np.zeros(3)) == 0)


def test_sum_of_a_0d_boolean_counts():
    # a sum over no axis (a 0-d array, or axis=()) returned its argument unchanged: a bool
    # stayed a bool, so adding two such counts or-ed them (True + True = True), and an int8
    # kept wrapping (sum(int8(100)) + 100 = -56). NumPy sums in int64 (uint64)
    def count(x):
        return anp.sum(x < 0) + anp.sum(x > -5)

    assert count(np.array(-1.0)) == 2
    np.testing.assert_array_equal(ad.vmap(count)(np.array([-1.0, 2.0, -9.0])), [2, 1, 1])
    assert ad.grad(lambda x: x * count(x))(-1.0) == 2.0
    assert anp.sum(np.int8(100)) + 100 == 200
    for x in (np.array(True), np.array(3, np.int8), np.array(3, np.uint8), np.float32(2.5)):
        for name in ("sum", "prod", "nansum", "nanprod"):
            got, want = getattr(anp, name)(x), getattr(np, name)(x)
            assert np.asarray(got).dtype == np.asarray(want).dtype and got == want, (name, x)
    np.testing.assert_array_equal(anp.sum(np.array([True, False]), axis=()), [1, 0])
    assert anp.sum(np.array([True, False]), axis=()).dtype == np.int64
    assert anp.nansum(np.array([True, True])).dtype == np.int64


def test_fabs_of_booleans_and_integers_is_floating():
    # NumPy's fabs converts to floating; adgraph's returned the boolean itself, so
    # fabs(x > 0) + fabs(x > 0) or-ed to True where NumPy gives 2.0
    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(anp.fabs(x > 0) + anp.fabs(x > 0), [0.0, 2.0])
    for v in (np.array(True), np.array([100, 27], np.int8), np.array([-3, 5], np.int16)):
        got, want = anp.fabs(v), np.fabs(v)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(Exception, match="fabs: complex input"):
        anp.fabs(np.array([1j]))


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_gradient_of_std_where_the_variance_underflows_or_overflows(scale):
    # d std / dx_i = (x_i - m) / (n std): the variance's squares underflow to 0 (overflow
    # to inf) below ~1e-154 (above ~1e154), and sqrt(var) gave the derivative 0
    x = np.array([1.0, -1.0]) * scale
    with np.errstate(over="ignore", under="ignore"):
        np.testing.assert_allclose(ad.grad(anp.std)(x), [0.5, -0.5], rtol=1e-14)
        np.testing.assert_allclose(ad.jit(ad.grad(anp.std))(x), [0.5, -0.5], rtol=1e-14)
        np.testing.assert_allclose(anp.std(x), scale, rtol=1e-14)
        g = ad.grad(lambda x: anp.std(x, ddof=1))(x)
        np.testing.assert_allclose(g, [0.5**0.5, -(0.5**0.5)], rtol=1e-14)
        y = np.array([[1.0, -1.0, 3.0], [2.0, 2.0, 2.0]]) * scale
        # per row: (y - m) / (n s); the constant row has zero variance and gradient 0
        d = y[0] - y[0].mean()
        want = np.stack([d / (3 * np.sqrt(np.mean((d / scale) ** 2)) * scale), np.zeros(3)])
        got = ad.grad(lambda y: anp.sum(anp.std(y, axis=1)))(y)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
        # nanstd: the same, nan entries not counted and given derivative 0
        z = np.array([1.0, np.nan, -1.0]) * scale
        np.testing.assert_allclose(anp.nanstd(z), scale, rtol=1e-14)
        np.testing.assert_allclose(ad.grad(anp.nanstd)(z), [0.5, 0.0, -0.5], rtol=1e-14)
        np.testing.assert_allclose(ad.jit(ad.grad(anp.nanstd))(z), [0.5, 0.0, -0.5], rtol=1e-14)
        g = ad.grad(lambda z: anp.nanstd(z, ddof=1))(z)
        np.testing.assert_allclose(g, [0.5**0.5, 0.0, -(0.5**0.5)], rtol=1e-14)
        # var's derivative 2 (x - m) / n never divides by the variance: exact at any scale
        np.testing.assert_allclose(ad.grad(anp.var)(x), [scale, -scale], rtol=1e-14)


def test_float_power_computes_in_float64_whichever_argument_is_float32():
    # float_power(2.5, float32(2.5)) cast only x1, a Python float: power of a weak float and
    # a float32 computed in float32 (9.882117), where NumPy's float_power gives float64
    got = anp.float_power(2.5, np.float32(2.5))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, 2.5**2.5, rtol=1e-15)
    got = anp.float_power(2.5, np.array([1.5, -2.5], np.float16))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, [2.5**1.5, 2.5**-2.5], rtol=1e-15)
    g = ad.grad(lambda y: anp.float_power(2.5, y))(np.float32(2.5))  # d/dy = 2.5^y log 2.5
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2.5**2.5 * np.log(2.5), rtol=1e-6)


def _root_times(a, s):
    return anp.sqrt(a) * s


def _triple_times(a, s):
    return 3.0 * a * s


def test_branches_given_as_partials_or_with_defaults_closing_over_the_input():
    def by_partial(x):
        return lax.cond(
            x > 0, functools.partial(_root_times, x), functools.partial(_triple_times, x), 1.0
        )

    def by_default(x):
        def root(s, a=x):
            return anp.sqrt(a) * s

        return lax.cond(x > 0, root, lambda s: 3.0 * x * s, 1.0)

    x = np.array([4.0, -1.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        for f in (by_partial, by_default):
            for g in (ad.vmap(ad.grad(f)), ad.vmap(ad.grad(ad.jit(f)))):
                np.testing.assert_allclose(g(x), [0.25, 3.0], rtol=1e-15)
            np.testing.assert_allclose(ad.vmap(f)(x), [2.0, -3.0], rtol=1e-15)
