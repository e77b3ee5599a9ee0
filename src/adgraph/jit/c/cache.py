"""The per-user cache of compiled libraries, kept between processes.

A library is named by its C function and a hash of its source, compiler, flags and platform
(:func:`~adgraph.jit.c.toolchain.library_name`), and kept in :func:`cache_dir`: a folder
created 0700, refused when someone else owns it or may write it. Each library's SHA-256 is
recorded beside it when it is built (``<library>.so.sha256``) and checked before it is loaded:
a library with no record, or whose content differs from it, is compiled again, never loaded.
After each build the folder is trimmed to the most recently used :data:`CACHE_MAX_LIBRARIES`
libraries and :data:`CACHE_MAX_BYTES` bytes. Files the cache did not make are never touched.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import re
import shutil
import stat as _stat
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import CCacheWarning, CCompileError
from .toolchain import compile_shared, library_name

if TYPE_CHECKING:
    from .lower import CKernel

__all__ = ["cache_dir", "load_library", "CACHE_MAX_LIBRARIES", "CACHE_MAX_BYTES"]

_lock = threading.Lock()
_loaded: dict = {}  # library file name -> (ctypes library, path): loaded in this process


#: Most shared libraries kept in the cache folder (the least recently used go first).
CACHE_MAX_LIBRARIES = 256
#: Most bytes of shared libraries kept in the cache folder.
CACHE_MAX_BYTES = 256 * 2**20
# Leftovers of builds (sources of failed builds, temporary files of killed ones) older
# than this are removed when the cache is trimmed.
_STALE_SECONDS = 24 * 3600

_private_tmp = None  # this process's private fallback folder (made on first need)
_refused: set = set()  # cache folders already warned about


def _uid():
    """The current user's id, or None where there are no user ids (Windows)."""
    return os.getuid() if hasattr(os, "getuid") else None


def _configured_cache_dir():
    """``$ADGRAPH_C_CACHE``, else ``$XDG_CACHE_HOME/adgraph/c``, else
    ``~/.cache/adgraph/c``; None when none of them is an absolute path."""
    d = os.environ.get("ADGRAPH_C_CACHE")
    if d:
        d = os.path.expanduser(d)
        return os.path.abspath(d)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: relative paths are ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home folder
        return None
    return os.path.join(base, "adgraph", "c")


def _make_private(d):
    """Create ``d`` (and missing parents) with mode 0700 whatever the umask; check that it
    is a folder owned by this user that group and others cannot write. Returns None when
    it can be used, else the reason it cannot."""
    missing = []
    p = d
    while not os.path.lexists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    try:
        for p in reversed(missing):
            try:
                os.mkdir(p, 0o700)
            except FileExistsError:  # made by a concurrent process: checked below
                continue
            os.chmod(p, 0o700)  # mkdir's mode is masked by the umask
        st = os.stat(d)
    except OSError as e:
        return f"it cannot be created or read ({e.strerror or e})"
    if not _stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    uid = _uid()
    if uid is not None and st.st_uid != uid:
        return f"it is owned by user id {st.st_uid}, not by this user ({uid})"
    if os.name == "posix" and st.st_mode & 0o022:
        return f"group or others may write to it (mode {oct(st.st_mode & 0o777)})"
    return None


def _fallback_cache_dir():
    """A private temporary folder for this process (``tempfile.mkdtemp``: mode 0700, a
    name nobody can predict), removed at exit."""
    global _private_tmp
    if _private_tmp is None or not os.path.isdir(_private_tmp):
        _private_tmp = tempfile.mkdtemp(prefix="adgraph-c-")
        os.chmod(_private_tmp, 0o700)
        atexit.register(shutil.rmtree, _private_tmp, True)
    return _private_tmp


def cache_dir() -> str:
    """The folder where compiled libraries are kept between processes.

    ``$ADGRAPH_C_CACHE`` if set, else ``$XDG_CACHE_HOME/adgraph/c``, else
    ``~/.cache/adgraph/c``; created with mode 0700 whatever the umask. A shared library
    found there is loaded and run, so the folder must be private: one that is not owned
    by the current user, or that group or others may write, is refused with one
    :class:`CCacheWarning`, and a private temporary folder (removed at exit) is used
    instead for this process.
    """
    d = _configured_cache_dir()
    problem = "there is no home folder" if d is None else _make_private(d)
    if problem is None:
        return d
    if d not in _refused:
        _refused.add(d)
        warnings.warn(
            f"adgraph C backend: the cache folder {d!r} is not used because {problem}; "
            "compiled libraries go to a private temporary folder for this process. Set "
            "ADGRAPH_C_CACHE to a folder only you can write (it is created with mode 0700)",
            CCacheWarning,
            stacklevel=4,
        )
    return _fallback_cache_dir()


