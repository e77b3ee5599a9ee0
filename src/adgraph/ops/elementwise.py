r"""Elementwise operations: arithmetic, powers, exponentials, trigonometry, comparisons.

Each primitive is declared once, by its partial derivatives (``ad.rules.elementwise``);
forward and reverse rules, batching and broadcasting follow from that declaration. The
partials are written with these same operations, so every rule can be differentiated
again.

Complex numbers follow JAX's convention: reverse mode is the transpose of the tangent map
under the pairing :math:`\langle a, b\rangle = \operatorname{Re}(ab)`, so holomorphic
functions multiply the cotangent by :math:`f'(z)` (no conjugate) and the gradient of a real
function of :math:`z = x + iy` is :math:`\partial f/\partial x - i\,\partial f/\partial y`.
"""

from __future__ import annotations

import math

import numpy as _np

from ..ad.rules import elementwise, nondiff
from ..ad.sparsity import MAX, MIN, WHERE
from ..ad.tape import MINUS_ONE, ONE
from ..ad.taylor import RULES as _TAYLOR
from ..core.primitive import PLAIN_TYPES as _PLAIN
from ..core.trace import Tracer as _Tracer
from ..core.xp import DEFAULT as _xp
from ._util import OpError, default_float, result_dtype
from ._util import as_int as _as_int
from ._util import dtype as _dtype
from ._util import is_traced as _is_traced
from ._util import shape as _shape

# fmt: off
__all__ = [
    # arithmetic
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "positive", "power",
    "float_power", "floor_divide", "mod", "remainder", "fmod", "abs", "absolute", "fabs",
    "square", "reciprocal", "sign",
    # exponentials and logarithms
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "logaddexp",
    "logaddexp2",
    # trigonometric and hyperbolic
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "hypot", "sinc", "deg2rad", "rad2deg", "degrees",
    "radians",
    # selection
    "maximum", "minimum", "fmax", "fmin", "clip", "where",
    # complex parts
    "real", "imag", "conj", "conjugate", "angle",
    # non-differentiable
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_not", "logical_xor", "isfinite", "isnan", "isinf", "isneginf",
    "isposinf", "floor", "ceil", "trunc", "rint", "round", "around", "fix", "signbit",
    "iscomplexobj", "isrealobj", "bitwise_and", "bitwise_or", "bitwise_xor", "invert",
    "left_shift", "right_shift", "isclose", "allclose", "array_equal", "copysign", "heaviside",
    "nextafter", "spacing", "gcd", "lcm",
]
# fmt: on

_ndarray = _np.ndarray
_NO_PARAMS: dict = {}
_PY_NUMBERS = (float, int, complex, bool)
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi


def _wrap(prim, name, nargs, doc):
    """The public function for ``prim``: a thin caller with the NumPy name and the maths.

    The untraced fast path of ``Primitive.bind`` is inlined (this is the hot path of every
    rule evaluated on plain arrays): NumPy values go straight to the implementation.
    """
    impl, traced = prim.impl, prim.bind_traced
    if nargs == 1:

        def f(x, /):
            if type(x) in _PLAIN:
                return impl(_xp, x)
            if isinstance(x, _Tracer) and x._trace.alive:  # bind_traced's first case, inline
                return x._trace.process(prim, (x,), _NO_PARAMS)
            return traced((x,), _NO_PARAMS)

    elif nargs == 2:

        def f(x1, x2, /):
            if type(x1) in _PLAIN and type(x2) in _PLAIN:
                return impl(_xp, x1, x2)  # NumPy's own error names the shapes
            try:
                return traced((x1, x2), _NO_PARAMS)
            except ValueError as e:
                _broadcast_error(name, (x1, x2), e)
                raise

    else:

        def f(*args):
            return prim.bind(*args)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    f.primitive = prim
    return f


def _broadcast_error(name, args, e):
    """Raise an :class:`OpError` naming the operation and the (logical, unbatched) shapes
    when ``e`` is NumPy's broadcasting error; return otherwise. Called only once an
    operation has failed, never on the way of a valid one."""
    if type(e) is ValueError and "broadcast" in str(e):
        shapes = ", ".join(str(_shape(a)) for a in args)
        raise OpError(
            f"{name}: operands of shapes {shapes} cannot be broadcast together (trailing "
            "axes must be equal or 1); reshape or expand_dims one of them"
        ) from None


def _unary(name, impl, partial, doc, **kw):
    p = elementwise(name, impl, partial, doc=doc, **kw)
    return p, _wrap(p, name, 1, doc)


def _binary(name, impl, dx, dy, doc, **kw):
    p = elementwise(name, impl, dx, dy, doc=doc, **kw)
    return p, _wrap(p, name, 2, doc)


def _arith_impl(op):
    """An implementation by Python operator: the operands' own arithmetic, ~20x cheaper
    than a ufunc call on NumPy scalars. Two plain Python numbers go through ``xp`` so the
    result is always an array or array scalar."""

    def impl(xp, x, y):
        if type(x) in _PY_NUMBERS and type(y) in _PY_NUMBERS:
            return op(xp.asarray(x), y)  # two Python numbers: NumPy's semantics (1/0 = inf)
        r = op(x, y)
        if type(r) in _PY_NUMBERS:
            # A Python complex with a NumPy real scalar computes in Python (np.float64 is a
            # float subclass): give the result NumPy's type, as the ufunc would.
            return xp.asarray(r)[()]
        return r

    return impl


def _one(ans, *args):
    return 1.0


def _with(ans, partial_of_ans):
    """``(ans, partial)`` for ``scalar_eval`` declarations whose partial reads the result."""
    return ans, partial_of_ans(ans)


# ``needs`` declarations: which residuals each argument's reverse rule reads, so reverse
# mode can free the rest during the forward pass (see Primitive.needs).
_NONE = frozenset()
_X = frozenset([0])
_Y = frozenset([1])
_ANS = frozenset(["ans"])
_XY = frozenset([0, 1])


# ------------------------------------------------------------------ arithmetic
add_p, add = _binary(
    "add",
    _arith_impl(lambda x, y: x + y),
    None,
    None,
    r"""Elementwise sum :math:`x + y`; :math:`\dot z = \dot x + \dot y`, :math:`\bar x = \bar z`.""",
    tangent=(lambda t, ans, x, y: t, lambda t, ans, x, y: t),
    vjp=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: ct),
    needs=(_NONE, _NONE),
    tangent_elementwise=True,
    scalar_partials=(lambda ans, x, y: ONE, lambda ans, x, y: ONE),
    scalar_vjp=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: ct),
    taylor=_TAYLOR["add"],
)

