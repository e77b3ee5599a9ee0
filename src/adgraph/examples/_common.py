"""Helpers shared by the examples: output folders, tables, progress bars, optional imports.

Every example module follows one pattern::

    DESCRIPTION = "one line"

    def main(argv=None) -> int:
        parser = make_parser("name", DESCRIPTION)      # adds --out and --no-plot
        parser.add_argument(...)                       # the example's own options
        args = parser.parse_args(argv)
        out = output_dir(args.out, "name")             # ./adgraph-out/name unless --out
        ...
        print_table(rows, headers, title="...")
        Figure = figure_or_none(args.no_plot)          # None (and one message) without matplotlib
        if Figure is not None:
            fig = Figure(figsize=(6, 4))
            ax = fig.subplots()
            ...
            save_figure(fig, out, "picture.png")
        write_summary(out, {...})                      # the numbers, for tests and scripts
        return 0

Nothing here imports matplotlib, SciPy or scikit-learn at module import time: they are optional
extras (``pip install adgraph[plot]``, ``adgraph[scipy]``, ``adgraph[sklearn]``) and are
loaded by :func:`figure_or_none` and :func:`require` when an example needs them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "ExampleParser",
    "make_parser",
    "output_dir",
    "print_table",
    "format_value",
    "Progress",
    "progress",
    "figure_or_none",
    "require",
    "save_figure",
    "write_summary",
    "Stopwatch",
    "stage",
]

OUT_ROOT = "adgraph-out"
"""Default parent folder of the examples' outputs (relative to the working directory)."""


