"""Adversarial random programs: stacks of transformations over small kernels that sit on
the edges both libraries define, compared with JAX.

Where tests/fuzz/programs.py keeps every operation smooth with a margin (so that finite
differences and the complex step have one right answer), these programs go to the points
where a careless rule gives a wrong number while the derivative is still defined, and
compose the transformations in orders the plain grammar does not reach:

* the kernel ``k(x)`` (shape in, same shape out) chains operations evaluated at exact
  zeros and ties of the input: the where-trick around ``sqrt`` and a division,
  ``maximum``/``max``/``sort`` at ties, ``prod``/``cumprod`` through exact zeros, clipping
  at its bounds, gathers and ``.at[]`` updates with negative and repeated indices,
  reductions with ``keepdims`` and axis tuples, booleans and integers mixed in,
  ``stop_gradient``, a float32 round trip, complex intermediates, and ``lax`` loops and
  branches over the running value (closures included);
* the transformations wrap the kernel from the inside out, each keeping the shape:
  ``jit``, ``checkpoint``, ``custom_jvp``/``custom_vjp`` (rules from the body's own
  ``jvp``/``vjp``), ``grad``, ``jvp``, ``vjp``, ``linearize``, ``jacfwd``/``jacrev``
  and ``hessian`` contracted back to the input's shape, ``vmap`` with negative and
  differing ``in_axes``/``out_axes`` or an unmapped argument, a dict pytree with a ``None``
  leaf, and ``fori_loop``/``scan``/``cond``/``switch`` around the inner function (their
  predicates depend on the input, so under ``vmap`` they are batched);
* the inputs have size-0, size-1 and 0-d shapes and hold exact zeros and repeated values.

Every edge kept is one where both libraries take the same documented value: a tie of
``maximum`` or ``max`` shares the derivative equally, ``sort`` keeps ties stable, the
where-trick's unused branch contributes nothing. Points where the two differ by
documented convention are left out (``abs`` at 0: adgraph takes 0, JAX 1; ``norm`` and
``std`` at 0; ``x ** 0`` at 0).

The reference is JAX (``jax_enable_x64``) running the same text, with ``ad`` as ``jax``,
``anp`` as ``jax.numpy`` (``anp.at(x)`` as ``x.at``) and ``lax`` as ``jax.lax``. Where JAX
refuses (reverse mode of ``while_loop``, forward mode of ``custom_vjp``, gradients of
``scatter_mul`` with repeated indices) there is nothing to compare; where adgraph refuses
with a clear error and JAX computes, that is recorded as a refusal, not a wrong number.

Reproduce one program::

    python -m tests.fuzz.adversarial SEED
"""

from __future__ import annotations

import sys
import traceback
import types
from dataclasses import dataclass, field

import numpy as np

TOL = 1e-9  # of the scale max(1, |expected|), in float64
TOL_F32 = 2e-5  # a float32 round trip in the program
# Past BIG in magnitude the kernels (v * v - x, iterated, differentiated twice) are
# ill-conditioned: at seed 2076 a relative change of 1e-15 in x moves the value by 3e-4,
# and the libraries' roundings differ by 1e-6 (1e-3 in the gradient). There they agree to
# LOOSE only.
BIG, LOOSE = 1e6, 1e-2

SHAPES = [(), (1,), (3,), (4,), (2, 3), (1, 3), (3, 1), (2, 1, 2), (0,), (2, 0)]
# the values inputs are drawn from: exact zeros, ties, negatives
POOL = np.array([0.0, 0.0, 1.0, 1.0, -0.5, 0.5, 2.0, -1.25, 0.75, -0.5])

HEADER = """\
import numpy as np

import adgraph as ad
import adgraph.numpy as anp
import adgraph.lax as lax
"""


