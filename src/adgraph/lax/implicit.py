"""Implicit derivatives: ``custom_root`` and ``custom_linear_solve``.

Both are call primitives whose solver runs on concrete values and is never differentiated:
reverse mode records one node (no tape of the solver's iterations, so memory does not grow
with them), forward mode and ``vmap`` bind the primitive again one level down. Their
derivatives come from the equation the solution satisfies:

* ``x = solve(A, b)`` (``linear_solve``): ``dx = A^{-1} (db - dA x)``, itself a linear solve
  bound as this primitive; reverse mode solves with ``A^T`` (``transpose_solve``, or
  ``solve`` when ``A`` is symmetric) and pulls ``-lambda`` back through ``matvec``.
* ``f(x*, theta) = 0`` (``custom_root``): ``dx* = -(df/dx)^{-1} (df/dtheta) dtheta`` by the
  implicit function theorem, the solve with ``df/dx`` being a ``linear_solve`` whose solver
  is the user's ``tangent_solve`` (applied to ``df/dx``'s transpose in reverse mode).

``theta`` are the traced values the user's ``f`` / ``matvec`` closes over: closure
conversion (:mod:`adgraph.api.closure`) lifts them into explicit arguments of the
primitive. Every function held in a primitive's parameters takes flat leaves, those lifted
values last, so ``vmap`` batches a call by vectorising each of them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import numpy as anp
from ..api import closure
from ..api.args import check_callable, zeros_like
from ..api.forward import jvp
from ..api.reverse import vjp
from ..api.vectorize import vmap
from ..core.primitive import Primitive
from ..core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from ..core.trace import Tracer, current_traces
from .loops import as_leaf, shape_dtype

__all__ = ["custom_root", "custom_linear_solve"]


# ------------------------------------------------------------------ shared helpers
def _check_like(
    what: str, fn: str, tree: PyTreeDef, sig: Sequence[Any], got: Any, of: str
) -> list[Any]:
    """The leaves of ``got`` (what ``fn`` returned), refused unless it has the structure
    ``tree`` and each leaf the shape in ``sig`` (``of`` names what it must match)."""
    leaves, got_tree = tree_flatten(got)
    if got_tree != tree:
        raise TypeError(
            f"{what}: {fn} must return a value with the structure of {of} ({tree}), got {got_tree}"
        )
    out = []
    for k, (leaf, (shape, _)) in enumerate(zip(leaves, sig)):
        leaf = as_leaf(leaf)
        s, d = shape_dtype(leaf)
        if d.kind not in "biufc":
            raise TypeError(
                f"{what}: {fn} returned a {type(leaf).__name__} (dtype {d}) for leaf {k}; it "
                f"must return numbers shaped like {of}"
            )
        if s != shape:
            raise ValueError(
                f"{what}: {fn} returned shape {list(s)} for leaf {k}, where {of} has shape "
                f"{list(shape)}; it must return values shaped like {of}"
            )
        out.append(leaf)
    return out


def _check_inexact(what: str, leaves: Sequence[Any], name: str) -> None:
    for k, x in enumerate(leaves):
        d = shape_dtype(x)[1]
        if d.kind not in "fc":
            raise TypeError(
                f"{what}: {name} leaf {k} has dtype {d.name}; give floating-point values "
                "(e.g. 1.0 rather than 1)"
            )


def _partial_at(fun: Callable[..., Any], head: Sequence[Any], th: Sequence[Any], idx):
    """``fun(*head, *th)`` as a function of the ``th`` at ``idx`` alone."""
    return closure.only(lambda *t: tuple(fun(*head, *t)), list(th), idx)


def _no_tracer_out(what: str, out: Sequence[Any]) -> tuple[Any, ...]:
    # the solver ran on concrete values: a traced result means it used one directly
    for o in out:
        if isinstance(o, Tracer):
            raise TypeError(
                f"{what}: the solver uses a value traced by an enclosing transformation "
                "directly; reach such values only through the function it is given (f or "
                "matvec), whose derivatives are defined implicitly"
            )
    return tuple(out)


def convert_closures(fn: Callable[..., Any], leaves: Sequence[Any], what: str):
    """``(flat function of (*leaves, *lifted), lifted values)``: ``fn``'s closures over
    traced values lifted into arguments (none when nothing is in flight).

    A function that cannot be recorded (NumPy code writing into arrays in place, say) runs
    as written: it then closes over no traced value it could use, and one it does use
    surfaces as a traced result, refused by the primitive's implementation."""
    if not current_traces():
        return fn, []
    conv = closure.Conversion(list(leaves))
    specs = [(closure._example(a)[0] if isinstance(a, Tracer) else a, False) for a in leaves]
    try:
        program, _ = conv.record(fn, specs)
    except Exception:  # not recordable: see above
        return fn, []
    lifted = conv.lifted(what)
    if not lifted:
        return fn, []
    return conv.function(program), lifted


