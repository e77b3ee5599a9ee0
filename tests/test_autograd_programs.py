"""Programs written for HIPS autograd run on adgraph.autograd with the imports changed.

Each program below is written the way autograd's own examples are (logistic regression,
a neural network trained with ``adam`` on flattened parameters, a recurrent network, a
Gaussian process fitted with SciPy's optimiser, a fixed point, custom primitives with
``defvjp``/``defjvp``, Hessian-vector products, ``check_grads``). It takes the library
module as an argument, so the same code runs on ``adgraph.autograd`` and -- where it is
installed -- on ``autograd`` itself, and the numbers must agree. Every program also has its
own reference: finite differences, or a closed form.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import numpy as onp
import pytest


def _lib(name: str) -> SimpleNamespace:
    """The library's modules under the names autograd's examples import them by."""
    if name == "autograd":
        pytest.importorskip("autograd")
    mod = importlib.import_module(name)
    sub = lambda s: importlib.import_module(f"{name}.{s}")  # noqa: E731
    return SimpleNamespace(
        ag=mod,
        np=sub("numpy"),
        npr=sub("numpy.random"),
        extend=sub("extend"),
        flatten=sub("misc.flatten").flatten,
        optimizers=sub("misc.optimizers"),
        fixed_point=sub("misc.fixed_points").fixed_point,
        special=sub("scipy.special"),
        mvn=sub("scipy.stats.multivariate_normal"),
        norm=sub("scipy.stats.norm"),
        check_grads=sub("test_util").check_grads,
    )


def _both(program, *args, rtol=1e-12, atol=1e-14):
    """Run ``program(lib, *args)`` on adgraph.autograd and autograd; return adgraph's
    result after checking autograd's (when installed) agrees."""
    ours = program(_lib("adgraph.autograd"), *args)
    try:
        theirs = program(_lib("autograd"), *args)
    except pytest.skip.Exception:
        return ours
    for a, b in zip(_leaves(ours), _leaves(theirs)):
        onp.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return ours


def _leaves(x):
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _leaves(item)]
    return [onp.asarray(x, dtype=complex if onp.iscomplexobj(x) else float)]


