"""Cotangent sums in the backward sweep: added in place only into arrays the sweep alone
holds, never into an array a rule also handed elsewhere, kept as a residual or viewed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad import sweep, tape

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

    with tape.observe(Obs()):
        np.testing.assert_allclose(ad.grad(f)(X.copy()), expected, rtol=1e-14, atol=1e-14)


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


class _RefcountSpy:
    """Stands in for ``sys`` in the sweep module: ``getrefcount`` as the sweep sees it,
    and the ids of the arrays it was about to take as its own (an array the sweep keeps
    has such an id; once that array is freed, the next array may be given the same id)."""

    def __init__(self):
        self.ids = set()
        self._real = sys.getrefcount

    def getrefcount(self, a):
        n = self._real(a) - 1  # less this frame's own reference
        if n <= sweep._SOLE_REFS:
            self.ids.add(id(a))
        return n


@pytest.mark.parametrize("read_only", [False, True])
def test_a_reused_id_is_not_taken_for_the_sweeps_own_array(monkeypatch, read_only):
    # p's slot holds an array the sweep made (from p * W); getitem's general rule then
    # replaces it by a sum and the first array is freed. An array allocated next may get
    # its id: here the custom rule's cotangent, handed to q1 and q2 alike and kept by the
    # caller.
    # Ownership by id took it for the sweep's own and added q2's next contribution into it
    # in place: q1's gradient silently wrong and the caller's array changed (or, for a
    # read-only array, "output array is read-only").
    if sweep._SOLE_REFS is None:
        pytest.skip("reference counts are not observable on this interpreter")
    spy = _RefcountSpy()
    monkeypatch.setattr(sweep, "sys", spy)
    K = np.array([0.5, -2.0, 1.0, 3.0])
    kept = []
    reused = []

    @ad.custom_vjp
    def pair(u, v):
        return anp.sum(u * K) + anp.sum(v * K)

    def bwd(res, ct):
        hold = []  # keeps the candidates alive, so each new one gets a new address
        for _ in range(10_000):
            arr = np.array(K * ct)
            if id(arr) in spy.ids:
                reused.append(True)
                break
            hold.append(arr)
        arr.flags.writeable = not read_only
        kept.append((arr, arr.copy()))
        return arr, arr  # the same array for both arguments, and kept by the caller

    pair.defvjp(lambda u, v: (pair(u, v), None), bwd)

    def f(x):
        q1 = x * 3.0
        q2 = x * 5.0
        dq = anp.sum(q1 * W) + anp.sum(q2 * W)
        p = x * 2.0  # (recorded before pair: swept after it)
        c = pair(q1, q2)
        r = x * 7.0  # (recorded after pair: its cotangent, the sweep's own, is freed first)
        return dq + c + p[1] + anp.sum(p * W) + anp.sum(r * W)

    g = ad.grad(f)(X)
    assert reused, "no array was given a freed array's id: the case was not exercised"
    np.testing.assert_allclose(g, 8 * W + 8 * K + 2 * np.eye(4)[1] + 2 * W + 7 * W, rtol=1e-15)
    arr, copy = kept[0]
    np.testing.assert_array_equal(arr, copy)
