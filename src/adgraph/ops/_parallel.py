r"""Multi-threaded NumPy kernels for the array hot paths: matrix-vector products and
elementwise functions with transcendental parts.

NumPy runs its ufuncs and einsum on one thread; BLAS threads its matrix products, but the
matrix-vector products of OpenBLAS (``gemv``) reach a fraction of the memory bandwidth on
tall matrices (``X @ w`` and ``X.T @ g`` with ``X`` of 200000 x 100 take two to three
times as long as NumPy's own ``einsum`` loop over the same rows). Here:

* :func:`matvec` (``A @ x``) and :func:`vecmat` (``v @ A``) for a tall 2-D NumPy array
  ``A`` run NumPy's ``einsum`` on blocks of ``A``'s rows, one block per thread (einsum
  releases the GIL). ``A @ x`` writes each block's rows of the result; ``v @ A`` sums one
  partial vector per block. Results equal ``numpy.matmul``'s to rounding (another order of
  the same sums).
* :func:`elementwise` runs a kernel of NumPy ufuncs on blocks of its inputs, one block per
  thread. It pays for transcendental functions (tanh, exp, log1p, erfc: compute-bound),
  not for a few multiplications and additions, which are bound by memory bandwidth and
  gain nothing from a second core; callers use it for the former only.

Both act only from :data:`PARALLEL_MIN_SIZE` elements (the products from
:data:`MATVEC_MIN_BYTES` of matrix): below it, starting threads costs more than it saves
and the callers' plain NumPy code runs. The thread count is
:data:`workers` (None: every core this process may run on; set it with
:func:`adgraph.backends.set_threads`). Invariant: every function here returns either the
NumPy result (to rounding) or None, never a partial answer; arrays it is given are never
written.
"""

from __future__ import annotations

import os
import threading

import numpy as _np

__all__ = [
    "matmul",
    "matvec",
    "vecmat",
    "elementwise",
    "threads",
    "workers",
    "PARALLEL_MIN_SIZE",
    "MATVEC_MIN_BYTES",
]

#: Threads for the kernels here: None (every core this process may run on) or a positive
#: count (1: never start a thread).
workers: int | None = None

#: Smallest array (elements of the matrix, or of an elementwise expression's result) the
#: kernels here act on; smaller ones stay on the callers' plain NumPy path.
PARALLEL_MIN_SIZE = 1 << 17

#: Smallest matrix (bytes) the matrix-vector kernels act on. Measured on a 2-core machine
#: (32 MiB of L3 cache, shared): up to 8 MiB BLAS's gemv was up to 5x faster than einsum
#: blocks (the matrix stays in cache), from 16 MiB einsum blocks were 1.2-16x faster in
#: every shape tried (gemv then ran at a fifth of the memory bandwidth or less).
MATVEC_MIN_BYTES = 1 << 24

# Rows per einsum block are at least this many elements of the matrix, so a thread's share
# is worth its start even on many cores.
_MIN_BLOCK = 1 << 15

# Only tall matrices (rows at least this many times the columns): there einsum's loop over
# rows beats BLAS's matrix-vector product; on square and wide matrices BLAS is as fast.
_TALL = 8

# Rows per partial sum of v @ a (see _column_sums).
_SUM_ROWS = 4096

_FLOATS = frozenset("fdFD")  # float32, float64, complex64, complex128

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


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


def _forget_pool_in_child():
    # A forked child has none of the parent's threads (and perhaps a lock a parent thread
    # held): it makes a pool of its own on first use instead of queueing work for none.
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


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
        and a.nbytes >= MATVEC_MIN_BYTES
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


def _column_sums(a, v):
    """``v @ a`` as partial sums of at most ``_SUM_ROWS`` rows each, added up: einsum adds
    row after row into each column's sum, and shorter runs of additions keep its rounding
    error near BLAS's (float32 sums of 2**18 rows)."""
    rows = a.shape[0]
    out = _np.einsum("ij,i->j", a[:_SUM_ROWS], v[:_SUM_ROWS])
    for lo in range(_SUM_ROWS, rows, _SUM_ROWS):
        out += _np.einsum("ij,i->j", a[lo : lo + _SUM_ROWS], v[lo : lo + _SUM_ROWS])
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
        return _column_sums(a, v)
    pool = _executor(len(cuts) - 1)
    jobs = [pool.submit(_column_sums, a[lo:hi], v[lo:hi]) for lo, hi in zip(cuts[:-1], cuts[1:])]
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


# ------------------------------------------------------------------ elementwise
def elementwise(kernel, dtype, *arrays):
    """``kernel(*blocks, out)`` on blocks of the same-shape C-contiguous NumPy ``arrays``
    (flattened), one block per thread, into one new array of ``dtype``; None where this
    does not apply (not plain arrays of one shape, small, or one thread). ``kernel`` writes
    its whole block of ``out`` with NumPy ufuncs (which release the GIL) and computes each
    element from the same elements of the inputs only."""
    first = arrays[0]
    if type(first) is not _np.ndarray or first.size < PARALLEL_MIN_SIZE:
        return None
    for a in arrays:
        if type(a) is not _np.ndarray or a.shape != first.shape or not a.flags.c_contiguous:
            return None
    n = threads()
    size = first.size
    k = max(1, min(n, size // _MIN_BLOCK))
    if k < 2:
        return None
    out = _np.empty(first.shape, dtype)
    flat = [a.reshape(-1) for a in arrays]
    dest = out.reshape(-1)
    cuts = [size * i // k for i in range(k + 1)]
    pool = _executor(k - 1)
    jobs = [
        pool.submit(kernel, *(f[lo:hi] for f in flat), dest[lo:hi])
        for lo, hi in zip(cuts[1:-1], cuts[2:])
    ]
    kernel(*(f[: cuts[1]] for f in flat), dest[: cuts[1]])  # this thread takes the first
    for j in jobs:
        j.result()
    return out
