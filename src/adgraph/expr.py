"""A small, closed expression language for the ``adgraph`` command.

Grammar (``**`` binds tighter than unary minus, which binds tighter than ``*`` and ``/``;
``**`` is right-associative, the others left-associative)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := atom ("**" unary)?
    atom    := NUMBER | NAME | FUNCTION "(" expr ("," expr)* ")" | "(" expr ")"

Numbers are decimal literals (``2``, ``0.5``, ``1e-3``, ``1_000``), the rule of
:func:`parse_number`: hexadecimal, octal, binary and complex literals, and literals beyond
float64's range, are refused. Names are variables (letters, digits and underscores, starting with a letter) or the
constants ``pi`` and ``e``; functions come from a fixed list (:data:`FUNCTIONS`) of
:mod:`adgraph.numpy` operations. The text is tokenised and parsed here, character by
character -- never handed to Python's ``eval``, ``exec`` or ``compile`` -- and anything
outside the grammar is refused with a one-line :class:`ExprError`: attribute access,
subscripts, strings, keyword arguments, lambdas and other keywords, unknown or dunder
names, calls of anything but a listed function, wrong argument counts, input longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` levels.

A parsed :class:`Expression` is compiled to a flat postfix program and evaluated by a loop
(no recursion), on NumPy values, adgraph tracers, or anything else the listed functions
accept.
"""

from __future__ import annotations

import inspect
import keyword
import math
import re

__all__ = [
    "ExprError",
    "Expression",
    "parse",
    "parse_number",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
]

MAX_LENGTH = 10_000
MAX_DEPTH = 100

# name in the language -> (name in adgraph.numpy, number of arguments)
FUNCTIONS = {
    "exp": ("exp", 1),
    "exp2": ("exp2", 1),
    "expm1": ("expm1", 1),
    "log": ("log", 1),
    "ln": ("log", 1),
    "log2": ("log2", 1),
    "log10": ("log10", 1),
    "log1p": ("log1p", 1),
    "sqrt": ("sqrt", 1),
    "cbrt": ("cbrt", 1),
    "square": ("square", 1),
    "reciprocal": ("reciprocal", 1),
    "sin": ("sin", 1),
    "cos": ("cos", 1),
    "tan": ("tan", 1),
    "arcsin": ("arcsin", 1),
    "arccos": ("arccos", 1),
    "arctan": ("arctan", 1),
    "asin": ("arcsin", 1),
    "acos": ("arccos", 1),
    "atan": ("arctan", 1),
    "sinh": ("sinh", 1),
    "cosh": ("cosh", 1),
    "tanh": ("tanh", 1),
    "arcsinh": ("arcsinh", 1),
    "arccosh": ("arccosh", 1),
    "arctanh": ("arctanh", 1),
    "asinh": ("arcsinh", 1),
    "acosh": ("arccosh", 1),
    "atanh": ("arctanh", 1),
    "abs": ("abs", 1),
    "sinc": ("sinc", 1),
    "deg2rad": ("deg2rad", 1),
    "rad2deg": ("rad2deg", 1),
    "arctan2": ("arctan2", 2),
    "atan2": ("arctan2", 2),
    "hypot": ("hypot", 2),
    "maximum": ("maximum", 2),
    "minimum": ("minimum", 2),
    "logaddexp": ("logaddexp", 2),
    "power": ("power", 2),
    "pow": ("power", 2),
}
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "**": "power"}
# (left binding power, right binding power)
_BP = {"+": (10, 11), "-": (10, 11), "*": (20, 21), "/": (20, 21), "**": (31, 30)}
_UNARY_BP = 25

