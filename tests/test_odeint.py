"""adgraph.scipy.integrate: odeint against closed forms, SciPy and reference gradients (the
adjoint method and forward sensitivities agree with each other and with JAX's odeint), under
every transformation; the quadrature rules against SciPy."""

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.scipy.integrate import cumulative_trapezoid, odeint, simpson, trapezoid
from adgraph.test_util import check_grads

TS = np.array([0.0, 0.5, 2.0])
K = 0.7


def decay(y, t, k):
    return -k * y


def lotka_volterra(y, t, a, b, c, d):
    return anp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


LV_Y0 = np.array([10.0, 5.0])
LV_T = np.linspace(0.0, 5.0, 11)
LV_P = (1.5, 1.0, 3.0, 1.0)
# d/dp sum(y(t_i)^2) by jax.experimental.ode.odeint (x64) with rtol = atol = 1e-13
LV_GRAD_REF = np.array(
    [311.64600956725263, -246.03848370500128, 169.6071052326356, -324.11331963408287]
)
LV_LOSS_REF = 421.54755155686775


def lv_loss(p, tol=1e-10):
    return anp.sum(odeint(lotka_volterra, LV_Y0, LV_T, *p, rtol=tol, atol=tol) ** 2)


# ------------------------------------------------------------------ values
def test_decay_closed_form_and_dense_output():
    ys = odeint(decay, 2.0, TS, K)
    assert np.allclose(ys, 2 * np.exp(-K * TS), rtol=1e-7)
    # requested times far inside steps come from the dense output, to the same accuracy
    t = np.linspace(0.0, 3.0, 301)
    assert np.allclose(odeint(decay, 2.0, t, K), 2 * np.exp(-K * t), rtol=1e-7)


def test_decreasing_times_and_repeated_time():
    t = np.array([2.0, 1.0, 1.0, 0.0])
    assert np.allclose(odeint(decay, 1.0, t, K), np.exp(-K * (t - 2.0)), rtol=1e-7)


def test_lotka_volterra_matches_scipy():
    scipy_integrate = pytest.importorskip("scipy.integrate")
    ref = scipy_integrate.odeint(lotka_volterra, LV_Y0, LV_T, args=LV_P, rtol=1e-12, atol=1e-12)
    ys = odeint(lotka_volterra, LV_Y0, LV_T, *LV_P, rtol=1e-10, atol=1e-10)
    assert np.allclose(ys, ref, rtol=1e-7, atol=1e-8)


def test_pytree_state_harmonic_oscillator():
    def osc(s, t, w):
        return {"x": s["v"], "v": -(w**2) * s["x"]}

    out = odeint(osc, {"x": np.array([1.0]), "v": np.array([0.0])}, TS, 2.0)
    assert np.allclose(out["x"][:, 0], np.cos(2 * TS), atol=1e-7)
    assert np.allclose(out["v"][:, 0], -2 * np.sin(2 * TS), atol=1e-7)


# ------------------------------------------------------------------ derivatives
def test_lotka_volterra_gradient_reference():
    # the adjoint method (grad) and forward sensitivities (jacfwd) against JAX's numbers
    g = np.array(ad.grad(lv_loss)(LV_P))
    gf = np.array(ad.jacfwd(lv_loss)(LV_P))
    assert np.isclose(lv_loss(LV_P), LV_LOSS_REF, rtol=1e-8)
    assert np.allclose(g, LV_GRAD_REF, rtol=1e-7)
    assert np.allclose(gf, LV_GRAD_REF, rtol=1e-7)


def _rel(got, want):
    """The largest difference relative to the largest component of ``want``."""
    return float(np.max(np.abs(np.asarray(got) - want)) / np.max(np.abs(want)))


def test_lotka_volterra_gradient_at_default_tolerance():
    # the adjoint restarts y at each requested time from points solved more tightly than
    # the outputs: restarting from the outputs themselves put their global error into each
    # interval (1.3e-6 off the converged gradient here, 1.5e-6 from forward sensitivities)
    g = np.array(ad.grad(lambda p: lv_loss(p, 1.4e-8))(LV_P))
    gf = np.array(ad.jacfwd(lambda p: lv_loss(p, 1.4e-8))(LV_P))
    assert _rel(g, LV_GRAD_REF) < 5e-7  # measured 2.6e-7
    assert _rel(gf, LV_GRAD_REF) < 5e-7  # measured 3.5e-7
    assert _rel(g, gf) < 1e-6


def test_lotka_volterra_gradient_near_jax_at_default_tolerance():
    # a cross-check only: JAX's own default-tolerance gradient is 1.2e-6 off the converged
    # LV_GRAD_REF (its adjoint restarts from the outputs), so the two agree to that order
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    from jax.experimental.ode import odeint as jodeint

    def jlv(y, t, a, b, c, d):
        return jnp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

    def jloss(p):
        return jnp.sum(jodeint(jlv, jnp.asarray(LV_Y0), jnp.asarray(LV_T), *p) ** 2)

    g = np.array(ad.grad(lambda p: lv_loss(p, 1.4e-8))(LV_P))
    assert _rel(g, np.array(jax.grad(jloss)(LV_P))) < 3e-6


