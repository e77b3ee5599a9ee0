"""adgraph.backends, backend dispatch and mixing rules; CuPy tests run only where CuPy sees a
CUDA device (they skip cleanly elsewhere)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import adgraph as ad
import adgraph.backends as backends
import adgraph.numpy as anp
import adgraph.scipy.special as sps
from adgraph.core.xp import BackendMixError, get_xp, register_array_type


def _cupy_with_device():
    try:
        import cupy
    except Exception:
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    return cupy


cp = _cupy_with_device()
needs_gpu = pytest.mark.skipif(cp is None, reason="CuPy with a CUDA device is not available")


# ---------------------------------------------------------------- reporting
def test_available_reports_every_backend():
    info = backends.available()
    assert set(info) == {"numpy", "cupy", "dask"}
    assert info["numpy"].usable and info["numpy"].version == np.__version__
    assert info["numpy"].devices == ("cpu",)
    for name, i in info.items():
        assert i.name == name
        assert bool(i) == i.usable
        if not i.usable:
            assert i.reason
    text = backends.report()
    assert text.splitlines()[0].startswith("numpy")
    assert len(text.splitlines()) == 3


def test_missing_cupy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    info = backends.available("gpu")
    assert not info and info.install == "pip install adgraph[gpu]"
    assert "not installed" in info.reason
    with pytest.raises(backends.BackendUnavailableError, match=r"pip install adgraph\[gpu\]"):
        backends.require("cupy")
    with pytest.raises(backends.BackendUnavailableError, match=r"adgraph\[gpu\]"):
        backends.to_device(np.ones(3), "gpu")
    assert "adgraph[gpu]" in backends.report()


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    info = backends.available("dask")
    assert not info and info.install == "pip install adgraph[dask]"
    with pytest.raises(backends.BackendUnavailableError, match=r"pip install adgraph\[dask\]"):
        backends.require("dask")


def test_cupy_without_device_is_reported(monkeypatch):
    fake = types.ModuleType("cupy")
    fake.__version__ = "99.0"
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 0))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    info = backends.available("cupy")
    assert not info and info.version == "99.0" and "no CUDA device" in info.reason


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ValueError, match="numpy, cupy, dask"):
        backends.require("tpu")
    assert backends.require("cpu") is np


# ---------------------------------------------------------------- dispatch and mixing
class _FakeArray:
    """An array type of a pretend backend, to test mixing without a GPU."""

    shape = (3,)
    dtype = np.dtype(np.float64)


_fake_module = types.ModuleType("fakecupy")
register_array_type(_FakeArray, _fake_module)


def test_mixing_backends_names_both():
    with pytest.raises(BackendMixError, match="numpy and fakecupy"):
        get_xp((np.ones(3), _FakeArray()))
    # through a primitive, untraced and traced
    with pytest.raises(BackendMixError, match="numpy and fakecupy"):
        anp.add(np.ones(3), _FakeArray())
    with pytest.raises(BackendMixError, match="fakecupy"):
        ad.grad(lambda x: anp.sum(anp.multiply(x, _FakeArray())))(np.ones(3))


def test_scalars_are_neutral():
    assert get_xp((2.0, np.float32(1.0), 3, True, 1j, _FakeArray())) is _fake_module
    assert get_xp((2.0, 3)) is np
    assert backends.array_module(np.ones(2), 2.0) is np
    assert backends.backend_of(1.5) == "numpy"


def test_array_module_sees_through_tracers():
    seen = []

    def f(x):
        assert isinstance(x, ad.Tracer)  # the public name of traced values
        seen.append((backends.array_module(x), backends.backend_of(x)))
        return anp.sum(x * x)

    ad.grad(f)(np.ones(3))
    assert seen == [(np, "numpy")]


def test_set_fft_workers():
    from adgraph.ops import fft as fft_mod

    old = fft_mod.workers
    try:
        backends.set_fft_workers(2)
        assert fft_mod.workers == 2
        backends.set_fft_workers(None)
        assert fft_mod.workers is None
        with pytest.raises(ValueError, match="set_fft_workers"):
            backends.set_fft_workers(0)
    finally:
        fft_mod.workers = old


def test_moving_data_refuses_traced_values():
    def f(x):
        backends.asnumpy(x)
        return anp.sum(x)

    with pytest.raises(TypeError, match="before calling"):
        ad.grad(f)(np.ones(2))


def test_dask_round_trip():
    da = pytest.importorskip("dask.array")
    tree = {"w": np.arange(6.0).reshape(3, 2), "b": 1.5, "n": [np.ones(4)]}
    d = backends.to_device(tree, "dask", chunks=(2, -1))
    assert isinstance(d["w"], da.Array) and d["w"].chunks == ((2, 1), (2,))
    assert d["b"] == 1.5 and backends.backend_of(d["w"]) == "dask"
    assert backends.array_module(d["w"], np.ones(2)) is da
    back = backends.asnumpy(d)
    np.testing.assert_array_equal(back["w"], tree["w"])
    assert isinstance(back["n"][0], np.ndarray)


# ---------------------------------------------------------------- functions for the devices
def _logreg(w, X, y):
    return anp.mean(anp.log1p(anp.exp(-y * (X @ w[:6]))))


def _mlp(w, X, y):
    W1 = anp.reshape(w[:24], (6, 4))
    h = anp.tanh(X @ W1)
    z = h @ w[24:28]
    return anp.mean(anp.logaddexp(0.0, -y * z)) + 1e-3 * anp.sum(w * w)


def _fft_energy(w, X, y):
    u = anp.reshape(X[:8, :4] * w[:4], (8, 4))
    v = anp.fft.ifft2(anp.fft.fft2(u) * (1.0 + 0.5j))
    r = anp.fft.irfft(anp.fft.rfft(u, axis=0), n=8, axis=0)
    return (
        anp.sum(anp.real(v * anp.conj(v))) + anp.sum(r * r) + anp.sum(anp.fft.fftshift(u) * y[:4])
    )


def _shapes(w, X, y):
    M = anp.reshape(w[:6], (2, 3))
    T = anp.concatenate([M, anp.transpose(M) @ M], axis=0)
    return (
        anp.sum(anp.max(T, axis=1) ** 2)
        + anp.sum(anp.where(T > 0, T, 0.1 * T))
        + anp.sum(X[:2, :3] * M)
    )


GPU_FUNCS = {"logreg": _logreg, "mlp": _mlp, "fft": _fft_energy, "shapes": _shapes}


def _gpu_data(dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6)).astype(dtype)
    y = np.where(rng.standard_normal(64) > 0, 1.0, -1.0).astype(dtype)
    w = (0.3 * rng.standard_normal(28)).astype(dtype)
    return w, X, y


# ---------------------------------------------------------------- a strict stand-in device
class DevArray(np.ndarray):
    """Arrays of a pretend device backend ("devnp"): NumPy storage, but adgraph sees another
    array module, so a NumPy array created anywhere in a forward or backward pass and
    combined with them raises BackendMixError -- as it would with CuPy, without a GPU."""

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(DevArray)  # stay on the "device", even for 0-d results

    def __getitem__(self, idx):
        return _to_dev(super().__getitem__(idx))


def _to_dev(r):
    if isinstance(r, DevArray):
        return r
    if isinstance(r, (np.ndarray, np.generic)):
        return np.asarray(r).view(DevArray)
    if isinstance(r, (tuple, list)):
        return type(r)(_to_dev(x) for x in r)
    return r


class _DevModule(types.ModuleType):
    """numpy's namespace with every function's results moved to DevArray."""

    def __init__(self, name, base):
        super().__init__(name)
        self._base = base

    def __getattr__(self, attr):
        obj = getattr(self._base, attr)
        if isinstance(obj, types.ModuleType):
            sub = _DevModule(f"{self.__name__}.{attr}", obj)
            setattr(self, attr, sub)
            return sub
        if callable(obj) and not isinstance(obj, (type, np.ufunc)):

            def f(*a, **k):
                return _to_dev(obj(*a, **k))

            return f
        return obj


devnp = _DevModule("devnp", np)
register_array_type(DevArray, devnp)


def _dev(*arrays):
    return tuple(np.asarray(a).view(DevArray) for a in arrays)


def _dev_cases():
    w, X, y = _gpu_data()
    v = np.linspace(-1.0, 1.0, w.size)
    return {
        "grad": lambda w, X, y, v: ad.grad(_mlp)(w, X, y),
        "grad_data": lambda w, X, y, v: ad.grad(_logreg, argnums=1)(w[:6], X, y),
        "jvp": lambda w, X, y, v: ad.jvp(lambda w: _mlp(w, X, y), (w,), (v,))[1],
        "hvp": lambda w, X, y, v: ad.hvp(lambda w: _logreg(w, X, y), (w[:6],), (v[:6],)),
        "hessian": lambda w, X, y, v: ad.hessian(_shapes)(w, X, y),
        "jacrev": lambda w, X, y, v: ad.jacrev(lambda w: anp.tanh(X @ w))(w[:6]),
        "jacfwd": lambda w, X, y, v: ad.jacfwd(lambda w: anp.tanh(X @ w))(w[:6]),
        "vmap": lambda w, X, y, v: ad.vmap(
            ad.grad(lambda w, x, y: anp.log1p(anp.exp(-y * anp.dot(x, w)))), (None, 0, 0)
        )(w[:6], X, y),
        "fft": lambda w, X, y, v: ad.grad(_fft_energy)(w, X, y),
        "fft_hessian": lambda w, X, y, v: ad.hessian(_fft_energy)(w[:4], X, y),
        "index": lambda w, X, y, v: ad.grad(lambda u: anp.sum(u[[0, 2, 5]] ** 2))(w),
    }, (w, X, y, v)


@pytest.mark.parametrize("case", sorted(_dev_cases()[0]))
def test_rules_stay_on_a_foreign_backend(case):
    cases, args = _dev_cases()
    f = cases[case]
    got = f(*_dev(*args))
    want = f(*args)
    for g, r in zip(ad.tree_leaves(got), ad.tree_leaves(want), strict=True):
        assert isinstance(g, DevArray), f"{case}: result left the device backend ({type(g)})"
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- extension points
# An array module the operations cannot run as written registers its own steps through
# adgraph.core.extend; "extnp" is NumPy under another name, so the registered step must be
# what runs (the default would give the same numbers).
class ExtArray(np.ndarray):
    pass


extnp = _DevModule("extnp", np)
register_array_type(ExtArray, extnp)


@pytest.fixture
def registry(monkeypatch):
    """adgraph.core.extend with its tables copied, so a test's registrations vanish."""
    from adgraph.core import extend

    monkeypatch.setattr(extend, "_IMPLS", dict(extend._IMPLS))
    monkeypatch.setattr(extend, "_LOADERS", dict(extend._LOADERS))
    return extend


