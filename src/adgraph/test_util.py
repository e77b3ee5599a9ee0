r"""Checking derivatives against finite differences: :func:`check_grads`.

Forward mode is checked directly: the JVP :math:`J v` against the central difference
:math:`(f(x + \epsilon v) - f(x - \epsilon v)) / 2\epsilon` along a random direction.
Reverse mode is checked through the transpose identity
:math:`\langle u, J v\rangle = \langle J^T u, v\rangle` for random :math:`u, v`, with the
left side from finite differences, so a wrong VJP is caught even when the JVP is also wrong.
For complex values the pairing is :math:`\langle a, b\rangle = \operatorname{Re}\sum a b`,
the one adgraph's reverse mode transposes under.

Higher orders apply the same checks to the derivative functions themselves, recursively:
``x -> jvp(f, x, v)`` and ``(x, u) -> vjp(f, x)(u)`` (the VJP as a function of the
cotangent too, so a rule that is wrong in how it depends on the cotangent is caught).

The finite-difference step is relative to each input's magnitude and small enough not to
reorder near-tied values of an input (where ``sort`` or ``max`` would jump); see
:func:`_step`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api import jvp, vjp
from .api.args import as_array as _as_array
from .api.hints import PyTree
from .core.primitive import MissingRuleError
from .core.pytree import tree_flatten, tree_map, tree_unflatten

__all__ = [
    "check_grads",
    "check_jvp",
    "check_vjp",
    "check_compiled",
    "check_batched",
    "GradCheckError",
]

# Extra consistency checks ``check_grads`` runs at its top level: "jit" (compiled equals
# eager, also for the JVP) and "vmap" (a batch of two inputs equals two separate calls).
# Test suites switch them on to run every derivative test through ``jit`` and ``vmap`` too.
EXTRA_CHECKS: set[str] = set()


class GradCheckError(AssertionError):
    """A derivative disagrees with finite differences (or forward with reverse mode)."""


def _validate(f, args, what):
    """The arguments every check takes: a function and a tuple of float arguments."""
    if not callable(f):
        raise TypeError(f"{what}: f must be callable, got {type(f).__name__}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(
            f"{what}: args must be a tuple of the positional arguments, e.g. "
            f"{what}(f, (x,)); got {type(args).__name__}"
        )
    if not args:
        raise TypeError(f"{what}: args is empty; give the arguments to differentiate at")
    for k, x in enumerate(tree_flatten(tuple(args))[0]):
        dt = getattr(_as_array(x, what), "dtype", None)
        if dt is None or dt.kind not in "fc":
            raise TypeError(
                f"{what}: argument leaf {k} has dtype {dt}; derivatives are checked only for "
                "floating or complex inputs -- pass floats, or close over integer arguments "
                "(lambda x: f(x, n))"
            )


def _validate_tols(eps, atol, rtol, what):
    if eps is not None and not eps > 0:
        raise ValueError(f"{what}: eps must be a positive step, got {eps!r}")
    for name, v in (("atol", atol), ("rtol", rtol)):
        if v is not None and not v >= 0:
            raise ValueError(f"{what}: {name} must be non-negative, got {v!r}")


def _default_tols(dtype):
    if np.dtype(dtype) in (np.float32, np.complex64):
        return 3e-3, 3e-2, 3e-2  # eps, atol, rtol
    if np.dtype(dtype) in (np.float16,):
        return 3e-2, 1e-1, 1e-1
    return 1e-5, 1e-6, 1e-5


def _leaf_dtype(leaves):
    dts = [np.asarray(x).dtype for x in leaves if np.asarray(x).dtype.kind in "fc"]
    if not dts:
        return np.dtype(np.float64)
    return min(dts, key=lambda d: d.itemsize if d.kind == "f" else d.itemsize // 2)


def _rand_like(rng, x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        v = rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)
    elif x.dtype.kind == "f":
        v = rng.standard_normal(x.shape)
    else:
        return None
    return v.astype(x.dtype)


def _inner(a, b) -> float:
    ta, _ = tree_flatten(a)
    tb, _ = tree_flatten(b)
    total = 0.0
    for x, y in zip(ta, tb):
        if x is None or y is None:
            continue
        total += float(np.real(np.sum(np.asarray(x, dtype=complex) * np.asarray(y, dtype=complex))))
    return total


def _axpy(a, v, x):
    """x + a*v leaf-wise (integer leaves untouched)."""
    return tree_map(
        lambda xi, vi: xi if vi is None else (xi + a * vi).astype(np.asarray(xi).dtype), x, v
    )


def _scaled_direction(leaves, v_leaves):
    """The random direction with each leaf's part scaled by that leaf's magnitude
    ``max(1, max|x|)``, so a finite-difference step is relative for large inputs."""
    out = []
    for x, t in zip(leaves, v_leaves):
        a = np.asarray(x)
        if t is None or a.size == 0:
            out.append(t)
            continue
        scale = max(1.0, float(np.max(np.abs(a))))
        out.append((np.asarray(t) * scale).astype(np.asarray(t).dtype) if scale != 1.0 else t)
    return out


def _step(leaves, v_leaves, base, dtype):
    r"""The finite-difference step: ``base``, made smaller where a step along the direction
    could reorder two close values of one real leaf or move a value across zero (a near-tie
    of ``sort``, ``max``, ``abs``). Along ``v`` the difference of two entries moves by at
    most ``2 eps max|v|``; the step keeps that under a quarter of the smallest gap between
    the leaf's distinct values (zero among them), but not below ``base * 1e-3`` (``1e-1``
    in single precision), where rounding error would swamp the difference quotient."""
    floor = base * (1e-3 if np.dtype(dtype).itemsize >= 8 else 1e-1)
    eps = base
    for x, t in zip(leaves, v_leaves):
        a = np.asarray(x)
        if t is None or a.dtype.kind != "f" or a.size == 0:
            continue
        vmax = float(np.max(np.abs(np.asarray(t))))
        vals = np.unique(np.concatenate([a.ravel(), [0.0]]))
        gaps = np.diff(vals)
        gaps = gaps[gaps > 0]
        if vmax > 0 and gaps.size:
            eps = min(eps, float(np.min(gaps)) / (4.0 * vmax))
    return max(eps, floor)


def _numerical_jvp(f, args, v, eps):
    fp = f(*_axpy(eps, v, args))
    fm = f(*_axpy(-eps, v, args))
    return tree_map(
        lambda p, m: (
            (np.asarray(p, dtype=np.result_type(p, np.float64)) - np.asarray(m)) / (2 * eps)
        ),
        fp,
        fm,
    )


def _close(a, b, atol, rtol, what):
    la, ta = tree_flatten(a)
    lb, tb = tree_flatten(b)
    if ta != tb:
        raise GradCheckError(f"{what}: structures differ, {ta!r} vs {tb!r}")
    for x, y in zip(la, lb):
        x = np.asarray(x)
        y = np.asarray(y)
        if x.shape != y.shape:
            raise GradCheckError(f"{what}: shapes differ, {x.shape} vs {y.shape}")
        if not np.allclose(x, y, atol=atol, rtol=rtol, equal_nan=True):
            err = np.max(np.abs(x - y)) if x.size else 0.0
            raise GradCheckError(
                f"{what}: derivative mismatch (max abs error {err:.3g}, atol={atol}, rtol={rtol})"
                f"\n  got:      {x!r}\n  expected: {y!r}"
            )


def _scalar_close(a, b, atol, rtol, what, scale):
    if not abs(a - b) <= atol * max(1.0, scale) + rtol * max(abs(a), abs(b)):
        raise GradCheckError(
            f"{what}: <u, J v> = {a!r} but <J^T u, v> = {b!r} (atol={atol}, rtol={rtol})"
        )


def check_jvp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> PyTree:
    """Check forward mode of ``f`` at ``args`` against central differences."""
    _validate(f, args, "check_jvp")
    _validate_tols(eps, atol, rtol, "check_jvp")
    leaves, tree = tree_flatten(tuple(args))
    leaves = [
        np.asarray(_as_array(x, "check_grads")) if not hasattr(x, "shape") else x for x in leaves
    ]
    args = tree_unflatten(tree, leaves)
    dtype = _leaf_dtype(leaves)
    d_eps, d_atol, d_rtol = _default_tols(dtype)
    atol, rtol = atol or d_atol, rtol or d_rtol
    rng = np.random.default_rng(seed)
    v_leaves = _scaled_direction(leaves, [_rand_like(rng, x) for x in leaves])
    eps = eps or _step(leaves, v_leaves, d_eps, dtype)
    v = tree_unflatten(tree, v_leaves)
    v_full = tree_map(lambda x, t: np.zeros_like(x) if t is None else t, args, v)
    _, t_ad = jvp(f, args, v_full)
    t_num = _numerical_jvp(f, args, v, eps)
    _close(t_ad, t_num, atol, rtol, "JVP vs finite differences")
    return v_full


def check_vjp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    modes_rtol: float | None = None,
) -> PyTree:
    """Check reverse mode of ``f`` at ``args``: <u, J v> (finite differences) against
    <J^T u, v> (reverse mode), then against forward mode's <u, J v> to ``modes_rtol``
    (default 1e-9 in double precision: rounding error; a derivative computed by an
    iterative solver agrees with the other mode only to the solver's tolerance)."""
    _validate(f, args, "check_vjp")
    _validate_tols(eps, atol, rtol, "check_vjp")
    leaves, tree = tree_flatten(tuple(args))
    args = tree_unflatten(tree, leaves)
    dtype = _leaf_dtype(leaves)
    d_eps, d_atol, d_rtol = _default_tols(dtype)
    atol, rtol = atol or d_atol, rtol or d_rtol
    rng = np.random.default_rng(seed + 1)
    v_leaves = _scaled_direction(leaves, [_rand_like(rng, x) for x in leaves])
    eps = eps or _step(leaves, v_leaves, d_eps, dtype)
    v = tree_unflatten(tree, v_leaves)
    out, pull = vjp(f, *args)
    u = tree_map(lambda o: _rand_like(rng, o), out)
    u_full = tree_map(lambda o, c: np.zeros_like(np.asarray(o)) if c is None else c, out, u)
    ct = pull(u_full)
    t_num = _numerical_jvp(f, args, v, eps)
    lhs = _inner(u_full, t_num)
    rhs = _inner(ct, v)
    scale = max(1.0, abs(lhs))
    _scalar_close(lhs, rhs, atol * 10, rtol * 10, "VJP transpose identity", scale)
    # Forward mode (itself checked against finite differences) pins the identity down to
    # rounding error, so a reverse rule that is only slightly wrong is caught too.
    try:
        v_full = tree_map(lambda x, t: np.zeros_like(np.asarray(x)) if t is None else t, args, v)
        t_ad = jvp(f, args, v_full)[1]
    except MissingRuleError:
        return u_full
    lhs_ad = _inner(u_full, t_ad)
    tight = modes_rtol or (1e-9 if rtol <= 1e-5 else 1e-4)
    scale_ad = max(1.0, _inner_abs(u_full, t_ad), _inner_abs(ct, v))
    _scalar_close(lhs_ad, rhs, tight, tight, "VJP against JVP: <u, J v> = <J^T u, v>", scale_ad)
    return u_full


def _inner_abs(a, b) -> float:
    """sum |a| |b| over the leaves: the scale of rounding error in <a, b>."""
    ta, _ = tree_flatten(a)
    tb, _ = tree_flatten(b)
    return float(
        sum(
            np.sum(np.abs(np.asarray(x)) * np.abs(np.asarray(y)))
            for x, y in zip(ta, tb)
            if x is not None and y is not None
        )
    )


def check_compiled(
    f: Callable[..., Any], args: Sequence[Any], *, rtol: float = 1e-6, atol: float = 1e-9
) -> None:
    """``jit(f)`` and ``jit`` of its JVP give the eager results."""
    from .jit import jit

    args = tuple(args)
    _close(jit(f)(*args), f(*args), atol, rtol, "jit(f) vs f")
    leaves, tree = tree_flatten(args)
    rng = np.random.default_rng(5)
    v = tree_unflatten(tree, [_rand_like(rng, x) for x in leaves])
    v = tree_map(lambda x, t: np.zeros_like(np.asarray(x)) if t is None else t, args, v)
    want = jvp(f, args, v)
    got = jit(lambda a, t: jvp(f, a, t))(args, v)
    _close(got, want, atol, rtol, "jit(jvp(f)) vs jvp(f)")


def check_batched(
    f: Callable[..., Any], args: Sequence[Any], *, rtol: float = 1e-6, atol: float = 1e-9
) -> None:
    """``vmap(f)`` over a batch of two inputs equals two separate calls."""
    from .api import vmap

    args = tuple(args)
    leaves, tree = tree_flatten(args)
    rng = np.random.default_rng(6)
    other = tree_unflatten(
        tree,
        [
            x
            if _rand_like(rng, x) is None
            else (np.asarray(x) * (1 + 1e-3 * _rand_like(rng, x).real)).astype(np.asarray(x).dtype)
            for x in leaves
        ],
    )
    stacked = tree_map(lambda a, b: np.stack([np.asarray(a), np.asarray(b)]), args, other)
    got = vmap(f)(*stacked)
    want = tree_map(lambda a, b: np.stack([np.asarray(a), np.asarray(b)]), f(*args), f(*other))
    _close(got, want, atol, rtol, "vmap(f) vs a loop")


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: str | Sequence[str] = ("fwd", "rev"),
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    *,
    _top: bool = True,
) -> None:
    """Check the derivatives of ``f`` at ``args`` up to ``order`` in the given modes.

    Raises :class:`GradCheckError` (an AssertionError) naming the failing check.

    Parameters
    ----------
    f : callable of positional array arguments, returning a pytree of arrays.
    args : tuple of the arguments (arrays, numbers or pytrees).
    order : derivatives are checked to this order (1: first derivatives; 2: also the
        derivatives of the JVP and VJP functions; and so on).
    modes : any of ``"fwd"`` and ``"rev"``.
    """
    if _top:
        _validate(f, args, "check_grads")
        _validate_tols(eps, atol, rtol, "check_grads")
        if not isinstance(order, int) or isinstance(order, bool):
            raise TypeError(f"check_grads: order must be an integer >= 1, got {order!r}")
        if order < 1:
            raise ValueError(f"check_grads: order must be an integer >= 1, got {order!r}")
    args = tuple(args)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes:
        raise ValueError("check_grads: modes is empty; use 'fwd' and/or 'rev'")
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    kw: dict[str, Any] = dict(eps=eps, atol=atol, rtol=rtol, seed=seed)
    if _top and EXTRA_CHECKS:
        d_eps, d_atol, d_rtol = _default_tols(_leaf_dtype(tree_flatten(args)[0]))
        tol = dict(rtol=max(d_rtol * 1e-2, 1e-9), atol=max(d_atol * 1e-2, 1e-12))
        if "jit" in EXTRA_CHECKS:
            check_compiled(f, args, **tol)
        if "vmap" in EXTRA_CHECKS:
            check_batched(f, args, **tol)
    if "fwd" in modes:
        v = check_jvp(f, args, **kw)
        if order > 1:
            check_grads(
                lambda *a: jvp(f, a, v)[1],
                args,
                order - 1,
                modes,
                eps,
                atol,
                rtol,
                seed + 7,
                _top=False,
            )
    if "rev" in modes:
        u = check_vjp(f, args, **kw)
        if order > 1:
            # the VJP as a function of the input and the cotangent together: a rule that
            # is right at one cotangent but wrong in how it depends on it is caught too
            n = len(args)
            check_grads(
                lambda *a: vjp(f, *a[:n])[1](a[n]),
                (*args, u),
                order - 1,
                modes,
                eps,
                atol,
                rtol,
                seed + 11,
                _top=False,
            )
