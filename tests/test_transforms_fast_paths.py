"""Fast paths of jacfwd and hessian (one real array argument, diagonal tangents, no pytrees)
give what the general path gives on the same inputs: the pytree path of the batched pass,
and vmap of jvp."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.api.transforms import _hessian, _jacfwd

rng = np.random.default_rng(7)
A = rng.standard_normal((5, 5))
x5 = rng.standard_normal(5)
x23 = rng.standard_normal((2, 3))


def _same(got, want):
    gl, gt = ad.tree_flatten(got)
    wl, wt = ad.tree_flatten(want)
    assert gt == wt
    for g, w in zip(gl, wl):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


CASES = {
    "array_out": (lambda x: anp.tanh(A @ anp.sin(x) * x) + anp.exp(-(x**2)), x5),
    "matrix_in": (lambda x: anp.sin(x) * x[0], x23),
    "scalar_out": (lambda x: anp.sum(x**3), x5),
    "tuple_out": (lambda x: (x * 2.0, anp.sum(x)), x5),
    "dict_out": (lambda x: {"a": x[1:], "b": anp.ones(2)}, x5),
    "constant_out": (lambda x: anp.ones(3), x5),
    "input_out": (lambda x: x, x23),
    "float32": (lambda x: anp.exp(x) * x, x5.astype(np.float32)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacfwd_array_fast_path_matches_pytree_and_vmap_paths(name):
    f, x = CASES[name]
    fast = _jacfwd(f)(x)
    # has_aux takes the pytree path of the same batched pass.
    pytree, aux = _jacfwd(lambda x: (f(x), 1.0), has_aux=True)(x)
    _same(fast, pytree)
    _same(fast, _jacfwd(f, batched_tangents=False)(x))


def test_jacfwd_fast_path_other_argnum_and_kwargs():
    def f(c, x, *, k):
        return anp.sin(x) * c + k * x**2

    got = ad.jacfwd(f, argnums=1)(3.0, x5, k=0.5)
    want = _jacfwd(f, argnums=1, batched_tangents=False)(3.0, x5, k=0.5)
    _same(got, want)
    np.testing.assert_allclose(got, np.diag(np.cos(x5) * 3.0 + x5), rtol=1e-14)


def test_hessian_fast_path_matches_general_path():
    x = rng.standard_normal(8)
    fast = _hessian(rosen)(x)
    _same(fast, _hessian(rosen, batched_tangents=False)(x))
    # closed form of the Rosenbrock Hessian
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    np.testing.assert_allclose(fast, H, rtol=1e-12, atol=1e-10)


def test_jacfwd_fast_path_escaped_tracer_and_errors():
    kept = []

    def f(x):
        kept.append(x)
        return x * 2.0

    ad.jacfwd(f)(x5)
    with pytest.raises(Exception, match="after its transformation returned"):
        kept[0] * 2.0
    with pytest.raises(TypeError, match="holomorphic"):
        ad.jacfwd(lambda z: z * 2.0)(x5.astype(complex))
    with pytest.raises(TypeError, match="dtype"):
        ad.jacfwd(lambda z: z * 2.0)(np.arange(3))


def test_reverse_level_dispatch_matches_vmap_of_grad():
    # grad taken with batched-tangent values: each reverse operation hands its values to
    # the batched level directly; vmap of the gradient's jvp gives the same numbers.
    def f(x):
        y = anp.where(x > 0, anp.log1p(x**2), anp.cos(x))
        return anp.sum(y * x[::-1]) + anp.max(x) * anp.mean(anp.exp(x))

    x = rng.standard_normal(6)
    _same(_hessian(f)(x), _hessian(f, batched_tangents=False)(x))