def _sha256(path):
    """The SHA-256 of the file at ``path`` (hex), or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _recorded_sha256(so):
    """The hash recorded when ``so`` was built (``<so>.sha256``), or None."""
    try:
        with open(so + ".sha256") as fh:
            digest = fh.read(64)
    except (OSError, UnicodeDecodeError):
        return None
    if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
        return digest
    return None


def _write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _load_verified(so):
    """The library at ``so`` if its content is what was built there (its SHA-256 equals
    the one recorded at build time) and it loads; else None (missing, never recorded,
    replaced, truncated or corrupt: the caller builds it again)."""
    want = _recorded_sha256(so)
    if want is None or _sha256(so) != want:
        return None
    try:
        lib = ctypes.CDLL(so)
    except OSError:
        return None
    try:
        os.utime(so)  # the modification time orders the cache for eviction
    except OSError:
        pass
    return lib


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# The files the cache holds (nothing else in the folder is ever touched): a library
# (``<base>.so``), its recorded hash (``<base>.so.sha256``), the source a build compiles
# (``<base>.<pid>.<thread>.c``, left behind by a failed build), and temporary files.
_CACHE_FILE = re.compile(
    r"(adg_[A-Za-z0-9_]+_[0-9a-f]{32})(\.so|\.so\.sha256|\.[0-9]+\.[0-9]+\.c)"
    r"(\.[0-9]+\.[0-9]+\.tmp)?"
)


def _evict(d, keep):
    """Trim the cache folder ``d`` to :data:`CACHE_MAX_LIBRARIES` libraries and
    :data:`CACHE_MAX_BYTES` bytes, removing the least recently used libraries (by
    modification time, which a load from the cache refreshes) and stale leftovers of
    builds. ``keep`` (the library just built) stays; files the cache did not make are
    never touched."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    libs, others = [], []
    for name in names:
        m = _CACHE_FILE.fullmatch(name)
        if m is None:
            continue
        p = os.path.join(d, name)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if m.group(2) == ".so" and m.group(3) is None:
            libs.append((p == keep, st.st_mtime, st.st_size, p))
        else:
            others.append((st.st_mtime, os.path.join(d, m.group(1) + ".so"), p))
    libs.sort(reverse=True)  # the one kept, then the most recently used first
    count = size = 0
    kept = set()
    for is_kept, _, nbytes, p in libs:
        if is_kept or (count < CACHE_MAX_LIBRARIES and size + nbytes <= CACHE_MAX_BYTES):
            count += 1
            size += nbytes
            kept.add(p)
            continue
        for q in (p + ".sha256", p):
            try:
                _remove(q)
            except OSError:
                pass
    now = time.time()
    for mtime, lib, p in others:
        if p == lib + ".sha256" and lib in kept:
            continue
        # (young ones may belong to a build in progress in another process)
        if now - mtime > _STALE_SECONDS:
            try:
                _remove(p)
            except OSError:
                pass


def _compile_library(kernel, compiler, flags, so):
    """Compile ``kernel`` into ``so``, record the library's SHA-256 beside it, and return
    it loaded (from the file this call wrote, before any other process can see it)."""
    # Names of this build's own: a concurrent build of the same library (another process,
    # another thread) neither reads nor removes them.
    c_path = f"{so[:-3]}.{os.getpid()}.{threading.get_ident()}.c"
    with open(c_path, "w") as fh:
        fh.write(kernel.source)
    tmp = f"{so}.{os.getpid()}.{threading.get_ident()}.tmp"
    compile_shared(compiler, flags, c_path, tmp)
    digest = _sha256(tmp)
    try:
        lib = ctypes.CDLL(tmp)
    except OSError as e:
        _remove(tmp)
        _remove(c_path)
        raise CCompileError(
            f"C backend: the library just compiled cannot be loaded ({e}). If the cache "
            f"folder {os.path.dirname(so)} does not allow running programs (noexec), set "
            "ADGRAPH_C_CACHE to one that does"
        ) from None
    # The hash is recorded before the library takes its place: a reader never finds a
    # library newer than its record (it would only rebuild, never load a mismatch).
    _write_atomic(so + ".sha256", f"{digest}  {os.path.basename(so)}\n")
    os.replace(tmp, so)  # atomic: concurrent builds of one library are safe
    _remove(c_path)  # the source stays available as CFunction.source
    return lib


def load_library(
    kernel: CKernel, compiler: Sequence[str], flags: Sequence[str]
) -> tuple[ctypes.CDLL, str]:
    """``kernel``'s shared library, loaded: from this process's libraries, else from the
    cache -- only if its content is what was built there -- else compiled (and the cache
    trimmed). Returns ``(ctypes library, path)``."""
    name = library_name(kernel, compiler, flags)
    with _lock:
        got = _loaded.get(name)
        if got is None:
            d = cache_dir()
            so = os.path.join(d, name)
            lib = _load_verified(so)
            if lib is None:
                lib = _compile_library(kernel, compiler, flags, so)
                _evict(d, keep=so)
            got = _loaded[name] = (lib, so)
    return got