subtract_p, subtract = _binary(
    "subtract",
    _arith_impl(lambda x, y: x - y),
    None,
    None,
    r"""Elementwise difference :math:`x - y`; :math:`\bar x = \bar z`, :math:`\bar y = -\bar z`.""",
    tangent=(lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)),
    vjp=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: _subtract_vjp_y(ct, y)),
    needs=(_NONE, _NONE),
    tangent_elementwise=True,
    scalar_partials=(lambda ans, x, y: ONE, lambda ans, x, y: MINUS_ONE),
    scalar_vjp=(lambda ct, ans, x, y: ct, lambda ct, ans, x, y: -ct),
    taylor=_TAYLOR["subtract"],
)


def _subtract_vjp_y(ct, y):
    # -ct, summed down to y's shape first when y was broadcast (x - lse with lse of shape
    # (n, 1)): the negation then runs over the small array. Exact: negation commutes with
    # every rounded sum.
    ys = _shape(y)
    if _shape(ct) != ys:
        from .shapes import sum_to_shape

        try:
            ct = sum_to_shape(ct, ys)
        except OpError:
            pass  # fit_to reports the mismatch, naming this rule
    return negative(ct)


multiply_p, multiply = _binary(
    "multiply",
    _arith_impl(lambda x, y: x * y),
    None,
    None,
    r"""Elementwise product :math:`xy`; :math:`\dot z = \dot x y + x \dot y`,
    :math:`\bar x = \bar z y`, :math:`\bar y = x \bar z`.""",
    tangent=(lambda t, ans, x, y: multiply(t, y), lambda t, ans, x, y: multiply(x, t)),
    vjp=(lambda ct, ans, x, y: multiply(ct, y), lambda ct, ans, x, y: multiply(x, ct)),
    needs=(_Y, _X),
    tangent_elementwise=True,
    scalar_partials=(lambda ans, x, y: y, lambda ans, x, y: x),
    scalar_vjp=(lambda ct, ans, x, y: ct * y, lambda ct, ans, x, y: x * ct),
    taylor=_TAYLOR["multiply"],
)

divide_p, divide = _binary(
    "divide",
    _arith_impl(lambda x, y: x / y),
    None,
    None,
    r"""Elementwise quotient :math:`z = x / y`; :math:`\partial z/\partial x = 1/y`,
    :math:`\partial z/\partial y = -z/y`.""",
    tangent=(
        lambda t, ans, x, y: divide(t, y),
        lambda t, ans, x, y: negative(multiply(t, divide(ans, y))),
    ),
    vjp=(
        lambda ct, ans, x, y: divide(ct, y),
        lambda ct, ans, x, y: negative(multiply(ct, divide(ans, y))),
    ),
    needs=(_Y, _Y | _ANS),
    tangent_elementwise=True,
    scalar_vjp=(lambda ct, ans, x, y: ct / y, lambda ct, ans, x, y: -(ct * (ans / y))),
    taylor=_TAYLOR["divide"],
)
true_divide = divide

negative_p, negative = _unary(
    "negative",
    lambda xp, x: -x if hasattr(x, "dtype") else xp.negative(x),
    None,
    r"""Elementwise :math:`-x`; linear, :math:`\bar x = -\bar y`.""",
    tangent=(lambda t, ans, x: negative(t),),
    vjp=(lambda ct, ans, x: negative(ct),),
    needs=(_NONE,),
    tangent_elementwise=True,
    scalar_vjp=(lambda ct, ans, x: -ct,),
    taylor=_TAYLOR["negative"],
)


def positive(x, /):
    """Elementwise :math:`+x`: the identity, derivative 1 (returns ``x`` itself)."""
    return x


def _pow_dx(ans, x, y):
    # d/dx x**y = y x**(y-1). Where y == 0 the derivative is 0 even at x == 0, where
    # x**(y-1) is infinite; there the unselected branch is evaluated at x = 1 so that
    # neither it nor its own derivative (the next order) is inf or nan. Only that point is
    # replaced: at y == 0 with x != 0 the product y x**(y-1) itself is 0, and its
    # derivative in y, x**(y-1) = 1/x, is the mixed second derivative of x**y.
    if not isinstance(y, _Tracer) and not _np.any(_np.equal(y, 0)):
        # a constant exponent without zeros (x**2): nothing to replace, and no comparison
        # of x is recorded for the next order
        return multiply(y, power(x, subtract(y, 1)))
    at0 = logical_and(equal(y, 0), equal(x, 0))
    safe_x = where(at0, 1.0, x)
    return where(at0, 0.0, multiply(y, power(safe_x, subtract(y, 1))))


def _pow_dy(ans, x, y):
    # d/dy x**y = log(x) x**y. At x == 0 the product is 0 (the limit for y > 0), not nan:
    # log is taken of 1 there, which also keeps the next order finite.
    safe_x = where(equal(x, 0), 1.0, x)
    return multiply(ans, log(safe_x))


power_p, power = _binary(
    "power",
    lambda xp, x, y: xp.power(x, y),
    _pow_dx,
    _pow_dy,
    r"""Elementwise :math:`z = x^y`; :math:`\partial z/\partial x = y x^{y-1}` (0 where
    :math:`y = 0`, also at :math:`x = 0`), :math:`\partial z/\partial y = z \log x` (0
    where :math:`x = 0`). At :math:`x = 0` the derivative in ``x`` is :math:`y\,0^{y-1}`:
    0 for :math:`y > 1`, 1 for :math:`y = 1`, infinite for :math:`0 < y < 1`. For negative
    ``x`` the derivative in ``y`` is nan, as is :math:`\log x`; complex ``x`` and ``y`` use
    the principal branch.""",
    needs=(_XY, _XY | _ANS),
    taylor=_TAYLOR["power"],
)


def float_power(x1, x2, /):
    r""":math:`x^y` computed in at least float64 (complex128 for complex input).

    The derivatives are those of :func:`power`; the tangent and cotangent of a float32
    argument are cast back to float32. Both arguments are cast (a Python float ``x1``
    with a float32 ``x2`` computed in float32 before).
    """
    from .misc import astype

    dt = _np.promote_types(_promote64(x1), _promote64(x2))
    return power(astype(x1, dt), astype(x2, dt))


