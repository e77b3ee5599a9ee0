r"""The functional updates ``x.at[idx].set/add/multiply/min/max(v)`` and the scatters
behind them (see the table in :mod:`adgraph.ops.indexing`)."""

from __future__ import annotations

from typing import Any

import numpy as _np  # shape arithmetic only (broadcast_shapes); never computes on arrays

from ...ad.sparsity import add_at_rule
from ...ad.taylor import RULES as _TAYLOR
from ...core import extend
from ...core.primitive import Primitive
from .._util import OpError, shape
from .gather import (
    SCATTER,
    _apply_rounds,
    _flat_updates,
    _scatter_batch,
    _scatter_impl,
    _zeros_like,
    getitem,
    getitem_p,
    scatter_add_p,
)
from .index import _xp_of, join_index, split_index


def scatter_add(x, idx, values):
    r"""``x`` with ``values`` added at ``idx`` (a new array; repeated indices accumulate).

    The same as ``x.at[idx].add(values)``. Linear in both: :math:`\bar x = \bar y`,
    :math:`\bar v = \bar y[\mathrm{idx}]` (summed down to the shape of ``values`` where
    they were broadcast).
    """
    return _IndexUpdateRef(x, idx)._bind(scatter_add_p, values, None, "scatter_add")


# --- set
def _set_impl(xp, x, *rest, skel):
    arrays, v = rest[:-1], rest[-1]
    if xp is not _np and (alt := extend.lookup(SCATTER, xp)) is not None:
        return alt(x, arrays, v, skel, "set")
    out = xp.array(x, copy=True)
    idx = join_index(skel, arrays)
    if not arrays or xp is _np:
        out[idx] = v  # NumPy: the last write to a repeated position wins
        return out
    # Elsewhere the order of colliding writes is unspecified: pick the last one
    # explicitly (the largest update number per position), as NumPy does.
    lin, vals = _flat_updates(xp, out, idx, v)
    ids = xp.arange(lin.size)
    last = xp.full(out.size, -1, dtype=ids.dtype)
    _apply_rounds(xp, xp.maximum, last, lin, ids)
    win = last[lin] == ids
    out.reshape(-1)[lin[win]] = vals[win]
    return out


def _winners(args, params, like_shape):
    """Boolean mask over the (broadcast) update: True for the updates whose write survives
    when indices repeat (computed by writing each update's position and reading back)."""
    from ..elementwise import equal

    x, arrays = args[0], args[1:-1]
    xp = _xp_of(x)
    n = 1
    for d in like_shape:
        n *= d
    ids = xp.arange(n).reshape(like_shape)
    board = xp.full(shape(x), -1, dtype=ids.dtype)
    board = scatter_p.bind(board, *arrays, ids, **params)
    return equal(getitem_p.bind(board, *arrays, **params), ids)


def _set_tangent(ans, primals, tangents, params):
    tx, tv = tangents[0], tangents[-1]
    if tx is None and tv is None:
        return None
    arrays = primals[1:-1]
    if tx is None:
        tx = _zeros_like(primals[0])
    return scatter_p.bind(tx, *arrays, 0.0 if tv is None else tv, **params)


def _set_vjp(ct, ans, args, params, wanted):
    arrays = args[1:-1]
    out = [scatter_p.bind(ct, *arrays, 0.0, **params) if wanted[0] else None]
    out += [None] * len(arrays)
    if wanted[-1]:
        g = getitem_p.bind(ct, *arrays, **params)
        if arrays:
            from ..elementwise import where

            g = where(_winners(args, params, shape(g)), g, 0.0)
        out.append(g)
    else:
        out.append(None)
    return out


