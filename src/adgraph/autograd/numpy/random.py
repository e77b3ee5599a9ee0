"""``autograd.numpy.random``: NumPy's own random module, as autograd passes it through.
Samples are constants (they carry no derivative)."""

from numpy.random import *  # noqa: F401,F403
from numpy.random import BitGenerator, Generator, RandomState, SeedSequence, default_rng  # noqa: F401