def _fd_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of a flat float vector."""
    g = onp.zeros_like(x)
    for i in range(x.size):
        e = onp.zeros_like(x)
        e.flat[i] = eps
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ------------------------------------------------------------------ logistic regression
def _logistic_data():
    inputs = onp.array(
        [[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]]
    )
    targets = onp.array([True, True, False, True])
    return inputs, targets


def _logistic(L, steps):
    np, grad = L.np, L.ag.grad
    inputs, targets = _logistic_data()

    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    def training_loss(weights):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities))

    training_gradient_fun = grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    losses = []
    for _ in range(steps):
        weights = weights - training_gradient_fun(weights) * 0.01
        losses.append(training_loss(weights))
    return weights, onp.array(losses), training_gradient_fun(weights)


def test_logistic_regression_readme_example():
    weights, losses, g = _both(_logistic, 100)
    assert onp.all(onp.diff(losses) < 0)  # gradient descent decreases the loss
    inputs, targets = _logistic_data()

    def loss(w):
        p = 0.5 * (onp.tanh(inputs @ w / 2.0) + 1)
        return -onp.sum(onp.log(p * targets + (1 - p) * (1 - targets)))

    onp.testing.assert_allclose(g, _fd_grad(loss, weights), rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------------ neural network + adam
def _neural_net(L, num_iters):
    np, npr = L.np, L.npr
    logsumexp = L.special.logsumexp

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

    def l2_norm(params):
        flattened, _ = L.flatten(params)
        return np.dot(flattened, flattened)

    def log_posterior(params, inputs, targets, L2_reg):
        log_prior = -L2_reg * l2_norm(params)
        log_lik = np.sum(neural_net_predict(params, inputs) * targets)
        return log_prior + log_lik

    rs = onp.random.RandomState(1)
    inputs = rs.randn(20, 4)
    targets = onp.eye(3)[rs.randint(0, 3, 20)]
    init_params = init_random_params(0.1, [4, 8, 3])
    batch_size = 5
    num_batches = 4

    def batch_indices(it):
        idx = it % num_batches
        return slice(idx * batch_size, (idx + 1) * batch_size)

    def objective(params, it):
        idx = batch_indices(it)
        return -log_posterior(params, inputs[idx], targets[idx], 1.0)

    objective_grad = L.ag.grad(objective)
    seen = []

    def callback(params, it, gradient):
        # autograd's callback signature: the iterate, the step, the gradient (as pytrees)
        seen.append((it, objective(params, it), L.flatten(gradient)[0][0]))

    params = L.optimizers.adam(
        objective_grad, init_params, step_size=0.01, num_iters=num_iters, callback=callback
    )
    return L.flatten(params)[0], onp.array(seen), objective_grad(init_params, 0)


def test_neural_net_trained_with_adam_and_flatten():
    flat, seen, g0 = _both(_neural_net, 30, rtol=1e-10, atol=1e-12)
    assert seen.shape == (30, 3) and list(seen[:, 0]) == list(range(30))
    assert seen[-4:, 1].mean() < seen[:4, 1].mean()  # training lowers the loss
    # the first gradient against finite differences on the flattened parameters
    lib = _lib("adgraph.autograd")
    np = onp
    rs = onp.random.RandomState(1)
    inputs = rs.randn(20, 4)
    targets = onp.eye(3)[rs.randint(0, 3, 20)]
    params = [
        (0.1 * r.randn(m, n), 0.1 * r.randn(n))
        for r in [onp.random.RandomState(0)]
        for m, n in zip([4, 8], [8, 3])
    ]
    x0, unflatten = lib.flatten(params)

    def objective_flat(x):
        p = unflatten(x)
        h = inputs[:5]
        for W, b in p:
            out = h @ W + b
            h = np.tanh(out)
        out = out - onp.log(onp.sum(onp.exp(out), axis=1, keepdims=True))
        return -(-1.0 * x @ x + onp.sum(out * targets[:5]))

    onp.testing.assert_allclose(
        lib.flatten(g0)[0], _fd_grad(objective_flat, onp.asarray(x0)), rtol=1e-6, atol=1e-8
    )


# ------------------------------------------------------------------ recurrent network
def _rnn(L):
    np = L.np

    def sigmoid(x):
        return 0.5 * (np.tanh(x) + 1.0)

    def concat_and_multiply(weights, *args):
        cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
        return np.dot(cat_state, weights)

    def rnn_predict(params, inputs):
        def update_rnn(input, hiddens):
            return np.tanh(concat_and_multiply(params["change"], input, hiddens))

        def hiddens_to_output_probs(hiddens):
            output = concat_and_multiply(params["predict"], hiddens)
            return output - L.special.logsumexp(output, axis=1, keepdims=True)

        num_sequences = inputs.shape[1]
        hiddens = np.repeat(params["init hiddens"], num_sequences, axis=0)
        output = [hiddens_to_output_probs(hiddens)]
        for input in inputs:
            hiddens = update_rnn(input, hiddens)
            output.append(hiddens_to_output_probs(hiddens))
        return output

    def rnn_log_likelihood(params, inputs, targets):
        logprobs = rnn_predict(params, inputs)
        loglik = 0.0
        num_time_steps, num_examples, _ = inputs.shape
        for t in range(num_time_steps):
            loglik += np.sum(logprobs[t] * targets[t])
        return loglik / (num_time_steps * num_examples)

    rs = onp.random.RandomState(3)
    params = {
        "init hiddens": rs.randn(1, 5) * 0.1,
        "change": rs.randn(4 + 5 + 1, 5) * 0.1,
        "predict": rs.randn(5 + 1, 4) * 0.1,
    }
    inputs = onp.eye(4)[rs.randint(0, 4, (6, 3))]
    g = L.ag.grad(rnn_log_likelihood)(params, inputs, inputs)
    v, g2 = L.ag.value_and_grad(rnn_log_likelihood)(params, inputs, inputs)
    return g, v, g2


def test_rnn_gradient_of_a_dict_of_parameters():
    g, v, g2 = _both(_rnn)
    assert set(g) == {"init hiddens", "change", "predict"}
    for k in g:
        onp.testing.assert_array_equal(g[k], g2[k])
    # finite differences along one parameter array
    lib = _lib("adgraph.autograd")
    rs = onp.random.RandomState(3)
    params = {
        "init hiddens": rs.randn(1, 5) * 0.1,
        "change": rs.randn(10, 5) * 0.1,
        "predict": rs.randn(6, 4) * 0.1,
    }
    inputs = onp.eye(4)[rs.randint(0, 4, (6, 3))]

    def loss_of_change(c):
        p = dict(params, change=c.reshape(10, 5))
        return float(_rnn_loglik_numpy(p, inputs))

    fd = _fd_grad(loss_of_change, params["change"].ravel()).reshape(10, 5)
    onp.testing.assert_allclose(g["change"], fd, rtol=1e-6, atol=1e-9)
    assert lib is not None


def _rnn_loglik_numpy(params, inputs):
    def probs(h):
        out = onp.hstack([h, onp.ones((h.shape[0], 1))]) @ params["predict"]
        return out - onp.log(onp.sum(onp.exp(out), axis=1, keepdims=True))

    h = onp.repeat(params["init hiddens"], inputs.shape[1], axis=0)
    total = 0.0
    outs = [probs(h)]
    for x in inputs:
        h = onp.tanh(onp.hstack([x, h, onp.ones((h.shape[0], 1))]) @ params["change"])
        outs.append(probs(h))
    for t in range(inputs.shape[0]):
        total += onp.sum(outs[t] * inputs[t])
    return total / (inputs.shape[0] * inputs.shape[1])


# ------------------------------------------------------------------ Gaussian process
def _gp(L):
    np = L.np
    minimize = pytest.importorskip("scipy.optimize").minimize

    def make_gp_funs(cov_func, num_cov_params):
        def unpack_kernel_params(params):
            mean = params[0]
            cov_params = params[2:]
            noise_scale = np.exp(params[1]) + 0.0001
            return mean, cov_params, noise_scale

        def log_marginal_likelihood(params, x, y):
            mean, cov_params, noise_scale = unpack_kernel_params(params)
            cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
            prior_mean = mean * np.ones(len(y))
            return L.mvn.logpdf(y, prior_mean, cov_y_y)

        return num_cov_params + 2, log_marginal_likelihood

    def rbf_covariance(kernel_params, x, xp):
        output_scale = np.exp(kernel_params[0])
        lengthscales = np.exp(kernel_params[1:])
        diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
        return output_scale * np.exp(-0.5 * np.sum(diffs**2, axis=2))

    rs = onp.random.RandomState(0)
    X = onp.linspace(-3, 3, 12)[:, None]
    y = onp.cos(X[:, 0]) + rs.randn(12) * 0.1
    num_params, log_ml = make_gp_funs(rbf_covariance, num_cov_params=2)
    objective = lambda params: -log_ml(params, X, y)  # noqa: E731
    init_params = 0.1 * rs.randn(num_params)
    g0 = L.ag.grad(objective)(init_params)
    res = minimize(
        L.ag.value_and_grad(objective), init_params, jac=True, method="CG",
        options={"maxiter": 8},
    )  # fmt: skip
    return g0, res.x, res.fun


def test_gaussian_process_with_scipy_minimize():
    g0, x, fun = _both(_gp, rtol=1e-9, atol=1e-11)
    scipy_stats = pytest.importorskip("scipy.stats")
    rs = onp.random.RandomState(0)
    X = onp.linspace(-3, 3, 12)[:, None]
    y = onp.cos(X[:, 0]) + rs.randn(12) * 0.1
    p0 = 0.1 * rs.randn(4)

    def objective(p):
        ls = onp.exp(p[3:])
        d = X[:, None, :] / ls - X[None, :, :] / ls
        K = onp.exp(p[2]) * onp.exp(-0.5 * onp.sum(d**2, axis=2))
        K = K + (onp.exp(p[1]) + 1e-4) * onp.eye(12)
        return -scipy_stats.multivariate_normal.logpdf(y, p[0] * onp.ones(12), K)

    onp.testing.assert_allclose(g0, _fd_grad(objective, p0), rtol=1e-6, atol=1e-8)
    assert fun < objective(p0)


# ------------------------------------------------------------------ fixed point
def _fixed_point_sqrt(L, a):
    np = L.np

    def newton_sqrt_iter(a):
        return lambda x: 0.5 * (x + a / x)

    def distance(x, y):
        return np.abs(x - y)

    def sqrt(a, guess=10.0):
        return L.fixed_point(newton_sqrt_iter, a, guess, distance, 1e-10)

    return sqrt(a), L.ag.grad(sqrt)(a), L.ag.grad(L.ag.grad(sqrt))(a)


def test_fixed_point_sqrt_and_its_derivatives():
    val, d1, d2 = _both(_fixed_point_sqrt, 2.0, rtol=1e-8)
    assert val == pytest.approx(onp.sqrt(2.0), rel=1e-14)
    assert d1 == pytest.approx(0.5 / onp.sqrt(2.0), rel=1e-10)
    assert d2 == pytest.approx(-0.25 * 2.0**-1.5, rel=1e-8)
    # forward mode too (autograd has no forward rule for fixed_point)
    lib = _lib("adgraph.autograd")

    def sqrt(a):
        return lib.fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, 10.0, _absdiff, 1e-12)

    assert lib.ag.deriv(sqrt)(3.0) == pytest.approx(0.5 / onp.sqrt(3.0), rel=1e-10)


def _absdiff(x, y):
    return abs(x - y)


# ------------------------------------------------------------------ custom primitives
def _custom_logsumexp(L, x):
    np, extend = L.np, L.extend

    @extend.primitive
    def logsumexp(x):
        max_x = onp.max(x)
        return max_x + onp.log(onp.sum(onp.exp(x - max_x)))

    def logsumexp_vjp(ans, x):
        x_shape = x.shape
        return lambda g: np.full(x_shape, g) * np.exp(x - np.full(x_shape, ans))

    extend.defvjp(logsumexp, logsumexp_vjp)

    def example_func(y):
        z = y**2
        lse = logsumexp(z)
        return np.sum(lse)

    L.check_grads(example_func, modes=["rev"], order=2)(x)
    g = L.ag.grad(example_func)(x)
    h = L.ag.hessian(example_func)(x)
    hvp = L.ag.hessian_tensor_product(example_func)(x, onp.ones_like(x))
    return g, h, hvp


def test_custom_primitive_with_defvjp_to_second_order():
    x = onp.array([0.3, -0.8, 1.1])
    g, h, hvp = _both(_custom_logsumexp, x)
    s = onp.exp(x**2) / onp.sum(onp.exp(x**2))
    onp.testing.assert_allclose(g, 2 * x * s, rtol=1e-13)
    want_h = onp.diag(2 * s + 4 * x**2 * s) - onp.outer(2 * x * s, 2 * x * s)
    onp.testing.assert_allclose(h, want_h, rtol=1e-12, atol=1e-14)
    onp.testing.assert_allclose(hvp, want_h @ onp.ones(3), rtol=1e-12)


def _custom_with_both_rules(L, x, y):
    extend = L.extend

    @extend.primitive
    def weighted(x, y, scale=1.0):
        return scale * x * onp.sin(y)

    extend.defvjp(
        weighted,
        lambda ans, x, y, scale=1.0: lambda g: g * scale * L.np.sin(y),
        lambda ans, x, y, scale=1.0: lambda g: g * scale * x * L.np.cos(y),
    )
    extend.defjvp(
        weighted,
        lambda g, ans, x, y, scale=1.0: g * scale * L.np.sin(y),
        lambda g, ans, x, y, scale=1.0: g * scale * x * L.np.cos(y),
    )
    f = lambda x, y: L.np.sum(weighted(x, y, scale=3.0) ** 2)  # noqa: E731
    L.check_grads(f, argnum=(0, 1), modes=["fwd", "rev"], order=2)(x, y)
    gx, gy = L.ag.grad(f, (0, 1))(x, y)
    jx = L.ag.make_jvp(lambda x: weighted(x, y, scale=3.0))(x)(onp.ones_like(x))[1]
    return gx, gy, jx


def test_custom_primitive_with_both_rules_and_keywords():
    x, y = onp.array([0.5, -1.5]), onp.array([0.2, 0.9])
    gx, gy, jx = _both(_custom_with_both_rules, x, y)
    onp.testing.assert_allclose(gx, 2 * 9.0 * x * onp.sin(y) ** 2, rtol=1e-13)
    onp.testing.assert_allclose(gy, 2 * 9.0 * x**2 * onp.sin(y) * onp.cos(y), rtol=1e-13)
    onp.testing.assert_allclose(jx, 3.0 * onp.sin(y), rtol=1e-14)


def test_forward_mode_of_a_reverse_only_primitive_is_refused():
    lib = _lib("adgraph.autograd")

    @lib.extend.primitive
    def cube(x):
        return x**3

    lib.extend.defvjp(cube, lambda ans, x: lambda g: 3 * x**2 * g)
    assert lib.ag.grad(cube)(2.0) == 12.0
    with pytest.raises(NotImplementedError, match="cube.*defjvp"):
        lib.ag.deriv(cube)(2.0)


# ------------------------------------------------------------------ second-order tools
def _second_order(L, x, v):
    np = L.np

    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    hvp_fun, g = L.ag.make_hvp(rosenbrock)(x)
    ggn = L.ag.make_ggnvp(lambda w: np.tanh(w) * 2.0)(x)(v)
    return (
        hvp_fun(v),
        g,
        L.ag.hessian_vector_product(rosenbrock)(x, v),
        L.ag.hessian(rosenbrock)(x),
        ggn,
        L.ag.tensor_jacobian_product(lambda w: np.outer(w, w))(x, v),
    )


def test_hessian_products_and_gauss_newton():
    x = onp.array([0.5, 0.8, -0.3])
    v = onp.array([0.3, -1.0, 0.4])
    hv, g, hv2, H, ggn, tjp = _both(_second_order, x, v)
    onp.testing.assert_allclose(hv, H @ v, rtol=1e-12)
    onp.testing.assert_allclose(hv2, H @ v, rtol=1e-12)
    # Gauss-Newton of g(f(x)) with g = 0.5 |.|^2 and f = 2 tanh: J^T J v, J diagonal
    J = 2.0 / onp.cosh(x) ** 2
    onp.testing.assert_allclose(ggn, J * J * v, rtol=1e-12)
    # sum_i v_i d(w_i w_j)/dw_k = w_j v_k + (v.w) delta_jk, indexed (j, k)
    onp.testing.assert_allclose(tjp, onp.outer(x, v) + (v @ x) * onp.eye(3), rtol=1e-12)


def test_the_whole_public_api_is_there():
    ours = _lib("adgraph.autograd")
    for name in [
        "grad", "elementwise_grad", "jacobian", "hessian", "hessian_tensor_product",
        "hessian_vector_product", "tensor_jacobian_product", "vector_jacobian_product",
        "make_vjp", "make_jvp", "make_hvp", "make_ggnvp", "value_and_grad", "grad_and_aux",
        "holomorphic_grad", "grad_named", "multigrad_dict", "deriv", "checkpoint",
        "primitive", "tuple", "list", "dict", "isinstance", "type",
    ]:  # fmt: skip
        assert callable(getattr(ours.ag, name)), name
    for name in [
        "primitive", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum",
        "defjvp_argnums", "def_linear", "notrace_primitive", "vspace", "VSpace", "Box",
    ]:  # fmt: skip
        assert hasattr(ours.extend, name), name
    try:
        theirs = _lib("autograd")
    except pytest.skip.Exception:
        return
    # every name autograd's top level and extend export that adgraph.autograd has not is
    # one of its internals (its tracing machinery), listed in docs/autograd.md
    top = {n for n in dir(theirs.ag) if not n.startswith("_")} - set(dir(ours.ag))
    assert top <= {"core", "util"}
    ext = {n for n in dir(theirs.extend) if not n.startswith("_")} - set(dir(ours.extend))
    assert ext <= {"JVPNode", "VJPNode", "SparseObject", "register_notrace"}


# ------------------------------------------------------------------ mixture model, Newton-CG
def _gmm_objective(L):
    """A Gaussian mixture's negative log-likelihood as a function of one flat vector."""
    np = L.np
    flatten_func = importlib.import_module(f"{L.ag.__name__}.misc.flatten").flatten_func
    rs = L.npr.RandomState(0)
    params = {
        "log proportions": rs.randn(3) * 0.1,
        "means": rs.randn(3, 2) * 0.1,
        "lower triangles": np.zeros((3, 2, 2)) + np.eye(2),
    }
    data = onp.random.RandomState(1).randn(40, 2) * [1.0, 0.3] + [0.5, -0.2]

    def gmm_log_likelihood(params, data):
        lp = params["log proportions"] - L.special.logsumexp(params["log proportions"])
        lls = []
        for log_proportion, mean, cov_sqrt in zip(lp, params["means"], params["lower triangles"]):
            cov = np.dot(cov_sqrt.T, cov_sqrt)
            lls.append(log_proportion + L.mvn.logpdf(data, mean, cov))
        return np.sum(L.special.logsumexp(np.vstack(lls), axis=0))

    flat_obj, _, x0 = flatten_func(lambda p: -gmm_log_likelihood(p, data), params)
    return flat_obj, onp.asarray(x0), onp.linspace(-1.0, 1.0, onp.size(x0))


