"""``jit``: trace once per input signature, simplify, generate code, run it fast.

``ad.jit(f)`` composes with every transformation:

* ``jit(grad(f))`` traces ``grad(f)`` -- the forward pass *and* the adjoint sweep -- into
  one graph and compiles it;
* ``grad(jit(f))`` (or ``jvp``, ``vmap``, ``hessian``...): called with traced arguments, a
  jit function binds one ``jit_call`` primitive, whose rules are themselves compiled
  transformations of the traced graph (``jit(vjp(graph))``, ``jit(jvp(graph))``,
  ``jit(vmap(graph))``), cached on the graph.

Python control flow on traced values is handled by guards: the branch taken while tracing
is checked each run, and a different branch traces again (a cache holds the variants).
``adgraph.lax`` control flow is compiled instead: ``scan``/``fori_loop``/``map`` and
``while_loop`` become loops around their step's code (under ``grad``, a forward loop and a
backward loop; see :mod:`adgraph.jit.loops`), ``cond``/``switch`` branch code, so the
program does not grow with trip counts and one program covers every branch.
``float(x)``/``int(x)`` of a traced value are refused, naming the line. Side effects (e.g.
``print``) happen while tracing only.
"""

from __future__ import annotations

import functools
import operator
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from ..ad.common import is_float_dtype
from ..ad.sparsity import Call
from ..ad.taylor import call_rule
from ..core.primitive import Primitive
from ..core.pytree import flat_tuple_def, tree_flatten, tree_unflatten
from ..core.trace import Tracer, current_traces, holds_live_tracer
from ..core.xp import as_leaf
from .c.frontend import compile_c
from .codegen import GUARD_FAILED, function_name
from .program import BranchNotCovered, Compiled, compile_function, signature
from .tracing import ConcretizationError, no_effects

__all__ = ["jit", "JitFunction", "Lowered", "Compiled"]

_MAX_VARIANTS = 16


def _example(x):
    """A concrete value with ``x``'s logical shape (for tracing); flags batching."""
    batch = 0
    v = x
    while isinstance(v, Tracer):
        from ..ad.batching import BatchTracer

        if isinstance(v, BatchTracer):
            batch += 1
        v = v._inner()
    if batch:
        v = np.asarray(v)
        if 0 in v.shape[:batch]:
            # An empty batch has no example to take: any value of the example's shape and
            # dtype serves, since the program is then run on no examples at all.
            v = np.zeros(v.shape[batch:], v.dtype)
        else:
            v = v[(0,) * batch]
    return v, batch > 0