def _promote64(x):
    """float64, or complex128 for complex ``x`` (the dtype float_power computes in)."""
    return result_dtype(x, default_float())


floor_divide_p = nondiff(
    "floor_divide",
    lambda xp, x, y: xp.floor_divide(x, y),
    doc=r"""Floor division :math:`\lfloor x/y \rfloor`; piecewise constant, so the
    result carries no derivative.""",
)


def floor_divide(x1, x2, /):
    r""":math:`\lfloor x / y \rfloor`; piecewise constant, so its derivative is zero."""
    return floor_divide_p.bind(x1, x2)


mod_p, mod = _binary(
    "mod",
    lambda xp, x, y: xp.mod(x, y),
    _one,
    lambda ans, x, y: negative(floor_divide(x, y)),
    r"""Elementwise remainder :math:`x - \lfloor x/y \rfloor y` (sign of ``y``);
    :math:`\partial/\partial x = 1`, :math:`\partial/\partial y = -\lfloor x/y \rfloor`.""",
    needs=(_NONE, _XY),
    taylor=_TAYLOR["mod"],
)
remainder = mod

fmod_p, fmod = _binary(
    "fmod",
    lambda xp, x, y: xp.fmod(x, y),
    _one,
    lambda ans, x, y: negative(trunc(divide(x, y))),
    r"""C-style remainder :math:`x - \operatorname{trunc}(x/y) y` (sign of ``x``);
    :math:`\partial/\partial x = 1`, :math:`\partial/\partial y = -\operatorname{trunc}(x/y)`.""",
    needs=(_NONE, _XY),
    taylor=_TAYLOR["fmod"],
)


def _abs_tangent(t, ans, x):
    if _dtype(x).kind == "c":
        safe = where(equal(ans, 0), 1.0, ans)
        return divide(real(multiply(conj(x), t)), safe)
    return multiply(t, sign(x))


def _abs_vjp(ct, ans, x):
    if _dtype(x).kind == "c":
        safe = where(equal(ans, 0), 1.0, ans)
        return multiply(ct, divide(conj(x), safe))
    return multiply(ct, sign(x))


abs_p, abs = _unary(
    "abs",
    lambda xp, x: xp.abs(x),
    None,
    r"""Elementwise :math:`|x|`. Real: :math:`\partial|x|/\partial x = \operatorname{sign} x`
    (0 at 0). Complex: :math:`\dot{|z|} = \operatorname{Re}(\bar z \dot z)/|z|` (0 at 0), so
    the gradient is :math:`\bar z / |z|`.""",
    tangent=(_abs_tangent,),
    vjp=(_abs_vjp,),
    needs=(_X | _ANS,),
    tangent_elementwise=True,
    taylor=_TAYLOR["abs"],
)
absolute = abs


def fabs(x, /):
    """Elementwise :math:`|x|` for real ``x`` (see :func:`abs`), always floating as in
    NumPy: a boolean or integer ``x`` is converted first (``fabs(True) + fabs(True)`` is
    2.0, not a boolean or); complex ``x`` is refused, as NumPy refuses it."""
    dt = _dtype(x)
    if dt.kind == "c":
        raise OpError("fabs: complex input is not supported (as in NumPy); use abs")
    if dt.kind in "biu":
        from .misc import astype

        x = astype(x, _np.fabs(_np.zeros((), dtype=dt)).dtype)
    return abs(x)


square_p, square = _unary(
    "square",
    lambda xp, x: xp.square(x),
    lambda ans, x: multiply(2.0, x),
    r"""Elementwise :math:`x^2`; derivative :math:`2x`.""",
    needs=(_X,),
    taylor=_TAYLOR["square"],
)

reciprocal_p, reciprocal = _unary(
    "reciprocal",
    lambda xp, x: xp.reciprocal(x),
    lambda ans, x: negative(square(ans)),
    r"""Elementwise :math:`1/x`; derivative :math:`-1/x^2`.""",
    needs=(_ANS,),
    taylor=_TAYLOR["reciprocal"],
)

sign_p = nondiff(
    "sign",
    lambda xp, x: xp.sign(x),
    doc=r"""Elementwise sign of real ``x`` (-1, 0 or 1); piecewise constant, so the result
    carries no derivative.""",
)


def sign(x, /):
    r"""Elementwise sign: -1, 0 or 1 for real ``x``, :math:`z/|z|` for complex ``z``.

    For real ``x`` the sign is piecewise constant: the result carries no derivative. For
    complex ``z`` it is :math:`z/|z|` (0 at 0, as NumPy), differentiated as that quotient
    away from 0 and with derivative 0 at 0.
    """
    if _is_traced(x) and _dtype(x).kind == "c":
        r = abs(x)
        at0 = equal(r, 0)
        return where(at0, 0.0, divide(x, where(at0, 1.0, r)))
    return sign_p.bind(x)