def _gmm(L):
    minimize = pytest.importorskip("scipy.optimize").minimize
    flat_obj, x0, v = _gmm_objective(L)
    hvp = L.ag.hessian_vector_product(flat_obj)
    res = minimize(
        flat_obj, x0, jac=L.ag.grad(flat_obj), hessp=hvp, method="Newton-CG",
        options={"maxiter": 3},
    )  # fmt: skip
    return flat_obj(x0), L.ag.grad(flat_obj)(x0), hvp(x0, v), res.x


def test_mixture_model_with_flatten_func_and_newton_cg():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SciPy on a (1,) objective
        f0, g0, hv0, x = _both(_gmm, rtol=1e-9, atol=1e-11)
    assert onp.shape(f0) == (1,)  # flatten_func flattens the output too, as autograd's
    flat_obj, x0, v = _gmm_objective(_lib("adgraph.autograd"))
    scalar = lambda z: float(flat_obj(z)[0])  # noqa: E731
    onp.testing.assert_allclose(g0, _fd_grad(scalar, x0), rtol=1e-6, atol=1e-7)
    grad = _lib("adgraph.autograd").ag.grad(flat_obj)
    eps = 1e-6
    fd_hv = (grad(x0 + eps * v) - grad(x0 - eps * v)) / (2 * eps)
    onp.testing.assert_allclose(hv0, fd_hv, rtol=1e-6, atol=1e-6)
    assert scalar(x) < scalar(x0)