# ------------------------------------------------------------------- kernel operations
def _kernel_ops(rng, shape):
    """Templates over ``{v}`` (the running value) and ``x`` (the kernel's argument), each
    of ``shape`` in and out; tags name the features they exercise."""
    nd = len(shape)
    size = int(np.prod(shape)) if shape else 1
    ops = [
        ("anp.sin({v}) * x", "smooth"),
        ("anp.tanh({v}) + x * {v}", "smooth"),
        ("{v} * {v} - 0.5 * x", "smooth"),
        ("anp.exp(anp.tanh({v})) * 0.5", "smooth"),
        ("anp.cos({v}) * 1.5", "smooth"),
        # where-trick: the derivative is defined (0 or the other branch) at the guard
        (
            "anp.where({v} > 0, anp.sqrt(anp.where({v} > 0, {v}, 1.0)), 0.0)",
            "where_trick",
        ),
        (
            "anp.where({v} != 0, anp.sin({v}) / anp.where({v} != 0, {v}, 1.0), 1.0)",
            "where_trick",
        ),
        ("anp.where(x > {v}, {v}, x)", "where_tie"),
        # ties share the derivative equally in both libraries
        ("anp.maximum({v}, x)", "maximum_tie"),
        ("anp.minimum({v}, 0.0) + anp.maximum({v}, 0.0) * 2.0", "maximum_tie"),
        ("anp.clip({v}, -0.5, 1.0)", "clip_edge"),
        # booleans and integers mixed in (no derivative through them)
        ("{v} * (x > 0.0)", "bool"),
        ("{v} + (x >= 1.0).astype(np.int8)", "int"),
        (
            f"{{v}} ** 2 + {{v}} ** np.int8(3) + {{v}} * np.arange({size}, dtype=np.int8).reshape({shape!r})",
            "int",
        ),
        ("anp.floor({v}) * 0.0 + anp.round(x) * {v}", "int"),
        ("{v} * ad.stop_gradient({v}) + ad.stop_gradient(x)", "stop_gradient"),
        ("({v}.astype(np.float32) * np.float32(1.5)).astype(np.float64)", "float32"),
        ("anp.real(anp.exp(1j * {v}) * (x + 0.5j))", "complex"),
        ("anp.abs({v} + 1j * (x * x + 0.5))", "complex"),
        ("anp.imag(anp.sqrt({v} + 2.0 + 1j * x)) + {v}", "complex"),
    ]
    if nd >= 1 and size >= 1:
        ax = int(rng.integers(-nd, nd))
        # an axis tuple mixing a negative and a non-negative axis (distinct axes)
        a0, a1 = int(rng.integers(0, nd)), int(rng.integers(-nd, 0))
        axes = (a0, a1) if (a1 + nd) != a0 else (a0,)
        ops += [
            (f"{{v}} * anp.max({{v}}, axis={ax}, keepdims=True)", "max_tie"),
            (f"{{v}} - anp.min(x * {{v}}, axis={axes}, keepdims=True)", "max_tie"),
            (f"anp.prod({{v}}, axis={ax}, keepdims=True) + {{v}}", "prod_zero"),
            (f"anp.cumprod({{v}}, axis={ax})", "prod_zero"),
            (f"anp.sort({{v}}, axis={ax}) * x", "sort_tie"),
            (f"anp.mean({{v}} * x, axis={axes}, keepdims=True) + {{v}}", "reduce_axes"),
            (f"anp.sum({{v}} ** 2, axis={axes}, keepdims=True) * x", "reduce_axes"),
            (f"anp.cumsum({{v}}, axis={ax}) - x", "reduce_axes"),
            (f"{{v}} - anp.var({{v}}, axis={ax}, keepdims=True)", "reduce_axes"),
        ]
        n = shape[0]
        if n >= 1:
            rep = [int(i) - n for i in rng.integers(0, n, size=n)]  # negative, repeated
            rep[0] = -1
            ops += [
                (f"{{v}}[np.array({rep!r})] * x", "gather_repeat"),
                (f"anp.at({{v}})[np.array({rep!r})].add(x)", "scatter_repeat"),
                (f"anp.at({{v}})[np.array({rep!r})].max(x)", "scatter_repeat"),
                ("anp.at({v})[-1].set(anp.sin({v}[0]))", "scatter_set"),
                (f"anp.at({{v}})[np.array({rep!r})].get() + {{v}}[::-1]", "gather_repeat"),
            ]
        ops += [("{v}.reshape(-1)[::-1].reshape(" + repr(shape) + ") * x", "reshape")]
    # loops and branches over the running value, closing over x
    ops += [
        ("lax.fori_loop(0, 2, lambda i, c: anp.sin(c) * x + i * 0.5, {v})", "fori_loop"),
        (
            "lax.scan(lambda c, _: (anp.tanh(c) * 1.2 + x * 0.1, None), {v}, None, length=3)[0]",
            "scan",
        ),
        (
            "lax.cond(anp.sum(x) > 0.25, lambda u: anp.sin(u) * x, lambda u: u * u, {v})",
            "cond",
        ),
        (
            "lax.switch((anp.sum(x) > 0.0).astype(np.int32) + (anp.sum({v}) > 1.0), "
            "[lambda u: u * 0.5, lambda u: anp.cos(u), lambda u: anp.tanh(u) * u], {v})",
            "switch",
        ),
        (
            "lax.while_loop(lambda q: q[0] < 2, lambda q: (q[0] + 1, anp.sin(q[1]) * x), (0, {v}))[1]",
            "while_loop",
        ),
        # a branch that is not finite where it is not taken (a batched predicate runs it)
        (
            "lax.cond(anp.all({v} > 0), lambda u: anp.sqrt(u) * x, lambda u: u * x, {v})",
            "cond_guard",
        ),
        (
            "lax.switch(anp.sum({v} < 0), [anp.log1p, lambda u: u * 2.0, anp.sin], {v} * {v})",
            "cond_guard",
        ),
        # an index computed from the data (batched under vmap; ties pick the first)
        ("{v} * anp.ravel({v})[anp.argmax(anp.ravel(x))] if {v}.size else {v}", "data_index"),
        (
            "anp.at(anp.ravel({v}))[anp.argmin(anp.ravel(x))].add(1.5).reshape({v}.shape) "
            "if {v}.size else {v}",
            "data_index",
        ),
    ]
    if nd >= 1 and shape[0] >= 1:
        ops.append(
            (
                "lax.scan(lambda c, a: (c * 0.5 + anp.sin(a), c * a), {v}[0], {v} * x)[1]",
                "scan_xs",
            )
        )
    return ops


