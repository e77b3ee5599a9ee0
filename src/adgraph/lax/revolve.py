r"""Binomial checkpointing (Griewank's *revolve*): reversing ``n`` steps with ``k`` stored carries.

A loop of ``n`` steps :math:`c_{t+1} = F_t(c_t)` is reversed step by step, last step first:
step ``t``'s pullback needs the carry :math:`c_t`. Keeping every carry costs ``n`` of them;
keeping ``k`` costs recomputation. With ``c`` free snapshots and each step advanced at most
``r`` times, at most

.. math:: \beta(c, r) = \binom{c + r}{c}

steps can be reversed, and :math:`\beta(c, r) = \beta(c, r - 1) + \beta(c - 1, r)` is the
schedule: from the snapshot at ``s``, advance ``\beta(c, r - 1)`` steps to ``m`` and store the
carry there; reverse ``[m, e)`` with ``c - 1`` free snapshots, drop ``m``, then reverse
``[s, m)`` with ``c`` (its steps have been advanced once already). For ``n`` steps and ``k``
carries, ``r`` is the least integer with :math:`\beta(k - 1, r) \ge n`: every step is
recomputed at most ``r`` times, and never more than ``k`` carries are alive.

The driver below is iterative (an explicit stack), so schedules of any depth run without
recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb
from typing import Any

__all__ = ["reverse_loop", "repetitions"]


def repetitions(n: int, free: int) -> int:
    """The least ``r`` with ``comb(free + r, free) >= n``: how often a step is recomputed at
    most when ``n`` steps are reversed with ``free`` snapshots besides the first carry."""
    r = 0
    while comb(free + r, free) < n:
        r += 1
    return r


def reverse_loop(
    n: int,
    k: int,
    carry0: Any,
    advance: Callable[[Any, int], Any],
    backstep: Callable[[Any, int], None],
    stats: dict | None = None,
) -> None:
    """Call ``backstep(c_t, t)`` for ``t = n-1, ..., 0`` in that order, where ``c_0 = carry0``
    and ``c_{t+1} = advance(c_t, t)``, storing at most ``k >= 1`` carries at once (``carry0``
    included) besides the one being advanced.

    ``stats``, when given, receives ``"advances"`` (the number of ``advance`` calls) and
    ``"peak"`` (the most carries alive at once, the working one included: at most ``k + 1``).
    """
    if k < 1:
        raise ValueError(f"reverse_loop: k must be at least 1, got {k}")
    snaps: dict[int, Any] = {0: carry0}  # invariant: len(snaps) + extras held <= k
    advances = 0
    peak = 1
    # tasks: ("rev", s, e, free) reverses [s, e) from snaps[s] with ``free`` more snapshots;
    # ("drop", m) forgets snaps[m] once the part it starts has been reversed.
    tasks: list[tuple] = [("rev", 0, n, k - 1)] if n else []
    while tasks:
        task = tasks.pop()
        if task[0] == "drop":
            del snaps[task[1]]
            continue
        _, s, e, free = task
        length = e - s
        if length == 1:
            backstep(snaps[s], s)
            continue
        if free >= length - 1:  # enough room: store the whole segment, reverse it in order
            held = [snaps[s]]
            for t in range(s, e - 1):
                held.append(advance(held[-1], t))
                advances += 1
            peak = max(peak, len(snaps) + len(held) - 1)
            for t in range(e - 1, s - 1, -1):
                backstep(held.pop(), t)
            continue
        if free == 0:  # one carry only: recompute from s for every step
            for t in range(e - 1, s - 1, -1):
                c = snaps[s]
                for j in range(s, t):
                    c = advance(c, j)
                    advances += 1
                peak = max(peak, len(snaps) + (1 if t > s else 0))
                backstep(c, t)
            continue
        r = repetitions(length, free)
        left = max(1, min(comb(free + r - 1, free), length - 1))
        m = s + left
        c = snaps[s]
        for t in range(s, m):
            c = advance(c, t)
            advances += 1
        snaps[m] = c
        peak = max(peak, len(snaps))
        tasks.append(("rev", s, m, free))
        tasks.append(("drop", m))
        tasks.append(("rev", m, e, free - 1))
    if stats is not None:
        stats["advances"] = advances
        stats["peak"] = peak
