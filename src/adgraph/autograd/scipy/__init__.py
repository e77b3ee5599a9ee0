"""``autograd.scipy``: adgraph.scipy's ``special`` and ``stats`` under autograd's names."""

from . import special, stats  # noqa: F401