# --------------------------------------------------------------------- transformations
def _layers(nd, shape):
    """Wrappers ``F -> F'`` keeping the shape: (name, lines defining ``{new}`` from
    ``{old}``). ``W`` is a module constant of ``shape``."""
    ax = list(range(nd))
    layers = {
        "jit": ["{new} = ad.jit({old})"],
        "checkpoint": ["{new} = ad.checkpoint({old})"],
        "custom_jvp": [
            "{new} = ad.custom_jvp(lambda y: {old}(y))",
            "{new}.defjvp(lambda p, t: ad.jvp({old}, p, t))",
        ],
        "custom_vjp": [
            "{new} = ad.custom_vjp(lambda y: {old}(y))",
            "{new}.defvjp(lambda y: ({old}(y), y), lambda y, ct: ad.vjp({old}, y)[1](ct))",
        ],
        "grad": ["{new} = ad.grad(lambda y: anp.sum({old}(y) * W))"],
        "value_and_grad": [
            "{new} = lambda y: (lambda vg: vg[1] * vg[0])("
            "ad.value_and_grad(lambda z: anp.sum({old}(z) * W))(y))"
        ],
        "jvp": ["{new} = lambda y: ad.jvp({old}, (y,), (anp.cos(y),))[1]"],
        "vjp": ["{new} = lambda y: ad.vjp({old}, y)[1](anp.cos(y) * W)[0]"],
        "linearize": ["{new} = lambda y: ad.linearize({old}, y)[1](anp.sin(y) + y * y)"],
        "jacfwd": [f"{{new}} = lambda y: anp.tensordot(ad.jacfwd({{old}})(y), W, axes={nd})"],
        "jacrev": [f"{{new}} = lambda y: anp.tensordot(W, ad.jacrev({{old}})(y), axes={nd})"],
        "hessian": [
            "{new} = lambda y: anp.tensordot(ad.hessian(lambda z: anp.sum({old}(z) * W))(y), "
            f"anp.cos(y), axes={nd})"
        ],
        "vmap_scale": [
            "{new} = lambda y: anp.sum(ad.vmap(lambda z, s: {old}(z * s), in_axes=(None, 0), "
            "out_axes={oa})(y, np.array([1.0, -0.5])), axis={oa})"
        ],
        "pytree": [
            "{new} = lambda y: (lambda d: d['a'] * d['b'][0] + anp.sum(d['b'][0]) * 0.0)("
            "ad.jit(lambda q: {{'a': {old}(q['x']), 'b': (q['x'] * 2.0, None)}})"
            "({{'x': y, 'n': None}}))"
        ],
        "complex_jvp": [
            "{new} = lambda y: anp.real(ad.jvp(lambda z: {old}(anp.real(z)) * z, "
            "(y + 0.5j,), (anp.cos(y) + 1j,))[1])"
        ],
        "complex_vjp": [
            "{new} = lambda y: anp.imag(ad.vjp(lambda z: {old}(anp.real(z)) * anp.exp(z), "
            "y - 0.25j)[1](anp.cos(y) + 1j * W)[0])"
        ],
        "fori_loop": ["{new} = lambda y: lax.fori_loop(0, 2, lambda i, c: {old}(c) * 0.5 + c, y)"],
        "scan": [
            "{new} = lambda y: lax.scan(lambda c, s: ({old}(c * s), None), y, "
            "np.array([1.0, 0.5]))[0]"
        ],
        "cond": [
            "{new} = lambda y: lax.cond(anp.sum(y) > 0.1, {old}, lambda z: {old}(z) * 2.0 - z, y)"
        ],
        "switch": [
            "{new} = lambda y: lax.switch((anp.sum(y) > 0.0).astype(np.int32) * 2 - 1, "
            "[{old}, lambda z: -{old}(z), anp.sin], y)"
        ],
    }
    if nd >= 1:
        layers["vmap_axes"] = [
            "{new} = lambda y: anp.sum(ad.vmap({old}, in_axes={ia}, out_axes={oa})("
            "anp.stack([y, anp.sin(y)], axis={ia})), axis={oa})"
        ]
    del ax
    return layers


