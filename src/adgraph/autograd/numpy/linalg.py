"""``autograd.numpy.linalg``: adgraph.numpy.linalg."""

from ...numpy.linalg import *  # noqa: F401,F403
