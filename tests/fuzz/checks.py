"""Every transformation of a random program, checked against NumPy, finite differences and
the other transformations.

Two kinds of tolerance:

* ``TIGHT`` (1e-10 of the scale) between computations that are exact up to rounding: the
  NumPy reference value, eager, ``jit``, and the derivative modes against each other
  (``jacfwd``, ``jacrev``, ``jvp``, ``vjp``, ``linearize``, ``grad``, ``hessian``, ``hvp``,
  ``vmap``);
* ``FD`` (1e-5 of the scale) against central finite differences with step ``STEP``: the JVP,
  the gradient and the Hessian-vector product.

The scale of a comparison is ``max(1, max |expected|)``. A result that is a tracer rather
than a number fails, whatever its value.
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

TIGHT = 1e-10
FD = 1e-5
STEP = 1e-6


@dataclass
class Failure:
    check: str
    kind: str  # "error" (raised), "mismatch" (wrong number), "tracer" (leaked), "shape", ...
    detail: str
    frames: tuple = ()  # for an error: "path:function" of the traceback's frames in adgraph

    def key(self) -> str:
        """The class of the failure: which check, and how it failed."""
        return f"{self.check} [{self.kind}{': ' + self.detail.split(':')[0] if self.kind == 'error' else ''}]"


class _Failed:
    """The result of a computation that raised (its failure is already recorded)."""


FAILED = _Failed()


def _frames(exc) -> tuple:
    out = []
    for fr in traceback.extract_tb(exc.__traceback__):
        path = fr.filename.replace("\\", "/")
        if "/adgraph/" in path:
            out.append(f"{path[path.rfind('adgraph/') :]}:{fr.name}")
    return tuple(out)


def _where(exc) -> str:
    """The innermost frame of the traceback inside adgraph (or the innermost at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [fr for fr in frames if "/adgraph/" in fr.filename.replace("\\", "/")]
    fr = (inside or frames or [None])[-1]
    if fr is None:
        return ""
    path = fr.filename.replace("\\", "/")
    path = path[path.find("adgraph/") :] if "adgraph/" in path else path
    return f" (at {path}:{fr.lineno})"


def _leaves(x):
    if isinstance(x, (tuple, list)):
        out = []
        for item in x:
            out.extend(_leaves(item))
        return out
    return [x]


def _concrete(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, float, int))


class Checker:
    def __init__(self):
        self.failures: list[Failure] = []

    def run(self, check, fn):
        """``fn()``, or FAILED with the exception recorded under ``check``."""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001  (every exception is a finding)
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            self.failures.append(
                Failure(check, "error", f"{type(e).__name__}: {msg[:240]}{_where(e)}", _frames(e))
            )
            return FAILED

    def close(self, check, got, want, tol=TIGHT):
        """``got`` agrees with ``want`` (leaf by leaf) to ``tol`` of the scale."""
        if got is FAILED or want is FAILED:
            return False
        gl, wl = _leaves(got), _leaves(want)
        if len(gl) != len(wl):
            self.failures.append(Failure(check, "shape", f"{len(gl)} leaves, expected {len(wl)}"))
            return False
        for k, (g, w) in enumerate(zip(gl, wl)):
            if not _concrete(g):
                self.failures.append(
                    Failure(check, "tracer", f"leaf {k} is a {type(g).__name__}, not a number")
                )
                return False
            dt = getattr(g, "dtype", None)
            if dt is not None and dt != np.float64 and np.asarray(w).dtype == np.float64:
                self.failures.append(
                    Failure(check, "dtype", f"leaf {k} has dtype {dt}, not float64")
                )
                return False
            g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
            if g.shape != w.shape:
                self.failures.append(
                    Failure(check, "shape", f"leaf {k} has shape {g.shape}, expected {w.shape}")
                )
                return False
            scale = max(1.0, float(np.max(np.abs(w))) if w.size else 1.0)
            err = float(np.max(np.abs(g - w))) if w.size else 0.0
            if not err <= tol * scale:  # (NaN fails)
                self.failures.append(
                    Failure(
                        check,
                        "mismatch",
                        f"leaf {k}: max error {err:.3g} > {tol:g} x scale {scale:.3g}\n"
                        f"      got      {np.array2string(g.ravel()[:8], precision=6)}\n"
                        f"      expected {np.array2string(w.ravel()[:8], precision=6)}",
                    )
                )
                return False
        return True


