"""The article's classes: Dual (forward mode) and Var (reverse mode)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph import Dual, Var


def mul_add(a, b, c):
    return a * b + c * a


def div_sub(a, b, c):
    return a / b - c


# ------------------------------------------------------------------ the article, as written
def test_article_forward_mode_exact():
    a, b, c = Dual(25.0, 1.0), Dual(4.0, 0.0), Dual(-5.0, 0.0)
    assert f"{a = }, {b = }, {c = }" == (
        "a = primal: 25.0, tangent: 1.0, b = primal: 4.0, tangent: 0.0, "
        "c = primal: -5.0, tangent: 0.0"
    )
    d = mul_add(a, b, c)
    assert (d.primal, d.tangent) == (-25.0, -1.0)
    assert f"{mul_add(a, b, c) = }" == "mul_add(a, b, c) = primal: -25.0, tangent: -1.0"
    a.tangent, b.tangent, c.tangent = 0.0, 1.0, 0.0
    e = div_sub(a, b, c)
    assert (e.primal, e.tangent) == (11.25, -1.5625)
    assert f"{div_sub(a, b, c) = }" == "div_sub(a, b, c) = primal: 11.25, tangent: -1.5625"


def test_article_reverse_mode_exact():
    a, b, c = Var(25.0), Var(4.0), Var(-5.0)
    d = mul_add(a, b, c)
    d.backward(1.0)
    assert f"{d = }" == "d = primal: -25.0, adjoint: 1.0"
    assert (a.adjoint, b.adjoint, c.adjoint) == (-1.0, 25.0, 25.0)
    a.adjoint, b.adjoint, c.adjoint = 0.0, 0.0, 0.0
    e = div_sub(a, b, c)
    e.backward(1.0)
    assert f"{e = }" == "e = primal: 11.25, adjoint: 1.0"
    assert (a.adjoint, b.adjoint, c.adjoint) == (0.25, -1.5625, -1.0)


def test_article_reverse_code_verbatim_starting_adjoint():
    # The article creates a = Variable(25.0, 1.0): that initial adjoint is added to.
    a, b, c = Var(25.0, 1.0), Var(4.0, 0.0), Var(-5.0, 0.0)
    mul_add(a, b, c).backward(1.0)
    assert (a.adjoint, b.adjoint, c.adjoint) == (0.0, 25.0, 25.0)


def test_backward_twice_accumulates_and_zero_grad_resets():
    a, b, c = Var(25.0), Var(4.0), Var(-5.0)
    d = mul_add(a, b, c)
    d.backward()
    d.backward()
    assert (a.adjoint, b.adjoint, c.adjoint, d.adjoint) == (-2.0, 50.0, 50.0, 2.0)
    d.zero_grad()
    assert (a.adjoint, b.adjoint, c.adjoint, d.adjoint) == (0.0, 0.0, 0.0, 0.0)
    d.backward(0.5)
    assert a.adjoint == -0.5


def test_diamond_dag_is_visited_once_per_node():
    # 60 levels, each using the previous value twice: 2**60 paths, 180 nodes.
    # The seed adjoint counts the multiplications the sweep does: one per edge from a Var
    # to a Var parent (4 per level) when every node is visited once; a sweep that walked
    # paths instead of nodes would do about 2**60.
    class Counting(np.ndarray):
        multiplications = 0

        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            if ufunc is np.multiply:
                Counting.multiplications += 1
            plain = [np.asarray(i) if isinstance(i, Counting) else i for i in inputs]
            return np.asarray(getattr(ufunc, method)(*plain, **kwargs)).view(Counting)

    x = Var(0.7)
    y = x
    for _ in range(60):
        y = y * 0.5 + y * 0.5
    y.backward(np.asarray(1.0).view(Counting))
    assert Counting.multiplications == 4 * 60
    assert x.adjoint == pytest.approx(1.0)
    d = Dual(0.7, 1.0)
    z = d
    for _ in range(60):
        z = z * 0.5 + z * 0.5
    assert z.tangent == pytest.approx(1.0)


def test_deep_chain_needs_no_recursion():
    x = Var(0.3)
    y = x
    for _ in range(20000):
        y = y.sin() * 0.5 + 0.1
    y.backward()
    assert math.isfinite(x.adjoint)


# ------------------------------------------------------------------ operators and functions
BINARY = [
    (lambda a, b: a + b, "add"),
    (lambda a, b: a - b, "sub"),
    (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "div"),
    (lambda a, b: a**b, "pow"),
    (lambda a, b: 2.0 + a - 3.0 * b, "numbers left"),
    (lambda a, b: a / 3.0 - 1.5 / b + b**2 - 2.0**a, "numbers both sides"),
]

UNARY = [
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "sinh",
    "cosh",
    "tanh",
    "sqrt",
    "arcsin",
    "arccos",
    "arctan",
    "log1p",
    "expm1",
    "abs",
    "square",
]


def fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("f,name", BINARY, ids=[n for _, n in BINARY])
def test_binary_operators_both_modes(f, name):
    x, y = 0.7, 1.3
    want_x = fd(lambda u: f(u, y), x)
    want_y = fd(lambda u: f(x, u), y)
    assert f(Dual(x, 1.0), Dual(y, 0.0)).tangent == pytest.approx(want_x, rel=1e-6)
    assert f(Dual(x, 0.0), Dual(y, 1.0)).tangent == pytest.approx(want_y, rel=1e-6)
    a, b = Var(x), Var(y)
    out = f(a, b)
    assert out.primal == pytest.approx(f(x, y))
    out.backward()
    assert (a.adjoint, b.adjoint) == pytest.approx((want_x, want_y), rel=1e-6)


@pytest.mark.parametrize("name", UNARY)
def test_math_functions_methods_numpy_and_adgraph(name):
    x = 0.4
    ref = getattr(np, name)
    want = fd(ref, x)
    for call in (lambda v: getattr(v, name)(), lambda v: ref(v), lambda v: getattr(anp, name)(v)):
        d = call(Dual(x, 1.0))
        assert isinstance(d, Dual)
        assert d.primal == pytest.approx(ref(x))
        assert d.tangent == pytest.approx(want, rel=1e-6)
        v = Var(x)
        out = call(v)
        assert isinstance(out, Var)
        out.backward()
        assert v.adjoint == pytest.approx(want, rel=1e-6)


def test_plain_floats_stay_plain():
    d = Dual(2.0, 1.0).exp()
    assert type(d.primal) is float and type(d.tangent) is float


def test_comparisons_follow_values_so_branches_work():
    def branch(x):  # the article's control-flow example
        if x > 2:
            return x * 2 + 5
        return x / 2 + 5

    assert branch(Dual(3.0, 1.0)).tangent == 2.0
    assert branch(Dual(1.0, 1.0)).tangent == 0.5
    v = Var(3.0)
    branch(v).backward()
    assert v.adjoint == 2.0
    assert Dual(1.0) < 2 and Var(3.0) >= Var(3.0)


def test_agrees_with_the_engine():
    def f(x1, x2):
        return x1 * x2 + x2 - anp.log(x1)

    a, b = Var(2.0), Var(4.0)
    f(a, b).backward()
    assert (a.adjoint, b.adjoint) == ad.grad(f, argnums=(0, 1))(2.0, 4.0)
    assert f(Dual(2.0, 1.0), Dual(4.0, 0.0)).tangent == 3.5


def test_arrays_elementwise():
    x = np.array([0.5, 1.0, 2.0])
    d = (Dual(x, np.ones(3)) ** 2).sin()
    np.testing.assert_allclose(d.tangent, np.cos(x**2) * 2 * x)
    v = Var(x)
    (v * v).exp().backward(np.ones(3))
    np.testing.assert_allclose(v.adjoint, np.exp(x**2) * 2 * x)


def test_mixing_the_two_classes_is_refused():
    with pytest.raises(TypeError):
        Dual(1.0, 1.0) + Var(1.0)
    with pytest.raises(TypeError):
        Var(Dual(1.0, 0.0))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("adjoint", ["x", None, [1.0], True, object()])
def test_backward_refuses_a_non_numeric_adjoint(adjoint):
    v = Var(2.0)
    y = v * v
    with pytest.raises(TypeError, match="Var.backward: the adjoint must be a number"):
        y.backward(adjoint=adjoint)
    assert v.adjoint == 0.0  # nothing was accumulated


def test_backward_adjoint_shape_must_fit_the_value():
    v = Var(np.ones(3))
    y = v * 2.0
    with pytest.raises(ValueError, match=r"shape \(2,\) does not fit a value of shape \(3,\)"):
        y.backward(np.ones(2))
    y.backward(np.arange(3.0))  # an array of the value's shape
    np.testing.assert_array_equal(v.adjoint, [0.0, 2.0, 4.0])
    w = Var(2.0)
    (w * w).backward(np.float32(0.5))  # NumPy scalars are numbers
    assert w.adjoint == 2.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Var("x"), "Var: the primal must be a number"),
        (lambda: Var([1.0, 2.0]), r"make it an array: np.array\(...\)"),
        (lambda: Var(1.0, adjoint="a"), "Var: the adjoint must be a number"),
        (lambda: Dual("x", 1.0), "Dual: the primal must be a number"),
        (lambda: Dual(1.0, None), "Dual: the tangent must be a number"),
        (lambda: Dual(np.array(["a"]), 1.0), "numeric NumPy array"),
    ],
)
def test_constructors_refuse_non_numbers(make, match):
    with pytest.raises(TypeError, match=match):
        make()
