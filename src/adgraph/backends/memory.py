"""Keeping freed memory in the process, for loops that allocate the same large arrays.

glibc's allocator gives large blocks straight back to the operating system when they are
freed (blocks from 128 KiB are mapped and unmapped one by one; a free stretch at the top of
the heap is trimmed). A derivative allocates its temporaries afresh on every call, so each
call then pays a page fault for every 4 KiB page it touches anew -- measured at about a
quarter of ``fft_grad``'s time and a tenth of ``mlp_grad``'s in ``benchmarks/run.py``.
:func:`retain_memory` asks the allocator to keep such memory for reuse instead. It is a
setting of the whole process (every library in it allocates through the same malloc), so
adgraph never makes it by itself: call it once, at the start of a program that evaluates
derivatives of large arrays in a loop.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["retain_memory"]

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses mmap thresholds above 32 MiB on 64-bit machines (HEAP_MAX / 2)
_MMAP_THRESHOLD_MAX = 32 << 20


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    # gnu_get_libc_version is glibc's own (musl has mallopt as a stub, no such function)
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def retain_memory(nbytes: int = 256 << 20) -> bool:
    """Ask the C allocator to keep up to ``nbytes`` of freed memory for reuse.

    On Linux with glibc: blocks up to 32 MiB are served from the heap instead of being
    mapped and unmapped one by one, and up to ``nbytes`` free at the top of the heap are
    kept rather than returned to the system. Returns True when the allocator took the
    settings, False where there is no glibc (macOS, Windows, musl): nothing is changed
    there. Process-wide and not undone; peak memory is unchanged, only what the process
    keeps after freeing grows, by at most ``nbytes``.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise TypeError(f"retain_memory: nbytes must be an int, got {type(nbytes).__name__}")
    if not 0 < nbytes < 2**31:
        raise ValueError(
            f"retain_memory: nbytes must be positive and below 2 GiB (a C int), got {nbytes}"
        )
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, min(nbytes, _MMAP_THRESHOLD_MAX))
    ok = libc.mallopt(_M_TRIM_THRESHOLD, nbytes) and ok
    return bool(ok)
