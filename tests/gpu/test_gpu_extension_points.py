"""What CuPy's backend plugs into adgraph's ops besides the fused kernels, on a GPU: the
special functions of CuPy arrays (cupyx.scipy.special), diagonals written in place, and the
reference implementations where no kernel applies (float16)."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as sps
from adgraph.ops import fused as F

from ._device import require_cupy

cp = require_cupy()


@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv", "gammaln", "digamma"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_functions_and_derivatives_on_gpu(name, dtype):
    scipy_special = pytest.importorskip("scipy.special")
    x = np.linspace(0.15, 0.9, 7).astype(dtype)
    f = getattr(sps, name)
    y = f(cp.asarray(x))
    assert isinstance(y, cp.ndarray) and y.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(cp.asnumpy(y), getattr(scipy_special, name)(x), rtol=rtol)
    g = ad.grad(lambda x: anp.sum(f(x)))(cp.asarray(x))
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(
        cp.asnumpy(g), ad.grad(lambda x: anp.sum(f(x)))(x), rtol=10 * rtol, atol=1e-6
    )


def test_polygamma_on_gpu():
    x = np.linspace(0.5, 3.0, 6)
    for n in (0, 1, 3):
        got = sps.polygamma(n, cp.asarray(x))
        np.testing.assert_allclose(cp.asnumpy(got), sps.polygamma(n, x), rtol=1e-11)


def test_diagonal_gradients_on_gpu():
    a = np.random.default_rng(0).standard_normal((3, 4, 5))

    def f(a):
        return anp.sum(anp.diagonal(a, offset=1, axis1=2, axis2=0) ** 3)

    g = ad.grad(f)(cp.asarray(a))
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), ad.grad(f)(a), rtol=1e-13)


def test_float16_runs_the_reference_on_gpu():
    # no half-precision kernels: the reference implementation runs, with cupyx's erfc
    x = np.linspace(-3.0, 3.0, 11).astype(np.float16)
    for f in (F.gelu, F.tanh, F.softplus):
        y = f(cp.asarray(x))
        assert isinstance(y, cp.ndarray)
        np.testing.assert_allclose(
            cp.asnumpy(y).astype(np.float64), f(x.astype(np.float64)), rtol=5e-3, atol=5e-3
        )
