r"""Tensor fields on a grid: Voigt notation and the small tensor algebra material laws need.

A tensor field is an array shaped ``(d, d, *grid)`` (second order) or ``(d, d, d, d, *grid)``
(fourth order): the tensor indices come first, the voxels last, so a material law written for
one voxel with ``a[i, j]`` component access runs on the whole grid at once.

**Voigt notation.** Components are ordered 11, 22, 33, 23, 13, 12 in 3-D and 11, 22, 12 in
2-D. Strains use *engineering* shears (:math:`\gamma_{12} = 2\varepsilon_{12}`), stresses
none, so that :math:`\sigma_V = C_V \varepsilon_V` and the energy is
:math:`\varepsilon_V^T C_V \varepsilon_V / 2`; an isotropic material then has
:math:`C_V[-1, -1] = \mu`. Two-dimensional problems are plane strain.

The functions of the second half (``trace``, ``ddot``, ``det``, ``inv``, ...) are written with
:mod:`adgraph.numpy`, so laws built from them can be differentiated to any order. Every
function follows the array module of its argument (NumPy or CuPy); constants a law needs
(``identity(d, nd, like=eps)``) are made in the module of the field they meet.
"""

from __future__ import annotations

import numpy as np

import adgraph.numpy as anp
from adgraph.backends import array_module

__all__ = [
    "voigt_pairs",
    "voigt_size",
    "strain_to_voigt",
    "stress_to_voigt",
    "voigt_to_strain",
    "voigt_to_stress",
    "tensor4_to_voigt",
    "voigt_to_tensor4",
    "unit_strains",
    "unit_deformations",
    "isotropic_stiffness",
    "mandel_scaling",
    "identity",
    "trace",
    "ddot",
    "dot",
    "transpose",
    "sym",
    "dev_norm2",
    "det",
    "inv",
    "embed3",
]

_PAIRS = {
    2: ((0, 0), (1, 1), (0, 1)),
    3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)),
}


def _module(x):
    """The array module of ``x`` (a traced value counts by its underlying array)."""
    return array_module(x)


def _arr(x):
    """``x`` as an array of its own module (``np.asarray`` for NumPy and lists)."""
    xp = _module(x)
    return np.asarray(x) if xp is np else x


def _on(a, xp):
    """A NumPy table (indices, factors) as an array of ``xp``."""
    return a if xp is np else xp.asarray(a)


def _check_dim(d: int) -> int:
    if d not in _PAIRS:
        raise ValueError(f"homogenization: grids are 2-D or 3-D, got {d} dimensions")
    return d


def voigt_pairs(d: int) -> tuple:
    """The index pairs ``(i, j)`` of the Voigt components, in order."""
    return _PAIRS[_check_dim(d)]


def voigt_size(d: int) -> int:
    """Number of Voigt components: 3 in 2-D, 6 in 3-D."""
    return len(voigt_pairs(d))


def _full_index(d: int) -> np.ndarray:
    """``idx[i, j]``: the Voigt component holding tensor component (i, j)."""
    idx = np.empty((d, d), dtype=np.intp)
    for a, (i, j) in enumerate(voigt_pairs(d)):
        idx[i, j] = idx[j, i] = a
    return idx


def _shear_factor(d: int) -> np.ndarray:
    return np.array([1.0 if i == j else 2.0 for i, j in voigt_pairs(d)])


def strain_to_voigt(eps) -> np.ndarray:
    """Voigt vector ``(n_v, *grid)`` of a symmetric strain field ``(d, d, *grid)``
    (engineering shears, the symmetric part's off-diagonal doubled)."""
    eps = _arr(eps)
    d = eps.shape[0]
    rows = [eps[i, j] if i == j else eps[i, j] + eps[j, i] for i, j in voigt_pairs(d)]
    return _module(eps).stack(rows)


def stress_to_voigt(sig) -> np.ndarray:
    """Voigt vector ``(n_v, *grid)`` of a stress field (the symmetric part's components)."""
    sig = _arr(sig)
    d = sig.shape[0]
    rows = [sig[i, j] if i == j else 0.5 * (sig[i, j] + sig[j, i]) for i, j in voigt_pairs(d)]
    return _module(sig).stack(rows)