# The derivative order each layer adds (the rest add none); a stack stays within
# MAX_ORDER, so a check (the Hessian-vector product adds 2) differentiates at most 5 times:
# the cost grows exponentially with the order, in both libraries.
ORDER = {
    "grad": 1,
    "value_and_grad": 1,
    "jvp": 1,
    "vjp": 1,
    "linearize": 1,
    "jacfwd": 1,
    "jacrev": 1,
    "hessian": 2,
    "complex_jvp": 1,
    "complex_vjp": 1,
}
MAX_ORDER = 3


@dataclass
class Program:
    seed: int
    source: str  # defines f(x), W and x
    x: np.ndarray
    features: frozenset = field(default_factory=frozenset)

    @property
    def text(self) -> str:
        return HEADER + "\n" + self.source


def generate(seed: int) -> Program:
    rng = np.random.default_rng([seed, 77])
    shape = SHAPES[rng.integers(len(SHAPES))]
    nd = len(shape)
    size = int(np.prod(shape)) if shape else 1
    vals = rng.choice(POOL, size=size) * rng.choice([1.0, 1.0, 0.5, -1.0])
    x = vals.reshape(shape) if shape else float(vals[0])
    features = {f"shape:{len(shape)}d" + (":empty" if size == 0 else "")}
    dtype = "np.float64"
    if rng.random() < 0.15:  # float32 inputs: constants and W promote as NumPy says
        dtype = "np.float32"
        features.add("float32")
    lines = ["def k(x):", "    v0 = x"]
    ops = _kernel_ops(rng, shape)
    for i in range(int(rng.integers(1, 5))):
        tmpl, tag = ops[rng.integers(len(ops))]
        lines.append(f"    v{i + 1} = " + tmpl.format(v=f"v{i}"))
        features.add(tag)
    lines.append(f"    return v{i + 1}")
    layers = _layers(nd, shape)
    names = list(layers)
    old = "k"
    order = 0  # derivative order of the stack (the checks add up to 2 more)
    for j in range(int(rng.integers(1, 5))):
        name = names[rng.integers(len(names))]
        while order + ORDER.get(name, 0) > MAX_ORDER:
            name = names[rng.integers(len(names))]
        order += ORDER.get(name, 0)
        new = f"F{j}"
        oa = int(rng.integers(-nd - 1, nd + 1))
        ia = int(rng.integers(-nd - 1, nd + 1))
        for ln in layers[name]:
            lines.append(ln.format(new=new, old=old, oa=oa, ia=ia))
        features.add("layer:" + name)
        old = new
    lines.append(f"f = {old}")
    n = max(size, 1)
    w = f"np.cos(np.arange({n}.0) + 0.3)[:{size}].reshape({shape!r}).astype({dtype})"
    src = "\n".join(lines) + f"\n\n\nW = {w}\nx = np.array({np.asarray(x).tolist()!r}, {dtype})"
    if shape == ():
        src += "[()]"
    return Program(seed, src + "\n", np.asarray(x, dtype=float), frozenset(features))


