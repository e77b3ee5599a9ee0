"""Calling compiled kernels: argument checking, batches, threads, and the Python fallback.

A :class:`CFunction` calls the kernel's C function on one point or on a batch (a leading
axis on some or all arguments), split over threads for large batches. Without a C compiler,
:class:`CFallbackFunction` gives the same results with the Python backend: the function
traced (through ``adgraph.vmap`` for a batch), simplified and compiled to Python once per
signature (:mod:`adgraph.jit.program`), as ``adgraph.jit`` does.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ...api import vmap
from ...core.pytree import tree_flatten, tree_unflatten
from ...core.xp import as_leaf
from ..codegen import GUARD_FAILED
from ..program import compile_function, signature

if TYPE_CHECKING:
    from ...core.pytree import PyTreeDef
    from ...graph.ir import Graph
    from .lower import CKernel

__all__ = ["CFunction", "CFallbackFunction", "Signature", "kernel_function"]


def kernel_function(lib: ctypes.CDLL, kernel: CKernel) -> Callable[..., None]:
    """The C function of ``kernel`` in the loaded library ``lib``, typed for ctypes:
    ``(long n, const long* in_strides, inputs..., outputs...)``."""
    fn = getattr(lib, kernel.name)
    nio = len(kernel.in_shapes) + len(kernel.out_shapes)
    fn.argtypes = [ctypes.c_long, ctypes.c_void_p] + [ctypes.c_void_p] * nio
    fn.restype = None
    return fn


def _threads_default():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_POOL = None
_POOL_SIZE = 0
#: Fewest points a thread is given (smaller batches run on fewer threads).
_MIN_PER_THREAD = 16384
#: Python programs a fallback keeps (one per batched pattern and signature), as jit's cache.
_MAX_PROGRAMS = 64


_pool_lock = threading.Lock()


def _pool(n):
    global _POOL, _POOL_SIZE
    from concurrent.futures import ThreadPoolExecutor

    with _pool_lock:
        if _POOL is None or _POOL_SIZE < n:
            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="adgraph-c")
            _POOL_SIZE = n
        return _POOL


class Signature:
    """Flattening and checking of the arguments of a compiled function."""

    def __init__(self, fun_name, in_tree, shapes, dtypes, static, nargs):
        self.fun_name = fun_name
        self.in_tree = in_tree
        self.shapes = shapes
        self.dtypes = dtypes
        self.static = static
        self.nargs = nargs

    def flatten(self, args):
        """(leaves as arrays, batch size or None for an unbatched call, batched flags)."""
        if self.static:
            if len(args) == self.nargs:
                for i, v in self.static.items():
                    if not _same_static(args[i], v):
                        raise ValueError(
                            f"{self.fun_name}: static argument {i} differs from the one it was "
                            "compiled with; compile again for the new value"
                        )
                args = tuple(a for i, a in enumerate(args) if i not in self.static)
        leaves, tree = tree_flatten(args)
        if tree != self.in_tree:
            raise TypeError(
                f"{self.fun_name}: the arguments are structured as {tree!r}; it was compiled "
                f"for {self.in_tree!r}"
            )
        arrays, batched, n = [], [], None
        for k, (x, shape, dt) in enumerate(zip(leaves, self.shapes, self.dtypes, strict=True)):
            if type(x) in (bool, int, float):
                a = np.asarray(x, dtype=dt)
            else:
                a = np.asarray(x)
                if a.dtype != dt:
                    if not np.can_cast(a.dtype, dt, "safe"):
                        raise TypeError(
                            f"{self.fun_name}: argument {k} has dtype {a.dtype}; it was "
                            f"compiled for {dt} (compile again with an example of that dtype)"
                        )
                    a = a.astype(dt)
            if a.shape == shape:
                batched.append(False)
            elif a.shape[1:] == shape and a.ndim == len(shape) + 1:
                batched.append(True)
                if n is None:
                    n = a.shape[0]
                elif a.shape[0] != n:
                    raise ValueError(
                        f"{self.fun_name}: batched arguments have different leading sizes "
                        f"{n} and {a.shape[0]}"
                    )
            else:
                raise ValueError(
                    f"{self.fun_name}: argument {k} has shape {a.shape}; expected {shape} "
                    f"(one point) or (n,) + {shape} (a batch of n points)"
                )
            # (np.ascontiguousarray would turn a 0-d array into shape (1,))
            arrays.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        return arrays, n, batched


def _same_static(a, b):
    try:
        return bool(a == b) if not hasattr(a, "shape") else a is b
    except Exception:
        return a is b


_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def _address(a: np.ndarray) -> int:
    """The address of the data of the C-contiguous array ``a``. Through the buffer
    protocol where ``a`` is writable and not empty (about 0.4 us; ``__array_interface__``
    builds a dict, 1-3 us on the machine of the benchmarks, paid for each input and
    result of a one-point call)."""
    if a.flags.writeable and a.size:
        return _addressof(_char_from_buffer(a))  # type: ignore[arg-type]  # ndarray is a buffer
    return a.__array_interface__["data"][0]


class _PointBuffers:
    """Per-thread buffers for one-point calls of a compiled kernel (``call_flat``): one
    for each input (used for scalars) and each output, and the argument addresses."""

    __slots__ = ("ins", "outs", "array_outs", "args", "n_in", "zero", "keep")

    def __init__(self, kernel):
        self.ins = [np.empty(s, dtype=d) for s, d in zip(kernel.in_shapes, kernel.in_dtypes)]
        self.outs = [np.empty(s, dtype=d) for s, d in zip(kernel.out_shapes, kernel.out_dtypes)]
        self.array_outs = [(k, o) for k, o in enumerate(self.outs) if o.ndim]
        self.n_in = len(self.ins)
        self.args = [a.__array_interface__["data"][0] for a in self.ins + self.outs]
        n = max(self.n_in, 1)
        self.zero = (ctypes.c_long * n)(*([0] * n))
        self.keep = None


class CFunction:
    """A function compiled to C by :func:`compile_c`.

    Call it with the arguments of one point (shapes of the examples: the result is one
    point's) or with a leading batch axis of size ``n`` on some or all of them (the
    others are shared by every point): the results then have a leading axis ``n``.
    ``threads`` (call keyword) splits large batches over threads (default: every core
    for batches of at least 16384 points per thread; 1 disables). ``out`` (call keyword):
    preallocated result arrays (a pytree like the result), filled in place and returned --
    repeated calls then skip allocating (and first touching) the result memory.

    Attributes: ``source`` (the C code), ``kernel`` (:class:`CKernel`), ``graph`` (the
    simplified graph IR), ``library`` (the path of the shared object).
    """

    backend = "c"

    def __init__(
        self,
        fun_name: str,
        sig: Signature,
        kernel: CKernel,
        graph: Graph,
        fn: Callable[..., None],
        library: str,
        out_tree: PyTreeDef,
        threads: int | None,
    ) -> None:
        self.__name__ = fun_name
        self._sig = sig
        self.kernel = kernel
        self.graph = graph
        self._fn = fn
        self.library = library
        self._out_tree = out_tree
        self.threads = threads
        self._out_sizes = [int(np.prod(s, dtype=np.int64)) if s else 1 for s in kernel.out_shapes]
        self._in_sizes = [int(np.prod(s, dtype=np.int64)) if s else 1 for s in kernel.in_shapes]
        self._local = threading.local()  # per-thread buffers of call_flat

    @property
    def source(self) -> str:
        return self.kernel.source

    def call_flat(self, leaves):
        """One point, the flat leaves already of the compiled shapes and dtypes (``jit``
        checks its signature first): the flat list of results, with little Python work.

        Scalars (Python or NumPy numbers) are written into buffers kept per thread, and
        0-d results are read from such buffers (as new NumPy scalars); arrays are passed
        by address and array results are new arrays."""
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = _PointBuffers(self.kernel)
        ptrs = list(bufs.args)
        i = 0
        for x in leaves:
            if type(x) is np.ndarray:
                if not x.flags.c_contiguous:
                    x = np.ascontiguousarray(x)
                    bufs.keep = x  # alive through the call
                if x.ndim:
                    ptrs[i] = _address(x)
                else:
                    bufs.ins[i][()] = x
            else:
                bufs.ins[i][()] = x
            i += 1
        fresh = []
        for k, o in bufs.array_outs:
            o = np.empty(o.shape, dtype=o.dtype)
            ptrs[bufs.n_in + k] = _address(o)
            fresh.append((k, o))
        self._fn(1, bufs.zero, *ptrs)
        bufs.keep = None
        outs = [o[()] for o in bufs.outs]
        for k, o in fresh:
            outs[k] = o
        return outs

    def __call__(self, *args, threads=None, out=None):
        arrays, n, batched = self._sig.flatten(args)
        k = self.kernel
        m = 1 if n is None else n
        if out is None:
            outs = [
                np.empty((m,) + s, dtype=dt)
                for s, dt in zip(k.out_shapes, k.out_dtypes, strict=True)
            ]
        else:
            outs = self._check_out(out, n)
        strides = [sz if b else 0 for sz, b in zip(self._in_sizes, batched, strict=True)]
        threads = self.threads if threads is None else threads
        if threads is None:
            threads = _threads_default()
        threads = max(1, min(int(threads), m // _MIN_PER_THREAD))
        st = (ctypes.c_long * max(len(strides), 1))(*strides)
        if threads == 1:
            self._fn(m, st, *[a.ctypes.data for a in arrays], *[o.ctypes.data for o in outs])
        else:
            bounds = np.linspace(0, m, threads + 1).astype(np.int64)
            in_bytes = [s * a.itemsize for s, a in zip(strides, arrays, strict=True)]
            out_bytes = [sz * o.itemsize for sz, o in zip(self._out_sizes, outs, strict=True)]
            ins = [a.ctypes.data for a in arrays]
            ops = [o.ctypes.data for o in outs]

            def run(lo, hi):
                self._fn(
                    int(hi - lo),
                    st,
                    *[p + int(lo) * b for p, b in zip(ins, in_bytes, strict=True)],
                    *[p + int(lo) * b for p, b in zip(ops, out_bytes, strict=True)],
                )

            futs = [_pool(threads).submit(run, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
            for f in futs:
                f.result()
        if out is not None:
            return out
        if n is None:
            outs = [o[0] for o in outs]
        return tree_unflatten(self._out_tree, outs)

    def _check_out(self, out, n):
        """The buffers of ``out=`` (a pytree like the result), viewed as (n, *shape)."""
        leaves, tree = tree_flatten(out)
        if tree != self._out_tree:
            raise TypeError(
                f"{self.__name__}: out= must be structured like the result ({self._out_tree!r}), "
                f"got {tree!r}"
            )
        views = []
        k = self.kernel
        for j, (o, s, dt) in enumerate(zip(leaves, k.out_shapes, k.out_dtypes, strict=True)):
            want = s if n is None else (n,) + s
            if (
                not isinstance(o, np.ndarray)
                or o.shape != want
                or o.dtype != dt
                or not o.flags.c_contiguous
                or not o.flags.writeable
            ):
                raise ValueError(
                    f"{self.__name__}: out= result {j} must be a writeable C-contiguous "
                    f"{dt} array of shape {want}"
                )
            views.append(o.reshape((1,) + s) if n is None else o)
        return views

    def __repr__(self):
        return f"<CFunction {self.__name__}: {self.kernel.n_statements} C statements>"


class CFallbackFunction:
    """What :func:`compile_c` returns without a C compiler: the same calling convention
    and the same results (shapes, dtypes, NumPy scalars for one point's 0-d results), run
    by the Python backend: the function compiled as ``adgraph.jit`` compiles it for one
    point, and ``adgraph.vmap`` of it for a batch."""

    backend = "python"
    source = None
    library = None

    def __init__(self, fun_name, sig, fun, kernel, out_tree):
        self.__name__ = fun_name
        self._sig = sig
        self._fun = fun
        self.kernel = kernel
        self._out_tree = out_tree
        # (batched flags or None for one point, leaf signature) -> its Python program
        self._programs: OrderedDict = OrderedDict()

    def _run(self, batched, leaves):
        """The flat results of the Python program for one point (``batched`` None) or a
        batch with these batched flags: traced on the first call of each signature, and
        again when a branch it baked in does not hold (as ``adgraph.jit`` does)."""
        leaves = [as_leaf(x, "compile_c") for x in leaves]
        key = (None if batched is None else tuple(batched), signature(leaves))
        comp = self._programs.get(key)
        if comp is not None:
            self._programs.move_to_end(key)
            out = comp.fn(*leaves)
            if out is not GUARD_FAILED:
                return out
        tree, fun = self._sig.in_tree, self._fun

        def flat(*ls):
            return fun(*tree_unflatten(tree, list(ls)))

        if batched is not None:
            flat = vmap(flat, in_axes=tuple(0 if b else None for b in batched))
        comp = compile_function(flat, leaves, tree_flatten(tuple(leaves))[1])
        if not comp.closures:
            self._programs[key] = comp
            while len(self._programs) > _MAX_PROGRAMS:
                self._programs.popitem(last=False)
        return comp.fn(*leaves, *comp.closures)

    def _results(self, flat, n):
        """The flat results as the C version gives them: the kernel's dtypes, shape
        ``(n, *shape)`` for a batch, NumPy scalars for one point's 0-d results."""
        k = self.kernel
        outs = []
        for o, shape, dt in zip(flat, k.out_shapes, k.out_dtypes, strict=True):
            want = shape if n is None else (n,) + shape
            a = np.asarray(o, dtype=dt)
            if a.shape != want:  # an output that does not depend on the batched inputs
                a = np.array(np.broadcast_to(a, want))
            outs.append(a[()] if a.ndim == 0 else a)
        return outs

    def call_flat(self, leaves):
        """One point, flat leaves of the compiled shapes and dtypes (as
        :meth:`CFunction.call_flat`): the flat list of results."""
        return self._results(self._run(None, leaves), None)

    def __call__(self, *args, threads=None, out=None):
        arrays, n, batched = self._sig.flatten(args)
        outs = self._results(self._run(batched if n is not None else None, arrays), n)
        if out is None:
            return tree_unflatten(self._out_tree, outs)
        for dst, src in zip(tree_flatten(out)[0], outs, strict=True):
            np.copyto(dst, src)
        return out

    def __repr__(self):
        return f"<CFallbackFunction {self.__name__} (Python backend: no C compiler)>"