def _broadcast(vals, batched, n, size):
    """The first ``n`` values with a leading batch axis (broadcast where unbatched), and
    ``in_axes`` for functions of ``(*those, *rest)``."""
    head = [
        v if b else anp.broadcast_to(v, (size, *shape_dtype(v)[0]))
        for v, b in zip(vals[:n], batched[:n])
    ]
    return head, closure.batch_axes(batched[n:])


def _vm(fun, lead: int, axes):
    return None if fun is None else vmap(fun, in_axes=(0,) * lead + tuple(axes))


# ------------------------------------------------------------------ linear_solve
# args: (*b, *theta); params: n (leaves of b and x), matvec(*x, *theta) -> A x,
# tmatvec(*y, *theta) -> A^T y, solve(*b, *theta) -> (*x, *aux), tsolve likewise or None.
def _ls_impl(xp, *vals, solve, what, **params):
    return _no_tracer_out(what, solve(*vals))


def _transposed(params):
    if params["tsolve"] is None:
        raise ValueError(
            f"{params['what']}: reverse mode needs transpose_solve (or symmetric=True when "
            "matvec is symmetric); give custom_linear_solve a transpose_solve"
        )
    return dict(
        params,
        matvec=params["tmatvec"],
        tmatvec=params["matvec"],
        solve=params["tsolve"],
        tsolve=params["solve"],
    )


def _ls_jvp(primals, tangents, params):
    n = params["n"]
    th = primals[n:]
    out = linear_solve_p.bind(*primals, **params)
    x = out[:n]
    rhs = [zeros_like(p) if t is None else t for p, t in zip(primals[:n], tangents[:n])]
    idx = [j for j, t in enumerate(tangents[n:]) if t is not None]
    if idx:  # db - dA x
        _, dax = jvp(
            _partial_at(params["matvec"], x, th, idx),
            tuple(th[j] for j in idx),
            tuple(tangents[n + j] for j in idx),
        )
        rhs = [r - d for r, d in zip(rhs, dax)]
    dx = linear_solve_p.bind(*rhs, *th, **params)[:n]
    return out, (*dx, *[None] * (len(out) - n))


def _ls_vjp(ct, ans, args, params, wanted):
    n = params["n"]
    th = args[n:]
    lam = linear_solve_p.bind(*ct[:n], *th, **_transposed(params))[:n]
    out: list[Any] = [lam[i] if wanted[i] else None for i in range(n)]
    out += [None] * len(th)
    idx = [j for j in range(len(th)) if wanted[n + j]]
    if idx:  # -(dA/dtheta)^T (lambda x^T)
        _, pull = vjp(_partial_at(params["matvec"], ans[:n], th, idx), *[th[j] for j in idx])
        for j, g in zip(idx, pull(tuple(lam))):
            out[n + j] = -g
    return out


def _ls_batch(vals, batched, size, **params):
    n = params["n"]
    head, axes = _broadcast(vals, batched, n, size)
    p = dict(
        params,
        matvec=_vm(params["matvec"], n, axes),
        tmatvec=_vm(params["tmatvec"], n, axes),
        solve=_vm(params["solve"], n, axes),
        tsolve=_vm(params["tsolve"], n, axes),
    )
    return linear_solve_p.bind(*head, *vals[n:], **p)


