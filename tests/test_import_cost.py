"""``import adgraph`` loads nothing optional: the import stays close to NumPy's own.

Times are left to ``benchmarks/import_time.py``; this checks what the time stood for: no
optional package (SciPy alone costs more than adgraph) and no lazily loaded part of NumPy
is imported by ``import adgraph, adgraph.numpy``, and the examples, the command line, the
comparison with SymPy and the C compiler's toolchain wait until they are used.
"""

from __future__ import annotations

import json
import subprocess
import sys

OPTIONAL = ["scipy", "matplotlib", "sympy", "graphviz", "cupy", "dask", "sklearn", "ducc0"]
LATER = ["numpy.ma", "adgraph.cli", "adgraph.examples.quadratic", "adgraph.graph.html"]


def test_import_loads_no_optional_package():
    code = (
        "import json, sys\n"
        "import adgraph, adgraph.numpy\n"
        f"print(json.dumps([m for m in {OPTIONAL + LATER!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == []
