r"""``odeint``: an adaptive Dormand--Prince 5(4) solver that differentiates.

The solver (:func:`_solve`) runs on concrete NumPy values only: ``odeint`` is one primitive,
``odeint``, whose implementation is the solver and whose rules differentiate the *solution
of the ODE*, not the solver's steps:

* forward mode (forward sensitivities): the tangent ``s = dy`` solves the variational
  equation :math:`s' = f_y s + f_\theta\, d\theta`, :math:`s(t_0) = dy_0 - f(y_0, t_0)\,
  dt_0`, integrated with ``y`` as one augmented system (a ``odeint`` again), and the
  output at :math:`t_i` gains :math:`f(y_i, t_i)\, dt_i`;
* reverse mode (the adjoint method): the adjoint :math:`a = \partial L / \partial y`
  solves :math:`a' = -a^T f_y` backwards from the last time, jumping by the output's
  cotangent at each requested time, with :math:`y` integrated backwards beside it (reset at
  every requested time to ``y`` there solved 100 times more tightly than the outputs, so
  that the outputs' global error does not enter the derivative) and
  :math:`\bar\theta = \int a^T f_\theta\, dt` accumulated on the way; the time
  cotangents are :math:`\bar t_i = \bar y_i \cdot f(y_i, t_i)` and
  :math:`\bar t_0 = -a(t_0^+) \cdot f(y_0, t_0)`. Only the outputs at the requested
  times are kept: memory does not depend on the number of steps.

Both rules bind ``odeint`` again on the augmented system, so every derivative can be
differentiated again (``hessian``). ``vmap`` solves each example with its own steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as _np

from ... import numpy as anp
from ...api.args import check_callable, zeros_like
from ...api.forward import jvp
from ...api.reverse import vjp
from ...core.primitive import Primitive
from ...core.pytree import tree_flatten, tree_unflatten
from ...core.trace import Tracer
from ...lax.implicit import _check_like, convert_closures
from ...lax.loops import as_leaf, shape_dtype

__all__ = ["odeint"]

# ------------------------------------------------------------------ Dormand--Prince 5(4)
# nodes, stage coefficients, 5th-order weights, (5th - 4th)-order weights, and the weights
# of the midpoint value used by the dense output (Shampine 1986)
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B = _np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_E = _np.array(
    [
        35 / 384 - 1951 / 21600,
        0.0,
        500 / 1113 - 22642 / 50085,
        125 / 192 - 451 / 720,
        -2187 / 6784 + 12231 / 42400,
        11 / 84 - 649 / 6300,
        -1 / 60,
    ]
)
_MID = 0.5 * _np.array(
    [
        6025192743 / 30085553152,
        0.0,
        51252292925 / 65400821598,
        -2691868925 / 45128329728,
        187940372067 / 1594534317056,
        -1776094331 / 19743644256,
        11237099 / 235043384,
    ]
)


def _rms(v):
    return float(_np.sqrt(_np.mean(_np.square(v)))) if v.size else 0.0


def _initial_step(fun, t0, y0, f0, rtol, atol, direction):
    """Hairer, Norsett and Wanner's starting step (Solving ODEs I, II.4), signed."""
    scale = atol + _np.abs(y0) * rtol
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    f1 = fun(y0 + direction * h0 * f0, t0 + direction * h0)
    d2 = _rms((f1 - f0) / scale) / h0
    if max(d1, d2) <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / 5)
    return min(100 * h0, h1)


def _step(fun, y, f, t, h):
    """One Dormand--Prince step from ``(t, y)`` with ``f = fun(y, t)``: the new value, its
    derivative (the last stage, reused by the next step), the error estimate and the
    midpoint value."""
    k = [f]
    for i in range(1, 7):
        yi = y + h * sum(a * kj for a, kj in zip(_A[i], k) if a)
        k.append(fun(yi, t + _C[i] * h))
    ks = _np.stack(k)
    y1 = y + h * (_B @ ks)  # the 7th stage is evaluated at y1 itself (FSAL)
    return y1, k[6], h * (_E @ ks), y + h * (_MID @ ks)