OSC_T = np.linspace(0.0, 10.0, 21)


def _oscillator_loss(x0, v0, w):
    # x'' = -w^2 x: x(t) = x0 cos(w t) + v0 sin(w t) / w
    def osc(y, t, w):
        return anp.stack([y[1], -(w**2) * y[0]])

    return anp.sum(odeint(osc, anp.stack([x0, v0]), OSC_T, w)[:, 0] ** 2)


def test_oscillator_derivatives_closed_form_at_default_tolerance():
    x0, v0, w = 1.0, 0.5, 2.0
    c, s = np.cos(w * OSC_T), np.sin(w * OSC_T)
    x = x0 * c + v0 * s / w
    dx_dw = -x0 * OSC_T * s + v0 * (OSC_T * c / w - s / w**2)
    want = np.array([np.sum(2 * x * c), np.sum(2 * x * s / w), np.sum(2 * x * dx_dw)])
    assert np.isclose(_oscillator_loss(x0, v0, w), np.sum(x**2), rtol=1e-6)  # 1.4e-7
    gf = np.array(ad.jacfwd(_oscillator_loss, argnums=(0, 1, 2))(x0, v0, w))
    g = np.array(ad.grad(_oscillator_loss, argnums=(0, 1, 2))(x0, v0, w))
    assert _rel(gf, want) < 1e-6
    assert _rel(g, want) < 1e-6
    assert _rel(g, gf) < 1e-6


def test_decay_derivatives_closed_form():
    def total(y0, t, k):
        return anp.sum(odeint(decay, y0, t, k))

    y0 = 2.0
    dt = TS - TS[0]
    want_y0 = np.sum(np.exp(-K * dt))
    want_t = -K * y0 * np.exp(-K * dt)
    want_t[0] = np.sum(K * y0 * np.exp(-K * dt[1:]))  # moving t0 delays the whole decay
    want_k = np.sum(-y0 * dt * np.exp(-K * dt))
    for how in (ad.grad, ad.jacfwd):
        g = how(total, argnums=(0, 1, 2))(y0, TS, K)
        assert np.isclose(g[0], want_y0, rtol=1e-6)
        assert np.allclose(g[1], want_t, rtol=1e-6)
        assert np.isclose(g[2], want_k, rtol=1e-6)


def test_jvp_vjp_and_hessian():
    f = lambda k: odeint(decay, 2.0, TS, k)  # noqa: E731
    _, t = ad.jvp(f, (K,), (1.0,))
    assert np.allclose(t, -2 * TS * np.exp(-K * TS), rtol=1e-6, atol=1e-12)
    _, pull = ad.vjp(f, K)
    assert np.isclose(pull(np.ones(3))[0], np.sum(-2 * TS * np.exp(-K * TS)), rtol=1e-6)
    h = ad.hessian(lambda k: anp.sum(f(k)))(K)
    assert np.isclose(h, np.sum(2 * TS**2 * np.exp(-K * TS)), rtol=1e-5)


def test_check_grads_order_two():
    check_grads(
        lambda y0, k: odeint(decay, y0, TS, k),
        (2.0, K),
        order=2,
        modes=("fwd", "rev"),
        rtol=1e-4,
        atol=1e-4,
    )


def test_vmap_equals_loop_and_grad_of_vmap():
    ks = np.array([0.3, 0.7, 1.1])
    batched = ad.vmap(lambda k: odeint(decay, 2.0, TS, k))(ks)
    assert np.array_equal(batched, np.stack([odeint(decay, 2.0, TS, k) for k in ks]))
    g = ad.grad(lambda ks: anp.sum(ad.vmap(lambda k: odeint(decay, 2.0, TS, k))(ks)))(ks)
    assert np.allclose(g, [np.sum(-2 * TS * np.exp(-k * TS)) for k in ks], rtol=1e-6)


def test_closure_over_traced_value_and_jit():
    def loss(k):
        return anp.sum(odeint(lambda y, t: -k * y, 2.0, TS))

    want = np.sum(-2 * TS * np.exp(-K * TS))
    assert np.isclose(ad.grad(loss)(K), want, rtol=1e-6)
    assert np.isclose(ad.jacfwd(loss)(K), want, rtol=1e-6)
    assert np.isclose(ad.jit(ad.grad(loss))(K), want, rtol=1e-6)


