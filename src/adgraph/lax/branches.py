"""Branches: ``cond`` and ``switch`` (``jax.lax``'s names and semantics).

A concrete predicate (or one traced by ``grad``/``jvp``, whose value is known) runs one
branch, so its derivative is that branch's; under ``jit`` the call is one ``switch`` node
whose branches are all compiled (:mod:`adgraph.lax.staged_branches`). A predicate batched by ``vmap`` differs between
examples: both branches run and each example takes its own branch's result
(``anp.where``), so the branches must then agree in structure, shapes and dtypes; each
branch gets its operands and the traced values it closes over guarded, so no derivative
comes back from a branch an example does not take.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as _np

from .. import numpy as anp
from ..ad.batching import BatchTracer
from ..api.closure import varies
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import Tracer
from .loops import check_fn, is_batched, shape_dtype
from .staged import is_staged
from .staged_branches import cells_holding, closed_over, staged_switch

__all__ = ["cond", "switch"]


def _select(loop: str, outs: Sequence[Any], choose: Callable[[list], Any]) -> Any:
    """Combine the outputs of every branch leaf by leaf with ``choose``, after checking
    that they agree."""
    flat = [tree_flatten(o) for o in outs]
    tree0 = flat[0][1]
    for b, (leaves, tree) in enumerate(flat):
        if tree != tree0:
            raise TypeError(
                f"{loop}: branch {b} returns structure {tree}, branch 0 returns {tree0}; under "
                "vmap every branch runs and they must return the same structure"
            )
        for k, (x, y) in enumerate(zip(leaves, flat[0][0])):
            if shape_dtype(x) != shape_dtype(y):
                (s1, d1), (s0, d0) = shape_dtype(x), shape_dtype(y)
                raise TypeError(
                    f"{loop}: leaf {k} is {d1.name}{list(s1)} in branch {b} but "
                    f"{d0.name}{list(s0)} in branch 0; the branches must agree in shape and dtype"
                )
    n = len(flat[0][0])
    return tree_unflatten(tree0, [choose([f[0][k] for f in flat]) for k in range(n)])


def cond(
    pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any
) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``.

    ``pred`` must be a boolean scalar (compare explicitly: ``x > 0``). Under ``vmap`` with a
    batched ``pred`` both branches run and are combined elementwise per example. As in JAX,
    the branches must return the same structure, shapes and dtypes: with a concrete
    ``pred`` the branch not taken also runs, on the operands' values, to check it.
    """
    check_fn("cond", "true_fun", true_fun)
    check_fn("cond", "false_fun", false_fun)
    s, d = shape_dtype(pred)
    if d != _np.bool_ or s != ():
        raise TypeError(
            f"cond: pred must be a boolean scalar, got {d.name}{list(s)}; compare explicitly "
            "(x > 0, n != 0)"
        )
    if is_batched(pred):
        taken = [pred, anp.logical_not(pred)]
        outs = _run_guarded((true_fun, false_fun), operands, taken)
        return _select("cond", outs, lambda leaves: anp.where(pred, leaves[0], leaves[1]))
    if is_staged([pred]) or varies(pred):  # jit: one switch node, both branches compiled
        return staged_switch("cond", pred, (false_fun, true_fun), operands)
    taken, other = (true_fun, false_fun) if pred else (false_fun, true_fun)
    out = taken(*operands)
    _check_other_branch(out, other, operands, bool(pred))
    return out


def _run_guarded(branches: Sequence[Callable[..., Any]], operands: tuple, taken: list) -> list:
    """Every branch's output under ``vmap`` with a batched predicate, each branch run on
    its operands guarded by its ``taken`` mask (:func:`_guarded`) -- and with the traced
    values it closes over guarded the same way: a closed-over traced value
    (``lambda: sqrt(x)`` with ``x`` traced by ``grad``) would otherwise carry the
    derivative of a branch an example does not take back to it (0 * nan), as an operand
    would. The branch runs with its closure cells (and those of the functions it closes
    over) holding the guarded values (:func:`closed_over`, :func:`cells_holding`)."""
    outs = []
    for b, t in zip(branches, taken):
        cells, extra = closed_over([b])
        with cells_holding(cells, _guarded(tuple(extra), t)):
            outs.append(b(*_guarded(operands, t)))
    return outs


