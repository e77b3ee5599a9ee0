"""The C backend's library cache and its fallback without a compiler.

The cache folder is private (created 0700 whatever the umask; a folder someone else owns
or may write is refused with a warning and a private temporary one is used); a library is
loaded only if its SHA-256 is the one recorded when it was built, so a planted, truncated
or corrupt file is rebuilt, never loaded; the cache is trimmed to a bound, least recently
used first. Without a C compiler, ``compile_c`` and ``jit(compiler="c")`` run the Python
backend and give the compiled version's results, shapes and dtypes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.pytree import tree_flatten
from adgraph.jit import cbackend
from adgraph.jit.c import cache as ccache
from adgraph.jit.c import frontend, toolchain
from adgraph.jit.cbackend import (
    CCacheWarning,
    CCompilerWarning,
    CFallbackFunction,
    CFunction,
    compile_c,
    find_c_compiler,
)

CC = find_c_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty private cache folder, and no library loaded yet in this process."""
    d = tmp_path / "cache"
    monkeypatch.setenv("ADGRAPH_C_CACHE", str(d))
    monkeypatch.setattr(ccache, "_loaded", {})
    monkeypatch.setattr(ccache, "_refused", set())
    return d


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _library_path(fun, example, folder):
    """Where compile_c(fun, example) keeps its library in ``folder``."""
    graph, _, _ = frontend._trace(fun, (example,), (), fun.__name__)
    kernel = cbackend.lower_to_c(graph, name=fun.__name__)
    return kernel, folder / toolchain.library_name(kernel, CC, toolchain.compiler_flags(False, ()))


def _plant(kernel, path, value):
    """A shared library with ``kernel``'s function that writes ``value`` to every output:
    what someone who can write the cache folder would leave there."""
    c = path.parent / "planted.c"
    c.write_text(
        f"void {kernel.name}(long n, const long* s, const double* in0, double* out0)\n"
        f"{{ for (long i = 0; i < n; ++i) out0[i] = {value!r}; }}\n"
    )
    subprocess.run([*CC, "-O1", "-fPIC", "-shared", "-o", str(path), str(c)], check=True)
    c.unlink()


