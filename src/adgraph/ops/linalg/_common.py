"""What the linear-algebra families share: NumPy's error made to name the operation and
the fix, the matrix helpers the rules are written with (transposes, diagonals, triangle
masks), and the checks that turn an input into a float matrix (stack)."""

from __future__ import annotations

import functools

import numpy as _np  # dtypes, finfo and shape arithmetic only; never computes on arrays

from ...core.primitive import Primitive
from ...core.trace import Tracer
from ...core.xp import module_of
from .._util import OpError, shape
from ..elementwise import abs as _abs
from ..elementwise import conj, less_equal, multiply, reciprocal, where
from ..indexing import getitem
from ..reductions import max as _max
from ..reductions import sum as _sum
from ..shapes import expand_dims, swapaxes

LinAlgError = _np.linalg.LinAlgError


# ------------------------------------------------------------------ errors
_HINTS = {
    "inv": "; a singular matrix has no inverse -- linalg.pinv gives the pseudo-inverse",
    "solve": "; the system has no unique solution -- linalg.lstsq gives a least-squares one",
    "tensorinv": "; a singular matrix has no inverse -- linalg.pinv gives the pseudo-inverse",
    "tensorsolve": "; the system has no unique solution",
    "matrix_power": "; a negative power needs the inverse, which a singular matrix lacks",
    "cholesky": "; Cholesky needs a Hermitian positive-definite matrix (try linalg.eigh)",
}


def _explained(op):
    """Re-raise NumPy's terse ``LinAlgError`` ("Singular matrix") naming the operation
    and what to do; the error type stays ``LinAlgError`` (a ``ValueError``)."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except LinAlgError as e:
                msg = str(e)
                if msg.startswith("linalg."):
                    raise
                raise LinAlgError(f"linalg.{op}: {msg}{_HINTS.get(op, '')}") from None

        return wrapper

    return deco


def _derivative_at_singular(op, why=None):
    """For rules that need :math:`A^{-1}`: say that the derivative, not the function,
    fails at an exactly singular matrix (``why``: the reason, when not the default)."""

    def deco(rule):
        @functools.wraps(rule)
        def wrapper(*args, **kwargs):
            try:
                return rule(*args, **kwargs)
            except LinAlgError as e:
                if str(e).startswith("linalg."):
                    raise
                reason = why or (
                    "the derivative at an exactly singular matrix is computed with its "
                    "inverse, which does not exist"
                )
                raise LinAlgError(
                    f"linalg.{op}: {reason} ({e}); the value itself is fine"
                ) from None

        return wrapper

    return deco


# ------------------------------------------------------------------ helpers
def _xp_of(x):
    if isinstance(x, Tracer):
        x = x.primal_value()
    return module_of(x)


def _dtype(x):
    d = getattr(x, "dtype", None)
    return d if d is not None else _np.result_type(x)


def _is_complex(x) -> bool:
    return _dtype(x).kind == "c"


def _mT(x):
    return swapaxes(x, -1, -2)


def _H(x):
    return conj(_mT(x)) if _is_complex(x) else _mT(x)


def _conj(x):
    return conj(x) if _is_complex(x) else x


def _eye(n, like):
    return _xp_of(like).eye(n, dtype=bool)


def _lower(n, like):
    """Boolean mask of the strictly lower triangle."""
    return _xp_of(like).tri(n, n, -1, dtype=bool)


def _diag(x):
    """The diagonals of a stack of square matrices, shape (..., n)."""
    n = shape(x)[-1]
    ar = _xp_of(x).arange(n)
    return getitem(x, (Ellipsis, ar, ar))


def _diag_embed(v):
    """Diagonal matrices from a stack of vectors (..., n) -> (..., n, n)."""
    n = shape(v)[-1]
    return where(_eye(n, v), expand_dims(v, -2), 0.0)


def _trace(x):
    return _sum(_diag(x), axis=-1)


def _safe_reciprocal_offdiag(d, scale=None, rtol=0.0):
    """1/d off the diagonal, 0 on it (the diagonal of d is never divided by).

    With ``scale`` (one value per matrix of the stack, e.g. max |eigenvalue|): a gap
    ``|d| <= rtol * scale`` is the rounding of a repeated eigenvalue (singular value) and
    counts as zero, so what divides by it is inf/nan, as at an exactly repeated one.
    Dividing by the rounding gave finite garbage: second derivatives of sum(eigh(A)^3)
    at a doubly repeated eigenvalue were 0.6% off, of sum(svd(A)^2) 20% off."""
    n = shape(d)[-1]
    eye = _eye(n, d)
    if scale is not None:
        tol = expand_dims(multiply(rtol, scale), (-1, -2))
        d = where(less_equal(_abs(d), tol), 0.0, d)
    return where(eye, 0.0, reciprocal(where(eye, 1.0, d)))


def _gap_scale(w):
    """max |w| along the last axis (the scale of eigenvalue gaps), one per matrix; 0 for
    a 0x0 matrix, which has no eigenvalues (a maximum of nothing has no identity)."""
    return _max_or_0(_abs(w), -1)


def _max_or_0(x, axis, keepdims=False):
    """max over ``axis`` (an int or a tuple) of ``x >= 0``, 0 where the axes are empty
    (the size of empty matrices and vectors, as NumPy's norms give it: there the sum,
    of nothing, is that 0 in the right shape)."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    s = shape(x)
    if any(s[a] == 0 for a in axes):
        return _sum(x, axis=axis, keepdims=keepdims)
    return _max(x, axis=axis, keepdims=keepdims)


