"""The ``slow_property`` marker: fresh-seed random-program runs, skipped unless asked for
with ``ADGRAPH_FUZZ_SEEDS=N`` (see tests/fuzz/test_random_programs.py)."""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow_property: long property runs on fresh random seeds; run with ADGRAPH_FUZZ_SEEDS=N",
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get("ADGRAPH_FUZZ_SEEDS"):
        return
    skip = pytest.mark.skip(reason="fresh-seed run: set ADGRAPH_FUZZ_SEEDS=N to run N programs")
    for item in items:
        if "slow_property" in item.keywords:
            item.add_marker(skip)
