"""The backward sweep gives the same numbers whatever ran before it in the process.

The sweep adds later cotangent contributions in place into arrays it allocated itself.
Which arrays those are must follow the objects, not their addresses: CPython reuses the
``id`` of a dead array for the next one allocated, so ownership kept by ``id`` lets a
later, foreign array (a read-only broadcast view, a residual, the caller's cotangent)
pass for the sweep's own -- an error or a silently wrong gradient that appears only after
some other computation ran.

Here many different gradient computations (shapes, shared cotangents, views,
broadcasting, read-only inputs, residuals returned by rules, several outputs) run
interleaved in one process, in a seeded random order, and each result is compared with
the same computation run first thing in a fresh process. Inputs, the caller's
cotangents and rule residuals are checked to be unchanged.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

W4 = np.array([1.0, 2.0, -3.0, 0.25])
W8 = np.linspace(-1.0, 2.0, 8)
M22 = np.array([[1.5, -0.5], [2.0, 0.25]])
K4 = np.array([0.5, -2.0, 1.0, 3.0])  # returned as is by a custom rule (a residual)


def _read_only(a):
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


def _x4():
    return np.array([0.5, -1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------- programs
def _getitem_after_owned(x):
    # P gets a new array from multiply, then getitem's general rule replaces it by a sum;
    # Q first gets sum's read-only broadcast view, then a second contribution
    p = x * 2.0
    q = x * 3.0
    d = anp.sum(q * W4)
    c = anp.sum(q)
    b = p[1]
    a = anp.sum(p * W4)
    return d + c + b + a


def _concatenate_shared(x):
    y = x * 2.0
    z = anp.concatenate([y, y[::-1]])
    return anp.sum(z * W8) + anp.sum(y * y) + anp.sum(anp.sin(y))


def _split_outputs(x):
    y = anp.exp(x * 0.5)
    a, b = anp.split(y, 2)
    return anp.sum(a * b) + anp.sum(y * W4) + anp.sum(a) * b[0]


def _views(x):
    y = x * 1.5
    m = anp.reshape(y, (2, 2))
    t = m.T
    return anp.sum(t @ M22) + anp.sum(m * m) + anp.sum(y[1:3] * y[:2]) + anp.sum(y)


def _broadcasting(x, y):
    # x: (4,), y: (3, 1)
    z = x[None, :] * y
    return anp.sum(anp.sin(z)) + anp.sum(x * x) + anp.sum(y * y) + anp.sum(z * x)


def _scalars_and_arrays(x):
    s = anp.sum(x)
    t = anp.sin(x[0]) * s + x[2] * x[3]
    for _ in range(5):
        t = t * 0.9 + anp.cos(t)
    return t + anp.sum(x * t)


def _read_only_input(x):
    return anp.sum(x * W4) + anp.sum(anp.exp(x) * x) + anp.sum(x) * anp.sum(x)


@ad.custom_vjp
def _dot_k(x):
    return anp.sum(x * K4)


def _dot_k_fwd(x):
    return _dot_k(x), None


def _dot_k_bwd(res, ct):
    # d/dx sum(x * K4) = ct * K4; for ct == 1 the residual K4 itself, unchanged
    return (K4 if ct == 1.0 else ct * K4,)


_dot_k.defvjp(_dot_k_fwd, _dot_k_bwd)


def _residual_returned(x):
    y = x * 2.0
    return _dot_k(y) + anp.sum(y * W4) + _dot_k(x) + anp.sum(y[::2])


def _matmul_chain(w):
    # w: (3, 4); an MLP-like layer with a shared input
    xin = np.arange(8.0).reshape(2, 4) / 7.0
    h = anp.tanh(xin @ w.T)
    o = h @ w[:, :2]
    return anp.sum(o * o) + anp.sum(w * w) + anp.sum(h)


def _einsum_and_scatter(x):
    y = anp.einsum("i,i->i", x, x)
    z = y.at[1].add(x[2])
    return anp.sum(z * W4) + anp.sum(anp.einsum("i,j->ij", x, y))


def _float32(x):
    return anp.sum(x * x + anp.sin(x)) + anp.sum(x[:2] * x[2:])


def _long_chain(x):
    y = x
    for k in range(40):
        y = anp.sin(y) * 0.5 + y[::-1] * 0.25 + (k % 3) * x
        if k % 7 == 0:
            y = anp.concatenate([y[:2], y[2:] * 1.1])
    return anp.sum(y)


# name -> (kind, function, arguments): kind "grad" (argnums all), "vjp" (cotangent given
# by the caller, checked unchanged), "jacrev" or "hessian"
def _cases():
    x4 = _x4()
    return {
        "getitem_after_owned": ("grad", _getitem_after_owned, (x4,)),
        "concatenate_shared": ("grad", _concatenate_shared, (x4,)),
        "split_outputs": ("grad", _split_outputs, (x4,)),
        "views": ("grad", _views, (x4,)),
        "broadcasting": ("grad", _broadcasting, (x4, np.array([[0.5], [-1.5], [2.0]]))),
        "scalars_and_arrays": ("grad", _scalars_and_arrays, (x4,)),
        "read_only_input": ("grad", _read_only_input, (_read_only(x4),)),
        "residual_returned": ("grad", _residual_returned, (x4,)),
        "matmul_chain": ("grad", _matmul_chain, (np.linspace(-1.0, 1.0, 12).reshape(3, 4),)),
        "einsum_and_scatter": ("grad", _einsum_and_scatter, (x4,)),
        "float32": ("grad", _float32, (x4.astype(np.float32),)),
        "long_chain": ("grad", _long_chain, (x4,)),
        "vjp_user_cotangent": ("vjp", lambda x: anp.sin(x) * x + x * 2.0, (x4,)),
        "vjp_read_only_cotangent": ("vjp_ro", lambda x: x + x * x + x[::-1], (x4,)),
        "jacrev_views": ("jacrev", lambda x: anp.reshape(x, (2, 2)).T @ M22 + x[0], (x4,)),
        "hessian_shared": ("hessian", lambda x: anp.sum(x * x * x) + x[1] * x[2], (x4,)),
    }


def _run(name):
    """The case's result, as a list of float arrays."""
    kind, f, args = _cases()[name]
    if kind == "grad":
        out = ad.grad(f, argnums=tuple(range(len(args))))(*args)
    elif kind in ("vjp", "vjp_ro"):
        y, f_vjp = ad.vjp(f, *args)
        ct = np.linspace(0.5, 2.0, y.size).reshape(y.shape)
        keep = ct.copy()
        if kind == "vjp_ro":
            ct.flags.writeable = False
        out = f_vjp(ct)
        np.testing.assert_array_equal(ct, keep)  # the caller's cotangent is untouched
    elif kind == "jacrev":
        out = (ad.jacrev(f)(*args),)
    else:
        out = (ad.hessian(f)(*args),)
    return [np.asarray(o) for o in out]