# Decimal literals, as Python's float() reads them: ASCII digits, single underscores between
# digits (1_000), an optional fraction and exponent. Hexadecimal, octal, binary and complex
# literals are refused with the reason, in expressions and in ``--at`` values alike.
_DIGITS = r"[0-9](?:_?[0-9])*"
_NUMBER = re.compile(rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?")
_SIGNED_NUMBER = re.compile(rf"[+-]?{_NUMBER.pattern}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExprError(ValueError):
    """An expression outside the language; the message is one line saying why."""


def _number_problem(text: str) -> str:
    """Why ``text`` (stripped) is not a decimal literal: the end of a sentence."""
    body = text.lstrip("+-")
    low = body.lower()
    if low in ("inf", "infinity", "nan"):
        return "is not a finite number"
    if low[:2] in ("0x", "0o", "0b"):
        kind = {"0x": "hexadecimal", "0o": "octal", "0b": "binary"}[low[:2]]
        try:
            as_int = int(text, 0)
        except ValueError:
            return f"is not a number ({kind} literals are not accepted; write it in decimal)"
        return f"is {kind}: write it in decimal ({as_int})"
    if low.endswith("j"):
        try:
            complex(text)
        except ValueError:
            pass
        else:
            return "is complex: only real numbers are accepted"
    if not text.isascii():
        return "is not a number (write it with the ASCII digits 0-9)"
    if re.search(r"(?<![0-9])_|_(?![0-9])", body):
        return "is not a number (underscores go singly between digits, as in 1_000)"
    return "is not a number (expected a decimal such as 2, -0.5, 1e-3 or 1_000)"


def parse_number(text: str) -> float:
    """A real number written as a decimal literal (``2``, ``-0.5``, ``1e-3``, ``1_000``;
    surrounding spaces are ignored), or :class:`ExprError` with the end of a sentence saying
    why not: hexadecimal, complex, non-finite (``inf``, ``nan``, or beyond float64's range)
    and other text are refused. Expressions read their numbers by the same rule."""
    s = str(text).strip()
    if not s:
        raise ExprError("is empty: give a number")
    if not _SIGNED_NUMBER.fullmatch(s):
        raise ExprError(_number_problem(s))
    v = float(s)
    if not math.isfinite(v):
        raise ExprError("is too large for float64 (at most about 1.8e308 in magnitude)")
    return v


def _show(s: str, n: int = 20) -> str:
    s = s if len(s) <= n else s[:n] + "..."
    return repr(s)


# ---------------------------------------------------------------------- tokens
def _tokenize(text: str) -> list:
    """``[(kind, value, position)]`` with kinds num, name, op, end."""
    toks = []
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in " \t\r\n":
            pos += 1
            continue
        if not ch.isascii():
            if "\udc80" <= ch <= "\udcff":  # a byte that was not UTF-8 (surrogateescape)
                raise ExprError(
                    f"byte 0x{ord(ch) - 0xDC00:02x} at position {pos} is not UTF-8 text; only "
                    "ASCII is allowed"
                )
            raise ExprError(f"character {ch!r} at position {pos} is not allowed (ASCII only)")
        if ch.isdigit() or (ch == "." and pos + 1 < n and text[pos + 1].isdigit()):
            m = _NUMBER.match(text, pos)
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] == "_"):
                word = re.match(r"[0-9A-Za-z_.]*", text[pos:]).group()
                problem = _number_problem(word)
                if not problem.endswith("(expected a decimal such as 2, -0.5, 1e-3 or 1_000)"):
                    raise ExprError(f"number {_show(word)} at position {pos} {problem}")
                raise ExprError(
                    f"number {text[pos:end]!r} is followed directly by {text[end]!r} at position "
                    f"{end}; write the product with * (e.g. 2*x)"
                )
            if end < n and text[end] == ".":
                raise ExprError(f"malformed number or attribute access at position {end}")
            value = float(text[pos:end])
            if not math.isfinite(value):
                raise ExprError(
                    f"number {_show(text[pos:end])} at position {pos} is too large for float64 "
                    "(at most about 1.8e308 in magnitude)"
                )
            toks.append(("num", value, pos))
            pos = end
            continue
        if ch.isalpha() or ch == "_":
            m = _NAME.match(text, pos)
            name = m.group()
            if name.startswith("_"):
                raise ExprError(
                    f"name {_show(name)} at position {pos} is not allowed: names must start "
                    "with a letter (names with underscores in front, like __import__, are refused)"
                )
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                raise ExprError(
                    f"{name!r} at position {pos} is not allowed: only numbers, variables, "
                    "+ - * / **, parentheses and the listed functions may appear"
                )
            toks.append(("name", name, pos))
            pos = m.end()
            continue
        if text.startswith("**", pos):
            toks.append(("op", "**", pos))
            pos += 2
            continue
        if text.startswith("//", pos):
            raise ExprError(f"floor division '//' at position {pos} is not allowed")
        if ch in "+-*/(),":
            toks.append(("op", ch, pos))
            pos += 1
            continue
        reason = {
            ".": "attribute access ('.') is not allowed",
            "[": "subscripts ('[...]') are not allowed",
            "]": "subscripts ('[...]') are not allowed",
            "^": "'^' is not allowed; write powers with ** (e.g. x**2)",
            "=": "'=' is not allowed (no assignments or keyword arguments)",
            "'": "strings are not allowed",
            '"': "strings are not allowed",
            ":": "':' is not allowed (no lambdas, slices or annotations)",
            "{": "'{' is not allowed",
            "}": "'}' is not allowed",
            "@": "'@' is not allowed",
            "%": "'%' is not allowed",
            "\\": "'\\' is not allowed",
            ";": "';' is not allowed",
        }.get(ch, f"character {ch!r} is not allowed")
        raise ExprError(f"{reason} (position {pos})")
    toks.append(("end", None, n))
    return toks


