"""Hostile and mistaken calls across the public API.

Every public entry point refuses bad input with an error whose type is a built-in one
(TypeError, ValueError and adgraph's subclasses of them; IndexError where NumPy raises it;
LinAlgError, a ValueError) and whose message names the problem -- never a bare KeyError,
an AttributeError from inside the engine, an assertion, or a silent wrong answer.
The second half pins the values (finite, or nan where the maths has no answer) at the
points where a naive rule would give nan.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import scipy.special as ss

import adgraph as ad
import adgraph.numpy as anp
import adgraph.numpy.fft as afft
import adgraph.numpy.linalg as la
import adgraph.scipy.special as sp
from adgraph.core.pytree import register_pytree_node, tree_flatten, tree_map, tree_unflatten
from adgraph.core.trace import EscapedTracerError
from adgraph.ops._util import OpError
from adgraph.test_util import check_grads, check_jvp, check_vjp

X = np.arange(1.0, 7.0).reshape(2, 3)
V = np.array([1.0, 2.0, 3.0])
MASKED = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
S = np.array([[1.0, 2.0], [2.0, 4.0]])  # singular


def f(x):
    return anp.sum(x**2)


def f2(x, y):
    return anp.sum(x * y)


def under_grad(g):
    """Run ``g`` on a traced copy of X (the error must be the same as on plain arrays)."""

    def h(x):
        out = g(x)
        return anp.sum(anp.real(out)) if not isinstance(out, (tuple, list)) else x[0, 0]

    return lambda: ad.grad(h)(X)


def _custom_vjp(fwd, bwd, fun=lambda x, y: x * y, **kw):
    g = ad.custom_vjp(fun, **kw)
    g.defvjp(fwd, bwd)
    return g


def _custom_jvp(rule, fun=anp.sin):
    g = ad.custom_jvp(fun)
    g.defjvp(rule)
    return g


def _grad_through_vjp(g, *args):
    return lambda: ad.grad(lambda a: anp.sum(g(a, *args)))(V)


def _fwd(x, y):
    return x * y, (x, y)


# ---------------------------------------------------------------- transformations
TRANSFORMS = [
    # non-callable functions, caught when the transformation is made
    ("grad-not-callable", lambda: ad.grad(3), TypeError, r"grad: .*must be callable.*int"),
    ("value_and_grad-none", lambda: ad.value_and_grad(None), TypeError, r"must be callable"),
    ("jacfwd-not-callable", lambda: ad.jacfwd("f"), TypeError, r"jacfwd: .*callable"),
    ("jacrev-not-callable", lambda: ad.jacrev(1.0), TypeError, r"jacrev: .*callable"),
    ("hessian-not-callable", lambda: ad.hessian([]), TypeError, r"hessian: .*callable"),
    ("vmap-not-callable", lambda: ad.vmap(X), TypeError, r"vmap: .*callable"),
    ("jvp-not-callable", lambda: ad.jvp(3, (1.0,), (1.0,)), TypeError, r"jvp: .*callable"),
    ("vjp-not-callable", lambda: ad.vjp(3, 1.0), TypeError, r"vjp: .*callable"),
    ("hvp-not-callable", lambda: ad.hvp(3, (1.0,), (1.0,)), TypeError, r"hvp: .*callable"),
    ("linearize-not-callable", lambda: ad.linearize(3, 1.0), TypeError, r"linearize: .*call"),
    # argnums
    ("argnums-out-of-range", lambda: ad.grad(f, argnums=1)(X), ValueError, r"argnums 1 is out"),
    ("argnums-negative", lambda: ad.grad(f, argnums=-2)(X), ValueError, r"argnums -2 is out"),
    ("argnums-float", lambda: ad.grad(f, argnums=0.0)(X), TypeError, r"argnums must be an int"),
    ("argnums-str", lambda: ad.jacrev(f, argnums="0")(X), TypeError, r"argnums must be an int"),
    ("argnums-bool", lambda: ad.grad(f2, argnums=True)(X, X), TypeError, r"argnums"),
    ("argnums-in-tuple", lambda: ad.grad(f2, argnums=(0, 1.0))(X, X), TypeError, r"ints"),
    ("argnums-duplicate", lambda: ad.grad(f2, argnums=(0, 0))(X, X), ValueError, r"twice"),
    ("argnums-dup-negative", lambda: ad.jacfwd(f2, argnums=(1, -1))(X, X), ValueError, "twice"),
    ("argnums-empty", lambda: ad.grad(f2, argnums=())(X, X), ValueError, r"argnums is empty"),
    ("grad-no-arguments", lambda: ad.grad(f)(), ValueError, r"0 positional arguments"),
    # has_aux
    ("grad-aux-not-pair", lambda: ad.grad(f, has_aux=True)(X), TypeError, r"pair \(output, aux"),
    (
        "grad-aux-triple",
        lambda: ad.grad(lambda x: (f(x), 1, 2), has_aux=True)(X),
        TypeError,
        r"pair.*length 3",
    ),
    ("jvp-aux-not-pair", lambda: ad.jvp(f, (X,), (X,), has_aux=True), TypeError, r"pair"),
    ("vjp-aux-not-pair", lambda: ad.vjp(f, X, has_aux=True), TypeError, r"pair"),
    ("jacfwd-aux-not-pair", lambda: ad.jacfwd(f, has_aux=True)(X), TypeError, r"pair"),
    ("jacrev-aux-not-pair", lambda: ad.jacrev(f, has_aux=True)(X), TypeError, r"pair"),
    (
        "jacfwd-aux-not-an-array",
        lambda: ad.jacfwd(lambda x: (f(x), "tag"), has_aux=True)(X),
        TypeError,
        r"^jacfwd\(<lambda>\): the auxiliary output \(has_aux=True\) must hold arrays.*got str",
    ),
    (
        "hessian-aux-not-an-array",
        lambda: ad.hessian(lambda x: (f(x), "tag"), has_aux=True)(X),
        TypeError,
        r"^hessian\(<lambda>\): the auxiliary output \(has_aux=True\)",
    ),
    # inputs
    ("grad-int-input", lambda: ad.grad(f)(2), TypeError, r"dtype int64.*float"),
    ("grad-bool-input", lambda: ad.grad(f)(True), TypeError, r"dtype bool"),
    ("grad-str-input", lambda: ad.grad(f)("x"), TypeError, r"arrays, numbers or pytrees.*str"),
    ("grad-object-input", lambda: ad.grad(f)(object()), TypeError, r"got object"),
    ("grad-int-array", lambda: ad.grad(f)(np.arange(3)), TypeError, r"int64"),
    ("grad-none-input", lambda: ad.grad(f)(None), TypeError, r"hold no arrays"),
    ("jacfwd-empty-input", lambda: ad.jacfwd(f)(()), TypeError, r"hold no arrays"),
    ("vjp-none-primal", lambda: ad.vjp(f, None), TypeError, r"primals hold no arrays"),
    ("jacfwd-int-input", lambda: ad.jacfwd(f)(np.arange(3)), TypeError, r"int64"),
    ("jacrev-int-input", lambda: ad.jacrev(f)(np.arange(3)), TypeError, r"int64"),
    ("vjp-int-input", lambda: ad.vjp(f, 1), TypeError, r"int64"),
    ("vjp-no-primals", lambda: ad.vjp(f), TypeError, r"at least one primal"),
    ("linearize-no-primals", lambda: ad.linearize(f), TypeError, r"at least one primal"),
    ("linearize-str", lambda: ad.linearize(f, "x"), TypeError, r"got str"),
    # outputs
    ("grad-nonscalar", lambda: ad.grad(lambda x: x * 2)(X), TypeError, r"scalar.*jacrev"),
    ("grad-returns-none", lambda: ad.grad(lambda x: None)(1.0), TypeError, r"returned None"),
    ("grad-returns-str", lambda: ad.grad(lambda x: "a")(1.0), TypeError, r"numeric.*str"),
    ("grad-returns-int", lambda: ad.grad(lambda x: 3)(1.0), TypeError, r"floating-point.*int"),
    ("grad-returns-bool", lambda: ad.grad(lambda x: x > 0)(1.0), TypeError, r"bool"),
    (
        "grad-complex-output",
        lambda: ad.grad(lambda z: z * z)(1.0 + 1j),
        TypeError,
        r"real scalar output.*holomorphic=True",
    ),
    (
        "grad-holomorphic-real-input",
        lambda: ad.grad(lambda x: x * 1j, holomorphic=True)(1.0),
        TypeError,
        r"holomorphic=True needs complex inputs",
    ),
    (
        "jacrev-complex-output",
        lambda: ad.jacrev(lambda x: x * 1j)(V),
        TypeError,
        r"complex output.*holomorphic=True",
    ),
    (
        "jacfwd-complex-input",
        lambda: ad.jacfwd(anp.conj)(V + 0j),
        TypeError,
        r"complex input.*holomorphic=True",
    ),
    (
        "jacrev-holomorphic-real-input",
        lambda: ad.jacrev(lambda x: x * 1j, holomorphic=True)(V),
        TypeError,
        r"needs complex inputs",
    ),
    (
        "jacrev-integer-output",
        lambda: ad.jacrev(lambda x: anp.argmax(x))(V),
        TypeError,
        r"outputs must be floating",
    ),
    # jvp: tangents
    ("jvp-primals-not-tuple", lambda: ad.jvp(f, X, X), TypeError, r"tuples.*jvp\(f, \(x,\)"),
    ("jvp-count", lambda: ad.jvp(f, (X,), (X, X)), ValueError, r"1 primals but 2 tangents"),
    ("jvp-tangent-shape", lambda: ad.jvp(f, (X,), (V,)), ValueError, r"tangent of shape \(3,\)"),
    (
        "jvp-tangent-structure",
        lambda: ad.jvp(lambda p: f(p[0]), ((X, X),), ([X, X],)),
        ValueError,
        r"same structure",
    ),
    ("jvp-tangent-none", lambda: ad.jvp(f, (X,), (None,)), ValueError, r"not None"),
    (
        "jvp-complex-tangent-real-primal",
        lambda: ad.jvp(f, (X,), (X * 1j,)),
        TypeError,
        r"complex tangent.*real primal",
    ),
    ("jvp-str-tangent", lambda: ad.jvp(f, (1.0,), ("a",)), TypeError, r"got str"),
    # a tangent has its primal's dtype (a Python float takes it); JAX refuses the same
    (
        "jvp-integer-tangent-float-primal",
        lambda: ad.jvp(lambda x: x * 2, (V,), (np.ones(3, dtype=int),)),
        TypeError,
        r"equal types: the primal has dtype float64, so the tangent must be float64, got int64",
    ),
    (
        "jvp-python-int-tangent",
        lambda: ad.jvp(lambda x: x * 2, (1.0,), (1,)),
        TypeError,
        r"tangent must be float64, got int64",
    ),
    (
        "jvp-float64-tangent-float32-primal",
        lambda: ad.jvp(lambda x: x * 2, (V.astype(np.float32),), (V,)),
        TypeError,
        r"tangent must be float32, got float64.*astype\(np\.float32\)",
    ),
    (
        "jvp-float32-tangent-float64-primal",
        lambda: ad.jvp(lambda x: x * 2, (V,), (V.astype(np.float32),)),
        TypeError,
        r"tangent must be float64, got float32",
    ),
    (
        "jvp-nonzero-tangent-integer-primal",
        lambda: ad.jvp(lambda x: x * 2, (np.arange(3),), (V,)),
        TypeError,
        r"nonzero tangent.*integer dtype int64",
    ),
    (
        "linearize-integer-tangent",
        lambda: ad.linearize(lambda x: x * 2, V)[1](np.ones(3, dtype=int)),
        TypeError,
        r"linearize: .*tangent must be float64, got int64",
    ),
    (
        "hvp-float32-tangent",
        lambda: ad.hvp(f, (V,), (V.astype(np.float32),)),
        TypeError,
        r"tangent must be float64, got float32",
    ),
    # numbers NumPy has no numeric type for: refused, not a RecursionError
    (
        "grad-fraction",
        lambda: ad.grad(lambda x: x * x)(Fraction(1, 3)),
        TypeError,
        r"fractions\.Fraction \(1/3\).*float\(x\)",
    ),
    (
        "grad-decimal",
        lambda: ad.grad(lambda x: x * x)(Decimal("0.5")),
        TypeError,
        r"decimal\.Decimal \(0\.5\).*float\(x\)",
    ),
    ("jvp-fraction", lambda: ad.jvp(f, (Fraction(1, 3),), (1.0,)), TypeError, r"Fraction"),
    ("jvp-decimal-tangent", lambda: ad.jvp(f, (1.0,), (Decimal(1),)), TypeError, r"Decimal"),
    ("vjp-fraction", lambda: ad.vjp(f, Fraction(1, 3)), TypeError, r"Fraction.*float"),
    ("vjp-ct-decimal", lambda: ad.vjp(f, 1.0)[1](Decimal(1)), TypeError, r"cotangent.*Decimal"),
    ("jacfwd-fraction", lambda: ad.jacfwd(f)(Fraction(1, 3)), TypeError, r"Fraction"),
    ("jacrev-decimal", lambda: ad.jacrev(f)(Decimal(1)), TypeError, r"Decimal"),
    ("hessian-fraction", lambda: ad.hessian(f)(Fraction(1, 3)), TypeError, r"Fraction"),
    ("vmap-fractions", lambda: ad.vmap(f)([Fraction(1, 3)]), TypeError, r"Fraction"),
    ("linearize-decimal", lambda: ad.linearize(f, Decimal(1)), TypeError, r"Decimal"),
    (
        "grad-fraction-in-tree",
        lambda: ad.grad(lambda d: d["a"] * 2)({"a": Fraction(1)}),
        TypeError,
        r"Fraction",
    ),  # fmt: skip
    # masked arrays: the mask would be ignored, and a masked gradient is not a gradient
    ("grad-masked", lambda: ad.grad(f)(MASKED), TypeError, r"masked array.*\.filled"),
    ("jvp-masked", lambda: ad.jvp(f, (MASKED,), (V,)), TypeError, r"masked array.*np\.asarray"),
    ("jvp-masked-tangent", lambda: ad.jvp(f, (V,), (MASKED,)), TypeError, r"masked array"),
    ("vjp-masked", lambda: ad.vjp(f, MASKED), TypeError, r"masked array"),
    ("vjp-ct-masked", lambda: ad.vjp(lambda x: x, V)[1](MASKED), TypeError, r"masked array"),
    ("vmap-masked", lambda: ad.vmap(anp.sin)(MASKED), TypeError, r"masked array"),
    ("jacfwd-masked", lambda: ad.jacfwd(anp.sin)(MASKED), TypeError, r"masked array"),
    ("jacrev-masked", lambda: ad.jacrev(anp.sin)(MASKED), TypeError, r"masked array"),
    ("hessian-masked", lambda: ad.hessian(f)(MASKED), TypeError, r"masked array"),
    (
        "grad-masked-constant",
        lambda: ad.grad(lambda x: anp.sum(x * MASKED))(V),
        TypeError,
        r"masked array.*inside a transformation.*filled",
    ),
    (
        "jvp-masked-constant",
        lambda: ad.jvp(lambda x: anp.sum(x * MASKED), (V,), (V,)),
        TypeError,
        r"masked array.*inside a transformation",
    ),
    ("vmap-masked-constant", lambda: ad.vmap(lambda x: x * MASKED)(X.T), TypeError, r"masked"),
    ("hvp-not-tuple", lambda: ad.hvp(f, X, X), TypeError, r"hvp: .*tuples"),
    ("hvp-count", lambda: ad.hvp(f, (X,), (X, X)), ValueError, r"1 primals but 2 tangents"),
    ("hvp-empty", lambda: ad.hvp(f, (), ()), TypeError, r"at least one primal"),
    ("hvp-shape", lambda: ad.hvp(f, (X,), (V,)), ValueError, r"tangent of shape"),
    ("hvp-nonscalar", lambda: ad.hvp(lambda x: x * x, (X,), (X,)), TypeError, r"scalar"),
    # vjp: cotangents
    ("vjp-ct-shape", lambda: ad.vjp(lambda x: x * 2, X)[1](V), ValueError, r"cotangent of shape"),
    ("vjp-ct-scalar", lambda: ad.vjp(lambda x: x * 2, X)[1](1.0), ValueError, r"shape \(\)"),
    ("vjp-ct-structure", lambda: ad.vjp(lambda x: x * 2, X)[1]((X,)), ValueError, r"structure"),
    ("vjp-ct-str", lambda: ad.vjp(lambda x: x * 2, X)[1]("a"), TypeError, r"got str"),
    (
        "vjp-ct-complex-real-output",
        lambda: ad.vjp(lambda x: x * 2, X)[1](X * 1j),
        TypeError,
        r"complex cotangent.*real output",
    ),
    # a cotangent has its output's dtype (a Python float takes it)
    (
        "vjp-ct-integer",
        lambda: ad.vjp(lambda x: x * 2, V)[1](np.ones(3, dtype=int)),
        TypeError,
        r"output is float64, so the cotangent must be float64, got int64",
    ),
    (
        "vjp-ct-python-int",
        lambda: ad.vjp(f, V)[1](1),
        TypeError,
        r"cotangent must be float64, got int64",
    ),
    (
        "vjp-ct-float64-for-float32",
        lambda: ad.vjp(lambda x: x * 2, V.astype(np.float32))[1](V),
        TypeError,
        r"cotangent must be float32, got float64.*astype\(np\.float32\)",
    ),
    (
        "vjp-ct-float32-for-float64",
        lambda: ad.vjp(lambda x: x * 2, V)[1](V.astype(np.float32)),
        TypeError,
        r"cotangent must be float64, got float32",
    ),
    # linearize
    ("linearize-tangent-shape", lambda: ad.linearize(f, X)[1](V), ValueError, r"shape \(3,\)"),
    ("linearize-tangent-count", lambda: ad.linearize(f, X)[1](X, X), ValueError, r"one tangent"),
    # vmap
    (
        "vmap-in_axes-length",
        lambda: ad.vmap(f2, in_axes=(0,))(X, X),
        ValueError,
        r"in_axes has 1 entries.*2 positional",
    ),
    ("vmap-axis-out-of-range", lambda: ad.vmap(f, in_axes=2)(X), ValueError, r"in_axes 2 is out"),
    ("vmap-axis-negative", lambda: ad.vmap(f, in_axes=-3)(X), ValueError, r"in_axes -3 is out"),
    ("vmap-axis-float", lambda: ad.vmap(f, in_axes=0.0), TypeError, r"integers or None"),
    ("vmap-axis-str-in-tuple", lambda: ad.vmap(f, in_axes=("a",))(X), TypeError, r"'a'"),
    (
        "vmap-sizes-disagree",
        lambda: ad.vmap(f2)(X, np.ones((3, 3))),
        ValueError,
        r"argument 0 has size 2.*argument 1 has size 3",
    ),
    ("vmap-nothing-mapped", lambda: ad.vmap(f, in_axes=None)(X), ValueError, r"maps no argument"),
    ("vmap-no-arguments", lambda: ad.vmap(f)(), ValueError, r"maps no argument"),
    ("vmap-scalar", lambda: ad.vmap(f)(1.0), ValueError, r"0-d value.*in_axes=None"),
    ("vmap-str", lambda: ad.vmap(f)("abc"), TypeError, r"got str"),
    ("vmap-kwargs", lambda: ad.vmap(f)(x=X), TypeError, r"keyword arguments \(x\)"),
    (
        "vmap-in_axes-dict-keys",
        lambda: ad.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": X}),
        ValueError,
        r"keys \['a'\]",
    ),
    ("vmap-out_axes-range", lambda: ad.vmap(anp.sin, out_axes=3)(X), ValueError, r"out_axes 3"),
    (
        "vmap-out_axes-none-varying",
        lambda: ad.vmap(anp.sin, out_axes=None)(X),
        ValueError,
        r"out_axes=None.*does not vary",
    ),
    ("vmap-out_axes-str", lambda: ad.vmap(anp.sin, out_axes="a"), TypeError, r"integers or None"),
    (
        "vmap-out_axes-structure",
        lambda: ad.vmap(anp.sin, out_axes=(0, 1))(X),
        ValueError,
        r"out_axes.*does not match",
    ),
    (
        "vmap-python-control-flow",
        lambda: ad.vmap(lambda x: x if anp.sum(x) > 0 else -x)(X),
        TypeError,
        r"anp|where",
    ),
    # misuse of traced values
    (
        "setitem-on-traced",
        lambda: ad.grad(lambda x: x.__setitem__(0, 1.0))(X),
        TypeError,
        r"x\.at\[idx\]\.set",
    ),
    ("float-of-traced", lambda: ad.grad(lambda x: float(x))(1.0), TypeError, r"stop_gradient"),
    (
        "numpy-on-traced",
        lambda: ad.grad(lambda x: anp.sum(np.asarray(x)))(V),
        TypeError,
        r"adgraph\.numpy|traced",
    ),
    ("stop_gradient-str", lambda: ad.stop_gradient("a"), TypeError, r"got str"),
]


# ---------------------------------------------------------------- custom rules
CUSTOM = [
    ("custom_vjp-not-callable", lambda: ad.custom_vjp(3), TypeError, r"custom_vjp.*callable"),
    ("custom_jvp-not-callable", lambda: ad.custom_jvp(None), TypeError, r"custom_jvp.*callable"),
    ("checkpoint-not-callable", lambda: ad.checkpoint(3), TypeError, r"checkpoint.*callable"),
    (
        "defvjp-not-callable",
        lambda: ad.custom_vjp(anp.sin).defvjp(1, 2),
        TypeError,
        r"defvjp's fwd.*callable",
    ),
    (
        "defjvp-not-callable",
        lambda: ad.custom_jvp(anp.sin).defjvp(3),
        TypeError,
        r"defjvp's rule.*callable",
    ),
    ("missing-defvjp", lambda: ad.custom_vjp(anp.sin)(1.0), TypeError, r"\.defvjp\(fwd, bwd\)"),
    ("missing-defjvp", lambda: ad.custom_jvp(anp.sin)(1.0), TypeError, r"\.defjvp"),
    (
        "nondiff_argnums-float",
        lambda: ad.custom_vjp(anp.sin, nondiff_argnums=0.5),
        TypeError,
        r"nondiff_argnums must be a tuple of ints",
    ),
    (
        "nondiff_argnums-out-of-range",
        lambda: _custom_vjp(_fwd, lambda r, g: (g, g), nondiff_argnums=(3,))(V, V),
        ValueError,
        r"nondiff_argnums 3 is out of range",
    ),
    (
        "fwd-not-pair",
        _grad_through_vjp(_custom_vjp(lambda x, y: x * y, lambda r, g: (g, g)), V),
        TypeError,
        r"fwd must return a pair \(output, residuals\)",
    ),
    (
        "bwd-not-tuple",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: g * r[1]), V),
        TypeError,
        r"bwd must return a tuple",
    ),
    (
        "bwd-wrong-count",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: (g,)), V),
        TypeError,
        r"bwd returned 1 cotangents for 2",
    ),
    (
        "bwd-wrong-shape-first",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: (np.ones(5), g)), V),
        ValueError,
        r"argument 0 has shape \(5,\), but argument 0 has shape \(3,\)",
    ),
    (
        "bwd-wrong-shape-second",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: (g, np.ones((4, 3)))), V),
        ValueError,
        r"argument 1 has shape \(4, 3\)",
    ),
    (
        "bwd-wrong-structure",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: ((g, g), g)), V),
        TypeError,
        r"argument 0 has structure",
    ),
    (
        "bwd-str",
        _grad_through_vjp(_custom_vjp(_fwd, lambda r, g: ("a", g)), V),
        TypeError,
        r"argument 0 must be an array or a number, got str",
    ),
    (
        "jvp-rule-not-pair",
        lambda: ad.jvp(_custom_jvp(lambda p, t: anp.cos(p[0]) * t[0]), (V,), (V,)),
        TypeError,
        r"rule must return a pair \(primal_out, tangent_out\)",
    ),
    (
        "jvp-rule-none",
        lambda: ad.jvp(_custom_jvp(lambda p, t: None), (V,), (V,)),
        TypeError,
        r"pair.*NoneType",
    ),
    (
        "jvp-rule-structure",
        lambda: ad.jvp(_custom_jvp(lambda p, t: (anp.sin(p[0]), (t[0], t[0]))), (V,), (V,)),
        TypeError,
        r"different structures",
    ),
    (
        "jvp-rule-tangent-shape",
        lambda: ad.jvp(_custom_jvp(lambda p, t: (anp.sin(p[0]), np.ones(5))), (V,), (V,)),
        ValueError,
        r"tangent for output 0 has shape \(5,\), but output 0 has shape \(3,\)",
    ),
    (
        "jvp-rule-tangent-shape-reverse",
        lambda: ad.grad(
            lambda a: anp.sum(_custom_jvp(lambda p, t: (anp.sin(p[0]), np.ones(5)))(a))
        )(V),
        ValueError,
        r"output 0 has shape \(3,\)",
    ),
    (
        "defjvps-count",
        lambda: ad.jvp(
            ad.custom_jvp(lambda x, y: x * y).defjvps(lambda t, ans, x, y: t * y), (V, V), (V, V)
        ),
        TypeError,
        r"defjvps got 1 rules for 2",
    ),
    (
        "custom_vjp-unknown-keyword",
        lambda: _custom_vjp(_fwd, lambda r, g: (g, g))(V, V, z=V),
        TypeError,
        r"custom_vjp.*'z'",
    ),
]


# ---------------------------------------------------------------- adgraph.numpy
def _ix(x, idx):
    return anp.getitem(x, idx) if not hasattr(x, "_trace") else x[idx]


def _at(x):
    return anp._at(x) if not hasattr(x, "_trace") else x.at


NUMPY = [
    # shapes of products
    ("matmul-inner", lambda x: anp.matmul(x, x), OpError, r"matmul: inner dimensions.*\(2, 3\)"),
    ("matmul-scalar", lambda x: anp.matmul(x, 2.0), OpError, r"matmul: .*scalars"),
    ("dot", lambda x: anp.dot(x, x), OpError, r"dot: shapes \(2, 3\) and \(2, 3\) not aligned"),
    ("inner", lambda x: anp.inner(x, np.ones(4)), OpError, r"inner: last dimensions differ"),
    ("tensordot", lambda x: anp.tensordot(x, x, axes=1), OpError, r"tensordot: shape mismatch"),
    ("einsum-sizes", lambda x: anp.einsum("ij,jk->ik", x, x), OpError, r"einsum: index 'j'"),
    ("einsum-output", lambda x: anp.einsum("ij->ik", x), OpError, r"einsum: output subscript"),
    ("vdot", lambda x: anp.vdot(x, np.ones(5)), OpError, r"vdot: .*different sizes"),
    # joining and reshaping
    (
        "concatenate-shapes",
        lambda x: anp.concatenate([x, np.ones((3, 2))]),
        OpError,
        r"concatenate: shapes \[\(2, 3\), \(3, 2\)\] differ",
    ),
    ("concatenate-ndim", lambda x: anp.concatenate([x, V]), OpError, r"same number of dim"),
    ("concatenate-empty", lambda x: anp.concatenate([]), OpError, r"at least one array"),
    ("concatenate-axis", lambda x: anp.concatenate([x, x], axis=2), IndexError, r"axis 2 is out"),
    ("stack-shapes", lambda x: anp.stack([x, np.ones((3, 2))]), OpError, r"stack: .*same shape"),
    ("hstack", lambda x: anp.hstack([x, np.ones((3, 3))]), OpError, r"concatenate: shapes"),
    ("reshape-size", lambda x: anp.reshape(x, (4, 2)), OpError, r"size 6 into shape \(4, 2\)"),
    ("reshape-two-unknown", lambda x: anp.reshape(x, (-1, -1)), OpError, r"one unknown"),
    ("reshape-float", lambda x: anp.reshape(x, (2.0, 3)), TypeError, r"tuple of integers"),
    ("reshape-order", lambda x: anp.reshape(x, (3, 2), order="Q"), OpError, r"order must be"),
    ("broadcast_to", lambda x: anp.broadcast_to(x, (4,)), OpError, r"broadcast_to: cannot"),
    ("split-uneven", lambda x: anp.split(x, 4, axis=1), OpError, r"array_split"),
    ("split-float", lambda x: anp.split(x, 1.5), TypeError, r"number of sections"),
    ("tile-negative", lambda x: anp.tile(x, -1), OpError, r"reps must not be negative"),
    ("tile-float", lambda x: anp.tile(x, 1.5), TypeError, r"tile: reps must be an integer"),
    ("repeat-float", lambda x: anp.repeat(x, 1.5), OpError, r"non-negative integers"),
    ("repeat-count", lambda x: anp.repeat(x, [1, 2, 3], 0), OpError, r"do not match axis 0"),
    ("roll-float", lambda x: anp.roll(x, 1.5), TypeError, r"roll: shift must be an integer"),
    ("pad-width", lambda x: anp.pad(x, ((1, 1),) * 3), OpError, r"pad: pad_width"),
    ("pad-mode", lambda x: anp.pad(x, 1, mode="foo"), OpError, r"mode 'foo' is not supported"),
    ("transpose-axes", lambda x: anp.transpose(x, (0, 0)), OpError, r"not a permutation"),
    ("moveaxis-lengths", lambda x: anp.moveaxis(x, (0, 1), (0,)), OpError, r"same number"),
    ("squeeze-size", lambda x: anp.squeeze(x, 0), OpError, r"squeeze: .*size 2"),
    # elementwise broadcasting (traced: names the operation; plain: NumPy's message)
    ("add-broadcast", lambda x: anp.add(x, np.ones(4)), ValueError, r"\(2, ?3\).*\(4,\)"),
    (
        "where-broadcast",
        lambda x: anp.where(V[:2] > 0, x, 0.0),
        OpError,
        r"where: .*\(2,\).*\(2, 3\)",
    ),
    ("clip-broadcast", lambda x: anp.clip(x, np.ones(4), 5.0), OpError, r"clip: .*\(4,\)"),
    # axes
    ("sum-axis-range", lambda x: anp.sum(x, axis=2), IndexError, r"sum: axis 2 is out of bounds"),
    ("sum-axis-negative", lambda x: anp.sum(x, axis=-3), IndexError, r"valid axes: -2 to 1"),
    ("sum-axis-dup", lambda x: anp.sum(x, axis=(0, 0)), OpError, r"repeated axis"),
    ("sum-axis-float", lambda x: anp.sum(x, axis=1.0), TypeError, r"sum: axis must be an int"),
    ("sum-axis-str", lambda x: anp.sum(x, axis="0"), TypeError, r"axis must be an integer"),
    ("mean-axis", lambda x: anp.mean(x, axis=5), IndexError, r"mean: axis 5"),
    ("nanmean-axis", lambda x: anp.nanmean(x, axis=4), IndexError, r"nanmean: axis 4"),
    ("max-out", lambda x: anp.max(x, out=x), OpError, r"max: out= is not supported"),
    ("mean-out", lambda x: anp.mean(x, out=x), OpError, r"mean: out="),
    ("argmin-out", lambda x: anp.argmin(x, out=x), OpError, r"argmin: out="),
    ("swapaxes-float", lambda x: anp.swapaxes(x, 0.0, 1), TypeError, r"swapaxes: axis must"),
    ("rot90-float-k", lambda x: anp.rot90(x, k=1.5), TypeError, r"rot90: k must be an integer"),
    ("round-float-decimals", lambda x: anp.round(x, 1.5), TypeError, r"decimals must be"),
    ("split-float-index", lambda x: anp.split(x, [0.5]), TypeError, r"split index"),
    ("tensordot-float-axes", lambda x: anp.tensordot(x, x, axes=1.5), OpError, r"tensordot"),
    ("max-empty", lambda x: anp.max(x[:0]), OpError, r"max: zero-size"),
    ("cumsum-axis-tuple", lambda x: anp.cumsum(x, axis=(0, 1)), TypeError, r"cumsum: axis must"),
    ("argmax-axis", lambda x: anp.argmax(x, axis=5), IndexError, r"argmax: axis 5"),
    ("sort-axis", lambda x: anp.sort(x, axis=5), IndexError, r"sort: axis 5"),
    ("sort-kind", lambda x: anp.sort(x, kind="foo"), OpError, r"sort: kind must be one of"),
    ("expand_dims-axis", lambda x: anp.expand_dims(x, 5), IndexError, r"expand_dims: axis 5"),
    ("diagonal-same-axes", lambda x: anp.diagonal(x, 0, 0, 0), OpError, r"must differ"),
    ("diagonal-float-offset", lambda x: anp.diagonal(x, 0.5), TypeError, r"offset must be an int"),
    ("triu-float-k", lambda x: anp.triu(x, k=0.5), TypeError, r"triu: k must be an integer"),
    # wrong keywords
    ("sum-out", lambda x: anp.sum(x, out=np.zeros(3)), OpError, r"out= is not supported"),
    ("sin-out", lambda x: anp.sin(x, out=np.zeros((2, 3))), TypeError, r"sin\(\).*'out'"),
    ("sum-unknown-keyword", lambda x: anp.sum(x, foo=1), TypeError, r"'foo'"),
    ("fft-out", lambda x: afft.fft(x, out=x), OpError, r"fft: out= is not supported"),
    # dtypes
    ("sin-of-strings", lambda x: anp.sin(np.array(["a"])), TypeError, r"sin"),
    ("add-string", lambda x: anp.add(x, "a"), TypeError, r"add"),
    ("astype-bad-dtype", lambda x: anp.astype(x, "foo"), TypeError, r"data type 'foo'"),
    # indexing
    ("index-float", lambda x: _ix(x, 1.0), IndexError, r"float index 1\.0"),
    ("index-float-array", lambda x: _ix(x, np.array([0.0])), IndexError, r"got float64"),
    ("index-float-list", lambda x: _ix(x, [0.5]), IndexError, r"integer or bool"),
    ("index-out-of-bounds", lambda x: _ix(x, 5), IndexError, r"index 5 is out of bounds"),
    ("index-too-many", lambda x: _ix(x, (0, 0, 0)), IndexError, r"too many indices"),
    ("index-mask-shape", lambda x: _ix(x, np.array([True])), IndexError, r"mask of shape \(1,\)"),
    (
        "index-mask-after-slice",
        lambda x: _ix(x, (slice(None), np.array([True, False]))),
        IndexError,
        r"axes 1\.\.1 .*sizes \(3,\)",
    ),
    ("index-str", lambda x: _ix(x, "a"), IndexError, r"only integers, slices"),
    ("at-without-index", lambda x: _at(x).set(1.0), AttributeError, r"x\.at\[idx\]\.set"),
    ("at-unknown-method", lambda x: _at(x)[0].pow(2.0), AttributeError, r"no method 'pow'"),
    ("at-mode", lambda x: _at(x)[0].set(1.0, mode="wrap"), OpError, r"mode='wrap'"),
    ("at-broadcast", lambda x: _at(x)[0].set(np.ones(4)), OpError, r"values of shape \(4,\)"),
    ("at-float-index", lambda x: _at(x)[1.5].add(1.0), IndexError, r"float index"),
    ("take-float", lambda x: anp.take(x, 1.5), OpError, r"take: indices must be integers"),
    ("take-mode", lambda x: anp.take(x, 0, mode="foo"), OpError, r"mode must be"),
    ("take_along_axis-ndim", lambda x: anp.take_along_axis(x, np.array([0]), 1), OpError, "same"),
    (
        "take_along_axis-shape",
        lambda x: anp.take_along_axis(x, np.zeros((5, 5), int), axis=1),
        OpError,
        r"indices of shape \(5, 5\) do not match arr of shape \(2, 3\)",
    ),
    ("scatter_add-values", lambda x: anp.scatter_add(x, 0, np.ones(5)), OpError, r"scatter_add"),
    # linear algebra
    ("inv-nonsquare", lambda x: la.inv(x), OpError, r"linalg\.inv: .*square, got \(2, 3\)"),
    ("inv-1d", lambda x: la.inv(x[0]), OpError, r"at least two-dimensional"),
    ("inv-singular", lambda x: la.inv(x[:, :2] * 0 + S), la.LinAlgError, r"linalg\.inv: .*pinv"),
    (
        "solve-singular",
        lambda x: la.solve(x[:, :2] * 0 + S, np.ones(2)),
        la.LinAlgError,
        r"linalg\.solve: .*lstsq",
    ),
    ("solve-shapes", lambda x: la.solve(x[:, :2], V), OpError, r"b of shape \(3,\)"),
    (
        "cholesky-not-pd",
        lambda x: la.cholesky(x[:, :2] * 0 - np.eye(2)),
        la.LinAlgError,
        r"linalg\.cholesky: .*positive.definite",
    ),
    ("det-nonsquare", lambda x: la.det(x), OpError, r"linalg\.det: .*square"),
    ("eigh-uplo", lambda x: la.eigh(x[:, :2], UPLO="X"), OpError, r"UPLO must be 'L' or 'U'"),
    ("qr-mode", lambda x: la.qr(x, mode="foo"), OpError, r"mode must be"),
    ("norm-ord", lambda x: la.norm(x, ord="foo"), OpError, r"invalid norm order 'foo'"),
    ("norm-axis", lambda x: la.norm(x, axis=5), IndexError, r"axis 5"),
    ("matrix_power-float", lambda x: la.matrix_power(x[:, :2], 1.5), TypeError, r"integer"),
    ("multi_dot-one", lambda x: la.multi_dot([x]), OpError, r"at least two arrays"),
    ("lstsq-shapes", lambda x: la.lstsq(x, V), OpError, r"b of shape \(3,\)"),
    ("pinv-rcond", lambda x: la.pinv(x, rcond="a"), OpError, r"pinv: rcond must be a real"),
    ("tensorinv-ind", lambda x: la.tensorinv(x, ind=1.5), TypeError, r"ind must be an int"),
    ("tensorsolve-axes", lambda x: la.tensorsolve(x, V, axes=(5,)), IndexError, r"axis 5"),
    # fft
    ("fft-n-zero", lambda x: afft.fft(x, n=0), OpError, r"fft: invalid number of data points"),
    ("fft-n-negative", lambda x: afft.fft(x, n=-1), OpError, r"n=-1"),
    ("fft-n-float", lambda x: afft.fft(x, n=2.5), TypeError, r"fft: n must be an integer"),
    ("hfft-n-negative", lambda x: afft.hfft(x, n=-1), OpError, r"hfft: invalid"),
    ("fft-axis", lambda x: afft.fft(x, axis=5), IndexError, r"fft: axis 5"),
    ("fft-norm", lambda x: afft.fft(x, norm="foo"), OpError, r"norm must be"),
    ("fft2-axes-repeated", lambda x: afft.fft2(x, axes=(0, 0)), OpError, r"repeated axes"),
    ("fftn-s-length", lambda x: afft.fftn(x, s=(2,), axes=(0, 1)), OpError, r"s has 1 entries"),
    ("fftn-s-float", lambda x: afft.fftn(x, s=(2.0, 2)), TypeError, r"must be an integer"),
    ("rfft-complex", lambda x: afft.rfft(x + 1j), OpError, r"rfft: input must be real"),
    ("irfft-length-1", lambda x: afft.irfft(x[:, :1]), OpError, r"give n/s explicitly"),
    # special functions
    ("logsumexp-axis", lambda x: sp.logsumexp(x, axis=5), IndexError, r"logsumexp: axis 5"),
    ("logsumexp-b", lambda x: sp.logsumexp(x, b=np.ones(4)), OpError, r"logsumexp: .*\(4,\)"),
    ("softmax-axis", lambda x: sp.softmax(x, axis=2), IndexError, r"softmax: axis 2"),
    ("log_softmax-axis", lambda x: sp.log_softmax(x, axis=2), IndexError, r"log_softmax: axis"),
    ("fftshift-float-axes", lambda x: afft.fftshift(x, axes=1.5), TypeError, r"fftshift: axis"),
    ("polygamma-negative", lambda x: sp.polygamma(-1, x), OpError, r"non-negative integer"),
    ("polygamma-float", lambda x: sp.polygamma(1.5, x), OpError, r"non-negative integer"),
]

# Constants: no traced variant.
CREATION = [
    ("zeros-negative", lambda: anp.zeros(-1), OpError, r"zeros: .*negative dimensions"),
    ("zeros-float-shape", lambda: anp.zeros(2.5), TypeError, r"zeros: .*shape 2\.5"),
    ("ones-bad-dtype", lambda: anp.ones(2, dtype="foo"), TypeError, r"ones: .*'foo'"),
    ("full-fill-shape", lambda: anp.full((2, 2), np.ones(3)), OpError, r"full: the fill value"),
    ("eye-negative", lambda: anp.eye(-1), OpError, r"eye: N and M must be non-negative"),
    ("eye-float", lambda: anp.eye(2.5), TypeError, r"eye: N must be an integer"),
    ("arange-zero-step", lambda: anp.arange(0, 1, 0), OpError, r"arange: step must not be zero"),
    ("linspace-negative", lambda: anp.linspace(0, 1, -1), OpError, r"num must be non-negative"),
    ("linspace-float-num", lambda: anp.linspace(0, 1, 2.5), TypeError, r"num must be an integer"),
    ("zeros_like-shape", lambda: anp.zeros_like(X, shape=-1), OpError, r"zeros_like: .*-1"),
    ("ones_like-dtype", lambda: anp.ones_like(X, dtype="foo"), TypeError, r"ones_like: .*foo"),
    ("full_like-fill", lambda: anp.full_like(X, "a"), OpError, r"full_like: the fill value"),
    ("identity-float", lambda: anp.identity(2.5), TypeError, r"identity: n must be an int"),
    ("zeros-order", lambda: anp.zeros(2, order="X"), OpError, r"zeros: order must be"),
    ("ones_like-order", lambda: anp.ones_like(X, order="X"), OpError, r"ones_like: order"),
    ("copy-order", lambda: anp.copy(X, order="X"), OpError, r"copy: order must be"),
    ("fftfreq-zero", lambda: afft.fftfreq(0), OpError, r"fftfreq: n must be at least 1"),
    ("fftfreq-float", lambda: afft.fftfreq(2.5), OpError, r"concrete integer"),
    ("fftfreq-zero-spacing", lambda: afft.rfftfreq(4, d=0), OpError, r"spacing d must not be"),
]

# ---------------------------------------------------------------- pytrees and check_grads
TREES = [
    (
        "unsortable-dict-keys",
        lambda: tree_flatten({1: V, "a": V}),
        TypeError,
        r"sortable.*keys of one type",
    ),
    (
        "grad-unsortable-dict-keys",
        lambda: ad.grad(lambda d: anp.sum(d[1]))({1: V, "a": V}),
        TypeError,
        r"sortable",
    ),
    (
        "tree_map-mismatch",
        lambda: tree_map(lambda a, b: a, (V, V), (V,)),
        ValueError,
        r"tree #2 has structure tuple\(\*\), but tree #1 has tuple\(\*, \*\)",
    ),
    (
        "tree_map-dict-keys",
        lambda: tree_map(lambda a, b: a, {"a": V}, {"b": V}),
        ValueError,
        r"dict\('b': \*\).*dict\('a': \*\)",
    ),
    ("tree_map-not-callable", lambda: tree_map(3, (V,)), TypeError, r"must be callable"),
    (
        "tree_unflatten-count",
        lambda: tree_unflatten(tree_flatten((V, (V,)))[1], [V]),
        ValueError,
        r"has 2 leaves, got 1",
    ),
    ("tree_unflatten-not-a-tree", lambda: tree_unflatten("abc", [V]), TypeError, r"structure"),
    (
        "register-not-a-class",
        lambda: register_pytree_node("K", lambda k: ([], None), lambda a, c: None),
        TypeError,
        r"must be a class",
    ),
    (
        "register-not-callable",
        lambda: register_pytree_node(type("K", (), {}), 1, 2),
        TypeError,
        "flatten",
    ),
    ("check_grads-mode", lambda: check_grads(anp.sin, (V,), modes=("foo",)), ValueError, r"'foo'"),
    ("check_grads-no-modes", lambda: check_grads(anp.sin, (V,), modes=()), ValueError, r"empty"),
    ("check_grads-order-0", lambda: check_grads(anp.sin, (V,), order=0), ValueError, r">= 1"),
    ("check_grads-order-float", lambda: check_grads(anp.sin, (V,), order=1.5), TypeError, r"1\.5"),
    (
        "check_grads-int-input",
        lambda: check_grads(anp.sin, (np.arange(3),)),
        TypeError,
        r"leaf 0 has dtype int64.*close over",
    ),
    ("check_grads-str-input", lambda: check_grads(anp.sin, ("a",)), TypeError, r"got str"),
    ("check_grads-args-not-tuple", lambda: check_grads(anp.sin, V), TypeError, r"tuple of the"),
    ("check_grads-no-args", lambda: check_grads(anp.sin, ()), TypeError, r"args is empty"),
    ("check_grads-not-callable", lambda: check_grads(3, (V,)), TypeError, r"callable"),
    ("check_grads-eps", lambda: check_grads(anp.sin, (V,), eps=-1.0), ValueError, r"eps"),
    ("check_grads-rtol", lambda: check_grads(anp.sin, (V,), rtol=-1.0), ValueError, r"rtol"),
    ("check_jvp-int", lambda: check_jvp(anp.sin, (np.arange(3),)), TypeError, r"check_jvp"),
    ("check_vjp-not-tuple", lambda: check_vjp(anp.sin, V), TypeError, r"check_vjp"),
]


def _expect(call, exc, pattern):
    with pytest.raises(exc, match=pattern) as info:
        call()
    err = info.value
    # adgraph's errors derive from the built-in classes a caller would catch.
    assert isinstance(err, (TypeError, ValueError, IndexError, AttributeError)), type(err)
    assert not isinstance(err, (KeyError, AssertionError)), type(err)
    assert str(err).strip()


def _case_ids(table):
    return [c[0] for c in table]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), TRANSFORMS, ids=_case_ids(TRANSFORMS))
def test_transformations_refuse_bad_input(name, call, exc, pattern):
    _expect(call, exc, pattern)


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), CUSTOM, ids=_case_ids(CUSTOM))
def test_custom_rules_refuse_misuse(name, call, exc, pattern):
    _expect(call, exc, pattern)


@pytest.mark.parametrize("traced", [False, True], ids=["plain", "traced"])
@pytest.mark.parametrize(("name", "call", "exc", "pattern"), NUMPY, ids=_case_ids(NUMPY))
def test_numpy_functions_refuse_bad_input(name, call, exc, pattern, traced):
    if traced:
        _expect(under_grad(call), exc, pattern)
    else:
        _expect(lambda: call(X), exc, pattern)


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), CREATION, ids=_case_ids(CREATION))
def test_creation_refuses_bad_input(name, call, exc, pattern):
    _expect(call, exc, pattern)


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), TREES, ids=_case_ids(TREES))
def test_pytrees_and_check_grads_refuse_bad_input(name, call, exc, pattern):
    _expect(call, exc, pattern)


def test_traced_broadcast_error_names_operation_and_logical_shapes():
    # Under vmap the arrays carry a batch axis; the message gives the shapes the user wrote.
    with pytest.raises(OpError, match=r"multiply: operands of shapes \(2, 3\), \(4,\)"):
        ad.vmap(lambda x: x * anp.ones(4))(np.ones((5, 2, 3)))
    with pytest.raises(OpError, match=r"add: operands of shapes \(3,\), \(2,\)"):
        ad.grad(lambda x: anp.sum(anp.add(x, np.ones(2))))(V)


def test_linalg_derivative_at_singular_matrix_says_so():
    # det(S) = 0 is fine, and so is its gradient (the cofactor matrix); log|det| has no
    # derivative at a singular matrix, and says so.
    assert la.det(S) == 0.0
    assert np.array_equal(ad.grad(la.det)(S), [[4.0, -2.0], [-2.0, 1.0]])
    with pytest.raises(la.LinAlgError, match=r"linalg\.slogdet: the derivative"):
        ad.jvp(lambda a: la.slogdet(a)[1], (S,), (S,))
    assert issubclass(la.LinAlgError, ValueError)


# ---------------------------------------------------------------- fixed meanings, not errors
def test_valid_calls_that_look_odd_keep_working():
    # -1 entries of s keep the input length (NumPy 2); numpy integers are integers
    assert afft.fftn(X, s=(-1, 2)).shape == (2, 2)
    assert anp.sum(X, axis=np.int64(1)).shape == (2,)
    assert anp.reshape(X, (np.int64(3), -1)).shape == (3, 2)
    # sort kinds are read by their first letter, as in NumPy
    assert np.array_equal(anp.sort(V[::-1], kind="stable"), V)
    # grad w.r.t. argnums given as a list
    assert ad.grad(f2, argnums=[0, 1])(V, V)[1].shape == (3,)
    # Python floats are weakly typed: a tangent or cotangent 1.0 takes a float32 primal's
    # dtype; an integer primal takes a zero tangent of any numeric dtype
    out, t = ad.jvp(lambda x: x * 2, (np.float32(1.5),), (1.0,))
    assert t.dtype == np.float32 and t == 2.0
    out, t = ad.jvp(lambda x: x * 2, (np.arange(3),), (np.zeros(3),))
    assert np.array_equal(out, [0, 2, 4]) and not np.any(t)
    (g,) = ad.vjp(lambda x: anp.sum(x * 2), V.astype(np.float32))[1](1.0)
    assert g.dtype == np.float32 and np.array_equal(g, [2.0, 2.0, 2.0])
    (g,) = ad.vjp(lambda x: anp.sum(x * 2), V * 1j)[1](2.0)
    assert np.array_equal(g, [4.0, 4.0, 4.0])
    # a whole-array boolean mask, and a mask after an Ellipsis
    assert anp.getitem(X, X > 3).shape == (3,)
    assert anp.getitem(X, (Ellipsis, np.array([True, False, True]))).shape == (2, 2)
    # keyword arguments of custom rules and checkpoint are bound to their positions
    g = _custom_vjp(_fwd, lambda r, ct: (ct * r[1], ct * r[0]))
    assert np.allclose(ad.grad(lambda a: anp.sum(g(a, y=V)))(V), V)
    ck = ad.checkpoint(lambda x, k=1.0: anp.sum(x * k))
    assert np.allclose(ad.grad(lambda a: ck(a, k=3.0))(V), 3.0)
    # traced flatten honours order='F' (it used to ignore it)
    J = ad.jacrev(lambda a: a.flatten(order="F"))(X).reshape(6, 6)
    assert np.array_equal(J @ X.reshape(-1), X.flatten(order="F"))


def test_no_silent_nan_where_the_maths_has_an_answer():
    z = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # and no warnings on the way
        # norms at the origin: 0 (the minimum-norm subgradient), also forward
        assert np.array_equal(ad.grad(la.norm)(z), z)
        assert np.array_equal(ad.jacfwd(la.norm)(z), z)
        assert np.array_equal(ad.grad(lambda x: la.norm(x.reshape(3, 1)))(z), z)
        # std and var at zero variance
        assert np.array_equal(ad.grad(anp.std)(z + 1.0), z)
        assert np.array_equal(ad.grad(lambda x: anp.sum(anp.std(x, axis=0)))(X * 0), X * 0)
        assert np.array_equal(ad.grad(anp.var)(z + 1.0), z)
        # abs and hypot at 0
        assert np.array_equal(ad.grad(lambda x: anp.sum(anp.abs(x)))(z), z)
        assert np.array_equal(ad.grad(lambda x: anp.sum(anp.hypot(x, x)))(z), z)
        # xlogy(0, y) is 0 for every y: d/dy = 0 even at y = 0, d/dx = log y
        gx, gy = ad.grad(lambda x, y: anp.sum(sp.xlogy(x, y)), argnums=(0, 1))(z, z + 2.0)
        assert np.allclose(gx, np.log(2.0)) and np.array_equal(gy, z)
        assert np.array_equal(ad.grad(lambda y: anp.sum(sp.xlogy(z, y)))(z), z)
        assert np.array_equal(ad.grad(lambda y: anp.sum(sp.xlog1py(z, y)))(z - 1.0), z)
        # logsumexp and softmax with -inf entries (log 0 = -inf warns, as in NumPy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            val, g = ad.value_and_grad(sp.logsumexp)(z - np.inf)
        assert val == -np.inf and np.array_equal(g, z)
        assert np.array_equal(ad.grad(sp.logsumexp)(np.array([0.0, -np.inf])), [1.0, 0.0])
        w = np.array([1.0, 0.0])
        g = ad.grad(lambda x: anp.sum(sp.softmax(x) * w))(np.array([0.0, -np.inf]))
        assert np.all(np.isfinite(g))
        # powers at 0 with integer exponents
        assert np.array_equal(ad.grad(lambda x: anp.sum(x**2))(z), z)
        assert np.array_equal(ad.grad(lambda x: anp.sum(anp.power(x, 1.0)))(z), z + 1.0)
        # products with one zero factor
        assert np.array_equal(ad.grad(anp.prod)(np.array([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])
        # eigenvalues alone at a repeated eigenvalue
        assert np.allclose(ad.grad(lambda a: anp.sum(la.eigvalsh(a)))(np.eye(2)), np.eye(2))


def test_special_functions_outside_their_domain_match_scipy():
    # Where the maths has no (real) answer the value is nan or inf, as in SciPy, and the
    # derivative is nan or inf too -- never an exception.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = np.array([-0.5, 0.0, 1.0, 2.0])
        np.testing.assert_array_equal(sp.logit(p), ss.logit(p))
        np.testing.assert_array_equal(sp.erfinv(p), ss.erfinv(p))
        n = np.array([-2.0, -1.0, 0.0])
        np.testing.assert_array_equal(sp.gammaln(n), ss.gammaln(n))
        g = ad.grad(lambda x: anp.sum(sp.erfinv(x)))(np.array([1.0]))
        assert np.isinf(g).all()


# ---------------------------------------------------------------- np.matrix inputs
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    M = np.matrix([[1.0, 2.0], [3.0, 4.0]])
MA = np.asarray(M)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_inputs_compute_elementwise_in_every_mode():
    # np.matrix makes * a matrix product; NumPy's own ufunc np.multiply is elementwise,
    # and so is every adgraph mode: a matrix enters as the plain array it holds
    assert np.array_equal(np.multiply(M, M), MA * MA)
    sq = MA * MA
    for got in (
        anp.multiply(M, M),
        anp.multiply(MA, M),
        anp.power(M, 2),
        ad.jvp(lambda x: x * x, (M,), (M,))[0],
        ad.vmap(lambda x: x * x)(M),
        ad.linearize(lambda x: x * x, M)[0],
        ad.jit(lambda x: x * x)(M),
    ):
        assert type(got) is np.ndarray and got.shape == (2, 2), type(got)
        assert np.array_equal(got, sq)
    assert np.array_equal(ad.jvp(lambda x: x * x, (M,), (M,))[1], 2 * sq)
    rows = ad.vmap(lambda x, m: x * m, in_axes=(0, None))(MA, M)  # each row times M
    assert np.array_equal(rows, MA[:, None, :] * MA[None])
    assert np.array_equal(ad.vjp(lambda x: x * x, M)[1](np.ones((2, 2)))[0], 2 * MA)
    assert np.array_equal(ad.vjp(lambda x: x * 1.0, MA)[1](M)[0], MA)  # matrix cotangent
    assert np.array_equal(ad.grad(lambda x: anp.sum(x * x))(M), 2 * MA)
    assert np.array_equal(ad.grad(lambda x: anp.sum(x * M))(MA), MA)  # closed over
    assert np.array_equal(ad.grad(lambda x: anp.sum(M * x))(MA), MA)
    assert np.array_equal(ad.linearize(lambda x: x * x, M)[1](M), 2 * sq)
    jac = ad.jacfwd(lambda x: x * x)(M)
    assert np.array_equal(jac, ad.jacrev(lambda x: x * x)(MA))
    assert np.array_equal(jac.reshape(4, 4), np.diag(2 * MA.ravel()))
    assert anp.sum(M) == 10.0 and np.array_equal(anp.sum(M, axis=0), [4.0, 6.0])
    assert np.array_equal(
        ad.hessian(lambda x: anp.sum(x**3))(M).reshape(4, 4), np.diag(6 * MA.ravel())
    )


def test_masked_arrays_keep_numpys_meaning_outside_transformations():
    got = anp.sin(MASKED)
    assert isinstance(got, np.ma.MaskedArray)
    assert np.array_equal(got.mask, MASKED.mask)
    assert np.array_equal(got.compressed(), np.sin(MASKED).compressed())
    # and the fixes the refusal names work
    assert np.array_equal(ad.grad(f)(MASKED.filled(0.0)), [2.0, 0.0, 6.0])
    assert np.array_equal(ad.grad(f)(np.asarray(MASKED)), 2 * V)


# ---------------------------------------------------------------- leaked tracers
def test_numpy_on_a_leaked_tracer_says_it_leaked():
    leaked = []

    def f(x):
        leaked.append(x * 2.0)
        return anp.sum(x)

    ad.grad(f)(V)
    with pytest.raises(EscapedTracerError, match=r"leaked out of reverse mode") as info:
        np.asarray(leaked[-1])
    assert "np.asarray" in str(info.value) and "return" in str(info.value)
    assert "use adgraph.numpy" not in str(info.value)
    with pytest.raises(EscapedTracerError, match=r"leaked out of reverse mode"):
        float(leaked[-1][0])
    with pytest.raises(EscapedTracerError, match=r"after its transformation returned"):
        anp.sin(leaked[-1])
    ad.vmap(f)(X)
    with pytest.raises(EscapedTracerError, match=r"leaked out of vmap"):
        np.asarray(leaked[-1])
    ad.jvp(f, (V,), (V,))
    with pytest.raises(EscapedTracerError, match=r"leaked out of jvp"):
        np.asarray(leaked[-1])
    ad.jacfwd(f)(V)
    with pytest.raises(EscapedTracerError, match=r"leaked out of jacfwd"):
        np.asarray(leaked[-1])


def test_numpy_on_a_live_tracer_points_to_adgraph_numpy():
    seen = []

    def f(x):
        with pytest.raises(TypeError, match=r"use adgraph\.numpy") as info:
            np.asarray(x)
        seen.append(info.type)
        return anp.sum(x)

    ad.grad(f)(V)
    assert seen == [TypeError]
