"""adgraph.numpy.fft: values against numpy.fft, derivatives against finite differences
(orders 1 and 2, forward and reverse), batching, dtypes and closed forms."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import adgraph as ad
import adgraph.backends as backends
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
from adgraph.ops import fft as fft_mod
from adgraph.ops._util import OpError

from .harness import check, rand

COVERED = {
    "fft.fft", "fft.ifft", "fft.fft2", "fft.ifft2", "fft.fftn", "fft.ifftn", "fft.rfft",
    "fft.irfft", "fft.rfft2", "fft.irfft2", "fft.rfftn", "fft.irfftn", "fft.hfft",
    "fft.ihfft", "fft.fftshift", "fft.ifftshift", "fft.fftfreq", "fft.rfftfreq",
}  # fmt: skip

NORMS = [None, "ortho", "forward"]


@pytest.fixture(autouse=True, params=fft_mod.BACKENDS)
def fft_backend(request):
    """Every test of this module runs with each FFT library installed for NumPy inputs
    (ducc0, scipy.fft, numpy.fft); those not installed are skipped."""
    name = request.param
    try:
        importlib.import_module(fft_mod._MODULES[name])
    except ImportError:
        pytest.skip(f"FFT backend {name} is not installed")
    saved = (fft_mod._active, fft_mod._lib)
    assert backends.set_fft_backend(name) == name
    yield name
    fft_mod._active, fft_mod._lib = saved


def _same_as_numpy(name, x, **kw):
    got = getattr(afft, name)(x, **kw)
    want = getattr(np.fft, name)(x, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def _cases_1d():
    # (n, axis) for an input of shape (3, 4): None, padding, truncation; both axes.
    return [(None, -1), (6, -1), (3, -1), (None, 0), (5, 0), (2, 0)]


# ---------------------------------------------------------------- complex 1-D
@pytest.mark.parametrize("name", ["fft", "ifft"])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,axis", _cases_1d())
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_c2c_1d(name, norm, n, axis, kind):
    x = rand((3, 4), np.complex128 if kind == "complex" else np.float64, seed=1)
    _same_as_numpy(name, x, n=n, axis=axis, norm=norm)
    f = getattr(afft, name)
    check(lambda a: f(a, n=n, axis=axis, norm=norm), x)


# ---------------------------------------------------------------- complex N-D
ND_CASES = [
    dict(),
    dict(s=(4, 2)),  # pad one axis, truncate the other (last two axes)
    dict(axes=(0,)),
    dict(s=(3,), axes=(1,)),
    dict(s=(2, 5), axes=(2, 0)),
    dict(axes=(-1, 0), s=(-1, 3)),
]


@pytest.mark.parametrize("name", ["fftn", "ifftn"])
@pytest.mark.parametrize("kw", ND_CASES, ids=str)
@pytest.mark.parametrize("norm", NORMS)
def test_c2c_nd(name, kw, norm):
    x = rand((2, 3, 4), np.complex128, seed=2)
    kw_np = dict(kw)
    if "s" in kw and "axes" not in kw:
        kw_np["axes"] = tuple(range(3 - len(kw["s"]), 3))
    got = getattr(afft, name)(x, norm=norm, **kw)
    np.testing.assert_allclose(got, getattr(np.fft, name)(x, norm=norm, **kw_np), atol=1e-10)
    check(lambda a: getattr(afft, name)(a, norm=norm, **kw), x, order=2)
    xr = x.real.copy()
    check(lambda a: getattr(afft, name)(a, norm=norm, **kw), xr, order=1)


@pytest.mark.parametrize("name", ["fft2", "ifft2"])
@pytest.mark.parametrize(
    "kw", [dict(), dict(s=(5, 3)), dict(axes=(0, 2)), dict(s=(2, 6), axes=(2, 1))], ids=str
)
@pytest.mark.parametrize("norm", NORMS)
def test_c2c_2d(name, kw, norm):
    x = rand((2, 3, 4), np.complex128, seed=3)
    _same_as_numpy(name, x, norm=norm, **kw)
    check(lambda a: getattr(afft, name)(a, norm=norm, **kw), x)


# ---------------------------------------------------------------- real-to-complex
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(
    "n,axis", [(None, -1), (7, -1), (8, -1), (3, -1), (2, -1), (None, 0), (1, 0)]
)
def test_rfft(norm, n, axis):
    x = rand((4, 5), seed=4)
    _same_as_numpy("rfft", x, n=n, axis=axis, norm=norm)
    check(lambda a: afft.rfft(a, n=n, axis=axis, norm=norm), x)


RN_CASES = [
    dict(),
    dict(s=(4, 6)),
    dict(s=(2, 3)),
    dict(axes=(1, 0)),  # the real axis is the last one listed
    dict(s=(5, 4), axes=(2, 0)),
    dict(axes=(1,), s=(7,)),
]


@pytest.mark.parametrize(
    "name,kw",
    [("rfftn", kw) for kw in RN_CASES]
    + [("rfft2", kw) for kw in RN_CASES if len(kw.get("axes", "ab")) == 2],
    ids=str,
)
@pytest.mark.parametrize("norm", NORMS)
def test_rfftn(name, kw, norm):
    x = rand((2, 3, 5), seed=5)
    kw_np = dict(kw)
    if name == "rfftn" and "s" in kw and "axes" not in kw:
        kw_np["axes"] = tuple(range(3 - len(kw["s"]), 3))
    got = getattr(afft, name)(x, norm=norm, **kw)
    np.testing.assert_allclose(got, getattr(np.fft, name)(x, norm=norm, **kw_np), atol=1e-10)
    check(lambda a: getattr(afft, name)(a, norm=norm, **kw), x)


# ---------------------------------------------------------------- complex-to-real
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize(
    "n,axis",
    [(None, -1), (7, -1), (6, -1), (3, -1), (2, -1), (1, -1), (12, -1), (None, 0), (5, 0)],
)
@pytest.mark.parametrize("kind", ["complex", "real"])
def test_irfft(norm, n, axis, kind):
    x = rand((3, 4), np.complex128 if kind == "complex" else np.float64, seed=6)
    _same_as_numpy("irfft", x, n=n, axis=axis, norm=norm)
    check(
        lambda a: afft.irfft(a, n=n, axis=axis, norm=norm), x, order=2 if kind == "complex" else 1
    )


IRN_CASES = [
    dict(),
    dict(s=(4, 7)),
    dict(s=(2, 3)),
    dict(axes=(1, 0)),
    dict(s=(5, 4), axes=(2, 0)),
    dict(axes=(0,), s=(5,)),
]


@pytest.mark.parametrize(
    "name,kw",
    [("irfftn", kw) for kw in IRN_CASES]
    + [("irfft2", kw) for kw in IRN_CASES if len(kw.get("axes", "ab")) == 2],
    ids=str,
)
@pytest.mark.parametrize("norm", NORMS)
def test_irfftn(name, kw, norm):
    x = rand((2, 3, 4), np.complex128, seed=7)
    kw_np = dict(kw)
    if name == "irfftn" and "s" in kw and "axes" not in kw:
        kw_np["axes"] = tuple(range(3 - len(kw["s"]), 3))
    got = getattr(afft, name)(x, norm=norm, **kw)
    np.testing.assert_allclose(got, getattr(np.fft, name)(x, norm=norm, **kw_np), atol=1e-10)
    check(lambda a: getattr(afft, name)(a, norm=norm, **kw), x)


# ---------------------------------------------------------------- Hermitian
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,axis", [(None, -1), (5, -1), (8, -1), (2, -1), (None, 0), (4, 0)])
def test_hfft(norm, n, axis):
    x = rand((3, 4), np.complex128, seed=8)
    _same_as_numpy("hfft", x, n=n, axis=axis, norm=norm)
    check(lambda a: afft.hfft(a, n=n, axis=axis, norm=norm), x)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n,axis", [(None, -1), (7, -1), (6, -1), (3, -1), (None, 0), (2, 0)])
def test_ihfft(norm, n, axis):
    x = rand((3, 5), seed=9)
    _same_as_numpy("ihfft", x, n=n, axis=axis, norm=norm)
    check(lambda a: afft.ihfft(a, n=n, axis=axis, norm=norm), x)


# ---------------------------------------------------------------- shifts and frequencies
@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, -1, (0, 1), (1,)])
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_shift(name, axes, kind):
    x = rand((3, 4), np.complex128 if kind == "complex" else np.float64, seed=10)
    got = getattr(afft, name)(x, axes=axes)
    np.testing.assert_array_equal(got, getattr(np.fft, name)(x, axes=axes))
    check(lambda a: getattr(afft, name)(a, axes=axes), x)


def test_shifts_invert_each_other():
    x = rand((5, 6), seed=11)
    y = afft.ifftshift(afft.fftshift(x))
    np.testing.assert_array_equal(y, x)
    g = ad.grad(lambda a: anp.sum(afft.fftshift(a) * np.arange(30.0).reshape(5, 6)))(x)
    np.testing.assert_array_equal(g, np.fft.ifftshift(np.arange(30.0).reshape(5, 6)))


@pytest.mark.parametrize("n", [1, 4, 5])
def test_freqs(n):
    np.testing.assert_allclose(afft.fftfreq(n, 0.25), np.fft.fftfreq(n, 0.25))
    np.testing.assert_allclose(afft.rfftfreq(n, 0.25), np.fft.rfftfreq(n, 0.25))
    # differentiable in the spacing: d/dd sum(f / d-scaled) = -sum(f)/d
    for fn, ref in [(afft.fftfreq, np.fft.fftfreq), (afft.rfftfreq, np.fft.rfftfreq)]:
        g = ad.grad(lambda d: anp.sum(fn(n, d) ** 2))(0.5)
        want = -2 * np.sum(ref(n, 0.5) ** 2) / 0.5
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
        check(lambda d: fn(n, d), 0.5)


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("n", [5, 8])
def test_parseval_real(n):
    # sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x; with norm="ortho" it is 2 x.
    x = rand((n,), seed=12)
    g = ad.grad(lambda a: anp.sum(anp.abs(afft.fft(a)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * n * x, rtol=1e-12)
    g = ad.grad(lambda a: anp.sum(anp.abs(afft.fft(a, norm="ortho")) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-12)


def test_parseval_complex():
    # For complex z the gradient of n sum |z|^2 is 2 n conj(z) (d/dx - i d/dy).
    z = rand((2, 3), np.complex128, seed=13)
    g = ad.grad(lambda a: anp.sum(anp.abs(afft.fft2(a)) ** 2))(z)
    np.testing.assert_allclose(g, 2 * 6 * np.conj(z), rtol=1e-12)


@pytest.mark.parametrize("n", [6, 7])
def test_parseval_half_spectrum(n):
    # sum x^2 = (1/n) sum_k w'_k |rfft(x)_k|^2, w' = 1 at zero/Nyquist, 2 between:
    # the gradient is 2 x exactly when the half-spectrum weighting is right.
    x = rand((n,), seed=14)
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    g = ad.grad(lambda a: anp.sum(w * anp.abs(afft.rfft(a)) ** 2) / n)(x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-12)


def test_inverse_pairs_have_identity_jacobian():
    x = rand((6,), seed=15)
    for f in (
        lambda a: anp.real(afft.ifft(afft.fft(a))),
        lambda a: afft.irfft(afft.rfft(a), n=6),
        lambda a: afft.hfft(afft.ihfft(a), n=6),
    ):
        np.testing.assert_allclose(ad.jacrev(f)(x), np.eye(6), atol=1e-12)
        np.testing.assert_allclose(ad.jacfwd(f)(x), np.eye(6), atol=1e-12)


def test_fft_of_convolution_gradient():
    # The fft_grad workload: u -> sum |ifft2(fft2(u) K)|^2, gradient 2 Re(ifft2(conj-free
    # transpose)) checked against finite differences.
    u = rand((4, 4), seed=16)
    K = rand((4, 4), np.complex128, seed=17)

    def f(u):
        v = afft.ifft2(afft.fft2(u) * K)
        return anp.sum(anp.real(v * anp.conj(v)))

    check(f, u)


# ---------------------------------------------------------------- batching (vmap)
BATCHED = [
    lambda a: afft.fft(a, n=5, norm="ortho"),
    lambda a: afft.ifftn(a, s=(2, 3), axes=(1, 0)),
    lambda a: afft.rfft(a.real, n=6, axis=0),
    lambda a: afft.irfftn(a, s=(3, 5)),
    lambda a: afft.hfft(a, n=5, norm="forward"),
    lambda a: afft.ihfft(a.real),
    lambda a: afft.fftshift(a, axes=0),
    lambda a: afft.ifftshift(a),
]


@pytest.mark.parametrize("k", range(len(BATCHED)))
def test_vmap_matches_loop(k):
    f = BATCHED[k]
    X = rand((4, 3, 4), np.complex128, seed=18)
    got = ad.vmap(f)(X)
    want = np.stack([f(X[i]) for i in range(4)])
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("k", range(len(BATCHED)))
def test_jacfwd_matches_jacrev(k):
    # jacfwd/jacrev push a batch of basis vectors through the rules via the batch rules.
    f = BATCHED[k]
    x = rand((3, 4), seed=19)

    def g(a):
        y = f(a)
        return anp.real(y) + anp.imag(y) if np.iscomplexobj(np.asarray(f(x))) else y

    np.testing.assert_allclose(ad.jacfwd(g)(x), ad.jacrev(g)(x), atol=1e-12)


# ---------------------------------------------------------------- dtypes and backends
@pytest.mark.parametrize(
    "name,kind,out_kind",
    [
        ("fft", "f", "c"),
        ("ifft2", "c", "c"),
        ("rfftn", "f", "c"),
        ("irfft", "c", "f"),
        ("hfft", "c", "f"),
        ("ihfft", "f", "c"),
    ],
)
def test_single_precision_kept(name, kind, out_kind):
    x = rand((4, 6), np.float32 if kind == "f" else np.complex64, seed=20)
    f = getattr(afft, name)
    y = f(x)
    assert y.dtype == (np.complex64 if out_kind == "c" else np.float32)
    g = ad.grad(lambda a: anp.sum(anp.abs(f(a)) ** 2), holomorphic=False)(x)
    assert g.dtype == x.dtype
    check(lambda a: f(a), x, order=1)


def test_workers_setting(monkeypatch, fft_backend):
    # One thread and several give the same transforms (to rounding), with each library;
    # 2**17 elements, where the automatic setting starts threads.
    x = rand((256, 512), seed=22)
    monkeypatch.setattr(fft_mod, "workers", 1)
    a, b = afft.fft2(x), afft.irfft2(x[:, :257] + 0j)
    monkeypatch.setattr(fft_mod, "workers", 2)
    np.testing.assert_allclose(afft.fft2(x), a, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(afft.irfft2(x[:, :257] + 0j), b, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(fft_mod, "workers", None)
    np.testing.assert_allclose(afft.fft2(x), np.fft.fft2(x), rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- errors
def test_errors_name_the_operation():
    x = rand((4,), seed=23)
    with pytest.raises(OpError, match="rfft: input must be real"):
        afft.rfft(x + 1j)
    with pytest.raises(OpError, match="fft: norm"):
        afft.fft(x, norm="both")
    with pytest.raises(OpError, match="invalid number of data points"):
        afft.fft(x, n=0)
    with pytest.raises(OpError, match="irfft: invalid number of output points"):
        afft.irfft(x[:1] + 0j)
    with pytest.raises(OpError, match="s has 2 entries"):
        afft.fftn(np.ones((2, 2)), s=(2, 2), axes=(0,))
    with pytest.raises(OpError, match="repeated axes"):
        afft.fftn(np.ones((2, 2)), axes=(0, 0))
    with pytest.raises(OpError, match="out="):
        afft.ifft(x, out=np.empty(4, complex))
    with pytest.raises(OpError, match="axis 3 is out of bounds"):
        afft.fft(x, axis=3)


def test_axes_are_checked_on_every_call():
    # Int axes are checked once per form and remembered: a refused form stays refused, a
    # valid one gives the same transform however the axes are spelled.
    x = rand((3, 4), seed=11)
    for _ in range(2):
        with pytest.raises(OpError, match="repeated axes"):
            afft.fftn(x, axes=(1, -1))
        with pytest.raises(OpError, match="axis 2 is out of bounds"):
            afft.fft2(x, axes=(0, 2))
        with pytest.raises(OpError, match="at least one axis"):
            afft.fftn(x, axes=())
        with pytest.raises(OpError, match="axis must be an integer"):
            afft.fftn(x, axes=[0, 1.0])
    want = np.fft.fftn(x, axes=(1, 0))
    for axes in [(1, 0), (-1, -2), [1, 0], (np.int64(1), 0), range(1, -1, -1)]:
        np.testing.assert_allclose(afft.fftn(x, axes=axes), want, rtol=1e-12, atol=1e-12)