def voigt_to_strain(v) -> np.ndarray:
    """The symmetric tensor field ``(d, d, *grid)`` of a Voigt strain (engineering shears)."""
    v = _arr(v)
    xp = _module(v)
    d = 3 if v.shape[0] == 6 else 2
    f = _on(_shear_factor(d), xp)
    return (v / f.reshape((-1,) + (1,) * (v.ndim - 1)))[_on(_full_index(d), xp)]


def voigt_to_stress(v) -> np.ndarray:
    """The symmetric tensor field ``(d, d, *grid)`` of a Voigt stress."""
    v = _arr(v)
    d = 3 if v.shape[0] == 6 else 2
    return v[_on(_full_index(d), _module(v))]


def tensor4_to_voigt(c4) -> np.ndarray:
    r"""Voigt matrix ``(n_v, n_v, *grid)`` of a fourth-order tensor field: column ``b`` is
    the Voigt stress answering the unit Voigt strain ``b``,
    :math:`C_V[a, b] = \tfrac12 (C_{ijkl} + C_{ijlk})` (with :math:`(i,j)=a`, :math:`(k,l)=b`,
    the stress index pair symmetrised too)."""
    c4 = _arr(c4)
    xp = _module(c4)
    d = c4.shape[0]
    pairs = voigt_pairs(d)
    rows = []
    for i, j in pairs:
        row = []
        for k, l in pairs:
            s = c4[i, j, k, l] + c4[i, j, l, k] + c4[j, i, k, l] + c4[j, i, l, k]
            row.append(0.25 * s)
        rows.append(xp.stack(row))
    return xp.stack(rows)


def voigt_to_tensor4(cv) -> np.ndarray:
    """The minor-symmetric fourth-order tensor field ``(d, d, d, d, *grid)`` of a Voigt
    matrix (inverse of :func:`tensor4_to_voigt` on minor-symmetric tensors)."""
    cv = _arr(cv)
    d = 3 if cv.shape[0] == 6 else 2
    idx = _on(_full_index(d), _module(cv))
    return cv[idx[:, :, None, None], idx[None, None, :, :]]


def unit_strains(d: int) -> np.ndarray:
    """The ``n_v`` symmetric strains whose Voigt vectors are the unit vectors, ``(n_v, d, d)``
    (a unit engineering shear is :math:`\\varepsilon_{ij} = \\varepsilon_{ji} = 1/2`)."""
    out = np.zeros((voigt_size(d), d, d))
    for a, (i, j) in enumerate(voigt_pairs(d)):
        if i == j:
            out[a, i, i] = 1.0
        else:
            out[a, i, j] = out[a, j, i] = 0.5
    return out


def unit_deformations(d: int) -> np.ndarray:
    """The ``d*d`` unit tensors :math:`e_k \\otimes e_l`, ``(d*d, d, d)`` (row-major)."""
    return np.eye(d * d).reshape(d * d, d, d)


def isotropic_stiffness(K, mu, d: int = 3) -> np.ndarray:
    r"""Voigt stiffness of isotropic linear elasticity with bulk modulus ``K`` and shear
    modulus ``mu`` (plane strain for ``d == 2``): :math:`C = \lambda I\otimes I + 2\mu
    \mathbb{I}` with :math:`\lambda = K - 2\mu/3`."""
    lam = K - 2.0 * mu / 3.0
    nv = voigt_size(d)
    c = np.zeros((nv, nv))
    c[:d, :d] = lam
    c[range(d), range(d)] += 2.0 * mu
    c[range(d, nv), range(d, nv)] = mu
    return c


def mandel_scaling(d: int) -> np.ndarray:
    r"""The diagonal :math:`S` (1 on normal, :math:`\sqrt2` on shear components) that turns a
    Voigt stiffness into the symmetric Mandel matrix :math:`S C_V S`, whose eigenvalues are
    those of the fourth-order tensor on symmetric tensors."""
    return np.array([1.0 if i == j else np.sqrt(2.0) for i, j in voigt_pairs(d)])


