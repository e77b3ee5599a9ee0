"""The arithmetic operators of reverse-mode tracers, on the short path of scalar code.

Reverse mode records Python-level scalar code one operation at a time, so the engine's own
cost per operation is the whole cost. ``x * y``, ``2 - x``, ``x / y`` and ``-x`` on float64
scalars of one tape are recorded directly (:func:`adgraph.ad.scalar.scalar_operator`),
skipping the search for the top trace; any other operand takes the general operator. The
scalar data these nodes use (``scalar_partials``, ``scalar_vjp``) is declared with each
primitive in :mod:`adgraph.ops.elementwise`; tests run both paths on the same inputs.
"""

from __future__ import annotations

import operator

from ..ad.scalar import scalar_negation, scalar_operator
from ..ad.tape import ReverseTracer
from ..core.trace import Tracer
from . import elementwise as _ew

__all__ = ["install"]

# dunder stem -> (primitive, the Python operator its implementation applies to a float64
# scalar and a number: the same computation, without the dispatch)
_OPERATORS = {
    "add": (_ew.add_p, operator.add),
    "sub": (_ew.subtract_p, operator.sub),
    "mul": (_ew.multiply_p, operator.mul),
    "truediv": (_ew.divide_p, operator.truediv),
}


def install() -> None:
    """Install the scalar operators on :class:`ReverseTracer` and the scalar rules (after
    the general operators are on :class:`Tracer`)."""
    for stem, (prim, compute) in _OPERATORS.items():
        for dunder, reflected in ((f"__{stem}__", False), (f"__r{stem}__", True)):
            slow = getattr(Tracer, dunder)
            setattr(ReverseTracer, dunder, scalar_operator(prim, slow, reflected, compute))
    ReverseTracer.__neg__ = scalar_negation(_ew.negative_p, Tracer.__neg__)
