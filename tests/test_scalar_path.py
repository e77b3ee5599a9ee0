"""The float64-scalar short path of reverse mode gives what the general path gives.

Scalar Python code (float64 scalars, one operation at a time) is recorded and swept by a
short path (``ScalarNode``, the ``scalar_operator`` methods, ``scalar_vjp`` rules). Observing
the tape (``adgraph.ad.tape.observe``, as ``make_source`` does) turns the short path off, so
each function here is differentiated both ways and the results must be identical: same
values, same types, bit for bit.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.ad import tape
from adgraph.ad.reverse import ReverseTrace
from adgraph.ad.scalar import ScalarNode
from adgraph.core.trace import trace_scope


class _Observer:
    """Watches the tape without changing it: the general path runs."""

    def __init__(self):
        self.nodes = 0

    def record(self, node, value):
        self.nodes += 1

    def adjoint(self, node, ct):
        pass


@contextlib.contextmanager
def general_path():
    with tape.observe(_Observer()):
        yield


def _chain(x):
    for _ in range(50):
        x = anp.sin(x) * x + 0.5
    return x


def _diamond(x):
    a = x * x
    b = a / (x + 2.0)
    c = 3 - b
    d = -c * a
    return d + 1 / x - 2.0 * x


def _mixed_constants(x, y):
    # Python int/float and NumPy float64 constants on either side of each operator
    c = np.float64(1.5)
    return (2 * x - y * 3.0 + c / x - x / c + 1 - c * y + y - 7) * (x - y)


def _transcendental(x, y):
    return anp.exp(-x) * anp.log(y) + anp.tanh(x * y) - anp.sqrt(y) / anp.cosh(x) + x**2


def _powers_and_trig(x, y):
    return (
        x**3 * anp.cos(y)
        + y**-1
        - anp.sin(x) ** 2
        + x**1 * y**2
        + anp.power(y, 2.5)
        + anp.add(x, y) * anp.subtract(y, x)
        - anp.multiply(x, anp.negative(y))
    )


def _more_functions(x, y):
    return (
        anp.log1p(x * y) * anp.expm1(-y) + anp.sinh(x) / anp.tan(y) - anp.arctan(x - y) * y
        + anp.cosh(y) * anp.exp(x) - anp.cos(x) * anp.tanh(y) + anp.sqrt(x) * anp.log(y)
    )  # fmt: skip


def _branches(x, y):
    # Python control flow on traced scalars follows the value
    z = x * y
    if z > 1.0:
        z = z - anp.log(z)
    return anp.maximum(z, 0.25) + abs(x - y) + anp.where(x > 0, x, -x)


def _arrays_meet_scalars(x, y):
    # a scalar of the tape meets an array: the general path takes over mid-function
    v = anp.stack([x, y, x * y])
    return anp.sum(v * np.array([1.0, 2.0, 3.0])) * x + y


def _article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


CASES = [
    (_chain, (0.3,)),
    (_diamond, (1.7,)),
    (_diamond, (-0.4,)),
    (_mixed_constants, (0.8, -1.3)),
    (_transcendental, (0.7, 2.5)),
    (_powers_and_trig, (1.3, 0.4)),
    (_powers_and_trig, (-0.6, 2.0)),
    (_more_functions, (0.9, 1.2)),
    (_branches, (1.5, 2.0)),
    (_branches, (0.2, 0.3)),
    (_arrays_meet_scalars, (0.6, 1.1)),
    (_article, (2.0, 4.0)),
]


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), (a, b)


def _both(fn, *args):
    fast = fn(*args)
    with general_path():
        slow = fn(*args)
    _same(fast, slow)
    return fast


@pytest.mark.parametrize("f,args", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_grad_fast_equals_general(f, args):
    argnums = tuple(range(len(args)))
    vg = _both(ad.value_and_grad(f, argnums=argnums), *args)
    # and both are right: central differences
    for i, g in enumerate(vg[1]):
        h = 1e-6
        up = list(args)
        dn = list(args)
        up[i] += h
        dn[i] -= h
        fd = (f(*up) - f(*dn)) / (2 * h)
        assert abs(g - fd) <= 1e-6 * (1 + abs(fd)), (i, g, fd)


@pytest.mark.parametrize("f,args", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_vjp_jacrev_hessian_fast_equals_general(f, args):
    argnums = tuple(range(len(args)))
    _both(ad.jacrev(f, argnums=argnums), *args)
    _both(ad.hessian(f, argnums=argnums), *args)

    def pullback(*a):
        out, back = ad.vjp(f, *a)
        return out, back(np.float64(1.0)), back(np.float64(-2.5))  # swept twice

    _both(pullback, *args)
    # reverse over reverse: the inner tape sees tracers, the outer one scalars
    _both(ad.grad(ad.grad(f)), *args)


def test_the_short_path_is_taken():
    tr = ReverseTrace()
    with trace_scope(tr):
        x = tr.new_input(np.float64(0.5))
        y = 2.0 * anp.sin(x) - x / 3 + (-x)
        z = anp.stack([y, y])  # arrays: the general path
    assert isinstance(y.node, ScalarNode)
    assert all(isinstance(p, ScalarNode) for p in y.node.parents if p is not None)
    assert not isinstance(z.node, ScalarNode)
    with general_path():
        tr = ReverseTrace()
        with trace_scope(tr):
            x = tr.new_input(np.float64(0.5))
            y = 2.0 * anp.sin(x) - x
        assert not isinstance(y.node, ScalarNode)


def test_other_dtypes_and_levels_take_the_general_path():
    # float32 scalars keep float32 (not the float64 short path)
    g = ad.grad(lambda x: x * x + 1.0)(np.float32(1.5))
    assert g.dtype == np.float32 and g == np.float32(3.0)
    # complex scalars
    gc = ad.grad(lambda z: anp.real(z * anp.conj(z)))(np.complex128(1.0 + 2.0j))
    assert gc == 2.0 - 4.0j

    # a tracer of an outer transformation as the other operand (perturbation confusion)
    def f(x):
        return ad.grad(lambda y: x * y)(np.float64(3.0))

    assert ad.grad(f)(np.float64(2.0)) == 1.0
    # and of a forward trace inside reverse mode
    d = ad.jvp(lambda x: ad.grad(lambda y: y * y * x)(x), (2.0,), (1.0,))
    assert d[0] == 8.0 and d[1] == 8.0  # d/dx 2x^2 = 4x


def test_division_by_zero_and_domain_errors_agree():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f, x in [
            (lambda x: 1.0 / x, 0.0),
            (lambda x: x / x, 0.0),
            (lambda x: anp.log(x) * x, 0.0),
            (lambda x: anp.sqrt(x) + x, 0.0),
            (lambda x: anp.log(x), -1.0),
        ]:
            _both(ad.value_and_grad(f), x)


def test_escaped_scalar_tracer_is_refused():
    kept = []

    def f(x):
        kept.append(x * 2.0)
        return x

    ad.grad(f)(1.0)
    with pytest.raises(Exception, match="after its transformation returned"):
        kept[0] * 3.0


def test_long_scalar_chain_matches_closed_form():
    # x_{k+1} = x_k * a: d x_n / d x_0 = a^n exactly representable for a = 0.5
    def f(x):
        for _ in range(1000):
            x = x * 0.5 + 0.0
        return x

    assert ad.grad(f)(1.0) == math.ldexp(1.0, -1000)


def test_scalar_code_under_other_transformations():
    f = _transcendental
    args = (0.7, 2.5)
    # linearize keeps every residual (the full node layout) and replays the tape
    y, f_jvp = ad.linearize(lambda x: f(x, 2.5), 0.7)
    _, t = ad.jvp(lambda x: f(x, 2.5), (0.7,), (1.0,))
    assert np.isclose(f_jvp(1.0), t, rtol=1e-14, atol=0)

    # custom rules and checkpoint inside scalar code make the tape mixed
    @ad.custom_vjp
    def cube(x):
        return x * x * x

    cube.defvjp(lambda x: (cube(x), x), lambda x, ct: (3.0 * x * x * ct,))

    def g(x, y):
        return cube(f(x, y)) + ad.checkpoint(lambda u: anp.sin(u) * u)(x)

    _both(ad.value_and_grad(g, argnums=(0, 1)), *args)
    gx = ad.grad(g)(0.7, 2.5)
    h = 1e-6
    assert np.isclose(gx, (g(0.7 + h, 2.5) - g(0.7 - h, 2.5)) / (2 * h), rtol=1e-6)
    # compiled: the same numbers as eager
    _same(ad.jit(ad.grad(f, argnums=(0, 1)))(*args), ad.grad(f, argnums=(0, 1))(*args))


def test_identity_and_constant_outputs():
    assert ad.grad(lambda x: x)(1.5) == 1.0
    assert ad.grad(lambda x, y: y, argnums=(0, 1))(1.5, 2.0) == (0.0, 1.0)
    assert ad.grad(lambda x: x * 0.0 + 3.0)(1.5) == 0.0


def test_a_result_that_is_not_a_scalar_is_computed_once():
    # the short path computes it, finds a 0-d array, and hands it to the general path
    from adgraph.ad.rules import elementwise

    calls = []

    def impl(xp, x):
        calls.append(1)
        return xp.asarray(x * 3.0)  # a 0-d array, not a float64 scalar

    p = elementwise("triple_0d_example", impl, lambda ans, x: 3.0, doc="3x as a 0-d array.")
    g = ad.grad(lambda x: p.bind(x * 1.0) * 2.0)(0.5)
    assert g == 6.0 and len(calls) == 1


def _joint_vjp_primitive():
    """x * y**2 as a primitive whose reverse rule is one joint_vjp (no per-argument vjp,
    no scalar partials): float64 scalars record it on the short path, and its sweep must
    run the joint rule, as the general sweep does."""
    from adgraph.core.primitive import Primitive, registry

    name = "test_scalar_path_joint_vjp"
    if name in registry:
        return registry[name]

    def joint(ct, ans, args, params, wanted):
        x, y = args
        return [ct * y * y if wanted[0] else None, ct * 2.0 * x * y if wanted[1] else None]

    return Primitive(name, lambda xp, x, y: x * y * y, joint_vjp=joint)


def test_a_joint_vjp_rule_runs_on_the_short_path():
    prim = _joint_vjp_primitive()

    def f(x, y):
        return anp.sin(prim.bind(x, y)) + prim.bind(x, 3.0)

    x, y = np.float64(1.5), np.float64(-0.7)
    gx, gy = _both(ad.grad(f, argnums=(0, 1)), x, y)
    c = np.cos(x * y * y)
    assert abs(gx - (c * y * y + 9.0)) <= 1e-15 * 10
    assert abs(gy - c * 2 * x * y) <= 1e-15 * 10