def _interpolate(y0, y1, ymid, f0, f1, h, theta):
    """The quartic through ``y0``, ``ymid``, ``y1`` with slopes ``f0``, ``f1`` at the ends,
    at the fraction ``theta`` of the step."""
    a = -2 * h * f0 + 2 * h * f1 - 8 * y0 - 8 * y1 + 16 * ymid
    b = 5 * h * f0 - 3 * h * f1 + 18 * y0 + 14 * y1 - 32 * ymid
    c = -4 * h * f0 + h * f1 - 11 * y0 - 5 * y1 + 16 * ymid
    return (((a * theta + b) * theta + c) * theta + h * f0) * theta + y0


def _check_finite(f, t, y, what):
    """Refuse a derivative holding nan or inf: no step size can control it, and the
    controller would shrink the step toward zero (or loop on nan)."""
    if not _np.all(_np.isfinite(f)):
        raise ValueError(
            f"{what}: func returned nan or inf at t={t} (y={y}); the right-hand side must be "
            "finite along the solution"
        )


def _solve(fun, y0, ts, rtol, atol, mxstep, hmax, what):
    """``y`` at each time of ``ts`` (monotonic, either direction) for ``y' = fun(y, t)``,
    ``y(ts[0]) = y0``; ``y0`` and ``fun``'s values are 1-D NumPy arrays."""
    out = _np.empty((len(ts), y0.size), y0.dtype)
    out[0] = y0
    if len(ts) == 1:
        return out
    if not _np.all(_np.isfinite(ts)):
        raise ValueError(f"{what}: t must hold finite times, got {ts}")
    span = ts[-1] - ts[0]
    direction = 1.0 if span >= 0 else -1.0
    if _np.any(direction * _np.diff(ts) < 0):
        raise ValueError(f"{what}: t must be monotonic (increasing or decreasing), got {ts}")
    t, y = float(ts[0]), y0
    f = fun(y, t)
    _check_finite(f, t, y, what)
    h = min(_initial_step(fun, t, y, f, rtol, atol, direction), hmax)
    last = None  # the last accepted step: (t_start, y_start, f_start, y_end, f_end, ymid, h)
    for i in range(1, len(ts)):
        target = float(ts[i])
        steps = 0
        while direction * (target - t) > 0:
            if steps >= mxstep:
                raise RuntimeError(
                    f"{what}: more than mxstep={mxstep} steps between t={ts[i - 1]} and "
                    f"t={target} (a stiff or blowing-up system?); raise mxstep or loosen "
                    "rtol/atol"
                )
            if not h > 10 * _np.finfo(float).eps * max(1.0, abs(t)):  # nan too
                raise RuntimeError(
                    f"{what}: the step size fell to {h:.3g} at t={t} (the solution may be "
                    "singular there); loosen rtol/atol or shorten the time span"
                )
            y1, f1, err, ymid = _step(fun, y, f, t, direction * h)
            scale = atol + rtol * _np.maximum(_np.abs(y), _np.abs(y1))
            ratio = _rms(err / scale)
            if not math.isfinite(ratio):
                ratio = math.inf
            if ratio <= 1.0:
                last = (t, y, f, y1, f1, ymid, direction * h)
                t, y, f = t + direction * h, y1, f1
            # the standard controller: never grow by more than 10, never shrink below 0.2,
            # and never shrink after an accepted step
            if ratio == 0.0:
                factor = 10.0
            else:
                factor = min(10.0, 0.9 * ratio**-0.2)
                factor = max(factor, 1.0 if ratio <= 1.0 else 0.2)
            h = min(h * factor, hmax)
            steps += 1
        if last is None or target == t:
            out[i] = y  # the target is where we stand (the start, or a step's end)
        else:
            t0, y_0, f_0, y_1, f_1, ymid, hh = last
            out[i] = _interpolate(y_0, y_1, ymid, f_0, f_1, hh, (target - t0) / hh)
    return out


