"""Every derivative check in the operation tables also runs the function through ``jit``
(compiled equals eager, for values and JVPs) and ``vmap`` (a batch equals a loop)."""

import pytest

from adgraph import test_util


@pytest.fixture(autouse=True)
def _compiled_and_batched_checks():
    saved = set(test_util.EXTRA_CHECKS)
    test_util.EXTRA_CHECKS.update({"jit", "vmap"})
    yield
    test_util.EXTRA_CHECKS.clear()
    test_util.EXTRA_CHECKS.update(saved)
