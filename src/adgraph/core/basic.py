"""Late-bound handles on the few array operations the engine itself needs.

The transformation engine (``adgraph.ad``) sits below the operations (``adgraph.ops``) in
the layering, yet it must add cotangents, sum a broadcast cotangent back to an argument's
shape, and cast tangents to their primal's dtype -- differentiably, so outer levels can
trace them. ``adgraph.ops`` fills these names in when it is imported; until then they
are ``None``.
"""

from __future__ import annotations

add = None  # add(x, y)
mul = None  # mul(x, y)
neg = None  # neg(x)
sum_to_shape = None  # sum_to_shape(x, shape): reverse of broadcasting
broadcast_to = None  # broadcast_to(x, shape)
astype = None  # astype(x, dtype)
real = None  # real(x)
getitem = None  # getitem(x, idx)
reshape = None  # reshape(x, shape)
stack = None  # stack(list_of_arrays, axis=0)
zeros = None  # zeros(shape, dtype, like) -> raw zeros in the array module of ``like``
