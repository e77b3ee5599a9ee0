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


# ------------------------------------------------------------------ the automatic setting
_AUTO = textwrap.dedent(
    """
    import json
    import resource
    import sys
    import numpy as np
    import adgraph.backends as b
    import adgraph.numpy as anp
    from adgraph.backends import memory

    before = memory._auto
    if sys.argv[1] == "off":
        b.set_memory_retention(False)
    n = int(sys.argv[2])  # the transformed array's side: n*n complex128
    if n:
        anp.fft.fft2(np.ones((n, n), dtype=complex))

    def faults(k=20):
        for _ in range(3):
            arrays = [np.ones(128 * 1024) for _ in range(12)]
            del arrays
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(k):
            arrays = [np.ones(128 * 1024) for _ in range(12)]
            del arrays
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

    print(json.dumps([before, memory._auto, faults()]))
    """
)


def _auto(mode="on", side=256, **env):
    import json
    import os

    environ = {k: v for k, v in os.environ.items() if k != "ADGRAPH_RETAIN_MEMORY"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", _AUTO, mode, str(side)],
        capture_output=True,
        text=True,
        check=True,
        env=environ,
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(memory._glibc() is None, reason="needs glibc (Linux)")
def test_a_large_transform_makes_the_bounded_setting_once():
    before, after, faults = _auto()
    assert before is None  # importing adgraph changes nothing
    assert after is True
    # the 12 MiB rounds of the test above fit in the 64 MiB kept: no faults (about 60 000
    # with glibc's defaults on this kind of machine)
    assert faults < 200


@pytest.mark.skipif(memory._glibc() is None, reason="needs glibc (Linux)")
def test_no_setting_without_a_large_transform():
    assert _auto(side=0)[:2] == [None, None]  # imported, nothing transformed
    assert _auto(side=64)[:2] == [None, None]  # 64 KiB: below glibc's mmap threshold


@pytest.mark.skipif(memory._glibc() is None, reason="needs glibc (Linux)")
def test_the_setting_is_switched_off_by_the_user_or_their_malloc_settings():
    assert _auto("off")[1] is False
    assert _auto(ADGRAPH_RETAIN_MEMORY="0")[1] is False
    assert _auto(MALLOC_TRIM_THRESHOLD_="1048576")[1] is False
    assert _auto(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1048576")[1] is False
    assert _auto(ADGRAPH_RETAIN_MEMORY="1")[1] is True


def test_set_memory_retention_checks_and_cannot_undo(monkeypatch):
    with pytest.raises(TypeError, match="True or False"):
        backends.set_memory_retention(0)
    monkeypatch.setattr(memory, "_auto", True)
    with pytest.raises(RuntimeError, match="cannot be undone"):
        backends.set_memory_retention(False)
    backends.set_memory_retention(True)  # already in effect: nothing to do
    assert memory._auto is True
    monkeypatch.setattr(memory, "_auto", None)
    backends.set_memory_retention(False)
    assert memory._auto is False
    backends.set_memory_retention(True)  # decided again on the next large transform
    assert memory._auto is None


def test_the_fft_calls_the_hook_once_and_only_for_large_numpy_arrays(monkeypatch):
    import numpy as np

    import adgraph.numpy as anp
    from adgraph.ops import fft

    calls = []
    monkeypatch.setattr(fft, "retain_hook", lambda: calls.append(1))
    anp.fft.fft2(np.ones((64, 64)))  # 32 KiB
    anp.fft.rfft(np.ones(1000))
    assert calls == []
    x = np.ones((128, 128))  # 128 KiB: the threshold
    for f in (anp.fft.fft2, anp.fft.rfft2, anp.fft.ifft2):
        f(x)
    assert calls == [1]
    assert fft.retain_hook is None
