"""An interactive view of a graph: one self-contained HTML page (or Jupyter cell).

The page holds an inline SVG laid out by adgraph itself (the wrapped rows and folded loops
of :mod:`adgraph.graph.render`, no Graphviz needed) and about forty lines of hand-written
JavaScript: drag to pan, the wheel to zoom, a double click to reset, and hovering a box
shows the node's definition, shape, value, tangent and adjoint in a panel. Nothing is
fetched from the network and no library is loaded, so the file works offline and in
notebooks that block scripts from elsewhere.
"""

from __future__ import annotations

import html
import itertools
from typing import TYPE_CHECKING, Any

from .layout import box_size
from .render import MAX_NODES, _arrange, _picture

if TYPE_CHECKING:
    from .ir import Graph

__all__ = ["to_html"]

_FILL = {
    "input": "#dbeafe",
    "op": "#f8fafc",
    "group": "#fef3c7",
    "const": "#e5e7eb",
    "output": "#ffffff",
    "note": "#ffffff",
}

_views = itertools.count()

_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  var svg = root.querySelector("svg"), info = root.querySelector(".adg-info");
  var vb = svg.getAttribute("viewBox").split(" ").map(Number), home = vb.slice();
  function show() { svg.setAttribute("viewBox", vb.join(" ")); }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect(), k = e.deltaY > 0 ? 1.15 : 1 / 1.15;
    var px = vb[0] + (e.clientX - r.left) / r.width * vb[2];
    var py = vb[1] + (e.clientY - r.top) / r.height * vb[3];
    vb = [px - (px - vb[0]) * k, py - (py - vb[1]) * k, vb[2] * k, vb[3] * k]; show();
  }, {passive: false});
  var drag = null;
  svg.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", function () { drag = null; });
  svg.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var r = svg.getBoundingClientRect();
    vb[0] -= (e.clientX - drag[0]) / r.width * vb[2];
    vb[1] -= (e.clientY - drag[1]) / r.height * vb[3];
    drag = [e.clientX, e.clientY]; show();
  });
  svg.addEventListener("dblclick", function () { vb = home.slice(); show(); });
  root.querySelectorAll(":scope > svg g.adg-node").forEach(function (g) {
    g.addEventListener("mouseenter", function () {
      info.textContent = g.getAttribute("data-detail");
    });
    if (!g.hasAttribute("data-body")) return;
    g.style.cursor = "pointer";
    g.addEventListener("click", function () {
      root.querySelectorAll(":scope > .adg-bodies > .adg-body").forEach(function (b) {
        if (b.getAttribute("data-for") === g.id) b.hidden = !b.hidden;
      });
    });
  });
})();
"""


def to_html(
    graph: Graph,
    *,
    values: bool = True,
    tangents: Any = None,
    adjoints: Any = True,
    max_nodes: int = 4 * MAX_NODES,
    digits: int = 3,
    collapse: bool = True,
    full_page: bool = True,
    open_depth: int = 2,
) -> str:
    """An interactive HTML view of ``graph`` (see the module documentation).

    Options are those of :func:`adgraph.graph.render.to_dot`; ``adjoints`` defaults to
    True (each node's adjoint for output cotangent ones), and falls back to none when the
    graph has no adjoints to show (an integer output, say). ``full_page=False`` gives a
    ``<div>`` for embedding (Jupyter), else a whole ``<!DOCTYPE html>`` page.

    A loop (``scan``, ``fori_loop``, ``while_loop``) or a called function (``checkpoint``,
    ``custom_jvp``, ``custom_vjp``) is one box; clicking it opens its body below the
    picture, as a view of its own traced at the values the body first ran on
    (:mod:`adgraph.graph.bodies`), and clicking again closes it. Bodies inside bodies open
    the same way, ``open_depth`` levels deep.
    """
    try:
        pic = _picture(
            graph,
            values=values,
            tangents=tangents,
            adjoints=adjoints,
            max_nodes=max_nodes,
            digits=digits,
            collapse=collapse,
        )
    except (TypeError, ValueError):
        if adjoints is not True:
            raise
        pic = _picture(
            graph,
            values=values,
            tangents=tangents,
            adjoints=None,
            max_nodes=max_nodes,
            digits=digits,
            collapse=collapse,
        )
    opened = []  # (box id, title, nested view)
    if open_depth > 0:
        from .bodies import bodies

        for b in pic.boxes:
            if b.node is None:
                continue
            found = bodies(b.node)
            for title, g in found:
                view = to_html(
                    g,
                    values=values,
                    adjoints=None,
                    max_nodes=max_nodes,
                    digits=digits,
                    collapse=collapse,
                    full_page=False,
                    open_depth=open_depth - 1,
                )
                opened.append((b.id, f"{b.node.op}: {title}", view))
            if found:
                b.lines = [*b.lines, "▸ click to open its body"]
    row, col, _, _ = _arrange(pic)
    boxes = [b for b in pic.boxes if b.kind != "note"]
    size = {b.id: box_size(b.lines) for b in boxes}
    gap_x, gap_y, pad = 40.0, 16.0, 20.0
    ncol = max(col.values(), default=0) + 1
    col_w = [0.0] * ncol
    for b in boxes:
        col_w[col[b.id]] = max(col_w[col[b.id]], size[b.id][0])
    col_x = [pad]
    for w in col_w[:-1]:
        col_x.append(col_x[-1] + w + gap_x)
    # stack each (row, column) cell's boxes; a row is as tall as its tallest cell
    cell_y: dict[tuple[int, int], float] = {}
    rel_y = {}
    for b in boxes:
        key = (row[b.id], col[b.id])
        rel_y[b.id] = cell_y.get(key, 0.0)
        cell_y[key] = rel_y[b.id] + size[b.id][1] + gap_y
    rows = sorted(set(row.values()))
    row_y, y = {}, pad + (24.0 if pic.clusters or len(boxes) < len(pic.boxes) else 0.0)
    for r in rows:
        row_y[r] = y
        y += max(v for (rr, _), v in cell_y.items() if rr == r) + 2 * gap_y
    pos = {}
    for b in boxes:
        w, h = size[b.id]
        x = col_x[col[b.id]] + (col_w[col[b.id]] - w) / 2
        pos[b.id] = (x, row_y[row[b.id]] + rel_y[b.id], w, h)
    width = col_x[-1] + col_w[-1] + pad
    height = y + pad

    vid = f"adg-view-{next(_views)}"
    parts = []
    notes = [b for b in pic.boxes if b.kind == "note"] + [
        type("N", (), {"lines": [c]})() for c in pic.clusters
    ]
    for k, n in enumerate(notes):
        parts.append(
            f'<text x="{pad}" y="{pad + 12 * k}" font-size="11" fill="#475569">'
            f"{html.escape(' '.join(n.lines))}</text>"
        )
    for a, b, lab, kind in pic.edges:
        if a not in pos or b not in pos:
            continue
        xa, ya, wa, ha = pos[a]
        xb, yb, wb, hb = pos[b]
        x1, y1, x2, y2 = xa + wa, ya + ha / 2, xb, yb + hb / 2
        dx = max(abs(x2 - x1) / 2, 30.0)
        style = 'stroke-dasharray="4 3" stroke="#94a3b8"' if kind == "loop" else 'stroke="#475569"'
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" fill="none" {style} marker-end="url(#{vid}-arrow)"/>'
        )
        if lab:
            parts.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 3:.1f}" font-size="9" '
                f'fill="#475569">{html.escape(lab)}</text>'
            )
    for b in boxes:
        x, y0, w, h = pos[b.id]
        detail = b.detail or "\n".join(s for s in b.lines if s)
        rx = h / 2 if b.kind == "input" else 6
        stroke = "none" if b.kind == "output" else "#334155"
        has_body = ' data-body="1"' if any(o[0] == b.id for o in opened) else ""
        parts.append(
            f'<g class="adg-node" id="{html.escape(b.id)}" data-detail="{html.escape(detail)}"'
            f"{has_body}>"
            f"<title>{html.escape(detail)}</title>"
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}" '
            f'fill="{_FILL[b.kind]}" stroke="{stroke}"/>'
        )
        lines = [s for s in b.lines if s]
        for k, s in enumerate(lines):
            ty = y0 + h / 2 + (k - (len(lines) - 1) / 2) * 14.5 + 4
            weight = ' font-weight="bold"' if b.kind == "output" else ""
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{ty:.1f}" text-anchor="middle" '
                f'font-size="11"{weight}>{html.escape(s)}</text>'
            )
        parts.append("</g>")
    view_h = min(height, 700.0)
    body = (
        f'<div id="{vid}" class="adg-view" style="font-family:Helvetica,Arial,sans-serif">'
        f'<div style="font-size:12px;color:#475569">{html.escape(str(graph.name))}: '
        f"{len(graph.nodes)} nodes. Drag to pan, wheel to zoom, double-click to reset; "
        "hover a box for its value and derivatives.</div>"
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" height="{view_h:.0f}" '
        'style="border:1px solid #e2e8f0;cursor:grab;font-family:Helvetica,Arial,sans-serif">'
        f'<defs><marker id="{vid}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/>'
        "</marker></defs>" + "".join(parts) + "</svg>"
        '<pre class="adg-info" style="font-size:12px;min-height:4em;background:#f8fafc;'
        'margin:4px 0;padding:4px">(hover a box)</pre>'
        + _bodies_html(opened)
        + f"<script>{_SCRIPT % {'id': vid}}</script></div>"
    )
    if not full_page:
        return body
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(str(graph.name))}</title></head><body>\n{body}\n</body></html>\n"
    )


def _bodies_html(opened) -> str:
    """The opened bodies' views, hidden until their box is clicked."""
    if not opened:
        return ""
    items = "".join(
        f'<div class="adg-body" data-for="{html.escape(bid)}" hidden '
        'style="margin:6px 0 6px 18px;padding-left:8px;border-left:3px solid #cbd5e1">'
        f'<div style="font-size:12px;font-weight:bold">{html.escape(title)}</div>{view}</div>'
        for bid, title, view in opened
    )
    return f'<div class="adg-bodies">{items}</div>'
