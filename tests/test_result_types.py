"""One rule for every transformation: the derivative of a scalar (Python float or NumPy
scalar) comes back as a NumPy scalar (``np.float64``), as NumPy's own reductions return;
an array's as an array."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp


def f(x):
    return anp.sin(x) * x


def _d1(x):
    return np.cos(x) * x + np.sin(x)


def _d2(x):
    return 2 * np.cos(x) - x * np.sin(x)


CASES = [
    ("grad", lambda: ad.grad(f)(1.5), _d1(1.5)),
    ("value_and_grad", lambda: ad.value_and_grad(f)(1.5)[1], _d1(1.5)),
    ("jvp", lambda: ad.jvp(f, (1.5,), (1.0,))[1], _d1(1.5)),
    ("vjp", lambda: ad.vjp(f, 1.5)[1](1.0)[0], _d1(1.5)),
    ("linearize", lambda: ad.linearize(f, 1.5)[1](1.0), _d1(1.5)),
    ("jacfwd", lambda: ad.jacfwd(f)(1.5), _d1(1.5)),
    ("jacrev", lambda: ad.jacrev(f)(1.5), _d1(1.5)),
    ("hessian", lambda: ad.hessian(f)(1.5), _d2(1.5)),
    ("jit(grad)", lambda: ad.jit(ad.grad(f))(1.5), _d1(1.5)),
    ("jit(hessian)", lambda: ad.jit(ad.hessian(f))(1.5), _d2(1.5)),
    ("jit(jacfwd)", lambda: ad.jit(ad.jacfwd(f))(1.5), _d1(1.5)),
]


@pytest.mark.parametrize("name, run, expected", CASES, ids=[c[0] for c in CASES])
def test_scalar_in_numpy_scalar_out(name, run, expected):
    r = run()
    assert type(r) is np.float64, f"{name} gave {type(r).__name__}"
    assert np.isclose(r, expected, rtol=1e-13)


def test_array_in_array_out():
    x = np.array([0.5, 1.5])
    for r in (ad.grad(lambda x: anp.sum(f(x)))(x), ad.jacfwd(f)(x), ad.jacrev(f)(x)):
        assert type(r) is np.ndarray
    h = ad.hessian(lambda x: anp.sum(f(x)))(x)
    assert type(h) is np.ndarray and np.allclose(h, np.diag(_d2(x)))


def test_make_source_names_the_function_after_what_it_computes():
    def f(x):
        return anp.sin(x) * x

    for transform, name in (
        (ad.hessian, "hessian_f"),
        (ad.jacfwd, "jacfwd_f"),
        (ad.jacrev, "jacrev_f"),
    ):
        src = ad.make_source(transform(f), 1.0)
        assert f"def {name}(x):" in src
