"""autograd's differential operators, on adgraph's transformations.

Each operator follows autograd's calling convention: ``op(fun, argnum=0)`` returns a
function of ``fun``'s own positional and keyword arguments, differentiating with respect
to argument ``argnum`` (an int, or a tuple of ints for a tuple of results); the other
arguments are passed through unchanged and treated as constants.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as _np

from .. import numpy as anp
from ..api import (
    checkpoint as _checkpoint,
)
from ..api import (
    grad as _grad,
)
from ..api import (
    jacrev as _jacrev,
)
from ..api import (
    jvp as _jvp,
)
from ..api import (
    value_and_grad as _value_and_grad,
)
from ..api import (
    vjp as _vjp,
)
from ..core.pytree import tree_leaves, tree_map
from ..core.trace import Tracer

__all__ = [
    "grad", "elementwise_grad", "value_and_grad", "grad_and_aux", "jacobian", "hessian",
    "hessian_tensor_product", "hessian_vector_product", "tensor_jacobian_product",
    "vector_jacobian_product", "make_vjp", "make_jvp", "make_hvp", "make_ggnvp", "deriv",
    "holomorphic_grad", "grad_named", "multigrad_dict", "checkpoint",
]  # fmt: skip

Fun = Callable[..., Any]


def _check_argnum(name: str, fun: Fun, argnum: Any) -> Any:
    """``argnum`` checked: an int, or a tuple (a list is taken as one) of ints."""
    if not callable(fun):
        raise TypeError(f"{name}: the first argument must be a function, got {type(fun).__name__}")
    if isinstance(argnum, list):
        argnum = tuple(argnum)
    ok = isinstance(argnum, int) and not isinstance(argnum, bool)
    if isinstance(argnum, tuple) and argnum:
        ok = all(isinstance(a, int) and not isinstance(a, bool) for a in argnum)
    if not ok:
        raise TypeError(
            f"{name}: argnum must be an int or a non-empty tuple of ints, got {argnum!r}"
        )
    return argnum


def _unary(name: str, fun: Fun, argnum: Any, args: tuple, kwargs: dict) -> tuple[Fun, Any]:
    """``fun`` as a function of its argument(s) ``argnum`` alone, and their current value."""
    nums = argnum if isinstance(argnum, tuple) else (argnum,)
    for a in nums:
        if not -len(args) <= a < len(args):
            raise ValueError(
                f"{name}: argnum {a} is out of range for a call with {len(args)} positional "
                "argument(s); pass the argument to differentiate positionally"
            )

    def unary(x: Any) -> Any:
        new = list(args)
        if isinstance(argnum, tuple):
            for a, v in zip(argnum, x):
                new[a] = v
        else:
            new[argnum] = x
        return fun(*new, **kwargs)

    x = tuple(args[a] for a in argnum) if isinstance(argnum, tuple) else args[argnum]
    return unary, x


def _scalar(y: Any) -> Any:
    # autograd differentiates any output with one element (shape (1,), (1, 1)) as a scalar
    shape = _np.shape(y) if not hasattr(y, "shape") else y.shape
    if shape and int(_np.prod(shape)) == 1:
        return anp.reshape(y, ())
    return y


def _plain(v: Any) -> Any:
    return v.primal_value() if isinstance(v, Tracer) else v


def _ones_like(y: Any) -> Any:
    return tree_map(lambda v: _np.ones(_np.shape(v), dtype=_np.result_type(v)), y)


def grad(fun: Fun, argnum: Any = 0) -> Fun:
    """
    Returns a function which computes the gradient of the scalar-output ``fun`` with
    respect to its argument ``argnum``, taking the same arguments as ``fun``.

    An output with a single element (shape ``(1,)``, ``(1, 1)``) counts as a scalar, as in
    autograd. A tuple ``argnum`` gives a tuple of gradients.
    """
    argnum = _check_argnum("grad", fun, argnum)

    def gradfun(*args: Any, **kwargs: Any) -> Any:
        nums = argnum if isinstance(argnum, tuple) else (argnum,)
        if all(-len(args) <= a < len(args) for a in nums) and not any(
            tree_leaves(args[a]) for a in nums
        ):
            # autograd's gradient with respect to empty containers ([], (), [()]) is the
            # same empty structure: there is nothing in it to differentiate
            fun(*args, **kwargs)
            empty = tuple(tree_map(lambda v: v, args[a]) for a in nums)
            return empty if isinstance(argnum, tuple) else empty[0]
        return _grad(lambda *a, **k: _scalar(fun(*a, **k)), argnums=argnum)(*args, **kwargs)

    return _named(gradfun, fun, "grad", argnum)


def value_and_grad(fun: Fun, argnum: Any = 0) -> Fun:
    """``(fun(*args), grad(fun, argnum)(*args))`` from one evaluation of ``fun``."""
    argnum = _check_argnum("value_and_grad", fun, argnum)

    def vg(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        def with_value(*a: Any, **k: Any) -> tuple[Any, Any]:
            y = fun(*a, **k)
            return _scalar(y), y

        (_, value), g = _value_and_grad(with_value, argnums=argnum, has_aux=True)(*args, **kwargs)
        return value, g

    return _named(vg, fun, "value_and_grad", argnum)


def grad_and_aux(fun: Fun, argnum: Any = 0) -> Fun:
    """For ``fun`` returning ``(value, aux)``: ``(grad of value, aux)``."""
    argnum = _check_argnum("grad_and_aux", fun, argnum)

    def ga(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        def split(*a: Any, **k: Any) -> tuple[Any, Any]:
            out = fun(*a, **k)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(
                    "grad_and_aux: the function must return a pair (value, aux), got "
                    f"{type(out).__name__}"
                )
            return _scalar(out[0]), out[1]

        return _grad(split, argnums=argnum, has_aux=True)(*args, **kwargs)

    return _named(ga, fun, "grad_and_aux", argnum)


def elementwise_grad(fun: Fun, argnum: Any = 0) -> Fun:
    """The vector-Jacobian product with a cotangent of ones: for a function acting
    elementwise, the derivative of each output element with respect to its input element."""
    argnum = _check_argnum("elementwise_grad", fun, argnum)

    def eg(*args: Any, **kwargs: Any) -> Any:
        unary, x = _unary("elementwise_grad", fun, argnum, args, kwargs)
        ans, pullback = _vjp(unary, x)
        if any(_np.iscomplexobj(_np.asarray(_plain(v))) for v in tree_leaves(ans)):
            raise TypeError(
                "elementwise_grad: the function's output is complex; it applies to real "
                "outputs (use holomorphic_grad, or differentiate the real part)"
            )
        return pullback(_ones_like(ans))[0]

    return _named(eg, fun, "elementwise_grad", argnum)


def deriv(fun: Fun, argnum: Any = 0) -> Fun:
    """The Jacobian-vector product with a tangent of ones (forward mode's elementwise_grad)."""
    argnum = _check_argnum("deriv", fun, argnum)

    def d(*args: Any, **kwargs: Any) -> Any:
        unary, x = _unary("deriv", fun, argnum, args, kwargs)
        return _jvp(unary, (x,), (_ones_like(x),))[1]

    return _named(d, fun, "deriv", argnum)


def jacobian(fun: Fun, argnum: Any = 0) -> Fun:
    """The Jacobian, of shape ``out.shape + in.shape``."""
    argnum = _check_argnum("jacobian", fun, argnum)
    return _named(_jacrev(fun, argnums=argnum), fun, "jacobian", argnum)


def hessian(fun: Fun, argnum: Any = 0) -> Fun:
    """``jacobian(jacobian(fun))``: shape ``out.shape + in.shape + in.shape``.

    Reverse over reverse, as in autograd, so primitives with reverse-mode rules only
    (``defvjp``) work; ``adgraph.hessian`` is the faster forward-over-reverse one."""
    argnum = _check_argnum("hessian", fun, argnum)
    return _named(_jacrev(_jacrev(fun, argnums=argnum), argnums=argnum), fun, "hessian", argnum)


def hessian_tensor_product(fun: Fun, argnum: Any = 0) -> Fun:
    """A function of ``(*args, tensor, **kwargs)``: the Hessian of scalar ``fun``
    contracted with ``tensor`` over the input's axes (a Hessian-vector product for a vector
    input), as the gradient of ``<grad fun, tensor>`` (reverse over reverse)."""
    argnum = _check_argnum("hessian_tensor_product", fun, argnum)
    fun_grad = grad(fun, argnum)

    def vector_dot_grad(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("hessian_tensor_product: call it with (*args, tensor)")
        *rest, tensor = args
        return anp.tensordot(fun_grad(*rest, **kwargs), tensor, _np.ndim(tensor))

    return _named(grad(vector_dot_grad, argnum), fun, "hessian_tensor_product", argnum)


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun: Fun, argnum: Any = 0) -> Fun:
    """A function of ``(*args, tensor, **kwargs)``: ``tensor`` contracted with the Jacobian
    over the output's leading ``tensor.ndim`` axes. With ``tensor`` of the output's shape
    this is the vector-Jacobian product (one reverse pass); with fewer axes, the Jacobian
    of what is left."""
    argnum = _check_argnum("tensor_jacobian_product", fun, argnum)

    def tjp(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("tensor_jacobian_product: call it with (*args, tensor)")
        *rest, tensor = args
        unary, x = _unary("tensor_jacobian_product", fun, argnum, tuple(rest), kwargs)
        return _jacrev(lambda v: anp.tensordot(tensor, unary(v), _np.ndim(tensor)))(x)

    return _named(tjp, fun, "tensor_jacobian_product", argnum)


vector_jacobian_product = tensor_jacobian_product


def make_vjp(fun: Fun, argnum: Any = 0) -> Fun:
    """A function of ``fun``'s arguments returning ``(vjp, ans)``; ``vjp(g)`` is the
    cotangent of argument ``argnum`` for the output cotangent ``g``."""
    argnum = _check_argnum("make_vjp", fun, argnum)

    def mv(*args: Any, **kwargs: Any) -> tuple[Fun, Any]:
        unary, x = _unary("make_vjp", fun, argnum, args, kwargs)
        ans, pullback = _vjp(unary, x)
        return (lambda g: pullback(g)[0]), ans

    return _named(mv, fun, "make_vjp", argnum)


def make_jvp(fun: Fun, argnum: Any = 0) -> Fun:
    """A function of ``fun``'s arguments returning ``jvp``; ``jvp(v)`` is ``(ans, J v)``."""
    argnum = _check_argnum("make_jvp", fun, argnum)

    def mj(*args: Any, **kwargs: Any) -> Fun:
        unary, x = _unary("make_jvp", fun, argnum, args, kwargs)
        return lambda v: _jvp(unary, (x,), (v,))

    return _named(mj, fun, "make_jvp", argnum)


def make_hvp(fun: Fun, argnum: Any = 0) -> Fun:
    """A function of ``fun``'s arguments returning ``(hvp, grad)``: ``hvp(v)`` is the
    Hessian-vector product at that point, ``grad`` the gradient there."""
    argnum = _check_argnum("make_hvp", fun, argnum)

    def mh(*args: Any, **kwargs: Any) -> tuple[Fun, Any]:
        unary, x = _unary("make_hvp", fun, argnum, args, kwargs)
        g, pullback = _vjp(_grad(lambda v: _scalar(unary(v))), x)
        return (lambda v: pullback(v)[0]), g

    return _named(mh, fun, "make_hvp", argnum)


def _half_sum_squares(x: Any) -> Any:
    return 0.5 * anp.sum(x**2, axis=-1)


def make_ggnvp(f: Fun, g: Fun = _half_sum_squares, f_argnum: Any = 0) -> Fun:
    """Generalised Gauss-Newton products ``J_f^T H_g J_f v`` for ``g(f(x))`` (``g``
    scalar-valued).

    Returns a function of ``f``'s arguments that returns ``ggnvp(v)``. Everything runs in
    reverse mode, as in autograd: ``J_f v`` is the derivative of the linear map
    ``u -> J_f^T u``.
    """
    f_argnum = _check_argnum("make_ggnvp", f, f_argnum)

    def mg(*args: Any, **kwargs: Any) -> Fun:
        unary, x = _unary("make_ggnvp", f, f_argnum, args, kwargs)
        fx, f_pullback = _vjp(unary, x)
        g_hvp, _ = make_hvp(g)(fx)
        zero = tree_map(lambda v: _np.zeros(_np.shape(v), _np.result_type(v)), fx)
        f_jvp = _vjp(lambda u: f_pullback(u)[0], zero)[1]

        def ggnvp(v: Any) -> Any:
            return f_pullback(g_hvp(f_jvp(v)[0]))[0]

        return ggnvp

    return _named(mg, f, "make_ggnvp", f_argnum)


def holomorphic_grad(fun: Fun, argnum: Any = 0) -> Fun:
    """The complex derivative ``df/dz`` of a holomorphic ``fun`` at a complex point."""
    argnum = _check_argnum("holomorphic_grad", fun, argnum)

    def hg(*args: Any, **kwargs: Any) -> Any:
        return _grad(lambda *a, **k: _scalar(fun(*a, **k)), argnums=argnum, holomorphic=True)(
            *args, **kwargs
        )

    return _named(hg, fun, "holomorphic_grad", argnum)


def grad_named(fun: Fun, argname: str) -> Fun:
    """The gradient with respect to the argument named ``argname`` (by position or keyword)."""
    sig = inspect.signature(fun)
    if argname not in sig.parameters:
        raise ValueError(
            f"grad_named: {getattr(fun, '__name__', fun)!r} has no argument {argname!r}; "
            f"its arguments are {list(sig.parameters)}"
        )

    def gn(*args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(*args, **kwargs)
        x = bound.arguments[argname]

        def of_named(v: Any) -> Any:
            b = sig.bind(*args, **kwargs)
            b.arguments[argname] = v
            return _scalar(fun(*b.args, **b.kwargs))

        return _grad(of_named)(x)

    return _named(gn, fun, "grad_named")


def multigrad_dict(fun: Fun) -> Fun:
    """The gradients with respect to every argument, as an ordered dict keyed by name."""
    sig = inspect.signature(fun)

    def mg(*args: Any, **kwargs: Any) -> OrderedDict:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        names = list(bound.arguments)
        values = tuple(bound.arguments[n] for n in names)

        def of_all(vals: tuple) -> Any:
            b = sig.bind(*args, **kwargs)
            b.apply_defaults()
            for n, v in zip(names, vals):
                b.arguments[n] = v
            return _scalar(fun(*b.args, **b.kwargs))

        return OrderedDict(zip(names, _grad(of_all)(values)))

    return _named(mg, fun, "multigrad_dict")


def checkpoint(fun: Fun) -> Fun:
    """``fun`` whose intermediate values are recomputed in the backward pass, not stored."""
    return _checkpoint(fun)


def _named(wrapper: Fun, fun: Fun, op: str, argnum: Any = None) -> Fun:
    """Name ``wrapper`` as autograd names its operators' results."""
    name = getattr(fun, "__name__", "[unknown name]")
    try:
        if argnum is None:
            wrapper.__name__ = f"{op}_of_{name}"
            wrapper.__doc__ = f"    {op} of function {name}."
        else:
            wrapper.__name__ = f"{op}_of_{name}_wrt_argnum_{argnum}"
            wrapper.__doc__ = (
                f"    {op} of function {name} with respect to argument number {argnum}. Takes "
                f"the same arguments as {name} but returns the {op}."
            )
        wrapper.__qualname__ = wrapper.__name__
    except (AttributeError, TypeError):
        pass
    return wrapper
