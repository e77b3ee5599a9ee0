r"""Fused primitives for the hot paths of neural-network training.

An activation written with elementwise operations costs one kernel launch per operation on
a GPU, in the forward pass and again in the backward pass (``tanh``'s derivative
:math:`1 - y^2` is three operations, GELU's a dozen). Here each activation is two
primitives:

* the activation ``f(x)`` itself, and
* its backward partner ``f_bwd(g, z) = g * f'(x)``, linear in ``g``, where ``z`` is the
  activation's output ``y`` (tanh, sigmoid, relu: the derivative is cheapest from ``y``)
  or its input ``x`` (softplus, GELU).

The forward and reverse rules of ``f`` are ``f_bwd`` applied to the tangent or cotangent:
one fused kernel each way. ``f_bwd`` is linear in ``g``, so its own rule for ``g`` is
``f_bwd`` again; its rule for ``z`` (the second derivative) is written with adgraph's
elementwise operations, so every order of derivative stays available.

``softmax_cross_entropy(logits, labels)`` is the mean over rows of
:math:`\operatorname{logsumexp}(z_r) - z_{r, \ell_r}` for integer labels; its cotangent is
:math:`\bar L\,(\operatorname{softmax}(z) - \operatorname{onehot}(\ell)) / N`, computed by the
fused primitive ``softmax_cross_entropy_bwd`` in one pass over the logits (both declared
in :mod:`._fused_xent`; the table of kernels and the extension point are in
:mod:`._fused_common`, re-exported here).

Implementations: every primitive has a reference implementation written with the array
module ``xp`` of its inputs (NumPy, CuPy, Dask); it is the definition of what the operation
computes. A backend may run an operation as one kernel of its own instead, through the
extension point ``fused.kernel`` (:mod:`adgraph.core.extend`): :data:`KERNELS` names the
operations, their arguments and results. CuPy's backend runs CUDA kernels for float32 and
float64 arrays (:mod:`adgraph.backends.cupy_fused`); NumPy never looks the point up.

Besides the primitives, :func:`sgd_update` and :func:`adam_update` apply one optimiser step
to one array, in a single kernel where the backend has one (they are not differentiated:
``adgraph.optim`` uses them for untraced arrays).
"""

from __future__ import annotations

import math

import numpy as _np  # dtype objects, NumPy's identity and in-place partners

from ..ad.rules import elementwise as _elementwise_rule
from ..ad.sparsity import RELU
from . import _parallel
from ._fused_common import KERNEL, KERNELS, _check_float_arg, _kernel
from ._fused_xent import (  # the primitives too: they are read from here
    softmax_cross_entropy,
    softmax_cross_entropy_bwd,
    softmax_xent_bwd_p,  # noqa: F401
    softmax_xent_p,  # noqa: F401
)
from .elementwise import add, exp, multiply, sqrt, subtract
from .elementwise import tanh as _plain_tanh
from .special import _special as _special_module

__all__ = [
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "gelu",
    "tanh_bwd",
    "sigmoid_bwd",
    "relu_bwd",
    "softplus_bwd",
    "gelu_bwd",
    "softmax_cross_entropy",
    "softmax_cross_entropy_bwd",
    "sgd_update",
    "adam_update",
    "KERNEL",
    "KERNELS",
    "REFERENCE_FORWARD",
    "REFERENCE_DERIVATIVE",
]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K0 = math.sqrt(2.0 / math.pi)  # GELU tanh approximation: tanh(K0 (x + K1 x^3))
_K1 = 0.044715


def _common(g, z):
    """Operands of a backward partner cast to one dtype. Python scalars are weak (they take
    the array's dtype), so float32 stays float32."""
    zd = z.dtype
    gd = getattr(g, "dtype", None)
    if gd is None:
        return zd.type(g), z
    dt = _np.result_type(gd, zd)
    if gd != dt:
        g = g.astype(dt)
    if zd != dt:
        z = z.astype(dt)
    return g, z


def _as_float(xp, x):
    dt = getattr(x, "dtype", None)
    if dt is None:
        x = xp.asarray(x)
        dt = x.dtype
    if dt.kind not in "fc":
        x = x.astype(_np.float64)
    return x


