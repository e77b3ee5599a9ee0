"""The C backend: scalarized graphs compiled to C agree with eager NumPy evaluation.

Values, gradients and Hessians of a table of scalar functions and of small-array functions
(3x3 strain energies among them), batched over many points; float32 kept; pytrees, static
and shared arguments; NumPy's edge semantics (nan, inf, signed zeros, mod); errors for
what cannot be compiled; the fallback to the Python backend without a compiler; the cache.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as sps
from adgraph.jit.c import cache, frontend, runtime, toolchain
from adgraph.jit.cbackend import (
    CBackendError,
    CCompileError,
    CCompilerWarning,
    c_source,
    compile_c,
    find_c_compiler,
)
from adgraph.ops.indexing import at

needs_cc = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")


@pytest.fixture(scope="module", autouse=True)
def _fresh_cache(tmp_path_factory):
    """Compile into an empty cache directory (nothing stale from earlier runs)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ADGRAPH_C_CACHE", str(tmp_path_factory.mktemp("c_cache")))
    yield
    mp.undo()


def close(out, ref, rtol=1e-14, scale_atol=1e-14):
    """Relative agreement, with an absolute floor scaled by the largest reference value
    (sums with cancellation lose relative accuracy in small entries)."""
    out, ref = np.asarray(out), np.asarray(ref)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    assert out.dtype == ref.dtype, (out.dtype, ref.dtype)
    scale = float(np.max(np.abs(ref), initial=0.0)) if ref.size else 0.0
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=scale_atol * max(scale, 1e-300))


# ============================================================================ scalar table
SCALAR = {
    "poly": lambda x: 3 * x**3 - 2 * x**2 + x - 1,
    "trig": lambda x: anp.sin(x) * anp.cos(2 * x) + anp.tan(x / 3),
    "hyperbolic": lambda x: anp.tanh(x) + anp.sinh(x / 2) * anp.cosh(x / 3),
    "inverse_trig": lambda x: anp.arctan(x) + anp.arcsin(x / 3) + anp.arccos(x / 4),
    "exp_log": lambda x: (
        anp.exp(x / 2) * anp.log(1 + x * x) + anp.log1p(anp.abs(x)) - anp.expm1(-x)
    ),
    "sqrt_hypot_atan2": lambda x: anp.sqrt(1 + x * x) + anp.hypot(x, 2.0) + anp.arctan2(x, 1.5),
    "power": lambda x: anp.power(1.5 + x * x, 0.7) + (2.0 + anp.sin(x)) ** x,
    "integer_pow": lambda x: (x + 2) ** -1 + (x + 2) ** -2 + x**5 + x**2,
    "where": lambda x: anp.where(x > 0, x**2, -anp.sin(x)),
    "max_min_clip": lambda x: (
        anp.maximum(x, 0.2 * x) + anp.minimum(x * x, 0.5) + anp.clip(x, -0.5, 0.5)
    ),
    "logaddexp": lambda x: anp.logaddexp(x, 2 * x) + anp.logaddexp2(x, 0.5),
    "square_reciprocal_sign": lambda x: anp.reciprocal(2 + x * x) + anp.square(x) + anp.sign(x) * x,
    "special": lambda x: (
        sps.expit(x)
        + sps.erf(x)
        + sps.erfc(x / 2)
        + sps.gammaln(2 + x * x)
        + sps.xlogy(x * x, 2.0 + x)
    ),
    "rounding": lambda x: anp.floor(3 * x) + anp.ceil(x) * x + anp.round(x * 10) + anp.rint(x),
    "mod": lambda x: anp.mod(5 * x, 1.3) + anp.floor_divide(7 * x, 0.9) + anp.fmod(x, 0.3),
    "casts": lambda x: (
        anp.astype(anp.astype(x, np.float32), np.float64) + anp.astype(x > 0, np.float64)
    ),
    "logistic_family": lambda x: (
        sps.logit(anp.abs(x) / 2 + 0.1) + sps.xlog1py(x, anp.abs(x)) + sps.entr(anp.abs(x))
    ),
    "more_functions": lambda x: (
        anp.cbrt(x)
        + anp.exp2(x)
        + anp.log2(x + 2)
        + anp.log10(x + 2)
        + anp.arcsinh(x)
        + anp.arccosh(x + 2)
        + anp.arctanh(x / 2)
        + anp.sinc(x)
        + anp.deg2rad(x) * anp.rad2deg(x)
    ),
    "more_selection": lambda x: (
        anp.fmax(x, 0.1) * anp.fmin(x, 0.2)
        + anp.copysign(2.0, x) * x
        + anp.heaviside(x, 0.5)
        + anp.nextafter(x, 1.0)
    ),
}