# ---------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.k = 0

    def peek(self):
        return self.toks[self.k]

    def take(self):
        t = self.toks[self.k]
        self.k += 1
        return t

    def expect(self, op, what):
        t = self.take()
        if t[0] != "op" or t[1] != op:
            raise ExprError(f"expected {op!r} {what} at position {t[2]}, found {_desc(t)}")
        return t

    def expr(self, min_bp: int, depth: int):
        if depth > MAX_DEPTH:
            raise ExprError(
                f"expression nested too deeply (more than {MAX_DEPTH} levels of brackets, "
                "signs or powers)"
            )
        lhs = self.prefix(depth)
        while True:
            t = self.peek()
            if t[0] == "end" or (t[0] == "op" and t[1] in "),"):
                return lhs
            if t[0] != "op":
                raise ExprError(f"missing operator before {_desc(t)} at position {t[2]}")
            if t[1] == "(":
                raise ExprError(
                    f"'(' at position {t[2]} follows a value: only listed functions can be "
                    "called; write products with *"
                )
            lbp, rbp = _BP[t[1]]
            if lbp < min_bp:
                return lhs
            self.take()
            rhs = self.expr(rbp, depth + 1)
            lhs = ("bin", t[1], lhs, rhs)

    def prefix(self, depth: int):
        t = self.take()
        kind, val, pos = t
        if kind == "num":
            return ("num", val)
        if kind == "name":
            nxt = self.peek()
            if nxt[0] == "op" and nxt[1] == "(":
                return self.call(val, pos, depth)
            if val in FUNCTIONS:
                raise ExprError(f"{val!r} at position {pos} is a function: call it as {val}(...)")
            if val in CONSTANTS:
                return ("const", val)
            return ("var", val)
        if kind == "op" and val in "-+":
            operand = self.expr(_UNARY_BP, depth + 1)
            return ("neg", operand) if val == "-" else operand
        if kind == "op" and val == "(":
            inner = self.expr(0, depth + 1)
            self.expect(")", "to close the '(' at position " + str(pos))
            return inner
        if kind == "end":
            raise ExprError(
                "the expression ends where a value was expected"
                if pos
                else "the expression is empty"
            )
        raise ExprError(f"a value was expected at position {pos}, found {_desc(t)}")

    def call(self, name, pos, depth):
        if name not in FUNCTIONS:
            if name in CONSTANTS:
                raise ExprError(f"{name!r} at position {pos} is a constant and cannot be called")
            known = ", ".join(sorted(FUNCTIONS))
            raise ExprError(f"unknown function {_show(name)} at position {pos}; known: {known}")
        self.expect("(", "after " + name)
        args = []
        if self.peek()[:2] == ("op", ")"):
            self.take()
        else:
            while True:
                args.append(self.expr(0, depth + 1))
                t = self.take()
                if t[:2] == ("op", ")"):
                    break
                if t[:2] != ("op", ","):
                    raise ExprError(
                        f"expected ',' or ')' in the call of {name} at position {t[2]}, found "
                        f"{_desc(t)}"
                    )
        nargs = FUNCTIONS[name][1]
        if len(args) != nargs:
            plural = "argument" if nargs == 1 else "arguments"
            raise ExprError(f"{name} takes {nargs} {plural}, got {len(args)}")
        return ("call", name, tuple(args))