# ------------------------------------------------------------------ NumPy-style references
def _erfc(xp, x):
    """erfc from the special functions of ``xp`` (SciPy's ufunc for NumPy and Dask arrays,
    a backend's own for others), or ``math.erfc`` element by element where SciPy is
    missing."""
    try:
        sp = _special_module(xp, "gelu")
    except ImportError:
        out = _ERFC_PY(x)  # a ufunc (object dtype), so Dask maps it over blocks lazily
        return out.astype(x.dtype) if hasattr(out, "astype") else x.dtype.type(out)
    return sp.erfc(x)


_ERFC_PY = _np.frompyfunc(math.erfc, 1, 1)


def _ref_sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r)


def _ref_softplus(xp, x):
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def _ref_norm_cdf(xp, x):
    return 0.5 * _erfc(xp, -x * _SQRT1_2)


def _ref_norm_pdf(xp, x):
    return _INV_SQRT_2PI * xp.exp(-0.5 * x * x)


def _ref_gelu_tanh(xp, x):
    return 0.5 * x * (1.0 + xp.tanh(_K0 * (x + _K1 * x * x * x)))


def _ref_gelu_tanh_d(xp, x):
    x2 = x * x
    t = xp.tanh(_K0 * (x + _K1 * x2 * x))
    du = _K0 * (1.0 + 3.0 * _K1 * x2)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du


REFERENCE_FORWARD = {
    "tanh": lambda xp, x: xp.tanh(x),
    "sigmoid": _ref_sigmoid,
    "relu": lambda xp, x: xp.maximum(x, 0.0),
    "softplus": _ref_softplus,
    "gelu": lambda xp, x: x * _ref_norm_cdf(xp, x),
    "gelu_tanh": _ref_gelu_tanh,
}

# f'(.) from z (the output y for tanh/sigmoid/relu, the input x otherwise)
REFERENCE_DERIVATIVE = {
    "tanh": lambda xp, y: 1.0 - y * y,
    "sigmoid": lambda xp, y: y * (1.0 - y),
    "relu": lambda xp, y: xp.where(y > 0, 1.0, 0.0).astype(y.dtype),
    "softplus": _ref_sigmoid,
    "gelu": lambda xp, x: _ref_norm_cdf(xp, x) + x * _ref_norm_pdf(xp, x),
    "gelu_tanh": _ref_gelu_tanh_d,
}


# ------------------------------------------------------------------ threaded NumPy kernels
# Large NumPy arrays: the activations of several transcendental steps (and softplus's
# partner, a sigmoid) run on blocks of their input, one block per thread
# (adgraph.ops._parallel.elementwise), each block computed in place in the result. Each
# kernel is its reference's operations in the same order, so results equal the
# reference's. Float64 only: float32 ufuncs do twice the elements per instruction and are
# bound by memory bandwidth sooner; measured, their blocks were no faster than one thread.
# tanh (one NumPy call) and the partners of tanh, sigmoid and relu (a few
# multiplications, bound by memory bandwidth) stay on one thread for the same reason.
def _sigmoid_kernel(x, out):
    _np.abs(x, out=out)
    _np.negative(out, out=out)
    _np.exp(out, out=out)  # e = exp(-|x|)
    r = _np.add(1.0, out)
    _np.divide(1.0, r, out=r)  # r = 1 / (1 + e)
    _np.multiply(out, r, out=out)  # e r, the value where x < 0
    _np.copyto(out, r, where=x >= 0)


def _softplus_kernel(x, out):
    _np.abs(x, out=out)
    _np.negative(out, out=out)
    _np.exp(out, out=out)
    _np.log1p(out, out=out)
    _np.add(_np.maximum(x, 0.0), out, out=out)


def _gelu_tanh_kernel(x, out):
    _np.multiply(_K1, x, out=out)
    _np.multiply(out, x, out=out)
    _np.multiply(out, x, out=out)  # K1 x^3, multiplied in the reference's order
    _np.add(x, out, out=out)
    _np.multiply(_K0, out, out=out)
    _np.tanh(out, out=out)
    _np.add(1.0, out, out=out)
    _np.multiply(_np.multiply(0.5, x), out, out=out)


def _softplus_bwd_kernel(g, x, out):
    _sigmoid_kernel(x, out)
    _np.multiply(g, out, out=out)


_F8 = _np.dtype(_np.float64)  # float32 blocks were measured no faster than one thread

_THREADED = {
    "sigmoid": _sigmoid_kernel,
    "softplus": _softplus_kernel,
    "gelu_tanh": _gelu_tanh_kernel,
    "softplus_bwd": _softplus_bwd_kernel,
}


