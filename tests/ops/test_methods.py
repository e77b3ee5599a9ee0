"""Operators, array methods and NumPy's protocols on traced values (adgraph.ops.methods)."""

from __future__ import annotations

import types

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
import adgraph.numpy.linalg as alinalg
import adgraph.scipy.special as aspecial
from adgraph.ops import methods


def _adgraph_functions(ns):
    """The functions adgraph defines in a namespace (not NumPy's re-exported names)."""
    return {
        n: f
        for n, f in vars(ns).items()
        if not n.startswith("_")
        and isinstance(f, types.FunctionType)
        and f.__module__.startswith("adgraph.")
    }


@pytest.mark.parametrize(
    "table, ns",
    [
        (methods._NUMPY, anp),
        (methods._SUBMODULES["linalg"], alinalg),
        (methods._SUBMODULES["fft"], afft),
        (methods._SPECIAL, aspecial),
    ],
    ids=["numpy", "linalg", "fft", "special"],
)
def test_tables_are_the_user_namespaces(table, ns):
    # np.f(tracer) runs the function the user namespace calls f, and nothing else.
    for name, f in table.items():
        assert getattr(ns, name) is f, name
    # answered from the shape alone (see below); np.isscalar does not dispatch at all
    queries = {"shape", "ndim", "size", "isscalar"}
    missing = set(_adgraph_functions(ns)) - set(table) - queries
    assert not missing, f"functions of {ns.__name__} that NumPy's protocols miss: {missing}"


def test_numpy_functions_and_ufuncs_on_traced_values():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])

    def f(x):
        return np.sum(np.sin(x) * x) + np.linalg.det(x) + np.sum(np.fft.fft(x).real)

    g = ad.grad(f)(x)
    det_grad = np.linalg.det(x) * np.linalg.inv(x).T
    fft_grad = np.array([[2.0, 0.0], [2.0, 0.0]])  # sum(Re fft(x, axis=-1)) = 2 x[..., 0]
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x) + det_grad + fft_grad)


def test_scipy_special_ufuncs_on_traced_values():
    special = pytest.importorskip("scipy.special")
    x = np.array([0.3, -1.2, 2.0])
    s = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(special.expit(x)))(x), s * (1 - s))


def test_methods_and_operators():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    f = lambda x: (x.T @ x).sum() + (-x).max() + abs(x).mean() + divmod(x, 4.0)[1].sum()  # noqa: E731
    rows = x.sum(axis=1, keepdims=True)  # sum(X^T X) = sum over rows of (row sum)^2
    want = 2 * np.broadcast_to(rows, x.shape) + 1.0 / 6 + 1.0
    want = want + np.where(x == x.min(), -1.0, 0.0)
    np.testing.assert_allclose(ad.grad(f)(x), want)


def test_shape_and_dtype_queries_of_traced_values():
    # np.result_type(tracer) used to recurse until RecursionError; np.shape and friends
    # must give the logical shape, also under vmap (where the stored array has a batch axis).
    seen = []

    def f(x):
        seen.append(
            (
                np.shape(x),
                np.ndim(x),
                np.size(x),
                np.size(x, 1),
                np.result_type(x, np.float32),
                np.can_cast(x, np.float32),
            )
        )
        return anp.sum(x * x)

    x = np.ones((3, 2), dtype=np.float32)
    ad.grad(f)(x)
    ad.vmap(f)(np.ones((5, 3, 2), dtype=np.float32))
    assert seen == [((3, 2), 2, 6, 2, np.float32, True)] * 2


def test_numpy_function_without_counterpart_is_refused_by_name():
    with pytest.raises(
        TypeError, match=r"numpy\.array2string was called on a traced value.*custom_vjp"
    ):
        ad.grad(lambda x: np.sum(len(np.array2string(x))))(np.ones(3))
    with pytest.raises(TypeError, match=r"ufunc isnat .*no adgraph counterpart"):
        ad.grad(lambda x: np.sum(np.isnat(x)))(np.ones(3))
