"""jit of functions that close over values traced by an enclosing transformation.

Each program is written once with a ``J`` that is either ``ad.jit`` or the identity, and
every transformation of the compiled program must give what it gives without jit (to
rounding), and agree with finite differences:

* a result computed only from closed-over values (``jit(lambda u: sin(x))(x)``): the value
  is lifted into an input of the compiled program and returned by it;
* a closed-over boolean or integer (a comparison, an ``argmin``) traced by an enclosing jit
  or vmap: differentiated in reverse mode, it has no cotangent;
* arguments that are not traced while closed-over values are: the compiled program is not
  run on the tracers, the call goes through the transformations like a traced one.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.trace import EscapedTracerError

X = np.array([0.1, 0.5, 1.0])
W = np.array([0.7, -1.3, 0.4])  # output weights: L(x) = sum(f(x) * W)
V = np.array([0.3, -0.2, 0.9])  # a tangent
XB = np.stack([X, X[::-1] + 0.05, X * 0.5 + 0.2])  # a batch for vmap
CONST = np.array([0.2, -0.4, 0.8])


def plain(g):
    return g


# Each f(x, J) maps shape (3,) to shape (3,); x only ever enters through closures or calls.
def only_closure(x, J):  # the jit's result comes from the closed-over value alone
    return J(lambda u: anp.sin(x))(x) * x


def only_closure_no_args(x, J):
    return J(lambda: anp.exp(x) * 0.5)() + x


def closure_and_argument_outputs(x, J):  # one output from the argument, one from the closure
    a, b = J(lambda u: (u * u, anp.cos(x)))(x)
    return a + b


def closure_returned_as_is(x, J):
    y = anp.tanh(x)
    return J(lambda u: (y, u + y))(x)[0] * J(lambda u: (y, u + y))(x)[1]


def grad_independent_of_the_argument(x, J):  # grad wrt b of sin(a) * b is sin(a): no b
    h = lambda a, b: anp.sum(anp.sin(a) * b)  # noqa: E731
    return J(lambda b: ad.grad(h, argnums=1)(x, b))(x * 2.0) * x


def closed_over_comparison(x, J):
    return J(lambda a: a * (x > 0.3))(x) + x * x


def closed_over_argmin(x, J):
    return J(lambda a: a * anp.argmin(x) + a[anp.argmin(x)])(x) * x


def closed_over_integer_array(x, J):
    k = anp.argsort(x)
    return J(lambda a: anp.take(a, k) * anp.sin(a))(x)


def untraced_arguments_exp(x, J):
    return J(lambda a: anp.exp(a * x))(CONST)


def untraced_arguments_scatter(x, J):
    return J(lambda a: anp.at(a)[::2].add(x[:2] * x[1:]))(CONST)


def untraced_arguments_nested_jit(x, J):
    inner = J(lambda a: anp.sin(a * x))
    return J(lambda a: inner(a) * x + a)(CONST)


CASES = [
    only_closure,
    only_closure_no_args,
    closure_and_argument_outputs,
    closure_returned_as_is,
    grad_independent_of_the_argument,
    closed_over_comparison,
    closed_over_argmin,
    closed_over_integer_array,
    untraced_arguments_exp,
    untraced_arguments_scatter,
    untraced_arguments_nested_jit,
]


def fns(case, J):
    f = lambda x: case(x, J)  # noqa: E731
    L = lambda x: anp.sum(f(x) * W)  # noqa: E731
    return f, L


TRANSFORMS = {
    "value": lambda f, L: f(X),
    "grad": lambda f, L: ad.grad(L)(X),
    "jvp": lambda f, L: ad.jvp(f, (X,), (V,)),
    "vjp": lambda f, L: ad.vjp(f, X)[1](W)[0],
    "vmap": lambda f, L: ad.vmap(f)(XB),
    "vmap_grad": lambda f, L: ad.vmap(ad.grad(L))(XB),
    "hessian": lambda f, L: ad.hessian(L)(X),
    "jacfwd": lambda f, L: ad.jacfwd(f)(X),
    "jacrev": lambda f, L: ad.jacrev(f)(X),
    "jit_value": lambda f, L: ad.jit(f)(X),
    "jit_grad": lambda f, L: ad.jit(ad.grad(L))(X),
    "jit_jvp": lambda f, L: ad.jit(lambda x: ad.jvp(f, (x,), (V,)))(X),
    "jit_vjp": lambda f, L: ad.jit(lambda x: ad.vjp(f, x)[1](W)[0])(X),
    "jit_hessian": lambda f, L: ad.jit(ad.hessian(L))(X),
    "jit_vmap_grad": lambda f, L: ad.jit(ad.vmap(ad.grad(L)))(XB),
    "vmap_jit_grad": lambda f, L: ad.vmap(ad.jit(ad.grad(L)))(XB),
    "grad_jit": lambda f, L: ad.grad(ad.jit(L))(X),
    "jit_jit_grad": lambda f, L: ad.jit(lambda x: ad.jit(ad.grad(L))(x))(X),
}


def assert_trees_close(a, b, rtol=1e-12, atol=1e-12):
    la, ta = ad.tree_flatten(a)
    lb, tb = ad.tree_flatten(b)
    assert ta == tb
    for u, v in zip(la, lb):
        assert not isinstance(u, ad.Tracer), "a tracer came out"
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=rtol, atol=atol)


@pytest.mark.parametrize("how", list(TRANSFORMS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_jit_equals_no_jit(case, how):
    got = TRANSFORMS[how](*fns(case, ad.jit))
    want = TRANSFORMS[how](*fns(case, plain))
    assert_trees_close(got, want)


def _fd_grad(L, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (L(x + e) - L(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_derivatives_match_finite_differences(case):
    f, L = fns(case, ad.jit)
    fd = _fd_grad(lambda x: float(L(x)), X)
    np.testing.assert_allclose(ad.grad(L)(X), fd, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(ad.jit(ad.grad(L))(X), fd, rtol=1e-7, atol=1e-8)
    h = 1e-6
    fd_t = (np.asarray(f(X + h * V)) - np.asarray(f(X - h * V))) / (2 * h)
    np.testing.assert_allclose(ad.jvp(f, (X,), (V,))[1], fd_t, rtol=1e-7, atol=1e-8)
    # the Hessian by finite differences of the (already checked) gradient
    H = ad.hessian(L)(X)
    fd_H = np.stack([_fd_grad(lambda x, i=i: float(ad.grad(L)(x)[i]), X) for i in range(3)])
    np.testing.assert_allclose(H, fd_H, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- the minimal repros
def test_result_only_from_a_closed_over_value():
    f = lambda x: ad.jit(lambda u: anp.sin(x))(x)  # noqa: E731
    assert ad.grad(f)(1.0) == pytest.approx(np.cos(1.0), rel=1e-15)
    y, t = ad.jvp(f, (1.0,), (2.0,))
    assert (y, t) == (pytest.approx(np.sin(1.0)), pytest.approx(2 * np.cos(1.0)))
    np.testing.assert_allclose(ad.vmap(f)(np.array([1.0, 2.0])), np.sin([1.0, 2.0]), rtol=1e-15)
    assert ad.hessian(f)(1.0) == pytest.approx(-np.sin(1.0), rel=1e-14)


def test_gradient_inside_jit_that_does_not_depend_on_its_argument():
    h = lambda a, b: a * b  # noqa: E731  d/db = a
    f = lambda a, b: ad.jit(lambda bb: ad.grad(h, argnums=1)(a, bb))(b)  # noqa: E731
    assert f(3.0, 5.0) == 3.0
    assert ad.grad(f)(3.0, 5.0) == 1.0
    assert ad.grad(lambda a: f(a, 5.0) ** 2)(3.0) == 6.0


def test_closed_over_boolean_under_jit_and_vmap():
    x = np.array([0.1, 0.5])
    L = lambda x: anp.sum(ad.jit(lambda a: a * (x > 0.3))(x))  # noqa: E731
    want = np.array([0.0, 1.0])
    np.testing.assert_array_equal(ad.grad(L)(x), want)
    np.testing.assert_array_equal(ad.jit(ad.grad(L))(x), want)
    np.testing.assert_array_equal(ad.vmap(ad.grad(L))(np.stack([x, x[::-1]])), [want, want[::-1]])


def test_closed_over_argmin_under_jit():
    x = np.array([0.5, 0.1, 0.7])
    L = lambda x: anp.sum(ad.jit(lambda a: a * anp.argmin(x))(x))  # noqa: E731
    np.testing.assert_array_equal(ad.jit(ad.grad(L))(x), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ad.vmap(ad.grad(L))(np.stack([x, x[::-1]])), np.ones((2, 3)))


def test_integer_output_of_a_jit_closing_over_traced_values():
    # an int output gets no cotangent; the float one is differentiated
    def L(x):
        i, s = ad.jit(lambda a: (anp.argmax(a * x), anp.sum(anp.sin(a * x))))(x)
        return s * 2.0 + i

    x = np.array([0.3, 0.9, 0.2])
    np.testing.assert_allclose(ad.grad(L)(x), 4 * x * np.cos(x * x), rtol=1e-14)
    np.testing.assert_allclose(ad.jit(ad.grad(L))(x), 4 * x * np.cos(x * x), rtol=1e-14)


def test_untraced_arguments_with_traced_closures():
    x = np.array([0.1, 0.5, 1.0])
    g = ad.grad(lambda y: anp.sum(ad.jit(lambda a: anp.exp(a * y))(x)))(0.7)
    assert g == pytest.approx(np.sum(x * np.exp(0.7 * x)), rel=1e-14)
    out = ad.vmap(lambda y: ad.jit(lambda a: anp.at(a)[::2].add(y))(x))(np.ones((2, 2)))
    np.testing.assert_array_equal(out, [[1.1, 0.5, 2.0], [1.1, 0.5, 2.0]])


def test_c_backend_with_traced_closures_uses_the_traced_path():
    f = lambda y: ad.jit(lambda a: anp.sin(a * y), compiler="c")(2.0)  # noqa: E731
    with np.errstate(all="ignore"):
        assert ad.grad(f)(0.3) == pytest.approx(2.0 * np.cos(0.6), rel=1e-14)


# ---------------------------------------------------------------- the compiled-program cache
def test_a_program_compiled_for_a_concrete_closure_is_not_reused_for_a_traced_one():
    y = 3.0

    def inner(a):
        return a * a * y

    f = ad.jit(inner)

    def L(yy):
        nonlocal y
        y = yy
        return f(2.0)

    assert L(3.0) == 12.0  # compiled and cached with y = 3.0 baked in
    assert ad.grad(L)(5.0) == 4.0  # y is traced now: not the cached program
    assert ad.jvp(L, (5.0,), (1.0,)) == (20.0, 4.0)
    np.testing.assert_array_equal(ad.vmap(L)(np.array([1.0, 2.0])), [4.0, 8.0])
    assert ad.grad(lambda yy: ad.grad(lambda z: L(yy) * z)(1.0))(5.0) == 4.0
    # with traced arguments too
    g = ad.jit(inner)
    y = 3.0
    assert ad.grad(g)(2.0) == 12.0  # cached for traced arguments, y = 3.0 baked in

    def M(yy):
        nonlocal y
        y = yy
        return ad.grad(g)(2.0)  # 4 yy

    assert ad.grad(M)(5.0) == 4.0
    assert ad.jit(M)(5.0) == 20.0


_STATE: dict = {}


def _reads_a_global(a):
    return anp.sin(a * _STATE["y"])


def test_a_traced_value_reached_through_a_global_is_lifted_too():
    # the closure scan does not look into globals; tracing finds the value and the program
    # is bound on it instead of run on it
    def L(y):
        _STATE["y"] = y
        return ad.jit(_reads_a_global)(X)

    try:
        np.testing.assert_allclose(ad.jacfwd(L)(0.7), X * np.cos(0.7 * X), rtol=1e-14)
        np.testing.assert_allclose(
            ad.vmap(L)(np.array([0.7, 0.2])), np.sin(np.outer([0.7, 0.2], X))
        )
    finally:
        _STATE.clear()


def test_programs_with_closures_are_not_cached():
    f = ad.jit(lambda a: a)
    h = lambda y: ad.jit(lambda a: a * y)(2.0)  # noqa: E731
    assert ad.grad(h)(1.0) == 2.0
    assert ad.grad(h)(1.0) == 2.0
    assert f(1.0) == 1.0 and len(f._cache) == 1


def test_plain_calls_scan_for_closures_only_under_a_transformation(monkeypatch):
    import adgraph.jit.api as japi

    calls = []
    real = japi._holds_live_tracer
    monkeypatch.setattr(japi, "_holds_live_tracer", lambda f: calls.append(f) or real(f))
    c = 2.0
    f = ad.jit(lambda a: a * c)
    for _ in range(3):
        assert f(1.5) == 3.0
    assert calls == []  # no transformation in flight
    assert ad.grad(lambda y: f(1.5) * y)(1.0) == 3.0
    assert len(calls) == 1
    g = ad.jit(lambda a: a * 2.0)  # no closure cells: nothing to scan
    assert ad.grad(lambda y: g(1.5) * y)(1.0) == 3.0
    assert len(calls) == 1


def test_a_leaked_tracer_returned_by_a_jit_function_is_named():
    leak = []
    ad.grad(lambda x: (leak.append(anp.sin(x)), x)[1])(1.0)
    with pytest.raises(EscapedTracerError, match="leaked"):
        ad.jit(lambda u: leak[0])(1.0)
    with pytest.raises(EscapedTracerError, match="leaked"):
        ad.grad(lambda x: ad.jit(lambda u: leak[0] + u)(x))(1.0)


def test_branch_on_a_batched_closed_over_value_is_refused():
    # the branch is on a value of the compiled program computed from the closed-over y
    f = lambda y: ad.jit(lambda a: a * 2.0 if a * y > 0 else a)(1.0)  # noqa: E731
    assert ad.grad(lambda y: f(y) * y)(1.0) == 2.0
    with pytest.raises(TypeError, match="anp.where|adgraph.numpy.where"):
        ad.vmap(f)(np.array([1.0, -1.0]))
    # under an enclosing jit, the branch is guarded there: a new branch traces again
    jf = ad.jit(lambda y: f(y) * y)
    assert jf(1.0) == 2.0 and jf(-1.0) == -1.0 and jf(2.0) == 4.0
