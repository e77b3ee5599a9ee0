r"""Pictures of sparsity patterns: a spy plot as SVG (no dependencies) or through
matplotlib (PNG, or any format it writes; the ``plot`` extra).

A pattern ``P`` (m x n, boolean ``scipy.sparse``) is drawn as an m-by-n board, row 0 at
the top, with a filled cell for each nonzero. A pattern larger than the picture is binned:
cell ``(r, c)`` of a ``rows x cols`` grid is filled when any nonzero falls into it, so a
picture never hides a nonzero (it may merge neighbouring ones). Runs of filled cells in a
grid row are written as one rectangle, so a banded 10^6 x 10^6 pattern stays a few
kilobytes.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import numpy as np

__all__ = ["pattern_grid", "pattern_svg", "save_pattern", "spy_plot"]


def pattern_grid(pattern, max_cells: int = 400) -> np.ndarray:
    """The boolean picture grid of ``pattern``: at most ``max_cells`` cells a side, each
    True when a nonzero of the pattern falls into it."""
    if max_cells < 1:
        raise ValueError(f"max_cells must be at least 1, got {max_cells}")
    coo = pattern.tocoo()
    m, n = pattern.shape
    gr, gc = min(m, max_cells), min(n, max_cells)
    grid = np.zeros((gr, gc), dtype=bool)
    if coo.nnz:
        keep = coo.data != 0
        r = coo.row[keep].astype(np.int64) * gr // max(m, 1)
        c = coo.col[keep].astype(np.int64) * gc // max(n, 1)
        grid[r, c] = True
    return grid


def _runs(row: np.ndarray):
    """(start, length) of each run of True in a boolean vector."""
    d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    return zip(starts.tolist(), (np.flatnonzero(d == -1) - starts).tolist())


def pattern_svg(
    pattern,
    *,
    size: int = 400,
    max_cells: int = 400,
    color: str = "#1f4e79",
    title: str | None = None,
) -> str:
    """The spy plot of ``pattern`` as an SVG document (a string).

    Parameters
    ----------
    pattern
        A 2-D ``scipy.sparse`` matrix (or anything with ``tocoo()`` and ``shape``).
    size
        The longer side of the picture, in pixels.
    max_cells
        The most grid cells a side (larger patterns are binned, see the module notes).
    color
        The fill of nonzero cells.
    title
        A caption above the board; by default the shape and the number of nonzeros.
    """
    if not hasattr(pattern, "tocoo") or len(getattr(pattern, "shape", ())) != 2:
        raise TypeError(
            f"pattern_svg: expected a 2-D scipy.sparse pattern, got {type(pattern).__name__}"
        )
    m, n = pattern.shape
    grid = pattern_grid(pattern, max_cells)
    gr, gc = grid.shape
    longest = max(gr, gc, 1)
    cell = size / longest
    w, h = gc * cell, gr * cell
    top = 22.0
    if title is None:
        title = f"{m} x {n}, {pattern.nnz} nonzeros"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2:.0f}" height="{h + top + 2:.0f}" '
        f'viewBox="-1 {-top - 1:.1f} {w + 2:.1f} {h + top + 2:.1f}">',
        f'<text x="0" y="-7" font-family="sans-serif" font-size="12">{escape(title)}</text>',
        f'<rect x="0" y="0" width="{w:.2f}" height="{h:.2f}" fill="white" stroke="#888"/>',
        f'<g fill="{escape(color)}">',
    ]
    for r in range(gr):
        for start, length in _runs(grid[r]):
            parts.append(
                f'<rect x="{start * cell:.2f}" y="{r * cell:.2f}" '
                f'width="{length * cell:.2f}" height="{cell:.2f}"/>'
            )
    parts.append("</g></svg>")
    return "\n".join(parts)


def _pyplot(what: str):
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            f"{what} needs matplotlib; install it with `pip install adgraph[plot]` "
            "(or write an SVG, which needs nothing: pattern.savefig('p.svg'))"
        ) from e
    return plt


def spy_plot(pattern, ax: Any = None, *, markersize: float | None = None, **kw: Any) -> Any:
    """A matplotlib spy plot of ``pattern`` on ``ax`` (a new figure's axes by default);
    returns the axes. Needs matplotlib (the ``plot`` extra)."""
    plt = _pyplot("spy_plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    m, n = pattern.shape
    if markersize is None:
        markersize = max(0.5, min(6.0, 300.0 / max(m, n, 1)))
    ax.spy(pattern, markersize=markersize, **kw)
    ax.set_title(f"{m} x {n}, {pattern.nnz} nonzeros", fontsize=10)
    return ax


def save_pattern(pattern, path: str, **kw: Any) -> str:
    """Write the spy plot of ``pattern`` to ``path``: ``.svg`` by :func:`pattern_svg` (no
    dependencies), any other suffix (``.png``, ``.pdf``) through matplotlib. Returns
    ``path``."""
    path = str(path)
    if path.lower().endswith(".svg"):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(pattern_svg(pattern, **kw))
        return path
    plt = _pyplot(f"saving a pattern as {path.rsplit('.', 1)[-1]!r}")
    fig, ax = plt.subplots(figsize=(5, 5))
    try:
        spy_plot(pattern, ax=ax, **kw)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
