r"""The C backend: graphs of scalars and small fixed-size arrays compiled to native code.

``compile_c(f, *example_args)`` traces ``f`` -- which may itself be a derivative program
such as ``ad.grad(psi)`` or ``ad.jacfwd(stress)`` -- into the graph IR, simplifies it, and
**scalarizes** it: every node of shape ``()`` or a small fixed shape becomes one C scalar
variable per element, so the whole program is straight-line C code over scalars. That code
is wrapped in a loop over a leading batch axis::

    void f(long n, const long* in_strides,
           const double* in0, const double* in1, ...,   /* (n, *leaf_shape), C order */
           double* out0, ...)                            /* (n, *out_shape),  C order */

compiled with the system C compiler, loaded with :mod:`ctypes` and called with NumPy
arrays: a material law's stress and tangent over a million points is one C call (split
over threads for large batches). ``in_strides[k]`` is the number of elements between
consecutive points of input ``k`` -- its per-point size, or 0 for an input shared by
every point.

Scalarization
-------------
Each node's value is held, while lowering, as an object array of its shape whose elements
are C scalar variables or literal constants. Operations that only move data (reshape,
transpose, broadcasting, basic and constant-index ``getitem``, slices, padding, diagonals,
concatenation, splitting) cost nothing: they rearrange that array. Elementwise operations
emit one C statement per element, with NumPy's type promotion (``ufunc.resolve_dtypes``)
and NumPy's semantics (``maximum`` propagates nan, ``sign``, ``logaddexp``, ``mod`` and
``floor_divide`` follow NumPy's formulas). Reductions, ``matmul`` and ``einsum`` become sums
of products; ``det``, ``slogdet``, ``inv`` and ``solve`` call small LU routines (partial
pivoting, as LAPACK) on local arrays. Elements that are constants are folded with NumPy
itself; ``x + 0``, ``x * 1`` and ``x / 1`` are dropped; equal statements are computed once
and unused ones are removed. ``0 * x`` is *kept* (it is nan for infinite ``x``) unless
``assume_finite=True``.

The C code keeps IEEE semantics: it is compiled without ``-ffast-math`` and with
``-ffp-contract=off`` (no fused multiply-adds), so results match NumPy's to rounding
(math-library functions may differ from NumPy's own in the last bit).

Compiled libraries are kept between processes in a private cache folder (see
:func:`cache_dir`): created 0700, refused when someone else owns it or may write it, each
library checked against the SHA-256 recorded when it was built before it is loaded (a
mismatch is rebuilt), and trimmed to the most recently used
:data:`~adgraph.jit.c.cache.CACHE_MAX_LIBRARIES` libraries and
:data:`~adgraph.jit.c.cache.CACHE_MAX_BYTES` bytes.

Without a C compiler, :func:`compile_c` warns (:class:`CCompilerWarning`) and returns a
function with the same calling convention and results that runs the Python backend (what
``adgraph.jit`` runs; through ``adgraph.vmap`` for batches) instead.

Modules, in the order a program passes through them
---------------------------------------------------
:mod:`~adgraph.jit.c.frontend`
    :func:`compile_c` and :func:`c_source`: trace one point, simplify, then the stages below.
:mod:`~adgraph.jit.c.lower`
    the graph becomes a :class:`CKernel` (C source): scalarization, dead-code elimination,
    the C function around the statements; the C helpers come from ``helpers.c``.
:mod:`~adgraph.jit.c.rules`
    the per-primitive C rules and the elementwise C templates (one table each);
    :mod:`~adgraph.jit.c.symbolic` runs other primitives' implementations symbolically.
:mod:`~adgraph.jit.c.scalars`
    C types, elements (variables and literals) and statements.
:mod:`~adgraph.jit.c.toolchain`
    compiler discovery, flags, one build.
:mod:`~adgraph.jit.c.cache`
    the per-user library cache: folder, integrity checks, eviction, loading.
:mod:`~adgraph.jit.c.runtime`
    :class:`CFunction` (calls, batches, threads) and :class:`CFallbackFunction`.

``adgraph.jit.cbackend`` is this package's public names under their first module path.
"""

from __future__ import annotations

from .cache import cache_dir
from .errors import CBackendError, CCacheWarning, CCompileError, CCompilerWarning
from .frontend import c_source, compile_c
from .lower import MAX_NODE_SIZE, MAX_STATEMENTS, CKernel, lower_to_c
from .runtime import CFallbackFunction, CFunction
from .toolchain import find_c_compiler

__all__ = [
    "compile_c",
    "c_source",
    "CFunction",
    "CFallbackFunction",
    "CKernel",
    "lower_to_c",
    "find_c_compiler",
    "CBackendError",
    "CCompileError",
    "CCompilerWarning",
    "CCacheWarning",
    "cache_dir",
    "MAX_NODE_SIZE",
    "MAX_STATEMENTS",
]
