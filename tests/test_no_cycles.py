"""Transformations leave no reference cycles behind: everything a derivative allocated is
freed by reference counting when the call returns, not later by the cyclic collector (a
cycle would keep the arrays alive between calls, and the heap growing and being trimmed
costs page faults on every call)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp

rng = np.random.default_rng(0)
PARAMS = [
    {"W": rng.standard_normal((4, 3)), "b": np.zeros(3)},
    (rng.standard_normal((3, 2)), np.zeros(2)),
]
X = rng.standard_normal((5, 4))
V = rng.standard_normal(4)


def mlp(params, x):
    h = anp.tanh(x @ params[0]["W"] + params[0]["b"])
    W, b = params[1]
    return anp.sum((h @ W + b) ** 2)


def f(v):
    return anp.sum(anp.sin(v) * v) + anp.prod(v[:2])


@ad.custom_vjp
def cube(x):
    return x**3


cube.defvjp(lambda x: (cube(x), x), lambda x, ct: (3.0 * x**2 * ct,))

CALLS = {
    "grad of a pytree": lambda: ad.grad(mlp)(PARAMS, X),
    "value_and_grad, has_aux": lambda: ad.value_and_grad(
        lambda p: (mlp(p, X), {"n": 1}), has_aux=True
    )(PARAMS),
    "grad of scalar code": lambda: ad.grad(lambda a, b: a * b + anp.sin(a), argnums=(0, 1))(
        0.3, 2.0
    ),
    "vjp": lambda: ad.vjp(f, V)[1](1.0),
    "jvp": lambda: ad.jvp(f, (V,), (V,)),
    "jacfwd": lambda: ad.jacfwd(lambda v: anp.sin(v) * v)(V),
    "jacrev": lambda: ad.jacrev(lambda v: anp.sin(v) * v)(V),
    "hessian": lambda: ad.hessian(f)(V),
    "vmap": lambda: ad.vmap(f)(X),
    "custom_vjp and checkpoint": lambda: ad.grad(
        lambda v: anp.sum(cube(v)) + anp.sum(ad.checkpoint(anp.sin)(v))
    )(V),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_no_cycles(name):
    call = CALLS[name]
    call()  # warm caches (compiled signatures, rule plans)
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        out = call()
        del out
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()
