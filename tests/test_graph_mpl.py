"""The matplotlib drawing of a graph: Graphviz's boxes and notation, no edge through a box."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.graph import mpl, render


def article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


def skips(x):
    # values used several levels later: edges that cross columns holding other boxes
    a = anp.sin(x)
    b = anp.exp(a) * x
    c = anp.tanh(b) + a
    d = anp.cos(c) * b + x
    e = d * a - c * x
    return anp.sum(e * b + anp.sqrt(a * a + 1.0))


def wide(x):
    # many boxes per level and edges fanning across them
    parts = [anp.sin(x * k) for k in range(1, 7)]
    acc = parts[0]
    for p in parts[1:]:
        acc = acc * p + parts[0]
    return acc + parts[2] * parts[4]


GRAPHS = {
    "article": lambda: ad.trace(article, 2.0, 4.0),
    "skips": lambda: ad.trace(skips, np.linspace(0.1, 1.0, 3)),
    "wide": lambda: ad.trace(wide, 0.3),
    "hvp": lambda: ad.trace_hvp(article, (2.0, 4.0), (1.0, 0.0)),
}


def _pierces(p, q, rect, tol=0.5):
    # does the segment p-q enter the interior of rect (shrunk by tol)? sampled densely
    x0, y0, x1, y1 = rect[0] + tol, rect[1] + tol, rect[2] - tol, rect[3] - tol
    t = np.linspace(0.0, 1.0, 400)
    xs = p[0] + t * (q[0] - p[0])
    ys = p[1] + t * (q[1] - p[1])
    return bool(np.any((xs > x0) & (xs < x1) & (ys > y0) & (ys < y1)))


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_no_edge_passes_through_a_box(name):
    pic = render._picture(GRAPHS[name](), tangents=True if name != "hvp" else None)
    pl = mpl.place(pic)
    data = {(a, b) for a, b, _l, kind in pic.edges if kind != "loop" and a != b}
    assert {(a, b) for a, b, _ in pl.edges} == data  # every data edge is drawn
    for a, b, pts in pl.edges:
        # from the source's right side to the destination's left side, left to right
        assert pts[0][0] == pl.boxes[a][2] and pl.boxes[a][1] <= pts[0][1] <= pl.boxes[a][3]
        assert pts[-1][0] == pl.boxes[b][0] and pl.boxes[b][1] <= pts[-1][1] <= pl.boxes[b][3]
        assert all(p[0] <= q[0] for p, q in zip(pts, pts[1:], strict=False))
        for other, rect in pl.boxes.items():
            for p, q in zip(pts, pts[1:], strict=False):
                assert not _pierces(p, q, rect), (name, a, b, other)
    # boxes do not overlap one another
    rects = list(pl.boxes.values())
    for i, r in enumerate(rects):
        for s in rects[i + 1 :]:
            assert r[2] <= s[0] or s[2] <= r[0] or r[3] <= s[1] or s[3] <= r[1]


def test_boxes_carry_the_tables_notation():
    pic = render._picture(GRAPHS["article"](), tangents=True, adjoints=True)
    text = {b.id: "\n".join(b.lines) for b in pic.boxes}
    assert any(t.startswith("v₁ = v₋₁ v₀\n8") for t in text.values()), text
    assert any("v̄₋₁ = 3.5" in t for t in text.values()), text


def test_drawing_formats():
    pytest.importorskip("matplotlib")
    pic = render._picture(GRAPHS["skips"]())
    assert mpl.draw(pic, "png").startswith(b"\x89PNG")
    assert b"<svg" in mpl.draw(pic, "svg")[:2000]


def test_save_falls_back_to_matplotlib(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    path = render.save(GRAPHS["article"](), tmp_path / "g.png", adjoints=True)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_too_many_levels_for_one_row_is_refused_with_the_alternatives():
    def chain(x):
        for _ in range(mpl.MAX_COLUMNS + 5):
            x = anp.sin(x) + 0.1
        return x

    pic = render._picture(ad.trace(chain, 0.2), collapse=False)
    with pytest.raises(ValueError, match=r"\.html .*\.dot"):
        mpl.place(pic)
