"""``autograd.numpy.linalg``: adgraph.numpy.linalg, and autograd's helpers ``T`` (swap the
last two axes) and ``_dot`` (matrix product over the last two axes of stacks)."""

from typing import Any as _Any

from ... import numpy as _anp
from ...numpy.linalg import *  # noqa: F401,F403


def T(x: _Any) -> _Any:
    """``x`` with its last two axes swapped (the transpose of each matrix of a stack)."""
    return _anp.swapaxes(x, -1, -2)


def _dot(a: _Any, b: _Any) -> _Any:
    """The matrix product of each pair of matrices of the stacks ``a`` and ``b``."""
    return _anp.einsum("...ij,...jk->...ik", a, b)
