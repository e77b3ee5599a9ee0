r"""NumPy's array helpers: functional forms of the in-place writers (``fill_diagonal``,
``put``, ``put_along_axis``, ``place``, ``putmask``), ``resize``, the function appliers
(``apply_along_axis``, ``apply_over_axes``, ``fromfunction``, ``vectorize``), the index
helpers (``indices``, ``diag_indices``, ``tril_indices``/``triu_indices`` and their
``_from`` forms, ``mask_indices``, ``ravel_multi_index``, ``unravel_index``,
``ndenumerate``) and checks and conversions (``array_equiv``, ``asarray_chkfinite``,
``asfortranarray``, ``require``, ``isfortran``, ``may_share_memory``, ``shares_memory``,
``einsum_path``).

adgraph arrays are immutable, so the writers follow JAX: ``inplace=False`` returns the
written copy (differentiable in the array and in the written values, through
``.at[...].set``); on a plain NumPy array the default ``inplace=True`` writes in place as
NumPy does, and on a traced array it is refused with that fix. The appliers call the
function on slices (or elements) and stack the results, so they are differentiable
whenever the function is. Index helpers return integers: no derivative.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np  # index arithmetic on labels, dtype queries, NumPy's own helpers

from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, as_int, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray
from .indexing import at, getitem, take, take_along_axis
from .misc import astype

__all__ = [
    "fill_diagonal", "put", "put_along_axis", "place", "putmask", "copyto", "resize",
    "apply_along_axis", "apply_over_axes", "fromfunction", "vectorize",
    "indices", "diag_indices", "diag_indices_from", "tril_indices", "tril_indices_from",
    "triu_indices", "triu_indices_from", "mask_indices", "ravel_multi_index", "unravel_index",
    "ndenumerate", "array_equiv", "asarray_chkfinite", "asfortranarray", "require",
    "isfortran", "may_share_memory", "shares_memory", "einsum_path", "broadcast",
]  # fmt: skip


def _arr(x):
    return x if isinstance(x, Tracer) or hasattr(x, "shape") else asarray(x)


def _size(s):
    return int(_np.prod(s, dtype=_np.int64))


def _in_place(a, name, numpy_fn, *args, **kw):
    """NumPy's in-place write on a plain array; a traced one is refused with the fix."""
    if isinstance(a, Tracer) or any(isinstance(v, Tracer) for v in args):
        raise OpTypeError(
            f"{name}: adgraph arrays are immutable and this one is traced; call "
            f"{name}(..., inplace=False), which returns the written copy"
        )
    if not isinstance(a, _np.ndarray):
        raise OpTypeError(f"{name}: a must be a NumPy array to be written in place")
    numpy_fn(a, *args, **kw)


def _write_flat(a, positions, values):
    """``a`` with ``ravel(a)[positions] = values`` (values cycled), as a new array."""
    n = _shape(positions)[0]
    v = _sh.ravel(astype(_arr(values), _dtype(a)))
    m = _shape(v)[0]
    if n == 0:
        return a
    if m == 0:
        raise OpError("cannot write from an empty sequence of values")
    if m != n:
        v = take(v, _np.arange(n) % m)
    return _sh.reshape(at(_sh.ravel(a))[positions].set(v), _shape(a))


# ----------------------------------------------------------------- functional writers
def fill_diagonal(a: Any, val: Any, wrap: bool = False, *, inplace: bool = True) -> Any:
    r"""``a`` with its main diagonal (``a[i, i, ..., i]``) set to ``val`` (cycled; for a
    tall matrix ``wrap`` continues below the square part), NumPy's positions.
    ``inplace=False`` returns the new array, differentiable in ``a`` (zero on the diagonal)
    and ``val``; NumPy's in-place write otherwise (plain NumPy arrays only)."""
    if inplace:
        return _in_place(a, "fill_diagonal", _np.fill_diagonal, val, wrap=wrap)
    a = _arr(a)
    s = _shape(a)
    if len(s) < 2:
        raise OpError("fill_diagonal: array must be at least 2-d")
    if len(s) == 2:
        step = s[1] + 1
        end = None if wrap else s[1] * s[1]
    else:
        if len(set(s)) != 1:
            raise OpError("fill_diagonal: all dimensions of input must be of equal length")
        step = 1 + int(_np.cumprod(s[:-1]).sum())
        end = None
    pos = _np.arange(_size(s))[:end:step]
    return _write_flat(a, pos, val)


