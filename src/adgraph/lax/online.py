r"""Online checkpointing: reversing a loop whose length is known only once it has run.

A ``while_loop`` of ``n`` steps :math:`c_{t+1} = F(c_t)` is reversed last step first, step
``t``'s pullback needing :math:`c_t`; ``n`` is unknown while the loop runs. With ``k``
carries to spend:

* **forward (thinning by doubling).** Keep the carries at multiples of a stride ``s``,
  starting with ``s = 1``; when a new one would make more than :math:`h = \lceil k/2
  \rceil` kept, double ``s`` and drop those no longer at a multiple of it. At most ``h``
  carries are ever kept, and when the loop ends they split ``[0, n)`` into at most ``h``
  segments of ``s`` steps (the last one shorter), with :math:`s < \max(1, 2n/h)`.
* **backward.** Reverse the segments last first, each by the binomial schedule of
  :mod:`adgraph.lax.revolve` from its first carry, with the carries of the earlier
  segments still kept: segment ``j`` (0-based) has ``k - j >= k - h + 1`` carries to
  spend, and each is dropped once its segment is done.

So never more than ``k`` carries are alive (besides the one being advanced), every step is
advanced once forward and then at most ``r`` times more, where ``r`` is revolve's count for
``s`` steps and ``k - h`` free snapshots -- e.g. ``n = 10^4``, ``k = 20``: segments of at
most 1024 steps, each step recomputed at most 5 times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .revolve import reverse_loop

__all__ = ["Thinning", "reverse_segments"]


class Thinning:
    """The forward half: offered carry ``c_t`` at every step ``t = 0, 1, ...``, keeps at
    most ``limit`` of them at multiples of a doubling stride."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"Thinning: limit must be at least 1, got {limit}")
        self.limit = limit
        self.stride = 1
        self.kept: dict[int, Any] = {}  # step -> carry at its start; keys multiples of stride

    def offer(self, t: int, carry: Any) -> None:
        if t % self.stride:
            return
        if len(self.kept) == self.limit:
            self.stride *= 2
            self.kept = {p: c for p, c in self.kept.items() if p % self.stride == 0}
            if t % self.stride:
                return
        self.kept[t] = carry


def reverse_segments(
    n: int,
    k: int,
    kept: dict[int, Any],
    advance: Callable[[Any, int], Any],
    backstep: Callable[[Any, int], None],
    stats: dict | None = None,
) -> None:
    """Call ``backstep(c_t, t)`` for ``t = n-1, ..., 0`` from the carries ``kept`` (``0``
    among them), spending at most ``k`` carries at once (the kept ones included).

    ``stats`` receives ``"advances"`` (recomputed steps) and ``"peak"`` (most carries
    alive at once, as :func:`adgraph.lax.revolve.reverse_loop` counts them)."""
    starts = sorted(kept)
    if n and (not starts or starts[0] != 0):
        raise ValueError("reverse_segments: the carry of step 0 must be kept")
    if len(starts) > k:
        raise ValueError(f"reverse_segments: {len(starts)} carries kept, more than k={k}")
    advances, peak = 0, len(starts)
    for j in range(len(starts) - 1, -1, -1):
        s = starts[j]
        e = starts[j + 1] if j + 1 < len(starts) else n
        if e <= s:
            kept.pop(s)
            continue
        seg: dict = {}
        reverse_loop(
            e - s,
            k - j,  # the kept carries of segments 0..j-1 stay alive meanwhile
            kept.pop(s),
            lambda c, t, s=s: advance(c, s + t),
            lambda c, t, s=s: backstep(c, s + t),
            seg,
        )
        advances += seg["advances"]
        peak = max(peak, j + seg["peak"])
    if stats is not None:
        stats["advances"] = advances
        stats["peak"] = peak
