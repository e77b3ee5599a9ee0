"""The multi-threaded NumPy kernels give the plain NumPy path's results.

Matrix-vector products of tall matrices run NumPy's einsum on blocks of rows, one block per
thread (adgraph.ops._parallel); they sum in another order than BLAS, so they agree with
``numpy.matmul`` to rounding: relative 1e-12 in float64, 1e-5 in float32 (sums of 2**18
terms). Each test also checks that the threaded kernel really ran (it returns None where it
does not apply), so a test cannot pass by falling back silently.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ops import _parallel as par

RTOL = {np.float64: 1e-12, np.float32: 1e-5, np.complex128: 1e-12}


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads and a small size threshold, so small test arrays take the threaded path
    even on a one-core machine."""
    monkeypatch.setattr(par, "workers", 2)
    monkeypatch.setattr(par, "PARALLEL_MIN_SIZE", 1 << 10)
    monkeypatch.setattr(par, "MATVEC_MIN_BYTES", 1 << 13)
    monkeypatch.setattr(par, "_MIN_BLOCK", 1 << 8)


def _close(a, b, dtype):
    scale = np.max(np.abs(b))
    np.testing.assert_allclose(a, b, rtol=0, atol=RTOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_matvec_and_vecmat_equal_numpy(two_threads, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5001, 7)).astype(dtype)
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal(a.shape)
    x = rng.standard_normal(7).astype(dtype)
    v = rng.standard_normal(5001).astype(dtype)
    mv = par.matvec(a, x)
    vm = par.vecmat(v, a)
    assert mv is not None and vm is not None
    assert mv.dtype == dtype and vm.dtype == dtype
    _close(mv, a @ x, dtype)
    _close(vm, v @ a, dtype)
    # the transposed layouts reach the same kernels: a.T @ v and x @ a.T
    _close(par.matvec(a.T, v), a.T @ v, dtype)
    _close(par.vecmat(x, a.T), x @ a.T, dtype)
    # a matrix of one column or one row stands for a vector
    _close(par.matmul(a, x[:, None]), (a @ x)[:, None], dtype)
    _close(par.matmul(v[None], a), (v @ a)[None], dtype)


def test_blocks_cover_every_row(two_threads, monkeypatch):
    # rows not divisible by the thread count, more threads than blocks allow
    monkeypatch.setattr(par, "workers", 3)
    a = np.arange(3 * 1000, dtype=float).reshape(1000, 3)
    out = par.matvec(a, np.array([1.0, 0.0, 0.0]))
    np.testing.assert_array_equal(out, a[:, 0])
    np.testing.assert_array_equal(par.vecmat(np.ones(1000), a), a.sum(axis=0))


def test_kernels_refuse_what_they_do_not_cover(two_threads):
    rng = np.random.default_rng(1)
    tall = rng.standard_normal((4000, 8))
    assert par.matvec(tall[:, ::2], np.ones(4)) is None  # rows not contiguous either way
    assert par.matvec(tall, np.ones(8, np.float32)) is None  # mixed dtypes: NumPy promotes
    assert par.matvec(tall.astype(int), np.ones(8, int)) is None  # integers
    assert par.matvec(rng.standard_normal((100, 100)), np.ones(100)) is None  # not tall
    assert par.matvec(np.ones((10, 8)), np.ones(8)) is None  # small
    assert par.matmul(tall, np.ones((8, 2))) is None  # a matrix product
    assert par.matvec(tall, np.ones(7)) is None  # shapes that do not match: NumPy's error


def test_one_thread_runs_einsum_inline(two_threads, monkeypatch):
    monkeypatch.setattr(par, "workers", 1)
    a = np.random.default_rng(2).standard_normal((3000, 5))
    x = np.arange(5.0)
    np.testing.assert_allclose(par.matvec(a, x), a @ x, rtol=1e-13)


def test_logistic_regression_gradient_threaded_equals_plain(two_threads, monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6000, 12))
    y = np.sign(rng.standard_normal(6000))
    w = rng.standard_normal(12) * 0.1

    def loss(w):
        return anp.mean(anp.log1p(anp.exp(-y * (X @ w))))

    calls = []
    real = par.matmul
    monkeypatch.setattr(par, "matmul", lambda a, b: calls.append(1) or real(a, b))
    g = ad.grad(loss)(w)
    assert len(calls) == 2  # the forward X @ w and the reverse X.T @ g both threaded
    # closed form of the gradient with plain NumPy
    z = X @ w
    ref = X.T @ (-y / (1.0 + np.exp(y * z))) / len(y)
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-15)
    monkeypatch.setattr(par, "PARALLEL_MIN_SIZE", 1 << 62)  # the plain path
    np.testing.assert_allclose(ad.grad(loss)(w), g, rtol=1e-12, atol=1e-15)


def test_vector_times_matrix_gradient(two_threads):
    # v @ A: the forward is the threaded vecmat, A's cotangent an outer product, v's A @ ct
    rng = np.random.default_rng(4)
    A = rng.standard_normal((4000, 6))
    v = rng.standard_normal(4000)
    c = rng.standard_normal(6)
    gv, gA = ad.grad(lambda v, A: anp.sum((v @ A) * c), argnums=(0, 1))(v, A)
    np.testing.assert_allclose(gv, A @ c, rtol=1e-12)
    np.testing.assert_allclose(gA, np.outer(v, c), rtol=1e-12)


