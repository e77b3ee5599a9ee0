"""Fused primitives (adgraph.ops.fused): NumPy references against the unfused compositions
(values, first and second derivatives, float32 kept), CuPy's kernel sources
(adgraph.backends.cupy_fused), and the CuPy path -- the extension points fused.kernel and
special.module, filled by CuPy's backend -- driven by a stand-in CuPy module (argument
order, dtypes, scalars, the cases that fall back to the reference).

The CUDA kernels themselves are compiled here with NVRTC when CuPy's NVRTC bindings are
importable (no GPU needed) and run against NumPy in tests/gpu/ on a machine with a GPU.
"""

from __future__ import annotations

import math
import re
import sys
import types

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.backends import cupy_fused as CF
from adgraph.core import extend
from adgraph.core.primitive import registry
from adgraph.ops import fused as F
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads

RNG = np.random.default_rng(0)
K0 = np.sqrt(2 / np.pi)


def _erfc(x):
    from scipy.special import erfc

    return erfc(x)


# Unfused compositions (adgraph.numpy) of the activations (GELU: closed forms below).
PLAIN = {
    "tanh": anp.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + anp.exp(-x)),
    "relu": lambda x: anp.maximum(x, 0.0),
    "softplus": lambda x: anp.log1p(anp.exp(x)),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + anp.tanh(K0 * (x + 0.044715 * x**3))),
}
FUSED = {
    "tanh": F.tanh,
    "sigmoid": F.sigmoid,
    "relu": F.relu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate=True),
}


def _x(shape=(3, 4), dtype=np.float64, scale=2.0, seed=0):
    x = np.random.default_rng(seed).normal(size=shape) * scale
    return x.astype(dtype)


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("name", sorted(PLAIN))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_match_composition(name, dtype):
    x = _x(dtype=dtype)
    got = FUSED[name](x)
    want = PLAIN[name](x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float64 else 2e-6, atol=1e-7)


def test_gelu_values_against_scipy():
    x = _x(scale=3.0)
    np.testing.assert_allclose(F.gelu(x), x * 0.5 * _erfc(-x / np.sqrt(2)), rtol=1e-13)
    # far in the left tail erfc keeps relative precision where 1 + erf(x) would be 0
    assert F.gelu(np.array(-10.0)) < 0 and abs(F.gelu(np.array(-10.0))) < 1e-20


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_without_scipy_uses_math_erfc(monkeypatch, dtype):
    x = _x(shape=(3, 4), dtype=dtype, scale=3.0)
    want = F.gelu(x), F.gelu_bwd(1.0, x)
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # `import scipy.special` fails
    got = F.gelu(x), F.gelu_bwd(1.0, x)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, rtol=1e-15 if dtype == np.float64 else 1e-6)
    scalar = F.gelu(np.float64(-1.5))  # a 0-d input
    np.testing.assert_allclose(scalar, -0.75 * math.erfc(1.5 / math.sqrt(2)), rtol=1e-15)
    da = pytest.importorskip("dask.array")
    lazy = F.gelu(da.from_array(x, chunks=(1, 4)))
    assert isinstance(lazy, da.Array)  # still lazy: math.erfc is mapped over the blocks
    np.testing.assert_allclose(lazy.compute(), want[0], rtol=1e-15 if dtype == np.float64 else 1e-6)


def test_extreme_inputs_do_not_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = F.sigmoid(x)
        sp = F.softplus(x)
    np.testing.assert_allclose(s, [0.0, np.exp(-50.0) / (1 + np.exp(-50.0)), 0.5, 1.0, 1.0])
    np.testing.assert_allclose(sp, [0.0, np.log1p(np.exp(-50.0)), np.log(2.0), 50.0, 1000.0])
    g = ad.grad(lambda x: anp.sum(F.softplus(x)))(x)
    np.testing.assert_allclose(g, s)
    assert np.all(np.isfinite(ad.grad(lambda x: anp.sum(F.sigmoid(x)))(x)))