def _derivs(f):
    """f, f' and f'' as functions of a whole array of points (elementwise)."""
    d1 = ad.grad(lambda x: anp.sum(f(x)))
    d2 = ad.grad(lambda x: anp.sum(d1(x)))
    return [(0, f, f), (1, ad.grad(f), d1), (2, ad.grad(ad.grad(f)), d2)]


@needs_cc
@pytest.mark.parametrize("name", sorted(SCALAR))
def test_scalar_functions_and_derivatives(name):
    f = SCALAR[name]
    X = np.random.default_rng(0).uniform(-0.9, 0.9, 1000)
    for order, g, vec in _derivs(f):
        cf = compile_c(g, 0.3)
        with np.errstate(all="ignore"):
            ref = np.asarray(vec(X), dtype=np.float64)
            close(cf(X), ref)
            close(cf(X[7]), np.float64(g(X[7])))  # one point: no batch axis
        assert cf.backend == "c", order


def test_polygamma_matches_scipy():
    pytest.importorskip("scipy")
    if find_c_compiler() is None:
        pytest.skip("no C compiler")
    X = np.concatenate([np.linspace(-5.3, 30, 211), [0.0, -0.0, -1.0, -2.0, 1e-8, 1e5, np.nan]])
    for n in range(4):
        cf = compile_c(lambda x, n=n: sps.polygamma(n, x), 0.3)
        ref = sps.polygamma(n, X)
        out = cf(X)
        fin = np.isfinite(ref) & (np.abs(ref) > 1e-3)  # away from the roots of digamma
        close(out[fin], ref[fin], rtol=1e-13)
        np.testing.assert_array_equal(out[~np.isfinite(ref)], ref[~np.isfinite(ref)])


# ============================================================================ small arrays
def _spd_shift(x):
    return x + 3.0 * np.eye(3)


ARRAY = {
    "sum_axes": lambda x: (
        anp.sum(x, axis=0) * anp.sum(x, axis=(0, 1)) + anp.mean(x**2, axis=1, keepdims=True).T
    ),
    "max_min_prod": lambda x: anp.max(x, axis=1) - anp.min(x) + anp.prod(x + 2.0, axis=0),
    "var_std": lambda x: anp.var(x, axis=0) + anp.std(x),
    "logsumexp": lambda x: sps.logsumexp(x, axis=1) + sps.logsumexp(x),
    "basic_index": lambda x: x[0, 1] * x[1:, :2] + x[::-1, ::2][None, 1:] + x[..., 0][1:, None],
    "constant_index_arrays": lambda x: x[[0, 2, 0], [1, 1, 2]] * 2 + anp.sum(x[np.array([1, 1])]),
    "concatenate_stack": lambda x: (
        anp.sum(anp.concatenate([x, x**2], axis=1), axis=0)
        + anp.ravel(anp.stack([x[0], x[1] * 3]))[:6]
    ),
    "split_hstack": lambda x: anp.split(x, 3, axis=0)[1] * anp.hstack(anp.split(x, 3, axis=1))[:1],
    "matmul": lambda x: (x @ x.T) @ anp.sin(x) + x @ anp.ones(3) + anp.ones(3) @ x,
    "einsum": lambda x: (
        anp.einsum("ij,jk->ik", x, x)
        + anp.einsum("ii->i", x)[:, None]
        + anp.einsum("ij,ij->", x, x)
    ),
    "trace_outer_diag": lambda x: (
        anp.trace(x) * anp.outer(x[0], x[1]) + anp.diag(x)[None, :] + anp.diag(anp.diag(x))
    ),
    "flip_roll_cum": lambda x: (
        anp.flip(x, 0) + anp.roll(x, 1, axis=1) + anp.cumsum(x, axis=0) + anp.cumprod(x, axis=1)
    ),
    "tensordot_dot": lambda x: anp.tensordot(x, x, axes=([1], [0])) + anp.dot(x, x[0]),
    "det_inv_solve": lambda x: (
        anp.linalg.det(_spd_shift(x)) * anp.linalg.inv(_spd_shift(x))
        + anp.linalg.solve(_spd_shift(x), x[0])
    ),
    "slogdet_solve_matrix": lambda x: (
        anp.linalg.slogdet(_spd_shift(x))[1] + anp.linalg.solve(_spd_shift(x), x.T)
    ),
    "norm": lambda x: anp.linalg.norm(x) + anp.linalg.norm(x[0]),
    "take_and_at": lambda x: (
        anp.take(x, np.array([2, 0, 0])) * anp.take_along_axis(x, np.array([[1, 0, 2]]), axis=0)
        + at(x)[np.array([0, 0, 2])].multiply(x[1] + 2.0)
        + at(x)[np.array([0, 1, 1])].max(x[2])
    ),
    "pad_triu_tile": lambda x: (
        anp.pad(x, 1)[1:-1, 2:] + anp.triu(x) + anp.tril(x, -1) * 2 + anp.tile(x[0], 1)
    ),
}


