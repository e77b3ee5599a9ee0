"""NumPy's FFT functions (``adgraph.numpy.fft``) over the primitives of :mod:`.fft`:
NumPy's argument conventions (``n``/``s``/``axes``/``norm``, their defaults and checks) and
each public signature and docstring. The transforms, their rules and the FFT library for
NumPy inputs are in :mod:`.fft`, which re-exports these functions.
"""

from __future__ import annotations

import functools

import numpy as _np  # integer types and scalar checks of the frequency functions

from ..core.trace import Tracer
from ..core.xp import module_of
from ._util import OpError, as_int, norm_axis, shape
from .fft import _NORMS, _SWAP, fft_p, fftshift_p, irfft_p, rfft_p

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


@functools.lru_cache(maxsize=256)
def _checked_axes(axes, nd, op):
    """``axes`` (a tuple) as non-negative axes of an ``nd``-dimensional array, in the given
    order; refused when out of bounds, repeated or empty."""
    axes = tuple(norm_axis(ax, nd, op) for ax in axes)
    if len(set(axes)) != len(axes):
        raise OpError(f"{op}: repeated axes {axes} are not supported; transform each once")
    if not axes:
        raise OpError(f"{op}: needs at least one axis to transform")
    return axes


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
    if type(axes) is tuple and all(type(ax) is int for ax in axes):
        axes = _checked_axes(axes, nd, op)  # the usual call: checked once per form
    else:
        axes = _checked_axes.__wrapped__(tuple(axes), nd, op)
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