def test_relu_at_zero_and_nan():
    x = np.array([-1.0, 0.0, 2.0, np.nan])
    y = F.relu(x)
    np.testing.assert_array_equal(y[:3], [0.0, 0.0, 2.0])
    assert np.isnan(y[3])
    np.testing.assert_array_equal(ad.grad(lambda x: anp.sum(F.relu(x)))(x[:3]), [0.0, 0.0, 1.0])


# ------------------------------------------------------------------ derivatives
@pytest.mark.parametrize("name", sorted(FUSED))
def test_check_grads_to_third_order(name):
    x = _x(shape=(2, 3))
    if name == "relu":
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # away from the kink
    check_grads(FUSED[name], (x,), order=3)


@pytest.mark.parametrize("name", sorted(PLAIN))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_first_and_second_derivatives_match_composition(name, dtype):
    x = _x(shape=(5,), dtype=dtype, seed=3)
    w = _x(shape=(5,), dtype=dtype, seed=4)
    v = _x(shape=(5,), dtype=dtype, seed=5)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)

    def loss(f):
        return lambda x: anp.sum(f(x) * w)

    g_f = ad.grad(loss(FUSED[name]))(x)
    g_p = ad.grad(loss(PLAIN[name]))(x)
    assert g_f.dtype == dtype
    np.testing.assert_allclose(g_f, g_p, **tol)
    h_f = ad.hvp(loss(FUSED[name]), (x,), (v,))
    h_p = ad.hvp(loss(PLAIN[name]), (x,), (v,))
    np.testing.assert_allclose(np.asarray(h_f), np.asarray(h_p), **tol)
    # forward mode and its tangent dtype
    _, t_f = ad.jvp(FUSED[name], (x,), (v,))
    _, t_p = ad.jvp(PLAIN[name], (x,), (v,))
    assert t_f.dtype == dtype
    np.testing.assert_allclose(t_f, t_p, **tol)


def test_gelu_derivatives_closed_form():
    x = _x(shape=(7,), scale=2.5)
    phi = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    cdf = 0.5 * _erfc(-x / np.sqrt(2))
    g = ad.grad(lambda x: anp.sum(F.gelu(x)))(x)
    np.testing.assert_allclose(g, cdf + x * phi, rtol=1e-12)
    h = ad.grad(lambda x: anp.sum(ad.grad(lambda x: anp.sum(F.gelu(x)))(x)))(x)
    np.testing.assert_allclose(h, phi * (2 - x * x), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "bwd",
    [F.tanh_bwd, F.sigmoid_bwd, F.softplus_bwd, F.gelu_bwd, lambda g, x: F.gelu_bwd(g, x, True)],
    ids=["tanh", "sigmoid", "softplus", "gelu", "gelu_tanh"],
)
def test_backward_partners_are_differentiable_in_both_arguments(bwd):
    g = _x(shape=(2, 3), seed=1)
    z = _x(shape=(2, 3), seed=2) * 0.4  # inside (-1, 1) for tanh/sigmoid outputs too
    check_grads(bwd, (g, z), order=2)


def test_backward_partner_broadcasts_and_keeps_float32():
    y = _x(shape=(3, 4), dtype=np.float32) * 0.3
    out = F.tanh_bwd(1.0, y)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    np.testing.assert_allclose(out, 1 - y * y, rtol=1e-6)
    out = F.tanh_bwd(np.ones(4, np.float32), y)
    assert out.shape == (3, 4)


def test_vmap_uses_elementwise_batching():
    x = _x(shape=(4, 3))
    for f in FUSED.values():
        np.testing.assert_allclose(ad.vmap(f)(x), f(x))
    jac = ad.jacfwd(F.tanh)(x[0])
    np.testing.assert_allclose(jac, np.diag(1 - np.tanh(x[0]) ** 2), atol=1e-14)


def test_nested_grad_through_fused_tanh_three_levels():
    x = np.array(0.3)
    d3 = ad.grad(ad.grad(ad.grad(F.tanh)))(x)
    t = np.tanh(0.3)
    np.testing.assert_allclose(d3, -2 * (1 - t * t) * (1 - 3 * t * t), rtol=1e-12)