linear_solve_p = Primitive(
    "linear_solve",
    _ls_impl,
    jvp_rule=_ls_jvp,
    joint_vjp=_ls_vjp,
    batch=_ls_batch,
    multiple_results=True,
    doc="x = solve(A, b) for a linear A = matvec; dx = A^{-1}(db - dA x), reverse by A^T.",
)


def custom_linear_solve(
    matvec: Callable[[Any], Any],
    b: Any,
    solve: Callable[[Callable[[Any], Any], Any], Any],
    transpose_solve: Callable[[Callable[[Any], Any], Any], Any] | None = None,
    symmetric: bool = False,
    has_aux: bool = False,
) -> Any:
    """``x = solve(matvec, b)``, differentiated implicitly (``jax.lax.custom_linear_solve``).

    The solver's iterations are not differentiated: derivatives with respect to ``b`` and
    to values ``matvec`` closes over come from ``A x = b``, ``dx = A^{-1} (db - dA x)``,
    computed with ``solve`` again; reverse mode solves the transposed system.

    Parameters
    ----------
    matvec
        The linear map ``x -> A x`` (pytree to pytree, ``b``'s structure and shapes).
    b
        The right-hand side (a pytree of floating-point arrays).
    solve
        ``solve(matvec, b) -> x`` (and ``(x, aux)`` with ``has_aux``).
    transpose_solve
        ``transpose_solve(vecmat, b) -> x`` solving ``A^T x = b`` (``vecmat`` is
        ``y -> A^T y``); needed for reverse mode unless ``symmetric``.
    symmetric
        ``A`` is symmetric: reverse mode uses ``solve`` for the transposed system.
    has_aux
        ``solve`` (and ``transpose_solve``) return ``(x, aux)``; ``aux`` is returned
        undifferentiated.

    Returns
    -------
    ``x``, or ``(x, aux)`` with ``has_aux``.
    """
    what = "custom_linear_solve"
    check_callable(matvec, what)
    check_callable(solve, what)
    if transpose_solve is not None:
        check_callable(transpose_solve, what)
    b_leaves, tree = tree_flatten(b)
    b_leaves = [as_leaf(x) for x in b_leaves]
    _check_inexact(what, b_leaves, "b")
    sig = [shape_dtype(x) for x in b_leaves]
    n = len(b_leaves)

    def mv_raw(*vals):
        y = matvec(tree_unflatten(tree, list(vals[:n])))
        return tuple(_check_like(what, "matvec", tree, sig, y, "b"))

    mv_flat, lifted = convert_closures(mv_raw, b_leaves, f"{what}(matvec)")
    aux_box = closure.Box()

    def tmv_flat(*vals):
        w, th = vals[:n], vals[n:]
        x0 = [anp.zeros(s, d) for s, d in sig]  # A is linear: any point will do
        _, pull = vjp(lambda *x: tuple(mv_flat(*x, *th)), *x0)
        return tuple(pull(tuple(w)))

    def solver(user_solve, op, fn):
        def run(*vals):
            rhs, th = vals[:n], vals[n:]

            def a(x):
                got = op(*_check_like(what, "the solver's argument", tree, sig, x, "b"), *th)
                return tree_unflatten(tree, list(got))

            res = user_solve(a, tree_unflatten(tree, list(rhs)))
            aux_leaves: list = []
            if has_aux:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise TypeError(f"{what}: with has_aux=True, {fn} must return (x, aux)")
                res, aux = res
                aux_leaves, aux_tree = tree_flatten(aux)
                if aux_box.tree is None:
                    aux_box.tree = aux_tree
            return (*_check_like(what, fn, tree, sig, res, "b"), *aux_leaves)

        return run

    tsolve = None
    if symmetric:
        tsolve = solver(solve, mv_flat, "solve")
    elif transpose_solve is not None:
        tsolve = solver(transpose_solve, tmv_flat, "transpose_solve")
    params = {
        "n": n,
        "matvec": mv_flat,
        "tmatvec": mv_flat if symmetric else tmv_flat,
        "solve": solver(solve, mv_flat, "solve"),
        "tsolve": tsolve,
        "what": what,
    }
    out = linear_solve_p.bind(*b_leaves, *lifted, **params)
    x = tree_unflatten(tree, list(out[:n]))
    if has_aux:
        return x, tree_unflatten(aux_box.tree, list(out[n:]))
    return x


