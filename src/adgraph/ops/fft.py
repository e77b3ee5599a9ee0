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
"""

from __future__ import annotations

import importlib
import os

import numpy as _np  # identifies the NumPy module and its dtypes; never computes on arrays

from ..ad.rules import linear
from ..ad.sparsity import MOVES, fibre_rule
from ..core import extend
from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, as_int, norm_axis, shape

__all__ = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftshift",
    "ifftshift",
    "fftfreq",
    "rfftfreq",
]

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


def _np_r2c(x, axes, sizes, norm):
    b = _active if _active is not None else select_backend(None)
    if b == "ducc0":
        x = _ducc_input(_resize_impl(_np, x, axes=axes, sizes=sizes), real=True)
        return _lib.r2c(x, axes=axes, forward=True, inorm=_inorm(norm, True), nthreads=_workers(x))
    if b == "scipy":
        return _lib.rfftn(x, s=sizes, axes=axes, norm=norm, workers=_workers(x))
    return _lib.rfftn(x, s=sizes, axes=axes, norm=norm)


def _np_c2r(x, axes, sizes, norm, own=False):
    """``irfftn``; ``own``: ``x`` is this module's own array and may be overwritten."""
    b = _active if _active is not None else select_backend(None)
    if b == "ducc0":
        half = sizes[:-1] + (sizes[-1] // 2 + 1,)  # the half spectrum numpy.fft reads
        y = _ducc_input(_resize_impl(_np, x, axes=axes, sizes=half), real=False)
        out = _lib.c2r(
            y, axes=axes, lastsize=sizes[-1], forward=False, inorm=_inorm(norm, False),
            nthreads=_workers(y), allow_overwriting_input=own,
        )  # fmt: skip
    elif b == "scipy":
        out = _lib.irfftn(
            x, s=sizes, axes=axes, norm=norm, workers=_workers(x), overwrite_x=own
        )  # fmt: skip
    else:
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
    pieces = [()]
    for a in axes:
        n = z.shape[a]
        stop = n - m if a == last and n - m > 0 else 0  # last axis: 0, n-1, ..., n-m+1
        pieces = [p + ((a, slice(0, 1), slice(0, 1)),) for p in pieces] + [
            p + ((a, slice(1, None), slice(n - 1, stop, -1)),) for p in pieces
        ]
    copy = _np.conjugate if conj else _np.copyto
    for p in pieces:
        dst = [slice(None)] * z.ndim
        src = [slice(None)] * z.ndim
        for a, d, s_ in p:
            dst[a] = d
            src[a] = s_
        if conj:
            copy(z[tuple(src)], out=r[tuple(dst)])
        else:
            copy(r[tuple(dst)], z[tuple(src)])
    return r


def _fft_real_impl(xp, z, *, axes, norm, inverse):
    # Re(F z) = F H and Re(F^-1 z) = F^-1 H for the Hermitian part H[k] = (z[k] +
    # conj(z[-k]))/2 of z. A Hermitian array has a real transform, computed by a
    # complex-to-real transform from its half spectrum: F^-1 H directly, and
    # F H = N F^-1 conj(H) (F of a Hermitian array is real, so equals its conjugate).
    sizes = tuple(z.shape[a] for a in axes)
    half = z[_half_index(z.ndim, axes[-1], sizes[-1] // 2 + 1)]
    tnorm = norm if inverse else _SWAP[norm]
    cplx = z.dtype.kind == "c"
    if xp is _np and active_backend() != "numpy":
        # 2H on the half spectrum, built in one array of this function's own, which the
        # complex-to-real transform may overwrite (numpy.fft cannot use that: the general
        # path below).
        h = _mirror_half(xp, z, axes, conj=cplx)
        h += half
        if cplx and not inverse:
            _np.conjugate(h, out=h)
        out = _np_c2r(h, axes, sizes, tnorm, own=True)
        _np.multiply(out, 0.5, out=out)
        return out
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
    if type(ct) is _np.ndarray:  # a plain cotangent: conj(ct) w in one new array
        h = _np.conjugate(ct)
        h *= w
    else:
        h = multiply(conj(ct), w)
    g = irfft_p.bind(h, axes=axes, sizes=sizes, norm=_SWAP[norm])
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

    r = rfft_p.bind(ct, axes=axes, sizes=sizes, norm=_SWAP[norm])
    w = _half_weights(r, axes[-1], sizes[-1], 1.0, 2.0)
    if type(r) is _np.ndarray:  # the transform's own new array: weighted in place
        g = _np.conjugate(r, out=r)
        g *= w
    else:
        g = multiply(conj(r), w)
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


# ------------------------------------------------------------------ argument handling
def _norm(norm, op):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise OpError(f'{op}: norm must be "backward", "ortho", "forward" or None, got {norm!r}')
    return norm


def _no_out(out, op):
    if out is not None:
        raise OpError(f"{op}: out= is not supported (adgraph arrays are immutable)")


def _axes_sizes(a, s, axes, op, default_axes=None):
    """Normalise ``s``/``axes`` as NumPy does: axes in the given order (the last is the
    real axis of the real transforms), sizes from ``s`` (-1: keep) or the input."""
    shp = shape(a)
    nd = len(shp)
    if axes is None:
        if s is not None:
            axes = range(nd - len(s), nd)
        elif default_axes is not None:
            axes = default_axes
        else:
            axes = range(nd)
    elif isinstance(axes, int):
        axes = (axes,)
    axes = tuple(norm_axis(ax, nd, op) for ax in axes)
    if len(set(axes)) != len(axes):
        raise OpError(f"{op}: repeated axes {axes} are not supported; transform each once")
    if not axes:
        raise OpError(f"{op}: needs at least one axis to transform")
    if s is None:
        sizes = None
    else:
        if isinstance(s, int):
            s = (s,)
        s = tuple(s)
        if len(s) != len(axes):
            raise OpError(f"{op}: s has {len(s)} entries but there are {len(axes)} axes")
        sizes = tuple(as_int(n, op, "each length in n/s") for n in s)
    return axes, sizes


def _fill_sizes(a, axes, sizes, op):
    shp = shape(a)
    if sizes is None:
        sizes = tuple(shp[ax] for ax in axes)
    else:
        sizes = tuple(shp[ax] if n == -1 else n for ax, n in zip(axes, sizes, strict=True))
    for n in sizes:
        if n < 1:
            raise OpError(f"{op}: invalid number of data points ({n}); lengths must be >= 1")
    return sizes


def _check_real(a, op, instead):
    dt = getattr(a, "dtype", None)
    if dt is not None and dt.kind == "c":
        raise OpError(
            f"{op}: input must be real, got {dt}; use {instead} for complex input, or take "
            "adgraph.numpy.real(x) first"
        )


def _c2c(a, s, axes, norm, out, op, inverse, default_axes=None):
    _no_out(out, op)
    norm = _norm(norm, op)
    axes, sizes = _axes_sizes(a, s, axes, op, default_axes)
    sizes = _fill_sizes(a, axes, sizes, op)
    return fft_p.bind(a, axes=axes, sizes=sizes, norm=norm, inverse=inverse)


def _r2c(a, s, axes, norm, out, op, default_axes=None):
    _no_out(out, op)
    norm = _norm(norm, op)
    _check_real(a, op, op.replace("rfft", "fft"))
    axes, sizes = _axes_sizes(a, s, axes, op, default_axes)
    sizes = _fill_sizes(a, axes, sizes, op)
    return rfft_p.bind(a, axes=axes, sizes=sizes, norm=norm)


def _c2r(a, s, axes, norm, out, op, default_axes=None):
    _no_out(out, op)
    norm = _norm(norm, op)
    axes, sizes = _axes_sizes(a, s, axes, op, default_axes)
    shp = shape(a)
    default = tuple(shp[ax] for ax in axes[:-1]) + (2 * (shp[axes[-1]] - 1),)
    if sizes is None:
        sizes = default
    else:
        sizes = tuple(d if n == -1 else n for d, n in zip(default, sizes, strict=True))
    for n in sizes:
        if n < 1:
            raise OpError(
                f"{op}: invalid number of output points ({n}); give n/s explicitly (an input "
                f"of length 1 along the last axis has no default output length)"
            )
    return irfft_p.bind(a, axes=axes, sizes=sizes, norm=norm)


def _one(n, op):
    """``n`` of a one-dimensional transform as ``s``; unlike an entry of ``s``, -1 is not
    allowed (NumPy refuses every ``n < 1``)."""
    if n is None:
        return None
    n = as_int(n, op, "n")
    if n < 1:
        raise OpError(f"{op}: invalid number of data points n={n}; n must be >= 1 (or None)")
    return (n,)


# ------------------------------------------------------------------ public: complex
def fft(a, n=None, axis=-1, norm=None, out=None):
    r"""One-dimensional discrete Fourier transform along ``axis``.

    :math:`y_k = c \sum_{j<n} x_j e^{-2\pi i jk/n}`, the input truncated or zero-padded to
    ``n`` first; :math:`c = 1`, :math:`1/\sqrt n`, :math:`1/n` for ``norm`` = "backward"
    (default), "ortho", "forward".

    Derivatives: linear, :math:`\dot y = \operatorname{fft}(\dot x)`. The DFT matrix is
    symmetric, so under adgraph's pairing :math:`\operatorname{Re}\sum ab` the cotangent is
    the *same* transform, resized back to ``x``:
    :math:`\bar x = R^T \operatorname{fft}(\bar y, \text{norm})` (for real ``x`` its real
    part).
    """
    return _c2c(a, _one(n, "fft"), (axis,), norm, out, "fft", False)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    r"""One-dimensional inverse DFT along ``axis``.

    :math:`y_j = c \sum_{k<n} x_k e^{2\pi i jk/n}`, :math:`c = 1/n`, :math:`1/\sqrt n`, 1
    for ``norm`` = "backward" (default), "ortho", "forward"; input resized to ``n``.

    Derivatives: linear and symmetric, so :math:`\bar x = R^T \operatorname{ifft}(\bar y)`
    (the same ``norm``; not the forward transform, which is the conjugate transpose).
    """
    return _c2c(a, _one(n, "ifft"), (axis,), norm, out, "ifft", True)


def fftn(a, s=None, axes=None, norm=None, out=None):
    r"""N-dimensional DFT over ``axes`` (all axes by default; the last ``len(s)`` when
    only ``s`` is given), the input resized to ``s`` first.

    :math:`y = c\,(F_{n_1}\otimes\cdots\otimes F_{n_d})\,Rx`, :math:`c` as in :func:`fft`
    with :math:`n = \prod n_i`. Derivatives: :math:`\bar x = R^T\operatorname{fftn}(\bar y)`.
    """
    return _c2c(a, s, axes, norm, out, "fftn", False)


def ifftn(a, s=None, axes=None, norm=None, out=None):
    r"""N-dimensional inverse DFT over ``axes`` (see :func:`fftn`).

    Derivatives: :math:`\bar x = R^T\operatorname{ifftn}(\bar y)` with the same ``norm``.
    """
    return _c2c(a, s, axes, norm, out, "ifftn", True)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    r"""Two-dimensional DFT over ``axes`` (the last two by default); see :func:`fftn`.

    Derivatives: :math:`\bar x = R^T\operatorname{fft2}(\bar y)`.
    """
    return _c2c(a, s, axes, norm, out, "fft2", False)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    r"""Two-dimensional inverse DFT over ``axes``; see :func:`ifftn`.

    Derivatives: :math:`\bar x = R^T\operatorname{ifft2}(\bar y)`.
    """
    return _c2c(a, s, axes, norm, out, "ifft2", True)


# ------------------------------------------------------------------ public: real
def rfft(a, n=None, axis=-1, norm=None, out=None):
    r"""DFT of real input: the :math:`\lfloor n/2\rfloor + 1` non-negative frequencies of
    :func:`fft` (the others are their conjugates).

    Derivatives: :math:`\dot y = \operatorname{rfft}(\dot x)`; for the cotangent, the
    half spectrum stands for both halves, so
    :math:`\bar x = R^T\,\operatorname{Re}\big(F\,[\bar y; 0]\big)
    = R^T\, n\operatorname{irfft}(\overline{\bar y}\,w)` with :math:`w_k = 1` for
    :math:`k = 0` and :math:`k = n/2`, :math:`\tfrac12` otherwise (``irfft`` counts the
    inner frequencies twice). Complex input is refused (use :func:`fft`).
    """
    return _r2c(a, _one(n, "rfft"), (axis,), norm, out, "rfft")


def irfft(a, n=None, axis=-1, norm=None, out=None):
    r"""Inverse of :func:`rfft`: ``n`` real outputs (default :math:`2(m-1)` for an input
    of length :math:`m`) from a half spectrum, resized to :math:`n//2+1` first.

    :math:`y_j = c\sum_k w'_k \operatorname{Re}(x_k e^{2\pi i jk/n})` with
    :math:`w'_k = 1` at :math:`k = 0, n/2`, 2 otherwise (imaginary parts at zero and
    Nyquist frequency are ignored). Real-linear; the transpose is
    :math:`\bar x = R^T\big(w'\,\overline{\operatorname{rfft}(\bar y)}\big)` with the
    normalisation of ``irfft`` (``rfft`` at the swapped ``norm``).
    """
    return _c2r(a, _one(n, "irfft"), (axis,), norm, out, "irfft")


def rfftn(a, s=None, axes=None, norm=None, out=None):
    r"""N-dimensional DFT of real input: ``rfft`` over the last of ``axes``, then ``fft``
    over the others.

    Derivatives: :math:`\bar x = R^T\, N\operatorname{irfftn}(\overline{\bar y}\,w)`
    (:math:`w` as in :func:`rfft`, along the last axis; :math:`N = \prod s`, folded into
    the swapped ``norm``).
    """
    return _r2c(a, s, axes, norm, out, "rfftn")


def irfftn(a, s=None, axes=None, norm=None, out=None):
    r"""Inverse of :func:`rfftn`: ``ifft`` over all but the last of ``axes``, then
    ``irfft`` over the last; ``s`` are the output sizes (last: :math:`2(m-1)` by default).

    Derivatives: :math:`\bar x = R^T\big(w'\,\overline{\operatorname{rfftn}(\bar y)}/N\big)`
    (:math:`w'` as in :func:`irfft`, along the last axis).
    """
    return _c2r(a, s, axes, norm, out, "irfftn")


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    r"""Two-dimensional :func:`rfftn` over ``axes`` (the last two by default).

    Derivatives: :math:`\bar x = R^T\, N\operatorname{irfft2}(\overline{\bar y}\,w)`.
    """
    return _r2c(a, s, axes, norm, out, "rfft2")


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    r"""Two-dimensional :func:`irfftn` over ``axes`` (the last two by default).

    Derivatives: :math:`\bar x = R^T\big(w'\,\overline{\operatorname{rfft2}(\bar y)}/N\big)`.
    """
    return _c2r(a, s, axes, norm, out, "irfft2")


def hfft(a, n=None, axis=-1, norm=None, out=None):
    r"""DFT of a Hermitian-symmetric signal given by its first half: real output of
    length ``n`` (default :math:`2(m-1)`).

    :math:`\operatorname{hfft}(x) = \operatorname{irfft}(\bar x, \text{swapped norm})`,
    so with the default norm :math:`y = n\,\operatorname{irfft}(\bar x)`. Derivatives
    follow from those of ``conj`` and :func:`irfft`:
    :math:`\bar x = \overline{R^T(w'\,\overline{\operatorname{rfft}(\bar y)})}` at the
    matching normalisation.
    """
    from .elementwise import conj

    _no_out(out, "hfft")
    return _c2r(conj(a), _one(n, "hfft"), (axis,), _SWAP[_norm(norm, "hfft")], None, "hfft")


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    r"""Inverse of :func:`hfft`: the first :math:`\lfloor n/2\rfloor + 1` entries of the
    inverse DFT of real input, :math:`\operatorname{ihfft}(x) =
    \overline{\operatorname{rfft}(x, \text{swapped norm})}`.

    Derivatives follow from :func:`rfft` and ``conj``:
    :math:`\bar x = R^T\, n\operatorname{irfft}(\bar y\, w)` at the matching normalisation.
    """
    from .elementwise import conj

    _no_out(out, "ihfft")
    return conj(_r2c(a, _one(n, "ihfft"), (axis,), _SWAP[_norm(norm, "ihfft")], None, "ihfft"))


# ------------------------------------------------------------------ shifts and frequencies
def _shift(x, axes, inverse, op):
    nd = len(shape(x))
    if axes is None:
        axes = tuple(range(nd))
    elif isinstance(axes, (tuple, list)):
        axes = tuple(norm_axis(ax, nd, op) for ax in axes)
    else:
        axes = (norm_axis(axes, nd, op),)
    if not axes:
        return x
    return fftshift_p.bind(x, axes=axes, inverse=inverse)


def fftshift(x, axes=None):
    r"""Shift the zero frequency to the centre: a cyclic roll by :math:`\lfloor n/2\rfloor`
    along each of ``axes`` (all by default).

    A permutation :math:`P`; its transpose is the inverse permutation, so
    :math:`\bar x = \operatorname{ifftshift}(\bar y)`.
    """
    return _shift(x, axes, False, "fftshift")


def ifftshift(x, axes=None):
    r"""Undo :func:`fftshift`: a cyclic roll by :math:`-\lfloor n/2\rfloor` along ``axes``.

    Derivatives: :math:`\bar x = \operatorname{fftshift}(\bar y)`.
    """
    return _shift(x, axes, True, "ifftshift")


def _freq(n, d, like, op, real):
    if isinstance(n, Tracer) or not isinstance(n, (int, _np.integer)):
        raise OpError(f"{op}: n must be a concrete integer, got {n!r}")
    if n < 1:
        raise OpError(f"{op}: n must be at least 1 (the number of samples), got {n}")
    if not isinstance(d, Tracer) and _np.ndim(d) == 0 and d == 0:
        raise OpError(f"{op}: the sample spacing d must not be zero")
    xp = module_of(like.primal_value() if isinstance(like, Tracer) else like)
    mod = xp.fft
    f = mod.rfftfreq if real else mod.fftfreq
    if isinstance(d, Tracer):
        # Differentiable in the spacing: f(n, d) = f(n, 1) / d.
        from .elementwise import divide

        return divide(f(int(n), 1.0), d)
    return f(int(n), d)


def fftfreq(n, d=1.0, *, like=None):
    r"""Sample frequencies of :func:`fft` for ``n`` points of spacing ``d``:
    :math:`[0, 1, \ldots, \lceil n/2\rceil - 1, -\lfloor n/2\rfloor, \ldots, -1]/(dn)`.

    A constant (no derivative in ``n``); a traced ``d`` stays differentiable,
    :math:`\partial f/\partial d = -f/d`. ``like``: an array whose module (NumPy, CuPy,
    Dask) should hold the result.
    """
    return _freq(n, d, like, "fftfreq", False)


def rfftfreq(n, d=1.0, *, like=None):
    r"""Sample frequencies of :func:`rfft`: :math:`[0, 1, \ldots, \lfloor n/2\rfloor]/(dn)`.

    A constant; a traced ``d`` stays differentiable, :math:`\partial f/\partial d = -f/d`.
    """
    return _freq(n, d, like, "rfftfreq", True)
