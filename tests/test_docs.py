"""Every ```python block in docs/*.md and README.md runs, so the documentation cannot rot.

The blocks of one file run in order in one namespace (a tutorial builds on its earlier
steps), in a temporary working directory. A block preceded by the line
``<!-- no-run -->`` is skipped: use it sparingly, for blocks that need something the
tests cannot have (a GPU, a cluster, a long run). A block fenced as ```` ```text output ````
right after a python block must match what that block printed (trailing spaces and blank
edges ignored), so shown output cannot drift either.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "docs").glob("*.md")) + [p for p in [ROOT / "README.md"] if p.exists()]

_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
NO_RUN = "<!-- no-run -->"


def python_blocks(text: str):
    """``(line, code, skipped, expected output or None)`` for every ```python block."""
    out = []
    fences = list(_FENCE.finditer(text))
    for k, m in enumerate(fences):
        info = m.group(1).strip().lower().split()
        if not info or info[0] not in ("python", "py"):
            continue
        before = text[: m.start()].rstrip().splitlines()
        skipped = bool(before) and before[-1].strip() == NO_RUN
        line = text.count("\n", 0, m.start()) + 2
        expected = None
        if k + 1 < len(fences):
            nxt = fences[k + 1]
            if (
                nxt.group(1).strip().lower() == "text output"
                and not text[m.end() : nxt.start()].strip()
            ):
                expected = nxt.group(2)
        out.append((line, m.group(2), skipped, expected))
    return out


def _norm(s: str) -> str:
    # one Unicode normal form: accents may be written precomposed or combining
    s = unicodedata.normalize("NFC", s)
    return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())


def test_the_block_finder():
    text = (
        "a\n```python\nx = 1\n```\n<!-- no-run -->\n```python\ny = 2\n```\n"
        "```text output\n2\n```\n```bash\nls\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n", False, None), (7, "y = 2\n", True, "2\n")]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_doc_code_blocks_run(path, tmp_path, monkeypatch):
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if not b[2]]
    if not runnable:
        pytest.skip(f"{path.name} has no runnable python blocks")
    monkeypatch.chdir(tmp_path)
    # primitives a guide declares are dropped afterwards, so the run can be repeated
    from adgraph.core.primitive import registry

    declared_before = set(registry)
    try:
        _run_blocks(path, runnable)
    finally:
        for name in set(registry) - declared_before:
            del registry[name]


def _run_blocks(path, runnable):
    namespace = {"__name__": f"docs_{path.stem}"}
    for line, code, _, expected in runnable:
        src = compile(code, f"{path.name}:{line}", "exec")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                exec(src, namespace)  # the project's own documentation, on purpose
            except Exception as e:
                raise AssertionError(
                    f"{path.name}, the python block at line {line} failed: {type(e).__name__}: {e}"
                ) from e
        if expected is not None:
            assert _norm(buf.getvalue()) == _norm(expected), (
                f"{path.name}, the output shown after the python block at line {line} differs "
                f"from what it prints:\n{buf.getvalue()}"
            )