# ------------------------------------------------------------------ exponentials and logs
exp_p, exp = _unary(
    "exp",
    lambda xp, x: xp.exp(x),
    lambda ans, x: ans,
    r"""Elementwise :math:`e^x`; derivative :math:`e^x` (the result itself).""",
    needs=(_ANS,),
    scalar_eval=lambda x: _with(_np.exp(x), lambda a: a),
    taylor=_TAYLOR["exp"],
)
exp2_p, exp2 = _unary(
    "exp2",
    lambda xp, x: xp.exp2(x),
    lambda ans, x: multiply(ans, _LN2),
    r"""Elementwise :math:`2^x`; derivative :math:`2^x \ln 2`.""",
    needs=(_ANS,),
    taylor=_TAYLOR["exp2"],
)
expm1_p, expm1 = _unary(
    "expm1",
    lambda xp, x: xp.expm1(x),
    lambda ans, x: add(ans, 1.0),
    r"""Elementwise :math:`e^x - 1`, accurate near 0; derivative :math:`e^x`, computed as
    ``expm1(x) + 1`` from the result.""",
    needs=(_ANS,),
    scalar_eval=lambda x: _with(_np.expm1(x), lambda a: a + 1.0),
    taylor=_TAYLOR["expm1"],
)
log_p, log = _unary(
    "log",
    lambda xp, x: xp.log(x),
    lambda ans, x: reciprocal(x),
    r"""Elementwise natural logarithm; derivative :math:`1/x`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.log(x), _np.reciprocal(x)),
    taylor=_TAYLOR["log"],
)
log2_p, log2 = _unary(
    "log2",
    lambda xp, x: xp.log2(x),
    lambda ans, x: reciprocal(multiply(x, _LN2)),
    r"""Elementwise :math:`\log_2 x`; derivative :math:`1/(x \ln 2)`.""",
    needs=(_X,),
    taylor=_TAYLOR["log2"],
)
log10_p, log10 = _unary(
    "log10",
    lambda xp, x: xp.log10(x),
    lambda ans, x: reciprocal(multiply(x, _LN10)),
    r"""Elementwise :math:`\log_{10} x`; derivative :math:`1/(x \ln 10)`.""",
    needs=(_X,),
    taylor=_TAYLOR["log10"],
)
log1p_p, log1p = _unary(
    "log1p",
    lambda xp, x: xp.log1p(x),
    lambda ans, x: reciprocal(add(x, 1.0)),
    r"""Elementwise :math:`\ln(1 + x)`, accurate near 0; derivative :math:`1/(1+x)`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.log1p(x), _np.reciprocal(x + 1.0)),
    taylor=_TAYLOR["log1p"],
)
sqrt_p, sqrt = _unary(
    "sqrt",
    lambda xp, x: xp.sqrt(x),
    lambda ans, x: divide(0.5, ans),
    r"""Elementwise :math:`\sqrt{x}`; derivative :math:`1/(2\sqrt{x})` (infinite at 0).""",
    needs=(_ANS,),
    scalar_eval=lambda x: _with(_np.sqrt(x), lambda a: 0.5 / a),
    taylor=_TAYLOR["sqrt"],
)
cbrt_p, cbrt = _unary(
    "cbrt",
    lambda xp, x: xp.cbrt(x),
    lambda ans, x: reciprocal(multiply(3.0, square(ans))),
    r"""Elementwise real cube root; derivative :math:`1/(3 x^{2/3})`.""",
    needs=(_ANS,),
    taylor=_TAYLOR["cbrt"],
)


def _finite_lse(ans):
    # Where both arguments are -inf the result is -inf and x - ans would be nan; measuring
    # from 0 instead gives weights exp(-inf) = 0 there, and leaves every other point as is.
    return where(isneginf(ans), 0.0, ans)


logaddexp_p, logaddexp = _binary(
    "logaddexp",
    lambda xp, x, y: xp.logaddexp(x, y),
    lambda ans, x, y: exp(subtract(x, _finite_lse(ans))),
    lambda ans, x, y: exp(subtract(y, _finite_lse(ans))),
    r""":math:`z = \ln(e^x + e^y)`, computed stably; :math:`\partial z/\partial x = e^{x-z}`,
    :math:`\partial z/\partial y = e^{y-z}` (a softmax of the two: in [0, 1], never
    overflowing; 0 where both arguments are :math:`-\infty`).""",
    needs=(_X | _ANS, _Y | _ANS),
    taylor=_TAYLOR["logaddexp"],
)
logaddexp2_p, logaddexp2 = _binary(
    "logaddexp2",
    lambda xp, x, y: xp.logaddexp2(x, y),
    lambda ans, x, y: exp2(subtract(x, _finite_lse(ans))),
    lambda ans, x, y: exp2(subtract(y, _finite_lse(ans))),
    r""":math:`z = \log_2(2^x + 2^y)`; :math:`\partial z/\partial x = 2^{x-z}`,
    :math:`\partial z/\partial y = 2^{y-z}` (0 where both are :math:`-\infty`).""",
    needs=(_X | _ANS, _Y | _ANS),
    taylor=_TAYLOR["logaddexp2"],
)

# ------------------------------------------------------------------ trigonometric
sin_p, sin = _unary(
    "sin",
    lambda xp, x: xp.sin(x),
    lambda ans, x: cos(x),
    r"""Elementwise :math:`\sin x`; derivative :math:`\cos x`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.sin(x), _np.cos(x)),
    taylor=_TAYLOR["sin"],
)
cos_p, cos = _unary(
    "cos",
    lambda xp, x: xp.cos(x),
    lambda ans, x: negative(sin(x)),
    r"""Elementwise :math:`\cos x`; derivative :math:`-\sin x`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.cos(x), -_np.sin(x)),
    taylor=_TAYLOR["cos"],
)
tan_p, tan = _unary(
    "tan",
    lambda xp, x: xp.tan(x),
    lambda ans, x: add(1.0, square(ans)),
    r"""Elementwise :math:`\tan x`; derivative :math:`1 + \tan^2 x`.""",
    needs=(_ANS,),
    scalar_eval=lambda x: _with(_np.tan(x), lambda a: 1.0 + _np.square(a)),
    taylor=_TAYLOR["tan"],
)
arcsin_p, arcsin = _unary(
    "arcsin",
    lambda xp, x: xp.arcsin(x),
    lambda ans, x: reciprocal(sqrt(subtract(1.0, square(x)))),
    r"""Elementwise :math:`\arcsin x`; derivative :math:`1/\sqrt{1-x^2}`.""",
    needs=(_X,),
    taylor=_TAYLOR["arcsin"],
)
arccos_p, arccos = _unary(
    "arccos",
    lambda xp, x: xp.arccos(x),
    lambda ans, x: negative(reciprocal(sqrt(subtract(1.0, square(x))))),
    r"""Elementwise :math:`\arccos x`; derivative :math:`-1/\sqrt{1-x^2}`.""",
    needs=(_X,),
    taylor=_TAYLOR["arccos"],
)
arctan_p, arctan = _unary(
    "arctan",
    lambda xp, x: xp.arctan(x),
    lambda ans, x: reciprocal(add(1.0, square(x))),
    r"""Elementwise :math:`\arctan x`; derivative :math:`1/(1+x^2)`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.arctan(x), _np.reciprocal(1.0 + _np.square(x))),
    taylor=_TAYLOR["arctan"],
)


def _atan2_dy(ans, y, x):
    return divide(x, add(square(x), square(y)))


def _atan2_dx(ans, y, x):
    return negative(divide(y, add(square(x), square(y))))


arctan2_p, arctan2 = _binary(
    "arctan2",
    lambda xp, y, x: xp.arctan2(y, x),
    _atan2_dy,
    _atan2_dx,
    r"""Elementwise angle :math:`\theta = \operatorname{atan2}(y, x)`;
    :math:`\partial\theta/\partial y = x/(x^2+y^2)`,
    :math:`\partial\theta/\partial x = -y/(x^2+y^2)`.""",
    needs=(_XY, _XY),
    taylor=_TAYLOR["arctan2"],
)
sinh_p, sinh = _unary(
    "sinh",
    lambda xp, x: xp.sinh(x),
    lambda ans, x: cosh(x),
    r"""Elementwise :math:`\sinh x`; derivative :math:`\cosh x`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.sinh(x), _np.cosh(x)),
    taylor=_TAYLOR["sinh"],
)
cosh_p, cosh = _unary(
    "cosh",
    lambda xp, x: xp.cosh(x),
    lambda ans, x: sinh(x),
    r"""Elementwise :math:`\cosh x`; derivative :math:`\sinh x`.""",
    needs=(_X,),
    scalar_eval=lambda x: (_np.cosh(x), _np.sinh(x)),
    taylor=_TAYLOR["cosh"],
)


