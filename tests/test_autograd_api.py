"""adgraph.autograd's names behave as autograd's: argument conventions, extension forms,
vector spaces, builtins that see through traced values, and NumPy names without a rule."""

from __future__ import annotations

import numpy as onp
import pytest

import adgraph.autograd as ag
import adgraph.autograd.numpy as np
from adgraph.autograd import extend
from adgraph.autograd.misc import flatten_func
from adgraph.autograd.test_util import check_grads, combo_check
from adgraph.autograd.tracer import getval, isbox
from adgraph.autograd.wrap_util import unary_to_nary

x3 = onp.array([0.3, -1.2, 0.7])


def test_argnum_may_be_a_list_and_names_follow_autograd():
    g = ag.grad(lambda a, b: np.sum(a * b), [0, 1])
    ga, gb = g(x3, 2 * x3)
    onp.testing.assert_array_equal(ga, 2 * x3)
    onp.testing.assert_array_equal(gb, x3)

    def loss(w):
        return np.sum(w**2)

    assert ag.grad(loss).__name__ == "grad_of_loss_wrt_argnum_0"
    assert ag.jacobian(loss, 0).__name__ == "jacobian_of_loss_wrt_argnum_0"
    with pytest.raises(TypeError, match="argnum must be an int"):
        ag.grad(loss, "w")


def test_elementwise_grad_refuses_a_complex_output():
    with pytest.raises(TypeError, match="complex"):
        ag.elementwise_grad(lambda z: z * 2j)(onp.array([1.0, 2.0]))


def test_tensor_jacobian_product_over_the_leading_axes():
    f = lambda w: np.outer(w, w) * 2.0  # noqa: E731
    v = onp.array([1.0, -2.0, 0.5])
    # a tensor with fewer axes than the output contracts the leading ones
    got = ag.tensor_jacobian_product(f)(x3, v)
    want = 2.0 * (onp.outer(x3, v) + (v @ x3) * onp.eye(3))
    onp.testing.assert_allclose(got, want, rtol=1e-14)
    full = ag.tensor_jacobian_product(f)(x3, onp.ones((3, 3)))
    onp.testing.assert_allclose(full, 4.0 * onp.sum(x3) * onp.ones(3), rtol=1e-14)


def test_defvjp_none_is_a_zero_and_missing_is_refused():
    @extend.primitive
    def f(a, b):
        return a * b

    extend.defvjp(f, lambda ans, a, b: lambda g: g * b, None)
    assert ag.grad(lambda b: f(3.0, b))(2.0) == 0.0  # None: a zero derivative
    assert ag.grad(lambda a: f(a, 2.0))(3.0) == 2.0

    @extend.primitive
    def h(a, b):
        return a * b

    extend.defvjp(h, lambda ans, a, b: lambda g: g * b)
    with pytest.raises(NotImplementedError, match=r"VJP of h .*argument\(s\) \[1\]"):
        ag.grad(lambda b: h(3.0, b))(2.0)


def test_argnums_forms_and_same():
    @extend.primitive
    def f(a, b):
        return a * b

    def vjps(argnums, ans, args, kwargs):
        a, b = args
        return lambda g: tuple(g * (b if i == 0 else a) for i in argnums)

    def jvps(argnums, gs, ans, args, kwargs):
        a, b = args
        return sum(g * (b if i == 0 else a) for i, g in zip(argnums, gs))

    extend.defvjp_argnums(f, vjps)
    extend.defjvp_argnums(f, jvps)
    assert ag.grad(f, (0, 1))(3.0, 2.0) == (2.0, 3.0)
    assert ag.deriv(lambda t: f(t, t))(1.5) == pytest.approx(3.0)
    check_grads(lambda a, b: f(a, b) ** 2, (0, 1), order=2)(0.7, -1.3)

    @extend.primitive
    def triple(a):
        return 3.0 * a

    extend.defjvp(triple, "same")
    assert ag.deriv(triple)(2.0) == 3.0
    assert ag.grad(triple)(2.0) == 3.0  # reverse mode transposes the linear rule


def test_bad_rules_are_refused():
    @extend.primitive
    def f(a):
        return a

    with pytest.raises(TypeError, match="rule for argument 0"):
        extend.defjvp(f, "linear")
    with pytest.raises(TypeError, match="not a primitive"):
        extend.defvjp(lambda a: a, None)
    with pytest.raises(NotImplementedError, match="has no rule"):
        ag.grad(f)(1.0)


def test_vspace():
    vs = extend.vspace(x3)
    assert vs.shape == (3,) and vs.size == 3 and not vs.iscomplex
    onp.testing.assert_array_equal(vs.zeros(), onp.zeros(3))
    basis = list(vs.standard_basis())
    onp.testing.assert_array_equal(onp.stack(basis), onp.eye(3))
    tree = extend.vspace({"a": 1.0 + 2.0j, "b": onp.ones((2, 2))})
    # the real dimension, as autograd counts it: the complex entry counts twice
    assert tree.size == 6 and tree.iscomplex
    assert len(list(tree.standard_basis())) == 2 + 4
    assert extend.vspace(onp.zeros(2, complex)).ones().tolist() == [1 + 1j, 1 + 1j]
    assert extend.vspace(x3) == extend.vspace(onp.zeros(3))
    assert vs.inner_prod(x3, x3) == pytest.approx(onp.sum(x3**2))
    with pytest.raises(TypeError, match="int64"):
        extend.vspace(onp.arange(3))


