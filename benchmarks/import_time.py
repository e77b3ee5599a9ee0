"""Time ``import adgraph, adgraph.numpy`` beside NumPy's own import, in fresh processes.

Usage::

    python benchmarks/import_time.py            # 15 fresh interpreters, the minimum of each
    python benchmarks/import_time.py --runs 30

Each run starts a new interpreter that imports NumPy, then adgraph and adgraph.numpy, and
reports both times; the figures are the minima over the runs (the least disturbed run).
Bytecode is written to a private cache folder first, as an installed package has it, so
the figures do not include compiling adgraph's sources. The last line lists the optional
packages that the import pulled in (there should be none).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CODE = """
import json, sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import adgraph, adgraph.numpy
t2 = time.perf_counter()
optional = ["scipy", "matplotlib", "sympy", "graphviz", "cupy", "dask", "sklearn", "ducc0"]
print(json.dumps({"numpy": t1 - t0, "adgraph": t2 - t1,
                  "optional": [m for m in optional if m in sys.modules]}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        cmd = [sys.executable, "-X", f"pycache_prefix={cache}", "-c", CODE]
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # writes the bytecode
        runs = [
            json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True).stdout)
            for _ in range(args.runs)
        ]
    numpy_s = min(r["numpy"] for r in runs)
    adgraph_s = min(r["adgraph"] for r in runs)
    print(f"import numpy:                  {numpy_s * 1e3:6.1f} ms (min of {args.runs})")
    print(f"then import adgraph, .numpy:   {adgraph_s * 1e3:6.1f} ms (min of {args.runs})")
    print(f"optional packages imported:    {sorted(set().union(*(r['optional'] for r in runs)))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