def test_importing_adgraph_imports_no_optional_backend():
    import subprocess

    code = (
        "import sys, adgraph, adgraph.numpy as anp, numpy as np\n"
        "anp.sort(np.ones((2, 3)))\n"
        "bad = [m for m in ('dask', 'cupy', 'adgraph.backends.dask_ops',"
        " 'adgraph.backends.cupy_ops') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dask_extensions_load_on_first_dask_array():
    pytest.importorskip("dask.array")
    import subprocess

    code = (
        "import sys, numpy as np, dask.array as da, adgraph.numpy as anp\n"
        "assert 'adgraph.backends.dask_ops' not in sys.modules\n"
        "x = da.from_array(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), chunks=(1, 3))\n"
        "y = anp.sort(x, axis=1)\n"
        "assert 'adgraph.backends.dask_ops' in sys.modules\n"
        "assert isinstance(y, da.Array)\n"
        "assert y.compute().tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_registered_step_replaces_the_default(registry):
    calls = []

    @registry.register("indexing.sort", "extnp")
    def sort(x, axis, kind):
        calls.append((axis, kind))
        return -np.sort(np.asarray(x), axis=axis)  # recognisably not the default

    @registry.register("linalg.det", "extnp")
    def det(a):
        calls.append("det")
        return np.linalg.det(np.asarray(a)) + 100.0

    x = np.array([[3.0, 1.0], [2.0, 5.0]]).view(ExtArray)
    np.testing.assert_array_equal(anp.sort(x, axis=0), -np.sort(np.asarray(x), axis=0))
    np.testing.assert_allclose(anp.linalg.det(x), 113.0)
    assert calls == [(0, None), "det"]
    # NumPy arrays never reach the registered steps
    np.testing.assert_array_equal(anp.sort(np.asarray(x), axis=0), np.sort(np.asarray(x), 0))
    assert anp.linalg.det(np.asarray(x)) == pytest.approx(13.0)
    assert len(calls) == 2


def test_unregistered_modules_take_the_default(registry):
    x = np.array([[3.0, 1.0], [2.0, 5.0]]).view(ExtArray)
    assert registry.lookup("indexing.sort", extnp) is None
    np.testing.assert_array_equal(anp.sort(x, axis=1), [[1.0, 3.0], [2.0, 5.0]])
    assert anp.linalg.det(x) == pytest.approx(13.0)


def test_loader_runs_once_on_first_lookup_and_again_after_failing(registry):
    runs = []

    def loader():
        runs.append(1)
        if len(runs) == 1:
            raise ImportError("extnp's backend is broken")
        registry.register("indexing.argsort", "extnp", lambda x, axis, kind: "registered")

    registry.register_loader("extnp", loader)
    assert runs == []  # lazily: nothing runs at registration
    with pytest.raises(ImportError, match="broken"):
        registry.lookup("indexing.argsort", extnp)
    assert registry.lookup("indexing.argsort", extnp)(None, 0, None) == "registered"
    assert registry.lookup("indexing.sort", extnp) is None
    assert runs == [1, 1]  # once more after the failure, then never again


def test_a_lookup_during_a_running_loader_waits_for_it(registry):
    import threading
    import time

    started = threading.Event()

    def slow_loader():
        started.set()
        time.sleep(0.3)  # another thread looks up meanwhile
        registry.register("indexing.argsort", "extnp", lambda x, axis, kind: "registered")

    registry.register_loader("extnp", slow_loader)
    got = {}

    def look(key):
        got[key] = registry.lookup("indexing.argsort", extnp)

    first = threading.Thread(target=look, args=("first",))
    first.start()
    started.wait(5)
    look("second")  # not the default (None) while the loader is still running
    first.join(5)
    assert got["first"] is got["second"] is not None


def test_numpy_never_looks_up_an_extension(monkeypatch):
    # The NumPy path costs nothing: no lookup at all, for every operation with a point.
    from adgraph.core import extend

    def refuse(name, xp):
        raise AssertionError(f"looked up {name} for {xp.__name__}")

    monkeypatch.setattr(extend, "lookup", refuse)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4, 4)) + 4 * np.eye(4)
    x = rng.standard_normal((5, 3))
    i = np.array([0, 2, 2, 4])

    def f(a, x):
        out = anp.sum(anp.linalg.det(a)) + anp.sum(anp.linalg.slogdet(a)[1])
        out = out + anp.sum(anp.linalg.inv(a)) + anp.sum(anp.linalg.solve(a, a[..., :1]))
        out = out + anp.sum(x[i] ** 2) + anp.sum(anp.at(x)[i].add(1.0) ** 2)
        out = out + anp.sum(anp.at(x)[i].set(2.0) * x) + anp.sum(anp.at(x)[i].max(0.0))
        out = out + anp.sum(anp.sort(x, axis=0) ** 2)
        out = out + anp.sum(anp.take_along_axis(x, anp.argsort(x, axis=1), axis=1) ** 3)
        return out + anp.sum(anp.abs(anp.fft.fft(x, axis=0)) ** 2)

    v = f(a, x)  # untraced: the primitives' implementations alone
    g = ad.grad(f, argnums=(0, 1))(a, x)
    h = ad.hvp(lambda x: f(a, x), (x,), (np.ones_like(x),))
    assert all(np.all(np.isfinite(r)) for r in (v, *g, h))


