"""Gradients of adgraph.scipy's linalg, signal, fft, ndimage, interpolate and
spatial.transform against JAX's (an extra cross-check: each function has its own
SciPy and finite-difference references in the other test files). Functions SciPy reads
from one triangle are compared after folding JAX's symmetrised gradient onto it."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

jax = pytest.importorskip("jax")
pytest.importorskip("scipy")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
import jax.scipy.fft as jfft  # noqa: E402
import jax.scipy.linalg as jla  # noqa: E402
import jax.scipy.ndimage as jndi  # noqa: E402
import jax.scipy.signal as jsig  # noqa: E402
from jax.scipy.interpolate import RegularGridInterpolator as JRGI  # noqa: E402
from jax.scipy.spatial.transform import Rotation as JRotation  # noqa: E402

import adgraph.scipy.fft as afft  # noqa: E402
import adgraph.scipy.linalg as al  # noqa: E402
import adgraph.scipy.ndimage as andi  # noqa: E402
import adgraph.scipy.signal as asg  # noqa: E402
from adgraph.scipy.interpolate import RegularGridInterpolator  # noqa: E402
from adgraph.scipy.spatial.transform import Rotation  # noqa: E402

rng = np.random.default_rng(21)
A = 0.5 * rng.standard_normal((4, 4))
S = A @ A.T + np.eye(4)
B = rng.standard_normal((4, 2))
W = rng.standard_normal((4, 4))
X = rng.standard_normal(64)
K = rng.standard_normal(5)
IMG = rng.standard_normal((5, 6))
C = rng.uniform(0, 4, (2, 7))
Q = rng.standard_normal((3, 4))
I3 = 3 * np.eye(4)

CASES = [
    ("expm", al.expm, jla.expm, A),
    (
        "expm_frechet",
        lambda e: al.expm_frechet(A, e, compute_expm=False),
        lambda e: jla.expm_frechet(A, e, compute_expm=False),
        W,
    ),
    (
        "solve_triangular",
        lambda a: al.solve_triangular(a + I3, B, lower=True),
        lambda a: jla.solve_triangular(a + I3, B, lower=True),
        A,
    ),
    (
        "solve_triangular_T",
        lambda a: al.solve_triangular(a + I3, B, trans=1, unit_diagonal=True),
        lambda a: jla.solve_triangular(a + I3, B, trans=1, unit_diagonal=True),
        A,
    ),
    (
        "lu_solve",
        lambda a: al.lu_solve(al.lu_factor(a), B),
        lambda a: jla.lu_solve(jla.lu_factor(a), B),
        A,
    ),
    ("lu_L", lambda a: al.lu(a)[1], lambda a: jla.lu(a)[1], A),
    ("lu_U", lambda a: al.lu(a)[2], lambda a: jla.lu(a)[2], A),
    ("toeplitz", lambda c: al.toeplitz(c, X[:3]), lambda c: jla.toeplitz(c, X[:3]), X[:4]),
    ("convolve", lambda v: asg.convolve(v, K, "same"), lambda v: jsig.convolve(v, K, "same"), X),
    (
        "correlate",
        lambda v: asg.correlate(v, K, "valid"),
        lambda v: jsig.correlate(v, K, "valid"),
        X,
    ),
    ("fftconvolve", lambda v: asg.fftconvolve(v, K), lambda v: jsig.fftconvolve(v, K), X),
    (
        "convolve2d",
        lambda v: asg.convolve2d(v, IMG[:2, :3], "same"),
        lambda v: jsig.convolve2d(v, IMG[:2, :3], "same"),
        IMG,
    ),
    (
        "correlate2d",
        lambda v: asg.correlate2d(v, IMG[:2, :3]),
        lambda v: jsig.correlate2d(v, IMG[:2, :3]),
        IMG,
    ),
    (
        "stft",
        lambda v: anp.abs(asg.stft(v, nperseg=16)[2]),
        lambda v: jnp.abs(jsig.stft(v, nperseg=16)[2]),
        X,
    ),
    (
        "istft",
        lambda v: asg.istft(asg.stft(v, nperseg=16)[2], nperseg=16)[1],
        lambda v: jsig.istft(jsig.stft(v, nperseg=16)[2], nperseg=16)[1],
        X,
    ),
    ("welch", lambda v: asg.welch(v, nperseg=16)[1], lambda v: jsig.welch(v, nperseg=16)[1], X),
    (
        "csd",
        lambda v: asg.csd(v, X[::-1], nperseg=16)[1],
        lambda v: jsig.csd(v, X[::-1], nperseg=16)[1],
        X,
    ),
    ("detrend", asg.detrend, jsig.detrend, X),
    ("dct", lambda v: afft.dct(v, norm="ortho"), lambda v: jfft.dct(v, norm="ortho"), X),
    (
        "map_coordinates_image",
        lambda v: andi.map_coordinates(v, C, order=1, mode="reflect"),
        lambda v: jndi.map_coordinates(v, C, order=1, mode="reflect"),
        IMG,
    ),
    (
        "map_coordinates_points",
        lambda c: andi.map_coordinates(IMG, c, order=1, mode="nearest"),
        lambda c: jndi.map_coordinates(IMG, c, order=1, mode="nearest"),
        C,
    ),
    (
        "RegularGridInterpolator",
        lambda p: RegularGridInterpolator((np.arange(5.0), np.arange(6.0)), IMG)(p),
        lambda p: JRGI((jnp.arange(5.0), jnp.arange(6.0)), IMG)(p),
        C.T,
    ),
    (
        "as_euler",
        lambda q: Rotation.from_quat(q).as_euler("xyz"),
        lambda q: JRotation.from_quat(q).as_euler("xyz"),
        Q,
    ),
    (
        "as_matrix",
        lambda q: Rotation.from_quat(q).as_matrix(),
        lambda q: JRotation.from_quat(q).as_matrix(),
        Q,
    ),
    (
        "as_rotvec",
        lambda q: Rotation.from_quat(q).as_rotvec(),
        lambda q: JRotation.from_quat(q).as_rotvec(),
        Q,
    ),
    (
        "from_matrix",
        lambda m: Rotation.from_matrix(m).as_quat(),
        lambda m: JRotation.from_matrix(m).as_quat(),
        Rotation.from_quat(Q).as_matrix(),
    ),
    (
        "eigvals",
        lambda a: anp.abs(anp.linalg.eigvals(a)),
        lambda a: jnp.abs(jnp.linalg.eigvals(a)),
        A,
    ),
    (
        "eigh_values_repeated",
        lambda a: anp.linalg.eigh(a)[0],
        lambda a: jnp.linalg.eigh(a)[0],
        2 * np.eye(3),
    ),
    (
        "svd_values_repeated",
        lambda a: anp.linalg.svd(a)[1],
        lambda a: jnp.linalg.svd(a)[1],
        2 * np.eye(3),
    ),
]


@pytest.mark.parametrize("name, ours, theirs, x", CASES, ids=[c[0] for c in CASES])
def test_gradient_equals_jax(name, ours, theirs, x):
    g = ad.grad(lambda x: anp.sum(anp.real(ours(x)) ** 2))(x)
    gj = np.asarray(jax.grad(lambda x: jnp.sum(jnp.real(theirs(x)) ** 2))(x))
    assert np.allclose(g, gj, rtol=1e-7, atol=1e-10)


def _fold_upper(g):
    """A gradient as a function of the upper triangle of a symmetric matrix."""
    return np.triu(g + g.T - np.diag(np.diag(g)))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            lambda s: al.cho_solve(al.cho_factor(s), B),
            lambda s: jla.cho_solve(jla.cho_factor(s), B),
        ),
        (lambda s: al.solve(s, B, assume_a="sym"), lambda s: jla.solve(s, B, assume_a="sym")),
        (lambda s: al.solve(s, B, assume_a="pos"), lambda s: jla.solve(s, B, assume_a="pos")),
    ],
)
def test_one_triangle_functions_equal_jax_on_that_triangle(ours, theirs):
    g = ad.grad(lambda s: anp.sum(ours(s) ** 2))(S)
    gj = np.asarray(jax.grad(lambda s: jnp.sum(theirs(s) ** 2))(S))
    assert np.allclose(g, np.triu(g))  # SciPy reads the upper triangle only
    assert np.allclose(_fold_upper(g), _fold_upper(gj))