def _tanh_vjp(ct, ans, x):
    # ct * (1 - ans**2). On plain NumPy arrays of one shape and dtype: the same three
    # operations in the same order, into one new array instead of three.
    if (
        type(ct) is _ndarray
        and type(ans) is _ndarray
        and ct.shape == ans.shape
        and ct.dtype == ans.dtype
    ):
        r = _np.multiply(ans, ans)  # square(ans): the one new array
        _np.subtract(1.0, r, out=r)
        _np.multiply(ct, r, out=r)
        return r
    return multiply(ct, subtract(1.0, square(ans)))


tanh_p, tanh = _unary(
    "tanh",
    lambda xp, x: xp.tanh(x),
    lambda ans, x: subtract(1.0, square(ans)),
    r"""Elementwise :math:`\tanh x`; derivative :math:`1 - \tanh^2 x`.""",
    vjp=(_tanh_vjp,),
    needs=(_ANS,),
    scalar_eval=lambda x: _with(_np.tanh(x), lambda a: 1.0 - _np.square(a)),
    taylor=_TAYLOR["tanh"],
)

arcsinh_p, arcsinh = _unary(
    "arcsinh",
    lambda xp, x: xp.arcsinh(x),
    lambda ans, x: reciprocal(sqrt(add(square(x), 1.0))),
    r"""Elementwise :math:`\operatorname{arsinh} x`; derivative :math:`1/\sqrt{x^2+1}`.""",
    needs=(_X,),
    taylor=_TAYLOR["arcsinh"],
)
arccosh_p, arccosh = _unary(
    "arccosh",
    lambda xp, x: xp.arccosh(x),
    lambda ans, x: reciprocal(multiply(sqrt(subtract(x, 1.0)), sqrt(add(x, 1.0)))),
    r"""Elementwise :math:`\operatorname{arcosh} x`; derivative
    :math:`1/(\sqrt{x-1}\sqrt{x+1})`.""",
    needs=(_X,),
    taylor=_TAYLOR["arccosh"],
)
arctanh_p, arctanh = _unary(
    "arctanh",
    lambda xp, x: xp.arctanh(x),
    lambda ans, x: reciprocal(subtract(1.0, square(x))),
    r"""Elementwise :math:`\operatorname{artanh} x`; derivative :math:`1/(1-x^2)`.""",
    needs=(_X,),
    taylor=_TAYLOR["arctanh"],
)
hypot_p, hypot = _binary(
    "hypot",
    lambda xp, x, y: xp.hypot(x, y),
    lambda ans, x, y: divide(x, where(equal(ans, 0), 1.0, ans)),
    lambda ans, x, y: divide(y, where(equal(ans, 0), 1.0, ans)),
    r""":math:`h = \sqrt{x^2+y^2}` without overflow; :math:`\partial h/\partial x = x/h`,
    :math:`\partial h/\partial y = y/h` (0 at the origin).""",
    needs=(_XY | _ANS, _XY | _ANS),
    taylor=_TAYLOR["hypot"],
)


# g(t) = d/dt (sin t / t) = sum_{k >= 1} (-1)^k 2k t^(2k-1) / (2k+1)!, as t * P(t^2).
_SINC_SERIES = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 7))
# Below |t| = 0.3 the six-term series is exact to 4e-14 relative, while the closed form
# (cos t - sinc)/t loses about log10(3/t^2) digits to cancellation.
_SINC_SMALL = 0.3


def _sinc_d(ans, x):
    # Both branches are evaluated at harmless points where they are not selected, so no
    # inf/nan leaks into this derivative or the next one.
    t = multiply(_PI, x)
    small = less(abs(t), _SINC_SMALL)
    ts = where(small, t, 0.0)
    u = square(ts)
    poly = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        poly = add(multiply(poly, u), c)
    series = multiply(_PI, multiply(ts, poly))
    xs = where(small, 1.0, x)
    closed = divide(subtract(cos(multiply(_PI, xs)), ans), xs)
    return where(small, series, closed)


sinc_p, sinc = _unary(
    "sinc",
    lambda xp, x: xp.sinc(x),
    _sinc_d,
    r"""Normalised sinc :math:`\operatorname{sinc} x = \sin(\pi x)/(\pi x)` (1 at 0);
    derivative :math:`(\cos(\pi x) - \operatorname{sinc} x)/x`. Near 0 (:math:`|\pi x|
    < 0.3`) the derivative is its Taylor series
    :math:`\pi(-t/3 + t^3/30 - t^5/840 + \dots)`, :math:`t = \pi x`: accurate where the
    quotient cancels, 0 at 0, and differentiable again there (the second derivative at 0
    is :math:`-\pi^2/3`).""",
    needs=(_X | _ANS,),
)
deg2rad_p, deg2rad = _unary(
    "deg2rad",
    lambda xp, x: xp.deg2rad(x),
    lambda ans, x: _PI / 180.0,
    r"""Degrees to radians, :math:`x\pi/180`; derivative :math:`\pi/180`.""",
    needs=(_NONE,),
    taylor=_TAYLOR["deg2rad"],
)
rad2deg_p, rad2deg = _unary(
    "rad2deg",
    lambda xp, x: xp.rad2deg(x),
    lambda ans, x: 180.0 / _PI,
    r"""Radians to degrees, :math:`180x/\pi`; derivative :math:`180/\pi`.""",
    needs=(_NONE,),
    taylor=_TAYLOR["rad2deg"],
)
radians = deg2rad
degrees = rad2deg

