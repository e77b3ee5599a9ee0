"""What every transformation does with its arguments before and after the engine runs.

Checks of the function and of ``argnums``, leaves entering a transformation (Python numbers
become NumPy scalars; only floating and complex inputs carry derivatives), the shape and
dtype of tangents and cotangents against their primals, the ``(output, aux)`` pair of
``has_aux``, and the name a transformed function carries into error messages. Every
check raises an error that names the problem and the fix.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ad.common import is_float_dtype
from ..core.pytree import tree_flatten
from ..core.trace import Tracer
from ..core.xp import as_leaf, exact_number_message, module_of
from .hints import Argnums, PyTree

# Python scalars are weakly typed (as in JAX): a Python float tangent or cotangent takes
# the dtype of its primal (1.0 for a float32 input), where an array must match it.
WEAK = frozenset([float, complex])


def as_array(x: Any, what: str) -> Any:
    """A leaf entering a transformation: Python numbers become NumPy scalars, lists
    arrays; anything not numeric is refused with an error naming ``what``."""
    return as_leaf(x, what)


# The dtype of the "gradient" of an integer or boolean input under allow_int=True: a
# structured dtype with no bytes, as JAX's float0 (such a derivative holds no values).
FLOAT0 = np.dtype([("float0", np.void, 0)])


def float0_zeros(x: Any) -> np.ndarray:
    """The derivative of an integer or boolean input ``x``: float0 zeros of its shape."""
    return np.zeros(np.shape(x), dtype=FLOAT0)


def float0_tangent(p: Any, t: Any, fn_name: str) -> Any:
    """``t`` unchanged, or, where it is a float0 array (JAX's tangent of an integer or
    boolean primal), zeros of the integer primal ``p``'s shape and dtype; a float0 tangent
    of a float or complex primal is refused (it would hold no direction)."""
    if getattr(t, "dtype", None) != FLOAT0:
        return t
    pd = getattr(p, "dtype", None)
    if pd is not None and pd.kind in "fc":
        raise TypeError(
            f"{fn_name}: a float0 tangent was given for a primal of dtype {pd}; float0 is the "
            f"tangent of integer and boolean primals only -- pass an array of {pd}"
        )
    if tuple(np.shape(t)) != tuple(np.shape(p)):
        raise ValueError(
            f"{fn_name}: tangent of shape {tuple(np.shape(t))} given for a primal of shape "
            f"{tuple(np.shape(p))}"
        )
    return np.zeros(np.shape(p), dtype=pd if pd is not None else np.int64)


def check_float(x: Any, what: str, fn_name: str) -> None:
    dt = getattr(x, "dtype", None)
    if dt is None or not is_float_dtype(dt):
        raise TypeError(
            f"{fn_name}: {what} has dtype {dt}; derivatives are only defined for floating or "
            f"complex inputs. Pass a float (e.g. 2.0 rather than 2, or x.astype(float))."
        )


def check_callable(fun: Any, fn_name: str) -> None:
    if not callable(fun):
        raise TypeError(
            f"{fn_name}: the function to transform must be callable, got "
            f"{type(fun).__name__} {fun!r:.60}"
        )


def is_index(a: Any) -> bool:
    """Whether ``a`` is an integer that can name an argument or an axis (not a bool)."""
    return isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_))


def argnums_tuple(argnums: Any, nargs: int, fn_name: str) -> tuple[bool, tuple[int, ...], bool]:
    """``(single, nums, every)`` for ``argnums`` in a call with ``nargs`` positional
    arguments: whether one int was given, the argument positions (non-negative, each once),
    and whether they are every argument in order."""
    single = is_index(argnums)
    if single:
        nums = (argnums,)
    elif isinstance(argnums, (tuple, list)):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{fn_name}: argnums must be an int or a tuple of ints, got {argnums!r}")
    if not nums:
        raise ValueError(f"{fn_name}: argnums is empty; name at least one argument")
    for a in nums:
        if not is_index(a):
            raise TypeError(f"{fn_name}: argnums must be ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{fn_name}: argnums {a} is out of range for a function called with "
                f"{nargs} positional argument{'' if nargs == 1 else 's'}"
            )
    out = tuple(int(a) % nargs for a in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn_name}: argnums {argnums!r} names an argument twice; list each once")
    return single, out, out == tuple(range(nargs))


class ArgnumsByNargs(dict):
    """``argnums`` of a transformed function resolved by :func:`argnums_tuple` for each
    number of positional arguments it is called with, once: ``resolved[len(args)]`` is
    ``(single, nums, every)`` (a dict lookup on every later call)."""

    __slots__ = ("argnums", "fn_name")

    def __init__(self, argnums: Argnums, fn_name: str) -> None:
        super().__init__()
        self.argnums = argnums
        self.fn_name = fn_name

    def __missing__(self, nargs: int) -> tuple[bool, tuple[int, ...], bool]:
        got = self[nargs] = argnums_tuple(self.argnums, nargs, self.fn_name)
        return got


def aux_pair(result: Any, fn_name: str) -> tuple[Any, Any]:
    """``result`` as the ``(output, aux)`` pair a ``has_aux`` function returns."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        if isinstance(result, (tuple, list)):
            got = f"a {type(result).__name__} of length {len(result)}"
        elif hasattr(result, "shape"):
            got = f"a single array of shape {tuple(result.shape)}"
        else:
            got = f"a {type(result).__name__}"
        raise TypeError(
            f"{fn_name}: has_aux=True needs the function to return a pair (output, aux), got {got}"
        )
    return result[0], result[1]