class JitFunction:
    """A function compiled per input signature; see :func:`jit`."""

    def __init__(
        self,
        fun: Callable[..., Any],
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
        cache_size: int = 64,
        compiler: str = "python",
        keep_buffers: bool = True,
    ) -> None:
        functools.update_wrapper(self, fun)
        if not isinstance(keep_buffers, bool):
            raise TypeError(
                f"jit: keep_buffers must be True or False, got {type(keep_buffers).__name__}"
            )
        self.keep_buffers = keep_buffers
        if compiler not in ("python", "c"):
            raise ValueError(f"jit: compiler must be 'python' or 'c', got {compiler!r}")
        self.compiler = compiler
        self.fun = fun
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = tuple(static_argnames)
        try:
            cache_size = operator.index(cache_size)
        except TypeError:
            cache_size = -1
        if isinstance(cache_size, bool) or cache_size < 0:
            raise ValueError(
                "jit: cache_size must be a non-negative integer (how many input signatures "
                "keep their compiled programs; 0 keeps none)"
            )
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()
        self.trace_count = 0  # how many times the function was traced (for inspection)
        self._may_close = _has_cells(fun)  # where _holds_live_tracer looks (fixed per function)

    # ------------------------------------------------------------------ calling
    def _split(self, args, kwargs):
        nargs = len(args)
        statics = []
        for i in self.static_argnums:
            j = i % nargs if -nargs <= i < nargs else None
            if j is None:
                raise ValueError(
                    f"jit: static_argnums {i} is out of range for {nargs} positional arguments"
                )
            statics.append(("pos", j, args[j]))
        for name in self.static_argnames:
            if name in kwargs:
                statics.append(("kw", name, kwargs[name]))
        static_pos = {s[1] for s in statics if s[0] == "pos"}
        static_kw = {s[1] for s in statics if s[0] == "kw"}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_pos)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_kw}
        try:
            skey = tuple((kind, k, v) for kind, k, v in statics)
            hash(skey)
        except TypeError:
            raise TypeError(
                "jit: static arguments must be hashable (they select the compiled program); "
                f"got {[type(v).__name__ for _, _, v in statics]}"
            ) from None

        def bound(*d_args, **d_kwargs):
            full = list(d_args)
            for _kind, k, v in sorted((s for s in statics if s[0] == "pos"), key=lambda s: s[1]):
                full.insert(k, v)
            kw = dict(d_kwargs)
            for kind, k, v in statics:
                if kind == "kw":
                    kw[k] = v
            return self.fun(*full, **kw)

        return bound, dyn_args, dyn_kwargs, skey

    def __call__(self, *args, **kwargs):
        key = None
        if not kwargs and not (self.static_argnums or self.static_argnames):
            key, leaves = _plain_key(args)
        if key is not None:
            # (the usual call: what the general path below would make of it, for less)
            fun, skey, in_tree = self.fun, (), key[0]
        else:
            if self.static_argnums or self.static_argnames:
                fun, args, kwargs, skey = self._split(args, kwargs)
            else:
                fun, skey = self.fun, ()
            leaves, in_tree = tree_flatten((args, kwargs) if kwargs else args)
            leaves = [as_leaf(x, "jit") for x in leaves]
            for x in leaves:
                if isinstance(x, Tracer):
                    return self._call_traced(fun, leaves, in_tree, kwargs, skey)
        # A function that closes over a value traced by a transformation in flight must not
        # run compiled NumPy code, nor a program compiled when that value was concrete. A
        # function without closure cells, defaults or bound arguments holds none where the
        # scan looks; with no trace in flight on this thread there is no such value.
        if self._may_close and current_traces() and _holds_live_tracer(self.fun):
            return self._call_traced(fun, leaves, in_tree, kwargs, skey, closes=True)
        if key is None:
            key = (in_tree, signature(leaves), skey)
        variants = self._cache.get(key)
        if variants is not None:
            self._cache.move_to_end(key)
            for comp in variants:
                out = comp.fn(*leaves)
                if out is not GUARD_FAILED:
                    return tree_unflatten(comp.graph.out_tree, out)
        if self.compiler == "c" and not kwargs:
            comp = _CCompiled(fun, leaves, in_tree)
            self.trace_count += 1
        else:
            comp = self._compile(fun, leaves, in_tree, kwargs)
        if comp.closures:
            # It closed over traced values where the scan does not look (a global, an
            # attribute): their transformations run the program, as for traced arguments.
            out = jit_call_p.bind(*leaves, *comp.closures, compiled=comp)
            return tree_unflatten(comp.graph.out_tree, list(out))
        self._remember(key, comp)
        out = comp.fn(*leaves)
        if out is GUARD_FAILED:  # pragma: no cover - guards hold on the traced values
            raise RuntimeError("jit: a guard failed on the values it was traced with")
        return tree_unflatten(comp.graph.out_tree, out)

    def _call_traced(self, fun, leaves, in_tree, kwargs, skey, closes=None):
        """Arguments (or, ``closes``, closed-over values) traced by an enclosing
        transformation: bind one jit_call primitive."""
        examples = []
        batched = []
        for x in leaves:
            v, b = _example(x)
            examples.append(v)
            batched.append(b)
        key = (in_tree, ("traced",) + signature(examples), skey)
        comp = None
        # A cached program never closes over traced values; one that does now is traced anew.
        if closes is None:
            closes = _holds_live_tracer(self.fun)
        variants = None if closes else self._cache.get(key)
        if variants is not None:
            for c in variants:
                if not c.has_guards or c.fn(*examples) is not GUARD_FAILED:
                    comp = c
                    break
        if comp is None:
            comp = self._compile(fun, examples, in_tree, kwargs)
            if not comp.closures:
                self._remember(key, comp)
        if comp.has_guards and any(batched[k] for k in comp.guard_inputs() if k < len(batched)):
            raise ConcretizationError(
                f"jit({self.__name__}) under vmap: Python control flow depends on a batched "
                "value, so one compiled branch cannot serve every example; use anp.where"
            )
        out = jit_call_p.bind(*leaves, *comp.closures, compiled=comp)
        return tree_unflatten(comp.graph.out_tree, list(out))

    def _compile(self, fun, leaves, in_tree, kwargs, keep_values=False):
        self.trace_count += 1
        if kwargs:
            f = lambda *a, **k: fun(*a, **k)  # noqa: E731
            tfun = lambda ak: f(*ak[0], **ak[1])  # noqa: E731
            return compile_function(
                lambda *ls: tfun(tree_unflatten(in_tree, list(ls))),
                leaves,
                _flat_tree(len(leaves)),
                keep_values=keep_values,
                keep_buffers=self.keep_buffers,
            )
        return compile_function(
            fun, leaves, in_tree, keep_values=keep_values, keep_buffers=self.keep_buffers
        )

    def _remember(self, key, comp):
        variants = self._cache.setdefault(key, [])
        variants.insert(0, comp)
        del variants[_MAX_VARIANTS:]
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # ------------------------------------------------------------------ inspection
    def lower(self, *args, **kwargs) -> Lowered:
        """Trace and compile for these arguments without running: the IR before and after
        simplification, and the generated source."""
        if self.static_argnums or self.static_argnames:
            fun, args, kwargs, _ = self._split(args, kwargs)
        else:
            fun = self.fun
        leaves, in_tree = tree_flatten((args, kwargs) if kwargs else args)
        leaves = [_example(as_leaf(x, "jit"))[0] for x in leaves]
        return Lowered(self._compile(fun, leaves, in_tree, kwargs, keep_values=True))

    def clear_cache(self):
        self._cache.clear()

    def __repr__(self):
        return f"<jit {self.__name__}: {len(self._cache)} signatures compiled>"