# ------------------------------------------------------------------ selection
equal_p = nondiff(
    "equal",
    lambda xp, x, y: xp.equal(x, y),
    doc="Elementwise x == y, a boolean array; carries no derivative.",
)


def _max_dx(ans, x, y):
    # Ties split the derivative evenly, so maximum(x, x) has derivative 1.
    return where(greater(x, y), 1.0, where(equal(x, y), 0.5, 0.0))


def _max_dy(ans, x, y):
    return where(less(x, y), 1.0, where(equal(x, y), 0.5, 0.0))


maximum_p, maximum = _binary(
    "maximum",
    lambda xp, x, y: xp.maximum(x, y),
    _max_dx,
    _max_dy,
    r"""Elementwise :math:`\max(x, y)` (nan propagates); the derivative goes to the larger
    argument, split evenly at ties.""",
    needs=(_XY, _XY),
    sparsity=MAX,
    taylor=_TAYLOR["maximum"],
)
minimum_p, minimum = _binary(
    "minimum",
    lambda xp, x, y: xp.minimum(x, y),
    lambda ans, x, y: _max_dy(ans, x, y),
    lambda ans, x, y: _max_dx(ans, x, y),
    r"""Elementwise :math:`\min(x, y)` (nan propagates); the derivative goes to the smaller
    argument, split evenly at ties.""",
    needs=(_XY, _XY),
    sparsity=MIN,
    taylor=_TAYLOR["minimum"],
)


def _fmax_dx(ans, x, y):
    return where(isnan(y), 1.0, where(isnan(x), 0.0, _max_dx(ans, x, y)))


def _fmax_dy(ans, x, y):
    return where(isnan(x), 1.0, where(isnan(y), 0.0, _max_dy(ans, x, y)))


fmax_p, fmax = _binary(
    "fmax",
    lambda xp, x, y: xp.fmax(x, y),
    _fmax_dx,
    _fmax_dy,
    r"""Elementwise :math:`\max(x, y)` ignoring nan; the derivative goes to the argument
    chosen, split evenly at ties.""",
    needs=(_XY, _XY),
    sparsity=MAX,
    taylor=_TAYLOR["fmax"],
)
fmin_p, fmin = _binary(
    "fmin",
    lambda xp, x, y: xp.fmin(x, y),
    lambda ans, x, y: where(isnan(y), 1.0, where(isnan(x), 0.0, _max_dy(ans, x, y))),
    lambda ans, x, y: where(isnan(x), 1.0, where(isnan(y), 0.0, _max_dx(ans, x, y))),
    r"""Elementwise :math:`\min(x, y)` ignoring nan; the derivative goes to the argument
    chosen, split evenly at ties.""",
    needs=(_XY, _XY),
    sparsity=MIN,
    taylor=_TAYLOR["fmin"],
)


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    r"""Limit ``a`` to :math:`[a_{min}, a_{max}]`: ``minimum(maximum(a, a_min), a_max)``
    (``min``/``max`` are NumPy 2's names for the bounds; None leaves a side open).

    The derivative is 1 strictly inside the interval and goes to the bound outside it
    (ties at a bound split evenly, as for :func:`maximum`).
    """
    if out is not None:
        raise OpError("clip: out= is not supported (adgraph arrays are immutable)")
    if a_min is not None and min is not None or a_max is not None and max is not None:
        raise TypeError("clip: give each bound once, as a_min/a_max or as min/max")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    x = a
    try:
        if lo is not None:
            a = maximum(a, lo)
        if hi is not None:
            a = minimum(a, hi)
    except ValueError as e:
        if "broadcast" in str(e):
            raise OpError(
                f"clip: a of shape {_shape(x)} and bounds of shapes {_shape(lo)}, "
                f"{_shape(hi)} cannot be broadcast together"
            ) from None
        raise
    return a


def _where_tangent(t, ans, c, x, y):
    return where(c, t, 0.0)


where_p = elementwise(
    "where",
    lambda xp, c, x, y: xp.where(c, x, y),
    None,
    None,
    None,
    doc=r"""Select :math:`x` where ``c`` else :math:`y`. Linear in ``x`` and ``y``:
    :math:`\bar x = \bar z \cdot [c]`, :math:`\bar y = \bar z \cdot [\lnot c]`.""",
    tangent=(
        lambda t, ans, c, x, y: None,
        _where_tangent,
        lambda t, ans, c, x, y: where(c, 0.0, t),
    ),
    sparsity=WHERE,
    vjp=(
        lambda ct, ans, c, x, y: None,  # a (float) condition carries no derivative
        lambda ct, ans, c, x, y: where(c, ct, 0.0),
        lambda ct, ans, c, x, y: where(c, 0.0, ct),
    ),
    tangent_elementwise=True,
    needs=(_NONE, _X, _X),
    taylor=_TAYLOR["where"],
)


def where(condition, x=None, y=None):
    r"""Elementwise selection ``x if condition else y``.

    The derivative flows to the branch selected. Note the usual caveat of AD through
    ``where``: both branches are evaluated, so a branch that is nan or infinite where it is
    *not* selected still poisons the derivative (``0 * inf = nan``). Make the unselected
    branch safe instead: ``where(x > 0, sqrt(where(x > 0, x, 1.0)), 0.0)``.
    With one argument, returns the indices where ``condition`` is true (not differentiable).
    """
    if x is None and y is None:
        from .indexing import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    try:
        return where_p.bind(condition, x, y)
    except ValueError as e:
        _broadcast_error("where", (condition, x, y), e)
        raise


# ------------------------------------------------------------------ complex parts
def _real_vjp(ct, ans, x):
    return ct


real_p = elementwise(
    "real",
    lambda xp, x: xp.real(x),
    None,
    doc=r"""Real part. Linear: :math:`\dot y = \operatorname{Re}\dot z`, and the cotangent
    passes through as a complex number with zero imaginary part.""",
    tangent=(lambda t, ans, x: real(t),),
    vjp=(_real_vjp,),
    tangent_elementwise=True,
    needs=(_NONE,),
    taylor=_TAYLOR["real"],
)


