"""The type aliases in the signatures of the transformations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PyTree", "Fun", "Argnums"]

# A nested structure of tuples, lists, dicts and registered nodes with arrays (or Python
# numbers) at its leaves: what transformations take and return.
PyTree = Any

# A function a transformation takes or returns.
Fun = Callable[..., Any]
# Which positional arguments to differentiate: one position or several.
Argnums = int | Sequence[int]
