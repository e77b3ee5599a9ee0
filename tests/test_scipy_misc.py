"""adgraph.scipy's fft (dct family), ndimage.map_coordinates,
interpolate.RegularGridInterpolator, cluster.vq.vq and spatial.transform (Rotation,
Slerp): SciPy's values on random inputs, derivatives against finite differences."""

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


pytest.importorskip("scipy")
import scipy.fft as sfft  # noqa: E402
import scipy.interpolate as sinterp  # noqa: E402
import scipy.ndimage as sndi  # noqa: E402
from scipy.cluster.vq import vq as s_vq  # noqa: E402
from scipy.spatial.transform import Rotation as SR  # noqa: E402
from scipy.spatial.transform import Slerp as SSlerp  # noqa: E402

import adgraph.scipy.fft as afft  # noqa: E402
import adgraph.scipy.interpolate as ainterp  # noqa: E402
import adgraph.scipy.ndimage as andi  # noqa: E402
from adgraph.scipy.cluster.vq import vq  # noqa: E402
from adgraph.scipy.spatial.transform import Rotation, Slerp  # noqa: E402

rng = np.random.default_rng(11)


def close(ours, ref):
    assert np.shape(ours) == np.shape(ref)
    assert np.allclose(np.asarray(ours), ref, atol=1e-11, equal_nan=True)


# ------------------------------------------------------------------ fft
X = rng.standard_normal((3, 5, 4))


@pytest.mark.parametrize("type", [1, 2, 3, 4])
@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_dct_family(type, norm):
    for f in ("dct", "idct"):
        for n in (None, 3, 7):
            for axis in (0, 1, -1):
                close(
                    getattr(afft, f)(X, type, n=n, axis=axis, norm=norm),
                    getattr(sfft, f)(X, type, n=n, axis=axis, norm=norm),
                )
    for f in ("dctn", "idctn"):
        for s, axes in ((None, None), ((3, 6), None), (None, (0, 2)), ((4,), (1,))):
            close(
                getattr(afft, f)(X, type, s=s, axes=axes, norm=norm),
                getattr(sfft, f)(X, type, s=s, axes=axes, norm=norm),
            )
    check_grads(lambda x: afft.dctn(x, type, norm=norm), (X,), order=2)
    check_grads(lambda x: afft.idct(x, type, n=6, axis=1, norm=norm), (X,), order=1)


def test_dct_round_trip_complex_float32_and_errors():
    for t in (1, 2, 3, 4):
        assert np.allclose(afft.idct(afft.dct(X, t), t), X)
    z = X + 1j * X[::-1]
    close(afft.dct(z), sfft.dct(z))
    check_grads(lambda z: afft.dct(z, norm="ortho"), (z,), order=1)
    assert afft.dct(X.astype(np.float32)).dtype == np.float32
    # linear: its VJP is the transpose, i.e. the orthonormal DCT-II's inverse
    g = rng.standard_normal(X.shape)
    assert np.allclose(
        ad.vjp(lambda x: afft.dct(x, norm="ortho"), X)[1](g), afft.idct(g, norm="ortho")
    )
    with pytest.raises(ValueError, match="type"):
        afft.dct(X, type=5)
    with pytest.raises(ValueError, match="norm"):
        afft.dct(X, norm="nope")


