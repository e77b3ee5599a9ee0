"""The evaluation-trace tables as objects (:class:`TraceTable`, :class:`TraceTables`) and
their renderings: text, Markdown, LaTeX, HTML and plain data. :mod:`.tables` builds them
from a graph (and re-exports them).
"""

from __future__ import annotations

import html as _html
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from .notation import Sym, render

__all__ = ["TraceTable", "TraceTables"]


class Partial:
    """The symbol of a local partial derivative, d v_j / d v_i."""

    __slots__ = ("num", "den")

    def __init__(self, num: Sym, den: Sym) -> None:
        self.num = num
        self.den = den


class Note:
    """A remark in place of a number: ``— (int64: not differentiable)``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _no_derivative(value) -> Note:
    """The cell of a value that carries no derivative (integer or boolean dtype)."""
    dt = getattr(value, "dtype", None)
    if dt is None:
        dt = np.asarray(value).dtype
    return Note(f"— ({dt}: not differentiable)")


def _render(tokens, fmt, unicode_sub=False):
    # Partial symbols and notes are the tokens notation.render does not know.
    out = []
    chunk = []
    for t in tokens:
        if isinstance(t, Note):
            if chunk:
                out.append(render(chunk, fmt, unicode_sub))
                chunk = []
            if fmt == "latex":
                out.append(r"\text{" + t.text.replace("—", "---").replace("_", r"\_") + "}")
            elif fmt == "html":
                out.append(_html.escape(t.text))
            else:
                out.append(t.text)
        elif isinstance(t, Partial):
            if chunk:
                out.append(render(chunk, fmt, unicode_sub))
                chunk = []
            n, d = render([t.num], fmt, unicode_sub), render([t.den], fmt, unicode_sub)
            if fmt == "latex":
                out.append(rf"\frac{{\partial {n}}}{{\partial {d}}}")
            elif fmt == "html":
                out.append(f"&part;{n}/&part;{d}")
            else:
                out.append(f"∂{n}/∂{d}")
        else:
            chunk.append(t)
    if chunk:
        out.append(render(chunk, fmt, unicode_sub))
    return "".join(out)


def _width(s: str) -> int:
    return sum(1 for ch in s if not unicodedata.combining(ch))


def _pad(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


class Row:
    __slots__ = ("lhs", "rhs", "value", "number")

    def __init__(
        self, lhs: list[Any], rhs: list[Any], value: list[Any], number: Any = None
    ) -> None:
        self.lhs = lhs  # tokens: the variable defined (v_1, dot v_1, bar v_1, y...)
        self.rhs = rhs  # tokens: its definition
        self.value = value  # tokens: the numbers
        self.number = number  # the value itself


class TraceTable:
    """One evaluation-trace table: a title and rows ``lhs = rhs | value``."""

    def __init__(self, kind: str, title: str, rows: Iterable[Row], header: str = "Output") -> None:
        self.kind = kind
        self.title = title
        self.header = header
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    # -------------------------------------------------------------- renderers
    def lines(self, unicode_sub: bool = False) -> list:
        """``[(formula, value)]`` as plain text, the ``=`` signs aligned."""
        lhs = [_render(r.lhs, "text", unicode_sub) for r in self.rows]
        w = max((_width(s) for s in lhs), default=0)
        out = []
        for s, r in zip(lhs, self.rows, strict=False):
            f = _pad(s, w) + (" = " + _render(r.rhs, "text", unicode_sub) if r.rhs else "")
            out.append((f, _render(r.value, "text", unicode_sub)))
        return out

    def to_text(self) -> str:
        body = self.lines()
        w1 = max([_width(self.title)] + [_width(a) for a, _ in body])
        w2 = max([_width(self.header)] + [_width(b) for _, b in body])
        sep = f"+-{'-' * w1}-+-{'-' * w2}-+"
        out = [sep, f"| {_pad(self.title, w1)} | {_pad(self.header, w2)} |", sep]
        out += [f"| {_pad(a, w1)} | {_pad(b, w2)} |" for a, b in body]
        out.append(sep)
        return "\n".join(out)

    __str__ = to_text

    def __repr__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        out = [f"| {self.title} | {self.header} |", "|---|---|"]
        for r in self.rows:
            f = _render(r.lhs, "latex") + (" = " + _render(r.rhs, "latex") if r.rhs else "")
            out.append(f"| ${f}$ | ${_render(r.value, 'latex')}$ |")
        return "\n".join(out)

    def to_latex(self) -> str:
        out = [
            r"\begin{array}{|l|l|}",
            r"\hline",
            rf"\text{{{self.title}}} & \text{{{self.header}}} \\",
            r"\hline",
        ]
        for r in self.rows:
            f = _render(r.lhs, "latex") + (" = " + _render(r.rhs, "latex") if r.rhs else "")
            out.append(rf"{f} & {_render(r.value, 'latex')} \\")
            out.append(r"\hline")
        out.append(r"\end{array}")
        return "\n".join(out)

    def to_html(self) -> str:
        cells = []
        for r in self.rows:
            f = _render(r.lhs, "html") + (" = " + _render(r.rhs, "html") if r.rhs else "")
            cells.append(f"<tr><td>{f}</td><td>{_render(r.value, 'html')}</td></tr>")
        return (
            '<table class="adgraph-trace" style="border-collapse:collapse;font-family:serif">'
            f'<thead><tr><th style="text-align:left">{_html.escape(self.title)}</th>'
            f'<th style="text-align:left">{_html.escape(self.header)}</th></tr></thead>'
            f"<tbody>{''.join(cells)}</tbody></table>"
        )

    _repr_html_ = to_html

    def to_dict(self) -> dict:
        rows = []
        for (f, v), r in zip(self.lines(), self.rows, strict=False):
            rows.append({"formula": f, "value": v, "number": _jsonable(r.number)})
        return {"kind": self.kind, "title": self.title, "rows": rows}


def _jsonable(x):
    if x is None:
        return None
    if isinstance(x, tuple):
        return [_jsonable(v) for v in x]
    a = np.asarray(x)
    if a.dtype.kind == "c":
        return {"real": _jsonable(a.real), "imag": _jsonable(a.imag)}
    if a.dtype.kind not in "fiub":
        return None
    if a.size > 10000:
        return None
    v = a.tolist()
    if a.dtype.kind == "f":

        def clean(u):
            if isinstance(u, list):
                return [clean(w) for w in u]
            return u if np.isfinite(u) else str(u)

        v = clean(v)
    return v


class TraceTables:
    """The three tables of an evaluation trace, shown together."""

    def __init__(
        self,
        primal: TraceTable,
        tangent: TraceTable | None = None,
        adjoint: TraceTable | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.primal = primal
        self.tangent = tangent
        self.adjoint = adjoint
        # why a table is missing (a custom_vjp function has no forward trace), shown last
        self.notes = list(notes or ())

    @property
    def tables(self) -> list[TraceTable]:
        return [t for t in (self.primal, self.tangent, self.adjoint) if t is not None]

    def to_text(self) -> str:
        return "\n\n".join([*(t.to_text() for t in self.tables), *self.notes])

    __str__ = to_text

    def __repr__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        return "\n\n".join([*(t.to_markdown() for t in self.tables), *self.notes])

    def to_latex(self) -> str:
        notes = [f"\\text{{{n}}}" for n in self.notes]
        return "\n\n".join([*(t.to_latex() for t in self.tables), *notes])

    def to_html(self) -> str:
        inner = "".join(f'<div style="margin-right:2em">{t.to_html()}</div>' for t in self.tables)
        inner += "".join(f"<p>{_html.escape(n)}</p>" for n in self.notes)
        return f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start">{inner}</div>'

    _repr_html_ = to_html

    def to_dict(self) -> dict:
        out: dict = {t.kind: t.to_dict() for t in self.tables}
        if self.notes:
            out["notes"] = list(self.notes)
        return out
