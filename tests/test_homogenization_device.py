"""The homogenisation solvers on a foreign array module, without a GPU.

A strict stand-in device backend ("strictdev") built from NumPy: its arrays compute with
NumPy underneath, but adgraph sees another array module, and the arrays refuse what a CuPy
array would not survive or should not do in a solver loop:

* a plain NumPy array meeting them in an arithmetic operation (CuPy raises; adgraph raises
  BackendMixError), or used as an index or assigned into them (a host-to-device copy);
* a ``numpy.*`` function called on them instead of the array module's (the solver must use
  ``xp``; ``np.asarray`` of a CuPy array is an error).

Host-to-device copies (``strictdev.asarray`` of a NumPy array) are counted: a solve makes a
fixed number of them (parameters, history, tables) whatever the number of Newton and CG
iterations, so none happens inside the loops. Results are checked against the NumPy solve.
CuPy itself is exercised on a GPU by ``scripts/gpu_homogenization.sh``.
"""

from __future__ import annotations

import contextlib
import types
import warnings

import numpy as np
import pytest

import adgraph as ad
from adgraph.core.xp import register_array_type
from adgraph.examples import homogenization as hom


class Leak(AssertionError):
    """A NumPy array or function met device arrays."""


_state = {"inside": 0, "h2d": 0}


def _is_host(x) -> bool:
    return type(x) is np.ndarray


def _check_index(idx, what):
    parts = idx if isinstance(idx, tuple) else (idx,)
    for p in parts:
        if _is_host(p):
            raise Leak(f"{what} with a NumPy index array (a host-to-device copy per call)")


class Dev(np.ndarray):
    """An array of the stand-in device."""

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(Dev)

    def __getitem__(self, idx):
        _check_index(idx, "indexing a device array")
        return _to_dev(super().__getitem__(_strip(idx)))

    def __setitem__(self, idx, value):
        _check_index(idx, "assigning into a device array")
        if _is_host(value):
            raise Leak("a NumPy array assigned into a device array")
        super().__setitem__(_strip(idx), value)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kw):
        for x in inputs + (out or ()):
            if _is_host(x):
                raise Leak(
                    f"numpy.{ufunc.__name__}: a NumPy array of shape {x.shape} met a device "
                    "array (CuPy would raise)"
                )
        if any(not isinstance(x, np.ndarray) and hasattr(x, "__array_ufunc__") for x in inputs):
            return NotImplemented  # traced values take over, as they do from CuPy arrays
        args = [x.view(np.ndarray) if isinstance(x, Dev) else x for x in inputs]
        if out is not None:
            kw["out"] = tuple(o.view(np.ndarray) for o in out)
        res = getattr(ufunc, method)(*args, **kw)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_dev(res)

    def __array_function__(self, func, types_, args, kwargs):
        if not _state["inside"]:
            raise Leak(
                f"numpy.{func.__name__} called on a device array: use the array module "
                "of the data (xp)"
            )
        return super().__array_function__(func, types_, args, kwargs)


def _strip(idx):
    if isinstance(idx, tuple):
        return tuple(p.view(np.ndarray) if isinstance(p, Dev) else p for p in idx)
    return idx.view(np.ndarray) if isinstance(idx, Dev) else idx


def _to_dev(r):
    if isinstance(r, Dev):
        return r
    if isinstance(r, (np.ndarray, np.generic)):
        return np.asarray(r).view(Dev)
    if isinstance(r, (tuple, list)):
        return type(r)(_to_dev(x) for x in r)
    return r


class _DevModule(types.ModuleType):
    """numpy's namespace, results moved to the device; ``asarray`` of host data counted."""

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
                if attr in ("asarray", "array") and a and not isinstance(a[0], Dev):
                    _state["h2d"] += 1
                _state["inside"] += 1
                try:
                    return _to_dev(obj(*a, **k))
                finally:
                    _state["inside"] -= 1

            return f
        return obj


dev = _DevModule("strictdev", np)
register_array_type(Dev, dev)


def on_dev(x):
    return np.asarray(x).view(Dev)


