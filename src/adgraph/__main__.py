"""``python -m adgraph``: the ``adgraph`` command (see :mod:`adgraph.cli`)."""

from .cli import main

raise SystemExit(main())
