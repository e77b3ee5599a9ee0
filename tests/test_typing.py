"""The public API is typed: every public function and class of the user-facing modules
carries type hints, the package ships ``py.typed``, and mypy finds no error in them."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The modules whose names users call (adgraph.numpy's functions follow NumPy's signatures
# and are documented there).
PUBLIC = [
    "adgraph",
    "adgraph.api",
    "adgraph.jit",
    "adgraph.graph",
    "adgraph.backends",
    "adgraph.nn",
    "adgraph.optim",
    "adgraph.test_util",
    "adgraph.classes",
]


def _public_callables():
    seen = set()
    for modname in PUBLIC:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if id(obj) in seen or not callable(obj) or inspect.ismodule(obj):
                continue
            if not getattr(obj, "__module__", "").startswith("adgraph"):
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # exceptions take a message, as every exception does
            seen.add(id(obj))
            yield f"{modname}.{name}", obj


def _unannotated(obj) -> list[str]:
    """The parameters (and 'return') of ``obj``'s signature without a hint."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and target is object.__init__:
        return []
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty
    ]
    if not inspect.isclass(obj) and sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_public_functions_and_classes_have_type_hints():
    bad = {name: m for name, obj in _public_callables() if (m := _unannotated(obj))}
    assert not bad, "public callables without type hints: " + "; ".join(
        f"{k} ({', '.join(v)})" for k, v in sorted(bad.items())
    )


def test_the_package_says_it_is_typed():
    assert (ROOT / "src" / "adgraph" / "py.typed").exists()
    assert '"adgraph" = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()


def _source_path(modname: str) -> str:
    """The path mypy is given for module ``modname``: a package's folder (the top-level
    package: its ``__init__.py`` alone), else the module's file."""
    parts = modname.split(".")
    base = ROOT / "src" / Path(*parts)
    if len(parts) == 1:
        return f"src/{parts[0]}/__init__.py"
    rel = "src/" + "/".join(parts)
    return rel if base.is_dir() else rel + ".py"


def test_mypy_is_configured_for_every_public_module():
    # The [tool.mypy] files list and PUBLIC name the same modules, so a module added to
    # one is checked (or listed) in the other too.
    text = (ROOT / "pyproject.toml").read_text()
    config = text[text.index("[tool.mypy]") :]
    config = config[: config.index("]", config.index("files = ["))]
    listed = {line.strip().strip('",') for line in config.splitlines()[1:]} - {""}
    listed = {p for p in listed if p.startswith("src/")}
    assert listed == {_source_path(m) for m in PUBLIC}


@pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is not installed (pip install -e '.[test]')",
)
def test_mypy_finds_no_error_in_the_public_modules():
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
