r"""The three ways to differentiate, side by side: automatic, numerical and symbolic.

:func:`compare` takes a function and a point and reports

* **AD** -- the gradient by reverse mode, its time, and the size of the computation graphs
  of the function and of its gradient;
* **finite differences** -- central, :math:`(f(x+h) - f(x-h))/2h`, and forward,
  :math:`(f(x+h) - f(x))/h`, over a sweep of step sizes ``h``, each with its error against
  AD. Large steps show truncation error (:math:`O(h^2)` and :math:`O(h)`), small ones
  round-off (about :math:`\epsilon/h`), so no step is exact;
* **symbolic differentiation** (SymPy, an optional extra: ``pip install adgraph[sympy]``)
  -- the function is run on symbols to build one closed-form expression, which SymPy
  differentiates: the derivative's value, error, time, and the size of the derivative
  expression against the size of AD's graph. Symbolic expressions repeat shared
  subexpressions, so their size can grow exponentially with the depth of a composition
  ("expression swell"); and a function whose Python control flow depends on its input
  cannot become one expression at all -- SymPy fails, while AD and finite differences
  follow the branch taken at the point.

SymPy computes exactly, so a small expression can cost it without bound (``exp(exp(x))``
at ``x = 1e9`` has about 4e8 decimal digits). The symbolic part therefore runs under a
deadline (``timeout``, 10 s by default) in a child process that is stopped when the time is
up, and SymPy's derivative is evaluated in float64 -- as AD and finite differences are --
where overflow is ``inf`` and an undefined value ``nan``, never an exact number too large to
hold.

:data:`EXAMPLES` holds the founding article's cases: its evaluation-trace function, its
tanh layer, a composition of depth 10, and its branching function.

The package's modules: :mod:`.comparison` (:func:`compare` and :data:`EXAMPLES`),
:mod:`.report` (:class:`Comparison`), :mod:`.symbolic` (SymPy's expression, derivative and
float64 evaluation) and :mod:`.deadline` (the child process or thread that bounds it).
"""

from __future__ import annotations

from .comparison import DEFAULT_STEPS as DEFAULT_STEPS
from .comparison import DEFAULT_TIMEOUT, EXAMPLES, compare
from .report import Comparison
from .symbolic import SYMPY_HINT

__all__ = ["compare", "Comparison", "EXAMPLES", "SYMPY_HINT", "DEFAULT_TIMEOUT"]
