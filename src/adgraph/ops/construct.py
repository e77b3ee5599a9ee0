r"""Building, splitting and rearranging arrays, selection, and NumPy 2's array-API names.

Every function here is a composition of the public functions of the other ops modules
(concatenation, gathers, ``where``, reductions), so it inherits their derivative rules in
both modes, to any order, through ``jit`` and ``vmap``. Functions that only move elements
(``insert``, ``delete``, ``compress``, ``choose`` ...) are linear in the moved array: the
cotangent goes back to the element it came from, and an element used twice receives both
contributions. Index, boolean and integer results carry no derivative, as in JAX.

The element-moving functions find *which* element goes where by running NumPy's own
function on an array of labels (the flat position of each element): NumPy's semantics,
broadcasting and errors come with it, and the values then follow by one ``take``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # index arithmetic on labels and dtype queries only; never on values

from ..core.trace import Tracer
from . import elementwise as _ew
from . import joining as _jn
from . import reductions as _red
from . import shapes as _sh
from ._util import OpError, OpTypeError, as_int, check_numeric, norm_axis
from ._util import dtype as _dtype
from ._util import shape as _shape
from .creation import asarray, ones, zeros
from .indexing import getitem, take, take_along_axis
from .misc import astype

__all__ = [
    # NumPy 2's array-API names
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "pow", "concat",
    "permute_dims", "matrix_transpose", "vecdot", "matvec", "vecmat", "unstack",
    "cumulative_sum", "cumulative_prod", "bitwise_left_shift", "bitwise_right_shift",
    "bitwise_invert", "bitwise_not", "row_stack",
    # building and splitting
    "append", "insert", "delete", "r_", "c_", "ix_", "block", "vsplit", "hsplit", "dsplit",
    "rollaxis",
    # selection
    "select", "piecewise", "choose", "compress", "extract",
    # values
    "nan_to_num", "real_if_close", "iscomplex", "isreal",
]  # fmt: skip

# ----------------------------------------------------------------- array-API aliases
# The same function objects as NumPy 1's names: np.acos is np.arccos in NumPy 2 too.
acos = _ew.arccos
acosh = _ew.arccosh
asin = _ew.arcsin
asinh = _ew.arcsinh
atan = _ew.arctan
atan2 = _ew.arctan2
atanh = _ew.arctanh
pow = _ew.power  # noqa: A001  (NumPy's name)
bitwise_left_shift = _ew.left_shift
bitwise_right_shift = _ew.right_shift
bitwise_invert = _ew.invert
bitwise_not = _ew.invert
concat = _jn.concatenate


def _is_array(x) -> bool:
    return isinstance(x, Tracer) or hasattr(x, "shape")


def _arr(x):
    return x if _is_array(x) else asarray(x)


def permute_dims(a: Any, axes: Any = None) -> Any:
    r"""The axes of ``a`` permuted (the array API's name for :func:`transpose`); linear,
    the cotangent is permuted back."""
    return _sh.transpose(a, axes)


def matrix_transpose(x: Any, /) -> Any:
    r"""The last two axes swapped: :math:`y_{\dots ij} = x_{\dots ji}`. Linear; needs at
    least two dimensions."""
    nd = len(_shape(x))
    if nd < 2:
        raise OpError(
            f"matrix_transpose: the argument must have at least 2 dimensions, got {nd}; "
            "use transpose or expand_dims for vectors"
        )
    return _sh.swapaxes(x, -1, -2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    r"""Vector dot product along ``axis``, conjugating the first argument:
    :math:`y = \sum_i \overline{x_{1,i}} x_{2,i}` (leading axes broadcast).

    Bilinear: :math:`\dot y = \sum_i \overline{\dot x_{1,i}} x_{2,i} +
    \overline{x_{1,i}} \dot x_{2,i}`."""
    x1, x2 = _arr(x1), _arr(x2)
    n1, n2 = _shape(x1), _shape(x2)
    if not n1 or not n2:
        raise OpError("vecdot: both arguments must have at least one dimension")
    a1, a2 = norm_axis(axis, len(n1), "vecdot"), norm_axis(axis, len(n2), "vecdot")
    if n1[a1] != n2[a2]:
        raise OpError(
            f"vecdot: the vectors along axis {axis} have different lengths ({n1[a1]} and {n2[a2]})"
        )
    x1 = _sh.moveaxis(x1, a1, -1)
    x2 = _sh.moveaxis(x2, a2, -1)
    return _red.sum(_ew.multiply(_ew.conj(x1), x2), axis=-1)


def matvec(x1: Any, x2: Any, /) -> Any:
    r"""Matrix-vector product over the last axes: :math:`y_{\dots i} = \sum_j
    x_{1,\dots ij} x_{2,\dots j}` (leading axes broadcast). Bilinear."""
    s1, s2 = _shape(x1), _shape(x2)
    if len(s1) < 2 or len(s2) < 1:
        raise OpError("matvec: needs a matrix (>= 2 dimensions) and a vector (>= 1)")
    if s1[-1] != s2[-1]:
        raise OpError(f"matvec: matrix of {s1[-1]} columns times vector of length {s2[-1]}")
    return _red.sum(_ew.multiply(x1, _sh.expand_dims(x2, -2)), axis=-1)


def vecmat(x1: Any, x2: Any, /) -> Any:
    r"""Vector-matrix product over the last axes, conjugating the vector:
    :math:`y_{\dots j} = \sum_i \overline{x_{1,\dots i}} x_{2,\dots ij}`. Bilinear."""
    s1, s2 = _shape(x1), _shape(x2)
    if len(s1) < 1 or len(s2) < 2:
        raise OpError("vecmat: needs a vector (>= 1 dimension) and a matrix (>= 2)")
    if s1[-1] != s2[-2]:
        raise OpError(f"vecmat: vector of length {s1[-1]} times matrix of {s2[-2]} rows")
    return _red.sum(_ew.multiply(_sh.expand_dims(_ew.conj(x1), -1), x2), axis=-2)


def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    r"""The slices of ``x`` along ``axis``, as a tuple (the inverse of :func:`stack`).
    Each slice is linear in ``x``."""
    s = _shape(x)
    if not s:
        raise OpError("unstack: a 0-d array has no axis to unstack")
    ax = norm_axis(axis, len(s), "unstack")
    x = _sh.moveaxis(x, ax, 0)
    return tuple(getitem(x, i) for i in range(s[ax]))


def _cumulative(f, name, x, axis, dtype, out, include_initial, initial):
    if out is not None:
        raise OpError(f"{name}: out= is not supported (adgraph arrays are immutable)")
    s = _shape(x)
    if axis is None:
        if len(s) > 1:
            raise OpError(f"{name}: axis is required for arrays of more than one dimension")
        if not s:
            x = _sh.reshape(x, (1,))
        axis = 0
    ax = norm_axis(axis, len(_shape(x)), name)
    y = f(x, axis=ax, dtype=dtype)
    if include_initial:
        es = list(_shape(y))
        es[ax] = 1
        y = _jn.concatenate([astype(_ew.add(zeros(tuple(es), dtype=_dtype(y)), initial),
                                    _dtype(y)), y], axis=ax)  # fmt: skip
    return y


def cumulative_sum(
    x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
    include_initial: bool = False,
) -> Any:  # fmt: skip
    r"""Running sum along ``axis`` (required for more than one dimension), optionally
    starting with 0 (``include_initial``): :math:`y_k = \sum_{j \le k} x_j`. Linear; the
    cotangent is the reversed running sum of :math:`\bar y`."""
    return _cumulative(_red.cumsum, "cumulative_sum", x, axis, dtype, out, include_initial, 0)


def cumulative_prod(
    x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
    include_initial: bool = False,
) -> Any:  # fmt: skip
    r"""Running product along ``axis`` (required for more than one dimension), optionally
    starting with 1 (``include_initial``): :math:`y_k = \prod_{j \le k} x_j`, with
    :func:`cumprod`'s derivative (exact also at zero factors)."""
    return _cumulative(_red.cumprod, "cumulative_prod", x, axis, dtype, out, include_initial, 1)


def row_stack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Stack arrays as rows (NumPy's deprecated alias of :func:`vstack`)."""
    return _jn.vstack(tup, dtype=dtype, casting=casting)


# ----------------------------------------------------------------- moving elements
def _labels(s):
    return _np.arange(int(_np.prod(s, dtype=_np.int64)), dtype=_np.intp).reshape(s)


def _static_index(obj, name):
    """Indices and masks must be concrete: they decide the result's shape."""
    if isinstance(obj, Tracer):
        raise OpTypeError(
            f"{name}: the indices are traced; they decide the shape of the result, so they "
            "must be concrete (NumPy arrays or Python values)"
        )
    return obj


def append(arr: Any, values: Any, axis: Any = None) -> Any:
    r"""``values`` appended to ``arr`` along ``axis`` (both flattened when ``axis`` is
    None), as NumPy's ``append``. Linear in both; each cotangent is its slice."""
    arr, values = _arr(arr), _arr(values)
    if axis is None:
        return _jn.concatenate([_sh.ravel(arr), _sh.ravel(values)], axis=0)
    return _jn.concatenate([arr, values], axis=axis)


def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    r"""``values`` inserted into ``arr`` before the index or indices ``obj`` along ``axis``
    (flattened when None), with NumPy's broadcasting of ``values``; cast to ``arr``'s
    dtype. Linear in ``arr`` and ``values``: each output element's cotangent goes back to
    its source (a broadcast value receives the sum)."""
    _static_index(obj, "insert")
    arr, values = _arr(arr), _arr(values)
    n = int(_np.prod(_shape(arr), dtype=_np.int64))
    vlab = n + _labels(_shape(values))
    try:
        lab = _np.insert(_labels(_shape(arr)), obj, vlab, axis=axis)
    except (ValueError, IndexError, TypeError) as e:
        raise type(e)(f"insert: {e}") from None
    flat = _jn.concatenate([_sh.ravel(arr), _sh.ravel(astype(values, _dtype(arr)))])
    return take(flat, lab)


def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    r"""``arr`` without the sub-arrays at ``obj`` (index, indices, slice or boolean mask)
    along ``axis`` (flattened when None). Linear; deleted elements get zero cotangent."""
    _static_index(obj, "delete")
    arr = _arr(arr)
    try:
        lab = _np.delete(_labels(_shape(arr)), obj, axis=axis)
    except (ValueError, IndexError, TypeError) as e:
        raise type(e)(f"delete: {e}") from None
    return take(_sh.ravel(arr), lab)


def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    r"""The slices of ``a`` along ``axis`` (flattened when None) where ``condition`` is
    true; a shorter condition leaves the rest out. Linear in ``a``."""
    if out is not None:
        raise OpError("compress: out= is not supported (adgraph arrays are immutable)")
    cond = _np.asarray(_static_index(condition, "compress"))
    if cond.ndim != 1:
        raise OpError(f"compress: condition must be 1-d, got {cond.ndim} dimensions")
    a = _arr(a)
    if axis is None:
        a, axis = _sh.ravel(a), 0
    ax = norm_axis(axis, len(_shape(a)), "compress")
    if cond.size > _shape(a)[ax]:
        raise OpError(
            f"compress: condition of length {cond.size} is longer than axis {axis} "
            f"({_shape(a)[ax]})"
        )
    return take(a, _np.flatnonzero(cond), axis=ax)


def extract(condition: Any, arr: Any) -> Any:
    r"""The elements of ``arr`` where ``condition`` is nonzero, flattened:
    ``ravel(arr)[ravel(condition) != 0]``. Linear in ``arr``."""
    cond = _np.asarray(_static_index(condition, "extract"))
    return take(_sh.ravel(_arr(arr)), _np.flatnonzero(cond.ravel()))


def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    r"""``choices[a[i]][i]`` elementwise (``a`` and the choices broadcast together).

    Linear in the choices: the cotangent goes to the chosen one. ``a`` (integers) carries
    no derivative; ``mode`` is ``'raise'``, ``'wrap'`` or ``'clip'`` for indices out of
    range, as in NumPy."""
    if out is not None:
        raise OpError("choose: out= is not supported (adgraph arrays are immutable)")
    if mode not in ("raise", "wrap", "clip"):
        raise OpError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if _is_array(choices) and not isinstance(choices, (list, tuple)):
        choices = list(unstack(choices))
    choices = [_arr(c) for c in choices]
    k = len(choices)
    if k == 0:
        raise OpError("choose: choices must not be empty")
    a = _arr(a)
    if _np.dtype(_dtype(a)).kind not in "iub":
        raise OpTypeError(f"choose: the index array must be of integers, got {_dtype(a)}")
    if mode == "raise":
        if not isinstance(a, Tracer):
            a_np = _np.asarray(a)
            if a_np.size and (a_np.min() < 0 or a_np.max() >= k):
                raise OpError(f"choose: an index is out of range for {k} choices")
    elif mode == "wrap":
        a = _ew.mod(a, k)
    else:
        a = _ew.clip(a, 0, k - 1)
    bs = _np.broadcast_shapes(_shape(a), *[_shape(c) for c in choices])
    stacked = _jn.stack([_sh.broadcast_to(c, bs) for c in choices], axis=0)
    idx = _sh.expand_dims(_sh.broadcast_to(a, bs), 0)
    return getitem(take_along_axis(stacked, idx, axis=0), 0)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    r"""Elementwise, the choice of the first true condition (``default`` where none is):
    a chain of :func:`where`. The derivative flows to the selected choice (or
    ``default``); conditions carry none."""
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise OpError(
            f"select: {len(condlist)} conditions and {len(choicelist)} choices; give one "
            "choice per condition"
        )
    if not condlist:
        raise OpError("select: condlist must not be empty")
    for i, c in enumerate(condlist):
        if _np.dtype(_dtype(c)).kind != "b":
            raise OpTypeError(f"select: condlist[{i}] must be boolean, got {_dtype(c)}")
    for i, c in enumerate(choicelist):
        check_numeric(c, "select", f"choicelist[{i}]")
    check_numeric(default, "select", "default")
    dt = _np.result_type(*[_dtype(c) for c in choicelist], _dtype(default))
    out = astype(_arr(default), dt)
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = _ew.where(cond, astype(_arr(choice), dt), out)
    bs = _np.broadcast_shapes(*[_shape(c) for c in condlist + choicelist], _shape(default))
    return _sh.broadcast_to(out, bs)


def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    r"""``funclist[i](x)`` where ``condlist[i]`` holds (later conditions win, as in NumPy),
    0 elsewhere or ``funclist[-1](x)`` when there is one function more than conditions.
    Constants in ``funclist`` are used as they are; the result has ``x``'s dtype.

    Each function is evaluated on the whole of ``x`` (as in JAX, so that it traces) and
    the pieces are joined with :func:`where`: the derivative is the selected piece's. A
    function that is nan or infinite outside its piece still poisons the derivative there
    (see :func:`where`)."""
    x = _arr(x)
    xs = _shape(x)
    if isinstance(condlist, (list, tuple)) or (
        not _is_array(condlist) and _np.ndim(condlist) > len(xs)
    ):
        conds = list(condlist)
    elif len(_shape(condlist)) > len(xs):
        conds = list(unstack(condlist))
    else:
        conds = [condlist]
    funcs = list(funclist)
    if len(funcs) not in (len(conds), len(conds) + 1):
        raise OpError(
            f"piecewise: {len(conds)} conditions need {len(conds)} or {len(conds) + 1} "
            f"functions, got {len(funcs)}"
        )
    if len(funcs) == len(conds) + 1:
        anyc = conds[0]
        for c in conds[1:]:
            anyc = _ew.logical_or(anyc, c)
        conds.append(_ew.logical_not(anyc))
    dt = _dtype(x)
    out = zeros(xs, dtype=dt)
    for cond, f in zip(conds, funcs):
        val = f(x, *args, **kw) if callable(f) else f
        out = _ew.where(cond, astype(_sh.broadcast_to(_arr(val), xs), dt), out)
    return out


# ----------------------------------------------------------------- splitting, axes
def _split_checked(ary, ios, axis, need, name):
    nd = len(_shape(ary))
    if nd < need:
        raise OpError(f"{name} only works on arrays of {need} or more dimensions, got {nd}")
    return _jn.split(ary, ios, axis=axis)


def vsplit(ary: Any, indices_or_sections: Any) -> list:
    """``split`` along the first axis (arrays of 2 or more dimensions). Linear."""
    return _split_checked(ary, indices_or_sections, 0, 2, "vsplit")


def hsplit(ary: Any, indices_or_sections: Any) -> list:
    """``split`` along the second axis (the first for 1-d arrays). Linear."""
    nd = len(_shape(ary))
    if nd == 0:
        raise OpError("hsplit only works on arrays of 1 or more dimensions, got 0")
    return _jn.split(ary, indices_or_sections, axis=1 if nd > 1 else 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list:
    """``split`` along the third axis (arrays of 3 or more dimensions). Linear."""
    return _split_checked(ary, indices_or_sections, 2, 3, "dsplit")


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """``axis`` moved to before position ``start`` (NumPy's older :func:`moveaxis`);
    linear, the cotangent is moved back."""
    nd = len(_shape(a))
    axis = norm_axis(axis, nd, "rollaxis")
    start = as_int(start, "rollaxis", "start")
    if start < 0:
        start += nd
    if not 0 <= start < nd + 1:
        raise OpError(f"rollaxis: start {start} is out of range for {nd} dimensions")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(nd))
    axes.remove(axis)
    axes.insert(start, axis)
    return _sh.transpose(a, axes)


def ix_(*args: Any) -> tuple:
    """Open mesh of index arrays: the k-th of n 1-d sequences reshaped to have its length
    on axis k and 1 elsewhere (booleans become the indices of their true elements). Index
    arrays carry no derivative."""
    out = []
    nd = len(args)
    for k, seq in enumerate(args):
        if not _is_array(seq):
            seq = _np.asarray(seq)
            if seq.size == 0:
                seq = seq.astype(_np.intp)
        if len(_shape(seq)) != 1:
            raise OpError(f"ix_: argument {k} must be 1-d, got shape {_shape(seq)}")
        if _np.dtype(_dtype(seq)).kind == "b":
            seq = _np.flatnonzero(_np.asarray(_static_index(seq, "ix_")))
        new = [1] * nd
        new[k] = _shape(seq)[0]
        out.append(_sh.reshape(seq, tuple(new)))
    return tuple(out)


def _block_depth(x, path=()):
    if isinstance(x, tuple):
        raise OpTypeError(f"block: arrays{list(path)} is a tuple; only lists nest blocks")
    if isinstance(x, list):
        if not x:
            raise OpError(f"block: arrays{list(path)} is an empty list")
        depths = {_block_depth(v, path + (i,)) for i, v in enumerate(x)}
        if len(depths) != 1:
            raise OpError(f"block: the lists in arrays{list(path)} are nested unevenly")
        return depths.pop() + 1
    return 0


def _block_max_ndim(x):
    if isinstance(x, list):
        return max(_block_max_ndim(v) for v in x)
    return len(_shape(x))


def block(arrays: Any) -> Any:
    r"""An array assembled from nested lists of blocks: the innermost lists are joined
    along the last axis, the next ones along the second to last, and so on (blocks are
    first given the dimensions of the deepest one). Linear in every block."""
    depth = _block_depth(arrays)
    nd = max(depth, _block_max_ndim(arrays))

    def lift(a):
        a = _arr(a)
        s = _shape(a)
        return _sh.reshape(a, (1,) * (nd - len(s)) + s) if len(s) < nd else a

    def rec(x, level):
        if not isinstance(x, list):
            return lift(x)
        parts = [rec(v, level + 1) for v in x]
        return _jn.concatenate(parts, axis=-(depth - level))

    return rec(arrays, 0)


class _AxisConcatenator:
    """``r_[...]`` and ``c_[...]``: slices become ranges, and everything is concatenated."""

    def __init__(self, axis: int, ndmin: int, trans1d: int, name: str, doc: str) -> None:
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name
        self.__doc__ = doc

    def __call__(self, *a: Any, **k: Any) -> Any:
        raise TypeError(f"{self.name} is indexed, not called: write {self.name}[...]")

    def __len__(self) -> int:
        return 0

    def _lift(self, v, ndmin, trans1d):
        v = _arr(v)
        s = _shape(v)
        if len(s) >= ndmin:
            return v
        new = (1,) * (ndmin - len(s)) + s
        v = _sh.reshape(v, new)
        if trans1d != -1:
            # NumPy: the original axes go to position trans1d of the new ones
            k = len(s)
            order = list(range(ndmin))
            old = order[ndmin - k :]
            rest = order[: ndmin - k]
            t = trans1d % ndmin if trans1d >= 0 else trans1d + ndmin
            axes = rest[:t] + old + rest[t:] if t <= len(rest) else rest + old
            v = _sh.transpose(v, axes)
        return v

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        items = []
        for i, item in enumerate(key):
            if isinstance(item, str):
                if i != 0:
                    raise OpError(f"{self.name}: a string directive must come first")
                if item in ("r", "c"):
                    raise OpError(f"{self.name}: matrix directives ('r', 'c') are not supported")
                try:
                    vec = [int(p) for p in item.split(",")]
                except ValueError:
                    raise OpError(f"{self.name}: unknown directive {item!r}") from None
                axis = vec[0]
                if len(vec) > 1:
                    ndmin = vec[1]
                if len(vec) > 2:
                    trans1d = vec[2]
                continue
            if isinstance(item, slice):
                start = 0 if item.start is None else item.start
                step = 1 if item.step is None else item.step
                if isinstance(step, complex):
                    v = _np.linspace(start, item.stop, int(abs(step)))
                else:
                    v = _np.arange(start, item.stop, step)
                items.append(self._lift(v, ndmin, trans1d) if ndmin > 1 else v)
                continue
            if not _is_array(item) and _np.ndim(item) == 0 and not isinstance(item, list):
                items.append(self._lift(_np.asarray(item), max(ndmin, 1), trans1d))
                continue
            items.append(self._lift(item, ndmin, trans1d))
        if not items:
            return _np.array([])
        dt = _np.result_type(*[_dtype(v) for v in items])
        return _jn.concatenate([astype(v, dt) for v in items], axis=axis)


r_ = _AxisConcatenator(
    0, 1, -1, "r_",
    """Concatenation along the first axis by indexing: ``r_[a, b, 0:3, 5]``; slices become
    ``arange`` (or ``linspace`` for a complex step), scalars 1-element arrays; a leading
    string ``'axis,ndmin,trans1d'`` changes the axis as in NumPy. Linear in every piece.""",
)  # fmt: skip
c_ = _AxisConcatenator(
    -1, 2, 0, "c_",
    """Concatenation along the last axis by indexing, 1-d pieces becoming columns:
    ``c_[a, b]`` is ``column_stack`` of 1-d ``a``, ``b``. Linear in every piece.""",
)  # fmt: skip


# ----------------------------------------------------------------- values
def nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Any:
    r"""``x`` with nan replaced by ``nan``, :math:`+\infty` by ``posinf`` and
    :math:`-\infty` by ``neginf`` (by default the largest and smallest finite numbers of
    the dtype); complex numbers have both parts replaced. The derivative is 1 at finite
    elements and 0 at replaced ones."""
    x = _arr(x)
    dt = _np.dtype(_dtype(x))
    if dt.kind not in "fc":
        return x
    if dt.kind == "c":
        re = nan_to_num(_ew.real(x), copy, nan, posinf, neginf)
        im = nan_to_num(_ew.imag(x), copy, nan, posinf, neginf)
        return _ew.add(astype(re, dt), _ew.multiply(astype(im, dt), 1j))
    fi = _np.finfo(dt)
    pos = fi.max if posinf is None else posinf
    neg = fi.min if neginf is None else neginf
    y = _ew.where(_ew.isnan(x), _np.asarray(nan, dt), x)
    y = _ew.where(_ew.isposinf(x), _np.asarray(pos, dt), y)
    return _ew.where(_ew.isneginf(x), _np.asarray(neg, dt), y)


def real_if_close(a: Any, tol: float = 100) -> Any:
    r"""The real part of a complex ``a`` when every imaginary part is within ``tol``
    machine epsilons of 0 (``tol`` > 1) or within ``tol`` (``tol`` <= 1); otherwise ``a``.

    Whether to drop the imaginary part depends on the values, so a traced complex ``a`` is
    refused: call :func:`real` explicitly there."""
    a = _arr(a)
    dt = _np.dtype(_dtype(a))
    if dt.kind != "c":
        return a
    if isinstance(a, Tracer):
        raise OpTypeError(
            "real_if_close: the result's dtype depends on the values of a traced complex "
            "array; use real(a) (derivative: the real part of the tangent) instead"
        )
    if tol > 1:
        tol = _np.finfo(dt).eps * tol
    if bool(_np.all(_np.abs(_np.imag(_np.asarray(a))) < tol)):
        return _ew.real(a)
    return a


def iscomplex(x: Any) -> Any:
    """Elementwise, whether the imaginary part is nonzero (boolean, no derivative)."""
    x = _arr(check_numeric(x, "iscomplex", "x"))
    if _np.dtype(_dtype(x)).kind != "c":
        return zeros(_shape(x), dtype=bool)
    return _ew.not_equal(_ew.imag(x), 0)


def isreal(x: Any) -> Any:
    """Elementwise, whether the imaginary part is zero (boolean, no derivative)."""
    x = _arr(check_numeric(x, "isreal", "x"))
    if _np.dtype(_dtype(x)).kind != "c":
        return ones(_shape(x), dtype=bool)
    return _ew.equal(_ew.imag(x), 0)