@needs_cc
@pytest.mark.parametrize("name", sorted(ARRAY))
def test_small_array_functions_and_derivatives(name):
    f = ARRAY[name]

    def loss(x):
        return anp.sum(anp.sin(f(x)))

    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 3, 3)) * 0.5
    for g in (f, ad.grad(loss), ad.hessian(loss)):
        cf = compile_c(g, X[0])
        ref = np.stack([np.asarray(g(x)) for x in X])
        close(cf(X), ref, rtol=1e-13, scale_atol=1e-13)


def test_scatter_set_and_add():
    if find_c_compiler() is None:
        pytest.skip("no C compiler")

    from adgraph.ops.indexing import scatter_add

    def g(x):
        y = scatter_add(x, (1, slice(None)), x[0])
        return scatter_add(y, (np.array([0, 0, 2]), np.array([1, 1, 0])), 10 * x[2])

    x = np.arange(9.0).reshape(3, 3)
    ref = x.copy()
    ref[1] += x[0]
    np.add.at(ref, (np.array([0, 0, 2]), np.array([1, 1, 0])), 10 * x[2])
    cf = compile_c(g, x)
    close(cf(x), ref)
    close(cf(np.stack([x, 2 * x]))[1], 2 * ref)
    gg = ad.grad(lambda x: anp.sum(g(x) ** 2))
    close(compile_c(gg, x)(x), gg(x))


# ============================================================================ material laws
def psi_linear(e, lam=1.2, mu=0.8):
    """Linear elasticity: 0.5 lam tr(e)^2 + mu tr(e e)."""
    return 0.5 * lam * anp.trace(e) ** 2 + mu * anp.trace(e @ e)


def psi_neo_hookean(F, mu=1.0, lam=2.0):
    """Compressible neo-Hookean: mu/2 (tr C - 3) - mu ln J + lam/2 (ln J)^2."""
    C = F.T @ F
    lnJ = anp.log(anp.linalg.det(F))
    return 0.5 * mu * (anp.trace(C) - 3.0) - mu * lnJ + 0.5 * lam * lnJ**2


@needs_cc
@pytest.mark.parametrize("psi, base", [(psi_linear, 0.0), (psi_neo_hookean, 1.0)])
def test_strain_energy_stress_and_tangent_batched(psi, base):
    rng = np.random.default_rng(2)
    E = base * np.eye(3) + 0.1 * rng.standard_normal((1000, 3, 3))

    def law(e):
        return psi(e), ad.grad(psi)(e), ad.hessian(psi)(e)

    cf = compile_c(law, E[0])
    energy, stress, tangent = cf(E)
    assert energy.shape == (1000,)
    assert stress.shape == (1000, 3, 3)
    assert tangent.shape == (1000, 3, 3, 3, 3)
    ref = ad.vmap(law)(E)
    close(energy, ref[0])
    close(stress, ref[1])
    close(tangent, ref[2])
    # a few points evaluated one at a time, eagerly
    for k in (0, 500, 999):
        for got, want in zip(cf(E[k]), law(E[k]), strict=True):
            close(got, np.asarray(want))
    if psi is psi_linear:  # closed forms
        lam, mu = 1.2, 0.8
        close(
            stress,
            lam * np.trace(E, axis1=1, axis2=2)[:, None, None] * np.eye(3)
            + 2 * mu * np.swapaxes(E, 1, 2),
        )  # d tr(e e)/de = 2 e^T


@needs_cc
def test_jacfwd_of_stress_composes():
    """compile_c(ad.jacfwd(stress), eps): the forward sweep over nine tangents as C."""

    def stress(e):
        return ad.grad(psi_neo_hookean)(e)

    F = np.eye(3) + 0.05 * np.random.default_rng(3).standard_normal((100, 3, 3))
    cf = compile_c(ad.jacfwd(stress), F[0])
    close(cf(F), ad.vmap(ad.jacfwd(stress))(F))
    both = compile_c(lambda e: (ad.grad(psi_neo_hookean)(e), ad.hessian(psi_neo_hookean)(e)), F[0])
    s, t = both(F)
    close(t, cf(F))


