r"""Products: matmul and dot (bilinear: each argument's rule is a product with the other).

For :math:`Z = XY`: :math:`\dot Z = \dot X Y + X \dot Y`, :math:`\bar X = \bar Z Y^T`,
:math:`\bar Y = X^T \bar Z` (transpose, not conjugate transpose, following the
:math:`\operatorname{Re}(ab)` pairing used for complex numbers throughout).
"""

from __future__ import annotations

from ..core.primitive import Primitive
from ._util import OpError, shape
from .shapes import reshape, sum_to_shape, swapaxes

__all__ = ["matmul", "dot"]


def _promote(x, y):
    """Shapes of x and y as matmul sees them (1-D operands get a unit axis)."""
    xs, ys = shape(x), shape(y)
    x2 = xs if len(xs) >= 2 else (1,) + xs
    y2 = ys if len(ys) >= 2 else ys + (1,)
    return x2, y2


def _matmul_vjp_x(ct, ans, x, y):
    xs, ys = shape(x), shape(y)
    x2, y2 = _promote(x, y)
    batch = _broadcast_batch(x2[:-2], y2[:-2])
    ct2 = reshape(ct, batch + (x2[-2], y2[-1]))
    yy = reshape(y, y2) if y2 != ys else y
    g = matmul_p.bind(ct2, swapaxes(yy, -1, -2))
    g = sum_to_shape(g, x2)
    return reshape(g, xs) if x2 != xs else g


def _matmul_vjp_y(ct, ans, x, y):
    xs, ys = shape(x), shape(y)
    x2, y2 = _promote(x, y)
    batch = _broadcast_batch(x2[:-2], y2[:-2])
    ct2 = reshape(ct, batch + (x2[-2], y2[-1]))
    xx = reshape(x, x2) if x2 != xs else x
    g = matmul_p.bind(swapaxes(xx, -1, -2), ct2)
    g = sum_to_shape(g, y2)
    return reshape(g, ys) if y2 != ys else g


def _broadcast_batch(a, b):
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for p, q in zip(a, b):
        if p != q and p != 1 and q != 1:
            raise OpError(f"matmul: batch dimensions {a} and {b} do not broadcast")
        out.append(q if p == 1 else p)
    return tuple(out)


def _matmul_batch(vals, batched, size, **params):
    x, y = vals
    bx, by = batched
    xs = shape(x)[1:] if bx else shape(x)
    ys = shape(y)[1:] if by else shape(y)
    # Give the batch axis a place matmul broadcasts over: operands of rank >= 2 with the
    # batch axis in front of the (padded) stack axes; 1-D operands are promoted.
    rank = max(len(xs), len(ys), 2)
    if bx:
        x2 = xs if len(xs) >= 2 else (1,) + xs
        x = reshape(x, (size,) + (1,) * (rank - len(x2)) + x2)
    elif len(xs) == 1:
        x = reshape(x, (1,) + xs)
    if by:
        y2 = ys if len(ys) >= 2 else ys + (1,)
        y = reshape(y, (size,) + (1,) * (rank - len(y2)) + y2)
    elif len(ys) == 1:
        y = reshape(y, ys + (1,))
    out = matmul_p.bind(x, y)
    # Remove the unit axes that stood for 1-D operands.
    os = list(shape(out))
    if len(ys) == 1:
        os.pop(-1)
    if len(xs) == 1:
        os.pop(-1 if len(ys) == 1 else -2)
    return reshape(out, tuple(os))


matmul_p = Primitive(
    "matmul",
    lambda xp, x, y: xp.matmul(x, y),
    tangent=(
        lambda t, ans, x, y: matmul_p.bind(t, y),
        lambda t, ans, x, y: matmul_p.bind(x, t),
    ),
    vjp=(_matmul_vjp_x, _matmul_vjp_y),
    batch=_matmul_batch,
    doc="Z = X @ Y (NumPy matmul broadcasting); bilinear.",
)


def matmul(x1, x2, /):
    r"""Matrix product with NumPy's rules (1-D operands are vectors, leading axes broadcast).

    :math:`\bar X = \bar Z Y^T`, :math:`\bar Y = X^T \bar Z`, summed over broadcast axes.
    """
    sx, sy = shape(x1), shape(x2)
    if not sx or not sy:
        raise OpError(f"matmul: operands must not be scalars, got shapes {sx} and {sy}")
    kx = sx[-1]
    ky = sy[-2] if len(sy) >= 2 else sy[0]
    if kx != ky:
        raise OpError(
            f"matmul: inner dimensions differ, shapes {sx} and {sy} ({kx} != {ky})"
        )
    return matmul_p.bind(x1, x2)


def dot(a, b, out=None):
    r"""NumPy's ``dot``: the product of scalars, the inner product of vectors, matrix
    products, and for N-D arrays a sum over the last axis of ``a`` and the second-to-last
    of ``b``."""
    from .elementwise import multiply

    sa, sb = shape(a), shape(b)
    if not sa or not sb:
        return multiply(a, b)
    if len(sb) <= 2:
        return matmul(a, b)
    from .contraction import tensordot

    return tensordot(a, b, axes=([len(sa) - 1], [len(sb) - 2]))