def assert_dev(*arrays):
    for a in arrays:
        assert isinstance(a, Dev), f"left the device: {type(a).__name__}"


def close(got, want, tol=1e-9):
    got, want = np.asarray(got), np.asarray(want)
    scale = max(np.abs(want).max(), 1e-300)
    assert np.abs(got - want).max() <= tol * scale, np.abs(got - want).max() / scale


def test_the_stand_in_is_strict():
    a = on_dev(np.ones(3))
    with pytest.raises(Leak, match="met a device array"):
        a + np.ones(3)
    with pytest.raises(Leak, match="numpy.einsum"):
        np.einsum("i,i->", a, a)
    with pytest.raises(Leak, match="index"):
        a[np.array([0, 1])]
    assert_dev(a + 1.0, dev.einsum("i,i->", a, a), a[dev.asarray(np.array([0, 1]))])


# ------------------------------------------------------------------ problems
def _elastic(shape):
    m = hom.inclusion(shape, 0.3)
    return np.where(m, 10.0, 1.0), np.where(m, 5.0, 0.5), m


E2 = np.array([[0.01, 0.002], [0.002, -0.004]])
E3 = np.array([[0.01, 0.004, 0.0], [0.004, -0.003, 0.002], [0.0, 0.002, 0.001]])


@pytest.mark.parametrize(
    "shape,E,tangent",
    [((8, 7), E2, "stored"), ((8, 7), E2, "action"), ((6, 5, 4), E3, "stored")],
    ids=["2d-stored", "2d-action", "3d-stored"],
)
def test_linear_elastic_solve_stays_on_the_device(shape, E, tangent):
    K, mu, _ = _elastic(shape)
    want = hom.solve(hom.linear_elastic(K, mu), E, shape, tangent=tangent)
    law = hom.linear_elastic(on_dev(K), on_dev(mu))  # module inferred from the parameters
    res = hom.solve(law, E, shape, tangent=tangent)
    assert res.xp is dev and law.kernels.backend_for(res.strain) == "jit"
    assert_dev(res.strain, res.stress, res.mean_stress, res.mean_strain)
    assert isinstance(res.mean_stress_path, np.ndarray)
    close(res.stress, want.stress)
    assert res.newton_iterations == want.newton_iterations
    assert abs(res.cg_iterations - want.cg_iterations) <= 1
    assert_dev(res.von_mises())
    close(res.von_mises(), want.von_mises())


def test_j2_load_step_stays_on_the_device():
    shape = (5, 6, 4)
    K, mu, m = _elastic(shape)
    sy = np.where(m, 1e3, 0.004)
    E = np.diag([0.01, -0.005, -0.005])
    want = hom.solve(hom.j2_plasticity(K, mu, sy, 0.2), E, shape)
    assert want.newton_iterations >= 3  # a plastic step: several Newton iterations
    # NumPy parameters and history, moved to the device by xp=
    res = hom.solve(hom.j2_plasticity(K, mu, sy, 0.2), E, shape, xp=dev)
    assert_dev(res.stress, res.history["plastic_strain"], res.history["alpha"])
    close(res.stress, want.stress, 1e-9)
    close(res.history["plastic_strain"], want.history["plastic_strain"], 1e-8)
    assert res.newton_iterations == want.newton_iterations
    # a second increment, continued from the device result
    res2 = hom.solve(res.law, 1.5 * E, shape, initial=res, xp=dev)
    want2 = hom.solve(want.law, 1.5 * E, shape, initial=want)
    assert_dev(res2.stress)
    close(res2.stress, want2.stress, 1e-8)


def test_eager_law_and_fixed_point_and_finite_strain_on_the_device():
    shape = (7, 6)
    K, mu, _ = _elastic(shape)
    law = hom.linear_elastic(on_dev(K), on_dev(mu))
    law.backend = "eager"
    fp = hom.solve(law, E2, shape, method="fixed_point", tol=1e-9)
    want = hom.solve(hom.linear_elastic(K, mu), E2, shape, method="fixed_point", tol=1e-9)
    assert_dev(fp.stress) and law.kernels.backend_for(fp.strain) == "eager"
    close(fp.stress, want.stress, 1e-9)
    F = np.array([[1.1, 0.05], [0.0, 0.98]])
    nh = hom.solve(hom.neo_hookean(on_dev(K), on_dev(mu)), F, shape, finite_strain=True)
    nh_want = hom.solve(hom.neo_hookean(K, mu), F, shape, finite_strain=True)
    assert_dev(nh.stress)
    close(nh.stress, nh_want.stress, 1e-10)


