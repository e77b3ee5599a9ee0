"""Array backends: which array modules adgraph can compute with, and moving data between them.

adgraph has no backend switch. Every primitive receives the array module of its inputs
(``adgraph.core.xp.get_xp``): NumPy arrays are computed by NumPy, CuPy arrays by CuPy on
their GPU, Dask arrays by Dask (lazily, chunk by chunk). Python and NumPy scalars mix with
any of them; a NumPy array mixes with a Dask array (it becomes one chunk); NumPy and CuPy
arrays in one operation are an error naming both, since silently copying between host and
device is the costliest mistake a GPU program can make.

This module reports what is installed and usable (:func:`available`, :func:`report`),
fetches a backend's module with an install hint when it is missing (:func:`require`), and
converts pytrees of arrays between backends (:func:`to_device`, :func:`asnumpy`) -- outside
differentiated functions, where such copies belong.

What an array module cannot compute the way adgraph's operations are written (Dask's
gathers by several index arrays, sorting, stacked determinants; CuPy's scatter-add) is
filled in through the operations' extension points (:mod:`adgraph.core.extend`) by
:mod:`.dask_ops` and :mod:`.cupy_ops`. Each is imported the first time an operation meets
an array of its module, never at ``import adgraph``.

=========  =======================================  ==========================
backend    arrays                                   install
=========  =======================================  ==========================
numpy      ``numpy.ndarray`` (always available)     ``pip install adgraph``
cupy       ``cupy.ndarray`` on a CUDA device        ``pip install adgraph[gpu]``
dask       ``dask.array.Array`` (any scheduler)     ``pip install adgraph[dask]``
=========  =======================================  ==========================
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, overload

import numpy as _np

from ..core import extend as _extend
from ..core.pytree import tree_map
from ..core.trace import Tracer
from ..core.xp import BackendMixError, get_xp, module_of
from .cluster import dashboard_link, local_cluster
from .memory import retain_memory, set_memory_retention

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "BackendMixError",
    "available",
    "report",
    "require",
    "array_module",
    "backend_of",
    "to_device",
    "asnumpy",
    "set_fft_workers",
    "set_threads",
    "set_fft_backend",
    "fft_backend",
    "retain_memory",
    "set_memory_retention",
    "local_cluster",
    "dashboard_link",
    "BACKENDS",
]

BACKENDS = ("numpy", "cupy", "dask")


def _load_dask_ops() -> None:
    from . import dask_ops

    dask_ops.install()


def _load_cupy_ops() -> None:
    from . import cupy_ops

    cupy_ops.install()


# The extension points of adgraph's operations are filled for these modules the first
# time an operation meets one of their arrays.
_extend.register_loader("dask.array", _load_dask_ops)
_extend.register_loader("cupy", _load_cupy_ops)

_EXTRA = {"numpy": "adgraph", "cupy": "adgraph[gpu]", "dask": "adgraph[dask]"}
_ALIASES = {"cpu": "numpy", "np": "numpy", "gpu": "cupy", "cuda": "cupy", "cp": "cupy"}


class BackendUnavailableError(ImportError):
    """A backend was asked for that is not installed or has no device."""


@dataclass(frozen=True)
class BackendInfo:
    """What :func:`available` knows about one backend.

    ``usable`` is True when arrays of this backend can be computed with now; otherwise
    ``reason`` says why (not installed, no device) and ``install`` the command that helps.
    """

    name: str
    usable: bool
    version: str | None = None
    devices: tuple = ()
    reason: str = ""
    install: str = ""
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.usable


def _canonical(name: str) -> str:
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in BACKENDS:
        raise ValueError(
            f"unknown backend {name!r}; adgraph knows {', '.join(BACKENDS)} "
            f"(aliases: {', '.join(sorted(_ALIASES))})"
        )
    return key


def _install_hint(name: str) -> str:
    return f"pip install {_EXTRA[name]}"


# ------------------------------------------------------------------ probing
def _probe_numpy() -> BackendInfo:
    from ..ops import fft as _fft

    name = _fft.active_backend()  # the FFT library for NumPy inputs
    fft = "numpy.fft"
    if name != "numpy":
        fft = f"{name}.fft {getattr(importlib.import_module(name), '__version__', '')}".strip()
    details = {"fft": fft}
    return BackendInfo("numpy", True, _np.__version__, ("cpu",), details=details)


def _probe_cupy() -> BackendInfo:
    hint = _install_hint("cupy")
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as e:
        return BackendInfo("cupy", False, reason=f"CuPy is not installed ({e})", install=hint)
    except Exception as e:  # a broken CUDA installation can fail at import
        return BackendInfo("cupy", False, reason=f"CuPy failed to import: {e}", install=hint)
    version = getattr(cupy, "__version__", None)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return BackendInfo(
            "cupy", False, version, reason=f"CuPy {version} is installed but CUDA reports: {e}",
            install="check the NVIDIA driver and that the cupy-cuda* wheel matches the CUDA version",
        )  # fmt: skip
    if count < 1:
        return BackendInfo(
            "cupy", False, version, reason=f"CuPy {version} is installed but no CUDA device is present"
        )  # fmt: skip
    devices = []
    for i in range(count):
        try:
            props = cupy.cuda.runtime.getDeviceProperties(i)
            name = props["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            mem = props.get("totalGlobalMem")
            devices.append(f"cuda:{i} {name}" + (f" ({mem / 2**30:.0f} GiB)" if mem else ""))
        except Exception:
            devices.append(f"cuda:{i}")
    details = {}
    try:
        details["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
    except Exception:
        pass
    return BackendInfo("cupy", True, version, tuple(devices), details=details)


def _probe_dask() -> BackendInfo:
    hint = _install_hint("dask")
    try:
        dask = importlib.import_module("dask")
        importlib.import_module("dask.array")
    except ImportError as e:
        return BackendInfo("dask", False, reason=f"dask.array is not installed ({e})", install=hint)
    details = {}
    devices = ("local threads",)
    try:
        distributed = importlib.import_module("distributed")
        details["distributed"] = distributed.__version__
        try:
            client = distributed.get_client()
        except ValueError:
            client = None
        if client is not None:
            info = client.scheduler_info()
            n = len(info.get("workers", {}))
            devices = (f"cluster {client.scheduler.address} ({n} workers)",)
            details["dashboard"] = client.dashboard_link
    except ImportError:
        details["distributed"] = f"not installed ({hint} for clusters)"
    return BackendInfo("dask", True, dask.__version__, devices, details=details)


_PROBES = {"numpy": _probe_numpy, "cupy": _probe_cupy, "dask": _probe_dask}


@overload
def available(name: None = None) -> dict[str, BackendInfo]: ...
@overload
def available(name: str) -> BackendInfo: ...
def available(name: str | None = None) -> dict[str, BackendInfo] | BackendInfo:
    """What each backend offers here.

    Without ``name``: a dict ``{"numpy": BackendInfo, "cupy": ..., "dask": ...}``; with a
    name, that backend's :class:`BackendInfo` (truthy when usable). NumPy is always there;
    CuPy counts only when it imports and sees a CUDA device; Dask when ``dask.array``
    imports (``details["distributed"]`` tells whether clusters are possible, and a running
    ``dask.distributed`` client is listed as its device). Probing imports the optional
    packages, so call it when you need the answer, not at import time.
    """
    if name is not None:
        key = _canonical(name)
        return _PROBES[key]()
    return {key: probe() for key, probe in _PROBES.items()}


def report() -> str:
    """A human-readable table of :func:`available`, one line per backend."""
    lines = []
    for key, info in available().items():
        if info.usable:
            devs = ", ".join(info.devices)
            extra = "; ".join(f"{k} {v}" for k, v in info.details.items())
            lines.append(f"{key:<6} {info.version:<10} {devs}" + (f"  [{extra}]" if extra else ""))
        else:
            hint = f" -- {info.install}" if info.install else ""
            lines.append(f"{key:<6} {'-':<10} unavailable: {info.reason}{hint}")
    return "\n".join(lines)


def require(name: str) -> ModuleType:
    """The array module of backend ``name`` (``numpy``, ``cupy``, ``dask``; aliases ``cpu``,
    ``gpu``), or :class:`BackendUnavailableError` saying what to install."""
    key = _canonical(name)
    if key == "numpy":
        return _np
    info = _PROBES[key]()
    if not info.usable:
        hint = f"; {info.install}" if info.install else ""
        raise BackendUnavailableError(f"backend {key!r} is not available: {info.reason}{hint}")
    return importlib.import_module("cupy" if key == "cupy" else "dask.array")


# ------------------------------------------------------------------ which module computes
def array_module(*arrays: Any) -> ModuleType:
    """The array module adgraph computes ``arrays`` with (like ``cupy.get_array_module``):
    numpy, cupy or dask.array; traced values count by their underlying arrays. Raises
    :class:`BackendMixError` for NumPy and CuPy arrays together."""
    vals = [a.primal_value() if isinstance(a, Tracer) else a for a in arrays]
    return get_xp(vals)


def backend_of(x: Any) -> str:
    """The backend name (``"numpy"``, ``"cupy"``, ``"dask"``) of one array; ``"numpy"`` for
    scalars and other neutral values."""
    if isinstance(x, Tracer):
        x = x.primal_value()
    name = module_of(x).__name__
    return {"dask.array": "dask"}.get(name, name)


# ------------------------------------------------------------------ moving data
def _refuse_traced(x, what):
    if isinstance(x, Tracer):
        raise TypeError(
            f"{what}: got a traced value; move arrays between backends before calling "
            "grad/jvp/vjp (inside them the backend follows the inputs and copies between "
            "host and device are not differentiated)"
        )


def _leaf_to_numpy(x):
    _refuse_traced(x, "asnumpy")
    if not hasattr(x, "shape"):
        return x
    mod = module_of(x)
    if mod is _np:
        return x
    name = mod.__name__
    if name == "dask.array":
        return _leaf_to_numpy(x.compute())
    if name == "cupy":
        return x.get()
    return _np.asarray(x)


def asnumpy(tree: Any) -> Any:
    """Every array leaf of ``tree`` as a NumPy array: CuPy arrays are copied to the host,
    Dask arrays computed (with the current scheduler) and their result converted; NumPy
    arrays and scalars are returned as they are."""
    return tree_map(_leaf_to_numpy, tree)


def to_device(tree: Any, backend: str = "cupy", *, chunks: Any = "auto") -> Any:
    """Every array leaf of ``tree`` as an array of ``backend``.

    ``"cupy"`` (``"gpu"``): copied to the current CUDA device; ``"numpy"`` (``"cpu"``): see
    :func:`asnumpy`; ``"dask"``: wrapped by ``dask.array.from_array`` with ``chunks``
    (e.g. ``(100_000, -1)`` to chunk rows only; a tuple longer than a leaf's rank is cut to
    its first entries, so the same spec chunks matrices and vectors by rows). Python scalars are left as they are: they mix
    with any backend. A missing backend raises :class:`BackendUnavailableError` naming the
    extra to install.
    """
    key = _canonical(backend)
    if key == "numpy":
        return asnumpy(tree)
    xp = require(key)

    def leaf(x):
        _refuse_traced(x, "to_device")
        if not hasattr(x, "shape"):
            return x
        if key == "cupy":
            if module_of(x).__name__ == "dask.array":
                x = x.compute()
            return xp.asarray(x)
        if module_of(x).__name__ == "dask.array":
            return x if chunks == "auto" else x.rechunk(chunks)
        c = chunks
        if isinstance(c, tuple) and len(c) > x.ndim:
            c = c[: x.ndim]  # rows-first: (100_000, -1) chunks vectors by rows too
        return xp.from_array(x, chunks=c)

    return tree_map(leaf, tree)


def set_fft_workers(n: int | None) -> None:
    """Threads the FFT library may use for NumPy inputs of ``adgraph.numpy.fft``: None
    (default: one thread below ``2**17`` elements, where starting threads costs more than
    it saves, and every core this process may run on from there), a positive count, or -1
    for every core. ``numpy.fft`` (see :func:`set_fft_backend`) always uses one."""
    from ..ops import fft as _fft

    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n == 0 or n < -1):
        raise ValueError(f"set_fft_workers: expected None, -1 or a positive int, got {n!r}")
    _fft.workers = n  # type: ignore[assignment]  # (ops.fft starts it at None)


def set_threads(n: int | None) -> None:
    """Threads for adgraph's own multi-threaded kernels on NumPy arrays (products of a tall
    matrix and a vector, the fused activations of ``adgraph.nn``; from ``2**17``
    elements): None (default) for every core this process may run on, or a positive count
    (1: no thread is started). The FFT's threads are :func:`set_fft_workers`'s, BLAS's its
    own."""
    from ..ops import _parallel

    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"set_threads: expected None or a positive int, got {n!r}")
    _parallel.workers = n


def set_fft_backend(name: str | None) -> str:
    """Choose the FFT library for NumPy inputs of ``adgraph.numpy.fft``: ``"ducc0"``,
    ``"scipy"`` or ``"numpy"``; None chooses the fastest installed, in that order (the
    default, made on the first transform). Returns the name now in use.

    All three give numpy.fft's results to rounding, in the input's precision. A library
    that is not installed raises ImportError naming the package (``pip install
    adgraph[fft]`` installs SciPy and ducc0).
    """
    from ..ops import fft as _fft

    if name is not None and not isinstance(name, str):
        raise TypeError(f"set_fft_backend: expected a name or None, got {name!r}")
    key = None if name is None else name.lower()
    try:
        return _fft.select_backend(key)
    except ValueError as e:
        raise ValueError(f"set_fft_backend: {e}") from None


def _install_retain_hook() -> None:
    # adgraph's FFT makes the bounded allocator setting of .memory on its first transform
    # of a large NumPy array (ops cannot import this layer, so it is handed down).
    from ..ops import fft as _fft
    from . import memory

    _fft.retain_hook = memory.retain_by_default


_install_retain_hook()


def fft_backend() -> str:
    """The FFT library adgraph uses for NumPy inputs: ``"ducc0"``, ``"scipy"`` or
    ``"numpy"`` (see :func:`set_fft_backend`)."""
    from ..ops import fft as _fft

    return _fft.active_backend()