# ------------------------------------------------------------------ the primitive
# args: (*y0 leaves (n), t, *args leaves); params: func(*y, t, *args) -> n leaves (dy/dt),
# n, rtol, atol, mxstep, hmax, what. Outputs: n arrays (len(t), *shape of the y0 leaf).
def _odeint_impl(xp, *vals, func, n, rtol, atol, mxstep, hmax, what):
    y0 = [_np.asarray(v) for v in vals[:n]]
    ts = _np.asarray(vals[n], dtype=float)
    args = vals[n + 1 :]
    shapes = [v.shape for v in y0]
    sizes = [v.size for v in y0]
    dtype = _np.result_type(*[v.dtype for v in y0])
    offsets = _np.cumsum([0, *sizes])

    def unpack(vec):
        return [vec[o : o + s].reshape(sh) for o, s, sh in zip(offsets, sizes, shapes)]

    def fun(vec, t):
        got = func(*unpack(vec), t, *args)
        for g in got:
            if isinstance(g, Tracer):
                raise TypeError(
                    f"{what}: func uses a value traced by an enclosing transformation in a "
                    "way that could not be lifted into an argument; pass it in args"
                )
        return _np.concatenate([_np.ravel(_np.asarray(g, dtype)) for g in got])

    vec0 = _np.concatenate([v.ravel().astype(dtype) for v in y0])
    out = _solve(fun, vec0, ts, rtol, atol, mxstep, hmax, what)
    return tuple(
        _np.ascontiguousarray(out[:, o : o + s]).reshape((len(ts), *sh)).astype(v.dtype)
        for o, s, sh, v in zip(offsets, sizes, shapes, y0)
    )


def _at(func, n, idx, y, t, args):
    """``func`` at ``(y, t)`` as a function of the leaves of ``y`` and of the arguments at
    ``idx`` (the others fixed)."""

    def g(*d):
        a = list(args)
        for j, v in zip(idx, d[n:]):
            a[j] = v
        return tuple(func(*d[:n], t, *a))

    return g


def _inexact(x) -> bool:
    return shape_dtype(x)[1].kind in "fc"


def _rebind(vals, params, func, n):
    return odeint_p.bind(*vals, **dict(params, func=func, n=n))


def _odeint_jvp(primals, tangents, params):
    n, func = params["n"], params["func"]
    y0, t, args = primals[:n], primals[n], primals[n + 1 :]
    out = odeint_p.bind(*primals, **params)
    dt = tangents[n]
    idx = [j for j, d in enumerate(tangents[n + 1 :]) if d is not None]
    if all(d is None for d in tangents[:n]) and dt is None and not idx:
        return out, (None,) * n
    s0 = [zeros_like(y) if d is None else d for y, d in zip(y0, tangents[:n])]
    if dt is not None:  # moving t0 moves the whole trajectory: s(t0) = dy0 - f(y0, t0) dt0
        f0 = func(*y0, t[0], *args)
        s0 = [s - f * dt[0] for s, f in zip(s0, f0)]
    dargs = [tangents[n + 1 + j] for j in idx]
    m = len(args)

    def aug(*v):
        # (y, s, t, args, dargs) -> (f, f_y s + f_args dargs)
        y, s, tt, a, da = (
            v[:n],
            v[n : 2 * n],
            v[2 * n],
            v[2 * n + 1 : 2 * n + 1 + m],
            v[2 * n + 1 + m :],
        )
        dy, ds = jvp(_at(func, n, idx, y, tt, a), (*y, *[a[j] for j in idx]), (*s, *da))
        return (*dy, *ds)

    ys = _rebind((*y0, *s0, t, *args, *dargs), params, aug, 2 * n)
    dys = list(ys[n:])
    if dt is not None:  # the output at t_i moves along the trajectory: + f(y_i, t_i) dt_i
        fs = [func(*[y[i] for y in out], t[i], *args) for i in range(shape_dtype(t)[0][0])]
        for k in range(n):
            dys[k] = dys[k] + anp.stack([f[k] for f in fs]) * _expand(dt, dys[k])
    return out, tuple(dys)


def _expand(v, like):
    """``v`` (one entry per time) shaped to broadcast against ``like`` (time first)."""
    return anp.reshape(v, (-1,) + (1,) * (len(shape_dtype(like)[0]) - 1))


# the adjoint's restart points are solved this much more tightly than the outputs
_RESTART_TOL = 1e-2
# (DP5 takes about _RESTART_TOL ** (-1/5) = 2.5 times the steps; mxstep scales with it)
_RESTART_STEPS = 4


