"""``autograd.util``: ``quick_grad_check``, autograd's deprecated gradient check (use
:func:`adgraph.autograd.test_util.check_grads`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .test_util import check_grads

__all__ = ["quick_grad_check"]


def quick_grad_check(
    fun: Callable[..., Any],
    arg0: Any,
    extra_args: tuple = (),
    kwargs: dict | None = None,
    verbose: bool = True,
    eps: float = 1e-4,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    rs: Any = None,
) -> None:
    """Deprecated: the reverse-mode first-order check of ``fun(arg0, *extra_args,
    **kwargs)`` with respect to ``arg0`` (``check_grads(..., modes=['rev'], order=1)``;
    ``verbose``, ``eps``, ``rtol``, ``atol`` and ``rs`` are accepted and unused, as in
    autograd)."""
    warnings.warn(
        "quick_grad_check is autograd's deprecated form; use "
        "adgraph.autograd.test_util.check_grads(fun, modes=['rev'], order=1)(x)",
        stacklevel=2,
    )
    kw = {} if kwargs is None else kwargs
    check_grads(lambda x: fun(x, *extra_args, **kw), modes=["rev"], order=1)(arg0)