# ------------------------------------------------------------------ custom_root
# args: (*x0, *theta); params: n, f(*x, *theta) -> f(x), solve(*x0, *theta) -> (*x, *aux),
# tsolve(*y, *x, *theta) solving (df/dx) v = y at x, tsolve_t the same for (df/dx)^T.
def _root_impl(xp, *vals, solve, what, **params):
    return _no_tracer_out(what, solve(*vals))


def _root_linear(params):
    """The parameters of the ``linear_solve`` with ``A = df/dx`` at ``x``, over the
    arguments ``(*rhs, *x, *theta)``."""
    n, f = params["n"], params["f"]

    def matvec(*vals):
        v, x, th = vals[:n], vals[n : 2 * n], vals[2 * n :]
        return tuple(jvp(lambda *xx: tuple(f(*xx, *th)), tuple(x), tuple(v))[1])

    def tmatvec(*vals):
        w, x, th = vals[:n], vals[n : 2 * n], vals[2 * n :]
        _, pull = vjp(lambda *xx: tuple(f(*xx, *th)), *x)
        return tuple(pull(tuple(w)))

    return {
        "n": n,
        "matvec": matvec,
        "tmatvec": tmatvec,
        "solve": params["tsolve"],
        "tsolve": params["tsolve_t"],
        "what": params["what"] + "'s tangent_solve",
    }


def _root_jvp(primals, tangents, params):
    n = params["n"]
    th = primals[n:]
    out = root_p.bind(*primals, **params)
    x = out[:n]
    idx = [j for j, t in enumerate(tangents[n:]) if t is not None]
    if not idx:  # the root does not depend on the initial guess
        return out, None
    _, rhs = jvp(
        _partial_at(params["f"], x, th, idx),
        tuple(th[j] for j in idx),
        tuple(tangents[n + j] for j in idx),
    )
    dx = linear_solve_p.bind(*rhs, *x, *th, **_root_linear(params))[:n]
    return out, (*[-d for d in dx], *[None] * (len(out) - n))


def _root_vjp(ct, ans, args, params, wanted):
    n = params["n"]
    th, x = args[n:], ans[:n]
    out: list[Any] = [None] * len(args)
    idx = [j for j in range(len(th)) if wanted[n + j]]
    if not idx:
        return out
    lam = linear_solve_p.bind(*ct[:n], *x, *th, **_transposed(_root_linear(params)))[:n]
    _, pull = vjp(_partial_at(params["f"], x, th, idx), *[th[j] for j in idx])
    for j, g in zip(idx, pull(tuple(lam))):
        out[n + j] = -g
    return out


def _root_batch(vals, batched, size, **params):
    n = params["n"]
    head, axes = _broadcast(vals, batched, n, size)
    p = dict(
        params,
        f=_vm(params["f"], n, axes),
        solve=_vm(params["solve"], n, axes),
        tsolve=_vm(params["tsolve"], 2 * n, axes),
        tsolve_t=_vm(params["tsolve_t"], 2 * n, axes),
    )
    return root_p.bind(*head, *vals[n:], **p)


root_p = Primitive(
    "custom_root",
    _root_impl,
    jvp_rule=_root_jvp,
    joint_vjp=_root_vjp,
    batch=_root_batch,
    multiple_results=True,
    doc="x* = solve(f, x0) with f(x*) = 0; dx* = -(df/dx)^{-1} df/dtheta dtheta.",
)