def _flat_positions(ind, n, mode, name):
    ind = _np.asarray(ind)
    if ind.dtype.kind not in "iu":
        raise OpTypeError(f"{name}: indices must be integers, got {ind.dtype}")
    ind = ind.ravel()
    if mode == "raise":
        if ind.size and (ind.min() < -n or ind.max() >= n):
            raise IndexError(f"{name}: index out of range for an array of size {n}")
        return ind % n if n else ind
    if mode == "wrap":
        return ind % n
    if mode == "clip":
        return _np.clip(ind, 0, n - 1)
    raise OpError(f"{name}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")


def put(a: Any, ind: Any, v: Any, mode: str = "raise", *, inplace: bool = True) -> Any:
    """``a`` with ``a.flat[ind] = v`` (``v`` cycled; the last write to a position wins).
    ``inplace=False`` returns the new array, differentiable in ``a`` and ``v``; ``ind``
    must be concrete."""
    if inplace:
        return _in_place(a, "put", _np.put, ind, v, mode=mode)
    if isinstance(ind, Tracer):
        raise OpTypeError("put: the indices must be concrete (NumPy arrays or Python values)")
    a = _arr(a)
    return _write_flat(a, _flat_positions(ind, _size(_shape(a)), mode, "put"), v)


def put_along_axis(arr: Any, indices: Any, values: Any, axis: Any, *, inplace: bool = True) -> Any:
    """``arr`` with ``values`` written at ``indices`` along ``axis`` (the inverse of
    :func:`take_along_axis`; flattened when ``axis`` is None). ``inplace=False`` returns
    the new array, differentiable in ``arr`` and ``values``."""
    if inplace:
        return _in_place(arr, "put_along_axis", _np.put_along_axis, indices, values, axis)
    arr = _arr(arr)
    s = _shape(arr)
    labels = _np.arange(_size(s)).reshape(s)
    if axis is None:
        labels, axis = labels.ravel(), 0
    indices = _arr(indices)
    if _np.dtype(_dtype(indices)).kind not in "iu":
        raise OpTypeError(f"put_along_axis: indices must be integers, got {_dtype(indices)}")
    if len(_shape(indices)) != labels.ndim:
        raise OpError("put_along_axis: indices and arr must have the same number of dimensions")
    pos = take_along_axis(labels, indices, axis=norm_axis(axis, labels.ndim, "put_along_axis"))
    vals = _sh.broadcast_to(_arr(values), _shape(pos))
    return _sh.reshape(
        at(_sh.ravel(arr))[_sh.ravel(pos)].set(_sh.ravel(astype(vals, _dtype(arr)))), s
    )


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """``arr`` with the elements where ``mask`` is true replaced by ``vals`` in order
    (cycled). ``inplace=False`` returns the new array, differentiable in ``arr`` and
    ``vals``; the mask must be concrete (it decides how many values are used)."""
    if inplace:
        return _in_place(arr, "place", _np.place, mask, vals)
    if isinstance(mask, Tracer):
        raise OpTypeError("place: the mask must be concrete; use where(mask, values, arr)")
    arr = _arr(arr)
    mask = _np.asarray(mask, dtype=bool)
    if mask.size != _size(_shape(arr)):
        raise OpError("place: mask and data must be the same size")
    return _write_flat(arr, _np.flatnonzero(mask), vals)


