"""``autograd.scipy.stats``: adgraph.scipy.stats's distributions under autograd's names.

Each distribution is also importable as a module, ``import
adgraph.autograd.scipy.stats.norm as norm``, as autograd's examples write it. Such a module
holds adgraph's differentiable functions of the distribution; SciPy's other methods of it
(``rvs``, ``fit``, ...) pass through as autograd passes them: run on plain values, refusing
to be differentiated. ``multivariate_normal`` adds autograd's ``entropy`` and SciPy's
``allow_singular=True`` (see :mod:`._mvn`).
"""

import sys as _sys
import types as _types

from ....scipy import stats as _stats
from ....scipy.stats import *  # noqa: F401,F403
from ....scipy.stats import __all__  # noqa: F401
from ..._passthrough import passthrough_getattr as _passthrough_getattr
from . import _mvn


def _shim(name: str, ours: _types.ModuleType) -> _types.ModuleType:
    """A module with ``ours``'s public names, SciPy's ``scipy.stats.<name>`` behind them."""
    mod = _types.ModuleType(f"{__name__}.{name}", ours.__doc__)
    for key in getattr(ours, "__all__", [k for k in vars(ours) if not k.startswith("_")]):
        setattr(mod, key, getattr(ours, key))
    if name == "multivariate_normal":
        mod.logpdf, mod.pdf, mod.entropy = _mvn.logpdf, _mvn.pdf, _mvn.entropy
    mod.__getattr__ = _passthrough_getattr(  # type: ignore[method-assign]
        mod.__name__, ours, f"scipy.stats.{name}", "; install it with the scipy extra"
    )
    return mod


for _name in __all__:
    if isinstance(getattr(_stats, _name), _types.ModuleType):  # the distributions
        _mod = _shim(_name, getattr(_stats, _name))
        globals()[_name] = _mod
        _sys.modules[_mod.__name__] = _mod
del _name, _mod