def _guarded(operands: tuple, taken: Any) -> tuple:
    """The operands a branch runs on under ``vmap`` with a batched predicate: every branch
    runs for every example, and an example that does not take it must get no derivative
    from it -- its rule may be inf or nan there (sqrt at -1), and a zero cotangent times
    nan is nan. Each inexact traced leaf becomes ``where(taken, x, stop_gradient(x))``:
    the same values, a derivative only where the branch is taken (``where`` selects, so
    nothing of the other examples leaks in)."""

    def guard(x):
        if isinstance(x, Tracer) and _np.dtype(x.dtype).kind in "fc":
            return anp.where(taken, x, anp.stop_gradient(x))
        return x

    leaves, tree = tree_flatten(operands)
    return tree_unflatten(tree, [guard(x) for x in leaves])


def _values(x: Any) -> Any:
    """``x`` with the tracers of enclosing ``grad``/``jvp``/``jit`` removed (their values:
    the same shapes and dtypes); a value batched by ``vmap`` stays as it is (its stored
    array has the batch axis in front)."""
    y = x
    while isinstance(y, Tracer):
        if type(y) is BatchTracer:
            return x
        y = y._inner()
    return y


def _check_other_branch(out: Any, other: Callable[..., Any], operands: tuple, pred: bool) -> None:
    """Refuse, as JAX does, a concrete-predicate ``cond`` whose branches disagree in
    structure, shapes or dtypes: the result must not depend on which branch the value of
    ``pred`` picks. The branch not taken runs on the operands' values, the tracers of
    ``grad``/``jvp``/``jit`` removed (its result is dropped; values it closes over stay
    as they are). A branch that cannot run on
    these values (an error that depends on them) is not checked."""
    ops = tuple(tree_unflatten(t, [_values(v) for v in leaves])
                for leaves, t in (tree_flatten(o) for o in operands))  # fmt: skip
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            alt = other(*ops)
    except Exception:  # noqa: BLE001 - a value-dependent failure of the branch not taken
        return
    names = ("true_fun", "false_fun") if pred else ("false_fun", "true_fun")
    (leaves, tree), (alt_leaves, alt_tree) = tree_flatten(out), tree_flatten(alt)
    if tree != alt_tree:
        raise TypeError(
            f"cond: {names[0]} returns structure {tree} but {names[1]} returns {alt_tree}; "
            "both branches must return the same structure, shapes and dtypes, whichever the "
            "predicate picks (as in jax.lax.cond)"
        )
    for k, (x, y) in enumerate(zip(leaves, alt_leaves)):
        (s0, d0), (s1, d1) = shape_dtype(x), shape_dtype(y)
        weak = isinstance(x, (int, float, complex)) or isinstance(y, (int, float, complex))
        if s0 != s1 or (d0 != d1 and not weak):  # a Python number takes the other's dtype
            raise TypeError(
                f"cond: output leaf {k} is {d0.name}{list(s0)} from {names[0]} but "
                f"{d1.name}{list(s1)} from {names[1]}; both branches must return the same "
                "structure, shapes and dtypes, whichever the predicate picks (as in "
                "jax.lax.cond)"
            )


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``, ``index`` clamped to ``[0, len(branches) - 1]`` as in
    ``jax.lax.switch``. ``index`` must be an integer scalar; under ``vmap`` with a batched
    index every branch runs and each example takes its own."""
    if not isinstance(branches, (list, tuple)) or not branches:
        raise TypeError("switch: branches must be a non-empty list or tuple of functions")
    for b in branches:
        check_fn("switch", "each branch", b)
    s, d = shape_dtype(index)
    if d.kind not in "iu" or s != ():
        raise TypeError(f"switch: index must be an integer scalar, got {d.name}{list(s)}")
    n = len(branches)
    if is_batched(index):
        idx = anp.clip(index, 0, n - 1)
        outs = _run_guarded(branches, operands, [idx == k for k in range(n)])

        def choose(leaves):
            acc = leaves[-1]
            for k in range(n - 2, -1, -1):
                acc = anp.where(idx == k, leaves[k], acc)
            return acc

        return _select("switch", outs, choose)
    if isinstance(index, (int, _np.integer)):
        return branches[min(max(int(index), 0), n - 1)](*operands)
    if is_staged([index]) or varies(index):  # jit: one switch node, every branch compiled
        return staged_switch("switch", index, tuple(branches), operands)
    # a traced index (jit): find the branch by comparisons, each a guard
    for k in range(n - 1):
        if index <= k:
            return branches[k](*operands)
    return branches[n - 1](*operands)
