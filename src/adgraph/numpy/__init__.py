"""adgraph.numpy: a drop-in for ``numpy`` inside functions you differentiate.

Every function here accepts NumPy arrays, Python scalars and traced values alike; on
untraced inputs it costs one check more than the NumPy call it wraps. Submodules
``adgraph.numpy.linalg`` and ``adgraph.numpy.fft`` mirror NumPy's; ``adgraph.numpy.random``
is NumPy's own (samples are constants). ``docs/numpy_status.md`` lists every NumPy name
with its status here.

Dtypes, constants and the other non-numerical names (``float32``, ``pi``, ``newaxis``,
``finfo``, ...) are NumPy's own, re-exported.
"""

from __future__ import annotations

import numpy as _np

from .. import ops as _ops  # noqa: F401  (registers primitives, installs operators)
from ..ops._util import shape as _shape_of  # noqa: F401
from ..ops.arrayfuncs import *  # noqa: F401,F403
from ..ops.construct import *  # noqa: F401,F403
from ..ops.creation import *  # noqa: F401,F403
from ..ops.elementwise import *  # noqa: F401,F403
from ..ops.histograms import *  # noqa: F401,F403
from ..ops.indexing import *  # noqa: F401,F403
from ..ops.indexing import at as _at  # noqa: F401
from ..ops.joining import *  # noqa: F401,F403
from ..ops.mathfuncs import *  # noqa: F401,F403
from ..ops.misc import *  # noqa: F401,F403
from ..ops.numerical import *  # noqa: F401,F403
from ..ops.polynomial import *  # noqa: F401,F403
from ..ops.products import *  # noqa: F401,F403
from ..ops.reductions import *  # noqa: F401,F403
from ..ops.searching import *  # noqa: F401,F403
from ..ops.setops import *  # noqa: F401,F403
from ..ops.shapes import *  # noqa: F401,F403
from ..ops.statistics import *  # noqa: F401,F403
from ..ops.ufuncs import install as _install_ufunc_methods
from ..ops.windows import *  # noqa: F401,F403

# Dtypes, constants and helpers that carry no numbers to differentiate.
_REEXPORT = [
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool_",
    "intp",
    "dtype",
    "finfo",
    "iinfo",
    "result_type",
    "promote_types",
    "can_cast",
    "issubdtype",
    "floating",
    "complexfloating",
    "integer",
    "signedinteger",
    "unsignedinteger",
    "inexact",
    "number",
    "generic",
    "ndarray",
    "pi",
    "e",
    "inf",
    "nan",
    "newaxis",
    "euler_gamma",
    # scalar types and dtype tables
    "False_", "True_", "ScalarType", "byte", "bytes_", "cdouble", "character", "clongdouble",
    "csingle", "double", "flexible", "half", "int_", "intc", "long", "longdouble", "longlong",
    "object_", "short", "single", "str_", "ubyte", "uint", "uintc", "uintp", "ulong",
    "ulonglong", "ushort", "void", "sctypeDict", "typecodes", "little_endian", "dtypes",
    "exceptions", "ufunc",
    # dtype and shape helpers (no array values involved)
    "broadcast_shapes", "common_type", "min_scalar_type", "mintypecode", "typename",
    "isdtype", "iterable",
    # NumPy's floating-point error handling, which adgraph's computations follow
    "errstate", "seterr", "geterr", "seterrcall", "geterrcall",
    # index objects and grids of constants
    "ndindex", "s_", "index_exp", "mgrid", "ogrid",
    # arrays of constants from Python data or buffers
    "frombuffer", "fromiter", "fromstring", "from_dlpack",
    # string and record arrays: NumPy's own (no numbers to differentiate)
    "char", "strings", "rec", "recarray", "record",
]  # fmt: skip
# Extended precision exists on some platforms only.
_REEXPORT += [n for n in ("float96", "float128", "complex192", "complex256") if hasattr(_np, n)]
for _name in _REEXPORT:
    globals()[_name] = getattr(_np, _name)
__version__ = _np.__version__  # NumPy's: code checks it to choose NumPy 1 or 2 behaviour
float_ = _np.float64
complex_ = _np.complex128
bool = _np.bool_  # noqa: A001  (as numpy.bool)


def shape(a):
    """The shape of ``a`` (array, traced value or nested sequence)."""
    return _shape_of(a)


def ndim(a):
    """The number of dimensions of ``a``."""
    return len(_shape_of(a))


def size(a, axis=None):
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = _shape_of(a)
    if axis is not None:
        return s[axis]
    n = 1
    for d in s:
        n *= d
    return n


def isscalar(element):
    """True for Python and NumPy scalars (not for arrays, traced or not)."""
    return _np.isscalar(element)


from . import emath, fft, linalg, random  # noqa: E402,F401

_install_ufunc_methods()  # add.outer, maximum.accumulate, logaddexp.reduce, add.at ...

del _name
