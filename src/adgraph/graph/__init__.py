"""Computation graphs you can see: trace a function into a graph, show it, evaluate it."""

from .ir import Const, Graph, GraphCycleError, Node
from .tracing import GraphTrace, GraphTracer, trace, trace_hvp

__all__ = [
    "trace",
    "trace_hvp",
    "Graph",
    "Node",
    "Const",
    "GraphCycleError",
    "GraphTrace",
    "GraphTracer",
]
