"""``autograd.scipy``: adgraph.scipy under autograd's names (``special``, ``stats``,
``linalg``, ``integrate``), and autograd's own ``signal.convolve``.

``linalg``, ``integrate`` and ``signal`` are imported on first use (``adgraph.autograd.scipy.linalg``
or ``import adgraph.autograd.scipy.linalg``), as SciPy's own submodules are.
"""

import importlib as _importlib
from typing import Any as _Any

from . import special, stats  # noqa: F401

_LAZY = ("linalg", "integrate", "signal")


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
