"""fft primitives (declared with their rules; see adgraph.ops)."""

from __future__ import annotations

__all__: list[str] = []