def real(val):
    r"""Real part :math:`\operatorname{Re} z` (the array itself for real input).

    Linear: :math:`\dot y = \operatorname{Re} \dot z`. In adgraph's complex convention the
    gradient of :math:`\operatorname{Re} z` is 1 (:math:`\partial/\partial x - i\,
    \partial/\partial y` of :math:`x`).
    """
    if getattr(val, "dtype", None) is not None and val.dtype.kind != "c":
        return val
    return real_p.bind(val)


imag_p = elementwise(
    "imag",
    lambda xp, x: xp.imag(x),
    None,
    doc=r"""Imaginary part. Linear: :math:`\dot y = \operatorname{Im}\dot z`; the cotangent
    is :math:`-i\bar y` (as :math:`\operatorname{Im} z = \operatorname{Re}(-iz)`).""",
    tangent=(lambda t, ans, x: imag(t),),
    vjp=(lambda ct, ans, x: multiply(ct, -1j),),
    tangent_elementwise=True,
    needs=(_NONE,),
    taylor=_TAYLOR["imag"],
)


def imag(val):
    r"""Imaginary part :math:`\operatorname{Im} z` (zeros for real input).

    Linear: :math:`\dot y = \operatorname{Im} \dot z`; the gradient of
    :math:`\operatorname{Im} z` is :math:`-i` (:math:`\partial/\partial x - i\,
    \partial/\partial y` of :math:`y`), and 0 for real input.
    """
    return imag_p.bind(val)


conj_p = elementwise(
    "conj",
    lambda xp, x: xp.conj(x),
    None,
    doc=r"""Complex conjugate. Linear: :math:`\dot y = \overline{\dot z}`,
    :math:`\bar z = \overline{\bar y}`.""",
    tangent=(lambda t, ans, x: conj(t),),
    vjp=(lambda ct, ans, x: conj(ct),),
    tangent_elementwise=True,
    needs=(_NONE,),
    taylor=_TAYLOR["conj"],
)


def conj(x, /):
    r"""Complex conjugate :math:`\bar z` (the array itself for real input).

    Linear (over the reals): :math:`\dot y = \overline{\dot z}` and the cotangent is
    conjugated back, :math:`\bar z = \overline{\bar y}`.
    """
    if getattr(x, "dtype", None) is not None and x.dtype.kind != "c":
        return x
    return conj_p.bind(x)


conjugate = conj


def _angle_tangent(t, ans, x):
    if x.dtype.kind != "c":
        return None
    safe = where(equal(x, 0), 1.0, x)
    return imag(divide(t, safe))


def _angle_vjp(ct, ans, x):
    safe = where(equal(x, 0), 1.0, x)
    return multiply(ct, divide(-1j, safe))


angle_p = elementwise(
    "angle",
    lambda xp, x: xp.angle(x),
    None,
    doc=r"""Argument :math:`\arg z`; :math:`\dot\theta = \operatorname{Im}(\dot z / z)`, so
    the gradient is :math:`-i/z`. For real input the angle is piecewise constant.""",
    tangent=(_angle_tangent,),
    vjp=(_angle_vjp,),
    tangent_elementwise=True,
    needs=(_X,),
    taylor=_TAYLOR["angle"],
)


def angle(z, deg=False):
    r"""Argument of a complex number, :math:`\theta = \operatorname{atan2}(\operatorname{Im}
    z, \operatorname{Re} z)`, in radians (degrees if ``deg``).

    :math:`\dot\theta = \operatorname{Im}(\dot z / z)`, so the gradient is :math:`-i/z`
    (0 at 0). For real input the angle (0 or :math:`\pi`) is piecewise constant: derivative
    0.
    """
    a = angle_p.bind(z)
    return multiply(a, 180.0 / _PI) if deg else a


# Residuals read by each reverse rule (see ``_NONE`` above); primitives not listed keep all.


# ------------------------------------------------------------------ non-differentiable
def _nd(name, impl, nargs, doc):
    doc = doc + " The result carries no derivative (it is never traced)."
    p = nondiff(name, impl, doc=doc)
    return _wrap(p, name, nargs, doc)


not_equal = _nd("not_equal", lambda xp, x, y: xp.not_equal(x, y), 2, "Elementwise x != y.")
less = _nd("less", lambda xp, x, y: xp.less(x, y), 2, "Elementwise x < y.")
less_equal = _nd("less_equal", lambda xp, x, y: xp.less_equal(x, y), 2, "Elementwise x <= y.")
greater = _nd("greater", lambda xp, x, y: xp.greater(x, y), 2, "Elementwise x > y.")
greater_equal = _nd(
    "greater_equal", lambda xp, x, y: xp.greater_equal(x, y), 2, "Elementwise x >= y."
)
equal = _wrap(equal_p, "equal", 2, "Elementwise x == y (a boolean array, no derivative).")
logical_and = _nd("logical_and", lambda xp, x, y: xp.logical_and(x, y), 2, "Elementwise and.")
logical_or = _nd("logical_or", lambda xp, x, y: xp.logical_or(x, y), 2, "Elementwise or.")
logical_xor = _nd("logical_xor", lambda xp, x, y: xp.logical_xor(x, y), 2, "Elementwise xor.")
logical_not = _nd("logical_not", lambda xp, x: xp.logical_not(x), 1, "Elementwise not.")
isfinite = _nd("isfinite", lambda xp, x: xp.isfinite(x), 1, "Elementwise test for finiteness.")
isnan = _nd("isnan", lambda xp, x: xp.isnan(x), 1, "Elementwise test for nan.")
isinf = _nd("isinf", lambda xp, x: xp.isinf(x), 1, "Elementwise test for +-inf.")
isneginf = _nd("isneginf", lambda xp, x: xp.isneginf(x), 1, "Elementwise test for -inf.")
isposinf = _nd("isposinf", lambda xp, x: xp.isposinf(x), 1, "Elementwise test for +inf.")
signbit = _nd("signbit", lambda xp, x: xp.signbit(x), 1, "Elementwise test of the sign bit.")
floor = _nd(
    "floor",
    lambda xp, x: xp.floor(x),
    1,
    r"""Elementwise :math:`\lfloor x \rfloor`; piecewise constant (zero derivative).""",
)
ceil = _nd(
    "ceil",
    lambda xp, x: xp.ceil(x),
    1,
    r"""Elementwise :math:`\lceil x \rceil`; piecewise constant (zero derivative).""",
)
trunc = _nd("trunc", lambda xp, x: xp.trunc(x), 1, "Round toward zero; zero derivative.")
fix = trunc
rint = _nd("rint", lambda xp, x: xp.rint(x), 1, "Round to the nearest integer; zero derivative.")
_round_p = nondiff(
    "round",
    lambda xp, x, *, decimals: xp.round(x, decimals),
    doc="Round to a number of decimals (half to even); piecewise constant, no derivative.",
)