# ---------------------------------------------------------------------------- checking
def _jax_namespace():
    import jax
    import jax.numpy as jnp

    class Jnp:
        linalg = jnp.linalg
        fft = jnp.fft

        @staticmethod
        def at(x):
            return jnp.asarray(x).at

        def __getattr__(self, name):
            return getattr(jnp, name)

    names = "grad value_and_grad jvp vjp linearize jacfwd jacrev hessian vmap jit checkpoint"
    jad = types.SimpleNamespace(**{n: getattr(jax, n) for n in names.split()})
    jad.custom_jvp, jad.custom_vjp = jax.custom_jvp, jax.custom_vjp
    jad.stop_gradient = jax.lax.stop_gradient
    return {"np": np, "anp": Jnp(), "lax": jax.lax, "ad": jad}


def _adgraph_namespace():
    import adgraph as ad
    import adgraph.lax as lax
    import adgraph.numpy as anp

    return {"np": np, "anp": anp, "lax": lax, "ad": ad}


@dataclass
class Finding:
    check: str
    kind: str  # "mismatch", "crash" (an unclear error), "refusal" (a clear one)
    detail: str


# an adgraph error of these types, with a message, is a refusal; anything else is a crash
REFUSALS = (TypeError, ValueError, NotImplementedError)


def _leaves(x):
    if isinstance(x, dict):
        return [lf for k in sorted(x) for lf in _leaves(x[k])]
    if isinstance(x, (tuple, list)):
        return [lf for v in x for lf in _leaves(v)]
    return [x]


def _compare(check, got, want, tol) -> Finding | None:
    gl, wl = _leaves(got), _leaves(want)
    if len(gl) != len(wl):
        return Finding(check, "mismatch", f"{len(gl)} leaves, JAX has {len(wl)}")
    for k, (g, w) in enumerate(zip(gl, wl)):
        w = np.asarray(w)
        g = np.asarray(g)
        if g.shape != w.shape:
            return Finding(check, "mismatch", f"leaf {k} shape {g.shape}, JAX {w.shape}")
        if w.dtype.kind not in "fc":
            continue
        if g.dtype != w.dtype:
            return Finding(check, "mismatch", f"leaf {k} dtype {g.dtype}, JAX {w.dtype}")
        scale = max(1.0, float(np.nanmax(np.abs(w), initial=0.0)) if w.size else 1.0)
        if scale > BIG:  # ill-conditioned (see BIG): agree to LOOSE only
            tol = max(tol, LOOSE)
        same_nan = np.array_equal(np.isnan(g), np.isnan(w))
        err = np.abs(np.where(np.isnan(w), 0, g - w)) if w.size else np.zeros(0)
        inf_ok = np.array_equal(np.isinf(g), np.isinf(w)) and np.all(
            np.where(np.isinf(w), g == w, True)
        )
        finite_err = float(np.nanmax(np.where(np.isinf(w), 0, err), initial=0.0))
        if not (same_nan and inf_ok and finite_err <= tol * scale):
            return Finding(
                check,
                "mismatch",
                f"leaf {k}: max error {finite_err:.3g} (scale {scale:.3g})\n"
                f"      adgraph {np.array2string(g.ravel()[:8], precision=8)}\n"
                f"      JAX     {np.array2string(w.ravel()[:8], precision=8)}",
            )
    return None


