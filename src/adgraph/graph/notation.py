r"""The notation of evaluation traces, rendered as plain text, LaTeX or HTML.

A formula is a list of tokens: :class:`Sym` (a variable such as :math:`v_{-1}`,
:math:`\dot v_1`, :math:`\bar v_0`, :math:`x_1`, :math:`y`), :class:`Fn` (a function name),
:class:`Num` (a formatted number), :class:`Sup` (a superscript) and plain strings
(operators and brackets). One formula renders to every format, so the text, Markdown,
LaTeX and HTML tables always say the same thing.

Operation templates are written once, as short strings such as ``"{0} + {1}"``,
``"ln({0})"`` or ``"1 - {out}^2"`` (``{k}``: argument ``k``, ``{out}``: the node itself);
:func:`parse_template` turns them into token lists.
"""

from __future__ import annotations

import html as _html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Sym",
    "Fn",
    "Num",
    "Sup",
    "render",
    "fmt_number",
    "fmt_value",
    "parse_template",
    "substitute",
    "PRIMAL",
    "VALUE",
    "PARTIALS",
    "ONE",
    "MINUS_ONE",
]

_SUBSCRIPT = str.maketrans("0123456789-+", "₀₁₂₃₄₅₆₇₈₉₋₊")
_LATEX_FN = {
    "ln",
    "log",
    "exp",
    "sin",
    "cos",
    "tan",
    "sinh",
    "cosh",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
    "sqrt",
}
_DOT = "\u0307"  # combining dot above
_BAR = "\u0304"  # combining macron


class Sym:
    """A variable: ``base`` (v, x, y or an input's name), subscript, accent (dot/bar)."""

    __slots__ = ("base", "sub", "accent")

    def __init__(self, base: str, sub: Any = None, accent: str | None = None) -> None:
        self.base = base
        self.sub = None if sub is None else str(sub)
        self.accent = accent

    def text(self, unicode_sub: bool = False) -> str:
        base = self.base
        if self.accent == "dot":
            base = base[0] + _DOT + base[1:]
        elif self.accent == "bar":
            base = base[0] + _BAR + base[1:]
        if self.sub is None:
            return base
        if unicode_sub:
            return base + self.sub.translate(_SUBSCRIPT)
        return f"{base}_{self.sub}"

    def latex(self) -> str:
        base = self.base if len(self.base) == 1 else rf"\mathrm{{{self.base}}}"
        if self.accent == "dot":
            base = rf"\dot{{{base}}}"
        elif self.accent == "bar":
            base = rf"\bar{{{base}}}"
        return base if self.sub is None else f"{base}_{{{self.sub}}}"

    def html(self) -> str:
        base = _html.escape(self.base)
        if self.accent == "dot":
            base = base[0] + "&#775;" + base[1:]
        elif self.accent == "bar":
            base = base[0] + "&#772;" + base[1:]
        return base if self.sub is None else f"{base}<sub>{_html.escape(self.sub)}</sub>"


class Fn:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Num:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s

    @property
    def negative(self) -> bool:
        return self.s.startswith("-")


class Sup:
    __slots__ = ("body",)

    def __init__(self, body: Iterable[Any]) -> None:
        self.body = list(body)


def input_symbol(name: str | None, accent: str | None = None) -> Sym:
    """An input's symbol: ``x1`` -> x with subscript 1 (as the article writes it)."""
    m = re.fullmatch(r"([A-Za-z]+)_?(\d+)", name or "")
    if m:
        return Sym(m.group(1), m.group(2), accent)
    return Sym(name or "x", None, accent)


def render(tokens: Iterable[Any], fmt: str = "text", unicode_sub: bool = False) -> str:
    """Render a token list as ``"text"``, ``"latex"`` or ``"html"``."""
    out = []
    for tok in tokens:
        if isinstance(tok, str):
            if fmt == "html":
                out.append(_html.escape(tok))
            elif fmt == "latex":
                out.append(tok.replace("_", r"\_"))
            else:
                out.append(tok)
        elif isinstance(tok, Sym):
            if fmt == "latex":
                out.append(tok.latex())
            elif fmt == "html":
                out.append(tok.html())
            else:
                out.append(tok.text(unicode_sub))
        elif isinstance(tok, Num):
            out.append(_html.escape(tok.s) if fmt == "html" else tok.s)
        elif isinstance(tok, Fn):
            if fmt == "latex":
                out.append(
                    "\\" + tok.name
                    if tok.name in _LATEX_FN
                    else rf"\operatorname{{{tok.name.replace('_', chr(92) + '_')}}}"
                )
            else:
                out.append(_html.escape(tok.name) if fmt == "html" else tok.name)
        elif isinstance(tok, Sup):
            body = render(tok.body, fmt, unicode_sub)
            if fmt == "latex":
                out.append(f"^{{{body}}}")
            elif fmt == "html":
                out.append(f"<sup>{body}</sup>")
            else:
                simple = len(tok.body) == 1 and not (
                    isinstance(tok.body[0], Num) and tok.body[0].negative
                )
                out.append("^" + (body if simple else f"({body})"))
        else:  # pragma: no cover - a programming error
            raise TypeError(f"unknown formula token {tok!r}")
    return "".join(out)


