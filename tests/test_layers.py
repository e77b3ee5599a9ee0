"""The layers of the package hold: no module imports from a layer above its own.

Every module under ``src/adgraph`` is parsed (ast) and each of its imports of an adgraph
module — at the top, inside a function, or through ``importlib.import_module`` with a
literal name — is checked against the layer table below (docs/architecture.md draws it).
A module may import from its own layer and the layers below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "adgraph"

# Lowest first. A package path names every module under it.
LAYERS: list[tuple[str, ...]] = [
    ("core", "classes", "datasets", "tree_util"),  # tree_util: core.pytree under JAX's names
    ("ad",),
    ("ops",),
    ("numpy",),
    # lax's loop rules run the body's own jvp/vjp/vmap (api's)
    ("api", "lax", "debug", "flatten_util"),
    ("scipy",),  # scipy.integrate (odeint) and scipy.sparse.linalg (cg) are built on api and lax
    ("graph", "jit", "backends", "expr"),
    ("nn", "optim", "compare", "test_util", "autograd"),  # autograd: the api under autograd's names
    ("__init__",),  # the public face: ``import adgraph as ad``
    ("examples",),
    ("cli", "__main__"),
]


def _layer_of(parts: tuple[str, ...]) -> int:
    """The layer of the adgraph module with dotted path ``parts`` (after 'adgraph')."""
    if not parts:
        parts = ("__init__",)  # the package itself
    for k, names in enumerate(LAYERS):
        if parts[0] in names:
            return k
    raise AssertionError(f"adgraph.{'.'.join(parts)} is in no layer: add it to LAYERS")


def _module_parts(path: Path) -> tuple[str, ...]:
    rel = path.relative_to(SRC).with_suffix("")
    parts = rel.parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return parts


def _imports(path: Path):
    """(line, dotted target after 'adgraph') for each adgraph import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    mod = _module_parts(path)
    package = mod if path.name == "__init__.py" else mod[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = (*base, *(node.module.split(".") if node.module else ()))
                if node.module is None:  # from . import a, b: a name may be a module
                    for alias in node.names:
                        sub = (*target, alias.name)
                        is_module = (
                            SRC.joinpath(*sub).with_suffix(".py").exists()
                            or SRC.joinpath(*sub).is_dir()
                        )
                        yield node.lineno, sub if is_module else target
                    continue
                yield node.lineno, target
            elif node.module and node.module.split(".")[0] == "adgraph":
                yield node.lineno, tuple(node.module.split(".")[1:])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "adgraph":
                    yield node.lineno, tuple(alias.name.split(".")[1:])
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("import_module", "__import__") and node.args:
                a = node.args[0]
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    if a.value.split(".")[0] == "adgraph":
                        yield node.lineno, tuple(a.value.split(".")[1:])


def _violations():
    out = []
    for path in sorted(SRC.rglob("*.py")):
        here = _module_parts(path)
        mine = _layer_of(here if path.name != "__init__.py" or len(here) else ("__init__",))
        if path == SRC / "__init__.py":
            mine = _layer_of(("__init__",))
        for line, target in _imports(path):
            theirs = _layer_of(target)
            if theirs > mine:
                out.append(
                    f"{path.relative_to(SRC.parent)}:{line} imports adgraph."
                    f"{'.'.join(target)} (layer {theirs}) from layer {mine}"
                )
    return out


def test_every_module_is_in_a_layer():
    for path in SRC.rglob("*.py"):
        _layer_of(_module_parts(path) or ("__init__",))


def test_no_import_crosses_a_layer_upward():
    bad = _violations()
    assert not bad, "imports that cross a layer upward:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "source, crosses",
    [
        ("from ..api import grad\n", True),  # ops -> api
        ("from ..core.trace import Tracer\n", False),  # ops -> core
        ("import importlib\nimportlib.import_module('adgraph.numpy')\n", True),
        ("def f():\n    from adgraph.jit import jit\n", True),  # inside a function too
    ],
)
def test_the_check_sees_upward_imports(tmp_path, monkeypatch, source, crosses):
    """The checker itself: a planted upward import in an ops module is reported."""
    fake = tmp_path / "adgraph"
    (fake / "ops").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "ops" / "__init__.py").write_text("")
    (fake / "ops" / "planted.py").write_text(source)
    monkeypatch.setattr(__import__(__name__), "SRC", fake, raising=False)
    global SRC
    saved, SRC = SRC, fake
    try:
        found = _violations()
    finally:
        SRC = saved
    assert bool(found) is crosses, found


def test_examples_use_public_names_only():
    """The worked examples are what users copy: they import adgraph's public modules, never
    the engine's internals (core, ad, ops)."""
    internal = {"core", "ad", "ops"}
    bad = []
    for path in sorted((SRC / "examples").rglob("*.py")):
        for line, target in _imports(path):
            if target and target[0] in internal:
                bad.append(
                    f"{path.relative_to(SRC.parent)}:{line} imports adgraph.{'.'.join(target)}"
                )
    assert not bad, "examples importing internals:\n" + "\n".join(bad)
