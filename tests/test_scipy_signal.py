"""adgraph.scipy.signal: SciPy's values for every mode and option, derivatives against
finite differences (check_grads, forward and reverse, second order)."""

import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import test_util
from adgraph.test_util import check_grads


@pytest.fixture(autouse=True)
def _compiled_and_batched_checks():
    """Every check_grads here also compares jit with eager and vmap with a loop."""
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.update({"jit", "vmap"})
    yield
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)


ss = pytest.importorskip("scipy.signal")
asg = pytest.importorskip("adgraph.scipy.signal")

rng = np.random.default_rng(5)


def close(ours, ref):
    if isinstance(ref, tuple):
        assert len(ours) == len(ref)
        for o, r in zip(ours, ref):
            close(o, r)
    else:
        assert np.shape(ours) == np.shape(ref)
        assert np.allclose(np.asarray(ours), ref, atol=1e-11)


SHAPES = [
    ((7,), (3,)),
    ((3,), (7,)),
    ((5, 4), (2, 3)),
    ((4, 5), (4, 2)),
    ((20,), (70,)),
    ((4, 3, 4), (2, 2, 3)),
]


@pytest.mark.parametrize("sa, sb", SHAPES)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate(sa, sb, mode):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    fits = all(x >= y for x, y in zip(sa, sb)) or all(y >= x for x, y in zip(sa, sb))
    if mode == "valid" and not fits:
        for f in (asg.convolve, asg.correlate, asg.fftconvolve):
            with pytest.raises(ValueError, match="at least as large"):
                f(a, b, mode)
        return
    for name in ("convolve", "correlate"):
        f = getattr(asg, name)
        for method in ("direct", "fft", "auto"):
            close(f(a, b, mode, method), getattr(ss, name)(a, b, mode, method))
        check_grads(lambda a, b: f(a, b, mode), (a, b), order=2)
    close(asg.fftconvolve(a, b, mode), ss.fftconvolve(a, b, mode))
    check_grads(lambda a, b: asg.fftconvolve(a, b, mode), (a, b), order=1)


def test_complex_correlation_and_fft_axes():
    a = rng.standard_normal(6) + 1j * rng.standard_normal(6)
    b = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    for mode in ("full", "same", "valid"):
        close(asg.correlate(a, b, mode), ss.correlate(a, b, mode))
        close(asg.correlate(b, a, mode), ss.correlate(b, a, mode))
    check_grads(lambda a, b: asg.correlate(a, b), (a, b), order=2)
    x, k = rng.standard_normal((3, 8)), rng.standard_normal((1, 3))
    close(asg.fftconvolve(x, k, "same", axes=1), ss.fftconvolve(x, k, "same", axes=1))
    check_grads(lambda x, k: asg.fftconvolve(x, k, "same", axes=1), (x, k), order=1)


@pytest.mark.parametrize("sb", [(3, 2), (3, 3), (6, 7)])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
def test_convolve2d_correlate2d(sb, boundary):
    a, k = rng.standard_normal((5, 6)), rng.standard_normal(sb)
    for mode in ("full", "same", "valid"):
        for name in ("convolve2d", "correlate2d"):
            try:
                ref = getattr(ss, name)(a, k, mode, boundary, 1.5)
            except ValueError:
                continue
            f = getattr(asg, name)
            close(f(a, k, mode, boundary, 1.5), ref)
            if mode == "same":
                check_grads(lambda a, k, v: f(a, k, mode, boundary, v), (a, k, 1.5), order=2)


def test_detrend():
    x = rng.standard_normal((3, 50))
    for t in ("linear", "constant"):
        for ax in (0, 1):
            close(asg.detrend(x, ax, t), ss.detrend(x, ax, t))
    close(asg.detrend(x, -1, "linear", bp=[10, 30]), ss.detrend(x, -1, "linear", bp=[10, 30]))
    check_grads(lambda x: asg.detrend(x, bp=[20]), (x,), order=2)
    # a line is removed exactly
    assert np.allclose(asg.detrend(3.0 * np.arange(10) + 2.0), 0)


SIG = rng.standard_normal((2, 160))