# ------------------------------------------------------------------ threaded activations
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "softplus", "gelu_tanh", "softplus_bwd"])
def test_fused_activations_threaded_equal_reference(two_threads, monkeypatch, name, dtype):
    # The threaded kernels run the reference's operations in the same order on blocks:
    # the results are the reference's, bit for bit (asserted with a 2-ulp margin).
    from adgraph.ops import fused

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((70, 50)) * 6).astype(dtype)  # both signs, saturated tails
    g = rng.standard_normal((70, 50)).astype(dtype)
    prim = getattr(fused, f"{name}_p")
    args = (g, x) if name.endswith("_bwd") else (x,)
    ran = []
    real = par.elementwise
    monkeypatch.setattr(par, "elementwise", lambda *a: ran.append(1) or real(*a))
    out = prim.impl(np, *args)
    assert out.dtype == dtype and out.shape == x.shape
    # float64 takes the threaded blocks; float32 stays on one thread (measured no faster)
    assert bool(ran) == (dtype == np.float64)
    base = name.removesuffix("_bwd")
    if name.endswith("_bwd"):
        ref = g * fused.REFERENCE_DERIVATIVE[base](np, x)
    else:
        ref = fused.REFERENCE_FORWARD[base](np, x)
    np.testing.assert_array_max_ulp(out, ref, maxulp=2)
    # an independent closed form in float64
    xd = x.astype(np.float64)
    closed = {
        "sigmoid": 1 / (1 + np.exp(-xd)),
        "softplus": np.logaddexp(0.0, xd),
        "gelu_tanh": 0.5 * xd * (1 + np.tanh(np.sqrt(2 / np.pi) * (xd + 0.044715 * xd**3))),
        "softplus_bwd": g / (1 + np.exp(-xd)),
    }[name]
    tol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, closed, rtol=tol, atol=tol)


def test_elementwise_refuses_mixed_shapes_and_small_arrays(two_threads):
    def k(a, b, out):
        np.add(a, b, out=out)

    big = np.ones((64, 64))
    assert par.elementwise(k, big.dtype, big, np.ones(64)) is None  # broadcasting
    assert par.elementwise(k, big.dtype, big, big.T) is None  # not C-contiguous
    assert par.elementwise(k, big.dtype, np.ones(10), np.ones(10)) is None  # small
    out = par.elementwise(k, big.dtype, big, 2 * big)
    np.testing.assert_array_equal(out, np.full((64, 64), 3.0))


def test_softplus_gradient_threaded_equals_plain(two_threads, monkeypatch):
    import adgraph.nn as nn

    x = np.linspace(-30, 30, 4096)
    g = ad.grad(lambda x: anp.sum(nn.softplus(x)))(x)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-x)), rtol=1e-14, atol=1e-300)
    monkeypatch.setattr(par, "PARALLEL_MIN_SIZE", 1 << 62)
    np.testing.assert_array_max_ulp(ad.grad(lambda x: anp.sum(nn.softplus(x)))(x), g, maxulp=2)


def test_set_threads(monkeypatch):
    from adgraph import backends

    monkeypatch.setattr(par, "workers", None)
    backends.set_threads(1)
    assert par.threads() == 1
    backends.set_threads(None)
    assert par.threads() >= 1
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="set_threads: expected None or a positive int"):
            backends.set_threads(bad)
    assert par.workers is None


def test_one_thread_setting_keeps_activations_on_the_plain_path(two_threads, monkeypatch):
    from adgraph.ops import fused

    monkeypatch.setattr(par, "workers", 1)
    ran = []
    monkeypatch.setattr(par, "_executor", lambda n: ran.append(n))
    x = np.linspace(-5, 5, 5000)
    np.testing.assert_allclose(fused.sigmoid_p.impl(np, x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert par.elementwise(lambda a, out: None, x.dtype, x) is None
    assert not ran


def test_vecmat_float32_sums_in_short_runs(two_threads):
    # einsum adds row after row into each column; partial sums of 4096 rows keep float32's
    # rounding error far below one long run's (which is about 1e-5 relative here, as is
    # BLAS's): checked against the float64 product.
    rng = np.random.default_rng(6)
    a = (rng.standard_normal((1 << 18, 8)) + 0.5).astype(np.float32)
    v = (rng.standard_normal(1 << 18) + 0.3).astype(np.float32)
    exact = v.astype(np.float64) @ a.astype(np.float64)
    out = par.vecmat(v, a)
    assert out.dtype == np.float32
    assert np.max(np.abs(out - exact)) / np.max(np.abs(exact)) < 1e-6


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_threaded_kernels_work_in_a_forked_child(two_threads):
    # The parent's pool has threads; a forked child has none of them and must not queue
    # work for them (it would wait forever): it makes its own pool.
    import os

    a = np.random.default_rng(7).standard_normal((4000, 5))
    v = np.arange(4000.0)
    expect = v @ a
    np.testing.assert_allclose(par.vecmat(v, a), expect, rtol=1e-12)  # the parent's pool
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            ok = np.allclose(par.vecmat(v, a), expect, rtol=1e-12)
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    assert got == b"1"


def test_matrices_that_fit_in_cache_stay_with_blas():
    # Below MATVEC_MIN_BYTES (16 MiB) BLAS's gemv was measured faster: not threaded.
    a = np.ones((20000, 50))  # 8 MB, tall
    assert a.nbytes < par.MATVEC_MIN_BYTES
    assert par.matvec(a, np.ones(50)) is None
    assert par.vecmat(np.ones(20000), a) is None


def test_matmul_primitive_on_python_numbers_gives_numpys_error():
    # the size test in front of the threaded kernels must not turn NumPy's error about
    # scalar operands into an AttributeError
    from adgraph.ops.products import matmul_p

    with pytest.raises(ValueError, match="does not have enough dimensions"):
        matmul_p.bind(2.0, 3.0)