def test_time_dependent_right_hand_side():
    # y' = cos(w t): y = sin(w t) / w; d/dw of y(T) = T cos(w T)/w - sin(w T)/w^2
    w, T = 1.3, 2.0

    def f(w):
        span = np.array([0.0, T])
        return odeint(lambda y, t, w: anp.cos(w * t), 0.0, span, w, rtol=1e-10, atol=1e-10)[1]

    assert np.isclose(f(w), np.sin(w * T) / w, rtol=1e-7)
    want = T * np.cos(w * T) / w - np.sin(w * T) / w**2
    assert np.isclose(ad.grad(f)(w), want, rtol=1e-6)
    assert np.isclose(ad.jacfwd(f)(w), want, rtol=1e-6)


def test_autograd_form():
    from adgraph.autograd.scipy.integrate import odeint as ag_odeint

    ys = ag_odeint(decay, 2.0, TS, args=(K,))
    assert np.allclose(ys, 2 * np.exp(-K * TS), rtol=1e-7)
    ys = ag_odeint(lambda t, y, k: -k * y, 2.0, TS, args=(K,), tfirst=True)
    assert np.allclose(ys, 2 * np.exp(-K * TS), rtol=1e-7)
    with pytest.raises(TypeError, match="full_output is not supported"):
        ag_odeint(decay, 2.0, TS, args=(K,), full_output=True)
    with pytest.raises(TypeError, match="args must be a tuple"):
        ag_odeint(decay, 2.0, TS, args=K)


# ------------------------------------------------------------------ bad input
def test_bad_input():
    with pytest.raises(TypeError, match="odeint"):
        odeint(3.0, 1.0, TS)
    with pytest.raises(TypeError, match="y0 leaf 0 has dtype int64"):
        odeint(decay, 1, TS, K)
    with pytest.raises(ValueError, match="1-D array"):
        odeint(decay, 1.0, 0.5, K)
    with pytest.raises(ValueError, match="monotonic"):
        odeint(decay, 1.0, np.array([0.0, 2.0, 1.0]), K)
    with pytest.raises(ValueError, match="rtol must be a positive"):
        odeint(decay, 1.0, TS, K, rtol=-1.0)
    with pytest.raises(ValueError, match="shape \\[2\\] for leaf 0"):
        odeint(lambda y, t: anp.stack([y, y]), 1.0, TS)
    with pytest.raises(RuntimeError, match="mxstep=3"):
        odeint(decay, 1.0, TS, K, mxstep=3)
    with pytest.raises(RuntimeError, match="step size fell"):
        odeint(lambda y, t: y**2, 1.0, np.array([0.0, 2.0]))  # blows up at t = 1


# ------------------------------------------------------------------ quadrature
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8])
def test_quadrature_matches_scipy(n):
    si = pytest.importorskip("scipy.integrate")
    rng = np.random.default_rng(n)
    y = rng.normal(size=(3, n))
    x = np.sort(rng.uniform(0, 2, size=n))
    assert np.allclose(trapezoid(y, x), si.trapezoid(y, x))
    assert np.allclose(trapezoid(y, dx=0.3, axis=1), si.trapezoid(y, dx=0.3, axis=1))
    if n > 1:
        assert np.allclose(cumulative_trapezoid(y, x), si.cumulative_trapezoid(y, x))
        assert np.allclose(
            cumulative_trapezoid(y.T, dx=0.5, axis=0, initial=0),
            si.cumulative_trapezoid(y.T, dx=0.5, axis=0, initial=0),
        )
    assert np.allclose(simpson(y, x=x), si.simpson(y, x=x))
    assert np.allclose(simpson(y, dx=0.25), si.simpson(y, dx=0.25))


def test_quadrature_gradients():
    x = np.linspace(0.0, 1.0, 6) ** 1.5
    y = np.sin(3 * x)
    for rule in (trapezoid, simpson):
        check_grads(lambda y, x: rule(y, x=x), (y, x), order=2, modes=("fwd", "rev"))
    check_grads(lambda y, x: cumulative_trapezoid(y, x), (y, x), order=1, modes=("rev",))
    with pytest.raises(ValueError, match="x has 3 samples but y has 6"):
        trapezoid(y, x[:3])


def test_adjoint_memory_does_not_grow_with_steps():
    import tracemalloc

    n = 20000  # a large state, so that keeping anything per step would show
    k = np.linspace(0.5, 2.0, n)
    t = np.array([0.0, 1.0, 2.0])
    calls = [0]  # a counter, not a list that grows with the steps

    def decay_k(y, t, s):
        calls[0] += 1
        return -s * k * y

    def peak(tol):
        f = ad.grad(lambda s: anp.sum(odeint(decay_k, np.ones(n), t, s, rtol=tol, atol=tol)))
        f(1.0)
        calls[0] = 0
        tracemalloc.start()
        g = f(1.0)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p, calls[0], g

    p_loose, n_loose, _ = peak(1e-4)
    p_tight, n_tight, g = peak(1e-10)
    assert n_tight > 5 * n_loose  # many more steps...
    assert p_tight < 1.1 * p_loose  # ...in the same memory
    want = sum(np.sum(-k * tt * np.exp(-k * tt)) for tt in t[1:])
    assert np.isclose(g, want, rtol=1e-7)