def test_builtins_see_through_traced_values():
    def f(x):
        assert ag.isinstance(x, onp.ndarray) and ag.type(x) is onp.ndarray
        assert isbox(x) and not isbox(getval(x))
        onp.testing.assert_array_equal(getval(x), x3)
        return np.sum(x**2)

    onp.testing.assert_allclose(ag.grad(f)(x3), 2 * x3)
    assert ag.type("C", (), {}).__name__ == "C"  # three arguments make a class


def test_numpy_names_adgraph_lacks_are_numpy_and_refuse_derivatives():
    assert np.float64 is onp.float64 and np.pi == onp.pi
    import adgraph.numpy as anp

    candidates = ("asarray_chkfinite", "asfortranarray", "require", "resize", "array_repr")
    missing = [n for n in candidates if not hasattr(anp, n)]
    if not missing:
        pytest.skip("adgraph.numpy provides all of these now")
    name = missing[0]
    fun = getattr(np, name)
    with pytest.raises(NotImplementedError, match=f"numpy.{name} has no derivative"):
        ag.grad(lambda x: np.sum(fun(x) if name != "resize" else fun(x, 4)))(onp.ones(4))
    with pytest.raises(AttributeError):
        np.not_a_numpy_name  # noqa: B018


def test_flatten_func_flattens_the_output_too():
    def f(params, scale):
        return {"w": params["w"] * scale, "b": params["b"] + 1.0}

    example = {"w": onp.ones((2, 2)), "b": onp.zeros(3)}
    flat_f, unflatten, flat_ex = flatten_func(f, example)
    out = flat_f(flat_ex, 2.0)
    assert out.shape == (7,)
    onp.testing.assert_array_equal(out, onp.concatenate([onp.ones(3), 2 * onp.ones(4)]))


def test_unary_to_nary_and_combo_check():
    @unary_to_nary
    def double_grad(f, x):
        return 2.0 * ag.grad(f)(x)

    g = double_grad(lambda a, b: a * b**2, 1)
    assert g(3.0, 2.0) == 24.0
    assert g.__name__ == "double_grad_of_<lambda>_wrt_argnum_1"
    calls = []

    def f(x, y, k=1.0):
        calls.append(1)
        return np.sin(x) * y * k

    combo_check(f, [0, 1], order=1)([0.1, 0.5], [1.0, -2.0], k=[1.0, 3.0])
    assert len(calls) > 8  # every combination was checked


def test_scipy_linalg_under_autograd_names():
    import adgraph.autograd.scipy as sp

    A = onp.array([[2.0, 0.5], [0.1, 1.0]])
    g = ag.grad(lambda a: np.sum(sp.linalg.expm(a)))(A)
    eps = 1e-6
    sl = pytest.importorskip("scipy.linalg")
    E = onp.zeros_like(A)
    E[0, 1] = eps
    fd = (onp.sum(sl.expm(A + E)) - onp.sum(sl.expm(A - E))) / (2 * eps)
    assert g[0, 1] == pytest.approx(fd, rel=1e-6)


def test_signal_convolve_is_autograds_tensor_convolution():
    from adgraph.autograd.scipy.signal import convolve

    sps = pytest.importorskip("scipy.signal")
    rs = onp.random.RandomState(0)
    a, b = rs.randn(6, 5), rs.randn(3, 2)
    for mode in ("full", "valid", "same"):
        onp.testing.assert_allclose(
            convolve(a, b, mode=mode), sps.convolve(a, b, mode=mode), rtol=1e-12
        )
    # 'same' keeps A's length, with the kernel longer or shorter than A
    for n, k in ((7, 3), (4, 4), (3, 6), (6, 2)):
        x, w = rs.randn(n), rs.randn(k)
        onp.testing.assert_allclose(
            convolve(x, w, mode="same"), sps.convolve(x, w, mode="same"), rtol=1e-12
        )
    # a convolutional layer: images (n, c, h, w) with filters (c, k, fh, fw) -> (n, k, h', w')
    images, filters = rs.randn(2, 3, 6, 5), rs.randn(3, 4, 3, 2)
    out = convolve(images, filters, axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid")
    want = onp.zeros((2, 4, 4, 4))
    for n in range(2):
        for k in range(4):
            for c in range(3):
                want[n, k] += sps.convolve(images[n, c], filters[c, k], mode="valid")
    onp.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-13)
    layer = lambda f: np.sum(  # noqa: E731
        np.tanh(convolve(images, f, axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid"))
    )
    check_grads(layer, modes=["fwd", "rev"], order=1)(filters)
    with pytest.raises(ValueError, match="at least as long"):
        convolve(onp.ones((5, 2)), onp.ones((2, 5)), mode="valid")
    with pytest.raises(ValueError, match="mode"):
        convolve(a, b, mode="circular")


def test_core_unary_operations_and_array_box():
    from adgraph.autograd.core import make_jvp, make_vjp
    from adgraph.autograd.numpy.numpy_boxes import ArrayBox

    vjp, ans = make_vjp(np.sin, x3)
    onp.testing.assert_allclose(ans, onp.sin(x3), rtol=1e-15)
    onp.testing.assert_allclose(vjp(onp.ones(3)), onp.cos(x3), rtol=1e-15)
    value, tangent = make_jvp(np.exp, x3)(onp.ones(3))
    onp.testing.assert_allclose(tangent, onp.exp(x3), rtol=1e-15)
    seen = []
    ag.grad(lambda x: seen.append(isinstance(x, ArrayBox)) or np.sum(x))(x3)
    assert seen == [True] and not isinstance(x3, ArrayBox)
