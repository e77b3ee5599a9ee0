r"""SciPy's special matrices. Those built from arrays (block_diag, toeplitz, circulant,
hankel, companion, leslie, fiedler, fiedler_companion, convolution_matrix, khatri_rao)
gather their entries by constant index arrays, so they are linear (or, for companion,
rational) in their inputs and differentiable; the constant ones (hilbert, invhilbert,
pascal, invpascal, dft, helmert, hadamard) are SciPy's own values.
"""

from __future__ import annotations

from typing import Any

import numpy as _np  # index arrays and the constant matrices

from ... import numpy as anp
from ...core.trace import Tracer
from ...ops.linalg.matfun import scipy_linalg

__all__ = [
    "block_diag",
    "toeplitz",
    "circulant",
    "hankel",
    "companion",
    "leslie",
    "fiedler",
    "fiedler_companion",
    "convolution_matrix",
    "khatri_rao",
    "hilbert",
    "invhilbert",
    "pascal",
    "invpascal",
    "dft",
    "helmert",
    "hadamard",
]


def _vec(x: Any, op: str) -> Any:
    if not isinstance(x, Tracer):
        x = anp.asarray(x)
    return anp.ravel(x)


def block_diag(*arrs: Any) -> Any:
    """The block-diagonal matrix of the given arrays (scalars and 1-D arrays count as
    rows), zero elsewhere."""
    if not arrs:
        return _np.empty((1, 0))
    mats = []
    for a in arrs:
        a = a if isinstance(a, Tracer) else anp.asarray(a)
        if len(a.shape) > 2:
            raise ValueError(
                f"scipy.linalg.block_diag: arguments must have at most 2 dimensions, got shape {a.shape}"
            )
        mats.append(anp.atleast_2d(a))
    dt = _np.result_type(*[m.dtype for m in mats])
    cols = sum(m.shape[1] for m in mats)
    rows = []
    c0 = 0
    for m in mats:
        r, c = m.shape
        left = anp.zeros((r, c0), dtype=dt)
        right = anp.zeros((r, cols - c0 - c), dtype=dt)
        rows.append(
            anp.concatenate(
                [left, anp.asarray(m, dtype=dt) if not isinstance(m, Tracer) else m, right], axis=1
            )
        )
        c0 += c
    return anp.concatenate(rows, axis=0)


def toeplitz(c: Any, r: Any = None) -> Any:
    """Toeplitz matrix with first column ``c`` and first row ``r`` (default ``conj(c)``;
    ``r[0]`` is ignored): ``T[i, j] = c[i - j]`` for ``i >= j``, ``r[j - i]`` above."""
    c = _vec(c, "toeplitz")
    r = anp.conj(c) if r is None else _vec(r, "toeplitz")
    m, n = c.shape[0], r.shape[0]
    vals = anp.concatenate([anp.flip(r[1:]), c])  # r[n-1], ..., r[1], c[0], ..., c[m-1]
    i = _np.arange(m)[:, None]
    j = _np.arange(n)[None, :]
    return vals[(n - 1) + i - j]


def circulant(c: Any) -> Any:
    """Circulant matrix with first column ``c``: ``C[i, j] = c[(i - j) mod n]``."""
    c = _vec(c, "circulant")
    n = c.shape[0]
    i = _np.arange(n)[:, None]
    j = _np.arange(n)[None, :]
    return c[(i - j) % n]


def hankel(c: Any, r: Any = None) -> Any:
    """Hankel matrix with first column ``c`` and last row ``r`` (default zeros; ``r[0]``
    is ignored): ``H[i, j] = c[i + j]`` while ``i + j < m``, else ``r[i + j - m + 1]``."""
    c = _vec(c, "hankel")
    r = anp.zeros_like(c) if r is None else _vec(r, "hankel")
    m, n = c.shape[0], r.shape[0]
    vals = anp.concatenate([c, r[1:]])
    i = _np.arange(m)[:, None]
    j = _np.arange(n)[None, :]
    return vals[i + j]


def companion(a: Any) -> Any:
    """Companion matrix of the polynomial with coefficients ``a`` (highest first): first
    row ``-a[1:] / a[0]``, ones on the subdiagonal."""
    a = _vec(a, "companion")
    n = a.shape[0]
    if n < 2:
        raise ValueError("scipy.linalg.companion: the length of a must be at least 2")
    first = -a[1:] / a[0]
    sub = _np.eye(n - 2, n - 1, dtype=first.dtype)
    return anp.concatenate([first[None, :], sub], axis=0)