class _CCompiled:
    """A signature compiled by the C backend (``jit(f, compiler="c")``): straight-line C
    for graphs of scalars and small arrays (see :mod:`adgraph.jit.c`)."""

    closures = ()
    has_guards = False

    def __init__(self, fun, leaves, in_tree):
        def flat(*ls):
            return fun(*tree_unflatten(in_tree, list(ls)))

        flat.__name__ = function_name(fun)
        # jit(compiler="c") is an explicit request: allow larger programs than compile_c's
        # defaults (which guard its batched use).
        # Without a C compiler this is a CFallbackFunction (one CCompilerWarning), which
        # has the same call_flat.
        self.cfun = compile_c(flat, *leaves, max_node_size=4096, max_statements=2_000_000)
        self.graph = self  # for out_tree
        self.out_tree = tree_flatten(self.cfun(*leaves))[1]

    def fn(self, *leaves):
        return self.cfun.call_flat(leaves)


_F64_SIGNATURE = (np.float64, (), np.dtype(np.float64))
_NUMERIC_KINDS = frozenset("biufc")  # the dtypes as_leaf lets pass


def _plain_key(args):
    """``(key, leaves)`` of positional arguments that are all Python floats or NumPy
    arrays -- the cache key and leaves the general path makes of them (``as_leaf`` turns a
    float into a ``float64``, ``signature`` then names its type, shape and dtype) -- else
    ``(None, None)``. Exact types only: subclasses, tracers and containers take the
    general path (which refuses what ``as_leaf`` refuses)."""
    sig = []
    leaves = []
    for a in args:
        tp = type(a)
        if tp is np.ndarray and a.dtype.kind in _NUMERIC_KINDS:
            sig.append((tp, a.shape, a.dtype))
            leaves.append(a)
        elif tp is float:
            sig.append(_F64_SIGNATURE)
            leaves.append(np.float64(a))
        else:
            return None, None
    return (flat_tuple_def(len(args)), tuple(sig), ()), leaves


