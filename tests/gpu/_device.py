"""Skip a GPU test module cleanly unless CuPy imports and sees a CUDA device."""

from __future__ import annotations

import pytest


def require_cupy():
    """The cupy module, or a module-level skip naming what is missing."""
    cp = pytest.importorskip("cupy", reason="CuPy is not installed (pip install adgraph[gpu])")
    try:
        n = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, or a CuPy built for another CUDA
        pytest.skip(f"CuPy cannot reach a CUDA device: {e}", allow_module_level=True)
    if n < 1:
        pytest.skip("no CUDA device", allow_module_level=True)
    return cp
