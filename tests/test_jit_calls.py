"""The call path of a jitted function: plain arguments (Python floats, NumPy arrays) find
the program compiled for them without flattening or converting anything else, and select
exactly the programs the general path selects."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit import api


def _f(a, b):
    return a * b + b - anp.log(a)


@pytest.mark.parametrize("compiler", ["python", "c"])
def test_floats_and_float64_scalars_share_one_program(compiler):
    if compiler == "c":
        from adgraph.jit.cbackend import find_c_compiler

        if find_c_compiler() is None:
            pytest.skip("no C compiler")
    g = ad.jit(ad.grad(_f, argnums=(0, 1)), compiler=compiler)
    da, db = g(2.0, 4.0)
    # d/da = b - 1/a, d/db = a + 1
    assert (da, db) == (4.0 - 0.5, 3.0)
    assert type(da) is np.float64
    assert g(np.float64(2.0), 4.0) == (da, db)  # the general path: the same program
    assert g(2.0, np.float64(4.0)) == (da, db)
    assert g.trace_count == 1
    # a 0-d array or an int is another signature (as before): traced again
    g(np.array(2.0), 4.0)
    assert g.trace_count == 2


def test_arrays_share_programs_with_the_general_path(monkeypatch):
    x = np.linspace(0.1, 1.0, 5)
    h = ad.jit(ad.grad(lambda x: anp.sum(anp.sin(x) * x)))
    want = np.cos(x) * x + np.sin(x)
    np.testing.assert_allclose(h(x), want, rtol=1e-15)
    assert h.trace_count == 1
    monkeypatch.setattr(api, "_plain_key", lambda args: (None, None))
    np.testing.assert_allclose(h(x), want, rtol=1e-15)  # the general path finds it
    assert h.trace_count == 1
    monkeypatch.undo()
    h(x.astype(np.float32))  # another dtype: another program
    assert h.trace_count == 2


def test_plain_key_is_the_general_key():
    x = np.ones((2, 3), np.float32)
    key, leaves = api._plain_key((1.5, x))
    assert type(leaves[0]) is np.float64 and leaves[1] is x
    from adgraph.core.pytree import tree_flatten
    from adgraph.core.xp import as_leaf
    from adgraph.jit.program import signature

    ls, tree = tree_flatten((1.5, x))
    assert key == (tree, signature([as_leaf(v, "jit") for v in ls]), ())
    # anything else: the general path
    for args in ((1,), (np.float64(1.0),), ([1.0],), (np.ma.ones(3),), ({"a": 1.0},)):
        assert api._plain_key(args) == (None, None)


def test_closures_over_traced_values_still_refuse_the_compiled_program():
    # the closure check runs on the plain path too: a jitted function closing over a
    # value traced by grad differentiates through it
    def outer(c):
        inner = ad.jit(lambda x: x * c)
        return inner(2.0)

    assert ad.grad(outer)(3.0) == 2.0


def test_bad_arguments_are_refused_as_before():
    g = ad.jit(lambda x: x + 1.0)
    with pytest.raises(TypeError, match="numeric"):
        g(np.array(["a"]))