def test_extension_points_refuse_misuse(registry):
    with pytest.raises(registry.ExtensionError, match=r"no extension point 'indexing\.sortt'.*"):
        registry.register("indexing.sortt", "extnp", lambda x, axis, kind: x)
    with pytest.raises(registry.ExtensionError, match="indexing.sort, "):
        registry.register("indexing.sortt", "extnp", lambda x, axis, kind: x)
    registry.register("indexing.sort", "extnp", lambda x, axis, kind: x)
    with pytest.raises(registry.ExtensionError, match="already has an implementation"):
        registry.register("indexing.sort", "extnp", lambda x, axis, kind: -x)
    registry.register("indexing.sort", "extnp", np.negative, replace=True)
    assert registry.lookup("indexing.sort", extnp) is np.negative
    with pytest.raises(registry.ExtensionError, match="expected a callable"):
        registry.register("indexing.argsort", "extnp", 3)


def test_every_point_is_documented_and_dask_fills_the_ones_it_needs(registry):
    pts = registry.points()
    assert {"indexing.gather", "indexing.scatter", "linalg.det", "fft.prepare"} <= set(pts)
    assert all(isinstance(c, str) and "->" in c for c in pts.values())
    from adgraph.backends import cupy_ops  # imports no CuPy until a CuPy scatter runs

    cupy_ops.install()
    assert set(registry.implementations("indexing.add_at")) == {"cupy"}
    pytest.importorskip("dask.array")
    from adgraph.backends import dask_ops

    dask_ops.install()  # as the loader does; installing twice changes nothing
    dask_ops.install()
    missing = [p for p in registry.points() if "dask.array" not in registry.implementations(p)]
    # Dask's add has no in-place form to offer, its arrays are immutable, it maps SciPy's
    # ufuncs over blocks itself, and it has no fused kernels: those points are CuPy's alone
    assert sorted(missing) == sorted(CUPY_ONLY_POINTS)


