r"""Multi-threaded NumPy kernels for the array hot paths: matrix-vector products and fused
elementwise expressions.

NumPy runs its ufuncs and einsum on one thread; BLAS threads its matrix products, but the
matrix-vector products of OpenBLAS (``gemv``) reach a fraction of the memory bandwidth on
tall matrices (``X @ w`` and ``X.T @ g`` with ``X`` of 200000 x 100 run at a third of the
speed of NumPy's own ``einsum`` loop over the same rows). Here:

* :func:`matvec` (``A @ x``) and :func:`vecmat` (``v @ A``) for a 2-D NumPy array ``A`` run
  NumPy's ``einsum`` on blocks of ``A``'s rows, one block per thread (einsum releases the
  GIL). ``A @ x`` writes each block's rows of the result; ``v @ A`` sums one partial
  vector per block. Results equal ``numpy.matmul``'s to rounding (another order of the
  same sums).
* :func:`evaluate` computes an elementwise expression in one multi-threaded pass with
  NumExpr where it is installed (``pip install adgraph[fast]``), else returns None and the
  caller runs its NumPy code.

Both act only from :data:`PARALLEL_MIN_SIZE` elements: below it, starting threads costs
more than it saves and the callers' plain NumPy code runs. The thread count is
:data:`workers` (None: every core this process may run on; set it with
:func:`adgraph.backends.set_threads`). Invariant: every function here returns either the
exact NumPy result (to rounding) or None, never a partial answer; arrays it is given are
never written.
"""

from __future__ import annotations

import importlib
import os
import threading

import numpy as _np

__all__ = ["matmul", "matvec", "vecmat", "evaluate", "workers", "PARALLEL_MIN_SIZE", "numexpr"]

#: Threads for the kernels here: None (every core this process may run on) or a positive
#: count (1: never start a thread).
workers: int | None = None

#: Smallest array (elements of the matrix, or of an elementwise expression's result) the
#: kernels here act on; smaller ones stay on the callers' plain NumPy path.
PARALLEL_MIN_SIZE = 1 << 17

# Rows per einsum block are at least this many elements of the matrix, so a thread's share
# is worth its start even on many cores.
_MIN_BLOCK = 1 << 15

# Only tall matrices (rows at least this many times the columns): there einsum's loop over
# rows beats BLAS's matrix-vector product; on square and wide matrices BLAS is as fast.
_TALL = 8

_FLOATS = frozenset("fdFD")  # float32, float64, complex64, complex128

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()

_NUMEXPR_UNSET = object()
_numexpr = _NUMEXPR_UNSET  # the numexpr module, None when it does not import


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def threads() -> int:
    """The thread count the kernels here use now."""
    return _cores() if workers is None else workers