def flatten_alike(
    a: PyTree, b: PyTree, mismatch: Callable[[Any, Any], Exception]
) -> tuple[list[Any], list[Any], Any]:
    """``(a's leaves, b's leaves, structure)`` of two pytrees that must share one
    structure; ``mismatch(a's structure, b's structure)`` is the error when they do not."""
    a_leaves, a_tree = tree_flatten(a)
    b_leaves, b_tree = tree_flatten(b)
    if a_tree != b_tree:
        raise mismatch(a_tree, b_tree)
    return a_leaves, b_leaves, a_tree


def require_leaves(leaves: Sequence[Any], what: str, fn_name: str) -> None:
    if not leaves:
        raise TypeError(
            f"{fn_name}: {what} hold no arrays (None or empty containers), so there is nothing "
            "to differentiate; pass the values to differentiate, or choose them with argnums"
        )


def check_holomorphic_input(x: Any, holomorphic: bool, fn_name: str) -> None:
    """Complex inputs go with ``holomorphic=True`` (for ``jacfwd`` and ``hessian``, whose
    outer pass is ``jacfwd``; reverse mode takes a complex input without it, its cotangent
    being the conjugate gradient)."""
    if holomorphic and x.dtype.kind != "c":
        raise TypeError(
            f"{fn_name}: holomorphic=True needs complex inputs, got {x.dtype}; pass "
            "x.astype(complex)"
        )
    if not holomorphic and x.dtype.kind == "c" and fn_name.startswith(("jacfwd", "hessian")):
        raise TypeError(
            f"{fn_name}: complex input ({x.dtype}) without holomorphic=True; pass "
            "holomorphic=True for a holomorphic function (the Jacobian is f'(z)), or "
            "differentiate with respect to the real and imaginary parts separately"
        )


def check_tangent(p: Any, t: Any, fn_name: str, what: str = "tangent", weak: bool = False) -> Any:
    """A tangent must match its primal's shape and dtype (``weak``: ``t`` came from a
    Python float or complex, and takes the primal's dtype). An integer primal carries no
    tangent: only a zero one is accepted (of any numeric dtype)."""
    ps, ts = tuple(getattr(p, "shape", ())), tuple(getattr(t, "shape", ()))
    if ts != ps:
        raise ValueError(f"{fn_name}: {what} of shape {ts} given for a primal of shape {ps}")
    pd, td = getattr(p, "dtype", None), getattr(t, "dtype", None)
    if td is None or td.kind not in "biufc":
        raise TypeError(f"{fn_name}: {what} must be a numeric array, got dtype {td}")
    if pd is None or pd.kind not in "fc":
        # Integer primals carry no tangent: only a zero one is meaningful.
        inner = t.primal_value() if isinstance(t, Tracer) else t
        if module_of(inner).any(inner != 0):
            raise TypeError(
                f"{fn_name}: a nonzero {what} was given for a primal of integer dtype {pd}, "
                "which cannot move; pass the primal as a float (e.g. 2.0, or x.astype(float))"
            )
        return t
    if td.kind == "c" and pd.kind != "c":
        raise TypeError(
            f"{fn_name}: complex {what} ({td}) given for a real primal ({pd}); a real input "
            "moves along real directions only -- pass a real tangent, or make the primal complex"
        )
    if td != pd:
        if not weak:
            raise TypeError(
                f"{fn_name}: primal and {what} arguments must have equal types: the primal "
                f"has dtype {pd}, so the {what} must be {pd}, got {td}; pass "
                f"{what}.astype(np.{pd.name}) (a Python float is taken as {pd})"
            )
        from ..ops.misc import astype

        t = astype(t, pd)
    return t


