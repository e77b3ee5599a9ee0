r"""The periodic grid, its discrete Fourier transform, and the compatibility projections.

A strain field :math:`\varepsilon(x)` on the periodic cell is *compatible* when it is the
symmetrised gradient of a periodic displacement plus a constant; a deformation gradient
:math:`F(x)` when it is the gradient of a periodic deformation plus a constant. In Fourier
space, at a wave vector :math:`\xi \ne 0` with direction :math:`n`, the compatible tensors
are :math:`\operatorname{sym}(a \otimes n)` (small strain) and :math:`a \otimes n` (finite
strain). The orthogonal projections onto them are

.. math::

    \mathbb{G}(A) = A - Q A Q \quad\text{(small strain)}, \qquad
    \mathbb{G}(A) = A P \quad\text{(finite strain)},

with :math:`P = n \otimes n` and :math:`Q = I - P`. For :math:`P = n\otimes n` the first is
:math:`n \otimes (An) + (An) \otimes n - (n\cdot A n)\, n\otimes n`, the operator of GooseFFT's
``Ghat4`` applied without storing it. At :math:`\xi = 0` both are zero: the mean is the
prescribed macroscopic strain. :math:`\mathbb{G}` is symmetric and idempotent, so equilibrium
of a stress field is :math:`\mathbb{G}(\sigma) = 0` and the Newton systems
:math:`\mathbb{G}(K : \delta\varepsilon) = -\mathbb{G}(\sigma)` are symmetric on the range of
:math:`\mathbb{G}`.

**Even grid sizes (the Nyquist frequency).** For an even size :math:`N` the frequency
:math:`N/2` is its own mirror image: the real trigonometric interpolant has no sign for it.
A frequency index with Nyquist components in the set :math:`J` stands for all the wave
vectors :math:`\xi` obtained by flipping the signs of those components. For small strain we
take :math:`P` to be the orthogonal projector onto the span of all of them,
:math:`P = \sum_{j \in J} e_j \otimes e_j + m \otimes m` with :math:`m` the unit vector of the
remaining (non-Nyquist) components (zero when there are none). This is

* even in the Nyquist components, so the operator maps real fields to real fields (the
  half-spectrum stays Hermitian);
* still an orthogonal projection (symmetric and idempotent), so CG and the variational bounds
  keep holding;
* the exact operator :math:`n \otimes n` when only one component is non-zero and it is the
  Nyquist one, so fields that vary along one axis only (laminates) are resolved exactly on
  even grids too.

For finite strain that span is too large. Where it has rank two or more -- a Nyquist
component together with any other non-zero component (a *mixed* Nyquist frequency) -- the
tensors :math:`A P` include the infinitesimal rotations :math:`W F` (:math:`W` skew) of the
current state: fields of local rotations that the material does not resist. Their stiffness
is the geometric one of the stress alone (zero at :math:`F = I`, negative under
compression), so the Newton operator :math:`\mathbb{G}\mathbb{K}\mathbb{G}` is singular or
indefinite there and Newton stalls. A compatible space at one frequency must be closed
under left multiplication (a superposed rotation of a compatible field is compatible): it
is :math:`\{A P'\}` for a projector :math:`P'`, and it holds no rotation exactly when
:math:`P'` has rank one, :math:`P' = n \otimes n`. At a mixed Nyquist frequency no single
direction is right (the wave vectors differ by the Nyquist signs, and :math:`m` alone drops
the largest components), so the finite-strain projection *removes* these frequencies from
the compatible subspace, :math:`P' = 0`: the fluctuation of :math:`F` has no content there
and equilibrium asks nothing of them. The frequencies whose one non-zero component is a
Nyquist one keep :math:`P = e_j \otimes e_j` (one direction up to sign: laminates stay
exact). The finite-strain :math:`\mathbb{G}` stays real, symmetric and idempotent; on odd
grids nothing changes. Small strain keeps the span: its range holds symmetric tensors
only, on which the tangent is positive definite. So on even grids the finite-strain tangent
problem at :math:`F = I` is not exactly the small-strain one: they differ at the mixed
Nyquist frequencies, by an amount that shrinks as the grid is refined (for laminates, and
on odd grids, they agree).

Without Nyquist components it is the usual operator. Frequencies are
:math:`\xi_j = k_j / L_j` with the cell lengths :math:`L_j` (by default the grid size, cubic
voxels); only directions matter.

The transforms follow the array module of the field: for NumPy arrays ``scipy.fft`` real
transforms with ``workers`` threads when SciPy is installed, otherwise ``numpy.fft``; for
CuPy arrays ``cupy.fft`` (cuFFT) on the device, with the frequency tables copied to the
device once per grid. Everything here works on plain arrays: the solver never
differentiates through an FFT (derivatives of converged states are taken by implicit
differentiation, see :mod:`.implicit`).
"""

from __future__ import annotations

import numpy as np

from ._xp import module_of

try:  # multithreaded transforms
    import scipy.fft as _sfft
