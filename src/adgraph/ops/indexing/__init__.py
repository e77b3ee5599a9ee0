r"""Indexing: ``x[idx]``, the functional updates ``x.at[idx]``, take, sort and friends.

An index is split into a static skeleton (slices, integers, None, Ellipsis, with
placeholders) and its array parts, which travel as positional arguments so that they can
themselves be batched by ``vmap``. A concrete boolean mask is turned into the integer
arrays of its nonzero positions when the index is split, as NumPy itself does, so every
rule below only ever sees integer index arrays (a *traced* mask -- one that varies along a
``vmap`` batch -- is batched by a loop).

``getitem`` is linear in ``x``; its transpose is the scatter-add, which adds the cotangent
into zeros at the indexed positions (repeated indices accumulate, as they must). The
functional updates are scatters:

=========================  ==================================  ===========================
``x.at[idx]...``           result                              repeated indices
=========================  ==================================  ===========================
``.set(v)``                ``x`` with ``v`` written at idx     the last write wins (NumPy)
``.add(v)``                ``v`` added at idx                  accumulate
``.multiply(v)``           ``x`` multiplied by ``v`` at idx    accumulate (product)
``.min(v)`` / ``.max(v)``  ``minimum(x[idx], v)`` written      accumulate (min / max)
=========================  ==================================  ===========================

Where NumPy puts the dimensions of an advanced index matters to the batching rules: when
the advanced indices (integer arrays, and integers among them) are *adjacent* in the index
tuple, their broadcast dimensions replace them in place; when a slice, None or Ellipsis
separates them, NumPy moves the broadcast dimensions to the front. :func:`_index_layout`
reproduces that rule, and the batching rules transpose the result accordingly.

The package's modules: :mod:`.index` (splitting an index, its layout, the batched
rewrite), :mod:`.gather` (getitem and the scatter-add, take, take_along_axis and their
transposes), :mod:`.scatter` (the ``x.at[idx]`` updates) and :mod:`.sorting` (sort,
argsort, nonzero, argwhere, flatnonzero). Besides ``__all__``, the package gives the
backends its extension points, its primitives, and the index helpers that their own
gathers and scatters reuse.
"""

from __future__ import annotations

from .gather import ADD_AT as ADD_AT
from .gather import GATHER as GATHER
from .gather import GATHER_ALONG as GATHER_ALONG
from .gather import PUT_ALONG_ADD as PUT_ALONG_ADD
from .gather import SCATTER as SCATTER
from .gather import TAKE_ALONG_AXIS as TAKE_ALONG_AXIS
from .gather import ZEROS_LIKE as ZEROS_LIKE
from .gather import _along_index as _along_index
from .gather import _rounds as _rounds
from .gather import getitem, take, take_along_axis
from .gather import getitem_p as getitem_p
from .gather import put_along_add_p as put_along_add_p
from .gather import scatter_add_p as scatter_add_p
from .gather import take_along_p as take_along_p
from .index import INDEX_MODULE as INDEX_MODULE
from .index import _index_layout as _index_layout
from .index import _inverse_perm as _inverse_perm
from .index import _is_int as _is_int
from .index import _result_shape as _result_shape
from .index import _Slot as _Slot
from .index import join_index as join_index
from .index import split_index as split_index
from .scatter import at, scatter_add
from .scatter import scatter_max_p as scatter_max_p
from .scatter import scatter_min_p as scatter_min_p
from .scatter import scatter_mul_p as scatter_mul_p
from .scatter import scatter_p as scatter_p
from .sorting import ARGSORT as ARGSORT
from .sorting import SORT as SORT
from .sorting import argsort, argwhere, flatnonzero, nonzero, sort

__all__ = [
    "getitem",
    "scatter_add",
    "nonzero",
    "at",
    "take",
    "take_along_axis",
    "sort",
    "argsort",
    "argwhere",
    "flatnonzero",
]