STFT_OPTIONS = [
    {},
    {"nperseg": 32},
    {"nperseg": 32, "noverlap": 8, "nfft": 40},
    {"nperseg": 30, "boundary": "even"},
    {"nperseg": 30, "boundary": "odd", "padded": False},
    {"nperseg": 30, "boundary": "constant"},
    {"nperseg": 30, "boundary": None},
    {"nperseg": 16, "detrend": "linear"},
    {"nperseg": 16, "scaling": "psd", "fs": 10.0},
    {"nperseg": 16, "window": "hamming"},
    {"nperseg": 16, "return_onesided": False},
]


@pytest.mark.parametrize("kw", STFT_OPTIONS, ids=str)
def test_stft(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's notice that nperseg > len for the default
        close(asg.stft(SIG, **kw), ss.stft(SIG, **kw))
    check_grads(lambda x: asg.stft(x, **{"nperseg": 16, **kw})[2], (SIG[:, :64],), order=1)


def test_stft_axis_and_istft_round_trip():
    close(asg.stft(SIG.T, nperseg=32, axis=0), ss.stft(SIG.T, nperseg=32, axis=0))
    for kw in (
        {"nperseg": 32},
        {"nperseg": 32, "noverlap": 24},
        {"nperseg": 33},
        {"nperseg": 32, "nfft": 40},
        {"nperseg": 32, "scaling": "psd", "fs": 3.0},
    ):
        z = ss.stft(SIG, **kw)[2]
        close(asg.istft(z, **kw)[1], ss.istft(z, **kw)[1])
        close(asg.istft(z[0], **kw), ss.istft(z[0], **kw))
    z = asg.stft(SIG[0], nperseg=32)[2]
    assert np.allclose(asg.istft(z, nperseg=32)[1][:160], SIG[0])
    check_grads(
        lambda z: asg.istft(z, nperseg=16)[1], (ss.stft(SIG[0, :64], nperseg=16)[2],), order=2
    )
    # istft o stft is the identity: its gradient is too
    g = ad.grad(
        lambda x: anp.sum(asg.istft(asg.stft(x, nperseg=16)[2], nperseg=16)[1][:64] * SIG[1, :64])
    )(SIG[0, :64])
    assert np.allclose(g, SIG[1, :64])


WELCH_OPTIONS = [
    {},
    {"nperseg": 32},
    {"nperseg": 32, "noverlap": 10, "nfft": 40},
    {"nperseg": 16, "scaling": "spectrum", "fs": 4.0},
    {"nperseg": 17, "detrend": "linear"},
    {"nperseg": 16, "window": np.hanning(16)},
    {"nperseg": 16, "return_onesided": False},
    {"nperseg": 16, "detrend": False},
]


@pytest.mark.parametrize("kw", WELCH_OPTIONS, ids=str)
def test_welch_csd(kw):
    y = SIG[:, ::-1] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(asg.welch(SIG, **kw), ss.welch(SIG, **kw))
        close(asg.csd(SIG, y, **kw), ss.csd(SIG, y, **kw))
    check_grads(lambda x: asg.welch(x, **{"nperseg": 16, **kw})[1], (SIG[:, :64],), order=2)
    check_grads(
        lambda x, y: asg.csd(x, y, **{"nperseg": 16, **kw})[1], (SIG[:, :64], y[:, :64]), order=1
    )


def test_welch_axis_complex_and_parseval():
    close(asg.welch(SIG.T, nperseg=32, axis=0), ss.welch(SIG.T, nperseg=32, axis=0))
    zc = SIG[0] + 1j * SIG[1]
    close(asg.welch(zc, nperseg=32), ss.welch(zc, nperseg=32))
    check_grads(lambda z: asg.welch(z, nperseg=16)[1], (zc[:64],), order=1)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="mode"):
        asg.convolve([1.0, 2.0], [1.0], mode="nope")
    with pytest.raises(ValueError, match="dimensionality"):
        asg.convolve(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="boundary"):
        asg.convolve2d(np.ones((2, 2)), np.ones((2, 2)), boundary="nope")
    with pytest.raises(ValueError, match="noverlap"):
        asg.stft(SIG, nperseg=16, noverlap=16)
    with pytest.raises(ValueError, match="median"):
        asg.welch(SIG, average="median")
    # a traced window would be read as constants: refused
    with pytest.raises(TypeError, match="constant array"):
        ad.grad(lambda w: anp.sum(asg.welch(SIG[0], window=w)[1]))(np.hanning(16))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"nfft": 200},
        {"nfft": 50},
        {"window": "hann", "scaling": "spectrum"},
        {"return_onesided": False},
        {"detrend": "linear"},
    ],
    ids=str,
)
def test_periodogram(kw):
    x = SIG[:, :80]
    close(asg.periodogram(x, **kw), ss.periodogram(x, **kw))
    check_grads(lambda x: asg.periodogram(x, **kw)[1], (x,), order=2)