except ImportError:  # pragma: no cover - scipy is optional
    _sfft = None

__all__ = ["Grid", "as_grid"]


class Grid:
    """A periodic ``d``-dimensional grid (``d`` = 2 or 3) of ``shape`` voxels.

    Parameters
    ----------
    shape : tuple of int
        Voxels along each axis; odd and even sizes are both fine.
    lengths : tuple of float, optional
        Cell lengths (default: ``shape``, i.e. cubic voxels).
    workers : int
        Threads for ``scipy.fft`` (-1: all cores).
    """

    def __init__(self, shape, lengths=None, workers: int = -1):
        shape = tuple(int(n) for n in np.atleast_1d(shape))
        if len(shape) not in (2, 3):
            raise ValueError(
                f"homogenization: the grid must be 2-D or 3-D, got shape {shape}; give e.g. "
                "shape=(32, 32) or (16, 16, 16)"
            )
        if min(shape) < 1:
            raise ValueError(f"homogenization: grid sizes must be positive, got {shape}")
        self.shape = shape
        self.d = len(shape)
        self.size = int(np.prod(shape))
        self.lengths = tuple(float(v) for v in (shape if lengths is None else lengths))
        if len(self.lengths) != self.d:
            raise ValueError(f"lengths {lengths} do not match the grid shape {shape}")
        self.workers = workers
        self.axes = tuple(range(-self.d, 0))
        self._build_frequencies()

    def __repr__(self) -> str:
        return f"Grid(shape={self.shape})"

    # ---------------------------------------------------------------- frequencies
    def _build_frequencies(self):
        d = self.d
        ks = []
        nyq = []
        for ax, n in enumerate(self.shape):
            last = ax == d - 1
            k = np.fft.rfftfreq(n) * n if last else np.fft.fftfreq(n) * n
            k = np.rint(k)
            is_nyq = (n % 2 == 0) & (np.abs(k) == n // 2) & (n > 1)
            ks.append(k)
            nyq.append(is_nyq)
        self.fshape = tuple(len(k) for k in ks)
        grids = np.meshgrid(*ks, indexing="ij")
        nmask = np.meshgrid(*nyq, indexing="ij")
        xi = np.stack([g / L for g, L in zip(grids, self.lengths)])
        nu = np.stack(nmask).astype(float)
        # m: unit vector of the non-Nyquist components (zero if there are none).
        rest = xi * (1.0 - nu)
        norm = np.sqrt(np.sum(rest * rest, axis=0))
        self.m = np.divide(rest, norm, out=np.zeros_like(rest), where=norm > 0)
        any_nyq = np.any(np.stack(nmask), axis=0)
        self._nyq = np.nonzero(any_nyq)
        self._nyq_nu = nu[(slice(None),) + self._nyq]  # (d, n_nyq)
        self._nyq_m = self.m[(slice(None),) + self._nyq]
        # finite strain keeps a Nyquist entry only when it has one direction up to sign:
        # a single non-zero component, the Nyquist one (P = e_j e_j there); the others
        # (mixed Nyquist frequencies) leave the compatible subspace (P = 0)
        single = (self._nyq_nu.sum(axis=0) == 1) & ~np.any(self._nyq_m != 0, axis=0)
        self._nyq_fs = self._nyq_nu * single  # (d, n_nyq): diag(P) on Nyquist entries
        # the independent components of symmetric tensors (Voigt order) and back
        from .tensors import _full_index, voigt_pairs

        self._pairs = voigt_pairs(d)
        self._index = _full_index(d)
        self._gather = [i * d + j for i, j in self._pairs]
        self._scatter = self._index.ravel()
        self._tables = {}

    def tables(self, xp):
        """The frequency and index tables as arrays of the module ``xp`` (made once per
        module: for CuPy one host-to-device copy per grid, none inside the iterations)."""
        t = self._tables.get(xp)
        if t is None:
            if xp is np:
                t = {
                    "m": self.m,
                    "nyq": self._nyq,
                    "nyq_nu": self._nyq_nu,
                    "nyq_m": self._nyq_m,
                    "nyq_fs": self._nyq_fs,
                    "index": self._index,
                    "gather": self._gather,
                    "scatter": self._scatter,
                }
            else:
                dev = xp.asarray
                t = {
                    "m": dev(self.m),
                    "nyq": tuple(dev(i) for i in self._nyq),
                    "nyq_nu": dev(self._nyq_nu),
                    "nyq_m": dev(self._nyq_m),
                    "nyq_fs": dev(self._nyq_fs),
                    "index": dev(self._index),
                    "gather": dev(np.asarray(self._gather, dtype=np.intp)),
                    "scatter": dev(self._scatter),
                }
            self._tables[xp] = t
        return t

    # ---------------------------------------------------------------- transforms
    def fft(self, x):
        """Real-to-complex transform over the grid axes (the last ``d``), by the FFT of
        ``x``'s array module (``scipy.fft`` with threads for NumPy, ``cupy.fft`` for CuPy)."""
        if _sfft is not None and type(x) is np.ndarray:
            return _sfft.rfftn(x, axes=self.axes, workers=self.workers)
        xp = module_of(x)
        return xp.fft.rfftn(x, axes=self.axes)

    def ifft(self, x):
        """Inverse of :meth:`fft` (a real field)."""
        if _sfft is not None and type(x) is np.ndarray:
            return _sfft.irfftn(
                x, s=self.shape, axes=self.axes, workers=self.workers, overwrite_x=True
            )
        xp = module_of(x)
        return xp.fft.irfftn(x, s=self.shape, axes=self.axes)

    # ---------------------------------------------------------------- projections
    def project(self, a, finite_strain: bool = False):
        """:math:`\\mathbb{G}(a)` of a real tensor field ``a`` shaped ``(d, d, *shape)``: its
        compatible, zero-mean part. Small strain: ``a`` must be symmetric, and only its
        ``n_V`` independent components are transformed. Finite strain: the mixed Nyquist
        frequencies of even grids are left out of the compatible subspace (see the module
        notes)."""
        d = self.d
        t = self.tables(module_of(a))
        if finite_strain:
            ah = self.fft(a)
            return self.ifft(self._project_finite(ah, t))
        flat = a.reshape((d * d,) + self.shape)
        ah = self.fft(flat[t["gather"]])
        out = self.ifft(self._project_small(ah, t))
        return out[t["scatter"]].reshape((d, d) + self.shape)

    def _project_small(self, a, t=None):
        """In place on the half-spectrum of the ``n_V`` independent components."""
        d = self.d
        t = t if t is not None else self.tables(module_of(a))
        m = t["m"]
        ix = self._index
        nyq = t["nyq"]
        a_n = None
        if self._nyq[0].size:  # the Nyquist entries, as full tensors, before ``a`` is overwritten
            a_n = a[(slice(None),) + nyq][t["index"]]
        # w = A m, c = m . A m
        w = [m[0] * a[ix[0, j]] for j in range(d)]
        for j in range(d):
            for k in range(1, d):
                w[j] += m[k] * a[ix[k, j]]
        c = m[0] * w[0]
        for k in range(1, d):
            c += m[k] * w[k]
        for i in range(d):
            mc = m[i] * c
            for j in range(i, d):
                g = m[i] * w[j]
                g += w[i] * m[j]
                g -= mc * m[j]
                a[ix[i, j]] = g
        if a_n is not None:
            corr = _nyquist_small(a_n, t["nyq_nu"], t["nyq_m"])
            for v, (i, j) in enumerate(self._pairs):
                a[(v,) + nyq] += corr[i, j]
        return a

    def _project_finite(self, a, t=None):
        """In place on the half-spectrum ``(d, d, *fshape)`` of a full tensor field."""
        d = self.d
        t = t if t is not None else self.tables(module_of(a))
        m = t["m"]
        nyq = t["nyq"]
        a_n = a[(slice(None), slice(None)) + nyq].copy() if self._nyq[0].size else None
        for i in range(d):
            w = a[i, 0] * m[0]
            for k in range(1, d):
                w += a[i, k] * m[k]
            for j in range(d):
                a[i, j] = w * m[j]
        if a_n is not None:
            # Nyquist entries: A e_j e_j where the Nyquist axis j is the only non-zero
            # component (m = 0 there, so the loop left zero), zero at mixed ones.
            a[(slice(None), slice(None)) + nyq] = a_n * t["nyq_fs"][None, :, :]
        return a

    # ---------------------------------------------------------------- helpers
    def mean(self, a):
        """Volume average over the grid axes (an array of ``a``'s module)."""
        return module_of(a).mean(a, axis=self.axes)

    def uniform(self, t, xp=None):
        """A field equal to ``t`` (shape ``(d, d)``) in every voxel (a new array of the
        module ``xp``, default ``t``'s: a NumPy ``t`` is copied to the device once)."""
        from ._xp import asarray

        xp = module_of(t) if xp is None else xp
        t = asarray(t, xp, dtype=float)
        return xp.broadcast_to(t.reshape(t.shape + (1,) * self.d), t.shape + self.shape).copy()


def _nyquist_small(a, nu, m):
    r"""The correction :math:`\mathbb{G}_P - \mathbb{G}_{mm}` on Nyquist entries: with
    :math:`D = \operatorname{diag}(\nu)`, :math:`Q_1 = I - m\otimes m` and
    :math:`C = D A Q_1`, it is :math:`C + C^T - D A D` (``a``: ``(d, d, n)``)."""
    da = nu[:, None, :] * a
    dam = (da * m[None, :, :]).sum(axis=1)  # (d, n)
    c = da - dam[:, None, :] * m[None, :, :]
    return c + c.swapaxes(0, 1) - da * nu[None, :, :]


def as_grid(shape, lengths=None) -> Grid:
    """``shape`` as a :class:`Grid` (a Grid is returned as it is)."""
    if isinstance(shape, Grid):
        return shape
    return Grid(shape, lengths)