scatter_p = Primitive(
    "scatter",
    _set_impl,
    joint_tangent=_set_tangent,
    joint_vjp=_set_vjp,
    sparsity=add_at_rule(getitem_p.impl),  # keeps x where v overwrites it: wider, never narrower
    doc=r"""y = x with v written at idx. Linear in (x, v): :math:`\bar x = \bar y` with
    zeros at idx, :math:`\bar v = \bar y[idx]` restricted to the writes that survive
    (with repeated indices the last write wins, as in NumPy).""",
    taylor=_TAYLOR["scatter"],
)

scatter_p.batch = _scatter_batch(scatter_p)


# --- multiply
def _mul_factor(args, params, res_shape):
    r"""For each (broadcast) update :math:`v_k`, the product of the *other* updates that
    land on the same position: :math:`\partial(\prod_j v_j)/\partial v_k`, exact also at
    zeros and in its own derivatives.

    It is the product of the nonzero others (all nonzero updates, with :math:`v_k` divided
    out) times the product of the zero others, written as a polynomial in their values:
    1 without one, their sum with one, :math:`e_2 = (p_1^2 - p_2)/2` with two. Each is 0 at
    a zero but has the right derivatives there, so the Hessian of a product with two or
    three zeros at a position is right (selecting a constant 0 made it 0). With more
    zero others the factor is 0 with a zero first and second derivative, as it should be
    (a product of three or more zeros vanishes to third order).
    """
    from ..elementwise import divide, equal, multiply, subtract, where
    from ..misc import astype
    from ..shapes import broadcast_to

    x, arrays, v = args[0], args[1:-1], args[-1]
    if not arrays:
        return 1.0
    from ..creation import zeros_raw

    vb = broadcast_to(v, res_shape)
    ones = _xp_of(x).ones(shape(x), dtype=vb.dtype)
    zero = equal(vb, 0)
    safe = where(zero, 1.0, vb)

    def gathered_sum(u, dtype):  # sum over the updates at each one's position
        total = scatter_add_p.bind(zeros_raw(shape(x), dtype, x), *arrays, u, **params)
        return getitem_p.bind(total, *arrays, **params)

    prod_nz = getitem_p.bind(scatter_mul_p.bind(ones, *arrays, safe, **params), *arrays, **params)
    others_nz = divide(prod_nz, safe)
    nzeros = subtract(gathered_sum(astype(zero, _np.int64), _np.int64), astype(zero, _np.int64))
    vz = where(zero, vb, 0.0)  # 0 in value; carries the zero updates' derivatives
    p1 = subtract(gathered_sum(vz, vb.dtype), vz)
    p2 = subtract(gathered_sum(multiply(vz, vz), vb.dtype), multiply(vz, vz))
    e2 = multiply(subtract(multiply(p1, p1), p2), 0.5)
    zeros_part = where(
        equal(nzeros, 0), 1.0, where(equal(nzeros, 1), p1, where(equal(nzeros, 2), e2, 0.0))
    )
    return multiply(zeros_part, others_nz)


def _mul_tangent(ans, primals, tangents, params):
    from ..elementwise import multiply

    tx, tv = tangents[0], tangents[-1]
    x, arrays, v = primals[0], primals[1:-1], primals[-1]
    out = None
    if tx is not None:
        out = scatter_mul_p.bind(tx, *arrays, v, **params)
    if tv is not None:
        res = shape(getitem_p.bind(x, *arrays, **params))
        contrib = multiply(tv, _mul_factor(primals, params, res))
        added = scatter_add_p.bind(_zeros_like(ans), *arrays, contrib, **params)
        term = multiply(x, added)
        out = term if out is None else out + term
    return out


def _mul_vjp(ct, ans, args, params, wanted):
    from ..elementwise import multiply

    x, arrays, v = args[0], args[1:-1], args[-1]
    out = [scatter_mul_p.bind(ct, *arrays, v, **params) if wanted[0] else None]
    out += [None] * len(arrays)
    if wanted[-1]:
        g = getitem_p.bind(multiply(ct, x), *arrays, **params)
        out.append(multiply(g, _mul_factor(args, params, shape(g))))
    else:
        out.append(None)
    return out


