"""Loops under ``jit``: ``scan`` / ``fori_loop`` stay loops in the compiled program.

Both code generators emit one loop per ``scan`` node -- the forward pass and, under
``grad``, one backward loop over the stored carries -- so the program's size does not
depend on the trip count. Values and gradients equal eager mode's and those of the same
loop unrolled in Python (the C backend's libm may differ from NumPy's in the last bit),
and finite differences. A step the compilers cannot hold as straight-line code runs in
Python (Python backend) or is refused with a message (C backend).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.jit.cbackend import CBackendError, c_source, find_c_compiler

CC = find_c_compiler()
COMPILERS = ["python", pytest.param("c", marks=pytest.mark.skipif(CC is None, reason="no cc"))]


def chain(n, drift=0.01):
    def f(x):
        return lax.fori_loop(0, n, lambda i, x: anp.sin(x) * x + 0.5 + drift * i, x)

    return f


def chain_unrolled(n):
    def f(x):
        for i in range(n):
            x = anp.sin(x) * x + 0.5 + 0.01 * i
        return x

    return f


def fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(tmp_path / "c-cache"))


@pytest.mark.parametrize("compiler", COMPILERS)
def test_fori_loop_value_and_grad_equal_eager_unrolled_and_fd(compiler):
    f, fu = chain(25), chain_unrolled(25)
    x = -1.7
    g = ad.jit(ad.grad(f), compiler=compiler)(x)
    ref = ad.grad(fu)(x)
    assert ref != 0.0
    np.testing.assert_allclose(g, ref, rtol=1e-12)
    np.testing.assert_allclose(g, ad.grad(f)(x), rtol=1e-12)
    np.testing.assert_allclose(g, fd(fu, x), rtol=1e-6)
    np.testing.assert_allclose(ad.jit(f, compiler=compiler)(x), fu(x), rtol=1e-13)


def rnn(reverse):
    def loss(W, h0, xs):
        def step(h, x):
            h = anp.tanh(W @ h + x)
            return h, anp.sum(h * h)

        h, ys = lax.scan(step, h0, xs, reverse=reverse)
        return anp.sum(h) + anp.sum(ys * anp.arange(ys.shape[0]))

    return loss


def rnn_unrolled(reverse):
    def loss(W, h0, xs):
        n = xs.shape[0]
        ys = [None] * n
        h = h0
        for t in range(n):
            i = n - 1 - t if reverse else t
            h = anp.tanh(W @ h + xs[i])
            ys[i] = anp.sum(h * h)
        return anp.sum(h) + anp.sum(anp.stack(ys) * anp.arange(n))

    return loss


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("compiler", COMPILERS)
def test_scan_with_xs_ys_and_closed_over_matrix(compiler, reverse):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 3)) / 2
    h0 = rng.normal(size=3)
    xs = rng.normal(size=(7, 3))
    f, fu = rnn(reverse), rnn_unrolled(reverse)
    jg = ad.jit(ad.grad(f, argnums=(0, 1, 2)), compiler=compiler)
    got = jg(W, h0, xs)
    want = ad.grad(fu, argnums=(0, 1, 2))(W, h0, xs)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ad.jit(f, compiler=compiler)(W, h0, xs), fu(W, h0, xs), rtol=1e-13)
    # finite differences on one entry of W
    E = np.zeros_like(W)
    E[1, 2] = 1.0
    num = (fu(W + 1e-6 * E, h0, xs) - fu(W - 1e-6 * E, h0, xs)) / 2e-6
    np.testing.assert_allclose(got[0][1, 2], num, rtol=1e-6)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_pytree_carry_with_integer_leaf(compiler):
    def f(x):
        def body(i, c):
            k, (a, b) = c
            return k + 1, (b * 0.5 + anp.cos(a), a * x)

        k, (a, b) = lax.fori_loop(0, 9, body, (np.int64(0), (x, 2.0 * x)))
        return a + b + k

    x = 0.4
    np.testing.assert_allclose(ad.jit(f, compiler=compiler)(x), f(x), rtol=1e-13)
    np.testing.assert_allclose(ad.jit(ad.grad(f), compiler=compiler)(x), ad.grad(f)(x), rtol=1e-12)
    np.testing.assert_allclose(ad.grad(f)(x), fd(f, x), rtol=1e-6)


def _lines(src):
    return len(src.splitlines())


def test_python_program_size_does_not_grow_with_the_trip_count():
    small = ad.jit(ad.grad(chain(10, 0.0))).lower(0.3).source
    large = ad.jit(ad.grad(chain(3000, 0.0))).lower(0.3).source
    assert _lines(small) == _lines(large)
    # (each loop twice: on Python floats, and with NumPy where Python raises)
    assert "for " in large and _lines(large) < 120


def test_c_program_size_does_not_grow_with_the_trip_count():
    small = c_source(ad.grad(chain(10, 0.0)), 0.3)
    large = c_source(ad.grad(chain(3000, 0.0)), 0.3)
    assert _lines(small) == _lines(large)
    assert large.count("for (long") == 3  # the points, the forward loop, the backward loop


def test_nested_loops_compile_as_nested_loops():
    def f(x):
        def outer(i, x):
            return lax.fori_loop(0, 4, lambda j, y: anp.sin(y) + 0.1 * x, x)

        return lax.fori_loop(0, 5, outer, x)

    src = c_source(f, 0.2)
    assert src.count("for (long") == 3
    assert _lines(src) < 60
    if CC is not None:
        np.testing.assert_allclose(ad.jit(f, compiler="c")(0.2), f(0.2), rtol=1e-13)
    np.testing.assert_allclose(ad.jit(f)(0.2), f(0.2), rtol=1e-13)
    np.testing.assert_allclose(ad.jit(ad.grad(f))(0.2), ad.grad(f)(0.2), rtol=1e-12)


def branching(x):
    def body(i, x):
        if x > 1.0:  # a Python branch on the carry: not straight-line code
            return x * 0.5
        return x * 3.0

    return lax.fori_loop(0, 6, body, x)


def test_a_step_with_python_branches_runs_in_python_under_jit():
    # each iteration takes its own branch: 0.9 -> 2.7 -> 1.35 -> 0.675 -> 2.025 -> ...
    want = 0.9
    for _ in range(6):
        want = want * 0.5 if want > 1.0 else want * 3.0
    assert ad.jit(branching)(0.9) == pytest.approx(want, rel=1e-15)


def test_c_backend_refuses_a_step_with_python_branches():
    with pytest.raises(CBackendError, match="step of .*scan.* cannot be compiled"):
        c_source(branching, 0.9)


def test_bad_loop_input_is_refused_under_jit():
    with pytest.raises(ValueError, match="negative trip count"):
        ad.jit(lambda x: lax.fori_loop(3, 1, lambda i, x: x, x))(1.0)
    with pytest.raises(TypeError, match="carry leaf 0"):
        ad.jit(lambda x: lax.fori_loop(0, 3, lambda i, x: x.astype(np.float32), x))(1.0)


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_c_library_of_a_loop_is_reused_from_the_cache_by_another_process(tmp_path):
    cache = tmp_path / "shared-cache"
    script = (
        "import sys\n"
        "import adgraph as ad, adgraph.numpy as anp\n"
        "from adgraph import lax\n"
        "from adgraph.jit.c import cache\n"
        "if sys.argv[1] == 'reuse':\n"
        "    def refuse(*a, **k):\n"
        "        raise SystemExit('compiled again instead of loading from the cache')\n"
        "    cache._compile_library = refuse\n"
        "f = lambda x: lax.fori_loop(0, 500, lambda i, x: anp.sin(x) * x + 0.5, x)\n"
        "print(repr(float(ad.jit(ad.grad(f), compiler='c')(-1.7))))\n"
    )
    env = dict(os.environ, ADGRAPH_C_CACHE=str(cache))
    outs = []
    for mode in ("build", "reuse"):
        p = subprocess.run(
            [sys.executable, "-c", script, mode], env=env, capture_output=True, text=True
        )
        assert p.returncode == 0, p.stderr + p.stdout
        outs.append(float(p.stdout))
    assert outs[0] == outs[1]
    assert len([n for n in os.listdir(cache) if n.endswith(".so")]) == 1
    assert os.stat(cache).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("compiler", COMPILERS)
def test_jvp_and_hessian_under_jit_are_loops(compiler):
    f, fu = chain(25), chain_unrolled(25)
    x = -1.7
    got = ad.jit(lambda x: ad.jvp(f, (x,), (1.0,)), compiler=compiler)(x)
    want = ad.jvp(fu, (x,), (1.0,))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(
        ad.jit(ad.hessian(f), compiler=compiler)(x), ad.hessian(fu)(x), rtol=1e-11
    )
    h = 1e-4
    fd2 = (fu(x + h) - 2 * fu(x) + fu(x - h)) / h**2
    np.testing.assert_allclose(ad.hessian(fu)(x), fd2, rtol=1e-5)


def test_hessian_program_size_does_not_grow_with_the_trip_count():
    small = ad.jit(ad.hessian(chain(10, 0.0))).lower(0.3).source
    large = ad.jit(ad.hessian(chain(2000, 0.0))).lower(0.3).source
    assert _lines(small) == _lines(large)


def branchy(x, w):
    y = lax.cond(x > 0.5, lambda a: anp.sin(a) * w, lambda a: a * a + w, x)
    k = (anp.asarray(x) * 3).astype(np.int64)
    return lax.switch(k, [lambda a: a + 1.0, lambda a: a * 2.0, lambda a: anp.exp(a)], y)


def branchy_python(x, w):
    y = np.sin(x) * w if x > 0.5 else x * x + w
    k = min(max(int(x * 3), 0), 2)
    return [y + 1.0, y * 2.0, np.exp(y)][k]


@pytest.mark.parametrize("compiler", COMPILERS)
def test_cond_and_switch_compile_every_branch_once(compiler):
    f = ad.jit(branchy, compiler=compiler)
    g = ad.jit(ad.grad(branchy, argnums=(0, 1)), compiler=compiler)
    for x in (0.2, 0.45, 0.6, 0.9, -1.0, 3.0):
        assert f(x, 1.5) == pytest.approx(branchy_python(x, 1.5), rel=1e-14)
        want = ad.grad(branchy, argnums=(0, 1))(x, 1.5)
        np.testing.assert_allclose(g(x, 1.5), want, rtol=1e-13)
        h = 1e-6
        fd_x = (branchy_python(x + h, 1.5) - branchy_python(x - h, 1.5)) / (2 * h)
        np.testing.assert_allclose(want[0], fd_x, rtol=1e-6)
    # one trace covers every branch (no guard, no new variant)
    assert f.trace_count == 1 and g.trace_count == 1


def test_cond_inside_a_loop_body_stays_a_loop_in_c():
    def f(x):
        def body(i, x):
            return lax.cond(x > 1.0, lambda v: v * 0.5, lambda v: v * 3.0 + 0.1, x)

        return lax.fori_loop(0, 40, body, x)

    src = c_source(ad.grad(f), 0.9)
    assert src.count("for (long") == 3 and "if (" in src
    want, x = 0.9, 0.9
    for _ in range(40):
        want = want * 0.5 if want > 1.0 else want * 3.0 + 0.1
    for compiler in [c.values[0] if hasattr(c, "values") else c for c in COMPILERS]:
        assert ad.jit(f, compiler=compiler)(x) == pytest.approx(want, rel=1e-13)
        np.testing.assert_allclose(ad.jit(ad.grad(f), compiler=compiler)(x), ad.grad(f)(x))


def test_cond_under_vmap_inside_jit_selects_per_example():
    xs = np.array([0.2, 0.7, 0.9, -0.3])
    got = ad.jit(ad.vmap(lambda x: branchy(x, 1.5)))(xs)
    np.testing.assert_allclose(got, [branchy_python(x, 1.5) for x in xs], rtol=1e-14)


def test_switch_branches_disagreeing_are_refused_under_jit():
    def f(x):
        return lax.cond(x > 0, lambda a: (a, a), lambda a: a, x)

    def g(x):
        return lax.cond(x > 0, lambda a: a * 2.0, lambda a: anp.stack([a, a]), x)

    for fun in (f, g):
        for compiler in [c.values[0] if hasattr(c, "values") else c for c in COMPILERS]:
            with pytest.raises(TypeError, match="branch"):
                ad.jit(fun, compiler=compiler)(1.0)


def newton_sqrt(a):
    def cond(c):
        x, it = c
        return (anp.abs(x * x - a) > 1e-12 * a) & (it < 100)

    def body(c):
        x, it = c
        return 0.5 * (x + a / x), it + 1

    return lax.while_loop(cond, body, (a, np.int64(0)))


@pytest.mark.parametrize("compiler", COMPILERS)
def test_while_loop_compiles_to_a_loop_with_a_data_dependent_trip_count(compiler):
    f = ad.jit(newton_sqrt, compiler=compiler)
    for a in (2.0, 9.0, 1e6, 0.01):
        x, it = f(a)
        want = newton_sqrt(a)
        assert x == pytest.approx(np.sqrt(a), rel=1e-12) and x == pytest.approx(want[0], rel=1e-15)
        assert int(it) == int(want[1])  # the trip count differs between values
    assert f.trace_count == 1  # one program for every trip count
    if compiler == "python":
        assert "while True:" in f.lower(2.0).source


def test_c_while_loop_source_does_not_depend_on_the_trip_count():
    src = c_source(newton_sqrt, 2.0)
    assert "for (;;)" in src and src == c_source(newton_sqrt, 1e6)


def test_grad_of_a_jitted_while_loop_is_the_analytic_derivative():
    g = ad.grad(lambda a: ad.jit(newton_sqrt)(a)[0])
    for a in (2.0, 9.0):
        np.testing.assert_allclose(g(a), 0.5 / np.sqrt(a), rtol=1e-10)


def mixed(n):
    def f(x, w):
        def body(i, cw):
            c, w = cw
            c = lax.cond(c > 1.0, lambda v, w: anp.sin(v) * w, lambda v, w: v * 1.3 + 0.1 * w, c, w)
            return c, w

        y, _ = lax.fori_loop(0, n, body, (x, w))
        h, ys = lax.scan(lambda h, t: (anp.tanh(h * w + t), h * h), y, anp.linspace(0.0, 1.0, 5))
        return h + anp.sum(ys)

    return f


def mixed_unrolled(x, w, n=12):
    c = x
    for _ in range(n):
        c = anp.sin(c) * w if c > 1.0 else c * 1.3 + 0.1 * w
    h, s = c, 0.0
    for t in np.linspace(0.0, 1.0, 5):
        s, h = s + h * h, anp.tanh(h * w + t)
    return h + s


@pytest.mark.parametrize("compiler", COMPILERS)
def test_loops_and_branches_under_every_composition(compiler):
    f = mixed(12)
    x, w = 0.7, 0.9
    want = ad.grad(f, argnums=(0, 1))(x, w)
    np.testing.assert_allclose(want, ad.grad(mixed_unrolled, argnums=(0, 1))(x, w), rtol=1e-13)
    jit = functools.partial(ad.jit, compiler=compiler)
    for got in (
        jit(ad.grad(f, argnums=(0, 1)))(x, w),
        ad.grad(jit(f), argnums=(0, 1))(x, w),
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    xs = np.array([0.3, 0.7, 1.4])
    per = [ad.grad(f)(v, w) for v in xs]
    np.testing.assert_allclose(jit(ad.vmap(ad.grad(f), in_axes=(0, None)))(xs, w), per, rtol=1e-12)
    np.testing.assert_allclose(jit(ad.hessian(f))(x, w), ad.hessian(f)(x, w), rtol=1e-11)


def test_composed_programs_do_not_grow_with_the_trip_count():
    xs = np.array([0.3, 0.7, 1.4])
    for make in (
        lambda n: ad.jit(ad.vmap(ad.grad(mixed(n)), in_axes=(0, None))).lower(xs, 0.9),
        lambda n: ad.jit(ad.hessian(mixed(n))).lower(0.7, 0.9),
    ):
        assert _lines(make(12).source) == _lines(make(300).source)


def test_make_source_refuses_lax_control_flow_by_name():
    f = chain(5)
    with pytest.raises(ValueError, match="scan .*lax control flow"):
        ad.make_source(ad.grad(f), 0.3)
    with pytest.raises(ValueError, match="switch"):
        ad.make_source(lambda x: branchy(x, 1.5), 0.3)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_zero_trip_loops(compiler):
    f = chain(0)
    assert ad.jit(f, compiler=compiler)(0.3) == 0.3
    assert ad.jit(ad.grad(f), compiler=compiler)(0.3) == 1.0

    def g(x):
        return lax.scan(lambda c, t: (c + t, c * t), x, np.zeros((0, 2)))

    c, ys = ad.jit(g, compiler=compiler)(np.ones(2))
    np.testing.assert_array_equal(c, np.ones(2))
    assert ys.shape == (0, 2) and ys.dtype == np.float64
