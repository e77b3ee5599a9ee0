"""How a C program is built and called: the vectorizer's flags for array loops, and the
addresses a one-point call hands to C."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.c import frontend, toolchain
from adgraph.jit.c.runtime import _address
from adgraph.jit.cbackend import compile_c, find_c_compiler

pytestmark = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(tmp_path / "c-cache"))


def _rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _rosen_hessian(x):
    """The closed form of the Rosenbrock function's Hessian."""
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    H[i + 1, i + 1] += 200.0
    H[i, i + 1] = H[i + 1, i] = -400.0 * x[:-1]
    return H


def test_array_loops_vectorized_with_gcc_give_the_same_bits(monkeypatch):
    x = np.random.default_rng(2).standard_normal(50)
    fast = compile_c(ad.hessian(_rosen), x, max_node_size=4096)
    assert fast.source.count("for (") > 1  # array loops inside the loop over points
    monkeypatch.setattr(frontend, "loop_flags", lambda compiler: [])
    plain = compile_c(ad.hessian(_rosen), x, max_node_size=4096)
    flags = toolchain.loop_flags(find_c_compiler())
    if flags:  # GCC: the flag is part of the build (and of the library's name)
        assert flags == ["-fvect-cost-model=dynamic"]
        assert fast.library != plain.library
    np.testing.assert_allclose(fast(x), _rosen_hessian(x), rtol=1e-12, atol=1e-9)
    X = np.random.default_rng(3).standard_normal((7, 50))
    for a, b in ((fast(x), plain(x)), (fast(X), plain(X))):
        assert np.array_equal(a.view(np.uint64), b.view(np.uint64))


def test_straight_line_programs_take_no_loop_flags(monkeypatch):
    seen = []
    real = frontend.loop_flags
    monkeypatch.setattr(frontend, "loop_flags", lambda c: seen.append(c) or real(c))
    f = compile_c(ad.grad(lambda a: a[0] * a[1] + anp.sin(a[2])), np.ones(3))
    assert seen == []
    np.testing.assert_allclose(f(np.array([2.0, 3.0, 0.5])), [3.0, 2.0, np.cos(0.5)])


@pytest.mark.parametrize(
    "a",
    [
        np.arange(12.0).reshape(3, 4),
        np.zeros(5, np.float32),
        np.zeros((2, 0)),
        np.arange(3.0)[None],
    ],
)
def test_address_is_the_data_pointer(a):
    assert _address(a) == a.__array_interface__["data"][0]


def test_read_only_input_of_a_one_point_call():
    x = np.random.default_rng(4).standard_normal(50)
    h = ad.jit(ad.hessian(_rosen), compiler="c")
    ref = h(x)
    ro = x.copy()
    ro.flags.writeable = False
    assert _address(ro) == ro.__array_interface__["data"][0]
    assert np.array_equal(h(ro), ref)
    np.testing.assert_allclose(ref, _rosen_hessian(x), rtol=1e-12, atol=1e-9)
    # results are new arrays each call, never a buffer of the program
    assert h(x) is not h(x) and not np.shares_memory(h(x), ref)
