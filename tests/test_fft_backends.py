"""The FFT library behind adgraph.numpy.fft for NumPy inputs: the automatic choice (ducc0,
else scipy.fft, else numpy.fft, made on the first transform), the fallback when the
optional libraries do not import, the override, threads, dtypes, and that real inputs
reach real transforms. Values and derivatives of every transform with each library are
in tests/ops/test_fft.py (its tests run once per installed library)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import numpy as np
import pytest

import adgraph as ad
import adgraph.backends as backends
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
from adgraph.ops import fft as fft_mod
from adgraph.test_util import check_grads


def _installed(name):
    try:
        importlib.import_module(fft_mod._MODULES[name])
    except ImportError:
        return False
    return True


INSTALLED = [b for b in fft_mod.BACKENDS if _installed(b)]


@pytest.fixture(autouse=True)
def _restore_choice():
    saved = (fft_mod._active, fft_mod._lib, fft_mod.workers)
    yield
    fft_mod._active, fft_mod._lib, fft_mod.workers = saved


def _block(monkeypatch, *names):
    """Make ``import name`` fail for each of ``names`` (and their fft submodules), as when
    the package is not installed, and forget the library already chosen."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, f"{name}.fft", None)
    monkeypatch.setattr(fft_mod, "_active", None)
    monkeypatch.setattr(fft_mod, "_lib", None)


