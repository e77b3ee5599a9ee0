"""Elementwise chains of compiled NumPy programs in one C loop (adgraph.jit.fusion): the
same bits as NumPy's ufuncs, NumPy's floating-point error handling, and the program left
as it is wherever fusion cannot apply."""

import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit import fusion
from adgraph.jit.c.toolchain import find_c_compiler
from adgraph.jit.simplify import simplify

pytestmark = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")

N = fusion.FUSE_MIN  # the smallest size that is fused
RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _fusion_on():
    was = fusion.fusion_enabled()
    fusion.set_fusion(True)
    yield
    fusion.set_fusion(was)


def _specials(dtype):
    """N values of ``dtype``: random ones of many scales, and nan, +-inf, +-0, subnormals,
    the largest finite values."""
    real = np.dtype(dtype).kind == "f"
    base = np.float32 if np.dtype(dtype).char in "fF" else np.float64
    info = np.finfo(base)
    special = np.array(
        [np.nan, np.inf, -np.inf, 0.0, -0.0, info.smallest_subnormal, -info.tiny, info.max, 1.0],
        dtype=base,
    )
    x = (RNG.standard_normal(N) * 10.0 ** RNG.integers(-30, 30, N)).astype(base)
    x[: special.size * 7 : 7] = special
    if real:
        return x.astype(dtype)
    y = (RNG.standard_normal(N) * 10.0 ** RNG.integers(-30, 30, N)).astype(base)
    y[3 : 3 + special.size * 5 : 5] = special
    return _complex(x, y, dtype)


def _complex(re, im, dtype):
    z = np.empty(re.shape, dtype=dtype)
    z.real, z.imag = re, im
    return z


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "c":
        _same_bits(a.real.copy(), b.real.copy())
        _same_bits(a.imag.copy(), b.imag.copy())
        return
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    np.testing.assert_array_equal(nan_a, nan_b)
    ia = a[~nan_a].view(f"u{a.itemsize}")
    ib = b[~nan_b].view(f"u{b.itemsize}")
    np.testing.assert_array_equal(ia, ib)  # signed zeros and every last bit


def _fused_ops(f, *args):
    """The operations of the graph the code generator gets for ``f``."""
    with np.errstate(all="ignore"):
        g, _ = simplify(ad.trace(f, *args))
    g2, _ = fusion.fuse_elementwise(g, [])
    return [n.op for n in g2.toposort() if not n.is_input]


BINARY = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("dt", ["float32", "float64", "complex64", "complex128"])
def test_every_operation_gives_numpys_bits(op, dt):
    if op in ("divide", "multiply") and dt.startswith("complex"):
        pytest.skip("complex products and quotients stay with NumPy")
    x, y, z = _specials(dt), _specials(dt)[::-1].copy(), _specials(dt)
    f = BINARY[op]

    def prog(x, y, z):
        return f(f(x, y), z) * 1.5 - x if dt[0] == "f" else f(f(x, y), z) - x

    assert "fused_elementwise" in _fused_ops(prog, x, y, z)
    with np.errstate(all="ignore"):
        want = prog(x, y, z)  # NumPy eager
        got = ad.jit(prog)(x, y, z)
    _same_bits(got, want)


@pytest.mark.parametrize("dt", ["float32", "float64", "complex64", "complex128"])
def test_unary_operations_and_parts_give_numpys_bits(dt):
    x, y = _specials(dt), _specials(dt)[::-1].copy()

    def prog(x, y):
        if np.dtype(dt).kind == "c":
            a = -anp.conj(x) + y - (x - 2.5)
            return anp.real(a) * anp.imag(y) - anp.imag(a) / anp.real(x)
        a = -anp.conj(x) * anp.square(y) + x**2
        return anp.abs(a) - a / y

    assert _fused_ops(prog, x, y).count("fused_elementwise") == 1
    with np.errstate(all="ignore"):
        _same_bits(ad.jit(prog)(x, y), prog(x, y))