# Forward mode of a custom_vjp function is refused, as JAX refuses it ("can't apply
# forward-mode autodiff (jvp) to a custom_vjp function"): the function has a reverse rule
# only, and differentiating its body would ignore that rule. For a program calling one
# (feature ``custom_vjp``), each forward-mode check either raises exactly this refusal, or
# none does (forward mode may not reach the call with a tangent: a nested grad inside the
# program runs its rule, or its arguments carry no tangent; where JAX is installed,
# tests/fuzz/jax_reference.py checks that JAX refuses too), except that ``linearize`` may compute where ``jvp`` refuses
# (see ``expect_forward_refusal``); every other check runs as usual.
FORWARD_CHECKS = ("jvp", "linearize", "jacfwd")
FORWARD_CHECKS_F32 = ("jvp (float32)",)


def _is_custom_vjp_refusal(fl: Failure) -> bool:
    return (
        fl.kind == "error"
        and fl.detail.startswith("CustomVJPForwardError: forward-mode differentiation")
        and "adgraph/api/custom.py:_cvjp_jvp" in fl.frames
    )


def expect_forward_refusal(prog, failures: list[Failure], checks) -> list[Failure]:
    """``failures`` less the expected refusals of forward mode (see ``FORWARD_CHECKS``),
    plus a failure when the refusal is partial (some forward-mode checks refused, not all)
    or comes where the program calls no custom_vjp function."""
    refused = [fl for fl in failures if fl.check in checks and _is_custom_vjp_refusal(fl)]
    if not refused:
        return failures
    rest = [fl for fl in failures if fl not in refused]
    names = sorted({fl.check for fl in refused})
    if "custom_vjp" not in prog.features:
        return failures  # refused where no custom_vjp is called: a finding as it stands
    # linearize is lazy: it refuses only where the function's tangent reaches the output,
    # while jvp and jacfwd refuse on meeting the call; its numbers are checked as usual
    lazy = {"linearize"} if "jvp" in names else set()
    if set(names) | lazy != set(checks):
        rest.append(
            Failure(
                "forward mode of custom_vjp: refused by every forward-mode check",
                "inconsistent",
                f"refused by {names}, not by {sorted(set(checks) - set(names))}",
            )
        )
    return rest


def _axpy(a, v, xs):
    return tuple(np.asarray(x, dtype=float) + a * t for x, t in zip(xs, v))


def _contract(J, ts):
    """sum_i J_i . t_i (J_i has shape out + shape(x_i))."""
    return sum(np.tensordot(Ji, t, axes=np.ndim(t)) for Ji, t in zip(J, ts))


def _pull(u, J):
    """(u^T J_i)_i."""
    return tuple(np.tensordot(u, Ji, axes=np.ndim(u)) for Ji in J)


def _inner(a, b) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(a, b)))


def _stack(points, j):
    return np.stack([np.asarray(p[j], dtype=float) for p in points])


def _read_only(x):
    if isinstance(x, np.ndarray):
        x = x.copy()
        x.setflags(write=False)
    return x


