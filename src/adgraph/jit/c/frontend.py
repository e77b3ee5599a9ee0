"""The entry points: :func:`compile_c` and :func:`c_source`.

``compile_c`` traces the function for one point (static arguments bound), simplifies the
graph, lowers it to C (:mod:`~adgraph.jit.c.lower`), builds or loads its library
(:mod:`~adgraph.jit.c.toolchain`, :mod:`~adgraph.jit.c.cache`) and wraps it
(:mod:`~adgraph.jit.c.runtime`); without a C compiler it warns and wraps the Python backend
instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...core.pytree import tree_flatten
from ..codegen import function_name
from ..loops import share_residuals
from ..reroll import reroll
from ..simplify import simplify
from ..tracing import trace_for_jit
from .cache import load_library
from .errors import CBackendError, CCompilerWarning
from .lower import MAX_NODE_SIZE, MAX_STATEMENTS, lower_to_c
from .runtime import CFallbackFunction, CFunction, Signature, kernel_function
from .toolchain import compiler_flags, find_c_compiler, loop_flags

__all__ = ["compile_c", "c_source"]


# ============================================================================ tracing
def _prepare(x):
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    if isinstance(x, bool):
        return np.bool_(x)
    if isinstance(x, int):
        return np.int64(x)
    if isinstance(x, float):
        return np.float64(x)
    return np.asarray(x)


def _split_static(fun, args, static_argnums):
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    nargs = len(args)
    static = {}
    for i in static_argnums:
        if not -nargs <= i < nargs:
            raise ValueError(f"compile_c: static_argnums {i} is out of range for {nargs} arguments")
        static[i % nargs] = args[i % nargs]
    dyn = tuple(a for i, a in enumerate(args) if i not in static)

    def bound(*d):
        full = list(d)
        for i in sorted(static):
            full.insert(i, static[i])
        return fun(*full)

    bound.__name__ = function_name(fun)
    return bound, dyn, static


def _trace(fun, example_args, static_argnums, name):
    bound, dyn, static = _split_static(fun, example_args, static_argnums)
    leaves, in_tree = tree_flatten(dyn)
    leaves = [_prepare(x) for x in leaves]
    for k, x in enumerate(leaves):
        if getattr(x, "dtype", None) is not None and np.dtype(x.dtype).kind == "c":
            raise CBackendError(
                f"C backend: argument {k} is complex; complex numbers are not supported"
            )
    graph, guards, closures = trace_for_jit(bound, leaves, in_tree)
    if guards:
        raise CBackendError(
            f"C backend: {name} branches on traced values (Python if/while on an array "
            f"computed from the arguments, {len(guards)} time(s)); the C backend compiles "
            "straight-line code only. Use anp.where for elementwise choices, or adgraph.jit, "
            "which re-traces on new branches"
        )
    if closures:
        raise CBackendError(
            f"C backend: {name} closes over values traced by an enclosing transformation; "
            "compile_c must be called outside grad/jvp/vmap (compile the derivative instead: "
            "compile_c(ad.grad(f), x))"
        )
    # unrolled Python loops become loops again (adgraph.jit.reroll), simplified after
    graph, _ = simplify(reroll(graph))
    if not getattr(graph, "effects", None):
        graph = share_residuals(graph)
    sig = Signature(
        name,
        in_tree,
        [tuple(getattr(x, "shape", ())) for x in leaves],
        [np.dtype(x.dtype) for x in leaves],
        static,
        len(example_args),
    )
    return graph, sig, bound


# ============================================================================ entry points
def c_source(
    fun: Callable,
    *example_args: Any,
    static_argnums: int | Sequence[int] = (),
    max_node_size: int = MAX_NODE_SIZE,
    max_statements: int = MAX_STATEMENTS,
    assume_finite: bool = False,
) -> str:
    """The C source :func:`compile_c` would compile (needs no compiler)."""
    name = function_name(fun)
    graph, _, _ = _trace(fun, example_args, static_argnums, name)
    return lower_to_c(
        graph,
        name=name,
        max_node_size=max_node_size,
        max_statements=max_statements,
        assume_finite=assume_finite,
    ).source


def compile_c(
    fun: Callable,
    *example_args: Any,
    static_argnums: int | Sequence[int] = (),
    threads: int | None = None,
    fast_math: bool = False,
    assume_finite: bool = False,
    extra_flags: Sequence[str] = (),
    max_node_size: int = MAX_NODE_SIZE,
    max_statements: int = MAX_STATEMENTS,
) -> CFunction | CFallbackFunction:
    """Compile ``fun`` -- a function of scalars and small arrays, or a derivative of one --
    to C, batched over a leading axis.

    Parameters
    ----------
    fun : callable
        Written with ``adgraph.numpy``; may be ``ad.grad(f)``, ``ad.jacfwd(f)``,
        ``ad.hessian(f)`` or any function returning several of them (a pytree).
    *example_args
        The arguments of ONE point (scalars or small arrays; pytrees allowed): they fix
        the per-point shapes and dtypes (float64, float32, integers, bool).
    static_argnums : int or tuple of int
        Arguments baked into the program (Python values such as material constants or
        flags). Call with all arguments; the static ones must equal these.
    threads : int, optional
        Threads for large batches (default: all cores, at least 16384 points each).
    fast_math : bool
        Compile with ``-ffast-math`` (faster, but no IEEE guarantees: nan/inf handling
        and rounding may change). Off by default.
    assume_finite : bool
        Fold ``0 * x`` to ``0`` while scalarizing (exact for finite ``x``; shrinks forward
        derivative programs whose basis tangents are mostly zeros). Off by default.
    extra_flags : sequence of str
        More compiler flags (e.g. ``("-march=native",)``).
    max_node_size, max_statements : int
        Limits on the elements of one value and on the size of the program.

    Returns
    -------
    CFunction, or CFallbackFunction when no C compiler is found (with one
    :class:`CCompilerWarning`). Either is called with one point's arguments, or with a
    leading batch axis on some of them (``f(eps)`` with ``eps.shape == (n, 3, 3)``).
    """
    name = function_name(fun)
    graph, sig, bound = _trace(fun, example_args, static_argnums, name)
    kernel = lower_to_c(
        graph,
        name=name,
        max_node_size=max_node_size,
        max_statements=max_statements,
        assume_finite=assume_finite,
    )
    # The compiled function keeps its graph for inspection, not the values it was traced
    # with (shapes and dtypes stay).
    for node in graph.nodes:
        node.value = None
    compiler = find_c_compiler()
    if compiler is None:
        warnings.warn(
            f"compile_c({name}): no C compiler found ($CC, cc, gcc or clang); running the "
            "Python backend (adgraph.jit of adgraph.vmap) instead. Install a C compiler for "
            "native speed",
            CCompilerWarning,
            stacklevel=2,
        )
        return CFallbackFunction(name, sig, bound, kernel, graph.out_tree)
    flags = compiler_flags(fast_math, extra_flags)
    if kernel.split:  # a very large program: see adgraph.jit.c.lower.SPLIT_STATEMENTS
        flags = ["-O1" if f == "-O2" else f for f in flags]
    elif kernel.source.count("for (") > 1:  # loops inside the loop over points
        flags = flags[:1] + loop_flags(compiler) + flags[1:]
    lib, so = load_library(kernel, compiler, flags)
    fn = kernel_function(lib, kernel)
    return CFunction(name, sig, kernel, graph, fn, so, graph.out_tree, threads)