def test_mixed_precisions_and_scalars_follow_numpys_promotion():
    x32 = _specials("float32")
    z64 = _specials("complex128")
    x64 = _specials("float64")
    k = RNG.standard_normal(N)  # a constant array read by the loop
    ones = np.broadcast_to(np.float32(1.25), (N,))  # one value broadcast: a scalar there

    def prog(x32, z64, x64):
        a = x32 * 0.1 + np.float32(3.3) - ones  # float32 throughout (0.1 rounded)
        b = a * np.float64(0.1)  # float64 (a strong NumPy scalar)
        c = z64 + b - x64 * k + (2 - 1j)
        return c, a

    with np.errstate(all="ignore"):
        got = ad.jit(prog)(x32, z64, x64)
        want = prog(x32, z64, x64)
    for g, w in zip(got, want):
        _same_bits(g, w)
    assert got[1].dtype == np.float32


def test_floating_point_errors_are_numpys():
    x = RNG.standard_normal(N)
    x[5] = 0.0
    prog = ad.jit(lambda x: (1.0 / x) * 2.0 + x)
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        prog(x)
    with np.errstate(divide="warn"), pytest.warns(RuntimeWarning, match="divide"):
        prog(x)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        r = prog(x)
    assert np.isinf(r[5]) and np.isfinite(np.delete(r, 5)).all()
    np.testing.assert_array_equal(
        np.delete(r, 5), np.delete((1.0 / np.where(x == 0, 1, x)) * 2.0 + x, 5)
    )


def test_a_group_keeps_the_program_in_order():
    # b would join a's group, but its other argument s depends on a: one loop cannot
    # compute both (s comes between them), so b starts a group of its own.
    x, y = RNG.standard_normal(N), RNG.standard_normal(N)

    def prog(x, y):
        a = x * y + 1.0
        s = anp.sum(a)
        b = (a + s) * y - x
        return b, a

    ops = _fused_ops(prog, x, y)
    assert ops.count("fused_elementwise") == 2
    got = ad.jit(prog)(x, y)
    want = prog(x, y)
    for g, w in zip(got, want):
        _same_bits(g, w)


def test_several_results_and_guards():
    x, y = RNG.standard_normal(N), RNG.standard_normal(N)

    def prog(x, y):
        a = x * y
        b = a - y
        c = b * b
        return c, a, anp.sum(b)

    got = ad.jit(prog)(x, y)
    for g, w in zip(got, prog(x, y)):
        np.testing.assert_array_equal(g, w)


def test_layouts_other_than_traced_run_numpy():
    big = RNG.standard_normal((N, 2))
    x, y = big[:, 0], big[:, 1]  # strided views
    prog = ad.jit(lambda x, y: (x + y) * x - y)
    want = (x + y) * x - y
    np.testing.assert_array_equal(prog(x, y), want)
    np.testing.assert_array_equal(prog(x.copy(), y.copy()), want)
    np.testing.assert_array_equal(prog(x, y.copy()), want)


def test_derivatives_through_fused_programs():
    x = RNG.standard_normal(N)

    def f(x):
        return anp.sum((x * x - 1.0) * x + anp.tanh(x))

    g = ad.jit(ad.grad(f))(x)
    np.testing.assert_allclose(g, 3 * x**2 - 1.0 + 1 - np.tanh(x) ** 2, rtol=1e-12, atol=1e-15)
    fusion.set_fusion(False)
    np.testing.assert_array_equal(g, ad.jit(ad.grad(f))(x))  # the same bits as unfused
    fusion.set_fusion(True)
    np.testing.assert_allclose(ad.grad(ad.jit(f))(x), g, rtol=1e-14)
    xs = RNG.standard_normal((3, N))
    np.testing.assert_allclose(ad.jit(ad.vmap(ad.grad(f)))(xs)[1], ad.grad(f)(xs[1]), rtol=1e-13)