@needs_cc
def test_float32_stays_float32():
    def psi(e):
        return (
            0.6 * anp.trace(e) ** 2
            + 0.8 * anp.sum(e * e)
            + anp.exp(-anp.sum(e))
            + anp.max(e) * anp.sqrt(1 + anp.sum(e**2))
        )

    X = np.random.default_rng(4).standard_normal((50, 3, 3)).astype(np.float32)

    def law(e):
        return psi(e), ad.grad(psi)(e), ad.hessian(psi)(e)

    cf = compile_c(law, X[0])
    assert "float" in cf.source and "double" not in cf.source.split("void adg_")[1]
    for got, want in zip(cf(X), ad.vmap(law)(X), strict=True):
        assert got.dtype == np.float32
        close(got, np.asarray(want), rtol=2e-6, scale_atol=2e-6)


# ============================================================================ calling
@needs_cc
def test_pytrees_static_shared_and_integer_outputs():
    def law(p, e, detailed):
        s = p["lam"] * anp.trace(e) * anp.eye(3) + 2 * p["mu"] * e
        if detailed:
            return {"s": s, "n": anp.sum(e > 0), "any": anp.any(e > 1.0)}
        return s

    p = {"lam": 1.0, "mu": 0.5}
    cf = compile_c(law, p, np.eye(3), True, static_argnums=2)
    E = np.random.default_rng(5).standard_normal((5, 3, 3))
    lam = np.array([1.0, 2, 3, 4, 5])
    r = cf({"lam": lam, "mu": 0.5}, E, True)  # lam per point, mu shared
    assert r["s"].shape == (5, 3, 3) and r["n"].dtype == np.int64 and r["any"].dtype == np.bool_
    for k in range(5):
        want = law({"lam": lam[k], "mu": 0.5}, E[k], True)
        close(r["s"][k], np.asarray(want["s"]))
        assert r["n"][k] == want["n"] and r["any"][k] == want["any"]
    one = cf(p, E[0], True)  # one point: no batch axis
    assert one["s"].shape == (3, 3)
    with pytest.raises(ValueError, match="static argument 2 differs"):
        cf(p, E, False)
    with pytest.raises(TypeError, match="structured"):
        cf((1.0, 0.5), E, True)
    with pytest.raises(ValueError, match="expected"):
        cf(p, np.ones((5, 3, 4)), True)
    with pytest.raises(ValueError, match="leading sizes"):
        cf({"lam": lam[:4], "mu": 0.5}, E, True)
    with pytest.raises(TypeError, match="dtype"):
        cf(p, E.astype(np.complex128), True)


@needs_cc
def test_non_contiguous_and_cast_inputs_and_out_buffers():
    def f(x):
        return anp.sin(x) @ x

    cf = compile_c(f, np.eye(2))
    X = np.random.default_rng(6).standard_normal((4, 2, 8))[:, :, ::4]  # strided
    ref = np.stack([f(x) for x in X])
    close(cf(X), ref)
    close(cf(X.astype(np.float32)), np.stack([f(x) for x in X.astype(np.float32).astype(float)]))
    out = np.zeros((4, 2, 2))
    assert cf(X, out=out) is out
    close(out, ref)
    with pytest.raises(ValueError, match="out="):
        cf(X, out=np.zeros((4, 2, 2), dtype=np.float32))


@needs_cc
def test_threads_split_the_batch(monkeypatch):
    monkeypatch.setattr(runtime, "_MIN_PER_THREAD", 100)

    def f(x):
        return anp.exp(-x) * anp.cos(3 * x), anp.sum(x)

    cf = compile_c(f, np.zeros(3))
    X = np.random.default_rng(7).standard_normal((1001, 3))
    a1, b1 = cf(X, threads=1)
    a4, b4 = cf(X, threads=4)
    np.testing.assert_array_equal(a1, a4)
    np.testing.assert_array_equal(b1, b4)
    close(a1, np.exp(-X) * np.cos(3 * X))


