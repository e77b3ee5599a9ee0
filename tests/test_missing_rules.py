"""A traced argument whose primitive declares no rule for it is refused in every mode,
never given a silent zero derivative."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.core.primitive import MissingRuleError, Primitive, registry
from adgraph.ops import elementwise as E

# x * y with a rule for x only: the derivative in y exists but was never written
half = Primitive(
    "half_ruled_product",
    lambda xp, x, y: x * y,
    tangent=(lambda t, ans, x, y: E.multiply(t, y),),
    vjp=(lambda ct, ans, x, y: E.multiply(ct, y),),
)
registry.pop(half.name)  # a test's own primitive: not one of adgraph's operations
X = np.array([0.5, 1.5])
Y = np.array([2.0, -1.0])


@pytest.mark.parametrize(
    "call",
    [
        lambda: ad.jvp(lambda y: half.bind(X, y), (Y,), (np.ones(2),)),
        lambda: ad.jacfwd(lambda y: half.bind(X, y))(Y),
        lambda: ad.jacfwd(lambda y: anp.sum(half.bind(y, y)))(Y),
        lambda: ad.vmap(lambda y: ad.jvp(lambda v: half.bind(X, v), (y,), (y,))[1])(Y[:, None]),
        lambda: ad.grad(lambda y: anp.sum(half.bind(X, y)))(Y),
        lambda: ad.hessian(lambda y: anp.sum(half.bind(X, y) ** 2))(Y),
    ],
    ids=["jvp", "jacfwd", "jacfwd-both", "vmap-jvp", "grad", "hessian"],
)
def test_no_rule_for_a_traced_argument_is_refused(call):
    with pytest.raises(MissingRuleError, match=r"half_ruled_product.*for argument 1"):
        call()


def test_the_argument_with_a_rule_still_differentiates():
    _, t = ad.jvp(lambda x: half.bind(x, Y), (X,), (np.ones(2),))
    np.testing.assert_array_equal(t, Y)
    np.testing.assert_array_equal(ad.jacfwd(lambda x: half.bind(x, Y))(X), np.diag(Y))


def test_a_rule_that_says_zero_gives_zero():
    # copysign's derivative in the sign argument is zero (piecewise constant): declared so
    _, t = ad.jvp(lambda y: anp.copysign(2.0, y), (Y,), (np.ones(2),))
    np.testing.assert_array_equal(t, [0.0, 0.0])
    np.testing.assert_array_equal(ad.jacfwd(lambda y: anp.copysign(X, y))(Y), np.zeros((2, 2)))