def test_fft_gradient_fuses_its_cotangent():
    u, k = RNG.standard_normal((128, 128)), RNG.standard_normal((128, 128))

    def f(u):
        v = anp.fft.ifft2(anp.fft.fft2(u) * k)
        return anp.sum(anp.real(v * anp.conj(v)))

    assert "fused_elementwise" in _fused_ops(ad.grad(f), u)
    fusion.set_fusion(False)
    plain = ad.jit(ad.grad(f))(u)
    fusion.set_fusion(True)
    _same_bits(ad.jit(ad.grad(f))(u), plain)


def test_small_arrays_and_transcendentals_are_not_fused():
    small = RNG.standard_normal(N - 1)
    assert "fused_elementwise" not in _fused_ops(lambda x: x * x + x, small)
    x = RNG.standard_normal(N)
    ops = _fused_ops(lambda x: anp.exp(x) * anp.sin(x), x)
    assert "fused_elementwise" not in ops


def test_off_switch_and_missing_compiler(monkeypatch):
    x = RNG.standard_normal(N)
    prog = lambda x: x * x + x  # noqa: E731
    fusion.set_fusion(False)
    assert "fused_elementwise" not in _fused_ops(prog, x)
    fusion.set_fusion(True)
    from adgraph.jit.c import toolchain

    monkeypatch.setattr(toolchain, "find_c_compiler", lambda: None)
    assert "fused_elementwise" not in _fused_ops(prog, x)
    np.testing.assert_array_equal(ad.jit(prog)(x), prog(x))
    with pytest.raises(TypeError, match="True or False"):
        fusion.set_fusion(1)


def test_a_failed_build_leaves_the_program_as_it_was(monkeypatch):
    from adgraph.jit.c import cache

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(cache, "load_library", broken)
    x = RNG.standard_normal(N) + 0.5
    prog = lambda x: (x * 3.0 - 1.0) * x  # noqa: E731
    assert "fused_elementwise" not in _fused_ops(prog, x)
    np.testing.assert_array_equal(ad.jit(prog)(x), prog(x))


def _random_program(rng):
    """A random chain of the fused operations (and some that are not) on inputs of random
    dtypes, with constants of each kind: its last two values are returned."""
    steps = [(rng.integers(0, 10), rng.integers(0, 100, 2), rng.integers(0, 5)) for _ in range(8)]
    consts = [RNG.standard_normal(N), np.float32(1.7), np.float64(-0.3), 2.5, 3]

    def prog(*xs):
        vals = list(xs)
        for code, (i, j), kk in steps:
            a, b, k = vals[i % len(vals)], vals[j % len(vals)], consts[kk]
            cplx = np.iscomplexobj(a) or np.iscomplexobj(b)
            r = [
                lambda: a + b,
                lambda: a - b,
                lambda: -a,
                lambda: anp.conj(a),
                lambda: anp.real(a) if np.iscomplexobj(a) else a * k,
                lambda: anp.imag(a) if np.iscomplexobj(a) else a / k,
                lambda: a + k if cplx else a * b,
                lambda: a - k,
                lambda: a + a if np.iscomplexobj(a) else anp.abs(a),
                lambda: k - a if np.iscomplexobj(a) else anp.square(a),
            ][code]()
            vals.append(r)
        return vals[-1], vals[-2]

    return prog


def test_random_programs_give_numpys_bits():
    rng = np.random.default_rng(2024)
    fused = 0
    for _ in range(16):
        xs = []
        for _ in range(rng.integers(1, 4)):
            dt = ["float32", "float64", "complex64", "complex128"][rng.integers(0, 4)]
            xs.append(_specials(dt)[rng.permutation(N)])
        prog = _random_program(rng)
        fused += "fused_elementwise" in _fused_ops(prog, *xs)
        with np.errstate(all="ignore"):
            for got, want in zip(ad.jit(prog)(*xs), prog(*xs)):
                _same_bits(got, want)
    assert fused >= 10  # (most draws have a chain to fuse)