def check_program(prog) -> list[Failure]:
    """Run every check on ``prog``; the failures (empty when all agree).

    For half the seeds the arrays handed to adgraph (inputs, tangents, cotangents) are
    read-only, as views from ``np.broadcast_to`` or memory maps are; every array handed
    to adgraph must come back unchanged.
    """
    c = Checker()
    f, L = prog.adgraph_functions()
    f_np, L_np = prog.numpy_functions()
    frozen = prog.seed % 2 == 0
    xs = tuple(_read_only(x) for x in prog.inputs) if frozen else prog.inputs
    n = len(xs)
    argnums = tuple(range(n))
    rng = np.random.default_rng([prog.seed, 2])
    y_ref = np.asarray(f_np(*xs))
    W = np.broadcast_to(np.asarray(_weights(prog)), y_ref.shape)
    v1 = prog.variants[0]
    handed = [("input", xs), ("input at a second point", v1)]

    # ---- values: NumPy, eager, jit (then jit again at another point: its cache)
    c.close("value: eager vs NumPy", c.run("eager", lambda: f(*xs)), y_ref)
    jf = ad.jit(f)
    c.close("value: jit vs NumPy", c.run("jit", lambda: jf(*xs)), y_ref)
    c.close(
        "value: jit at a second point vs NumPy",
        c.run("jit (second point)", lambda: jf(*v1)),
        np.asarray(f_np(*v1)),
    )

    # ---- first derivatives
    Jf = c.run("jacfwd", lambda: ad.jacfwd(f, argnums=argnums)(*xs))
    Jr = c.run("jacrev", lambda: ad.jacrev(f, argnums=argnums)(*xs))
    c.close("jacfwd vs jacrev", Jf, Jr)
    J = Jr if Jr is not FAILED and all(_concrete(x) for x in _leaves(Jr)) else Jf
    if J is not FAILED and not all(_concrete(x) for x in _leaves(J)):
        J = FAILED
    ts = tuple(rng.standard_normal(np.shape(x)) for x in xs)
    u = rng.standard_normal(y_ref.shape)
    if frozen:
        ts, u = tuple(_read_only(t) for t in ts), _read_only(u)
    handed += [("tangent", ts), ("cotangent", u)]
    snapshot = [(what, [np.array(a, copy=True) for a in _leaves(arrs)]) for what, arrs in handed]
    fd_t = (np.asarray(f_np(*_axpy(STEP, ts, xs))) - np.asarray(f_np(*_axpy(-STEP, ts, xs)))) / (
        2 * STEP
    )

    jv = c.run("jvp", lambda: ad.jvp(f, tuple(xs), ts))
    if jv is not FAILED:
        jj = c.run("jit(jvp)", lambda: ad.jit(lambda a, t: ad.jvp(f, a, t))(tuple(xs), ts))
        c.close("jit(jvp) vs jvp", jj, jv)
        c.close("jvp: primal vs NumPy", jv[0], y_ref)
        c.close("jvp vs finite differences", jv[1], fd_t, FD)
        if J is not FAILED:
            c.close("jvp vs Jacobian", jv[1], _contract(J, ts))
    lin = c.run("linearize", lambda: _linearized(f, xs, ts))
    if lin is not FAILED:
        c.close("linearize: primal vs NumPy", lin[0], y_ref)
        c.close("linearize vs finite differences", lin[1], fd_t, FD)
        if jv is not FAILED:
            c.close("linearize vs jvp", lin[1], jv[1])
    vj = c.run("vjp", lambda: _pulled(f, xs, u))
    if vj is not FAILED and not isinstance(vj[1], tuple):
        c.failures.append(Failure("vjp: structure", "shape", f"a {type(vj[1]).__name__}"))
        vj = FAILED
    if vj is not FAILED:
        c.close("vjp: primal vs NumPy", vj[0], y_ref)
        if J is not FAILED:
            c.close("vjp vs Jacobian", vj[1], _pull(u, J))
        if c.close("vjp: structure", len(vj[1]), n, 0):
            # the transpose identity <u, J t> = <J^T u, t>, with J t from differences
            c.close(
                "vjp vs finite differences (transpose identity)",
                _inner(vj[1], ts),
                float(np.sum(u * fd_t)),
                FD,
            )
        # the pullback again, after other derivatives ran (its residuals must be intact),
        # and on a scaled cotangent (linearity)
        pull, f_jvp = vj[2], lin[2] if lin is not FAILED else None
        ad.grad(L, argnums=argnums)(*v1)
        c.close("vjp: the pullback called again", c.run("vjp again", lambda: pull(u)), vj[1])
        c.close(
            "vjp: the pullback is linear",
            c.run("vjp again", lambda: pull(-2.5 * u)),
            tuple(-2.5 * np.asarray(x) for x in vj[1]),
        )
        if f_jvp is not None:
            got = c.run("linearize again", lambda: f_jvp(*(-2.5 * t for t in ts)))
            c.close("linearize: the linear map is linear", got, -2.5 * np.asarray(lin[1]))

    # ---- the gradient of the scalar loss L = sum(W * f)
    g = c.run("grad", lambda: ad.grad(L, argnums=argnums)(*xs))
    if g is not FAILED and c.close("grad: structure", len(g), n, 0):
        fd_L = (L_np(*_axpy(STEP, ts, xs)) - L_np(*_axpy(-STEP, ts, xs))) / (2 * STEP)
        if all(_concrete(x) for x in g):
            c.close("grad vs finite differences", _inner(g, ts), fd_L, FD)
        if J is not FAILED:
            c.close("grad vs Jacobian", g, _pull(W, J))
        vg = c.run("value_and_grad", lambda: ad.value_and_grad(L, argnums=argnums)(*xs))
        if vg is not FAILED:
            c.close("value_and_grad: value vs NumPy", vg[0], L_np(*xs))
            c.close("value_and_grad vs grad", vg[1], g)
        for k in range(n):  # one argument at a time
            gk = c.run(f"grad(argnums={k})", lambda k=k: ad.grad(L, argnums=k)(*xs))
            c.close(f"grad(argnums={k}) vs grad", gk, g[k])
        jg = ad.jit(ad.grad(L, argnums=argnums))
        c.close("jit(grad) vs grad", c.run("jit(grad)", lambda: jg(*xs)), g)
        g1 = c.run("grad (second point)", lambda: ad.grad(L, argnums=argnums)(*v1))
        c.close("jit(grad) at a second point vs grad", c.run("jit(grad)", lambda: jg(*v1)), g1)

    # ---- second derivatives, over all inputs flattened into one vector
    shapes = [np.shape(x) for x in xs]
    sizes = [int(np.prod(s)) for s in shapes]
    offs = np.cumsum([0] + sizes)
    z = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in xs])

    def Lflat(z):
        return L(*(anp.reshape(z[offs[i] : offs[i + 1]], shapes[i]) for i in range(n)))

    H = c.run("hessian", lambda: ad.hessian(Lflat)(z))
    if H is not FAILED and c.close("hessian: shape", np.shape(H), (z.size, z.size), 0):
        c.close("hessian is symmetric", H, np.asarray(H).T, 1e-9)
        v = rng.standard_normal(z.size)
        gf = ad.grad(Lflat)
        fd_H = c.run(
            "grad (for the Hessian's differences)",
            lambda: (gf(z + STEP * v) - gf(z - STEP * v)) / (2 * STEP),
        )
        c.close("hessian vs finite differences of grad", np.asarray(H) @ v, fd_H, FD)
        hv = c.run("hvp", lambda: ad.hvp(Lflat, (z,), (v,)))
        c.close("hvp vs hessian", hv, np.asarray(H) @ v)
        H2 = c.run("jacrev(jacrev)", lambda: ad.jacrev(ad.jacrev(Lflat))(z))
        c.close("jacrev(jacrev) vs hessian", H2, H)
        c.close(
            "jit(hessian) vs hessian",
            c.run("jit(hessian)", lambda: ad.jit(ad.hessian(Lflat))(z)),
            H,
        )
        zs = np.stack([z, z + 0.01 * v])
        Hb = c.run("vmap(hessian)", lambda: ad.vmap(ad.hessian(Lflat))(zs))
        H1 = c.run("hessian (second point)", lambda: ad.hessian(Lflat)(zs[1]))
        if H1 is not FAILED:
            c.close("vmap(hessian) vs loop", Hb, np.stack([np.asarray(H), np.asarray(H1)]))

    # ---- vmap: a batch equals a loop (all arguments mapped; then some)
    pts = [xs, *prog.variants]
    batch = tuple(_stack(pts, j) for j in range(n))
    want = np.stack([np.asarray(f_np(*p)) for p in pts])
    c.close("vmap vs loop", c.run("vmap", lambda: ad.vmap(f)(*batch)), want)
    if n > 1:
        axes = tuple(0 if b else None for b in prog.batched)
        margs = tuple(_stack(prog.mixes, j) if b else xs[j] for j, b in enumerate(prog.batched))
        want = np.stack([np.asarray(f_np(*p)) for p in prog.mixes])
        got = c.run("vmap(in_axes)", lambda: ad.vmap(f, in_axes=axes)(*margs))
        c.close(f"vmap(in_axes={axes}) vs loop", got, want)
    gb = c.run("vmap(grad)", lambda: ad.vmap(ad.grad(L, argnums=argnums))(*batch))
    gl = c.run("grad (loop)", lambda: [ad.grad(L, argnums=argnums)(*p) for p in pts])
    if gl is not FAILED:
        gl = tuple(_stack(gl, j) for j in range(n))
    c.close("vmap(grad) vs loop", gb, gl)

    # ---- no state left behind: the plain call still gives the NumPy value
    c.close(
        "value: eager again, after every transformation",
        c.run("eager again", lambda: f(*xs)),
        y_ref,
    )

    # ---- nothing handed to adgraph was written to
    for (what, before), (_, arrs) in zip(snapshot, handed):
        for k, (b, a) in enumerate(zip(before, _leaves(arrs))):
            if not np.array_equal(b, np.asarray(a)):
                c.failures.append(
                    Failure(f"{what} {k} unchanged", "mutated", "adgraph wrote to it")
                )
    return expect_forward_refusal(prog, c.failures, FORWARD_CHECKS)


