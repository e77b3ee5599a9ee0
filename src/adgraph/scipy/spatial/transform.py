r"""adgraph.scipy.spatial.transform: ``Rotation`` and ``Slerp`` with SciPy's conventions
(quaternions scalar-last ``(x, y, z, w)``, extrinsic lower-case and intrinsic upper-case
Euler sequences), differentiable in every real input: quaternions, matrices, rotation
vectors, Euler angles, the vectors rotated and Slerp's times.

Every conversion is a composition of differentiable operations. Where SciPy branches on
the data (the largest of four candidates in ``from_matrix``, the small-angle series of
rotation vectors, the gimbal-lock cases of ``as_euler``, the sign that makes a quaternion
canonical) the branch is chosen on the concrete values and differentiated within it, so
a derivative is the one of the formula SciPy used at that point. Rotation vectors use
SciPy's series below 1e-3 rad, so their derivatives are finite at the identity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as _np  # branch decisions on concrete values and constant index arrays

from ... import numpy as anp
from ...core.trace import Tracer
from ...ops.misc import stop_gradient

__all__ = ["Rotation", "Slerp"]


def _concrete(x):
    return _np.asarray(x.primal_value() if isinstance(x, Tracer) else x)


def _as_float(x, what):
    if not isinstance(x, Tracer):
        x = anp.asarray(x)
    if x.dtype.kind == "c":
        raise TypeError(f"Rotation: {what} must be real, got a complex array")
    return x if x.dtype.kind == "f" else anp.asarray(x, dtype=_np.float64)


def _norm(v, keepdims=False):
    """Euclidean norm of the last axis, with a finite derivative at zero (0)."""
    s = anp.sum(v * v, axis=-1, keepdims=keepdims)
    zero = s == 0
    return anp.where(zero, 0.0, anp.sqrt(anp.where(zero, 1.0, s)))


def _compose(p, q):
    """Hamilton product p q of scalar-last quaternions (..., 4)."""
    px, py, pz, pw = (p[..., i] for i in range(4))
    qx, qy, qz, qw = (q[..., i] for i in range(4))
    return anp.stack(
        [
            pw * qx + qw * px + (py * qz - pz * qy),
            pw * qy + qw * py + (pz * qx - px * qz),
            pw * qz + qw * pz + (px * qy - py * qx),
            pw * qw - px * qx - py * qy - pz * qz,
        ],
        axis=-1,
    )


def _canonical_mask(q):
    """Where SciPy flips the sign to make w >= 0 (ties broken by x, y, z)."""
    and_, or_ = anp.logical_and, anp.logical_or
    x, y, z, w = (q[..., i] for i in range(4))
    zw = w == 0
    zwx = and_(zw, x == 0)
    mask = or_(w < 0, and_(zw, x < 0))
    mask = or_(mask, and_(zwx, y < 0))
    return or_(mask, and_(and_(zwx, y == 0), z < 0))


def _canonical(q):
    return anp.where(_canonical_mask(q)[..., None], -q, q)


def _matrix_of(q):
    x, y, z, w = (q[..., i] for i in range(4))
    x2, y2, z2, w2 = x * x, y * y, z * z, w * w
    xy, zw, xz, yw, yz, xw = x * y, z * w, x * z, y * w, y * z, x * w
    rows = [
        [x2 - y2 - z2 + w2, 2 * (xy - zw), 2 * (xz + yw)],
        [2 * (xy + zw), -x2 + y2 - z2 + w2, 2 * (yz - xw)],
        [2 * (xz - yw), 2 * (yz + xw), -x2 - y2 + z2 + w2],
    ]
    return anp.stack([anp.stack(r, axis=-1) for r in rows], axis=-2)


def _quat_from_matrix(m):
    """Markley's method: the candidate built on the largest of (m00, m11, m22, trace)."""
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cand = [
        [
            1 - tr + 2 * m[..., 0, 0],
            m[..., 1, 0] + m[..., 0, 1],
            m[..., 2, 0] + m[..., 0, 2],
            m[..., 2, 1] - m[..., 1, 2],
        ],
        [
            m[..., 1, 0] + m[..., 0, 1],
            1 - tr + 2 * m[..., 1, 1],
            m[..., 2, 1] + m[..., 1, 2],
            m[..., 0, 2] - m[..., 2, 0],
        ],
        [
            m[..., 2, 0] + m[..., 0, 2],
            m[..., 2, 1] + m[..., 1, 2],
            1 - tr + 2 * m[..., 2, 2],
            m[..., 1, 0] - m[..., 0, 1],
        ],
        [
            m[..., 2, 1] - m[..., 1, 2],
            m[..., 0, 2] - m[..., 2, 0],
            m[..., 1, 0] - m[..., 0, 1],
            1 + tr,
        ],
    ]
    dec = anp.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], tr], axis=-1)
    choice = anp.argmax(dec, axis=-1)[..., None]  # no derivative: a branch
    q = None
    for c in range(4):
        qc = anp.stack(cand[c], axis=-1)
        q = qc if q is None else anp.where(choice == c, qc, q)
    return q / _norm(q, keepdims=True)