def round(a, decimals=0):
    """Round to ``decimals`` places (half to even); piecewise constant, zero derivative."""
    return _round_p.bind(a, decimals=_as_int(decimals, "round", "decimals"))


around = round
bitwise_and = _nd("bitwise_and", lambda xp, x, y: xp.bitwise_and(x, y), 2, "Bitwise and.")
bitwise_or = _nd("bitwise_or", lambda xp, x, y: xp.bitwise_or(x, y), 2, "Bitwise or.")
bitwise_xor = _nd("bitwise_xor", lambda xp, x, y: xp.bitwise_xor(x, y), 2, "Bitwise xor.")
invert = _nd("invert", lambda xp, x: xp.invert(x), 1, "Bitwise not.")
left_shift = _nd("left_shift", lambda xp, x, y: xp.left_shift(x, y), 2, "Bitwise left shift.")
right_shift = _nd("right_shift", lambda xp, x, y: xp.right_shift(x, y), 2, "Bitwise right shift.")


def _copysign_d(ans, x, y):
    return multiply(sign(x), sign(ans))


copysign_p, copysign = _binary(
    "copysign",
    lambda xp, x, y: xp.copysign(x, y),
    None,
    None,
    r""":math:`|x|` with the sign of :math:`y`; derivative in :math:`x` is
    :math:`\operatorname{sign}(x)\operatorname{sign}(y)` (0 at :math:`x = 0`, as for
    :func:`abs`), zero in :math:`y` (the sign is piecewise constant).""",
    tangent=(lambda t, ans, x, y: multiply(t, _copysign_d(ans, x, y)), lambda t, ans, x, y: None),
    vjp=(lambda ct, ans, x, y: multiply(ct, _copysign_d(ans, x, y)), lambda ct, ans, x, y: None),
    needs=(_X | _ANS, _NONE),
    tangent_elementwise=True,
    taylor=_TAYLOR["copysign"],
)
heaviside = _nd(
    "heaviside", lambda xp, x, y: xp.heaviside(x, y), 2, "Heaviside step; zero derivative."
)
nextafter = _nd("nextafter", lambda xp, x, y: xp.nextafter(x, y), 2, "Next float after x toward y.")
spacing = _nd("spacing", lambda xp, x: xp.spacing(x), 1, "Distance to the next float.")
gcd = _nd("gcd", lambda xp, x, y: xp.gcd(x, y), 2, "Greatest common divisor.")
lcm = _nd("lcm", lambda xp, x, y: xp.lcm(x, y), 2, "Least common multiple.")
_isclose_p = nondiff(
    "isclose",
    lambda xp, a, b, *, rtol, atol, equal_nan: xp.isclose(
        a, b, rtol=rtol, atol=atol, equal_nan=equal_nan
    ),
    doc="Elementwise test |a - b| <= atol + rtol |b|, a boolean array; no derivative.",
)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise closeness test ``|a - b| <= atol + rtol |b|`` (no derivative)."""
    return _isclose_p.bind(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element of ``a`` and ``b`` is close (see :func:`isclose`)."""
    from .reductions import all as _all

    return bool(_all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def array_equal(a1, a2, equal_nan=False):
    """True when ``a1`` and ``a2`` have the same shape and elements."""
    from ._util import shape as _shape
    from .reductions import all as _all

    if _shape(a1) != _shape(a2):
        return False
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return bool(_all(eq))


def iscomplexobj(x):
    """True when ``x`` has a complex dtype."""
    from ._util import dtype as _dtype

    return _dtype(x).kind == "c"


def isrealobj(x):
    """True when ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


# ------------------------------------------------------------------ integer powers
def _ipow_partial(ans, x, *, n):
    if n == 1:
        return 1.0
    if n == 2:
        return multiply(2.0, x)
    return multiply(float(n), integer_pow_p.bind(x, n=n - 1))


def _ipow_scalar_partial(ans, x, *, n):
    # _ipow_partial on float64 scalars: n x^(n-1) with integer_pow's own implementation
    # of x^(n-1)
    if n == 1:
        return 1.0
    if n == 2:
        return 2.0 * x
    m = n - 1
    return float(n) * (x * x if m == 2 else _np.power(x, m))


integer_pow_p = elementwise(
    "integer_pow",
    lambda xp, x, *, n: x * x if n == 2 else xp.power(x, n),
    _ipow_partial,
    doc=r""":math:`x^n` for a fixed integer :math:`n`; derivative :math:`n x^{n-1}`, with no
    logarithm or special case at 0 (the exponent is a constant, not an argument).""",
    needs=(frozenset([0]),),
    scalar_partials=(_ipow_scalar_partial,),
    taylor=_TAYLOR["integer_pow"],
)

_power_general = power


def power(x1, x2, /):
    r"""Elementwise :math:`z = x^y`.

    For a constant integer exponent (``x**2``, ``x**-1``) this is ``integer_pow``:
    :math:`dz/dx = y x^{y-1}`, exact at 0. Otherwise :math:`\partial z/\partial x = y
    x^{y-1}` (0 where :math:`y = 0`) and :math:`\partial z/\partial y = z \log x` (0 where
    :math:`x = 0`); for negative ``x`` the derivative in ``y`` is nan, as is :math:`\log x`.
    """
    # Only for floating or complex x1: integer and boolean bases keep NumPy's promotion
    # (int ** 2.0 is float64, bool ** 2 is an integer) through the general primitive.
    if (
        type(x2) is int or (type(x2) is float and x2.is_integer() and abs(x2) <= 64)
    ) and _is_inexact_value(x1):
        n = int(x2)
        if n == 0:
            return _power_general(x1, x2)
        if n == 1 and _is_traced(x1):
            return x1
        return integer_pow_p.bind(x1, n=n)
    return _power_general(x1, x2)


def _is_inexact_value(x):
    if type(x) is float or type(x) is complex:
        return True
    dt = getattr(x, "dtype", None)
    return dt is not None and dt.kind in "fc"
