"""The package's metadata: licence, extras without pins, the facts a user reads on the index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")
ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_licence_file_matches_the_declared_licence():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert PROJECT["license"] == {"text": "MIT"}
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_metadata_names_authors_urls_and_python_versions():
    assert PROJECT["authors"] and all("name" in a for a in PROJECT["authors"])
    assert PROJECT["urls"]["Homepage"].startswith("https://")
    lowest = PROJECT["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {lowest}" in PROJECT["classifiers"]


def test_extras_pin_no_exact_versions():
    # an exact pin in an extra breaks installs beside other packages; versions that a
    # benchmark was measured with belong in the benchmark's documentation
    pinned = [
        (extra, req)
        for extra, reqs in PROJECT["optional-dependencies"].items()
        for req in reqs
        if re.search(r"===?|~=", req)
    ]
    assert pinned == []
    assert PROJECT["dependencies"] == ["numpy>=1.26"]