def test_effective_stiffness_and_bounds_on_the_device():
    shape = (6, 5)
    K, mu, _ = _elastic(shape)
    law = hom.linear_elastic(on_dev(K), on_dev(mu))
    C = hom.effective_stiffness(law, shape)
    assert_dev(C)
    close(C, hom.effective_stiffness(hom.linear_elastic(K, mu), shape), 1e-10)
    vb, rb = hom.voigt_bound(law, shape), hom.reuss_bound(law, shape)
    assert_dev(vb, rb)
    close(vb, hom.voigt_bound(hom.linear_elastic(K, mu), shape))
    close(rb, hom.reuss_bound(hom.linear_elastic(K, mu), shape))
    assert_dev(law.tangent(on_dev(np.zeros((2, 2) + shape))))


def test_derivative_through_the_solve_on_the_device():
    shape = (6, 5)
    mask = hom.inclusion(shape, 0.3)

    def c11(mu_fibre, m):
        law = hom.linear_elastic(hom.phase_field(m, 10.0, 1.0), hom.phase_field(m, mu_fibre, 0.5))
        return hom.effective_stiffness(law, shape, tol=1e-12, cg_tol=1e-13)[0, 0]

    g = ad.grad(c11)(5.0, on_dev(mask))
    assert_dev(g)
    close(g, ad.grad(c11)(5.0, mask), 1e-8)


@pytest.mark.parametrize("backend,tangent", [("auto", "stored"), ("eager", "action")])
def test_no_host_to_device_copy_inside_the_iterations(backend, tangent):
    shape = (6, 5, 4)
    K, mu, m = _elastic(shape)
    law = hom.j2_plasticity(on_dev(K), on_dev(mu), on_dev(np.where(m, 1e3, 0.004)), 0.2)
    law.backend = backend
    E = np.diag([0.01, -0.005, -0.005])
    hom.solve(law, E, shape, tangent=tangent)  # compiles the law's programs
    counts = []
    for tol, cg_tol in ((1e-4, 1e-5), (1e-10, 1e-12)):
        _state["h2d"] = 0
        res = hom.solve(law, E, shape, tangent=tangent, tol=tol, cg_tol=cg_tol)
        counts.append((_state["h2d"], res.newton_iterations, res.cg_iterations))
    (c1, n1, k1), (c2, n2, k2) = counts
    assert n2 > n1 and k2 > k1  # more iterations ...
    assert c1 == c2  # ... the same copies: none per iteration


def test_module_choice_is_checked():
    shape = (5, 4)
    K, mu, _ = _elastic(shape)
    with pytest.raises(ValueError, match="xp='numpy' was asked for"):
        hom.solve(hom.linear_elastic(on_dev(K), on_dev(mu)), E2, shape, xp="numpy")
    with pytest.raises(TypeError, match="numpy and strictdev|strictdev and numpy"):
        hom.solve(hom.linear_elastic(on_dev(K), mu), E2, shape)


def test_c_backend_runs_as_jit_on_the_device():
    shape = (5, 4)
    K, mu, _ = _elastic(shape)
    law = hom.linear_elastic(on_dev(K), on_dev(mu))
    law.backend = "c"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = hom.solve(law, E2, shape)
    assert_dev(res.stress)
    assert any("compiles for the CPU" in str(x.message) for x in w)


# ------------------------------------------------------------------ CuPy (GPU only)
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