def _fresh_results(names) -> dict:
    """Each case computed first thing in a fresh process (a child forked right after
    importing this module, one per case; a new interpreter per case where fork is not
    available)."""
    code = r"""
import json, os, sys, importlib.util
spec = importlib.util.spec_from_file_location("stress_cases", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
out = {}
for name in sys.argv[2:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = [[a.dtype.str, list(a.shape), a.ravel().tolist()] for a in mod._run(name)]
            data = json.dumps(res).encode()
        except BaseException as e:
            data = json.dumps({"error": repr(e)}).encode()
        with os.fdopen(w, "wb") as fh:
            fh.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        out[name] = json.loads(fh.read().decode())
    os.waitpid(pid, 0)
print(json.dumps(out))
"""
    if not hasattr(os, "fork"):  # pragma: no cover - Windows
        out = {}
        for name in names:
            out.update(_fresh_results_spawn([name]))
        return out
    proc = subprocess.run(
        [sys.executable, "-c", code, __file__, *names],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _fresh_results_spawn(names):  # pragma: no cover - used where fork is missing
    code = (
        "import json, sys, importlib.util\n"
        "spec = importlib.util.spec_from_file_location('stress_cases', sys.argv[1])\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "res = [[a.dtype.str, list(a.shape), a.ravel().tolist()] for a in mod._run(sys.argv[2])]\n"
        "print(json.dumps({sys.argv[2]: res}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, __file__, *names], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def _as_arrays(encoded):
    assert not isinstance(encoded, dict), encoded["error"]
    return [np.array(v, dtype=np.dtype(dt)).reshape(shape) for dt, shape, v in encoded]


@pytest.fixture(scope="module")
def fresh():
    return _fresh_results(sorted(_cases()))


def _inputs_snapshot():
    return [
        (name, [np.array(a, copy=True) for a in args]) for name, (_, _, args) in _cases().items()
    ]


def test_interleaved_gradients_match_fresh_processes(fresh):
    names = sorted(_cases())
    rng = random.Random(20240611)
    order = [n for _ in range(12) for n in names]
    rng.shuffle(order)
    garbage = []
    for step, name in enumerate(order):
        got = _run(name)
        want = _as_arrays(fresh[name])
        assert len(got) == len(want), name
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape, name
            # the same operations in the same order: the same bits
            np.testing.assert_array_equal(g, w, err_msg=f"{name} (call {step})")
        # churn the allocator between calls: arrays and views of many sizes, some freed
        k = rng.randrange(1, 6)
        garbage.append([np.ones(rng.randrange(1, 20))[::2] for _ in range(k)])
        if len(garbage) > 7:
            del garbage[rng.randrange(len(garbage))]


def test_cases_are_right():
    # the reference results themselves, against closed forms
    x = _x4()
    (g,) = _run("getitem_after_owned")
    np.testing.assert_allclose(g, 3 * W4 + 3 + 2 * np.eye(4)[1] + 2 * W4, rtol=1e-15)
    (g,) = _run("residual_returned")
    np.testing.assert_allclose(g, 2 * K4 + 2 * W4 + K4 + 2 * np.array([1, 0, 1, 0]), rtol=1e-15)
    (g,) = _run("read_only_input")
    np.testing.assert_allclose(g, W4 + np.exp(x) * (1 + x) + 2 * np.sum(x), rtol=1e-15)
    gx, gy = _run("broadcasting")
    y = np.array([[0.5], [-1.5], [2.0]])
    z = x[None, :] * y
    np.testing.assert_allclose(gx, np.sum(np.cos(z) * y, 0) + 2 * x + np.sum(2 * z, 0), rtol=1e-14)
    np.testing.assert_allclose(
        gy, np.sum(np.cos(z) * x, 1, keepdims=True) + 2 * y + np.sum(x * x) * 1.0, rtol=1e-14
    )
    (h,) = _run("hessian_shared")
    want = np.diag(6 * x)
    want[1, 2] = want[2, 1] = 1.0
    np.testing.assert_allclose(h, want, rtol=1e-15)


def test_inputs_residuals_and_cotangents_are_never_written():
    before = _inputs_snapshot()
    k4 = K4.copy()
    w4 = W4.copy()
    for name in sorted(_cases()):
        _run(name)
        _run(name)
    np.testing.assert_array_equal(K4, k4)
    np.testing.assert_array_equal(W4, w4)
    for (name, old), (_, new) in zip(before, _inputs_snapshot()):
        for a, b in zip(old, new):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_read_only_arrays_everywhere():
    # every input, constant and cotangent read-only: an in-place add into any of them
    # would raise; the gradient is the one of writable arrays
    x = _read_only(_x4())
    k = _read_only(K4)

    @ad.custom_vjp
    def dot(u):
        return anp.sum(u * k)

    dot.defvjp(lambda u: (dot(u), None), lambda res, ct: (k if ct == 1.0 else ct * k,))

    def f(u):
        v = u * 2.0
        return dot(v) + dot(u) + anp.sum(v * W4) + v[1] + anp.sum(anp.concatenate([v, u]))

    want = 2 * K4 + K4 + 2 * W4 + 2 * np.eye(4)[1] + 3.0
    for _ in range(20):
        np.testing.assert_allclose(ad.grad(f)(x), want, rtol=1e-15)
        y, f_vjp = ad.vjp(lambda u: u * u + u[::-1] + u, x)
        ct = _read_only(np.linspace(1.0, 2.0, 4))
        (g,) = f_vjp(ct)
        np.testing.assert_allclose(g, 2 * x * ct + ct[::-1] + ct, rtol=1e-15)
    np.testing.assert_array_equal(k, K4)
    np.testing.assert_array_equal(x, _x4())