def _executor(n):
    """A thread pool of ``n`` threads (made once, remade if the count changes)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != n:
            from concurrent.futures import ThreadPoolExecutor

            old = _pool
            _pool = ThreadPoolExecutor(n, thread_name_prefix="adgraph")
            _pool_size = n
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def _cuts(rows, cols, n):
    """Row boundaries of at most ``n`` blocks of at least ``_MIN_BLOCK`` elements."""
    k = max(1, min(n, (rows * cols) // _MIN_BLOCK, rows))
    return [rows * i // k for i in range(k + 1)]


def _plain(a, vec):
    """``a`` (2-D) and ``vec`` (1-D) plain NumPy arrays of one floating dtype, large enough,
    ``a`` C-contiguous (its rows are what the blocks split)."""
    return (
        type(a) is _np.ndarray
        and type(vec) is _np.ndarray
        and a.ndim == 2
        and vec.ndim == 1
        and a.dtype == vec.dtype
        and a.dtype.char in _FLOATS
        and a.size >= PARALLEL_MIN_SIZE
    )


def matvec(a, x):
    """``a @ x`` for a 2-D ``a`` and a 1-D ``x`` by threads over ``a``'s rows, or None where
    this does not apply (small, other types or dtypes, or an ``a`` whose rows or columns
    are not contiguous)."""
    if not _plain(a, x) or a.shape[1] != x.shape[0]:
        return None
    if not a.flags.c_contiguous:
        if a.T.flags.c_contiguous:  # a = b.T with b C-contiguous: a @ x = x @ b
            return vecmat(x, a.T)
        return None
    rows, cols = a.shape
    if rows < _TALL * cols:
        return None
    out = _np.empty(rows, a.dtype)
    cuts = _cuts(rows, cols, threads())
    if len(cuts) == 2:
        return _np.einsum("ij,j->i", a, x, out=out)
    pool = _executor(len(cuts) - 1)
    jobs = [
        pool.submit(_np.einsum, "ij,j->i", a[lo:hi], x, out=out[lo:hi])
        for lo, hi in zip(cuts[:-1], cuts[1:])
    ]
    for j in jobs:
        j.result()
    return out


def vecmat(v, a):
    """``v @ a`` for a 1-D ``v`` and a 2-D ``a`` by threads over ``a``'s rows (one partial
    sum per thread, added at the end), or None where this does not apply."""
    if not _plain(a, v) or a.shape[0] != v.shape[0]:
        return None
    if not a.flags.c_contiguous:
        if a.T.flags.c_contiguous:  # a = b.T: v @ a = b @ v
            return matvec(a.T, v)
        return None
    rows, cols = a.shape
    if rows < _TALL * cols:
        return None
    cuts = _cuts(rows, cols, threads())
    if len(cuts) == 2:
        return _np.einsum("ij,i->j", a, v)
    pool = _executor(len(cuts) - 1)
    jobs = [
        pool.submit(_np.einsum, "ij,i->j", a[lo:hi], v[lo:hi])
        for lo, hi in zip(cuts[:-1], cuts[1:])
    ]
    out = jobs[0].result()
    for j in jobs[1:]:
        out += j.result()
    return out


def matmul(x, y):
    """``x @ y`` for plain NumPy operands where one is a vector (1-D, or a 2-D matrix of one
    row on the left or one column on the right) and the other a tall matrix, by
    :func:`matvec` or :func:`vecmat`; None otherwise."""
    xn, yn = x.ndim, y.ndim
    if xn == 2 and yn == 1:
        return matvec(x, y)
    if xn == 1 and yn == 2:
        return vecmat(x, y)
    if xn == 2 and yn == 2:
        if y.shape[1] == 1 and (out := matvec(x, y[:, 0])) is not None:
            return out[:, None]
        if x.shape[0] == 1 and (out := vecmat(x[0], y)) is not None:
            return out[None]
    return None


# ------------------------------------------------------------------ fused elementwise
def numexpr():
    """The numexpr module, or None where it is not installed (imported once, lazily)."""
    global _numexpr
    if _numexpr is _NUMEXPR_UNSET:
        try:
            _numexpr = importlib.import_module("numexpr")
        except ImportError:
            _numexpr = None
    return _numexpr


def use_numexpr(flag: bool | None) -> None:
    """Use NumExpr for fused elementwise work (True: it must import, else ImportError naming
    the extra), never (False), or where installed (None, the default)."""
    global _numexpr
    if flag is None:
        _numexpr = _NUMEXPR_UNSET
    elif flag:
        try:
            _numexpr = importlib.import_module("numexpr")
        except ImportError as e:
            raise ImportError(
                f"numexpr is not installed ({e}); pip install numexpr "
                "(or pip install adgraph[fast])"
            ) from e
    else:
        _numexpr = None


_compiled: dict = {}


def evaluate(expr: str, names: tuple, args: tuple, size: int):
    """``expr`` (NumExpr syntax) on the arrays ``args`` named ``names`` in one threaded
    pass, or None where NumExpr is not installed, the result has fewer than
    :data:`PARALLEL_MIN_SIZE` elements (``size``) or only one thread is allowed: the
    caller then runs its NumPy code, which defines the result."""
    if size < PARALLEL_MIN_SIZE:
        return None
    ne = numexpr()
    n = threads()
    if ne is None or n < 2:
        return None
    if ne.get_num_threads() != n:
        ne.set_num_threads(n)
    return ne.evaluate(expr, local_dict=dict(zip(names, args)), global_dict={})
