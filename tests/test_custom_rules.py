"""custom_jvp, custom_vjp and checkpoint under every transformation."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.test_util import check_grads


# log(1 + e^x) with a stable derivative rule
@ad.custom_jvp
def softplus(x):
    return anp.logaddexp(x, 0.0)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * (1.0 / (1.0 + anp.exp(-x)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_custom_jvp_forward_reverse_and_second_order():
    x = np.array([-3.0, 0.1, 2.0])
    assert np.allclose(ad.jvp(softplus, (x,), (np.ones(3),))[1], sigmoid(x))
    assert np.allclose(ad.grad(lambda x: anp.sum(softplus(x)))(x), sigmoid(x))
    H = ad.hessian(lambda x: anp.sum(softplus(x)))(x)
    assert np.allclose(H, np.diag(sigmoid(x) * (1 - sigmoid(x))))
    check_grads(softplus, (x,), order=2)


def test_custom_jvp_rule_is_used():
    @ad.custom_jvp
    def f(x):
        return anp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 10.0 * t  # deliberately not cos(x): proves the rule is used

    assert ad.grad(f)(0.3) == 10.0
    assert ad.jvp(f, (0.3,), (1.0,))[1] == 10.0
    assert np.allclose(ad.vmap(ad.grad(f))(np.array([0.1, 0.2])), [10.0, 10.0])


# gradient clipping in the backward pass
@ad.custom_vjp
def clip_gradient(x, lo, hi):
    return x


def _cg_fwd(x, lo, hi):
    return x, (lo, hi)


def _cg_bwd(res, g):
    lo, hi = res
    return (anp.clip(g, lo, hi), None, None)


clip_gradient.defvjp(_cg_fwd, _cg_bwd)


def test_custom_vjp_rule_is_used():
    f = lambda x: clip_gradient(x, -1.0, 1.0) * 5.0
    assert ad.grad(f)(2.0) == 1.0
    g = ad.vmap(ad.grad(lambda x: anp.sum(clip_gradient(x, -1.0, 1.0) * 5.0)))(np.ones((3, 2)))
    assert np.allclose(g, 1.0)
    # forward mode is refused: differentiating the function would ignore the rule
    with pytest.raises(NotImplementedError, match=r"custom_vjp 'clip_gradient'.*custom_jvp"):
        ad.jvp(f, (2.0,), (1.0,))


def test_custom_vjp_with_pytrees_and_residuals():
    @ad.custom_vjp
    def f(d):
        return {"y": anp.sin(d["a"]) * d["b"]}

    def fwd(d):
        return f(d), (anp.cos(d["a"]), d["a"], d["b"])

    def bwd(res, ct):
        c, a, b = res
        return ({"a": ct["y"] * c * b, "b": anp.sum(ct["y"] * anp.sin(a))},)

    f.defvjp(fwd, bwd)
    d = {"a": np.array([0.2, 0.4]), "b": 3.0}
    g = ad.grad(lambda d: anp.sum(f(d)["y"]))(d)
    assert np.allclose(g["a"], np.cos(d["a"]) * 3.0)
    assert g["b"] == pytest.approx(np.sum(np.sin(d["a"])))
    # jacrev through the custom rule (batched cotangents)
    J = ad.jacrev(lambda a: f({"a": a, "b": 3.0})["y"])(d["a"])
    assert np.allclose(J, np.diag(3.0 * np.cos(d["a"])))


def test_custom_vjp_bwd_errors_are_clear():
    @ad.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g,))
    with pytest.raises(TypeError, match="1 cotangents for 2"):
        ad.grad(f)(1.0, 2.0)

    @ad.custom_vjp
    def h(x):
        return x

    with pytest.raises(TypeError, match="defvjp"):
        h(1.0)


def test_checkpoint_recomputes_and_matches():
    calls = []

    def block(x):
        calls.append(1)
        return anp.sin(x) * anp.exp(x)

    ck = ad.checkpoint(block)
    x = np.array([0.1, 0.5, 0.9])
    f1 = lambda x: anp.sum(ck(ck(x)))
    f2 = lambda x: anp.sum(block(block(x)))
    calls.clear()
    g1 = ad.grad(f1)(x)
    n_ck = len(calls)
    calls.clear()
    g2 = ad.grad(f2)(x)
    assert np.allclose(g1, g2)
    assert n_ck == 4 and len(calls) == 2  # forward twice + recomputed twice
    assert np.allclose(ad.hessian(f1)(x), ad.hessian(f2)(x))
    assert np.allclose(ad.jacfwd(lambda x: ck(x))(x), ad.jacfwd(block)(x))


def test_user_functions_run_once_per_use_without_closures():
    # watching for closures over traced values adds no evaluation of the user's functions
    calls = {"fun": 0, "rule": 0, "fwd": 0, "bwd": 0}

    @ad.custom_jvp
    def f(x):
        calls["fun"] += 1
        return anp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        calls["rule"] += 1
        (x,), (t,) = primals, tangents
        return anp.sin(x), anp.cos(x) * t

    @ad.custom_vjp
    def g(x):
        calls["fun"] += 1
        return anp.sin(x)

    def g_fwd(x):
        calls["fwd"] += 1
        return anp.sin(x), anp.cos(x)

    def g_bwd(c, ct):
        calls["bwd"] += 1
        return (ct * c,)

    g.defvjp(g_fwd, g_bwd)

    assert ad.jvp(f, (0.3,), (1.0,))[1] == pytest.approx(np.cos(0.3))
    assert calls == {"fun": 0, "rule": 1, "fwd": 0, "bwd": 0}
    assert ad.grad(f)(0.3) == pytest.approx(np.cos(0.3))  # the function, then the rule
    assert calls == {"fun": 1, "rule": 2, "fwd": 0, "bwd": 0}
    assert ad.grad(g)(0.3) == pytest.approx(np.cos(0.3))
    assert calls == {"fun": 1, "rule": 2, "fwd": 1, "bwd": 1}
    assert g(0.3) == pytest.approx(np.sin(0.3)) and f(0.3) == pytest.approx(np.sin(0.3))
    assert calls == {"fun": 3, "rule": 2, "fwd": 1, "bwd": 1}


def test_checkpoint_recomputes_only_what_needs_a_cotangent():
    # integer and constant arguments are held fixed in the backward recomputation
    ck = ad.checkpoint(lambda x, n, c: x**n * c)
    assert ad.grad(lambda x: ck(x, 3, np.float64(2.0)))(1.5) == pytest.approx(6 * 1.5**2)
    g = ad.grad(lambda x, c: ck(x, 3, c), (0, 1))(1.5, 2.0)
    assert g == pytest.approx((6 * 1.5**2, 1.5**3))


def _scaled_sin(kind):
    """``f(k, x) = k sin(x)`` with ``k`` static (nondiff_argnums) and a rule that says the
    derivative is ``10 k cos(x)`` (not the truth: shows the rule is the one used)."""

    def f(k, x):
        """k sin(x)"""
        return k * anp.sin(x)

    if kind == "custom_jvp":
        f = ad.custom_jvp(f, nondiff_argnums=(0,))

        @f.defjvp
        def f_jvp(k, primals, tangents):
            (x,), (t,) = primals, tangents
            return f(k, x), 10.0 * k * anp.cos(x) * t

    else:
        f = ad.custom_vjp(f, nondiff_argnums=(0,))
        assert (
            f.defvjp(lambda k, x: (f(k, x), anp.cos(x)), lambda k, c, ct: (10.0 * k * c * ct,)) is f
        )
    return f


@pytest.mark.parametrize("kind", ["custom_jvp", "custom_vjp"])
def test_static_and_keyword_arguments_of_both_kinds(kind):
    f = _scaled_sin(kind)
    assert f.__name__ == "f" and f.__doc__ == "k sin(x)"
    x = np.array([0.1, 0.7])
    rule = 10.0 * 2.0 * np.cos(x)
    assert f(2.0, x=0.5) == pytest.approx(2.0 * np.sin(0.5))  # no transformation: the function
    g = ad.grad(lambda x: anp.sum(f(2.0, x=x)))(x)
    np.testing.assert_allclose(g, rule, rtol=1e-15)
    np.testing.assert_allclose(ad.vmap(ad.grad(lambda x: f(2.0, x)))(x), rule, rtol=1e-15)
    np.testing.assert_allclose(ad.jacrev(lambda x: f(2.0, x))(x), np.diag(rule), rtol=1e-15)
    # forward mode: custom_jvp's rule; custom_vjp refuses (it has no forward rule)
    if kind == "custom_jvp":
        t = ad.jvp(lambda x: f(2.0, x), (x,), (np.ones(2),))[1]
        np.testing.assert_allclose(t, rule, rtol=1e-15)
    else:
        with pytest.raises(NotImplementedError, match="custom_jvp"):
            ad.jvp(lambda x: f(2.0, x), (x,), (np.ones(2),))


@pytest.mark.parametrize(
    "kind, advice", [("custom_jvp", r"\.defjvp"), ("custom_vjp", r"\.defvjp\(fwd, bwd\)")]
)
def test_a_call_without_a_rule_says_how_to_give_one(kind, advice):
    f = getattr(ad, kind)(anp.sin)
    with pytest.raises(TypeError, match=rf"{kind} function 'sin' has no rule; .*{advice}"):
        f(1.0)