@pytest.mark.parametrize("mode", ["psd", "complex", "magnitude", "angle", "phase"])
def test_spectrogram(mode):
    for kw in ({}, {"nperseg": 32}, {"nperseg": 32, "noverlap": 20, "nfft": 40}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            close(asg.spectrogram(SIG, mode=mode, **kw), ss.spectrogram(SIG, mode=mode, **kw))
    close(
        asg.spectrogram(SIG.T, mode=mode, nperseg=32, axis=0),
        ss.spectrogram(SIG.T, mode=mode, nperseg=32, axis=0),
    )
    check_grads(lambda x: asg.spectrogram(x, mode=mode, nperseg=16)[2], (SIG[:, :64],), order=1)


def test_coherence_hilbert_oaconvolve_lags_windows():
    y = rng.standard_normal(SIG.shape)
    close(asg.coherence(SIG, y, nperseg=32), ss.coherence(SIG, y, nperseg=32))
    check_grads(lambda x, y: asg.coherence(x, y, nperseg=16)[1], (SIG[:, :64], y[:, :64]), order=1)
    for kw in ({}, {"N": 150}, {"axis": 0}):
        close(asg.hilbert(SIG[:, :9], **kw), ss.hilbert(SIG[:, :9], **kw))
    check_grads(lambda x: asg.hilbert(x), (SIG[0, :33],), order=2)
    # the analytic signal's real part is the signal
    assert np.allclose(np.real(asg.hilbert(SIG)), SIG)
    with pytest.raises(ValueError, match="real"):
        asg.hilbert(SIG + 1j)
    with pytest.raises(ValueError, match="hilbert: x must have at least one dimension"):
        asg.hilbert(np.float64(1.0))  # it divided by zero
    close(asg.oaconvolve(SIG[0], y[0, :7], "same"), ss.oaconvolve(SIG[0], y[0, :7], "same"))
    assert np.array_equal(asg.correlation_lags(5, 3, "same"), ss.correlation_lags(5, 3, "same"))
    assert np.array_equal(asg.get_window("hann", 8), ss.get_window("hann", 8))


def test_lfilter():
    b, a = ss.butter(3, 0.2)
    x = SIG[:, :50]
    close(asg.lfilter(b, a, x), ss.lfilter(b, a, x))
    close(asg.lfilter(b, a, x.T, axis=0), ss.lfilter(b, a, x.T, axis=0))
    close(asg.lfilter([1.0, 2.0, 3.0], [2.0], x), ss.lfilter([1.0, 2.0, 3.0], [2.0], x))
    check_grads(lambda b, a, x: asg.lfilter(b, a, x), (b, a, x[:, :20]), order=2)
    z = SIG[0, :15] + 1j * SIG[1, :15]
    check_grads(lambda b, a, x: asg.lfilter(b, a, x), (b + 0.1j, a, z), order=1)
    # an FIR filter is a convolution, truncated to the signal's length
    k = rng.standard_normal(4)
    g = ad.grad(lambda k: anp.sum(asg.lfilter(k, [1.0], x[0]) ** 2))(k)
    g2 = ad.grad(lambda k: anp.sum(asg.convolve(x[0], k)[:50] ** 2))(k)
    assert np.allclose(g, g2)
    # vmap over the coefficients loops; over the signal it stays one call
    bs = np.stack([b, b * 1.1])
    close(ad.vmap(lambda b: asg.lfilter(b, a, x[0]))(bs)[1], ss.lfilter(b * 1.1, a, x[0]))
    with pytest.raises(ValueError, match="zi"):
        asg.lfilter(b, a, x, zi=np.zeros(3))
    with pytest.raises(ValueError, match=r"a\[0\]"):
        asg.lfilter(b, [0.0, 1.0], x)
