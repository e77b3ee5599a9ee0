"""adgraph.lax: loops and branches equal their unrolled Python versions, in values and
derivatives (both modes, second order, finite differences), under jit and vmap; reverse
mode through scan with checkpoints is bit-identical to keeping every step; bad input is
refused by name."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.lax.revolve import repetitions, reverse_loop
from adgraph.test_util import check_grads

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=(4, 4)) * 0.4
XS = RNG.normal(size=(6, 4))
H0 = RNG.normal(size=4)


# ------------------------------------------------------------------ loops vs unrolled
def rnn_scan(W, h0, xs, ck=None, reverse=False):
    def step(h, x):
        h = anp.tanh(W @ h + x)
        return h, {"s": anp.sum(h * h), "h0": h[0]}

    h, ys = lax.scan(step, h0, xs, reverse=reverse, checkpoints=ck)
    return anp.sum(h) + anp.sum(ys["s"] * anp.arange(1.0, xs.shape[0] + 1)) + anp.sum(ys["h0"])


def rnn_unrolled(W, h0, xs, reverse=False):
    n = xs.shape[0]
    order = range(n - 1, -1, -1) if reverse else range(n)
    h, s, h0s = h0, [None] * n, [None] * n
    for i in order:
        h = anp.tanh(W @ h + xs[i])
        s[i], h0s[i] = anp.sum(h * h), h[0]
    return anp.sum(h) + anp.sum(anp.stack(s) * anp.arange(1.0, n + 1)) + anp.sum(anp.stack(h0s))


def fori(a, ck=None):
    return lax.fori_loop(1, 6, lambda i, v: anp.sin(v) * a + i * v, a, checkpoints=ck)


def fori_unrolled(a):
    v = a
    for i in range(1, 6):
        v = anp.sin(v) * a + i * v
    return v


def newton_sqrt(a):
    """sqrt(a) by Newton's iteration, stopping on the step size."""

    def body(c):
        x, _ = c
        x_new = 0.5 * (x + a / x)
        return x_new, anp.abs(x_new - x)

    x, _ = lax.while_loop(lambda c: c[1] > 1e-14, body, (a * 1.0, 1.0))
    return x


def mapped(x):
    return lax.map(lambda r: anp.sum(anp.exp(r) * r), x)


def branchy(x):
    return lax.cond(anp.sum(x) > 0, lambda u: anp.sin(u) * u, lambda u: anp.cos(u), x)


def switched(x):
    return lax.switch(2, [anp.sin, anp.cos, lambda u: u**3], x)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_equals_unrolled(reverse):
    np.testing.assert_allclose(
        rnn_scan(W0, H0, XS, reverse=reverse), rnn_unrolled(W0, H0, XS, reverse)
    )
    for argnums in (0, 1, 2):
        g = ad.grad(rnn_scan, argnums)(W0, H0, XS, reverse=reverse)
        gu = ad.grad(rnn_unrolled, argnums)(W0, H0, XS, reverse)
        np.testing.assert_allclose(g, gu, rtol=1e-12, atol=1e-13)
    hs = ad.hessian(lambda h: rnn_scan(W0, h, XS, reverse=reverse))(H0)
    hu = ad.hessian(lambda h: rnn_unrolled(W0, h, XS, reverse))(H0)
    np.testing.assert_allclose(hs, hu, rtol=1e-10, atol=1e-12)


def test_fori_while_map_cond_equal_unrolled():
    assert np.isclose(fori(0.7), fori_unrolled(0.7))
    assert np.isclose(ad.grad(fori)(0.7), ad.grad(fori_unrolled)(0.7))
    assert np.isclose(ad.hessian(fori)(0.7), ad.hessian(fori_unrolled)(0.7))
    x = RNG.normal(size=(3, 2))
    np.testing.assert_allclose(mapped(x), [np.sum(np.exp(r) * r) for r in x])
    np.testing.assert_allclose(ad.jacrev(mapped)(x), ad.jacfwd(mapped)(x))
    v = np.array([0.3, 0.4])
    np.testing.assert_allclose(ad.grad(lambda u: anp.sum(branchy(u)))(v), np.sin(v) + v * np.cos(v))
    np.testing.assert_allclose(ad.grad(lambda u: anp.sum(branchy(u)))(-v), np.sin(v))
    np.testing.assert_allclose(ad.grad(lambda u: anp.sum(switched(u)))(v), 3 * v**2)
    assert lax.switch(-5, [lambda: 1.0, lambda: 2.0]) == 1.0  # clamped, as in JAX
    assert lax.switch(9, [lambda: 1.0, lambda: 2.0]) == 2.0


