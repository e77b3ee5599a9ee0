"""adgraph.numpy.random: NumPy's own random generators (``numpy.random``), re-exported.

Samples are constants: they carry no derivative, as in autograd and JAX's NumPy-style
code. To differentiate through a random draw, reparameterise it with adgraph operations
(``loc + scale * rng.standard_normal(shape)``): the sample is a constant and the
derivative flows through ``loc`` and ``scale``. Passing a traced value as a distribution
parameter is refused by NumPy itself, with adgraph's message about traced values.
"""

from numpy.random import *  # noqa: F401,F403
from numpy.random import __all__  # noqa: F401
