"""Property tests: random compositions of operations, checked three ways.

* forward and reverse mode give the same Jacobian;
* Hessians are symmetric (and forward-over-reverse equals reverse-over-reverse);
* the derivative of a random composition matches central finite differences.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import adgraph as ad
import adgraph.numpy as anp
from adgraph.test_util import check_grads

# Smooth unary maps, safe on all reals (the composition stays finite and differentiable).
UNARY = {
    "sin": anp.sin,
    "cos": anp.cos,
    "tanh": anp.tanh,
    "arctan": anp.arctan,
    "softplus": lambda x: anp.logaddexp(x, 0.0),
    "gauss": lambda x: anp.exp(-(x**2)),
    "sq_scaled": lambda x: 0.3 * x**2,
    "sinh_small": lambda x: anp.sinh(0.3 * x),
    "log1p_sq": lambda x: anp.log1p(x * x),
    "sqrt1p_sq": lambda x: anp.sqrt(1.0 + x * x),
}
# Smooth binary maps.
BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (1.5 + anp.cos(y)),
    "hypot1": lambda x, y: anp.hypot(x, 1.0 + y * y),
    "logaddexp": anp.logaddexp,
}
# Reductions and structural operations, combined so each keeps the (3, 3) shape.
STRUCT = {
    "sum0": lambda x: x - 0.5 * anp.sum(x, axis=0),
    "mean": lambda x: anp.mean(x, axis=-1, keepdims=True) + x,
    "cumsum": lambda x: anp.cumsum(x, axis=-1),
    "matmul": lambda x: (x @ anp.transpose(x)) / 3.0,
    "flip": lambda x: anp.flip(x, axis=-1),
    "slice": lambda x: anp.concatenate([x[..., 1:], x[..., :1]], axis=-1),
    "max": lambda x: anp.max(x, axis=-1, keepdims=True) * x,
}

step = st.one_of(
    st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
    st.tuples(st.just("b"), st.sampled_from(sorted(BINARY))),
    st.tuples(st.just("s"), st.sampled_from(sorted(STRUCT))),
)


def build(program):
    """f(x, y): apply the steps, binary steps mixing in y; reduce to a vector at the end."""

    def f(x, y):
        h = x
        for kind, name in program:
            if kind == "u":
                h = UNARY[name](h)
            elif kind == "b":
                h = BINARY[name](h, y)
            else:
                h = STRUCT[name](h)
        return anp.sum(h * h, axis=0)

    return f


inputs = st.integers(0, 10_000).map(
    lambda seed: tuple(np.random.default_rng(seed).uniform(-1.2, 1.2, size=(2, 3, 3))[:2])
)


@settings(max_examples=40, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=6), xy=inputs)
def test_forward_and_reverse_jacobians_agree(program, xy):
    f = build(program)
    x, y = xy
    Jf = ad.jacfwd(f, argnums=(0, 1))(x, y)
    Jr = ad.jacrev(f, argnums=(0, 1))(x, y)
    for a, b in zip(Jf, Jr):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=5), xy=inputs)
def test_random_composition_matches_finite_differences(program, xy):
    f = build(program)
    x, y = xy
    check_grads(f, (x, y), order=1, rtol=1e-4, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=5), xy=inputs)
def test_hessians_are_symmetric_and_modes_agree(program, xy):
    f = build(program)
    x, y = xy
    scalar = lambda x: anp.sum(f(x, y))
    H = ad.hessian(scalar)(x)
    n = x.size
    Hm = H.reshape(n, n)
    np.testing.assert_allclose(Hm, Hm.T, rtol=1e-8, atol=1e-8)
    H2 = ad.jacrev(ad.jacrev(scalar))(x).reshape(n, n)
    np.testing.assert_allclose(Hm, H2, rtol=1e-8, atol=1e-8)