def putmask(a: Any, mask: Any, values: Any, *, inplace: bool = True) -> Any:
    r"""``a`` with ``a.flat[i] = values.flat[i % len(values)]`` where ``mask`` is true.
    ``inplace=False`` returns the new array: a :func:`where`, differentiable in ``a`` and
    ``values``."""
    if inplace:
        return _in_place(a, "putmask", _np.putmask, mask, values)
    a = _arr(a)
    s = _shape(a)
    if _shape(mask) != s:
        raise OpError(f"putmask: mask and data must be the same size, got {_shape(mask)} and {s}")
    v = _sh.ravel(astype(_arr(values), _dtype(a)))
    m, n = _shape(v)[0], _size(s)
    if m == 0:
        return a
    full = _sh.reshape(take(v, _np.arange(n) % m), s)
    return _ew.where(mask, full, a)


def copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    """NumPy's in-place copy of ``src`` into the plain NumPy array ``dst`` (where
    ``where`` holds). adgraph arrays are immutable: for traced values write
    ``dst = where(mask, src, dst)`` instead, which is differentiable in both."""
    if isinstance(dst, Tracer) or _contains_tracer(src) or isinstance(where, Tracer):
        raise OpTypeError(
            "copyto: writes into dst in place, and adgraph arrays are immutable; use "
            "dst = adgraph.numpy.where(mask, src, dst), which returns the new array"
        )
    _np.copyto(dst, src, casting=casting, where=where)


def resize(a: Any, new_shape: Any) -> Any:
    """An array of ``new_shape`` filled with ``a``'s elements (flattened) repeated in
    order, as NumPy's ``resize`` (zeros when either is empty). A gather: linear."""
    a = _sh.ravel(_arr(a))
    new_shape = _dims(new_shape, "resize", "new_shape")
    n, m = _size(new_shape), _shape(a)[0]
    if n == 0 or m == 0:
        return _np.zeros(new_shape, dtype=_dtype(a))
    return _sh.reshape(take(a, _np.arange(n) % m), new_shape)


