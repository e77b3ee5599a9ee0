"""Buffers kept across calls of a compiled program.

A program that allocates its intermediate arrays afresh on every call pays for it: large
blocks come from the operating system unmapped, and every call faults them in again, a
page at a time. A compiled NumPy program therefore writes the intermediates it can into
*buffers* allocated on its first call and kept with the program: elementwise operations
with ``out=``, matrix products with ``out=``, Fourier transforms into ``out=`` where the
FFT library in use takes one (ducc0, ``numpy.fft``; ``scipy.fft`` returns a new array).

:func:`plan` assigns the buffers, one *slot* per array of a given shape and dtype that is
alive at once (a liveness analysis over the program's order):

* a value's slot is busy from the operation that writes it until the last use of the
  value *or of any view of it* (an operation outside the set of those known to return a
  new array -- ``reshape``, ``transpose``, indexing, a call of another program -- may
  return a view of its arguments, so its result counts as one);
* an elementwise operation may write into the slot of an argument that dies there (the
  same elements are read and written at the same place: NumPy's ufuncs give the same
  result, and take a copy themselves where a view overlaps differently); any other
  operation writes into a slot none of its arguments is using;
* no value the program returns, nor any view of it, lives in a slot: the caller owns its
  results, and a later call never writes into them;
* a value written into the memory of a dying argument (as the program without buffers
  writes it) is that argument's memory: a view of it, for the rules above.

Only the program's own graph takes buffers, not the steps of its loops (their values are
traced on examples whose layouts need not be those they run on), and only values that the
program without buffers lays out in C order -- :func:`adgraph.jit.codegen.generate` runs
it once to record that, since a ufunc lays out its result as its operands are, and the
layout decides the order in which later sums and products add. Written into a buffer, an
operation then computes the same values as into a new array, bit for bit.

The generated function takes its set of buffers from a pool of the program at the start
of a call and puts it back at the end; a call that finds the pool empty (the same program
running on another thread, or recursively inside itself) allocates a set of its own. So
concurrent and nested calls never share buffers.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from ..graph.ir import Node

__all__ = [
    "MIN_BYTES",
    "MAX_BYTES",
    "MAX_TOTAL_BYTES",
    "Pool",
    "plan",
    "fft_into",
    "new_buffers",
    "nbytes",
    "held",
]

#: Arrays smaller than this many bytes are allocated afresh (NumPy and the C allocator
#: serve small blocks from memory they keep; a buffer would only hold memory).
MIN_BYTES = 8192

#: The most memory one compiled program keeps in buffers between calls (its loop steps
#: included). Beyond it the largest slots are left out: their values are allocated afresh,
#: so a program on large arrays holds little more than its results between calls.
MAX_BYTES = 16 << 20

#: The most memory all compiled programs together keep in buffers between calls. A
#: program whose first set of buffers would pass it keeps none (each call allocates its
#: own, as with ``keep_buffers=False``) until others are dropped from their caches.
MAX_TOTAL_BYTES = 256 << 20

_lock = threading.Lock()
_held = [0]  # bytes kept by the pools of live programs

#: Primitives whose result is always a new array (never a view of an argument, nor an
#: argument itself) -- in addition to the ufuncs of :data:`adgraph.jit.codegen.UFUNCS`.
#: Any other primitive's result is taken to be a view of its arguments.
FRESH_OPS = frozenset(
    {
        "matmul", "integer_pow", "where", "reduce_sum", "reduce_max", "reduce_min", "conj",
        "fft", "rfft", "irfft", "fft_real", "concatenate",
    }
)  # fmt: skip

# elementwise primitives with a NumPy ufunc beyond codegen.UFUNCS (bound for NumPy only)
EXTRA_UFUNCS = {"conj": "conjugate"}


def slot_kind(node, ufuncs) -> str | None:
    """How ``node`` can write into a buffer: ``"ew"`` (an elementwise ufunc: it may write
    into the buffer of an argument that dies there), ``"op"`` (into a buffer none of its
    arguments uses), or None (it allocates its result itself)."""
    shape, dt = node.shape, node.dtype
    if node.prim is None or node.prim.multiple_results or not isinstance(dt, np.dtype):
        return None
    if not isinstance(shape, tuple) or not shape or dt.hasobject:
        return None
    if int(np.prod(shape)) * dt.itemsize < MIN_BYTES:
        return None
    op = node.op
    ins = node.inputs
    if (op in ufuncs or op in EXTRA_UFUNCS) and not node.params and len(ins) <= 2:
        return "ew"
    if op == "integer_pow" and node.params.get("n") == 2:
        return "ew"
    if op == "matmul" and len(ins) == 2:
        a, b = (tuple(x.shape or ()) for x in ins)
        # (a matrix times a vector takes adgraph's threaded path: see ops/_parallel)
        if len(a) >= 2 and len(b) >= 2 and not (len(a) == 2 and (a[0] == 1 or b[-1] == 1)):
            return "op"
        return None
    if op == "diag_matmul":  # a scaling of rows or columns (adgraph.jit.diagonal)
        return "op"
    if op == "fused_elementwise":  # a chain in one loop (adgraph.jit.fusion)
        return "op"
    if op == "fft" and len(ins) == 1 and _fft_fits(node):
        return "op"
    return None


def _fft_fits(node) -> bool:
    """A complex-to-complex transform :func:`fft_into` can write into a buffer: no
    resizing, an input of a precision the FFT libraries transform as it is."""
    x = node.inputs[0]
    p = node.params
    xs = tuple(x.shape or ())
    if x.dtype is None or np.dtype(x.dtype).char not in "fdFD":
        return False
    if any(xs[a] != n for a, n in zip(p["axes"], p["sizes"])):
        return False
    return np.dtype(node.dtype) == np.result_type(x.dtype, np.complex64)


def plan(order, last, keep, kinds, fresh=frozenset(), budget=None, written=None):
    """Slots for the values of ``order``.

    Parameters
    ----------
    order : list of Node
        The operations in the order the code runs them.
    last : dict
        Node -> position in ``order`` of its last use.
    keep : set
        Values that leave the code (results, a loop step's carries): neither they nor any
        view of them may live in a slot.
    kinds : dict
        Node -> :func:`slot_kind` of the nodes that may take a slot.
    fresh : set of str
        Further primitives whose result is always a new array (the ufuncs).
    budget : int, optional
        The most bytes the slots may take (default :data:`MAX_BYTES`): beyond it the
        largest slots are dropped, and their values allocated afresh.
    written : dict, optional
        Node -> the argument whose buffer the code writes it into (it is that argument's
        memory).

    Returns
    -------
    (dict, list)
        Node -> slot index, and ``(shape, dtype)`` of each slot.
    """
    pos = {n: k for k, n in enumerate(order)}

    def alias_sets(cands):
        # the slotted values each value may be (or be a view of)
        al: dict = {}
        for n in order:
            if n in cands:
                al[n] = frozenset((n,))
            elif written and n in written:
                al[n] = al.get(written[n], frozenset())
            elif n.op in FRESH_OPS or n.op in fresh:
                al[n] = frozenset()
            else:
                s: frozenset = frozenset()
                for i in n.inputs:
                    if isinstance(i, Node) and i in al:
                        s |= al[i]
                al[n] = s
        return al

    cands = {n for n in kinds if n not in keep}  # (looked up, never iterated)
    al = alias_sets(cands)
    escaping = set()
    for k in keep:
        escaping |= al.get(k, frozenset())
    if escaping:
        cands -= escaping
        al = alias_sets(cands)
    if not cands:
        return {}, []
    # the position after which each candidate's slot is free again
    end = {c: pos[c] for c in cands}
    for n in order:
        for c in al[n]:
            end[c] = max(end[c], last.get(n, pos[n]))
    free: dict = {}  # (shape, dtype) -> free slots, the last freed last
    specs: list = []
    slot_of: dict = {}
    releases: dict = {}  # position -> candidates whose slots are free after it
    for c in order:  # (in program order: the same plan every time)
        if c in cands:
            releases.setdefault(end[c], []).append(c)
    for p, n in enumerate(order):
        if n in cands:
            key = (tuple(n.shape), np.dtype(n.dtype))
            s = None
            if kinds[n] == "ew":
                # in place: an argument that is exactly a slot's value and dies here
                for i in n.inputs:
                    if i in slot_of and end[i] == p and (tuple(i.shape), np.dtype(i.dtype)) == key:
                        s = slot_of[i]
                        break
            if s is None:
                stack = free.get(key)
                if stack:
                    s = stack.pop()
                else:
                    s = len(specs)
                    specs.append(key)
            slot_of[n] = s
        for c in releases.get(p, ()):
            s = slot_of[c]
            if c is n or slot_of.get(n) != s:  # (else n took the slot over, in place)
                free.setdefault(specs[s], []).append(s)
    limit = MAX_BYTES if budget is None else budget
    size = [int(np.prod(shape)) * dt.itemsize for shape, dt in specs]
    if sum(size) > limit:
        kept = set(range(len(specs)))
        for k in sorted(kept, key=lambda k: (-size[k], k)):
            if sum(size[j] for j in kept) <= limit:
                break
            kept.discard(k)
        renum = {k: j for j, k in enumerate(sorted(kept))}
        slot_of = {n: renum[s] for n, s in slot_of.items() if s in renum}
        specs = [specs[k] for k in sorted(kept)]
    return slot_of, specs


def nbytes(specs) -> int:
    """The bytes of a set of buffers of ``specs``."""
    return sum(int(np.prod(shape)) * dt.itemsize for shape, dt in specs)


class Pool(list):
    """The sets of buffers of one program that no call is using (at most one).

    ``keeps``: whether the program may keep a set between calls (its bytes are counted
    in :func:`held` until the program is dropped)."""

    __slots__ = ("keeps", "__weakref__")

    def __init__(self) -> None:
        super().__init__()
        self.keeps = False


def new_buffers(specs, pool=None):
    """One set of buffers: an empty array per slot. The first set of ``pool``'s program
    reserves its bytes, where :data:`MAX_TOTAL_BYTES` leaves room, so that the program
    keeps it."""
    bufs = [np.empty(shape, dtype) for shape, dtype in specs]
    if pool is not None and not pool.keeps:
        size = nbytes(specs)
        with _lock:
            if _held[0] + size <= MAX_TOTAL_BYTES:
                _held[0] += size
                pool.keeps = True
        if pool.keeps:
            weakref.finalize(pool, _release, size)
    return bufs


def _release(size):
    with _lock:
        _held[0] -= size


def held() -> int:
    """The bytes all live compiled programs keep in buffers between calls (reserved on
    their first call)."""
    return _held[0]


def fft_into(x, out, *, axes, sizes, norm, inverse):
    """The ``fft`` primitive's transform of the NumPy array ``x``, written into ``out``
    where the FFT library in use takes an output array: :func:`adgraph.ops.fft.c2c_into`,
    which follows the primitive's choice of library, threads and scaling."""
    from ..ops.fft import c2c_into

    return c2c_into(x, out, axes=axes, sizes=sizes, norm=norm, inverse=inverse)