def _desc(t) -> str:
    kind, val, _ = t
    if kind == "end":
        return "the end of the expression"
    if kind == "num":
        return f"number {val:g}"
    if kind == "name":
        return f"name {_show(val)}"
    return repr(val)


# ---------------------------------------------------------------------- expressions
class Expression:
    """A parsed expression: its variables (in order of first appearance) and a postfix
    program evaluated without recursion."""

    def __init__(self, source: str, program: list, variables: tuple, size: int):
        self.source = source
        self.program = program
        self.variables = variables
        self.size = size  # number of operations and leaves

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __str__(self) -> str:
        return self.source

    def evaluate(self, env: dict):
        """The value for ``env`` (variable name -> value), computed with adgraph.numpy."""
        import adgraph.numpy as anp

        stack = []
        for ins in self.program:
            op = ins[0]
            if op == "num":
                stack.append(ins[1])
            elif op == "var":
                try:
                    stack.append(env[ins[1]])
                except KeyError:
                    raise ExprError(f"no value given for variable {ins[1]!r}") from None
            elif op == "const":
                stack.append(CONSTANTS[ins[1]])
            elif op == "neg":
                stack.append(anp.negative(stack.pop()))
            elif op == "bin":
                b = stack.pop()
                a = stack.pop()
                stack.append(getattr(anp, _BINARY[ins[1]])(a, b))
            else:  # call
                n = FUNCTIONS[ins[1]][1]
                args = stack[-n:]
                del stack[-n:]
                stack.append(getattr(anp, FUNCTIONS[ins[1]][0])(*args))
        return stack.pop()

    def function(self, names=None):
        """A Python function of the variables (positional, in ``names`` order, default
        :attr:`variables`), with a real signature so traces name their inputs."""
        names = tuple(self.variables if names is None else names)
        missing = [v for v in self.variables if v not in names]
        if missing:
            raise ExprError(f"no value given for variable {missing[0]!r}")
        expr = self

        def f(*args):
            return expr.evaluate(dict(zip(names, args, strict=True)))

        f.__name__ = "f"
        f.__qualname__ = "f"
        f.__doc__ = f"f({', '.join(names)}) = {self.source}"
        f.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        )
        return f


def _compile(tree) -> tuple:
    """Postfix program, variables in order of appearance, size -- iteratively."""
    program = []
    variables = []
    seen = set()
    stack = [(tree, False)]
    while stack:
        node, done = stack.pop()
        kind = node[0]
        if kind in ("num", "var", "const"):
            program.append(node)
            if kind == "var" and node[1] not in seen:
                seen.add(node[1])
                variables.append(node[1])
            continue
        if done:
            if kind == "neg":
                program.append(("neg",))
            elif kind == "bin":
                program.append(("bin", node[1]))
            else:
                program.append(("call", node[1]))
            continue
        stack.append((node, True))
        if kind == "neg":
            stack.append((node[1], False))
        elif kind == "bin":
            stack.append((node[3], False))
            stack.append((node[2], False))
        else:
            for a in reversed(node[2]):
                stack.append((a, False))
    return program, tuple(variables), len(program)


def parse(text: str) -> Expression:
    """Parse ``text`` (see the module documentation) or raise :class:`ExprError`."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"expression too long ({len(text)} characters; at most {MAX_LENGTH} are accepted)"
        )
    if not text.strip():
        raise ExprError("the expression is empty")
    toks = _tokenize(text)
    p = _Parser(toks)
    tree = p.expr(0, 0)
    t = p.peek()
    if t[0] != "end":
        if t[:2] == ("op", ")"):
            raise ExprError(f"unmatched ')' at position {t[2]}")
        raise ExprError(f"unexpected {_desc(t)} at position {t[2]}")
    program, variables, size = _compile(tree)
    return Expression(text.strip(), program, variables, size)
