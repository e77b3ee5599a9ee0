"""ad.checkpoint's policies change what the backward sweep recomputes and what it keeps,
never the numbers; checkpoint_name; static_argnums; bad input."""

import functools

import numpy as np
import pytest

import adgraph as ad
import adgraph.lax as lax
import adgraph.numpy as anp
from adgraph.api import checkpointing
from adgraph.api.checkpointing import checkpoint_name, checkpoint_policies
from adgraph.core.primitive import MissingRuleError

P = checkpoint_policies
RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 5))
X = RNG.normal(size=5)


def f(W, x):
    h = checkpoint_name(anp.sin(W @ x), "h")
    return anp.sum(anp.tanh(anp.einsum("ij,j->i", W, h)))


POLICIES = {
    "nothing": lambda *a, **k: False,  # through the recorded program, keeping nothing
    "dots": P.dots_saveable,
    "dots_no_batch": P.dots_with_no_batch_dims_saveable,
    "only_h": P.save_only_these_names("h"),
    "names_but_h": P.save_any_names_but_these("h"),
    "all_but_h": P.save_anything_except_these_names("h"),
    "both": P.save_from_both_policies(P.dots_saveable, P.save_only_these_names("h")),
    "all": lambda *a, **k: True,
}
# what each keeps (primitive name -> applications) in f's backward sweep
KEPT = {
    "nothing": {},
    "dots": {"matmul": 1, "einsum": 1},
    "dots_no_batch": {"matmul": 1, "einsum": 1},
    "only_h": {"checkpoint_name": 1},
    "names_but_h": {},
    "all_but_h": {"matmul": 1, "sin": 1, "einsum": 1, "tanh": 1, "reduce_sum": 1},
    "both": {"matmul": 1, "einsum": 1, "checkpoint_name": 1},
    "all": {"matmul": 1, "sin": 1, "checkpoint_name": 1, "einsum": 1, "tanh": 1, "reduce_sum": 1},
}

# results whose value the sweep does not read: sin(W x), whose only use is the kept named
# value (the name's reverse rule does not read its operand; sin's reads W x, not sin)
SKIPPED = {"only_h": {"sin": 1}, "both": {"sin": 1}}


@pytest.mark.parametrize("name", list(POLICIES))
def test_policy_changes_what_is_kept_never_the_numbers(name):
    ref = ad.grad(f, (0, 1))(W, X)
    g = ad.grad(ad.checkpoint(f, policy=POLICIES[name]), (0, 1))(W, X)
    for a, b in zip(g, ref):
        assert np.array_equal(a, b)
    kept, redone = checkpointing.last_replay["kept"], checkpointing.last_replay["recomputed"]
    skipped = checkpointing.last_replay["skipped"]
    assert kept == KEPT[name]
    assert skipped == SKIPPED.get(name, {})
    assert sum(kept.values()) + sum(redone.values()) + sum(skipped.values()) == 6


def test_builtin_policies_numbers_in_every_mode():
    for pol in (None, P.nothing_saveable, P.everything_saveable, P.dots_saveable):
        c = ad.checkpoint(f, policy=pol)
        assert np.array_equal(ad.grad(c)(W, X), ad.grad(f)(W, X))
        assert np.allclose(ad.jacfwd(c, 1)(W, X), ad.jacfwd(f, 1)(W, X))
        assert np.allclose(
            ad.hessian(lambda x: c(W, x))(X), ad.hessian(lambda x: f(W, x))(X), rtol=1e-12
        )
        xs = np.stack([X, 2 * X])
        want = ad.vmap(ad.grad(f), (None, 0))(W, xs)
        assert np.allclose(ad.vmap(ad.grad(c), (None, 0))(W, xs), want)
        assert np.allclose(ad.jit(ad.grad(c))(W, X), ad.grad(f)(W, X))


def test_dots_with_no_batch_dims():
    A = RNG.normal(size=(3, 4, 4))

    def g(A, x):
        y = anp.einsum("bij,bj->bi", A, anp.broadcast_to(x[:4], (3, 4)))  # batch index b
        z = A @ anp.sin(y)[:, :, None]  # batched matmul
        return anp.sum(anp.tanh(z)) + anp.sum(W @ x)  # W @ x has no batch dimension

    for pol, kept in (
        (P.dots_with_no_batch_dims_saveable, {"matmul": 1}),
        (P.dots_saveable, {"matmul": 2, "einsum": 1}),
    ):
        got = ad.grad(ad.checkpoint(g, policy=pol), (0, 1))(A, X)
        for a, b in zip(got, ad.grad(g, (0, 1))(A, X)):
            assert np.array_equal(a, b)
        assert checkpointing.last_replay["kept"] == kept