def _restart_points(args_all, params):
    """``y`` at the requested times, solved with tolerances ``_RESTART_TOL`` times the
    outputs' tolerances: where the backward pass restarts ``y`` at each requested time.

    Restarting from the outputs themselves puts their global error into every interval's
    backward trajectory: each interval then follows a different neighbour of the solution,
    inconsistent with the next interval's adjoint, and the gradient picks up that
    inconsistency amplified by the adjoint (on a Lotka--Volterra loss at rtol 1.4e-8: a
    relative error of 1.3e-6 against 2.6e-7 from exact restart points; a tighter backward
    pass changes nothing). Restarting from the true solution leaves only the backward pass's
    own error. Memory stays independent of the number of steps."""
    rtol = max(params["rtol"] * _RESTART_TOL, 100 * _np.finfo(float).eps)
    mxstep = params["mxstep"] * _RESTART_STEPS
    what = f"{params['what']} (the adjoint's restart points, solved at rtol={rtol:.3g})"
    tight = dict(params, rtol=rtol, atol=params["atol"] * _RESTART_TOL, mxstep=mxstep, what=what)
    return odeint_p.bind(*args_all, **tight)


def _odeint_vjp(ct, ans, args_all, params, wanted):
    n, func = params["n"], params["func"]
    t, args = args_all[n], args_all[n + 1 :]
    m = len(args)
    n_t = shape_dtype(t)[0][0]
    idx = [j for j in range(m) if wanted[n + 1 + j] and _inexact(args[j])]
    a = [c[n_t - 1] for c in ct]
    abar = [zeros_like(args[j]) for j in idx]
    tbar: list[Any] = [None] * n_t
    restart = _restart_points(args_all, params) if n_t > 2 else ans

    def aug(*v):
        # backwards in time: (y, a, abar, t, args) -> (f, -a^T f_y, -a^T f_args)
        y, lam, tt, aa = v[:n], v[n : 2 * n], v[2 * n + len(idx)], v[2 * n + len(idx) + 1 :]
        dy, pull = vjp(_at(func, n, idx, y, tt, aa), *y, *[aa[j] for j in idx])
        got = pull(tuple(lam))
        return (*dy, *[-g for g in got])

    for i in range(n_t - 1, 0, -1):
        if wanted[n]:
            fi = func(*[y[i] for y in ans], t[i], *args)
            tbar[i] = sum(anp.sum(c[i] * f) for c, f in zip(ct, fi))
        span = anp.stack([t[i], t[i - 1]])
        zeros = [zeros_like(b) for b in abar]
        yi = [y[i] for y in restart]
        got = _rebind((*yi, *a, *zeros, span, *args), params, aug, 2 * n + len(idx))
        a = [g[1] + c[i - 1] for g, c in zip(got[n : 2 * n], ct)]
        abar = [b + g[1] for b, g in zip(abar, got[2 * n :])]
    out: list[Any] = [a[k] if wanted[k] else None for k in range(n)]
    out.append(None)
    if wanted[n]:
        y0 = args_all[:n]
        f0 = func(*y0, t[0], *args)
        # a(t0+) excludes the cotangent of the output at t0 itself (which is y0, fixed)
        tbar[0] = -sum(anp.sum((ak - c[0]) * f) for ak, c, f in zip(a, ct, f0))
        zero = zeros_like(t[0])
        out[n] = anp.stack([zero if v is None else v for v in tbar])
    out += [None] * m
    for j, b in zip(idx, abar):
        out[n + 1 + j] = b
    return out


def _odeint_batch(vals, batched, size, **params):
    # each example is solved alone, with its own steps: vmap equals a loop of odeint
    rows = [
        odeint_p.bind(*[v[b] if bt else v for v, bt in zip(vals, batched)], **params)
        for b in range(size)
    ]
    return tuple(anp.stack([r[k] for r in rows]) for k in range(params["n"]))


odeint_p = Primitive(
    "odeint",
    _odeint_impl,
    jvp_rule=_odeint_jvp,
    joint_vjp=_odeint_vjp,
    batch=_odeint_batch,
    multiple_results=True,
    doc="y(t_i) for y' = f(y, t, *args), y(t_0) = y0 (adaptive Dormand-Prince 5(4)); "
    "forward sensitivities, adjoint reverse mode.",
)


# ------------------------------------------------------------------ the public function
def _positive(what, name, v, allow_inf=False):
    ok = isinstance(v, (int, float, _np.integer, _np.floating)) and not isinstance(v, bool)
    if not ok or not (v > 0) or (not allow_inf and not math.isfinite(v)):
        kind = "a positive number (or inf)" if allow_inf else "a positive finite number"
        raise ValueError(f"{what}: {name} must be {kind}, got {v!r}")
    return float(v)


