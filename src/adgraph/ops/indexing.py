r"""Indexing: ``x[idx]`` and its transpose, the scatter-add.

An index is split into a static skeleton (slices, integers, None, Ellipsis, with
placeholders) and its array parts, which travel as positional arguments so that they can
themselves be batched. ``getitem`` is linear in ``x``; its transpose adds the cotangent
into zeros at the indexed positions (repeated indices accumulate, as they must).
"""

from __future__ import annotations

from ..core.primitive import Primitive
from ..core.trace import Tracer
from ._util import OpError, shape

__all__ = ["getitem", "scatter_add", "nonzero", "at"]


class _Slot:
    """Placeholder for the k-th array part of an index."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __repr__(self):
        return f"<index array {self.k}>"

    def __eq__(self, other):
        return isinstance(other, _Slot) and other.k == self.k

    def __hash__(self):
        return hash(("slot", self.k))


def split_index(idx):
    """(static skeleton tuple, list of array parts) for an indexing expression."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    skel = []
    arrays = []
    for i in idx:
        if isinstance(i, (list, tuple)):
            from ..core.xp import module_of

            i = module_of(None).asarray(i)
        if isinstance(i, Tracer) or (hasattr(i, "dtype") and hasattr(i, "ndim")):
            kind = i.dtype.kind
            if kind not in "iub":
                raise OpError(
                    f"indexing: arrays used as indices must be integer or bool, got {i.dtype}"
                )
            if not isinstance(i, Tracer) and i.ndim == 0 and kind in "iu":
                skel.append(int(i))
                continue
            skel.append(_Slot(len(arrays)))
            arrays.append(i)
        elif isinstance(i, float):
            raise OpError(
                f"indexing: float index {i!r}; indices must be integers, slices or arrays"
            )
        else:
            skel.append(i)
    return tuple(skel), arrays


def join_index(skel, arrays):
    return tuple(arrays[s.k] if isinstance(s, _Slot) else s for s in skel)


def _getitem_impl(xp, x, *arrays, skel):
    return x[join_index(skel, arrays)]


def _getitem_tangent(ans, primals, tangents, params):
    t = tangents[0]
    if t is None:
        return None
    return getitem_p.bind(t, *primals[1:], **params)


def _getitem_vjp(ct, ans, args, params, wanted):
    x = args[0]
    from .creation import zeros_raw

    z = zeros_raw(shape(x), x.dtype, x)
    return [scatter_add_p.bind(z, *args[1:], ct, **params)] + [None] * (len(args) - 1)


getitem_p = Primitive(
    "getitem",
    _getitem_impl,
    tangent=_getitem_tangent,
    vjp=_getitem_vjp,
    doc=r"""y = x[idx]. Linear in x; the transpose scatters the cotangent into zeros at idx,
    accumulating repeated indices.""",
)


def _scatter_add_impl(xp, x, *rest, skel):
    arrays, upd = rest[:-1], rest[-1]
    idx = join_index(skel, arrays)
    out = xp.array(x, copy=True)
    if arrays:
        if hasattr(xp, "add") and hasattr(xp.add, "at"):
            xp.add.at(out, idx, upd)
        else:  # pragma: no cover - backends without ufunc.at
            import cupyx

            cupyx.scatter_add(out, idx, upd)
    else:
        out[idx] += upd
    return out


def _scatter_add_tangent(ans, primals, tangents, params):
    tx, tu = tangents[0], tangents[-1]
    if tx is None and tu is None:
        return None
    idx = primals[1:-1]
    if tu is None:
        return tx
    if tx is None:
        from .creation import zeros_raw

        x = primals[0]
        tx = zeros_raw(shape(x), x.dtype, x)
    return scatter_add_p.bind(tx, *idx, tu, **params)


def _scatter_add_vjp(ct, ans, args, params, wanted):
    out = [ct if wanted[0] else None] + [None] * (len(args) - 2)
    out.append(getitem_p.bind(ct, *args[1:-1], **params) if wanted[-1] else None)
    return out


scatter_add_p = Primitive(
    "scatter_add",
    _scatter_add_impl,
    tangent=_scatter_add_tangent,
    vjp=_scatter_add_vjp,
    doc=r"""y = x with u added at idx (repeats accumulate). Linear in (x, u):
    :math:`\bar x = \bar y`, :math:`\bar u = \bar y[idx]`.""",
)


def getitem(x, idx):
    """``x[idx]`` with NumPy's basic, advanced and boolean indexing."""
    skel, arrays = split_index(idx)
    return getitem_p.bind(x, *arrays, skel=skel)


def scatter_add(x, idx, values):
    """``x`` with ``values`` added at ``idx`` (a new array; repeated indices accumulate)."""
    skel, arrays = split_index(idx)
    return scatter_add_p.bind(x, *arrays, values, skel=skel)


def _nonzero_impl(xp, x):
    return xp.nonzero(x)


_nonzero_p = Primitive("nonzero", _nonzero_impl, nondiff=True, multiple_results=True)


def nonzero(a):
    """Indices of the nonzero elements, one integer array per axis (no derivative)."""
    return _nonzero_p.bind(a)


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates returning a new array, as in JAX."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x = x
        self.idx = idx

    def get(self):
        """``x[idx]``."""
        return getitem(self.x, self.idx)

    def add(self, values):
        """``x`` with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return scatter_add(self.x, self.idx, values)


class _IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.x, idx)


def at(x):
    """``at(x)[idx].set(v)`` -- the functional form of ``x[idx] = v`` (also ``.add``)."""
    return _IndexUpdateHelper(x)