@needs_gpu
def test_cupy_solves_match_numpy():
    for shape, E in (((8, 7), E2), ((6, 5, 4), E3)):
        K, mu, m = _elastic(shape)
        for tangent in ("stored", "action"):
            want = hom.solve(hom.linear_elastic(K, mu), E, shape, tangent=tangent)
            res = hom.solve(hom.linear_elastic(cp.asarray(K), cp.asarray(mu)), E, shape,
                            tangent=tangent)  # fmt: skip
            assert isinstance(res.stress, cp.ndarray) and res.xp is cp
            close(cp.asnumpy(res.stress), want.stress, 1e-8)  # cuFFT, cuBLAS: other round-off
            assert res.newton_iterations == want.newton_iterations
        sy = np.where(m, 1e3, 0.004)
        Ep = 2.0 * E
        want = hom.solve(hom.j2_plasticity(K, mu, sy, 0.2), Ep, shape, steps=2)
        res = hom.solve(hom.j2_plasticity(K, mu, sy, 0.2), Ep, shape, steps=2, xp="cupy")
        assert isinstance(res.history["alpha"], cp.ndarray)
        close(cp.asnumpy(res.stress), want.stress, 1e-7)
        assert abs(res.newton_iterations - want.newton_iterations) <= 1
        C = hom.effective_stiffness(hom.linear_elastic(cp.asarray(K), cp.asarray(mu)), shape)
        assert isinstance(C, cp.ndarray)
        close(cp.asnumpy(C), hom.effective_stiffness(hom.linear_elastic(K, mu), shape), 1e-8)


@needs_gpu
def test_cupy_finite_strain_fixed_point_and_derivative():
    shape = (7, 6)
    K, mu, m = _elastic(shape)
    F = np.array([[1.1, 0.05], [0.0, 0.98]])
    nh = hom.solve(hom.neo_hookean(K, mu), F, shape, finite_strain=True, xp="cupy")
    close(
        cp.asnumpy(nh.stress),
        hom.solve(hom.neo_hookean(K, mu), F, shape, finite_strain=True).stress,
        1e-8,
    )
    fp = hom.solve(hom.linear_elastic(K, mu), E2, shape, method="fixed_point", xp="cupy")
    want = hom.solve(hom.linear_elastic(K, mu), E2, shape, method="fixed_point")
    close(cp.asnumpy(fp.stress), want.stress, 1e-7)

    def c11(mu_fibre, mask):
        law = hom.linear_elastic(
            hom.phase_field(mask, 10.0, 1.0), hom.phase_field(mask, mu_fibre, 0.5)
        )
        return hom.effective_stiffness(law, shape, tol=1e-12, cg_tol=1e-13)[0, 0]

    g = ad.grad(c11)(5.0, cp.asarray(m))
    assert isinstance(g, cp.ndarray)
    close(cp.asnumpy(g), ad.grad(c11)(5.0, m), 1e-8)


@needs_gpu
@pytest.mark.filterwarnings("ignore:cupyx.allow_synchronize:UserWarning")
@pytest.mark.parametrize("tangent", ["stored", "action"])
def test_cupy_newton_and_cg_work_without_host_synchronisation(tangent):
    # A device-to-host copy synchronises; with synchronisation forbidden, the tangent and
    # one application of the CG operator (projection, FFTs, tangent) must run as they are.
    import cupyx

    allow = getattr(cupyx, "allow_synchronize", None)
    if allow is None:
        pytest.skip("this CuPy has no cupyx.allow_synchronize")
    shape = (8, 6, 5)
    K, mu, m = _elastic(shape)
    law = hom.j2_plasticity(*(cp.asarray(a) for a in (K, mu, np.where(m, 1e3, 0.004))), 0.2)
    grid = hom.Grid(shape)
    eps = grid.uniform(np.diag([0.01, -0.005, -0.005]), cp)
    hist = law.init_history(3, shape)
    hist = {k: cp.asarray(v) for k, v in hist.items()}
    v = cp.asarray(np.random.default_rng(0).standard_normal(eps.shape))
    v = 0.5 * (v + v.swapaxes(0, 1))
    for k in range(2):  # the first round compiles kernels and makes FFT plans
        cp.cuda.Device().synchronize()
        with allow(False) if k else contextlib.nullcontext():
            lin = law.linearize(eps, hist, None, tangent)
            out = grid.project(lin.apply(v))
    assert isinstance(out, cp.ndarray)
