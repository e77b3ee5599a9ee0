"""docs/numpy_status.md is generated from the code and up to date; adgraph.numpy covers at
least 97% of NumPy's in-scope main namespace; every function the table calls
differentiable (or without derivative) has an entry in the derivative-checking tables."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph.numpy as anp
from adgraph.numpy import _status
from tests.ops.test_completeness import covered_names

PREFIX = {"numpy": "numpy", "numpy.linalg": "linalg", "numpy.fft": "fft"}
SHAPE_QUERIES = {"shape", "ndim", "size", "isscalar"}  # tested below


def test_status_file_is_up_to_date():
    text = _status.DOC.read_text(encoding="utf-8")
    if f"(NumPy {np.__version__})" not in text:
        pytest.skip("docs/numpy_status.md lists another NumPy version's names")
    assert text == _status.render(), (
        "docs/numpy_status.md is stale: run python -m adgraph.numpy._status --write"
    )


def test_coverage_of_the_main_namespace():
    rows = _status.status_rows()
    provided, total = _status.coverage(rows, "numpy")
    assert total > 400  # the in-scope namespace is NumPy's, not a short list
    assert provided / total >= 0.97, f"{provided}/{total}"
    unreviewed = [f"{ns}.{n}" for ns, n, _, note in rows if note == _status.UNREVIEWED]
    assert not unreviewed, f"give these a status or a reason: {unreviewed}"
    for ns in ["numpy.linalg", "numpy.fft"]:
        provided, total = _status.coverage(rows, ns)
        assert provided == total, ns


def test_every_claimed_function_is_in_a_checking_table():
    covered = covered_names()
    kinds = (_status.DIFF, _status.NODIFF, _status.CONST)
    unchecked = [
        f"{ns}.{name}"
        for ns, name, kind, note in _status.status_rows()
        if kind == "provided"
        and note in kinds
        and f"{PREFIX[ns]}.{name}" not in covered
        and name not in SHAPE_QUERIES
    ]
    assert not unchecked, f"no test-table entry for {unchecked}"


def test_the_lists_name_real_numpy_names():
    public = {n for n in dir(np) if not n.startswith("_")} | {
        n for n in dir(np.linalg) if not n.startswith("_")
    }
    stale = (set(_status.NOT_PROVIDED) | _status.NO_DERIVATIVE | _status.CONSTANTS) - public
    for names in _status.OUT_OF_SCOPE.values():
        stale |= set(names) - public - {"version"}
    assert not stale, stale
    for name in _status.NOT_PROVIDED:
        assert not hasattr(anp, name), f"{name} is provided now: take it off NOT_PROVIDED"


def test_no_derivative_functions_give_integer_or_boolean_results():
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]])
    for name, args in {
        "equal": (x, x), "isnan": (x,), "argmax": (x,), "argsort": (x,), "nonzero": (x,),
        "searchsorted": (np.sort(x[0]), x[1]), "digitize": (x, np.array([0.0, 1.0])),
        "isin": (x, [0.5]), "count_nonzero": (x,), "argpartition": (x[0], 1),
        "lexsort": (x,), "signbit": (x,), "allclose": (x, x),
    }.items():  # fmt: skip
        assert name in _status.NO_DERIVATIVE
        out = getattr(anp, name)(*args)
        for o in out if isinstance(out, tuple) else [out]:
            assert np.asarray(o).dtype.kind in "iub", name


def test_shape_queries():
    x = np.ones((2, 3))
    assert anp.shape(x) == (2, 3) and anp.ndim(x) == 2 and anp.size(x) == 6
    assert anp.size(x, 1) == 3 and anp.shape([[1, 2]]) == (1, 2)
    assert anp.isscalar(1.0) and not anp.isscalar(x)