def _nearest_rotation(m):
    r"""SciPy's orthogonalisation: a matrix orthogonal to 1e-12 is kept, any other is
    replaced by its polar factor :math:`U V^T`.

    The value is exactly that. The derivative is always the polar factor's,
    :math:`d(M (M^TM)^{-1/2})` (through ``sqrtm``, smooth at orthogonal matrices): the
    orthogonal matrices are a set of measure zero, every perturbation leaves it, so the
    function SciPy computes is the polar factor's composition in every neighbourhood."""
    gram = m @ anp.swapaxes(m, -1, -2)
    ortho = anp.all(anp.isclose(gram, _np.eye(3), atol=1e-12), axis=(-2, -1))
    mtm = anp.swapaxes(m, -1, -2) @ m
    polar = anp.swapaxes(anp.linalg.solve(_sqrtm(mtm), anp.swapaxes(m, -1, -2)), -1, -2)
    value = anp.where(ortho[:, None, None], m, polar)
    return polar + stop_gradient(value - polar)


def _sqrtm(a):
    from ..linalg import sqrtm

    return anp.real(sqrtm(a)) if a.dtype.kind != "c" else sqrtm(a)


def _axis_index(a):
    return "xyz".index(a.lower())


def _elementary(axis, angle):
    half = angle / 2
    zero = anp.zeros_like(half)
    parts = [zero, zero, zero, anp.cos(half)]
    parts[axis] = anp.sin(half)
    return anp.stack(parts, axis=-1)


def _check_seq(seq, n_max=3, exact=False):
    ok = isinstance(seq, str) and 1 <= len(seq) <= n_max and (not exact or len(seq) == 3)
    intrinsic = ok and re.match(r"^[XYZ]{1,3}$", seq) is not None
    extrinsic = ok and re.match(r"^[xyz]{1,3}$", seq) is not None
    if not (intrinsic or extrinsic):
        raise ValueError(
            f"Rotation: expected a sequence of {'3' if exact else 'up to 3'} axes from 'xyz' "
            f"(extrinsic) or 'XYZ' (intrinsic), not mixed, got {seq!r}"
        )
    if any(seq[i] == seq[i + 1] for i in range(len(seq) - 1)):
        raise ValueError(f"Rotation: consecutive axes must differ, got {seq!r}")
    return extrinsic