def _has_cells(fun) -> bool:
    """Whether ``fun`` has anything :func:`_holds_live_tracer` looks at: closure cells,
    defaults, bound arguments (their contents may change; whether they exist does not)."""
    if isinstance(fun, (functools.partial, JitFunction)):
        return True
    f = getattr(fun, "__func__", fun)
    return bool(getattr(f, "__closure__", None) or getattr(f, "__defaults__", None))


def _holds_live_tracer(fun, depth=2) -> bool:
    """Whether ``fun`` -- or a function, or a tuple/list/dict, among its closure cells,
    defaults or ``functools.partial`` arguments, ``depth`` functions deep, a jitted
    function's own included -- holds a tracer of a live trace."""
    return holds_live_tracer(fun, depth=depth, unwrap=_jitted)


def _jitted(f):
    return f.fun if isinstance(f, JitFunction) else None


def _flat_tree(n):
    return tree_flatten(tuple(range(n)))[1]


class Lowered:
    """A compiled program, for reading: ``.graph`` (traced), ``.simplified``, ``.source``."""

    def __init__(self, comp: Compiled):
        self.compiled = comp
        self.graph = comp.traced
        self.simplified = comp.graph
        self.source = comp.source
        self.guards = comp.guards

    def as_text(self) -> str:
        """The simplified IR, one line per node (``%k = op(args) params shape dtype``)."""
        lines = [f"# {self.simplified!r}"]
        for n in self.simplified.toposort():
            lines.append(repr(n))
        outs = ", ".join(
            f"%{o.id}" if hasattr(o, "id") else repr(o) for o in self.simplified.outputs
        )
        lines.append(f"return {outs}")
        if self.guards:
            lines.append(
                "guards: "
                + ", ".join(f"%{g.id} is {t}" for g, t in self.guards if hasattr(g, "id"))
            )
        return "\n".join(lines)

    def __repr__(self):
        return self.as_text()

    def _repr_html_(self):
        import html

        return f"<pre>{html.escape(self.as_text())}</pre>"