def odeint(
    func: Callable[..., Any],
    y0: Any,
    t: Any,
    *args: Any,
    rtol: float = 1.4e-8,
    atol: float = 1.4e-8,
    mxstep: int | float = math.inf,
    hmax: float = math.inf,
) -> Any:
    """Integrate ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0``; return ``y`` at every
    time of ``t`` (``jax.experimental.ode.odeint``'s signature; ``scipy.integrate.odeint``'s
    ``func(y, t, *args)`` convention).

    An adaptive Dormand--Prince 5(4) method with error control ``rtol``/``atol`` (the
    root-mean-square of the error over ``atol + rtol |y|`` at most 1 per step) and a
    quartic dense output at the requested times, which need not be step ends.

    Differentiable with respect to ``y0``, ``t`` and ``args`` (and values ``func`` closes
    over) by every transformation: forward mode integrates the forward sensitivities,
    reverse mode the adjoint equation backwards (memory independent of the number of
    steps; it solves ``y`` once more, at tolerances 100 times tighter, for the points where
    the backward pass restarts), ``vmap`` solves each example with its own steps. The
    derivatives are those of the exact solution, computed to the same tolerances.

    Parameters
    ----------
    func
        ``func(y, t, *args) -> dy/dt``, with ``y0``'s structure and shapes.
    y0
        The initial state: a floating-point array or a pytree of them.
    t
        The times, a 1-D array, monotonic (increasing or decreasing); ``t[0]`` is the
        initial time.
    *args
        Extra arguments of ``func`` (arrays or pytrees), differentiable.
    rtol, atol
        Relative and absolute error tolerances per step.
    mxstep
        The most steps (accepted or rejected) between two consecutive times of ``t``;
        more raises a RuntimeError.
    hmax
        The largest step size.

    Returns
    -------
    ``y0``'s pytree with each leaf stacked over ``t`` (leading axis ``len(t)``).
    """
    what = "odeint"
    check_callable(func, what)
    rtol = _positive(what, "rtol", rtol)
    atol = _positive(what, "atol", atol)
    hmax = _positive(what, "hmax", hmax, allow_inf=True)
    if mxstep != math.inf and (
        isinstance(mxstep, bool) or not isinstance(mxstep, (int, _np.integer)) or mxstep < 1
    ):
        raise ValueError(f"{what}: mxstep must be a positive int (or inf), got {mxstep!r}")
    y_leaves, tree = tree_flatten(y0)
    y_leaves = [as_leaf(v) for v in y_leaves]
    if not y_leaves:
        raise ValueError(f"{what}: y0 has no arrays in it")
    for k, v in enumerate(y_leaves):
        d = shape_dtype(v)[1]
        if d.kind != "f":
            raise TypeError(
                f"{what}: y0 leaf {k} has dtype {d.name}; give real floating-point values "
                "(e.g. 1.0 rather than 1)"
            )
    if not isinstance(t, Tracer):
        t = _np.asarray(t)
        if t.dtype.kind in "iub":
            t = t.astype(float)
    s, d = shape_dtype(t)
    if len(s) != 1 or s[0] < 1 or d.kind != "f":
        raise ValueError(
            f"{what}: t must be a non-empty 1-D array of real times, got {d.name}{list(s)}"
        )
    a_leaves, a_tree = tree_flatten(args)
    a_leaves = [as_leaf(v) for v in a_leaves]
    sig = [shape_dtype(v) for v in y_leaves]
    n = len(y_leaves)

    def f_raw(*vals):
        y = tree_unflatten(tree, list(vals[:n]))
        a = tree_unflatten(a_tree, list(vals[n + 1 :]))
        return tuple(_check_like(what, "func", tree, sig, func(y, vals[n], *a), "y0"))

    t_example = t[0]
    f_flat, lifted = convert_closures(f_raw, [*y_leaves, t_example, *a_leaves], f"{what}(func)")
    params = {
        "func": f_flat,  # of (*y, t, *args, *lifted): lifted values are extra args
        "n": n,
        "rtol": rtol,
        "atol": atol,
        "mxstep": mxstep,
        "hmax": hmax,
        "what": what,
    }
    out = odeint_p.bind(*y_leaves, t, *a_leaves, *lifted, **params)
    return tree_unflatten(tree, list(out))