def check_cotangent(c: Any, like: Any) -> Any:
    """The cotangent ``c`` given for an output like ``like``, checked: the output's shape
    and dtype (a Python float takes the output's dtype, as in JAX); an ``np.matrix``
    becomes a plain array and a masked array is refused, as for inputs."""
    cs = getattr(c, "shape", None)
    if cs is None:
        if not isinstance(c, (int, float, complex, np.number, np.bool_)):
            if isinstance(c, numbers.Number):
                raise TypeError(exact_number_message(c, "vjp: the cotangent"))
            raise TypeError(
                f"vjp: the cotangent must be an array or a number, got {type(c).__name__}"
            )
        cs = ()
    elif type(c) is not np.ndarray and isinstance(c, np.ndarray):
        c = as_leaf(c, "vjp: the cotangent")
    ls = getattr(like, "shape", ())
    if tuple(cs) != tuple(ls):
        raise ValueError(
            f"vjp: cotangent of shape {tuple(cs)} given for an output of shape {tuple(ls)}; "
            "it must have the output's shape"
        )
    cd = getattr(c, "dtype", None)
    if cd is None:
        cd = np.result_type(c)
    if cd.kind not in "biufc":
        raise TypeError(f"vjp: the cotangent must be numeric, got dtype {cd}")
    ld = getattr(like, "dtype", None)
    if cd.kind == "c" and ld is not None and ld.kind != "c":
        raise TypeError(
            f"vjp: complex cotangent ({cd}) given for a real output ({ld}); its imaginary "
            "part would be dropped -- pass a real cotangent"
        )
    if ld is not None and cd != ld and type(c) not in WEAK:
        raise TypeError(
            f"vjp: the cotangent must have the output's dtype: the output is {ld}, so the "
            f"cotangent must be {ld}, got {cd}; pass ct.astype(np.{ld.name}) (a Python "
            f"float is taken as {ld})"
        )
    return c


def fn_name(f: Callable[..., Any]) -> str:
    """The name of ``f`` in error messages (a transformed function's own, e.g.
    ``grad(loss)``)."""
    return str(getattr(f, "_ad_name", None) or getattr(f, "__name__", type(f).__name__))


def zeros_like(x: Any) -> Any:
    """Zeros of ``x``'s shape and dtype, in its array module: the derivative where none
    flows."""
    from ..ops.creation import zeros_like as _zeros_like

    return _zeros_like(x)


def with_args(
    fun: Callable[..., Any], args: Sequence[Any], kwargs: dict, nums: Sequence[int]
) -> Callable[..., Any]:
    """``fun`` as a function of the arguments at positions ``nums`` alone, the other
    positional arguments and ``kwargs`` held at their values."""

    def part(*chosen):
        full = list(args)
        for i, a in zip(nums, chosen):
            full[i] = a
        return fun(*full, **kwargs)

    return part


def std_basis(leaves: Sequence[Any]) -> tuple[list[Any], int]:
    """The identity over the flattened ``leaves``, split per leaf: ``(n, *leaf.shape)``
    each, with ``n`` the total size (the tangents of ``jacfwd``, the cotangents of
    ``jacrev``)."""
    if len(leaves) == 1 and type(leaves[0]) is np.ndarray:
        x = leaves[0]
        n = x.size
        return [np.eye(n, dtype=x.dtype).reshape((n,) + x.shape)], n
    sizes = [size_of(x) for x in leaves]
    n = sum(sizes)
    dtype = np.result_type(*[x.dtype for x in leaves])
    xp = (
        module_of(leaves[0].primal_value() if isinstance(leaves[0], Tracer) else leaves[0])
        if leaves
        else np
    )
    eye = xp.eye(n, dtype=dtype)
    out = []
    start = 0
    for x, s in zip(leaves, sizes):
        block = eye[:, start : start + s].reshape((n,) + tuple(getattr(x, "shape", ())))
        out.append(block.astype(x.dtype))
        start += s
    return out, n


def size_of(x: Any) -> int:
    """The number of elements of an array (1 for a scalar)."""
    n = 1
    for d in getattr(x, "shape", ()):
        n *= int(d)
    return n
