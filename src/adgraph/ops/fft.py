r"""Discrete Fourier transforms (``adgraph.numpy.fft``), declared by their transposes.

Every transform here is linear, so each primitive needs only its transpose: the tangent
is the transform of the tangent, the cotangent the transpose applied to the cotangent.
Transposes are taken under the pairing :math:`\langle a, b\rangle = \operatorname{Re}\sum ab`
used throughout adgraph (no conjugation), which gives these rules.

**Complex transforms.** The DFT matrix :math:`F_{jk} = e^{-2\pi i jk/n}` is symmetric,
:math:`F^T = F`; so is the inverse :math:`\bar F / n`. Hence the transpose of ``fftn`` is
``fftn`` with the same ``norm`` and the transpose of ``ifftn`` is ``ifftn`` (not the
inverse transform, which would be the *conjugate* transpose). Padding or truncating the
input to ``n``/``s`` is the map :math:`R` (keep the first entries, append zeros); its
transpose :math:`R^T` resizes back, so
:math:`\bar x = R^T \operatorname{fftn}(\bar y)`.

**Real-to-complex** (``rfftn``): :math:`y = H F x` with :math:`H` keeping the first
:math:`m = \lfloor n/2\rfloor + 1` frequencies of the last transformed axis. For real
:math:`x`, :math:`\bar x = \operatorname{Re}(F H^T \bar y)`, which is an ``irfftn`` of half
the size: :math:`\bar x = N\,\operatorname{irfftn}(\overline{\bar y}\, w)` with
:math:`w_k = 1` at the zero and Nyquist frequencies and :math:`\tfrac12` in between (the
inverse real transform counts each inner frequency twice, for itself and its mirror).

**Complex-to-real** (``irfftn``): it reads only the half spectrum, counts the inner
frequencies twice and the zero/Nyquist ones once, and keeps real parts. Its transpose is
:math:`\bar c = w' \, \overline{\operatorname{rfftn}(\bar y)} / N` with
:math:`w'_k = 1` at zero/Nyquist and :math:`2` in between, resized back to the input.

In both real cases the normalisation of the transpose is that of the transform, which is
``rfftn``/``irfftn`` with the *swapped* ``norm`` ("backward" <-> "forward", "ortho" stays).
``hfft``/``ihfft`` are conjugations of these; ``fftshift``/``ifftshift`` are permutations
(each the transpose of the other).

Implementation: NumPy inputs are transformed by the fastest FFT library installed, chosen
on the first transform: ``ducc0`` (the successor of pocketfft, by its author), else
``scipy.fft``, else ``numpy.fft`` (:func:`adgraph.backends.set_fft_backend` picks one;
:func:`adgraph.backends.set_fft_workers` sets the threads). All three compute the same
transforms to rounding and keep single precision. Real inputs are transformed by
real-to-complex transforms. CuPy and Dask inputs are transformed by their own ``fft``
modules (Dask arrays are rechunked to one chunk along the transformed axes, which Dask
requires).

This module holds the primitives, their rules and the FFT library; NumPy's argument
conventions and the public functions are in :mod:`._fft_api`, re-exported here.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable

import numpy as _np  # identifies the NumPy module and its dtypes; never computes on arrays

from ..ad.rules import linear
from ..ad.sparsity import MOVES, fibre_rule
from ..core import extend
from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import shape

#: Threads the FFT library may use for NumPy inputs: None (automatic: one thread below
#: ``PARALLEL_MIN_SIZE`` elements, where starting threads costs more than it saves, every
#: core this process may run on from there), a positive count, or -1 (every core). Set it
#: with :func:`adgraph.backends.set_fft_workers`.
workers = None
PARALLEL_MIN_SIZE = 1 << 17

#: The FFT libraries for NumPy inputs, fastest first: the automatic choice is the first
#: that imports.
BACKENDS = ("ducc0", "scipy", "numpy")
_MODULES = {"ducc0": "ducc0.fft", "scipy": "scipy.fft", "numpy": "numpy.fft"}

# The library in use (a name of BACKENDS) and its fft module; None until the first
# transform of a NumPy array (or select_backend) chooses, so importing adgraph imports
# neither SciPy nor ducc0.
_active: str | None = None
_lib = None

# Called once, with no argument, on the first transform of a NumPy array of at least
# RETAIN_MIN_BYTES: adgraph.backends installs its allocator setting here
# (adgraph.backends.memory.retain_by_default; ops cannot import backends). Cleared once
# called, so later transforms pay one global lookup.
retain_hook: Callable[[], bool] | None = None
RETAIN_MIN_BYTES = 128 << 10

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


# ------------------------------------------------------------------ FFT library for NumPy
def select_backend(name: str | None = None) -> str:
    """Use the FFT library ``name`` ("ducc0", "scipy", "numpy") for NumPy inputs, or the
    fastest one installed for None; returns the name in use. A library that does not
    import raises ImportError naming what to install."""
    global _active, _lib
    if name is None:
        for cand in BACKENDS:
            try:
                lib = importlib.import_module(_MODULES[cand])
            except ImportError:
                continue
            _active, _lib = cand, lib
            return cand
        raise AssertionError("numpy.fft always imports")  # pragma: no cover
    if name not in BACKENDS:
        raise ValueError(
            f"unknown FFT backend {name!r}; choose one of {', '.join(map(repr, BACKENDS))} "
            "or None (the fastest installed)"
        )
    try:
        lib = importlib.import_module(_MODULES[name])
    except ImportError as e:
        raise ImportError(
            f"FFT backend {name!r} is not installed ({e}); pip install {name} "
            "(or pip install adgraph[fft] for both SciPy and ducc0)"
        ) from e
    _active, _lib = name, lib
    return name


def active_backend() -> str:
    """The FFT library used for NumPy inputs (choosing it now if no transform has yet)."""
    return _active if _active is not None else select_backend(None)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _workers(x) -> int:
    """A positive thread count for transforming ``x``."""
    w = workers
    if w is None:
        return _cores() if getattr(x, "size", 0) >= PARALLEL_MIN_SIZE else 1
    return _cores() if w == -1 else w


def _first_large(x):
    """Run :data:`retain_hook` once, for a NumPy array ``x`` from RETAIN_MIN_BYTES."""
    global retain_hook
    hook = retain_hook
    if hook is not None and x.nbytes >= RETAIN_MIN_BYTES:
        retain_hook = None
        hook()


def _inorm(norm, forward):
    """ducc0's ``inorm`` (divide by 1, sqrt(N), N) for numpy's ``norm`` of a transform."""
    if norm == "ortho":
        return 1
    return 0 if (norm == "backward") == forward else 2


def _ducc_input(x, real):
    """``x`` in a dtype ducc0 transforms as numpy.fft would: float16 in single precision,
    integers and booleans in double; ``real``: a real dtype may stay (else complex)."""
    if x.dtype.char not in "fdgFDG":
        x = x.astype(_np.float32 if x.dtype == _np.float16 else _np.float64)
    if not real and x.dtype.kind != "c":
        x = x.astype(_np.result_type(x.dtype, _np.complex64))
    return x


def _np_c2c(x, axes, sizes, norm, inverse):
    if retain_hook is not None:
        _first_large(x)
    b = _active if _active is not None else select_backend(None)
    if b == "ducc0":
        # A real input stays real: ducc0 then computes a real-to-complex transform.
        x = _ducc_input(_resize_impl(_np, x, axes=axes, sizes=sizes), real=True)
        return _lib.c2c(
            x, axes=axes, forward=not inverse, inorm=_inorm(norm, not inverse),
            nthreads=_workers(x),
        )  # fmt: skip
    f = _lib.ifftn if inverse else _lib.fftn
    if b == "scipy":
        return f(x, s=sizes, axes=axes, norm=norm, workers=_workers(x))
    return f(x, s=sizes, axes=axes, norm=norm)


def c2c_into(x, out, *, axes, sizes, norm, inverse):
    """The ``fft`` primitive's transform of the NumPy array ``x``, written into ``out``
    where the FFT library in use takes an output array (ducc0, ``numpy.fft``); else (and
    for inputs the library converts first) its new result. The same values as the
    primitive's implementation, bit for bit (compiled programs that keep their buffers call
    it; ``tests/test_jit_buffers.py`` compares the two for each library)."""
    if x.dtype.char in "fdFD" and out.dtype == _np.result_type(x.dtype, _np.complex64):
        if retain_hook is not None:
            _first_large(x)
        b = _active if _active is not None else select_backend(None)
        if b == "ducc0":
            return _lib.c2c(
                x, axes=axes, forward=not inverse, inorm=_inorm(norm, not inverse),
                out=out, nthreads=_workers(x),
            )  # fmt: skip
        if b == "numpy":
            f = _np.fft.ifftn if inverse else _np.fft.fftn
            return f(x, s=sizes, axes=axes, norm=norm, out=out)
    return _np_c2c(x, axes, sizes, norm, inverse)


def _np_r2c(x, axes, sizes, norm, conj=False):
    """``rfftn``; ``conj``: its conjugate, computed directly as the transform with the
    positive exponent (and the same scaling) where the library has one."""
    if retain_hook is not None:
        _first_large(x)
    b = _active if _active is not None else select_backend(None)
    if b == "ducc0":
        x = _ducc_input(_resize_impl(_np, x, axes=axes, sizes=sizes), real=True)
        return _lib.r2c(
            x, axes=axes, forward=not conj, inorm=_inorm(norm, True), nthreads=_workers(x)
        )  # fmt: skip
    if b == "scipy":
        if conj:  # conj(rfftn(x, norm)) = ihfftn(x, the swapped norm)
            return _lib.ihfftn(x, s=sizes, axes=axes, norm=_SWAP[norm], workers=_workers(x))
        return _lib.rfftn(x, s=sizes, axes=axes, norm=norm, workers=_workers(x))
    out = _lib.rfftn(x, s=sizes, axes=axes, norm=norm)
    return _np.conjugate(out, out=out) if conj else out


def _np_c2r(x, axes, sizes, norm, own=False, forward=False):
    """``irfftn``; ``own``: ``x`` is this module's own array and may be overwritten.
    ``forward``: the transform with the negative exponent, scaled as a forward transform
    of ``norm`` -- the real result of ``irfftn(conj(x))`` at the swapped norm, without
    conjugating ``x`` where the library has it (ducc0's sign, ``scipy.fft.hfftn``)."""
    if retain_hook is not None:
        _first_large(x)
    b = _active if _active is not None else select_backend(None)
    if b == "ducc0":
        half = sizes[:-1] + (sizes[-1] // 2 + 1,)  # the half spectrum numpy.fft reads
        y = _ducc_input(_resize_impl(_np, x, axes=axes, sizes=half), real=False)
        out = _lib.c2r(
            y, axes=axes, lastsize=sizes[-1], forward=forward, inorm=_inorm(norm, forward),
            nthreads=_workers(y), allow_overwriting_input=own,
        )  # fmt: skip
    elif b == "scipy":
        f = _lib.hfftn if forward else _lib.irfftn
        out = f(x, s=sizes, axes=axes, norm=norm, workers=_workers(x), overwrite_x=own)
    else:
        if forward:
            x = _np.conjugate(x, out=x) if own else _np.conjugate(x)
            norm = _SWAP[norm]
        return _lib.irfftn(x, s=sizes, axes=axes, norm=norm)
    # numpy.fft returns float16 for float16 input (computed in single precision); the
    # result's dtype must not depend on the library installed.
    return out.astype(_np.float16) if x.dtype == _np.float16 else out


# An array module that transforms only in some layouts (Dask: along single-chunk axes)
# brings its arrays to one first, through this extension point (adgraph.core.extend).
PREPARE = extend.declare(
    "fft.prepare", "(x, axes) -> x in a layout xp.fft transforms along axes (e.g. rechunked)"
)


def _prepare(xp, x, axes):
    if xp is not _np and (alt := extend.lookup(PREPARE, xp)) is not None:
        return alt(x, axes)
    return x


def _fft_impl(xp, x, *, axes, sizes, norm, inverse):
    if xp is _np:
        return _np_c2c(x, axes, sizes, norm, inverse)
    f = xp.fft.ifftn if inverse else xp.fft.fftn
    return f(_prepare(xp, x, axes), s=sizes, axes=axes, norm=norm)


def _rfft_impl(xp, x, *, axes, sizes, norm):
    if xp is _np:
        return _np_r2c(x, axes, sizes, norm)
    return xp.fft.rfftn(_prepare(xp, x, axes), s=sizes, axes=axes, norm=norm)


def _irfft_impl(xp, x, *, axes, sizes, norm):
    if xp is _np:
        return _np_c2r(x, axes, sizes, norm)
    return xp.fft.irfftn(_prepare(xp, x, axes), s=sizes, axes=axes, norm=norm)


def _resize_impl(xp, x, *, axes, sizes):
    shp = x.shape
    if all(shp[a] == n for a, n in zip(axes, sizes, strict=True)):
        return x  # the common case: nothing to pad or truncate
    idx = [slice(None)] * x.ndim
    pad = [(0, 0)] * x.ndim
    for a, n in zip(axes, sizes, strict=True):
        m = x.shape[a]
        if n < m:
            idx[a] = slice(0, n)
        elif n > m:
            pad[a] = (0, n - m)
    x = x[tuple(idx)]
    if any(p[1] for p in pad):
        x = xp.pad(x, pad)
    return x


def _shift_impl(xp, x, *, axes, inverse):
    return (xp.fft.ifftshift if inverse else xp.fft.fftshift)(x, axes=axes)


def _shifted(axes):
    return tuple(a + 1 for a in axes)


def _sizes_of(x, axes):
    s = shape(x)
    return tuple(s[a] for a in axes)


# ------------------------------------------------------------------ resize (pad / truncate)
def _resize_t(ct, x, *, axes, sizes):
    return _resize(ct, axes, _sizes_of(x, axes))


def _resize_batch(vals, batched, size, *, axes, sizes):
    return fft_resize_p.bind(vals[0], axes=_shifted(axes), sizes=sizes)


fft_resize_p = linear(
    "fft_resize",
    _resize_impl,
    _resize_t,
    batch=_resize_batch,
    sparsity=MOVES,
    doc=r"""Truncate or zero-pad along axes to the given sizes (the ``n``/``s`` of the
    transforms). Linear, :math:`y = Rx`; the transpose :math:`R^T` resizes back (pads what
    was truncated, truncates what was padded).""",
)


def _resize(x, axes, sizes):
    if _sizes_of(x, axes) == tuple(sizes):
        return x
    return fft_resize_p.bind(x, axes=tuple(axes), sizes=tuple(sizes))


# ------------------------------------------------------------------ complex transforms
def _fft_t(ct, x, *, axes, sizes, norm, inverse):
    # F and conj(F)/n are symmetric: the transpose is the same transform, then R^T. For a
    # real x only the real part of that is kept, which fft_real computes at half the cost.
    if getattr(x, "dtype", None) is not None and x.dtype.kind != "c":
        g = fft_real_p.bind(ct, axes=axes, norm=norm, inverse=inverse)
    else:
        g = fft_p.bind(ct, axes=axes, sizes=sizes, norm=norm, inverse=inverse)
    return _resize(g, axes, _sizes_of(x, axes))


def _fft_batch(vals, batched, size, *, axes, sizes, norm, inverse):
    return fft_p.bind(vals[0], axes=_shifted(axes), sizes=sizes, norm=norm, inverse=inverse)


fft_p = linear(
    "fft",
    _fft_impl,
    _fft_t,
    batch=_fft_batch,
    sparsity=fibre_rule,
    doc=r"""n-dimensional complex DFT (``inverse``: its inverse) along ``axes``, the input
    resized to ``sizes`` first. Linear; the DFT matrix is symmetric, so the transpose is
    the same transform of the cotangent, resized back: :math:`\bar x = R^T F \bar y`.""",
)


# ------------------------------------------------------------------ real part of a transform
def _half_index(ndim, axis, m):
    idx = [slice(None)] * ndim
    idx[axis] = slice(0, m)
    return tuple(idx)


def _mirror_half(xp, z, axes, conj):
    """``r[k] = z[-k]`` (indices modulo the lengths; ``conj``: its conjugate) along every
    axis of ``axes``, only the first ``n//2 + 1`` entries along the last of them."""
    last = axes[-1]
    m = z.shape[last] // 2 + 1
    if xp is not _np:
        r = xp.roll(xp.flip(z, axis=axes), (1,) * len(axes), axis=axes)
        r = r[_half_index(z.ndim, last, m)]
        return xp.conj(r) if conj else r
    # Index 0 stays, the others reverse: two slices per axis, copied into one new array.
    out_shape = list(z.shape)
    out_shape[last] = m
    r = _np.empty(out_shape, dtype=z.dtype)
    for dst, src in _mirror_pieces(z.shape, axes):
        if conj:
            _np.conjugate(z[src], out=r[dst])
        else:
            _np.copyto(r[dst], z[src])
    return r


@functools.lru_cache(maxsize=64)
def _mirror_pieces(shp, axes):
    """The (destination, source) index pairs of :func:`_mirror_half` for an array of shape
    ``shp``: per axis, index 0 to itself and 1.. from n-1 down (the last axis: only up to
    its ``n//2 + 1`` entries)."""
    last = axes[-1]
    m = shp[last] // 2 + 1
    pieces = [()]
    for a in axes:
        n = shp[a]
        stop = n - m if a == last and n - m > 0 else 0  # last axis: 0, n-1, ..., n-m+1
        pieces = [p + ((a, slice(0, 1), slice(0, 1)),) for p in pieces] + [
            p + ((a, slice(1, None), slice(n - 1, stop, -1)),) for p in pieces
        ]
    out = []
    for p in pieces:
        dst = [slice(None)] * len(shp)
        src = [slice(None)] * len(shp)
        for a, d, s_ in p:
            dst[a] = d
            src[a] = s_
        out.append((tuple(dst), tuple(src)))
    return tuple(out)


def _fft_real_impl(xp, z, *, axes, norm, inverse):
    # Re(F z) = F H and Re(F^-1 z) = F^-1 H for the Hermitian part H[k] = (z[k] +
    # conj(z[-k]))/2 of z. A Hermitian array has a real transform, computed by a
    # complex-to-real transform from its half spectrum: F^-1 H directly, and
    # F H = N F^-1 conj(H) (F of a Hermitian array is real, so equals its conjugate).
    sizes = tuple(z.shape[a] for a in axes)
    half = z[_half_index(z.ndim, axes[-1], sizes[-1] // 2 + 1)]
    cplx = z.dtype.kind == "c"
    if xp is _np and active_backend() != "numpy":
        # 2H on the half spectrum, built in one array of this function's own, which the
        # complex-to-real transform may overwrite; F H by the transform with the negative
        # exponent, so nothing is conjugated (numpy.fft has neither: the general path).
        h = _mirror_half(xp, z, axes, conj=cplx)
        h += half
        out = _np_c2r(h, axes, sizes, norm, own=True, forward=not inverse)
        _np.multiply(out, 0.5, out=out)
        return out
    tnorm = norm if inverse else _SWAP[norm]
    r = _mirror_half(xp, z, axes, conj=False)
    if cplx:
        h = half + xp.conj(r) if inverse else xp.conj(half) + r
    else:
        h = half + r
    return _irfft_impl(xp, h, axes=axes, sizes=sizes, norm=tnorm) * 0.5


def _fft_real_t(ct, z, *, axes, norm, inverse):
    # <Re(F z), y> = Re sum(z F y) for real y (F symmetric): the transpose is F y.
    return fft_p.bind(ct, axes=axes, sizes=_sizes_of(z, axes), norm=norm, inverse=inverse)


def _fft_real_batch(vals, batched, size, *, axes, norm, inverse):
    return fft_real_p.bind(vals[0], axes=_shifted(axes), norm=norm, inverse=inverse)


fft_real_p = linear(
    "fft_real",
    _fft_real_impl,
    _fft_real_t,
    batch=_fft_real_batch,
    sparsity=fibre_rule,
    doc=r"""Real part of the complex DFT (``inverse``: of its inverse) along ``axes``,
    :math:`y = \operatorname{Re}(F z)`: the cotangent of a *real* input of ``fft``.
    Computed as the real transform of the Hermitian part of ``z`` (a complex-to-real
    transform of half the work). Real-linear; transpose
    :math:`\bar z = F \bar y`, the complex transform of the real cotangent.""",
)


# ------------------------------------------------------------------ real transforms
def _half_weights(ct, axis, n, edge, inner):
    """Weights along the half-spectrum axis ``axis`` (length n//2+1) of ``ct``: ``edge`` at
    the zero frequency and, for even ``n``, the Nyquist frequency; ``inner`` elsewhere.
    A constant in the array module of ``ct``, shaped to broadcast against it."""
    base = ct.primal_value() if isinstance(ct, Tracer) else ct
    xp = module_of(base)
    rdt = _np.finfo(ct.dtype).dtype  # the real dtype matching ct (float32 for complex64)
    n_inner = n // 2 - (1 if n % 2 == 0 else 0)
    parts = [xp.full((1,), edge, dtype=rdt)]
    if n_inner > 0:
        parts.append(xp.full((n_inner,), inner, dtype=rdt))
    if n % 2 == 0 and n > 1:
        parts.append(xp.full((1,), edge, dtype=rdt))
    w = xp.concatenate(parts) if len(parts) > 1 else parts[0]
    trailing = len(shape(ct)) - 1 - axis
    return w.reshape((n // 2 + 1,) + (1,) * trailing) if trailing else w


def _rfft_t(ct, x, *, axes, sizes, norm):
    from .elementwise import conj, multiply

    w = _half_weights(ct, axes[-1], sizes[-1], 1.0, 0.5)
    if type(ct) is _np.ndarray:
        # irfftn(conj(ct) w) at the swapped norm is the real transform of ct w with the
        # negative exponent at rfft's own norm: one new array, which the transform may
        # overwrite, and no conjugate.
        g = _np_c2r(ct * w, axes, sizes, norm, own=True, forward=True)
    else:
        g = irfft_p.bind(multiply(conj(ct), w), axes=axes, sizes=sizes, norm=_SWAP[norm])
    return _resize(g, axes, _sizes_of(x, axes))


def _rfft_batch(vals, batched, size, *, axes, sizes, norm):
    return rfft_p.bind(vals[0], axes=_shifted(axes), sizes=sizes, norm=norm)


rfft_p = linear(
    "rfft",
    _rfft_impl,
    _rfft_t,
    batch=_rfft_batch,
    sparsity=fibre_rule,
    doc=r"""n-dimensional DFT of real input along ``axes`` (the last one keeps the
    :math:`\lfloor n/2\rfloor + 1` non-negative frequencies), input resized to ``sizes``.
    Transpose: :math:`\bar x = R^T\, N\operatorname{irfftn}(\overline{\bar y}\, w)` with
    :math:`w = 1` at zero/Nyquist frequency and :math:`\tfrac12` elsewhere, at the swapped
    normalisation.""",
)


def _irfft_t(ct, c, *, axes, sizes, norm):
    from .elementwise import conj, multiply

    if type(ct) is _np.ndarray:
        # conj(rfftn(ct)) is the transform with the positive exponent: computed so, in the
        # transform's own new array, then weighted in place.
        g = _np_r2c(ct, axes, sizes, _SWAP[norm], conj=True)
        g *= _half_weights(g, axes[-1], sizes[-1], 1.0, 2.0)
    else:
        r = rfft_p.bind(ct, axes=axes, sizes=sizes, norm=_SWAP[norm])
        g = multiply(conj(r), _half_weights(r, axes[-1], sizes[-1], 1.0, 2.0))
    return _resize(g, axes, _sizes_of(c, axes))


def _irfft_batch(vals, batched, size, *, axes, sizes, norm):
    return irfft_p.bind(vals[0], axes=_shifted(axes), sizes=sizes, norm=norm)


irfft_p = linear(
    "irfft",
    _irfft_impl,
    _irfft_t,
    batch=_irfft_batch,
    sparsity=fibre_rule,
    doc=r"""Inverse of ``rfft``: real output of ``sizes`` along ``axes`` from a half
    spectrum (resized to ``sizes[-1]//2+1`` on the last axis). Real-linear; transpose
    :math:`\bar c = R^T\big(w'\,\overline{\operatorname{rfftn}(\bar y)}/N\big)` with
    :math:`w' = 1` at zero/Nyquist frequency and 2 elsewhere, at the swapped
    normalisation.""",
)


# ------------------------------------------------------------------ shifts
def _shift_t(ct, x, *, axes, inverse):
    return fftshift_p.bind(ct, axes=axes, inverse=not inverse)


def _shift_batch(vals, batched, size, *, axes, inverse):
    return fftshift_p.bind(vals[0], axes=_shifted(axes), inverse=inverse)


fftshift_p = linear(
    "fftshift",
    _shift_impl,
    _shift_t,
    batch=_shift_batch,
    sparsity=MOVES,
    doc=r"""Cyclic shift moving the zero frequency to the centre (``inverse``: back). A
    permutation, so the transpose is its inverse: ``ifftshift`` for ``fftshift``.""",
)


# NumPy's functions over these primitives (argument checking, public signatures), imported
# last: they bind the primitives above. They are this module's public names.
from ._fft_api import *  # noqa: E402,F403
from ._fft_api import __all__  # noqa: E402,F401
