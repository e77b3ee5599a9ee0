"""``autograd.scipy.special``: adgraph.scipy.special."""

from ...scipy.special import *  # noqa: F401,F403
