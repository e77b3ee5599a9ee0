r"""``autograd.scipy.signal``: autograd's ``convolve``, a tensor convolution.

autograd's ``convolve(A, B, axes=None, dot_axes=[(), ()], mode='full')`` is not SciPy's:
it convolves ``A`` and ``B`` along the paired ``axes`` (``axes[0]`` of ``A`` with
``axes[1]`` of ``B``; by default all of them), contracts the paired ``dot_axes`` as
``tensordot`` does, and keeps every other axis. The result's axes are ``A``'s other
axes, then ``B``'s, then the convolved ones -- the layer of a convolutional network in one
call (``convolve(images, filters, axes=([2, 3], [2, 3]), dot_axes=([1], [0]),
mode='valid')``). ``mode='full'`` gives lengths :math:`n_A + n_B - 1`; ``'valid'`` gives
:math:`|n_A - n_B| + 1`, where one array must be at least as long as the other along
every convolved axis; ``'same'`` gives :math:`n_A`, the middle of the full result (as
SciPy's ``convolve`` centres it).

It is a sum over the kernel's offsets of ``tensordot``\ s of shifted windows, built from
adgraph.numpy's operations, so it differentiates in both modes and to any order.
adgraph.scipy.signal has SciPy's own ``convolve`` and the rest of ``scipy.signal``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as _np

from ... import numpy as anp

__all__ = ["convolve"]


def _axes_pair(pair: Any, what: str) -> tuple[list[int], list[int]]:
    try:
        a, b = pair
        a, b = [int(i) for i in a], [int(i) for i in b]
    except (TypeError, ValueError):
        raise TypeError(
            f"convolve: {what} must be a pair of axis lists, one for each array, got {pair!r}"
        ) from None
    if len(a) != len(b):
        raise ValueError(f"convolve: {what} pairs {len(a)} axes of A with {len(b)} of B")
    return a, b


def convolve(
    A: Any,
    B: Any,
    axes: Sequence[Sequence[int]] | None = None,
    dot_axes: Sequence[Sequence[int]] = ((), ()),
    mode: str = "full",
) -> Any:
    """The tensor convolution of ``A`` and ``B`` (see the module docstring)."""
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"convolve: mode must be 'full', 'valid' or 'same', got {mode!r}")
    sa, sb = _np.shape(A), _np.shape(B)
    if mode == "same":
        # the middle of the full convolution, as long as A along each convolved axis
        full = convolve(A, B, axes, dot_axes, "full")
        if axes is None:
            conv_a, conv_b = list(range(len(sa))), list(range(len(sb)))
        else:
            conv_a, conv_b = _axes_pair(axes, "axes")
        keep = tuple(
            slice((sb[j] - 1) // 2, (sb[j] - 1) // 2 + sa[i]) for i, j in zip(conv_a, conv_b)
        )
        return full[(Ellipsis, *keep)]
    if axes is None:
        if len(sa) != len(sb):
            raise ValueError(
                f"convolve: A has {len(sa)} axes and B {len(sb)}; give axes to pair them"
            )
        axes = (list(range(len(sa))), list(range(len(sb))))
    conv_a, conv_b = _axes_pair(axes, "axes")
    dot_a, dot_b = _axes_pair(dot_axes, "dot_axes")
    conv_a = [i % len(sa) for i in conv_a]
    conv_b = [i % len(sb) for i in conv_b]
    dot_a = [i % len(sa) for i in dot_a]
    dot_b = [i % len(sb) for i in dot_b]
    for i, j in zip(dot_a, dot_b):
        if sa[i] != sb[j]:
            raise ValueError(
                f"convolve: dot axis {i} of A has length {sa[i]}, axis {j} of B {sb[j]}"
            )
    if mode == "valid":
        longer_a = all(sa[i] >= sb[j] for i, j in zip(conv_a, conv_b))
        longer_b = all(sb[j] >= sa[i] for i, j in zip(conv_a, conv_b))
        if not (longer_a or longer_b):
            raise ValueError(
                "convolve: with mode='valid' one array must be at least as long as the other "
                "along every convolved axis"
            )
        if not longer_a:
            # convolution is symmetric: B over A, with A's other axes put first again
            out = convolve(B, A, (conv_b, conv_a), (dot_b, dot_a), mode)
            n_ib = len(sb) - len(conv_b) - len(dot_b)
            n_ia = len(sa) - len(conv_a) - len(dot_a)
            order = [*range(n_ib, n_ib + n_ia), *range(n_ib), *range(n_ib + n_ia, anp.ndim(out))]
            return anp.transpose(out, order)
    ign_a = [i for i in range(len(sa)) if i not in conv_a and i not in dot_a]
    ign_b = [j for j in range(len(sb)) if j not in conv_b and j not in dot_b]
    # A as (ignored, dot, convolved), B as (ignored, dot, convolved), B flipped
    a = anp.transpose(A, ign_a + dot_a + conv_a)
    b = anp.flip(anp.transpose(B, ign_b + dot_b + conv_b), axis=tuple(range(-len(conv_b), 0)))
    kernel = [sb[j] for j in conv_b]
    if mode == "full":
        pad = [(0, 0)] * (len(sa) - len(conv_a)) + [(k - 1, k - 1) for k in kernel]
        a = anp.pad(a, pad)
    lengths = _np.shape(a)[len(sa) - len(conv_a) :]
    out_len = [n - k + 1 for n, k in zip(lengths, kernel)]
    n_ia, n_d = len(ign_a), len(dot_a)
    lead = (slice(None),) * (n_ia + n_d)
    contract = (list(range(n_ia, n_ia + n_d)), list(range(len(ign_b), len(ign_b) + n_d)))
    total = None
    for offset in itertools.product(*(range(k) for k in kernel)):
        window = a[lead + tuple(slice(o, o + m) for o, m in zip(offset, out_len))]
        term = anp.tensordot(window, b[(Ellipsis, *offset)], axes=contract)
        total = term if total is None else total + term
    # tensordot gives (ignored A, convolved, ignored B): move the convolved axes last
    n_c = len(conv_a)
    order = [*range(n_ia), *range(n_ia + n_c, n_ia + n_c + len(ign_b)), *range(n_ia, n_ia + n_c)]
    return anp.transpose(total, order)
