"""adgraph.autograd: HIPS autograd's public API on adgraph, so that migrating is one line.

    import adgraph.autograd as autograd            # was: import autograd
    import adgraph.autograd.numpy as np            # was: import autograd.numpy as np
    from adgraph.autograd import grad, jacobian    # was: from autograd import ...

The differential operators follow autograd's conventions (``grad(fun, argnum=0)``,
``make_vjp(fun)(x) -> (vjp, ans)``, ...); ``numpy``, ``scipy``, ``extend``, ``misc``,
``builtins`` and ``test_util`` mirror autograd's modules. docs/autograd.md lists what
behaves differently.
"""

from . import builtins, core, extend, misc, numpy, scipy, test_util, tracer, wrap_util  # noqa: F401
from .builtins import dict, isinstance, list, tuple, type  # noqa: A004, F401
from .differential_operators import *  # noqa: F401,F403
from .differential_operators import __all__ as _ops_all
from .extend import primitive  # noqa: F401

__all__ = [
    *_ops_all, "primitive", "numpy", "scipy", "extend", "misc", "builtins", "test_util",
    "core", "tracer", "wrap_util", "tuple", "list", "dict", "isinstance", "type",
]  # fmt: skip