# The points only a GPU backend needs, which CuPy fills and Dask does not.
CUPY_ONLY_POINTS = ("indexing.add_at", "special.module", "products.writable_views", "fused.kernel")


def test_cupy_fills_its_points_without_importing_cupy():
    import subprocess

    code = (
        "import sys\n"
        "from adgraph.core import extend\n"
        "from adgraph.backends import cupy_ops\n"
        "cupy_ops.install()\n"
        f"for p in {CUPY_ONLY_POINTS!r}:\n"
        "    assert 'cupy' in extend.implementations(p), p\n"
        "fake = type(sys)('cupy')\n"
        "assert extend.lookup('products.writable_views', fake)(fake) is True\n"
        "bad = [m for m in ('cupy', 'cupyx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_fused_ops_imports_no_cuda_code():
    import subprocess

    code = (
        "import sys, numpy as np, adgraph, adgraph.nn, adgraph.optim\n"
        "from adgraph.ops import fused\n"
        "import adgraph.scipy.special as sps\n"
        "fused.gelu(np.ones(3)); sps.erf(np.ones(3))\n"
        "bad = [m for m in ('cupy', 'cupyx', 'adgraph.backends.cupy_ops',"
        " 'adgraph.backends.cupy_fused') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_special_functions_come_from_the_module_a_backend_names(registry):
    import scipy.special

    calls = []

    class Special:
        def __getattr__(self, name):
            def f(*args):
                calls.append(name)
                return getattr(scipy.special, name)(*args)

            return f

    x = np.array([0.2, 0.9, 1.7]).view(ExtArray)
    want = scipy.special.erf(np.asarray(x))
    np.testing.assert_allclose(np.asarray(sps.erf(x)), want)
    assert calls == []  # unregistered: SciPy's
    registry.register("special.module", "extnp", lambda xp: Special())
    np.testing.assert_allclose(np.asarray(sps.erf(x)), want)
    np.testing.assert_allclose(np.asarray(sps.digamma(x)), scipy.special.digamma(np.asarray(x)))
    assert calls == ["erf", "digamma"]


def test_diagonals_are_written_in_place_where_a_backend_says_views_write(registry, monkeypatch):
    from adgraph.ops import products

    v = np.arange(1.0, 7.0).reshape(2, 3)
    want = np.zeros((2, 3, 4))
    want[:, [0, 1, 2], [1, 2, 3]] = v  # offset 1 in the plane of axes 1 and 2
    einsums = []

    def einsum(*a, **k):
        einsums.append(a[0])
        return np.einsum(*a, **k)

    monkeypatch.setattr(extnp, "einsum", einsum, raising=False)
    p = dict(offset=1, axis1=1, axis2=2, shape=(2, 3, 4))
    np.testing.assert_array_equal(products.diag_embed_p.impl(extnp, v, **p), want)
    assert len(einsums) == 1  # by default: a product with 0/1 matrices
    registry.register("products.writable_views", "extnp", lambda xp: True)
    np.testing.assert_array_equal(products.diag_embed_p.impl(extnp, v, **p), want)
    # transposed plane, negative offset
    q = dict(offset=-1, axis1=2, axis2=0, shape=(3, 5, 4))
    w = np.arange(1.0, 16.0).reshape(5, 3)
    got = products.diag_embed_p.impl(extnp, w, **q)
    assert len(einsums) == 1  # written in place
    np.testing.assert_array_equal(np.diagonal(got, offset=-1, axis1=2, axis2=0), w)
    assert np.count_nonzero(got) == w.size


def test_numpy_never_looks_up_the_gpu_points(monkeypatch):
    from adgraph.core import extend
    from adgraph.ops import fused

    def refuse(name, xp):
        raise AssertionError(f"looked up {name} for {xp.__name__}")

    monkeypatch.setattr(extend, "lookup", refuse)
    x = np.random.default_rng(4).standard_normal((3, 3))

    def f(x):
        out = anp.sum(anp.diagonal(x) ** 2) + anp.sum(sps.erf(x))
        out = out + anp.sum(sps.gammaln(x * x + 1.0))
        return out + anp.sum(fused.gelu(x)) + fused.softmax_cross_entropy(x, np.array([0, 2, 1]))

    g = ad.grad(f)(x)
    h = ad.hvp(f, (x,), (np.ones_like(x),))
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))


