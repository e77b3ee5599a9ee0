"""jacfwd and hessian push all basis tangents through one batched JVP trace (the fast path);
``vmap`` of ``jvp`` (the general path) must give the same numbers, dtypes and shapes."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as special
from adgraph.api.forward import _hessian, _jacfwd
from adgraph.core.trace import EscapedTracerError

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 4))
B = rng.standard_normal((3, 4, 4))
M23 = rng.standard_normal((2, 3))


def _same(got, want, tol=1e-12):
    gl, gt = ad.tree_flatten(got)
    wl, wt = ad.tree_flatten(want)
    assert gt == wt
    for g, w in zip(gl, wl):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def _both(make, f, *args, tol=1e-12, **kw):
    fast = make(f, **kw, batched_tangents=True)(*args)
    _same(fast, make(f, **kw, batched_tangents=False)(*args), tol)


x4 = rng.standard_normal(4)
x23 = rng.standard_normal((2, 3))
x3 = rng.standard_normal(3)

FUNCTIONS = {
    # elementwise, unary and binary, with broadcasting against constants and each other
    "unary": (lambda x: anp.tanh(anp.sin(x) * anp.exp(-(x**2))) + anp.log1p(x**2), x4),
    "sqrt_abs_div": (lambda x: anp.sqrt(anp.abs(x) + 1.0) / (2.0 + x), x23),
    "broadcast_const": (lambda x: x * M23 + M23 - x, x3),
    "broadcast_self": (lambda x: x[:, None] * x[None, :] + anp.maximum(x, 0.1), x3),
    "where_clip": (lambda x: anp.where(x > 0, x**3, anp.clip(x, -0.5, 0.5)), x4),
    "power": (lambda x: (x**2 + 1.0) ** anp.cos(x), x4),
    "scalar_out": (lambda x: anp.sum(x**2), x4),
    "constant_out": (lambda x: (x, anp.ones(3)), x4),
    # products
    "matvec": (lambda x: anp.tanh(A @ anp.sin(x) * x), x4),
    "vecmat": (lambda x: x @ A + A.T @ x, x4),
    "dot": (lambda x: x @ x, x4),
    "matmat": (lambda x: x @ x.T @ M23, x23),
    "stacked": (lambda x: B @ anp.reshape(x, (4, 1)), x4),
    "einsum": (lambda x: anp.einsum("ij,jk->ik", x, x.T), x23),
    # reductions
    "sum_axis": (lambda x: anp.sum(x * x, axis=0) + anp.mean(x, axis=0, keepdims=True), x23),
    "max_prod": (lambda x: anp.max(x, axis=1) * anp.prod(x + 2.0, axis=0)[:2], x23),
    "logsumexp_var": (lambda x: anp.var(x) + special.logsumexp(x), x4),
    "cumsum": (lambda x: anp.cumsum(x * x), x4),
    # indexing, slicing and scatters
    "slices": (lambda x: x[1:] - x[:-1] ** 2 + x[::2].sum(), x4),
    "ints_ellipsis_none": (lambda x: x[..., 1, None] * x[0, None] + x[1, ::-1], x23),
    "advanced": (lambda x: x[np.array([0, 2, 2])] * x[[1, 0, 3]], x4),
    "mask": (lambda x: x[np.array([True, False, True, True])] ** 2, x4),
    "at_add_set": (lambda x: x.at[1:3].add(x[:2] ** 2).at[0].set(x[3]), x4),
    "at_advanced": (lambda x: anp.scatter_add(anp.zeros(5), np.array([0, 0, 4]), x[:3]), x4),
    # shapes
    "reshape_transpose": (lambda x: anp.reshape(x, (3, 2)).T @ anp.ones(3), x23),
    "concat_stack": (lambda x: anp.concatenate([x, anp.sin(x)]) * anp.stack([x, x]).sum(0)[0], x4),
    "broadcast_to": (lambda x: anp.broadcast_to(x, (2, 4)) * anp.arange(2.0)[:, None], x4),
    # linear algebra
    "solve_inv_det": (
        lambda x: anp.linalg.solve(A + anp.diag(x), x) + anp.linalg.det(A + anp.diag(x)),
        x4,
    ),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jacfwd_fast_path_equals_vmap_of_jvp(name):
    f, x = FUNCTIONS[name]
    _both(_jacfwd, f, x)


@pytest.mark.parametrize("name", ["unary", "broadcast_self", "matvec", "slices", "at_add_set"])
def test_hessian_fast_path_equals_general(name):
    f, x = FUNCTIONS[name]
    _both(_hessian, lambda x: anp.sum(f(x) ** 2), x)


def test_rosenbrock_hessian_closed_form():
    x = rng.standard_normal(6)
    r = lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)  # noqa: E731
    h = ad.hessian(r)(x)
    n = len(x)
    want = np.zeros((n, n))
    for i in range(n - 1):
        want[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        want[i + 1, i + 1] += 200
        want[i, i + 1] += -400 * x[i]
        want[i + 1, i] += -400 * x[i]
    np.testing.assert_allclose(h, want, rtol=1e-12, atol=1e-9)


def test_float32_stays_float32():
    x = x4.astype(np.float32)
    f = lambda x: anp.tanh(A.astype(np.float32) @ x) * 2.0 + x**2  # noqa: E731
    j = ad.jacfwd(f)(x)
    assert j.dtype == np.float32
    _both(_jacfwd, f, x, tol=1e-5)
    h = ad.hessian(lambda x: anp.sum(f(x)))(x)
    assert h.dtype == np.float32


def test_complex_holomorphic():
    z = (x4 + 1j * x4[::-1]).astype(complex)
    f = lambda z: anp.exp(z) * (A @ z) + z**3  # noqa: E731
    _both(_jacfwd, f, z, holomorphic=True)
    j = ad.jacfwd(f, holomorphic=True)(z)
    # d/dz_k of exp(z_i) (A z)_i + z_i^3
    want = np.diag(np.exp(z) * (A @ z) + 3 * z**2) + np.exp(z)[:, None] * A
    np.testing.assert_allclose(j, want, rtol=1e-12)


def test_complex_real_parts():
    f = lambda x: anp.real(anp.exp(1j * x) * (1 + 2j)) + anp.abs(x + 1j * x[::-1])  # noqa: E731
    _both(_jacfwd, f, x4)


def test_pytrees_argnums_and_aux():
    def f(a, b, c):
        return {"u": a["p"] * b[0] + anp.sum(c), "v": (b[1] @ a["q"].T, a["p"] ** 2)}, c * 2

    a = {"p": x3, "q": x23}
    b = (x3 + 1.0, M23)
    for argnums in (0, (0, 1), (1, 2)):
        _both(_jacfwd, f, a, b, x4, argnums=argnums, has_aux=True)


def test_custom_rules_and_checkpoint():
    @ad.custom_jvp
    def soft(x):
        return anp.log1p(anp.exp(x))

    @soft.defjvp
    def soft_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return soft(x), t * special.expit(x)

    @ad.custom_vjp
    def cube(x):
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, ct: (3 * x**2 * ct,))
    f = lambda x: soft(x) * ad.checkpoint(lambda y: anp.sin(y) * y)(x) + cube(x)  # noqa: E731
    # jacfwd of the custom_vjp is refused (it has no forward rule); hessian is
    # forward-over-reverse, so the reverse rule is differentiated
    _both(_jacfwd, lambda x: soft(x) * ad.checkpoint(lambda y: anp.sin(y) * y)(x), x4)
    with pytest.raises(NotImplementedError, match="custom_vjp 'cube'"):
        _jacfwd(f)(x4)
    _both(_hessian, lambda x: anp.sum(f(x)), x4)


def test_higher_order():
    f = lambda x: anp.sum(anp.sin(x) * anp.roll(x, 1) ** 2)  # noqa: E731
    want = _hessian(f, batched_tangents=False)
    np.testing.assert_allclose(ad.jacfwd(ad.grad(f))(x4), want(x4), rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(ad.jacfwd(f))(x4), want(x4), rtol=1e-12)
    np.testing.assert_allclose(ad.jacrev(ad.jacfwd(f))(x4), want(x4), rtol=1e-12, atol=1e-12)
    # hessian of hessian: the fourth derivative tensor of a separable function
    g = lambda x: anp.sum(x**4)  # noqa: E731
    hh = ad.hessian(lambda x: anp.sum(ad.hessian(g)(x)))(x4)
    np.testing.assert_allclose(hh, np.diag(np.full(4, 24.0)), atol=1e-12)
    # grad of a function built from jacfwd (reverse over the batched forward pass)
    k = lambda x: anp.sum(ad.jacfwd(lambda y: anp.sin(y) * y[0])(x) ** 2)  # noqa: E731
    eps = 1e-6
    fd = np.array([(k(x4 + eps * e) - k(x4 - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(ad.grad(k)(x4), fd, rtol=1e-6, atol=1e-8)


def test_inside_vmap_and_jit():
    f = lambda x: anp.tanh(A @ x) * x  # noqa: E731
    xs = rng.standard_normal((3, 4))
    got = ad.vmap(ad.jacfwd(f))(xs)
    want = np.stack([_jacfwd(f, batched_tangents=False)(x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(ad.jit(ad.jacfwd(f))(xs[0]), want[0], rtol=1e-12)


def test_escaped_tracer_is_refused():
    kept = []

    def f(x):
        kept.append(x)
        return x * 2

    ad.jacfwd(f)(x4)
    with pytest.raises(EscapedTracerError):
        anp.sin(kept[0])


def test_infinite_derivatives_give_the_same_numbers():
    # sqrt at 0 has an infinite derivative: the dense basis gives 0 * inf = nan off the
    # diagonal; the diagonal tangents must give the same numbers (nan included).
    x = np.array([0.0, 1.0, 4.0, 2.0])
    for f in (
        lambda x: anp.sqrt(x) * 2.0,
        lambda x: A @ anp.sqrt(x),
        lambda x: A @ x + anp.sqrt(x),
        lambda x: anp.sqrt(x) * anp.sin(x) + x,
    ):
        with np.errstate(all="ignore"):
            fast = _jacfwd(f)(x)
            ref = _jacfwd(f, batched_tangents=False)(x)
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(ref))
        np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-12)


def test_diagonal_tangents_mixed_with_dense_ones():
    # elementwise chains (diagonal), a matrix-vector product of one (dense), their sums
    # and products, a broadcast to a larger shape, and a reduction of a diagonal one
    fs = [
        lambda x: anp.tanh(A @ anp.sin(x) * x) + anp.exp(-(x**2)),
        lambda x: (x @ A) * anp.cos(x) - x,
        lambda x: anp.exp(x) * M23[:, :1] + anp.sum(anp.log1p(x**2)),
        lambda x: anp.where(x > 0, anp.sin(x), x * 3.0) / (A @ x + 10.0),
        lambda x: (x.astype(np.float32) * 2.0).astype(np.float64) + anp.real(x * (1 + 1j)),
    ]
    for f in fs:
        _both(_jacfwd, f, x4)
        _both(_hessian, lambda x, f=f: anp.sum(f(x) ** 2), x4)


def test_hand_written_elementwise_tangents_are_declared():
    # their tangent rules act on each element of t: the batched pass applies them to the
    # whole batch of tangents directly (declared beside each primitive)
    from adgraph.core.primitive import registry

    names = ["add", "subtract", "multiply", "divide", "negative", "abs", "real", "imag"]
    names += ["conj", "angle", "copysign", "where", "convert_element_type", "sin", "exp"]
    assert all(registry[n].tangent_elementwise for n in names)
    assert not registry["matmul"].tangent_elementwise
    assert not registry["reduce_sum"].tangent_elementwise
