"""Every public operation has a docstring, a derivative rule and a test entry."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import adgraph.numpy as anp
import adgraph.numpy.fft as afft
import adgraph.numpy.linalg as alinalg
import adgraph.scipy.special as aspecial
from adgraph.core.primitive import registry

NAMESPACES = {"numpy": anp, "linalg": alinalg, "fft": afft, "special": aspecial}

# Names in adgraph.numpy that are NumPy's own objects (dtypes, constants), not operations.
NOT_OPERATIONS = {
    "dtype",
    "finfo",
    "iinfo",
    "result_type",
    "promote_types",
    "can_cast",
    "issubdtype",
    "ndarray",
    "shape",
    "ndim",
    "size",
    "isscalar",
}


def public_functions():
    out = []
    for ns_name, ns in NAMESPACES.items():
        names = getattr(ns, "__all__", None) or [n for n in dir(ns) if not n.startswith("_")]
        for n in names:
            obj = getattr(ns, n, None)
            if obj is None or isinstance(obj, type) or not callable(obj):
                continue
            if ns_name == "numpy" and n in NOT_OPERATIONS:
                continue
            if getattr(obj, "__module__", "").startswith("numpy"):
                continue
            out.append((ns_name, n, obj))
    return out


def covered_names():
    import tests.ops as pkg

    names = set()
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("test_") and info.name != "test_completeness":
            mod = importlib.import_module(f"tests.ops.{info.name}")
            names |= set(getattr(mod, "COVERED", ()))
    import tests as top  # the tables of tests/test_numpy_*.py and tests/test_scipy_special*.py

    for info in pkgutil.iter_modules(top.__path__):
        if info.name.startswith(("test_numpy_", "test_scipy_special")):
            mod = importlib.import_module(f"tests.{info.name}")
            names |= set(getattr(mod, "COVERED", ()))
    return names


@pytest.mark.parametrize("ns,name,obj", public_functions(), ids=lambda v: str(v)[:40])
def test_has_docstring(ns, name, obj):
    assert obj.__doc__ and obj.__doc__.strip(), f"{ns}.{name} has no docstring"


def test_every_public_function_is_tested():
    covered = covered_names()
    missing = sorted(f"{ns}.{n}" for ns, n, _ in public_functions() if f"{ns}.{n}" not in covered)
    assert not missing, f"public functions without a test entry: {missing}"


@pytest.mark.parametrize("name", sorted(registry), ids=str)
def test_every_primitive_has_rules(name):
    p = registry[name]
    assert p.doc, f"primitive {name} has no docstring"
    if p.nondiff:
        return
    forward = (p.tangent, p.joint_tangent, p.jvp_rule)
    assert any(r is not None for r in forward), f"{name}: no forward rule"
    assert p.vjp is not None or p.joint_vjp is not None, f"{name}: no reverse rule"


def test_rule_kinds_are_named_not_told_apart_by_type():
    """A per-argument rule tuple and one rule for all arguments have different names; a
    single callable given where per-argument rules belong is refused at declaration."""
    from adgraph.core.primitive import Primitive

    def one_rule(*a):
        return None

    with pytest.raises(TypeError, match="joint_vjp"):
        Primitive("completeness_bad_vjp", lambda xp, x: x, vjp=one_rule)
    with pytest.raises(TypeError, match="joint_tangent"):
        Primitive("completeness_bad_tangent", lambda xp, x: x, tangent=one_rule)
    for p in registry.values():
        assert p.vjp is None or type(p.vjp) is tuple, p.name
        assert p.tangent is None or type(p.tangent) is tuple, p.name
        assert p.vjp is None or p.joint_vjp is None, f"{p.name}: two kinds of reverse rule"
