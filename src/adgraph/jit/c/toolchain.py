"""The C toolchain: finding a compiler, its flags, and one shared-library build.

The flags keep IEEE semantics: no ``-ffast-math`` unless asked for, and
``-ffp-contract=off`` (no fused multiply-adds), so results match NumPy's to rounding.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import CCompileError

if TYPE_CHECKING:
    from .lower import CKernel

__all__ = [
    "find_c_compiler",
    "compiler_flags",
    "loop_flags",
    "library_name",
    "compile_shared",
    "BASE_FLAGS",
]

BASE_FLAGS = ["-O2", "-fPIC", "-shared", "-fno-math-errno", "-ffp-contract=off", "-fwrapv"]


def find_c_compiler() -> list[str] | None:
    """The C compiler command as a list (``$CC``, else ``cc``, ``gcc`` or ``clang`` on
    the PATH), or None when there is none."""
    env = os.environ.get("CC")
    if env:
        cmd = shlex.split(env)
        if cmd and shutil.which(cmd[0]):
            return cmd
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def compiler_flags(fast_math: bool, extra: Sequence[str] | None) -> list[str]:
    """:data:`BASE_FLAGS`, with ``-ffast-math`` instead of ``-ffp-contract=off`` when
    ``fast_math``, then the ``extra`` flags."""
    flags = list(BASE_FLAGS)
    if fast_math:
        flags = [f for f in flags if f != "-ffp-contract=off"] + ["-ffast-math"]
    return flags + list(extra or ())


@functools.lru_cache(maxsize=8)
def _is_gcc(compiler: tuple[str, ...]) -> bool:
    try:
        proc = subprocess.run([*compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    text = proc.stdout.lower()
    return "free software foundation" in text and "clang" not in text


def loop_flags(compiler: Sequence[str]) -> list[str]:
    """Flags for a program with array loops: GCC's vectorizer with its ``dynamic`` cost
    model, as at ``-O3`` (``-O2`` takes only loops that need no scalar remainder: not a
    loop of 49 elements). Vectorizing never reorders floating-point sums without
    ``-ffast-math``, so the results are the same bits; on rosen_hessian's array loops the
    kernel took 0.7x the time. Other compilers: none."""
    return ["-fvect-cost-model=dynamic"] if _is_gcc(tuple(compiler)) else []


def library_name(kernel: CKernel, compiler: Sequence[str], flags: Sequence[str]) -> str:
    """The file name of ``kernel``'s library: its C name and a hash of the source,
    compiler, flags and platform."""
    ident = "\0".join(
        [kernel.source, " ".join(compiler), " ".join(flags), platform.machine(), sys.platform]
    )
    key = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"{kernel.name}_{key}.so"


def compile_shared(compiler: Sequence[str], flags: Sequence[str], c_path: str, out: str) -> None:
    """Compile the C file ``c_path`` into the shared library ``out``; on failure remove
    what was written to ``out`` and raise :class:`CCompileError` with the compiler's
    messages (``c_path`` stays, for reading)."""
    cmd = [*compiler, *flags, "-o", out, c_path, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        try:
            os.remove(out)
        except FileNotFoundError:
            pass
        raise CCompileError(
            f"C backend: the C compiler failed ({' '.join(cmd)}):\n"
            f"{proc.stderr[-4000:]}\nThe generated source is in {c_path}"
        )
