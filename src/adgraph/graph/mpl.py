"""The graph picture drawn with matplotlib, for machines without Graphviz's ``dot``.

The boxes are those of the DOT picture (:func:`adgraph.graph.render._picture`): the same
labels in the evaluation traces' notation (``v₁ = v₋₁ v₀``, then the value, the tangent
``v̇`` and the adjoint ``v̄``). They are placed in layers, as Graphviz's ``dot`` does:

* every box gets a level, the longest path to it (:func:`adgraph.graph.layout.box_levels`),
  and the levels become columns, left to right;
* an edge that skips levels passes through a *waypoint* in each column it crosses, a slot
  of its own in that column's stack (the layered-drawing construction of Sugiyama et al.);
* within a column, boxes and waypoints are ordered by the mean position of their
  neighbours in the previous column (a few sweeps of the barycentre heuristic), which
  removes most crossings;
* an edge runs horizontally at its box's or waypoint's height inside a column and bends
  only in the empty gaps between columns.

So no edge passes through a box: inside a column each horizontal run lies in its own slot,
and the gaps between columns hold no boxes. :func:`place` returns the geometry (tested for
exactly that); :func:`draw` renders it.
"""

from __future__ import annotations

import io
from typing import Any

from .layout import box_levels, box_size

__all__ = ["place", "draw", "render_graph", "MAX_COLUMNS"]

#: More levels than this do not fit a readable single-row picture: such graphs are refused
#: with a message naming the formats that wrap long chains (Graphviz's SVG, the HTML view).
MAX_COLUMNS = 40

_GAP_X = 54.0  # points between columns: where edges bend
_GAP_Y = 14.0  # points between slots of a column
_WAYPOINT_H = 8.0  # the height of an edge's slot in a column it crosses


class Placement:
    """Boxes as ``{id: (x0, y0, x1, y1)}`` in points (y grows downwards), edges as
    ``(src, dst, [(x, y), ...])`` polylines from the source box's right side to the
    destination box's left side, and the picture's ``width`` and ``height``."""

    __slots__ = ("boxes", "edges", "width", "height")

    def __init__(self, boxes, edges, width, height):
        self.boxes = boxes
        self.edges = edges
        self.width = width
        self.height = height


def place(pic: Any) -> Placement:
    """Lay out a picture's boxes and route its edges (see the module's docstring)."""
    ids = [b.id for b in pic.boxes]
    sizes = {b.id: box_size(b.lines) for b in pic.boxes}
    data = [(a, b) for a, b, _lab, kind in pic.edges if kind != "loop" and a != b]
    level = box_levels(ids, data)
    edges = [(a, b) for a, b in data if level[b] > level[a]]
    if not ids:
        return Placement({}, [], 0.0, 0.0)
    ncol = max(level.values()) + 1
    if ncol > MAX_COLUMNS:
        raise ValueError(
            f"the graph has {ncol} levels, more than the {MAX_COLUMNS} that the matplotlib "
            "drawing puts in one readable row; install Graphviz's dot (its pictures wrap "
            "long chains into rows) or save the graph as .html (interactive) or .dot"
        )
    # columns of slots: a box, or ("w", edge index, level) for an edge's waypoint
    cols: list[list[Any]] = [[] for _ in range(ncol)]
    for i in ids:
        cols[level[i]].append(i)
    chain: list[list[Any]] = []  # each edge's slots from source to destination
    for k, (a, b) in enumerate(edges):
        slots = [a]
        for lv in range(level[a] + 1, level[b]):
            waypoint = ("w", k, lv)
            cols[lv].append(waypoint)
            slots.append(waypoint)
        slots.append(b)
        chain.append(slots)
    preds: dict[Any, list[Any]] = {}
    succs: dict[Any, list[Any]] = {}
    for slots in chain:
        for u, v in zip(slots, slots[1:], strict=False):
            succs.setdefault(u, []).append(v)
            preds.setdefault(v, []).append(u)

    # barycentre ordering, sweeping right then left
    def order_by(neigh, col, pos):
        def key(s):
            ps = [pos[p] for p in neigh.get(s, ()) if p in pos]
            return sum(ps) / len(ps) if ps else pos.get(s, 0.0)

        col.sort(key=key)

    for _ in range(4):
        pos = {s: float(i) for col in cols for i, s in enumerate(col)}
        for lv in range(1, ncol):
            order_by(preds, cols[lv], pos)
            pos.update({s: float(i) for i, s in enumerate(cols[lv])})
        for lv in range(ncol - 2, -1, -1):
            order_by(succs, cols[lv], pos)
            pos.update({s: float(i) for i, s in enumerate(cols[lv])})

    def height(s):
        return _WAYPOINT_H if isinstance(s, tuple) else sizes[s][1]

    col_w = [
        max((sizes[s][0] for s in col if not isinstance(s, tuple)), default=20.0) for col in cols
    ]
    col_h = [sum(height(s) for s in col) + _GAP_Y * (len(col) - 1) for col in cols]
    total_h = max(col_h)
    x0: list[float] = []
    x = 0.0
    for w in col_w:
        x0.append(x)
        x += w + _GAP_X
    width = x - _GAP_X
    centre_y: dict[Any, float] = {}
    rects = {}
    for lv, col in enumerate(cols):
        y = (total_h - col_h[lv]) / 2
        for s in col:
            h = height(s)
            centre_y[s] = y + h / 2
            if not isinstance(s, tuple):
                w = sizes[s][0]
                left = x0[lv] + (col_w[lv] - w) / 2
                rects[s] = (left, y, left + w, y + h)
            y += h + _GAP_Y
    routed = []
    for (a, b), slots in zip(edges, chain, strict=True):
        la = level[a]
        pts = [(rects[a][2], centre_y[a]), (x0[la] + col_w[la], centre_y[a])]
        for j, s in enumerate(slots[1:-1], start=1):
            lv = la + j
            pts += [(x0[lv], centre_y[s]), (x0[lv] + col_w[lv], centre_y[s])]
        lb = level[b]
        pts += [(x0[lb], centre_y[b]), (rects[b][0], centre_y[b])]
        # drop zero-length pieces (a box as wide as its column)
        clean = [pts[0]]
        for p in pts[1:]:
            if p != clean[-1]:
                clean.append(p)
        routed.append((a, b, clean))
    return Placement(rects, routed, width, total_h)