scatter_mul_p = Primitive(
    "scatter_mul",
    _scatter_impl("multiply", lambda xp, cur, u: cur * u),
    joint_tangent=_mul_tangent,
    joint_vjp=_mul_vjp,
    sparsity=add_at_rule(getitem_p.impl),
    doc=r"""y = x multiplied by v at idx (repeats multiply). Linear in x,
    :math:`\bar x = \bar y \prod v`; :math:`\bar v_k = (\bar y x)[idx_k] \prod_{j \ne k}
    v_j` over the updates j landing on the same position (exact at zeros).""",
)
scatter_mul_p.batch = _scatter_batch(scatter_mul_p)


# --- min / max
def _extremum_parts(ans, args, params):
    """(mask over x, mask over the updates, count of tied winners per position)."""
    from ..elementwise import add, equal, where
    from ..misc import astype

    x, arrays, v = args[0], args[1:-1], args[-1]
    mx = equal(x, ans)
    mv = equal(v, getitem_p.bind(ans, *arrays, **params))
    dt = ans.dtype
    count = add(
        astype(mx, dt),
        scatter_add_p.bind(_zeros_like(ans), *arrays, astype(mv, dt), **params),
    )
    count = where(equal(count, 0), 1.0, count)
    return mx, mv, count


def _extremum_tangent(ans, primals, tangents, params):
    from ..elementwise import add, divide, where

    tx, tv = tangents[0], tangents[-1]
    if tx is None and tv is None:
        return None
    arrays = primals[1:-1]
    mx, mv, count = _extremum_parts(ans, primals, params)
    num = None
    if tx is not None:
        num = where(mx, tx, 0.0)
    if tv is not None:
        sv = scatter_add_p.bind(_zeros_like(ans), *arrays, where(mv, tv, 0.0), **params)
        num = sv if num is None else add(num, sv)
    return divide(num, count)


def _extremum_vjp(ct, ans, args, params, wanted):
    from ..elementwise import divide, where

    arrays = args[1:-1]
    mx, mv, count = _extremum_parts(ans, args, params)
    share = divide(ct, count)
    out = [where(mx, share, 0.0) if wanted[0] else None] + [None] * len(arrays)
    out.append(where(mv, getitem_p.bind(share, *arrays, **params), 0.0) if wanted[-1] else None)
    return out


scatter_min_p = Primitive(
    "scatter_min",
    _scatter_impl("minimum", lambda xp, cur, u: xp.minimum(cur, u)),
    joint_tangent=_extremum_tangent,
    joint_vjp=_extremum_vjp,
    sparsity=add_at_rule(getitem_p.impl),
    doc=r"""y = x with minimum(x[idx], v) written at idx (repeats accumulate). The
    derivative at each position goes to the elements (of x and of v) equal to the result,
    split evenly between ties.""",
    taylor=_TAYLOR["scatter_min"],
)
scatter_min_p.batch = _scatter_batch(scatter_min_p)
scatter_max_p = Primitive(
    "scatter_max",
    _scatter_impl("maximum", lambda xp, cur, u: xp.maximum(cur, u)),
    joint_tangent=_extremum_tangent,
    joint_vjp=_extremum_vjp,
    sparsity=add_at_rule(getitem_p.impl),
    doc=r"""y = x with maximum(x[idx], v) written at idx (repeats accumulate). The
    derivative at each position goes to the elements (of x and of v) equal to the result,
    split evenly between ties.""",
    taylor=_TAYLOR["scatter_max"],
)
scatter_max_p.batch = _scatter_batch(scatter_max_p)


