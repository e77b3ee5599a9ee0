"""Matrix products by an expanded diagonal (``I * v``) in compiled programs.

``jacfwd`` of a function of one array traces its diagonal basis expanded; the Python code
generator computes a product by it as a scaling of rows or columns
(:mod:`adgraph.jit.diagonal`) where the values are finite, and the dense product where
they are not. The references here are the dense NumPy products and eager mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.diagonal import diagonal_products


def _compiled(jf, *args):
    """The one program ``jf`` compiled for ``args``."""
    jf(*args)
    (variants,) = jf._cache.values()
    return variants[0]


def _ops(graph):
    return [n.op for n in graph.toposort() if not n.is_input]


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint64 if a.dtype == np.float64 else np.uint32)


def test_jacfwd_through_a_matrix_product_scales_rows_instead():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((30, 30)) / 10
    x = rng.standard_normal(30)

    def f(x):
        return anp.tanh(A @ anp.sin(x) * x) + anp.exp(-(x**2))

    comp = _compiled(ad.jit(ad.jacfwd(f)), x)
    # the traced program: a dense product of I * cos(x) by A^T, beside A @ sin(x)
    assert _ops(comp.graph).count("matmul") == 2
    rewritten, _ = diagonal_products(comp.graph)
    assert _ops(rewritten).count("matmul") == 1 and "diag_matmul" in _ops(rewritten)
    # the generated program binds the matrix product once (A @ sin(x)), not twice
    impls = [getattr(v, "func", None) for v in comp.fn.__globals__.values()]
    assert sum(getattr(f_, "__name__", "") == "_matmul_impl" for f_ in impls) == 1

    got = ad.jit(ad.jacfwd(f))(x)
    # closed form: J = diag(1 - t^2) (A diag(cos x) x_i + diag(A sin x)) - 2 diag(x e^{-x^2})
    u = A @ np.sin(x)
    t = np.tanh(u * x)
    J = (1 - t**2)[:, None] * (A * np.cos(x)[None, :] * x[:, None] + np.diag(u))
    J -= np.diag(2 * x * np.exp(-(x**2)))
    np.testing.assert_allclose(got, J, rtol=1e-13, atol=1e-15)
    # eager mode scales rows the same way: the same bits
    assert np.array_equal(_bits(got), _bits(ad.jacfwd(f)(x)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("left", [True, False])
def test_scaled_rows_and_columns_equal_the_dense_product(left, dtype):
    n = 7
    rng = np.random.default_rng(1)
    M = rng.standard_normal((n, 5) if left else (5, n)).astype(dtype)
    v = rng.standard_normal(n).astype(dtype)
    eye = np.eye(n, dtype=dtype)

    def f(v, m):
        d = eye * v
        return d @ m if left else m @ d

    jf = ad.jit(f)
    comp = _compiled(jf, v, M)
    assert "diag_matmul" in _ops(diagonal_products(comp.graph)[0])
    dense = (eye * v) @ M if left else M @ (eye * v)
    got = jf(v, M)
    assert got.dtype == dtype and got.shape == dense.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(got, dense)  # the same numbers (a zero may change sign)
    scaled = v[:, None] * M if left else M * v[None, :]
    assert np.array_equal(_bits(got), _bits(scaled))


@pytest.mark.parametrize("where", ["v", "m"])
def test_non_finite_values_spread_nan_as_the_dense_product_does(where):
    n = 6
    rng = np.random.default_rng(2)
    M = rng.standard_normal((n, n))
    v = rng.standard_normal(n)
    if where == "v":
        v[2] = np.inf
    else:
        M[4, 1] = -np.inf
    eye = np.eye(n)
    jf = ad.jit(lambda v, m: (eye * v) @ m)
    with np.errstate(invalid="ignore"):
        got = jf(v, M)
        dense = (eye * v) @ M
    assert np.isnan(dense).any()  # 0 * inf: nan in rows the scaling would leave finite
    np.testing.assert_array_equal(got, dense)
    # finite values again: the same program scales
    v2, M2 = rng.standard_normal(n), rng.standard_normal((n, n))
    np.testing.assert_array_equal(jf(v2, M2), v2[:, None] * M2)


def test_constant_factor_with_inf_keeps_the_dense_product():
    n = 5
    M = np.ones((n, n))
    M[0, 0] = np.inf
    eye = np.eye(n)
    jf = ad.jit(lambda v: (eye * v) @ M)
    v = np.arange(1.0, n + 1)
    with np.errstate(invalid="ignore"):
        comp = _compiled(jf, v)
    assert "diag_matmul" not in _ops(diagonal_products(comp.graph)[0])
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(jf(v), (eye * v) @ M)


def test_not_rewritten_where_the_diagonal_is_used_elsewhere_or_not_identity():
    n = 4
    rng = np.random.default_rng(3)
    M = rng.standard_normal((n, n))
    eye = np.eye(n)
    v = rng.standard_normal(n)

    def shared(v):
        d = eye * v
        return d @ M, d  # the expanded diagonal is a result too

    comp = _compiled(ad.jit(shared), v)
    assert "diag_matmul" not in _ops(diagonal_products(comp.graph)[0])
    out = ad.jit(shared)(v)
    np.testing.assert_array_equal(out[0], (eye * v) @ M)

    twice = 2.0 * eye  # not the identity
    comp = _compiled(ad.jit(lambda v: (twice * v) @ M), v)
    assert "diag_matmul" not in _ops(diagonal_products(comp.graph)[0])


def test_gradient_through_a_jitted_diagonal_product():
    # transformations of the compiled function evaluate the traced graph, not the rewrite
    n = 5
    rng = np.random.default_rng(5)
    M = rng.standard_normal((n, n))
    eye = np.eye(n)
    jf = ad.jit(lambda v: anp.sum(((eye * v) @ M) ** 2))
    v = rng.standard_normal(n)
    # d/dv_i sum_j (v_i M_ij)^2 = 2 v_i sum_j M_ij^2
    np.testing.assert_allclose(ad.grad(jf)(v), 2 * v * (M**2).sum(axis=1), rtol=1e-13)


def test_keep_buffers_off_gives_the_same_bits():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((40, 40))
    x = rng.standard_normal(40)

    def f(x):
        return anp.tanh(A @ anp.sin(x) * x)

    a = ad.jit(ad.jacfwd(f))(x)
    b = ad.jit(ad.jacfwd(f), keep_buffers=False)(x)
    assert np.array_equal(_bits(a), _bits(b))


def test_scaling_into_a_kept_buffer():
    # an intermediate of 12.8 KiB: the program writes the scaling into a buffer it keeps
    n = 40
    rng = np.random.default_rng(7)
    M = rng.standard_normal((n, n))
    eye = np.eye(n)

    def f(v, m):
        return anp.sum(anp.exp((eye * v) @ m), axis=0)

    jf = ad.jit(f)
    v = rng.standard_normal(n)
    jf(v, M)
    assert "out=b0" in jf.lower(v, M).source.split("f0(")[1].split("\n")[0]
    for _ in range(2):  # the buffer is reused from call to call
        v = rng.standard_normal(n)
        want = np.sum(np.exp(v[:, None] * M), axis=0)
        assert np.array_equal(_bits(jf(v, M)), _bits(want))
    v[5] = np.nan  # the dense product into the buffer: nan everywhere
    with np.errstate(invalid="ignore"):
        want = np.sum(np.exp((eye * v) @ M), axis=0)
        got = jf(v, M)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got).all()