@needs_cc
def test_inlines_jit_and_custom_rules():
    inner = ad.jit(lambda x: anp.sin(x) * 2.0)

    @ad.custom_jvp
    def softplus(x):
        return anp.logaddexp(x, 0.0)

    @softplus.defjvp
    def _softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), sps.expit(x) * t

    remat = ad.checkpoint(lambda x: anp.cos(x) * x)

    def f(x):
        return anp.sum(inner(x) ** 2 + softplus(x) + remat(x))

    X = np.random.default_rng(10).standard_normal((30, 3))
    for g in (f, ad.grad(f), ad.hessian(f)):
        close(compile_c(g, X[0])(X), np.stack([np.asarray(g(x)) for x in X]))


# ============================================================================ semantics
@needs_cc
def test_numpy_edge_semantics():
    def f(x, y):
        return (
            anp.maximum(x, y),
            anp.minimum(x, y),
            anp.sign(x),
            anp.mod(x, y),
            anp.floor_divide(x, y),
            anp.logaddexp(x, y),
            anp.fmax(x, y),
            anp.where(x > y, x, y),
            anp.heaviside(x, 0.5),
            x / y,
        )

    vals = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5, 3.0])
    X, Y = (a.ravel() for a in np.meshgrid(vals, vals))
    cf = compile_c(f, 1.0, 2.0)
    with np.errstate(all="ignore"):
        for got, want in zip(cf(X, Y), ad.vmap(f)(X, Y), strict=True):
            np.testing.assert_array_equal(got, np.asarray(want))
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@needs_cc
def test_zero_times_inf_is_kept_unless_assume_finite():
    def f(x, y):
        return x * 0.0 + y

    ieee = compile_c(ad.jacfwd(lambda x: x * x), np.ones(3))
    finite = compile_c(ad.jacfwd(lambda x: x * x), np.ones(3), assume_finite=True)
    x = np.array([1.0, np.inf, 2.0])
    with np.errstate(all="ignore"):
        # row 1 is 2 x_1 t: inf * 0 = nan off the diagonal, as in the eager program
        np.testing.assert_array_equal(ieee(x), ad.jacfwd(lambda x: x * x)(x))
        assert np.isnan(ieee(x)[1, 0])
    assert finite(x)[1, 0] == 0.0 and finite(x)[1, 1] == np.inf
    assert finite.kernel.n_statements < ieee.kernel.n_statements
    y = np.random.default_rng(8).standard_normal(3)
    close(finite(y), ieee(y))
    with np.errstate(all="ignore"):
        assert np.isnan(compile_c(f, 1.0, 1.0)(np.inf, 1.0))


# ============================================================================ errors
def test_unsupported_primitive_is_named():
    with pytest.raises(CBackendError, match="argsort"):
        c_source(lambda x: anp.sort(x), np.ones(3))


def test_large_node_refused_with_hint():
    with pytest.raises(CBackendError, match="ONE point"):
        c_source(lambda x: anp.sin(x), np.ones((1000, 3)))
    src = c_source(lambda x: anp.sin(x), np.ones((1000, 3)), max_node_size=4000)
    assert "sin(" in src


def test_control_flow_and_traced_indices_refused():
    def branchy(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(CBackendError, match="anp.where"):
        c_source(branchy, 1.0)
    with pytest.raises(CBackendError, match="computed index arrays"):
        c_source(lambda x: x[anp.astype(x[:2] > 0, np.int64)], np.ones(3))
    with pytest.raises(CBackendError, match="complex"):
        c_source(lambda z: z * 2, np.ones(2, dtype=complex))


def test_source_is_a_batched_c_function():
    src = c_source(lambda x, y: anp.exp(x) * y, 1.0, np.ones(2))
    assert "void adg_" in src and "long n" in src and "const double* restrict in0" in src
    assert "for (long i = 0; i < n; ++i)" in src
    assert "exp(" in src


@needs_cc
def test_compiler_failure_is_reported(monkeypatch, tmp_path):
    false = shutil.which("false")
    if false is None:
        pytest.skip("no `false` program")
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(tmp_path))
    monkeypatch.setattr(frontend, "find_c_compiler", lambda: [false])
    with pytest.raises(CCompileError, match="generated source"):
        compile_c(lambda x: anp.cos(x) * 41.25, 1.0)