def _forward_impl(name):
    ref = REFERENCE_FORWARD[name]
    threaded = _THREADED.get(name)

    def impl(xp, x):
        x = _as_float(xp, x)
        if xp is not _np:
            if (out := _kernel(xp, name, x)) is not None:
                return out
        elif threaded is not None and x.size >= _parallel.PARALLEL_MIN_SIZE and x.dtype == _F8:
            if (out := _parallel.elementwise(threaded, x.dtype, x)) is not None:
                return out
        return ref(xp, x)

    impl.__name__ = f"{name}_impl"
    return impl


def _tanh_bwd_numpy(g, y):
    r = _np.multiply(y, y)  # the one new array; every later step overwrites it
    _np.subtract(1.0, r, out=r)
    _np.multiply(g, r, out=r)
    return r


def _sigmoid_bwd_numpy(g, y):
    r = _np.subtract(1.0, y)
    _np.multiply(r, y, out=r)
    _np.multiply(g, r, out=r)
    return r


# NumPy backward partners computed in one new array (three passes, one allocation) rather
# than one array per operation; same operations in the same order as the reference.
_IN_PLACE = {"tanh": _tanh_bwd_numpy, "sigmoid": _sigmoid_bwd_numpy}


def _bwd_impl(name):
    deriv = REFERENCE_DERIVATIVE[name]
    kname = f"{name}_bwd"

    threaded = _THREADED.get(kname)

    def impl(xp, g, z):
        g, z = _common(g, _as_float(xp, z))
        if xp is not _np:
            if (out := _kernel(xp, kname, g, z)) is not None:
                return out
        elif threaded is not None and z.size >= _parallel.PARALLEL_MIN_SIZE and z.dtype == _F8:
            if (out := _parallel.elementwise(threaded, z.dtype, g, z)) is not None:
                return out
        if name == "relu":
            return xp.where(z > 0, g, 0.0).astype(z.dtype)
        if name in _IN_PLACE and type(z) is _np.ndarray and type(g) is _np.ndarray:
            if g.shape == z.shape:
                return _IN_PLACE[name](g, z)
        return g * deriv(xp, z)

    impl.__name__ = f"{kname}_impl"
    return impl


# ------------------------------------------------------------------ declarations
def _declare(name, from_output: bool, second, doc, bwd_doc):
    """Declare activation ``fused_<name>`` and its backward partner ``fused_<name>_bwd``
    (``name``: the key of their kernels and references).

    ``from_output``: the partner takes the activation's output (else its input).
    ``second(g, t, z)``: the partner's derivative in ``z`` applied to tangent ``t``, written
    with adgraph operations (None: zero almost everywhere).
    """
    bwd = _elementwise_rule(
        f"fused_{name}_bwd",
        _bwd_impl(name),
        None,
        None,
        doc=bwd_doc,
        tangent=(
            lambda t, ans, g, z: bwd.bind(t, z),
            (lambda t, ans, g, z: None)  # zero almost everywhere
            if second is None
            else (lambda t, ans, g, z: second(g, t, z)),
        ),
        vjp=(
            lambda ct, ans, g, z: bwd.bind(ct, z),
            (lambda ct, ans, g, z: None)
            if second is None
            else (lambda ct, ans, g, z: second(g, ct, z)),
        ),
        # reverse mode keeps only what the rules read: z for g's rule, g and z for z's
        needs=({1}, set() if second is None else {0, 1}),
    )
    if from_output:
        rule_t = lambda t, ans, x: bwd.bind(t, ans)
        rule_ct = lambda ct, ans, x: bwd.bind(ct, ans)
    else:
        rule_t = lambda t, ans, x: bwd.bind(t, x)
        rule_ct = lambda ct, ans, x: bwd.bind(ct, x)
    fwd = _elementwise_rule(
        f"fused_{name}",
        _forward_impl(name),
        None,
        doc=doc,
        tangent=(rule_t,),
        vjp=(rule_ct,),
        needs=({"ans"} if from_output else {0},),  # tanh's input is freed after the forward
    )
    return fwd, bwd


def _tanh_second(g, t, y):
    # d/dy [g (1 - y^2)] = -2 g y
    return multiply(multiply(-2.0, g), multiply(y, t))


def _sigmoid_second(g, t, y):
    # d/dy [g y (1 - y)] = g (1 - 2y)
    return multiply(multiply(g, t), subtract(1.0, multiply(2.0, y)))


