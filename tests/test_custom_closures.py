"""checkpoint, custom_jvp and custom_vjp of functions that close over traced values.

Every case is a function ``f(x, y)`` whose inner function (checkpointed, or with a custom
rule) closes over ``y`` -- or over ``x`` itself, or over values derived from them -- and a
reference ``ref(x, y)`` computing the same without checkpoint or custom rule. Each
transformation of ``f`` must equal the same transformation of ``ref`` (to 1e-10) and agree
with finite differences; none may return a tracer.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.primitive import Primitive
from adgraph.core.trace import EscapedTracerError, Tracer
from adgraph.test_util import check_grads


# ------------------------------------------------------------------ the cases
def _ck_scalar(x, y):
    return ad.checkpoint(lambda u: anp.sin(u) * y)(x)


def _ck_derived(x, y):
    # values computed from the closed-over y alone (sin(y), exp(y)) are closures too
    return ad.checkpoint(lambda u: u * anp.sin(y) + anp.exp(y) * u * u)(x)


def _ck_only_closure(x, y):
    # an output that depends on the closure alone
    return ad.checkpoint(lambda u: (u * 2.0, y * y))(x)


def _ck_nested(x, y):
    # an inner checkpoint closes over the outer one's argument and the outer closure
    def outer(u):
        return ad.checkpoint(lambda v: anp.cos(v * y) * u)(u * 2.0)

    return ad.checkpoint(outer)(x)


def _cj_scalar(x, y):
    @ad.custom_jvp
    def f(u):
        return anp.sin(u) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        (u,), (t,) = primals, tangents
        return f(u), anp.cos(u) * y * t

    return f(x)


def _cj_defjvps(x, y):
    @ad.custom_jvp
    def f(u):
        return u * anp.exp(y) + anp.sin(y)

    f.defjvps(lambda t, ans, u: t * anp.exp(y))
    return f(x)


def _cj_self(x, y):
    # closes over the very value it is called with: the x * sin(x)
    @ad.custom_jvp
    def f(u):
        return u * anp.sin(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        (u,), (t,) = primals, tangents
        return f(u), t * anp.sin(x) * y

    return f(x)


def _cv_scalar(x, y):
    @ad.custom_vjp
    def f(u):
        return anp.sin(u) * y

    f.defvjp(lambda u: (f(u), anp.cos(u)), lambda c, ct: (ct * c * y,))
    return f(x)


def _cv_self(x, y):
    @ad.custom_vjp
    def f(u):
        return u * x * y

    f.defvjp(lambda u: (f(u), None), lambda _, ct: (ct * x * y,))
    return f(x)


CASES = {
    "checkpoint-scalar": (_ck_scalar, lambda x, y: anp.sin(x) * y),
    "checkpoint-derived": (_ck_derived, lambda x, y: x * anp.sin(y) + anp.exp(y) * x * x),
    "checkpoint-closure-only-output": (_ck_only_closure, lambda x, y: (x * 2.0, y * y)),
    "checkpoint-nested": (_ck_nested, lambda x, y: anp.cos(2.0 * x * y) * x),
    "custom_jvp-scalar": (_cj_scalar, lambda x, y: anp.sin(x) * y),
    "custom_jvp-defjvps": (_cj_defjvps, lambda x, y: x * anp.exp(y) + anp.sin(y)),
    "custom_jvp-self": (_cj_self, lambda x, y: x * anp.sin(x) * y),
    "custom_vjp-scalar": (_cv_scalar, lambda x, y: anp.sin(x) * y),
    "custom_vjp-self": (_cv_self, lambda x, y: x * x * y),
}

X, Y = 0.7, 1.3
XS = np.array([0.3, 0.7, -0.4])
YS = np.array([1.5, 2.0, 0.6])


def _total(f):
    """A scalar of every output of ``f`` (for grad and hessian)."""

    def s(x, y):
        out = f(x, y)
        leaves = ad.tree_leaves(out)
        total = anp.sum(leaves[0])
        for v in leaves[1:]:
            total = total + anp.sum(v)
        return total

    return s


MODES = {
    "value": lambda f: f(X, Y),
    "grad-x": lambda f: ad.grad(_total(f))(X, Y),
    "grad-y": lambda f: ad.grad(_total(f), 1)(X, Y),
    "grad-xy": lambda f: ad.grad(_total(f), (0, 1))(X, Y),
    "jvp": lambda f: ad.jvp(f, (X, Y), (0.3, -0.8)),
    "vjp": lambda f: ad.vjp(_total(f), X, Y)[1](1.7),
    "linearize": lambda f: ad.linearize(f, X, Y)[1](0.2, 0.9),
    "vmap-xy": lambda f: ad.vmap(f)(XS, YS),
    "vmap-x": lambda f: ad.vmap(f, in_axes=(0, None))(XS, Y),
    "vmap-y": lambda f: ad.vmap(f, in_axes=(None, 0))(X, YS),
    "jit": lambda f: ad.jit(f)(X, Y),
    "jit-two-calls": lambda f: (lambda j: (j(X, Y), j(X + 0.1, Y - 0.2)))(ad.jit(f)),
    "grad-of-jit": lambda f: ad.grad(ad.jit(_total(f)), (0, 1))(X, Y),
    "jit-of-grad": lambda f: ad.jit(ad.grad(_total(f), (0, 1)))(X, Y),
    "hessian": lambda f: ad.hessian(lambda v: _total(f)(v[0], v[1]))(np.array([X, Y])),
    "jacfwd-array": lambda f: ad.jacfwd(lambda v: _total(f)(v, Y * v))(XS),
    "jacrev-array": lambda f: ad.jacrev(lambda v: ad.tree_leaves(f(v, Y * v))[0])(XS),
    "array-closure": lambda f: ad.grad(_total(f), (0, 1))(XS, YS),
    # the closed-over y is traced two levels out: grad over y of a grad over x
    "grad-of-grad-two-levels": lambda f: ad.grad(lambda y: ad.grad(_total(f))(X, y))(Y),
    "grad-of-grad-same": lambda f: ad.grad(lambda x: ad.grad(_total(f))(x, Y))(X),
    "jvp-of-grad": lambda f: ad.jvp(ad.grad(_total(f), (0, 1)), (X, Y), (1.0, 0.5)),
    "vmap-of-grad": lambda f: ad.vmap(ad.grad(_total(f), (0, 1)))(XS, YS),
    "grad-of-vmap": lambda f: ad.grad(lambda x, y: anp.sum(_total(ad.vmap(f))(x, y)), (0, 1))(
        XS, YS
    ),
}


# the modes that differentiate the call itself forward (a custom_vjp refuses them)
FORWARD_MODES = ("jvp", "linearize", "jacfwd-array")


def _leaves(v):
    out = ad.tree_leaves(v)
    for a in out:
        assert not isinstance(a, Tracer), f"a tracer leaked out: {a!r}"
    return [np.asarray(a, dtype=float) for a in out]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", list(CASES))
def test_every_mode_matches_the_function_without_the_wrapper(case, mode):
    f, ref = CASES[case]
    if case.startswith("custom_vjp") and mode in FORWARD_MODES:
        # a reverse rule only: forward mode refuses rather than ignore the rule
        with pytest.raises(NotImplementedError, match="custom_jvp"):
            MODES[mode](f)
        return
    got, want = _leaves(MODES[mode](f)), _leaves(MODES[mode](ref))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_finite_differences_to_second_order(case):
    f, _ = CASES[case]
    modes = ("rev",) if case.startswith("custom_vjp") else ("fwd", "rev")
    check_grads(f, (X, Y), order=2, modes=modes)
    check_grads(f, (XS, YS), order=1, modes=modes)


# ------------------------------------------------------------------ the repros
def test_checkpoint_closure_repro():
    f = lambda x, y: ad.checkpoint(lambda u: anp.sin(u) * y)(x)  # noqa: E731
    out = ad.vmap(f)(XS, YS)
    assert type(out) is np.ndarray and out.shape == (3,)
    np.testing.assert_allclose(out, np.sin(XS) * YS, rtol=1e-14)
    p, t = ad.jvp(f, (X, Y), (1.0, 1.0))
    assert not isinstance(p, Tracer) and not isinstance(t, Tracer)
    assert t == pytest.approx(np.cos(X) * Y + np.sin(X), rel=1e-14)
    gx, gy = ad.grad(f, (0, 1))(X, Y)
    assert (gx, gy) == pytest.approx((np.cos(X) * Y, np.sin(X)), rel=1e-14)
    assert ad.jit(f)(X, Y) == pytest.approx(np.sin(X) * Y, rel=1e-14)


def test_custom_jvp_closure_over_the_differentiated_value_repro():
    # d/dx [x sin x] at 1.5 is 1.104; the rule alone gives sin(1.5) * ... = 0.106
    def g(x):
        @ad.custom_jvp
        def f(u):
            return u * anp.sin(x)

        @f.defjvp
        def f_jvp(primals, tangents):
            (u,), (t,) = primals, tangents
            return f(u), t * anp.sin(x)

        return f(x)

    want = np.sin(1.5) + 1.5 * np.cos(1.5)
    p, t = ad.jvp(g, (1.5,), (1.0,))
    assert not isinstance(t, Tracer)
    assert t == pytest.approx(want, rel=1e-14) and p == pytest.approx(1.5 * np.sin(1.5))
    assert ad.grad(g)(1.5) == pytest.approx(want, rel=1e-14)


# ------------------------------------------------------------------ the rule governs the arguments
def test_custom_jvp_rule_governs_arguments_closures_go_through_the_function():
    def f(x, y):
        @ad.custom_jvp
        def h(u):
            return anp.sin(u) * y

        @h.defjvp
        def h_jvp(primals, tangents):
            (u,), (t,) = primals, tangents
            return h(u), 10.0 * t  # deliberately not cos(u) * y: the rule is used for u

        return h(x)

    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((10.0, np.sin(X)), rel=1e-14)
    assert ad.jvp(f, (X, Y), (1.0, 2.0))[1] == pytest.approx(10.0 + 2.0 * np.sin(X), rel=1e-14)
    gx, gy = ad.vmap(ad.grad(f, (0, 1)))(XS, YS)
    np.testing.assert_allclose(gx, 10.0)
    np.testing.assert_allclose(gy, np.sin(XS), rtol=1e-14)


def test_custom_vjp_rule_governs_arguments_closures_go_through_the_function():
    def f(x, y):
        @ad.custom_vjp
        def h(u):
            return anp.sin(u) * y

        h.defvjp(lambda u: (h(u), None), lambda _, ct: (anp.clip(ct, -0.5, 0.5),))
        return h(x) * 4.0

    # the clipped cotangent reaches x; y's comes from differentiating h itself
    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((0.5, 4.0 * np.sin(X)), rel=1e-14)


def test_a_rule_that_closes_over_a_traced_value():
    # only the rule closes over y (seen in its closure cells): correct in both modes
    def f(x, y):
        @ad.custom_jvp
        def h(u):
            return anp.sin(u)

        @h.defjvp
        def h_jvp(primals, tangents):
            (u,), (t,) = primals, tangents
            return h(u), t * y

        return h(x)

    assert ad.jvp(f, (X, Y), (1.0, 0.0))[1] == pytest.approx(Y)
    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((Y, 0.0))
    # the rule's own dependence on y is differentiated at second order
    assert ad.grad(lambda y: ad.grad(f)(X, y))(Y) == pytest.approx(1.0)


def test_bwd_that_closes_over_a_traced_value():
    def f(x, y):
        @ad.custom_vjp
        def h(u):
            return anp.sin(u)

        h.defvjp(lambda u: (h(u), None), lambda _, ct: (ct * y,))
        return h(x)

    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((Y, 0.0))
    assert ad.grad(lambda y: ad.grad(f)(X, y))(Y) == pytest.approx(1.0)


# ------------------------------------------------------------------ closures that change nothing
def test_constant_closure_is_not_converted():
    calls = []
    c = np.array([1.0, 2.0])

    def block(u):
        calls.append(1)
        return u * c

    g = ad.grad(lambda x: anp.sum(ad.checkpoint(block)(x)))(np.array([0.3, 0.4]))
    np.testing.assert_array_equal(g, c)
    assert len(calls) == 2  # the forward pass and the recomputation, as without closures


def test_functions_that_insist_on_plain_values_still_see_them():
    # without a traced closure, the rules call the function on unwrapped values only
    def plain_only(u):
        assert not isinstance(u, Tracer)
        return np.sin(u) * 2.0

    @ad.custom_vjp
    def f(u):
        return plain_only(u)

    f.defvjp(lambda u: (plain_only(u), u), lambda u, ct: (ct * 2.0 * anp.cos(u),))
    assert ad.grad(f)(X) == pytest.approx(2.0 * np.cos(X))
    np.testing.assert_allclose(ad.jacrev(f)(XS), np.diag(2.0 * np.cos(XS)))


def test_closure_used_only_in_a_comparison():
    def f(x, y):
        return ad.checkpoint(lambda u: anp.where(y > 1.0, u * 2.0, u * 3.0))(x)

    def g(x, y):
        def block(u):
            return u * 2.0 if y > 1.0 else u * 3.0

        return ad.checkpoint(block)(x)

    for h in (f, g):
        assert ad.grad(h, (0, 1))(X, Y) == pytest.approx((2.0, 0.0))
        assert ad.grad(h, (0, 1))(X, 0.5) == pytest.approx((3.0, 0.0))


def test_closure_whose_result_is_unused_under_jit():
    # jit's compiled program calls the checkpointed function again, after jit's trace ended
    def f(x, y):
        def block(u, w):
            unused = y.sum(axis=0)  # noqa: F841 - touches the closed-over y only
            return anp.expm1(1.0 / w) * u

        return ad.checkpoint(block)(x, y)

    x, y = np.array([0.3, 0.5]), np.array([1.5, 2.5])
    jf = ad.jit(f)
    for a, b in ((x, y), (2 * x, y + 1)):
        np.testing.assert_allclose(jf(a, b), np.expm1(1.0 / b) * a, rtol=1e-14)


def test_branch_on_a_fixed_value_with_a_closure():
    def f(x, y):
        def block(u):
            if u > 0.5:
                return anp.sin(u) * y
            return anp.cos(u) * y

        return ad.checkpoint(block)(x)

    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((np.cos(X) * Y, np.sin(X)), rel=1e-14)
    assert ad.grad(f, (0, 1))(0.2, Y) == pytest.approx((-np.sin(0.2) * Y, np.cos(0.2)))


def test_integer_closure_under_vmap():
    def f(x, i):
        return ad.checkpoint(lambda u: u * anp.asarray(i, dtype=float) + u)(x)

    g = ad.vmap(ad.grad(f))(np.array([0.3, 0.4]), np.array([1, 2]))
    np.testing.assert_array_equal(g, [2.0, 3.0])


def test_pytrees_keywords_and_nondiff_arguments():
    def f(x, y):
        block = ad.checkpoint(lambda d, k=2.0: {"a": d["p"] * y * k, "b": anp.sum(d["q"]) * y})
        out = block({"p": x, "q": anp.stack([x, y])}, k=3.0)
        return out["a"] + out["b"]

    assert ad.grad(f, (0, 1))(X, Y) == pytest.approx((4.0 * Y, 3.0 * X + X + 2.0 * Y))

    def g(x, y):
        @ad.custom_jvp
        def p(n, u):
            return u**n * y

        p.nondiff_argnums = (0,)

        @p.defjvp
        def p_jvp(n, primals, tangents):
            (u,), (t,) = primals, tangents
            return p(n, u), n * u ** (n - 1) * y * t

        return p(3, x)

    assert ad.grad(g, (0, 1))(X, Y) == pytest.approx((3 * X**2 * Y, X**3))


def test_custom_rules_with_several_outputs_and_array_closures():
    w = np.array([1.2, -0.7, 2.0])

    def f(x, w):
        @ad.custom_jvp
        def h(u):
            return {"a": anp.sin(u) * w, "b": anp.sum(u * w)}

        @h.defjvp
        def h_jvp(primals, tangents):
            (u,), (du,) = primals, tangents
            return h(u), {"a": anp.cos(u) * w * du, "b": anp.sum(du * w)}

        out = h(x)
        return anp.sum(out["a"] ** 2) + out["b"] ** 2

    def g(x, w):
        @ad.custom_vjp
        def h(u):
            return anp.sin(u) * w, anp.sum(u * w)

        h.defvjp(lambda u: (h(u), anp.cos(u)), lambda c, ct: (ct[0] * c * w + ct[1] * w,))
        a, b = h(x)
        return anp.sum(a**2) + b**2

    def ref(x, w):
        return anp.sum((anp.sin(x) * w) ** 2) + anp.sum(x * w) ** 2

    for fn in (f, g):
        for which in (0, 1):
            np.testing.assert_allclose(
                ad.hessian(fn, which)(XS, w), ad.hessian(ref, which)(XS, w), rtol=1e-10
            )
        np.testing.assert_allclose(
            ad.vmap(ad.grad(fn, 1))(np.stack([XS, 2 * XS]), np.stack([w, w + 1])),
            ad.vmap(ad.grad(ref, 1))(np.stack([XS, 2 * XS]), np.stack([w, w + 1])),
            rtol=1e-10,
        )


def test_compiled_and_traced_forms():
    f = lambda x, y: ad.checkpoint(lambda u: anp.sin(u) * y)(x)  # noqa: E731
    want = (np.cos(X) * Y, np.sin(X))
    assert ad.trace(ad.grad(f, (0, 1)), X, Y)(X, Y) == pytest.approx(want, rel=1e-14)
    assert ad.jit(ad.grad(f, (0, 1)), compiler="c")(X, Y) == pytest.approx(want, rel=1e-12)


# ------------------------------------------------------------------ clear refusals
def test_branch_on_a_batched_or_compiled_value_with_a_closure_is_refused():
    def f(x, y):
        def block(u):
            return anp.sin(u) * y if u > 0.5 else anp.cos(u) * y

        return ad.checkpoint(block)(x)

    with pytest.raises(TypeError, match="vmap|where"):
        ad.vmap(f)(XS, YS)
    with pytest.raises(TypeError, match=r"closes over.*adgraph\.numpy\.where.*as arguments"):
        ad.jit(f)(X, Y)


_no_rules = Primitive("closure_test_no_rules", lambda xp, a: xp.sin(a))


def test_closure_through_a_function_without_derivative_is_refused():
    def f(x, y):
        @ad.custom_jvp
        def h(u):
            return _no_rules(u * y)

        @h.defjvp
        def h_jvp(primals, tangents):
            (u,), (t,) = primals, tangents
            return h(u), t * anp.cos(u * y) * y

        return h(x)

    # the closed-over y is not differentiated: the rule is enough
    assert ad.grad(lambda x: f(x, Y))(X) == pytest.approx(np.cos(X * Y) * Y)
    for run in (lambda: ad.grad(f, (0, 1))(X, Y), lambda: ad.jvp(f, (X, Y), (1.0, 1.0))):
        with pytest.raises(TypeError, match=r"closes over.*explicit argument"):
            run()


def test_rule_reaching_a_traced_value_unseen_is_refused_clearly():
    class Holder:
        pass

    def f(x, y):
        h = Holder()
        h.y = y  # reached through an attribute: not in the rule's closure cells

        @ad.custom_jvp
        def k(u):
            return anp.sin(u)

        @k.defjvp
        def k_jvp(primals, tangents):
            (u,), (t,) = primals, tangents
            return k(u), t * h.y

        return k(x)

    assert ad.jvp(f, (X, Y), (1.0, 0.0))[1] == pytest.approx(Y)  # the rule runs at once
    with pytest.raises(EscapedTracerError, match=r"JVP rule of custom_jvp 'k'.*explicit"):
        ad.grad(f, (0, 1))(X, Y)


def test_leaked_tracer_in_a_closure_is_still_an_escaped_tracer():
    leaked = []
    ad.grad(lambda x: (leaked.append(x), x * 1.0)[1])(1.0)
    with pytest.raises(EscapedTracerError, match="leaked"):
        ad.grad(lambda x: ad.checkpoint(lambda u: u * leaked[0])(x))(2.0)