# ------------------------------------------------------------------ command line
class ExampleParser(argparse.ArgumentParser):
    """argparse for the examples: a mistake is one line on stderr and exit status 2 (no
    usage block), and options are never abbreviated (``--a`` is not read as ``--at``).
    Examples call :meth:`error` for values argparse cannot check (ranges, finiteness)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # "-1e5", "-1_000" and "-inf" are values, not options (argparse alone knows only -1
        # and -1.5); the option's type and the example's checks then judge them.
        self._negative_number_matcher = re.compile(
            r"^-(?:[0-9](?:_?[0-9])*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?$"
            r"|^-(?:inf|infinity|nan)$",
            re.IGNORECASE,
        )

    def error(self, message):
        message = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        # --quiet silences stage lines and progress for the whole run
        ns = super().parse_args(args, namespace)
        global _QUIET, _T0, _NAME
        _QUIET = bool(getattr(ns, "quiet", False))
        _T0 = time.perf_counter()
        _NAME = self.prog.rsplit(" ", 1)[-1]
        return ns


_QUIET = False
_T0 = time.perf_counter()
_NAME = "example"


def stage(message: str) -> None:
    """One progress line on stderr, ``[name 12.3s] message``, unless ``--quiet``.

    Stderr, so that the example's tables on stdout stay clean for pipes and files."""
    if _QUIET:
        return
    sys.stderr.write(f"[{_NAME} {time.perf_counter() - _T0:5.1f}s] {message}\n")
    sys.stderr.flush()


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` once: not where the help already names its default, nor
    for defaults that say nothing (None, False for flags)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def make_parser(name: str, description: str) -> argparse.ArgumentParser:
    """An argument parser for example ``name`` with the options every example shares.

    ``--out DIR``: the folder for figures and ``summary.json`` (default
    ``./adgraph-out/<name>``); ``--no-plot``: skip the figures. Mistakes are one line and
    exit status 2 (:class:`ExampleParser`).
    """
    parser = ExampleParser(
        prog=f"adgraph examples run {name}",
        description=description,
        formatter_class=_DefaultsFormatter,
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help=f"folder for the figures and summary.json (default: ./{OUT_ROOT}/{name})",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the figures")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on stderr (the results on stdout are unchanged)",
    )
    return parser


def output_dir(out: str | os.PathLike | None, name: str) -> Path:
    """The output folder of example ``name``, created if needed.

    ``out`` (the ``--out`` option) wins; otherwise ``./adgraph-out/<name>``.
    """
    path = Path(out) if out is not None else Path.cwd() / OUT_ROOT / name
    if path.exists() and not path.is_dir():
        raise SystemExit(f"--out {str(path)!r} is a file, not a folder; choose a folder")
    path.mkdir(parents=True, exist_ok=True)
    how = "--out" if out is not None else f"default ./{OUT_ROOT}/{name}; change it with --out"
    stage(f"files go to {path} ({how})")
    return path


def write_summary(out: Path, data: dict, filename: str = "summary.json") -> Path:
    """Write the example's numbers as JSON (NumPy scalars and arrays become plain numbers and
    lists; non-finite floats become null) and return the path."""
    path = Path(out) / filename
    path.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n")
    return path


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist") and hasattr(x, "dtype"):  # NumPy arrays and scalars
        return _jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, complex):
        return [x.real, x.imag]
    return x


# ------------------------------------------------------------------ tables
def format_value(v, digits: int = 6) -> str:
    """A table cell: floats with ``digits`` significant digits (scientific when very small or
    large), None and NaN as ``-``, everything else as ``str``."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if hasattr(v, "dtype") and getattr(v, "shape", None) == ():
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.{max(digits - 1, 1)}e}"
        return f"{v:.{digits}g}"
    return str(v)


def print_table(
    rows: Sequence[Sequence],
    headers: Sequence[str],
    title: str | None = None,
    digits: int = 6,
    file=None,
    formats: dict | None = None,
) -> str:
    """Print ``rows`` under ``headers`` as an aligned plain-text table; return the text.

    Numbers are right-aligned and formatted by :func:`format_value` with ``digits``
    significant digits, text is left-aligned. ``formats`` maps a column index to a format
    spec for its numbers (e.g. ``{2: ".3f"}``).
    """
    formats = formats or {}
    cells = [
        [
            format(v, formats[j]) if j in formats and _is_number(v) else format_value(v, digits)
            for j, v in enumerate(row)
        ]
        for row in rows
    ]
    numeric = [
        all(_is_number(row[j]) for row in rows if j < len(row) and row[j] is not None)
        for j in range(len(headers))
    ]
    widths = [len(h) for h in headers]
    for row in cells:
        for j, c in enumerate(row):
            widths[j] = max(widths[j], len(c))

    def line(items):
        parts = []
        for j, c in enumerate(items):
            parts.append(c.rjust(widths[j]) if numeric[j] else c.ljust(widths[j]))
        return "  ".join(parts).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(list(headers)))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells)
    text = "\n".join(out)
    print(text, file=file if file is not None else sys.stdout, flush=True)
    return text


def _is_number(v) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iuf"


# ------------------------------------------------------------------ progress bar
class Progress:
    """Progress of a loop on stderr: a one-line bar on a terminal, else a line at each
    tenth of the way (``[name 3.2s] training 40/100``); nothing under ``--quiet``.

    Use it as a context manager around a loop and call :meth:`update` each step, or wrap an
    iterable with :func:`progress`. Redraws at most ten times a second, so it costs nothing
    measurable inside timed loops. ``enabled`` forces it on or off.
    """

    def __init__(
        self, total: int | None, desc: str = "", enabled: bool | None = None, width: int = 30
    ):
        self.total = total
        self.desc = desc
        self.width = width
        self.count = 0
        self.enabled = (not _QUIET) if enabled is None else bool(enabled)
        self._tty = _stderr_is_tty()
        self._next_line = 0
        self._last = 0.0
        self._start = time.perf_counter()
        self._drawn = False

    def update(self, n: int = 1, info: str = "") -> None:
        self.count += n
        if not self.enabled:
            return
        if not self._tty:  # a log: one line per tenth of the way
            if self.total and self.count >= self._next_line:
                stage(f"{self.desc} {self.count}/{self.total} {info}".rstrip())
                self._next_line = self.count + max(1, self.total // 10)
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and (self.total is None or self.count < self.total):
            return
        self._last = now
        self._draw(info)

    def _draw(self, info: str = "") -> None:
        elapsed = time.perf_counter() - self._start
        if self.total:
            frac = min(self.count / self.total, 1.0)
            filled = int(round(frac * self.width))
            bar = "#" * filled + "." * (self.width - filled)
            text = f"\r{self.desc} [{bar}] {self.count}/{self.total} {elapsed:5.1f}s {info}"
        else:
            text = f"\r{self.desc} {self.count} {elapsed:5.1f}s {info}"
        sys.stderr.write(text.ljust(79)[:120])
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        """Clear the bar's line (nothing to do when it was never drawn)."""
        if self.enabled and self._drawn:
            sys.stderr.write("\r" + " " * 120 + "\r")
            sys.stderr.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(
    iterable: Iterable, total: int | None = None, desc: str = "", enabled: bool | None = None
) -> Iterator:
    """Iterate over ``iterable`` with a :class:`Progress` bar (terminal only)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    with Progress(total, desc, enabled) as bar:
        for item in iterable:
            yield item
            bar.update()


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# ------------------------------------------------------------------ optional imports
# the package to install where its name differs from the module's
_DISTRIBUTION_OF = {"sklearn": "scikit-learn", "cupy": "cupy-cuda12x", "distributed": "distributed"}
_EXTRA_OF = {"matplotlib": "plot", "scipy": "scipy", "sklearn": "sklearn", "graphviz": "graphviz"}


def require(module: str, extra: str | None = None, purpose: str = ""):
    """Import ``module`` or raise an ImportError naming the adgraph extra that installs it.

    ``require("scipy.optimize", "scipy", "the L-BFGS fit")`` returns the module, or fails with
    ``... needs scipy (pip install adgraph[scipy]) ...``.
    """
    top = module.split(".")[0]
    extra = extra or _EXTRA_OF.get(top, top)
    try:
        return importlib.import_module(module)
    except ImportError as err:
        what = f" for {purpose}" if purpose else ""
        dist = _DISTRIBUTION_OF.get(top, top)
        raise ImportError(
            f"{top} is needed{what} but is not installed; install it with "
            f"`pip install adgraph[{extra}]` (or `pip install {dist}`)"
        ) from err


_PLOT_WARNED = False


def figure_or_none(no_plot: bool = False):
    """The class ``matplotlib.figure.Figure``, or None.

    Figures made from this class directly (``fig = Figure(figsize=(6, 4)); ax = fig.subplots()``)
    are never shown and touch no global pyplot state or backend, so examples can run inside
    notebooks, threads and tests alike. Returns None when ``no_plot`` is set, or when matplotlib
    is missing -- then one message says how to get the figures (``pip install adgraph[plot]``)
    and the example goes on without them.
    """
    global _PLOT_WARNED
    if no_plot:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        if not _PLOT_WARNED:
            print(
                "matplotlib is not installed: skipping the figures "
                "(install them with `pip install adgraph[plot]`)"
            )
            _PLOT_WARNED = True
        return None
    return Figure


def save_figure(fig, out: Path, filename: str, dpi: int = 120) -> Path:
    """Save ``fig`` as ``out/filename`` (the format follows the suffix), print the path and
    return it."""
    path = Path(out) / filename
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    print(f"saved {path}")
    return path


# ------------------------------------------------------------------ timing
class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (perf_counter wall time)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._t0 = 0.0

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