def _softplus_second(g, t, x):
    # d/dx [g sigmoid(x)] = g s (1 - s)
    return sigmoid_bwd_p.bind(multiply(g, t), sigmoid_p.bind(x))


def _norm_pdf(x):
    return multiply(_INV_SQRT_2PI, exp(multiply(-0.5, multiply(x, x))))


def _gelu_second(g, t, x):
    # d/dx [Phi(x) + x phi(x)] = phi(x) (2 - x^2)
    return multiply(multiply(g, t), multiply(_norm_pdf(x), subtract(2.0, multiply(x, x))))


def _gelu_tanh_second(g, t, x):
    # u = K0 (x + K1 x^3), th = tanh(u), du = u':  d/dx [0.5 (1 + th) + 0.5 x (1 - th^2) du]
    #   = (1 - th^2) (du - x th du^2 + 3 K0 K1 x^2)
    x2 = multiply(x, x)
    th = _plain_tanh(multiply(_K0, add(x, multiply(_K1, multiply(x2, x)))))
    du = multiply(_K0, add(1.0, multiply(3.0 * _K1, x2)))
    sech2 = subtract(1.0, multiply(th, th))
    inner = add(
        subtract(du, multiply(multiply(x, th), multiply(du, du))), multiply(3.0 * _K0 * _K1, x2)
    )
    return multiply(multiply(g, t), multiply(sech2, inner))


tanh_p, tanh_bwd_p = _declare(
    "tanh",
    True,
    _tanh_second,
    r"""y = tanh(x); tangent and cotangent through fused_tanh_bwd(g, y) = g (1 - y^2).""",
    r"""r = g (1 - y^2) (y = tanh x); linear in g; d r/d y = -2 g y.""",
)
sigmoid_p, sigmoid_bwd_p = _declare(
    "sigmoid",
    True,
    _sigmoid_second,
    r"""y = 1 / (1 + exp(-x)) (overflow-free); derivative through fused_sigmoid_bwd(g, y).""",
    r"""r = g y (1 - y) (y = sigmoid x); linear in g; d r/d y = g (1 - 2y).""",
)
relu_p, relu_bwd_p = _declare(
    "relu",
    True,
    None,
    r"""y = max(x, 0); derivative through fused_relu_bwd(g, y) = g [y > 0] (0 at x = 0).""",
    r"""r = g [y > 0]; linear in g, piecewise constant in y (zero derivative).""",
)
relu_p.sparsity = RELU  # locally: no dependence where x < 0
softplus_p, softplus_bwd_p = _declare(
    "softplus",
    False,
    _softplus_second,
    r"""y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); derivative sigmoid(x) through
    fused_softplus_bwd(g, x).""",
    r"""r = g sigmoid(x); linear in g; d r/d x = g s (1 - s).""",
)
gelu_p, gelu_bwd_p = _declare(
    "gelu",
    False,
    _gelu_second,
    r"""y = x Phi(x) (Phi the standard normal CDF, via erfc); derivative
    Phi(x) + x phi(x) through fused_gelu_bwd(g, x).""",
    r"""r = g (Phi(x) + x phi(x)); linear in g; d r/d x = g phi(x) (2 - x^2).""",
)
gelu_tanh_p, gelu_tanh_bwd_p = _declare(
    "gelu_tanh",
    False,
    _gelu_tanh_second,
    r"""y = x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (GELU's tanh approximation);
    derivative through fused_gelu_tanh_bwd(g, x).""",
    r"""r = g d/dx[gelu_tanh](x); linear in g; its x-derivative is written with tanh.""",
)


# ------------------------------------------------------------------ public functions
def tanh(x):
    r"""Hyperbolic tangent as a fused pair: :math:`y = \tanh x`, :math:`y' = 1 - y^2`
    (one kernel forward, one backward)."""
    return tanh_p.bind(_check_float_arg(x, "tanh"))


def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1 + e^{-x})`, computed without overflow;
    :math:`\sigma' = \sigma (1 - \sigma)` from the output."""
    return sigmoid_p.bind(_check_float_arg(x, "sigmoid"))


def relu(x):
    r"""Rectifier :math:`\max(x, 0)`; derivative :math:`[x > 0]` (0 at 0)."""
    return relu_p.bind(_check_float_arg(x, "relu"))


