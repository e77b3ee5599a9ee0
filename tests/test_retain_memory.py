"""adgraph.backends.retain_memory: glibc keeps freed memory, so repeated large allocations
stop faulting pages in. Run in a subprocess: the setting is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import adgraph.backends as backends
from adgraph.backends import memory


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="nbytes must be an int"):
        backends.retain_memory(1.5)
    with pytest.raises(TypeError, match="nbytes must be an int"):
        backends.retain_memory(True)
    with pytest.raises(ValueError, match="positive and below 2 GiB"):
        backends.retain_memory(0)
    with pytest.raises(ValueError, match="positive and below 2 GiB"):
        backends.retain_memory(2**31)


@pytest.mark.skipif(memory._glibc() is None, reason="needs glibc (Linux)")
def test_repeated_large_allocations_stop_faulting():
    code = textwrap.dedent(
        """
        import resource
        import sys
        import numpy as np
        import adgraph.backends as b

        def faults(n=20):
            # a dozen 1 MiB temporaries freed together, as a derivative's are each call
            for _ in range(3):
                arrays = [np.ones(128 * 1024) for _ in range(12)]
                del arrays
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(n):
                arrays = [np.ones(128 * 1024) for _ in range(12)]
                del arrays
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

        if sys.argv[1] == "retain":
            assert b.retain_memory() is True
        print(faults())
        """
    )

    def run(mode):  # "default" shows the faults it avoids when run by hand
        out = subprocess.run(
            [sys.executable, "-c", code, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    # 20 rounds of 12 MiB: about 60 000 page faults with glibc's defaults on this kind of
    # machine (the heap is trimmed after every round), none once memory is retained
    assert run("retain") < 200