def _rand(shape, complex_=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


def _conv_loss(u, K):
    # The benchmark's fft_grad: a real field convolved in Fourier space.
    v = afft.ifft2(afft.fft2(u) * K)
    return anp.sum(anp.real(v * anp.conj(v)))


# ---------------------------------------------------------------- the automatic choice
def test_automatic_choice_is_the_fastest_installed(monkeypatch):
    monkeypatch.setattr(fft_mod, "_active", None)
    assert backends.fft_backend() == INSTALLED[0]
    assert fft_mod._lib.__name__ == fft_mod._MODULES[INSTALLED[0]]


def test_importing_adgraph_imports_no_fft_library():
    code = (
        "import sys, adgraph, adgraph.numpy\n"
        "print(sorted(m for m in ('ducc0', 'scipy.fft') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_scipy_and_ducc0_numpy_fft_computes_everything(monkeypatch):
    _block(monkeypatch, "ducc0", "scipy")
    u, K = _rand((4, 6), seed=1), _rand((4, 6), True, seed=2)
    z = _rand((3, 5), True, seed=3)
    got = [afft.fft2(u), afft.rfftn(u, s=(3, 8)), afft.irfft(z, 7), afft.ifftn(z, norm="ortho")]
    assert backends.fft_backend() == "numpy" and fft_mod._lib is np.fft
    want = [
        np.fft.fft2(u),
        np.fft.rfftn(u, s=(3, 8), axes=(0, 1)),
        np.fft.irfft(z, 7),
        np.fft.ifftn(z, norm="ortho"),
    ]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    # The cotangent of a real input of fft2 (fft_real's general path), of rfft and irfft.
    check_grads(lambda a: _conv_loss(a, K), (u,), order=2, modes=("fwd", "rev"))
    check_grads(lambda a: afft.rfft2(a, s=(3, 8), norm="forward"), (u,), order=1)
    check_grads(lambda a: afft.irfft(a, 7), (z,), order=1)
    with pytest.raises(ImportError, match="pip install ducc0"):
        backends.set_fft_backend("ducc0")
    with pytest.raises(ImportError, match="pip install scipy"):
        backends.set_fft_backend("scipy")
    assert backends.fft_backend() == "numpy"  # a failed choice changes nothing


@pytest.mark.skipif(not _installed("scipy"), reason="scipy is not installed")
def test_without_ducc0_scipy_is_chosen(monkeypatch):
    _block(monkeypatch, "ducc0")
    x = _rand((5, 8), seed=4)
    np.testing.assert_allclose(afft.rfft2(x), np.fft.rfft2(x), rtol=1e-13, atol=1e-13)
    assert backends.fft_backend() == "scipy"


# ---------------------------------------------------------------- the override
@pytest.mark.parametrize("name", INSTALLED)
def test_set_fft_backend(name):
    assert backends.set_fft_backend(name.upper()) == name
    assert backends.fft_backend() == name
    x = _rand((6, 10), seed=5)
    np.testing.assert_allclose(afft.fft2(x), np.fft.fft2(x), rtol=1e-13, atol=1e-12)
    assert backends.set_fft_backend(None) == INSTALLED[0]


def test_set_fft_backend_refuses_unknown_names():
    before = backends.fft_backend()
    with pytest.raises(ValueError, match="set_fft_backend: unknown FFT backend 'fftw'.*ducc0"):
        backends.set_fft_backend("fftw")
    with pytest.raises(TypeError, match="expected a name or None"):
        backends.set_fft_backend(3)
    assert backends.fft_backend() == before


def test_report_names_the_fft_library():
    name = backends.set_fft_backend(None)
    assert backends.available("numpy").details["fft"].startswith(f"{name}.fft")


# ---------------------------------------------------------------- threads
def test_thread_count(monkeypatch):
    monkeypatch.setattr(fft_mod.os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    small = np.empty(fft_mod.PARALLEL_MIN_SIZE - 1)
    large = np.empty(fft_mod.PARALLEL_MIN_SIZE)
    fft_mod.workers = None
    assert (fft_mod._workers(small), fft_mod._workers(large)) == (1, 3)
    backends.set_fft_workers(-1)
    assert fft_mod._workers(small) == 3
    backends.set_fft_workers(2)
    assert fft_mod._workers(large) == 2
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="set_fft_workers"):
            backends.set_fft_workers(bad)


@pytest.mark.parametrize("name", [b for b in INSTALLED if b != "numpy"])
@pytest.mark.parametrize("workers", [1, 2])
def test_threaded_transforms_equal_numpy(name, workers):
    backends.set_fft_backend(name)
    backends.set_fft_workers(workers)
    x = _rand((64, 96), seed=6)
    z = _rand((64, 49), True, seed=7)
    for got, want in [
        (afft.fft2(x), np.fft.fft2(x)),
        (afft.ifftn(z, axes=(0,)), np.fft.ifftn(z, axes=(0,))),
        (afft.rfft2(x, norm="ortho"), np.fft.rfft2(x, norm="ortho")),
        (afft.irfft2(z, s=(64, 97)), np.fft.irfft2(z, s=(64, 97))),
    ]:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("name", INSTALLED)
@pytest.mark.parametrize(
    "dtype", [np.int32, np.bool_, np.float16, np.float32, np.complex64, np.float64]
)
@pytest.mark.parametrize("op", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
def test_dtypes_follow_numpy_fft(name, dtype, op):
    if op in ("rfft", "ihfft") and np.dtype(dtype).kind == "c":
        pytest.skip("real transforms refuse complex input")
    backends.set_fft_backend(name)
    x = (np.arange(1, 9) % 3).astype(dtype)
    got, want = getattr(afft, op)(x), getattr(np.fft, op)(x)
    assert got.dtype == want.dtype
    # To the rounding of the result's precision (float16: numpy.fft rounds its
    # single-precision result, the others too, possibly to the neighbouring value).
    real = np.finfo(want.dtype).dtype  # float32 for complex64
    tol = {np.float16: 2e-3, np.float32: 1e-5}.get(real.type, 1e-12)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# ---------------------------------------------------------------- real stays real
@pytest.mark.skipif(not _installed("ducc0"), reason="ducc0 is not installed")
def test_real_inputs_reach_real_transforms(monkeypatch):
    # Through fft_grad's gradient, ducc0 sees: fft2 of the real field (a real input: its
    # real-to-complex transform), ifft2, ifft2's transpose, and for the real field's
    # cotangent a complex-to-real transform of the half spectrum.
    import ducc0.fft

    calls = []

    def spy(kind):
        def f(a, **kw):
            calls.append((kind, a.dtype.name, a.shape))
            return getattr(ducc0.fft, kind)(a, **kw)

        return f

    backends.set_fft_backend("ducc0")
    monkeypatch.setattr(
        fft_mod, "_lib", types.SimpleNamespace(c2c=spy("c2c"), r2c=spy("r2c"), c2r=spy("c2r"))
    )
    u, K = _rand((8, 6), seed=8), _rand((8, 6), True, seed=9)
    g = ad.grad(lambda a: _conv_loss(a, K))(u)
    assert calls == [
        ("c2c", "float64", (8, 6)),
        ("c2c", "complex128", (8, 6)),
        ("c2c", "complex128", (8, 6)),
        ("c2r", "complex128", (8, 4)),
    ]
    # d/du sum |A u|^2 = 2 Re(A^H A u) for A = ifft2 K fft2, so A^H = ifft2 conj(K) fft2
    # (fft2^H = N ifft2, ifft2^H = fft2 / N); computed with numpy.fft.
    v = np.fft.ifft2(np.fft.fft2(u) * K)
    np.testing.assert_allclose(g, 2 * np.fft.ifft2(np.conj(K) * np.fft.fft2(v)).real, rtol=1e-12)


# ---------------------------------------------------------------- conjugates by sign
@pytest.mark.parametrize("name", INSTALLED)
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
@pytest.mark.parametrize("sizes", [(6, 8), (5, 7), (6, 1)])
@pytest.mark.parametrize("own", [False, True])
def test_sign_flipped_real_transforms_are_the_conjugated_ones(name, norm, sizes, own):
    # The rules conjugate no array: conj(rfftn(x)) is the transform with the positive
    # exponent, and irfftn(conj(h)) at the swapped norm the one with the negative
    # exponent. Against numpy.fft's conjugated transforms, for every library.
    backends.set_fft_backend(name)
    swap = {"backward": "forward", "ortho": "ortho", "forward": "backward"}[norm]
    x = _rand(sizes, seed=8)
    want = np.conj(np.fft.rfftn(x, norm=norm))
    got = fft_mod._np_r2c(x, (0, 1), sizes, norm, conj=True)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    h = _rand((sizes[0], sizes[1] // 2 + 1), True, seed=9)
    kept = h.copy()
    want = np.fft.irfftn(np.conj(h), s=sizes, axes=(0, 1), norm=swap)
    got = fft_mod._np_c2r(h, (0, 1), sizes, norm, own=own, forward=True)
    assert got.dtype == np.float64 and got.shape == sizes
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    if not own:
        np.testing.assert_array_equal(h, kept)  # not the rule's array: left as it was
