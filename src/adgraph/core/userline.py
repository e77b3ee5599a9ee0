"""Warnings raised inside adgraph are shown at the user's line.

NumPy reports a floating-point problem (``divide by zero encountered in log``) from C, and
Python attributes such a warning to the innermost Python frame: a line of an adgraph rule,
such as the reciprocal in the derivative of ``log``. That line tells the user nothing. The
hook installed here shows the warning at the first frame outside adgraph instead: the line
of the user's function that applied the operation, or the line that called ``grad`` when
the warning came from a derivative rule in the reverse sweep.

Only the place shown changes: the message, the category, the filters and the ``once per
location`` bookkeeping are Python's. The hook wraps whatever ``warnings.showwarning`` was
when adgraph was imported and calls it; a program that installs its own ``showwarning``
afterwards (or records warnings with ``warnings.catch_warnings(record=True)``) sees the
original location. Code in ``adgraph.examples`` counts as user code: a warning there is
shown at the example's line.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

__all__ = ["install", "user_frame"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_EXAMPLES = os.path.join(_PACKAGE, "examples") + os.sep
_WARNINGS = os.path.abspath(warnings.__file__)


def _inside(filename: str) -> bool:
    # adgraph's own frames, except its examples (which are programs written with adgraph)
    return filename.startswith(_PACKAGE) and not filename.startswith(_EXAMPLES)


def user_frame(start: Any = None) -> Any:
    """The innermost frame, from ``start`` (default: the caller) outwards, that lies outside
    adgraph and outside the ``warnings`` module; ``None`` when every frame is adgraph's."""
    f = sys._getframe(1) if start is None else start
    while f is not None:
        name = f.f_code.co_filename
        if not (_inside(name) or name == _WARNINGS or name.startswith("<frozen")):
            return f
        f = f.f_back
    return None


def _wrap(show: Any) -> Any:
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if isinstance(filename, str) and _inside(os.path.abspath(filename)):
            f = user_frame(sys._getframe(1))
            if f is not None:
                filename, lineno, line = f.f_code.co_filename, f.f_lineno, None
        show(message, category, filename, lineno, file, line)

    showwarning._adgraph_user_line = True  # type: ignore[attr-defined]
    return showwarning


def install() -> None:
    """Wrap ``warnings.showwarning`` once (a second call does nothing)."""
    if not getattr(warnings.showwarning, "_adgraph_user_line", False):
        warnings.showwarning = _wrap(warnings.showwarning)
