"""The C backend's array mode: values larger than ``ARRAY_MIN`` elements are computed by
loops over C arrays (views by index maps, no per-element statements), so a program's size
does not grow with its arrays. Results equal the NumPy path's to rounding (sums run left
to right where NumPy sums pairwise: relative 1e-13 here). A very long program is split
into several C functions (values crossing them kept in a state array) with the same
results."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.c.arrays import ARRAY_MIN
from adgraph.jit.cbackend import CBackendError, c_source, compile_c, find_c_compiler

pytestmark = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(tmp_path / "c-cache"))


def close(got, want, rtol=1e-13):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = max(float(np.max(np.abs(want))), 1e-300) if want.size else 1.0
    assert float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale


def views_and_loops(x, M):
    y = anp.sin(x[::2, 1:]) * 2.0 + x[1::2, :-1]  # strided slices
    z = anp.where(y > 0, y, -0.5 * y) ** 2
    s = anp.sum(z, axis=0) + anp.sum(z * z)
    w = M @ x.T  # (20, 30) @ (30, 20)
    t = anp.exp(-w / 10.0) + anp.broadcast_to(s[:10], (20, 10)).sum()
    u = ad.at(x)[::3, 2:].add(1.5)
    return s, t, anp.sum(u, axis=1), anp.transpose(z), anp.flip(x, 0)[:, ::-1]


def test_views_elementwise_reductions_matmul_and_scatter_equal_numpy():
    rng = np.random.default_rng(0)
    x, M = rng.normal(size=(20, 30)), rng.normal(size=(20, 30))
    cf = compile_c(views_and_loops, x, M, max_node_size=4096)
    for got, want in zip(cf(x, M), views_and_loops(x, M), strict=True):
        close(got, want)
    # batched over points: each point its own arrays
    xb = rng.normal(size=(3, 20, 30))
    for k in range(3):
        for got, want in zip(cf(xb, M), views_and_loops(xb[k], M), strict=True):
            close(got[k], want)


def test_gradient_of_an_array_program_equals_eager():
    rng = np.random.default_rng(1)
    x, M = rng.normal(size=(20, 30)), rng.normal(size=(20, 30))

    def loss(x, M):
        s, t, u, z, _ = views_and_loops(x, M)
        return anp.sum(t) + anp.sum(s * s) + anp.sum(u) + anp.sum(z)

    g = ad.grad(loss)
    close(ad.jit(g, compiler="c")(x, M), g(x, M), rtol=1e-12)


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosen_hessian_is_loops_not_scalars():
    x = np.random.default_rng(2).standard_normal(50)
    h = ad.hessian(rosen)
    close(ad.jit(h, compiler="c")(x), h(x))
    src = c_source(h, x, max_node_size=4096)
    # 2,500 output elements: copied by one loop, not written one by one
    assert "y0[2499]" not in src
    assert src.count("\n") < 1000
    # elementwise chains are fused: one pass (and one buffer) per chain, not per operation
    assert src.count("malloc(") <= 6
    assert ARRAY_MIN < 2500


def test_too_large_values_are_still_refused_by_default():
    with pytest.raises(CBackendError, match="ONE point"):
        c_source(lambda x: anp.sin(x) * 2.0, np.ones((40, 40)))


def test_a_long_program_is_split_into_functions_with_the_same_results(monkeypatch):
    from adgraph.jit.c import lower

    monkeypatch.setattr(lower, "SPLIT_STATEMENTS", 40)
    # (the loop below stays unrolled: re-rolled, it would be too short to split)
    monkeypatch.setattr(importlib.import_module("adgraph.jit.reroll"), "MIN_NODES", 10**12)

    def f(x, k):
        for i in range(30):
            x = anp.where(x > 0.2, anp.sin(x) * x + 0.5, x * 1.5 + 0.1) + (k + i) * 1e-3
        return x

    g = ad.grad(f)
    cf = compile_c(g, 0.3, np.int64(2))
    assert cf.kernel.split and "_part2(" in cf.source
    for x in (0.3, -1.1, 2.0):
        close(cf(x, np.int64(2)), g(x, np.int64(2)), rtol=1e-12)
        close(compile_c(f, 0.3, np.int64(2))(x, np.int64(2)), f(x, np.int64(2)), rtol=1e-13)