class Rotation:
    """A rotation in 3 dimensions, or a stack of them, stored as unit quaternions.

    Construct with the ``from_*`` class methods (not the constructor); compose with
    ``*`` (``(p * q).apply(v) == p.apply(q.apply(v))``), invert with :meth:`inv`, index
    and iterate a stack. Differentiable in every real input (see the module docstring).
    """

    def __init__(
        self, quat: Any, normalize: bool = True, copy: bool = True, *, scalar_first: bool = False
    ) -> None:
        q = _as_float(quat, "quat")
        if len(q.shape) not in (1, 2) or q.shape[-1] != 4:
            raise ValueError(f"Rotation: expected quat of shape (4,) or (N, 4), got {q.shape}")
        if scalar_first:
            q = anp.roll(q, -1, axis=-1)
        if normalize:
            n = _concrete(_norm(q))
            if _np.any(n == 0):
                raise ValueError("Rotation: found zero norm quaternions in quat")
            q = q / _norm(q, keepdims=True)
        self._single = len(q.shape) == 1
        self._quat = q[None, :] if self._single else q

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_quat(cls, quat: Any, *, scalar_first: bool = False) -> Rotation:
        """From quaternions (normalised here), scalar-last unless ``scalar_first``."""
        return cls(quat, scalar_first=scalar_first)

    @classmethod
    def from_matrix(cls, matrix: Any, *, assume_valid: bool = False) -> Rotation:
        """From rotation matrices (3, 3) or (N, 3, 3); a matrix that is not orthogonal is
        replaced by its nearest orthogonal one (``U V^T`` of its SVD), as SciPy does. The
        derivative is that of this projection also at an exactly orthogonal matrix (any
        perturbation leaves the orthogonal ones); ``assume_valid=True`` skips it."""
        m = _as_float(matrix, "matrix")
        if len(m.shape) not in (2, 3) or m.shape[-2:] != (3, 3):
            raise ValueError(
                f"Rotation: expected matrix of shape (3, 3) or (N, 3, 3), got {m.shape}"
            )
        single = len(m.shape) == 2
        m3 = m[None] if single else m
        if not assume_valid:
            mv = _concrete(m3)
            det = _np.linalg.det(mv)
            if _np.any(det <= 0):
                k = int(_np.argmax(det <= 0))
                raise ValueError(
                    "Rotation: non-positive determinant (left-handed or null coordinate frame) "
                    f"in rotation matrix {k}"
                )
            m3 = _nearest_rotation(m3)
        q = _quat_from_matrix(m3)
        return cls(q[0] if single else q, normalize=False)

    @classmethod
    def from_rotvec(cls, rotvec: Any, degrees: bool = False) -> Rotation:
        """From rotation vectors (axis times angle; ``degrees``: the angle in degrees)."""
        rv = _as_float(rotvec, "rotvec")
        if len(rv.shape) not in (1, 2) or rv.shape[-1] != 3:
            raise ValueError(f"Rotation: expected rotvec of shape (3,) or (N, 3), got {rv.shape}")
        if degrees:
            rv = rv * (_np.pi / 180)
        angle = _norm(rv, keepdims=True)
        small = angle <= 1e-3
        a2 = angle * angle
        small_scale = 0.5 - a2 / 48 + a2 * a2 / 3840
        large_scale = anp.sin(angle / 2) / anp.where(small, 1.0, angle)
        scale = anp.where(small, small_scale, large_scale)
        return cls(anp.concatenate([rv * scale, anp.cos(angle / 2)], axis=-1), normalize=False)

    @classmethod
    def from_euler(cls, seq: str, angles: Any, degrees: bool = False) -> Rotation:
        """From Euler angles: ``seq`` of up to 3 axes, lower case extrinsic (fixed axes),
        upper case intrinsic (rotating axes); ``angles`` of shape (len(seq),) for one
        rotation or (N, len(seq)) for N (a scalar for a one-axis sequence)."""
        extrinsic = _check_seq(seq)
        a = _as_float(angles, "angles")
        n = len(seq)
        if degrees:
            a = a * (_np.pi / 180)
        nd = len(a.shape)
        if nd == 0 and n == 1:  # a scalar angle of a one-axis sequence
            a = anp.reshape(a, (1, 1))
            single = True
        elif nd == 1:
            single = True
            a = a[None, :]
        elif nd == 2:
            single = False
        else:
            raise ValueError(
                f"Rotation: expected angles of shape ({n},) or (N, {n}), got {a.shape}"
            )
        if a.shape[-1] != n:
            raise ValueError(
                f"Rotation: expected angles of shape (..., {n}) for seq {seq!r}, got {a.shape}"
            )
        axes = [_axis_index(c) for c in seq]
        q = _elementary(axes[0], a[:, 0])
        for i in range(1, n):
            e = _elementary(axes[i], a[:, i])
            q = _compose(e, q) if extrinsic else _compose(q, e)
        return cls(q[0] if single else q, normalize=False)

    @classmethod
    def from_mrp(cls, mrp: Any) -> Rotation:
        """From modified Rodrigues parameters ``tan(angle / 4) * axis``."""
        p = _as_float(mrp, "mrp")
        s = anp.sum(p * p, axis=-1, keepdims=True)
        return cls(anp.concatenate([2 * p, 1 - s], axis=-1) / (1 + s), normalize=False)

    @classmethod
    def identity(cls, num: int | None = None) -> Rotation:
        """The identity (``num`` copies of it)."""
        q = _np.zeros((4,) if num is None else (int(num), 4))
        q[..., 3] = 1.0
        return cls(q, normalize=False)

    @classmethod
    def concatenate(cls, rotations: Sequence[Rotation]) -> Rotation:
        """One stack of the given rotations."""
        return cls(anp.concatenate([r._quat for r in rotations], axis=0), normalize=False)

    # ---------------------------------------------------------------- representations
    def _out(self, x):
        return x[0] if self._single else x

    def as_quat(self, canonical: bool = False, *, scalar_first: bool = False) -> Any:
        """Quaternions (scalar-last unless ``scalar_first``); ``canonical``: w >= 0."""
        q = _canonical(self._quat) if canonical else self._quat
        if scalar_first:
            q = anp.roll(q, 1, axis=-1)
        return self._out(q)

    def as_matrix(self) -> Any:
        """Rotation matrices (3, 3) or (N, 3, 3)."""
        return self._out(_matrix_of(self._quat))

    def as_rotvec(self, degrees: bool = False) -> Any:
        """Rotation vectors, angle in [0, pi] (``degrees``: in degrees)."""
        q = _canonical(self._quat)
        v = q[..., :3]
        angle = 2 * anp.arctan2(_norm(v, keepdims=True), q[..., 3:4])
        small = angle <= 1e-3
        a2 = angle * angle
        small_scale = 2 + a2 / 12 + 7 * a2 * a2 / 2880
        large_scale = angle / anp.where(small, 1.0, anp.sin(angle / 2))
        scale = anp.where(small, small_scale, large_scale)
        if degrees:
            scale = scale * (180 / _np.pi)
        return self._out(scale * v)

    def as_mrp(self) -> Any:
        """Modified Rodrigues parameters (the shorter rotation, angle <= pi)."""
        q = self._quat
        sign = anp.where(q[..., 3:4] < 0, -1.0, 1.0)
        return self._out(sign * q[..., :3] / (1 + sign * q[..., 3:4]))

    def as_euler(self, seq: str, degrees: bool = False, *, suppress_warnings: bool = False) -> Any:
        """Euler angles for a sequence of 3 axes (Bernardes and Viollet's method, as
        SciPy): the first and third in [-pi, pi], the second in [0, pi] (symmetric
        sequences) or [-pi/2, pi/2]. At gimbal lock the third angle is set to zero (with
        a warning) and the derivative is that of the remaining formula."""
        extrinsic = _check_seq(seq, exact=True)
        axes = [_axis_index(c) for c in seq]
        i, j, k = axes if extrinsic else axes[::-1]
        symmetric = i == k
        if symmetric:
            k = 3 - i - j
        sign = (i - j) * (j - k) * (k - i) // 2
        q = self._quat
        if symmetric:
            a, b, c, d = q[..., 3], q[..., i], q[..., j], q[..., k] * sign
        else:
            a = q[..., 3] - q[..., j]
            b = q[..., i] + q[..., k] * sign
            c = q[..., j] + q[..., 3]
            d = q[..., k] * sign - q[..., i]
        half_sum = anp.arctan2(b, a)
        half_diff = anp.arctan2(d, c)
        second = 2 * anp.arctan2(anp.hypot(c, d), anp.hypot(a, b))
        case1 = anp.abs(second) <= 1e-7
        case2 = anp.abs(second - _np.pi) <= 1e-7
        case0 = anp.logical_not(anp.logical_or(case1, case2))
        if not suppress_warnings and not _np.all(_concrete(case0)):
            import warnings

            warnings.warn(
                "Gimbal lock detected. Setting third angle to zero since it is not possible to uniquely determine all angles.",
                stacklevel=2,
            )
        degenerate = anp.where(case1, 2 * half_sum, 2 * half_diff * (-1 if extrinsic else 1))
        first_i, third_i = (0, 2) if extrinsic else (2, 0)
        ang = [None, second, None]
        ang[first_i] = anp.where(case0, half_sum - half_diff, degenerate if first_i == 0 else 0.0)
        ang[third_i] = anp.where(case0, half_sum + half_diff, degenerate if third_i == 0 else 0.0)
        if not symmetric:
            ang[third_i] = ang[third_i] * sign
            ang[1] = ang[1] - _np.pi / 2
        out = anp.stack(ang, axis=-1)
        # into [-pi, pi], as SciPy: only values outside move
        pi2 = 2 * _np.pi
        out = anp.where(out > _np.pi, out - pi2, anp.where(out < -_np.pi, out + pi2, out))
        if degrees:
            out = out * (180 / _np.pi)
        return self._out(out)

    # ---------------------------------------------------------------- operations
    def apply(self, vectors: Any, inverse: bool = False) -> Any:
        """Rotate ``vectors`` (3,) or (N, 3) (``inverse``: by the inverse rotation)."""
        v = _as_float(vectors, "vectors")
        if len(v.shape) not in (1, 2) or v.shape[-1] != 3:
            raise ValueError(f"Rotation: expected vectors of shape (3,) or (N, 3), got {v.shape}")
        m = _matrix_of(self._quat)
        if inverse:
            m = anp.swapaxes(m, -1, -2)
        n_rot, n_vec = self._quat.shape[0], (1 if len(v.shape) == 1 else v.shape[0])
        if not self._single and len(v.shape) == 2 and n_rot not in (1, n_vec) and n_vec != 1:
            raise ValueError(f"Rotation: cannot apply {n_rot} rotations to {n_vec} vectors")
        v2 = v[None, :] if len(v.shape) == 1 else v
        out = anp.sum(m * v2[:, None, :], axis=-1)
        if self._single and len(v.shape) == 1:
            return out[0]
        return out

    def inv(self) -> Rotation:
        """The inverse rotation(s): the conjugate quaternions."""
        q = self._quat * _np.array([-1.0, -1.0, -1.0, 1.0])
        return Rotation(self._out(q), normalize=False)

    def __mul__(self, other: Rotation) -> Rotation:
        """Composition: ``(p * q).apply(v) == p.apply(q.apply(v))``."""
        if not isinstance(other, Rotation):
            return NotImplemented
        n1, n2 = self._quat.shape[0], other._quat.shape[0]
        if n1 not in (1, n2) and n2 != 1:
            raise ValueError(
                f"Rotation: expected equal numbers of rotations or a single one, got {n1} and {n2}"
            )
        q = _compose(self._quat, other._quat)
        single = self._single and other._single
        return Rotation(q[0] if single else q, normalize=False)

    def __pow__(self, n: float, modulus: None = None) -> Rotation:
        """The rotation about the same axis by ``n`` times the angle."""
        return Rotation.from_rotvec(self.as_rotvec() * n)

    def magnitude(self) -> Any:
        """The rotation angle(s), in [0, pi]."""
        q = self._quat
        return self._out(2 * anp.arctan2(_norm(q[..., :3]), anp.abs(q[..., 3])))

    @property
    def single(self) -> bool:
        """Whether this is one rotation rather than a stack."""
        return self._single

    def __len__(self) -> int:
        if self._single:
            raise TypeError("Single rotation has no len")
        return self._quat.shape[0]

    def __getitem__(self, indexer: Any) -> Rotation:
        if self._single:
            raise TypeError("Single rotation is not subscriptable")
        if isinstance(indexer, Tracer):  # traced indices: a differentiable gather
            return Rotation(anp.take(self._quat, indexer, axis=0), normalize=False)
        return Rotation(self._quat[indexer], normalize=False)

    def __iter__(self):
        if self._single:
            raise TypeError("Single rotation is not iterable")
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"Rotation.from_quat({_concrete(self.as_quat())!r})"