# ------------------------------------------------------------------ algebra on fields (adgraph)
def identity(d: int, grid_ndim: int, like=None):
    """The identity tensor shaped to broadcast against ``(d, d, *grid)`` fields, an array
    of the module of ``like`` (e.g. the strain it meets: a CuPy field gets a CuPy
    identity; default NumPy)."""
    xp = np if like is None else _module(like)
    return xp.eye(d).reshape((d, d) + (1,) * grid_ndim)


def trace(a):
    """:math:`\\operatorname{tr} a = a_{ii}` of a field ``(d, d, *grid)``, shaped ``grid``."""
    return anp.trace(a, axis1=0, axis2=1)


def ddot(a, b):
    """Double contraction :math:`a : b = a_{ij} b_{ij}`, shaped ``grid``."""
    return anp.einsum("ij...,ij...->...", a, b)


def dot(a, b):
    """Matrix product per voxel, :math:`(ab)_{ij} = a_{ik} b_{kj}`."""
    return anp.einsum("ik...,kj...->ij...", a, b)


def transpose(a):
    """:math:`a^T` per voxel."""
    return anp.swapaxes(a, 0, 1)


def sym(a):
    """Symmetric part :math:`(a + a^T)/2` per voxel."""
    return 0.5 * (a + anp.swapaxes(a, 0, 1))


def dev_norm2(eps):
    r""":math:`\operatorname{dev}\varepsilon : \operatorname{dev}\varepsilon
    = \varepsilon:\varepsilon - (\operatorname{tr}\varepsilon)^2/3`, the deviator taken in
    3-D (for a 2-D field, plane strain: the out-of-plane components are zero)."""
    tr = trace(eps)
    return ddot(eps, eps) - tr * tr / 3.0


def det(a):
    """Determinant per voxel of a 2x2 or 3x3 tensor field (cofactor expansion)."""
    d = a.shape[0]
    if d == 2:
        return a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    if d == 3:
        return (
            a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
            - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0])
        )
    raise ValueError(f"det: tensors are 2x2 or 3x3, got {d}x{d}")


def _cofactor_rows(a):
    d = a.shape[0]
    if d == 2:
        return [[a[1, 1], -a[0, 1]], [-a[1, 0], a[0, 0]]]
    return [
        [
            a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1],
            a[0, 2] * a[2, 1] - a[0, 1] * a[2, 2],
            a[0, 1] * a[1, 2] - a[0, 2] * a[1, 1],
        ],
        [
            a[1, 2] * a[2, 0] - a[1, 0] * a[2, 2],
            a[0, 0] * a[2, 2] - a[0, 2] * a[2, 0],
            a[0, 2] * a[1, 0] - a[0, 0] * a[1, 2],
        ],
        [
            a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0],
            a[0, 1] * a[2, 0] - a[0, 0] * a[2, 1],
            a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0],
        ],
    ]


def inv(a):
    """Inverse per voxel of a 2x2 or 3x3 tensor field (adjugate over determinant)."""
    if a.shape[0] not in (2, 3):
        raise ValueError(f"inv: tensors are 2x2 or 3x3, got {a.shape[0]}x{a.shape[0]}")
    j = det(a)
    rows = _cofactor_rows(a)
    return anp.stack([anp.stack(r) for r in rows]) / j


def embed3(a, fill: float = 0.0):
    """A 2-D tensor field ``(2, 2, *grid)`` as a 3-D one with ``a33 = fill`` and zero
    out-of-plane shears (plane strain: ``fill=0`` for strains, ``1`` for deformation
    gradients); 3-D fields are returned as they are."""
    if a.shape[0] == 3:
        return a
    grid = tuple(a.shape[2:])
    xp = _module(a)  # constants in the module of ``a`` (CuPy fields: on the device)
    z = xp.zeros((2, 1) + grid, dtype=a.dtype)
    top = anp.concatenate([a, z], axis=1)
    bottom = anp.concatenate(
        [xp.zeros((1, 2) + grid, dtype=a.dtype), xp.full((1, 1) + grid, fill, dtype=a.dtype)],
        axis=1,
    )
    return anp.concatenate([top, bottom], axis=0)