def test_integer_input_is_promoted():
    y = F.tanh(np.arange(3))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, np.tanh(np.arange(3)))


def test_complex_input_refused():
    with pytest.raises(OpError, match="complex"):
        F.relu(np.ones(2, complex))


# ------------------------------------------------------------------ cross-entropy
def _xent_plain(z, labels):
    m = anp.max(ad.stop_gradient(z), axis=-1, keepdims=True)
    lse = anp.log(anp.sum(anp.exp(z - m), axis=-1)) + m[..., 0]
    onehot = (labels[..., None] == np.arange(z.shape[-1])).astype(z.dtype)
    return anp.mean(lse - anp.sum(z * onehot, axis=-1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ldtype", [np.int64, np.int32, np.uint8])
def test_xent_value_and_gradient(dtype, ldtype):
    z = _x(shape=(6, 5), dtype=dtype, scale=3.0)
    labels = np.array([0, 4, 2, 2, 1, 3], dtype=ldtype)
    got = F.softmax_cross_entropy(z, labels)
    assert got.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, _xent_plain(z, labels), rtol=tol)
    g = ad.grad(lambda z: F.softmax_cross_entropy(z, labels))(z)
    assert g.dtype == dtype
    s = np.exp(z - z.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    onehot = np.eye(5)[labels.astype(int)]
    np.testing.assert_allclose(g, (s - onehot) / 6, rtol=10 * tol, atol=tol)


def test_xent_second_derivatives_match_composition():
    z = _x(shape=(4, 3), scale=2.0)
    labels = np.array([2, 0, 1, 1])
    v = _x(shape=(4, 3), seed=9)
    f = lambda z: F.softmax_cross_entropy(z, labels)
    p = lambda z: _xent_plain(z, labels)
    np.testing.assert_allclose(
        np.asarray(ad.hvp(f, (z,), (v,))), np.asarray(ad.hvp(p, (z,), (v,))), rtol=1e-10
    )
    np.testing.assert_allclose(ad.hessian(f)(z), ad.hessian(p)(z), rtol=1e-9, atol=1e-13)
    check_grads(f, (z,), order=3)


def test_xent_backward_partner_rules():
    z = _x(shape=(3, 4))
    labels = np.array([1, 0, 3])
    check_grads(lambda ct, z: F.softmax_cross_entropy_bwd(ct, z, labels), (1.7, z), order=2)


def test_xent_leading_axes_and_scaled_cotangent():
    z = _x(shape=(2, 3, 4))
    labels = np.array([[0, 1, 2], [3, 3, 0]])
    f = lambda z: 2.5 * F.softmax_cross_entropy(z, labels)
    np.testing.assert_allclose(f(z), 2.5 * _xent_plain(z, labels), rtol=1e-12)
    np.testing.assert_allclose(
        ad.grad(f)(z), ad.grad(lambda z: 2.5 * _xent_plain(z, labels))(z), rtol=1e-10
    )


def test_xent_errors_name_the_problem():
    z = np.zeros((3, 4))
    with pytest.raises(OpError, match="shape"):
        F.softmax_cross_entropy(z, np.zeros(4, int))
    with pytest.raises(OpError, match="integer"):
        F.softmax_cross_entropy(z, np.zeros(3))
    with pytest.raises(OpError, match=r"\[0, 4\)"):
        F.softmax_cross_entropy(z, np.array([0, 4, 1]))
    with pytest.raises(OpError, match="class axis"):
        F.softmax_cross_entropy(np.float64(1.0), np.int64(0))


def test_xent_reference_gives_nan_for_invalid_labels():
    # the GPU kernels cannot raise; the reference implementation agrees with them
    z = np.zeros((2, 3))
    rows = F.softmax_xent_p.impl(np, z, np.array([0, 7]))
    assert np.isnan(rows)
    g = F.softmax_xent_bwd_p.impl(np, 1.0, z, np.array([0, -1]))
    assert np.all(np.isfinite(g[0])) and np.all(np.isnan(g[1]))


def test_primitives_are_declared_with_rules_and_docs():
    names = [n for n in registry if n.startswith("fused_")]
    assert len(names) == 14
    for n in names:
        p = registry[n]
        assert p.doc and p.vjp is not None and p.tangent is not None


# ------------------------------------------------------------------ optimiser steps
def test_sgd_and_adam_updates_generic_path():
    p, g, b = _x(shape=(4,), seed=1), _x(shape=(4,), seed=2), _x(shape=(4,), seed=3)
    pn, bn = F.sgd_update(p, g, b, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    d = g + 0.01 * p
    np.testing.assert_allclose(bn, 0.9 * b + d)
    np.testing.assert_allclose(pn, p - 0.1 * (d + 0.9 * (0.9 * b + d)))
    m, v = np.zeros(4), np.zeros(4)
    pn, mn, vn = F.adam_update(p, g, m, v, lr=0.1, b1=0.9, b2=0.99, eps=1e-8, c1=10.0, c2=100.0)
    np.testing.assert_allclose(pn, p - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-7)


# ------------------------------------------------------------------ kernel sources
_PARAM = re.compile(r"^(raw\s+)?([A-Z]|int32|int64|float32|float64)\s+([a-z][a-z0-9_]*)$")


@pytest.mark.parametrize("name", sorted(CF.ELEMENTWISE_KERNELS))
def test_elementwise_kernel_specs_are_well_formed(name):
    spec = CF.ELEMENTWISE_KERNELS[name]
    names = []
    for group in (spec.in_params, spec.out_params):
        for param in group.split(","):
            m = _PARAM.match(param.strip())
            assert m, f"{name}: bad parameter {param!r}"
            names.append(m.group(3))
    assert len(set(names)) == len(names)
    assert not {"i", "n"} & set(names), "CuPy reserves i and n"
    for out in spec.out_params.split(","):
        var = out.split()[-1]
        assert re.search(rf"\b{var}\s*=", spec.operation), f"{name}: {var} never assigned"
    assert spec.operation.count("(") == spec.operation.count(")")
    assert spec.preamble.count("{") == spec.preamble.count("}")


@pytest.mark.parametrize("name", sorted(CF.RAW_KERNELS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ldtype", ["int32", "int64"])
def test_raw_kernel_sources_substitute(name, dtype, ldtype):
    fname, src = CF.raw_kernel_source(name, dtype, ldtype)
    assert fname == f"adgraph_{name}_{dtype}_{ldtype}"
    assert "${" not in src and f"void {fname}(" in src
    assert src.count("{") == src.count("}")
    ctype = {"float32": "float", "float64": "double"}[dtype]
    assert f"const {ctype}* z" in src


def _cupy_like_source(name, spec, ctype):
    """The CUDA C++ CuPy generates for an ElementwiseKernel, in its essentials: typedef of the
    placeholder, the preamble, and the operation with inputs bound as const references."""
    cmap = {
        "T": ctype,
        "int32": "int",
        "int64": "long long",
        "float32": "float",
        "float64": "double",
    }
    params, binds = [], []
    for group, const in ((spec.in_params, "const "), (spec.out_params, "")):
        for param in group.split(","):
            t, v = param.split()[-2:]
            params.append(f"{const}{cmap[t]}* _raw_{v}")
            binds.append(f"{const}{cmap[t]} &{v} = _raw_{v}[_k];")
    return (
        f"typedef {ctype} T;\n{spec.preamble}\n"
        f'extern "C" __global__ void adgraph_{name}({", ".join(params)}, long long _n) {{\n'
        "  for (long long _k = (long long)blockIdx.x * blockDim.x + threadIdx.x; _k < _n;"
        " _k += (long long)blockDim.x * gridDim.x) {\n"
        f"    {' '.join(binds)}\n    {spec.operation};\n  }}\n}}\n"
    )


def _nvrtc_compile():
    try:
        from cupy.cuda import compiler

        compiler._NVRTCProgram('extern "C" __global__ void k() {}', "k.cu").compile(
            ("-arch=compute_90",)
        )
    except Exception as e:  # no CuPy, or no libnvrtc
        pytest.skip(f"NVRTC not available: {type(e).__name__}: {e}")

    def compile_(src, name):
        ptx, _ = compiler._NVRTCProgram(src, name + ".cu").compile(("-arch=compute_90",))
        return ptx.decode() if isinstance(ptx, bytes) else ptx

    return compile_


def test_kernels_compile_with_nvrtc_and_float_stays_float():
    compile_ = _nvrtc_compile()
    for name, spec in CF.ELEMENTWISE_KERNELS.items():
        for ctype in ("float", "double"):
            ptx = compile_(_cupy_like_source(name, spec, ctype), name)
            if ctype == "float":
                assert not re.search(r"cvt\.[a-z.]*f64", ptx), f"{name}: float kernel uses double"
    for name in CF.RAW_KERNELS:
        for dt in ("float32", "float64"):
            for lt in ("int32", "int64"):
                fname, src = CF.raw_kernel_source(name, dt, lt)
                ptx = compile_(src, fname)
                assert fname in ptx
                if dt == "float32":
                    assert not re.search(r"cvt\.[a-z.]*f64", ptx)


# ------------------------------------------------------------------ CuPy dispatch, simulated
class _FakeArray:
    """A host array posing as a cupy.ndarray (its type lives in a module named 'cupy')."""

    def __init__(self, a):
        self.a = np.asarray(a)

    dtype = property(lambda self: self.a.dtype)
    shape = property(lambda self: self.a.shape)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)

    def astype(self, dtype, copy=True):
        return _FakeArray(self.a.astype(dtype))


_FakeArray.__module__ = "cupy"
_FakeArray.__name__ = _FakeArray.__qualname__ = "ndarray"


def _unwrap(x):
    return x.a if isinstance(x, _FakeArray) else x


_EMULATE = {
    **{k: (lambda k: lambda x: F.REFERENCE_FORWARD[k](np, x))(k) for k in F.REFERENCE_FORWARD},
    **{
        f"{k}_bwd": (lambda k: lambda g, z: g * F.REFERENCE_DERIVATIVE[k](np, z))(k)
        for k in F.REFERENCE_DERIVATIVE
    },
    "sgd_update": lambda p, g, lr, wd: p - lr * (g + wd * p),
    "sgd_momentum_update": lambda p, g, b, lr, mu, wd, nes: (
        p - lr * ((g + wd * p) + mu * (mu * b + g + wd * p) if nes else mu * b + g + wd * p),
        mu * b + g + wd * p,
    ),
    "adam_update": lambda p, g, m, v, lr, b1, b2, eps, c1, c2, wd: (
        p
        - lr
        * (
            (b1 * m + (1 - b1) * g) * c1 / (np.sqrt((b2 * v + (1 - b2) * g * g) * c2) + eps)
            + wd * p
        ),
        b1 * m + (1 - b1) * g,
        b2 * v + (1 - b2) * g * g,
    ),
}


class _FakeElementwiseKernel:
    calls: list = []

    def __init__(self, in_params, out_params, operation, name, preamble=""):
        self.ins = [p.split() for p in in_params.split(",")]
        self.nout = len(out_params.split(","))
        self.name = name
        self.key = name[len("adgraph_") :]

    def __call__(self, *args):
        assert len(args) == len(self.ins), f"{self.name}: {len(args)} arguments"
        t = {a.dtype for a, (ty, _) in zip(args, self.ins) if ty == "T" and hasattr(a, "shape")}
        assert len(t) == 1, f"{self.name}: placeholder T bound to {t}"
        for a, (ty, v) in zip(args, self.ins):
            if not isinstance(a, _FakeArray):
                assert isinstance(a, (int, float, np.generic)), f"{self.name}: {v}={a!r}"
            if ty == "int32":
                assert isinstance(a, int), f"{self.name}: {v} must be an int"
        _FakeElementwiseKernel.calls.append(self.key)
        out = _EMULATE[self.key](*[_unwrap(a) for a in args])
        (dt,) = t
        if self.nout == 1:
            return _FakeArray(np.asarray(out, dtype=dt))
        return tuple(_FakeArray(np.asarray(o, dtype=dt)) for o in out)


class _FakeRawKernel:
    calls: list = []

    def __init__(self, code, name):
        assert f"void {name}(" in code
        self.name = name

    def __call__(self, grid, block, args):
        assert isinstance(grid, tuple) and isinstance(block, tuple)
        n, c = args[-2], args[-1]
        assert type(n) is np.int64 and type(c) is np.int64
        assert grid[0] * block[0] >= n
        z, lab = _unwrap(args[0]), _unwrap(args[1])
        assert z.flags.c_contiguous and z.size == n * c
        assert lab.dtype in (np.int32, np.int64)
        z = z.reshape(n, c)
        sh = z - z.max(-1, keepdims=True)
        lse = np.log(np.exp(sh).sum(-1))
        if "fwd" in self.name:
            rows = args[2]
            rows.a[...] = lse - sh[np.arange(n), lab.reshape(-1)]
        else:
            ct, alpha, out = _unwrap(args[2]), args[3], args[4]
            assert ct.shape == () and ct.dtype == z.dtype
            assert type(alpha) is z.dtype.type, f"alpha passed as {type(alpha)}"
            p = np.exp(sh - lse[:, None])
            p[np.arange(n), lab.reshape(-1)] -= 1
            out.a[...] = (p * ct * alpha).reshape(out.shape)
        _FakeRawKernel.calls.append(self.name)


@pytest.fixture
def fake_cupy(monkeypatch):
    mod = types.ModuleType("cupy")
    mod.ndarray = _FakeArray
    mod.ElementwiseKernel = _FakeElementwiseKernel
    mod.RawKernel = _FakeRawKernel
    mod.ascontiguousarray = lambda x: _FakeArray(np.ascontiguousarray(_unwrap(x)))
    mod.empty = lambda shape, dtype: _FakeArray(np.empty(shape, dtype))
    mod.ones = lambda shape, dtype: _FakeArray(np.ones(shape, dtype))
    mod.mean = lambda x: _FakeArray(np.mean(_unwrap(x)))
    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0))
    monkeypatch.setitem(sys.modules, "cupy", mod)
    # cupyx.scipy.special: SciPy's functions, counting the calls
    special = types.ModuleType("cupyx.scipy.special")
    special.calls = []

    def _counted(name):
        import scipy.special

        def f(*args):
            special.calls.append(name)
            return getattr(scipy.special, name)(*args)

        return f

    for name in ("erf", "erfc", "erfinv", "gammaln", "digamma", "zeta"):
        setattr(special, name, _counted(name))
    cupyx = types.ModuleType("cupyx")
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.special = special
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(sys.modules, "cupyx.scipy", cupyx.scipy)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.special", special)
    mod.special = special  # for the tests' assertions
    monkeypatch.setattr(CF, "_EW_CACHE", {})
    monkeypatch.setattr(CF, "_RAW_CACHE", {})
    monkeypatch.setattr(CF, "_ONE_CACHE", {})
    _FakeElementwiseKernel.calls = []
    _FakeRawKernel.calls = []
    from adgraph.core import xp as xpmod

    monkeypatch.setitem(xpmod._MODULE_OF, _FakeArray, mod)
    return mod


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cupy_dispatch_activations(fake_cupy, dtype):
    x = _x(shape=(3, 4), dtype=dtype)
    for f in FUSED.values():
        out = f(_FakeArray(x))
        assert isinstance(out, _FakeArray) and out.dtype == dtype
        np.testing.assert_allclose(out.a, f(x), rtol=1e-6)
    assert set(_FakeElementwiseKernel.calls) == set(FUSED)
    # backward partners with a Python scalar, a NumPy scalar and a float64 array cotangent
    y = _FakeArray(x * 0.3)
    for g in (1.0, dtype(2.0), _FakeArray(np.ones(4))):
        out = F.tanh_bwd(g, y)
        assert isinstance(out, _FakeArray)
        assert out.dtype == np.result_type(getattr(g, "dtype", dtype), dtype)
        np.testing.assert_allclose(out.a, _unwrap(g) * (1 - (x * 0.3) ** 2), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ldtype", [np.int32, np.int64, np.int16])
def test_cupy_dispatch_xent_forward_and_backward(fake_cupy, dtype, ldtype):
    z = _x(shape=(5, 3), dtype=dtype, scale=2.0)
    labels = np.array([0, 2, 1, 1, 0], dtype=ldtype)
    loss, grad = ad.value_and_grad(lambda z: F.softmax_cross_entropy(z, _FakeArray(labels)))(
        _FakeArray(z)
    )
    assert isinstance(loss, _FakeArray) and isinstance(grad, _FakeArray)
    assert loss.dtype == dtype and grad.dtype == dtype
    want_l, want_g = ad.value_and_grad(lambda z: F.softmax_cross_entropy(z, labels))(z)
    np.testing.assert_allclose(loss.a, want_l, rtol=1e-6)
    np.testing.assert_allclose(grad.a, want_g, rtol=1e-5, atol=1e-7)
    assert [c.rsplit("_", 2)[0] for c in _FakeRawKernel.calls] == [
        "adgraph_softmax_xent_fwd",
        "adgraph_softmax_xent_bwd",
    ]
    # a device cotangent (a scaled loss) is read from device memory, not the host
    g2 = F.softmax_cross_entropy_bwd(
        _FakeArray(np.array(3.0, dtype)), _FakeArray(z), _FakeArray(labels)
    )
    np.testing.assert_allclose(g2.a, 3 * want_g, rtol=1e-5, atol=1e-7)


def test_cupy_dispatch_optimizer_kernels(fake_cupy):
    p, g, b = (_x(shape=(4,), dtype=np.float32, seed=s) for s in (1, 2, 3))
    for nes in (False, True):
        pn, bn = F.sgd_update(
            _FakeArray(p), _FakeArray(g), _FakeArray(b), lr=0.1, momentum=0.9,
            weight_decay=0.01, nesterov=nes,
        )  # fmt: skip
        qn, cn = F.sgd_update(p, g, b, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=nes)
        np.testing.assert_allclose(pn.a, qn, rtol=1e-6)
        np.testing.assert_allclose(bn.a, cn, rtol=1e-6)
    pn, _ = F.sgd_update(_FakeArray(p), _FakeArray(g), None, lr=0.1)
    np.testing.assert_allclose(pn.a, p - 0.1 * g, rtol=1e-6)
    kw = dict(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, c1=10.0, c2=1000.0, weight_decay=0.1)
    out = F.adam_update(_FakeArray(p), _FakeArray(g), _FakeArray(b), _FakeArray(b * b), **kw)
    ref = F.adam_update(p, g, b, b * b, **kw)
    for o, r in zip(out, ref, strict=True):
        assert o.dtype == np.float32
        np.testing.assert_allclose(o.a, r, rtol=1e-5)
    assert set(_FakeElementwiseKernel.calls) == {"sgd_update", "sgd_momentum_update", "adam_update"}


# ------------------------------------------------------------------ the kernel contract
def _arg_names(signature):
    return [a.strip() for a in signature[1 : signature.index(")")].split(",")]


def test_every_fused_operation_has_a_cuda_kernel_taking_its_arguments():
    raw = {"softmax_xent", "softmax_xent_bwd"}
    assert set(F.KERNELS) == set(CF.ELEMENTWISE_KERNELS) | raw
    for name, spec in CF.ELEMENTWISE_KERNELS.items():
        params = [p.split()[-1] for p in spec.in_params.split(",")]
        assert params == _arg_names(F.KERNELS[name]), name
    assert _arg_names(F.KERNELS["softmax_xent"]) == ["z", "labels"]
    assert _arg_names(F.KERNELS["softmax_xent_bwd"]) == ["ct", "z", "labels"]
    assert "fused.kernel" in extend.points()


def test_cupy_kernels_decline_what_they_were_not_built_for(fake_cupy):
    def dev(shape, dtype):
        return _FakeArray(np.ones(shape, dtype))

    x16, x32, x64 = dev((3,), np.float16), dev((3,), np.float32), dev((3,), np.float64)
    assert CF.run(fake_cupy, "tanh", x16) is None  # no half-precision kernels
    assert CF.run(fake_cupy, "tanh", dev((3,), np.complex128)) is None
    assert CF.run(fake_cupy, "sgd_update", x32, x64, 0.1, 0.0) is None  # T binds one type
    assert CF.run(fake_cupy, "no_such_op", x32) is None
    labels = _FakeArray(np.zeros(3, np.int64))
    assert CF.run(fake_cupy, "softmax_xent", dev((3, 2), np.float16), labels) is None
    assert CF.run(fake_cupy, "softmax_xent_bwd", 1.0, dev((3, 2), np.float16), labels) is None
    assert _FakeElementwiseKernel.calls == [] and _FakeRawKernel.calls == []
    # Python scalars take the arrays' type T
    out = CF.run(fake_cupy, "sgd_update", x32, x32, 0.5, 0.0)
    assert out.dtype == np.float32 and _FakeElementwiseKernel.calls == ["sgd_update"]
    np.testing.assert_allclose(out.a, 0.5)
    assert CF.cuda_kernels_used() >= {"sgd_update"}


def test_cupy_reference_path_takes_erfc_from_cupyx(fake_cupy):
    # Where no kernel applies, the reference runs with CuPy's module of special functions,
    # which the backend names through special.module (here for a float16 array).
    x = _x(shape=(2, 3), dtype=np.float16)
    got = F.gelu_p.impl(fake_cupy, x)
    assert fake_cupy.special.calls == ["erfc"] and _FakeElementwiseKernel.calls == []
    np.testing.assert_allclose(got, F.gelu(x.astype(np.float64)), rtol=2e-3, atol=1e-3)
    fake_cupy.exp = np.exp  # the reference derivative's normal density
    d = F.gelu_bwd_p.impl(fake_cupy, np.float16(1.0), x)
    assert fake_cupy.special.calls == ["erfc", "erfc"]
    np.testing.assert_allclose(d, F.gelu_bwd(1.0, x.astype(np.float64)), rtol=2e-3, atol=1e-3)


def test_special_functions_of_cupy_arrays_come_from_cupyx(fake_cupy):
    from adgraph.ops import special

    x = np.array([0.3, 1.2, 2.5])
    for prim, name, want in [
        (special.erf_p, "erf", special.erf(x)),
        (special.gammaln_p, "gammaln", special.gammaln(x)),
        (special.erfinv_p, "erfinv", special.erfinv(x / 3)),
    ]:
        arg = x / 3 if name == "erfinv" else x
        np.testing.assert_allclose(prim.impl(fake_cupy, arg), want, rtol=1e-14)
        assert fake_cupy.special.calls[-1] == name
    np.testing.assert_allclose(
        special.polygamma_p.impl(fake_cupy, x, n=2), special.polygamma(2, x), rtol=1e-13
    )
    assert fake_cupy.special.calls[-1] == "zeta"


def test_numpy_never_looks_up_a_kernel(monkeypatch):
    def refuse(name, xp):
        raise AssertionError(f"looked up {name} for {xp.__name__}")

    monkeypatch.setattr(extend, "lookup", refuse)
    x = _x(shape=(4, 3))
    labels = np.array([0, 2, 1, 1])
    for f in FUSED.values():
        ad.grad(lambda x: anp.sum(f(x) ** 2))(x)
    ad.grad(lambda z: F.softmax_cross_entropy(z, labels))(x)
    F.sgd_update(x, x, x, lr=0.1, momentum=0.9)
    F.sgd_update(x, x, None, lr=0.1)
    F.adam_update(x, x, x, x * x, lr=0.1, b1=0.9, b2=0.99, eps=1e-8, c1=1.0, c2=1.0)
