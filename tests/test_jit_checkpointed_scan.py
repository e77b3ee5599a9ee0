"""``jit`` of reverse mode through ``scan(..., checkpoints=k)``: one ``scan_revolve`` node.

The compiled program holds the step and its pullback once each, and its node that runs
the revolve schedule around them: its size does not depend on the trip count, it keeps at
most ``k`` carries (besides the one being advanced), and the gradients are bit for bit
those of eager ``grad`` with ``checkpoints=None`` and with ``checkpoints=k`` (Python code
generator; the C one to the math library's rounding, and bit for bit its own program with
``checkpoints=None``). ``jit(hessian)`` is one sweep too, of the step's forward mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.lax.revolve import actions, last_sweep, repetitions, reverse_loop, walk

rng = np.random.default_rng(7)


def chain(n, k):
    def f(x):
        return lax.fori_loop(0, n, lambda i, v: anp.sin(v) * v + 0.5, x, checkpoints=k)

    return f


def program(jf, *args):
    """The simplified graph of the program ``jf`` compiles for ``args``."""
    return jf.lower(*args).simplified


def ops(graph) -> list[str]:
    return sorted(n.op for n in graph.toposort() if not n.is_input)


def schedule_stats(n, k):
    """What :func:`reverse_loop` does for ``n`` steps and ``k`` carries (its advances, the
    most carries alive), and how many slots its table of actions fills."""
    stats: dict = {}
    reverse_loop(n, k, 0, lambda c, t: c, lambda c, t: None, stats)
    stats["stored"] = walk(actions(n, k), 0, lambda c, t: c, lambda c, t: None)["stored"]
    return stats


@pytest.mark.parametrize("k", [1, 2, 3, 7, 20, 60])
def test_action_table_is_reverse_loops_schedule(k):
    for n in [*range(0, 45), 1000]:
        seen, want = [], []
        stats: dict = {}
        reverse_loop(n, k, 0, lambda c, t: c + 1, lambda c, t: want.append((c, t)), stats)
        table = list(actions(n, k))
        got = walk(table, 0, lambda c, t: c + 1, lambda c, t: seen.append((c, t)))
        # every step pulled back once, last first, on its own carry (c_t = t here)
        assert seen == want == [(t, t) for t in range(n - 1, -1, -1)]
        assert got["advances"] == stats.get("advances", 0)
        assert got["stored"] <= min(k, n) and stats.get("peak", 0) <= k + 1
        assert len(table) <= 6 * n  # O(n) rows, whatever k (made one at a time)


@pytest.mark.parametrize("n", [1000, 10_000])
def test_chain_program_does_not_grow_with_the_trip_count(n):
    k = 20
    jf = ad.jit(ad.grad(chain(n, k)))
    g = jf(0.3)
    # one sweep node (and the item reading its result): 18,600 nodes before, at 1,000 steps
    assert ops(program(jf, 0.3)) == ["item", "scan_revolve"]
    assert last_sweep["compiled"] is True and last_sweep["steps"] == n
    # at most k carries stored, plus the one being advanced; every step recomputed at most
    # r times (revolve's bound)
    want = schedule_stats(n, k)
    assert last_sweep["stored"] == want["stored"] <= k
    assert last_sweep["advances"] == want["advances"] <= repetitions(n, k - 1) * n
    assert g == ad.grad(chain(n, None))(0.3)  # eager store-all, bit for bit
    assert g == ad.grad(chain(n, k))(0.3)
    assert g == jf(0.3)  # the compiled program, run again


def test_program_source_is_the_same_for_every_trip_count():
    sources = []
    for n in (10, 1000, 10_000):
        jf = ad.jit(ad.grad(chain(n, 5)))
        jf(0.3)
        src = jf.lower(0.3).source
        sources.append(src.replace(str(n), "N"))
    assert sources[0] == sources[1] == sources[2]


def _rnn_loss(W, xs, h0, k, reverse=False):
    n = xs.shape[0]

    def step(c, x):
        h, s = c["h"], c["s"]
        hn = anp.tanh(W @ h + x)
        return {"h": hn, "s": s + anp.sum(hn**2)}, (anp.sum(hn), hn * 2.0)

    c, (ys, zs) = lax.scan(step, {"h": h0, "s": 0.0}, xs, checkpoints=k, reverse=reverse)
    return anp.sum(c["h"]) + c["s"] + anp.sum(ys * anp.arange(n)) + anp.sum(zs**2)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("k", [1, 3, 20, 100])  # 100: more checkpoints than steps
def test_pytree_carry_ys_and_closure_equal_eager(k, reverse):
    H, n = 4, 37
    W = rng.normal(size=(H, H)) * 0.5
    xs = rng.normal(size=(n, H))
    h0 = rng.normal(size=H)
    grad = ad.grad(_rnn_loss, (0, 1, 2))
    ref = grad(W, xs, h0, None, reverse)
    eager_k = grad(W, xs, h0, k, reverse)
    jitted = ad.jit(grad, static_argnums=(3, 4))(W, xs, h0, k, reverse)
    for r, e, j in zip(ref, eager_k, jitted):
        np.testing.assert_array_equal(e, r)
        np.testing.assert_array_equal(j, r)
    assert last_sweep["steps"] == n and last_sweep["compiled"] is True
    assert last_sweep["stored"] == schedule_stats(n, k)["stored"] <= min(k, n)


def test_more_checkpoints_than_steps_recomputes_nothing():
    jf = ad.jit(ad.grad(chain(12, 50)))
    g = jf(0.7)
    # every carry computed once and stored: 11 advances (the carry after the last step is
    # never needed), 12 carries (c_0 .. c_11)
    assert last_sweep["advances"] == 11 and last_sweep["stored"] == 12
    assert g == ad.grad(chain(12, None))(0.7)


def test_vmap_outside_and_inside_grad_under_jit():
    H, n = 3, 25
    W = rng.normal(size=(H, H)) * 0.5
    Ws = rng.normal(size=(4, H, H)) * 0.5
    xs = rng.normal(size=(n, H))
    h0 = rng.normal(size=H)
    per = ad.vmap(ad.grad(_rnn_loss), in_axes=(0, None, None, None))
    np.testing.assert_array_equal(
        ad.jit(per, static_argnums=3)(Ws, xs, h0, 4), per(Ws, xs, h0, None)
    )
    assert last_sweep["steps"] == n  # the batched sweep ran as one node

    def batch_loss(W, k):
        H0 = np.stack([h0, 2 * h0, -h0])
        return anp.sum(ad.vmap(lambda h: _rnn_loss(W, xs, h, k))(H0))

    np.testing.assert_array_equal(
        ad.jit(ad.grad(batch_loss), static_argnums=1)(W, 4), ad.grad(batch_loss)(W, None)
    )
    # each example's gradient is its own: against the unbatched loss, per example (to
    # rounding: a batched matmul sums in another order)
    Hs = rng.normal(size=(3, H))
    per_h = ad.vmap(ad.grad(_rnn_loss, 2), in_axes=(None, None, 0, None))
    got = ad.jit(per_h, static_argnums=3)(W, xs, Hs, 2)
    np.testing.assert_array_equal(got, per_h(W, xs, Hs, None))
    for b in range(3):
        want = ad.grad(_rnn_loss, 2)(W, xs, Hs[b], None)
        np.testing.assert_allclose(got[b], want, rtol=1e-12, atol=1e-14)


def test_gradient_matches_finite_differences():
    # an independent reference: central differences of the loss itself
    H, n = 3, 200
    W = rng.normal(size=(H, H)) * 0.4
    xs = rng.normal(size=(n, H))
    h0 = rng.normal(size=H)
    g = ad.jit(ad.grad(_rnn_loss), static_argnums=3)(W, xs, h0, 6)
    eps = 1e-6
    fd = np.zeros_like(W)
    for i in range(H):
        for j in range(H):
            d = np.zeros_like(W)
            d[i, j] = eps
            fd[i, j] = (_rnn_loss(W + d, xs, h0, None) - _rnn_loss(W - d, xs, h0, None)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [1000, 10_000])
def test_hessian_under_jit_is_one_sweep_of_the_steps_forward_mode(n):
    jh = ad.jit(ad.hessian(chain(n, 5)))
    h = jh(0.6)
    g = program(jh, 0.6)
    assert sum(m.op == "scan_revolve" for m in g.toposort()) == 1
    assert len(ops(g)) <= 6  # the sweep, reading its result, the jacobian's reshapes
    assert last_sweep["steps"] == n and last_sweep["stored"] <= 5
    np.testing.assert_allclose(h, ad.hessian(chain(n, None))(0.6), rtol=1e-13)


def test_rnn_hessian_under_jit_in_both_code_generators():
    H, n = 3, 20
    W = rng.normal(size=(H, H)) * 0.5
    xs = rng.normal(size=(n, H))
    h0 = rng.normal(size=H)

    def loss(W, k):
        def st(c, x):
            h, s = c
            hn = anp.tanh(W @ h + x)
            return (hn, s + anp.sum(hn**2)), anp.sum(hn)

        (h, s), ys = lax.scan(st, (h0, 0.0), xs, checkpoints=k)
        return anp.sum(h) + s + anp.sum(ys * anp.arange(n))

    want = ad.hessian(loss)(W, None)
    for compiler in ("python", "c"):
        got = ad.jit(ad.hessian(loss), static_argnums=1, compiler=compiler)(W, 4)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    # the same numbers as the step-by-step sweep of forward over reverse mode, eagerly
    np.testing.assert_allclose(
        ad.hessian(loss)(W, 4), want, rtol=1e-13, atol=1e-13 * np.abs(want).max()
    )


def test_second_order_under_jit_equals_eager():
    # forward over reverse and reverse over reverse of the sweep (through the loop itself)
    f = chain(10, 3)
    want = ad.hessian(chain(10, None))(0.3)
    np.testing.assert_allclose(ad.jit(ad.hessian(f))(0.3), want, rtol=1e-14)
    np.testing.assert_allclose(ad.jit(ad.grad(ad.grad(f)))(0.3), want, rtol=1e-14)


def test_c_backend_lowers_the_sweep_as_one_loop():
    # the C source is the same whatever the trip count (the trip count itself aside)
    srcs = [ad.jit.c.c_source(ad.grad(chain(n, 20)), 0.3) for n in (1000, 10_000)]
    assert srcs[0].replace("1000", "N").replace("999", "M") == srcs[1].replace(
        "10000", "N"
    ).replace("9999", "M")
    assert srcs[0].count("sin(") == 2  # the step's advance and its pullback, once each
    for n in (1000, 10_000):
        jf = ad.jit(ad.grad(chain(n, 20)), compiler="c")
        for x in (0.3, 0.45):
            # C's libm may round sin/cos differently from NumPy's in the last bit
            np.testing.assert_allclose(jf(x), ad.grad(chain(n, None))(x), rtol=1e-13)
    cf = ad.jit.c.compile_c(ad.grad(chain(300, 4)), 0.3)  # batched over points
    xs = np.array([0.3, 0.45, -0.2])
    want = [ad.grad(chain(300, None))(x) for x in xs]
    np.testing.assert_allclose(cf(xs), want, rtol=1e-13)


@pytest.mark.parametrize("reverse", [False, True])
def test_c_backend_pytree_carry_equals_its_store_all_program(reverse):
    H, n = 4, 37
    W = rng.normal(size=(H, H)) * 0.5
    xs = rng.normal(size=(n, H))
    h0 = rng.normal(size=H)
    grad = ad.grad(_rnn_loss, (0, 1, 2))
    ref = grad(W, xs, h0, None, reverse)
    c_all = ad.jit(grad, static_argnums=(3, 4), compiler="c")(W, xs, h0, None, reverse)
    for k in (1, 3, 100):
        c_k = ad.jit(grad, static_argnums=(3, 4), compiler="c")(W, xs, h0, k, reverse)
        for r, a, g in zip(ref, c_all, c_k):
            np.testing.assert_array_equal(g, a)  # the same C operations on the same values
            np.testing.assert_allclose(g, r, rtol=1e-13, atol=1e-13 * np.abs(r).max())
    Ws = rng.normal(size=(3, H, H)) * 0.5
    per = ad.vmap(ad.grad(_rnn_loss), in_axes=(0, None, None, None, None))
    got = ad.jit(per, static_argnums=(3, 4), compiler="c")(Ws, xs, h0, 5, reverse)
    want = per(Ws, xs, h0, None, reverse)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())


def test_a_step_with_effects_runs_as_written_at_every_step():
    # a callback in the step: no straight-line sub-program; the sweep calls the step
    # itself, so the callback runs at every step run, as in eager mode
    seen: list[int] = []

    def f(x):
        def body(i, v):
            ad.debug.callback(lambda i: seen.append(int(i)), i)
            return anp.sin(v) * v + 0.5

        return lax.fori_loop(0, 8, body, x, checkpoints=2)

    eager = ad.grad(f)(0.3)
    n_eager = len(seen)
    seen.clear()
    jf = ad.jit(ad.grad(f))
    jf(0.3)  # (traced: the values computed while tracing run no callbacks)
    seen.clear()
    got = jf(0.3)
    assert last_sweep["compiled"] is False
    assert got == eager == ad.grad(chain(8, None))(0.3)
    # the schedule's advances and 8 pullbacks; eager mode also runs the 8 forward steps,
    # whose results the compiled gradient does not read (so its program leaves them out)
    assert len(seen) == schedule_stats(8, 2)["advances"] + 8 == n_eager - 8


def test_step_on_floats_falls_back_to_numpy_where_python_raises():
    # 1 / x at x = 0: Python floats raise, NumPy gives inf; the sweep then runs NumPy's
    # version and gives eager mode's values (inf and nan included)
    xs = np.array([0.5, 2.0, 0.0, 4.0, 1.0])

    def f(c, k):
        return lax.scan(lambda c, x: (c * 0.5 + c / x, None), c, xs, checkpoints=k)[0]

    with np.errstate(divide="ignore", invalid="ignore"):
        want = ad.grad(f)(1.5, None)
        got = ad.jit(ad.grad(f), static_argnums=1)(1.5, 2)
    assert not np.isfinite(want)
    np.testing.assert_array_equal(got, want)
    assert last_sweep["compiled"] is True


def test_repetitions():
    # the least r with comb(free + r, free) >= n; with no free slot, n - 1
    assert repetitions(10_000, 19) == 5 and repetitions(10_000, 18) == 5
    assert repetitions(1, 3) == 0 and repetitions(5, 0) == 4 and repetitions(0, 0) == 0
    assert [repetitions(n, 2) for n in (2, 3, 4, 6, 7, 10, 11)] == [1, 1, 2, 2, 3, 3, 4]


def test_transformations_of_the_compiled_sweep():
    # the sweep node under vmap, reverse and forward mode of the compiled program
    f, store_all = chain(12, 3), chain(12, None)
    x = np.array([0.3, 0.5, 0.7])
    np.testing.assert_array_equal(ad.vmap(ad.jit(ad.grad(f)))(x), ad.vmap(ad.grad(store_all))(x))
    want = ad.grad(ad.grad(store_all))(0.3)
    np.testing.assert_allclose(ad.grad(ad.jit(ad.grad(f)))(0.3), want, rtol=1e-14)
    np.testing.assert_allclose(ad.jacfwd(ad.jit(ad.grad(f)))(0.3), want, rtol=1e-14)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_short_scans_and_the_gradient_of_xs(n):
    def g(xs, k):
        step = lambda c, x: (anp.sin(c) * x + x**2, c * x)  # noqa: E731
        return anp.sum(lax.scan(step, 0.7, xs, checkpoints=k)[1])

    xs = np.linspace(0.1, 0.9, n)
    got = ad.jit(ad.grad(g), static_argnums=1)(xs, 2)
    np.testing.assert_array_equal(got, ad.grad(g)(xs, None))
    assert got.shape == (n,)


@pytest.mark.parametrize("compiler", ["python", "c"])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_integer_carry_leaf_and_float32(compiler, dt):
    xs = np.linspace(0.1, 1.0, 9).astype(dt)

    def f(a, k):
        def st(c, x):
            i, h = c
            return (i + 1, h * anp.cos(a * x) + (x * i).astype(dt)), h * a

        (_, h), ys = lax.scan(st, (np.int64(0), dt(0.5)), xs, checkpoints=k)
        return h + anp.sum(ys)

    got = ad.jit(ad.grad(f), static_argnums=1, compiler=compiler)(dt(0.7), 2)
    want = ad.grad(f)(dt(0.7), None)
    assert got.dtype == want.dtype == dt
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dt).eps)


@pytest.mark.parametrize("compiler", ["python", "c"])
def test_nested_checkpointed_loops(compiler):
    # the inner loop's sweep is a node of the outer step's pullback
    def f(a, k):
        def outer(c, x):
            step = lambda i, v: anp.sin(v * a) + x  # noqa: E731
            return lax.fori_loop(0, 5, step, c, checkpoints=k), None

        return lax.scan(outer, 0.3, np.linspace(0.0, 1.0, 7), checkpoints=k)[0]

    got = ad.jit(ad.grad(f), static_argnums=1, compiler=compiler)(0.8, 2)
    np.testing.assert_allclose(got, ad.grad(f)(0.8, None), rtol=1e-14)


def test_make_source_refuses_the_sweep_by_name():
    with pytest.raises(ValueError, match="scan_revolve"):
        ad.make_source(ad.grad(chain(20, 3)), 0.3)


def test_pictures_open_the_step_and_its_pullback():
    from adgraph.graph.bodies import bodies

    jf = ad.jit(ad.grad(chain(50, 3)))
    jf(0.3)
    (node,) = [n for n in jf.lower(0.3).graph.toposort() if n.op == "scan_revolve"]
    (_, step), (_, pullback) = bodies(node)
    assert [n.op for n in step.toposort() if not n.is_input] == ["sin", "multiply", "add"]
    # d/dv (sin(v) v + 0.5) = cos(v) v + sin(v), times the carry's cotangent (1 here)
    np.testing.assert_allclose(pullback.outputs[0].value, np.cos(0.3) * 0.3 + np.sin(0.3))
