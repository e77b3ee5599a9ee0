"""autograd's ``autograd.builtins``: adgraph traces through Python's own containers, so
these are Python's ``tuple``, ``list``, ``dict``, ``isinstance`` and ``type``."""

from __future__ import annotations

import builtins as _b

tuple = _b.tuple  # noqa: A001
list = _b.list  # noqa: A001
dict = _b.dict  # noqa: A001
isinstance = _b.isinstance  # noqa: A001
type = _b.type  # noqa: A001

__all__ = ["tuple", "list", "dict", "isinstance", "type"]