# ---------------------------------------------------------------------- numbers
def fmt_number(x: Any, digits: int = 3) -> str:
    """A number as the evaluation tables print it: ``2``, ``0.693``, ``11.307``, ``1.2e-05``.

    Integral values print without a decimal point; others are rounded to ``digits``
    decimals, trailing zeros removed; very large or small magnitudes use ``digits``
    significant figures in exponent form.
    """
    if isinstance(x, (complex, np.complexfloating)) or np.iscomplexobj(x):
        z = complex(x)
        if z.imag == 0:
            return fmt_number(z.real, digits)
        sign = "-" if z.imag < 0 else "+"
        return f"{fmt_number(z.real, digits)}{sign}{fmt_number(abs(z.imag), digits)}i"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    ax = abs(x)
    if 10.0 ** (-digits) <= ax < 1e6:
        s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
        return "0" if s in ("-0", "") else s
    return f"{x:.{digits}g}"


def shape_str(shape: Iterable[int], dtype: Any) -> str:
    kind = {"f": "f", "c": "c", "i": "i", "u": "u", "b": "bool"}.get(dtype.kind, dtype.kind)
    bits = "" if kind == "bool" else str(dtype.itemsize * 8)
    return f"{kind}{bits}[{','.join(map(str, shape))}]"


def fmt_value(v: Any, digits: int = 3, max_items: int = 4) -> str:
    """A value for a table cell or a picture: a number, a short array, or a summary."""
    if isinstance(v, tuple):
        return "(" + ", ".join(fmt_value(x, digits, max_items) for x in v) + ")"
    if v is None:
        return "0"
    a = np.asarray(v)
    if a.ndim == 0:
        return fmt_number(a[()], digits)
    if a.size <= max_items:
        inner = ", ".join(fmt_number(x, digits) for x in a.ravel())
        return f"[{inner}]" if a.ndim == 1 else f"{shape_str(a.shape, a.dtype)} [{inner}]"
    if a.dtype.kind in "fiu" and a.size:
        return (
            f"{shape_str(a.shape, a.dtype)} (min {fmt_number(a.min(), digits)}, "
            f"max {fmt_number(a.max(), digits)})"
        )
    return shape_str(a.shape, a.dtype)


# ---------------------------------------------------------------------- templates
_TEMPLATE_TOKEN = re.compile(
    r"(?P<ph>\{(?:\d+|[a-z_]+)\})|(?P<fn>[A-Za-z_][A-Za-z_0-9]*)(?=\()|"
    r"(?P<num>\d+(?:\.\d+)?)|(?P<op>\^|[-+/(),=])"
)


def parse_template(tpl: str) -> list[Any]:
    """Tokens of a template string; placeholders stay as ``("ph", key)`` tuples.

    A single space between two atoms is juxtaposition (a product); spaces around
    operators are layout only.
    """
    toks: list = []
    pos = 0
    while pos < len(tpl):
        if tpl[pos] == " ":
            prev = toks[-1] if toks else None
            nxt = tpl[pos + 1] if pos + 1 < len(tpl) else ""
            if prev not in ("+", "-", "/", "(", ",", "=", "^", None) and nxt not in "+-/),=^ ":
                toks.append(" ")
            pos += 1
            continue
        m = _TEMPLATE_TOKEN.match(tpl, pos)
        if not m:
            raise ValueError(f"bad template {tpl!r} at position {pos}")
        if m.group("ph"):
            toks.append(("ph", m.group("ph")[1:-1]))
        elif m.group("fn"):
            toks.append(Fn(m.group("fn")))
        elif m.group("num"):
            toks.append(Num(m.group("num")))
        else:
            toks.append(m.group("op"))
        pos = m.end()
    return _layout(toks)


