"""Reverse and forward mode of ``lax.while_loop`` under ``jit`` compile to loops.

``jit(grad(f))`` of a ``while_loop`` whose trip count depends on the input is one program
for every trip count: a forward loop that stacks the carries and counts the iterations,
and a backward loop of that count over the body's pullback (both code generators). The
program's size does not depend on the trip count, it is traced once, and its values
equal eager ``grad``'s bit for bit with the Python backend (the same NumPy operations in
the same order) and to rounding with the C backend (its libm may differ in the last bit).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.jit.cbackend import c_source, find_c_compiler

CC = find_c_compiler()
COMPILERS = ["python", pytest.param("c", marks=pytest.mark.skipif(CC is None, reason="no cc"))]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(tmp_path / "c-cache"))


def newton_sqrt(a):
    def cond(c):
        x, it = c
        return (anp.abs(x * x - a) > 1e-12 * a) & (it < 200)

    def body(c):
        x, it = c
        return 0.5 * (x + a / x), it + 1

    return lax.while_loop(cond, body, (a * 1.0, np.int64(0)))


def sqrt_value(a):
    return newton_sqrt(a)[0]


def trips(a):
    return int(newton_sqrt(a)[1])


def grow(w, x0, limit):
    """Iterate a vector map until its squared norm exceeds ``limit``: the trip count
    depends on every input."""

    def cond(c):
        x, _ = c
        return anp.sum(x * x) < limit

    def body(c):
        x, i = c
        return anp.tanh(w @ x) * 1.5 + x * 1.01, i + 1

    x, n = lax.while_loop(cond, body, (x0, 0))
    return anp.sum(anp.sin(x)) + anp.sum(w) * 0.0, n


def grow_loss(w, x0, limit):
    return grow(w, x0, limit)[0]


def fd(f, x, h=1e-6):
    """Central differences of the scalar ``f`` at every entry of the array ``x``."""
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        out[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return out


RNG = np.random.default_rng(0)
W = RNG.normal(size=(3, 3)) * 0.4
X0 = np.array([0.1, 0.2, -0.3])


def _program_size(f, *args):
    low = f.lower(*args)
    return len(low.simplified.nodes), low.source


@pytest.mark.parametrize("compiler", COMPILERS)
def test_newton_sqrt_gradient_is_analytic_for_every_trip_count_with_one_trace(compiler):
    g = ad.jit(ad.grad(sqrt_value), compiler=compiler)
    values = (2.0, 9.0, 1e6, 0.01, 1e-10, 3.0)
    counts = {trips(a) for a in values}
    assert len(counts) >= 4  # the trip counts really differ
    for a in values:
        got = g(a)
        np.testing.assert_allclose(got, 0.5 / np.sqrt(a), rtol=1e-10)
        want = ad.grad(sqrt_value)(a)
        if compiler == "python":
            assert got == want  # the same operations in the same order
        else:
            np.testing.assert_allclose(got, want, rtol=1e-14)
    assert g.trace_count == 1


def test_the_program_is_two_loops_without_guards():
    g = ad.jit(ad.grad(sqrt_value))
    src = g.lower(2.0).source
    assert "while True:" in src and "for " in src
    assert "GUARD_FAILED" not in src
    ops = {n.op for n in g.lower(2.0).simplified.nodes}
    assert {"while_stack", "while_back"} <= ops


@pytest.mark.parametrize("compiler", COMPILERS)
def test_vector_carry_equals_eager_grad_and_finite_differences(compiler):
    g = ad.jit(ad.grad(grow_loss, argnums=(0, 1)), compiler=compiler)
    seen = set()
    for s, limit in ((1.0, 50.0), (0.3, 50.0), (2.0, 200.0), (1.0, 5000.0)):
        x0 = X0 * s
        seen.add(int(grow(W, x0, limit)[1]))
        gw, gx = g(W, x0, limit)
        ew, ex = ad.grad(grow_loss, argnums=(0, 1))(W, x0, limit)
        if compiler == "python":
            np.testing.assert_array_equal(gw, ew)
            np.testing.assert_array_equal(gx, ex)
        else:  # (tanh from the C library: rounding, amplified by the iterations)
            np.testing.assert_allclose(gw, ew, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(gx, ex, rtol=1e-9, atol=1e-12)
        fw = fd(lambda w, x0=x0, limit=limit: grow_loss(w, x0, limit), W)
        fx = fd(lambda x, limit=limit: grow_loss(W, x, limit), x0)
        np.testing.assert_allclose(gw, fw, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gx, fx, rtol=1e-5, atol=1e-7)
    assert len(seen) >= 3
    assert g.trace_count == 1


def count_down(x, m):
    """``m`` iterations of a scalar map, ``m`` a traced integer: the trip count is data."""

    def body(c):
        y, i = c
        return anp.sin(y) * 0.9 + 0.1 * y + 0.3, i + 1

    return lax.while_loop(lambda c: c[1] < m, body, (x, 0))[0]


def test_program_size_does_not_grow_with_the_trip_count():
    g = ad.jit(ad.grad(count_down))
    assert g(0.4, 10_000) == ad.grad(count_down)(0.4, 10_000)
    assert g(0.4, 10) == ad.grad(count_down)(0.4, 10)
    assert g(0.4, 0) == 1.0  # no iteration: the identity
    assert g.trace_count == 1
    small = _program_size(g, 0.4, 10)
    large = _program_size(g, 0.4, 10_000)
    assert small[0] == large[0] and small[1] == large[1]
    assert small[0] < 40


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_c_source_does_not_depend_on_the_trip_count():
    small = c_source(ad.grad(count_down), 0.4, np.int64(10))
    large = c_source(ad.grad(count_down), 0.4, np.int64(10_000))
    assert small == large
    assert "realloc" in small and "for (;;)" in small
    g = ad.jit(ad.grad(count_down), compiler="c")
    for m in (0, 1, 10, 10_000):
        np.testing.assert_allclose(g(0.4, m), ad.grad(count_down)(0.4, m), rtol=1e-13)
    assert g.trace_count == 1


@pytest.mark.parametrize("compiler", COMPILERS)
def test_jvp_and_vjp_under_jit_are_loops(compiler):
    jf = ad.jit(lambda a, t: ad.jvp(sqrt_value, (a,), (t,)), compiler=compiler)
    for a in (2.0, 9.0, 1e6):
        y, dy = jf(a, 1.0)
        ey, edy = ad.jvp(sqrt_value, (a,), (1.0,))
        np.testing.assert_allclose(dy, 0.5 / np.sqrt(a), rtol=1e-10)
        np.testing.assert_allclose((y, dy), (ey, edy), rtol=1e-15)
    assert jf.trace_count == 1

    def pull(a):
        _, back = ad.vjp(sqrt_value, a)
        return back(1.0)[0]

    jv = ad.jit(pull, compiler=compiler)
    for a in (2.0, 9.0, 1e6):
        np.testing.assert_allclose(jv(a), 0.5 / np.sqrt(a), rtol=1e-10)
    assert jv.trace_count == 1
    if compiler == "python":
        assert "GUARD_FAILED" not in jf.lower(2.0, 1.0).source
        assert "GUARD_FAILED" not in jv.lower(2.0).source


@pytest.mark.parametrize("compiler", COMPILERS)
def test_jacfwd_under_jit_is_one_program(compiler):
    jf = ad.jit(ad.jacfwd(grow_loss, argnums=1), compiler=compiler)
    for limit in (50.0, 5000.0):
        np.testing.assert_allclose(
            jf(W, X0, limit), ad.grad(grow_loss, argnums=1)(W, X0, limit), rtol=1e-11
        )
    assert jf.trace_count == 1


@pytest.mark.parametrize("compiler", COMPILERS)
def test_pytree_carry_closure_only_and_integer_leaves(compiler):
    def f(p):
        # the initial carry is constant: the loop's dependence on p is through its body
        def body(c):
            return {"x": c["x"] * p["a"] + p["b"], "k": c["k"] + 1}

        out = lax.while_loop(lambda c: c["x"] < 50.0, body, {"x": 1.0, "k": 0})
        return out["x"] * 2.0

    g = ad.jit(ad.grad(f), compiler=compiler)
    for a in (1.5, 2.5, 4.0):
        p = {"a": a, "b": 0.25}
        got, want = g(p), ad.grad(f)(p)
        np.testing.assert_allclose(got["a"], want["a"], rtol=1e-14)
        np.testing.assert_allclose(got["b"], want["b"], rtol=1e-14)
    assert g.trace_count == 1


def test_transformations_of_the_compiled_gradient():
    # grad and vmap of the compiled program run its loops on their own tracers
    h = ad.grad(ad.jit(ad.grad(sqrt_value)))
    for a in (2.0, 9.0):
        np.testing.assert_allclose(h(a), -0.25 * a**-1.5, rtol=1e-9)

    def g(a, b):
        return lax.while_loop(lambda c: c[1] < 4, lambda c: (c[0] * a + b, c[1] + 1), (a, 0))[0]

    bs = np.array([1.0, 2.0, 3.0])
    got = ad.vmap(ad.jit(ad.grad(g)), in_axes=(None, 0))(0.5, bs)
    np.testing.assert_allclose(got, [ad.grad(g)(0.5, b) for b in bs], rtol=1e-14)
    got = ad.jit(ad.vmap(ad.grad(sqrt_value)))(np.array([2.0, 9.0, 1e6]))
    np.testing.assert_allclose(got, 0.5 / np.sqrt([2.0, 9.0, 1e6]), rtol=1e-10)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_hessian_under_jit_is_loops_too(compiler):
    # jacfwd of grad: reverse mode's loops bound again by forward mode and vmap
    h = ad.jit(ad.hessian(sqrt_value), compiler=compiler)
    for a in (2.0, 9.0, 1e6, 4.0):
        got = h(a)
        np.testing.assert_allclose(got, -0.25 * a**-1.5, rtol=1e-8)
        np.testing.assert_allclose(got, ad.hessian(sqrt_value)(a), rtol=1e-14)
    assert h.trace_count == 1
    if compiler == "python":
        assert "GUARD_FAILED" not in h.lower(2.0).source
    hv = ad.jit(ad.hessian(grow_loss, argnums=1), compiler=compiler)
    for limit in (50.0, 5000.0):
        got = hv(W, X0, limit)
        want = ad.hessian(grow_loss, argnums=1)(W, X0, limit)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * np.max(abs(want)))
        np.testing.assert_allclose(got, got.T, rtol=1e-9)
        g = ad.grad(grow_loss, argnums=1)
        fdh = np.stack(
            [(g(W, X0 + e, limit) - g(W, X0 - e, limit)) / 2e-6 for e in np.eye(3) * 1e-6]
        )
        np.testing.assert_allclose(got, fdh, rtol=1e-4, atol=1e-6 * np.max(abs(got)))
    assert hv.trace_count == 1


def test_bad_input_is_refused_with_the_loop_named():
    def widen(a):
        return lax.while_loop(lambda c: c < 3.0, lambda c: anp.stack([c, c]), a)

    with pytest.raises(TypeError, match="while_loop: body_fun changed carry leaf 0"):
        ad.jit(ad.grad(lambda a: anp.sum(widen(a))))(1.0)

    def float_pred(a):
        return lax.while_loop(lambda c: c, lambda c: c + 1.0, a)

    with pytest.raises(TypeError, match="while_loop: cond_fun must return a boolean scalar"):
        ad.jit(ad.grad(float_pred))(1.0)

    def retype(a):
        return lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] * a, c[1] + 0.5), (a, 0))[0]

    with pytest.raises(TypeError, match="carry leaf 1"):
        ad.jit(ad.grad(retype))(1.0)


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_a_body_with_python_branches_runs_in_python_and_c_refuses_it():
    from adgraph.jit.cbackend import CBackendError

    def branchy(a):
        def body(c):
            x, i = c
            return (x * a if x < 10.0 else x + a), i + 1  # a Python branch: a guard

        return lax.while_loop(lambda c: c[1] < 5, body, (a, 0))[0]

    with pytest.raises(CBackendError, match="branches on traced values"):
        ad.jit(ad.grad(branchy), compiler="c")(1.5)
    # the Python backend runs the loop in Python (unrolled, each predicate a guard)
    for a in (1.5, 3.0):
        np.testing.assert_allclose(ad.jit(ad.grad(branchy))(a), ad.grad(branchy)(a), rtol=1e-15)


def test_jit_functools_partial_compilers_agree():
    jits = [functools.partial(ad.jit, compiler=c) for c in ("python",) + (("c",) if CC else ())]
    vals = [j(ad.grad(sqrt_value))(7.0) for j in jits]
    for v in vals:
        np.testing.assert_allclose(v, 0.5 / np.sqrt(7.0), rtol=1e-12)


def chain(x, n, k):
    def body(c):
        y, i = c
        return anp.sin(y) * y + 0.5 + 0.01 * y * y, i + 1

    return lax.while_loop(lambda c: c[1] < n, body, (x, np.int64(0)), checkpoints=k)[0]


@pytest.mark.parametrize("k", [1, 2, 3, 20])
def test_checkpoints_under_jit_keep_thinnings_carries_and_reverse_by_segments(k):
    g = ad.jit(ad.grad(chain), static_argnums=2)
    for n in (0, 1, 7, 60, 200 if k < 3 else 1000):  # (one carry kept: quadratic time)
        got = g(0.3, np.int64(n), k)
        assert got == ad.grad(chain)(0.3, n, k)  # eager's schedule: the same pullbacks
        np.testing.assert_allclose(got, ad.grad(chain)(0.3, n, None), rtol=1e-12)
    assert g.trace_count == 1
    low = g.lower(0.3, np.int64(1000), k)
    assert "GUARD_FAILED" not in low.source
    # the forward pass keeps at most ceil(k/2) carries however long the loop
    (stack,) = [m for m in low.simplified.nodes if m.op == "while_stack"]
    assert stack.params["limit"] == max(1, -(-k // 2))
    assert stack.value[3].shape[0] <= max(1, -(-k // 2))


@pytest.mark.skipif(CC is None, reason="no C compiler")
@pytest.mark.parametrize("k", [1, 3, 20])
def test_c_backend_walks_the_online_schedule_at_run_time(k):
    g = ad.jit(ad.grad(chain), static_argnums=2, compiler="c")
    for n in (0, 1, 7, 100, 200 if k < 3 else 1000):  # (one carry kept: quadratic time)
        np.testing.assert_allclose(g(0.3, np.int64(n), k), ad.grad(chain)(0.3, n, k), rtol=1e-13)
    assert g.trace_count == 1
    small = c_source(ad.grad(chain), 0.3, np.int64(10), k, static_argnums=2)
    assert small == c_source(ad.grad(chain), 0.3, np.int64(1000), k, static_argnums=2)


def test_grad_of_a_jitted_while_loop_is_one_derived_program():
    # jit alone stages the while_loop; grad outside compiles its pullback, again loops
    f = ad.jit(lambda a: sqrt_value(a))
    g = ad.grad(f)
    for a in (2.0, 9.0, 1e6, 0.01):
        np.testing.assert_allclose(g(a), 0.5 / np.sqrt(a), rtol=1e-10)
    assert f.trace_count == 1


def nested(a):
    # the inner loop's trip count depends on the outer carry, both on a
    def body(c):
        x, i = c
        inner = lax.while_loop(
            lambda d: d[0] < 2.0 + i, lambda d: (d[0] * 1.1 + a, d[1] + 1), (x, 0)
        )
        return inner[0], i + 1

    return lax.while_loop(lambda c: c[0] < 10.0, body, (a, 0))[0]


@pytest.mark.parametrize("compiler", COMPILERS)
def test_nested_data_dependent_loops_are_nested_loops(compiler):
    g = ad.jit(ad.grad(nested), compiler=compiler)
    for a in (0.05, 0.3, 0.7):
        # (the inner loop's pullback sums per outer iteration: equal to rounding)
        np.testing.assert_allclose(g(a), ad.grad(nested)(a), rtol=1e-14)
        np.testing.assert_allclose(
            g(a), fd(lambda v: np.array(nested(v[()])), np.array(a)), rtol=1e-6
        )
    assert g.trace_count == 1


def test_newton_gradient_equals_custom_roots():
    def newton(f, x0):
        x = x0
        for _ in range(30):
            x = x - f(x) / ad.grad(f)(x)
        return x

    def root_sqrt(a):
        return lax.custom_root(lambda x: x**2 - a, 1.0, newton, lambda g, y: y / g(1.0))

    g = ad.jit(ad.grad(sqrt_value))
    for a in (2.0, 9.0, 0.01):
        np.testing.assert_allclose(g(a), ad.grad(root_sqrt)(a), rtol=1e-12)


def test_a_backward_step_where_python_floats_raise_gives_numpys_values():
    # the pullback divides by a stored carry of 0: Python floats raise, NumPy gives inf/nan
    def f(x, n):
        def body(c):
            y, i = c
            return anp.exp(-1.0 / y) + y * 0.0, i + 1

        return lax.while_loop(lambda c: c[1] < n, body, (x, 0))[0]

    g = ad.jit(ad.grad(f))
    with np.errstate(all="ignore"):
        for x, n in ((0.0, 2), (0.5, 3)):
            np.testing.assert_array_equal(g(x, n), ad.grad(f)(x, n))
    assert g.trace_count == 1


@pytest.mark.parametrize("k", [None, 1])
def test_debug_print_in_the_body_runs_once_per_iteration_per_call(capsys, k):
    def f(a):
        def body(c):
            x, i = c
            ad.debug.print("it {} x {}", i, x)
            return x * a, i + 1

        return lax.while_loop(lambda c: c[1] < 2, body, (a, 0), checkpoints=k)[0]

    g = ad.jit(ad.grad(f))
    g(1.5)
    capsys.readouterr()  # (tracing may run the body once more)
    assert g(2.0) == 12.0
    # the forward loop prints; the backward loop's replays of the body do not
    assert capsys.readouterr().out.split("\n")[:-1] == ["it 0 x 2.0", "it 1 x 4.0"]
    assert g.trace_count == 1


def test_vmap_with_different_trip_counts_is_one_loop_over_the_batch():
    # the loop runs while any example's predicate holds, each example frozen once done;
    # the backward loop pulls a frozen iteration back as the identity
    xs = np.array([2.0, 9.0, 1e6, 0.01])
    assert len({trips(a) for a in xs}) == 4
    g = ad.jit(ad.vmap(ad.grad(sqrt_value)))
    for batch in (xs, xs[::-1] * 3.0):
        want = [ad.grad(sqrt_value)(a) for a in batch]
        np.testing.assert_allclose(g(batch), want, rtol=1e-14)
        np.testing.assert_allclose(ad.vmap(ad.jit(ad.grad(sqrt_value)))(batch), want, rtol=1e-14)
    assert g.trace_count == 1
    assert "GUARD_FAILED" not in g.lower(xs).source
    gv = ad.jit(ad.vmap(ad.grad(grow_loss, argnums=1), in_axes=(None, 0, None)))
    x0s = np.stack([X0, X0 * 0.3, X0 * 2.0])
    assert len({int(grow(W, x, 50.0)[1]) for x in x0s}) == 3
    want = [ad.grad(grow_loss, argnums=1)(W, x, 50.0) for x in x0s]
    np.testing.assert_allclose(gv(W, x0s, 50.0), want, rtol=1e-13)
    assert gv.trace_count == 1


def test_jacrev_under_jit_maps_the_cotangents_over_one_backward_loop():
    def f(v):
        return anp.stack([sqrt_value(v[0]), sqrt_value(v[1]) * v[0]])

    j = ad.jit(ad.jacrev(f))
    for v in (np.array([2.0, 9.0]), np.array([1e6, 0.01])):
        got = j(v)
        np.testing.assert_array_equal(got, ad.jacrev(f)(v))
        np.testing.assert_allclose(got[0, 0], 0.5 / np.sqrt(v[0]), rtol=1e-10)
    assert j.trace_count == 1
    assert "GUARD_FAILED" not in j.lower(np.array([2.0, 9.0])).source


def test_other_compositions_under_jit_agree_with_the_closed_form():
    # (those the loops' rules do not map -- vmap of hessian maps two axes -- run the
    # Python loop on the tracers: the same numbers)
    xs = np.array([2.0, 9.0, 1e6])
    second = -0.25 * xs**-1.5
    cases = [
        (ad.jit(ad.grad(ad.grad(sqrt_value))), 4.0, -0.25 * 4.0**-1.5),
        (ad.jit(ad.vmap(ad.hessian(sqrt_value))), xs, second),
        (ad.jit(ad.jacfwd(ad.jacrev(sqrt_value))), 4.0, -0.25 * 4.0**-1.5),
        (ad.jit(ad.jacrev(ad.jacrev(sqrt_value))), 4.0, -0.25 * 4.0**-1.5),
        (ad.jit(ad.vmap(lambda a: ad.jvp(sqrt_value, (a,), (1.0,))[1])), xs, 0.5 / np.sqrt(xs)),
        (ad.grad(lambda v: anp.sum(ad.jit(ad.vmap(ad.grad(sqrt_value)))(v))), xs, second),
    ]
    with np.errstate(all="ignore"):
        for f, x, want in cases:
            np.testing.assert_allclose(f(x), want, rtol=1e-8)


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_c_backend_compiles_vmap_of_the_gradient_with_different_trip_counts():
    g = ad.jit(ad.vmap(ad.grad(sqrt_value)), compiler="c")
    xs = np.array([2.0, 9.0, 1e6, 0.01])
    for batch in (xs, xs[::-1] * 3.0):
        np.testing.assert_allclose(g(batch), [ad.grad(sqrt_value)(a) for a in batch], rtol=1e-14)
    assert g.trace_count == 1


def test_a_forward_step_where_python_numbers_raise_gives_numpys_values():
    # 1 / 0 in the step: Python raises, NumPy gives inf; the loop on NumPy values runs
    def f(x, n):
        def body(c):
            y, i, flag = c
            return 1.0 / y - 0.5, i + 1, flag & (y < 10.0)

        return lax.while_loop(lambda c: (c[1] < n) & c[2], body, (x, 0, True))[0]

    g = ad.jit(ad.grad(f))
    with np.errstate(all="ignore"):
        for x, n in ((0.0, 3), (0.5, 3), (2.0, 5), (0.8, 0)):
            np.testing.assert_array_equal(g(x, n), ad.grad(f)(x, n))
    assert g.trace_count == 1
    assert "while True:" in g.lower(0.5, 3).source