# ------------------------------------------------------------------ convolutional layer
def _convnet(L):
    np = L.np
    convolve = importlib.import_module(f"{L.ag.__name__}.scipy.signal").convolve
    rs = onp.random.RandomState(2)
    images = rs.randn(3, 1, 7, 7)
    labels = onp.eye(2)[[0, 1, 1]]
    params = {"filters": rs.randn(1, 4, 3, 3) * 0.3, "w": rs.randn(4 * 5 * 5, 2) * 0.1}

    def predict(p, x):
        h = np.tanh(
            convolve(x, p["filters"], axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid")
        )
        logits = np.dot(np.reshape(h, (x.shape[0], -1)), p["w"])
        return logits - L.special.logsumexp(logits, axis=1, keepdims=True)

    loss = lambda p: -np.sum(predict(p, images) * labels)  # noqa: E731
    # central difference along every filter entry at once (a random direction)
    d = onp.random.RandomState(3).randn(*params["filters"].shape)
    eps = 1e-6
    plus = dict(params, filters=params["filters"] + eps * d)
    minus = dict(params, filters=params["filters"] - eps * d)
    fd = (loss(plus) - loss(minus)) / (2 * eps)
    return loss(params), L.ag.grad(loss)(params), fd, d


def test_convolutional_layer_gradient():
    value, g, fd, d = _both(_convnet, rtol=1e-9, atol=1e-11)
    assert g["filters"].shape == (1, 4, 3, 3) and g["w"].shape == (100, 2)
    assert onp.sum(g["filters"] * d) == pytest.approx(fd, rel=1e-6)
    assert value > 0