class _IndexUpdateRef:
    r"""``x.at[idx]``: functional updates returning a new array, as in JAX.

    Every method returns a new array and leaves ``x`` alone. Index arrays carry no
    derivative; ``x`` and the values do:

    * ``set(v)``: :math:`\bar x = \bar y` with zeros at idx, :math:`\bar v = \bar y[idx]`.
      With a repeated index the last write wins, as in NumPy (also on CuPy, whose own
      assignment leaves the order of colliding writes unspecified), and only the
      surviving write receives a derivative.
    * ``add(v)``: repeated indices accumulate; :math:`\bar x = \bar y`,
      :math:`\bar v = \bar y[idx]`.
    * ``multiply(v)``: repeated indices multiply;
      :math:`\bar x = \bar y \prod_k v_k`, :math:`\bar v_k = (\bar y x)[idx_k]
      \prod_{j\ne k} v_j`.
    * ``min(v)`` / ``max(v)``: repeated indices accumulate; the derivative goes to the
      elements equal to the result, split evenly between ties (as for ``max``).
    * ``get()``: ``x[idx]``.

    Values broadcast to the shape of ``x[idx]``; their derivatives are summed back.
    """

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x = x
        self.idx = idx

    def _bind(self, prim, values, mode, op=".at[...]"):
        if mode in ("clip", "drop", "fill"):
            return _update_with_mode(self.x, self.idx, mode, lambda r: r._bind(prim, values, None))
        if mode not in (None, "promise_in_bounds", "raise"):
            raise OpError(
                f"{op}: mode={mode!r} is not supported; use None (out-of-bound indices raise "
                "IndexError, as in NumPy), 'clip', 'drop' or 'fill'"
            )
        skel, arrays = split_index(self.idx, self.x)
        try:
            return prim.bind(self.x, *arrays, values, skel=skel)
        except ValueError as e:
            if type(e) is not ValueError or "broadcast" not in str(e):
                raise
            raise OpError(
                f"{op}: values of shape {shape(values)} do not broadcast to the shape of "
                f"x[idx], {shape(getitem(self.x, self.idx))} (x has shape {shape(self.x)})"
            ) from None

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``x[idx]`` (see :func:`getitem`). ``mode``: None (out-of-bound indices raise
        IndexError, as in NumPy), ``"clip"`` (clamped into range) or ``"fill"`` (those
        positions read ``fill_value``: NaN for floating point, the most negative integer
        for signed, the largest for unsigned, True for booleans)."""
        if mode in (None, "promise_in_bounds", "raise"):
            if fill_value is not None:
                raise OpError(".at[...].get: fill_value applies with mode='fill' only")
            return getitem(self.x, self.idx)
        if mode not in ("clip", "fill"):
            raise OpError(
                f".at[...].get: mode={mode!r} is not supported; use None, 'clip' or 'fill'"
            )
        if mode == "clip" and fill_value is not None:
            raise OpError(".at[...].get: fill_value applies with mode='fill' only")
        return _get_with_mode(self.x, self.idx, mode, fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        r"""``x`` with ``values`` written at ``idx`` (the last write wins for repeats)."""
        return self._bind(scatter_p, values, mode)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return self._bind(scatter_add_p, values, mode)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``values`` subtracted at ``idx`` (repeated indices accumulate)."""
        from ..elementwise import negative

        return self._bind(scatter_add_p, negative(values), mode)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` multiplied by ``values`` at ``idx`` (repeated indices multiply)."""
        return self._bind(scatter_mul_p, values, mode)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` divided by ``values`` at ``idx`` (``multiply(1 / values)``)."""
        from ..elementwise import reciprocal

        return self._bind(scatter_mul_p, reciprocal(values), mode)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        r"""``x`` with ``x[idx] ** values`` at ``idx``. A repeated index raises to each of
        its values in turn, :math:`(x^{v_1})^{v_2} = x^{v_1 v_2}`, as ``multiply`` does
        for factors (the exponents multiply)."""
        if mode in ("clip", "drop", "fill"):
            return _update_with_mode(
                self.x, self.idx, mode, lambda r: r.power(values, mode=None), ".at[...].power"
            )
        from ..creation import ones_like
        from ..elementwise import power

        exps = _IndexUpdateRef(ones_like(self.x), self.idx).multiply(values, mode=mode)
        powered = power(getitem(self.x, self.idx), getitem(exps, self.idx))
        return self._bind(scatter_p, powered, mode, ".at[...].power")

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``func(x[idx])`` at ``idx`` (NumPy's ``ufunc.at``): ``func`` is
        elementwise (an adgraph.numpy ufunc, or a function of adgraph operations). A
        repeated index would apply ``func`` more than once; it is refused where the
        indices are known, and ``unique_indices=True`` promises there is none where they
        are traced."""
        if not callable(func):
            raise OpError(f".at[...].apply: func must be callable, got {type(func).__name__}")
        if mode in ("clip", "drop", "fill"):
            return _update_with_mode(
                self.x,
                self.idx,
                mode,
                lambda r: r.apply(func, unique_indices=unique_indices),
                ".at[...].apply",
            )
        _check_unique(self.x, self.idx, unique_indices, ".at[...].apply")
        return self._bind(scatter_p, func(getitem(self.x, self.idx)), mode, ".at[...].apply")

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``minimum(x[idx], values)`` at ``idx`` (repeats accumulate)."""
        return self._bind(scatter_min_p, values, mode)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``maximum(x[idx], values)`` at ``idx`` (repeats accumulate)."""
        return self._bind(scatter_max_p, values, mode)

    def __repr__(self):
        return f"_IndexUpdateRef({self.idx!r})"

    def __getattr__(self, name):
        raise AttributeError(
            f"x.at[idx] has no method {name!r}; use one of .set, .add, .subtract, .multiply, "
            ".divide, .power, .min, .max, .apply or .get"
        )