_FILL = {
    "input": "#dbeafe",
    "op": "#f3f4f6",
    "const": "#fef9c3",
    "output": "#fde68a",
    "group": "#e0e7ff",
    "note": "#ffffff",
}


def draw(pic: Any, fmt: str = "png", dpi: int = 110) -> bytes:
    """Render a picture with matplotlib as ``png``, ``svg`` or ``pdf`` bytes."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
        from matplotlib.path import Path
    except ImportError:
        raise ImportError(
            "drawing a graph without Graphviz needs matplotlib: pip install adgraph[plot]"
        ) from None
    pl = place(pic)
    margin = 12.0
    notes = [c.replace("\n", "; ") for c in pic.clusters]
    top = 14.0 * len(notes)
    wpt, hpt = pl.width + 2 * margin, pl.height + 2 * margin + top
    fig = Figure(figsize=(max(wpt, 72.0) / 72, max(hpt, 36.0) / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, pl.width + margin)
    ax.set_ylim(pl.height + margin, -margin - top)
    ax.axis("off")
    for k, note in enumerate(notes):
        ax.text(0, -top + 14.0 * k + 7, note, fontsize=8, va="center", color="#475569")
    for _a, _b, pts in pl.edges:
        codes = [Path.MOVETO] + [Path.LINETO] * (len(pts) - 1)
        ax.add_patch(
            FancyArrowPatch(
                path=Path(pts, codes),
                arrowstyle="-|>",
                mutation_scale=9,
                lw=0.9,
                color="#475569",
                shrinkA=0,
                shrinkB=0,
            )
        )
    kind = {b.id: b.kind for b in pic.boxes}
    lines = {b.id: [s for s in b.lines if s] for b in pic.boxes}
    for bid, (x0, y0, x1, y1) in pl.boxes.items():
        ax.add_patch(
            FancyBboxPatch(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=4",
                fc=_FILL.get(kind[bid], "#f3f4f6"),
                ec="#334155",
                lw=0.8,
            )
        )
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            "\n".join(lines[bid]),
            ha="center",
            va="center",
            fontsize=8,
            family="DejaVu Sans",
            linespacing=1.3,
        )
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def render_graph(graph: Any, fmt: str = "png", **options: Any) -> bytes:
    """The picture of ``graph`` drawn with matplotlib, whether or not Graphviz is present;
    ``options`` as :func:`adgraph.graph.render.to_dot` (``values``, ``tangents``,
    ``adjoints``, ``max_nodes``, ``digits``, ``collapse``)."""
    from .render import _picture

    options.pop("rankdir", None)
    return draw(_picture(graph, **options), fmt)