# ============================================================================ the folder
def test_default_folder_is_the_xdg_cache_made_private_under_umask_000(tmp_path, monkeypatch):
    monkeypatch.delenv("ADGRAPH_C_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    old = os.umask(0)
    try:
        d = cbackend.cache_dir()
    finally:
        os.umask(old)
    assert d == str(tmp_path / "xdg" / "adgraph" / "c")
    for p in (tmp_path / "xdg", tmp_path / "xdg" / "adgraph", tmp_path / "xdg" / "adgraph" / "c"):
        assert _mode(p) == 0o700, (p, oct(_mode(p)))


def test_without_xdg_the_folder_is_under_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("ADGRAPH_C_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    d = cbackend.cache_dir()
    assert d == str(tmp_path / ".cache" / "adgraph" / "c")
    assert _mode(d) == 0o700
    # a relative XDG_CACHE_HOME is invalid (XDG spec) and ignored
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cbackend.cache_dir() == d


def test_override_folder_is_created_0700_under_umask_000(cache):
    old = os.umask(0)
    try:
        assert cbackend.cache_dir() == str(cache)
    finally:
        os.umask(old)
    assert _mode(cache) == 0o700


@needs_cc
def test_world_writable_folder_is_refused_and_its_library_never_loaded(cache):
    def f_shared(x):
        return x * 3.0 + 0.015625

    cache.mkdir()
    os.chmod(cache, 0o777)
    # Someone who may write the folder planted a library, with a matching record.
    kernel, so = _library_path(f_shared, 2.0, cache)
    _plant(kernel, so, 3e6)
    (cache / (so.name + ".sha256")).write_text(ccache._sha256(str(so)) + "  x\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf = compile_c(f_shared, 2.0)
        compile_c(lambda x: x - 0.5, 1.0)  # warned once per folder
    assert [w.category for w in caught] == [CCacheWarning]
    msg = str(caught[0].message)
    assert str(cache) in msg and "others may write" in msg and "ADGRAPH_C_CACHE" in msg
    assert cf(2.0) == 6.015625
    private = os.path.dirname(cf.library)
    assert private != str(cache) and _mode(private) == 0o700


@needs_cc
def test_folder_owned_by_someone_else_is_refused(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(cache, 4321, 4321)
    else:
        monkeypatch.setattr(ccache, "_uid", lambda: os.getuid() + 1)
    with pytest.warns(CCacheWarning, match="owned by user id"):
        cf = compile_c(lambda x: x * 2.5, 2.0)
    assert cf(2.0) == 5.0
    assert os.path.dirname(cf.library) != str(cache)


def test_a_file_in_place_of_the_folder_is_refused(cache):
    cache.write_text("not a folder")
    with pytest.warns(CCacheWarning, match="not a folder"):
        d = cbackend.cache_dir()
    assert os.path.isdir(d) and _mode(d) == 0o700


# ============================================================================ integrity
@needs_cc
def test_planted_library_in_the_private_cache_is_not_loaded(cache):
    def f_planted(x):
        return x * 3.0 + 0.0078125

    cbackend.cache_dir()  # the private folder
    kernel, so = _library_path(f_planted, 2.0, cache)
    _plant(kernel, so, 3e6)
    cf = compile_c(f_planted, 2.0)  # no record of this file: rebuilt
    assert cf(2.0) == 6.0078125
    assert ccache._sha256(str(so)) == ccache._recorded_sha256(str(so))

    # planted again over the recorded library: its content is not what was built
    _plant(kernel, so, 3e6)
    ccache._loaded.clear()
    assert compile_c(f_planted, 5.0)(np.array([1.0, 2.0])).tolist() == [3.0078125, 6.0078125]


@needs_cc
@pytest.mark.parametrize("damage", ["truncated", "corrupt", "empty", "record"])
def test_damaged_library_is_rebuilt_not_an_oserror(cache, damage):
    def f_damaged(x):
        return anp.exp(x) * 0.001953125

    cf = compile_c(f_damaged, 1.0)
    so = cf.library
    data = open(so, "rb").read()
    tmp = so + ".damaged"
    if damage == "record":
        open(so + ".sha256", "w").write("0" * 64 + "\n")
    else:
        bad = {
            "truncated": data[: len(data) // 2],
            "corrupt": data[:64] + bytes(b ^ 0xFF for b in data[64:128]) + data[128:],
            "empty": b"",
        }[damage]
        with open(tmp, "wb") as fh:
            fh.write(bad)
        os.replace(tmp, so)  # as another process would leave it
    ccache._loaded.clear()
    again = compile_c(f_damaged, 1.0)
    assert again.library == so
    np.testing.assert_allclose(again(np.array([0.0, 1.0])), np.exp([0.0, 1.0]) * 0.001953125)
    assert ccache._sha256(so) == ccache._recorded_sha256(so)


# ============================================================================ eviction
def _libraries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".so"))


@needs_cc
def test_cache_keeps_the_most_recently_used_libraries(cache, monkeypatch):
    monkeypatch.setattr(cbackend, "CACHE_MAX_LIBRARIES", 3)
    cbackend.cache_dir()
    (cache / "notes.txt").write_text("not the cache's")
    (cache / "mine.so").write_text("not the cache's either")
    old = 1_000_000_000
    os.utime(cache / "notes.txt", (old, old))

    funs = []
    for k in range(5):
        c = 1.0 + k / 64

        def f(x, c=c):
            return x * c

        f.__name__ = f"f_evict{k}"
        funs.append(f)
    libs = {}
    for k, f in enumerate(funs[:3]):
        libs[k] = compile_c(f, 1.0).library
        os.utime(libs[k], (old + k, old + k))  # build order, without waiting for the clock
    # a new process uses f_evict0 from the cache: it becomes the most recently used
    ccache._loaded.clear()
    assert compile_c(funs[0], 1.0).library == libs[0]
    libs[3] = compile_c(funs[3], 1.0).library  # evicts f_evict1, the least recently used
    names = _libraries(cache)
    assert len([n for n in names if n.startswith("adg_")]) == 3
    assert os.path.basename(libs[1]) not in names
    assert {os.path.basename(libs[k]) for k in (0, 2, 3)} <= set(names)
    assert not os.path.exists(libs[1] + ".sha256")
    # files the cache did not make are left alone
    assert (cache / "notes.txt").exists() and (cache / "mine.so").exists()
    # an evicted library is simply built again
    ccache._loaded.clear()
    assert compile_c(funs[1], 1.0)(2.0) == 2.0 * (1 + 1 / 64)


@needs_cc
def test_cache_size_in_bytes_is_bounded(cache, monkeypatch):
    first = compile_c(lambda x: x * 1.25, 1.0).library
    size = os.path.getsize(first)
    monkeypatch.setattr(cbackend, "CACHE_MAX_BYTES", 2 * size + size // 2)
    for k in range(4):
        compile_c(lambda x, k=k: x * (2.0 + k), 1.0)
    total = sum(os.path.getsize(cache / n) for n in _libraries(cache))
    assert len(_libraries(cache)) == 2 and total <= cbackend.CACHE_MAX_BYTES


# ============================================================================ no compiler
@pytest.fixture
def no_compiler(tmp_path, monkeypatch):
    """No C compiler to be found: no $CC, and a PATH with nothing on it."""

    def use():
        monkeypatch.delenv("CC", raising=False)
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        assert find_c_compiler() is None

    return use


def _same(a, b):
    """Equal results of the same type, shape and dtype."""
    assert type(a) is type(b), (type(a), type(b))
    assert np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14)


def _f(x):
    return anp.sin(x) * x


def _law(x, v):
    return {"y": x * v + anp.exp(-x), "n": anp.sum(v * v) * x, "c": 2.0}


def _run_all():
    """Calls whose results the compiled and the fallback version must share."""
    x = np.linspace(0.1, 1.0, 4)
    v = np.array([1.0, -2.0, 0.5])
    g = compile_c(ad.grad(_f), 1.0)
    law = compile_c(_law, 1.0, v)
    jf = ad.jit(_f, compiler="c")
    jl = ad.jit(_law, compiler="c")
    return [
        compile_c(_f, 1.0)(1.0),
        compile_c(_f, 1.0)(np.float64(0.5)),
        compile_c(_f, 1.0)(x),
        g(1.0),
        g(x),
        law(1.5, v),
        law(x, v),
        law(x, np.stack([v] * 4)),
        jf(1.0),
        jf(np.float64(2.0)),
        jl(1.5, v),
        ad.jit(ad.grad(_f), compiler="c")(0.75),
    ]


def _flat(results):
    return tree_flatten(results)[0]


def test_without_a_compiler_the_fallback_gives_the_compiled_results(no_compiler):
    compiled = _run_all() if CC is not None else None
    no_compiler()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = _run_all()
        f1 = compile_c(_f, 1.0)
    assert caught and all(w.category is CCompilerWarning for w in caught)
    assert isinstance(f1, CFallbackFunction) and f1.backend == "python"
    # the numbers, against eager evaluation
    x = np.linspace(0.1, 1.0, 4)
    assert type(fallback[0]) is np.float64 and fallback[0] == np.sin(1.0) * 1.0
    np.testing.assert_allclose(fallback[2], np.sin(x) * x, rtol=1e-15)
    np.testing.assert_allclose(fallback[4], np.cos(x) * x + np.sin(x), rtol=1e-15)
    assert fallback[3] == ad.grad(_f)(1.0) and fallback[11] == ad.grad(_f)(0.75)
    assert fallback[7]["c"].shape == (4,) and fallback[7]["y"].shape == (4, 3)
    if compiled is not None:
        for a, b in zip(_flat(compiled), _flat(fallback), strict=True):
            _same(b, a)
        assert tree_flatten(compiled)[1] == tree_flatten(fallback)[1]


def test_without_a_compiler_jit_c_warns_and_composes(no_compiler):
    no_compiler()
    jf = ad.jit(_f, compiler="c")
    with pytest.warns(CCompilerWarning, match="no C compiler"):
        assert jf(1.25) == _f(1.25)
    # traced calls use the Python backend; the compiled fallback still serves plain calls
    assert ad.grad(jf)(1.25) == ad.grad(_f)(1.25)
    out = np.empty(3)
    with pytest.warns(CCompilerWarning):
        f = compile_c(_f, 1.0)
    assert f(np.array([0.0, 1.0, 2.0]), out=out) is out
    np.testing.assert_allclose(out, np.sin([0.0, 1.0, 2.0]) * [0.0, 1.0, 2.0])


@needs_cc
def test_compiled_one_point_result_is_a_scalar():
    r = compile_c(_f, 1.0)(1.0)
    assert type(r) is np.float64 and isinstance(compile_c(_f, 1.0), CFunction)


@needs_cc
def test_processes_building_one_library_at_once_all_get_it(cache):
    cbackend.cache_dir()
    script = (
        "import sys\n"
        "import adgraph.numpy as anp\n"
        "from adgraph.jit.cbackend import compile_c\n"
        "def f_race(x):\n"
        "    return anp.sqrt(x) * 0.125 + anp.log1p(x)\n"
        "print(repr(float(compile_c(f_race, 1.0)(4.0))))\n"
    )
    env = dict(os.environ, ADGRAPH_C_CACHE=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert float(out) == np.sqrt(4.0) * 0.125 + np.log1p(4.0)
    libs = [n for n in _libraries(cache) if n.startswith("adg_f_race_")]
    assert len(libs) == 1
    assert ccache._sha256(str(cache / libs[0])) == ccache._recorded_sha256(str(cache / libs[0]))
    assert not [n for n in os.listdir(cache) if n.endswith((".c", ".tmp"))]
