"""Cotangent sums in the backward sweep: added in place only into arrays the sweep alone
holds, never into an array a rule also handed elsewhere, kept as a residual or viewed."""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad import reverse, sweep

X = np.array([0.5, -1.0, 2.0, 3.0])
W = np.array([1.0, 2.0, -3.0, 0.25])


def test_new_arrays_are_owned_and_shared_ones_are_not():
    arr = np.ones(3)
    holder = [arr]
    cts = {"p": arr}
    assert not sweep._sole_owner(arr)  # also held by `holder`
    del holder
    assert sweep._sole_owner(arr)
    view = arr[1:]
    cts["q"] = view
    assert not sweep._sole_owner(view)  # a view
    assert not sweep._sole_owner(arr)  # viewed
    del view, cts["q"]
    ro = np.ones(3)
    ro.flags.writeable = False
    cts["r"] = ro
    assert not sweep._sole_owner(ro)


def _check(f, expected):
    g = ad.grad(f)(X.copy())
    np.testing.assert_allclose(g, expected, rtol=1e-14, atol=1e-14)

    # and the general sweep (observed tape) agrees
    class Obs:
        def record(self, node, value):
            pass

        def adjoint(self, node, ct):
            pass

    prev = reverse.HOOKS
    reverse.HOOKS = Obs()
    try:
        np.testing.assert_allclose(ad.grad(f)(X.copy()), expected, rtol=1e-14, atol=1e-14)
    finally:
        reverse.HOOKS = prev


def test_cotangent_handed_to_both_arguments():
    # add's rule gives the same array to both arguments: summing into it in place would
    # double the second contribution
    _check(lambda x: anp.sum((x + x) * W), 2 * W)
    _check(lambda x: anp.sum((x + x + x) * W), 3 * W)
    _check(lambda x: anp.sum(((x - x) + x) * W), W)


def test_a_shared_cotangent_is_not_changed_under_another_argument():
    # d = a + b hands one array to a and b; a then gets a second contribution (from c,
    # recorded after b, so swept before it): adding it into the shared array in place
    # would change b's cotangent too
    def f(x):
        a = x * 2.0
        b = anp.sin(x)
        c = a * a
        d = a + b
        return anp.sum(c) + anp.sum(d * W)

    _check(f, 8 * X + 2 * W + np.cos(X) * W)


def test_fresh_arrays_summed_in_place_give_the_sum():
    _check(lambda x: anp.sum(x * x * W), 2 * X * W)
    _check(
        lambda x: anp.sum(anp.sin(x) * W + anp.exp(x) * x + x * W),
        np.cos(X) * W + np.exp(X) * X + np.exp(X) + W,
    )


def test_views_and_residuals_are_not_written():
    def f(x):
        y = x * 2.0
        a = anp.reshape(y, (2, 2))  # reverse rule returns a view of the cotangent
        return anp.sum(a * W.reshape(2, 2)) + anp.sum(y * y)

    _check(f, 2 * W + 8 * X)

    @ad.custom_vjp
    def twice(u, v):
        return u + v

    # the same array returned for both arguments, and kept by the caller
    kept = []

    def bwd(res, ct):
        kept.append(ct)
        return ct, ct

    twice.defvjp(lambda u, v: (twice(u, v), None), bwd)
    g = ad.grad(lambda x: anp.sum(twice(x, x) * W))(X)
    np.testing.assert_allclose(g, 2 * W)
    np.testing.assert_allclose(kept[0], W)  # not modified by the sweep


def test_float32_and_integer_parts_unchanged():
    x32 = X.astype(np.float32)
    g = ad.grad(lambda x: anp.sum(x * x + anp.sin(x)))(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x32 + np.cos(x32), rtol=1e-6)