class _IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.x, idx)

    def __getattr__(self, name):
        raise AttributeError(
            f"x.at has no attribute {name!r}; index it first: x.at[idx].set(v) (also .add, "
            ".subtract, .multiply, .divide, .power, .min, .max, .apply, .get)"
        )


def at(x: Any) -> _IndexUpdateHelper:
    r"""``at(x)[idx].set(v)`` -- the functional form of ``x[idx] = v``, as ``x.at`` of a
    traced array (also ``.add``, ``.subtract``, ``.multiply``, ``.divide``, ``.min``,
    ``.max``, ``.get``). Each returns a new array.

    Derivatives: for ``set``, :math:`\bar x` is :math:`\bar y` with zeros at idx and
    :math:`\bar v = \bar y[\mathrm{idx}]` (only the surviving write of a repeated index);
    ``add`` is linear; ``multiply`` scales by the product of the other factors; ``min`` and
    ``max`` send the derivative to the winning elements, split evenly between ties.
    """
    return _IndexUpdateHelper(x)


# ------------------------------------------------------------------ out-of-bound modes
def _components(x, idx):
    """``(index tuple, [(position, axis) of each integer component])``: the integer
    scalars and arrays of the index, with the axis of ``x`` each one indexes."""
    from ...core.trace import Tracer

    comps = idx if isinstance(idx, tuple) else (idx,)
    nd = len(shape(x))

    def consumed(c):
        if c is None or c is Ellipsis:
            return 0
        dt = getattr(c, "dtype", None)
        if dt is None and isinstance(c, (list, bool)):
            dt = _np.asarray(c).dtype
        if dt is not None and dt.kind == "b":
            return len(shape(c)) if not isinstance(c, bool) else 0
        return 1

    n_used = sum(consumed(c) for c in comps)
    ints, axis = [], 0
    for pos, c in enumerate(comps):
        if c is Ellipsis:
            axis += nd - n_used
            continue
        k = consumed(c)
        is_int = isinstance(c, (int, _np.integer)) and not isinstance(c, bool)
        if not is_int and k == 1 and not isinstance(c, slice):
            arr = c if isinstance(c, Tracer) else _np.asarray(c)
            is_int = arr.dtype.kind in "iu"
        if is_int:
            ints.append((pos, axis))
        axis += k
    return comps, ints