# ============================================================================ fallback, cache
def test_fallback_without_compiler_warns_once(monkeypatch):
    monkeypatch.setattr(frontend, "find_c_compiler", lambda: None)

    def psi(e):
        return 0.6 * anp.trace(e) ** 2 + 0.8 * anp.sum(e * e) + anp.exp(-anp.sum(e))

    def law(e):
        return ad.grad(psi)(e), ad.hessian(psi)(e)

    E = np.random.default_rng(9).standard_normal((6, 3, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf = compile_c(law, E[0])
        batched = cf(E)
        single = cf(E[2])
        cf(E)
    assert [w.category for w in caught] == [CCompilerWarning]
    assert cf.backend == "python" and cf.source is None
    out = (np.empty((6, 3, 3)), np.empty((6, 3, 3, 3, 3)))
    assert cf(E, out=out) is out
    close(out[1], batched[1])
    ref = ad.vmap(law)(E)
    close(batched[0], ref[0])
    close(batched[1], ref[1])
    close(single[1], np.asarray(law(E[2])[1]))


def test_fallback_runs_each_batch_pattern_and_size_as_the_c_version(monkeypatch):
    monkeypatch.setattr(frontend, "find_c_compiler", lambda: None)

    def f(x, s):
        return anp.sin(x) * s, anp.sum(x * x) * s

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CCompilerWarning)
        cf = compile_c(f, np.zeros(2), 1.5)
    rng = np.random.default_rng(4)
    X, S = rng.standard_normal((5, 2)), rng.standard_normal(5)
    calls = [(X, 1.5), (X, S), (X[:3], 2.0), (X[0], S[1]), (X[0], 1.5), (X, 1.5), (X[:3], 0.5)]
    for x, s in calls:
        a, b = cf(x, s)
        s_b = np.asarray(s)[..., None] if np.ndim(s) else s
        close(a, np.sin(x) * s_b)
        close(b, np.sum(x * x, axis=-1) * s)
        assert a.shape == x.shape and b.shape == x.shape[:-1]
        assert (type(b) is np.float64) == (x.ndim == 1)  # one point: NumPy scalars
    # one Python program per batched pattern and signature, reused when they come back
    assert len(cf._programs) == 4
    close(cf.call_flat([X[1], np.float64(2.0)])[0], np.sin(X[1]) * 2.0)


@needs_cc
def test_compiled_objects_are_cached(monkeypatch):
    def f(x):
        return anp.tanh(x) * 12.375

    a = compile_c(f, 1.0)
    b = compile_c(f, 2.0)
    assert a.library == b.library
    # a fresh process finds the shared object on disk: no compiler call
    monkeypatch.setattr(cache, "_loaded", {})

    def no_compiler(*args, **kwargs):
        raise AssertionError("the compiler ran again")

    monkeypatch.setattr(toolchain.subprocess, "run", no_compiler)
    c = compile_c(f, 3.0)
    assert c.library == a.library
    close(c(np.array([0.5])), np.tanh([0.5]) * 12.375)


def test_determinant_derivatives_of_larger_matrices_compile():
    # 4x4 and larger: det's gradient and Hessian go through the cofactor primitives
    if find_c_compiler() is None:
        pytest.skip("no C compiler")
    A = np.random.default_rng(3).standard_normal((4, 4))
    g = compile_c(ad.grad(anp.linalg.det), A)
    np.testing.assert_allclose(g(A), ad.grad(anp.linalg.det)(A), rtol=1e-12)
    h = compile_c(ad.hessian(anp.linalg.det), A)
    np.testing.assert_allclose(h(A), ad.hessian(anp.linalg.det)(A), rtol=1e-11, atol=1e-12)


@needs_cc
def test_one_point_calls_return_fresh_results_across_calls_and_threads():
    import threading

    def f(x, v, s):
        return x * 2.0 + s, v * x, anp.sum(v) * s

    cf = ad.jit(f, compiler="c")
    v = np.array([1.0, 2.0, 3.0])
    a = cf(1.5, v, np.float64(0.5))
    b = cf(np.array(-2.0), v[::-1].copy(), 4.0)  # a 0-d array and a Python float
    # the first call's results are untouched by the second (no shared buffers leak out)
    assert a[0] == 3.5 and np.array_equal(a[1], v * 1.5) and a[2] == 3.0
    assert b[0] == 0.0 and np.array_equal(b[1], v[::-1] * -2.0) and b[2] == 24.0
    assert type(a[0]) is np.float64 and a[1] is not b[1]
    # a non-contiguous array argument
    w = np.arange(6.0)[::2]
    np.testing.assert_array_equal(cf(1.0, w, 1.0)[1], w)

    errors = []

    def worker(k):
        x = float(k)
        for _ in range(200):
            r = cf(x, v, 1.0)
            if r[0] != 2 * x + 1 or not np.array_equal(r[1], v * x):
                errors.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