# ---------------------------------------------------------------- CuPy (GPU)
def _on_gpu(*arrays):
    return tuple(cp.asarray(a) for a in arrays)


@needs_gpu
def test_gpu_is_reported():
    info = backends.available("cupy")
    assert info.usable and info.devices and info.devices[0].startswith("cuda:0")


@needs_gpu
@pytest.mark.parametrize("name", sorted(GPU_FUNCS))
def test_gpu_grad_jvp_hessian_match_numpy(name):
    f = GPU_FUNCS[name]
    w, X, y = _gpu_data()
    wg, Xg, yg = _on_gpu(w, X, y)
    v = np.linspace(-1.0, 1.0, w.size)
    vg = cp.asarray(v)

    g = ad.grad(f)(wg, Xg, yg)
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), ad.grad(f)(w, X, y), rtol=1e-10, atol=1e-12)

    _, t = ad.jvp(lambda w: f(w, Xg, yg), (wg,), (vg,))
    assert isinstance(t, cp.ndarray)
    _, t_n = ad.jvp(lambda w: f(w, X, y), (w,), (v,))
    np.testing.assert_allclose(cp.asnumpy(t), t_n, rtol=1e-10, atol=1e-12)

    H = ad.hessian(f)(wg, Xg, yg)
    assert isinstance(H, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(H), ad.hessian(f)(w, X, y), rtol=1e-9, atol=1e-11)

    J = ad.jacrev(lambda w: anp.stack([f(w, Xg, yg), f(2.0 * w, Xg, yg)]))(wg)
    assert isinstance(J, cp.ndarray) and J.shape == (2, w.size)


