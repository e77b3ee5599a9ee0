"""Fast paths of the transformations give what their general paths give on the same inputs:
jacfwd and hessian (one real array argument, diagonal tangents, no pytrees) against the
pytree path of the batched pass and vmap of jvp; value_and_grad's float arguments and
float64 results against the pytree path and the general sweep; linearize's replay of the
recorded tape against jvp and finite differences."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad.linearize import replay_order
from adgraph.ad.reverse import ReverseTrace
from adgraph.api.forward import _hessian, _jacfwd
from adgraph.core.trace import trace_scope

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


# ------------------------------------------------------------------ value_and_grad, vjp, jacrev
def article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


def test_grad_of_floats_matches_pytree_and_array_paths():
    # Python floats skip the pytree walk and np.float64 results take the scalar sweep; a
    # tuple argument, 0-d arrays and vjp take the general ones. Closed form:
    # d/dx1 = x2 - 1/x1, d/dx2 = x1 + 1.
    want = (4.0 - 0.5, 3.0)
    v, g = ad.value_and_grad(article, argnums=(0, 1))(2.0, 4.0)
    assert v == 2.0 * 4.0 + 4.0 - np.log(2.0)
    assert g == want and all(type(a) is np.float64 for a in g)
    assert ad.grad(lambda p: article(*p))((2.0, 4.0)) == want
    assert ad.grad(lambda p: article(p["a"], p["b"]))({"a": 2.0, "b": 4.0}) == dict(
        a=want[0], b=want[1]
    )
    g0 = ad.grad(article, argnums=(0, 1))(np.array(2.0), np.array(4.0))
    assert [float(a) for a in g0] == list(want)
    out, pull = ad.vjp(article, 2.0, 4.0)
    assert out == v and pull(1.0) == want
    # one argument of several, named from either end
    assert ad.grad(article, argnums=1)(2.0, 4.0) == want[1]
    assert ad.grad(article, argnums=-2)(2.0, 4.0) == want[0]


def test_value_and_grad_resolves_argnums_per_argument_count():
    f = ad.value_and_grad(lambda *xs: sum(x * x for x in xs), argnums=(0, -1))
    assert f(1.0, 2.0)[1] == (2.0, 4.0)
    assert f(1.0, 2.0, 3.0)[1] == (2.0, 6.0)  # -1 is the third argument now
    with pytest.raises(ValueError, match="names an argument twice"):
        f(1.0)  # 0 and -1 are the same argument for one
    assert f(5.0, 7.0)[1] == (10.0, 14.0)  # the two-argument resolution is unharmed


def test_grad_with_aux_and_holomorphic_through_the_shared_core():
    (v, aux), g = ad.value_and_grad(lambda x: (anp.sum(x**2), x * 3.0), has_aux=True)(x5)
    np.testing.assert_allclose(g, 2 * x5, rtol=1e-15)
    np.testing.assert_allclose(aux, 3.0 * x5, rtol=1e-15)
    assert type(aux) is np.ndarray  # aux leaves leave the tape as plain values
    z = 1.0 + 2.0j
    assert ad.grad(lambda z: z**3, holomorphic=True)(z) == 3 * z**2
    with pytest.raises(TypeError, match="holomorphic=True needs complex inputs"):
        ad.grad(lambda z: z**3, holomorphic=True)(1.0)


def test_jacrev_of_one_pytree_argument_matches_jacfwd():
    def f(p, c):
        return {"u": anp.sin(p["x"]) * p["y"][0] * c, "v": anp.sum(p["x"] ** 2)}

    p = {"x": x5, "y": (np.array(0.5), 2.0)}
    rev = ad.jacrev(f)(p, 3.0)
    fwd = ad.jacfwd(f)(p, 3.0)
    _same(rev, fwd)
    np.testing.assert_allclose(rev["u"]["x"], np.diag(np.cos(x5) * 0.5 * 3.0), rtol=1e-14)
    np.testing.assert_allclose(rev["v"]["y"][0], 0.0)
    # a scalar output: one sweep, the gradient is the Jacobian
    _same(ad.jacrev(lambda p: anp.sum(p["x"] ** 3))(p), {"x": 3 * x5**2, "y": (0.0, 0.0)})


# ------------------------------------------------------------------ linearize
def _fd_jvp(f, xs, ts, h=1e-6):
    up = f(*[x + h * t for x, t in zip(xs, ts)])
    down = f(*[x - h * t for x, t in zip(xs, ts)])
    return ad.tree_map(lambda a, b: (np.asarray(a) - np.asarray(b)) / (2 * h), up, down)


LINEARIZE = {
    # pieces of a multiple-result primitive, one of them unused
    "split": (lambda x, y: anp.split(x * y, [2, 4])[0] * anp.split(x, [2, 4])[2][:2], 2),
    # one value consumed along several paths (a diamond)
    "diamond": (lambda x, y: (lambda u: anp.sin(u) * anp.cos(u) + u**2)(x * y[0]), 2),
    # outputs that are inputs, or do not depend on them
    "passthrough": (lambda x, y: (x, anp.ones(3), anp.exp(y)), 2),
    "slogdet": (lambda x, y: anp.linalg.slogdet(anp.outer(x[:3], y[:3]) + anp.eye(3))[1], 2),
}


@pytest.mark.parametrize("name", sorted(LINEARIZE))
def test_linearize_replay_matches_jvp_and_finite_differences(name):
    f, _ = LINEARIZE[name]
    x, y = x5, rng.standard_normal(5)
    tx, ty = rng.standard_normal(5), rng.standard_normal(5)
    out, f_jvp = ad.linearize(f, x, y)
    want_out, want_t = ad.jvp(f, (x, y), (tx, ty))
    _same(out, want_out)
    got = f_jvp(tx, ty)
    _same(got, want_t)
    for g, w in zip(ad.tree_flatten(got)[0], ad.tree_flatten(_fd_jvp(f, (x, y), (tx, ty)))[0]):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    # the map is linear in the tangents: twice the tangent, twice the result
    for g, w in zip(ad.tree_flatten(f_jvp(2 * tx, 2 * ty))[0], ad.tree_flatten(got)[0]):
        np.testing.assert_allclose(g, 2 * np.asarray(w), rtol=1e-14)


def test_linearize_integer_input_and_nesting():
    n = np.int64(3)
    out, f_jvp = ad.linearize(lambda x, k: x**k, 2.0, n)
    assert out == 8.0 and f_jvp(1.0, np.int64(0)) == 12.0
    # linearize of a gradient: the Hessian-vector product of the Rosenbrock function
    x, v = rng.standard_normal(6), rng.standard_normal(6)
    _, hv = ad.linearize(ad.grad(rosen), x)
    np.testing.assert_allclose(hv(v), _hessian(rosen)(x) @ v, rtol=1e-12, atol=1e-12)


def test_replay_order_is_topological_and_visits_each_node_once():
    trace = ReverseTrace(keep=True)
    with trace_scope(trace):
        a, b = trace.new_input(x5), trace.new_input(x5 + 1.0)
        u = a * b
        outs = [anp.sin(u) + u, anp.cos(u) * a, u]
    order = replay_order([o.node for o in outs])
    assert all(n.prim is not None for n in order)  # inputs are not replayed
    assert len(order) == len(set(order)) == 5  # mul, sin, add, cos, mul
    place = {n: k for k, n in enumerate(order)}
    for n in order:
        for p in n.parents:
            if p is not None and p.prim is not None:
                assert place[p] < place[n]


# ------------------------------------------------------------------ names
def test_api_names_and_the_former_module():
    import adgraph.api
    import adgraph.api.transforms as former

    assert adgraph.api.__all__ == [
        *former.__all__,
        "custom_jvp",
        "custom_vjp",
        "checkpoint",
        "remat",
        "jet",
        "derivative",
        "taylor",
    ]
    assert former.__all__ == [
        "grad",
        "value_and_grad",
        "jvp",
        "vjp",
        "linearize",
        "jacfwd",
        "jacrev",
        "hessian",
        "hvp",
        "vmap",
        "stop_gradient",
    ]
    for name in adgraph.api.__all__:
        assert getattr(ad, name) is getattr(adgraph.api, name)
    for name in former.__all__:
        assert getattr(former, name) is getattr(ad, name)