# ------------------------------------------------------------------ ndimage
IMG = rng.standard_normal((5, 6))
MODES = [
    "constant",
    "grid-constant",
    "nearest",
    "wrap",
    "grid-wrap",
    "mirror",
    "reflect",
    "grid-mirror",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_map_coordinates_values(mode, order):
    for lo, hi in ((0, 4), (-3, 9), (-0.5, 0.5), (3.5, 6.5)):
        c = rng.uniform(lo, hi, (2, 60))
        close(
            andi.map_coordinates(IMG, c, order=order, mode=mode, cval=1.5),
            sndi.map_coordinates(IMG, c, order=order, mode=mode, cval=1.5),
        )
    grid = np.array(
        [[0, 1, 2.5, -0.5, 4.5, -1, 5, 4, 0.5, -1.5], [0, 5, 3.5, -0.5, 5.5, 6, -1, 5.5, 0.5, 6.5]]
    )
    if not (order == 0 and mode == "mirror"):  # SciPy rounds a mirrored exact half down
        close(
            andi.map_coordinates(IMG, grid, order=order, mode=mode, cval=1.5),
            sndi.map_coordinates(IMG, grid, order=order, mode=mode, cval=1.5),
        )


@pytest.mark.parametrize("mode", MODES)
def test_map_coordinates_derivatives(mode):
    c = rng.uniform(-2, 7, (2, 30))
    c = c + 0.5 * (np.abs(c - np.round(c)) < 0.05)  # away from cell edges (finite differences)
    check_grads(
        lambda img, c, v: andi.map_coordinates(img, c, order=1, mode=mode, cval=v),
        (IMG, c, 1.5),
        order=2,
    )
    check_grads(lambda img: andi.map_coordinates(img, c, order=0, mode=mode), (IMG,), order=1)
    # order 0 is piecewise constant in the coordinates
    g = ad.grad(lambda c: anp.sum(andi.map_coordinates(IMG, c, order=0, mode=mode)))(c)
    assert np.array_equal(g, np.zeros_like(c))


def test_map_coordinates_refuses():
    with pytest.raises(ValueError, match="order"):
        andi.map_coordinates(IMG, np.zeros((2, 3)), order=3)
    with pytest.raises(ValueError, match="mode"):
        andi.map_coordinates(IMG, np.zeros((2, 3)), order=1, mode="nope")
    with pytest.raises(ValueError, match="one array per input"):
        andi.map_coordinates(IMG, np.zeros((3, 3)), order=1)


# ------------------------------------------------------------------ interpolate
GX = np.sort(rng.uniform(0, 1, 5))
GY = np.linspace(-1, 2, 4)
GZ = np.array([0.0, 0.3, 1.0])
V = rng.standard_normal((5, 4, 3))
PTS = np.stack([rng.uniform(GX[0], GX[-1], 20), rng.uniform(-1, 2, 20), rng.uniform(0, 1, 20)], -1)


@pytest.mark.parametrize("method", ["linear", "nearest"])
def test_regular_grid_interpolator(method):
    for v in (V, rng.standard_normal((5, 4, 3, 2))):
        close(
            ainterp.RegularGridInterpolator((GX, GY, GZ), v, method)(PTS),
            sinterp.RegularGridInterpolator((GX, GY, GZ), v, method)(PTS),
        )
    out = PTS * 1.5 - 0.2
    for fv in (np.nan, None, 3.0):
        ours = ainterp.RegularGridInterpolator(
            (GX, GY, GZ), V, method, bounds_error=False, fill_value=fv
        )(out)
        close(
            ours,
            sinterp.RegularGridInterpolator(
                (GX, GY, GZ), V, method, bounds_error=False, fill_value=fv
            )(out),
        )
    close(
        ainterp.RegularGridInterpolator((GX[::-1], GY, GZ), V, method)(PTS),
        sinterp.RegularGridInterpolator((GX[::-1], GY, GZ), V, method)(PTS),
    )
    close(
        ainterp.RegularGridInterpolator((GX,), V[:, 0, 0], method)(PTS[:, 0]),
        sinterp.RegularGridInterpolator((GX,), V[:, 0, 0], method)(PTS[:, 0]),
    )
    with pytest.raises(ValueError, match="out of bounds"):
        ainterp.RegularGridInterpolator((GX, GY, GZ), V, method)(out)


def test_regular_grid_interpolator_derivatives():
    def f(v, pts, gx):
        return ainterp.RegularGridInterpolator((gx, GY, GZ), v)(pts)

    check_grads(f, (V, PTS, GX), order=2)
    check_grads(
        lambda v, pts: ainterp.RegularGridInterpolator(
            (GX, GY, GZ), v, bounds_error=False, fill_value=None
        )(pts),
        (V, PTS * 1.5 - 0.2),
        order=2,
    )
    # linear data is reproduced exactly, so the gradient in the point is the slope
    lin = 2 * GX[:, None, None] - 3 * GY[None, :, None] + 0.5 * GZ[None, None, :]
    g = ad.grad(lambda p: ainterp.RegularGridInterpolator((GX, GY, GZ), lin)(p)[0])(PTS[:1])
    assert np.allclose(g, [[2.0, -3.0, 0.5]])
    with pytest.raises(ValueError, match="method"):
        ainterp.RegularGridInterpolator((GX, GY, GZ), V, "cubic")


# ------------------------------------------------------------------ cluster.vq
def test_vq():
    obs = rng.standard_normal((30, 3))
    book = rng.standard_normal((5, 3))
    code, dist = vq(obs, book)
    code0, dist0 = s_vq(obs, book)
    assert np.array_equal(code, code0)
    close(dist, dist0)
    c1, d1 = vq(obs[:, 0], book[:, 0])
    c0, d0 = s_vq(obs[:, 0], book[:, 0])
    assert np.array_equal(c1, c0)
    close(d1, d0)
    check_grads(lambda o, b: vq(o, b)[1], (obs, book), order=2)
    # an observation on a code: distance 0 with a finite (zero) derivative there
    g = ad.grad(lambda o: anp.sum(vq(o, book)[1]))(book[:2].copy())
    assert np.all(np.isfinite(g))
    with pytest.raises(ValueError, match="same rank"):
        vq(obs, book[:, :2])
    with pytest.raises(ValueError, match="infs or NaNs"):
        vq(np.full((2, 3), np.nan), book)


# ------------------------------------------------------------------ spatial.transform
Q = rng.standard_normal((6, 4))
SRQ = SR.from_quat(Q)
RQ = Rotation.from_quat(Q)
VEC = rng.standard_normal((6, 3))


def test_rotation_values():
    close(RQ.as_quat(), SRQ.as_quat())
    close(RQ.as_quat(canonical=True), SRQ.as_quat(canonical=True))
    close(
        Rotation.from_quat(Q, scalar_first=True).as_quat(scalar_first=True),
        SR.from_quat(Q, scalar_first=True).as_quat(scalar_first=True),
    )
    close(RQ.as_matrix(), SRQ.as_matrix())
    m = SRQ.as_matrix()
    close(Rotation.from_matrix(m).as_quat(), SR.from_matrix(m).as_quat())
    mn = m + 0.01 * rng.standard_normal(m.shape)
    close(Rotation.from_matrix(mn).as_quat(), SR.from_matrix(mn).as_quat())
    close(RQ.as_rotvec(), SRQ.as_rotvec())
    close(RQ.as_rotvec(degrees=True), SRQ.as_rotvec(degrees=True))
    rv = rng.standard_normal((5, 3))
    rv[0] *= 1e-5
    close(Rotation.from_rotvec(rv).as_quat(), SR.from_rotvec(rv).as_quat())
    close(RQ.as_mrp(), SRQ.as_mrp())
    close(Rotation.from_mrp(rv).as_quat(), SR.from_mrp(rv).as_quat())
    for seq in ["xyz", "zyx", "XYZ", "ZXZ", "xzx", "yxz", "YXY", "zy", "XZ", "x"]:
        ang = rng.uniform(-1, 1, (4, len(seq)))
        close(Rotation.from_euler(seq, ang).as_quat(), SR.from_euler(seq, ang).as_quat())
        close(
            Rotation.from_euler(seq, ang[0], degrees=True).as_quat(),
            SR.from_euler(seq, ang[0], degrees=True).as_quat(),
        )
        if len(seq) == 3:
            close(RQ.as_euler(seq), SRQ.as_euler(seq))
            close(RQ.as_euler(seq, degrees=True), SRQ.as_euler(seq, degrees=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seq, ang in (
            ("xyz", [0.3, np.pi / 2, 0.2]),
            ("ZXZ", [0.3, 0.0, 0.2]),
            ("zxz", [0.3, np.pi, 0.2]),
        ):
            g = SR.from_euler(seq, ang)
            close(Rotation.from_quat(g.as_quat()).as_euler(seq), g.as_euler(seq))
    close(RQ.apply(VEC), SRQ.apply(VEC))
    close(RQ.apply(VEC, inverse=True), SRQ.apply(VEC, inverse=True))
    close(RQ.apply(VEC[0]), SRQ.apply(VEC[0]))
    close(RQ[0].apply(VEC), SRQ[0].apply(VEC))
    close(RQ[0].apply(VEC[0]), SRQ[0].apply(VEC[0]))
    close(RQ.inv().as_quat(), SRQ.inv().as_quat())
    close((RQ * RQ[::-1]).as_quat(), (SRQ * SRQ[::-1]).as_quat())
    close((RQ[0] * RQ).as_quat(), (SRQ[0] * SRQ).as_quat())
    close(RQ.magnitude(), SRQ.magnitude())
    close((RQ**0.3).as_quat(canonical=True), (SRQ**0.3).as_quat(canonical=True))
    close(Rotation.identity(3).as_quat(), SR.identity(3).as_quat())
    assert len(RQ) == 6 and RQ[0].single and not RQ.single


def test_slerp_values():
    t = np.array([0, 1, 2.5, 3, 4, 6.0])
    s, ss = Slerp(t, RQ), SSlerp(t, SRQ)
    tt = np.array([0, 0.5, 1, 2.2, 3.9, 6])
    close(s(tt).as_quat(), ss(tt).as_quat())
    close(s(1.7).as_quat(), ss(1.7).as_quat())
    with pytest.raises(ValueError, match="within the range"):
        s(7.0)
    with pytest.raises(ValueError, match="increasing"):
        Slerp(t[::-1], RQ)


def test_rotation_derivatives():
    check_grads(lambda q: Rotation.from_quat(q).as_matrix(), (Q,), order=2)
    check_grads(lambda q, v: Rotation.from_quat(q).apply(v), (Q, VEC), order=2)
    check_grads(lambda q: Rotation.from_quat(q).as_rotvec(), (Q,), order=2)
    check_grads(lambda q: Rotation.from_quat(q).as_euler("xyz"), (Q,), order=2)
    check_grads(lambda q: Rotation.from_quat(q).as_euler("ZXZ"), (Q,), order=1)
    check_grads(lambda q: Rotation.from_quat(q).magnitude(), (Q,), order=2)
    check_grads(
        lambda q: (Rotation.from_quat(q) * Rotation.from_quat(q[::-1])).as_quat(), (Q,), order=2
    )
    check_grads(
        lambda m: Rotation.from_matrix(m).as_quat(),
        (SRQ.as_matrix() + 0.01 * rng.standard_normal((6, 3, 3)),),
        order=1,
    )
    check_grads(
        lambda rv: Rotation.from_rotvec(rv).as_quat(), (rng.standard_normal((4, 3)),), order=2
    )
    check_grads(
        lambda a: Rotation.from_euler("zyx", a).as_matrix(), (rng.standard_normal((4, 3)),), order=2
    )
    check_grads(lambda p: Rotation.from_mrp(p).as_quat(), (rng.standard_normal((4, 3)),), order=2)
    t = np.array([0, 1, 2.5, 3.0])
    check_grads(
        lambda q, tt: Slerp(t, Rotation.from_quat(q))(tt).as_quat(),
        (Q[:4], np.array([0.2, 1.7, 2.9])),
        order=1,
    )
    # at the identity: the rotation vector's series keeps the derivative finite (= 1/2)
    j = ad.jacfwd(lambda rv: Rotation.from_rotvec(rv).as_quat())(np.zeros(3))
    assert np.allclose(j[:3], 0.5 * np.eye(3)) and np.allclose(j[3], 0)
    # d/dθ of the rotated vector about z is z × v
    v = np.array([1.0, 2.0, 3.0])
    d = ad.jvp(lambda a: Rotation.from_euler("z", a).apply(v), (np.array(0.0),), (np.array(1.0),))[
        1
    ]
    assert np.allclose(d, np.cross([0, 0, 1.0], v))


def test_compiled_and_batched_recompute_data_dependent_choices():
    """Cells, codes, pivots and branches are operations of the computation: a compiled
    function called on new data, and vmap over a batch, choose them again."""
    img = rng.standard_normal((5, 6))
    c1, c2 = rng.uniform(-2, 7, (2, 2, 20))
    for mode in MODES:
        for order in (0, 1):
            f = lambda c: andi.map_coordinates(img, c, order=order, mode=mode)  # noqa: E731
            jf = ad.jit(f)
            for c in (c1, c2):
                close(jf(c), sndi.map_coordinates(img, c, order=order, mode=mode))
            close(
                ad.vmap(f)(np.stack([c1, c2]))[1],
                sndi.map_coordinates(img, c2, order=order, mode=mode),
            )
    for method in ("linear", "nearest"):
        interp = ainterp.RegularGridInterpolator(
            (GX, GY, GZ), V, method, bounds_error=False, fill_value=None
        )
        ref = sinterp.RegularGridInterpolator(
            (GX, GY, GZ), V, method, bounds_error=False, fill_value=None
        )
        p1, p2 = PTS, PTS[::-1] * 1.3 - 0.1
        jf = ad.jit(interp)
        close(jf(p1), ref(p1))
        close(jf(p2), ref(p2))
        close(ad.vmap(interp)(np.stack([p1, p2]))[1], ref(p2))
    book = rng.standard_normal((4, 3))
    o1, o2 = rng.standard_normal((2, 10, 3))
    jd = ad.jit(lambda o: vq(o, book)[1])
    close(jd(o2), s_vq(o2, book)[1])
    close(jd(o1), s_vq(o1, book)[1])
    close(ad.vmap(lambda o: vq(o, book)[1])(np.stack([o1, o2]))[1], s_vq(o2, book)[1])
    q2 = -2 * Q[::-1]
    je = ad.jit(lambda q: Rotation.from_quat(q).as_euler("xyz"))
    close(je(Q), SRQ.as_euler("xyz"))
    close(je(q2), SR.from_quat(q2).as_euler("xyz"))
    jm = ad.jit(lambda m: Rotation.from_matrix(m).as_quat())
    m1, m2 = SRQ.as_matrix(), SR.from_quat(q2).as_matrix()
    close(jm(m1), SR.from_matrix(m1).as_quat())
    close(jm(m2), SR.from_matrix(m2).as_quat())
    t = np.array([0, 1, 2.5, 3.0])
    js = ad.jit(lambda tt: Slerp(t, RQ[:4])(tt).as_quat())
    for tt in (np.array([0.2, 1.7]), np.array([2.9, 0.1])):
        close(js(tt), SSlerp(t, SRQ[:4])(tt).as_quat())


def test_from_matrix_derivative_at_an_orthogonal_matrix():
    # every perturbation of a rotation matrix leaves the orthogonal ones, where SciPy
    # projects: the derivative is the projection's, as finite differences see it
    check_grads(lambda m: Rotation.from_matrix(m).as_quat(), (SRQ.as_matrix(),), order=1)


@pytest.mark.parametrize(
    "mode",
    [
        "reflect",
        "mirror",
        "nearest",
        "wrap",
        "constant",
        "grid-wrap",
        "grid-mirror",
        "grid-constant",
    ],
)
def test_ndimage_filters(mode):
    x = rng.standard_normal((6, 7))
    x1 = rng.standard_normal(9)
    for w in (
        np.array([1.0, 2.0, 3.0]),
        np.array([1.0, -2.0]),
        rng.standard_normal(4),
        rng.standard_normal(11),
    ):
        for origin in range(-(len(w) // 2), (len(w) - 1) // 2 + 1):
            for name in ("correlate1d", "convolve1d"):
                kw = {"axis": 0, "mode": mode, "cval": 1.5, "origin": origin}
                close(getattr(andi, name)(x, w, **kw), getattr(sndi, name)(x, w, **kw))
    for w in (rng.standard_normal((3, 3)), rng.standard_normal((2, 4))):
        for name in ("correlate", "convolve"):
            close(
                getattr(andi, name)(x, w, mode=mode, cval=1.5),
                getattr(sndi, name)(x, w, mode=mode, cval=1.5),
            )
    for s in (0.7, 2.0):
        for order in (0, 1, 2):
            close(
                andi.gaussian_filter1d(x1, s, order=order, mode=mode),
                sndi.gaussian_filter1d(x1, s, order=order, mode=mode),
            )
        close(andi.gaussian_filter(x, s, mode=mode), sndi.gaussian_filter(x, s, mode=mode))
    close(
        andi.gaussian_filter(x, (1.0, 0.0), order=(1, 0), mode=mode),
        sndi.gaussian_filter(x, (1.0, 0.0), order=(1, 0), mode=mode),
    )
    for size in (1, 2, 3, 4, 12):
        close(
            andi.uniform_filter1d(x1, size, mode=mode), sndi.uniform_filter1d(x1, size, mode=mode)
        )
        close(andi.uniform_filter(x, size, mode=mode), sndi.uniform_filter(x, size, mode=mode))
    w = rng.standard_normal((3, 2))
    check_grads(lambda x, w, c: andi.correlate(x, w, mode=mode, cval=c), (x, w, 1.5), order=2)
    check_grads(lambda x: andi.gaussian_filter(x, 1.3, mode=mode), (x,), order=2)
    check_grads(lambda x: andi.uniform_filter1d(x, 4, mode=mode), (x1,), order=1)


def test_ndimage_filters_refuse():
    with pytest.raises(ValueError, match="mode"):
        andi.correlate1d(IMG, [1.0, 2.0], mode="nope")
    with pytest.raises(ValueError, match="origin"):
        andi.correlate1d(IMG, [1.0, 2.0, 3.0], origin=2)
    with pytest.raises(ValueError, match="dimensions"):
        andi.correlate(IMG, np.ones(3))
    with pytest.raises(TypeError, match="sigma"):
        ad.grad(lambda s: anp.sum(andi.gaussian_filter1d(IMG, s)))(1.0)
    # an output array would be left unfilled: refused, by every filter that takes one
    for name, args in [
        ("gaussian_filter", (1.0,)),
        ("gaussian_filter1d", (1.0,)),
        ("uniform_filter", (3,)),
        ("uniform_filter1d", (3,)),
        ("correlate1d", ([1.0, 2.0],)),
    ]:
        with pytest.raises(ValueError, match="output= is not supported"):
            getattr(andi, name)(IMG, *args, output=np.empty_like(IMG))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_shift_zoom_affine_transform(mode, order):
    x = rng.standard_normal((6, 7))
    kw = {"order": order, "mode": mode, "cval": 1.5}
    for sh in (0.3, (1.7, -2.2), (-0.4, 3.1)):
        close(andi.shift(x, sh, **kw), sndi.shift(x, sh, **kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's advice on grid_mode with 'constant'/'wrap'
        for z in (
            0.45,
            1.37,
            (2.0, 0.7),
        ):  # (SciPy's order-0 'mirror' rounds some exact halves down)
            for gm in (False, True):
                close(andi.zoom(x, z, grid_mode=gm, **kw), sndi.zoom(x, z, grid_mode=gm, **kw))
    m = np.array([[0.9137, 0.2029], [-0.1131, 1.0719]])
    h = np.eye(3)
    h[:2, :2], h[:2, 2] = m, (0.3, 0.4)
    for mat, extra in (
        (m, {}),
        (m, {"offset": (0.55, -1.05)}),
        (m, {"output_shape": (4, 9)}),
        (h, {}),
        (np.array([0.8, 1.2]), {}),
    ):
        close(
            andi.affine_transform(x, mat, **extra, **kw),
            sndi.affine_transform(x, mat, **extra, **kw),
        )
    if order == 1:
        check_grads(lambda x, s: andi.shift(x, s, **kw), (x, np.array([0.37, -1.21])), order=1)
        check_grads(
            lambda m, o: andi.affine_transform(x, m, offset=o, **kw),
            (m, np.array([0.1234567, 0.2718281])),
            order=1,
        )
        check_grads(lambda x: andi.zoom(x, 1.37, **kw), (x,), order=2)
