"""``python -m adgraph.cli``: the ``adgraph`` command, as ``python -m adgraph``."""

from . import main

raise SystemExit(main())