def _counted_sin():
    calls = []

    def impl(xp, x):
        calls.append(1)
        return xp.sin(x)

    p = ad.Primitive(
        "test_policy_counted_sin",
        impl,
        tangent=(lambda t, ans, x: t * anp.cos(x),),
        vjp=(lambda ct, ans, x: ct * anp.cos(x),),
    )
    return p, calls


def test_recomputation_counted():
    sin_p, calls = _counted_sin()

    def g(x):
        return anp.sum(sin_p.bind(x) ** 2)

    want = 2 * np.sin(X) * np.cos(X)
    for pol, runs in (
        (None, 2),  # forward, and recomputed in the backward sweep
        (P.nothing_saveable, 2),
        (P.dots_saveable, 2),  # no product to keep
        (lambda prim, *a, **k: prim is sin_p, 1),  # kept: run once
        (P.everything_saveable, 1),
    ):
        calls.clear()
        assert np.allclose(ad.grad(ad.checkpoint(g, policy=pol))(X), want)
        assert len(calls) == runs


def test_static_argnums():
    def g(W, n, flag):
        return anp.sum(W**n) if flag else anp.sum(W)

    c = ad.checkpoint(g, static_argnums=(1, 2))
    assert np.allclose(ad.grad(c)(W, 3, True), 3 * W**2)
    assert np.allclose(ad.grad(c)(W, 3, False), np.ones_like(W))
    c2 = ad.checkpoint(g, static_argnums=-1)
    assert np.allclose(ad.grad(lambda W: c2(W, 2.0, True))(W), 2 * W)
    with pytest.raises(TypeError, match="argument 1 is static"):
        ad.grad(lambda n: ad.checkpoint(g, static_argnums=1)(W, n, True))(2.0)
    with pytest.raises(ValueError, match="static_argnums 5 is out of range"):
        ad.checkpoint(g, static_argnums=5)(W, 2, True)


def test_bad_input():
    with pytest.raises(TypeError, match="policy must be one of ad.checkpoint_policies"):
        ad.checkpoint(f, policy="dots")
    with pytest.raises(TypeError, match="static_argnums must be ints"):
        ad.checkpoint(f, static_argnums=("a",))
    with pytest.raises(TypeError, match="prevent_cse must be a bool"):
        ad.checkpoint(f, prevent_cse=None)
    with pytest.raises(TypeError, match="checkpoint_name: name must be a str"):
        checkpoint_name(X, 3)
    with pytest.raises(TypeError, match="names must be str"):
        P.save_only_these_names(1)


def test_checkpoint_name_is_the_identity():
    assert checkpoint_name(X, "a") is X
    assert np.allclose(ad.grad(lambda x: anp.sum(checkpoint_name(x, "a") ** 2))(X), 2 * X)
    assert np.allclose(ad.jvp(lambda x: checkpoint_name(x, "a"), (X,), (X,))[1], X)
    assert np.allclose(ad.vmap(lambda x: checkpoint_name(x, "a") * 2)(np.ones((2, 3))), 2.0)


# ------------------------------------------------------- under a transformation around grad
def _around(kind, fun):
    """``x -> `` the gradient of ``fun(W, x)`` in x, under the transformation ``kind``
    (values on a batch of two examples where the transformation maps)."""
    if kind == "vmap":
        return lambda xs: ad.vmap(ad.grad(fun, 1), (None, 0))(W, xs)
    if kind == "jit":
        jg = ad.jit(ad.value_and_grad(fun, 1))
        return lambda x: jg(W, x)
    if kind == "grad_of_grad":
        return ad.grad(lambda x: anp.sum(ad.grad(fun, 1)(W, x) ** 2))
    if kind == "hessian":
        return ad.hessian(lambda x: fun(W, x))
    if kind == "jvp_of_grad":
        return lambda x: ad.jvp(lambda z: ad.grad(fun, 1)(W, z), (x,), (X[::-1],))[1]
    raise AssertionError(kind)


AROUND = ["vmap", "jit", "grad_of_grad", "hessian", "jvp_of_grad"]
XS = np.stack([X, 2 * X - 1])