def _as_float(a, op):
    """Integer and boolean inputs are computed in float64, as NumPy does."""
    if not isinstance(a, Tracer) and not hasattr(a, "dtype"):
        from ..creation import asarray  # a list of traced values is stacked

        a = asarray(a)
    if _dtype(a).kind not in "fc":
        from ..misc import astype

        a = astype(a, _np.float64)
    return a


def _square(a, op):
    a = _as_float(a, op)
    s = shape(a)
    if len(s) < 2:
        raise OpError(
            f"linalg.{op}: {len(s)}-dimensional array given; the array must be at least "
            "two-dimensional"
        )
    if s[-1] != s[-2]:
        raise OpError(f"linalg.{op}: last 2 dimensions of the array must be square, got {s}")
    return a


def _matrix(a, op):
    a = _as_float(a, op)
    if len(shape(a)) < 2:
        raise OpError(
            f"linalg.{op}: {len(shape(a))}-dimensional array given; the array must be at "
            "least two-dimensional"
        )
    return a


def _same_batch(prim):
    """vmap rule of a one-argument stacked primitive: the batch is one more leading axis."""

    def rule(vals, batched, size, **params):
        return prim.bind(vals[0], **params)

    return rule


def value_check(name: str, impl, doc: str) -> Primitive:
    """A primitive that returns its (stacked) matrix argument unchanged once ``impl`` has
    checked its values, raising where a derivative formula fails; identity derivatives.
    A primitive, so that a compiled program checks every matrix it runs on (a check made
    while tracing would pass a later one)."""
    prim = Primitive(
        name,
        impl,
        tangent=(lambda t, ans, x, **params: t,),
        vjp=(lambda ct, ans, x, **params: ct,),
        doc=doc,
    )
    prim.batch = _same_batch(prim)
    return prim


# ------------------------------------------------------------------ value-dependent dtypes
def _dtype_is_impl(xp, x, *, dtype):
    return _np.bool_(x.dtype == _np.dtype(dtype))


_dtype_is_p = None


def _dtype_is():
    global _dtype_is_p
    if _dtype_is_p is None:
        from ...core.primitive import Primitive

        _dtype_is_p = Primitive(
            "linalg_dtype_is",
            _dtype_is_impl,
            nondiff=True,
            doc="Whether x has the given dtype (a compiled program's guard on a result "
            "that is real or complex depending on the values).",
        )
    return _dtype_is_p


def _guard_dtype(out):
    """``out`` (an array or a tuple of them) unchanged; under ``adgraph.jit`` its dtype is
    made a guard of the compiled program. eig's, eigvals', logm's, sqrtm's and
    fractional_matrix_power's results are real or complex depending on the values of a
    real input: a program traced with one kind reused the other's rules (a real part
    taken, or one left out, decided while tracing) and gave a complex gradient of a
    real input, or dropped an imaginary part. The guard makes it trace again instead."""
    for t in out if isinstance(out, tuple) else (out,):
        v = _jit_tracer(t)
        if v is not None:
            bool(_dtype_is().bind(v, dtype=_dtype(v).str))  # the truth value: a guard
    return out


def _jit_tracer(t):
    """The value adgraph.jit traces under the other transformations of ``t`` (vmap's
    whole batch, a derivative's primal), or None outside jit: a decision on the values
    made with operations on it is a guard of the compiled program."""
    v = t
    while isinstance(v, Tracer):
        if type(v).__name__ == "JitTracer":
            return v
        v = v._inner()
    return None