@pytest.mark.parametrize(
    "f, args",
    [
        (lambda W, h: rnn_scan(W, h, XS[:3]), (W0, H0)),
        (lambda W, h: rnn_scan(W, h, XS[:3], ck=1, reverse=True), (W0, H0)),
        (fori, (0.7,)),
        (lambda a: fori(a, ck=2), (0.7,)),
        (newton_sqrt, (2.0,)),
        (mapped, (RNG.normal(size=(3, 2)),)),
        (branchy, (np.array([0.3, 0.4]),)),
        (switched, (np.array([0.3, 0.4]),)),
    ],
    ids=["scan", "scan-ckpt-reverse", "fori", "fori-ckpt", "while", "map", "cond", "switch"],
)
def test_check_grads(f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_while_loop_gradient_of_newton_sqrt_is_analytic():
    for a in (0.5, 2.0, 9.0):
        assert np.isclose(newton_sqrt(a), np.sqrt(a), rtol=1e-14)
        assert np.isclose(ad.grad(newton_sqrt)(a), 1 / (2 * np.sqrt(a)), rtol=1e-12)
        assert np.isclose(ad.jvp(newton_sqrt, (a,), (1.0,))[1], 1 / (2 * np.sqrt(a)), rtol=1e-12)


# ------------------------------------------------------------------ jit, vmap, nesting
def test_jit_equals_eager():
    f = lambda W: rnn_scan(W, H0, XS, ck=2)  # noqa: E731
    np.testing.assert_allclose(ad.jit(f)(W0), f(W0))
    np.testing.assert_allclose(ad.jit(ad.grad(f))(W0), ad.grad(f)(W0), rtol=1e-13)
    for a in (2.0, 5.0):  # a different trip count fails a guard and retraces
        assert np.isclose(ad.jit(ad.grad(newton_sqrt))(a), 1 / (2 * np.sqrt(a)))
    assert np.isclose(ad.jit(fori)(0.7), fori(0.7))
    v = np.array([0.3, 0.4])
    np.testing.assert_allclose(ad.jit(branchy)(v), branchy(v))
    np.testing.assert_allclose(ad.jit(branchy)(-v), branchy(-v))
    np.testing.assert_allclose(
        ad.jit(lambda i, u: lax.switch(i, [anp.sin, anp.cos], u))(1, v), np.cos(v)
    )


def test_vmap_equals_eager():
    X = RNG.normal(size=(3, *XS.shape))
    got = ad.vmap(lambda xs: rnn_scan(W0, H0, xs))(X)
    np.testing.assert_allclose(got, [rnn_scan(W0, H0, x) for x in X])
    g = ad.vmap(ad.grad(lambda W, xs: rnn_scan(W, H0, xs, ck=2)), in_axes=(None, 0))(W0, X)
    np.testing.assert_allclose(g, [ad.grad(rnn_scan)(W0, H0, x) for x in X], rtol=1e-12)
    a = np.array([0.5, 2.0, 9.0])  # a batched predicate: each example stops on its own
    np.testing.assert_allclose(ad.vmap(newton_sqrt)(a), np.sqrt(a))
    np.testing.assert_allclose(ad.vmap(ad.grad(newton_sqrt))(a), 1 / (2 * np.sqrt(a)))
    u = np.array([[0.3, 0.4], [-0.3, -0.4]])
    np.testing.assert_allclose(ad.vmap(branchy)(u), [branchy(r) for r in u])
    idx = np.array([0, 1, 5])
    got = ad.vmap(lambda i: lax.switch(i, [anp.sin, anp.cos, anp.exp], 0.5))(idx)
    np.testing.assert_allclose(got, [np.sin(0.5), np.cos(0.5), np.exp(0.5)])


def test_nested_loops_and_closures():
    def f(a):  # a scan inside a fori_loop, both closing over a
        def outer(i, v):
            return lax.scan(lambda c, x: (c * anp.cos(a * x), None), v, np.arange(3.0))[0] + a

        return lax.fori_loop(0, 3, outer, a)

    def fu(a):
        v = a
        for _ in range(3):
            for x in np.arange(3.0):
                v = v * anp.cos(a * x)
            v = v + a
        return v

    assert np.isclose(f(0.4), fu(0.4))
    assert np.isclose(ad.grad(f)(0.4), ad.grad(fu)(0.4))
    assert np.isclose(ad.grad(ad.grad(f))(0.4), ad.grad(ad.grad(fu))(0.4))
    assert np.isclose(ad.jvp(ad.grad(f), (0.4,), (1.0,))[1], ad.grad(ad.grad(fu))(0.4))


def test_scan_length_and_xs_none():
    c, ys = lax.scan(lambda c, _: (c * 2.0, c), 1.0, None, length=4)
    assert c == 16.0 and list(ys) == [1.0, 2.0, 4.0, 8.0]
    c, ys = lax.scan(lambda c, x: (c + x, c), 1.0, np.zeros((0,)))
    assert c == 1.0 and ys.shape == (0,)
    assert ad.grad(lambda a: lax.scan(lambda c, x: (c * x, None), a, np.zeros((0,)))[0])(2.0) == 1.0


def test_scan_is_one_node_of_the_graph():
    g = ad.trace(lambda W: rnn_scan(W, H0, XS), W0)
    assert sum(n.op == "scan" for n in g.toposort()) == 1


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("k", [1, 2, 3, 5, 6, 50])
def test_checkpoints_bit_identical_to_store_all(k):
    xs = RNG.normal(size=(40, 4))
    g_all = ad.grad(rnn_scan, (0, 1, 2))(W0, H0, xs)
    g_k = ad.grad(lambda W, h, x: rnn_scan(W, h, x, ck=k), (0, 1, 2))(W0, H0, xs)
    for a, b in zip(g_all, g_k):
        assert np.array_equal(a, b)


def test_revolve_schedule_bounds():
    for n in (1, 2, 7, 100, 1000):
        for k in (1, 2, 4, 20):
            seen, st = [], {}

            def back(c, t):
                assert c == t  # the carry handed back is the one of step t
                seen.append(t)

            reverse_loop(n, k, 0, lambda c, t: c + 1, back, st)
            assert seen == list(range(n - 1, -1, -1))
            assert st["peak"] <= k + 1  # k stored carries and the one being advanced
            if k > 1:
                assert st["advances"] <= repetitions(n, k - 1) * n
    assert repetitions(10_000, 19) == 5


def test_checkpoints_store_few_carries():
    """The number of carries alive during the backward sweep stays at k (+1 working)."""
    import tracemalloc

    xs = RNG.normal(size=(400, 64))
    h0 = np.zeros(64)
    W = RNG.normal(size=(64, 64)) / 8

    def peak(ck):
        f = ad.grad(
            lambda W: anp.sum(
                lax.scan(lambda h, x: (anp.tanh(W @ h + x), None), h0, xs, checkpoints=ck)[0]
            )
        )
        tracemalloc.start()
        f(W)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    assert peak(4) < 0.3 * peak(None)


def test_scan_under_vmap_is_one_scan_and_keeps_checkpoints():
    import tracemalloc

    X = RNG.normal(size=(3, 6, 4))
    for rev in (False, True):
        got = ad.vmap(lambda x: rnn_scan(W0, H0, x, reverse=rev))(X)
        assert np.allclose(got, [rnn_unrolled(W0, H0, x, reverse=rev) for x in X], atol=1e-12)
    Hs = RNG.normal(size=(3, 4))
    got = ad.vmap(lambda h: rnn_scan(W0, h, XS, ck=2))(Hs)
    assert np.allclose(got, [rnn_unrolled(W0, h, XS) for h in Hs], atol=1e-12)
    g = ad.trace(lambda X: ad.vmap(lambda x: rnn_scan(W0, H0, x))(X), X)
    assert sum(n.op == "scan" for n in g.toposort()) == 1
    # reverse mode around vmap keeps k carries, bit-identical to keeping every step
    xs = RNG.normal(size=(300, 16))
    W = RNG.normal(size=(16, 16)) / 4
    H = RNG.normal(size=(4, 16))

    def loss(W, ck):
        body = lambda h, x: (anp.tanh(W @ h + x), None)  # noqa: E731
        return anp.sum(ad.vmap(lambda h: lax.scan(body, h, xs, checkpoints=ck)[0])(H))

    def peak(ck):
        tracemalloc.start()
        g = ad.grad(loss)(W, ck)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p, g

    p_all, g_all = peak(None)
    p_ck, g_ck = peak(4)
    assert np.array_equal(g_all, g_ck)
    assert p_ck < 0.3 * p_all


def rnn_while(W, h0, xs, ck=None):
    """The RNN as a while_loop: its length is known only once it has run."""
    n = xs.shape[0]

    def body(c):
        i, h, acc = c
        h = anp.tanh(W @ h + anp.take(xs, i, axis=0))
        return i + 1, h, acc + anp.sum(h * h)

    _, h, acc = lax.while_loop(lambda c: c[0] < n, body, (0, h0, 0.0), checkpoints=ck)
    return anp.sum(h) + acc


@pytest.mark.parametrize("k", [1, 2, 3, 7, 50])
def test_while_loop_checkpoints_bit_identical_to_store_all(k):
    xs = RNG.normal(size=(40, 4))
    g_all = ad.grad(rnn_while, (0, 1, 2))(W0, H0, xs)
    g_k = ad.grad(lambda W, h, x: rnn_while(W, h, x, ck=k), (0, 1, 2))(W0, H0, xs)
    for a, b in zip(g_all, g_k):
        assert np.array_equal(a, b)


def test_while_loop_checkpoints_under_every_transformation():
    xs = RNG.normal(size=(12, 4))

    def f(W, ck):
        return rnn_while(W, H0, xs, ck)

    want = f(W0, None)
    assert f(W0, 3) == want
    t = ad.jvp(lambda W: f(W, 3), (W0,), (W0,))[1]
    assert np.array_equal(t, ad.jvp(lambda W: f(W, None), (W0,), (W0,))[1])
    assert np.array_equal(ad.jit(ad.grad(lambda W: f(W, 3)))(W0), ad.grad(lambda W: f(W, None))(W0))
    h3 = ad.hessian(lambda a: f(W0 * a, 3))(1.0)
    assert np.allclose(h3, ad.hessian(lambda a: f(W0 * a, None))(1.0), rtol=1e-12)
    check_grads(lambda W: f(W, 2), (W0,), order=2, modes=("rev",))
    # a batched trip count: each example's carry frozen once it is done
    ns = np.array([3, 7, 5])

    def g(a, n, ck):
        return lax.while_loop(
            lambda c: c[0] < n, lambda c: (c[0] + 1, anp.sin(c[1]) * a), (0, a), checkpoints=ck
        )[1]

    a = np.array([0.5, 0.9, 1.3])
    want = ad.vmap(ad.grad(lambda a, n: g(a, n, None)))(a, ns)
    assert np.array_equal(ad.vmap(ad.grad(lambda a, n: g(a, n, 2)))(a, ns), want)

    # reverse mode around vmap: the batched loop is one checkpointed while_loop again
    def total(a, ck):
        return anp.sum(ad.vmap(lambda a, n: g(a, n, ck))(a, ns))

    assert np.array_equal(ad.grad(lambda a: total(a, 2))(a), ad.grad(lambda a: total(a, None))(a))
    assert np.array_equal(
        ad.vmap(lambda a, n: g(a, n, 2))(a, ns), ad.vmap(lambda a, n: g(a, n, None))(a, ns)
    )


def test_while_loop_checkpoints_newton_sqrt_analytic():
    def sqrt_ck(a):
        def body(c):
            x, _ = c
            x_new = 0.5 * (x + a / x)
            return x_new, anp.abs(x_new - x)

        return lax.while_loop(lambda c: c[1] > 1e-14, body, (a * 1.0, 1.0), checkpoints=2)[0]

    for a in (2.0, 9.0):
        assert np.isclose(ad.grad(sqrt_ck)(a), 0.5 / np.sqrt(a))
        assert ad.grad(sqrt_ck)(a) == ad.grad(newton_sqrt)(a)


def test_fori_loop_traced_bounds_with_checkpoints():
    def f(a, n):
        return lax.fori_loop(0, n, lambda i, v: anp.sin(v) * a, a, checkpoints=2)

    def ref(a, n):
        return lax.fori_loop(0, n, lambda i, v: anp.sin(v) * a, a)

    g = ad.jit(ad.grad(f))(0.7, np.int64(6))  # the bound is traced by jit
    assert np.array_equal(g, ad.grad(ref)(0.7, 6))


def test_online_schedule_bounds():
    from adgraph.lax.online import Thinning, reverse_segments

    for n in (0, 1, 2, 7, 100, 1000, 5000):
        for k in (1, 2, 3, 4, 20):
            th = Thinning(max(1, -(-k // 2)))
            for t in range(n):
                th.offer(t, t)
            assert len(th.kept) <= max(1, -(-k // 2))
            seen, st = [], {}

            def back(c, t):
                assert c == t  # the carry handed back is the one of step t
                seen.append(t)

            reverse_segments(n, k, dict(th.kept), lambda c, t: c + 1, back, st)
            assert seen == list(range(n - 1, -1, -1))
            if n:
                assert st["peak"] <= k + 1  # k stored carries and the one being advanced
            if k >= 4 and n:  # segments of fewer than 2n/ceil(k/2) steps, each by revolve
                seg = max(1, 2 * n // -(-k // 2))
                assert st["advances"] <= repetitions(seg, k - -(-k // 2)) * n
    th = Thinning(10)
    for t in range(10_000):
        th.offer(t, t)
    assert th.stride == 1024 and len(th.kept) == 10


def test_while_loop_checkpoints_store_few_carries():
    import tracemalloc

    xs = RNG.normal(size=(400, 64))
    h0 = np.zeros(64)
    W = RNG.normal(size=(64, 64)) / 8

    def peak(ck):
        f = ad.grad(lambda W: rnn_while(W, h0, xs, ck))
        tracemalloc.start()
        f(W)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    assert peak(4) < 0.3 * peak(None)
    H = RNG.normal(size=(3, 64))  # under vmap too

    def peak_batched(ck):
        f = ad.grad(lambda W: anp.sum(ad.vmap(lambda h: rnn_while(W, h, xs, ck))(H)))
        tracemalloc.start()
        f(W)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    assert peak_batched(4) < 0.3 * peak_batched(None)


# ------------------------------------------------------------------ bad input
def test_bad_input_is_refused_by_name():
    with pytest.raises(
        TypeError, match=r"scan: f changed carry leaf 0 .* float64\[\] to float64\[2\]"
    ):
        lax.scan(lambda c, x: (c * np.ones(2), None), 1.0, np.ones(3))
    with pytest.raises(
        TypeError, match=r"while_loop: body_fun changed carry leaf 0 .* int64\[\] to float64"
    ):
        lax.while_loop(lambda c: c < 3, lambda c: c + 1.5, 0)
    with pytest.raises(TypeError, match="structure"):
        lax.fori_loop(0, 2, lambda i, c: (c, c), 1.0)
    with pytest.raises(
        TypeError, match=r"while_loop: cond_fun must return a boolean scalar, got float64"
    ):
        lax.while_loop(lambda c: c - 3.0, lambda c: c + 1.0, 0.0)
    with pytest.raises(TypeError, match="boolean scalar"):
        ad.grad(lambda a: lax.while_loop(lambda c: c < np.ones(2), lambda c: c * 2, a))(1.0)
    with pytest.raises(TypeError, match="cond: pred must be a boolean scalar"):
        lax.cond(1.0, lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="negative trip count"):
        lax.fori_loop(5, 2, lambda i, c: c, 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        lax.scan(lambda c, x: (c, x), 0.0, None, length=-1)
    with pytest.raises(ValueError, match="different leading sizes"):
        lax.scan(lambda c, x: (c, None), 0.0, (np.ones(2), np.ones(3)))
    with pytest.raises(ValueError, match="checkpoints must be at least 1"):
        lax.scan(lambda c, x: (c, None), 0.0, np.ones(2), checkpoints=0)
    with pytest.raises(TypeError, match="fori_loop: lower must be an integer"):
        lax.fori_loop(0.0, 2, lambda i, c: c, 0.0)
    with pytest.raises(TypeError, match=r"changed carry leaf 1 \(at carry\['b'\]\[0\]\)"):
        lax.scan(
            lambda c, x: ({"a": c["a"], "b": [c["b"][0].astype("float32")]}, None),
            {"a": 1.0, "b": [np.ones(2)]},
            np.ones(3),
        )
    with pytest.raises(TypeError, match=r"while_loop: body_fun changed carry leaf 0 \(at carry"):
        ad.grad(
            lambda a: lax.while_loop(
                lambda c: c["n"] < 3,
                lambda c: {"n": c["n"] + 1, "h": c["h"] * np.ones(2)},
                {"n": 0, "h": a},
                checkpoints=2,
            )["h"]
        )(1.0)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        ad.grad(lambda a: lax.while_loop(lambda c: c, lambda c: c * 2, a, checkpoints=2))(1.0)
    with pytest.raises(TypeError, match="fori_loop: body_fun must be callable"):
        lax.fori_loop(0, 3, 5, 1.0)
    with pytest.raises(TypeError, match="while_loop: cond_fun must be callable"):
        lax.while_loop(None, lambda c: c, 1.0)
    with pytest.raises(TypeError, match="scan: f must be callable"):
        lax.scan("f", 0.0, np.ones(2))
    with pytest.raises(TypeError, match="cond: false_fun must be callable"):
        lax.cond(True, lambda: 1.0, 2.0)
    with pytest.raises(TypeError, match="while_loop: checkpoints must be None"):
        lax.while_loop(lambda c: c < 1.0, lambda c: c + 1.0, 0.0, checkpoints=2.5)
    with pytest.raises(TypeError, match="switch: index must be an integer"):
        lax.switch(0.5, [lambda: 1.0])
    with pytest.raises(TypeError, match="branches must agree|same structure"):
        ad.vmap(lambda p: lax.cond(p > 0, lambda: (p, p), lambda: p))(np.ones(2))


def test_cond_with_a_concrete_predicate_checks_the_other_branch():
    # as jax.lax.cond: the result's structure, shapes and dtypes must not depend on pred
    x = np.ones(3)
    with pytest.raises(
        TypeError,
        match=r"cond: output leaf 0 is float64\[3\] from true_fun but float64\[2\] from false_fun",
    ):
        lax.cond(True, lambda u: u, lambda u: u[:2], x)
    with pytest.raises(
        TypeError, match=r"cond: false_fun returns structure .* but true_fun returns tuple"
    ):
        lax.cond(False, lambda u: (u, u), lambda u: u, x)
    with pytest.raises(
        TypeError, match=r"float64\[3\] from true_fun but float32\[3\] from false_fun"
    ):
        lax.cond(np.True_, lambda u: u, lambda u: u.astype(np.float32), x)
    for wrap in (ad.jit, lambda f: ad.vmap(f, in_axes=1)):
        with pytest.raises(TypeError, match=r"cond: output leaf 0"):
            wrap(lambda v: lax.cond(True, lambda u: u * 2, lambda u: u[:1], v))(np.ones((3, 2)))
    with pytest.raises(TypeError, match=r"cond: output leaf 0"):
        ad.grad(lambda v: anp.sum(lax.cond(True, lambda u: u * 2, lambda u: u[:1], v)))(x)
    # agreeing branches: the taken one's value and derivative; a Python number is weak
    g = ad.grad(lambda v: anp.sum(lax.cond(False, lambda u: u * 2, lambda u: u * u * 3, v)))
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [6.0, 12.0])
    assert lax.cond(True, lambda: 1.0, lambda: np.float32(2.0)) == 1.0
