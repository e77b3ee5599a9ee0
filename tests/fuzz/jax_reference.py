"""A second reference for random programs: the same text run by JAX (float64), where JAX is
installed and has the functions the program calls.

The program's names map to JAX's: ``anp`` to ``jax.numpy`` (``anp.at(x)[i]`` to
``x.at[i]``), ``asp`` to ``jax.scipy.special``, ``stats`` to ``jax.scipy.stats``, ``lax`` to
``jax.lax`` (adgraph's ``checkpoints=`` dropped: it changes memory, not values), and ``ad`` to
``jax`` (``ad.jit`` runs eagerly: the same values, without JAX's compile time). JAX's value,
gradient of the loss, JVP and Hessian-vector product are compared with adgraph's.

Where JAX cannot run the program (a name it lacks, reverse mode of ``while_loop``, forward
mode of ``custom_vjp``) there is nothing to compare; that is not a finding. The numbers
differ only in rounding and in the algorithms of the special functions, so the tolerance
is ``JAX_TOL`` of the scale.
"""

from __future__ import annotations

import types
from functools import partial

import numpy as np

import adgraph as ad
import adgraph.numpy as anp

from .checks import FAILED, Checker, Failure

JAX_TOL = 1e-8

# Where JAX's numbers are the ones in doubt: a program calling one of these is compared
# with JAX in its value only (adgraph's derivatives there agree with finite differences,
# which tests/fuzz/checks.py checks, and with the closed forms named).
JAX_DIFFERENCES = {
    "asp.spence(": "jax 0.10.2 differentiates spence to NaN on (1, 2) and to 0 at 1; the "
    "derivative is -log(x)/(x - 1) (1 at x = 1), which adgraph gives",
}


def available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _namespace():
    import jax
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    import jax.scipy.stats as jst

    class Jnp:
        linalg = jnp.linalg
        fft = jnp.fft

        @staticmethod
        def at(x):
            return jnp.asarray(x).at

        def __getattr__(self, name):
            return getattr(jnp, name)

    class Lax:
        @staticmethod
        def scan(f, init, xs=None, length=None, reverse=False, checkpoints=None):
            return jax.lax.scan(f, init, xs, length=length, reverse=reverse)

        @staticmethod
        def fori_loop(lower, upper, body, init, checkpoints=None):
            return jax.lax.fori_loop(lower, upper, body, init)

        @staticmethod
        def while_loop(cond, body, init, checkpoints=None):
            return jax.lax.while_loop(cond, body, init)

        cond = staticmethod(jax.lax.cond)
        switch = staticmethod(jax.lax.switch)

    jad = types.SimpleNamespace(
        checkpoint=lambda fun, **kw: fun,
        jit=lambda fun, **kw: fun,
        custom_jvp=jax.custom_jvp,
        custom_vjp=jax.custom_vjp,
        vmap=jax.vmap,
        grad=jax.grad,
        value_and_grad=jax.value_and_grad,
        jvp=jax.jvp,
        linearize=jax.linearize,
        vjp=jax.vjp,
        jacfwd=jax.jacfwd,
        jacrev=jax.jacrev,
    )
    return {
        "np": np,
        "anp": Jnp(),
        "asp": jsp,
        "stats": jst,
        "lax": Lax,
        "ad": jad,
        "partial": partial,
    }


def check_against_jax(prog) -> list[Failure]:
    """adgraph's value, gradient, JVP and Hessian-vector product of ``prog`` against JAX's
    (nothing when JAX is missing or cannot run the program)."""
    if not available():
        return []
    import jax

    with jax.enable_x64(True):
        return _check(prog, jax)


def _np(x):
    return np.asarray(x, dtype=float)


def _jax_run(fn, *args, jit=True):
    """``fn(*args)`` under JAX, compiled (one compilation costs less than running the
    program's many small operations one by one), or None where JAX cannot compute it."""
    import jax

    try:
        out = (jax.jit(fn) if jit else fn)(*args)
        return jax_tree_numpy(out)
    except Exception:  # noqa: BLE001  (JAX lacking a name or a rule: nothing to compare)
        return None


def jax_tree_numpy(x):
    if isinstance(x, (tuple, list)):
        return type(x)(jax_tree_numpy(v) for v in x)
    return np.asarray(x)


def _check(prog, jax) -> list[Failure]:
    c = Checker()
    ns = _namespace()
    exec(compile(prog.defs, f"<jax program {prog.seed}>", "exec"), ns)
    fj, Lj = ns["f"], ns["L"]
    f, L = prog.adgraph_functions()
    xs = prog.inputs
    n = len(xs)
    argnums = tuple(range(n))
    jxs = tuple(x if isinstance(x, float) else jax.numpy.asarray(x) for x in xs)
    rng = np.random.default_rng([prog.seed, 5])
    ts = tuple(rng.standard_normal(np.shape(x)) for x in xs)

    def compare(check, got_fn, want):
        if want is None:
            return
        got = c.run(check, got_fn)
        c.close(check, got, want, JAX_TOL)

    compare("value vs JAX", lambda: f(*xs), _jax_run(fj, *jxs))
    if any(name in prog.defs for name in JAX_DIFFERENCES):
        return c.failures
    compare(
        "grad vs JAX",
        lambda: ad.grad(L, argnums=argnums)(*xs),
        _jax_run(jax.grad(Lj, argnums=argnums), *jxs),
    )
    want = _jax_run(lambda a, t: jax.jvp(fj, a, t)[1], jxs, ts)
    if want is not None:
        # where JAX computes the JVP, adgraph must too, with one exception: a custom_vjp
        # function whose tangent does not reach the output. JAX refuses its forward mode
        # when it runs eagerly, and not under jit, which drops the unused tangent before
        # anything runs; adgraph's jvp refuses as JAX's eager jvp does.
        got = c.run("jvp vs JAX", lambda: ad.jvp(f, tuple(xs), ts)[1])
        refused = c.failures and c.failures[-1].detail.startswith("CustomVJPForwardError")
        if got is FAILED and refused and "custom_vjp" in prog.features:
            eager = _jax_run(lambda a, t: jax.jvp(fj, a, t)[1], jxs, ts, jit=False)
            if eager is None:
                c.failures.pop()  # JAX refuses too
        else:
            c.close("jvp vs JAX", got, want, JAX_TOL)

    shapes = [np.shape(x) for x in xs]
    offs = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    z = np.concatenate([np.ravel(_np(x)) for x in xs])
    v = rng.standard_normal(z.size)

    def flat(loss, np_):
        return lambda z: loss(*(np_.reshape(z[offs[i] : offs[i + 1]], shapes[i]) for i in range(n)))

    Lf, Lfj = flat(L, anp), flat(Lj, jax.numpy)
    zj, vj = jax.numpy.asarray(z), jax.numpy.asarray(v)
    want = _jax_run(lambda z, v: jax.jvp(jax.grad(Lfj), (z,), (v,))[1], zj, vj)
    compare("hvp vs JAX", lambda: ad.hvp(Lf, (z,), (v,)), want)
    return c.failures