def leslie(f: Any, s: Any) -> Any:
    """Leslie matrix: fecundities ``f`` (first row), survival ``s`` (subdiagonal)."""
    f = _vec(f, "leslie")
    s = _vec(s, "leslie")
    n = f.shape[0]
    if s.shape[0] != n - 1:
        raise ValueError(
            f"scipy.linalg.leslie: s must have length len(f) - 1 = {n - 1}, got {s.shape[0]}"
        )
    dt = _np.result_type(f.dtype, s.dtype)
    sub = anp.concatenate([anp.diag(s), anp.zeros((n - 1, 1), dtype=dt)], axis=1)
    return anp.concatenate([anp.reshape(f, (1, n)), sub], axis=0)


def fiedler(a: Any) -> Any:
    """Fiedler matrix ``F[i, j] = |a[i] - a[j]|``."""
    a = _vec(a, "fiedler")
    return anp.abs(a[:, None] - a[None, :])


def fiedler_companion(a: Any) -> Any:
    """Fiedler's companion matrix of the polynomial ``a`` (highest coefficient first),
    SciPy's arrangement: its entries are ``-a[k] / a[0]`` and ones."""
    a = _vec(a, "fiedler_companion")
    n = a.shape[0]
    if n < 2:
        raise ValueError("scipy.linalg.fiedler_companion: the length of a must be at least 2")
    if n == 2:
        return (-a[1:] / a[0])[None, :]
    sla = scipy_linalg("fiedler_companion")
    m = n - 1
    # SciPy's pattern, read off with distinct probe coefficients: entry = -c[k] or 1 or 0
    probe = _np.concatenate([[1.0], _np.arange(2.0, n + 1.0)])
    pat = sla.fiedler_companion(probe)
    c = -a[1:] / a[0]
    idx = _np.clip(_np.rint(-pat).astype(int) - 2, 0, m - 1)
    is_coef = pat <= -2
    ones = (pat == 1).astype(c.dtype if hasattr(c, "dtype") else float)
    return anp.where(is_coef, c[idx], ones)


def convolution_matrix(a: Any, n: int, mode: str = "full") -> Any:
    """The matrix ``A`` with ``A @ v == np.convolve(a, v, mode)`` for ``v`` of length ``n``."""
    if mode not in ("full", "same", "valid"):
        raise ValueError(
            f"scipy.linalg.convolution_matrix: mode must be 'full', 'same' or 'valid', got {mode!r}"
        )
    a = _vec(a, "convolution_matrix")
    m = a.shape[0]
    n = int(n)
    if n <= 0 or m == 0:
        raise ValueError("scipy.linalg.convolution_matrix: n must be positive and a non-empty")
    az = anp.concatenate([a, anp.zeros((n,), dtype=a.dtype)])
    i = _np.arange(m + n - 1)[:, None]
    j = _np.arange(n)[None, :]
    k = i - j
    full = anp.where((k >= 0) & (k < m), az[_np.clip(k, 0, m + n - 1)], 0)
    if mode == "full":
        return full
    if mode == "same":
        start = (min(n, m) - 1) // 2
        length = max(m, n)
        return full[start : start + length]
    length = max(m, n) - min(m, n) + 1
    start = min(m, n) - 1
    return full[start : start + length]


def khatri_rao(a: Any, b: Any) -> Any:
    """Column-wise Kronecker product: column ``j`` is ``kron(a[:, j], b[:, j])``."""
    a = a if isinstance(a, Tracer) else anp.asarray(a)
    b = b if isinstance(b, Tracer) else anp.asarray(b)
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"scipy.linalg.khatri_rao: a and b must be 2-D with the same number of columns, got {a.shape} and {b.shape}"
        )
    return anp.reshape(a[:, None, :] * b[None, :, :], (a.shape[0] * b.shape[0], a.shape[1]))


def _const(name):
    def f(*args, **kwargs):
        return getattr(scipy_linalg(name), name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"SciPy's ``scipy.linalg.{name}`` (a constant matrix: no derivative to take)."
    return f


hilbert = _const("hilbert")
invhilbert = _const("invhilbert")
pascal = _const("pascal")
invpascal = _const("invpascal")
dft = _const("dft")
helmert = _const("helmert")
hadamard = _const("hadamard")