def check(prog: Program, counts: dict | None = None) -> list[Finding]:
    """adgraph against JAX on ``prog``: the value, the gradient of ``sum(f(x) * W)``, the
    JVP along ``cos(x)`` and the Hessian-vector product (forward over reverse) along it.
    ``counts``, if given, counts the checks compared and those JAX does not compute."""
    counts = {} if counts is None else counts
    import jax

    out: list[Finding] = []
    tol = TOL_F32 if "float32" in prog.features else TOL
    fns = {}
    for lib, ns in (("ad", _adgraph_namespace()), ("jax", _jax_namespace())):
        exec(compile(prog.source, f"<adversarial {prog.seed}>", "exec"), ns)
        fns[lib] = ns
    x, W = fns["ad"]["x"], fns["ad"]["W"]
    t = np.cos(np.asarray(x) + 0.1).astype(np.asarray(x).dtype)[()]

    def cases(ns):
        ad, anp, f = ns["ad"], ns["anp"], ns["f"]
        return {
            "value": lambda: f(x),
            "grad": lambda: ad.grad(lambda y: anp.sum(f(y) * W))(x),
            "jvp": lambda: ad.jvp(f, (x,), (t,)),
            "hvp": lambda: ad.jvp(ad.grad(lambda y: anp.sum(f(y) * W)), (x,), (t,))[1],
        }

    ours, theirs = cases(fns["ad"]), cases(fns["jax"])
    with jax.enable_x64(True):
        for name in ours:
            try:  # compiled: one compilation costs less than many small operations
                want = jax.tree_util.tree_map(np.asarray, jax.jit(theirs[name])())
            except Exception:  # noqa: BLE001  (JAX does not compute it: nothing to compare)
                counts["JAX does not compute"] = counts.get("JAX does not compute", 0) + 1
                continue
            counts["compared"] = counts.get("compared", 0) + 1
            try:
                with np.errstate(all="ignore"):
                    got = ours[name]()
            except Exception as e:  # noqa: BLE001
                if type(e).__name__ == "CustomVJPForwardError" and _jax_refuses(theirs[name]):
                    continue  # JAX refuses forward mode of custom_vjp too (eagerly)
                if not isinstance(e, REFUSALS):
                    tb = traceback.format_exception(e)[-3:]
                    out.append(Finding(name, "crash", f"{type(e).__name__}: {e}\n{''.join(tb)}"))
                    continue
                msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                kind = "refusal" if msg else "crash"
                where = traceback.extract_tb(e.__traceback__)[-1]
                out.append(
                    Finding(
                        name,
                        kind,
                        f"{type(e).__name__}: {msg[:300]} ({where.filename}:{where.lineno})",
                    )
                )
                continue
            fd = _compare(name, got, want, tol)
            if fd is not None:
                out.append(fd)
    return out


# Known bugs, recognised by what they do: a finding is explained by one when ``match``
# holds for it and the program. Delete an entry when its bug is fixed (and its strict-xfail
# test in tests/fuzz/test_regressions_adversarial.py starts passing).
def _nan_from_a_batched_branch(prog: Program, fd: Finding) -> bool:
    # lax/branches.py runs every branch of a vmap-batched cond/switch on the same
    # operands, so reverse mode carries 0 * (not finite) = nan back from a branch an
    # example does not take: adgraph has nan where JAX has a number
    calls = "lax.cond(" in prog.source or "lax.switch(" in prog.source
    return calls and fd.kind == "mismatch" and "nan" in fd.detail.split("JAX")[0]


def _empty_batch_under_jit(prog: Program, fd: Finding) -> bool:
    # jit/api.py reads example 0 of a batch of length 0 to trace (IndexError)
    return fd.kind == "crash" and "_example" in fd.detail and "IndexError" in fd.detail


KNOWN = {
    "nan from a vmap-batched cond/switch branch not taken": _nan_from_a_batched_branch,
    "jit batched over an empty axis": _empty_batch_under_jit,
}


def known(prog: Program, fd: Finding) -> str | None:
    """The name of the known bug ``fd`` is, or None."""
    for name, match in KNOWN.items():
        if match(prog, fd):
            return name
    return None


def _jax_refuses(fn) -> bool:
    """Whether JAX, run eagerly, refuses ``fn()`` (under ``jit`` it drops an unused
    tangent before its refusal of forward mode through ``custom_vjp`` is reached)."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        return True
    return False


def report(prog: Program, findings) -> str:
    lines = [
        f"adversarial program, seed {prog.seed}: {', '.join(sorted(prog.features))}",
        f"reproduce: python -m tests.fuzz.adversarial {prog.seed}",
    ]
    lines += [f"  [{fd.check}] {fd.kind}: {fd.detail}" for fd in findings]
    return "\n".join(lines + ["", prog.text])


if __name__ == "__main__":
    for s in sys.argv[1:] or ["0"]:
        p = generate(int(s))
        print(report(p, check(p)))
