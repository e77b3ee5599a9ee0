"""Re-rolling under ``jit``: an unrolled Python loop compiles as one loop again.

The rerolled program must give the same bits as the unrolled one (both code generators:
each step evaluates the same operations in the same order), its size must not depend on
the trip count, and loops whose steps differ must not be folded into one wrong step.
The unrolled reference is the same program compiled with re-rolling switched off.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.cbackend import c_source, find_c_compiler

reroll_mod = importlib.import_module("adgraph.jit.reroll")

CC = find_c_compiler()
COMPILERS = ["python", pytest.param("c", marks=pytest.mark.skipif(CC is None, reason="no cc"))]


def chain(n):
    def f(x):
        for _ in range(n):
            x = anp.sin(x) * x + 0.5
        return x

    return f


def _unrolled(monkeypatch, fn, *args, compiler="python"):
    with monkeypatch.context() as m:
        m.setattr(reroll_mod, "MIN_NODES", 10**12)
        return ad.jit(fn, compiler=compiler)(*args)


def _scans(fn, *args):
    g = ad.jit(fn).lower(*args).simplified
    return [n for n in g.toposort() if n.op == "scan"]


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), (a, b)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_chain_grad_is_two_loops_and_bit_identical(monkeypatch, compiler):
    f = chain(400)
    x = 0.9  # (the gradient stays away from underflow for 400 steps)
    got = ad.jit(ad.grad(f), compiler=compiler)(x)
    want = _unrolled(monkeypatch, ad.grad(f), x, compiler=compiler)
    _same_bits(got, want)
    # and the value itself: eager mode, then a forward-mode product of the steps
    d, v = 1.0, x
    for _ in range(400):
        d *= np.cos(v) * v + np.sin(v)
        v = np.sin(v) * v + 0.5
    assert got == pytest.approx(d, rel=1e-12)
    scans = _scans(ad.grad(f), x)
    assert len(scans) == 2 and {s.params["reverse"] for s in scans} == {False, True}


def test_program_size_does_not_grow_with_the_trip_count():
    sizes = {}
    for n in (200, 800):
        g = ad.jit(ad.grad(chain(n))).lower(0.9).simplified
        sizes[n] = len(g.toposort())
        assert max(s.params["length"] for s in g.toposort() if s.op == "scan") >= n - 2
    assert sizes[200] == sizes[800] < 40


@pytest.mark.skipif(CC is None, reason="no cc")
def test_c_source_size_does_not_grow_with_the_trip_count():
    lines = {n: c_source(ad.grad(chain(n)), 0.9).count("\n") for n in (200, 800)}
    assert lines[200] == lines[800] < 200


@pytest.mark.parametrize("compiler", COMPILERS)
def test_steps_that_differ_are_not_folded_wrongly(monkeypatch, compiler):
    # every step reads another element (getitem's index differs), one step in the middle
    # takes another operation, and the added constants differ from step to step
    xs = np.linspace(0.1, 0.9, 300)

    def f(v):
        s = v[0]
        for k in range(300):
            if k == 150:
                s = anp.cos(s)
            s = anp.tanh(s * v[k]) + 0.001 * k
        return s

    want = 0.0 + xs[0]
    for k in range(300):
        if k == 150:
            want = np.cos(want)
        want = np.tanh(want * xs[k]) + 0.001 * k
    got = ad.jit(f, compiler=compiler)(xs)
    assert got == pytest.approx(want, rel=1e-14)
    # the two halves are loops (the reads v[k] computed before each, as its xs)
    assert sum(s.params["length"] for s in _scans(f, xs)) >= 290
    _same_bits(got, _unrolled(monkeypatch, f, xs, compiler=compiler))
    g = ad.jit(ad.grad(f), compiler=compiler)(xs)
    _same_bits(g, _unrolled(monkeypatch, ad.grad(f), xs, compiler=compiler))


@pytest.mark.parametrize("compiler", COMPILERS)
def test_two_steps_back_is_left_unrolled_or_right(monkeypatch, compiler):
    # a Fibonacci-like recurrence reads the value of two steps before
    def f(x):
        a, b = x, x * 0.5
        for _ in range(200):
            a, b = b, anp.sin(a) * 0.3 + b * 0.6
        return b

    want = (0.7, 0.35)
    for _ in range(200):
        want = (want[1], np.sin(want[0]) * 0.3 + want[1] * 0.6)
    got = ad.jit(f, compiler=compiler)(0.7)
    assert got == pytest.approx(want[1], rel=1e-13)
    _same_bits(got, _unrolled(monkeypatch, f, 0.7, compiler=compiler))


def test_float32_loop_keeps_its_dtype(monkeypatch):
    # Python numbers stay weakly typed: a float32 chain must stay float32
    def f(x):
        for k in range(200):
            x = anp.sin(x) * x + 0.25 * (k % 3)
        return x

    x = np.float32(0.4)
    got = ad.jit(f)(x)
    assert np.asarray(got).dtype == np.float32
    _same_bits(got, _unrolled(monkeypatch, f, x))


def _random_program(rng, n_steps):
    """A random loop body over two carried values and an array read per step."""
    unary = [anp.sin, anp.cos, anp.tanh, lambda z: anp.exp(-z * z), lambda z: z * z]
    ops = []
    for _ in range(int(rng.integers(2, 6))):
        ops.append((int(rng.integers(len(unary))), int(rng.integers(3)), float(rng.normal())))
    per_step = bool(rng.integers(2))

    def f(x, w):
        a, b = x, anp.cos(x)
        for k in range(n_steps):
            c = w[k] if per_step else w[0]
            for u, pick, scale in ops:
                src = (a, b, c)[pick]
                a, b = b, a * scale + unary[u](src) * 0.5
            b = b * 0.9
        return anp.sum(a * b) + anp.sum(b)

    return f


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("compiler", COMPILERS)
def test_random_loops_equal_the_unrolled_program(monkeypatch, seed, compiler):
    rng = np.random.default_rng(seed)
    f = _random_program(rng, 60)
    shape = () if seed % 2 else (3,)
    x = rng.uniform(-0.5, 0.5, size=shape)
    w = rng.uniform(-0.5, 0.5, size=(60,) + shape)
    for fn in (f, ad.grad(f), ad.grad(f, argnums=1)):
        got = ad.jit(fn, compiler=compiler)(x, w)
        want = _unrolled(monkeypatch, fn, x, w, compiler=compiler)
        _same_bits(got, want)
    # and eager mode (no jit): the same NumPy calls in the Python backend
    if compiler == "python":
        np.testing.assert_allclose(ad.jit(f)(x, w), f(x, w), rtol=1e-13)


@pytest.mark.parametrize("compiler", COMPILERS)
def test_rosen_hessian_is_unchanged(monkeypatch, compiler):
    x = np.random.default_rng(2).standard_normal(50)

    def rosen(x):
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    h = ad.hessian(rosen)
    got = ad.jit(h, compiler=compiler)(x)
    _same_bits(got, _unrolled(monkeypatch, h, x, compiler=compiler))
    # the closed form of Rosenbrock's Hessian
    want = np.zeros((50, 50))
    for i in range(49):
        want[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        want[i + 1, i + 1] += 200
        want[i, i + 1] = want[i + 1, i] = -400 * x[i]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


# ------------------------------------------------------------------ float loops
# A step of float64 scalars runs on Python floats in the Python backend (math functions
# where they agree with NumPy bit for bit, the ufunc elsewhere); where Python raises and
# NumPy returns inf or nan, the loop runs again with NumPy.


def _fori(f, n):
    from adgraph import lax

    return lambda x: lax.fori_loop(0, n, lambda i, x: f(x), x)


@pytest.mark.parametrize(
    "step",
    [
        lambda x: anp.sin(x) * x + 0.5,
        lambda x: anp.tanh(x) * 1.5 - anp.exp(-x * x) / 3.0,
        lambda x: anp.log1p(x * x) + anp.cos(x) - anp.sqrt(anp.abs(x) + 1.0),
        lambda x: -x * 0.9 + anp.arctan(x) ** 2,
    ],
)
def test_float_loops_equal_numpy_bit_for_bit(step):
    f = _fori(step, 300)
    assert "float(" in ad.jit(f).lower(0.3).source  # (the float loop is what runs)
    for x in (0.3, -1.7, 2.5):
        _same_bits(ad.jit(f)(x), f(x))
        _same_bits(ad.jit(ad.grad(f))(x), ad.grad(f)(x))


@pytest.mark.parametrize(
    "step, x, n",
    [
        (lambda x: 1.0 / (x - 1.0), 2.0, 2),  # 1/0 at the second step: inf
        (lambda x: anp.log(x - 0.5), 1.5, 3),  # log(0) = -inf, then log(-inf) = nan
        (lambda x: anp.exp(x * 400.0), 1.0, 3),  # overflow: inf
        (lambda x: anp.sin(x * 1e308 * 10.0), 1.0, 3),  # sin(inf) = nan
    ],
)
def test_float_loops_fall_back_to_numpy_where_python_raises(step, x, n):
    f = _fori(step, n)
    with np.errstate(all="ignore"):
        want = f(x)
        got = ad.jit(f)(x)
    _same_bits(got, want)
    assert not np.isfinite(want)


def test_math_functions_are_used_only_where_they_agree():
    fl = importlib.import_module("adgraph.jit.floatloops")
    for op in ("sin", "exp", "tanh", "log"):
        if fl.math_agrees(op):
            mf = getattr(__import__("math"), fl.UNARY[op])
            uf = getattr(np, op)
            xs = np.random.default_rng(5).uniform(0.1, 5.0, 500)
            assert all(np.float64(mf(v)) == uf(np.float64(v)) for v in xs)


def test_a_loop_read_at_a_few_steps_does_not_stack_every_step(monkeypatch):
    # four of 400 steps' values of a 300-element carry are read after the loop: stacking
    # every step would hold 120,000 elements where the unrolled program keeps 1,200
    def f(x):
        kept = []
        for k in range(400):
            x = anp.sin(x) * 0.9 + 0.1
            if k % 100 == 0:
                kept.append(x)
        return sum(anp.sum(o * (j + 1)) for j, o in enumerate(kept)) + anp.sum(x)

    x = np.linspace(-1.0, 1.0, 300)
    g = ad.jit(f).lower(x).simplified
    stacked = sum(
        int(np.prod(s)) for n in g.toposort() if n.op == "scan" for s in n.shape[n.params["nc"] :]
    )
    assert stacked <= reroll_mod.MAX_WASTE
    _same_bits(ad.jit(f)(x), _unrolled(monkeypatch, f, x))
    want = 0.0
    v = x.copy()
    for k in range(400):
        v = np.sin(v) * 0.9 + 0.1
        if k % 100 == 0:
            want += np.sum(v) * (k // 100 + 1)
    assert ad.jit(f)(x) == pytest.approx(want + np.sum(v), rel=1e-12)


def test_transformations_of_a_rerolled_program():
    def f(x):
        for _ in range(300):
            x = anp.tanh(x) * 1.1 + 0.05
        return x

    jf = ad.jit(f)
    assert _scans(f, 0.3)
    x = 0.3
    # the chain's derivative by the product rule, its second by finite differences
    d, v = 1.0, x
    for _ in range(300):
        d *= 1.1 * (1 - np.tanh(v) ** 2)
        v = np.tanh(v) * 1.1 + 0.05
    assert ad.grad(jf)(x) == pytest.approx(d, rel=1e-12)
    assert ad.jvp(jf, (x,), (1.0,))[1] == pytest.approx(d, rel=1e-12)
    xs = np.array([0.3, -0.2, 1.0])
    np.testing.assert_array_equal(ad.vmap(jf)(xs), [jf(v) for v in xs])
    h = 1e-5
    fd = (ad.grad(f)(x + h) - ad.grad(f)(x - h)) / (2 * h)
    assert ad.hessian(jf)(x) == pytest.approx(fd, rel=1e-5)