@needs_gpu
def test_gpu_vmap_and_grad_of_data():
    w, X, y = _gpu_data()
    wg, Xg, yg = _on_gpu(w, X, y)
    per = ad.vmap(ad.grad(lambda w, x, y: anp.log1p(anp.exp(-y * anp.dot(x, w)))), (None, 0, 0))
    got = per(wg[:6], Xg, yg)
    assert isinstance(got, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(got), per(w[:6], X, y), rtol=1e-10)
    gX = ad.grad(_logreg, argnums=1)(wg[:6], Xg, yg)
    assert isinstance(gX, cp.ndarray)


@needs_gpu
@pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize:UserWarning")
def test_gpu_no_host_synchronisation():
    # A device-to-host copy synchronises the device; CuPy can forbid synchronisation, so a
    # copy hidden anywhere in the forward or backward pass raises here.
    import cupyx

    allow = getattr(cupyx, "allow_synchronize", None)
    if allow is None:
        pytest.skip("this CuPy has no cupyx.allow_synchronize")
    w, X, y = _gpu_data()
    wg, Xg, yg = _on_gpu(w, X, y)
    for name in ("logreg", "mlp", "fft"):
        f = GPU_FUNCS[name]
        ad.grad(f)(wg, Xg, yg)  # warm up: plans, kernels, memory pool
        cp.cuda.Device().synchronize()
        with allow(False):
            g = ad.grad(f)(wg, Xg, yg)
            ad.hvp(lambda w: f(w, Xg, yg), (wg,), (wg,))
        assert isinstance(g, cp.ndarray)


