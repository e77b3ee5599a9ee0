"""adgraph.autograd: autograd's API on adgraph, checked against closed forms, finite
differences and two programs written the way autograd's published examples are."""

from __future__ import annotations

import numpy as onp
import pytest

import adgraph.autograd as autograd
import adgraph.autograd.numpy as np
import adgraph.autograd.numpy.random as npr
from adgraph.autograd import (
    deriv,
    elementwise_grad,
    grad,
    grad_and_aux,
    grad_named,
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    holomorphic_grad,
    jacobian,
    make_ggnvp,
    make_hvp,
    make_jvp,
    make_vjp,
    multigrad_dict,
    tensor_jacobian_product,
    value_and_grad,
)
from adgraph.autograd.extend import (
    def_linear,
    defjvp,
    defjvp_argnum,
    defvjp,
    defvjp_argnum,
    notrace_primitive,
    primitive,
)
from adgraph.autograd.misc import flatten, flatten_func
from adgraph.autograd.misc.optimizers import adam, rmsprop, sgd
from adgraph.autograd.scipy.special import logsumexp
from adgraph.autograd.scipy.stats import norm
from adgraph.autograd.test_util import check_grads
from adgraph.test_util import GradCheckError


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of scalar f at array x."""
    x = onp.asarray(x, dtype=float)
    g = onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        e = onp.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


X = onp.array([0.3, -1.2, 2.0])


def test_grad_argnum_and_kwargs():
    f = lambda x, y, c=1.0: c * np.sum(np.sin(x) * y)  # noqa: E731
    onp.testing.assert_allclose(grad(f)(X, 2.0, c=3.0), 6.0 * onp.cos(X))
    onp.testing.assert_allclose(grad(f, 1)(X, 2.0, c=3.0), 3.0 * onp.sin(X).sum())
    gx, gy = grad(f, (0, 1))(X, 2.0)
    onp.testing.assert_allclose(gx, 2.0 * onp.cos(X))
    onp.testing.assert_allclose(gy, onp.sin(X).sum())


def test_grad_of_a_one_element_output_as_autograd():
    onp.testing.assert_allclose(grad(lambda x: x * onp.ones((1, 1)))(2.0), 1.0)
    with pytest.raises(TypeError, match="scalar output"):
        grad(lambda x: x * onp.ones(2))(2.0)


def test_value_and_grad_and_aux():
    v, g = value_and_grad(lambda x: np.sum(x**3))(X)
    onp.testing.assert_allclose(v, (X**3).sum())
    onp.testing.assert_allclose(g, 3 * X**2)
    v1, _ = value_and_grad(lambda x: x * onp.ones(1))(2.0)
    assert onp.shape(v1) == (1,)  # the value is returned as the function gave it
    g, aux = grad_and_aux(lambda x: (np.sum(x**2), "aux"))(X)
    onp.testing.assert_allclose(g, 2 * X)
    assert aux == "aux"


def test_elementwise_grad_and_deriv():
    onp.testing.assert_allclose(elementwise_grad(np.tanh)(X), 1 - onp.tanh(X) ** 2)
    onp.testing.assert_allclose(deriv(np.tanh)(X), 1 - onp.tanh(X) ** 2)
    # a non-elementwise function: the sum over outputs of the Jacobian's columns
    A = onp.arange(6.0).reshape(2, 3)
    onp.testing.assert_allclose(elementwise_grad(lambda x: A @ x)(X), A.sum(0))


def test_jacobian_and_hessian_shapes_and_values():
    A = onp.arange(6.0).reshape(2, 3)
    J = jacobian(lambda x: np.tanh(A @ x))(X)
    assert J.shape == (2, 3)
    onp.testing.assert_allclose(J, (1 - onp.tanh(A @ X) ** 2)[:, None] * A)
    assert jacobian(lambda x: x * onp.ones((2, 2)))(1.5).shape == (2, 2)
    assert jacobian(lambda m: m.T)(onp.ones((2, 3))).shape == (3, 2, 2, 3)
    H = hessian(lambda x: np.sum(x**3))(X)
    onp.testing.assert_allclose(H, onp.diag(6 * X))
    assert hessian(lambda x: x**3)(X).shape == (3, 3, 3)


def test_products():
    f = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    v = onp.array([1.0, 0.5, -2.0])
    H = onp.diag(2 * onp.cos(X) - X * onp.sin(X))
    onp.testing.assert_allclose(hessian_vector_product(f)(X, v), H @ v)
    onp.testing.assert_allclose(hessian_tensor_product(f)(X, v), H @ v)
    hvp, g = make_hvp(f)(X)
    onp.testing.assert_allclose(hvp(v), H @ v)
    onp.testing.assert_allclose(g, onp.sin(X) + X * onp.cos(X))
    A = onp.arange(6.0).reshape(2, 3)
    onp.testing.assert_allclose(tensor_jacobian_product(lambda x: A @ x)(X, onp.ones(2)), A.sum(0))
    vjp, ans = make_vjp(lambda x: A @ x)(X)
    onp.testing.assert_allclose(ans, A @ X)
    onp.testing.assert_allclose(vjp(onp.array([1.0, -1.0])), A[0] - A[1])
    ans, t = make_jvp(lambda x: A @ x)(X)(v)
    onp.testing.assert_allclose(t, A @ v)
    # Gauss-Newton: J^T H_g J v with g = half the sum of squares, so H_g = I
    ggnvp = make_ggnvp(lambda x: np.tanh(A @ x))(X)
    J = (1 - onp.tanh(A @ X) ** 2)[:, None] * A
    onp.testing.assert_allclose(ggnvp(v), J.T @ J @ v)


def test_holomorphic_named_and_dict():
    onp.testing.assert_allclose(holomorphic_grad(lambda z: z**2)(1.0 + 2.0j), 2.0 + 4.0j)
    f = lambda a, b=2.0: a * b**2  # noqa: E731
    onp.testing.assert_allclose(grad_named(f, "b")(3.0, b=2.0), 12.0)
    onp.testing.assert_allclose(grad_named(f, "b")(3.0, 2.0), 12.0)
    d = multigrad_dict(f)(3.0, 2.0)
    assert list(d) == ["a", "b"]
    onp.testing.assert_allclose([d["a"], d["b"]], [4.0, 12.0])
    with pytest.raises(ValueError, match="no argument 'c'"):
        grad_named(f, "c")


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="argnum must be"):
        grad(np.sin, argnum="0")
    with pytest.raises(TypeError, match="must be a function"):
        grad(3.0)
    with pytest.raises(ValueError, match="out of range"):
        elementwise_grad(np.sin, 2)(1.0)


def test_extend_vjp_jvp_and_second_order():
    @primitive
    def logsumexp_(x):
        m = onp.max(x)
        return m + onp.log(onp.sum(onp.exp(x - m)))

    defvjp(logsumexp_, lambda ans, x: lambda g: g * np.exp(x - ans))
    x = onp.array([0.1, 2.0, -1.0])
    soft = onp.exp(x) / onp.exp(x).sum()
    onp.testing.assert_allclose(grad(logsumexp_)(x), soft)
    defjvp(logsumexp_, lambda g, ans, x: np.sum(g * np.exp(x - ans)))
    onp.testing.assert_allclose(deriv(logsumexp_)(x), soft.sum())
    onp.testing.assert_allclose(grad(logsumexp_)(x), soft)
    check_grads(logsumexp_, modes=["fwd", "rev"], order=1)(x)

    # a wrong rule is seen: the check compares it with finite differences
    @primitive
    def cube(x):
        return x**3

    defvjp(cube, lambda ans, x: lambda g: g * 3.003 * x**2)
    with pytest.raises(GradCheckError):
        check_grads(cube, modes=["rev"], order=1)(1.3)


def test_extend_argnum_forms_and_linear():
    @primitive
    def mul(a, b):
        return a * b

    defvjp_argnum(mul, lambda i, ans, args, kw: lambda g: g * args[1 - i])
    onp.testing.assert_allclose(grad(mul, (0, 1))(2.0, 5.0), (5.0, 2.0))

    @primitive
    def mul2(a, b):
        return a * b

    defjvp_argnum(mul2, lambda i, g, ans, args, kw: g * args[1 - i])
    onp.testing.assert_allclose(grad(mul2, 1)(2.0, 5.0), 2.0)

    @primitive
    def double(x):
        return 2.0 * x

    def_linear(double)
    onp.testing.assert_allclose(elementwise_grad(double)(X), 2.0 * onp.ones(3))


def test_extend_refuses_missing_rules():
    @primitive
    def f(x, y):
        return x * y

    defvjp(f, lambda ans, x, y: lambda g: g * y)
    onp.testing.assert_allclose(grad(f)(2.0, 3.0), 3.0)
    with pytest.raises(NotImplementedError, match=r"argument\(s\) \[1\]"):
        grad(f, 1)(2.0, 3.0)


def test_notrace_primitive_gives_a_constant():
    @notrace_primitive
    def argmax(x):
        return int(onp.argmax(x))

    onp.testing.assert_allclose(grad(lambda x: x[argmax(x)] ** 2)(X), [0.0, 0.0, 4.0])


def test_flatten_round_trip_and_gradient():
    params = {"w": onp.arange(6.0).reshape(2, 3), "b": (onp.ones(2), 3.0)}
    flat, unflatten = flatten(params)
    assert flat.shape == (9,)
    back = unflatten(flat)
    onp.testing.assert_array_equal(back["w"], params["w"])
    onp.testing.assert_array_equal(back["b"][0], params["b"][0])
    onp.testing.assert_array_equal(back["b"][1], 3.0)
    f = lambda v: np.sum(unflatten(v)["w"] ** 2) + unflatten(v)["b"][1]  # noqa: E731
    onp.testing.assert_allclose(grad(f)(flat), fd_grad(f, flat), rtol=1e-7)
    with pytest.raises(ValueError, match="shape"):
        unflatten(onp.zeros(4))
    ff, unf, x0 = flatten_func(lambda p, s: s * np.sum(p["w"]), params)
    onp.testing.assert_allclose(ff(x0, 2.0), 30.0)


def test_optimizers_minimise_a_quadratic_in_a_pytree():
    target = {"a": onp.array([1.0, -2.0]), "b": 0.5}

    def loss_grad(p, i):
        return grad(lambda q: np.sum((q["a"] - target["a"]) ** 2) + (q["b"] - 0.5) ** 2)(p)

    start = {"a": onp.zeros(2), "b": 0.0}
    seen = []
    out = adam(
        loss_grad, start, callback=lambda x, i, g: seen.append(i), num_iters=2000, step_size=0.05
    )
    assert seen == list(range(2000))
    onp.testing.assert_allclose(out["a"], target["a"], atol=1e-6)
    onp.testing.assert_allclose(out["b"], 0.5, atol=1e-6)
    out = sgd(loss_grad, start, num_iters=500, step_size=0.5)
    onp.testing.assert_allclose(out["a"], target["a"], atol=1e-6)
    out = rmsprop(loss_grad, start, num_iters=3000, step_size=0.01)
    onp.testing.assert_allclose(out["a"], target["a"], atol=0.02)


def test_adam_first_steps_by_hand():
    # two steps of Adam on f(x) = x^2 from x = 1, written out
    x, m, v = 1.0, 0.0, 0.0
    for i in range(2):
        g = 2 * x
        m = 0.1 * g + 0.9 * m
        v = 0.001 * g * g + 0.999 * v
        x = x - 0.1 * (m / (1 - 0.9 ** (i + 1))) / (onp.sqrt(v / (1 - 0.999 ** (i + 1))) + 1e-8)
    out = adam(
        lambda x, i: grad(lambda y: np.sum(y**2))(x), onp.array([1.0]), num_iters=2, step_size=0.1
    )
    onp.testing.assert_allclose(out, [x], rtol=1e-14)


def test_numpy_random_and_scipy_names():
    assert npr.RandomState is onp.random.RandomState
    r = npr.RandomState(0)
    assert r.randn(3).shape == (3,)
    onp.testing.assert_allclose(grad(lambda m: norm.logpdf(1.0, m, 2.0))(0.5), 0.5 / 4.0)
    onp.testing.assert_allclose(grad(lambda x: logsumexp(x))(X), onp.exp(X) / onp.exp(X).sum())
    assert autograd.scipy.stats.multivariate_normal.logpdf is not None
    assert autograd.builtins.tuple is tuple
    # autograd's examples import a distribution as a module
    import importlib

    assert importlib.import_module("adgraph.autograd.scipy.stats.norm") is norm


# ---------------------------------------------------------------- example programs
# Written in the style of autograd's own examples: only the import lines name adgraph.


def test_logistic_regression_example_with_adam():
    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    def training_loss(weights):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities))

    inputs = onp.array(
        [[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]]
    )
    targets = onp.array([True, True, False, True])
    training_gradient_fun = grad(training_loss)
    weights = onp.array([0.0, 0.0, 0.0])
    onp.testing.assert_allclose(
        training_gradient_fun(weights), fd_grad(training_loss, weights), rtol=1e-8
    )
    losses = []
    weights = adam(
        lambda w, i: training_gradient_fun(w),
        weights,
        callback=lambda w, i, g: losses.append(training_loss(w)),
        num_iters=100,
        step_size=0.1,
    )
    assert losses[0] == pytest.approx(4 * onp.log(2))
    assert training_loss(weights) < 0.25 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


def test_neural_net_on_flattened_params():
    def init_random_params(scale, layer_sizes, rs=npr.RandomState(0)):
        return [
            (scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])
        ]

    def neural_net_predict(params, inputs):
        for W, b in params:
            outputs = np.dot(inputs, W) + b
            inputs = np.tanh(outputs)
        return outputs - logsumexp(outputs, axis=1, keepdims=True)

    def log_posterior(params, inputs, targets, L2_reg):
        log_prior = -L2_reg * np.sum(flatten(params)[0] ** 2)
        log_lik = np.sum(neural_net_predict(params, inputs) * targets)
        return log_prior + log_lik

    rs = npr.RandomState(1)
    inputs = rs.randn(20, 4)
    labels = rs.randint(0, 3, 20)
    targets = onp.eye(3)[labels]
    init = init_random_params(0.1, [4, 8, 3])
    flat, unflatten = flatten(init)
    objective = lambda v: -log_posterior(unflatten(v), inputs, targets, 0.01)  # noqa: E731
    g = grad(objective)(flat)
    onp.testing.assert_allclose(g, fd_grad(objective, flat), rtol=1e-6, atol=1e-8)
    # and the optimiser on the structured parameters, as the examples call it
    objective_grad = grad(lambda p, i: -log_posterior(p, inputs, targets, 0.01))
    trained = adam(objective_grad, init, num_iters=200, step_size=0.05)
    assert isinstance(trained, list) and trained[0][0].shape == (4, 8)
    assert objective(flatten(trained)[0]) < 0.5 * objective(flat)
