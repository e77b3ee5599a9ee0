"""Random programs over ``adgraph.numpy``, written out as readable Python source.

A program is generated from a seed as straight-line code ``f(x0, x1, ...)`` built from a
grammar of operations: elementwise maps, binary arithmetic with broadcasting, reductions,
shape operations, products, ``where``, indexing and ``anp.at(x)[idx].set/add/multiply`` (``x.at`` needs a traced ``x``), and
structural features: ``ad.checkpoint``, ``ad.custom_jvp`` and ``ad.custom_vjp`` (with correct
hand-written rules) around a sub-program, closures over values of the enclosing program,
and transformations nested inside the program (``ad.grad``, ``ad.jvp``, ``ad.vjp``,
``ad.jacfwd``, ``ad.jacrev``, ``ad.vmap``, ``ad.jit`` of a sub-program).

Invariants the generator keeps, so that every check has one right answer:

* Every operation is evaluated, while the program is built, at every point a check will
  use (the inputs, the points of the ``vmap`` batches) and is kept only where it is smooth
  there with a margin: ``log``/``sqrt`` of values above 0.2, ``abs`` and division away from
  0, ``maximum``, ``where`` and ``max`` away from ties, ``exp`` of bounded arguments. Every
  value stays finite and below ``BOUND`` in magnitude, and at most ``MAX_SIZE`` elements.
* The source text is the program that runs under adgraph. The reference value runs the
  *same text* with NumPy in place of ``adgraph.numpy``: ``ad.checkpoint``/``ad.jit`` are the
  identity there, custom rules are ignored (the function itself is evaluated), ``ad.vmap`` is
  a loop, and the nested derivatives (``ad.grad``, ``ad.jvp``, ...) are computed by the
  complex step, exact to rounding; their sub-programs use analytic operations only.
* The hand-written custom rules are right for the explicit arguments with the closed-over
  values held fixed; the derivative of the whole program is then the derivative of its
  mathematical function, which finite differences see.

Reproduce one program::

    python -m tests.fuzz.programs SEED                # print its source and run every check
    python -m tests.fuzz.programs --no-closures SEED  # no closures in checkpoint/custom rules
"""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from . import library

BOUND = 30.0  # |value| above this is rejected (keeps derivatives and FD errors moderate)
MAX_SIZE = 24  # elements of any intermediate value
MARGIN = 0.1  # distance from a kink, pole or tie, at every evaluation point
MAX_DEPTH = 2  # sub-programs nested in sub-programs
INPUT_SHAPES = [(), (), (3,), (4,), (2, 3), (3, 2), (2, 2), (3, 3), (2, 1, 3)]
INPUT_RANGES = [(-1.5, 1.5), (-1.5, 1.5), (0.3, 2.0)]

# The bodies whose closures can be switched off (``closures_in_rules``).
RULE_KINDS = ("checkpoint", "custom_jvp", "custom_vjp")


# --------------------------------------------------------------------------- NumPy reference
def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logsumexp(a, axis=None, keepdims=False):
    # No max shift: the values are bounded, and the plain form is analytic (complex step).
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


def _softmax(x, axis=None):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=None):
    return x - _logsumexp(x, axis=axis, keepdims=True)


def _scipy(name):
    def f(*a, **k):
        import scipy.special

        out = getattr(scipy.special, name)(*a, **k)
        # the floating arguments' dtype (polygamma's integer order promotes in SciPy)
        floats = [x for x in a if np.asarray(x).dtype.kind in "fc"]
        return np.asarray(out).astype(np.result_type(*floats)) if floats else out

    return f


NP_SPECIAL = types.SimpleNamespace(
    **{
        n: _scipy(n)
        for n in ("erf", "erfc", "erfinv", "gammaln", "digamma", "entr", "polygamma", "xlog1py")
        + library.SPECIAL_NAMES
    },
    expit=_expit,
    logsumexp=_logsumexp,
    softmax=_softmax,
    log_softmax=_log_softmax,
    xlogy=lambda x, y: x * np.log(y),
    logit=lambda p: np.log(p / (1.0 - p)),
)


class _NpAtIndex:
    def __init__(self, x, idx):
        self.x, self.idx = np.asarray(x), idx

    def _copy(self, v):
        # x's dtype, as adgraph (and JAX) keep it; complex for the complex step
        dt = np.result_type(self.x, np.asarray(v)) if np.iscomplexobj(v) else self.x.dtype
        return np.array(self.x, dtype=dt, copy=True)

    def set(self, v):
        y = self._copy(v)
        y[self.idx] = v
        return y

    def add(self, v):
        y = self._copy(v)
        np.add.at(y, self.idx, v)
        return y

    def multiply(self, v):
        y = self._copy(v)
        np.multiply.at(y, self.idx, v)
        return y


class _NpAt:
    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _NpAtIndex(self.x, idx)


class _NpNumpy:
    """NumPy as ``anp`` for the reference: numpy's names, and ``at(x)[idx].set(v)``."""

    at = _NpAt

    def __getattr__(self, name):
        return getattr(np, name)


_CS_STEP = 1e-30  # complex step: f'(x) = Im f(x + ih) / h, no cancellation


def _cs_jacobian(fun, args, argnum):
    """d fun / d args[argnum] by the complex step: shape out.shape + arg.shape."""
    args = list(args)
    x = args[argnum] = np.asarray(args[argnum], dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size, dtype=complex)
        e[i] = 1j * _CS_STEP
        a2 = list(args)
        a2[argnum] = x + e.reshape(x.shape)
        cols.append(np.imag(np.asarray(fun(*a2))) / _CS_STEP)
    out_shape = np.shape(fun(*args))
    J = np.stack(cols, axis=-1) if cols else np.zeros(out_shape + (0,))
    return J.reshape(out_shape + x.shape)


class _NpCustomJvp:
    def __init__(self, fun, nondiff_argnums=()):
        self.fun = fun

    def __call__(self, *a):
        return self.fun(*a)

    def defjvp(self, rule):
        return rule


class _NpCustomVjp(_NpCustomJvp):
    def defvjp(self, fwd, bwd):
        return self


def _np_vmap(fun, in_axes=0, out_axes=0):
    def batched(*args):
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        n = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
        outs = [
            fun(*(a if ax is None else np.take(a, k, axis=ax) for a, ax in zip(args, axes)))
            for k in range(n)
        ]
        return np.stack([np.asarray(o) for o in outs], axis=out_axes)

    return batched


def _np_grad(fun, argnums=0):
    return lambda *a: _cs_jacobian(fun, a, argnums)


def _np_jvp(fun, primals, tangents):
    out = fun(*primals)
    t = sum(
        np.tensordot(_cs_jacobian(fun, primals, k), np.asarray(tk), axes=np.ndim(tk))
        for k, tk in enumerate(tangents)
    )
    return out, t


def _np_vjp(fun, *primals):
    out = fun(*primals)

    def pull(ct):
        ct = np.asarray(ct)
        return tuple(
            np.tensordot(ct, _cs_jacobian(fun, primals, k), axes=ct.ndim)
            for k in range(len(primals))
        )

    return out, pull


NP_AD = types.SimpleNamespace(
    checkpoint=lambda fun: fun,
    jit=lambda fun: fun,
    custom_jvp=_NpCustomJvp,
    custom_vjp=_NpCustomVjp,
    vmap=_np_vmap,
    grad=_np_grad,
    value_and_grad=lambda fun, argnums=0: lambda *a: (fun(*a), _cs_jacobian(fun, a, argnums)),
    jvp=_np_jvp,
    linearize=lambda fun, *p: (fun(*p), lambda *t: _np_jvp(fun, p, t)[1]),
    vjp=_np_vjp,
    jacfwd=_np_grad,
    jacrev=_np_grad,
)


def numpy_namespace() -> dict:
    """Globals under which the program's text computes its reference value with NumPy."""
    return {
        "np": np,
        "anp": _NpNumpy(),
        "asp": NP_SPECIAL,
        "ad": NP_AD,
        "partial": partial,
        "stats": library.NP_STATS,
        "lax": library.NpLax,
    }


# --------------------------------------------------------------------------- generation
@dataclass(eq=False)
class Var:
    name: str
    shape: tuple
    scope: Scope
    uses: int = 0