# ----------------------------------------------------------------- appliers
def apply_along_axis(func1d: Any, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    """``func1d`` applied to every 1-d slice of ``arr`` along ``axis``; the result's axes
    replace ``axis``, as in NumPy. Differentiable when ``func1d`` is (the slices are
    stacked)."""
    _callable(func1d, "apply_along_axis", "func1d")
    arr = _arr(arr)
    s = _shape(arr)
    ax = norm_axis(axis, len(s), "apply_along_axis")
    moved = _sh.moveaxis(arr, ax, -1)
    lead = _shape(moved)[:-1]
    if _size(lead) == 0:
        raise OpError(
            "apply_along_axis: cannot apply_along_axis when any iteration dimensions are 0"
        )
    outs = [_arr(func1d(getitem(moved, idx), *args, **kwargs)) for idx in _np.ndindex(*lead)]
    res_shape = _shape(outs[0])
    out = _sh.reshape(_jn.stack(outs), lead + res_shape)
    nl, nr = len(lead), len(res_shape)
    perm = list(range(ax)) + list(range(nl, nl + nr)) + list(range(ax, nl))
    return _sh.transpose(out, perm)


def apply_over_axes(func: Any, a: Any, axes: Any) -> Any:
    """``func(a, axis)`` applied for each axis in turn, keeping the dimensions (a result
    with one fewer is expanded back), as in NumPy. Differentiable when ``func`` is."""
    _callable(func, "apply_over_axes", "func")
    val = _arr(a)
    n = len(_shape(val))
    if _np.ndim(axes) == 0:
        axes = (axes,)
    for axis in axes:
        axis = norm_axis(axis, n, "apply_over_axes")
        res = _arr(func(val, axis))
        if len(_shape(res)) == len(_shape(val)):
            val = res
        else:
            res = _sh.expand_dims(res, axis)
            if len(_shape(res)) != len(_shape(val)):
                raise OpError(
                    "apply_over_axes: function is not returning an array of the correct shape"
                )
            val = res
    return val


def fromfunction(
    function: Any, shape: Any, *, dtype: Any = float, like: Any = None, **kwargs: Any
) -> Any:
    """``function(*indices(shape, dtype), **kwargs)``: an array built from the index
    grids (constants); differentiable in whatever ``function`` closes over."""
    _callable(function, "fromfunction", "function")
    return function(*_np.indices(_dims(shape, "fromfunction"), dtype=dtype), **kwargs)


def _parse_signature(sig: str) -> tuple:
    """NumPy's generalised-ufunc signature ``'(m,n),(n)->(m)'`` as lists of dimension
    names for the inputs and the outputs."""
    import re

    m = re.fullmatch(r"\s*((?:\([\w,\s]*\)\s*,?\s*)*)->((?:\s*\([\w,\s]*\)\s*,?)*)\s*", sig)
    if m is None:
        raise OpError(f"vectorize: not a valid gufunc signature: {sig!r}")

    def groups(part):
        return [
            tuple(d.strip() for d in g.split(",") if d.strip())
            for g in re.findall(r"\(([^)]*)\)", part)
        ]

    return groups(m.group(1)), groups(m.group(2))


class vectorize:  # noqa: N801  (NumPy's name)
    """A function applied over broadcast arrays, as NumPy's ``vectorize``: ``pyfunc`` is
    called once per element -- or, with a ``signature`` such as ``'(n),(n)->()'``, once
    per core sub-array -- so it may use Python control flow, and the results are stacked:
    the result is differentiable when ``pyfunc`` is. ``excluded`` names or positions of
    arguments passed through unchanged; ``otypes`` casts the outputs."""

    def __init__(
        self,
        pyfunc: Any = None,
        otypes: Any = None,
        doc: Any = None,
        excluded: Any = None,
        cache: bool = False,
        signature: Any = None,
    ) -> None:
        if pyfunc is None:
            raise OpTypeError("vectorize: give the function to vectorize")
        if not callable(pyfunc):
            raise OpTypeError(
                f"vectorize: pyfunc must be callable, got {type(pyfunc).__name__} {pyfunc!r:.40}"
                " (vectorize(f) wraps a function, not an array)"
            )
        self.pyfunc = pyfunc
        self.otypes = None if otypes is None else [_np.dtype(t) for t in otypes]
        self.excluded = set(excluded or ())
        self.signature = signature
        self._core = None if signature is None else _parse_signature(signature)
        self.__doc__ = pyfunc.__doc__ if doc is None else doc
        self.__name__ = getattr(pyfunc, "__name__", "vectorized")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pos = [i for i in range(len(args)) if i not in self.excluded]
        names = [k for k in kwargs if k not in self.excluded]
        vals = [_arr(args[i]) for i in pos] + [_arr(kwargs[k]) for k in names]
        in_core = [()] * len(vals)
        out_core = None
        if self._core is not None:
            in_core, out_core = self._core
            if len(in_core) != len(vals):
                raise OpError(
                    f"vectorize: the signature {self.signature!r} has {len(in_core)} inputs, "
                    f"got {len(vals)} arguments"
                )
        sizes: dict = {}
        loops = []
        for v, core in zip(vals, in_core):
            s = _shape(v)
            if len(s) < len(core):
                raise OpError(
                    f"vectorize: an input of shape {s} has fewer dimensions than its core "
                    f"dimensions {core}"
                )
            for name, n in zip(core, s[len(s) - len(core) :]):
                if sizes.setdefault(name, n) != n:
                    raise OpError(f"vectorize: inconsistent size for core dimension {name!r}")
            loops.append(s[: len(s) - len(core)])
        bshape = _np.broadcast_shapes(*loops) if vals else ()
        vals = [_sh.broadcast_to(v, bshape + _shape(v)[len(lp) :]) for v, lp in zip(vals, loops)]
        results = []
        for idx in _np.ndindex(*bshape):
            a = list(args)
            kw = dict(kwargs)
            for j, i in enumerate(pos):
                a[i] = getitem(vals[j], idx)
            for j, k in enumerate(names):
                kw[k] = getitem(vals[len(pos) + j], idx)
            results.append(self.pyfunc(*a, **kw))
        if not results:
            if out_core is not None:
                raise OpError(
                    "vectorize: no core sub-array to call the function on (size-0 loop "
                    "dimensions), so the outputs' core shapes are unknown"
                )
            dt = self.otypes[0] if self.otypes else _np.float64
            return _np.zeros(bshape, dtype=dt)
        multi = isinstance(results[0], tuple)
        cols = list(zip(*results)) if multi else [results]
        if out_core is not None and len(out_core) != len(cols):
            raise OpError(
                f"vectorize: the signature {self.signature!r} has {len(out_core)} outputs, "
                f"the function returned {len(cols)}"
            )
        outs = []
        for k, col in enumerate(cols):
            col = [_arr(c) for c in col]
            core = _shape(col[0])
            if out_core is not None and len(core) != len(out_core[k]):
                raise OpError(
                    f"vectorize: output {k} has shape {core}, not the core dimensions "
                    f"{out_core[k]} of the signature"
                )
            dt = self.otypes[k] if self.otypes else _np.result_type(*[_dtype(c) for c in col])
            outs.append(_sh.reshape(_jn.stack([astype(c, dt) for c in col]), bshape + core))
        return tuple(outs) if multi else outs[0]


# ----------------------------------------------------------------- index helpers
def _callable(f: Any, op: str, what: str) -> None:
    if not callable(f):
        raise OpTypeError(f"{op}: {what} must be callable, got {type(f).__name__} {f!r:.40}")


def _dims(shape: Any, op: str, what: str = "shape") -> tuple:
    """A shape (an integer or a sequence of them) as a tuple of non-negative ints."""
    if isinstance(shape, (list, tuple)):
        dims = tuple(as_int(d, op, f"each entry of {what}") for d in shape)
    else:
        dims = (as_int(shape, op, f"{what} (an integer or a tuple of integers)"),)
    if any(d < 0 for d in dims):
        raise OpError(f"{op}: {what} {dims} has a negative dimension")
    return dims


def indices(dimensions: Any, dtype: Any = int, sparse: bool = False) -> Any:
    """The index grids of an array of shape ``dimensions`` (constants)."""
    if not isinstance(dimensions, (list, tuple)):
        raise OpTypeError(f"indices: dimensions must be a tuple of integers, got {dimensions!r}")
    return _np.indices(_dims(dimensions, "indices", "dimensions"), dtype=dtype, sparse=sparse)


def diag_indices(n: int, ndim: int = 2) -> tuple:
    """The indices of the main diagonal of an ``n``-by-...-by-``n`` array (constants)."""
    return _np.diag_indices(n, ndim)


def diag_indices_from(arr: Any) -> tuple:
    """The indices of the main diagonal of ``arr`` (all dimensions equal, at least 2)."""
    s = _shape(arr)
    if len(s) < 2:
        raise OpError("diag_indices_from: input array must be at least 2-d")
    if len(set(s)) != 1:
        raise OpError("diag_indices_from: all dimensions of input must be of equal length")
    return _np.diag_indices(s[0], len(s))


def tril_indices(n: int, k: int = 0, m: Any = None) -> tuple:
    """The indices of the lower triangle of an ``(n, m)`` array (constants)."""
    return _np.tril_indices(n, k, m)


def triu_indices(n: int, k: int = 0, m: Any = None) -> tuple:
    """The indices of the upper triangle of an ``(n, m)`` array (constants)."""
    return _np.triu_indices(n, k, m)


def _shape2(arr, name):
    s = _shape(arr)
    if len(s) != 2:
        raise OpError(f"{name}: input array must be 2-d, got shape {s}")
    return s


def tril_indices_from(arr: Any, k: int = 0) -> tuple:
    """The indices of the lower triangle of the 2-d ``arr`` (from its shape)."""
    s = _shape2(arr, "tril_indices_from")
    return _np.tril_indices(s[-2], k=k, m=s[-1])


def triu_indices_from(arr: Any, k: int = 0) -> tuple:
    """The indices of the upper triangle of the 2-d ``arr`` (from its shape)."""
    s = _shape2(arr, "triu_indices_from")
    return _np.triu_indices(s[-2], k=k, m=s[-1])


def mask_indices(n: int, mask_func: Any, k: int = 0) -> tuple:
    """The indices where ``mask_func(ones((n, n)), k)`` is nonzero (e.g. ``triu``)."""
    _callable(mask_func, "mask_indices", "mask_func")
    n = _dims(n, "mask_indices", "n")[0]
    m = _np.asarray(mask_func(_np.ones((n, n), int), k))
    return _np.nonzero(m != 0)


def _ravel_impl(xp, *multi, dims, mode, order):
    return xp.ravel_multi_index(multi, dims, mode=mode, order=order)


def _unravel_impl(xp, ind, *, shape, order):
    return xp.unravel_index(ind, shape, order=order)


def _nondiff_index(name, impl, doc, multiple):
    from ..core.primitive import Primitive

    return Primitive(name, impl, nondiff=True, multiple_results=multiple, doc=doc)


_ravel_p = _nondiff_index(
    "ravel_multi_index", _ravel_impl, "Flat indices of multi-indices (no derivative).", False
)
_unravel_p = _nondiff_index(
    "unravel_index", _unravel_impl, "Multi-indices of flat indices (no derivative).", True
)


def ravel_multi_index(multi_index: Any, dims: Any, mode: Any = "raise", order: str = "C") -> Any:
    """The flat indices of the tuple of index arrays ``multi_index`` in an array of shape
    ``dims`` (``mode``: 'raise', 'wrap' or 'clip', or one per dimension). No derivative."""
    dims = tuple(operator.index(d) for d in dims)
    mode = mode if isinstance(mode, str) else tuple(mode)
    return _ravel_p.bind(*[_arr(m) for m in multi_index], dims=dims, mode=mode, order=order)


def unravel_index(indices: Any, shape: Any, order: str = "C") -> tuple:
    """The tuple of index arrays of the flat ``indices`` in an array of ``shape``. No
    derivative."""
    if isinstance(shape, (int, _np.integer)):
        shape = (shape,)
    shape = tuple(operator.index(d) for d in shape)
    return tuple(_unravel_p.bind(_arr(indices), shape=shape, order=order))


def ndenumerate(arr: Any) -> Any:
    """Pairs ``(index, arr[index])`` over every element, in C order (the elements of a
    traced array are traced)."""
    arr = _arr(arr)
    for idx in _np.ndindex(*_shape(arr)):
        yield idx, getitem(arr, idx)


# ----------------------------------------------------------------- checks, conversions
def array_equiv(a1: Any, a2: Any) -> bool:
    """Whether ``a1`` and ``a2`` are equal after broadcasting (a Python bool)."""
    a1, a2 = _arr(a1), _arr(a2)
    try:
        _np.broadcast_shapes(_shape(a1), _shape(a2))
    except ValueError:
        return False
    return bool(_red.all(_ew.equal(a1, a2)))


def asarray_chkfinite(a: Any, dtype: Any = None, order: Any = None) -> Any:
    """``a`` as an array, raising ValueError if it holds an infinity or nan."""
    a = asarray(a, dtype=dtype, order=order)
    if _np.dtype(_dtype(a)).kind in "fc" and not bool(_red.all(_ew.isfinite(a))):
        raise ValueError("array must not contain infs or NaNs")
    return a


def asfortranarray(a: Any, dtype: Any = None, *, like: Any = None) -> Any:
    """``a`` as an array in Fortran order (traced values have no memory layout: the
    same values)."""
    if isinstance(a, Tracer) or _contains_tracer(a):
        return asarray(a, dtype=dtype)
    return _np.asfortranarray(a, dtype=dtype)


def require(a: Any, dtype: Any = None, requirements: Any = None, *, like: Any = None) -> Any:
    """``a`` as an array of ``dtype`` meeting NumPy's memory ``requirements`` (which a
    traced value, having no memory layout, meets as it is)."""
    known = ("C", "C_CONTIGUOUS", "CONTIGUOUS", "F", "F_CONTIGUOUS", "FORTRAN", "A", "ALIGNED")
    known += ("W", "WRITEABLE", "O", "OWNDATA", "E", "ENSUREARRAY")
    reqs = [requirements] if isinstance(requirements, str) else list(requirements or ())
    for r in reqs:
        if not isinstance(r, str) or r.upper() not in known:
            raise OpError(
                f"require: unknown requirement {r!r}; use 'C', 'F', 'A', 'W', 'O' or 'E' "
                "(or their long names)"
            )
    if isinstance(a, Tracer) or _contains_tracer(a):
        return asarray(a, dtype=dtype)
    return _np.require(a, dtype=dtype, requirements=requirements)


def isfortran(a: Any) -> bool:
    """Whether ``a`` is Fortran-ordered and not C-ordered (False for traced values)."""
    if isinstance(a, Tracer):
        return False
    if not isinstance(a, _np.ndarray):
        raise OpTypeError(
            f"isfortran: a must be an array, got {type(a).__name__}; convert it with "
            "np.asarray first"
        )
    return _np.isfortran(a)


def may_share_memory(a: Any, b: Any, /, max_work: Any = None) -> bool:
    """Whether ``a`` and ``b`` might share memory (traced values never do: they are
    immutable)."""
    if isinstance(a, Tracer) or isinstance(b, Tracer):
        return False
    return _np.may_share_memory(a, b, max_work=max_work)


def shares_memory(a: Any, b: Any, /, max_work: Any = None) -> bool:
    """Whether ``a`` and ``b`` share memory (traced values never do)."""
    if isinstance(a, Tracer) or isinstance(b, Tracer):
        return False
    return _np.shares_memory(a, b, max_work=max_work)


def einsum_path(*operands: Any, optimize: Any = "greedy", einsum_call: bool = False) -> Any:
    """NumPy's contraction order for :func:`einsum` (it depends on the shapes only, so
    traced operands are fine)."""
    ops = [
        _np.broadcast_to(_np.zeros((), _dtype(o)), _shape(o))
        if isinstance(o, Tracer) or _contains_tracer(o)
        else o
        for o in operands
    ]
    return _np.einsum_path(*ops, optimize=optimize, einsum_call=einsum_call)


class broadcast:  # noqa: N801  (NumPy's name)
    """The broadcast of the arguments' shapes, as NumPy's ``broadcast`` object:
    ``shape``, ``ndim`` (``nd``), ``size``, ``numiter``, and iteration over tuples of the
    broadcast elements (traced elements stay traced)."""

    def __init__(self, *args: Any) -> None:
        self._args = [_arr(a) for a in args]
        self.shape = _np.broadcast_shapes(*[_shape(a) for a in self._args])
        self.ndim = self.nd = len(self.shape)
        self.size = _size(self.shape)
        self.numiter = len(self._args)
        self.index = 0

    def __iter__(self) -> Any:
        full = [_sh.broadcast_to(a, self.shape) for a in self._args]
        for idx in _np.ndindex(*self.shape):
            yield tuple(getitem(a, idx) for a in full)

    def reset(self) -> None:
        """Start the iteration again (kept for NumPy's API; iteration is stateless)."""
        self.index = 0


def _contains_tracer(x) -> bool:
    return isinstance(x, Tracer) or (
        isinstance(x, (list, tuple)) and any(_contains_tracer(v) for v in x)
    )