def _weights(prog):
    ns = {"np": np}
    line = next(ln for ln in prog.defs.splitlines() if ln.startswith("W = "))
    exec(line, ns)
    return ns["W"]


def _linearized(f, xs, ts):
    y, f_jvp = ad.linearize(f, *xs)
    return y, f_jvp(*ts), f_jvp


def _pulled(f, xs, u):
    y, pull = ad.vjp(f, *xs)
    return y, pull(u), pull


def report(prog, failures) -> str:
    """What failed, and the program's source to reproduce it."""
    head = f"random program, seed {prog.seed}: " + (
        f"{len(failures)} failed check(s)" if failures else "all checks pass"
    )
    lines = [
        head,
        f"features: {', '.join(sorted(prog.features)) or '-'}",
        f"reproduce: python -m tests.fuzz.programs {prog.seed}",
    ]
    for fl in failures:
        lines.append(f"  [{fl.check}] {fl.kind}: {fl.detail}")
    lines += ["", "# ---- source", prog.source]
    return "\n".join(lines)


def _f32(x):
    return np.float32(x) if isinstance(x, float) else np.asarray(x, dtype=np.float32)


def _dtype(x):
    return np.result_type(x) if not isinstance(x, float) else np.dtype(np.float64)


def check_dtypes(prog) -> list[Failure]:
    """The program on float32 inputs: every result has NumPy's dtype for the same code
    (values), the input's dtype (gradients, cotangents) or the output's (tangents), and is
    near the float64 result.

    Only for programs without nested derivatives: their NumPy reference computes in float64,
    and a float32 program may hand them tangents of another dtype, which adgraph refuses
    (and without lax loops, whose carries must keep their dtype).
    """
    if any(ft.startswith("nested_") for ft in prog.features):
        return []
    if "library:lax" in prog.features:
        # a loop's carry keeps its dtype, and float32 carries meeting the program's float64
        # constants become float64 under NumPy's promotion: refused, rightly
        return []
    c = Checker()
    f, L = prog.adgraph_functions()
    f_np, _ = prog.numpy_functions()
    xs = tuple(_f32(x) for x in prog.inputs)
    n = len(xs)
    argnums = tuple(range(n))
    with np.errstate(all="ignore"):
        want = f_np(*xs)
    out_dt = _dtype(want)
    loose = 1e-2

    def dtype_is(check, got, dt):
        if got is FAILED:
            return
        for k, g in enumerate(_leaves(got)):
            if not _concrete(g):
                c.failures.append(Failure(check, "tracer", f"leaf {k}: {type(g).__name__}"))
            elif _dtype(g) != dt:
                c.failures.append(Failure(check, "dtype", f"leaf {k}: {_dtype(g)}, expected {dt}"))

    y = c.run("eager (float32)", lambda: f(*xs))
    dtype_is("eager (float32): dtype", y, out_dt)
    y64 = np.asarray(f_np(*(np.asarray(x, dtype=np.float64) for x in xs)))
    c.close(
        "eager (float32) vs float64",
        np.asarray(y, dtype=float) if y is not FAILED else y,
        y64,
        loose,
    )
    dtype_is("jit (float32): dtype", c.run("jit (float32)", lambda: ad.jit(f)(*xs)), out_dt)
    ts = tuple(np.ones_like(x) for x in xs)
    jv = c.run("jvp (float32)", lambda: ad.jvp(f, xs, ts))
    if jv is not FAILED:
        dtype_is("jvp (float32): primal dtype", jv[0], out_dt)
        dtype_is("jvp (float32): tangent dtype", jv[1], out_dt)
    vj = c.run("vjp (float32)", lambda: _pulled(f, xs, np.ones(np.shape(want), dtype=out_dt)))
    if vj is not FAILED:
        for k in range(n):
            dtype_is(f"vjp (float32): cotangent {k} dtype", vj[1][k], _dtype(xs[k]))
    g = c.run("grad (float32)", lambda: ad.grad(L, argnums=argnums)(*xs))
    if g is not FAILED:
        for k in range(n):
            dtype_is(f"grad (float32): {k} dtype", g[k], _dtype(xs[k]))
        g64 = ad.grad(L, argnums=argnums)(*(np.asarray(x, dtype=np.float64) for x in xs))
        c.close("grad (float32) vs float64", tuple(np.asarray(a, float) for a in g), g64, loose)
    batch = tuple(np.stack([x, x]) for x in xs)
    dtype_is("vmap (float32): dtype", c.run("vmap (float32)", lambda: ad.vmap(f)(*batch)), out_dt)
    return expect_forward_refusal(prog, c.failures, FORWARD_CHECKS_F32)