@overload
def jit(
    fun: Callable[..., Any],
    *,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    cache_size: int = 64,
    backend: str | None = None,
    compiler: str = "python",
    keep_buffers: bool = True,
) -> JitFunction: ...
@overload
def jit(
    fun: None = None,
    *,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    cache_size: int = 64,
    backend: str | None = None,
    compiler: str = "python",
    keep_buffers: bool = True,
) -> Callable[[Callable[..., Any]], JitFunction]: ...
def jit(
    fun: Callable[..., Any] | None = None,
    *,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    cache_size: int = 64,
    backend: str | None = None,
    compiler: str = "python",
    keep_buffers: bool = True,
) -> JitFunction | Callable[[Callable[..., Any]], JitFunction]:
    """Compile ``fun``: trace it once per input signature (shapes, dtypes, pytree
    structure, static arguments), simplify the graph and run generated code.

    Usable as ``jit(f)``, ``@jit`` or ``@jit(static_argnums=1)``. ``jit(f).lower(*args)``
    shows the IR and the generated source. Composes with every transformation, in either
    order.

    ``compiler="c"`` compiles each signature to C instead (programs of scalars and small
    arrays: a material law, a small Hessian, a long scalar recurrence; see
    :func:`adgraph.jit.cbackend.compile_c`, which also batches over a leading axis). Calls
    with traced arguments (``grad(jit(f, compiler="c"))``) use the Python code generator.
    Without a C compiler it warns once (``CCompilerWarning``) and runs the Python code,
    with the same results.

    Parameters
    ----------
    fun : callable
        The function to compile.
    static_argnums, static_argnames : int/str or tuple of them
        Arguments baked into the program (hashable Python values); a new value traces
        again.
    cache_size : int
        How many input signatures keep their compiled programs (default 64; the least
        recently used is dropped first, and traced again if it comes back; 0 keeps none).
        Each signature keeps at most 16 branch variants (Python control flow on traced
        values): a function that takes more branch combinations than that traces the
        oldest again when it returns. A compiled program keeps shapes, dtypes, constants
        and static arguments -- never the arrays it was traced with.
    backend : ``None`` or ``"cpu"``
        JAX's meaning, the device: the program runs where its arrays live (NumPy on the
        CPU, CuPy arrays on their GPU), so ``None`` and ``"cpu"`` are the same and
        ``"gpu"`` is refused (pass CuPy arrays instead). ``backend="c"`` and
        ``backend="python"``, adgraph's earlier spelling of ``compiler``, still work with
        a ``DeprecationWarning``.
    compiler : ``"python"`` or ``"c"``
        The code generator: NumPy code (default) or C.
    keep_buffers : bool
        NumPy programs write their intermediate arrays into buffers allocated on the first
        call and kept with the compiled program (default True; the arrays a call returns
        are always new, and calls on other threads or nested inside the program get
        buffers of their own): later calls do not allocate them again, which saves the
        page faults of large new arrays. False allocates them afresh on every call and
        holds no memory between calls. The results are the same, bit for bit.

    Notes
    -----
    Values of enclosing transformations that ``fun`` closes over (``jit(lambda u: u * y)``
    inside ``grad`` with respect to ``y``) become inputs of the compiled program, and are
    differentiated, batched and staged like its arguments; the program may also return
    them, or values computed from them alone. Such a program is compiled for the call and
    not kept. Concrete values it reads from closures, globals or attributes are constants
    of the program, kept with it: a later call does not see a new value (pass values that
    change as arguments). A closed-over value that has become traced since is noticed in a
    closure cell, a default or a ``functools.partial`` argument, not in a global or an
    attribute.
    """
    compiler = _compiler(backend, compiler)
    if fun is None:
        return lambda f: jit(
            f,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            cache_size=cache_size,
            compiler=compiler,
            keep_buffers=keep_buffers,
        )
    if not callable(fun):
        raise TypeError(f"jit: the function to compile must be callable, got {type(fun).__name__}")
    return JitFunction(fun, static_argnums, static_argnames, cache_size, compiler, keep_buffers)


_DEVICES = ("gpu", "cuda", "rocm", "tpu", "metal")


def _compiler(backend, compiler: str) -> str:
    """The code generator chosen by ``jit``'s ``backend`` (JAX's meaning: the device) and
    ``compiler`` (adgraph's: Python or C) arguments."""
    if compiler not in ("python", "c"):
        raise ValueError(
            f"jit: compiler must be 'python' (NumPy code, the default) or 'c', got {compiler!r}"
        )
    if backend is None or backend == "cpu":
        return compiler
    if backend in ("c", "python"):
        if compiler != "python" and compiler != backend:
            raise ValueError(
                f"jit: backend={backend!r} and compiler={compiler!r} disagree; pass compiler= alone"
            )
        warnings.warn(
            f"jit(backend={backend!r}) is deprecated: the code generator is chosen with "
            f"compiler={backend!r} (backend= takes JAX's meaning, the device: None or 'cpu')",
            DeprecationWarning,
            stacklevel=3,
        )
        return backend
    if isinstance(backend, str) and backend.lower() in _DEVICES:
        raise ValueError(
            f"jit: backend={backend!r} is not needed in adgraph: a compiled program runs where "
            "its arrays live -- pass CuPy arrays (cupy.asarray(x)) to run it on the GPU, and "
            "leave backend unset"
        )
    raise ValueError(
        f"jit: backend must be None or 'cpu' (the device, as in JAX), got {backend!r}; the "
        "code generator is chosen with compiler='python' or compiler='c'"
    )