class Reject(Exception):
    """An operation that does not apply here (shapes, margins); the generator tries another."""


class Scope:
    """The statements of one function body, evaluated at every instance while generated.

    ``envs`` holds one NumPy-reference namespace per evaluation instance (a point a check
    will use, or a row of it inside ``vmap``); a statement is kept only if it evaluates
    well at all of them. Variables of enclosing scopes are visible (closures).
    """

    def __init__(
        self,
        gen,
        prefix,
        envs,
        parent=None,
        *,
        kind="f",
        analytic=False,
        closure_rate=0.0,
        sealed=False,
        forward=False,
    ):
        self.gen = gen
        self.prefix = prefix
        self.envs = envs
        self.parent = parent
        self.kind = kind  # "f", or the feature the body is the function of ("jit", ...)
        self.depth = 0 if parent is None else parent.depth + 1
        self.analytic = analytic or (parent is not None and parent.analytic)
        self.closure_rate = closure_rate
        self.sealed = sealed  # sees none of the enclosing variables (no closures through it)
        # the program itself differentiates this body in forward mode (a nested jvp,
        # linearize or jacfwd, a custom_jvp rule): no custom_vjp may be called inside, as
        # forward mode of a custom_vjp function is refused (by JAX too)
        self.forward = forward or (parent is not None and parent.forward)
        self.own: list[Var] = []
        self.lines: list[str] = []
        self.closes_over = False
        self.closure_only = False
        self.count = 0

    # -- variables
    def param(self, name, values):
        for env, v in zip(self.envs, values):
            env[name] = v
        var = Var(name, np.shape(values[0]), self)
        self.own.append(var)
        return var

    def outer(self):
        if self.parent is None or self.sealed:
            return []
        return self.parent.visible()

    def visible(self):
        return self.own + self.outer()

    def vals(self, var):
        return [np.asarray(env[var.name]) for env in self.envs]

    def use(self, var):
        """The name of ``var`` in an expression (uses are recorded when it is emitted)."""
        return var.name

    def _record(self, text):
        """Count the uses of the variables ``text`` names; a variable of an enclosing
        scope makes this body (and the bodies between) a closure."""
        names = set(re.findall(r"\b[A-Za-z_]\w*\b", text))
        for var in self.visible():
            if var.name in names:
                var.uses += 1
                s = self
                while s is not None and s is not var.scope:
                    s.closes_over = True
                    s = s.parent

    def pick(self, pred=lambda v: True, prefer=None):
        """A visible variable satisfying ``pred``: recent ones of this body first, a
        closed-over one with probability ``closure_rate``."""
        rng = self.gen.rng
        own = [v for v in self.own if pred(v)]
        out = [v for v in self.outer() if pred(v)]
        if prefer is not None:
            own = [v for v in own if prefer(v)] or own
            out = [v for v in out if prefer(v)] or out
        if out and (not own or rng.random() < self.closure_rate):
            return out[rng.integers(len(out))]
        if not own:
            raise Reject
        # recent first, and values not used yet (so fewer statements are dead)
        w = np.arange(1, len(own) + 1, dtype=float) ** 2 * [
            3.0 if v.uses == 0 else 1.0 for v in own
        ]
        return own[rng.choice(len(own), p=w / w.sum())]

    # -- statements
    def emit(self, expr, check=None, max_size=MAX_SIZE):
        """``name = expr`` if it evaluates well everywhere (and ``check(values)`` holds)."""
        code = compile(expr, "<generated>", "eval")
        values, raw = [], []
        for env in self.envs:
            try:
                with np.errstate(divide="raise", over="raise", invalid="raise"):
                    r = eval(code, env)
                    if isinstance(r, (tuple, list)):  # a pytree, not one array
                        raise Reject
                    v = np.asarray(r)
            except Reject:
                raise
            except Exception as e:  # noqa: BLE001  (a shape or domain mismatch: try another)
                raise Reject from e
            if (
                v.dtype.kind != "f"
                or v.size == 0
                or v.size > max_size
                or not np.all(np.isfinite(v))
                or np.max(np.abs(v)) > BOUND
            ):
                raise Reject
            values.append(v)
            raw.append(r)  # as the program has it (a Python float stays one)
        if len({v.shape for v in values}) != 1 or (check is not None and not check(values)):
            raise Reject
        name = f"{self.prefix}v{self.count}"
        self.count += 1
        self._record(expr)
        self.lines.append(f"{name} = {expr}")
        return self.param(name, raw)

    def define(self, lines):
        """A nested definition (``def``, decorators, rules), bound in every namespace."""
        code = compile("\n".join(lines), "<generated>", "exec")
        for env in self.envs:
            exec(code, env)
        self._record("\n".join(lines))
        self.lines.extend(lines)


def _min(x):
    return np.min(x) if np.size(x) else np.inf


def _max(x):
    return np.max(x) if np.size(x) else -np.inf


def _rows(shape):
    return shape[0] if len(shape) >= 1 else 0