def _remap(comps, ints, x, how):
    """The index with each integer component ``c`` (indexing an axis of size ``n``)
    replaced by ``how(c normalised into [0, n) where it is in range, n)``."""
    from ..elementwise import add, less, where

    new = list(comps)
    for pos, ax in ints:
        n = shape(x)[ax]
        c = new[pos]
        new[pos] = how(where(less(c, 0), add(c, n), c), n)
    return tuple(new)


def _out_of_range(c, n):
    from ..elementwise import greater_equal, less, logical_or

    return logical_or(less(c, 0), greater_equal(c, n))


def _pad(x, axes, value):
    """``x`` with one more entry, ``value``, at the end of each of ``axes``."""
    from ..creation import full
    from ..joining import concatenate

    for ax in sorted(set(axes)):
        s = list(shape(x))
        s[ax] = 1
        x = concatenate([x, full(tuple(s), value, dtype=x.dtype)], axis=ax)
    return x


def _default_fill(dtype):
    dtype = _np.dtype(dtype)
    if dtype.kind in "fc":
        return _np.nan
    if dtype.kind == "i":
        return _np.iinfo(dtype).min
    if dtype.kind == "u":
        return _np.iinfo(dtype).max
    return True


def _get_with_mode(x, idx, mode, fill_value):
    from ..elementwise import clip, where

    comps, ints = _components(x, idx)
    if mode == "clip":
        return getitem(x, _remap(comps, ints, x, lambda c, n: clip(c, 0, n - 1)))
    if fill_value is None:
        fill_value = _default_fill(x.dtype)
    padded = _pad(x, [ax for _, ax in ints], fill_value)
    return getitem(padded, _remap(comps, ints, x, lambda c, n: where(_out_of_range(c, n), n, c)))


def _update_with_mode(x, idx, mode, update, op=".at[...]"):
    """An update under ``mode``: 'clip' clamps the indices into range; 'drop' and 'fill'
    skip out-of-bound updates (they go to a padding entry that is cut off again)."""
    from ..elementwise import clip, where

    comps, ints = _components(x, idx)
    if mode == "clip":
        return update(_IndexUpdateRef(x, _remap(comps, ints, x, lambda c, n: clip(c, 0, n - 1))))
    axes = [ax for _, ax in ints]
    padded = _pad(x, axes, 0)
    new = _remap(comps, ints, x, lambda c, n: where(_out_of_range(c, n), n, c))
    y = update(_IndexUpdateRef(padded, new))
    cut = [slice(None)] * len(shape(x))
    for ax in set(axes):
        cut[ax] = slice(0, shape(x)[ax])
    return getitem(y, tuple(cut))


def _check_unique(x, idx, unique_indices, op):
    """Refuse a repeated position among the integer index arrays, where they are known."""
    from ...core.trace import Tracer

    if unique_indices:
        return
    comps, ints = _components(x, idx)
    if not ints:
        return
    arrays = [comps[pos] for pos, _ in ints]
    if any(isinstance(a, Tracer) for a in arrays):
        raise OpError(
            f"{op}: the indices are traced, so a repeated position (which would apply the "
            "function more than once) cannot be ruled out; pass unique_indices=True if "
            "there is none"
        )
    sizes = [shape(x)[ax] for _, ax in ints]
    arrays = [_np.where(_np.asarray(a) < 0, _np.asarray(a) + n, a) for a, n in zip(arrays, sizes)]
    b = _np.broadcast_arrays(*arrays)
    flat = _np.ravel_multi_index(tuple(_np.ravel(a) for a in b), sizes, mode="wrap")
    if _np.unique(flat).size != flat.size:
        raise OpError(
            f"{op}: an index repeats a position, where NumPy's ufunc.at would apply the "
            "function again; apply it to unique indices (np.unique), or compose the function"
        )
