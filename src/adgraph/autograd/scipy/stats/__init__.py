"""``autograd.scipy.stats``: adgraph.scipy.stats's distributions under autograd's names.

Each distribution is also importable as a module, ``import
adgraph.autograd.scipy.stats.norm as norm``, as autograd's examples write it.
"""

import sys as _sys

from ....scipy import stats as _stats
from ....scipy.stats import *  # noqa: F401,F403
from ....scipy.stats import __all__  # noqa: F401

for _name in __all__:
    if isinstance(getattr(_stats, _name), type(_sys)):  # the distributions, not the functions
        _sys.modules[f"{__name__}.{_name}"] = getattr(_stats, _name)
del _name
