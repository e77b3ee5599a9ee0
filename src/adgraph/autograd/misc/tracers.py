"""``autograd.misc.tracers``: ``const_graph``, trace once and replay.

``const_graph(fun, *args, **kwargs)`` is ``fun`` with ``args``/``kwargs`` bound in front,
traced on its first call and replayed on later ones: adgraph's :func:`adgraph.jit`. As in
autograd, it is right only for a function whose operations do not depend on the values
it is called with (no Python branching on them). A replay does not run the Python code
again, so its side effects happen once; a function adgraph cannot trace into (an
``adgraph.autograd.extend.primitive`` without rules) is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["const_graph"]


def const_graph(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    """``fun(*args, *more, **kwargs)`` as a function of ``more``, traced once and replayed."""
    from ...jit import jit

    if not callable(fun):
        raise TypeError(f"const_graph: expected a function, got {type(fun).__name__}")
    compiled = jit(functools.partial(fun, *args, **kwargs))

    @functools.wraps(fun)
    def replay(*more: Any) -> Any:
        return compiled(*more)

    return replay
