"""``autograd.scipy.linalg``: adgraph.scipy.linalg."""

from ...scipy.linalg import *  # noqa: F401,F403