# ------------------------------------------------------------------ the jit_call primitive
def _derived(comp, key, build):
    f = comp.derived.get(key)
    if f is None:
        f = comp.derived[key] = build()
    return f


def _jit_call_impl(xp, *leaves, compiled):
    out = compiled.fn(*leaves)
    if out is GUARD_FAILED:
        # Guards are checked before binding, and a program calling this one checks them
        # first: never reached, but a branch that does not hold must not give a number.
        raise BranchNotCovered(
            f"jit: the compiled program of {compiled.graph.name!r} was used with values for "
            "which a Python branch it baked in goes the other way"
        )
    return tuple(out)


def _jit_call_jvp(primals, tangents, params):
    from ..api import jvp
    from ..api.args import zeros_like as _zeros_like

    comp = params["compiled"]
    ts = [_zeros_like(p) if t is None else t for t, p in zip(tangents, primals)]
    f = _derived(
        comp,
        "jvp",
        lambda: jit(
            lambda ps, ts: jvp(comp.evaluate, tuple(ps), tuple(ts)),
            keep_buffers=comp.keep_buffers,
        ),
    )
    out, t_out = f(tuple(primals), tuple(ts))
    return tuple(out), tuple(t_out)


def _jit_call_vjp(ct, ans, args, params, wanted):
    comp = params["compiled"]
    # Only traced floating arguments are differentiated: the others (a closed-over
    # comparison or argmin traced by an enclosing jit or vmap, say) have no cotangent.
    idx = tuple(i for i, (w, a) in enumerate(zip(wanted, args)) if w and _is_float(a))
    if not idx:
        return [None] * len(args)
    f = _derived(
        comp,
        ("vjp", idx),
        lambda: jit(_pullback(comp.evaluate, idx), keep_buffers=comp.keep_buffers),
    )
    out = [None] * len(args)
    for i, g in zip(idx, f(tuple(args), tuple(ct))):
        out[i] = g
    return out


def _pullback(fun, idx):
    """``(xs, ct) ->`` the cotangents of ``xs[i]`` for ``i`` in ``idx`` (the other
    arguments held constant) of ``fun(*xs)`` for the output cotangent ``ct``."""
    from ..api import vjp

    def pull(xs, ct):
        def only(*sel):
            full = list(xs)
            for i, v in zip(idx, sel):
                full[i] = v
            return fun(*full)

        # The forward pass ran the program's effects (debug.print) already: its replay
        # here, for the residuals, leaves them out.
        with no_effects():
            return vjp(only, *[xs[i] for i in idx])[1](tuple(ct))

    return pull


def _is_float(x) -> bool:
    dt = getattr(x, "dtype", None)
    return dt is not None and is_float_dtype(dt)


def _jit_call_batch(vals, batched, size, *, compiled):
    from ..api import vmap

    axes = tuple(0 if b else None for b in batched)
    f = _derived(
        compiled,
        ("vmap", axes),
        lambda: jit(vmap(compiled.evaluate, in_axes=axes), keep_buffers=compiled.keep_buffers),
    )
    return tuple(f(*vals))


jit_call_p = Primitive(
    "jit_call",
    _jit_call_impl,
    jvp_rule=_jit_call_jvp,
    joint_vjp=_jit_call_vjp,
    batch=_jit_call_batch,
    multiple_results=True,
    doc="A jit-compiled function applied to traced values; its derivatives and batching "
    "are compiled transformations of its graph.",
    taylor=call_rule(lambda params: params["compiled"].evaluate),
    sparsity=Call(lambda params: params["compiled"].evaluate),  # the graph on the patterns
)