class Slerp:
    """Spherical linear interpolation of rotations given at increasing ``times``:
    between key rotations :math:`R_i` and :math:`R_{i+1}`,
    :math:`R(t) = R_i \\exp(\\tau\\,\\log(R_i^{-1}R_{i+1}))` with
    :math:`\\tau = (t - t_i)/(t_{i+1} - t_i)`. Differentiable in the key rotations and the
    times."""

    def __init__(self, times: Any, rotations: Rotation) -> None:
        if not isinstance(rotations, Rotation):
            raise TypeError("Slerp: rotations must be a Rotation")
        if rotations.single or len(rotations) < 2:
            raise ValueError("Slerp: rotations must be a sequence of at least 2 rotations")
        t = _as_float(times, "times")
        if len(t.shape) != 1 or t.shape[0] != len(rotations):
            raise ValueError(
                f"Slerp: expected {len(rotations)} times (one per rotation), got shape {t.shape}"
            )
        tv = _concrete(t)
        if _np.any(_np.diff(tv) <= 0):
            raise ValueError("Slerp: times must be in strictly increasing order")
        self.times = t
        self.timedelta = t[1:] - t[:-1]
        self.rotations = rotations
        self.rotvecs = (rotations[:-1].inv() * rotations[1:]).as_rotvec()

    def __call__(self, times: Any) -> Rotation:
        """The interpolated rotation(s) at ``times`` (within the key times)."""
        t = _as_float(times, "times")
        scalar = len(t.shape) == 0
        t1 = t[None] if scalar else t
        if len(t1.shape) != 1:
            raise ValueError(f"Slerp: expected 0- or 1-dimensional times, got shape {t.shape}")
        tv = _concrete(t1)
        kv = _concrete(self.times)
        if _np.any(tv < kv[0]) or _np.any(tv > kv[-1]):
            raise ValueError(
                "Slerp: interpolation times must be within the range [times[0], times[-1]]"
            )
        idx = anp.clip(anp.searchsorted(self.times, t1, side="left") - 1, 0, len(kv) - 2)
        tau = (t1 - anp.take(self.times, idx)) / anp.take(self.timedelta, idx)
        step = Rotation.from_rotvec(anp.take(self.rotvecs, idx, axis=0) * tau[:, None])
        out = self.rotations[idx] * step
        return out[0] if scalar else out