def _layout(toks) -> list:
    """Fold ``^`` and the next atom or bracketed group into :class:`Sup`; space binary
    operators."""
    out: list = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if t == "^":
            k += 1
            if toks[k] == "(":
                depth, start = 0, k
                while True:
                    depth += toks[k] == "("
                    depth -= toks[k] == ")"
                    k += 1
                    if depth == 0:
                        break
                out.append(Sup(_layout(toks[start + 1 : k - 1])))
            else:
                out.append(Sup([toks[k]]))
                k += 1
            continue
        if t in ("+", "=") or (t == "-" and out and out[-1] not in ("(", ", ", " = ")):
            out.append(f" {t} ")
        elif t == ",":
            out.append(", ")
        else:
            out.append(t)
        k += 1
    return out


def substitute(tokens: Sequence[Any], subs: dict[str, list[Any]]) -> list[Any]:
    """Fill placeholders with token lists. A negative number is bracketed unless it starts
    the formula or follows an opening bracket or a comma; a compound substitution is
    bracketed before a power and after a juxtaposition."""
    out: list = []
    for k, t in enumerate(tokens):
        if isinstance(t, tuple) and t[0] == "ph":
            rep = list(subs[t[1]])
            prev = out[-1] if out else None
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if len(rep) == 1 and isinstance(rep[0], Num) and rep[0].negative:
                if (prev is not None and prev not in ("(", ", ")) or isinstance(nxt, Sup):
                    rep = ["(", *rep, ")"]
            elif len(rep) > 1 and (isinstance(nxt, Sup) or prev == " " or nxt == " "):
                rep = ["(", *rep, ")"]
            out.extend(rep)
        elif isinstance(t, Sup):
            out.append(Sup(substitute(t.body, subs)))
        else:
            out.append(t)
    return out


# Primal expressions: symbolic form; VALUE overrides the form with numbers substituted
# (the article writes the product v_-1 v_0 as 2(4)).
_PRIMAL_SRC = {
    "add": "{0} + {1}",
    "subtract": "{0} - {1}",
    "multiply": "{0} {1}",
    "divide": "{0}/{1}",
    "negative": "-{0}",
    "power": "{0}^{1}",
    "square": "{0}^2",
    "integer_pow": "{0}^{n}",
    "log": "ln({0})",
    "reciprocal": "1/{0}",
}
_VALUE_SRC = {"multiply": "{0}({1})", "negative": "-({0})"}

# Local partial derivatives d out / d arg_k, per argument; ONE and MINUS_ONE are exact.
ONE = "1"
MINUS_ONE = "-1"
_PARTIAL_SRC = {
    "add": (ONE, ONE),
    "subtract": (ONE, MINUS_ONE),
    "multiply": ("{1}", "{0}"),
    "divide": ("1/{1}", "-{0}/{1}^2"),
    "negative": (MINUS_ONE,),
    "log": ("1/{0}",),
    "log1p": ("1/(1 + {0})",),
    "exp": ("{out}",),
    "expm1": ("{out} + 1",),
    "sin": ("cos({0})",),
    "cos": ("-sin({0})",),
    "tan": ("1 + {out}^2",),
    "tanh": ("1 - {out}^2",),
    "sinh": ("cosh({0})",),
    "cosh": ("sinh({0})",),
    "sqrt": ("1/(2 {out})",),
    "square": ("2 {0}",),
    "reciprocal": ("-{out}^2",),
    "power": ("{1} {0}^({1} - 1)", "{out} ln({0})"),
    "arctan": ("1/(1 + {0}^2)",),
    "arcsin": ("1/sqrt(1 - {0}^2)",),
    "arccos": ("-1/sqrt(1 - {0}^2)",),
    "arcsinh": ("1/sqrt({0}^2 + 1)",),
    "arccosh": ("1/sqrt({0}^2 - 1)",),
    "arctanh": ("1/(1 - {0}^2)",),
    "exp2": ("ln(2) {out}",),
    "log2": ("1/({0} ln(2))",),
    "log10": ("1/({0} ln(10))",),
    "cbrt": ("1/(3 {out}^2)",),
    "abs": ("sign({0})",),
    "expit": ("{out} (1 - {out})",),
}
# Templates that use a node's parameters (``{n}``) besides its arguments.
PARAM_TEMPLATES = {"integer_pow": ("n",)}

PRIMAL = {k: parse_template(v) for k, v in _PRIMAL_SRC.items()}
VALUE = {k: parse_template(v) for k, v in _VALUE_SRC.items()}
PARTIALS = {
    k: tuple(p if p in (ONE, MINUS_ONE) else parse_template(p) for p in v)
    for k, v in _PARTIAL_SRC.items()
}