def softplus(x):
    r"""Softplus :math:`\log(1 + e^x) = \max(x,0) + \operatorname{log1p}(e^{-|x|})`;
    derivative :math:`\sigma(x)`."""
    return softplus_p.bind(_check_float_arg(x, "softplus"))


def gelu(x, approximate: bool = False):
    r"""Gaussian error linear unit :math:`x \Phi(x)`, :math:`\Phi` the standard normal CDF;
    derivative :math:`\Phi(x) + x \varphi(x)`. ``approximate=True``: the tanh form
    :math:`\tfrac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))`."""
    x = _check_float_arg(x, "gelu")
    return gelu_tanh_p.bind(x) if approximate else gelu_p.bind(x)


def tanh_bwd(g, y):
    r""":math:`g (1 - y^2)`: the cotangent of ``tanh`` given its output ``y``."""
    return tanh_bwd_p.bind(g, y)


def sigmoid_bwd(g, y):
    r""":math:`g y (1 - y)`: the cotangent of ``sigmoid`` given its output ``y``."""
    return sigmoid_bwd_p.bind(g, y)


def relu_bwd(g, y):
    r""":math:`g [y > 0]`: the cotangent of ``relu`` given its output ``y``."""
    return relu_bwd_p.bind(g, y)


def softplus_bwd(g, x):
    r""":math:`g \sigma(x)`: the cotangent of ``softplus`` given its input ``x``."""
    return softplus_bwd_p.bind(g, x)


def gelu_bwd(g, x, approximate: bool = False):
    r""":math:`g\,\mathrm{gelu}'(x)`: the cotangent of ``gelu`` given its input ``x``."""
    return gelu_tanh_bwd_p.bind(g, x) if approximate else gelu_bwd_p.bind(g, x)


# ------------------------------------------------------------------ optimiser steps
def _module_of(x):
    from ..core.xp import module_of

    return module_of(x)


def sgd_update(p, g, buf, *, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    r"""One SGD step on one array, returning ``(p_new, buf_new)``:
    :math:`d = g + \lambda p`, :math:`b \leftarrow \mu b + d`,
    :math:`p \leftarrow p - \eta\,(d + \mu b)` with Nesterov, else :math:`p - \eta b`
    (``momentum=0``: :math:`p - \eta d`, ``buf`` is returned as given).

    One kernel where the backend has one (CuPy: for float32/float64 arrays of one dtype);
    plain array arithmetic otherwise. Not differentiable (use ``adgraph.optim.sgd`` for
    traced parameters).
    """
    xp = _module_of(p)
    if momentum == 0.0:
        args = (p, g, lr, weight_decay)
        if xp is not _np and (out := _kernel(xp, "sgd_update", *args)) is not None:
            return out, buf
        d = g + weight_decay * p if weight_decay else g
        return p - lr * d, buf
    if xp is not _np:
        args = (p, g, buf, lr, momentum, weight_decay, int(bool(nesterov)))
        if (out := _kernel(xp, "sgd_momentum_update", *args)) is not None:
            return out
    d = g + weight_decay * p if weight_decay else g
    b = momentum * buf + d
    step = d + momentum * b if nesterov else b
    return p - lr * step, b


def adam_update(p, g, m, v, *, lr, b1, b2, eps, c1, c2, weight_decay=0.0):
    r"""One Adam step on one array, returning ``(p_new, m_new, v_new)``:
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v +
    (1-\beta_2) g^2`, :math:`p \leftarrow p - \eta\,(c_1 m / (\sqrt{c_2 v} + \epsilon) +
    \lambda p)` with the bias corrections :math:`c_1 = 1/(1-\beta_1^t)`,
    :math:`c_2 = 1/(1-\beta_2^t)` and decoupled weight decay :math:`\lambda` (AdamW).

    One kernel where the backend has one (CuPy: for float32/float64 arrays of one dtype);
    plain array arithmetic otherwise.
    """
    xp = _module_of(p)
    if xp is not _np:
        args = (p, g, m, v, lr, b1, b2, eps, c1, c2, weight_decay)
        if (out := _kernel(xp, "adam_update", *args)) is not None:
            return out
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * (g * g)
    step = (c1 * m) / (sqrt(c2 * v) + eps)
    if weight_decay:
        step = step + weight_decay * p
    return p - lr * step, m, v


# Batching: the activations and their partners are elementwise (batched by the rules
# builder); the cross-entropy means over rows, so vmap of it runs the per-example loop.
