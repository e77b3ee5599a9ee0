"""Shared declarations of the SciPy-backed special functions (``adgraph.scipy.special``).

Each function is an elementwise primitive whose value comes from ``scipy.special`` (or the
array module's own special-function module, extension point ``special.module``) and whose
partial derivatives are written with adgraph's operations, so they differentiate again.
An argument with no derivative (an integer order, a shape parameter whose derivative has
no closed form here) gets a partial that refuses with :class:`NoDerivativeError`, naming
the function and the argument: a forward or reverse pass that needs it stops there, and
one that does not (the argument is a constant) never calls it.
"""

from __future__ import annotations

import numpy as _np  # dtype arithmetic on the results only

from ..ad.rules import elementwise
from ..core.primitive import MissingRuleError
from .special import _special

__all__ = ["NoDerivativeError", "sp_elementwise", "refuse", "public", "keep_dtype"]


class NoDerivativeError(MissingRuleError):
    """A derivative was asked of a special function in an argument that has none here."""


def keep_dtype(out, args):
    """``out`` cast to the floating precision of the floating ``args`` (SciPy computes some
    float32 inputs in float64); complex results keep their kind."""
    dts = [a.dtype for a in args if getattr(getattr(a, "dtype", None), "kind", "") in ("f", "c")]
    odt = getattr(out, "dtype", None)
    if not dts or odt is None or odt.kind not in ("f", "c"):
        return out
    want = _np.result_type(*dts)
    if odt.kind == "c" and want.kind == "f":
        want = _np.result_type(want, _np.complex64)
    if want.itemsize < odt.itemsize:
        return out.astype(want)
    return out


def sp_impl(name: str, spname: str | None = None):
    """The implementation ``impl(xp, *args)``: ``scipy.special.<spname>(*args)``."""
    spname = spname or name

    def impl(xp, *args):
        return keep_dtype(getattr(_special(xp, name), spname)(*args), args)

    impl.__name__ = f"{name}_impl"
    return impl


def refuse(name: str, param: str, why: str = "it is an integer order"):
    """A partial derivative that refuses: ``name`` has no derivative in ``param``."""

    def partial(ans, *args, **params):
        raise NoDerivativeError(
            f"adgraph.scipy.special.{name}: no derivative with respect to {param} ({why}); "
            f"pass {param} as a constant (not an argument you differentiate), or wrap the "
            "call in adgraph.custom_jvp / custom_vjp with a rule of your own"
        )

    return partial


def sp_elementwise(name: str, *partials, spname: str | None = None, impl=None, doc: str = ""):
    """Declare ``name`` as an elementwise primitive computed by SciPy, with ``partials``."""
    return elementwise(name, impl or sp_impl(name, spname), *partials, doc=doc)


def public(prim, name: str, nargs: int, doc: str):
    """The public function for ``prim``, taking ``nargs`` positional arguments."""
    if nargs == 1:

        def f(x, /):
            return prim.bind(x)

    elif nargs == 2:

        def f(x1, x2, /):
            return prim.bind(x1, x2)

    else:

        def f(*args):
            if len(args) != nargs:
                raise TypeError(f"{name} takes {nargs} arguments, got {len(args)}")
            return prim.bind(*args)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    f.primitive = prim
    return f


def integral(xp, v, name, what):
    """``v`` as integers, refusing values that are not whole numbers (SciPy would truncate
    2.5 to 2, or refuse floats altogether, rather than give the function of order 2.5)."""
    if v.dtype.kind in "iub":
        return v
    if v.dtype.kind != "f" or not bool(xp.all(xp.isfinite(v) & (v == xp.floor(v)))):
        raise ValueError(
            f"{name}: {what} must hold whole numbers, got {v if v.size < 6 else v.dtype}; "
            "the function is defined here for integer orders only"
        )
    return v.astype(int)