def custom_root(
    f: Callable[[Any], Any],
    initial_guess: Any,
    solve: Callable[[Callable[[Any], Any], Any], Any],
    tangent_solve: Callable[[Callable[[Any], Any], Any], Any],
    has_aux: bool = False,
) -> Any:
    """The root ``x*`` of ``f(x) = 0`` found by ``solve(f, initial_guess)``, differentiated
    implicitly (``jax.lax.custom_root``).

    The solver is not differentiated (nor recorded by reverse mode): derivatives with
    respect to the values ``f`` closes over follow from ``f(x*, theta) = 0``, the implicit
    function theorem giving ``dx* = -(df/dx)^{-1} (df/dtheta) dtheta``. The root does not
    depend on ``initial_guess`` (its derivative there is zero).

    Parameters
    ----------
    f
        ``x -> f(x)``, returning ``initial_guess``'s structure and shapes.
    initial_guess
        The starting point (a pytree of floating-point arrays).
    solve
        ``solve(f, initial_guess) -> x*`` (and ``(x*, aux)`` with ``has_aux``).
    tangent_solve
        ``tangent_solve(g, y) -> x`` solving the linear system ``g(x) = y``, ``g`` being
        ``f`` linearised at the root (in reverse mode, its transpose): for a scalar,
        ``lambda g, y: y / g(1.0)``; for a small vector,
        ``lambda g, y: anp.linalg.solve(ad.jacfwd(g)(y), y)``.
    has_aux
        ``solve`` returns ``(x*, aux)``; ``aux`` is returned undifferentiated.

    Returns
    -------
    ``x*``, or ``(x*, aux)`` with ``has_aux``.
    """
    what = "custom_root"
    for fn in (f, solve, tangent_solve):
        check_callable(fn, what)
    x0, tree = tree_flatten(initial_guess)
    x0 = [as_leaf(x) for x in x0]
    _check_inexact(what, x0, "initial_guess")
    sig = [shape_dtype(x) for x in x0]
    n = len(x0)

    def f_raw(*vals):
        return tuple(
            _check_like(what, "f", tree, sig, f(tree_unflatten(tree, list(vals[:n]))), "x")
        )

    f_flat, lifted = convert_closures(f_raw, x0, f"{what}(f)")
    aux_box = closure.Box()

    def solve_flat(*vals):
        th = vals[n:]

        def fx(x):
            got = f_flat(*_check_like(what, "solve's argument", tree, sig, x, "x"), *th)
            return tree_unflatten(tree, list(got))

        res = solve(fx, tree_unflatten(tree, list(vals[:n])))
        aux_leaves: list = []
        if has_aux:
            if not (isinstance(res, tuple) and len(res) == 2):
                raise TypeError(f"{what}: with has_aux=True, solve must return (x, aux)")
            res, aux = res
            aux_leaves, aux_tree = tree_flatten(aux)
            if aux_box.tree is None:
                aux_box.tree = aux_tree
        return (*_check_like(what, "solve", tree, sig, res, "initial_guess"), *aux_leaves)

    def tangent(transpose):
        def run(*vals):
            y, x, th = vals[:n], vals[n : 2 * n], vals[2 * n :]

            def fx(*xx):
                return tuple(f_flat(*xx, *th))

            if transpose:
                _, pull = vjp(fx, *x)

                def lin(v):
                    leaves = _check_like(what, "tangent_solve's g argument", tree, sig, v, "x")
                    return tree_unflatten(tree, list(pull(tuple(leaves))))
            else:

                def lin(v):
                    leaves = _check_like(what, "tangent_solve's g argument", tree, sig, v, "x")
                    return tree_unflatten(tree, list(jvp(fx, tuple(x), tuple(leaves))[1]))

            got = tangent_solve(lin, tree_unflatten(tree, list(y)))
            return tuple(_check_like(what, "tangent_solve", tree, sig, got, "x"))

        return run

    params = {
        "n": n,
        "f": f_flat,
        "solve": solve_flat,
        "tsolve": tangent(False),
        "tsolve_t": tangent(True),
        "what": what,
    }
    out = root_p.bind(*x0, *lifted, **params)
    x = tree_unflatten(tree, list(out[:n]))
    if has_aux:
        return x, tree_unflatten(aux_box.tree, list(out[n:]))
    return x