def _bcast(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _fmt(x):
    return repr(float(x)) if not float(x).is_integer() else f"{float(x):.1f}"


def _const(shape, k):
    """A readable constant array of ``shape`` (never 0)."""
    n = int(np.prod(shape)) if shape else 1
    body = f"np.linspace({_fmt(0.5 + 0.1 * k)}, {_fmt(-1.2 - 0.1 * k)}, {n})"
    if n % 2 == 1:  # the midpoint would be near 0: shift
        body = f"np.linspace({_fmt(0.5 + 0.1 * k)}, {_fmt(1.5 + 0.1 * k)}, {n})"
    return f"{body}.reshape({shape!r})" if shape != (n,) else body


# Elementwise maps: template, precondition on the argument's values, analytic (the
# complex step differentiates it; maximum, abs, comparisons are not).
UNARY = {
    "sin": ("anp.sin({a})", None, True),
    "cos": ("anp.cos({a})", None, True),
    "tanh": ("anp.tanh({a})", None, True),
    "arctan": ("anp.arctan({a})", None, True),
    "exp": ("anp.exp({a})", lambda v: v.max() < 2.5, True),
    "log": ("anp.log({a})", lambda v: v.min() > 0.2, True),
    "sqrt": ("anp.sqrt({a})", lambda v: v.min() > 0.2, True),
    "square": ("anp.square({a})", None, True),
    "pow2": ("{a} ** 2", None, True),
    "pow3": ("{a} ** 3", lambda v: np.abs(v).max() < 2.5, True),
    "neg": ("-{a}", None, True),
    "abs": ("anp.abs({a})", lambda v: np.abs(v).min() > MARGIN, False),
    "builtin_abs": ("abs({a})", lambda v: np.abs(v).min() > MARGIN, False),
    "expit": ("asp.expit({a})", None, True),
    "sinh": ("anp.sinh({a})", lambda v: np.abs(v).max() < 2.5, True),
    "cosh": ("anp.cosh({a})", lambda v: np.abs(v).max() < 2.5, True),
    "log1p": ("anp.log1p({a})", lambda v: v.min() > -0.7, True),
    "expm1": ("anp.expm1({a})", lambda v: v.max() < 2.5, True),
    "reciprocal": ("anp.reciprocal({a})", lambda v: np.abs(v).min() > 0.2, True),
    "cbrt": ("anp.cbrt({a})", lambda v: np.abs(v).min() > 0.2, False),
    "arcsin": ("anp.arcsin({a})", lambda v: np.abs(v).max() < 0.8, True),
    "arctanh": ("anp.arctanh({a})", lambda v: np.abs(v).max() < 0.8, True),
    "logaddexp_c": ("anp.logaddexp({a}, 0.5)", None, False),
    "logit": ("asp.logit({a})", lambda v: v.min() > 0.1 and v.max() < 0.9, True),
    "scale": ("{a} * 1.3", None, True),
    "rsub": ("0.5 - {a}", None, True),
    "rdiv": ("1.0 / {a}", lambda v: np.abs(v).min() > 0.2, True),
    "const_pow": ("2.0 ** {a}", lambda v: v.max() < 3.0, True),
    "fpow": ("anp.power({a}, 1.5)", lambda v: v.min() > 0.2, True),
    "sign_mul": ("anp.sign({a}) * {a}", lambda v: np.abs(v).min() > MARGIN, False),
}

# Binary maps: template, precondition on the two arguments' values, analytic.
BINARY = {
    "add": ("{a} + {b}", None, True),
    "sub": ("{a} - {b}", None, True),
    "mul": ("{a} * {b}", None, True),
    "div": ("{a} / {b}", lambda a, b: np.abs(b).min() > 0.2, True),
    "np_add": ("anp.add({a}, {b})", None, True),
    "np_multiply": ("anp.multiply({a}, {b})", None, True),
    "np_divide": ("anp.divide({a}, {b})", lambda a, b: np.abs(b).min() > 0.2, True),
    "maximum": ("anp.maximum({a}, {b})", lambda a, b: np.abs(a - b).min() > MARGIN, False),
    "minimum": ("anp.minimum({a}, {b})", lambda a, b: np.abs(a - b).min() > MARGIN, False),
    "power": (
        "anp.power({a}, {b})",
        lambda a, b: a.min() > 0.2 and np.abs(b).max() < 2.5,
        True,
    ),
    "pow_op": ("{a} ** {b}", lambda a, b: a.min() > 0.2 and np.abs(b).max() < 2.5, True),
    "arctan2": (  # away from the origin and from the branch cut (a = 0, b < 0)
        "anp.arctan2({a}, {b})",
        lambda a, b: (a * a + b * b).min() > 0.05 and not ((np.abs(a) < MARGIN) & (b < 0)).any(),
        False,
    ),
    "hypot": ("anp.hypot({a}, {b})", lambda a, b: (a * a + b * b).min() > 0.05, False),
    "logaddexp": ("anp.logaddexp({a}, {b})", None, False),
    "xlogy": ("asp.xlogy({a}, {b})", lambda a, b: b.min() > 0.2, True),
}


class Generator:
    LIBRARY_WEIGHT = 30  # of op_library among the operations (a focused run raises it)

    def __init__(self, seed, size=None, closures_in_rules=True):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.size = size
        self.closures_in_rules = closures_in_rules
        self.features: set[str] = set()
        self.blocks = 0
        self.consts = 0

    # ---- choosing operations
    def statement(self, sc):
        """Add one statement to ``sc`` (tries operations until one applies)."""
        rng = self.rng
        kinds = ["unary", "binary", "reduce", "shape", "product", "where", "at", "const"]
        w = [20, 20, 10, 16, 7, 4, 5, 3]
        kinds += ["method", "discrete", "special", "linalg", "fft", "library"]
        w += [6, 4, 4, 5, 3, self.LIBRARY_WEIGHT]
        if sc.depth < MAX_DEPTH:
            kinds.append("struct")
            w.append(30 if sc.depth == 0 else 8)
        w = np.asarray(w, float) / sum(w)
        for _ in range(200):
            kind = kinds[rng.choice(len(kinds), p=w)]
            n_lines, features = len(sc.lines), set(self.features)
            chain, s = [], sc
            while s is not None:
                chain.append((s, s.closes_over))
                s = s.parent
            try:
                return getattr(self, "op_" + kind)(sc)
            except Reject:  # undo a definition made for a call that did not apply
                del sc.lines[n_lines:]
                self.features = features
                for s, flag in chain:
                    s.closes_over = flag
                continue
        raise RuntimeError(f"seed {self.seed}: no operation applies in {sc.prefix or 'f'}")

    def _rand_key(self, table, sc):
        keys = [k for k, (_, _, analytic) in table.items() if analytic or not sc.analytic]
        return keys[self.rng.integers(len(keys))]

    def op_unary(self, sc):
        tmpl, pre, _ = UNARY[self._rand_key(UNARY, sc)]
        a = sc.pick()
        if pre is not None and not all(pre(v) for v in sc.vals(a)):
            raise Reject
        return sc.emit(tmpl.format(a=sc.use(a)))

    def op_binary(self, sc):
        tmpl, pre, _ = BINARY[self._rand_key(BINARY, sc)]
        a = sc.pick()
        b = sc.pick(
            lambda v: (
                _bcast(v.shape, a.shape) is not None
                and np.prod(_bcast(v.shape, a.shape)) <= MAX_SIZE
            ),
            prefer=lambda v: v is not a,
        )
        if self.rng.random() < 0.5:
            a, b = b, a
        if pre is not None and not all(pre(x, y) for x, y in zip(sc.vals(a), sc.vals(b))):
            raise Reject
        return sc.emit(tmpl.format(a=sc.use(a), b=sc.use(b)))

    def op_const(self, sc):
        """A NumPy constant mixed in, on either side (``ndarray * tracer`` included)."""
        a = sc.pick()
        shape = a.shape if self.rng.random() < 0.6 else a.shape[1:]
        self.consts += 1
        c = _const(shape, self.consts)
        forms = [f"{c} * {{a}}", f"{{a}} - {c}", f"{c} + {{a}}", "np.float64(0.7) * {a}"]
        if not sc.analytic:
            forms.append(f"anp.maximum({{a}}, {c})")
        form = forms[self.rng.integers(len(forms))]
        if "maximum" in form:
            cv = np.asarray(eval(c, {"np": np}))
            if not all(np.abs(v - cv).min() > MARGIN for v in sc.vals(a)):
                raise Reject
        return sc.emit(form.format(a=sc.use(a)))

    def op_reduce(self, sc):
        rng = self.rng
        a = sc.pick(lambda v: len(v.shape) >= 1)
        nd = len(a.shape)
        axis = None if rng.random() < 0.3 else int(rng.integers(-nd, nd))
        kd = ", keepdims=True" if rng.random() < 0.3 else ""
        ax = "" if axis is None else f", axis={axis}"
        vals = sc.vals(a)
        name = sc.use(a)
        choices = [
            f"anp.sum({name}{ax}{kd})",
            f"anp.mean({name}{ax}{kd})",
            f"{name}.sum({ax[2:]}{kd})",
            f"{name}.mean({ax[2:]}{kd})",
            f"asp.logsumexp({name}{ax}{kd})",
            f"anp.cumsum({name}, axis={axis if axis is not None else -1})",
        ]
        if all(np.abs(v).min() > 0.3 for v in vals):
            choices += [f"anp.prod({name}{ax}{kd})"]
            if axis is not None:
                choices += [f"anp.cumprod({name}, axis={axis})"]
        if not sc.analytic:

            def gap(v):  # distance between the two largest (smallest) along the axis
                s = np.sort(v, axis=axis) if axis is not None else np.sort(v.ravel())
                axis_ = axis if axis is not None else 0
                n = s.shape[axis_]
                if n < 2:
                    return np.inf, np.inf
                top = np.take(s, n - 1, axis_) - np.take(s, n - 2, axis_)
                bot = np.take(s, 1, axis_) - np.take(s, 0, axis_)
                return np.min(top), np.min(bot)

            gaps = [gap(v) for v in vals]
            if all(g[0] > MARGIN for g in gaps):
                choices += [f"anp.max({name}{ax}{kd})", f"{name}.max({ax[2:]}{kd})"]
            if all(g[1] > MARGIN for g in gaps):
                choices += [f"anp.min({name}{ax}{kd})"]
            if all(np.var(v, axis=axis).min() > 0.01 for v in vals):
                choices += [f"anp.std({name}{ax}{kd})", f"anp.var({name}{ax}{kd})"]
            if all(np.linalg.norm(v) > 0.2 for v in vals):
                choices += [f"anp.linalg.norm({name})"]
        return sc.emit(choices[rng.integers(len(choices))].replace("(, ", "("))

    def op_shape(self, sc):
        rng = self.rng
        a = sc.pick()
        s, name = a.shape, a.name
        nd = len(s)
        forms = [f"anp.reshape({{a}}, {(-1,)!r})", "{a}[None]"]
        if nd >= 1:
            n = int(np.prod(s))
            fac = [(d, n // d) for d in range(1, n + 1) if n % d == 0]
            r = fac[rng.integers(len(fac))]
            forms += [
                f"{{a}}.reshape({r!r})",
                f"anp.reshape({{a}}, {r!r})",
                f"anp.flip({{a}}, axis={int(rng.integers(nd))})",
                "anp.ravel({a})",
                f"anp.expand_dims({{a}}, {int(rng.integers(nd + 1))})",
                f"anp.broadcast_to({{a}}, (2,) + {s!r})",
                "anp.tile({a}, 2)",
                f"anp.roll({{a}}, 1, axis={nd - 1})",
                f"anp.repeat({{a}}, 2, axis={int(rng.integers(nd))})",
                f"anp.stack([{{a}}, {{a}} * 0.5], axis={int(rng.integers(nd + 1))})",
            ]
            # basic slices: a step, a negative start, an integer
            k = s[0]
            forms += [
                f"{{a}}[{int(rng.integers(k))}]",
                "{a}[::-1]",
                f"{{a}}[{-int(rng.integers(1, k + 1))}:]",
                f"{{a}}[::{int(rng.integers(1, 3))}]",
                "{a}[..., :1]" if s[-1] > 1 else "{a}[..., 0]",
            ]
            # integer-array indexing, with a repeat
            idx = [int(i) for i in rng.integers(0, k, size=3)]
            forms.append(f"{{a}}[np.array({idx!r})]")
            forms.append(f"anp.take({{a}}, np.array({idx!r}), axis=0)")
            # a constant boolean mask
            m = rng.random(s) < 0.6
            if m.any():
                forms.append(f"{{a}}[np.array({m.tolist()!r})]")
            if sum(s) < 10:
                forms.append(f"anp.concatenate([{{a}}, anp.sin({{a}})], axis={nd - 1})")
        if nd >= 2:
            perm = tuple(int(i) for i in rng.permutation(nd))
            forms += [
                "{a}.T",
                f"anp.transpose({{a}}, {perm!r})",
                "anp.swapaxes({a}, 0, -1)",
                "anp.moveaxis({a}, 0, -1)",
                f"{{a}}[:, {int(rng.integers(s[1]))}]",
                f"{{a}}[{int(rng.integers(s[0]))}, 1:]",
            ]
            if s[0] == s[1]:
                forms += ["anp.diagonal({a})", "anp.trace({a})", "anp.triu({a})"]
        if 1 in s:
            forms.append("anp.squeeze({a})")
        # concatenate with another variable along a matching axis
        if nd >= 1:
            ax = int(rng.integers(nd))
            try:
                b = sc.pick(
                    lambda v: (
                        len(v.shape) == nd and all(v.shape[i] == s[i] for i in range(nd) if i != ax)
                    ),
                    prefer=lambda v: v is not a,
                )
                if b is not a:
                    forms.append(f"anp.concatenate([{{a}}, {b.name}], axis={ax})")
                    if b.shape == s:
                        forms.append(f"anp.stack([{{a}}, {b.name}])")
            except Reject:
                pass
        return sc.emit(forms[rng.integers(len(forms))].format(a=name))

    def op_method(self, sc):
        """Array methods and Python builtins on traced values."""
        rng = self.rng
        a = sc.pick(lambda v: len(v.shape) >= 1)
        s, nd = a.shape, len(a.shape)
        ax = int(rng.integers(-nd, nd))
        forms = [
            "{a}.ravel()",
            "{a}.flatten()",
            "{a}.reshape(-1)",
            f"{{a}}.sum(axis={ax})",
            f"{{a}}.mean(axis={ax}, keepdims=True)",
            f"{{a}}.cumsum(axis={ax})",
            f"{{a}}.repeat(2, axis={ax})",
            f"{{a}}.swapaxes(0, {nd - 1})",
            "{a}.transpose()",
            f"{{a}}.take(np.array([0, {s[0] - 1}, 0]), axis=0)",
            "{a}[..., None]",
            f"{{a}}[{s[0] - 1}::-2]",
            "sum([{a}, 2.0 * {a}, 1])",  # builtin sum: 0 + tracer first
            "{a} + {a}.sum() * 0.1",
        ]
        if nd >= 2:
            forms += [
                "{a}.T @ {a}",
                "{a}.dot({a}.T)",
                f"{{a}}[np.array([0, {s[0] - 1}]), np.array([{s[1] - 1}, 0])]",
                f"{{a}}[np.array([[0, {s[0] - 1}], [{s[0] - 1}, 0]])]",
                f"{{a}}[np.array([{s[0] - 1}, 0]), 1:]",
                "{a}[:, None, :]",
                "anp.rot90({a})",
                "anp.fliplr({a})",
                "anp.atleast_3d({a})",
                f"anp.sum({{a}}, axis=(0, {nd - 1}))",
            ]
            if s[0] == s[1]:
                forms += ["{a}.trace()", "{a}.diagonal()", "anp.tril({a}, -1) + anp.triu({a}).T"]
        if nd == 1:
            forms += ["anp.diag({a})", "anp.pad({a}, 1)", "anp.hstack([{a}, {a} ** 2])"]
            forms += ["anp.vstack([{a}, anp.cos({a})])", "anp.column_stack([{a}, {a}])"]
        if not sc.analytic and all(np.var(v) > 0.01 for v in sc.vals(a)) and np.prod(s) > 1:
            forms += ["{a}.std()", "anp.var({a}, ddof=1)", "anp.std({a}, ddof=1)"]
        if np.prod(s) > 1:
            w = _const(s[-1:], 5)
            forms += [f"anp.average({{a}}, axis=-1, weights=anp.abs({w}))"]
        return sc.emit(forms[rng.integers(len(forms))].format(a=a.name))

    def op_discrete(self, sc):
        """Operations whose derivative is zero or piecewise constant, away from their
        jumps: floor, mod, comparisons as masks, arg-max indexing, sorting, clipping."""
        if sc.analytic:
            raise Reject
        rng = self.rng
        a = sc.pick()
        vals = sc.vals(a)
        b = sc.pick(lambda v: _bcast(v.shape, a.shape) == a.shape, prefer=lambda v: v is not a)
        forms = []

        def frac_ok(period):
            return all(
                np.min(np.abs((v / period) - np.round(v / period))) > MARGIN / period for v in vals
            )

        if frac_ok(1.0):
            forms += ["anp.floor({a}) * {b}", "anp.round({a}) + {b}", "{a} // 1.0 * {b}"]
        if frac_ok(1.3):
            forms += ["anp.mod({a}, 1.3) * {b}", "{a} % 1.3"]
        if all(np.abs(v - 0.2).min() > MARGIN for v in vals):
            forms += [
                "{b} * ({a} > 0.2)",
                "anp.heaviside({a} - 0.2, 0.5) * {b}",
                "anp.clip({a}, 0.2, None)",
                "anp.sign({a} - 0.2) * {b}",
                "anp.where({a} > 0.2, {b}, -{b})",
            ]
        if all(np.abs(v - 0.2).min() > MARGIN and np.abs(v - 1.0).min() > MARGIN for v in vals):
            forms += ["anp.clip({a}, 0.2, 1.0)", "{a}.clip(-1.0, 0.2)"]
        if len(a.shape) >= 1:

            def gaps(v, axis):
                srt = np.sort(v, axis=axis)
                return np.diff(srt, axis=axis).min() if v.shape[axis] > 1 else np.inf

            if all(gaps(v, -1) > MARGIN for v in vals):
                forms += [
                    "anp.sort({a}, axis=-1)",
                    "anp.take_along_axis({b}, anp.argsort({a}, axis=-1), axis=-1)",
                    "{b}[..., ::-1] * anp.max({a}, axis=-1, keepdims=True)",
                ]
            if len(a.shape) == 1 and all(gaps(v, 0) > MARGIN for v in vals):
                forms += ["{b}[anp.argmax({a})]", "{b}[anp.argmin({a})] * {a}"]
        if not forms:
            raise Reject
        form = forms[rng.integers(len(forms))]
        if ">" in form or "arg" in form:  # a boolean or an integer computed from a
            self._predicate_tag(sc, a)
        return sc.emit(form.format(a=a.name, b=b.name))

    def op_special(self, sc):
        rng = self.rng
        a = sc.pick()
        vals = sc.vals(a)
        forms = ["asp.erf({a})", "asp.erfc({a})"] if not sc.analytic else []
        if len(a.shape) >= 1:
            forms += ["asp.softmax({a}, axis=-1)", "asp.log_softmax({a}, axis=-1)"]
            forms += ["asp.logsumexp({a}, axis=0)", "asp.logsumexp({a})"]
        if not sc.analytic and all(v.min() > 0.2 for v in vals):
            forms += ["asp.gammaln({a})", "asp.digamma({a})", "asp.entr({a})"]
            forms += ["asp.polygamma(1, {a})", "asp.xlog1py({a}, {a})"]
        if not sc.analytic and all(np.abs(v).max() < 0.8 for v in vals):
            forms += ["asp.erfinv({a})"]
        if not forms:
            raise Reject
        return sc.emit(forms[rng.integers(len(forms))].format(a=a.name))

    def op_linalg(self, sc):
        if sc.analytic:
            raise Reject
        rng = self.rng
        a = sc.pick(lambda v: len(v.shape) >= 2 and v.shape[-1] <= 3 and v.shape[-2] <= 3)
        s = a.shape
        vals = [v for v in sc.vals(a)]
        forms = []
        if s[-1] == s[-2]:
            n = s[-1]
            eye = f"3.0 * np.eye({n})"
            spd = f"({{a}} @ anp.swapaxes({{a}}, -1, -2) + np.eye({n}))"
            if all(np.linalg.cond(v + 3.0 * np.eye(n)).max() < 20 for v in vals):
                forms += [
                    f"anp.linalg.inv({{a}} + {eye})",
                    f"anp.linalg.det({{a}} + {eye})",
                    f"anp.linalg.slogdet({{a}} + {eye})[1]",
                    f"anp.linalg.solve({{a}} + {eye}, {{a}})",
                    f"anp.linalg.pinv({{a}} + {eye})",
                    f"anp.linalg.qr({{a}} + {eye})[1]",
                ]
                if len(s) == 2:
                    forms += [
                        f"anp.linalg.solve({{a}} + {eye}, {_const((n,), 6)})",
                        f"anp.linalg.tensorsolve({{a}} + {eye}, {_const((n,), 6)})",
                    ]
            forms += [f"anp.linalg.cholesky({spd})", "anp.linalg.matrix_power({a}, 3)"]
            spd_vals = [v @ np.swapaxes(v, -1, -2) + np.eye(n) for v in vals]
            if all(_min(np.diff(np.linalg.eigvalsh(m), axis=-1)) > 0.2 for m in spd_vals):
                forms += [
                    f"anp.linalg.eigvalsh({spd})",
                    f"anp.linalg.eigh({spd})[0]",
                    f"anp.linalg.eigh({spd})[1] ** 2",  # eigenvectors up to sign
                ]
        sv = [np.linalg.svd(v, compute_uv=False) for v in vals]
        if all(sv_.min() > 0.2 and -_max(np.diff(sv_, axis=-1)) > 0.2 for sv_ in sv):
            forms += [
                "anp.linalg.svd({a}, full_matrices=False)[1]",
                "anp.linalg.svdvals({a})",
                "anp.linalg.norm({a}, ord=2, axis=(-2, -1))",
                "anp.linalg.svd({a}, full_matrices=False)[0] ** 2",
            ]
            if len(s) == 2:
                forms += ["anp.linalg.pinv({a})"]
                if s[0] > s[1]:
                    forms += [f"anp.linalg.lstsq({{a}}, {_const((s[0],), 7)}, rcond=None)[0]"]
        forms += [
            "anp.linalg.norm({a}, axis=-1)"
            if all(np.linalg.norm(v, axis=-1).min() > 0.2 for v in vals)
            else "{a}",
            "anp.linalg.matrix_transpose({a})",
            "anp.linalg.norm({a}, 'fro', axis=(-2, -1))",
        ]
        if len(s) == 2:
            forms += ["anp.linalg.multi_dot([{a}, {a}.T, {a}])"]
        return sc.emit(forms[rng.integers(len(forms))].format(a=a.name))

    def op_library(self, sc):
        """A function of NumPy's, SciPy's or lax's wider library (tests/fuzz/library.py)."""
        rng = self.rng
        family = ["numpy", "numpy", "elementwise", "special", "stats", "lax", "linalg"]
        family = family[rng.integers(len(family))]
        a = sc.pick()
        vals = sc.vals(a)

        def other(v):
            shape = _bcast(v.shape, a.shape)
            vs = sc.vals(v)
            return types.SimpleNamespace(
                name=v.name,
                shape=v.shape,
                broadcasts=shape is not None and np.prod(shape) <= MAX_SIZE,
                positive=all(x.min() > 0.2 for x in vs),
                lead=all(x.ndim >= 1 and abs(x.ravel()[0]) > MARGIN for x in vs),
            )

        others = [other(v) for v in sc.visible() if v is not a]
        rng.shuffle(others)
        if family == "numpy":
            forms = library.numpy_forms(self, sc, a, vals, others)
        elif family == "elementwise":
            forms = library.elementwise_forms(vals)
        elif family == "special":
            forms = [(t, False) for t in library.special_forms(vals, others)]
        elif family == "stats":
            forms = [(t, False) for t in library.stats_forms(vals, others)]
        elif family == "lax":
            forms = library.lax_forms(self, sc, a, others)
        else:
            forms = [(t, False) for t in library.linalg_forms(vals, a.shape)]
        forms = [t for t, analytic in forms if analytic or not sc.analytic]
        if not forms:
            raise Reject
        form = forms[rng.integers(len(forms))]
        self.features.add("library:" + family)
        return sc.emit(form.format(a=sc.use(a)))

    def op_fft(self, sc):
        if sc.analytic:
            raise Reject
        rng = self.rng
        a = sc.pick(lambda v: len(v.shape) >= 1 and v.shape[-1] >= 2)
        n = a.shape[-1]
        forms = [
            "anp.real(anp.fft.fft({a}))",
            "anp.imag(anp.fft.fft({a}, axis=-1))",
            f"anp.fft.irfft(anp.fft.rfft({{a}}) * {_const((n // 2 + 1,), 8)}, n={n})",
            "anp.real(anp.fft.ifft(anp.fft.fft({a}) ** 2))",
            "anp.fft.fftshift({a})",
            "anp.real(anp.fft.rfft({a}) * anp.conj(anp.fft.rfft({a})))",
        ]
        if len(a.shape) >= 2:
            forms += [
                "anp.real(anp.fft.fft2({a}))",
                "anp.fft.irfft2(anp.fft.rfft2({a}), s={a}.shape[-2:])",
            ]
        mags = [np.abs(np.fft.rfft(v, axis=-1)).min() for v in sc.vals(a)]
        if min(mags) > 0.2:
            forms += ["anp.abs(anp.fft.rfft({a}))"]
        return sc.emit(forms[rng.integers(len(forms))].format(a=a.name))

    def op_product(self, sc):
        rng = self.rng
        a = sc.pick(lambda v: 1 <= len(v.shape) <= 2)
        s = a.shape
        forms = []
        for b in sc.visible():
            t = b.shape
            n = b.name
            if len(s) == 2 and len(t) == 2 and s[1] == t[0]:
                forms += [
                    f"{{a}} @ {n}",
                    f"anp.matmul({{a}}, {n})",
                    f"anp.einsum('ij,jk->ik', {{a}}, {n})",
                ]
            if len(s) == 2 and len(t) == 2 and s[1] == t[1]:
                forms += [f"{{a}} @ {n}.T", f"anp.einsum('ij,kj->ik', {{a}}, {n})"]
            if len(s) == 2 and len(t) == 1 and s[1] == t[0]:
                forms += [
                    f"{{a}} @ {n}",
                    f"anp.dot({{a}}, {n})",
                    f"anp.einsum('ij,j->i', {{a}}, {n})",
                ]
            if len(s) == 1 and len(t) == 2 and s[0] == t[0]:
                forms += [f"{{a}} @ {n}"]
            if len(s) == 1 and len(t) == 1 and s == t:
                forms += [f"anp.dot({{a}}, {n})", f"anp.inner({{a}}, {n})", f"{{a}} @ {n}"]
            if len(s) == 1 and len(t) == 1 and s[0] * t[0] <= MAX_SIZE:
                forms += [f"anp.outer({{a}}, {n})", f"anp.einsum('i,j->ij', {{a}}, {n})"]
            if s == t and len(s) == 2:
                forms += [
                    f"anp.einsum('ij,ij->i', {{a}}, {n})",
                    f"anp.tensordot({{a}}, {n}, axes=2)",
                ]
        if len(s) == 2:
            forms += ["{a} @ {a}.T", "anp.einsum('ij->j', {a})", f"{{a}} @ {_const((s[1],), 1)}"]
            forms += [f"{_const((3, s[0]), 2)} @ {{a}}"]  # an ndarray on the left
        if len(s) == 2 and s[0] == s[1] and not sc.analytic:
            for v in sc.vals(a):
                m = v + 3.0 * np.eye(s[0])
                if np.linalg.cond(m) > 20:
                    break
            else:
                eye = f"{float(3):.1f} * np.eye({s[0]})"
                forms += [
                    f"anp.linalg.inv({{a}} + {eye})",
                    f"anp.linalg.det({{a}} + {eye})",
                    f"anp.linalg.solve({{a}} + {eye}, {_const((s[0],), 3)})",
                ]
        if not forms:
            raise Reject
        return sc.emit(forms[rng.integers(len(forms))].format(a=a.name))

    def op_where(self, sc):
        if sc.analytic:
            raise Reject
        p = sc.pick()
        a = sc.pick(lambda v: _bcast(v.shape, p.shape) is not None)
        b = sc.pick(
            lambda v: _bcast(v.shape, p.shape, a.shape) is not None, prefer=lambda v: v is not a
        )
        shape = _bcast(p.shape, a.shape, b.shape)
        if np.prod(shape) > MAX_SIZE:
            raise Reject
        if self.rng.random() < 0.5:
            q = sc.pick(lambda v: _bcast(v.shape, p.shape) is not None, prefer=lambda v: v is not p)
            if not all(np.abs(x - y).min() > MARGIN for x, y in zip(sc.vals(p), sc.vals(q))):
                raise Reject
            cond = f"{sc.use(p)} > {sc.use(q)}"
            self._predicate_tag(sc, q)
        else:
            if not all(np.abs(x - 0.3).min() > MARGIN for x in sc.vals(p)):
                raise Reject
            cond = f"{sc.use(p)} > 0.3"
        self._predicate_tag(sc, p)
        return sc.emit(f"anp.where({cond}, {sc.use(a)}, {sc.use(b)})")

    def _predicate_tag(self, sc, var):
        """A comparison or arg-max inside a ``jit`` body of a value from outside it (the
        compiled function closes over a traced boolean or integer)."""
        s = sc
        while s is not None and s is not var.scope:
            if s.kind == "jit":
                self.features.add("jit+closed_over_bool_or_int")
                return
            s = s.parent

    def op_at(self, sc):
        rng = self.rng
        a = sc.pick(lambda v: len(v.shape) >= 1)
        s = a.shape
        k = s[0]
        method = ["set", "add", "multiply"][rng.integers(3)]
        choices = [f"{int(rng.integers(k))}", "1:", "::2", "-1"]
        if len(s) >= 2:
            choices += [f"{int(rng.integers(k))}, 1:", f":, {int(rng.integers(s[1]))}"]
        # integer arrays: repeats only where accumulation is defined
        idx = rng.integers(0, k, size=3)
        if method == "set":
            idx = np.unique(idx)
        choices.append(f"np.array({[int(i) for i in idx]!r})")
        idx = choices[rng.integers(len(choices))]
        target = np.asarray(eval(f"_x[{idx}]", {"np": np, "_x": sc.vals(a)[0]})).shape
        b = sc.pick(
            lambda v: _bcast(v.shape, target) == target,
            prefer=lambda v: v is not a and v.shape == target,
        )
        return sc.emit(f"anp.at({sc.use(a)})[{idx}].{method}({sc.use(b)})")

    # ---- structural features
    def op_struct(self, sc):
        kinds = [
            "checkpoint",
            "custom_jvp_rule",
            "custom_jvp_closed",
            "custom_vjp_rule",
            "custom_vjp_closed",
            "jit",
            "vmap",
        ]
        if not sc.analytic:  # complex-step references do not nest
            kinds += ["grad", "jvp", "vjp", "jacobian", "grad2"]
        kind = kinds[self.rng.integers(len(kinds))]
        return getattr(self, "st_" + kind)(sc)

    def _args(self, sc, n):
        first = sc.pick()
        args = [first]
        if n > 1:
            args.append(sc.pick(prefer=lambda v: v is not first))
        return args

    def _block(
        self,
        sc,
        name,
        args,
        kind,
        *,
        analytic=False,
        rows=False,
        axis=0,
        scalar=False,
        forward=False,
    ):
        """Generate the body of ``def name(params)`` called with ``args`` (``rows``: the
        first argument is mapped over its rows, as ``vmap`` calls it)."""
        rng = self.rng
        rate = 0.0 if rng.random() < 0.4 else 0.35
        if kind in RULE_KINDS and self.closures_in_rules:
            rate = 0.5
        params = [f"{name}_a{i}" for i in range(len(args))]
        arg_vals = [sc.vals(a) for a in args]
        envs, pvals = [], [[] for _ in args]
        for i, env in enumerate(sc.envs):
            reps = range(arg_vals[0][i].shape[axis]) if rows else [None]
            for r in reps:
                envs.append(dict(env))
                for j in range(len(args)):
                    v = arg_vals[j][i]
                    pvals[j].append(np.take(v, r, axis=axis) if (rows and j == 0) else v)
        sealed = kind in RULE_KINDS and not self.closures_in_rules
        body = Scope(
            self,
            f"{name}_",
            envs,
            sc,
            kind=kind,
            analytic=analytic,
            closure_rate=rate,
            sealed=sealed,
            forward=forward,
        )
        for p, pv in zip(params, pvals):
            body.param(p, pv)
        n = int(rng.integers(1, 4))
        last = None
        for _ in range(n):
            last = self.statement(body)
        if scalar and last.shape != ():
            red = ["anp.sum({a})", "anp.mean({a})", "anp.sum({a} * {a})"]
            last = body.emit(red[rng.integers(len(red))].format(a=body.use(last)))
        body.closure_only = not self._depends_on_args(sc, body, params, last, args, rows, axis)
        return body, params, last

    def _depends_on_args(self, sc, body, params, last, args, rows, axis):
        """Whether the body's result changes with its arguments (at the first point); if
        not, it comes from closed-over values alone."""
        env = dict(sc.envs[0])
        exec("\n".join(self._def(body, "_probe", params, last.name)), env)
        vals = [np.asarray(env[a.name], dtype=float) for a in args]
        if rows:
            vals[0] = np.take(vals[0], 0, axis=axis)
        base = np.asarray(env["_probe"](*vals))
        moved = np.asarray(
            env["_probe"](*(v + 0.01 + 0.003 * np.arange(v.size).reshape(v.shape) for v in vals))
        )
        return not np.allclose(base, moved, rtol=1e-13, atol=1e-13)

    def _def(self, body, name, params, ret, decorator=None, signature=None, prologue=()):
        lines = [f"@{decorator}"] if decorator else []
        lines.append(f"def {name}({signature or ', '.join(params)}):")
        lines += ["    " + ln for ln in [*prologue, *body.lines]]
        lines.append(f"    return {ret}")
        return lines

    def _rule_body(self, sc, g, kind):
        """The sub-program of a custom rule: its arguments, its ``def`` lines, the
        parameter list of the custom function, and its call. Sometimes it takes its two
        arguments as one pytree (a tuple or a dict), and sometimes it returns two outputs
        (the call then concatenates them)."""
        rng = self.rng
        args = self._args(sc, int(rng.integers(1, 3)))
        body, params, last = self._block(sc, g, args, kind, forward=kind == "custom_jvp")
        ret, call_tail = last.name, ""
        if rng.random() < 0.3:
            others = [v for v in body.own if v is not last]
            if others:
                other = others[rng.integers(len(others))]
                ret = f"({last.name}, {other.name})"
                call_tail = "multi"
        names = [a.name for a in args]
        signature, prologue, call_args = None, (), ", ".join(names)
        if len(args) == 2 and rng.random() < 0.4:
            if rng.random() < 0.5:
                signature = f"{g}_p"
                prologue = [f"{params[0]}, {params[1]} = {g}_p"]
                call_args = f"({names[0]}, {names[1]})"
            else:
                signature = f"{g}_p"
                prologue = [f"{params[0]}, {params[1]} = {g}_p['a'], {g}_p['b']"]
                call_args = f"{{'a': {names[0]}, 'b': {names[1]}}}"
            self.features.add(f"{kind}:pytree_argument")
        lines = self._def(body, f"{g}_body", params, ret, signature=signature, prologue=prologue)
        call = f"{g}({call_args})"
        if call_tail == "multi":
            call = f"anp.concatenate([anp.ravel(_o) for _o in {call}])"
            self.features.add(f"{kind}:two_outputs")
        return body, signature or ", ".join(params), lines, call

    def _new(self, base):
        self.blocks += 1
        return f"{base}{self.blocks}"

    def _tag(self, kind, body):
        self.features.add(kind)
        if body.closes_over:
            self.features.add(kind + "+closure")
        if body.closes_over and body.closure_only:
            self.features.add(kind + "+closure_only_output")

    def st_checkpoint(self, sc):
        g = self._new("g")
        args = self._args(sc, int(self.rng.integers(1, 3)))
        body, params, last = self._block(sc, g, args, "checkpoint")
        sc.define(self._def(body, g, params, last.name))
        self._tag("checkpoint", body)
        return sc.emit(f"ad.checkpoint({g})({', '.join(sc.use(a) for a in args)})")

    def st_jit(self, sc):
        g = self._new("g")
        args = self._args(sc, int(self.rng.integers(1, 3)))
        body, params, last = self._block(sc, g, args, "jit")
        sc.define(self._def(body, g, params, last.name))
        self._tag("jit", body)
        return sc.emit(f"ad.jit({g})({', '.join(sc.use(a) for a in args)})")

    def st_vmap(self, sc):
        rng = self.rng
        g = self._new("g")
        first = sc.pick(lambda v: len(v.shape) >= 1 and v.shape[0] >= 2)
        args = [first]
        if rng.random() < 0.4:
            args.append(sc.pick(prefer=lambda v: v is not first))
        nd = len(first.shape)
        axis = 0 if nd == 1 or rng.random() < 0.6 else int(rng.choice([1, -1]))
        body, params, last = self._block(sc, g, args, "vmap", rows=True, axis=axis)
        sc.define(self._def(body, g, params, last.name))
        self._tag("vmap", body)
        kw = ""
        if len(args) == 2:
            kw += f", in_axes=({axis}, None)"
        elif axis != 0:
            kw += f", in_axes={axis}"
        if len(last.shape) >= 1 and rng.random() < 0.3:
            kw += f", out_axes={int(rng.choice([1, -1]))}"
        if kw:
            self.features.add("vmap:axes")
        return sc.emit(f"ad.vmap({g}{kw})({', '.join(sc.use(a) for a in args)})")

    def st_custom_jvp_rule(self, sc):
        """custom_jvp whose rule is the JVP of the same sub-program."""
        g = self._new("g")
        body, p, lines, call = self._rule_body(sc, g, "custom_jvp")
        lines += [
            "@ad.custom_jvp",
            f"def {g}({p}):",
            f"    return {g}_body({p})",
            f"@{g}.defjvp",
            f"def {g}_jvp(primals, tangents):",
            f"    return ad.jvp({g}_body, primals, tangents)",
        ]
        sc.define(lines)
        self._tag("custom_jvp", body)
        return sc.emit(call)

    def st_custom_vjp_rule(self, sc):
        """custom_vjp whose rule is the VJP of the same sub-program (recomputed)."""
        if sc.forward:
            raise Reject
        g = self._new("g")
        body, p, lines, call = self._rule_body(sc, g, "custom_vjp")
        lines += [
            "@ad.custom_vjp",
            f"def {g}({p}):",
            f"    return {g}_body({p})",
            f"def {g}_fwd({p}):",
            f"    return {g}_body({p}), ({p},)",
            f"def {g}_bwd(res, ct):",
            f"    return ad.vjp({g}_body, *res)[1](ct)",
            f"{g}.defvjp({g}_fwd, {g}_bwd)",
        ]
        sc.define(lines)
        self._tag("custom_vjp", body)
        return sc.emit(call)

    # Closed forms: value and derivative of c * u(a) (* captured value).
    CLOSED = {
        "sin": ("anp.sin({a})", "anp.cos({a})", None),
        "tanh": ("anp.tanh({a})", "(1.0 - anp.tanh({a}) ** 2)", None),
        "square": ("{a} ** 2", "2.0 * {a}", None),
        "exp": ("anp.exp({a})", "anp.exp({a})", lambda v: v.max() < 2.5),
        "softplus": ("anp.log1p(anp.exp({a}))", "asp.expit({a})", lambda v: v.max() < 2.5),
    }

    def _closed(self, sc):
        """(value, derivative, argument, captured-or-None) for a closed-form custom rule."""
        rng = self.rng
        key = list(self.CLOSED)[rng.integers(len(self.CLOSED))]
        u, du, pre = self.CLOSED[key]
        a = sc.pick()
        if pre is not None and not all(pre(v) for v in sc.vals(a)):
            raise Reject
        cap = None
        if self.closures_in_rules and rng.random() < 0.5:  # close over an enclosing value
            cand = [v for v in sc.visible() if v is not a and _bcast(v.shape, a.shape) == a.shape]
            if cand:
                cap = cand[rng.integers(len(cand))]
        c = _fmt(round(float(rng.uniform(0.5, 1.5)), 2))
        return u, du, a, cap, c

    def st_custom_jvp_closed(self, sc):
        u, du, a, cap, c = self._closed(sc)
        g = self._new("g")
        z = f"{g}_a0"
        capt = f" * {sc.use(cap)}" if cap is not None else ""
        if self.rng.random() < 0.3:  # the scale as a static argument
            self.features.add("custom_jvp:nondiff_argnums")
            lines = [
                "@partial(ad.custom_jvp, nondiff_argnums=(0,))",
                f"def {g}(c, {z}):",
                f"    return c * {u.format(a=z)}{capt}",
                f"@{g}.defjvp",
                f"def {g}_jvp(c, primals, tangents):",
                f"    ({z},), (t,) = primals, tangents",
                f"    return c * {u.format(a=z)}{capt}, c * {du.format(a=z)} * t{capt}",
            ]
            call = f"{g}({c}, {sc.use(a)})"
        else:
            lines = [
                "@ad.custom_jvp",
                f"def {g}({z}):",
                f"    return {c} * {u.format(a=z)}{capt}",
                f"@{g}.defjvp",
                f"def {g}_jvp(primals, tangents):",
                f"    ({z},), (t,) = primals, tangents",
                f"    return {c} * {u.format(a=z)}{capt}, {c} * {du.format(a=z)} * t{capt}",
            ]
            call = f"{g}({sc.use(a)})"
        sc.define(lines)
        self.features.add("custom_jvp")
        if cap is not None:
            self.features.add("custom_jvp+closure")
        return sc.emit(call)

    def st_custom_vjp_closed(self, sc):
        if sc.forward:
            raise Reject
        u, du, a, cap, c = self._closed(sc)
        g = self._new("g")
        z = f"{g}_a0"
        capt = f" * {sc.use(cap)}" if cap is not None else ""
        if self.rng.random() < 0.3:  # the scale as a static argument
            self.features.add("custom_vjp:nondiff_argnums")
            lines = [
                "@partial(ad.custom_vjp, nondiff_argnums=(0,))",
                f"def {g}(c, {z}):",
                f"    return c * {u.format(a=z)}{capt}",
                f"def {g}_fwd(c, {z}):",
                f"    return c * {u.format(a=z)}{capt}, ({du.format(a=z)},)",
                f"def {g}_bwd(c, res, ct):",
                f"    return (c * res[0] * ct{capt},)",
                f"{g}.defvjp({g}_fwd, {g}_bwd)",
            ]
            call = f"{g}({c}, {sc.use(a)})"
        else:
            lines = [
                "@ad.custom_vjp",
                f"def {g}({z}):",
                f"    return {c} * {u.format(a=z)}{capt}",
                f"def {g}_fwd({z}):",
                f"    return {c} * {u.format(a=z)}{capt}, ({du.format(a=z)},)",
                f"def {g}_bwd(res, ct):",
                f"    return ({c} * res[0] * ct{capt},)",
                f"{g}.defvjp({g}_fwd, {g}_bwd)",
            ]
            call = f"{g}({sc.use(a)})"
        sc.define(lines)
        self.features.add("custom_vjp")
        if cap is not None:
            self.features.add("custom_vjp+closure")
        return sc.emit(call)

    def _nested(self, sc, nargs=1, scalar=False, forward=False):
        g = self._new("h")
        args = self._args(sc, nargs)
        body, params, last = self._block(
            sc, g, args, "nested", analytic=True, scalar=scalar, forward=forward
        )
        sc.define(self._def(body, g, params, last.name))
        return g, args, body, last

    def st_grad(self, sc):
        g, args, body, _ = self._nested(sc, scalar=True)
        self._tag("nested_grad", body)
        form = ["ad.grad({g})({a})", "ad.value_and_grad({g})({a})[1]"][self.rng.integers(2)]
        return sc.emit(form.format(g=g, a=sc.use(args[0])))

    def st_grad2(self, sc):
        g, args, body, _ = self._nested(sc, nargs=2, scalar=True)
        self._tag("nested_grad", body)
        return sc.emit(f"ad.grad({g}, argnums=1)({sc.use(args[0])}, {sc.use(args[1])})")

    def st_jvp(self, sc):
        g, args, body, _ = self._nested(sc, forward=True)
        a = args[0]
        t = sc.pick(lambda v: v.shape == a.shape)
        self._tag("nested_jvp", body)
        if self.rng.random() < 0.3:
            return sc.emit(f"ad.linearize({g}, {sc.use(a)})[1]({sc.use(t)})")
        return sc.emit(f"ad.jvp({g}, ({sc.use(a)},), ({sc.use(t)},))[1]")

    def st_vjp(self, sc):
        g, args, body, last = self._nested(sc)
        try:
            ct = sc.use(sc.pick(lambda v: v.shape == last.shape))
        except Reject:
            ct = _const(last.shape, 4)
        self._tag("nested_vjp", body)
        return sc.emit(f"ad.vjp({g}, {sc.use(args[0])})[1]({ct})[0]")

    def st_jacobian(self, sc):
        how = ["jacfwd", "jacrev"][self.rng.integers(2)]
        g, args, body, last = self._nested(sc, forward=how == "jacfwd")
        if int(np.prod(last.shape)) * int(np.prod(args[0].shape)) > MAX_SIZE:
            raise Reject
        self._tag("nested_jacobian", body)
        return sc.emit(f"ad.{how}({g})({sc.use(args[0])})")

    # ---- the whole program
    def program(self) -> Program:
        rng = self.rng
        n_in = int(rng.integers(1, 4))
        shapes = [INPUT_SHAPES[rng.integers(len(INPUT_SHAPES))] for _ in range(n_in)]
        ranges = [INPUT_RANGES[rng.integers(len(INPUT_RANGES))] for _ in range(n_in)]
        floats = [s == () and rng.random() < 0.5 for s in shapes]  # Python float inputs
        names = [f"x{i}" for i in range(n_in)]
        in_lines = [f"rng = np.random.default_rng([{self.seed}, 1])"]
        for nm, s, (lo, hi), fl in zip(names, shapes, ranges, floats):
            draw = f"rng.uniform({lo}, {hi}, size={s!r})"
            in_lines.append(f"{nm} = {'float(' + draw + ')' if fl else draw}")
        ns = {"np": np}
        exec("\n".join(in_lines), ns)
        base = tuple(ns[nm] for nm in names)
        # Points for vmap: two near the inputs, and two that move only some arguments.
        prng = np.random.default_rng([self.seed, 3])
        variants = [
            tuple(np.asarray(x) + prng.uniform(-0.1, 0.1, np.shape(x)) for x in base)
            for _ in range(2)
        ]
        batched = tuple(bool(b) for b in prng.random(n_in) < 0.5)
        if n_in == 1 or not any(batched) or all(batched):
            batched = (True,) + (False,) * (n_in - 1)
        mixes = [tuple(v if b else x for x, v, b in zip(base, var, batched)) for var in variants]
        points = [base, *variants] + (mixes if n_in > 1 else [])
        main = Scope(self, "", [numpy_namespace() for _ in points])
        for j, nm in enumerate(names):
            main.param(nm, [np.asarray(pt[j]) if not floats[j] else pt[j] for pt in points])
        n = self.size if self.size is not None else int(rng.integers(2, 9))
        last = None
        for _ in range(n):
            last = self.statement(main)
        unused = [v for v in main.own if v.uses == 0 and v is not last]
        outs = [last] + [v for v in unused if v.name.startswith("x")]
        outs += [v for v in unused if v not in outs][: max(0, 3 - len(outs))]
        out = last
        if len(outs) > 1:  # concatenated (a large extra one averaged)
            parts = [
                f"anp.ravel({v.name})"
                if k == 0 or np.prod(v.shape) <= 8
                else f"anp.mean({v.name})[None]"
                for k, v in enumerate(outs)
            ]
            try:
                out = main.emit(
                    "anp.concatenate([" + ", ".join(parts) + "])", max_size=3 * MAX_SIZE
                )
            except Reject:
                pass
        m = int(np.prod(out.shape))
        w = f"np.cos(np.arange({m}.0) + 0.3)"
        if len(out.shape) > 1:
            w += f".reshape({out.shape!r})"
        if out.shape == ():
            w = "0.7"
        sig = ", ".join(names)
        defs = [f"def f({sig}):"] + ["    " + ln for ln in main.lines] + [f"    return {out.name}"]
        defs += ["", "", f"W = {w}", "", "", f"def L({sig}):", f"    return anp.sum(f({sig}) * W)"]
        return Program(
            seed=self.seed,
            defs="\n".join(defs) + "\n",
            inputs_text="\n".join(in_lines) + "\n",
            inputs=base,
            variants=variants,
            batched=batched,
            mixes=mixes,
            features=frozenset(self.features),
            n_statements=len(main.lines),
        )


HEADER = """\
from functools import partial

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
import adgraph.scipy.special as asp
import adgraph.scipy.stats as stats
import adgraph.lax as lax

"""


@dataclass
class Program:
    seed: int
    defs: str  # def f(...), W, def L(...)
    inputs_text: str  # the lines that make x0, x1, ...
    inputs: tuple
    variants: list  # two points near the inputs (vmap batches)
    batched: tuple  # which arguments the partial vmap batch maps over
    mixes: list  # the points of that batch
    features: frozenset = field(default_factory=frozenset)
    n_statements: int = 0

    @property
    def source(self) -> str:
        """Runnable source: imports, the program, its loss, its inputs."""
        return HEADER + "\n" + self.defs + "\n\n" + self.inputs_text

    def adgraph_functions(self):
        """``(f, L)`` under adgraph."""
        ns: dict = {}
        exec(compile(HEADER + self.defs, f"<program {self.seed}>", "exec"), ns)
        return ns["f"], ns["L"]

    def numpy_functions(self):
        """``(f, L)`` evaluated with NumPy: the reference values."""
        ns = numpy_namespace()
        exec(compile(self.defs, f"<numpy program {self.seed}>", "exec"), ns)
        return ns["f"], ns["L"]


def generate(seed: int, size: int | None = None, closures_in_rules: bool = True) -> Program:
    """The program of ``seed``.

    ``size`` is the number of top-level statements (random when None). With
    ``closures_in_rules=False`` the functions given to ``checkpoint``, ``custom_jvp`` and
    ``custom_vjp`` use only their own arguments.
    """
    return Generator(seed, size, closures_in_rules).program()


if __name__ == "__main__":
    from .checks import check_program, report

    args = sys.argv[1:]
    closures = "--no-closures" not in args
    for s in [a for a in args if a != "--no-closures"] or ["0"]:
        prog = generate(int(s), closures_in_rules=closures)
        fails = check_program(prog)
        print(report(prog, fails))