@needs_gpu
def test_gpu_float32_stays_float32():
    w, X, y = _gpu_data(np.float32)
    wg, Xg, yg = _on_gpu(w, X, y)
    for name in ("logreg", "mlp", "fft"):
        g = ad.grad(GPU_FUNCS[name])(wg, Xg, yg)
        assert isinstance(g, cp.ndarray) and g.dtype == np.float32, name


@needs_gpu
def test_gpu_mixing_with_numpy_names_both():
    with pytest.raises(BackendMixError, match="numpy and cupy|cupy and numpy"):
        anp.add(np.ones(3), cp.ones(3))
    with pytest.raises(BackendMixError, match="cupy"):
        ad.grad(lambda x: anp.sum(x * np.ones(3)))(cp.ones(3))
    # Python and NumPy scalars mix freely and keep the result on the device.
    out = anp.multiply(2.0, anp.add(cp.ones(3), np.float32(1.0)))
    assert isinstance(out, cp.ndarray)
    g = ad.grad(lambda x: anp.sum(3.0 * x**2 + 1))(cp.arange(3.0))
    assert isinstance(g, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(g), [0.0, 6.0, 12.0])


@needs_gpu
def test_gpu_round_trip():
    tree = {"w": np.arange(6.0), "s": 2.0}
    on = backends.to_device(tree, "gpu")
    assert isinstance(on["w"], cp.ndarray) and on["s"] == 2.0
    assert backends.backend_of(on["w"]) == "cupy"
    assert backends.array_module(on["w"], 1.0) is cp
    back = backends.asnumpy(on)
    assert isinstance(back["w"], np.ndarray)
    np.testing.assert_array_equal(back["w"], tree["w"])