def check_matrix_inputs(prog) -> list[Failure]:
    """The program with its 2-D inputs given as ``np.matrix``: every transformation gives
    what it gives for the same values as plain arrays (``*`` stays elementwise inside)."""
    if not any(np.ndim(x) == 2 for x in prog.inputs):
        return []
    c = Checker()
    f, L = prog.adgraph_functions()
    xs = prog.inputs
    with warnings.catch_warnings():  # np.matrix is pending deprecation
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        ms = tuple(np.asmatrix(x) if np.ndim(x) == 2 else x for x in xs)
    argnums = tuple(range(len(xs)))
    ts = tuple(np.ones(np.shape(x)) for x in xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        mts = tuple(np.asmatrix(t) if np.ndim(t) == 2 else t for t in ts)
    batch = tuple(np.stack([x, x]) for x in xs)
    cases = {
        "jit": lambda a: ad.jit(f)(*a),
        "jvp": lambda a: ad.jvp(f, a, mts if a is ms else ts),
        "linearize": lambda a: ad.linearize(f, *a)[1](*(mts if a is ms else ts)),
        "vjp": lambda a: ad.vjp(f, *a)[1](np.ones(np.shape(ad.vjp(f, *a)[0]))),
        "grad": lambda a: ad.grad(L, argnums=argnums)(*a),
        "jacfwd": lambda a: ad.jacfwd(f, argnums=argnums)(*a),
        "jacrev": lambda a: ad.jacrev(f, argnums=argnums)(*a),
        "hessian": lambda a: ad.hessian(L, argnums=argnums)(*a),
        "vmap(grad)": lambda a: ad.vmap(ad.grad(L, argnums=argnums))(*batch),
    }
    for name, fn in cases.items():
        try:  # a failure with plain arrays is check_program's to report
            want = fn(xs)
        except Exception:  # noqa: BLE001
            continue
        got = c.run(f"{name} (np.matrix inputs)", lambda fn=fn: fn(ms))
        if got is not FAILED:
            for k, leaf in enumerate(_leaves(got)):
                if isinstance(leaf, np.matrix):
                    c.failures.append(
                        Failure(f"{name} (np.matrix inputs)", "type", f"leaf {k} is an np.matrix")
                    )
        c.close(f"{name}: np.matrix inputs vs arrays", got, want)
    return c.failures
