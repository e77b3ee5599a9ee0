"""The founding article's worked applications, runnable as ``adgraph examples run NAME``.

Each example module exposes ``DESCRIPTION`` (one line) and ``main(argv=None) -> int``, which
parses its own options, prints a summary table and saves its figures into an output folder
it names.
"""

from __future__ import annotations

import importlib

# name -> module (imported only when the example is run)
EXAMPLES = {
    "quadratic": "adgraph.examples.quadratic",
    "logistic": "adgraph.examples.logistic",
    "forward-gradient": "adgraph.examples.forward_gradient",
    "fft-homogenization": "adgraph.examples.homogenization.demo",
    "mlp": "adgraph.examples.mlp",
    "dask-logreg": "adgraph.examples.dask_logreg",
    "bratu": "adgraph.examples.bratu",
    "taylor-ode": "adgraph.examples.taylor_ode",
}


def load(name: str):
    """The module of example ``name``; a clear error lists the known names."""
    try:
        path = EXAMPLES[name]
    except KeyError:
        raise ValueError(
            f"unknown example {name!r}; known examples: {', '.join(sorted(EXAMPLES))}"
        ) from None
    return importlib.import_module(path)