@pytest.mark.parametrize("kind", AROUND)
@pytest.mark.parametrize("name", ["nothing", "dots", "only_h", "all_but_h", "all"])
def test_policy_applies_under_a_transformation_around_grad(kind, name):
    arg = XS if kind == "vmap" else X
    want = _around(kind, f)(arg)
    checkpointing.last_replay["kept"] = None
    got = _around(kind, ad.checkpoint(f, policy=POLICIES[name]))(arg)
    for a, b in zip(got if kind == "jit" else (got,), want if kind == "jit" else (want,)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert checkpointing.last_replay["kept"] == KEPT[name]


def _counted_sin_named(name):
    calls = []

    def impl(xp, x):
        calls.append(np.shape(x))
        return xp.sin(x)

    p = ad.Primitive(
        name,
        impl,
        tangent=(lambda t, ans, x: t * anp.cos(x),),
        vjp=(lambda ct, ans, x: ct * anp.cos(x),),
        needs=(frozenset({0}),),  # the rule reads x, not sin(x)
    )
    return p, calls


@pytest.mark.parametrize("kind", AROUND)
def test_kept_results_are_not_recomputed_under_a_transformation_around_grad(kind):
    # The counted sin runs once per evaluation in the forward pass; the backward sweep runs
    # it again unless the policy keeps it (vmap runs it once per example: it has no
    # batching rule).
    sin_p, calls = _counted_sin_named(f"test_policy_counted_sin_{kind}")

    def g(W, x):
        s = checkpoint_name(sin_p.bind(W @ x), "s")
        return anp.sum(anp.tanh(s) ** 2)

    arg = XS if kind == "vmap" else X
    per_eval = 2 if kind == "vmap" else 1
    want = _around(kind, g)(arg)
    for pol, runs in (
        (None, 2),
        (P.nothing_saveable, 2),
        (P.dots_saveable, 2),  # keeps W @ x, recomputes sin
        (lambda prim, *a, **k: prim is sin_p, 1),
        (P.save_anything_except_these_names("s"), 1),
        (P.save_only_these_names("s"), 1),  # the sin is not read: not run again
        (P.everything_saveable, 1),
    ):
        h = _around(kind, ad.checkpoint(g, policy=pol))
        if kind == "jit":
            h(arg)  # the first call traces; count the compiled program's runs
        calls.clear()
        got = h(arg)
        assert len(calls) == runs * per_eval, (pol, calls)
        for a, b in zip(got if kind == "jit" else (got,), want if kind == "jit" else (want,)):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_gradients_under_transformations_match_closed_forms():
    # L(x) = sum(tanh(sin(W x))**2): the gradient W^T (2 tanh(s) sech(s)**2 cos(Wx)),
    # s = sin(W x), against a checkpoint that keeps the products only.
    def L(W, x):
        return anp.sum(anp.tanh(anp.sin(W @ x)) ** 2)

    def grad_closed(x):
        u = W @ x
        s = np.sin(u)
        return W.T @ (2 * np.tanh(s) / np.cosh(s) ** 2 * np.cos(u))

    c = ad.checkpoint(L, policy=P.dots_saveable)
    want = np.stack([grad_closed(x) for x in XS])
    np.testing.assert_allclose(ad.vmap(ad.grad(c, 1), (None, 0))(W, XS), want, rtol=1e-12)
    np.testing.assert_allclose(ad.jit(ad.grad(c, 1))(W, XS[1]), want[1], rtol=1e-12)
    h = 1e-6
    fd = np.stack([(grad_closed(X + h * e) - grad_closed(X - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(ad.hessian(lambda x: c(W, x))(X), fd.T, rtol=1e-6, atol=1e-8)


def test_prevent_cse_false_lets_jit_merge_the_recomputation():
    # Under jit the recomputation in the backward sweep is the forward pass's operations
    # on the same values: prevent_cse=True (the default, as in JAX) keeps them apart, so
    # the compiled program recomputes; prevent_cse=False lets the simplifier merge them.
    sin_p, calls = _counted_sin_named("test_policy_counted_sin_cse")

    def g(x):
        return anp.sum(anp.tanh(sin_p.bind(x)) ** 2)

    for prevent, runs in ((True, 2), (False, 1)):
        jg = ad.jit(ad.value_and_grad(ad.checkpoint(g, prevent_cse=prevent)))
        jg(X)
        calls.clear()
        v, d = jg(X)
        assert len(calls) == runs
        np.testing.assert_allclose(v, np.sum(np.tanh(np.sin(X)) ** 2), rtol=1e-14)
        s = np.sin(X)
        np.testing.assert_allclose(d, 2 * np.tanh(s) / np.cosh(s) ** 2 * np.cos(X), rtol=1e-13)


def test_policy_with_custom_vjp_cond_and_closures_around_grad():
    # A custom_vjp function under hessian (its fwd is differentiated forward, as JAX does),
    # a lax.cond on a jit-traced predicate (one switch node) and a closed-over parameter
    # under vmap, each inside a checkpoint that keeps the products: the products are kept,
    # and the derivatives are those without checkpoint.
    @ad.custom_vjp
    def g(a):
        return anp.sin(a)

    g.defvjp(lambda a: (anp.sin(a), (anp.cos(a),)), lambda r, ct: (r[0] * ct,))
    dots = P.dots_saveable

    def with_vjp(ck):
        f = lambda u: g(W @ u) * u  # noqa: E731
        return lambda x: anp.sum((ad.checkpoint(f, policy=dots) if ck else f)(x))

    u = W @ X  # closed form of the Hessian of sum(sin(W x) * x)
    want = np.diag(np.cos(u)) @ W + (np.diag(np.cos(u)) @ W).T
    want -= W.T @ np.diag(X * np.sin(u)) @ W
    np.testing.assert_allclose(ad.hessian(with_vjp(False))(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ad.hessian(with_vjp(True))(X), want, rtol=1e-12, atol=1e-14)
    assert checkpointing.last_replay["kept"] == {"matmul": 1}

    def with_cond(ck):
        def f(u):
            return lax.cond(anp.sum(u) > 0, lambda v: anp.sin(v), lambda v: anp.cos(v), W @ u)

        return lambda x: anp.sum((ad.checkpoint(f, policy=dots) if ck else f)(x) ** 2)

    for x in (X, -X):
        v = W @ x
        d = 2 * np.sin(v) * np.cos(v) * (1 if v.sum() > 0 else -1)
        checkpointing.last_replay["kept"] = None
        np.testing.assert_allclose(ad.jit(ad.grad(with_cond(True)))(x), W.T @ d, rtol=1e-12)
        assert checkpointing.last_replay["kept"] == {"matmul": 1}

    def with_scale(s, ck):
        f = lambda u: anp.sin(W @ u) * s  # noqa: E731
        return ad.grad(lambda x: anp.sum((ad.checkpoint(f, policy=dots) if ck else f)(x)))(X)

    S = np.array([0.5, 2.0])
    got = ad.vmap(lambda s: with_scale(s, True))(S)
    assert checkpointing.last_replay["kept"] == {"matmul": 1}
    np.testing.assert_allclose(got, [s * W.T @ np.cos(W @ X) for s in S], rtol=1e-12)


def test_a_kept_primitive_without_a_reverse_rule_is_refused_not_zero():
    # Its kept result entered the sweep with no rule to pull the cotangent back: the
    # gradient came out zero where grad without checkpoint refuses.
    sq_p = ad.Primitive(
        "test_policy_forward_only_sq", lambda xp, x: x * x, tangent=(lambda t, ans, x: 2 * x * t,)
    )

    def g(x):
        return anp.sum(sq_p.bind(x))

    assert np.allclose(ad.jvp(g, (X,), (np.ones(5),))[1], 2 * X.sum())
    for fun in (g, ad.checkpoint(g, policy=lambda *a, **k: True)):
        with pytest.raises(MissingRuleError, match="test_policy_forward_only_sq"):
            ad.grad(fun)(X)


def test_jit_of_grad_of_checkpoint_recomputes_each_block_when_the_sweep_reaches_it():
    # The compiled program recomputes a block only once the block's output cotangent is
    # known (so the forward pass's intermediates die as it goes, instead of living until
    # the sweep), in the sweep's order; the last block's forward values only served the
    # unused output and are computed once, by the sweep. prevent_cse=False lets the
    # simplifier merge the recomputation with the forward pass.
    order = []

    def impl(xp, x, *, tag):
        order.append(tag)
        return xp.tanh(x)

    tanh_p = ad.Primitive(
        "test_policy_ordered_tanh",
        impl,
        tangent=(lambda t, ans, x, **kw: t * (1 - ans**2),),
        vjp=(lambda ct, ans, x, **kw: ct * (1 - ans**2),),
        needs=(frozenset({"ans"}),),
    )

    def loss(h, wrap):
        for k in range(4):
            h = wrap(lambda u, k=k: tanh_p.bind(tanh_p.bind(u, tag=k), tag=k))(h)
        return anp.sum(h)

    def ref(h):
        for _ in range(4):
            h = np.tanh(np.tanh(h))
        return h

    x = np.linspace(-1.0, 1.0, 5)
    eps = 1e-6
    fd = (ref(x + eps) - ref(x - eps)) / (2 * eps)  # elementwise: the diagonal Jacobian
    forward = [0, 0, 1, 1, 2, 2, 3, 3]
    for wrap, want in (
        (lambda b: b, forward),
        (ad.checkpoint, forward + [2, 2, 1, 1, 0, 0]),
        (functools.partial(ad.checkpoint, prevent_cse=False), forward),
    ):
        fn = ad.jit(ad.grad(lambda h, w=wrap: loss(h, w)))
        fn(x)
        order.clear()
        np.testing.assert_allclose(fn(x), fd, rtol=1e-8)
        assert order == want
