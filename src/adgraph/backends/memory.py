"""Keeping freed memory in the process, for loops that allocate the same large arrays.

glibc's allocator gives large blocks straight back to the operating system when they are
freed (blocks from 128 KiB are mapped and unmapped one by one; a free stretch at the top of
the heap is trimmed). A derivative allocates its temporaries afresh on every call, so each
call then pays a page fault for every 4 KiB page it touches anew -- more than half of
``fft_grad``'s time run alone (3.1-3.9 ms a gradient against 1.45-1.50 ms without the
faults), a tenth of ``mlp_grad``'s.
:func:`retain_memory` asks the allocator to keep such memory for reuse instead. It is a
setting of the whole process (every library in it allocates through the same malloc).

adgraph's FFT makes a bounded form of it by itself, once, the first time it transforms a
NumPy array of at least :data:`AUTO_MIN_BYTES` (:func:`retain_by_default`): blocks up to
32 MiB from the heap and up to 64 MiB kept free at its top. That is the ceiling glibc's own
adaptive thresholds reach by default -- any process that frees a 32 MiB block is put there
by glibc itself -- so it changes how soon, not how far, the allocator keeps memory. A
process that never transforms a large NumPy array through adgraph is never touched. It is
skipped when the environment already configures malloc (``MALLOC_*_`` variables,
``GLIBC_TUNABLES``), and turned off by ``ADGRAPH_RETAIN_MEMORY=0`` in the environment or
``adgraph.backends.set_memory_retention(False)`` before the first transform -- which a
program that tunes malloc itself with ``mallopt`` should call, since glibc has no way to
read those settings back.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["retain_memory", "retain_by_default", "set_memory_retention"]

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses mmap thresholds above 32 MiB on 64-bit machines (HEAP_MAX / 2)
_MMAP_THRESHOLD_MAX = 32 << 20
#: What :func:`retain_by_default` keeps: glibc's adaptive trim threshold tops out at twice
#: its largest mmap threshold (32 MiB on 64-bit machines), so this is where glibc's own
#: defaults go after a 32 MiB block is freed.
AUTO_RETAIN_BYTES = 2 * _MMAP_THRESHOLD_MAX
#: The smallest array whose transform makes the automatic setting: glibc's initial mmap
#: threshold (128 KiB); smaller blocks come from the heap already.
AUTO_MIN_BYTES = 128 << 10

# The automatic setting: None until the first large transform decides it; then True (made),
# False (switched off, refused by the environment, or no glibc). Read on every transform:
# one global lookup once decided.
_auto: bool | None = None
# Environment variables by which a user configures glibc's malloc: the allocator is theirs.
_MALLOC_ENV = (
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)


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


def _environment_allows() -> bool:
    flag = os.environ.get("ADGRAPH_RETAIN_MEMORY", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    if any(v in os.environ for v in _MALLOC_ENV):
        return False
    return "glibc.malloc." not in os.environ.get("GLIBC_TUNABLES", "")


def retain_by_default() -> bool:
    """Make the automatic setting (see the module's docstring) unless it was decided
    already; returns whether it is in effect. Called by adgraph's FFT on its first NumPy
    transform of :data:`AUTO_MIN_BYTES` or more; cheap after the first call."""
    global _auto
    if _auto is None:
        libc = _glibc() if _environment_allows() else None
        ok = False
        if libc is not None:
            ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX))
            ok = bool(libc.mallopt(_M_TRIM_THRESHOLD, AUTO_RETAIN_BYTES)) and ok
        _auto = ok
    return _auto


def set_memory_retention(enabled: bool) -> None:
    """Whether adgraph may make its automatic allocator setting (default True; see
    :mod:`adgraph.backends.memory`). ``False`` before the first large transform keeps
    glibc's defaults for the whole run; once made, the setting stays (glibc cannot restore
    its adaptive thresholds), and this raises rather than pretend otherwise."""
    global _auto
    if not isinstance(enabled, bool):
        raise TypeError(f"set_memory_retention: expected True or False, got {enabled!r}")
    if _auto is True and not enabled:
        raise RuntimeError(
            "set_memory_retention(False): the allocator setting was already made (by the "
            "first large FFT) and cannot be undone; call this before, or set "
            "ADGRAPH_RETAIN_MEMORY=0 in the environment"
        )
    if not enabled:
        _auto = False
    elif _auto is False:
        _auto = None  # decided again on the next large transform
