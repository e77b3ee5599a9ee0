"""Layout of a graph picture: repeated runs folded into one copy, levels wrapped into rows.

Two steps, shared by the DOT picture and the HTML view:

* :func:`find_repeats` finds runs of identical structure in the topological order -- the
  bodies of an unrolled Python loop -- so that a picture draws one copy with a count;
* :func:`wrap_levels` gives every box a level (the longest path to it) and chooses how many
  levels go in one row, so that a long chain becomes several rows whose width is at most
  about twice their height, rather than one line thousands of points wide.

Sizes are estimated from the labels' text (points, 72 to an inch, as Graphviz counts them);
they only choose the wrapping, Graphviz or the HTML view then places the boxes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

__all__ = ["find_repeats", "box_size", "box_levels", "wrap_levels", "TARGET_ASPECT"]

#: Width over height that the wrapping aims at (the tests hold pictures to 4:1).
TARGET_ASPECT = 2.0

# The longest repeated body looked for, and the fewest hidden nodes worth folding: a
# short repeat is drawn in full, a loop of many iterations is folded.
_MAX_PERIOD = 48
_MIN_HIDDEN = 8


def _signature(raw: tuple, period: int) -> tuple:
    # A node's structure relative to its place: its operation, shape, and each argument as
    # "so many places back" when it lies within one period, else as far-away or constant.
    # Two iterations of a loop body have equal signatures position by position.
    head, offs, far = raw
    if far <= period:
        return head + (offs,)
    return head + (tuple(o if o == "c" or o <= period else "far" for o in offs),)


def _raw_signature(nodes: Sequence[Any], pos: dict, j: int) -> tuple:
    # (operation, shape, dtype, parameter names), every argument's offset ("c": a
    # constant), and the largest offset: what _signature needs for any period.
    n = nodes[j]
    offs = tuple("c" if (q := pos.get(i)) is None else j - q for i in n.inputs)
    far = max([o for o in offs if o != "c"], default=0)
    keys = tuple(sorted(n.params)) if n.params else ()
    return (n.op, n.shape, n.dtype, keys), offs, far


def find_repeats(nodes: Sequence[Any], min_hidden: int = _MIN_HIDDEN) -> list[tuple[int, int, int]]:
    """Runs ``(start, period, count)`` of ``nodes`` (in topological order) that repeat one
    body ``count`` times: ``nodes[start + k*period + j]`` has the structure of
    ``nodes[start + j]`` for every iteration ``k``.

    Inputs are never part of a run, and only runs that would hide at least ``min_hidden``
    nodes are reported; runs do not overlap.
    """
    pos = {n: k for k, n in enumerate(nodes)}
    raw = [_raw_signature(nodes, pos, j) for j in range(len(nodes))]
    runs = []
    i, n_all = 0, len(nodes)
    while i < n_all:
        best = None  # (covered, -period, period, count)
        for p in range(1, min(_MAX_PERIOD, (n_all - i) // 2) + 1):
            if any(nodes[i + j].is_input for j in range(p)):
                break
            sig = [_signature(raw[i + j], p) for j in range(p)]
            if best is not None:
                # A longer period wins only by covering more than the best run so far
                # (b nodes): its run then holds the whole period that node i + b lies in.
                b = best[0][0]
                k = b // p
                if i + (k + 1) * p > n_all or not all(
                    not nodes[i + k * p + j].is_input
                    and _signature(raw[i + k * p + j], p) == sig[j]
                    for j in range(p)
                ):
                    continue
            count = 1
            while i + (count + 1) * p <= n_all and all(
                not nodes[i + count * p + j].is_input
                and _signature(raw[i + count * p + j], p) == sig[j]
                for j in range(p)
            ):
                count += 1
            if count >= 3 and p * (count - 1) >= min_hidden:
                key = (p * count, -p)
                if best is None or key > best[0]:
                    best = (key, p, count)
        if best is None:
            i += 1
            continue
        _, p, count = best
        runs.append((i, p, count))
        i += p * count
    return runs


def box_size(lines: Sequence[str]) -> tuple[float, float]:
    """Estimated (width, height) in points of a box showing ``lines`` at 11 pt."""
    text = [s for s in lines if s]
    width = max((len(s) for s in text), default=1) * 6.6 + 22
    height = 14.5 * max(len(text), 1) + 12
    return max(width, 54.0), max(height, 36.0)


def box_levels(ids: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each box's level: one more than the highest level among its predecessors (the longest
    path to it), 0 where nothing points to it. A box that nothing points to but that
    points somewhere (a constant, an input used late) sits one level before its first use,
    not at the far left. Edges must form no cycle; those that would are ignored."""
    succ = defaultdict(list)
    indeg = dict.fromkeys(ids, 0)
    for a, b in edges:
        if a in indeg and b in indeg and a != b:
            succ[a].append(b)
            indeg[b] += 1
    level = dict.fromkeys(ids, 0)
    ready = [b for b in ids if indeg[b] == 0]
    while ready:
        a = ready.pop()
        for b in succ[a]:
            level[b] = max(level[b], level[a] + 1)
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    has_pred = {b for a in ids for b in succ[a]}
    for a in ids:
        if a not in has_pred and succ[a]:
            level[a] = max(0, min(level[b] for b in succ[a]) - 1)
    return level


def wrap_levels(
    level: dict[str, int],
    sizes: dict[str, tuple[float, float]],
    *,
    target: float = TARGET_ASPECT,
    gap_x: float = 36.0,
    gap_y: float = 18.0,
    limit: float = 4.0,
    max_unwrapped: float = 640.0,
) -> int:
    """How many consecutive levels to place in one row (left to right) so that the rows,
    stacked top to bottom, make a picture whose estimated width over height is nearest
    ``target`` without exceeding it (when any choice does). All levels stay in one row
    when that row is at most ``max_unwrapped`` points wide or ``limit`` times as wide as
    high."""
    if not level:
        return 1
    nlev = max(level.values()) + 1
    col_w = [0.0] * nlev
    col_h = [0.0] * nlev
    for b, lv in level.items():
        w, h = sizes[b]
        col_w[lv] = max(col_w[lv], w)
        col_h[lv] += h + gap_y

    def aspect(k: int) -> float:
        width = max(
            sum(col_w[r : r + k]) + gap_x * (len(col_w[r : r + k])) for r in range(0, nlev, k)
        )
        height = sum(max(col_h[r : r + k]) + gap_y for r in range(0, nlev, k))
        return width / max(height, 1.0)

    # a picture that is small, or already within the limit, stays one row
    full_w = sum(col_w) + gap_x * nlev
    if full_w <= max_unwrapped or aspect(nlev) <= limit:
        return nlev
    best_k, best_err = 1, float("inf")
    for k in range(1, nlev + 1):
        a = aspect(k)
        # prefer the widest picture within the target; above it, the least excess
        err = (target - a) if a <= target else 1e6 + a
        if err < best_err:
            best_k, best_err = k, err
        if a > target and k > 1:
            break
    return best_k
