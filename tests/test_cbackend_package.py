"""The C backend as a package: its C helpers ship as a real C file that every program can
use, the installed package finds that file, and its modules import in one direction (no
module of it imports ``adgraph.jit.api``, which builds on it).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import adgraph.numpy as anp
import adgraph.scipy.special as sps
from adgraph.jit import c as cpkg
from adgraph.jit.c import lower
from adgraph.jit.cbackend import c_source, compile_c, find_c_compiler

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "adgraph" / "jit" / "c"
CC = find_c_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")


# ============================================================================ helpers.c
def test_helpers_are_read_from_the_c_file_in_its_order():
    helpers = lower.helpers()
    text = (PKG / "helpers.c").read_text()
    # every helper of the file, in the file's order, and nothing else
    assert list(helpers) == [
        line.split()[2].rstrip(":") for line in text.splitlines() if line.startswith("/* @helper ")
    ]
    assert {"sign", "maximum", "divmod", "floor_divide", "lu", "polygamma"} <= set(helpers)
    assert helpers["floor_divide"][1] == ("divmod",)
    assert helpers["polygamma"][1] == ("polygamma_core",)
    # a helper's dependencies stand before it, so writing them in file order compiles
    order = list(helpers)
    for name, (_, needs) in helpers.items():
        assert all(order.index(d) < order.index(name) for d in needs), name
    code = lower.helper_code("floor_divide", np.float32)
    assert "adg_floor_dividef(float a, float b)" in code and "adg_divmodf(a, b, &m)" in code
    assert "real_t" not in code and "SFX" not in code


@needs_cc
def test_every_helper_compiles_for_float_and_double(tmp_path):
    parts = ["#include <math.h>", "#include <stdint.h>"]
    for name in lower.helpers():
        for dt in (np.float32, np.float64):
            if name.endswith("_core") and dt is np.float32:
                continue  # written in double, included once
            parts.append(lower.helper_code(name, dt))
    src = tmp_path / "all_helpers.c"
    src.write_text("\n\n".join(parts) + "\n")
    proc = subprocess.run(
        [*CC, "-std=c99", "-Wall", "-Werror", "-Wno-unused-function", "-fsyntax-only", str(src)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_program_includes_the_helpers_it_calls_with_their_dependencies():
    src = c_source(lambda x, y: anp.floor_divide(x, y), np.float32(7.0), np.float32(2.0))
    # divmod (needed by floor_divide) first, float versions only
    assert src.index("adg_divmodf(") < src.index("static inline float adg_floor_dividef(")
    assert "adg_remainder" not in src and "double adg_divmod(" not in src
    assert "real_t" not in src and "SFX" not in src
    src = c_source(lambda x: sps.polygamma(1, x), 1.5)
    assert "static double adg_polygamma_core(int n, double x)" in src


@needs_cc
def test_helpers_give_numpys_answers():
    # floor_divide and remainder through divmod, polygamma through its double core
    x = np.array([7.0, -7.0, 7.5, -0.0, np.inf, 3.0])
    y = np.array([2.0, 2.0, -2.0, 3.0, 2.0, 0.0])
    f = compile_c(lambda a, b: (anp.floor_divide(a, b), anp.mod(a, b)), 1.0, 1.0)
    with np.errstate(all="ignore"):
        q, r = f(x, y)
        np.testing.assert_array_equal(q, np.floor_divide(x, y))
        np.testing.assert_array_equal(r, np.mod(x, y))
        np.testing.assert_array_equal(np.signbit(r), np.signbit(np.mod(x, y)))
    g = compile_c(lambda t: sps.polygamma(1, t), 1.0)
    # trigamma(1) = pi^2 / 6, trigamma(1/2) = pi^2 / 2
    np.testing.assert_allclose(g(np.array([1.0, 0.5])), [np.pi**2 / 6, np.pi**2 / 2], rtol=1e-13)


# ============================================================================ packaging
def test_pyproject_ships_the_c_helpers():
    tomllib = pytest.importorskip("tomllib")

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "helpers.c" in conf["tool"]["setuptools"]["package-data"]["adgraph.jit.c"]


@needs_cc
def test_an_installed_wheel_finds_its_c_helpers(tmp_path):
    """Build a wheel of the package, unpack it alone on the path, and compile a program
    that needs a helper: the installed package reads helpers.c from its own files."""
    pytest.importorskip("setuptools")
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"),
    )
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, project / name)
    wheels = tmp_path / "wheels"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(project), "--no-deps"]
        + ["--no-build-isolation", "--no-cache-dir", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-500:]}")
    (wheel,) = wheels.glob("adgraph-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        assert "adgraph/jit/c/helpers.c" in z.namelist()
        z.extractall(site)
    code = (
        "import adgraph, numpy as np, adgraph.numpy as anp\n"
        "from adgraph.jit.cbackend import compile_c\n"
        f"assert adgraph.__file__.startswith({str(site)!r}), adgraph.__file__\n"
        "f = compile_c(lambda a, b: anp.mod(a, b), 1.0, 1.0)\n"
        "print(f(np.array([-7.0, 7.0]), np.array([2.0, -2.0])).tolist())\n"
        "print('adg_remainder' in f.source)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site), ADGRAPH_C_CACHE=str(tmp_path / "cache"))
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[1.0,", "-1.0]", "True"]


# ============================================================================ structure
def _imports(path: Path) -> set:
    """The adgraph modules ``path`` imports (at any depth of the file), absolute."""
    package = "adgraph." + ".".join(path.relative_to(ROOT / "src" / "adgraph").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("adgraph")}


def test_the_c_backend_never_imports_jit_api():
    files = sorted(PKG.glob("*.py"))
    assert {f.stem for f in files} >= {"lower", "rules", "toolchain", "cache", "runtime"}
    for f in files:
        imported = _imports(f)
        assert not any(m.startswith("adgraph.jit.api") for m in imported), (f.name, imported)


def test_the_c_backends_modules_import_in_one_direction():
    # module -> the modules of the package it imports; a depth-first walk finds any cycle
    graph = {
        f.stem: {
            m.split(".")[3]
            for m in _imports(f)
            if m.startswith("adgraph.jit.c.") and len(m.split(".")) > 3
        }
        - {f.stem}
        for f in PKG.glob("*.py")
    }
    done, path = set(), []

    def visit(m):
        assert m not in path, f"import cycle: {' -> '.join(path[path.index(m) :] + [m])}"
        if m in done or m not in graph:
            return
        path.append(m)
        for n in sorted(graph[m]):
            visit(n)
        path.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)
    assert "lower" in graph["frontend"] and "rules" in graph["lower"]


def test_public_names_are_one_object_under_both_paths():
    import adgraph.jit.cbackend as cb

    for name in cpkg.__all__:
        assert getattr(cb, name) is getattr(cpkg, name), name
    assert set(cpkg.__all__) <= set(cb.__all__)


def test_cache_limits_set_through_the_first_module_path_reach_the_cache(monkeypatch):
    import adgraph.jit.cbackend as cb
    from adgraph.jit.c import cache

    assert cb.CACHE_MAX_LIBRARIES == cache.CACHE_MAX_LIBRARIES == 256
    monkeypatch.setattr(cb, "CACHE_MAX_LIBRARIES", 7)
    assert cache.CACHE_MAX_LIBRARIES == 7 and cb.CACHE_MAX_LIBRARIES == 7
    cache.CACHE_MAX_BYTES = 12345
    try:
        assert cb.CACHE_MAX_BYTES == 12345
    finally:
        cache.CACHE_MAX_BYTES = 256 * 2**20
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cb.nope  # noqa: B018
